"""Pieces shared by the two particle models: class sizes, heads, sampling, state."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, StrEnum
from typing import Any

import numpy as np

from .._validation import check_array, check_choice, check_int
from ..errors import ConfigError


class Sampling(StrEnum):
    """How minibatches are drawn: i.i.d. uniform, or consecutive slices of a fresh
    random permutation of the samples each epoch."""

    UNIFORM = "uniform"
    EPOCH = "epoch"


def resolve_class_sizes(
    n_per_class: int | Sequence[int], n_classes: int, owner: str
) -> np.ndarray:
    """Per-class sample counts as an int64 array of length K (each >= 1)."""
    if isinstance(n_per_class, (int, np.integer)) and not isinstance(n_per_class, bool):
        check_int(n_per_class, "n_per_class", owner, low=1)
        return np.full(n_classes, int(n_per_class), dtype=np.int64)
    sizes = (
        list(n_per_class)
        if isinstance(n_per_class, (list, tuple, np.ndarray))
        else None
    )
    if sizes is None or len(sizes) != n_classes:
        raise ConfigError(
            f"The 'n_per_class' parameter of {owner} must be a positive int or a "
            f"list of {n_classes} positive ints (one per class). "
            f"Got {n_per_class!r} instead."
        )
    for s in sizes:
        check_int(s, "n_per_class", owner, low=1)
    return np.asarray(sizes, dtype=np.int64)


def labels_from_sizes(sizes: np.ndarray) -> np.ndarray:
    """Sample labels, class-major: ``[0]*sizes[0] + [1]*sizes[1] + ...``."""
    return np.repeat(np.arange(sizes.shape[0], dtype=np.int64), sizes)


def resolve_head(
    head: str | np.ndarray | Sequence[Sequence[float]],
    p: int | None,
    n_classes: int,
    owner: str,
) -> tuple[str | np.ndarray, int]:
    """Validate the readout head and the feature dimension.

    Returns the head spec (``"identity"``, ``"random"`` or a (K, p) array) and p.
    """
    if isinstance(head, str):
        check_choice(head, "head", owner, ("identity", "random"))
        if head == "identity":
            if p is not None and p != n_classes:
                raise ConfigError(
                    f"The 'p' parameter of {owner} must equal the number of classes "
                    f"({n_classes}) with the identity head (features are logits). "
                    f"Got {p!r} instead; use head='random' for p != K."
                )
            return "identity", n_classes
        if p is None:
            raise ConfigError(
                f"The 'p' parameter of {owner} is required with head='random'."
            )
        return "random", check_int(p, "p", owner, low=1)
    w = check_array(head, "head", owner, shape=(n_classes, None))
    if p is not None and w.shape[1] != p:
        raise ConfigError(
            f"The 'head' parameter of {owner} must have shape ({n_classes}, {p}). "
            f"Got shape {w.shape} instead."
        )
    return w, int(w.shape[1])


def resolve_init_means(
    value: Any, n_classes: int, p: int, owner: str
) -> np.ndarray | None:
    """Validate optional initial class means: a finite (K, p) array, or None."""
    if value is None:
        return None
    means = check_array(value, "init_means", owner, shape=(n_classes, p))
    means.setflags(write=False)
    return means


def materialise_head(
    spec: str | np.ndarray, p: int, n_classes: int, rng: np.random.Generator
) -> np.ndarray:
    """The head matrix for the kernels: empty (0, p) for the identity."""
    if isinstance(spec, str):
        if spec == "identity":
            return np.empty((0, p))
        return rng.standard_normal((n_classes, p)) / np.sqrt(p)
    return np.array(spec, dtype=np.float64)


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a parameter value (arrays to lists, enums to values)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "to_config"):
        return value.to_config()
    if callable(value):
        return repr(value)
    return value
