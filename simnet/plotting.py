"""Matplotlib figures of a run: elasticity curves, impact matrix, metrics, similarity.

Every function takes a :class:`~simnet.results.RunResult` (or the one table it
draws, as a pandas DataFrame) and returns a :class:`matplotlib.figure.Figure`;
:func:`plot_run` writes every figure that applies to a run as PNG files.

Matplotlib is an optional dependency (``pip install 'simnet[plot]'``). It is imported
only when a function here is called; on a Linux machine without a display the
non-interactive ``Agg`` backend is selected, unless a backend was chosen already
(``MPLBACKEND`` or an earlier import of ``matplotlib.pyplot``).

Examples
--------
>>> import simnet
>>> from simnet.plotting import plot_elasticity_curves
>>> model = simnet.HFSModel(simnet.Hierarchy.preset("cifar10"), n_per_class=5)
>>> result = simnet.simulate(model, steps=50, record=25, seed=0, observe=["impact"])
>>> fig = plot_elasticity_curves(result)
>>> len(fig.axes)
1
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import ConfigError, DataError
from .io import atomic_write
from .results import RunResult

if TYPE_CHECKING:  # pragma: no cover - typing only
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "plot_elasticity_curves",
    "plot_impact_matrix",
    "plot_metrics",
    "plot_run",
    "plot_similarity",
]

_MISSING_MATPLOTLIB = "plotting needs matplotlib: pip install 'simnet[plot]'"

_TIME_CMAP = "viridis"

# Columns each drawn table must have.
_COLUMNS = {
    "elasticity_curve": ("step", "time", "lca_depth", "same_class", "mean_impact"),
    "impact": ("step", "class_a", "class_b", "value"),
    "metrics": ("step", "observable", "value"),
    "similarity": ("step", "class_i", "class_j", "lca_depth", "s_rel", "s_ker"),
}

# Panels of plot_metrics, in order: (title, observables drawn together, y scale).
# Observables of the metrics table not listed here get a linear panel of their own.
_METRIC_PANELS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("training loss", ("loss",), "log"),
    ("accuracy", ("accuracy",), "linear"),
    ("margin", ("margin_mean", "margin_min"), "linear"),
    ("linearly separable", ("separable",), "linear"),
    (r"NC1  $\mathrm{tr}(\Sigma_W \Sigma_B^+)/K$", ("nc1",), "log"),
    ("equinorm", ("equinorm",), "linear"),
    ("equiangularity", ("equiangularity",), "linear"),
    ("angle deviation", ("angle_deviation",), "linear"),
    ("distance to simplex ETF", ("etf_distance",), "linear"),
    ("intra / inter impact ratio", ("intra_inter_ratio",), "linear"),
)

_METRIC_LABELS = {"margin_mean": "mean", "margin_min": "minimum"}


# --------------------------------------------------------------------------------------
# matplotlib and input helpers
# --------------------------------------------------------------------------------------


def _pyplot() -> Any:
    """Import and return ``matplotlib.pyplot``, choosing Agg when there is no display.

    Raises
    ------
    ConfigError
        If matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:
        raise ConfigError(_MISSING_MATPLOTLIB) from None
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if (
        headless
        and "matplotlib.pyplot" not in sys.modules
        and "MPLBACKEND" not in os.environ
    ):
        matplotlib.use("Agg")
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(_MISSING_MATPLOTLIB) from None
    return plt


def _table(data: RunResult | pd.DataFrame, name: str, owner: str) -> pd.DataFrame:
    """The table ``name`` of a result, or ``data`` itself, checked for columns/rows."""
    if isinstance(data, RunResult):
        frame = data.table(name)
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise ConfigError(
            f"The 'result' parameter of {owner} must be a RunResult or a pandas "
            f"DataFrame (the {name!r} table). Got {type(data).__name__} instead."
        )
    missing = [c for c in _COLUMNS[name] if c not in frame.columns]
    if missing:
        raise DataError(
            f"The {name!r} table given to {owner} lacks the columns {missing}; it has "
            f"{list(frame.columns)}."
        )
    if frame.empty:
        raise DataError(f"The {name!r} table given to {owner} has no rows.")
    return frame


def _pick_steps(steps: np.ndarray, max_steps: int) -> np.ndarray:
    """At most ``max_steps`` of the sorted unique ``steps``, evenly spread by index.

    The first and last steps are always kept. Spreading by index follows the record
    schedule: a log-spaced schedule gives log-spaced picks.
    """
    steps = np.unique(steps)
    if steps.shape[0] <= max_steps:
        return steps
    idx = np.unique(np.round(np.linspace(0, steps.shape[0] - 1, max_steps)).astype(int))
    return steps[idx]


def _step_axis_is_log(steps: np.ndarray) -> bool:
    """True when the recorded steps look log-spaced (most of them early in the run)."""
    positive = np.unique(steps[steps > 0])
    if positive.shape[0] < 3:
        return False
    return bool(np.median(positive) < 0.1 * positive[-1])


