"""Tests of simnet.theory.stability: exact leave-one-out, retraining, bounds.

Each test states in its docstring the claim it checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from simnet import HFSModel, Hierarchy, simulate
from simnet.errors import ConfigError, DataError
from simnet.models import ImpactMatrix, LESDEModel
from simnet.models._common import Sampling
from simnet.models.hfs import HFSState
from simnet.networks import MLP
from simnet.theory.stability import (
    Sensitivities,
    _coupled_streams,
    compare_bounds,
    kernel_matrix,
    kernel_ridge_loo_sensitivities,
    locally_elastic_bound,
    mlp_loo_sensitivities,
    ridge_loo_sensitivities,
    rkhs_stability_constants,
    simulator_loo_sensitivities,
    uniform_stability_bound,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def problems(draw):
    """A small random regression problem with an optional separate evaluation set."""
    rng = np.random.default_rng(draw(seeds))
    n = draw(st.integers(3, 12))
    d = draw(st.integers(1, 4))
    q = draw(st.integers(1, 2))
    lam = draw(st.floats(1e-3, 10.0))
    X = rng.normal(size=(n, d)) * draw(st.floats(0.1, 3.0))
    y = rng.normal(size=(n, q))
    if draw(st.booleans()):
        m = draw(st.integers(1, 6))
        return X, y, lam, rng.normal(size=(m, d)), rng.normal(size=(m, q))
    return X, y, lam, None, None


# ------------------------------------------------------------------ naive twins
def _refit_predict(fit, X, y, Xe, lam_n, i=None):
    keep = np.ones(X.shape[0], dtype=bool)
    if i is not None:
        keep[i] = False
    return fit(X[keep], y[keep], Xe, lam_n)


def _ridge_fit(X, y, Xe, lam_n):
    w = np.linalg.solve(X.T @ X + lam_n * np.eye(X.shape[1]), X.T @ y)
    return Xe @ w


def _brute_force(fit, X, y, lam, Xe, ye):
    """Sensitivities by n + 1 explicit refits (normalisation n kept)."""
    Xe = X if Xe is None else Xe
    ye = y if ye is None else ye
    n = X.shape[0]
    full = np.sum((ye - _refit_predict(fit, X, y, Xe, lam * n)) ** 2, axis=1)
    out = np.empty((n, Xe.shape[0]))
    for i in range(n):
        loo = np.sum((ye - _refit_predict(fit, X, y, Xe, lam * n, i)) ** 2, axis=1)
        out[i] = np.abs(full - loo)
    return out


def _kernel_fit(kernel, gamma):
    def fit(X, y, Xe, lam_n):
        K = kernel_matrix(X, kernel=kernel, gamma=gamma)
        alpha = np.linalg.solve(K + lam_n * np.eye(X.shape[0]), y)
        return kernel_matrix(Xe, X, kernel=kernel, gamma=gamma) @ alpha

    return fit


# ------------------------------------------------------------------ exact LOO
@given(problems())
def test_ridge_exact_loo_equals_refit(problem):
    """Claim: the Sherman-Morrison downdate gives, for every removed point and every
    evaluation point, the same squared-loss change as refitting ridge without the
    point (to 1e-8)."""
    X, y, lam, Xe, ye = problem
    sens = ridge_loo_sensitivities(X, y, lam=lam, X_eval=Xe, y_eval=ye)
    assert_allclose(
        sens.values, _brute_force(_ridge_fit, X, y, lam, Xe, ye), atol=1e-8, rtol=1e-8
    )


@given(
    problems(), st.sampled_from(["linear", "rbf", "polynomial"]), st.floats(0.05, 2.0)
)
def test_kernel_ridge_exact_loo_equals_refit(problem, kernel, gamma):
    """Claim: the block-inverse downdate of (K + lam n I)^-1 gives the same
    squared-loss changes as refitting kernel ridge without each point (1e-8)."""
    X, y, lam, Xe, ye = problem
    sens = kernel_ridge_loo_sensitivities(
        X, y, lam=lam, X_eval=Xe, y_eval=ye, kernel=kernel, gamma=gamma
    )
    expect = _brute_force(_kernel_fit(kernel, gamma), X, y, lam, Xe, ye)
    assert_allclose(sens.values, expect, atol=1e-8, rtol=1e-8)


@given(problems())
def test_linear_kernel_ridge_equals_ridge(problem):
    """Claim: kernel ridge with the linear kernel is ridge regression, so the two
    exact leave-one-out paths (primal Sherman-Morrison, dual block inverse) agree."""
    X, y, lam, Xe, ye = problem
    a = ridge_loo_sensitivities(X, y, lam=lam, X_eval=Xe, y_eval=ye)
    b = kernel_ridge_loo_sensitivities(
        X, y, lam=lam, X_eval=Xe, y_eval=ye, kernel="linear"
    )
    assert_allclose(a.values, b.values, atol=1e-9)
    assert_allclose(a.loss_full, b.loss_full, atol=1e-9)
    assert a.train_loss == pytest.approx(b.train_loss, abs=1e-9)


def test_removed_subset_selects_rows():
    """Claim: removing a subset of points returns exactly those rows of the full
    n x m matrix."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(15, 3)), rng.normal(size=15)
    full = kernel_ridge_loo_sensitivities(X, y, lam=0.1)
    part = kernel_ridge_loo_sensitivities(X, y, lam=0.1, removed_idx=[4, 2])
    assert_allclose(part.values, full.values[[4, 2]])
    assert part.removed_eval_idx.tolist() == [4, 2]


