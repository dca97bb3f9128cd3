"""The ``hdrnn`` command line: train a digit recogniser and report how well it does.

``main(argv)`` returns the process exit code, so it can be tested in-process.
"""

import argparse
import sys
import time

import numpy as np
from sklearn.metrics import accuracy_score, classification_report, confusion_matrix
from sklearn.model_selection import train_test_split

from hdrnn.estimator import DigitMLPClassifier


def _parse_hidden(text):
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes such as 128,64; got {text!r}"
        ) from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; got {text!r}")
    return sizes


def build_parser():
    """Return the argument parser of the ``hdrnn`` command."""
    parser = argparse.ArgumentParser(
        prog="hdrnn", description="Handwritten-digit recognition with a NumPy MLP."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a model and report test accuracy")
    train.add_argument(
        "--dataset",
        choices=["digits"],
        default="digits",
        help="digits: scikit-learn's bundled 8x8 digits (offline, seconds)",
    )
    train.add_argument("--hidden", type=_parse_hidden, default=(128, 64), help="e.g. 128,64")
    train.add_argument("--solver", choices=["adam", "sgd", "lbfgs"], default="adam")
    train.add_argument("--epochs", type=int, default=200, help="maximum epochs (max_iter)")
    train.add_argument("--batch-size", type=int, default=None, help="default: min(200, n)")
    train.add_argument("--learning-rate", type=float, default=0.001)
    train.add_argument("--alpha", type=float, default=0.0001, help="L2 penalty")
    train.add_argument("--early-stopping", action="store_true")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--verbose", action="store_true", help="print the loss of every epoch")
    return parser


def _load_digits_split(seed):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel values 0-16 scaled to [0, 1]
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def format_confusion_matrix(matrix, labels):
    """Return the confusion matrix as aligned text, true labels down, predicted across."""
    width = max(len(str(matrix.max())), max(len(str(label)) for label in labels), 3)
    header = " " * (width + 8) + " ".join(f"{label!s:>{width}}" for label in labels)
    lines = ["true \\ predicted", header]
    for label, row in zip(labels, matrix):
        lines.append(f"{label!s:>{width + 7}} " + " ".join(f"{n:>{width}}" for n in row))
    return "\n".join(lines)


def _train(args):
    X_train, X_test, y_train, y_test = _load_digits_split(args.seed)
    model = DigitMLPClassifier(
        hidden_layer_sizes=args.hidden,
        solver=args.solver,
        max_iter=args.epochs,
        batch_size="auto" if args.batch_size is None else args.batch_size,
        learning_rate_init=args.learning_rate,
        alpha=args.alpha,
        early_stopping=args.early_stopping,
        random_state=args.seed,
        verbose=args.verbose,
    )
    print(
        f"Training {model.hidden_layer_sizes} {args.solver} network on {args.dataset}: "
        f"{len(X_train)} training and {len(X_test)} test images of {X_train.shape[1]} pixels"
    )
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    y_pred = model.predict(X_test)
    print(f"Trained {model.n_iter_} epochs in {seconds:.1f} s, final loss {model.loss_:.4f}")
    print(f"\nTest accuracy: {accuracy_score(y_test, y_pred):.4f}\n")
    print(classification_report(y_test, y_pred, digits=3))
    print(format_confusion_matrix(confusion_matrix(y_test, y_pred), model.classes_))
    return 0


def main(argv=None):
    """Run the ``hdrnn`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    exit_code : int
        0 on success.
    """
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "train":
        return _train(args)
    return 2  # unreachable: argparse rejects unknown commands
