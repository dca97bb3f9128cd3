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
import time

import joblib
from threadpoolctl import threadpool_info, threadpool_limits

# Runs smaller than this (multiply-adds per epoch) are over before the load
# matters: they skip the 50 ms measurement.
LARGE_EPOCH_MACS = 1e9

# How long the machine's load is sampled.
LOAD_SAMPLE_SECONDS = 0.05


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
