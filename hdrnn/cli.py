"""The ``hdrnn`` command line: train, evaluate, predict your own images, inspect.

``main(argv)`` returns the process exit code (0 success, 1 failure, 2 usage
error, 130 interrupted), so it can be tested in-process; it never raises
``SystemExit``.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import scipy
import sklearn
from sklearn.datasets import get_data_home, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_info

from hdrnn import datasets
from hdrnn._cli_output import format_confusion_matrix, print_report
from hdrnn._files import check_writable_target
from hdrnn._version import __version__
from hdrnn.augmentation import default_image_shape
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.exceptions import UnsafeModelError
from hdrnn.nn import ACTIVATIONS, SCHEDULES, _kernels
from hdrnn.persistence import load_with_metadata, save
from hdrnn.preprocessing import describe_preparation, prepare_digit_image

__all__ = ["build_parser", "format_confusion_matrix", "main"]

# Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells use.
EXIT_INTERRUPTED = 130

# Held out from scikit-learn's 1797 digits for testing, stratified.
DIGITS_TEST_SIZE = 0.25

DEFAULT_EPOCHS = {"digits": 200, "mnist": 20}


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


def _parse_dropout(text):
    try:
        rates = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a rate such as 0.2, or one per hidden layer such as 0.2,0.1; got {text!r}"
        ) from None
    if any(not 0 <= rate < 1 for rate in rates):
        raise argparse.ArgumentTypeError(f"dropout rates must be in [0, 1); got {text!r}")
    return rates[0] if len(rates) == 1 else rates


def build_parser():
    """Return the argument parser of the ``hdrnn`` command."""
    parser = argparse.ArgumentParser(
        prog="hdrnn",
        description="Handwritten-digit recognition with a NumPy multilayer perceptron.",
    )
    parser.add_argument("--version", action="version", version=f"hdrnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train", help="train a model, report its test accuracy, optionally save it"
    )
    _add_data_arguments(train)
    model = train.add_argument_group("model and training")
    model.add_argument("--hidden", type=_parse_hidden, default=(128, 64), help="e.g. 128,64")
    model.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    model.add_argument("--init", choices=["glorot", "he"], default="glorot")
    model.add_argument("--solver", choices=["adam", "sgd", "lbfgs"], default="adam")
    model.add_argument(
        "--epochs", type=int, help="maximum epochs (default: 200 for digits, 20 for mnist)"
    )
    model.add_argument("--batch-size", type=int, help="default: min(200, n)")
    model.add_argument("--learning-rate", type=float, default=0.001)
    model.add_argument(
        "--schedule", choices=sorted(SCHEDULES), default="constant", help="learning-rate schedule"
    )
    model.add_argument("--warmup", type=int, default=0, help="epochs of learning-rate warm-up")
    model.add_argument("--alpha", type=float, default=0.0001, help="L2 penalty")
    model.add_argument("--dropout", type=_parse_dropout, default=0.0, help="e.g. 0.2")
    model.add_argument("--augment", choices=["shift", "affine", "elastic"])
    model.add_argument(
        "--early-stopping", action="store_true", help="hold out 10%% and stop when it stalls"
    )
    model.add_argument("--seed", type=int, default=0)
    train.add_argument("--save", metavar="PATH", type=Path, help="write the model here")
    train.add_argument(
        "--save-partial",
        metavar="PATH",
        type=Path,
        help="on Ctrl-C, write the model of the last completed epoch here",
    )
    train.add_argument("--quiet", action="store_true", help="no per-epoch progress")

    evaluate = commands.add_parser("evaluate", help="report a saved model's test accuracy")
    _add_model_argument(evaluate)
    _add_data_arguments(evaluate, default_dataset=None)
    evaluate.add_argument("--plot", metavar="FILE.png", type=Path, help="confusion matrix figure")

    predict = commands.add_parser("predict", help="recognise digits in image files")
    _add_model_argument(predict)
    predict.add_argument("images", nargs="+", metavar="IMAGE", type=Path)
    predict.add_argument("--top", type=int, default=1, help="show the K most likely digits")
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.add_argument(
        "--verbose", action="store_true", help="also say how each image was prepared"
    )

    info = commands.add_parser("info", help="describe a saved model, or this installation")
    _add_model_argument(info, required=False)
    return parser


def _add_data_arguments(command, default_dataset="digits"):
    data = command.add_argument_group("data")
    data.add_argument(
        "--dataset",
        choices=["digits", "mnist"],
        default=default_dataset,
        help="digits: scikit-learn's bundled 8x8 digits (offline, seconds); "
        "mnist: 70 000 28x28 digits (IDX folder, cache, or a one-time ~15 MB download)",
    )
    data.add_argument(
        "--data-dir", type=Path, help="folder with the MNIST IDX files (else HDRNN_MNIST_DIR)"
    )


def _add_model_argument(command, required=True):
    command.add_argument("--model", type=Path, required=required, help="a saved model file")
    command.add_argument(
        "--trust-pickle",
        action="store_true",
        help="also load joblib/pickle files (unpickling runs code: only for files you trust)",
    )


# ------------------------------------------------------------------- data


def _load_dataset(name, data_dir, seed):
    """Return ``(X_train, X_test, y_train, y_test, description)``."""
    if name == "mnist":
        mnist = datasets.load_mnist(source=data_dir)
        n = mnist.n_train
        X, y = mnist.data, mnist.target
        return X[:n], X[n:], y[:n], y[n:], f"MNIST from {mnist.source}"
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixel values 0-16 scaled to [0, 1]
    split = train_test_split(X, y, test_size=DIGITS_TEST_SIZE, random_state=seed, stratify=y)
    return (*split, "scikit-learn's 8x8 digits")


def _load_model(path, trust_pickle):
    """Return ``(model, metadata)``; metadata is empty for a trusted pickle."""
    try:
        return load_with_metadata(path)
    except UnsafeModelError:
        if not trust_pickle:
            raise
    return joblib.load(path), {}


# --------------------------------------------------------------- commands


def _train(args):
    # Where the model goes is checked first: training may take minutes.
    for target in (args.save, args.save_partial):
        if target is not None:
            check_writable_target(target)
    X_train, X_test, y_train, y_test, source = _load_dataset(args.dataset, args.data_dir, args.seed)
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    model = DigitMLPClassifier(
        hidden_layer_sizes=args.hidden,
        activation=args.activation,
        solver=args.solver,
        max_iter=epochs,
        batch_size="auto" if args.batch_size is None else args.batch_size,
        learning_rate=args.schedule,
        learning_rate_init=args.learning_rate,
        warmup_epochs=args.warmup,
        alpha=args.alpha,
        dropout=args.dropout,
        augment=args.augment,
        init=args.init,
        early_stopping=args.early_stopping,
        random_state=args.seed,
    )
    # One row per epoch: loss, validation score, time elapsed and left.
    model.set_params(verbose=not args.quiet)
    n_classes = len(np.unique(y_train))
    print(
        f"Training a {'-'.join(map(str, (X_train.shape[1], *args.hidden, n_classes)))} "
        f"network ({args.solver}) on {source}: {len(X_train)} training and "
        f"{len(X_test)} test images",
        flush=True,
    )
    info = {"dataset": args.dataset, "seed": args.seed, "test_size": DIGITS_TEST_SIZE}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            # The user chose the number of epochs: reaching it is not news.
            warnings.filterwarnings("ignore", "Stochastic Optimizer: Maximum", ConvergenceWarning)
            model.fit(X_train, y_train)
    except KeyboardInterrupt:
        return _interrupted(model, args.save_partial, info)
    for warning in caught:  # one line each, without Python's file and line
        print(f"hdrnn: warning: {warning.message}", file=sys.stderr)
    seconds = time.perf_counter() - start
    if args.save:  # first: a report cut short (e.g. piped into head) must not lose the model
        save(model, args.save, info=info)
    print(f"Trained {model.n_iter_} epochs in {seconds:.1f} s, final loss {model.loss_:.4f}")
    print_report(y_test, model.predict(X_test), model.classes_)
    if args.save:
        print(f"\nSaved the model to {args.save}")
    return 0


def _interrupted(model, save_partial, info):
    """Report a Ctrl-C during training; keep the last completed epoch if asked to."""
    done = getattr(model, "n_iter_", 0) if getattr(model, "interrupted_", False) else 0
    unit = "iteration" if model.solver == "lbfgs" else "epoch"
    if save_partial is not None and done:
        save(model, save_partial, info={**info, "interrupted_after": done})
        kept = f"saved the model of {unit} {done} to {save_partial}"
    elif save_partial is not None:
        kept = f"no {unit} was complete, so nothing was saved to {save_partial}"
    else:
        kept = "nothing was saved (--save-partial PATH keeps the last completed one)"
    print(f"\nhdrnn: interrupted after {done} completed {unit}(s); {kept}.", file=sys.stderr)
    return EXIT_INTERRUPTED


def _evaluate(args):
    model, metadata = _load_model(args.model, args.trust_pickle)
    info = metadata.get("info", {})
    dataset = args.dataset or info.get("dataset") or _guess_dataset(model)
    seed = info.get("seed", 0)
    _, X_test, _, y_test, source = _load_dataset(dataset, args.data_dir, seed)
    if model.n_features_in_ != X_test.shape[1]:
        raise ValueError(
            f"The model takes {model.n_features_in_} pixels but {dataset} images have "
            f"{X_test.shape[1]}; pass --dataset {_guess_dataset(model)}."
        )
    print(f"Evaluating {args.model} on the test split of {source} ({len(X_test)} images)")
    y_test = _labels_like(y_test, model.classes_)
    y_pred = model.predict(X_test)
    print_report(y_test, y_pred, model.classes_)
    if args.plot:
        _plot_confusion_matrix(y_test, y_pred, args.plot)
        print(f"\nWrote the confusion matrix figure to {args.plot}")
    return 0


def _labels_like(y_true, classes):
    """The true labels in the type of the model's classes, with a warning.

    A model fitted on OpenML's string labels ('0'...'9') compared with
    integer labels would otherwise score 0% however good it is.
    """
    if (classes.dtype.kind in "UO") == (y_true.dtype.kind in "UO"):
        return y_true
    try:
        converted = y_true.astype(classes.dtype)
    except ValueError:
        return y_true
    print(
        f"hdrnn: warning: the model's classes are {classes.dtype} ({classes[0].item()!r}, "
        f"...) but the test labels are {y_true.dtype}; comparing them as {classes.dtype}.",
        file=sys.stderr,
    )
    return converted


def _guess_dataset(model):
    return "digits" if model.n_features_in_ == 64 else "mnist"


def _plot_confusion_matrix(y_true, y_pred, path):
    try:
        import matplotlib
    except ImportError:
        raise ImportError(
            "--plot needs matplotlib: pip install 'hdrnn[plot]' (or pip install matplotlib)."
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    figure, axes = plt.subplots(figsize=(6, 6))
    ConfusionMatrixDisplay.from_predictions(y_true, y_pred, ax=axes, colorbar=False)
    axes.set_title("Confusion matrix (test split)")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)


def _predict(args):
    model, _ = _load_model(args.model, args.trust_pickle)
    shape = getattr(model, "image_shape_", None) or default_image_shape(model.n_features_in_)
    if shape is None:
        raise ValueError(
            f"The model takes {model.n_features_in_} features, not a square image; "
            "it cannot read image files."
        )
    top = max(1, min(args.top, len(model.classes_)))
    results, failures = [], 0
    for path in args.images:
        try:
            x = prepare_digit_image(path, shape)
        except ImportError:
            raise  # Pillow is missing: no file can be read
        except Exception as error:
            failures += 1
            message = (str(error).splitlines() or [type(error).__name__])[0]
            print(f"hdrnn: {path}: {message}", file=sys.stderr)
            results.append({"file": str(path), "error": message})
            continue
        proba = model.predict_proba(x.reshape(1, -1))[0]
        best = np.argsort(proba)[::-1][:top]
        ranked = [
            {"label": _plain(model.classes_[i]), "probability": float(proba[i])} for i in best
        ]
        results.append(
            {
                "file": str(path),
                "prediction": ranked[0]["label"],
                "probability": ranked[0]["probability"],
                "top": ranked,
            }
        )
        if not args.json:
            shown = ", ".join(f"{r['label']} ({r['probability']:.1%})" for r in ranked)
            print(f"{path}: {shown}")
            if args.verbose:
                print(f"  {describe_preparation(path, shape)}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failures else 0


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _info(args):
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
            state += ", " + _kernel_status()
        print(f"{module}: {state}")
    print("MNIST: " + _mnist_status())
    return 0


def _kernel_status():
    if not _kernels.enabled():
        return "compiled optimizer kernels off (HDRNN_NUMBA=0)"
    if _kernels.get() is None:
        return "training uses the NumPy optimizer code"
    return "compiled optimizer kernels on"


def _mnist_status():
    if os.environ.get("HDRNN_MNIST_DIR"):
        return f"IDX files from HDRNN_MNIST_DIR={os.environ['HDRNN_MNIST_DIR']}"
    cache = Path(get_data_home()) / "hdrnn" / datasets.CACHE_NAME
    if cache.exists():
        return f"cached at {cache}"
    return f"not on this machine yet; 'hdrnn train --dataset mnist' downloads it to {cache}"


def _model_info(args):
    model, metadata = _load_model(args.model, args.trust_pickle)
    if not metadata:
        print(f"{args.model}: a pickled {type(model).__name__} (no metadata)")
        return 0
    params, fitted = metadata["params"], metadata["fitted"]
    units = [fitted["n_features_in_"], *params["hidden_layer_sizes"], fitted["n_outputs_"]]
    shape = metadata["image_shape"]
    rows = [
        ("network", "-".join(map(str, units)) + f", {params['activation']} hidden units"),
        ("input", f"{shape[0]}x{shape[1]} images" if shape else "feature vectors"),
        ("solver", f"{params['solver']}, {fitted['n_iter_']} epochs, loss {fitted['loss_']:.4f}"),
        ("classes", ", ".join(map(str, metadata["classes"]))),
        ("trained on", str(metadata["info"].get("dataset", "unknown data"))),
        ("saved", f"{metadata['created']} by hdrnn {metadata['versions']['hdrnn']}"),
        ("format", f"{metadata['format']} version {metadata['format_version']}, checksum OK"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:>{width}}: {value}")
    return 0


# ------------------------------------------------------------------- main

_COMMANDS = {"train": _train, "evaluate": _evaluate, "predict": _predict, "info": _info}

# Errors that are the user's situation, not a bug: one line, exit code 1.
# (Dataset, model-file and divergence errors are ValueErrors or OSErrors.)
_EXPECTED_ERRORS = (OSError, ImportError, ValueError)


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
        return _COMMANDS[args.command](args)
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
