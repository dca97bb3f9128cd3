"""hdrnn against MLPClassifier (and PyTorch, when installed), side by side on full MNIST.

Usage::

    python benchmarks/run.py --data-dir ../shared/data/mnist [--repeats 5] [--out results.md]

Every measurement runs the contenders one after the other inside each
repeat (interleaved), so that the noise of a shared machine hits them alike,
and reports medians and ratios. It prints one markdown table and writes it
to ``--out``. Nothing here is a test: timings never appear in the test suite.
"""

import argparse
import datetime
import itertools
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_info

import hdrnn
from hdrnn import DigitMLPClassifier, load_mnist
from hdrnn.nn import _kernels

HIDDEN = (128, 64)
ALPHA = 1e-4  # the L2 penalty of both libraries' defaults


# ------------------------------------------------------------- contenders


def _hdrnn_fit(X, y, epochs, batch_size, hidden=HIDDEN, seed=0):
    clf = DigitMLPClassifier(
        hidden, max_iter=epochs, batch_size=batch_size, random_state=seed, tol=0
    )
    return clf.fit(X, y)


def _hdrnn_numpy_fit(X, y, epochs, batch_size, hidden=HIDDEN, seed=0):
    """hdrnn without its optional compiled kernels: the NumPy code alone."""
    with _kernels.use_kernels(False):
        return _hdrnn_fit(X, y, epochs, batch_size, hidden, seed)


def _sklearn_fit(X, y, epochs, batch_size, hidden=HIDDEN, seed=0):
    clf = MLPClassifier(hidden, max_iter=epochs, batch_size=batch_size, random_state=seed, tol=0)
    return clf.fit(X, y)


def _torch_available():
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_fit(X, y, epochs, batch_size, hidden=HIDDEN, seed=0):
    """The same network in PyTorch: fused Adam, manual batching, the same L2 penalty.

    ``weight_decay = alpha / batch_size`` adds MLPClassifier's (and
    hdrnn's) L2 gradient ``alpha / n * W`` inside the fused kernel; PyTorch
    also decays the biases, which costs it nothing.
    """
    import torch

    torch.manual_seed(seed)
    batch_size = 200 if batch_size == "auto" else batch_size
    layers, fan_in = [], X.shape[1]
    for units in hidden:
        layers += [torch.nn.Linear(fan_in, units), torch.nn.ReLU()]
        fan_in = units
    layers.append(torch.nn.Linear(fan_in, 10))
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(
        model.parameters(), lr=1e-3, weight_decay=ALPHA / batch_size, fused=True
    )
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    y_t = torch.from_numpy(y.astype(np.int64))
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(len(X_t), generator=generator)
        for start in range(0, len(X_t), batch_size):
            rows = order[start : start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(X_t[rows]), y_t[rows])
            loss.backward()
            optimizer.step()
    return model


# ------------------------------------------------------------ measurements


# Idle time before each timed run. OpenBLAS's and PyTorch's (OpenMP) worker
# threads keep spinning for up to ~0.2 s after their last job; without a pause
# they would steal the start of the next contender's run.
SETTLE_SECONDS = 0.5


def _median_seconds(contenders, repeats, run):
    """Interleave the contenders ``repeats`` times; return {name: median seconds}.

    The order rotates from one repeat to the next, so that no contender
    always runs first, or always right after the same other one.
    """
    times = {name: [] for name in contenders}
    names = list(contenders)
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            contender = contenders[name]
            time.sleep(SETTLE_SECONDS)
            start = time.perf_counter()
            run(contender)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def epoch_times(X, y, batch_size, repeats, epochs, with_torch, with_kernels):
    """Seconds per epoch of each contender on the same array."""
    contenders = {"hdrnn": _hdrnn_fit, "MLPClassifier": _sklearn_fit}
    if with_kernels:
        contenders["hdrnn NumPy only"] = _hdrnn_numpy_fit
    if with_torch:
        contenders["PyTorch"] = _torch_fit
    seconds = _median_seconds(contenders, repeats, lambda fit: fit(X, y, epochs, batch_size))
    return {name: value / epochs for name, value in seconds.items()}


