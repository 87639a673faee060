"""He & Su's synthetic manifolds: the torus curves and the two folded boxes.

Both generators follow the authors' code (``sources/data.py`` of
``HornHehhf/LocalElasticity``, functions ``donut`` and ``two_fold_surface``) as
described in ``local_elasticity.md`` section 1.4, with numpy random streams in place
of Python's ``random``. :func:`geodesic_distance` gives the distances along the
manifold that the paper correlates with the similarity measures.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np

from .._validation import check_enum, check_float
from ..errors import ConfigError
from ..seeding import SeedLike, as_seed_sequence
from ._base import PER_SAMPLE, Dataset, check_positive_int, seed_info

__all__ = ["GeodesicKind", "folded_boxes", "geodesic_distance", "torus"]

_BINARY_NAMES = ("negative", "positive")


class GeodesicKind(StrEnum):
    """Which distance along a torus curve :func:`geodesic_distance` returns.

    ``PARAMETER`` is He & Su's: the angular difference of the parameter theta.
    ``ARC_LENGTH`` is the length of the shorter arc of the curve in R^3. For the
    folded boxes both give the same surface geodesic.
    """

    PARAMETER = "parameter"
    ARC_LENGTH = "arc_length"


def torus(
    n: int = 100, *, r: float = 8.0, k: int = 4, seed: SeedLike = None
) -> Dataset:
    """He & Su's "torus" (``donut``): two interleaved closed curves in R^3.

    Parameters
    ----------
    n : int
        Number of points, even; half on each curve, alternating positive, negative.
    r : float
        Major radius, > 1 (so the curves stay away from the axis and are simple).
    k : int
        Number of windings of each curve around the tube, >= 1.
    seed : int, SeedSequence, Generator or None
        Randomness of the angles.

    Returns
    -------
    Dataset
        ``X`` (n, 3); ``y = 1`` on the positive curve, ``0`` on the negative one;
        ``class_names = ("negative", "positive")``. ``metadata["per_sample"]`` holds
        ``theta`` (the angle) and ``curve`` (the generating label, kept when labels
        are later corrupted); ``metadata["params"]`` holds ``n``, ``r`` and ``k``.

    Raises
    ------
    ConfigError
        If ``n`` is not a positive even int, ``r <= 1`` or ``k`` is not an int >= 1.

    Notes
    -----
    With ``theta ~ U[-pi, pi)`` and ``s = +1`` (positive) or ``-1`` (negative)::

        x = r cos(theta) + s sin(k theta) cos(theta)
        y = r sin(theta) + s sin(k theta) sin(theta)
        z = s cos(k theta)

    so every point is at distance 1 from the circle of radius ``r`` in the xy-plane
    (``(rho - r)^2 + z^2 = 1`` with ``rho = r + s sin(k theta)`` the distance from
    the z-axis): both curves wind ``k`` times around the tube of a torus, half a
    winding apart. He & Su, *The Local Elasticity of Neural Networks*, ICLR 2020,
    Section 2 (defaults r = 8, k = 4, 100 points).

    Examples
    --------
    >>> ds = torus(6, seed=0)
    >>> ds.X.shape, ds.y.tolist()
    ((6, 3), [1, 0, 1, 0, 1, 0])
    """
    owner = "torus"
    n_pts = check_positive_int(n, "n", owner, low=2)
    if n_pts % 2:
        raise ConfigError(
            f"The 'n' parameter of {owner} must be an even int >= 2 (half per "
            f"curve). Got {n!r} instead."
        )
    radius = check_float(r, "r", owner, low=1.0, closed="neither")
    windings = check_positive_int(k, "k", owner)
    root = as_seed_sequence(seed)
    rng = np.random.default_rng(root)

    theta = rng.uniform(-np.pi, np.pi, n_pts)
    y = np.tile(np.array([1, 0], dtype=np.int64), n_pts // 2)
    s = 2.0 * y - 1.0
    rho = radius + s * np.sin(windings * theta)
    x = np.column_stack(
        [rho * np.cos(theta), rho * np.sin(theta), s * np.cos(windings * theta)]
    )
    metadata = {
        "generator": "torus",
        "params": {"n": n_pts, "r": radius, "k": windings},
        **seed_info(root),
        PER_SAMPLE: {"theta": theta, "curve": y.copy()},
    }
    return Dataset(x, y, _BINARY_NAMES, None, metadata)


def folded_boxes(
    n: int = 100,
    *,
    k: float = 1.2,
    bias: float = 12.0,
    delta: float = 1.0,
    seed: SeedLike = None,
) -> Dataset:
    """He & Su's "two folded boxes" (``two_fold_surface``): two nested diamond prisms.

    Parameters
    ----------
    n : int
        Number of points, a multiple of 4: a quarter on each fold of each box.
    k : float
        Slope of the folds, > 0.
    bias : float
        Height of the central diamond's apex, > 0; its half-width is ``bias / k``.
    delta : float
        Vertical offset of each box from the central diamond, in ``[0, bias)``.
    seed : int, SeedSequence, Generator or None
        Randomness of the positions.

    Returns
    -------
    Dataset
        ``X`` (n, 3) with columns (x, y, z); ``y = 1`` on the outer (positive) box,
        ``0`` on the inner (negative) one; ``class_names = ("negative",
        "positive")``. The first ``n/2`` points lie on the upper folds (alternating
        positive, negative), the rest on the lower folds. ``metadata["per_sample"]``
        holds ``x``, ``z``, ``fold`` (+1 upper, -1 lower) and ``curve`` (the
        generating label); ``metadata["params"]`` holds ``n``, ``k``, ``bias``,
        ``delta`` and the half-widths ``x_max_positive``, ``x_max_negative``.

    Raises
    ------
    ConfigError
        If ``n`` is not a positive multiple of 4 or a parameter is out of range.

    Notes
    -----
    With ``s = +1`` (positive) or ``-1`` (negative), ``a = bias / k`` and
    ``x_max = a + s delta / k``::

        x ~ U[-x_max, x_max],  z ~ U[-1, 1]
        upper fold:  y = -k |x| + bias + s delta
        lower fold:  y =  k |x| - bias - s delta

    The two folds of a box meet at ``x = +-x_max`` (y = 0), so each box is a closed
    diamond cross-section extruded along z. He & Su's code fixes ``a = 10``
    (``min_x = -10, max_x = 10``) with the defaults ``k = 1.2``, ``bias = 12``,
    ``delta = 1``, for which ``bias / k = 10``: the defaults reproduce it, and other
    parameters keep the boxes closed. He & Su, *The Local Elasticity of Neural
    Networks*, ICLR 2020, Section 2.

    Examples
    --------
    >>> ds = folded_boxes(8, seed=0)
    >>> ds.X.shape, ds.y.tolist()
    ((8, 3), [1, 0, 1, 0, 1, 0, 1, 0])
    """
    owner = "folded_boxes"
    n_pts = check_positive_int(n, "n", owner, low=4)
    if n_pts % 4:
        raise ConfigError(
            f"The 'n' parameter of {owner} must be a multiple of 4 (a quarter per "
            f"fold and box). Got {n!r} instead."
        )
    slope = check_float(k, "k", owner, low=0.0, closed="neither")
    height = check_float(bias, "bias", owner, low=0.0, closed="neither")
    offset = check_float(delta, "delta", owner, low=0.0, high=height, closed="left")
    root = as_seed_sequence(seed)
    rng = np.random.default_rng(root)

    half = height / slope
    y = np.tile(np.array([1, 0], dtype=np.int64), n_pts // 2)
    s = 2.0 * y - 1.0
    x_max = half + s * offset / slope
    xs = rng.uniform(-1.0, 1.0, n_pts) * x_max
    zs = rng.uniform(-1.0, 1.0, n_pts)
    fold = np.where(np.arange(n_pts) < n_pts // 2, 1, -1).astype(np.int64)
    heights = fold * (-slope * np.abs(xs) + height + s * offset)
    metadata = {
        "generator": "folded_boxes",
        "params": {
            "n": n_pts,
            "k": slope,
            "bias": height,
            "delta": offset,
            "x_max_positive": half + offset / slope,
            "x_max_negative": half - offset / slope,
        },
        **seed_info(root),
        PER_SAMPLE: {"x": xs, "z": zs, "fold": fold, "curve": y.copy()},
    }
    return Dataset(np.column_stack([xs, heights, zs]), y, _BINARY_NAMES, None, metadata)


def geodesic_distance(
    dataset: Dataset,
    i_idx: Any,
    j_idx: Any,
    *,
    kind: str | GeodesicKind = GeodesicKind.PARAMETER,
) -> np.ndarray:
    """Distances along the manifold between samples ``i_idx`` and ``j_idx``.

    Works on datasets made by :func:`torus` or :func:`folded_boxes` (dispatching on
    ``metadata["generator"]``), also after :meth:`Dataset.subset`,
    :meth:`Dataset.standardize` or label noise: it reads the generating parameters
    from ``metadata["per_sample"]``, not the features or the labels.

    Parameters
    ----------
    dataset : Dataset
    i_idx, j_idx : array_like of int
        Sample indices; broadcast against each other (``i[:, None]`` and
        ``j[None, :]`` give a matrix).
    kind : {"parameter", "arc_length"} or GeodesicKind
        Torus only: He & Su's angular difference (default) or the arc length of the
        curve in R^3. Ignored for the folded boxes.

    Returns
    -------
    ndarray of float64, the broadcast shape of ``i_idx`` and ``j_idx``
        The distance; **NaN for a pair on different curves / boxes**, where no path
        along the manifold exists.

    Raises
    ------
    ConfigError
        If the dataset was not made by one of the two generators, or an index is out
        of range.

    Notes
    -----
    Torus, ``kind="parameter"`` (He & Su)::

        g(i, j) = min(|theta_i - theta_j|, 2 pi - |theta_i - theta_j|)

    Torus, ``kind="arc_length"``: with ``ell(a, b) = int_a^b sqrt(k^2 + (r + s
    sin(k t))^2) dt`` the length of the curve from angle ``a`` to ``b`` (``|d
    gamma / dt|^2 = k^2 + rho^2`` for the parametrisation of :func:`torus`), ``g =
    min(ell(theta_i, theta_i + D), P - ell(theta_i, theta_i + D))`` with ``D = (theta_j
    - theta_i) mod 2 pi`` and ``P = ell(0, 2 pi)``, by composite Gauss-Legendre
    quadrature (accurate to about 1e-13 relative).

    Folded boxes: unfold the diamond cross-section of the box into a loop of length
    ``4 x_max c`` with ``c = sqrt(k^2 + 1)``; then ``g = sqrt(d^2 + (z_i - z_j)^2)``
    with the arc length ``d = c |x_i - x_j|`` on the same fold and ``d = min(c (2
    x_max - x_i - x_j), 4 x_max c - c (2 x_max - x_i - x_j))`` across folds (the
    shorter way round). He & Su's code uses ``x_max = 10 +- delta`` here, while its
    points reach ``10 +- delta / k``; simnet uses the true half-width ``x_max`` of
    :func:`folded_boxes`, so ``g`` is the exact geodesic on the prism surface.
    He & Su, *The Local Elasticity of Neural Networks*, ICLR 2020, Section 2.

    Examples
    --------
    >>> ds = torus(4, seed=1)
    >>> g = geodesic_distance(ds, [0, 0], [2, 1])
    >>> bool(0 <= g[0] <= np.pi), bool(np.isnan(g[1]))
    (True, True)
    """
    owner = "geodesic_distance"
    if not isinstance(dataset, Dataset):
        raise ConfigError(
            f"The 'dataset' parameter of {owner} must be a Dataset. "
            f"Got {type(dataset).__name__} instead."
        )
    generator = dataset.metadata.get("generator")
    needed = {"torus": ("theta", "curve"), "folded_boxes": ("x", "z", "fold", "curve")}
    info = dataset.metadata.get(PER_SAMPLE, {})
    if generator not in needed or any(key not in info for key in needed[generator]):
        raise ConfigError(
            f"The 'dataset' parameter of {owner} must come from torus() or "
            f"folded_boxes() (metadata 'generator' and per-sample parameters). Got a "
            f"dataset with generator {generator!r} instead."
        )
    how = check_enum(GeodesicKind, kind, "kind", owner)
    i, j = _pair_indices(i_idx, j_idx, dataset.n_samples, owner)
    params = dataset.metadata["params"]
    curve = np.asarray(info["curve"])
    same = curve[i] == curve[j]
    out = np.full(i.shape, np.nan)
    ii, jj = i[same], j[same]
    if generator == "torus":
        theta = np.asarray(info["theta"], dtype=np.float64)
        if how is GeodesicKind.PARAMETER:
            diff = np.abs(theta[ii] - theta[jj])
            out[same] = np.minimum(diff, 2.0 * np.pi - diff)
        else:
            s = 2.0 * curve[ii] - 1.0
            out[same] = _torus_arc_length(
                theta[ii], theta[jj], s, float(params["r"]), int(params["k"])
            )
        return out
    xs = np.asarray(info["x"], dtype=np.float64)
    zs = np.asarray(info["z"], dtype=np.float64)
    fold = np.asarray(info["fold"])
    c = np.sqrt(float(params["k"]) ** 2 + 1.0)
    x_max = np.where(curve[ii] == 1, params["x_max_positive"], params["x_max_negative"])
    xi, xj = xs[ii], xs[jj]
    around = c * (2.0 * x_max - xi - xj)
    across = np.minimum(around, 4.0 * x_max * c - around)
    d = np.where(fold[ii] == fold[jj], c * np.abs(xi - xj), across)
    out[same] = np.sqrt(d**2 + (zs[ii] - zs[jj]) ** 2)
    return out


# ---------------------------------------------------------------------- helpers
def _pair_indices(
    i_idx: Any, j_idx: Any, n: int, owner: str
) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name, value in (("i_idx", i_idx), ("j_idx", j_idx)):
        arr = np.asarray(value)
        if arr.dtype.kind not in "iu":
            raise ConfigError(
                f"The '{name}' parameter of {owner} must be an int or an array of "
                f"ints. Got {value!r} instead."
            )
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise ConfigError(
                f"The '{name}' parameter of {owner} must hold indices in [0, {n}). "
                f"Got min {arr.min()} and max {arr.max()}."
            )
        out.append(arr.astype(np.int64))
    try:
        i, j = np.broadcast_arrays(out[0], out[1])
    except ValueError:
        raise ConfigError(
            f"The 'i_idx' and 'j_idx' parameters of {owner} must broadcast together. "
            f"Got shapes {out[0].shape} and {out[1].shape}."
        ) from None
    return i, j


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(24)
_CHUNK = 2048


def _torus_speed(t: np.ndarray, s: np.ndarray, r: float, k: int) -> np.ndarray:
    """|d gamma / dt| of a torus curve: sqrt(k^2 + (r + s sin(k t))^2)."""
    return np.sqrt(k * k + (r + s * np.sin(k * t)) ** 2)


def _curve_length(
    start: np.ndarray, span: np.ndarray, s: np.ndarray, r: float, k: int
) -> np.ndarray:
    """int_start^{start+span} speed dt by composite Gauss-Legendre (2k+2 panels)."""
    n_panels = 2 * k + 2
    total = np.zeros(start.shape)
    h = span / n_panels
    for p in range(n_panels):
        a = start + p * h
        t = a[:, None] + 0.5 * h[:, None] * (_GL_NODES[None, :] + 1.0)
        total += 0.5 * h * (_torus_speed(t, s[:, None], r, k) @ _GL_WEIGHTS)
    return total


def _torus_arc_length(
    theta_i: np.ndarray, theta_j: np.ndarray, s: np.ndarray, r: float, k: int
) -> np.ndarray:
    out = np.empty(theta_i.shape)
    signs = np.array([-1.0, 1.0])
    periods = _curve_length(np.zeros(2), np.full(2, 2.0 * np.pi), signs, r, k)
    for lo in range(0, theta_i.size, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        span = np.mod(theta_j[sl] - theta_i[sl], 2.0 * np.pi)
        forward = _curve_length(theta_i[sl], span, s[sl], r, k)
        period = np.where(s[sl] > 0, periods[1], periods[0])
        out[sl] = np.minimum(forward, period - forward)
    return out
