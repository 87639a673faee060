"""Hypothesis strategies for simnet objects: hierarchies, weights, rates, models.

Every strategy draws *small, valid* objects (a few classes, a few samples per class,
rates far from divergence) so that property tests run fast, and shrinks towards
simpler ones (fewer nodes, shallower trees, round numbers). Compose them with
:func:`hypothesis.given`, :meth:`~hypothesis.strategies.SearchStrategy.flatmap` or
:func:`hypothesis.strategies.data`.

Needs ``hypothesis`` (``pip install 'simnet[test]'``).

Examples
--------
>>> from hypothesis import given, settings
>>> from simnet.testing.strategies import hierarchies
>>> @settings(max_examples=5, deadline=None)
... @given(h=hierarchies())
... def test_classes_are_sinks(h):
...     assert all(not h.children(k) for k in h.classes)
>>> test_classes_are_sinks()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ..models import HFSModel, ImpactMatrix, LESDEModel

try:
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - exercised only without hypothesis
    raise ConfigError(
        "simnet.testing needs hypothesis: pip install 'simnet[test]'"
    ) from None

__all__ = [
    "balanced_hierarchies",
    "hfs_models",
    "hierarchies",
    "impact_matrices",
    "lesde_models",
    "node_weights",
    "rates",
    "seeds",
]

_WEIGHT_FORMS = ("mapping", "per_depth", "array")
_RATE_FORMS = ("scalar", "per_depth", "mapping", "array")
_IMPACT_KINDS = ("two_parameter", "constant", "hierarchy")
_INTEGRATORS = ("sgd", "sde", "ode")


def _require_int(value: Any, name: str, owner: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be an int >= {low}. "
            f"Got {value!r} instead."
        )
    if value < low:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be an int >= {low}. "
            f"Got {value!r} instead."
        )
    return int(value)


def _require_choice(value: Any, name: str, owner: str, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be one of "
            f"{', '.join(repr(c) for c in choices)}. Got {value!r} instead."
        )
    return value


def _require_range(low: float, high: float, owner: str) -> None:
    if not (np.isfinite(low) and np.isfinite(high) and low <= high):
        raise ConfigError(
            f"The 'min_value' and 'max_value' parameters of {owner} must be finite "
            f"with min_value <= max_value. Got {low!r} and {high!r} instead."
        )


# ---------------------------------------------------------------------- hierarchies
def hierarchies(
    min_classes: int = 2,
    max_nodes: int = 12,
    *,
    dag: bool = False,
    max_depth: int | None = None,
) -> st.SearchStrategy[Hierarchy]:
    """Random valid hierarchies: rooted trees, or DAGs if ``dag``.

    Parameters
    ----------
    min_classes : int, default 2
        At least this many classes (sinks).
    max_nodes : int, default 12
        At most this many nodes in all; must exceed ``min_classes``.
    dag : bool, default False
        If True, some draws add extra parent edges (a class or an internal node with
        two parents); the others are trees. If False, every draw is a tree.
    max_depth : int, optional
        At most this depth (longest path from the root); at least 1.

    Returns
    -------
    SearchStrategy of Hierarchy
        Nodes are named ``v0`` (the root), ``v1``, ...; every draw is a valid
        :class:`~simnet.Hierarchy` (one root, acyclic, every node reachable). Extra
        DAG edges never increase the depth of a node. Shrinks towards a root with
        ``min_classes`` children.

    Raises
    ------
    ConfigError
        If ``max_nodes <= min_classes``, ``min_classes < 1`` or ``max_depth < 1``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(h=hierarchies(min_classes=3, max_nodes=8, dag=True, max_depth=3))
    ... def test_sizes(h):
    ...     assert h.n_classes >= 3 and h.n_nodes <= 8 and h.max_depth <= 3
    >>> test_sizes()
    """
    owner = "hierarchies"
    min_classes = _require_int(min_classes, "min_classes", owner, 1)
    max_nodes = _require_int(max_nodes, "max_nodes", owner, min_classes + 1)
    if max_depth is not None:
        max_depth = _require_int(max_depth, "max_depth", owner, 1)
    limit = max_depth if max_depth is not None else max_nodes

    @st.composite
    def draw_hierarchy(draw: Any) -> Hierarchy:
        n_tree = draw(st.integers(1, max_nodes - min_classes))  # nodes before padding
        g = nx.DiGraph()
        g.add_node("v0")
        depth = [0]
        for i in range(1, n_tree):
            allowed = [j for j in range(i) if depth[j] < limit]
            parent = allowed[draw(st.integers(0, len(allowed) - 1))]
            g.add_edge(f"v{parent}", f"v{i}")
            depth.append(depth[parent] + 1)
        n = n_tree
        while sum(1 for v in g if g.out_degree(v) == 0) < min_classes or n == 1:
            internal = [j for j in range(n) if g.out_degree(f"v{j}") > 0 or j == 0]
            parent = internal[draw(st.integers(0, len(internal) - 1))]
            g.add_edge(f"v{parent}", f"v{n}")
            depth.append(depth[parent] + 1)
            n += 1
        if dag and n > 2 and draw(st.booleans()):
            for _ in range(draw(st.integers(1, 2))):
                child = draw(st.integers(2, n - 1))
                name = f"v{child}"
                candidates = [
                    j
                    for j in range(child)
                    if g.out_degree(f"v{j}") > 0
                    and depth[j] < depth[child]
                    and not g.has_edge(f"v{j}", name)
                ]
                if candidates:
                    parent = candidates[draw(st.integers(0, len(candidates) - 1))]
                    g.add_edge(f"v{parent}", name)
        return Hierarchy(g)

    return draw_hierarchy()


def balanced_hierarchies(
    max_depth: int = 3, max_branching: int = 3, *, max_classes: int = 16
) -> st.SearchStrategy[Hierarchy]:
    """Balanced trees: every node at depth d has the same number of children.

    Parameters
    ----------
    max_depth : int, default 3
        Depth of the classes is between 1 and ``max_depth``.
    max_branching : int, default 3
        Branching factor of each level is between 1 and ``max_branching`` (a factor
        of 1 makes a chain level; the tree still has at least 2 classes).
    max_classes : int, default 16
        At most this many classes (the product of the branching factors).

    Returns
    -------
    SearchStrategy of Hierarchy
        Built by :meth:`Hierarchy.balanced`; every class has depth
        ``len(branching)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(h=balanced_hierarchies(max_depth=2))
    ... def test_classes_share_a_depth(h):
    ...     assert {h.depth_of(k) for k in h.classes} == {h.max_depth}
    >>> test_classes_share_a_depth()
    """
    owner = "balanced_hierarchies"
    max_depth = _require_int(max_depth, "max_depth", owner, 1)
    max_branching = _require_int(max_branching, "max_branching", owner, 2)
    max_classes = _require_int(max_classes, "max_classes", owner, 2)

    def ok(branching: list[int]) -> bool:
        return 2 <= int(np.prod(branching)) <= max_classes

    return (
        st.lists(st.integers(1, max_branching), min_size=1, max_size=max_depth)
        .filter(ok)
        .map(Hierarchy.balanced)
    )


# ---------------------------------------------------------------------- numbers
def _floats(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


def node_weights(
    hierarchy: Hierarchy,
    min_value: float = 0.0,
    max_value: float = 1.0,
    form: str = "mapping",
) -> st.SearchStrategy[Any]:
    """Node weights for ``hierarchy`` in one of the forms simnet accepts.

    Parameters
    ----------
    hierarchy : Hierarchy
    min_value, max_value : float, default 0.0 and 1.0
        Range of every weight (closed). Use ``min_value > 0`` for positive weights.
    form : {"mapping", "per_depth", "array"}, default "mapping"
        ``"mapping"``: a dict node name -> float; ``"per_depth"``: a list of
        ``max_depth + 1`` floats (one weight per depth). Both are accepted by
        :meth:`Hierarchy.shared_weight_matrix`, ``ImpactMatrix.from_hierarchy`` and
        the model rates. ``"array"``: an ndarray over ``hierarchy.nodes``, the
        resolved form that :meth:`Hierarchy.node_weights` returns (simnet reads a
        plain sequence as per-depth, so pass ``dict(zip(hierarchy.nodes, w))`` to
        simnet functions, or use it directly: ``E = (A * w) @ A.T`` with ``A`` the
        ancestor matrix).

    Returns
    -------
    SearchStrategy

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from simnet import Hierarchy
    >>> h = Hierarchy.preset("tiger_cat_car")
    >>> @settings(max_examples=5, deadline=None)
    ... @given(w=node_weights(h, 0.1, 2.0))
    ... def test_diagonal_dominates(w):
    ...     e = h.shared_weight_matrix(w)
    ...     assert (e.diagonal()[:, None] >= e).all()
    >>> test_diagonal_dominates()
    """
    owner = "node_weights"
    if not isinstance(hierarchy, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a Hierarchy. "
            f"Got {type(hierarchy).__name__} instead."
        )
    _require_range(min_value, max_value, owner)
    form = _require_choice(form, "form", owner, _WEIGHT_FORMS)
    values = _floats(min_value, max_value)
    if form == "per_depth":
        n = hierarchy.max_depth + 1
        return st.lists(values, min_size=n, max_size=n)
    n = hierarchy.n_nodes
    arrays = st.lists(values, min_size=n, max_size=n)
    if form == "array":
        return arrays.map(lambda xs: np.array(xs, dtype=np.float64))
    return arrays.map(lambda xs: dict(zip(hierarchy.nodes, xs, strict=True)))


def rates(
    hierarchy: Hierarchy | None = None,
    *,
    min_value: float = 1e-3,
    max_value: float = 0.3,
    form: str = "scalar",
) -> st.SearchStrategy[Any]:
    """Learning rates (positive, small enough for stable SGD on small models).

    Parameters
    ----------
    hierarchy : Hierarchy, optional
        Needed for the per-node forms.
    min_value, max_value : float, default 1e-3 and 0.3
    form : {"scalar", "per_depth", "mapping", "array"}, default "scalar"
        A float, or node weights in one of the forms of :func:`node_weights`.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(eta=rates(max_value=0.1))
    ... def test_rate_range(eta):
    ...     assert 1e-3 <= eta <= 0.1
    >>> test_rate_range()
    """
    owner = "rates"
    _require_range(min_value, max_value, owner)
    form = _require_choice(form, "form", owner, _RATE_FORMS)
    if form == "scalar":
        return _floats(min_value, max_value)
    if hierarchy is None:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} is required with form={form!r}."
        )
    return node_weights(hierarchy, min_value, max_value, form=form)


def seeds() -> st.SearchStrategy[int]:
    """Seeds for simnet's ``seed`` arguments: ints in ``[0, 2**32)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from simnet import HFSModel, Hierarchy, simulate
    >>> model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=2)
    >>> @settings(max_examples=3, deadline=None)
    ... @given(seed=seeds())
    ... def test_loss_is_finite(seed):
    ...     run = simulate(model, steps=5, record=5, seed=seed, observe=["loss"])
    ...     assert run.table("metrics")["value"].notna().all()
    >>> test_loss_is_finite()
    """
    return st.integers(min_value=0, max_value=2**32 - 1)


# ---------------------------------------------------------------------- impact
def _tree_with_classes(n_classes: int) -> st.SearchStrategy[Hierarchy]:
    """Random trees with exactly ``n_classes`` classes (random nested merges)."""

    @st.composite
    def draw_tree(draw: Any) -> Hierarchy:
        g = nx.DiGraph()
        tops = [f"c{k}" for k in range(n_classes)]
        g.add_nodes_from(tops)
        j = 0
        while len(tops) > 1:
            size = draw(st.integers(2, len(tops)))
            chosen = draw(st.permutations(range(len(tops))))[:size]
            parent = f"g{j}" if size < len(tops) else "root"
            j += 1
            for c in sorted(chosen):
                g.add_edge(parent, tops[c])
            tops = [t for i, t in enumerate(tops) if i not in chosen] + [parent]
        if tops[0] != "root":  # pragma: no cover - the last merge names the root
            g.add_edge("root", tops[0])
        return Hierarchy(g)

    return draw_tree()


def impact_matrices(
    n_classes: int | None = None,
    *,
    kind: str | Sequence[str] | None = None,
    psd: bool = True,
    hierarchy: Hierarchy | None = None,
    max_classes: int = 6,
    max_value: float = 1.0,
) -> st.SearchStrategy[ImpactMatrix]:
    """Constant impact matrices E as :class:`~simnet.ImpactMatrix`.

    Parameters
    ----------
    n_classes : int, optional
        K; drawn from ``[2, max_classes]`` unless given (or taken from
        ``hierarchy``).
    kind : str or list of str, optional
        ``"two_parameter"`` (``E = (alpha - beta) I + beta 1 1^T``), ``"constant"``
        (a dense symmetric matrix), ``"hierarchy"`` (``E_w`` of a tree: ``hierarchy``
        if given, else a random tree with K classes). Default: any of the three.
    psd : bool, default True
        Draw only positive semi-definite E: ``alpha >= beta >= 0``, ``B B^T``, and
        nonnegative node weights respectively. If False the matrices are symmetric
        but may be indefinite.
    hierarchy : Hierarchy, optional
        Tree (or DAG) for ``kind="hierarchy"``; fixes K.
    max_classes : int, default 6
    max_value : float, default 1.0
        Bound on alpha, beta, the entries of B and the node weights.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5, deadline=None)
    ... @given(impact=impact_matrices(n_classes=3, kind="two_parameter"))
    ... def test_locally_elastic_pattern(impact):
    ...     e = impact.at(0.0)
    ...     assert e.shape == (3, 3) and e[0, 0] >= e[0, 1] >= 0
    >>> test_locally_elastic_pattern()
    """
    owner = "impact_matrices"
    kinds = (
        _IMPACT_KINDS if kind is None else (kind,) if isinstance(kind, str) else kind
    )
    kinds = tuple(_require_choice(k, "kind", owner, _IMPACT_KINDS) for k in kinds)
    if not kinds:
        raise ConfigError(f"The 'kind' parameter of {owner} must not be empty.")
    max_classes = _require_int(max_classes, "max_classes", owner, 2)
    _require_range(0.0, max_value, owner)
    if hierarchy is not None:
        if not isinstance(hierarchy, Hierarchy):
            raise ConfigError(
                f"The 'hierarchy' parameter of {owner} must be a Hierarchy. "
                f"Got {type(hierarchy).__name__} instead."
            )
        if n_classes is not None and n_classes != hierarchy.n_classes:
            raise ConfigError(
                f"The 'n_classes' parameter of {owner} must match the hierarchy "
                f"({hierarchy.n_classes} classes). Got {n_classes!r} instead."
            )
        n_classes = hierarchy.n_classes
    if n_classes is not None:
        n_classes = _require_int(n_classes, "n_classes", owner, 2)
    low = 0.0 if psd else -max_value

    def for_size(k: int) -> st.SearchStrategy[ImpactMatrix]:
        options = []
        if "two_parameter" in kinds:
            if psd:
                pair = _floats(0.0, max_value).flatmap(
                    lambda b: st.tuples(_floats(b, b + max_value), st.just(b))
                )
            else:
                pair = st.tuples(_floats(low, max_value), _floats(low, max_value))
            options.append(
                pair.map(lambda ab: ImpactMatrix.two_parameter(k, ab[0], ab[1]))
            )
        if "constant" in kinds:
            rank = st.integers(1, k)
            if psd:
                mats = rank.flatmap(
                    lambda r: st.lists(
                        _floats(-max_value, max_value), min_size=k * r, max_size=k * r
                    ).map(lambda xs: np.array(xs).reshape(k, r))
                ).map(lambda b: b @ b.T)
            else:
                mats = (
                    st.lists(
                        _floats(-max_value, max_value), min_size=k * k, max_size=k * k
                    )
                    .map(lambda xs: np.array(xs).reshape(k, k))
                    .map(lambda a: a + a.T)
                )
            options.append(mats.map(ImpactMatrix.constant))
        if "hierarchy" in kinds:
            trees = (
                st.just(hierarchy) if hierarchy is not None else _tree_with_classes(k)
            )
            options.append(
                trees.flatmap(
                    lambda h: node_weights(h, low, max_value).map(
                        lambda w: ImpactMatrix.from_hierarchy(h, w)
                    )
                )
            )
        return st.one_of(options)

    if n_classes is not None:
        return for_size(n_classes)
    return st.integers(2, max_classes).flatmap(for_size)


# ---------------------------------------------------------------------- models
def hfs_models(
    hierarchy: Hierarchy | None = None,
    *,
    max_per_class: int = 3,
    heads: Sequence[str] = ("identity", "random"),
    noise: bool = False,
) -> st.SearchStrategy[HFSModel]:
    """Small valid :class:`~simnet.HFSModel` instances.

    Parameters
    ----------
    hierarchy : Hierarchy, optional
        Default: a random tree or DAG from :func:`hierarchies` (at most 8 nodes).
    max_per_class : int, default 3
        Samples per class are drawn from ``[1, max_per_class]``.
    heads : sequence of {"identity", "random"}
        The readouts to draw from (the random head has ``p`` in ``[2, 4]``).
    noise : bool, default False
        Whether to draw a Langevin noise scale ``sigma > 0`` sometimes.

    Returns
    -------
    SearchStrategy of HFSModel
        Per-depth rates ``eta_phi, eta_lam`` in ``[0.01, 0.3]``, amounts ``lam0`` in
        ``[0.5, 1.5]``, ``gamma`` in ``[0, 0.5]``, ``decay`` in ``[0, 0.05]``, batch
        size 1 or 2.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, deadline=None)
    ... @given(model=hfs_models())
    ... def test_impact_is_psd(model):
    ...     import numpy as np
    ...     state = model.initial_state(np.random.default_rng(0))
    ...     assert np.linalg.eigvalsh(model.impact_matrix(state)).min() > -1e-9
    >>> test_impact_is_psd()
    """
    owner = "hfs_models"
    max_per_class = _require_int(max_per_class, "max_per_class", owner, 1)
    heads = tuple(
        _require_choice(h, "heads", owner, ("identity", "random")) for h in heads
    )
    trees = (
        st.just(hierarchy)
        if hierarchy is not None
        else hierarchies(max_nodes=8, dag=True, max_depth=3)
    )

    @st.composite
    def draw_model(draw: Any) -> HFSModel:
        h = draw(trees)
        d = h.max_depth + 1
        per_depth = st.lists(_floats(0.01, 0.3), min_size=d, max_size=d)
        head = draw(st.sampled_from(heads))
        p = draw(st.integers(2, 4)) if head == "random" else None
        n_per_class = draw(st.integers(1, max_per_class))
        return HFSModel(
            h,
            n_per_class=n_per_class,
            p=p,
            head=head,
            eta_phi=draw(per_depth),
            eta_lam=draw(per_depth),
            decay=draw(_floats(0.0, 0.05)),
            lam0=draw(st.lists(_floats(0.5, 1.5), min_size=d, max_size=d)),
            gamma=draw(_floats(0.0, 0.5)),
            eta_u=draw(_floats(0.0, 0.3)),
            sigma=draw(_floats(0.0, 0.05)) if noise else 0.0,
            batch_size=draw(st.integers(1, min(2, n_per_class * h.n_classes))),
            sampling=draw(st.sampled_from(["uniform", "epoch"])),
        )

    return draw_model()


def lesde_models(
    integrator: str | Sequence[str] | None = None,
    *,
    hierarchy: Hierarchy | None = None,
    max_per_class: int = 4,
    noise: bool = True,
) -> st.SearchStrategy[LESDEModel]:
    """Small valid :class:`~simnet.LESDEModel` instances.

    Parameters
    ----------
    integrator : {"sgd", "sde", "ode"} or a list of them, optional
        Default: any.
    hierarchy : Hierarchy, optional
        Names the classes; default a random tree with at most 8 nodes. The impact
        matrix is PSD: two-parameter (``alpha >= beta >= 0``), dense ``B B^T`` or
        ``E_w`` of the hierarchy with nonnegative weights, entries at most 1.
    max_per_class : int, default 4
    noise : bool, default True
        Whether ``sgd`` and ``sde`` draws may have ``sigma > 0``.

    Returns
    -------
    SearchStrategy of LESDEModel
        ``dt`` is 1 for ``sgd``, in ``[0.01, 0.1]`` for ``sde`` and in
        ``[0.05, 0.5]`` for ``ode`` (with a random surrogate and method).

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=3, deadline=None)
    ... @given(model=lesde_models(integrator="ode"))
    ... def test_ode_has_one_particle_per_class(model):
    ...     assert model.n_samples == model.n_classes
    >>> test_ode_has_one_particle_per_class()
    """
    owner = "lesde_models"
    kinds = (
        _INTEGRATORS
        if integrator is None
        else (integrator,)
        if isinstance(integrator, str)
        else tuple(integrator)
    )
    kinds = tuple(_require_choice(k, "integrator", owner, _INTEGRATORS) for k in kinds)
    max_per_class = _require_int(max_per_class, "max_per_class", owner, 1)
    trees = (
        st.just(hierarchy)
        if hierarchy is not None
        else hierarchies(max_nodes=8, max_depth=3)
    )

    @st.composite
    def draw_model(draw: Any) -> LESDEModel:
        h = draw(trees)
        impact = draw(impact_matrices(hierarchy=h))
        kind = draw(st.sampled_from(kinds))
        n_per_class = draw(st.integers(1, max_per_class))
        sigma = draw(_floats(0.0, 0.1)) if noise and kind != "ode" else 0.0
        extra: dict[str, Any] = {}
        if kind == "sde":
            extra["dt"] = draw(_floats(0.01, 0.1))
            extra["noise"] = draw(st.sampled_from(["constant", "gradient"]))
        elif kind == "ode":
            extra["dt"] = draw(_floats(0.05, 0.5))
            extra["surrogate"] = draw(
                st.sampled_from(["ce", "identity", "projected", "etf"])
            )
            extra["ode_method"] = draw(st.sampled_from(["euler", "rk4"]))
        else:
            extra["batch_size"] = draw(
                st.integers(1, min(3, n_per_class * h.n_classes))
            )
        return LESDEModel(
            impact,
            integrator=kind,
            hierarchy=h,
            n_per_class=n_per_class,
            sigma=sigma,
            **extra,
        )

    return draw_model()
