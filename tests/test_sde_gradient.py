"""The gradient pass of the Euler-Maruyama kernel (``simnet.kernels.sde_gradient``)
and the 8 x 8 transpose it is built on agree with plain numpy: class sums of the
logit residuals ``softmax(W x_i) - e_{c_i}`` and the gradient norms ``||W^T r_i||``,
on random heads (identity or linear, up to 20 logits and features, past the
eight-row blocks, and the identity widths that have a compiled pass of their own),
ragged particle ranges and labels sorted or mixed."""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given
from hypothesis import strategies as st
from numba import njit
from numpy.testing import assert_allclose, assert_array_equal
from strategies import seeds

from simnet.kernels.sde_gradient import (
    SPECIALISED_WIDTHS,
    residual_rows,
    residual_rows_general,
)
from simnet.kernels.vector import transpose8


@njit(cache=False)
def _transpose(src, stride, rows, cols, dst):
    transpose8(src, stride, rows, cols, dst)


@given(rows=st.integers(1, 8), cols=st.integers(1, 8), seed=seeds)
def test_transpose8_matches_numpy(rows, cols, seed):
    """Column c < cols of the block goes to row c of the output, rows past ``rows``
    read as zero; output rows past ``cols`` are not written."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((8, 11))  # rows 11 doubles apart
    out = np.full((9, 8), 7.0)
    _transpose(a.ctypes.data, a.strides[0], rows, cols, out.ctypes.data)
    want = np.zeros((8, 8))
    want[:rows, :cols] = a[:rows, :cols]
    assert_array_equal(out[:cols], want.T[:cols])
    assert np.all(out[cols:] == 7.0)


def _residuals(x, head, labels):
    """softmax(W x_i) - e_{c_i} per row, and ||W^T r_i||, in plain numpy."""
    z = x if head.shape[0] == 0 else x @ head.T
    z = z - z.max(axis=1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    r = prob.copy()
    r[np.arange(len(labels)), labels] -= 1.0
    g = r if head.shape[0] == 0 else r @ head
    return r, np.linalg.norm(g, axis=1)


def _run(x, head, labels, i0, i1, out, gnorm, want_norm, rows=residual_rows):
    p = x.shape[1]
    n_out = head.shape[0] if head.shape[0] else p
    xt = np.empty((p, 8))
    z = np.empty((n_out, 8))
    acc = np.zeros((n_out, 8))
    ok = rows(
        x.ctypes.data,
        p,
        labels.ctypes.data,
        i0,
        i1,
        head.ctypes.data if head.shape[0] else 0,
        head.strides[0],
        n_out,
        want_norm,
        gnorm.ctypes.data,
        out.ctypes.data,
        xt.ctypes.data,
        z.ctypes.data,
        acc.ctypes.data,
    )
    assert not ok or np.all(acc == 0.0)  # the running sums are left clear
    return ok


@given(
    n=st.integers(1, 100),
    k=st.one_of(st.integers(2, 20), st.sampled_from(SPECIALISED_WIDTHS)),
    p=st.integers(1, 20),
    identity=st.booleans(),
    sort_labels=st.booleans(),
    want_norm=st.booleans(),
    scale=st.sampled_from([1e-3, 1.0, 30.0]),
    seed=seeds,
)
def test_residual_rows_match_numpy(
    n, k, p, identity, sort_labels, want_norm, scale, seed
):
    rng = np.random.default_rng(seed)
    head, p = ref.random_head(rng, k, p, identity)
    x = rng.standard_normal((n, p)) * scale
    labels = rng.integers(0, k, size=n)
    if sort_labels:
        labels.sort()
    i0, i1 = sorted(int(v) for v in rng.integers(0, n + 1, size=2))
    n_out = head.shape[0] if head.shape[0] else p
    out = rng.standard_normal((k, n_out))
    out0 = out.copy()
    gnorm = np.full(n, -1.0)
    assert _run(x, head, labels, i0, i1, out, gnorm, want_norm)
    r, norms = _residuals(x[i0:i1], head, labels[i0:i1])
    want = out0.copy()
    np.add.at(want, labels[i0:i1], r)
    assert_allclose(out, want, rtol=1e-10, atol=1e-12 * max(1, i1 - i0))
    if want_norm:
        assert_allclose(gnorm[i0:i1], norms, rtol=1e-10, atol=1e-13)
        assert np.all(gnorm[:i0] == -1.0) and np.all(gnorm[i1:] == -1.0)
    else:
        assert np.all(gnorm == -1.0)


@given(identity=st.booleans(), bad=st.sampled_from([np.nan, np.inf, -np.inf]))
def test_residual_rows_stop_at_a_non_finite_feature(identity, bad):
    """A NaN or infinite feature anywhere in the range makes the pass return False."""
    rng = np.random.default_rng(1)
    k, p, n = 5, 5, 37
    head = np.empty((0, p)) if identity else rng.standard_normal((k, p))
    x = rng.standard_normal((n, p))
    x[29, 3] = bad
    labels = np.sort(rng.integers(0, k, size=n))
    out = np.zeros((k, head.shape[0] if head.shape[0] else p))
    assert not _run(x, head, labels, 0, n, out, np.zeros(n), True)
    assert _run(x, head, labels, 0, 29, out, np.zeros(n), True)


@given(
    p=st.sampled_from(SPECIALISED_WIDTHS),
    n=st.integers(1, 70),
    want_norm=st.booleans(),
    sort_labels=st.booleans(),
    seed=seeds,
)
def test_specialised_widths_give_the_bits_of_the_general_pass(
    p, n, want_norm, sort_labels, seed
):
    """The compiled copies for the identity widths in ``SPECIALISED_WIDTHS`` change
    the speed, not the arithmetic: class sums and norms equal bit for bit."""
    rng = np.random.default_rng(seed)
    head = np.empty((0, p))
    x = rng.standard_normal((n, p)) * 5.0
    labels = rng.integers(0, p, size=n)
    if sort_labels:
        labels.sort()
    i0, i1 = sorted(int(v) for v in rng.integers(0, n + 1, size=2))
    start = rng.standard_normal((p, p))
    out = [start.copy(), start.copy()]
    norms = [np.full(n, -1.0), np.full(n, -1.0)]
    pairs = zip((residual_rows, residual_rows_general), out, norms, strict=True)
    for fn, o, g in pairs:
        assert _run(x, head, labels, i0, i1, o, g, want_norm, rows=fn)
    assert_array_equal(out[0], out[1])
    assert_array_equal(norms[0], norms[1])
