"""Collect observables from a runner at record steps into tidy tables."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from . import observables as obs
from .errors import ConfigError
from .runners.base import Runner

__all__ = ["Observable", "Recorder", "default_observables"]


class Observable(StrEnum):
    """What can be recorded.

    * ``loss``: training loss, accuracy, mean and minimum margin (table ``metrics``);
    * ``separability``: exact multiclass linear separability of the features (LP);
    * ``neural_collapse``: NC1, equinorm, equiangularity, angle deviation, ETF distance;
    * ``impact``: the K x K impact matrix E(t) (table ``impact``), its intra/inter ratio
      and the mean impact by LCA depth (table ``elasticity_curve``);
    * ``class_means``: class-mean logits (table ``class_means``);
    * ``similarity``: He & Su's S_rel and S_ker on a fixed set of sampled pairs (table
      ``similarity``);
    * ``feature_count``: per-depth effective feature count N_eff (HFS only).
    """

    LOSS = "loss"
    SEPARABILITY = "separability"
    NEURAL_COLLAPSE = "neural_collapse"
    IMPACT = "impact"
    CLASS_MEANS = "class_means"
    SIMILARITY = "similarity"
    FEATURE_COUNT = "feature_count"


def default_observables(runner: Runner) -> tuple[Observable, ...]:
    """Everything that applies to the runner's model."""
    out = [
        Observable.LOSS,
        Observable.NEURAL_COLLAPSE,
        Observable.IMPACT,
        Observable.CLASS_MEANS,
    ]
    if runner.has_samples:
        out += [Observable.SEPARABILITY, Observable.SIMILARITY]
    if runner.has_amounts:
        out.append(Observable.FEATURE_COUNT)
    return tuple(out)


def resolve_observables(observe, runner: Runner) -> tuple[Observable, ...]:
    if observe is None:
        return default_observables(runner)
    if isinstance(observe, (str, Observable)):
        observe = [observe]
    out = []
    for item in observe:
        try:
            o = Observable(item)
        except ValueError:
            choices = ", ".join(repr(m.value) for m in Observable)
            raise ConfigError(
                f"The 'observe' parameter of simulate lists {item!r}; "
                f"choose from {choices}."
            ) from None
        if (
            o in (Observable.SEPARABILITY, Observable.SIMILARITY)
            and not runner.has_samples
        ):
            raise ConfigError(
                f"The '{o.value}' observable needs individual samples; the class-mean "
                "LE-ODE has none."
            )
        if o is Observable.FEATURE_COUNT and not runner.has_amounts:
            raise ConfigError(
                "The 'feature_count' observable applies to the HFS model only."
            )
        if o not in out:
            out.append(o)
    return tuple(out)


