"""``python -m streamstack.bench``: the command line of streamstack/bench/cli.py."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
