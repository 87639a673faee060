"""An MLP's class-level impact recovers the class tree; fitted HFS alongside.

A thin script over :mod:`simnet.reproduce.hierarchy_recovery`, which holds the
protocol, the measurements and the summary; ``simnet reproduce hierarchy-recovery
--out DIR`` runs the same. Run from the repository root: ``python
experiments/hierarchy_recovery.py [--quick] [--seed N] [--out DIR]`` (default
``--out experiments/out/hierarchy_recovery``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce hierarchy-recovery`` with this script's arguments."""
    return script_main("hierarchy-recovery", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
