"""The training runs: epochs of SGD or Adam, or L-BFGS, until a stopping rule says so.

Each run is a function of values: the network's shape and parameters, the
data, a frozen :class:`~hdrnn._training.state.TrainingConfig` and the
:class:`~hdrnn._training.state.TrainingState` it updates. It returns an
:class:`Outcome` saying why it stopped. It never touches the estimator:
the estimator builds the inputs and publishes the results.

Ctrl-C is caught here, because only the run can roll the parameters and the
state back to the end of the last completed epoch; the estimator then
decides what the interruption means (``on_interrupt``).
"""

import math
import time

import numpy as np

from hdrnn._training import diagnostics as _diagnostics
from hdrnn._training import lbfgs as _lbfgs
from hdrnn._training import threads
from hdrnn._training.data import Outcome, validation_metrics
from hdrnn._training.interrupts import deferred_interrupts
from hdrnn.augmentation import BatchAugmenter, augmented_batches, prefetched
from hdrnn.nn import (
    TrainingStep,
    Workspace,
    compiled_kernels,
    iter_batches,
    run_epoch,
)

# Networks whose forward pass over one batch costs fewer multiply-adds than
# this augment in a background thread, with the BLAS on the other cores
# (measurements: benchmarks/README.md, "Augmentation in a background thread").
BACKGROUND_AUGMENT_MAX_MACS = 50e6


def train(arch, params, data, config, state, *, rng, progress, incremental):
    """Run the configured solver on ``data``; return the Outcome.

    ``params`` and ``state`` are updated in place.
    """
    # Overflow and NaN are detected batch by batch and reported as a
    # TrainingDivergedError; NumPy's own RuntimeWarnings would only be noise.
    with np.errstate(over="ignore", invalid="ignore"):
        if not config.stochastic:
            return _lbfgs.run_lbfgs(arch, params, data, config, state, progress=progress)
        return run_stochastic(
            arch, params, data, config, state, rng=rng, progress=progress, incremental=incremental
        )


# ------------------------------------------------------------ stochastic


def run_stochastic(arch, params, data, config, state, *, rng, progress, incremental):
    """Train with SGD or Adam until ``max_iter`` epochs or a stopping rule; one epoch
    for ``partial_fit`` (``incremental``). Updates ``params`` and ``state`` in place."""
    run = _StochasticRun(arch, params, data, config, state, rng=rng, progress=progress)
    return run.run(incremental)


