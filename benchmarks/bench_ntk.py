"""Benchmark of simnet.networks: the closed-form empirical NTK and the probes.

1. The NTK Gram matrix of a one-hidden-layer ReLU network with a scalar output
   (n = 2000 samples, width 2048, input dimension 64; 135 k parameters) by the
   layer-wise closed form (``empirical_ntk``), against the same matrix from explicit
   per-sample parameter gradients in numpy (``ntk_by_gradients``: the (n, P)
   Jacobian, then its Gram matrix), **in the same run**. Target: closed form >= 20x
   faster, agreement to 1e-8 relative.
2. He & Su's probe-based S_rel / S_ker for 1000 samples (1000 probes x 1000 targets,
   one exact SGD step per probe, default eta), and for context the eta -> 0 limits
   from the NTK (``kernel_similarities``).

A script, not a test: nothing asserts on time. Run from the repository root::

    python benchmarks/bench_ntk.py                                  # ~2 minutes
    python benchmarks/bench_ntk.py --out benchmarks/RESULTS.md

The Markdown section goes to stdout (and replaces its section of ``--out``);
progress goes to stderr. The full run needs about 6 GB of memory (the per-sample
Jacobian of the baseline is 2000 x 135 k float64, 2.2 GB, plus a temporary of the
same size). If ``--baseline-n`` is smaller than ``--n``, the baseline is timed on
that many samples and scaled to ``--n`` (the Jacobian linearly, its n^2 P Gram
product quadratically); the report says so.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from report import (  # benchmarks/report.py
    cpu_model,
    git_head,
    load_average,
    now,
    replace_section,
)

from simnet.networks import (
    MLP,
    empirical_ntk,
    kernel_similarities,
    ntk_by_gradients,
    output_jacobian,
    probe_similarities,
)

REPO = Path(__file__).resolve().parents[1]


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls and the result of the last one."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in infos
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="samples for the NTK")
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument(
        "--baseline-n",
        type=int,
        default=None,
        help="samples for the per-sample-gradient baseline (default: --n)",
    )
    parser.add_argument("--probes", type=int, default=1000, help="probes = targets")
    parser.add_argument("--repeat", type=int, default=5, help="calls of the fast paths")
    parser.add_argument("--seed", type=int, default=20240521)
    parser.add_argument(
        "--out", type=Path, help="write the report as a section of this Markdown file"
    )
    args = parser.parse_args(argv)
    n_base = args.n if args.baseline_n is None else min(args.baseline_n, args.n)
    started, load0 = now(), load_average()
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        elapsed = time.perf_counter() - t_start
        print(f"[{elapsed:6.1f}s] {msg}", file=sys.stderr, flush=True)

    rng = np.random.default_rng(args.seed)
    mlp = MLP(args.dim, (args.width,), 1, activation="relu", loss="mse")
    params = mlp.init(rng)
    X = rng.normal(size=(args.n, args.dim))
    y = rng.integers(0, 2, size=args.n)

    # warm-up (page faults of the first large allocations, BLAS thread start-up)
    empirical_ntk(mlp, params, X[:200])
    ntk_by_gradients(mlp, params, X[:50])

    # 1. NTK: closed form vs per-sample gradients, same inputs, same process.
    t_cf, K_cf = best_of(lambda: empirical_ntk(mlp, params, X), args.repeat)
    log(f"closed form n={args.n}: {t_cf:.3f} s")
    repeat_base = 2 if n_base < args.n or args.n <= 1000 else 1
    Xb = X[:n_base]

    def baseline() -> tuple[float, float, np.ndarray]:
        # ntk_by_gradients in its two stages, timed apart: the Jacobian, its Gram.
        t0 = time.perf_counter()
        J = output_jacobian(mlp, params, Xb)[:, 0]
        t1 = time.perf_counter()
        K = J @ J.T
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1, K

    runs = [baseline() for _ in range(repeat_base)]
    t_jac, t_gram, K_base = min(runs, key=lambda r: r[0] + r[1])
    t_base = t_jac + t_gram
    del runs
    log(f"per-sample gradients n={n_base}: {t_jac:.2f} s + {t_gram:.2f} s")
    check = ntk_by_gradients(mlp, params, X[:50])
    assert np.allclose(check, K_base[:50, :50], rtol=1e-12, atol=0)
    # The Jacobian costs O(n P), its Gram O(n^2 P): each part scaled by its order.
    ratio = args.n / n_base
    scale = ratio**2
    t_base_full = t_jac * ratio + t_gram * scale
    err = float(
        np.max(np.abs(K_cf[:n_base, :n_base] - K_base)) / np.max(np.abs(K_base))
    )
    del K_base
    # The same Gram on the subset with the closed form, for a like-for-like ratio.
    t_cf_sub, _ = best_of(lambda: empirical_ntk(mlp, params, X[:n_base]), args.repeat)
    log(f"closed form n={n_base}: {t_cf_sub:.3f} s; max rel. difference {err:.2e}")

    # 2. Probes: 1000 probes x 1000 targets, He & Su's default step.
    n_p = min(args.probes, args.n)
    Xp, yp = X[:n_p], y[:n_p]
    t_probe, sim = best_of(lambda: probe_similarities(mlp, params, Xp, yp), 2)
    log(f"probe similarities {n_p} x {n_p}: {t_probe:.2f} s")
    t_lim, lim = best_of(lambda: kernel_similarities(mlp, params, Xp, yp), 2)
    log(f"kernel limits {n_p} x {n_p}: {t_lim:.2f} s")
    dev_rel = float(np.nanmax(np.abs(sim.s_rel - lim.s_rel)))
    dev_ker = float(
        np.nanmax(np.abs(sim.s_ker - lim.s_ker)) / np.nanmax(np.abs(lim.s_ker))
    )
    etas = np.unique(sim.eta)

    n_params = params.n_parameters
    cmd = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    speedup = t_base_full / t_cf
    met = "**yes**" if speedup >= 20 else "**no**"
    agree = "**yes**" if err <= 1e-8 else "**no**"
    scaled = (
        f"timed on n = {n_base} and scaled to n = {args.n}: the Jacobian linearly "
        f"(x {ratio:.2f}), its Gram matrix quadratically (x {scale:.2f})"
        if n_base < args.n
        else "timed at full size"
    )
    lines = [
        "",
        "## NTK and similarity probes (`benchmarks/bench_ntk.py`)",
        "",
        f"- date: {started} (took {time.perf_counter() - t_start:.0f} s)",
        f"- command: `{cmd}`",
        f"- git HEAD: {git_head()} (working tree may differ)",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores; load average "
        f"(1 / 5 / 15 min) at the start {load0}, at the end {load_average()}",
        f"- python {platform.python_version()}, numpy {np.__version__}; BLAS: "
        f"{blas_threads()}",
        f"- timing: best of {args.repeat} calls for the closed form, of "
        f"{repeat_base} for the per-sample-gradient baseline, of 2 for the probes "
        "(`time.perf_counter`); float64 throughout",
        "",
        f"Network: {args.dim} -> {args.width} (ReLU) -> 1, biases, PyTorch default "
        f"init, {n_params:,} parameters; inputs i.i.d. N(0, 1).",
        "",
        "### Empirical NTK Gram matrix (n x n, scalar output)",
        "",
        "Baseline: `ntk_by_gradients`, the (n, P) per-sample Jacobian (one "
        "backpropagation with per-sample outer products kept), then J J^T (BLAS "
        "syrk). Closed form: `empirical_ntk`, "
        "(X X^T + 1) * (B B^T) + (H H^T + 1) with B = relu'(h) * a.",
        "",
        "| method | n | seconds | speedup | target >= 20x met |",
        "|---|---|---|---|---|",
        f"| per-sample gradients (numpy) | {args.n} | {t_base_full:.2f} | 1x | - |",
        f"| closed form | {args.n} | {t_cf:.3f} | {speedup:.0f}x | {met} |",
        f"| closed form vs the Gram product J J^T alone | {args.n} | {t_cf:.3f} | "
        f"{t_gram * scale / t_cf:.0f}x | - |",
    ]
    lines += [
        f"| - of which the per-sample Jacobian (n x P) | {n_base} | {t_jac:.2f} | "
        "- | - |",
        f"| - of which its Gram matrix J J^T | {n_base} | {t_gram:.2f} | - | - |",
    ]
    if n_base < args.n:
        lines += [
            f"| closed form, same subset | {n_base} | {t_cf_sub:.3f} | "
            f"{t_base / t_cf_sub:.0f}x | - |",
        ]
    lines += [
        "",
        f"Baseline {scaled}. Agreement: max |K_closed - K_grad| / max |K_grad| = "
        f"{err:.1e} on the {n_base} x {n_base} block (target <= 1e-8: {agree}).",
        "",
        f"### He & Su probe similarities ({n_p} probes x {n_p} targets)",
        "",
        "One exact SGD step per probe (MSE on the scalar output), the change at every "
        "target by one vectorised forward pass of differences; S_rel and S_ker "
        "together.",
        "",
        "| what | seconds | per probe |",
        "|---|---|---|",
        f"| `probe_similarities` (eta = {', '.join(f'{e:g}' for e in etas)}) | "
        f"{t_probe:.2f} | {1e3 * t_probe / n_p:.2f} ms |",
        f"| `kernel_similarities` (eta -> 0 limits from the NTK) | {t_lim:.2f} | "
        f"{1e3 * t_lim / n_p:.2f} ms |",
        "",
        f"Probe vs limit: max |S_rel - lim| = {dev_rel:.1e}, max |S_ker - lim| / "
        f"max |lim| = {dev_ker:.1e} (the O(eta) gap at eta = 1e-6).",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    if args.out is not None:
        replace_section(args.out, "ntk", report)
        log(f"wrote the 'ntk' section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
