"""How many BLAS threads a training run uses: fewer when the cores are busy.

OpenBLAS threads wait for work by spinning. When another program keeps a core
busy, a BLAS thread scheduled on it spins against that program between the
small matrix products of a training step, and the run slows down many times
over: on 2 cores with one busy, ``--preset fast98`` took 34-113 s with two
BLAS threads and 9-13 s with one (issue measurements, same machine). So a
large run first looks at how many cores are idle (other programs' use, over
50 ms) and keeps the BLAS to that many threads; and a run that augments in a
background thread leaves it a core. scikit-learn and joblib protect only
their own workers from oversubscription; nothing adapts to other programs.
"""

import contextlib
import math
import os
import threading
import time

import joblib
from threadpoolctl import threadpool_info, threadpool_limits

# Runs smaller than this (multiply-adds per epoch) are over before the load
# matters: they skip the 50 ms measurement.
LARGE_EPOCH_MACS = 1e9

# How long the machine's load is sampled.
LOAD_SAMPLE_SECONDS = 0.05

# Predictions of at most this many rows run the BLAS on one thread: a
# matrix-vector product is over in well under a millisecond on one core,
# while a second OpenBLAS thread made a one-image predict_proba of the
# shipped model 3.5x slower on a busy 2-core machine (12 ms against 3.4).
FEW_ROWS = 32


def blas_thread_limit(*, leave_one_core, epoch_macs):
    """The BLAS threads a run should use, or None to leave the BLAS as it is.

    Counts from the BLAS's current threads, not the machine's cores, so that a
    limit set around the fit (a dask worker's, say) is never raised.
    """
    current = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    threads = min(current) if current else joblib.cpu_count()
    wanted = threads - 1 if leave_one_core else threads
    if epoch_macs >= LARGE_EPOCH_MACS:
        idle = idle_cores(LOAD_SAMPLE_SECONDS)
        if idle is not None:
            wanted = min(wanted, math.floor(idle + 0.5))
    wanted = max(1, wanted)
    return wanted if wanted < threads else None


def blas_threads(limit):
    """A context that holds the BLAS to ``limit`` threads (None: no limit)."""
    if limit is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def few_rows_threads(n_rows):
    """A context that holds the BLAS to one thread while ``n_rows`` rows are predicted,
    when they are at most :data:`FEW_ROWS` (else a context that does nothing)."""
    if n_rows > FEW_ROWS:
        return contextlib.nullcontext()
    return _one_blas_thread()


# Predictions in several threads at once (a server's requests) share one
# limit: the first to start sets it, the last to finish restores the BLAS.
# Each restoring its own saved value would leave the BLAS at one thread when
# two overlap (the second saved the first's limit).
_limit_lock = threading.Lock()
_limit_users = 0
_limiter = None


@contextlib.contextmanager
def _one_blas_thread():
    global _limit_users, _limiter
    with _limit_lock:
        if _limit_users == 0:
            _limiter = threadpool_limits(limits=1, user_api="blas")
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                _limiter.restore_original_limits()
                _limiter = None


def idle_cores(seconds):
    """Cores not used by other programs over ``seconds`` (ours count as idle); None off Linux."""
    try:
        idle_before, total_before = _machine_ticks()
        own_before = _own_ticks()
        time.sleep(seconds)
        idle_after, total_after = _machine_ticks()
        own_after = _own_ticks()
    except (OSError, ValueError, IndexError):
        return None
    total = total_after - total_before
    if total <= 0:
        return None
    free = (idle_after - idle_before) + (own_after - own_before)
    return min(1.0, free / total) * (os.cpu_count() or 1)


def _machine_ticks():
    """``(idle, total)`` clock ticks of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as file:
        values = [int(value) for value in file.readline().split()[1:9]]
    return values[3] + values[4], sum(values)  # idle + iowait, all


def _own_ticks():
    """This process's user and system clock ticks, from /proc/self/stat."""
    with open("/proc/self/stat") as file:
        fields = file.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime
