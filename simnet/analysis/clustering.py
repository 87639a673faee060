"""Clustering of similarity matrices and He & Su's local-elasticity clustering.

Three clustering algorithms in plain numpy/scipy (scikit-learn is not a dependency of
simnet), the permutation-invariant clustering accuracy, and the full
local-elasticity clustering algorithm of He & Su (2020, Algorithm 1), run the way
their code runs it: train a binary classifier (primary set labelled 1, auxiliary set
labelled 0), probe every primary example with one SGD step from the *same* trained
weights, record the similarity of every primary pair, symmetrise, cluster, score.

Every public function validates its inputs once and then calls a private kernel
(``_kmeans``, ``_spectral``, ``_kernel_kmeans``) that trusts them. See ``MODEL.md``
section 6 and ``reference/local_elasticity.md`` sections 1.5-1.9.

References
----------
.. [1] H. He and W. J. Su, "The local elasticity of neural networks", ICLR 2020
   (arXiv:1910.06943). Algorithm 1 and the code at
   github.com/HornHehhf/LocalElasticity.
.. [2] S. P. Lloyd, "Least squares quantization in PCM", IEEE Trans. Inf. Theory
   28(2), 1982.
.. [3] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
   seeding", SODA 2007.
.. [4] A. Y. Ng, M. I. Jordan and Y. Weiss, "On spectral clustering: analysis and an
   algorithm", NIPS 2002.
.. [5] I. S. Dhillon, Y. Guan and B. Kulis, "Kernel k-means, spectral clustering and
   normalized cuts", KDD 2004.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike
from scipy.linalg import eigh
from scipy.optimize import linear_sum_assignment

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError, DataError
from ..networks import (
    MLP,
    MLPParams,
    kernel_similarities,
    probe_similarities,
    train_mlp,
)
from ..results import RunResult
from ..seeding import SeedLike, as_seed_sequence

__all__ = [
    "ClusterMethod",
    "ElasticityClustering",
    "KernelInit",
    "SimilarityKind",
    "cluster_similarity",
    "clustering_accuracy",
    "kernel_kmeans",
    "kmeans",
    "local_elasticity_clustering",
    "spectral_clustering",
]


class ClusterMethod(StrEnum):
    """How :func:`cluster_similarity` clusters a similarity matrix M.

    ``kmeans``: k-means on the rows of M as feature vectors (He & Su's choice for the
    *relative* similarity); ``spectral``: normalised spectral clustering with M as
    the affinity (their second choice for the relative similarity); ``kernel_kmeans``:
    kernel k-means with M as the Gram matrix (their choice for the *kernelized*
    similarity).
    """

    KMEANS = "kmeans"
    SPECTRAL = "spectral"
    KERNEL_KMEANS = "kernel_kmeans"


class KernelInit(StrEnum):
    """Initialisation of :func:`kernel_kmeans`.

    ``k-means++``: D^2 seeding in feature space, with distances read off the Gram
    matrix; ``random``: uniformly random initial labels, as in M. Blondel's
    implementation that He & Su's code uses.
    """

    KMEANS_PLUSPLUS = "k-means++"
    RANDOM = "random"


# --------------------------------------------------------------------------------------
# validation helpers (shared with dendrogram.py)
# --------------------------------------------------------------------------------------


def _where(name: str, owner: str) -> str:
    return f"The '{name}' parameter of {owner}"


def _float_array(value: ArrayLike, name: str, owner: str, shape_doc: str) -> np.ndarray:
    """``value`` as a new finite float64 array with as many axes as ``shape_doc``."""
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"{_where(name, owner)} must be an array of floats of shape {shape_doc}. "
            f"Got a {type(value).__name__} that numpy cannot convert instead."
        ) from None
    ndim = shape_doc.count(",") + 1
    if arr.ndim != ndim:
        raise DataError(
            f"{_where(name, owner)} must be a {ndim}-D array of shape {shape_doc}. "
            f"Got shape {arr.shape} instead."
        )
    if arr.size == 0:
        raise DataError(
            f"{_where(name, owner)} must not be empty. Got shape {arr.shape} instead."
        )
    if not np.all(np.isfinite(arr)):
        raise DataError(
            f"{_where(name, owner)} must be finite. "
            "Got a NaN or infinite entry instead."
        )
    return arr


def _square_matrix(
    value: ArrayLike, name: str, owner: str, *, size: int | None = None
) -> np.ndarray:
    """``value`` as a finite float64 square matrix (of side ``size`` if given)."""
    arr = _float_array(value, name, owner, "(n, n)")
    if arr.shape[0] != arr.shape[1]:
        raise DataError(
            f"{_where(name, owner)} must be square. Got shape {arr.shape} instead."
        )
    if size is not None and arr.shape[0] != size:
        raise DataError(
            f"{_where(name, owner)} must have shape ({size}, {size}). "
            f"Got shape {arr.shape} instead."
        )
    return arr


def _symmetrise(matrix: np.ndarray) -> np.ndarray:
    """(M + M^T) / 2, exactly symmetric."""
    return 0.5 * (matrix + matrix.T)


def _n_clusters(value: object, n_samples: int, owner: str) -> int:
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not (is_int and 1 <= int(value) <= n_samples):
        raise ConfigError(
            f"{_where('n_clusters', owner)} must be an int in [1, {n_samples}] (at "
            f"most the number of samples). Got {value!r} instead."
        )
    return int(value)


def _seed_sequence(seed: SeedLike, owner: str) -> np.random.SeedSequence:
    try:
        return as_seed_sequence(seed)
    except ConfigError:
        raise ConfigError(
            f"{_where('seed', owner)} must be a non-negative int, a numpy "
            f"SeedSequence, a numpy Generator or None. Got {seed!r} instead."
        ) from None


def _rng(seed: SeedLike, owner: str) -> np.random.Generator:
    return np.random.default_rng(_seed_sequence(seed, owner))


def _labels_1d(value: ArrayLike, name: str, owner: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged nested sequences
        raise DataError(
            f"{_where(name, owner)} must be a 1-D array of labels. "
            f"Got a ragged {type(value).__name__} instead."
        ) from None
    if arr.ndim != 1:
        raise DataError(
            f"{_where(name, owner)} must be a 1-D array of labels. "
            f"Got shape {arr.shape} instead."
        )
    if arr.size == 0:
        raise DataError(f"{_where(name, owner)} must not be empty. Got 0 labels.")
    if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
        raise DataError(
            f"{_where(name, owner)} must hold finite labels. Got a NaN or infinite "
            "entry instead."
        )
    return arr


def _first_appearance(labels: np.ndarray) -> np.ndarray:
    """Relabel so that cluster ids appear in increasing order along the samples."""
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")
    mapping = np.empty(labels.max() + 1, dtype=np.int64)
    mapping[np.unique(labels)[order]] = np.arange(order.size)
    return mapping[labels]


# --------------------------------------------------------------------------------------
# k-means
# --------------------------------------------------------------------------------------


def _sq_dists(x: np.ndarray, x_sq: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k), clipped at 0 against rounding."""
    d = x_sq[:, None] - 2.0 * (x @ centres.T) + np.einsum("kp,kp->k", centres, centres)
    return np.maximum(d, 0.0, out=d)


