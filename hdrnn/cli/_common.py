"""What the ``hdrnn`` commands share: data and model arguments, loading data and models."""

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hdrnn import datasets
from hdrnn.exceptions import ModelFileError, UnsafeModelError
from hdrnn.persistence import load_with_metadata
from hdrnn.pretrained import load_pretrained, pretrained_models

# Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells use.
EXIT_INTERRUPTED = 130

# Epochs a command trains for when not told: MLPClassifier's 200 on the small
# digits, 20 on MNIST (about 97.8%).
DEFAULT_EPOCHS = {"digits": 200, "mnist": 20}

DATASET_NAMES = {"digits": "scikit-learn's 8x8 digits", "mnist": "MNIST"}

# Held out from scikit-learn's 1797 digits for testing, stratified.
DIGITS_TEST_SIZE = 0.25


def parse_hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 128,64; got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; got {text!r}")
    return sizes


def at_least(minimum):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    return parse


def add_epochs_argument(command):
    """``--epochs N`` (at least 1; None when not given), its defaults named in its help."""
    defaults = ", ".join(f"{epochs} for {name}" for name, epochs in DEFAULT_EPOCHS.items())
    command.add_argument("--epochs", type=at_least(1), help=f"maximum epochs (default: {defaults})")


def parse_dropout(text):
    try:
        rates = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a rate such as 0.2, or one per hidden layer such as 0.2,0.1; got {text!r}"
        ) from None
    if any(not 0 <= rate < 1 for rate in rates):
        raise argparse.ArgumentTypeError(f"dropout rates must be in [0, 1); got {text!r}")
    return rates[0] if len(rates) == 1 else rates


def add_data_arguments(command, default_dataset="digits", default_help=None):
    """``--dataset`` and ``--data-dir``; ``default_help`` says what no ``--dataset`` means."""
    data = command.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=["digits", "mnist"],
        default=default_dataset,
        help="digits: scikit-learn's bundled 8x8 digits (offline, seconds); "
        "mnist: 70 000 28x28 digits (IDX folder, cache, or a one-time ~15 MB download)"
        + (f"; {default_help}" if default_help else ""),
    )
    data.add_argument(
        "--data-dir", type=Path, help="folder with the MNIST IDX files (else HDRNN_MNIST_DIR)"
    )


def add_model_argument(command, required=True):
    command.add_argument("--model", type=Path, required=required, help="a saved model file")
    command.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load joblib/pickle files (unpickling runs code: only for files you trust)",
    )


def load_dataset(name, data_dir, seed, *, download_if_missing=True):
    """Return ``(X_train, X_test, y_train, y_test, description)``."""
    if name == "mnist":
        mnist = datasets.load_mnist(source=data_dir, download_if_missing=download_if_missing)
        n = mnist.n_train
        X, y = mnist.data, mnist.target
        return X[:n], X[n:], y[:n], y[n:], f"MNIST from {mnist.source}"
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel values 0-16 scaled to [0, 1]
    split = train_test_split(X, y, test_size=DIGITS_TEST_SIZE, random_state=seed, stratify=y)
    return (*split, "scikit-learn's 8x8 digits")


def add_default_model_argument(command):
    """``--model``, optional: without it the command uses the shipped model."""
    command.add_argument(
        "--model",
        type=Path,
        help="a saved model file (default: the shipped model, hdrnn info --pretrained)",
    )
    command.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load joblib/pickle files (unpickling runs code: only for files you trust)",
    )


def load_model_or_shipped(path, trust_pickle):
    """``(model, metadata, name)`` of ``path``, or of the shipped model (said on stderr)."""
    if path is not None:
        return (*load_model(path, trust_pickle), str(path))
    model, metadata = load_pretrained(with_metadata=True)
    card = pretrained_models()["mnist"]
    print(
        f"hdrnn: using the shipped model mnist ({card.architecture}, "
        f"{card.accuracy['mnist_test']:.2%} on MNIST test); --model PATH uses another",
        file=sys.stderr,
    )
    return model, metadata, "the shipped model mnist"


def load_model(path, trust_pickle):
    """Return ``(model, metadata)``; metadata is empty for a trusted pickle."""
    try:
        return load_with_metadata(path)
    except UnsafeModelError:
        if not trust_pickle:
            raise
    return _trusted_pickle(path), {}


def _trusted_pickle(path):
    """The fitted classifier in a pickle the user trusts, or a ModelFileError saying why not."""
    try:
        model = joblib.load(path)
    except Exception as error:
        # A damaged pickle fails however its bytes lead the unpickler (KeyError,
        # UnpicklingError, EOFError, AttributeError...): say so, not a traceback.
        raise ModelFileError(
            f"{path} could not be unpickled ({type(error).__name__}: {error}): the file is "
            "damaged, or was written by versions of its libraries that this one cannot "
            "read. Save the model again (hdrnn.save makes a file any version can check)."
        ) from error
    if not (hasattr(model, "predict_proba") and hasattr(model, "classes_")):
        raise ModelFileError(
            f"{path} holds a {type(model).__name__}, not a fitted classifier (a model with "
            "predict_proba and classes_, such as a fitted DigitMLPClassifier)."
        )
    return model
