"""Closed-form class-mean LE-ODE solutions (``MODEL.md`` section 3, dossier 1.6-1.8).

All solutions are for the two-parameter impact matrix
``E(t) = (alpha(t) - beta(t)) I + beta(t) 1 1^T`` with time-varying rates, entering
only through the integrated impacts ``A(t) = int_0^t alpha`` and
``B(t) = int_0^t beta``. The class-mean LE-ODE is

    dm_k/dt = (1/K) sum_k' E(t)[k, k'] G_k'(m_k'),

with one of three linear gradient surrogates (features = logits, p = K for the L
and constant-gradient models):

* I model, ``G_k = m_k``: fully closed form in (A, B) (:func:`identity_ode_solution`);
* L model, ``G_k = P_k m_k`` with ``P_k`` the projection on ``d_k = e_k - 1/K``: the
  coordinates ``s_k = <m_k, d_k>/|d_k|^2`` are closed form in (A, B) for any rates
  (:func:`projected_ode_coordinates`); the full state ``m(t)`` is closed form in
  (A, B) when alpha and beta are proportional (including constant rates) and needs
  one scalar path integral ``J(t) = int_0^t exp(R2) dB`` otherwise
  (:func:`projected_ode_solution`, :func:`projected_ode_solution_from_rates`);
* constant-gradient surrogate, ``G_k = d_k``: ``m_k(t) = m_k(0) + ((A - B)/K) d_k``
  (:func:`etf_ode_solution`).

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import numpy as np
from scipy import integrate

from .._validation import check_enum, check_float
from ..errors import ConfigError
from ..models.lesde import Surrogate
from ..observables import neural_collapse
from ..schedules import Schedule, as_schedule

__all__ = [
    "RatePath",
    "etf_directions",
    "etf_distance",
    "etf_distance_prediction",
    "etf_distance_scale",
    "etf_ode_solution",
    "identity_ode_solution",
    "integrated_impacts",
    "projected_coordinates",
    "projected_ode_coordinates",
    "projected_ode_solution",
    "projected_ode_solution_from_rates",
    "separation_onset",
    "separation_rate",
]

ScheduleLike = float | Schedule | Callable[[np.ndarray], np.ndarray]


class RatePath(StrEnum):
    """How the L-model path integral ``J = int_0^t exp(R2) dB`` is evaluated.

    ``proportional``: alpha and beta are proportional (or constant), so (A, B) moves
    on a ray from the origin and ``J = B expm1(R2)/R2`` exactly, from the end point;
    ``path``: ``a`` and ``b`` are 1-D arrays sampling the path on a grid that starts
    at t = 0, and J is the trapezoidal Stieltjes sum (error O(h^2) in the grid step).
    """

    PROPORTIONAL = "proportional"
    PATH = "path"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def etf_directions(n_classes: int) -> np.ndarray:
    """The simplex-ETF directions ``d_k = e_k - 1/K`` as the rows of a (K, K) array."""
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ConfigError(
            "The 'n_classes' parameter of etf_directions must be an int >= 2. "
            f"Got {n_classes!r} instead."
        )
    k = int(n_classes)
    return np.eye(k) - 1.0 / k


def _means(m0: Any, owner: str, *, square: bool) -> np.ndarray:
    m = np.asarray(m0, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] < 2 or (square and m.shape[1] != m.shape[0]):
        want = "(K, K)" if square else "(K, p)"
        raise ConfigError(
            f"The 'm0' parameter of {owner} must be an array of shape {want} with "
            f"K >= 2. Got shape {m.shape} instead."
        )
    if not np.all(np.isfinite(m)):
        raise ConfigError(f"The 'm0' parameter of {owner} must be finite.")
    return m


def _impacts(a: Any, b: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, v in (("a", a), ("b", b)):
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim > 1 or not np.all(np.isfinite(arr)):
            raise ConfigError(
                f"The '{name}' parameter of {owner} must be a finite float or 1-D "
                f"array of integrated impacts. Got {v!r} instead."
            )
        out.append(arr)
    if out[0].shape != out[1].shape:
        raise ConfigError(
            f"The 'a' and 'b' parameters of {owner} must have the same shape. "
            f"Got {out[0].shape} and {out[1].shape} instead."
        )
    return out[0], out[1]


def _phi(x: np.ndarray) -> np.ndarray:
    """``expm1(x)/x`` with the limit 1 at x = 0."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 + x / 2.0, np.expm1(safe) / safe)


