"""Benchmarks of the simnet numba kernels against numpy baselines in the same process.

Run from the repository root::

    python benchmarks/bench_kernels.py            # full run, a few minutes
    python benchmarks/bench_kernels.py --quick    # under a minute, noisier
    python benchmarks/bench_kernels.py --out benchmarks/RESULTS.md

What is measured (see ``benchmarks/README.md`` for how to read the numbers):

1. SGD steps per second (batch size 1) of ``hfs_sgd_steps`` and ``lesde_sgd_steps`` at
   K in {10, 100, 1000}, p in {16, 64}, n in {1e3, 1e6}, each beside a vectorised numpy
   implementation of one step of the same update, checked to agree with the kernel
   before it is timed. For LE-SDE the numpy baseline is the eager O(n p) update of
   every particle (what the lazy class offsets avoid); the lazy numpy step is shown too.
2. One Euler-Maruyama step of ``lesde_sde_steps`` at n = 1e6, p = 16, with and without
   noise, against one in-place numpy pass over the same (n, p) float64 array.
3. Steps per second of the class-mean ODE kernel at K = 3 (Euler and RK4).

This is a script, not a test: nothing here asserts on time. Every timing is the best
of several calls of ``time.perf_counter`` after the numba kernels have been compiled
(or loaded from cache) by a warm-up call on small inputs of the same types.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numba
import numpy as np
from numba import njit
from report import (  # benchmarks/report.py
    cpu_model,
    git_head,
    load_average,
    now,
    replace_section,
)

import simnet
from simnet.kernels.common import ce_grad_at
from simnet.kernels.hfs import hfs_sgd_steps
from simnet.kernels.lesde import (
    METHOD_EULER,
    METHOD_RK4,
    N_BLOCKS,
    SURROGATE_CE,
    _block_gradient,
    _block_update,
    lesde_ode_steps,
    lesde_sde_steps,
    lesde_sgd_steps,
)
from simnet.kernels.normal import new_scratch, normal_block, stream_from_key
from simnet.kernels.vector import add8, fma8, hsum8, splat8, vload, zero8

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
import reference  # noqa: E402  (the numpy twins of the kernels, in tests/)

# Targets set in the benchmark brief.
TARGET_SGD_SPEEDUP = 30.0  # kernel vs numpy reference step, at K = 100, p = 64
TARGET_SGD_N_SCALING = 1.5  # kernel step time at n = 1e6 / at n = 1e3
TARGET_SDE_VS_PASS = 3.0  # one Euler-Maruyama step / one numpy pass over (n, p)

BRANCHING = {10: [10], 100: [10, 10], 1000: [10, 10, 10]}
CLIFF = (40, 72, 100, 128)  # head rows of the gradient-alone table at p = 64

# Check tolerances of kernel vs numpy step (float64, same equations, other sum order).
AGREE_RTOL = 1e-10
AGREE_ATOL = 1e-12

SDE_DT = 0.01
ODE_DT = 0.01


@dataclass(frozen=True)
class Settings:
    """How long to time each measurement."""

    min_time: float  # a timed call lasts at least this long (seconds)
    repeat: int  # best of this many timed calls
    check_steps: int  # steps of the kernel vs numpy agreement check
    sde_rows: int  # rows per call in the amortised SDE measurement
    sde_repeat: int  # best of this many SDE calls (each is a full pass over n)
    sde_short: bool  # skip the gradient-noise SDE case


FULL = Settings(0.2, 7, check_steps=30, sde_rows=5, sde_repeat=5, sde_short=False)
QUICK = Settings(0.03, 3, check_steps=10, sde_rows=2, sde_repeat=2, sde_short=True)


# ---------------------------------------------------------------------- timing
def best_per_step(
    run: Callable[..., object],
    make_args: Callable[[int], tuple],
    settings: Settings,
    *,
    max_steps: int = 10_000_000,
) -> tuple[float, int]:
    """Best time per step of ``run(*make_args(n_steps))`` and the n_steps used.

    ``make_args(n_steps)`` prepares the inputs of one call and is not timed. n_steps
    grows (1, 2, 5, 10, ...) until one call lasts ``settings.min_time``; then the best
    of ``settings.repeat`` calls at that size is returned, divided by n_steps.
    """
    n_steps, elapsed = 1, 0.0
    while True:
        args = make_args(n_steps)
        t0 = time.perf_counter()
        run(*args)
        elapsed = time.perf_counter() - t0
        if elapsed >= settings.min_time or n_steps >= max_steps:
            break
        grow = settings.min_time / max(elapsed, 1e-9)
        n_steps = min(max_steps, max(2 * n_steps, int(1.2 * n_steps * grow)))
    best = elapsed
    for _ in range(settings.repeat - 1):
        args = make_args(n_steps)
        t0 = time.perf_counter()
        run(*args)
        best = min(best, time.perf_counter() - t0)
    return best / n_steps, n_steps


def best_call(fn: Callable[[], object], repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``fn()`` (one warm-up call first)."""
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def check_ok(code: int, what: str) -> None:
    if code != -1:
        raise RuntimeError(f"{what} diverged at row {code}; the benchmark is invalid")


