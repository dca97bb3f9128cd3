"""``hdrnn evaluate``: report a saved model's test accuracy (and draw its confusion matrix)."""

import sys
from pathlib import Path

from hdrnn import plotting
from hdrnn._utils.files import atomic_write, check_writable_target
from hdrnn.cli._common import (
    add_data_arguments,
    add_default_model_argument,
    load_dataset,
    load_model_or_shipped,
)
from hdrnn.cli._output import print_report


def register(commands):
    """Add the ``evaluate`` command to the subparsers ``commands``."""
    evaluate = commands.add_parser("evaluate", help="report a saved model's test accuracy")
    add_default_model_argument(evaluate)
    add_data_arguments(evaluate, default_dataset=None)
    evaluate.add_argument(
        "--plot",
        metavar="FILE.png",
        type=Path,
        help="confusion matrix figure (needs matplotlib; the suffix picks the format: .png, "
        ".svg, .pdf...)",
    )
    evaluate.set_defaults(run=run)


def run(args):
    if args.plot is not None:  # before the model and the data are read
        _check_figure_path(args.plot, args.model)
    model, metadata, name = load_model_or_shipped(args.model, args.trust_pickle)
    info = metadata.get("info", {})
    dataset = args.dataset or info.get("dataset") or _guess_dataset(model)
    seed = info.get("seed", 0)
    _, X_test, _, y_test, source = load_dataset(dataset, args.data_dir, seed)
    if model.n_features_in_ != X_test.shape[1]:
        raise ValueError(
            f"The model takes {model.n_features_in_} pixels but {dataset} images have "
            f"{X_test.shape[1]}; pass --dataset {_guess_dataset(model)}."
        )
    print(f"Evaluating {name} on the test split of {source} ({len(X_test)} images)")
    y_test = _labels_like(y_test, model.classes_)
    y_pred = model.predict(X_test)
    print_report(y_test, y_pred, model.classes_)
    if args.plot:
        figure = _confusion_figure(model, X_test, y_test, y_pred)
        _write_figure(figure, args.plot, model_path=args.model)
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


def _check_figure_path(path, model_path):
    """Refuse a figure path that cannot be written, or whose format matplotlib cannot draw."""
    check_writable_target(path, inputs=[model_path])
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        raise ImportError(
            "--plot needs matplotlib: pip install 'hdrnn[plot]' (or pip install matplotlib)."
        ) from None
    formats = FigureCanvasBase.get_supported_filetypes()
    if _figure_format(path) not in formats:
        raise ValueError(
            f"--plot {path}: matplotlib cannot write {path.suffix!r} figures; end the name "
            f"with one of {', '.join('.' + kind for kind in sorted(formats))}."
        )


def _figure_format(path):
    """The format a figure path asks for: its suffix, PNG without one."""
    return path.suffix[1:].lower() or "png"


def _confusion_figure(model, X_test, y_test, y_pred):
    ax = plotting.plot_confusion_matrix(model, X_test, y_test, y_pred=y_pred)
    ax.set_title("Confusion matrix (test split)")
    return ax.figure


def _write_figure(figure, path, model_path):
    # Through the same checks and atomic replacement as every file hdrnn writes
    # (matplotlib's own savefig(path) would follow any link and write in place).
    try:
        with atomic_write(path, inputs=[model_path]) as file:
            figure.savefig(file, format=_figure_format(path), dpi=120, bbox_inches="tight")
    finally:
        plotting.close(figure)
