"""``hdrnn serve``: a page to draw digits on, read live by a model that can be taught."""

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score

from hdrnn._serve.recognizer import Recognizer, describe
from hdrnn._serve.server import LOOPBACK_HOSTS, DemoServer
from hdrnn._utils.files import check_writable_target
from hdrnn.cli._common import DATASET_NAMES, DEFAULT_EPOCHS, load_dataset
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.exceptions import DatasetUnavailableError
from hdrnn.persistence import load_with_metadata


def register(commands):
    """Add the ``serve`` command to the subparsers ``commands``."""
    serve = commands.add_parser(
        "serve",
        help="draw digits in your browser and watch a model read them",
        description=(
            "Serve a page where you draw a digit and watch the model read it as you draw: "
            "its probabilities, the image it sees and the first-layer units that fire. "
            "When it is wrong, click the right digit to teach it (a copy: the model file is "
            "never changed). Without --model, a quick model is trained first: on MNIST when "
            "a local copy exists (--data-dir, HDRNN_MNIST_DIR or the cache), else on "
            "scikit-learn's 8x8 digits."
        ),
    )
    serve.add_argument(
        "--model", type=Path, help="a saved .hdrnn model (default: train a quick one)"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only)",
    )
    serve.add_argument(
        "--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)"
    )
    serve.add_argument(
        "--save-taught",
        metavar="PATH",
        type=Path,
        help="after each correction, save the taught model here",
    )
    serve.add_argument(
        "--data-dir", type=Path, help="folder with the MNIST IDX files (else HDRNN_MNIST_DIR)"
    )
    serve.set_defaults(run=run)


def run(args):
    if args.save_taught is not None:
        check_writable_target(args.save_taught)
        if args.model is not None and _same_file(args.save_taught, args.model):
            raise ValueError(
                f"--save-taught {args.save_taught} is the model file itself; the original "
                "is never changed. Choose another path."
            )
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535; got {args.port}.")
    recognizer, name = _recognizer(args)
    try:
        server = DemoServer((args.host, args.port), recognizer, model_name=name)
    except OSError as error:
        raise OSError(
            f"cannot listen on {args.host} port {args.port}: {error.strerror or error}. "
            "Choose another --port (0 picks a free one)."
        ) from None
    if args.host not in LOOPBACK_HOSTS:
        print(
            f"hdrnn: warning: listening on {args.host}: anyone who can reach this machine "
            "can use the page and teach the model. Use --host 127.0.0.1 to keep it private.",
            file=sys.stderr,
        )
    print(f"Model: {_model_line(recognizer.facts)}")
    if args.save_taught is not None:
        print(f"Taught models are saved to {args.save_taught}")
    try:
        print(f"Serving on {server.url} (Ctrl-C to stop)", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nhdrnn: stopped.", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def _recognizer(args):
    """The :class:`Recognizer` to serve and the stem of its download name."""
    if args.model is None:
        model, facts, replay = _train_quick_model(args.data_dir)
        name = "quick"
    else:
        model, metadata = load_with_metadata(args.model)
        facts = describe(model, args.model.name, metadata["info"])
        replay = _replay_data(model, facts.image_shape, args.data_dir)
        name = args.model.stem
        if replay is None:
            print(
                "hdrnn: note: no training digits for this model here (for MNIST models: "
                "--data-dir or HDRNN_MNIST_DIR), so teaching cannot mix them in and a "
                "taught model may forget more.",
                file=sys.stderr,
            )
    if facts.image_shape is None:
        raise ValueError(
            f"The model takes {model.n_features_in_} features, not a square image; "
            "hdrnn serve needs a model of images (such as hdrnn train makes)."
        )
    return Recognizer(model, facts, replay=replay, save_to=args.save_taught), name


def _train_quick_model(data_dir):
    """Train ``hdrnn train``'s default model: on MNIST if it is here, else on 8x8 digits."""
    try:
        dataset, data = "mnist", load_dataset("mnist", data_dir, 0, download_if_missing=False)
        other = ""
    except DatasetUnavailableError:
        dataset, data = "digits", load_dataset("digits", None, 0)
        other = " (no MNIST on this machine: see --data-dir)"
    X_train, X_test, y_train, y_test, source = data
    model = DigitMLPClassifier(max_iter=DEFAULT_EPOCHS[dataset], random_state=0)
    print(
        f"No --model given: training hdrnn train's default model on {source}{other}...",
        flush=True,
    )
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        model.fit(X_train, y_train)
    accuracy = accuracy_score(y_test, model.predict(X_test))
    print(f"Trained in {time.perf_counter() - start:.1f} s: {accuracy:.2%} test accuracy.")
    info = {
        "test_accuracy": float(accuracy),
        "test_data": f"the {len(X_test)} test images of {DATASET_NAMES[dataset]}",
    }
    return model, describe(model, "trained just now", info), (X_train, y_train)


def _replay_data(model, image_shape, data_dir):
    """Training digits shaped like the model's input, of its classes, or None."""
    dataset = {(8, 8): "digits", (28, 28): "mnist"}.get(image_shape)
    if dataset is None:
        return None
    try:  # the training split that hdrnn train uses, from a local copy only
        X, _, y, _, _ = load_dataset(dataset, data_dir, 0, download_if_missing=False)
    except DatasetUnavailableError:
        return None
    known = np.isin(y, model.classes_)
    return (X[known], y[known]) if known.any() else None


def _model_line(facts):
    accuracy = f", {facts.accuracy}" if facts.accuracy else ""
    return f"{facts.architecture}, {facts.source}{accuracy}"


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
