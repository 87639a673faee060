"""Integrated-impact estimators (``simnet.analysis.impacts``; MODEL.md sections 4, 6).

What is checked:

* exact recovery of A(t) = int alpha and B(t) = int beta from the closed-form I- and
  L-model LE-ODE trajectories of :mod:`simnet.theory.le_ode`, for K in {2, 3, 5, 10},
  random initial means (uncentred logits for L) and constant, power-law and
  sign-changing rates (hypothesis). Tolerance rule: ``|A-hat - A| <= 1e-3 |A| +
  1e-9 scale`` with ``scale = max(1, max|A|, max|B|)``; the absolute part only
  matters where A or B passes through zero (t = 0, the sign change of B). Measured
  over 960 cases: max relative error (where |A|, |B| >= 1e-3 scale) 5e-12 for A and
  2e-11 for B, i.e. rounding;
* recovery from trajectories integrated by the simulator itself, at the accuracy of
  its integrator, and the order of convergence of that error in dt (4 for RK4, 1 for
  Euler);
* the reference code's hard-coded K = 3 L estimator (a naive twin below) fails on
  uncentred logits and agrees with the general-K estimator once they are centred;
* Savitzky-Golay rates against the known truncation error, the tail index, the
  fitted impact matrix, the tables, and every error path.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from simnet import ImpactMatrix, LESDEModel, PowerLaw, RunResult, simulate
from simnet.analysis.impacts import (
    ClassMeanTrajectory,
    EstimatorModel,
    ImpactEstimate,
    class_mean_trajectory,
    estimate_integrated_impacts,
    impact_estimates_table,
    impact_rates,
    tail_index,
)
from simnet.errors import ConfigError, DataError
from simnet.schedules import Constant, Schedule
from simnet.theory import le_ode

T_END = 5.0
TIMES = np.linspace(0.0, T_END, 41)


class Cosine(Schedule):
    """``scale * cos(omega t)`` with its exact integral (changes sign at pi/2)."""

    kind = "cosine"

    def __init__(self, scale: float, omega: float):
        self.scale, self.omega = scale, omega

    def __call__(self, t):
        return self.scale * np.cos(self.omega * np.asarray(t, dtype=np.float64))

    def integral(self, t):
        t = np.asarray(t, dtype=np.float64)
        return self.scale * np.sin(self.omega * t) / self.omega

    def to_config(self):  # pragma: no cover - not saved
        return {"kind": "cosine"}


class Smooth(Schedule):
    """``c0 + c1 sin(t)``, with its exact integral and second derivative."""

    kind = "smooth"

    def __init__(self, c0: float, c1: float):
        self.c0, self.c1 = c0, c1

    def __call__(self, t):
        return self.c0 + self.c1 * np.sin(np.asarray(t, dtype=np.float64))

    def integral(self, t):
        t = np.asarray(t, dtype=np.float64)
        return self.c0 * t + self.c1 * (1.0 - np.cos(t))

    def second_derivative(self, t):
        return -self.c1 * np.sin(np.asarray(t, dtype=np.float64))

    def to_config(self):  # pragma: no cover - not saved
        return {"kind": "smooth"}


def rate_pair(kind: str, k: int, rng: np.random.Generator):
    """alpha(t), beta(t) scaled with K so that the exponents (A - B)/K are O(1)."""
    a0 = rng.uniform(0.05, 0.3) * k
    b0 = rng.uniform(-0.2, 0.2) * k
    if kind == "constant":
        return Constant(a0), Constant(b0)
    if kind == "power":
        return (
            PowerLaw(a0, rng.uniform(0.2, 1.5)),
            PowerLaw(b0, rng.uniform(0.2, 1.5)),
        )
    # time-varying pair, beta changes sign at t = pi/(2 omega) < T_END
    return PowerLaw(a0, 0.5), Cosine(abs(b0) + 0.05 * k, rng.uniform(0.5, 1.0))


def assert_recovers(est, a, b, *, rtol=1e-3):
    """The stated rule: |err| <= rtol |truth| + 1e-9 scale (scale >= 1)."""
    scale = max(1.0, np.abs(a).max(), np.abs(b).max())
    assert_allclose(est.A, a, rtol=rtol, atol=1e-9 * scale)
    assert_allclose(est.B, b, rtol=rtol, atol=1e-9 * scale)


def max_relative_error(estimate, truth):
    scale = max(1.0, np.abs(truth).max())
    big = np.abs(truth) >= 1e-3 * scale
    return float(np.max(np.abs(estimate[big] - truth[big]) / np.abs(truth[big])))


def l_model_trajectory(m0, alpha, beta, times):
    """Exact L-model state; the quadrature tolerance of its path integral J is
    relaxed from 1e-12 (quad warns of rounding there) to 1e-10. J does not enter
    the s-coordinates the estimator uses, only the rest of the state."""
    return le_ode.projected_ode_solution_from_rates(m0, alpha, beta, times, rtol=1e-10)


def random_logits(rng, k, *, offset=3.0):
    """Uncentred logits: random class means plus a per-class common offset."""
    return rng.normal(size=(k, k)) + offset * rng.normal(size=(k, 1)) + offset


# --------------------------------------------------------------------------------------
# the reference code's estimators, written out naively (dossier section 1.9b)
# --------------------------------------------------------------------------------------
def reference_identity(x):
    """I model with the literal powers delta^(K-1) (no log space, no guards)."""
    k = x.shape[1]
    xbar = x.mean(axis=1)
    delta = x - xbar[:, None, :]
    ratio_b = (delta / xbar[:, None, :]) / (delta[0] / xbar[0])
    ratio_a = (xbar[:, None, :] * delta ** (k - 1)) / (xbar[0] * delta[0] ** (k - 1))
    return (
        np.mean(np.log(np.abs(ratio_a)), axis=(1, 2)),
        np.mean(-np.log(np.abs(ratio_b)), axis=(1, 2)),
    )


def reference_projected_k3(x):
    """The hard-coded K = 3 L estimator on flattened class-major logits."""
    flat = x.reshape(x.shape[0], 9)
    s1 = flat[:, 0] + flat[:, 4] - flat[:, 6] - flat[:, 7]
    s2 = -flat[:, [1, 2, 3, 5, 6, 7]].sum(axis=1)
    s = (s1 + s2) / 2
    d = (np.eye(3) - 1.0 / 3).reshape(9)
    f = (flat - np.outer(s / 2, d)) @ np.array([2, -1, -1, -1, 2, -1, 0, 0, 0]) / 3
    a_b1 = 3 * np.log(np.abs(s / s[0]))
    a_b2 = 3 * np.log(np.abs(f / f[0]))
    return (a_b1 + 2 * a_b2) / 3, 2 * (a_b2 - a_b1) / 3


# --------------------------------------------------------------------------------------
# closed-form trajectories
# --------------------------------------------------------------------------------------
@given(
    k=st.sampled_from([2, 3, 5, 10]),
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(["constant", "power", "varying"]),
    model=st.sampled_from(["I", "L"]),
)
def test_recovers_closed_form_impacts(k, seed, kind, model):
    """A-hat, B-hat equal A, B on exact LE-ODE trajectories (rule in module doc)."""
    rng = np.random.default_rng(seed)
    alpha, beta = rate_pair(kind, k, rng)
    a, b = le_ode.integrated_impacts(alpha, beta, TIMES)
    if model == "I":
        m0 = rng.normal(size=(k, k + int(rng.integers(0, 3))))  # any p
        means = le_ode.identity_ode_solution(m0, a, b)
    else:
        m0 = random_logits(rng, k)
        means = l_model_trajectory(m0, alpha, beta, TIMES)
    est = estimate_integrated_impacts(means, TIMES, model=model)
    assert est.model is EstimatorModel(model) and est.n_classes == k
    assert_recovers(est, a, b)
    assert max_relative_error(est.A, a) < 1e-9


@pytest.mark.parametrize("k", [2, 3, 5, 10])
def test_recovery_accuracy_is_roundoff(k):
    """Both inversions are exact: the measured error is at rounding level for the
    sign-changing pair (kept as a record of the accuracy reported for the module)."""
    rng = np.random.default_rng(k)
    alpha, beta = rate_pair("varying", k, rng)
    a, b = le_ode.integrated_impacts(alpha, beta, TIMES)
    est_i = estimate_integrated_impacts(
        le_ode.identity_ode_solution(rng.normal(size=(k, k)), a, b), TIMES, model="I"
    )
    m0 = random_logits(rng, k)
    est_l = estimate_integrated_impacts(
        l_model_trajectory(m0, alpha, beta, TIMES),
        TIMES,
        model="L",
    )
    for est in (est_i, est_l):
        assert max_relative_error(est.A, a) < 1e-11
        assert np.max(np.abs(est.B - b)) < 1e-11 * max(1.0, np.abs(a).max())


def test_identity_matches_naive_reference_formula():
    """The log-space I estimator equals the literal formula with delta^(K-1)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 5, 4)) + 0.5
    a_ref, b_ref = reference_identity(x)
    est = estimate_integrated_impacts(x, model="I")
    assert_allclose(est.A, a_ref, rtol=1e-10, atol=1e-10)
    assert_allclose(est.B, b_ref, rtol=1e-10, atol=1e-10)


