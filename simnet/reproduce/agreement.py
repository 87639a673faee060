"""Simulator vs network agreement: the fits of issue 4 on two real training runs.

Protocol (``MODEL.md`` section 6; the LE-SDE dossier, sections 1.6, 1.9 and 5):

* **hierarchy**: :func:`simnet.datasets.hierarchical_synthetic` on a balanced 3-level
  tree (branching 2, 2, 3: K = 12 classes), a ReLU MLP with two hidden layers, softmax
  cross-entropy, SGD with batch size 1. The network records its class-mean logits
  and its class-level tangent-kernel impact matrix E_net(t) (lr-scaled) every
  ``record`` steps.
* **shapes**: the LE-SDE paper's geometric shapes (K = 3; 0 triangle, 1 rectangle,
  2 ellipse), a ReLU MLP instead of the paper's LeNet, lr 0.005, batch 1.

On each run :func:`simnet.analysis.agreement` fits the simulator on the first half of
training and compares it with the network on both halves (``fit`` and ``held_out``):

* ``lesde-rates``: the reference code's approach, alpha-hat(t), beta-hat(t) from the
  L-model inversion of the class-mean logits, integrated as the projected LE-ODE
  from the network's initial class means;
* ``lesde-impact``: the LE-SDE SGD imitation driven by the network's own E_net(t);
* ``hfs`` (hierarchy run only): per-depth rates and initial amounts of the HFS model
  fitted by least squares so that its own E(t) matches E_net(t), with the network's
  common kernel growth as the learning-rate schedule; ``hfs-inferred``: the same on
  the dendrogram of E_net instead of the true tree.

The acceptance figures of issue 4 are the HFS fit's Spearman correlation of E's
off-diagonal entries with E_net's at late checkpoints (target >= 0.9) and the pooled
held-out R^2 of the class-mean logit trajectories (target >= 0.8); on the shapes, the
LE-SDE fit's R^2 per logit coordinate.

Writes ``hierarchy/`` and ``shapes/`` (each an agreement report: ``agreement.csv``,
``agreement.md``, ``parameters.csv``, PNG figures), ``headline.csv``,
``class_r2.csv``, ``summary.md`` and ``run.json``. Full mode: about 3 minutes on 2
cores; ``--quick``: under a minute.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from ..analysis import Agreement, agreement
from ..datasets import geometric_shapes, hierarchical_synthetic
from ..hierarchy import Hierarchy
from ..networks import MLP, train_mlp
from ._common import blas_single_thread, write_csv, write_run_record, write_summary

NAME = "agreement"
TITLE = "Simulator vs network: LE-SDE and HFS fitted to MLP training runs"
PAPER = (
    "Zhang, Wang & Su (NeurIPS 2021), Fig. 5 (LE-ODE vs real dynamics); "
    "MODEL.md section 6 (fitting the HFS model)"
)

BRANCHING = (2, 2, 3)


@dataclass(frozen=True)
class Setting:
    n_per_class: int
    width: int
    steps: int
    record: int
    shapes_per_class: int
    shapes_width: int
    shapes_steps: int
    shapes_record: int
    replicas: int
    ntk_samples: int = 120


SETTINGS = {
    False: Setting(40, 256, 4000, 50, 500, 128, 10_000, 50, 4),
    True: Setting(20, 128, 1500, 30, 100, 64, 3000, 30, 2, ntk_samples=60),
}

HEADLINE = (
    ("class_means", "r2_pooled"),
    ("class_means", "r2_mean"),
    ("impact", "spearman_offdiag_late"),
    ("impact", "pearson_offdiag_late"),
    ("loss", "r2"),
    ("elasticity_curve", "spearman_depth_late"),
    ("separation_onset", "difference"),
)


def hierarchy_run(setting: Setting, seed: int) -> tuple[Any, Hierarchy]:
    """Train the ReLU MLP on the hierarchical synthetic data."""
    tree = Hierarchy.balanced(list(BRANCHING))
    data = hierarchical_synthetic(
        tree,
        n_per_class=setting.n_per_class,
        dim=256,
        latent_dim=1024,
        node_scale=[0.0, 2.0, float(np.sqrt(2.0)), 1.0],
        noise=0.5,
        seed=seed,
    )
    mlp = MLP(
        data.n_features,
        (setting.width, setting.width),
        tree.n_classes,
        activation="relu",
        loss="ce",
    )
    with blas_single_thread():
        run = train_mlp(
            mlp,
            data.X,
            data.y,
            steps=setting.steps,
            lr=0.01,
            batch_size=1,
            record=setting.record,
            hierarchy=tree,
            observe=["loss", "impact", "class_means"],
            ntk_samples=setting.ntk_samples,
            seed=seed,
            progress=False,
        )
    return run, tree


def shapes_run(setting: Setting, seed: int) -> Any:
    """Train the ReLU MLP on the geometric shapes (K = 3)."""
    data = geometric_shapes(setting.shapes_per_class, seed=seed)
    mlp = MLP(
        data.n_features,
        (setting.shapes_width, setting.shapes_width),
        3,
        activation="relu",
        loss="ce",
    )
    with blas_single_thread():
        return train_mlp(
            mlp,
            data.X,
            data.y,
            steps=setting.shapes_steps,
            lr=0.005,
            batch_size=1,
            record=setting.shapes_record,
            class_names=["triangle", "rectangle", "ellipse"],
            observe=["loss", "impact", "class_means"],
            ntk_samples=min(setting.ntk_samples, 60),
            seed=seed,
            progress=False,
        )


def headline(result: Agreement, dataset: str) -> pd.DataFrame:
    """The headline figures of one agreement, one row per model and segment."""
    fig = result.figures
    head = fig[(fig["class"] == "") & fig["step"].isna() & fig["coordinate"].isna()]
    rows = []
    for model in dict.fromkeys(head["model"]):
        for segment in dict.fromkeys(head["segment"]):
            row: dict[str, Any] = {
                "dataset": dataset,
                "model": model,
                "segment": segment,
            }
            for quantity, statistic in HEADLINE:
                pick = head[
                    (head["model"] == model)
                    & (head["segment"] == segment)
                    & (head["quantity"] == quantity)
                    & (head["statistic"] == statistic)
                ]["value"]
                row[f"{quantity}.{statistic}"] = (
                    float(pick.iloc[0]) if len(pick) else float("nan")
                )
            rows.append(row)
    return pd.DataFrame(rows)


def class_r2(result: Agreement, dataset: str) -> pd.DataFrame:
    """R^2 of every class-mean logit coordinate, per model and segment."""
    fig = result.figures
    pick = fig[
        (fig["quantity"] == "class_means")
        & (fig["statistic"] == "r2")
        & (fig["class"] != "")
        & fig["step"].isna()
    ]
    out = pick[["model", "segment", "class", "coordinate", "value"]].copy()
    out.insert(0, "dataset", dataset)
    return out.rename(columns={"value": "r2"}).reset_index(drop=True)


def tie_ceiling(tree: Hierarchy) -> float:
    """The largest Spearman correlation a per-depth shared-ancestor impact matrix
    can reach against any matrix without ties: its off-diagonal entries take one
    value per LCA depth."""
    lca = tree.lca_depth_matrix()
    iu = np.triu_indices(tree.n_classes, 1)
    depth = lca[iu].astype(float)
    order = np.argsort(depth, kind="stable")
    ranks = np.empty(depth.shape[0])
    ranks[order] = np.arange(depth.shape[0])
    return float(spearmanr(depth, ranks).statistic)


def run(out: Path | str, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fit and compare on both runs; write the reports and the summary."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    setting = SETTINGS[bool(quick)]
    net, tree = hierarchy_run(setting, seed)
    hier = agreement(
        net,
        methods=["lesde-rates", "lesde-impact", "hfs", "hfs-inferred"],
        fit_fraction=0.5,
        replicas=setting.replicas,
        seed=seed,
    )
    hier.write(out / "hierarchy")
    shapes = agreement(
        shapes_run(setting, seed),
        methods=["lesde-rates", "lesde-impact"],
        fit_fraction=0.5,
        replicas=setting.replicas,
        seed=seed,
    )
    shapes.write(out / "shapes")
    table = pd.concat(
        [headline(hier, "hierarchy"), headline(shapes, "shapes")], ignore_index=True
    )
    per_coord = pd.concat(
        [class_r2(hier, "hierarchy"), class_r2(shapes, "shapes")], ignore_index=True
    )
    write_csv(out / "headline.csv", table)
    write_csv(out / "class_r2.csv", per_coord)
    ceiling = tie_ceiling(tree)
    results = {
        "headline": table,
        "class_r2": per_coord,
        "tie_ceiling": ceiling,
        "seconds": {**{f"hierarchy.{k}": v for k, v in hier.seconds.items()},
                    **{f"shapes.{k}": v for k, v in shapes.seconds.items()}},
    }  # fmt: skip
    write_summary(out / "summary.md", summarise(results, setting, quick, seed))
    write_run_record(
        out,
        name=NAME,
        quick=quick,
        seed=seed,
        started=started,
        headline={
            f"{row['dataset']}/{row['model']}/{row['segment']}": {
                key: row[key] for key in table.columns[3:]
            }
            for row in table.to_dict("records")
        },
    )
    return results


def _value(table: pd.DataFrame, dataset: str, model: str, segment: str, key: str):
    pick = table[
        (table["dataset"] == dataset)
        & (table["model"] == model)
        & (table["segment"] == segment)
    ][key]
    return float(pick.iloc[0]) if len(pick) else float("nan")


def summarise(results: dict[str, Any], setting: Setting, quick: bool, seed: int) -> str:
    table, per_coord = results["headline"], results["class_r2"]
    mode = "quick" if quick else "full"
    lines = [
        f"# {TITLE}",
        "",
        f"Mode {mode}, seed {seed}. Hierarchy run: tree {list(BRANCHING)} (K = 12), "
        f"{setting.n_per_class} samples per class, ReLU MLP "
        f"{setting.width}x{setting.width}, lr 0.01, batch 1, {setting.steps} steps, "
        f"a record every {setting.record}. Shapes run: {setting.shapes_per_class} "
        f"per class, ReLU MLP {setting.shapes_width}x{setting.shapes_width}, lr "
        f"0.005, batch 1, {setting.shapes_steps} steps. Fitted on the first half, "
        f"{setting.replicas} simulated replicas per fit.",
        "",
        "## Headline",
        "",
        "| dataset | model | segment | logit R^2 pooled | mean R^2 per coord | "
        "Spearman E late | Pearson E late | loss R^2 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    columns = [f"{q}.{s}" for q, s in HEADLINE[:5]]
    for row in table.to_dict("records"):
        cells = " | ".join(f"{row[c]:.3f}" for c in columns)
        lines.append(
            f"| {row['dataset']} | {row['model']} | {row['segment']} | {cells} |"
        )
    hfs = {
        key: _value(table, "hierarchy", "hfs", "held_out", key)
        for key in (
            "impact.spearman_offdiag_late",
            "impact.pearson_offdiag_late",
            "class_means.r2_pooled",
        )
    }
    hfs_sp, hfs_pe = (
        hfs["impact.spearman_offdiag_late"],
        hfs["impact.pearson_offdiag_late"],
    )
    hfs_r2 = hfs["class_means.r2_pooled"]
    impact_r2 = {
        d: _value(table, d, "lesde-impact", "held_out", "class_means.r2_pooled")
        for d in ("hierarchy", "shapes")
    }
    lines += [
        "",
        "## Acceptance figures",
        "",
        f"* HFS fit, late checkpoints: Spearman of E's off-diagonal entries with the "
        f"network's **{hfs_sp:.3f}** (target 0.9); Pearson {hfs_pe:.3f}. A "
        "per-depth shared-ancestor matrix has one value per LCA depth, so against "
        "any untied matrix its Spearman correlation cannot exceed "
        f"**{results['tie_ceiling']:.3f}** on this tree: the target sits at the "
        "ceiling of the model class, whatever the fit. What would lift it is "
        "sharing that is not a tree (a DAG, or features shared between classes "
        "across branches).",
        f"* HFS fit, held-out class-mean logits: pooled R^2 **{hfs_r2:.3f}** "
        "(target 0.8).",
        "* LE-SDE with the network's own E(t): held-out pooled R^2 "
        f"{impact_r2['hierarchy']:.3f} (hierarchy), {impact_r2['shapes']:.3f} "
        "(shapes). The HFS fit loses the part of E_net that is not "
        "hierarchical; replacing E_net(t) by its best shared-ancestor "
        "approximation in the LE-SDE costs about as much.",
        "",
        "## Shapes: R^2 per logit coordinate (class-mean trajectories)",
        "",
        "| model | segment | class | coordinate 0 | coordinate 1 | coordinate 2 |",
        "|---|---|---|---|---|---|",
    ]
    shapes = per_coord[per_coord["dataset"] == "shapes"]
    for (model, segment, cls), grp in shapes.groupby(
        ["model", "segment", "class"], sort=False
    ):
        vals = grp.sort_values("coordinate")["r2"].tolist()
        lines.append(
            f"| {model} | {segment} | {cls} | "
            + " | ".join(f"{v:.3f}" for v in vals)
            + " |"
        )
    lines += [
        "",
        "Per-coordinate R^2 on the held-out half is low or negative where a logit "
        "barely moves once the classes are separated (its variance over the "
        "segment is tiny, so any offset dominates); the pooled R^2 measures the "
        "trajectories against their spread across classes and coordinates.",
        "",
        "The reference approach (`lesde-rates`) integrates the linear L-model "
        "surrogate from the network's own initial class means. Near-zero random "
        "initial logits give the separating mode a random sign, and the linear "
        "dynamics amplify that sign, so the simulated classes can separate the "
        "wrong way; the paper's Fig. 5 avoids this with random initial conditions "
        "and one fitted scale factor (`simnet reproduce le-sde-ode`).",
    ]
    return "\n".join(lines)
