"""Hyperparameter searches on a dask cluster, without oversubscribed cores.

scikit-learn's searches (``GridSearchCV``, ``RandomizedSearchCV``,
``HalvingRandomSearchCV``) run their fits through joblib, and joblib's
``"dask"`` backend sends them to a ``dask.distributed`` cluster: nothing
here replaces that. What this module adds is the one thing the combination
gets wrong on its own: how many threads each fit's BLAS may use.

A dask worker runs ``nthreads`` tasks at once; if each fit's matrix products
also use every core of the machine, a 2-thread worker on 2 cores runs 4 busy
threads, and a search gets slower with more workers, not faster.
:func:`limit_blas_threads` gives each worker's BLAS ``cores // (workers on
its machine * nthreads)`` threads, at least one, now and whenever a worker
(re)starts::

    import joblib
    from dask.distributed import Client, LocalCluster
    from hdrnn.distributed import limit_blas_threads

    client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    # or, on a real cluster: client = Client("tcp://scheduler:8786")
    limit_blas_threads(client)
    with joblib.parallel_config(backend="dask"):
        search.fit(X, y)

:func:`connect` reaches a scheduler within a time limit, with an error
that says what answered instead: ``distributed.Client`` alone waits forever
for a port that accepts connections and never answers, and reads an HTTP
server's reply as the length of a message (a 3 EiB ``MemoryError``).

Needs the ``distributed`` extra: ``pip install "hdrnn[distributed]"``.
"""

import asyncio
import os
from collections import Counter
from urllib.parse import urlsplit

from sklearn.model_selection import check_cv

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError as error:
    raise ImportError(
        'Running on a dask cluster needs dask.distributed: pip install "hdrnn[distributed]"'
    ) from error

# What to ask when something other than a dask scheduler answers.
_OTHER_SERVICE = (
    "Is it another service, such as a dashboard (usually on port 8787; schedulers listen on 8786 "
    "unless told otherwise)?"
)

__all__ = ["BLASThreadsPlugin", "connect", "limit_blas_threads", "search_data", "usable_cores"]


