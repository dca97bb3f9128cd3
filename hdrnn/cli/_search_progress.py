"""Progress of a hyperparameter search whose fits run elsewhere (processes, a cluster).

scikit-learn's searches score each fit with their ``scoring``; wrapping it in
a :class:`FitReporter` makes every scored fit send a note down a channel to
the process that started the search, where :class:`SearchProgress` counts
them and prints how far the search is and how long it has left. The channel
is a dask event topic on a cluster (:class:`DaskChannel`) or a queue shared
with local worker processes (:class:`QueueChannel`).
"""

import sys
import threading
import time

# At most one progress line per this many seconds (and always the last).
PRINT_EVERY = 2.0


class FitReporter:
    """A scorer that also reports each fit it scores.

    Parameters
    ----------
    scorer : callable
        ``scorer(estimator, X, y)``, e.g. from ``sklearn.metrics.check_scoring``.
    channel : DaskChannel or QueueChannel
        Where the report goes.
    """

    def __init__(self, scorer, channel):
        self.scorer = scorer
        self.channel = channel

    def __call__(self, estimator, X, y):
        score = self.scorer(estimator, X, y)
        self.channel.send(repr(sorted(estimator.get_params().items())))
        return score


class DaskChannel:
    """Reports as events of a dask topic (the client subscribes to it)."""

    def __init__(self, topic):
        self.topic = topic

    def send(self, message):
        from distributed import get_worker

        try:
            get_worker().log_event(self.topic, message)
        except ValueError:  # not on a worker: nothing is waiting for it
            pass


class QueueChannel:
    """Reports through a queue proxy shared with local worker processes."""

    def __init__(self, queue):
        self.queue = queue

    def send(self, message):
        self.queue.put(message)


class SearchProgress:
    """Counts reported fits and prints the search's progress.

    Parameters
    ----------
    n_candidates : int
        Candidates in the search.
    n_splits : int
        Cross-validation folds per candidate.
    stream : file, default=sys.stderr
        Where the lines go.
    """

    def __init__(self, n_candidates, n_splits, stream=None):
        self.n_candidates, self.n_splits = n_candidates, n_splits
        self.stream = stream or sys.stderr
        self.fits_per_candidate = {}
        self.start = time.perf_counter()
        self._last_print = -PRINT_EVERY
        self._lock = threading.Lock()

    @property
    def fits_done(self):
        """int: fits scored so far."""
        return sum(self.fits_per_candidate.values())

    @property
    def candidates_done(self):
        """int: candidates with every fold scored."""
        return sum(n >= self.n_splits for n in self.fits_per_candidate.values())

    def __call__(self, candidate):
        """Count one scored fit of ``candidate``; print a line now and then."""
        with self._lock:
            self.fits_per_candidate[candidate] = self.fits_per_candidate.get(candidate, 0) + 1
            now = time.perf_counter()
            total = self.n_candidates * self.n_splits
            if now - self._last_print >= PRINT_EVERY or self.fits_done >= total:
                self._last_print = now
                print(self.line(now - self.start), file=self.stream, flush=True)

    def line(self, elapsed):
        """One line: candidates and fits done, time elapsed and left."""
        total = self.n_candidates * self.n_splits
        remaining = total - self.fits_done
        left = elapsed / self.fits_done * remaining if self.fits_done and remaining else None
        return (
            f"  {self.candidates_done}/{self.n_candidates} candidates, "
            f"{self.fits_done}/{total} fits, {_clock(elapsed)} elapsed"
            + ("" if left is None else f", ~{_clock(left)} left")
        )


def _clock(seconds):
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}:{seconds:02d}"
