"""The mini-batch training loop and plateau bookkeeping.

One call of :func:`run_epoch` is one pass over the training rows; the
caller (the estimator) decides what happens between epochs.
"""

import math
import queue
import threading
from dataclasses import dataclass

from hdrnn.nn.network import draw_dropout_masks, loss_and_grads


@dataclass(frozen=True)
class EpochResult:
    """What one epoch produced.

    Parameters
    ----------
    loss : float
        Mean training loss over the epoch's batches, weighted by batch size
        (NaN when the epoch diverged).
    diverged_batch : int or None
        Zero-based index of the first batch whose loss was not finite; the
        epoch stopped there. None when every batch was finite.
    """

    loss: float
    diverged_batch: int = None


def gather_rows(X, rows, out):
    """Copy the rows ``rows`` of ``X`` into the buffer ``out`` and return it."""
    if hasattr(X, "toarray"):  # a scipy.sparse matrix: densify just this batch
        out[...] = X[rows].toarray()
        return out
    # mode="clip" skips the bounds check that makes take() buffer internally
    # (3x faster here); the indices come from arange, so they are in range.
    return X.take(rows, axis=0, out=out, mode="clip")


def run_epoch(
    arch,
    params,
    X,
    Y,
    sample_weight,
    rows,
    batch_size,
    alpha,
    optimizer,
    workspace,
    rng,
    *,
    augment=None,
    augment_rng=None,
    dropout_rng=None,
    augment_in_background=True,
):
    """Train for one epoch over ``X[rows]`` in mini-batches, updating ``params``.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    params : ndarray of shape (arch.n_params,)
        Flat parameters, updated in place.
    X : ndarray or sparse matrix of shape (n_samples, units[0])
        All input rows, in the compute dtype.
    Y : ndarray of shape (n_samples, units[-1])
        Targets for all rows, in the compute dtype.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-row weights.
    rows : ndarray of int
        The training rows; shuffled in place at the start when ``rng`` is
        given, and then taken in order, ``batch_size`` at a time.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    alpha : float
        L2 penalty.
    optimizer : SGD or Adam
        Applies each gradient to ``params``.
    workspace : Workspace
        Buffers for ``batch_size`` rows.
    rng : numpy.random.RandomState or None
        Shuffles ``rows`` once; None keeps their order.
    augment : callable, default=None
        ``augment(X_batch, augment_rng)`` transforms a batch in place (a
        copy, never ``X`` itself).
    augment_rng, dropout_rng : numpy.random.Generator, default=None
        Sources of the augmentation's randomness and of the dropout masks;
        required when each is used. They are separate so that the two
        threads never share a generator and results stay reproducible.
    augment_in_background : bool, default=True
        Whether ``augment`` runs in a background thread, one batch ahead of
        training, so that it uses another core while this one trains; the
        workspace then needs ``n_input_buffers=3``. Either way the batches
        and their distortions are the same.

    Returns
    -------
    result : EpochResult
    """
    if rng is not None:
        rng.shuffle(rows)
    n_rows = len(rows)
    total_loss = 0.0
    if augment is None or not augment_in_background:
        batches = _gathered_batches(X, rows, batch_size, workspace.X, augment, augment_rng)
    else:
        batches = _prefetched_batches(
            X, rows, batch_size, workspace.X_buffers, augment, augment_rng
        )
    try:
        for batch_number, (batch_rows, X_batch) in enumerate(batches):
            n_batch = len(batch_rows)
            Y_batch = Y.take(batch_rows, axis=0, out=workspace.Y[:n_batch], mode="clip")
            weights = None
            if sample_weight is not None:
                weights = sample_weight.take(
                    batch_rows, out=workspace.sample_weight[:n_batch], mode="clip"
                )
                if not weights.any():
                    continue  # a batch with zero total weight carries no information
            if workspace.has_dropout:
                draw_dropout_masks(workspace, n_batch, dropout_rng)
            loss = loss_and_grads(arch, params, X_batch, Y_batch, weights, alpha, workspace)
            if not math.isfinite(loss):
                return EpochResult(math.nan, batch_number)
            optimizer.step(params, workspace.grads)
            total_loss += loss * n_batch
    finally:
        batches.close()  # stops the background thread, if any
    return EpochResult(total_loss / n_rows)


def _gathered_batches(X, rows, batch_size, buffer, augment=None, augment_rng=None):
    """Yield ``(batch_rows, X_batch)``, each batch copied into ``buffer`` (and augmented)."""
    for start in range(0, len(rows), batch_size):
        batch_rows = rows[start : start + batch_size]
        X_batch = gather_rows(X, batch_rows, buffer[: len(batch_rows)])
        if augment is not None:
            augment(X_batch, augment_rng)
        yield batch_rows, X_batch


# How long the background thread waits on a full queue before checking
# whether training has stopped.
_PREFETCH_POLL_SECONDS = 0.05


def _prefetched_batches(X, rows, batch_size, buffers, augment, augment_rng):
    """Yield ``(batch_rows, X_batch)`` gathered and augmented by a background thread.

    Three buffers rotate: one being trained on, one ready in the queue and
    one being filled, so the thread never overwrites a batch in use. NumPy
    releases the GIL in the array operations, so the augmentation really
    runs on another core.
    """
    ready = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce():
        try:
            for number, start in enumerate(range(0, len(rows), batch_size)):
                batch_rows = rows[start : start + batch_size]
                buffer = buffers[number % len(buffers)][: len(batch_rows)]
                augment(gather_rows(X, batch_rows, buffer), augment_rng)
                if not _put_unless_stopped(ready, (batch_rows, buffer), stop):
                    return
            _put_unless_stopped(ready, None, stop)
        except BaseException as error:  # handed to the training thread to raise
            _put_unless_stopped(ready, error, stop)

    worker = threading.Thread(target=produce, name="hdrnn-augment", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _put_unless_stopped(ready, item, stop):
    """Put ``item`` on the queue, giving up once ``stop`` is set; return whether it was put."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=_PREFETCH_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


class PlateauTracker:
    """Counts epochs without improvement, with ``MLPClassifier``'s tolerance rule.

    A loss (training or validation) counts as no improvement when it is
    above ``best_loss - tol``; a score when it is below ``best_score + tol``.

    Parameters
    ----------
    tol : float
        Minimum improvement.

    Attributes
    ----------
    best_loss : float
        Lowest training loss seen.
    best_score : float
        Highest validation score seen.
    no_improvement_count : int
        Consecutive epochs without improvement.
    """

    def __init__(self, tol):
        self.tol = tol
        self.best_loss = math.inf
        self.best_score = -math.inf
        self.no_improvement_count = 0

    def observe_loss(self, loss):
        """Record an epoch's loss."""
        self._count(not loss <= self.best_loss - self.tol)  # NaN counts as no improvement
        self.best_loss = min(self.best_loss, loss)

    def observe_score(self, score):
        """Record an epoch's validation score; return True if it is the best yet."""
        self._count(not score >= self.best_score + self.tol)
        if score > self.best_score:
            self.best_score = score
            return True
        return False

    def _count(self, no_improvement):
        self.no_improvement_count = self.no_improvement_count + 1 if no_improvement else 0
