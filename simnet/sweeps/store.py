"""The durable result store of a sweep, and the result it loads.

A sweep writes its output folder as::

    <directory>/
        sweep.toml                      the resolved spec (base configuration inlined)
        manifest.json                   cells, their status and timings, versions
        cells/cell-000012.done.parquet  one file per finished cell (or .csv)
        cells/cell-000013.failed.parquet
        cells/cell-000012.table-NAME.parquet   kept tables, written before the cell

The cell files are the truth: each one is written to a temporary file in ``cells/``
and renamed into place (:func:`simnet.io.atomic_write`), so a cell either has its
complete file or none, whatever moment the process is killed at; the status is in
the file name, so resuming lists a folder instead of reading every file.
``manifest.json`` is rewritten (atomically) as cells finish, at most once a second,
and at the end; after a kill it may lag behind the cell files, which win.
Parquet is used when pyarrow can be imported, CSV otherwise.
"""

from __future__ import annotations

import datetime
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..io import atomic_write, atomic_write_text
from ..results import package_versions
from .cells import Cell, CellRecord

__all__ = ["MANIFEST_FORMAT_VERSION", "SweepResult", "SweepStore"]

#: Version of the folder layout, stored in ``manifest.json``.
MANIFEST_FORMAT_VERSION = 1

_SPEC_FILE = "sweep.toml"
_MANIFEST_FILE = "manifest.json"
_CELLS_DIR = "cells"
_CELL_FILE = re.compile(r"cell-(\d+)\.(done|failed)\.(parquet|csv)")
_STATUS_COLUMNS = ("status", "error_type", "error")
_ID_COLUMNS = ("cell", "point", "seed_index")


def _table_format() -> str:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return "csv"
    return "parquet"


