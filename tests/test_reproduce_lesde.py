"""Tests of the LE-SDE reproductions (Zhang, Wang & Su 2021, Figs. 1, 3, 4 and 5).

Every ``--quick`` mode runs once (module-scoped fixtures; the four share the trained
networks through the in-memory cache of ``simnet.reproduce._lesde_runs``) and its
qualitative result is asserted with thresholds set below the measured values with
a margin (the measured values are in the comments). The helper's split, cache,
pooling and reference LE-ODE protocol are checked on small or synthetic inputs.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from simnet.analysis import ClassMeanTrajectory
from simnet.reproduce import _lesde_runs as runs_
from simnet.reproduce import experiment
from simnet.theory.le_ode import projected_ode_solution

NAMES = ("le-sde-separation", "le-sde-impacts", "le-sde-label-noise", "le-sde-ode")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run every quick mode once; name -> (headline, output directory)."""
    done = {}

    def get(name):
        if name not in done:
            out = tmp_path_factory.mktemp(name)
            done[name] = (experiment(name).run(out, quick=True, seed=0), out)
        return done[name]

    return get


def _common_outputs(out, name, csvs, figure):
    assert (out / "summary.md").is_file()
    record = json.loads((out / "run.json").read_text())
    assert record["name"] == name and record["mode"] == "quick" and record["seed"] == 0
    for csv in csvs:
        frame = pd.read_csv(out / csv)
        assert len(frame) > 0 and np.isfinite(frame.select_dtypes("number")).any().all()
    pytest.importorskip("matplotlib")
    png = out / "figures" / figure
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", NAMES)
def test_modules_follow_the_reproduction_interface(name):
    module = experiment(name)
    assert module.NAME == name
    assert module.TITLE and "Zhang, Wang & Su" in module.PAPER
    assert "Full mode" in module.__doc__ and "Quick mode" in module.__doc__


# --------------------------------------------------------------------------------------
# Fig. 1: separation
# --------------------------------------------------------------------------------------


def test_separation_class_means_separate_in_the_papers_order(quick):
    head, out = quick("le-sde-separation")
    _common_outputs(
        out,
        "le-sde-separation",
        ["projections.csv", "class_means.csv", "separation_summary.csv"],
        "separation.png",
    )
    # the training logits separate: every training point correctly classified with
    # a positive margin (measured: accuracy 1.0, smallest margin 1.98)
    assert head["train_accuracy"] == 1.0 and head["margin_min"] > 0.5
    # projected on nu = Xbar^0 - Xbar^1: triangle > ellipse > rectangle as in the
    # paper (+10.5, +3, -11; measured +4.09, +2.83, -4.03)
    p0, p1, p2 = head["projected"]
    assert head["order_0_2_1"] and p0 > p2 > p1
    assert p0 > 2.0 and p1 < -2.0
    # the onset is finite and inside the run (measured 600 of 2500)
    assert 0.0 < head["onset"] < 0.6 * head["steps"]
    assert head["onset"] < head["onset_half"] < head["steps"]
    # the ETF mode grows from near zero to several units
    assert abs(head["etf_mode_start"]) < 0.1 and head["etf_mode_end"] > 3.0
    rows = {r["source"]: r for r in head["sources"]}
    # the LE-SDE driven by the network's own E(t), not rescaled, separates the same
    # way (measured +3.6, -3.9, +1.2)
    sde = rows["LE-SDE, network E(t)"]
    assert sde["order_0_2_1"] and sde["final_0"] > 2.0 and sde["final_1"] < -2.0
    # the rescaled reference LE-ODE separates classes 0 and 1 in the right direction
    ref = rows["LE-ODE reference (L, rescaled)"]
    assert ref["final_0"] > 2.0 and ref["final_1"] < -2.0


def test_separation_summary_has_the_paper_and_the_measured_numbers(quick):
    head, out = quick("le-sde-separation")
    text = (out / "summary.md").read_text()
    for paper in ("+10.5", "-11.0", "+3.0", "1.5-2k"):
        assert paper in text
    for value in head["projected"]:
        assert f"{value:.2f}" in text
    assert f"| {head['onset']:.0f} |" in text
    assert "fitted" in text and "predicted" in text