def _panel_grid(
    plt: Any, n_panels: int, n_columns: int, panel_size: tuple[float, float]
) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` panels (row-major) on at most ``n_columns``
    columns, sharing the x axis; the spare cells of the last row are removed."""
    n_cols = min(int(n_columns), n_panels)
    n_rows = -(-n_panels // n_cols)
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(panel_size[0] * n_cols, panel_size[1] * n_rows),
        sharex=True,
        squeeze=False,
        layout="constrained",
    )
    flat: list[Axes] = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def _check_max_steps(max_steps: int, owner: str) -> None:
    if isinstance(max_steps, bool) or not isinstance(max_steps, int | np.integer):
        raise ConfigError(
            f"The 'max_steps' parameter of {owner} must be an int >= 1. "
            f"Got {max_steps!r} instead."
        )
    if max_steps < 1:
        raise ConfigError(
            f"The 'max_steps' parameter of {owner} must be an int >= 1. "
            f"Got {max_steps!r} instead."
        )


def _step_label(step: int, time: float) -> str:
    if np.isclose(time, step):
        return f"{step:,}"
    return f"{step:,}  (t = {time:.3g})"


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def plot_elasticity_curves(
    result: RunResult | pd.DataFrame,
    *,
    steps: Sequence[int] | None = None,
    max_steps: int = 6,
) -> Figure:
    r"""Plot the mean impact against the depth of the classes' lowest common ancestor.

    One line per recorded step, coloured from dark (early) to light (late). Pairs of
    different classes are joined by a line; same-class pairs (the diagonal of the
    impact matrix) are drawn as stars at their own depth, not joined.

    Parameters
    ----------
    result : RunResult or pandas.DataFrame
        A run result with an ``"elasticity_curve"`` table, or that table (columns
        ``step``, ``time``, ``lca_depth``, ``same_class``, ``mean_impact``).
    steps : sequence of int, optional
        Recorded steps to draw. Default: at most ``max_steps`` of them, evenly spread
        over the record schedule, always including the first and the last.
    max_steps : int, default 6
        Number of steps drawn when ``steps`` is not given.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; one line per drawn step for the different-class pairs and, when
        there are same-class pairs, one line of star markers (no connecting line)
        per drawn step.

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``max_steps < 1``, ``result`` has the wrong
        type or ``steps`` names a step that was not recorded.
    DataError
        If there is no ``"elasticity_curve"`` table, or it lacks a column or rows.

    See Also
    --------
    simnet.observables.elasticity_curve : how the table is computed.

    Notes
    -----
    The plotted quantity is, for LCA depth :math:`d`,

    .. math::

        \bar E(d) = \operatorname{mean}_{k \ne k',\ \mathrm{lca}(k, k') = d}
            E_{k' k},

    the mean first-order change at class :math:`k'` caused by an SGD step on class
    :math:`k`. A locally elastic network has a curve increasing in :math:`d`
    (He & Su 2020); feature sharing along a hierarchy produces one.
    """
    owner = "plot_elasticity_curves"
    _check_max_steps(max_steps, owner)
    curve = _table(result, "elasticity_curve", owner)
    recorded = np.unique(curve["step"].to_numpy())
    if steps is None:
        chosen = _pick_steps(recorded, max_steps)
    else:
        chosen = np.unique(np.asarray(steps, dtype=np.int64))
        absent = np.setdiff1d(chosen, recorded)
        if absent.size or chosen.size == 0:
            raise ConfigError(
                f"The 'steps' parameter of {owner} must list recorded steps. Got "
                f"{list(steps)!r} instead; recorded steps: "
                f"{', '.join(map(str, recorded))}."
            )
    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(7.0, 4.6), layout="constrained")
    cmap = plt.get_cmap(_TIME_CMAP)
    shades = np.linspace(0.0, 0.9, chosen.shape[0]) if chosen.shape[0] > 1 else [0.0]
    step_handles = []
    for step, shade in zip(chosen, shades, strict=True):
        rows = curve[curve["step"] == step]
        colour = cmap(shade)
        label = _step_label(int(step), float(rows["time"].iloc[0]))
        other = rows[~rows["same_class"].astype(bool)].sort_values("lca_depth")
        same = rows[rows["same_class"].astype(bool)].sort_values("lca_depth")
        if not other.empty:
            ax.plot(
                other["lca_depth"],
                other["mean_impact"],
                color=colour,
                marker="o",
                markersize=5,
                linewidth=1.8,
                label=label,
            )
        if not same.empty:
            ax.plot(
                same["lca_depth"],
                same["mean_impact"],
                linestyle="none",
                marker="*",
                markersize=13,
                markeredgecolor="black",
                markeredgewidth=0.6,
                color=colour,
            )
        step_handles.append(
            Line2D([], [], color=colour, marker="o", linewidth=1.8, label=label)
        )
    depths = np.unique(curve["lca_depth"].to_numpy())
    ax.set_xticks(depths)
    ax.set_xticklabels([f"{d}\n(root)" if d == 0 else str(d) for d in depths.tolist()])
    ax.set_xlim(depths.min() - 0.3, depths.max() + 0.3)
    if np.nanmin(curve["mean_impact"].to_numpy(dtype=np.float64)) >= 0.0:
        ax.set_ylim(bottom=0.0)
    ax.set_xlabel("depth of the lowest common ancestor of k and k'")
    ax.set_ylabel("mean impact  E[k', k]")
    ax.set_title("Impact of an SGD step on class k at class k'")
    ax.grid(alpha=0.3)
    step_legend = ax.legend(
        handles=step_handles, title="step", loc="upper left", fontsize="small"
    )
    ax.add_artist(step_legend)
    kind_handles = [
        Line2D([], [], color="grey", marker="o", linewidth=1.8, label="k ≠ k'"),
        Line2D(
            [],
            [],
            color="grey",
            marker="*",
            markersize=13,
            markeredgecolor="black",
            markeredgewidth=0.6,
            linestyle="none",
            label="k = k' (same class)",
        ),
    ]
    ax.legend(handles=kind_handles, loc="lower right", fontsize="small")
    return fig


def plot_impact_matrix(
    result: RunResult | pd.DataFrame,
    step: int | None = None,
    *,
    annotate: bool | None = None,
) -> Figure:
    """Plot the K x K impact matrix at one recorded step as a heatmap.

    Parameters
    ----------
    result : RunResult or pandas.DataFrame
        A run result with an ``"impact"`` table, or that table (columns ``step``,
        ``class_a``, ``class_b``, ``value``).
    step : int, optional
        Recorded step to draw. Default: the last one.
    annotate : bool, optional
        Write each entry's value in its cell. Default: when there are at most 12
        classes.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the heatmap and its colour bar.

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``result`` has the wrong type or ``step``
        was not recorded.
    DataError
        If there is no ``"impact"`` table, or it lacks a column or rows.

    Notes
    -----
    Row ``k'`` (``class_a``) and column ``k`` (``class_b``) hold :math:`E_{k'k}`,
    the first-order change at class :math:`k'` caused by an SGD step on class
    :math:`k`. Classes keep the order of the table, which is the hierarchy's order,
    so related classes sit together. A matrix with negative entries is drawn with a
    diverging colour map centred on zero.
    """
    owner = "plot_impact_matrix"
    impact = _table(result, "impact", owner)
    recorded = np.unique(impact["step"].to_numpy())
    if step is None:
        step = int(recorded[-1])
    elif step not in recorded:
        raise ConfigError(
            f"The 'step' parameter of {owner} must be a recorded step. Got {step!r} "
            f"instead; recorded steps: {', '.join(map(str, recorded))}."
        )
    rows = impact[impact["step"] == step]
    classes = list(pd.unique(pd.concat([rows["class_a"], rows["class_b"]])))
    matrix = (
        rows.pivot_table(index="class_a", columns="class_b", values="value")
        .reindex(index=classes, columns=classes)
        .to_numpy(dtype=np.float64)
    )
    n_classes = len(classes)
    if annotate is None:
        annotate = n_classes <= 12

    plt = _pyplot()
    from matplotlib.colors import Normalize, TwoSlopeNorm

    size = min(4.0 + 0.45 * n_classes, 14.0)
    fig, ax = plt.subplots(figsize=(size + 1.2, size), layout="constrained")
    low, high = np.nanmin(matrix), np.nanmax(matrix)
    if low < 0.0 < high:
        cmap, norm = "RdBu_r", TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high)
    else:
        cmap, norm = _TIME_CMAP, Normalize(vmin=low, vmax=high)
    image = ax.imshow(matrix, cmap=cmap, norm=norm, aspect="equal")
    colorbar = fig.colorbar(image, ax=ax, shrink=0.85)
    colorbar.set_label("E[k', k]")
    ticks = np.arange(n_classes)
    ax.set_xticks(ticks)
    ax.set_xticklabels(classes, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks)
    ax.set_yticklabels(classes)
    ax.set_xlabel("class k (SGD step on)")
    ax.set_ylabel("class k' (impacted)")
    ax.set_title(f"Impact matrix at step {step:,}")
    if annotate:
        _annotate_cells(ax, image, matrix)
    return fig


def _annotate_cells(ax: Axes, image: Any, matrix: np.ndarray) -> None:
    """Write each finite value of a heatmap in its cell, white on dark colours."""
    for (i, j), value in np.ndenumerate(matrix):
        if not np.isfinite(value):
            continue
        r, g, b, _ = image.cmap(image.norm(value))
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ax.text(
            j,
            i,
            f"{value:.2g}",
            ha="center",
            va="center",
            fontsize="x-small",
            color="white" if dark else "black",
        )


def plot_metrics(
    result: RunResult | pd.DataFrame,
    *,
    n_columns: int = 4,
) -> Figure:
    """Plot each recorded metric against the step, one small panel per metric.

    Parameters
    ----------
    result : RunResult or pandas.DataFrame
        A run result with a ``"metrics"`` table, or that table (long format,
        columns ``step``, ``observable``, ``value``).
    n_columns : int, default 4
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per panel, only for the observables present: loss (log scale),
        accuracy, margins (mean and minimum in one panel), linear separability,
        NC1 (log scale), equinorm, equiangularity, angle deviation, ETF distance and
        the intra/inter impact ratio, then any other observable of the
        table. A log-scale panel falls back to a linear scale when a value is not
        positive.

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``n_columns < 1`` or ``result`` has the
        wrong type.
    DataError
        If there is no ``"metrics"`` table, or it lacks a column or rows.

    Notes
    -----
    When the record schedule is log-spaced (most record steps early in the run) the
    step axis is symmetric-log (linear below 1), so step 0 stays visible.
    """
    owner = "plot_metrics"
    if isinstance(n_columns, bool) or not isinstance(n_columns, int | np.integer):
        raise ConfigError(
            f"The 'n_columns' parameter of {owner} must be an int >= 1. "
            f"Got {n_columns!r} instead."
        )
    if n_columns < 1:
        raise ConfigError(
            f"The 'n_columns' parameter of {owner} must be an int >= 1. "
            f"Got {n_columns!r} instead."
        )
    metrics = _table(result, "metrics", owner)
    present = list(pd.unique(metrics["observable"]))
    panels = [
        (title, tuple(n for n in names if n in present), scale)
        for title, names, scale in _METRIC_PANELS
    ]
    panels = [p for p in panels if p[1]]
    known = {n for _, names, _ in _METRIC_PANELS for n in names}
    panels += [(str(n), (n,), "linear") for n in present if n not in known]

    plt = _pyplot()
    fig, flat = _panel_grid(plt, len(panels), n_columns, (3.3, 2.5))
    log_steps = _step_axis_is_log(metrics["step"].to_numpy())
    for ax, (title, names, scale) in zip(flat, panels, strict=True):
        finite_positive = True
        for name in names:
            rows = metrics[metrics["observable"] == name].sort_values("step")
            values = rows["value"].to_numpy(dtype=np.float64)
            finite = values[np.isfinite(values)]
            finite_positive &= bool(np.all(finite > 0))
            drawstyle = "steps-post" if name == "separable" else "default"
            ax.plot(
                rows["step"],
                values,
                marker="." if rows.shape[0] <= 60 else None,
                linewidth=1.4,
                drawstyle=drawstyle,
                label=_METRIC_LABELS.get(name, name),
            )
        if scale == "log" and finite_positive:
            ax.set_yscale("log")
        if names == ("accuracy",):
            ax.set_ylim(-0.03, 1.03)
        if names == ("separable",):
            ax.set_ylim(-0.1, 1.1)
            ax.set_yticks([0, 1])
            ax.set_yticklabels(["no", "yes"])
        if len(names) > 1:
            ax.legend(fontsize="x-small")
        if log_steps:
            ax.set_xscale("symlog", linthresh=1.0)
        ax.set_title(title, fontsize="medium")
        ax.grid(alpha=0.3)
    fig.supxlabel("step")
    return fig


def plot_similarity(result: RunResult | pd.DataFrame) -> Figure:
    r"""Box plots of S_rel and S_ker by LCA depth, at the first and last recorded steps.

    Parameters
    ----------
    result : RunResult or pandas.DataFrame
        A run result with a ``"similarity"`` table, or that table (columns ``step``,
        ``class_i``, ``class_j``, ``lca_depth``, ``s_rel``, ``s_ker``).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (S_rel, S_ker). Each holds, per group, one box for the first step
        and one for the last (a single box when only one step was recorded). The
        groups are the LCA depths of pairs of different classes, then the pairs of
        the same class.

    Raises
    ------
    ConfigError
        If matplotlib is not installed or ``result`` has the wrong type.
    DataError
        If there is no ``"similarity"`` table, or it lacks a column or rows.

    Notes
    -----
    For probe samples :math:`i \ne j`, with :math:`\Delta z` the change of logits
    after one plain SGD step on :math:`i` and :math:`r_i` the logit-space loss
    gradient at :math:`i` (He & Su 2020):

    .. math::

        S_\mathrm{rel} = \frac{\lVert \Delta z_j \rVert}
            {\lVert \Delta z_i \rVert}, \qquad
        S_\mathrm{ker} = -\frac{\langle \Delta z_j, r_i \rangle}
            {\lVert r_i \rVert^2}.

    Missing values (a probe with no gradient) are left out.
    """
    owner = "plot_similarity"
    similarity = _table(result, "similarity", owner)
    recorded = np.unique(similarity["step"].to_numpy())
    chosen = recorded[[0, -1]] if recorded.shape[0] > 1 else recorded
    same = (similarity["class_i"] == similarity["class_j"]).to_numpy()
    depth = similarity["lca_depth"].to_numpy()
    depths = np.unique(depth[~same])
    groups: list[tuple[str, np.ndarray]] = [
        ("0\n(root)" if d == 0 else str(d), ~same & (depth == d)) for d in depths
    ]
    if same.any():
        groups.append(("same\nclass", same))

    plt = _pyplot()
    from matplotlib.patches import Patch

    colours = ["#9ecae1", "#08519c"][-chosen.shape[0] :]
    width = 0.7 / chosen.shape[0]
    offsets = (np.arange(chosen.shape[0]) - (chosen.shape[0] - 1) / 2) * width
    fig, axes = plt.subplots(
        1, 2, figsize=(4.0 + 1.6 * len(groups), 4.2), layout="constrained"
    )
    quantities = (
        ("s_rel", r"$S_\mathrm{rel} = \|\Delta z_j\| \,/\, \|\Delta z_i\|$"),
        (
            "s_ker",
            r"$S_\mathrm{ker} = -\langle \Delta z_j, r_i\rangle \,/\, \|r_i\|^2$",
        ),
    )
    at_step = similarity["step"].to_numpy()
    for ax, (column, label) in zip(axes, quantities, strict=True):
        values = similarity[column].to_numpy(dtype=np.float64)
        for step, offset, colour in zip(chosen, offsets, colours, strict=True):
            data, positions = [], []
            for position, (_, mask) in enumerate(groups):
                picked = values[mask & (at_step == step)]
                picked = picked[np.isfinite(picked)]
                if picked.size:
                    data.append(picked)
                    positions.append(position + offset)
            if not data:
                continue
            ax.boxplot(
                data,
                positions=positions,
                widths=width * 0.85,
                patch_artist=True,
                manage_ticks=False,
                boxprops={"facecolor": colour, "edgecolor": "black", "alpha": 0.9},
                medianprops={"color": "black"},
                flierprops={"markersize": 2.5, "alpha": 0.5},
            )
        ax.set_xticks(np.arange(len(groups)))
        ax.set_xticklabels([name for name, _ in groups])
        ax.set_xlim(-0.6, len(groups) - 0.4)
        ax.set_xlabel("depth of the lowest common ancestor of the two classes")
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_title("relative similarity")
    axes[1].set_title("kernel similarity")
    handles = [
        Patch(facecolor=colour, edgecolor="black", label=f"step {int(step):,}")
        for step, colour in zip(chosen, colours, strict=True)
    ]
    axes[0].legend(handles=handles, loc="upper left", fontsize="small")
    fig.suptitle("Change at sample j after an SGD step on sample i")
    return fig


# --------------------------------------------------------------------------------------
# all figures of a run
# --------------------------------------------------------------------------------------

# File stem, table needed, function.
_FIGURES = (
    ("elasticity_curves", "elasticity_curve", plot_elasticity_curves),
    ("impact_matrix", "impact", plot_impact_matrix),
    ("metrics", "metrics", plot_metrics),
    ("similarity", "similarity", plot_similarity),
)


def plot_run(
    result: RunResult, directory: str | os.PathLike, *, dpi: int = 120
) -> list[Path]:
    """Write every figure that applies to a run as a PNG file.

    Parameters
    ----------
    result : RunResult
        The run to draw.
    directory : str or os.PathLike
        Folder to write to; created if needed. Files of the same name are replaced.
    dpi : int, default 120
        Resolution of the images.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order ``elasticity_curves.png``,
        ``impact_matrix.png``, ``metrics.png``, ``similarity.png``; a figure whose
        table is absent or empty is skipped (so the list may be empty).

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``result`` is not a RunResult or ``dpi`` is
        not a positive number.
    DataError
        If a table that is present lacks a column the figure needs.

    Notes
    -----
    Each file is written through :func:`simnet.io.atomic_write`: a crash while
    drawing leaves the previous file, not half an image. Figures are closed after
    saving.

    Examples
    --------
    >>> import tempfile
    >>> import simnet
    >>> model = simnet.HFSModel(simnet.Hierarchy.preset("cifar10"), n_per_class=5)
    >>> result = simnet.simulate(model, steps=20, record=10, seed=0, observe=["loss"])
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [path.name for path in plot_run(result, folder)]
    ['metrics.png']
    """
    owner = "plot_run"
    if not isinstance(result, RunResult):
        raise ConfigError(
            f"The 'result' parameter of {owner} must be a RunResult. "
            f"Got {type(result).__name__} instead."
        )
    if (
        isinstance(dpi, bool)
        or not isinstance(dpi, int | float | np.integer | np.floating)
        or not dpi > 0
    ):
        raise ConfigError(
            f"The 'dpi' parameter of {owner} must be a number in (0, inf). "
            f"Got {dpi!r} instead."
        )
    plt = _pyplot()
    folder = Path(directory)
    written = []
    for stem, table, draw in _FIGURES:
        frame = result.tables.get(table)
        if frame is None or frame.empty:
            continue
        fig = draw(result)
        try:
            path = folder / f"{stem}.png"
            atomic_write(path, lambda p, fig=fig: fig.savefig(p, format="png", dpi=dpi))
        finally:
            plt.close(fig)
        written.append(path)
    return written


# --------------------------------------------------------------------------------------
# simulator vs network (figures of simnet.analysis.comparison)
# --------------------------------------------------------------------------------------

__all__ += [
    "plot_curve_comparison",
    "plot_impact_comparison",
    "plot_trajectory_comparison",
]

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .analysis.comparison import AlignedSeries, Comparison

_REFERENCE_STYLE = {"linestyle": "none", "marker": "o", "markersize": 3.5}
_BAND_ALPHA = 0.2


def _comparison(value: object, owner: str) -> Comparison:
    """``value`` if it is a Comparison (imported here: analysis sits above plotting)."""
    from .analysis.comparison import Comparison

    if not isinstance(value, Comparison):
        raise ConfigError(
            f"The 'comparison' parameter of {owner} must be a Comparison (from "
            f"simnet.analysis.comparison.compare_runs). Got {type(value).__name__} "
            "instead."
        )
    return value


def _boundary_times(
    comparison: Comparison, model: str | None, boundary: Any, owner: str
) -> list[float]:
    if boundary is None:
        return comparison.boundaries(model)
    values = [boundary] if np.ndim(boundary) == 0 else list(boundary)
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(
            value, int | float | np.integer | np.floating
        ):
            raise ConfigError(
                f"The 'boundary' parameter of {owner} must be None, a time or a "
                f"sequence of times. Got {boundary!r} instead."
            )
        out.append(float(value))
    return out


def _band(
    ax: Axes,
    x: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    colour: Any,
    n_replicas: int,
) -> None:
    if n_replicas > 1:
        ax.fill_between(
            x, mean - std, mean + std, color=colour, alpha=_BAND_ALPHA, linewidth=0
        )


def _replica_label(series: AlignedSeries) -> str:
    n = series.n_replicas
    if n > 1:
        return f"simulated (mean ± 1 std over {n} replicas)"
    return "simulated"


def plot_trajectory_comparison(
    comparison: Comparison,
    *,
    model: str | None = None,
    classes: Sequence[str] | None = None,
    boundary: float | Sequence[float] | None = None,
    n_columns: int = 4,
) -> Figure:
    """Class-mean logit trajectories of the reference and the simulated runs.

    One panel per class; in each, one colour per logit coordinate: the reference
    as points, the simulated mean as a line with a ±1 standard-deviation band
    across replicas (when there are several).

    Parameters
    ----------
    comparison : Comparison
        From :func:`simnet.analysis.comparison.compare_runs` (segments of one
        model are joined, see :meth:`~simnet.analysis.comparison.Comparison.series`).
    model : str, optional
        Which model to draw, when the comparison holds several.
    classes : sequence of str, optional
        Classes to draw (default: all, in the reference's order).
    boundary : float or sequence of float, optional
        Times at which to draw a dashed vertical line (e.g. the end of the fit
        segment). Default: where the comparison's later segments start (none for
        a single segment).
    n_columns : int, default 4
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per class.

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``comparison`` is not a Comparison, the
        class means were not compared, or an argument is invalid.

    Notes
    -----
    The x axis is the reference's record time; the simulated values are those
    interpolated onto the reference's record steps. When there are as many
    coordinates as classes, coordinate ``j`` is the logit of the reference's
    ``j``-th class and is labelled with its name.
    """
    owner = "plot_trajectory_comparison"
    comparison = _comparison(comparison, owner)
    if isinstance(n_columns, bool) or not isinstance(n_columns, int | np.integer):
        raise ConfigError(
            f"The 'n_columns' parameter of {owner} must be an int >= 1. "
            f"Got {n_columns!r} instead."
        )
    if n_columns < 1:
        raise ConfigError(
            f"The 'n_columns' parameter of {owner} must be an int >= 1. "
            f"Got {n_columns!r} instead."
        )
    series = comparison.series("class_means", model=model)
    lines = _boundary_times(comparison, model, boundary, owner)
    all_classes = list(dict.fromkeys(k[0] for k in series.keys))
    if classes is None:
        chosen = all_classes
    else:
        chosen = [classes] if isinstance(classes, str) else list(classes)
        unknown = [c for c in chosen if c not in all_classes]
        if unknown or not chosen:
            raise ConfigError(
                f"The 'classes' parameter of {owner} must list compared classes. "
                f"Got {classes!r} instead; the classes are {all_classes}."
            )
    coords = sorted({k[1] for k in series.keys})
    logit_names = coords == list(range(len(all_classes)))

    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, flat = _panel_grid(plt, len(chosen), n_columns, (3.6, 2.9))
    # distinct colours for up to 20 logit coordinates (tab10, then tab20)
    palette = plt.get_cmap("tab10" if len(coords) <= 10 else "tab20")
    t = series.times
    mean, std = series.mean, series.std
    for ax, cls in zip(flat, chosen, strict=True):
        for j, coord in enumerate(coords):
            col = series.column((cls, coord))
            colour = palette(j % palette.N)
            ax.plot(t, series.reference[:, col], color=colour, **_REFERENCE_STYLE)
            ax.plot(t, mean[:, col], color=colour, linewidth=1.5)
            _band(ax, t, mean[:, col], std[:, col], colour, series.n_replicas)
        for b in lines:
            ax.axvline(b, color="grey", linestyle="--", linewidth=1.0)
        ax.set_title(f"class {cls}", fontsize="medium")
        ax.grid(alpha=0.3)
    coord_handles = [
        Line2D(
            [],
            [],
            color=palette(j % palette.N),
            linewidth=1.5,
            label=f"logit {all_classes[c]}" if logit_names else f"coordinate {c}",
        )
        for j, c in enumerate(coords)
    ]
    style_handles = [
        Line2D([], [], color="black", label="reference", **_REFERENCE_STYLE),
        Line2D([], [], color="black", linewidth=1.5, label=_replica_label(series)),
    ]
    if lines:
        style_handles.append(
            Line2D([], [], color="grey", linestyle="--", label="segment boundary")
        )
    fig.legend(
        handles=coord_handles + style_handles,
        loc="outside right upper",
        fontsize="small",
    )
    fig.supxlabel("time (reference)")
    fig.supylabel("class-mean logit")
    fig.suptitle("Class-mean logit trajectories: reference vs simulated")
    return fig


def plot_impact_comparison(
    comparison: Comparison,
    *,
    steps: Sequence[int] | None = None,
    model: str | None = None,
    annotate: bool | None = None,
) -> Figure:
    """Impact matrices of the reference and the simulated mean, side by side.

    Parameters
    ----------
    comparison : Comparison
        From :func:`simnet.analysis.comparison.compare_runs`.
    steps : sequence of int, optional
        Aligned reference steps to draw, one row each. Default: the first and the
        last aligned step.
    model : str, optional
        Which model to draw, when the comparison holds several.
    annotate : bool, optional
        Write each entry's value in its cell. Default: when there are at most 8
        classes.

    Returns
    -------
    matplotlib.figure.Figure
        ``2 * len(steps)`` heatmap axes (reference left, simulated right) and one
        colour bar; every heatmap uses the same colour scale.

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``comparison`` is not a Comparison, the
        impact matrices were not compared, or ``steps`` names a step that is not
        aligned.

    Notes
    -----
    Row ``k'`` (``class_a``) and column ``k`` (``class_b``) hold
    :math:`E_{k'k}`, as in :func:`plot_impact_matrix`. The simulated matrix is
    the mean over replicas, interpolated onto the reference step. Matrices with
    negative entries use a diverging colour map centred on zero.
    """
    owner = "plot_impact_comparison"
    comparison = _comparison(comparison, owner)
    series = comparison.series("impact", model=model)
    aligned = series.steps
    if steps is None:
        chosen = np.unique(aligned[[0, -1]])
    else:
        chosen = np.unique(np.asarray(steps, dtype=np.int64))
        absent = np.setdiff1d(chosen, aligned)
        if absent.size or chosen.size == 0:
            raise ConfigError(
                f"The 'steps' parameter of {owner} must list aligned steps. Got "
                f"{list(steps)!r} instead; aligned steps: "
                f"{', '.join(map(str, aligned))}."
            )
    rows = [int(np.flatnonzero(aligned == s)[0]) for s in chosen]
    classes, ref = series.matrix()
    _, pred = series.matrix(series.mean)
    ref, pred = ref[rows], pred[rows]
    n_classes = len(classes)
    if annotate is None:
        annotate = n_classes <= 8

    plt = _pyplot()
    from matplotlib.colors import Normalize, TwoSlopeNorm

    both = np.concatenate([ref.ravel(), pred.ravel()])
    low, high = float(np.nanmin(both)), float(np.nanmax(both))
    if low < 0.0 < high:
        cmap, norm = "RdBu_r", TwoSlopeNorm(vcenter=0.0, vmin=low, vmax=high)
    else:
        cmap, norm = _TIME_CMAP, Normalize(vmin=low, vmax=high)
    size = min(2.6 + 0.35 * n_classes, 8.0)
    fig, axes = plt.subplots(
        len(rows),
        2,
        figsize=(2 * size + 1.4, size * len(rows)),
        squeeze=False,
        layout="constrained",
    )
    ticks = np.arange(n_classes)
    image = None
    for r, step in enumerate(chosen):
        for c, (matrix, who) in enumerate(
            ((ref[r], "reference"), (pred[r], "simulated"))
        ):
            ax = axes[r, c]
            image = ax.imshow(matrix, cmap=cmap, norm=norm, aspect="equal")
            ax.set_xticks(ticks)
            ax.set_xticklabels(classes, rotation=45, ha="right", rotation_mode="anchor")
            ax.set_yticks(ticks)
            ax.set_yticklabels(classes if c == 0 else [])
            ax.set_title(f"{who}, step {int(step):,}", fontsize="medium")
            if annotate:
                _annotate_cells(ax, image, matrix)
    colorbar = fig.colorbar(image, ax=axes, shrink=0.8)
    colorbar.set_label("E[k', k]")
    fig.supxlabel("class k (SGD step on)")
    fig.supylabel("class k' (impacted)")
    return fig


def plot_curve_comparison(
    comparison: Comparison,
    *,
    model: str | None = None,
    steps: Sequence[int] | None = None,
    max_steps: int = 4,
) -> Figure:
    """Elasticity curves by LCA depth of the reference and the simulated runs.

    Parameters
    ----------
    comparison : Comparison
        From :func:`simnet.analysis.comparison.compare_runs`.
    model : str, optional
        Which model to draw, when the comparison holds several.
    steps : sequence of int, optional
        Aligned steps drawn in the left panel. Default: at most ``max_steps`` of
        them, evenly spread, always the first and the last.
    max_steps : int, default 4
        Number of steps drawn when ``steps`` is not given.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Left: mean impact against LCA depth at the chosen steps (one
        colour per step; reference solid with circles, simulated dashed with a
        ±1 std band; same-class groups as stars, not joined). Right: the mean
        impact of every (depth, same/different class) group against time
        (reference points, simulated line and band).

    Raises
    ------
    ConfigError
        If matplotlib is not installed, ``comparison`` is not a Comparison, the
        elasticity curves were not compared, ``max_steps < 1`` or ``steps`` names
        a step that is not aligned.
    """
    owner = "plot_curve_comparison"
    comparison = _comparison(comparison, owner)
    _check_max_steps(max_steps, owner)
    series = comparison.series("elasticity_curve", model=model)
    aligned = series.steps
    if steps is None:
        chosen = _pick_steps(aligned, max_steps)
    else:
        chosen = np.unique(np.asarray(steps, dtype=np.int64))
        absent = np.setdiff1d(chosen, aligned)
        if absent.size or chosen.size == 0:
            raise ConfigError(
                f"The 'steps' parameter of {owner} must list aligned steps. Got "
                f"{list(steps)!r} instead; aligned steps: "
                f"{', '.join(map(str, aligned))}."
            )
    depth = np.array([k[0] for k in series.keys], dtype=np.int64)
    same = np.array([bool(k[1]) for k in series.keys])
    mean, std = series.mean, series.std
    n_rep = series.n_replicas

    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, (left, right) = plt.subplots(1, 2, figsize=(12.0, 4.6), layout="constrained")
    cmap = plt.get_cmap(_TIME_CMAP)
    shades = np.linspace(0.0, 0.9, chosen.shape[0]) if chosen.shape[0] > 1 else [0.0]
    step_handles = []
    for step, shade in zip(chosen, shades, strict=True):
        t = int(np.flatnonzero(aligned == step)[0])
        colour = cmap(shade)
        for mask, marker, size in ((~same, "o", 5), (same, "*", 12)):
            if not mask.any():
                continue
            order = np.argsort(depth[mask])
            x = depth[mask][order]
            joined = marker == "o"
            left.plot(
                x,
                series.reference[t, mask][order],
                color=colour,
                marker=marker,
                markersize=size,
                linestyle="-" if joined else "none",
                linewidth=1.8,
            )
            left.plot(
                x,
                mean[t, mask][order],
                color=colour,
                marker=marker,
                markersize=size,
                markerfacecolor="none",
                linestyle="--" if joined else "none",
                linewidth=1.4,
            )
            if joined:
                _band(left, x, mean[t, mask][order], std[t, mask][order], colour, n_rep)
        step_handles.append(
            Line2D([], [], color=colour, linewidth=1.8, label=f"{int(step):,}")
        )
    depths = np.unique(depth)
    left.set_xticks(depths)
    left.set_xlabel("depth of the lowest common ancestor of k and k'")
    left.set_ylabel("mean impact  E[k', k]")
    left.set_title("Elasticity curve at chosen steps")
    left.grid(alpha=0.3)
    kinds = [
        Line2D([], [], color="grey", marker="o", label="reference"),
        Line2D(
            [],
            [],
            color="grey",
            marker="o",
            markerfacecolor="none",
            linestyle="--",
            label=_replica_label(series),
        ),
        Line2D(
            [],
            [],
            color="grey",
            marker="*",
            markersize=12,
            linestyle="none",
            label="same class",
        ),
    ]
    left.legend(
        handles=step_handles + kinds,
        title="step",
        loc="best",
        fontsize="small",
        title_fontsize="small",
    )

    colours = plt.get_cmap("tab10")
    times = series.times
    for g in range(len(series.keys)):
        colour = colours(g % 10)
        label = f"depth {depth[g]}" + (" (same class)" if same[g] else "")
        right.plot(times, series.reference[:, g], color=colour, **_REFERENCE_STYLE)
        right.plot(times, mean[:, g], color=colour, linewidth=1.5, label=label)
        _band(right, times, mean[:, g], std[:, g], colour, n_rep)
    for b in comparison.boundaries(model):
        right.axvline(b, color="grey", linestyle="--", linewidth=1.0)
    right.set_xlabel("time (reference)")
    right.set_ylabel("mean impact")
    right.set_title("Mean impact by group over time (points: reference)")
    right.grid(alpha=0.3)
    right.legend(fontsize="small")
    return fig
