"""What happens between epochs: the training policy of DigitMLPClassifier.

The core (:mod:`hdrnn.nn`) runs one epoch; this module decides everything
around it: the step size of each epoch, validation, early stopping and
best-weight restoring, divergence, Ctrl-C, the ``history_`` records, the
verbose table and scikit-learn callbacks. The functions read the
estimator's parameters and write its fitted attributes.
"""

import contextlib
import math
import signal
import threading
import time
import warnings
from dataclasses import dataclass

import joblib
import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, check_scoring
from threadpoolctl import threadpool_limits

from hdrnn._reporting import EpochReporter, begin_callbacks
from hdrnn.augmentation import Augmentation, BatchAugmenter
from hdrnn.exceptions import TrainingDivergedError, TrainingInterruptedWarning
from hdrnn.nn import (
    OUTPUT_LOSSES,
    SGD,
    Adam,
    LearningRateSchedule,
    Workspace,
    loss_and_grads,
    predict_logits,
    run_epoch,
    unflatten,
)
from hdrnn.nn.network import forward

# An epoch whose mean loss exceeds this many times the loss of guessing
# (log K for K classes) has diverged even while it is still finite: such a
# loss means confident wrong answers on most samples.
DIVERGED_LOSS_FACTOR = 100.0

# Networks whose forward pass over one batch costs fewer multiply-adds than
# this augment in a background thread with the BLAS on the other cores: their
# small matrix products gain little from a second BLAS thread. Larger ones
# keep every core for the BLAS and augment in line (measured on 2 cores:
# 784-128-64-10 at batch 128, 14M, is faster threaded; 784-800-800-10, 163M,
# in line).
BACKGROUND_AUGMENT_MAX_MACS = 50e6

# A final loss above this share of the loss of guessing the class frequencies
# means the network learned (almost) nothing.
CHANCE_LOSS_RATIO = 0.95

# With this share of ReLU units dead, a network has lost most of its capacity.
DEAD_UNITS_WARNING_FRACTION = 0.9

# Dead ReLU units are counted on this many training rows (a forward pass of
# a few milliseconds).
DEAD_UNIT_SAMPLE_ROWS = 2000

# Warnings name the user's line: the stack is user -> scikit-learn's
# _fit_context wrapper -> fit -> _fit -> fit_stochastic/fit_lbfgs -> helper.


@dataclass
class ValidationData:
    """Held-out data watched during training.

    ``y`` are labels as the user gave them (for scorers), ``Y`` the
    binarised targets in the compute dtype (for the loss).
    """

    X: object
    y: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray = None


def validation_metrics(est, arch, params, validation):
    """Return ``(loss, score)`` of the current weights on the validation data.

    The loss is the mean cross-entropy without the L2 term. The score is
    the accuracy (``scoring=None``, like MLPClassifier), minus the loss
    (``scoring="loss"``, so that higher is better) or the given scorer.
    """
    coefs, intercepts = unflatten(arch, params)
    logits = predict_logits(arch, validation.X, coefs, intercepts)
    if not np.isfinite(logits).all():
        return math.nan, math.nan
    labels = est._labels_from_logits(logits)
    weights = validation.sample_weight
    scale = 1.0 / len(logits) if weights is None else weights / weights.sum()
    dlogits = np.empty_like(logits)
    loss = OUTPUT_LOSSES[arch.output].loss_and_dlogits(logits, validation.Y, scale, dlogits)
    if est.scoring is None:
        score = accuracy_score(validation.y, labels, sample_weight=weights)
    elif est.scoring == "loss":
        score = -loss
    else:
        # coefs_ are views of params, so the estimator scores the current weights.
        scorer = check_scoring(est, est.scoring)
        kwargs = {} if weights is None else {"sample_weight": weights}
        score = float(scorer(est, validation.X, validation.y, **kwargs))
    return loss, score