def integrated_impacts(
    alpha: ScheduleLike, beta: ScheduleLike, times: Any
) -> tuple[np.ndarray, np.ndarray]:
    """``A(t) = int_0^t alpha`` and ``B(t) = int_0^t beta`` at the given times.

    Parameters
    ----------
    alpha, beta : float, Schedule or vectorised callable
        Intra- and inter-class impact rates.
    times : float or array_like
        Times ``t >= 0``.

    Returns
    -------
    A, B : ndarray
        Same shape as ``times``.

    Examples
    --------
    >>> a, b = integrated_impacts(2.0, 0.5, [0.0, 1.0, 2.0])
    >>> a.tolist(), b.tolist()
    ([0.0, 2.0, 4.0], [0.0, 0.5, 1.0])
    """
    t = np.asarray(times, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ConfigError(
            "The 'times' parameter of integrated_impacts must be finite and >= 0. "
            f"Got {times!r} instead."
        )
    fa, fb = as_schedule(alpha, "alpha"), as_schedule(beta, "beta")
    return (
        np.asarray(fa.integral(t), dtype=np.float64).reshape(t.shape),
        np.asarray(fb.integral(t), dtype=np.float64).reshape(t.shape),
    )


# --------------------------------------------------------------------------------------
# closed forms
# --------------------------------------------------------------------------------------
def identity_ode_solution(m0: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """Closed form of the I-model LE-ODE with the two-parameter impact matrix.

    Parameters
    ----------
    m0 : ndarray, shape (K, p)
        Class means at time 0.
    a, b : float or 1-D array
        Integrated impacts A(t) = int_0^t alpha and B(t) = int_0^t beta (arrays give
        one solution per entry).

    Returns
    -------
    ndarray, shape (K, p), or (T, K, p) for arrays of length T
        ``m(t) = exp((A - B)/K) [I + ((exp(B) - 1)/K) 1 1^T] m0``.

    Notes
    -----
    ``dm/dt = (1/K) E(t) m`` with ``E = (alpha - beta) I + beta 1 1^T``; all E(t)
    commute, so ``m(t) = exp((1/K) int_0^t E) m0`` for any rates (Zhang, Wang & Su
    2021, section 1.6 of the dossier). The global mean grows like
    ``exp((A + (K - 1) B)/K)``, the class deviations like ``exp((A - B)/K)``.

    Examples
    --------
    >>> m = identity_ode_solution(np.eye(2), a=np.log(4.0), b=0.0)
    >>> np.round(m, 12).tolist()
    [[2.0, 0.0], [0.0, 2.0]]
    """
    m0 = _means(m0, "identity_ode_solution", square=False)
    a, b = _impacts(a, b, "identity_ode_solution")
    k = m0.shape[0]
    av, bv = a[..., None, None], b[..., None, None]
    mean = m0.mean(axis=0, keepdims=True)
    # exp((A-B)/K) [m0 + expm1(B) * mean], written to avoid forming the K x K mix
    return np.exp((av - bv) / k) * (m0 + np.expm1(bv) * mean)


def projected_coordinates(m: np.ndarray) -> np.ndarray:
    """``s_k = <m_k, d_k>/|d_k|^2`` for class means m of shape (..., K, K)."""
    m = np.asarray(m, dtype=np.float64)
    k = m.shape[-2]
    d = np.eye(k) - 1.0 / k
    return np.sum(m * d, axis=-1) / ((k - 1) / k)


def projected_ode_coordinates(s0: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """Closed form of the L-model LE-ODE in coordinates ``s_k = <m_k, d_k>/|d_k|^2``.

    Parameters
    ----------
    s0 : ndarray, shape (K,) or (K, q)
        Coordinates at time 0.
    a, b : float or 1-D array
        Integrated impacts A(t), B(t).

    Returns
    -------
    ndarray, shape of ``s0``, with a leading time axis for array ``a``, ``b``
        ``s(t) = exp((A - B)/K) mean(s0) 1 + exp((A + B/(K-1))/K) (s0 - mean(s0))``.

    Notes
    -----
    ``ds/dt = (1/K)[(alpha + beta/(K-1)) I - (beta/(K-1)) 1 1^T] s`` (dossier
    section 1.6): the mean of s (the ETF d-mode) grows like ``exp((A - B)/K)`` and
    the rest (f-modes) like ``exp((A + B/(K-1))/K)``; exact for any rates because
    the two matrices commute.
    """
    s0 = np.asarray(s0, dtype=np.float64)
    a, b = _impacts(a, b, "projected_ode_coordinates")
    k = s0.shape[0]
    if k < 2:
        raise ConfigError(
            "The 's0' parameter of projected_ode_coordinates must have K >= 2 rows. "
            f"Got shape {s0.shape} instead."
        )
    mean = s0.mean(axis=0)
    extra = (None,) * s0.ndim
    av, bv = a[(..., *extra)], b[(..., *extra)]
    return np.exp((av - bv) / k) * mean + np.exp((av + bv / (k - 1)) / k) * (s0 - mean)


def _projected_from_j(m0: np.ndarray, a: np.ndarray, b: np.ndarray, j: np.ndarray):
    k = m0.shape[0]
    d = np.eye(k) - 1.0 / k
    s0 = projected_coordinates(m0)
    u0 = s0.mean()
    v0 = s0 - u0
    r1 = (a - b) / k
    r2 = (a + b / (k - 1)) / k
    r1v, r2v, jv = r1[..., None, None], r2[..., None, None], j[..., None, None]
    coef = u0 * np.expm1(r1v) + v0[:, None] * (np.expm1(r2v) - jv / (k - 1))
    common = (jv / k) * (v0 @ d)[None, :]
    return m0 + coef * d + common


def projected_ode_solution(
    m0: np.ndarray, a: Any, b: Any, *, rates: RatePath | str = RatePath.PROPORTIONAL
) -> np.ndarray:
    """Full class-mean state of the L-model LE-ODE.

    Parameters
    ----------
    m0 : ndarray, shape (K, K)
        Class means (logits) at time 0.
    a, b : float or 1-D array
        Integrated impacts A(t), B(t).
    rates : {"proportional", "path"}, default "proportional"
        ``proportional``: alpha and beta are proportional in time (constant rates
        included): exact from the end values. ``path``: ``a``, ``b`` are 1-D arrays
        sampling the path (A, B) on a time grid from t = 0 (``a[0] = b[0] = 0``);
        exact up to the O(h^2) trapezoidal evaluation of J.

    Returns
    -------
    ndarray, shape (K, K), or (T, K, K) for arrays of length T

    Notes
    -----
    The L model ``dm_k/dt = (1/K)[alpha P_k m_k + beta sum_{k' != k} P_k' m_k']``
    (Zhang, Wang & Su 2021; dossier section 1.6) reads, with ``P_k m_k = s_k d_k``,
    ``dm_k/dt = (1/K)[(alpha - beta) s_k d_k + beta sum_j s_j d_j]``: the velocity
    lies in span{d} = 1^perp, so the 1-component of every m_k is constant. Split
    ``s = u 1 + v`` with ``v`` orthogonal to 1; then ``u = u0 exp(R1)``,
    ``v = v0 exp(R2)`` with ``R1 = (A - B)/K``, ``R2 = (A + B/(K-1))/K`` and, since
    ``sum_j d_j = 0`` and ``(alpha - beta)/K = dR2/dt - beta/(K-1)``,

        m_k(t) = m_k(0) + [u0 expm1(R1) + v0_k (expm1(R2) - J/(K-1))] d_k
                 + (J/K) sum_j v0_j d_j,   J(t) = int_0^t exp(R2) dB.

    Everything is in closed form in (A(t), B(t)) except J, which depends on the
    path. If beta = c alpha (or alpha = 0), (A, B) moves on a ray and
    ``J = B expm1(R2)/R2``.

    Examples
    --------
    >>> m0 = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> m = projected_ode_solution(m0, a=2.0, b=0.0)
    >>> np.allclose(m[0] - m[1], np.exp(1.0) * (m0[0] - m0[1]))
    True
    """
    owner = "projected_ode_solution"
    m0 = _means(m0, owner, square=True)
    a, b = _impacts(a, b, owner)
    kind = check_enum(RatePath, rates, "rates", owner)
    k = m0.shape[0]
    r2 = (a + b / (k - 1)) / k
    if kind is RatePath.PROPORTIONAL:
        j = b * _phi(r2)
    else:
        if a.ndim != 1 or a.shape[0] < 2 or a[0] != 0.0 or b[0] != 0.0:
            raise ConfigError(
                f"The 'a' and 'b' parameters of {owner} must be 1-D paths starting at "
                "A(0) = B(0) = 0 with rates='path'. "
                f"Got shape {a.shape}, starting at ({a.flat[0]!r}, {b.flat[0]!r})."
            )
        e = np.exp(r2)
        j = np.concatenate([[0.0], np.cumsum(0.5 * (e[1:] + e[:-1]) * np.diff(b))])
    return _projected_from_j(m0, a, b, j)


def projected_ode_solution_from_rates(
    m0: np.ndarray,
    alpha: ScheduleLike,
    beta: ScheduleLike,
    times: Any,
    *,
    rtol: float = 1e-12,
) -> np.ndarray:
    """L-model state for arbitrary rate schedules, J by adaptive quadrature.

    Same formula as :func:`projected_ode_solution`; ``J(t) = int_0^t beta(tau)
    exp(R2(tau)) dtau`` is evaluated by :func:`scipy.integrate.quad` between
    consecutive times (A, B from ``Schedule.integral``), so the result is exact to
    ``rtol``.

    Parameters
    ----------
    m0 : ndarray, shape (K, K)
    alpha, beta : float, Schedule or vectorised callable
    times : 1-D array_like
        Non-decreasing times ``>= 0``.
    rtol : float, default 1e-12
        Relative tolerance of the quadrature.

    Returns
    -------
    ndarray, shape (T, K, K)
    """
    owner = "projected_ode_solution_from_rates"
    m0 = _means(m0, owner, square=True)
    check_float(rtol, "rtol", owner, low=0.0, closed="neither")
    t = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if t.ndim != 1 or np.any(t < 0) or np.any(np.diff(t) < 0):
        raise ConfigError(
            f"The 'times' parameter of {owner} must be a non-decreasing 1-D array of "
            f"times >= 0. Got {times!r} instead."
        )
    fa, fb = as_schedule(alpha, "alpha"), as_schedule(beta, "beta")
    k = m0.shape[0]

    def integrand(tau: float) -> float:
        r2 = (fa.integral(tau) + fb.integral(tau) / (k - 1)) / k
        return float(fb(np.float64(tau)) * np.exp(r2))

    j = np.empty_like(t)
    acc, prev = 0.0, 0.0
    for i, ti in enumerate(t):
        if ti > prev:
            acc += integrate.quad(
                integrand, prev, ti, epsabs=0.0, epsrel=rtol, limit=200
            )[0]
        j[i], prev = acc, ti
    a, b = integrated_impacts(fa, fb, t)
    return _projected_from_j(m0, a, b, j)


def etf_ode_solution(m0: np.ndarray, a: Any, b: Any) -> np.ndarray:
    """Closed form under the constant-gradient surrogate ``G_k = d_k``.

    Notes
    -----
    ``dm_k/dt = (1/K) sum_j E[k, j] d_j = ((alpha - beta)/K) d_k`` since
    ``sum_j d_j = 0``, so ``m_k(t) = m_k(0) + ((A - B)/K) d_k`` (dossier 2.3; valid
    while the softmax is near uniform).

    Returns
    -------
    ndarray, shape (K, K), or (T, K, K) for arrays of length T
    """
    m0 = _means(m0, "etf_ode_solution", square=True)
    a, b = _impacts(a, b, "etf_ode_solution")
    k = m0.shape[0]
    c = ((a - b) / k)[..., None, None]
    return m0 + c * etf_directions(k)


# --------------------------------------------------------------------------------------
# separation
# --------------------------------------------------------------------------------------
def separation_rate(alpha: Any, beta: Any, n_classes: int) -> np.ndarray | float:
    """Growth rate ``(alpha - beta)/K`` of the separating (ETF) mode.

    Notes
    -----
    Under the I and L surrogates the class deviations (I) and the d-mode (L) grow
    like ``exp((A - B)/K)`` (dossier 1.6-1.8); the phase boundary is alpha = beta
    for every K.

    Examples
    --------
    >>> separation_rate(1.0, 0.25, 3)
    0.25
    """
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ConfigError(
            "The 'n_classes' parameter of separation_rate must be an int >= 2. "
            f"Got {n_classes!r} instead."
        )
    out = np.asarray(alpha, dtype=np.float64) - np.asarray(beta, dtype=np.float64)
    out = out / n_classes
    return float(out) if out.ndim == 0 else out


def _min_margin(m: np.ndarray) -> np.ndarray:
    """Smallest class-mean logit margin ``m_k[k] - max_{j != k} m_k[j]`` (..., K, K)."""
    k = m.shape[-1]
    diag = np.diagonal(m, axis1=-2, axis2=-1)
    off = np.where(np.eye(k, dtype=bool), -np.inf, m)
    return np.min(diag - off.max(axis=-1), axis=-1)


def separation_onset(
    a: Any,
    b: Any,
    times: Any,
    *,
    n_classes: int,
    factor: float | None = None,
    m0: np.ndarray | None = None,
    surrogate: Surrogate | str = Surrogate.PROJECTED,
) -> float:
    """First time the separating mode has grown enough.

    Parameters
    ----------
    a, b : 1-D array
        A(t), B(t) on the grid ``times``.
    times : 1-D array
    n_classes : int
    factor : float, optional
        With ``factor``: the first t with ``exp((A - B)/K) >= factor``.
    m0 : ndarray (K, K), optional
        With ``m0`` (and no factor): the first t at which every class-mean logit
        margin ``m_k[k] - max_{j != k} m_k[j]`` is positive, under ``surrogate``
        (``identity``, ``projected`` with rates proportional to each other, or
        ``etf``).

    Returns
    -------
    float
        Linearly interpolated crossing time; ``nan`` if it never happens on the grid.
    """
    owner = "separation_onset"
    a, b = _impacts(a, b, owner)
    t = np.asarray(times, dtype=np.float64)
    if a.ndim != 1 or t.shape != a.shape:
        raise ConfigError(
            f"The 'times' parameter of {owner} must be a 1-D array matching 'a'. "
            f"Got shape {t.shape} instead."
        )
    if (factor is None) == (m0 is None):
        raise ConfigError(
            f"The 'factor' and 'm0' parameters of {owner}: give exactly one."
        )
    if factor is not None:
        check_float(factor, "factor", owner, low=0.0, closed="neither")
        g = (a - b) / n_classes - np.log(factor)
    else:
        sur = check_enum(Surrogate, surrogate, "surrogate", owner)
        solve = {
            Surrogate.IDENTITY: identity_ode_solution,
            Surrogate.PROJECTED: projected_ode_solution,
            Surrogate.ETF: etf_ode_solution,
        }.get(sur)
        if solve is None:
            raise ConfigError(
                f"The 'surrogate' parameter of {owner} must be 'identity', "
                f"'projected' or 'etf'. Got {sur.value!r} instead."
            )
        g = _min_margin(solve(_means(m0, owner, square=True), a, b))
    hit = np.flatnonzero(g >= 0)
    if hit.size == 0:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return float(t[0])
    frac = g[i - 1] / (g[i - 1] - g[i])
    return float(t[i - 1] + frac * (t[i] - t[i - 1]))


# --------------------------------------------------------------------------------------
# neural collapse
# --------------------------------------------------------------------------------------
def etf_distance(means: np.ndarray) -> np.ndarray | float:
    """Distance of class means (K, p) [or (T, K, p)] to the simplex ETF.

    The ``etf_distance`` of :func:`simnet.observables.neural_collapse` evaluated on
    the class means alone (Gram matrix of the normalised centred means against
    ``I - 1 1^T/K``).
    """
    m = np.asarray(means, dtype=np.float64)
    labels = np.arange(m.shape[-2])
    if m.ndim == 2:
        return neural_collapse(m, labels, m.shape[0])["etf_distance"]
    return np.array(
        [neural_collapse(x, labels, m.shape[-2])["etf_distance"] for x in m]
    )


def etf_distance_prediction(
    m0: np.ndarray,
    a: Any,
    b: Any,
    *,
    surrogate: Surrogate | str = Surrogate.PROJECTED,
    rates: RatePath | str = RatePath.PROPORTIONAL,
) -> np.ndarray:
    """Predicted ETF distance of the class means along the closed-form trajectory.

    Parameters
    ----------
    m0 : ndarray, shape (K, K)
    a, b : 1-D array
        A(t), B(t) at the times of interest.
    surrogate : {"projected", "etf", "identity"}, default "projected"
    rates : see :func:`projected_ode_solution` (L model only).

    Returns
    -------
    ndarray, shape (T,)
    """
    sur = check_enum(Surrogate, surrogate, "surrogate", "etf_distance_prediction")
    if sur is Surrogate.PROJECTED:
        m = projected_ode_solution(m0, a, b, rates=rates)
    elif sur is Surrogate.ETF:
        m = etf_ode_solution(m0, a, b)
    elif sur is Surrogate.IDENTITY:
        m = identity_ode_solution(m0, a, b)
    else:
        raise ConfigError(
            "The 'surrogate' parameter of etf_distance_prediction must be "
            f"'projected', 'etf' or 'identity'. Got {sur.value!r} instead."
        )
    return np.atleast_1d(etf_distance(m))


def etf_distance_scale(
    a: Any, b: Any, n_classes: int, surrogate: Surrogate | str = Surrogate.PROJECTED
) -> np.ndarray:
    """Leading-order decay of the distance to the simplex ETF.

    Notes
    -----
    L model: the centred means are ``u0 e^{R1} d_k`` (the ETF) plus f-modes of
    relative size ``e^{R2 - R1} = e^{B/(K-1)}`` plus constants of relative size
    ``e^{-R1}``: the distance decays like ``max(exp(B/(K-1)), exp(-(A - B)/K))``
    and vanishes iff ``A - B -> inf`` and ``B -> -inf`` (dossier 2.3).
    Constant-gradient surrogate: ``m_k = m_k(0) + ((A - B)/K) d_k``, so the distance
    decays like ``K/(A - B)`` (algebraically, not exponentially).
    """
    a, b = _impacts(a, b, "etf_distance_scale")
    sur = check_enum(Surrogate, surrogate, "surrogate", "etf_distance_scale")
    k = n_classes
    if sur is Surrogate.PROJECTED:
        return np.maximum(np.exp(b / (k - 1)), np.exp(-(a - b) / k))
    if sur is Surrogate.ETF:
        with np.errstate(divide="ignore"):
            return k / np.abs(a - b)
    raise ConfigError(
        "The 'surrogate' parameter of etf_distance_scale must be 'projected' or "
        f"'etf'. Got {sur.value!r} instead."
    )
