"""Sweep specifications: a base run configuration, the points to run it at, the seeds.

A sweep runs one *cell* per (point, replicate). A point sets some dotted keys of a
run configuration (the schema of :mod:`simnet.config`, the one ``simnet simulate``
reads); the points come from a Cartesian ``grid``, a ``random`` sample or an explicit
list of ``points``. Every point is replicated ``seeds`` times.

TOML format
-----------
Top-level keys (unknown keys are errors, named with the closest valid key):

=============  ==============================================================  =======
key            value                                                           default
=============  ==============================================================  =======
``base``       a run configuration: a table (``[base.run]``, ``[base.model]``  --
               ...) or a file name relative to the folder of the sweep file
``grid``       table dotted key -> list of values (Cartesian product, first    --
               key slowest)
``random``     table dotted key -> ``{uniform = [lo, hi]}``,                   --
               ``{loguniform = [lo, hi]}`` or ``{choice = [...]}``
``n_samples``  int >= 1: points drawn with ``random`` (required with it)       --
``points``     list of tables dotted key -> value                              --
``seeds``      int >= 1: replicates of every point                             1
``seed``       int >= 0: the sweep seed                                        0
``metrics``    list of names: the final-step metrics kept per cell             all
``tables``     list of table names of each cell's run kept in full             none
=============  ==============================================================  =======

Exactly one of ``grid``, ``random`` and ``points`` is required. Dotted keys may be
written quoted (``"model.impact.alpha" = [0.5, 1.0]``) or as TOML dotted keys
(``model.impact.alpha = [0.5, 1.0]``, which TOML reads as nested tables); both mean
the same key. A key must exist in the run-configuration schema: every point's
configuration is validated as ``simnet simulate`` would validate it, before anything
runs. ``run.seed`` cannot be swept (the cell seeds below replace it). The last part
of a key may index a list of the base configuration: ``"model.eta_phi[3]"`` sets one
entry and ``"model.eta_phi[0:3]"`` entries 0 to 2 (one value for all), so the leaf
and shared rates of a per-depth parameter sweep as two keys
(:func:`~simnet.sweeps.cells.apply_overrides`).

Seeds
-----
Cells are numbered point-major, seed-minor: cell ``c = point * seeds + seed_index``.
Cell ``c`` runs with ``numpy.random.SeedSequence(entropy=seed, spawn_key=(c,))``, so
its result depends on the sweep seed and its number only -- not on the backend, the
order of execution or the number of workers. The ``random`` points are drawn from
``SeedSequence(entropy=seed, spawn_key=(POINTS_SPAWN_KEY,))``, a stream no cell uses
(key by key, in the order written). A base configuration's ``run.seed`` is ignored.

Examples
--------
>>> spec = sweep_from_mapping(
...     {
...         "base": {
...             "run": {"steps": 20, "record": {"at": [20]}, "observe": ["loss"]},
...             "model": {
...                 "kind": "lesde",
...                 "n_per_class": 5,
...                 "impact": {"kind": "two_parameter", "n_classes": 3,
...                            "alpha": 1.0, "beta": 0.0},
...             },
...         },
...         "grid": {"model": {"impact": {"alpha": [0.5, 1.0], "beta": [0.0]}}},
...         "seeds": 2,
...     }
... )
>>> spec.keys, spec.n_points, spec.n_cells
(('model.impact.alpha', 'model.impact.beta'), 2, 4)
>>> [(c.index, c.point_index, c.seed_index) for c in spec.cells()][:3]
[(0, 0, 0), (1, 0, 1), (2, 1, 0)]
>>> spec.cells()[3].seed_sequence.spawn_key
(3,)
>>> sweep_from_mapping({"points": [{"a": 1}], "sedds": 2})
Traceback (most recent call last):
...
simnet.errors.ConfigError: unknown config key 'sedds' (did you mean 'seeds'?)
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import (
    RunConfig,
    _check_keys,
    _float,
    _int,
    _list,
    _read_toml,
    _show,
    config_from_mapping,
)
from ..errors import ConfigError
from .cells import Cell, apply_overrides

__all__ = [
    "POINTS_SPAWN_KEY",
    "Choice",
    "LogUniform",
    "SweepSpec",
    "Uniform",
    "load_sweep",
    "sweep_from_mapping",
]

#: Spawn key of the stream the ``random`` points are drawn from ("pnts").
POINTS_SPAWN_KEY = 0x706E7473

_SWEEP_KEYS = (
    "base",
    "grid",
    "random",
    "n_samples",
    "points",
    "seeds",
    "seed",
    "metrics",
    "tables",
)
_SOURCES = ("grid", "random", "points")
_DISTRIBUTIONS = ("uniform", "loguniform", "choice")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


# ---------------------------------------------------------------------- distributions
@dataclass(frozen=True)
class Uniform:
    """Floats drawn uniformly from ``[low, high)``.

    Parameters
    ----------
    low, high : float
        Bounds, ``low <= high``.
    """

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> list[float]:
        """Draw ``n`` values from ``rng``."""
        return [float(v) for v in rng.uniform(self.low, self.high, size=n)]

    def to_toml(self) -> dict[str, Any]:
        """The TOML table of this distribution."""
        return {"uniform": [self.low, self.high]}


@dataclass(frozen=True)
class LogUniform:
    """Floats whose logarithm is uniform on ``[log low, log high)``.

    Parameters
    ----------
    low, high : float
        Bounds, ``0 < low <= high``.
    """

    low: float
    high: float

    def sample(self, rng: np.random.Generator, n: int) -> list[float]:
        """Draw ``n`` values from ``rng``."""
        logs = rng.uniform(math.log(self.low), math.log(self.high), size=n)
        return [float(v) for v in np.exp(logs)]

    def to_toml(self) -> dict[str, Any]:
        """The TOML table of this distribution."""
        return {"loguniform": [self.low, self.high]}


@dataclass(frozen=True)
class Choice:
    """Values drawn uniformly, with replacement, from a list.

    Parameters
    ----------
    values : sequence
        The candidates (any TOML values).
    """

    values: tuple[Any, ...]

    def sample(self, rng: np.random.Generator, n: int) -> list[Any]:
        """Draw ``n`` values from ``rng``."""
        return [self.values[int(i)] for i in rng.integers(len(self.values), size=n)]

    def to_toml(self) -> dict[str, Any]:
        """The TOML table of this distribution."""
        return {"choice": list(self.values)}


Distribution = Uniform | LogUniform | Choice


def _distribution(value: Any, key: str) -> Distribution:
    if isinstance(value, Uniform | LogUniform | Choice):
        value = value.to_toml()
    (kind,) = value
    item = value[kind]
    if kind == "choice":
        items = _list(item, f"{key}.choice", "a non-empty list of values")
        if not items:
            raise ConfigError(f"config key '{key}.choice' must be a non-empty list")
        return Choice(tuple(items))
    bounds = _list(item, f"{key}.{kind}", "a list [low, high] of two floats")
    if len(bounds) != 2:
        raise ConfigError(
            f"config key '{key}.{kind}' must be a list [low, high] of two floats; "
            f"got {_show(bounds)}"
        )
    floor = 0.0 if kind == "loguniform" else None
    closed = "right" if kind == "loguniform" else "both"
    low = _float(bounds[0], f"{key}.{kind}[0]", low=floor, closed=closed)
    high = _float(bounds[1], f"{key}.{kind}[1]", low=low)
    return Uniform(low, high) if kind == "uniform" else LogUniform(low, high)


def _is_distribution(value: Any) -> bool:
    if isinstance(value, Uniform | LogUniform | Choice):
        return True
    return (
        isinstance(value, Mapping)
        and len(value) == 1
        and next(iter(value)) in _DISTRIBUTIONS
    )


# ---------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class SweepSpec:
    """What a sweep runs: a base configuration, its points and their seeds.

    Parameters
    ----------
    base : mapping, str or os.PathLike, optional
        A run configuration as :func:`simnet.config.config_from_mapping` reads it
        (the parsed TOML), or its TOML file (relative to ``base_dir``). Required
        unless the sweep runs a Python callable (:func:`simnet.sweeps.run_sweep`
        with ``fn``). A relative ``hierarchy.file`` is resolved against the folder
        of the base file, else ``base_dir``; the spec holds it as an absolute path.
    grid : mapping of str to list, optional
        Dotted key -> values; the points are their Cartesian product (first key
        slowest).
    random : mapping of str to distribution, optional
        Dotted key -> :class:`Uniform`, :class:`LogUniform`, :class:`Choice` or its
        TOML table; ``n_samples`` points are drawn.
    n_samples : int, optional
        Number of ``random`` points (required with ``random`` only).
    points : sequence of mapping, optional
        Explicit points (dotted key -> value), all with the same keys.
    seeds : int, default 1
        Replicates of every point.
    seed : int, default 0
        The sweep seed (see `Seeds`_ in the module docstring).
    metrics : sequence of str, optional
        Final-step metrics kept per cell (default: every one recorded).
    tables : sequence of str, default ()
        Tables of each cell's run kept in full (e.g. ``["elasticity_curve"]``).
    base_dir : str or os.PathLike, optional
        Folder of the sweep file (default: the current folder).

    Raises
    ------
    ConfigError
        On an unknown key, a value of the wrong type, a swept key the run
        configuration does not have, or a point whose configuration ``simnet
        simulate`` would reject; the message names the dotted key.
    """

    base: Mapping[str, Any] | str | os.PathLike | None = None
    grid: Mapping[str, Sequence[Any]] | None = None
    random: Mapping[str, Any] | None = None
    n_samples: int | None = None
    points: Sequence[Mapping[str, Any]] | None = None
    seeds: int = 1
    seed: int = 0
    metrics: Sequence[str] | None = None
    tables: Sequence[str] = ()
    base_dir: str | os.PathLike | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        given = [name for name in _SOURCES if getattr(self, name) is not None]
        if len(given) != 1:
            found = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
            raise ConfigError(
                "a sweep needs exactly one of 'grid', 'random' and 'points'; " + found
            )
        set_ = _setter(self)
        set_("seeds", _int(self.seeds, "seeds", low=1))
        set_("seed", _int(self.seed, "seed", low=0))
        if self.metrics is not None:
            set_("metrics", _names(self.metrics, "metrics"))
        set_("tables", _names(self.tables, "tables"))
        if self.grid is not None:
            grid = _flatten(self.grid, "grid", _is_grid_leaf)
            for key, values in grid.items():
                items = _list(values, f"grid.{key}", "a non-empty list of values")
                if not items:
                    raise ConfigError(f"config key 'grid.{key}' must not be empty")
            set_("grid", {k: list(v) for k, v in grid.items()})
            keys = tuple(grid)
        elif self.random is not None:
            flat = _flatten(self.random, "random", _is_distribution)
            set_(
                "random", {k: _distribution(v, f"random.{k}") for k, v in flat.items()}
            )
            if self.n_samples is None:
                raise ConfigError(
                    "config key 'n_samples' is required with 'random' (an int >= 1)"
                )
            keys = tuple(flat)
        else:
            points = _list(self.points, "points", "a non-empty list of tables")
            if not points:
                raise ConfigError("config key 'points' must be a non-empty list")
            flats = [
                _flatten(p, f"points[{i}]", lambda v: not isinstance(v, Mapping))
                for i, p in enumerate(points)
            ]
            keys = tuple(flats[0])
            for i, flat in enumerate(flats):
                if set(flat) != set(keys):
                    raise ConfigError(
                        f"config key 'points[{i}]' must set the keys of points[0], "
                        f"{', '.join(keys) or 'none'}; got {', '.join(flat) or 'none'}"
                    )
            set_("points", [{k: flat[k] for k in keys} for flat in flats])
        if self.random is None and self.n_samples is not None:
            raise ConfigError("config key 'n_samples' applies to 'random' only")
        if self.n_samples is not None:
            set_("n_samples", _int(self.n_samples, "n_samples", low=1))
        _check_swept_keys(keys, given[0])
        set_("_keys", keys)
        set_("_points", self._enumerate_points())
        if self.base is not None:
            base_dir = Path.cwd() if self.base_dir is None else Path(self.base_dir)
            base = self.base
            if isinstance(base, str | os.PathLike):
                path = Path(base).expanduser()
                path = path if path.is_absolute() else base_dir / path
                try:
                    base = _read_toml(path)
                except ConfigError as exc:
                    raise ConfigError(f"config key 'base': {exc}") from None
                base_dir = path.parent
            if not isinstance(base, Mapping):
                raise ConfigError(
                    f"config key 'base' must be a table or a file name; got "
                    f"{_show(base)}"
                )
            set_("base", _absolute_hierarchy_file(base, base_dir))
            self._validate_points()

    # ------------------------------------------------------------------ cells
    @property
    def keys(self) -> tuple[str, ...]:
        """The swept dotted keys, in order."""
        return self._keys  # type: ignore[attr-defined]

    @property
    def n_points(self) -> int:
        """Number of points."""
        return len(self._points)  # type: ignore[attr-defined]

    @property
    def n_cells(self) -> int:
        """Number of cells, ``n_points * seeds``."""
        return self.n_points * self.seeds

    def point_list(self) -> list[dict[str, Any]]:
        """The points (dotted key -> value), in order.

        Returns
        -------
        list of dict
            Copies; changing them does not change the spec.
        """
        return [dict(p) for p in self._points]  # type: ignore[attr-defined]

    def cells(self) -> list[Cell]:
        """Every cell, point-major and seed-minor.

        Returns
        -------
        list of Cell
            Cell ``c`` has point ``c // seeds``, replicate ``c % seeds`` and the
            seed ``SeedSequence(entropy=self.seed, spawn_key=(c,))``.
        """
        out = []
        for p, point in enumerate(self._points):  # type: ignore[attr-defined]
            for s in range(self.seeds):
                index = p * self.seeds + s
                out.append(Cell(index, p, s, dict(point), self.seed))
        return out

    def cell_config(self, params: Mapping[str, Any]) -> RunConfig:
        """The validated run configuration of a point.

        Parameters
        ----------
        params : mapping of str to value
            Dotted key -> value, e.g. ``spec.point_list()[0]``.

        Returns
        -------
        RunConfig

        Raises
        ------
        ConfigError
            If the spec has no base configuration or the point's configuration is
            invalid.
        """
        if self.base is None:
            raise ConfigError(
                "this sweep has no 'base' run configuration (it runs a Python callable)"
            )
        return config_from_mapping(apply_overrides(self.base, params))

    # ------------------------------------------------------------------ TOML
    def to_mapping(self) -> dict[str, Any]:
        """The resolved spec as a TOML-ready mapping (the base inlined).

        Returns
        -------
        dict
            Readable back by :func:`sweep_from_mapping`.
        """
        out: dict[str, Any] = {"seeds": self.seeds, "seed": self.seed}
        if self.n_samples is not None:
            out["n_samples"] = self.n_samples
        if self.metrics is not None:
            out["metrics"] = list(self.metrics)
        if self.tables:
            out["tables"] = list(self.tables)
        if self.grid is not None:
            out["grid"] = {k: list(v) for k, v in self.grid.items()}
        elif self.random is not None:
            out["random"] = {k: d.to_toml() for k, d in self.random.items()}
        else:
            out["points"] = [dict(p) for p in self.points or ()]
        if self.base is not None:
            out["base"] = _plain(self.base)
        return out

    def to_toml(self) -> str:
        """The resolved spec as TOML text (:func:`load_sweep` reads it back)."""
        return dumps_toml(self.to_mapping())

    # ------------------------------------------------------------------ helpers
    def _enumerate_points(self) -> list[dict[str, Any]]:
        if self.grid is not None:
            keys = list(self.grid)
            return [
                dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*(self.grid[k] for k in keys))
            ]
        if self.random is not None:
            assert self.n_samples is not None
            rng = np.random.default_rng(
                np.random.SeedSequence(self.seed, spawn_key=(POINTS_SPAWN_KEY,))
            )
            drawn = {k: d.sample(rng, self.n_samples) for k, d in self.random.items()}
            return [
                {k: drawn[k][j] for k in self.random} for j in range(self.n_samples)
            ]
        return [dict(p) for p in self.points or ()]

    def _validate_points(self) -> None:
        for i, point in enumerate(self._points):  # type: ignore[attr-defined]
            try:
                self.cell_config(point)
            except ConfigError as exc:
                shown = ", ".join(f"{k} = {_show(v)}" for k, v in point.items())
                raise ConfigError(f"sweep point {i} ({shown}): {exc}") from exc


def _setter(obj: Any) -> Any:
    """``set_(name, value)`` for a frozen dataclass being normalised."""

    def set_(name: str, value: Any) -> None:
        object.__setattr__(obj, name, value)

    return set_


# ---------------------------------------------------------------------- loading
def load_sweep(path: str | os.PathLike) -> SweepSpec:
    """Read and validate a TOML sweep file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.toml`` file; ``base = "run.toml"`` in it is relative to its folder.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        If the file (or the base configuration it names) cannot be read, is not
        valid TOML, or breaks the schema; the message is prefixed with the file
        name and names the dotted key.
    """
    path = Path(path)
    data = _read_toml(path)
    try:
        return sweep_from_mapping(data, base_dir=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def sweep_from_mapping(
    data: Mapping[str, Any], *, base_dir: str | os.PathLike | None = None
) -> SweepSpec:
    """Validate a parsed sweep file (the mapping ``tomllib`` returns).

    Parameters
    ----------
    data : mapping
        The keys of the module docstring's table. It is not modified.
    base_dir : str or os.PathLike, optional
        Folder against which ``base = "file.toml"`` (and a relative hierarchy file
        of the base) is resolved (default: the current folder).

    Returns
    -------
    SweepSpec

    Raises
    ------
    ConfigError
        As :class:`SweepSpec`.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"the sweep must be a table; got {_show(data)}")
    _check_keys(data, _SWEEP_KEYS, "")
    kwargs = {k: data[k] for k in _SWEEP_KEYS if k in data}
    return SweepSpec(base_dir=base_dir, **kwargs)


