"""Phase diagram of the LE-SDE: P(separable) and final NC1 over (alpha, beta).

A thin script over :mod:`simnet.reproduce.phase_diagram`, which holds the protocol,
the measurements and the summary; ``simnet reproduce phase-diagram --out DIR`` runs
the same. Run from the repository root: ``python experiments/phase_diagram.py
[--quick] [--seed N] [--out DIR]`` (default ``--out
experiments/out/phase_diagram``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce phase-diagram`` with this script's arguments."""
    return script_main("phase-diagram", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
