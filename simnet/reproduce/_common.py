"""Shared pieces of the reproductions: output files, BLAS threads, run records."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import SimnetError
from ..io import atomic_write, atomic_write_text
from ..results import package_versions

__all__ = [
    "NO_FIGURES",
    "NO_NUMBER",
    "as_builtin",
    "blas_single_thread",
    "figure_or_none",
    "has_matplotlib",
    "paper_table",
    "require_extra",
    "run_recorded",
    "save_figure",
    "write_csv",
    "write_run_record",
    "write_summary",
]

#: What a summary says in the paper column when the dossier has no number.
NO_NUMBER = "the dossier gives no number"

#: The line a summary carries when no figure could be drawn.
NO_FIGURES = "No figures: matplotlib is not installed (pip install 'simnet[plot]')."


def blas_single_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread while the block runs (when threadpoolctl is installed).

    The networks here are small; OpenBLAS threads competing for a shared machine's
    cores slow small products down by orders of magnitude.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write a table atomically (6 significant digits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: frame.to_csv(p, index=False, float_format="%.6g"))
    return path


def write_summary(path: Path, text: str) -> Path:
    """Write ``summary.md`` (or any text) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, text.rstrip() + "\n")
    return path


def figure_or_none(**kwargs: Any) -> Any:
    """A matplotlib ``Figure`` (no pyplot state), or None without matplotlib."""
    if not has_matplotlib():
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    kwargs.setdefault("layout", "constrained")
    return Figure(**kwargs)


def save_figure(fig: Any, path: Path, *, dpi: int = 110) -> Path | None:
    """Save a figure atomically as PNG; None if ``fig`` is None."""
    if fig is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
    return path


def write_run_record(
    out: Path,
    *,
    name: str,
    quick: bool,
    seed: int,
    started: float,
    headline: Mapping[str, Any],
    to_json: Callable[[Any], Any] | None = None,
) -> Path:
    """Write ``run.json``: the name, mode, seed, wall time, headline numbers and
    package versions, beside the tables."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if hasattr(value, "item"):
            return value.item()
        return value if to_json is None else to_json(value)

    record = {
        "name": name,
        "mode": "quick" if quick else "full",
        "seed": seed,
        "seconds": round(time.perf_counter() - started, 3),
        "headline": plain(headline),
        "versions": package_versions(),
    }
    path = out / "run.json"
    atomic_write_text(path, json.dumps(record, indent=2, default=str) + "\n")
    return path


def has_matplotlib() -> bool:
    """Whether matplotlib can be imported (figures are drawn only then)."""
    return importlib.util.find_spec("matplotlib") is not None


def require_extra(module: str, extra: str, *, needed_for: str) -> None:
    """Fail early, in one line, when an optional dependency is missing.

    Parameters
    ----------
    module : str
        The top-level module to look for, e.g. ``"sklearn"``.
    extra : str
        The simnet extra that installs it, e.g. ``"digits"``.
    needed_for : str
        What needs it (goes into the message).

    Raises
    ------
    SimnetError
        If ``module`` cannot be imported; the message names the extra.
    """
    if importlib.util.find_spec(module) is None:
        raise SimnetError(
            f"{needed_for} needs {module}, which is missing; install it with: "
            f"pip install 'simnet[{extra}]'"
        )


def as_builtin(value: Any) -> Any:
    """``value`` with numpy arrays and scalars turned into lists and Python numbers
    (nested mappings and sequences included), ready for JSON."""
    if isinstance(value, Mapping):
        return {str(k): as_builtin(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [as_builtin(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def paper_table(rows: Sequence[tuple[str, str, str, str]]) -> str:
    """The Markdown table "quantity | measured | paper | where they differ and why".

    Every reproduction's ``summary.md`` carries one, so the measured figure stands
    next to the paper's (:data:`NO_NUMBER` where the reference dossier has none).
    Pipes inside a cell are escaped.
    """
    lines = [
        "| quantity | measured here | paper (reference dossier) | difference and why |",
        "|---|---|---|---|",
    ]
    for row in rows:
        cells = (" ".join(str(c).split()).replace("|", "\\|") for c in row)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_recorded(
    name: str,
    out: Path | str,
    quick: bool,
    seed: int,
    body: Callable[[Path, bool, int], dict[str, Any]],
) -> dict[str, Any]:
    """Run ``body(out, quick, seed)`` with one BLAS thread, add its wall time as
    ``results["seconds"]`` and write ``run.json`` with ``results["headline"]``."""
    started = time.perf_counter()
    out = Path(out)
    quick = bool(quick)
    with blas_single_thread():
        results = body(out, quick, seed)
    results["seconds"] = time.perf_counter() - started
    write_run_record(
        out,
        name=name,
        quick=quick,
        seed=seed,
        started=started,
        headline=results["headline"],
    )
    return results
