"""Hierarchical clustering of classes from an elasticity (impact) matrix.

The hierarchical extension of He & Su's local-elasticity clustering (``MODEL.md``
section 6): from a K x K class-level elasticity matrix E (an MLP's class-averaged
NTK, the simulator's impact matrix E(t), or the shared-ancestor matrix E_w of a
hierarchy) build a dendrogram by average linkage, and score it against the true
class hierarchy by cophenetic correlation and by exact recovery of its clusters.

References
----------
.. [1] H. He and W. J. Su, "The local elasticity of neural networks", ICLR 2020.
.. [2] R. R. Sokal and F. J. Rohlf, "The comparison of dendrograms by objective
   methods", Taxon 11(2), 1962.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import squareform

from .._validation import check_enum
from ..errors import ConfigError, DataError
from ..hierarchy import Hierarchy
from .clustering import _float_array, _square_matrix, _symmetrise, _where

__all__ = [
    "LinkageMethod",
    "TreeReference",
    "cophenetic_agreement",
    "elasticity_dissimilarity",
    "elasticity_linkage",
    "hierarchy_from_linkage",
    "recovers_tree",
]


class LinkageMethod(StrEnum):
    """Agglomeration rule of :func:`scipy.cluster.hierarchy.linkage`.

    Only the rules that accept an arbitrary dissimilarity are offered (``centroid``,
    ``median`` and ``ward`` assume Euclidean distances).
    """

    AVERAGE = "average"
    SINGLE = "single"
    COMPLETE = "complete"
    WEIGHTED = "weighted"


class TreeReference(StrEnum):
    """The true-tree quantity :func:`cophenetic_agreement` correlates with.

    ``distance``: the path length between two classes,
    :meth:`Hierarchy.distance_matrix`; ``lca_depth``: minus the depth of their lowest
    common ancestor, :meth:`Hierarchy.lca_depth_matrix` (larger = farther apart).
    """

    DISTANCE = "distance"
    LCA_DEPTH = "lca_depth"


def _impact(impact: ArrayLike, owner: str, size: int | None = None) -> np.ndarray:
    e = _square_matrix(impact, "impact", owner, size=size)
    if e.shape[0] < 2:
        raise DataError(
            f"{_where('impact', owner)} must be at least 2 x 2 (two classes). "
            f"Got shape {e.shape} instead."
        )
    return _symmetrise(e)


def _dissimilarity(e: np.ndarray) -> np.ndarray:
    diag = np.diag(e)
    d = 0.5 * (diag[:, None] + diag[None, :]) - e
    np.maximum(d, 0.0, out=d)
    np.fill_diagonal(d, 0.0)
    return d


def _linkage(e: np.ndarray, method: LinkageMethod) -> np.ndarray:
    return sch.linkage(squareform(_dissimilarity(e), checks=False), method=str(method))


def _check_hierarchy(value: object, owner: str) -> Hierarchy:
    if not isinstance(value, Hierarchy):
        raise ConfigError(
            f"{_where('true_hierarchy', owner)} must be a simnet Hierarchy. "
            f"Got {type(value).__name__} instead."
        )
    return value


def elasticity_dissimilarity(impact: ArrayLike) -> np.ndarray:
    r"""Class dissimilarity from an elasticity matrix: half the squared kernel distance.

    Parameters
    ----------
    impact : array_like of float, shape (K, K)
        Class-level elasticity (impact) matrix, ``K >= 2``; symmetrised first,
        ``E <- (E + E^T) / 2``. Not modified.

    Returns
    -------
    ndarray of float, shape (K, K)
        :math:`d(k, k') = \max(0, (E_{kk} + E_{k'k'}) / 2 - E_{kk'})`, zero diagonal.

    Raises
    ------
    DataError
        If ``impact`` is not a finite square matrix with at least two rows.

    Notes
    -----
    Read E as a kernel between classes: if :math:`E_{kk'} = \langle \phi_k,
    \phi_{k'} \rangle` for class features :math:`\phi_k` (for instance the
    class-averaged tangent features of a network), then

    .. math::

        d(k, k') = \tfrac12 \lVert \phi_k - \phi_{k'} \rVert^2
                 = \tfrac12 (E_{kk} + E_{k'k'}) - E_{kk'},

    half the squared distance of the two classes in the feature space of the kernel.
    Subtracting the self-impacts makes the dissimilarity insensitive to a class that
    is simply more elastic everywhere (a larger :math:`E_{kk}`) and is what makes
    the shared-ancestor matrix :math:`E_w` tree-like: for a tree,
    :math:`d(k, k')` is half the total weight of the nodes on the path from
    :math:`k` to :math:`k'` other than their lowest common ancestor (half the tree
    distance for unit weights). An estimated E need not be positive semi-definite,
    so the formula can dip below zero; it is clipped at 0 because a dissimilarity
    cannot be negative.

    Examples
    --------
    >>> elasticity_dissimilarity([[4.0, 3.0, 1.0], [3.0, 4.0, 1.0], [1.0, 1.0, 3.0]])
    array([[0. , 1. , 2.5],
           [1. , 0. , 2.5],
           [2.5, 2.5, 0. ]])
    """
    return _dissimilarity(_impact(impact, "elasticity_dissimilarity"))


def elasticity_linkage(
    impact: ArrayLike, *, method: LinkageMethod | str = LinkageMethod.AVERAGE
) -> np.ndarray:
    r"""Agglomerative clustering of classes from an elasticity (impact) matrix.

    Parameters
    ----------
    impact : array_like of float, shape (K, K)
        Class-level elasticity (impact) matrix, ``K >= 2``: larger entries mean an
        SGD step on one class moves the other more. Symmetrised first. Not
        modified.
    method : LinkageMethod or str, default "average"
        Agglomeration rule: ``"average"`` (UPGMA), ``"single"``, ``"complete"`` or
        ``"weighted"``.

    Returns
    -------
    ndarray of float, shape (K - 1, 4)
        A scipy linkage matrix (see :func:`scipy.cluster.hierarchy.linkage`): row
        ``i`` merges clusters ``Z[i, 0]`` and ``Z[i, 1]`` at height ``Z[i, 2]``
        into cluster ``K + i`` of ``Z[i, 3]`` classes. Class ``k`` is row/column
        ``k`` of ``impact``.

    Raises
    ------
    DataError
        If ``impact`` is not a finite square matrix with at least two rows.
    ConfigError
        If ``method`` is not one of the rules above.

    Notes
    -----
    The dissimilarity is :func:`elasticity_dissimilarity`,
    :math:`d(k, k') = \max(0, (E_{kk} + E_{k'k'})/2 - E_{kk'})`, half the squared
    distance between the classes in the feature space of E read as a kernel.
    Average linkage merges the two clusters with the smallest mean pairwise
    dissimilarity; on an ultrametric dissimilarity (such as :math:`E_w` of a tree
    whose classes all lie at the same weighted depth) it returns the tree exactly.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> E = Hierarchy.preset("tiger_cat_car").shared_weight_matrix(1.0)
    >>> elasticity_linkage(E)[:, :3].tolist()
    [[0.0, 1.0, 1.0], [2.0, 3.0, 2.5]]
    """
    owner = "elasticity_linkage"
    e = _impact(impact, owner)
    method = check_enum(LinkageMethod, method, "method", owner)
    return _linkage(e, method)


def _check_linkage(linkage: ArrayLike, owner: str) -> np.ndarray:
    """A linkage matrix whose merges form one binary tree over ``K`` leaves.

    Stricter than :func:`scipy.cluster.hierarchy.is_valid_linkage`, which does not
    check the cluster indices of a one-row linkage.
    """
    z = _float_array(linkage, "linkage", owner, "(K - 1, 4)")
    k = z.shape[0] + 1
    sizes = [1] * k
    used = np.zeros(2 * k - 1, dtype=bool)
    problem = "it must have 4 columns" if z.shape[1] != 4 else ""
    for i, row in enumerate(z if not problem else ()):
        a, b, height, count = row
        if a != int(a) or b != int(b) or not (0 <= a < k + i and 0 <= b < k + i):
            problem = f"row {i} merges clusters {a:g} and {b:g}, not in [0, {k + i})"
        elif a == b or used[int(a)] or used[int(b)]:
            problem = f"row {i} merges a cluster that is already merged"
        elif height < 0:
            problem = f"row {i} has the negative height {height:g}"
        elif count != sizes[int(a)] + sizes[int(b)]:
            problem = (
                f"row {i} says {count:g} leaves instead of "
                f"{sizes[int(a)] + sizes[int(b)]}"
            )
        if problem:
            break
        used[int(a)] = used[int(b)] = True
        sizes.append(sizes[int(a)] + sizes[int(b)])
    if problem:
        raise DataError(
            f"{_where('linkage', owner)} must be a valid scipy linkage matrix of "
            "shape (K - 1, 4), as returned by scipy.cluster.hierarchy.linkage. "
            f"Got an array of shape {z.shape} in which {problem} instead."
        )
    return z


def hierarchy_from_linkage(linkage: ArrayLike, class_names: Sequence[str]) -> Hierarchy:
    """The binary tree of a linkage matrix as a :class:`~simnet.Hierarchy`.

    Parameters
    ----------
    linkage : array_like of float, shape (K - 1, 4)
        A valid scipy linkage matrix, e.g. from :func:`elasticity_linkage`.
    class_names : sequence of str, length K
        Name of leaf ``k`` (row/column ``k`` of the clustered matrix). Names must be
        unique, non-empty and distinct from the internal node names.

    Returns
    -------
    Hierarchy
        A binary tree whose classes are ``class_names`` in the given order. The
        internal node made by row ``i`` of the linkage is named ``f"g{i}"`` and
        carries its merge height as node attribute ``height``; so the root is
        ``f"g{K - 2}"`` and, for a monotone linkage, heights grow with ``i``.

    Raises
    ------
    DataError
        If ``linkage`` is not a valid linkage matrix, or ``class_names`` has the
        wrong length.
    ConfigError
        If a class name is not a non-empty string, is repeated or clashes with an
        internal node name.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> E = Hierarchy.preset("tiger_cat_car").shared_weight_matrix(1.0)
    >>> h = hierarchy_from_linkage(elasticity_linkage(E), ["tiger", "cat", "car"])
    >>> h.classes, h.root, h.children("g0")
    (('tiger', 'cat', 'car'), 'g1', ('tiger', 'cat'))
    """
    owner = "hierarchy_from_linkage"
    z = _check_linkage(linkage, owner)
    k = z.shape[0] + 1
    if isinstance(class_names, str) or not hasattr(class_names, "__len__"):
        raise DataError(
            f"{_where('class_names', owner)} must be a sequence of {k} names. "
            f"Got {type(class_names).__name__} instead."
        )
    names = list(class_names)
    if len(names) != k:
        raise DataError(
            f"{_where('class_names', owner)} must have {k} names to match the "
            f"linkage of {k - 1} rows. Got {len(names)} names instead."
        )
    internal = [f"g{i}" for i in range(k - 1)]
    reserved = set(internal)
    seen: set[str] = set()
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"{_where('class_names', owner)} must hold non-empty strings. "
                f"Got {name!r} instead."
            )
        if name in seen:
            raise ConfigError(
                f"{_where('class_names', owner)} must hold unique names. "
                f"Got {name!r} twice instead."
            )
        if name in reserved:
            raise ConfigError(
                f"{_where('class_names', owner)} must not use the internal node "
                f"names g0..g{k - 2}. Got {name!r} instead."
            )
        seen.add(name)
    node_names = names + internal
    graph = nx.DiGraph()
    graph.add_nodes_from(names)  # classes first: Hierarchy.classes keeps this order
    for i, row in enumerate(z):
        parent = internal[i]
        graph.add_node(parent, height=float(row[2]))
        graph.add_edge(parent, node_names[int(row[0])])
        graph.add_edge(parent, node_names[int(row[1])])
    return Hierarchy(graph)


def _linkage_clusters(z: np.ndarray) -> set[frozenset[int]]:
    """Leaf sets of the internal nodes of a linkage (class indices)."""
    k = z.shape[0] + 1
    members: list[frozenset[int]] = [frozenset([i]) for i in range(k)]
    for row in z:
        members.append(members[int(row[0])] | members[int(row[1])])
    return set(members[k:])


def _true_clusters(h: Hierarchy) -> set[frozenset[int]]:
    """Class sets (size >= 2) below the internal nodes of a hierarchy."""
    graph = h.graph
    out = set()
    for v in h.nodes:
        below = frozenset(
            h.class_index[c] for c in nx.descendants(graph, v) if c in h.class_index
        )
        if len(below) >= 2:
            out.add(below)
    return out


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if not denom > 0.0:
        return float("nan")
    return float(np.clip(np.dot(a, b) / denom, -1.0, 1.0))


def cophenetic_agreement(
    impact: ArrayLike,
    true_hierarchy: Hierarchy,
    *,
    method: LinkageMethod | str = LinkageMethod.AVERAGE,
    reference: TreeReference | str = TreeReference.DISTANCE,
) -> float:
    r"""Correlation between the elasticity dendrogram and the true class tree.

    Parameters
    ----------
    impact : array_like of float, shape (K, K)
        Class-level elasticity matrix; row/column ``k`` is
        ``true_hierarchy.classes[k]``.
    true_hierarchy : Hierarchy
        The true class hierarchy.
    method : LinkageMethod or str, default "average"
        Linkage rule of :func:`elasticity_linkage`.
    reference : TreeReference or str, default "distance"
        ``"distance"``: correlate with the true tree distances
        (:meth:`Hierarchy.distance_matrix`); ``"lca_depth"``: correlate with minus
        the depth of the lowest common ancestor (:meth:`Hierarchy.lca_depth_matrix`).

    Returns
    -------
    float
        Pearson correlation in ``[-1, 1]`` over the class pairs ``k < k'``; 1 means
        the dendrogram's merge heights are an affine function of the true tree's
        distances. NaN when either side is constant over the pairs (e.g. ``K = 2``
        or a flat true tree).

    Raises
    ------
    DataError
        If ``impact`` is not finite, or not K x K with K the number of classes.
    ConfigError
        If ``true_hierarchy`` is not a Hierarchy, or ``method`` or ``reference`` is
        invalid.

    Notes
    -----
    The cophenetic distance :math:`c(k, k')` of the dendrogram is the height at
    which :math:`k` and :math:`k'` first join
    (:func:`scipy.cluster.hierarchy.cophenet`). The score is the cophenetic
    correlation of Sokal & Rohlf [2]_, taken against a tree instead of the input
    dissimilarities:

    .. math::

        r = \operatorname{corr}_{k < k'}\big(c(k, k'),\ t(k, k')\big).

    The default target :math:`t` is the tree distance (path length), so distances
    are compared with distances, the classical choice. The alternative
    :math:`t = -\mathrm{lca\_depth}(k, k')` scores only how deep the classes
    separate. The two agree when every class has the same depth (then
    :math:`\mathrm{dist} = 2(\mathrm{depth} - \mathrm{lca\_depth})`); on an
    unbalanced tree (CIFAR-10's: bird and frog sit one level above the mammals) the
    distance also accounts for the depth of each class.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> h = Hierarchy.balanced([2, 2])
    >>> round(cophenetic_agreement(h.shared_weight_matrix(1.0), h), 6)
    1.0
    """
    owner = "cophenetic_agreement"
    h = _check_hierarchy(true_hierarchy, owner)
    e = _impact(impact, owner, size=h.n_classes)
    method = check_enum(LinkageMethod, method, "method", owner)
    reference = check_enum(TreeReference, reference, "reference", owner)
    coph = sch.cophenet(_linkage(e, method))
    iu = np.triu_indices(h.n_classes, k=1)
    if reference is TreeReference.DISTANCE:
        target = h.distance_matrix()[iu].astype(np.float64)
    else:
        target = -h.lca_depth_matrix()[iu].astype(np.float64)
    return _pearson(coph, target)


def recovers_tree(
    impact: ArrayLike,
    true_hierarchy: Hierarchy,
    *,
    method: LinkageMethod | str = LinkageMethod.AVERAGE,
) -> bool:
    """Whether the elasticity dendrogram contains every cluster of the true tree.

    Parameters
    ----------
    impact : array_like of float, shape (K, K)
        Class-level elasticity matrix; row/column ``k`` is
        ``true_hierarchy.classes[k]``.
    true_hierarchy : Hierarchy
        The true class hierarchy.
    method : LinkageMethod or str, default "average"
        Linkage rule of :func:`elasticity_linkage`.

    Returns
    -------
    bool
        True iff the set of classes below every internal node of
        ``true_hierarchy`` (with at least two classes) is also the leaf set of a
        node of the dendrogram.

    Raises
    ------
    DataError
        If ``impact`` is not finite, or not K x K with K the number of classes.
    ConfigError
        If ``true_hierarchy`` is not a Hierarchy or ``method`` is invalid.

    Notes
    -----
    The dendrogram is binary, the true tree need not be. Requiring every true
    cluster to appear is the same as requiring the two trees to have the same
    clusters up to a binary resolution of the multi-way splits: a dendrogram
    cluster that is not a true cluster is then necessarily a union of two or more,
    but not all, children of one true node (the smallest true cluster containing
    it). A DAG whose class sets overlap (a class with two parents) can never be
    recovered, since dendrogram clusters are nested or disjoint.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> h = Hierarchy.preset("cifar10")
    >>> recovers_tree(h.shared_weight_matrix(1.0), h)
    True
    """
    owner = "recovers_tree"
    h = _check_hierarchy(true_hierarchy, owner)
    e = _impact(impact, owner, size=h.n_classes)
    method = check_enum(LinkageMethod, method, "method", owner)
    return _true_clusters(h) <= _linkage_clusters(_linkage(e, method))
