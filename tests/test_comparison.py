"""Tests of simnet.analysis.comparison: figures, alignment, replicas, report files."""

from __future__ import annotations

import math
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simnet
from simnet.analysis.comparison import (
    FIGURE_COLUMNS,
    Comparison,
    _format_number,
    compare_runs,
    read_comparison_figures,
    write_comparison_report,
)
from simnet.errors import ConfigError, DataError
from simnet.networks import MLP, train_mlp
from simnet.recorder import TableRows
from simnet.results import RunResult

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# hand-made runs, written by the recorder's own table builder
# --------------------------------------------------------------------------------------


def make_run(
    steps,
    means=None,
    impact=None,
    metrics=None,
    *,
    classes=("a", "b"),
    lca=None,
    times=None,
) -> RunResult:
    """A RunResult with the simulator's table layouts.

    ``means`` (T, K, K) class-mean logits, ``impact`` (T, K, K), ``metrics`` a dict
    of name -> (T,) values.
    """
    k = len(classes)
    lca = np.eye(k, dtype=np.int64) if lca is None else np.asarray(lca)
    rows = TableRows(tuple(classes), lca)
    times = steps if times is None else times
    for t, (step, time) in enumerate(zip(steps, times, strict=True)):
        if means is not None:
            rows.class_means(int(step), float(time), np.asarray(means[t], float))
        if impact is not None:
            rows.impact(int(step), float(time), np.asarray(impact[t], float))
        if metrics is not None:
            values = {n: float(v[t]) for n, v in metrics.items()}
            rows.metrics(int(step), float(time), values)
    return RunResult(config={}, tables=rows.tables(), state={}, metadata={})


def figure(comparison: Comparison, quantity, statistic, **keys) -> float:
    f = comparison.figures
    mask = (f["quantity"] == quantity) & (f["statistic"] == statistic)
    mask &= f["class"] == keys.get("cls", "")
    for col in ("coordinate", "step"):
        if col in keys:
            mask &= f[col] == keys[col]
        else:
            mask &= f[col].isna()
    picked = f.loc[mask, "value"]
    assert picked.shape[0] == 1, (quantity, statistic, keys, picked)
    return float(picked.iloc[0])


def diagonal_means(x: np.ndarray) -> np.ndarray:
    """Class means for K=2 with margin x: m_0 = [x, 0], m_1 = [0, x]."""
    out = np.zeros((len(x), 2, 2))
    out[:, 0, 0] = x
    out[:, 1, 1] = x
    return out


@pytest.fixture(scope="module")
def hfs_run() -> RunResult:
    h = simnet.Hierarchy.preset("tiger_cat_car")
    return simnet.simulate(
        simnet.HFSModel(h, n_per_class=5), steps=60, record=10, seed=0
    )


@pytest.fixture(scope="module")
def ode_run() -> RunResult:
    impact = simnet.ImpactMatrix.two_parameter(3, alpha=1.0, beta=0.2)
    h = simnet.Hierarchy.preset("tiger_cat_car")
    model = simnet.LESDEModel(impact, integrator="ode", dt=0.5, hierarchy=h)
    return simnet.simulate(model, steps=60, record=5, seed=0)


@pytest.fixture(scope="module")
def mlp_run() -> RunResult:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 10)
    X = rng.normal(size=(30, 4)) + 2.0 * y[:, None]
    mlp = MLP(input_dim=4, hidden=(8,), n_outputs=3)
    return train_mlp(
        mlp,
        X,
        y,
        steps=60,
        lr=0.1,
        record=10,
        seed=0,
        hierarchy=simnet.Hierarchy.preset("tiger_cat_car"),
        ntk_samples=12,
        n_probes=6,
    )


