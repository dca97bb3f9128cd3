"""How a fit ended, told to the user: the error to raise or the warnings to give.

:func:`report_outcome` runs after the estimator holds a consistent model
(the rolled-back one, after divergence or Ctrl-C), so whatever it raises
leaves a usable estimator behind.
"""

from sklearn.exceptions import ConvergenceWarning

from hdrnn._training import diagnostics
from hdrnn._utils.warn import warn
from hdrnn.exceptions import TrainingInterruptedWarning


def report_outcome(outcome, setup, fitted, *, on_interrupt, incremental):
    """Raise or warn about how a run ended.

    Parameters
    ----------
    outcome : Outcome
        What the run returned.
    setup : FitSetup
        What the fit decided before training.
    fitted : dict
        The fitted values the messages quote: ``n_iter``, ``loss``,
        ``loss_curve``, ``dead_units_fraction`` and ``interrupted``.
    on_interrupt : {"raise", "stop"}
        The estimator's parameter: raise ``KeyboardInterrupt`` or warn.
    incremental : bool
        Whether the run was one ``partial_fit`` epoch.
    """
    if outcome.error is not None:
        raise outcome.error
    config = setup.config
    if outcome.reason == "max_iter":
        warn(
            f"Stochastic Optimizer: Maximum iterations ({config.max_iter}) reached and "
            "the optimization hasn't converged yet.",
            ConvergenceWarning,
        )
    elif outcome.reason == "lbfgs_limit":
        warn(
            f"lbfgs failed to converge after {fitted['n_iter']} iteration(s) "
            f"{outcome.message}. Increase max_iter (now {config.max_iter}) or scale the data.",
            ConvergenceWarning,
        )
    if config.stochastic and not incremental and fitted["loss_curve"]:
        message = diagnostics.chance_message(
            fitted["loss"],
            setup.data.Y[setup.data.rows],
            setup.arch.output,
            fitted["dead_units_fraction"],
            config.learning_rate_init,
        )
        if message:
            warn(message, ConvergenceWarning)
    if fitted["interrupted"]:
        _report_interruption(fitted["n_iter"], config.iteration_name, on_interrupt)


def _report_interruption(n_iter, unit, on_interrupt):
    message = (
        f"Training interrupted by the user (KeyboardInterrupt) after {n_iter} completed "
        f"{unit}(s) of this call; the model keeps the weights of the last completed {unit}."
    )
    if on_interrupt == "raise":
        raise KeyboardInterrupt(message)
    warn(message, TrainingInterruptedWarning)
