"""He & Su's synthetic study: S_rel decays with geodesic distance (ReLU only).

A thin script over :mod:`simnet.reproduce.he_su_torus`, which holds the protocol,
the measurements and the summary; ``simnet reproduce he-su-torus --out DIR`` runs
the same. Run from the repository root: ``python experiments/he_su_torus.py
[--quick] [--seed N] [--out DIR]`` (default ``--out experiments/out/he_su_torus``).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce he-su-torus`` with this script's arguments."""
    return script_main("he-su-torus", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
