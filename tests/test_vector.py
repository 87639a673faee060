"""The SIMD helpers of ``simnet.kernels.vector`` and the cross-entropy gradient built on
them agree with plain numpy on random shapes, including the lengths that exercise the
vector main loops and their remainders (up to 70 entries; the matrix-vector products up
to 300 rows and columns, past their column blocks), and the matrix-vector products
give the same bits wherever their arrays sit in memory."""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from strategies import seeds

from simnet.kernels.common import ce_grad, ce_grad_at
from simnet.kernels.vector import (
    all_finite,
    matvec,
    matvec_t,
    maximum,
    total,
    update_row_dot,
)

RTOL = 1e-12
sizes = st.integers(1, 70)
# Matrix sides: mostly small, sometimes past the column blocks and their ragged ends.
sides = st.one_of(st.integers(1, 70), st.integers(1, 300))


def _at_offset(values, offset):
    """A C-contiguous copy of ``values`` starting ``offset`` doubles past a 64-byte
    boundary."""
    buf = np.empty(values.size + 16)
    start = (-buf.ctypes.data % 64) // 8 + offset
    out = buf[start : start + values.size].reshape(values.shape)
    out[...] = values
    assert out.ctypes.data % 64 == 8 * offset
    return out


@given(n=sizes, seed=seeds)
def test_reductions_match_numpy(n, seed):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, size=n)
    assert abs(total(a) - a.sum()) <= RTOL * np.abs(a).sum()
    assert maximum(a) == a.max()


@given(m=sides, n=sides, seed=seeds)
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


