"""Estimated integrated impacts and rates over training (LE-SDE paper, Fig. 3a,b,e,f).

A thin script over :mod:`simnet.reproduce.le_sde_impacts`, which holds the
protocol, the measurements and the summary; ``simnet reproduce le-sde-impacts
--out DIR`` runs the same. Run from the repository root:
``python experiments/le_sde_impacts.py [--quick] [--seed N] [--out DIR]``
(default ``--out experiments/out/le_sde_impacts``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce le-sde-impacts`` with this script's arguments."""
    return script_main("le-sde-impacts", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
