"""Simulator vs network agreement in one call: fit, simulate, compare, report.

:func:`agreement` fits the simulator to a network run by each requested method on
the first part of training (``fit_fraction``), simulates the fitted models from the
network's own initial class-mean logits and sample counts, and compares them with the
network on the fitted segment and on the held-out rest (so that agreement is not just
interpolation). ``simnet compare RUN_DIR`` is a thin layer over it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_float, check_int
from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ..io import atomic_write_text
from ..models._common import plain
from ..results import RunResult, package_versions
from ..seeding import SeedLike, as_seed_sequence
from .comparison import Comparison, compare_runs, write_comparison_report
from .fitting import FitMethod, FittedModel, fit_simulator, simulate_fitted
from .network_run import NetworkRun

__all__ = ["DEFAULT_METHODS", "Agreement", "agreement"]

DEFAULT_METHODS = (FitMethod.LESDE_RATES, FitMethod.LESDE_IMPACT, FitMethod.HFS)


@dataclass(frozen=True, eq=False)
class Agreement:
    """Fitted models, their simulations and the comparison with the network.

    Attributes
    ----------
    network : NetworkRun
    fits : dict of str to FittedModel
        One per method (keys are the method names).
    runs : dict of str to list of RunResult
        The replicas simulated from each fit.
    comparison : Comparison
        Every method (column ``model``) on the segments ``fit`` and ``held_out``
        (or ``all`` when the whole run was fitted).
    fit_until : float
        Last network time the fits saw.
    seconds : dict of str to float
        Wall time of each method's fit and simulations.
    """

    network: NetworkRun
    fits: dict[str, FittedModel]
    runs: dict[str, list[RunResult]]
    comparison: Comparison
    fit_until: float
    seconds: dict[str, float]

    @property
    def figures(self) -> pd.DataFrame:
        """The tidy agreement figures (see :func:`~simnet.analysis.compare_runs`)."""
        return self.comparison.figures

    def summary(self) -> pd.DataFrame:
        """Headline figures: one row per model, quantity and statistic."""
        return self.comparison.summary()

    def parameters(self) -> pd.DataFrame:
        """Every fit's parameters, tidy, with a ``model`` column."""
        frames = [
            fit.parameters.assign(model=name)[["model", "parameter", "key", "value"]]
            for name, fit in self.fits.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def to_markdown(self) -> str:
        """The Markdown report: setup, fits, then the comparison tables."""
        net = self.network
        lines = [
            "# Simulator vs network agreement",
            "",
            f"Network: {net.n_classes} classes, {int(net.class_sizes.sum())} "
            f"samples, batch size {net.batch_size}, {net.last_step} steps, "
            f"{net.steps.shape[0]} records. Fitted on time <= {self.fit_until:g}; "
            "the rest is held out.",
            "",
            "| model | fit | residual | seconds | details |",
            "|---|---|---|---|---|",
        ]
        for name, fit in self.fits.items():
            details = ", ".join(
                f"{k}={v}"
                for k, v in fit.info.items()
                if k not in ("class_order", "message")
            )
            lines.append(
                f"| {name} | {fit.method.value} | {fit.residual:.4g} | "
                f"{self.seconds[name]:.1f} | {details} |"
            )
        lines += ["", self.comparison.to_markdown(title="Agreement figures")]
        return "\n".join(lines)

    def write(self, out_dir: str | os.PathLike, *, figures: bool = True) -> list[Path]:
        """Write ``agreement.csv``, ``agreement.md``, ``parameters.csv``, the PNG
        figures and ``agreement.json`` (settings and versions), atomically."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = write_comparison_report(self.comparison, out, figures=figures)
        report = out / "agreement.md"
        atomic_write_text(report, self.to_markdown() + "\n")
        params = out / "parameters.csv"
        atomic_write_text(params, self.parameters().to_csv(index=False))
        meta = out / "agreement.json"
        atomic_write_text(
            meta,
            json.dumps(
                {
                    "fit_until": self.fit_until,
                    "models": {n: f.method.value for n, f in self.fits.items()},
                    "info": {n: plain(f.info) for n, f in self.fits.items()},
                    "seconds": self.seconds,
                    "versions": package_versions(),
                },
                indent=2,
            )
            + "\n",
        )
        return [*written, params, meta]


def agreement(
    network: NetworkRun | RunResult | str | os.PathLike,
    *,
    methods: Sequence[FitMethod | str] = DEFAULT_METHODS,
    fit_fraction: float = 0.5,
    hierarchy: Hierarchy | str | None = None,
    replicas: int = 4,
    seed: SeedLike = 0,
    late_fraction: float = 0.25,
) -> Agreement:
    """Fit the simulator to a network run, simulate, and compare.

    Parameters
    ----------
    network : NetworkRun, RunResult or path
        The network run (``simnet mlp`` output directory or
        :func:`~simnet.networks.train_mlp` result) with ``class_means`` and, for
        the impact-based fits, ``impact`` tables.
    methods : sequence of FitMethod or str
        Any of ``lesde-rates``, ``lesde-impact``, ``hfs``, ``hfs-inferred``.
    fit_fraction : float, default 0.5
        The fits see the network's records up to this fraction of training time;
        the rest is the held-out segment. ``1`` fits (and compares) on everything.
    hierarchy : Hierarchy or "infer", optional
        Hierarchy of the ``hfs`` fit (default: the run's own, else inferred).
    replicas : int, default 4
        Simulations per fitted model (their spread gives the bands).
    seed : int, SeedSequence, Generator or None, default 0
        One seed for the fits and the simulations.
    late_fraction : float, default 0.25
        What "late checkpoints" means in the impact figures.

    Returns
    -------
    Agreement
    """
    owner = "agreement"
    if isinstance(network, (str, os.PathLike)):
        network = NetworkRun.load(network)
    net = (
        network if isinstance(network, NetworkRun) else NetworkRun.from_result(network)
    )
    fit_fraction = check_float(
        fit_fraction, "fit_fraction", owner, low=0.0, high=1.0, closed="right"
    )
    replicas = check_int(replicas, "replicas", owner, low=1)
    if not methods:
        raise ConfigError(f"The 'methods' parameter of {owner} must not be empty.")
    chosen = [FitMethod(m) if not isinstance(m, FitMethod) else m for m in methods]
    t0, t_end = float(net.times[0]), float(net.times[-1])
    fit_until = t0 + fit_fraction * (t_end - t0)
    held_out = fit_fraction < 1.0 and np.any(net.times > fit_until)
    if fit_until < net.times[1]:
        raise ConfigError(
            f"The 'fit_fraction' parameter of {owner} leaves fewer than two network "
            f"records to fit. Got {fit_fraction!r} instead."
        )
    root = as_seed_sequence(seed)
    fit_seeds = root.spawn(len(chosen))
    sim_seeds = root.spawn(len(chosen))
    fits: dict[str, FittedModel] = {}
    runs: dict[str, list[RunResult]] = {}
    seconds: dict[str, float] = {}
    parts: dict[str, Comparison] = {}
    for method, fit_seed, sim_seed in zip(chosen, fit_seeds, sim_seeds, strict=True):
        name = method.value
        started = time.perf_counter()
        fitted = fit_simulator(
            net,
            method,
            fit_until=fit_until if held_out else None,
            hierarchy=hierarchy if method is FitMethod.HFS else None,
            seed=fit_seed,
        )
        sims = simulate_fitted(fitted, net, replicas=replicas, seed=sim_seed)
        seconds[name] = time.perf_counter() - started
        fits[name], runs[name] = fitted, sims
        compare_h = fitted.hierarchy or net.hierarchy
        if held_out:
            later = net.times[net.times > fit_until]
            segments = [
                compare_runs(
                    net.result,
                    sims,
                    segment=(t0, fit_until),
                    segment_name="fit",
                    hierarchy=compare_h,
                    late_fraction=late_fraction,
                ),
                compare_runs(
                    net.result,
                    sims,
                    segment=(float(later[0]), t_end),
                    segment_name="held_out",
                    hierarchy=compare_h,
                    late_fraction=late_fraction,
                ),
            ]
            parts[name] = Comparison.concat(segments)
        else:
            parts[name] = compare_runs(
                net.result,
                sims,
                segment_name="all",
                hierarchy=compare_h,
                late_fraction=late_fraction,
            )
    return Agreement(
        network=net,
        fits=fits,
        runs=runs,
        comparison=Comparison.concat(parts),
        fit_until=fit_until if held_out else t_end,
        seconds=seconds,
    )