def usable_cores():
    """The cores this process may run on (its CPU affinity), else the machine's.

    Returns
    -------
    cores : int
    """
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class BLASThreadsPlugin(WorkerPlugin):
    """Limits a worker's BLAS threads when it starts (and restarts).

    Parameters
    ----------
    workers_per_host : dict of {str: int}
        How many workers each host runs (a worker not listed counts as
        alone on its host).
    """

    name = "hdrnn-blas-threads"

    def __init__(self, workers_per_host):
        self.workers_per_host = dict(workers_per_host)
        self._limits = {}  # by worker address: kept so that they stay in force

    def threads_for(self, host, nthreads, cores):
        """BLAS threads for a worker of ``nthreads`` on ``host`` with ``cores`` cores."""
        sharing = self.workers_per_host.get(host, 1) * max(1, nthreads)
        return max(1, cores // sharing)

    def setup(self, worker):
        """Set the limit in the worker's process."""
        from threadpoolctl import threadpool_limits

        host = urlsplit(worker.address).hostname
        threads = self.threads_for(host, worker.state.nthreads, usable_cores())
        self._limits[worker.address] = threadpool_limits(limits=threads, user_api="blas")

    def teardown(self, worker):
        """Lift the limit: workers in the client's process share its BLAS."""
        limit = self._limits.pop(worker.address, None)
        if limit is not None:
            limit.restore_original_limits()


def limit_blas_threads(client):
    """Give every worker's BLAS its share of its machine's cores, now and after restarts.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster that will run the fits.

    Returns
    -------
    threads : dict of {str: int}
        The BLAS threads of each worker, by address.
    """
    workers = client.scheduler_info()["workers"]
    hosts = Counter(urlsplit(address).hostname for address in workers)
    plugin = BLASThreadsPlugin(hosts)
    register = getattr(client, "register_plugin", None) or client.register_worker_plugin
    register(plugin)  # runs setup on every worker, and on those that join or restart
    cores = client.run(usable_cores)
    return {
        address: plugin.threads_for(urlsplit(address).hostname, info["nthreads"], cores[address])
        for address, info in workers.items()
    }


def search_data(X, y, cv=5, groups=None):
    """Fixed cross-validation splits, and every array the fits need, to broadcast.

    joblib's dask backend sends large arguments that are not in its
    ``scatter`` list to *one* worker; if that worker dies, the data are lost
    and the search fails with ``FutureCancelledError``. Broadcasting ``X``,
    ``y`` and the split indices to every worker lets a search outlive a
    worker: its tasks run again elsewhere, on the copies there.

    Parameters
    ----------
    X, y : array-like
        The training data of the search.
    cv : int or cross-validation generator, default=5
        As the searches take it (an int means stratified k-fold).
    groups : array-like, default=None
        Group labels, for group-aware splitters.

    Returns
    -------
    splits : list of (ndarray, ndarray)
        Train and test indices: pass them as the search's ``cv``.
    scatter : list
        ``X``, ``y`` and the indices: pass them as the backend's ``scatter``.

    Examples
    --------
    >>> import numpy as np
    >>> splits, scatter = search_data(np.zeros((6, 2)), np.array([0, 1] * 3), cv=3)
    >>> len(splits), len(scatter)
    (3, 8)
    """
    splits = list(check_cv(cv, y, classifier=True).split(X, y, groups))
    return splits, [X, y, *(indices for split in splits for indices in split)]


def connect(address, timeout=10):
    """A client of the dask scheduler at ``address``, or a clear error within ``2 * timeout`` s.

    The scheduler is first greeted with dask's own handshake, under a time
    limit: ``distributed.Client``'s ``timeout`` covers reaching the port,
    not the answer, so a port that accepts and never answers would hang
    it, and a server of another protocol (HTTP, say) would make it read a
    huge message length. Call it from synchronous code (it runs its own
    event loop for the greeting).

    Parameters
    ----------
    address : str
        The scheduler's address, e.g. ``"tcp://scheduler:8786"``.
    timeout : float, default=10
        Seconds to try reaching the port, and then for the scheduler to answer.

    Returns
    -------
    client : distributed.Client

    Raises
    ------
    OSError
        If nothing can be reached at ``address`` within ``timeout``, if what
        is there does not answer within another ``timeout``, or answers but
        not as a dask scheduler. The message says which.
    """
    from distributed import Client

    _greet(address, timeout)
    return Client(address, timeout=timeout)


def _greet(address, timeout):
    """Complete dask's handshake with ``address`` and hang up, or raise OSError saying why not."""
    from distributed.comm import CommClosedError
    from distributed.comm import connect as open_comm

    async def greet():
        comm = await open_comm(address, timeout=timeout)
        await comm.close()

    try:
        # dask's connect retries the port for `timeout`; the greeting gets as long again.
        asyncio.run(asyncio.wait_for(greet(), 2 * timeout))
    except asyncio.TimeoutError:  # before OSError: TimeoutError is one since Python 3.11
        raise OSError(
            f"{address} accepted the connection but sent no dask greeting within {2 * timeout:g} "
            "s: it is not a dask scheduler (which answers at once), or it is stuck"
        ) from None
    except OSError as error:
        if not isinstance(error, CommClosedError):
            raise OSError(f"cannot reach the dask scheduler at {address} ({error})") from None
        raise OSError(
            f"{address} closed the connection without answering as a dask scheduler. "
            + _OTHER_SERVICE
        ) from None
    except Exception:  # whatever its answer made of dask's protocol (a 3 EiB MemoryError...)
        answer = f"{address} answered, but not as a dask scheduler. "
        raise OSError(answer + _OTHER_SERVICE) from None
