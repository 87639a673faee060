"""Reading and writing datasets: ``.npz`` (numpy, never pickled) and ``.csv``."""

from __future__ import annotations

import json
import os
import zipfile
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError, HierarchyError
from ..hierarchy import Hierarchy
from ..io import atomic_write
from ._base import PER_SAMPLE, Dataset

__all__ = ["load_dataset", "save_dataset"]

_SUFFIXES = (".npz", ".csv")
_PER_SAMPLE_PREFIX = "per_sample__"
# pandas < 3 parses floats inexactly by default; pandas 3 is exact and deprecates this
_EXACT_FLOATS: dict[str, Any] = (
    {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}
)


def load_dataset(path: str | os.PathLike, *, label_column: str = "label") -> Dataset:
    """Read a dataset from a ``.npz`` or ``.csv`` file.

    Parameters
    ----------
    path : str or PathLike
        ``.npz``: arrays ``X`` (n, d) numeric and ``y`` (n,) of integers or strings;
        optional ``class_names`` (then ``y`` must hold ints in 0..K-1),
        ``hierarchy_json``, ``metadata_json`` and ``per_sample__<name>`` arrays, as
        written by :func:`save_dataset`. Read with ``allow_pickle=False``: object
        arrays are refused, nothing is ever unpickled.
        ``.csv``: a header row, numeric feature columns and the label column.
    label_column : str
        Name of the label column of a CSV file (ignored for ``.npz``).

    Returns
    -------
    Dataset
        Labels that are not given with ``class_names`` are mapped to ``0..K-1`` in
        sorted order of their values (numbers numerically, strings lexically), and
        the class names are those values as strings. ``metadata["source"]`` is the
        path.

    Raises
    ------
    DataError
        If the file is missing or empty, its suffix is not ``.npz``/``.csv``, it
        cannot be parsed, an array or column is missing, a feature is not numeric or
        not finite, a label is missing or not an integer/string, X and y disagree in
        length, or there are fewer than two classes. The message names the file and
        the array, column or line at fault.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ds = Dataset([[0.5, 1.0], [2.0, 3.0]], [0, 1], ("cat", "dog"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     save_dataset(ds, pathlib.Path(tmp) / "d.csv")
    ...     back = load_dataset(pathlib.Path(tmp) / "d.csv")
    >>> back.class_names, back.X.tolist()
    (('cat', 'dog'), [[0.5, 1.0], [2.0, 3.0]])
    """
    if not isinstance(label_column, str) or not label_column:
        raise ConfigError(
            "The 'label_column' parameter of load_dataset must be a non-empty str. "
            f"Got {label_column!r} instead."
        )
    file = Path(path)
    where = f"dataset file {str(file)!r}"
    if not file.is_file():
        raise DataError(f"The {where} does not exist (or is not a file).")
    suffix = file.suffix.lower()
    if suffix not in _SUFFIXES:
        raise DataError(
            f"The {where} has the unsupported suffix {suffix!r}; use .npz or .csv."
        )
    if file.stat().st_size == 0:
        raise DataError(f"The {where} is empty (0 bytes).")
    if suffix == ".npz":
        return _load_npz(file, where)
    return _load_csv(file, where, label_column)


def save_dataset(dataset: Dataset, path: str | os.PathLike) -> None:
    """Write ``dataset`` to ``.npz`` or ``.csv``, atomically.

    ``.npz`` keeps everything :func:`load_dataset` can read back: ``X``, ``y``,
    ``class_names``, the hierarchy (node-link JSON), the per-sample annotations
    (numeric, boolean or string arrays) and the rest of the metadata as JSON (arrays
    become lists; values JSON cannot hold are written as their ``repr``). ``.csv``
    keeps only the features (columns ``x0, x1, ...``) and the class *names* in a
    column ``label``; reading it back orders the classes by sorted name.

    Raises
    ------
    ConfigError
        If ``dataset`` is not a Dataset or the suffix is not ``.npz``/``.csv``.
    DataError
        If a per-sample annotation cannot be stored without pickling.
    """
    if not isinstance(dataset, Dataset):
        raise ConfigError(
            "The 'dataset' parameter of save_dataset must be a Dataset. "
            f"Got {type(dataset).__name__} instead."
        )
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ConfigError(
            "The 'path' parameter of save_dataset must end in .npz or .csv. "
            f"Got {str(file)!r} instead."
        )
    if suffix == ".npz":
        arrays = _npz_arrays(dataset)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:  # a handle: np.savez adds no suffix
                np.savez(handle, **arrays)

    else:
        frame = pd.DataFrame(
            dataset.X, columns=[f"x{j}" for j in range(dataset.n_features)]
        )
        frame["label"] = np.asarray(dataset.class_names, dtype=object)[dataset.y]

        def write(tmp: Path) -> None:
            frame.to_csv(tmp, index=False)

    atomic_write(file, write)


