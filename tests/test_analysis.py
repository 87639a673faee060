"""Tests of simnet.analysis: clustering of similarity matrices and dendrograms.

Clustering algorithms are checked on data whose right answer is known (separated
blobs, concentric rings, block-structured similarities), against each other (kernel
k-means with a linear kernel is k-means) and against naive twins (brute-force
label matching, the kernel-distance formula). Dendrograms are checked on the
shared-ancestor matrices E_w of simnet hierarchies, which they must recover exactly.
"""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from scipy.cluster import hierarchy as sch
from strategies import seeds

from simnet import Hierarchy
from simnet.analysis import (
    ClusterMethod,
    ElasticityClustering,
    KernelInit,
    LinkageMethod,
    SimilarityKind,
    TreeReference,
    cluster_similarity,
    clustering_accuracy,
    cophenetic_agreement,
    elasticity_dissimilarity,
    elasticity_linkage,
    hierarchy_from_linkage,
    kernel_kmeans,
    kmeans,
    local_elasticity_clustering,
    recovers_tree,
    spectral_clustering,
)
from simnet.analysis import clustering as clustering_module
from simnet.errors import ConfigError, DataError, SimnetError
from simnet.networks import MLP, ProbeSimilarities, empirical_ntk

# --------------------------------------------------------------------------------------
# data with a known answer
# --------------------------------------------------------------------------------------


