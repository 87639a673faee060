"""``simnet reproduce NAME [--quick] --out DIR``: run one paper reproduction.

Every reproduction is a module of :mod:`simnet.reproduce` (``simnet reproduce
--list`` names them, with their titles and papers); it writes CSV tables, PNG
figures, ``summary.md`` (the measured figures next to the paper's) and ``run.json``
into ``DIR``. ``--quick`` runs the reduced protocol in under a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigError, SimnetError
from ..reproduce import EXPERIMENTS, experiment, names

__all__ = ["add_reproduce_parser", "run_reproduce_command"]

#: At most this many headline numbers are printed for a result without a
#: ``headline`` entry (its scalar values are printed instead).
MAX_HEADLINE = 20


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an int >= 0; got {text!r}")
    return value


def add_reproduce_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``simnet reproduce`` on the sub-command parsers.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``reproduce`` parser (its handler is :func:`run_reproduce_command`).
    """
    parser = commands.add_parser(
        "reproduce",
        help="reproduce a paper's result (tables, figures, summary)",
        description="Run one paper reproduction and write its CSV tables, PNG "
        "figures, summary.md (the measured figures next to the paper's) and "
        "run.json into --out. 'simnet reproduce --list' names them: "
        + ", ".join(names())
        + ".",
    )
    parser.add_argument(
        "name", nargs="?", metavar="NAME", help="the reproduction (see --list)"
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the reproductions with their titles and papers, and exit",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the reduced protocol (under a minute on 2 cores)",
    )
    parser.add_argument("--out", metavar="DIR", help="output folder (required)")
    parser.add_argument(
        "--seed", type=_seed, metavar="N", default=0, help="root seed (default 0)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors"
    )
    parser.set_defaults(handler=run_reproduce_command)
    return parser


def run_reproduce_command(args: argparse.Namespace) -> int:
    """Run ``simnet reproduce`` with parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        ``name``, ``list``, ``quick``, ``out``, ``seed`` and ``quiet``.

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    ConfigError
        If ``NAME`` is missing or unknown (the message lists the names), or
        ``--out`` is missing or names a file or a non-empty folder that holds no
        reproduction.
    SimnetError
        If the reproduction's module is not part of this installation, or a
        dependency it needs is missing (the message names the extra).
    """
    if args.list:
        _print_list()
        return 0
    if not args.name:
        raise ConfigError(
            "simnet reproduce needs a NAME (or --list); choose one of: "
            + ", ".join(EXPERIMENTS)
        )
    module = _load(args.name)
    if not args.out:
        raise ConfigError(f"simnet reproduce {args.name} needs --out DIR")
    out = Path(args.out)
    _check_output_dir(out)
    mode = "quick" if args.quick else "full"
    if not args.quiet:
        print(f"simnet reproduce {args.name} ({mode} mode, seed {args.seed}):")
        print(f"  {module.TITLE}")
        print(f"  reproduces: {module.PAPER}")
    started = time.perf_counter()
    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet if args.quiet else contextlib.nullcontext():
        result = module.run(out, quick=args.quick, seed=args.seed)
    seconds = time.perf_counter() - started
    if not args.quiet:
        print(f"done in {seconds:.1f} s")
        lines = _headline_lines(result)
        if lines:
            print("headline numbers:")
            for line in lines:
                print("  " + line)
        print(f"wrote to {out}:")
        for line in _written(out):
            print("  " + line)
    return 0


def _load(name: str) -> ModuleType:
    """The module of ``name``, with one-line errors for unknown or absent ones."""
    try:
        return experiment(name)
    except ModuleNotFoundError as exc:
        if exc.name == f"simnet.reproduce.{EXPERIMENTS[name]}":
            raise SimnetError(
                f"the reproduction {name!r} is not part of this simnet installation"
            ) from None
        raise


def _print_list() -> None:
    rows = []
    for name in names():
        try:
            module = experiment(name)
        except ModuleNotFoundError:
            rows.append((name, "(not available in this installation)", ""))
            continue
        rows.append((name, module.TITLE, module.PAPER))
    width = max(len(name) for name, _, _ in rows)
    for name, title, paper in rows:
        print(f"{name:<{width}}  {title}")
        if paper:
            print(f"{'':<{width}}  paper: {paper}")


def _check_output_dir(out: Path) -> None:
    """Refuse a file, or a non-empty folder that holds no earlier reproduction."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output path '{out}' exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / "run.json").is_file():
        raise ConfigError(
            f"output folder '{out}' is not empty and holds no simnet reproduction; "
            "choose another --out or empty it"
        )


def _format(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)) or hasattr(value, "dtype"):
        try:
            return f"{float(value):.4g}"
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format(v) for v in value) + "]"
    return str(value)


def _headline_lines(result: Any) -> list[str]:
    """``label: value`` lines: the result's ``headline`` mapping if it has one,
    else its scalar entries (nested keys joined by ``/``), at most
    :data:`MAX_HEADLINE`."""
    if not isinstance(result, Mapping):
        return []
    headline = result.get("headline")
    if isinstance(headline, Mapping):
        items = list(headline.items())
    else:
        items = [(k, v) for k, v in _scalars(result) if k.split("/")[-1] != "seconds"][
            :MAX_HEADLINE
        ]
    if not items:
        return []
    width = max(len(str(k)) for k, _ in items)
    return [f"{k!s:<{width}}  {_format(v)}" for k, v in items]


def _scalars(value: Mapping, prefix: str = "") -> list[tuple[str, Any]]:
    found = []
    for key, item in value.items():
        label = f"{prefix}{key}"
        if isinstance(item, Mapping):
            found += _scalars(item, label + "/")
        elif isinstance(item, (bool, int, float, str)) or (
            hasattr(item, "dtype") and getattr(item, "ndim", 1) == 0
        ):
            found.append((label, item))
    return found


def _written(out: Path) -> list[str]:
    """The files in ``out``: top-level ones by name, folders by their file count."""
    notes = {
        "summary.md": "the measured figures next to the paper's",
        "run.json": "mode, seed, time, headline numbers, versions",
    }
    entries = []
    for path in sorted(out.iterdir()):
        if path.is_dir():
            n = sum(1 for p in path.rglob("*") if p.is_file())
            entries.append((f"{path.name}/", f"{n} file{'s' if n != 1 else ''}"))
        else:
            entries.append((path.name, notes.get(path.name, "")))
    width = max((len(name) for name, _ in entries), default=0)
    return [f"{name:<{width}}  {note}".rstrip() for name, note in entries]
