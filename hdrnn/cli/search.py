"""``hdrnn search``: a hyperparameter search, on local processes or a dask cluster."""

import argparse
import contextlib
import multiprocessing
import os
import threading
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, check_scoring
from sklearn.model_selection import GridSearchCV, ParameterGrid, RandomizedSearchCV, check_cv

from hdrnn._utils.files import check_writable_target
from hdrnn.cli._common import (
    DATASET_NAMES,
    DEFAULT_EPOCHS,
    add_data_arguments,
    load_dataset,
    parse_hidden,
)
from hdrnn.cli._search_progress import DaskChannel, FitReporter, QueueChannel, SearchProgress
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.persistence import save

# Short names for the parameters people search most.
ALIASES = {
    "hidden": "hidden_layer_sizes",
    "epochs": "max_iter",
    "lr": "learning_rate_init",
    "learning-rate": "learning_rate_init",
    "batch-size": "batch_size",
    "schedule": "learning_rate",
}

# Rows of the ranked table.
TABLE_ROWS = 10

# How long to try reaching a dask scheduler.
CONNECT_TIMEOUT = "10s"


def register(commands):
    """Add the ``search`` command to the subparsers ``commands``."""
    search = commands.add_parser(
        "search",
        help="search hyperparameters with cross-validation, locally or on a dask cluster",
        description=(
            "Cross-validate every combination of the --param values (or --n-iter random ones) "
            "with scikit-learn's GridSearchCV / RandomizedSearchCV, print the candidates "
            "ranked, the best one's test accuracy, and save it. Fits run on local processes, "
            "or on a dask cluster with --scheduler or --local-cluster (the distributed extra)."
        ),
    )
    add_data_arguments(search)
    search.add_argument(
        "--param",
        nargs="+",
        action="append",
        required=True,
        metavar="NAME=VALUES",
        help="a parameter and its values, e.g. --param hidden=128,64 256,128 "
        "--param alpha=1e-4,1e-3 (names: hidden, epochs, lr, batch-size, schedule, "
        "or any DigitMLPClassifier parameter)",
    )
    search.add_argument("--cv", type=int, default=3, help="cross-validation folds (default 3)")
    search.add_argument(
        "--epochs", type=int, help="maximum epochs (default: 200 for digits, 20 for mnist)"
    )
    search.add_argument(
        "--n-iter", type=int, help="try this many random combinations instead of all of them"
    )
    search.add_argument("--seed", type=int, default=0)
    where = search.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a dask scheduler, tcp://host:8786")
    where.add_argument(
        "--local-cluster", type=int, metavar="N", help="start a local dask cluster of N workers"
    )
    search.add_argument("--save", metavar="PATH", type=Path, help="write the best model here")
    search.set_defaults(run=run)


def run(args):
    if args.save is not None:
        check_writable_target(args.save)
    grid = parse_params(args.param)
    if args.cv < 2:
        raise ValueError(f"--cv must be at least 2; got {args.cv}.")
    X_train, X_test, y_train, y_test, source = load_dataset(args.dataset, args.data_dir, args.seed)
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    estimator = DigitMLPClassifier(max_iter=epochs, random_state=args.seed)
    n_candidates = len(ParameterGrid(grid))
    if args.n_iter is not None:
        n_candidates = min(args.n_iter, n_candidates)
    with _workers(args) as (where, channel, backend):
        print(
            f"Searching {n_candidates} candidates x {args.cv} folds on {len(X_train)} "
            f"training images of {source}, {where}",
            flush=True,
        )
        progress = SearchProgress(n_candidates, args.cv)
        channel.listen(progress)
        # Fixed folds, the same on every backend.
        splits = list(check_cv(args.cv, y_train, classifier=True).split(X_train, y_train))
        scoring = FitReporter(check_scoring(estimator), channel)
        search = _search(estimator, grid, args, scoring, splits)
        start = time.perf_counter()
        with warnings.catch_warnings(), backend(X_train, y_train, splits):
            warnings.simplefilter("ignore", ConvergenceWarning)
            _fit_search(search, X_train, y_train)
    seconds = time.perf_counter() - start
    print(f"\nSearched in {seconds:.1f} s ({n_candidates / seconds * 60:.1f} candidates a minute)")
    print(format_ranking(search.cv_results_))
    best = search.best_estimator_
    accuracy = accuracy_score(y_test, best.predict(X_test))
    print(f"\nBest: {_params_text(search.best_params_)}; test accuracy {accuracy:.2%}")
    if args.save is not None:
        info = {
            "dataset": args.dataset,
            "test_accuracy": float(accuracy),
            "test_data": f"the {len(X_test)} test images of {DATASET_NAMES[args.dataset]}",
            "search": {"cv_accuracy": float(search.best_score_), "folds": args.cv},
        }
        save(best, args.save, info=info)
        print(f"Saved the best model to {args.save}")
    return 0


def _fit_search(search, X, y):
    try:
        search.fit(X, y)
    except Exception as error:
        if type(error).__name__ not in ("KilledWorker", "FutureCancelledError", "CancelledError"):
            raise
        raise OSError(
            f"the dask cluster lost part of the search ({type(error).__name__}: {error}): "
            "workers died (out of memory?) or left. Check the workers' logs and rerun."
        ) from error


def _search(estimator, grid, args, scoring, splits):
    common = {"cv": splits, "scoring": scoring, "refit": True, "error_score": "raise"}
    if args.n_iter is None:
        return GridSearchCV(estimator, grid, **common)
    return RandomizedSearchCV(estimator, grid, n_iter=args.n_iter, random_state=args.seed, **common)


# ------------------------------------------------------------------ where the fits run


