"""The mini-batch training loop and plateau bookkeeping.

One call of :func:`run_epoch` is one pass over the training rows; the
caller (the estimator) decides what happens between epochs.
"""

import math
from dataclasses import dataclass

import numpy as np

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
    return np.take(X, rows, axis=0, out=out, mode="clip")


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
    noise_rng=None,
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
        ``augment(X_batch, noise_rng)`` transforms a batch in place (it is a
        copy in the workspace, never ``X`` itself).
    noise_rng : numpy.random.Generator, default=None
        Source of the dropout masks and of the augmentation's randomness;
        required when either is used.

    Returns
    -------
    result : EpochResult
    """
    if rng is not None:
        rng.shuffle(rows)
    n_rows = len(rows)
    total_loss = 0.0
    for batch_number, start in enumerate(range(0, n_rows, batch_size)):
        batch_rows = rows[start : start + batch_size]
        n_batch = len(batch_rows)
        X_batch = gather_rows(X, batch_rows, workspace.X[:n_batch])
        if augment is not None:
            augment(X_batch, noise_rng)
        Y_batch = np.take(Y, batch_rows, axis=0, out=workspace.Y[:n_batch], mode="clip")
        weights = None
        if sample_weight is not None:
            weights = np.take(
                sample_weight, batch_rows, out=workspace.sample_weight[:n_batch], mode="clip"
            )
            if not weights.any():
                continue  # a batch with zero total weight carries no information
        if workspace.has_dropout:
            draw_dropout_masks(workspace, n_batch, noise_rng)
        loss = loss_and_grads(arch, params, X_batch, Y_batch, weights, alpha, workspace)
        if not math.isfinite(loss):
            return EpochResult(math.nan, batch_number)
        optimizer.step(params, workspace.grads)
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
        """Record an epoch's loss; return True if it is the lowest yet."""
        self._count(not loss <= self.best_loss - self.tol)  # NaN counts as no improvement
        if loss < self.best_loss:
            self.best_loss = loss
            return True
        return False

    def observe_score(self, score):
        """Record an epoch's validation score; return True if it is the best yet."""
        self._count(not score >= self.best_score + self.tol)
        if score > self.best_score:
            self.best_score = score
            return True
        return False

    def _count(self, no_improvement):
        self.no_improvement_count = self.no_improvement_count + 1 if no_improvement else 0
