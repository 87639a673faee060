"""Tests of ``simnet sweep``: output, errors, and a real kill-and-resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from simnet.cli import main
from simnet.sweeps import SweepResult, load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[1]

SWEEP = """\
seeds = 2
seed = 3
metrics = ["loss", "accuracy", "nc1"]

[grid]
"model.impact.alpha" = [0.5, 1.0]
"model.impact.beta" = [0.0, 0.75]

[base.run]
steps = {steps}
record = {{at = [{steps}]}}
observe = ["loss", "neural_collapse"]

[base.model]
kind = "lesde"
integrator = "sde"
dt = 0.1
sigma = 0.05
n_per_class = {n}

[base.model.impact]
kind = "two_parameter"
n_classes = 3
alpha = 1.0
beta = 0.0
"""


def write_sweep(path: Path, *, steps: int = 40, n: int = 6) -> Path:
    path.write_text(SWEEP.format(steps=steps, n=n), encoding="utf-8")
    return path


def assert_one_line_error(code: int, err: str, *texts: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("simnet: error: ")
    assert "Traceback" not in err
    for text in texts:
        assert text in lines[0]


def test_sweep_command_writes_the_sweep_and_the_phase_diagram(tmp_path, capsys):
    spec = write_sweep(tmp_path / "sweep.toml")
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(spec),
            "--out",
            str(out),
            "--workers",
            "1",
            "--phase",
            "alpha,beta",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "8 cells (4 points x 2 seeds)" in captured.out
    assert "8 done" in captured.out
    result = SweepResult.load(out)
    assert result.counts() == {"done": 8}
    reference = run_sweep(load_sweep(spec))
    columns = ["model.impact.alpha", "model.impact.beta", "cell", "loss", "nc1"]
    pd.testing.assert_frame_equal(result.table[columns], reference.table[columns])
    assert load_sweep(out / "sweep.toml") == load_sweep(spec)
    phase = pd.read_csv(out / "phase.csv")
    assert set(phase["quantity"]) == {"loss", "accuracy", "nc1"}
    assert (phase["count"] == 2).all()
    if (out / "phase.png").exists():
        assert (out / "phase.png").read_bytes()[:4] == b"\x89PNG"
    else:
        assert "phase.png not written" in captured.err


def test_sweep_command_quiet_and_failed_cells(tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text(
        write_sweep(tmp_path / "base.toml")
        .read_text()
        .replace('"model.impact.beta" = [0.0, 0.75]', '"model.sigma" = [0.05, 1e308]')
    )
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert "4 done, 4 failed" in captured.out
    assert "failed: DivergenceError: the simulation diverged" in captured.out
    assert (
        main(
            [
                "sweep",
                str(spec),
                "--out",
                str(out),
                "--resume",
                "--quiet",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    ("extra", "texts"),
    [
        (["--phase", "alpha,gamma"], ["no swept key match 'gamma'"]),
        (["--phase", "alpha"], ["argument --phase: must be two swept keys"]),
        (["--workers", "0"], ["argument --workers: must be an int >= 1; got '0'"]),
        (
            ["--scheduler", "tcp://x:1", "--local-cluster"],
            ["not allowed with argument"],
        ),
        (["--scheduler", "tcp://x:1", "--workers", "2"], ["--workers does not apply"]),
    ],
)
def test_sweep_command_option_errors(tmp_path, capsys, extra, texts):
    spec = write_sweep(tmp_path / "sweep.toml")
    code = main(["sweep", str(spec), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    if "argument" in texts[0]:  # argparse prints its usage line first
        assert code == 2 and texts[0] in err and "Traceback" not in err
    else:
        assert_one_line_error(code, err, *texts)


def test_sweep_command_spec_and_folder_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        write_sweep(tmp_path / "x.toml")
        .read_text()
        .replace('"model.impact.beta"', '"model.impact.bta"')
    )
    code = main(["sweep", str(bad), "--out", str(tmp_path / "o")])
    assert_one_line_error(
        code,
        capsys.readouterr().err,
        "bad.toml: sweep point 0",
        "unknown config key 'model.impact.bta' for kind = 'two_parameter' (did you "
        "mean 'model.impact.beta'?)",
    )
    spec = write_sweep(tmp_path / "sweep.toml")
    out = tmp_path / "out"
    assert main(["sweep", str(spec), "--out", str(out), "--workers", "1", "-q"]) == 0
    code = main(["sweep", str(spec), "--out", str(out), "-q"])
    assert_one_line_error(code, capsys.readouterr().err, "holds a sweep already")
    code = main(["sweep", str(tmp_path / "missing.toml")])
    assert_one_line_error(code, capsys.readouterr().err, "does not exist")


def test_killed_sweep_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL a real ``python -m simnet sweep`` mid-way, resume it, and compare."""
    spec = write_sweep(tmp_path / "sweep.toml", steps=6000, n=40)
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-m",
        "simnet",
        "sweep",
        str(spec),
        "--out",
        str(out),
        "--workers",
        "1",
        "--quiet",
    ]
    process = subprocess.Popen(
        command, env=env, start_new_session=True, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not list((out / "cells").glob("cell-*.done.*")):
            assert process.poll() is None, process.stderr.read()
            assert time.monotonic() < deadline, "no cell finished in 120 s"
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        # the worker process outlives its parent: end the whole session
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    finished = len(list((out / "cells").glob("cell-*.done.*")))
    assert 1 <= finished < 8
    assert SweepResult.load(out).counts()["pending"] == 8 - finished

    assert (
        main(
            [
                "sweep",
                str(spec),
                "--out",
                str(out),
                "--resume",
                "--quiet",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    resumed = SweepResult.load(out)
    uninterrupted = run_sweep(load_sweep(spec), out=tmp_path / "whole")
    assert resumed.counts() == {"done": 8}
    pd.testing.assert_frame_equal(resumed.table, uninterrupted.table)
    assert not list((out / "cells").glob(".*.tmp"))
