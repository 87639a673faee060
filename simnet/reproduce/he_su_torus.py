"""He & Su's synthetic study: S_rel decays with geodesic distance for ReLU nets only.

Reproduces the protocol of He & Su, *The Local Elasticity of Neural Networks* (ICLR
2020), Section 2, as their code runs it (``local_elasticity.md`` section 1.4):

* data: the torus curves (r = 8, k = 4) and the two folded boxes, 100 points each,
  half positive (label 1), half negative (label 0);
* nets: a 2-layer MLP (torus) or a 3-layer MLP (boxes) with one raw output and the
  MSE loss, ReLU versus linear (no activation), PyTorch-default initialisation; the
  ReLU and the linear net start from the same weights;
* training: full-batch SGD (batch 100). The widths are reduced from the paper's
  40960 (torus) and 8192 (boxes) so a run fits on a laptop; the learning rate is
  scaled up by the same factor, so ``lr * width`` (the step size in function space,
  since the NTK of a standard-parametrised net grows like its width) is the paper's
  (``1e-5 * 40960`` and ``1e-5 * 8192``) and, in full mode, so is the number of
  epochs (20 000) and therefore the training time in function space;
* measurement, at the trained weights: one probe SGD step per positive point, from
  the same weights every time, with He & Su's step rule (``1e-6 * 3^k``), giving
  S_rel(x_i, x_j) for all ordered pairs of distinct positive points (50 * 49);
  the Pearson correlation of S_rel with the geodesic distance; and the kernel
  distance: the symmetrised S_ker matrix embedded by its top 10 eigenpairs
  (features ``V sqrt(lambda)``), Euclidean distances, correlated with the geodesic
  distance. The same numbers at the initial weights are the untrained control.

Writes ``correlations.csv`` (one row per manifold and net), ``pairs.csv`` (every
pair: geodesic distance, S_rel, S_ker, kernel distance), ``figures/*.png`` (scatter
plots), ``summary.md`` and ``run.json``.

Run: ``simnet reproduce he-su-torus --out DIR`` (full mode: about 1 minute on a
shared 2-core machine; ``--quick``: about 8 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..datasets import Dataset, folded_boxes, geodesic_distance, torus
from ..networks import MLP, MLPParams, probe_similarities, train_mlp
from ._common import (
    NO_FIGURES,
    NO_NUMBER,
    figure_or_none,
    paper_table,
    run_recorded,
    save_figure,
    write_csv,
    write_summary,
)

NAME = "he-su-torus"
TITLE = "S_rel falls with geodesic distance on the torus and folded boxes (ReLU only)"
PAPER = (
    "He & Su, The Local Elasticity of Neural Networks (ICLR 2020), Section 2: "
    "synthetic torus and two folded boxes"
)

N_POINTS = 100
N_EIGEN = 10  # He & Su's kernel embedding: top 10 eigenpairs
ACTIVATIONS = ("relu", "linear")
MANIFOLDS = ("torus", "folded_boxes")
# He & Su's widths and learning rate, kept as the product lr * width.
PAPER_WIDTH = {"torus": 40960, "folded_boxes": 8192}
PAPER_LR = 1e-5
PAPER_EPOCHS = 20_000


@dataclass(frozen=True)
class Setting:
    """Architecture and training of the nets of one manifold."""

    n_hidden_layers: int
    width: int
    epochs: int

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden-layer widths."""
        return (self.width,) * self.n_hidden_layers

    def lr(self, manifold: str) -> float:
        """He & Su's ``lr * width`` at this width."""
        return PAPER_LR * PAPER_WIDTH[manifold] / self.width


SETTINGS = {
    False: {
        "torus": Setting(1, 1024, PAPER_EPOCHS),
        "folded_boxes": Setting(2, 256, PAPER_EPOCHS),
    },
    True: {
        "torus": Setting(1, 512, 2_000),
        "folded_boxes": Setting(2, 128, 2_000),
    },
}


