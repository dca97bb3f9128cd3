"""``hdrnn search``: a hyperparameter search, on local processes or a dask cluster."""

import argparse
import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
import warnings
from multiprocessing import resource_tracker
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, check_scoring
from sklearn.model_selection import (
    GridSearchCV,
    ParameterGrid,
    ParameterSampler,
    RandomizedSearchCV,
    check_cv,
)

from hdrnn._utils.files import check_writable_target
from hdrnn.cli._common import (
    DATASET_NAMES,
    DEFAULT_EPOCHS,
    add_data_arguments,
    add_epochs_argument,
    at_least,
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

# Seconds to try reaching a dask scheduler, and then for it to answer.
CONNECT_TIMEOUT = 10

# Training rows on which every candidate is fitted for one epoch before the
# search starts, so that invalid values are reported at once.
CHECK_ROWS = 1000

# Memory of one local dask worker: a Python process with numpy, scikit-learn
# and hdrnn imported (about 170 MiB measured), plus copies of the training
# data (the broadcast copy, a fold's rows, the fit's own).
WORKER_BASE_BYTES = 256 * 2**20
WORKER_DATA_COPIES = 3


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
    search.add_argument(
        "--cv", type=at_least(2), default=3, help="cross-validation folds (default 3)"
    )
    add_epochs_argument(search)
    search.add_argument(
        "--n-iter", type=at_least(1), help="try this many random combinations instead of all"
    )
    search.add_argument("--seed", type=int, default=0)
    where = search.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a dask scheduler, tcp://host:8786")
    where.add_argument(
        "--local-cluster",
        type=parse_workers,
        metavar="N",
        help=f"start a local dask cluster of N workers (1 to {joblib.cpu_count()} here)",
    )
    search.add_argument("--save", metavar="PATH", type=Path, help="write the best model here")
    search.set_defaults(run=run)


def run(args):
    # What can be found wrong is found before any worker starts.
    if args.save is not None:
        check_writable_target(args.save)
    grid = parse_params(args.param)
    if args.epochs is not None and "max_iter" in grid:
        raise ValueError("--epochs and --param epochs both set the epochs: give one of them.")
    X_train, X_test, y_train, y_test, source = load_dataset(args.dataset, args.data_dir, args.seed)
    epochs = DEFAULT_EPOCHS[args.dataset] if args.epochs is None else args.epochs
    estimator = DigitMLPClassifier(max_iter=epochs, random_state=args.seed)
    candidates = list(ParameterGrid(grid))
    if args.n_iter is not None:  # the ones RandomizedSearchCV will draw
        candidates = list(ParameterSampler(grid, args.n_iter, random_state=args.seed))
    check_candidates(estimator, candidates, X_train, y_train)
    if args.local_cluster is not None:
        check_cluster_memory(args.local_cluster, X_train.nbytes + y_train.nbytes)
    n_candidates = len(candidates)
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


def check_candidates(estimator, candidates, X, y):
    """Fit ``estimator`` with each candidate's parameters for one epoch on a sample, or raise.

    The estimator checks its parameters in ``fit`` (scikit-learn's rule: the
    constructor only stores them), alone and together (dropout rates per
    hidden layer, augmentation and solver, memory), so a short fit is the
    public way to ask it; one epoch on at most ``CHECK_ROWS`` rows costs
    milliseconds, where a refusal found by the workers comes after the
    cluster has started and the data have been sent.
    """
    rows = np.linspace(0, len(X) - 1, min(len(X), CHECK_ROWS)).astype(int)  # spread over X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence, batch size clipped to the sample
        for params in candidates:
            try:
                clone(estimator).set_params(**_one_epoch(params)).fit(X[rows], y[rows])
            except (ValueError, TypeError) as error:  # scikit-learn's InvalidParameterError is both
                raise ValueError(
                    f"--param: the candidate {_params_text(params)} cannot be trained: {error}"
                ) from None


def _one_epoch(params):
    """``params`` with one epoch, unless their epochs are themselves invalid (then fit says so)."""
    epochs = params.get("max_iter", 1)
    valid = isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1
    return {**params, "max_iter": 1} if valid else params


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
            with _ctrl_c_for_this_process_only():  # a Ctrl-C meanwhile counts when it ends
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=local_workers,
                        threads_per_worker=1,
                        dashboard_address=":0",
                        silence_logs=logging.ERROR,  # hdrnn reports the progress itself
                    )
                )
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(_connect(scheduler))
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

        try:
            yield where, channel, backend
        except KeyboardInterrupt:
            _close_quietly(stack)
            raise


