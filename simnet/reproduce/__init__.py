"""Paper reproductions: one module per result, run by ``simnet reproduce NAME``.

Every module ``simnet.reproduce.<module>`` defines

* ``NAME`` (the command-line name, e.g. ``"he-su-torus"``), ``TITLE`` (one line) and
  ``PAPER`` (the paper and figure or table it reproduces);
* ``run(out, *, quick=False, seed=0) -> dict`` which writes into the directory
  ``out``: CSV tables, PNG figures under ``figures/`` (when matplotlib is installed)
  and ``summary.md`` with the measured figures next to the paper's, and returns the
  headline numbers. ``quick=True`` finishes in under a minute on 2 cores.

The scripts in the repository's ``experiments/`` folder are thin wrappers around
these modules, so a non-editable install (``pip install "simnet[all]"``) runs every
reproduction with ``simnet reproduce NAME --out DIR``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigError

__all__ = ["EXPERIMENTS", "experiment", "names", "script_main"]

#: Command-line name -> module in this package, in the order the guide shows them.
EXPERIMENTS: dict[str, str] = {
    "he-su-torus": "he_su_torus",
    "he-su-clustering": "he_su_clustering",
    "le-sde-separation": "le_sde_separation",
    "le-sde-impacts": "le_sde_impacts",
    "le-sde-label-noise": "le_sde_label_noise",
    "le-sde-ode": "le_sde_ode",
    "neurashed": "neurashed",
    "stability": "stability",
    "hierarchy-recovery": "hierarchy_recovery",
    "agreement": "agreement",
    "hfs-elasticity-curves": "hfs_elasticity_curves",
    "phase-diagram": "phase_diagram",
}


def names() -> list[str]:
    """The reproduction names, in order."""
    return list(EXPERIMENTS)


def experiment(name: str) -> ModuleType:
    """The module of reproduction ``name``.

    Raises
    ------
    ConfigError
        If ``name`` is not a reproduction (the message lists them).
    """
    if name not in EXPERIMENTS:
        raise ConfigError(
            f"unknown reproduction {name!r}; choose one of: {', '.join(EXPERIMENTS)}"
        )
    return importlib.import_module(f"{__name__}.{EXPERIMENTS[name]}")


def script_main(name: str, argv: Sequence[str] | None = None) -> dict[str, Any]:
    """The command line of the scripts in ``experiments/``: run reproduction
    ``name`` with ``--out`` (default ``experiments/out/<module>``), ``--quick`` and
    ``--seed``, print its ``summary.md`` and return its results."""
    module = experiment(name)
    parser = argparse.ArgumentParser(description=module.TITLE)
    parser.add_argument(
        "--out", type=Path, default=Path("experiments/out") / EXPERIMENTS[name]
    )
    parser.add_argument(
        "--quick", action="store_true", help="the reduced protocol (under a minute)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = module.run(args.out, quick=args.quick, seed=args.seed)
    print((args.out / "summary.md").read_text(encoding="utf-8"), end="")
    return results
