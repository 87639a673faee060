"""Impact matrices as sums of group indicators, for O(depth p) SGD steps.

Most impact matrices people use are built from groups of classes:
``E = (alpha - beta) I + beta 1 1^T`` (singletons and the group of all classes), and
``E_w = sum_v w_v 1_{S_v} 1_{S_v}^T`` for a tree (``S_v`` = the classes under node v).
An SGD step on a sample of class c moves class k by ``-E[k, c] g``; written with
groups, it moves one shared offset per group that contains c, by ``-w_m g``, and class
k's offset is the sum of its groups' offsets. A step then costs (number of groups of
c) * p instead of K * p: depth * p for a tree.

:func:`impact_groups` finds such a decomposition of each basis matrix when there is
one: it peels off the smallest off-diagonal entry of a set of classes as a group
weight, splits the set into the blocks that are still connected by non-zero entries,
and recurses; the diagonal that is left becomes singleton groups. Terms without such
a structure (a generic dense matrix, a DAG's weight matrix, a non-symmetric matrix)
keep their dense matrix and are applied column by column, as before.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.sparse.csgraph import connected_components

__all__ = ["ImpactGroups", "impact_groups"]

_REL_TOL = 1e-12


class ImpactGroups(NamedTuple):
    """``basis[r] = sum_m weights[r, m] 1_{S_m} 1_{S_m}^T + dense[r]``.

    Attributes
    ----------
    ptr, idx : ndarray of int64
        The groups of class k are ``idx[ptr[k]:ptr[k + 1]]`` (CSR layout).
    weights : ndarray, shape (R, M)
        The weight of group m in basis term r.
    dense : ndarray, shape (R, K, K)
        What the groups do not cover (zero for a term that decomposed).
    has_dense : bool
        False when every term decomposed (the kernels then skip the dense part).
    """

    ptr: np.ndarray
    idx: np.ndarray
    weights: np.ndarray
    dense: np.ndarray
    has_dense: bool

    @property
    def n_groups(self) -> int:
        return int(self.weights.shape[1])

    def matrices(self) -> np.ndarray:
        """The basis matrices rebuilt from the groups and the dense part (R, K, K)."""
        k = self.ptr.shape[0] - 1
        member = np.zeros((k, self.n_groups))
        for c in range(k):
            member[c, self.idx[self.ptr[c] : self.ptr[c + 1]]] = 1.0
        return np.einsum("km,rm,lm->rkl", member, self.weights, member) + self.dense


def _group_weights(matrix: np.ndarray) -> dict[tuple[int, ...], float] | None:
    """Groups and weights that rebuild a symmetric ``matrix``, or None."""
    k = matrix.shape[0]
    if not np.array_equal(matrix, matrix.T):
        return None
    tol = _REL_TOL * max(float(np.max(np.abs(matrix))), 1e-300)
    rest = matrix.astype(np.float64).copy()
    groups: dict[tuple[int, ...], float] = {}
    pending = [np.arange(k)]
    while pending:
        members = pending.pop()
        block = np.ix_(members, members)
        off = ~np.eye(members.size, dtype=bool)
        weight = float(np.min(rest[block][off]))
        if abs(weight) > tol:
            groups[tuple(members.tolist())] = weight
            rest[block] -= weight
        linked = (np.abs(rest[block]) > tol) & off
        n_parts, part = connected_components(linked, directed=False)
        if n_parts == 1 and np.any(linked):
            return None  # every pair still linked, no smaller blocks: not a tree form
        for j in range(n_parts):
            sub = members[part == j]
            if sub.size >= 2 and np.any(
                np.abs(rest[np.ix_(sub, sub)][~np.eye(sub.size, dtype=bool)]) > tol
            ):
                pending.append(sub)
    for c in range(k):
        if abs(rest[c, c]) > tol:
            groups[(c,)] = groups.get((c,), 0.0) + float(rest[c, c])
            rest[c, c] = 0.0
    if np.max(np.abs(rest)) > tol:
        return None
    return groups


def impact_groups(basis: np.ndarray) -> ImpactGroups:
    """Decompose each basis matrix (R, K, K) into group indicators where possible.

    Groups are used only if they make a step cheaper: when some class would belong to
    K or more groups, every term stays dense.
    """
    basis = np.ascontiguousarray(basis, dtype=np.float64)
    n_terms, k, _ = basis.shape
    found = [_group_weights(basis[r]) for r in range(n_terms)]
    keys = sorted(
        {g for f in found if f is not None for g in f}, key=lambda g: (len(g), g)
    )
    member_count = np.zeros(k, dtype=np.int64)
    for g in keys:
        member_count[list(g)] += 1
    if keys and member_count.max() >= k:
        found = [None] * n_terms
        keys = []
    index = {g: m for m, g in enumerate(keys)}
    weights = np.zeros((n_terms, len(keys)))
    dense = np.zeros_like(basis)
    for r, f in enumerate(found):
        if f is None:
            dense[r] = basis[r]
        else:
            for g, w in f.items():
                weights[r, index[g]] = w
    of_class: list[list[int]] = [[] for _ in range(k)]
    for g, m in index.items():
        for c in g:
            of_class[c].append(m)
    ptr = np.zeros(k + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([len(m) for m in of_class])
    idx = np.array([m for ms in of_class for m in ms], dtype=np.int64)
    return ImpactGroups(ptr, idx, weights, dense, bool(any(f is None for f in found)))
