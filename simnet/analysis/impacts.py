"""Integrated-impact estimators: A-hat(t), B-hat(t) and the rates alpha-hat, beta-hat.

The reference code of LE-SDE never computes the impact matrix from Jacobians or NTKs:
it *inverts the closed-form class-mean LE-ODE solutions* on the observed class-mean
logit trajectories (``MODEL.md`` sections 4 and 6; dossier ``le_sde.md`` sections
1.6, 1.9 and 5). This module generalises its two inversions to any number of classes
K:

* the **I model** (identity surrogate, raw features, any dimension p);
* the **L model** (projected surrogate, logits, p = K), centring the logits first.

Both give ``A-hat(t)`` and ``B-hat(t)``, estimates of the integrated impacts
``A(t) = int_0^t alpha`` and ``B(t) = int_0^t beta`` of the two-parameter impact
matrix ``E(t) = (alpha - beta) I + beta 1 1^T`` in the same convention as
:mod:`simnet.theory.le_ode` (the class-mean ODE carries the factor 1/K). Their
Savitzky-Golay derivatives estimate ``alpha(t)`` and ``beta(t)`` (:func:`impact_rates`),
which feed back into a simulator as a fitted :class:`~simnet.models.ImpactMatrix`
(:meth:`ImpactEstimate.impact_matrix`), and :func:`tail_index` gives the tail
exponent of the paper's phase-transition figure.

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021; official code
github.com/zjiayao/le_sde (``src/data_analyzer.py``).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy.signal import savgol_filter

from .._validation import check_array, check_enum, check_int
from ..errors import ConfigError, DataError
from ..models.impact import ImpactMatrix
from ..results import RunResult
from ..schedules import Piecewise

__all__ = [
    "ClassMeanTrajectory",
    "EstimatorModel",
    "ImpactEstimate",
    "class_mean_trajectory",
    "estimate_integrated_impacts",
    "impact_estimates_table",
    "impact_rates",
    "tail_index",
]

_COLUMNS = ("step", "time", "class", "coordinate", "value")

#: A value at the reference time counts as zero when it is at most this fraction of
#: the largest initial magnitude (its logarithm would be dominated by rounding).
_ZERO_RTOL = 1e-12

#: :func:`impact_rates` warns when more than ``_UNEVEN_SHARE`` of the record intervals
#: are shorter than ``1/_UNEVEN_RATIO`` of the mean spacing: the uniform grid then
#: smooths a densely recorded part (a single short last interval is harmless).
_UNEVEN_RATIO = 2.0
_UNEVEN_SHARE = 0.1


class EstimatorModel(StrEnum):
    """Which closed-form LE-ODE solution is inverted.

    ``I``: the identity surrogate ``G_k = m_k`` (raw features, any dimension);
    ``L``: the projected surrogate ``G_k = P_k m_k`` (logits, p = K; centred first).
    """

    I = "I"  # noqa: E741 - the reference code's name of the model
    L = "L"


# --------------------------------------------------------------------------------------
# class-mean trajectories
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ClassMeanTrajectory:
    """Class-mean features (usually logits) on a time grid.

    Parameters
    ----------
    steps : ndarray of int, shape (T,)
        Step (iteration) of each record, increasing.
    times : ndarray of float, shape (T,)
        Model time of each record, strictly increasing.
    means : ndarray of float, shape (T, K, p)
        ``means[m, k]`` is the mean feature of class k at record m.
    classes : tuple of str, length K
        Class names, in the order of the second axis of ``means``.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({
    ...     "step": [0, 0, 0, 0, 5, 5, 5, 5],
    ...     "time": [0.0] * 4 + [0.5] * 4,
    ...     "class": ["a", "a", "b", "b"] * 2,
    ...     "coordinate": [0, 1] * 4,
    ...     "value": [1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 0.0, 2.0],
    ... })
    >>> traj = class_mean_trajectory(table)
    >>> traj.classes, traj.means.shape, traj.times.tolist()
    (('a', 'b'), (2, 2, 2), [0.0, 0.5])
    """

    steps: np.ndarray
    times: np.ndarray
    means: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        owner = "ClassMeanTrajectory"
        means = np.array(self.means, dtype=np.float64)
        if means.ndim != 3 or means.shape[0] < 1 or means.shape[1] < 2:
            raise ConfigError(
                f"The 'means' parameter of {owner} must have shape (T, K, p) with "
                f"T >= 1 and K >= 2. Got shape {means.shape} instead."
            )
        n_t, k = means.shape[:2]
        times = check_array(self.times, "times", owner, shape=(n_t,))
        if np.any(np.diff(times) <= 0):
            raise ConfigError(
                f"The 'times' parameter of {owner} must be strictly increasing. "
                f"Got {times.tolist()!r} instead."
            )
        steps = np.array(self.steps, dtype=np.int64)
        if steps.shape != (n_t,):
            raise ConfigError(
                f"The 'steps' parameter of {owner} must have shape ({n_t},). "
                f"Got shape {steps.shape} instead."
            )
        classes = tuple(str(c) for c in self.classes)
        if len(classes) != k:
            raise ConfigError(
                f"The 'classes' parameter of {owner} must name the {k} classes. "
                f"Got {len(classes)} names instead."
            )
        for name, arr in (("steps", steps), ("times", times), ("means", means)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "classes", classes)

    @property
    def n_classes(self) -> int:
        """Number of classes K."""
        return int(self.means.shape[1])

    @property
    def n_records(self) -> int:
        """Number of records T."""
        return int(self.means.shape[0])

    def __repr__(self) -> str:
        n_t, _, p = self.means.shape
        return (
            f"ClassMeanTrajectory(n_records={n_t}, classes={list(self.classes)}, "
            f"dim={p}, times=[{self.times[0]:g}, {self.times[-1]:g}])"
        )


def class_mean_trajectory(
    source: RunResult | pd.DataFrame, *, classes: Sequence[Any] | None = None
) -> ClassMeanTrajectory:
    """Class-mean trajectory from a run's ``class_means`` table.

    Parameters
    ----------
    source : RunResult or pandas.DataFrame
        A result of :func:`simnet.simulate` or :func:`simnet.networks.train_mlp`
        recorded with the ``class_means`` observable, or that table itself (columns
        ``step, time, class, coordinate, value``; one row per record, class and
        coordinate; rows in any order).
    classes : sequence, optional
        Classes to keep, in this order (matched to the table's names as strings).
        Default: every class, in order of first appearance in the table, which for
        a table written by simnet is the run's class order (class k has logit
        coordinate k, as the L model requires). Pass the order explicitly for a
        table whose rows were reordered. The estimators assume the full set of
        classes of the run: a subset is a different, smaller model.

    Returns
    -------
    ClassMeanTrajectory
        ``steps (T,)``, ``times (T,)``, ``means (T, K, p)`` and the class names;
        records sorted by step, coordinates sorted.

    Raises
    ------
    DataError
        If the run has no ``class_means`` table, or the table lacks a column, has
        non-numeric steps, times, coordinates or values, a duplicated or missing
        (step, class, coordinate) entry, several times for one step, times that do
        not increase with the steps, fewer than two classes, or no class named in
        ``classes``.
    ConfigError
        If ``source`` is neither a RunResult nor a DataFrame, or ``classes`` is not
        a sequence of distinct names.

    Examples
    --------
    >>> from simnet import ImpactMatrix, LESDEModel, simulate
    >>> model = LESDEModel(ImpactMatrix.two_parameter(3, 0.2, 0.05), integrator="ode")
    >>> result = simulate(model, steps=20, record=10, seed=0, observe=["class_means"])
    >>> traj = class_mean_trajectory(result)
    >>> traj.steps.tolist(), traj.classes, traj.means.shape
    ([0, 10, 20], ('c0', 'c1', 'c2'), (3, 3, 3))
    """
    owner = "class_mean_trajectory"
    if isinstance(source, RunResult):
        table = source.table("class_means")
    elif isinstance(source, pd.DataFrame):
        table = source
    else:
        raise ConfigError(
            f"The 'source' parameter of {owner} must be a RunResult or a pandas "
            f"DataFrame. Got {type(source).__name__} instead."
        )
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            "The class_means table must have the columns "
            f"{', '.join(_COLUMNS)}. Missing: {', '.join(missing)}."
        )
    if table.empty:
        raise DataError("The class_means table is empty.")
    for col in ("step", "time", "coordinate", "value"):
        if not pd.api.types.is_numeric_dtype(table[col]):
            raise DataError(
                f"The '{col}' column of the class_means table must be numeric. "
                f"Got dtype {table[col].dtype} instead."
            )

    present = list(pd.unique(table["class"]))
    if classes is None:
        chosen = present
    else:
        if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence):
            raise ConfigError(
                f"The 'classes' parameter of {owner} must be a sequence of class "
                f"names. Got {classes!r} instead."
            )
        keys = [str(c) for c in present]
        chosen = []
        for c in classes:
            if str(c) not in keys:
                raise DataError(
                    f"Class {c!r} is not in the class_means table. Its classes are: "
                    f"{', '.join(keys)}."
                )
            chosen.append(present[keys.index(str(c))])
        if len({str(c) for c in chosen}) != len(chosen):
            raise ConfigError(
                f"The 'classes' parameter of {owner} must name distinct classes. "
                f"Got {list(classes)!r} instead."
            )
    if len(chosen) < 2:
        raise DataError(
            f"The class_means table must hold at least two classes. Got {len(chosen)}."
        )
    sub = table[table["class"].isin(chosen)]

    key = ["step", "class", "coordinate"]
    dup = sub.duplicated(key)
    if dup.any():
        row = sub[dup].iloc[0]
        raise DataError(
            "The class_means table has several rows for step "
            f"{row['step']}, class {row['class']!r}, coordinate {row['coordinate']}."
        )
    per_step = sub.groupby("step")["time"]
    if (per_step.nunique(dropna=False) > 1).any():
        bad = per_step.nunique(dropna=False)
        raise DataError(
            "The class_means table has several times for step "
            f"{bad[bad > 1].index[0]}: every row of a record must share one time."
        )
    steps = np.sort(pd.unique(sub["step"]))
    times = per_step.first().reindex(steps).to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise DataError(
            "The times of the class_means table must be finite and strictly "
            f"increasing with the steps. Got times {times.tolist()!r}."
        )
    coords = np.sort(pd.unique(sub["coordinate"]))

    n_t, k, p = steps.size, len(chosen), coords.size
    si = np.searchsorted(steps, sub["step"].to_numpy())
    ci = pd.Categorical(sub["class"], categories=chosen).codes
    ji = np.searchsorted(coords, sub["coordinate"].to_numpy())
    means = np.full((n_t, k, p), np.nan)
    filled = np.zeros((n_t, k, p), dtype=bool)
    means[si, ci, ji] = sub["value"].to_numpy(dtype=np.float64)
    filled[si, ci, ji] = True
    if not filled.all():
        m, c, j = np.argwhere(~filled)[0]
        raise DataError(
            f"The class_means table has no value for step {steps[m]}, class "
            f"{chosen[c]!r}, coordinate {coords[j]} ({int((~filled).sum())} entries "
            "missing in all): every record needs every class and coordinate."
        )
    return ClassMeanTrajectory(
        steps=steps.astype(np.int64),
        times=times,
        means=means,
        classes=tuple(str(c) for c in chosen),
    )


# --------------------------------------------------------------------------------------
# the estimate
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ImpactEstimate:
    """Estimated integrated impacts (and, once differentiated, rates) over time.

    Parameters
    ----------
    times : ndarray, shape (T,)
        Strictly increasing times; the estimates are relative to ``times[0]``.
    A, B : ndarray, shape (T,)
        ``A-hat(t)`` and ``B-hat(t)``, estimates of ``int_{t_0}^t alpha`` and
        ``int_{t_0}^t beta`` (NaN where no term of the estimator was usable).
    model : EstimatorModel or {"I", "L"}
        The inverted LE-ODE.
    alpha, beta : ndarray, shape (T,), optional
        Rate estimates from :func:`impact_rates` (both or neither).
    steps : ndarray of int, shape (T,), optional
        Step of each record (default ``0, 1, ..., T - 1``).
    n_classes : int, optional
        K of the trajectory (the default of :meth:`impact_matrix`).

    Examples
    --------
    >>> est = ImpactEstimate(times=[0.0, 1.0], A=[0.0, 0.5], B=[0.0, 0.1], model="I")
    >>> est.to_frame()
       step  time model quantity  value
    0     0   0.0     I        A    0.0
    1     1   1.0     I        A    0.5
    2     0   0.0     I        B    0.0
    3     1   1.0     I        B    0.1
    """

    times: np.ndarray
    A: np.ndarray
    B: np.ndarray
    model: EstimatorModel | str
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    steps: np.ndarray | None = None
    n_classes: int | None = None

    def __post_init__(self) -> None:
        owner = "ImpactEstimate"
        times = check_array(self.times, "times", owner, shape=(None,))
        n_t = times.shape[0]
        if n_t < 1 or np.any(np.diff(times) <= 0):
            raise ConfigError(
                f"The 'times' parameter of {owner} must be a non-empty, strictly "
                f"increasing array. Got {times.tolist()!r} instead."
            )
        object.__setattr__(self, "model", _as_model(self.model, owner))
        if (self.alpha is None) != (self.beta is None):
            raise ConfigError(
                f"The 'alpha' and 'beta' parameters of {owner} must be given together."
            )
        for name in ("A", "B", "alpha", "beta"):
            value = getattr(self, name)
            if value is None:
                continue
            arr = np.array(value, dtype=np.float64)
            if arr.shape != (n_t,):
                raise ConfigError(
                    f"The '{name}' parameter of {owner} must have shape ({n_t},), "
                    f"like 'times'. Got shape {arr.shape} instead."
                )
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        steps = np.arange(n_t) if self.steps is None else self.steps
        steps = np.array(steps, dtype=np.int64)
        if steps.shape != (n_t,):
            raise ConfigError(
                f"The 'steps' parameter of {owner} must have shape ({n_t},). "
                f"Got shape {steps.shape} instead."
            )
        if self.n_classes is not None:
            check_int(self.n_classes, "n_classes", owner, low=2)
        times.setflags(write=False)
        steps.setflags(write=False)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "steps", steps)

    def __repr__(self) -> str:
        rates = ", with rates" if self.has_rates else ""
        return (
            f"ImpactEstimate(model={str(self.model)!r}, n_records={self.times.size}, "
            f"times=[{self.times[0]:g}, {self.times[-1]:g}]{rates})"
        )

    @property
    def has_rates(self) -> bool:
        """Whether alpha-hat and beta-hat are present."""
        return self.alpha is not None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: columns ``step, time, model, quantity, value``.

        ``quantity`` is ``A`` and ``B``, plus ``alpha`` and ``beta`` once the rates
        are estimated; one row per record and quantity.
        """
        names = ["A", "B"] + (["alpha", "beta"] if self.has_rates else [])
        return pd.concat(
            [
                pd.DataFrame(
                    {
                        "step": self.steps,
                        "time": self.times,
                        "model": str(self.model),
                        "quantity": q,
                        "value": getattr(self, q),
                    }
                )
                for q in names
            ],
            ignore_index=True,
        )

    def impact_matrix(self, n_classes: int | None = None) -> ImpactMatrix:
        """The fitted two-parameter impact matrix with the estimated rates.

        ``ImpactMatrix.two_parameter(K, Piecewise(times, alpha-hat),
        Piecewise(times, beta-hat))``: E(t) interpolates the estimated rates linearly
        and holds them constant outside the records. This is how the reference code
        fits the LE-SDE to a network (it then integrates the LE-ODE with these rates).

        Parameters
        ----------
        n_classes : int, optional
            K (default: the number of classes of the estimated trajectory).

        Raises
        ------
        ConfigError
            If the rates are missing (call :func:`impact_rates` first), or K is
            unknown or invalid.
        DataError
            If a rate is NaN or infinite.

        Examples
        --------
        >>> est = ImpactEstimate([0.0, 1.0], [0.0, 1.0], [0.0, 0.5], "I",
        ...                      alpha=[1.0, 1.0], beta=[0.5, 0.5], n_classes=3)
        >>> est.impact_matrix().at(0.5).tolist()
        [[1.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 1.0]]
        """
        owner = "ImpactEstimate.impact_matrix"
        if not self.has_rates:
            raise ConfigError(
                f"{owner} needs the rates alpha-hat and beta-hat: call "
                "impact_rates(estimate) first."
            )
        k = self.n_classes if n_classes is None else n_classes
        if k is None:
            raise ConfigError(
                f"The 'n_classes' parameter of {owner} must be given: this estimate "
                "does not know its number of classes."
            )
        k = check_int(k, "n_classes", owner, low=2)
        if not (np.all(np.isfinite(self.alpha)) and np.all(np.isfinite(self.beta))):
            raise DataError(
                f"{owner} needs finite rates; alpha-hat or beta-hat has NaN or "
                "infinite entries."
            )
        t = tuple(self.times.tolist())
        return ImpactMatrix.two_parameter(
            k,
            Piecewise(t, tuple(self.alpha.tolist())),
            Piecewise(t, tuple(self.beta.tolist())),
        )


