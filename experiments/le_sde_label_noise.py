"""Label corruption: validation curves and tail indices (LE-SDE paper, Fig. 4).

A thin script over :mod:`simnet.reproduce.le_sde_label_noise`, which holds the
protocol, the measurements and the summary; ``simnet reproduce le-sde-label-noise
--out DIR`` runs the same. Run from the repository root:
``python experiments/le_sde_label_noise.py [--quick] [--seed N] [--out DIR]``
(default ``--out experiments/out/le_sde_label_noise``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce le-sde-label-noise`` with this script's arguments."""
    return script_main("le-sde-label-noise", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