def make_data(manifold: str, seed: np.random.SeedSequence) -> Dataset:
    """The 100 points of one manifold (50 positive, 50 negative)."""
    if manifold == "torus":
        return torus(N_POINTS, r=8.0, k=4, seed=seed)
    return folded_boxes(N_POINTS, seed=seed)


def trained_params(mlp: MLP, result: Any) -> MLPParams:
    """The final weights of a :func:`~simnet.networks.train_mlp` run."""
    state = result.state
    layers = range(mlp.n_layers)
    return MLPParams(
        [state[f"weight_{k}"] for k in layers],
        [state[f"bias_{k}"] for k in layers] if mlp.bias else [],
    )


def kernel_distance(s_ker: np.ndarray, n_eigen: int = N_EIGEN) -> np.ndarray:
    """Euclidean distances in the top-``n_eigen`` eigen-embedding of sym(S_ker)."""
    sym = 0.5 * (s_ker + s_ker.T)
    values, vectors = np.linalg.eigh(sym)
    top = np.argsort(values)[::-1][:n_eigen]
    features = vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    diff = features[:, None, :] - features[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def measure(
    mlp: MLP, params: MLPParams, data: Dataset, pos: np.ndarray, geo: np.ndarray
) -> dict[str, Any]:
    """Probe every positive point; correlations of S_rel and kernel distance."""
    sim = probe_similarities(mlp, params, data.X[pos], data.y[pos])
    dist = kernel_distance(sim.s_ker)
    off = ~np.eye(pos.size, dtype=bool)
    return {
        "s_rel": sim.s_rel,
        "s_ker": sim.s_ker,
        "kernel_distance": dist,
        "eta_max": float(sim.eta.max()),
        "corr_s_rel": float(np.corrcoef(sim.s_rel[off], geo[off])[0, 1]),
        "corr_kernel_distance": float(np.corrcoef(dist[off], geo[off])[0, 1]),
    }


def run(out: Path | str, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the study and write tables, figures, ``summary.md`` and ``run.json``.

    Parameters
    ----------
    out : path
        Output folder (created).
    quick : bool, default False
        Narrower nets and 2 000 epochs instead of 20 000.
    seed : int, default 0
        Root seed of the data and the initial weights.

    Returns
    -------
    dict
        ``{manifold: {activation: {...}}}`` with the correlations
        (``corr_s_rel``, ``corr_kernel_distance`` and their ``*_init`` controls),
        the final training loss and accuracy and ``seconds``; plus ``headline``
        (the correlations of S_rel with the geodesic distance) and ``seconds``.
    """
    return run_recorded(NAME, out, quick, seed, _run)


def _run(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    settings = SETTINGS[quick]
    root = np.random.SeedSequence(seed)
    rows, pair_frames = [], []
    results: dict[str, Any] = {}
    scatter: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    for manifold, (data_seed, init_seed) in zip(
        MANIFOLDS, (s.spawn(2) for s in root.spawn(len(MANIFOLDS))), strict=True
    ):
        setting = settings[manifold]
        data = make_data(manifold, data_seed)
        pos = np.flatnonzero(data.y == 1)
        geo = geodesic_distance(data, pos[:, None], pos[None, :])
        ii, jj = np.nonzero(~np.eye(pos.size, dtype=bool))
        results[manifold] = {}
        for activation in ACTIVATIONS:
            started = time.perf_counter()
            mlp = MLP(3, setting.hidden, 1, activation=activation, loss="mse")
            params0 = mlp.init(init_seed)  # same weights for ReLU and linear
            training = train_mlp(
                mlp,
                data.X,
                data.y,
                steps=setting.epochs,
                lr=setting.lr(manifold),
                batch_size=N_POINTS,  # full batch: one step per epoch
                record={"log": 20},
                observe=["loss"],
                params=params0,
                seed=init_seed,
                progress=False,
            )
            params = trained_params(mlp, training)
            final = measure(mlp, params, data, pos, geo)
            init = measure(mlp, params0, data, pos, geo)
            metrics = training.table("metrics")
            last = metrics[metrics["step"] == setting.epochs].set_index("observable")
            entry = {
                "hidden": list(setting.hidden),
                "lr": setting.lr(manifold),
                "epochs": setting.epochs,
                "final_loss": float(last.loc["loss", "value"]),
                "final_accuracy": float(last.loc["accuracy", "value"]),
                "corr_s_rel": final["corr_s_rel"],
                "corr_kernel_distance": final["corr_kernel_distance"],
                "corr_s_rel_init": init["corr_s_rel"],
                "corr_kernel_distance_init": init["corr_kernel_distance"],
                "probe_eta_max": final["eta_max"],
                "seconds": time.perf_counter() - started,
            }
            results[manifold][activation] = entry
            rows.append({"manifold": manifold, "activation": activation, **entry})
            pair_frames.append(
                pd.DataFrame(
                    {
                        "manifold": manifold,
                        "activation": activation,
                        "i": pos[ii],
                        "j": pos[jj],
                        "geodesic": geo[ii, jj],
                        "s_rel": final["s_rel"][ii, jj],
                        "s_ker": final["s_ker"][ii, jj],
                        "kernel_distance": final["kernel_distance"][ii, jj],
                        "s_rel_init": init["s_rel"][ii, jj],
                    }
                )
            )
            scatter[manifold, activation] = {
                "geodesic": geo[ii, jj],
                "s_rel": final["s_rel"][ii, jj],
                "kernel_distance": final["kernel_distance"][ii, jj],
            }

    table = pd.DataFrame(rows)
    table["hidden"] = table["hidden"].map(lambda h: "x".join(map(str, h)))
    write_csv(out / "correlations.csv", table)
    write_csv(out / "pairs.csv", pd.concat(pair_frames, ignore_index=True))
    drawn = write_figures(out / "figures", scatter, results)
    results["headline"] = {
        f"corr(S_rel, geodesic) {m} {a}": results[m][a]["corr_s_rel"]
        for m in MANIFOLDS
        for a in ACTIVATIONS
    }
    write_summary(out / "summary.md", summarise(table, quick, seed, drawn))
    return results


def write_figures(
    folder: Path,
    scatter: dict[tuple[str, str], dict[str, np.ndarray]],
    results: dict[str, Any],
) -> bool:
    """Scatter plots of S_rel and the kernel distance against the geodesic
    distance; False (nothing drawn) without matplotlib."""
    panels = (
        ("s_rel", "relative similarity S_rel", "corr_s_rel"),
        ("kernel_distance", "kernel distance (top-10 eigen-embedding)",
         "corr_kernel_distance"),
    )  # fmt: skip
    for key, ylabel, corr in panels:
        fig = figure_or_none(figsize=(9.0, 7.0))
        if fig is None:
            return False
        axes = fig.subplots(len(MANIFOLDS), len(ACTIVATIONS), squeeze=False)
        for r, manifold in enumerate(MANIFOLDS):
            for c, activation in enumerate(ACTIVATIONS):
                ax = axes[r, c]
                pts = scatter[manifold, activation]
                ax.scatter(pts["geodesic"], pts[key], s=4, alpha=0.35)
                value = results[manifold][activation][corr]
                ax.set_title(f"{manifold}, {activation}: r = {value:.2f}")
                ax.set_xlabel("geodesic distance")
                ax.set_ylabel(ylabel)
                ax.grid(alpha=0.3)
        save_figure(fig, folder / f"{key}_vs_geodesic.png")
    return True


def summarise(table: pd.DataFrame, quick: bool, seed: int, drawn: bool) -> str:
    """The Markdown summary: the correlation table and the paper comparison."""
    mode = "quick" if quick else "full"
    shown = table[
        [
            "manifold",
            "activation",
            "hidden",
            "lr",
            "epochs",
            "final_loss",
            "final_accuracy",
            "corr_s_rel",
            "corr_s_rel_init",
            "corr_kernel_distance",
            "corr_kernel_distance_init",
        ]
    ]
    by = table.set_index(["manifold", "activation"])
    lines = [
        f"# He & Su synthetic study ({mode} mode, seed {seed})",
        "",
        "Pearson correlation with the geodesic distance over the 50 * 49 ordered "
        "pairs of distinct positive points: of S_rel (He & Su's probe, step "
        "1e-6 * 3^k) and of the kernel distance (top-10 eigen-embedding of the "
        "symmetrised S_ker). `*_init`: the same at the initial weights. Full-batch "
        "SGD on MSE; lr * width as in the paper.",
        "",
        "```",
        shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
        "```",
        "",
    ]
    for manifold in MANIFOLDS:
        rel = by.loc[manifold]
        lines.append(
            f"- {manifold}: corr(S_rel, geodesic) = "
            f"{rel.loc['relu', 'corr_s_rel']:.3f} (ReLU) vs "
            f"{rel.loc['linear', 'corr_s_rel']:.3f} (linear); kernel distance "
            f"{rel.loc['relu', 'corr_kernel_distance']:.3f} (ReLU) vs "
            f"{rel.loc['linear', 'corr_kernel_distance']:.3f} (linear)."
        )
    torus_lin = by.loc[("torus", "linear"), "corr_s_rel"]
    rows = []
    for manifold in MANIFOLDS:
        relu = by.loc[(manifold, "relu")]
        rows.append(
            (
                f"corr(S_rel, geodesic), ReLU, {manifold}",
                f"{relu['corr_s_rel']:.3f} (init {relu['corr_s_rel_init']:.3f})",
                f"strong negative correlation (qualitative); {NO_NUMBER} "
                "(the values are in the paper's Section 2 figures, TODO-PDF)",
                "same sign and strength as described; the paper's net is 40-80x "
                "wider, which this run matches only through lr * width",
            )
        )
    rows.append(
        (
            "corr(S_rel, geodesic), linear, torus",
            f"{torus_lin:.3f}",
            f"no decay for linear nets (qualitative); {NO_NUMBER}",
            "weaker than ReLU but not zero: the torus curves lie near the plane "
            "z = 0 on a circle of radius 8, so the linear kernel x^T B x' itself "
            "falls roughly like cos(theta - theta') along the curve; this is "
            "geometry of the inputs, not locality",
        )
    )
    rows.append(
        (
            "corr(S_rel, geodesic), linear, folded boxes",
            f"{by.loc[('folded_boxes', 'linear'), 'corr_s_rel']:.3f}",
            f"no decay for linear nets (qualitative); {NO_NUMBER}",
            "agrees: no relation with the geodesic distance",
        )
    )
    kd = ", ".join(
        f"{m} {by.loc[(m, 'relu'), 'corr_kernel_distance']:.3f} (ReLU) / "
        f"{by.loc[(m, 'linear'), 'corr_kernel_distance']:.3f} (linear)"
        for m in MANIFOLDS
    )
    rows.append(
        (
            "corr(kernel distance, geodesic)",
            kd,
            f"the kernelised variant of the same study; {NO_NUMBER}",
            "positive for both nets: a linear net's S_ker is x^T B x' + v^T (x + x') "
            "+ c, so its "
            "eigen-embedding is an affine image of the inputs and its distances "
            "are the norms of B^(1/2) (x - x'), which grow with the geodesic distance "
            "along these curves; only S_rel, normalised by the change at the "
            "stepped point, separates ReLU from linear here",
        )
    )
    rows.append(
        (
            "trained vs initial weights (ReLU)",
            "about equal (see `corr_s_rel_init`)",
            "recalled as stronger after training [R]; " + NO_NUMBER,
            "with the paper's lr * width the nets train in the kernel regime, so "
            "their tangent kernel, hence S_rel, hardly changes",
        )
    )
    lines += ["", "## Measured vs paper", "", paper_table(rows)]
    if not drawn:
        lines += ["", NO_FIGURES]
    return "\n".join(lines)
