"""Replica ensembles: one model, many seeds, one parallel numba call per interval.

:func:`simulate_ensemble` runs R independent replicas of one model (same
configuration, seeds spawned from one root) and returns their tables with a leading
``replica`` column, plus ``<table>_summary`` tables of mean, standard deviation and
quantiles across replicas.

How the replicas stay bit-identical to single runs
--------------------------------------------------
Replica r is built exactly as :func:`simnet.simulate` builds a run from the seed
``children[r]`` (``children = root.spawn(replicas)``): the same runner (initial
state drawn from its own ``init`` stream), the same minibatch sampler on its own
``sampling`` stream, the same :class:`~simnet.recorder.Recorder` on its own
``probes`` stream. Only the advance differs: the state arrays of all replicas are
stacked into arrays with a leading replica axis (each runner's state is rebound to
its slice, so the recorders read the live state), and one kernel of
:mod:`simnet.kernels.ensemble` advances every replica with a ``prange`` loop that
calls the single-run kernel on each slice.

The kernels must consume the random numbers of the single runs. Minibatch indices
are drawn in Python, so each replica's own ``BatchSampler`` draws them before each
chunk (one ``Generator.integers`` call per replica and chunk; the stream is
chunk-independent by design). Kernel-side noise (the SGD imitation's lazy Gaussian
increments, the HFS Langevin noise) is drawn inside the single-run kernels from a
``numpy.random.Generator``. Three ways of reproducing it were weighed:

* pre-drawing it per replica in Python: needs a second, Python-side account of how
  many draws each step makes (it depends on the batches and on the lazy-noise
  bookkeeping), which could silently drift from the kernels;
* changing the single-run kernels to consume pre-drawn buffers: touches every
  caller and numpy twin, and costs memory proportional to the noise drawn;
* handing each replica's own noise Generator to the ensemble kernel in a
  homogeneous :class:`numba.typed.List` (chosen). Numba shares the bit-generator
  state with the Python object, so replica r draws exactly what the single run
  draws, and the stream continues in Python (the lazy-noise flush at record steps)
  as it would in a single run. The list is built once per call (about 10 ms for
  500 Generators, plus a one-off compilation of numba's typed-list code of about
  0.5 s per process); with zero noise a single, never-used Generator is passed.

The ensemble kernel calls the single-run kernel itself, so identity holds by
construction, and since replicas share no reduction the results do not depend on
the number of numba threads. The chunking of the steps between records may differ
from a single run's (chunks are capped so the stacked minibatch indices stay small);
the kernels and samplers are chunk-independent.

The per-sample SDE integrator (``integrator="sde"``) is different: its single-run
kernel is already parallel over particle blocks, so its replicas are advanced one
after another through that kernel (no ensemble kernel).

Recording
---------
Recording runs in Python, replica by replica, through the same recorder as a single
run, and can cost more than the dynamics for hundreds of replicas. The default
observables of an ensemble are therefore the cheap ones: ``loss`` (loss, accuracy,
margins), ``neural_collapse``, ``class_means`` and, for the HFS model,
``feature_count``. ``impact`` (a pandas group-by per record; for the LE-SDE model
E(t) does not depend on the replica at all), ``separability`` (a linear programme
per record) and ``similarity`` (a probe step per probe) are opt-in through
``observe``. Use few records (``record=RecordSchedule.log(10)`` or a large stride)
when only the final curves matter.
"""

from __future__ import annotations

import numbers
import time as _time
from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
import pandas as pd
from numba.typed import List as TypedList

from ._validation import check_int
from .errors import ConfigError, DivergenceError
from .kernels import lesde as lesde_kernels
from .kernels.ensemble import (
    ensemble_hfs_sgd_steps,
    ensemble_lesde_ode_steps,
    ensemble_lesde_sgd_steps,
)
from .models import HFSModel, Integrator, LESDEModel, OdeMethod
from .progress import progress_bar
from .recorder import Observable, Recorder, resolve_observables
from .recording import RecordSchedule, as_record_schedule
from .results import RunResult, package_versions
from .runners import Runner, make_runner
from .runners.lesde import _SURROGATE_CODE
from .seeding import SeedLike, as_seed_sequence, spawn_generators

