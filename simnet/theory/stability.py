r"""Uniform and locally elastic stability: exact leave-one-out, retraining, bounds.

Definitions (Deng, He & Su 2021, *Toward Better Generalization Bounds with Locally
Elastic Stability*, ICML; reference dossier ``local_elasticity.md`` section 2).
For an algorithm A, a training set :math:`S = \{z_1, \dots, z_n\}` and
:math:`S^{\setminus i}` (S with :math:`z_i` **removed**), the pointwise sensitivity
of the loss is

.. math::

    \beta(z_i, z) = |\ell(A_S, z) - \ell(A_{S^{\setminus i}}, z)|.

* **Uniform stability** (Bousquet & Elisseeff 2002): A is :math:`\beta_n`-uniformly
  stable if :math:`\beta(z_i, z) \le \beta_n` for all S, i, z; the constant is the
  sup of the sensitivity.
* **Locally elastic stability** (LES): A has LES :math:`\beta_n(\cdot, \cdot)` if
  :math:`\beta(z_i, z) \le \beta_n(z_i, z)` for all S, i, z: a bound that depends on
  the pair (removed point, evaluation point). The dossier's scaling assumption is
  :math:`\beta_n(z', z) = \beta(z', z) / n` with :math:`\sup \beta \le M_\beta`. Its
  key constant is :math:`\bar\beta = \sup_{z'} E_z \beta(z', z)` (worst removed
  point, average evaluation point), against :math:`\sup_{z', z} \beta(z', z)`.

This module computes matrices of pointwise sensitivities (rows: removed training
points, columns: evaluation points) in three ways:

* exactly and in closed form, with no refit loop, for ridge regression
  (:func:`ridge_loo_sensitivities`) and kernel ridge regression
  (:func:`kernel_ridge_loo_sensitivities`);
* by retraining with the same seed and a coupled sample stream, for the particle
  simulator (:func:`simulator_loo_sensitivities`) and small MLPs
  (:func:`mlp_loo_sensitivities`);

and evaluates the two generalisation bounds side by side
(:func:`uniform_stability_bound`, :func:`locally_elastic_bound`,
:func:`compare_bounds`), plus the analytic RKHS stability constants
(:func:`rkhs_stability_constants`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError, DataError
from ..hierarchy import Hierarchy
from ..models._common import Sampling
from ..runners.sampling import BatchSampler
from ..seeding import SeedLike, spawn_generators

__all__ = [
    "BoundComparison",
    "Coupling",
    "Kernel",
    "RKHSStability",
    "Sensitivities",
    "compare_bounds",
    "default_eta",
    "kernel_matrix",
    "kernel_ridge_loo_sensitivities",
    "locally_elastic_bound",
    "mlp_loo_sensitivities",
    "ridge_loo_sensitivities",
    "rkhs_stability_constants",
    "simulator_loo_sensitivities",
    "uniform_stability_bound",
]

# The seed streams of simnet.simulate, in the same order, so that a retraining run
# starts from exactly the initial state of ``simulate(model, seed=seed)``.
_SIM_STREAMS = ("init", "sampling", "noise", "probes")
_MLP_STREAMS = ("init", "sampling")


class Coupling(StrEnum):
    """How a leave-one-out retraining run reuses the full run's sample stream.

    ``delete``: delete every occurrence of i from the stream of sample indices and
    re-cut it into batches of the same size. The result is an exact draw of the
    algorithm's stream on S minus z_i (i.i.d. uniform, or random permutations), but
    with minibatches every later batch boundary shifts. ``drop``: keep the full
    run's batches and drop i from each (a batch that was only i is skipped), so
    every other step is identical; batches containing i are one sample smaller, so
    this is SGD with a slightly different batch-size schedule. With
    ``batch_size=1`` the two differ only by the number of steps on S minus z_i.
    """

    DELETE = "delete"
    DROP = "drop"


class Kernel(StrEnum):
    """Kernel of :func:`kernel_matrix`.

    ``linear``: <x, x'>; ``rbf``: exp(-gamma |x - x'|^2); ``polynomial``:
    (gamma <x, x'> + 1)^degree.
    """

    LINEAR = "linear"
    RBF = "rbf"
    POLYNOMIAL = "polynomial"


# --------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Sensitivities:
    r"""A matrix of pointwise leave-one-out loss sensitivities.

    Attributes
    ----------
    values : ndarray, shape (r, m)
        ``values[a, j] = |loss(A(S), z_j) - loss(A(S \ z_{i_a}), z_j)|`` for removed
        training point ``i_a = removed_idx[a]`` and evaluation point ``j``.
    removed_idx : ndarray of int, shape (r,)
        Indices (into the training set) of the removed points.
    removed_labels, eval_labels : ndarray of int, shapes (r,) and (m,)
        Class labels (``-1`` when there are none, as for regression).
    removed_eval_idx : ndarray of int, shape (r,)
        Column of ``values`` at which the removed point itself is evaluated, or -1
        when it is not among the evaluation points. Class summaries skip it.
    loss_full : ndarray, shape (m,)
        Losses of the model trained on the full set at the evaluation points.
    train_loss : float
        Empirical risk of the full model on its training set.
    n_train : int
        Size n of the training set.
    method : str
        ``"exact"`` (closed-form downdate) or ``"retrain"``.
    """

    values: np.ndarray
    removed_idx: np.ndarray
    removed_labels: np.ndarray
    eval_labels: np.ndarray
    removed_eval_idx: np.ndarray
    loss_full: np.ndarray
    train_loss: float
    n_train: int
    method: str

    def uniform_constant(self) -> float:
        r"""Estimate of the uniform-stability constant :math:`\beta_n`: the largest
        sensitivity, :math:`\max_{a, j}` ``values[a, j]``."""
        return float(np.max(self.values))

    def les_constant(self) -> float:
        r"""Estimate of the LES constant :math:`\bar\beta / n = \sup_{z'} E_z
        \beta_n(z', z)`: the largest row mean, :math:`\max_a \mathrm{mean}_j`
        ``values[a, j]`` (the dossier's estimation recipe, section 2.5)."""
        return float(np.max(np.mean(self.values, axis=1)))

    def improvement_ratio(self) -> float:
        """``uniform_constant() / les_constant()`` (>= 1; inf if the LES one is 0)."""
        les = self.les_constant()
        return math.inf if les == 0 else self.uniform_constant() / les

    def _mask_self(self) -> np.ndarray:
        keep = np.ones(self.values.shape, dtype=bool)
        rows = np.flatnonzero(self.removed_eval_idx >= 0)
        keep[rows, self.removed_eval_idx[rows]] = False
        return keep

    def class_matrix(self, n_classes: int) -> np.ndarray:
        """K x K mean sensitivity: rows the class of the removed point, columns the
        class of the evaluation point (the removed point itself excluded; NaN where a
        cell has no pair)."""
        n_classes = check_int(
            n_classes, "n_classes", "Sensitivities.class_matrix", low=1
        )
        keep = self._mask_self()
        total = np.zeros((n_classes, n_classes))
        count = np.zeros((n_classes, n_classes))
        for a, c in enumerate(self.removed_labels):
            if c < 0:
                continue
            cols = keep[a] & (self.eval_labels >= 0)
            np.add.at(total[c], self.eval_labels[cols], self.values[a, cols])
            np.add.at(count[c], self.eval_labels[cols], 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return total / count

    def by_relation(self, hierarchy: Hierarchy) -> dict[str, float]:
        """Mean sensitivity by how the two classes relate in ``hierarchy``.

        Returns a mapping with ``same_class`` (same label, removed point excluded),
        ``lca_depth_<d>`` for distinct classes whose deepest common ancestor has
        depth d, ``distant`` (distinct classes sharing only the root, i.e. in
        different top-level superclasses: ``lca_depth_0``) and ``ratio`` =
        ``same_class / distant``. Each mean is over removed points of the mean
        over evaluation points in the relation.
        """
        if not isinstance(hierarchy, Hierarchy):
            raise ConfigError(
                "The 'hierarchy' parameter of Sensitivities.by_relation must be a "
                f"Hierarchy. Got {type(hierarchy).__name__} instead."
            )
        k = hierarchy.n_classes
        labs = np.concatenate([self.removed_labels, self.eval_labels])
        if labs.size == 0 or labs.min() < 0 or labs.max() >= k:
            raise DataError(
                "The labels of these Sensitivities do not fit the hierarchy: they "
                f"must lie in [0, {k}). Got range [{labs.min()}, {labs.max()}]."
            )
        lca = hierarchy.lca_depth_matrix()
        keep = self._mask_self()
        groups: dict[str, list[float]] = {}
        for a, c in enumerate(self.removed_labels):
            rel = lca[c][self.eval_labels]
            same = self.eval_labels == c
            for name, sel in [("same_class", same)] + [
                (f"lca_depth_{d}", ~same & (rel == d)) for d in np.unique(rel[~same])
            ]:
                cols = sel & keep[a]
                if np.any(cols):
                    groups.setdefault(name, []).append(
                        float(self.values[a, cols].mean())
                    )
        out = {name: float(np.mean(v)) for name, v in sorted(groups.items())}
        out["distant"] = out.get("lca_depth_0", math.nan)
        same, far = out.get("same_class", math.nan), out["distant"]
        out["ratio"] = same / far if far > 0 else math.nan
        return out


# --------------------------------------------------------------------------- helpers
def _as_matrix(value: ArrayLike, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"The '{name}' parameter of {owner} must be an array of floats."
        ) from None
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataError(
            f"The '{name}' parameter of {owner} must be a non-empty 2-d array. "
            f"Got shape {arr.shape} instead."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(f"The '{name}' parameter of {owner} must be finite.")
    return arr


def _as_targets(value: ArrayLike, n: int, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"The '{name}' parameter of {owner} must be an array of floats."
        ) from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise DataError(
            f"The '{name}' parameter of {owner} must have shape ({n},) or ({n}, q). "
            f"Got shape {np.shape(value)} instead."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(f"The '{name}' parameter of {owner} must be finite.")
    return arr


def _removed(removed_idx: ArrayLike | None, n: int, owner: str) -> np.ndarray:
    if removed_idx is None:
        return np.arange(n, dtype=np.int64)
    idx = np.atleast_1d(np.asarray(removed_idx))
    if (
        idx.ndim != 1
        or idx.size == 0
        or not np.issubdtype(idx.dtype, np.integer)
        or idx.min() < 0
        or idx.max() >= n
    ):
        raise ConfigError(
            f"The 'removed_idx' parameter of {owner} must be a non-empty 1-d array "
            f"of ints in [0, {n}). Got {removed_idx!r} instead."
        )
    return idx.astype(np.int64)


def _labels(value: ArrayLike | None, n: int, name: str, owner: str) -> np.ndarray:
    if value is None:
        return np.full(n, -1, dtype=np.int64)
    arr = np.asarray(value)
    if arr.shape != (n,) or not np.issubdtype(arr.dtype, np.integer):
        raise DataError(
            f"The '{name}' parameter of {owner} must be an int array of shape ({n},). "
            f"Got shape {arr.shape} and dtype {arr.dtype} instead."
        )
    return arr.astype(np.int64)


def _eval_set(
    X: np.ndarray,
    y: np.ndarray,
    X_eval: ArrayLike | None,
    y_eval: ArrayLike | None,
    owner: str,
) -> tuple[np.ndarray, np.ndarray, bool]:
    if (X_eval is None) != (y_eval is None):
        raise ConfigError(
            f"The 'X_eval' and 'y_eval' parameters of {owner} must be given together."
        )
    if X_eval is None:
        return X, y, True
    Xe = _as_matrix(X_eval, "X_eval", owner)
    if Xe.shape[1] != X.shape[1]:
        raise DataError(
            f"The 'X_eval' parameter of {owner} must have {X.shape[1]} columns like "
            f"X. Got {Xe.shape[1]} instead."
        )
    ye = _as_targets(y_eval, Xe.shape[0], "y_eval", owner)
    if ye.shape[1] != y.shape[1]:
        raise DataError(
            f"The 'y_eval' parameter of {owner} must have {y.shape[1]} outputs like "
            f"y. Got {ye.shape[1]} instead."
        )
    return Xe, ye, False


def _squared_loss_sensitivities(
    residual_eval: np.ndarray, delta: np.ndarray
) -> np.ndarray:
    """|sum_o (r_jo - d_ijo)^2 - sum_o r_jo^2| for residuals r = y - f and the
    prediction changes d = f_{-i} - f, of shapes (m, q) and (r, m, q)."""
    return np.abs(np.sum(delta * (delta - 2.0 * residual_eval[None]), axis=2))


def kernel_matrix(
    A: ArrayLike,
    B: ArrayLike | None = None,
    *,
    kernel: Kernel | str = Kernel.RBF,
    gamma: float | None = None,
    degree: int = 2,
) -> np.ndarray:
    """Gram matrix ``k(A_a, B_b)`` of shape (len(A), len(B)).

    Parameters
    ----------
    A, B : array_like, shapes (a, d) and (b, d)
        Points (``B`` defaults to ``A``).
    kernel : {"linear", "rbf", "polynomial"}
    gamma : float, optional
        Scale; default ``1 / d``.
    degree : int, default 2
        Degree of the polynomial kernel.

    Raises
    ------
    ConfigError
        On an unknown kernel or a non-positive ``gamma``/``degree``.
    DataError
        If the points are not finite 2-d arrays with the same number of columns.
    """
    owner = "kernel_matrix"
    kind = check_enum(Kernel, kernel, "kernel", owner)
    A = _as_matrix(A, "A", owner)
    B = A if B is None else _as_matrix(B, "B", owner)
    if B.shape[1] != A.shape[1]:
        raise DataError(
            f"The 'B' parameter of {owner} must have {A.shape[1]} columns like A. "
            f"Got {B.shape[1]} instead."
        )
    g = (
        1.0 / A.shape[1]
        if gamma is None
        else check_float(gamma, "gamma", owner, low=0.0, closed="neither")
    )
    degree = check_int(degree, "degree", owner, low=1)
    return _gram(A, B, kind, g, degree)


def _gram(A: np.ndarray, B: np.ndarray, kind: Kernel, g: float, degree: int):
    inner = A @ B.T
    if kind is Kernel.LINEAR:
        return inner
    if kind is Kernel.POLYNOMIAL:
        return (g * inner + 1.0) ** degree
    sq = np.sum(A * A, axis=1)[:, None] + np.sum(B * B, axis=1)[None, :] - 2 * inner
    return np.exp(-g * np.maximum(sq, 0.0))


# --------------------------------------------------------------------- exact LOO
def ridge_loo_sensitivities(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lam: float,
    X_eval: ArrayLike | None = None,
    y_eval: ArrayLike | None = None,
    removed_idx: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    eval_labels: ArrayLike | None = None,
) -> Sensitivities:
    r"""Exact leave-one-out sensitivities of the squared loss for ridge regression.

    The algorithm is :math:`A(S) = \arg\min_w \frac1n \sum_{j \in S}
    \|y_j - W^\top x_j\|^2 + \lambda \|W\|_F^2`, i.e.
    :math:`W = (X^\top X + \lambda n I)^{-1} X^\top Y` (no intercept: centre the
    data first if you want one). Leave-one-out keeps the normalisation ``n``
    (the removed point's weight is set to zero, as in Bousquet & Elisseeff's proof),
    so :math:`W_{\setminus i} = (X^\top X - x_i x_i^\top + \lambda n I)^{-1}
    (X^\top Y - x_i y_i^\top)`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,) or (n, q)
        Targets; with q outputs the loss is the sum of the q squared errors.
    lam : float
        Regularisation :math:`\lambda > 0`.
    X_eval, y_eval : array_like, optional
        Evaluation points (default: the training set).
    removed_idx : array_like of int, optional
        Which points to remove (default: all n).
    labels, eval_labels : array_like of int, optional
        Class labels, only used by the class summaries of the result.

    Returns
    -------
    Sensitivities
        ``method="exact"``.

    Raises
    ------
    ConfigError
        If ``lam`` or ``removed_idx`` is out of range, or only one of ``X_eval`` and
        ``y_eval`` is given.
    DataError
        If the arrays are not finite or their shapes do not match.

    Notes
    -----
    With :math:`A = X^\top X + \lambda n I`, residual :math:`e_i = y_i - W^\top x_i`
    and leverage :math:`h_i = x_i^\top A^{-1} x_i < 1`, Sherman-Morrison gives
    :math:`W_{\setminus i} = W - A^{-1} x_i e_i^\top / (1 - h_i)`, so the prediction
    at x changes by :math:`-x^\top A^{-1} x_i\, e_i / (1 - h_i)`: one solve for the
    whole n x m matrix, no refit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(50, 3)), rng.normal(size=50)
    >>> sens = ridge_loo_sensitivities(X, y, lam=0.1)
    >>> sens.values.shape
    (50, 50)
    >>> bool(sens.les_constant() <= sens.uniform_constant())
    True
    """
    owner = "ridge_loo_sensitivities"
    X = _as_matrix(X, "X", owner)
    n = X.shape[0]
    Y = _as_targets(y, n, "y", owner)
    lam = check_float(lam, "lam", owner, low=0.0, closed="neither")
    Xe, Ye, same = _eval_set(X, Y, X_eval, y_eval, owner)
    idx = _removed(removed_idx, n, owner)
    A = X.T @ X + lam * n * np.eye(X.shape[1])
    A_inv_Xt = np.linalg.solve(A, X.T)  # (d, n)
    W = A_inv_Xt @ Y
    resid = Y - X @ W
    lev = np.einsum("ij,ji->i", X, A_inv_Xt)
    cross = Xe @ A_inv_Xt[:, idx]  # (m, r): x^T A^-1 x_i
    scale = resid[idx] / (1.0 - lev[idx])[:, None]  # (r, q)
    delta = -cross.T[:, :, None] * scale[:, None, :]
    resid_eval = Ye - Xe @ W
    return _exact_result(
        _squared_loss_sensitivities(resid_eval, delta),
        idx,
        resid,
        resid_eval,
        same,
        labels,
        eval_labels,
        n,
        Xe.shape[0],
        owner,
    )


def kernel_ridge_loo_sensitivities(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lam: float,
    X_eval: ArrayLike | None = None,
    y_eval: ArrayLike | None = None,
    kernel: Kernel | str = Kernel.RBF,
    gamma: float | None = None,
    degree: int = 2,
    removed_idx: ArrayLike | None = None,
    labels: ArrayLike | None = None,
    eval_labels: ArrayLike | None = None,
) -> Sensitivities:
    r"""Exact leave-one-out sensitivities of the squared loss for kernel ridge.

    The algorithm is regularised least squares in the RKHS of ``kernel``:
    :math:`A(S) = \arg\min_f \frac1n \sum_j \|y_j - f(x_j)\|^2 + \lambda\|f\|_k^2`,
    i.e. :math:`f(x) = k(x)^\top \alpha` with :math:`\alpha = (K + \lambda n I)^{-1}
    Y`. As in :func:`ridge_loo_sensitivities`, leave-one-out keeps the
    normalisation n: :math:`\alpha_{\setminus i} = (K_{-i,-i} + \lambda n
    I)^{-1} Y_{-i}`.

    Parameters
    ----------
    X, y, lam, X_eval, y_eval, removed_idx, labels, eval_labels
        As :func:`ridge_loo_sensitivities`.
    kernel, gamma, degree
        As :func:`kernel_matrix`.

    Returns
    -------
    Sensitivities
        ``method="exact"``.

    Raises
    ------
    ConfigError, DataError
        As :func:`ridge_loo_sensitivities` and :func:`kernel_matrix`.

    Notes
    -----
    Block-inverse downdate: with :math:`C = (K + \lambda n I)^{-1}`,
    :math:`(K_{-i,-i} + \lambda n I)^{-1} = C_{-i,-i} - C_{-i,i} C_{i,-i} / C_{ii}`,
    which simplifies to :math:`\alpha_{\setminus i} = \alpha - C_{:,i}\,\alpha_i /
    C_{ii}` (zero at i). The prediction at x changes by :math:`-(k(x)^\top
    C_{:,i})\,\alpha_i / C_{ii}`. With the linear kernel this equals ridge.
    """
    owner = "kernel_ridge_loo_sensitivities"
    X, Y, n, lam, kind, g, degree, Xe, Ye, same, idx = _kernel_problem(
        X, y, lam, kernel, gamma, degree, X_eval, y_eval, removed_idx, owner
    )
    K = _gram(X, X, kind, g, degree)
    Ke = K if same else _gram(Xe, X, kind, g, degree)
    C = np.linalg.inv(K + lam * n * np.eye(n))
    C = 0.5 * (C + C.T)
    alpha = C @ Y
    resid = Y - K @ alpha
    cross = Ke @ C[:, idx]  # (m, r)
    scale = alpha[idx] / np.diag(C)[idx][:, None]  # (r, q)
    delta = -cross.T[:, :, None] * scale[:, None, :]
    resid_eval = Ye - Ke @ alpha
    return _exact_result(
        _squared_loss_sensitivities(resid_eval, delta),
        idx,
        resid,
        resid_eval,
        same,
        labels,
        eval_labels,
        n,
        Xe.shape[0],
        owner,
    )


def _exact_result(
    values: np.ndarray,
    idx: np.ndarray,
    resid: np.ndarray,
    resid_eval: np.ndarray,
    same: bool,
    labels: ArrayLike | None,
    eval_labels: ArrayLike | None,
    n: int,
    m: int,
    owner: str,
) -> Sensitivities:
    lab = _labels(labels, n, "labels", owner)
    elab = (
        lab
        if same and eval_labels is None
        else _labels(eval_labels, m, "eval_labels", owner)
    )
    return Sensitivities(
        values=values,
        removed_idx=idx,
        removed_labels=lab[idx],
        eval_labels=elab,
        removed_eval_idx=idx.copy() if same else np.full(idx.size, -1),
        loss_full=np.sum(resid_eval**2, axis=1),
        train_loss=float(np.mean(np.sum(resid**2, axis=1))),
        n_train=n,
        method="exact",
    )


# ------------------------------------------------------------- analytic RKHS constants
@dataclass(frozen=True)
class RKHSStability:
    r"""Analytic stability constants of regularised least squares in an RKHS.

    Attributes
    ----------
    sigma : ndarray, shape (q,)
        Admissibility constant of the squared loss per output,
        :math:`\sigma_o = 2(B_o + \kappa \sqrt{\overline{y_o^2} / \lambda})`.
    kappa : float
        :math:`\kappa = \max \sqrt{k(x, x)}` over the given points.
    uniform : float
        :math:`\beta_n = \sum_o \sigma_o^2 \kappa^2 / (2 \lambda n)`.
    local : ndarray, shape (r, m)
        :math:`\beta_n(z_i, z) = \sum_o \sigma_o^2 \sqrt{k(x_i,x_i) k(x,x)} /
        (2 \lambda n)`.
    loss_bound : float
        M with :math:`0 \le \ell \le M`: :math:`\sum_o (\sigma_o / 2)^2`.
    """

    sigma: np.ndarray
    kappa: float
    uniform: float
    local: np.ndarray
    loss_bound: float


def rkhs_stability_constants(
    X: ArrayLike,
    y: ArrayLike,
    *,
    lam: float,
    X_eval: ArrayLike | None = None,
    y_eval: ArrayLike | None = None,
    kernel: Kernel | str = Kernel.RBF,
    gamma: float | None = None,
    degree: int = 2,
    removed_idx: ArrayLike | None = None,
) -> RKHSStability:
    r"""Uniform and locally elastic stability bounds of (kernel) ridge regression.

    Bousquet & Elisseeff (2002, Thm 22): for regularised ERM in an RKHS with a
    :math:`\sigma`-admissible loss, :math:`\beta_n = \sigma^2 \kappa^2 / (2\lambda
    n)`. The same proof gives the locally elastic form (dossier section 2.4,
    example 1, derived):

    .. math::

        |\ell(A_S, z) - \ell(A_{S^{\setminus i}}, z)| \le
        \frac{\sigma^2 \sqrt{k(x_i, x_i)\, k(x, x)}}{2 \lambda n}.

    Assumptions: the algorithms of :func:`kernel_ridge_loo_sensitivities` (removal
    with the normalisation n kept); the data distribution is supported on the
    given points (``X``, ``X_eval`` and their targets), so that
    :math:`\kappa = \max \sqrt{k(x,x)}` and :math:`B_o = \max |y_o|` over them;
    and :math:`\lambda \|f_o\|^2 \le \overline{y_o^2}` (the mean training target
    energy, true for the full and the leave-one-out fit), which bounds
    :math:`|f_o(x)| \le \kappa \sqrt{\overline{y_o^2}/\lambda}` and makes the squared
    loss :math:`\sigma_o`-admissible with
    :math:`\sigma_o = 2(B_o + \kappa\sqrt{\overline{y_o^2}/\lambda})`. With q
    outputs the bounds add over outputs.

    Parameters
    ----------
    X, y, lam, X_eval, y_eval, kernel, gamma, degree, removed_idx
        As :func:`kernel_ridge_loo_sensitivities` (``kernel="linear"`` for ridge).

    Returns
    -------
    RKHSStability

    Raises
    ------
    ConfigError, DataError
        As :func:`kernel_ridge_loo_sensitivities`.
    """
    owner = "rkhs_stability_constants"
    X, Y, n, lam, kind, g, degree, Xe, Ye, same, idx = _kernel_problem(
        X, y, lam, kernel, gamma, degree, X_eval, y_eval, removed_idx, owner
    )

    def diag(P: np.ndarray) -> np.ndarray:
        return np.array([_gram(p[None], p[None], kind, g, degree)[0, 0] for p in P])

    d_train = diag(X)
    d_eval = d_train if same else diag(Xe)
    kappa = float(np.sqrt(max(d_train.max(), d_eval.max())))
    b = np.max(np.abs(np.vstack([Y, Ye])), axis=0)
    sigma = 2.0 * (b + kappa * np.sqrt(np.mean(Y**2, axis=0) / lam))
    s2 = float(np.sum(sigma**2))
    local = s2 * np.sqrt(np.outer(d_train[idx], d_eval)) / (2.0 * lam * n)
    return RKHSStability(
        sigma=sigma,
        kappa=kappa,
        uniform=s2 * kappa**2 / (2.0 * lam * n),
        local=local,
        loss_bound=float(np.sum((sigma / 2.0) ** 2)),
    )


# ----------------------------------------------------------------------- bounds
def uniform_stability_bound(
    beta: float, *, n: int, loss_bound: float, emp_risk: float, delta: float = 0.05
) -> float:
    r"""Bousquet & Elisseeff's (2002, Thm 12) generalisation bound, exactly.

    If A has removal uniform stability :math:`\beta_n` (``beta``) and
    :math:`0 \le \ell \le M`, then with probability at least :math:`1 - \delta`

    .. math::

        R(A_S) \le R_\mathrm{emp}(A_S) + 2\beta_n + (4 n \beta_n + M)
        \sqrt{\frac{\ln(1/\delta)}{2n}}.

    Parameters
    ----------
    beta : float
        :math:`\beta_n \ge 0`, on the scale of a single loss change.
    n : int
        Training-set size.
    loss_bound : float
        M > 0.
    emp_risk : float
        :math:`R_\mathrm{emp}(A_S)`.
    delta : float, default 0.05
        Confidence parameter in (0, 1).

    Returns
    -------
    float
        The bound on the population risk.

    Raises
    ------
    ConfigError
        If a parameter is out of range.

    Examples
    --------
    >>> round(uniform_stability_bound(0.001, n=1000, loss_bound=1.0, emp_risk=0.1), 4)
    0.2955
    """
    owner = "uniform_stability_bound"
    beta = check_float(beta, "beta", owner, low=0.0)
    n = check_int(n, "n", owner, low=1)
    m_loss = check_float(loss_bound, "loss_bound", owner, low=0.0, closed="neither")
    emp = check_float(emp_risk, "emp_risk", owner)
    delta = check_float(delta, "delta", owner, low=0.0, high=1.0, closed="neither")
    return (
        emp
        + 2 * beta
        + (4 * n * beta + m_loss) * math.sqrt(math.log(1 / delta) / (2 * n))
    )


def default_eta(n: int, beta_max: float) -> float:
    r"""Default slack :math:`\eta = M_\beta \sqrt{2 \ln n / (n - 1)}`, which makes
    the Hoeffding-union failure probability :math:`n e^{-2(n-1)\eta^2/M_\beta^2} =
    n^{-3}`."""
    return beta_max * math.sqrt(2.0 * math.log(max(n, 2)) / max(n - 1, 1))


def locally_elastic_bound(
    beta_bar: float,
    *,
    n: int,
    loss_bound: float,
    emp_risk: float,
    beta_max: float,
    delta: float = 0.05,
    eta: float | None = None,
) -> float:
    r"""Locally elastic generalisation bound, in the structure of the dossier.

    Dossier section 2.3 (Deng, He & Su 2021, main theorem; **structure only**: the
    paper's constants are marked TODO-PDF there). This function implements the
    documented structure with constants reconstructed from the dossier's
    McDiarmid derivation; it is **not** the paper's exact statement.

    Assumptions: A has LES :math:`\beta_n(z', z) = \beta(z', z)/n` with
    :math:`\sup \beta \le M_\beta` (``beta_max`` = :math:`M_\beta / n`), the loss
    is in :math:`[0, M]`, and removal (not replacement) is the perturbation. With
    :math:`\bar\beta = \sup_{z'} E_z \beta(z', z)` (``beta_bar`` =
    :math:`\bar\beta / n`, on the scale of one loss change), with probability at
    least :math:`1 - \delta`

    .. math::

        R \le R_\mathrm{emp} + \frac{2\bar\beta}{n}
          + (4\bar\beta + 2\eta + M)\sqrt{\frac{\ln(2/\delta)}{2n}}
          + n\,e^{-2(n-1)\eta^2/M_\beta^2}\,(4 M_\beta + M).

    Reading: McDiarmid's bounded differences become :math:`(4\bar\beta + 2\eta +
    M)/n` (population part :math:`2\bar\beta/n`; empirical part
    :math:`M/n` plus the empirical averages of :math:`\beta(z_i,\cdot)` and
    :math:`\beta(z_i',\cdot)`, each within :math:`\eta` of its mean) on the event
    where all n Hoeffding deviations are below :math:`\eta`; the failure
    probability :math:`n e^{-2(n-1)\eta^2/M_\beta^2}` times the worst-case
    difference range :math:`4M_\beta + M` is the lower-order term of the variant of
    McDiarmid for differences bounded with high probability; the confidence is
    split as :math:`\delta/2` (hence :math:`\ln(2/\delta)`). The expectation term
    :math:`2\bar\beta/n` is the dossier's. The :math:`\sqrt{1/n}` term carries the
    average-over-evaluation-point constant where the uniform bound has
    :math:`4 n\beta_n = 4\sup\beta`; the extra terms vanish as n grows.

    Parameters
    ----------
    beta_bar : float
        :math:`\bar\beta / n \ge 0` (e.g. :meth:`Sensitivities.les_constant`).
    n : int
        Training-set size (>= 2).
    loss_bound : float
        M > 0.
    emp_risk : float
    beta_max : float
        :math:`M_\beta / n \ge` ``beta_bar`` (e.g.
        :meth:`Sensitivities.uniform_constant`).
    delta : float, default 0.05
    eta : float, optional
        Slack :math:`\eta \ge 0` on the scale of :math:`\beta` (not divided by n).
        Default :func:`default_eta`.

    Returns
    -------
    float
        The bound on the population risk.

    Raises
    ------
    ConfigError
        If a parameter is out of range, or ``beta_bar > beta_max``.
    """
    owner = "locally_elastic_bound"
    bb = check_float(beta_bar, "beta_bar", owner, low=0.0)
    n = check_int(n, "n", owner, low=2)
    m_loss = check_float(loss_bound, "loss_bound", owner, low=0.0, closed="neither")
    emp = check_float(emp_risk, "emp_risk", owner)
    bm = check_float(beta_max, "beta_max", owner, low=0.0)
    delta = check_float(delta, "delta", owner, low=0.0, high=1.0, closed="neither")
    if bb > bm * (1 + 1e-12):
        raise ConfigError(
            f"The 'beta_bar' parameter of {owner} must be at most beta_max "
            f"({bm:g}). Got {bb:g} instead."
        )
    big_bar, big_max = n * bb, n * bm
    eta = (
        default_eta(n, big_max)
        if eta is None
        else check_float(eta, "eta", owner, low=0.0)
    )
    if big_max == 0:
        tail = 0.0
    else:
        ratio = eta / big_max
        tail = n * math.exp(-2 * (n - 1) * ratio * ratio) * (4 * big_max + m_loss)
    return (
        emp
        + 2 * bb
        + (4 * big_bar + 2 * eta + m_loss) * math.sqrt(math.log(2 / delta) / (2 * n))
        + tail
    )


@dataclass(frozen=True)
class BoundComparison:
    """Both generalisation bounds side by side (see :func:`compare_bounds`)."""

    uniform_beta: float
    les_beta: float
    beta_ratio: float
    uniform_bound: float
    les_bound: float
    bound_ratio: float
    emp_risk: float
    loss_bound: float
    n: int
    delta: float
    eta: float

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def compare_bounds(
    sens: Sensitivities,
    *,
    loss_bound: float,
    delta: float = 0.05,
    eta: float | None = None,
    uniform_beta: float | None = None,
    les_beta: float | None = None,
) -> BoundComparison:
    """Evaluate the uniform and the locally elastic bound for one set of estimates.

    By default the constants are the empirical estimates of ``sens``
    (:meth:`Sensitivities.uniform_constant` and :meth:`Sensitivities.les_constant`;
    estimates, not certified bounds); pass ``uniform_beta``/``les_beta`` to use
    analytic ones (e.g. from :func:`rkhs_stability_constants`). ``bound_ratio`` is
    uniform / LES (> 1 when the LES bound is tighter).

    Raises
    ------
    ConfigError
        If a parameter is out of range.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 2)), rng.uniform(-1, 1, size=200)
    >>> sens = kernel_ridge_loo_sensitivities(X, y, lam=0.1)
    >>> cmp = compare_bounds(sens, loss_bound=4.0)
    >>> bool(cmp.beta_ratio >= 1.0)
    True
    """
    if not isinstance(sens, Sensitivities):
        raise ConfigError(
            "The 'sens' parameter of compare_bounds must be Sensitivities. "
            f"Got {type(sens).__name__} instead."
        )
    ub = sens.uniform_constant() if uniform_beta is None else uniform_beta
    lb = sens.les_constant() if les_beta is None else les_beta
    n = sens.n_train
    u = uniform_stability_bound(
        ub, n=n, loss_bound=loss_bound, emp_risk=sens.train_loss, delta=delta
    )
    eta_v = default_eta(n, n * ub) if eta is None else eta
    le = locally_elastic_bound(
        lb,
        n=n,
        loss_bound=loss_bound,
        emp_risk=sens.train_loss,
        beta_max=ub,
        delta=delta,
        eta=eta_v,
    )
    return BoundComparison(
        uniform_beta=float(ub),
        les_beta=float(lb),
        beta_ratio=float(ub / lb) if lb > 0 else math.inf,
        uniform_bound=u,
        les_bound=le,
        bound_ratio=u / le,
        emp_risk=sens.train_loss,
        loss_bound=float(loss_bound),
        n=n,
        delta=float(delta),
        eta=float(eta_v),
    )


# ------------------------------------------------------------------- retraining
def _coupled_streams(
    n: int,
    n_steps: int,
    batch_size: int,
    mode: Sampling,
    rng: np.random.Generator,
    removed: np.ndarray,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The full run's batches and, per removed index, the same stream with that
    index deleted (then re-cut into batches of the same size).

    Deleting every occurrence of i from an i.i.d. uniform stream on ``0..n-1``
    leaves an i.i.d. uniform stream on the other n - 1; deleting i from a
    concatenation of random permutations leaves random permutations of the rest.
    So each leave-one-out run is a correct run of the algorithm on S minus z_i, and
    it sees the same samples in the same order as the full run.
    """
    total = n_steps * batch_size
    sampler = BatchSampler(n, 1, mode, rng)
    extra = total // max(n, 1) + 4 * int(math.sqrt(total + 1)) + 8
    flat = sampler.draw(total + extra)[:, 0]
    full = flat[:total].reshape(n_steps, batch_size)
    loo = []
    for i in removed:
        rest = flat[flat != i]
        while rest.size < total:  # extremely unlikely; draw more
            more = sampler.draw(total)[:, 0]
            rest = np.concatenate([rest, more[more != i]])
        loo.append(np.ascontiguousarray(rest[:total].reshape(n_steps, batch_size)))
    return np.ascontiguousarray(full), loo


class _FixedSampler:
    """Stands in for a runner's BatchSampler and replays given batches."""

    def __init__(self, batches: np.ndarray):
        self.batches = batches
        self.pos = 0

    def draw(self, n_steps: int) -> np.ndarray:
        out = self.batches[self.pos : self.pos + n_steps]
        self.pos += n_steps
        return out


def _ce_losses(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    m = logits.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(logits - m), axis=1))
    return lse - logits[np.arange(labels.size), labels]


def simulator_loo_sensitivities(
    model: Any,
    *,
    steps: int,
    removed_idx: ArrayLike,
    seed: SeedLike = None,
    n_heldout_per_class: int = 0,
) -> Sensitivities:
    r"""Sensitivities of the per-sample cross-entropy of a particle model, by
    retraining without one sample.

    The full run is :func:`simnet.simulate`'s (same seed streams, so the same
    initial state; with ``n_heldout_per_class=0`` it is exactly ``simulate(model,
    steps=steps, seed=seed)``) with the sample stream drawn over the training
    particles; the run without sample i uses the same initial state and the same
    stream with every occurrence of i deleted (``Coupling.DELETE``; see Notes), for
    the same number of steps. The
    particle of i stays in the state but is never sampled: for the HFS model this
    is exactly removing it (a step only moves the sampled instance feature and the
    shared node features); for the LE-SDE SGD imitation likewise (i's own particle
    still moves with its class, as a test point would).

    Parameters
    ----------
    model : HFSModel or LESDEModel
        LE-SDE only with the ``sgd`` integrator (the SDE and the ODE move every
        particle at every step, so there is no sample to remove).
    steps : int
        Number of steps of every run.
    removed_idx : array_like of int
        Training samples to remove, one run each (indices into the training set,
        class-major as ``model.labels()``).
    seed : int, SeedSequence, Generator or None
        As :func:`simnet.simulate`. A Generator is consumed once, so all runs share
        one root seed.
    n_heldout_per_class : int, default 0
        Extra particles per class that are never trained on (evaluation-only, like
        test points: for HFS a fresh instance feature on top of the learned class
        feature). They are appended after the training particles.

    Returns
    -------
    Sensitivities
        ``method="retrain"``; evaluation points are all training particles, then the
        held-out ones; ``loss_full`` are the full run's per-sample losses.

    Raises
    ------
    ConfigError
        If the model is not supported or a parameter is out of range.
    DivergenceError
        If a run diverges.

    Notes
    -----
    With Langevin noise (``sigma > 0``) the noise stream is shared but consumed at
    different places once the runs differ, so the comparison is coupled only up to
    the first step that touches the removed sample. With minibatches, deleting i
    shifts later batch boundaries by one sample.
    """
    from ..models import HFSModel, LESDEModel
    from ..models.lesde import Integrator
    from ..runners import make_runner
    from ..seeding import as_seed_sequence

    owner = "simulator_loo_sensitivities"
    if not isinstance(model, (HFSModel, LESDEModel)):
        raise ConfigError(
            f"The 'model' parameter of {owner} must be an HFSModel or an LESDEModel. "
            f"Got {type(model).__name__} instead."
        )
    if isinstance(model, LESDEModel) and model.integrator_kind is not Integrator.SGD:
        raise ConfigError(
            f"The 'model' parameter of {owner} must sample training points; the "
            f"{model.integrator_kind.value!r} integrator uses every particle at every "
            "step (no sample to remove). Use integrator='sgd'."
        )
    steps = check_int(steps, "steps", owner, low=1)
    n_held = check_int(n_heldout_per_class, "n_heldout_per_class", owner, low=0)
    sizes = np.bincount(model.labels()).astype(np.int64)
    n = int(sizes.sum())
    idx = _removed(removed_idx, n, owner)
    labels_train = np.repeat(np.arange(sizes.size), sizes)
    full_model = model
    if n_held:
        full_model = replace(model, n_per_class=[int(s) + n_held for s in sizes])
    starts = np.concatenate([[0], np.cumsum(sizes + n_held)[:-1]])
    train_pos = np.concatenate(
        [s + np.arange(c) for s, c in zip(starts, sizes, strict=True)]
    )
    held_pos = np.concatenate(
        [s + c + np.arange(n_held) for s, c in zip(starts, sizes, strict=True)]
    ).astype(np.int64)
    eval_pos = np.concatenate([train_pos, held_pos]).astype(np.int64)
    root = as_seed_sequence(seed)
    _, rngs = spawn_generators(root, _SIM_STREAMS)
    full_b, loo_b = _coupled_streams(
        n, steps, model.batch_size, model.sampling_mode, rngs["sampling"], idx
    )

    def run(batches: np.ndarray) -> np.ndarray:
        _, streams = spawn_generators(root, _SIM_STREAMS)
        runner = make_runner(full_model, streams)
        runner.sampler = _FixedSampler(np.ascontiguousarray(train_pos[batches]))
        runner.advance(steps)
        feats = runner.features()
        z = runner.logits(feats)[eval_pos]
        return _ce_losses(z, np.asarray(runner.labels)[eval_pos])

    base = run(full_b)
    values = np.stack([np.abs(run(b) - base) for b in loo_b])
    eval_labels = np.concatenate(
        [labels_train, np.repeat(np.arange(sizes.size), n_held)]
    )
    return Sensitivities(
        values=values,
        removed_idx=idx,
        removed_labels=labels_train[idx],
        eval_labels=eval_labels.astype(np.int64),
        removed_eval_idx=idx.copy(),
        loss_full=base,
        train_loss=float(base[:n].mean()),
        n_train=n,
        method="retrain",
    )


def mlp_loo_sensitivities(
    mlp: Any,
    X: ArrayLike,
    y: ArrayLike,
    *,
    steps: int,
    lr: float,
    removed_idx: ArrayLike,
    X_eval: ArrayLike | None = None,
    y_eval: ArrayLike | None = None,
    batch_size: int = 1,
    sampling: Sampling | str = Sampling.UNIFORM,
    coupling: Coupling | str = Coupling.DELETE,
    seed: SeedLike = None,
) -> Sensitivities:
    r"""Sensitivities of an MLP's per-sample loss, by retraining without one sample.

    Every run starts from the same initial weights (``mlp.init`` on the seed's
    ``init`` stream, as :func:`simnet.networks.train_mlp`) and plain SGD (no
    momentum) on the same minibatch stream, from which the run without sample i
    deletes every occurrence of i (an exact sample stream of SGD on S minus z_i;
    see :func:`simulator_loo_sensitivities`). The loss is ``mlp.loss``.

    Parameters
    ----------
    mlp : simnet.networks.MLP
    X : array_like, shape (n, input_dim)
    y : array_like of int, shape (n,)
    steps : int
    lr : float
    removed_idx : array_like of int
        Training points to remove, one retraining each.
    X_eval, y_eval : array_like, optional
        Evaluation points (default the training set).
    batch_size : int, default 1
    sampling : {"uniform", "epoch"}, default "uniform"
    coupling : {"delete", "drop"}, default "delete"
        How the run without i reuses the full run's minibatches (see
        :class:`Coupling`).
    seed : int, SeedSequence, Generator or None

    Returns
    -------
    Sensitivities
        ``method="retrain"``.

    Raises
    ------
    ConfigError
        On an invalid parameter.
    DataError
        If the data do not fit ``mlp``.
    DivergenceError
        If a run produces non-finite weights.
    """
    from ..errors import DivergenceError
    from ..networks import MLP
    from ..networks.mlp import forward_pass, output_loss, sgd_update

    owner = "mlp_loo_sensitivities"
    if not isinstance(mlp, MLP):
        raise ConfigError(
            f"The 'mlp' parameter of {owner} must be a simnet.networks.MLP. "
            f"Got {type(mlp).__name__} instead."
        )
    X = mlp.check_inputs(X, owner)
    n = X.shape[0]
    y = mlp.check_labels(y, n, owner)
    if (X_eval is None) != (y_eval is None):
        raise ConfigError(
            f"The 'X_eval' and 'y_eval' parameters of {owner} must be given together."
        )
    same = X_eval is None
    Xe = X if same else mlp.check_inputs(X_eval, owner, "X_eval")
    ye = y if same else mlp.check_labels(y_eval, Xe.shape[0], owner, "y_eval")
    steps = check_int(steps, "steps", owner, low=1)
    lr = check_float(lr, "lr", owner, low=0.0, closed="neither")
    batch_size = check_int(batch_size, "batch_size", owner, low=1, high=n)
    mode = check_enum(Sampling, sampling, "sampling", owner)
    how = check_enum(Coupling, coupling, "coupling", owner)
    idx = _removed(removed_idx, n, owner)
    _, rngs = spawn_generators(seed, _MLP_STREAMS)
    init = mlp.init(seed=rngs["init"])
    full_b, loo_b = _coupled_streams(n, steps, batch_size, mode, rngs["sampling"], idx)

    def run(batches: np.ndarray, drop: int = -1) -> tuple[np.ndarray, np.ndarray]:
        params = init.copy()
        for t in range(steps):
            b = batches[t]
            if drop >= 0:
                b = b[b != drop]
                if b.size == 0:
                    continue
            sgd_update(params, X[b], y[b], lr, 0.0, None, mlp.activation, mlp.loss)
        if not params.all_finite():
            raise DivergenceError(
                f"{owner}: the weights became NaN or infinite; try a smaller 'lr' "
                f"(got {lr:g}).",
                steps,
            )
        losses_e = output_loss(
            forward_pass(params, Xe, mlp.activation)[1][-1], ye, mlp.loss
        )[0]
        losses_t = (
            losses_e
            if same
            else output_loss(
                forward_pass(params, X, mlp.activation)[1][-1], y, mlp.loss
            )[0]
        )
        return losses_e, losses_t

    base, base_train = run(full_b)
    if how is Coupling.DELETE:
        values = np.stack([np.abs(run(b)[0] - base) for b in loo_b])
    else:
        values = np.stack([np.abs(run(full_b, int(i))[0] - base) for i in idx])
    y_lab = y if y.ndim == 1 else np.full(n, -1)
    return Sensitivities(
        values=values,
        removed_idx=idx,
        removed_labels=np.asarray(y_lab, dtype=np.int64)[idx],
        eval_labels=np.asarray(
            ye if ye.ndim == 1 else np.full(Xe.shape[0], -1), dtype=np.int64
        ),
        removed_eval_idx=idx.copy() if same else np.full(idx.size, -1),
        loss_full=base,
        train_loss=float(np.mean(base_train)),
        n_train=n,
        method="retrain",
    )


def _kernel_problem(
    X: Any,
    y: Any,
    lam: Any,
    kernel: Any,
    gamma: Any,
    degree: Any,
    X_eval: Any,
    y_eval: Any,
    removed_idx: Any,
    owner: str,
) -> tuple:
    """Validate the arguments shared by the kernel-ridge functions, once."""
    X = _as_matrix(X, "X", owner)
    n = X.shape[0]
    Y = _as_targets(y, n, "y", owner)
    lam = check_float(lam, "lam", owner, low=0.0, closed="neither")
    kind = check_enum(Kernel, kernel, "kernel", owner)
    g = (
        1.0 / X.shape[1]
        if gamma is None
        else check_float(gamma, "gamma", owner, low=0.0, closed="neither")
    )
    degree = check_int(degree, "degree", owner, low=1)
    Xe, Ye, same = _eval_set(X, Y, X_eval, y_eval, owner)
    idx = _removed(removed_idx, n, owner)
    return X, Y, n, lam, kind, g, degree, Xe, Ye, same, idx