def _plusplus_seeds(
    n: int,
    k: int,
    sq_dist_to: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
) -> np.ndarray:
    """Greedy k-means++ seeding [3]: indices of ``k`` seed samples.

    ``sq_dist_to(idx)`` returns the (len(idx), n) squared distances from the samples
    ``idx`` to all samples. Each new seed is the best (lowest potential) of
    ``2 + log(k)`` candidates drawn with probability proportional to D(x)^2, the
    squared distance to the nearest seed so far.
    """
    n_trials = 2 + int(math.log(k))
    seeds = np.empty(k, dtype=np.int64)
    seeds[0] = rng.integers(n)
    closest = sq_dist_to(seeds[:1])[0]
    for c in range(1, k):
        potential = closest.sum()
        if potential > 0.0:
            draws = rng.random(n_trials) * potential
            cand = np.searchsorted(np.cumsum(closest), draws, side="right")
            cand = np.minimum(cand, n - 1)
        else:  # every sample coincides with a seed: any choice is as good
            cand = rng.integers(n, size=n_trials)
        new_closest = np.minimum(closest[None, :], sq_dist_to(cand))
        best = int(np.argmin(new_closest.sum(axis=1)))
        seeds[c] = cand[best]
        closest = new_closest[best]
    return seeds


def _fill_empty(labels: np.ndarray, dist_own: np.ndarray, k: int) -> np.ndarray:
    """Give each empty cluster the sample farthest from its own cluster centre."""
    counts = np.bincount(labels, minlength=k)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        labels = labels.copy()
        far = np.argsort(-dist_own, kind="stable")
        taken = 0
        for j in empty:
            while counts[labels[far[taken]]] <= 1:  # never empty another cluster
                taken += 1
            i = far[taken]
            counts[labels[i]] -= 1
            counts[j] += 1
            labels[i] = j
            taken += 1
    return labels


def _lloyd(
    x: np.ndarray, x_sq: np.ndarray, centres: np.ndarray, max_iter: int
) -> tuple[np.ndarray, float]:
    """Lloyd iterations from ``centres`` until the assignment stops changing [2]."""
    k = centres.shape[0]
    labels = np.full(x.shape[0], -1, dtype=np.int64)
    for _ in range(max_iter):
        d = _sq_dists(x, x_sq, centres)
        new = np.argmin(d, axis=1)
        new = _fill_empty(new, d[np.arange(x.shape[0]), new], k)
        if np.array_equal(new, labels):
            break
        labels = new
        onehot = np.zeros((x.shape[0], k))
        onehot[np.arange(x.shape[0]), labels] = 1.0
        centres = (onehot.T @ x) / onehot.sum(axis=0)[:, None]
    inertia = float(np.sum((x - centres[labels]) ** 2))
    return labels, inertia


