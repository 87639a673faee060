"""LE-ODE solutions against the network's class-0 mean logits (LE-SDE paper, Fig. 5).

A thin script over :mod:`simnet.reproduce.le_sde_ode`, which holds the
protocol, the measurements and the summary; ``simnet reproduce le-sde-ode
--out DIR`` runs the same. Run from the repository root:
``python experiments/le_sde_ode.py [--quick] [--seed N] [--out DIR]``
(default ``--out experiments/out/le_sde_ode``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce le-sde-ode`` with this script's arguments."""
    return script_main("le-sde-ode", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