# --------------------------------------------------------------------------------------
# identity
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("run_name", ["hfs_run", "ode_run", "mlp_run"])
def test_comparing_a_run_with_itself_is_perfect(run_name, request):
    run = request.getfixturevalue(run_name)
    c = compare_runs(run, run)
    f = c.figures
    assert list(f.columns) == list(FIGURE_COLUMNS)
    assert set(f["quantity"]) == {
        "class_means",
        "loss",
        "accuracy",
        "impact",
        "elasticity_curve",
        "separation_onset",
    }
    r2 = f[(f.quantity == "class_means") & (f.statistic == "r2")]
    assert r2.shape[0] == 9  # 3 classes x 3 logits
    np.testing.assert_allclose(r2["value"], 1.0)
    assert figure(c, "class_means", "r2_pooled") == 1.0
    assert figure(c, "class_means", "rmse") == 0.0
    for q in ("loss", "accuracy"):
        assert figure(c, q, "r2") == 1.0
        assert figure(c, q, "final_difference") == 0.0
    corr = f[(f.quantity == "impact") & f.statistic.str.contains("pearson|spearman")]
    np.testing.assert_allclose(corr["value"].dropna(), 1.0, rtol=0, atol=1e-12)
    if run_name == "ode_run":
        # E = (alpha - beta) I + beta 11^T: constant off-diagonal, no correlation
        assert corr[corr.statistic.str.contains("offdiag")]["value"].isna().all()
        assert corr[corr.statistic.str.contains("all")]["value"].notna().all()
    else:
        assert corr["value"].notna().all()
    assert figure(c, "elasticity_curve", "mean_abs_relative_error") == 0.0
    assert figure(c, "elasticity_curve", "spearman_depth_mean") == pytest.approx(1.0)
    onset = figure(c, "separation_onset", "reference")
    assert figure(c, "separation_onset", "simulated") == pytest.approx(
        onset, nan_ok=True
    )
    if math.isfinite(onset):
        assert figure(c, "separation_onset", "difference") == 0.0
    else:  # never separates: the difference is undefined
        assert math.isnan(figure(c, "separation_onset", "difference"))
    assert c.notes == ()


def test_ode_run_onset_is_finite_and_matches_itself(ode_run):
    c = compare_runs(ode_run, [ode_run, ode_run])
    onset = figure(c, "separation_onset", "reference")
    assert 0.0 <= onset <= 30.0 and math.isfinite(onset)
    assert figure(c, "separation_onset", "simulated") == onset
    assert figure(c, "separation_onset", "replica_mean") == onset
    assert figure(c, "separation_onset", "replica_std") == 0.0


# --------------------------------------------------------------------------------------
# R² and RMSE by hand
# --------------------------------------------------------------------------------------


def test_r2_of_shifted_and_scaled_class_means_by_hand():
    # Two classes, two logits; three records. Series (class a, logit 0) is 0, 1, 2.
    ref_means = np.array(
        [
            [[0.0, 1.0], [2.0, 0.0]],
            [[1.0, 1.0], [2.0, 3.0]],
            [[2.0, 1.0], [5.0, 6.0]],
        ]
    )
    steps = [0, 1, 2]
    ref = make_run(steps, ref_means)
    shifted = compare_runs(ref, make_run(steps, ref_means + 1.0))
    scaled = compare_runs(ref, make_run(steps, 2.0 * ref_means))

    # (a, 0): y = 0, 1, 2, mean 1, SS_tot = 2.
    # shift: SS_res = 3 -> R² = 1 - 3/2; scale: residuals 0, 1, 2 -> SS_res = 5.
    assert figure(shifted, "class_means", "r2", cls="a", coordinate=0) == -0.5
    assert figure(scaled, "class_means", "r2", cls="a", coordinate=0) == -1.5
    assert figure(shifted, "class_means", "rmse", cls="a", coordinate=0) == 1.0
    assert figure(scaled, "class_means", "rmse", cls="a", coordinate=0) == (
        pytest.approx(math.sqrt(5 / 3))
    )
    # (a, 1) is constant 1: R² undefined (NaN) for both.
    assert math.isnan(figure(shifted, "class_means", "r2", cls="a", coordinate=1))
    # (b, 1): y = 0, 3, 6, mean 3, SS_tot = 18; scale: SS_res = 0 + 9 + 36 = 45.
    assert figure(scaled, "class_means", "r2", cls="b", coordinate=1) == 1 - 45 / 18
    # (b, 0): y = 2, 2, 5, mean 3, SS_tot = 6; shift R² = 1 - 3/6.
    assert figure(shifted, "class_means", "r2", cls="b", coordinate=0) == 0.5
    # r2_mean over the three defined series (a,0), (b,0), (b,1) for the shift:
    # (b,1): 1 - 3/18.
    assert figure(shifted, "class_means", "r2_mean") == pytest.approx(
        (-0.5 + 0.5 + (1 - 3 / 18)) / 3
    )
    # Pooled: all 12 values, grand mean 2, SS_tot = sum (y - 2)^2 = 38.
    values = ref_means.ravel()
    assert values.mean() == 2.0 and np.sum((values - 2.0) ** 2) == 38.0
    assert figure(shifted, "class_means", "r2_pooled") == 1 - 12 / 38
    # scale: residuals are the values themselves, sum of squares 86
    assert np.sum(values**2) == 86.0
    assert figure(scaled, "class_means", "r2_pooled") == 1 - 86 / 38
    assert figure(shifted, "class_means", "rmse") == 1.0


