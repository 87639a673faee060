"""The result of a simulation or training run, and its atomic save and load.

A :class:`RunResult` holds four things: the run configuration (JSON), tidy
long-format tables (pandas), the final arrays (numpy) and metadata (seed entropy,
package versions, timings). It is saved to a directory laid out as::

    <directory>/
        metadata.json        written last: format, table names, dtypes, versions
        config.json
        state.npz
        tables/<name>.parquet   (or tables/<name>.csv)

Every file is written through :func:`simnet.io.atomic_write`. All new files are
first written to temporary files; only when every one of them is complete are they
renamed over the old ones, ``metadata.json`` last. An error while writing (a column
pyarrow cannot convert, a full disk) therefore leaves a previously saved result
untouched.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import json
import platform
import re
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError
from .io import atomic_write

__all__ = [
    "RESULT_FORMAT_VERSION",
    "SEED_ENTROPY_KEY",
    "RunResult",
    "TableFormat",
    "package_versions",
]

#: Version of the on-disk layout, stored in ``metadata.json``.
RESULT_FORMAT_VERSION = 1

#: Key of ``RunResult.metadata`` under which runs store the root seed entropy.
SEED_ENTROPY_KEY = "seed_entropy"

_METADATA_FILE = "metadata.json"
_CONFIG_FILE = "config.json"
_STATE_FILE = "state.npz"
_TABLES_DIR = "tables"

# Integers beyond +-2**53 are not exact in IEEE doubles, which is how many JSON
# readers (JavaScript, jq, spreadsheets) hold numbers; such integers are written as
# decimal strings and their positions recorded in metadata.json.
_MAX_SAFE_JSON_INT = 2**53

# Table and state names become file names (and npz member names): keep them plain.
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
# Keywords of np.savez that cannot be used as array names.
_RESERVED_STATE_NAMES = frozenset({"file", "allow_pickle"})
# Array kinds allowed in the state: bool, signed/unsigned int, float, complex.
_NUMERIC_KINDS = frozenset("biufc")

_JsonPath = list[str | int]


class TableFormat(StrEnum):
    """File format of the tables of a saved :class:`RunResult`.

    ``AUTO`` picks ``PARQUET`` when pyarrow can be imported and ``CSV`` otherwise.
    """

    AUTO = "auto"
    PARQUET = "parquet"
    CSV = "csv"


def package_versions() -> dict[str, str]:
    """Return the versions of Python, simnet and the packages it runs on.

    Returns
    -------
    dict of str to str
        Keys ``python``, ``simnet``, ``numpy``, ``numba``, ``networkx``, ``scipy``
        and ``pandas`` always (``"unknown"`` when a version cannot be found), plus
        ``pyarrow`` and ``matplotlib`` when they are installed.

    Examples
    --------
    >>> versions = package_versions()
    >>> sorted(k for k in versions if k in ("python", "numpy", "pandas"))
    ['numpy', 'pandas', 'python']
    """
    versions = {"python": platform.python_version()}
    for name in ("simnet", "numpy", "numba", "networkx", "scipy", "pandas"):
        versions[name] = _distribution_version(name) or "unknown"
    for name in ("pyarrow", "matplotlib"):
        version = _distribution_version(name)
        if version is not None:
            versions[name] = version
    return versions


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _parquet_available() -> bool:
    """Return True when pyarrow, the engine used for Parquet files, can be imported."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class RunResult:
    """The result of a simulation or training run.

    Parameters
    ----------
    config : dict
        JSON-serialisable run configuration (model parameters, steps, record
        schedule...). Numpy scalars and arrays are allowed; they are written as
        plain JSON numbers and lists.
    tables : dict of str to pandas.DataFrame
        Tidy long-format tables, e.g. ``"metrics"``, ``"impact"``,
        ``"class_means"``. The index is not saved: keep data in columns.
    state : dict of str to numpy.ndarray
        Final arrays of the run (particles, amounts...); numeric dtypes only.
    metadata : dict
        Seed entropy (under ``"seed_entropy"``, may exceed 64 bits), package
        versions, timings and similar facts about the run.

    See Also
    --------
    package_versions : the versions recorded when a result is saved.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> metrics = pd.DataFrame({"step": [0, 1, 2], "loss": [1.0, 0.5, 0.2]})
    >>> result = RunResult(
    ...     config={"steps": 3},
    ...     tables={"metrics": metrics},
    ...     state={"particles": np.zeros((4, 2))},
    ...     metadata={"seed_entropy": 2**100},
    ... )
    >>> result
    RunResult(tables=['metrics'], state=['particles'], config_keys=['steps'])
    >>> result.table("metrics").shape
    (3, 2)
    """

    config: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    state: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"RunResult(tables={list(self.tables)}, state={list(self.state)}, "
            f"config_keys={list(self.config)})"
        )

    def table(self, name: str) -> pd.DataFrame:
        """Return the table called ``name``.

        Parameters
        ----------
        name : str
            Name of the table, e.g. ``"metrics"``.

        Returns
        -------
        pandas.DataFrame
            The table itself (not a copy).

        Raises
        ------
        DataError
            If there is no table called ``name``; the message lists the tables
            that exist.
        """
        try:
            return self.tables[name]
        except KeyError:
            available = ", ".join(repr(n) for n in self.tables) or "none"
            raise DataError(
                f"This run result has no table {name!r}. Available tables: {available}."
            ) from None

    def summary(self) -> str:
        """Return a few human-readable lines describing the result.

        Returns
        -------
        str
            Tables with their row counts, state arrays with dtype and shape,
            config keys and the seed entropy.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> result = RunResult(
        ...     config={"steps": 2, "model": "hfs"},
        ...     tables={"metrics": pd.DataFrame({"step": [0, 1]})},
        ...     state={"amounts": np.ones(3)},
        ...     metadata={"seed_entropy": 12345},
        ... )
        >>> print(result.summary())
        RunResult
          table metrics: 2 rows x 1 columns
          state amounts: float64 (3,)
          config keys: steps, model
          seed entropy: 12345
        """
        lines = ["RunResult"]
        for name, frame in self.tables.items():
            n_rows, n_columns = frame.shape
            lines.append(f"  table {name}: {n_rows} rows x {n_columns} columns")
        if not self.tables:
            lines.append("  tables: none")
        for name, array in self.state.items():
            array = np.asarray(array)
            lines.append(f"  state {name}: {array.dtype} {array.shape}")
        if not self.state:
            lines.append("  state: none")
        lines.append(f"  config keys: {', '.join(map(str, self.config)) or 'none'}")
        seed = self.metadata.get(SEED_ENTROPY_KEY, "not recorded")
        lines.append(f"  seed entropy: {seed}")
        return "\n".join(lines)

    def save(
        self, directory: str | Path, *, format: TableFormat | str = TableFormat.AUTO
    ) -> Path:
        """Save the result to ``directory``, replacing a result saved there before.

        Parameters
        ----------
        directory : str or pathlib.Path
            Folder to write; created if needed.
        format : {"auto", "parquet", "csv"} or TableFormat, default "auto"
            File format of the tables. ``"auto"`` means Parquet when pyarrow is
            installed and CSV otherwise. CSV tables come back with their recorded
            dtypes; only in a text column holding both missing values and empty
            strings do the empty strings come back as missing values.

        Returns
        -------
        pathlib.Path
            ``directory``.

        Raises
        ------
        ConfigError
            If ``format`` is not one of the allowed values.
        ImportError
            If ``format="parquet"`` and pyarrow is not installed.
        DataError
            If a table, state array, config or metadata value cannot be saved
            (object-dtype array, non-string column name, value JSON cannot hold...).

        Notes
        -----
        Files written: ``tables/<name>.<format>``, ``state.npz``, ``config.json``
        and, last, ``metadata.json``, which records the table format, table names
        and dtypes, and the package versions at save time. Every file is written
        atomically; the old files are replaced only after all new files have been
        written completely, so a failed save leaves the previous result intact.
        Table files of a previous result that the new one no longer has are
        removed.
        """
        root = Path(directory)
        table_format = _resolve_format(format)
        tables = _checked_tables(self.tables)
        state = _checked_state(self.state)
        for name, value in (("config", self.config), ("metadata", self.metadata)):
            if not isinstance(value, Mapping):
                raise DataError(
                    f"RunResult.{name} must be a dict. Got {type(value).__name__}."
                )

        metadata = dict(self.metadata)
        recorded = metadata.get("versions")
        if recorded is None or isinstance(recorded, Mapping):
            # The run's own record wins; the save-time versions fill the gaps.
            metadata["versions"] = {**package_versions(), **(recorded or {})}

        config_big_ints: list[_JsonPath] = []
        metadata_big_ints: list[_JsonPath] = []
        config_tree = _to_json_tree(self.config, "config", [], config_big_ints)
        metadata_tree = _to_json_tree(metadata, "metadata", [], metadata_big_ints)
        header = {
            "simnet_result": RESULT_FORMAT_VERSION,
            "table_format": table_format.value,
            "tables": {
                name: {
                    "n_rows": len(frame),
                    "dtypes": {col: str(dtype) for col, dtype in frame.dtypes.items()},
                    "columns_with_missing": [
                        col for col in frame.columns if frame[col].hasnans
                    ],
                }
                for name, frame in tables.items()
            },
            "state": {
                name: {"dtype": array.dtype.str, "shape": list(array.shape)}
                for name, array in state.items()
            },
            "saved_at": datetime.datetime.now(datetime.UTC).isoformat(),
            "saved_with": package_versions(),
            "big_ints": {"config": config_big_ints, "metadata": metadata_big_ints},
            "metadata": metadata_tree,
        }
        metadata_text = _dump_json(header)
        config_text = _dump_json(config_tree)
        previous_tables = _previous_table_files(root)

        writes: list[tuple[Path, Callable[[Path], None]]] = [
            (root / _METADATA_FILE, partial(_write_text, text=metadata_text)),
            (root / _CONFIG_FILE, partial(_write_text, text=config_text)),
            (root / _STATE_FILE, partial(_write_state, state)),
        ]
        writes += [
            (
                _table_path(root, name, table_format),
                partial(_write_table, name, frame, table_format=table_format),
            )
            for name, frame in tables.items()
        ]
        _write_all_or_nothing(writes)

        current = {_table_path(root, name, table_format) for name in tables}
        for stale in previous_tables - current:
            stale.unlink(missing_ok=True)
        return root

    @classmethod
    def load(cls, directory: str | Path) -> RunResult:
        """Load a result saved by :meth:`save`.

        Parameters
        ----------
        directory : str or pathlib.Path
            Folder holding ``metadata.json`` and the other result files.

        Returns
        -------
        RunResult
            Tables with the dtypes they were saved with, state arrays bit for bit,
            config and metadata with big integers restored.

        Raises
        ------
        DataError
            If ``directory`` is not a result directory (no ``metadata.json``) or a
            file is missing, corrupt, or does not match ``metadata.json``; the
            message names the file.
        ImportError
            If the tables are Parquet files and pyarrow is not installed.

        Notes
        -----
        Nothing is unpickled: ``state.npz`` is read with ``allow_pickle=False``.
        """
        root = Path(directory)
        metadata_path = root / _METADATA_FILE
        if not metadata_path.is_file():
            raise DataError(
                f"{root} is not a simnet result directory (no {_METADATA_FILE})."
            )
        header = _read_header(metadata_path)
        table_format = TableFormat(header["table_format"])
        big_ints = header["big_ints"]

        metadata = _restore_big_ints(
            header["metadata"], big_ints.get("metadata", []), metadata_path
        )
        config_path = root / _CONFIG_FILE
        config = _restore_big_ints(
            _read_json(config_path), big_ints.get("config", []), config_path
        )
        if not isinstance(config, dict):
            raise DataError(f"{config_path} must hold a JSON object.")

        if table_format is TableFormat.PARQUET and header["tables"]:
            _require_parquet()
        tables = {}
        for name, info in header["tables"].items():
            _checked_name(name, "table", metadata_path)
            path = _table_path(root, name, table_format)
            tables[name] = _read_table(path, table_format, info)
        state = _read_state(root / _STATE_FILE, header["state"])
        return cls(config=config, tables=tables, state=state, metadata=metadata)


