r"""Fit the simulator to a network run, three ways (``MODEL.md`` section 6).

* :func:`fit_lesde_rates`: the LE-SDE with a two-parameter impact matrix whose
  alpha(t), beta(t) are estimated from the network's class-mean logit trajectories
  (the reference code's approach: I- or L-model inversion, Savitzky-Golay
  derivatives), integrated as the class-mean LE-ODE.
* :func:`fit_lesde_impact`: the LE-SDE with the network's full K x K impact matrix
  E(t) (its class-level tangent kernel, lr-scaled) interpolated between checkpoints,
  integrated as the SGD imitation with the network's sample counts and batch size.
* :func:`fit_hfs`: the hierarchical feature-sharing model with per-depth rates and
  initial amounts fitted by least squares so that the model's own E(t), which evolves
  with its amounts, matches the network's; on a given hierarchy or on one inferred
  from the network's elasticity (dendrogram).

Every fit starts the model from the network's initial class-mean logits and takes its
sample counts, so :func:`simulate_fitted` can be compared with the network step for
step (:mod:`simnet.analysis.comparison`). ``fit_until`` restricts what a fit may see to
the first part of training, for the held-out check.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares, nnls

from .._validation import check_choice, check_enum, check_float, check_int
from ..errors import ConfigError, DataError, DivergenceError
from ..hierarchy import Hierarchy
from ..models import HFSModel, ImpactMatrix, LESDEModel
from ..results import RunResult
from ..runners import make_runner
from ..schedules import Piecewise
from ..seeding import SeedLike, as_seed_sequence, spawn_generators
from ..simulate import simulate
from .dendrogram import elasticity_linkage, hierarchy_from_linkage
from .network_run import NetworkRun

__all__ = [
    "FitMethod",
    "FittedModel",
    "RateScale",
    "fit_hfs",
    "fit_lesde_impact",
    "fit_lesde_rates",
    "fit_simulator",
    "hierarchy_weights",
    "infer_hierarchy",
    "root_impact_scale",
    "simulate_fitted",
]

_STREAMS = ("init", "sampling", "noise", "probes")


class FitMethod(StrEnum):
    """How the simulator is fitted to a network."""

    LESDE_RATES = "lesde-rates"
    LESDE_IMPACT = "lesde-impact"
    HFS = "hfs"
    HFS_INFERRED = "hfs-inferred"


@dataclass(frozen=True, eq=False)
class FittedModel:
    """A simulator model fitted to a network run.

    Attributes
    ----------
    method : FitMethod
    model : LESDEModel or HFSModel
        Ready for :func:`simnet.simulate`; starts at the network's initial class-mean
        logits.
    fit_until : float
        Last network time the fit used.
    parameters : DataFrame
        The fitted parameters, tidy: ``parameter, key, value``.
    residual : float
        Relative RMS residual of the fit on what it matched (nan when the fit is a
        direct transfer).
    hierarchy : Hierarchy or None
        The hierarchy of an HFS fit.
    info : dict
        Method details (optimiser status, evaluations, estimator settings).
    """

    method: FitMethod
    model: Any
    fit_until: float
    parameters: pd.DataFrame
    residual: float = float("nan")
    hierarchy: Hierarchy | None = None
    info: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# shared pieces
# --------------------------------------------------------------------------------------


def _network(network: NetworkRun | RunResult) -> NetworkRun:
    if isinstance(network, NetworkRun):
        return network
    return NetworkRun.from_result(network)


def _fit_until(net: NetworkRun, fit_until: float | None, owner: str) -> float:
    if fit_until is None:
        return float(net.times[-1])
    value = check_float(fit_until, "fit_until", owner, low=0.0, closed="neither")
    if value < net.times[1]:
        raise ConfigError(
            f"The 'fit_until' parameter of {owner} must leave at least two network "
            f"records to fit (the second is at time {net.times[1]:g}). "
            f"Got {fit_until!r} instead."
        )
    return value


def _require_logits(net: NetworkRun, owner: str) -> None:
    if net.means.shape[2] != net.n_classes:
        raise DataError(
            f"{owner} needs class-mean logits with one coordinate per class "
            f"({net.n_classes}); the run has {net.means.shape[2]}."
        )


def _lesde_hierarchy(net: NetworkRun) -> Hierarchy:
    """The network's hierarchy when its class order is the label order, else a
    flat one over the network's class names (so the tables name the same
    classes)."""
    h = net.hierarchy
    if h is not None and tuple(h.classes) == tuple(net.classes):
        return h
    return Hierarchy.from_nested({"root": list(net.classes)})


def _symmetric_basis(k: int) -> tuple[np.ndarray, list[tuple[int, int]]]:
    pairs = [(a, b) for a in range(k) for b in range(a, k)]
    basis = np.zeros((len(pairs), k, k))
    for r, (a, b) in enumerate(pairs):
        basis[r, a, b] = basis[r, b, a] = 1.0
    return basis, pairs


# --------------------------------------------------------------------------------------
# LE-SDE from the estimated alpha(t), beta(t)
# --------------------------------------------------------------------------------------


def fit_lesde_rates(
    network: NetworkRun | RunResult,
    *,
    estimator: str = "L",
    window: int | None = None,
    polyorder: int = 2,
    fit_until: float | None = None,
    surrogate: str = "projected",
    ode_method: str = "euler",
) -> FittedModel:
    r"""LE-ODE with alpha(t), beta(t) estimated from the class-mean logits.

    Parameters
    ----------
    network : NetworkRun or RunResult
        A run with a ``class_means`` table of logits (p = K).
    estimator : {"L", "I"}, default "L"
        The inversion of :func:`~simnet.analysis.estimate_integrated_impacts`.
    window : int, optional
        Savitzky-Golay window in records (odd); default about a fifth of the fitted
        records (the reference code uses 151 iterations with a record at every
        iteration).
    polyorder : int, default 2
    fit_until : float, optional
        Use the network's records up to this time only; beyond it the rates are
        held at their last estimated values.
    surrogate : {"projected", "identity", "etf", "ce"}, default "projected"
        Gradient surrogate of the LE-ODE. The reference code integrates the
        projected (L) model whichever estimator gave the rates.
    ode_method : {"euler", "rk4"}, default "euler"
        The reference code uses forward Euler with dt = 1 iteration.

    Returns
    -------
    FittedModel
        An ``integrator="ode"`` LESDEModel starting at the network's initial
        class-mean logits.

    Notes
    -----
    Zhang, Wang & Su (NeurIPS 2021) estimate :math:`\hat A(t), \hat B(t)` by
    inverting the closed-form I- or L-model solutions on the class-mean logits,
    differentiate them, and integrate
    :math:`d\bar X^k/dt = \frac1K \sum_{k'} E_{kk'}(t) P_{k'} \bar X^{k'}` with
    :math:`E = (\hat\alpha - \hat\beta) I + \hat\beta 1 1^T` (dossier section 1.9).
    """
    from .impacts import estimate_integrated_impacts, impact_rates

    owner = "fit_lesde_rates"
    net = _network(network)
    _require_logits(net, owner)
    until = _fit_until(net, fit_until, owner)
    keep = net.times <= until
    times, means = net.times[keep], net.means[keep]
    if window is None:
        window = max(polyorder + 2, (times.shape[0] // 5) | 1)
    window = check_int(window, "window", owner, low=polyorder + 1)
    estimate = estimate_integrated_impacts(means, times, model=estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = impact_rates(estimate, window=window, polyorder=polyorder)
    alpha = np.asarray(estimate.alpha, dtype=np.float64)
    beta = np.asarray(estimate.beta, dtype=np.float64)
    if not (np.all(np.isfinite(alpha)) and np.all(np.isfinite(beta))):
        raise DataError(
            f"{owner}: the estimated rates are not finite; the class-mean logits "
            "may be degenerate (a class mean with a zero coordinate at the start)."
        )
    est_times = np.asarray(estimate.times, dtype=np.float64)
    impact = ImpactMatrix.two_parameter(
        net.n_classes,
        Piecewise(tuple(est_times), tuple(alpha)),
        Piecewise(tuple(est_times), tuple(beta)),
    )
    model = LESDEModel(
        impact,
        integrator="ode",
        surrogate=surrogate,
        ode_method=ode_method,
        hierarchy=_lesde_hierarchy(net),
        init_means=net.initial_means,
        init_scale=0.0,
    )
    params = pd.DataFrame(
        {
            "parameter": ["alpha"] * len(est_times) + ["beta"] * len(est_times),
            "key": np.concatenate([est_times, est_times]),
            "value": np.concatenate([alpha, beta]),
        }
    )
    return FittedModel(
        FitMethod.LESDE_RATES,
        model,
        until,
        params,
        hierarchy=net.hierarchy,
        info={
            "estimator": str(estimator),
            "window": int(window),
            "polyorder": int(polyorder),
            "surrogate": str(surrogate),
            "A_final": float(np.asarray(estimate.A)[-1]),
            "B_final": float(np.asarray(estimate.B)[-1]),
        },
    )


# --------------------------------------------------------------------------------------
# LE-SDE from the network's full impact matrix
# --------------------------------------------------------------------------------------


def fit_lesde_impact(
    network: NetworkRun | RunResult,
    *,
    fit_until: float | None = None,
    integrator: str = "sgd",
    init_scale: float = 0.0,
    symmetrize: bool = True,
) -> FittedModel:
    r"""LE-SDE driven by the network's own impact matrix E(t).

    Parameters
    ----------
    network : NetworkRun or RunResult
        A run with ``impact`` and ``class_means`` tables (logits, p = K).
    fit_until : float, optional
        Use the impact matrices up to this time; beyond it E is held at the last
        one used.
    integrator : {"sgd", "ode"}, default "sgd"
        ``sgd``: the SGD imitation with the network's sample counts and batch
        size (cross-entropy gradients of every particle); ``ode``: the class-mean
        LE-ODE with the cross-entropy gradient at the class means.
    init_scale : float, default 0
        Spread of the initial particles around the network's class means.
    symmetrize : bool, default True
        Use (E + E^T)/2.

    Returns
    -------
    FittedModel

    Notes
    -----
    To first order an SGD step of size :math:`\eta` on sample i moves the logits of
    sample j by :math:`-\eta\,\Theta(x_j, x_i) g_i`. Replacing the tangent kernel by
    its class-level trace gives the LE-SDE step
    :math:`-E_{c_j c_i}(t) g_i` with :math:`E = \eta\,\mathrm{tr}\,\Theta/K`, which is
    what :func:`~simnet.networks.train_mlp` records. E is interpolated linearly
    between checkpoints (one schedule per class pair).
    """
    owner = "fit_lesde_impact"
    net = _network(network)
    net.require_impact(owner)
    _require_logits(net, owner)
    until = _fit_until(net, fit_until, owner)
    check_float(init_scale, "init_scale", owner, low=0.0)
    if integrator not in ("sgd", "ode"):
        raise ConfigError(
            f"The 'integrator' parameter of {owner} must be 'sgd' or 'ode'. "
            f"Got {integrator!r} instead."
        )
    keep = net.impact_times <= until
    if keep.sum() < 1:
        raise ConfigError(
            f"The 'fit_until' parameter of {owner} leaves no impact checkpoint."
        )
    times = net.impact_times[keep]
    e = net.impact[keep]
    if symmetrize:
        e = 0.5 * (e + np.swapaxes(e, 1, 2))
    k = net.n_classes
    basis, pairs = _symmetric_basis(k)
    if times.shape[0] == 1:
        times = np.array([times[0], times[0] + 1.0])
        e = np.concatenate([e, e])
    schedules = tuple(Piecewise(tuple(times), tuple(e[:, a, b])) for a, b in pairs)
    names = tuple(f"E[{net.classes[a]},{net.classes[b]}]" for a, b in pairs)
    impact = ImpactMatrix(basis, schedules, names)
    common = dict(hierarchy=_lesde_hierarchy(net), init_means=net.initial_means)
    if integrator == "sgd":
        model = LESDEModel(
            impact,
            integrator="sgd",
            n_per_class=net.class_sizes.tolist(),
            batch_size=net.batch_size,
            init_scale=init_scale,
            **common,
        )
    else:
        model = LESDEModel(
            impact, integrator="ode", surrogate="ce", init_scale=0.0, **common
        )
    params = pd.DataFrame(
        {
            "parameter": np.repeat(list(names), times.shape[0]),
            "key": np.tile(times, len(names)),
            "value": np.concatenate([e[:, a, b] for a, b in pairs]),
        }
    )
    return FittedModel(
        FitMethod.LESDE_IMPACT,
        model,
        until,
        params,
        hierarchy=net.hierarchy,
        info={"integrator": integrator, "checkpoints": int(times.shape[0])},
    )


# --------------------------------------------------------------------------------------
# HFS: per-depth rates and initial amounts by least squares on E(t)
# --------------------------------------------------------------------------------------


def infer_hierarchy(
    impact: np.ndarray, classes: tuple[str, ...] | list[str]
) -> Hierarchy:
    """A class hierarchy inferred from an impact matrix: the average-linkage
    dendrogram of :func:`~simnet.analysis.elasticity_linkage` as a binary tree."""
    linkage = elasticity_linkage(np.asarray(impact, dtype=np.float64))
    return hierarchy_from_linkage(linkage, list(classes))


def _aligned_hierarchy(hierarchy: Hierarchy, classes: tuple[str, ...], owner: str):
    if not isinstance(hierarchy, Hierarchy):
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a Hierarchy or 'infer'. "
            f"Got {hierarchy!r} instead."
        )
    if set(hierarchy.classes) != set(classes):
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must have the network's classes "
            f"{list(classes)}. Got {list(hierarchy.classes)} instead."
        )
    return [hierarchy.class_index[c] for c in classes]


def hierarchy_weights(
    impact: np.ndarray, hierarchy: Hierarchy, *, per: str = "depth"
) -> np.ndarray:
    r"""Nonnegative weights w with ``E ~ A diag(w) A^T`` (least squares).

    Parameters
    ----------
    impact : ndarray, shape (K, K) or (T, K, K)
        Impact matrices, rows/columns in the hierarchy's class order.
    hierarchy : Hierarchy
    per : {"depth", "node"}, default "depth"
        One weight per depth of the hierarchy, or one per node.

    Returns
    -------
    ndarray, shape (D,) or (T, D)
        The weights (per depth 0..max_depth, or per node in ``hierarchy.nodes``
        order).

    Notes
    -----
    This is the best a shared-ancestor (ultrametric) impact matrix
    :math:`E_w = A\,\mathrm{diag}(w)A^T` can do at one checkpoint; the HFS model's
    E(t) always has this form, with :math:`w_v = \eta_\Phi(v)\lambda_v^2 +
    \eta_\lambda(v)\lVert\Phi_v\rVert^2/p`.
    """
    e = np.asarray(impact, dtype=np.float64)
    single = e.ndim == 2
    if single:
        e = e[None]
    a = np.asarray(hierarchy.ancestor_matrix, dtype=np.float64)
    if per == "depth":
        group = np.zeros((hierarchy.n_nodes, hierarchy.max_depth + 1))
        group[np.arange(hierarchy.n_nodes), hierarchy.depth] = 1.0
    elif per == "node":
        group = np.eye(hierarchy.n_nodes)
    else:
        raise ConfigError(
            "The 'per' parameter of hierarchy_weights must be 'depth' or 'node'. "
            f"Got {per!r} instead."
        )
    k = e.shape[1]
    iu = np.triu_indices(k)
    design = np.einsum("iv,jv,vd->ijd", a, a, group)[iu]
    out = np.array([nnls(design, m[iu])[0] for m in e])
    return out[0] if single else out


class RateScale(StrEnum):
    """The learning-rate schedule of an HFS fit."""

    NETWORK = "network"
    CONSTANT = "constant"


def root_impact_scale(
    times: np.ndarray, impact: np.ndarray, hierarchy: Hierarchy
) -> np.ndarray:
    """Growth of the network's impact between unrelated classes, s(t) with s(t0) = 1.

    The mean of E(t)[k, k'] over the class pairs whose lowest common ancestor is the
    root (all distinct pairs of a flat hierarchy), divided by its first value.

    Raises
    ------
    DataError
        If that mean is not positive at the first checkpoint.
    """
    lca = hierarchy.lca_depth_matrix()
    k = hierarchy.n_classes
    iu = np.triu_indices(k, 1)
    unrelated = lca[iu] == 0
    sym = 0.5 * (impact + np.swapaxes(impact, 1, 2))
    level = sym[:, iu[0], iu[1]][:, unrelated].mean(axis=1)
    if not level[0] > 0:
        raise DataError(
            "The network's impact between unrelated classes is not positive at the "
            f"first checkpoint ({level[0]:g}); use rate_scale='constant'."
        )
    return level / level[0]


@dataclass
class _HFSObjective:
    """Relative residuals of the HFS model's E(t) against the network's."""

    hierarchy: Hierarchy
    steps: np.ndarray
    target: np.ndarray
    seed: np.random.SeedSequence
    base: dict[str, Any]
    keys: list[Any]
    per_node: bool
    evaluations: int = 0

    def weights(self, values: np.ndarray) -> list[float] | dict[str, float]:
        if self.per_node:
            return dict(zip(self.keys, values.tolist(), strict=True))
        return values.tolist()

    def model(self, theta: np.ndarray) -> HFSModel:
        d = len(self.keys)
        rates = np.exp(theta)
        return HFSModel(
            self.hierarchy,
            eta_phi=self.weights(rates[:d]),
            eta_lam=self.weights(rates[d : 2 * d]),
            lam0=self.weights(rates[2 * d :]),
            **self.base,
        )

    def impacts(self, theta: np.ndarray) -> np.ndarray | None:
        model = self.model(theta)
        _, rngs = spawn_generators(self.seed, _STREAMS)
        runner = make_runner(model, rngs)
        out = np.empty_like(self.target)
        with np.errstate(all="ignore"):
            for c, step in enumerate(self.steps):
                if step > runner.step:
                    try:
                        runner.advance(int(step) - runner.step)
                    except DivergenceError:
                        return None
                e = runner.impact()
                if not np.all(np.isfinite(e)):
                    return None
                out[c] = e
        return out

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        self.evaluations += 1
        e = self.impacts(theta)
        iu = np.triu_indices(self.target.shape[1])
        scale = np.sqrt(np.mean(self.target[:, iu[0], iu[1]] ** 2, axis=1))
        if e is None:
            return np.full(self.target.shape[0] * iu[0].shape[0], 1e3)
        res = (e - self.target)[:, iu[0], iu[1]] / scale[:, None]
        return np.clip(res, -1e3, 1e3).ravel()


def fit_hfs(
    network: NetworkRun | RunResult,
    *,
    hierarchy: Hierarchy | str | None = None,
    fit_until: float | None = None,
    rate_scale: RateScale | str = RateScale.NETWORK,
    per: str = "depth",
    seed: SeedLike = 0,
    gamma: float = 0.1,
    eta_u: float = 0.1,
    phi_scale: float = 1.0,
    n_starts: int = 2,
    max_evaluations: int = 300,
    max_checkpoints: int = 20,
) -> FittedModel:
    r"""HFS model with per-depth rates and initial amounts fitted to E(t).

    Parameters
    ----------
    network : NetworkRun or RunResult
        A run with ``impact`` and ``class_means`` tables (logits, p = K).
    hierarchy : Hierarchy or "infer", optional
        The class hierarchy (default: the one the run was recorded with). With
        ``"infer"`` (or when the run has none) it is the dendrogram of the
        network's impact matrix at ``fit_until`` (:func:`infer_hierarchy`).
    fit_until : float, optional
        Fit on the network's checkpoints up to this time only.
    rate_scale : {"network", "constant"}, default "network"
        ``network``: the model's learning-rate schedule s(t) is the growth of the
        network's impact between unrelated classes (:func:`root_impact_scale`),
        interpolated between the fitted checkpoints and held at its last value
        after ``fit_until``; ``constant``: s = 1.
    per : {"depth", "node"}, default "depth"
        One rate, feature rate and initial amount per depth of the hierarchy, or
        per node (three parameters a node: more freedom, more simulations).
    seed : int, SeedSequence, Generator or None, default 0
        Seed of the simulations inside the fit (common random numbers: every
        evaluation replays the same sample sequence) and of the random starts.
    gamma, eta_u, phi_scale : float
        Fixed HFS parameters (instance-feature weight and rate, initial feature
        scale).
    n_starts : int, default 2
        Starts of the optimiser: the least-squares start below, then random
        log-normal perturbations of it; the best fit is kept.
    max_evaluations : int, default 300
        Budget of model simulations per start.
    max_checkpoints : int, default 20
        At most this many network checkpoints (evenly spread) enter the residual.

    Returns
    -------
    FittedModel
        An identity-head HFSModel with the network's sample counts, batch size and
        initial class-mean logits; ``parameters`` holds the per-depth
        ``eta_phi``, ``eta_lam``, ``lam0`` and the ``rate_scale`` knots.

    Notes
    -----
    The fitted parameters are, per depth d of the hierarchy, the logarithms of
    :math:`\eta_\Phi(d)`, :math:`\eta_\lambda(d)` and :math:`\lambda_0(d)`. The
    residual is :math:`(E_\mathrm{HFS}(t_c) - E_\mathrm{net}(t_c)) /
    \mathrm{rms}\,E_\mathrm{net}(t_c)` over the upper triangle (diagonal included)
    at the fitted checkpoints, where
    :math:`E_\mathrm{HFS}(t) = s(t)\,A\,\mathrm{diag}(\eta_\Phi\lambda(t)^2 +
    \eta_\lambda\lVert\Phi(t)\rVert^2/p)A^T` is computed on a simulation of the model
    itself (its amounts and features evolve), minimised by trust-region least
    squares (``scipy.optimize.least_squares``). The first start puts each depth's
    nonnegative least-squares weight of the first checkpoint
    (:func:`hierarchy_weights`) into :math:`\eta_\Phi` with
    :math:`\lambda_0 = 1` and a small :math:`\eta_\lambda`, i.e.
    :math:`E_\mathrm{HFS}(t) \approx s(t) E_w(0)`.

    The HFS gradient at the root is the batch-mean loss gradient, which averages
    out over balanced classes, so amounts cannot grow the impact between unrelated
    classes the way a network's tangent kernel grows during training; the
    ``network`` schedule supplies that common growth and leaves the hierarchy's
    shape to the fitted rates.
    """
    owner = "fit_hfs"
    net = _network(network)
    net.require_impact(owner)
    _require_logits(net, owner)
    until = _fit_until(net, fit_until, owner)
    rate_scale = check_enum(RateScale, rate_scale, "rate_scale", owner)
    n_starts = check_int(n_starts, "n_starts", owner, low=1)
    per = check_choice(per, "per", owner, ("depth", "node"))
    max_evaluations = check_int(max_evaluations, "max_evaluations", owner, low=1)
    max_checkpoints = check_int(max_checkpoints, "max_checkpoints", owner, low=2)
    keep = np.flatnonzero(net.impact_times <= until)
    if keep.shape[0] < 2:
        raise ConfigError(
            f"The 'fit_until' parameter of {owner} leaves fewer than two impact "
            "checkpoints."
        )
    method = FitMethod.HFS
    if hierarchy is None:
        hierarchy = net.hierarchy if net.hierarchy is not None else "infer"
    if isinstance(hierarchy, str):
        if hierarchy != "infer":
            raise ConfigError(
                f"The 'hierarchy' parameter of {owner} must be a Hierarchy or "
                f"'infer'. Got {hierarchy!r} instead."
            )
        hierarchy = infer_hierarchy(net.impact[keep[-1]], net.classes)
        method = FitMethod.HFS_INFERRED
    order = _aligned_hierarchy(hierarchy, net.classes, owner)
    perm = np.argsort(order)  # network index of each hierarchy class, in order
    seen = net.impact[keep][:, perm][:, :, perm]
    seen = 0.5 * (seen + np.swapaxes(seen, 1, 2))
    times = net.impact_times[keep]
    if rate_scale is RateScale.NETWORK:
        scale = root_impact_scale(times, seen, hierarchy)
        schedule = Piecewise(tuple(times), tuple(scale))
    else:
        scale = np.ones(times.shape[0])
        schedule = Piecewise((float(times[0]),), (1.0,))
    chosen = np.arange(keep.shape[0])
    if chosen.shape[0] > max_checkpoints:
        chosen = np.unique(
            np.linspace(0, chosen.shape[0] - 1, max_checkpoints).round().astype(int)
        )
    sizes = net.class_sizes[perm]
    base = dict(
        n_per_class=sizes.tolist(),
        gamma=gamma,
        eta_u=eta_u,
        phi_scale=phi_scale,
        batch_size=net.batch_size,
        init_means=net.initial_means[perm],
        rate_scale=schedule,
    )
    per_node = per == "node"
    keys = list(hierarchy.nodes) if per_node else list(range(hierarchy.max_depth + 1))
    objective = _HFSObjective(
        hierarchy,
        net.impact_steps[keep][chosen],
        seen[chosen],
        as_seed_sequence(seed),
        base,
        keys,
        per_node,
    )
    w0 = hierarchy_weights(seen[0], hierarchy, per=per)
    w0 = np.maximum(w0, 1e-3 * max(float(w0.max()), 1e-12))
    theta0 = np.concatenate([np.log(w0), np.log(1e-3 * w0), np.zeros(len(keys))])
    start_rng = np.random.default_rng(as_seed_sequence(seed).spawn(1)[0])
    best = None
    for start in range(n_starts):
        x0 = theta0 if start == 0 else theta0 + start_rng.normal(0.0, 1.0, theta0.size)
        fit = least_squares(
            objective, x0, method="trf", diff_step=3e-2, max_nfev=max_evaluations
        )
        if best is None or fit.cost < best.cost:
            best = fit
    model = objective.model(best.x)
    d = len(keys)
    params = pd.DataFrame(
        {
            "parameter": ["eta_phi"] * d
            + ["eta_lam"] * d
            + ["lam0"] * d
            + ["rate_scale"] * times.shape[0],
            "key": [*keys, *keys, *keys, *times.tolist()],
            "value": np.concatenate([np.exp(best.x), scale]),
        }
    )
    return FittedModel(
        method,
        model,
        until,
        params,
        residual=float(np.sqrt(np.mean(best.fun**2))),
        hierarchy=hierarchy,
        info={
            "evaluations": objective.evaluations,
            "status": int(best.status),
            "message": str(best.message),
            "checkpoints": int(chosen.shape[0]),
            "rate_scale": rate_scale.value,
            "per": per,
            "parameters": 3 * d,
            "class_order": list(hierarchy.classes),
        },
    )


# --------------------------------------------------------------------------------------
# simulate the fits
# --------------------------------------------------------------------------------------


def fit_simulator(
    network: NetworkRun | RunResult,
    method: FitMethod | str,
    *,
    fit_until: float | None = None,
    hierarchy: Hierarchy | str | None = None,
    seed: SeedLike = 0,
    **options: Any,
) -> FittedModel:
    """Fit the simulator to ``network`` by ``method`` (see :class:`FitMethod`)."""
    method = check_enum(FitMethod, method, "method", "fit_simulator")
    if method is FitMethod.LESDE_RATES:
        return fit_lesde_rates(network, fit_until=fit_until, **options)
    if method is FitMethod.LESDE_IMPACT:
        return fit_lesde_impact(network, fit_until=fit_until, **options)
    if method is FitMethod.HFS_INFERRED:
        hierarchy = "infer"
    return fit_hfs(
        network, hierarchy=hierarchy, fit_until=fit_until, seed=seed, **options
    )


def simulate_fitted(
    fitted: FittedModel,
    network: NetworkRun | RunResult,
    *,
    replicas: int = 1,
    seed: SeedLike = None,
    observe: list[str] | None = None,
) -> list[RunResult]:
    """Simulate a fitted model at the network's record steps, ``replicas`` times.

    Class names and order follow the network, so the results compare with it
    directly (:func:`~simnet.analysis.compare_runs`). Replica r uses the r-th
    child of ``seed``.
    """
    net = _network(network)
    replicas = check_int(replicas, "replicas", "simulate_fitted", low=1)
    record = {"at": sorted(set(net.steps.tolist()) | set(net.impact_steps.tolist()))}
    if observe is None:
        observe = ["loss", "class_means", "impact"]
    children = as_seed_sequence(seed).spawn(replicas)
    runs = []
    for child in children:
        run = simulate(
            fitted.model,
            steps=net.last_step,
            record=record,
            observe=observe,
            seed=child,
            progress=False,
        )
        runs.append(run)
    return runs
