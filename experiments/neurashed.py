"""Neurashed (Su 2021) in the HFS model: local elasticity, implicit regularisation
and compression.

A thin wrapper around :mod:`simnet.reproduce.neurashed` (same as
``simnet reproduce neurashed``); the protocol, the deviations from the paper and
the run times are in that module's docstring. Writes CSV tables, PNG figures under
``figures/``, ``summary.md`` (measured numbers next to the paper's claims) and
``run.json`` into ``--out``.

Run: ``python experiments/neurashed.py`` (under a minute on 2 cores; ``--quick``:
about 10 s).
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce neurashed`` with this script's arguments."""
    return script_main("neurashed", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