# --- validation -------------------------------------------------------------------


def _resolve_format(value: TableFormat | str) -> TableFormat:
    try:
        table_format = TableFormat(value)
    except ValueError:
        listed = ", ".join(repr(f.value) for f in TableFormat)
        raise ConfigError(
            f"The 'format' parameter of RunResult.save must be one of {listed}. "
            f"Got {value!r} instead."
        ) from None
    if table_format is TableFormat.AUTO:
        return TableFormat.PARQUET if _parquet_available() else TableFormat.CSV
    if table_format is TableFormat.PARQUET:
        _require_parquet()
    return table_format


def _require_parquet() -> None:
    if not _parquet_available():
        raise ImportError(
            "Parquet tables need pyarrow. Install it with `pip install "
            "simnet[parquet]`, or save with format='csv'."
        )


def _checked_name(name: object, kind: str, where: object) -> str:
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        raise DataError(
            f"The {kind} name {name!r} in {where} is not allowed: use letters, "
            "digits, '_', '.' and '-', not starting with '.' or '-'."
        )
    return name


def _checked_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    checked: dict[str, pd.DataFrame] = {}
    seen: dict[str, str] = {}
    for name, frame in tables.items():
        _checked_name(name, "table", "RunResult.tables")
        # Names that differ only in case collide on macOS and Windows file systems.
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise DataError(
                f"The tables {other!r} and {name!r} differ only in letter case, so "
                "their files would collide on some file systems. Rename one."
            )
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"Table {name!r} must be a pandas DataFrame. "
                f"Got {type(frame).__name__} instead."
            )
        bad = [c for c in frame.columns if not isinstance(c, str)]
        if bad:
            raise DataError(
                f"The column names of table {name!r} must be strings. Got {bad!r}."
            )
        if frame.columns.has_duplicates:
            duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
            raise DataError(f"Table {name!r} has duplicate columns {duplicated!r}.")
        if any(level is not None for level in frame.index.names):
            raise DataError(
                f"Table {name!r} has a named index {list(frame.index.names)!r}, "
                "which would be lost: call .reset_index() to keep it as columns."
            )
        checked[name] = frame
    return checked