# ---------------------------------------------------------------------- helpers
def _names(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    items = _list(list(value) if isinstance(value, tuple) else value, key, "a list")
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item:
            raise ConfigError(
                f"config key '{key}[{i}]' must be a non-empty string; got {_show(item)}"
            )
    return tuple(items)


def _is_grid_leaf(value: Any) -> bool:
    return not isinstance(value, Mapping)


def _flatten(value: Any, where: str, is_leaf: Any) -> dict[str, Any]:
    """Nested tables -> dotted keys; ``is_leaf`` says where a value starts."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"config key '{where}' must be a table; got {_show(value)}")
    out: dict[str, Any] = {}

    def walk(table: Mapping[str, Any], prefix: str) -> None:
        if not table:
            raise ConfigError(f"config key '{where}{prefix}' must not be empty")
        for key, item in table.items():
            dotted = f"{prefix[1:]}.{key}" if prefix else str(key)
            if is_leaf(item):
                if dotted in out:
                    raise ConfigError(
                        f"config key '{where}.{dotted}' is given twice (as a dotted "
                        "and as a nested key)"
                    )
                out[dotted] = item
            else:
                walk(item, f".{dotted}")

    walk(value, "")
    return out


def _check_swept_keys(keys: Sequence[str], source: str) -> None:
    for key in keys:
        if key == "run.seed":
            raise ConfigError(
                f"config key '{source}.run.seed' cannot be swept: cell c runs with "
                "SeedSequence(entropy=seed, spawn_key=(c,)); use 'seeds' for "
                "replicates and 'seed' for the sweep seed"
            )
        parts = key.split(".")
        if any(not p for p in parts):
            raise ConfigError(f"config key '{source}.{key}' is not a dotted key")
        for other in keys:
            if other != key and other.startswith(key + "."):
                raise ConfigError(
                    f"config keys '{source}.{key}' and '{source}.{other}' overlap: "
                    "sweep one or the other"
                )


def _absolute_hierarchy_file(base: Mapping[str, Any], folder: Path) -> dict[str, Any]:
    """A copy of ``base`` with a relative ``hierarchy.file`` made absolute, so the
    resolved spec can be read from any folder."""
    out = dict(base)
    hierarchy = out.get("hierarchy")
    if isinstance(hierarchy, Mapping) and isinstance(hierarchy.get("file"), str):
        path = Path(hierarchy["file"]).expanduser()
        if not path.is_absolute():
            out["hierarchy"] = {**hierarchy, "file": str((folder / path).resolve())}
    return out


def _plain(value: Any) -> Any:
    """Nested mappings and sequences as dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---------------------------------------------------------------------- TOML writer
def dumps_toml(data: Mapping[str, Any]) -> str:
    """Render a mapping of TOML values as TOML text.

    Parameters
    ----------
    data : mapping
        Strings, bools, ints, floats, lists and nested mappings.

    Returns
    -------
    str
        Plain values first, then one ``[table]`` per nested mapping; mappings
        inside lists are written as inline tables. ``tomllib.loads`` returns
        ``data`` again.

    Examples
    --------
    >>> print(dumps_toml({"a": 1, "b": {"c": [0.5, "x"], "d": {"e": True}}}))
    a = 1
    <BLANKLINE>
    [b]
    c = [0.5, "x"]
    <BLANKLINE>
    [b.d]
    e = true
    <BLANKLINE>
    """
    lines: list[str] = []
    _write_table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _write_table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append("[" + ".".join(_toml_key(p) for p in path) + "]")
    for key, value in scalars.items():
        lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value in tables.items():
        _write_table(value, [*path, str(key)], lines)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key)


def _toml_value(value: Any) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        inner = ", ".join(
            f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list | tuple | np.ndarray):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {_show(value)} as a TOML value")
