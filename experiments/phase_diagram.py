"""Phase diagram of the LE-SDE: P(separable) and final NC1 over (alpha, beta).

A thin script over :mod:`simnet.reproduce.phase_diagram`, which holds the protocol,
the measurements and the summary; ``simnet reproduce phase-diagram --out DIR`` runs
the same. Run from the repository root: ``python experiments/phase_diagram.py
[--quick] [--seed N] [--out DIR]`` (default ``--out
experiments/out/phase_diagram``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from simnet.reproduce import phase_diagram as reproduction


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse the arguments, run the reproduction, print its summary."""
    parser = argparse.ArgumentParser(description=reproduction.TITLE)
    parser.add_argument(
        "--out", type=Path, default=Path("experiments/out/phase_diagram")
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
