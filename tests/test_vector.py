"""The SIMD helpers of ``simnet.kernels.vector`` and the cross-entropy gradient built on
them agree with plain numpy on random shapes, including the lengths that exercise the
vector main loops and their remainders (up to 70 entries)."""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from strategies import seeds

from simnet.kernels.common import ce_grad
from simnet.kernels.vector import (
    all_finite,
    dot,
    dot_rows,
    matvec,
    matvec_t,
    maximum,
    total,
)

RTOL = 1e-12
sizes = st.integers(1, 70)


@given(n=sizes, seed=seeds)
def test_reductions_match_numpy(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, size=n)
    b = rng.standard_normal(n)
    scale = np.abs(a) @ np.abs(b)
    assert abs(dot(a, b) - a @ b) <= RTOL * scale
    assert abs(total(a) - a.sum()) <= RTOL * np.abs(a).sum()
    assert maximum(a) == a.max()
    rows = np.stack([b, a])
    assert abs(dot_rows(rows, 1, rows, 0) - a @ b) <= RTOL * scale


@given(m=sizes, n=sizes, seed=seeds)
def test_matvec_and_its_transpose_match_numpy(m, n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal(n)
    out = np.full(m, np.nan)
    matvec(a, b, out)
    assert np.all(np.abs(out - a @ b) <= RTOL * (np.abs(a) @ np.abs(b)))
    c = rng.standard_normal(m)
    out_t = np.full(n, np.nan)
    matvec_t(a, c, out_t)
    assert np.all(np.abs(out_t - a.T @ c) <= RTOL * (np.abs(a.T) @ np.abs(c)))


@given(n=sizes, seed=seeds, bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_all_finite_finds_one_bad_entry_anywhere(n, seed, bad):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * 1e300
    assert all_finite(a)
    a[int(rng.integers(n))] = bad
    assert not all_finite(a)


@given(
    k=st.integers(2, 40),
    p=st.integers(1, 40),
    identity=st.booleans(),
    scale=st.sampled_from([1e-3, 1.0, 50.0, 1e4]),
    seed=seeds,
)
def test_ce_grad_matches_reference(k, p, identity, scale, seed):
    """W^T (softmax(W x) - e_y) and the loss, against the numpy twin, to 1e-10."""
    rng = np.random.default_rng(seed)
    if identity:
        p = k
        head = np.empty((0, p))
    else:
        head = rng.standard_normal((k, p))
    x = rng.standard_normal(p) * scale
    label = int(rng.integers(k))
    out = np.empty(p)
    loss = ce_grad(x, head, label, np.empty(k), out, True)
    g_ref, loss_ref = ref.ce_grad(x, head, label)
    assert np.isfinite(loss) and np.all(np.isfinite(out))
    assert_allclose(out, g_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(loss, loss_ref, rtol=1e-10, atol=1e-9)