def max_rel_err(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(|b|, ATOL / RTOL): the relative error, floored near zero."""
    scale = np.maximum(np.abs(b), AGREE_ATOL / AGREE_RTOL)
    return float(np.max(np.abs(a - b) / scale))


def assert_agrees(name: str, got: np.ndarray, want: np.ndarray) -> float:
    err = max_rel_err(got, want)
    if not np.allclose(got, want, rtol=AGREE_RTOL, atol=AGREE_ATOL):
        raise RuntimeError(
            f"{name}: the numpy baseline disagrees with the kernel (max relative "
            f"error {err:.2e}); the comparison would be unfair, fix the baseline first"
        )
    return err


# ---------------------------------------------------------------------- numpy steps
def np_ce_grad(x: np.ndarray, head: np.ndarray, label: int) -> np.ndarray:
    """``W^T (softmax(W x) - e_label)``; an empty head means the identity."""
    z = x if head.shape[0] == 0 else head @ x
    e = np.exp(z - z.max())
    r = e / e.sum()
    r[label] -= 1.0
    return r if head.shape[0] == 0 else r @ head


class HFSNumpy:
    """One vectorised numpy SGD step of the HFS model (batch size 1, no noise)."""

    def __init__(self, state, rates, anc_ptr, anc_idx, eta_u, gamma):
        self.s = state
        self.eta_phi, self.eta_lam = rates["eta_phi"], rates["eta_lam"]
        self.decay = rates["decay"]
        self.ptr, self.idx = anc_ptr, anc_idx
        self.eta_u, self.gamma = float(eta_u), float(gamma)

    def step(self, i: int) -> None:
        s = self.s
        c = s.labels[i]
        nodes = self.idx[self.ptr[c] : self.ptr[c + 1]]
        lam_a, phi_a = s.lam[nodes], s.phi[nodes]  # copies (fancy indexing)
        x = lam_a @ phi_a + self.gamma * s.u[i]
        if not np.isfinite(x).all():
            raise RuntimeError("numpy HFS step diverged")
        g = np_ce_grad(x, s.head, c)
        keep = 1.0 - self.decay[nodes]
        s.phi[nodes] = (
            keep[:, None] * phi_a - (self.eta_phi[nodes] * lam_a)[:, None] * g
        )
        s.lam[nodes] = keep * lam_a - self.eta_lam[nodes] * (phi_a @ g)
        s.u[i] -= (self.eta_u * self.gamma) * g

    def run(self, batches: np.ndarray) -> None:
        for i in batches[:, 0].tolist():
            self.step(i)


class LESDENumpy:
    """Vectorised numpy SGD steps of the impact-matrix model (batch size 1, no noise).

    ``eager`` moves every particle j by ``-E[c_j, c_i] g_i`` (O(n p) per step);
    ``lazy`` moves the K class offsets instead (O(K p) per step, like the kernel).
    """

    def __init__(self, x, offsets, labels, basis, head):
        self.x, self.offsets, self.labels = x, offsets, labels
        self.basis, self.head = basis, head

    def eager(self, i: int, coef_row: np.ndarray) -> None:
        c = self.labels[i]
        g = np_ce_grad(self.x[i], self.head, c)
        col = coef_row @ self.basis[:, :, c]  # E[:, c]
        self.x -= col[self.labels][:, None] * g

    def lazy(self, i: int, coef_row: np.ndarray) -> None:
        c = self.labels[i]
        g = np_ce_grad(self.x[i] + self.offsets[c], self.head, c)
        col = coef_row @ self.basis[:, :, c]
        self.offsets -= col[:, None] * g

    def run_eager(self, batches: np.ndarray, coef: np.ndarray) -> None:
        for t, i in enumerate(batches[:, 0].tolist()):
            self.eager(i, coef[t])

    def run_lazy(self, batches: np.ndarray, coef: np.ndarray) -> None:
        for t, i in enumerate(batches[:, 0].tolist()):
            self.lazy(i, coef[t])


# ---------------------------------------------------------------------- set-ups
def hfs_setup(k: int, p: int, n: int, seed: int):
    h = simnet.Hierarchy.balanced(BRANCHING[k])
    model = simnet.HFSModel(h, n_per_class=n // k, p=p, head="random")
    state = model.initial_state(np.random.default_rng(seed))
    ptr, idx = h.ancestor_index_arrays()
    return model, state, ptr, idx


class HFSKernelRun:
    """Owns the scratch arrays and the step counter of repeated kernel calls."""

    def __init__(self, model, state, ptr, idx):
        self.m, self.s = model, state
        self.rates = model.node_rates()
        self.ptr, self.idx = ptr, idx
        self.acc = np.zeros_like(state.phi)
        self.node_stamp = np.full(state.phi.shape[0], -1, dtype=np.int64)
        self.sample_stamp = np.full(state.u.shape[0], -1, dtype=np.int64)
        self.rng = np.random.default_rng(0)
        self.step = 0

    def run(self, batches: np.ndarray) -> None:
        s, r = self.s, self.rates
        code = hfs_sgd_steps(
            s.lam,
            s.phi,
            s.u,
            s.labels,
            self.ptr,
            self.idx,
            r["eta_phi"],
            r["eta_lam"],
            r["decay"],
            float(self.m.eta_u),
            float(self.m.gamma),
            0.0,
            s.head,
            batches,
            np.ones(batches.shape[0]),
            self.m.n_classes,
            self.rng,
            self.step,
            self.acc,
            self.node_stamp,
            self.sample_stamp,
        )
        check_ok(code, "hfs_sgd_steps")
        self.step += batches.shape[0]


def dense_impact(k: int, seed: int) -> simnet.ImpactMatrix:
    """A constant symmetric E with generic entries in [0.01, 0.05] (no group form)."""
    e = np.random.default_rng(seed).uniform(0.01, 0.05, size=(k, k))
    return simnet.ImpactMatrix.constant((e + e.T) / 2)


def lesde_setup(
    k: int,
    p: int,
    n: int,
    seed: int,
    *,
    integrator: str = "sgd",
    dense: bool = False,
    **kw,
):
    impact = (
        dense_impact(k, seed)
        if dense
        else simnet.ImpactMatrix.two_parameter(k, alpha=0.05, beta=0.01)
    )
    model = simnet.LESDEModel(
        impact, integrator=integrator, n_per_class=max(1, n // k), p=p, **kw
    )
    state = model.initial_state(np.random.default_rng(seed))
    return model, state, np.ascontiguousarray(impact.basis)


def coef_rows(model, n_rows: int) -> np.ndarray:
    """Coefficient table (n_rows, R) of the (constant) two-parameter impact."""
    times = np.arange(n_rows, dtype=np.float64)
    return np.ascontiguousarray(model.impact.coefficient_table(times))


class LESDEKernelRun:
    def __init__(self, model, state, basis):
        self.m, self.s = model, state
        self.rng = np.random.default_rng(0)
        self.step = 0

    def run(self, batches: np.ndarray, coef: np.ndarray) -> None:
        s = self.s
        code = lesde_sgd_steps(
            s.base,
            s.offsets,
            s.group_offsets,
            s.labels,
            s.groups,
            coef,
            s.head,
            batches,
            0.0,
            s.last_touch,
            self.rng,
            self.step,
        )
        check_ok(code, "lesde_sgd_steps")
        self.step += batches.shape[0]


# ---------------------------------------------------------------------- warm-up
def warm_up() -> float:
    """Compile (or load from the numba cache) every kernel timed here; seconds."""
    t0 = time.perf_counter()
    one_step = np.zeros((2, 1), dtype=np.int64)
    model, state, ptr, idx = hfs_setup(10, 4, 20, seed=0)
    HFSKernelRun(model, state, ptr, idx).run(one_step)
    for p, head in ((4, "random"), (10, "identity")):
        m, s, basis = lesde_setup(10, p, 20, seed=0, head=head)
        LESDEKernelRun(m, s, basis).run(one_step, coef_rows(m, 2))
        for sigma, grad_noise in ((0.0, False), (0.1, False), (0.1, True)):
            rng = np.random.default_rng(0)
            sde_call(
                s.base, s.labels, basis, coef_rows(m, 1), s.head, sigma, grad_noise, rng
            )
    nb_normal_fill(np.empty((2, 2)), np.random.default_rng(0))
    nb_counter_normal_fill(np.empty((3, 2)), 1)
    nb_exp_pass(np.zeros(2), np.empty(2))
    buf = np.ones(16)
    nb_l1_reads(buf.ctypes.data, 1, 1)
    nb_fma_chains(0.5, 1)
    head, x = np.ones((8, 4)), np.ones((2, 4))
    labels, z, g = np.zeros(1, dtype=np.int64), np.empty(8), np.empty(4)
    nb_gradients(head.ctypes.data, 32, 8, 4, x, labels, z.ctypes.data, g.ctypes.data)
    nb_alloc_touch(2, 2)
    m, s, basis = lesde_setup(3, 3, 3, seed=0, integrator="ode")
    for method in (METHOD_EULER, METHOD_RK4):
        ode_kernel(
            s.base.copy(), basis, s.head, method, ode_table_of(coef_rows(m, 1), 2)
        )
    return time.perf_counter() - t0


# ---------------------------------------------------------------------- benchmark 1
@njit(cache=False)
def nb_l1_reads(pa, n_lines, n_rep):
    """Read the ``n_lines`` 64-byte lines at the aligned address ``pa``, ``n_rep``
    times, as 8-lane loads into eight independent sums: this core's best read rate
    from its L1 data cache when the lines fit there."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = zero8()
    for _ in range(n_rep):
        for j in range(0, n_lines, 8):
            q = pa + 64 * j
            s0 = add8(s0, vload(q))
            s1 = add8(s1, vload(q + 64))
            s2 = add8(s2, vload(q + 128))
            s3 = add8(s3, vload(q + 192))
            s4 = add8(s4, vload(q + 256))
            s5 = add8(s5, vload(q + 320))
            s6 = add8(s6, vload(q + 384))
            s7 = add8(s7, vload(q + 448))
    return hsum8(
        add8(add8(add8(s0, s1), add8(s2, s3)), add8(add8(s4, s5), add8(s6, s7)))
    )


@njit(cache=False)
def nb_fma_chains(x, n_rep):
    """``n_rep`` rounds of twelve independent 8-lane multiply-add chains in registers:
    this core's best multiply-add rate."""
    a = splat8(x)
    b = splat8(1.0 - 1e-9)
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = s9 = s10 = s11 = splat8(1.0)
    for _ in range(n_rep):
        s0 = fma8(s0, b, a)
        s1 = fma8(s1, b, a)
        s2 = fma8(s2, b, a)
        s3 = fma8(s3, b, a)
        s4 = fma8(s4, b, a)
        s5 = fma8(s5, b, a)
        s6 = fma8(s6, b, a)
        s7 = fma8(s7, b, a)
        s8 = fma8(s8, b, a)
        s9 = fma8(s9, b, a)
        s10 = fma8(s10, b, a)
        s11 = fma8(s11, b, a)
    left = add8(add8(add8(s0, s1), add8(s2, s3)), add8(add8(s4, s5), add8(s6, s7)))
    return hsum8(add8(left, add8(add8(s8, s9), add8(s10, s11))))


@njit(cache=False)
def nb_gradients(pa, lda, k, p, xs, labels, pz, pout):
    """The step's gradient ``W^T (softmax(W x) - e_y)`` alone (``ce_grad_at``, as the
    kernels call it), for the features ``xs`` in turn and the labels in ``labels``."""
    acc = 0.0
    px = xs.ctypes.data
    for t in range(labels.shape[0]):
        at = px + 8 * p * (t % xs.shape[0])
        acc += ce_grad_at(pa, lda, k, p, at, labels[t], pz, pout, False)
    return acc


@dataclass(frozen=True)
class CoreRates:
    """This core's best rates, measured in the same process."""

    line_read: float  # seconds per 64-byte line read from L1
    fma: float  # seconds per 8-lane multiply-add


def core_rates(st: Settings) -> CoreRates:
    buf = np.ones(16 * 1024 // 8 + 8)  # 16 KB: well inside any L1 data cache
    pa = buf.ctypes.data + (-buf.ctypes.data) % 64
    n_lines = 16 * 1024 // 64
    reads, _ = best_per_step(nb_l1_reads, lambda n: (pa, n_lines, n), st)
    fmas, _ = best_per_step(
        nb_fma_chains, lambda n: (0.5, n), st, max_steps=1_000_000_000
    )
    return CoreRates(line_read=reads / n_lines, fma=fmas / 12)


def gradient_time(head: np.ndarray, st: Settings, seed: int) -> float:
    """Seconds for the gradient of one sample alone on ``head`` (K x p, C order)."""
    k, p = head.shape
    rng = np.random.default_rng(seed)
    xs = rng.standard_normal((64, p))
    z, out = np.empty(k), np.empty(p)
    pa, lda = head.ctypes.data, head.strides[0]

    def make_args(n_steps: int) -> tuple:
        labels = rng.integers(0, k, size=n_steps)
        return (pa, lda, k, p, xs, labels, z.ctypes.data, out.ctypes.data)

    t, _ = best_per_step(nb_gradients, make_args, st)
    return t


def step_floor(k: int, p: int, rates: CoreRates) -> tuple[float, float]:
    """Two lower bounds on a step with a random K x p head, which computes ``W x``
    and ``W^T delta``: their 2 K p multiply-adds, eight per instruction at this
    core's best rate, and reading the head twice (2 K p doubles, eight per line) at
    the best L1 rate."""
    pieces = 2 * math.ceil(k * p / 8)
    return pieces * rates.fma, pieces * rates.line_read


def floor_table(
    rows: list[dict], rates: CoreRates, cliff: list[tuple[int, float]]
) -> list[str]:
    """Where an HFS step's time goes, against floors no random-head step can beat."""
    out = [
        "Where a step's time goes (n = 1e3). A step with a random head computes",
        "the logits W x and the gradient W^T delta: 2 K p multiply-adds (2 K p / 8",
        "eight-lane ones), which read the head twice. Timed here: this core's best",
        f"multiply-add rate ({rates.fma * 1e9:.3f} ns each, twelve independent chains",
        f"in registers) and its best L1 read rate ({rates.line_read * 1e9:.3f} ns per",
        "64-byte line, from a 16 KB buffer); no step can be faster than the larger",
        "floor. 'gradient' is `ce_grad_at` alone (both products and the softmax) on",
        "a head of that size; the rest of a step builds X_i and updates the features.",
        "",
        "| K | p | head KB | floor: multiply-adds us | floor: 2 L1 reads us | "
        "gradient us | HFS step us | numpy us | speedup | speedup bound |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["n"] > 10_000:
            continue
        k, p = r["K"], r["p"]
        fma_floor, read_floor = step_floor(k, p, rates)
        floor = max(fma_floor, read_floor)
        out.append(
            f"| {k} | {p} | {k * p * 8 / 1024:.0f} | {us(fma_floor)} | "
            f"{us(read_floor)} | {us(r['gradient'])} | {us(r['kernel'])} | "
            f"{us(r['numpy'])} | {r['numpy'] / r['kernel']:.1f}x | "
            f"{r['numpy'] / floor:.0f}x |"
        )
    out += [
        "",
        "The gradient alone at p = 64 against the size of the head (the L1 data",
        f"cache{l1_phrase()}), per eight-lane multiply-add of its two products",
        "(the softmax in between is a fixed cost per call):",
        "",
        "| K | head KB | gradient us | ns per multiply-add |",
        "|---|---|---|---|",
    ]
    for k, t in cliff:
        out.append(
            f"| {k} | {k * 64 * 8 / 1024:.0f} | {us(t)} | {t / (2 * k * 8) * 1e9:.3f} |"
        )
    return [*out, ""]


def l1_phrase() -> str:
    """`` is 48K here``: the L1 data cache of CPU 0 as Linux reports it in sysfs."""
    for d in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            level, kind = (d / "level").read_text(), (d / "type").read_text()
            if level.strip() == "1" and kind.strip() == "Data":
                return f" is {(d / 'size').read_text().strip()} here"
        except OSError:
            continue
    return " size is not known here"


def bench_hfs(k: int, p: int, n: int, st: Settings, seed: int) -> dict:
    model, state, ptr, idx = hfs_setup(k, p, n, seed)
    pick = np.random.default_rng(seed + 1)

    def batches(n_steps: int) -> tuple:
        return (pick.integers(0, model.n_samples, size=(n_steps, 1), dtype=np.int64),)

    row: dict = {"K": k, "p": p, "n": model.n_samples}
    if n <= 10_000:  # agreement check (the update does not depend on n)
        b = batches(st.check_steps)[0]
        s_np = state.copy()
        s_k = state.copy()
        HFSNumpy(s_np, model.node_rates(), ptr, idx, model.eta_u, model.gamma).run(b)
        HFSKernelRun(model, s_k, ptr, idx).run(b)
        row["err"] = max(
            assert_agrees("HFS lam", s_k.lam, s_np.lam),
            assert_agrees("HFS phi", s_k.phi, s_np.phi),
            assert_agrees("HFS u", s_k.u, s_np.u),
        )
    kern = HFSKernelRun(model, state.copy(), ptr, idx)
    row["kernel"], row["kernel_steps"] = best_per_step(kern.run, batches, st)
    if n <= 10_000:  # the gradient alone, on the very head of the step
        row["gradient"] = gradient_time(kern.s.head, st, seed)
    ref = HFSNumpy(state.copy(), model.node_rates(), ptr, idx, model.eta_u, model.gamma)
    row["numpy"], _ = best_per_step(ref.run, batches, st)
    return row


def bench_lesde(
    k: int, p: int, n: int, st: Settings, seed: int, dense: bool = False
) -> dict:
    model, state, basis = lesde_setup(k, p, n, seed, head="random", dense=dense)
    pick = np.random.default_rng(seed + 1)
    n_samples = state.labels.shape[0]
    coef_pool = coef_rows(model, 1)  # constant coefficients: every row is the same

    def args(n_steps: int) -> tuple:
        b = pick.integers(0, n_samples, size=(n_steps, 1), dtype=np.int64)
        return b, np.ascontiguousarray(np.repeat(coef_pool, n_steps, axis=0))

    row: dict = {"K": k, "p": p, "n": n_samples}
    if n <= 10_000:
        b, coef = args(st.check_steps)
        s_k = model.initial_state(np.random.default_rng(seed))
        LESDEKernelRun(model, s_k, basis).run(b, coef)
        eager = LESDENumpy(
            state.base.copy(), state.offsets.copy(), state.labels, basis, state.head
        )
        eager.run_eager(b, coef)
        lazy = LESDENumpy(
            state.base.copy(), state.offsets.copy(), state.labels, basis, state.head
        )
        lazy.run_lazy(b, coef)
        got = s_k.features()
        row["err"] = max(
            assert_agrees("LE-SDE eager", got, eager.x),
            assert_agrees("LE-SDE lazy", got, lazy.x + lazy.offsets[state.labels]),
        )
    kern = LESDEKernelRun(
        model, model.initial_state(np.random.default_rng(seed)), basis
    )
    row["kernel"], row["kernel_steps"] = best_per_step(kern.run, args, st)
    lazy = LESDENumpy(
        state.base.copy(), state.offsets.copy(), state.labels, basis, state.head
    )
    row["numpy_lazy"], _ = best_per_step(lazy.run_lazy, args, st)
    eager = LESDENumpy(state.base, state.offsets, state.labels, basis, state.head)
    row["numpy"], _ = best_per_step(eager.run_eager, args, st)
    return row


# ---------------------------------------------------------------------- benchmark 2
@njit(cache=False)
def nb_normal_fill(out, rng):
    """Serial normal draws in particle order from numba's Generator (the SDE kernel's
    noise loop before the counter-based generator)."""
    n, p = out.shape
    for i in range(n):
        for q in range(p):
            out[i, q] = rng.standard_normal()


@njit(cache=False, parallel=True)
def nb_counter_normal_fill(out, key):
    """The SDE kernel's noise alone: the counter-based Gaussian generator filling
    (n, p) in the kernel's fixed blocks, on all numba threads."""
    seed, gamma = stream_from_key(key)
    n = out.shape[0]
    flat = out.reshape(out.size)
    p = out.shape[1]
    nb = min(N_BLOCKS, n)
    for blk in numba.prange(nb):
        lo = blk * n // nb
        hi = (blk + 1) * n // nb
        normal_block(seed, gamma, lo * p, flat[lo * p : hi * p], new_scratch())


@njit(cache=False)
def nb_alloc_touch(n, p):
    """A fresh (n, p) array allocated inside numba and written once (as the SDE kernel
    allocates its noise buffer on every call)."""
    out = np.empty((n, p))
    for i in range(n):
        for q in range(p):
            out[i, q] = 0.0
    return out[0, 0]


@njit(cache=False)
def nb_exp_pass(a, out):
    """Scalar ``np.exp`` per element in numba (no SVML: not vectorised), one thread."""
    for i in range(a.shape[0]):
        out[i] = np.exp(a[i])


@njit(cache=False, parallel=True)
def nb_gradient_pass(x, labels, head, want_norm, gnorm, sums):
    """The gradient pass of ``lesde_sde_steps`` alone: residual class sums (and the
    gradient norms if ``want_norm``) over the kernel's fixed blocks, all threads."""
    n = x.shape[0]
    nb = sums.shape[0]
    sums[:] = 0.0
    for blk in numba.prange(nb):
        lo = blk * n // nb
        hi = (blk + 1) * n // nb
        _block_gradient(x, labels, head, lo, hi, want_norm, gnorm, sums[blk])


@njit(cache=False, parallel=True)
def nb_update_pass(x, labels, drift, scale, gnorm, key, nb):
    """The update pass of ``lesde_sde_steps`` alone (``x += drift[c] + scale z``),
    all threads; with a zero drift and a negligible ``scale`` it leaves x as it was."""
    n = x.shape[0]
    seed, gamma = stream_from_key(key)
    for blk in numba.prange(nb):
        lo = blk * n // nb
        hi = (blk + 1) * n // nb
        _block_update(x, labels, drift, lo, hi, scale, False, gnorm, seed, gamma)


def sde_passes(state, k: int, head: str, repeat: int) -> dict:
    """Each pass of one Euler-Maruyama step timed alone, all threads."""
    x, labels, w = state.base, state.labels, state.head
    n_out = x.shape[1] if w.shape[0] == 0 else w.shape[0]
    nb = min(N_BLOCKS, x.shape[0])
    sums = np.zeros((nb, k, n_out))
    gnorm = np.ones(x.shape[0])
    drift = np.zeros((k, x.shape[1]))
    return {
        "K": k,
        "head": head,
        "gradient": best_call(
            partial(nb_gradient_pass, x, labels, w, False, gnorm, sums), repeat
        ),
        "gradient_norm": best_call(
            partial(nb_gradient_pass, x, labels, w, True, gnorm, sums), repeat
        ),
        "update": best_call(
            partial(nb_update_pass, x, labels, drift, 0.0, gnorm, 1, nb), repeat
        ),
        "update_noise": best_call(
            partial(nb_update_pass, x, labels, drift, 1e-300, gnorm, 1, nb), repeat
        ),
    }


_SDE_SCRATCH: dict = {}


def sde_call(x, labels, basis, coef, head, sigma, grad_noise, rng) -> None:
    # The runner owns the scratch buffer and reuses it across calls; do the same.
    if x.shape[0] not in _SDE_SCRATCH:
        _SDE_SCRATCH[x.shape[0]] = np.ones(x.shape[0])
    gnorm = _SDE_SCRATCH[x.shape[0]]
    code = lesde_sde_steps(
        x, labels, basis, coef, head, SDE_DT, sigma, grad_noise, rng, gnorm
    )
    check_ok(code, "lesde_sde_steps")


def sde_context(n: int, p: int, k: int, repeat: int, seed: int) -> dict:
    """Baselines on an (n, p) float64 array, and the exp cost of n * k softmax terms."""
    buf = np.ones((n, p))
    rng = np.random.default_rng(seed)
    ctx = {
        "n": n,
        "p": p,
        "k_exp": k,
        "pass_add": best_call(partial(np.add, buf, 1.0, out=buf), repeat),
        "pass_mul": best_call(partial(np.multiply, buf, 1.0, out=buf), repeat),
        "np_normal": best_call(partial(rng.standard_normal, out=buf), repeat),
        "nb_normal": best_call(partial(nb_normal_fill, buf, rng), repeat),
        "nb_counter": best_call(partial(nb_counter_normal_fill, buf, 12345), repeat),
        "alloc": best_call(lambda: np.empty((n, p)).fill(0.0), repeat),
        "nb_alloc": best_call(partial(nb_alloc_touch, n, p), repeat),
        "nb_touch": best_call(partial(np.copyto, buf, 0.0), repeat),
    }
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        ctx["nb_counter_1"] = best_call(
            partial(nb_counter_normal_fill, buf, 12345), repeat
        )
    finally:
        numba.set_num_threads(threads)
    del buf
    z = -np.random.default_rng(seed).uniform(0.0, 10.0, size=n * k)
    out = np.empty_like(z)
    ctx["np_exp"] = best_call(partial(np.exp, z, out=out), repeat)
    ctx["nb_exp"] = best_call(partial(nb_exp_pass, z, out), repeat)
    return ctx


def bench_sde(st: Settings, seed: int, n: int, p: int) -> tuple[list[dict], dict]:
    """One Euler-Maruyama step at (n, p) vs in-place numpy passes over (n, p)."""
    ctx = sde_context(n, p, 16, st.sde_repeat, seed)
    rows = []
    noises = [(0.0, False, "none"), (0.1, False, "constant")]
    if not st.sde_short:
        noises.append((0.1, True, "gradient"))
    for k, head in ((16, "identity"), (10, "random")):
        model, state, basis = lesde_setup(
            k, p, n, seed, integrator="sde", head=head, dt=SDE_DT
        )
        one, many = coef_rows(model, 1), coef_rows(model, st.sde_rows)
        for sigma, grad_noise, noise in noises:
            step = partial(
                sde_call,
                state.base,
                state.labels,
                basis,
                head=state.head,
                sigma=sigma,
                grad_noise=grad_noise,
                rng=np.random.default_rng(seed),
            )
            row = {"K": k, "head": head, "noise": noise, "threads": "all"}
            row["one_row"] = best_call(partial(step, one), st.sde_repeat)
            row["many_rows"] = best_call(partial(step, many), st.sde_repeat) / len(many)
            rows.append(row)
            if k == 16 and noise == "none" and numba.get_num_threads() > 1:
                threads = numba.get_num_threads()
                numba.set_num_threads(1)
                try:
                    row = {**row, "threads": "1"}
                    row["one_row"] = best_call(partial(step, one), st.sde_repeat)
                    row["many_rows"] = best_call(
                        partial(step, many), st.sde_repeat
                    ) / len(many)
                finally:
                    numba.set_num_threads(threads)
                rows.append(row)
        ctx.setdefault("passes", []).append(sde_passes(state, k, head, st.sde_repeat))
        del model, state
    return rows, ctx


# ---------------------------------------------------------------------- benchmark 3
def ode_table_of(coef_row: np.ndarray, n_steps: int) -> np.ndarray:
    """Coefficients (n_steps, 3, R): the same row at t, t + dt/2 and t + dt."""
    shape = (n_steps, 3, coef_row.shape[-1])
    return np.ascontiguousarray(np.broadcast_to(coef_row, shape))


def ode_kernel(m, basis, head, method, coef) -> None:
    code = lesde_ode_steps(m, basis, coef, head, ODE_DT, SURROGATE_CE, method)
    check_ok(code, "lesde_ode_steps")


def ode_numpy(m, basis, head, method, coef) -> None:
    code = reference.lesde_ode_steps(m, basis, coef, head, ODE_DT, SURROGATE_CE, method)
    check_ok(code, "reference.lesde_ode_steps")


def bench_ode(st: Settings, seed: int) -> list[dict]:
    rows = []
    for method, code in (("euler", METHOD_EULER), ("rk4", METHOD_RK4)):
        model, state, basis = lesde_setup(
            3, 3, 3, seed, integrator="ode", ode_method=method, dt=ODE_DT
        )
        row_coef = coef_rows(model, 1)[0]

        def args(n_steps: int, row_coef=row_coef) -> tuple:
            return (ode_table_of(row_coef, n_steps),)

        m_k, m_r = state.base.copy(), state.base.copy()
        check = args(st.check_steps)
        ode_kernel(m_k, basis, state.head, code, *check)
        ode_numpy(m_r, basis, state.head, code, *check)
        err = assert_agrees("ODE", m_k, m_r)
        run_k = partial(ode_kernel, state.base.copy(), basis, state.head, code)
        run_n = partial(ode_numpy, state.base.copy(), basis, state.head, code)
        kernel, _ = best_per_step(run_k, args, st)
        numpy_t, _ = best_per_step(run_n, args, st)
        rows.append({"method": method, "kernel": kernel, "numpy": numpy_t, "err": err})
    return rows


# ---------------------------------------------------------------------- report


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.3g}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g}"


def rate(seconds: float) -> str:
    v = 1.0 / seconds
    if v >= 1e6:
        return f"{v / 1e6:.3g} M"
    if v >= 1e3:
        return f"{v / 1e3:.3g} k"
    return f"{v:.3g}"


def yes_no(ok: bool) -> str:
    return "**yes**" if ok else "**no**"


def sgd_tables(name: str, rows: list[dict], lazy: bool) -> list[str]:
    out = [f"### {name}", ""]
    head = "| K | p | n | kernel us/step | kernel steps/s | numpy us/step | speedup |"
    sep = "|---|---|---|---|---|---|---|"
    if lazy:
        head += " lazy numpy us/step | speedup vs lazy |"
        sep += "---|---|"
    out += [head + " target >= 30x met |", sep + "---|"]
    for r in rows:
        speed = r["numpy"] / r["kernel"]
        line = (
            f"| {r['K']} | {r['p']} | {r['n']:.0e} | {us(r['kernel'])} | "
            f"{rate(r['kernel'])} | {us(r['numpy'])} | {speed:.1f}x |"
        )
        if lazy:
            line += f" {us(r['numpy_lazy'])} | {r['numpy_lazy'] / r['kernel']:.1f}x |"
        target = r["K"] == 100 and r["p"] == 64
        line += f" {yes_no(speed >= TARGET_SGD_SPEEDUP) if target else '-'} |"
        out.append(line)
    out += ["", "Scaling in n (same K, p; target: t(1e6) / t(1e3) <= 1.5):", ""]
    out += [
        "| K | p | t(n=1e3) us | t(n=1e6) us | ratio | met |",
        "|---|---|---|---|---|---|",
    ]
    by = {(r["K"], r["p"], r["n"]): r for r in rows}
    for (k, p, n), r in by.items():
        big = [b for (k2, p2, n2), b in by.items() if (k2, p2) == (k, p) and n2 > n]
        if n > 10_000 or not big:
            continue
        ratio = big[0]["kernel"] / r["kernel"]
        out.append(
            f"| {k} | {p} | {us(r['kernel'])} | {us(big[0]['kernel'])} | {ratio:.2f} | "
            f"{yes_no(ratio <= TARGET_SGD_N_SCALING)} |"
        )
    errs = [r["err"] for r in rows if "err" in r]
    if errs:
        out += [
            "",
            f"Agreement check before timing (n = 1e3, every K and p): max relative "
            f"difference kernel vs numpy {max(errs):.1e} (tolerance {AGREE_RTOL:g}).",
        ]
    return [*out, ""]


def sde_tables(rows: list[dict], ctx: dict, sde_rows: int) -> list[str]:
    n, p, k_exp = ctx["n"], ctx["p"], ctx["k_exp"]
    pass_t = ctx["pass_add"]
    out = [
        f"## 2. Euler-Maruyama step of `lesde_sde_steps` (n = {n:.0e}, p = {p})",
        "",
        "Baselines and context, single-threaded numpy or numba unless stated (best "
        "of several):",
        "",
        "| operation | ms | / numpy pass |",
        "|---|---|---|",
    ]
    context = [
        ("numpy pass `x += 1.0` on (n, p) (**the baseline**)", pass_t),
        ("numpy pass `np.multiply(x, 1.0, out=x)` on (n, p)", ctx["pass_mul"]),
        (f"`rng.standard_normal(out=buf)`, numpy, {n * p:.1e} draws", ctx["np_normal"]),
        (
            "the same draws from numba's Generator, serial (the former noise loop)",
            ctx["nb_normal"],
        ),
        (
            "the kernel's counter-based Gaussian generator alone, all threads",
            ctx["nb_counter"],
        ),
        (
            "the kernel's counter-based Gaussian generator alone, 1 thread",
            ctx["nb_counter_1"],
        ),
        ("write 0.0 over an existing (n, p) array (`np.copyto`)", ctx["nb_touch"]),
        ("`np.empty((n, p))` + first write, in numpy", ctx["alloc"]),
        (
            "`np.empty((n, p))` + first write, inside numba (page faults)",
            ctx["nb_alloc"],
        ),
        (f"`np.exp` over n * {k_exp} values (numpy SIMD)", ctx["np_exp"]),
        (f"scalar `np.exp` over n * {k_exp} values in numba (libm)", ctx["nb_exp"]),
    ]
    out += [f"| {name} | {ms(t)} | {t / pass_t:.1f}x |" for name, t in context]
    out += [
        "",
        "Ratio = kernel step / numpy pass. 'one row': one call with one row of "
        "coefficients (as asked); 'amortised': one call with "
        f"{sde_rows} rows, divided by {sde_rows} (per-call allocations spread out). "
        "Target: one row <= 3x the pass.",
        "",
        "| K | head | noise | numba threads | ms/step (one row) | ratio | "
        "target <= 3x met | ms/step (amortised) | ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["one_row"] / pass_t
        out.append(
            f"| {r['K']} | {r['head']} | {r['noise']} | {r['threads']} | "
            f"{ms(r['one_row'])} | {ratio:.1f}x | "
            f"{yes_no(ratio <= TARGET_SDE_VS_PASS)} | "
            f"{ms(r['many_rows'])} | {r['many_rows'] / pass_t:.1f}x |"
        )
    quiet = {r["K"]: r for r in rows if r["noise"] == "none" and r["threads"] == "all"}
    out += [
        "",
        "Cost of the noise alone (constant-noise step minus noiseless step):",
        "",
    ]
    out += [
        "| K | extra ms (one row) | / numpy pass | / numpy normal draws | "
        "/ generator alone (all threads) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r["noise"] == "constant":
            extra = r["one_row"] - quiet[r["K"]]["one_row"]
            out.append(
                f"| {r['K']} | {ms(extra)} | {extra / pass_t:.1f}x | "
                f"{extra / ctx['np_normal']:.2f}x | "
                f"{extra / ctx['nb_counter']:.2f}x |"
            )
    out += [
        "",
        "Each pass of a step timed alone (all threads), in ms and / numpy pass. A step "
        "is a gradient pass (class sums of the residuals; the gradient norms too for "
        "gradient noise) and an update pass (`x += drift + noise`, the normals made "
        "as they are used):",
        "",
        "| K | head | gradient | gradient + norms | update, no noise | "
        "update, constant noise | gradient + noisy update |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in ctx.get("passes", []):
        cells = [
            r["gradient"],
            r["gradient_norm"],
            r["update"],
            r["update_noise"],
            r["gradient"] + r["update_noise"],
        ]
        out.append(
            f"| {r['K']} | {r['head']} | "
            + " | ".join(f"{ms(t)} ({t / pass_t:.1f}x)" for t in cells)
            + " |"
        )
    return [*out, ""]


def ode_table(rows: list[dict]) -> list[str]:
    out = [
        "## 3. Class-mean LE-ODE kernel `lesde_ode_steps` (K = 3, identity head, CE)",
        "",
        "Baseline (context only): the numpy twin "
        "`tests/reference.py::lesde_ode_steps`.",
        "",
        "| method | kernel us/step | kernel steps/s | numpy us/step | speedup |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        out.append(
            f"| {r['method']} | {us(r['kernel'])} | {rate(r['kernel'])} | "
            f"{us(r['numpy'])} | {r['numpy'] / r['kernel']:.0f}x |"
        )
    return [*out, ""]


def header(
    args: argparse.Namespace, warm: float, started: str, elapsed: float, load0: str
) -> list[str]:
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "not initialised"
    cmd = " ".join(shlex.quote(a) for a in ["python", *sys.argv])
    st = QUICK if args.quick else FULL
    return [
        "# Kernel benchmarks",
        "",
        "Generated by `benchmarks/bench_kernels.py`; see `benchmarks/README.md`.",
        "",
        f"- date: {started} (took {elapsed:.0f} s; numba warm-up {warm:.2f} s)",
        f"- command: `{cmd}`",
        f"- git HEAD: {git_head()} (working tree may differ)",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores; load average "
        f"(1 / 5 / 15 min) at the start {load0}, at the end {load_average()}",
        f"- python {platform.python_version()}, numpy {np.__version__}, "
        f"numba {numba.__version__} ({numba.get_num_threads()} threads, layer {layer})",
        f"- OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}",
        f"- timing: best of {st.repeat} calls, each >= {st.min_time:g} s "
        "(`time.perf_counter`); all ratios are within this one process",
        "",
    ]


# ---------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short timings (< 1 min)")
    parser.add_argument(
        "--out", type=Path, help="write the report as a section of this Markdown file"
    )
    parser.add_argument("--seed", type=int, default=20240521)
    args = parser.parse_args(argv)
    st = QUICK if args.quick else FULL
    started, load0 = now(), load_average()
    t_start = time.perf_counter()

    def log(msg: str) -> None:
        print(
            f"[{time.perf_counter() - t_start:6.1f}s] {msg}",
            file=sys.stderr,
            flush=True,
        )

    warm = warm_up()
    log(f"numba warm-up {warm:.2f} s")

    configs = [
        (k, p, n) for k in (10, 100, 1000) for p in (16, 64) for n in (1000, 10**6)
    ]
    hfs_rows, lesde_rows = [], []
    for k, p, n in configs:
        hfs_rows.append(bench_hfs(k, p, n, st, args.seed))
        r = hfs_rows[-1]
        log(
            f"HFS    K={k} p={p} n={n:.0e}: {us(r['kernel'])} us vs {us(r['numpy'])} us"
        )
    rates = core_rates(st)
    heads = (
        np.random.default_rng(args.seed).standard_normal((k, 64)) / 8 for k in CLIFF
    )
    cliff = [(h.shape[0], gradient_time(h, st, args.seed)) for h in heads]
    log("HFS floors done")
    for k, p, n in configs:
        lesde_rows.append(bench_lesde(k, p, n, st, args.seed))
        r = lesde_rows[-1]
        log(
            f"LE-SDE K={k} p={p} n={n:.0e}: {us(r['kernel'])} us vs {us(r['numpy'])} us"
        )
    dense_rows = []
    for k, p, n in [(k, 64, n) for k in (10, 100, 1000) for n in (1000, 10**6)]:
        dense_rows.append(bench_lesde(k, p, n, st, args.seed, dense=True))
        r = dense_rows[-1]
        log(
            f"LE-SDE dense E K={k} p={p} n={n:.0e}: {us(r['kernel'])} us vs "
            f"{us(r['numpy'])} us"
        )
    sde_rows, sde_ctx = bench_sde(st, args.seed, n=10**6, p=16)
    log("SDE done")
    ode_rows = bench_ode(st, args.seed)
    log("ODE done")

    lines = header(args, warm, started, time.perf_counter() - t_start, load0)
    lines += [
        "## 1. SGD steps, batch size 1",
        "",
        "Speedup = numpy us/step / kernel us/step. Target: >= 30x at K = 100, p = 64.",
        "Samples are drawn uniformly; drawing them is not timed (for the kernel "
        "nor for numpy). Random heads (p != K); balanced hierarchies "
        "[10], [10, 10], [10, 10, 10]; LE-SDE uses the two-parameter impact "
        "(alpha = 0.05, beta = 0.01), sigma = 0.",
        "",
    ]
    lines += sgd_tables("HFS: `hfs_sgd_steps` vs a numpy step", hfs_rows, lazy=False)
    lines += floor_table(hfs_rows, rates, cliff)
    lines += sgd_tables(
        "LE-SDE: `lesde_sgd_steps` vs the eager numpy step (every particle, O(n p))",
        lesde_rows,
        lazy=True,
    )
    lines += [
        "The two-parameter E is the K singletons plus the group of all classes, so the",
        "kernel moves two group offsets per step where the lazy numpy step moves K",
        "class offsets (see `simnet.models.impact_groups`). With a generic constant E",
        "(symmetric, entries in [0.01, 0.05], no group form) the kernel moves all K",
        "class offsets, like the lazy numpy step:",
        "",
    ]
    lines += sgd_tables(
        "LE-SDE with a generic dense E: `lesde_sgd_steps` vs the eager numpy step",
        dense_rows,
        lazy=True,
    )
    lines += sde_tables(sde_rows, sde_ctx, st.sde_rows)
    lines += ode_table(ode_rows)
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        replace_section(args.out, "kernels", text)
        log(f"wrote the 'kernels' section of {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
