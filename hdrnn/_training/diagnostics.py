"""Telling users what went wrong in training, and what to change.

Divergence (which batch, which cause) and networks that learned nothing
(dead ReLU units).
"""

import math
from dataclasses import dataclass

import numpy as np

from hdrnn.exceptions import TrainingDivergedError
from hdrnn.nn import forward, unflatten
from hdrnn.nn.prediction import chunk_rows

# An epoch whose mean loss exceeds this many times the loss of guessing
# (log K for K classes) has diverged even while it is still finite: such a
# loss means confident wrong answers on most samples.
DIVERGED_LOSS_FACTOR = 100.0

# A final loss above this share of the loss of guessing the class frequencies
# means the network learned (almost) nothing.
CHANCE_LOSS_RATIO = 0.95

# With this share of ReLU units dead, a network has lost most of its capacity.
DEAD_UNITS_WARNING_FRACTION = 0.9

# Dead ReLU units are counted on this many training rows (a forward pass of
# a few milliseconds).
DEAD_UNIT_SAMPLE_ROWS = 2000


def chance_loss(arch):
    """Loss of a network that predicts uniform probabilities."""
    if arch.output == "softmax":
        return math.log(arch.layer_units[-1])
    return arch.layer_units[-1] * math.log(2.0)


@dataclass(frozen=True)
class DivergenceCause:
    """Where an epoch diverged (1-based batch, or None for the epoch as a whole) and why."""

    batch: int
    what: str

    @classmethod
    def of(cls, result, chance, finite_weights, n_batches):
        """Diagnose an epoch from its result and whether the weights ended finite.

        An epoch stops at the first batch whose loss is not finite. If the
        weights were already non-finite then, the update of the batch before
        made them so (an overflowing gradient); otherwise that batch's own
        forward pass overflowed.
        """
        if result.diverged_batch is not None:
            if not finite_weights and result.diverged_batch > 0:
                return cls(result.diverged_batch, "its update made the weights non-finite")
            return cls(result.diverged_batch + 1, "its loss was not finite")
        if not finite_weights:
            return cls(n_batches, "the last update of the epoch made the weights non-finite")
        return cls(
            None,
            f"the epoch's mean training loss reached {result.loss:.3g}, over "
            f"{DIVERGED_LOSS_FACTOR:g} times chance level ({chance:.3g})",
        )


def diverged_error(cause, X, epochs_done, learning_rate, config):
    """The TrainingDivergedError for a diverged epoch, naming the epoch, batch and remedy."""
    epoch = epochs_done + 1
    where = f"epoch {epoch}" + ("" if cause.batch is None else f", batch {cause.batch}")
    if not _all_finite(X):
        return TrainingDivergedError(
            f"Training diverged at {where}: the input X holds NaN or infinite "
            "values (input validation was skipped with assume_finite=True). Remove "
            "or impute them before fitting.",
            epoch=epoch,
            batch=cause.batch,
            learning_rate=learning_rate,
        )
    kept = (
        f"The weights of the last good epoch ({epochs_done}) were kept."
        if epochs_done
        else "The weights from before this epoch were kept."
    )
    return TrainingDivergedError(
        f"Training diverged at {where} with learning_rate={learning_rate:g}: "
        f"{cause.what}. {kept} Lower learning_rate_init (e.g. to "
        f"{config.learning_rate_init / 10:g}) or scale X to values of order 1.",
        epoch=epoch,
        batch=cause.batch,
        learning_rate=learning_rate,
    )


def lbfgs_diverged_error(iterations, X):
    """The TrainingDivergedError of an L-BFGS run whose loss became non-finite."""
    if not _all_finite(X):
        return TrainingDivergedError(
            f"L-BFGS produced a non-finite loss after {iterations} iteration(s): the input "
            "X holds NaN or infinite values (input validation was skipped with "
            "assume_finite=True). Remove or impute them before fitting.",
            epoch=iterations + 1,
        )
    return TrainingDivergedError(
        f"L-BFGS produced a non-finite loss after {iterations} iteration(s); the model "
        "keeps the last finite iterate. Scale X to values of order 1 (e.g. divide pixels "
        "by 255) or increase alpha.",
        epoch=iterations + 1,
    )


def chance_message(loss, Y, output, dead_fraction, learning_rate_init):
    """A warning's text when training ended (little) better than chance, else None."""
    prior = Y.mean(axis=0)
    if output == "softmax":
        guess_loss = -float(np.sum(prior * np.log(np.clip(prior, 1e-12, None))))
    else:
        p = np.clip(prior, 1e-12, 1 - 1e-12)
        guess_loss = -float(np.sum(p * np.log(p) + (1 - p) * np.log(1 - p)))
    if loss >= CHANCE_LOSS_RATIO * guess_loss:
        how = "no better than chance"
    elif dead_fraction is not None and dead_fraction >= DEAD_UNITS_WARNING_FRACTION:
        how = "little better than chance"
    else:
        return None
    detail = (
        "" if dead_fraction is None else f" {dead_fraction:.0%} of hidden units never activate."
    )
    return (
        f"Training ended {how}: loss {loss:.4g} against {guess_loss:.4g} for always "
        f"guessing the class frequencies.{detail} Lower learning_rate_init (now "
        f"{learning_rate_init:g}) or scale X."
    )


def dead_unit_fraction(arch, params, X, rows):
    """Share of ReLU hidden units that output zero for every training row sampled (else None)."""
    if arch.activation != "relu":
        return None
    sampled = rows[:DEAD_UNIT_SAMPLE_ROWS]
    coefs, intercepts = unflatten(arch, params)
    # In chunks, as prediction runs: a very wide layer must not need gigabytes here.
    chunk = chunk_rows(arch, params.dtype, len(sampled))
    outputs = [np.empty((chunk, n), dtype=params.dtype) for n in arch.layer_units[1:]]
    alive = [np.zeros(n, dtype=bool) for n in arch.layer_units[1:-1]]
    for start in range(0, len(sampled), chunk):
        sample = X[sampled[start : start + chunk]]
        sample = sample.toarray() if hasattr(sample, "toarray") else sample
        rows_out = [buffer[: sample.shape[0]] for buffer in outputs]
        forward(arch, sample, coefs, intercepts, rows_out)
        for seen, A in zip(alive, rows_out[:-1]):
            seen |= (A > 0).any(axis=0)
    return sum(int(np.sum(~seen)) for seen in alive) / sum(seen.size for seen in alive)


def _all_finite(X):
    data = X.data if hasattr(X, "toarray") else X
    return bool(np.isfinite(data).all())
