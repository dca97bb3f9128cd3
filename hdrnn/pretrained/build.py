"""Rebuild a shipped model from the MNIST IDX files: ``python -m hdrnn.pretrained.build``.

Trains the recipe of :data:`RECIPES` with a fixed seed, one epoch at a time
(``partial_fit``; epoch ``e`` draws its shuffle, dropout masks and
distortions from the seed ``seed * 1000 + e``), saving a checkpoint after
every epoch so that a stopped build resumes where it stopped. Then it
measures the model on the 10 000 MNIST test digits and on the non-MNIST
handwriting set (:mod:`hdrnn.pretrained.handwriting`), writes the model file
and its card, and prints the card::

    python -m hdrnn.pretrained.build --data-dir path/to/mnist --out hdrnn/pretrained

Training runs on the CPU; on 2 cores the shipped recipe takes the time its
card states.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from hdrnn._version import __version__
from hdrnn.datasets import load_mnist
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.persistence import load, load_with_metadata, save
from hdrnn.pretrained._cards import ModelCard
from hdrnn.pretrained.flags import flag_ones
from hdrnn.pretrained.handwriting import CARD_SEED, handwriting_accuracy, handwriting_set

LICENCE = (
    "CC BY-SA 3.0: trained on MNIST by Yann LeCun and Corinna Cortes (the licence the "
    "TensorFlow/Keras and Kaggle distributions of MNIST state; MNIST's home page states "
    "none). hdrnn's code is BSD-3-Clause."
)

RECIPES = {
    "mnist": {
        "summary": "reads one handwritten digit prepared like MNIST (28x28)",
        "params": {
            "hidden_layer_sizes": [1024, 256],
            "activation": "relu",
            "init": "he",
            "dropout": 0.2,
            "augment": "handwriting",
            "batch_size": 256,
            "learning_rate": "cosine",
            "learning_rate_init": 0.002,
            "warmup_epochs": 1,
            "tol": 0.0,
        },
        "epochs": 150,
        "seed": 1,
        # MNIST's 1s are mostly bare strokes: also learn from this many of them
        # given a European flag (hdrnn.pretrained.flags), so that such a 1 is not a 7.
        "flagged_ones": 2000,
        "weaknesses": [
            "a European 1 with a long flag is still read as 7 about 1 time in 10 among the "
            "stroke-written 1s of the handwriting set (1 in 4 before the flagged 1s joined "
            "training)",
            "unusual handwriting fonts (Kristi, KaushanScript) are read far worse than pen strokes",
            "photos lose about a point against clean scans: of another 4000 photographed digits "
            "by writers not in MNIST, 39 were misread that were read right unphotographed; "
            "33 of them were in grainy pencil or chalk, whose strokes break "
            "into pieces, and 8 kept a frame drawn around them that was not found (cut by the "
            "photo's edge, or broken by chalk grain)",
            "it reads one digit per image; numbers need hdrnn read (hdrnn.reading)",
        ],
    },
}


def build_parser():
    """The build script's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m hdrnn.pretrained.build",
        description="Retrain a shipped hdrnn model from the MNIST IDX files and write its card.",
    )
    parser.add_argument("--name", choices=sorted(RECIPES), default="mnist")
    parser.add_argument(
        "--data-dir", type=Path, help="folder of the four MNIST IDX files (else HDRNN_MNIST_DIR)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("."), help="where <name>.hdrnn and <name>.json go"
    )
    parser.add_argument(
        "--epochs", type=int, help="train for this many epochs instead of the recipe's (trials)"
    )
    parser.add_argument(
        "--limit", type=int, help="train on the first N training digits only (trials, tests)"
    )
    parser.add_argument(
        "--evaluate-only",
        action="store_true",
        help="measure the model already in --out again and rewrite its card (no training)",
    )
    parser.add_argument(
        "--handwriting-digits",
        type=int,
        default=2000,
        help="digits of each kind in the non-MNIST handwriting set (default: 2000, the card's)",
    )
    return parser


def main(argv=None):
    """Build the model and its card; return the exit code."""
    args = build_parser().parse_args(argv)
    recipe = dict(RECIPES[args.name])
    if args.epochs is not None:
        recipe["epochs"] = args.epochs
    mnist = load_mnist(source=args.data_dir)
    n = mnist.n_train if args.limit is None else min(args.limit, mnist.n_train)
    X_train, y_train = _with_flagged_ones(mnist.data[:n], mnist.target[:n], recipe)
    X_test, y_test = mnist.data[mnist.n_train :], mnist.target[mnist.n_train :]
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / f".{args.name}-checkpoint.hdrnn"
    if args.evaluate_only:
        model = load(args.out / f"{args.name}.hdrnn")
        seconds = sum(record["seconds"] for record in model.history_)
    else:
        model, seconds = _train(recipe, X_train, y_train, checkpoint)
    accuracy = {"mnist_test": float(np.mean(model.predict(X_test) == y_test))}
    sets, notes = handwriting_set(args.handwriting_digits, CARD_SEED)
    accuracy |= handwriting_accuracy(model, sets)
    if not args.evaluate_only:  # measured again, the file stays as it is
        _save(args.out / f"{args.name}.hdrnn", model, accuracy, n, args.name)
    card = _write(
        args.out,
        args.name,
        recipe=recipe,
        model=model,
        seconds=seconds,
        accuracy=accuracy,
        n_train=n,
        notes=notes,
    )
    checkpoint.unlink(missing_ok=True)
    print(card.as_text())
    return 0


