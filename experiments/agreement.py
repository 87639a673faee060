"""Simulator vs network agreement (issue 4): ``simnet reproduce agreement``.

Run: ``python experiments/agreement.py [--quick] [--out DIR] [--seed N]`` (about 2
minutes; ``--quick``: under a minute). The protocol is in
:mod:`simnet.reproduce.agreement`.
"""

from __future__ import annotations

import sys

from simnet.reproduce import script_main


def main(argv: list[str] | None = None) -> dict:
    """Run ``simnet reproduce agreement`` with this script's arguments."""
    return script_main("agreement", argv)


if __name__ == "__main__":
    main(sys.argv[1:])