# ------------------------------------------------------- LES <= uniform, estimators
@given(problems(), st.sampled_from(["linear", "rbf"]))
def test_local_sensitivities_below_uniform_constants(problem, kernel):
    """Claim: pointwise, exact sensitivity <= the analytic locally elastic bound
    sigma^2 sqrt(k(x_i,x_i) k(x,x)) / (2 lam n) <= the analytic uniform constant
    sigma^2 kappa^2 / (2 lam n) (Bousquet & Elisseeff Thm 22 and its LES form); and
    the empirical estimators are consistent: LES constant <= uniform constant, and
    every entry and every class-mean cell is <= the uniform constant."""
    X, y, lam, Xe, ye = problem
    kw = dict(lam=lam, X_eval=Xe, y_eval=ye, kernel=kernel)
    sens = kernel_ridge_loo_sensitivities(X, y, **kw)
    theory = rkhs_stability_constants(X, y, **kw)
    tol = 1e-10 * (1 + theory.uniform)
    assert np.all(sens.values <= theory.local + tol)
    assert np.all(theory.local <= theory.uniform + tol)
    assert sens.les_constant() <= sens.uniform_constant()
    assert sens.improvement_ratio() >= 1.0
    assert np.all(sens.values <= sens.uniform_constant())
    labels = np.arange(X.shape[0]) % 2
    elab = labels if Xe is None else np.arange(Xe.shape[0]) % 2
    sens = kernel_ridge_loo_sensitivities(X, y, labels=labels, eval_labels=elab, **kw)
    cells = sens.class_matrix(2)
    assert np.all(cells[np.isfinite(cells)] <= sens.uniform_constant() + 1e-15)
    assert np.all(sens.loss_full <= theory.loss_bound + tol)


def test_by_relation_known_answer():
    """Claim: by_relation averages, per removed point, over evaluation points of the
    same class (excluding the point itself) and of classes at each LCA depth, and
    the ratio is same_class / distant."""
    h = Hierarchy.from_nested({"r": {"a": ["x", "y"], "b": ["z"]}})
    values = np.array([[9.0, 4.0, 2.0, 1.0], [4.0, 9.0, 2.0, 1.0]])
    sens = Sensitivities(
        values=values,
        removed_idx=np.array([0, 1]),
        removed_labels=np.array([0, 0]),
        eval_labels=np.array([0, 0, 1, 2]),
        removed_eval_idx=np.array([0, 1]),
        loss_full=np.zeros(4),
        train_loss=0.0,
        n_train=4,
        method="exact",
    )
    rel = sens.by_relation(h)
    assert rel["same_class"] == 4.0
    assert rel["lca_depth_1"] == 2.0
    assert rel["distant"] == 1.0
    assert rel["ratio"] == 4.0
    assert sens.class_matrix(3)[0].tolist() == [4.0, 2.0, 1.0]