def _kmeans(
    x: np.ndarray, k: int, n_init: int, max_iter: int, rng: np.random.Generator
) -> np.ndarray:
    n = x.shape[0]
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    # k-means is invariant to translation and scale: centre (less cancellation) and
    # scale to unit maximum (no overflow in the squared distances)
    x = x - x.mean(axis=0)
    top = np.max(np.abs(x))
    if top > 0.0:
        x = x / top
    x_sq = np.einsum("np,np->n", x, x)

    def sq_dist_to(idx: np.ndarray) -> np.ndarray:
        return _sq_dists(x, x_sq, x[idx]).T

    best_labels, best_inertia = None, np.inf
    for _ in range(n_init):
        seeds = _plusplus_seeds(n, k, sq_dist_to, rng)
        labels, inertia = _lloyd(x, x_sq, x[seeds].copy(), max_iter)
        if inertia < best_inertia or best_labels is None:
            best_labels, best_inertia = labels, inertia
    return _first_appearance(best_labels)


def kmeans(
    features: ArrayLike,
    n_clusters: int,
    *,
    n_init: int = 10,
    max_iter: int = 300,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Partition samples into ``n_clusters`` groups by k-means.

    Parameters
    ----------
    features : array_like of float, shape (n_samples, n_features)
        One row per sample. Not modified.
    n_clusters : int
        Number of clusters, in ``[1, n_samples]``.
    n_init : int, default 10
        Number of k-means++ restarts; the run with the lowest inertia is kept.
    max_iter : int, default 300
        Maximum number of Lloyd iterations per restart.
    seed : int, SeedSequence, Generator or None
        Randomness of the seeding. The same seed gives the same labels.

    Returns
    -------
    labels : ndarray of int64, shape (n_samples,)
        Cluster index of each sample, in ``[0, n_clusters)``, numbered in order of
        first appearance (``labels[0] == 0``). Every cluster is non-empty.

    Raises
    ------
    DataError
        If ``features`` is not a non-empty finite 2-D array.
    ConfigError
        If ``n_clusters``, ``n_init``, ``max_iter`` or ``seed`` is invalid.

    Notes
    -----
    Minimises the inertia :math:`\sum_i \lVert x_i - \mu_{c(i)} \rVert^2`. Each restart
    seeds the centres with greedy k-means++ [3]_ (the next centre is the best of
    :math:`2 + \log k` candidates drawn with probability proportional to the squared
    distance to the nearest centre chosen so far), then runs Lloyd's iterations [2]_
    (assign every sample to its nearest centre, move every centre to the mean of its
    samples) until the assignment no longer changes. A cluster that becomes empty is
    given the sample farthest from its own centre.

    References
    ----------
    .. [2] S. P. Lloyd, "Least squares quantization in PCM", 1982.
    .. [3] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful
       seeding", SODA 2007.

    Examples
    --------
    >>> x = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
    >>> kmeans(x, 2, seed=0).tolist()
    [0, 0, 1, 1]
    """
    owner = "kmeans"
    x = _float_array(features, "features", owner, "(n_samples, n_features)")
    k = _n_clusters(n_clusters, x.shape[0], owner)
    n_init = check_int(n_init, "n_init", owner, low=1)
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    return _kmeans(x, k, n_init, max_iter, _rng(seed, owner))


# --------------------------------------------------------------------------------------
# spectral clustering
# --------------------------------------------------------------------------------------


def _spectral_embedding(affinity: np.ndarray, k: int) -> np.ndarray:
    """Row-normalised top-k eigenvectors of D^-1/2 A D^-1/2 (symmetric, A >= 0)."""
    a = np.clip(affinity, 0.0, None)
    np.fill_diagonal(a, 0.0)
    deg = a.sum(axis=1)
    inv_sqrt = np.zeros_like(deg)
    np.divide(1.0, np.sqrt(deg), out=inv_sqrt, where=deg > 0.0)
    normalised = inv_sqrt[:, None] * a * inv_sqrt[None, :]
    n = a.shape[0]
    _, vecs = eigh(normalised, subset_by_index=[n - k, n - 1])
    norms = np.linalg.norm(vecs, axis=1)
    out = np.zeros_like(vecs)
    np.divide(vecs, norms[:, None], out=out, where=norms[:, None] > 0.0)
    return out


def _spectral(
    affinity: np.ndarray, k: int, n_init: int, rng: np.random.Generator
) -> np.ndarray:
    if k == 1:
        return np.zeros(affinity.shape[0], dtype=np.int64)
    return _kmeans(_spectral_embedding(affinity, k), k, n_init, 300, rng)


def spectral_clustering(
    affinity: ArrayLike,
    n_clusters: int,
    *,
    n_init: int = 10,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Normalised spectral clustering of a precomputed affinity matrix.

    Parameters
    ----------
    affinity : array_like of float, shape (n, n)
        Pairwise affinities (larger = more similar). It is symmetrised,
        ``A <- (A + A^T) / 2``, negative entries are set to 0 and the diagonal is
        ignored. Not modified.
    n_clusters : int
        Number of clusters, in ``[1, n]``.
    n_init : int, default 10
        k-means++ restarts used on the spectral embedding.
    seed : int, SeedSequence, Generator or None
        Randomness of the k-means stage.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
        Cluster index of each sample, numbered in order of first appearance.

    Raises
    ------
    DataError
        If ``affinity`` is not a non-empty finite square matrix.
    ConfigError
        If ``n_clusters``, ``n_init`` or ``seed`` is invalid.

    Notes
    -----
    The algorithm of Ng, Jordan & Weiss [4]_. With :math:`A_{ii} = 0` and degrees
    :math:`d_i = \sum_j A_{ij}`, take the eigenvectors :math:`v_1, \dots, v_k` of the
    :math:`k` largest eigenvalues of :math:`D^{-1/2} A D^{-1/2}` (equivalently the
    :math:`k` smallest of the normalised Laplacian
    :math:`L_{sym} = I - D^{-1/2} A D^{-1/2}`), normalise each row of
    :math:`V = [v_1 \dots v_k]` to unit length and cluster the rows with
    :func:`kmeans`.

    Spectral clustering needs a nonnegative affinity (a weighted graph), but
    local-elasticity similarities can be negative: the kernelized similarity
    S_ker is a signed neural tangent kernel. Negative affinities are clipped to 0,
    i.e. treated as "no edge". The diagonal (self-similarity) carries no information
    about the partition and is set to 0 as in [4]_ and in ``scipy.sparse.csgraph``.
    An isolated sample (zero degree) gets a zero embedding row.

    He & Su's code calls scikit-learn's ``SpectralClustering(affinity='precomputed',
    assign_labels='discretize')``; this function assigns labels by k-means on the
    row-normalised embedding instead.

    References
    ----------
    .. [4] A. Y. Ng, M. I. Jordan and Y. Weiss, "On spectral clustering: analysis
       and an algorithm", NIPS 2002.

    Examples
    --------
    >>> block = [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]]
    >>> spectral_clustering(block, 2, seed=0).tolist()
    [0, 0, 1, 1]
    """
    owner = "spectral_clustering"
    a = _symmetrise(_square_matrix(affinity, "affinity", owner))
    k = _n_clusters(n_clusters, a.shape[0], owner)
    n_init = check_int(n_init, "n_init", owner, low=1)
    return _spectral(a, k, n_init, _rng(seed, owner))


# --------------------------------------------------------------------------------------
# kernel k-means
# --------------------------------------------------------------------------------------


def _kernel_dists(gram: np.ndarray, diag: np.ndarray, labels: np.ndarray, k: int):
    """Squared feature-space distances (n, k) to the cluster means; inf if empty."""
    n = gram.shape[0]
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(axis=0)
    g_z = gram @ onehot  # (n, k): sum_{j in c} K_ij
    within = np.einsum("nk,nk->k", onehot, g_z)  # sum_{j,l in c} K_jl
    dist = np.full((n, k), np.inf)
    full = sizes > 0
    dist[:, full] = (
        diag[:, None]
        - 2.0 * g_z[:, full] / sizes[full]
        + within[full] / sizes[full] ** 2
    )
    return dist


def _kernel_objective(gram: np.ndarray, labels: np.ndarray, k: int) -> float:
    """sum_i ||phi(x_i) - m_c(i)||^2 = tr K - sum_c (1/|c|) sum_{j,l in c} K_jl."""
    n = gram.shape[0]
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels] = 1.0
    sizes = onehot.sum(axis=0)
    within = np.einsum("nk,nk->k", onehot, gram @ onehot)
    full = sizes > 0
    return float(np.trace(gram) - np.sum(within[full] / sizes[full]))


