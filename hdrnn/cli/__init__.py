"""The ``hdrnn`` command line: train, search, evaluate, predict, read, inspect, serve, export.

One module per command (:mod:`~hdrnn.cli.train`, :mod:`~hdrnn.cli.evaluate`,
:mod:`~hdrnn.cli.predict`, :mod:`~hdrnn.cli.read`, :mod:`~hdrnn.cli.info`, :mod:`~hdrnn.cli.search`,
:mod:`~hdrnn.cli.serve`, :mod:`~hdrnn.cli.export`), each adding its options
and running it. ``main(argv)`` returns the process exit code (0 success, 1
failure, 2 usage error, 130 interrupted), so it can be tested in-process; it
never raises ``SystemExit``.

The top layer: it may import any part of hdrnn, and nothing imports it but
``python -m hdrnn``. Commands do not import each other; what they share
(options, constants, output) lives in ``_common`` and ``_output``.
"""

import argparse
import os
import sys

from hdrnn._version import __version__
from hdrnn.cli import evaluate, export, info, predict, read, search, serve, train
from hdrnn.cli._common import EXIT_INTERRUPTED
from hdrnn.cli._output import format_confusion_matrix

__all__ = ["EXIT_INTERRUPTED", "build_parser", "format_confusion_matrix", "main"]

# Errors that are the user's situation, not a bug: one line, exit code 1.
# (Dataset, model-file and divergence errors are ValueErrors or OSErrors.)
_EXPECTED_ERRORS = (OSError, ImportError, ValueError)


def build_parser():
    """Return the argument parser of the ``hdrnn`` command."""
    parser = argparse.ArgumentParser(
        prog="hdrnn",
        description="Handwritten-digit recognition with a NumPy multilayer perceptron.",
    )
    parser.add_argument("--version", action="version", version=f"hdrnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, evaluate, predict, read, info, search, serve, export):
        command.register(commands)
    return parser


def main(argv=None):
    """Run the ``hdrnn`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    exit_code : int
        0 on success (and for ``--help``), 1 on failure, 2 for a usage error
        (after argparse's message), 130 when interrupted with Ctrl-C.
    """
    try:
        args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exit_:  # --help, --version or a usage error
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print("\nhdrnn: interrupted; nothing was saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `hdrnn evaluate ... | head`: the reader left
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the exit flush does not fail too
        return 1
    except _EXPECTED_ERRORS as error:
        print(f"hdrnn: error: {error}", file=sys.stderr)
        return 1
