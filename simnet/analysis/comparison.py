"""Compare two runs (usually a trained network and a simulator) and report agreement.

:func:`compare_runs` puts the recorded tables of a *reference* run (usually an MLP
trained by :func:`simnet.networks.train_mlp`) and of one or more *simulated* runs
(replicas of a simulator, see :func:`simnet.simulate`) on the reference's record
steps, and computes agreement figures: trajectory R² of the class-mean logits,
R² of the loss and accuracy curves, correlation of the elasticity (impact)
matrices, error of the elasticity curve by LCA depth, and the separation onset.
:func:`write_comparison_report` writes them as a CSV table, a Markdown report and
PNG figures (``MODEL.md`` section 6, "Agreement and theory").

Both runs must record the tables of :class:`simnet.recorder.TableRows`:
``class_means``, ``metrics``, ``impact`` and ``elasticity_curve``. A quantity
whose table is absent from either side is skipped, with a note in the report.

Examples
--------
>>> import simnet
>>> from simnet.analysis.comparison import compare_runs
>>> impact = simnet.ImpactMatrix.two_parameter(3, alpha=1.0, beta=0.2)
>>> model = simnet.LESDEModel(impact, integrator="ode", dt=0.1)
>>> run = simnet.simulate(model, steps=40, record=10, seed=0)
>>> comparison = compare_runs(run, run)
>>> headline = comparison.summary().set_index(["quantity", "statistic"])
>>> round(float(headline.loc[("class_means", "r2_pooled"), "all"]), 12)
1.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .._validation import check_float
from ..errors import ConfigError, DataError
from ..hierarchy import Hierarchy
from ..io import atomic_write, atomic_write_text
from ..results import RunResult

if TYPE_CHECKING:  # pragma: no cover - typing only
    import os

__all__ = [
    "FIGURE_COLUMNS",
    "AlignedRuns",
    "AlignedSeries",
    "Comparison",
    "Quantity",
    "compare_runs",
    "read_comparison_figures",
    "write_comparison_report",
]

#: Columns of :attr:`Comparison.figures` (a ``model`` column comes first when
#: comparisons of several models were joined by :meth:`Comparison.concat`).
FIGURE_COLUMNS = (
    "segment",
    "quantity",
    "statistic",
    "class",
    "coordinate",
    "step",
    "value",
)

_OWNER = "compare_runs"
_CURVE_METRICS = ("loss", "accuracy")
_SAME, _DIFFERENT = "same", "different"


class Quantity(StrEnum):
    """The quantities compared, as written in the ``quantity`` column of figures."""

    CLASS_MEANS = "class_means"
    LOSS = "loss"
    ACCURACY = "accuracy"
    IMPACT = "impact"
    ELASTICITY_CURVE = "elasticity_curve"
    SEPARATION_ONSET = "separation_onset"


# Table name -> (key columns, value column).
_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "class_means": (("class", "coordinate"), "value"),
    "metrics": (("observable",), "value"),
    "impact": (("class_a", "class_b"), "value"),
    "elasticity_curve": (("lca_depth", "same_class"), "mean_impact"),
}


# --------------------------------------------------------------------------------------
# aligned data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class AlignedSeries:
    """One recorded table of the reference and of the replicas, on common steps.

    Attributes
    ----------
    name : str
        The table: ``"class_means"``, ``"metrics"``, ``"impact"`` or
        ``"elasticity_curve"``.
    key_names : tuple of str
        What identifies a column: ``("class", "coordinate")``, ``("observable",)``,
        ``("class_a", "class_b")`` or ``("lca_depth", "same_class")``.
    keys : tuple of tuple
        One key per column of the arrays, in the reference's order.
    steps : ndarray of int64, shape (T,)
        The reference's record steps used (inside the segment and the simulated
        runs' range).
    times : ndarray of float64, shape (T,)
        The reference's record times at ``steps``.
    reference : ndarray of float64, shape (T, L)
        The reference's values.
    replicas : ndarray of float64, shape (R, T, L)
        Each simulated replica, linearly interpolated in the step onto ``steps``.
    """

    name: str
    key_names: tuple[str, ...]
    keys: tuple[tuple[Any, ...], ...]
    steps: np.ndarray
    times: np.ndarray
    reference: np.ndarray
    replicas: np.ndarray

    @property
    def n_replicas(self) -> int:
        """Number of simulated replicas ``R``."""
        return int(self.replicas.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """The prediction: the mean over replicas, shape (T, L)."""
        return self.replicas.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Sample standard deviation over replicas (ddof 1; zeros for one replica)."""
        if self.n_replicas < 2:
            return np.zeros(self.replicas.shape[1:])
        return self.replicas.std(axis=0, ddof=1)

    def column(self, key: tuple[Any, ...]) -> int:
        """Index of the column holding ``key``.

        Raises
        ------
        ConfigError
            If ``key`` is not one of :attr:`keys`.
        """
        try:
            return self.keys.index(tuple(key))
        except ValueError:
            raise ConfigError(
                f"The key {tuple(key)!r} is not a column of the aligned "
                f"{self.name!r} table; its keys are {list(self.keys)!r}."
            ) from None

    def matrix(self, values: np.ndarray | None = None) -> tuple[list[str], np.ndarray]:
        """The ``impact`` columns as K x K matrices.

        Parameters
        ----------
        values : ndarray, shape (..., L), optional
            Values to reshape; default :attr:`reference`.

        Returns
        -------
        classes : list of str
            Class order (first appearance of ``class_a`` in the reference).
        matrices : ndarray, shape (..., K, K)
            ``matrices[..., a, b]`` is the entry ``(class_a, class_b)``.
        """
        values = self.reference if values is None else np.asarray(values)
        classes = list(dict.fromkeys(k[0] for k in self.keys))
        index = {c: i for i, c in enumerate(classes)}
        n = len(classes)
        out = np.full((*values.shape[:-1], n, n), np.nan)
        for col, (a, b) in enumerate(self.keys):
            out[..., index[a], index[b]] = values[..., col]
        return classes, out

    def _restricted(self, keep: np.ndarray) -> AlignedSeries:
        return AlignedSeries(
            self.name,
            self.key_names,
            self.keys,
            self.steps[keep],
            self.times[keep],
            self.reference[keep],
            self.replicas[:, keep],
        )


