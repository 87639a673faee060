"""Eigen-structure of impact matrices: two-parameter and tree-derived E_w.

The growth rate of a mode of the I-model LE-ODE ``dm/dt = (1/K) E m`` is its
eigenvalue over K; a split of the classes separates iff the eigenvalue of its
contrast vectors is positive (``MODEL.md`` sections 3 and 6; dossier 1.7-1.8, where
the hierarchical case is left open).

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_float, check_int
from ..errors import ConfigError
from ..hierarchy import Hierarchy, NodeWeights

__all__ = [
    "TreeSpectrum",
    "homogeneous_tree_weights",
    "phase_boundary_two_parameter",
    "separates_two_parameter",
    "tree_spectrum",
    "two_parameter_spectrum",
]


def _helmert(sizes: list[int]) -> np.ndarray:
    """Orthonormal contrasts between consecutive groups, constant on each group.

    Column j contrasts the union of groups 0..j with group j + 1; shape
    ``(sum(sizes), len(sizes) - 1)``.
    """
    n = int(sum(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    out = np.zeros((n, len(sizes) - 1))
    for j in range(len(sizes) - 1):
        head, nxt = starts[j + 1], sizes[j + 1]
        out[:head, j] = 1.0 / head
        out[head : head + nxt, j] = -1.0 / nxt
        out[:, j] /= np.linalg.norm(out[:, j])
    return out


def two_parameter_spectrum(
    n_classes: int, alpha: float, beta: float
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of ``E = (alpha - beta) I + beta 1 1^T``.

    Returns
    -------
    eigenvalues : ndarray, shape (K,)
        ``alpha + (K - 1) beta`` first (on ``1/sqrt(K)``), then ``alpha - beta``
        (multiplicity K - 1).
    eigenvectors : ndarray, shape (K, K)
        Orthonormal columns: ``1/sqrt(K)`` and Helmert contrasts spanning 1^perp.

    Notes
    -----
    ``E 1 = (alpha + (K - 1) beta) 1`` and ``E x = (alpha - beta) x`` for
    ``x`` orthogonal to 1 (dossier 1.6). The separating modes are the contrasts.

    Examples
    --------
    >>> w, v = two_parameter_spectrum(3, 2.0, 0.5)
    >>> w.tolist()
    [3.0, 1.5, 1.5]
    """
    owner = "two_parameter_spectrum"
    k = check_int(n_classes, "n_classes", owner, low=2)
    alpha = check_float(alpha, "alpha", owner)
    beta = check_float(beta, "beta", owner)
    vecs = np.column_stack([np.full(k, 1.0 / np.sqrt(k)), _helmert([1] * k)])
    vals = np.array([alpha + (k - 1) * beta] + [alpha - beta] * (k - 1))
    return vals, vecs


def separates_two_parameter(alpha: Any, beta: Any) -> np.ndarray | bool:
    """Predicted phase: the classes separate iff ``alpha > beta`` (constant rates).

    For time-varying rates the condition is ``A(t) - B(t) -> inf`` (dossier 2.1).
    """
    out = np.asarray(alpha, dtype=np.float64) > np.asarray(beta, dtype=np.float64)
    return bool(out) if out.ndim == 0 else out


def phase_boundary_two_parameter(alpha: Any) -> np.ndarray | float:
    """The predicted phase boundary ``beta = alpha`` (for every K)."""
    out = np.asarray(alpha, dtype=np.float64)
    return float(out) if out.ndim == 0 else out.copy()