# ------------------------------------------------------------------- 1/n rate
def test_ridge_sensitivity_rate_is_one_over_n():
    """Claim: for ridge with fixed lam on a fixed distribution, the sensitivities
    shrink like 1/n (Bousquet & Elisseeff: beta_n = O(1/(lam n))): the log-log slope
    of the mean and of the LES estimate against n is -1 (within 0.15)."""
    rng = np.random.default_rng(0)
    ns = np.array([50, 100, 200, 400, 800, 1600])
    w = rng.normal(size=3)
    Xe = rng.normal(size=(200, 3))
    ye = Xe @ w + 0.3 * rng.normal(size=200)
    means, les = [], []
    for n in ns:
        m_runs, l_runs = [], []
        for _ in range(5):
            X = rng.normal(size=(n, 3))
            y = X @ w + 0.3 * rng.normal(size=n)
            s = ridge_loo_sensitivities(X, y, lam=0.1, X_eval=Xe, y_eval=ye)
            m_runs.append(s.values.mean())
            l_runs.append(s.les_constant())
        means.append(np.mean(m_runs))
        les.append(np.mean(l_runs))
    for series in (means, les):
        slope = np.polyfit(np.log(ns), np.log(series), 1)[0]
        assert slope == pytest.approx(-1.0, abs=0.15)


# ------------------------------------------------------------------- bounds
def test_uniform_bound_formula():
    """Claim: uniform_stability_bound is Bousquet & Elisseeff's Thm 12 exactly:
    R_emp + 2 beta + (4 n beta + M) sqrt(ln(1/delta) / (2 n))."""
    got = uniform_stability_bound(0.01, n=100, loss_bound=2.0, emp_risk=0.3, delta=0.1)
    expect = 0.3 + 0.02 + (4 * 100 * 0.01 + 2.0) * math.sqrt(math.log(10) / 200)
    assert got == pytest.approx(expect, rel=1e-14)


@given(
    st.floats(0.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.1, 5.0),
    st.floats(1e-3, 0.5),
)
def test_les_bound_below_uniform_when_theory_says(frac, beta, m_loss, delta):
    """Claim: with the scaling beta_n = beta / n (sup beta fixed), the LES bound is
    below the uniform bound for large n iff, in the limit,
    (4 sup_z' E_z beta + M) sqrt(ln(2/delta)) < (4 sup beta + M) sqrt(ln(1/delta))
    (the eta and tail terms vanish as n grows). When the condition holds with a
    margin, LES < uniform at n = 1e9; when beta_bar = sup beta (no local
    elasticity: uniform stability is already local), LES > uniform at every n."""
    beta_bar = frac * beta
    lhs = (4 * beta_bar + m_loss) * math.sqrt(math.log(2 / delta))
    rhs = (4 * beta + m_loss) * math.sqrt(math.log(1 / delta))
    for n in (10, 1000, 10**9):
        no_gain = locally_elastic_bound(
            beta / n,
            n=n,
            loss_bound=m_loss,
            emp_risk=0.0,
            beta_max=beta / n,
            delta=delta,
        )
        assert no_gain > uniform_stability_bound(
            beta / n, n=n, loss_bound=m_loss, emp_risk=0.0, delta=delta
        )
    n = 10**9
    les = locally_elastic_bound(
        beta_bar / n,
        n=n,
        loss_bound=m_loss,
        emp_risk=0.0,
        beta_max=beta / n,
        delta=delta,
    )
    uni = uniform_stability_bound(
        beta / n, n=n, loss_bound=m_loss, emp_risk=0.0, delta=delta
    )
    if lhs < 0.9 * rhs:
        assert les < uni
    if lhs > 1.01 * rhs:
        assert les > uni


def test_kernel_ridge_heavy_tailed_les_bound_tighter():
    """Claim (dossier 2.4, example 1): with a linear kernel and a heavy-tailed
    diagonal (a few points of large norm), sup E beta << sup beta, so with the
    analytic constants the LES bound is below the uniform one for large n."""
    rng = np.random.default_rng(3)
    n = 2000
    X = rng.normal(size=(n, 2))
    X[:5] *= 30.0
    y = np.clip(X @ np.array([0.5, -0.2]), -1, 1)
    th = rkhs_stability_constants(X, y, lam=1.0, kernel="linear")
    sens = kernel_ridge_loo_sensitivities(X, y, lam=1.0, kernel="linear")
    les_beta = float(np.max(th.local.mean(axis=1)))
    cmp = compare_bounds(
        sens, loss_bound=th.loss_bound, uniform_beta=th.uniform, les_beta=les_beta
    )
    assert cmp.beta_ratio > 5
    assert cmp.les_bound < cmp.uniform_bound
    assert cmp.bound_ratio == pytest.approx(cmp.uniform_bound / cmp.les_bound)