def _kernel_kmeans(
    gram: np.ndarray,
    k: int,
    max_iter: int,
    tol: float,
    n_init: int,
    init: KernelInit,
    rng: np.random.Generator,
) -> np.ndarray:
    n = gram.shape[0]
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    top = np.max(np.abs(gram))
    if top > 0.0:  # the labels are invariant to the scale of the kernel
        gram = gram / top
    diag = np.diag(gram).copy()
    rows = np.arange(n)

    def sq_dist_to(idx: np.ndarray) -> np.ndarray:
        d = diag[idx, None] - 2.0 * gram[idx] + diag[None, :]
        return np.maximum(d, 0.0, out=d)

    best_labels, best_obj = None, np.inf
    for _ in range(n_init):
        if init is KernelInit.RANDOM:
            labels = rng.integers(k, size=n)
            labels = _fill_empty(labels, rng.random(n), k)
        else:
            d0 = sq_dist_to(_plusplus_seeds(n, k, sq_dist_to, rng))  # (k, n)
            labels = np.argmin(d0, axis=0)
            labels = _fill_empty(labels, d0[labels, rows], k)
        for _ in range(max_iter):
            dist = _kernel_dists(gram, diag, labels, k)
            new = np.argmin(dist, axis=1)
            new = _fill_empty(new, dist[rows, new], k)
            n_changed = int(np.count_nonzero(new != labels))
            labels = new
            if n_changed == 0 or n_changed < tol * n:
                break
        obj = _kernel_objective(gram, labels, k)
        if obj < best_obj or best_labels is None:
            best_labels, best_obj = labels, obj
    return _first_appearance(best_labels)


def kernel_kmeans(
    gram: ArrayLike,
    n_clusters: int,
    *,
    max_iter: int = 100,
    tol: float = 1e-3,
    n_init: int = 10,
    init: KernelInit | str = KernelInit.KMEANS_PLUSPLUS,
    seed: SeedLike = None,
) -> np.ndarray:
    r"""Kernel k-means on a precomputed Gram matrix (Dhillon, Guan & Kulis 2004).

    Parameters
    ----------
    gram : array_like of float, shape (n, n)
        Kernel matrix :math:`K_{ij} = \langle \phi(x_i), \phi(x_j) \rangle`. It is
        symmetrised, ``K <- (K + K^T) / 2``. Not modified.
    n_clusters : int
        Number of clusters, in ``[1, n]``.
    max_iter : int, default 100
        Maximum number of reassignment sweeps per restart.
    tol : float, default 1e-3
        A restart stops when fewer than ``tol * n`` labels change in a sweep (or
        none do), as in M. Blondel's implementation used by He & Su.
    n_init : int, default 10
        Number of restarts; the one with the lowest objective is kept.
    init : {"k-means++", "random"}, default "k-means++"
        ``"k-means++"`` seeds with D^2 sampling in feature space; ``"random"`` draws
        uniformly random initial labels (He & Su's code).
    seed : int, SeedSequence, Generator or None
        Randomness of the initialisation.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
        Cluster index of each sample, numbered in order of first appearance.

    Raises
    ------
    DataError
        If ``gram`` is not a non-empty finite square matrix.
    ConfigError
        If ``n_clusters``, ``max_iter``, ``tol``, ``n_init``, ``init`` or ``seed`` is
        invalid.

    Notes
    -----
    k-means in the feature space of the kernel [5]_, which needs only inner
    products: the squared distance of sample :math:`i` to the mean :math:`m_c` of
    cluster :math:`c` is

    .. math::

        \lVert \phi(x_i) - m_c \rVert^2 = K_{ii} - \frac{2}{|c|} \sum_{j \in c} K_{ij}
            + \frac{1}{|c|^2} \sum_{j, l \in c} K_{jl}.

    Each sweep reassigns every sample to its nearest mean (one matrix product,
    :math:`O(n^2 k)`). The objective :math:`\sum_i \lVert \phi(x_i) -
    m_{c(i)} \rVert^2` decreases monotonically when :math:`K` is positive
    semi-definite; for an indefinite matrix (e.g. a finite-step kernelized
    similarity) the sweeps still run and stop at ``max_iter``. With the linear
    kernel :math:`K = X X^T` this is exactly k-means on the rows of :math:`X`.

    References
    ----------
    .. [5] I. S. Dhillon, Y. Guan and B. Kulis, "Kernel k-means, spectral
       clustering and normalized cuts", KDD 2004.

    Examples
    --------
    >>> x = [[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]
    >>> gram = np.asarray(x) @ np.asarray(x).T
    >>> kernel_kmeans(gram, 2, seed=0).tolist()
    [0, 0, 1, 1]
    """
    owner = "kernel_kmeans"
    g = _symmetrise(_square_matrix(gram, "gram", owner))
    k = _n_clusters(n_clusters, g.shape[0], owner)
    max_iter = check_int(max_iter, "max_iter", owner, low=1)
    tol = check_float(tol, "tol", owner, low=0.0, high=1.0, closed="left")
    n_init = check_int(n_init, "n_init", owner, low=1)
    init = check_enum(KernelInit, init, "init", owner)
    return _kernel_kmeans(g, k, max_iter, tol, n_init, init, _rng(seed, owner))


# --------------------------------------------------------------------------------------
# similarity matrices and accuracy
# --------------------------------------------------------------------------------------


def _cluster_symmetric(
    m: np.ndarray, k: int, method: ClusterMethod, rng: np.random.Generator
) -> np.ndarray:
    if method is ClusterMethod.KMEANS:
        return _kmeans(m, k, 10, 300, rng)
    if method is ClusterMethod.SPECTRAL:
        return _spectral(m, k, 10, rng)
    return _kernel_kmeans(m, k, 100, 1e-3, 10, KernelInit.KMEANS_PLUSPLUS, rng)


def cluster_similarity(
    matrix: ArrayLike,
    n_clusters: int = 2,
    *,
    method: ClusterMethod | str = ClusterMethod.KMEANS,
    seed: SeedLike = None,
) -> np.ndarray:
    """Cluster samples from a pairwise similarity matrix, as He & Su do.

    Parameters
    ----------
    matrix : array_like of float, shape (n, n)
        Similarities ``M[i, j] = S(x_i, x_j)``, e.g. relative or kernelized local
        elasticity. It is symmetrised first, ``M <- (M + M^T) / 2``. Not modified.
    n_clusters : int, default 2
        Number of clusters, in ``[1, n]``.
    method : ClusterMethod or str, default "kmeans"
        ``"kmeans"``: :func:`kmeans` on the rows of M as feature vectors (He &
        Su's relative option); ``"spectral"``: :func:`spectral_clustering` with M
        as affinity (negative entries clipped to 0); ``"kernel_kmeans"``:
        :func:`kernel_kmeans` with M as Gram matrix (their kernelized option).
    seed : int, SeedSequence, Generator or None
        Randomness of the clustering.

    Returns
    -------
    labels : ndarray of int64, shape (n,)
        Cluster index of each sample, numbered in order of first appearance.

    Raises
    ------
    DataError
        If ``matrix`` is not a non-empty finite square matrix.
    ConfigError
        If ``n_clusters``, ``method`` or ``seed`` is invalid.

    Notes
    -----
    Step 3 and 4 of He & Su's Algorithm 1 [1]_ with their settings (k-means and
    kernel k-means with 10 restarts; kernel k-means with at most 100 sweeps and
    tolerance 1e-3).

    References
    ----------
    .. [1] H. He and W. J. Su, "The local elasticity of neural networks", ICLR
       2020.

    Examples
    --------
    >>> m = [[1.0, 0.9, 0.1], [0.8, 1.0, 0.2], [0.1, 0.1, 1.0]]
    >>> cluster_similarity(m, 2, method="kernel_kmeans", seed=0).tolist()
    [0, 0, 1]
    """
    owner = "cluster_similarity"
    m = _symmetrise(_square_matrix(matrix, "matrix", owner))
    k = _n_clusters(n_clusters, m.shape[0], owner)
    method = check_enum(ClusterMethod, method, "method", owner)
    return _cluster_symmetric(m, k, method, _rng(seed, owner))


