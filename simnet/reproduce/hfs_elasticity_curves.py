"""Local elasticity along the CIFAR-10 class tree in the HFS model.

Simulates the hierarchical feature-sharing (HFS) model (``MODEL.md`` section 2) on
the CIFAR-10 semantic tree (``Hierarchy.preset("cifar10")``: root; animals,
vehicles; mammals, bird, frog; the ten classes), 100 samples per class, node
feature and amount rates 0.05, single-sample SGD, and records the impact matrix
E(t) on a log schedule. The elasticity curve is the mean impact of an SGD step on
one class on another, by the depth of the classes' lowest common ancestor (LCA).
Su's neurashed paper (2021) describes this as local elasticity through feature
sharing: a step on a class moves the classes it shares deep features with most,
and the gap widens during training.

Measured: the elasticity curve at the first and last record, the intra/inter-class
impact ratio and the training loss over training.

Writes ``result/`` (the :class:`~simnet.RunResult`), ``elasticity_curve.csv`` (mean
impact by LCA depth over training), ``figures/*.png`` (elasticity curves, impact
matrix, metrics), ``summary.md`` and ``run.json``.

Run: ``simnet reproduce hfs-elasticity-curves --out DIR`` (full mode, 50 000 steps:
about 5 s once the kernels are compiled; ``--quick``, 5 000 steps: about the same,
as compiling and writing dominate).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..hierarchy import Hierarchy
from ..models import HFSModel
from ..simulate import simulate
from ._common import (
    NO_FIGURES,
    NO_NUMBER,
    has_matplotlib,
    paper_table,
    write_csv,
    write_run_record,
    write_summary,
)

NAME = "hfs-elasticity-curves"
TITLE = "HFS model on the CIFAR-10 tree: impact grows with the classes' common depth"
PAPER = (
    "Su, Neurashed (arXiv 2112.09741, 2021): local elasticity from feature sharing "
    "along a class hierarchy (HFS is simnet's version, MODEL.md section 2)"
)

STEPS = {False: 50_000, True: 5_000}
N_PER_CLASS = 100
ETA = 0.05


def run(out: Path | str, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Simulate, write the result, tables, figures, ``summary.md`` and ``run.json``.

    Parameters
    ----------
    out : path
        Output folder (created).
    quick : bool, default False
        5 000 SGD steps instead of 50 000.
    seed : int, default 0
        Seed of the simulation.

    Returns
    -------
    dict
        ``steps``; ``curve_first`` and ``curve_last``: the mean impact of distinct
        class pairs by LCA depth (index = depth) at the first and last record;
        ``same_first`` and ``same_last``: the same-class impact by the class's
        depth; ``intra_inter_ratio`` and ``loss``: (first, last);
        ``headline``; ``seconds``.
    """
    started = time.perf_counter()
    out = Path(out)
    quick = bool(quick)
    steps = STEPS[quick]
    hierarchy = Hierarchy.preset("cifar10")
    model = HFSModel(hierarchy, n_per_class=N_PER_CLASS, eta_phi=ETA, eta_lam=ETA)
    result = simulate(model, steps=steps, record={"log": 25}, seed=seed, progress=None)
    result.save(out / "result")
    curve = result.table("elasticity_curve")
    write_csv(out / "elasticity_curve.csv", curve)
    drawn = has_matplotlib()
    if drawn:
        from ..plotting import plot_run

        plot_run(result, out / "figures")

    first, last = curve["step"].min(), curve["step"].max()

    def at(step: int, same: bool) -> np.ndarray:
        rows = curve[(curve["step"] == step) & (curve["same_class"] == same)]
        return rows.sort_values("lca_depth")["mean_impact"].to_numpy()

    metrics = result.table("metrics").pivot(
        index="step", columns="observable", values="value"
    )
    ratio = metrics["intra_inter_ratio"]
    loss = metrics["loss"]
    results: dict[str, Any] = {
        "steps": steps,
        "curve_first": at(first, False),
        "curve_last": at(last, False),
        "same_first": at(first, True),
        "same_last": at(last, True),
        "intra_inter_ratio": (float(ratio.iloc[0]), float(ratio.iloc[-1])),
        "loss": (float(loss.iloc[0]), float(loss.iloc[-1])),
    }
    results["headline"] = {
        "impact by LCA depth 0/1/2, first record": results["curve_first"].tolist(),
        "impact by LCA depth 0/1/2, last record": results["curve_last"].tolist(),
        "intra/inter ratio first -> last": list(results["intra_inter_ratio"]),
        "training loss first -> last": list(results["loss"]),
    }
    write_summary(
        out / "summary.md", summarise(curve, results, first, last, seed, quick, drawn)
    )
    results["seconds"] = time.perf_counter() - started
    write_run_record(
        out,
        name=NAME,
        quick=quick,
        seed=seed,
        started=started,
        headline=results["headline"],
    )
    return results


def summarise(
    curve: pd.DataFrame,
    results: dict[str, Any],
    first: int,
    last: int,
    seed: int,
    quick: bool,
    drawn: bool,
) -> str:
    """The Markdown summary: the curve at the first and last step, the paper."""
    wide = curve[curve["step"].isin([first, last])].pivot_table(
        index=["same_class", "lca_depth"], columns="step", values="mean_impact"
    )
    c0, c1 = results["curve_first"], results["curve_last"]
    r0, r1 = results["intra_inter_ratio"]
    l0, l1 = results["loss"]
    mode = "quick" if quick else "full"
    rows = [
        (
            "impact by relation, last record",
            "same class "
            + " / ".join(f"{v:.3f}" for v in results["same_last"])
            + " (classes at depth 2 / 3); distinct classes at LCA depth 0 / 1 / 2: "
            + " / ".join(f"{v:.3f}" for v in c1),
            "same class > related > unrelated (recalled [R]); "
            f"{NO_NUMBER} from the paper (its simulation of a reconstruction gives "
            "0.0235 / 0.0174 / -0.0005 for same / related / unrelated, not the "
            "paper's)",
            "same ordering; simnet's HFS model is a reconstruction on a deeper "
            "tree, so magnitudes are not comparable",
        ),
        (
            "the gap widens during training",
            f"depth 2 / depth 0: {c0[-1] / c0[0]:.2f} -> {c1[-1] / c1[0]:.2f}; "
            f"intra/inter ratio {r0:.2f} -> {r1:.2f}",
            f"the gap widens late in training (recalled [R]); {NO_NUMBER}",
            "agrees; in the dossier's reconstruction the unrelated entry turns "
            "negative through decay, here (no decay) it only falls",
        ),
    ]
    lines = [
        f"# HFS on the CIFAR-10 tree: {results['steps']} steps, seed {seed} "
        f"({mode} mode)",
        "",
        "Mean impact by LCA depth (rows) at the first and last step (columns):",
        "",
        "```",
        wide.to_string(),
        "```",
        "",
        f"- intra/inter ratio: {r0:.3f} -> {r1:.3f}",
        f"- training loss: {l0:.3f} -> {l1:.2e}",
        "",
        "## Measured vs paper",
        "",
        paper_table(rows),
    ]
    if not drawn:
        lines += ["", NO_FIGURES]
    return "\n".join(lines)
