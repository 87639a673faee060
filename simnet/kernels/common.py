"""Shared numba helpers: a stable cross-entropy gradient and a vectorisable exp."""

from __future__ import annotations

import numpy as np
from numba import njit

from .bits import float_from_bits
from .vector import (
    EXP_FLOOR,
    EXP_P,
    EXP_Q,
    LN2_HI,
    LN2_LO,
    LOG2E,
    add8,
    address,
    all_finite,
    exp_nonpositive8,
    has_masked_vectors,
    has_wide_registers,
    hmax8,
    hsum8,
    line_offset,
    load_double,
    matvec,
    matvec_rows_at,
    matvec_t,
    matvec_t_cols_at,
    max8,
    maximum,
    mul8,
    splat8,
    store_double,
    sub8,
    total,
    vload,
    vload_masked,
    vstore,
    vstore_masked,
    zero8,
    zero_outside8,
)

__all__ = [
    "all_finite",
    "ce_grad",
    "ce_grad_at",
    "ce_grad_at_ok",
    "exp_nonpositive_one",
]

_EXP_P0, _EXP_P1, _EXP_P2 = EXP_P
_EXP_Q0, _EXP_Q1, _EXP_Q2, _EXP_Q3 = EXP_Q


@njit(cache=True, error_model="numpy")
def ce_grad(x, head, label, z, out, want_loss):
    """Cross-entropy gradient with respect to the feature ``x``.

    ``out = W^T (softmax(W x) - e_label)`` with ``W = head`` (an empty head, shape
    (0, p), is the identity), stable by subtracting the largest logit (log-sum-exp);
    the loss is returned if ``want_loss``, else 0. ``z`` (K,) is a scratch buffer.

    Where :func:`ce_grad_at_ok` holds (a CPU with 512-bit vectors and masked loads,
    arrays without gaps) this is :func:`ce_grad_at` on the arrays' addresses, the
    form the kernels call in their loops. Otherwise both products read ``W`` row by
    row (:func:`~simnet.kernels.vector.matvec` and
    :func:`~simnet.kernels.vector.matvec_t`: one copy of the head), the shifted
    exponentials are one SIMD pass (:func:`exp_nonpositive_one`) and the
    normalisation is applied to the p outputs (``W^T softmax = (W^T e) / sum e``).
    """
    if ce_grad_at_ok(x, head, z, out):
        return ce_grad_at(
            address(head),
            head.strides[0],
            head.shape[0],
            out.shape[0],
            address(x),
            label,
            address(z),
            address(out),
            want_loss,
        )
    k = z.shape[0]
    if head.shape[0] == 0:
        for j in range(k):
            z[j] = x[j]
        zmax = maximum(z)
    else:
        zmax = matvec(head, x, z)  # the largest logit comes with the product
    z_label = z[label]
    for j in range(k):
        z[j] = exp_nonpositive_one(z[j] - zmax)
    norm = total(z)
    loss = 0.0
    if want_loss:
        loss = np.log(norm) + zmax - z_label
    inv = 1.0 / norm
    if head.shape[0] == 0:
        for j in range(k):
            out[j] = z[j] * inv
        out[label] -= 1.0
    else:
        matvec_t(head, z, out)
        for q in range(out.shape[0]):
            out[q] = out[q] * inv - head[label, q]
    return loss


@njit(cache=True, inline="always")
def ce_grad_at_ok(x, head, z, out):
    """Whether :func:`ce_grad_at` may stand for :func:`ce_grad` on these arrays: a
    CPU with 512-bit vectors and masked loads, and rows without gaps."""
    return (
        has_wide_registers()
        and has_masked_vectors()
        and x.strides[0] == 8
        and z.strides[0] == 8
        and out.strides[0] == 8
        and (head.shape[0] == 0 or head.strides[1] == 8)
    )


