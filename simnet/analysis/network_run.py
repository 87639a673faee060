"""What the fitting needs from a network run: classes, sizes, E(t), initial logits.

A network run is a :class:`~simnet.RunResult` of :func:`simnet.networks.train_mlp`
(or of ``simnet mlp``), loaded from a directory or held in memory. Its tables have the
simulator's layout, so a simulator run can stand in for a network as well (that is how
the fits are tested: a simulated "network" with known parameters).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..hierarchy import Hierarchy
from ..results import RunResult
from .impacts import class_mean_trajectory

__all__ = ["NetworkRun", "impact_series"]


def impact_series(
    impact: pd.DataFrame, classes: tuple[str, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``impact`` table as arrays: steps (T,), times (T,) and E (T, K, K).

    Rows and columns follow ``classes``. Raises :class:`DataError` when a class
    pair is missing at a step.
    """
    missing = {"step", "time", "class_a", "class_b", "value"} - set(impact.columns)
    if missing:
        raise DataError(f"The 'impact' table lacks the column(s) {sorted(missing)}.")
    wide = impact.pivot_table(
        index=["step", "time"], columns=["class_a", "class_b"], values="value"
    )
    cols = pd.MultiIndex.from_product([list(classes), list(classes)])
    absent = cols.difference(wide.columns)
    if len(absent):
        a, b = absent[0]
        raise DataError(
            f"The 'impact' table has no entry for the class pair ({a!r}, {b!r})."
        )
    wide = wide.reindex(columns=cols)
    if wide.isna().to_numpy().any():
        step = wide.index[wide.isna().any(axis=1)][0][0]
        raise DataError(f"The 'impact' table is incomplete at step {step}.")
    k = len(classes)
    steps = wide.index.get_level_values("step").to_numpy(dtype=np.int64)
    times = wide.index.get_level_values("time").to_numpy(dtype=np.float64)
    return steps, times, wide.to_numpy(dtype=np.float64).reshape(-1, k, k)


@dataclass(frozen=True, eq=False)
class NetworkRun:
    """The pieces of a network run that the fits and comparisons use.

    Attributes
    ----------
    result : RunResult
        The run itself.
    classes : tuple of str
        Class names, in label order.
    class_sizes : ndarray of int64, shape (K,)
        Training samples per class.
    batch_size : int
        Minibatch size of the training (1 when unknown).
    steps, times : ndarray, shape (T,)
        Record steps and times of the ``class_means`` table.
    means : ndarray, shape (T, K, p)
        Class-mean logits at the record steps.
    impact_steps, impact_times : ndarray, shape (T_E,)
        Record steps and times of the ``impact`` table (empty when absent).
    impact : ndarray, shape (T_E, K, K)
        The network's class-level impact matrix E(t) (empty when absent).
    hierarchy : Hierarchy or None
        The class hierarchy the run was recorded with, if any (a flat one is
        ``None``).
    """

    result: RunResult
    classes: tuple[str, ...]
    class_sizes: np.ndarray
    batch_size: int
    steps: np.ndarray
    times: np.ndarray
    means: np.ndarray
    impact_steps: np.ndarray
    impact_times: np.ndarray
    impact: np.ndarray
    hierarchy: Hierarchy | None

    @classmethod
    def load(cls, directory: str | Path) -> NetworkRun:
        """Load a saved run directory (``simnet mlp --out DIR``)."""
        return cls.from_result(RunResult.load(directory))

    @classmethod
    def from_result(cls, result: RunResult) -> NetworkRun:
        """Extract the pieces from a run result.

        Raises
        ------
        DataError
            If the run has no ``class_means`` table, or its tables disagree on the
            classes.
        """
        if not isinstance(result, RunResult):
            raise DataError(
                "A network run must be a RunResult (or a directory holding one). "
                f"Got {type(result).__name__} instead."
            )
        if "class_means" not in result.tables:
            raise DataError(
                "The run has no 'class_means' table; record the 'class_means' "
                "observable to fit or compare a simulator to it."
            )
        config = result.config
        classes = _class_names(result)
        labels = result.state.get("labels")
        if labels is None:
            raise DataError("The run's state has no 'labels' (the sample classes).")
        labels = np.asarray(labels, dtype=np.int64)
        sizes = np.bincount(labels, minlength=len(classes)).astype(np.int64)
        if sizes.shape[0] != len(classes) or np.any(sizes == 0):
            raise DataError(
                "The run's labels do not cover its classes: counts per class "
                f"{sizes.tolist()} for {len(classes)} classes."
            )
        unknown = set(result.table("class_means")["class"].astype(str)) - set(classes)
        if unknown:
            raise DataError(
                f"The 'class_means' table names unknown classes {sorted(unknown)}."
            )
        trajectory = class_mean_trajectory(result, classes=classes)
        steps = trajectory.steps.astype(np.int64)
        times, means = trajectory.times, trajectory.means
        if "impact" in result.tables:
            i_steps, i_times, impact = impact_series(result.table("impact"), classes)
        else:
            i_steps = np.empty(0, dtype=np.int64)
            i_times = np.empty(0)
            impact = np.empty((0, len(classes), len(classes)))
        hierarchy = None
        if config.get("hierarchy"):
            candidate = Hierarchy.from_json_data(config["hierarchy"])
            if candidate.max_depth > 1:
                hierarchy = candidate
        return cls(
            result=result,
            classes=classes,
            class_sizes=sizes,
            batch_size=int(config.get("batch_size", 1) or 1),
            steps=steps,
            times=times,
            means=means,
            impact_steps=i_steps,
            impact_times=i_times,
            impact=impact,
            hierarchy=hierarchy,
        )

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    @property
    def initial_means(self) -> np.ndarray:
        """Class-mean logits at the first record (K, p)."""
        return self.means[0].copy()

    @property
    def last_step(self) -> int:
        return int(self.steps[-1])

    def require_impact(self, owner: str) -> None:
        """Raise a :class:`DataError` unless the run recorded the impact matrix."""
        if self.impact.shape[0] < 2:
            raise DataError(
                f"{owner} needs the network's impact matrix at two or more "
                "checkpoints; record the 'impact' observable."
            )


def _class_names(result: RunResult) -> tuple[str, ...]:
    config = result.config
    names = config.get("class_names")
    if names:
        return tuple(str(n) for n in names)
    if config.get("hierarchy"):
        return Hierarchy.from_json_data(config["hierarchy"]).classes
    classes = pd.unique(result.table("class_means")["class"])
    return tuple(str(c) for c in classes)
