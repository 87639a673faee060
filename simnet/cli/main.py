"""The ``simnet`` command: a thin argparse layer over the public API.

Commands
--------
``simnet simulate CONFIG.toml [--out DIR] [--seed N] [--steps N] [--format F]
[--quiet] [--no-plots]``
    Load a run configuration (:func:`simnet.config.load_config`), simulate it, save
    the :class:`~simnet.RunResult` to ``DIR`` with a copy of the configuration as
    ``config.toml``, and draw PNG figures when matplotlib is installed.
``simnet mlp CONFIG.toml [--out DIR] [--seed N] [--steps N] [--format F] [--quiet]
[--no-plots]``
    The real-network baseline: load an MLP configuration
    (:func:`simnet.config.load_mlp_config`), train the numpy MLP on its dataset and
    write the same result folder as ``simulate``.
``simnet hierarchy show FILE_OR_PRESET``
    Draw a hierarchy and print its LCA-depth matrix.
``simnet hierarchy validate FILE``
    Check a hierarchy file; exit status 2 if it is invalid.
``simnet demo [--out DIR] [--steps N] [--seed N] [--quiet] [--no-plots]``
    The HFS model on the CIFAR-10 class tree: local elasticity grows along the
    hierarchy during training.
``simnet sweep SWEEP.toml [--out DIR] [--workers N | --scheduler ADDRESS |
--local-cluster] [--resume] [--phase X,Y] [--quiet]``
    A parameter sweep on local processes or Dask (:mod:`simnet.cli.sweep`).
``simnet compare NETWORK_RUN_DIR --out DIR [--model lesde|hfs|all] [--fit-fraction F]
[--hierarchy FILE|infer] [--replicas N] [--seed N] [--quiet] [--no-plots]``
    Fit the simulator to a network run and report the agreement
    (:mod:`simnet.cli.compare`).
``simnet reproduce NAME [--quick] --out DIR [--seed N] [--quiet]``, ``simnet
reproduce --list``
    Run one paper reproduction: tables, figures and a summary with the measured
    figures next to the paper's (:mod:`simnet.cli.reproduce`).
``simnet --version``

Every error simnet raises on purpose (:class:`~simnet.SimnetError`), and every
file-system error on the paths given, is printed as one line ``simnet: error:
<message>`` on stderr with exit status 2; so are command-line usage errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..config import (
    MLPRunConfig,
    RunConfig,
    config_from_mapping,
    load_config,
    load_mlp_config,
)
from ..errors import SimnetError
from ..hierarchy import PRESETS, Hierarchy
from ..io import atomic_write, atomic_write_text
from ..results import RunResult, TableFormat
from .compare import add_compare_parser
from .reproduce import add_reproduce_parser
from .sweep import add_sweep_parser

__all__ = ["DEMO_STEPS", "build_parser", "demo_config_text", "main"]

#: Default number of SGD steps of ``simnet demo``.
DEMO_STEPS = 30_000

_DEMO_CONFIG = """\
# simnet demo: the hierarchical feature-sharing (HFS) model on the CIFAR-10 class tree.
#
# Every node of the tree (root; animals, vehicles; mammals, bird, frog; the classes)
# carries a feature phi_v and an amount lam_v; the feature of a class-k sample is the
# sum of lam_v phi_v over the ancestors of k plus a small instance feature. One SGD step
# on a cat therefore moves dogs (shared 'mammals', 'animals', 'root') more than trucks
# (shared 'root' only): the impact of a step grows with the depth of the lowest common
# ancestor (LCA) of the two classes, and the gap widens as training goes on.
# Rerun with:  simnet simulate config.toml --out result

[run]
steps = %(steps)d
seed = %(seed)d
record = {log = 25}              # about 25 log-spaced records, plus step 0
observe = ["loss", "impact", "neural_collapse", "feature_count"]

[hierarchy]
preset = "cifar10"

