"""Accuracy and time of reading whole numbers (``hdrnn.reading.read_number``).

Usage::

    python benchmarks/reading.py --data-dir ../shared/data/mnist \\
        [--model mnist.hdrnn] [--numbers 100] [--seed 0] [--trust-pickle]

Numbers of 2-10 digits are composed from MNIST **test** digits only (never
its training digits) with ``hdrnn.datasets.synthetic.compose_number``, at
each spacing kind (apart, close, touching, overlapping), and read twice:
as clean ink, and photographed (``synthetic.photograph``: paper, shading,
noise, blur, JPEG). Prints, per kind, the share of numbers read exactly,
the share of digits read right (position by position, when the number of
digits is right) and the mean time per number inside Python.

Without ``--model`` the shipped model is used (``load_pretrained``), or,
when it cannot be loaded, a model is trained on MNIST for a few epochs.
Nothing here is a test; the images are generated, never shipped.
"""

import argparse
import time
from pathlib import Path

import joblib
import numpy as np

from hdrnn import DigitMLPClassifier, load, load_mnist
from hdrnn.datasets import synthetic
from hdrnn.reading import read_number


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="MNIST IDX folder")
    parser.add_argument("--model", type=Path, help="a model file (default: the shipped one)")
    parser.add_argument("--trust-pickle", action="store_true", help="--model is a joblib file")
    parser.add_argument("--numbers", type=int, default=100, help="numbers per spacing kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=5, help="epochs if a model is trained")
    return parser.parse_args(argv)


def get_model(args, mnist):
    if args.model is not None:
        return joblib.load(args.model) if args.trust_pickle else load(args.model)
    try:
        from hdrnn import load_pretrained

        return load_pretrained()
    except Exception as error:  # the shipped file may not be built yet
        print(f"shipped model unavailable ({error}); training {args.epochs} epochs on MNIST")
    n = mnist.n_train
    model = DigitMLPClassifier(max_iter=args.epochs, random_state=args.seed)
    return model.fit(mnist.data[:n], mnist.target[:n])


def score(model, numbers, truths, photos):
    """``(exact, digit accuracy, seconds per number)`` over one set of numbers."""
    exact = right = total = 0
    start = time.perf_counter()
    texts = [read_number(image, model, min_confidence=0.0).text for image in photos or numbers]
    seconds = (time.perf_counter() - start) / len(numbers)
    for text, truth in zip(texts, truths):
        exact += text == truth.text
        total += len(truth.text)
        if len(text) == len(truth.text):
            right += sum(a == b for a, b in zip(text, truth.text))
    return exact / len(truths), right / total, seconds


def main(argv=None):
    args = parse_args(argv)
    mnist = load_mnist(source=args.data_dir, download_if_missing=False)
    model = get_model(args, mnist)
    n = mnist.n_train
    pool = mnist.data[n:].reshape(-1, 28, 28)  # MNIST's test digits only
    pool_labels = mnist.target[n:]
    rng = np.random.default_rng(args.seed)
    print(f"{args.numbers} numbers of 2-10 digits per kind, MNIST test digits, seed {args.seed}\n")
    print(f"{'spacing':<12} {'look':<6} {'exact':>7} {'digits':>7} {'ms/number':>10}")
    totals = {}
    for kind in synthetic.SPACINGS:
        numbers, truths = synthetic.make_numbers(
            pool, pool_labels, args.numbers, rng, lengths=(2, 10), spacing=kind
        )
        photos = [synthetic.photograph(number, rng) for number in numbers]
        for look, images in (("ink", None), ("photo", photos)):
            exact, digits, seconds = score(model, numbers, truths, images)
            totals.setdefault(look, []).append(exact)
            print(f"{kind:<12} {look:<6} {exact:>7.1%} {digits:>7.1%} {1000 * seconds:>10.1f}")
    for look, values in totals.items():
        print(f"{'all':<12} {look:<6} {np.mean(values):>7.1%}")


if __name__ == "__main__":
    main()