@njit(cache=True, error_model="numpy")
def ce_grad_at(pa, lda, n_rows, p, px, label, pz, pout, want_loss):
    """:func:`ce_grad` on raw byte addresses: the head's ``n_rows`` rows of ``p``
    doubles at ``pa``, ``lda`` bytes apart (``n_rows == 0``: the identity head, K =
    p), the feature ``x`` at ``px``, the scratch ``z`` (K doubles) at ``pz`` and the
    gradient (p doubles) at ``pout``.

    Kernels call this form in their loops: its arguments are plain integers, so a
    call costs no reference counting (passing arrays to a compiled function does, an
    atomic increment and decrement per array, which took a quarter of a small SGD
    step). Only for CPUs with 512-bit vectors and masked loads
    (:func:`ce_grad_at_ok`).

    Order of operations: the logits as in :func:`~simnet.kernels.vector.matvec`,
    which also returns the largest; the shifted exponentials
    (:func:`~simnet.kernels.vector.exp_nonpositive8`) and their sum in eight lanes
    (``j = c (mod 8)``, reduced by ``hsum8``); ``W^T e`` as in
    :func:`~simnet.kernels.vector.matvec_t`; then ``out = (W^T e) / S - W_label``.
    """
    if n_rows == 0:
        k = p
        top8 = splat8(-np.inf)
        col = 0
        while col + 8 <= k:
            v = vload(px + 8 * col)
            vstore(pz + 8 * col, v)
            top8 = max8(v, top8)
            col += 8
        if col < k:
            v = vload_masked(px + 8 * col, col, k, -np.inf)
            vstore_masked(pz + 8 * col, col, k, v)
            top8 = max8(v, top8)
        zmax = hmax8(top8)
    else:
        k = n_rows
        zmax = matvec_rows_at(pa, lda, px, pz, k, p, line_offset(pa, lda, p))
    z_label = load_double(pz + 8 * label)
    shift = splat8(zmax)
    acc = zero8()
    col = 0
    while col + 8 <= k:
        e = exp_nonpositive8(sub8(vload(pz + 8 * col), shift))
        vstore(pz + 8 * col, e)
        acc = add8(acc, e)
        col += 8
    if col < k:
        v = vload_masked(pz + 8 * col, col, k, 0.0)
        e = zero_outside8(exp_nonpositive8(sub8(v, shift)), col, k)
        vstore_masked(pz + 8 * col, col, k, e)
        acc = add8(acc, e)
    norm = hsum8(acc)
    loss = np.log(norm) + zmax - z_label if want_loss else 0.0
    inv = splat8(1.0 / norm)
    if n_rows == 0:
        col = 0
        while col < k:
            v = vload_masked(pz + 8 * col, col, k, 0.0)
            vstore_masked(pout + 8 * col, col, k, mul8(v, inv))
            col += 8
        store_double(pout + 8 * label, load_double(pout + 8 * label) - 1.0)
        return loss
    matvec_t_cols_at(pa, lda, pz, pout, k, p, line_offset(pa, lda, p))
    row = pa + label * lda
    col = 0
    while col + 8 <= p:
        g = sub8(mul8(vload(pout + 8 * col), inv), vload(row + 8 * col))
        vstore(pout + 8 * col, g)
        col += 8
    if col < p:
        o = vload_masked(pout + 8 * col, col, p, 0.0)
        r = vload_masked(row + 8 * col, col, p, 0.0)
        vstore_masked(pout + 8 * col, col, p, sub8(mul8(o, inv), r))
    return loss


@njit(cache=True, error_model="numpy", fastmath={"contract"})
def exp_nonpositive_one(x):
    """``exp(x)`` for ``x <= 0`` (softmax terms), branch-free, to call in SIMD loops.

    Range reduction ``x = k ln2 + r`` with |r| <= ln2/2 (Cody-Waite split of ln2),
    then Cephes' rational form ``exp(r) = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2))``
    (``exp.c`` of the Cephes library, S. L. Moshier), times 2^k made from its bits
    (:func:`~simnet.kernels.bits.float_from_bits`, a register bit cast). Accurate
    to about 1 ulp (within 1.5 ulp of ``np.exp`` in the tests); 7 multiply-adds and
    one division per value (the division has its own unit, and
    ``error_model="numpy"`` lets a loop of calls vectorise). Inputs below -708 are
    raised to -708 (a term below 3.3e-308, negligible next to the softmax maximum's
    1).
    """
    x = max(x, EXP_FLOOR)
    k = np.rint(x * LOG2E)
    r = (x - k * LN2_HI) - k * LN2_LO
    rr = r * r
    px = r * ((_EXP_P0 * rr + _EXP_P1) * rr + _EXP_P2)
    q = ((_EXP_Q0 * rr + _EXP_Q1) * rr + _EXP_Q2) * rr + _EXP_Q3
    return (1.0 + 2.0 * (px / (q - px))) * float_from_bits((np.int64(k) + 1023) << 52)