# --------------------------------------------------------------------------------------
# Fig. 3: impacts
# --------------------------------------------------------------------------------------


def test_impacts_grow_then_plateau_with_an_early_alpha_peak(quick):
    head, out = quick("le-sde-impacts")
    _common_outputs(
        out,
        "le-sde-impacts",
        ["impacts.csv", "impacts_per_trial.csv", "impact_numbers.csv"],
        "impacts.png",
    )
    table = pd.read_csv(out / "impacts.csv")
    assert set(table.model) == {"I", "L"}
    assert set(table.quantity) == {"A", "B", "alpha", "beta"}
    i_model, l_model = head["I"], head["L"]
    # A-hat grows from 0 to a large value (measured I: 6.4 at 10%, 15.0 at the end)
    assert i_model["A_100"] > 10.0 and i_model["A_100"] > 1.5 * i_model["A_10"]
    # ... and plateaus: most of it is reached by 40% of training (measured 11.7)
    assert i_model["A_100"] - i_model["A_40"] < 0.5 * i_model["A_100"]
    for model in (i_model, l_model):
        # alpha-hat peaks early (measured at the first record) and decays to ~0
        # (measured late means 6e-4 and 1e-3 against peaks 0.067 and 0.040)
        assert model["alpha_peak_time"] <= 0.2 * head["steps"]
        assert 0.005 < model["alpha_peak"] < 0.5
        assert abs(model["alpha_late_mean"]) < 0.1 * model["alpha_peak"]
        # locally elastic: A - B grows large (measured 19.4 and 19.5)
        assert model["A_100"] - model["B_100"] > 10.0
    # the rates are the derivatives of the integrated impacts
    pooled = table[table.model == "I"].pivot(
        index="time", columns="quantity", values="value"
    )
    integral = np.concatenate(
        [[0.0], np.cumsum(np.diff(pooled.index) * 0.5 * (
            pooled.alpha.to_numpy()[1:] + pooled.alpha.to_numpy()[:-1]))]
    )  # fmt: skip
    assert abs(integral[-1] - pooled.A.iloc[-1]) < 0.25 * pooled.A.iloc[-1]


def test_impacts_summary_has_the_paper_and_the_measured_numbers(quick):
    head, out = quick("le-sde-impacts")
    text = (out / "summary.md").read_text()
    for paper in ("about 19.5 (plateau)", "0.015-0.017", "about +3.5", "about -1.3"):
        assert paper in text
    for model in ("I", "L"):
        assert f"| {model} | A at 100% |" in text
        assert f"{head[model]['A_100']:.4g}" in text
    assert f"window {head['window']} records" in text


# --------------------------------------------------------------------------------------
# Fig. 4: label noise
# --------------------------------------------------------------------------------------


def test_label_noise_destroys_generalisation_and_raises_the_tail_index(quick):
    head, out = quick("le-sde-label-noise")
    _common_outputs(
        out,
        "le-sde-label-noise",
        ["label_noise.csv", "validation_curves.csv"],
        "label_noise.png",
    )
    rates = np.array(head["rates"])
    acc = np.array(head["val_accuracy"])
    loss = np.array(head["val_loss"])
    r_alpha = np.array(head["r_alpha"])
    assert rates[0] == 0.0 and rates[-1] == 0.8
    # measured val accuracy 1.00, 0.93, 0.81, 0.52, 0.33, 0.12
    assert acc[0] > 0.95 and acc[0] - acc[-1] > 0.5
    assert np.all(np.diff(acc) < 0.05)  # falls with p
    # random labels (p = 2/3): chance accuracy and loss ln 3 (measured 0.33, 1.098)
    k = int(np.argmin(np.abs(rates - 2.0 / 3.0)))
    assert abs(acc[k] - 1.0 / 3.0) < 0.15 and abs(loss[k] - math.log(3.0)) < 0.15
    assert loss[-1] > loss[0] + 0.8
    # tail index of alpha: larger at large p than without noise
    # (measured 0.64 at p = 0; 0.74, 0.76, 0.72 at p = 0.6, 2/3, 0.8)
    large = rates >= 0.6
    assert np.all(np.isfinite(r_alpha))
    assert r_alpha[large].mean() > r_alpha[0] + 0.03
    curves = pd.read_csv(out / "validation_curves.csv")
    assert set(np.round(curves.p, 4)) == set(np.round(rates, 4))
    first = curves[curves.step == 0]
    # every rate starts from the same initial network (common random numbers)
    assert first.val_loss.std() < 1e-9