def test_identity_large_k_does_not_overflow():
    """delta^(K-1) overflows for K = 200 in the literal formula, not in log space."""
    k = 200
    rng = np.random.default_rng(0)
    a, b = 2.0 * TIMES, 0.5 * TIMES
    means = le_ode.identity_ode_solution(50.0 * rng.normal(size=(k, 3)), a, b)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        assert not np.all(np.isfinite(reference_identity(means)[0]))
    assert_recovers(estimate_integrated_impacts(means, TIMES), a, b, rtol=1e-9)


def test_reference_k3_formula_needs_centred_logits():
    """Dossier 5.4: on uncentred logits the reference's K = 3 L estimator is biased
    (its d-mode scalar picks up -3b); centred, it agrees with the general-K
    estimator, which is offset-invariant and exact on the raw logits."""
    rng = np.random.default_rng(3)
    alpha, beta = PowerLaw(0.9, 0.4), Cosine(0.4, 0.7)
    a, b = le_ode.integrated_impacts(alpha, beta, TIMES)
    m0 = random_logits(rng, 3, offset=2.0)
    means = l_model_trajectory(m0, alpha, beta, TIMES)

    ref_a, _ = reference_projected_k3(means)
    assert abs(ref_a[-1] - a[-1]) > 0.05 * abs(a[-1])  # raw logits: clearly wrong

    centred = means - means.mean(axis=2, keepdims=True)
    ref_a, ref_b = reference_projected_k3(centred)
    est = estimate_integrated_impacts(means, TIMES, model="L")
    assert_allclose(est.A, ref_a, rtol=1e-9, atol=1e-9)
    assert_allclose(est.B, ref_b, rtol=1e-9, atol=1e-9)
    assert_recovers(est, a, b, rtol=1e-9)


def test_projected_estimator_ignores_per_class_offsets():
    """Adding any constant to each class-mean logit vector changes nothing."""
    rng = np.random.default_rng(11)
    means = le_ode.projected_ode_solution(
        random_logits(rng, 4), 0.8 * TIMES, -0.3 * TIMES
    )
    shifted = means + 10.0 * rng.normal(size=(1, 4, 1))
    e1 = estimate_integrated_impacts(means, TIMES, model="L")
    e2 = estimate_integrated_impacts(shifted, TIMES, model="L")
    assert_allclose(e2.A, e1.A, atol=1e-9)
    assert_allclose(e2.B, e1.B, atol=1e-9)


def test_trajectory_not_starting_at_zero_gives_increments():
    """The estimates are relative to the first record: int_{t0}^t alpha."""
    rng = np.random.default_rng(5)
    alpha, beta = PowerLaw(0.9, 0.5), Constant(0.2)
    a, b = le_ode.integrated_impacts(alpha, beta, TIMES)
    means = le_ode.identity_ode_solution(rng.normal(size=(3, 3)), a, b)
    est = estimate_integrated_impacts(means[10:], TIMES[10:])
    assert_recovers(est, a[10:] - a[10], b[10:] - b[10])


# --------------------------------------------------------------------------------------
# trajectories from the simulator
# --------------------------------------------------------------------------------------
SIM_ALPHA = PowerLaw(0.6, 0.3)


