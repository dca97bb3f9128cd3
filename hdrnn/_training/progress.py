"""Showing training as it happens: the verbose table and scikit-learn's callbacks.

A run reports each epoch to a :class:`Progress`; what that does (print a
table row, call scikit-learn callbacks, both or neither) is decided by the
estimator when it builds it. The run itself knows nothing of either.
"""

import time

from hdrnn.nn import unflatten


class Progress:
    """What a training run reports to: the verbose table and scikit-learn callbacks.

    Parameters
    ----------
    table : EpochTable or None
        Prints one row per epoch (``verbose=True``).
    callbacks : EpochCallbacks or None
        scikit-learn callbacks (``set_callbacks``, scikit-learn >= 1.9).
    """

    def __init__(self, table=None, callbacks=None):
        self.table = table
        self.callbacks = callbacks

    def epoch_begins(self):
        """An epoch (or L-BFGS iteration) starts."""
        if self.callbacks:
            self.callbacks.begin()

    def epoch_ended(self, record, params):
        """An epoch completed with this ``history_`` record; return True to stop training."""
        if self.table:
            self.table.print_row(record)
        return bool(self.callbacks) and self.callbacks.end(params)

    def epoch_abandoned(self):
        """The epoch that began was rolled back (divergence, Ctrl-C)."""
        if self.callbacks:
            self.callbacks.abandon()

    def note(self, message):
        """A message between rows, such as a change of learning rate."""
        if self.table:
            print(message, flush=True)

    def close(self):
        """Training ended."""
        if self.callbacks:
            self.callbacks.close()


class EpochTable:
    """The verbose table: one row per epoch with losses, scores, rate and timings.

    Parameters
    ----------
    with_validation : bool
        Whether the rows have validation columns.
    iteration_name : str, default="epoch"
        What one row is: ``"epoch"`` or ``"iteration"`` (L-BFGS; its column
        says ``iter``).
    planned : int or None, default=None
        Rows this run prints at most (``max_iter``), for the estimate of the
        time left; None leaves that column out.
    """

    def __init__(self, with_validation, iteration_name="epoch", planned=None):
        self.with_validation = with_validation
        self.iteration_name = iteration_name
        self.planned = planned
        self._started = time.perf_counter()
        self._rows = 0

    def _columns(self):
        header = "iter" if self.iteration_name == "iteration" else self.iteration_name  # 6 wide
        columns = [(header, 6), ("train loss", 11)]
        if self.with_validation:
            columns += [("val loss", 10), ("val score", 10)]
        columns += [("learning rate", 14), ("seconds", 8), ("elapsed", 8)]
        return columns + ([("left", 8)] if self.planned else [])

    def print_row(self, record):
        """Print a ``history_`` record as a row (the header before the first)."""
        if not self._rows:
            print(" ".join(f"{name:>{width}}" for name, width in self._columns()), flush=True)
        self._rows += 1
        values = [f"{record['epoch']:>6d}", f"{record['loss']:>11.6f}"]
        if self.with_validation:
            values += [f"{record['val_loss']:>10.6f}", f"{record['val_score']:>10.4f}"]
        rate = record["learning_rate"]
        values.append(f"{rate:>14.3g}" if rate is not None else f"{'-':>14}")
        values.append(f"{record['seconds']:>8.2f}")
        elapsed = time.perf_counter() - self._started
        values.append(f"{format_duration(elapsed):>8}")
        if self.planned:
            # at most: early stopping and convergence may end sooner
            left = elapsed / self._rows * max(self.planned - self._rows, 0)
            values.append(f"{'~' + format_duration(left):>8}")
        print(" ".join(values), flush=True)


class EpochCallbacks:
    """scikit-learn callbacks (``sklearn.callback``) seeing one task per epoch.

    Parameters
    ----------
    context : CallbackContext
        The root context of the fit, opened by the estimator.
    estimator : estimator
        The estimator being fitted, as scikit-learn's callback API takes it.
    X, y : array-like
        The data being fitted.
    arch : Architecture
        The network, to show callbacks the weights of each epoch.
    task_name : str, default="epoch"
        The name of each subtask.
    """

    def __init__(self, context, estimator, X, y, arch, *, task_name="epoch"):
        self.context, self.estimator, self.X, self.y = context, estimator, X, y
        self.arch, self.task_name = arch, task_name
        self._epoch = None

    def begin(self):
        self._epoch = self.context.subcontext(task_name=self.task_name)
        self._epoch.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)

    def end(self, params):
        """Close the epoch's task; return True when a callback asks to stop."""
        epoch, self._epoch = self._epoch, None
        return bool(
            epoch.call_on_fit_task_end(
                estimator=self.estimator,
                X=self.X,
                y=self.y,
                reconstruction_attributes=lambda: self._fitted_attributes(params),
            )
        )

    def abandon(self):
        if self._epoch is not None:
            self._epoch.call_on_fit_task_end(estimator=self.estimator)
            self._epoch = None

    def close(self):
        self.context.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, reconstruction_attributes={}
        )

    def _fitted_attributes(self, params):
        """The weights of this epoch, as a fitted estimator's attributes (a snapshot)."""
        coefs, intercepts = unflatten(self.arch, params.copy())
        return {"coefs_": coefs, "intercepts_": intercepts}


def format_duration(seconds):
    """``75.4`` -> ``"1:15"``; ``3725`` -> ``"1:02:05"``."""
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
