"""The ``accurate`` preset: 99.2%+ MNIST test accuracy with an MLP in a few minutes.

Usage::

    python benchmarks/recipe.py --data-dir ../shared/data/mnist [--seed 0]

A wide network (784-800-800-10, He initialisation), dropout 0.2 on both
hidden layers, elastic distortions of every training digit (with shifts,
rotations and zooms), Adam with a 2-epoch warm-up and cosine decay over 50
epochs, batches of 128 (``hdrnn.presets``). The test set is used once, at
the end. Run it as users do: without the ``OPENBLAS_*`` developer overrides
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/recipe.py``).
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier, load_mnist
from hdrnn.presets import preset_params

RECIPE = preset_params("accurate")  # the preset of `hdrnn train --preset accurate`


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=RECIPE["max_iter"])
    args = parser.parse_args(argv)
    X_train, X_test, y_train, y_test = load_mnist(source=args.data_dir, return_X_y=True)
    model = DigitMLPClassifier(
        **{**RECIPE, "max_iter": args.epochs}, random_state=args.seed, verbose=True
    )
    start = time.perf_counter()
    with warnings.catch_warnings():  # the schedule ends at max_iter: that is the plan
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train)
    minutes = (time.perf_counter() - start) / 60
    print(
        f"\nseed {args.seed}: test accuracy {model.score(X_test, y_test):.2%} "
        f"after {model.n_iter_} epochs, {minutes:.1f} minutes of training"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
