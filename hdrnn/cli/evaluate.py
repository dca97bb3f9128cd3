"""``hdrnn evaluate``: report a saved model's test accuracy (and draw its confusion matrix)."""

import sys
from pathlib import Path

from hdrnn import plotting
from hdrnn.cli._common import add_data_arguments, add_model_argument, load_dataset, load_model
from hdrnn.cli._output import print_report


def register(commands):
    """Add the ``evaluate`` command to the subparsers ``commands``."""
    evaluate = commands.add_parser("evaluate", help="report a saved model's test accuracy")
    add_model_argument(evaluate)
    add_data_arguments(evaluate, default_dataset=None)
    evaluate.add_argument("--plot", metavar="FILE.png", type=Path, help="confusion matrix figure")
    evaluate.set_defaults(run=run)


def run(args):
    model, metadata = load_model(args.model, args.trust_pickle)
    info = metadata.get("info", {})
    dataset = args.dataset or info.get("dataset") or _guess_dataset(model)
    seed = info.get("seed", 0)
    _, X_test, _, y_test, source = load_dataset(dataset, args.data_dir, seed)
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
        _save_confusion_figure(model, X_test, y_test, y_pred, args.plot)
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


def _save_confusion_figure(model, X_test, y_test, y_pred, path):
    ax = plotting.plot_confusion_matrix(model, X_test, y_test, y_pred=y_pred)
    ax.set_title("Confusion matrix (test split)")
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
    plotting.close(ax.figure)
