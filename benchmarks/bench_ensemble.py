"""Benchmark of replica ensembles (``simnet.simulate_ensemble``) against numpy loops.

Run from the repository root::

    python benchmarks/bench_ensemble.py                              # ~3 minutes
    python benchmarks/bench_ensemble.py --quick                      # ~1 minute
    python benchmarks/bench_ensemble.py --out benchmarks/RESULTS.md  # write the report

The LE-SDE paper's figure-5 workload (Zhang, Wang & Su, NeurIPS 2021): an ensemble of
R = 500 replicas, K = 3 classes, 10,000 steps, two-parameter impact matrix with
power-law schedules ``alpha(t) = 1.0 (t + 1)^-0.5`` and ``beta(t) = 0.3 (t + 1)^-0.5``,
recorded at 11 steps (stride 1,000) with the ``loss`` observable only:

(a) the class-mean LE-ODE, projected surrogate (L model), forward Euler, dt = 1;
(b) the discrete SGD imitation, 300 particles per class, batch size 1, no noise.

Each is compared, in the same process, with

* the straightforward numpy loop over replicas and steps: the numpy twins of the
  kernels in ``tests/reference.py`` (``lesde_ode_steps``; ``lesde_sgd_steps``, which
  updates every particle each step). It is timed on a subset of the replicas (all
  steps) and scaled linearly to R (the replicas are independent and identical in
  cost), as the report says;
* for context, two stronger numpy baselines: a per-replica loop with lazy class
  offsets (SGD only, O(K p) per step like the kernel) and a loop over steps only that
  vectorises over the R replicas (full R, not scaled);
* R sequential ``simnet.simulate`` calls with the children seeds (full R), whose
  tables are checked to equal the ensemble's bit for bit.

Before any timing each numpy baseline is checked to agree with the ensemble to 1e-10
relative on the same initial states, minibatch indices and coefficients. The
ensemble is timed end to end (``simulate_ensemble``: set-up, dynamics, recording,
summaries) and its dynamics alone (``metadata["seconds_kernels"]``: drawing the
minibatch indices, the coefficient tables and the parallel kernel calls). Timings
are the best of a few calls of ``time.perf_counter`` after a warm-up call; the numba
kernels use numba's threads, numpy one thread.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import pandas as pd
from report import cpu_model, git_head, load_average, now, replace_section

import simnet
from simnet.kernels.lesde import METHOD_EULER, SURROGATE_PROJECTED
from simnet.runners.sampling import BatchSampler
from simnet.seeding import spawn_generators
from simnet.simulate import _STREAMS

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
import reference  # noqa: E402  (the numpy twins of the kernels, in tests/)

TARGET_SPEEDUP = 50.0  # ensemble vs the straightforward numpy loop
AGREE_RTOL = 1e-10
AGREE_ATOL = 1e-12

K = 3
ALPHA = simnet.PowerLaw(1.0, 0.5)
BETA = simnet.PowerLaw(0.3, 0.5)


@dataclass(frozen=True)
class Settings:
    replicas: int
    steps: int
    stride: int
    n_per_class: int
    numpy_replicas: int  # replicas of the per-replica numpy loops (then scaled to R)
    repeat: int  # best of this many ensemble / sequential calls
    check_steps: int


FULL = Settings(500, 10_000, 1_000, 300, numpy_replicas=10, repeat=3, check_steps=300)
QUICK = Settings(500, 10_000, 1_000, 300, numpy_replicas=3, repeat=1, check_steps=100)


def models(n_per_class: int) -> dict[str, simnet.LESDEModel]:
    impact = simnet.ImpactMatrix.two_parameter(K, alpha=ALPHA, beta=BETA)
    return {
        "ode": simnet.LESDEModel(
            impact, integrator="ode", surrogate="projected", ode_method="euler", dt=1.0
        ),
        "sgd": simnet.LESDEModel(impact, integrator="sgd", n_per_class=n_per_class),
    }


# ---------------------------------------------------------------------- inputs
def initial_features(model, replicas: int, seed: int) -> np.ndarray:
    """The replicas' initial particles (R, n, p) (class means for the ODE)."""
    result = simulate_ensemble(model, replicas, 0, 1, seed)
    return result.state["features"].copy()


