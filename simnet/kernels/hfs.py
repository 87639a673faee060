"""Numba kernel of the hierarchical feature-sharing (HFS) model: minibatch SGD steps.

See ``MODEL.md`` section 2. A step touches only the nodes on the sampled classes'
ancestor sets and the sampled instance features: O(B * (depth * p + K * p)).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .common import ce_grad, ce_grad_at, ce_grad_at_ok
from .prefetch import prefetch_samples
from .vector import address, all_finite, update_row_dot


@njit(cache=True, error_model="numpy")
def hfs_sgd_steps(
    lam,
    phi,
    u,
    labels,
    anc_ptr,
    anc_idx,
    eta_phi,
    eta_lam,
    decay,
    eta_u,
    gamma,
    sigma,
    head,
    batches,
    rate_scale,
    n_classes,
    rng,
    step0,
    acc,
    node_stamp,
    sample_stamp,
):
    """Run ``len(batches)`` SGD steps in place; return the first failing row or -1.

    For each step with minibatch B (a row of ``batches``), with
    ``X_i = sum_{v in anc(c_i)} lam_v phi_v + gamma u_i`` and ``g_i = dl/dX_i``:

    * ``m_v = (1/|B|) sum_{i in B, v in anc(c_i)} g_i`` (gradient of the batch-mean
      loss);
    * ``phi_v <- (1 - decay_v) phi_v - eta_phi_v lam_v m_v``;
    * ``lam_v <- (1 - decay_v) lam_v - eta_lam_v <phi_v, m_v>`` (old ``phi_v``);
    * ``u_i <- u_i - eta_u gamma g_i / |B|`` for each occurrence of i in B;
    * every rate (``eta_phi``, ``eta_lam``, ``eta_u``) of step t is multiplied by
      ``rate_scale[t]`` (a learning-rate schedule; ones for constant rates);
    * with ``sigma > 0``, N(0, sigma^2) noise on every touched phi_v (p draws), lam_v
      (1 draw), in order of first touch, then on each distinct u_i (p draws).

    ``acc`` (V, p), ``node_stamp`` (V,) and ``sample_stamp`` (n,) are scratch arrays
    whose stamps must be below ``step0`` on entry.
    """
    n_steps, bsize = batches.shape
    p = phi.shape[1]
    x = np.empty(p)
    z = np.empty(n_classes)
    grads = np.empty((bsize, p))
    touched = np.empty(lam.shape[0], dtype=np.int64)
    distinct = np.empty(bsize, dtype=np.int64)
    inv_b = 1.0 / bsize
    # the gradient on raw addresses (no reference counting in the loop) where it can
    raw = bsize > 0 and ce_grad_at_ok(x, head, z, grads[0])
    pa, lda, n_rows = address(head), head.strides[0], head.shape[0]
    px, pz, pg, g_stride = address(x), address(z), address(grads), grads.strides[0]
    for t in range(n_steps):
        stamp = step0 + t
        rs = rate_scale[t]
        n_touched = 0
        n_distinct = 0
        prefetch_samples(batches, t, u, labels, sample_stamp, sigma > 0.0)
        for b in range(bsize):
            i = batches[t, b]
            c = labels[i]
            for q in range(p):
                x[q] = gamma * u[i, q]
            for a in range(anc_ptr[c], anc_ptr[c + 1]):
                v = anc_idx[a]
                lv = lam[v]
                for q in range(p):
                    x[q] += lv * phi[v, q]
            if not all_finite(x):
                return t
            if raw:
                ce_grad_at(pa, lda, n_rows, p, px, c, pz, pg + b * g_stride, False)
            else:
                ce_grad(x, head, c, z, grads[b], False)
            for a in range(anc_ptr[c], anc_ptr[c + 1]):
                v = anc_idx[a]
                if node_stamp[v] != stamp:
                    node_stamp[v] = stamp
                    touched[n_touched] = v
                    n_touched += 1
                    if bsize > 1:  # with one sample, m_v is its gradient: no copy
                        for q in range(p):
                            acc[v, q] = inv_b * grads[b, q]
                else:
                    for q in range(p):
                        acc[v, q] += inv_b * grads[b, q]
            if sigma > 0.0 and sample_stamp[i] != stamp:
                sample_stamp[i] = stamp
                distinct[n_distinct] = i
                n_distinct += 1
        for j in range(n_touched):
            v = touched[j]
            keep = 1.0 - decay[v]
            lv = lam[v]
            # <old phi_v, m_v>, taken in the same pass as the update of phi_v
            step_phi = eta_phi[v] * rs * lv
            if bsize == 1:
                dot = update_row_dot(phi, v, grads, 0, keep, step_phi)
            else:
                dot = update_row_dot(phi, v, acc, v, keep, step_phi)
            lam[v] = keep * lv - eta_lam[v] * rs * dot
        scale_u = eta_u * rs * gamma * inv_b
        for b in range(bsize):
            i = batches[t, b]
            for q in range(p):
                u[i, q] -= scale_u * grads[b, q]
        if sigma > 0.0:
            for j in range(n_touched):
                v = touched[j]
                for q in range(p):
                    phi[v, q] += sigma * rng.standard_normal()
                lam[v] += sigma * rng.standard_normal()
            for j in range(n_distinct):
                i = distinct[j]
                for q in range(p):
                    u[i, q] += sigma * rng.standard_normal()
    return -1
