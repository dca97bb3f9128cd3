"""``hdrnn serve``: a page to draw digits on, read live by a model that can be taught."""

import os
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from hdrnn._serve.lessons import teaching_refusal
from hdrnn._serve.recognizer import Recognizer, describe
from hdrnn._serve.server import DemoServer
from hdrnn._utils.files import check_writable_target
from hdrnn.cli._common import load_dataset
from hdrnn.exceptions import DatasetUnavailableError
from hdrnn.persistence import load_with_metadata
from hdrnn.pretrained import load_pretrained


def register(commands):
    """Add the ``serve`` command to the subparsers ``commands``."""
    serve = commands.add_parser(
        "serve",
        help="draw digits in your browser and watch a model read them",
        description=(
            "Serve a page where you draw a digit and watch the model read it as you draw: "
            "its probabilities, the image it sees and the first-layer units that fire. "
            "When it is wrong, click the right digit to teach it: each browser teaches its "
            "own copy (with undo and reset), and the model file is never changed. Without "
            "--model it serves the shipped MNIST model (hdrnn info --pretrained), at once."
        ),
    )
    serve.add_argument(
        "--model", type=Path, help="a saved .hdrnn model (default: the shipped model)"
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
        "--shared-teaching",
        action="store_true",
        help="one taught model for every browser (single-user use), instead of a copy each",
    )
    serve.add_argument(
        "--save-taught",
        metavar="PATH",
        type=Path,
        help="with --shared-teaching: after each lesson, save the taught model here",
    )
    serve.add_argument(
        "--data-dir", type=Path, help="folder with the MNIST IDX files (else HDRNN_MNIST_DIR)"
    )
    serve.set_defaults(run=run)


# Seconds Ctrl-C waits for lessons in progress to finish (a lesson takes well under one).
STOP_WAIT_SECONDS = 10


def run(args):
    _check_args(args)
    recognizer, name = _recognizer(args)
    try:
        server = DemoServer((args.host, args.port), recognizer, model_name=name)
    except OSError as error:
        raise OSError(
            f"cannot listen on {args.host} port {args.port}: {error.strerror or error}. "
            "Choose another --port (0 picks a free one)."
        ) from None
    if not server.served.loopback:
        print(
            f"hdrnn: warning: listening on {args.host}: anyone who can reach this machine can "
            "use the page and teach the model, including other computers on the network and "
            "web pages open in your own browser. Use --host 127.0.0.1 to keep it private.",
            file=sys.stderr,
        )
    print(f"Model: {_model_line(recognizer.facts)}")
    print(_teaching_line(recognizer, args.save_taught))
    try:
        print(f"Serving on {server.url} (Ctrl-C to stop)", flush=True)
        # A drawing is a few small matrix products: one BLAS thread does them sooner
        # than two that must wake, and spin against the browser on a busy machine
        # (95th percentile of a digit's reading under load: 39 -> 22 ms).
        with threadpool_limits(limits=1, user_api="blas"):
            server.serve_forever()
    except KeyboardInterrupt:
        print(f"\nhdrnn: stopped. {_stopping(recognizer, args.save_taught)}", file=sys.stderr)
    finally:
        server.server_close()
    return 0


def _check_args(args):
    if args.save_taught is not None:
        if not args.shared_teaching:
            raise ValueError(
                "--save-taught saves the one taught model of --shared-teaching; without it, "
                "each browser teaches its own copy and saves it with the page's download "
                "link. Add --shared-teaching (for single-user use), or drop --save-taught."
            )
        check_writable_target(args.save_taught)
        if args.model is not None and _same_file(args.save_taught, args.model):
            raise ValueError(
                f"--save-taught {args.save_taught} is the model file itself; the original "
                "is never changed. Choose another path."
            )
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535; got {args.port}.")


def _teaching_line(recognizer, save_taught):
    """What teaching does on this server, in one line."""
    if recognizer.teaching_off is not None:
        return f"Teaching is off for this model: {recognizer.teaching_off}."
    if recognizer.copies.shared:
        saved = f"; saved to {save_taught} after each lesson" if save_taught else ""
        return f"Teaching: one copy of the model, shared by every browser{saved}."
    copies = recognizer.copies
    return (
        f"Teaching: each browser teaches its own copy (up to {copies.max_sessions} copies "
        f"of {copies.bytes_per_session / 1e6:.1f} MB kept; unused ones are dropped after "
        f"{copies.idle_seconds / 60:.0f} minutes); the model file is never changed."
    )


def _stopping(recognizer, save_taught):
    """Wait for the lessons in progress; say what became of them."""
    try:
        in_progress, unfinished = recognizer.stop(STOP_WAIT_SECONDS)
    except KeyboardInterrupt:  # a second Ctrl-C: stop waiting
        in_progress, unfinished = None, None
    if in_progress == 0:
        return "No lesson was in progress."
    saved = f" (saved to {save_taught})" if save_taught else ""
    if unfinished == 0:
        plural = "lesson" if in_progress == 1 else "lessons"
        return f"The {in_progress} {plural} in progress finished first{saved}."
    count = "Lessons" if unfinished is None else f"{unfinished} of {in_progress} lessons"
    return (
        f"{count} in progress did not finish and were not applied"
        f"{'; the last finished one is saved' if save_taught else ''}."
    )


def _recognizer(args):
    """The :class:`Recognizer` to serve and the stem of its download name."""
    if args.model is None:
        model, metadata = load_pretrained(with_metadata=True)
        facts = describe(model, "the shipped model mnist", metadata["info"])
        name = "mnist"
        print("No --model given: serving the shipped model (hdrnn info --pretrained).")
    else:
        model, metadata = load_with_metadata(args.model)
        facts = describe(model, args.model.name, metadata["info"])
        name = args.model.stem
    replay = _replay_data(model, facts.image_shape, args.data_dir)
    if replay is None and teaching_refusal(model) is None:
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
    recognizer = Recognizer(
        model, facts, replay=replay, save_to=args.save_taught, shared=args.shared_teaching
    )
    return recognizer, name


def _replay_data(model, image_shape, data_dir):
    """Training digits shaped like the model's input, of its classes, or None."""
    dataset = {(8, 8): "digits", (28, 28): "mnist"}.get(image_shape)
    if dataset is None:
        return None
    try:  # the training split that hdrnn train uses, from a local copy only
        X, _, y, _, _ = load_dataset(dataset, data_dir, 0, download_if_missing=False)
    except DatasetUnavailableError:
        return None
    if model.classes_.dtype.kind not in "iuf":  # bool or text labels: not the digits' labels
        return None
    known = np.isin(y, model.classes_)
    return (X[known], y[known].astype(model.classes_.dtype)) if known.any() else None


def _model_line(facts):
    accuracy = f", {facts.accuracy}" if facts.accuracy else ""
    return f"{facts.architecture}, {facts.source}{accuracy}"


def _same_file(first, second):
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False