__all__ = ["ensemble_default_observables", "simulate_ensemble", "summarise_replicas"]

_OWNER = "simulate_ensemble"
_STREAMS = ("init", "sampling", "noise", "probes")  # as in simnet.simulate
_MAX_CHUNK = 1 << 16
# Cap on the stacked minibatch indices of one chunk (R * steps * batch_size int64).
_MAX_CHUNK_INDICES = 1 << 22
# Columns that identify a probe sample of one replica: not a key across replicas.
_PER_REPLICA_IDS = ("sample_i", "sample_j")
# Float columns that are keys, not values.
_FLOAT_KEYS = ("time",)


def ensemble_default_observables(runner: Runner) -> tuple[Observable, ...]:
    """The observables recorded by :func:`simulate_ensemble` when ``observe`` is None.

    The cheap ones: ``loss``, ``neural_collapse``, ``class_means``, and
    ``feature_count`` for models with node amounts (HFS).
    """
    out = [Observable.LOSS, Observable.NEURAL_COLLAPSE, Observable.CLASS_MEANS]
    if runner.has_amounts:
        out.append(Observable.FEATURE_COUNT)
    return tuple(out)


def simulate_ensemble(
    model: Any,
    *,
    replicas: int,
    steps: int,
    record: int | RecordSchedule | Sequence[int] | dict | None = None,
    observe: Sequence[Observable | str] | None = None,
    seed: SeedLike = None,
    n_probes: int = 20,
    progress: bool | None = None,
    keep_replicas: bool = True,
    quantiles: Sequence[float] = (0.05, 0.5, 0.95),
) -> RunResult:
    """Simulate ``replicas`` independent replicas of ``model`` in parallel.

    Parameters
    ----------
    model : HFSModel or LESDEModel
        Covered: the HFS model, and the LE-SDE model with every integrator (``sgd``
        with or without noise, ``ode`` with every surrogate and method, ``sde``).
    replicas : int
        Number of replicas R >= 1.
    steps : int
        Number of steps of every replica.
    record : int, RecordSchedule, list of int or mapping, optional
        When to record, as in :func:`simnet.simulate` (default: about 100 evenly
        spaced records; fewer records make large ensembles much cheaper).
    observe : list of Observable or str, optional
        Observables to record. Default: :func:`ensemble_default_observables`
        (``loss``, ``neural_collapse``, ``class_means``, and ``feature_count`` for
        HFS); ``impact``, ``separability`` and ``similarity`` are opt-in.
    seed : int, SeedSequence, Generator or None
        Root seed. Replica r uses the child seed ``children[r]`` of
        ``children = as_seed_sequence(seed).spawn(replicas)`` (spawned from a fresh
        copy of the root, so the same SeedSequence always gives the same children).
    n_probes : int, default 20
        Probe-set size of the ``similarity`` observable (per replica).
    progress : bool, optional
        Show a progress bar over steps (default: only on a terminal).
    keep_replicas : bool, default True
        Keep the per-replica tables and the stacked final state. With False only
        the ``<table>_summary`` tables are returned.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Distinct quantile levels in [0, 1] reported by the summary tables.

    Returns
    -------
    RunResult
        Per-replica tables (``metrics``, ``class_means``...) with a leading
        ``replica`` column (int64), when ``keep_replicas``; and for each of them a
        table ``<table>_summary`` (see :func:`summarise_replicas`). ``state`` holds
        each final-state array of a single run stacked along a leading replica axis
        (when ``keep_replicas``). ``config`` is the single-run config plus
        ``replicas``, ``keep_replicas`` and ``quantiles``; ``metadata`` holds the
        root seed entropy and spawn key, the record steps, timings and the numba
        thread count.

    Raises
    ------
    ConfigError
        On an invalid argument; the message names the parameter.
    DivergenceError
        If a replica's state becomes NaN or infinite; the message names the
        replica and the step (``error.step``, ``error.replica``).

    See Also
    --------
    simnet.simulate : one run; replica r of an ensemble equals
        ``simulate(model, seed=children[r], ...)`` bit for bit.

    Notes
    -----
    The replicas are the R independent trials over which Zhang, Wang & Su
    (NeurIPS 2021) average their LE-SDE curves (100-500 per curve). The dynamics of
    each replica are those of :func:`simnet.simulate` (``MODEL.md`` sections 2 and
    3), e.g. for the SGD imitation a step on minibatch B moves particle j by
    ``-(1/|B|) sum_{i in B} E(t)[c_j, c_i] g_i``. With ``v_r`` a recorded value of
    replica r, the summary gives the mean ``m = (1/R) sum_r v_r``, the sample standard
    deviation ``sqrt(sum_r (v_r - m)^2 / (R - 1))`` and the linearly interpolated
    quantiles of ``numpy.quantile``.

    Replicas run in parallel (one ``prange`` over replicas per record interval), see
    :mod:`simnet.ensemble` for how the random streams are kept bit-identical. For
    ``integrator="sde"``, whose single-run kernel is already parallel over particle
    blocks, the replicas are run one after another through that kernel.

    Examples
    --------
    >>> from simnet import ImpactMatrix, LESDEModel, simulate_ensemble
    >>> model = LESDEModel(ImpactMatrix.two_parameter(3, 0.05, 0.01), n_per_class=10)
    >>> result = simulate_ensemble(model, replicas=4, steps=100, record=50, seed=0)
    >>> summary = result.table("metrics_summary")
    >>> summary.loc[summary["observable"] == "loss", ["step", "n"]].values.tolist()
    [[0, 4], [50, 4], [100, 4]]
    """
    replicas = check_int(replicas, "replicas", _OWNER, low=1)
    steps = check_int(steps, "steps", _OWNER, low=0)
    n_probes = check_int(n_probes, "n_probes", _OWNER, low=2)
    if not isinstance(keep_replicas, (bool, np.bool_)):
        raise ConfigError(
            f"The 'keep_replicas' parameter of {_OWNER} must be a bool. "
            f"Got {keep_replicas!r} instead."
        )
    levels = _check_quantiles(quantiles)
    if not isinstance(model, (HFSModel, LESDEModel)):
        raise ConfigError(
            f"The 'model' parameter of {_OWNER} must be an HFSModel or an "
            f"LESDEModel. Got {type(model).__name__} instead."
        )
    schedule = as_record_schedule(record, steps)
    record_steps = schedule.steps(steps)
    root = as_seed_sequence(seed)
    children = np.random.SeedSequence(
        root.entropy, spawn_key=root.spawn_key, pool_size=root.pool_size
    ).spawn(replicas)

    runners: list[Runner] = []
    recorders: list[Recorder] = []
    observables: tuple[Observable, ...] = ()
    for r, child in enumerate(children):
        _, rngs = spawn_generators(child, _STREAMS)
        runner = make_runner(model, rngs)
        if r == 0:
            observables = (
                ensemble_default_observables(runner)
                if observe is None
                else resolve_observables(observe, runner)
            )
        runners.append(runner)
        recorders.append(
            Recorder(runner, observables, probe_rng=rngs["probes"], n_probes=n_probes)
        )
    stepper = _make_stepper(model, runners)
    max_chunk = max(1, min(_MAX_CHUNK, _MAX_CHUNK_INDICES // stepper.indices_per_step))

    started = _time.perf_counter()
    sim_seconds = 0.0
    record_seconds = 0.0
    step = 0
    bar = progress_bar(steps, enabled=progress, desc=_OWNER)
    try:
        for target in record_steps:
            while step < target:
                chunk = min(max_chunk, int(target) - step)
                t0 = _time.perf_counter()
                stepper.advance(chunk)
                sim_seconds += _time.perf_counter() - t0
                step += chunk
                bar.update(chunk)
            t0 = _time.perf_counter()
            for r, recorder in enumerate(recorders):
                try:
                    recorder.record()
                except DivergenceError as exc:
                    raise _in_replica(exc, r, replicas) from exc
            record_seconds += _time.perf_counter() - t0
    finally:
        bar.close()

    per_replica = _stack_tables([rec.tables() for rec in recorders])
    tables: dict[str, pd.DataFrame] = dict(per_replica) if keep_replicas else {}
    for name, frame in per_replica.items():
        tables[f"{name}_summary"] = summarise_replicas(frame, levels)
    state: dict[str, np.ndarray] = {}
    if keep_replicas:
        finals = [runner.final_state() for runner in runners]
        state = {name: np.stack([f[name] for f in finals]) for name in finals[0]}
    elapsed = _time.perf_counter() - started

    config = {
        **model.to_config(),
        "steps": steps,
        "record": schedule.to_config(),
        "observe": [o.value for o in observables],
        "n_probes": n_probes,
        "replicas": replicas,
        "keep_replicas": bool(keep_replicas),
        "quantiles": list(levels),
    }
    metadata = {
        "seed_entropy": root.entropy,
        "seed_spawn_key": list(root.spawn_key),
        "replica_seeds": "replica r: SeedSequence(seed_entropy, "
        "spawn_key=seed_spawn_key + [r])",
        "record_steps": record_steps.tolist(),
        "seconds_total": elapsed,
        "seconds_kernels": sim_seconds,
        "seconds_recording": record_seconds,
        "numba_threads": numba.get_num_threads(),
        "versions": package_versions(),
    }
    return RunResult(config=config, tables=tables, state=state, metadata=metadata)


# --- summaries ----------------------------------------------------------------------


def _quantile_label(q: float) -> str:
    return f"q{100.0 * q:.10g}"


def summarise_replicas(
    frame: pd.DataFrame, quantiles: Sequence[float] = (0.05, 0.5, 0.95)
) -> pd.DataFrame:
    """Aggregate a per-replica table over replicas.

    Parameters
    ----------
    frame : pandas.DataFrame
        A table with a ``replica`` column, as returned by :func:`simulate_ensemble`.
    quantiles : sequence of float, default (0.05, 0.5, 0.95)
        Quantile levels in [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per group of the key columns, in order of first appearance. Value
        columns are the float64 columns other than ``time`` (``value``,
        ``mean_impact``, ``s_rel``, ``s_ker``, ``n_eff``); key columns are all the
        others except ``replica`` and the per-replica probe ids ``sample_i`` and
        ``sample_j`` (so ``similarity`` is summarised per class pair, over probe
        pairs and replicas). Columns: the keys, ``n`` (values per group: R for
        every table but ``similarity``), then for each value column ``c``:
        ``c_mean``, ``c_std`` (sample standard deviation, ddof = 1; NaN when
        ``n == 1``) and ``c_q<percent>`` for each level (``value_q5`` for 0.05).

    Notes
    -----
    Within a group the values are taken in replica order; the mean, standard
    deviation and quantiles are those of ``numpy.mean``, ``numpy.std(ddof=1)`` and
    ``numpy.quantile`` (linear interpolation) of that vector. NaN values propagate.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame(
    ...     {"replica": [0, 0, 1, 1], "step": [0, 1, 0, 1], "value": [1.0, 2, 3, 6]}
    ... )
    >>> summarise_replicas(frame, quantiles=[0.5])[["step", "n", "value_mean"]]
       step  n  value_mean
    0     0  2         2.0
    1     1  2         4.0
    """
    levels = _check_quantiles(quantiles, "summarise_replicas")
    values = [
        c
        for c in frame.columns
        if c != "replica" and c not in _FLOAT_KEYS and frame[c].dtype.kind == "f"
    ]
    keys = [
        c
        for c in frame.columns
        if c != "replica" and c not in values and c not in _PER_REPLICA_IDS
    ]
    if frame.shape[0] == 0:
        return pd.DataFrame(columns=[*keys, "n"])
    codes = (
        frame.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        if keys
        else np.zeros(frame.shape[0], dtype=np.int64)
    )
    sizes = np.bincount(codes)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    out = frame.iloc[order[starts]][keys].reset_index(drop=True)
    out["n"] = sizes.astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN values propagate
        for col in values:
            _summarise_column(out, frame[col], order, sizes, starts, levels)
    return out


def _summarise_column(
    out: pd.DataFrame,
    column: pd.Series,
    order: np.ndarray,
    sizes: np.ndarray,
    starts: np.ndarray,
    levels: tuple[float, ...],
) -> None:
    """Add the mean, std and quantile columns of one value column to ``out``.

    Groups of equal size are handled together as the rows of one C-contiguous block,
    so each statistic is numpy's statistic of that group's vector.
    """
    name = column.name
    v = column.to_numpy(dtype=np.float64)[order]
    n_groups = sizes.shape[0]
    mean = np.empty(n_groups)
    std = np.full(n_groups, np.nan)
    qs = np.empty((len(levels), n_groups))
    for size in np.unique(sizes):
        groups = np.flatnonzero(sizes == size)
        block = v[starts[groups][:, None] + np.arange(size)]
        mean[groups] = block.mean(axis=1)
        if size > 1:
            std[groups] = block.std(axis=1, ddof=1)
        if levels:
            qs[:, groups] = np.quantile(block, levels, axis=1)
    out[f"{name}_mean"] = mean
    out[f"{name}_std"] = std
    for j, q in enumerate(levels):
        out[f"{name}_{_quantile_label(q)}"] = qs[j]


def _stack_tables(
    per_replica: list[dict[str, pd.DataFrame]],
) -> dict[str, pd.DataFrame]:
    """Concatenate each table over replicas with a leading ``replica`` column."""
    out = {}
    for name in per_replica[0]:
        frames = [tables[name] for tables in per_replica]
        sizes = [frame.shape[0] for frame in frames]
        frame = pd.concat(frames, ignore_index=True)
        replica = np.repeat(np.arange(len(frames), dtype=np.int64), sizes)
        frame.insert(0, "replica", replica)
        out[name] = frame
    return out


# --- validation and errors ----------------------------------------------------------


def _check_quantiles(quantiles: Any, owner: str = _OWNER) -> tuple[float, ...]:
    ok = isinstance(quantiles, (Sequence, np.ndarray)) and not isinstance(
        quantiles, str
    )
    levels: list[float] = []
    if ok:
        for q in quantiles:
            if (
                not isinstance(q, numbers.Real)
                or isinstance(q, bool)
                or not 0.0 <= float(q) <= 1.0
            ):
                ok = False
                break
            levels.append(float(q))
        labels = [_quantile_label(q) for q in levels]
        ok = ok and len(set(labels)) == len(labels)
    if not ok:
        raise ConfigError(
            f"The 'quantiles' parameter of {owner} must be a sequence of distinct "
            f"floats in [0, 1]. Got {quantiles!r} instead."
        )
    return tuple(levels)


def _in_replica(exc: DivergenceError, replica: int, replicas: int) -> DivergenceError:
    err = DivergenceError(f"In replica {replica} (of {replicas}), {exc}", exc.step)
    err.replica = replica
    return err


# --- steppers: advance every replica by a chunk -------------------------------------


class _Stepper:
    """Advances all replicas together; subclasses own the stacked state."""

    indices_per_step = 1

    def __init__(self, runners: list[Runner]):
        self.runners = runners
        self.bad = np.full(len(runners), -1, dtype=np.int64)

    def advance(self, n_steps: int) -> None:
        raise NotImplementedError

    def _finish(self, n_steps: int, what: str) -> None:
        """Raise on the earliest failing replica; else move every step counter."""
        failing = np.flatnonzero(self.bad >= 0)
        if failing.size:
            r = int(failing[np.argmin(self.bad[failing])])
            runner = self.runners[r]
            err = runner.diverged(runner.step + int(self.bad[r]), what)
            raise _in_replica(err, r, len(self.runners))
        for runner in self.runners:
            runner.step += n_steps

    def _batches(self, n_steps: int) -> np.ndarray:
        return np.stack([runner.sampler.draw(n_steps) for runner in self.runners])

    def _noise_rngs(self, sigma: float) -> TypedList:
        """Each replica's noise Generator; one (never drawn from) when sigma = 0."""
        rngs = [runner.noise_rng for runner in self.runners]
        return TypedList(rngs if sigma > 0.0 else rngs[:1])


def _stack(runners: list[Runner], owner: str, name: str) -> np.ndarray:
    """Stack ``getattr(owner_of(runner), name)`` over replicas and rebind each
    replica's attribute to its slice of the stacked array."""
    holders = [runner.state if owner == "state" else runner for runner in runners]
    stacked = np.ascontiguousarray(np.stack([getattr(h, name) for h in holders]))
    for r, holder in enumerate(holders):
        setattr(holder, name, stacked[r])
    return stacked


class _LESDESgdStepper(_Stepper):
    def __init__(self, runners: list[Runner]):
        super().__init__(runners)
        first = runners[0]
        self.model = first.model
        self.indices_per_step = len(runners) * self.model.batch_size
        self.base = _stack(runners, "state", "base")
        self.offsets = _stack(runners, "state", "offsets")
        self.group_offsets = _stack(runners, "state", "group_offsets")
        self.last_touch = _stack(runners, "state", "last_touch")
        self.head = _stack(runners, "state", "head")
        self.labels = first.state.labels
        self.groups = first.state.groups
        self.sigma = float(self.model.sigma)
        self.rngs = self._noise_rngs(self.sigma)

    def advance(self, n_steps: int) -> None:
        first = self.runners[0]
        coef = np.ascontiguousarray(first._coefficients(n_steps)[:, 0, :])
        ensemble_lesde_sgd_steps(
            self.base,
            self.offsets,
            self.group_offsets,
            self.labels,
            self.groups,
            coef,
            self.head,
            self._batches(n_steps),
            self.sigma,
            self.last_touch,
            self.rngs,
            first.step,
            self.bad,
        )
        self._finish(n_steps, "a particle")


class _LESDEOdeStepper(_Stepper):
    def __init__(self, runners: list[Runner]):
        super().__init__(runners)
        m = runners[0].model
        self.dt = float(m.dt)
        self.surrogate = _SURROGATE_CODE[m.surrogate_kind]
        self.method = (
            lesde_kernels.METHOD_RK4
            if m.ode_method_kind is OdeMethod.RK4
            else lesde_kernels.METHOD_EULER
        )
        self.means = _stack(runners, "state", "base")
        self.head = _stack(runners, "state", "head")
        self.basis = runners[0].basis

    def advance(self, n_steps: int) -> None:
        coef = self.runners[0]._coefficients(n_steps, (0.0, 0.5, 1.0))
        ensemble_lesde_ode_steps(
            self.means,
            self.basis,
            coef,
            self.head,
            self.dt,
            self.surrogate,
            self.method,
            self.bad,
        )
        self._finish(n_steps, "a class mean")


class _HFSStepper(_Stepper):
    def __init__(self, runners: list[Runner]):
        super().__init__(runners)
        first = runners[0]
        self.model = first.model
        self.indices_per_step = len(runners) * self.model.batch_size
        self.lam = _stack(runners, "state", "lam")
        self.phi = _stack(runners, "state", "phi")
        self.u = _stack(runners, "state", "u")
        self.head = _stack(runners, "state", "head")
        self.acc = _stack(runners, "runner", "_acc")
        self.node_stamp = _stack(runners, "runner", "_node_stamp")
        self.sample_stamp = _stack(runners, "runner", "_sample_stamp")
        self.sigma = float(self.model.sigma)
        self.rngs = self._noise_rngs(self.sigma)

    def advance(self, n_steps: int) -> None:
        first, m = self.runners[0], self.model
        ensemble_hfs_sgd_steps(
            self.lam,
            self.phi,
            self.u,
            first.state.labels,
            first.anc_ptr,
            first.anc_idx,
            first.eta_phi,
            first.eta_lam,
            first.decay,
            float(m.eta_u),
            float(m.gamma),
            self.sigma,
            self.head,
            self._batches(n_steps),
            first.rate_scales(n_steps),
            m.n_classes,
            self.rngs,
            first.step,
            self.acc,
            self.node_stamp,
            self.sample_stamp,
            self.bad,
        )
        self._finish(n_steps, "a particle feature")


class _SequentialStepper(_Stepper):
    """Replicas one after another through the single-run (already parallel) kernel."""

    def advance(self, n_steps: int) -> None:
        for r, runner in enumerate(self.runners):
            try:
                runner.advance(n_steps)
            except DivergenceError as exc:
                raise _in_replica(exc, r, len(self.runners)) from exc


def _make_stepper(model: Any, runners: list[Runner]) -> _Stepper:
    if isinstance(model, HFSModel):
        return _HFSStepper(runners)
    kind = model.integrator_kind
    if kind is Integrator.SGD:
        return _LESDESgdStepper(runners)
    if kind is Integrator.ODE:
        return _LESDEOdeStepper(runners)
    return _SequentialStepper(runners)