class TableRows:
    """Long-format rows of the recorded tables, by table name.

    Shared by the simulator's :class:`Recorder` and ``simnet.networks.train_mlp`` so
    that both write the same tables with the same columns. Rows are kept as column
    arrays and turned into one DataFrame per table by :meth:`tables` (building a
    DataFrame at every record would cost more than the observables themselves).
    """

    def __init__(self, class_names: tuple[str, ...], lca: np.ndarray):
        self.classes = np.array(class_names, dtype=object)
        self.lca = np.asarray(lca)
        self.k = len(class_names)
        self.rows: dict[str, dict[str, list[np.ndarray]]] = {}
        self._curve = _CurveGroups(self.lca)
        a, b = np.meshgrid(np.arange(self.k), np.arange(self.k), indexing="ij")
        self._pair_a = self.classes[a.ravel()]
        self._pair_b = self.classes[b.ravel()]

    def add(self, name: str, columns: dict[str, Any] | pd.DataFrame) -> None:
        """Append rows: a mapping column -> array (scalars are repeated) or a
        DataFrame. Every call for one table must give the same columns."""
        if isinstance(columns, pd.DataFrame):
            columns = {c: columns[c].to_numpy() for c in columns.columns}
        n = max((np.shape(v)[0] for v in columns.values() if np.ndim(v) > 0), default=1)
        table = self.rows.setdefault(name, {c: [] for c in columns})
        if list(table) != list(columns):
            raise ValueError(
                f"table {name!r}: columns {list(columns)} after {list(table)}"
            )
        for col, value in columns.items():
            arr = np.asarray(value)
            table[col].append(np.full(n, value) if arr.ndim == 0 else arr)

    def metrics(self, step: int, time: float, values: dict[str, float]) -> None:
        """One row per scalar observable (table ``metrics``)."""
        if values:
            self.add(
                "metrics",
                {
                    "step": np.int64(step),
                    "time": np.float64(time),
                    "observable": np.array(list(values), dtype=object),
                    "value": np.array(list(values.values()), dtype=np.float64),
                },
            )

    def impact(self, step: int, time: float, e: np.ndarray) -> None:
        """The K x K impact matrix (``impact``) and its curve by LCA depth
        (``elasticity_curve``)."""
        e = np.asarray(e, dtype=np.float64)
        self.add(
            "impact",
            {
                "step": np.int64(step),
                "time": np.float64(time),
                "class_a": self._pair_a,
                "class_b": self._pair_b,
                "lca_depth": self.lca.ravel().astype(np.int64),
                "value": e.ravel().copy(),
            },
        )
        g = self._curve
        self.add(
            "elasticity_curve",
            {
                "step": np.int64(step),
                "time": np.float64(time),
                "lca_depth": g.depth,
                "same_class": g.same,
                "mean_impact": g.means(e),
                "n_pairs": g.counts,
            },
        )

    def class_means(self, step: int, time: float, means: np.ndarray) -> None:
        """Class-mean logits, one row per (class, coordinate) (``class_means``)."""
        c, j = np.meshgrid(np.arange(self.k), np.arange(means.shape[1]), indexing="ij")
        self.add(
            "class_means",
            {
                "step": np.int64(step),
                "time": np.float64(time),
                "class": self.classes[c.ravel()],
                "coordinate": j.ravel().astype(np.int64),
                "value": np.asarray(means, dtype=np.float64).ravel().copy(),
            },
        )

    def similarity(
        self,
        step: int,
        time: float,
        sample_i: np.ndarray,
        sample_j: np.ndarray,
        class_i: np.ndarray,
        class_j: np.ndarray,
        s_rel: np.ndarray,
        s_ker: np.ndarray,
    ) -> None:
        """He & Su's similarities on probe pairs (``similarity``)."""
        self.add(
            "similarity",
            {
                "step": np.int64(step),
                "time": np.float64(time),
                "sample_i": np.asarray(sample_i, dtype=np.int64),
                "sample_j": np.asarray(sample_j, dtype=np.int64),
                "class_i": self.classes[class_i],
                "class_j": self.classes[class_j],
                "lca_depth": self.lca[class_i, class_j].astype(np.int64),
                "s_rel": np.asarray(s_rel, dtype=np.float64),
                "s_ker": np.asarray(s_ker, dtype=np.float64),
            },
        )

    def tables(self) -> dict[str, pd.DataFrame]:
        out = {}
        for name, columns in self.rows.items():
            df = pd.DataFrame({c: np.concatenate(v) for c, v in columns.items()})
            for col in ("class", "class_a", "class_b", "class_i", "class_j"):
                if col in df:
                    df[col] = df[col].astype(str)
            out[name] = df
        return out


class _CurveGroups:
    """The (same_class, lca_depth) groups of :func:`simnet.observables.
    elasticity_curve`, computed once for a fixed LCA matrix."""

    def __init__(self, lca: np.ndarray):
        k = lca.shape[0]
        same = np.eye(k, dtype=bool).ravel()
        depth = np.asarray(lca, dtype=np.int64).ravel()
        keys = np.stack([same.astype(np.int64), depth], axis=1)
        groups, self.index = np.unique(keys, axis=0, return_inverse=True)
        self.index = self.index.ravel()
        self.same = groups[:, 0].astype(bool)
        self.depth = groups[:, 1].astype(np.int64)
        self.counts = np.bincount(self.index, minlength=groups.shape[0]).astype(
            np.int64
        )

    def means(self, e: np.ndarray) -> np.ndarray:
        sums = np.bincount(self.index, weights=e.ravel(), minlength=self.counts.size)
        return sums / self.counts