def _accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    _, p_idx = np.unique(predicted, return_inverse=True)
    _, t_idx = np.unique(truth, return_inverse=True)
    confusion = np.zeros((p_idx.max() + 1, t_idx.max() + 1), dtype=np.int64)
    np.add.at(confusion, (p_idx.ravel(), t_idx.ravel()), 1)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    return float(confusion[rows, cols].sum() / predicted.size)


def clustering_accuracy(predicted: ArrayLike, truth: ArrayLike) -> float:
    r"""Fraction of samples correctly clustered under the best matching of labels.

    Parameters
    ----------
    predicted : array_like, shape (n,)
        Cluster labels (any hashable, sortable values, e.g. ints or strings).
    truth : array_like, shape (n,)
        True labels.

    Returns
    -------
    float
        :math:`\max_\pi \frac1n \sum_i [\pi(\hat c_i) = c_i]` over one-to-one
        matchings :math:`\pi` of predicted clusters to true labels; in
        ``(0, 1]``. Clusters left unmatched (when the two label sets differ in
        size) count as errors.

    Raises
    ------
    DataError
        If an argument is not a non-empty 1-D array, or their lengths differ.

    Notes
    -----
    The best matching maximises the trace of the permuted confusion matrix, a
    linear assignment problem solved by :func:`scipy.optimize.linear_sum_assignment`.
    For two clusters with labels in {0, 1} the two matchings give
    :math:`a` and :math:`1 - a`, where :math:`a` is the plain agreement, so the
    accuracy is He & Su's [1]_ :math:`0.5 + |a - 0.5|` and chance level is 0.5.

    References
    ----------
    .. [1] H. He and W. J. Su, "The local elasticity of neural networks", ICLR
       2020.

    Examples
    --------
    >>> clustering_accuracy([1, 1, 0, 0], [0, 0, 1, 1])
    1.0
    >>> clustering_accuracy([0, 0, 0, 1], [0, 0, 1, 1])
    0.75
    """
    owner = "clustering_accuracy"
    p = _labels_1d(predicted, "predicted", owner)
    t = _labels_1d(truth, "truth", owner)
    if p.shape != t.shape:
        raise DataError(
            f"{_where('predicted', owner)} must have the same length as 'truth' "
            f"({t.size}). Got {p.size} labels instead."
        )
    try:
        return _accuracy(p, t)
    except TypeError:
        raise DataError(
            f"{_where('predicted', owner)} and 'truth' must hold sortable labels of "
            "one type (e.g. all ints or all strings)."
        ) from None


# --------------------------------------------------------------------------------------
# He & Su's local-elasticity clustering
# --------------------------------------------------------------------------------------


class SimilarityKind(StrEnum):
    """Which local-elasticity similarity He & Su's clustering records.

    ``relative``: S_rel(x_i, x_j) = |Delta f(x_j)| / |Delta f(x_i)|;
    ``kernel``: S_ker(x_i, x_j) = Delta f(x_j) / (-eta dL/df(x_i)) (their
    "kernelized" similarity, the empirical NTK as eta -> 0).
    """

    RELATIVE = "relative"
    KERNEL = "kernel"


@dataclass(frozen=True, eq=False)
class ElasticityClustering:
    """Result of :func:`local_elasticity_clustering`.

    Attributes
    ----------
    matrix : ndarray of float, shape (n_primary, n_primary)
        The symmetrised similarity matrix ``(M + M^T) / 2`` that was clustered.
    labels : ndarray of int64, shape (n_primary,)
        Predicted subclass of each primary example.
    truth : ndarray, shape (n_primary,)
        True subclass of each primary example (a copy of the input).
    accuracy : float
        :func:`clustering_accuracy` of ``labels`` against ``truth`` (for two
        subclasses He & Su's 0.5 + |acc - 0.5|).
    similarity : SimilarityKind
        The similarity recorded in ``matrix``.
    method : ClusterMethod
        The clustering method used.
    eta : ndarray of float, shape (n_primary,)
        Probe step size of each primary example (0 for the eta -> 0 limit).
    params : MLPParams
        The trained weights every probe started from.
    training : RunResult
        The training run of the binary classifier (``metrics`` table with the
        final training loss and accuracy; the weights in ``state``).
    """

    matrix: np.ndarray
    labels: np.ndarray
    truth: np.ndarray
    accuracy: float
    similarity: SimilarityKind
    method: ClusterMethod
    eta: np.ndarray
    params: MLPParams
    training: RunResult


