"""scikit-learn's bundled 8x8 handwritten digits (no download), optional extra."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import networkx as nx
import numpy as np

from .._validation import check_enum
from ..errors import ConfigError, HierarchyError
from ..hierarchy import Hierarchy
from ..seeding import SeedLike, as_seed_sequence
from ._base import PER_SAMPLE, Dataset, check_positive_int, seed_info

__all__ = ["DigitsHierarchy", "digits", "linkage_hierarchy"]

_MAX_PIXEL = 16.0


class DigitsHierarchy(StrEnum):
    """Which class hierarchy :func:`digits` attaches."""

    NONE = "none"
    DATA = "data"


def digits(
    classes: Sequence[int] | None = None,
    *,
    hierarchy: str | DigitsHierarchy | Hierarchy = DigitsHierarchy.NONE,
    n_per_class: int | None = None,
    seed: SeedLike = None,
) -> Dataset:
    """The 8x8 digits of scikit-learn (1797 images), scaled to [-1, 1].

    Needs the optional extra: ``pip install 'simnet[digits]'``. The images ship
    inside scikit-learn (``sklearn.datasets.load_digits``); nothing is downloaded.

    Parameters
    ----------
    classes : sequence of int or None
        Digits to keep, distinct, in 0..9 (at least two). Label ``k`` is the k-th
        digit listed: ``classes=[3, 5]`` gives label 0 for "3" and 1 for "5". None
        keeps all ten in order.
    hierarchy : {"none", "data"}, DigitsHierarchy or Hierarchy
        ``"data"`` attaches the binary tree of average-linkage clustering of the
        class means (see :func:`linkage_hierarchy`); a Hierarchy whose classes are
        the class names (e.g. ``("3", "5")``) is attached as given.
    n_per_class : int or None
        If given, keep a random ``n_per_class`` images of each digit (without
        replacement, in their original order); None keeps all (about 180 each).
    seed : int, SeedSequence, Generator or None
        Randomness of the ``n_per_class`` subsample (unused otherwise).

    Returns
    -------
    Dataset
        ``X`` (n, 64) in [-1, 1], ``class_names`` like ``("3", "5")``;
        ``metadata["image_shape"] = (8, 8)``, ``metadata["digits"]`` the kept digits,
        ``metadata["per_sample"]["source_index"]`` the row in ``load_digits``.

    Raises
    ------
    ConfigError
        If scikit-learn is missing, or a parameter is invalid (including a
        subsample larger than a class).

    Notes
    -----
    Pixels are counts in 0..16; they are mapped by ``x' = 2 x / 16 - 1``, i.e.
    scaled to [0, 1] and then normalised with mean 0.5 and std 0.5 as He & Su's
    ``Normalize((0.5,), (0.5,))`` does for MNIST and CIFAR-10 (He & Su, *The Local
    Elasticity of Neural Networks*, ICLR 2020; the digits stand in for MNIST).

    Examples
    --------
    >>> ds = digits([3, 5], hierarchy="data")  # doctest: +SKIP
    >>> ds.class_names, ds.hierarchy.classes  # doctest: +SKIP
    (('3', '5'), ('3', '5'))
    """
    owner = "digits"
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ConfigError(
            "digits() needs scikit-learn, which is an optional extra of simnet; "
            "install it with: pip install 'simnet[digits]'"
        ) from None
    chosen = _check_classes(classes, owner)
    if isinstance(hierarchy, Hierarchy):
        how: DigitsHierarchy | Hierarchy = hierarchy
    else:
        how = check_enum(DigitsHierarchy, hierarchy, "hierarchy", owner)
    m = (
        None
        if n_per_class is None
        else check_positive_int(n_per_class, "n_per_class", owner)
    )
    root = as_seed_sequence(seed)
    rng = np.random.default_rng(root)

    bunch = load_digits()
    pixels = np.asarray(bunch.data, dtype=np.float64)
    target = np.asarray(bunch.target, dtype=np.int64)
    keep = []
    for digit in chosen:
        rows = np.flatnonzero(target == digit)
        if m is not None:
            if m > rows.size:
                raise ConfigError(
                    f"The 'n_per_class' parameter of {owner} must be at most "
                    f"{rows.size} (the number of images of digit {digit}). "
                    f"Got {n_per_class!r} instead."
                )
            rows = np.sort(rng.choice(rows, size=m, replace=False))
        keep.append(rows)
    idx = np.sort(np.concatenate(keep))
    relabel = np.full(10, -1, dtype=np.int64)
    relabel[list(chosen)] = np.arange(len(chosen))
    x = 2.0 * pixels[idx] / _MAX_PIXEL - 1.0
    y = relabel[target[idx]]
    names = tuple(str(d) for d in chosen)

    metadata: dict[str, Any] = {
        "generator": owner,
        "params": {
            "classes": list(chosen),
            "hierarchy": how.value if isinstance(how, DigitsHierarchy) else "given",
            "n_per_class": m,
        },
        "digits": list(chosen),
        "image_shape": (8, 8),
        **seed_info(root),
        PER_SAMPLE: {"source_index": idx.astype(np.int64)},
    }
    if isinstance(how, Hierarchy):
        tree: Hierarchy | None = how
    elif how is DigitsHierarchy.DATA:
        means = np.stack([x[y == k].mean(axis=0) for k in range(len(names))])
        tree, heights = linkage_hierarchy(means, names)
        metadata["hierarchy_heights"] = heights
    else:
        tree = None
    if tree is not None and tuple(tree.classes) != names:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must have the classes {names} in "
            f"this order. Got {tree.classes} instead."
        )
    return Dataset(x, y, names, tree, metadata)


def linkage_hierarchy(
    points: Any, class_names: Sequence[str], *, method: str = "average"
) -> tuple[Hierarchy, dict[str, float]]:
    """A binary class hierarchy from agglomerative clustering of class points.

    Parameters
    ----------
    points : array_like, shape (K, d)
        One point per class (e.g. class means), K >= 2.
    class_names : sequence of str
        The K class names; they become the leaves, in this order.
    method : str
        Linkage method of ``scipy.cluster.hierarchy.linkage`` (Euclidean metric).

    Returns
    -------
    hierarchy : Hierarchy
        Internal nodes ``g0, g1, ...`` in merge order (``g0`` joins the closest
        pair; the root is ``g{K-2}``), ``classes == tuple(class_names)``.
    heights : dict of str to float
        The merge distance of each internal node.

    Raises
    ------
    ConfigError
        If the shapes do not fit, K < 2, or a name clashes with an internal node.

    Examples
    --------
    >>> h, heights = linkage_hierarchy([[0.0], [0.1], [5.0]], ["a", "b", "c"])
    >>> h.root, h.children("g1"), h.children("g0")
    ('g1', ('c', 'g0'), ('a', 'b'))
    """
    from scipy.cluster.hierarchy import linkage

    owner = "linkage_hierarchy"
    pts = np.asarray(points, dtype=np.float64)
    names = tuple(str(s) for s in class_names)
    if pts.ndim != 2 or pts.shape[0] != len(names) or pts.shape[0] < 2:
        raise ConfigError(
            f"The 'points' parameter of {owner} must have shape (K, d) with K = "
            f"len(class_names) >= 2. Got shape {pts.shape} for {len(names)} names."
        )
    internal = [f"g{i}" for i in range(len(names) - 1)]
    clash = set(internal) & set(names)
    if clash:
        raise ConfigError(
            f"The 'class_names' parameter of {owner} must not use the internal node "
            f"names g0..g{len(names) - 2}. Got {sorted(clash)}."
        )
    merges = linkage(pts, method=method, metric="euclidean")
    label = list(names) + internal
    graph = nx.DiGraph()
    graph.add_nodes_from(names)  # insertion order makes hierarchy.classes == names
    heights = {}
    for i, (a, b, dist, _) in enumerate(merges):
        node = internal[i]
        graph.add_edge(node, label[int(a)])
        graph.add_edge(node, label[int(b)])
        heights[node] = float(dist)
    try:
        tree = Hierarchy(graph)
    except HierarchyError as exc:  # pragma: no cover - linkage always gives a tree
        raise ConfigError(f"{owner} built an invalid hierarchy: {exc}") from None
    return tree, heights


def _check_classes(classes: Sequence[int] | None, owner: str) -> tuple[int, ...]:
    if classes is None:
        return tuple(range(10))
    try:
        chosen = tuple(classes)
    except TypeError:
        chosen = ()
    ok = (
        len(chosen) >= 2
        and all(
            isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 9
            for c in chosen
        )
        and len(set(chosen)) == len(chosen)
    )
    if not ok:
        raise ConfigError(
            f"The 'classes' parameter of {owner} must be a sequence of at least two "
            f"distinct ints in 0..9, or None. Got {classes!r} instead."
        )
    return tuple(int(c) for c in chosen)
