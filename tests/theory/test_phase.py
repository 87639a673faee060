"""Phase transition of the LE-SDE at alpha = beta (dossier 2.1-2.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simnet import Hierarchy
from simnet.errors import ConfigError
from simnet.theory import phase

SMALL = {"n_per_class": 15, "seeds": 6}


def test_separable_with_probability_to_one_as_steps_grow():
    """alpha > beta by a margin (0.3): P(separable) is non-decreasing in the number
    of steps and reaches 1."""
    p = [
        phase.phase_diagram([1.0], [0.7], steps=steps, **SMALL)["separable"].mean()
        for steps in (10, 40, 300)
    ]
    assert p[0] < 1.0
    assert p[0] <= p[1] <= p[2] == 1.0, p


def test_not_separable_when_beta_exceeds_alpha():
    """alpha < beta: never separable; the classes go to the anti-aligned ETF (every
    particle misclassified) although the LP still separates them."""
    df = phase.phase_diagram([1.0], [1.3, 1.6], steps=300, **SMALL)
    assert not df["separable"].any()
    assert df["accuracy"].max() < 0.05
    lp = phase.phase_diagram([1.0], [1.6], steps=300, criterion="lp", **SMALL)
    assert lp["separable"].all()


def test_transition_is_sharp_across_alpha_equals_beta():
    """In a sweep across alpha = beta, P(separable) jumps from 0 (delta <= 0) to 1
    (delta >= 0.2) and the fitted 10-90 % width is below 0.2 (rates of order 1)."""
    betas = np.linspace(0.6, 1.4, 9)
    df = phase.phase_diagram([1.0], betas, steps=300, **SMALL)
    summary = phase.phase_summary(df)
    cells = summary.cells.set_index("beta")["p_separable"]
    assert (cells[betas[betas >= 1.0 - 1e-9]] == 0).all()
    assert (cells[betas[betas <= 0.8 + 1e-9]] == 1).all()
    assert 0.0 < summary.center < 0.2
    assert summary.width < 0.2
    assert summary.width_bound <= 0.2 + 1e-9
    # NC1 peaks at the transition (chance-level overlap), small on both sides
    nc1 = summary.cells.set_index("beta")["nc1"]
    assert nc1.idxmax() == pytest.approx(1.0)


def test_hierarchy_phase_diagram_boundary_at_leaf_equals_shared():
    """Hierarchical analogue: with E_kk = leaf rate and sibling impact = shared rate
    on a balanced tree, leaf > shared separates and leaf < shared does not."""
    h = Hierarchy.balanced([2, 2])
    df = phase.hierarchy_phase_diagram(
        h, [1.0], [0.5, 1.5], steps=300, n_per_class=10, seeds=3
    )
    got = df.groupby("shared_rate")["separable"].mean()
    assert got[0.5] == 1.0 and got[1.5] == 0.0
    assert phase.hierarchy_rates(h, 1.0, 0.5) == [0.25, 0.25, 0.5]


@given(scale=st.floats(0.02, 0.3), center=st.floats(-0.2, 0.2))
def test_logistic_width_estimator_recovers_known_width(scale, center):
    """phase_summary's MLE logistic fit recovers a known transition width
    (2 ln 9 * scale) from synthetic Bernoulli runs within 25 %."""
    rng = np.random.default_rng(0)
    delta = np.repeat(np.linspace(-1.0, 1.0, 41), 60)
    p = 1.0 / (1.0 + np.exp(-(delta - center) / scale))
    df = pd.DataFrame(
        {
            "alpha": 1.0 + delta,
            "beta": 1.0,
            "seed": 0,
            "separable": rng.random(p.size) < p,
            "accuracy": p,
            "nc1": 0.0,
            "etf_distance": 0.0,
        }
    )
    s = phase.phase_summary(df)
    assert s.width == pytest.approx(2 * np.log(9) * scale, rel=0.25)
    assert s.center == pytest.approx(center, abs=0.05)


def test_relabelling_classes_leaves_phase_results_unchanged():
    """The two-parameter E is invariant under relabelling, so the phase diagram of a
    relabelled hierarchy (classes in another order) gives the same numbers."""
    a = phase.hierarchy_phase_diagram(
        Hierarchy.from_nested({"root": {"p": ["x", "y"], "q": ["z", "w"]}}),
        [1.0],
        [0.6],
        steps=100,
        n_per_class=8,
        seeds=2,
    )
    b = phase.hierarchy_phase_diagram(
        Hierarchy.from_nested({"root": {"q": ["z", "w"], "p": ["x", "y"]}}),
        [1.0],
        [0.6],
        steps=100,
        n_per_class=8,
        seeds=2,
    )
    cols = ["accuracy", "separable", "lp_separable"]
    pd.testing.assert_frame_equal(a[cols], b[cols])
    np.testing.assert_allclose(a["nc1"], b["nc1"], rtol=1e-8)


def test_errors():
    """Bad arguments raise ConfigError naming the parameter."""
    with pytest.raises(ConfigError, match="'integrator' parameter of phase_diagram"):
        phase.phase_diagram([1.0], [0.0], integrator="ode")
    with pytest.raises(ConfigError, match="'alphas' parameter of phase_diagram"):
        phase.phase_diagram([], [0.0])
    with pytest.raises(ConfigError, match="'criterion' parameter"):
        phase.phase_diagram([1.0], [0.0], criterion="bogus")
    with pytest.raises(ConfigError, match="'hierarchy' parameter of hierarchy_rates"):
        phase.hierarchy_phase_diagram(Hierarchy.preset("tiger_cat_car"), [1.0], [0.0])
    with pytest.raises(ConfigError, match="'separable' column"):
        phase.phase_summary(pd.DataFrame({"alpha": [1.0], "beta": [0.0]}))


def test_phase_diagram_experiment_quick_mode(tmp_path):
    """simnet reproduce phase-diagram --quick: every off-diagonal cell of the grid is
    on the predicted side of alpha = beta, the measured transition is narrower than
    0.2 in delta, and the CSV, PNG and summary are written."""
    from simnet.reproduce import phase_diagram as module

    results = module.run(tmp_path, quick=True, seed=0)
    assert results["grid"]["agreement"] == 1.0
    assert results["hierarchy"]["agreement"] == 1.0
    assert results["sweep"][300]["width"] < 0.2
    assert 0.0 < results["sweep"][300]["center"] < 0.2
    grid = pd.read_csv(tmp_path / "grid.csv")
    assert len(grid) == 7 * 7 * 4
    assert "transition width" in (tmp_path / "summary.md").read_text()
    png = tmp_path / "figures" / "phase_diagram.png"
    assert not png.exists() or png.stat().st_size > 0
