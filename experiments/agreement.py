"""Simulator vs network agreement (issue 4): ``simnet reproduce agreement``.

Run: ``python experiments/agreement.py [--quick] [--out DIR] [--seed N]`` (about 2
minutes; ``--quick``: under a minute). The protocol is in
:mod:`simnet.reproduce.agreement`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from simnet.reproduce import agreement


def main() -> None:
    parser = argparse.ArgumentParser(description=agreement.TITLE)
    parser.add_argument("--quick", action="store_true", help="small, under a minute")
    parser.add_argument(
        "--out", type=Path, default=Path("experiments/out") / agreement.NAME
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    agreement.run(args.out, quick=args.quick, seed=args.seed)
    print((args.out / "summary.md").read_text())


if __name__ == "__main__":
    main()