def test_loss_and_accuracy_curves_by_hand():
    steps = [0, 10, 20, 30]
    loss = np.array([2.0, 1.0, 0.5, 0.5])
    acc = np.array([0.25, 0.5, 0.75, 1.0])
    ref = make_run(steps, metrics={"loss": loss, "accuracy": acc})
    sim = make_run(steps, metrics={"loss": loss + 0.1, "accuracy": acc[::-1]})
    c = compare_runs(ref, sim)
    ss_tot = np.sum((loss - loss.mean()) ** 2)
    assert figure(c, "loss", "r2") == pytest.approx(1 - 4 * 0.01 / ss_tot)
    assert figure(c, "loss", "rmse") == pytest.approx(0.1)
    assert figure(c, "loss", "final_difference") == pytest.approx(0.1)
    assert figure(c, "loss", "final_reference") == 0.5
    assert figure(c, "accuracy", "final_difference") == -0.75
    # reversed: residuals -0.75, -0.25, 0.25, 0.75; SS_tot = 0.3125
    assert figure(c, "accuracy", "r2") == pytest.approx(1 - 1.25 / 0.3125)
    # only tables that exist are compared; the others are noted
    assert set(c.figures.quantity) == {"loss", "accuracy"}
    assert any("class_means skipped" in n for n in c.notes)


# --------------------------------------------------------------------------------------
# impact matrices
# --------------------------------------------------------------------------------------


def test_impact_correlations_equal_scipy_on_hand_made_matrices():
    rng = np.random.default_rng(5)
    k = 5
    ref_e = rng.normal(size=(3, k, k))
    sim_e = ref_e + rng.normal(scale=0.7, size=(3, k, k))
    sim_e[:, 0, 1:] = 1.0  # ties for the ranks
    steps = [0, 1, 2]
    classes = tuple("vwxyz")
    c = compare_runs(
        make_run(steps, impact=ref_e, classes=classes),
        make_run(steps, impact=sim_e, classes=classes),
        late_fraction=0.5,
    )
    off, full = np.triu_indices(k, 1), np.triu_indices(k)
    per_step = {}
    for t in steps:
        for name, (i, j) in (("offdiag", off), ("all", full)):
            x, y = ref_e[t][i, j], sim_e[t][i, j]
            expected_p = stats.pearsonr(x, y).statistic
            expected_s = stats.spearmanr(x, y).statistic
            got_p = figure(c, "impact", f"pearson_{name}", step=t)
            got_s = figure(c, "impact", f"spearman_{name}", step=t)
            assert got_p == pytest.approx(expected_p, abs=1e-12)
            assert got_s == pytest.approx(expected_s, abs=1e-12)
            per_step.setdefault(f"spearman_{name}", []).append(expected_s)
            per_step.setdefault(f"pearson_{name}", []).append(expected_p)
    for name, values in per_step.items():
        assert figure(c, "impact", f"{name}_mean") == pytest.approx(np.mean(values))
        # late_fraction 0.5 of times 0..2: times >= 1
        assert figure(c, "impact", f"{name}_late") == pytest.approx(np.mean(values[1:]))


def test_impact_correlation_is_nan_for_a_constant_matrix():
    e = np.ones((2, 3, 3))
    run = make_run([0, 1], impact=e, classes=("a", "b", "c"))
    c = compare_runs(run, run)
    assert math.isnan(figure(c, "impact", "pearson_offdiag", step=0))
    assert math.isnan(figure(c, "impact", "pearson_offdiag_mean"))


# --------------------------------------------------------------------------------------
# elasticity curve
# --------------------------------------------------------------------------------------

LCA3 = np.array([[2, 1, 0], [1, 2, 0], [0, 0, 1]])


def test_elasticity_curve_relative_error_by_hand():
    e = np.array([[[3.0, 2.0, 0.5], [2.0, 3.0, 0.5], [0.5, 0.5, 4.0]]] * 2)
    e[1] *= 2.0
    classes = ("tiger", "cat", "car")
    ref = make_run([0, 5], impact=e, classes=classes, lca=LCA3)
    sim = make_run([0, 5], impact=1.1 * e, classes=classes, lca=LCA3)
    c = compare_runs(ref, sim)
    f = c.figures
    rel = f[(f.quantity == "elasticity_curve") & (f.statistic == "relative_error")]
    # groups: different depth 0 and 1, same class at depth 1 and 2; two steps
    assert rel.shape[0] == 8
    np.testing.assert_allclose(rel["value"], 0.1)
    assert set(zip(rel["class"], rel["coordinate"], strict=True)) == {
        ("different", 0.0),
        ("different", 1.0),
        ("same", 1.0),
        ("same", 2.0),
    }
    assert figure(c, "elasticity_curve", "mean_abs_relative_error") == pytest.approx(
        0.1
    )
    assert figure(
        c, "elasticity_curve", "mean_abs_relative_error", cls="same", coordinate=2.0
    ) == pytest.approx(0.1)
    assert figure(c, "elasticity_curve", "spearman_depth", step=5) == pytest.approx(1.0)

    # reversing the curve's order gives Spearman -1
    reversed_e = np.array([[[1.0, 2.0, 4.0], [2.0, 1.0, 4.0], [4.0, 4.0, 3.0]]] * 2)
    sim_rev = make_run([0, 5], impact=reversed_e, classes=classes, lca=LCA3)
    c_rev = compare_runs(ref, sim_rev)
    # ref groups (d0, d1, s1, s2) = (0.5, 2, 4, 3); sim = (4, 2, 3, 1)
    expected = stats.spearmanr([0.5, 2, 4, 3], [4, 2, 3, 1]).statistic
    assert figure(c_rev, "elasticity_curve", "spearman_depth", step=0) == (
        pytest.approx(expected)
    )


