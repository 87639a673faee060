"""Tests of ``simnet mlp`` (simnet.cli.main), run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simnet import RunResult
from simnet.cli import main
from simnet.config import load_mlp_config

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TABLES = ["class_means", "elasticity_curve", "impact", "metrics", "similarity"]

SMALL = """\
[run]
steps = 40
record = 20

[data]
kind = "torus"
n = 40
standardize = true

[network]
hidden = [16]
loss = "mse"
n_outputs = 1

[training]
lr = 0.01
"""


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
        assert text in lines[0], lines[0]


@pytest.fixture
def small_config(tmp_path: Path) -> Path:
    return write(tmp_path / "small.toml", SMALL)


def test_mlp_writes_a_loadable_result(tmp_path, small_config, capsys) -> None:
    out = tmp_path / "run"
    argv = ["mlp", str(small_config), "--out", str(out), "--format", "csv"]
    code = main([*argv, "--no-plots"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err == ""
    result = RunResult.load(out)
    assert sorted(result.tables) == TABLES
    assert sorted(p.stem for p in (out / "tables").glob("*.csv")) == TABLES
    assert result.config["model"] == "mlp" and result.config["steps"] == 40
    assert result.config["data"]["kind"] == "torus"
    assert sorted(result.table("metrics")["step"].unique()) == [0, 20, 40]
    assert (out / "config.toml").read_text() == SMALL
    rerun = load_mlp_config(out / "config.toml")
    assert rerun.mlp == load_mlp_config(small_config).mlp
    printed = captured.out
    assert printed.startswith("trained a 3-16-1 relu MLP (mse loss) on 40 samples")
    for text in ("training loss", "training accuracy", "intra/inter impact ratio"):
        assert text in printed
    assert "-> " in printed and "at step 40" in printed
    assert str(out) in printed and "tables: class_means" in printed


def test_mlp_writes_figures(tmp_path, small_config, capsys) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "run"
    assert main(["mlp", str(small_config), "--out", str(out)]) == 0
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert {"elasticity_curves.png", "metrics.png", "similarity.png"} <= set(pngs)
    assert "figure" in capsys.readouterr().out


def test_mlp_overrides_quiet_and_rerun(tmp_path, small_config, capsys) -> None:
    out = tmp_path / "run"
    argv = ["mlp", str(small_config), "--out", str(out), "--no-plots"]
    assert main([*argv, "--steps", "10", "--seed", "7", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert not (out / "plots").exists()
    result = RunResult.load(out)
    assert result.config["steps"] == 10
    assert result.metadata["seed_entropy"] == 7
    assert result.config["data"]["seed_entropy"] == 7  # the data follows run.seed
    copied = (out / "config.toml").read_text()
    assert copied.startswith("# simnet mlp ran this configuration with --steps 10")
    assert copied.endswith(SMALL)
    # a folder holding an earlier result may be written again
    assert main([*argv, "--quiet"]) == 0
    assert RunResult.load(out).config["steps"] == 40


def test_mlp_default_out(tmp_path, small_config, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["mlp", str(small_config), "--quiet", "--no-plots"]) == 0
    assert (tmp_path / "simnet-small" / "metadata.json").is_file()


def test_mlp_runs_an_example(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    example = EXAMPLES / "mlp_hierarchical.toml"
    argv = ["mlp", str(example), "--out", str(out), "--steps", "4", "--no-plots"]
    assert main(argv) == 0
    assert "on 320 samples of 8 classes (data.kind = 'hierarchical')" in (
        capsys.readouterr().out
    )
    result = RunResult.load(out)
    assert result.config["class_names"][:2] == ["cat", "dog"]
    saved = json.loads((out / "config.json").read_text())
    assert saved["data"]["kind"] == "hierarchical"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "hidden = [16]",
            "hiden = [16]",
            "unknown config key 'network.hiden' (did you mean 'network.hidden'?)",
        ),
        ("n = 40", "n = 41", "config key 'data.n' must be an even int >= 2"),
        (
            "lr = 0.01",
            "lr = -1",
            "config key 'training.lr' must be a float in (0, inf)",
        ),
        ("steps = 40", "steps = ", "is not valid TOML"),
        ('kind = "torus"', 'kind = "tours"', "(did you mean 'torus'?)"),
    ],
)
def test_mlp_bad_config(tmp_path, capsys, old: str, new: str, expected: str) -> None:
    assert old in SMALL
    config = write(tmp_path / "bad.toml", SMALL.replace(old, new))
    code = main(["mlp", str(config), "--out", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert_one_line_error(code, captured.err, expected, "bad.toml")
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


def test_mlp_path_errors(tmp_path, small_config, capsys) -> None:
    code = main(["mlp", str(tmp_path / "missing.toml")])
    assert_one_line_error(code, capsys.readouterr().err, "does not exist")
    busy = tmp_path / "busy"
    busy.mkdir()
    write(busy / "notes.txt", "keep me")
    code = main(["mlp", str(small_config), "--out", str(busy)])
    assert_one_line_error(code, capsys.readouterr().err, "is not empty")
    assert sorted(p.name for p in busy.iterdir()) == ["notes.txt"]


def test_mlp_diverging_run_is_a_one_line_error(tmp_path, capsys) -> None:
    config = write(tmp_path / "hot.toml", SMALL.replace("lr = 0.01", "lr = 1e6"))
    code = main(["mlp", str(config), "--out", str(tmp_path / "o"), "--quiet"])
    assert_one_line_error(
        code, capsys.readouterr().err, "diverged at step", "'training.lr'"
    )
    assert not (tmp_path / "o").exists()


def test_the_wrong_command_says_which_to_use(tmp_path, small_config, capsys) -> None:
    code = main(["simulate", str(small_config), "--out", str(tmp_path / "o")])
    assert_one_line_error(code, capsys.readouterr().err, "run it with 'simnet mlp'")
    code = main(["mlp", str(EXAMPLES / "hfs_cifar10.toml"), "--out", str(tmp_path)])
    assert_one_line_error(
        code, capsys.readouterr().err, "run it with 'simnet simulate'"
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["mlp"],
        ["mlp", "x.toml", "--seed", "-1"],
        ["mlp", "x.toml", "--steps", "many"],
        ["mlp", "x.toml", "--format", "xlsx"],
    ],
)
def test_mlp_usage_errors_exit_2(argv: list[str], capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: simnet mlp" in err
    assert "Traceback" not in err


def test_help_lists_mlp(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "mlp" in out and "train a numpy MLP baseline" in out
    assert main(["mlp", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--out", "--seed", "--steps", "--format", "--quiet", "--no-plots"):
        assert option in out