def simulated_error(k, surrogate, method, dt, t_end=20.0):
    beta = Cosine(0.2 * k / 3, 0.25)
    alpha = PowerLaw(0.6 * k / 3, 0.3)
    model = LESDEModel(
        ImpactMatrix.two_parameter(k, alpha, beta),
        integrator="ode",
        surrogate=surrogate,
        ode_method=method,
        dt=dt,
    )
    steps = round(t_end / dt)
    result = simulate(
        model, steps=steps, record=round(1 / dt), observe=["class_means"], seed=1
    )
    est = estimate_integrated_impacts(
        result, model="I" if surrogate == "identity" else "L"
    )
    a, b = le_ode.integrated_impacts(alpha, beta, est.times)
    scale = max(np.abs(a).max(), np.abs(b).max())
    err = max(np.abs(est.A - a).max(), np.abs(est.B - b).max())
    return err / scale


@pytest.mark.parametrize("k", [3, 10])
@pytest.mark.parametrize("surrogate", ["identity", "projected"])
def test_recovers_impacts_from_simulated_ode(k, surrogate):
    """simulate(LESDEModel(..., integrator='ode', ode_method='rk4')) trajectories:
    the estimator's error is the integrator's, O(dt^4): below 1e-4 of
    max(|A|, |B|) at dt = 0.5 (lambda dt <= 0.5 here; measured <= 1.2e-5), and it
    falls by about 2^4 = 16 when dt halves (measured 13.8-14.9)."""
    coarse = simulated_error(k, surrogate, "rk4", 0.5)
    fine = simulated_error(k, surrogate, "rk4", 0.25)
    assert coarse < 1e-4
    assert 10.0 < coarse / fine < 20.0


def test_simulated_euler_error_is_first_order():
    """The reference code's forward Euler: the estimate converges, at order 1."""
    coarse = simulated_error(3, "projected", "euler", 0.5)
    fine = simulated_error(3, "projected", "euler", 0.25)
    assert coarse < 0.05
    assert 1.8 < coarse / fine < 2.2


# --------------------------------------------------------------------------------------
# rates, fitted impact matrix, tail index
# --------------------------------------------------------------------------------------
def test_rates_match_truncation_error_bound():
    """alpha-hat from a symmetric SG window of half-width w and spacing h has the
    leading error alpha''(t) h^2 (3w^2 + 3w - 1)/30; in the interior (w records
    from each end) the error is within 1.1 times its maximum, on an L-model
    trajectory with smooth, non-proportional rates."""
    k, window = 3, 41
    alpha, beta = Smooth(0.6, 0.3), Smooth(-0.1, 0.2)
    t = np.linspace(0.0, 10.0, 801)
    h, w = t[1] - t[0], (window - 1) // 2
    means = l_model_trajectory(
        random_logits(np.random.default_rng(2), k), alpha, beta, t
    )
    rates = impact_rates(estimate_integrated_impacts(means, t, model="L"), window=41)
    interior = slice(w, -w)
    factor = h**2 * (3 * w**2 + 3 * w - 1) / 30
    for schedule, est in ((alpha, rates.alpha), (beta, rates.beta)):
        err = np.abs(est - schedule(t))[interior]
        bound = np.abs(schedule.second_derivative(t)).max() * factor
        assert err.max() <= 1.1 * bound
        assert err.max() >= 0.5 * bound  # the bound is the actual leading error


def test_rates_exact_for_quadratic_integrals_and_shrunk_window():
    """A quadratic A(t) (linear alpha) is differentiated exactly, edges included;
    a window longer than the series is shrunk to the series length, with a
    warning."""
    t = np.linspace(1.0, 3.0, 21)
    est = ImpactEstimate(t, A=0.2 * t**2, B=-0.5 * t, model="I")
    with pytest.warns(UserWarning, match="window shrunk from 151 to 21"):
        rates = impact_rates(est)
    assert_allclose(rates.alpha, 0.4 * t, atol=1e-12)
    assert_allclose(rates.beta, -0.5, atol=1e-12)
    assert_allclose(rates.A, est.A, rtol=0)
    assert est.alpha is None  # a new estimate; the input is unchanged
    even = ImpactEstimate(t[:20], A=0.2 * t[:20] ** 2, B=t[:20], model="I")
    with pytest.warns(UserWarning, match="to 19"):
        impact_rates(even, window=51)