# ---------------------------------------------------------------------- npz
def _npz_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    arrays = {
        "X": np.asarray(dataset.X),
        "y": np.asarray(dataset.y),
        "class_names": np.array(dataset.class_names, dtype=str),
    }
    if dataset.hierarchy is not None:
        arrays["hierarchy_json"] = np.array(
            json.dumps(dataset.hierarchy.to_node_link())
        )
    meta = {k: v for k, v in dataset.metadata.items() if k != PER_SAMPLE}
    arrays["metadata_json"] = np.array(json.dumps(_plain(meta)))
    for name, value in dataset.per_sample.items():
        arr = np.asarray(value)
        if arr.dtype.kind not in "biufU":
            raise DataError(
                f"The per-sample annotation {name!r} has dtype {arr.dtype}, which "
                "cannot be saved without pickling; convert it to numbers or strings."
            )
        arrays[_PER_SAMPLE_PREFIX + name] = arr
    return arrays


def _load_npz(file: Path, where: str) -> Dataset:
    if not zipfile.is_zipfile(file):
        raise DataError(
            f"The {where} cannot be read as .npz: it is not a zip archive of arrays "
            "(write it with numpy.savez or save_dataset)."
        )
    try:
        with np.load(file, allow_pickle=False) as store:
            contents = {name: store[name] for name in store.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"The {where} holds an object (pickled) array; simnet never "
                "unpickles. Save plain numeric or string arrays."
            ) from None
        raise DataError(f"The {where} cannot be read as .npz: {exc}") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"The {where} cannot be read as .npz: {exc}") from None
    for name in ("X", "y"):
        if name not in contents:
            raise DataError(
                f"The {where} has no array {name!r} (it holds "
                f"{sorted(contents) or 'no arrays'}); save features as 'X' and "
                "labels as 'y'."
            )
    x = contents["X"]
    if x.dtype.kind not in "biuf":
        raise DataError(
            f"The array 'X' of the {where} must be numeric. Got dtype {x.dtype}."
        )
    if x.ndim != 2 or 0 in x.shape:
        raise DataError(
            f"The array 'X' of the {where} must have shape (n_samples, n_features) "
            f"with both >= 1. Got shape {x.shape}."
        )
    _check_finite(np.asarray(x, dtype=np.float64), where, "array 'X'")
    labels = contents["y"]
    if labels.ndim != 1:
        raise DataError(
            f"The array 'y' of the {where} must be 1-D. Got shape {labels.shape}."
        )
    if labels.shape[0] != x.shape[0]:
        raise DataError(
            f"The arrays of the {where} disagree: 'X' has {x.shape[0]} rows but 'y' "
            f"has {labels.shape[0]} labels (shape mismatch)."
        )
    if "class_names" in contents:
        names = tuple(str(s) for s in np.atleast_1d(contents["class_names"]))
        y = _given_labels(labels, len(names), where)
    else:
        y, names = _encode_labels(labels, where, "array 'y'")
    _check_two_classes(names, where)
    hierarchy = None
    if "hierarchy_json" in contents:
        try:
            hierarchy = Hierarchy.from_json_data(
                json.loads(str(contents["hierarchy_json"]))
            )
        except (json.JSONDecodeError, HierarchyError) as exc:
            raise DataError(
                f"The array 'hierarchy_json' of the {where} is not a valid "
                f"hierarchy: {exc}"
            ) from None
    metadata: dict[str, Any] = {}
    if "metadata_json" in contents:
        try:
            loaded = json.loads(str(contents["metadata_json"]))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"The array 'metadata_json' of the {where} is not valid JSON: {exc}"
            ) from None
        if isinstance(loaded, dict):
            metadata.update(loaded)
    per_sample = {
        name[len(_PER_SAMPLE_PREFIX) :]: arr
        for name, arr in contents.items()
        if name.startswith(_PER_SAMPLE_PREFIX)
    }
    if per_sample:
        metadata[PER_SAMPLE] = per_sample
    metadata["source"] = str(file)
    try:
        return Dataset(x, y, names, hierarchy, metadata)
    except DataError as exc:
        raise DataError(f"The {where} does not form a dataset: {exc}") from None