@dataclass(frozen=True, eq=False)
class AlignedRuns:
    """The aligned tables of one comparison (one model, one segment).

    Attributes
    ----------
    model : str
        Name of the simulated model (empty unless set by :meth:`Comparison.concat`).
    segment : str
        Name of the segment (``segment_name`` of :func:`compare_runs`).
    bounds : tuple of float or None
        The requested segment ``(t0, t1)`` in reference time; None for all records.
    n_replicas : int
        Number of simulated replicas.
    series : dict of str to AlignedSeries
        The aligned tables, by table name (``"elasticity_curve"`` is recomputed
        from ``impact`` when a hierarchy was given). Tables that were skipped are
        absent.
    """

    model: str
    segment: str
    bounds: tuple[float, float] | None
    n_replicas: int
    series: Mapping[str, AlignedSeries] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Comparison:
    """Agreement figures of a reference run and simulated runs, and the aligned data.

    Built by :func:`compare_runs`; joined by :meth:`concat`.

    Attributes
    ----------
    figures : pandas.DataFrame
        Tidy rows with columns ``segment, quantity, statistic, class, coordinate,
        step, value`` (preceded by ``model`` after :meth:`concat` with model
        names). Keys that do not apply are the empty string (``class``) or NaN
        (``coordinate``, ``step``; both float64). See :func:`compare_runs` for
        every quantity and statistic.
    aligned : tuple of AlignedRuns
        The aligned data behind the figures, one entry per (model, segment).
    notes : tuple of str
        Quantities skipped and why.
    """

    figures: pd.DataFrame
    aligned: tuple[AlignedRuns, ...]
    notes: tuple[str, ...] = ()

    # --- selection -----------------------------------------------------------------

    @property
    def models(self) -> list[str]:
        """Model names, in order (``[""]`` for a single unnamed model)."""
        return list(dict.fromkeys(part.model for part in self.aligned))

    @property
    def segments(self) -> list[str]:
        """Segment names, in order."""
        return list(dict.fromkeys(part.segment for part in self.aligned))

    def _model(self, model: str | None, owner: str) -> str:
        models = self.models
        if model is None:
            if len(models) > 1:
                raise ConfigError(
                    f"The 'model' parameter of {owner} must name one of the models "
                    f"{models!r} of this comparison. Got None instead."
                )
            return models[0]
        if model not in models:
            raise ConfigError(
                f"The 'model' parameter of {owner} must be one of {models!r}. "
                f"Got {model!r} instead."
            )
        return model

    def parts(self, model: str | None = None) -> list[AlignedRuns]:
        """The aligned parts of one model, by the first reference time they cover.

        Parameters
        ----------
        model : str, optional
            Needed when the comparison holds several models.

        Raises
        ------
        ConfigError
            If ``model`` is not given and there are several, or is unknown.
        """
        name = self._model(model, "Comparison.parts")
        chosen = [p for p in self.aligned if p.model == name]
        return sorted(chosen, key=_part_start)

    def series(self, name: str, *, model: str | None = None) -> AlignedSeries:
        """One aligned table over every segment of a model, in step order.

        Segments are joined; a step present in several segments is kept once.

        Parameters
        ----------
        name : str
            ``"class_means"``, ``"metrics"``, ``"impact"`` or ``"elasticity_curve"``.
        model : str, optional
            Needed when the comparison holds several models.

        Returns
        -------
        AlignedSeries

        Raises
        ------
        ConfigError
            If no segment of the model has the table ``name``, or on a bad
            ``model``.
        DataError
            If the segments have different keys or numbers of replicas.
        """
        found = [p.series[name] for p in self.parts(model) if name in p.series]
        if not found:
            raise ConfigError(
                f"The 'name' parameter of Comparison.series must be a compared "
                f"table; {name!r} was not compared (see Comparison.notes)."
            )
        first = found[0]
        for other in found[1:]:
            if other.keys != first.keys or other.n_replicas != first.n_replicas:
                raise DataError(
                    f"The segments of this comparison hold different {name!r} "
                    "columns or replica counts; they cannot be joined."
                )
        steps = np.concatenate([s.steps for s in found])
        # first occurrence of every step, in increasing step order
        _, order = np.unique(steps, return_index=True)
        return AlignedSeries(
            first.name,
            first.key_names,
            first.keys,
            steps[order],
            np.concatenate([s.times for s in found])[order],
            np.concatenate([s.reference for s in found])[order],
            np.concatenate([s.replicas for s in found], axis=1)[:, order],
        )

    def boundaries(self, model: str | None = None) -> list[float]:
        """Reference times where a later segment of ``model`` starts.

        For a ``fit`` segment followed by a ``held_out`` one this is the start of
        the held-out part (its lower bound, or its first aligned time when it has
        no bounds). Empty for a single segment.
        """
        parts = self.parts(model)
        return [_part_start(p) for p in parts[1:]]

    # --- tables --------------------------------------------------------------------

    def _has_models(self) -> bool:
        return "model" in self.figures.columns

    def summary(self) -> pd.DataFrame:
        """The headline numbers: one row per (model,) quantity and statistic.

        Returns
        -------
        pandas.DataFrame
            Columns ``quantity``, ``statistic`` (preceded by ``model`` when there
            are named models), then one column per segment, in order. Only
            aggregate rows of :attr:`figures` are used: those whose ``class`` is
            empty and whose ``coordinate`` and ``step`` are NaN.
        """
        figures = self.figures
        headline = figures[
            (figures["class"] == "")
            & figures["coordinate"].isna()
            & figures["step"].isna()
        ]
        index = (["model"] if self._has_models() else []) + ["quantity", "statistic"]
        segments = list(dict.fromkeys(figures["segment"]))
        rows: dict[tuple[Any, ...], dict[str, float]] = {}
        for values in headline.to_dict("records"):
            key = tuple(values[c] for c in index)
            rows.setdefault(key, {})[values["segment"]] = values["value"]
        out = pd.DataFrame(
            [
                (*key, *(by.get(s, np.nan) for s in segments))
                for key, by in rows.items()
            ],
            columns=[*index, *segments],
        )
        for s in segments:
            out[s] = out[s].astype(np.float64)
        return out

    def class_r2(self) -> pd.DataFrame:
        """Per-class R² of the class-mean logits, one row per (model,) segment, class.

        Returns
        -------
        pandas.DataFrame
            Columns ``segment``, ``class`` (preceded by ``model`` when there are
            named models), one column per logit coordinate (named by the
            coordinate, as a string) and ``mean`` (the mean over coordinates,
            ignoring NaN).
        """
        figures = self.figures
        rows = figures[
            (figures["quantity"] == Quantity.CLASS_MEANS)
            & (figures["statistic"] == "r2")
            & (figures["class"] != "")
        ]
        index = (["model"] if self._has_models() else []) + ["segment", "class"]
        coords = sorted(set(rows["coordinate"].dropna().astype(int)))
        table: dict[tuple[Any, ...], dict[int, float]] = {}
        for values in rows.to_dict("records"):
            key = tuple(values[c] for c in index)
            table.setdefault(key, {})[int(values["coordinate"])] = values["value"]
        data = []
        for key, by in table.items():
            row = [by.get(c, np.nan) for c in coords]
            finite = [v for v in row if np.isfinite(v)]
            data.append([*key, *row, float(np.mean(finite)) if finite else np.nan])
        return pd.DataFrame(data, columns=[*index, *map(str, coords), "mean"])

    def to_markdown(self, *, title: str = "Simulator vs network agreement") -> str:
        """A readable Markdown report: headline table, per-class R², definitions.

        Parameters
        ----------
        title : str, default "Simulator vs network agreement"
            The level-1 heading.

        Returns
        -------
        str
            Markdown text. Numbers are written with 4 significant digits
            (``format(value, ".4g")``); missing values as ``n/a``.
        """
        lines = [f"# {title}", ""]
        for part in self.aligned:
            label = _part_label(part)
            steps = [s.steps for s in part.series.values() if s.steps.size]
            span = (
                f"reference steps {min(int(s[0]) for s in steps):,} to "
                f"{max(int(s[-1]) for s in steps):,}"
                if steps
                else "no aligned steps"
            )
            lines.append(
                f"- {label}: {part.n_replicas} simulated replica(s), {span}"
                + (
                    f", segment [{part.bounds[0]:g}, {part.bounds[1]:g}] "
                    "(reference time)"
                    if part.bounds is not None
                    else ""
                )
            )
        lines += ["", "## Headline figures", ""]
        summary = self.summary()
        lines += _markdown_table(summary, numeric=set(self.segments))
        class_r2 = self.class_r2()
        if not class_r2.empty:
            lines += [
                "",
                "## Class-mean logit R² by class and coordinate",
                "",
                "Reference as truth, over the aligned steps of each segment; "
                "columns are logit coordinates.",
                "",
            ]
            numeric = set(class_r2.columns) - {"model", "segment", "class"}
            lines += _markdown_table(class_r2, numeric=numeric)
        lines += ["", "## Definitions", "", *_DEFINITIONS]
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    # --- joining -------------------------------------------------------------------

    @classmethod
    def concat(
        cls, comparisons: Sequence[Comparison] | Mapping[str, Comparison]
    ) -> Comparison:
        """Join several comparisons (segments, and/or fitted models) into one.

        Parameters
        ----------
        comparisons : sequence of Comparison, or mapping of str to Comparison
            With a mapping, each key names a model: the figures get a ``model``
            column (first) and the aligned parts that name. With a sequence, the
            comparisons are stacked as they are (e.g. the ``fit`` and ``held_out``
            segments of one model).

        Returns
        -------
        Comparison

        Raises
        ------
        ConfigError
            If ``comparisons`` is empty or holds something else than comparisons,
            a mapping key is not a non-empty string, a comparison given under a
            key already names its models, or two parts have the same model and
            segment.
        """
        owner = "Comparison.concat"
        if isinstance(comparisons, Mapping):
            items = list(comparisons.items())
            for name, comp in items:
                if not isinstance(name, str) or not name:
                    raise ConfigError(
                        f"The keys of the 'comparisons' parameter of {owner} must "
                        f"be non-empty model names. Got {name!r} instead."
                    )
                _check_comparison(comp, owner)
                if comp._has_models():
                    raise ConfigError(
                        f"The comparison given as model {name!r} to {owner} "
                        "already names its models; join it with a sequence."
                    )
            named = [(name, comp) for name, comp in items]
        else:
            if isinstance(comparisons, Comparison) or not isinstance(
                comparisons, Sequence
            ):
                raise ConfigError(
                    f"The 'comparisons' parameter of {owner} must be a sequence or "
                    f"a mapping of Comparison. Got {type(comparisons).__name__}."
                )
            for comp in comparisons:
                _check_comparison(comp, owner)
            named = [(None, comp) for comp in comparisons]
        if not named:
            raise ConfigError(f"The 'comparisons' parameter of {owner} is empty.")
        with_models = any(name is not None or c._has_models() for name, c in named)
        frames, parts, notes = [], [], []
        for name, comp in named:
            frame = comp.figures.copy()
            if with_models and "model" not in frame.columns:
                frame.insert(0, "model", "" if name is None else name)
            frames.append(frame)
            for part in comp.aligned:
                model = part.model if name is None else name
                parts.append(
                    AlignedRuns(
                        model, part.segment, part.bounds, part.n_replicas, part.series
                    )
                )
            prefix = f"model {name!r}: " if name is not None else ""
            notes += [prefix + note for note in comp.notes]
        seen: set[tuple[str, str]] = set()
        for part in parts:
            key = (part.model, part.segment)
            if key in seen:
                what = f"model {part.model!r}, " if part.model else ""
                raise ConfigError(
                    f"The 'comparisons' parameter of {owner} holds {what}segment "
                    f"{part.segment!r} twice. Give segments distinct names "
                    "(segment_name of compare_runs) or models distinct keys."
                )
            seen.add(key)
        figures = _typed_figures(pd.concat(frames, ignore_index=True))
        return cls(figures, tuple(parts), tuple(dict.fromkeys(notes)))