@contextlib.contextmanager
def _workers(args):
    """``(description, channel, backend)``: local processes, or a dask cluster.

    ``backend(X, y, splits)`` is the joblib context for a search of ``X, y``
    over the folds ``splits``.
    """
    if args.scheduler is None and args.local_cluster is None:
        with _local_processes() as workers:
            yield workers
        return
    with _dask_cluster(args.scheduler, args.local_cluster) as workers:
        yield workers


@contextlib.contextmanager
def _local_processes():
    n_jobs = joblib.cpu_count()
    with multiprocessing.Manager() as manager:
        channel = _ListeningQueue(manager.Queue())

        @contextlib.contextmanager
        def backend(X, y, splits):
            with joblib.parallel_config(backend="loky", n_jobs=n_jobs):
                yield

        try:
            yield f"{n_jobs} local processes", channel, backend
        finally:
            channel.close()


@contextlib.contextmanager
def _dask_cluster(scheduler, local_workers):
    try:
        from distributed import Client, LocalCluster

        from hdrnn.distributed import limit_blas_threads, search_data
    except ImportError:
        raise ImportError(
            'Searching on a dask cluster needs dask.distributed: pip install "hdrnn[distributed]"'
        ) from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(
                LocalCluster(n_workers=local_workers, threads_per_worker=1, dashboard_address=":0")
            )
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(_connect(Client, scheduler))
        threads = limit_blas_threads(client)
        where = (
            f"a dask cluster of {len(threads)} worker(s) at {client.scheduler.address} "
            f"(BLAS threads per worker: {', '.join(map(str, sorted(set(threads.values()))))})"
        )
        topic = f"hdrnn-search-{os.getpid()}-{time.time_ns()}"
        channel = _DaskListener(client, topic)

        @contextlib.contextmanager
        def backend(X, y, splits):
            # Every worker gets a copy of the data and folds, once: one that dies loses none.
            _, scatter = search_data(X, y, cv=splits)
            with joblib.parallel_config(backend="dask", scatter=scatter):
                yield

        yield where, channel, backend


def _connect(Client, scheduler):
    try:
        return Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise OSError(
            f"cannot reach the dask scheduler at {scheduler} ({error}). Start one with "
            "`dask scheduler` and workers with `dask worker ADDRESS`, or use --local-cluster N."
        ) from None


class _ListeningQueue(QueueChannel):
    """A queue channel whose reports a thread of this process hands to the progress."""

    def listen(self, progress):
        def drain():
            while (message := self.queue.get()) is not None:
                progress(message)

        self._thread = threading.Thread(target=drain, daemon=True)
        self._thread.start()

    def close(self):
        if getattr(self, "_thread", None) is not None:
            self.queue.put(None)
            self._thread.join(10)

    def __getstate__(self):  # workers get the queue, not the thread
        return {"queue": self.queue}


class _DaskListener(DaskChannel):
    """A dask channel whose events the client hands to the progress."""

    def __init__(self, client, topic):
        super().__init__(topic)
        self._client = client

    def listen(self, progress):
        self._client.subscribe_topic(self.topic, lambda event: progress(event[1]))

    def __getstate__(self):  # workers get the topic, not the client
        return {"topic": self.topic}


# ------------------------------------------------------------------ parameters and the table


def parse_params(groups):
    """``{"hidden_layer_sizes": [(128, 64), (256, 128)], ...}`` from ``--param`` groups."""
    defaults = DigitMLPClassifier().get_params()
    grid = {}
    for name_and_first, *rest in groups:
        name, _, first = name_and_first.partition("=")
        name = ALIASES.get(name, name.replace("-", "_"))
        if name not in defaults:
            known = ", ".join([*ALIASES, *sorted(defaults)])
            raise ValueError(f"--param: unknown parameter {name!r}; known: {known}.")
        texts = [first, *rest] if first else rest
        if not isinstance(defaults[name], tuple):  # 1e-4,1e-3 as well as 1e-4 1e-3
            texts = [part for text in texts for part in text.split(",")]
        if not texts or not all(texts):
            raise ValueError(f"--param {name}: give values, e.g. --param {name}=VALUE VALUE")
        grid[name] = [_value(name, text, defaults[name]) for text in texts]
    return grid


def _value(name, text, default):
    """``text`` as a value of the parameter whose default is ``default``."""
    parse = _PARSERS.get(type(default), _untyped)
    try:
        return parse(text)
    except (ValueError, KeyError, argparse.ArgumentTypeError):
        raise ValueError(
            f"--param {name}: {text!r} is not a {type(default).__name__} like {default!r}."
        ) from None


def _untyped(text):
    """A parameter whose default is None or a string: None, a number, else the text."""
    if text.lower() == "none":
        return None
    for kind in (int, float):
        with contextlib.suppress(ValueError):
            return kind(text)
    return text


_PARSERS = {
    tuple: parse_hidden,
    bool: lambda text: {"true": True, "false": False}[text.lower()],
    int: int,
    float: float,
}


def format_ranking(cv_results, rows=TABLE_ROWS):
    """The best ``rows`` candidates: rank, mean and spread of the accuracy, fit time, params."""
    order = np.argsort(cv_results["rank_test_score"], kind="stable")[:rows]
    lines = [f"{'rank':>4}  {'accuracy':>15}  {'fit (s)':>7}  parameters"]
    for i in order:
        mean, std = cv_results["mean_test_score"][i], cv_results["std_test_score"][i]
        lines.append(
            f"{cv_results['rank_test_score'][i]:>4}  {mean:>8.2%} ± {std:<5.2%}  "
            f"{cv_results['mean_fit_time'][i]:>7.2f}  {_params_text(cv_results['params'][i])}"
        )
    return "\n".join(lines)


def _params_text(params):
    return ", ".join(f"{name}={value}" for name, value in sorted(params.items()))
