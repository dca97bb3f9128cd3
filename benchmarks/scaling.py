"""Scaling out and serving, measured: dask searches, out-of-core epochs, ONNX Runtime.

Usage::

    python benchmarks/scaling.py --data-dir ../shared/data/mnist \\
        [--repeats 3] [--out benchmarks/scaling.md] [--plot benchmarks/scaling.png]

Three measurements on full MNIST, each a median of ``--repeats`` runs:

1. **Search throughput**: the same grid search (4 candidates x 3 folds on
   20 000 training digits, 5 epochs each) on local dask clusters of 1 and of
   2 worker processes, and of one worker running 2 fits in threads with and
   without :func:`hdrnn.distributed.limit_blas_threads`, in candidates per
   minute.
2. **Out-of-core epoch**: MNIST's training set, 5 distorted copies (300 000
   digits), stored as bytes in a memory-mapped ``.npy`` (235 MB; 940 MB as
   float32). One epoch of ``partial_fit`` over blocks of 10 000 rows read from
   the file, against one epoch of ``fit`` on the whole set loaded in memory:
   seconds and peak memory (``tracemalloc``).
3. **ONNX Runtime vs predict_proba**: images per second on the 10 000 test
   digits, the default network, float32.

Like ``run.py``, it runs without ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE``
(users do not have them): if they are set, the script restarts itself
without them. Nothing here is a test.
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import hdrnn
from hdrnn import DigitMLPClassifier, load_mnist
from hdrnn.augmentation import Augmentation, BatchAugmenter

USERS_ENVIRONMENT_WITHOUT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
GRID = {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-3]}
SEARCH_ROWS, SEARCH_EPOCHS, FOLDS = 20_000, 5, 3
COPIES, BLOCK_ROWS = 5, 10_000


def as_users_run_it():
    """Restart without the development machines' OpenBLAS overrides, if they are set."""
    if any(name in os.environ for name in USERS_ENVIRONMENT_WITHOUT):
        env = {k: v for k, v in os.environ.items() if k not in USERS_ENVIRONMENT_WITHOUT}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)


# ------------------------------------------------------------------ 1. searches on dask


# name: (worker processes?, workers, threads per worker, limit_blas_threads?)
CLUSTERS = {
    "1 worker process, BLAS on both cores": (True, 1, 1, True),
    "2 worker processes, BLAS 1 thread each": (True, 2, 1, True),
    "1 worker, 2 fits in threads, BLAS unlimited (4 busy threads)": (False, 1, 2, False),
    "1 worker, 2 fits in threads, limit_blas_threads (1 each)": (False, 1, 2, True),
}


def search_seconds(X, y, cluster_shape):
    import joblib
    from distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    from hdrnn.distributed import limit_blas_threads, search_data

    processes, n_workers, threads, limit = cluster_shape
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads,
            processes=processes,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        if limit:
            limit_blas_threads(client)
        splits, scatter = search_data(X, y, cv=FOLDS)
        model = DigitMLPClassifier(max_iter=SEARCH_EPOCHS, random_state=0)
        search = GridSearchCV(model, GRID, cv=splits, refit=False)
        start = time.perf_counter()
        with warnings.catch_warnings(), joblib.parallel_config(backend="dask", scatter=scatter):
            warnings.simplefilter("ignore", ConvergenceWarning)
            search.fit(X, y)
        return time.perf_counter() - start


# ------------------------------------------------------------------ 2. out of core


def write_augmented(X, path):
    """MNIST's training digits, COPIES times distorted, as bytes in a memory-mapped .npy."""
    stored = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.uint8, shape=(COPIES * len(X), 784)
    )
    augmenter = BatchAugmenter(
        Augmentation.preset("affine", (28, 28)), (28, 28), 10_000, np.float32
    )
    rng = np.random.default_rng(0)
    for copy in range(COPIES):
        for start in range(0, len(X), 10_000):
            batch = X[start : start + 10_000].copy()
            augmenter(batch, rng)
            row = copy * len(X) + start
            stored[row : row + len(batch)] = np.clip(np.rint(255 * batch), 0, 255)
    stored.flush()


def streamed_epoch(path, y, seed):
    """Seconds and peak bytes of one epoch of partial_fit over blocks read from the file."""
    X = np.load(path, mmap_mode="r")
    model = DigitMLPClassifier(random_state=seed)
    order = np.random.default_rng(seed).permutation(np.arange(0, len(y), BLOCK_ROWS))
    tracemalloc.start()
    start = time.perf_counter()
    for first in order:
        block = np.asarray(X[first : first + BLOCK_ROWS], dtype=np.float32) / 255
        model.partial_fit(block, y[first : first + BLOCK_ROWS], classes=range(10))
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


