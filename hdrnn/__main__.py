"""``python -m hdrnn``: the command-line interface."""

import sys

from hdrnn.cli import main

if __name__ == "__main__":
    sys.exit(main())
