"""He & Su's local-elasticity clustering of two digits, ReLU vs linear nets.

A thin script over :mod:`simnet.reproduce.he_su_clustering`, which holds the
protocol, the measurements and the summary; ``simnet reproduce he-su-clustering
--out DIR`` runs the same. Run from the repository root: ``python
experiments/he_su_clustering.py [--quick] [--seed N] [--out DIR]`` (default ``--out
experiments/out/he_su_clustering``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce he-su-clustering`` with this script's arguments."""
    return script_main("he-su-clustering", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
