"""Class-level local elasticity of a trained MLP follows, and recovers, the class tree;
the fitted HFS simulator reproduces its elasticity curves.

Data: :func:`simnet.datasets.hierarchical_synthetic` on the balanced 3-level tree
``Hierarchy.balanced([2, 3, 2])`` (12 classes): every node of the tree has a latent
prototype, a class prototype is the sum over its ancestors, samples are noisy copies
pushed through a fixed random tanh layer. The node prototypes have variance 4, 2
and 1 at depths 1, 2 and 3 (coarser splits are more pronounced; the root's is 0),
so that the tree is visible in the inputs for every seed.

Nets: a ReLU MLP with two hidden layers and a 12-way softmax cross-entropy head,
trained by minibatch SGD with :func:`simnet.networks.train_mlp`, which records on a
log schedule the class-level impact matrix (the class-averaged empirical NTK times
the learning rate), its elasticity curve (mean impact by the depth of the lowest
common ancestor, LCA, of the two classes) and the class-mean logits. The same for a
linear MLP (no activation) from the same initial weights, for contrast, and, as a
control for what the inputs alone already show, the Gram matrix of the input class
means.

Measured, at every record and for every net:

(a) whether the mean impact over distinct class pairs increases strictly with the
    LCA depth, and the Spearman correlation of impact and LCA depth over the
    unordered pairs of distinct classes;
(b) whether the average-linkage dendrogram of the impact matrix contains every
    cluster of the true tree (``recovers_tree``), and its cophenetic correlation
    with the tree distances (``cophenetic_agreement``);
(c) simulator vs network, side by side: the HFS model is fitted to the ReLU
    network's impact matrix E(t) on the true tree
    (:func:`simnet.analysis.fit_hfs`, per-depth rates and initial amounts, the
    network's own initial class-mean logits and sample counts), simulated at the
    network's record steps (:func:`simnet.analysis.simulate_fitted`, several
    replicas) and compared (:func:`simnet.analysis.compare_runs`): the two sets
    of elasticity curves by LCA depth over training, the Spearman correlation of
    the off-diagonal impact entries at the late checkpoints and the pooled R^2 of
    the class-mean logits. This is what ``simnet.analysis.agreement(run,
    methods=["hfs"], fit_fraction=1.0)`` does; the quick mode gives the fit a
    smaller budget (one start, fewer evaluations and checkpoints).

Full mode repeats (a) and (b) over 5 seeds (data, initial weights, minibatches) and
reports how often the tree is recovered; the figures and (c) use the first seed.

Writes ``elasticity_curve.csv`` and ``impact.csv`` (all records, first seed),
``tree_recovery.csv`` (every record, net and seed), ``network_vs_hfs.csv`` (the
side-by-side elasticity curves), ``agreement/`` (the agreement report of
:meth:`simnet.analysis.Agreement.write`), ``figures/*.png`` (elasticity curves over
training, dendrograms, ``network_vs_hfs.png``), ``summary.md`` and ``run.json``.

Run: ``simnet reproduce hierarchy-recovery --out DIR`` (full mode: about 1.5 minutes,
of which the HFS fit takes about 1; ``--quick``: about 15 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..analysis import (
    Agreement,
    Comparison,
    NetworkRun,
    compare_runs,
    cophenetic_agreement,
    elasticity_linkage,
    fit_hfs,
    recovers_tree,
    simulate_fitted,
)
from ..datasets import Dataset, hierarchical_synthetic
from ..hierarchy import Hierarchy
from ..networks import MLP, train_mlp
from ..observables import elasticity_curve
from ..results import RunResult
from ._common import (
    NO_FIGURES,
    NO_NUMBER,
    figure_or_none,
    has_matplotlib,
    paper_table,
    run_recorded,
    save_figure,
    write_csv,
    write_summary,
)

NAME = "hierarchy-recovery"
TITLE = (
    "An MLP's class-level impact follows and recovers the class tree; the fitted "
    "HFS model matches its elasticity curves"
)
PAPER = (
    "He & Su (ICLR 2020) local-elasticity clustering, extended to a class tree; "
    "Su's neurashed (2021): same class > related > unrelated"
)

BRANCHING = (2, 3, 2)
NODE_SCALE = (0.0, 2.0, np.sqrt(2.0), 1.0)  # std of node prototypes by depth
ACTIVATIONS = ("relu", "linear")
HFS = "hfs"  # model name of the fitted simulator in the comparison


@dataclass(frozen=True)
class Setting:
    """Sizes, training and fit budget of one mode."""

    n_seeds: int
    n_per_class: int
    width: int
    steps: int
    lr: float = 0.05
    batch_size: int = 16
    dim: int = 64
    latent_dim: int = 128
    noise: float = 0.3
    n_records: int = 16
    ntk_samples: int = 240
    fit_starts: int = 2
    fit_evaluations: int = 300
    fit_checkpoints: int = 20
    replicas: int = 4


SETTINGS = {
    False: Setting(n_seeds=5, n_per_class=60, width=256, steps=4000),
    True: Setting(
        n_seeds=1,
        n_per_class=30,
        width=128,
        steps=1500,
        ntk_samples=120,
        fit_starts=1,
        fit_evaluations=60,
        fit_checkpoints=10,
        replicas=2,
    ),
}


def impact_matrix(
    impact: pd.DataFrame, step: int, classes: tuple[str, ...]
) -> np.ndarray:
    """The K x K impact matrix at one record, rows and columns in class order."""
    at = impact[impact["step"] == step]
    wide = at.pivot(index="class_a", columns="class_b", values="value")
    return wide.loc[list(classes), list(classes)].to_numpy()


def score(e: np.ndarray, tree: Hierarchy) -> dict[str, Any]:
    """How well an impact matrix follows the tree: curve, Spearman, dendrogram."""
    lca = tree.lca_depth_matrix()
    curve = elasticity_curve(e, lca)
    distinct = curve[~curve["same_class"]].sort_values("lca_depth")
    means = distinct["mean_impact"].to_numpy()
    iu = np.triu_indices(tree.n_classes, k=1)
    sym = 0.5 * (e + e.T)
    return {
        "curve_increasing": bool(np.all(np.diff(means) > 0.0)),
        "spearman": float(spearmanr(sym[iu], lca[iu]).statistic),
        "recovers_tree": bool(recovers_tree(e, tree)),
        "cophenetic": float(cophenetic_agreement(e, tree)),
        # impact at the root (least related classes) relative to siblings
        "root_over_sibling": float(means[0] / means[-1]),
        "curve": means,
    }


def make_data(tree: Hierarchy, setting: Setting, seed: int) -> Dataset:
    """The hierarchical synthetic data of one seed."""
    return hierarchical_synthetic(
        tree,
        n_per_class=setting.n_per_class,
        dim=setting.dim,
        latent_dim=setting.latent_dim,
        node_scale=list(NODE_SCALE),
        noise=setting.noise,
        seed=seed,
    )


def input_gram(data: Dataset) -> np.ndarray:
    """Gram matrix of the class means of the inputs (the data-only control)."""
    means = np.stack([data.X[data.y == k].mean(axis=0) for k in range(data.n_classes)])
    return means @ means.T


def train(
    data: Dataset, tree: Hierarchy, setting: Setting, activation: str, seed: int
) -> RunResult:
    """Train one MLP, recording loss, impact matrix and class-mean logits."""
    mlp = MLP(
        data.n_features,
        (setting.width, setting.width),
        tree.n_classes,
        activation=activation,
        loss="ce",
    )
    return train_mlp(
        mlp,
        data.X,
        data.y,
        steps=setting.steps,
        lr=setting.lr,
        batch_size=setting.batch_size,
        record={"log": setting.n_records},
        hierarchy=tree,
        observe=["loss", "impact", "class_means"],
        ntk_samples=setting.ntk_samples,
        seed=seed,  # same seed: same initial weights and minibatches for both nets
        progress=False,
    )


def fit_hfs_to_network(
    network: RunResult, tree: Hierarchy, setting: Setting, seed: int
) -> Agreement:
    """Fit the HFS model to the network's E(t), simulate it and compare.

    The same steps as ``simnet.analysis.agreement(network, methods=["hfs"],
    fit_fraction=1.0, hierarchy=tree)``, with the fit budget of ``setting``.
    """
    started = time.perf_counter()
    net = NetworkRun.from_result(network)
    fit_seed, sim_seed = np.random.SeedSequence(seed).spawn(2)
    fitted = fit_hfs(
        net,
        hierarchy=tree,
        seed=fit_seed,
        n_starts=setting.fit_starts,
        max_evaluations=setting.fit_evaluations,
        max_checkpoints=setting.fit_checkpoints,
    )
    sims = simulate_fitted(fitted, net, replicas=setting.replicas, seed=sim_seed)
    comparison = compare_runs(network, sims, segment_name="all", hierarchy=tree)
    return Agreement(
        network=net,
        fits={HFS: fitted},
        runs={HFS: sims},
        comparison=Comparison.concat({HFS: comparison}),
        fit_until=float(net.times[-1]),
        seconds={HFS: time.perf_counter() - started},
    )


def side_by_side(agreement: Agreement) -> pd.DataFrame:
    """The network's and the fitted model's elasticity curves, tidy.

    Columns ``step, time, lca_depth, same_class, network, hfs_mean, hfs_std``:
    mean impact by LCA depth at every network record, the model's mean and
    standard deviation over its replicas.
    """
    series = agreement.comparison.series("elasticity_curve", model=HFS)
    mean, std = series.mean, series.std
    rows = []
    for t, (step, time_) in enumerate(zip(series.steps, series.times, strict=True)):
        for col, (depth, same) in enumerate(series.keys):
            rows.append(
                {
                    "step": int(step),
                    "time": float(time_),
                    "lca_depth": int(depth),
                    "same_class": bool(same),
                    "network": float(series.reference[t, col]),
                    "hfs_mean": float(mean[t, col]),
                    "hfs_std": float(std[t, col]),
                }
            )
    return pd.DataFrame(rows).sort_values(["step", "same_class", "lca_depth"])


def agreement_figures(agreement: Agreement) -> dict[str, float]:
    """The headline agreement numbers of the fitted HFS model."""
    summary = agreement.summary().set_index(["quantity", "statistic"])["all"]
    pick = {
        "impact_spearman_offdiag_late": ("impact", "spearman_offdiag_late"),
        "impact_pearson_offdiag_late": ("impact", "pearson_offdiag_late"),
        "class_means_r2_pooled": ("class_means", "r2_pooled"),
        "curve_relative_error_late": (
            "elasticity_curve",
            "mean_abs_relative_error_late",
        ),
        "curve_spearman_depth_late": ("elasticity_curve", "spearman_depth_late"),
    }
    return {key: float(summary.get(where, np.nan)) for key, where in pick.items()}


def final_curves(curves: pd.DataFrame) -> dict[str, np.ndarray]:
    """Distinct-class curves (by LCA depth) at the last record, per side."""
    last = curves[(curves["step"] == curves["step"].max()) & ~curves["same_class"]]
    last = last.sort_values("lca_depth")
    return {side: last[side].to_numpy() for side in ("network", "hfs_mean")}


def run(out: Path | str, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the study and write tables, figures, ``summary.md`` and ``run.json``.

    Parameters
    ----------
    out : path
        Output folder (created).
    quick : bool, default False
        One seed, smaller nets, fewer steps and a smaller fit budget.
    seed : int, default 0
        First seed; full mode uses ``seed, ..., seed + 4``.

    Returns
    -------
    dict
        For ``"relu"``, ``"linear"`` and ``"input"``, the scores of the final
        impact matrix of the first seed (``curve_increasing``, ``spearman``,
        ``recovers_tree``, ``cophenetic``, ``root_over_sibling``, ``curve``), the
        same at initialisation under ``"<net>_init"``, the per-seed recovery
        counts under ``"recovered"``, ``n_seeds``; under ``"simulator"`` the
        side-by-side part: the final distinct-class curves ``network_curve`` and
        ``hfs_curve`` (by LCA depth 0, 1, 2), whether each increases
        (``network_increasing``, ``hfs_increasing``), the agreement figures
        (:func:`agreement_figures`), the fit's ``residual`` and ``seconds``;
        ``headline`` and ``seconds``.
    """
    return run_recorded(NAME, out, quick, seed, _run)