def make_optimizer(est, n_params, dtype, previous=None):
    """Build the optimizer from the estimator's parameters.

    When ``previous`` is an optimizer of the same kind and size its state
    (Adam's moments and step count, SGD's velocity) is carried over, so
    ``partial_fit`` and ``warm_start`` continue where training stopped.
    """
    if est.solver == "sgd":
        optimizer = SGD(
            n_params, dtype, est.learning_rate_init, est.momentum, est.nesterovs_momentum
        )
    else:
        optimizer = Adam(
            n_params, dtype, est.learning_rate_init, est.beta_1, est.beta_2, est.epsilon
        )
    if (
        previous is not None
        and type(previous) is type(optimizer)
        and all(
            getattr(previous, name).shape == value.shape
            for name, value in vars(optimizer).items()
            if isinstance(value, np.ndarray) and not name.startswith("_")
        )
    ):
        state = previous.state_dict()
        # Hyperparameters come from the current parameters, state from before.
        for name in ("learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon"):
            state.pop(name, None)
        optimizer.load_state(state)
    return optimizer


def make_schedule(est):
    """The learning-rate schedule of a new training run."""
    return LearningRateSchedule(
        est.learning_rate,
        est.learning_rate_init,
        total_epochs=est.max_iter,
        warmup_epochs=est.warmup_epochs,
        power_t=est.power_t,
        plateau_patience=est.plateau_patience,
    )


def make_augmenter(est, batch_size, dtype):
    """The batch augmenter asked for by ``augment``, or None."""
    if est.augment is None:
        return None
    config = est.augment
    if isinstance(config, str):
        config = Augmentation.preset(config, est.image_shape_)
    return BatchAugmenter(config, est.image_shape_, batch_size, dtype)