[model]
kind = "hfs"
n_per_class = 100                # 1000 training samples
eta_phi = 0.05                   # learning rate of the node features
eta_lam = 0.05                   # learning rate of the node amounts
lam0 = [0.5, 0.3, 0.3, 0.3]      # initial amounts by depth: a slightly heavier root,
phi_scale = 0.5                  # small features: the impact starts nearly flat
decay = 2e-5                     # mild compression of the nodes a step touches
gamma = 0.1                      # weight of the per-sample instance features
"""


def demo_config_text(steps: int = DEMO_STEPS, seed: int = 0) -> str:
    """The TOML configuration that ``simnet demo`` runs.

    Parameters
    ----------
    steps : int, default DEMO_STEPS
        Number of SGD steps.
    seed : int, default 0
        Seed of the run.

    Returns
    -------
    str
        A configuration readable by :func:`simnet.config.load_config`.

    Examples
    --------
    >>> import tomllib
    >>> tomllib.loads(demo_config_text(steps=100))["run"]["steps"]
    100
    """
    return _DEMO_CONFIG % {"steps": steps, "seed": seed}


# ---------------------------------------------------------------------- parser
def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an int >= 0; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an int >= 0; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``simnet`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="simnet",
        description="Simulate neural-network training at the level of phenomena: "
        "local elasticity and feature sharing along class hierarchies.",
    )
    parser.add_argument("--version", action="version", version=f"simnet {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    sim = commands.add_parser(
        "simulate",
        help="run a TOML configuration and save the result",
        description="Run a TOML run configuration (see examples/*.toml) and save the "
        "result, a copy of the configuration and PNG figures to a folder.",
    )
    _add_run_arguments(sim, "the run configuration", "override run.seed")
    sim.set_defaults(handler=_run_simulate)

    mlp = commands.add_parser(
        "mlp",
        help="train a numpy MLP baseline from a TOML configuration",
        description="Train the numpy MLP of a TOML MLP configuration (see "
        "examples/mlp_*.toml) on its dataset, recording the simulator's observables, "
        "and save the result, a copy of the configuration and PNG figures to a "
        "folder, as 'simnet simulate' does.",
    )
    _add_run_arguments(
        mlp,
        "the MLP configuration",
        "override run.seed (the dataset follows unless data.seed is set)",
    )
    mlp.set_defaults(handler=_run_mlp)

    hier = commands.add_parser(
        "hierarchy",
        help="show or validate a class hierarchy",
        description="Show or validate a class hierarchy (.json or .gml file).",
    )
    hier_commands = hier.add_subparsers(
        dest="hierarchy_command", metavar="ACTION", required=True
    )
    show = hier_commands.add_parser(
        "show",
        help="draw a hierarchy and print its LCA-depth matrix",
        description="Draw a hierarchy and print its LCA-depth matrix. Presets: "
        + ", ".join(PRESETS),
    )
    show.add_argument("hierarchy", metavar="FILE_OR_PRESET")
    show.set_defaults(handler=_run_hierarchy_show)
    validate = hier_commands.add_parser(
        "validate",
        help="check a hierarchy file (exit status 2 if invalid)",
        description="Check a hierarchy file; exit status 2 if it is invalid.",
    )
    validate.add_argument("file", metavar="FILE")
    validate.set_defaults(handler=_run_hierarchy_validate)

    demo = commands.add_parser(
        "demo",
        help="local elasticity along the CIFAR-10 class tree (HFS model)",
        description="Simulate the HFS model on the CIFAR-10 class tree and show "
        "how the impact of a step grows with the depth of the classes' common "
        "ancestor during training.",
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        default="simnet-demo",
        help="output folder (default: ./simnet-demo)",
    )
    demo.add_argument(
        "--steps",
        type=_nonnegative_int,
        metavar="N",
        default=DEMO_STEPS,
        help=f"number of SGD steps (default: {DEMO_STEPS})",
    )
    demo.add_argument(
        "--seed", type=_nonnegative_int, metavar="N", default=0, help="seed (default 0)"
    )
    _add_quiet_and_plots(demo)
    demo.set_defaults(handler=_run_demo)
    add_sweep_parser(commands)
    add_compare_parser(commands)
    add_reproduce_parser(commands)
    return parser


def _add_run_arguments(
    parser: argparse.ArgumentParser, config_help: str, seed_help: str
) -> None:
    """The arguments shared by ``simulate`` and ``mlp``."""
    parser.add_argument("config", metavar="CONFIG.toml", help=config_help)
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: ./simnet-<config name>); an existing folder "
        "must be empty or hold an earlier result",
    )
    parser.add_argument("--seed", type=_nonnegative_int, metavar="N", help=seed_help)
    parser.add_argument(
        "--steps", type=_nonnegative_int, metavar="N", help="override run.steps"
    )
    parser.add_argument(
        "--format",
        choices=[f.value for f in TableFormat],
        default=TableFormat.AUTO.value,
        help="table file format (auto: parquet when pyarrow is installed, else csv)",
    )
    _add_quiet_and_plots(parser)


def _add_quiet_and_plots(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing but errors, and no progress bar",
    )
    parser.add_argument(
        "--no-plots", action="store_true", help="do not write PNG figures"
    )


# ---------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``simnet`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a usage error or a simnet, file-system or
        missing-dependency error (printed as one line on stderr), 130 if interrupted.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return args.handler(args)
    except SimnetError as exc:
        _error(str(exc))
    except OSError as exc:
        _error(_os_message(exc))
    except KeyboardInterrupt:
        print("simnet: interrupted", file=sys.stderr)
        return 130
    return 2


def _error(message: str) -> None:
    print("simnet: error: " + " ".join(message.split()), file=sys.stderr)


def _warn(message: str) -> None:
    print("simnet: warning: " + " ".join(message.split()), file=sys.stderr)


def _os_message(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: '{exc.filename}'"
    return str(exc)


# ---------------------------------------------------------------------- simulate, mlp
def _run_simulate(args: argparse.Namespace) -> int:
    run = _prepare_run(args, load_config)
    cfg: RunConfig = run.config
    result = cfg.simulate(progress=_progress(args))
    written = _save_run(result, run, args)
    if not args.quiet:
        model = str(result.config.get("model", type(cfg.model).__name__))
        _print_report(
            f"simulated the {model} model for {cfg.steps} steps in "
            f"{_seconds(result):.1f} s (seed {cfg.seed})",
            result,
            written,
        )
    return 0


def _run_mlp(args: argparse.Namespace) -> int:
    run = _prepare_run(args, load_mlp_config)
    cfg: MLPRunConfig = run.config
    result = cfg.train(progress=_progress(args))
    written = _save_run(result, run, args)
    if not args.quiet:
        mlp, ds = cfg.mlp, cfg.dataset
        sizes = "-".join(str(n) for n in mlp.layer_sizes)
        _print_report(
            f"trained a {sizes} {mlp.activation.value} MLP ({mlp.loss.value} loss) on "
            f"{ds.n_samples} samples of {ds.n_classes} classes (data.kind = "
            f"'{cfg.data.get('kind')}') for {cfg.steps} steps in "
            f"{_seconds(result):.1f} s (seed {cfg.seed})",
            result,
            written,
        )
    return 0


@dataclasses.dataclass(frozen=True)
class _PreparedRun:
    """A validated configuration, where its result goes, and how."""

    config: Any
    config_path: Path
    overrides: dict[str, int]
    out: Path
    table_format: str


def _prepare_run(args: argparse.Namespace, load: Callable[..., Any]) -> _PreparedRun:
    """Load the configuration with the ``--steps``/``--seed`` overrides, and check
    the output folder and table format before anything runs."""
    config_path = Path(args.config)
    overrides = {
        name: getattr(args, name)
        for name in ("steps", "seed")
        if getattr(args, name) is not None
    }
    cfg = load(
        config_path, overrides={f"run.{name}": v for name, v in overrides.items()}
    )
    out = Path(args.out) if args.out else Path(f"simnet-{config_path.stem}")
    _check_output_dir(out, out / "metadata.json")
    return _PreparedRun(cfg, config_path, overrides, out, _table_format(args.format))


def _progress(args: argparse.Namespace) -> bool | None:
    """No progress bar with ``--quiet``; else one on a terminal."""
    return False if args.quiet else None


def _seconds(result: RunResult) -> float:
    return float(result.metadata.get("seconds_total", float("nan")))


def _save_run(
    result: RunResult, run: _PreparedRun, args: argparse.Namespace
) -> list[tuple[str, str]]:
    """Save the result, a copy of the configuration (with a note on the overrides)
    and the figures; return what was written, for :func:`_print_written`."""
    out = run.out
    result.save(out, format=run.table_format)
    text = run.config_path.read_text(encoding="utf-8")
    if run.overrides:
        given = " ".join(f"--{k} {v}" for k, v in run.overrides.items())
        text = (
            f"# simnet {args.command} ran this configuration with {given}; these "
            "command-line values override the ones below.\n" + text
        )
    atomic_write_text(out / "config.toml", text)
    plots = [] if args.no_plots else _write_plots(result, out / "plots")
    return [
        (str(out), f"result (tables: {_table_names(out)})"),
        (str(out / "config.toml"), "configuration"),
        *_plot_entries(plots, args.no_plots),
    ]


def _print_report(
    headline: str, result: RunResult, written: list[tuple[str, str]]
) -> None:
    print(headline)
    for line in _metric_lines(result):
        print("  " + line)
    _print_written(written)


def _table_format(value: str) -> str:
    """``auto`` unless asked; a missing pyarrow for ``parquet`` is a one-line error."""
    if (
        value == TableFormat.PARQUET.value
        and importlib.util.find_spec("pyarrow") is None
    ):
        raise _CommandError(
            "--format parquet needs pyarrow: pip install 'simnet[parquet]', or use "
            "--format csv"
        )
    return value


class _CommandError(SimnetError):
    """A path or option given on the command line cannot be used."""


def _check_output_dir(out: Path, marker: Path) -> None:
    """Refuse to write into a folder that is neither empty nor an earlier result."""
    if out.exists() and not out.is_dir():
        raise _CommandError(f"output path '{out}' exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not marker.is_file():
        raise _CommandError(
            f"output folder '{out}' is not empty and holds no simnet result; "
            "choose another --out or empty it"
        )


def _write_plots(result: RunResult, directory: Path) -> list[Path] | str:
    """PNG figures through :func:`simnet.plotting.plot_run`, or why there are none."""
    if importlib.util.find_spec("matplotlib") is None:
        return "skipped: matplotlib is not installed (pip install 'simnet[plot]')"
    try:
        from ..plotting import plot_run
    except ImportError as exc:
        return f"skipped: {exc}"
    try:
        return plot_run(result, directory)
    except SimnetError as exc:  # the result is saved already: warn, do not fail
        _warn(f"figures not written: {exc}")
        return f"failed: {exc}"


def _plot_entries(plots: list[Path] | str, disabled: bool) -> list[tuple[str, str]]:
    if disabled:
        return []
    if isinstance(plots, str):
        return [("figures", plots)]
    return [(str(path), "figure") for path in plots]


def _table_names(out: Path) -> str:
    files = sorted((out / "tables").glob("*.*"))
    if not files:
        return "none"
    return f"{', '.join(f.stem for f in files)} as {files[0].suffix.lstrip('.')}"


def _print_written(entries: list[tuple[str, str]]) -> None:
    print("wrote:")
    width = max((len(path) for path, _ in entries), default=0)
    for path, what in entries:
        print(f"  {path:<{width}}  {what}")


def _metrics_wide(result: RunResult) -> pd.DataFrame:
    """The metrics table with one row per step and one column per observable."""
    metrics = result.tables.get("metrics")
    if metrics is None or metrics.empty:
        return pd.DataFrame()
    wide = metrics.pivot(index="step", columns="observable", values="value")
    wide.columns.name = None
    return wide.sort_index()


def _metric_lines(result: RunResult) -> list[str]:
    wide = _metrics_wide(result)
    lines = []
    for column, label, fmt in (
        ("loss", "training loss", ".4g"),
        ("accuracy", "training accuracy", ".3f"),
        ("intra_inter_ratio", "intra/inter impact ratio", ".3g"),
    ):
        if column in wide:
            first, last = wide[column].iloc[0], wide[column].iloc[-1]
            lines.append(
                f"{label:<25} {first:{fmt}} at step {wide.index[0]} -> "
                f"{last:{fmt}} at step {wide.index[-1]}"
            )
    return lines


# ---------------------------------------------------------------------- hierarchy
def _load_hierarchy(spec: str) -> Hierarchy:
    path = Path(spec)
    if path.exists():
        return Hierarchy.load(path)
    if spec in PRESETS:
        return Hierarchy.preset(spec)
    raise _CommandError(
        f"no hierarchy file or preset named '{spec}'; presets: {', '.join(PRESETS)}"
    )


def _run_hierarchy_show(args: argparse.Namespace) -> int:
    hierarchy = _load_hierarchy(args.hierarchy)
    print(hierarchy.render())
    print()
    print("LCA depth (depth of the deepest common ancestor of two classes):")
    print(_format_matrix(hierarchy.classes, hierarchy.lca_depth_matrix()))
    return 0


def _format_matrix(names: Sequence[str], matrix: np.ndarray) -> str:
    """A labelled integer matrix; columns named by class if it fits in 100 columns."""
    label = max(len(n) for n in names)
    cells = [str(v) for v in matrix.ravel()]
    by_name = label + len(names) * (max(map(len, [*names, *cells])) + 1) <= 100
    headers = list(names) if by_name else [str(j) for j in range(len(names))]
    width = max(map(len, [*headers, *cells]))
    rows = [" " * label + "".join(f" {h:>{width}}" for h in headers)]
    for j, name in enumerate(names):
        rows.append(f"{name:<{label}}" + "".join(f" {v:>{width}}" for v in matrix[j]))
    if not by_name:
        rows.append("(columns are classes in row order, numbered from 0)")
    return "\n".join(rows)


def _run_hierarchy_validate(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.is_dir():
        raise _CommandError(f"'{path}' is a folder, not a hierarchy file")
    hierarchy = Hierarchy.load(path)
    kind = "tree" if hierarchy.is_tree else "DAG"
    print(
        f"ok: {hierarchy.n_classes} classes, {hierarchy.n_nodes} nodes, "
        f"depth {hierarchy.max_depth} ({kind})"
    )
    return 0


# ---------------------------------------------------------------------- demo
def _run_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _check_output_dir(out, out / "result" / "metadata.json")
    text = demo_config_text(steps=args.steps, seed=args.seed)
    cfg: RunConfig = config_from_mapping(tomllib.loads(text))
    if not args.quiet:
        print(
            f"simnet demo: HFS model on the CIFAR-10 class tree, {cfg.steps} SGD "
            f"steps, {cfg.model.n_samples} samples (first run compiles the kernels)"
        )
    started = time.perf_counter()
    result = cfg.simulate(progress=_progress(args))
    seconds = time.perf_counter() - started

    result.save(out / "result")
    atomic_write_text(out / "config.toml", text)
    curve = result.table("elasticity_curve")
    curve_csv = curve[["step", "lca_depth", "same_class", "mean_impact"]]
    atomic_write(
        out / "elasticity_curve.csv", lambda p: curve_csv.to_csv(p, index=False)
    )
    wide = _metrics_wide(result).reset_index()
    atomic_write(out / "metrics.csv", lambda p: wide.to_csv(p, index=False))
    plots = [] if args.no_plots else _write_plots(result, out / "plots")

    if not args.quiet:
        print(f"done in {seconds:.1f} s\n")
        print(_format_curve(curve))
        print()
        for line in _metric_lines(result):
            print(line)
        print()
        _print_written(
            [
                (str(out / "config.toml"), "the configuration (simnet simulate it)"),
                (str(out / "result"), "full result (simnet.RunResult.load)"),
                (str(out / "elasticity_curve.csv"), "mean impact by LCA depth, step"),
                (str(out / "metrics.csv"), "loss, accuracy, impact ratio... by step"),
                *_plot_entries(plots, args.no_plots),
            ]
        )
    return 0


def _format_curve(curve: pd.DataFrame) -> str:
    """The elasticity curve at the first and last recorded steps, side by side."""
    first, last = int(curve["step"].min()), int(curve["step"].max())
    keys = ["same_class", "lca_depth"]
    start = curve[curve["step"] == first].set_index(keys)["mean_impact"]
    end = curve[curve["step"] == last].set_index(keys)["mean_impact"]
    head_first, head_last = f"step {first}", f"step {last}"
    width = max(len(head_first), len(head_last), 8)
    lines = [
        "Elasticity curve: mean impact of an SGD step on one class on another,",
        "by the depth of their lowest common ancestor (0 = only the root shared;",
        "for a class and itself the ancestor is the class, at its own depth).",
        "",
        f"  {'pair':<12}{'LCA depth':>10}  {head_first:>{width}}  {head_last:>{width}}",
    ]
    for same, depth in sorted(end.index, key=lambda key: (bool(key[0]), int(key[1]))):
        pair = "same class" if same else "two classes"
        before = start.get((same, depth), float("nan"))
        lines.append(
            f"  {pair:<12}{int(depth):>10}  {before:>{width}.4f}  "
            f"{end[(same, depth)]:>{width}.4f}"
        )
    return "\n".join(lines)