def test_rates_on_nonuniform_times():
    """A stride with a shorter last interval is interpolated onto a uniform grid
    silently and accurately; strongly non-uniform records give a warning."""
    t = np.append(np.arange(0.0, 99.0), 98.4)  # stride 1, last interval 0.4
    est = ImpactEstimate(t, A=0.01 * t**2, B=0.3 * t, model="I")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rates = impact_rates(est, window=11)
    assert_allclose(rates.alpha[5:-5], 0.02 * t[5:-5], rtol=1e-3)
    assert_allclose(rates.beta, 0.3, rtol=1e-9)
    log_t = np.geomspace(1.0, 1000.0, 60)
    with pytest.warns(UserWarning, match="strongly non-uniform"):
        impact_rates(ImpactEstimate(log_t, log_t, log_t, "I"), window=11)


def test_fitted_impact_matrix_reproduces_the_trajectory():
    """The reference code's fit: rates -> ImpactMatrix(Piecewise) -> LE-ODE. The
    integrated fitted rates give back A and B within the integrated SG bias
    t_end max|alpha''| h^2 (3w^2 + 3w - 1)/30, and the closed-form trajectory with
    them matches the data to the matching relative error."""
    k, window = 3, 7
    alpha, beta = Smooth(0.6, 0.3), Smooth(-0.1, 0.2)
    t = np.linspace(0.0, 10.0, 401)
    h, w = t[1] - t[0], (window - 1) // 2
    a, b = le_ode.integrated_impacts(alpha, beta, t)
    m0 = np.random.default_rng(4).normal(size=(k, k))
    est = impact_rates(
        estimate_integrated_impacts(le_ode.identity_ode_solution(m0, a, b), t),
        window=window,
    )
    fitted = est.impact_matrix()
    assert fitted.kind == "two_parameter" and fitted.n_classes == k
    expected = ImpactMatrix.two_parameter(k, est.alpha[100], est.beta[100])
    assert_allclose(fitted.at(t[100]), expected.at(0.0))
    a_fit, b_fit = le_ode.integrated_impacts(*fitted.coefficients, t)
    factor = t[-1] * h**2 * (3 * w**2 + 3 * w - 1) / 30
    bound_a, bound_b = 0.3 * factor, 0.2 * factor  # max|alpha''|, max|beta''|
    assert np.abs(a_fit - a).max() <= bound_a
    assert np.abs(b_fit - b).max() <= bound_b
    true_means = le_ode.identity_ode_solution(m0, a, b)
    tol = 2 * (bound_a + bound_b)  # a class mean has relative error <~ |dA| + |dB|
    assert_allclose(
        le_ode.identity_ode_solution(m0, a_fit, b_fit),
        true_means,
        rtol=tol,
        atol=tol * np.abs(true_means).max(),  # entries crossing zero
    )
    assert est.impact_matrix(n_classes=5).n_classes == 5


@pytest.mark.parametrize("r", [0.3, 0.7])
def test_tail_index_recovers_power_law_exponent(r):
    """alpha(t) = c (t + 1)^-r: A(t) ~ c t^(1-r)/(1-r), so r-hat -> r with bias
    -log(c/(1-r))/log t; with c = 1 - r over iterations 0..20000 it is within 0.01
    (and exactly r for A = t^(1-r)); a negative series is sign-flipped."""
    t = np.arange(0.0, 20001.0)
    a = PowerLaw(1.0 - r, r).integral(t)
    assert abs(tail_index(a, t) - r) < 0.01
    assert abs(tail_index(-a, t) - r) < 0.01
    assert tail_index(t[2:] ** (1 - r), t[2:], tail=500) == pytest.approx(r, abs=1e-12)
    c = 5.0  # the bias formula holds for other scales
    a = PowerLaw(c, r).integral(t)
    bias = -np.mean(np.log(c / (1 - r)) / np.log(t[-1000:]))
    assert abs(tail_index(a, t) - (r + bias)) < 0.01