# ------------------------------------------------------------------- retraining
def test_coupled_stream_deletes_removed_index():
    """Claim: each leave-one-out stream is the full stream with every occurrence of
    the removed index deleted (same order), cut into batches of the same size."""
    for mode in (Sampling.UNIFORM, Sampling.EPOCH):
        full, loo = _coupled_streams(
            7, 30, 3, mode, np.random.default_rng(5), np.array([2, 6])
        )
        assert full.shape == (30, 3)
        for i, b in zip((2, 6), loo, strict=True):
            assert b.shape == (30, 3) and not np.any(b == i)
            kept = full.ravel()[full.ravel() != i]
            assert np.array_equal(b.ravel()[: kept.size], kept)


def test_simulator_full_run_is_simulate():
    """Claim: the full retraining run of the simulator is simnet.simulate's run with
    the same seed (same initial state and sample stream), so its per-sample losses
    equal the losses of simulate's final state."""
    h = Hierarchy.preset("tiger_cat_car")
    model = HFSModel(h, n_per_class=6)
    sens = simulator_loo_sensitivities(model, steps=150, removed_idx=[0], seed=4)
    state = simulate(model, steps=150, record=150, seed=4, observe=["loss"]).state
    s = HFSState(
        state["lam"],
        state["phi"],
        state["u"],
        state["labels"],
        state["head"],
        np.array(h.ancestor_matrix),
        model.gamma,
    )
    logits = s.logits()
    lse = np.log(np.sum(np.exp(logits), axis=1))
    expect = lse - logits[np.arange(18), state["labels"]]
    assert_allclose(sens.loss_full, expect, rtol=1e-12)


def test_simulator_same_class_more_sensitive():
    """Claim (Deng, He & Su, Fig. 1, in the HFS model): removing one sample changes
    the loss of its own class (held-out particles) more than that of a class in the
    other top-level superclass, and a sample that is never drawn has zero effect."""
    h = Hierarchy.preset("cifar10")
    model = HFSModel(h, n_per_class=10)
    sens = simulator_loo_sensitivities(
        model, steps=1500, removed_idx=[0, 45, 80], seed=0, n_heldout_per_class=3
    )
    rel = sens.by_relation(h)
    assert rel["ratio"] > 2.0
    assert sens.values.shape == (3, 130)
    # a run too short to ever draw sample i: identical to the full run
    short = simulator_loo_sensitivities(
        model, steps=1, removed_idx=[0, 1, 2, 3], seed=0
    )
    assert np.sum(np.all(short.values == 0, axis=1)) >= 3


def test_simulator_lesde_supported_and_ode_rejected():
    """Claim: the LE-SDE SGD imitation is retrained the same way; the ODE integrator
    and the SDE (no sampled points) are rejected with a ConfigError naming the
    parameter."""
    impact = ImpactMatrix.two_parameter(3, alpha=0.05, beta=0.01)
    sens = simulator_loo_sensitivities(
        LESDEModel(impact, n_per_class=5), steps=100, removed_idx=[0], seed=1
    )
    assert sens.values.shape == (1, 15) and np.all(np.isfinite(sens.values))
    with pytest.raises(ConfigError, match=r"'model' parameter .* 'ode' integrator"):
        simulator_loo_sensitivities(
            LESDEModel(impact, integrator="ode"), steps=10, removed_idx=[0]
        )
    with pytest.raises(ConfigError, match=r"'model' parameter .* 'sde' integrator"):
        simulator_loo_sensitivities(
            LESDEModel(impact, integrator="sde", n_per_class=2),
            steps=10,
            removed_idx=[0],
        )


