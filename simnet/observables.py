"""Observables on particle states: loss, accuracy, margins, separability, collapse.

Every function here is a pure numpy/scipy function of arrays (only
:func:`elasticity_curve` returns a pandas DataFrame). Inputs are validated once at
the boundary and converted to float64; bad shapes raise
:class:`~simnet.errors.DataError` with a message naming the argument and the shape
received. See ``MODEL.md`` section 4.

Conventions
-----------
* ``logits`` has shape ``(n, K)``, ``features`` shape ``(n, p)``, ``labels`` shape
  ``(n,)`` with integer entries in ``[0, n_classes)``.
* Classes absent from ``labels`` are ignored by the class-level metrics
  (:func:`is_linearly_separable`, :func:`neural_collapse`) and give a NaN row in
  :func:`class_means`.
* The global mean of the neural-collapse metrics is the mean of the class means (the
  balanced convention), not the mean of all samples.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.optimize import linprog
from scipy.special import entr

from ._validation import check_int
from .errors import DataError, SimnetError

__all__ = [
    "accuracy",
    "class_means",
    "cross_entropy",
    "effective_feature_count",
    "elasticity_curve",
    "intra_inter_ratio",
    "is_linearly_separable",
    "log_softmax",
    "margins",
    "neural_collapse",
]

_EPS = np.finfo(np.float64).eps
_MAX_LP_ROUNDS = 100  # constraint-generation rounds before solving the full LP


# --------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------


def _where(name: str, owner: str) -> str:
    return f"The '{name}' parameter of {owner}"


def _ndim(shape_doc: str) -> int:
    return len([part for part in shape_doc.strip("()").split(",") if part.strip()])


def _float_array(value: ArrayLike, name: str, owner: str, shape_doc: str) -> np.ndarray:
    """``value`` as a finite float64 array with ``len(shape_doc)`` dimensions."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{_where(name, owner)} must be an array of floats of shape {shape_doc}. "
            f"Got a {type(value).__name__} that numpy cannot convert instead."
        ) from None
    ndim = _ndim(shape_doc)
    if arr.ndim != ndim:
        raise DataError(
            f"{_where(name, owner)} must be a {ndim}-D array of shape {shape_doc}. "
            f"Got shape {arr.shape} instead."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(
            f"{_where(name, owner)} must be finite. Got a NaN or infinite entry."
        )
    return arr


def _int_array(value: ArrayLike, name: str, owner: str, shape_doc: str) -> np.ndarray:
    """``value`` as an int64 array; float entries must be integral."""
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        raw = np.asarray(value, dtype=object)
    ndim = _ndim(shape_doc)
    if raw.ndim != ndim:
        raise DataError(
            f"{_where(name, owner)} must be a {ndim}-D array of shape {shape_doc}. "
            f"Got shape {raw.shape} instead."
        )
    if raw.size == 0:
        return raw.astype(np.int64)
    if np.issubdtype(raw.dtype, np.integer) and raw.dtype != np.bool_:
        return raw.astype(np.int64)
    if np.issubdtype(raw.dtype, np.floating):
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if not bad.any():
            return raw.astype(np.int64)
        raise DataError(
            f"{_where(name, owner)} must hold integers. "
            f"Got the value {float(raw[bad].flat[0])} instead."
        )
    raise DataError(
        f"{_where(name, owner)} must hold integers. Got dtype {raw.dtype} instead."
    )


def _check_labels(
    labels: ArrayLike, n: int, n_classes: int, owner: str, other: str
) -> np.ndarray:
    """Labels as int64 of shape ``(n,)`` with entries in ``[0, n_classes)``."""
    lab = _int_array(labels, "labels", owner, "(n,)")
    if lab.shape != (n,):
        raise DataError(
            f"{_where('labels', owner)} must have shape ({n},) to match '{other}'. "
            f"Got shape {lab.shape} instead."
        )
    if lab.size and (lab.min() < 0 or lab.max() >= n_classes):
        bad = lab[(lab < 0) | (lab >= n_classes)][0]
        raise DataError(
            f"{_where('labels', owner)} must hold class indices in "
            f"[0, {n_classes - 1}]. Got {bad} instead."
        )
    return lab


def _logits_and_labels(
    logits: ArrayLike, labels: ArrayLike, owner: str, *, min_classes: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    z = _float_array(logits, "logits", owner, "(n, K)")
    if z.shape[1] < min_classes:
        raise DataError(
            f"{_where('logits', owner)} must have at least {min_classes} column(s) "
            f"(classes). Got shape {z.shape} instead."
        )
    lab = _check_labels(labels, z.shape[0], z.shape[1], owner, "logits")
    return z, lab


def _n_classes(n_classes: int, owner: str) -> int:
    return check_int(n_classes, "n_classes", owner, low=1)


def _square(
    value: ArrayLike, name: str, owner: str, *, min_size: int = 1
) -> np.ndarray:
    E = _float_array(value, name, owner, "(K, K)")
    if E.shape[0] != E.shape[1] or E.shape[0] < min_size:
        raise DataError(
            f"{_where(name, owner)} must be a square array of shape (K, K) with "
            f"K >= {min_size}. Got shape {E.shape} instead."
        )
    return E


# --------------------------------------------------------------------------------------
# loss, accuracy, margins
# --------------------------------------------------------------------------------------


def _lse_parts(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise ``(m, t)`` with ``logsumexp(z) = m + t`` for finite 2-D ``z``.

    ``m`` is the row maximum and ``t = log1p(sum over the other entries of
    exp(z - m)) >= 0``: no exponential overflows for huge logits, and ``t`` keeps
    full relative precision when the maximum dominates (tiny losses).
    """
    rows = np.arange(z.shape[0])
    top = np.argmax(z, axis=1)
    m = z[rows, top]
    e = np.exp(z - m[:, None])
    e[rows, top] = 0.0
    return m, np.log1p(e.sum(axis=1))


def log_softmax(logits: ArrayLike) -> np.ndarray:
    r"""Row-wise log-softmax, computed stably.

    Parameters
    ----------
    logits : array_like of float, shape (n, K)
        Finite logits, one row per sample.

    Returns
    -------
    ndarray of float64, shape (n, K)
        ``log softmax(logits)`` row by row; every row satisfies
        ``logsumexp(row) == 0`` up to rounding.

    Raises
    ------
    DataError
        If ``logits`` is not 2-D, has no column, or has a NaN or infinite entry.

    Notes
    -----
    .. math::

        \log \operatorname{softmax}(z)_k = z_k - m
            - \log\Bigl(1 + \sum_{j \ne k^*} e^{z_j - m}\Bigr),
        \qquad m = z_{k^*} = \max_j z_j,

    the log-sum-exp trick with ``log1p``: no exponential overflows, and losses near
    zero keep their relative precision.

    Examples
    --------
    >>> out = log_softmax([[0.0, 0.0], [1e4, 0.0]])
    >>> np.round(out, 4).tolist()
    [[-0.6931, -0.6931], [0.0, -10000.0]]
    """
    z = _float_array(logits, "logits", "log_softmax", "(n, K)")
    if z.shape[1] < 1:
        raise DataError(
            "The 'logits' parameter of log_softmax must have at least 1 column "
            f"(classes). Got shape {z.shape} instead."
        )
    m, tail = _lse_parts(z)
    return (z - m[:, None]) - tail[:, None]


def cross_entropy(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    r"""Per-sample cross-entropy loss of softmax(logits) against integer labels.

    Parameters
    ----------
    logits : array_like of float, shape (n, K)
        Finite logits.
    labels : array_like of int, shape (n,)
        True classes, in ``[0, K)``.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``-log softmax(logits)[i, labels[i]]``, always ``>= 0`` and finite.

    Raises
    ------
    DataError
        If the shapes do not match, a label is out of range or not an integer, or a
        logit is not finite.

    Notes
    -----
    .. math::

        \ell_i = -\log \frac{e^{z_{i c_i}}}{\sum_k e^{z_{ik}}}
              = (m_i - z_{i c_i}) + \log\Bigl(1 + \sum_{k \ne k^*_i}
                e^{z_{ik} - m_i}\Bigr),

    with :math:`m_i = z_{i k^*_i} = \max_k z_{ik}`. Both terms are non-negative, so
    the result is never negative, even after rounding.

    Examples
    --------
    >>> cross_entropy([[0.0, 0.0], [0.0, 1e4]], [0, 0]).tolist()
    [0.6931471805599453, 10000.0]
    """
    z, lab = _logits_and_labels(logits, labels, "cross_entropy")
    m, tail = _lse_parts(z)
    return (m - z[np.arange(z.shape[0]), lab]) + tail


def accuracy(logits: ArrayLike, labels: ArrayLike) -> float:
    r"""Fraction of samples whose arg-max logit is the true class.

    Parameters
    ----------
    logits : array_like of float, shape (n, K)
        Finite logits.
    labels : array_like of int, shape (n,)
        True classes, in ``[0, K)``.

    Returns
    -------
    float
        In ``[0, 1]``; NaN when ``n == 0``.

    Raises
    ------
    DataError
        If the shapes do not match, a label is out of range or not an integer, or a
        logit is not finite.

    Notes
    -----
    .. math::

        \mathrm{acc} = \frac1n \sum_i [\operatorname{argmax}_k z_{ik} = c_i].

    Ties follow ``numpy.argmax``: the prediction is the *first* index attaining the
    maximum. A tie therefore counts as correct only when the true class is the
    lowest-indexed of the tied classes (whereas its :func:`margins` entry is 0).

    Examples
    --------
    >>> accuracy([[2.0, 1.0], [0.0, 3.0], [1.0, 1.0], [1.0, 1.0]], [0, 0, 0, 1])
    0.5
    """
    z, lab = _logits_and_labels(logits, labels, "accuracy")
    if z.shape[0] == 0:
        return float("nan")
    return float(np.mean(np.argmax(z, axis=1) == lab))


def margins(logits: ArrayLike, labels: ArrayLike) -> np.ndarray:
    r"""Per-sample margin: true-class logit minus the largest other logit.

    Parameters
    ----------
    logits : array_like of float, shape (n, K)
        Finite logits, ``K >= 2``.
    labels : array_like of int, shape (n,)
        True classes, in ``[0, K)``.

    Returns
    -------
    ndarray of float64, shape (n,)
        Positive exactly when the sample is classified correctly with no tie.

    Raises
    ------
    DataError
        If the shapes do not match, ``K < 2``, a label is out of range or not an
        integer, or a logit is not finite.

    Notes
    -----
    .. math::

        \gamma_i = z_{i c_i} - \max_{k \ne c_i} z_{ik}.

    Examples
    --------
    >>> margins([[3.0, 1.0, 2.0], [0.0, 5.0, 1.0]], [0, 2]).tolist()
    [1.0, -4.0]
    """
    z, lab = _logits_and_labels(logits, labels, "margins", min_classes=2)
    rows = np.arange(z.shape[0])
    true = z[rows, lab]
    others = z.copy()
    others[rows, lab] = -np.inf
    return true - others.max(axis=1, initial=-np.inf)


# --------------------------------------------------------------------------------------
# linear separability
# --------------------------------------------------------------------------------------


def is_linearly_separable(
    features: ArrayLike, labels: ArrayLike, n_classes: int
) -> bool:
    r"""Exact test of multiclass linear separability, by linear programming.

    Parameters
    ----------
    features : array_like of float, shape (n, p)
        Finite features (particles), one row per sample.
    labels : array_like of int, shape (n,)
        Classes, in ``[0, n_classes)``. Classes that do not occur are ignored.
    n_classes : int
        Number of classes ``K >= 1``.

    Returns
    -------
    bool
        True if some affine multiclass classifier classifies every sample strictly
        correctly; True whenever fewer than two classes are present.

    Raises
    ------
    DataError
        If the shapes do not match, a label is out of range or not an integer, or a
        feature is not finite.
    ConfigError
        If ``n_classes`` is not a positive int.
    SimnetError
        If the LP solver ends with neither a solution nor a proof of infeasibility
        (numerical trouble); the message gives the solver status.

    Notes
    -----
    The samples are separable iff the LP feasibility problem

    .. math::

        \exists\, W \in \mathbb R^{K\times p},\ b \in \mathbb R^K:\quad
        (w_{c_i} - w_k)^\top x_i + (b_{c_i} - b_k) \ge 1
        \quad \forall i,\ \forall k \ne c_i

    has a solution (a strict separator can always be rescaled to margin 1). Only
    present classes take part; the first one has ``(w, b)`` fixed to zero (the
    problem is invariant under a common shift); features are centred and scaled
    column-wise first (an invertible affine map, which preserves separability).

    The ``n (K - 1)`` constraints are handled by constraint generation: a
    least-squares classifier gives a first candidate; each round solves, with HiGHS
    (``scipy.optimize.linprog``, sparse constraints), the LP restricted to a working
    set of constraints, with objective :math:`\lVert (W, b) \rVert_1` so that the
    candidate is a well-spread hard-margin separator; then every constraint is
    checked and the most violated ones join the working set. The answer is exact
    in both directions: True is returned only for a candidate verified to classify
    every sample strictly correctly, False only when an LP over a subset of the
    constraints (hence the full LP) is infeasible. If the working set grows past half
    of all constraints, or a restricted LP is numerically troublesome, the full LP
    is solved instead. As with any floating-point LP, data whose best relative
    margin is below the solver tolerance (about ``1e-7``) may be reported as not
    separable.

    Examples
    --------
    >>> x = [[0.0], [1.0], [2.0], [3.0]]
    >>> is_linearly_separable(x, [0, 0, 1, 1], n_classes=2)
    True
    >>> is_linearly_separable(x, [0, 1, 0, 1], n_classes=2)
    False
    """
    owner = "is_linearly_separable"
    K = _n_classes(n_classes, owner)
    X = _float_array(features, "features", owner, "(n, p)")
    lab = _check_labels(labels, X.shape[0], K, owner, "features")
    present, cls = np.unique(lab, return_inverse=True)
    n_present = present.size
    if n_present < 2:
        return True
    n = X.shape[0]

    # Invertible affine rescaling: centre, divide by the column scale (if non-zero).
    X = X - X.mean(axis=0)
    scale = np.abs(X).max(axis=0)
    X = X / np.where(scale > 0, scale, 1.0)
    Xa = np.hstack([X, np.ones((n, 1))])  # augmented with the bias coordinate
    n_free = (n_present - 1) * Xa.shape[1]
    n_total = n * (n_present - 1)
    per_round = n_free

    rows = np.arange(n)
    active = np.zeros((n, n_present), dtype=bool)
    W = np.linalg.lstsq(Xa, np.eye(n_present)[cls], rcond=None)[0].T
    for round_idx in range(_MAX_LP_ROUNDS):
        scores = Xa @ W.T
        gap = scores[rows, cls][:, None] - scores
        gap[rows, cls] = np.inf
        if np.all(gap > 0):
            return True
        gap[active] = np.inf
        worst = np.argmin(gap, axis=1)
        worst_gap = gap[rows, worst]
        if round_idx == 0:
            candidates = rows  # the least-squares scale is arbitrary
        else:
            candidates = np.flatnonzero(worst_gap < 0.5)
        if candidates.size == 0:  # only working-set rows fail: solver tolerance
            break
        if candidates.size > per_round:
            nearest = np.argpartition(worst_gap[candidates], per_round)[:per_round]
            candidates = candidates[nearest]
        active[candidates, worst[candidates]] = True
        n_active = int(active.sum())
        if 2 * n_active > n_total:
            break
        status, W = _margin_lp(Xa, cls, n_present, *np.nonzero(active))
        if status == 2:
            return False
        if status != 0:
            break

    others = np.broadcast_to(np.arange(n_present), (n, n_present))
    mask = others != cls[:, None]
    status, _ = _margin_lp(Xa, cls, n_present, np.nonzero(mask)[0], others[mask])
    if status in (0, 2):
        return status == 0
    raise SimnetError(
        f"is_linearly_separable: the LP solver ended with status {status}; "
        "separability could not be decided. Rescaling or deduplicating the "
        "features may help."
    )


def _margin_lp(
    Xa: np.ndarray,
    cls: np.ndarray,
    n_present: int,
    sample_idx: np.ndarray,
    other_idx: np.ndarray,
) -> tuple[int, np.ndarray]:
    """Hard-margin l1 LP over the constraint rows ``(sample_idx, other_idx)``.

    Minimises ``||W||_1`` over ``W`` (``(n_present, q)``, row 0 fixed to zero) under
    ``(w_{c_i} - w_k) . xa_i >= 1`` for the given pairs ``(i, k)``; ``W = U - V``
    with ``U, V >= 0``. Returns the linprog status and ``W`` (zeros unless the
    status is 0).
    """
    q = Xa.shape[1]
    n_rows = sample_idx.size
    n_free = (n_present - 1) * q
    vals = Xa[sample_idx]
    row = np.broadcast_to(np.arange(n_rows)[:, None], vals.shape)
    data, row_idx, col_idx = [], [], []
    for block, sign in ((cls[sample_idx], -1.0), (other_idx, 1.0)):
        keep = block > 0  # class 0 is the fixed reference: no columns
        data.append(sign * vals[keep].ravel())
        row_idx.append(row[keep].ravel())
        col_idx.append(((block[keep, None] - 1) * q + np.arange(q)).ravel())
    A = sp.csr_matrix(
        (np.concatenate(data), (np.concatenate(row_idx), np.concatenate(col_idx))),
        shape=(n_rows, n_free),
    )
    res = linprog(
        np.ones(2 * n_free),
        A_ub=sp.hstack([A, -A], format="csr"),
        b_ub=-np.ones(n_rows),
        bounds=(0.0, None),
        method="highs",
    )
    W = np.zeros((n_present, q))
    if res.status == 0:
        W[1:] = (res.x[:n_free] - res.x[n_free:]).reshape(n_present - 1, q)
    return int(res.status), W


# --------------------------------------------------------------------------------------
# neural collapse
# --------------------------------------------------------------------------------------


def _class_sums(
    X: np.ndarray, lab: np.ndarray, K: int
) -> tuple[np.ndarray, np.ndarray]:
    n = X.shape[0]
    onehot = sp.csr_matrix((np.ones(n), (lab, np.arange(n))), shape=(K, n))
    sums = np.asarray(onehot @ X, dtype=np.float64).reshape(K, X.shape[1])
    counts = np.bincount(lab, minlength=K)
    return sums, counts


def class_means(features: ArrayLike, labels: ArrayLike, n_classes: int) -> np.ndarray:
    r"""Mean feature of each class.

    Parameters
    ----------
    features : array_like of float, shape (n, p)
        Finite features, one row per sample.
    labels : array_like of int, shape (n,)
        Classes, in ``[0, n_classes)``.
    n_classes : int
        Number of classes ``K >= 1``.

    Returns
    -------
    ndarray of float64, shape (K, p)
        Row ``k`` is the mean of the features of class ``k``, or all NaN if class
        ``k`` has no sample.

    Raises
    ------
    DataError
        If the shapes do not match, a label is out of range or not an integer, or a
        feature is not finite.
    ConfigError
        If ``n_classes`` is not a positive int.

    Notes
    -----
    .. math::

        \mu_k = \frac{1}{n_k} \sum_{i:\, c_i = k} x_i.

    Examples
    --------
    >>> class_means([[0.0, 2.0], [2.0, 4.0], [5.0, 5.0]], [0, 0, 2], 3).tolist()
    [[1.0, 3.0], [nan, nan], [5.0, 5.0]]
    """
    owner = "class_means"
    K = _n_classes(n_classes, owner)
    X = _float_array(features, "features", owner, "(n, p)")
    lab = _check_labels(labels, X.shape[0], K, owner, "features")
    sums, counts = _class_sums(X, lab, K)
    out = np.full_like(sums, np.nan)
    has = counts > 0
    out[has] = sums[has] / counts[has, None]
    return out


_NC_KEYS = ("nc1", "equinorm", "equiangularity", "angle_deviation", "etf_distance")


def neural_collapse(
    features: ArrayLike, labels: ArrayLike, n_classes: int
) -> dict[str, float]:
    r"""Neural-collapse metrics NC1, equinorm, equiangularity and distance to the ETF.

    Parameters
    ----------
    features : array_like of float, shape (n, p)
        Finite features (penultimate-layer activations or particles).
    labels : array_like of int, shape (n,)
        Classes, in ``[0, n_classes)``. Absent classes are ignored: below, ``K`` is
        the number of classes present.
    n_classes : int
        Number of classes ``>= 1``.

    Returns
    -------
    dict of str to float
        ``nc1``, ``equinorm``, ``equiangularity``, ``angle_deviation`` and
        ``etf_distance``. All are NaN when fewer than two classes are present or when
        all class means coincide (numerically); the three angle metrics are NaN when
        one centred class mean is numerically zero (its direction is undefined).

    Raises
    ------
    DataError
        If the shapes do not match, a label is out of range or not an integer, or a
        feature is not finite.
    ConfigError
        If ``n_classes`` is not a positive int.

    Notes
    -----
    Following Papyan, Han & Donoho (2020), with class means :math:`\mu_k`, the
    *balanced* global mean :math:`\mu_G = \frac1K\sum_k \mu_k` (the mean of the
    class means, not of the samples) and centred means :math:`m_k = \mu_k - \mu_G`:

    .. math::

        \Sigma_W = \frac1n \sum_i (x_i - \mu_{c_i})(x_i - \mu_{c_i})^\top,
        \qquad
        \Sigma_B = \frac1K \sum_k m_k m_k^\top,
        \qquad
        \mathrm{NC1} = \frac1K \operatorname{tr}(\Sigma_W \Sigma_B^{+}).

    :math:`\Sigma_B^+` is formed from the SVD :math:`M = U S V^\top` of the stacked
    centred means (singular values below ``max(K, p) * eps * s_max`` count as zero),
    so :math:`\mathrm{NC1} = \sum_j \lVert R v_j \rVert^2 / (n s_j^2)` with
    :math:`R` the within-class residuals.

    With :math:`\cos_{kk'} = m_k^\top m_{k'} / (\lVert m_k\rVert \lVert m_{k'}
    \rVert)` over pairs :math:`k < k'`:

    * ``equinorm`` :math:`= \operatorname{std}_k \lVert m_k \rVert /
      \operatorname{mean}_k \lVert m_k \rVert`;
    * ``equiangularity`` :math:`= \operatorname{std}_{k<k'} \cos_{kk'}`;
    * ``angle_deviation`` :math:`= \operatorname{mean}_{k<k'}
      \lvert \cos_{kk'} + 1/(K-1) \rvert`;
    * ``etf_distance`` :math:`= \lVert G/\lVert G\rVert_F - T/\lVert T\rVert_F
      \rVert_F` with :math:`G_{kk'} = \cos_{kk'}` (unit diagonal), the Gram matrix
      of the normalised centred means, and :math:`T = I - \mathbf 1\mathbf 1^\top/K`
      the simplex-ETF Gram matrix.

    Standard deviations are population ones (``ddof=0``). All five vanish at exact
    neural collapse (zero within-class spread, class means on a simplex ETF). A
    centred mean counts as numerically zero when its norm is at most
    ``4 K max(1, sqrt(p)) eps max|mu|``, the rounding error of the centring.

    Examples
    --------
    >>> x = [[1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [-1.0, 0.0]]
    >>> nc = neural_collapse(x, [0, 0, 1, 1], n_classes=2)
    >>> sorted(nc)
    ['angle_deviation', 'equiangularity', 'equinorm', 'etf_distance', 'nc1']
    >>> [round(v, 12) for v in nc.values()]
    [0.0, 0.0, 0.0, 0.0, 0.0]
    """
    owner = "neural_collapse"
    n_cls = _n_classes(n_classes, owner)
    X = _float_array(features, "features", owner, "(n, p)")
    lab = _check_labels(labels, X.shape[0], n_cls, owner, "features")
    out = dict.fromkeys(_NC_KEYS, float("nan"))

    sums, counts = _class_sums(X, lab, n_cls)
    present = counts > 0
    K = int(present.sum())
    if K < 2:
        return out
    n, p = X.shape
    mu = np.zeros_like(sums)
    mu[present] = sums[present] / counts[present, None]
    M = mu[present] - mu[present].mean(axis=0)  # centred class means, (K, p)
    norms = np.linalg.norm(M, axis=1)
    scale = float(np.abs(mu[present]).max(initial=0.0))
    tiny = 4.0 * K * max(1.0, np.sqrt(p)) * _EPS * scale
    if norms.max() <= tiny:
        return out

    # NC1 through the SVD of the centred means.
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    keep = s > max(K, p) * _EPS * s[0]
    R = X - mu[lab]
    proj = R @ Vt[keep].T  # (n, r)
    out["nc1"] = float(np.sum(np.sum(proj**2, axis=0) / s[keep] ** 2) / n)
    out["equinorm"] = float(np.std(norms) / np.mean(norms))

    if np.all(norms > tiny):
        U = M / norms[:, None]
        G = np.clip(U @ U.T, -1.0, 1.0)
        np.fill_diagonal(G, 1.0)
        iu = np.triu_indices(K, k=1)
        cos = G[iu]
        out["equiangularity"] = float(np.std(cos))
        out["angle_deviation"] = float(np.mean(np.abs(cos + 1.0 / (K - 1))))
        T = np.eye(K) - np.full((K, K), 1.0 / K)
        D = G / np.linalg.norm(G) - T / np.sqrt(K - 1.0)
        out["etf_distance"] = float(np.linalg.norm(D))
    return out


# --------------------------------------------------------------------------------------
# impact-matrix summaries
# --------------------------------------------------------------------------------------


def intra_inter_ratio(E: ArrayLike) -> float:
    r"""Ratio of the mean self-impact to the mean cross-class impact.

    Parameters
    ----------
    E : array_like of float, shape (K, K)
        Impact (local elasticity) matrix, ``K >= 2``.

    Returns
    -------
    float
        ``mean(diag E) / mean(offdiag E)``; ``+inf`` or ``-inf`` when the
        off-diagonal mean is zero and the diagonal mean is not, NaN when both are
        zero.

    Raises
    ------
    DataError
        If ``E`` is not square with ``K >= 2`` or has a non-finite entry.

    Notes
    -----
    .. math::

        r = \frac{\frac1K \sum_k E_{kk}}{\frac{1}{K(K-1)} \sum_{k \ne k'}
            E_{kk'}}.

    Larger values mean a more locally elastic network (He & Su 2020).

    Examples
    --------
    >>> intra_inter_ratio([[4.0, 1.0], [1.0, 2.0]])
    3.0
    """
    A = _square(E, "E", "intra_inter_ratio", min_size=2)
    K = A.shape[0]
    diag = float(np.trace(A)) / K
    off = float((A.sum() - np.trace(A)) / (K * (K - 1)))
    if off == 0.0:
        return float("nan") if diag == 0.0 else float(np.copysign(np.inf, diag))
    return diag / off


def elasticity_curve(E: ArrayLike, lca_depth: ArrayLike) -> pd.DataFrame:
    r"""Mean impact grouped by the depth of the lowest common ancestor of a class pair.

    Parameters
    ----------
    E : array_like of float, shape (K, K)
        Impact (local elasticity) matrix.
    lca_depth : array_like of int, shape (K, K)
        Depth of the lowest common ancestor of each class pair, e.g.
        ``Hierarchy.lca_depth_matrix()``.

    Returns
    -------
    pandas.DataFrame
        Columns ``lca_depth`` (int64), ``same_class`` (bool), ``mean_impact``
        (float64) and ``n_pairs`` (int64); one row per ``(lca_depth, same_class)``
        group that occurs, sorted by ``same_class`` (False first) then
        ``lca_depth``, with a fresh ``RangeIndex``.

    Raises
    ------
    DataError
        If ``E`` is not square, ``lca_depth`` does not have the shape of ``E`` or
        holds non-integers, or ``E`` has a non-finite entry.

    Notes
    -----
    Over ordered pairs :math:`(k, k')` (both :math:`(k, k')` and :math:`(k', k)`
    count, and the diagonal forms the ``same_class`` rows):

    .. math::

        \bar E(d, s) = \frac{1}{\lvert P_{d,s}\rvert}\sum_{(k,k') \in P_{d,s}}
            E_{kk'},\qquad
        P_{d,s} = \{(k,k') : \mathrm{lca}(k,k') = d,\ [k = k'] = s\}.

    A locally elastic network has a curve increasing in ``d`` (He & Su 2020).

    Examples
    --------
    >>> E = [[3.0, 2.0, 0.5], [2.0, 3.0, 0.5], [0.5, 0.5, 4.0]]
    >>> lca = [[2, 1, 0], [1, 2, 0], [0, 0, 1]]
    >>> elasticity_curve(E, lca)
       lca_depth  same_class  mean_impact  n_pairs
    0          0       False          0.5        4
    1          1       False          2.0        2
    2          1        True          4.0        1
    3          2        True          3.0        2
    """
    owner = "elasticity_curve"
    A = _square(E, "E", owner)
    depth = _int_array(lca_depth, "lca_depth", owner, "(K, K)")
    if depth.shape != A.shape:
        raise DataError(
            f"{_where('lca_depth', owner)} must have shape {A.shape} to match 'E'. "
            f"Got shape {depth.shape} instead."
        )
    K = A.shape[0]
    frame = pd.DataFrame(
        {
            "lca_depth": depth.ravel(),
            "same_class": np.eye(K, dtype=bool).ravel(),
            "impact": A.ravel(),
        }
    )
    out = (
        frame.groupby(["same_class", "lca_depth"], sort=True)["impact"]
        .agg(mean_impact="mean", n_pairs="size")
        .reset_index()
    )
    out = out[["lca_depth", "same_class", "mean_impact", "n_pairs"]]
    return out.astype(
        {
            "lca_depth": np.int64,
            "same_class": bool,
            "mean_impact": np.float64,
            "n_pairs": np.int64,
        }
    )


# --------------------------------------------------------------------------------------
# feature amounts
# --------------------------------------------------------------------------------------


def effective_feature_count(amounts: ArrayLike, depth: ArrayLike) -> np.ndarray:
    r"""Effective number of features at each depth: exp of the entropy of the amounts.

    Parameters
    ----------
    amounts : array_like of float, shape (V,)
        Amount ``lam_v`` of each node of the hierarchy (signs are ignored).
    depth : array_like of int, shape (V,)
        Depth of each node, ``>= 0``.

    Returns
    -------
    ndarray of float64, shape (max(depth) + 1,)
        Entry ``d`` lies in ``[1, n_d]`` with ``n_d`` the number of nodes at depth
        ``d``; it is 0 when every amount at depth ``d`` is zero or no node has depth
        ``d``. Empty inputs give an empty array.

    Raises
    ------
    DataError
        If the shapes differ or are not 1-D, ``amounts`` has a non-finite entry, or
        ``depth`` holds a negative or non-integer value.

    Notes
    -----
    For the nodes :math:`v` at depth :math:`d`,

    .. math::

        q_v = \frac{\lvert\lambda_v\rvert}{\sum_{u:\, d(u) = d}
              \lvert\lambda_u\rvert},\qquad
        N_{\mathrm{eff}}(d) = \exp\Bigl(-\sum_{v:\, d(v)=d} q_v \log q_v\Bigr),

    with :math:`0 \log 0 = 0`; amounts are divided by their maximum at each depth
    first, so huge amounts do not overflow. A single node with a non-zero amount
    gives 1; ``n_d`` equal amounts give ``n_d``.

    Examples
    --------
    >>> out = effective_feature_count([5.0, 1.0, 1.0, 2.0, 0.0], [0, 1, 1, 2, 2])
    >>> np.round(out, 12).tolist()
    [1.0, 2.0, 1.0]
    """
    owner = "effective_feature_count"
    lam = np.abs(_float_array(amounts, "amounts", owner, "(V,)"))
    d = _int_array(depth, "depth", owner, "(V,)")
    if d.shape != lam.shape:
        raise DataError(
            f"{_where('depth', owner)} must have shape {lam.shape} to match "
            f"'amounts'. Got shape {d.shape} instead."
        )
    if d.size == 0:
        return np.zeros(0)
    if d.min() < 0:
        raise DataError(
            f"{_where('depth', owner)} must be non-negative. Got {d.min()} instead."
        )
    n_depths = int(d.max()) + 1
    peak = np.zeros(n_depths)
    np.maximum.at(peak, d, lam)
    scaled = np.zeros_like(lam)
    live = peak[d] > 0
    scaled[live] = lam[live] / peak[d][live]
    total = np.bincount(d, weights=scaled, minlength=n_depths)
    q = np.zeros_like(lam)
    q[live] = scaled[live] / total[d][live]
    entropy = np.bincount(d, weights=entr(q), minlength=n_depths)
    return np.where(total > 0, np.exp(entropy), 0.0)
