"""``simnet sweep``: run a parameter sweep from a TOML file (:mod:`simnet.sweeps`).

``simnet sweep SWEEP.toml --out DIR [--workers N | --scheduler ADDRESS |
--local-cluster] [--resume] [--quiet] [--phase X,Y]``

Cells run in local worker processes (all cores unless ``--workers N``), on a Dask
cluster (``--scheduler ADDRESS``) or on a Dask ``LocalCluster`` started for the
sweep (``--local-cluster``, with ``--workers`` workers). Every finished cell is
written to ``DIR`` at once; ``--resume`` continues an interrupted sweep (and runs
its failed cells again). ``--phase X,Y`` writes the phase-diagram table
``phase.csv`` (mean, std and count over seeds on the plane of two swept keys) and
its heatmaps ``phase.png``. Failed cells do not change the exit status (they are
listed, and recorded in the table); errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import SimnetError
from ..io import atomic_write
from ..sweeps import Backend, load_sweep, phase_table, plot_phase, run_sweep
from ..sweeps.phase import resolve_key

__all__ = ["add_sweep_parser", "run_sweep_command"]

_MAX_FAILURES_SHOWN = 5


class _SweepCommandError(SimnetError):
    """An option of ``simnet sweep`` cannot be used."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an int >= 1; got {text!r}")
    return value


def _key_pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            "must be two swept keys separated by a comma, e.g. alpha,beta; "
            f"got {text!r}"
        )
    return parts[0], parts[1]


def add_sweep_parser(commands: Any) -> argparse.ArgumentParser:
    """Add the ``sweep`` subcommand to the ``simnet`` subparsers.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``parser.add_subparsers()`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``sweep`` parser; its ``handler`` default is :func:`run_sweep_command`.
    """
    sweep = commands.add_parser(
        "sweep",
        help="run a parameter sweep (local processes or Dask) from a TOML file",
        description="Run a parameter sweep: a base run configuration at every point "
        "of a grid or random sample, with several seeds, on local processes or a "
        "Dask cluster. Every finished cell is saved at once; --resume continues an "
        "interrupted sweep. See examples/sweep_phase.toml.",
    )
    sweep.add_argument("spec", metavar="SWEEP.toml", help="the sweep file")
    sweep.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: ./simnet-<sweep name>)",
    )
    where = sweep.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on the Dask cluster of this scheduler (e.g. tcp://host:8786)",
    )
    where.add_argument(
        "--local-cluster",
        action="store_true",
        help="run on a Dask LocalCluster started for the sweep (--workers workers)",
    )
    sweep.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="worker processes (default: all cores)",
    )
    sweep.add_argument(
        "--resume",
        action="store_true",
        help="continue the sweep in --out: skip finished cells, retry failed ones",
    )
    sweep.add_argument(
        "--phase",
        type=_key_pair,
        metavar="X,Y",
        help="also write phase.csv and phase.png over two swept keys (a unique "
        "last component such as alpha suffices)",
    )
    sweep.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors, and no progress bar",
    )
    sweep.set_defaults(handler=run_sweep_command)
    return sweep


def run_sweep_command(args: argparse.Namespace) -> int:
    """Run ``simnet sweep`` with parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser of :func:`add_sweep_parser`.

    Returns
    -------
    int
        0 on success (failed cells included).

    Raises
    ------
    SimnetError
        On an invalid sweep file or option (``simnet.cli.main`` prints it as one
        line with exit status 2).
    """
    spec_path = Path(args.spec)
    spec = load_sweep(spec_path)
    if args.scheduler is not None and args.workers is not None:
        raise _SweepCommandError("--workers does not apply with --scheduler")
    if args.phase is not None:
        for name in args.phase:
            resolve_key(name, spec.keys)
    out = Path(args.out) if args.out else Path(f"simnet-{spec_path.stem}")
    if args.scheduler is not None or args.local_cluster:
        if importlib.util.find_spec("distributed") is None:
            raise _SweepCommandError(
                "the Dask backend needs distributed: pip install 'simnet[dask]'"
            )
        backend = Backend.DASK
    else:
        backend = Backend.PROCESSES
    if not args.quiet:
        where = (
            f"the Dask scheduler {args.scheduler}"
            if args.scheduler
            else f"{args.workers or 'all'} "
            + ("Dask workers" if args.local_cluster else "local worker processes")
        )
        print(
            f"simnet sweep: {spec.n_cells} cells ({spec.n_points} points x "
            f"{spec.seeds} seeds) on {where}"
        )
    started = time.perf_counter()
    result = run_sweep(
        spec,
        out=out,
        backend=backend,
        workers=args.workers,
        scheduler=args.scheduler,
        resume=args.resume,
        progress=False if args.quiet else None,
    )
    seconds = time.perf_counter() - started
    written = [(str(out), "sweep (simnet.sweeps.SweepResult.load)")]
    if args.phase is not None:
        phase = phase_table(result, *args.phase)
        csv = out / "phase.csv"
        atomic_write(csv, lambda p: phase.to_csv(p, index=False))
        written.append((str(csv), "phase-diagram table (mean, std, count)"))
        try:
            png = plot_phase(phase, out / "phase.png")
        except SimnetError as exc:
            print(f"simnet: warning: phase.png not written: {exc}", file=sys.stderr)
        else:
            written.append((str(png), "phase-diagram heatmaps"))
    counts = result.counts()
    if not args.quiet:
        summary = ", ".join(f"{n} {status}" for status, n in counts.items())
        print(f"done in {seconds:.1f} s: {summary}")
        failed = result.failed().drop_duplicates("cell")
        for row in failed.head(_MAX_FAILURES_SHOWN).itertuples(index=False):
            print(f"  cell {row.cell} failed: {row.error_type}: {row.error}")
        if len(failed) > _MAX_FAILURES_SHOWN:
            print(f"  ... {len(failed) - _MAX_FAILURES_SHOWN} more failed cells")
        print("wrote:")
        width = max(len(path) for path, _ in written)
        for path, what in written:
            print(f"  {path:<{width}}  {what}")
    return 0