def test_mlp_loo_retraining():
    """Claim: MLP retraining sensitivities (both couplings) are zero for a point
    never drawn, finite and nonnegative otherwise, and LES constant <= uniform
    constant."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    mlp = MLP(input_dim=3, hidden=(8,), n_outputs=2)
    sens = mlp_loo_sensitivities(
        mlp,
        X,
        y,
        steps=200,
        lr=0.1,
        removed_idx=[0, 5],
        seed=0,
        X_eval=X[:4],
        y_eval=y[:4],
    )
    assert sens.values.shape == (2, 4) and np.all(sens.values >= 0)
    assert np.any(sens.values > 0)
    assert sens.les_constant() <= sens.uniform_constant()
    drop = mlp_loo_sensitivities(
        mlp,
        X,
        y,
        steps=200,
        lr=0.1,
        removed_idx=[0, 5],
        seed=0,
        batch_size=4,
        coupling="drop",
    )
    assert np.all(np.isfinite(drop.values)) and np.any(drop.values > 0)
    for coupling in ("delete", "drop"):
        one = mlp_loo_sensitivities(
            mlp,
            X,
            y,
            steps=1,
            lr=0.1,
            removed_idx=list(range(20)),
            seed=0,
            coupling=coupling,
        )
        assert np.sum(np.all(one.values == 0, axis=1)) == 19


# ------------------------------------------------------------------- validation
def test_validation_errors():
    """Claim: every bad argument raises ConfigError or DataError naming it."""
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ConfigError, match="'lam' parameter"):
        ridge_loo_sensitivities(X, y, lam=0.0)
    with pytest.raises(ConfigError, match="'removed_idx' parameter"):
        ridge_loo_sensitivities(X, y, lam=1.0, removed_idx=[4])
    with pytest.raises(ConfigError, match="'X_eval' and 'y_eval'"):
        ridge_loo_sensitivities(X, y, lam=1.0, X_eval=X)
    with pytest.raises(DataError, match="'y' parameter"):
        ridge_loo_sensitivities(X, np.ones(3), lam=1.0)
    with pytest.raises(DataError, match="'X' parameter"):
        ridge_loo_sensitivities(np.ones(4), y, lam=1.0)
    with pytest.raises(DataError, match="'X_eval' parameter"):
        ridge_loo_sensitivities(
            X, y, lam=1.0, X_eval=np.ones((2, 3)), y_eval=np.ones(2)
        )
    with pytest.raises(DataError, match="'labels' parameter"):
        ridge_loo_sensitivities(X, y, lam=1.0, labels=[0, 1])
    with pytest.raises(ConfigError, match="'kernel' parameter"):
        kernel_ridge_loo_sensitivities(X, y, lam=1.0, kernel="cosine")
    with pytest.raises(ConfigError, match="'gamma' parameter"):
        kernel_matrix(X, gamma=-1.0)
    with pytest.raises(ConfigError, match="'delta' parameter"):
        uniform_stability_bound(0.1, n=10, loss_bound=1.0, emp_risk=0.0, delta=1.0)
    with pytest.raises(ConfigError, match="'beta_bar' parameter"):
        locally_elastic_bound(0.2, n=10, loss_bound=1.0, emp_risk=0.0, beta_max=0.1)
    with pytest.raises(ConfigError, match="'n' parameter"):
        locally_elastic_bound(0.1, n=1, loss_bound=1.0, emp_risk=0.0, beta_max=0.1)
    with pytest.raises(ConfigError, match="'model' parameter"):
        simulator_loo_sensitivities("hfs", steps=10, removed_idx=[0])
    with pytest.raises(ConfigError, match="'steps' parameter"):
        simulator_loo_sensitivities(
            HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=2),
            steps=0,
            removed_idx=[0],
        )
    with pytest.raises(ConfigError, match="'mlp' parameter"):
        mlp_loo_sensitivities(None, X, y, steps=1, lr=0.1, removed_idx=[0])
    with pytest.raises(ConfigError, match="'coupling' parameter"):
        mlp_loo_sensitivities(
            MLP(input_dim=2, hidden=(), n_outputs=2),
            X,
            [0, 1, 0, 1],
            steps=1,
            lr=0.1,
            removed_idx=[0],
            coupling="swap",
        )
    with pytest.raises(ConfigError, match="'sens' parameter"):
        compare_bounds(None, loss_bound=1.0)
    with pytest.raises(ConfigError, match="'hierarchy' parameter"):
        ridge_loo_sensitivities(X, y, lam=1.0).by_relation(None)
    with pytest.raises(DataError, match="do not fit the hierarchy"):
        ridge_loo_sensitivities(X, y, lam=1.0).by_relation(
            Hierarchy.preset("tiger_cat_car")
        )
