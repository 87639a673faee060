"""Class hierarchies: a validated, immutable view of a rooted DAG over networkx.

A hierarchy is a rooted directed acyclic graph (edges parent -> child) whose sinks are
the classes. It is usually a tree; a class may have several parents (a DAG). Everything
the simulator needs from the graph (ancestor sets, depths, lowest-common-ancestor
depths, tree distances, the shared-ancestor weight matrix) is derived here once and
exposed as numpy arrays indexed by class and node position.

See ``MODEL.md`` section 1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from .errors import HierarchyError
from .io import atomic_write_text

__all__ = ["PRESETS", "Hierarchy"]

NodeWeights = (
    float
    | Sequence[float]
    | np.ndarray
    | Mapping[str, float]
    | Callable[[str, int], float]
)


class Hierarchy:
    """A validated class hierarchy (rooted DAG, edges parent -> child).

    Parameters
    ----------
    graph : networkx.DiGraph
        The hierarchy. It is copied; later changes to ``graph`` do not affect this
        object. Node names must be non-empty strings.

    Attributes
    ----------
    root : str
        The unique node without parents.
    nodes : tuple of str
        All nodes, ordered by depth then by insertion order; ``nodes[0]`` is the root.
    classes : tuple of str
        The sinks (nodes without children), in insertion order.
    depth : ndarray of int, shape (n_nodes,)
        Longest path length from the root to each node.

    Raises
    ------
    HierarchyError
        If the graph is empty, not directed, has a cycle, several roots, a node that
        is unreachable from the root, a non-string or empty node name, or no classes.

    Examples
    --------
    >>> h = Hierarchy.from_nested({"root": {"feline": ["tiger", "cat"], "car": None}})
    >>> h.classes
    ('tiger', 'cat', 'car')
    >>> h.lca_depth_matrix().tolist()
    [[2, 1, 0], [1, 2, 0], [0, 0, 1]]
    """

    def __init__(self, graph: nx.DiGraph):
        if not isinstance(graph, nx.DiGraph) or graph.is_multigraph():
            raise HierarchyError(
                f"a hierarchy must be a networkx DiGraph; got {type(graph).__name__}"
            )
        self._graph = nx.DiGraph(graph)
        self._graph.graph.clear()
        self._graph.graph.update(graph.graph)
        _validate(self._graph)
        insertion = {v: i for i, v in enumerate(self._graph.nodes)}
        self.root: str = next(v for v in self._graph if self._graph.in_degree(v) == 0)
        depth = _longest_depths(self._graph, self.root)
        self.nodes: tuple[str, ...] = tuple(
            sorted(self._graph.nodes, key=lambda v: (depth[v], insertion[v]))
        )
        self.classes: tuple[str, ...] = tuple(
            v for v in self._graph.nodes if self._graph.out_degree(v) == 0
        )
        self.node_index: dict[str, int] = {v: i for i, v in enumerate(self.nodes)}
        self.class_index: dict[str, int] = {k: i for i, k in enumerate(self.classes)}
        self.depth: np.ndarray = np.array(
            [depth[v] for v in self.nodes], dtype=np.int64
        )
        self.depth.setflags(write=False)

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_graph(cls, graph: nx.DiGraph) -> Hierarchy:
        """Build from any networkx DiGraph (edges parent -> child)."""
        return cls(graph)

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]]) -> Hierarchy:
        """Build from ``(parent, child)`` pairs.

        Raises
        ------
        HierarchyError
            If an item is not a pair, or the resulting graph is invalid.
        """
        g = nx.DiGraph()
        for item in edges:
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise HierarchyError(
                    f"an edge must be a (parent, child) pair; got {item!r}"
                )
            _check_name(item[0])
            _check_name(item[1])
            g.add_edge(item[0], item[1])
        return cls(g)

    @classmethod
    def from_nested(
        cls, tree: Mapping[str, Any], *, root: str | None = None
    ) -> Hierarchy:
        """Build a tree from a nested mapping.

        A value is a mapping (the children), a list of names (leaf children), or
        ``None`` / an empty mapping (a leaf). If ``tree`` has one key and ``root`` is
        not given, that key is the root; otherwise the keys hang under a root named
        ``root`` (default ``"root"``).

        Raises
        ------
        HierarchyError
            If a name appears twice, or a value has an unsupported type.
        """
        if not isinstance(tree, Mapping):
            raise HierarchyError(
                f"a nested hierarchy must be a mapping; got {type(tree).__name__}"
            )
        g = nx.DiGraph()
        if root is None and len(tree) == 1:
            (top,) = tree.keys()
            _check_name(top)
            g.add_node(top)
            _add_nested(g, top, tree[top])
        else:
            top = "root" if root is None else root
            _check_name(top)
            g.add_node(top)
            _add_nested(g, top, dict(tree))
        return cls(g)

    @classmethod
    def balanced(cls, branching: Sequence[int]) -> Hierarchy:
        """A balanced tree with ``branching[d]`` children for every node at depth ``d``.

        Nodes are named by their path: ``root``, ``n0``, ``n0.1``, ...; the classes are
        the nodes at depth ``len(branching)``.

        Examples
        --------
        >>> Hierarchy.balanced([2, 3]).classes[:4]
        ('n0.0', 'n0.1', 'n0.2', 'n1.0')
        """
        if isinstance(branching, (int, np.integer)):
            branching = [int(branching)]
        branching = list(branching)
        if not branching or any(
            not isinstance(b, (int, np.integer)) or isinstance(b, bool) or b < 1
            for b in branching
        ):
            raise HierarchyError(
                "branching must be a non-empty list of positive ints; "
                f"got {branching!r}"
            )
        g = nx.DiGraph()
        g.add_node("root")
        level = ["root"]
        for b in branching:
            nxt = []
            for parent in level:
                for j in range(int(b)):
                    child = f"n{j}" if parent == "root" else f"{parent}.{j}"
                    g.add_edge(parent, child)
                    nxt.append(child)
            level = nxt
        return cls(g)

    @classmethod
    def preset(cls, name: str) -> Hierarchy:
        """One of the shipped hierarchies; see :data:`PRESETS` for the names.

        Raises
        ------
        HierarchyError
            If ``name`` is not a preset.
        """
        if not isinstance(name, str) or name not in PRESETS:
            raise HierarchyError(
                f"unknown hierarchy preset {name!r}; choose one of {', '.join(PRESETS)}"
            )
        return PRESETS[name]()

    # ------------------------------------------------------------------ files
    @classmethod
    def load(cls, path: str | os.PathLike) -> Hierarchy:
        """Load from a ``.json`` (node-link or nested mapping) or ``.gml`` file.

        Loading parses data only; it never executes code.

        Raises
        ------
        HierarchyError
            If the file cannot be read or parsed, or describes an invalid hierarchy.
        """
        path = Path(path)
        if not path.is_file():
            raise HierarchyError(f"hierarchy file {str(path)!r} does not exist")
        suffix = path.suffix.lower()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HierarchyError(
                f"cannot read hierarchy file {str(path)!r}: {exc}"
            ) from None
        if suffix == ".gml":
            try:
                # keep the numeric ids: labels are checked and applied below
                g = nx.parse_gml(text.splitlines(), label=None)
            except (nx.NetworkXError, ValueError, KeyError) as exc:
                raise HierarchyError(
                    f"cannot parse GML hierarchy file {str(path)!r}: {exc}"
                ) from None
            if not g.is_directed():
                raise HierarchyError(
                    f"GML hierarchy file {str(path)!r} is undirected; add 'directed 1'"
                )
            return cls(_label_gml_nodes(g, path))
        if suffix == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise HierarchyError(
                    f"cannot parse JSON hierarchy file {str(path)!r}: {exc}"
                ) from None
            return cls.from_json_data(data)
        raise HierarchyError(
            f"unsupported hierarchy file type {suffix!r} for {str(path)!r}; "
            "use .json or .gml"
        )

    @classmethod
    def from_json_data(cls, data: Any) -> Hierarchy:
        """Build from parsed JSON.

        Accepts node-link data (with ``nodes`` and ``edges``/``links``) or a nested
        mapping.
        """
        if (
            isinstance(data, Mapping)
            and "nodes" in data
            and ("edges" in data or "links" in data)
        ):
            edges_key = "edges" if "edges" in data else "links"
            g = nx.DiGraph()
            try:
                for node in data["nodes"]:
                    g.add_node(node["id"])
                for link in data[edges_key]:
                    g.add_edge(link["source"], link["target"])
            except KeyError as exc:
                raise HierarchyError(
                    f"node-link hierarchy data is malformed (missing key {exc})"
                ) from None
            except TypeError as exc:
                raise HierarchyError(
                    f"node-link hierarchy data is malformed ({exc})"
                ) from None
            return cls(g)
        if isinstance(data, Mapping):
            return cls.from_nested(data)
        raise HierarchyError(
            "JSON hierarchy must be node-link data or a nested mapping; "
            f"got {type(data).__name__}"
        )

    def save(self, path: str | os.PathLike) -> None:
        """Save to ``.json`` (node-link) or ``.gml``, atomically."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".json":
            text = json.dumps(self.to_node_link(), indent=2)
        elif suffix == ".gml":
            text = "\n".join(nx.generate_gml(self._graph)) + "\n"
        else:
            raise HierarchyError(
                f"unsupported hierarchy file type {suffix!r} for {str(path)!r}; "
                "use .json or .gml"
            )
        atomic_write_text(path, text)

    def to_node_link(self) -> dict[str, Any]:
        """Node-link data, readable by :meth:`from_json_data` and networkx."""
        return {
            "directed": True,
            "multigraph": False,
            "graph": {},
            "nodes": [{"id": v} for v in self._graph.nodes],
            "edges": [{"source": u, "target": v} for u, v in self._graph.edges],
        }

    def to_nested(self) -> dict[str, Any]:
        """Nested mapping (trees only; leaves map to ``None``).

        Raises
        ------
        HierarchyError
            If the hierarchy is not a tree.
        """
        if not self.is_tree:
            raise HierarchyError("only a tree can be written as a nested mapping")

        def rec(v: str) -> Any:
            kids = list(self._graph.successors(v))
            return {c: rec(c) for c in kids} if kids else None

        return {self.root: rec(self.root)}

    # ------------------------------------------------------------------ structure
    @property
    def graph(self) -> nx.DiGraph:
        """A read-only view of the underlying graph."""
        return self._graph.copy(as_view=True)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes)

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def max_depth(self) -> int:
        return int(self.depth.max())

    @cached_property
    def is_tree(self) -> bool:
        return all(self._graph.in_degree(v) <= 1 for v in self._graph)

    def parents(self, node: str) -> tuple[str, ...]:
        self._require_node(node)
        return tuple(self._graph.predecessors(node))

    def children(self, node: str) -> tuple[str, ...]:
        self._require_node(node)
        return tuple(self._graph.successors(node))

    def ancestors(self, node: str) -> frozenset[str]:
        """anc(node): every node with a directed path to ``node``.

        The node itself and the root are included.
        """
        self._require_node(node)
        return frozenset(nx.ancestors(self._graph, node)) | {node}

    def depth_of(self, node: str) -> int:
        self._require_node(node)
        return int(self.depth[self.node_index[node]])

    @cached_property
    def ancestor_matrix(self) -> np.ndarray:
        """Boolean (n_classes, n_nodes) matrix.

        ``[k, v]`` is True iff v is in anc(class k).
        """
        a = np.zeros((self.n_classes, self.n_nodes), dtype=bool)
        for k, cls_name in enumerate(self.classes):
            for v in self.ancestors(cls_name):
                a[k, self.node_index[v]] = True
        a.setflags(write=False)
        return a

    def ancestor_index_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """CSR form of the ancestor sets for kernels.

        Returns
        -------
        ptr : ndarray of int64, shape (n_classes + 1,)
        idx : ndarray of int64
            ``idx[ptr[k]:ptr[k+1]]`` are the node positions of anc(class k), root
            first, in increasing node order.
        """
        rows = [np.flatnonzero(row) for row in self.ancestor_matrix]
        ptr = np.zeros(self.n_classes + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(r) for r in rows])
        idx = np.concatenate(rows).astype(np.int64)
        return ptr, idx

    def node_weights(self, weights: NodeWeights, name: str = "weights") -> np.ndarray:
        """Resolve per-node weights in any accepted form to an array over ``nodes``.

        Parameters
        ----------
        weights : float, sequence, mapping or callable
            A scalar (every node), a sequence indexed by depth (length
            ``max_depth + 1``), a mapping from node name to weight (every node must
            be present), or a callable ``f(node, depth) -> float``.
        name : str
            Name used in error messages.

        Raises
        ------
        HierarchyError
            If a sequence has the wrong length, a mapping names an unknown node or
            misses one, or a value is not finite.
        """
        if callable(weights) and not isinstance(weights, Mapping):
            out = np.array(
                [
                    _weight_value(name, weights(v, int(d)), v)
                    for v, d in zip(self.nodes, self.depth, strict=True)
                ]
            )
        elif isinstance(weights, Mapping):
            unknown = [k for k in weights if k not in self.node_index]
            if unknown:
                raise HierarchyError(f"{name} names unknown node {unknown[0]!r}")
            missing = [v for v in self.nodes if v not in weights]
            if missing:
                raise HierarchyError(f"{name} has no value for node {missing[0]!r}")
            out = np.array([_weight_value(name, weights[v], v) for v in self.nodes])
        else:
            try:
                if weights is None or isinstance(weights, (str, bytes)):
                    raise TypeError
                arr = np.asarray(weights, dtype=np.float64)
            except (TypeError, ValueError):
                raise HierarchyError(
                    f"{name} must be a real number, a sequence of numbers per depth, "
                    f"a mapping from node to number or a callable; got {weights!r}"
                ) from None
            if arr.ndim == 0:
                out = np.full(self.n_nodes, float(arr))
            elif arr.ndim != 1 or arr.shape[0] != self.max_depth + 1:
                raise HierarchyError(
                    f"{name} given per depth must have {self.max_depth + 1} entries "
                    f"(depths 0..{self.max_depth}); got shape {arr.shape}"
                )
            else:
                out = arr[self.depth]
        if not np.all(np.isfinite(out)):
            bad = self.nodes[int(np.flatnonzero(~np.isfinite(out))[0])]
            raise HierarchyError(f"{name} is not finite at node {bad!r}")
        return out.astype(np.float64)

    # ------------------------------------------------------------------ matrices
    def shared_weight_matrix(self, weights: NodeWeights = 1.0) -> np.ndarray:
        """The K x K matrix E_w[k, k'] = sum of w_v over v in anc(k) & anc(k').

        Examples
        --------
        >>> h = Hierarchy.preset("tiger_cat_car")
        >>> h.shared_weight_matrix(1.0).tolist()
        [[4.0, 3.0, 1.0], [3.0, 4.0, 1.0], [1.0, 1.0, 3.0]]
        """
        w = self.node_weights(weights)
        a = self.ancestor_matrix.astype(np.float64)
        e = (a * w) @ a.T
        # symmetric in exact arithmetic; BLAS may round [k, k'] and [k', k] differently
        return np.triu(e) + np.triu(e, 1).T

    def lca_depth_matrix(self) -> np.ndarray:
        """K x K depth of the deepest common ancestor of each pair of classes (int)."""
        a = self.ancestor_matrix
        k = self.n_classes
        out = np.zeros((k, k), dtype=np.int64)
        for i in range(k):
            common = a[i] & a  # (K, V)
            out[i] = np.max(np.where(common, self.depth, -1), axis=1)
        return out

    def distance_matrix(self) -> np.ndarray:
        """K x K path length between classes in the undirected graph (int).

        For a tree this is depth(k) + depth(k') - 2 * lca_depth(k, k').
        """
        und = self._graph.to_undirected(as_view=True)
        k = self.n_classes
        out = np.zeros((k, k), dtype=np.int64)
        for i, ci in enumerate(self.classes):
            lengths = nx.single_source_shortest_path_length(und, ci)
            out[i] = [lengths[cj] for cj in self.classes]
        return out

    # ------------------------------------------------------------------ display
    def render(self) -> str:
        """A text drawing of the hierarchy (classes marked with ``*``)."""
        lines = [
            f"Hierarchy: {self.n_classes} classes, {self.n_nodes} nodes, "
            f"depth {self.max_depth}, {'tree' if self.is_tree else 'DAG'}"
        ]

        def rec(v: str, prefix: str, last: bool, top: bool) -> None:
            mark = " *" if self._graph.out_degree(v) == 0 else ""
            extra = ""
            if self._graph.in_degree(v) > 1:
                extra = f"  (parents: {', '.join(self._graph.predecessors(v))})"
            if top:
                lines.append(f"{v}{mark}")
            else:
                lines.append(f"{prefix}{'`-- ' if last else '|-- '}{v}{mark}{extra}")
            kids = list(self._graph.successors(v))
            for j, c in enumerate(kids):
                sub = "" if top else prefix + ("    " if last else "|   ")
                rec(c, sub, j == len(kids) - 1, False)

        rec(self.root, "", True, True)
        return "\n".join(lines)

    def __repr__(self) -> str:
        kind = "tree" if self.is_tree else "DAG"
        return (
            f"Hierarchy({kind}, root={self.root!r}, n_classes={self.n_classes}, "
            f"n_nodes={self.n_nodes}, max_depth={self.max_depth})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hierarchy):
            return NotImplemented
        return (
            self.nodes == other.nodes
            and self.classes == other.classes
            and set(self._graph.edges) == set(other._graph.edges)
        )

    def __hash__(self) -> int:
        return hash((self.nodes, self.classes, frozenset(self._graph.edges)))

    def _require_node(self, node: str) -> None:
        if node not in self.node_index:
            raise HierarchyError(f"unknown node {node!r}")


# ---------------------------------------------------------------------- helpers
def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise HierarchyError(
            f"node {name!r} has a non-string name ({type(name).__name__}); "
            "node names must be non-empty strings"
        )
    if not name.strip():
        raise HierarchyError(f"empty node name {name!r}; node names must be non-empty")


def _label_gml_nodes(g: nx.DiGraph, path: Path) -> nx.DiGraph:
    """Name the nodes of a GML graph parsed with ``label=None`` by their labels.

    networkx reads the label strings ``"()"`` and ``"[]"`` as an empty tuple and an
    empty list (and a repeated ``label`` key as a list), so labels are resolved here
    instead of by ``parse_gml(label="label")``, which fails on unhashable labels.
    """
    out = nx.DiGraph()
    out.graph.update(g.graph)
    name_of: dict[Any, str] = {}
    seen: set[str] = set()
    for i, (v, data) in enumerate(g.nodes(data=True)):
        if "label" not in data:
            raise HierarchyError(
                f"cannot parse GML hierarchy file {str(path)!r}: "
                f"node #{i} has no 'label' attribute"
            )
        name = data["label"]
        if isinstance(name, (tuple, list)) and len(name) == 0:
            name = "()" if isinstance(name, tuple) else "[]"
        _check_name(name)
        if name in seen:
            raise HierarchyError(
                f"cannot parse GML hierarchy file {str(path)!r}: "
                f"node label {name!r} is duplicated"
            )
        seen.add(name)
        name_of[v] = name
        out.add_node(name, **{k: x for k, x in data.items() if k != "label"})
    for u, v, data in g.edges(data=True):
        out.add_edge(name_of[u], name_of[v], **data)
    return out


def _weight_value(name: str, value: Any, node: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise HierarchyError(
            f"{name} must be a real number at node {node!r}; got {value!r}"
        ) from None


def _add_nested(g: nx.DiGraph, parent: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        items = []
        for item in value:
            if isinstance(item, Mapping):
                items.extend(item.items())
            else:
                items.append((item, None))
    else:
        raise HierarchyError(
            f"children of node {parent!r} must be a mapping, a list or null; "
            f"got {type(value).__name__}"
        )
    for child, sub in items:
        _check_name(child)
        if child in g:
            raise HierarchyError(f"duplicate node name {child!r} in nested hierarchy")
        g.add_edge(parent, child)
        _add_nested(g, child, sub)


def _validate(g: nx.DiGraph) -> None:
    if g.number_of_nodes() == 0:
        raise HierarchyError("the hierarchy is empty (no nodes)")
    for v in g.nodes:
        _check_name(v)
    try:
        cycle = nx.find_cycle(g)
    except nx.NetworkXNoCycle:
        cycle = None
    if cycle:
        path = " -> ".join([u for u, _ in cycle] + [cycle[0][0]])
        raise HierarchyError(
            f"the hierarchy has a cycle through node {cycle[0][0]!r}: {path}"
        )
    roots = [v for v in g.nodes if g.in_degree(v) == 0]
    if len(roots) > 1:
        listed = ", ".join(repr(r) for r in roots[:5])
        raise HierarchyError(
            f"the hierarchy has {len(roots)} roots ({listed}); "
            "exactly one node may have no parent"
        )
    root = roots[0]
    reachable = nx.descendants(g, root) | {root}
    for v in g.nodes:
        if v not in reachable:
            raise HierarchyError(f"node {v!r} is unreachable from the root {root!r}")
    if g.number_of_nodes() == 1:
        raise HierarchyError(
            f"the hierarchy has no classes: the root {root!r} has no children"
        )


def _longest_depths(g: nx.DiGraph, root: str) -> dict[str, int]:
    depth = {root: 0}
    for v in nx.topological_sort(g):
        if v == root:
            continue
        depth[v] = 1 + max(depth[u] for u in g.predecessors(v))
    return depth


# ---------------------------------------------------------------------- presets
def _cifar10() -> Hierarchy:
    return Hierarchy.from_nested(
        {
            "root": {
                "animals": {
                    "mammals": ["cat", "dog", "deer", "horse"],
                    "bird": None,
                    "frog": None,
                },
                "vehicles": ["plane", "ship", "car", "truck"],
            }
        }
    )


def _tiger_cat_car() -> Hierarchy:
    return Hierarchy.from_nested(
        {"root": {"animal": {"feline": ["tiger", "cat"]}, "vehicle": ["car"]}}
    )


def _seaplane_dag() -> Hierarchy:
    return Hierarchy.from_edges(
        [
            ("root", "vehicles"),
            ("root", "animals"),
            ("vehicles", "aircraft"),
            ("vehicles", "watercraft"),
            ("aircraft", "plane"),
            ("aircraft", "seaplane"),
            ("watercraft", "seaplane"),
            ("watercraft", "ship"),
            ("animals", "bird"),
            ("animals", "fish"),
        ]
    )


PRESETS: dict[str, Callable[[], Hierarchy]] = {
    "cifar10": _cifar10,
    "tiger_cat_car": _tiger_cat_car,
    "seaplane_dag": _seaplane_dag,
    "binary_3": lambda: Hierarchy.balanced([2, 2, 2]),
}
"""Shipped hierarchies.

* ``cifar10``: CIFAR-10's semantic tree: root -> animals {mammals {cat, dog, deer,
  horse}, bird, frog}, vehicles {plane, ship, car, truck}.
* ``tiger_cat_car``: He & Su's toy: root -> animal -> feline -> {tiger, cat};
  root -> vehicle -> car.
* ``seaplane_dag``: a DAG in which ``seaplane`` has two parents (aircraft and
  watercraft); the other classes are plane, ship, bird and fish.
* ``binary_3``: a balanced binary tree of depth 3 (8 classes).
"""
