"""Shared numba helpers: a stable cross-entropy gradient and a vectorisable exp."""

from __future__ import annotations

import numpy as np
from numba import njit

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_FLOOR = -708.0  # exp(-708) is still a normal float64


@njit(cache=True)
def transpose_head(head):
    """A C-contiguous copy of ``head.T`` (shape (p, K)), or the empty head."""
    k, p = head.shape
    out = np.empty((p if k > 0 else 0, k))
    for j in range(k):
        for q in range(p):
            out[q, j] = head[j, q]
    return out


@njit(cache=True)
def ce_grad(x, head, head_t, label, z, out, want_loss):
    """Cross-entropy gradient with respect to the feature ``x``.

    ``out = W^T (softmax(W x) - e_label)`` with ``W = head``; an empty head (shape
    (0, p)) means the identity (features are logits). ``head_t`` is ``head.T`` made
    contiguous (see :func:`transpose_head`): both products then run along contiguous
    rows and vectorise, while each output is summed in the natural order. ``z`` is a
    scratch buffer of length K. The softmax subtracts the maximum logit (stable
    log-sum-exp). Returns the loss if ``want_loss``, else 0.
    """
    p = x.shape[0]
    k = z.shape[0]
    identity = head.shape[0] == 0
    if identity:
        for j in range(k):
            z[j] = x[j]
    else:
        for j in range(k):
            z[j] = 0.0
        for q in range(p):
            xq = x[q]
            for j in range(k):
                z[j] += head_t[q, j] * xq
    z_label = z[label]
    zmax = z[0]
    for j in range(1, k):
        if z[j] > zmax:
            zmax = z[j]
    total = 0.0
    for j in range(k):
        z[j] = np.exp(z[j] - zmax)
        total += z[j]
    loss = 0.0
    if want_loss:
        loss = np.log(total) + zmax - z_label
    inv = 1.0 / total
    for j in range(k):
        z[j] *= inv
    z[label] -= 1.0
    if identity:
        for j in range(k):
            out[j] = z[j]
    else:
        for q in range(p):
            out[q] = 0.0
        for j in range(k):
            zj = z[j]
            for q in range(p):
                out[q] += head[j, q] * zj
    return loss


@njit(cache=True)
def all_finite(x):
    """True if every entry of the 1-D array ``x`` is finite."""
    for j in range(x.shape[0]):
        if not np.isfinite(x[j]):
            return False
    return True


@njit(cache=True, fastmath={"contract"})
def exp_nonpositive(z, kbuf):
    """In place ``z <- exp(z)`` for ``z <= 0`` (softmax terms), in two SIMD-friendly
    passes; ``kbuf`` is an int64 scratch array of the same length.

    Range reduction ``z = k ln2 + r`` with |r| <= ln2/2 (Cody-Waite split of ln2),
    then a degree-13 Taylor polynomial (truncation error below 1e-17 relative) times
    2^k built from its bits. Accurate to about 1 ulp. Inputs below -708 are raised to
    -708 (a term below 3.3e-308, negligible next to the softmax maximum's 1).
    """
    n = z.shape[0]
    for i in range(n):
        x = max(z[i], _EXP_FLOOR)
        k = np.rint(x * _LOG2E)
        z[i] = (x - k * _LN2_HI) - k * _LN2_LO
        kbuf[i] = (np.int64(k) + 1023) << 52
    scale = kbuf.view(np.float64)
    for i in range(n):
        r = z[i]
        q = 1.0 / 6227020800.0
        q = q * r + 1.0 / 479001600.0
        q = q * r + 1.0 / 39916800.0
        q = q * r + 1.0 / 3628800.0
        q = q * r + 1.0 / 362880.0
        q = q * r + 1.0 / 40320.0
        q = q * r + 1.0 / 5040.0
        q = q * r + 1.0 / 720.0
        q = q * r + 1.0 / 120.0
        q = q * r + 1.0 / 24.0
        q = q * r + 1.0 / 6.0
        q = q * r + 0.5
        q = q * r + 1.0
        q = q * r + 1.0
        z[i] = q * scale[i]