def fit_stochastic(est, arch, params, X, y, Y, sample_weight, rng, incremental, split):
    """Train with SGD or Adam; ``split`` is ``(train_rows, validation or None)``."""
    train_rows, validation = split
    keep_state = incremental or est.warm_start
    est._optimizer = make_optimizer(
        est, arch.n_params, params.dtype, est._optimizer if keep_state else None
    )
    if not incremental or est._schedule is None:
        est._schedule = make_schedule(est)
    optimizer, schedule = est._optimizer, est._schedule
    batch_size = _batch_size(est, len(train_rows))
    augmenter = make_augmenter(est, batch_size, params.dtype)
    background = augmenter is not None and batch_size * arch.n_coefs < BACKGROUND_AUGMENT_MAX_MACS
    workspace = Workspace(
        arch,
        batch_size,
        params.dtype,
        dropout=est._dropout_rates,
        n_input_buffers=3 if background else 1,
    )
    # Dropout masks and distortions draw from generators of their own, seeded
    # from random_state, so that without them the draws of the shuffles and
    # the initial weights are exactly MLPClassifier's.
    dropout_rng = augment_rng = None
    if workspace.has_dropout or augmenter is not None:
        seed = np.random.SeedSequence(rng.randint(np.iinfo(np.int32).max))
        dropout_rng, augment_rng = (np.random.default_rng(s) for s in seed.spawn(2))
    stops_on_validation = est.early_stopping and validation is not None
    best_params = params.copy() if stops_on_validation else None
    chance_loss = _chance_loss(arch)
    last_good = np.empty_like(params)
    reporter = EpochReporter(
        est, validation is not None, planned=1 if incremental else est.max_iter
    )
    callbacks = begin_callbacks(est, X, y, max_subtasks=1 if incremental else est.max_iter)

    est.n_iter_ = 0
    for _ in range(est.max_iter):
        epoch_callbacks, committed, stop = None, False, False
        try:
            # Ctrl-C lands only inside the epoch's training, never half-way
            # through its snapshot or its bookkeeping.
            with deferred_interrupts():
                started = time.perf_counter()
                epoch_number = len(est.loss_curve_)  # counts partial_fit calls too
                learning_rate = schedule.rate(epoch_number, est.t_)
                optimizer.learning_rate = learning_rate
                last_good[...] = params
                optimizer_state = optimizer.state_dict()
                epoch_callbacks = callbacks and callbacks.subcontext(task_name="epoch")
                if epoch_callbacks:
                    epoch_callbacks.call_on_fit_task_begin(estimator=est, X=X, y=y)
            with _blas_threads(leave_one_core=background):
                result = run_epoch(
                    arch,
                    params,
                    X,
                    Y,
                    sample_weight,
                    train_rows,
                    batch_size,
                    est.alpha,
                    optimizer,
                    workspace,
                    rng if est.shuffle else None,
                    augment=augmenter,
                    augment_rng=augment_rng,
                    dropout_rng=dropout_rng,
                    augment_in_background=background,
                )
            diverged = (
                result.diverged_batch is not None
                or result.loss > DIVERGED_LOSS_FACTOR * chance_loss
                or not np.isfinite(params).all()
            )
            metrics = (None, None)
            if validation is not None and not diverged:
                metrics = validation_metrics(est, arch, params, validation)
            if diverged:
                finite_weights = bool(np.isfinite(params).all())
                params[...] = last_good
                optimizer.load_state(optimizer_state)
                n_batches = -(-len(train_rows) // batch_size)
                _raise_diverged(
                    est, X, result, learning_rate, chance_loss, finite_weights, n_batches
                )
            with deferred_interrupts():
                est.n_iter_ += 1
                est.loss_ = result.loss
                est.t_ += len(train_rows)
                est.loss_curve_.append(est.loss_)
                val_loss, val_score = metrics
                if validation is not None:
                    est.validation_loss_curve_.append(val_loss)
                    est.validation_scores_.append(val_score)
                if stops_on_validation:
                    if est._plateau.observe_score(val_score):  # the best epoch so far
                        est.best_validation_score_ = val_score
                        best_params[...] = params
                else:
                    est._plateau.observe_loss(est.loss_)
                    est.best_loss_ = est._plateau.best_loss
                # The plateau schedule uses the tol rule, like early stopping.
                schedule.epoch_ended(est._plateau.no_improvement_count == 0)
                reporter.record(
                    loss=est.loss_,
                    val_loss=val_loss,
                    val_score=val_score,
                    learning_rate=learning_rate,
                    seconds=time.perf_counter() - started,
                )
                committed = True
                if epoch_callbacks:
                    stop = epoch_callbacks.call_on_fit_task_end(
                        estimator=est,
                        X=X,
                        y=y,
                        reconstruction_attributes=lambda: _current_attributes(arch, params),
                    )
                if est._plateau.no_improvement_count >= est.n_iter_no_change:
                    watched = "Validation score" if stops_on_validation else "Training loss"
                    message = (
                        f"{watched} did not improve more than tol={est.tol:f} for "
                        f"{est.n_iter_no_change} consecutive epochs."
                    )
                    if schedule.on_patience_exhausted():
                        reporter.note(message + " Stopping.")
                        stop = True
                    else:
                        next_rate = schedule.rate(epoch_number + 1, est.t_)
                        reporter.note(message + f" Setting learning rate to {next_rate:g}.")
                        est._plateau.no_improvement_count = 0
        except KeyboardInterrupt:
            if not committed:
                params[...] = last_good
                optimizer.load_state(optimizer_state)
                if epoch_callbacks:
                    epoch_callbacks.call_on_fit_task_end(estimator=est)
            est.interrupted_ = True  # the estimator reports it once the fit is complete
            break
        if stop or incremental:
            break
        if est.n_iter_ == est.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )
    if best_params is not None and est.best_validation_score_ > -math.inf:
        params[...] = best_params
    if callbacks:
        callbacks.call_on_fit_task_end(estimator=est, X=X, y=y, reconstruction_attributes={})