def test_tail_index_of_estimated_impacts():
    """End to end: the I-model A-hat of a power-law alpha has tail index r."""
    r = 0.6
    t = np.arange(0.0, 5001.0)
    a, b = le_ode.integrated_impacts(PowerLaw(1 - r, r), Constant(0.0), t)
    means = le_ode.identity_ode_solution(
        np.random.default_rng(0).normal(size=(3, 3)), a, b
    )
    est = estimate_integrated_impacts(means, t)
    assert abs(tail_index(est.A, est.times) - r) < 0.02


# --------------------------------------------------------------------------------------
# trajectories and tables
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_result():
    model = LESDEModel(
        ImpactMatrix.two_parameter(3, 0.3, 0.1),
        integrator="ode",
        surrogate="projected",
        ode_method="rk4",
    )
    return simulate(model, steps=60, record=2, seed=0, observe=["class_means"])


def test_class_mean_trajectory_from_run_and_shuffled_table(sim_result):
    traj = class_mean_trajectory(sim_result)
    table = sim_result.table("class_means")
    assert traj.classes == ("c0", "c1", "c2")
    assert traj.steps.tolist() == list(range(0, 61, 2))
    assert_allclose(traj.times, traj.steps * 1.0)
    first = table[(table.step == 4) & (table["class"] == "c1")]
    assert_allclose(traj.means[2, 1], first.sort_values("coordinate")["value"])
    shuffled = table.sample(frac=1.0, random_state=0)
    reordered = class_mean_trajectory(shuffled, classes=traj.classes)
    assert_allclose(reordered.means, traj.means)
    assert_allclose(reordered.times, traj.times)
    again = class_mean_trajectory(table, classes=["c2", "c0", "c1"])
    assert again.classes == ("c2", "c0", "c1")
    assert_allclose(again.means, traj.means[:, [2, 0, 1]])
    assert not traj.means.flags.writeable
    assert "n_records=31" in repr(traj) and traj.n_classes == 3


def test_estimates_table_from_simulator_run(sim_result):
    table = impact_estimates_table(sim_result, window=11)
    assert list(table.columns) == ["step", "time", "model", "quantity", "value"]
    assert table.groupby(["model", "quantity"]).size().to_dict() == {
        (m, q): 31 for m in ("I", "L") for q in ("A", "B", "alpha", "beta")
    }
    last = table[(table.model == "L") & (table.step == 60)].set_index("quantity")
    assert_allclose(last["value"][["A", "B"]], [18.0, 6.0], rtol=1e-4)
    no_rates = impact_estimates_table(sim_result, models="L", window=None)
    assert set(no_rates.quantity) == {"A", "B"} and set(no_rates.model) == {"L"}
    traj = class_mean_trajectory(sim_result)
    from_traj = impact_estimates_table(traj, models=["L"], window=11)
    assert_allclose(
        from_traj.value, table[table.model == "L"].value.to_numpy(), rtol=1e-12
    )


def test_estimates_from_mlp_run():
    """An MLP run's class_means table feeds the estimators (finite, both models)."""
    from simnet.networks import MLP, train_mlp

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 15)
    x = rng.normal(size=(45, 4)) + y[:, None]
    result = train_mlp(
        MLP(input_dim=4, hidden=(8,), n_outputs=3),
        x,
        y,
        steps=200,
        lr=0.05,
        record=10,
        seed=0,
        observe=["class_means"],
    )
    traj = class_mean_trajectory(result)
    assert traj.classes == ("0", "1", "2") and traj.means.shape == (21, 3, 3)
    table = impact_estimates_table(result, window=11)
    assert np.all(np.isfinite(table.value))


def test_to_frame_and_estimate_fields():
    m0 = np.array([[1.0, 2.0], [0.5, -1.0]])
    means = le_ode.identity_ode_solution(m0, [0.0, 1.0, 2.0], [0.0, 0.5, 1.0])
    est = estimate_integrated_impacts(means, [0.0, 2.0, 4.0])
    assert_allclose(est.A, [0.0, 1.0, 2.0], atol=1e-12)
    assert est.steps.tolist() == [0, 1, 2] and not est.has_rates
    frame = impact_rates(est, window=3).to_frame()
    assert (
        frame.quantity.tolist() == ["A"] * 3 + ["B"] * 3 + ["alpha"] * 3 + ["beta"] * 3
    )
    assert frame.time.tolist()[:3] == [0.0, 2.0, 4.0]


