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

import argparse
from pathlib import Path

from simnet.reproduce import neurashed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out/neurashed"))
    parser.add_argument("--quick", action="store_true", help="reduced protocol")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    neurashed.run(args.out, quick=args.quick, seed=args.seed)
    print((args.out / "summary.md").read_text(encoding="utf-8"))


if __name__ == "__main__":
    main()