def test_hierarchy_recomputes_curves_from_impact(mlp_run, hfs_run):
    h = simnet.Hierarchy.preset("tiger_cat_car")
    flat_mlp = train_mlp(
        MLP(input_dim=2, hidden=(4,), n_outputs=3),
        np.random.default_rng(1).normal(size=(9, 2)),
        np.repeat([0, 1, 2], 3),
        steps=20,
        lr=0.1,
        record=10,
        seed=0,
        class_names=h.classes,
        observe=["impact", "class_means"],
        ntk_samples=9,
    )
    with pytest.raises(DataError, match=r"different keys.*Pass hierarchy="):
        compare_runs(flat_mlp, hfs_run)
    c = compare_runs(flat_mlp, hfs_run, hierarchy=h)
    groups = c.aligned[0].series["elasticity_curve"].keys
    expected = compare_runs(hfs_run, hfs_run).aligned[0].series["elasticity_curve"]
    assert groups == expected.keys
    # recomputing a run's own curve from its impact table gives its table
    same = compare_runs(hfs_run, hfs_run, hierarchy=h).aligned[0].series
    np.testing.assert_allclose(
        same["elasticity_curve"].reference, expected.reference, rtol=1e-12
    )
    with pytest.raises(ConfigError, match="'hierarchy' parameter of compare_runs"):
        compare_runs(hfs_run, hfs_run, hierarchy=simnet.Hierarchy.preset("binary_3"))


# --------------------------------------------------------------------------------------
# separation onset
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("margin", "expected"),
    [
        ([-1.0, 1.0, 3.0], 5.0),  # crosses between 0 and 10 at 1/2
        ([-3.0, 1.0, 3.0], 7.5),
        ([1.0, 2.0, 3.0], 0.0),  # positive throughout: the first time
        ([1.0, -1.0, 3.0], 12.5),  # dips: the last crossing counts
        ([-1.0, 0.0, 2.0], 10.0),  # zero is not positive
        ([-1.0, 1.0, -1.0], math.nan),  # not positive at the end
    ],
)
def test_separation_onset_by_hand(margin, expected):
    steps = [0, 10, 20]
    run = make_run(steps, diagonal_means(np.array(margin)))
    c = compare_runs(run, run)
    got = figure(c, "separation_onset", "reference")
    if math.isnan(expected):
        assert math.isnan(got) and math.isnan(
            figure(c, "separation_onset", "difference")
        )
    else:
        assert got == pytest.approx(expected)


def test_separation_onset_difference_and_segment():
    steps = [0, 10, 20, 30]
    ref = make_run(steps, diagonal_means(np.array([-1.0, 1.0, 3.0, 5.0])))
    sim = make_run(steps, diagonal_means(np.array([-3.0, -1.0, 1.0, 5.0])))
    c = compare_runs(ref, sim)
    assert figure(c, "separation_onset", "reference") == pytest.approx(5.0)
    assert figure(c, "separation_onset", "simulated") == pytest.approx(15.0)
    assert figure(c, "separation_onset", "difference") == pytest.approx(10.0)
    # restricted to [0, 10]: the simulated margin is never positive
    early = compare_runs(ref, sim, segment=(0, 10))
    assert math.isnan(figure(early, "separation_onset", "simulated"))


def test_onset_is_skipped_without_one_logit_per_class():
    means = np.zeros((2, 2, 1))
    means[:, 0, 0], means[:, 1, 0] = [0.0, 1.0], [1.0, 2.0]
    run = make_run([0, 1], means)
    c = compare_runs(run, run)
    assert "separation_onset" not in set(c.figures.quantity)
    assert any("separation_onset skipped" in n for n in c.notes)