def _close_quietly(stack):
    """Close the client and cluster of ``stack`` with dask's logs silenced.

    After a Ctrl-C the fits are cancelled on purpose: the scheduler's and
    workers' complaints about it (cancelled tasks, lost data) are not news.
    """
    # tornado's loop logs the client's cancelled result-gathering as an error too.
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado.application")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        stack.close()
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _connect(scheduler):
    from hdrnn.distributed import connect

    try:
        return connect(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise OSError(
            f"{error} Start a scheduler with `dask scheduler` and workers with "
            "`dask worker ADDRESS`, or use --local-cluster N."
        ) from None


@contextlib.contextmanager
def _ctrl_c_for_this_process_only():
    """Start child processes with Ctrl-C (SIGINT) blocked: only this process answers it.

    A terminal sends Ctrl-C to every process of the command, and each dask
    worker would print its own traceback (73 lines for two). The blocked
    mask passes through fork and exec to the workers (and to those their
    nannies restart); a Ctrl-C pressed meanwhile reaches this process as
    soon as the mask is lifted.
    """
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no process-group Ctrl-C to share
        yield
        return
    # multiprocessing's resource tracker, when the first process starts it, unblocks
    # SIGINT in the starting thread (dask's): started now, it leaves the mask alone.
    resource_tracker.ensure_running()
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def parse_workers(text):
    """``--local-cluster N``: a number of workers this machine's cores can run at once."""
    workers, cores = at_least(1)(text), joblib.cpu_count()
    if workers > cores:
        raise argparse.ArgumentTypeError(
            f"at most {cores} here (the cores this process may use); got {workers}. Each worker "
            "is a process of one thread: more workers than cores only take turns."
        )
    return workers


def check_cluster_memory(n_workers, data_bytes):
    """Refuse a local cluster whose workers would not fit in the memory available now."""
    try:
        import psutil  # installed with dask.distributed
    except ImportError:
        return
    per_worker = WORKER_BASE_BYTES + WORKER_DATA_COPIES * data_bytes
    available = psutil.virtual_memory().available
    if n_workers * per_worker > available:
        fits = available // per_worker
        advice = (
            f"use --local-cluster {fits} or fewer"
            if fits
            else "search on local processes instead (no --local-cluster)"
        )
        raise ValueError(
            f"--local-cluster {n_workers}: each worker needs about {per_worker / 2**20:,.0f} MiB "
            f"(a Python process and its copies of the training data), but "
            f"{available / 2**20:,.0f} MiB is available; {advice}."
        )


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
    grid, given_as = {}, {}
    for name_and_first, *rest in groups:
        given, _, first = name_and_first.partition("=")
        name = ALIASES.get(given, given.replace("-", "_"))
        if name not in defaults:
            known = ", ".join([*ALIASES, *sorted(defaults)])
            raise ValueError(f"--param: unknown parameter {name!r}; known: {known}.")
        if name in grid:
            twice = (
                f"{given} is given twice"
                if given == given_as[name]
                else f"{given_as[name]} and --param {given} both set {name}"
            )
            raise ValueError(
                f"--param {twice}: give all its values in one --param, "
                f"e.g. --param {given}=VALUE VALUE."
            )
        given_as[name] = given
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
