"""DigitMLPClassifier: the scikit-learn face of the NumPy core.

This module validates input, encodes labels, decides what happens between
epochs (stopping, learning-rate changes, divergence) and exposes the fitted
attributes under ``MLPClassifier``'s names. The mathematics lives in
:mod:`hdrnn.nn`.
"""

import math
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.optimize
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from hdrnn._sklearn_compat import (
    Interval,
    Options,
    StrOptions,
    _check_partial_fit_first_call,
    _check_sample_weight,
    _fit_context,
)
from hdrnn.exceptions import DataScaleWarning, TrainingDivergedError
from hdrnn.nn import (
    ACTIVATIONS,
    OUTPUT_LOSSES,
    SGD,
    Adam,
    Architecture,
    PlateauTracker,
    Workspace,
    init_params,
    loss_and_grads,
    predict_logits,
    run_epoch,
    unflatten,
)
from hdrnn.nn.network import flatten, forward

# Inputs larger than this in absolute value almost always mean unscaled data
# (raw 0-255 pixels); the default initialisation assumes values of order 1.
LARGE_INPUT_THRESHOLD = 100.0

# An epoch whose mean loss exceeds this many times the loss of guessing
# (log K for K classes) has diverged even while it is still finite: such a
# loss means confident wrong answers on most samples.
DIVERGED_LOSS_FACTOR = 100.0


def _partial_fit_available(estimator):
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers 'sgd' and "
            "'adam'; solver='lbfgs' optimises the whole data set at once."
        )
    return True