# --------------------------------------------------------------------------------------
# alignment and segments
# --------------------------------------------------------------------------------------


def linear_means(steps) -> np.ndarray:
    t = np.asarray(steps, dtype=float)[:, None, None]
    base = np.array([[1.0, -2.0], [0.5, 3.0]])
    slope = np.array([[0.1, -0.03], [0.2, 0.05]])
    return base + slope * t


def test_interpolation_onto_reference_steps_is_exact_for_linear_trajectories():
    ref_steps = [0, 3, 7, 12, 18, 25, 31]
    sim_steps = [0, 10, 20, 25]  # ends before the reference's last step
    ref = make_run(ref_steps, linear_means(ref_steps))
    sim = make_run(sim_steps, linear_means(sim_steps) + 0.0)
    c = compare_runs(ref, sim)
    aligned = c.aligned[0].series["class_means"]
    np.testing.assert_array_equal(aligned.steps, [0, 3, 7, 12, 18, 25])
    assert c.notes[0] == (
        "segment 'all': class_means: 1 reference record(s) outside the simulated "
        "runs' steps 0 to 25 were left out."
    )
    np.testing.assert_allclose(aligned.replicas[0], aligned.reference, rtol=1e-13)
    r2 = c.figures[
        (c.figures.quantity == "class_means") & (c.figures.statistic == "r2")
    ]
    np.testing.assert_allclose(r2["value"], 1.0, rtol=1e-12)
    # a nonlinear simulated trajectory is interpolated linearly between records
    sim_sq = make_run([0, 10], np.stack([np.zeros((2, 2)), np.full((2, 2), 100.0)]))
    got = compare_runs(ref, sim_sq).aligned[0].series["class_means"].replicas[0]
    np.testing.assert_allclose(got[:, 0], [0.0, 30.0, 70.0])


def test_steps_that_do_not_overlap_raise():
    ref = make_run([0, 10, 20], linear_means([0, 10, 20]))
    sim = make_run([100, 200], linear_means([100, 200]))
    with pytest.raises(DataError, match=r"record steps 100 to 200.*do not overlap"):
        compare_runs(ref, sim)


def test_segment_restricts_every_figure():
    steps = list(range(0, 55, 5))
    rng = np.random.default_rng(2)
    means = rng.normal(size=(len(steps), 2, 2))
    e = rng.normal(size=(len(steps), 2, 2))
    metrics = {"loss": rng.random(len(steps)), "accuracy": rng.random(len(steps))}
    ref = make_run(steps, means, e, metrics)
    sim_means = means + rng.normal(scale=0.3, size=means.shape)
    sim = make_run(steps, sim_means, e * 1.5, metrics)

    c = compare_runs(ref, sim, segment=(12.0, 40.0), segment_name="held_out")
    assert set(c.figures["segment"]) == {"held_out"}
    for s in c.aligned[0].series.values():
        np.testing.assert_array_equal(s.steps, [15, 20, 25, 30, 35, 40])
    stepped = c.figures["step"].dropna()
    assert stepped.min() == 15 and stepped.max() == 40

    # the same as comparing the reference cut to those records by hand
    keep = slice(3, 9)
    cut = make_run(
        steps[keep], means[keep], e[keep], {n: v[keep] for n, v in metrics.items()}
    )
    by_hand = compare_runs(cut, sim, segment_name="held_out")
    pd.testing.assert_frame_equal(c.figures, by_hand.figures)
    assert c.aligned[0].bounds == (12.0, 40.0)


def test_segment_uses_reference_time():
    steps = [0, 1, 2, 3]
    ref = make_run(steps, linear_means(steps), times=[0.0, 0.5, 1.0, 1.5])
    c = compare_runs(ref, ref, segment=(0.4, 1.0))
    np.testing.assert_array_equal(c.aligned[0].series["class_means"].steps, [1, 2])
    with pytest.raises(DataError, match=r"No record time .* segment 'all' \[5, 6\]"):
        compare_runs(ref, ref, segment=(5, 6))


# --------------------------------------------------------------------------------------
# replicas
# --------------------------------------------------------------------------------------