def in_memory_epoch(path, y, seed):
    """Seconds and peak bytes of loading the whole set as float32 and one epoch of fit."""
    tracemalloc.start()
    X = np.load(path).astype(np.float32) / 255
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        DigitMLPClassifier(max_iter=1, random_state=seed).fit(X, y)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return seconds, peak


# ------------------------------------------------------------------ 3. ONNX Runtime


def images_per_second(predict, X, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(X)
        times.append(time.perf_counter() - start)
    return len(X) / statistics.median(times)


def onnx_throughput(model, X, repeats):
    import onnxruntime

    from hdrnn.onnx import to_onnx

    session = onnxruntime.InferenceSession(
        to_onnx(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    ours = images_per_second(model.predict_proba, X, repeats)
    theirs = images_per_second(lambda X: session.run(["probabilities"], {"X": X}), X, repeats)
    return ours, theirs, onnxruntime.__version__


# ------------------------------------------------------------------ report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args()
    as_users_run_it()
    X_train, X_test, y_train, _ = load_mnist(source=args.data_dir, return_X_y=True)
    rows = []

    per_minute = {}
    candidates = len(GRID["alpha"]) * len(GRID["hidden_layer_sizes"])
    for name, shape in CLUSTERS.items():
        seconds = statistics.median(
            search_seconds(X_train[:SEARCH_ROWS], y_train[:SEARCH_ROWS], shape)
            for _ in range(args.repeats)
        )
        per_minute[name] = candidates / seconds * 60
        rows.append((f"search on dask, {name}: candidates per minute", f"{per_minute[name]:.1f}"))

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mnist-x5.npy"
        write_augmented(X_train, path)
        y = np.tile(y_train, COPIES)
        streamed = [streamed_epoch(path, y, seed) for seed in range(args.repeats)]
        loaded = [in_memory_epoch(path, y, seed) for seed in range(args.repeats)]
    epoch = {
        "out of core": statistics.median(s for s, _ in streamed),
        "in memory": statistics.median(s for s, _ in loaded),
    }
    peak = {"out of core": max(p for _, p in streamed), "in memory": max(p for _, p in loaded)}
    for kind in epoch:
        rows.append((f"epoch of {COPIES * 60_000} digits, {kind}: seconds", f"{epoch[kind]:.2f}"))
        rows.append(
            (
                f"epoch of {COPIES * 60_000} digits, {kind}: peak memory",
                f"{peak[kind] / 2**20:.0f} MiB",
            )
        )
    rows.append(
        (
            "out-of-core epoch time / in-memory",
            f"**{epoch['out of core'] / epoch['in memory']:.2f}x**",
        )
    )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DigitMLPClassifier(max_iter=5, random_state=0).fit(X_train, y_train)
    ours, theirs, version = onnx_throughput(model, X_test, repeats=max(7, args.repeats))
    rows.append(("predict_proba, 10 000 images, hdrnn: images/s", f"{ours:,.0f}"))
    rows.append(
        (f"predict_proba, 10 000 images, ONNX Runtime {version}: images/s", f"{theirs:,.0f}")
    )
    rows.append(("ONNX Runtime / hdrnn", f"**{theirs / ours:.2f}x**"))

    text = report(rows, args.repeats)
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.plot:
        plot(per_minute, epoch, peak, (ours, theirs), args.plot)


def report(rows, repeats):
    lines = [
        f"# Scaling out and serving ({datetime.date.today()}, medians of {repeats})",
        "",
        "| measurement | value |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
        f"{platform.python_version()}, numpy {np.__version__}, hdrnn {hdrnn.__version__}; "
        "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset.",
    ]
    return "\n".join(lines) + "\n"


def plot(per_minute, epoch, peak, throughput, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    figure, axes = plt.subplots(1, 4, figsize=(12, 3), layout="constrained")
    bars = [
        (
            axes[0],
            ["1 worker", "2 workers"],
            list(per_minute.values()),
            "candidates / minute",
            "dask search",
        ),
        (axes[1], list(epoch), list(epoch.values()), "seconds", "one epoch, 300 000 digits"),
        (axes[2], list(peak), [p / 2**20 for p in peak.values()], "MiB", "peak memory"),
        (axes[3], ["hdrnn", "ONNX Runtime"], list(throughput), "images / second", "predict_proba"),
    ]
    for ax, labels, values, unit, title in bars:
        ax.bar(labels, values, color=["#2563eb", "#e08a00", "#9ca3af", "#15803d"][: len(values)])
        ax.set_ylabel(unit)
        ax.set_title(title)
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