def replica_batches(model, replicas: int, steps: int, seed: int) -> np.ndarray:
    """Each replica's minibatch indices (R, steps, B), from its own sampling stream."""
    children = np.random.SeedSequence(seed).spawn(replicas)
    out = []
    for child in children:
        rng = spawn_generators(child, _STREAMS)[1]["sampling"]
        sampler = BatchSampler(
            model.n_samples, model.batch_size, model.sampling_mode, rng
        )
        out.append(sampler.draw(steps))
    return np.stack(out)


def coefficients(model, steps: int) -> np.ndarray:
    """Coefficients (steps, 3, R_terms) at t, t + dt/2, t + dt, as the runner builds."""
    t = np.arange(steps, dtype=np.float64)
    times = np.stack([(t + o) * model.dt for o in (0.0, 0.5, 1.0)], axis=-1)
    return np.ascontiguousarray(model.impact.coefficient_table(times))


def simulate_ensemble(model, replicas, steps, stride, seed):
    return simnet.simulate_ensemble(
        model,
        replicas=replicas,
        steps=steps,
        record=stride,
        observe=["loss"],
        seed=seed,
        progress=False,
    )


# ---------------------------------------------------------------------- numpy loops
def ode_numpy_loop(m0: np.ndarray, model, coef: np.ndarray) -> np.ndarray:
    """Straightforward: for each replica, the numpy twin's loop over steps."""
    out = m0.copy()
    basis = model.impact.basis
    head = np.empty((0, K))
    for r in range(out.shape[0]):
        code = reference.lesde_ode_steps(
            out[r], basis, coef, head, model.dt, SURROGATE_PROJECTED, METHOD_EULER
        )
        assert code == -1, "numpy ODE diverged"
    return out


def ode_numpy_vectorised(m0: np.ndarray, model, coef: np.ndarray) -> np.ndarray:
    """Loop over steps only; every step updates the (R, K, K) class means at once."""
    m = m0.copy()
    basis = model.impact.basis
    d = np.eye(K) - 1.0 / K
    dd = np.sum(d * d, axis=1)
    dt = model.dt
    for t in range(coef.shape[0]):
        e = np.tensordot(coef[t, 0], basis, axes=1)
        s = np.sum(m * d, axis=2) / dd  # (R, K)
        g = s[:, :, None] * d  # G_k = P_k m_k
        m += dt * (e @ g) / K
    return m