class Recorder:
    """Accumulate rows for each table; ``tables()`` returns tidy DataFrames."""

    def __init__(
        self,
        runner: Runner,
        observables: tuple[Observable, ...],
        *,
        probe_rng: np.random.Generator,
        n_probes: int,
    ):
        self.runner = runner
        self.observables = observables
        h = runner.hierarchy
        self.k = h.n_classes
        self.out = TableRows(h.classes, h.lca_depth_matrix())
        self.probes = (
            self._choose_probes(probe_rng, n_probes)
            if Observable.SIMILARITY in observables
            else None
        )

    def _choose_probes(self, rng: np.random.Generator, n_probes: int) -> np.ndarray:
        """A fixed probe set: about ``n_probes`` samples, spread evenly over classes."""
        labels = self.runner.labels
        per_class = max(1, n_probes // self.k)
        chosen = []
        for c in range(self.k):
            members = np.flatnonzero(labels == c)
            take = min(per_class, members.shape[0])
            chosen.append(np.sort(rng.choice(members, size=take, replace=False)))
        return np.concatenate(chosen)

    def record(self) -> None:
        """Record every selected observable at the runner's current step.

        Raises DivergenceError if a particle is NaN or infinite. Finite but huge
        states (a run about to diverge) may give infinite metrics without warnings.
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            self._record()

    def _record(self) -> None:
        r = self.runner
        step, time = r.step, r.time()
        x = r.features()
        if not np.all(np.isfinite(x)):
            raise r.diverged(step, "a particle feature")
        labels = r.labels
        z = r.logits(x)
        metrics: dict[str, float] = {}
        if Observable.LOSS in self.observables:
            m = obs.margins(z, labels)
            metrics["loss"] = float(np.mean(obs.cross_entropy(z, labels)))
            metrics["accuracy"] = obs.accuracy(z, labels)
            metrics["margin_mean"] = float(np.mean(m))
            metrics["margin_min"] = float(np.min(m))
        if Observable.SEPARABILITY in self.observables:
            metrics["separable"] = float(obs.is_linearly_separable(x, labels, self.k))
        if Observable.NEURAL_COLLAPSE in self.observables:
            nc = obs.neural_collapse(x, labels, self.k)
            if not r.has_samples:
                nc.pop("nc1", None)
            metrics.update(nc)
        if Observable.IMPACT in self.observables:
            e = r.impact()
            metrics["intra_inter_ratio"] = obs.intra_inter_ratio(e)
            self.out.impact(step, time, e)
        if Observable.CLASS_MEANS in self.observables:
            self.out.class_means(step, time, obs.class_means(z, labels, self.k))
        if Observable.SIMILARITY in self.observables:
            self._similarity(step, time)
        if Observable.FEATURE_COUNT in self.observables:
            lam, depth = r.amounts()
            neff = obs.effective_feature_count(lam, depth)
            self.out.add(
                "feature_count",
                {
                    "step": np.int64(step),
                    "time": np.float64(time),
                    "depth": np.arange(neff.shape[0], dtype=np.int64),
                    "n_eff": np.asarray(neff, dtype=np.float64),
                },
            )
        self.out.metrics(step, time, metrics)

    def _similarity(self, step: int, time: float) -> None:
        """S_rel = |dz_j| / |dz_i| and S_ker = -<dz_j, r_i> / |r_i|^2 for probe
        pairs."""
        r = self.runner
        probes = self.probes
        labels = r.labels
        for i in probes:
            dz, res = r.probe(int(i), probes)
            norms = np.linalg.norm(dz, axis=1)
            own = norms[probes == i][0]
            rr = float(res @ res)
            keep = probes != i
            nan = np.full(probes.shape[0], np.nan)
            s_rel = norms / own if own > 0 else nan
            s_ker = -(dz @ res) / rr if rr > 0 else nan
            targets = probes[keep]
            self.out.similarity(
                step,
                time,
                np.full(targets.shape[0], int(i)),
                targets,
                np.full(targets.shape[0], labels[i]),
                labels[targets],
                s_rel[keep],
                s_ker[keep],
            )

    def tables(self) -> dict[str, pd.DataFrame]:
        return self.out.tables()
