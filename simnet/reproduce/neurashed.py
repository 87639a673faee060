"""Neurashed (Su 2021) in the HFS model: local elasticity, implicit regularisation
and compression.

Su's position paper (arXiv 2112.09741; Science China Information Sciences 2024)
builds a hierarchy of shared features, iterative SGD-like updates and a compressive
evolution of the features' amounts into a graphical model, *neurashed*, and says it
explains local elasticity, implicit regularisation and the information bottleneck.
The paper is conceptual: the dossier (``neurashed.md``) could not check its model
equations or figures and quotes no number from it. Every comparison below is
therefore qualitative: the claim, and whether the HFS particle model (``MODEL.md``
section 2: node amounts ``lam_v`` and features ``phi_v``, SGD on the cross-entropy,
per-touch decay as the compressive ingredient) shows it.

Protocol
--------
All runs use ``eta_phi = eta_lam = 0.05``, ``gamma = eta_u = 0.1``, batch size 1,
40 samples per class (the dossier's ``n = 40``) and the compressive decay
``delta = 1e-3`` unless said otherwise; every number is a mean +- standard deviation
over independent replicas (:func:`simnet.simulate_ensemble`). The jittered initial
amounts are drawn once per ensemble, so replicas share them and differ in their
feature vectors, instance features and sample order.

1. **Local elasticity** (dossier section 2b, He & Su's probe). The ``tiger_cat_car``
   hierarchy, amounts ``lam0 (1 + 0.2 U)``, ``lam0 = 0.5`` (the dossier's
   initialisation), with and without decay. Measured on the tiger row, i.e. "an SGD
   step on a tiger": the impact ``E(t)`` (the class-level trace of the model's exact
   tangent kernel) on tiger, cat and car, and He & Su's ``S_rel`` and ``S_ker`` of
   one probe step on a tiger sample, on other tiger / cat / car probes. The
   contrast is read from the impact profile, the cat and car values as fractions
   of the tiger value (per replica): it grows when the fractions fall.
2. **Implicit regularisation** (dossier section 2b: "compare a small graph with an
   over-parameterized one"). The dossier's toy neurashed (section 2c) as an HFS
   DAG: below the root, level 1 holds 5 low-level features, level 2 six mid-level
   ones (fur, eye, stripe, circle, metal, window), level 3 five high-level ones
   (stripes-body, feline-face, housecat, wheel, car-body), level 4 the classes
   (tiger, cat, car); edge ``u -> w`` means u is a constituent of w, so a class's
   ancestors are its *watershed*. Over-parameterised variants add, per level,

   * ``generic``: 6 extra features wired to every node of the next level, so they
     lie in every class's watershed and fire on every input. In HFS such a
     feature adds the same vector to every particle, a bias that cannot separate
     the classes (the dossier: features shared by all classes cancel in the
     softmax); it is capacity the data does not need;
   * ``duplicated``: every feature copied 3 times (the dossier's "every feature
     duplicated c times"), each copy wired to every copy of its children.

   The amounts start at the dossier's ``lam0 (1 + 0.2 U)``, so ``N_eff`` starts
   close to the number of features in each level. Measured: the per-level effective
   feature count ``N_eff = exp(entropy of |lam| normalised within the level)`` at
   the start, its minimum and the end, for the compact graph, both variants, and
   the generic variant without decay (SGD alone).
3. **Compression** (dossier section 1a: "amounts first grow (fitting), then rarely
   useful features shrink (compression)"; section 2b's information-bottleneck
   protocol). The generic over-parameterised graph, with *undeveloped* learned
   features: features in every class's watershed (the generic ones, plus the
   low-level ``curve`` and ``colour`` and the root) start at ``lam0 (1 + 0.2 U)``,
   every other feature at a tenth of that. The compression term is the *amount
   entropy* ``H(t) = sum over feature levels of log N_eff`` (the entropy of a path
   that picks one feature per level in proportion to its amount); the relevance
   term is the dossier's lower bound ``H(Y) - CE = log K - training loss``.
   Measured: the step and value of the peak of ``H`` (per replica and of the
   replica mean), ``H`` at the start and the end.

Design notes (why the runs are built this way)
----------------------------------------------
* In HFS, copies of a node that share its watershed receive the same gradient at
  every step, and a step is linear in each copy's ``(lam_v, phi_v)`` given that
  gradient; decay is linear too. Exact duplicates therefore evolve under one common
  linear map and **cannot compete**: their final amounts are proportional to a
  projection of their initial values. This is unlike the dossier's multiplicative
  neurashed, where random activation makes the log-amounts of duplicates random
  walks and one copy eventually wins. So the ``duplicated`` variant only loses the
  features the loss does not reinforce; the ``generic`` variant is the
  over-parameterisation HFS can compress, and it is the headline.
* Decay acts on the nodes a step touches, so a feature shared by m classes pays m
  times the decay of a class-specific one while its gradient helps those classes
  no more than their own features would. Under decay HFS therefore keeps the
  class-specific features and lets the shared ones (``feline_face``, ``fur``,
  ``eye``, the generic features) shrink. This also makes the tiger -> cat impact
  fall late in training, as the dossier's own simulation (section 2c, R-bounded)
  found.
* With equal initial amounts the amount entropy is at its maximum at step 0 and can
  only fall; the fitting rise of the information-bottleneck picture needs the
  features the task reinforces to start with a small share of the amount. Panel 3
  says so explicitly (undeveloped class-related features, developed generic ones)
  instead of hiding it in the initialisation of panel 2.

Deviations from the paper
-------------------------
The paper's update rule, prediction rule and figure settings are unknown (dossier
section 5). The HFS model replaces neurashed's random activation patterns and
amplify/shrink maps by SGD on the cross-entropy over node amounts *and* feature
vectors, with decay on touched nodes; "information" is the amount entropy above,
not a mutual-information estimate; the HFS particles are the training samples, so
there is no test set and no generalisation measurement. The wiring of levels 1-2
and the names of the level-1 features are not in the dossier and were chosen here.

Run time
--------
Measured on the shared 2-core machine. Quick mode (8 replicas; 5 000 steps for
panel 1, 12 000 for panels 2-3; 13 HFS ensembles in all): 6-15 s with a warm Numba
cache, 21 s with a cold one (the ensemble kernel compiles once). Full mode (64
replicas; 20 000 and 40 000 steps, 40 records, 30 probes): 35-64 s, depending on
the load.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..ensemble import simulate_ensemble
from ..errors import ConfigError
from ..hierarchy import Hierarchy
from ..models import HFSModel
from ..results import RunResult
from ._common import (
    blas_single_thread,
    figure_or_none,
    save_figure,
    write_csv,
    write_run_record,
    write_summary,
)

__all__ = [
    "FULL",
    "NAME",
    "PAPER",
    "QUICK",
    "TITLE",
    "Protocol",
    "neurashed_hierarchy",
    "run",
]

NAME = "neurashed"
TITLE = (
    "Neurashed in the HFS model: local elasticity, implicit regularisation "
    "(N_eff per level) and compression (amount entropy rises then falls)"
)
PAPER = (
    "Su, 'Neurashed: A Phenomenological Model for Imitating Deep Learning Training' "
    "(arXiv 2112.09741, 2021; v2 'Envisioning Future Deep Learning Theories', Sci. "
    "China Inf. Sci. 2024): the abstract's three phenomena (local elasticity, "
    "implicit regularization, information bottleneck); no figure numbers available"
)

#: The dossier's toy neurashed (section 2c), level by level: feature -> children.
#: Level 3 feeds the classes; levels 1-2 wiring and level-1 names chosen here.
LEVELS: tuple[dict[str, tuple[str, ...]], ...] = (
    {
        "edge": ("stripe", "window", "metal"),
        "curve": ("circle", "eye"),
        "texture": ("fur", "stripe"),
        "colour": ("fur", "metal"),
        "corner": ("window",),
    },
    {
        "fur": ("stripes_body", "feline_face", "housecat"),
        "eye": ("feline_face",),
        "stripe": ("stripes_body",),
        "circle": ("wheel",),
        "metal": ("wheel", "car_body"),
        "window": ("car_body",),
    },
    {
        "stripes_body": ("tiger",),
        "feline_face": ("tiger", "cat"),
        "housecat": ("cat",),
        "wheel": ("car",),
        "car_body": ("car",),
    },
)
FEATURE_DEPTHS = (1, 2, 3)
RELATION = {"tiger": "same", "cat": "related", "car": "unrelated"}
LEVEL_ORDER = ("same", "related", "unrelated")
JITTER = 0.2  # the dossier's lam0 (1 + 0.2 U)


@dataclass(frozen=True)
class Protocol:
    """Sizes of one mode of the reproduction (see the module docstring).

    Attributes
    ----------
    replicas : int
        Independent replicas per ensemble.
    steps_elasticity, steps_features : int
        SGD steps of panel 1, and of panels 2 and 3.
    records : int
        About this many log-spaced records per run.
    n_probes : int
        Probe samples of the similarity observable (panel 1), per replica.
    n_per_class : int
        Training samples per class.
    eta : float
        ``eta_phi = eta_lam``.
    decay : float
        The compressive decay of the runs that have one.
    lam0 : float
        Initial amount scale (jittered by ``1 + 0.2 U``).
    undeveloped_ratio : float
        Panel 3: initial amount of the features not in every class's watershed,
        relative to ``lam0``.
    n_generic, copies : int
        The over-parameterisation of panel 2 (generic features per level; copies of
        every feature).
    """

    replicas: int
    steps_elasticity: int
    steps_features: int
    records: int
    n_probes: int
    n_per_class: int = 40
    eta: float = 0.05
    decay: float = 1e-3
    lam0: float = 0.5
    undeveloped_ratio: float = 0.1
    n_generic: int = 6
    copies: int = 3


QUICK = Protocol(
    replicas=8, steps_elasticity=5_000, steps_features=12_000, records=24, n_probes=12
)
FULL = Protocol(
    replicas=64, steps_elasticity=20_000, steps_features=40_000, records=40, n_probes=30
)


# --------------------------------------------------------------------------- graphs
def neurashed_hierarchy(*, n_generic: int = 0, copies: int = 1) -> Hierarchy:
    """The dossier's toy neurashed as an HFS hierarchy, optionally over-parameterised.

    Parameters
    ----------
    n_generic : int, default 0
        Extra features per level wired to every node of the next level (so they lie
        in every class's watershed), named ``generic<level>.<j>``.
    copies : int, default 1
        Copies of every named feature (``<name>_<j>`` when > 1); each copy is wired
        to every copy of each child, so all copies share one watershed.

    Returns
    -------
    Hierarchy
        Root at depth 0, feature level l at depth l (1-3), the classes tiger, cat
        and car at depth 4.

    Raises
    ------
    ConfigError
        If ``n_generic < 0`` or ``copies < 1``.

    Examples
    --------
    >>> h = neurashed_hierarchy()
    >>> h.classes, [int((h.depth == d).sum()) for d in range(5)]
    (('tiger', 'cat', 'car'), [1, 5, 6, 5, 3])
    >>> h = neurashed_hierarchy(n_generic=2, copies=3)
    >>> [int((h.depth == d).sum()) for d in range(5)]
    [1, 17, 20, 17, 3]
    """
    if not isinstance(n_generic, int) or n_generic < 0:
        raise ConfigError(
            "The 'n_generic' parameter of neurashed_hierarchy must be an int >= 0. "
            f"Got {n_generic!r} instead."
        )
    if not isinstance(copies, int) or copies < 1:
        raise ConfigError(
            "The 'copies' parameter of neurashed_hierarchy must be an int >= 1. "
            f"Got {copies!r} instead."
        )

    def names(v: str) -> list[str]:
        if copies == 1 or v in RELATION:
            return [v]
        return [f"{v}_{j}" for j in range(copies)]

    g = nx.DiGraph()
    expected = {"root": 0, **{k: len(LEVELS) + 1 for k in RELATION}}
    for level, wiring in enumerate(LEVELS, start=1):
        generic = [f"generic{level}.{j}" for j in range(n_generic)]
        nodes = [c for v in wiring for c in names(v)] + generic
        expected.update((v, level) for v in nodes)
        if level == 1:
            g.add_edges_from(("root", v) for v in nodes)
        for v, kids in wiring.items():
            for copy in names(v):
                g.add_edges_from((copy, k) for kid in kids for k in names(kid))
        if level < len(LEVELS):
            below = [c for v in LEVELS[level] for c in names(v)]
            below += [f"generic{level + 1}.{j}" for j in range(n_generic)]
        else:
            below = list(RELATION)
        g.add_edges_from((v, k) for v in generic for k in below)
    h = Hierarchy(g)
    if dict(zip(h.nodes, h.depth.tolist(), strict=True)) != expected:
        raise RuntimeError("neurashed_hierarchy: the wiring broke the level structure")
    return h


def _initial_amounts(
    h: Hierarchy,
    rng: np.random.Generator,
    lam0: float,
    undeveloped: float | None = None,
) -> dict[str, float]:
    """The dossier's initial amounts ``lam0 (1 + 0.2 U)``, one uniform U per node.

    With ``undeveloped`` (panel 3), the nodes that are not in every class's
    watershed start at ``undeveloped * lam0 (1 + 0.2 U)``.
    """
    u = rng.uniform(size=h.n_nodes)
    base = np.full(h.n_nodes, float(lam0))
    if undeveloped is not None:
        in_every_watershed = h.ancestor_matrix.all(axis=0)
        base[~in_every_watershed] *= undeveloped
    return {v: float(base[i] * (1.0 + JITTER * u[i])) for i, v in enumerate(h.nodes)}


def _model(
    h: Hierarchy, p: Protocol, *, decay: float, lam0: dict[str, float]
) -> HFSModel:
    """The HFS model of every panel: only the graph, decay and amounts vary."""
    return HFSModel(
        h,
        n_per_class=p.n_per_class,
        eta_phi=p.eta,
        eta_lam=p.eta,
        decay=decay,
        lam0=lam0,
        gamma=0.1,
        eta_u=0.1,
    )


def _ensemble(
    model: HFSModel,
    p: Protocol,
    steps: int,
    seed: np.random.SeedSequence,
    observe: list[str],
) -> RunResult:
    """``p.replicas`` replicas with log-spaced records and no progress bar."""
    return simulate_ensemble(
        model,
        replicas=p.replicas,
        steps=steps,
        record={"log": p.records},
        observe=observe,
        seed=seed,
        n_probes=p.n_probes,
        progress=False,
    )


def _mean_std(values: pd.Series | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for a single value)."""
    v = np.asarray(values, dtype=np.float64)
    std = float(np.std(v, ddof=1)) if v.size > 1 else float("nan")
    return float(np.mean(v)), std


def _fmt(mean: float, std: float, digits: int = 3) -> str:
    """``mean ± std`` for the summary tables."""
    if abs(std) <= 1e-12 * abs(mean):  # rounding noise of equal values
        std = 0.0
    return f"{mean:.{digits}g} ± {std:.2g}"


# ------------------------------------------------------------------ panel 1: elasticity
ELASTICITY_SETTINGS = ("compressive", "sgd_only")
#: The impact profile: a class's impact as a fraction of the same-class impact. The
#: contrast grows when these fractions fall (ratios to the unrelated impact are
#: unreadable once decay has driven it to ~1e-17).
CONTRASTS = ("related_over_same", "unrelated_over_same")


def _elasticity_panel(
    p: Protocol, seeds: list[np.random.SeedSequence]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-replica impact / S_rel / S_ker of a step on a tiger, the elasticity curve
    summary, and the per-replica contrasts."""
    h = Hierarchy.preset("tiger_cat_car")
    values, curves = [], []
    for setting, seed in zip(ELASTICITY_SETTINGS, seeds, strict=True):
        init, run_seed = seed.spawn(2)
        decay = p.decay if setting == "compressive" else 0.0
        lam0 = _initial_amounts(h, np.random.default_rng(init), p.lam0)
        res = _ensemble(
            _model(h, p, decay=decay, lam0=lam0),
            p,
            p.steps_elasticity,
            run_seed,
            ["loss", "impact", "similarity"],
        )
        imp = res.table("impact")
        imp = imp[imp["class_a"] == "tiger"]
        frame = imp[["replica", "step", "class_b", "value"]].rename(
            columns={"class_b": "probe_class"}
        )
        frame.insert(0, "measure", "impact")
        parts = [frame]
        sim = res.table("similarity")
        sim = sim[sim["class_i"] == "tiger"]
        per_rep = (
            sim.groupby(["replica", "step", "class_j"], sort=False)[["s_rel", "s_ker"]]
            .mean()
            .reset_index()
            .rename(columns={"class_j": "probe_class"})
        )
        for measure in ("s_rel", "s_ker"):
            frame = per_rep[["replica", "step", "probe_class", measure]].rename(
                columns={measure: "value"}
            )
            frame.insert(0, "measure", measure)
            parts.append(frame)
        both = pd.concat(parts, ignore_index=True)
        both.insert(0, "setting", setting)
        both["relation"] = both["probe_class"].map(RELATION)
        values.append(both)
        curve = res.table("elasticity_curve_summary").copy()
        curve.insert(0, "setting", setting)
        curves.append(curve)
    values_df = pd.concat(values, ignore_index=True)
    wide = values_df.pivot_table(
        index=["setting", "measure", "replica", "step"],
        columns="relation",
        values="value",
    ).reset_index()
    for rel in ("related", "unrelated"):
        wide[f"{rel}_over_same"] = wide[rel] / wide["same"]
    wide.columns.name = None
    return values_df, pd.concat(curves, ignore_index=True), wide


def _summarise(frame: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """Mean, sample std and count of ``value`` over replicas, per ``keys``."""
    out = (
        frame.groupby(keys, sort=False)[value]
        .agg(mean="mean", std="std", n_replicas="count")
        .reset_index()
    )
    return out


def _first_last(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    first, last = frame["step"].min(), frame["step"].max()
    return frame[frame["step"] == first], frame[frame["step"] == last]


def _elasticity_headline(wide: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (setting, measure), grp in wide.groupby(["setting", "measure"], sort=False):
        start, end = _first_last(grp)
        entry: dict[str, Any] = {}
        for when, rows in (("start", start), ("end", end)):
            entry[when] = {
                col: dict(zip(("mean", "std"), _mean_std(rows[col]), strict=True))
                for col in (*LEVEL_ORDER, *CONTRASTS)
            }
        entry["step_end"] = int(end["step"].iloc[0])
        out.setdefault(setting, {})[measure] = entry
    return out


# ------------------------------------------------------------ panel 2: feature counts
#: name -> (n_generic, copies, decay is on)
VARIANTS: dict[str, tuple[int | None, int, bool]] = {
    "compact": (0, 1, True),
    "generic": (None, 1, True),
    "duplicated": (0, None, True),
    "generic_no_decay": (None, 1, False),
}


def _variant_hierarchy(name: str, p: Protocol) -> Hierarchy:
    n_generic, copies, _ = VARIANTS[name]
    return neurashed_hierarchy(
        n_generic=p.n_generic if n_generic is None else n_generic,
        copies=p.copies if copies is None else copies,
    )


def _feature_panel(
    p: Protocol, seeds: list[np.random.SeedSequence]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per-replica N_eff by level, final loss / accuracy, and final amounts per node
    (all variants)."""
    counts, fits, amounts = [], [], []
    for name, seed in zip(VARIANTS, seeds, strict=True):
        h = _variant_hierarchy(name, p)
        init, run_seed = seed.spawn(2)
        decay = p.decay if VARIANTS[name][2] else 0.0
        lam0 = _initial_amounts(h, np.random.default_rng(init), p.lam0)
        res = _ensemble(
            _model(h, p, decay=decay, lam0=lam0),
            p,
            p.steps_features,
            run_seed,
            ["loss", "feature_count"],
        )
        fc = res.table("feature_count")[["replica", "step", "depth", "n_eff"]].copy()
        n_nodes = np.bincount(h.depth)
        fc["n_nodes"] = n_nodes[fc["depth"].to_numpy()]
        fc.insert(0, "variant", name)
        counts.append(fc)
        met = res.table("metrics")
        last = met[met["step"] == met["step"].max()]
        fit = last.pivot(index="replica", columns="observable", values="value")
        fits.append(
            pd.DataFrame(
                {
                    "variant": name,
                    "replica": fit.index.to_numpy(),
                    "loss": fit["loss"].to_numpy(),
                    "accuracy": fit["accuracy"].to_numpy(),
                }
            )
        )
        amounts.append(_final_amounts(h, name, lam0, res.state["lam"]))
    return (
        pd.concat(counts, ignore_index=True),
        pd.concat(fits, ignore_index=True),
        pd.concat(amounts, ignore_index=True),
    )


def _final_amounts(
    h: Hierarchy, variant: str, lam0: dict[str, float], lam: np.ndarray
) -> pd.DataFrame:
    """Each feature's final |lam| and its share of its level's total (replica
    means), with its watershed (the classes it feeds)."""
    size = np.abs(lam)  # (R, V)
    share = np.zeros_like(size)
    for d in np.unique(h.depth):
        cols = h.depth == d
        total = size[:, cols].sum(axis=1, keepdims=True)
        share[:, cols] = np.divide(
            size[:, cols], total, out=np.zeros_like(size[:, cols]), where=total > 0
        )
    a = h.ancestor_matrix
    return pd.DataFrame(
        {
            "variant": variant,
            "node": list(h.nodes),
            "level": h.depth,
            "watershed": [
                "+".join(c for k, c in enumerate(h.classes) if a[k, i])
                for i in range(h.n_nodes)
            ],
            "lam_start": [lam0[v] for v in h.nodes],
            "abs_lam_end_mean": size.mean(axis=0),
            "share_end_mean": share.mean(axis=0),
        }
    )


def _survivors(amounts: pd.DataFrame, variant: str, threshold: float = 0.1) -> str:
    """The features holding more than ``threshold`` of their level's amount."""
    parts = []
    rows = amounts[
        (amounts["variant"] == variant) & amounts["level"].isin(FEATURE_DEPTHS)
    ]
    for level, grp in rows.groupby("level", sort=True):
        top = grp[grp["share_end_mean"] > threshold].sort_values(
            "share_end_mean", ascending=False
        )
        named = ", ".join(
            f"{r.node} ({r.watershed}) {r.share_end_mean:.2f}"
            for r in top.itertuples(index=False)
        )
        parts.append(f"level {level}: {named or 'none'}")
    return "; ".join(parts)


def _neff_headline(counts: pd.DataFrame) -> pd.DataFrame:
    """Per variant and feature level: N_eff at the start, its minimum, the end."""
    rows = []
    feat = counts[counts["depth"].isin(FEATURE_DEPTHS)]
    for (variant, depth), grp in feat.groupby(["variant", "depth"], sort=False):
        start, end = _first_last(grp)
        curve = grp.groupby("step")["n_eff"].mean()
        per_rep_min = grp.groupby("replica")["n_eff"].min()
        row = {
            "variant": variant,
            "level": int(depth),
            "n_features": int(grp["n_nodes"].iloc[0]),
        }
        for label, vals in (
            ("start", start["n_eff"]),
            ("min", per_rep_min),
            ("end", end["n_eff"]),
        ):
            row[f"{label}_mean"], row[f"{label}_std"] = _mean_std(vals)
        row["min_step"] = int(curve.idxmin())
        row["end_step"] = int(end["step"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------- panel 3: compression
def _compression_panel(
    p: Protocol, seed: np.random.SeedSequence
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-replica amount entropy and relevance over time, and per-replica peaks."""
    h = neurashed_hierarchy(n_generic=p.n_generic)
    init, run_seed = seed.spawn(2)
    lam0 = _initial_amounts(
        h, np.random.default_rng(init), p.lam0, undeveloped=p.undeveloped_ratio
    )
    res = _ensemble(
        _model(h, p, decay=p.decay, lam0=lam0),
        p,
        p.steps_features,
        run_seed,
        ["loss", "feature_count"],
    )
    fc = res.table("feature_count")
    fc = fc[fc["depth"].isin(FEATURE_DEPTHS)].copy()
    fc["entropy"] = np.log(fc["n_eff"])
    per_level = fc.pivot_table(
        index=["replica", "step"], columns="depth", values="entropy"
    )
    per_level.columns = [f"entropy_level{d}" for d in per_level.columns]
    traj = per_level.reset_index()
    traj["entropy"] = per_level.to_numpy().sum(axis=1)
    met = res.table("metrics")
    loss = met[met["observable"] == "loss"].set_index(["replica", "step"])["value"]
    traj["loss"] = loss.loc[
        list(zip(traj["replica"], traj["step"], strict=True))
    ].to_numpy()
    traj["relevance"] = np.log(h.n_classes) - traj["loss"]
    peaks = []
    for replica, grp in traj.groupby("replica", sort=True):
        grp = grp.sort_values("step")
        k = int(np.argmax(grp["entropy"].to_numpy()))
        peaks.append(
            {
                "replica": int(replica),
                "peak_step": int(grp["step"].iloc[k]),
                "peak_index": k,
                "n_records": int(grp.shape[0]),
                "entropy_start": float(grp["entropy"].iloc[0]),
                "entropy_peak": float(grp["entropy"].iloc[k]),
                "entropy_end": float(grp["entropy"].iloc[-1]),
                "loss_at_peak": float(grp["loss"].iloc[k]),
            }
        )
    return traj, pd.DataFrame(peaks)


def _compression_headline(traj: pd.DataFrame, peaks: pd.DataFrame) -> dict[str, Any]:
    curve = traj.groupby("step")[["entropy", "loss"]].mean()
    k = int(np.argmax(curve["entropy"].to_numpy()))
    out: dict[str, Any] = {
        "mean_curve_peak_step": int(curve.index[k]),
        "mean_curve_peak_is_interior": bool(0 < k < curve.shape[0] - 1),
        "mean_curve_start": float(curve["entropy"].iloc[0]),
        "mean_curve_peak": float(curve["entropy"].iloc[k]),
        "mean_curve_end": float(curve["entropy"].iloc[-1]),
        "loss_at_mean_peak": float(curve["loss"].iloc[k]),
        "peak_step_median": float(np.median(peaks["peak_step"])),
        "peak_step_range": [
            int(peaks["peak_step"].min()),
            int(peaks["peak_step"].max()),
        ],
        "end_step": int(curve.index[-1]),
    }
    for col in ("entropy_start", "entropy_peak", "entropy_end"):
        out[col] = dict(zip(("mean", "std"), _mean_std(peaks[col]), strict=True))
    rise = peaks["entropy_peak"] - peaks["entropy_start"]
    drop = peaks["entropy_peak"] - peaks["entropy_end"]
    out["rise_min"] = float(rise.min())
    out["drop_min"] = float(drop.min())
    interior = (peaks["peak_index"] > 0) & (
        peaks["peak_index"] < peaks["n_records"] - 1
    )
    out["replicas_with_interior_peak"] = int(interior.sum())
    out["replicas"] = int(peaks.shape[0])
    return out


# -------------------------------------------------------------------------- figures
COLOURS = {"same": "C3", "related": "C1", "unrelated": "C0"}
MEASURE_LABEL = {
    "impact": "impact E(t)[tiger, ·]",
    "s_rel": "S_rel(tiger, ·)",
    "s_ker": "S_ker(tiger, ·)",
}


def _band(ax: Any, x: np.ndarray, mean: np.ndarray, std: np.ndarray, **kw: Any) -> None:
    """A line with a mean ± std band."""
    ax.plot(x, mean, **kw)
    ax.fill_between(x, mean - std, mean + std, color=kw.get("color"), alpha=0.2, lw=0)


def _figure_elasticity(values: pd.DataFrame) -> Any:
    """Panel 1: impact, S_rel, S_ker of a step on a tiger over time (None without
    matplotlib)."""
    fig = figure_or_none(figsize=(11, 6))
    if fig is None:
        return None
    axes = fig.subplots(2, 3, sharex=True)
    summary = _summarise(values, ["setting", "measure", "relation", "step"], "value")
    for r, setting in enumerate(ELASTICITY_SETTINGS):
        for c, measure in enumerate(MEASURE_LABEL):
            ax = axes[r, c]
            for rel in LEVEL_ORDER:
                s = summary[
                    (summary["setting"] == setting)
                    & (summary["measure"] == measure)
                    & (summary["relation"] == rel)
                ]
                _band(
                    ax,
                    s["step"].to_numpy(),
                    s["mean"].to_numpy(),
                    s["std"].fillna(0).to_numpy(),
                    color=COLOURS[rel],
                    label={"same": "tiger", "related": "cat", "unrelated": "car"}[rel],
                )
            ax.set_xscale("symlog", linthresh=1)
            ax.set_title(f"{MEASURE_LABEL[measure]}, {setting.replace('_', ' ')}")
            if r == 1:
                ax.set_xlabel("SGD step")
    axes[0, 0].legend(title="probe class")
    fig.suptitle(
        "Local elasticity of an SGD step on a tiger (mean ± std over replicas)"
    )
    return fig


def _figure_feature_count(counts: pd.DataFrame) -> Any:
    """Panel 2: N_eff per feature level over time, one line per variant."""
    fig = figure_or_none(figsize=(11, 3.8))
    if fig is None:
        return None
    axes = fig.subplots(1, len(FEATURE_DEPTHS), sharex=True)
    summary = _summarise(counts, ["variant", "depth", "step"], "n_eff")
    for ax, depth in zip(axes, FEATURE_DEPTHS, strict=True):
        for j, variant in enumerate(VARIANTS):
            s = summary[(summary["variant"] == variant) & (summary["depth"] == depth)]
            n = int(
                counts[(counts["variant"] == variant) & (counts["depth"] == depth)][
                    "n_nodes"
                ].iloc[0]
            )
            _band(
                ax,
                s["step"].to_numpy(),
                s["mean"].to_numpy(),
                s["std"].fillna(0).to_numpy(),
                color=f"C{j}",
                label=f"{variant.replace('_', ' ')} ({n} features)",
                ls="--" if variant.endswith("no_decay") else "-",
            )
        ax.set_xscale("symlog", linthresh=1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel("SGD step")
        ax.set_title(f"level {depth}: N_eff")
    axes[0].legend(fontsize=8)
    fig.suptitle("Effective feature count per level (implicit regularisation)")
    return fig


def _figure_compression(traj: pd.DataFrame, headline: dict[str, Any]) -> Any:
    """Panel 3: amount entropy and loss over time; the information-plane view."""
    fig = figure_or_none(figsize=(11, 4))
    if fig is None:
        return None
    ax, ax_plane = fig.subplots(1, 2)
    s = traj.groupby("step")[["entropy", "loss", "relevance"]].agg(["mean", "std"])
    x = s.index.to_numpy()
    _band(
        ax,
        x,
        s[("entropy", "mean")].to_numpy(),
        s[("entropy", "std")].fillna(0).to_numpy(),
        color="C2",
        label="amount entropy H(t)",
    )
    ax.axvline(headline["mean_curve_peak_step"], color="C2", ls=":", lw=1)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlabel("SGD step")
    ax.set_ylabel("H = sum over levels of log N_eff")
    twin = ax.twinx()
    twin.plot(x, s[("loss", "mean")].to_numpy(), color="k", lw=1, label="training loss")
    twin.set_ylabel("training loss")
    ax.legend(loc="lower left")
    twin.legend(loc="upper right")
    ax.set_title("Fitting, then compression")
    sc = ax_plane.scatter(
        s[("entropy", "mean")].to_numpy(),
        s[("relevance", "mean")].to_numpy(),
        c=np.log10(x + 1.0),
        cmap="viridis",
    )
    ax_plane.plot(
        s[("entropy", "mean")].to_numpy(),
        s[("relevance", "mean")].to_numpy(),
        color="0.6",
        lw=0.8,
        zorder=0,
    )
    fig.colorbar(sc, ax=ax_plane, label="log10(step + 1)")
    ax_plane.set_xlabel("compression term H(t)")
    ax_plane.set_ylabel("relevance log K - training loss")
    ax_plane.set_title("Information-plane view")
    return fig


# -------------------------------------------------------------------------- summary
def _verdict(ok: bool) -> str:
    return "**holds**" if ok else "**does not hold**"


def _elasticity_checks(head: dict[str, Any]) -> dict[str, dict[str, bool]]:
    checks: dict[str, dict[str, bool]] = {}
    for setting, measures in head.items():
        for measure, e in measures.items():
            end, start = e["end"], e["start"]
            checks.setdefault(setting, {})[measure] = bool(
                end["same"]["mean"] > end["related"]["mean"] > end["unrelated"]["mean"]
                and end["unrelated_over_same"]["mean"]
                < start["unrelated_over_same"]["mean"]
                and end["related_over_same"]["mean"]
                < start["related_over_same"]["mean"]
            )
    return checks


def _summary_text(
    p: Protocol,
    *,
    quick: bool,
    seed: int,
    elasticity: dict[str, Any],
    neff: pd.DataFrame,
    fits: pd.DataFrame,
    amounts: pd.DataFrame,
    compression: dict[str, Any],
    seconds: float,
) -> str:
    mode = "quick" if quick else "full"
    lines = [
        f"# {TITLE}",
        "",
        f"Paper: {PAPER}.",
        "",
        f"Mode **{mode}**, seed {seed}, {p.replicas} replicas per ensemble, "
        f"{p.steps_elasticity} steps (panel 1) and {p.steps_features} steps (panels "
        f"2-3), run time {seconds:.0f} s. All values are mean ± standard deviation "
        "over replicas. The protocol is in the module docstring of "
        "`simnet.reproduce.neurashed`.",
        "",
        "**What the paper gives.** Neurashed is a conceptual position paper and its "
        "figures were not available to the dossier: **the dossier gives no number "
        "from the paper** for any panel below. The comparison is therefore with the "
        "paper's qualitative claims (abstract, verified; figure contents recalled). "
        "Where the dossier quotes numbers they come from its own simulation of a "
        "*different* reconstruction (tagged [S]); they are shown for orientation "
        "only and are not expected to match in scale.",
        "",
        "## 1. Local elasticity (tiger / cat / car)",
        "",
        "Claim (abstract; Su's talk): an SGD step on a tiger changes the prediction "
        "most at another tiger, less at a cat, least at a car, and the contrast "
        "grows during training. The paper gives no number. Dossier [S] (its own "
        "R-bounded neurashed, relative logit change, at initialisation): tiger "
        "0.0235, cat 0.0174, car -0.0005; after saturation tiger -> cat falls to "
        "about 0 and tiger -> car goes negative.",
        "",
        "| setting | measure | step | tiger (same) | cat (related) | car (unrelated) "
        "| cat / tiger | car / tiger |",
        "|---|---|---|---|---|---|---|---|",
    ]
    checks = _elasticity_checks(elasticity)
    for setting, measures in elasticity.items():
        for measure, e in measures.items():
            for when in ("start", "end"):
                v = e[when]
                step = 0 if when == "start" else e["step_end"]
                cells = [_fmt(v[k]["mean"], v[k]["std"]) for k in LEVEL_ORDER]
                ratios = [_fmt(v[k]["mean"], v[k]["std"]) for k in CONTRASTS]
                lines.append(
                    f"| {setting.replace('_', ' ')} | {measure} | {step} | "
                    + " | ".join(cells + ratios)
                    + " |"
                )
    lines += [
        "",
        "`compressive`: decay 1e-3 on touched nodes (the neurashed ingredient); "
        "`sgd only`: no decay. The last two columns are the impact profile (the "
        "value at a cat or a car as a fraction of the value at a tiger, per "
        "replica); the contrast grows when they fall. Verdict (same > related > "
        "unrelated at the end, and both fractions smaller at the end than at the "
        "start):",
        "",
    ]
    for setting, by_measure in checks.items():
        for measure, ok in by_measure.items():
            lines.append(f"* {setting.replace('_', ' ')}, {measure}: {_verdict(ok)}")
    lines += [
        "",
        "Differences and why: in HFS the impact is the trace of a positive "
        "semi-definite tangent kernel, so the unrelated impact stays >= 0 instead "
        "of turning negative as in the dossier's [S]; with decay the shared nodes "
        "(feline, animal, root) shrink, so the related impact falls in absolute "
        "terms (as the dossier's [S] found) while the unrelated one falls much "
        "further, and the contrast grows. S_rel for two tigers stays close to 1 "
        "because the instance features (gamma = 0.1) are the only thing the two "
        "samples do not share.",
        "",
        "## 2. Implicit regularisation (effective features per level)",
        "",
        "Claim (abstract; dossier section 1a, recalled): after training only a few "
        "features carry most of the amount, even in a large or over-parameterised "
        "neurashed. The paper gives no number. Dossier [S]: its multiplicative "
        "neurashed goes from N_eff [5, 6, 5] to [1.0, 1.0, 1.0] by epoch 10 but "
        "diverges; its bounded one stays near the maximum.",
        "",
        "| variant | level | features | N_eff start | N_eff min (step) | N_eff end |",
        "|---|---|---|---|---|---|",
    ]
    for row in neff.itertuples(index=False):
        lines.append(
            f"| {row.variant.replace('_', ' ')} | {row.level} | {row.n_features} | "
            f"{_fmt(row.start_mean, row.start_std)} | "
            f"{_fmt(row.min_mean, row.min_std)} ({row.min_step}) | "
            f"{_fmt(row.end_mean, row.end_std)} |"
        )
    fit_summary = fits.groupby("variant", sort=False)[["loss", "accuracy"]].mean()
    lines += [
        "",
        "Final training loss / accuracy (replica mean): "
        + "; ".join(
            f"{v.replace('_', ' ')} {r.loss:.3g} / {r.accuracy:.3g}"
            for v, r in fit_summary.iterrows()
        )
        + ".",
        "",
    ]
    gen = neff[neff["variant"] == "generic"]
    comp = neff[neff["variant"] == "compact"].set_index("level")
    falls = bool((gen["end_mean"] < gen["start_mean"]).all())
    ratio = [
        f"level {r.level}: {r.end_mean:.2f} vs {comp.loc[r.level, 'end_mean']:.2f}"
        for r in gen.itertuples(index=False)
    ]
    lines += [
        f"Verdict: N_eff falls at every feature level of the over-parameterised "
        f"(generic) graph: {_verdict(falls)}. It ends close to the compact graph's "
        f"({'; '.join(ratio)}), so the extra features are not used.",
        "",
        "Differences and why: (i) exact duplicates cannot compete in HFS (they "
        "receive identical gradients, so their amounts stay proportional to a "
        "projection of their initial values): the duplicated graph only loses the "
        "features the loss does not reinforce and keeps about `copies` times the "
        "compact graph's N_eff, unlike the dossier's multiplicative neurashed; "
        "(ii) without decay, SGD alone barely concentrates the amounts; the "
        "compressive ingredient does the work; (iii) under per-touch decay the "
        "features shared by several classes pay more decay than they earn, so the "
        "survivors are mostly class-specific. Features holding more than 10 % of "
        "their level's amount at the end (watershed, share), generic graph: "
        + _survivors(amounts, "generic")
        + ".",
        "",
        "## 3. Compression (amount entropy rises, then falls)",
        "",
        "Claim (abstract: information bottleneck; dossier section 1a, recalled): "
        "amounts first grow (fitting), then rarely useful features shrink "
        "(compression). The paper gives no number and the dossier none from its "
        "simulation.",
        "",
        "| quantity | measured |",
        "|---|---|",
        f"| H at step 0 | {_fmt(**compression['entropy_start'])} |",
        f"| H at its peak | {_fmt(**compression['entropy_peak'])} |",
        f"| H at step {compression['end_step']} | "
        f"{_fmt(**compression['entropy_end'])} |",
        f"| peak step of the mean curve | {compression['mean_curve_peak_step']} |",
        f"| peak step per replica: median (range) | "
        f"{compression['peak_step_median']:.0f} ({compression['peak_step_range'][0]}"
        f"-{compression['peak_step_range'][1]}) |",
        f"| training loss at the mean peak | {compression['loss_at_mean_peak']:.3g} |",
        f"| smallest rise / drop over replicas | {compression['rise_min']:.3g} / "
        f"{compression['drop_min']:.3g} |",
        "",
    ]
    ok = (
        compression["replicas_with_interior_peak"] == compression["replicas"]
        and compression["rise_min"] > 0
        and compression["drop_min"] > 0
    )
    lines += [
        f"Verdict: the peak is strictly inside the run, with a rise before and a "
        f"drop after it, in {compression['replicas_with_interior_peak']} of "
        f"{compression['replicas']} replicas: {_verdict(ok)}. The peak comes when "
        "the training loss has fallen most of the way (end of fitting); the "
        "compression phase that follows removes the generic and the shared "
        "features.",
        "",
        "Differences and why: the rise needs the class-related features to start "
        "small (undeveloped); with the equal initial amounts of panel 2 the entropy "
        "is maximal at step 0 and only falls. 'Information' here is the amount "
        "entropy, not a mutual-information estimate, and the relevance term is the "
        "training-set bound log K - loss (HFS has no test set).",
        "",
        "## Files",
        "",
        "`elasticity.csv`, `elasticity_contrast.csv`, `elasticity_curve.csv` (panel "
        "1); `feature_count.csv`, `feature_count_headline.csv`, `fit.csv`, "
        "`amounts.csv` (panel 2); "
        "`entropy.csv`, `entropy_peaks.csv` (panel 3); `figures/elasticity.png`, "
        "`figures/feature_count.png`, `figures/compression.png`; `run.json`.",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- run
def run(out: str | Path, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Run the three neurashed panels and write tables, figures and ``summary.md``.

    Parameters
    ----------
    out : str or Path
        Output directory (created if needed).
    quick : bool, default False
        The reduced protocol :data:`QUICK` (under a minute on 2 cores) instead of
        :data:`FULL`.
    seed : int, default 0
        Root seed; the panels use independent children of ``SeedSequence(seed)``.

    Returns
    -------
    dict
        ``elasticity`` (per setting and measure: the tiger row at the start and the
        end, mean and std), ``feature_count`` (per variant and level: N_eff at the
        start, minimum, end), ``compression`` (the amount-entropy peak), ``checks``
        (the qualitative claims, True when they hold) and ``protocol``.
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    p = QUICK if quick else FULL
    s_el, s_feat, s_comp = np.random.SeedSequence(seed).spawn(3)
    with blas_single_thread():
        values, curve, wide = _elasticity_panel(p, s_el.spawn(len(ELASTICITY_SETTINGS)))
        counts, fits, amounts = _feature_panel(p, s_feat.spawn(len(VARIANTS)))
        traj, peaks = _compression_panel(p, s_comp)

    elasticity = _elasticity_headline(wide)
    neff = _neff_headline(counts)
    compression = _compression_headline(traj, peaks)

    write_csv(
        out / "elasticity.csv",
        _summarise(
            values, ["setting", "measure", "relation", "probe_class", "step"], "value"
        ),
    )
    contrast = wide.melt(
        id_vars=["setting", "measure", "replica", "step"],
        value_vars=list(CONTRASTS),
        var_name="contrast",
    )
    write_csv(
        out / "elasticity_contrast.csv",
        _summarise(contrast, ["setting", "measure", "contrast", "step"], "value"),
    )
    write_csv(out / "elasticity_curve.csv", curve)
    neff_summary = _summarise(
        counts, ["variant", "depth", "n_nodes", "step"], "n_eff"
    ).rename(columns={"depth": "level"})
    write_csv(out / "feature_count.csv", neff_summary)
    write_csv(out / "feature_count_headline.csv", neff)
    write_csv(out / "amounts.csv", amounts)
    fit_summary = fits.groupby("variant", sort=False)[["loss", "accuracy"]].agg(
        ["mean", "std"]
    )
    fit_summary.columns = [f"{a}_{b}" for a, b in fit_summary.columns]
    write_csv(out / "fit.csv", fit_summary.reset_index())
    traj_cols = [c for c in traj.columns if c not in ("replica", "step")]
    entropy = traj.groupby("step")[traj_cols].agg(["mean", "std"])
    entropy.columns = [f"{a}_{b}" for a, b in entropy.columns]
    write_csv(out / "entropy.csv", entropy.reset_index())
    write_csv(out / "entropy_peaks.csv", peaks)

    figures = out / "figures"
    save_figure(_figure_elasticity(values), figures / "elasticity.png")
    save_figure(_figure_feature_count(counts), figures / "feature_count.png")
    save_figure(_figure_compression(traj, compression), figures / "compression.png")

    feature_count: dict[str, Any] = {}
    for row in neff.itertuples(index=False):
        feature_count.setdefault(row.variant, {})[f"level{row.level}"] = {
            "n_features": row.n_features,
            "start": row.start_mean,
            "min": row.min_mean,
            "min_step": row.min_step,
            "end": row.end_mean,
        }
    gen = neff[neff["variant"] == "generic"]
    checks = {
        "elasticity": _elasticity_checks(elasticity),
        "neff_falls_overparameterised": bool(
            (gen["end_mean"] < gen["start_mean"]).all()
        ),
        "entropy_peak_interior": bool(
            compression["replicas_with_interior_peak"] == compression["replicas"]
            and compression["rise_min"] > 0
            and compression["drop_min"] > 0
        ),
    }
    headline = {
        "elasticity": elasticity,
        "feature_count": feature_count,
        "compression": compression,
        "checks": checks,
        "protocol": asdict(p),
    }
    seconds = time.perf_counter() - started
    write_summary(
        out / "summary.md",
        _summary_text(
            p,
            quick=quick,
            seed=seed,
            elasticity=elasticity,
            neff=neff,
            fits=fits,
            amounts=amounts,
            compression=compression,
            seconds=seconds,
        ),
    )
    write_run_record(
        out, name=NAME, quick=quick, seed=seed, started=started, headline=headline
    )
    return headline