_TEXT_COLUMNS = ("model", "segment", "quantity", "statistic", "class")


def _typed_figures(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as object dtype, keys and values as float64."""
    types: dict[str, Any] = {c: object for c in _TEXT_COLUMNS if c in frame.columns}
    types.update({"coordinate": np.float64, "step": np.float64, "value": np.float64})
    return frame.astype(types)


def _check_comparison(value: object, owner: str) -> None:
    if not isinstance(value, Comparison):
        raise ConfigError(
            f"The 'comparisons' parameter of {owner} must hold Comparison objects. "
            f"Got {type(value).__name__} instead."
        )


def _part_start(part: AlignedRuns) -> float:
    if part.bounds is not None:
        return float(part.bounds[0])
    starts = [float(s.times[0]) for s in part.series.values() if s.times.size]
    return min(starts) if starts else math.inf


def _part_label(part: AlignedRuns) -> str:
    model = f"model `{part.model}`, " if part.model else ""
    return f"{model}segment `{part.segment}`"


_DEFINITIONS = [
    "- **R²** (reference y as truth, prediction ŷ the mean over replicas, over "
    "the aligned steps of the segment): 1 − Σ(y − ŷ)² / Σ(y − ȳ)²; `r2_pooled` "
    "pools every class and coordinate around their grand mean, `r2_mean` is the "
    "mean of the per-class, per-coordinate R²; **RMSE** = sqrt(mean (y − ŷ)²).",
    "- **loss / accuracy**: R² and RMSE of the curves; `final_difference` = "
    "simulated − reference at the last aligned step.",
    "- **impact**: Pearson and Spearman correlation between the reference and "
    "the predicted impact matrices at each checkpoint, over the upper triangle "
    "without (`offdiag`) or with (`all`) the diagonal; `_mean` averages over the "
    "checkpoints, `_late` over the last `late_fraction` of the segment's time.",
    "- **elasticity_curve**: relative error (simulated − reference) / |reference| "
    "of the mean impact of each (LCA depth, same/different class) group; "
    "`mean_abs_relative_error` averages its absolute value; `spearman_depth` is "
    "the rank correlation of the two curves over the groups.",
    "- **separation_onset**: first reference time from which every class-mean "
    "margin m_k[k] − max_{j≠k} m_k[j] stays positive to the end of the segment "
    "(linearly interpolated crossing; n/a if never); `difference` = simulated − "
    "reference.",
]


# --------------------------------------------------------------------------------------
# compare_runs
# --------------------------------------------------------------------------------------


def compare_runs(
    reference: RunResult,
    simulated: RunResult | Sequence[RunResult],
    *,
    segment: tuple[float, float] | None = None,
    segment_name: str = "all",
    hierarchy: Hierarchy | None = None,
    late_fraction: float = 0.25,
) -> Comparison:
    r"""Compare a reference run (usually a network) with simulated runs.

    Parameters
    ----------
    reference : RunResult
        The run taken as truth, e.g. from :func:`simnet.networks.train_mlp`. Its
        record steps are the comparison grid.
    simulated : RunResult or sequence of RunResult
        The prediction: one run, or replicas. A run whose tables have a
        ``replica`` column counts as one replica per value of that column (a
        table without the column is shared by all of that run's replicas). The
        prediction is the mean over replicas; the bands of the plots are their
        standard deviation.
    segment : tuple of float (t0, t1), optional
        Restrict every figure to the reference record times in ``[t0, t1]``
        (e.g. fit on the first part of training, compare on the rest). Default:
        every record.
    segment_name : str, default "all"
        Written in the ``segment`` column (e.g. ``"fit"``, ``"held_out"``).
    hierarchy : Hierarchy, optional
        When given, the elasticity curves of both runs are recomputed from their
        ``impact`` tables with this hierarchy's LCA depths (so that a network
        trained without a hierarchy and a simulator are grouped alike). Its
        classes must be the runs' classes. Default: use each run's
        ``elasticity_curve`` table; both must have the same (depth, same-class)
        groups.
    late_fraction : float in (0, 1], default 0.25
        The ``_late`` statistics average over the checkpoints whose time is at
        least ``t_last - late_fraction * (t_last - t_first)``, ``t_first`` and
        ``t_last`` the first and last aligned times.

    Returns
    -------
    Comparison
        The figures (described below) and the aligned data.

    Raises
    ------
    ConfigError
        If an argument has the wrong type or value; the message names it.
    DataError
        If a table lacks a column, has duplicate rows, the runs have different
        classes or logit coordinates, the reference has several replicas, no
        reference record lies in the segment, or the simulated runs' steps do not
        overlap the reference's; the message names the table and run.

    Notes
    -----
    *Alignment.* Every table is pivoted to one column per key (class and
    coordinate; observable; class pair; LCA depth and same-class flag) and one
    row per record step. The simulated values are interpolated linearly in the
    step onto the reference steps inside the segment and inside every replica's
    recorded range (one simulator step is one SGD step). Class-mean logit
    coordinates are logits in each run's class order (the order classes appear
    in its ``class_means`` table); when both runs have as many coordinates as
    classes, the simulated coordinates are renamed to the reference's class
    order by class name.

    *Figures* (rows of :attr:`Comparison.figures`; ``y`` the reference, ``ŷ``
    the mean over replicas, sums over the aligned steps ``t``):

    * ``class_means``: per class and coordinate, ``r2`` :math:`= 1 -
      \sum_t (y_t - \hat y_t)^2 / \sum_t (y_t - \bar y)^2` (NaN when the
      reference is constant, unless the prediction is exact: 1) and ``rmse``
      :math:`= \sqrt{\operatorname{mean}_t (y_t - \hat y_t)^2}`; aggregates
      ``r2_pooled`` (every class and coordinate pooled, around their grand
      mean), ``r2_mean`` (mean of the per-series R², NaN ignored) and ``rmse``.
    * ``loss``, ``accuracy`` (from ``metrics``): ``r2``, ``rmse``,
      ``final_reference``, ``final_simulated`` and ``final_difference``
      (simulated minus reference at the last aligned step).
    * ``impact``: per checkpoint (``step`` set), ``pearson_offdiag``,
      ``spearman_offdiag`` (upper triangle without the diagonal) and
      ``pearson_all``, ``spearman_all`` (with it), between the reference and
      predicted matrices (NaN if either is constant there); aggregates
      ``<statistic>_mean`` over all checkpoints and ``<statistic>_late`` over
      the late ones. Spearman is Pearson's correlation of average ranks.
    * ``elasticity_curve``: per checkpoint and group (``class`` = ``"same"`` or
      ``"different"`` class pairs, ``coordinate`` = the LCA depth),
      ``relative_error`` :math:`= (\hat y - y)/|y|` (NaN where :math:`y = 0`);
      per group (``step`` NaN) and overall ``mean_abs_relative_error``; per
      checkpoint ``mean_abs_relative_error`` and ``spearman_depth`` (rank
      correlation of the two curves over all groups); aggregates
      ``spearman_depth_mean``, ``spearman_depth_late`` and
      ``mean_abs_relative_error_late``.
    * ``separation_onset``: ``reference`` and ``simulated`` (of the mean
      trajectory), ``difference`` (simulated minus reference), and with several
      replicas ``replica_mean``, ``replica_std`` of the replicas' own onsets
      (NaN ignored). The onset is the first time from which the smallest margin
      :math:`\min_k (m_k[k] - \max_{j \ne k} m_k[j])` of the class-mean logits
      stays positive to the end of the segment, interpolated linearly between
      the last non-positive and the first positive record; the first time if it
      is positive throughout; NaN if it is not positive at the end. It needs as
      many logit coordinates as classes.

    Keys that do not apply are ``""`` (``class``) or NaN (``coordinate``,
    ``step``). A NaN in an input propagates to the figures that use it.

    Examples
    --------
    >>> import simnet
    >>> h = simnet.Hierarchy.preset("tiger_cat_car")
    >>> run = simnet.simulate(simnet.HFSModel(h, n_per_class=4), steps=40,
    ...                       record=10, seed=0)
    >>> other = simnet.simulate(simnet.HFSModel(h, n_per_class=4), steps=40,
    ...                         record=20, seed=1)
    >>> comparison = compare_runs(run, other, segment=(0, 20), segment_name="fit")
    >>> sorted(comparison.figures["quantity"].unique())[:3]
    ['accuracy', 'class_means', 'elasticity_curve']
    """
    if not isinstance(reference, RunResult):
        raise ConfigError(
            f"The 'reference' parameter of {_OWNER} must be a RunResult. "
            f"Got {type(reference).__name__} instead."
        )
    sim_results = _simulated_results(simulated)
    bounds = _check_segment(segment)
    if not isinstance(segment_name, str) or not segment_name:
        raise ConfigError(
            f"The 'segment_name' parameter of {_OWNER} must be a non-empty string. "
            f"Got {segment_name!r} instead."
        )
    late_fraction = check_float(
        late_fraction, "late_fraction", _OWNER, low=0.0, high=1.0, closed="right"
    )
    if hierarchy is not None and not isinstance(hierarchy, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {_OWNER} must be a Hierarchy or None. "
            f"Got {type(hierarchy).__name__} instead."
        )

    ref_tables = _reference_tables(reference)
    sim_runs = [
        (f"simulated run {i}{label}", tables)
        for i, result in enumerate(sim_results)
        for label, tables in _replica_tables(result, i)
    ]
    notes: list[str] = []
    where = f"segment {segment_name!r}"
    series: dict[str, AlignedSeries] = {}

    def present(name: str) -> bool:
        have = [name in tables for _, tables in sim_runs]
        if any(have) and not all(have):
            missing = [who for (who, _), h in zip(sim_runs, have, strict=True) if not h]
            raise DataError(
                f"Some simulated runs have a {name!r} table and others do not "
                f"({', '.join(missing)} lacks it); replicas must record the same "
                "tables."
            )
        if name not in ref_tables:
            notes.append(
                f"{where}: {name} skipped: the reference has no {name!r} table."
            )
            return False
        if not all(have):
            notes.append(
                f"{where}: {name} skipped: the simulated runs have no {name!r} table."
            )
            return False
        return True

    # class means
    if present("class_means"):
        ref_grid = _grid(ref_tables["class_means"], "class_means", "the reference")
        sim_grids = [_grid(t["class_means"], "class_means", w) for w, t in sim_runs]
        sim_grids = [
            _relabel_logits(ref_grid, g, w)
            for (w, _), g in zip(sim_runs, sim_grids, strict=True)
        ]
        series["class_means"] = _align(
            "class_means",
            ref_grid,
            sim_grids,
            sim_runs,
            bounds,
            where,
            exact=True,
            notes=notes,
        )
    # loss and accuracy
    if present("metrics"):
        ref_grid = _grid(ref_tables["metrics"], "metrics", "the reference")
        sim_grids = [_grid(t["metrics"], "metrics", w) for w, t in sim_runs]
        wanted = [(m,) for m in _CURVE_METRICS if (m,) in ref_grid.keys]
        common = [k for k in wanted if all(k in g.keys for g in sim_grids)]
        for key in wanted:
            if key not in common:
                notes.append(
                    f"{where}: {key[0]} skipped: the simulated runs do not record it."
                )
        if not wanted:
            notes.append(
                f"{where}: loss and accuracy skipped: the reference's metrics table "
                "records neither."
            )
        if common:
            series["metrics"] = _align(
                "metrics",
                ref_grid.select(common),
                [g.select(common) for g in sim_grids],
                sim_runs,
                bounds,
                where,
                notes=notes,
            )
    # impact matrix
    if present("impact"):
        ref_grid = _grid(ref_tables["impact"], "impact", "the reference")
        sim_grids = [_grid(t["impact"], "impact", w) for w, t in sim_runs]
        series["impact"] = _align(
            "impact",
            ref_grid,
            sim_grids,
            sim_runs,
            bounds,
            where,
            exact=True,
            notes=notes,
        )
    # elasticity curve
    if hierarchy is not None:
        if "impact" not in series:
            raise DataError(
                f"The 'hierarchy' parameter of {_OWNER} asks for elasticity curves "
                "recomputed from the 'impact' tables, but the reference or the "
                "simulated runs have no 'impact' table."
            )
        series["elasticity_curve"] = _curve_from_impact(series["impact"], hierarchy)
    elif present("elasticity_curve"):
        ref_grid = _grid(
            ref_tables["elasticity_curve"], "elasticity_curve", "the reference"
        )
        sim_grids = [
            _grid(t["elasticity_curve"], "elasticity_curve", w) for w, t in sim_runs
        ]
        series["elasticity_curve"] = _align(
            "elasticity_curve",
            ref_grid,
            sim_grids,
            sim_runs,
            bounds,
            where,
            notes=notes,
            exact=True,
            hint=" Pass hierarchy= to recompute both curves with the same depths.",
        )

    if not series:
        raise DataError(
            f"Nothing to compare: {_OWNER} needs at least one of the tables "
            f"{', '.join(repr(t) for t in _TABLES)} in the reference and in every "
            f"simulated run. The reference has {sorted(ref_tables)!r}; the first "
            f"simulated run has {sorted(sim_runs[0][1])!r}."
        )
    rows: list[tuple[Any, ...]] = []
    if "class_means" in series:
        rows += _class_mean_rows(series["class_means"])
    if "metrics" in series:
        rows += _metric_rows(series["metrics"])
    if "impact" in series:
        rows += _impact_rows(series["impact"], late_fraction)
    if "elasticity_curve" in series:
        rows += _curve_rows(series["elasticity_curve"], late_fraction)
    if "class_means" in series:
        onset_rows, onset_note = _onset_rows(series["class_means"])
        rows += onset_rows
        if onset_note:
            notes.append(f"{where}: {onset_note}")

    figures = pd.DataFrame(
        rows, columns=["quantity", "statistic", "class", "coordinate", "step", "value"]
    )
    figures.insert(0, "segment", segment_name)
    figures = _typed_figures(figures)
    n_replicas = len(sim_runs)
    part = AlignedRuns("", segment_name, bounds, n_replicas, series)
    return Comparison(figures, (part,), tuple(notes))


# --------------------------------------------------------------------------------------
# inputs
# --------------------------------------------------------------------------------------


def _simulated_results(simulated: object) -> list[RunResult]:
    if isinstance(simulated, RunResult):
        return [simulated]
    if isinstance(simulated, Sequence) and not isinstance(simulated, str):
        results = list(simulated)
        if results and all(isinstance(r, RunResult) for r in results):
            return results
    raise ConfigError(
        f"The 'simulated' parameter of {_OWNER} must be a RunResult or a non-empty "
        f"sequence of RunResult. Got {simulated!r} instead."
    )


def _check_segment(segment: object) -> tuple[float, float] | None:
    if segment is None:
        return None
    ok = isinstance(segment, Sequence) and not isinstance(segment, str)
    if ok and len(segment) == 2:
        try:
            t0, t1 = (
                check_float(segment[0], "segment", _OWNER),
                check_float(segment[1], "segment", _OWNER),
            )
        except ConfigError:
            ok = False
        else:
            ok = t0 <= t1
    else:
        ok = False
    if not ok:
        raise ConfigError(
            f"The 'segment' parameter of {_OWNER} must be None or a pair (t0, t1) of "
            f"finite floats with t0 <= t1. Got {segment!r} instead."
        )
    return (t0, t1)


def _reference_tables(reference: RunResult) -> dict[str, pd.DataFrame]:
    tables = {n: t for n, t in reference.tables.items() if n in _TABLES}
    out = {}
    for name, frame in tables.items():
        if "replica" in frame.columns:
            values = pd.unique(frame["replica"])
            if len(values) > 1:
                raise DataError(
                    f"The reference run's {name!r} table holds {len(values)} "
                    "replicas (a 'replica' column); the reference must be one run. "
                    "Select one replica, or pass the ensemble as 'simulated'."
                )
            frame = frame.drop(columns="replica")
        out[name] = frame
    return out


def _replica_tables(
    result: RunResult, index: int
) -> list[tuple[str, dict[str, pd.DataFrame]]]:
    """Split a run into replicas along the ``replica`` column of its tables."""
    tables = {n: t for n, t in result.tables.items() if n in _TABLES}
    split = {n: t for n, t in tables.items() if "replica" in t.columns}
    if not split:
        return [("", tables)]
    replica_sets = {n: list(pd.unique(t["replica"])) for n, t in split.items()}
    names = list(replica_sets)
    values = replica_sets[names[0]]
    for name in names[1:]:
        if set(replica_sets[name]) != set(values):
            raise DataError(
                f"Simulated run {index}: the 'replica' columns of its {names[0]!r} "
                f"and {name!r} tables hold different replicas."
            )
    out = []
    for value in values:
        run = {
            n: (t[t["replica"] == value].drop(columns="replica") if n in split else t)
            for n, t in tables.items()
        }
        out.append((f" (replica {value})", run))
    return out


@dataclass
class _Grid:
    """One table pivoted: record steps x keys."""

    steps: np.ndarray
    times: np.ndarray
    keys: list[tuple[Any, ...]]
    values: np.ndarray

    def select(self, keys: list[tuple[Any, ...]]) -> _Grid:
        idx = [self.keys.index(k) for k in keys]
        return _Grid(self.steps, self.times, list(keys), self.values[:, idx])


def _grid(frame: pd.DataFrame, name: str, who: str) -> _Grid:
    keys, value = _TABLES[name]
    needed = ("step", "time", *keys, value)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(
            f"The {name!r} table of {who} must be a pandas DataFrame. "
            f"Got {type(frame).__name__} instead."
        )
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(
            f"The {name!r} table of {who} lacks the column(s) {missing}; it has "
            f"{list(frame.columns)}."
        )
    if frame.empty:
        raise DataError(f"The {name!r} table of {who} has no rows.")
    try:
        step = frame["step"].to_numpy(dtype=np.int64)
        time = frame["time"].to_numpy(dtype=np.float64)
        val = frame[value].to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"The 'step', 'time' and {value!r} columns of the {name!r} table of "
            f"{who} must be numeric: {exc}"
        ) from exc
    steps, step_idx = np.unique(step, return_inverse=True)
    codes, uniques = pd.MultiIndex.from_frame(frame[list(keys)]).factorize()
    key_list = [tuple(_plain(v) for v in k) for k in uniques.tolist()]
    n_t, n_k = steps.shape[0], len(key_list)
    counts = np.zeros((n_t, n_k), dtype=np.int64)
    np.add.at(counts, (step_idx, codes), 1)
    if counts.max() > 1:
        t, k = np.argwhere(counts > 1)[0]
        raise DataError(
            f"The {name!r} table of {who} has {counts[t, k]} rows for "
            f"{dict(zip(keys, key_list[k], strict=True))} at step {steps[t]}. "
            "Split replicas with a 'replica' column."
        )
    if counts.min() == 0:
        t, k = np.argwhere(counts == 0)[0]
        raise DataError(
            f"The {name!r} table of {who} has no row for "
            f"{dict(zip(keys, key_list[k], strict=True))} at step {steps[t]}; "
            "every key must be recorded at every record step."
        )
    values = np.empty((n_t, n_k))
    values[step_idx, codes] = val
    times = np.empty(n_t)
    times[step_idx] = time
    return _Grid(steps, times, key_list, values)


def _plain(value: Any) -> Any:
    """Numpy scalars as Python scalars, so keys compare and print plainly."""
    return value.item() if isinstance(value, np.generic) else value


def _relabel_logits(ref: _Grid, sim: _Grid, who: str) -> _Grid:
    """Rename a simulated run's logit coordinates to the reference's class order."""
    ref_classes = list(dict.fromkeys(k[0] for k in ref.keys))
    sim_classes = list(dict.fromkeys(k[0] for k in sim.keys))
    if set(ref_classes) != set(sim_classes):
        only_ref = [c for c in ref_classes if c not in sim_classes]
        only_sim = [c for c in sim_classes if c not in ref_classes]
        raise DataError(
            f"The 'class_means' tables of the reference and {who} have different "
            f"classes: only in the reference {only_ref}, only in {who} {only_sim}."
        )
    ref_coords = sorted({k[1] for k in ref.keys})
    sim_coords = sorted({k[1] for k in sim.keys})
    k = len(ref_classes)
    logits = ref_coords == list(range(k)) and sim_coords == list(range(k))
    if not logits:
        return sim
    rename = {j: ref_classes.index(c) for j, c in enumerate(sim_classes)}
    keys = [(c, rename[j]) for c, j in sim.keys]
    return _Grid(sim.steps, sim.times, keys, sim.values)


def _align(
    name: str,
    ref: _Grid,
    sims: list[_Grid],
    sim_runs: list[tuple[str, dict[str, pd.DataFrame]]],
    bounds: tuple[float, float] | None,
    where: str,
    *,
    exact: bool = False,
    hint: str = "",
    notes: list[str] | None = None,
) -> AlignedSeries:
    """Put every simulated grid on the reference steps inside the segment."""
    for (who, _), sim in zip(sim_runs, sims, strict=True):
        missing = [k for k in ref.keys if k not in sim.keys]
        extra = [k for k in sim.keys if k not in ref.keys] if exact else []
        if missing or extra:
            what = (
                f"the reference has {missing[0]!r} and {who} does not"
                if missing
                else f"{who} has {extra[0]!r} and the reference does not"
            )
            raise DataError(
                f"The {name!r} tables of the reference and {who} have different "
                f"keys {_TABLES[name][0]}: {what}.{hint}"
            )
    keep = np.ones(ref.steps.shape[0], dtype=bool)
    if bounds is not None:
        keep &= (ref.times >= bounds[0]) & (ref.times <= bounds[1])
        if not keep.any():
            raise DataError(
                f"No record time of the reference's {name!r} table lies in {where} "
                f"[{bounds[0]:g}, {bounds[1]:g}]; it records times "
                f"{ref.times[0]:g} to {ref.times[-1]:g}."
            )
    low = max(int(s.steps[0]) for s in sims)
    high = min(int(s.steps[-1]) for s in sims)
    inside = keep & (ref.steps >= low) & (ref.steps <= high)
    if not inside.any():
        raise DataError(
            f"The simulated runs' {name!r} tables record steps {low} to {high}, "
            f"which do not overlap the reference's steps "
            f"{int(ref.steps[keep][0])} to {int(ref.steps[keep][-1])} in {where}."
        )
    dropped = int(keep.sum() - inside.sum())
    if dropped and notes is not None:
        notes.append(
            f"{where}: {name}: {dropped} reference record(s) outside the simulated "
            f"runs' steps {low} to {high} were left out."
        )
    steps = ref.steps[inside]
    replicas = np.stack(
        [
            _interpolate(
                sim.steps, sim.values[:, [sim.keys.index(k) for k in ref.keys]], steps
            )
            for sim in sims
        ]
    )
    return AlignedSeries(
        name,
        _TABLES[name][0],
        tuple(ref.keys),
        steps,
        ref.times[inside],
        ref.values[inside],
        replicas,
    )


def _interpolate(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> np.ndarray:
    """Linear interpolation of the rows of ``y`` (at sorted ``x``) onto ``x_new``.

    ``x_new`` lies in ``[x[0], x[-1]]``; values at the nodes are copied exactly.
    """
    if x.shape[0] == 1:
        return np.repeat(y, x_new.shape[0], axis=0)
    right = np.clip(np.searchsorted(x, x_new, side="left"), 1, x.shape[0] - 1)
    left = right - 1
    width = (x[right] - x[left]).astype(np.float64)
    w = ((x_new - x[left]) / width)[:, None]
    out = (1.0 - w) * y[left] + w * y[right]
    exact = x[right] == x_new
    out[exact] = y[right[exact]]
    exact = x[left] == x_new
    out[exact] = y[left[exact]]
    return out


def _curve_from_impact(impact: AlignedSeries, hierarchy: Hierarchy) -> AlignedSeries:
    """Elasticity curves of both runs from the aligned impact matrices."""
    classes, ref_e = impact.matrix()
    _, sim_e = impact.matrix(impact.replicas)
    index = hierarchy.class_index
    missing = [c for c in classes if c not in index]
    extra = [c for c in hierarchy.classes if c not in classes]
    if missing or extra:
        what = (
            f"the run's class {missing[0]!r} is not in the hierarchy"
            if missing
            else f"the hierarchy's class {extra[0]!r} is not a class of the runs"
        )
        raise ConfigError(
            f"The 'hierarchy' parameter of {_OWNER} must have the runs' classes: "
            f"{what}."
        )
    perm = np.array([index[c] for c in classes])
    lca = hierarchy.lca_depth_matrix()[np.ix_(perm, perm)]
    same = np.eye(len(classes), dtype=bool)
    keys = sorted(
        {(int(d), bool(s)) for d, s in zip(lca.ravel(), same.ravel(), strict=True)},
        key=lambda k: (k[1], k[0]),
    )
    weights = np.zeros((len(classes) ** 2, len(keys)))
    for g, (d, s) in enumerate(keys):
        mask = ((lca == d) & (same == s)).ravel()
        weights[mask, g] = 1.0 / mask.sum()
    flat = (len(classes) ** 2,)
    return AlignedSeries(
        "elasticity_curve",
        _TABLES["elasticity_curve"][0],
        tuple(keys),
        impact.steps,
        impact.times,
        ref_e.reshape(*ref_e.shape[:-2], *flat) @ weights,
        sim_e.reshape(*sim_e.shape[:-2], *flat) @ weights,
    )


# --------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------


def _r2(ss_res: np.ndarray, ss_tot: np.ndarray) -> np.ndarray:
    ss_res, ss_tot = np.asarray(ss_res, float), np.asarray(ss_tot, float)
    out = np.full(ss_res.shape, np.nan)
    positive = ss_tot > 0
    out[positive] = 1.0 - ss_res[positive] / ss_tot[positive]
    out[(ss_tot == 0) & (ss_res == 0)] = 1.0
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.shape[0] < 2 or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    if x.min() == x.max() or y.min() == y.max():
        return math.nan  # constant: the centred vectors would be rounding noise
    x = x - x.mean()
    y = y - y.mean()
    den = math.sqrt(float(x @ x) * float(y @ y))
    if den == 0.0:
        return math.nan
    return float(np.clip(float(x @ y) / den, -1.0, 1.0))


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        return math.nan
    return _pearson(rankdata(x), rankdata(y))


def _nanmean(values: np.ndarray | list[float]) -> float:
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else math.nan


def _late_mask(times: np.ndarray, late_fraction: float) -> np.ndarray:
    start = times[-1] - late_fraction * (times[-1] - times[0])
    return times >= start


def _row(
    quantity: str,
    statistic: str,
    value: float,
    *,
    cls: str = "",
    coordinate: float = math.nan,
    step: float = math.nan,
) -> tuple[Any, ...]:
    return (quantity, statistic, cls, float(coordinate), float(step), float(value))


def _class_mean_rows(s: AlignedSeries) -> list[tuple[Any, ...]]:
    q = Quantity.CLASS_MEANS.value
    y, pred = s.reference, s.mean
    resid = y - pred
    ss_res = np.sum(resid**2, axis=0)
    ss_tot = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    r2 = _r2(ss_res, ss_tot)
    rmse = np.sqrt(ss_res / y.shape[0])
    rows = []
    for col, (cls, coord) in enumerate(s.keys):
        rows.append(_row(q, "r2", r2[col], cls=str(cls), coordinate=coord))
        rows.append(_row(q, "rmse", rmse[col], cls=str(cls), coordinate=coord))
    pooled = _r2(np.sum(resid**2), np.sum((y - y.mean()) ** 2))
    rows.append(_row(q, "r2_pooled", float(pooled)))
    rows.append(_row(q, "r2_mean", _nanmean(r2)))
    rows.append(_row(q, "rmse", float(np.sqrt(np.mean(resid**2)))))
    return rows


def _metric_rows(s: AlignedSeries) -> list[tuple[Any, ...]]:
    rows = []
    y_all, pred_all = s.reference, s.mean
    for col, (name,) in enumerate(s.keys):
        y, pred = y_all[:, col], pred_all[:, col]
        ss_res = np.sum((y - pred) ** 2)
        ss_tot = np.sum((y - y.mean()) ** 2)
        rows += [
            _row(name, "r2", float(_r2(ss_res, ss_tot))),
            _row(name, "rmse", float(np.sqrt(ss_res / y.shape[0]))),
            _row(name, "final_reference", y[-1]),
            _row(name, "final_simulated", pred[-1]),
            _row(name, "final_difference", pred[-1] - y[-1]),
        ]
    return rows


def _impact_rows(s: AlignedSeries, late_fraction: float) -> list[tuple[Any, ...]]:
    q = Quantity.IMPACT.value
    _, ref = s.matrix()
    _, pred = s.matrix(s.mean)
    k = ref.shape[-1]
    triangles = {"offdiag": np.triu_indices(k, 1), "all": np.triu_indices(k, 0)}
    per_stat: dict[str, list[float]] = {}
    rows = []
    for t, step in enumerate(s.steps):
        for part, (i, j) in triangles.items():
            x, y = ref[t][i, j], pred[t][i, j]
            for method, corr in (("pearson", _pearson), ("spearman", _spearman)):
                name = f"{method}_{part}"
                value = corr(x, y)
                per_stat.setdefault(name, []).append(value)
                rows.append(_row(q, name, value, step=step))
    late = _late_mask(s.times, late_fraction)
    for name in ("pearson_offdiag", "spearman_offdiag", "pearson_all", "spearman_all"):
        values = np.array(per_stat[name])
        rows.append(_row(q, f"{name}_mean", _nanmean(values)))
        rows.append(_row(q, f"{name}_late", _nanmean(values[late])))
    return rows


def _curve_rows(s: AlignedSeries, late_fraction: float) -> list[tuple[Any, ...]]:
    q = Quantity.ELASTICITY_CURVE.value
    y, pred = s.reference, s.mean
    rel = np.full(y.shape, np.nan)
    nonzero = y != 0
    rel[nonzero] = (pred[nonzero] - y[nonzero]) / np.abs(y[nonzero])
    labels = [(_SAME if same else _DIFFERENT, float(depth)) for depth, same in s.keys]
    rows = []
    step_mare, step_rho = [], []
    for t, step in enumerate(s.steps):
        for col, (cls, depth) in enumerate(labels):
            rows.append(
                _row(
                    q,
                    "relative_error",
                    rel[t, col],
                    cls=cls,
                    coordinate=depth,
                    step=step,
                )
            )
        step_mare.append(_nanmean(np.abs(rel[t])))
        step_rho.append(_spearman(y[t], pred[t]))
        rows.append(_row(q, "mean_abs_relative_error", step_mare[-1], step=step))
        rows.append(_row(q, "spearman_depth", step_rho[-1], step=step))
    for col, (cls, depth) in enumerate(labels):
        rows.append(
            _row(
                q,
                "mean_abs_relative_error",
                _nanmean(np.abs(rel[:, col])),
                cls=cls,
                coordinate=depth,
            )
        )
    late = _late_mask(s.times, late_fraction)
    rows += [
        _row(q, "mean_abs_relative_error", _nanmean(np.abs(rel))),
        _row(q, "mean_abs_relative_error_late", _nanmean(np.abs(rel[late]))),
        _row(q, "spearman_depth_mean", _nanmean(step_rho)),
        _row(q, "spearman_depth_late", _nanmean(np.array(step_rho)[late])),
    ]
    return rows


def _logit_tensor(s: AlignedSeries, values: np.ndarray) -> np.ndarray | None:
    """Class-mean logits as (..., K, K) arrays, or None if not K coordinates."""
    classes = list(dict.fromkeys(k[0] for k in s.keys))
    n = len(classes)
    coords = sorted({k[1] for k in s.keys})
    if coords != list(range(n)):
        return None
    index = {c: i for i, c in enumerate(classes)}
    out = np.full((*values.shape[:-1], n, n), np.nan)
    for col, (c, j) in enumerate(s.keys):
        out[..., index[c], j] = values[..., col]
    return out


def _smallest_margin(means: np.ndarray) -> np.ndarray:
    """min over k of ``m_k[k] - max_{j != k} m_k[j]`` for (..., K, K) class means."""
    n = means.shape[-1]
    own = np.diagonal(means, axis1=-2, axis2=-1)
    others = np.where(np.eye(n, dtype=bool), -np.inf, means)
    return np.min(own - others.max(axis=-1), axis=-1)


def _onset_time(times: np.ndarray, margin: np.ndarray) -> float:
    """First time from which ``margin`` stays positive, interpolated; NaN if never.

    Parameters
    ----------
    times : ndarray, shape (T,)
        Increasing record times.
    margin : ndarray, shape (T,)
        The smallest class-mean margin at each time (non-finite counts as not
        positive).

    Returns
    -------
    float
        ``times[0]`` if the margin is positive throughout; otherwise the linear
        crossing between the last non-positive record and the next; NaN if the
        margin is not positive at the last record.

    Examples
    --------
    >>> _onset_time(np.array([0.0, 1.0, 2.0, 3.0]), np.array([-1.0, 1.0, -1.0, 3.0]))
    2.25
    """
    positive = np.isfinite(margin) & (margin > 0)
    if not positive[-1]:
        return math.nan
    bad = np.flatnonzero(~positive)
    if bad.size == 0:
        return float(times[0])
    i = int(bad[-1]) + 1
    g0, g1 = float(margin[i - 1]), float(margin[i])
    if not np.isfinite(g0):
        return float(times[i])
    frac = g0 / (g0 - g1)
    return float(times[i - 1] + frac * (times[i] - times[i - 1]))


def _onset_rows(s: AlignedSeries) -> tuple[list[tuple[Any, ...]], str]:
    q = Quantity.SEPARATION_ONSET.value
    ref = _logit_tensor(s, s.reference)
    if ref is None:
        return [], (
            "separation_onset skipped: the class means do not have one logit "
            "coordinate per class."
        )
    pred = _logit_tensor(s, s.mean)
    reps = _logit_tensor(s, s.replicas)
    t_ref = _onset_time(s.times, _smallest_margin(ref))
    t_sim = _onset_time(s.times, _smallest_margin(pred))
    rows = [
        _row(q, "reference", t_ref),
        _row(q, "simulated", t_sim),
        _row(q, "difference", t_sim - t_ref),
    ]
    if s.n_replicas > 1:
        each = np.array([_onset_time(s.times, _smallest_margin(r)) for r in reps])
        finite = each[np.isfinite(each)]
        rows.append(_row(q, "replica_mean", _nanmean(finite)))
        std = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
        rows.append(_row(q, "replica_std", std))
    return rows, ""


# --------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------


def _format_number(value: float) -> str:
    """How the report writes a number: 4 significant digits, ``n/a`` for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(float(value), ".4g")


