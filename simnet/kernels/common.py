"""Shared numba helpers: a numerically stable cross-entropy gradient."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def ce_grad(x, head, label, z, out):
    """Cross-entropy gradient with respect to the feature ``x``; returns the loss.

    ``out = W^T (softmax(W x) - e_label)`` with ``W = head``; an empty head (shape
    (0, p)) means the identity (features are logits). ``z`` is a scratch buffer of
    length K. The softmax subtracts the maximum logit (stable log-sum-exp).
    """
    p = x.shape[0]
    k = z.shape[0]
    identity = head.shape[0] == 0
    if identity:
        for j in range(k):
            z[j] = x[j]
    else:
        for j in range(k):
            acc = 0.0
            for q in range(p):
                acc += head[j, q] * x[q]
            z[j] = acc
    zmax = z[0]
    for j in range(1, k):
        if z[j] > zmax:
            zmax = z[j]
    total = 0.0
    for j in range(k):
        z[j] = np.exp(z[j] - zmax)
        total += z[j]
    loss = np.log(total) + zmax
    if identity:
        loss -= x[label]
    else:
        acc = 0.0
        for q in range(p):
            acc += head[label, q] * x[q]
        loss -= acc
    for j in range(k):
        z[j] /= total
    z[label] -= 1.0
    if identity:
        for j in range(k):
            out[j] = z[j]
    else:
        for q in range(p):
            acc = 0.0
            for j in range(k):
                acc += head[j, q] * z[j]
            out[q] = acc
    return loss


@njit(cache=True)
def all_finite(x):
    """True if every entry of the 1-D array ``x`` is finite."""
    for j in range(x.shape[0]):
        if not np.isfinite(x[j]):
            return False
    return True
