"""Tests of simnet.hierarchy: builders, derived matrices, files, presets, errors.

Derived quantities are checked against naive twins written here with networkx
primitives (``nx.ancestors``, ``nx.lowest_common_ancestor``, longest paths,
undirected shortest paths) and plain loops over ancestor sets.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from simnet.errors import HierarchyError, SimnetError
from simnet.hierarchy import PRESETS, Hierarchy

HYPOTHESIS = settings(max_examples=50, deadline=None)


# ---------------------------------------------------------------------------
# naive twins
# ---------------------------------------------------------------------------
def naive_root(g: nx.DiGraph):
    (root,) = [v for v in g if g.in_degree(v) == 0]
    return root


def naive_classes(g: nx.DiGraph) -> list:
    return [v for v in g if g.out_degree(v) == 0]


def naive_ancestors(g: nx.DiGraph, node) -> set:
    """Walk parent links by hand (breadth first)."""
    seen = {node}
    frontier = [node]
    while frontier:
        nxt = []
        for v in frontier:
            for u in g.predecessors(v):
                if u not in seen:
                    seen.add(u)
                    nxt.append(u)
        frontier = nxt
    return seen


def naive_depth(g: nx.DiGraph, node) -> int:
    """Longest path from the root: the longest path inside the ancestor subgraph."""
    return nx.dag_longest_path_length(g.subgraph(naive_ancestors(g, node)))


def naive_lca_depth(g: nx.DiGraph) -> np.ndarray:
    """Brute force over ancestor sets: depth of the deepest common ancestor."""
    classes = naive_classes(g)
    anc = {k: naive_ancestors(g, k) for k in classes}
    depth = {v: naive_depth(g, v) for v in g}
    out = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for i, a in enumerate(classes):
        for j, b in enumerate(classes):
            out[i, j] = max(depth[v] for v in anc[a] & anc[b])
    return out


def naive_tree_lca_nodes(g: nx.DiGraph) -> dict:
    classes = naive_classes(g)
    return {
        (a, b): nx.lowest_common_ancestor(g, a, b) for a in classes for b in classes
    }


def naive_shared_weights(g: nx.DiGraph, weight_of) -> np.ndarray:
    """E_w[k, k'] = sum of weight_of(v) over v in anc(k) & anc(k'), by loops."""
    classes = naive_classes(g)
    anc = {k: naive_ancestors(g, k) for k in classes}
    out = np.zeros((len(classes), len(classes)))
    for i, a in enumerate(classes):
        for j, b in enumerate(classes):
            out[i, j] = math.fsum(weight_of(v) for v in anc[a] & anc[b])
    return out


def naive_distance(g: nx.DiGraph) -> np.ndarray:
    classes = naive_classes(g)
    und = nx.Graph(g)
    return np.array(
        [[nx.shortest_path_length(und, a, b) for b in classes] for a in classes]
    )


# ---------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------
node_names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6
).filter(lambda s: s.strip() != "")


@st.composite
def random_graphs(draw, *, dag: bool = False, names: bool = False, max_nodes=30):
    """A rooted tree from a random parent array; with ``dag``, extra forward edges."""
    n = draw(st.integers(2, max_nodes))
    parent = [draw(st.integers(0, i - 1)) for i in range(1, n)]
    if names:
        labels = draw(st.lists(node_names, min_size=n, max_size=n, unique=True))
    else:
        labels = [f"v{i}" for i in range(n)]
    g = nx.DiGraph()
    g.add_nodes_from(labels)
    for i, p in enumerate(parent, start=1):
        g.add_edge(labels[p], labels[i])
    if dag:
        extra = draw(
            st.lists(
                st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=6
            )
        )
        for a, b in extra:
            if a < b:
                g.add_edge(labels[a], labels[b])
    return g


def tiny() -> Hierarchy:
    return Hierarchy.preset("tiger_cat_car")


# ---------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------
class TestFromNested:
    def test_single_top_key_is_the_root(self):
        h = Hierarchy.from_nested(
            {"animals": {"feline": ["tiger", "cat"], "dog": None}}
        )
        assert h.root == "animals"
        assert h.classes == ("tiger", "cat", "dog")
        assert h.nodes == ("animals", "feline", "dog", "tiger", "cat")
        assert h.children("animals") == ("feline", "dog")

    def test_several_keys_hang_under_implicit_root(self):
        h = Hierarchy.from_nested({"a": ["x", "y"], "b": None})
        assert h.root == "root"
        assert h.children("root") == ("a", "b")
        assert h.classes == ("x", "y", "b")
        assert h.depth_of("x") == 2

    def test_root_keyword_names_the_implicit_root(self):
        h = Hierarchy.from_nested({"a": ["x"]}, root="top")
        assert h.root == "top"
        assert h.parents("a") == ("top",)

    def test_lists_of_leaves(self):
        h = Hierarchy.from_nested({"r": ["a", "b", "c"]})
        assert h.classes == ("a", "b", "c")
        assert h.max_depth == 1
        assert h.n_nodes == 4

    def test_mixed_lists_mappings_and_empty_leaves(self):
        h = Hierarchy.from_nested(
            {"r": ["a", {"b": ("c", "d"), "e": {}}, {"f": None}], "g": {}}
        )
        assert h.root == "root"
        assert set(h.graph.edges) == {
            ("root", "r"),
            ("root", "g"),
            ("r", "a"),
            ("r", "b"),
            ("r", "e"),
            ("r", "f"),
            ("b", "c"),
            ("b", "d"),
        }
        assert set(h.classes) == {"a", "c", "d", "e", "f", "g"}

    def test_to_nested_round_trip(self):
        for name in ("cifar10", "tiger_cat_car", "binary_3"):
            h = Hierarchy.preset(name)
            nested = h.to_nested()
            assert list(nested) == [h.root]
            back = Hierarchy.from_nested(nested)
            assert set(back.graph.edges) == set(h.graph.edges)
            assert back.root == h.root

    def test_to_nested_leaves_are_none(self):
        assert tiny().to_nested() == {
            "root": {
                "animal": {"feline": {"tiger": None, "cat": None}},
                "vehicle": {"car": None},
            }
        }


class TestFromEdgesAndGraph:
    def test_from_edges(self):
        h = Hierarchy.from_edges([("r", "a"), ("r", "b"), ["a", "c"], ("a", "d")])
        assert h.root == "r"
        assert h.classes == ("b", "c", "d")
        assert h.nodes == ("r", "a", "b", "c", "d")
        assert_array_equal(h.depth, [0, 1, 1, 2, 2])

    def test_from_edges_accepts_a_generator(self):
        h = Hierarchy.from_edges(("r", f"c{i}") for i in range(3))
        assert h.classes == ("c0", "c1", "c2")

    def test_from_graph_matches_from_edges(self):
        edges = [("r", "a"), ("a", "x"), ("a", "y"), ("r", "z")]
        g = nx.DiGraph(edges)
        g.nodes["x"]["lr"] = 0.5
        assert Hierarchy.from_graph(g) == Hierarchy.from_edges(edges)

    def test_graph_is_copied_and_read_only(self):
        g = nx.DiGraph([("r", "a"), ("r", "b")])
        h = Hierarchy.from_graph(g)
        g.add_edge("b", "c")
        assert h.classes == ("a", "b")
        with pytest.raises(nx.NetworkXError):
            h.graph.add_edge("a", "new")
        assert "new" not in h.graph

    def test_arrays_are_read_only(self):
        h = tiny()
        with pytest.raises(ValueError):
            h.depth[0] = 5
        with pytest.raises(ValueError):
            h.ancestor_matrix[0, 0] = False

    def test_nodes_ordered_by_depth_then_insertion(self):
        h = Hierarchy.from_edges([("r", "a"), ("a", "x"), ("r", "b")])
        assert h.nodes == ("r", "a", "b", "x")
        assert h.node_index == {"r": 0, "a": 1, "b": 2, "x": 3}
        assert h.class_index == {"x": 0, "b": 1}

    def test_equality_and_hash(self):
        a = Hierarchy.preset("cifar10")
        b = Hierarchy.preset("cifar10")
        assert a == b
        assert hash(a) == hash(b)
        assert a != tiny()
        assert a != "cifar10"

    def test_repr(self):
        assert repr(tiny()) == (
            "Hierarchy(tree, root='root', n_classes=3, n_nodes=7, max_depth=3)"
        )
        assert repr(Hierarchy.preset("seaplane_dag")).startswith("Hierarchy(DAG,")

    def test_a_subclass_of_simnet_error_and_value_error(self):
        assert issubclass(HierarchyError, SimnetError)
        assert issubclass(HierarchyError, ValueError)


class TestBalanced:
    @pytest.mark.parametrize(
        "branching", [[1], [3], [2, 3], [2, 2, 2], [1, 4, 2], [3, 1, 2, 2]]
    )
    def test_counts_and_depths(self, branching):
        h = Hierarchy.balanced(branching)
        assert h.n_classes == math.prod(branching)
        level_sizes = np.cumprod(branching)
        assert h.n_nodes == 1 + int(level_sizes.sum())
        assert h.max_depth == len(branching)
        assert h.is_tree
        for k in h.classes:
            assert h.depth_of(k) == len(branching)
        for v in h.nodes:
            d = h.depth_of(v)
            n_kids = len(h.children(v))
            assert n_kids == (branching[d] if d < len(branching) else 0)
        assert_array_equal(np.bincount(h.depth)[1:], level_sizes)

    def test_names_follow_paths(self):
        h = Hierarchy.balanced([2, 3])
        assert h.children("root") == ("n0", "n1")
        assert h.children("n1") == ("n1.0", "n1.1", "n1.2")
        assert h.classes == ("n0.0", "n0.1", "n0.2", "n1.0", "n1.1", "n1.2")

    def test_int_and_numpy_branching(self):
        assert Hierarchy.balanced(4).n_classes == 4
        assert Hierarchy.balanced(np.array([2, 2])) == Hierarchy.balanced([2, 2])

    @pytest.mark.parametrize("bad", [[], [0], [2, -1], [2.0], [True], "22"])
    def test_bad_branching(self, bad):
        with pytest.raises(HierarchyError, match="branching must be a non-empty list"):
            Hierarchy.balanced(bad)


class TestPresets:
    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_every_preset_builds(self, name):
        h = Hierarchy.preset(name)
        assert isinstance(h, Hierarchy)
        assert h == Hierarchy.preset(name)
        assert h.n_classes >= 2
        assert h.nodes[0] == h.root
        assert set(h.classes) == set(naive_classes(nx.DiGraph(h.graph)))

    def test_cifar10(self):
        h = Hierarchy.preset("cifar10")
        assert h.is_tree
        assert set(h.classes) == {
            "cat",
            "dog",
            "deer",
            "horse",
            "bird",
            "frog",
            "plane",
            "ship",
            "car",
            "truck",
        }
        assert h.ancestors("cat") == {"cat", "mammals", "animals", "root"}
        assert h.parents("plane") == ("vehicles",)

    def test_tiger_cat_car(self):
        h = tiny()
        assert h.classes == ("tiger", "cat", "car")
        assert h.ancestors("tiger") == {"tiger", "feline", "animal", "root"}
        assert_array_equal(h.lca_depth_matrix(), [[3, 2, 0], [2, 3, 0], [0, 0, 2]])

    def test_binary_3(self):
        assert Hierarchy.preset("binary_3") == Hierarchy.balanced([2, 2, 2])
        assert Hierarchy.preset("binary_3").n_classes == 8

    @pytest.mark.parametrize("bad", ["nope", "CIFAR10", "", ["cifar10"]])
    def test_unknown_preset(self, bad):
        with pytest.raises(HierarchyError, match="unknown hierarchy preset") as info:
            Hierarchy.preset(bad)
        assert repr(bad) in str(info.value)
        for name in PRESETS:
            assert name in str(info.value)


class TestSeaplaneDag:
    @pytest.fixture
    def h(self):
        return Hierarchy.preset("seaplane_dag")

    def test_structure(self, h):
        assert set(h.parents("seaplane")) == {"aircraft", "watercraft"}
        assert h.depth_of("seaplane") == 3
        assert not h.is_tree
        assert set(h.classes) == {"plane", "seaplane", "ship", "bird", "fish"}
        assert h.ancestors("seaplane") == {
            "seaplane",
            "aircraft",
            "watercraft",
            "vehicles",
            "root",
        }

    def test_to_nested_raises(self, h):
        with pytest.raises(HierarchyError, match="only a tree"):
            h.to_nested()

    def test_matrices(self, h):
        i = h.class_index
        lca = h.lca_depth_matrix()
        assert lca[i["plane"], i["seaplane"]] == 2
        assert lca[i["ship"], i["seaplane"]] == 2
        assert lca[i["plane"], i["ship"]] == 1
        assert lca[i["bird"], i["seaplane"]] == 0
        dist = h.distance_matrix()
        assert dist[i["plane"], i["seaplane"]] == 2
        assert dist[i["ship"], i["seaplane"]] == 2
        ew = h.shared_weight_matrix(1.0)
        assert ew[i["seaplane"], i["seaplane"]] == 5
        assert ew[i["plane"], i["seaplane"]] == 3
        assert ew[i["ship"], i["seaplane"]] == 3
        g = nx.DiGraph(h.graph)
        assert_array_equal(lca, naive_lca_depth(g))
        assert_allclose(ew, naive_shared_weights(g, lambda v: 1.0))

    def test_render_lists_both_parents(self, h):
        assert "seaplane *  (parents: aircraft, watercraft)" in h.render()


# ---------------------------------------------------------------------------
# derived quantities
# ---------------------------------------------------------------------------
class TestDerived:
    def test_depth_is_the_longest_path(self):
        h = Hierarchy.from_edges([("r", "a"), ("a", "b"), ("b", "c"), ("r", "c")])
        assert h.depth_of("c") == 3
        assert h.max_depth == 3
        assert h.classes == ("c",)

    def test_ancestors_include_self_and_root(self):
        h = Hierarchy.preset("cifar10")
        for v in h.nodes:
            anc = h.ancestors(v)
            assert v in anc
            assert h.root in anc
            assert isinstance(anc, frozenset)
        assert h.ancestors("root") == {"root"}

    def test_ancestor_matrix(self):
        h = tiny()
        a = h.ancestor_matrix
        assert a.shape == (3, 7)
        assert a.dtype == bool
        for k, name in enumerate(h.classes):
            assert {h.nodes[v] for v in np.flatnonzero(a[k])} == h.ancestors(name)

    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_against_naive_on_presets(self, name):
        check_against_naive(Hierarchy.preset(name))

    def test_distance_matrix_formula_on_tree(self):
        h = Hierarchy.preset("cifar10")
        d = h.depth[[h.node_index[k] for k in h.classes]]
        expected = d[:, None] + d[None, :] - 2 * h.lca_depth_matrix()
        assert_array_equal(h.distance_matrix(), expected)

    def test_node_weights_forms(self):
        h = tiny()
        per_node = {v: float(i) for i, v in enumerate(h.nodes)}
        assert_array_equal(h.node_weights(2.0), np.full(7, 2.0))
        assert_array_equal(h.node_weights([0.0, 1.0, 2.0, 3.0]), h.depth)
        assert_array_equal(h.node_weights(np.arange(4)), h.depth)
        assert_array_equal(h.node_weights(per_node), np.arange(7.0))
        calls = []

        def f(node, depth):
            calls.append((node, depth))
            return 10 * depth

        assert_array_equal(h.node_weights(f), 10 * h.depth)
        assert calls == list(zip(h.nodes, h.depth.tolist(), strict=True))
        assert all(type(d) is int for _, d in calls)
        assert h.node_weights(1).dtype == np.float64

    def test_shared_weight_matrix_forms(self):
        h = Hierarchy.preset("cifar10")
        g = nx.DiGraph(h.graph)
        depth = {v: naive_depth(g, v) for v in g}
        per_depth = [0.5, 2.0, 3.0, 7.0]
        per_node = {v: 1.0 + len(v) for v in g}

        def f(node, d):
            return d + 0.25 * len(node)

        assert_allclose(h.shared_weight_matrix(), naive_shared_weights(g, lambda v: 1))
        assert_allclose(
            h.shared_weight_matrix(2.5), naive_shared_weights(g, lambda v: 2.5)
        )
        assert_allclose(
            h.shared_weight_matrix(per_depth),
            naive_shared_weights(g, lambda v: per_depth[depth[v]]),
        )
        assert_allclose(
            h.shared_weight_matrix(per_node),
            naive_shared_weights(g, per_node.__getitem__),
        )
        assert_allclose(
            h.shared_weight_matrix(f), naive_shared_weights(g, lambda v: f(v, depth[v]))
        )

    def test_user_weights_not_mutated(self):
        h = tiny()
        w = np.array([1.0, 2.0, 3.0, 4.0])
        per_node = dict.fromkeys(h.nodes, 1.0)
        h.shared_weight_matrix(w)
        h.shared_weight_matrix(per_node)
        assert_array_equal(w, [1.0, 2.0, 3.0, 4.0])
        assert per_node == dict.fromkeys(h.nodes, 1.0)

    def test_ancestor_index_arrays(self):
        for name in PRESETS:
            check_csr(Hierarchy.preset(name))


def check_csr(h: Hierarchy) -> None:
    ptr, idx = h.ancestor_index_arrays()
    assert ptr.dtype == np.int64
    assert idx.dtype == np.int64
    assert ptr.shape == (h.n_classes + 1,)
    assert ptr[0] == 0
    assert ptr[-1] == idx.size == h.ancestor_matrix.sum()
    assert np.all(np.diff(ptr) >= 1)
    for k, name in enumerate(h.classes):
        row = idx[ptr[k] : ptr[k + 1]]
        assert_array_equal(row, np.flatnonzero(h.ancestor_matrix[k]))
        assert row[0] == 0  # the root comes first
        assert np.all(np.diff(row) > 0)
        assert {h.nodes[v] for v in row} == h.ancestors(name)


def check_against_naive(h: Hierarchy) -> None:
    g = nx.DiGraph(h.graph)
    assert h.root == naive_root(g)
    assert list(h.classes) == naive_classes(g)
    for v in g:
        assert h.ancestors(v) == naive_ancestors(g, v)
        assert h.depth_of(v) == naive_depth(g, v)
    assert np.all(np.diff(h.depth) >= 0)
    lca = h.lca_depth_matrix()
    assert lca.dtype == np.int64
    assert_array_equal(lca, naive_lca_depth(g))
    assert_array_equal(h.distance_matrix(), naive_distance(g))
    assert_allclose(h.shared_weight_matrix(1.0), naive_shared_weights(g, lambda v: 1))
    assert h.is_tree == nx.is_arborescence(g)
    if h.is_tree:
        lca_nodes = naive_tree_lca_nodes(g)
        expected = np.array(
            [[h.depth_of(lca_nodes[a, b]) for b in h.classes] for a in h.classes]
        )
        assert_array_equal(lca, expected)
        d = np.array([h.depth_of(k) for k in h.classes])
        assert_array_equal(h.distance_matrix(), d[:, None] + d[None, :] - 2 * expected)


# ---------------------------------------------------------------------------
# properties on random trees and DAGs
# ---------------------------------------------------------------------------
@HYPOTHESIS
@given(g=st.one_of(random_graphs(), random_graphs(dag=True)))
def test_matches_naive_on_random_hierarchies(g):
    h = Hierarchy(g)
    check_against_naive(h)
    check_csr(h)


@HYPOTHESIS
@given(g=random_graphs(dag=True), data=st.data())
def test_shared_weights_symmetric_psd(g, data):
    h = Hierarchy(g)
    w = data.draw(
        st.lists(st.floats(0.0, 10.0), min_size=h.n_nodes, max_size=h.n_nodes).map(
            np.array
        )
    )
    e = h.shared_weight_matrix(dict(zip(h.nodes, w, strict=True)))
    assert_allclose(e, naive_shared_weights(g, dict(zip(h.nodes, w, strict=True)).get))
    assert_array_equal(e, e.T)
    assert np.linalg.eigvalsh(e).min() >= -1e-10


@HYPOTHESIS
@given(g=random_graphs(), data=st.data())
def test_tree_shared_weights_order_pairs_by_lca_depth(g, data):
    h = Hierarchy(g)
    lca = h.lca_depth_matrix()
    positive = st.floats(1e-3, 10.0)

    # per-depth weights: the entry is a strictly increasing function of LCA depth
    per_depth = data.draw(
        st.lists(positive, min_size=h.max_depth + 1, max_size=h.max_depth + 1)
    )
    e = h.shared_weight_matrix(per_depth)
    assert_allclose(e, np.cumsum(per_depth)[lca])
    deeper = lca[:, :, None, None] > lca[None, None, :, :]
    assert np.all((e[:, :, None, None] > e[None, None, :, :])[deeper])
    same = lca[:, :, None, None] == lca[None, None, :, :]
    assert np.all(
        np.isclose(e[:, :, None, None], e[None, None, :, :], rtol=1e-12)[same]
    )

    # per-node weights: a deeper LCA on the same root path gives a larger entry
    w = data.draw(st.lists(positive, min_size=h.n_nodes, max_size=h.n_nodes))
    weight = dict(zip(h.nodes, w, strict=True))
    e = h.shared_weight_matrix(weight)
    lca_node = naive_tree_lca_nodes(g)
    value = {}  # entry of E_w for the pairs whose LCA is a given node
    for (a, b), u in lca_node.items():
        entry = e[h.class_index[a], h.class_index[b]]
        path = nx.shortest_path(g, h.root, u)
        assert entry == pytest.approx(math.fsum(weight[v] for v in path))
        assert value.setdefault(u, entry) == pytest.approx(entry, rel=1e-12)
    for u in value:
        for a in nx.ancestors(g, u):
            if a in value:
                assert value[u] > value[a]


@HYPOTHESIS
@given(g=st.one_of(random_graphs(), random_graphs(dag=True)))
def test_lca_matrix_symmetric_with_class_depth_diagonal(g):
    h = Hierarchy(g)
    lca = h.lca_depth_matrix()
    assert_array_equal(lca, lca.T)
    assert_array_equal(np.diag(lca), [h.depth_of(k) for k in h.classes])
    assert np.all(lca >= 0)
    assert np.all(lca <= np.minimum.outer(np.diag(lca), np.diag(lca)))


@HYPOTHESIS
@given(g=st.one_of(random_graphs(names=True), random_graphs(dag=True, names=True)))
def test_json_and_gml_round_trip(g):
    h = Hierarchy(g)
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".json", ".gml", ".JSON"):
            path = Path(tmp) / f"sub dir/h{suffix}"
            h.save(path)
            back = Hierarchy.load(path)
            assert back == h
            assert back.nodes == h.nodes
            assert back.classes == h.classes
            assert back.root == h.root
        assert Hierarchy.from_json_data(json.loads(json.dumps(h.to_node_link()))) == h
    if h.is_tree:
        assert set(Hierarchy.from_nested(h.to_nested()).graph.edges) == set(g.edges)


@HYPOTHESIS
@given(g=random_graphs())
def test_render_shows_each_tree_node_once(g):
    h = Hierarchy(g)
    lines = h.render().splitlines()
    names = [re.sub(r"^[|` -]*", "", line) for line in lines[1:]]
    expected = [f"{v} *" if v in h.class_index else v for v in nx.dfs_preorder_nodes(g)]
    assert names == expected


# ---------------------------------------------------------------------------
# files
# ---------------------------------------------------------------------------
class TestFiles:
    def test_json_node_link_matches_networkx(self, tmp_path):
        h = Hierarchy.preset("seaplane_dag")
        path = tmp_path / "h.json"
        h.save(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        g = nx.node_link_graph(data, edges="edges")
        assert g.is_directed()
        assert set(g.edges) == set(h.graph.edges)
        assert list(g.nodes) == list(h.graph.nodes)

    def test_load_networkx_files(self, tmp_path):
        g = nx.DiGraph([("r", "a"), ("a", "x"), ("r", "y")])
        nx.write_gml(g, tmp_path / "g.gml")
        assert Hierarchy.load(tmp_path / "g.gml") == Hierarchy(g)
        (tmp_path / "links.json").write_text(json.dumps(nx.node_link_data(g)))
        assert Hierarchy.load(tmp_path / "links.json") == Hierarchy(g)
        edges = nx.node_link_data(g, edges="edges")
        (tmp_path / "edges.json").write_text(json.dumps(edges))
        assert Hierarchy.load(str(tmp_path / "edges.json")) == Hierarchy(g)

    def test_load_nested_json(self, tmp_path):
        path = tmp_path / "nested.json"
        path.write_text(json.dumps(tiny().to_nested()), encoding="utf-8")
        assert Hierarchy.load(path) == tiny()

    def test_save_is_atomic_and_leaves_no_temporary_file(self, tmp_path):
        path = tmp_path / "h.json"
        path.write_text("old", encoding="utf-8")
        tiny().save(path)
        assert [p.name for p in tmp_path.iterdir()] == ["h.json"]
        assert Hierarchy.load(path) == tiny()

    @pytest.mark.parametrize("suffix", [".json", ".gml"])
    def test_names_networkx_gml_would_convert(self, tmp_path, suffix):
        # networkx's GML reader turns the strings "()" and "[]" into () and []
        h = Hierarchy.from_edges([("root", "()"), ("root", "[]"), ("[]", "0")])
        h.save(tmp_path / f"h{suffix}")
        back = Hierarchy.load(tmp_path / f"h{suffix}")
        assert back == h
        assert back.classes == ("()", "0")

    def test_gml_keeps_node_attributes(self, tmp_path):
        path = tmp_path / "attrs.gml"
        path.write_text(
            'graph [ directed 1 node [ id 0 label "r" lr 0.5 ] '
            'node [ id 1 label "a" ] edge [ source 0 target 1 ] ]',
            encoding="utf-8",
        )
        h = Hierarchy.load(path)
        assert h.nodes == ("r", "a")
        assert h.graph.nodes["r"] == {"lr": 0.5}

    def test_loading_never_executes_code(self, tmp_path):
        canary = tmp_path / "pwned"
        code = f"__import__('pathlib').Path({str(canary)!r}).touch()"
        nested = tmp_path / "nested.json"
        nested.write_text(json.dumps({code: ["eval('1 + 1')", "exec('x = 1')"]}))
        h = Hierarchy.load(nested)
        assert h.root == code
        assert h.classes == ("eval('1 + 1')", "exec('x = 1')")

        link = tmp_path / "link.json"
        link.write_text(
            json.dumps(
                {
                    "nodes": [{"id": code}, {"id": "[1, 2]"}],
                    "edges": [{"source": code, "target": "[1, 2]"}],
                }
            )
        )
        assert Hierarchy.load(link).classes == ("[1, 2]",)

        gml = tmp_path / "h.gml"
        g = nx.DiGraph([(code, "{'a': 1}")])
        nx.write_gml(g, gml)
        assert Hierarchy.load(gml).nodes == (code, "{'a': 1}")
        assert not canary.exists()


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------
def _graph_with_node(v) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node(v)
    return g


@pytest.mark.parametrize(
    ("build", "match"),
    [
        pytest.param(lambda: Hierarchy(nx.DiGraph()), "empty", id="empty"),
        pytest.param(
            lambda: Hierarchy(nx.Graph([("r", "a")])),
            "must be a networkx DiGraph; got Graph",
            id="undirected",
        ),
        pytest.param(
            lambda: Hierarchy.from_graph(nx.MultiDiGraph([("r", "a")])),
            "got MultiDiGraph",
            id="multigraph",
        ),
        pytest.param(
            lambda: Hierarchy({"r": ["a"]}), "DiGraph; got dict", id="not-a-graph"
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("r", "a"), ("a", "a")]),
            r"cycle through node 'a': a -> a",
            id="self-loop",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("r1", "a"), ("r2", "b"), ("r3", "b")]),
            r"3 roots \('r1', 'r2', 'r3'\)",
            id="several-roots",
        ),
        pytest.param(
            lambda: Hierarchy(_graph_with_node("alone")),
            "no classes: the root 'alone' has no children",
            id="single-node",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("root", 3)]),
            r"node 3 has a non-string name \(int\)",
            id="non-string-edge",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("root", ["x"])]),
            r"node \['x'\] has a non-string name \(list\)",
            id="unhashable-edge-name",
        ),
        pytest.param(
            lambda: Hierarchy(_graph_with_node(("a", "b"))),
            r"node \('a', 'b'\) has a non-string name \(tuple\)",
            id="non-string-node",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("root", "")]),
            "empty node name ''",
            id="empty-name",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("root", " \t")]),
            r"empty node name ' \\t'",
            id="whitespace-name",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"a": {"x": None}, "b": ["x"]}),
            "duplicate node name 'x'",
            id="duplicate-nested",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"a": None, "root": ["b"]}),
            "duplicate node name 'root'",
            id="duplicate-implicit-root",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"root": {"a": 5}}),
            "children of node 'a' must be a mapping, a list or null; got int",
            id="bad-nested-value",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"root": "a"}),
            "children of node 'root' .* got str",
            id="nested-string-value",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"root": ["a", ["b"]]}),
            r"node \['b'\] has a non-string name \(list\)",
            id="nested-list-in-list",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({1: ["a"]}),
            "node 1 has a non-string name",
            id="nested-int-key",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"a": [" "]}),
            "empty node name ' '",
            id="nested-blank-leaf",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"a": ["x"]}, root=""),
            "empty node name ''",
            id="nested-empty-root",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested({"a": None}),
            "no classes: the root 'a'",
            id="nested-no-classes",
        ),
        pytest.param(
            lambda: Hierarchy.from_nested(["a", "b"]),
            "must be a mapping; got list",
            id="nested-not-mapping",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges([("a", "b", "c")]),
            r"\(parent, child\) pair; got \('a', 'b', 'c'\)",
            id="edge-triple",
        ),
        pytest.param(
            lambda: Hierarchy.from_edges(["ab"]),
            "pair; got 'ab'",
            id="edge-string",
        ),
        pytest.param(
            lambda: Hierarchy.from_json_data({"nodes": [{"name": "r"}], "edges": []}),
            "malformed.*missing key 'id'",
            id="node-link-no-id",
        ),
        pytest.param(
            lambda: Hierarchy.from_json_data(
                {"nodes": [{"id": "r"}, {"id": "a"}], "links": [{"source": "r"}]}
            ),
            "malformed.*missing key 'target'",
            id="node-link-no-target",
        ),
        pytest.param(
            lambda: Hierarchy.from_json_data({"nodes": ["r"], "edges": []}),
            "node-link hierarchy data is malformed",
            id="node-link-bare-names",
        ),
        pytest.param(
            lambda: Hierarchy.from_json_data(["r", "a"]),
            "node-link data or a nested mapping; got list",
            id="json-list",
        ),
    ],
)
def test_invalid_hierarchies(build, match):
    with pytest.raises(HierarchyError, match=match):
        build()


def test_cycle_message_names_a_node_on_the_cycle():
    with pytest.raises(HierarchyError, match="cycle through node") as info:
        Hierarchy.from_edges([("r", "a"), ("a", "b"), ("b", "c"), ("c", "a")])
    msg = str(info.value)
    named = re.search(r"cycle through node '(\w+)'", msg).group(1)
    assert named in {"a", "b", "c"}
    for v in "abc":
        assert v in msg.split(":", 1)[1]
    assert "r" not in msg.split(":", 1)[1]


def test_cycle_without_a_root():
    with pytest.raises(HierarchyError, match=r"cycle through node '[xy]'"):
        Hierarchy.from_edges([("x", "y"), ("y", "x")])


class TestWeightErrors:
    def test_per_depth_wrong_length(self):
        with pytest.raises(
            HierarchyError,
            match=r"must have 4 entries \(depths 0..3\); got shape \(2,\)",
        ):
            tiny().shared_weight_matrix([1.0, 2.0])

    def test_per_depth_two_dimensional(self):
        with pytest.raises(HierarchyError, match=r"got shape \(1, 4\)"):
            tiny().node_weights([[1.0, 2.0, 3.0, 4.0]])

    def test_mapping_unknown_node(self):
        w = dict.fromkeys(tiny().nodes, 1.0) | {"zebra": 1.0}
        with pytest.raises(HierarchyError, match="weights names unknown node 'zebra'"):
            tiny().shared_weight_matrix(w)

    def test_mapping_missing_node(self):
        w = dict.fromkeys(tiny().nodes, 1.0)
        del w["feline"]
        with pytest.raises(HierarchyError, match="no value for node 'feline'"):
            tiny().shared_weight_matrix(w)

    def test_name_used_in_message(self):
        with pytest.raises(HierarchyError, match="eta_phi has no value for node"):
            tiny().node_weights({"root": 1.0}, name="eta_phi")

    @pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
    def test_non_finite(self, bad):
        h = tiny()
        with pytest.raises(HierarchyError, match="not finite at node 'root'"):
            h.shared_weight_matrix(bad)
        with pytest.raises(HierarchyError, match="not finite at node 'animal'"):
            h.shared_weight_matrix([1.0, bad, 1.0, 1.0])
        w = dict.fromkeys(h.nodes, 1.0) | {"cat": bad}
        with pytest.raises(HierarchyError, match="not finite at node 'cat'"):
            h.shared_weight_matrix(w)
        with pytest.raises(HierarchyError, match="not finite at node 'car'"):
            h.shared_weight_matrix(lambda v, d: bad if v == "car" else 1.0)

    @pytest.mark.parametrize("bad", ["abc", None, [1, "a", 2, 3], [1, [2]], {1, 2}])
    def test_not_numbers(self, bad):
        with pytest.raises(HierarchyError, match="must be a real number") as info:
            tiny().shared_weight_matrix(bad)
        assert repr(bad) in str(info.value)

    def test_not_numbers_per_node(self):
        w = dict.fromkeys(tiny().nodes, 1.0) | {"cat": "x"}
        with pytest.raises(HierarchyError, match="real number at node 'cat'; got 'x'"):
            tiny().shared_weight_matrix(w)
        with pytest.raises(
            HierarchyError, match="real number at node 'root'; got None"
        ):
            tiny().shared_weight_matrix(lambda v, d: None)


@pytest.mark.parametrize("method", ["ancestors", "parents", "children", "depth_of"])
def test_unknown_node(method):
    with pytest.raises(HierarchyError, match="unknown node 'zebra'"):
        getattr(tiny(), method)("zebra")


class TestFileErrors:
    def test_json_not_json(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_text("{not json", encoding="utf-8")
        with pytest.raises(HierarchyError, match=r"cannot parse JSON .*bad.json"):
            Hierarchy.load(path)

    def test_json_not_utf8(self, tmp_path):
        path = tmp_path / "bad.json"
        path.write_bytes(b"\xff\xfe")
        with pytest.raises(
            HierarchyError, match=r"cannot read hierarchy file .*bad.json"
        ):
            Hierarchy.load(path)

    def test_json_invalid_hierarchy(self, tmp_path):
        path = tmp_path / "cyc.json"
        data = {"nodes": [{"id": "a"}, {"id": "b"}], "edges": []}
        path.write_text(json.dumps(data), encoding="utf-8")
        with pytest.raises(HierarchyError, match=r"2 roots \('a', 'b'\)"):
            Hierarchy.load(path)

    def test_gml_undirected(self, tmp_path):
        path = tmp_path / "und.gml"
        nx.write_gml(nx.Graph([("r", "a")]), path)
        with pytest.raises(HierarchyError, match=re.escape("und.gml' is undirected")):
            Hierarchy.load(path)

    @pytest.mark.parametrize(
        ("text", "match"),
        [
            ("garbage [", "cannot parse GML"),
            ("", "cannot parse GML"),
            ("graph [ directed 1 node [ id 0 ] ]", "no 'label'"),
            (
                'graph [ directed 1 node [ id 0 label "a" ] node [ id 1 label "a" ] ]',
                "'a' is duplicated",
            ),
            (
                'graph [ directed 1 node [ id 0 label "r" ] '
                "node [ id 1 label 7 ] edge [ source 0 target 1 ] ]",
                "node 7 has a non-string name",
            ),
            (
                'graph [ directed 1 node [ id 0 label "r" label "s" ] '
                'node [ id 1 label "a" ] edge [ source 0 target 1 ] ]',
                r"node \['r', 's'\] has a non-string name \(list\)",
            ),
            (
                "graph [ directed 1 node [ id 0 label [ x 1 ] ] "
                'node [ id 1 label "a" ] edge [ source 0 target 1 ] ]',
                r"node \{'x': 1\} has a non-string name \(dict\)",
            ),
            (
                'graph [ directed 1 node [ id 0 label "r" ] '
                "edge [ source 0 target 1 ] ]",
                "undefined target 1",
            ),
        ],
    )
    def test_gml_malformed(self, tmp_path, text, match):
        path = tmp_path / "bad.gml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(HierarchyError, match=match):
            Hierarchy.load(path)

    def test_unsupported_suffix(self, tmp_path):
        path = tmp_path / "h.yaml"
        path.write_text("root: [a, b]\n", encoding="utf-8")
        with pytest.raises(
            HierarchyError, match=re.escape("unsupported hierarchy file type '.yaml'")
        ):
            Hierarchy.load(path)
        with pytest.raises(
            HierarchyError, match=re.escape("unsupported hierarchy file type '.txt'")
        ):
            tiny().save(tmp_path / "h.txt")
        assert not (tmp_path / "h.txt").exists()

    def test_missing_file(self, tmp_path):
        with pytest.raises(
            HierarchyError, match=re.escape("nowhere.json' does not exist")
        ):
            Hierarchy.load(tmp_path / "nowhere.json")
        with pytest.raises(HierarchyError, match="does not exist"):
            Hierarchy.load(tmp_path)


# ---------------------------------------------------------------------------
# display
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_render_names_every_node_and_marks_classes(name):
    h = Hierarchy.preset(name)
    text = h.render()
    header, *lines = text.splitlines()
    assert header == (
        f"Hierarchy: {h.n_classes} classes, {h.n_nodes} nodes, depth {h.max_depth}, "
        f"{'tree' if h.is_tree else 'DAG'}"
    )
    line_re = re.compile(r"^(?:[| ]*[|`]-- )?(.+?)( \*)?(?:  \(parents: .*\))?$")
    seen: dict[str, set[bool]] = {}
    for line in lines:
        m = line_re.match(line)
        assert m, line
        seen.setdefault(m.group(1), set()).add(m.group(2) is not None)
    assert set(seen) == set(h.nodes)
    for v, marks in seen.items():
        assert marks == {v in h.class_index}
    assert lines[0] == h.root


def test_render_tiger_cat_car():
    assert tiny().render() == "\n".join(
        [
            "Hierarchy: 3 classes, 7 nodes, depth 3, tree",
            "root",
            "|-- animal",
            "|   `-- feline",
            "|       |-- tiger *",
            "|       `-- cat *",
            "`-- vehicle",
            "    `-- car *",
        ]
    )
