"""The trained networks shared by the four LE-SDE reproductions.

Zhang, Wang & Su (NeurIPS 2021) train a LeNet on their geometric-shapes images
("GeoMNIST", 500 training + 500 validation images per class) by SGD with batch size
1 and learning rate 0.005 for 10,000 iterations, 100 independent trials per
label-corruption rate. simnet has no CNN: these runs train a 1024-256-256-3 ReLU
MLP (float64, PyTorch's default initialisation, cross-entropy) on the same images
with the same optimiser, and record at a fixed stride

* the class-mean logits over **all training points** (the reference code averages
  the logits of the one sampled point per iteration over the trials instead,
  dossier section 5, item 11);
* the training loss and accuracy, and the validation loss and accuracy;
* for the clean runs (p = 0), the network's class-level NTK impact matrix E(t) on
  a fixed subset of 30 training points (for :func:`simnet.analysis.fit_lesde_impact`).

Trials share the dataset (as in the paper) and, across corruption rates, their
initial weights and sample order (trial i always uses seed ``(seed, i)``: common
random numbers, so differences between rates are not differences between
initialisations). The trial-averaged class means (:func:`pooled_means`) play the
role of the reference code's trial-pooled class means.

Every run is cached in memory for the life of the process, keyed by the protocol,
the rate, the trial and the seed, so the four reproductions run in one process
(the test suite, or ``simnet reproduce`` over several names) train each network
once; with ``cache`` a run is also saved to (and reloaded from) a directory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis import (
    ClassMeanTrajectory,
    class_mean_trajectory,
    estimate_integrated_impacts,
    impact_rates,
)
from ..datasets import Dataset, add_label_noise, geometric_shapes
from ..ensemble import simulate_ensemble
from ..errors import DataError
from ..models import ImpactMatrix, LESDEModel
from ..networks import MLP, train_mlp
from ..networks.mlp import MLPParams
from ..results import RunResult
from ..schedules import Piecewise
from ._common import blas_single_thread

__all__ = [
    "FULL",
    "PAPER",
    "QUICK",
    "ReferenceODE",
    "ShapesProtocol",
    "final_direction",
    "network_runs",
    "onset_time",
    "pooled_means",
    "pooled_metrics",
    "pooled_result",
    "r_squared",
    "reference_leode",
    "shapes_data",
    "simulated_means",
]

#: Observables every run records (impact is added for the clean runs).
_OBSERVE = ("loss", "class_means")


#: The paper every LE-SDE reproduction cites; each appends its figure.
PAPER = (
    "Zhang, Wang & Su, Imitating Deep Learning Dynamics via Locally Elastic "
    "Stochastic Differential Equations (NeurIPS 2021)"
)


@dataclass(frozen=True)
class ShapesProtocol:
    """How the networks are trained.

    Attributes
    ----------
    n_train, n_val : int
        Training and validation images per class.
    steps : int
        SGD iterations (batch size 1).
    lr : float
        Learning rate.
    stride : int
        Record every ``stride`` iterations.
    trials : int
        Independent trials (fresh initial weights and sample order) per rate.
    hidden : tuple of int
        Hidden widths of the ReLU MLP.
    ntk_samples : int
        Training points of the NTK impact matrix (clean runs only).
    """

    n_train: int
    n_val: int
    steps: int
    lr: float
    stride: int
    trials: int
    hidden: tuple[int, ...] = (256, 256)
    ntk_samples: int = 30

    def describe(self) -> str:
        """One line for the summaries."""
        widths = "-".join(str(w) for w in (1024, *self.hidden, 3))
        return (
            f"{widths} ReLU MLP (float64, PyTorch init), SGD batch 1, lr {self.lr:g}, "
            f"{self.steps:,} iterations, {self.n_train} training + {self.n_val} "
            f"validation images per class, class means over all training points "
            f"recorded every {self.stride} iterations, {self.trials} trial(s) per rate"
        )

    def window(self, iterations: int = 151) -> int:
        """The odd Savitzky-Golay window (in records, at least 5) closest to
        ``iterations`` iterations."""
        half = max(2, int((iterations / self.stride - 1.0) / 2.0 + 0.5))
        return 2 * half + 1


#: The paper's protocol (with fewer trials: 100 in the paper).
FULL = ShapesProtocol(
    n_train=500, n_val=500, steps=10_000, lr=0.005, stride=10, trials=3
)
#: The quick protocol: fewer images, iterations and trials, the same optimiser.
QUICK = ShapesProtocol(n_train=60, n_val=60, steps=2_500, lr=0.005, stride=20, trials=1)

_MEMORY: dict[str, RunResult] = {}


@lru_cache(maxsize=4)
def shapes_data(n_train: int, n_val: int, seed: int) -> tuple[Dataset, Dataset]:
    """The paper's split of the shapes: per class, the first ``n_train`` images of
    the shuffled list train and the next ``n_val`` validate."""
    ds = geometric_shapes(n_train + n_val, seed=np.random.SeedSequence([seed, 0]))
    position = np.concatenate(
        [np.arange(n_train + n_val)] * ds.n_classes
    )  # the images are class-major and shuffled within each class
    return ds.subset(position < n_train), ds.subset(position >= n_train)


def _key(protocol: ShapesProtocol, p: float, trial: int, seed: int) -> str:
    spec = {**asdict(protocol), "trials": None, "p": round(p, 6), "trial": trial}
    spec["seed"] = seed
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    return f"p{p:.3f}_trial{trial}_{digest[:10]}"


def _train(protocol: ShapesProtocol, p: float, trial: int, seed: int) -> RunResult:
    train, val = shapes_data(protocol.n_train, protocol.n_val, seed)
    if p > 0:
        train = add_label_noise(
            train, p, seed=np.random.SeedSequence([seed, 1, round(p * 1e6)])
        )
    mlp = MLP(input_dim=train.n_features, hidden=protocol.hidden, n_outputs=3)
    observe = [*_OBSERVE, "impact"] if p == 0 else list(_OBSERVE)
    with blas_single_thread():
        result = train_mlp(
            mlp,
            train.X,
            train.y,
            steps=protocol.steps,
            lr=protocol.lr,
            batch_size=1,
            record=protocol.stride,
            observe=observe,
            ntk_samples=protocol.ntk_samples,
            validation=(val.X, val.y),
            class_names=list(train.class_names),
            seed=np.random.SeedSequence([seed, 2, trial]),
            progress=False,
        )
        n_layers = len(protocol.hidden) + 1
        params = MLPParams(
            [result.state[f"weight_{i}"] for i in range(n_layers)],
            [result.state[f"bias_{i}"] for i in range(n_layers)],
        )
        final_logits = mlp.forward(params, train.X)
    # keep the cache small: the final logits instead of the weights
    state = {
        "labels": result.state["labels"],
        "clean_labels": np.asarray(
            train.per_sample.get("clean_y", train.y), dtype=np.int64
        ),
        "final_logits": final_logits,
        "ntk_idx": result.state["ntk_idx"],
    }
    config = {**result.config, "label_noise": p, "trial": trial}
    return RunResult(
        config=config, tables=result.tables, state=state, metadata=result.metadata
    )


def network_runs(
    protocol: ShapesProtocol,
    p: float = 0.0,
    *,
    seed: int = 0,
    cache: Path | None = None,
) -> list[RunResult]:
    """The ``protocol.trials`` trained networks at corruption rate ``p``.

    Parameters
    ----------
    protocol : ShapesProtocol
    p : float, default 0
        Share of each class's training labels moved to the other classes
        (:func:`simnet.datasets.add_label_noise`, the paper's protocol).
    seed : int, default 0
        Seed of the images, the corruption and the trials.
    cache : pathlib.Path, optional
        Directory where runs are saved and looked up (one folder per run).

    Returns
    -------
    list of RunResult
        One per trial. Tables ``metrics`` (with ``val_loss`` and ``val_accuracy``),
        ``class_means`` and, for ``p = 0``, ``impact``; state ``labels`` (the
        possibly corrupted training labels), ``clean_labels``, ``final_logits``
        (training points at the last step) and ``ntk_idx``.
    """
    runs = []
    for trial in range(protocol.trials):
        key = _key(protocol, p, trial, seed)
        if key not in _MEMORY:
            folder = None if cache is None else Path(cache) / key
            result = None
            if folder is not None and (folder / "metadata.json").is_file():
                try:
                    result = RunResult.load(folder)
                except (DataError, ImportError):
                    result = None
            if result is None:
                result = _train(protocol, p, trial, seed)
                if folder is not None:
                    result.save(folder, format="csv")
            _MEMORY[key] = result
        runs.append(_MEMORY[key])
    return runs


def pooled_means(runs: list[RunResult]) -> ClassMeanTrajectory:
    """Class-mean logits averaged over the trials (same record steps)."""
    trajs = [class_mean_trajectory(r) for r in runs]
    first = trajs[0]
    for traj in trajs[1:]:
        if not np.array_equal(traj.steps, first.steps):
            raise DataError("The trials were recorded at different steps.")
    means = np.mean([t.means for t in trajs], axis=0)
    return ClassMeanTrajectory(
        steps=first.steps, times=first.times, means=means, classes=first.classes
    )


def pooled_metrics(runs: list[RunResult]) -> pd.DataFrame:
    """The ``metrics`` tables averaged over the trials: one column per observable,
    indexed by step (``*_std`` columns hold the spread across trials)."""
    wide = [
        r.table("metrics").pivot(index="step", columns="observable", values="value")
        for r in runs
    ]
    stacked = pd.concat(wide, keys=range(len(wide)), names=["trial"])
    mean = stacked.groupby(level="step").mean()
    std = stacked.groupby(level="step").std(ddof=0).add_suffix("_std")
    return pd.concat([mean, std], axis=1)


def pooled_result(runs: list[RunResult]) -> RunResult:
    """The "average network": trial 0's run with its ``class_means``, ``impact``
    and ``metrics`` tables replaced by their means over the trials (what
    :func:`simnet.analysis.fit_lesde_rates` and ``fit_lesde_impact`` are fitted to)."""
    first = runs[0]
    tables = dict(first.tables)
    for name in ("class_means", "impact", "metrics"):
        if name not in first.tables:
            continue
        frames = [r.table(name) for r in runs]
        keys = [c for c in frames[0].columns if c != "value"]
        stacked = pd.concat(frames, ignore_index=True)
        mean = stacked.groupby(keys, sort=False, as_index=False)["value"].mean()
        tables[name] = mean[frames[0].columns.tolist()]
    tables.pop("elasticity_curve", None)
    return RunResult(
        config={**first.config, "pooled_trials": len(runs)},
        tables=tables,
        state=first.state,
        metadata=first.metadata,
    )


def r_squared(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot`` of a prediction."""
    observed = np.asarray(observed, dtype=np.float64)
    residual = np.sum((observed - np.asarray(predicted, dtype=np.float64)) ** 2)
    total = np.sum((observed - observed.mean()) ** 2)
    return float(1.0 - residual / total) if total > 0 else float("nan")


def simulated_means(result: RunResult) -> ClassMeanTrajectory:
    """Class-mean trajectory of a simulation (the ensemble mean for an ensemble)."""
    if "class_means_summary" in result.tables:
        table = result.table("class_means_summary").rename(
            columns={"value_mean": "value"}
        )
        return class_mean_trajectory(
            table[["step", "time", "class", "coordinate", "value"]]
        )
    return class_mean_trajectory(result)


@dataclass(frozen=True, eq=False)
class ReferenceODE:
    """The reference code's LE-ODE curves (dossier section 1.9c).

    Attributes
    ----------
    estimator : str
        ``"L"`` or ``"I"``: the inversion that gave alpha-hat and beta-hat.
    steps, times : ndarray, shape (T,)
        Record steps of the simulation.
    mean, std : ndarray, shape (T, K, K)
        Mean and standard deviation over the random-initial-condition trials
        (unscaled).
    scale : float
        The one fitted scalar: tail mean of the network's ``X^0_0`` over the tail
        mean of the simulated one.
    init_scale : float
        Standard deviation of the initial class means.
    replicas : int
        Number of trials.
    rates : pandas.DataFrame
        ``time, alpha, beta``: the estimated rates that drive the ODE.
    """

    estimator: str
    steps: np.ndarray
    times: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    scale: float
    init_scale: float
    replicas: int
    rates: pd.DataFrame

    @property
    def scaled(self) -> np.ndarray:
        """``scale * mean``: the curve the reference code plots."""
        return self.scale * self.mean


def reference_leode(
    traj: ClassMeanTrajectory,
    *,
    estimator: str,
    window: int,
    replicas: int,
    record: int,
    tail: float,
    seed: int,
) -> ReferenceODE:
    """The reference protocol of the paper's Fig. 5 on a class-mean trajectory.

    alpha-hat and beta-hat from the ``estimator`` inversion (Savitzky-Golay window
    ``window`` records) drive the L-model LE-ODE (forward Euler, dt = 1 iteration)
    from random initial class means ``N(0, s^2 I)`` over ``replicas`` trials
    (:func:`simnet.simulate_ensemble`), with ``s^2`` the mean over classes of
    ``||X^k(0)||^2 / K`` (the reference draws each class with its own variance;
    the ensemble takes one). The trial mean is then multiplied by the scalar that
    matches its mean of coordinate 0 of class 0 over the last ``tail`` iterations
    to the network's.
    """
    import warnings

    k = traj.n_classes
    estimate = estimate_integrated_impacts(traj, model=estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimate = impact_rates(estimate, window=window)
    knots = tuple(float(t) for t in estimate.times)
    impact = ImpactMatrix.two_parameter(
        k,
        Piecewise(knots, tuple(float(a) for a in estimate.alpha)),
        Piecewise(knots, tuple(float(b) for b in estimate.beta)),
    )
    init_scale = float(np.sqrt(np.mean(np.sum(traj.means[0] ** 2, axis=1) / k)))
    model = LESDEModel(
        impact,
        integrator="ode",
        surrogate="projected",
        ode_method="euler",
        init_means=np.zeros((k, k)),
        init_scale=init_scale,
    )
    steps = int(traj.steps[-1])
    result = simulate_ensemble(
        model,
        replicas=replicas,
        steps=steps,
        record=record,
        observe=["class_means"],
        seed=np.random.SeedSequence([seed, 3]),
        keep_replicas=False,
        progress=False,
    )
    summary = result.table("class_means_summary")
    sim_steps = np.sort(summary["step"].unique())
    mean = simulated_means(result).means
    wide = summary.pivot_table(
        index="step", columns=["class", "coordinate"], values="value_std", sort=False
    ).reindex(sim_steps)
    std = wide.to_numpy().reshape(-1, k, k)
    network = np.interp(sim_steps, traj.steps, traj.means[:, 0, 0])
    in_tail = sim_steps >= sim_steps[-1] - tail
    denominator = float(np.mean(mean[in_tail, 0, 0]))
    scale = float(np.mean(network[in_tail])) / denominator
    rates = pd.DataFrame(
        {"time": estimate.times, "alpha": estimate.alpha, "beta": estimate.beta}
    )
    return ReferenceODE(
        estimator=estimator,
        steps=sim_steps,
        times=sim_steps.astype(np.float64),
        mean=mean,
        std=std,
        scale=scale,
        init_scale=init_scale,
        replicas=replicas,
        rates=rates,
    )


def final_direction(means: np.ndarray, first: int = 0, second: int = 1) -> np.ndarray:
    """The unit vector nu along ``X^first - X^second`` averaged over the last two
    records (the paper's projection direction of Fig. 1b)."""
    gap = means[-2:, first] - means[-2:, second]
    nu = gap.mean(axis=0)
    return nu / np.linalg.norm(nu)


def onset_time(times: np.ndarray, gap: np.ndarray, fraction: float = 0.1) -> float:
    """First time the gap reaches ``fraction`` of its final value (NaN if the final
    gap is not positive)."""
    if not gap[-1] > 0:
        return float("nan")
    hit = np.flatnonzero(gap >= fraction * gap[-1])
    return float(times[hit[0]])