_DEFAULT_METHOD = {
    SimilarityKind.RELATIVE: ClusterMethod.KMEANS,
    SimilarityKind.KERNEL: ClusterMethod.KERNEL_KMEANS,
}


def local_elasticity_clustering(
    primary: ArrayLike,
    truth: ArrayLike,
    auxiliary: ArrayLike,
    *,
    similarity: SimilarityKind | str = SimilarityKind.RELATIVE,
    method: ClusterMethod | str | None = None,
    mlp: MLP | None = None,
    epochs: int = 200,
    lr: float = 3e-3,
    batch_size: int | None = None,
    probe_eta: float | None = None,
    seed: SeedLike = None,
) -> ElasticityClustering:
    r"""He & Su's local-elasticity clustering (Algorithm 1), as their code runs it.

    Parameters
    ----------
    primary : array_like of float, shape (n_primary, d)
        The examples to cluster (He & Su: 500 + 500 images of two classes). They
        are all labelled 1 for training.
    truth : array_like, shape (n_primary,)
        Their true subclasses, used only for scoring; the number of clusters is the
        number of distinct values (2 in He & Su).
    auxiliary : array_like of float, shape (n_auxiliary, d)
        Examples of other classes, all labelled 0 (He & Su: 1000 images of one or
        two other classes). They make the binary task non-trivial.
    similarity : {"relative", "kernel"}, default "relative"
        The similarity recorded for every primary pair (see
        :class:`SimilarityKind`).
    method : ClusterMethod or str, optional
        How to cluster the matrix; default He & Su's pairing: ``"kmeans"`` on the
        rows for ``relative``, ``"kernel_kmeans"`` for ``kernel``. (They also ran
        ``"spectral"`` on the relative similarity.)
    mlp : MLP, optional
        The binary classifier; it needs a binary head (one output with ``mse`` or
        ``bce``, or two ``ce`` logits). Default ``MLP(d, hidden=(512,),
        n_outputs=1, activation="relu", loss="mse")``: He & Su's ``MLPNet`` (a
        two-layer ReLU net with MSE on the raw output), narrower than their 40960
        units.
    epochs : int, default 200
        Training epochs over the combined set; 0 probes the initial weights (their
        untrained control).
    lr : float, default 3e-3
        SGD learning rate (He & Su's).
    batch_size : int, optional
        Minibatch size, at most the combined size. Default ``min(50, n_primary +
        n_auxiliary)`` (He & Su's 50 for MNIST).
    probe_eta : float, optional
        Probe step size. Default: He & Su's adaptive rule (the smallest
        :math:`10^{-6} \cdot 3^k` that changes :math:`f(x_i)`); ``0`` takes the
        :math:`\eta \to 0` limits from the exact NTK
        (:func:`~simnet.networks.kernel_similarities`), which the reference notes
        recommend.
    seed : int, SeedSequence, Generator or None
        One seed for the initial weights, the epoch shuffles and the clustering.

    Returns
    -------
    ElasticityClustering
        The symmetrised matrix, predicted labels, accuracy, probe steps, trained
        weights and the training run.

    Raises
    ------
    DataError
        If an array has the wrong shape or is not finite, or a probe's similarity
        is undefined (a probe whose step changes nothing, e.g. a saturated
        ``bce`` output).
    ConfigError
        If a parameter is out of range, ``mlp`` does not fit the data or has no
        binary head, or there are fewer primary examples than subclasses.
    DivergenceError
        If training diverges (lower ``lr``).

    Notes
    -----
    The steps of He & Su's code (reference notes, section 1.5):

    1. Label the primary set 1 and the auxiliary set 0, and train the binary
       classifier by minibatch SGD over shuffled epochs
       (:func:`~simnet.networks.train_mlp` with ``sampling="epoch"``) to weights
       :math:`w^*`.
    2. For each primary :math:`x_i`, reset to :math:`w^*` (every probe starts from
       the *same* weights; nothing accumulates), take one SGD step of size
       :math:`\eta` on :math:`(x_i, 1)` and record
       :math:`M_{ij} = S(x_i, x_j)` for every primary :math:`x_j`
       (:func:`~simnet.networks.probe_similarities`).
    3. Symmetrise, :math:`M \leftarrow (M + M^\top)/2`.
    4. Cluster M (:func:`cluster_similarity`) and score against the true
       subclasses with :func:`clustering_accuracy`.

    Differences from their code: float64 instead of float32 (so the adaptive step
    stays at :math:`10^{-6}`); k-means++ with 10 restarts instead of
    scikit-learn's defaults; kernel k-means with k-means++ seeding instead of random
    labels; epochs are reshuffled from the seed instead of numpy's global seed 666.

    References
    ----------
    .. [1] H. He and W. J. Su, "The local elasticity of neural networks", ICLR
       2020, Algorithm 1; code at github.com/HornHehhf/LocalElasticity.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    >>> sub = np.repeat([0, 1], 15)
    >>> primary = centres[sub] + rng.normal(scale=0.5, size=(30, 2))
    >>> auxiliary = centres[np.repeat([2, 3], 15)] + rng.normal(scale=0.5, size=(30, 2))
    >>> out = local_elasticity_clustering(
    ...     primary, sub, auxiliary, mlp=MLP(2, (64,), 1, loss="mse"),
    ...     epochs=50, lr=0.02, batch_size=10, seed=0)
    >>> out.matrix.shape, out.accuracy
    ((30, 30), 1.0)
    """
    owner = "local_elasticity_clustering"
    xp = _float_array(primary, "primary", owner, "(n_primary, d)")
    xa = _float_array(auxiliary, "auxiliary", owner, "(n_auxiliary, d)")
    if xa.shape[1] != xp.shape[1]:
        raise DataError(
            f"{_where('auxiliary', owner)} must have {xp.shape[1]} columns to match "
            f"'primary'. Got shape {xa.shape} instead."
        )
    t = _labels_1d(truth, "truth", owner)
    if t.shape[0] != xp.shape[0]:
        raise DataError(
            f"{_where('truth', owner)} must have one label per primary example "
            f"({xp.shape[0]}). Got {t.shape[0]} labels instead."
        )
    try:
        n_sub = np.unique(t).size
    except TypeError:
        raise DataError(
            f"{_where('truth', owner)} must hold sortable labels of one type."
        ) from None
    if n_sub < 2:
        raise DataError(
            f"{_where('truth', owner)} must hold at least 2 distinct subclasses. "
            f"Got {n_sub} instead."
        )
    similarity = check_enum(SimilarityKind, similarity, "similarity", owner)
    method = (
        _DEFAULT_METHOD[similarity]
        if method is None
        else check_enum(ClusterMethod, method, "method", owner)
    )
    n_all = xp.shape[0] + xa.shape[0]
    epochs = check_int(epochs, "epochs", owner, low=0)
    lr = check_float(lr, "lr", owner, low=0.0, closed="neither")
    if batch_size is None:
        batch_size = min(50, n_all)
    batch_size = check_int(batch_size, "batch_size", owner, low=1, high=n_all)
    if probe_eta is not None:
        probe_eta = check_float(probe_eta, "probe_eta", owner, low=0.0)
    if mlp is None:
        mlp = MLP(xp.shape[1], (512,), 1, activation="relu", loss="mse")
    elif not isinstance(mlp, MLP):
        raise ConfigError(
            f"{_where('mlp', owner)} must be a simnet.networks.MLP. "
            f"Got {type(mlp).__name__} instead."
        )
    if mlp.input_dim != xp.shape[1] or mlp.n_classes != 2:
        raise ConfigError(
            f"{_where('mlp', owner)} must take {xp.shape[1]} inputs and have a "
            "binary head (one 'mse' or 'bce' output, or two 'ce' logits). "
            f"Got input_dim={mlp.input_dim}, n_outputs={mlp.n_outputs} and "
            f"loss={mlp.loss.value!r} instead."
        )
    root = _seed_sequence(seed, owner)
    # spawn from a copy: a SeedSequence passed in is not modified
    train_seed, cluster_seed = np.random.SeedSequence(
        root.entropy, spawn_key=root.spawn_key
    ).spawn(2)

    x_all = np.vstack([xp, xa])
    y_all = np.concatenate(
        [np.ones(xp.shape[0], dtype=np.int64), np.zeros(xa.shape[0], dtype=np.int64)]
    )
    steps = epochs * math.ceil(n_all / batch_size)
    training = train_mlp(
        mlp,
        x_all,
        y_all,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        sampling="epoch",
        record=max(steps, 1),
        observe=["loss"],
        seed=train_seed,
        progress=False,
    )
    state = training.state
    params = MLPParams(
        [state[f"weight_{layer}"] for layer in range(mlp.n_layers)],
        [state[f"bias_{layer}"] for layer in range(mlp.n_layers)] if mlp.bias else [],
    )
    ones = np.ones(xp.shape[0], dtype=np.int64)
    if probe_eta == 0.0:
        probes = kernel_similarities(mlp, params, xp, ones)
    else:
        probes = probe_similarities(mlp, params, xp, ones, eta=probe_eta)
    raw = probes.s_rel if similarity is SimilarityKind.RELATIVE else probes.s_ker
    undefined = ~np.isfinite(raw).all(axis=1)
    if undefined.any():
        raise DataError(
            f"The {similarity.value} similarity of {int(undefined.sum())} primary "
            f"example(s) (first: index {int(np.flatnonzero(undefined)[0])}) is "
            "undefined: their probe step changes nothing (a zero loss gradient, e.g. "
            "a saturated 'bce' output). Train less, or use the 'mse' loss."
        )
    matrix = _symmetrise(raw)
    labels = _cluster_symmetric(
        matrix, n_sub, method, np.random.default_rng(cluster_seed)
    )
    return ElasticityClustering(
        matrix=matrix,
        labels=labels,
        truth=t.copy(),
        accuracy=_accuracy(labels, t),
        similarity=similarity,
        method=method,
        eta=probes.eta,
        params=params,
        training=training,
    )
