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
plots) and ``summary.md``.

Run: ``python experiments/he_su_torus.py`` (about 2 minutes; ``--quick``: seconds).
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

from simnet.datasets import Dataset, folded_boxes, geodesic_distance, torus
from simnet.io import atomic_write, atomic_write_text
from simnet.networks import MLP, MLPParams, probe_similarities, train_mlp

NAME = "he_su_torus"
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


def blas_single_thread() -> contextlib.AbstractContextManager:
    """One BLAS thread: these matrices are small, and OpenBLAS threads competing
    for a shared machine's cores slow small products down by orders of magnitude."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def make_data(manifold: str, seed: np.random.SeedSequence) -> Dataset:
    if manifold == "torus":
        return torus(N_POINTS, r=8.0, k=4, seed=seed)
    return folded_boxes(N_POINTS, seed=seed)


def trained_params(mlp: MLP, result: Any) -> MLPParams:
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


def run(out: Path | str, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the study, write tables, figures and summary to ``out``.

    Returns ``{manifold: {activation: {...}}}`` with the correlations
    (``corr_s_rel``, ``corr_kernel_distance`` and their ``*_init`` controls), the
    final training loss and accuracy, and ``seconds``.
    """
    with blas_single_thread():
        return _run(Path(out), bool(quick), seed)


def _run(out: Path, quick: bool, seed: int) -> dict[str, Any]:
    settings = SETTINGS[bool(quick)]
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
    write_figures(out / "figures", scatter, results)
    summary = summarise(table, quick, seed)
    atomic_write_text(out / "summary.md", summary)
    print(summary, end="")
    return results


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda p: frame.to_csv(p, index=False, float_format="%.6g"))


def write_figures(
    folder: Path,
    scatter: dict[tuple[str, str], dict[str, np.ndarray]],
    results: dict[str, Any],
) -> None:
    try:
        from matplotlib.figure import Figure  # no pyplot: no global state
    except ImportError:
        print("no figures: matplotlib is missing (pip install 'simnet[plot]')")
        return
    panels = (
        ("s_rel", "relative similarity S_rel", "corr_s_rel"),
        ("kernel_distance", "kernel distance (top-10 eigen-embedding)",
         "corr_kernel_distance"),
    )  # fmt: skip
    for key, ylabel, corr in panels:
        fig = Figure(figsize=(9.0, 7.0), layout="constrained")
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
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(
            folder / f"{key}_vs_geodesic.png",
            lambda p, fig=fig: fig.savefig(p, dpi=110, format="png"),
        )


def summarise(table: pd.DataFrame, quick: bool, seed: int) -> str:
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
        rel = table.set_index(["manifold", "activation"]).loc[manifold]
        lines.append(
            f"- {manifold}: corr(S_rel, geodesic) = "
            f"{rel.loc['relu', 'corr_s_rel']:.3f} (ReLU) vs "
            f"{rel.loc['linear', 'corr_s_rel']:.3f} (linear); kernel distance "
            f"{rel.loc['relu', 'corr_kernel_distance']:.3f} (ReLU) vs "
            f"{rel.loc['linear', 'corr_kernel_distance']:.3f} (linear)."
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