def _escape(text: object) -> str:
    return str(text).replace("|", r"\|").replace("\n", " ")


def _markdown_table(frame: pd.DataFrame, *, numeric: set[str]) -> list[str]:
    columns = list(frame.columns)
    header = "| " + " | ".join(_escape(c) for c in columns) + " |"
    rule = "|" + "|".join("---:" if c in numeric else "---" for c in columns) + "|"
    lines = [header, rule]
    for record in frame.itertuples(index=False):
        cells = [
            _format_number(v) if c in numeric else _escape(v)
            for c, v in zip(columns, record, strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------

_CSV_NAME = "agreement.csv"
_MD_NAME = "agreement.md"


def read_comparison_figures(path: str | os.PathLike) -> pd.DataFrame:
    """Read the figures table written by :func:`write_comparison_report`.

    Parameters
    ----------
    path : str or os.PathLike
        An ``agreement.csv`` file.

    Returns
    -------
    pandas.DataFrame
        The :attr:`Comparison.figures` table it was written from: empty strings
        stay empty strings, NaN stays NaN, numbers round-trip exactly.

    Raises
    ------
    DataError
        If the file is missing or lacks a figures column.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"The comparison figures file {path} is missing.")
    frame = pd.read_csv(
        path,
        dtype={c: str for c in _TEXT_COLUMNS},
        keep_default_na=False,
        na_values={"coordinate": [""], "step": [""], "value": [""]},
    )
    missing = [c for c in FIGURE_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"The comparison figures file {path} lacks the column(s) {missing}."
        )
    return _typed_figures(frame)


def _file_stem(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model).strip("._") or "model"


def write_comparison_report(
    comparisons: Comparison | Sequence[Comparison] | Mapping[str, Comparison],
    out_dir: str | os.PathLike,
    *,
    figures: bool = True,
) -> list[Path]:
    """Write the agreement figures as CSV, a Markdown report and PNG figures.

    Parameters
    ----------
    comparisons : Comparison, sequence of Comparison or mapping of str to Comparison
        What to report; a sequence or mapping is joined by
        :meth:`Comparison.concat` (a mapping names the models).
    out_dir : str or os.PathLike
        Folder to write to; created if needed. Files of the same name are replaced.
    figures : bool, default True
        Draw PNG figures (when matplotlib can be imported; otherwise the Markdown
        says so and none are drawn).

    Returns
    -------
    list of pathlib.Path
        ``agreement.csv``, ``agreement.md``, then the PNG files: per model,
        ``trajectories.png`` (:func:`simnet.plotting.plot_trajectory_comparison`),
        ``impact.png`` (:func:`~simnet.plotting.plot_impact_comparison`, first and
        last aligned checkpoints) and ``elasticity_curves.png``
        (:func:`~simnet.plotting.plot_curve_comparison`), each present when its
        table was compared; with named models the file names end in
        ``_<model>``.

    Raises
    ------
    ConfigError
        If ``comparisons`` or ``figures`` has the wrong type.

    Notes
    -----
    Every file is written through :func:`simnet.io.atomic_write`. The CSV holds
    :attr:`Comparison.figures` (read it back with :func:`read_comparison_figures`).
    """
    owner = "write_comparison_report"
    if isinstance(comparisons, Comparison):
        comparison = comparisons
    else:
        if not isinstance(comparisons, Mapping | Sequence) or isinstance(
            comparisons, str
        ):
            raise ConfigError(
                f"The 'comparisons' parameter of {owner} must be a Comparison, or a "
                f"sequence or mapping of them. Got {type(comparisons).__name__}."
            )
        comparison = Comparison.concat(comparisons)
    if not isinstance(figures, bool):
        raise ConfigError(
            f"The 'figures' parameter of {owner} must be a bool. "
            f"Got {figures!r} instead."
        )
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)

    pngs: list[Path] = []
    figure_lines: list[str] = []
    if figures:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            figure_lines = [
                "Figures were not drawn: matplotlib is not installed "
                "(`pip install 'simnet[plot]'`)."
            ]
        else:
            pngs, figure_lines = _draw_figures(comparison, folder)

    markdown = comparison.to_markdown()
    if figure_lines:
        markdown += "\n## Figures\n\n" + "\n".join(figure_lines).rstrip() + "\n"
    csv_path = folder / _CSV_NAME
    md_path = folder / _MD_NAME
    atomic_write(csv_path, lambda p: comparison.figures.to_csv(p, index=False))
    atomic_write_text(md_path, markdown)
    return [csv_path, md_path, *pngs]


def _draw_figures(comparison: Comparison, folder: Path) -> tuple[list[Path], list[str]]:
    from .. import plotting

    plt = plotting._pyplot()
    written: list[Path] = []
    lines: list[str] = []
    named = comparison.models != [""]
    for model in comparison.models:
        suffix = f"_{_file_stem(model)}" if named else ""
        compared = {n for p in comparison.parts(model) for n in p.series}
        jobs = [
            (
                "trajectories",
                "class_means",
                plotting.plot_trajectory_comparison,
                "class-mean logit trajectories",
            ),
            ("impact", "impact", plotting.plot_impact_comparison, "impact matrices"),
            (
                "elasticity_curves",
                "elasticity_curve",
                plotting.plot_curve_comparison,
                "elasticity curves by LCA depth",
            ),
        ]
        for stem, table, draw, caption in jobs:
            if table not in compared:
                continue
            fig = draw(comparison, model=model)
            path = folder / f"{stem}{suffix}.png"
            try:
                atomic_write(path, lambda p, fig=fig: fig.savefig(p, format="png"))
            finally:
                plt.close(fig)
            written.append(path)
            label = f"{caption} (model `{model}`)" if named else caption
            lines += [f"![{label}]({path.name})", ""]
    return written, lines
