"""Training with L-BFGS: scipy's optimiser over the whole data set, as MLPClassifier does."""

import math
import time

import numpy as np
import scipy.optimize

from hdrnn._training import diagnostics as _diagnostics
from hdrnn._training.data import Outcome, validation_metrics
from hdrnn._training.interrupts import deferred_interrupts
from hdrnn.nn import Workspace, compiled_kernels, loss_and_grads


def run_lbfgs(arch, params, data, config, state, *, progress):
    """Train with scipy's L-BFGS-B on the whole data set. Updates ``params`` and ``state``."""
    workspace = Workspace(arch, data.X.shape[0], params.dtype)
    kernels = compiled_kernels()  # chosen once for the run
    losses, records = [], []
    last_iterate = params.copy()
    clock = [time.perf_counter()]

    def loss_and_gradient(flat):
        params[...] = flat
        loss, grads = loss_and_grads(
            arch,
            params,
            data.X,
            data.Y,
            workspace=workspace,
            sample_weight=data.sample_weight,
            alpha=config.alpha,
            kernels=kernels,
        )
        return loss, grads.copy()

    def record_iteration(intermediate_result):
        with deferred_interrupts():  # all of an iteration's records, or none
            last_iterate[...] = intermediate_result.x
            losses.append(float(intermediate_result.fun))
            records.append(
                _lbfgs_record(arch, last_iterate, data, state, loss=losses[-1], clock=clock)
            )
            progress.epoch_begins()
            progress.epoch_ended(records[-1], last_iterate)

    try:
        result = scipy.optimize.minimize(
            loss_and_gradient,
            params.copy(),
            method="L-BFGS-B",
            jac=True,
            callback=record_iteration,
            options={"maxfun": config.max_fun, "maxiter": config.max_iter, "gtol": config.tol},
        )
    except KeyboardInterrupt:
        params[...] = last_iterate
        _finish_lbfgs(state, losses, len(losses), loss_and_gradient(last_iterate)[0])
        return Outcome("interrupted", records)
    if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
        params[...] = last_iterate
        _finish_lbfgs(state, losses, len(losses), losses[-1] if losses else math.nan)
        return Outcome(
            "diverged", records, error=_diagnostics.lbfgs_diverged_error(result.nit, data.X)
        )
    params[...] = result.x
    _finish_lbfgs(state, losses, min(result.nit, config.max_iter), float(result.fun))
    if result.status != 0:
        return Outcome(
            "lbfgs_limit", records, message=f"(status={result.status}): {result.message}"
        )
    return Outcome("converged", records)


def _lbfgs_record(arch, weights, data, state, *, loss, clock):
    """The history record of an L-BFGS iteration (validation curves updated too)."""
    val_loss = val_score = None
    if data.validation is not None:
        val_loss, val_score = validation_metrics(arch, weights, data, compiled_kernels())
        state.validation_loss_curve.append(val_loss)
        state.validation_scores.append(val_score)
    now = time.perf_counter()
    record = state.record(loss=loss, val_loss=val_loss, val_score=val_score, seconds=now - clock[0])
    clock[0] = now
    return record


def _finish_lbfgs(state, losses, iterations, loss):
    """L-BFGS restarts the curve on every fit, as MLPClassifier does."""
    state.epochs = iterations
    state.loss = loss
    state.loss_curve = list(losses)
    state.plateau.best_loss = min(losses, default=loss)
