"""``simnet compare NETWORK_RUN_DIR --out DIR``: fit the simulator to a network run,
simulate it and report the agreement (:func:`simnet.analysis.agreement`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..analysis.agreement import agreement
from ..analysis.fitting import FitMethod
from ..analysis.network_run import NetworkRun
from ..errors import ConfigError
from ..hierarchy import Hierarchy

__all__ = ["MODEL_CHOICES", "add_compare_parser", "run_compare_command"]

MODEL_CHOICES: dict[str, tuple[FitMethod, ...]] = {
    "lesde": (FitMethod.LESDE_RATES, FitMethod.LESDE_IMPACT),
    "hfs": (FitMethod.HFS,),
    "all": (
        FitMethod.LESDE_RATES,
        FitMethod.LESDE_IMPACT,
        FitMethod.HFS,
        FitMethod.HFS_INFERRED,
    ),
    **{m.value: (m,) for m in FitMethod},
}


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def add_compare_parser(commands: Any) -> argparse.ArgumentParser:
    """Register ``simnet compare`` on the sub-command parsers."""
    cmp = commands.add_parser(
        "compare",
        help="fit the simulator to a network run and report the agreement",
        description=(
            "Fit the simulator to a network run (the output directory of "
            "'simnet mlp'), simulate the fitted models from the network's initial "
            "class-mean logits, and compare them with the network on the fitted "
            "segment and the held-out rest: class-mean logit R^2, loss and accuracy "
            "curves, the impact matrix (Pearson/Spearman), elasticity curves and "
            "separation onset. Writes agreement.csv, agreement.md, parameters.csv "
            "and PNG figures."
        ),
    )
    cmp.add_argument(
        "run_dir",
        metavar="NETWORK_RUN_DIR",
        type=Path,
        help="a network run directory (the output of 'simnet mlp')",
    )
    cmp.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="output directory"
    )
    cmp.add_argument(
        "--model",
        default="all",
        choices=list(MODEL_CHOICES),
        help=(
            "which fits: 'lesde' (rates and impact matrix), 'hfs', or 'all' "
            "(default), or one method by name"
        ),
    )
    cmp.add_argument(
        "--fit-fraction",
        metavar="F",
        type=_fraction,
        default=0.5,
        help="fit on this fraction of training time, hold out the rest "
        "(default 0.5; 1 fits everything)",
    )
    cmp.add_argument(
        "--hierarchy",
        metavar="FILE|infer",
        default=None,
        help="hierarchy of the HFS fit: a .json/.gml file or 'infer' (default: the "
        "run's own hierarchy, else inferred from the network's elasticity)",
    )
    cmp.add_argument(
        "--replicas",
        metavar="N",
        type=_positive_int,
        default=4,
        help="simulations per fitted model (default 4)",
    )
    cmp.add_argument(
        "--seed", metavar="N", type=int, default=0, help="seed (default 0)"
    )
    cmp.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing but errors"
    )
    cmp.add_argument("--no-plots", action="store_true", help="do not write PNG figures")
    cmp.set_defaults(handler=run_compare_command)
    return cmp


def run_compare_command(args: argparse.Namespace) -> int:
    """Run ``simnet compare``; return the exit status."""
    if not args.run_dir.is_dir():
        raise ConfigError(f"The network run directory {args.run_dir} does not exist.")
    if args.seed < 0:
        raise ConfigError(f"The '--seed' option must be >= 0. Got {args.seed}.")
    hierarchy: Hierarchy | str | None = None
    if args.hierarchy is not None:
        hierarchy = (
            "infer" if args.hierarchy == "infer" else Hierarchy.load(args.hierarchy)
        )
    network = NetworkRun.load(args.run_dir)
    methods = MODEL_CHOICES[args.model]
    if network.impact.shape[0] < 2:
        kept = tuple(m for m in methods if m is FitMethod.LESDE_RATES)
        if not kept:
            raise ConfigError(
                f"The run in {args.run_dir} has no 'impact' table; only "
                "'--model lesde-rates' can be fitted to it."
            )
        methods = kept
    result = agreement(
        network,
        methods=methods,
        fit_fraction=args.fit_fraction,
        hierarchy=hierarchy,
        replicas=args.replicas,
        seed=args.seed,
    )
    written = result.write(args.out, figures=not args.no_plots)
    if not args.quiet:
        _print_headline(result)
        print(f"wrote {len(written)} files to {args.out}/", file=sys.stdout)
    return 0


_HEADLINE = (
    ("class_means", "r2_pooled"),
    ("impact", "spearman_offdiag_late"),
    ("impact", "pearson_offdiag_late"),
    ("loss", "r2"),
)


def _print_headline(result: Any) -> None:
    fig = result.figures
    head = fig[(fig["class"] == "") & fig["step"].isna() & fig["coordinate"].isna()]
    segments = list(dict.fromkeys(head["segment"]))
    print("model            " + "".join(f"{q}:{s}".ljust(30) for q, s in _HEADLINE))
    for model in dict.fromkeys(head["model"]):
        for segment in segments:
            cells = []
            for quantity, statistic in _HEADLINE:
                rows = head[
                    (head["model"] == model)
                    & (head["segment"] == segment)
                    & (head["quantity"] == quantity)
                    & (head["statistic"] == statistic)
                ]
                value = rows["value"].iloc[0] if len(rows) else float("nan")
                cells.append(f"{value:.3f}".ljust(30))
            print(f"{model} [{segment}]".ljust(17) + "".join(cells))
