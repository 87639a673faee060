"""Phase diagrams from a sweep: statistics over seeds on a plane of two swept keys.

:func:`phase_table` reduces the finished cells of a sweep to one row per (x, y,
quantity) with the mean, standard deviation and count over seeds, e.g. the
probability of separability (the mean of ``separable``) and NC1 over (alpha, beta);
:func:`plot_phase` draws the means as heatmaps (matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, SimnetError
from .cells import RESERVED_COLUMNS
from .store import SweepResult

__all__ = ["phase_table", "plot_phase", "resolve_key"]


def resolve_key(name: str, keys: Sequence[str]) -> str:
    """The swept key called ``name``: itself, or the only key ending in ``.name``.

    Raises
    ------
    ConfigError
        If no swept key, or several, match.

    Examples
    --------
    >>> resolve_key("alpha", ("model.impact.alpha", "model.impact.beta"))
    'model.impact.alpha'
    """
    if name in keys:
        return name
    matches = [k for k in keys if k.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    what = "several swept keys" if matches else "no swept key"
    raise ConfigError(
        f"{what} match {name!r}; the swept keys are {', '.join(keys) or 'none'}"
    )


def phase_table(
    result: SweepResult,
    x: str,
    y: str,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mean, standard deviation and count over seeds on the (x, y) plane.

    Parameters
    ----------
    result : SweepResult
    x, y : str
        Two swept keys (a unique last component such as ``"alpha"`` suffices).
    columns : sequence of str, optional
        Result columns to aggregate (default: every numeric result column).

    Returns
    -------
    DataFrame
        Tidy: the swept keys (``x``, ``y`` first, then any other swept key),
        ``quantity``, ``mean``, ``std`` (sample standard deviation, NaN for one
        run), ``count`` (finished cells with a value) and ``n_failed`` (failed
        cells at that point). Rows sorted by the keys, then quantity.

    Raises
    ------
    ConfigError
        If ``x`` or ``y`` is not a swept key, they are equal, or a column is not a
        numeric result column.

    Examples
    --------
    >>> from simnet.sweeps import run_sweep
    >>> points = [{"a": a, "b": b} for a in (0.0, 1.0) for b in (0.0, 1.0)]
    >>> res = run_sweep(points, lambda p, s: {"s": float(p["a"] > p["b"])}, seeds=2)
    >>> phase_table(res, "a", "b")[["a", "b", "quantity", "mean", "count"]]
         a    b quantity  mean  count
    0  0.0  0.0        s   0.0      2
    1  0.0  1.0        s   0.0      2
    2  1.0  0.0        s   1.0      2
    3  1.0  1.0        s   0.0      2
    """
    keys = list(result.keys)
    xk, yk = resolve_key(x, keys), resolve_key(y, keys)
    if xk == yk:
        raise ConfigError(f"a phase diagram needs two different keys; got {xk!r} twice")
    group = [xk, yk, *(k for k in keys if k not in (xk, yk))]
    table = result.table
    results = [
        c
        for c in table.columns
        if c not in keys
        and c not in RESERVED_COLUMNS
        and pd.api.types.is_numeric_dtype(table[c])
    ]
    if columns is None:
        chosen = results
    else:
        chosen = list(columns)
        for column in chosen:
            if column not in results:
                raise ConfigError(
                    f"{column!r} is not a numeric result column of this sweep; "
                    f"they are {', '.join(results) or 'none'}"
                )
    done = table[table["status"] == "done"]
    failed = (
        table[table["status"] == "failed"]
        .drop_duplicates("cell")
        .groupby(group, dropna=False)
        .size()
        .rename("n_failed")
    )
    points = table.drop_duplicates(group)[group]
    frames = []
    for column in chosen:
        values = done[group].assign(value=done[column].astype(np.float64))
        stats = (
            values.groupby(group, dropna=False)["value"]
            .agg(["mean", "std", "count"])
            .reset_index()
        )
        stats = points.merge(stats, on=group, how="left")
        stats["count"] = stats["count"].fillna(0).astype(np.int64)
        stats.insert(len(group), "quantity", column)
        frames.append(stats)
    if not frames:
        return pd.DataFrame(
            columns=[*group, "quantity", "mean", "std", "count", "n_failed"]
        )
    out = pd.concat(frames, ignore_index=True)
    out = out.merge(failed.reset_index(), on=group, how="left")
    out["n_failed"] = out["n_failed"].fillna(0).astype(np.int64)
    order = {c: i for i, c in enumerate(chosen)}
    out = out.sort_values(
        [*group, "quantity"],
        key=lambda s: s.map(order) if s.name == "quantity" else s,
        kind="stable",
    )
    return out.reset_index(drop=True)


def plot_phase(
    phase: pd.DataFrame,
    path: str | os.PathLike,
    *,
    quantities: Sequence[str] | None = None,
) -> Path:
    """Draw the means of a :func:`phase_table` as heatmaps, one panel per quantity.

    Parameters
    ----------
    phase : DataFrame
        Output of :func:`phase_table`; its first two columns are x and y.
    path : str or os.PathLike
        The PNG file to write.
    quantities : sequence of str, optional
        Quantities to draw (default: all in the table).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SimnetError
        If matplotlib is not installed (the ``plot`` extra).
    ConfigError
        If a quantity is not in the table, or other swept keys take several values
        (filter the table to one value of them first).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SimnetError(
            "phase-diagram plots need matplotlib: pip install 'simnet[plot]'"
        ) from None
    xk, yk = phase.columns[0], phase.columns[1]
    others = list(phase.columns[2 : list(phase.columns).index("quantity")])
    for key in others:
        if phase[key].nunique(dropna=False) > 1:
            raise ConfigError(
                f"the phase table has several values of the swept key {key!r}; "
                "filter it to one before plotting"
            )
    available = list(dict.fromkeys(phase["quantity"]))
    chosen = available if quantities is None else list(quantities)
    for q in chosen:
        if q not in available:
            raise ConfigError(
                f"no quantity {q!r} in the phase table; it has {', '.join(available)}"
            )
    xs = sorted(phase[xk].unique(), key=_sort_key)
    ys = sorted(phase[yk].unique(), key=_sort_key)
    n = max(len(chosen), 1)
    ncols = min(3, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.6 * nrows), squeeze=False
    )
    try:
        for ax, q in zip(axes.flat, chosen, strict=False):
            sub = phase[phase["quantity"] == q]
            grid = np.full((len(ys), len(xs)), np.nan)
            xi = {v: i for i, v in enumerate(xs)}
            yi = {v: i for i, v in enumerate(ys)}
            for xv, yv, mean in zip(sub[xk], sub[yk], sub["mean"], strict=True):
                grid[yi[yv], xi[xv]] = mean
            image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
            fig.colorbar(image, ax=ax)
            ax.set_xticks(range(len(xs)), [_label(v) for v in xs], rotation=45)
            ax.set_yticks(range(len(ys)), [_label(v) for v in ys])
            ax.set_xlabel(str(xk))
            ax.set_ylabel(str(yk))
            ax.set_title(f"mean {q}")
        for ax in list(axes.flat)[len(chosen) :]:
            ax.set_visible(False)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        from ..io import atomic_write

        atomic_write(out, lambda p: fig.savefig(p, format="png", dpi=100))
    finally:
        plt.close(fig)
    return out


def _sort_key(value: object) -> tuple[int, object]:
    if isinstance(value, int | float | np.number):
        return (0, float(value))
    return (1, str(value))


def _label(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float | np.floating) else str(value)
