"""What one cell of a sweep computes, and how its outcome is recorded.

A cell is one point of a sweep with one replicate seed. It is evaluated by a
callable ``fn(params, seed)``: ``params`` maps the swept dotted keys to this point's
values and ``seed`` is the cell's :class:`numpy.random.SeedSequence`. ``fn`` returns

* a mapping of result names to scalars (one row of the sweep table),
* a :class:`pandas.DataFrame` (several rows, e.g. a curve), or
* a :class:`CellOutput` (rows plus whole tables to keep).

The default ``fn``, :class:`SimulateCell`, builds the cell's run configuration from
the sweep's base configuration, simulates it and returns the metrics at the final
recorded step. :func:`run_cell` evaluates one cell and never raises for an error of
``fn``: the cell is then ``failed``, with the error's type and message.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..config import apply_overrides
from ..errors import DataError

__all__ = [
    "RESERVED_COLUMNS",
    "Cell",
    "CellFn",
    "CellOutput",
    "CellRecord",
    "SimulateCell",
    "apply_overrides",
    "run_cell",
]

#: Columns of the sweep table that results may not use.
RESERVED_COLUMNS = ("cell", "point", "seed_index", "status", "error_type", "error")

CellFn = Callable[[dict[str, Any], np.random.SeedSequence], Any]


@dataclass(frozen=True)
class Cell:
    """One point of a sweep with one replicate.

    Parameters
    ----------
    index : int
        Cell number ``point_index * seeds + seed_index``.
    point_index : int
        Number of the point.
    seed_index : int
        Number of the replicate.
    params : dict
        Dotted key -> value of the point.
    entropy : int
        The sweep seed.
    """

    index: int
    point_index: int
    seed_index: int
    params: dict[str, Any]
    entropy: int

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """``SeedSequence(entropy=entropy, spawn_key=(index,))``."""
        return np.random.SeedSequence(self.entropy, spawn_key=(self.index,))


@dataclass
class CellOutput:
    """What a cell function returns when it keeps whole tables.

    Parameters
    ----------
    rows : mapping or DataFrame
        The cell's rows of the sweep table.
    tables : dict of str to DataFrame
        Tables kept in full; the sweep adds the cell's columns to them.
    """

    rows: Mapping[str, Any] | pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class CellRecord:
    """The outcome of one cell.

    Parameters
    ----------
    index : int
        The cell number.
    status : {"done", "failed"}
    rows : DataFrame
        The result rows (no cell columns); empty when failed.
    tables : dict of str to DataFrame
        Kept tables (no cell columns).
    error_type, error : str or None
        Exception class name and message when failed.
    seconds : float
        Wall time of ``fn``.
    """

    index: int
    status: str
    rows: pd.DataFrame
    tables: dict[str, pd.DataFrame]
    error_type: str | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class SimulateCell:
    """The default cell function: simulate the cell's run configuration.

    Parameters
    ----------
    base : mapping
        The base run configuration (parsed TOML, as :class:`SweepSpec` holds it).
    metrics : sequence of str, optional
        Metrics kept (observable names of the ``metrics`` table, e.g. ``loss``,
        ``accuracy``, ``separable``, ``nc1``, ``etf_distance``,
        ``intra_inter_ratio``); default every one recorded.
    tables : sequence of str, default ()
        Tables of the run kept in full.

    Notes
    -----
    The configuration is ``base`` with the point's keys set, validated by
    :func:`simnet.config.config_from_mapping`, and simulated exactly as ``simnet
    simulate`` would (record schedule and observables included) but with the
    cell's seed instead of ``run.seed``. The row holds the value of every metric at
    the last recorded step; a metric named in ``metrics`` that the run did not
    record fails the cell.
    """

    base: Mapping[str, Any]
    metrics: Sequence[str] | None = None
    tables: Sequence[str] = ()

    def config(self, params: Mapping[str, Any]) -> Any:
        """The validated :class:`~simnet.config.RunConfig` of a point."""
        from ..config import config_from_mapping

        return config_from_mapping(apply_overrides(self.base, params))

    def __call__(
        self, params: dict[str, Any], seed: np.random.SeedSequence
    ) -> CellOutput:
        from ..simulate import simulate

        cfg = self.config(params)
        kwargs = {**cfg.run_kwargs(), "seed": seed}
        result = simulate(cfg.model, progress=False, **kwargs)
        return CellOutput(
            rows=final_metrics(result.tables.get("metrics"), self.metrics),
            tables={name: result.table(name) for name in self.tables},
        )

    def warm_up(self, points: Sequence[Mapping[str, Any]]) -> None:
        """Compile the kernels these points use, in this process.

        Runs each distinct model variant (model kind, integrator, noise, surrogate,
        ODE method, impact kind) for one step, so Numba's on-disk cache is written
        once, here, before worker processes read it. Errors are ignored: the cells
        report them.
        """
        from ..simulate import simulate

        seen = set()
        for params in points:
            data = apply_overrides(self.base, params)
            model = data.get("model", {})
            if not isinstance(model, Mapping):
                continue
            impact = model.get("impact", {})
            variant = (
                model.get("kind"),
                model.get("integrator"),
                model.get("noise"),
                model.get("surrogate"),
                model.get("ode_method"),
                impact.get("kind") if isinstance(impact, Mapping) else None,
            )
            if variant in seen or len(seen) >= 8:
                continue
            seen.add(variant)
            try:
                cfg = self.config({**params, "run.steps": 1, "run.record": {"at": [1]}})
                simulate(cfg.model, progress=False, **{**cfg.run_kwargs(), "seed": 0})
            except Exception:
                continue


def final_metrics(
    metrics: pd.DataFrame | None, keep: Sequence[str] | None = None
) -> dict[str, float]:
    """The value of every observable at the last recorded step.

    Parameters
    ----------
    metrics : DataFrame or None
        A ``metrics`` table (columns ``step``, ``observable``, ``value``).
    keep : sequence of str, optional
        The observables to return, in this order (default: all, in table order).

    Returns
    -------
    dict of str to float

    Raises
    ------
    DataError
        If an observable of ``keep`` was not recorded.
    """
    if metrics is None or metrics.empty:
        last: dict[str, float] = {}
    else:
        final = metrics[metrics["step"] == metrics["step"].max()]
        last = {
            str(name): float(value)
            for name, value in zip(final["observable"], final["value"], strict=True)
        }
    if keep is None:
        return last
    missing = [name for name in keep if name not in last]
    if missing:
        raise DataError(
            f"metric {missing[0]!r} was not recorded at the final step; recorded: "
            f"{', '.join(last) or 'none'} (check run.observe)"
        )
    return {name: last[name] for name in keep}


def run_cell(fn: CellFn, cell: Cell) -> CellRecord:
    """Evaluate one cell, turning an exception of ``fn`` into a failed record.

    Parameters
    ----------
    fn : callable
        ``fn(params, seed) -> mapping | DataFrame | CellOutput``.
    cell : Cell

    Returns
    -------
    CellRecord
        ``status = "done"`` with the rows and tables, or ``"failed"`` with the
        error type and message (``KeyboardInterrupt`` and ``SystemExit`` are not
        caught).
    """
    started = time.perf_counter()
    try:
        output = fn(dict(cell.params), cell.seed_sequence)
        rows, tables = _normalise(output)
    except Exception as exc:
        message = str(exc) or traceback.format_exception_only(exc)[-1].strip()
        return CellRecord(
            cell.index,
            "failed",
            pd.DataFrame(),
            {},
            error_type=type(exc).__name__,
            error=" ".join(message.split()),
            seconds=time.perf_counter() - started,
        )
    return CellRecord(
        cell.index, "done", rows, tables, seconds=time.perf_counter() - started
    )


def _normalise(output: Any) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    tables: dict[str, pd.DataFrame] = {}
    if isinstance(output, CellOutput):
        tables = {str(k): v for k, v in output.tables.items()}
        output = output.rows
    if isinstance(output, pd.DataFrame):
        rows = output.reset_index(drop=True)
    elif isinstance(output, Mapping):
        values = {str(k): _scalar(v, str(k)) for k, v in output.items()}
        rows = pd.DataFrame([values]) if values else pd.DataFrame(index=[0])
    else:
        raise DataError(
            "a cell function must return a dict, a DataFrame or a CellOutput; got "
            f"{type(output).__name__}"
        )
    for frame in (rows, *tables.values()):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"a kept table must be a DataFrame; got {type(frame).__name__}"
            )
        clash = [c for c in frame.columns if c in RESERVED_COLUMNS]
        if clash:
            raise DataError(
                f"a cell result has a column named {clash[0]!r}, which the sweep "
                f"table reserves ({', '.join(RESERVED_COLUMNS)})"
            )
    return rows, tables


def _scalar(value: Any, name: str) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple | Mapping | np.ndarray):
        return json.dumps(
            np.asarray(value).tolist() if isinstance(value, np.ndarray) else value
        )
    raise DataError(
        f"result {name!r} of a cell must be a number, a string or a list; got "
        f"{type(value).__name__}"
    )
