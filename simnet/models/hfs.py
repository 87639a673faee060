"""The hierarchical feature-sharing (HFS) model (``MODEL.md`` section 2).

Every node v of a class hierarchy carries an amount ``lam_v`` and a feature vector
``phi_v``; every training sample i (class c_i) an instance feature ``u_i``. The feature
(particle) of sample i is ``X_i = sum_{v in anc(c_i)} lam_v phi_v + gamma u_i`` and its
logits are ``W X_i``. SGD on the cross-entropy moves every particle that shares the
updated nodes: this is the feature-sharing explanation of local elasticity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError, HierarchyError
from ..hierarchy import Hierarchy, NodeWeights
from ..schedules import Schedule, as_schedule
from ._common import (
    Sampling,
    labels_from_sizes,
    materialise_head,
    plain,
    resolve_class_sizes,
    resolve_head,
    resolve_init_means,
)

__all__ = ["HFSModel", "HFSState"]

_OWNER = "HFSModel"


@dataclass
class HFSState:
    """The mutable state of an HFS simulation.

    Attributes
    ----------
    lam : ndarray, shape (V,)
        Node amounts, indexed like ``hierarchy.nodes``.
    phi : ndarray, shape (V, p)
        Node feature vectors.
    u : ndarray, shape (n, p)
        Instance features.
    labels : ndarray of int64, shape (n,)
        Class index of each sample.
    head : ndarray, shape (K, p), or (0, p) for the identity head.
    """

    lam: np.ndarray
    phi: np.ndarray
    u: np.ndarray
    labels: np.ndarray
    head: np.ndarray
    ancestor_matrix: np.ndarray = field(repr=False)
    gamma: float = 0.0

    def class_features(self) -> np.ndarray:
        """``C[k] = sum_{v in anc(k)} lam_v phi_v``, shape (K, p)."""
        return self.ancestor_matrix.astype(np.float64) @ (self.lam[:, None] * self.phi)

    def features(self) -> np.ndarray:
        """All particles ``X`` (n, p)."""
        return self.class_features()[self.labels] + self.gamma * self.u

    def logits(self, features: np.ndarray | None = None) -> np.ndarray:
        """Logits ``W X`` (n, K)."""
        x = self.features() if features is None else features
        return x if self.head.shape[0] == 0 else x @ self.head.T

    def copy(self) -> HFSState:
        return HFSState(
            self.lam.copy(),
            self.phi.copy(),
            self.u.copy(),
            self.labels,
            self.head,
            self.ancestor_matrix,
            self.gamma,
        )


@dataclass(frozen=True, eq=False)
class HFSModel:
    """Hierarchical feature-sharing particle model.

    Parameters
    ----------
    hierarchy : Hierarchy
        The class hierarchy; its sinks are the K classes.
    n_per_class : int or list of int, default 100
        Training samples per class.
    p : int, optional
        Feature dimension. With the identity head it must be K (the default).
    head : {"identity", "random"} or array (K, p), default "identity"
        Fixed readout: identity (features are logits), a fixed Gaussian K x p matrix
        with entries N(0, 1/p) drawn from the seed, or a given matrix.
    eta_phi, eta_lam, decay : node weights
        Per-node learning rates of the features and amounts, and the decay
        (compression) applied to touched nodes. Each is a scalar, a list indexed by
        depth (length ``max_depth + 1``), a mapping node -> value, or a callable
        ``f(node, depth)``.
    lam0 : node weights, default 1.0
        Initial amounts.
    phi_scale : float, default 1.0
        Initial node features are N(0, phi_scale^2 / p) per coordinate.
    gamma : float, default 0.1
        Weight of the instance features; instance features start N(0, 1/p).
    eta_u : float, default 0.1
        Learning rate of the instance features.
    init_means : array (K, p), optional
        Initial class means of the particles, e.g. a network's initial class-mean
        logits when the model is fitted to it. They are realised through each
        class node's own feature: ``phi_k`` is shifted by
        ``(init_means[k] - current class mean) / lam_k`` after the random draw, so
        the class nodes' amounts must be nonzero.
    sigma : float, default 0.0
        Langevin noise: N(0, sigma^2) added to every parameter a step updates.
    rate_scale : float or Schedule, default 1.0
        A learning-rate schedule s(t): every rate (``eta_phi``, ``eta_lam``,
        ``eta_u``) of step t is multiplied by s(t) (time is the step count), and so
        is the tangent kernel. Constant rates by default.
    batch_size : int, default 1
    sampling : {"uniform", "epoch"}, default "uniform"

    Notes
    -----
    One step on a minibatch B updates, for each node v in the union of the sampled
    ancestor sets (``MODEL.md`` section 2), with
    ``m_v = (1/|B|) sum_{i in B, v in anc(c_i)} g_i`` the gradient of the batch-mean
    loss with respect to ``lam_v phi_v``::

        phi_v <- (1 - decay_v) phi_v - eta_phi(v) lam_v m_v
        lam_v <- (1 - decay_v) lam_v - eta_lam(v) <phi_v, m_v>
        u_i   <- u_i - eta_u gamma g_i / |B|

    For |B| = 1 this is exactly the update of ``MODEL.md``. To first order a step on
    sample i moves particle j by ``-K_ij g_i`` with the tangent kernel
    ``K_ij = sum_{v in anc(c_i) & anc(c_j)}
    (eta_phi(v) lam_v^2 I + eta_lam(v) phi_v phi_v^T) + [i = j] eta_u gamma^2 I``
    (see :meth:`tangent_kernel`). Decay and noise only act on the nodes a step
    touches, so a step costs O(depth p + K p), independent of n.
    """

    hierarchy: Hierarchy
    n_per_class: int | Sequence[int] = 100
    p: int | None = None
    head: str | np.ndarray = "identity"
    eta_phi: NodeWeights = 0.05
    eta_lam: NodeWeights = 0.05
    decay: NodeWeights = 0.0
    lam0: NodeWeights = 1.0
    phi_scale: float = 1.0
    gamma: float = 0.1
    eta_u: float = 0.1
    init_means: np.ndarray | None = None
    sigma: float = 0.0
    rate_scale: float | Schedule = 1.0
    batch_size: int = 1
    sampling: Sampling | str = Sampling.UNIFORM

    def __post_init__(self) -> None:
        if not isinstance(self.hierarchy, Hierarchy):
            raise ConfigError(
                f"The 'hierarchy' parameter of {_OWNER} must be a Hierarchy. "
                f"Got {type(self.hierarchy).__name__} instead."
            )
        k = self.hierarchy.n_classes
        sizes = resolve_class_sizes(self.n_per_class, k, _OWNER)
        head, p = resolve_head(self.head, self.p, k, _OWNER)
        rates = {}
        for name in ("eta_phi", "eta_lam", "decay", "lam0"):
            try:
                values = self.hierarchy.node_weights(getattr(self, name), name)
            except HierarchyError as exc:
                raise ConfigError(
                    f"The '{name}' parameter of {_OWNER}: {exc}"
                ) from None
            if name != "lam0" and np.any(values < 0):
                bad = self.hierarchy.nodes[int(np.argmin(values))]
                raise ConfigError(
                    f"The '{name}' parameter of {_OWNER} must be nonnegative. Got "
                    f"{values.min():g} at node {bad!r}."
                )
            rates[name] = values
        if np.any(rates["decay"] > 1):
            bad = self.hierarchy.nodes[int(np.argmax(rates["decay"]))]
            raise ConfigError(
                f"The 'decay' parameter of {_OWNER} must be in [0, 1]. Got "
                f"{rates['decay'].max():g} at node {bad!r}."
            )
        check_float(self.phi_scale, "phi_scale", _OWNER, low=0.0)
        check_float(self.gamma, "gamma", _OWNER, low=0.0)
        check_float(self.eta_u, "eta_u", _OWNER, low=0.0)
        check_float(self.sigma, "sigma", _OWNER, low=0.0)
        object.__setattr__(
            self, "rate_scale", as_schedule(self.rate_scale, "rate_scale")
        )
        init_means = resolve_init_means(self.init_means, k, p, _OWNER)
        class_nodes = np.array(
            [self.hierarchy.node_index[c] for c in self.hierarchy.classes],
            dtype=np.int64,
        )
        if init_means is not None and np.any(rates["lam0"][class_nodes] == 0):
            bad = self.hierarchy.classes[
                int(np.flatnonzero(rates["lam0"][class_nodes] == 0)[0])
            ]
            raise ConfigError(
                f"The 'lam0' parameter of {_OWNER} must be nonzero at every class "
                f"node when 'init_means' is given (it is realised through the class "
                f"node's feature). Got 0 at node {bad!r}."
            )
        n = int(sizes.sum())
        check_int(self.batch_size, "batch_size", _OWNER, low=1, high=n)
        sampling = check_enum(Sampling, self.sampling, "sampling", _OWNER)
        object.__setattr__(self, "_sizes", sizes)
        object.__setattr__(self, "_head_spec", head)
        object.__setattr__(self, "_p", p)
        object.__setattr__(self, "_rates", rates)
        object.__setattr__(self, "_sampling", sampling)
        object.__setattr__(self, "_init_means", init_means)
        object.__setattr__(self, "_class_nodes", class_nodes)

    # ------------------------------------------------------------------ derived
    @property
    def n_classes(self) -> int:
        return self.hierarchy.n_classes

    @property
    def n_samples(self) -> int:
        return int(self._sizes.sum())

    @property
    def dim(self) -> int:
        """The feature dimension p."""
        return self._p

    @property
    def class_sizes(self) -> np.ndarray:
        return self._sizes.copy()

    @property
    def sampling_mode(self) -> Sampling:
        return self._sampling

    def node_rates(self) -> dict[str, np.ndarray]:
        """Per-node arrays ``eta_phi``, ``eta_lam``, ``decay``, ``lam0`` (copies)."""
        return {k: v.copy() for k, v in self._rates.items()}

    def labels(self) -> np.ndarray:
        return labels_from_sizes(self._sizes)

    def initial_state(self, rng: np.random.Generator) -> HFSState:
        """Draw the initial state: head (if random), node and instance features."""
        p, k = self._p, self.n_classes
        head = materialise_head(self._head_spec, p, k, rng)
        phi = rng.standard_normal((self.hierarchy.n_nodes, p)) * (
            self.phi_scale / np.sqrt(p)
        )
        u = rng.standard_normal((self.n_samples, p)) / np.sqrt(p)
        lam = self._rates["lam0"].copy()
        if self._init_means is not None:
            a = np.array(self.hierarchy.ancestor_matrix, dtype=np.float64)
            labels = self.labels()
            u_means = np.zeros((k, p))
            np.add.at(u_means, labels, u)
            u_means /= self._sizes[:, None]
            current = a @ (lam[:, None] * phi) + self.gamma * u_means
            nodes = self._class_nodes
            phi[nodes] += (self._init_means - current) / lam[nodes, None]
        return HFSState(
            lam=lam,
            phi=phi,
            u=u,
            labels=self.labels(),
            head=head,
            ancestor_matrix=np.array(self.hierarchy.ancestor_matrix),
            gamma=float(self.gamma),
        )

    # ------------------------------------------------------------------ theory
    def tangent_kernel(
        self, state: HFSState, i: int, j: int, time: float = 0.0
    ) -> np.ndarray:
        """The p x p tangent kernel K_ij of ``MODEL.md`` section 2, at step ``time``.

        Exact, to first order. With a ``rate_scale`` schedule it is multiplied by
        s(time).
        """
        a = self.hierarchy.ancestor_matrix
        shared = np.flatnonzero(a[state.labels[i]] & a[state.labels[j]])
        p = self._p
        kern = np.zeros((p, p))
        for v in shared:
            kern += self._rates["eta_phi"][v] * state.lam[v] ** 2 * np.eye(p)
            kern += self._rates["eta_lam"][v] * np.outer(state.phi[v], state.phi[v])
        if i == j:
            kern += self.eta_u * self.gamma**2 * np.eye(p)
        return kern * float(self.rate_scale(float(time)))

    def impact_matrix(self, state: HFSState, time: float = 0.0) -> np.ndarray:
        """Class-level impact E(t)[k, k'] = tr(K_ij)/p for i in k, j in k', i != j.

        ``E = s(t) A diag(eta_phi lam^2 + eta_lam |phi|^2 / p) A^T`` with A the
        ancestor matrix and s the ``rate_scale`` schedule at step ``time``.
        """
        w = (
            self._rates["eta_phi"] * state.lam**2
            + self._rates["eta_lam"] * np.sum(state.phi**2, axis=1) / self._p
        )
        a = self.hierarchy.ancestor_matrix.astype(np.float64)
        return (a * (w * float(self.rate_scale(float(time))))) @ a.T

    def to_config(self) -> dict[str, Any]:
        """JSON-friendly description of every parameter (the hierarchy as node-link)."""
        out: dict[str, Any] = {
            "model": "hfs",
            "hierarchy": self.hierarchy.to_node_link(),
        }
        for f in fields(self):
            if f.name != "hierarchy":
                out[f.name] = plain(getattr(self, f.name))
        out["p"] = self._p
        return out
