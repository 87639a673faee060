"""The impact-matrix particle model of LE-SDE (``MODEL.md`` section 3).

Particles ``X_i`` in R^p (usually the logits, p = K) move under a K x K impact matrix
E(t): an SGD step on sample i moves every particle j by ``-E[c_j, c_i] g_i``. Three
integrators share the model: the discrete SGD imitation, Euler-Maruyama for the
per-sample SDE, and the class-mean LE-ODE with a choice of gradient surrogate.

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

import numpy as np

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ._common import (
    Sampling,
    labels_from_sizes,
    materialise_head,
    plain,
    resolve_class_sizes,
    resolve_head,
    resolve_init_means,
)
from .impact import ImpactMatrix
from .impact_groups import ImpactGroups

__all__ = [
    "Integrator",
    "LESDEModel",
    "LESDEState",
    "NoiseKind",
    "OdeMethod",
    "Surrogate",
]

_OWNER = "LESDEModel"


class Integrator(StrEnum):
    """How to integrate the dynamics.

    ``sgd``: discrete SGD imitation; ``sde``: Euler-Maruyama; ``ode``: class-mean ODE.
    """

    SGD = "sgd"
    SDE = "sde"
    ODE = "ode"


class Surrogate(StrEnum):
    """Class-averaged negative loss gradient G_k used by the LE-ODE.

    ``ce``: the cross-entropy gradient; ``identity``: G_k = m_k (the reference code's
    I model); ``projected``: G_k = P_k m_k with P_k the projection on d_k = e_k - 1/K
    (the L model); ``etf``: G_k = d_k (constant gradient near the uniform softmax).
    """

    CE = "ce"
    IDENTITY = "identity"
    PROJECTED = "projected"
    ETF = "etf"


class NoiseKind(StrEnum):
    """SDE noise: ``constant`` sigma, or ``gradient``: sigma * ||g_i|| (SGD-like)."""

    CONSTANT = "constant"
    GRADIENT = "gradient"


class OdeMethod(StrEnum):
    EULER = "euler"
    RK4 = "rk4"


@dataclass
class LESDEState:
    """Mutable LE-SDE state.

    For ``sgd`` the particles are ``base + class_offsets()[labels]`` (lazy class
    offsets): class k's offset is ``offsets[k]`` plus the ``group_offsets`` of its
    groups in ``groups`` (see :mod:`simnet.models.impact_groups`); for ``sde``
    ``base`` holds the particles and the offsets are zero; for ``ode`` ``base`` holds
    the K class means and ``labels`` is ``arange(K)``.
    """

    base: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    head: np.ndarray
    last_touch: np.ndarray
    groups: ImpactGroups | None = None
    group_offsets: np.ndarray | None = None

    def class_offsets(self) -> np.ndarray:
        """The (K, p) offset of each class: ``offsets`` plus its groups' offsets."""
        if self.groups is None or self.groups.n_groups == 0:
            return self.offsets
        ptr, idx = self.groups.ptr, self.groups.idx
        rows = np.repeat(np.arange(ptr.shape[0] - 1), np.diff(ptr))
        out = self.offsets.copy()
        np.add.at(out, rows, self.group_offsets[idx])
        return out

    def features(self) -> np.ndarray:
        return self.base + self.class_offsets()[self.labels]

    def logits(self, features: np.ndarray | None = None) -> np.ndarray:
        x = self.features() if features is None else features
        return x if self.head.shape[0] == 0 else x @ self.head.T