def test_replicas_give_mean_and_band():
    steps = [0, 10, 20]
    means = linear_means(steps)
    ref = make_run(steps, means)
    up, down = make_run(steps, means + 1.0), make_run(steps, means - 1.0)
    c = compare_runs(ref, [up, down])
    s = c.aligned[0].series["class_means"]
    assert s.n_replicas == 2 and c.aligned[0].n_replicas == 2
    np.testing.assert_allclose(s.mean, s.reference)
    np.testing.assert_allclose(s.std, math.sqrt(2.0))
    assert figure(c, "class_means", "r2_pooled") == pytest.approx(1.0)
    single = compare_runs(ref, up).aligned[0].series["class_means"]
    np.testing.assert_array_equal(single.std, 0.0)

    # the same replicas as one run with a 'replica' column
    tables = {
        name: pd.concat(
            [up.tables[name].assign(replica=0), down.tables[name].assign(replica=1)],
            ignore_index=True,
        )
        for name in up.tables
    }
    ensemble = RunResult(tables=tables)
    c2 = compare_runs(ref, ensemble)
    assert c2.aligned[0].n_replicas == 2
    pd.testing.assert_frame_equal(c.figures, c2.figures)
    # an ensemble plus a plain run: three replicas
    assert compare_runs(ref, [ensemble, ref]).aligned[0].n_replicas == 3


def test_replica_errors():
    steps = [0, 10]
    run = make_run(steps, linear_means(steps), metrics={"loss": np.ones(2)})
    doubled = {
        n: pd.concat([t.assign(replica=0), t.assign(replica=1)])
        for n, t in run.tables.items()
    }
    with pytest.raises(DataError, match="reference run's 'class_means' table holds 2"):
        compare_runs(RunResult(tables=doubled), run)
    mixed = dict(doubled)
    mixed["metrics"] = run.tables["metrics"].assign(replica=5)
    with pytest.raises(DataError, match=r"'replica' columns .* different replicas"):
        compare_runs(run, RunResult(tables=mixed))
    # without a replica column, duplicated rows are an error naming the table
    dup = {n: pd.concat([t, t]) for n, t in run.tables.items()}
    with pytest.raises(DataError, match="'class_means' table of simulated run 0 has 2"):
        compare_runs(run, RunResult(tables=dup))


# --------------------------------------------------------------------------------------
# classes, coordinates, real runs
# --------------------------------------------------------------------------------------


def test_simulated_class_order_is_matched_by_name():
    steps = [0, 1, 2]
    rng = np.random.default_rng(3)
    means = rng.normal(size=(3, 3, 3))
    e = rng.normal(size=(3, 3, 3))
    classes = ("x", "y", "z")
    ref = make_run(steps, means, e, classes=classes)
    perm = [2, 0, 1]
    permuted = make_run(
        steps,
        means[:, perm][:, :, perm],
        e[:, perm][:, :, perm],
        classes=tuple(classes[i] for i in perm),
    )
    c = compare_runs(ref, permuted)
    assert figure(c, "class_means", "r2_pooled") == 1.0
    assert figure(c, "impact", "pearson_all_mean") == pytest.approx(1.0)
    reference = figure(c, "separation_onset", "reference")
    assert figure(c, "separation_onset", "simulated") == pytest.approx(
        reference, nan_ok=True
    )


def test_network_against_simulator_end_to_end(mlp_run, hfs_run, ode_run):
    c = compare_runs(mlp_run, [hfs_run, ode_run], segment=(0, 40), segment_name="fit")
    f = c.figures
    assert f.dtypes["value"] == np.float64 and f.dtypes["step"] == np.float64
    assert (f["segment"] == "fit").all()
    headline = c.summary()
    assert list(headline.columns) == ["quantity", "statistic", "fit"]
    assert headline.shape[0] == len(
        headline[["quantity", "statistic"]].drop_duplicates()
    )
    # the ODE run records every 5 steps: interpolated onto the MLP's 0, 10, .. 40
    s = c.aligned[0].series["class_means"]
    np.testing.assert_array_equal(s.steps, [0, 10, 20, 30, 40])
    assert s.replicas.shape == (2, 5, 9)
    assert np.isfinite(figure(c, "class_means", "r2_pooled"))


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_run() -> RunResult:
    steps = [0, 10, 20]
    return make_run(steps, linear_means(steps), metrics={"loss": np.ones(3)})


def test_argument_errors(small_run):
    with pytest.raises(ConfigError, match="'reference' parameter of compare_runs"):
        compare_runs(small_run.tables, small_run)
    with pytest.raises(ConfigError, match="'simulated' parameter of compare_runs"):
        compare_runs(small_run, [])
    with pytest.raises(ConfigError, match="'simulated' parameter of compare_runs"):
        compare_runs(small_run, [small_run, "run"])
    for bad in [(3, 1), (0,), "ab", (0, math.inf), (0, "1")]:
        with pytest.raises(ConfigError, match="'segment' parameter of compare_runs"):
            compare_runs(small_run, small_run, segment=bad)
    with pytest.raises(ConfigError, match="'segment_name' parameter"):
        compare_runs(small_run, small_run, segment_name="")
    for bad in (0.0, 1.5, "x"):
        with pytest.raises(ConfigError, match="'late_fraction' parameter"):
            compare_runs(small_run, small_run, late_fraction=bad)
    with pytest.raises(ConfigError, match="'hierarchy' parameter"):
        compare_runs(small_run, small_run, hierarchy="tree")


