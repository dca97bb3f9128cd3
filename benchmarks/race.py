"""Race to accuracy: seconds to 98% and 99% on MNIST, hdrnn vs MLPClassifier vs PyTorch.

Usage::

    python benchmarks/race.py --data-dir ../shared/data/mnist [--seeds 3] [--out race.md]

Each race runs one of hdrnn's presets (``hdrnn.presets``) as the recipe of
all three contenders (``_recipes.py`` says how MLPClassifier and PyTorch
follow it), each in its own process without the ``OPENBLAS_*`` developer
overrides. 5 000 training digits are held out; after every epoch (untimed)
the contender's accuracy on them is checked, and the first time it reaches
the target the training seconds so far and the *test* accuracy of that
model are recorded. A contender that has not reached the target when its
recipe ends (or after ``--max-seconds``) did not reach it.
"""

import argparse
import datetime
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

from _recipes import defaults_recipe
from contenders import SETTLE_SECONDS, Worker, torch_installed

from hdrnn.presets import PRESETS, preset_params

RACES = (("fast98", 0.98), ("fast99", 0.99))
HELD_OUT = 5000
HERE = Path(__file__).parent


def recipe_of(preset):
    """A preset's parameters as a recipe dict of ``_recipes.py``."""
    params = preset_params(preset)
    recipe = defaults_recipe(
        params["hidden_layer_sizes"], params.get("batch_size", "auto"), params["max_iter"]
    )
    recipe.update(
        learning_rate=params.get("learning_rate_init", 1e-3),
        schedule=params.get("learning_rate", "constant"),
        warmup_epochs=params.get("warmup_epochs", 0),
        init=params.get("init", "glorot"),
        dropout=params.get("dropout", 0.0),
        augment=params.get("augment"),
    )
    return recipe


def run_races(workers, seeds, max_seconds):
    """{preset: {contender: [race result per seed]}}, contenders taking turns."""

    results = {}
    for preset, target in RACES:
        recipe, by_name = recipe_of(preset), {worker.name: [] for worker in workers}
        for seed in seeds:
            shift = seed % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                time.sleep(SETTLE_SECONDS)
                answer = worker.call(
                    "race",
                    recipe=recipe,
                    seed=seed,
                    targets=[target],
                    held_out=HELD_OUT,
                    max_seconds=max_seconds,
                )
                by_name[worker.name].append(answer)
                print(preset, worker.name, seed, answer["reached"], flush=True)
        results[preset] = by_name
    return results


def _cell(answer, target):
    reached = answer["reached"][str(target)]
    if reached is None:
        return f"not reached ({answer['curve'][-1][1]:.0f} s, {len(answer['curve'])} epochs)"
    seconds, epoch, test = reached["seconds"], reached["epoch"], reached["test_accuracy"]
    return f"{seconds:.1f} s (epoch {epoch}, test {test:.2%})"


def _median_seconds(answers, target):
    # a seed that did not reach the target counts as slower than all that did
    times = [a["reached"][str(target)] for a in answers]
    median = statistics.median_high([math.inf if t is None else t["seconds"] for t in times])
    return "not reached" if math.isinf(median) else f"**{median:.1f} s**"


def report(results, seeds, date):
    lines = [
        "# Race to accuracy",
        "",
        f"{date}; seeds {', '.join(map(str, seeds))}; "
        f"{HELD_OUT} training digits held out and checked after every epoch; seconds of "
        "training (checks excluded) until the held-out accuracy first reached the target, "
        "with the test accuracy of the model at that moment. A seed that never reached the target "
        "counts as the slowest for the median.",
    ]
    for preset, target in RACES:
        info = PRESETS[preset]
        lines += [
            "",
            f"**{target:.0%}: preset `{preset}`** ({info.summary}).",
            "",
            "| contender | "
            + " | ".join(f"seed {s}" for s in seeds)
            + " | median time | test accuracy at the end, median |",
            "|---" * (len(seeds) + 3) + "|",
        ]
        for name, answers in results[preset].items():
            cells = [_cell(answer, target) for answer in answers]
            final = statistics.median(a["final_test_accuracy"] for a in answers)
            lines.append(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {_median_seconds(answers, target)} | {final:.2%} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--out", type=Path, default=HERE / "race.md")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite race.md from the last race.json"
    )
    args = parser.parse_args(argv)
    saved = args.out.with_suffix(".json")
    if args.report_only:
        measured = json.loads(saved.read_text())
        args.out.write_text(report(measured["results"], measured["seeds"], measured["date"]))
        return 0
    names = ["hdrnn", "MLPClassifier"] + (["PyTorch"] if torch_installed() else [])
    workers = [Worker(name, args.data_dir) for name in names]
    seeds = list(range(args.seeds))
    try:
        for worker in workers:
            worker.call("warm_up")
        results = run_races(workers, seeds, args.max_seconds)
    finally:
        for worker in workers:
            worker.close()
    date = datetime.date.today().isoformat()
    saved.write_text(json.dumps({"results": results, "seeds": seeds, "date": date}, indent=1))
    text = report(results, seeds, date)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
