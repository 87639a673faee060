"""Every numba kernel agrees with its plain numpy twin in ``tests/reference.py``.

Property tests over random hierarchies, rates, batch sizes, heads and seeds; the
kernel and the reference consume the same random stream, so they must agree to
1e-10 relative.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
import reference as ref
from hypothesis import assume, given
from hypothesis import strategies as st
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal
from strategies import hierarchies, seeds

from simnet import HFSModel, ImpactMatrix, LESDEModel
from simnet.kernels.common import exp_nonpositive_one
from simnet.kernels.hfs import hfs_sgd_steps
from simnet.kernels.lesde import (
    flush_noise,
    lesde_ode_steps,
    lesde_sde_steps,
    lesde_sgd_steps,
)
from simnet.kernels.vector import address, exp_nonpositive8, vload, vstore
from simnet.models.impact_groups import impact_groups
from simnet.models.lesde import LESDEState

RTOL = 1e-10
ATOL = 1e-12


@given(
    h=hierarchies(),
    seed=seeds,
    batch_size=st.integers(1, 3),
    n_steps=st.integers(1, 25),
    head_random=st.booleans(),
    noisy=st.booleans(),
    scheduled=st.booleans(),
)
def test_hfs_kernel_matches_reference(
    h, seed, batch_size, n_steps, head_random, noisy, scheduled
):
    rng = np.random.default_rng(seed)
    k = h.n_classes
    p = int(rng.integers(1, 5)) if head_random else k
    model = HFSModel(
        h,
        n_per_class=[int(s) for s in rng.integers(1, 4, size=k)],
        p=p,
        head="random" if head_random else "identity",
        eta_phi=rng.uniform(0, 0.3, size=h.max_depth + 1).tolist(),
        eta_lam=rng.uniform(0, 0.3, size=h.max_depth + 1).tolist(),
        decay=rng.uniform(0, 0.1, size=h.max_depth + 1).tolist(),
        lam0=rng.uniform(0.2, 1.5, size=h.max_depth + 1).tolist(),
        gamma=float(rng.uniform(0, 1)),
        eta_u=float(rng.uniform(0, 0.3)),
        sigma=0.01 if noisy else 0.0,
        batch_size=batch_size,
    )
    s = model.initial_state(rng)
    rates = model.node_rates()
    batches = rng.integers(0, model.n_samples, size=(n_steps, batch_size))
    rate_scale = rng.uniform(0.2, 2.0, n_steps) if scheduled else np.ones(n_steps)
    ptr, idx = h.ancestor_index_arrays()
    lam, phi, u = s.lam.copy(), s.phi.copy(), s.u.copy()
    args = (
        rates["eta_phi"],
        rates["eta_lam"],
        rates["decay"],
        model.eta_u,
        model.gamma,
    )
    bad = hfs_sgd_steps(
        lam,
        phi,
        u,
        s.labels,
        ptr,
        idx,
        *args,
        model.sigma,
        s.head,
        batches,
        rate_scale,
        k,
        np.random.default_rng(seed + 1),
        0,
        np.zeros_like(phi),
        np.full(h.n_nodes, -1),
        np.full(model.n_samples, -1),
    )
    lam_r, phi_r, u_r = s.lam.copy(), s.phi.copy(), s.u.copy()
    bad_r = ref.hfs_sgd_steps(
        lam_r,
        phi_r,
        u_r,
        s.labels,
        h.ancestor_matrix,
        *args,
        model.sigma,
        s.head,
        batches,
        rate_scale,
        np.random.default_rng(seed + 1),
    )
    assert bad == bad_r == -1
    assert_allclose(lam, lam_r, rtol=RTOL, atol=ATOL)
    assert_allclose(phi, phi_r, rtol=RTOL, atol=ATOL)
    assert_allclose(u, u_r, rtol=RTOL, atol=ATOL)


def _random_impact(rng, k, n_terms):
    basis = rng.uniform(-0.05, 0.2, size=(n_terms, k, k))
    return basis


@given(
    k=st.integers(2, 5),
    seed=seeds,
    batch_size=st.integers(1, 3),
    n_steps=st.integers(1, 30),
    n_terms=st.integers(1, 3),
    head_random=st.booleans(),
    noisy=st.booleans(),
)
def test_lesde_sgd_kernel_matches_reference(
    k, seed, batch_size, n_steps, n_terms, head_random, noisy
):
    rng = np.random.default_rng(seed)
    n_per = int(rng.integers(1, 6))
    p = int(rng.integers(1, 5)) if head_random else k
    head = rng.standard_normal((k, p)) if head_random else np.empty((0, p))
    labels = np.repeat(np.arange(k), n_per)
    n = labels.shape[0]
    x0 = rng.standard_normal((n, p))
    basis = _random_impact(rng, k, n_terms)
    coef = rng.uniform(0, 2, size=(n_steps, n_terms))
    batches = rng.integers(0, n, size=(n_steps, batch_size))
    sigma = 0.05 if noisy else 0.0
    step0 = int(rng.integers(0, 5))

    base, offsets = x0.copy(), np.zeros((k, p))
    groups = impact_groups(basis)
    group_offsets = np.zeros((groups.n_groups, p))
    touch = np.full(n, step0, dtype=np.int64)
    rng_k = np.random.default_rng(seed + 7)
    assert (
        lesde_sgd_steps(
            base,
            offsets,
            group_offsets,
            labels,
            groups,
            coef,
            head,
            batches,
            sigma,
            touch,
            rng_k,
            step0,
        )
        == -1
    )
    if noisy:
        flush_noise(base, sigma, touch, rng_k, step0 + n_steps)
    state = LESDEState(base, offsets, labels, head, touch, groups, group_offsets)
    got = state.features()

    x = x0.copy()
    touch_r = np.full(n, step0, dtype=np.int64)
    rng_r = np.random.default_rng(seed + 7)
    assert (
        ref.lesde_sgd_steps(
            x, labels, basis, coef, head, batches, sigma, touch_r, rng_r, step0
        )
        == -1
    )
    if noisy:
        ref.flush_noise(x, sigma, touch_r, rng_r, step0 + n_steps)
    assert_allclose(got, x, rtol=RTOL, atol=ATOL)


@given(
    k=st.integers(2, 5),
    seed=seeds,
    n_steps=st.integers(1, 20),
    n_terms=st.integers(1, 3),
    head_random=st.booleans(),
    noise=st.sampled_from(["none", "constant", "gradient"]),
)
def test_lesde_sde_kernel_matches_reference(
    k, seed, n_steps, n_terms, head_random, noise
):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), int(rng.integers(1, 40)))
    p = int(rng.integers(1, 5)) if head_random else k
    head = rng.standard_normal((k, p)) if head_random else np.empty((0, p))
    x0 = rng.standard_normal((labels.shape[0], p))
    basis = _random_impact(rng, k, n_terms)
    coef = rng.uniform(0, 2, size=(n_steps, n_terms))
    dt = float(rng.uniform(0.01, 0.5))
    sigma = 0.0 if noise == "none" else 0.1
    grad_noise = noise == "gradient"
    x = x0.copy()
    assert (
        lesde_sde_steps(
            x,
            labels,
            basis,
            coef,
            head,
            dt,
            sigma,
            grad_noise,
            np.random.default_rng(seed + 3),
            np.ones(x.shape[0]),
        )
        == -1
    )
    x_r = x0.copy()
    assert (
        ref.lesde_sde_steps(
            x_r,
            labels,
            basis,
            coef,
            head,
            dt,
            sigma,
            grad_noise,
            np.random.default_rng(seed + 3),
        )
        == -1
    )
    assert_allclose(x, x_r, rtol=RTOL, atol=ATOL)


@given(
    k=st.integers(2, 6),
    seed=seeds,
    n_steps=st.integers(1, 30),
    surrogate=st.integers(0, 3),
    method=st.integers(0, 1),
    head_random=st.booleans(),
)
def test_lesde_ode_kernel_matches_reference(
    k, seed, n_steps, surrogate, method, head_random
):
    rng = np.random.default_rng(seed)
    head_random = head_random and surrogate in (0, 1)
    p = int(rng.integers(1, 5)) if head_random else k
    head = rng.standard_normal((k, p)) if head_random else np.empty((0, p))
    m0 = rng.standard_normal((k, p))
    basis = _random_impact(rng, k, 2)
    coef = rng.uniform(0, 2, size=(n_steps, 3, 2))
    dt = float(rng.uniform(0.01, 0.5))
    m = m0.copy()
    assert lesde_ode_steps(m, basis, coef, head, dt, surrogate, method) == -1
    m_r = m0.copy()
    assert ref.lesde_ode_steps(m_r, basis, coef, head, dt, surrogate, method) == -1
    assert_allclose(m, m_r, rtol=RTOL, atol=ATOL)


def test_kernels_report_the_first_non_finite_step():
    """A NaN particle is reported at the step where it is first read."""
    labels = np.array([0, 1])
    base = np.array([[0.0, 0.0], [np.nan, 0.0]])
    batches = np.array([[0], [0], [1]])
    coef = np.ones((3, 1))
    basis = 0.1 * np.ones((1, 2, 2))
    bad = lesde_sgd_steps(
        base,
        np.zeros((2, 2)),
        np.zeros((0, 2)),
        labels,
        impact_groups(basis),
        coef,
        np.empty((0, 2)),
        batches,
        0.0,
        np.zeros(2, dtype=np.int64),
        np.random.default_rng(0),
        0,
    )
    assert bad == 2


def test_models_used_by_kernel_tests_are_valid():
    """The impact helper used above builds a valid model (guards the fixtures)."""
    impact = ImpactMatrix.constant(np.eye(3))
    assert LESDEModel(impact).n_classes == 3


@njit(cache=False, error_model="numpy")
def _exp_in_place(z):
    """The SIMD loop the kernels run: exp_nonpositive_one over an array."""
    for i in range(z.shape[0]):
        z[i] = exp_nonpositive_one(z[i])


@given(seed=seeds, scale=st.sampled_from([1e-3, 1.0, 30.0, 300.0]))
def test_vectorised_exp_matches_numpy(seed, scale):
    """exp_nonpositive_one, in a vectorised loop, agrees with np.exp to about 1 ulp
    on (-708, 0]; below -708 it returns exp(-708), negligible next to the largest
    softmax term (1). Called one value at a time, it gives the same bits."""
    rng = np.random.default_rng(seed)
    x = -rng.exponential(scale, size=1000)
    x[:4] = [0.0, -1e-300, -707.9, -2000.0]
    z = x.copy()
    _exp_in_place(z)
    ok = x > -708.0
    assert_allclose(z[ok], np.exp(x[ok]), rtol=4.5e-16, atol=0)
    assert np.all(z[~ok] <= np.exp(-708.0) * (1 + 1e-15))
    one = np.array([exp_nonpositive_one(v) for v in x])
    assert_array_equal(one, z)


@njit(cache=False)
def _exp8_in_place(z):
    """exp_nonpositive8 over an array, 8 lanes at a time (length a multiple of 8)."""
    p = address(z)
    for col in range(0, z.shape[0], 8):
        vstore(p + 8 * col, exp_nonpositive8(vload(p + 8 * col)))


@given(seed=seeds, scale=st.sampled_from([1e-3, 1.0, 30.0, 300.0]))
def test_vector_exp_matches_numpy(seed, scale):
    """exp_nonpositive8 (the 8-lane exp of the gradient's fast path) agrees with
    np.exp to about 1 ulp on (-708, 0], returns exp(-708) below, keeps NaN, and is
    within 1 ulp of the scalar exp_nonpositive_one (the same method)."""
    rng = np.random.default_rng(seed)
    x = -rng.exponential(scale, size=1000)
    x[:5] = [0.0, -1e-300, -707.9, -2000.0, np.nan]
    z = x.copy()
    _exp8_in_place(z)
    ok = x > -708.0
    assert_allclose(z[ok], np.exp(x[ok]), rtol=4.5e-16, atol=0)
    low = x <= -708.0
    assert np.all(z[low] <= np.exp(-708.0) * (1 + 1e-15))
    assert np.isnan(z[4])
    one = np.array([exp_nonpositive_one(v) for v in x[ok]])
    assert_allclose(z[ok], one, rtol=2.3e-16, atol=0)


def test_sde_kernel_reports_a_non_finite_particle():
    """A NaN particle makes the Euler-Maruyama kernel stop at that step."""
    x = np.zeros((300, 3))
    x[257, 1] = np.inf
    labels = np.arange(300) % 3
    basis = 0.1 * np.ones((1, 3, 3))
    bad = lesde_sde_steps(
        x,
        labels,
        basis,
        np.ones((4, 1)),
        np.empty((0, 3)),
        0.1,
        0.0,
        False,
        np.random.default_rng(0),
        np.ones(300),
    )
    assert bad == 0


@given(
    h=hierarchies(dag=False, min_classes=4),
    seed=seeds,
    batch_size=st.integers(1, 3),
    n_steps=st.integers(1, 30),
    with_dense=st.booleans(),
    noisy=st.booleans(),
)
def test_lesde_sgd_kernel_with_grouped_impacts_matches_reference(
    h, seed, batch_size, n_steps, with_dense, noisy
):
    """Tree-structured impacts run through group offsets (one per ancestor of the
    sampled class) and, with a generic extra term, through dense class offsets too;
    the particles still follow the plain numpy step to 1e-10."""
    rng = np.random.default_rng(seed)
    k = h.n_classes
    depth = ImpactMatrix.per_depth(h, [0.1] * (h.max_depth + 1)).basis
    basis = depth * rng.uniform(0.2, 1.0, size=(depth.shape[0], 1, 1))
    two = ImpactMatrix.two_parameter(k, 0.3, 0.1).basis
    basis = np.concatenate(
        [basis, two] + ([_random_impact(rng, k, 1)] if with_dense else [])
    )
    groups = impact_groups(basis)
    assume(groups.n_groups > 0)  # (a class in >= K groups: no cheaper, all dense)
    assert groups.has_dense == with_dense
    p = k
    head = np.empty((0, p))
    labels = np.repeat(np.arange(k), int(rng.integers(1, 4)))
    n = labels.shape[0]
    x0 = rng.standard_normal((n, p))
    coef = rng.uniform(0, 2, size=(n_steps, basis.shape[0]))
    batches = rng.integers(0, n, size=(n_steps, batch_size))
    sigma = 0.05 if noisy else 0.0

    base, offsets = x0.copy(), np.zeros((k, p))
    group_offsets = np.zeros((groups.n_groups, p))
    touch = np.zeros(n, dtype=np.int64)
    rng_k = np.random.default_rng(seed + 7)
    args = (coef, head, batches, sigma, touch, rng_k, 0)
    assert lesde_sgd_steps(base, offsets, group_offsets, labels, groups, *args) == -1
    if noisy:
        flush_noise(base, sigma, touch, rng_k, n_steps)
    got = LESDEState(base, offsets, labels, head, touch, groups, group_offsets)

    x = x0.copy()
    touch_r = np.zeros(n, dtype=np.int64)
    rng_r = np.random.default_rng(seed + 7)
    assert (
        ref.lesde_sgd_steps(
            x, labels, basis, coef, head, batches, sigma, touch_r, rng_r, 0
        )
        == -1
    )
    if noisy:
        ref.flush_noise(x, sigma, touch_r, rng_r, n_steps)
    assert_allclose(got.features(), x, rtol=RTOL, atol=ATOL)


def _sde_problem(seed, k=4, n_per=700, p=6, head_random=True):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n_per)
    head = rng.standard_normal((k, p)) if head_random else np.empty((0, k))
    x0 = rng.standard_normal((labels.shape[0], head.shape[1]))
    basis = _random_impact(rng, k, 2)
    coef = rng.uniform(0, 2, size=(6, 2))
    return x0, labels, basis, coef, head


def _sde_run(x0, labels, basis, coef, head, grad_noise, seed, rows_per_call):
    x = x0.copy()
    rng = np.random.default_rng(seed)
    gnorm = np.ones(x.shape[0])
    for start in range(0, coef.shape[0], rows_per_call):
        rows = np.ascontiguousarray(coef[start : start + rows_per_call])
        assert (
            lesde_sde_steps(
                x, labels, basis, rows, head, 0.05, 0.3, grad_noise, rng, gnorm
            )
            == -1
        )
    return x


@pytest.mark.parametrize("head_random", [False, True])
@pytest.mark.parametrize("grad_noise", [False, True])
@pytest.mark.parametrize("wide", [False, True])
def test_sde_kernel_bits_do_not_depend_on_threads_or_calls(
    head_random, grad_noise, wide
):
    """Same seed, same bits: with 1 or all numba threads, and with the steps made in
    one call or in several (the noise of a step is addressed by particle and
    coordinate, its stream keyed by one draw per step). ``wide``: p = 16 (the
    compiled pass of a fixed width with the identity head) and 75 particles a
    block."""
    if wide:
        problem = _sde_problem(11, k=16, n_per=300, p=16, head_random=head_random)
    else:
        problem = _sde_problem(11, head_random=head_random)
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = _sde_run(*problem, grad_noise, 5, 6)
    finally:
        numba.set_num_threads(threads)
    parallel = _sde_run(*problem, grad_noise, 5, 6)
    chunked = _sde_run(*problem, grad_noise, 5, 4)
    stepwise = _sde_run(*problem, grad_noise, 5, 1)
    assert_array_equal(parallel, serial)
    assert_array_equal(chunked, serial)
    assert_array_equal(stepwise, serial)
    other_seed = _sde_run(*problem, grad_noise, 6, 6)
    assert not np.any(other_seed == serial)


def test_sde_kernel_handles_odd_widths_and_unsorted_labels():
    """p odd (noise pairs straddle particles and blocks) and shuffled labels (mixed
    sub-blocks) still match the numpy twin."""
    x0, labels, basis, coef, head = _sde_problem(3, k=3, n_per=301, p=5)
    labels = np.random.default_rng(0).permutation(labels)
    x, x_r = x0.copy(), x0.copy()
    args = (labels, basis, coef, head, 0.05, 0.3, True)
    gnorm = np.ones(x.shape[0])
    assert lesde_sde_steps(x, *args, np.random.default_rng(1), gnorm) == -1
    assert ref.lesde_sde_steps(x_r, *args, np.random.default_rng(1)) == -1
    assert_allclose(x, x_r, rtol=RTOL, atol=ATOL)


@given(
    p=st.integers(1, 40),
    seed=seeds,
    head_random=st.booleans(),
    grad_noise=st.booleans(),
    shuffled=st.booleans(),
)
def test_sde_kernel_matches_reference_at_any_width(
    p, seed, head_random, grad_noise, shuffled
):
    """Every width p: normals made in registers (p even: whole groups of sixteen,
    a masked half or a masked group at the end of a row) or through a buffer (p
    odd), features updated eight at a time with a masked tail, all equal the numpy
    twin, which draws all the step's normals in one call."""
    assume(head_random or p >= 2)
    k = 3 if head_random else p  # the identity head: one class per feature
    x0, labels, basis, coef, head = _sde_problem(seed, k, 37, p, head_random)
    if shuffled:
        labels = np.random.default_rng(seed).permutation(labels)
    coef = coef[:2]
    args = (labels, basis, coef, head, 0.05, 0.3, grad_noise)
    x, x_r = x0.copy(), x0.copy()
    gnorm = np.ones(x.shape[0])
    assert lesde_sde_steps(x, *args, np.random.default_rng(seed), gnorm) == -1
    assert ref.lesde_sde_steps(x_r, *args, np.random.default_rng(seed)) == -1
    assert_allclose(x, x_r, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("p", [2, 5, 16, 19])
def test_sde_kernel_reports_divergence_of_a_noisy_step(p):
    """With noise too, a particle pushed to infinity by the update of step t is
    reported at t + 1 (or at the last row), as by the numpy twin: normals made in
    registers (p even) or in a buffer (p odd), the overflowing features in a masked
    group (p < 8) or a full one."""
    labels = np.arange(2)
    basis = -1e308 * np.eye(2)[None]
    for n_rows, want in ((1, 0), (3, 1)):
        x = np.zeros((2, p))
        x[0, 1] = x[1, 0] = 30.0  # misclassified: |g| ~ 1
        x_r = x.copy()
        coef = np.ones((n_rows, 1))
        head = np.empty((0, p))
        args = (labels, basis, coef, head, 10.0, 0.3, False)
        bad = lesde_sde_steps(x, *args, np.random.default_rng(0), np.ones(2))
        with np.errstate(over="ignore", invalid="ignore"):
            bad_r = ref.lesde_sde_steps(x_r, *args, np.random.default_rng(0))
        assert bad == bad_r == want


def test_sde_kernel_reports_divergence_produced_by_a_step():
    """A particle pushed to infinity by the update of step t is reported at t + 1
    (or at the last row), as by the numpy twin."""
    labels = np.arange(2)
    basis = -1e308 * np.eye(2)[None]
    for n_rows, want in ((1, 0), (3, 1)):
        x = np.array([[0.0, 30.0], [30.0, 0.0]])  # misclassified: |g| ~ 1
        x_r = x.copy()
        coef = np.ones((n_rows, 1))
        head = np.empty((0, 2))
        args = (labels, basis, coef, head, 10.0, 0.0, False)
        bad = lesde_sde_steps(x, *args, np.random.default_rng(0), np.ones(2))
        with np.errstate(over="ignore", invalid="ignore"):
            bad_r = ref.lesde_sde_steps(x_r, *args, np.random.default_rng(0))
        assert bad == bad_r == want
