"""Searches on a dask cluster: the same results as on one machine, and cores shared fairly."""

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import typing
import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from hdrnn import DigitMLPClassifier, load
from hdrnn.cli import main
from hdrnn.persistence import read_metadata

distributed = pytest.importorskip(
    "distributed", reason='needs the distributed extra: pip install "hdrnn[distributed]"'
)
from hdrnn.distributed import limit_blas_threads, search_data  # noqa: E402

GRID = {"hidden_layer_sizes": [(16,), (32,)], "alpha": [1e-4, 1e-2]}


def _blas_threads():
    from threadpoolctl import threadpool_info

    return min(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@contextlib.contextmanager
def _client(n_workers, threads_per_worker, processes):
    """A client of a fresh local cluster (its dashboard on a free port, its logs quiet)."""
    with (
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=threads_per_worker,
            processes=processes,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def process_cluster():
    """Two worker processes of one thread: the shape of a small real cluster."""
    with _client(2, 1, processes=True) as client:
        limit_blas_threads(client)
        yield client


@pytest.fixture(scope="module")
def thread_cluster():
    """One worker running two fits at once in threads of this process."""
    with _client(1, 2, processes=False) as client:
        yield client


def _estimator():
    return DigitMLPClassifier(max_iter=15, random_state=0)


def _fit_quietly(search, X, y, backend=None, **backend_options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if backend is None:
            return search.fit(X, y)
        with joblib.parallel_config(backend=backend, **backend_options):
            return search.fit(X, y)


def _assert_same_results(on_cluster, at_home):
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(on_cluster.cv_results_[key], at_home.cv_results_[key])
    assert on_cluster.cv_results_["params"] == at_home.cv_results_["params"]
    assert on_cluster.best_params_ == at_home.best_params_


@pytest.mark.slow
@pytest.mark.parametrize("cluster", ["process_cluster", "thread_cluster"])
def test_grid_search_on_dask_gives_the_same_results(request, cluster, small_digits):
    request.getfixturevalue(cluster)
    X, y = small_digits
    at_home = _fit_quietly(GridSearchCV(_estimator(), GRID, cv=3), X, y)
    on_dask = _fit_quietly(GridSearchCV(_estimator(), GRID, cv=3), X, y, "dask", scatter=[X, y])
    _assert_same_results(on_dask, at_home)


@pytest.mark.slow
def test_randomized_halving_and_pipelines_on_dask(process_cluster, small_digits):
    X, y = small_digits
    X = 16 * X  # raw pixels: the pipeline's scaler scales them
    pipeline = make_pipeline(MinMaxScaler(), _estimator())
    space = {"digitmlpclassifier__alpha": list(np.logspace(-5, -1, 9))}
    for make in (
        lambda: RandomizedSearchCV(pipeline, space, n_iter=3, cv=3, random_state=0),
        lambda: HalvingRandomSearchCV(pipeline, space, cv=3, random_state=0, min_resources=60),
    ):
        at_home = _fit_quietly(make(), X, y)
        _assert_same_results(_fit_quietly(make(), X, y, "dask"), at_home)


def test_blas_threads_are_shared_among_a_workers_fits(thread_cluster):
    # Two fits at once in one process on this machine: each BLAS gets cores // 2.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    (threads,) = limit_blas_threads(thread_cluster).values()
    assert threads == max(1, cores // 2)
    assert set(thread_cluster.run(_blas_threads).values()) == {threads}


def test_a_worker_process_gets_its_share_of_the_cores(process_cluster):
    cores = process_cluster.run(
        lambda: len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    )
    limits = limit_blas_threads(process_cluster)
    for address, threads in limits.items():
        assert threads == max(1, cores[address] // 2)  # two workers on this host
    assert process_cluster.run(_blas_threads) == limits


def test_the_limit_is_lifted_when_an_in_process_cluster_closes():
    before = _blas_threads()
    with _client(1, 2, processes=False) as client:
        limit_blas_threads(client)
    assert _blas_threads() == before


# distributed 2024.8 (the extra's floor) can cancel a dead worker's task
# instead of running it again, and joblib's dask backend then hands the
# cancellation back as a result ("'FutureCancelledError' object is not
# iterable"): it ended one CI run of this test in several. 2026.8 re-runs it.
_RERUNS_LOST_TASKS = tuple(map(int, distributed.__version__.split(".")[:2])) >= (2026, 8)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.skipif(
    not _RERUNS_LOST_TASKS, reason="older distributed can cancel a killed worker's tasks"
)
@pytest.mark.slow
def test_a_worker_killed_mid_search_does_not_stop_it(small_digits):
    X, y = small_digits
    grid = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2], "hidden_layer_sizes": [(64,), (128,)]}
    slow = _estimator().set_params(max_iter=150, tol=0.0)  # about 4 s of fits in all
    at_home = _fit_quietly(GridSearchCV(slow, grid, cv=3), X, y)
    with _client(2, 1, processes=True) as client:
        pids = list(client.run(os.getpid).values())
        splits, scatter = search_data(X, y, cv=3)  # every worker holds all the data
        search = GridSearchCV(slow, grid, cv=splits)
        outcome = {}

        def run():
            try:
                outcome["search"] = _fit_quietly(search, X, y, "dask", scatter=scatter)
            except Exception as error:  # kept, to be shown by the assert below (not a hang)
                outcome["error"] = error

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threading.Event().wait(1.0)
        assert thread.is_alive()  # the search is under way
        os.kill(pids[0], signal.SIGKILL)
        thread.join(180)
        assert not thread.is_alive(), "the search hung after a worker was killed"
        assert pids[0] not in client.run(os.getpid).values()  # it was killed (and replaced)
    if type(outcome.get("error")).__name__ == "FutureCancelledError":
        # Known, rare under load (seen twice in two days of runs on 2 busy cores): the
        # scheduler cancels the dead worker's task instead of running it again,
        # and the search stops with dask's own error. Shown as xfailed, not hidden.
        pytest.xfail("distributed cancelled the killed worker's task instead of re-running it")
    assert "error" not in outcome, outcome.get("error")
    _assert_same_results(outcome["search"], at_home)  # the nanny restarted it; tasks re-ran


# ------------------------------------------------------------------ hdrnn search


def _search_command(tmp_path, *where):
    path = tmp_path / f"best{len(where)}.hdrnn"
    argv = ["search", "--param", "hidden=16", "32", "--param", "alpha=1e-4,1e-2"]
    return path, [*argv, "--cv", "3", "--epochs", "15", "--save", str(path), *where]


@pytest.mark.slow
def test_search_command_on_a_local_cluster_and_on_local_processes(tmp_path, capsys):
    path, argv = _search_command(tmp_path, "--local-cluster", "2")
    assert main(argv) == 0
    on_dask = capsys.readouterr()
    assert "a dask cluster of 2 worker(s)" in on_dask.out
    assert "4/4 candidates, 12/12 fits" in on_dask.err  # the progress
    assert "rank" in on_dask.out and "Best: alpha=" in on_dask.out
    info = read_metadata(path)["info"]
    assert info["search"]["folds"] == 3 and 0.5 < info["search"]["cv_accuracy"] <= 1
    assert load(path).hidden_layer_sizes in ((16,), (32,))

    _, argv = _search_command(tmp_path)
    assert main(argv) == 0
    at_home = capsys.readouterr()
    assert "local processes" in at_home.out and "4/4 candidates, 12/12 fits" in at_home.err
    best = [line for line in on_dask.out.splitlines() if line.startswith("Best:")]
    assert best == [line for line in at_home.out.splitlines() if line.startswith("Best:")]


@pytest.mark.parametrize(
    ("param", "words"),
    [
        (["colour=red"], "unknown parameter 'colour'"),
        (["alpha=abc"], "'abc' is not a float"),
        (["hidden=16,x"], "not a tuple"),
        (["alpha="], "give values"),
    ],
)
def test_search_command_explains_bad_parameters(param, words, capsys):
    assert main(["search", "--param", *param]) == 1
    assert words in capsys.readouterr().err


def _search_on(scheduler, monkeypatch, capsys):
    """Run `hdrnn search --scheduler` in a thread that may not hang: (exit code, stderr)."""
    import hdrnn.cli.search as search_command

    monkeypatch.setattr(search_command, "CONNECT_TIMEOUT", 1)
    outcome = {}
    argv = ["search", "--param", "alpha=1e-4", "--epochs", "2", "--scheduler", scheduler]
    thread = threading.Thread(target=lambda: outcome.update(code=main(argv)), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f"hdrnn search hung on {scheduler}"
    return outcome["code"], capsys.readouterr().err


def test_search_command_names_an_unreachable_scheduler(monkeypatch, capsys):
    code, error = _search_on("tcp://127.0.0.1:9", monkeypatch, capsys)
    assert code == 1
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:9" in error
    assert "--local-cluster" in error and error.count("\n") == 1


@pytest.mark.slow
def test_search_command_gives_up_on_a_port_that_never_answers(monkeypatch, capsys):
    # issue 24 item 14: a port that accepts and stays silent hung the search forever
    with socket.create_server(("127.0.0.1", 0)) as silent:  # the kernel accepts; nobody answers
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        code, error = _search_on(address, monkeypatch, capsys)
    assert code == 1
    assert f"{address} accepted the connection but sent no dask greeting within 2 s" in error
    assert "not a dask scheduler" in error and error.count("\n") == 1


@pytest.mark.slow
def test_search_command_says_an_http_server_is_not_a_scheduler(monkeypatch, capsys):
    # issue 24 item 14: an HTTP answer was read as a 3 EiB message (a MemoryError traceback)
    with socket.create_server(("127.0.0.1", 0)) as server:
        stop = threading.Event()

        def answer_http():
            while not stop.is_set():
                try:
                    connection, _ = server.accept()
                except OSError:  # the test closed the server: done
                    return
                with connection:
                    connection.recv(4096)
                    connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

        answering = threading.Thread(target=answer_http, daemon=True)
        answering.start()
        address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        code, error = _search_on(address, monkeypatch, capsys)
        stop.set()
        server.close()
        answering.join(5)
    assert code == 1
    assert f"{address} answered, but not as a dask scheduler" in error and "8787" in error
    assert "MemoryError" not in error and error.count("\n") == 1


def test_search_command_on_a_running_scheduler(tmp_path, capsys):
    # the greeting hdrnn sends first does not disturb a real scheduler
    with _client(1, 2, processes=False) as client:
        address = client.scheduler.address
        path, argv = _search_command(tmp_path, "--scheduler", address)
        assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"a dask cluster of 1 worker(s) at {address}" in out
    assert load(path).hidden_layer_sizes in ((16,), (32,))


@pytest.mark.parametrize(
    ("workers", "words"),
    [("0", "must be at least 1; got 0"), ("-1", "must be at least 1; got -1"), ("1000", "at most")],
)
def test_a_local_cluster_is_bounded_by_the_cores(workers, words, monkeypatch, capsys):
    # issue 24 item 14: 1000 workers took 3 GB in 24 s before anything was checked
    monkeypatch.setattr(distributed, "LocalCluster", _must_not_start)
    assert main(["search", "--param", "alpha=1e-4", "--local-cluster", workers]) == 2
    assert f"argument --local-cluster: {words}" in capsys.readouterr().err


def test_a_local_cluster_is_bounded_by_the_memory(monkeypatch, capsys):
    import psutil

    monkeypatch.setattr(distributed, "LocalCluster", _must_not_start)
    monkeypatch.setattr(psutil, "virtual_memory", lambda: Memory(available=300 * 2**20))
    assert main(["search", "--param", "alpha=1e-4", "--local-cluster", "2"]) == 1
    error = capsys.readouterr().err
    assert "--local-cluster 2: each worker needs about" in error
    assert "300 MiB is available; use --local-cluster 1 or fewer" in error


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (["alpha=-1"], "The 'alpha' parameter of DigitMLPClassifier must be a float"),
        (["augment=affine", "--param", "solver=lbfgs"], "augment needs a mini-batch solver"),
        (["hidden=100000000"], "hidden_layer_sizes=(100000000,)"),
    ],
)
def test_invalid_values_are_refused_before_the_cluster_starts(params, words, monkeypatch, capsys):
    monkeypatch.setattr(distributed, "LocalCluster", _must_not_start)
    assert main(["search", "--param", *params, "--local-cluster", "1"]) == 1
    captured = capsys.readouterr()
    assert "--param: the candidate" in captured.err and words in captured.err
    assert captured.err.count("\n") == 1 and "Searching" not in captured.out


class Memory(typing.NamedTuple):
    available: int


def _must_not_start(*args, **kwargs):
    raise AssertionError("the cluster was started")


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and process groups")
def test_ctrl_c_stops_a_search_on_a_local_cluster_with_one_line(tmp_path):
    # issue 24 item 14: Ctrl-C printed 73 lines of worker tracebacks
    argv = ["search", "--param", "hidden=64", "128", "--param", "alpha=1e-5,1e-4,1e-3"]
    argv += ["--param", "tol=0", "--epochs", "500", "--local-cluster", "2"]
    process = subprocess.Popen(
        [sys.executable, "-m", "hdrnn", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives a command
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = threading.Timer(120, process.kill)  # the test never hangs
    deadline.start()
    try:
        for line in process.stdout:  # the workers are up
            if line.startswith("Searching"):
                break
        threading.Event().wait(1.0)  # fits under way
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = process.communicate(timeout=120)
    finally:
        deadline.cancel()
        process.kill()
    assert process.returncode == 130, err
    # Progress lines, and (with older dask, which forwards the workers' warnings)
    # the ConvergenceWarnings of fits that finished before Ctrl-C, are not about it.
    about_fits = (" candidates, ", "ConvergenceWarning", "return func(")
    lines = [
        line
        for line in err.splitlines()
        if line.strip() and not any(part in line for part in about_fits)
    ]
    assert lines == ["hdrnn: interrupted; nothing was saved."], err


def test_search_command_without_distributed_says_which_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "hdrnn.distributed", raising=False)
    assert main(["search", "--param", "alpha=1e-4", "--local-cluster", "2"]) == 1
    assert 'pip install "hdrnn[distributed]"' in capsys.readouterr().err
