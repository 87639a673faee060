"""The :class:`Dataset` container and the validation helpers shared by the generators.

A dataset is a feature matrix ``X`` (n, d) of float64, integer labels ``y`` (n,) in
``0..K-1``, the class names, an optional class :class:`~simnet.hierarchy.Hierarchy`
and a metadata dictionary. Per-sample annotations (torus angles, clean labels before
label noise, rotation angles of the shape images, ...) live in
``metadata["per_sample"]``, a mapping from name to an array whose first axis has
length n; :meth:`Dataset.subset` and :meth:`Dataset.split` index those arrays along
with ``X`` and ``y``, so they stay aligned with the samples.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_float
from ..errors import ConfigError, DataError
from ..hierarchy import Hierarchy
from ..seeding import SeedLike, as_seed_sequence

__all__ = ["PER_SAMPLE", "Dataset"]

PER_SAMPLE = "per_sample"
"""Metadata key of the per-sample annotations (name -> array with n rows)."""


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A labelled dataset: features, integer labels, class names, optional hierarchy.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Finite features; stored as a read-only float64 copy.
    y : array_like of int, shape (n_samples,)
        Labels in ``0..n_classes-1``; stored as a read-only int64 copy. Not every
        class needs to be present (a subset may miss one).
    class_names : sequence of str
        One distinct non-empty name per class; ``n_classes = len(class_names)``.
    hierarchy : Hierarchy or None
        The class hierarchy, if known. Its ``classes`` must equal ``class_names``
        (same names, same order), so label ``k`` is ``hierarchy.classes[k]``.
    metadata : dict
        Free-form information (generator name and parameters, seed entropy, ...).
        The entry ``metadata["per_sample"]``, if present, maps names to arrays with
        ``n_samples`` rows; they are subset together with the samples. The dict is
        copied one level deep; the per-sample arrays are copied and read-only.

    Raises
    ------
    DataError
        If a shape, a label, a class name or the hierarchy does not fit.

    Examples
    --------
    >>> ds = Dataset([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]], [0, 1, 1], ("a", "b"))
    >>> ds.n_samples, ds.n_features, ds.n_classes
    (3, 2, 2)
    >>> ds.subset([2, 0]).y.tolist()
    [1, 0]
    """

    X: np.ndarray
    y: np.ndarray
    class_names: tuple[str, ...]
    hierarchy: Hierarchy | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        x = _as_feature_matrix(self.X)
        n = x.shape[0]
        names = _as_class_names(self.class_names)
        y = _as_labels(self.y, n, len(names))
        if self.hierarchy is not None:
            if not isinstance(self.hierarchy, Hierarchy):
                raise DataError(
                    "The 'hierarchy' of a Dataset must be a simnet Hierarchy or None. "
                    f"Got {type(self.hierarchy).__name__} instead."
                )
            if tuple(self.hierarchy.classes) != names:
                raise DataError(
                    "The classes of the Dataset's hierarchy must equal its "
                    f"class_names in order. Got hierarchy classes "
                    f"{self.hierarchy.classes} and class_names {names}."
                )
        if not isinstance(self.metadata, dict):
            raise DataError(
                "The 'metadata' of a Dataset must be a dict. "
                f"Got {type(self.metadata).__name__} instead."
            )
        meta = dict(self.metadata)
        if PER_SAMPLE in meta:
            meta[PER_SAMPLE] = _as_per_sample(meta[PER_SAMPLE], n)
        x.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "X", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "class_names", names)
        object.__setattr__(self, "metadata", meta)

    # ------------------------------------------------------------------ sizes
    @property
    def n_samples(self) -> int:
        """Number of samples n."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features d."""
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes K (``len(class_names)``, present in ``y`` or not)."""
        return len(self.class_names)

    @property
    def class_counts(self) -> np.ndarray:
        """Number of samples of each class, int64 of shape (n_classes,)."""
        return np.bincount(self.y, minlength=self.n_classes).astype(np.int64)

    @property
    def per_sample(self) -> dict[str, np.ndarray]:
        """The per-sample annotations (``metadata["per_sample"]``; empty if none)."""
        return dict(self.metadata.get(PER_SAMPLE, {}))

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        gen = self.metadata.get("generator")
        extra = f", generator={gen!r}" if gen is not None else ""
        hier = ", hierarchy=yes" if self.hierarchy is not None else ""
        return (
            f"Dataset(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"n_classes={self.n_classes}{hier}{extra})"
        )

    # ------------------------------------------------------------------ derived
    def replace(self, **changes: Any) -> Dataset:
        """A new Dataset with some fields replaced (validated again)."""
        fields = {
            "X": self.X,
            "y": self.y,
            "class_names": self.class_names,
            "hierarchy": self.hierarchy,
            "metadata": self.metadata,
        }
        unknown = set(changes) - set(fields)
        if unknown:
            raise ConfigError(
                f"Dataset.replace got unknown field(s) {sorted(unknown)}; "
                f"choose from {sorted(fields)}."
            )
        fields.update(changes)
        return Dataset(**fields)

    def subset(self, indices: Any) -> Dataset:
        """The samples at ``indices``: ints in ``[0, n)`` or a boolean mask of length n.

        Class names, hierarchy and metadata are kept; per-sample annotations are
        indexed with the samples. Order and repetitions of ``indices`` are kept.

        Raises
        ------
        ConfigError
            If ``indices`` is empty, out of range, or not integers / a boolean mask.
        """
        idx = _as_indices(indices, self.n_samples, "indices", "Dataset.subset")
        if idx.size == 0:
            raise ConfigError(
                "The 'indices' parameter of Dataset.subset must select at least one "
                "sample. Got an empty selection."
            )
        meta = dict(self.metadata)
        if PER_SAMPLE in meta:
            meta[PER_SAMPLE] = {k: v[idx] for k, v in meta[PER_SAMPLE].items()}
        return Dataset(self.X[idx], self.y[idx], self.class_names, self.hierarchy, meta)

    def split(
        self, fraction: float, *, seed: SeedLike = None
    ) -> tuple[Dataset, Dataset]:
        """Stratified random split into two datasets.

        Each class with ``n_k`` samples puts ``floor(fraction * n_k + 1/2)`` randomly
        chosen samples into the first part and the rest into the second. Within each
        part the samples keep their original order.

        Parameters
        ----------
        fraction : float in (0, 1)
            Share of every class that goes to the first part (e.g. the training set).
        seed : int, SeedSequence, Generator or None
            Randomness of the choice.

        Returns
        -------
        first, second : Dataset

        Raises
        ------
        ConfigError
            If ``fraction`` is not in (0, 1) or one part would be empty.

        Examples
        --------
        >>> ds = Dataset(np.zeros((10, 1)), [0] * 5 + [1] * 5, ("a", "b"))
        >>> train, test = ds.split(0.6, seed=0)
        >>> train.class_counts.tolist(), test.class_counts.tolist()
        ([3, 3], [2, 2])
        """
        frac = check_float(
            fraction, "fraction", "Dataset.split", low=0.0, high=1.0, closed="neither"
        )
        rng = np.random.default_rng(as_seed_sequence(seed))
        first = np.zeros(self.n_samples, dtype=bool)
        for k in range(self.n_classes):
            members = np.flatnonzero(self.y == k)
            take = int(np.floor(frac * members.size + 0.5))
            first[rng.choice(members, size=take, replace=False)] = True
        if first.all() or not first.any():
            raise ConfigError(
                "The 'fraction' parameter of Dataset.split leaves one part empty for "
                f"class sizes {self.class_counts.tolist()}. Got {fraction!r}; choose a "
                "fraction further from 0 and 1."
            )
        return self.subset(first), self.subset(~first)

    def standardize(self, reference: Dataset | None = None) -> Dataset:
        """Features shifted to mean 0 and scaled to standard deviation 1, per feature.

        ``X' = (X - m) / s`` with ``m`` and ``s`` the per-feature mean and (population)
        standard deviation of ``reference`` (default: this dataset); a feature with
        ``s = 0`` is only centred (``s`` is taken as 1). Pass the training set as
        ``reference`` to standardise a test set with the training statistics. The
        statistics are stored in ``metadata["standardization"]``.

        Raises
        ------
        ConfigError
            If ``reference`` is not a Dataset with the same number of features.
        """
        ref = self if reference is None else reference
        if not isinstance(ref, Dataset) or ref.n_features != self.n_features:
            raise ConfigError(
                "The 'reference' parameter of Dataset.standardize must be a Dataset "
                f"with {self.n_features} features. Got {reference!r} instead."
            )
        mean = ref.X.mean(axis=0)
        scale = ref.X.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        meta = dict(self.metadata)
        meta["standardization"] = {"mean": mean, "scale": scale}
        return self.replace(X=(self.X - mean) / scale, metadata=meta)


# ---------------------------------------------------------------------- helpers
def _as_feature_matrix(value: Any) -> np.ndarray:
    try:
        x = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise DataError(
            "The features 'X' of a Dataset must be a numeric array. "
            f"Got {type(value).__name__} that cannot be converted to float64."
        ) from None
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(
            "The features 'X' of a Dataset must have shape (n_samples, n_features) "
            f"with n_samples >= 1 and n_features >= 1. Got shape {x.shape} instead."
        )
    if not np.all(np.isfinite(x)):
        row, col = np.argwhere(~np.isfinite(x))[0]
        raise DataError(
            "The features 'X' of a Dataset must be finite. "
            f"Got {x[row, col]} at row {row}, column {col}."
        )
    return x


def _as_labels(value: Any, n: int, n_classes: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise DataError(
            f"The labels 'y' of a Dataset must have shape ({n},) to match X. "
            f"Got shape {arr.shape} instead."
        )
    if arr.dtype.kind in "iu":
        y = arr.astype(np.int64)
    elif arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr % 1 == 0):
        y = arr.astype(np.int64)
    elif arr.dtype.kind == "b":
        y = arr.astype(np.int64)
    else:
        raise DataError(
            "The labels 'y' of a Dataset must be integers. "
            f"Got dtype {arr.dtype} instead."
        )
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        bad = int(y[(y < 0) | (y >= n_classes)][0])
        raise DataError(
            f"The labels 'y' of a Dataset must lie in 0..{n_classes - 1} "
            f"(one per class name). Got label {bad}."
        )
    return np.array(y, dtype=np.int64, copy=True)


def _as_class_names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, np.ndarray)):
        raise DataError(
            "The 'class_names' of a Dataset must be a sequence of strings. "
            f"Got {value!r} instead."
        )
    names = tuple(value)
    if not names or not all(isinstance(s, str) and s for s in names):
        raise DataError(
            "The 'class_names' of a Dataset must be a non-empty sequence of non-empty "
            f"strings. Got {value!r} instead."
        )
    if len(set(names)) != len(names):
        raise DataError(
            f"The 'class_names' of a Dataset must be distinct. Got {names!r}."
        )
    return tuple(str(s) for s in names)


def _as_per_sample(value: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(value, dict):
        raise DataError(
            f"metadata[{PER_SAMPLE!r}] of a Dataset must be a dict of arrays. "
            f"Got {type(value).__name__} instead."
        )
    out = {}
    for key, arr in value.items():
        a = np.array(arr, copy=True)
        if a.ndim == 0 or a.shape[0] != n:
            raise DataError(
                f"metadata[{PER_SAMPLE!r}][{key!r}] of a Dataset must have {n} rows "
                f"(one per sample). Got shape {a.shape} instead."
            )
        a.setflags(write=False)
        out[str(key)] = a
    return out


def _as_indices(value: Any, n: int, name: str, owner: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype.kind == "b":
        if arr.shape != (n,):
            raise ConfigError(
                f"The '{name}' parameter of {owner} as a boolean mask must have shape "
                f"({n},). Got shape {arr.shape} instead."
            )
        return np.flatnonzero(arr)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu" or arr.ndim != 1:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be a 1-D array of ints or a "
            f"boolean mask. Got {value!r} instead."
        )
    if arr.min() < 0 or arr.max() >= n:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must hold indices in [0, {n}). "
            f"Got min {arr.min()} and max {arr.max()}."
        )
    return arr.astype(np.int64)


def check_positive_int(value: Any, name: str, owner: str, *, low: int = 1) -> int:
    """An int >= low (bools refused), or ConfigError."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be an int in [{low}, inf). "
            f"Got {value!r} instead."
        )
    return int(value)


def seed_info(root: np.random.SeedSequence) -> dict[str, Any]:
    """The root seed entropy as metadata (reproduces the dataset)."""
    return {"seed_entropy": root.entropy}
