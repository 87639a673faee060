"""An MLP's class-level impact recovers the class tree; fitted HFS alongside.

A thin script over :mod:`simnet.reproduce.hierarchy_recovery`, which holds the
protocol, the measurements and the summary; ``simnet reproduce hierarchy-recovery
--out DIR`` runs the same. Run from the repository root: ``python
experiments/hierarchy_recovery.py [--quick] [--seed N] [--out DIR]`` (default
``--out experiments/out/hierarchy_recovery``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simnet.reproduce import hierarchy_recovery as reproduction


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, run the reproduction, print its summary."""
    parser = argparse.ArgumentParser(description=reproduction.TITLE)
    parser.add_argument(
        "--out", type=Path, default=Path("experiments/out/hierarchy_recovery")
    )
    parser.add_argument(
        "--quick", action="store_true", help="the reduced protocol (under a minute)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = reproduction.run(args.out, quick=args.quick, seed=args.seed)
    print((args.out / "summary.md").read_text(encoding="utf-8"), end="")
    return results


if __name__ == "__main__":
    main()