def test_data_errors_name_the_table_and_column(small_run):
    tables = dict(small_run.tables)
    tables["class_means"] = tables["class_means"].drop(columns="coordinate")
    with pytest.raises(
        DataError, match=r"'class_means' table of simulated run 0 lacks .*'coordinate'"
    ):
        compare_runs(small_run, RunResult(tables=tables))
    tables = dict(small_run.tables)
    tables["metrics"] = tables["metrics"].rename(columns={"value": "v"})
    with pytest.raises(DataError, match=r"'metrics' table of the reference lacks"):
        compare_runs(RunResult(tables=tables), small_run)
    other = make_run([0, 10], linear_means([0, 10]), classes=("a", "c"))
    with pytest.raises(DataError, match=r"different classes.*\['b'\].*\['c'\]"):
        compare_runs(small_run, other)
    missing_row = dict(small_run.tables)
    missing_row["class_means"] = missing_row["class_means"].iloc[1:]
    with pytest.raises(DataError, match="no row for"):
        compare_runs(small_run, RunResult(tables=missing_row))
    with pytest.raises(DataError, match="have no 'impact' table"):
        compare_runs(
            small_run, small_run, hierarchy=simnet.Hierarchy.preset("binary_3")
        )
    # replicas must record the same tables
    partial = RunResult(tables={"class_means": small_run.tables["class_means"]})
    with pytest.raises(DataError, match="Some simulated runs have a 'metrics' table"):
        compare_runs(small_run, [small_run, partial])


def test_nothing_to_compare_is_an_error(small_run):
    other = RunResult(tables={"similarity": pd.DataFrame({"step": [0]})})
    with pytest.raises(DataError, match=r"Nothing to compare.*'class_means'"):
        compare_runs(small_run, other)


def test_missing_tables_are_skipped_with_a_note(small_run):
    partial = RunResult(tables={"class_means": small_run.tables["class_means"]})
    c = compare_runs(small_run, partial)
    assert set(c.figures.quantity) == {"class_means", "separation_onset"}
    assert any("metrics skipped: the simulated runs have no" in n for n in c.notes)
    assert "metrics skipped" in c.to_markdown()


# --------------------------------------------------------------------------------------
# summary, Markdown, concat
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fit_and_held_out() -> tuple[Comparison, Comparison]:
    steps = list(range(0, 45, 5))
    rng = np.random.default_rng(4)
    means = np.cumsum(rng.normal(size=(len(steps), 3, 3)), axis=0)
    e = np.abs(rng.normal(size=(len(steps), 3, 3)))
    metrics = {"loss": np.linspace(2, 0.1, len(steps)), "accuracy": rng.random(9)}
    ref = make_run(steps, means, e, metrics, classes=("p", "q", "r"), lca=LCA3)
    sims = [
        make_run(
            steps,
            means + rng.normal(scale=0.5, size=means.shape),
            e * rng.uniform(0.5, 1.5, size=e.shape),
            metrics,
            classes=("p", "q", "r"),
            lca=LCA3,
        )
        for _ in range(3)
    ]
    fit = compare_runs(ref, sims, segment=(0, 20), segment_name="fit")
    held = compare_runs(ref, sims, segment=(25, 40), segment_name="held_out")
    return fit, held


def test_summary_holds_the_aggregate_rows(fit_and_held_out):
    fit, held = fit_and_held_out
    joined = Comparison.concat([fit, held])
    summary = joined.summary()
    assert list(summary.columns) == ["quantity", "statistic", "fit", "held_out"]
    row = summary[
        (summary.quantity == "class_means") & (summary.statistic == "r2_pooled")
    ]
    assert row["fit"].item() == figure(fit, "class_means", "r2_pooled")
    assert row["held_out"].item() == figure(held, "class_means", "r2_pooled")
    assert "relative_error" not in set(summary.statistic)
    assert joined.boundaries() == [25.0]
    assert joined.segments == ["fit", "held_out"]
    joined_series = joined.series("class_means")
    np.testing.assert_array_equal(
        joined_series.steps, [0, 5, 10, 15, 20, 25, 30, 35, 40]
    )
    # class_r2: one row per segment and class, coordinates as columns
    table = joined.class_r2()
    assert list(table.columns) == ["segment", "class", "0", "1", "2", "mean"]
    assert table.shape[0] == 6
    first = table.iloc[0]
    assert first["1"] == figure(fit, "class_means", "r2", cls="p", coordinate=1)