# --------------------------------------------------------------------------------------
# guards and error paths
# --------------------------------------------------------------------------------------
def test_zero_initial_deviation_is_ignored_with_warning():
    """A coordinate where two classes coincide at t = 0 (K = 2: delta = 0) is dropped
    with a warning naming it; the rest still recovers A and B exactly."""
    m0 = np.array([[1.0, 2.0, 0.3], [1.0, -1.0, 0.8]])
    a, b = 0.4 * TIMES, 0.1 * TIMES
    with pytest.warns(UserWarning, match="class 0 coordinate 0, class 1 coordinate 0"):
        est = estimate_integrated_impacts(le_ode.identity_ode_solution(m0, a, b), TIMES)
    assert_recovers(est, a, b)


def test_no_usable_term_raises_naming_the_terms():
    m0 = np.array([[1.0, -2.0], [1.0, 2.0]])  # delta = 0 in coordinate 0, xbar = 0 in 1
    with pytest.raises(DataError, match=r"no usable .*class 0 coordinate 0"):
        estimate_integrated_impacts(np.stack([m0, 2 * m0]))


def test_trajectory_class_names_in_messages(sim_result):
    traj = class_mean_trajectory(sim_result)
    means = np.array(traj.means)
    means[0, 1, 2] = np.nan
    bad = ClassMeanTrajectory(traj.steps, traj.times, means, traj.classes)
    with pytest.warns(UserWarning, match="class 'c1' coordinate 2"):
        est = estimate_integrated_impacts(bad, model="I")
    assert np.all(np.isfinite(est.A))
    with pytest.raises(DataError, match="NaN or infinite value at class 'c1'"):
        estimate_integrated_impacts(bad, model="L")


def test_later_nonfinite_records_are_nan_and_block_rates():
    rng = np.random.default_rng(1)
    means = le_ode.identity_ode_solution(rng.normal(size=(3, 3)), TIMES, 0 * TIMES)
    means[5] = np.nan
    for model in ("I", "L"):
        with pytest.warns(UserWarning, match="NaN"):
            est = estimate_integrated_impacts(means, TIMES, model=model)
        assert np.isnan(est.A[5]) and np.isfinite(est.A[6])
        with pytest.raises(DataError, match="A is NaN or infinite at 1 record"):
            impact_rates(est, window=5)


def test_projected_errors():
    with pytest.raises(DataError, match=r"p = K = 3\). Got p = 4"):
        estimate_integrated_impacts(np.ones((5, 3, 4)), model="L")
    etf = 2.0 * le_ode.etf_directions(3)
    with pytest.raises(DataError, match="no f-mode component"):
        estimate_integrated_impacts(np.stack([etf, 2 * etf]), model="L")
    no_d = np.diag([1.0, -1.0, 0.0])  # s = (1, -1, 0): S(0) = 0
    with pytest.raises(DataError, match="no component on the ETF d-mode"):
        estimate_integrated_impacts(np.stack([no_d, 2 * no_d]), model="L")


