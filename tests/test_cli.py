"""Tests of the ``simnet`` command line (simnet.cli.main), run in-process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import simnet
from simnet import RunResult
from simnet.cli import main
from simnet.config import load_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

CYCLIC = {
    "nodes": [{"id": "root"}, {"id": "a"}, {"id": "b"}],
    "edges": [
        {"source": "root", "target": "a"},
        {"source": "a", "target": "b"},
        {"source": "b", "target": "a"},
    ],
}
GOOD = {"root": {"animal": ["cat", "dog"], "vehicle": ["car"]}}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_one_line_error(code: int, err: str, *pattern: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("simnet: error: ")
    assert "Traceback" not in err
    for text in pattern:
        assert text in lines[0]


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    return write(
        tmp_path / "small.toml",
        "[run]\nsteps = 40\nrecord = 20\nobserve = ['loss', 'impact']\n"
        "[hierarchy]\npreset = 'tiger_cat_car'\n"
        "[model]\nkind = 'hfs'\nn_per_class = 5\n",
    )


# ---------------------------------------------------------------------- simulate
def test_simulate_writes_a_loadable_result(tmp_path, small_config, capsys) -> None:
    out = tmp_path / "run"
    code = main(["simulate", str(small_config), "--out", str(out), "--format", "csv"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    result = RunResult.load(out)
    assert result.config["steps"] == 40
    assert sorted(result.table("metrics")["step"].unique()) == [0, 20, 40]
    assert (out / "tables" / "metrics.csv").is_file()
    assert (out / "config.toml").read_text() == small_config.read_text()
    assert "intra/inter impact ratio" in captured.out
    assert str(out) in captured.out


def test_simulate_overrides_quiet_and_rerun(tmp_path, small_config, capsys) -> None:
    out = tmp_path / "run"
    argv = ["simulate", str(small_config), "--out", str(out), "--no-plots"]
    assert main([*argv, "--steps", "10", "--seed", "7", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    result = RunResult.load(out)
    assert result.config["steps"] == 10
    assert result.metadata["seed_entropy"] == 7
    copied = (out / "config.toml").read_text()
    assert copied.startswith("# simnet simulate ran this configuration with --steps 10")
    assert copied.endswith(small_config.read_text())
    # a folder holding an earlier result may be written again
    assert main([*argv, "--quiet"]) == 0
    assert RunResult.load(out).config["steps"] == 40


def test_simulate_writes_figures(tmp_path, small_config, capsys) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert main(["simulate", str(small_config), "--out", str(out)]) == 0
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert "elasticity_curves.png" in pngs
    assert "figure" in capsys.readouterr().out


def test_simulate_default_out(tmp_path, small_config, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", str(small_config), "--quiet", "--no-plots"]) == 0
    assert (tmp_path / "simnet-small" / "metadata.json").is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[run]\nsteps = 5\n[hierarchy]\npreset = 'cifar10'\n"
            "[model]\nkind = 'hfs'\netaphi = 0.1\n",
            "unknown config key 'model.etaphi' (did you mean 'model.eta_phi'?)",
        ),
        ("[run]\nsteps = \n", "is not valid TOML"),
        (
            "[run]\nsteps = 5\n[hierarchy]\npreset = 'cifar10'\n"
            "[model]\nkind = 'hfs'\ngamma = -1\n",
            "config key 'model.gamma' must be a float in [0, inf); got -1",
        ),
    ],
)
def test_simulate_bad_config(tmp_path, capsys, text: str, expected: str) -> None:
    config = write(tmp_path / "bad.toml", text)
    code = main(["simulate", str(config), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert_one_line_error(code, captured.err, expected, "bad.toml")
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_simulate_path_errors(tmp_path, small_config, capsys) -> None:
    code = main(["simulate", str(tmp_path / "missing.toml")])
    assert_one_line_error(code, capsys.readouterr().err, "does not exist")
    busy = tmp_path / "busy"
    busy.mkdir()
    write(busy / "notes.txt", "keep me")
    code = main(["simulate", str(small_config), "--out", str(busy)])
    assert_one_line_error(code, capsys.readouterr().err, "is not empty")
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]
    code = main(["simulate", str(small_config), "--out", str(busy / "notes.txt")])
    assert_one_line_error(code, capsys.readouterr().err, "is not a folder")


def test_simulate_diverging_run_is_a_one_line_error(tmp_path, capsys) -> None:
    config = write(
        tmp_path / "hot.toml",
        "[run]\nsteps = 2000\nrecord = 1000\nobserve = ['loss']\n"
        "[hierarchy]\npreset = 'tiger_cat_car'\n"
        "[model]\nkind = 'hfs'\nn_per_class = 3\neta_phi = 100.0\neta_lam = 100.0\n",
    )
    code = main(["simulate", str(config), "--out", str(tmp_path / "o"), "--quiet"])
    assert_one_line_error(code, capsys.readouterr().err, "diverged at step")
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------------- usage
@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["simulate"],
        ["frobnicate"],
        ["simulate", "x.toml", "--seed", "-1"],
        ["simulate", "x.toml", "--steps", "many"],
        ["simulate", "x.toml", "--format", "xlsx"],
        ["hierarchy"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: simnet" in err
    assert "Traceback" not in err


def test_version_and_help(capsys) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"simnet {simnet.__version__}"
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "simulate" in out and "hierarchy" in out and "demo" in out


# ---------------------------------------------------------------------- hierarchy
def test_hierarchy_show_preset(capsys) -> None:
    assert main(["hierarchy", "show", "cifar10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hierarchy: 10 classes, 14 nodes, depth 3, tree")
    assert "LCA depth" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[-10:]}
    assert rows["cat"] == ["3", "2", "2", "2", "1", "1", "0", "0", "0", "0"]


def test_hierarchy_show_and_validate_a_file(tmp_path, capsys) -> None:
    path = write(tmp_path / "tree.json", json.dumps(GOOD))
    assert main(["hierarchy", "show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "|-- animal" in out and "cat *" in out
    assert main(["hierarchy", "validate", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 3 classes, 6 nodes, depth 2 (tree)"


def test_hierarchy_cyclic_file(tmp_path, capsys) -> None:
    path = write(tmp_path / "cyclic.json", json.dumps(CYCLIC))
    code = main(["hierarchy", "validate", str(path)])
    captured = capsys.readouterr()
    assert_one_line_error(code, captured.err, "cycle")
    assert captured.out == ""
    code = main(["hierarchy", "show", str(path)])
    assert_one_line_error(code, capsys.readouterr().err, "cycle")


def test_hierarchy_bad_names(tmp_path, capsys) -> None:
    code = main(["hierarchy", "show", "cifar"])
    assert_one_line_error(code, capsys.readouterr().err, "no hierarchy file or preset")
    code = main(["hierarchy", "validate", str(tmp_path / "absent.json")])
    assert_one_line_error(code, capsys.readouterr().err, "does not exist")
    code = main(["hierarchy", "validate", str(tmp_path)])
    assert_one_line_error(code, capsys.readouterr().err, "is a folder")


# ---------------------------------------------------------------------- demo
def test_demo(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--steps", "300"]) == 0
    printed = capsys.readouterr().out
    assert "Elasticity curve" in printed
    assert "step 300" in printed
    curve = pd.read_csv(out / "elasticity_curve.csv")
    assert list(curve.columns) == ["step", "lca_depth", "same_class", "mean_impact"]
    assert curve["step"].max() == 300
    result = RunResult.load(out / "result")
    assert result.config["steps"] == 300
    rerun = load_config(out / "config.toml")
    assert rerun.steps == 300
    assert (out / "metrics.csv").is_file()


def test_demo_quiet_without_plots(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    assert (
        main(["demo", "--out", str(out), "--steps", "50", "--quiet", "--no-plots"]) == 0
    )
    assert capsys.readouterr().out == ""
    assert not (out / "plots").exists()
    assert (out / "elasticity_curve.csv").is_file()


# ---------------------------------------------------------------------- subprocess
def test_python_m_simnet_bad_config(tmp_path) -> None:
    bad = write(tmp_path / "bad.toml", "[run]\nstep = 5\n")
    proc = subprocess.run(
        [sys.executable, "-m", "simnet", "simulate", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("simnet: error: ")
    assert "unknown config key 'run.step' (did you mean 'run.steps'?)" in lines[0]
    assert proc.stdout == ""