@given(
    m=sides,
    n=st.one_of(sides, st.integers(5, 20).map(lambda k: 8 * k)),
    offsets=st.tuples(*[st.integers(0, 7)] * 3),
    seed=seeds,
)
def test_matvec_bits_do_not_depend_on_the_addresses(m, n, offsets, seed):
    """Rows that fill whole 64-byte lines are read in aligned pieces; the sums must not
    notice where the arrays start (the ensemble kernels rely on identical bits)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n)) * 10.0 ** rng.uniform(-3, 3, size=(m, n))
    b = rng.standard_normal(n)
    c = rng.standard_normal(m)
    want, want_t = np.empty(m), np.empty(n)
    matvec(_at_offset(a, 0), _at_offset(b, 0), want)
    matvec_t(_at_offset(a, 0), _at_offset(c, 0), want_t)
    oa, ob, oo = offsets
    out, out_t = _at_offset(np.full(m, np.nan), oo), _at_offset(np.full(n, np.nan), oo)
    matvec(_at_offset(a, oa), _at_offset(b, ob), out)
    matvec_t(_at_offset(a, oa), _at_offset(c, ob), out_t)
    assert np.array_equal(out, want)
    assert np.array_equal(out_t, want_t)
    assert np.all(np.abs(out - a @ b) <= RTOL * (np.abs(a) @ np.abs(b)))
    assert np.all(np.abs(out_t - a.T @ c) <= RTOL * (np.abs(a.T) @ np.abs(c)))


@given(m=sizes, n=sizes, seed=seeds)
def test_matvec_on_strided_views_matches_numpy(m, n, seed):
    """Views with gaps between elements take the plain fallback loops."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, 2 * n))[:, ::2]
    b = rng.standard_normal(2 * n)[::2]
    c = rng.standard_normal(2 * m)[::2]
    out = np.full(2 * m, np.nan)[::2]
    matvec(a, b, out)
    assert np.all(np.abs(out - a @ b) <= RTOL * (np.abs(a) @ np.abs(b)))
    out_t = np.full(2 * n, np.nan)[::2]
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
    strided=st.booleans(),
    seed=seeds,
)
def test_ce_grad_matches_reference(k, p, identity, scale, strided, seed):
    """W^T (softmax(W x) - e_y) and the loss, against the numpy twin, to 1e-10.
    A feature with gaps (a strided view) takes the array form on every CPU; a
    contiguous one the raw-address form where the CPU has it."""
    rng = np.random.default_rng(seed)
    head, p = ref.random_head(rng, k, p, identity)
    x = rng.standard_normal(p) * scale
    if strided:
        wide = np.zeros(2 * p)
        wide[::2] = x
        x = wide[::2]
    label = int(rng.integers(k))
    out = np.empty(p)
    loss = ce_grad(x, head, label, np.empty(k), out, True)
    g_ref, loss_ref = ref.ce_grad(x, head, label)
    assert np.isfinite(loss) and np.all(np.isfinite(out))
    assert_allclose(out, g_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(loss, loss_ref, rtol=1e-10, atol=1e-9)


def _ce_grad_on_addresses(x, head, label, want_loss):
    """ce_grad_at on C-contiguous copies, called directly (on any CPU)."""
    x = np.ascontiguousarray(x)
    head = np.ascontiguousarray(head)
    k = head.shape[0] if head.shape[0] else x.shape[0]
    z = np.empty(k)
    out = np.empty(x.shape[0])
    loss = ce_grad_at(
        head.ctypes.data,
        head.strides[0],
        head.shape[0],
        x.shape[0],
        x.ctypes.data,
        label,
        z.ctypes.data,
        out.ctypes.data,
        want_loss,
    )
    return out, loss


@given(
    k=st.integers(2, 120),
    p=st.integers(1, 90),
    identity=st.booleans(),
    scale=st.sampled_from([1e-3, 1.0, 50.0, 1e4]),
    seed=seeds,
)
def test_ce_grad_on_addresses_matches_reference(k, p, identity, scale, seed):
    """The raw-address form the kernels call in their loops (including heads of
    more than eight rows, where the logits' maximum comes from the matrix-vector
    product's registers): gradient and loss against the numpy twin, to 1e-10."""
    rng = np.random.default_rng(seed)
    head, p = ref.random_head(rng, k, p, identity)
    x = rng.standard_normal(p) * scale
    label = int(rng.integers(k))
    out, loss = _ce_grad_on_addresses(x, head, label, True)
    g_ref, loss_ref = ref.ce_grad(x, head, label)
    assert np.all(np.isfinite(out))
    assert_allclose(out, g_ref, rtol=1e-10, atol=1e-12)
    assert_allclose(loss, loss_ref, rtol=1e-10, atol=1e-9)
    _, no_loss = _ce_grad_on_addresses(x, head, label, False)
    assert no_loss == 0.0


def test_ce_grad_on_addresses_propagates_a_nan_logit():
    """A NaN feature gives a NaN gradient (the kernels then stop at that step)."""
    rng = np.random.default_rng(0)
    head = rng.standard_normal((20, 12))
    x = rng.standard_normal(12)
    x[5] = np.nan
    out, _ = _ce_grad_on_addresses(x, head, 3, False)
    assert np.all(np.isnan(out))


@given(m=sides, n=sides, seed=seeds)
def test_matvec_returns_the_largest_entry(m, n, seed):
    """matvec returns the maximum of the product it wrote (the softmax shift)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, n))
    b = rng.standard_normal(n)
    out = np.empty(m)
    assert matvec(a, b, out) == out.max()


@given(n=st.integers(1, 70), seed=seeds, strided=st.booleans())
def test_update_row_dot_matches_numpy(n, seed, strided):
    """a[i] <- keep a[i] - step b[j] and the dot product of the old a[i] with b[j]."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((3, 2 * n))
    b = rng.standard_normal((4, 2 * n))
    if strided:  # rows with gaps take the plain loop
        a, b = a[:, ::2], b[:, ::2]
    else:
        a, b = np.ascontiguousarray(a[:, :n]), np.ascontiguousarray(b[:, :n])
    keep, step = rng.uniform(0.5, 1.0), rng.uniform(-1.0, 1.0)
    old = a[1].copy()
    others = a[[0, 2]].copy()
    dot = update_row_dot(a, 1, b, 2, keep, step)
    assert abs(dot - old @ b[2]) <= RTOL * (np.abs(old) @ np.abs(b[2]))
    assert_allclose(a[1], keep * old - step * b[2], rtol=1e-15, atol=1e-15)
    assert np.array_equal(a[[0, 2]], others)