def _as_model(value: Any, owner: str, name: str = "model") -> EstimatorModel:
    """The estimator model; lower-case names are accepted."""
    if isinstance(value, str) and value.upper() in ("I", "L"):
        value = value.upper()
    return check_enum(EstimatorModel, value, name, owner)


# --------------------------------------------------------------------------------------
# the estimators
# --------------------------------------------------------------------------------------
def _inputs(
    means: Any, times: Any, owner: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[str, ...] | None]:
    if isinstance(means, (RunResult, pd.DataFrame)):
        means = class_mean_trajectory(means)
    if isinstance(means, ClassMeanTrajectory):
        if times is not None:
            raise ConfigError(
                f"The 'times' parameter of {owner} must be None when 'means' is a "
                "ClassMeanTrajectory (it carries its own times). "
                f"Got {times!r} instead."
            )
        return means.means, means.times, means.steps, means.classes
    try:
        x = np.array(means, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The 'means' parameter of {owner} must be a ClassMeanTrajectory or an "
            f"array of shape (T, K, p). Got {type(means).__name__} instead."
        ) from None
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1] < 2 or x.shape[2] < 1:
        raise ConfigError(
            f"The 'means' parameter of {owner} must have shape (T, K, p) with T >= 1 "
            f"and K >= 2. Got shape {x.shape} instead."
        )
    n_t = x.shape[0]
    if times is None:
        t = np.arange(n_t, dtype=np.float64)
    else:
        t = check_array(times, "times", owner, shape=(n_t,))
        if np.any(np.diff(t) <= 0):
            raise ConfigError(
                f"The 'times' parameter of {owner} must be strictly increasing. "
                f"Got {t.tolist()!r} instead."
            )
    return x, t, np.arange(n_t), None