@dataclass(frozen=True, eq=False)
class LESDEModel:
    """Impact-matrix (LE-SDE) particle model.

    Parameters
    ----------
    impact : ImpactMatrix
        E(t). Build with :meth:`ImpactMatrix.two_parameter`, ``.constant``,
        ``.from_hierarchy`` or ``.per_depth``.
    integrator : {"sgd", "sde", "ode"}, default "sgd"
    n_per_class : int or list of int, default 100
        Particles per class (ignored by the ODE, which evolves class means).
    p : int, optional
        Feature dimension (K with the identity head).
    head : {"identity", "random"} or array (K, p), default "identity"
    hierarchy : Hierarchy, optional
        Names the classes and gives LCA depths to the observables. Default: a flat
        hierarchy with classes ``c0 .. c{K-1}``.
    dt : float, default 1.0
        Time step of ``sde`` and ``ode``. The SGD imitation's time is the iteration
        count (its learning rate is absorbed into E); there ``dt`` must stay 1.
    sigma : float, default 0.0
        Noise scale: per step and particle for ``sgd`` (N(0, sigma^2 I)), diffusion
        coefficient for ``sde``. The ODE has no noise.
    noise : {"constant", "gradient"}, default "constant"
        SDE noise form.
    surrogate : {"ce", "identity", "projected", "etf"}, default "ce"
        Gradient surrogate (``ode`` only).
    ode_method : {"euler", "rk4"}, default "euler"
        The reference code integrates by forward Euler with dt = 1.
    init_scale : float, default 0.5
        Initial particles (or class means for the ODE) are N(0, init_scale^2 I)
        around their class's entry of ``init_means``.
    init_means : array (K, p), optional
        Initial class means of the features (default 0), e.g. a network's initial
        class-mean logits when the model is fitted to it.
    batch_size : int, default 1
        Minibatch size of ``sgd``.
    sampling : {"uniform", "epoch"}, default "uniform"

    Notes
    -----
    Per-sample LE-SDE (Zhang, Wang & Su 2021, section 1.3 of the dossier)::

        dX_i = -(1/n) sum_j E(t)[c_i, c_j] grad l(X_j, c_j) dt + sigma dW_i

    Class-mean LE-ODE: ``dm_k/dt = (1/K) sum_k' E(t)[k, k'] G_k'(m_k')``.
    """

    impact: ImpactMatrix
    integrator: Integrator | str = Integrator.SGD
    n_per_class: int | Sequence[int] = 100
    p: int | None = None
    head: str | np.ndarray = "identity"
    hierarchy: Hierarchy | None = None
    dt: float = 1.0
    sigma: float = 0.0
    noise: NoiseKind | str = NoiseKind.CONSTANT
    surrogate: Surrogate | str = Surrogate.CE
    ode_method: OdeMethod | str = OdeMethod.EULER
    init_scale: float = 0.5
    init_means: np.ndarray | None = None
    batch_size: int = 1
    sampling: Sampling | str = Sampling.UNIFORM

    def __post_init__(self) -> None:
        if not isinstance(self.impact, ImpactMatrix):
            raise ConfigError(
                f"The 'impact' parameter of {_OWNER} must be an ImpactMatrix. "
                f"Got {type(self.impact).__name__} instead."
            )
        k = self.impact.n_classes
        hierarchy = self.hierarchy
        if hierarchy is None:
            hierarchy = Hierarchy.from_nested({"root": [f"c{j}" for j in range(k)]})
        elif not isinstance(hierarchy, Hierarchy) or hierarchy.n_classes != k:
            raise ConfigError(
                f"The 'hierarchy' parameter of {_OWNER} must be a Hierarchy with {k} "
                f"classes (the size of the impact matrix). Got {hierarchy!r} instead."
            )
        integrator = check_enum(Integrator, self.integrator, "integrator", _OWNER)
        surrogate = check_enum(Surrogate, self.surrogate, "surrogate", _OWNER)
        noise = check_enum(NoiseKind, self.noise, "noise", _OWNER)
        ode_method = check_enum(OdeMethod, self.ode_method, "ode_method", _OWNER)
        sampling = check_enum(Sampling, self.sampling, "sampling", _OWNER)
        sizes = resolve_class_sizes(self.n_per_class, k, _OWNER)
        head, p = resolve_head(self.head, self.p, k, _OWNER)
        check_float(self.dt, "dt", _OWNER, low=0.0, closed="right")
        if integrator is Integrator.SGD and self.dt != 1.0:
            raise ConfigError(
                f"The 'dt' parameter of {_OWNER} must be 1.0 with integrator='sgd' "
                "(time is the iteration count; scale E instead). "
                f"Got {self.dt!r} instead."
            )
        check_float(self.sigma, "sigma", _OWNER, low=0.0)
        if integrator is Integrator.ODE and self.sigma != 0.0:
            raise ConfigError(
                f"The 'sigma' parameter of {_OWNER} must be 0 with integrator='ode' "
                f"(the LE-ODE has no noise). Got {self.sigma!r} instead."
            )
        if integrator is not Integrator.ODE and surrogate is not Surrogate.CE:
            raise ConfigError(
                f"The 'surrogate' parameter of {_OWNER} must be 'ce' unless "
                f"integrator='ode'. Got {surrogate.value!r} instead."
            )
        if surrogate in (Surrogate.PROJECTED, Surrogate.ETF) and not (
            isinstance(head, str) and head == "identity"
        ):
            raise ConfigError(
                f"The 'surrogate' parameter of {_OWNER} can be {surrogate.value!r} "
                "only with the identity head (it uses the directions "
                "d_k = e_k - 1/K in R^K)."
            )
        check_float(self.init_scale, "init_scale", _OWNER, low=0.0)
        init_means = resolve_init_means(self.init_means, k, p, _OWNER)
        check_int(self.batch_size, "batch_size", _OWNER, low=1, high=int(sizes.sum()))
        for name, value in (
            ("_hierarchy", hierarchy),
            ("_integrator", integrator),
            ("_surrogate", surrogate),
            ("_noise", noise),
            ("_ode_method", ode_method),
            ("_sampling", sampling),
            ("_sizes", sizes),
            ("_head_spec", head),
            ("_p", p),
            ("_init_means", init_means),
        ):
            object.__setattr__(self, name, value)

    @property
    def n_classes(self) -> int:
        return self.impact.n_classes

    @property
    def n_samples(self) -> int:
        return (
            self.n_classes
            if self._integrator is Integrator.ODE
            else int(self._sizes.sum())
        )

    @property
    def dim(self) -> int:
        return self._p

    @property
    def classes_hierarchy(self) -> Hierarchy:
        """The hierarchy naming the classes (flat if none was given)."""
        return self._hierarchy

    @property
    def integrator_kind(self) -> Integrator:
        return self._integrator

    @property
    def surrogate_kind(self) -> Surrogate:
        return self._surrogate

    @property
    def noise_kind(self) -> NoiseKind:
        return self._noise

    @property
    def ode_method_kind(self) -> OdeMethod:
        return self._ode_method

    @property
    def sampling_mode(self) -> Sampling:
        return self._sampling

    def labels(self) -> np.ndarray:
        if self._integrator is Integrator.ODE:
            return np.arange(self.n_classes, dtype=np.int64)
        return labels_from_sizes(self._sizes)

    def time_of(self, step: int | np.ndarray) -> Any:
        """Model time at a step count (``step * dt``)."""
        return np.asarray(step) * self.dt

    def initial_state(self, rng: np.random.Generator) -> LESDEState:
        head = materialise_head(self._head_spec, self._p, self.n_classes, rng)
        labels = self.labels()
        base = rng.standard_normal((labels.shape[0], self._p)) * self.init_scale
        if self._init_means is not None:
            base += self._init_means[labels]
        groups = self.impact.groups if self.integrator_kind is Integrator.SGD else None
        return LESDEState(
            base=base,
            offsets=np.zeros((self.n_classes, self._p)),
            labels=labels,
            head=head,
            last_touch=np.zeros(labels.shape[0], dtype=np.int64),
            groups=groups,
            group_offsets=np.zeros((0 if groups is None else groups.n_groups, self._p)),
        )

    def impact_matrix(self, t: float) -> np.ndarray:
        return self.impact.at(t)

    def to_config(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": "lesde",
            "impact": self.impact.to_config(),
            "hierarchy": self._hierarchy.to_node_link(),
        }
        for f in fields(self):
            if f.name not in ("impact", "hierarchy"):
                out[f.name] = plain(getattr(self, f.name))
        out["p"] = self._p
        return out