def test_markdown_report_content(fit_and_held_out):
    fit, held = fit_and_held_out
    md = Comparison.concat([fit, held]).to_markdown()
    assert md.startswith("# Simulator vs network agreement\n")
    head = md.index("## Headline figures")
    per_class = md.index("## Class-mean logit R² by class and coordinate")
    assert head < per_class
    assert "| quantity | statistic | fit | held_out |" in md
    fit_value = _format_number(figure(fit, "impact", "spearman_offdiag_late"))
    held_value = _format_number(figure(held, "impact", "spearman_offdiag_late"))
    row = f"| impact | spearman_offdiag_late | {fit_value} | {held_value} |"
    assert row in md
    r2 = _format_number(figure(fit, "class_means", "r2", cls="q", coordinate=0))
    assert f"| fit | q | {r2} |" in md
    assert "3 simulated replica(s)" in md


def test_concat_with_models_and_errors(fit_and_held_out):
    fit, held = fit_and_held_out
    both = Comparison.concat({"hfs": Comparison.concat([fit, held]), "lesde": fit})
    assert list(both.figures.columns) == ["model", *FIGURE_COLUMNS]
    assert both.models == ["hfs", "lesde"]
    summary = both.summary()
    assert list(summary.columns[:3]) == ["model", "quantity", "statistic"]
    assert math.isnan(
        summary[(summary.model == "lesde") & (summary.statistic == "r2_pooled")][
            "held_out"
        ].item()
    )
    with pytest.raises(ConfigError, match=r"'model' parameter of Comparison\.parts"):
        both.series("class_means")
    assert both.series("class_means", model="lesde").steps[-1] == 20
    with pytest.raises(ConfigError, match="holds segment 'fit' twice"):
        Comparison.concat([fit, fit])
    with pytest.raises(ConfigError, match="already names its models"):
        Comparison.concat({"x": both})
    with pytest.raises(ConfigError, match="empty"):
        Comparison.concat([])
    with pytest.raises(ConfigError, match="must hold Comparison"):
        Comparison.concat([fit, "held"])


# --------------------------------------------------------------------------------------
# report files
# --------------------------------------------------------------------------------------


def test_report_files_round_trip(fit_and_held_out, tmp_path):
    fit, held = fit_and_held_out
    joined = Comparison.concat({"hfs": Comparison.concat([fit, held]), "ode": fit})
    paths = write_comparison_report(joined, tmp_path / "report", figures=False)
    assert [p.name for p in paths] == ["agreement.csv", "agreement.md"]
    back = read_comparison_figures(paths[0])
    pd.testing.assert_frame_equal(back, joined.figures)
    plain = pd.read_csv(paths[0])
    assert plain.shape == joined.figures.shape
    md = paths[1].read_text(encoding="utf-8")
    assert md == joined.to_markdown()
    for stat in ("r2_pooled", "spearman_depth_late"):
        quantity = "class_means" if stat == "r2_pooled" else "elasticity_curve"
        assert _format_number(figure(held, quantity, stat)) in md
    assert not list((tmp_path / "report").glob("*.tmp"))


def test_report_with_figures(fit_and_held_out, tmp_path):
    pytest.importorskip("matplotlib")
    fit, held = fit_and_held_out
    paths = write_comparison_report([fit, held], tmp_path)
    names = [p.name for p in paths]
    assert names == [
        "agreement.csv",
        "agreement.md",
        "trajectories.png",
        "impact.png",
        "elasticity_curves.png",
    ]
    for p in paths[2:]:
        assert p.read_bytes()[:8] == PNG_SIGNATURE
    md = paths[1].read_text(encoding="utf-8")
    assert "![class-mean logit trajectories](trajectories.png)" in md
    named = write_comparison_report({"a b": fit}, tmp_path / "named")
    assert "trajectories_a_b.png" in [p.name for p in named]


def test_report_without_matplotlib(fit_and_held_out, tmp_path, monkeypatch):
    fit, _ = fit_and_held_out
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    paths = write_comparison_report(fit, tmp_path)
    assert [p.name for p in paths] == ["agreement.csv", "agreement.md"]
    assert "matplotlib is not installed" in paths[1].read_text(encoding="utf-8")


def test_report_argument_errors(fit_and_held_out, tmp_path):
    fit, _ = fit_and_held_out
    with pytest.raises(ConfigError, match="'comparisons' parameter"):
        write_comparison_report("fit", tmp_path)
    with pytest.raises(ConfigError, match="'figures' parameter"):
        write_comparison_report(fit, tmp_path, figures="yes")
    with pytest.raises(DataError, match="is missing"):
        read_comparison_figures(tmp_path / "nothing.csv")
