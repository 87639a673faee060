"""Numba kernels of the impact-matrix (LE-SDE) particle model: SGD, SDE and ODE.

See ``MODEL.md`` section 3 and Zhang, Wang & Su (NeurIPS 2021). The impact matrix is
``E(t) = sum_r coef[t, r] * basis[r]``; kernels only ever need ``E`` column by column
(SGD) or as a whole (SDE, ODE).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .common import all_finite, ce_grad, exp_nonpositive, transpose_head

# Surrogate gradients of the class-mean LE-ODE.
SURROGATE_CE = 0
SURROGATE_IDENTITY = 1
SURROGATE_PROJECTED = 2
SURROGATE_ETF = 3

METHOD_EULER = 0
METHOD_RK4 = 1

N_BLOCKS = 64  # fixed reduction blocks: results do not depend on the thread count


@njit(cache=True)
def lesde_sgd_steps(
    base,
    offsets,
    labels,
    basis,
    coef,
    head,
    batches,
    sigma,
    last_touch,
    rng,
    step0,
):
    """Discrete SGD imitation with lazy class offsets; return the failing row or -1.

    Particle i is ``base[i] + offsets[labels[i]]``. A step on minibatch B moves every
    particle j by ``-(1/|B|) sum_{i in B} E[c_j, c_i] g_i``, done in O(|B| K p) by
    updating the K class offsets. Isotropic noise N(0, sigma^2 I) per particle and per
    step is realised lazily: when particle i is touched at step s, the
    ``s - last_touch[i]`` increments it owes are drawn at once as one Gaussian of
    variance ``(s - last_touch[i]) sigma^2`` (exact in distribution).
    """
    n_steps, bsize = batches.shape
    n_classes = offsets.shape[0]
    p = base.shape[1]
    n_terms = basis.shape[0]
    x = np.empty(p)
    z = np.empty(n_classes if head.shape[0] == 0 else head.shape[0])
    grads = np.empty((bsize, p))
    inv_b = 1.0 / bsize
    head_t = transpose_head(head)
    # basis_t[r, c, k] = basis[r, k, c]: the column E[:, c] is read contiguously.
    basis_t = np.empty((n_terms, n_classes, n_classes))
    for r in range(n_terms):
        for a in range(n_classes):
            for c in range(n_classes):
                basis_t[r, c, a] = basis[r, a, c]
    col = np.empty(n_classes)
    for t in range(n_steps):
        step = step0 + t
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
            if not all_finite(x):
                return t
            ce_grad(x, head, head_t, c, z, grads[b], False)
        for b in range(bsize):
            c = labels[batches[t, b]]
            for k in range(n_classes):
                col[k] = 0.0
            for r in range(n_terms):
                w = coef[t, r]
                for k in range(n_classes):
                    col[k] += w * basis_t[r, c, k]
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


@njit(cache=True)
def _fill_normal(out, rng):
    n, p = out.shape
    for i in range(n):
        for q in range(p):
            out[i, q] = rng.standard_normal()


_SUB_BLOCK = 128


@njit(cache=True)
def _block_gradient_sums(x, labels, head, head_t, lo, hi, want_norm, gnorm, out):
    """Add the CE gradients of particles ``lo..hi-1`` to their class rows of ``out``;
    return False (and stop) if one of them is NaN or infinite.

    Sub-blocks of particles are laid out logit-major (``z[j, s]`` for logit j of
    particle s), so every reduction over logits (maximum, sum) runs across particles
    and vectorises, and the exponentials go through :func:`exp_nonpositive`. Each
    particle's sums are still taken over j = 0..K-1 in order, as in :func:`ce_grad`.
    """
    p = x.shape[1]
    n_out = out.shape[0] if head.shape[0] == 0 else head.shape[0]
    sb = _SUB_BLOCK
    z = np.zeros((n_out, sb))
    kbuf = np.empty(n_out * sb, dtype=np.int64)
    zmax = np.empty(sb)
    inv = np.empty(sb)
    xt = np.empty((p, sb))
    gt = np.empty((p, sb))
    for start in range(lo, hi, sb):
        m = min(start + sb, hi) - start
        probe = 0.0  # stays 0 unless an entry is NaN or infinite (then NaN)
        if head.shape[0] == 0:
            for s in range(m):
                for j in range(n_out):
                    v = x[start + s, j]
                    probe += v * 0.0
                    z[j, s] = v
        else:
            for s in range(m):
                for q in range(p):
                    v = x[start + s, q]
                    probe += v * 0.0
                    xt[q, s] = v
            for j in range(n_out):
                for s in range(m):
                    z[j, s] = 0.0
                for q in range(p):
                    w = head[j, q]
                    for s in range(m):
                        z[j, s] += w * xt[q, s]
        if probe != 0.0:
            return False
        for s in range(m):
            zmax[s] = z[0, s]
        for j in range(1, n_out):
            for s in range(m):
                zmax[s] = max(zmax[s], z[j, s])
        for j in range(n_out):
            for s in range(m):
                z[j, s] -= zmax[s]
        flat = z.reshape(n_out * sb)
        exp_nonpositive(flat, kbuf)
        for s in range(m):
            inv[s] = z[0, s]
        for j in range(1, n_out):
            for s in range(m):
                inv[s] += z[j, s]
        for s in range(m):
            inv[s] = 1.0 / inv[s]
        for j in range(n_out):
            for s in range(m):
                z[j, s] *= inv[s]
        for s in range(m):
            z[labels[start + s], s] -= 1.0
        if head.shape[0] == 0:
            grad = z
        else:
            for q in range(p):
                for s in range(m):
                    gt[q, s] = 0.0
            for j in range(n_out):
                for q in range(p):
                    w = head[j, q]
                    for s in range(m):
                        gt[q, s] += w * z[j, s]
            grad = gt
        for s in range(m):
            i = start + s
            c = labels[i]
            for q in range(p):
                out[c, q] += grad[q, s]
            if want_norm:
                acc = 0.0
                for q in range(p):
                    acc += grad[q, s] * grad[q, s]
                gnorm[i] = np.sqrt(acc)
    return True


@njit(cache=True, parallel=True)
def lesde_sde_steps(
    x, labels, basis, coef, head, dt, sigma, gradient_noise, rng, noise, gnorm
):
    """Euler-Maruyama steps of the per-sample LE-SDE; return the failing row or -1.

    ``dX_i = -(1/n) sum_j E[c_i, c_j] g_j dt + s_i dW_i`` with ``s_i = sigma`` or
    ``sigma * ||g_i||`` (gradient-proportional, SGD-like). The sum over j is
    aggregated per class: O(n p + K^2 p) per step. The particles are split into a
    fixed number of blocks processed in parallel and reduced in block order, so the
    result does not depend on the number of threads. Noise draws are taken in
    particle order, p per particle, from ``rng``. ``noise`` (n, p) and ``gnorm`` (n,)
    are scratch buffers owned by the caller (``noise`` may be empty when
    ``sigma == 0``), so a call allocates nothing large.
    """
    n, p = x.shape
    n_classes = basis.shape[1]
    n_terms = basis.shape[0]
    nb = min(N_BLOCKS, n)
    want_norm = gradient_noise and sigma > 0.0
    head_t = transpose_head(head)
    partial = np.empty((nb, n_classes, p))
    bad = np.empty(nb, dtype=np.int64)
    e = np.empty((n_classes, n_classes))
    drift = np.empty((n_classes, p))
    scale = sigma * np.sqrt(dt)
    for t in range(coef.shape[0]):
        partial[:] = 0.0
        bad[:] = -1
        for blk in prange(nb):
            lo = blk * n // nb
            hi = (blk + 1) * n // nb
            if not _block_gradient_sums(
                x, labels, head, head_t, lo, hi, want_norm, gnorm, partial[blk]
            ):
                bad[blk] = lo
        for blk in range(nb):
            if bad[blk] >= 0:
                return t
        for a in range(n_classes):
            for b in range(n_classes):
                acc = 0.0
                for r in range(n_terms):
                    acc += coef[t, r] * basis[r, a, b]
                e[a, b] = acc
        for a in range(n_classes):
            for q in range(p):
                acc = 0.0
                for b in range(n_classes):
                    tot = 0.0
                    for blk in range(nb):
                        tot += partial[blk, b, q]
                    acc += e[a, b] * tot
                drift[a, q] = -dt * acc / n
        if sigma > 0.0:
            _fill_normal(noise, rng)
            for blk in prange(nb):
                lo = blk * n // nb
                hi = (blk + 1) * n // nb
                for i in range(lo, hi):
                    s = scale * gnorm[i] if want_norm else scale
                    c = labels[i]
                    for q in range(p):
                        x[i, q] += drift[c, q] + s * noise[i, q]
        else:
            for blk in prange(nb):
                lo = blk * n // nb
                hi = (blk + 1) * n // nb
                for i in range(lo, hi):
                    c = labels[i]
                    for q in range(p):
                        x[i, q] += drift[c, q]
    for i in range(n):
        if not all_finite(x[i]):
            return coef.shape[0] - 1
    return -1


@njit(cache=True)
def _ode_drift(m, e, head, head_t, surrogate, out):
    """``out_k = (1/K) sum_k' E[k, k'] G_k'(m_k')`` for the chosen surrogate G."""
    n_classes, p = m.shape
    g = np.empty((n_classes, p))
    z = np.empty(n_classes if head.shape[0] == 0 else head.shape[0])
    norm_d = (n_classes - 1.0) / n_classes
    for k in range(n_classes):
        if surrogate == SURROGATE_CE:
            ce_grad(m[k], head, head_t, k, z, g[k], False)
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
    head_t = transpose_head(head)
    for t in range(coef.shape[0]):
        _impact_at(basis, coef[t, 0], e)
        _ode_drift(m, e, head, head_t, surrogate, k1)
        if method == METHOD_EULER:
            for k in range(n_classes):
                for q in range(p):
                    m[k, q] += dt * k1[k, q]
        else:
            _impact_at(basis, coef[t, 1], e)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + 0.5 * dt * k1[k, q]
            _ode_drift(tmp, e, head, head_t, surrogate, k2)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + 0.5 * dt * k2[k, q]
            _ode_drift(tmp, e, head, head_t, surrogate, k3)
            _impact_at(basis, coef[t, 2], e)
            for k in range(n_classes):
                for q in range(p):
                    tmp[k, q] = m[k, q] + dt * k3[k, q]
            _ode_drift(tmp, e, head, head_t, surrogate, k4)
            for k in range(n_classes):
                for q in range(p):
                    m[k, q] += (
                        dt / 6.0 * (k1[k, q] + 2 * k2[k, q] + 2 * k3[k, q] + k4[k, q])
                    )
        for k in range(n_classes):
            if not all_finite(m[k]):
                return t
    return -1
