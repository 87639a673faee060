"""Claims about the shared-ancestor matrix E_w of a class hierarchy (MODEL.md 1, 3).

``E_w[k, k'] = sum of w_v over v in anc(k) & anc(k')``. For a tree, anc(k) is the
root-to-k path, so ``E_w[k, k'] = W(lca(k, k'))`` with ``W(v)`` the weight of the
root-to-v path. Each test states the claim it checks in its docstring.

Tree recovery by average linkage (``simnet.analysis.dendrogram``, dissimilarity
``d(k, k') = (E_kk + E_k'k')/2 - E_kk'``, half the weight of the k-k' path without
the LCA) is exact only under a condition; the tests pin down which:

* sufficient, for any tree: every internal node's classes are closer to each other
  than to any other class, ``max d(C, C) < min d(C, not C)`` for the class set C of
  every internal node ("separated clusters"); then no merge of average (or single,
  or complete) linkage ever crosses a true cluster;
* which holds when every class has the same weighted depth ``E_kk = W(k)`` and the
  internal non-root weights are positive (d is then an ultrametric); in particular
  for balanced trees with positive per-depth weights;
* it fails otherwise in general: with per-depth weights ``(w0, w1, w2)`` on
  root -> {a -> {x, y}, b}, recovery holds iff ``w2 < 2 w1``; unit weights fail on
  root -> {a -> {x, c -> c1 -> y}, b}.

The dissimilarity ``max(E) - E_kk'`` (off the diagonal) instead is an ultrametric for
every tree, so average linkage of it recovers every tree with positive weights.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.cluster import hierarchy as sch
from scipy.spatial.distance import squareform

from simnet import Hierarchy
from simnet.analysis.dendrogram import elasticity_dissimilarity, recovers_tree
from simnet.testing import (
    check_ordered_by_lca,
    check_recovers_tree,
    check_symmetric_psd,
    check_ultrametric,
    relabel_classes,
)
from simnet.testing.strategies import balanced_hierarchies, hierarchies, node_weights


def _tree_and_weights(low: float, high: float = 2.0, dag: bool = False):
    return hierarchies(max_nodes=12, dag=dag).flatmap(
        lambda h: st.tuples(st.just(h), node_weights(h, low, high))
    )


def _true_clusters(h: Hierarchy) -> list[list[int]]:
    graph = h.graph
    out = []
    for v in h.nodes:
        below = sorted(
            h.class_index[c] for c in nx.descendants(graph, v) if c in h.class_index
        )
        if 2 <= len(below) < h.n_classes:
            out.append(below)
    return out


def _clusters_separated(d: np.ndarray, h: Hierarchy) -> bool:
    for c in _true_clusters(h):
        rest = [k for k in range(h.n_classes) if k not in c]
        if d[np.ix_(c, c)].max() >= d[np.ix_(c, rest)].min():
            return False
    return True


def _equal_weighted_depth(h: Hierarchy, w: dict[str, float]) -> dict[str, float]:
    """Pad the class weights so that every E_kk equals the largest."""
    diag = np.diag(h.shared_weight_matrix(w))
    out = dict(w)
    for k, c in enumerate(h.classes):
        out[c] += diag.max() - diag[k]
    return out


@given(hw=_tree_and_weights(0.0, dag=True))
def test_shared_weights_are_psd_for_nonnegative_weights(hw):
    """E_w = A diag(w) A^T (A the class x node ancestor matrix) is symmetric PSD
    whenever w >= 0, for trees and DAGs alike."""
    h, w = hw
    check_symmetric_psd(h.shared_weight_matrix(w))


def test_a_negative_weight_can_break_psd():
    """The sign condition matters: a negative leaf weight makes E_w indefinite."""
    h = Hierarchy.preset("tiger_cat_car")
    w = {v: (-3.0 if v == "tiger" else 1.0) for v in h.nodes}
    with pytest.raises(AssertionError, match="not positive semi-definite"):
        check_symmetric_psd(h.shared_weight_matrix(w))


@given(hw=_tree_and_weights(0.0))
def test_tree_shared_weights_are_ultrametric(hw):
    """For a tree and w >= 0, for all classes k, k', k'' (not necessarily distinct):
    E_w[k, k'] >= min(E_w[k, k''], E_w[k'', k']), i.e. max(E_w) - E_w is an
    ultrametric off the diagonal and every diagonal entry dominates its row."""
    h, w = hw
    check_ultrametric(h.shared_weight_matrix(w))


def test_a_dag_need_not_be_ultrametric():
    """The tree hypothesis matters: with two parents, sharing is not nested. With
    weight 1 on aircraft and watercraft only, E[plane, seaplane] = E[seaplane, ship]
    = 1 but E[plane, ship] = 0 < min(1, 1)."""
    h = Hierarchy.preset("seaplane_dag")
    w = {v: (1.0 if v in ("aircraft", "watercraft") else 0.0) for v in h.nodes}
    with pytest.raises(AssertionError, match="ultrametric"):
        check_ultrametric(h.shared_weight_matrix(w))


@given(hw=_tree_and_weights(0.05))
def test_deeper_common_ancestor_means_larger_entry(hw):
    """For a tree and w > 0, within every row k, lca_depth(k, k') > lca_depth(k, k'')
    implies E_w[k, k'] > E_w[k, k''] (the diagonal counts as lca(k, k) = k)."""
    h, w = hw
    check_ordered_by_lca(h.shared_weight_matrix(w), h)


@given(hw=_tree_and_weights(0.05))
def test_recovery_when_classes_share_a_weighted_depth(hw):
    """Average linkage of E_w recovers every cluster of a tree when w > 0 and all
    classes have the same weighted depth E_w[k, k] (here: leaf weights padded)."""
    h, w = hw
    check_recovers_tree(h.shared_weight_matrix(_equal_weighted_depth(h, w)), h)


@given(
    h=balanced_hierarchies(max_depth=3, max_branching=3),
    data=st.data(),
)
def test_balanced_trees_with_per_depth_weights_are_recovered(h, data):
    """A balanced tree with positive per-depth weights is recovered exactly by
    average linkage of E_w (a special case of equal weighted depth)."""
    w = data.draw(node_weights(h, 0.05, 2.0, form="per_depth"))
    check_recovers_tree(h.shared_weight_matrix(w), h)


@given(hw=_tree_and_weights(0.05))
def test_recovery_whenever_the_true_clusters_are_separated(hw):
    """For any tree and w > 0: if, for every internal node with class set C,
    max d(C, C) < min d(C, rest) for d = elasticity_dissimilarity(E_w), then average
    linkage recovers every cluster of the tree."""
    h, w = hw
    e = h.shared_weight_matrix(w)
    assume(_clusters_separated(elasticity_dissimilarity(e), h))
    check_recovers_tree(e, h)


@pytest.mark.parametrize(
    ("w2", "recovered"), [(0.5, True), (1.9, True), (2.1, False), (4.0, False)]
)
def test_recovery_of_an_unbalanced_tree_depends_on_the_weights(w2, recovered):
    """On root -> {a -> {x, y}, b} with per-depth weights (1, w1 = 1, w2),
    d(x, y) = w2 and d(x, b) = w1 + w2 / 2: average linkage recovers {x, y} iff
    w2 < 2 w1. Weights increasing with depth fast enough defeat recovery."""
    h = Hierarchy.from_nested({"root": {"a": ["x", "y"], "b": None}})
    assert recovers_tree(h.shared_weight_matrix([1.0, 1.0, w2]), h) is recovered


def test_unit_weights_can_fail_on_an_unbalanced_tree():
    """With unit weights on root -> {a -> {x, c -> c1 -> y}, b}: d(x, y) = 2 but
    d(x, b) = 1.5, so x merges with b first and the cluster {x, y} of a is lost."""
    h = Hierarchy.from_nested(
        {"root": {"a": {"x": None, "c": {"c1": ["y"]}}, "b": None}}
    )
    e = h.shared_weight_matrix(1.0)
    with pytest.raises(AssertionError, match="does not recover 1 cluster"):
        check_recovers_tree(e, h)


@given(hw=_tree_and_weights(0.05))
def test_shared_ancestor_dissimilarity_recovers_every_tree(hw):
    """For any tree and w > 0 (only internal non-root weights need be positive), the
    dissimilarity d'(k, k') = max(E_w) - E_w[k, k'] (k != k') is an ultrametric, and
    average linkage of it recovers every cluster of the tree, balanced or not."""
    h, w = hw
    e = h.shared_weight_matrix(w)
    d = e.max() - e
    np.fill_diagonal(d, 0.0)
    z = sch.linkage(squareform(d, checks=False), method="average")
    members = [{k} for k in range(h.n_classes)]
    for row in z:
        members.append(members[int(row[0])] | members[int(row[1])])
    found = {frozenset(m) for m in members[h.n_classes :]}
    for cluster in _true_clusters(h):
        assert frozenset(cluster) in found, (cluster, found)


@given(
    h=hierarchies(max_nodes=12, dag=True),
    data=st.data(),
)
def test_relabelling_classes_permutes_e_and_lca(h, data):
    """Listing the classes in the order P (class j of the relabelled hierarchy is
    class P[j]) permutes E_w, the LCA-depth and the distance matrices:
    M' = M[P][:, P], for weights given per node name or per depth."""
    perm = np.array(data.draw(st.permutations(range(h.n_classes))))
    w = data.draw(node_weights(h, 0.0, 2.0))
    per_depth = data.draw(node_weights(h, 0.0, 2.0, form="per_depth"))
    h2 = relabel_classes(h, perm)
    ix = np.ix_(perm, perm)
    assert h2.classes == tuple(h.classes[j] for j in perm)
    # equal up to the order of the sums over nodes
    assert_allclose(h2.shared_weight_matrix(w), h.shared_weight_matrix(w)[ix])
    assert_allclose(
        h2.shared_weight_matrix(per_depth), h.shared_weight_matrix(per_depth)[ix]
    )
    assert_array_equal(h2.lca_depth_matrix(), h.lca_depth_matrix()[ix])
    assert_array_equal(h2.distance_matrix(), h.distance_matrix()[ix])
