"""How DigitMLPClassifier fits: check, set up, train, publish.

:class:`FitMixin` holds the estimator's fitting steps. They check the input,
ask :func:`hdrnn.estimator._setup.fit_setup` for the network, the configuration and
the data, hand those values to :func:`hdrnn._training.stochastic.train`, and publish
what it returns as fitted attributes. These methods and ``partial_fit``
(in :mod:`hdrnn.estimator`) are the only code that writes the estimator's
attributes.
"""

import copy
from dataclasses import replace

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.utils import check_random_state
from sklearn.utils.validation import column_or_1d, validate_data

from hdrnn._training import diagnostics as _diagnostics
from hdrnn._training.progress import EpochCallbacks, EpochTable, Progress
from hdrnn._training.state import TrainingState
from hdrnn._training.stochastic import train, with_held_out_validation
from hdrnn._utils.sklearn_compat import callbacks_supported
from hdrnn._utils.warn import warn
from hdrnn.estimator import _validation
from hdrnn.estimator._setup import fit_setup
from hdrnn.exceptions import TrainingInterruptedWarning
from hdrnn.nn import flatten, init_params, unflatten


class FitMixin:
    """The fitting steps of :class:`~hdrnn.DigitMLPClassifier`."""

    def _fit(self, X, y, sample_weight, validation, incremental):
        # The one rule for continuing: partial_fit, or warm_start, on a fitted model.
        continuing = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, y = self._checked_xy(X, y, reset=not continuing)
        binarizer = self._label_encoding(y, incremental, continuing)
        setup = fit_setup(
            self.get_params(),
            X,
            y,
            sample_weight,
            self._checked_validation(validation),
            binarizer=binarizer,
            scorer=self._scorer(),
        )
        rng = check_random_state(self.random_state)
        params, state = self._starting_point(setup, continuing, rng, incremental)
        # After the initial weights: the random draws are MLPClassifier's.
        setup = replace(setup, data=with_held_out_validation(setup.data, setup.config, rng))
        self._set_structure(setup)
        progress = self._progress(setup, X, y, incremental)
        outcome = train(
            setup.arch,
            params,
            setup.data,
            setup.config,
            state,
            rng=rng,
            progress=progress,
            incremental=incremental,
        )
        self._publish(setup, params, state, outcome)
        progress.close()  # the callbacks see the fitted model
        self._report(setup, outcome, incremental)
        return self

    def _checked_xy(self, X, y, reset):
        """Checked ``X`` and ``y``; ``reset`` records ``n_features_in_`` (a new fit)."""
        _validation.refuse_image_stacks(X)
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _checked_validation(self, validation):
        if validation is None:
            return None
        X_val, y_val, weight_val = validation
        return (*self._checked_xy(X_val, y_val, reset=False), weight_val)

    def _label_encoding(self, y, incremental, continuing):
        """This fit's label encoding: a new one, or the fitted one once ``y`` is checked."""
        _validation.check_labels(y)
        if incremental or continuing:
            _validation.check_known_classes(y, self.classes_, same=not incremental)
            return self._label_binarizer
        return _validation.label_binarizer(y)

    def _scorer(self):
        """``score(arch, params, X, y, sample_weight)`` for scorers other than accuracy and loss."""
        if self.scoring in (None, "loss"):
            return None
        scorer = check_scoring(self, self.scoring)

        def score(arch, params, X, y, sample_weight):
            weights = {} if sample_weight is None else {"sample_weight": sample_weight}
            return scorer(self._with_weights(arch, params), X, y, **weights)

        return score

    def _with_weights(self, arch, params):
        """A copy of this estimator predicting with ``params`` (this one is left alone)."""
        fitted = copy.copy(self)
        fitted.coefs_, fitted.intercepts_ = unflatten(arch, params)
        return fitted

    def _starting_point(self, setup, continuing, rng, incremental):
        """The parameters and the training state this run starts from."""
        arch, config = setup.arch, setup.config
        if continuing:
            params = self._current_params(arch, setup.dtype)
            state = self._state.copy()
        else:
            params = init_params(arch, rng, setup.dtype, self.init)
            state = TrainingState.fresh(config)
        validated = setup.data.validation is not None or config.stops_on_validation
        state.begin_run(
            config, arch.n_params, setup.dtype, incremental=incremental, validated=validated
        )
        return params, state

    def _current_params(self, arch, dtype):
        shapes = [coef.shape for coef in self.coefs_]
        expected = [(arch.layer_units[i], arch.layer_units[i + 1]) for i in range(arch.n_layers)]
        if shapes != expected:
            raise ValueError(
                f"Cannot continue training: the fitted layers have shapes {shapes}, but "
                f"the current parameters ask for {expected}. Set warm_start=False (or "
                "start a new estimator) to train a differently shaped network."
            )
        # A fresh flat copy: the fitted arrays may be read-only (memory-mapped).
        return flatten(arch, self.coefs_, self.intercepts_, dtype)

    def _set_structure(self, setup):
        """What a fitted model needs besides its weights; set before training, for callbacks."""
        self._label_binarizer = setup.binarizer
        self.classes_ = setup.binarizer.classes_
        self.n_layers_ = len(setup.arch.layer_units)
        self.n_outputs_ = setup.arch.layer_units[-1]
        self.out_activation_ = setup.arch.output
        self.image_shape_ = setup.config.image_shape

    def _progress(self, setup, X, y, incremental):
        config = setup.config
        iteration = "epoch" if config.stochastic else "iter"
        planned = 1 if incremental else config.max_iter
        table = None
        if self.verbose:
            validated = setup.data.validation is not None or config.stops_on_validation
            table = EpochTable(validated, iteration, planned)
        callbacks = None
        if callbacks_supported(self):
            subtasks = planned if config.stochastic else config.max_iter + 1
            context = self._init_callback_context(max_subtasks=subtasks)
            context.call_on_fit_task_begin(estimator=self, X=X, y=y)
            name = "epoch" if config.stochastic else "iteration"
            callbacks = EpochCallbacks(context, self, X, y, setup.arch, task_name=name)
        return Progress(table, callbacks)

    def _publish(self, setup, params, state, outcome):
        """Make the run's results this estimator's fitted attributes."""
        weights = params.astype(setup.input_dtype, copy=False)
        self.coefs_, self.intercepts_ = unflatten(setup.arch, weights)
        self.interrupted_ = outcome.reason == "interrupted"
        data = setup.data
        self.dead_units_fraction_ = _diagnostics.dead_unit_fraction(
            setup.arch, params, data.X, data.rows
        )
        self._restore_state(state, setup.config.stops_on_validation)

    def _restore_state(self, state, stops_on_validation):
        """Set the fitted attributes that the training state holds."""
        self._state = state
        self.n_iter_, self.t_, self.loss_ = state.epochs, state.samples_seen, state.loss
        self.loss_curve_ = list(state.loss_curve)
        self.validation_scores_ = _copy_or_none(state.validation_scores)
        self.validation_loss_curve_ = _copy_or_none(state.validation_loss_curve)
        self.history_ = [dict(record) for record in state.history]
        self.best_validation_score_ = state.plateau.best_score if stops_on_validation else None
        self.best_loss_ = None if stops_on_validation else state.best_loss

    def _report(self, setup, outcome, incremental):
        """Raise or warn about how the run ended, now that the model is consistent."""
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
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"{outcome.message}. Increase max_iter (now {config.max_iter}) or scale the "
                "data.",
                ConvergenceWarning,
            )
        if config.stochastic and not incremental and self.loss_curve_:
            rows = setup.data.rows
            message = _diagnostics.chance_message(
                self.loss_,
                setup.data.Y[rows],
                setup.arch.output,
                self.dead_units_fraction_,
                config.learning_rate_init,
            )
            if message:
                warn(message, ConvergenceWarning)
        if self.interrupted_:
            unit = "epoch" if config.stochastic else "iteration"
            message = (
                f"Training interrupted by the user (KeyboardInterrupt) after {self.n_iter_} "
                f"completed {unit}(s) of this call; the model keeps the weights of the last "
                f"completed {unit}."
            )
            if self.on_interrupt == "raise":
                raise KeyboardInterrupt(message)
            warn(message, TrainingInterruptedWarning)

    def _restore(self, *, coefs, intercepts, binarizer, structure, state, feature_names=None):
        """Become the fitted model a model file describes (used by :func:`hdrnn.load`)."""
        self.coefs_, self.intercepts_ = list(coefs), list(intercepts)
        self._label_binarizer, self.classes_ = binarizer, binarizer.classes_
        for name, value in structure.items():
            setattr(self, name, value)
        if feature_names is not None:
            self.feature_names_in_ = feature_names
        self._restore_state(state, self.early_stopping and self.solver != "lbfgs")
        return self


def _copy_or_none(values):
    return None if values is None else list(values)