class DigitMLPClassifier(ClassifierMixin, BaseEstimator):
    """Multilayer perceptron classifier with a fast, verified NumPy core.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, defaults (except ``hidden_layer_sizes``), maths and
    fitted attributes. Training runs in float32 when ``X`` is float32 (as
    :func:`hdrnn.load_mnist` returns it), in float64 when ``X`` is float64.
    Training that diverges stops with :class:`~hdrnn.exceptions.TrainingDivergedError`
    instead of returning a broken model.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(128, 64)
        The number of units in each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default="relu"
        Activation of the hidden layers.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The optimiser: L-BFGS over the whole data set (``scipy.optimize``),
        stochastic gradient descent, or Adam.
    alpha : float, default=0.0001
        Strength of the L2 penalty ``alpha / 2 * ||W||^2 / n_samples``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch for the stochastic solvers; ``"auto"`` means
        ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule for ``solver="sgd"``: constant; divided by
        ``(t + 1) ** power_t`` after each epoch where ``t`` counts samples
        seen; or divided by 5 whenever ``n_iter_no_change`` epochs in a row
        fail to improve by ``tol``.
    learning_rate_init : float, default=0.001
        Initial step size of the stochastic solvers.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Maximum number of epochs (stochastic solvers) or iterations (lbfgs).
    shuffle : bool, default=True
        Whether to shuffle the samples at the start of each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling and the early-stopping
        split. The same seed gives the same initial weights as
        ``MLPClassifier``.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score) that counts.
    verbose : bool, default=False
        Whether to print the loss after each epoch.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in [0, 1].
    nesterovs_momentum : bool, default=True
        Whether ``solver="sgd"`` uses Nesterov's momentum.
    early_stopping : bool, default=False
        Whether to hold out ``validation_fraction`` of the training data and
        stop when its accuracy stops improving; the best weights are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver="lbfgs"``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        ``coefs_[i]``, of shape ``(units[i], units[i + 1])``, are the weights
        of layer ``i``.
    intercepts_ : list of ndarray
        ``intercepts_[i]``, of shape ``(units[i + 1],)``, are its biases.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features, when ``X`` had string column names.
    n_iter_ : int
        Epochs (or L-BFGS iterations) run by the last call to ``fit``.
    t_ : int
        Number of training samples seen by the stochastic solvers.
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        ``"softmax"`` for multiclass, ``"logistic"`` for binary and
        multilabel problems.
    loss_ : float
        Training loss at the end of fitting.
    best_loss_ : float or None
        Lowest training loss reached (None with early stopping).
    loss_curve_ : list of float
        Training loss after each epoch (each iteration for lbfgs).
    validation_scores_ : list of float or None
        Validation accuracy after each epoch, with early stopping.
    best_validation_score_ : float or None
        Best validation accuracy, with early stopping.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the estimator this one replaces.

    Notes
    -----
    Predictions are computed in the dtype the model was trained in: a float32
    model casts float64 input to float32 first, which is faster and loses
    nothing a float32 network could use.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from hdrnn import DigitMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X / 16, y, random_state=0)
    >>> clf = DigitMLPClassifier(random_state=0).fit(X_train, y_train)
    >>> clf.score(X_test, y_test) > 0.95
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {np.inf}),
        ],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(128, 64),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the model to data ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, e.g. flattened images scaled to [0, 1].
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label-indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-sample weights.

        Returns
        -------
        self : DigitMLPClassifier
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(_partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over ``X``, continuing from the current weights.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-sample weights.
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever be seen; required on the first call.

        Returns
        -------
        self : DigitMLPClassifier
            The updated estimator.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight, incremental):
        hidden = self.hidden_layer_sizes
        hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
        if not hidden or any(not isinstance(n, Integral) or n <= 0 for n in hidden):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}."
            )
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, Y = self._validate_input(X, y, incremental, reset=first_pass)
        dtype = np.float64 if self.solver == "lbfgs" else X.dtype
        X = X.astype(dtype, copy=False)
        Y = Y.astype(dtype)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(
                sample_weight, X, dtype=dtype, ensure_non_negative=True
            )
        _warn_if_unscaled(X)

        output = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        arch = Architecture((X.shape[1], *hidden, Y.shape[1]), self.activation, output)
        rng = check_random_state(self.random_state)
        if first_pass:
            params = init_params(arch, rng, dtype)
            self._initialize_attributes(arch)
        else:
            params = self._current_params(arch, dtype)
        # coefs_ and intercepts_ are views of params: training updates them in place.
        self.coefs_, self.intercepts_ = unflatten(arch, params)

        # Overflow and NaN are detected batch by batch and reported as a
        # TrainingDivergedError; NumPy's own RuntimeWarnings would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            if self.solver == "lbfgs":
                self._fit_lbfgs(arch, params, X, Y, sample_weight)
            else:
                self._fit_stochastic(arch, params, X, Y, sample_weight, rng, incremental)
        if dtype != self._input_dtype:
            self.coefs_, self.intercepts_ = unflatten(arch, params.astype(self._input_dtype))
        return self

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        self._input_dtype = X.dtype
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
            if len(self.classes_) < 2 and self._label_binarizer.y_type_ != "multilabel-indicator":
                raise ValueError(
                    "DigitMLPClassifier needs samples of at least 2 classes in the data; "
                    f"got 1 class ({self.classes_[0]!r})."
                )
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental and set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` has "
                    f"{classes}."
                )
            unknown = np.setdiff1d(classes, self.classes_, assume_unique=True)
            if len(unknown):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`: {unknown}. `self.classes_` "
                    f"has {self.classes_}; pass every class to the first partial_fit call "
                    "with `classes=`."
                )
        return X, self._label_binarizer.transform(y)

    def _initialize_attributes(self, arch):
        self.n_layers_ = len(arch.layer_units)
        self.n_outputs_ = arch.layer_units[-1]
        self.out_activation_ = arch.output
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self._plateau = PlateauTracker(self.tol)
        self._optimizer = None
        if self.early_stopping and self.solver != "lbfgs":
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = np.inf

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

    def _make_optimizer(self, n_params, dtype):
        if self.solver == "sgd":
            return SGD(
                n_params,
                dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )
        return Adam(
            n_params, dtype, self.learning_rate_init, self.beta_1, self.beta_2, self.epsilon
        )

    def _split_validation(self, Y, rng):
        """Return the training rows and the validation rows (None without early stopping)."""
        rows = np.arange(Y.shape[0])
        if not self.early_stopping:
            return rows, None
        # Like MLPClassifier: stratify binary problems only; same random draws.
        stratify = Y if Y.shape[1] == 1 else None
        train_rows, val_rows = train_test_split(
            rows, random_state=rng, test_size=self.validation_fraction, stratify=stratify
        )
        if len(val_rows) < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the "
                "size of your dataset."
            )
        return train_rows, val_rows

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} training "
                "samples. It is going to be clipped.",
                UserWarning,
                stacklevel=2,
            )
        return min(self.batch_size, n_samples)

    def _fit_stochastic(self, arch, params, X, Y, sample_weight, rng, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        if not incremental or self._optimizer is None:
            self._optimizer = self._make_optimizer(arch.n_params, params.dtype)
        else:
            _make_state_writeable(self._optimizer)
        optimizer = self._optimizer
        train_rows, val_rows = self._split_validation(Y, rng)
        if val_rows is not None:
            X_val = X[val_rows]
            y_val = self._label_binarizer.inverse_transform(Y[val_rows])
            weight_val = None if sample_weight is None else sample_weight[val_rows]
            best_params = params.copy()
        batch_size = self._batch_size(len(train_rows))
        workspace = Workspace(arch, batch_size, params.dtype)
        chance_loss = _chance_loss(arch)
        last_good = np.empty_like(params)

        self.n_iter_ = 0
        for _ in range(self.max_iter):
            last_good[...] = params
            learning_rate = optimizer.learning_rate
            result = run_epoch(
                arch,
                params,
                X,
                Y,
                sample_weight,
                train_rows,
                batch_size,
                self.alpha,
                optimizer,
                workspace,
                rng if self.shuffle else None,
            )
            if (
                result.diverged_batch is not None
                or result.loss > DIVERGED_LOSS_FACTOR * chance_loss
                or not np.isfinite(params).all()
            ):
                params[...] = last_good
                self._raise_diverged(X, result, learning_rate, chance_loss)
            self.n_iter_ += 1
            self.loss_ = result.loss
            self.t_ += len(train_rows)
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

            if val_rows is not None:
                score = self._validation_score(arch, params, X_val, y_val, weight_val)
                self.validation_scores_.append(score)
                if self.verbose:
                    print(f"Validation score: {score:f}")
                if self._plateau.observe_score(score):
                    self.best_validation_score_ = score
                    best_params[...] = params
            else:
                self._plateau.observe_loss(self.loss_)
                self.best_loss_ = self._plateau.best_loss

            optimizer.end_epoch(self.t_)
            if self._plateau.no_improvement_count > self.n_iter_no_change:
                watched = "Validation score" if val_rows is not None else "Training loss"
                message = (
                    f"{watched} did not improve more than tol={self.tol:f} for "
                    f"{self.n_iter_no_change} consecutive epochs."
                )
                if optimizer.reduce_on_plateau():
                    if self.verbose:
                        print(message + " Stopping.")
                    break
                if self.verbose:
                    print(message + f" Setting learning rate to {optimizer.learning_rate:f}")
                self._plateau.no_improvement_count = 0
            if incremental:
                break
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        if val_rows is not None:
            params[...] = best_params
        if not incremental:
            self._warn_if_no_better_than_chance(arch, params, X, Y, train_rows)

    def _warn_if_no_better_than_chance(self, arch, params, X, Y, train_rows):
        """Warn when training ended where a constant guess would have (e.g. dead ReLUs)."""
        prior = Y[train_rows].mean(axis=0)
        if arch.output == "softmax":
            guess_loss = -float(np.sum(prior * np.log(np.clip(prior, 1e-12, None))))
        else:
            guess_loss = -float(np.sum(_binary_entropy_terms(prior)))
        if self.loss_ < 0.95 * guess_loss:
            return
        detail = ""
        if self.activation == "relu":
            sample = X[train_rows[:2000]]
            detail = (
                f" {_dead_unit_fraction(arch, params, sample):.0%} of hidden units never activate."
            )
        warnings.warn(
            f"Training ended no better than chance: loss {self.loss_:.4g} against "
            f"{guess_loss:.4g} for always guessing the class frequencies.{detail} "
            f"Lower learning_rate_init (now {self.learning_rate_init:g}) or scale X.",
            ConvergenceWarning,
            stacklevel=3,
        )

    def _raise_diverged(self, X, result, learning_rate, chance_loss):
        epoch = self.n_iter_ + 1
        where = f"epoch {epoch}"
        if result.diverged_batch is not None:
            where += f", batch {result.diverged_batch + 1}"
        if not _all_finite(X):
            raise TrainingDivergedError(
                f"Training diverged at {where}: the input X holds NaN or infinite "
                "values (input validation was skipped with assume_finite=True). Remove "
                "or impute them before fitting.",
                epoch=epoch,
                batch=result.diverged_batch,
            )
        if math.isfinite(result.loss):
            what = (
                f"the training loss reached {result.loss:.3g}, over "
                f"{DIVERGED_LOSS_FACTOR:g} times chance level ({chance_loss:.3g})"
            )
        else:
            what = "the training loss became non-finite"
        kept = (
            f"The weights of the last good epoch ({self.n_iter_}) were kept."
            if self.n_iter_
            else "The weights from before this epoch were kept."
        )
        raise TrainingDivergedError(
            f"Training diverged at {where} with learning_rate={learning_rate:g}: "
            f"{what}. {kept} "
            f"Lower learning_rate_init (e.g. to {self.learning_rate_init / 10:g}) or scale X "
            "to values of order 1.",
            epoch=epoch,
            batch=None if result.diverged_batch is None else result.diverged_batch + 1,
            learning_rate=learning_rate,
        )

    def _validation_score(self, arch, params, X_val, y_val, weight_val):
        coefs, intercepts = unflatten(arch, params)
        logits = predict_logits(arch, X_val, coefs, intercepts)
        if not np.isfinite(logits).all():
            return math.nan
        return accuracy_score(y_val, self._labels_from_logits(logits), sample_weight=weight_val)

    def _fit_lbfgs(self, arch, params, X, Y, sample_weight):
        workspace = Workspace(arch, X.shape[0], params.dtype)
        losses = []

        def loss_and_gradient(flat):
            params[...] = flat
            loss = loss_and_grads(arch, params, X, Y, sample_weight, self.alpha, workspace)
            return loss, workspace.grads.copy()

        def record_iteration(intermediate_result):
            losses.append(float(intermediate_result.fun))
            if self.verbose:
                print(f"Iteration {len(losses)}, loss = {losses[-1]:.8f}")

        result = scipy.optimize.minimize(
            loss_and_gradient,
            params.copy(),
            method="L-BFGS-B",
            jac=True,
            callback=record_iteration,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
        )
        if not np.isfinite(result.fun) or not np.isfinite(result.x).all():
            raise TrainingDivergedError(
                f"L-BFGS produced a non-finite loss after {result.nit} iteration(s). "
                "Scale X to values of order 1 (e.g. divide pixels by 255) or increase alpha.",
                epoch=result.nit + 1,
            )
        self.n_iter_ = min(result.nit, self.max_iter)
        if result.status != 0:
            warnings.warn(
                f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                f"(status={result.status}): {result.message}. Increase max_iter "
                f"(now {self.max_iter}) or scale the data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        params[...] = result.x
        self.loss_ = float(result.fun)
        self.loss_curve_ = losses
        self.best_loss_ = min(losses, default=self.loss_)

    # -------------------------------------------------------------- predict

    def _logits(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, accept_sparse=["csr", "csc"], reset=False, dtype=self.coefs_[0].dtype
        )
        arch = Architecture(
            (*(c.shape[0] for c in self.coefs_), self.n_outputs_),
            self.activation,
            self.out_activation_,
        )
        logits = predict_logits(arch, X, self.coefs_, self.intercepts_)
        if not np.isfinite(logits).all():
            raise ValueError(
                "The network produced non-finite class scores: X has values far outside "
                "the range it was trained on (largest |X| here: "
                f"{_abs_max(X):.3g}). Scale X the same way as the training data, "
                "e.g. divide pixel values by 255."
            )
        return logits

    def _labels_from_logits(self, logits):
        if self.out_activation_ == "softmax":
            return self._label_binarizer.inverse_transform(logits)
        # sigmoid(z) > 0.5 exactly when z > 0
        return self._label_binarizer.inverse_transform((logits > 0).astype(logits.dtype))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels (an indicator matrix for multilabel problems).
        """
        return self._labels_from_logits(self._logits(X))

    def predict_log_proba(self, X):
        """Return the log of the class probabilities, computed as a log-softmax.

        Unlike ``np.log(predict_proba(X))`` this is finite even where a
        probability rounds to zero.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns ordered as ``classes_``, in the model's
            dtype.
        """
        logits = self._logits(X)
        log_proba = OUTPUT_LOSSES[self.out_activation_].log_proba
        if self._label_binarizer.y_type_ == "binary":
            # binary: P(negative) = sigmoid(-z), P(positive) = sigmoid(z)
            return np.hstack([log_proba(-logits), log_proba(logits)])
        return log_proba(logits)

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns ordered as ``classes_``, in the model's
            dtype. Rows sum to 1 (for multilabel problems each column is the
            probability of its own label).
        """
        return np.exp(self.predict_log_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags


def _make_state_writeable(optimizer):
    """Copy optimizer state that is read-only, e.g. memory-mapped by ``joblib.load``."""
    for name, value in vars(optimizer).items():
        if isinstance(value, np.ndarray) and not value.flags.writeable:
            setattr(optimizer, name, value.copy())


def _chance_loss(arch):
    """Loss of a network that predicts uniform probabilities."""
    if arch.output == "softmax":
        return math.log(arch.layer_units[-1])
    return arch.layer_units[-1] * math.log(2.0)


def _binary_entropy_terms(p):
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return p * np.log(p) + (1 - p) * np.log(1 - p)


def _dead_unit_fraction(arch, params, X):
    """Share of hidden units that output zero for every row of ``X``."""
    coefs, intercepts = unflatten(arch, params)
    X = X.toarray() if hasattr(X, "toarray") else X
    activations = [np.empty((X.shape[0], n), dtype=params.dtype) for n in arch.layer_units[1:]]
    forward(arch, X, coefs, intercepts, activations)
    hidden = activations[:-1]
    dead = sum(int(np.sum(~(A > 0).any(axis=0))) for A in hidden)
    return dead / sum(A.shape[1] for A in hidden)


def _abs_max(X):
    if hasattr(X, "toarray"):
        return float(abs(X).max()) if X.nnz else 0.0
    return float(max(X.max(), -X.min())) if X.size else 0.0


def _all_finite(X):
    data = X.data if hasattr(X, "toarray") else X
    return bool(np.isfinite(data).all())


def _warn_if_unscaled(X):
    largest = _abs_max(X)
    if largest > LARGE_INPUT_THRESHOLD:
        warnings.warn(
            f"X has values as large as {largest:.4g}; neural networks train best on "
            "inputs of order 1. Scale X first: divide raw pixel values (0-255) by 255, "
            "or use sklearn.preprocessing.MinMaxScaler or StandardScaler.",
            DataScaleWarning,
            stacklevel=3,
        )
