"""Local elasticity along the CIFAR-10 class tree in the HFS model.

A thin script over :mod:`simnet.reproduce.hfs_elasticity_curves`, which holds the
protocol, the measurements and the summary; ``simnet reproduce hfs-elasticity-curves
--out DIR`` runs the same. Run from the repository root: ``python
experiments/hfs_elasticity_curves.py [--quick] [--seed N] [--out DIR]`` (default
``--out experiments/out/hfs_elasticity_curves``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce hfs-elasticity-curves`` with this script's arguments."""
    return script_main("hfs-elasticity-curves", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
