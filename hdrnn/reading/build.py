"""Rebuild reading's shipped models from the MNIST IDX files: ``python -m hdrnn.reading.build``.

The verifier (:mod:`hdrnn.reading._verifier`) learns what reading's own
candidates look like. Numbers of 2-6 digits are composed from MNIST's
*training* digits at every spacing (apart to overlapping), half of them
photographed (:func:`hdrnn.datasets.synthetic.photograph`); each is cut into
candidates exactly as :func:`~hdrnn.reading.read_number` cuts it, and each
candidate is labelled from the number's ``owners`` map: its digit when it is
one whole digit, 10 when it is not one digit, left out when unclear. An
11-class :class:`~hdrnn.DigitMLPClassifier` is trained on them with a fixed
seed (every chunk of numbers has its own seed, so the lessons are the same
however many processes make them). Then it is measured on candidates and
numbers made from MNIST's *test* digits, and the model file and its card are
written::

    python -m hdrnn.reading.build --data-dir path/to/mnist --out hdrnn/pretrained

``--model strips`` builds the strip reader (:mod:`hdrnn.reading._strips`):
its lessons are windows sliding along the strokes of numbers composed close,
touching or overlapping (:mod:`hdrnn.reading._strip_lessons`), each labelled
with the digit centred in it or 10 for none.

On 2 cores each recipe takes a few minutes (its card says how long).
"""

import argparse
import hashlib
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from hdrnn.datasets import load_mnist, synthetic
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.persistence import save
from hdrnn.preprocessing import find_ink, prepare_inks
from hdrnn.pretrained import ModelCard, load_pretrained
from hdrnn.pretrained.build import LICENCE, built_with, machine
from hdrnn.reading._api import image_candidates, read_number
from hdrnn.reading._chunks import in_chunks
from hdrnn.reading._strip_lessons import STRIP_SPACINGS, strip_lessons
from hdrnn.reading._strips import BLANK
from hdrnn.reading._verifier import NOT_ONE, candidate_truths, owners_with_blur

NAME = "segments"
RECIPE = {
    "summary": (
        "hdrnn read's verifier: says whether a candidate cut from a number is one whole "
        "digit (classes 0-9) or not (10: a part of a digit, or pieces of several)"
    ),
    "params": {
        "hidden_layer_sizes": [256],
        "activation": "relu",
        "init": "he",
        "dropout": 0.2,
        "batch_size": 256,
        "learning_rate": "cosine",
        "learning_rate_init": 0.002,
        "warmup_epochs": 1,
        "tol": 0.0,
    },
    "epochs": 20,
    "seed": 0,
    "numbers": 30000,
    "lengths": [2, 6],
    "photographed": 0.5,
    "weaknesses": [
        "it learns from MNIST digits composed by hdrnn's own generator: other writers' "
        "touching digits are judged less well",
        "where no cut separates two digits, it can only say that no candidate is one digit",
    ],
}
STRIPS_RECIPE = {
    "summary": (
        "hdrnn read's strip reader: slides a window along a stroke of run-together digits "
        "and says which digit is centred in it (classes 0-9) or none (10)"
    ),
    "params": dict(RECIPE["params"], hidden_layer_sizes=[1024, 256]),
    "epochs": 20,
    "seed": 0,
    # Trained on 60 000, it read 94.8% of its lessons' centred windows right but
    # 87.8% of new numbers' (of the same digits): with 90 000, 1.5% more of 1440
    # photographed dev numbers were read exactly (each of two seeds).
    "numbers": 90000,
    "lengths": [2, 6],
    "photographed": 0.5,
    "blanks_kept": 0.5,
    # Half the digits get another pen, slant and shape (as the digit model's
    # lessons do): the writers who are not MNIST's run their digits together too.
    "distorted": 0.5,
    "weaknesses": [
        "it learns from MNIST digits composed by hdrnn's own generator: other writers' "
        "run-together digits are read less well",
        "a digit it does not see centred in any window is left out: it may read too few",
    ],
}
RECIPES = {NAME: RECIPE, "strips": STRIPS_RECIPE}
# Numbers of MNIST test digits for the card's figures.
CHECK_NUMBERS = 400