@dataclass(frozen=True)
class TreeSpectrum:
    """Closed-form eigen-decomposition of a tree-derived E_w.

    Attributes
    ----------
    eigenvalues : ndarray, shape (K,)
    eigenvectors : ndarray, shape (K, K)
        Orthonormal columns; column i belongs to ``nodes[i]``.
    nodes : tuple of str
        The internal node whose child subtrees eigenvector i contrasts (the root for
        the first, constant, eigenvector).
    path_impact : dict of str to float
        ``h(u) = sum_{u' on the path from u down to any class under u} w_u' |L(u')|``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    nodes: tuple[str, ...]
    path_impact: dict[str, float]

    def splits(self, hierarchy: Hierarchy) -> pd.DataFrame:
        """One row per internal node with two or more children.

        Columns ``node``, ``depth``, ``n_children``, ``eigenvalue``,
        ``multiplicity`` (children - 1), ``separates`` (eigenvalue > 0: the I-model
        contrast between the child subtrees grows like ``exp(lambda t / K)``).
        """
        rows = []
        for v in hierarchy.nodes:
            ch = hierarchy.children(v)
            if len(ch) < 2:
                continue
            lam = self.path_impact[ch[0]]
            rows.append(
                {
                    "node": v,
                    "depth": hierarchy.depth_of(v),
                    "n_children": len(ch),
                    "eigenvalue": lam,
                    "multiplicity": len(ch) - 1,
                    "separates": bool(lam > 0),
                }
            )
        return pd.DataFrame(rows)


def _check_tree(hierarchy: Hierarchy, owner: str) -> None:
    if not isinstance(hierarchy, Hierarchy) or not hierarchy.is_tree:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a tree-shaped Hierarchy "
            "(every node has at most one parent). "
            f"Got {hierarchy!r} instead."
        )


def _leaves_below(hierarchy: Hierarchy) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for v in reversed(hierarchy.nodes):  # deepest first
        ch = hierarchy.children(v)
        if not ch:
            out[v] = [hierarchy.class_index[v]]
        else:
            out[v] = [i for c in ch for i in out[c]]
    return out


def tree_spectrum(
    hierarchy: Hierarchy, weights: NodeWeights = 1.0, *, rtol: float = 1e-9
) -> TreeSpectrum:
    """Eigenpairs of ``E_w = hierarchy.shared_weight_matrix(weights)`` from the tree.

    Parameters
    ----------
    hierarchy : Hierarchy
        A tree whose classes are its leaves.
    weights : NodeWeights, default 1.0
        Node weights w_v (scalar, per depth, mapping or callable).
    rtol : float, default 1e-9
        Tolerance of the homogeneity check.

    Returns
    -------
    TreeSpectrum

    Raises
    ------
    ConfigError
        If the hierarchy is not a tree, or the weights are not *path-homogeneous*
        (below): the message names the first offending node. Use
        ``numpy.linalg.eigh`` then; the contrasts are no longer eigenvectors.

    Notes
    -----
    For a tree, ``E_w = sum_v w_v 1_{L(v)} 1_{L(v)}^T`` with L(v) the classes below
    v. Take an internal node v with children c_1..c_m and a vector x that is
    constant (a_i) on each L(c_i), zero elsewhere, with ``sum_i a_i |L(c_i)| = 0``.
    Nodes above v and disjoint nodes see ``1_{L(u)}^T x = 0``; a node u inside
    c_i's subtree sees ``a_i |L(u)|``. Hence ``(E_w x)_k = a_i h(c_i -> k)`` with

        h(c -> k) = sum_{u on the path from c down to k} w_u |L(u)|.

    So x is an eigenvector iff h(c_i -> k) is the same number h for every child
    c_i of v and every class k below it (*path-homogeneous* weights; true e.g. for
    balanced trees with per-depth weights and for the two-parameter E). Then the
    m - 1 Helmert contrasts between the child subtrees have eigenvalue
    ``lambda_v = h``, and ``1`` has eigenvalue ``h(root)``; these K vectors are an
    orthonormal eigenbasis. Flat tree: ``lambda_root = w_leaf = alpha - beta`` and
    ``h(root) = K w_root + w_leaf = alpha + (K - 1) beta``.

    Examples
    --------
    >>> h = Hierarchy.balanced([2, 2])
    >>> spec = tree_spectrum(h, [0.0, 1.0, 1.0])
    >>> sorted(np.round(spec.eigenvalues, 12).tolist())
    [1.0, 1.0, 3.0, 3.0]
    """
    owner = "tree_spectrum"
    _check_tree(hierarchy, owner)
    w = hierarchy.node_weights(weights)
    leaves = _leaves_below(hierarchy)
    k = hierarchy.n_classes
    h: dict[str, float] = {}
    for v in reversed(hierarchy.nodes):
        wv = float(w[hierarchy.node_index[v]]) * len(leaves[v])
        ch = hierarchy.children(v)
        if not ch:
            h[v] = wv
            continue
        below = [h[c] for c in ch]
        scale = max(1.0, *map(abs, below))
        if max(below) - min(below) > rtol * scale:
            raise ConfigError(
                f"The 'weights' parameter of {owner} is not path-homogeneous at node "
                f"{v!r}: the path impacts below its children differ "
                f"({min(below):.6g} to {max(below):.6g}), so E_w has no contrast "
                "eigenvectors there. Use numpy.linalg.eigh."
            )
        h[v] = wv + below[0]
    vals = [h[hierarchy.root]]
    vecs = [np.full(k, 1.0 / np.sqrt(k))]
    nodes = [hierarchy.root]
    for v in hierarchy.nodes:
        ch = hierarchy.children(v)
        if len(ch) < 2:
            continue
        contrast = _helmert([len(leaves[c]) for c in ch])
        idx = [i for c in ch for i in leaves[c]]
        for j in range(contrast.shape[1]):
            x = np.zeros(k)
            x[idx] = contrast[:, j]
            vecs.append(x)
            vals.append(h[ch[0]])
            nodes.append(v)
    return TreeSpectrum(
        eigenvalues=np.array(vals),
        eigenvectors=np.column_stack(vecs),
        nodes=tuple(nodes),
        path_impact=h,
    )


def homogeneous_tree_weights(
    hierarchy: Hierarchy, split_eigenvalues: dict[str, float], root_eigenvalue: float
) -> dict[str, float]:
    """Node weights whose E_w has prescribed contrast eigenvalues (inverse map).

    Parameters
    ----------
    hierarchy : Hierarchy
        A tree whose classes are its leaves.
    split_eigenvalues : mapping of internal node -> float
        ``lambda_v``: the eigenvalue of the contrasts between v's child subtrees
        (for a single-child node, the path impact of its child; still required).
    root_eigenvalue : float
        Eigenvalue on the constant vector.

    Returns
    -------
    dict of node -> weight
        ``w_leaf = lambda_parent``, ``w_u = (lambda_parent(u) - lambda_u)/|L(u)|``
        for internal u, ``w_root = (root_eigenvalue - lambda_root)/K``. The weights
        are nonnegative iff the eigenvalues decrease from the leaves' parents to the
        root (ultrametric order) and ``root_eigenvalue >= lambda_root``.
    """
    owner = "homogeneous_tree_weights"
    _check_tree(hierarchy, owner)
    leaves = _leaves_below(hierarchy)
    internal = [v for v in hierarchy.nodes if hierarchy.children(v)]
    missing = [v for v in internal if v not in split_eigenvalues]
    if missing:
        raise ConfigError(
            f"The 'split_eigenvalues' parameter of {owner} must give every internal "
            f"node. Missing {missing[0]!r}."
        )
    lam = {
        v: check_float(split_eigenvalues[v], "split_eigenvalues", owner)
        for v in internal
    }
    mu = check_float(root_eigenvalue, "root_eigenvalue", owner)
    out: dict[str, float] = {}
    for v in hierarchy.nodes:
        if v == hierarchy.root:
            out[v] = (mu - lam[v]) / hierarchy.n_classes
            continue
        parent = hierarchy.parents(v)[0]
        if v in lam:
            out[v] = (lam[parent] - lam[v]) / len(leaves[v])
        else:
            out[v] = lam[parent]
    return out
