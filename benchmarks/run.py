"""hdrnn against its matmul floor, MLPClassifier and PyTorch, side by side on full MNIST.

Usage::

    python benchmarks/run.py --data-dir ../shared/data/mnist [--repeats 5] [--out results.md]

Every contender runs in its own process (``contenders.py``), as users run
it: without the ``OPENBLAS_*`` developer overrides, with its own BLAS
threads. Inside every repeat the contenders take turns (rotating order,
after half a second of idle time), so the noise of a shared machine hits
them alike; the tables give medians, the targets ratios of medians. The
``floor`` contender times the same matrix products at the same shapes and
nothing else. ``race.py`` writes ``race.md``, which the report includes.
Nothing here is a test: timings never appear in the test suite.
"""

import argparse
import datetime
import json
import os
import statistics
import sys
from pathlib import Path

from contenders import Worker, interleaved, torch_installed

SMALL, WIDE = (128, 64), (800, 800)
HERE = Path(__file__).parent


def _median(answers, key="seconds"):
    return {name: statistics.median(a[key] for a in runs) for name, runs in answers.items()}


def measure(workers, repeats, epochs):
    """Every timing of the report: {measurement: {contender: median}}."""
    every = list(workers.values())
    numpy_side = [w for w in every if w.name != "PyTorch"]
    results = {}
    for label, hidden, dtype, batch, these, times, n_epochs in (
        ("784-128-64-10, float32", SMALL, "float32", 128, every, repeats, epochs),
        ("784-800-800-10, float32", WIDE, "float32", 128, every, max(3, repeats // 2), 1),
        ("784-128-64-10, float64", SMALL, "float64", 128, numpy_side, repeats, epochs),
    ):
        if hidden == WIDE:  # MLPClassifier would take minutes here and has no target
            these = [w for w in these if w.name != "MLPClassifier"]
        answers = interleaved(
            these, times, "epoch", hidden=hidden, batch_size=batch, dtype=dtype, epochs=n_epochs
        )
        results[label] = _median(answers)
        print(label, results[label], flush=True)
    predictors = [w for w in every if w.name in ("floor", "hdrnn", "MLPClassifier")]
    for dtype in ("float64", "float32"):
        answers = interleaved(predictors, repeats * 2, "predict", dtype=dtype)
        results[f"predict_proba, 10 000 {dtype} images"] = _median(answers)
    for name in ("hdrnn", "MLPClassifier"):
        results.setdefault("memory", {})[name] = workers[name].call("memory")["peak_over_X"]
    return results


def parity(workers, seeds, epochs=20):
    """Test accuracy of both defaults after ``epochs`` epochs, for each seed."""
    return {
        name: [workers[name].call("parity", seed=seed, epochs=epochs) for seed in seeds]
        for name in ("hdrnn", "MLPClassifier")
    }


# ------------------------------------------------------------------ report


def _seconds(value):
    return f"{value:.3g} s" if value < 1 else f"{value:.2f} s"


def epoch_table(results):
    names = ["floor", "hdrnn", "hdrnn NumPy only", "MLPClassifier", "PyTorch"]
    lines = [
        "| seconds per epoch, batch 128 | " + " | ".join(names) + " |",
        "|---" * (len(names) + 1) + "|",
    ]
    for label, times in results.items():
        if label.startswith("784"):
            cells = [_seconds(times[n]) if n in times else "" for n in names]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets(results, accuracy):
    """Rows of (what, target, measured, met) for the issue's targets."""
    small, wide = results["784-128-64-10, float32"], results["784-800-800-10, float32"]
    small64 = results["784-128-64-10, float64"]
    p64 = results["predict_proba, 10 000 float64 images"]
    p32 = results["predict_proba, 10 000 float32 images"]
    rows = [
        ("784-128-64-10 epoch / its matmul floor", "≤ 1.5x", small["hdrnn"] / small["floor"]),
        ("784-800-800-10 epoch / its matmul floor", "≤ 1.4x", wide["hdrnn"] / wide["floor"]),
        ("MLPClassifier / hdrnn, 784-128-64-10", "≥ 2.5x", small["MLPClassifier"] / small["hdrnn"]),
        (
            "MLPClassifier / hdrnn NumPy only, 784-128-64-10",
            "≥ 2.0x",
            small["MLPClassifier"] / small["hdrnn NumPy only"],
        ),
        ("MLPClassifier / hdrnn, float64", "(none)", small64["MLPClassifier"] / small64["hdrnn"]),
        (
            "predict_proba float64: MLPClassifier / hdrnn",
            "≥ 2.5x",
            p64["MLPClassifier"] / p64["hdrnn"],
        ),
        ("predict_proba float64 / its matmul floor", "≤ 1.3x", p64["hdrnn"] / p64["floor"]),
        ("predict_proba float32 / its matmul floor", "≤ 1.3x", p32["hdrnn"] / p32["floor"]),
        ("fit extra memory / bytes of X", "≤ 0.5x", results["memory"]["hdrnn"]),
    ]
    if "PyTorch" in small:
        rows[3:3] = [
            ("PyTorch / hdrnn, 784-128-64-10", "≥ 1.5x", small["PyTorch"] / small["hdrnn"]),
            ("PyTorch / hdrnn, 784-800-800-10", "≥ 1.3x", wide["PyTorch"] / wide["hdrnn"]),
        ]
    if accuracy:
        ours, theirs = (
            statistics.median(run["accuracy"] for run in accuracy[name])
            for name in ("hdrnn", "MLPClassifier")
        )
        rows.append(
            (
                "default accuracy after 20 epochs, hdrnn minus MLPClassifier (points)",
                "within 0.2",
                100 * (ours - theirs),
            )
        )
    return rows


def _met(target, value):
    number = float(target.split()[-1].rstrip("x"))
    if target.startswith("≤"):
        return value <= number
    if target.startswith("≥"):
        return value >= number
    if target.startswith("within"):
        return abs(value) <= number
    return None


def targets_table(rows):
    lines = ["| measurement | target | measured | met |", "|---|---|---|---|"]
    for what, target, value in rows:
        met = _met(target, value) if target != "(none)" else None
        shown = f"{value:+.2f}" if target.startswith("within") else f"{value:.2f}x"
        mark = "" if met is None else ("yes" if met else "**no**")
        lines.append(f"| {what} | {target} | {shown} | {mark} |")
    return "\n".join(lines)


def other_tables(results, accuracy):
    lines = [
        "| predict_proba, 10 000 test digits | floor | hdrnn | MLPClassifier |",
        "|---|---|---|---|",
    ]
    for dtype in ("float64", "float32"):
        times = results[f"predict_proba, 10 000 {dtype} images"]
        cells = [f"{1e3 * times[n]:.1f} ms" for n in ("floor", "hdrnn", "MLPClassifier")]
        lines.append(f"| {dtype} input | " + " | ".join(cells) + " |")
    memory = results["memory"]
    lines += [
        "",
        "| fit, one epoch: peak extra memory / bytes of X (188 MB) | hdrnn | MLPClassifier |",
        "|---|---|---|",
        f"| tracemalloc peak | {memory['hdrnn']:.2f} | {memory['MLPClassifier']:.2f} |",
    ]
    if accuracy:
        lines += [
            "",
            "| defaults, 20 epochs | test accuracy, median | seeds 0, 1, 2 "
            "| training seconds, median |",
            "|---|---|---|---|",
        ]
        for name, runs in accuracy.items():
            each = ", ".join(f"{run['accuracy']:.2%}" for run in runs)
            median = statistics.median(run["accuracy"] for run in runs)
            seconds = statistics.median(run["seconds"] for run in runs)
            lines.append(f"| {name} | {median:.2%} | {each} | {seconds:.1f} s |")
    return "\n".join(lines)


def machine_section(machines, date):
    first = machines["hdrnn"]
    lines = [
        f"- date: {date}",
        f"- CPU: {first['cpu']}, {first['cores']} cores",
        f"- vector extensions: {', '.join(first['vector_extensions'])}",
        f"- Python {first['python']}; "
        + "; ".join(f"{k} {v}" for k, v in first["versions"].items()),
        "- developer overrides in the contenders' environment: "
        + ", ".join(f"{k}={v}" for k, v in first["developer_variables"].items()),
    ]
    for name, machine in machines.items():
        lines.append(f"- BLAS seen by {name}: " + "; ".join(machine["blas"]))
    if "PyTorch" in machines:
        lines.append(
            "- PyTorch: "
            + ", ".join(f"{k} {v}" for k, v in machines["PyTorch"]["versions"].items())
        )
    return "\n".join(lines)


def report(results, accuracy, machines, repeats, date=None):
    race = HERE / "race.md"
    parts = [
        "# hdrnn benchmark results",
        f"Medians of {repeats} interleaved repeats, each contender in its own process.",
        "## Machine",
        machine_section(machines, date or datetime.date.today().isoformat()),
        "## Targets",
        targets_table(targets(results, accuracy)),
        "## Training",
        epoch_table(results),
        "## Prediction, memory, default accuracy",
        other_tables(results, accuracy),
    ]
    if race.exists():
        parts += ["## Race to accuracy (race.md)", race.read_text().split("\n", 1)[1].strip()]
    return "\n\n".join(parts) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed fit")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the default accuracy")
    parser.add_argument("--out", type=Path, default=HERE / "results.md")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite the report from the last results.json"
    )
    args = parser.parse_args(argv)
    saved = args.out.with_suffix(".json")
    if args.report_only:
        measured = json.loads(saved.read_text())
        args.out.write_text(report(**measured))
        return 0
    names = ["floor", "hdrnn", "hdrnn NumPy only", "MLPClassifier"]
    names += ["PyTorch"] if torch_installed() else []
    workers = {name: Worker(name, args.data_dir) for name in names}
    try:
        machines = {name: worker.call("machine") for name, worker in workers.items()}
        for worker in workers.values():
            worker.call("warm_up")
        results = measure(workers, args.repeats, args.epochs)
        accuracy = None if args.skip_accuracy else parity(workers, range(args.seeds))
    finally:
        for worker in workers.values():
            worker.close()
    measured = dict(results=results, accuracy=accuracy, machines=machines, repeats=args.repeats)
    saved.write_text(json.dumps({**measured, "date": datetime.date.today().isoformat()}, indent=1))
    text = report(**measured)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