class _StochasticRun:
    """The run-local machinery of :func:`run_stochastic`: buffers, generators, snapshots."""

    def __init__(self, arch, params, data, config, state, *, rng, progress):
        self.arch, self.params, self.data = arch, params, data
        self.config, self.state, self.rng, self.progress = config, state, rng, progress
        self.batch_size = batch_size = config.batch_size
        augment = config.augment
        self.augmenter = augment and BatchAugmenter(
            augment, config.image_shape, batch_size, params.dtype
        )
        self.background = bool(augment) and batch_size * arch.n_coefs < BACKGROUND_AUGMENT_MAX_MACS
        # Chosen once per run: one core for the augmenting thread, none a busy core's.
        self.blas_limit = threads.blas_thread_limit(
            leave_one_core=self.background, epoch_macs=len(data.rows) * arch.n_coefs
        )
        workspace = Workspace(
            arch,
            batch_size,
            params.dtype,
            dropout=config.dropout,
            n_input_buffers=3 if self.background else 1,
        )
        # Dropout masks and distortions draw from generators of their own, seeded
        # from random_state, so that without them the draws of the shuffles and
        # the initial weights are exactly MLPClassifier's.
        dropout_rng = self.augment_rng = None
        if workspace.has_dropout or augment:
            seed = np.random.SeedSequence(rng.randint(np.iinfo(np.int32).max))
            dropout_rng, self.augment_rng = (np.random.default_rng(s) for s in seed.spawn(2))
        # NumPy or compiled element-wise passes: chosen once, for every step of the run.
        self.kernels = compiled_kernels()
        self.step = TrainingStep(
            arch, state.optimizer, workspace, config.alpha, dropout_rng, self.kernels
        )
        self.chance_loss = _diagnostics.chance_loss(arch)
        self.last_good = np.empty_like(params)
        self.best_params = params.copy() if config.stops_on_validation and data.validation else None

    def run(self, incremental):
        records, reason = [], "one_epoch" if incremental else "max_iter"
        for _ in range(1 if incremental else self.config.max_iter):
            committed, stop = False, None
            try:
                with deferred_interrupts():  # a snapshot to roll back to, never half taken
                    self._begin_epoch()
                result, metrics = self._train_epoch()
                if self._diverged(result):
                    return Outcome("diverged", records, error=self._roll_back_diverged(result))
                with deferred_interrupts():  # all of an epoch's records, or none
                    records.append(self._commit_epoch(result, metrics))
                    committed = True
                    stop = self._stop_reason(records[-1])
            except KeyboardInterrupt:
                if not committed:
                    self._roll_back()
                reason = "interrupted"
                break
            if stop:
                reason = stop
                break
        self._finish()
        return Outcome(reason, records)

    def _begin_epoch(self):
        state = self.state
        self.started = time.perf_counter()
        self.learning_rate = state.schedule.rate(len(state.loss_curve), state.samples_seen)
        state.optimizer.learning_rate = self.learning_rate
        self.last_good[...] = self.params
        self.optimizer_state = state.optimizer.state_dict()
        self.progress.epoch_begins()

    def _train_epoch(self):
        """One pass over the training rows; returns the result and the validation metrics."""
        with threads.blas_threads(self.blas_limit):
            result = run_epoch(
                self.params, self._batches(), self.step, self.data.Y, self.data.sample_weight
            )
        metrics = (None, None)
        if self.data.validation is not None and not self._diverged(result):
            metrics = validation_metrics(self.arch, self.params, self.data, self.kernels)
        return result, metrics

    def _batches(self):
        """This epoch's batches: shuffled rows, gathered, maybe distorted in the background."""
        rows = self.data.rows
        if self.config.shuffle:
            self.rng.shuffle(rows)
        buffers = self.step.workspace.X_buffers
        batches = iter_batches(self.data.X, rows, self.batch_size, buffers)
        if self.augmenter:
            batches = augmented_batches(batches, self.augmenter, self.augment_rng)
            if self.background:
                batches = prefetched(batches)
        return batches

    def _diverged(self, result):
        return (
            result.diverged_batch is not None
            or result.loss > _diagnostics.DIVERGED_LOSS_FACTOR * self.chance_loss
            or not np.isfinite(self.params).all()
        )

    def _roll_back(self):
        self.params[...] = self.last_good
        self.state.optimizer.load_state(self.optimizer_state)
        self.progress.epoch_abandoned()

    def _roll_back_diverged(self, result):
        """Roll back a diverged epoch; return the error that says what happened."""
        finite_weights = bool(np.isfinite(self.params).all())
        self._roll_back()
        n_batches = -(-len(self.data.rows) // self.batch_size)
        cause = _diagnostics.DivergenceCause.of(result, self.chance_loss, finite_weights, n_batches)
        return _diagnostics.diverged_error(
            cause, self.data.X, self.state.epochs, self.learning_rate, self.config
        )

    def _commit_epoch(self, result, metrics):
        """Record a completed epoch in the state; return its history record."""
        state, config = self.state, self.config
        state.epochs += 1
        state.loss = result.loss
        state.samples_seen += len(self.data.rows)
        state.loss_curve.append(result.loss)
        val_loss, val_score = metrics
        if self.data.validation is not None:
            state.validation_loss_curve.append(val_loss)
            state.validation_scores.append(val_score)
        if config.stops_on_validation:
            if state.plateau.observe_score(val_score) and self.best_params is not None:
                self.best_params[...] = self.params  # the best epoch so far
        else:
            state.plateau.observe_loss(result.loss)
        # The plateau schedule uses the tol rule, like early stopping.
        state.schedule.epoch_ended(state.plateau.no_improvement_count == 0)
        return state.record(
            loss=result.loss,
            val_loss=val_loss,
            val_score=val_score,
            learning_rate=self.learning_rate,
            seconds=time.perf_counter() - self.started,
        )

    def _stop_reason(self, record):
        """Why training stops after this epoch, or None to go on."""
        stop = self.progress.epoch_ended(record, self.params) and "callback"
        state, config = self.state, self.config
        if state.plateau.no_improvement_count >= config.n_iter_no_change:
            watched = "Validation score" if config.stops_on_validation else "Training loss"
            message = (
                f"{watched} did not improve more than tol={config.tol:f} for "
                f"{config.n_iter_no_change} consecutive epochs."
            )
            if state.schedule.on_patience_exhausted():
                self.progress.note(message + " Stopping.")
                return stop or "no_improvement"
            next_rate = state.schedule.rate(len(state.loss_curve), state.samples_seen)
            self.progress.note(message + f" Setting learning rate to {next_rate:g}.")
            state.plateau.no_improvement_count = 0
        return stop

    def _finish(self):
        if self.best_params is not None and self.state.plateau.best_score > -math.inf:
            self.params[...] = self.best_params
