"""Benchmark of simnet.sweeps: local-process throughput and the Dask overhead.

1. Sweep throughput of the ``processes`` backend with 2 workers against 1, on cells
   of about 1 s each (LE-SDE, Euler-Maruyama; the step count is calibrated so a cell
   takes ~1 s on one thread here). Target: >= 1.7x.
2. The overhead per cell of a Dask ``LocalCluster`` (2 worker processes, one thread
   each) against the ``processes`` backend with 2 workers. Target: < 10 percent.

Wall times include starting the workers (and the cluster): what a user waits for.
Each configuration runs ``--repeat`` times and the best time is kept; the three
backends must give identical tables (checked). A script, not a test: nothing
asserts on time. Run from the repository root::

    python benchmarks/bench_sweeps.py                                # ~2 minutes
    python benchmarks/bench_sweeps.py --out benchmarks/RESULTS.md

The Markdown section goes to stdout (and replaces its section of ``--out``);
progress goes to stderr. Other work on the machine distorts the ratios: the load
average at the start and the end is reported.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pandas as pd
from report import cpu_model, git_head, load_average, now, replace_section

from simnet.config import config_from_mapping
from simnet.sweeps import SweepSpec, run_sweep

REPO = Path(__file__).resolve().parents[1]


def base_config(steps: int) -> dict[str, Any]:
    return {
        "run": {"steps": steps, "record": {"at": [steps]}, "observe": ["loss"]},
        "model": {
            "kind": "lesde",
            "integrator": "sde",
            "dt": 0.01,
            "sigma": 0.05,
            "n_per_class": 40,
            "impact": {
                "kind": "two_parameter",
                "n_classes": 3,
                "alpha": 1.0,
                "beta": 0.0,
            },
        },
    }


def calibrate(target: float) -> tuple[int, float]:
    """Steps for a cell of about ``target`` seconds on one thread, and its time."""
    numba.set_num_threads(1)
    steps = 4000
    config_from_mapping(base_config(100)).simulate(progress=False)  # compile
    for _ in range(4):
        cfg = config_from_mapping(base_config(steps))
        started = time.perf_counter()
        cfg.simulate(progress=False)
        seconds = time.perf_counter() - started
        steps = max(100, int(steps * target / seconds))
    cfg = config_from_mapping(base_config(steps))
    started = time.perf_counter()
    cfg.simulate(progress=False)
    return steps, time.perf_counter() - started


_ONE_CELL = """
import sys, time
from simnet.config import config_from_mapping
sys.path.insert(0, {here!r})
from bench_sweeps import base_config
cfg = config_from_mapping(base_config({steps}))
cfg.simulate(progress=False)
started = time.perf_counter()
cfg.simulate(progress=False)
print(time.perf_counter() - started)
"""


def machine_parallelism(steps: int) -> tuple[float, float]:
    """Seconds of one cell timed in a lone process and in each of two concurrent
    processes (plain subprocesses, no simnet.sweeps): the speed-up the machine
    offers at the moment, 2 x lone / concurrent, bounds that of any backend."""
    code = _ONE_CELL.format(here=str(Path(__file__).resolve().parent), steps=steps)
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True
        )

    lone = float(start().communicate()[0])
    pair = [start(), start()]
    concurrent = max(float(p.communicate()[0]) for p in pair)
    return lone, concurrent


def timed_sweep(spec: SweepSpec, repeat: int, **kwargs: Any) -> tuple[float, Any]:
    """Best wall time of ``repeat`` sweeps, and the result of that run."""
    best, result = float("inf"), None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            run = run_sweep(spec, out=Path(tmp) / "sweep", progress=False, **kwargs)
            seconds = time.perf_counter() - started
        if seconds < best:
            best, result = seconds, run
    return best, result


def cell_seconds(result: Any) -> float:
    return float(np.mean([c["seconds"] for c in result.manifest["cells"]]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=10, help="cells (default 10)")
    parser.add_argument(
        "--cell-seconds", type=float, default=1.0, help="target cell time (1.0)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="runs per backend (2)")
    parser.add_argument(
        "--out", type=Path, help="write the report as a section of this Markdown file"
    )
    args = parser.parse_args(argv)

    started_at, load_start = now(), load_average()
    t0 = time.perf_counter()
    steps, one_cell = calibrate(args.cell_seconds)
    print(f"calibrated: {steps} steps, {one_cell:.2f} s per cell", file=sys.stderr)
    alphas = np.linspace(0.5, 1.5, args.cells // 2).tolist()
    spec = SweepSpec(
        base=base_config(steps),
        grid={"model.impact.alpha": alphas},
        seeds=args.cells // len(alphas),
    )
    # The start-up cost of a backend: the same sweep with one-step cells.
    empty = SweepSpec(
        base=base_config(1), grid={"model.impact.alpha": alphas}, seeds=spec.seeds
    )
    backends = {
        "processes, 1 worker": {"backend": "processes", "workers": 1},
        "processes, 2 workers": {"backend": "processes", "workers": 2},
        "Dask LocalCluster, 2 workers": {"backend": "dask", "workers": 2},
    }
    # Rounds over the backends (not all runs of one backend in a row), so that
    # other work on the machine falls on all of them alike; the best run is kept.
    runs: dict[str, tuple[float, Any]] = {}
    startup: dict[str, float] = {}
    for round_ in range(args.repeat):
        for name, kwargs in backends.items():
            print(f"round {round_ + 1}: {name}", file=sys.stderr)
            empty_seconds = timed_sweep(empty, 1, **kwargs)[0]
            startup[name] = min(startup.get(name, float("inf")), empty_seconds)
            seconds, result = timed_sweep(spec, 1, **kwargs)
            if name not in runs or seconds < runs[name][0]:
                runs[name] = (seconds, result)
    print("machine parallelism check", file=sys.stderr)
    lone, concurrent = machine_parallelism(steps)
    tables = [r.table for _, r in runs.values()]
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table, tables[0])
    elapsed = time.perf_counter() - t0
    load_end = load_average()

    (t1, _), (t2, _), (td, _) = runs.values()
    s1, s2, sd = startup.values()
    n = spec.n_cells
    speedup = t1 / t2
    steady = (t1 - s1) / (t2 - s2)
    overhead = (td - t2) / t2
    # worker-seconds per cell beyond the processes backend, start-up excluded
    per_cell = ((td - sd) - (t2 - s2)) * 2 / n
    cell = (t2 - s2) * 2 / n
    lines = [
        "## Sweeps (`benchmarks/bench_sweeps.py`)",
        "",
        f"- date: {started_at} (took {elapsed:.0f} s)",
        "- command: `python benchmarks/bench_sweeps.py "
        + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
        + "`",
        f"- git HEAD: {git_head()} (working tree may differ)",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores; load average "
        f"(1 / 5 / 15 min) at the start {load_start}, at the end {load_end}",
        f"- python {platform.python_version()}, numpy {np.__version__}, numba "
        f"{numba.__version__}",
        f"- cells: {n} LE-SDE runs (3 classes x 40 particles, {steps} Euler-Maruyama "
        f"steps; {one_cell:.2f} s each on one thread in this process), "
        f"{len(alphas)} points x {spec.seeds} seeds; output folder on local disk",
        f"- timing: wall time of `run_sweep` including worker (and cluster) start-up, "
        f"best of {args.repeat} rounds over the backends; the three tables are "
        "identical (checked)",
        "",
        "Start-up: wall time of the same sweep with one-step cells (worker and "
        "cluster start, imports, the parent's Numba warm-up, writing the folder). "
        "The 2 cores are shared with other people's jobs (see the load average); "
        "the machine check below says how much parallelism they left.",
        "",
        "| backend | wall s | start-up s | wall - start-up s | mean cell s (in "
        "worker) | cells/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, (seconds, result) in runs.items():
        lines.append(
            f"| {name} | {seconds:.2f} | {startup[name]:.2f} | "
            f"{seconds - startup[name]:.2f} | {cell_seconds(result):.2f} | "
            f"{n / seconds:.2f} |"
        )
    ceiling = 2 * lone / concurrent
    lines += [
        "",
        f"- machine check (two plain processes, no sweep code, right after the "
        f"runs): one cell takes {lone:.2f} s alone and {concurrent:.2f} s with "
        f"another running beside it, so the machine offered **{ceiling:.2f}x** "
        "at most",
        f"- throughput, 2 workers vs 1, wall time: **{speedup:.2f}x**; start-up "
        f"excluded: **{steady:.2f}x** (target >= 1.7x: "
        f"{'met' if speedup >= 1.7 else 'not met'} / "
        f"{'met' if steady >= 1.7 else 'not met'})",
        f"- Dask LocalCluster vs processes (2 workers each): wall time "
        f"**{overhead:+.1%}**; start-up excluded **{per_cell:+.3f} s per cell** "
        f"(**{per_cell / cell:+.1%}** of a cell) (target < 10%: "
        f"{'met' if overhead < 0.10 else 'not met'} / "
        f"{'met' if per_cell / cell < 0.10 else 'not met'})",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        replace_section(args.out, "sweeps", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
