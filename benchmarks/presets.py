"""What each training preset gives: MNIST test accuracy and training time, for 3 seeds.

Usage::

    python benchmarks/presets.py --data-dir ../shared/data/mnist [--seeds 3] [--presets NAME ...]

Each preset of ``hdrnn.presets`` is trained on the 60 000 training digits
and scored on the 10 000 test digits, in a process of its own without the
``OPENBLAS_*`` developer overrides (``contenders.py``). These are the numbers
``hdrnn train --help`` and the user guide quote. ``accurate`` takes minutes
per seed (``recipe.py`` runs it alone).
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

from contenders import SETTLE_SECONDS, Worker

from hdrnn.presets import PRESETS

HERE = Path(__file__).parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--presets", nargs="+", default=["default", "fast98", "fast99"])
    parser.add_argument("--out", type=Path, default=HERE / "presets.md")
    args = parser.parse_args(argv)

    worker = Worker("hdrnn", args.data_dir)
    lines = [
        "# What the presets give",
        "",
        f"{datetime.date.today().isoformat()}; MNIST, 60 000 training and 10 000 test digits; "
        "hdrnn with its `fast` extra; seconds of `fit`.",
        "",
        "| preset | test accuracy, median | seeds | training time, median |",
        "|---|---|---|---|",
    ]
    try:
        worker.call("warm_up")
        for name in args.presets:
            runs = []
            for seed in range(args.seeds):
                time.sleep(SETTLE_SECONDS)
                runs.append(worker.call("preset", name=name, seed=seed))
                print(name, seed, runs[-1], flush=True)
            accuracy = statistics.median(run["accuracy"] for run in runs)
            seconds = statistics.median(run["seconds"] for run in runs)
            each = ", ".join(f"{run['accuracy']:.2%}" for run in runs)
            summary = PRESETS[name].summary
            lines.append(f"| `{name}` ({summary}) | {accuracy:.2%} | {each} | {seconds:.1f} s |")
    finally:
        worker.close()
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
