"""Reusable property checks: call them inside your own tests.

Each check raises :class:`AssertionError` with a message that says which entry, class
pair or table broke the property, and returns ``None`` when it holds. Invalid
arguments (a model of the wrong type, a bad permutation) raise
:class:`~simnet.ConfigError` instead, so a misuse is not mistaken for a failed
property. None of the checks needs hypothesis.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..analysis.dendrogram import elasticity_linkage, hierarchy_from_linkage
from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ..models import HFSModel, LESDEModel
from ..models.lesde import Integrator
from ..runners import make_runner
from ..seeding import spawn_generators
from ..simulate import simulate

__all__ = [
    "check_first_order_kernel",
    "check_ordered_by_lca",
    "check_recovers_tree",
    "check_relabelling_equivariance",
    "check_same_seed_same_bits",
    "check_symmetric_psd",
    "check_ultrametric",
    "relabel_classes",
]

_STREAMS = ("init", "sampling", "noise", "probes")  # the streams simulate() spawns


def _matrix(e: Any, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.array(e, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be a square float matrix. "
            f"Got {type(e).__name__} instead."
        ) from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be a square matrix. "
            f"Got shape {arr.shape} instead."
        )
    return arr


def _hierarchy(h: Any, owner: str, size: int | None = None) -> Hierarchy:
    if not isinstance(h, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a Hierarchy. "
            f"Got {type(h).__name__} instead."
        )
    if size is not None and h.n_classes != size:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must have as many classes as the "
            f"matrix has rows ({size}). Got {h.n_classes} classes instead."
        )
    return h


def _tol(e: np.ndarray, rtol: float, atol: float) -> float:
    scale = float(np.abs(e).max()) if e.size else 0.0
    return atol + rtol * scale


# ---------------------------------------------------------------------- matrices
def check_symmetric_psd(
    e: Any, *, rtol: float = 1e-10, atol: float = 1e-12, name: str = "E"
) -> None:
    """Assert that ``e`` is finite, symmetric and positive semi-definite.

    Parameters
    ----------
    e : array_like, shape (K, K)
    rtol, atol : float
        Tolerance ``atol + rtol * max|e|`` for the asymmetry ``|e - e^T|`` and for
        the smallest eigenvalue (which must be ``>= -tol``).
    name : str, default "E"
        Name used in the message.

    Raises
    ------
    AssertionError
        Naming the most asymmetric entry, or the most negative eigenvalue and its
        eigenvector.
    ConfigError
        If ``e`` is not a square matrix.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> check_symmetric_psd(Hierarchy.preset("cifar10").shared_weight_matrix(1.0))
    >>> check_symmetric_psd([[1.0, 2.0], [2.0, 1.0]])
    Traceback (most recent call last):
    ...
    AssertionError: E is not positive semi-definite: smallest eigenvalue -1 ...
    """
    e = _matrix(e, name, "check_symmetric_psd")
    if not np.all(np.isfinite(e)):
        i, j = np.argwhere(~np.isfinite(e))[0]
        raise AssertionError(f"{name} is not finite: {name}[{i}, {j}] = {e[i, j]}")
    tol = _tol(e, rtol, atol)
    asym = np.abs(e - e.T)
    if asym.max(initial=0.0) > tol:
        i, j = np.unravel_index(int(np.argmax(asym)), asym.shape)
        raise AssertionError(
            f"{name} is not symmetric: {name}[{i}, {j}] = {e[i, j]:.6g} but "
            f"{name}[{j}, {i}] = {e[j, i]:.6g} (difference {asym[i, j]:.3g} > "
            f"tolerance {tol:.3g})"
        )
    values, vectors = np.linalg.eigh(0.5 * (e + e.T))
    if values[0] < -tol:
        vec = np.array2string(vectors[:, 0], precision=3, suppress_small=True)
        raise AssertionError(
            f"{name} is not positive semi-definite: smallest eigenvalue "
            f"{values[0]:.6g} < -{tol:.3g}, eigenvector {vec}"
        )


def check_ultrametric(e: Any, *, atol: float = 1e-10, name: str = "E") -> None:
    """Assert the ultrametric inequality for a similarity matrix.

    For all classes ``k, k', k''`` (not necessarily distinct):
    ``E[k, k'] >= min(E[k, k''], E[k'', k']) - atol``.

    Notes
    -----
    For a similarity (larger = closer) this is the ultrametric inequality of
    ``c - E`` for any constant c. With ``k = k'`` it says that every diagonal entry
    dominates its row. ``E_w`` of a tree with nonnegative weights satisfies it,
    because ``E_w[k, k']`` is the weight of the root-to-LCA path and of the three
    LCAs of a triple, two coincide and the third is at least as deep.

    Raises
    ------
    AssertionError
        Naming a violating triple.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> check_ultrametric(Hierarchy.preset("tiger_cat_car").shared_weight_matrix(1.0))
    """
    e = _matrix(e, name, "check_ultrametric")
    bound = np.minimum(e[:, :, None], e[None, :, :])  # [k, k'', k'] -> min
    bound = bound.max(axis=1)  # best intermediate k'' for each (k, k')
    gap = bound - e
    if gap.max(initial=-np.inf) > atol:
        k, kk = np.unravel_index(int(np.argmax(gap)), gap.shape)
        mid = int(np.argmax(np.minimum(e[k, :], e[:, kk])))
        raise AssertionError(
            f"{name} violates the ultrametric inequality "
            f"{name}[k, k'] >= min({name}[k, k''], {name}[k'', k']) at "
            f"(k, k', k'') = ({k}, {kk}, {mid}): {name}[{k}, {kk}] = {e[k, kk]:.6g} "
            f"< min({e[k, mid]:.6g}, {e[mid, kk]:.6g})"
        )


def check_ordered_by_lca(
    e: Any, hierarchy: Hierarchy, *, strict: bool = True, atol: float = 1e-12
) -> None:
    """Assert that, within each row, a deeper LCA means a larger entry.

    For every class k and classes k', k'' (the diagonal included, with
    ``lca(k, k) = k``): ``lca_depth(k, k') > lca_depth(k, k'')`` implies
    ``E[k, k'] > E[k, k'']`` (``>=`` if not ``strict``).

    Parameters
    ----------
    e : array_like, shape (K, K)
        Row/column k is ``hierarchy.classes[k]``.
    hierarchy : Hierarchy
        A tree.
    strict : bool, default True
        Strict order, which ``E_w`` satisfies for positive weights; use False for
        nonnegative weights.
    atol : float
        Slack: the larger entry must exceed the smaller one by more than ``atol``
        (strict) or by at least ``-atol``.

    Raises
    ------
    AssertionError
        Naming the row and the two classes out of order.
    ConfigError
        If ``hierarchy`` is not a tree or does not match ``e``.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> h = Hierarchy.preset("cifar10")
    >>> check_ordered_by_lca(h.shared_weight_matrix([0.5, 1.0, 2.0, 0.3]), h)
    """
    owner = "check_ordered_by_lca"
    e = _matrix(e, "e", owner)
    h = _hierarchy(hierarchy, owner, e.shape[0])
    if not h.is_tree:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a tree (LCAs of a DAG are "
            "not unique). Got a DAG instead."
        )
    lca = h.lca_depth_matrix()
    names = h.classes
    for k in range(e.shape[0]):
        deeper = lca[k][:, None] > lca[k][None, :]  # [a, b]: lca(k, a) deeper
        diff = e[k][:, None] - e[k][None, :]
        bad = deeper & ((diff <= atol) if strict else (diff < -atol))
        if bad.any():
            a, b = np.argwhere(bad)[0]
            raise AssertionError(
                f"row {k} ({names[k]!r}) is not ordered by LCA depth: "
                f"lca_depth({names[k]!r}, {names[a]!r}) = {lca[k, a]} > "
                f"lca_depth({names[k]!r}, {names[b]!r}) = {lca[k, b]} but "
                f"E[{k}, {a}] = {e[k, a]:.6g} {'<=' if strict else '<'} "
                f"E[{k}, {b}] = {e[k, b]:.6g}"
            )


def _true_clusters(h: Hierarchy) -> dict[frozenset[str], str]:
    graph = h.graph
    out: dict[frozenset[str], str] = {}
    for v in h.nodes:
        below = frozenset(c for c in nx.descendants(graph, v) if c in h.class_index)
        if len(below) >= 2:
            out.setdefault(below, v)
    return out


def check_recovers_tree(
    e: Any, hierarchy: Hierarchy, *, method: str = "average"
) -> None:
    """Assert that agglomerative clustering of ``e`` recovers every cluster of the tree.

    Uses :func:`simnet.analysis.dendrogram.elasticity_linkage` (dissimilarity
    ``(E_kk + E_k'k')/2 - E_kk'``) and the criterion of
    :func:`simnet.analysis.dendrogram.recovers_tree`: the classes below every
    internal node of ``hierarchy`` form a cluster of the dendrogram.

    Parameters
    ----------
    e : array_like, shape (K, K)
        Row/column k is ``hierarchy.classes[k]``.
    hierarchy : Hierarchy
    method : {"average", "single", "complete", "weighted"}, default "average"

    Raises
    ------
    AssertionError
        Listing the true clusters (by node name) missing from the dendrogram.

    Notes
    -----
    ``E_w`` of a tree is recovered exactly by average linkage when every internal
    node's classes are closer to each other than to any other class (diameter
    below separation) for this dissimilarity; it holds when all classes have the
    same weighted depth ``E_w[k, k]`` and internal non-root weights are positive,
    but can fail on unbalanced trees (see ``docs/testing.md``).

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> h = Hierarchy.balanced([2, 3])
    >>> check_recovers_tree(h.shared_weight_matrix([0.0, 1.0, 0.5]), h)
    """
    owner = "check_recovers_tree"
    e = _matrix(e, "e", owner)
    h = _hierarchy(hierarchy, owner, e.shape[0])
    z = elasticity_linkage(e, method=method)
    names = [f"class{k}" for k in range(h.n_classes)]
    dendro = hierarchy_from_linkage(z, names)
    found = {
        frozenset(h.classes[int(c[5:])] for c in members)
        for members in _true_clusters(dendro)
    }
    missing = [
        (node, sorted(cluster))
        for cluster, node in _true_clusters(h).items()
        if cluster not in found
    ]
    if missing:
        shown = "; ".join(f"{node!r}: {members}" for node, members in missing[:5])
        got = sorted(sorted(c) for c in found)
        raise AssertionError(
            f"{method} linkage of E does not recover {len(missing)} cluster(s) of the "
            f"hierarchy: {shown}. Dendrogram clusters: {got}"
        )


# ---------------------------------------------------------------------- models
def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a).tobytes()


def check_same_seed_same_bits(
    model: Any,
    steps: int,
    seed: int,
    *,
    observe: Sequence[str] | None = None,
    record: Any = None,
    simulate_fn: Callable[..., Any] = simulate,
) -> None:
    """Assert that two runs with the same seed are bit-identical.

    Runs ``simulate_fn(model, steps=steps, seed=seed, record=record,
    observe=observe)`` twice and compares every table (values, dtypes, column
    order) and every final-state array byte for byte.

    Parameters
    ----------
    model : HFSModel or LESDEModel
    steps, seed : int
    observe, record
        Passed on to ``simulate_fn``.
    simulate_fn : callable, default :func:`simnet.simulate`
        Your own wrapper around simulate, to check that it threads the seed.

    Raises
    ------
    AssertionError
        Naming the first table (and column and row) or state array that differs.

    Examples
    --------
    >>> from simnet import HFSModel, Hierarchy
    >>> model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=3, sigma=0.01)
    >>> check_same_seed_same_bits(model, steps=20, seed=3, observe=["loss"])
    """
    kwargs = {"steps": steps, "seed": seed, "record": record, "observe": observe}
    first = simulate_fn(model, **kwargs)
    second = simulate_fn(model, **kwargs)
    where = f"two runs with seed={seed!r}"
    if sorted(first.tables) != sorted(second.tables):
        raise AssertionError(
            f"{where} recorded different tables: {sorted(first.tables)} vs "
            f"{sorted(second.tables)}"
        )
    for name in sorted(first.tables):
        a, b = first.table(name), second.table(name)
        if list(a.columns) != list(b.columns) or a.shape != b.shape:
            raise AssertionError(
                f"{where} gave table {name!r} different shapes/columns: "
                f"{a.shape} {list(a.columns)} vs {b.shape} {list(b.columns)}"
            )
        for col in a.columns:
            x, y = a[col].to_numpy(), b[col].to_numpy()
            if x.dtype != y.dtype:
                raise AssertionError(
                    f"{where} gave column {name}.{col} dtypes {x.dtype} vs {y.dtype}"
                )
            if x.dtype == object:
                same = pd.Series(x).equals(pd.Series(y))
            else:
                same = _bits(x) == _bits(y)
            if not same:
                rows = np.flatnonzero(pd.Series(x).ne(pd.Series(y)).to_numpy())
                row = int(rows[0]) if rows.size else 0
                raise AssertionError(
                    f"{where} differ in table {name!r}, column {col!r}, first at row "
                    f"{row}: {x[row]!r} vs {y[row]!r}"
                )
    for key in sorted(set(first.state) | set(second.state)):
        if key not in first.state or key not in second.state:
            raise AssertionError(f"{where}: final state {key!r} is missing in one run")
        x, y = np.asarray(first.state[key]), np.asarray(second.state[key])
        if x.shape != y.shape or x.dtype != y.dtype or _bits(x) != _bits(y):
            diff = (
                float(np.max(np.abs(x - y)))
                if x.shape == y.shape and x.dtype.kind in "fi"
                else float("nan")
            )
            raise AssertionError(
                f"{where} differ in final state {key!r} (max abs difference {diff:.3g})"
            )


def _node_mapping(model: HFSModel) -> dict[str, dict[str, float]]:
    rates = model.node_rates()
    return {
        name: dict(zip(model.hierarchy.nodes, rates[name].tolist(), strict=True))
        for name in ("eta_phi", "eta_lam", "lam0")
    }


def check_first_order_kernel(
    model: HFSModel,
    *,
    seed: int = 0,
    sample: int | None = None,
    scales: tuple[float, float] = (1e-3, 5e-4),
    rtol: float = 1e-2,
) -> None:
    """Assert the HFS tangent-kernel identity by finite differences.

    ``MODEL.md`` section 2: to first order in the learning rates, one SGD step on
    sample i moves every particle j by ``-K_ij g_i``, with ``K_ij`` given by
    :meth:`HFSModel.tangent_kernel` and ``g_i`` the loss gradient at ``X_i``.

    The model's rates ``eta_phi, eta_lam, eta_u`` are multiplied by each of
    ``scales`` (decay and noise switched off); for each, the exact one-step change
    of every particle's logits is compared with the first-order prediction
    ``-W K_ij g_i`` from the initial state drawn with ``seed``. The error must be
    below ``rtol`` times the prediction, and second order: halving the rates
    divides it by about 4 (between 2.5 and 6).

    Parameters
    ----------
    model : HFSModel
        Its rates are rescaled; its ``tangent_kernel`` method is what is checked
        (a subclass may override it).
    seed : int, default 0
        Seed of the initial state (and of the sample, if ``sample`` is None).
    sample : int, optional
        The sample i stepped on.
    scales : pair of float, default (1e-3, 5e-4)
        Two rate multipliers; the second should be half the first.
    rtol : float, default 1e-2

    Raises
    ------
    AssertionError
        With the largest error, the sample pair and the error ratio.
    ConfigError
        If ``model`` is not an HFSModel.

    Examples
    --------
    >>> from simnet import HFSModel, Hierarchy
    >>> check_first_order_kernel(HFSModel(Hierarchy.preset("tiger_cat_car"), 2))
    """
    owner = "check_first_order_kernel"
    if not isinstance(model, HFSModel):
        raise ConfigError(
            f"The 'model' parameter of {owner} must be an HFSModel. "
            f"Got {type(model).__name__} instead."
        )
    base = _node_mapping(model)
    errors: list[float] = []
    state = None
    i = sample
    for eps in scales:
        scaled = dataclasses.replace(
            model,
            eta_phi={v: eps * x for v, x in base["eta_phi"].items()},
            eta_lam={v: eps * x for v, x in base["eta_lam"].items()},
            eta_u=eps * float(model.eta_u),
            lam0=base["lam0"],
            decay=0.0,
            sigma=0.0,
        )
        runner = make_runner(scaled, spawn_generators(seed, _STREAMS)[1])
        if state is None:
            state = runner.state.copy()
            if i is None:
                i = int(np.random.default_rng(seed).integers(scaled.n_samples))
        runner.state = state.copy()
        targets = np.arange(scaled.n_samples)
        moved, r = runner.probe(i, targets)
        g = r if state.head.shape[0] == 0 else state.head.T @ r
        predicted = np.array([-scaled.tangent_kernel(state, i, j) @ g for j in targets])
        if state.head.shape[0]:
            predicted = predicted @ state.head.T
        err = np.abs(moved - predicted)
        scale = float(np.abs(predicted).max())
        j = int(np.unravel_index(int(np.argmax(err)), err.shape)[0])
        errors.append(float(err.max()))
        if err.max() > rtol * max(scale, 1e-300):
            raise AssertionError(
                f"the one-step change of particle {j} after a step on sample {i} "
                f"(rates x {eps:g}) is not -W K_ij g_i: max error {err.max():.3g} vs "
                f"prediction scale {scale:.3g} (rtol {rtol:g})"
            )
    if errors[0] > 1e-14:
        ratio = errors[0] / max(errors[1], 1e-300)
        expected = (scales[0] / scales[1]) ** 2
        if not 0.6 * expected < ratio < 1.5 * expected:
            raise AssertionError(
                f"the error of the first-order prediction is not second order in the "
                f"rates: it went from {errors[0]:.3g} to {errors[1]:.3g} (ratio "
                f"{ratio:.3g}, expected about {expected:.3g}) when the rates were "
                f"scaled from {scales[0]:g} to {scales[1]:g}"
            )


# ---------------------------------------------------------------------- relabelling
def _check_permutation(permutation: Any, k: int, owner: str) -> np.ndarray:
    perm = np.asarray(permutation)
    if (
        perm.shape != (k,)
        or perm.dtype.kind not in "iu"
        or sorted(perm.tolist()) != list(range(k))
    ):
        raise ConfigError(
            f"The 'permutation' parameter of {owner} must be a permutation of "
            f"0..{k - 1}. Got {permutation!r} instead."
        )
    return perm.astype(np.int64)


def relabel_classes(hierarchy: Hierarchy, permutation: Sequence[int]) -> Hierarchy:
    """The same hierarchy with its classes listed in another order.

    Class ``j`` of the result is class ``permutation[j]`` of ``hierarchy`` (same
    name and ancestors), so ``relabelled.shared_weight_matrix(w) ==
    E[np.ix_(permutation, permutation)]`` for weights given per depth or by name.

    Examples
    --------
    >>> from simnet import Hierarchy
    >>> relabel_classes(Hierarchy.preset("tiger_cat_car"), [2, 0, 1]).classes
    ('car', 'tiger', 'cat')
    """
    owner = "relabel_classes"
    h = _hierarchy(hierarchy, owner)
    perm = _check_permutation(permutation, h.n_classes, owner)
    graph = h.graph
    g = nx.DiGraph()
    g.add_nodes_from(v for v in h.nodes if v not in h.class_index)
    g.add_nodes_from(h.classes[j] for j in perm)
    g.add_edges_from(graph.edges)
    return Hierarchy(g)


def _sample_order(sizes: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Old sample index of each new sample (samples are class-major)."""
    starts = np.concatenate([[0], np.cumsum(sizes)])
    return np.concatenate([np.arange(starts[c], starts[c + 1]) for c in perm])


def _transplant(runner: Any, new: Any, perm: np.ndarray) -> np.ndarray:
    """Copy runner's state into ``new`` (classes relabelled); return sample order."""
    old_s, new_s = runner.state, new.state
    identity = old_s.head.shape[0] == 0
    cols = perm if identity else slice(None)
    order = _sample_order(np.bincount(old_s.labels), perm)
    if not identity:
        new_s.head = old_s.head[perm].copy()
    if isinstance(runner.model, HFSModel):
        old_nodes = runner.model.hierarchy.node_index
        idx = np.array([old_nodes[v] for v in new.model.hierarchy.nodes])
        new_s.lam = old_s.lam[idx].copy()
        new_s.phi = old_s.phi[idx][:, cols].copy()
        new_s.u = old_s.u[order][:, cols].copy()
    else:
        new_s.base = old_s.base[order][:, cols].copy()
        # the relabelled model may group its classes differently: carry the total
        # offset of each class over as a plain class offset
        new_s.offsets = old_s.class_offsets()[perm][:, cols].copy()
        if new_s.group_offsets is not None:
            new_s.group_offsets = np.zeros_like(new_s.group_offsets)
    return order


def _assert_close(what: str, got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    tol = rtol * max(1.0, float(np.abs(want).max(initial=0.0)))
    err = np.abs(got - want)
    if got.shape != want.shape or err.max(initial=0.0) > tol:
        where = (
            np.unravel_index(int(np.argmax(err)), err.shape)
            if got.shape == want.shape
            else "shape"
        )
        raise AssertionError(
            f"relabelling the classes does not permute {what}: largest mismatch "
            f"{err.max(initial=np.inf) if got.shape == want.shape else np.inf:.3g} at "
            f"{where} (tolerance {tol:.3g})"
        )


def check_relabelling_equivariance(
    model_factory: Callable[[Hierarchy], Any],
    permutation: Sequence[int],
    *,
    hierarchy: Hierarchy,
    seed: int = 0,
    steps: int = 20,
    sample: int = 0,
    rtol: float = 1e-10,
) -> None:
    """Assert that relabelling the classes permutes the model's results.

    Builds ``model = model_factory(hierarchy)`` and ``relabelled =
    model_factory(relabel_classes(hierarchy, permutation))``, draws an initial state
    for ``model`` with ``seed`` and gives ``relabelled`` the same state with classes
    (and, with the identity head, logit coordinates) permuted. Then checks, with
    ``P`` the permutation:

    * the impact matrix: ``E' = E[P][:, P]``;
    * the particles: ``X' = X[samples in new order][:, P]``;
    * one exact SGD step on sample ``sample``: the logit changes are permuted alike;
    * for the LE-ODE (``integrator="ode"``): the class means after ``steps`` steps.

    Parameters
    ----------
    model_factory : callable Hierarchy -> HFSModel or LESDEModel
        Must build the model from the hierarchy it is given, referring to nodes by
        name or depth (not by class position).
    permutation : sequence of int
        Class ``j`` of the relabelled hierarchy is class ``permutation[j]``.
    hierarchy : Hierarchy
    seed, steps, sample : int
    rtol : float, default 1e-10

    Raises
    ------
    AssertionError
        Naming the quantity that is not permuted.
    ConfigError
        If the permutation is invalid, or the factory returns something else than
        a model over the given hierarchy.

    Examples
    --------
    >>> from simnet import Hierarchy, ImpactMatrix, LESDEModel
    >>> def factory(h):
    ...     impact = ImpactMatrix.from_hierarchy(h, [0.0, 1.0, 0.5])
    ...     return LESDEModel(impact, hierarchy=h, integrator="ode", dt=0.1)
    >>> check_relabelling_equivariance(
    ...     factory, [3, 1, 0, 2], hierarchy=Hierarchy.balanced([2, 2]))
    """
    owner = "check_relabelling_equivariance"
    h = _hierarchy(hierarchy, owner)
    perm = _check_permutation(permutation, h.n_classes, owner)
    h2 = relabel_classes(h, perm)
    models = (model_factory(h), model_factory(h2))
    for m, hh in zip(models, (h, h2), strict=True):
        if not isinstance(m, (HFSModel, LESDEModel)):
            raise ConfigError(
                f"The 'model_factory' parameter of {owner} must return an HFSModel "
                f"or an LESDEModel. Got {type(m).__name__} instead."
            )
        own = m.hierarchy if isinstance(m, HFSModel) else m.classes_hierarchy
        if own.classes != hh.classes:
            raise ConfigError(
                f"The 'model_factory' parameter of {owner} must build the model over "
                f"the hierarchy it is given; got classes {own.classes} for "
                f"{hh.classes}."
            )
    runner = make_runner(models[0], spawn_generators(seed, _STREAMS)[1])
    other = make_runner(models[1], spawn_generators(seed, _STREAMS)[1])
    order = _transplant(runner, other, perm)
    identity = runner.state.head.shape[0] == 0
    cols = perm if identity else slice(None)
    _assert_close(
        "the impact matrix", other.impact(), runner.impact()[np.ix_(perm, perm)], rtol
    )
    _assert_close(
        "the particles", other.features(), runner.features()[order][:, cols], rtol
    )
    n = runner.labels.shape[0]
    i_new = int(sample) % n
    moved_new, _ = other.probe(i_new, np.arange(n))
    moved_old, _ = runner.probe(int(order[i_new]), np.arange(n))
    _assert_close(
        f"the one-step change after a step on sample {i_new}",
        moved_new,
        moved_old[order][:, perm],  # logits: rows of the head are permuted too
        rtol,
    )
    if isinstance(models[0], LESDEModel) and (
        models[0].integrator_kind is Integrator.ODE
    ):
        runner.advance(steps)
        other.advance(steps)
        _assert_close(
            f"the LE-ODE class means after {steps} steps",
            other.features(),
            runner.features()[order][:, cols],
            rtol,
        )
