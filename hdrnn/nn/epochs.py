"""One epoch of mini-batch training, and the bookkeeping of improvement.

:func:`run_epoch` trains on the batches it is given, in order; where they
come from (shuffled rows gathered by :func:`iter_batches`, distorted by an
augmenter, prepared in a background thread) is the caller's choice. The
caller also decides what happens between epochs.
"""

import math
from dataclasses import dataclass

from hdrnn.nn.buffers import draw_dropout_masks
from hdrnn.nn.network import batch_weight_sum, loss_and_grads


@dataclass(frozen=True)
class EpochResult:
    """What one epoch produced.

    Parameters
    ----------
    loss : float
        Mean training loss over the epoch's rows, batches weighted by their
        size (NaN when the epoch diverged).
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


def iter_batches(X, rows, batch_size, buffers):
    """Yield ``(batch_rows, X_batch)``: ``X[rows]`` in slices of ``batch_size`` rows.

    Each batch is copied into the next buffer of ``buffers`` in turn (one
    buffer is enough when batches are used one at a time; a consumer running
    ahead, like a prefetching thread, needs more).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        All rows.
    rows : ndarray of int
        The rows to take, in order.
    batch_size : int
        Rows per batch; the last batch may be smaller.
    buffers : list of ndarray of shape (>= batch_size, n_features)
        Where the batches are copied.
    """
    for number, start in enumerate(range(0, len(rows), batch_size)):
        batch_rows = rows[start : start + batch_size]
        buffer = buffers[number % len(buffers)][: len(batch_rows)]
        yield batch_rows, gather_rows(X, batch_rows, buffer)


@dataclass
class TrainingStep:
    """One update of the parameters from one batch: forward, backward, optimizer step.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    optimizer : SGD or Adam
        Applies each gradient to the parameters.
    workspace : Workspace
        Buffers for the largest batch.
    alpha : float, default=0.0
        L2 penalty.
    dropout_rng : numpy.random.Generator or None, default=None
        Source of the dropout masks; required when the workspace has dropout.
    kernels : SimpleNamespace or None, default=None
        The compiled kernels chosen for the run (:func:`compiled_kernels`),
        or None for the NumPy code. Chosen once, here, for every step.
    """

    arch: object
    optimizer: object
    workspace: object
    alpha: float = 0.0
    dropout_rng: object = None
    kernels: object = None

    def __call__(self, params, X, Y, sample_weight=None):
        """Update ``params`` in place from one batch; return the batch's loss.

        A non-finite loss is returned without updating anything.
        """
        if self.workspace.has_dropout:
            draw_dropout_masks(self.workspace, X.shape[0], self.dropout_rng)
        # An optimizer that can add the L2 gradient inside its own pass (Adam) does.
        l2_in_step = bool(self.alpha) and hasattr(self.optimizer, "step_with_l2")
        loss, grads = loss_and_grads(
            self.arch,
            params,
            X,
            Y,
            workspace=self.workspace,
            sample_weight=sample_weight,
            alpha=0.0 if l2_in_step else self.alpha,
            kernels=self.kernels,
        )
        if not math.isfinite(loss):
            return loss
        if l2_in_step:
            penalty = self.alpha / batch_weight_sum(X.shape[0], sample_weight)
            term = self.optimizer.step_with_l2(
                params, grads, self.arch.n_coefs, penalty, self.kernels
            )
            return loss + term
        self.optimizer.step(params, grads, self.kernels)
        return loss


def run_epoch(params, batches, step, Y, sample_weight=None):
    """Train on every batch of one epoch, in order, updating ``params`` in place.

    Parameters
    ----------
    params : ndarray of shape (arch.n_params,)
        Flat parameters.
    batches : iterable of (ndarray of int, ndarray)
        ``(batch_rows, X_batch)`` pairs, e.g. from :func:`iter_batches`: the
        rows of ``Y`` (and ``sample_weight``) the batch holds, and its inputs.
    step : TrainingStep
        What one batch does to the parameters.
    Y : ndarray of shape (n_samples, units[-1])
        Targets for all rows, in the compute dtype.
    sample_weight : ndarray of shape (n_samples,) or None, default=None
        Per-row weights. A batch whose weights are all zero is skipped.

    Returns
    -------
    result : EpochResult
    """
    workspace = step.workspace
    total_loss, n_rows = 0.0, 0
    for number, (batch_rows, X_batch) in enumerate(batches):
        n_batch = len(batch_rows)
        n_rows += n_batch
        Y_batch = Y.take(batch_rows, axis=0, out=workspace.Y[:n_batch], mode="clip")
        weights = None
        if sample_weight is not None:
            weights = sample_weight.take(
                batch_rows, out=workspace.sample_weight[:n_batch], mode="clip"
            )
            if not weights.any():
                continue  # a batch with zero total weight carries no information
        loss = step(params, X_batch, Y_batch, weights)
        if not math.isfinite(loss):
            return EpochResult(math.nan, number)
        total_loss += loss * n_batch
    return EpochResult(total_loss / n_rows)


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

    # The counters that state_dict() returns and model files hold.
    STATE_KEYS = ("best_loss", "best_score", "no_improvement_count")

    def state_dict(self):
        """Return the counters, as plain numbers."""
        return {name: getattr(self, name) for name in self.STATE_KEYS}

    def load_state(self, state):
        """Restore counters returned by :meth:`state_dict`."""
        self.best_loss = float(state["best_loss"])
        self.best_score = float(state["best_score"])
        self.no_improvement_count = int(state["no_improvement_count"])