def fit_lbfgs(est, arch, params, X, y, Y, sample_weight, validation):
    """Train with scipy's L-BFGS-B on the whole data set."""
    workspace = Workspace(arch, X.shape[0], params.dtype)
    reporter = EpochReporter(
        est, validation is not None, iteration_name="iter", planned=est.max_iter
    )
    callbacks = begin_callbacks(est, X, y, max_subtasks=est.max_iter + 1)
    losses = []
    last_iterate = params.copy()
    clock = [time.perf_counter()]

    def loss_and_gradient(flat):
        params[...] = flat
        loss = loss_and_grads(arch, params, X, Y, sample_weight, est.alpha, workspace)
        return loss, workspace.grads.copy()

    def record_iteration(intermediate_result):
        with deferred_interrupts():  # all of an iteration's records, or none
            _record(intermediate_result)

    def _record(intermediate_result):
        last_iterate[...] = intermediate_result.x
        losses.append(float(intermediate_result.fun))
        val_loss = val_score = None
        if validation is not None:
            val_loss, val_score = validation_metrics(est, arch, last_iterate, validation)
            est.validation_loss_curve_.append(val_loss)
            est.validation_scores_.append(val_score)
        now = time.perf_counter()
        reporter.record(
            loss=losses[-1],
            val_loss=val_loss,
            val_score=val_score,
            learning_rate=None,
            seconds=now - clock[0],
        )
        clock[0] = now
        if callbacks:
            iteration = callbacks.subcontext(task_name="iteration")
            iteration.call_on_fit_task_begin(estimator=est, X=X, y=y)
            iteration.call_on_fit_task_end(
                estimator=est,
                X=X,
                y=y,
                reconstruction_attributes=lambda: _current_attributes(arch, last_iterate),
            )

    try:
        result = scipy.optimize.minimize(
            loss_and_gradient,
            params.copy(),
            method="L-BFGS-B",
            jac=True,
            callback=record_iteration,
            options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        )
    except KeyboardInterrupt:
        params[...] = last_iterate
        est.interrupted_ = True  # the estimator reports it once the fit is complete
        result = None
    if result is not None:
        if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
            raise TrainingDivergedError(
                f"L-BFGS produced a non-finite loss after {result.nit} iteration(s). "
                "Scale X to values of order 1 (e.g. divide pixels by 255) or increase alpha.",
                epoch=result.nit + 1,
            )
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {min(result.nit, est.max_iter)} "
                f"iteration(s) (status={result.status}): {result.message}. Increase "
                f"max_iter (now {est.max_iter}) or scale the data.",
                ConvergenceWarning,
                stacklevel=5,
            )
        params[...] = result.x
    if result is None:  # interrupted: report the loss of the weights kept
        est.n_iter_ = len(losses)
        est.loss_ = loss_and_gradient(last_iterate)[0]
    else:
        est.n_iter_ = min(result.nit, est.max_iter)
        est.loss_ = float(result.fun)
    est.loss_curve_ = losses
    est.best_loss_ = min(losses, default=est.loss_)
    if callbacks:
        callbacks.call_on_fit_task_end(estimator=est, X=X, y=y, reconstruction_attributes={})


