"""The LE-SDE "GeoMNIST" images: filled triangles, rectangles and ellipses.

Rasterised with numpy (pixel centres inside the shape are 1, the rest 0), then
rotated and blurred with scipy.ndimage, following the generator of
``zjiayao/le_sde`` (``src/datasets.py``) as described in ``le_sde.md`` section 1.11.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..seeding import SeedLike, spawn_generators
from ._base import PER_SAMPLE, Dataset, check_positive_int, seed_info

__all__ = ["SHAPE_NAMES", "geometric_shapes"]

SHAPE_NAMES = ("triangle", "rectangle", "ellipse")
"""Class names of :func:`geometric_shapes`, in label order (0, 1, 2)."""

_REFERENCE_SIZE = 32
_MAX_ANGLE = 176.0


def geometric_shapes(
    n_per_class: int = 100, *, size: int = 32, seed: SeedLike = None
) -> Dataset:
    """LE-SDE's synthetic geometric-shapes images ("GeoMNIST"), flattened.

    Parameters
    ----------
    n_per_class : int
        Images per class (LE-SDE uses 1000: 500 training + 500 validation).
    size : int
        Side of the square images, >= 8. At the default 32 the shapes are exactly
        LE-SDE's; other sizes scale every length (positions, shifts, radii, blur
        widths) by ``size / 32``.
    seed : int, SeedSequence, Generator or None
        Randomness of the blur widths and of the order of the images in each class.

    Returns
    -------
    Dataset
        ``X`` (3 * n_per_class, size * size) with pixel values in about [0, 1]
        (cubic-spline rotation may overshoot by a few hundredths), row-major images;
        ``y`` 0 = triangle, 1 = rectangle, 2 = ellipse, class-major and shuffled
        within each class; ``metadata["image_shape"] = (size, size)``.
        ``metadata["per_sample"]`` holds ``angle`` (degrees), ``sigma`` (blur),
        ``shift`` (triangle and rectangle; NaN for ellipses), ``radius`` (ellipse
        row radius; NaN otherwise) and ``position`` (index i in the ordered list).

    Raises
    ------
    ConfigError
        If ``n_per_class < 1`` or ``size < 8``.

    Notes
    -----
    For class c, image ``i = 0..N-1`` of the ordered list (``N = n_per_class``) with
    ``t_i = linspace(-1, 1, N)[i]`` and the centre ``(16, 16)`` (at size 32):

    * triangle: the filled polygon with vertex rows ``(16, 26, 6) + t_i`` and columns
      ``(16 - 8 sqrt(3), 24, 24) + t_i``;
    * rectangle: rows ``trunc(12 + t_i + j)``, ``j = 0..8``, times columns
      ``trunc(8 + t_i + j)``, ``j = 0..16`` (scikit-image's ``rectangle`` with float
      corners ``(12, 8) + t_i`` and ``(20, 24) + t_i``, truncated to int);
    * ellipse: ``((row - 16) / rho_i)^2 + ((col - 16) / (2 rho_i))^2 < 1`` with
      ``rho_i = linspace(5, 7, N)[i]``.

    A pixel (row, col) is filled if its centre, at integer coordinates, is inside
    (even-odd crossing rule for the polygon, as scikit-image's ``draw.polygon``).
    Each image is then rotated by ``176 i / N`` degrees (``scipy.ndimage.rotate``,
    ``reshape=False``, cubic spline, zero outside), so rotation is correlated with
    the shift or size, and blurred by ``scipy.ndimage.gaussian_filter`` with
    ``sigma ~ U(0.9, 1.1)``. Zhang, Wang & Su, *Imitating Deep Learning Dynamics via
    Locally Elastic Stochastic Differential Equations*, NeurIPS 2021.

    Examples
    --------
    >>> ds = geometric_shapes(4, seed=0)
    >>> ds.X.shape, ds.class_names, ds.metadata["image_shape"]
    ((12, 1024), ('triangle', 'rectangle', 'ellipse'), (32, 32))
    """
    owner = "geometric_shapes"
    n_per = check_positive_int(n_per_class, "n_per_class", owner)
    side = check_positive_int(size, "size", owner, low=8)
    root, rngs = spawn_generators(seed, ("blur", "shuffle"))
    scale = side / _REFERENCE_SIZE
    centre = side / 2.0
    shifts = np.linspace(-1.0, 1.0, n_per) * scale
    radii = np.linspace(5.0, 7.0, n_per) * scale
    angles = _MAX_ANGLE * np.arange(n_per) / n_per

    images: list[np.ndarray] = []
    info: dict[str, list[np.ndarray]] = {
        key: [] for key in ("angle", "sigma", "shift", "radius", "position")
    }
    for label in range(len(SHAPE_NAMES)):
        sigmas = rngs["blur"].uniform(0.9, 1.1, n_per) * scale
        order = rngs["shuffle"].permutation(n_per)
        block = np.empty((n_per, side, side))
        for i in range(n_per):
            if label == 0:
                base = _triangle(centre, shifts[i], scale, side)
            elif label == 1:
                base = _rectangle(centre, shifts[i], scale, side)
            else:
                base = _ellipse_mask(
                    centre, centre, radii[i], 2.0 * radii[i], (side, side)
                )
            rotated = ndimage.rotate(base.astype(np.float64), angles[i], reshape=False)
            block[i] = ndimage.gaussian_filter(rotated, sigmas[i])
        images.append(block[order].reshape(n_per, side * side))
        nan = np.full(n_per, np.nan)
        info["angle"].append(angles[order])
        info["sigma"].append(sigmas[order])
        info["shift"].append(nan if label == 2 else shifts[order])
        info["radius"].append(radii[order] if label == 2 else nan)
        info["position"].append(order.astype(np.int64))

    y = np.repeat(np.arange(len(SHAPE_NAMES), dtype=np.int64), n_per)
    metadata = {
        "generator": owner,
        "params": {"n_per_class": n_per, "size": side},
        "image_shape": (side, side),
        **seed_info(root),
        PER_SAMPLE: {key: np.concatenate(val) for key, val in info.items()},
    }
    return Dataset(np.concatenate(images), y, SHAPE_NAMES, None, metadata)


# ---------------------------------------------------------------------- rasterisers
def _triangle(centre: float, shift: float, scale: float, side: int) -> np.ndarray:
    rows = np.array([centre, centre + 10.0 * scale, centre - 10.0 * scale]) + shift
    cols = (
        np.array(
            [
                centre - 8.0 * scale * np.sqrt(3.0),
                centre + 8.0 * scale,
                centre + 8.0 * scale,
            ]
        )
        + shift
    )
    return _polygon_mask(rows, cols, (side, side))


def _rectangle(centre: float, shift: float, scale: float, side: int) -> np.ndarray:
    start = (centre - 4.0 * scale + shift, centre - 8.0 * scale + shift)
    end = (centre + 4.0 * scale + shift, centre + 8.0 * scale + shift)
    return _rectangle_mask(start, end, (side, side))


def _polygon_mask(
    rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels whose centre (integer row, col) is inside the polygon (even-odd rule).

    The crossing test of scikit-image's ``draw.polygon``: a horizontal ray from the
    point towards +col crosses edge (i, j) if the edge straddles the row half-open
    (``r_i <= row < r_j`` or ``r_j <= row < r_i``) and the crossing lies to the right
    of the point.
    """
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    inside = np.zeros(shape, dtype=bool)
    j = len(rows) - 1
    for i in range(len(rows)):
        ri, rj, ci, cj = rows[i], rows[j], cols[i], cols[j]
        if ri != rj:
            straddles = ((ri <= rr) & (rr < rj)) | ((rj <= rr) & (rr < ri))
            crossing = (cj - ci) * (rr - ri) / (rj - ri) + ci
            inside ^= straddles & (cc < crossing)
        j = i
    return inside


def _rectangle_mask(
    start: tuple[float, float], end: tuple[float, float], shape: tuple[int, int]
) -> np.ndarray:
    """scikit-image's ``draw.rectangle(start, end)`` with float corners, truncated.

    Along each axis the covered indices are ``trunc(start + j)`` for ``j = 0, ...,
    round(end - start)``, clipped to the image.
    """
    mask = np.zeros(shape, dtype=bool)
    axes = []
    for lo, hi, n in zip(start, end, shape, strict=True):
        lo, hi = min(lo, hi), max(lo, hi)
        idx = np.trunc(lo + np.arange(round(hi - lo) + 1)).astype(np.int64)
        axes.append(idx[(idx >= 0) & (idx < n)])
    mask[np.ix_(axes[0], axes[1])] = True
    return mask


def _ellipse_mask(
    row: float, col: float, row_radius: float, col_radius: float, shape: tuple[int, int]
) -> np.ndarray:
    """Pixels with ``((r - row) / row_radius)^2 + ((c - col) / col_radius)^2 < 1``."""
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    return ((rr - row) / row_radius) ** 2 + ((cc - col) / col_radius) ** 2 < 1.0
