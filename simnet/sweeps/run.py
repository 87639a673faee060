"""The entry point of a sweep: :func:`run_sweep`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .._validation import check_enum, check_int
from ..errors import ConfigError
from ..progress import progress_bar
from .backends import Backend, callable_name, execute_cells
from .cells import CellRecord, SimulateCell
from .spec import SweepSpec
from .store import SweepResult, SweepStore, memory_result

__all__ = ["run_sweep"]


def run_sweep(
    spec_or_points: SweepSpec | Sequence[Mapping[str, Any]],
    fn: Callable[..., Any] | None = None,
    *,
    out: str | os.PathLike | None = None,
    backend: Backend | str = Backend.SERIAL,
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = True,
    seeds: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
) -> SweepResult:
    """Run every cell of a sweep and collect the results in one table.

    Parameters
    ----------
    spec_or_points : SweepSpec or sequence of mapping
        The sweep, or explicit points (dotted key -> value) for ``fn``.
    fn : callable, optional
        ``fn(params: dict, seed: SeedSequence) -> dict | DataFrame | CellOutput``.
        Default (a spec with a base configuration only): simulate the cell's run
        configuration and return its final metrics (:class:`SimulateCell`). It
        must be picklable (a module-level function) for ``processes``.
    out : str or os.PathLike, optional
        Output folder (see :mod:`simnet.sweeps.store`); None keeps the results in
        memory only.
    backend : {"serial", "processes", "dask"} or Backend, default "serial"
    workers : int, optional
        Worker processes of ``processes`` and of a local Dask cluster (default: the
        usable cores).
    scheduler : str, optional
        Address of a running Dask scheduler (``backend="dask"`` only; without it a
        ``LocalCluster`` is started and closed).
    resume : bool, default False
        Continue the sweep already in ``out``: finished cells are not run again.
    retry_failed : bool, default True
        With ``resume``, run the failed cells again.
    seeds, seed : int, optional
        Replicates per point and the sweep seed, when ``spec_or_points`` is a list
        of points (defaults 1 and 0); a spec has its own.
    progress : bool, optional
        Progress bar over cells (default: only on a terminal).

    Returns
    -------
    SweepResult
        The table of all cells; with ``out``, the same as
        ``SweepResult.load(out)``.

    Raises
    ------
    ConfigError
        On an invalid argument or spec, or an output folder holding something else.
    SimnetError
        If a worker process dies.

    Notes
    -----
    Cell ``c`` runs with ``SeedSequence(entropy=seed, spawn_key=(c,))`` (cells are
    numbered point-major, seed-minor), so the results do not depend on the backend,
    the order of execution or the number of workers. An exception raised by ``fn``
    marks its cell ``failed`` with the error's type and message; the sweep goes on.
    With ``out``, every finished cell is written atomically as it completes: a
    sweep killed at any moment and resumed ends with exactly the results of an
    uninterrupted one.

    Worker processes are started with ``spawn``: they import the script that calls
    ``run_sweep``, so a script must guard its entry point with ``if __name__ ==
    "__main__":``, and a custom ``fn`` must be importable (defined at module level).
    Workers run Numba and BLAS on one thread each; before they start, the kernels of
    the default ``fn`` are compiled once in this process (see
    :mod:`simnet.sweeps.backends`).

    Examples
    --------
    >>> result = run_sweep(
    ...     [{"x": 0.0}, {"x": 1.0}],
    ...     lambda params, seed: {"y": params["x"] + 1.0},
    ... )
    >>> result.table[["x", "y", "status"]].values.tolist()
    [[0.0, 1.0, 'done'], [1.0, 2.0, 'done']]
    """
    owner = "run_sweep"
    spec = _as_spec(spec_or_points, seeds, seed, owner)
    kind = check_enum(Backend, backend, "backend", owner)
    if workers is not None:
        workers = check_int(workers, "workers", owner, low=1)
    if scheduler is not None and kind is not Backend.DASK:
        raise ConfigError(
            f"The 'scheduler' parameter of {owner} needs backend='dask'. Got "
            f"backend={kind.value!r} instead."
        )
    if fn is None:
        if spec.base is None:
            raise ConfigError(
                f"The 'fn' parameter of {owner} is required for a sweep without a "
                "base run configuration."
            )
        fn = SimulateCell(spec.base, spec.metrics, tuple(spec.tables))
    elif not callable(fn):
        raise ConfigError(
            f"The 'fn' parameter of {owner} must be callable. Got {fn!r} instead."
        )

    cells = spec.cells()
    keys = spec.keys
    spec_toml = spec.to_toml()
    fn_name = callable_name(fn)
    store = SweepStore(out) if out is not None else None
    finished: dict[int, str] = {}
    if store is not None:
        finished = store.open(spec_toml, cells, keys, fn_name=fn_name, resume=resume)
    skip = {i for i, s in finished.items() if s == "done" or not retry_failed}
    todo = [c for c in cells if c.index not in skip]

    if todo and kind is not Backend.SERIAL and isinstance(fn, SimulateCell):
        fn.warm_up([c.params for c in todo])

    records: dict[int, CellRecord] = {}
    by_index = {c.index: c for c in cells}
    bar = progress_bar(len(todo), enabled=progress, desc="sweep", unit="cell")
    try:
        for record in execute_cells(
            todo, fn, backend=kind, workers=workers, scheduler=scheduler
        ):
            if store is not None:
                store.write_cell(by_index[record.index], keys, record)
            else:
                records[record.index] = record
            bar.update(1)
    finally:
        bar.close()
        if store is not None:
            store.write_manifest(force=True)
    if store is not None:
        assert out is not None
        return SweepResult.load(Path(out))
    return memory_result(cells, keys, records, spec_toml, fn_name)


def _as_spec(
    spec_or_points: Any, seeds: int | None, seed: int | None, owner: str
) -> SweepSpec:
    if isinstance(spec_or_points, SweepSpec):
        if seeds is not None or seed is not None:
            raise ConfigError(
                f"The 'seeds' and 'seed' parameters of {owner} apply to a list of "
                "points; a SweepSpec has its own."
            )
        return spec_or_points
    if isinstance(spec_or_points, Sequence) and not isinstance(spec_or_points, str):
        return SweepSpec(
            points=list(spec_or_points),
            seeds=1 if seeds is None else seeds,
            seed=0 if seed is None else seed,
        )
    raise ConfigError(
        f"The 'spec_or_points' parameter of {owner} must be a SweepSpec or a list of "
        f"points (dicts). Got {spec_or_points!r} instead."
    )