@contextlib.contextmanager
def deferred_interrupts():
    """Hold a Ctrl-C that arrives inside the block until the block is done.

    Bookkeeping between epochs (appending to the curves, the history, the
    best weights) must not be left half-done. Only the main thread receives
    signals, and a handler the user installed is left alone: in those cases
    the block runs as it is.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda number, frame: received.append(number))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if received:
            raise KeyboardInterrupt


def _blas_threads(leave_one_core):
    """Limit the BLAS to all cores but one while a background thread augments.

    Measured on 2 cores: BLAS threads spinning between small matrix
    products starve the augmentation thread; with the BLAS on one core and
    augmentation on the other, an affine-augmented epoch costs 40% more
    than a plain one instead of 100%.
    """
    if not leave_one_core:
        return contextlib.nullcontext()
    return threadpool_limits(limits=max(1, joblib.cpu_count() - 1), user_api="blas")


def _current_attributes(arch, params):
    """Fitted attributes of a snapshot of ``params``, for scikit-learn callbacks."""
    coefs, intercepts = unflatten(arch, params.copy())
    return {"coefs_": coefs, "intercepts_": intercepts}


def report_interruption(est):
    """After a fit cut short by Ctrl-C: raise KeyboardInterrupt, or warn, per ``on_interrupt``."""
    unit = "iteration" if est.solver == "lbfgs" else "epoch"
    message = (
        f"Training interrupted by the user (KeyboardInterrupt) after {est.n_iter_} completed "
        f"{unit}(s) of this call; the model keeps the weights of the last completed {unit}."
    )
    if est.on_interrupt == "raise":
        raise KeyboardInterrupt(message)
    warnings.warn(message, TrainingInterruptedWarning, stacklevel=5)


def _batch_size(est, n_samples):
    if est.batch_size == "auto":
        return min(200, n_samples)
    if est.batch_size > n_samples:
        warnings.warn(
            f"Got batch_size={est.batch_size} larger than the {n_samples} training "
            "samples. It is going to be clipped.",
            UserWarning,
            stacklevel=6,
        )
    return min(est.batch_size, n_samples)


def _chance_loss(arch):
    """Loss of a network that predicts uniform probabilities."""
    if arch.output == "softmax":
        return math.log(arch.layer_units[-1])
    return arch.layer_units[-1] * math.log(2.0)


def _raise_diverged(est, X, result, learning_rate, chance_loss, finite_weights, n_batches):
    """Raise TrainingDivergedError naming the epoch, the batch (1-based) and the cause."""
    epoch = est.n_iter_ + 1
    batch, what = _divergence_cause(result, chance_loss, finite_weights, n_batches)
    where = f"epoch {epoch}" + ("" if batch is None else f", batch {batch}")
    if not _all_finite(X):
        raise TrainingDivergedError(
            f"Training diverged at {where}: the input X holds NaN or infinite "
            "values (input validation was skipped with assume_finite=True). Remove "
            "or impute them before fitting.",
            epoch=epoch,
            batch=batch,
            learning_rate=learning_rate,
        )
    kept = (
        f"The weights of the last good epoch ({est.n_iter_}) were kept."
        if est.n_iter_
        else "The weights from before this epoch were kept."
    )
    raise TrainingDivergedError(
        f"Training diverged at {where} with learning_rate={learning_rate:g}: "
        f"{what}. {kept} "
        f"Lower learning_rate_init (e.g. to {est.learning_rate_init / 10:g}) or scale X "
        "to values of order 1.",
        epoch=epoch,
        batch=batch,
        learning_rate=learning_rate,
    )


def _divergence_cause(result, chance_loss, finite_weights, n_batches):
    """Return ``(batch, what happened)``: the 1-based batch at fault (or None) and why.

    An epoch stops at the first batch whose loss is not finite. If the
    weights were already non-finite then, the update of the batch before
    made them so (an overflowing gradient); otherwise that batch's own
    forward pass overflowed.
    """
    if result.diverged_batch is not None:
        if not finite_weights and result.diverged_batch > 0:
            return result.diverged_batch, "its update made the weights non-finite"
        return result.diverged_batch + 1, "its loss was not finite"
    if not finite_weights:
        return n_batches, "the last update of the epoch made the weights non-finite"
    return None, (
        f"the epoch's mean training loss reached {result.loss:.3g}, over "
        f"{DIVERGED_LOSS_FACTOR:g} times chance level ({chance_loss:.3g})"
    )


def warn_if_no_better_than_chance(est, Y):
    """Warn when training ended where a constant guess would have, or with dead ReLUs."""
    if not est.loss_curve_:
        return
    prior = Y.mean(axis=0)
    if est.out_activation_ == "softmax":
        guess_loss = -float(np.sum(prior * np.log(np.clip(prior, 1e-12, None))))
    else:
        p = np.clip(prior, 1e-12, 1 - 1e-12)
        guess_loss = -float(np.sum(p * np.log(p) + (1 - p) * np.log(1 - p)))
    dead = est.dead_units_fraction_
    if est.loss_ >= CHANCE_LOSS_RATIO * guess_loss:
        how = "no better than chance"
    elif dead is not None and dead >= DEAD_UNITS_WARNING_FRACTION:
        how = "little better than chance"
    else:
        return
    detail = "" if dead is None else f" {dead:.0%} of hidden units never activate."
    warnings.warn(
        f"Training ended {how}: loss {est.loss_:.4g} against "
        f"{guess_loss:.4g} for always guessing the class frequencies.{detail} "
        f"Lower learning_rate_init (now {est.learning_rate_init:g}) or scale X.",
        ConvergenceWarning,
        stacklevel=5,
    )


def dead_unit_fraction(arch, params, X, rows):
    """Share of ReLU hidden units that output zero for every training row sampled (else None)."""
    if arch.activation != "relu":
        return None
    return _dead_unit_fraction(arch, params, X[rows[:DEAD_UNIT_SAMPLE_ROWS]])


def _dead_unit_fraction(arch, params, X):
    """Share of hidden units that output zero for every row of ``X``."""
    coefs, intercepts = unflatten(arch, params)
    X = X.toarray() if hasattr(X, "toarray") else X
    activations = [np.empty((X.shape[0], n), dtype=params.dtype) for n in arch.layer_units[1:]]
    forward(arch, X, coefs, intercepts, activations)
    hidden = activations[:-1]
    dead = sum(int(np.sum(~(A > 0).any(axis=0))) for A in hidden)
    return dead / sum(A.shape[1] for A in hidden)


def _all_finite(X):
    data = X.data if hasattr(X, "toarray") else X
    return bool(np.isfinite(data).all())
