"""The gradient pass of the Euler-Maruyama kernel, eight particles at a time.

For particles ``i0 .. i1 - 1`` this adds the logit residuals
``r_i = softmax(W x_i) - e_{c_i}`` to the rows ``c_i`` of a class table (the caller
applies ``W^T`` once per class) and, on request, stores ``||g_i|| = ||W^T r_i||``
(the scale of gradient-proportional noise).

Eight particles are handled together with one particle per vector lane: their
features are transposed into eight-lane columns (:func:`~simnet.kernels.vector.
transpose8`, three rounds of lane shuffles), so every reduction over logits (the
maximum, the softmax sum, the gradient norm) is a chain of vertical vector
operations, with no horizontal step per particle. Everything works on raw byte
addresses of L1-sized scratch space: no array is passed to a compiled function
inside the loop, so there is no reference counting there.

Summation order (fixed by the code, so the bits depend only on ``i0`` and ``i1``):
the logits ``sum_q W[j, q] x[q]`` in one chain of increasing ``q``;
within a run of consecutive groups of eight that hold a single class, each logit's
residuals are summed lane by lane and the eight lanes are added (``hsum8``) to the
class row when the class changes or at ``i1``; a group that mixes classes adds its
particles to their rows one by one.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .prefetch import prefetch_bytes
from .vector import (
    add8,
    div8,
    exp_nonpositive8,
    fma8,
    hsum8,
    indicator8,
    lane,
    load_double,
    max8,
    splat8,
    sqrt8,
    store_double,
    sub8,
    transpose8,
    vbroadcast,
    vload,
    vload_int_masked,
    vstore,
    vstore_masked,
    zero8,
    zero_outside8,
)

# identity-head widths with a pass of their own (the branches of residual_rows)
SPECIALISED_WIDTHS = (8, 16, 32)
PREFETCH_GROUPS = 4  # groups of eight particles (4 KB at p = 16) ahead


@njit(cache=True, inline="always")
def _row_times_columns(prow, step, n, pcols):
    """``sum_k row[k] cols[k]`` (k < n): the doubles ``row[k]`` at ``prow + k step``
    times the eight-lane columns at ``pcols + 64 k``, one chain of fused
    multiply-adds in increasing ``k``."""
    acc = zero8()
    for k in range(n):
        acc = fma8(vbroadcast(prow + k * step), vload(pcols + 64 * k), acc)
    return acc


@njit(cache=True, inline="always")
def _rows_times_columns(pw, lda, step, n_rows, n, pcols, pdst, square_into):
    """For the rows ``r < n_rows`` of a matrix (row ``r`` at ``pw + r lda``, entry ``k``
    at ``+ k step``): ``out_r = sum_k w[r, k] cols[k]`` as :func:`_row_times_columns`
    (the same order), eight rows per pass over the columns so each column load
    serves eight rows. Stores ``out_r`` at ``pdst + 64 r`` if ``pdst``, else returns
    ``square_into + sum_r out_r^2`` (rows in order)."""
    squares = square_into
    r = 0
    while r + 8 <= n_rows:
        p0 = pw + r * lda
        a0 = zero8()
        a1 = zero8()
        a2 = zero8()
        a3 = zero8()
        a4 = zero8()
        a5 = zero8()
        a6 = zero8()
        a7 = zero8()
        for k in range(n):
            col = vload(pcols + 64 * k)
            pk = p0 + k * step
            a0 = fma8(vbroadcast(pk), col, a0)
            a1 = fma8(vbroadcast(pk + lda), col, a1)
            a2 = fma8(vbroadcast(pk + 2 * lda), col, a2)
            a3 = fma8(vbroadcast(pk + 3 * lda), col, a3)
            a4 = fma8(vbroadcast(pk + 4 * lda), col, a4)
            a5 = fma8(vbroadcast(pk + 5 * lda), col, a5)
            a6 = fma8(vbroadcast(pk + 6 * lda), col, a6)
            a7 = fma8(vbroadcast(pk + 7 * lda), col, a7)
        if pdst != 0:
            pd = pdst + 64 * r
            vstore(pd, a0)
            vstore(pd + 64, a1)
            vstore(pd + 128, a2)
            vstore(pd + 192, a3)
            vstore(pd + 256, a4)
            vstore(pd + 320, a5)
            vstore(pd + 384, a6)
            vstore(pd + 448, a7)
        else:
            squares = fma8(a0, a0, squares)
            squares = fma8(a1, a1, squares)
            squares = fma8(a2, a2, squares)
            squares = fma8(a3, a3, squares)
            squares = fma8(a4, a4, squares)
            squares = fma8(a5, a5, squares)
            squares = fma8(a6, a6, squares)
            squares = fma8(a7, a7, squares)
        r += 8
    while r < n_rows:
        acc = _row_times_columns(pw + r * lda, step, n, pcols)
        if pdst != 0:
            vstore(pdst + 64 * r, acc)
        else:
            squares = fma8(acc, acc, squares)
        r += 1
    return squares


@njit(cache=True, inline="always")
def _flush(pacc, n_out, pout, run):
    """Add the eight lanes of each running residual sum to the class row ``run``
    (if any) and clear them."""
    if run < 0:
        return
    prow = pout + 8 * n_out * run
    for j in range(n_out):
        store_double(
            prow + 8 * j, load_double(prow + 8 * j) + hsum8(vload(pacc + 64 * j))
        )
        vstore(pacc + 64 * j, zero8())


@njit(cache=True, inline="always")
def _norm_term(d, j, identity, pzz, squares, odd):
    """Take the residual ``d`` of logit ``j`` (eight particles) into their gradient
    norms: with the identity head its square goes into one of two running sums (a
    single chain of multiply-adds would wait on latency), otherwise it is kept at
    ``pzz + 64 j`` for ``W^T d``. Returns the two sums."""
    if not identity:
        vstore(pzz + 64 * j, d)
    elif j & 1:
        odd = fma8(d, d, odd)
    else:
        squares = fma8(d, d, squares)
    return squares, odd


@njit(cache=True, error_model="numpy")
def residual_rows(
    px,
    p,
    plabels,
    i0,
    i1,
    pa,
    lda,
    n_out,
    want_norm,
    pgnorm,
    pout,
    pxt,
    pz,
    pacc,
):
    """Logit residuals of particles ``i0 .. i1 - 1``, summed per class; return False
    (at once) if a logit is NaN or infinite.

    With the identity head, the widths in ``SPECIALISED_WIDTHS`` run their own
    compiled copy of the pass, with ``p`` a constant, so the loops over features
    have known trip counts and unroll: at p = 16 the pass took about 18% less time
    than the general code (:func:`residual_rows_general`, which every other case
    runs), with the same bits.

    Parameters (all addresses are byte addresses of float64 or int64 data)
    ----------
    px, p : int
        The particles (rows of ``p`` doubles, C order) and their dimension.
    plabels : int
        The int64 class of each particle.
    pa, lda, n_out : int
        The head: ``n_out`` rows of ``p`` doubles, ``lda`` bytes apart; ``pa == 0``
        for the identity head (``n_out == p``).
    want_norm : bool
        Also store ``||W^T r_i||`` at ``pgnorm + 8 i``.
    pout : int
        The class table (rows of ``n_out`` doubles) the residuals are added to.
    pxt, pz, pacc : int
        Scratch of ``8 p``, ``8 n_out`` and ``8 n_out`` doubles; ``pacc`` zero on
        entry (and left zero when the pass succeeds).
    """
    # the identity head at the common widths: p, n_out and the head constants
    if pa == 0 and p == 16:
        return _at_width(px, 16, plabels, i0, i1, want_norm, pgnorm, pout, pxt, pacc)
    if pa == 0 and p == 8:
        return _at_width(px, 8, plabels, i0, i1, want_norm, pgnorm, pout, pxt, pacc)
    if pa == 0 and p == 32:
        return _at_width(px, 32, plabels, i0, i1, want_norm, pgnorm, pout, pxt, pacc)
    return residual_rows_general(
        px, p, plabels, i0, i1, pa, lda, n_out, want_norm, pgnorm, pout, pxt, pz, pacc
    )


@njit(cache=True, error_model="numpy", inline="always")
def _at_width(px, p, plabels, i0, i1, want_norm, pgnorm, pout, pxt, pacc):
    """:func:`residual_rows` with the identity head, for a constant ``p``."""
    return residual_rows_general(
        px, p, plabels, i0, i1, 0, 8 * p, p, want_norm, pgnorm, pout, pxt, pxt, pacc
    )


@njit(cache=True, error_model="numpy")
def residual_rows_general(
    px,
    p,
    plabels,
    i0,
    i1,
    pa,
    lda,
    n_out,
    want_norm,
    pgnorm,
    pout,
    pxt,
    pz,
    pacc,
):
    """:func:`residual_rows` for any width and head (the general code). Called with
    constant arguments (:func:`_at_width`), LLVM inlines it with them (measured: as
    fast as a numba-level inline, and it compiles in the same time)."""
    identity = pa == 0
    zero = zero8()
    run = -1
    for g0 in range(i0, i1, 8):
        rows = min(8, i1 - g0)
        prow = px + 8 * p * g0
        # the particles a few groups ahead (the hardware prefetcher alone falls behind)
        prefetch_bytes(prow + 64 * p * PREFETCH_GROUPS, 64 * p)
        # two blocks of features per iteration: the loads of both go out together
        c0 = 0
        while c0 + 16 <= p:
            transpose8(prow + 8 * c0, 8 * p, rows, 8, pxt + 64 * c0)
            transpose8(prow + 8 * c0 + 64, 8 * p, rows, 8, pxt + 64 * c0 + 512)
            c0 += 16
        while c0 < p:
            transpose8(prow + 8 * c0, 8 * p, rows, min(8, p - c0), pxt + 64 * c0)
            c0 += 8
        pzz = pxt
        if not identity:
            pzz = pz
            _rows_times_columns(pa, lda, 8, n_out, p, pxt, pz, zero)
        top = vload(pzz)
        probe = fma8(top, zero, zero)
        for j in range(1, n_out):
            v = vload(pzz + 64 * j)
            top = max8(v, top)
            probe = fma8(v, zero, probe)
        if not hsum8(probe) == 0.0:
            return False
        total = zero8()
        for j in range(n_out):
            e = exp_nonpositive8(sub8(vload(pzz + 64 * j), top))
            vstore(pzz + 64 * j, e)
            total = add8(total, e)
        inv = div8(splat8(1.0), total)
        labels = vload_int_masked(plabels + 8 * g0, 0, rows, -1.0)
        first = lane(labels, 0)
        squares = zero8()
        odd = zero8()  # the second chain of squares (see _norm_term)
        if hsum8(indicator8(labels, first)) == rows:  # one class in the group
            c = np.int64(first)
            if c != run:
                _flush(pacc, n_out, pout, run)
                run = c
            for j in range(n_out):
                d = fma8(vload(pzz + 64 * j), inv, splat8(-1.0 if j == c else -0.0))
                if rows < 8:
                    d = zero_outside8(d, 0, rows)
                vstore(pacc + 64 * j, add8(vload(pacc + 64 * j), d))
                if want_norm:
                    squares, odd = _norm_term(d, j, identity, pzz, squares, odd)
        else:
            _flush(pacc, n_out, pout, run)
            run = -1
            for s in range(rows):
                c = np.int64(lane(labels, s))
                inv_s = lane(inv, s)
                prow_c = pout + 8 * n_out * c
                for j in range(n_out):
                    r = load_double(pzz + 64 * j + 8 * s) * inv_s
                    r -= 1.0 if j == c else 0.0
                    store_double(prow_c + 8 * j, load_double(prow_c + 8 * j) + r)
            for j in range(n_out if want_norm else 0):
                one_hot = indicator8(labels, float(j))
                d = fma8(vload(pzz + 64 * j), inv, sub8(zero, one_hot))
                squares, odd = _norm_term(d, j, identity, pzz, squares, odd)
        if want_norm:
            squares = add8(squares, odd)
            if not identity:  # ||W^T d||^2, W^T d made eight features at a time
                squares = _rows_times_columns(pa, 8, lda, p, n_out, pz, 0, squares)
            if rows == 8:
                vstore(pgnorm + 8 * g0, sqrt8(squares))
            else:
                vstore_masked(pgnorm + 8 * g0, 0, rows, sqrt8(squares))
    _flush(pacc, n_out, pout, run)
    return True
