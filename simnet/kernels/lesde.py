"""Numba kernels of the impact-matrix (LE-SDE) particle model: SGD, SDE and ODE.

See ``MODEL.md`` section 3 and Zhang, Wang & Su (NeurIPS 2021). The impact matrix is
``E(t) = sum_r coef[t, r] * basis[r]``; the SGD kernel reads it through its group
form (:mod:`simnet.models.impact_groups`) and column by column, the SDE and ODE
kernels as a whole.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .common import (
    all_finite,
    ce_grad,
    ce_grad_at,
    ce_grad_at_ok,
)
from .normal import (
    box_muller8,
    draw_key,
    interleave8,
    new_scratch,
    normal_block,
    stream_from_key,
)
from .prefetch import prefetch_samples
from .sde_gradient import residual_rows
from .vector import (
    add8,
    address,
    fma8,
    hsum8,
    mul8,
    splat8,
    vbroadcast,
    vload,
    vload_masked,
    vstore,
    vstore_masked,
    zero8,
)

# Surrogate gradients of the class-mean LE-ODE.
SURROGATE_CE = 0
SURROGATE_IDENTITY = 1
SURROGATE_PROJECTED = 2
SURROGATE_ETF = 3

METHOD_EULER = 0
METHOD_RK4 = 1

N_BLOCKS = 64  # fixed reduction blocks: results do not depend on the thread count


@njit(cache=True, error_model="numpy")
def lesde_sgd_steps(
    base,
    offsets,
    group_offsets,
    labels,
    groups,
    coef,
    head,
    batches,
    sigma,
    last_touch,
    rng,
    step0,
):
    """Discrete SGD imitation with lazy class offsets; return the failing row or -1.

    Particle i is ``base[i] + offsets[c] + sum_{m in groups of c} group_offsets[m]``
    with ``c = labels[i]``. A step on minibatch B moves every particle j by
    ``-(1/|B|) sum_{i in B} E[c_j, c_i] g_i``, done by moving offsets instead of
    particles. ``groups`` is the :class:`~simnet.models.impact_groups.ImpactGroups`
    form of the basis matrices: its grouped part moves one offset per group of the
    sampled class (O(|B| depth p) a step), its dense part all K class offsets
    (O(|B| K p)). Isotropic noise N(0, sigma^2 I) per particle and per step is
    realised lazily: when particle i is touched at step s, the
    ``s - last_touch[i]`` increments it owes are drawn at once as one Gaussian of
    variance ``(s - last_touch[i]) sigma^2`` (exact in distribution).
    """
    n_steps, bsize = batches.shape
    n_classes = offsets.shape[0]
    p = base.shape[1]
    group_ptr = groups.ptr
    group_idx = groups.idx
    group_weights = groups.weights
    dense = groups.dense
    has_dense = groups.has_dense
    n_terms = dense.shape[0]
    x = np.empty(p)
    z = np.empty(n_classes if head.shape[0] == 0 else head.shape[0])
    grads = np.empty((bsize, p))
    inv_b = 1.0 / bsize
    # dense_t[r, c, k] = dense[r, k, c]: the column E[:, c] is read contiguously.
    dense_t = np.empty((n_terms if has_dense else 0, n_classes, n_classes))
    for r in range(dense_t.shape[0]):
        for a in range(n_classes):
            for c in range(n_classes):
                dense_t[r, c, a] = dense[r, a, c]
    col = np.empty(n_classes)
    # the gradient on raw addresses (no reference counting in the loop) where it can
    raw = bsize > 0 and ce_grad_at_ok(x, head, z, grads[0])
    pa, lda, n_rows = address(head), head.strides[0], head.shape[0]
    px, pz, pg, g_stride = address(x), address(z), address(grads), grads.strides[0]
    for t in range(n_steps):
        step = step0 + t
        prefetch_samples(batches, t, base, labels, last_touch, sigma > 0.0)
        for b in range(bsize):
            i = batches[t, b]
            c = labels[i]
            if sigma > 0.0 and last_touch[i] < step:
                s = sigma * np.sqrt(step - last_touch[i])
                for q in range(p):
                    base[i, q] += s * rng.standard_normal()
                last_touch[i] = step
            for q in range(p):
                x[q] = base[i, q] + offsets[c, q]
            for a in range(group_ptr[c], group_ptr[c + 1]):
                m = group_idx[a]
                for q in range(p):
                    x[q] += group_offsets[m, q]
            if not all_finite(x):
                return t
            if raw:
                ce_grad_at(pa, lda, n_rows, p, px, c, pz, pg + b * g_stride, False)
            else:
                ce_grad(x, head, c, z, grads[b], False)
        for b in range(bsize):
            c = labels[batches[t, b]]
            for a in range(group_ptr[c], group_ptr[c + 1]):
                m = group_idx[a]
                w = 0.0
                for r in range(n_terms):
                    w += coef[t, r] * group_weights[r, m]
                w *= inv_b
                if w != 0.0:
                    for q in range(p):
                        group_offsets[m, q] -= w * grads[b, q]
            if has_dense:
                for k in range(n_classes):
                    col[k] = 0.0
                for r in range(n_terms):
                    w = coef[t, r]
                    for k in range(n_classes):
                        col[k] += w * dense_t[r, c, k]
                for k in range(n_classes):
                    e = col[k] * inv_b
                    if e != 0.0:
                        for q in range(p):
                            offsets[k, q] -= e * grads[b, q]
    return -1


@njit(cache=True)
def flush_noise(base, sigma, last_touch, rng, step):
    """Realise the noise every particle owes up to ``step`` (before observing)."""
    p = base.shape[1]
    for i in range(base.shape[0]):
        if last_touch[i] < step:
            s = sigma * np.sqrt(step - last_touch[i])
            for q in range(p):
                base[i, q] += s * rng.standard_normal()
            last_touch[i] = step


_NOISE_CHUNK = 1024  # normals per noise chunk of the update pass (in L1)


@njit(cache=True, error_model="numpy")
def _block_gradient(x, labels, head, lo, hi, want_norm, gnorm, out):
    """Add the logit residuals of particles ``lo..hi-1`` to the class rows of ``out``
    (:func:`~simnet.kernels.sde_gradient.residual_rows`) and, if ``want_norm``, store
    ``||g_i||`` in ``gnorm``; return False if a logit is NaN or infinite."""
    p = x.shape[1]
    n_out = p if head.shape[0] == 0 else head.shape[0]
    xt = np.empty((p, 8))
    z = np.empty((n_out, 8))
    acc = np.zeros((n_out, 8))
    return residual_rows(
        address(x),
        p,
        address(labels),
        lo,
        hi,
        address(head) if head.shape[0] > 0 else 0,
        head.strides[0],
        n_out,
        want_norm,
        address(gnorm),
        address(out),
        address(xt),
        address(z),
        address(acc),
    )


@njit(cache=True, inline="always")
def _add_group(pxq, pdq, s, z, col, p, probe):
    """``x[col + l] += drift[col + l] + s z[l]`` in the lanes with ``col + l < p``
    (``pxq``, ``pdq``: the addresses of ``x[col]`` and ``drift[col]``); return
    ``probe + 0 v`` (NaN in a lane where the new value ``v`` is NaN or infinite)."""
    if col + 8 <= p:
        v = add8(vload(pxq), add8(vload(pdq), mul8(s, z)))
        vstore(pxq, v)
    else:
        v = add8(
            vload_masked(pxq, col, p, 0.0),
            add8(vload_masked(pdq, col, p, 0.0), mul8(s, z)),
        )
        vstore_masked(pxq, col, p, v)
    return fma8(v, zero8(), probe)


@njit(cache=True, error_model="numpy", inline="always")
def _update_rows_by_sixteen(
    px, pd, labels, i0, i1, p, noise_scale, want_norm, gnorm, seed, gamma
):
    """:func:`_update_rows` with noise and ``p`` a multiple of 16 (``px`` the
    address of row ``i0``, ``pd`` of the drift table): sixteen normals per
    :func:`~simnet.kernels.normal.box_muller8` call, no masked group."""
    row_bytes = 8 * p
    s_const = splat8(noise_scale)
    pg = address(gnorm)  # the gradient norms, broadcast from memory (one load a row)
    zero = zero8()
    probe = zero8()
    for i in range(i0, i1):
        pc = pd + labels[i] * row_bytes
        s = mul8(vbroadcast(pg + 8 * i), s_const) if want_norm else s_const
        m = (i * p) >> 1
        for col in range(0, p, 16):
            lo, hi = interleave8(*box_muller8(seed, gamma, m + (col >> 1)))
            at = px + 8 * col
            dc = pc + 8 * col
            v0 = add8(vload(at), add8(vload(dc), mul8(s, lo)))
            v1 = add8(vload(at + 64), add8(vload(dc + 64), mul8(s, hi)))
            vstore(at, v0)
            vstore(at + 64, v1)
            probe = fma8(v0, zero, probe)
            probe = fma8(v1, zero, probe)
        px += row_bytes
    return not hsum8(probe) == 0.0


@njit(cache=True, error_model="numpy", inline="always")
def _update_rows(
    x, labels, drift, i0, i1, noise_scale, want_norm, gnorm, seed, gamma, buf, scratch
):
    """``x[i] += drift[c_i] + s_i z_i`` for particles ``i0..i1-1`` (see
    :func:`_block_update`); return True if an updated feature is NaN or infinite.

    Rows are read and written eight features at a time by address (``x`` and
    ``drift`` C-ordered), the last group of a row masked. With an even ``p`` the
    normals of a row are made in registers, sixteen at a time
    (:func:`~simnet.kernels.normal.box_muller8`); with an odd ``p`` a row starts in
    the middle of a Box-Muller pair, and the normals go through ``buf`` (at least
    ``(i1 - i0) p`` doubles, :func:`~simnet.kernels.normal.normal_block`). Both
    give the same draws.
    """
    p = x.shape[1]
    row_bytes = 8 * p
    noisy = noise_scale > 0.0
    in_registers = noisy and p % 2 == 0
    if noisy and not in_registers:
        normal_block(seed, gamma, i0 * p, buf[: (i1 - i0) * p], scratch)
    px = address(x) + i0 * row_bytes
    pz = address(buf)
    pd = address(drift)
    if in_registers and p % 16 == 0:
        return _update_rows_by_sixteen(
            px, pd, labels, i0, i1, p, noise_scale, want_norm, gnorm, seed, gamma
        )
    pg = address(gnorm)
    s_const = splat8(noise_scale)
    zero = zero8()
    probe = zero8()  # 0 + 0 v over the new values: NaN iff one is NaN or infinite
    for i in range(i0, i1):
        pc = pd + labels[i] * row_bytes
        s = mul8(vbroadcast(pg + 8 * i), s_const) if want_norm else s_const
        if in_registers:
            m = (i * p) >> 1  # the pair of normal i p
            for col in range(0, p, 16):
                lo, hi = interleave8(*box_muller8(seed, gamma, m + (col >> 1)))
                probe = _add_group(px + 8 * col, pc + 8 * col, s, lo, col, p, probe)
                if col + 8 < p:
                    at = 8 * col + 64
                    probe = _add_group(px + at, pc + at, s, hi, col + 8, p, probe)
        elif noisy:
            for col in range(0, p, 8):
                if col + 8 <= p:
                    z = vload(pz + 8 * col)
                else:
                    z = vload_masked(pz + 8 * col, col, p, 0.0)
                probe = _add_group(px + 8 * col, pc + 8 * col, s, z, col, p, probe)
            pz += row_bytes
        else:
            for col in range(0, p, 8):
                if col + 8 <= p:
                    v = add8(vload(px + 8 * col), vload(pc + 8 * col))
                    vstore(px + 8 * col, v)
                else:
                    v = add8(
                        vload_masked(px + 8 * col, col, p, 0.0),
                        vload_masked(pc + 8 * col, col, p, 0.0),
                    )
                    vstore_masked(px + 8 * col, col, p, v)
                probe = fma8(v, zero, probe)
        px += row_bytes
    return not hsum8(probe) == 0.0


@njit(cache=True, error_model="numpy")
def _block_update(x, labels, drift, lo, hi, noise_scale, want_norm, gnorm, seed, gamma):
    """``x[i] += drift[c_i] + s_i z_i`` for particles ``lo..hi-1``; return False if
    an updated feature is NaN or infinite.

    ``s_i = noise_scale`` (times ``gnorm[i]`` if ``want_norm``); no noise if
    ``noise_scale == 0``. The normals ``z_i[q]`` are the draws ``i * p + q`` of the
    stream ``(seed, gamma)`` (:func:`~simnet.kernels.normal.normal_block`), made
    just before they are used: in registers for an even ``p``, in L1-sized chunks
    for an odd ``p``.
    """
    p = x.shape[1]
    chunk = max(1, _NOISE_CHUNK // p)
    buf = np.empty(chunk * p if noise_scale > 0.0 and p % 2 == 1 else 0)
    scratch = new_scratch()
    for i0 in range(lo, hi, chunk):
        i1 = min(i0 + chunk, hi)
        bad = _update_rows(
            x,
            labels,
            drift,
            i0,
            i1,
            noise_scale,
            want_norm,
            gnorm,
            seed,
            gamma,
            buf,
            scratch,
        )
        if bad:
            return False
    return True


@njit(cache=True, parallel=True)
def lesde_sde_steps(
    x, labels, basis, coef, head, dt, sigma, gradient_noise, rng, gnorm
):
    """Euler-Maruyama steps of the per-sample LE-SDE; return the failing row or -1.

    Parameters
    ----------
    x : ndarray, shape (n, p)
        Particles, updated in place.
    labels : ndarray of int, shape (n,)
        Class of each particle.
    basis, coef : ndarray
        ``E(t) = sum_r coef[t, r] basis[r]``; one step per row of ``coef``.
    head : ndarray, shape (K, p) or (0, p)
        Linear head (empty: the identity, features are logits).
    dt, sigma : float
        Step size and noise level.
    gradient_noise : bool
        Noise scale ``sigma * ||g_i||`` instead of ``sigma``.
    rng : numpy.random.Generator
        Draws one key per noisy step (:func:`~simnet.kernels.normal.draw_key`).
    gnorm : ndarray, shape (n,)
        Scratch owned by the caller (gradient norms), so a call allocates nothing
        large.

    Returns
    -------
    int
        -1, or the row at which a particle was found NaN or infinite (read by the
        gradient of that step, or produced by the last step).

    Notes
    -----
    ``dX_i = -(1/n) sum_j E[c_i, c_j] g_j dt + s_i sqrt(dt) Z_i`` with ``s_i = sigma``
    or ``sigma * ||g_i||`` (gradient-proportional, SGD-like) and ``Z_i ~ N(0, I_p)``.
    The sum over j is aggregated per class: O(n p + K^2 p) per step; the gradient
    pass takes eight particles per vector (:mod:`simnet.kernels.sde_gradient`). The
    particles
    are split into ``N_BLOCKS`` fixed blocks processed in parallel and reduced in
    block order. The noise of step t is ``Z_i[q] = z(i p + q)`` of the stream of a
    key drawn from ``rng`` at that step (one draw per noisy step), from the
    counter-based generator :mod:`simnet.kernels.normal`: the result depends neither
    on the number of threads nor on how the steps are split into calls.
    """
    n, p = x.shape
    if (
        x.strides[1] != 8
        or x.strides[0] != 8 * p
        or labels.itemsize != 8
        or labels.strides[0] != 8
        or gnorm.strides[0] != 8
        or (head.shape[0] > 0 and head.strides[1] != 8)
    ):  # the gradient pass reads them by address
        raise ValueError("lesde_sde_steps: x, labels (int64), gnorm must be C-ordered")
    n_classes = basis.shape[1]
    n_terms = basis.shape[0]
    nb = min(N_BLOCKS, n)
    want_norm = gradient_noise and sigma > 0.0
    n_out = p if head.shape[0] == 0 else head.shape[0]
    partial = np.empty((nb, n_classes, n_out))
    ok = np.empty(nb, dtype=np.bool_)
    e = np.empty((n_classes, n_classes))
    tot = np.empty((n_classes, n_out))
    gsum = np.empty((n_classes, p))
    drift = np.empty((n_classes, p))
    scale = sigma * np.sqrt(dt)
    n_steps = coef.shape[0]
    for t in range(n_steps):
        partial[:] = 0.0
        for blk in prange(nb):
            lo = blk * n // nb
            hi = (blk + 1) * n // nb
            ok[blk] = _block_gradient(
                x, labels, head, lo, hi, want_norm, gnorm, partial[blk]
            )
        for blk in range(nb):
            if not ok[blk]:
                return t
        for a in range(n_classes):
            for b in range(n_classes):
                acc = 0.0
                for r in range(n_terms):
                    acc += coef[t, r] * basis[r, a, b]
                e[a, b] = acc
        # Class sums of residuals, in block order; then of gradients: W^T per class.
        for b in range(n_classes):
            for j in range(n_out):
                acc = 0.0
                for blk in range(nb):
                    acc += partial[blk, b, j]
                tot[b, j] = acc
        for b in range(n_classes):
            for q in range(p):
                if head.shape[0] == 0:
                    gsum[b, q] = tot[b, q]
                else:
                    acc = 0.0
                    for j in range(n_out):
                        acc += head[j, q] * tot[b, j]
                    gsum[b, q] = acc
        for a in range(n_classes):
            for q in range(p):
                acc = 0.0
                for b in range(n_classes):
                    acc += e[a, b] * gsum[b, q]
                drift[a, q] = -dt * acc / n
        seed, gamma = stream_from_key(draw_key(rng) if sigma > 0.0 else 0)
        for blk in prange(nb):
            lo = blk * n // nb
            hi = (blk + 1) * n // nb
            ok[blk] = _block_update(
                x, labels, drift, lo, hi, scale, want_norm, gnorm, seed, gamma
            )
        for blk in range(nb):
            if not ok[blk]:
                return min(t + 1, n_steps - 1)
    return -1


@njit(cache=True, error_model="numpy")
def _ode_drift(m, e, head, surrogate, out):
    """``out_k = (1/K) sum_k' E[k, k'] G_k'(m_k')`` for the chosen surrogate G."""
    n_classes, p = m.shape
    g = np.empty((n_classes, p))
    z = np.empty(n_classes if head.shape[0] == 0 else head.shape[0])
    norm_d = (n_classes - 1.0) / n_classes
    for k in range(n_classes):
        if surrogate == SURROGATE_CE:
            ce_grad(m[k], head, k, z, g[k], False)
            for q in range(p):
                g[k, q] = -g[k, q]
        elif surrogate == SURROGATE_IDENTITY:
            for q in range(p):
                g[k, q] = m[k, q]
        elif surrogate == SURROGATE_PROJECTED:
            s = m[k, k]
            for q in range(p):
                s -= m[k, q] / n_classes
            s /= norm_d
            for q in range(p):
                g[k, q] = -s / n_classes
            g[k, k] += s
        else:
            for q in range(p):
                g[k, q] = -1.0 / n_classes
            g[k, k] += 1.0
    for k in range(n_classes):
        for q in range(p):
            acc = 0.0
            for k2 in range(n_classes):
                acc += e[k, k2] * g[k2, q]
            out[k, q] = acc / n_classes


@njit(cache=True)
def _impact_at(basis, coef_row, out):
    n_terms, k, _ = basis.shape
    for a in range(k):
        for b in range(k):
            acc = 0.0
            for r in range(n_terms):
                acc += coef_row[r] * basis[r, a, b]
            out[a, b] = acc


@njit(cache=True)
def lesde_ode_steps(m, basis, coef, head, dt, surrogate, method):
    """Integrate the class-mean LE-ODE in place; return the failing row or -1.

    ``dm_k/dt = (1/K) sum_k' E(t)[k, k'] G_k'(m_k')``. ``coef`` has shape (T, 3, R): the
    coefficients at t, t + dt/2 and t + dt of each step (RK4 uses all three, Euler the
    first). Surrogates: CE (``G = -grad of the cross-entropy``), identity
    (``G_k = m_k``, the I model), projected (``G_k = P_k m_k``, the L model) and ETF
    (``G_k = d_k``).
    """
    n_classes, p = m.shape
    e = np.empty((n_classes, n_classes))
    k1 = np.empty((n_classes, p))
    k2 = np.empty((n_classes, p))
    k3 = np.empty((n_classes, p))
    k4 = np.empty((n_classes, p))
    tmp = np.empty((n_classes, p))
    for t in range(coef.shape[0]):
        _impact_at(basis, coef[t, 0], e)
        _ode_drift(m, e, head, surrogate, k1)
        if method == METHOD_EULER:
            for k in range(n_classes):
                for q in range(p):
                    m[k, q] += dt * k1[k, q]
        else:
            _impact_at(basis, coef[t, 1], e)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + 0.5 * dt * k1[k, q]
            _ode_drift(tmp, e, head, surrogate, k2)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + 0.5 * dt * k2[k, q]
            _ode_drift(tmp, e, head, surrogate, k3)
            _impact_at(basis, coef[t, 2], e)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + dt * k3[k, q]
            _ode_drift(tmp, e, head, surrogate, k4)
            for k in range(n_classes):
                for q in range(p):
                    m[k, q] += (
                        dt / 6.0 * (k1[k, q] + 2 * k2[k, q] + 2 * k3[k, q] + k4[k, q])
                    )
        for k in range(n_classes):
            if not all_finite(m[k]):
                return t
    return -1
