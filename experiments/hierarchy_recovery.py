"""Class-level local elasticity of a trained MLP follows, and recovers, the class tree.

Data: :func:`simnet.datasets.hierarchical_synthetic` on the balanced 3-level tree
``Hierarchy.balanced([2, 3, 2])`` (12 classes): every node of the tree has a latent
prototype, a class prototype is the sum over its ancestors, samples are noisy copies
pushed through a fixed random tanh layer. The node prototypes have variance 4, 2
and 1 at depths 1, 2 and 3 (coarser splits are more pronounced; the root's is 0),
so that the tree is visible in the inputs for every seed.

Nets: a ReLU MLP with two hidden layers and a 12-way softmax cross-entropy head,
trained by minibatch SGD with :func:`simnet.networks.train_mlp`, which records on a
log schedule the class-level impact matrix (the class-averaged empirical NTK times
the learning rate) and its elasticity curve (mean impact by the depth of the lowest
common ancestor, LCA, of the two classes). The same for a linear MLP (no
activation) from the same initial weights, for contrast, and, as a control for what
the inputs alone already show, the Gram matrix of the input class means.

Measured, at every record and for every net:

(a) whether the mean impact over distinct class pairs increases strictly with the
    LCA depth, and the Spearman correlation of impact and LCA depth over the
    unordered pairs of distinct classes;
(b) whether the average-linkage dendrogram of the impact matrix contains every
    cluster of the true tree (``recovers_tree``), and its cophenetic correlation
    with the tree distances (``cophenetic_agreement``).

Full mode repeats everything over 5 seeds (data, initial weights, minibatches) and
reports how often the tree is recovered; the figures show the first seed.

Writes ``elasticity_curve.csv`` and ``impact.csv`` (all records, first seed),
``tree_recovery.csv`` (every record, net and seed), ``figures/*.png`` (elasticity
curves over training, dendrograms) and ``summary.md``.

Run: ``python experiments/hierarchy_recovery.py`` (about a minute; ``--quick``:
seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from simnet import Hierarchy
from simnet.analysis import cophenetic_agreement, elasticity_linkage, recovers_tree
from simnet.datasets import Dataset, hierarchical_synthetic
from simnet.io import atomic_write, atomic_write_text
from simnet.networks import MLP, train_mlp
from simnet.observables import elasticity_curve
from simnet.results import RunResult

NAME = "hierarchy_recovery"
BRANCHING = (2, 3, 2)
NODE_SCALE = (0.0, 2.0, np.sqrt(2.0), 1.0)  # std of node prototypes by depth
ACTIVATIONS = ("relu", "linear")


@dataclass(frozen=True)
class Setting:
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


SETTINGS = {
    False: Setting(n_seeds=5, n_per_class=60, width=256, steps=4000),
    True: Setting(n_seeds=1, n_per_class=30, width=128, steps=1500, ntk_samples=120),
}


def blas_single_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread: these matrices are small, and OpenBLAS threads competing
    for a shared machine's cores slow small products down by orders of magnitude."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def impact_matrix(impact: pd.DataFrame, step: int, classes: tuple[str, ...]):
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
        observe=["loss", "impact"],
        ntk_samples=setting.ntk_samples,
        seed=seed,  # same seed: same initial weights and minibatches for both nets
        progress=False,
    )


def run(out: Path | str, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the study and write tables, figures and summary to ``out``.

    Returns a dict with, for ``"relu"``, ``"linear"`` and ``"input"``, the scores
    of the final impact matrix of the first seed (``curve_increasing``,
    ``spearman``, ``recovers_tree``, ``cophenetic``, ``root_over_sibling``,
    ``curve``), the same at initialisation under ``"<net>_init"``, the per-seed
    recovery counts under ``"recovered"`` and ``n_seeds``.
    """
    with blas_single_thread():
        return _run(Path(out), bool(quick), seed)


def _run(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    setting = SETTINGS[bool(quick)]
    tree = Hierarchy.balanced(list(BRANCHING))
    seeds = [seed + i for i in range(setting.n_seeds)]
    started = time.perf_counter()
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
    results["seconds"] = time.perf_counter() - started

    write_csv(out / "tree_recovery.csv", table)
    for name in ("elasticity_curve", "impact"):
        frame = pd.concat(
            [first[a].table(name).assign(net=a) for a in ACTIVATIONS],
            ignore_index=True,
        )
        write_csv(out / f"{name}.csv", frame)
    write_figures(out / "figures", first, tree, setting)
    summary = summarise(table, results, setting, tree, quick, seeds)
    atomic_write_text(out / "summary.md", summary)
    print(summary, end="")
    return results


def _flat(scores: dict[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in scores.items() if k != "curve"}
    for depth, value in enumerate(scores["curve"]):
        flat[f"impact_lca{depth}"] = float(value)
    return flat


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_csv(p, index=False, float_format="%.6g"))


def write_figures(
    folder: Path, first: dict[str, RunResult], tree: Hierarchy, setting: Setting
) -> None:
    try:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        from simnet.plotting import plot_elasticity_curves
    except ImportError:
        print("no figures: matplotlib is missing (pip install 'simnet[plot]')")
        return
    from scipy.cluster.hierarchy import dendrogram

    folder.mkdir(parents=True, exist_ok=True)
    for activation, result in first.items():
        fig = plot_elasticity_curves(result, max_steps=6)
        fig.axes[0].set_title(f"{activation} MLP: impact by LCA depth over training")
        atomic_write(
            folder / f"elasticity_curves_{activation}.png",
            lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"),
        )
        plt.close(fig)

    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
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
    atomic_write(
        folder / "dendrograms.png", lambda p: fig.savefig(p, dpi=110, format="png")
    )


def summarise(
    table: pd.DataFrame,
    results: dict[str, Any],
    setting: Setting,
    tree: Hierarchy,
    quick: bool,
    seeds: list[int],
) -> str:
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
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out") / NAME)
    parser.add_argument("--quick", action="store_true", help="small, in seconds")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.out, quick=args.quick, seed=args.seed)


if __name__ == "__main__":
    main()
