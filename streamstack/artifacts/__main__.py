"""``python -m streamstack.artifacts``: the command line of streamstack/artifacts/cli.py."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
