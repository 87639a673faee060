"""Impact matrices decomposed into group indicators (``simnet.models.impact_groups``).

The decomposition must rebuild every basis matrix (grouped part plus dense rest), find
the groups of the tree-structured forms (one group per node, so a class belongs to
depth + 1 groups), and leave the forms without such a structure dense.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from strategies import hierarchies, node_weights, seeds

from simnet import Hierarchy, ImpactMatrix
from simnet.models.impact_groups import impact_groups


def _groups_of(groups, c):
    return set(groups.idx[groups.ptr[c] : groups.ptr[c + 1]].tolist())


@given(k=st.integers(3, 40), alpha=st.floats(-2, 2), beta=st.floats(-2, 2))
def test_two_parameter_is_singletons_plus_everyone(k, alpha, beta):
    """(From K = 3: with K = 2 a class would be in K groups, no cheaper than dense.)"""
    groups = impact_groups(ImpactMatrix.two_parameter(k, alpha, beta).basis)
    assert not groups.has_dense
    assert groups.n_groups == k + 1  # K singletons and the group of all classes
    assert all(len(_groups_of(groups, c)) == 2 for c in range(k))
    assert_allclose(groups.matrices(), ImpactMatrix.two_parameter(k, 1, 1).basis)


@given(h=hierarchies(dag=False), data=st.data())
def test_tree_impacts_decompose_into_node_groups(h, data):
    """For a tree, E_w = sum_v w_v 1_{S_v} 1_{S_v}^T: a class is in at most
    depth + 1 groups (its ancestors with a non-zero weight), and the matrices are
    rebuilt to 1e-12."""
    weights = data.draw(node_weights(h))
    impact = ImpactMatrix.from_hierarchy(h, weights)
    groups = impact_groups(impact.basis)
    assert_allclose(groups.matrices(), impact.basis, rtol=1e-12, atol=1e-12)
    if not groups.has_dense:
        depth = h.max_depth + 1
        assert all(len(_groups_of(groups, c)) <= depth for c in range(h.n_classes))
    per_depth = impact_groups(
        ImpactMatrix.per_depth(h, [1.0] * (h.max_depth + 1)).basis
    )
    # groups are used only when a class belongs to fewer than K of them
    if per_depth.n_groups:
        assert max(np.diff(per_depth.ptr)) < h.n_classes
    assert_allclose(
        per_depth.matrices(), ImpactMatrix.per_depth(h, [1.0] * (h.max_depth + 1)).basis
    )


def test_trees_need_one_group_per_ancestor():
    for h in (Hierarchy.preset("cifar10"), Hierarchy.balanced([3, 4, 2])):
        for impact in (
            ImpactMatrix.from_hierarchy(h),
            ImpactMatrix.per_depth(h, [1.0] * (h.max_depth + 1)),
        ):
            groups = impact_groups(impact.basis)
            assert not groups.has_dense
            assert max(np.diff(groups.ptr)) == h.max_depth + 1
            assert_allclose(groups.matrices(), impact.basis)


@given(k=st.integers(3, 12), seed=seeds)
def test_generic_and_non_symmetric_matrices_stay_dense(k, seed):
    rng = np.random.default_rng(seed)
    generic = rng.uniform(0.1, 1.0, size=(k, k))
    generic = generic + generic.T
    for matrix in (generic, generic + np.triu(np.ones((k, k)), 1)):
        groups = impact_groups(matrix[None])
        assert groups.has_dense and groups.n_groups == 0
        assert_allclose(groups.matrices(), matrix[None])


def test_dag_weight_matrix_stays_dense_and_is_rebuilt():
    """A two-parent class makes the shared-ancestor matrix overlap, not nest."""
    impact = ImpactMatrix.from_hierarchy(Hierarchy.preset("seaplane_dag"))
    groups = impact_groups(impact.basis)
    assert groups.has_dense
    assert_allclose(groups.matrices(), impact.basis)


def test_mixed_terms_keep_the_grouped_ones():
    k = 6
    rng = np.random.default_rng(0)
    dense = rng.uniform(size=(k, k))
    basis = np.concatenate([ImpactMatrix.two_parameter(k, 1, 1).basis, dense[None]])
    groups = impact_groups(basis)
    assert groups.has_dense and groups.n_groups == k + 1
    assert np.all(groups.dense[:2] == 0) and np.all(groups.dense[2] == dense)
    assert_allclose(groups.matrices(), basis)