def test_label_noise_summary_has_the_paper_and_the_measured_numbers(quick):
    head, out = quick("le-sde-label-noise")
    text = (out / "summary.md").read_text()
    assert "| 0.80 | 1.14 |" in text and "| 0.23 |" in text and "| 0.68 |" in text
    for acc, r in zip(head["val_accuracy"], head["r_alpha"], strict=True):
        assert f"{acc:.2f}" in text and f"{r:.2f}" in text


# --------------------------------------------------------------------------------------
# Fig. 5: LE-ODE
# --------------------------------------------------------------------------------------


def test_le_ode_fits_the_class0_logits(quick):
    head, out = quick("le-sde-ode")
    _common_outputs(
        out,
        "le-sde-ode",
        ["ode_comparison.csv", "class0_logits.csv", "reference_ensemble.csv",
         "rates.csv"],
        "le_ode.png",
    )  # fmt: skip
    r2 = head["r2"]
    # reference protocol, L rates, rescaled (measured 0.975, 0.776, 0.834)
    ref = r2["LE-ODE reference (L rates, rescaled)"]
    assert ref[0] > 0.9 and min(ref) > 0.6
    # reference protocol, I rates (measured 0.983, 0.852, 0.781)
    assert r2["LE-ODE reference (I rates, rescaled)"][0] > 0.85
    # LE-SDE driven by the network's E(t), nothing rescaled (0.937, 0.769, 0.777)
    sde = r2["LE-SDE, network E(t)"]
    assert sde[0] > 0.8 and min(sde) > 0.5
    # the class-0 pattern: own logit up, the two others down
    net = head["final_network"]
    assert net[0] > 2.0 and net[1] < -1.0 and net[2] < -1.0
    for label in ("LE-ODE reference (L rates, rescaled)", "LE-SDE, network E(t)"):
        final = head["final"][label]
        assert final[0] > 0 > max(final[1], final[2])
    # the rescaled mean matches the network's tail of Xbar^0_0 by construction
    assert abs(head["final"]["LE-ODE reference (L rates, rescaled)"][0] - net[0]) < 0.5
    assert all(math.isfinite(s) and s != 0 for s in head["scale"].values())
    assert 0 < head["onset_network"] < head["steps"]


def test_le_ode_summary_states_what_is_fitted(quick):
    head, out = quick("le-sde-ode")
    text = (out / "summary.md").read_text()
    for paper in ("| 8.8 | -5.4 | -2.9 |", "1.5k"):
        assert paper in text
    for value in head["final_network"]:
        assert f"{value:.2f}" in text
    ref = head["r2"]["LE-ODE reference (L rates, rescaled)"]
    assert f"{ref[0]:.3f}" in text
    assert "fitted" in text and "predicted" in text and "wrong direction" in text


# --------------------------------------------------------------------------------------
# the shared helper
# --------------------------------------------------------------------------------------


def test_shapes_split_is_the_papers_per_class_split():
    train, val = runs_.shapes_data(7, 3, 5)
    assert train.class_counts.tolist() == [7, 7, 7]
    assert val.class_counts.tolist() == [3, 3, 3]
    # disjoint images
    both = np.concatenate([train.X, val.X])
    assert np.unique(both.round(12), axis=0).shape[0] == both.shape[0]