def _class_name(classes: tuple[str, ...] | None, k: int) -> str:
    return repr(classes[k]) if classes is not None else str(k)


def _masked_mean(terms: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Mean over the last two axes of ``terms`` where ``valid``; NaN where none."""
    count = valid.sum(axis=(-2, -1))
    total = np.where(valid, terms, 0.0).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out, int(np.sum(count == 0))


def _estimate_identity(
    x: np.ndarray, classes: tuple[str, ...] | None, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """I-model inversion (log space), averaged over the usable (class, coordinate)."""
    k = x.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = x.mean(axis=1)  # (T, p)
        delta = x - xbar[:, None, :]  # (T, K, p)
        log_x = np.log(np.abs(xbar))
        log_d = np.log(np.abs(delta))
    finite0 = np.isfinite(x[0])
    scale = float(np.max(np.abs(x[0][finite0]))) if finite0.any() else 0.0
    tol = _ZERO_RTOL * scale
    ok_x = np.isfinite(xbar[0]) & (np.abs(xbar[0]) > tol)  # (p,)
    ok_d = np.isfinite(delta[0]) & (np.abs(delta[0]) > tol)  # (K, p)
    valid0 = ok_d & ok_x[None, :]
    if not valid0.all():
        dropped = [
            f"class {_class_name(classes, c)} coordinate {j}"
            for c, j in np.argwhere(~valid0)
        ]
        reason = (
            "the class deviation delta_k(0) or the class average xbar(0) is zero or "
            "not finite there"
        )
        if not valid0.any():
            raise DataError(
                f"{owner} (model 'I'): no usable (class, coordinate) term at the first "
                f"record: {reason} for every one ({', '.join(dropped)})."
            )
        warnings.warn(
            f"{owner} (model 'I'): ignoring {len(dropped)} of {valid0.size} "
            f"(class, coordinate) terms because {reason}: {', '.join(dropped)}.",
            UserWarning,
            stacklevel=3,
        )
    with np.errstate(invalid="ignore"):  # inf - inf where a term is unusable
        d_log_x = (log_x - log_x[0])[:, None, :]  # (T, 1, p)
        d_log_d = log_d - log_d[0]  # (T, K, p)
        terms_a = d_log_x + (k - 1) * d_log_d
        terms_b = d_log_x - d_log_d
    valid = valid0[None] & np.isfinite(terms_a) & np.isfinite(terms_b)
    a_hat, empty = _masked_mean(terms_a, valid)
    b_hat, _ = _masked_mean(terms_b, valid)
    n_skipped = int((valid0[None] & ~valid).sum())
    if n_skipped:
        warnings.warn(
            f"{owner} (model 'I'): ignored {n_skipped} (record, class, coordinate) "
            "terms with a zero or non-finite class deviation or average after the "
            f"first record; {empty} record(s) had no usable term and are NaN.",
            UserWarning,
            stacklevel=3,
        )
    return a_hat, b_hat


def _estimate_projected(
    x: np.ndarray, classes: tuple[str, ...] | None, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    """L-model inversion on centred logits through the d-mode and the f-modes."""
    _, k, p = x.shape
    if p != k:
        raise DataError(
            f"{owner} (model 'L') needs class-mean logits, one coordinate per class "
            f"(p = K = {k}). Got p = {p}; use model='I' for other features."
        )
    bad0 = ~np.isfinite(x[0])
    if bad0.any():
        c, j = np.argwhere(bad0)[0]
        raise DataError(
            f"{owner} (model 'L'): the first record has a NaN or infinite value at "
            f"class {_class_name(classes, c)} coordinate {j}; every class and "
            "coordinate enters the projections."
        )
    d = np.eye(k) - 1.0 / k
    with np.errstate(invalid="ignore"):  # later non-finite records end up NaN
        xc = x - x.mean(axis=2, keepdims=True)  # centre each class-mean logit vector
        s = np.einsum("tkj,kj->tk", xc, d) / ((k - 1) / k)  # (T, K)
        s_mode = s.mean(axis=1)  # d-mode (ETF) amplitude
        f_norm = np.linalg.norm(s - s_mode[:, None], axis=1)  # f-mode amplitude
    scale = float(np.max(np.abs(s[0])))
    if not abs(s_mode[0]) > _ZERO_RTOL * scale:
        raise DataError(
            f"{owner} (model 'L'): the first record has no component on the ETF "
            "d-mode (S(0) = mean_k <X_k, d_k>/|d_k|^2 is zero), so A - B cannot be "
            "estimated. Start the trajectory later or use model='I'."
        )
    if not f_norm[0] > _ZERO_RTOL * scale:
        raise DataError(
            f"{owner} (model 'L'): the first record has no f-mode component (the "
            "class means are already an ETF configuration c d_k), so only A - B, "
            "not A and B separately, is identifiable. Use model='I' or a trajectory "
            "that starts away from the ETF."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        a_b1 = k * (np.log(np.abs(s_mode)) - np.log(abs(s_mode[0])))
        a_b2 = k * (np.log(f_norm) - np.log(f_norm[0]))
    bad = ~(np.isfinite(a_b1) & np.isfinite(a_b2))
    if bad.any():
        warnings.warn(
            f"{owner} (model 'L'): {int(bad.sum())} record(s) have a zero or "
            "non-finite d-mode or f-mode amplitude; their estimates are NaN.",
            UserWarning,
            stacklevel=3,
        )
        a_b1 = np.where(bad, np.nan, a_b1)
        a_b2 = np.where(bad, np.nan, a_b2)
    a_hat = (a_b1 + (k - 1) * a_b2) / k
    b_hat = (k - 1) * (a_b2 - a_b1) / k
    return a_hat, b_hat


def estimate_integrated_impacts(
    means: ClassMeanTrajectory | RunResult | pd.DataFrame | np.ndarray,
    times: Any = None,
    *,
    model: EstimatorModel | str = EstimatorModel.I,
) -> ImpactEstimate:
    r"""Estimate A(t) and B(t) by inverting the closed-form class-mean LE-ODE.

    Parameters
    ----------
    means : ClassMeanTrajectory, RunResult, DataFrame or array of shape (T, K, p)
        Class-mean features over time: a trajectory from
        :func:`class_mean_trajectory` (a RunResult or ``class_means`` table is
        converted), or a raw array ``means[m, k, j]``.
    times : array_like, shape (T,), optional
        Record times, strictly increasing (raw arrays only; default
        ``0, 1, ..., T - 1``, the iteration index as in the reference code).
    model : {"I", "L"}, default "I"
        ``I``: identity-surrogate inversion on the raw features (any p).
        ``L``: projected-surrogate inversion on centred logits (needs p = K).

    Returns
    -------
    ImpactEstimate
        ``A`` and ``B`` at every record, relative to the first record (so
        ``A[0] = B[0] = 0``), without rates (see :func:`impact_rates`).

    Raises
    ------
    ConfigError
        On an invalid ``model``, ``means`` shape or ``times``.
    DataError
        If nothing usable is left at the first record (see Notes), or for
        ``model="L"``, if p != K, the first record has a NaN, or it has no d-mode
        or no f-mode component.

    Warns
    -----
    UserWarning
        When (class, coordinate) terms of the I model are ignored, or records end up
        with no usable term (they are NaN).

    Notes
    -----
    Both inversions are exact for their LE-ODE with the two-parameter impact matrix
    ``E(t) = (alpha - beta) I + beta 1 1^T`` and **any** rates alpha(t), beta(t)
    (Zhang, Wang & Su 2021; dossier sections 1.6 and 1.9b). They estimate the same
    ``A(t) = int alpha``, ``B(t) = int beta`` as :mod:`simnet.theory.le_ode`: the
    ODE's 1/K factor is already accounted for, as the derivations show.

    **I model**, ``dX/dt = (1/K)(E \otimes I_p) X`` with solution
    ``X(t) = e^{(A-B)/K} [I + ((e^B - 1)/K) 1 1^T] X(0)``. With the class average
    :math:`\bar x(m) = \frac1K\sum_k \bar X^k(m)` and the deviations
    :math:`\delta_k(m) = \bar X^k(m) - \bar x(m)` (elementwise over the p
    coordinates), :math:`\bar x \propto e^{(A + (K-1)B)/K}` and
    :math:`\delta_k \propto e^{(A-B)/K}`, so for every class k and coordinate j

    .. math::

        \hat B(m) = \operatorname{mean}_{k,j}\, -\log\left|
            \frac{\delta_k(m)/\bar x(m)}{\delta_k(0)/\bar x(0)}\right|, \qquad
        \hat A(m) = \operatorname{mean}_{k,j}\, \log\left|
            \frac{\bar x(m)\,\delta_k(m)^{K-1}}{\bar x(0)\,\delta_k(0)^{K-1}}\right|

    (``delta/xbar`` scales by ``e^{-B}`` and ``xbar delta^{K-1}`` by ``e^{A}``).
    These are the reference code's formulas, which hold for any K; they are
    evaluated in log space so that ``delta^{K-1}`` cannot overflow for large K.
    A (class, coordinate) term whose ``delta_k(0)`` or ``xbar(0)`` is zero (at most
    1e-12 of the largest initial magnitude) or not finite is dropped with a
    warning (e.g. a coordinate where two classes coincide when K = 2); a
    DataError names them all if none is left. Terms that become zero or
    non-finite later are dropped at that record only.

    **L model**, ``dX^k/dt = (1/K)[alpha P_k X^k + beta sum_{k' != k} P_k' X^k']``
    with ``d_k = e_k - 1/K`` and ``P_k`` the projection on ``d_k``. Each class-mean
    logit vector is first centred over its coordinates (dossier section 5, item 4).
    With :math:`s_k = \langle \bar X^k, d_k\rangle / \|d_k\|^2`, the d-mode
    :math:`S = \operatorname{mean}_k s_k` grows like ``exp((A - B)/K)`` and the
    f-modes :math:`f = s - S\,1` like ``exp((A + B/(K-1))/K)``, so

    .. math::

        A_{B1} = K \log|S(m)/S(0)| = A - B, \qquad
        A_{B2} = K \log(\|f(m)\| / \|f(0)\|) = A + B/(K-1),

        \hat A = (A_{B1} + (K-1) A_{B2})/K, \qquad
        \hat B = (K-1)(A_{B2} - A_{B1})/K.

    Since ``d_k`` is orthogonal to 1, the ``s_k`` (hence the estimator) ignore any
    per-class logit offset; the explicit centring makes that visible and costs
    nothing. The reference's hard-coded K = 3 version uses raw sums of logits that
    equal ``2 S`` only for zero-sum logit vectors: a common offset b adds ``-3b`` to
    its d-mode scalar, which is why it needs the centring (with random uncentred
    logits it reported A-hat = 5.73 for a true 7.58, dossier section 5, item 4). On
    centred logits its d-mode scalar is exactly ``2 S`` and its f-mode scalar is
    ``(2/3)(f_0 + f_1) = -(2/3) f_2``, one coordinate of f. Here the f-mode
    amplitude is the norm ``||f||`` instead: for the L-model ODE every component of
    f scales by the same factor, so both give the same A_B2 exactly, but the norm
    does not depend on an arbitrary choice of class (the reference's breaks down
    when ``f_2(0)`` is near zero, a projection on the initial f direction when f
    rotates) and it never crosses zero, so its logarithm stays finite on real data.
    The price is a small upward bias from noise in f, of relative order
    (noise / ||f||)^2.

    The estimates are relative to the first record: for a trajectory starting at
    ``t_0 > 0`` they estimate ``int_{t_0}^t alpha`` and ``int_{t_0}^t beta``.

    Examples
    --------
    >>> from simnet.theory.le_ode import identity_ode_solution
    >>> t = np.linspace(0.0, 10.0, 11)
    >>> m0 = np.array([[1.0, 0.5, -0.2], [0.4, 2.0, 0.1], [-0.3, 0.2, 1.6]])
    >>> means = identity_ode_solution(m0, 0.3 * t, 0.1 * t)
    >>> est = estimate_integrated_impacts(means, t, model="I")
    >>> bool(np.allclose(est.A, 0.3 * t) and np.allclose(est.B, 0.1 * t))
    True

    The L model on uncentred logits:

    >>> from simnet.theory.le_ode import projected_ode_solution
    >>> means = projected_ode_solution(m0 + 5.0, 0.3 * t, -0.1 * t)
    >>> est = estimate_integrated_impacts(means, t, model="L")
    >>> bool(np.allclose(est.A, 0.3 * t) and np.allclose(est.B, -0.1 * t))
    True
    """
    owner = "estimate_integrated_impacts"
    kind = _as_model(model, owner)
    x, t, steps, classes = _inputs(means, times, owner)
    if kind is EstimatorModel.I:
        a_hat, b_hat = _estimate_identity(x, classes, owner)
    else:
        a_hat, b_hat = _estimate_projected(x, classes, owner)
    return ImpactEstimate(
        times=t, A=a_hat, B=b_hat, model=kind, steps=steps, n_classes=x.shape[1]
    )


# --------------------------------------------------------------------------------------
# rates
# --------------------------------------------------------------------------------------
def impact_rates(
    estimate: ImpactEstimate, *, window: int = 151, polyorder: int = 2
) -> ImpactEstimate:
    r"""Rates alpha-hat(t), beta-hat(t): Savitzky-Golay first derivatives of A, B.

    Parameters
    ----------
    estimate : ImpactEstimate
        From :func:`estimate_integrated_impacts` (finite A and B).
    window : int, default 151
        Odd window length in records, greater than ``polyorder`` (the reference
        code uses 151 for GeoMNIST, 551 for CIFAR and 21 on simulated LE-ODEs).
        Shrunk, with a warning, to the largest odd length the series allows when
        it has fewer records.
    polyorder : int, default 2
        Degree of the local polynomial (>= 1).

    Returns
    -------
    ImpactEstimate
        A copy of ``estimate`` with ``alpha`` and ``beta`` set, on the same times.

    Raises
    ------
    ConfigError
        If ``estimate`` is not an ImpactEstimate, or ``window``/``polyorder`` are
        invalid.
    DataError
        If A or B has NaN/infinite entries, or there are too few records for a
        window longer than ``polyorder``.

    Warns
    -----
    UserWarning
        When the window is shrunk, or the records are strongly non-uniform (more
        than 10% of the intervals shorter than half the mean spacing).

    Notes
    -----
    ``scipy.signal.savgol_filter(A, window, polyorder, deriv=1, delta=h)``, with
    the edges handled by fitting one polynomial to the first and last windows
    (``mode="interp"``). At the centre of a symmetric window of half-width
    ``w = (window - 1)/2`` and spacing h, the estimate is
    ``sum_i i A(t + i h) / (h sum_i i^2)`` (for polyorder 1 or 2), whose leading
    error for a smooth rate is ``alpha''(t) h^2 (3 w^2 + 3 w - 1)/30``: wide
    windows trade this bias for noise suppression.

    Savitzky-Golay needs uniform spacing. If the times are not uniform (within a
    relative 1e-6), A and B are interpolated linearly onto a uniform grid with the
    same number of points and the same end points, differentiated there, and the
    rates interpolated linearly back onto the original times. This is accurate
    when the spacing is nearly uniform (e.g. a stride with a shorter last
    interval); for log-spaced records the densely recorded early part is smoothed
    over about ``window`` mean spacings; record with a stride instead.

    Examples
    --------
    >>> t = np.linspace(0.0, 10.0, 41)
    >>> est = ImpactEstimate(t, A=0.5 * t + 0.01 * t**2, B=-0.2 * t, model="L")
    >>> rates = impact_rates(est, window=11)
    >>> bool(np.allclose(rates.alpha, 0.5 + 0.02 * t))
    True
    >>> bool(np.allclose(rates.beta, -0.2))
    True
    """
    owner = "impact_rates"
    if not isinstance(estimate, ImpactEstimate):
        raise ConfigError(
            f"The 'estimate' parameter of {owner} must be an ImpactEstimate. "
            f"Got {type(estimate).__name__} instead."
        )
    polyorder = check_int(polyorder, "polyorder", owner, low=1)
    window = check_int(window, "window", owner, low=1)
    if window % 2 == 0 or window <= polyorder:
        raise ConfigError(
            f"The 'window' parameter of {owner} must be an odd int greater than "
            f"polyorder = {polyorder}. Got {window!r} instead."
        )
    for name in ("A", "B"):
        values = getattr(estimate, name)
        bad = ~np.isfinite(values)
        if bad.any():
            raise DataError(
                f"{owner} needs finite integrated impacts; {name} is NaN or infinite "
                f"at {int(bad.sum())} record(s), the first at time "
                f"{estimate.times[bad][0]:g}."
            )
    t = estimate.times
    n_t = t.shape[0]
    if n_t < window:
        shrunk = n_t if n_t % 2 else n_t - 1
        if shrunk <= polyorder:
            raise DataError(
                f"{owner} needs more than polyorder + 1 = {polyorder + 1} records for "
                f"a window longer than polyorder. Got {n_t} record(s)."
            )
        warnings.warn(
            f"{owner}: the series has only {n_t} records; window shrunk from "
            f"{window} to {shrunk}.",
            UserWarning,
            stacklevel=2,
        )
        window = shrunk
    spacing = np.diff(t)
    h = (t[-1] - t[0]) / (n_t - 1)
    uniform = np.allclose(spacing, h, rtol=1e-6, atol=0.0)

    def derivative(values: np.ndarray) -> np.ndarray:
        if uniform:
            return savgol_filter(values, window, polyorder, deriv=1, delta=h)
        grid = np.linspace(t[0], t[-1], n_t)
        on_grid = savgol_filter(
            np.interp(grid, t, values), window, polyorder, deriv=1, delta=h
        )
        return np.interp(t, grid, on_grid)

    if not uniform and np.mean(spacing < h / _UNEVEN_RATIO) > _UNEVEN_SHARE:
        warnings.warn(
            f"{owner}: the record times are strongly non-uniform (spacing from "
            f"{spacing.min():g} to {spacing.max():g}); A and B were interpolated onto "
            f"a uniform grid of spacing {h:g}, which smooths the densely recorded "
            "part. Record with a fixed stride for rate estimates.",
            UserWarning,
            stacklevel=2,
        )
    return dataclasses.replace(
        estimate, alpha=derivative(estimate.A), beta=derivative(estimate.B)
    )


def tail_index(values: Any, times: Any, *, tail: int = 1000) -> float:
    r"""The reference code's tail index of an integrated impact.

    Parameters
    ----------
    values : array_like, shape (T,)
        An integrated impact over time, e.g. ``estimate.A`` or ``estimate.B``
        (NaN entries are ignored).
    times : array_like, shape (T,)
        Its times (e.g. iterations).
    tail : int, default 1000
        Number of final records used (the reference uses the last 1000 iterations).

    Returns
    -------
    float
        :math:`\hat r = 1 - \operatorname{mean}_{\text{tail}} \log \hat A(t)/\log t`.

    Raises
    ------
    ConfigError
        On invalid arguments.
    DataError
        If no tail record has ``t >= 2`` and a positive (after the sign flip)
        finite value.

    Warns
    -----
    UserWarning
        When tail records with non-positive or non-finite values are ignored.

    Notes
    -----
    If ``alpha(t) ~ c t^{-r}`` with r < 1, then ``A(t) ~ c t^{1-r}/(1 - r)`` and
    ``log A / log t -> 1 - r``, so ``r-hat -> r``; r < 1 means ``A(t) -> inf``
    (the locally elastic, separating regime of the phase-transition figure) and
    r > 1 a bounded A. The bias is ``-log(c/(1 - r))/log t``: slow, so the
    estimate is a diagnostic of the growth exponent, not a precise fit (Zhang,
    Wang & Su 2021, Fig. 4c; dossier section 1.9d).

    As in the reference code, the series is sign-flipped first if more than half
    of the tail values are negative (B-hat often decreases), only records with
    ``t >= 2`` are used (``log t`` must be positive and not tiny), and the reference
    takes ``t = 1, ..., T`` as the iteration index plus one whereas this function
    uses the given times (the difference, O(1/t) in ``log t``, is negligible in the
    tail).

    Examples
    --------
    >>> t = np.arange(1.0, 5001.0)
    >>> round(tail_index(t**0.3, t), 12)
    0.7
    >>> round(tail_index(-(t**0.3), t), 12)
    0.7
    """
    owner = "tail_index"
    try:
        v = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(
            f"The 'values' parameter of {owner} must be an array of floats. "
            f"Got {type(values).__name__} instead."
        ) from None
    if v.ndim != 1 or v.shape[0] < 1:
        raise ConfigError(
            f"The 'values' parameter of {owner} must be a non-empty 1-D array. "
            f"Got shape {v.shape} instead."
        )
    t = check_array(times, "times", owner, shape=(v.shape[0],))
    tail = check_int(tail, "tail", owner, low=1)
    vt, tt = v[-tail:], t[-tail:]
    keep = tt >= 2.0
    if not keep.any():
        raise DataError(
            f"{owner} needs tail records with t >= 2. The last {vt.shape[0]} "
            f"record(s) end at t = {tt[-1]:g}."
        )
    vt, tt = vt[keep], tt[keep]
    if np.sum(vt < 0) > vt.shape[0] / 2:
        vt = -vt
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(vt) / np.log(tt)
    ok = np.isfinite(ratio)
    if not ok.any():
        raise DataError(
            f"{owner}: no tail record has a positive finite value (after the sign "
            "flip), so log A(t)/log t is undefined everywhere."
        )
    if not ok.all():
        warnings.warn(
            f"{owner}: ignored {int((~ok).sum())} of {ok.size} tail record(s) with a "
            "non-positive or non-finite value.",
            UserWarning,
            stacklevel=2,
        )
    return float(1.0 - ratio[ok].mean())


def impact_estimates_table(
    result: RunResult | pd.DataFrame | ClassMeanTrajectory,
    *,
    models: Sequence[EstimatorModel | str] = ("I", "L"),
    window: int | None = 151,
    polyorder: int = 2,
    classes: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Tidy table of A-hat, B-hat (and alpha-hat, beta-hat) of a run, per model.

    Parameters
    ----------
    result : RunResult, DataFrame or ClassMeanTrajectory
        A run with the ``class_means`` table (or the table, or its trajectory).
    models : sequence of {"I", "L"}, default ("I", "L")
        The estimators to apply (``L`` needs logits: p = K).
    window : int or None, default 151
        Savitzky-Golay window of :func:`impact_rates`; ``None`` skips the rates.
    polyorder : int, default 2
    classes : sequence, optional
        Passed to :func:`class_mean_trajectory`.

    Returns
    -------
    pandas.DataFrame
        Columns ``step, time, model, quantity, value``; quantities ``A``, ``B``
        and, unless ``window`` is None, ``alpha`` and ``beta``.

    Raises
    ------
    ConfigError, DataError
        As :func:`class_mean_trajectory`, :func:`estimate_integrated_impacts` and
        :func:`impact_rates`.

    Examples
    --------
    >>> from simnet import ImpactMatrix, LESDEModel, simulate
    >>> model = LESDEModel(ImpactMatrix.two_parameter(3, 0.3, 0.1), integrator="ode",
    ...                    surrogate="projected", ode_method="rk4")
    >>> result = simulate(model, steps=40, record=1, seed=0, observe=["class_means"])
    >>> table = impact_estimates_table(result, window=11)
    >>> table.groupby(["model", "quantity"]).size().to_dict()["L", "alpha"]
    41
    >>> last = table[(table.model == "L") & (table.step == 40)]
    >>> last.set_index("quantity")["value"].round(4).to_dict()
    {'A': 12.0, 'B': 4.0, 'alpha': 0.3, 'beta': 0.1}
    """
    owner = "impact_estimates_table"
    if isinstance(models, (str, EstimatorModel)):
        models = [models]
    kinds = [_as_model(m, owner, "models") for m in models]
    if not kinds:
        raise ConfigError(
            f"The 'models' parameter of {owner} must name at least one model. "
            f"Got {models!r} instead."
        )
    if isinstance(result, ClassMeanTrajectory):
        if classes is not None:
            raise ConfigError(
                f"The 'classes' parameter of {owner} must be None when 'result' is a "
                f"ClassMeanTrajectory. Got {classes!r} instead."
            )
        traj = result
    else:
        traj = class_mean_trajectory(result, classes=classes)
    frames = []
    for kind in kinds:
        est = estimate_integrated_impacts(traj, model=kind)
        if window is not None:
            est = impact_rates(est, window=window, polyorder=polyorder)
        frames.append(est.to_frame())
    return pd.concat(frames, ignore_index=True)
