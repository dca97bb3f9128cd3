"""``hdrnn train``: train a model, report its test accuracy, optionally save it."""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score

from hdrnn._utils.files import check_writable_target
from hdrnn.augmentation import PRESETS as AUGMENTATIONS
from hdrnn.cli._common import (
    DATASET_NAMES,
    DEFAULT_EPOCHS,
    DIGITS_TEST_SIZE,
    EXIT_INTERRUPTED,
    add_data_arguments,
    add_epochs_argument,
    load_dataset,
    parse_dropout,
    parse_hidden,
)
from hdrnn.cli._output import print_report
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.nn import ACTIVATIONS, SCHEDULES
from hdrnn.persistence import save
from hdrnn.presets import PRESETS, preset_params

# The options that set a DigitMLPClassifier parameter, and which one. They
# default to None: a preset fills what the user did not give.
_OPTION_PARAMS = {
    "hidden": "hidden_layer_sizes",
    "activation": "activation",
    "init": "init",
    "solver": "solver",
    "epochs": "max_iter",
    "batch_size": "batch_size",
    "learning_rate": "learning_rate_init",
    "schedule": "learning_rate",
    "warmup": "warmup_epochs",
    "alpha": "alpha",
    "dropout": "dropout",
    "augment": "augment",
}

# The data set every preset of hdrnn.presets was made and measured on: a
# preset trains on it unless --dataset says otherwise.
PRESETS_DATASET = "mnist"


def _presets_help():
    # The numbers are the presets' own `measured` strings: one source for them.
    lines = [
        f"presets (made for {DATASET_NAMES[PRESETS_DATASET]} and measured on it, 2 CPU cores;\n"
        f"without --dataset a preset trains on {PRESETS_DATASET}; options given with a preset "
        "override it):"
    ]
    for preset in PRESETS.values():
        lines.append(f"  {preset.name:<9} {preset.measured}: {preset.summary}")
    return "\n".join(lines)


def register(commands):
    """Add the ``train`` command to the subparsers ``commands``."""
    train = commands.add_parser(
        "train",
        help="train a model, report its test accuracy, optionally save it",
        description="Train a model, report its test accuracy, optionally save it.",
        epilog=_presets_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(
        train,
        default_dataset=None,
        default_help=f"default: digits ({PRESETS_DATASET} with --preset)",
    )
    model = train.add_argument_group("model and training")
    model.add_argument(
        "--preset",
        choices=list(PRESETS),
        help=f"a measured recipe for {PRESETS_DATASET} (see below); e.g. --preset fast98",
    )
    model.add_argument("--hidden", type=parse_hidden, help="e.g. 128,64 (default)")
    model.add_argument("--activation", choices=sorted(ACTIVATIONS), help="default: relu")
    model.add_argument("--init", choices=["glorot", "he"], help="default: glorot")
    model.add_argument("--solver", choices=["adam", "sgd", "lbfgs"], help="default: adam")
    add_epochs_argument(model)
    model.add_argument("--batch-size", type=int, help="default: min(200, n)")
    model.add_argument("--learning-rate", type=float, help="default: 0.001")
    model.add_argument(
        "--schedule", choices=sorted(SCHEDULES), help="learning-rate schedule (default: constant)"
    )
    model.add_argument("--warmup", type=int, help="epochs of learning-rate warm-up (default: 0)")
    model.add_argument("--alpha", type=float, help="L2 penalty (default: 0.0001)")
    model.add_argument("--dropout", type=parse_dropout, help="e.g. 0.2 (default: 0)")
    model.add_argument("--augment", choices=list(AUGMENTATIONS), help="default: none")
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
    train.set_defaults(run=run)


def run(args):
    # Where the model goes is checked first: training may take minutes.
    for target in (args.save, args.save_partial):
        if target is not None:
            check_writable_target(target)
    dataset = _announce_dataset(args)
    X_train, X_test, y_train, y_test, source = load_dataset(dataset, args.data_dir, args.seed)
    model = DigitMLPClassifier(
        **model_params(args),
        early_stopping=args.early_stopping,
        random_state=args.seed,
        verbose=not args.quiet,  # one row per epoch: loss, validation score, time
    )
    n_classes = len(np.unique(y_train))
    units = (X_train.shape[1], *model.hidden_layer_sizes, n_classes)
    recipe = f", preset {args.preset}" if args.preset else ""
    print(
        f"Training a {'-'.join(map(str, units))} network ({model.solver}{recipe}) on "
        f"{source}: {len(X_train)} training and {len(X_test)} test images",
        flush=True,
    )
    info = {"dataset": dataset, "seed": args.seed, "test_size": DIGITS_TEST_SIZE}
    if args.preset:
        info["preset"] = args.preset
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
    y_pred = model.predict(X_test)
    # The model file records how well it did, and on what (hdrnn info shows it).
    info["test_accuracy"] = float(accuracy_score(y_test, y_pred))
    info["test_data"] = f"the {len(X_test)} test images of {DATASET_NAMES[dataset]}"
    info["data_source"] = source
    if args.save:  # first: a report cut short (e.g. piped into head) must not lose the model
        save(model, args.save, info=info)
    print(f"Trained {model.n_iter_} epochs in {seconds:.1f} s, final loss {model.loss_:.4f}")
    print_report(y_test, y_pred, model.classes_)
    if args.save:
        print(f"\nSaved the model to {args.save}")
    return 0


def dataset_of(args):
    """The data set to train on: ``--dataset``, else the presets' data set with ``--preset``."""
    if args.dataset is not None:
        return args.dataset
    return PRESETS_DATASET if args.preset else "digits"


def _announce_dataset(args):
    """:func:`dataset_of`, with one line when a preset chose it or was not made for it."""
    dataset = dataset_of(args)
    if args.preset and args.dataset is None:
        print(
            f"Preset {args.preset} is made for {DATASET_NAMES[dataset]}: training on "
            f"{DATASET_NAMES[dataset]} (--dataset digits trains it on the 8x8 digits instead)."
        )
    elif args.preset and dataset != PRESETS_DATASET:
        print(
            f"Preset {args.preset} is made for {DATASET_NAMES[PRESETS_DATASET]} "
            f"({PRESETS[args.preset].measured} there); on {DATASET_NAMES[dataset]} it gives "
            "other results."
        )
    return dataset


def model_params(args):
    """The estimator's parameters: the dataset's epochs, then the preset, then the options given."""
    params = {"max_iter": DEFAULT_EPOCHS[dataset_of(args)]}
    if args.preset:
        params.update(preset_params(args.preset))
    for option, param in _OPTION_PARAMS.items():
        value = getattr(args, option)
        if value is not None:
            params[param] = value
    return params


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
