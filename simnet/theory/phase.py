"""Phase diagrams of the LE-SDE: separability and neural collapse over impact rates.

The predicted phase boundary is alpha = beta (dossier 2.1; ``MODEL.md`` section 6):
locally elastic dynamics (alpha > beta) separate the classes and drive the training
loss to zero; alpha < beta pushes every class away from its own label direction.
:func:`phase_diagram` measures this on the particle model with simulate, serially,
with a small cost per cell; :func:`phase_summary` turns the runs into P(separable)
per cell and a transition width.

Reference: J. Zhang, H. Wang and W. J. Su, "Imitating Deep Learning Dynamics via
Locally Elastic Stochastic Differential Equations", NeurIPS 2021.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numba
import numpy as np
import pandas as pd
from scipy import optimize

from .._validation import check_enum, check_float, check_int
from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ..models.impact import ImpactMatrix
from ..models.lesde import Integrator, LESDEModel, NoiseKind
from ..observables import accuracy, is_linearly_separable, neural_collapse
from ..simulate import simulate

__all__ = [
    "PhaseSummary",
    "SeparabilityCriterion",
    "hierarchy_phase_diagram",
    "hierarchy_rates",
    "phase_diagram",
    "phase_summary",
]

_WIDTH_FACTOR = 2.0 * np.log(9.0)  # logistic 0.1 -> 0.9 in units of its scale


class SeparabilityCriterion(StrEnum):
    """What ``separable`` means in a phase diagram.

    ``argmax``: the logits themselves classify every training particle correctly
    (training accuracy 1, i.e. vanishing training loss is reachable) - the quantity
    of the LE-SDE phase transition. ``lp``: some affine classifier separates the
    particles (exact LP test). With alpha < beta the classes collapse onto an
    *anti-aligned* ETF that is LP-separable but misclassified, so ``lp`` does not
    show the transition on the alpha < beta side; it measures representation
    separability only.
    """

    ARGMAX = "argmax"
    LP = "lp"


def _final_metrics(result: Any, n_classes: int) -> dict[str, float]:
    state = result.state
    x, labels, head = state["features"], state["labels"], state["head"]
    logits = x if head.shape[0] == 0 else x @ head.T
    nc = neural_collapse(x, labels, n_classes)
    return {
        "accuracy": accuracy(logits, labels),
        "lp_separable": bool(is_linearly_separable(x, labels, n_classes)),
        "nc1": nc["nc1"],
        "etf_distance": nc["etf_distance"],
    }


def _seeds(seeds: int | Sequence[int], owner: str) -> list[int]:
    if isinstance(seeds, (int, np.integer)):
        n = check_int(seeds, "seeds", owner, low=1)
        return list(range(n))
    out = [check_int(s, "seeds", owner, low=0) for s in seeds]
    if not out:
        raise ConfigError(f"The 'seeds' parameter of {owner} must not be empty.")
    return out


def _grid(values: Any, name: str, owner: str) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be a non-empty 1-D array of "
            f"finite floats. Got {values!r} instead."
        )
    return arr


def _run_grid(
    owner: str,
    make_impact: Any,
    xs: np.ndarray,
    ys: np.ndarray,
    names: tuple[str, str],
    *,
    n_classes: int,
    hierarchy: Hierarchy | None,
    n_per_class: int,
    steps: int,
    seeds: int | Sequence[int],
    integrator: Integrator | str,
    dt: float,
    sigma: float,
    noise: NoiseKind | str,
    init_scale: float,
    criterion: SeparabilityCriterion | str,
) -> pd.DataFrame:
    check_int(n_per_class, "n_per_class", owner, low=1)
    check_int(steps, "steps", owner, low=1)
    integ = check_enum(Integrator, integrator, "integrator", owner)
    if integ is Integrator.ODE:
        raise ConfigError(
            f"The 'integrator' parameter of {owner} must be 'sde' or 'sgd' (the "
            "noise-free class-mean ODE has no within-class spread). Got 'ode' instead."
        )
    crit = check_enum(SeparabilityCriterion, criterion, "criterion", owner)
    check_float(sigma, "sigma", owner, low=0.0)
    check_float(init_scale, "init_scale", owner, low=0.0)
    seed_list = _seeds(seeds, owner)
    # Cells are tiny: a kernel thread pool only adds synchronisation (and contends
    # with other work on a shared machine), so run on one thread, then restore.
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        rows = []
        for x in xs:
            for y in ys:
                model = LESDEModel(
                    make_impact(float(x), float(y)),
                    integrator=integ,
                    n_per_class=n_per_class,
                    hierarchy=hierarchy,
                    dt=dt if integ is Integrator.SDE else 1.0,
                    sigma=sigma,
                    noise=noise,
                    init_scale=init_scale,
                )
                for seed in seed_list:
                    result = simulate(
                        model, steps=steps, record=[steps], observe=["loss"], seed=seed
                    )
                    m = _final_metrics(result, n_classes)
                    sep = (
                        m["accuracy"] == 1.0
                        if crit is SeparabilityCriterion.ARGMAX
                        else m["lp_separable"]
                    )
                    rows.append(
                        {
                            names[0]: float(x),
                            names[1]: float(y),
                            "seed": seed,
                            **m,
                            "separable": bool(sep),
                        }
                    )
    finally:
        numba.set_num_threads(threads)
    df = pd.DataFrame(rows)
    df.attrs.update(
        {"criterion": crit.value, "steps": steps, "x": names[0], "y": names[1]}
    )
    return df


def phase_diagram(
    alphas: Any,
    betas: Any,
    *,
    n_classes: int = 3,
    n_per_class: int = 20,
    steps: int = 300,
    seeds: int | Sequence[int] = 4,
    integrator: Integrator | str = Integrator.SDE,
    dt: float = 0.5,
    sigma: float = 0.05,
    noise: NoiseKind | str = NoiseKind.GRADIENT,
    init_scale: float = 0.5,
    criterion: SeparabilityCriterion | str = SeparabilityCriterion.ARGMAX,
) -> pd.DataFrame:
    """Final accuracy, separability and neural collapse over a grid of (alpha, beta).

    Parameters
    ----------
    alphas, betas : array_like of float
        Intra- and inter-class impacts of ``E = (alpha - beta) I + beta 1 1^T``.
    n_classes : int, default 3
    n_per_class : int, default 20
    steps : int, default 300
        Steps per run (SDE time ``steps * dt``).
    seeds : int or sequence of int, default 4
        ``n`` means seeds ``0..n-1``. The same seeds are used in every cell (common
        random numbers), which makes neighbouring cells directly comparable.
    integrator : {"sde", "sgd"}, default "sde"
    dt, sigma, noise, init_scale
        Passed to :class:`~simnet.models.lesde.LESDEModel` (``dt`` only for sde).
        The default SGD-like noise ``sigma |g_i|`` vanishes on well-classified
        particles; with constant noise the within-class spread grows like
        ``sigma sqrt(t)`` (the class drift is shared by all particles of a class)
        while the CE-driven margin grows only logarithmically, so P(separable)
        eventually decreases again at fixed alpha > beta.
    criterion : {"argmax", "lp"}, default "argmax"
        Meaning of the ``separable`` column, see :class:`SeparabilityCriterion`.

    Returns
    -------
    DataFrame
        One row per (alpha, beta, seed): ``alpha``, ``beta``, ``seed``,
        ``accuracy`` (argmax of the logits), ``lp_separable``, ``nc1``,
        ``etf_distance`` (of the final particles) and ``separable``.

    Notes
    -----
    Per-sample LE-SDE with the cross-entropy gradient (dossier 1.3):
    ``dX_i = -(1/n) sum_j E[c_i, c_j] grad l(X_j, c_j) dt + sigma dW_i``.
    Predicted: separable with probability -> 1 iff alpha > beta (dossier 2.1-2.2).

    Examples
    --------
    >>> df = phase_diagram([1.0], [0.0, 2.0], n_per_class=5, steps=50, seeds=1)
    >>> df[["alpha", "beta", "separable"]].values.tolist()
    [[1.0, 0.0, True], [1.0, 2.0, False]]
    """
    owner = "phase_diagram"
    k = check_int(n_classes, "n_classes", owner, low=2)
    a = _grid(alphas, "alphas", owner)
    b = _grid(betas, "betas", owner)
    return _run_grid(
        owner,
        lambda x, y: ImpactMatrix.two_parameter(k, x, y),
        a,
        b,
        ("alpha", "beta"),
        n_classes=k,
        hierarchy=None,
        n_per_class=n_per_class,
        steps=steps,
        seeds=seeds,
        integrator=integrator,
        dt=dt,
        sigma=sigma,
        noise=noise,
        init_scale=init_scale,
        criterion=criterion,
    )


def hierarchy_rates(
    hierarchy: Hierarchy, leaf_rate: float, shared_rate: float
) -> list[float]:
    """Per-depth rates with intra-class impact ``leaf_rate`` and sibling impact
    ``shared_rate``.

    Depths ``0..D-1`` get ``shared_rate / D`` each and the class depth D gets
    ``leaf_rate - shared_rate``, so ``E_kk = leaf_rate`` and
    ``E_kk' = shared_rate (lca_depth(k, k') + 1)/D``. With a balanced tree the
    finest split's contrast eigenvalue is ``leaf_rate - shared_rate``
    (:func:`simnet.theory.spectra.tree_spectrum`), so the predicted boundary is
    again leaf_rate = shared_rate; coarser splits have larger eigenvalues.
    """
    depth = hierarchy.max_depth
    if any(hierarchy.depth_of(c) != depth for c in hierarchy.classes):
        raise ConfigError(
            "The 'hierarchy' parameter of hierarchy_rates must have every class at "
            "the same depth."
        )
    return [shared_rate / depth] * depth + [leaf_rate - shared_rate]


def hierarchy_phase_diagram(
    hierarchy: Hierarchy,
    leaf_rates: Any,
    shared_rates: Any,
    *,
    n_per_class: int = 20,
    steps: int = 300,
    seeds: int | Sequence[int] = 4,
    integrator: Integrator | str = Integrator.SDE,
    dt: float = 0.5,
    sigma: float = 0.05,
    noise: NoiseKind | str = NoiseKind.GRADIENT,
    init_scale: float = 0.5,
    criterion: SeparabilityCriterion | str = SeparabilityCriterion.ARGMAX,
) -> pd.DataFrame:
    """Phase diagram over (leaf rate, shared rate) of a hierarchy.

    ``E = ImpactMatrix.per_depth(hierarchy, hierarchy_rates(h, leaf, shared))``;
    columns as :func:`phase_diagram` with ``leaf_rate``, ``shared_rate`` in place of
    alpha, beta. The hierarchy must be a tree with every class at the same depth.
    """
    owner = "hierarchy_phase_diagram"
    if not isinstance(hierarchy, Hierarchy) or hierarchy.max_depth < 1:
        raise ConfigError(
            f"The 'hierarchy' parameter of {owner} must be a Hierarchy of depth >= 1. "
            f"Got {hierarchy!r} instead."
        )
    hierarchy_rates(hierarchy, 1.0, 0.0)  # validates the shape
    return _run_grid(
        owner,
        lambda x, y: ImpactMatrix.per_depth(
            hierarchy, hierarchy_rates(hierarchy, x, y)
        ),
        _grid(leaf_rates, "leaf_rates", owner),
        _grid(shared_rates, "shared_rates", owner),
        ("leaf_rate", "shared_rate"),
        n_classes=hierarchy.n_classes,
        hierarchy=hierarchy,
        n_per_class=n_per_class,
        steps=steps,
        seeds=seeds,
        integrator=integrator,
        dt=dt,
        sigma=sigma,
        noise=noise,
        init_scale=init_scale,
        criterion=criterion,
    )


@dataclass(frozen=True)
class PhaseSummary:
    """Summary of a phase diagram.

    Attributes
    ----------
    cells : DataFrame
        Per (x, y) cell: ``delta = x - y``, ``p_separable``, ``accuracy``, ``nc1``,
        ``etf_distance`` (means over seeds) and ``n_runs``.
    center : float
        Fitted delta at which P(separable) = 1/2.
    scale : float
        Fitted logistic scale s: ``P = 1/(1 + exp(-(delta - center)/s))``.
    width : float
        ``2 ln 9 * s``: the delta over which the fitted P goes from 0.1 to 0.9.
    width_bound : float
        Grid-resolution bound: the distance between the largest delta of a cell with
        P <= 0.1 and the smallest delta of a cell with P >= 0.9 above it (``nan`` if
        there is none). When the runs are perfectly split the logistic fit only says
        ``width <= width_bound``.
    """

    cells: pd.DataFrame
    center: float
    scale: float
    width: float
    width_bound: float


def _fit_logistic(
    delta: np.ndarray, y: np.ndarray, floor: float
) -> tuple[float, float]:
    def nll(theta: np.ndarray) -> float:
        c, log_s = theta
        z = (delta - c) / np.exp(log_s)
        # -sum y log p + (1 - y) log(1 - p), p = sigmoid(z), stably
        return float(np.sum(np.logaddexp(0.0, -z) * y + np.logaddexp(0.0, z) * (1 - y)))

    c0 = (
        0.0
        if y.all() or not y.any()
        else float(0.5 * (delta[y].min() + delta[~y].max()))
    )
    span = float(np.ptp(delta)) or 1.0
    res = optimize.minimize(
        nll,
        x0=np.array([c0, np.log(span / 10)]),
        method="L-BFGS-B",
        bounds=[
            (delta.min() - span, delta.max() + span),
            (np.log(floor), np.log(span)),
        ],
    )
    return float(res.x[0]), float(np.exp(res.x[1]))


def phase_summary(df: pd.DataFrame) -> PhaseSummary:
    """P(separable) per cell and the width of the transition across x = y.

    Parameters
    ----------
    df : DataFrame
        Output of :func:`phase_diagram` or :func:`hierarchy_phase_diagram`.

    Returns
    -------
    PhaseSummary

    Notes
    -----
    A logistic ``P(separable) = 1/(1 + exp(-(delta - c)/s))`` in
    ``delta = alpha - beta`` (or leaf - shared rate) is fitted to the individual
    runs by maximum likelihood; ``width = 2 ln 9 s`` (P from 0.1 to 0.9). The scale
    is bounded below by 1e-3 of the delta range, so a perfectly split sweep returns
    the smallest resolvable width; read ``width_bound`` in that case.
    """
    x = df.attrs.get("x", "alpha")
    y = df.attrs.get("y", "beta")
    for col in (x, y, "separable"):
        if col not in df.columns:
            raise ConfigError(
                f"The 'df' parameter of phase_summary must have a {col!r} column "
                "(the output of phase_diagram)."
            )
    # rounded so that cells with the same nominal delta group together
    work = df.assign(delta=np.round(df[x] - df[y], 12))
    cells = work.groupby([x, y], as_index=False).agg(
        delta=("delta", "first"),
        p_separable=("separable", "mean"),
        accuracy=("accuracy", "mean"),
        nc1=("nc1", "mean"),
        etf_distance=("etf_distance", "mean"),
        n_runs=("separable", "size"),
    )
    delta = work["delta"].to_numpy(dtype=np.float64)
    sep = work["separable"].to_numpy(dtype=bool)
    span = float(np.ptp(delta)) or 1.0
    center, scale = _fit_logistic(delta, sep, 1e-3 * span)
    by_delta = cells.groupby("delta")["p_separable"].mean().sort_index()
    low = by_delta[by_delta <= 0.1]
    bound = float("nan")
    if len(low):
        high = by_delta[(by_delta >= 0.9) & (by_delta.index > low.index.max())]
        if len(high):
            bound = float(high.index.min() - low.index.max())
    return PhaseSummary(cells, center, scale, _WIDTH_FACTOR * scale, bound)