def _run(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    setting = SETTINGS[quick]
    tree = Hierarchy.balanced(list(BRANCHING))
    seeds = [seed + i for i in range(setting.n_seeds)]
    rows = []
    first: dict[str, RunResult] = {}
    results: dict[str, Any] = {}
    for s in seeds:
        data = make_data(tree, setting, s)
        control = score(input_gram(data), tree)
        rows.append({"seed": s, "net": "input", "step": -1, "loss": np.nan,
                     "accuracy": np.nan, **_flat(control)})  # fmt: skip
        if s == seeds[0]:
            results["input"] = control
        for activation in ACTIVATIONS:
            result = train(data, tree, setting, activation, s)
            impact = result.table("impact")
            metrics = result.table("metrics").pivot(
                index="step", columns="observable", values="value"
            )
            for step in np.unique(impact["step"]):
                scores = score(impact_matrix(impact, step, tree.classes), tree)
                rows.append(
                    {
                        "seed": s,
                        "net": activation,
                        "step": int(step),
                        "loss": float(metrics.loc[step, "loss"]),
                        "accuracy": float(metrics.loc[step, "accuracy"]),
                        **_flat(scores),
                    }
                )
                if s == seeds[0] and step in (0, setting.steps):
                    key = activation if step == setting.steps else f"{activation}_init"
                    results[key] = scores
            if s == seeds[0]:
                first[activation] = result
    table = pd.DataFrame(rows)
    final = table[(table["step"] == setting.steps) | (table["net"] == "input")]
    results["recovered"] = {
        net: int(final.loc[final["net"] == net, "recovers_tree"].sum())
        for net in ("relu", "linear", "input")
    }
    results["n_seeds"] = len(seeds)

    # (c) the fitted HFS simulator next to the ReLU network
    agreement = fit_hfs_to_network(first["relu"], tree, setting, seeds[0])
    curves = side_by_side(agreement)
    ends = final_curves(curves)
    figures = agreement_figures(agreement)
    results["simulator"] = {
        "network_curve": ends["network"],
        "hfs_curve": ends["hfs_mean"],
        "network_increasing": bool(np.all(np.diff(ends["network"]) > 0.0)),
        "hfs_increasing": bool(np.all(np.diff(ends["hfs_mean"]) > 0.0)),
        **figures,
        "residual": float(agreement.fits[HFS].residual),
        "seconds": float(agreement.seconds[HFS]),
    }

    write_csv(out / "tree_recovery.csv", table)
    for name in ("elasticity_curve", "impact"):
        frame = pd.concat(
            [first[a].table(name).assign(net=a) for a in ACTIVATIONS],
            ignore_index=True,
        )
        write_csv(out / f"{name}.csv", frame)
    write_csv(out / "network_vs_hfs.csv", curves)
    drawn = has_matplotlib()
    agreement.write(out / "agreement", figures=drawn)
    if drawn:
        write_figures(out / "figures", first, tree, setting)
        write_side_by_side(out / "figures" / "network_vs_hfs.png", curves)
    relu, sim = results["relu"], results["simulator"]
    results["headline"] = {
        "ReLU final curve by LCA depth 0/1/2": [float(v) for v in relu["curve"]],
        "ReLU Spearman(impact, LCA depth)": relu["spearman"],
        "ReLU recovers tree (seeds)": f"{results['recovered']['relu']}/{len(seeds)}",
        "ReLU cophenetic": relu["cophenetic"],
        "HFS fit final curve by LCA depth 0/1/2": [float(v) for v in sim["hfs_curve"]],
        "HFS vs network Spearman of E off-diagonal (late)": sim[
            "impact_spearman_offdiag_late"
        ],
        "HFS vs network class-mean R^2 (pooled)": sim["class_means_r2_pooled"],
    }
    write_summary(
        out / "summary.md",
        summarise(table, results, setting, tree, quick, seeds, drawn),
    )
    return results


def _flat(scores: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in scores.items() if k != "curve"}
    for depth, value in enumerate(scores["curve"]):
        flat[f"impact_lca{depth}"] = float(value)
    return flat


def write_figures(
    folder: Path, first: dict[str, RunResult], tree: Hierarchy, setting: Setting
) -> None:
    """Elasticity curves over training of each net and the dendrograms."""
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    from ..plotting import plot_elasticity_curves

    for activation, result in first.items():
        fig = plot_elasticity_curves(result, max_steps=6)
        fig.axes[0].set_title(f"{activation} MLP: impact by LCA depth over training")
        save_figure(fig, folder / f"elasticity_curves_{activation}.png")
        plt.close(fig)

    fig = figure_or_none(figsize=(11.0, 4.2))
    axes = fig.subplots(1, len(first))
    for ax, (activation, result) in zip(
        np.atleast_1d(axes), first.items(), strict=True
    ):
        e = impact_matrix(result.table("impact"), setting.steps, tree.classes)
        dendrogram(
            elasticity_linkage(e),
            labels=list(tree.classes),
            ax=ax,
            leaf_rotation=90,
            color_threshold=0,
            above_threshold_color="k",
        )
        ok = "recovers" if recovers_tree(e, tree) else "does not recover"
        ax.set_title(
            f"{activation} MLP, trained: {ok} the tree\n"
            f"cophenetic r = {cophenetic_agreement(e, tree):.3f}"
        )
        ax.set_ylabel("dissimilarity (E_kk + E_k'k')/2 - E_kk'")
    save_figure(fig, folder / "dendrograms.png")


def write_side_by_side(path: Path, curves: pd.DataFrame, max_steps: int = 6) -> None:
    """Two panels sharing the y axis: the network's and the fitted HFS model's mean
    impact by LCA depth, one line per checkpoint (dark = early, light = late);
    same-class pairs as stars."""
    from matplotlib import colormaps

    fig = figure_or_none(figsize=(10.0, 4.2))
    axes = fig.subplots(1, 2, sharey=True)
    steps = np.unique(curves["step"])
    picked = steps[
        np.unique(np.round(np.linspace(0, steps.size - 1, max_steps)).astype(int))
    ]
    cmap = colormaps["viridis"]
    panels = (
        ("network", "ReLU MLP (network)"),
        ("hfs_mean", "HFS model fitted to E(t)"),
    )
    for ax, (column, title) in zip(axes, panels, strict=True):
        for n, step in enumerate(picked):
            color = cmap(0.85 * n / max(len(picked) - 1, 1))
            at = curves[curves["step"] == step]
            distinct = at[~at["same_class"]].sort_values("lca_depth")
            same = at[at["same_class"]]
            ax.plot(
                distinct["lca_depth"],
                distinct[column],
                "o-",
                color=color,
                label=f"step {step}",
            )
            ax.plot(same["lca_depth"], same[column], "*", color=color, ms=9)
            if column == "hfs_mean":
                ax.fill_between(
                    distinct["lca_depth"],
                    distinct[column] - distinct["hfs_std"],
                    distinct[column] + distinct["hfs_std"],
                    color=color,
                    alpha=0.2,
                )
        ax.set_title(title)
        ax.set_xticks(np.unique(curves["lca_depth"]))
        ax.set_xlabel("depth of the lowest common ancestor (stars: same class)")
        ax.grid(alpha=0.3)
    if (curves[["network", "hfs_mean"]].to_numpy() > 0).all():
        axes[0].set_yscale("log")
    axes[0].set_ylabel("mean impact of an SGD step")
    axes[1].legend(fontsize="small", loc="best")
    save_figure(fig, path)


def summarise(
    table: pd.DataFrame,
    results: dict[str, Any],
    setting: Setting,
    tree: Hierarchy,
    quick: bool,
    seeds: list[int],
    drawn: bool,
) -> str:
    """The Markdown summary: scores over training, side by side, paper comparison."""
    mode = "quick" if quick else "full"
    s0 = table[(table["seed"] == seeds[0]) & (table["net"] != "input")]
    steps = np.unique(s0["step"])
    picked = steps[np.unique(np.round(np.linspace(0, steps.size - 1, 6)).astype(int))]
    shown = s0[s0["step"].isin(picked)][
        ["net", "step", "loss", "accuracy", "impact_lca0", "impact_lca1",
         "impact_lca2", "root_over_sibling", "spearman", "recovers_tree",
         "cophenetic"]
    ]  # fmt: skip
    n = results["n_seeds"]
    lines = [
        f"# Class-tree recovery from the NTK impact matrix ({mode} mode)",
        "",
        f"Tree: balanced {list(BRANCHING)} ({tree.n_classes} classes); "
        f"{setting.n_per_class} samples per class in {setting.dim} dimensions; MLP "
        f"{setting.dim} -> {setting.width} -> {setting.width} -> {tree.n_classes}, "
        f"softmax CE, SGD lr {setting.lr}, batch {setting.batch_size}, "
        f"{setting.steps} steps; seeds {seeds}.",
        "",
        f"Mean impact of distinct class pairs by LCA depth (0 = root), its ratio "
        f"root / siblings, Spearman(impact, LCA depth) over the unordered distinct "
        f"pairs, and the dendrogram scores, over training (seed {seeds[0]}; every "
        "record is in `tree_recovery.csv`):",
        "",
        "```",
        shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
        "```",
        "",
    ]
    for key, label in (("relu", "ReLU"), ("linear", "linear"), ("input", "input")):
        r = results[key]
        what = "class-mean Gram of the inputs" if key == "input" else f"{label}, final"
        curve = ", ".join(f"{v:.4g}" for v in r["curve"])
        lines.append(
            f"- {what}: curve by LCA depth [{curve}] "
            f"({'strictly increasing' if r['curve_increasing'] else 'NOT increasing'}),"
            f" Spearman {r['spearman']:.3f}, recovers tree {r['recovers_tree']}, "
            f"cophenetic {r['cophenetic']:.3f}."
        )
    for key in ("relu_init", "linear_init"):
        r = results[key]
        lines.append(
            f"- {key.replace('_init', '')} at initialisation: root/sibling "
            f"{r['root_over_sibling']:.3f}, Spearman {r['spearman']:.3f}, recovers "
            f"tree {r['recovers_tree']}, cophenetic {r['cophenetic']:.3f}."
        )
    rec = results["recovered"]
    lines.append(
        f"- tree recovered in {rec['relu']}/{n} seeds (ReLU, trained), "
        f"{rec['linear']}/{n} (linear, trained), {rec['input']}/{n} (inputs alone)."
    )
    lines.append(
        "- The input control is the Gram matrix of the class means of the inputs, "
        "scored the same way: where it already recovers the tree, the data alone "
        "show it, and a net whose impact matrix recovers it inherits that "
        "structure rather than discovering it."
    )

    sim = results["simulator"]

    def fmt(values: np.ndarray) -> str:
        return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"

    lines += [
        "",
        "## Simulator vs network, side by side",
        "",
        f"The HFS model fitted to the ReLU network's impact matrix E(t) on the true "
        f"tree ({setting.fit_starts} start(s), at most {setting.fit_evaluations} "
        f"evaluations per start, {setting.fit_checkpoints} checkpoints; relative "
        f"residual {sim['residual']:.3f}), simulated {setting.replicas} times from "
        f"the network's initial class-mean logits ({sim['seconds']:.1f} s). Curves "
        "at every record: `network_vs_hfs.csv`; figure: "
        "`figures/network_vs_hfs.png`; full report: `agreement/agreement.md`.",
        "",
        f"- final curve by LCA depth 0, 1, 2 (distinct classes): network "
        f"{fmt(sim['network_curve'])} "
        f"({'increasing' if sim['network_increasing'] else 'NOT increasing'}), "
        f"fitted HFS {fmt(sim['hfs_curve'])} "
        f"({'increasing' if sim['hfs_increasing'] else 'NOT increasing'}).",
        f"- Spearman of the off-diagonal entries of E, network vs HFS, mean over the "
        f"late checkpoints (last quarter of training time): "
        f"{sim['impact_spearman_offdiag_late']:.3f} (Pearson "
        f"{sim['impact_pearson_offdiag_late']:.3f}).",
        f"- class-mean logits, pooled R^2 of the HFS mean over replicas against the "
        f"network: {sim['class_means_r2_pooled']:.3f}.",
        f"- elasticity curve: mean |relative error| at the late checkpoints "
        f"{sim['curve_relative_error_late']:.3f}; Spearman of the curves "
        f"{sim['curve_spearman_depth_late']:.3f}.",
    ]
    relu, relu0 = results["relu"], results["relu_init"]
    rows = [
        (
            "impact by relation of the classes (ReLU, trained)",
            f"LCA depth 0/1/2: {fmt(relu['curve'])}; root/sibling "
            f"{relu0['root_over_sibling']:.2f} at init -> "
            f"{relu['root_over_sibling']:.2f} trained",
            "same class > related > unrelated, the gap widening late in training "
            f"(neurashed, recalled [R]); {NO_NUMBER} from the paper (its own "
            "simulation of a reconstruction: 0.0235 / 0.0174 / -0.0005, not the "
            "paper's)",
            "same ordering, and the relative gap widens (root/sibling falls); "
            "neurashed is a model, not a trained network, so this checks its claim "
            "on an MLP trained on data built on a tree",
        ),
        (
            "class tree recovered from the impact matrix",
            f"{rec['relu']}/{n} seeds, cophenetic {relu['cophenetic']:.3f}",
            f"He & Su cluster two subclasses only; {NO_NUMBER} for a tree",
            "an extension (MODEL.md section 6); the input control shows how much of "
            "the tree the data already carry",
        ),
        (
            "HFS simulator vs network: Spearman of E off-diagonal (late); "
            "class-mean R^2 (pooled)",
            f"{sim['impact_spearman_offdiag_late']:.3f}; "
            f"{sim['class_means_r2_pooled']:.3f}",
            f"{NO_NUMBER} for the HFS model; the LE-SDE paper's Fig. 5 compares "
            "its fitted LE-ODE with a network's class-mean logits only by eye "
            "(tight for the L model on GeoMNIST)",
            "the HFS model is simnet's reconstruction, fitted here to the "
            "network's own E(t); R^2 < 1 because the fit matches E(t) only and "
            "the simulated logits follow from it, with HFS's own sampling noise",
        ),
    ]
    lines += ["", "## Measured vs paper", "", paper_table(rows)]
    if not drawn:
        lines += ["", NO_FIGURES]
    return "\n".join(lines)
