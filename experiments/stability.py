"""Locally elastic stability on the CIFAR-10 tree: same class vs distant class.

A thin script over :mod:`simnet.reproduce.stability`, which holds the protocol, the
measurements and the summary; ``simnet reproduce stability --out DIR`` runs the
same. Run from the repository root: ``python experiments/stability.py [--quick]
[--seed N] [--out DIR]`` (default ``--out experiments/out/stability``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce stability`` with this script's arguments."""
    return script_main("stability", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
