"""Where the cells of a sweep run: in this process, in local processes, or on Dask.

Every backend evaluates the same cells with the same seeds
(:func:`~simnet.sweeps.cells.run_cell`) and hands the records back to the parent
process, which alone writes the output folder; so a sweep gives identical results
on every backend and with any number of workers.

Threads
-------
Cells are small: a worker that runs Numba or BLAS code on several threads only
fights the other workers for the cores (a 2-core machine slows down badly). Every
worker therefore runs on one thread: worker processes are started with
``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
``MKL_NUM_THREADS``, ``VECLIB_MAXIMUM_THREADS`` and ``NUMEXPR_NUM_THREADS`` set to 1
in their environment (they read it when they import numpy and numba, before any
initializer could run), and each cell also calls ``numba.set_num_threads(1)`` and,
when threadpoolctl is installed, limits BLAS to one thread (this is what pins the
workers of a Dask cluster started elsewhere). The serial backend does the same in
this process for the duration of the sweep. The kernels reduce in a fixed block
order, so the thread count never changes a result.

Numba cache
-----------
The kernels are compiled with ``cache=True``. Several processes compiling the same
kernels at once write the on-disk cache concurrently, which once crashed. Before
starting workers, :func:`simnet.sweeps.run_sweep` therefore *warms the cache in the
parent*: it runs one step of each model variant of the sweep
(:meth:`SimulateCell.warm_up`), so the workers only read the cache. This keeps one
shared cache (a per-worker ``NUMBA_CACHE_DIR`` would recompile every kernel in
every worker). It covers workers that share the parent's file system (processes and
a local Dask cluster); workers of a remote Dask cluster compile on first use.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from enum import StrEnum
from typing import Any

from ..errors import SimnetError
from .cells import Cell, CellFn, CellRecord, run_cell

__all__ = ["THREAD_ENV", "Backend", "execute_cells"]

#: Environment variables that pin Numba and BLAS to one thread in a worker.
THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}

# Kept alive for the life of a worker process (threadpoolctl limits end with it).
_THREAD_LIMITS: list[Any] = []


class Backend(StrEnum):
    """Where the cells run.

    * ``serial``: one after another in this process;
    * ``processes``: a local :class:`concurrent.futures.ProcessPoolExecutor`
      (``spawn`` start method; all cores by default);
    * ``dask``: a Dask cluster, given by its scheduler address or a
      :class:`dask.distributed.LocalCluster` started (and closed) for the sweep.
    """

    SERIAL = "serial"
    PROCESSES = "processes"
    DASK = "dask"


def pin_threads() -> None:
    """Run Numba, and BLAS when threadpoolctl is installed, on one thread."""
    import numba

    numba.set_num_threads(1)
    if not _THREAD_LIMITS:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            _THREAD_LIMITS.append(None)
        else:
            _THREAD_LIMITS.append(threadpool_limits(limits=1))


def execute_cell(fn: CellFn, cell: Cell) -> CellRecord:
    """Evaluate one cell in a worker, on one thread (the task of every backend)."""
    pin_threads()
    return run_cell(fn, cell)


@contextlib.contextmanager
def _single_thread_environment() -> Iterator[None]:
    """Set :data:`THREAD_ENV` in ``os.environ`` (inherited by spawned workers)."""
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update(THREAD_ENV)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _environment_restored() -> Iterator[None]:
    """Undo changes to ``os.environ`` made inside (Dask's nanny sets
    ``distributed.nanny.pre-spawn-environ`` in the parent process)."""
    saved = dict(os.environ)
    try:
        yield
    finally:
        for name in [n for n in os.environ if n not in saved]:
            os.environ.pop(name, None)
        for name, value in saved.items():
            if os.environ.get(name) != value:
                os.environ[name] = value


@contextlib.contextmanager
def _serial_threads() -> Iterator[None]:
    """One Numba thread and one BLAS thread in this process, then restore."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - optional
            yield
        else:
            with threadpool_limits(limits=1):
                yield
    finally:
        numba.set_num_threads(threads)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def execute_cells(
    cells: Sequence[Cell],
    fn: CellFn,
    *,
    backend: Backend,
    workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[CellRecord]:
    """Evaluate ``cells`` on ``backend``, yielding records as cells finish.

    Parameters
    ----------
    cells : sequence of Cell
    fn : callable
        The cell function; it must be picklable for ``processes`` (and for Dask,
        by cloudpickle).
    backend : Backend
    workers : int, optional
        Worker processes (default: the usable cores); for ``dask`` the workers of
        the local cluster (ignored with ``scheduler``).
    scheduler : str, optional
        Address of a Dask scheduler; without it ``dask`` starts a local cluster.

    Yields
    ------
    CellRecord
        In completion order.

    Raises
    ------
    SimnetError
        If a worker process dies (the cells finished so far are kept: resume).
    ImportError
        If ``backend`` is ``dask`` and distributed is not installed.
    """
    if not cells:
        return
    if backend is Backend.SERIAL:
        with _serial_threads():
            for cell in cells:
                yield run_cell(fn, cell)
    elif backend is Backend.PROCESSES:
        yield from _processes(cells, fn, workers or default_workers())
    else:
        yield from _dask(cells, fn, workers or default_workers(), scheduler)


def _processes(cells: Sequence[Cell], fn: CellFn, workers: int) -> Iterator[CellRecord]:
    context = multiprocessing.get_context("spawn")
    with _single_thread_environment():
        pool = ProcessPoolExecutor(
            max_workers=min(workers, len(cells)),
            mp_context=context,
            initializer=pin_threads,
        )
        try:
            futures = [pool.submit(execute_cell, fn, cell) for cell in cells]
            for future in as_completed(futures):
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    raise SimnetError(
                        "a sweep worker process died (out of memory, or killed); "
                        "the finished cells are saved: resume the sweep"
                    ) from exc
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _dask(
    cells: Sequence[Cell], fn: CellFn, workers: int, scheduler: str | None
) -> Iterator[CellRecord]:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError as exc:
        raise ImportError(
            "the dask backend needs distributed: pip install 'simnet[dask]'"
        ) from exc
    with _environment_restored(), contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=min(workers, len(cells)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env=dict(THREAD_ENV),
                silence_logs=logging.ERROR,
            )
            stack.callback(cluster.close)
            client = Client(cluster)
        else:
            client = Client(scheduler)
        stack.callback(client.close)
        token = uuid.uuid4().hex[:12]
        futures = [
            client.submit(
                execute_cell,
                fn,
                cell,
                key=f"simnet-cell-{cell.index}-{token}",
                pure=False,
            )
            for cell in cells
        ]
        for future in dask_completed(futures):
            record = future.result()
            future.release()
            yield record


def callable_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of a cell function (its class for callable objects)."""
    target = fn if hasattr(fn, "__qualname__") else type(fn)
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', repr(target))}"