def softmax_residual(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Rows ``softmax(z_r) - e_{labels_r}``."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    r = e / e.sum(axis=-1, keepdims=True)
    r[np.arange(z.shape[0]), labels] -= 1.0
    return r


def sgd_numpy_loop(x0, labels, model, coef, batches) -> np.ndarray:
    """Straightforward: for each replica, the numpy twin (every particle moves)."""
    out = x0.copy()
    basis = model.impact.basis
    head = np.empty((0, K))
    last_touch = np.zeros(labels.shape[0], dtype=np.int64)
    rng = np.random.default_rng(0)  # unused: sigma = 0
    for r in range(out.shape[0]):
        code = reference.lesde_sgd_steps(
            out[r], labels, basis, coef, head, batches[r], 0.0, last_touch, rng, 0
        )
        assert code == -1, "numpy SGD diverged"
    return out


def sgd_numpy_lazy_loop(x0, labels, model, coef, batches) -> np.ndarray:
    """For each replica, numpy steps on the K class offsets (O(K p) per step)."""
    out = x0.copy()
    basis = model.impact.basis
    for r in range(out.shape[0]):
        x, offsets = out[r], np.zeros((K, x0.shape[2]))
        for t, i in enumerate(batches[r, :, 0].tolist()):
            c = labels[i]
            z = x[i] + offsets[c]
            e = np.exp(z - z.max())
            g = e / e.sum()
            g[c] -= 1.0
            col = coef[t] @ basis[:, :, c]
            offsets -= col[:, None] * g
        out[r] = x + offsets[labels]
    return out


def sgd_numpy_vectorised(x0, labels, model, coef, batches) -> np.ndarray:
    """Loop over steps only; each step moves the class offsets of all R replicas."""
    base = x0
    n_rep = base.shape[0]
    offsets = np.zeros((n_rep, K, base.shape[2]))
    basis = model.impact.basis
    reps = np.arange(n_rep)
    for t in range(coef.shape[0]):
        i = batches[:, t, 0]
        c = labels[i]
        g = softmax_residual(base[reps, i] + offsets[reps, c], c)  # (R, p)
        col = np.tensordot(coef[t], basis, axes=1)[:, c].T  # (R, K): E[:, c_r]
        offsets -= col[:, :, None] * g[:, None, :]
    return base + offsets[:, labels]


# ---------------------------------------------------------------------- checks
def assert_agrees(name: str, got: np.ndarray, want: np.ndarray) -> float:
    scale = np.maximum(np.abs(want), AGREE_ATOL / AGREE_RTOL)
    err = float(np.max(np.abs(got - want) / scale))
    if not np.allclose(got, want, rtol=AGREE_RTOL, atol=AGREE_ATOL):
        raise RuntimeError(
            f"{name}: the numpy baseline disagrees with the ensemble (max relative "
            f"error {err:.2e}); fix the baseline before timing"
        )
    return err


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


# ---------------------------------------------------------------------- benchmark
def bench(name: str, model, st: Settings, seed: int, log) -> dict:
    n_rep, steps = st.replicas, st.steps
    row: dict = {"name": name, "R": n_rep, "T": steps, "n": model.n_samples}
    x0 = initial_features(model, n_rep, seed)
    coef = coefficients(model, steps)
    labels = model.labels()
    batches = replica_batches(model, n_rep, steps, seed) if name == "sgd" else None

    # agreement of every baseline with the ensemble, on a short run
    chk = st.check_steps
    short = simulate_ensemble(model, n_rep, chk, chk, seed).state["features"]
    if name == "ode":
        few = ode_numpy_loop(x0[:3], model, coef[:chk])
        row["err"] = max(
            assert_agrees("ODE loop", short[:3], few),
            assert_agrees(
                "ODE vectorised", short, ode_numpy_vectorised(x0, model, coef[:chk])
            ),
        )
    else:
        c1 = np.ascontiguousarray(coef[:chk, 0])
        b = batches[:, :chk]
        row["err"] = max(
            assert_agrees(
                "SGD loop", short[:3], sgd_numpy_loop(x0[:3], labels, model, c1, b)
            ),
            assert_agrees(
                "SGD lazy loop",
                short[:3],
                sgd_numpy_lazy_loop(x0[:3], labels, model, c1, b),
            ),
            assert_agrees(
                "SGD vectorised",
                short,
                sgd_numpy_vectorised(x0, labels, model, c1, b),
            ),
        )
    log(f"{name}: baselines agree (max rel err {row['err']:.1e})")

    # the ensemble, end to end and its dynamics
    simulate_ensemble(model, n_rep, 100, 100, seed)  # warm-up (kernels, typed list)
    runs = []
    for _ in range(st.repeat):
        t0 = time.perf_counter()
        result = simulate_ensemble(model, n_rep, steps, st.stride, seed)
        runs.append((time.perf_counter() - t0, result))
    row["ens_total"] = min(t for t, _ in runs)
    row["ens_kernels"] = min(r.metadata["seconds_kernels"] for _, r in runs)
    row["ens_record"] = min(r.metadata["seconds_recording"] for _, r in runs)
    row["threads"] = runs[0][1].metadata["numba_threads"]
    ensemble = runs[0][1]
    log(f"{name}: ensemble {row['ens_total']:.2f} s, dynamics {row['ens_kernels']:.2f}")

    # numpy: straightforward loop on a subset of replicas, scaled to R
    sub = st.numpy_replicas
    if name == "ode":
        t_loop, _ = best_of(lambda: ode_numpy_loop(x0[:sub], model, coef), 1)
        t_vec, _ = best_of(lambda: ode_numpy_vectorised(x0, model, coef), 1)
    else:
        c1 = np.ascontiguousarray(coef[:, 0])
        t_loop, _ = best_of(
            lambda: sgd_numpy_loop(x0[:sub], labels, model, c1, batches[:sub]), 1
        )
        t_lazy, _ = best_of(
            lambda: sgd_numpy_lazy_loop(x0[:sub], labels, model, c1, batches[:sub]), 1
        )
        row["np_lazy"] = t_lazy * n_rep / sub
        t_vec, _ = best_of(
            lambda: sgd_numpy_vectorised(x0, labels, model, c1, batches), 1
        )
    row["np_loop"] = t_loop * n_rep / sub
    row["np_loop_measured"] = t_loop
    row["np_vec"] = t_vec
    log(f"{name}: numpy loop {row['np_loop']:.1f} s (scaled from {sub} replicas)")

    # R sequential simulate calls with the children seeds
    children = np.random.SeedSequence(seed).spawn(n_rep)

    def sequential() -> list:
        return [
            simnet.simulate(
                model,
                steps=steps,
                record=st.stride,
                observe=["loss"],
                seed=child,
                progress=False,
            )
            for child in children
        ]

    row["seq_total"], singles = best_of(sequential, 1)
    row["seq_kernels"] = sum(s.metadata["seconds_kernels"] for s in singles)
    metrics = ensemble.table("metrics")
    for r, single in enumerate(singles):
        mine = metrics[metrics["replica"] == r].drop(columns="replica")
        pd.testing.assert_frame_equal(
            mine.reset_index(drop=True), single.table("metrics"), check_exact=True
        )
    log(f"{name}: sequential simulate {row['seq_total']:.2f} s (tables identical)")
    return row


# ---------------------------------------------------------------------- report
def report(rows: list[dict], st: Settings, args, started, elapsed, load0) -> str:
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not initialised"
    cmd = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    lines = [
        "# Replica-ensemble benchmark",
        "",
        "Generated by `benchmarks/bench_ensemble.py` (see its docstring for what is "
        "timed).",
        "",
        f"- date: {started} (took {elapsed:.0f} s)",
        f"- command: `{cmd}`",
        f"- git HEAD: {git_head()} (working tree may differ)",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores; load average "
        f"(1 / 5 / 15 min) at the start {load0}, at the end {load_average()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads, layer "
        f"{layer}), pandas {pd.__version__}",
        f"- workload: R = {st.replicas} replicas, K = {K}, {st.steps:,} steps, "
        f"records every {st.stride:,} steps (observable `loss`); E(t) two-parameter "
        "with alpha(t) = 1.0 (t + 1)^-0.5, beta(t) = 0.3 (t + 1)^-0.5",
        f"- ensemble and sequential times: best of {st.repeat} / 1 call(s); numpy "
        f"per-replica loops timed on {st.numpy_replicas} replicas x all steps and "
        f"scaled linearly to R = {st.replicas} (marked *scaled*); the "
        "replica-vectorised numpy loop runs all R replicas",
        "",
        "Speedup = time of the straightforward numpy loop over replicas and steps "
        "(*scaled*) / ensemble time, end to end (total: set-up, dynamics, recording, "
        "summaries) and for the dynamics alone. Target: >= 50x.",
        "",
        "| workload | ensemble total s | ensemble dynamics s | recording s | "
        "numpy loop s (scaled) | speedup total | target met | speedup dynamics | "
        "target met |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    n_sgd = next((r["n"] for r in rows if r["name"] == "sgd"), 0)
    names = {
        "ode": "(a) LE-ODE, projected, Euler dt = 1",
        "sgd": f"(b) SGD imitation, n = {n_sgd}, B = 1",
    }

    def met(ratio: float) -> str:
        return "**yes**" if ratio >= TARGET_SPEEDUP else "**no**"

    for r in rows:
        tot, dyn = r["np_loop"] / r["ens_total"], r["np_loop"] / r["ens_kernels"]
        lines.append(
            f"| {names[r['name']]} | {r['ens_total']:.2f} | {r['ens_kernels']:.2f} | "
            f"{r['ens_record']:.2f} | {r['np_loop']:.1f} | {tot:.0f}x | {met(tot)} | "
            f"{dyn:.0f}x | {met(dyn)} |"
        )
    lines += [
        "",
        "Context: stronger numpy baselines and sequential `simulate` calls "
        "(ratio = their time / ensemble time; >1 means the ensemble is faster):",
        "",
        "| workload | baseline | s | / ensemble total | / ensemble dynamics |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ctx = [("numpy loop over replicas and steps (*scaled*)", r["np_loop"])]
        if "np_lazy" in r:
            ctx.append(("numpy loop, lazy class offsets (*scaled*)", r["np_lazy"]))
        ctx += [
            ("numpy loop over steps, vectorised over R", r["np_vec"]),
            (f"{r['R']} sequential `simulate` calls", r["seq_total"]),
            ("  of which their kernels", r["seq_kernels"]),
        ]
        for label, t in ctx:
            lines.append(
                f"| {names[r['name']]} | {label} | {t:.2f} | "
                f"{t / r['ens_total']:.1f}x | {t / r['ens_kernels']:.1f}x |"
            )
    lines += ["", "What limits the end-to-end ratio:", ""]
    for r in rows:
        rest = r["ens_total"] - r["ens_kernels"] - r["ens_record"]
        lines.append(
            f"- {names[r['name']]}: dynamics {r['ens_kernels'] / r['ens_total']:.0%}, "
            f"recording {r['ens_record'] / r['ens_total']:.0%}, set-up, tables and "
            f"summaries {rest / r['ens_total']:.0%} of the ensemble's time."
        )
    lines += [
        "",
        "Recording runs in Python, replica by replica, through the single-run "
        "`Recorder` (observables in numpy, rows buffered as columns), so its "
        f"cost grows with R x records ({st.replicas} x {st.steps // st.stride + 1} "
        "here), not with the steps. With K = 3 a step is a few flops per replica, so "
        "a numpy loop over steps that vectorises over the R replicas (context table) "
        "is only a few times slower than the ensemble's dynamics: the large ratios "
        "are against per-replica loops, whose cost is numpy's per-call overhead.",
    ]
    errs = ", ".join(f"{r['name']} {r['err']:.1e}" for r in rows)
    lines += [
        "",
        f"Agreement before timing ({st.check_steps} steps, same initial states, "
        f"indices and coefficients): max relative difference {errs} (tolerance "
        f"{AGREE_RTOL:g}). The sequential `simulate` tables equal the ensemble's "
        "bit for bit.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", type=Path, help="write the report to this file")
    parser.add_argument("--seed", type=int, default=20240521)
    args = parser.parse_args(argv)
    st = QUICK if args.quick else FULL
    started, load0 = now(), load_average()
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", file=sys.stderr)

    rows = [
        bench(name, model, st, args.seed, log)
        for name, model in models(st.n_per_class).items()
    ]
    text = report(rows, st, args, started, time.perf_counter() - t_start, load0)
    print(text)
    if args.out is not None:
        replace_section(args.out, "ensemble", text)
        log(f"wrote the 'ensemble' section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
