"""One contender's process for the benchmarks (see ``contenders.py``).

Started as ``python _worker.py DATA_DIR``: loads MNIST once, then reads one
JSON request per line from stdin and writes one JSON answer per line to
stdout, until stdin closes. Every timing is taken here, around the work
alone; nothing of the request plumbing is timed.
"""

import json
import os
import platform
import sys
import time
import traceback
import tracemalloc
import warnings
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import _recipes

warnings.simplefilter("ignore")  # ConvergenceWarning of 1-epoch fits, and the like


class Data:
    """MNIST, loaded once per worker; float64 copies made when first asked for."""

    def __init__(self, data_dir):
        from hdrnn import load_mnist

        self.X_train, self.X_test, self.y_train, self.y_test = load_mnist(
            source=data_dir, return_X_y=True
        )
        self._float64 = {}

    def train(self, dtype="float32"):
        return self._cast("train", self.X_train, dtype)

    def test(self, dtype="float32"):
        return self._cast("test", self.X_test, dtype)

    def _cast(self, key, X, dtype):
        if dtype == "float32":
            return X
        if key not in self._float64:
            self._float64[key] = X.astype(np.float64)
        return self._float64[key]


# ----------------------------------------------------------------- fitting


def fit(contender, X, y, *, hidden, batch_size, epochs, seed=0):
    """Train ``contender`` for ``epochs`` epochs with the defaults' maths; return the model."""
    if contender.startswith("hdrnn"):
        from hdrnn import DigitMLPClassifier

        model = DigitMLPClassifier(
            hidden, max_iter=epochs, batch_size=batch_size, random_state=seed, tol=0
        )
        return model.fit(X, y)
    if contender == "MLPClassifier":
        from sklearn.neural_network import MLPClassifier

        model = MLPClassifier(
            hidden, max_iter=epochs, batch_size=batch_size, random_state=seed, tol=0
        )
        return model.fit(X, y)
    if contender == "PyTorch":
        return _recipes.torch_train(
            X, y, _recipes.defaults_recipe(hidden, batch_size, epochs), seed
        )
    raise ValueError(f"no fit for {contender}")


