"""Closed-form LE-ODE solutions against numerical integration (MODEL.md section 3)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from simnet import ImpactMatrix, LESDEModel, PowerLaw
from simnet.errors import ConfigError
from simnet.runners.lesde import LESDERunner
from simnet.seeding import spawn_generators
from simnet.theory import le_ode

STREAMS = ("init", "sampling", "noise", "probes")
T_END = 2.0


def rk4(k, alpha, beta, surrogate, n_steps, *, m0=None, t_end=T_END, seed=0, p=None):
    """Integrate the class-mean LE-ODE by RK4; return (m0, m(t_end))."""
    model = LESDEModel(
        ImpactMatrix.two_parameter(k, alpha, beta),
        integrator="ode",
        surrogate=surrogate,
        dt=t_end / n_steps,
        ode_method="rk4",
        p=p,
        head="identity" if p is None else "random",
    )
    runner = LESDERunner(model, spawn_generators(seed, STREAMS)[1])
    if m0 is not None:
        runner.state.base[...] = m0
    start = runner.features().copy()
    runner.advance(n_steps)
    return start, runner.features().copy()


# time-varying, not proportional to each other
ALPHA, BETA = PowerLaw(1.0, 0.3), PowerLaw(0.5, 0.8)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_identity_closed_form_matches_rk4(k):
    """I model: m(t) = e^{(A-B)/K}[I + (e^B - 1)/K 1 1^T] m0 equals RK4 to 1e-10 for
    time-varying alpha, beta (any K, p != K allowed)."""
    m0, m = rk4(k, ALPHA, BETA, "identity", 400, p=k + 1)
    a, b = le_ode.integrated_impacts(ALPHA, BETA, T_END)
    assert_allclose(m, le_ode.identity_ode_solution(m0, a, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_projected_full_state_matches_rk4_time_varying(k):
    """L model, full state m(t) (not only the s-coordinates): the formula with J by
    adaptive quadrature equals RK4 to 1e-10 for non-proportional time-varying rates;
    the 1-component of every class mean is constant."""
    m0, m = rk4(k, ALPHA, BETA, "projected", 400, seed=k)
    exact = le_ode.projected_ode_solution_from_rates(m0, ALPHA, BETA, [T_END])[0]
    assert_allclose(m, exact, rtol=1e-10, atol=1e-12)
    assert_allclose(m.sum(axis=1), m0.sum(axis=1), atol=1e-12)


@pytest.mark.parametrize("alpha, beta", [(1.0, -0.4), (0.3, 0.9), (0.0, -1.0)])
def test_projected_full_state_closed_form_constant_rates(alpha, beta):
    """L model with constant rates: m(t) is closed form in (A, B) alone
    (J = B expm1(R2)/R2) and equals RK4 to 1e-10."""
    m0, m = rk4(4, alpha, beta, "projected", 400, seed=3)
    a, b = le_ode.integrated_impacts(alpha, beta, T_END)
    assert_allclose(m, le_ode.projected_ode_solution(m0, a, b), rtol=1e-10, atol=1e-12)


def test_projected_closed_form_proportional_time_varying_rates():
    """L model with beta(t) = c alpha(t), time-varying: still closed form in (A, B)."""
    alpha, beta = PowerLaw(1.0, 0.5), PowerLaw(-0.6, 0.5)
    m0, m = rk4(3, alpha, beta, "projected", 400, seed=5)
    a, b = le_ode.integrated_impacts(alpha, beta, T_END)
    assert_allclose(m, le_ode.projected_ode_solution(m0, a, b), rtol=1e-10, atol=1e-12)


def test_projected_coordinates_any_rates():
    """L model: s_k = <m_k, d_k>/|d_k|^2 is closed form in (A, B) for any rates."""
    m0, m = rk4(4, ALPHA, BETA, "projected", 400, seed=2)
    a, b = le_ode.integrated_impacts(ALPHA, BETA, T_END)
    s0 = le_ode.projected_coordinates(m0)
    assert_allclose(
        le_ode.projected_coordinates(m),
        le_ode.projected_ode_coordinates(s0, a, b),
        rtol=1e-10,
    )


def test_etf_surrogate_closed_form_matches_rk4():
    """Constant-gradient surrogate: m_k(t) = m_k(0) + ((A - B)/K) d_k."""
    m0, m = rk4(3, ALPHA, BETA, "etf", 400)
    a, b = le_ode.integrated_impacts(ALPHA, BETA, T_END)
    assert_allclose(m, le_ode.etf_ode_solution(m0, a, b), rtol=1e-10, atol=1e-12)


def test_rk4_converges_to_closed_form_at_order_four():
    """Order of convergence: the RK4 error against the L-model closed form halves
    by 2^4 when dt halves (time-varying rates)."""
    errors = []
    for n in (10, 20, 40):
        m0, m = rk4(3, ALPHA, BETA, "projected", n, seed=7)
        exact = le_ode.projected_ode_solution_from_rates(m0, ALPHA, BETA, [T_END])[0]
        errors.append(np.abs(m - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 4.0) < 0.3), orders


def test_path_quadrature_is_second_order():
    """rates='path': the trapezoidal J converges at order 2 in the grid step to the
    exact (adaptive-quadrature) state."""
    m0 = np.random.default_rng(0).normal(size=(3, 3))
    exact = le_ode.projected_ode_solution_from_rates(m0, ALPHA, BETA, [T_END])[0]
    errors = []
    for n in (20, 40, 80):
        a, b = le_ode.integrated_impacts(ALPHA, BETA, np.linspace(0, T_END, n + 1))
        m = le_ode.projected_ode_solution(m0, a, b, rates="path")[-1]
        errors.append(np.abs(m - exact).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.2), orders


@given(
    c=st.floats(0.25, 4.0),
    r=st.floats(0.0, 1.5),
    scale_b=st.floats(-1.0, 1.0),
    surrogate=st.sampled_from(["identity", "projected", "ce"]),
)
def test_rescaling_time_and_rates_leaves_trajectory_unchanged(c, r, scale_b, surrogate):
    """Invariance: dt -> c dt and E(t) -> E(t/c)/c give the same discrete trajectory
    (step by step, same seed), for time-varying rates and every surrogate."""
    k, n = 3, 20
    alpha, beta = PowerLaw(1.0, r), PowerLaw(scale_b, r)

    def rescaled(s):
        return PowerLaw(s.scale * c ** (s.exponent - 1.0), s.exponent, s.offset * c)

    _, m1 = rk4(k, alpha, beta, surrogate, n, t_end=1.0)
    _, m2 = rk4(k, rescaled(alpha), rescaled(beta), surrogate, n, t_end=c)
    assert_allclose(m2, m1, rtol=1e-9, atol=1e-12)


@given(perm=st.permutations(range(4)), seed=st.integers(0, 2**16))
def test_relabelling_classes_permutes_closed_forms_and_ode(perm, seed):
    """Invariance: relabelling the classes (rows and logit coordinates) permutes the
    closed-form I and L solutions and the RK4 trajectory in the same way."""
    perm = np.array(perm)
    m0 = np.random.default_rng(seed).normal(size=(4, 4))
    pm0 = m0[perm][:, perm]
    a, b = le_ode.integrated_impacts(ALPHA, BETA, np.array([0.5, 2.0]))
    for solve in (le_ode.identity_ode_solution, le_ode.projected_ode_solution):
        assert_allclose(solve(pm0, a, b), solve(m0, a, b)[:, perm][:, :, perm])
    _, m = rk4(4, ALPHA, BETA, "projected", 40, m0=m0)
    _, pm = rk4(4, ALPHA, BETA, "projected", 40, m0=pm0)
    assert_allclose(pm, m[perm][:, perm], rtol=1e-12, atol=1e-12)


def test_separation_rate_and_onset_by_factor():
    """Separation rate is (alpha - beta)/K; with constant rates the ETF-mode growth
    exp((A - B)/K) reaches `factor` at t = K ln(factor)/(alpha - beta)."""
    assert le_ode.separation_rate(1.0, 0.25, 3) == pytest.approx(0.25)
    t = np.linspace(0.0, 50.0, 5001)
    a, b = le_ode.integrated_impacts(1.0, 0.4, t)
    onset = le_ode.separation_onset(a, b, t, n_classes=3, factor=10.0)
    assert onset == pytest.approx(3 * np.log(10.0) / 0.6, rel=1e-6)
    a, b = le_ode.integrated_impacts(0.4, 1.0, t)
    assert np.isnan(le_ode.separation_onset(a, b, t, n_classes=3, factor=10.0))


@pytest.mark.parametrize("surrogate", ["etf", "projected", "identity"])
def test_margin_onset_matches_rk4(surrogate):
    """Onset from initial means: the predicted first time every class-mean logit
    margin is positive (closed form, alpha = 1 > beta = -0.3) brackets the sign
    change of the margin along RK4."""
    k = 3
    d = le_ode.etf_directions(k)
    shared = np.array([0.5, 0.0, -0.5])[None, :]  # makes class 2 misclassified
    m0 = 0.15 * d + shared + 0.05 * np.random.default_rng(1).normal(size=(k, k))
    t = np.linspace(0.0, 20.0, 2001)
    a, b = le_ode.integrated_impacts(1.0, -0.3, t)
    onset = le_ode.separation_onset(a, b, t, n_classes=k, m0=m0, surrogate=surrogate)
    assert 0 < onset < 20
    _, before = rk4(k, 1.0, -0.3, surrogate, 400, m0=m0, t_end=onset - 0.02)
    _, after = rk4(k, 1.0, -0.3, surrogate, 400, m0=m0, t_end=onset + 0.02)
    assert le_ode._min_margin(before) < 0 < le_ode._min_margin(after)


def test_l_model_approaches_etf_at_predicted_rate():
    """Neural collapse under the L model (beta < 0): the class means' ETF distance
    along the closed form equals the one along RK4 and decays like
    max(e^{B/(K-1)}, e^{-(A-B)/K}) (bounded, non-vanishing ratio)."""
    k, alpha, beta = 3, 1.0, -0.5
    t = np.linspace(0.0, 20.0, 41)[1:]
    a, b = le_ode.integrated_impacts(alpha, beta, t)
    m0 = np.random.default_rng(4).normal(size=(k, k))
    dist = le_ode.etf_distance_prediction(m0, a, b)
    _, m = rk4(k, alpha, beta, "projected", 2000, m0=m0, t_end=20.0)
    assert le_ode.etf_distance(m) == pytest.approx(dist[-1], rel=1e-6)
    assert np.all(np.diff(dist[10:]) < 0) and dist[-1] < 1e-2
    ratio = dist / le_ode.etf_distance_scale(a, b, k)
    assert 0.05 < ratio[-10:].min() and ratio[-10:].max() < 20
    assert np.ptp(np.log(ratio[-10:])) < 0.1  # the ratio settles


def test_constant_gradient_surrogate_approaches_etf_algebraically():
    """Constant-gradient surrogate: the ETF distance decays like K/(A - B)."""
    k = 4
    t = np.geomspace(10.0, 1e4, 20)
    a, b = le_ode.integrated_impacts(1.0, 0.3, t)
    m0 = np.random.default_rng(5).normal(size=(k, k))
    dist = le_ode.etf_distance_prediction(m0, a, b, surrogate="etf")
    ratio = dist / le_ode.etf_distance_scale(a, b, k, surrogate="etf")
    assert np.all(np.diff(dist) < 0)
    assert ratio[-1] == pytest.approx(ratio[-2], rel=1e-2)


def test_errors_name_the_parameter():
    """Bad inputs raise ConfigError naming the parameter."""
    with pytest.raises(ConfigError, match="'m0' parameter of projected_ode_solution"):
        le_ode.projected_ode_solution(np.zeros((3, 2)), 1.0, 0.0)
    with pytest.raises(ConfigError, match="'a' and 'b' parameters"):
        le_ode.projected_ode_solution(
            np.zeros((3, 3)), [1.0, 2.0], [0.5, 1.0], rates="path"
        )
    with pytest.raises(ConfigError, match="'rates' parameter"):
        le_ode.projected_ode_solution(np.zeros((3, 3)), 1.0, 0.0, rates="bogus")
    with pytest.raises(ConfigError, match="'times' parameter of integrated_impacts"):
        le_ode.integrated_impacts(1.0, 0.0, -1.0)
    with pytest.raises(ConfigError, match="'factor' and 'm0'"):
        le_ode.separation_onset([0.0], [0.0], [0.0], n_classes=3)
    with pytest.raises(ConfigError, match="'n_classes' parameter of separation_rate"):
        le_ode.separation_rate(1.0, 0.0, 1)