# ---------------------------------------------------------------------- csv
def _load_csv(file: Path, where: str, label_column: str) -> Dataset:
    try:
        frame = pd.read_csv(file, **_EXACT_FLOATS)
    except pd.errors.EmptyDataError:
        raise DataError(f"The {where} is empty (no header row).") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"The {where} cannot be parsed as CSV: {exc}") from None
    if label_column not in frame.columns:
        raise DataError(
            f"The {where} has no label column {label_column!r}; its columns are "
            f"{[str(c) for c in frame.columns]}. Pass label_column=... to name it."
        )
    if len(frame) == 0:
        raise DataError(f"The {where} is empty: it has a header but no data rows.")
    features = [c for c in frame.columns if c != label_column]
    if not features:
        raise DataError(
            f"The {where} has no feature columns besides the label column "
            f"{label_column!r}."
        )
    for col in features:
        if not pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(
            frame[col]
        ):
            values = pd.to_numeric(frame[col], errors="coerce")
            wrong = np.flatnonzero(values.isna() & frame[col].notna())
            bad = int(wrong[0]) if wrong.size else 0  # a boolean column: line 2
            raise DataError(
                f"The column {str(col)!r} of the {where} must be numeric. Got "
                f"{frame[col].iloc[bad]!r} on line {bad + 2}."
            )
    x = frame[features].to_numpy(dtype=np.float64)
    bad_cells = ~np.isfinite(x)
    if bad_cells.any():
        row, col = np.argwhere(bad_cells)[0]
        raise DataError(
            f"The column {str(features[col])!r} of the {where} must be finite. Got "
            f"{x[row, col]} (NaN, inf or an empty cell) on line {row + 2}."
        )
    raw = frame[label_column]
    if raw.isna().any():
        row = int(np.flatnonzero(raw.isna())[0])
        raise DataError(
            f"The label column {label_column!r} of the {where} has a missing label "
            f"on line {row + 2}."
        )
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        labels = raw.to_numpy()
    else:
        labels = raw.astype(str).to_numpy(dtype=str)
    y, names = _encode_labels(labels, where, f"label column {label_column!r}")
    _check_two_classes(names, where)
    metadata = {"source": str(file), "feature_names": [str(c) for c in features]}
    return Dataset(x, y, names, None, metadata)


# ---------------------------------------------------------------------- helpers
def _check_finite(x: np.ndarray, where: str, what: str) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"The {what} of the {where} must be finite. Got {x[row, col]} at row "
            f"{row}, column {col}."
        )


def _encode_labels(
    labels: np.ndarray, where: str, what: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Map label values to 0..K-1 in sorted order; names are the values as str."""
    kind = labels.dtype.kind
    if kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels % 1 != 0):
            bad = labels[~np.isfinite(labels) | (labels % 1 != 0)][0]
            raise DataError(
                f"The {what} of the {where} must hold integers or strings. "
                f"Got the value {bad!r}."
            )
        labels = labels.astype(np.int64)
        kind = "i"
    if kind not in "biuU":
        raise DataError(
            f"The {what} of the {where} must hold integers or strings. "
            f"Got dtype {labels.dtype}."
        )
    values, y = np.unique(labels, return_inverse=True)
    names = tuple(str(v.item()) if hasattr(v, "item") else str(v) for v in values)
    if len(set(names)) != len(names):  # pragma: no cover - distinct values
        raise DataError(f"The {what} of the {where} has clashing class names.")
    return y.reshape(-1).astype(np.int64), names


def _given_labels(labels: np.ndarray, n_classes: int, where: str) -> np.ndarray:
    if labels.dtype.kind not in "iu":
        raise DataError(
            f"The array 'y' of the {where} must hold ints in 0..{n_classes - 1} when "
            f"'class_names' is given. Got dtype {labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(
            f"The array 'y' of the {where} must hold ints in 0..{n_classes - 1} (one "
            f"per entry of 'class_names'). Got min {labels.min()} and max "
            f"{labels.max()}."
        )
    return labels.astype(np.int64)


def _check_two_classes(names: tuple[str, ...], where: str) -> None:
    if len(names) < 2:
        raise DataError(
            f"The {where} has fewer than 2 classes ({list(names)}); a classification "
            "dataset needs at least two."
        )


def _plain(value: Any) -> Any:
    """A JSON-friendly copy (arrays to lists, numpy scalars to Python, enums to
    values, anything else unknown to its repr)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Hierarchy):
        return value.to_node_link()
    return repr(value)
