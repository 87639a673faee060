"""``python -m simnet``: the same as the ``simnet`` command."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