def _with_flagged_ones(X, y, recipe):
    """The training digits, followed by the recipe's flagged copies of their 1s."""
    flagged = flag_ones(X, y, recipe.get("flagged_ones", 0), recipe["seed"])
    return np.vstack([X, flagged]), np.concatenate([y, np.ones(len(flagged), dtype=y.dtype)])


def _train(recipe, X, y, checkpoint):
    """Train epoch by epoch from the checkpoint, if any; return the model and training seconds."""
    model, done = _resume(recipe, checkpoint)
    classes = np.arange(10)
    for epoch in range(done, recipe["epochs"]):
        model.set_params(random_state=recipe["seed"] * 1000 + epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(X, y, classes=classes)
        record = model.history_[-1]
        print(
            f"epoch {epoch + 1}/{recipe['epochs']}: loss {record['loss']:.4f}, "
            f"{record['seconds']:.1f} s",
            flush=True,
        )
        save(model, checkpoint, info={"recipe": _recipe_key(recipe), "epochs_done": epoch + 1})
    return model, sum(record["seconds"] for record in model.history_)


def _recipe_key(recipe):
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _resume(recipe, checkpoint):
    """The model to continue from and the epochs it has done (a fresh one without checkpoint)."""
    if checkpoint.exists():
        model, metadata = load_with_metadata(checkpoint)
        info = metadata["info"]
        if info.get("recipe") == _recipe_key(recipe):
            print(f"resuming from {checkpoint} after epoch {info['epochs_done']}", flush=True)
            return model, int(info["epochs_done"])
        print(f"{checkpoint} is from another recipe: starting again", flush=True)
    params = dict(recipe["params"], max_iter=recipe["epochs"])
    params["hidden_layer_sizes"] = tuple(params["hidden_layer_sizes"])
    return DigitMLPClassifier(**params), 0


def machine():
    """The CPU and its cores, as a card states where a model was trained."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as file:
            cpu = next(line.split(":", 1)[1].strip() for line in file if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores"


def built_with():
    """The hdrnn, NumPy and Python versions and the date, as a card states them."""
    return (
        f"hdrnn {__version__}, NumPy {np.__version__}, Python {sys.version.split()[0]}, "
        f"{datetime.date.today().isoformat()}"
    )


def _save(path, model, accuracy, n_train, name):
    """Save the built model where its card says it is."""
    info = {
        "dataset": f"MNIST ({n_train} training digits)",
        "test_accuracy": accuracy["mnist_test"],
        "test_data": "the 10000 MNIST test images",
        "preset": f"pretrained {name}",
    }
    save(model, path, info=info, optimizer_state=False)  # a third of the size


def _write(out, name, *, recipe, model, seconds, accuracy, n_train, notes):
    """Write ``<name>.json`` for the model in ``<name>.hdrnn``; return the card.

    When the file is the one the old card describes (``--evaluate-only``
    measures it again; saving it again would change its bytes and hash for
    nothing), the card keeps the build's ``built_with``.
    """
    path, card_path = out / f"{name}.hdrnn", out / f"{name}.json"
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    built = built_with()
    if card_path.exists():
        old = json.loads(card_path.read_text())
        if old.get("sha256") == sha256:
            built = old.get("built_with", built)
    units = [model.n_features_in_, *(W.shape[1] for W in model.coefs_)]
    card = ModelCard(
        name=name,
        summary=recipe["summary"],
        architecture="-".join(map(str, units)) + f" {model.activation}",
        training_data=_training_data(n_train, recipe.get("flagged_ones", 0)),
        recipe={
            "params": recipe["params"],
            "epochs": recipe["epochs"],
            "flagged_ones": recipe.get("flagged_ones", 0),
            "seeds": "seed*1000+epoch",
        },
        seed=recipe["seed"],
        training_time=f"{seconds / 60:.1f} minutes on {machine()}",
        sha256=sha256,
        accuracy=accuracy,
        weaknesses=[*recipe["weaknesses"], *notes],
        weights_licence=LICENCE,
        built_with=built,
    )
    card_path.write_text(json.dumps(card.__dict__, indent=2) + "\n")
    return card


def _training_data(n_train, n_flagged):
    """The card's words for the training data."""
    words = f"the first {n_train} MNIST training digits (LeCun, Cortes and Burges)"
    if n_flagged:
        words += f", and {n_flagged} copies of their 1s given a European flag (seed: the recipe's)"
    return words


if __name__ == "__main__":
    sys.exit(main())