def _write_frame(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        atomic_write(path, lambda p: frame.to_parquet(p, index=False))
    else:
        atomic_write(path, lambda p: frame.to_csv(p, index=False))


def _read_frame(path: Path) -> pd.DataFrame:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read sweep cell file {path}: {exc}") from exc


def _column_value(value: Any) -> Any:
    """A swept value as a table cell: scalars as they are, others as JSON text."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value)


def cell_frame(
    cell: Cell, keys: Sequence[str], record: CellRecord | None
) -> pd.DataFrame:
    """The rows of one cell in the sweep table: swept keys, cell numbers, results,
    status (``pending`` when ``record`` is None)."""
    rows = record.rows if record is not None and record.status == "done" else None
    n = len(rows) if rows is not None and len(rows.columns) else 1
    ident = {k: [_column_value(cell.params[k])] * n for k in keys}
    ident.update(
        cell=[cell.index] * n,
        point=[cell.point_index] * n,
        seed_index=[cell.seed_index] * n,
    )
    frame = pd.DataFrame(ident)
    if rows is not None and len(rows.columns):
        frame = pd.concat([frame, rows.reset_index(drop=True)], axis=1)
    status = "pending" if record is None else record.status
    frame["status"] = status
    frame["error_type"] = None if record is None else record.error_type
    frame["error"] = None if record is None else record.error
    return frame


def _with_cell_columns(
    table: pd.DataFrame, cell: Cell, keys: Sequence[str]
) -> pd.DataFrame:
    ident = pd.DataFrame(
        {
            **{k: [_column_value(cell.params[k])] * len(table) for k in keys},
            "cell": [cell.index] * len(table),
            "seed_index": [cell.seed_index] * len(table),
        }
    )
    return pd.concat([ident, table.reset_index(drop=True)], axis=1)


def _order_columns(table: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    first = [*keys, *_ID_COLUMNS]
    last = list(_STATUS_COLUMNS)
    middle = [c for c in table.columns if c not in first and c not in last]
    return table[[*first, *middle, *last]]


class SweepStore:
    """An output folder of a sweep (see the module docstring).

    Parameters
    ----------
    directory : str or pathlib.Path
        The folder; created when the sweep starts.
    """

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.cells_dir = self.directory / _CELLS_DIR
        self._manifest: dict[str, Any] = {}
        self._written_at = 0.0
        self._format = _table_format()

    # ------------------------------------------------------------------ opening
    def open(
        self,
        spec_toml: str,
        cells: Sequence[Cell],
        keys: Sequence[str],
        *,
        fn_name: str,
        resume: bool,
    ) -> dict[int, str]:
        """Start or resume the sweep in the folder.

        Parameters
        ----------
        spec_toml : str
            The resolved spec, written as ``sweep.toml``.
        cells : sequence of Cell
        keys : sequence of str
            The swept keys.
        fn_name : str
            Qualified name of the cell function (a resumed sweep must use the same).
        resume : bool
            Continue the sweep already in the folder.

        Returns
        -------
        dict of int to str
            Status (``done`` or ``failed``) of the cells already finished.

        Raises
        ------
        ConfigError
            If the folder holds something else than this sweep, or holds this sweep
            and ``resume`` is False.
        """
        root = self.directory
        spec_path = root / _SPEC_FILE
        if root.exists() and not root.is_dir():
            raise ConfigError(f"output path '{root}' exists and is not a folder")
        finished: dict[int, str] = {}
        if spec_path.is_file():
            if not resume:
                raise ConfigError(
                    f"output folder '{root}' holds a sweep already; resume it "
                    "(--resume, resume=True) or choose another folder"
                )
            if spec_path.read_text(encoding="utf-8") != spec_toml:
                raise ConfigError(
                    f"output folder '{root}' holds a different sweep (its "
                    f"{_SPEC_FILE} differs from this spec); choose another folder"
                )
            old = self._read_manifest()
            if old.get("fn") != fn_name:
                raise ConfigError(
                    f"output folder '{root}' holds a sweep of the cell function "
                    f"{old.get('fn')!r}, not {fn_name!r}; choose another folder"
                )
            self._format = str(old.get("table_format", self._format))
            finished = self.finished()
        elif root.is_dir() and any(root.iterdir()):
            raise ConfigError(
                f"output folder '{root}' is not empty and holds no sweep; choose "
                "another folder or empty it"
            )
        self.cells_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.cells_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        atomic_write_text(spec_path, spec_toml)
        now = datetime.datetime.now(datetime.UTC).isoformat()
        self._manifest = {
            "simnet_sweep": MANIFEST_FORMAT_VERSION,
            "fn": fn_name,
            "table_format": self._format,
            "keys": list(keys),
            "n_cells": len(cells),
            "created": now,
            "updated": now,
            "versions": package_versions(),
            "counts": {},
            "cells": [
                {
                    "cell": c.index,
                    "point": c.point_index,
                    "seed_index": c.seed_index,
                    "params": {k: c.params[k] for k in keys},
                    "seed_entropy": c.entropy,
                    "seed_spawn_key": [c.index],
                    "status": finished.get(c.index, "pending"),
                }
                for c in cells
            ],
        }
        self.write_manifest(force=True)
        return finished

    def finished(self) -> dict[int, str]:
        """Status of every cell that has a file (``done`` wins over ``failed``)."""
        out: dict[int, str] = {}
        if not self.cells_dir.is_dir():
            return out
        for path in self.cells_dir.iterdir():
            match = _CELL_FILE.fullmatch(path.name)
            if match is None:
                continue
            index, status = int(match.group(1)), match.group(2)
            if out.get(index) != "done":
                out[index] = status
        return out

    # ------------------------------------------------------------------ writing
    def write_cell(self, cell: Cell, keys: Sequence[str], record: CellRecord) -> None:
        """Write one finished cell: its kept tables, then its row file (atomic)."""
        stem = f"cell-{cell.index:06d}"
        for name, table in record.tables.items():
            path = self.cells_dir / f"{stem}.table-{name}.{self._format}"
            _write_frame(_with_cell_columns(table, cell, keys), path, self._format)
        path = self.cells_dir / f"{stem}.{record.status}.{self._format}"
        _write_frame(cell_frame(cell, keys, record), path, self._format)
        if record.status == "done":
            for fmt in ("parquet", "csv"):
                (self.cells_dir / f"{stem}.failed.{fmt}").unlink(missing_ok=True)
        entry = self._manifest["cells"][cell.index]
        entry["status"] = record.status
        entry["seconds"] = record.seconds
        if record.status == "failed":
            entry["error_type"] = record.error_type
            entry["error"] = record.error
        else:
            entry.pop("error_type", None)
            entry.pop("error", None)
        self.write_manifest()

    def write_manifest(self, *, force: bool = False) -> None:
        """Rewrite ``manifest.json`` (at most once a second unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._written_at < 1.0:
            return
        counts: dict[str, int] = {}
        for entry in self._manifest["cells"]:
            counts[entry["status"]] = counts.get(entry["status"], 0) + 1
        self._manifest["counts"] = counts
        self._manifest["updated"] = datetime.datetime.now(datetime.UTC).isoformat()
        text = json.dumps(self._manifest, indent=1, default=_json_default)
        atomic_write_text(self.directory / _MANIFEST_FILE, text + "\n")
        self._written_at = now

    def _read_manifest(self) -> dict[str, Any]:
        return read_manifest(self.directory)


def _json_default(value: Any) -> Any:
    """numpy scalars and arrays as JSON numbers and lists."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_manifest(directory: Path) -> dict[str, Any]:
    """The parsed ``manifest.json`` of a sweep folder."""
    path = directory / _MANIFEST_FILE
    if not path.is_file():
        raise DataError(
            f"{directory} is not a simnet sweep folder (no {_MANIFEST_FILE})"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or "cells" not in manifest:
        raise DataError(f"{path} is not a sweep manifest")
    return manifest


@dataclass
class SweepResult:
    """The outcome of a sweep: one tidy table over all cells.

    Parameters
    ----------
    table : DataFrame
        One row per cell (several if the cell function returns a table): the swept
        keys (lists and tables as JSON text), ``cell``, ``point``, ``seed_index``,
        the result columns, ``status`` (``done``, ``failed`` or ``pending``),
        ``error_type`` and ``error``.
    keys : tuple of str
        The swept keys.
    manifest : dict
        The parsed ``manifest.json`` (cells, timings, versions).
    tables : dict of str to DataFrame
        Tables kept in full, with the swept keys, ``cell`` and ``seed_index``
        prepended.
    directory : pathlib.Path or None
        The output folder (None for a sweep kept in memory).
    spec_toml : str
        The resolved spec.

    Examples
    --------
    >>> from simnet.sweeps import run_sweep
    >>> result = run_sweep(
    ...     [{"x": 1.0}, {"x": 2.0}], lambda p, s: {"y": 2 * p["x"]}, seeds=2
    ... )
    >>> result.table[["x", "cell", "seed_index", "y", "status"]].values.tolist()
    [[1.0, 0, 0, 2.0, 'done'], [1.0, 1, 1, 2.0, 'done'], [2.0, 2, 0, 4.0, 'done'], \
[2.0, 3, 1, 4.0, 'done']]
    """

    table: pd.DataFrame
    keys: tuple[str, ...]
    manifest: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    directory: Path | None = None
    spec_toml: str = ""

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"SweepResult(keys={list(self.keys)}, cells: {counts})"

    def counts(self) -> dict[str, int]:
        """Number of cells by status."""
        per_cell = self.table.drop_duplicates("cell")["status"]
        return {str(k): int(v) for k, v in per_cell.value_counts(sort=False).items()}

    def failed(self) -> pd.DataFrame:
        """The rows of the failed cells (swept keys, cell, error type and message)."""
        rows = self.table[self.table["status"] == "failed"]
        return rows[[*self.keys, *_ID_COLUMNS, "error_type", "error"]]

    def cell_table(self, name: str) -> pd.DataFrame:
        """A table kept in full (``tables`` of the spec), over all finished cells.

        Raises
        ------
        DataError
            If the sweep kept no table ``name``.
        """
        try:
            return self.tables[name]
        except KeyError:
            kept = ", ".join(repr(n) for n in self.tables) or "none"
            raise DataError(
                f"This sweep kept no table {name!r}. Kept tables: {kept}."
            ) from None

    @classmethod
    def load(cls, directory: str | Path) -> SweepResult:
        """Load the sweep in ``directory``, finished or not.

        Parameters
        ----------
        directory : str or pathlib.Path
            A folder written by :func:`simnet.sweeps.run_sweep` or ``simnet sweep``.

        Returns
        -------
        SweepResult
            Cells without a file are ``pending``.

        Raises
        ------
        DataError
            If the folder holds no sweep or a cell file cannot be read.
        """
        root = Path(directory)
        manifest = read_manifest(root)
        keys = tuple(manifest.get("keys", ()))
        cells = [
            Cell(
                int(e["cell"]),
                int(e["point"]),
                int(e["seed_index"]),
                dict(e.get("params", {})),
                int(e.get("seed_entropy", 0)),
            )
            for e in manifest["cells"]
        ]
        cells_dir = root / _CELLS_DIR
        files: dict[int, Path] = {}
        table_files: dict[str, list[tuple[int, Path]]] = {}
        if cells_dir.is_dir():
            for path in sorted(cells_dir.iterdir()):
                match = _CELL_FILE.fullmatch(path.name)
                if match is not None:
                    index = int(match.group(1))
                    if index not in files or match.group(2) == "done":
                        files[index] = path
                    continue
                kept = re.fullmatch(r"cell-(\d+)\.table-(.+)\.(parquet|csv)", path.name)
                if kept is not None:
                    table_files.setdefault(kept.group(2), []).append(
                        (int(kept.group(1)), path)
                    )
        frames = [
            _read_frame(files[c.index])
            if c.index in files
            else cell_frame(c, keys, None)
            for c in cells
        ]
        done = {i for i, p in files.items() if ".done." in p.name}
        tables = {
            name: pd.concat(
                [_read_frame(p) for i, p in sorted(entries) if i in done],
                ignore_index=True,
            )
            for name, entries in table_files.items()
            if any(i in done for i, _ in entries)
        }
        spec_path = root / _SPEC_FILE
        spec_toml = spec_path.read_text(encoding="utf-8") if spec_path.is_file() else ""
        return cls(
            table=assemble(frames, keys),
            keys=keys,
            manifest=manifest,
            tables=tables,
            directory=root,
            spec_toml=spec_toml,
        )


def assemble(frames: Sequence[pd.DataFrame], keys: Sequence[str]) -> pd.DataFrame:
    """Concatenate cell frames (in cell order) into the sweep table."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[*keys, *_ID_COLUMNS, *_STATUS_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    return _order_columns(table, keys).reset_index(drop=True)


def memory_result(
    cells: Sequence[Cell],
    keys: Sequence[str],
    records: Mapping[int, CellRecord],
    spec_toml: str,
    fn_name: str,
) -> SweepResult:
    """The :class:`SweepResult` of a sweep run without an output folder."""
    frames = [cell_frame(c, keys, records.get(c.index)) for c in cells]
    tables: dict[str, list[pd.DataFrame]] = {}
    for cell in cells:
        record = records.get(cell.index)
        if record is None or record.status != "done":
            continue
        for name, table in record.tables.items():
            tables.setdefault(name, []).append(_with_cell_columns(table, cell, keys))
    manifest = {
        "simnet_sweep": MANIFEST_FORMAT_VERSION,
        "fn": fn_name,
        "keys": list(keys),
        "n_cells": len(cells),
        "versions": package_versions(),
        "cells": [
            {
                "cell": c.index,
                "point": c.point_index,
                "seed_index": c.seed_index,
                "params": {k: c.params[k] for k in keys},
                "status": records[c.index].status if c.index in records else "pending",
                "seconds": records[c.index].seconds if c.index in records else None,
            }
            for c in cells
        ],
    }
    return SweepResult(
        table=assemble(frames, keys),
        keys=tuple(keys),
        manifest=manifest,
        tables={k: pd.concat(v, ignore_index=True) for k, v in tables.items()},
        spec_toml=spec_toml,
    )