def build_parser():
    """The build script's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m hdrnn.reading.build",
        description="Retrain one of hdrnn read's shipped models from the MNIST IDX files.",
    )
    parser.add_argument(
        "--model",
        choices=sorted(RECIPES),
        default=NAME,
        help=f"{NAME}: the verifier (default); strips: the strip reader",
    )
    parser.add_argument(
        "--data-dir", type=Path, help="folder of the four MNIST IDX files (else HDRNN_MNIST_DIR)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."), help="where <model>.hdrnn and <model>.json go"
    )
    parser.add_argument("--numbers", type=int, help="numbers to learn from (trials, tests)")
    parser.add_argument("--epochs", type=int, help="epochs instead of the recipe's (trials)")
    parser.add_argument(
        "--check-numbers",
        type=int,
        default=CHECK_NUMBERS,
        help=f"numbers of MNIST test digits the card's figures come from (default {CHECK_NUMBERS})",
    )
    parser.add_argument("--jobs", type=int, default=2, help="processes making lessons")
    return parser


def lessons(images, labels, n_numbers, seed, *, jobs=1, photographed=0.5):
    """``(X, y)``: the verifier's lessons, prepared candidates of ``n_numbers`` numbers
    and their classes (a digit, or :data:`~hdrnn.reading._verifier.NOT_ONE`).

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28)
        The digits to compose numbers from, ink in [0, 1].
    labels : ndarray of shape (n,)
    n_numbers : int
    seed : int
        Chunk ``c`` of ``_chunks.CHUNK`` (500) numbers draws from ``(seed, c)``.
    jobs : int, default=1
        Processes (the result does not depend on it).
    photographed : float, default=0.5
        Share of numbers photographed rather than clean.
    """
    args = (images, labels, photographed)
    return in_chunks(_chunk_lessons, n_numbers, seed, jobs=jobs, features=28 * 28, args=args)


def _chunk_lessons(images, labels, photographed, size, seed):
    """The labelled candidates of one chunk of numbers, prepared (none: zero rows)."""
    rng = np.random.default_rng(seed)
    numbers, truths = synthetic.make_numbers(images, labels, size, rng, lengths=(2, 6))
    crops, classes = [], []
    for ink, truth in zip(numbers, truths):
        photo = rng.random() < photographed
        found = find_ink(synthetic.photograph(ink, rng) if photo else synthetic.as_paper(ink))
        found_ink = np.asarray(found.ink, dtype=np.float64)
        _, per_line = image_candidates(found_ink)
        if found_ink.shape != truth.owners.shape or len(per_line) != 1:
            continue  # a shrunk copy, or ink read as several lines: no pixel truth
        candidates = per_line[0][2]
        truths_here = candidate_truths(
            candidates, found_ink, owners_with_blur(truth.owners), truth.labels
        )
        for candidate, k in zip(candidates, truths_here):
            if k < 0:  # unclear: left out
                continue
            crops.append(candidate.crop)
            classes.append(k)
    return prepare_inks(crops), np.array(classes, dtype=np.int64)


def train(recipe, X, y):
    """The model, trained on ``(X, y)`` with the recipe's settings."""
    params = dict(recipe["params"], max_iter=recipe["epochs"], random_state=recipe["seed"])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    model = DigitMLPClassifier(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed schedule, by design
        return model.fit(X, y)


def measure(model, reader, mnist, seed, *, jobs=1, n_numbers=CHECK_NUMBERS):
    """The verifier card's figures, all on MNIST *test* digits: its accuracy on
    candidates, and exact numbers read with and without it."""
    images, labels = _test_digits(mnist)
    X, y = lessons(images, labels, n_numbers * 2, seed + 1, jobs=jobs)
    said = model.predict(X)
    figures = {
        "candidates_mnist_test": float(np.mean(said == y)),
        "not_one_recall_mnist_test": float(np.mean(said[y == NOT_ONE] == NOT_ONE)),
        "whole_digit_recall_mnist_test": float(np.mean(said[y != NOT_ONE] != NOT_ONE)),
    }
    photos, truths = _photographed_numbers(images, labels, n_numbers, seed)
    for name, verifier in (("without", False), ("with", model)):  # the verifier alone
        exact = _read_exactly(reader, photos, truths, verifier=verifier, strips=False)
        figures[f"numbers_photographed_mnist_test_{name}_verifier"] = float(np.mean(exact))
    return figures


def measure_strips(model, reader, mnist, seed, *, jobs=1, n_numbers=CHECK_NUMBERS):
    """The strip reader card's figures, all on MNIST *test* digits: its accuracy on
    windows with a digit centred and without, and exact numbers read with and without
    it (photographed; all spacings, and touching or overlapping)."""
    images, labels = _test_digits(mnist)
    X, y = strip_lessons(images, labels, n_numbers, seed + 1, jobs=jobs, blanks_kept=1.0)
    said = model.predict(X)
    centred = y != BLANK
    figures = {
        "centred_windows_read_mnist_test": float(np.mean(said[centred] == y[centred])),
        "blank_windows_recall_mnist_test": float(np.mean(said[~centred] == BLANK)),
    }
    photos, truths = _photographed_numbers(images, labels, n_numbers, seed)
    joined = np.array([truth.spacing in ("touching", "overlapping") for truth in truths])
    for name, strips in (("without", False), ("with", model)):
        exact = _read_exactly(reader, photos, truths, strips=strips)
        figures[f"numbers_photographed_mnist_test_{name}_strips"] = float(np.mean(exact))
        figures[f"touching_or_overlapping_{name}_strips"] = float(np.mean(exact[joined]))
    return figures


def _test_digits(mnist):
    """MNIST's *test* digits as 28x28 images, and their labels."""
    test = slice(mnist.n_train, None)
    return mnist.data[test].reshape(-1, 28, 28), mnist.target[test]


def _photographed_numbers(images, labels, n_numbers, seed):
    """``(photos, truths)``: the card's numbers of 2-6 of the digits, photographed."""
    rng = np.random.default_rng([seed + 2])
    numbers, truths = synthetic.make_numbers(images, labels, n_numbers, rng, lengths=(2, 6))
    return [synthetic.photograph(ink, rng) for ink in numbers], truths


def _read_exactly(reader, photos, truths, **options):
    """Whether ``read_number`` with ``options`` reads each photo's number exactly."""
    return np.array(
        [
            read_number(photo, reader, min_confidence=0.0, **options).text == truth.text
            for photo, truth in zip(photos, truths)
        ]
    )


def write(out, model, recipe, *, seconds, figures, n_lessons, name=NAME):
    """Write ``<name>.hdrnn`` and ``<name>.json``; return the card."""
    path = out / f"{name}.hdrnn"
    info = {
        "dataset": f"candidates of {recipe['numbers']} numbers of MNIST training digits",
        "test_data": "candidates of numbers of MNIST test digits",
        "preset": f"pretrained {name}",
    }
    save(model, path, info=info, optimizer_state=False)
    units = [model.n_features_in_, *(W.shape[1] for W in model.coefs_)]
    keys = ("params", "epochs", "numbers", "lengths", "photographed")
    training_data = (
        f"{n_lessons} candidates cut by hdrnn.reading from {recipe['numbers']} numbers "
        "of 2-6 digits composed of the first 60000 MNIST training digits (LeCun, Cortes "
        f"and Burges), at every spacing, {recipe['photographed']:.0%} of them photographed"
    )
    if name == "strips":
        keys += ("blanks_kept", "distorted")
        training_data = (
            f"{n_lessons} windows along the strokes of {recipe['numbers']} numbers of 2-6 "
            "digits composed of the first 60000 MNIST training digits (LeCun, Cortes and "
            f"Burges), {', '.join(STRIP_SPACINGS)}, {recipe['photographed']:.0%} of them "
            f"photographed, {recipe['distorted']:.0%} of the digits distorted by the "
            '"handwriting" augmentation (windows with no digit centred: '
            f"{recipe['blanks_kept']:.0%} kept)"
        )
    card = ModelCard(
        name=name,
        summary=recipe["summary"],
        architecture="-".join(map(str, units)) + f" {model.activation}",
        training_data=training_data,
        recipe={key: recipe[key] for key in keys} | {"seeds": "(seed, chunk) per 500 numbers"},
        seed=recipe["seed"],
        training_time=f"{seconds / 60:.1f} minutes on {machine()}",
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        accuracy=figures,
        weaknesses=list(recipe["weaknesses"]),
        weights_licence=LICENCE,
        built_with=built_with(),
    )
    (out / f"{name}.json").write_text(json.dumps(card.__dict__, indent=2) + "\n")
    return card


def _lessons_for(name, recipe, images, labels, jobs):
    """``(X, y)``: the lessons of the named model's recipe."""
    if name == "strips":
        return strip_lessons(
            images,
            labels,
            recipe["numbers"],
            recipe["seed"],
            jobs=jobs,
            photographed=recipe["photographed"],
            blanks_kept=recipe["blanks_kept"],
            distorted=recipe["distorted"],
        )
    return lessons(images, labels, recipe["numbers"], recipe["seed"], jobs=jobs)


def main(argv=None):
    """Build the chosen model and its card; return the exit code."""
    args = build_parser().parse_args(argv)
    name = args.model
    recipe = dict(RECIPES[name])
    for key in ("numbers", "epochs"):
        if getattr(args, key) is not None and key in recipe:
            recipe[key] = getattr(args, key)
    mnist = load_mnist(source=args.data_dir)
    train_set = slice(0, mnist.n_train)  # MNIST's training digits only
    images, labels = mnist.data[train_set].reshape(-1, 28, 28), mnist.target[train_set]
    start = time.perf_counter()
    X, y = _lessons_for(name, recipe, images, labels, args.jobs)
    rest, what = (BLANK, "no digit centred") if name == "strips" else (NOT_ONE, "not one digit")
    kind = "windows" if name == "strips" else "candidates"
    print(
        f"{len(y)} {kind} ({np.mean(y == rest):.0%} {what}) in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    model = train(recipe, X, y)
    seconds = time.perf_counter() - start  # lessons and training
    how = {NAME: measure, "strips": measure_strips}[name]
    figures = how(
        model,
        load_pretrained(),
        mnist,
        recipe["seed"],
        jobs=args.jobs,
        n_numbers=args.check_numbers,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    card = write(
        args.out, model, recipe, seconds=seconds, figures=figures, n_lessons=len(y), name=name
    )
    print(card.as_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