def matmul_floor(X, units, batch_size, epochs):
    """Seconds per epoch of a training epoch's matrix products alone.

    The products of forward and backward passes at the same shapes, on the
    same number of batches (contiguous slices of X: no gathering), into
    preallocated outputs, and nothing else: no bias, activation, loss or
    update.
    """
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.1, 0.1, (a, b)).astype(X.dtype) for a, b in pairwise(units)]
    outputs = [np.empty((batch_size, n), dtype=X.dtype) for n in units[1:]]
    # gradient-like values: an uninitialised buffer may hold denormals, which
    # would slow the products down and flatter the ratios above the floor
    deltas = [rng.normal(0.0, 1e-3, (batch_size, n)).astype(X.dtype) for n in units[1:]]
    grads = [np.empty_like(w) for w in weights]
    starts = range(0, len(X) - batch_size + 1, batch_size)
    start_time = time.perf_counter()
    for _ in range(epochs):
        for start in starts:
            inputs = [X[start : start + batch_size], *outputs[:-1]]
            for layer_input, weight, output in zip(inputs, weights, outputs):
                np.matmul(layer_input, weight, out=output)
            for i in range(len(weights) - 1, -1, -1):
                np.matmul(inputs[i].T, deltas[i], out=grads[i])
                if i:
                    np.matmul(deltas[i], weights[i].T, out=deltas[i - 1])
    full_batches = len(starts)
    all_batches = -(-len(X) // batch_size)  # the last, smaller batch costs about as much
    return (time.perf_counter() - start_time) / epochs * all_batches / full_batches


def predict_floor(X, units, chunk=4096):
    """Seconds of prediction's matrix products alone: the forward products, chunk by chunk."""
    rng = np.random.default_rng(0)
    weights = [rng.uniform(-0.1, 0.1, (a, b)).astype(np.float32) for a, b in pairwise(units)]
    outputs = [np.empty((chunk, n), dtype=np.float32) for n in units[1:]]
    X = X.astype(np.float32, copy=False)
    start_time = time.perf_counter()
    for start in range(0, len(X), chunk):
        layer_input = X[start : start + chunk]
        rows = len(layer_input)
        for weight, output in zip(weights, outputs):
            layer_input = np.matmul(layer_input, weight, out=output[:rows])
    return time.perf_counter() - start_time


# ------------------------------------------------------------------- tasks


def task_machine(data, contender):
    """What this process runs on: CPU, vector extensions, BLAS kernel, versions."""
    import _machine
    from threadpoolctl import threadpool_info

    if contender == "PyTorch":
        versions = _machine.torch_versions()
    else:
        versions = _machine.library_versions(contender)
    pools = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    return {
        "cpu": _machine.cpu_model(),
        "vector_extensions": _machine.vector_extensions(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "blas": [_machine.describe_pool(pool) for pool in pools],
        "versions": versions,
        "developer_variables": {
            name: os.environ.get(name) for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
        },
    }


def task_warm_up(data, contender):
    """Compile (or load) hdrnn's kernels and start the BLAS threads, untimed."""
    if contender == "floor":
        matmul_floor(data.train()[:10_000], (784, 128, 64, 10), 128, 1)
    else:
        for dtype in ("float32", "float64") if contender != "PyTorch" else ("float32",):
            X = data.train(dtype)[:1000]
            fit(contender, X, data.y_train[:1000], hidden=(32,), batch_size=128, epochs=1)
    return {}


def task_epoch(data, contender, hidden, batch_size, dtype="float32", epochs=2):
    """Seconds per epoch of training on all 60 000 training digits."""
    X = data.train(dtype)
    if contender == "floor":
        units = (X.shape[1], *hidden, 10)
        return {"seconds": matmul_floor(X, units, batch_size, epochs)}
    start = time.perf_counter()
    fit(contender, X, data.y_train, hidden=hidden, batch_size=batch_size, epochs=epochs)
    return {"seconds": (time.perf_counter() - start) / epochs}


_predict_models = {}


def task_predict(data, contender, dtype, hidden=(128, 64)):
    """Seconds of predict_proba on the 10 000 test digits (a 1-epoch model)."""
    X = data.test(dtype)
    if contender == "floor":
        return {"seconds": predict_floor(X, (X.shape[1], *hidden, 10))}
    key = tuple(hidden)
    if key not in _predict_models:
        _predict_models[key] = fit(
            contender, data.X_train, data.y_train, hidden=hidden, batch_size="auto", epochs=1
        )
    model = _predict_models[key]
    model.predict_proba(X[:100])
    start = time.perf_counter()
    model.predict_proba(X)
    return {"seconds": time.perf_counter() - start}


def task_memory(data, contender, hidden=(128, 64)):
    """Peak bytes allocated by one epoch of fit (tracemalloc), over the bytes of X."""
    X = data.train()
    tracemalloc.start()
    fit(contender, X, data.y_train, hidden=hidden, batch_size="auto", epochs=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"peak_over_X": peak / X.nbytes, "X_bytes": X.nbytes}


def task_parity(data, contender, seed, epochs=20, hidden=(128, 64)):
    """Test accuracy of the default estimator after ``epochs`` epochs (partial_fit, one per epoch).

    A RandomState *instance*: with an integer seed both libraries would
    reseed at every partial_fit call and shuffle every epoch alike, unlike fit.
    """
    if contender.startswith("hdrnn"):
        from hdrnn import DigitMLPClassifier as Estimator
    else:
        from sklearn.neural_network import MLPClassifier as Estimator
    model = Estimator(hidden, random_state=np.random.RandomState(seed))
    classes, seconds = np.unique(data.y_train), 0.0
    for _ in range(epochs):
        start = time.perf_counter()
        model.partial_fit(data.X_train, data.y_train, classes=classes)
        seconds += time.perf_counter() - start
    return {"accuracy": model.score(data.X_test, data.y_test), "seconds": seconds}


def task_race(data, contender, recipe, seed, targets, held_out, max_seconds):
    """Train ``recipe`` until the held-out accuracy reaches every target (or time runs out)."""
    return _recipes.race(data, contender, recipe, seed, targets, held_out, max_seconds)


def task_preset(data, contender, name, seed):
    """Train hdrnn's preset ``name`` on all training digits: seconds and test accuracy."""
    from hdrnn import DigitMLPClassifier
    from hdrnn.presets import preset_params

    model = DigitMLPClassifier(**preset_params(name), random_state=seed)
    start = time.perf_counter()
    model.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "accuracy": model.score(data.X_test, data.y_test)}


TASKS = {
    name[len("task_") :]: function
    for name, function in globals().items()
    if name.startswith("task_")
}


def serve(data_dir):
    """Answer requests from stdin until it closes."""
    data = Data(data_dir)
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = TASKS[request.pop("task")](data, **request)
        except Exception:  # the parent reports it, with the traceback
            answer = {"error": traceback.format_exc()}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
