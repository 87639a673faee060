"""The simulation driver: validate, build the runner, loop over the record schedule."""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from typing import Any

from ._validation import check_int
from .progress import progress_bar
from .recorder import Observable, Recorder, resolve_observables
from .recording import RecordSchedule, as_record_schedule
from .results import RunResult, package_versions
from .runners import make_runner
from .seeding import SeedLike, spawn_generators

__all__ = ["simulate"]

_STREAMS = ("init", "sampling", "noise", "probes")
_MAX_CHUNK = 1 << 16


def simulate(
    model: Any,
    *,
    steps: int,
    record: int | RecordSchedule | Sequence[int] | dict | None = None,
    observe: Sequence[Observable | str] | None = None,
    seed: SeedLike = None,
    n_probes: int = 20,
    progress: bool | None = None,
) -> RunResult:
    """Simulate ``model`` for ``steps`` steps, recording observables along the way.

    Parameters
    ----------
    model : HFSModel or LESDEModel
    steps : int
        Number of steps (SGD iterations, or SDE/ODE time steps).
    record : int, RecordSchedule, list of int or mapping, optional
        When to record: an int stride, ``RecordSchedule.log(n)``, explicit steps, or
        ``{"stride": k}`` / ``{"log": n}`` / ``{"at": [...]}``. Default: about 100
        evenly spaced records. Step 0 and the last step are always recorded. The
        trajectory does not depend on the schedule (except through lazily realised
        noise of the SGD imitation, which is exact in distribution).
    observe : list of Observable or str, optional
        Which observables to record (default: every one that applies to the model).
    seed : int, SeedSequence, Generator or None
        One seed for everything. The same seed gives bit-identical results.
    n_probes : int, default 20
        Size of the fixed probe set for the ``similarity`` observable (spread evenly
        over classes; all ordered pairs of distinct probes are recorded).
    progress : bool, optional
        Show a progress bar (default: only on a terminal).

    Returns
    -------
    RunResult
        Tables ``metrics``, ``impact``, ``elasticity_curve``, ``class_means``,
        ``similarity``, ``feature_count`` (those requested), the final state, the
        config and the metadata (seed entropy, package versions, timings).

    Raises
    ------
    ConfigError
        On an invalid argument.
    DivergenceError
        If the state becomes NaN or infinite; the message names the step and the
        rate that is likely too large.

    Examples
    --------
    >>> from simnet import Hierarchy, HFSModel, simulate
    >>> model = HFSModel(Hierarchy.preset("tiger_cat_car"), n_per_class=20)
    >>> result = simulate(model, steps=200, record=100, seed=0, observe=["loss"])
    >>> sorted(result.table("metrics")["step"].unique().tolist())
    [0, 100, 200]
    """
    steps = check_int(steps, "steps", "simulate", low=0)
    n_probes = check_int(n_probes, "n_probes", "simulate", low=2)
    schedule = as_record_schedule(record, steps)
    record_steps = schedule.steps(steps)
    root, rngs = spawn_generators(seed, _STREAMS)
    runner = make_runner(model, rngs)
    observables = resolve_observables(observe, runner)
    recorder = Recorder(
        runner, observables, probe_rng=rngs["probes"], n_probes=n_probes
    )

    started = _time.perf_counter()
    sim_seconds = 0.0
    bar = progress_bar(steps, enabled=progress, desc="simulate")
    try:
        for target in record_steps:
            while runner.step < target:
                chunk = min(_MAX_CHUNK, int(target) - runner.step)
                t0 = _time.perf_counter()
                runner.advance(chunk)
                sim_seconds += _time.perf_counter() - t0
                bar.update(chunk)
            recorder.record()
    finally:
        bar.close()
    elapsed = _time.perf_counter() - started

    config = {
        **model.to_config(),
        "steps": steps,
        "record": schedule.to_config(),
        "observe": [o.value for o in observables],
        "n_probes": n_probes,
    }
    metadata = {
        "seed_entropy": root.entropy,
        "seed_spawn_key": list(root.spawn_key),
        "record_steps": record_steps.tolist(),
        "seconds_total": elapsed,
        "seconds_kernels": sim_seconds,
        "versions": package_versions(),
    }
    return RunResult(
        config=config,
        tables=recorder.tables(),
        state=runner.final_state(),
        metadata=metadata,
    )
