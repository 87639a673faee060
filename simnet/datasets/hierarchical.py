"""Synthetic data whose classes share features along a known class hierarchy."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

import numpy as np

from .._validation import check_enum, check_float
from ..errors import ConfigError, HierarchyError
from ..hierarchy import Hierarchy
from ..seeding import SeedLike, spawn_generators
from ._base import PER_SAMPLE, Dataset, check_positive_int, seed_info

__all__ = ["Nonlinearity", "hierarchical_synthetic"]

_OWNER = "hierarchical_synthetic"
_BIAS_SCALE = 0.5


class Nonlinearity(StrEnum):
    """The elementwise function of the fixed random embedding into input space."""

    TANH = "tanh"
    RELU = "relu"
    LINEAR = "linear"


def hierarchical_synthetic(
    hierarchy: Hierarchy,
    n_per_class: int = 100,
    dim: int = 32,
    *,
    latent_dim: int = 16,
    node_scale: float | Sequence[float] = 1.0,
    noise: float = 0.3,
    nonlinearity: str | Nonlinearity = Nonlinearity.TANH,
    seed: SeedLike = None,
) -> Dataset:
    """Samples whose class prototypes are sums of node prototypes along anc(k).

    Every node ``v`` of the hierarchy (root, superclasses and classes) gets a latent
    Gaussian prototype; a class prototype is the sum over its ancestors, so classes
    that share a deeper part of the hierarchy share more of their prototype. Samples
    are noisy copies of their class prototype in a latent space, pushed through one
    fixed random nonlinear layer into ``dim`` input dimensions (MODEL.md section 5).

    Parameters
    ----------
    hierarchy : Hierarchy
        The class hierarchy (tree or DAG); its classes are the labels, in order.
    n_per_class : int
        Samples per class (the dataset is class-major: all of class 0 first).
    dim : int
        Input dimension d of the returned features.
    latent_dim : int
        Dimension L of the latent space of the prototypes. With ``dim >= latent_dim``
        and the tanh or linear embedding the map from latent to input space is
        injective (almost surely), so no latent structure is lost.
    node_scale : float or sequence of float
        Standard deviation ``s_v`` of the node prototypes: one value for all nodes,
        or one per depth (``len == hierarchy.max_depth + 1``, root first).
    noise : float
        Standard deviation sigma of the instance noise in latent space.
    nonlinearity : {"tanh", "relu", "linear"} or Nonlinearity
        The elementwise function ``phi`` of the embedding.
    seed : int, SeedSequence, Generator or None
        Randomness. Prototypes, embedding and noise use three spawned streams, so
        changing ``n_per_class`` or ``noise`` keeps the prototypes and the embedding.

    Returns
    -------
    Dataset
        ``X`` of shape (K * n_per_class, dim), ``class_names = hierarchy.classes``,
        the hierarchy attached. ``metadata`` holds the parameters, the
        ``node_prototypes`` (n_nodes, L) in ``hierarchy.nodes`` order, the
        ``class_prototypes`` (K, L), the embedding ``weight`` (d, L) and ``bias``
        (d,), and the seed entropy; ``metadata["per_sample"]["latent"]`` holds the
        latent points z (n, L).

    Raises
    ------
    ConfigError
        If a parameter is out of range or of the wrong type.

    Notes
    -----
    With ``A`` the ancestor matrix (``A[k, v] = 1`` iff ``v`` is in anc(k))::

        mu_v ~ N(0, s_v^2 I_L)                    (node prototypes)
        m_k  = sum_v A[k, v] mu_v                   (class prototypes)
        z_i  = m_{y_i} + sigma * eps_i,  eps_i ~ N(0, I_L)
        x_i  = phi(W z_i + b),  W_jl ~ N(0, 1 / (L * v_bar)),  b_j ~ N(0, 0.5^2)

    where ``v_bar = mean_k sum_v A[k, v] s_v^2 + sigma^2`` is the mean variance of a
    latent coordinate, so every pre-activation has about unit variance and tanh works
    in its curved but unsaturated range. ``W`` and ``b`` are drawn once per seed.
    The expected squared distance of two class prototypes is
    ``E |m_k - m_k'|^2 = L * sum_{v in anc(k) ^ anc(k')} s_v^2`` (symmetric
    difference: the nodes they do not share); in a balanced tree with equal scales it
    shrinks as their lowest common ancestor gets deeper, so the hierarchy is visible
    in the data (in expectation: with a small ``latent_dim`` one draw of the
    prototypes can invert neighbouring levels; the spread shrinks like
    ``1 / sqrt(latent_dim)``). This is the feature-sharing picture of Su, *Neurashed: A
    Phenomenological Model for Imitating Deep Learning Training* (arXiv 2112.09741),
    behind He & Su's tiger/cat/car example in *The Local Elasticity of Neural
    Networks* (ICLR 2020); the generator itself is simnet's (MODEL.md section 5).

    Examples
    --------
    >>> h = Hierarchy.preset("tiger_cat_car")
    >>> ds = hierarchical_synthetic(h, n_per_class=5, dim=8, seed=0)
    >>> ds.X.shape, ds.class_names
    ((15, 8), ('tiger', 'cat', 'car'))
    """
    if not isinstance(hierarchy, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {_OWNER} must be a simnet Hierarchy. "
            f"Got {type(hierarchy).__name__} instead."
        )
    n_per = check_positive_int(n_per_class, "n_per_class", _OWNER)
    d = check_positive_int(dim, "dim", _OWNER)
    latent = check_positive_int(latent_dim, "latent_dim", _OWNER)
    sigma = check_float(noise, "noise", _OWNER, low=0.0)
    phi = check_enum(Nonlinearity, nonlinearity, "nonlinearity", _OWNER)
    scales = _node_scales(hierarchy, node_scale)

    root, rngs = spawn_generators(seed, ("prototypes", "embedding", "noise"))
    k_classes = hierarchy.n_classes
    ancestors = hierarchy.ancestor_matrix.astype(np.float64)  # (K, V)

    node_protos = rngs["prototypes"].standard_normal((hierarchy.n_nodes, latent))
    node_protos *= scales[:, None]
    class_protos = ancestors @ node_protos  # (K, L)

    v_bar = float(np.mean(ancestors @ scales**2)) + sigma**2
    if v_bar <= 0.0:
        v_bar = 1.0
    weight = rngs["embedding"].standard_normal((d, latent)) / np.sqrt(latent * v_bar)
    bias = _BIAS_SCALE * rngs["embedding"].standard_normal(d)

    y = np.repeat(np.arange(k_classes, dtype=np.int64), n_per)
    z = class_protos[y] + sigma * rngs["noise"].standard_normal((y.size, latent))
    pre = z @ weight.T + bias
    if phi is Nonlinearity.TANH:
        x = np.tanh(pre)
    elif phi is Nonlinearity.RELU:
        x = np.maximum(pre, 0.0)
    else:
        x = pre

    metadata = {
        "generator": _OWNER,
        "params": {
            "n_per_class": n_per,
            "dim": d,
            "latent_dim": latent,
            "node_scale": dict(zip(hierarchy.nodes, scales.tolist(), strict=True)),
            "noise": sigma,
            "nonlinearity": phi.value,
        },
        "node_prototypes": node_protos,
        "class_prototypes": class_protos,
        "weight": weight,
        "bias": bias,
        **seed_info(root),
        PER_SAMPLE: {"latent": z},
    }
    return Dataset(x, y, hierarchy.classes, hierarchy, metadata)


def _node_scales(
    hierarchy: Hierarchy, node_scale: float | Sequence[float]
) -> np.ndarray:
    try:
        scales = hierarchy.node_weights(node_scale, name="node_scale")
    except HierarchyError as exc:
        raise ConfigError(
            f"The 'node_scale' parameter of {_OWNER} must be a float >= 0 or one "
            f"float >= 0 per depth (0..{hierarchy.max_depth}). Got {node_scale!r} "
            f"instead ({exc})."
        ) from None
    if np.any(scales < 0):
        raise ConfigError(
            f"The 'node_scale' parameter of {_OWNER} must be nonnegative. "
            f"Got {node_scale!r} instead."
        )
    return scales