def matmul_ceiling(size=2048, repeats=5):
    """The machine's float32 GFLOPS on one large matrix product (the BLAS at its best)."""
    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    best = min(_timed(lambda: np.matmul(a, b, out=out)) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def training_flops_per_epoch(n_samples, units):
    """Multiply-adds x 2 of one epoch: forward, weight gradients, hidden deltas."""
    layers = list(itertools.pairwise(units))
    forward = sum(a * b for a, b in layers)
    deltas = sum(a * b for a, b in layers[1:])  # no gradient for the input layer
    return 2 * n_samples * (2 * forward + deltas)


def predict_throughput(X_train, y_train, X_test_f64, repeats):
    """Images per second of predict_proba on float64 input, as fetch_openml gives it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = _hdrnn_fit(X_train, y_train, 1, "auto")
        theirs = _sklearn_fit(X_train, y_train, 1, "auto")
    seconds = _median_seconds(
        {"hdrnn": ours, "MLPClassifier": theirs},
        repeats,
        lambda model: model.predict_proba(X_test_f64),
    )
    return {name: len(X_test_f64) / value for name, value in seconds.items()}


def peak_fit_memory(X, y):
    """Peak bytes allocated during one epoch of fit, per contender (tracemalloc)."""
    peaks = {}
    for name, fit in (("hdrnn", _hdrnn_fit), ("MLPClassifier", _sklearn_fit)):
        tracemalloc.start()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit(X, y, 1, "auto")
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peaks


def accuracy_race(X_train, X_test, y_train, y_test, seeds, epochs=20, target=0.975):
    """Test accuracy after each epoch of the default estimators (partial_fit, untimed scoring).

    Each estimator gets a RandomState *instance*: with an integer seed both
    libraries would reseed at every partial_fit call and shuffle every epoch
    the same way, unlike fit.
    """
    results = {"hdrnn": [], "MLPClassifier": []}
    classes = np.unique(y_train)
    for seed in seeds:
        for name, cls in (("hdrnn", DigitMLPClassifier), ("MLPClassifier", MLPClassifier)):
            model = cls(HIDDEN, random_state=np.random.RandomState(seed))
            trained, reached, curve = 0.0, None, []
            for _epoch in range(1, epochs + 1):
                start = time.perf_counter()
                model.partial_fit(X_train, y_train, classes=classes)
                trained += time.perf_counter() - start
                curve.append(model.score(X_test, y_test))
                if reached is None and curve[-1] >= target:
                    reached = trained
            results[name].append({"final": curve[-1], "seconds_to_target": reached})
    return results


# ------------------------------------------------------------------ report


def _environment():
    blas = [
        f"{pool['internal_api']} {pool['version']} ({pool['num_threads']} threads)"
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]
    lines = [
        f"- date: {datetime.date.today().isoformat()}",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        f"- Python {platform.python_version()}, numpy {np.__version__}, scipy "
        f"{scipy.__version__}, scikit-learn {sklearn.__version__}, hdrnn {hdrnn.__version__}",
        f"- BLAS: {', '.join(dict.fromkeys(blas))}",
    ]
    if _kernels.get() is not None:
        import numba

        lines.append(f"- numba {numba.__version__}: hdrnn's compiled Adam and L2 kernels on")
    else:
        lines.append("- compiled kernels off (numba not installed, or HDRNN_NUMBA=0): NumPy only")
    if _torch_available():
        import torch

        lines.append(f"- PyTorch {torch.__version__} ({torch.get_num_threads()} threads)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("HDRNN_MNIST_DIR"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2, help="epochs per timed fit")
    parser.add_argument("--seeds", type=int, default=3, help="seeds of the accuracy race")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.md"))
    parser.add_argument("--skip-accuracy", action="store_true")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)

    X_train, X_test, y_train, y_test = load_mnist(source=args.data_dir, return_X_y=True)
    X64_train, X64_test = X_train.astype(np.float64), X_test.astype(np.float64)
    with_torch = _torch_available()
    # With numba installed, hdrnn runs Adam and the L2 term compiled; the
    # "NumPy only" rows show the same code without them.
    with_kernels = _kernels.get() is not None
    for dtype in (np.float32, np.float64):  # compile (or load) the kernels before timing
        _hdrnn_fit(X_train[:500].astype(dtype), y_train[:500], 1, "auto")
    rows = []

    def row(what, ours, theirs, unit="s", better="lower"):
        ratio = theirs / ours if better == "lower" else ours / theirs
        rows.append(f"| {what} | {ours:.3g} {unit} | {theirs:.3g} {unit} | **{ratio:.2f}x** |")
        print(rows[-1], flush=True)

    print("| measurement | hdrnn | other | hdrnn advantage |\n|---|---|---|---|")
    for batch in (128, "auto"):
        times = {}
        for dtype, X_fit, torch_here in (
            ("float32", X_train, with_torch),
            ("float64", X64_train, False),
        ):
            times[dtype] = seconds = epoch_times(
                X_fit, y_train, batch, args.repeats, args.epochs, torch_here, with_kernels
            )
            label = f"epoch, {dtype}, batch {batch}"
            row(f"{label}: vs MLPClassifier", seconds["hdrnn"], seconds["MLPClassifier"])
            if with_kernels:
                row(
                    f"{label}, NumPy only: vs MLPClassifier",
                    seconds["hdrnn NumPy only"],
                    seconds["MLPClassifier"],
                )
            if torch_here:
                row(f"{label}: vs PyTorch (fused Adam)", seconds["hdrnn"], seconds["PyTorch"])
        if batch == 128:
            units = (784, *HIDDEN, 10)
            achieved = training_flops_per_epoch(len(X_train), units) / times["float32"]["hdrnn"]
            achieved /= 1e9
            ceiling = matmul_ceiling()
            rows.append(
                f"| training GFLOPS at batch 128 vs float32 matmul ceiling | {achieved:.1f} "
                f"| {ceiling:.1f} | **{achieved / ceiling:.0%}** |"
            )
            print(rows[-1], flush=True)
    if with_torch:
        contenders = {"hdrnn": _hdrnn_fit, "PyTorch": _torch_fit}
        if with_kernels:
            contenders["hdrnn NumPy only"] = _hdrnn_numpy_fit
        wide = _median_seconds(
            contenders,
            max(3, args.repeats // 2),
            lambda fit: fit(X_train, y_train, 1, 128, hidden=(800, 800)),
        )
        row("epoch, 784-800-800-10, batch 128: vs PyTorch", wide["hdrnn"], wide["PyTorch"])
        if with_kernels:
            row(
                "epoch, 784-800-800-10, batch 128, NumPy only: vs PyTorch",
                wide["hdrnn NumPy only"],
                wide["PyTorch"],
            )

    speed = predict_throughput(X_train, y_train, X64_test, args.repeats)
    row(
        "predict_proba, 10 000 float64 images: vs MLPClassifier",
        speed["hdrnn"],
        speed["MLPClassifier"],
        "img/s",
        better="higher",
    )
    peaks = peak_fit_memory(X_train, y_train)
    rows.append(
        f"| fit peak extra memory / bytes of X (float32, {X_train.nbytes / 1e6:.0f} MB) "
        f"| {peaks['hdrnn'] / X_train.nbytes:.2f} | {peaks['MLPClassifier'] / X_train.nbytes:.2f}"
        " | (lower is better) |"
    )
    print(rows[-1], flush=True)
    if not args.skip_accuracy:
        race = accuracy_race(X_train, X_test, y_train, y_test, range(args.seeds))
        for name, runs in race.items():
            finals = [run["final"] for run in runs]
            reached = [run["seconds_to_target"] for run in runs]
            timed = [t for t in reached if t is not None]
            each = ", ".join(f"{final:.2%}" for final in finals)
            rows.append(
                f"| {name} defaults, 20 epochs: test accuracy (median of {len(runs)} seeds) "
                f"| {statistics.median(finals):.2%} ({each}) | seconds to 97.5%: "
                f"{statistics.median(timed) if timed else float('nan'):.1f} "
                f"({len(timed)}/{len(runs)} reached) | |"
            )
            print(rows[-1], flush=True)

    table = "\n".join(
        ["| measurement | hdrnn | other | hdrnn advantage |", "|---|---|---|---|", *rows]
    )
    report = f"{table}\n\n{_environment()}\n"
    args.out.write_text(report)
    print(f"\n{_environment()}\n\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