def test_network_runs_cache_pool_and_reload(tmp_path):
    protocol = dataclasses.replace(
        runs_.QUICK, n_train=6, n_val=3, steps=40, stride=10, trials=2, ntk_samples=6
    )
    first = runs_.network_runs(protocol, 0.0, seed=3, cache=tmp_path)
    noisy = runs_.network_runs(protocol, 0.5, seed=3, cache=tmp_path)
    assert len(first) == 2 and len(list(tmp_path.iterdir())) == 4
    assert "impact" in first[0].tables and "impact" not in noisy[0].tables
    corrupted = noisy[0].state["labels"] != noisy[0].state["clean_labels"]
    assert corrupted.sum() == 3 * 3  # floor(0.5 * 6) per class
    # same initial weights at every rate: the same validation loss at step 0 (the
    # class means differ: they are grouped by the corrupted labels)
    val0 = [r.table("metrics").query("step == 0 and observable == 'val_loss'")
            for r in (first[0], noisy[0])]  # fmt: skip
    assert_allclose(val0[0]["value"].to_numpy(), val0[1]["value"].to_numpy())
    # memory cache returns the same objects; the disk cache the same tables
    assert runs_.network_runs(protocol, 0.0, seed=3)[0] is first[0]
    runs_._MEMORY.clear()
    again = runs_.network_runs(protocol, 0.0, seed=3, cache=tmp_path)
    pd.testing.assert_frame_equal(
        again[1].table("class_means"), first[1].table("class_means"), check_dtype=False
    )
    assert_allclose(again[0].state["final_logits"], first[0].state["final_logits"])
    # pooling averages the trials
    pooled = runs_.pooled_means(first)
    from simnet.analysis import class_mean_trajectory

    a, b = (class_mean_trajectory(r).means for r in first)
    assert_allclose(pooled.means, 0.5 * (a + b))
    metrics = runs_.pooled_metrics(first)
    assert {"val_loss", "val_accuracy", "val_loss_std"} <= set(metrics.columns)
    result = runs_.pooled_result(first)
    assert_allclose(
        class_mean_trajectory(result).means, pooled.means, rtol=1e-12, atol=1e-15
    )


def test_reference_leode_recovers_an_l_model_trajectory():
    # a trajectory of the L-model ODE with known rates, mostly in the ETF mode
    t = np.arange(0.0, 801.0)
    a_int = 0.012 * t - 2e-6 * t**2  # alpha(t) = 0.012 - 4e-6 t
    b_int = -0.012 * t  # B -> -infinity: the ETF mode dominates (dossier 2.3)
    d = np.eye(3) - 1.0 / 3.0
    noise = 0.01 * np.random.default_rng(0).normal(size=(3, 3))
    start = 0.05 * d + noise - noise.mean(axis=1, keepdims=True)  # zero-sum logits
    means = projected_ode_solution(start, a_int, b_int, rates="path")
    traj = ClassMeanTrajectory(
        steps=t.astype(int), times=t, means=means, classes=("a", "b", "c")
    )
    ref = runs_.reference_leode(
        traj, estimator="L", window=21, replicas=200, record=20, tail=100, seed=0
    )
    assert_array_equal(ref.steps, np.arange(0, 801, 20))
    truth = means[ref.steps]
    # the estimated rates are the true ones away from the edges
    inner = ref.rates[(ref.rates.time > 30) & (ref.rates.time < 770)]
    assert_allclose(inner.alpha, 0.012 - 4e-6 * inner.time, atol=2e-4)
    assert_allclose(inner.beta, -0.012, atol=2e-4)
    # after the one fitted scalar, the ensemble mean follows the ETF-dominated
    # trajectory of every class and coordinate
    for k in range(3):
        for j in range(3):
            assert runs_.r_squared(ref.scaled[:, k, j], truth[:, k, j]) > 0.95
    assert ref.std.shape == ref.mean.shape and np.all(ref.std[-1] > 0)


def test_onset_direction_and_r_squared():
    t = np.arange(10.0)
    assert runs_.onset_time(t, t**2) == 3.0  # 9 >= 0.1 * 81 > 4
    assert math.isnan(runs_.onset_time(t, -t))
    means = np.zeros((2, 3, 3))
    means[:, 0, 0], means[:, 1, 1] = 2.0, 2.0
    assert_allclose(runs_.final_direction(means), [np.sqrt(0.5), -np.sqrt(0.5), 0])
    assert runs_.r_squared([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert runs_.r_squared([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == 0.0


def test_experiment_script_runs_the_module(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "experiments" / "le_sde_impacts.py"
    spec = importlib.util.spec_from_file_location("le_sde_impacts_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    head = script.main(["--quick", "--out", str(tmp_path / "x"), "--seed", "0"])
    assert "A-hat" in capsys.readouterr().out
    assert head["steps"] == runs_.QUICK.steps