def _checked_state(state: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    checked: dict[str, np.ndarray] = {}
    for name, value in state.items():
        _checked_name(name, "state", "RunResult.state")
        if name in _RESERVED_STATE_NAMES:
            raise DataError(
                f"The state name {name!r} is reserved by numpy.savez. Rename it."
            )
        array = np.asarray(value)
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise DataError(
                f"State array {name!r} must have a numeric dtype (bool, int, float "
                f"or complex). Got dtype {array.dtype} instead."
            )
        checked[name] = array
    return checked


# --- JSON -------------------------------------------------------------------------


def _to_json_tree(
    value: Any, where: str, path: _JsonPath, big_ints: list[_JsonPath]
) -> Any:
    """Return ``value`` as plain JSON types; integers beyond 2**53 become strings.

    The path of every integer written as a string is appended to ``big_ints``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_JSON_INT:
            big_ints.append(list(path))
            return str(int(value))
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, np.ndarray):
        return _to_json_tree(value.tolist(), where, path, big_ints)
    if isinstance(value, np.generic):
        return _to_json_tree(value.item(), where, path, big_ints)
    if isinstance(value, Mapping):
        tree = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DataError(
                    f"The keys of {where} must be strings for JSON. Got {key!r}."
                )
            tree[key] = _to_json_tree(item, f"{where}[{key!r}]", [*path, key], big_ints)
        return tree
    if isinstance(value, list | tuple):
        return [
            _to_json_tree(item, f"{where}[{i}]", [*path, i], big_ints)
            for i, item in enumerate(value)
        ]
    raise DataError(
        f"{where} is a {type(value).__name__}, which cannot be written to JSON. "
        "Use numbers, strings, booleans, None, lists, dicts or numpy arrays."
    )


def _dump_json(tree: Any) -> str:
    return json.dumps(tree, indent=2, ensure_ascii=False) + "\n"


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"The result file {path} is missing.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Cannot read the result file {path}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"The result file {path} is not valid JSON: {exc}") from exc


def _restore_big_ints(tree: Any, paths: Any, source: Path) -> Any:
    """Turn the decimal strings at ``paths`` inside ``tree`` back into ints."""
    try:
        for path in paths:
            *parents, last = path
            node = tree
            for key in parents:
                node = node[key]
            node[last] = int(node[last])
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise DataError(
            f"The big-integer record in {source} does not match its contents: {exc!r}"
        ) from exc
    return tree


def _read_header(path: Path) -> dict[str, Any]:
    header = _read_json(path)
    required = ("simnet_result", "table_format", "tables", "state", "metadata")
    if not isinstance(header, dict) or any(k not in header for k in required):
        raise DataError(
            f"{path} is not a simnet result description: it must be a JSON object "
            f"with the keys {', '.join(required)}."
        )
    version = header["simnet_result"]
    if not isinstance(version, int) or version > RESULT_FORMAT_VERSION:
        raise DataError(
            f"{path} has result format version {version!r}; this simnet reads "
            f"versions up to {RESULT_FORMAT_VERSION}. Upgrade simnet."
        )
    if header["table_format"] not in (TableFormat.PARQUET, TableFormat.CSV):
        raise DataError(
            f"{path} names an unknown table format {header['table_format']!r}."
        )
    well_formed = (
        isinstance(header["tables"], dict)
        and all(isinstance(v, dict) for v in header["tables"].values())
        and isinstance(header["state"], dict)
        and isinstance(header["metadata"], dict)
        and isinstance(header.setdefault("big_ints", {}), dict)
    )
    if not well_formed:
        raise DataError(
            f"{path} is malformed: 'tables', 'state' and 'metadata' must "
            "be JSON objects."
        )
    return header


def _previous_table_files(root: Path) -> set[Path]:
    """Return the table files listed by a result already saved in ``root``."""
    try:
        header = _read_header(root / _METADATA_FILE)
    except DataError:
        return set()
    table_format = TableFormat(header["table_format"])
    return {
        _table_path(root, name, table_format)
        for name in header["tables"]
        if _NAME_PATTERN.fullmatch(name)
    }


# --- files ------------------------------------------------------------------------


def _table_path(root: Path, name: str, table_format: TableFormat) -> Path:
    return root / _TABLES_DIR / f"{name}.{table_format.value}"


def _write_all_or_nothing(writes: list[tuple[Path, Callable[[Path], None]]]) -> None:
    """Write every file atomically; replace old files only once all are written.

    The atomic writes are nested: each one writes its temporary file, then runs the
    next write, and renames its own file only after the inner writes succeeded. So
    all temporary files are complete before the first rename, and the renames run
    in reverse order: the first file (metadata.json) is replaced last. On any error
    every temporary file is removed and no old file has been touched.
    """
    if not writes:
        return
    (path, write), rest = writes[0], writes[1:]

    def write_then_rest(tmp: Path) -> None:
        write(tmp)
        _write_all_or_nothing(rest)

    atomic_write(path, write_then_rest)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _write_state(state: Mapping[str, np.ndarray], path: Path) -> None:
    # An open file keeps np.savez from appending ".npz" to the temporary name.
    with open(path, "wb") as file:
        np.savez(file, **state)


def _write_table(
    name: str, frame: pd.DataFrame, path: Path, table_format: TableFormat
) -> None:
    try:
        if table_format is TableFormat.PARQUET:
            frame.to_parquet(path, engine="pyarrow", index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError:
        raise
    except Exception as exc:  # pyarrow conversion errors have no common pandas type
        raise DataError(
            f"Cannot write table {name!r} as {table_format.value}: {exc}"
        ) from exc


def _csv_read_dtype(dtype: str) -> str:
    # The CSV parser cannot produce these directly; they are converted afterwards.
    if dtype.startswith(("datetime64", "timedelta64", "period")):
        return "str"
    return dtype


def _read_table(
    path: Path, table_format: TableFormat, info: Mapping[str, Any]
) -> pd.DataFrame:
    dtypes = info.get("dtypes")
    n_rows = info.get("n_rows")
    if not isinstance(dtypes, dict) or not isinstance(n_rows, int):
        raise DataError(
            f"The entry of table file {path} in {_METADATA_FILE} is malformed."
        )
    if not path.is_file():
        raise DataError(f"The table file {path} listed in {_METADATA_FILE} is missing.")
    if not dtypes:
        # Neither format stores the length of a table without columns.
        return pd.DataFrame(index=pd.RangeIndex(n_rows))
    try:
        if table_format is TableFormat.PARQUET:
            frame = pd.read_parquet(path, engine="pyarrow")
        else:
            # An empty field is missing only in columns that had missing values;
            # strings such as "NA" or "None" are never taken for missing.
            with_missing = info.get("columns_with_missing", list(dtypes))
            frame = pd.read_csv(
                path,
                dtype={col: _csv_read_dtype(d) for col, d in dtypes.items()},
                keep_default_na=False,
                na_values={col: [""] for col in with_missing},
            )
    except Exception as exc:  # pyarrow, parser and decoding errors vary by version
        raise DataError(f"Cannot read the table file {path}: {exc}") from exc
    if list(frame.columns) != list(dtypes) or len(frame) != n_rows:
        raise DataError(
            f"The table file {path} does not match {_METADATA_FILE}: expected "
            f"{n_rows} rows and columns {list(dtypes)}, found {len(frame)} rows and "
            f"columns {list(frame.columns)}."
        )
    for col, dtype in dtypes.items():
        if str(frame[col].dtype) != dtype:
            try:
                frame[col] = frame[col].astype(dtype)
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"Cannot restore column {col!r} of the table file {path} to "
                    f"dtype {dtype}: {exc}"
                ) from exc
    return frame


def _read_state(path: Path, expected: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise DataError(f"The state file {path} is missing.")
    if not zipfile.is_zipfile(path):
        raise DataError(f"The state file {path} is corrupt: it is not an npz archive.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            state = {name: npz[name] for name in npz.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise DataError(
                f"The state file {path} holds an object array, which simnet does "
                "not load (it would need unpickling)."
            ) from exc
        raise DataError(f"The state file {path} is corrupt: {exc}") from exc
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"The state file {path} is corrupt: {exc}") from exc
    if set(state) != set(expected):
        raise DataError(
            f"The state file {path} holds arrays {sorted(state)}, but "
            f"{_METADATA_FILE} lists {sorted(expected)}."
        )
    for name, array in state.items():
        if array.dtype.kind not in _NUMERIC_KINDS:
            raise DataError(
                f"The state array {name!r} in {path} has the non-numeric dtype "
                f"{array.dtype}."
            )
        info = expected[name]
        recorded = (
            (info.get("dtype"), info.get("shape")) if isinstance(info, dict) else ()
        )
        if recorded != (array.dtype.str, list(array.shape)):
            raise DataError(
                f"The state array {name!r} in {path} has dtype {array.dtype.str} and "
                f"shape {array.shape}, which does not match {_METADATA_FILE}."
            )
    return {name: state[name] for name in expected}
