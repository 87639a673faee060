"""``simnet reproduce``: listing, errors, and one real quick run through ``main``."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from simnet.cli.main import main
from simnet.reproduce import EXPERIMENTS, he_su_clustering, stability


def test_list_names_every_reproduction_with_title_and_paper(capsys):
    assert main(["reproduce", "--list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for name in EXPERIMENTS:
        assert any(line.startswith(name + " ") for line in lines), name
    assert stability.TITLE in out
    assert f"paper: {stability.PAPER}" in out


def test_unknown_name_is_a_one_line_error_naming_the_choices(capsys, tmp_path):
    status = main(["reproduce", "no-such-paper", "--quick", "--out", str(tmp_path)])
    assert status == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip()
    assert "\n" not in err
    assert err.startswith("simnet: error: unknown reproduction 'no-such-paper'")
    assert "he-su-torus" in err and "phase-diagram" in err


def test_missing_name_or_out_is_an_error(capsys, tmp_path):
    assert main(["reproduce"]) == 2
    assert "needs a NAME (or --list)" in capsys.readouterr().err
    assert main(["reproduce", "stability", "--quick"]) == 2
    assert "needs --out DIR" in capsys.readouterr().err


def test_refuses_a_non_empty_folder_that_holds_no_reproduction(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["reproduce", "stability", "--quick", "--out", str(tmp_path)]) == 2
    assert "is not empty and holds no simnet reproduction" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_quick_run_writes_the_reproduction_and_prints_the_headline(capsys, tmp_path):
    out = tmp_path / "clustering"
    args = ["reproduce", "he-su-clustering", "--quick", "--out", str(out)]
    assert main([*args, "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert "he-su-clustering (quick mode, seed 0)" in printed
    assert "headline numbers:" in printed
    assert f"wrote to {out}:" in printed
    assert "summary.md" in printed

    table = pd.read_csv(out / "table.csv").set_index("pair")
    assert list(table.columns) == list(he_su_clustering.METHODS)
    # the ReLU net's local-elasticity similarity separates the two digits
    assert (table["ReLU S_ker kernel k-means"] >= 0.75).all()
    record = json.loads((out / "run.json").read_text())
    assert record["name"] == "he-su-clustering" and record["mode"] == "quick"
    # every headline number is printed, with the value run.json records
    for label, value in record["headline"].items():
        assert f"{label}" in printed
        assert f"{value:.4g}" in printed
    summary = (out / "summary.md").read_text()
    assert "## Measured vs paper" in summary


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_errors_still_print(capsys, flag):
    assert main(["reproduce", "nope", flag, "--out", "x"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "unknown reproduction 'nope'" in captured.err
