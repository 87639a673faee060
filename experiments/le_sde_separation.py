"""Separation of the class-mean logits during training (LE-SDE paper, Fig. 1a,b).

A thin script over :mod:`simnet.reproduce.le_sde_separation`, which holds the
protocol, the measurements and the summary; ``simnet reproduce le-sde-separation
--out DIR`` runs the same. Run from the repository root:
``python experiments/le_sde_separation.py [--quick] [--seed N] [--out DIR]``
(default ``--out experiments/out/le_sde_separation``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce le-sde-separation`` with this script's arguments."""
    return script_main("le-sde-separation", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
