"""The BLAS threads a training run takes: fewer when other programs keep cores busy."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from hdrnn import DigitMLPClassifier
from hdrnn._training import threads


def _blas_threads():
    return min(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


@pytest.fixture
def two_blas_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if _blas_threads() != 2:
            pytest.skip("the BLAS here cannot run two threads")
        yield


def test_a_large_run_on_a_busy_machine_keeps_the_blas_to_the_idle_cores(
    two_blas_threads, monkeypatch
):
    monkeypatch.setattr(threads, "idle_cores", lambda seconds: 1.1)
    assert threads.blas_thread_limit(leave_one_core=False, epoch_macs=1e10) == 1
    monkeypatch.setattr(threads, "idle_cores", lambda seconds: 1.9)
    assert threads.blas_thread_limit(leave_one_core=False, epoch_macs=1e10) is None
    monkeypatch.setattr(threads, "idle_cores", lambda seconds: 0.0)
    assert threads.blas_thread_limit(leave_one_core=False, epoch_macs=1e10) == 1  # at least one


def test_a_small_run_does_not_measure_and_background_augmentation_gets_a_core(
    two_blas_threads, monkeypatch
):
    def never(seconds):
        raise AssertionError("a small run must not spend 50 ms measuring the load")

    monkeypatch.setattr(threads, "idle_cores", never)
    assert threads.blas_thread_limit(leave_one_core=False, epoch_macs=1e6) is None
    assert threads.blas_thread_limit(leave_one_core=True, epoch_macs=1e6) == 1


def test_a_limit_set_around_the_fit_is_never_raised(monkeypatch):
    monkeypatch.setattr(threads, "idle_cores", lambda seconds: 64.0)
    with threadpool_limits(limits=1, user_api="blas"):
        assert threads.blas_thread_limit(leave_one_core=False, epoch_macs=1e10) is None


def test_idle_cores_are_measured_on_linux():
    idle = threads.idle_cores(0.02)
    if idle is None:
        pytest.skip("no /proc/stat here")
    import os

    assert 0.0 <= idle <= os.cpu_count()


def test_training_runs_under_the_limit(two_blas_threads, monkeypatch, small_digits):
    seen = []
    monkeypatch.setattr(threads, "idle_cores", lambda seconds: 1.0)
    monkeypatch.setattr(threads, "LARGE_EPOCH_MACS", 0)
    real = threads.blas_threads

    def recording(limit):
        seen.append(limit)
        return real(limit)

    monkeypatch.setattr(threads, "blas_threads", recording)
    X, y = small_digits
    DigitMLPClassifier((8,), max_iter=2, random_state=0).fit(X.astype(np.float32), y)
    assert seen == [1, 1]
    assert _blas_threads() == 2  # given back after the fit