def test_argument_errors():
    x = np.random.default_rng(0).normal(size=(4, 3, 3))
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'model' parameter of estimate_integrated_impacts must be one of "
            "'I', 'L'. Got 'Q' instead."
        ),
    ):
        estimate_integrated_impacts(x, model="Q")
    assert estimate_integrated_impacts(x, model="l").model is EstimatorModel.L
    with pytest.raises(ConfigError, match=r"must have shape \(T, K, p\)"):
        estimate_integrated_impacts(np.ones((4, 3)))
    with pytest.raises(ConfigError, match=r"'times' parameter .* strictly increasing"):
        estimate_integrated_impacts(x, [0.0, 1.0, 1.0, 2.0])
    with pytest.raises(ConfigError, match=r"'times' parameter .* shape \(4\)"):
        estimate_integrated_impacts(x, [0.0, 1.0])
    traj = ClassMeanTrajectory(np.arange(4), np.arange(4.0), x, ("a", "b", "c"))
    with pytest.raises(ConfigError, match="must be None when 'means' is a"):
        estimate_integrated_impacts(traj, np.arange(4.0))
    est = estimate_integrated_impacts(traj)
    with pytest.raises(
        ConfigError,
        match=re.escape(
            "The 'window' parameter of impact_rates must be an odd int greater "
            "than polyorder = 2. Got 10 instead."
        ),
    ):
        impact_rates(est, window=10)
    with pytest.raises(ConfigError, match=r"greater than polyorder = 3\. Got 3"):
        impact_rates(est, window=3, polyorder=3)
    with pytest.raises(ConfigError, match="'polyorder' parameter of impact_rates"):
        impact_rates(est, polyorder=0)
    with pytest.raises(ConfigError, match="must be an ImpactEstimate"):
        impact_rates(np.zeros(4))
    with pytest.raises(DataError, match="more than polyorder"):
        impact_rates(ImpactEstimate([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], "I"))
    with pytest.raises(ConfigError, match="call impact_rates"):
        est.impact_matrix()
    rated = ImpactEstimate([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], "I", [1, 1], [0, 0])
    with pytest.raises(ConfigError, match=r"'n_classes' parameter .* must be given"):
        rated.impact_matrix()
    with pytest.raises(ConfigError, match="given together"):
        ImpactEstimate([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], "I", alpha=[1.0, 1.0])
    with pytest.raises(ConfigError, match=r"'B' parameter .* shape \(2,\)"):
        ImpactEstimate([0.0, 1.0], [0.0, 1.0], [0.0], "I")
    with pytest.raises(ConfigError, match="The 'models' parameter of impact_est"):
        impact_estimates_table(traj, models=["I", "X"])


def test_tail_index_errors():
    t = np.arange(0.0, 10.0)
    with pytest.raises(DataError, match="t >= 2"):
        tail_index([1.0, 2.0], [0.0, 1.0])
    with pytest.raises(DataError, match="no tail record has a positive"):
        tail_index(np.zeros(10), t)
    with pytest.warns(UserWarning, match="ignored 1 of 8"):
        tail_index(np.where(t == 5, np.nan, t), t)
    with pytest.raises(ConfigError, match="The 'tail' parameter of tail_index"):
        tail_index(t, t, tail=0)
    with pytest.raises(
        ConfigError, match=r"'times' parameter of tail_index .* shape \(10\)"
    ):
        tail_index(t, t[:5])


def test_class_mean_table_errors(sim_result):
    table = sim_result.table("class_means")
    with pytest.raises(DataError, match="no table 'class_means'"):
        class_mean_trajectory(RunResult(tables={"metrics": pd.DataFrame()}))
    with pytest.raises(DataError, match="Missing: coordinate"):
        class_mean_trajectory(table.drop(columns="coordinate"))
    with pytest.raises(DataError, match="is empty"):
        class_mean_trajectory(table.iloc[:0])
    with pytest.raises(DataError, match="several rows for step 0, class 'c0'"):
        class_mean_trajectory(pd.concat([table.iloc[:1], table]))
    with pytest.raises(
        DataError, match="no value for step 0, class 'c0', coordinate 0"
    ):
        class_mean_trajectory(table.iloc[1:])
    moved = table.copy()
    moved.loc[moved.index[0], "time"] = 0.5
    with pytest.raises(DataError, match="several times for step 0"):
        class_mean_trajectory(moved)
    backwards = table.copy()
    backwards["time"] = -backwards["time"]
    with pytest.raises(DataError, match="strictly increasing with the steps"):
        class_mean_trajectory(backwards)
    with pytest.raises(DataError, match="Class 'c7' is not in the class_means table"):
        class_mean_trajectory(table, classes=["c0", "c7"])
    with pytest.raises(DataError, match="at least two classes"):
        class_mean_trajectory(table, classes=["c0"])
    with pytest.raises(ConfigError, match="must name distinct classes"):
        class_mean_trajectory(table, classes=["c0", "c0"])
    with pytest.raises(ConfigError, match="must be a sequence of class names"):
        class_mean_trajectory(table, classes="c0")
    with pytest.raises(ConfigError, match="must be a RunResult or a pandas DataFrame"):
        class_mean_trajectory(np.zeros((3, 3)))
    text = table.assign(value=table["value"].astype(str))
    with pytest.raises(DataError, match=r"'value' column .* must be numeric"):
        class_mean_trajectory(text)