def blobs(
    rng: np.random.Generator, n_per: int = 20, k: int = 3, dim: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """``k`` Gaussian blobs of unit spread whose centres are >= 20 apart."""
    centres = 20.0 * np.eye(k, dim) + rng.normal(scale=0.5, size=(k, dim))
    truth = np.repeat(np.arange(k), n_per)
    x = centres[truth] + rng.normal(size=(k * n_per, dim))
    order = rng.permutation(truth.size)
    return x[order], truth[order]


def rings(rng: np.random.Generator, n_per: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric noisy circles of radii 1 and 4 (k-means cannot split them)."""
    theta = rng.uniform(0.0, 2.0 * np.pi, size=2 * n_per)
    truth = np.repeat([0, 1], n_per)
    radius = np.where(truth == 0, 1.0, 4.0) + rng.normal(scale=0.05, size=2 * n_per)
    x = np.column_stack([radius * np.cos(theta), radius * np.sin(theta)])
    return x, truth


def gaussian_affinity(x: np.ndarray, sigma: float) -> np.ndarray:
    d2 = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    return np.exp(-d2 / (2.0 * sigma**2))


def block_similarity(
    rng: np.random.Generator, n_per: int = 30, within: float = 0.8, between: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Two subclasses: higher similarity within a block, plus asymmetric noise.

    Shaped like He & Su's matrix of relative similarities (unit diagonal).
    """
    truth = np.repeat([0, 1], n_per)
    rng.shuffle(truth)
    m = np.where(truth[:, None] == truth[None, :], within, between)
    m = m + rng.normal(scale=0.15, size=m.shape)
    np.fill_diagonal(m, 1.0)
    return m, truth


def naive_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Best accuracy over every injective relabelling of the predicted clusters."""
    pred_labels, truth_labels = np.unique(predicted), np.unique(truth)
    best = 0.0
    for image in itertools.permutations(
        list(truth_labels) + [None] * len(pred_labels), len(pred_labels)
    ):
        mapping = dict(zip(pred_labels, image, strict=True))
        hits = np.mean([mapping[p] == t for p, t in zip(predicted, truth, strict=True)])
        best = max(best, float(hits))
    return best


# --------------------------------------------------------------------------------------
# k-means
# --------------------------------------------------------------------------------------


@given(seed=seeds)
def test_kmeans_recovers_separated_blobs_for_any_seed(seed):
    x, truth = blobs(np.random.default_rng(seed))
    labels = kmeans(x, 3, seed=seed)
    assert clustering_accuracy(labels, truth) == 1.0


def test_kmeans_is_deterministic_per_seed_and_numbers_by_first_appearance():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40, 3))  # no structure: restarts disagree
    a = kmeans(x, 4, seed=11)
    assert_array_equal(a, kmeans(x, 4, seed=11))
    assert a.dtype == np.int64 and a[0] == 0
    first = [int(np.flatnonzero(a == c)[0]) for c in range(4)]
    assert first == sorted(first)
    assert set(a.tolist()) == {0, 1, 2, 3}


def test_kmeans_does_not_modify_its_input():
    x = np.random.default_rng(0).normal(size=(10, 2))
    before = x.copy()
    kmeans(x, 2, seed=0)
    assert_array_equal(x, before)


def test_kmeans_reaches_the_brute_force_optimum_on_a_small_problem():
    x, _ = blobs(np.random.default_rng(5), n_per=3, k=2, dim=2)
    labels = kmeans(x, 2, seed=0)

    def inertia(lab):
        return sum(np.sum((x[lab == c] - x[lab == c].mean(0)) ** 2) for c in set(lab))

    best = min(
        inertia(np.array((0, *bits)))
        for bits in itertools.product([0, 1], repeat=x.shape[0] - 1)
        if any(bits)
    )
    assert inertia(labels) == pytest.approx(best)


def test_kmeans_edge_cases():
    x = np.array([[0.0], [0.0], [0.0], [1.0]])
    assert_array_equal(kmeans(x, 1, seed=0), [0, 0, 0, 0])
    assert sorted(kmeans(x, 4, seed=0).tolist()) == [0, 1, 2, 3]  # duplicates
    assert_array_equal(kmeans(x, 2, seed=0), [0, 0, 0, 1])
    assert_array_equal(kmeans([[5.0, 1.0]], 1), [0])
    # a generator is accepted; max_iter=1 stops after the first assignment
    labels = kmeans(x, 2, max_iter=1, n_init=1, seed=np.random.default_rng(0))
    assert sorted(set(labels.tolist())) == [0, 1]


# --------------------------------------------------------------------------------------
# spectral clustering
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_spectral_separates_concentric_rings_where_kmeans_cannot(seed):
    x, truth = rings(np.random.default_rng(seed))
    labels = spectral_clustering(gaussian_affinity(x, 0.3), 2, seed=seed)
    assert clustering_accuracy(labels, truth) == 1.0
    assert clustering_accuracy(kmeans(x, 2, seed=seed), truth) < 0.9


@given(seed=seeds)
def test_spectral_recovers_the_blocks_of_a_block_diagonal_affinity(seed):
    rng = np.random.default_rng(seed)
    sizes = [5, 9, 6]
    truth = np.repeat(np.arange(3), sizes)
    a = np.where(truth[:, None] == truth[None, :], 1.0, 0.0)
    a += rng.uniform(0.0, 0.05, size=a.shape)  # weak links between blocks
    perm = rng.permutation(truth.size)
    labels = spectral_clustering(a[np.ix_(perm, perm)], 3, seed=seed)
    assert clustering_accuracy(labels, truth[perm]) == 1.0


def test_spectral_clips_negatives_ignores_the_diagonal_and_isolated_points():
    a = np.array(
        [
            [9.0, 1.0, -5.0, 0.0, 0.0],
            [1.0, 9.0, 0.0, -5.0, 0.0],
            [-5.0, 0.0, 9.0, 1.0, 0.0],
            [0.0, -5.0, 1.0, 9.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0],  # isolated sample
        ]
    )
    clipped = np.clip(a, 0.0, None)
    labels = spectral_clustering(a, 2, seed=0)
    assert_array_equal(labels, spectral_clustering(clipped, 2, seed=0))
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[0] != labels[2]
    np.fill_diagonal(clipped, 0.0)
    assert_array_equal(labels, spectral_clustering(clipped, 2, seed=0))
    assert_array_equal(spectral_clustering(a, 1), np.zeros(5, dtype=np.int64))


def test_spectral_symmetrises_the_affinity():
    a = np.kron(np.eye(2), np.ones((3, 3)))
    upper = np.triu(a) * 2.0  # (upper + upper^T) / 2 has the same blocks
    np.fill_diagonal(upper, 1.0)
    assert_array_equal(
        spectral_clustering(upper, 2, seed=0), spectral_clustering(a, 2, seed=0)
    )


# --------------------------------------------------------------------------------------
# kernel k-means
# --------------------------------------------------------------------------------------


@given(seed=seeds)
def test_kernel_kmeans_with_a_linear_kernel_is_kmeans(seed):
    x, truth = blobs(np.random.default_rng(seed), n_per=10)
    by_kernel = kernel_kmeans(x @ x.T, 3, seed=seed)
    assert_array_equal(by_kernel, kmeans(x, 3, seed=seed))
    assert clustering_accuracy(by_kernel, truth) == 1.0


@pytest.mark.parametrize("init", list(KernelInit))
def test_kernel_kmeans_rbf_kernel_separates_blobs_with_either_init(init):
    x, truth = blobs(np.random.default_rng(1), n_per=15)
    labels = kernel_kmeans(gaussian_affinity(x, 5.0), 3, init=init, seed=2)
    assert clustering_accuracy(labels, truth) == 1.0
    assert_array_equal(
        labels, kernel_kmeans(gaussian_affinity(x, 5.0), 3, init=init, seed=2)
    )


def test_kernel_kmeans_feature_space_distances_match_the_explicit_features():
    from simnet.analysis.clustering import _kernel_dists, _kernel_objective

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3))
    labels = rng.integers(0, 3, size=12)
    labels[:3] = [0, 1, 2]
    means = np.array([x[labels == c].mean(0) for c in range(3)])
    explicit = np.sum((x[:, None, :] - means[None]) ** 2, axis=-1)
    gram = x @ x.T
    assert_allclose(_kernel_dists(gram, np.diag(gram), labels, 3), explicit, atol=1e-10)
    assert _kernel_objective(gram, labels, 3) == pytest.approx(
        explicit[np.arange(12), labels].sum()
    )


def test_kernel_kmeans_edge_cases():
    gram = np.eye(4)
    assert_array_equal(kernel_kmeans(gram, 1), np.zeros(4, dtype=np.int64))
    assert sorted(kernel_kmeans(gram, 4, seed=0).tolist()) == [0, 1, 2, 3]
    labels = kernel_kmeans(np.ones((5, 5)), 2, init="random", tol=0.0, seed=1)
    assert sorted(set(labels.tolist())) == [0, 1]  # no empty cluster


# --------------------------------------------------------------------------------------
# accuracy
# --------------------------------------------------------------------------------------


@given(
    truth=st.lists(st.integers(0, 3), min_size=1, max_size=30),
    perm=st.permutations([7, -1, 42, 3]),
)
def test_accuracy_is_invariant_to_renaming_the_clusters(truth, perm):
    renamed = np.array(perm)[np.array(truth)]
    assert clustering_accuracy(renamed, truth) == 1.0


@given(
    pair=st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
        )
    )
)
def test_two_cluster_accuracy_is_he_and_su_formula(pair):
    predicted, truth = map(np.array, pair)
    plain = float(np.mean(predicted == truth))
    assert clustering_accuracy(predicted, truth) == pytest.approx(
        0.5 + abs(plain - 0.5)
    )


@given(
    pair=st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 3), min_size=n, max_size=n),
            st.lists(st.integers(0, 2), min_size=n, max_size=n),
        )
    )
)
def test_accuracy_matches_brute_force_matching(pair):
    predicted, truth = map(np.array, pair)
    assert clustering_accuracy(predicted, truth) == pytest.approx(
        naive_accuracy(predicted, truth)
    )


def test_accuracy_examples():
    assert clustering_accuracy(["a", "a", "b"], ["x", "x", "y"]) == 1.0
    # three predicted clusters for two classes: the third counts as errors
    assert clustering_accuracy([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]) == pytest.approx(
        4 / 6
    )
    assert clustering_accuracy([0, 0, 0, 0], [0, 1, 2, 3]) == 0.25


# --------------------------------------------------------------------------------------
# cluster_similarity
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", list(ClusterMethod))
@pytest.mark.parametrize("seed", range(4))
def test_every_method_recovers_two_noisy_similarity_blocks(method, seed):
    m, truth = block_similarity(np.random.default_rng(seed))
    labels = cluster_similarity(m, 2, method=method, seed=seed)
    assert clustering_accuracy(labels, truth) >= 0.95


@pytest.mark.parametrize("method", list(ClusterMethod))
def test_cluster_similarity_symmetrises_first(method):
    m, _ = block_similarity(np.random.default_rng(7))
    sym = (m + m.T) / 2
    assert_array_equal(
        cluster_similarity(m, method=method, seed=3),
        cluster_similarity(sym, method=method, seed=3),
    )
    assert_array_equal(
        cluster_similarity(m, method=method, seed=3),
        cluster_similarity(m.T, method=method, seed=3),
    )


@pytest.mark.parametrize("method", list(ClusterMethod))
@pytest.mark.parametrize("scale", [1e-200, 1e-3, 1e3, 1e200])
def test_cluster_similarity_is_scale_invariant(method, scale):
    m, _ = block_similarity(np.random.default_rng(4))
    assert_array_equal(
        cluster_similarity(scale * m, method=method, seed=0),
        cluster_similarity(m, method=method, seed=0),
    )


def test_cluster_similarity_dispatches_to_the_named_algorithm():
    m, _ = block_similarity(np.random.default_rng(2))
    sym = (m + m.T) / 2
    assert_array_equal(cluster_similarity(m, seed=4), kmeans(sym, 2, seed=4))
    assert_array_equal(
        cluster_similarity(m, method="spectral", seed=4),
        spectral_clustering(sym, 2, seed=4),
    )
    assert_array_equal(
        cluster_similarity(m, method=ClusterMethod.KERNEL_KMEANS, seed=4),
        kernel_kmeans(sym, 2, seed=4),
    )


# --------------------------------------------------------------------------------------
# dendrograms
# --------------------------------------------------------------------------------------

CIFAR = Hierarchy.preset("cifar10")
BINARY = Hierarchy.balanced([2, 2, 2])
X2 = np.zeros((4, 2))
X3 = np.zeros((4, 3))


def test_dissimilarity_is_half_the_squared_kernel_distance():
    phi = np.random.default_rng(0).normal(size=(5, 7))
    d = elasticity_dissimilarity(phi @ phi.T)
    explicit = 0.5 * np.sum((phi[:, None] - phi[None]) ** 2, axis=-1)
    assert_allclose(d, explicit, atol=1e-12)
    # clipped at zero for an indefinite matrix; diagonal exactly zero
    d = elasticity_dissimilarity([[0.0, 2.0], [2.0, 0.0]])
    assert_array_equal(d, np.zeros((2, 2)))


@pytest.mark.parametrize(
    "weights", [1.0, [1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 1.0], [3.0, 1.0, 1.0, 1.0]]
)
def test_linkage_recovers_the_cifar10_tree_from_its_shared_weight_matrix(weights):
    E = CIFAR.shared_weight_matrix(weights)
    assert recovers_tree(E, CIFAR)
    assert cophenetic_agreement(E, CIFAR) > 0.9


@pytest.mark.parametrize(
    "h",
    [BINARY, Hierarchy.balanced([3, 2]), Hierarchy.preset("tiger_cat_car")],
    ids=["binary_3", "balanced_3_2", "tiger_cat_car"],
)
def test_linkage_recovers_trees_exactly(h):
    E = h.shared_weight_matrix(1.0)
    assert recovers_tree(E, h)
    for reference in TreeReference:
        assert cophenetic_agreement(E, h, reference=reference) == pytest.approx(1.0)
    assert recovers_tree(E, h, method="single")
    assert recovers_tree(E, h, method=LinkageMethod.COMPLETE)


@given(
    branching=st.lists(st.integers(2, 3), min_size=1, max_size=3),
    data=st.data(),
)
def test_linkage_recovers_balanced_trees_for_any_positive_depth_weights(
    branching, data
):
    h = Hierarchy.balanced(branching)
    weights = data.draw(
        st.lists(
            st.floats(0.1, 10.0), min_size=h.max_depth + 1, max_size=h.max_depth + 1
        )
    )
    E = h.shared_weight_matrix(weights)
    assert recovers_tree(E, h)
    # the dendrogram is built in the feature space, so any rotation of the classes
    # that respects the tree leaves the answer unchanged, and a scale does too
    assert recovers_tree(3.0 * E + 0.0, h)


def test_scrambled_elasticity_does_not_recover_the_tree():
    E = BINARY.shared_weight_matrix(1.0)
    perm = [0, 2, 4, 6, 1, 3, 5, 7]  # pairs every class with a distant one
    scrambled = E[np.ix_(perm, perm)]
    assert not recovers_tree(scrambled, BINARY)
    assert cophenetic_agreement(scrambled, BINARY) < 0.9
    E = CIFAR.shared_weight_matrix(1.0)
    perm = np.random.default_rng(0).permutation(CIFAR.n_classes)
    scrambled = E[np.ix_(perm, perm)]
    assert not recovers_tree(scrambled, CIFAR)
    assert cophenetic_agreement(scrambled, CIFAR) < 0.9


def test_lca_depth_variant_differs_on_an_unbalanced_tree():
    E = CIFAR.shared_weight_matrix(1.0)
    by_distance = cophenetic_agreement(E, CIFAR)
    by_lca = cophenetic_agreement(E, CIFAR, reference="lca_depth")
    iu = np.triu_indices(CIFAR.n_classes, 1)
    coph = sch.cophenet(elasticity_linkage(E))
    assert by_distance == pytest.approx(
        np.corrcoef(coph, CIFAR.distance_matrix()[iu])[0, 1]
    )
    assert by_lca == pytest.approx(
        np.corrcoef(coph, -CIFAR.lca_depth_matrix()[iu])[0, 1]
    )
    assert by_lca != pytest.approx(by_distance)


def test_cophenetic_agreement_is_nan_when_undefined():
    flat = Hierarchy.from_nested({"root": ["a", "b", "c"]})
    assert np.isnan(cophenetic_agreement(flat.shared_weight_matrix(1.0), flat))
    pair = Hierarchy.from_nested({"root": ["a", "b"]})
    assert np.isnan(cophenetic_agreement(np.eye(2), pair))


def test_a_dag_with_overlapping_class_sets_is_never_recovered():
    h = Hierarchy.preset("seaplane_dag")
    assert not recovers_tree(h.shared_weight_matrix(1.0), h)


def test_elasticity_linkage_is_a_valid_scipy_linkage_of_the_dissimilarity():
    E = CIFAR.shared_weight_matrix([1.0, 2.0, 3.0, 4.0])
    z = elasticity_linkage(E)
    assert z.shape == (CIFAR.n_classes - 1, 4)
    assert sch.is_valid_linkage(z) and sch.is_monotonic(z)
    condensed = sch.distance.squareform(elasticity_dissimilarity(E))
    assert_allclose(z, sch.linkage(condensed, method="average"))
    assert_allclose(elasticity_linkage(E.T), z)


def test_hierarchy_from_linkage_builds_the_binary_tree():
    E = CIFAR.shared_weight_matrix(1.0)
    z = elasticity_linkage(E)
    h = hierarchy_from_linkage(z, CIFAR.classes)
    K = CIFAR.n_classes
    assert h.classes == CIFAR.classes
    assert h.is_tree and h.root == f"g{K - 2}"
    internal = [v for v in h.nodes if v not in h.class_index]
    assert sorted(internal) == sorted(f"g{i}" for i in range(K - 1))
    assert all(len(h.children(v)) == 2 for v in internal)
    heights = nx.get_node_attributes(h.graph, "height")
    assert_allclose([heights[f"g{i}"] for i in range(K - 1)], z[:, 2])
    # the rebuilt tree holds every true cluster, and is recovered from E itself
    assert recovers_tree(E, h)
    assert recovers_tree(E, CIFAR)


def test_hierarchy_from_linkage_accepts_any_scipy_linkage():
    x = np.random.default_rng(0).normal(size=(6, 2))
    z = sch.linkage(x, method="ward")
    h = hierarchy_from_linkage(z, [f"c{i}" for i in range(6)])
    assert h.n_classes == 6 and h.n_nodes == 11 and h.max_depth >= 3


# --------------------------------------------------------------------------------------
# He & Su's local-elasticity clustering, end to end
# --------------------------------------------------------------------------------------


def four_blobs(seed: int = 0, n_per: int = 20):
    """Primary: two subclasses at (+-3, 0); auxiliary: two blobs at (0, +-3)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    sub = np.repeat([0, 1], n_per)
    primary = centres[sub] + rng.normal(scale=0.7, size=(2 * n_per, 2))
    aux = centres[2 + sub] + rng.normal(scale=0.7, size=(2 * n_per, 2))
    return primary, sub, aux


TINY = {"mlp": MLP(2, (64,), 1, loss="mse"), "epochs": 50, "lr": 0.02, "batch_size": 10}


@pytest.mark.parametrize("similarity", list(SimilarityKind))
def test_local_elasticity_clustering_separates_two_subclasses(similarity):
    primary, sub, aux = four_blobs()
    out = local_elasticity_clustering(
        primary, sub, aux, similarity=similarity, seed=1, **TINY
    )
    assert isinstance(out, ElasticityClustering)
    assert out.similarity is similarity
    assert out.method is (
        ClusterMethod.KMEANS
        if similarity is SimilarityKind.RELATIVE
        else ClusterMethod.KERNEL_KMEANS
    )
    assert out.matrix.shape == (40, 40)
    assert_array_equal(out.matrix, out.matrix.T)
    assert out.accuracy >= 0.95
    assert out.accuracy == clustering_accuracy(out.labels, sub)
    assert_array_equal(out.eta, np.full(40, 1e-6))  # float64: the first step moves f
    if similarity is SimilarityKind.RELATIVE:
        assert_allclose(np.diag(out.matrix), 1.0, rtol=1e-9)
    metrics = out.training.table("metrics")
    final = metrics[metrics.step == metrics.step.max()].set_index("observable")
    assert final.loc["accuracy", "value"] >= 0.95  # primary vs auxiliary
    again = local_elasticity_clustering(
        primary, sub, aux, similarity=similarity, seed=1, **TINY
    )
    assert_array_equal(again.matrix, out.matrix)
    assert_array_equal(again.labels, out.labels)


def test_kernel_similarity_limit_is_the_empirical_ntk_of_the_trained_weights():
    primary, sub, aux = four_blobs(n_per=8)
    limit = local_elasticity_clustering(
        primary, sub, aux, similarity="kernel", probe_eta=0.0, seed=2, **TINY
    )
    ntk = empirical_ntk(TINY["mlp"], limit.params, primary)
    assert_allclose(limit.matrix, ntk, rtol=1e-10, atol=1e-12)
    assert_array_equal(limit.eta, np.zeros(16))
    step = local_elasticity_clustering(
        primary, sub, aux, similarity="kernel", method="spectral", seed=2, **TINY
    )
    assert step.method is ClusterMethod.SPECTRAL
    assert_allclose(step.matrix, limit.matrix, rtol=1e-4, atol=1e-6)


def test_local_elasticity_clustering_untrained_and_seed_handling():
    primary, sub, aux = four_blobs(n_per=5)
    ss = np.random.SeedSequence(5)
    out = local_elasticity_clustering(
        primary, ["a"] * 5 + ["b"] * 5, aux, mlp=TINY["mlp"], epochs=0, seed=ss
    )
    assert ss.n_children_spawned == 0  # the caller's SeedSequence is not touched
    assert out.training.table("metrics").step.unique().tolist() == [0]
    assert set(out.truth.tolist()) == {"a", "b"}
    default = local_elasticity_clustering(primary, sub, aux, epochs=1, seed=0)
    assert default.params.weights[0].shape == (512, 2)


def test_an_undefined_probe_similarity_is_reported(monkeypatch):
    def dead_probes(mlp, params, X, y, X_target=None, *, eta=None):
        s = np.ones((X.shape[0], X.shape[0]))
        s[3] = np.nan
        return ProbeSimilarities(s, s, np.full(X.shape[0], 1e-6))

    monkeypatch.setattr(clustering_module, "probe_similarities", dead_probes)
    primary, sub, aux = four_blobs(n_per=5)
    with pytest.raises(DataError, match=r"relative similarity of 1 primary.*index 3"):
        local_elasticity_clustering(primary, sub, aux, epochs=0, mlp=TINY["mlp"])


# --------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: kmeans([1.0, 2.0], 1),
            DataError,
            r"'features' parameter of kmeans "
            r"must be a 2-D array .* Got shape \(2,\)",
        ),
        (lambda: kmeans(np.zeros((0, 2)), 1), DataError, "must not be empty"),
        (lambda: kmeans([[np.nan]], 1), DataError, "'features'.* must be finite"),
        (lambda: kmeans("abc", 1), DataError, "numpy cannot convert"),
        (
            lambda: kmeans(np.zeros((3, 2)), 4),
            ConfigError,
            r"'n_clusters' parameter of kmeans must be an int in \[1, 3\].* Got 4",
        ),
        (lambda: kmeans(np.zeros((3, 2)), 0), ConfigError, "'n_clusters'"),
        (lambda: kmeans(np.zeros((3, 2)), 2.0), ConfigError, "Got 2.0 instead"),
        (lambda: kmeans(np.zeros((3, 2)), True), ConfigError, "'n_clusters'"),
        (lambda: kmeans(np.zeros((3, 2)), 2, n_init=0), ConfigError, "'n_init'"),
        (lambda: kmeans(np.zeros((3, 2)), 2, max_iter=0), ConfigError, "'max_iter'"),
        (
            lambda: kmeans(np.zeros((3, 2)), 2, seed=-1),
            ConfigError,
            "'seed' parameter of kmeans",
        ),
        (
            lambda: spectral_clustering(np.zeros((3, 4)), 2),
            DataError,
            r"'affinity' parameter of spectral_clustering must be square. "
            r"Got shape \(3, 4\) instead.",
        ),
        (lambda: spectral_clustering(np.eye(3), 5), ConfigError, "'n_clusters'"),
        (lambda: spectral_clustering(np.eye(3), 2, n_init=0), ConfigError, "'n_init'"),
        (
            lambda: kernel_kmeans(np.ones((2, 3)), 2),
            DataError,
            "'gram' parameter of kernel_kmeans must be square",
        ),
        (
            lambda: kernel_kmeans(np.eye(3), 2, tol=1.0),
            ConfigError,
            r"'tol' parameter of kernel_kmeans must be a float in \[0, 1\)",
        ),
        (lambda: kernel_kmeans(np.eye(3), 2, max_iter=0), ConfigError, "'max_iter'"),
        (lambda: kernel_kmeans(np.eye(3), 2, n_init=0), ConfigError, "'n_init'"),
        (
            lambda: kernel_kmeans(np.eye(3), 2, init="pp"),
            ConfigError,
            "'init' parameter of kernel_kmeans must be one of 'k-means\\+\\+'",
        ),
        (
            lambda: cluster_similarity(np.zeros((3, 4))),
            DataError,
            r"The 'matrix' parameter of cluster_similarity must be square. "
            r"Got shape \(3, 4\) instead.",
        ),
        (
            lambda: cluster_similarity(np.eye(3), method="dbscan"),
            ConfigError,
            "'method' parameter of cluster_similarity must be one of 'kmeans', "
            "'spectral', 'kernel_kmeans'",
        ),
        (lambda: cluster_similarity(np.eye(3), 4), ConfigError, "'n_clusters'"),
        (lambda: cluster_similarity(np.full((2, 2), np.inf)), DataError, "finite"),
        (
            lambda: clustering_accuracy([0, 1], [0, 1, 1]),
            DataError,
            r"'predicted' parameter of clustering_accuracy must have the same length",
        ),
        (
            lambda: clustering_accuracy([[0, 1]], [0, 1]),
            DataError,
            r"must be a 1-D array of labels. Got shape \(1, 2\)",
        ),
        (lambda: clustering_accuracy([], []), DataError, "must not be empty"),
        (
            lambda: clustering_accuracy([0, 1], [[0, 1], [0]]),
            DataError,
            "'truth' parameter of clustering_accuracy must be a 1-D array of labels. "
            "Got a ragged list",
        ),
        (lambda: clustering_accuracy([0.0, np.nan], [0, 1]), DataError, "finite"),
        (lambda: clustering_accuracy([0, None], [0, 1]), DataError, "sortable"),
        (
            lambda: elasticity_linkage(np.ones((2, 3))),
            DataError,
            "'impact' parameter of elasticity_linkage must be square",
        ),
        (lambda: elasticity_linkage(np.ones((1, 1))), DataError, "at least 2 x 2"),
        (
            lambda: elasticity_linkage(np.eye(3), method="ward"),
            ConfigError,
            "'method' parameter of elasticity_linkage must be one of",
        ),
        (
            lambda: elasticity_dissimilarity([[1.0, np.nan], [0.0, 1.0]]),
            DataError,
            "'impact' parameter of elasticity_dissimilarity must be finite",
        ),
        (
            lambda: cophenetic_agreement(np.eye(3), CIFAR),
            DataError,
            r"'impact' parameter of cophenetic_agreement must have shape \(10, 10\)",
        ),
        (
            lambda: cophenetic_agreement(np.eye(10), "cifar10"),
            ConfigError,
            "'true_hierarchy' parameter of cophenetic_agreement must be a simnet "
            "Hierarchy. Got str",
        ),
        (
            lambda: cophenetic_agreement(np.eye(10), CIFAR, reference="x"),
            ConfigError,
            "'reference' parameter",
        ),
        (
            lambda: recovers_tree(np.eye(4), CIFAR),
            DataError,
            r"'impact' parameter of recovers_tree must have shape \(10, 10\)",
        ),
        (lambda: recovers_tree(np.eye(10), None), ConfigError, "'true_hierarchy'"),
        (
            lambda: recovers_tree(np.eye(10), CIFAR, method="x"),
            ConfigError,
            "'method' parameter of recovers_tree",
        ),
        (
            lambda: hierarchy_from_linkage(np.zeros((2, 3)), ["a", "b", "c"]),
            DataError,
            "'linkage' parameter of hierarchy_from_linkage must be a valid scipy",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 5, 1, 2]], ["a", "b"]),
            DataError,
            r"valid scipy linkage .* row 0 merges clusters 0 and 5, not in \[0, 2\)",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2], [0, 2, 1, 3]], "abc"),
            DataError,
            "row 1 merges a cluster that is already merged",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, -1, 2]], ["a", "b"]),
            DataError,
            "row 0 has the negative height -1",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 3]], ["a", "b"]),
            DataError,
            "row 0 says 3 leaves instead of 2",
        ),
        (
            lambda: hierarchy_from_linkage([[0.5, 1, 1, 2]], ["a", "b"]),
            DataError,
            "row 0 merges clusters 0.5 and 1",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], ["a"]),
            DataError,
            "'class_names' parameter of hierarchy_from_linkage must have 2 names",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], "ab"),
            DataError,
            "must be a sequence of 2 names. Got str",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], ["a", "a"]),
            ConfigError,
            "unique names. Got 'a' twice",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], ["a", ""]),
            ConfigError,
            "non-empty strings",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], ["a", 3]),
            ConfigError,
            "non-empty strings. Got 3",
        ),
        (
            lambda: local_elasticity_clustering(np.ones((4, 2)), [0, 1, 0, 1], X3),
            DataError,
            "'auxiliary' parameter of local_elasticity_clustering must have 2 columns",
        ),
        (
            lambda: local_elasticity_clustering(np.ones((4, 2)), [0, 1], X2),
            DataError,
            "'truth' parameter .* one label per primary example \\(4\\). Got 2",
        ),
        (
            lambda: local_elasticity_clustering(np.ones((4, 2)), [0, 1, 0, 1], X2[0]),
            DataError,
            "'auxiliary' parameter .* must be a 2-D array",
        ),
        (
            lambda: local_elasticity_clustering(np.ones(4), [0, 1, 0, 1], X2),
            DataError,
            "'primary' parameter .* must be a 2-D array",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, similarity="ntk"
            ),
            ConfigError,
            "'similarity' parameter .* must be one of 'relative', 'kernel'",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, method="ward"
            ),
            ConfigError,
            "'method' parameter of local_elasticity_clustering",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, mlp=MLP(3, (4,), 1, loss="mse")
            ),
            ConfigError,
            "'mlp' parameter .* must take 2 inputs and have a binary head",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, mlp=MLP(2, (4,), 3)
            ),
            ConfigError,
            "binary head .* Got input_dim=2, n_outputs=3 and loss='ce'",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, mlp="relu"
            ),
            ConfigError,
            "'mlp' parameter .* must be a simnet.networks.MLP. Got str",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, batch_size=9
            ),
            ConfigError,
            r"'batch_size' parameter of local_elasticity_clustering .* \[1, 8\]",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, lr=0
            ),
            ConfigError,
            "'lr' parameter",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, epochs=-1
            ),
            ConfigError,
            "'epochs' parameter",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, probe_eta=-1e-6
            ),
            ConfigError,
            "'probe_eta' parameter",
        ),
        (
            lambda: local_elasticity_clustering(
                np.ones((4, 2)), [0, 1, 0, 1], X2, seed="x"
            ),
            ConfigError,
            "'seed' parameter of local_elasticity_clustering",
        ),
        (
            lambda: local_elasticity_clustering(np.ones((2, 2)), [0, None], X2),
            DataError,
            "'truth' parameter .* sortable labels",
        ),
        (
            lambda: local_elasticity_clustering(np.ones((3, 2)), [1, 1, 1], X2),
            DataError,
            "'truth' parameter .* at least 2 distinct subclasses. Got 1",
        ),
        (
            lambda: hierarchy_from_linkage([[0, 1, 1, 2]], ["a", "g0"]),
            ConfigError,
            "internal node names g0..g0. Got 'g0'",
        ),
    ],
)
def test_validation_errors_name_the_parameter(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, SimnetError)


def test_public_functions_do_not_modify_their_inputs():
    m, _ = block_similarity(np.random.default_rng(0), n_per=5)
    before = m.copy()
    for method in ClusterMethod:
        cluster_similarity(m, method=method, seed=0)
    spectral_clustering(m, 2, seed=0)
    kernel_kmeans(m, 2, seed=0)
    E = CIFAR.shared_weight_matrix(1.0)
    E[0, 1] += 0.1  # asymmetric
    e_before = E.copy()
    elasticity_linkage(E)
    recovers_tree(E, CIFAR)
    cophenetic_agreement(E, CIFAR)
    assert_array_equal(m, before)
    assert_array_equal(E, e_before)
