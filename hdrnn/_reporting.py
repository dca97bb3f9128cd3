"""Reporting training progress: ``history_``, the verbose table, scikit-learn callbacks."""

import time

from hdrnn._sklearn_compat import callbacks_supported


class EpochReporter:
    """Append one ``history_`` record per epoch and, when verbose, print it as a table row.

    Parameters
    ----------
    estimator : DigitMLPClassifier
        Receives the records in ``history_``; its ``verbose`` decides printing.
    with_validation : bool
        Whether the rows have validation columns.
    iteration_name : str, default="epoch"
        What one row is: ``"epoch"`` or ``"iter"`` (L-BFGS).
    planned : int or None, default=None
        Rows this run will print at most (``max_iter``), for the estimate of
        the time left; None leaves that column out.
    """

    def __init__(self, estimator, with_validation, iteration_name="epoch", planned=None):
        self.estimator = estimator
        self.with_validation = with_validation
        self.iteration_name = iteration_name
        self.planned = planned
        self._started = time.perf_counter()
        self._rows = 0
        self._header_printed = False

    def record(self, *, loss, val_loss, val_score, learning_rate, seconds):
        """Record one epoch (or L-BFGS iteration)."""
        history = self.estimator.history_
        history.append(
            {
                "epoch": len(history) + 1,
                "loss": loss,
                "val_loss": val_loss,
                "val_score": val_score,
                "learning_rate": learning_rate,
                "seconds": seconds,
            }
        )
        if self.estimator.verbose:
            self._print_row(history[-1])

    def note(self, message):
        """Print a message between rows, when verbose."""
        if self.estimator.verbose:
            print(message, flush=True)

    def _columns(self):
        columns = [(self.iteration_name, 6), ("train loss", 11)]
        if self.with_validation:
            columns += [("val loss", 10), ("val score", 10)]
        columns += [("learning rate", 14), ("seconds", 8), ("elapsed", 8)]
        return columns + ([("left", 8)] if self.planned else [])

    def _print_row(self, record):
        columns = self._columns()
        if not self._header_printed:
            print(" ".join(f"{name:>{width}}" for name, width in columns), flush=True)
            self._header_printed = True
        values = [f"{record['epoch']:>6d}", f"{record['loss']:>11.6f}"]
        if self.with_validation:
            values += [f"{record['val_loss']:>10.6f}", f"{record['val_score']:>10.4f}"]
        rate = record["learning_rate"]
        values.append(f"{rate:>14.3g}" if rate is not None else f"{'-':>14}")
        values.append(f"{record['seconds']:>8.2f}")
        self._rows += 1
        elapsed = time.perf_counter() - self._started
        values.append(f"{format_duration(elapsed):>8}")
        if self.planned:
            # at most: early stopping and convergence may end sooner
            left = elapsed / self._rows * max(self.planned - self._rows, 0)
            values.append(f"{'~' + format_duration(left):>8}")
        print(" ".join(values), flush=True)


def format_duration(seconds):
    """``75.4`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def begin_callbacks(estimator, X, y, max_subtasks):
    """Open the root scikit-learn callback context of a fit, or return None.

    Returns None on scikit-learn releases without ``sklearn.callback``.
    Each epoch is then a subtask (``context.subcontext(task_name="epoch")``).
    """
    if not callbacks_supported(estimator):
        return None
    context = estimator._init_callback_context(max_subtasks=max_subtasks)
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
    return context
