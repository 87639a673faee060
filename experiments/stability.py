"""Locally elastic stability on the CIFAR-10 class tree: same class vs distant class.

Reproduces the motivating measurement of Deng, He & Su (2021, Fig. 1): removing one
training sample of a class changes the loss on the same class several times more
than on a distant class (here: a class in the other top-level superclass, animals
vs vehicles). Three learners on ``Hierarchy.preset("cifar10")``:

* the HFS particle simulator (retraining without the sample, coupled sample stream,
  evaluated on held-out particles);
* a one-hidden-layer ReLU MLP on ``hierarchical_synthetic`` (retraining with the
  full run's minibatches minus the removed sample, ``coupling="drop"``, evaluated
  on a test split);
* kernel ridge (RBF, one-hot targets) on the same data, by exact leave-one-out.

For each it writes the mean sensitivity by relation (same class, LCA depth 2 / 1,
distant), the 10 x 10 class matrix, the stability constants and both generalisation
bounds (Bousquet & Elisseeff's uniform one and the locally elastic one, structure of
the reference dossier, reconstructed constants) at delta = 0.05.

Outputs in ``--out``: ``by_relation.csv``, ``class_matrix.csv``, ``bounds.csv`` and
``summary.md``.

Run: ``python experiments/stability.py [--quick] [--seed 0] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

import simnet
from simnet.datasets import hierarchical_synthetic
from simnet.io import atomic_write_text
from simnet.networks import MLP
from simnet.theory.stability import (
    Sensitivities,
    compare_bounds,
    kernel_ridge_loo_sensitivities,
    mlp_loo_sensitivities,
    rkhs_stability_constants,
    simulator_loo_sensitivities,
)

DELTA = 0.05


def _removed_per_class(labels: np.ndarray, k: int, per_class: int) -> np.ndarray:
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in range(k)])


def _split(ds, n_train: int, k: int) -> tuple[np.ndarray, ...]:
    tr = np.concatenate([np.flatnonzero(ds.y == c)[:n_train] for c in range(k)])
    te = np.concatenate([np.flatnonzero(ds.y == c)[n_train:] for c in range(k)])
    return ds.X[tr], ds.y[tr], ds.X[te], ds.y[te]


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out/stability"))
    parser.add_argument("--quick", action="store_true", help="reduced run (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    h = simnet.Hierarchy.preset("cifar10")
    k = h.n_classes
    quick = args.quick
    cfg = {
        "sim_n_per_class": 10 if quick else 30,
        "sim_steps": 2000 if quick else 20000,
        "sim_heldout": 10 if quick else 20,
        "removed_per_class": 1 if quick else 3,
        "mlp_n_train": 20 if quick else 50,
        "mlp_n_test": 20 if quick else 50,
        "mlp_steps": 1500 if quick else 3000,
        "mlp_lr": 0.1,
        "mlp_batch": 8,
        "mlp_coupling": "drop",
        "krr_lam": 1e-3,
    }
    results: dict[str, Sensitivities] = {}
    loss_bounds: dict[str, float] = {}
    seconds: dict[str, float] = {}

    # (i) the HFS simulator, by retraining
    t0 = time.perf_counter()
    model = simnet.HFSModel(h, n_per_class=cfg["sim_n_per_class"])
    removed = _removed_per_class(model.labels(), k, cfg["removed_per_class"])
    sim = simulator_loo_sensitivities(
        model,
        steps=cfg["sim_steps"],
        removed_idx=removed,
        seed=args.seed,
        n_heldout_per_class=cfg["sim_heldout"],
    )
    # evaluate on the held-out particles only (test points, as in Fig. 1)
    n_train = sim.n_train
    results["simulator (HFS, retrain)"] = Sensitivities(
        values=sim.values[:, n_train:],
        removed_idx=sim.removed_idx,
        removed_labels=sim.removed_labels,
        eval_labels=sim.eval_labels[n_train:],
        removed_eval_idx=np.full(sim.removed_idx.size, -1),
        loss_full=sim.loss_full[n_train:],
        train_loss=sim.train_loss,
        n_train=n_train,
        method=sim.method,
    )
    loss_bounds["simulator (HFS, retrain)"] = float(sim.loss_full.max())
    seconds["simulator (HFS, retrain)"] = time.perf_counter() - t0

    # data for the MLP and kernel ridge
    ds = hierarchical_synthetic(
        h, n_per_class=cfg["mlp_n_train"] + cfg["mlp_n_test"], dim=32, seed=args.seed
    )
    Xtr, ytr, Xte, yte = _split(ds, cfg["mlp_n_train"], k)

    # (ii) an MLP, by retraining
    t0 = time.perf_counter()
    mlp = MLP(input_dim=32, hidden=(64,), n_outputs=k)
    removed = _removed_per_class(ytr, k, cfg["removed_per_class"])
    mlp_s = mlp_loo_sensitivities(
        mlp,
        Xtr,
        ytr,
        steps=cfg["mlp_steps"],
        lr=cfg["mlp_lr"],
        batch_size=cfg["mlp_batch"],
        coupling=cfg["mlp_coupling"],
        removed_idx=removed,
        X_eval=Xte,
        y_eval=yte,
        seed=args.seed,
    )
    results["MLP (retrain)"] = mlp_s
    loss_bounds["MLP (retrain)"] = float(mlp_s.loss_full.max())
    seconds["MLP (retrain)"] = time.perf_counter() - t0

    # (iii) kernel ridge, exact leave-one-out of every training point
    t0 = time.perf_counter()
    onehot = np.eye(k)
    kw = dict(lam=cfg["krr_lam"], X_eval=Xte, y_eval=onehot[yte], kernel="rbf")
    krr = kernel_ridge_loo_sensitivities(
        Xtr, onehot[ytr], labels=ytr, eval_labels=yte, **kw
    )
    theory = rkhs_stability_constants(Xtr, onehot[ytr], **kw)
    results["kernel ridge (exact LOO)"] = krr
    loss_bounds["kernel ridge (exact LOO)"] = theory.loss_bound
    seconds["kernel ridge (exact LOO)"] = time.perf_counter() - t0

    rel_rows, mat_rows, bound_rows = [], [], []
    summary: dict[str, dict[str, float]] = {}
    plane, cat = h.classes.index("plane"), h.classes.index("cat")
    for name, sens in results.items():
        rel = sens.by_relation(h)
        mat = sens.class_matrix(k)
        for key, value in rel.items():
            rel_rows.append({"model": name, "relation": key, "value": value})
        for a in range(k):
            for b in range(k):
                mat_rows.append(
                    {
                        "model": name,
                        "removed_class": h.classes[a],
                        "eval_class": h.classes[b],
                        "mean_sensitivity": mat[a, b],
                    }
                )
        cmp = compare_bounds(sens, loss_bound=loss_bounds[name], delta=DELTA)
        bound_rows.append({"model": name, "constants": "empirical", **cmp.to_dict()})
        summary[name] = {
            **rel,
            "plane_plane_over_plane_cat": mat[plane, plane] / mat[plane, cat],
            "beta_ratio": cmp.beta_ratio,
            "uniform_bound": cmp.uniform_bound,
            "les_bound": cmp.les_bound,
            "bound_ratio": cmp.bound_ratio,
            "seconds": seconds[name],
        }
    name = "kernel ridge (exact LOO)"
    cmp_th = compare_bounds(
        krr,
        loss_bound=theory.loss_bound,
        delta=DELTA,
        uniform_beta=theory.uniform,
        les_beta=float(np.max(theory.local.mean(axis=1))),
    )
    bound_rows.append({"model": name, "constants": "analytic", **cmp_th.to_dict()})

    by_relation = pd.DataFrame(rel_rows)
    bounds = pd.DataFrame(bound_rows)
    by_relation.to_csv(args.out / "by_relation.csv", index=False)
    pd.DataFrame(mat_rows).to_csv(args.out / "class_matrix.csv", index=False)
    bounds.to_csv(args.out / "bounds.csv", index=False)

    wide = by_relation.pivot(index="relation", columns="model", values="value")
    lines = [
        f"# Locally elastic stability on the CIFAR-10 tree (seed {args.seed}"
        f"{', quick' if quick else ''})",
        "",
        "Configuration: " + ", ".join(f"{a}={b}" for a, b in cfg.items()),
        "",
        "## Same class vs distant class (different top-level superclass)",
        "",
        "Mean |loss change| at test points when one training sample is removed, by "
        "the relation of the test point's class to the removed sample's class "
        "(lca_depth_2: same superclass 'mammals', lca_depth_1: same 'animals'/"
        "'vehicles', distant = lca_depth_0). ratio = same_class / distant.",
        "",
        wide.to_string(float_format=lambda v: f"{v:.4g}"),
        "",
        "| model | same/distant | plane-plane / plane-cat | seconds |",
        "|---|---|---|---|",
    ]
    for name, s in summary.items():
        lines.append(
            f"| {name} | {s['ratio']:.2f} | {s['plane_plane_over_plane_cat']:.2f} | "
            f"{s['seconds']:.1f} |"
        )
    lines += [
        "",
        f"## Generalisation bounds (delta = {DELTA})",
        "",
        "uniform: Bousquet & Elisseeff Thm 12 exactly; les: the dossier's structure "
        "with reconstructed constants (see simnet.theory.stability."
        "locally_elastic_bound). 'empirical' constants are the estimates "
        "max sensitivity and max-over-removed of the mean over test points (not "
        "certified); M is the largest observed loss for the cross-entropy models and "
        "the analytic squared-loss range for kernel ridge. 'analytic' uses the "
        "RKHS constants sigma^2 kappa^2/(2 lam n) and sigma^2 sqrt(k k')/(2 lam n).",
        "",
        bounds[
            [
                "model",
                "constants",
                "uniform_beta",
                "les_beta",
                "beta_ratio",
                "emp_risk",
                "loss_bound",
                "uniform_bound",
                "les_bound",
                "bound_ratio",
            ]
        ].to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        "",
    ]
    atomic_write_text(args.out / "summary.md", "\n".join(lines))
    print("\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
