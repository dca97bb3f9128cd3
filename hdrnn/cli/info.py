"""``hdrnn info``: describe a saved model, or this installation."""

import os
import platform
import sys
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.datasets import get_data_home
from threadpoolctl import threadpool_info

from hdrnn import datasets
from hdrnn._utils.model_facts import layer_units
from hdrnn._version import __version__
from hdrnn.cli._common import add_model_argument, load_model
from hdrnn.cli._output import printable
from hdrnn.nn import kernel_status
from hdrnn.pretrained import pretrained_models


def register(commands):
    """Add the ``info`` command to the subparsers ``commands``."""
    info = commands.add_parser(
        "info", help="describe a saved model, a shipped model, or this installation"
    )
    add_model_argument(info, required=False)
    info.add_argument(
        "--pretrained",
        nargs="?",
        const="mnist",
        metavar="NAME",
        help="print the card of a shipped model (default: mnist): how it was trained, on "
        "what, how accurate it is, its weaknesses and its weights' licence",
    )
    info.set_defaults(run=run)


def run(args):
    if args.pretrained is not None:
        return _card(args.pretrained)
    if args.model is not None:
        return _model_info(args)
    print(f"hdrnn {__version__} on Python {platform.python_version()} ({platform.platform()})")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}")
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            print(f"BLAS: {pool['internal_api']} {pool['version']}, {pool['num_threads']} threads")
    for extra, module in (("images", "PIL"), ("plot", "matplotlib"), ("fast", "numba")):
        try:
            __import__(module)
            state = "installed"
        except ImportError:
            state = f"not installed (pip install 'hdrnn[{extra}]')"
        if module == "numba":
            state += ", " + kernel_status()
        print(f"{module}: {state}")
    print("MNIST: " + _mnist_status())
    for name, card in pretrained_models().items():
        test_set, accuracy = next(iter(card.accuracy.items()))  # a card's headline figure
        print(f"shipped model {name}: {card.architecture}, {accuracy:.2%} on {test_set}")
    return 0


def _card(name):
    cards = pretrained_models()
    if name not in cards:
        print(
            f"hdrnn: no shipped model is called {printable(name)!r}; the shipped models "
            f"are {', '.join(cards)}",
            file=sys.stderr,
        )
        return 1
    print(cards[name].as_text())
    return 0


def _mnist_status():
    if os.environ.get("HDRNN_MNIST_DIR"):
        return f"IDX files from HDRNN_MNIST_DIR={os.environ['HDRNN_MNIST_DIR']}"
    cache = Path(get_data_home()) / "hdrnn" / datasets.CACHE_NAME
    if cache.exists():
        return f"cached at {cache}"
    return f"not on this machine yet; 'hdrnn train --dataset mnist' downloads it to {cache}"


def _model_info(args):
    model, metadata = load_model(args.model, args.trust_pickle)
    if not metadata:
        print(f"{args.model}: a pickled {type(model).__name__} (no metadata)")
        return 0
    shape = metadata["image_shape"]
    info = metadata["info"]
    loss = "no completed epoch" if model.loss_ is None else f"loss {model.loss_:.4f}"
    rows = [
        ("network", "-".join(map(str, layer_units(model))) + f", {model.activation} hidden units"),
        ("input", f"{shape[0]}x{shape[1]} images" if shape else "feature vectors"),
        ("solver", f"{model.solver}, {model.n_iter_} epochs, {loss}"),
        ("classes", printable(", ".join(map(str, metadata["classes"])), 400)),
        ("trained on", printable(info.get("dataset", "unknown data"))),
    ]
    if isinstance(info.get("preset"), str):
        rows.append(("preset", printable(info["preset"])))
    if isinstance(info.get("test_accuracy"), float):
        tested_on = printable(info.get("test_data", "its test data"))
        rows.append(("accuracy", f"{info['test_accuracy']:.2%} on {tested_on}"))
    if isinstance(info.get("drawings_taught"), int):
        source = printable(info.get("taught_from", "a model"))
        rows.append(
            ("taught", f"{info['drawings_taught']} drawing(s) with hdrnn serve, from {source}")
        )
    versions = metadata.get("versions")
    written_by = versions.get("hdrnn", "unknown") if isinstance(versions, dict) else "unknown"
    rows += [
        (
            "saved",
            printable(f"{metadata.get('created', 'at an unknown time')} by hdrnn {written_by}"),
        ),
        ("format", f"{metadata['format']} version {metadata['format_version']}, checksum OK"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:>{width}}: {value}")
    return 0
