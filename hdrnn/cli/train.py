"""``hdrnn train``: train a model, report its test accuracy, optionally save it."""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score

from hdrnn._files import check_writable_target
from hdrnn.augmentation import PRESETS
from hdrnn.cli._common import (
    DIGITS_TEST_SIZE,
    add_data_arguments,
    load_dataset,
    parse_dropout,
    parse_hidden,
)
from hdrnn.cli._output import print_report
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.nn import ACTIVATIONS, SCHEDULES
from hdrnn.persistence import save

# Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells use.
EXIT_INTERRUPTED = 130

DEFAULT_EPOCHS = {"digits": 200, "mnist": 20}

DATASET_NAMES = {"digits": "scikit-learn's 8x8 digits", "mnist": "MNIST"}


def register(commands):
    """Add the ``train`` command to the subparsers ``commands``."""
    train = commands.add_parser(
        "train", help="train a model, report its test accuracy, optionally save it"
    )
    add_data_arguments(train)
    model = train.add_argument_group("model and training")
    model.add_argument("--hidden", type=parse_hidden, default=(128, 64), help="e.g. 128,64")
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
    model.add_argument("--dropout", type=parse_dropout, default=0.0, help="e.g. 0.2")
    model.add_argument("--augment", choices=list(PRESETS))
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
    X_train, X_test, y_train, y_test, source = load_dataset(args.dataset, args.data_dir, args.seed)
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
    y_pred = model.predict(X_test)
    # The model file records how well it did, and on what (hdrnn info shows it).
    info["test_accuracy"] = float(accuracy_score(y_test, y_pred))
    info["test_data"] = f"the {len(X_test)} test images of {DATASET_NAMES[args.dataset]}"
    info["data_source"] = source
    if args.save:  # first: a report cut short (e.g. piped into head) must not lose the model
        save(model, args.save, info=info)
    print(f"Trained {model.n_iter_} epochs in {seconds:.1f} s, final loss {model.loss_:.4f}")
    print_report(y_test, y_pred, model.classes_)
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
