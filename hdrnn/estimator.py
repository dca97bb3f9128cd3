"""DigitMLPClassifier: the scikit-learn face of the NumPy core.

This module validates input, encodes labels, decides what happens between
epochs (stopping, learning-rate changes, divergence) and exposes the fitted
attributes under ``MLPClassifier``'s names. The mathematics lives in
:mod:`hdrnn.nn`.
"""

import functools
import warnings
from numbers import Integral, Real

import numpy as np
import sklearn
from scipy.sparse import issparse as _is_sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import assert_all_finite, check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from hdrnn import _fitting, _inputs
from hdrnn._sklearn_compat import (
    CallbackSupportMixin,
    Interval,
    Options,
    StrOptions,
    _check_partial_fit_first_call,
    _fit_context,
)
from hdrnn._version import __version__
from hdrnn.augmentation import Augmentation
from hdrnn.exceptions import ModelVersionWarning
from hdrnn.nn import (
    ACTIVATIONS,
    OUTPUT_LOSSES,
    SCHEDULES,
    Architecture,
    PlateauTracker,
    init_params,
    predict_logits,
    unflatten,
)
from hdrnn.nn.network import flatten


def _library_versions():
    return {"hdrnn": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def _warn_other_versions(saved):
    running = _library_versions()
    then = ", ".join(f"{name} {saved.get(name)}" for name in running)
    now = ", ".join(f"{name} {version}" for name, version in running.items())
    warnings.warn(
        ModelVersionWarning(
            f"This DigitMLPClassifier was pickled with {then} and is loaded with {now}. "
            "It may fail or predict differently: retrain it, or move models between "
            "versions with hdrnn.save / hdrnn.load, whose files are checked when loaded.",
            original_version=saved.get("hdrnn"),
        ),
        stacklevel=3,
    )


def _partial_fit_available(estimator):
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for the stochastic solvers 'sgd' and "
            "'adam'; solver='lbfgs' optimises the whole data set at once."
        )
    return True


class DigitMLPClassifier(ClassifierMixin, CallbackSupportMixin, BaseEstimator):
    """Multilayer perceptron classifier with a fast, verified NumPy core.

    A drop-in replacement for :class:`sklearn.neural_network.MLPClassifier`:
    the same parameters, defaults (except ``hidden_layer_sizes``), maths and
    fitted attributes. Four parameters differ a little in meaning, on
    purpose, each said below: ``n_iter_no_change``, ``learning_rate`` (with
    Adam), ``warm_start`` and Ctrl-C (``on_interrupt``). The stochastic
    solvers train in float32 when ``X`` is float32 (as
    :func:`hdrnn.load_mnist` returns it), in float64 when ``X`` is float64;
    ``"lbfgs"`` computes in float64, like MLPClassifier's.
    Training that diverges stops with :class:`~hdrnn.exceptions.TrainingDivergedError`
    instead of returning a broken model.

    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default=(128, 64)
        The number of units in each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu", "elu", "gelu"}, \
            default="relu"
        Activation of the hidden layers. The first four are MLPClassifier's;
        ``"leaky_relu"`` has slope 0.01 below zero, ``"elu"`` is
        ``exp(z) - 1`` below zero and ``"gelu"`` is the tanh approximation
        of ``z * Phi(z)``.
    solver : {"lbfgs", "sgd", "adam"}, default="adam"
        The optimiser: L-BFGS over the whole data set (``scipy.optimize``),
        stochastic gradient descent, or Adam.
    alpha : float, default=0.0001
        Strength of the L2 penalty ``alpha / 2 * ||W||^2 / n_samples``.
    batch_size : int or "auto", default="auto"
        Rows per mini-batch for the stochastic solvers; ``"auto"`` means
        ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine", "plateau"}, \
            default="constant"
        Step-size schedule of the stochastic solvers (both of them, unlike
        MLPClassifier, where Adam ignores it): constant; divided by
        ``(t + 1) ** power_t`` where ``t`` counts the samples seen; divided
        by 5 whenever ``n_iter_no_change`` epochs in a row fail to improve by
        ``tol`` (training stops below 1e-6); cosine decay to 0 over
        ``max_iter`` epochs; or halved after ``plateau_patience`` epochs
        without improvement. The rate of each epoch is in ``history_``.
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
        Whether to print one table row per epoch (per iteration for lbfgs):
        training loss, validation loss and score when there is validation
        data, learning rate and seconds.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights. Unlike
        MLPClassifier, the optimizer's state (Adam's moments, SGD's
        velocity) is kept too, so training resumes smoothly.
    momentum : float, default=0.9
        Momentum of ``solver="sgd"``, in [0, 1].
    nesterovs_momentum : bool, default=True
        Whether ``solver="sgd"`` uses Nesterov's momentum.
    early_stopping : bool, default=False
        Whether to stop when the validation score (see ``scoring``) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs; the weights of
        the best epoch are restored. Validation data are ``X_val``/``y_val``
        passed to ``fit``, else ``validation_fraction`` of the training data.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    beta_1 : float, default=0.9
        Decay rate of Adam's first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Decay rate of Adam's second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without an improvement of ``tol`` before stopping: exactly
        that many. MLPClassifier waits one more than it says, so
        ``n_iter_no_change=11`` here stops where its default does.
    max_fun : int, default=15000
        Maximum number of loss evaluations of ``solver="lbfgs"``.
    dropout : float or array-like of shape (n_layers - 2,), default=0.0
        Probability of dropping each hidden unit during training (inverted
        dropout), for all hidden layers or one per layer. Prediction uses
        every unit, so it stays deterministic. Stochastic solvers only.
    augment : {"shift", "affine", "elastic"}, Augmentation or None, default=None
        Random distortion of every training image in every batch:
        ``"shift"`` translates by up to 2 pixels (exact, whole pixels);
        ``"affine"`` shifts by up to 2 pixels, rotates by up to 12 degrees
        and zooms by 0.9-1.1; ``"elastic"`` shifts by up to 2 pixels, rotates
        by up to 10 degrees, zooms by 0.9-1.1 and adds Simard's elastic
        distortions. Sizes are for 28x28 images and scale with
        ``image_shape``; an
        :class:`~hdrnn.augmentation.Augmentation` sets them freely.
        Stochastic solvers only.
    image_shape : tuple of (int, int) or None, default=None
        ``(height, width)`` of the images that rows of ``X`` flatten, for
        ``augment``. None means square: 28x28 for 784 features, 8x8 for 64.
    init : {"glorot", "he"}, default="glorot"
        Weight initialisation: MLPClassifier's Glorot uniform, or He uniform
        (``sqrt(6 / fan_in)``, zero biases), which suits ReLU-like units.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``:
        ``{label: weight}``, or ``"balanced"`` for
        ``n_samples / (n_classes * np.bincount(y))``.
    scoring : str, callable or None, default=None
        What the validation score is, for ``early_stopping`` and
        ``validation_scores_``: None is accuracy (MLPClassifier's); ``"loss"``
        is minus the validation cross-entropy; any other string or callable
        is a scikit-learn scorer (``"balanced_accuracy"``, ``"neg_log_loss"``...).
    warmup_epochs : int, default=0
        Epochs over which the learning rate ramps up linearly at the start,
        for every schedule.
    plateau_patience : int, default=5
        Epochs without improvement before ``learning_rate="plateau"``
        halves the rate.
    on_interrupt : {"raise", "stop"}, default="raise"
        What Ctrl-C (``KeyboardInterrupt``) during ``fit`` or
        ``partial_fit`` does. Either way the model is rolled back to the end
        of the last completed epoch (the same model as a fit with
        ``max_iter`` equal to the epochs done) and ``interrupted_`` is set.
        ``"raise"`` then lets the ``KeyboardInterrupt`` propagate, so a
        script, ``GridSearchCV`` or ``cross_val_score`` stops; ``"stop"``
        warns with :class:`~hdrnn.exceptions.TrainingInterruptedWarning` and
        returns, as MLPClassifier does.

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
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
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
        Validation score after each epoch, when there is validation data.
    validation_loss_curve_ : list of float or None
        Validation cross-entropy (without the L2 term) after each epoch,
        when there is validation data.
    best_validation_score_ : float or None
        Best validation score, with early stopping.
    history_ : list of dict
        One record per epoch (per iteration for lbfgs), with keys
        ``"epoch"``, ``"loss"``, ``"val_loss"``, ``"val_score"``,
        ``"learning_rate"`` and ``"seconds"`` (None where not applicable).
        ``pandas.DataFrame(clf.history_)`` makes it a table.
    image_shape_ : tuple of int or None
        The image shape used for augmentation.
    interrupted_ : bool
        Whether the last ``fit`` or ``partial_fit`` was cut short by Ctrl-C
        (see ``on_interrupt``).
    dead_units_fraction_ : float or None
        With ``activation="relu"``, the share of hidden units that output
        zero for every one of (up to 2000) training samples after the last
        ``fit`` or ``partial_fit``: "dead" units that no longer learn. None
        for other activations.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : the estimator this one replaces.

    Notes
    -----
    Predictions are computed in the dtype the model was trained in: a float32
    model casts float64 input to float32 first, which is faster and loses
    nothing a float32 network could use.

    Pressing Ctrl-C during ``fit`` or ``partial_fit`` does not lose the
    model: the weights and optimizer state roll back to the end of the last
    completed epoch (the same model as ``max_iter`` equal to the epochs
    done) and, by default, the ``KeyboardInterrupt`` propagates so that the
    whole job stops (``on_interrupt="stop"`` returns instead, like
    MLPClassifier).

    With scikit-learn 1.9 or later the estimator supports
    ``sklearn.callback``: ``clf.set_callbacks(ProgressBar())`` or
    ``ScoringMonitor(...)`` see one task per epoch. Inside a ``Pipeline``
    or ``GridSearchCV``, set the callbacks on the outermost meta-estimator
    (``search.set_callbacks(ProgressBar())``): scikit-learn propagates them
    from there to every fit of this estimator.

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
        "learning_rate": [StrOptions(set(SCHEDULES))],
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
        "dropout": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "augment": [None, StrOptions({"shift", "affine", "elastic"}), Augmentation],
        "image_shape": [None, "array-like"],
        "init": [StrOptions({"glorot", "he"})],
        "class_weight": [None, dict, StrOptions({"balanced"})],
        "scoring": [None, str, callable],
        "warmup_epochs": [Interval(Integral, 0, None, closed="left")],
        "plateau_patience": [Interval(Integral, 1, None, closed="left")],
        "on_interrupt": [StrOptions({"raise", "stop"})],
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
        dropout=0.0,
        augment=None,
        image_shape=None,
        init="glorot",
        class_weight=None,
        scoring=None,
        warmup_epochs=0,
        plateau_patience=5,
        on_interrupt="raise",
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
        self.dropout = dropout
        self.augment = augment
        self.image_shape = image_shape
        self.init = init
        self.class_weight = class_weight
        self.scoring = scoring
        self.warmup_epochs = warmup_epochs
        self.plateau_patience = plateau_patience
        self.on_interrupt = on_interrupt

    # ------------------------------------------------------------------ fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the model to data ``X`` and labels ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, e.g. flattened images scaled to [0, 1].
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label-indicator matrix for multilabel problems.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative per-sample weights.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, watched after every epoch (``validation_scores_``,
            ``validation_loss_curve_``, ``history_``). With
            ``early_stopping=True`` it replaces the ``validation_fraction``
            split: all of ``X`` is then used for training.
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Labels of ``X_val``; required with it.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation samples.

        Returns
        -------
        self : DigitMLPClassifier
            The fitted estimator.
        """
        if (X_val is None) != (y_val is None):
            raise ValueError(
                "X_val and y_val must be given together (got "
                f"X_val={'None' if X_val is None else 'an array'}, "
                f"y_val={'None' if y_val is None else 'an array'})."
            )
        if sample_weight_val is not None and X_val is None:
            raise ValueError("sample_weight_val needs X_val and y_val.")
        validation = (X_val, y_val, sample_weight_val) if X_val is not None else None
        return self._fit(X, y, sample_weight, incremental=False, validation=validation)

    @available_if(_partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over ``X``, continuing from the current weights.

        The optimizer's state (Adam's moments, SGD's velocity) and the
        learning-rate schedule carry over from call to call.

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
        if isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: one batch does "
                "not show the class frequencies. Compute them once with "
                "sklearn.utils.class_weight.compute_class_weight and pass a dict."
            )
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, sample_weight, incremental=True, validation=None)

    def _fit(self, X, y, sample_weight, incremental, validation):
        hidden = _inputs.hidden_sizes(self)
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y, Y = _inputs.validate_training_data(self, X, y, incremental, reset=first_pass)
        dtype = np.float64 if self.solver == "lbfgs" else X.dtype
        X = X.astype(dtype, copy=False)
        Y = Y.astype(dtype)
        sample_weight = _inputs.combined_sample_weight(self, X, y, sample_weight, dtype)
        _inputs.warn_if_unscaled(X)
        self._dropout_rates = _inputs.check_extras(self, hidden, X.shape[1])

        output = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        arch = Architecture((X.shape[1], *hidden, Y.shape[1]), self.activation, output)
        _inputs.check_network_fits_in_memory(arch, dtype, self.hidden_layer_sizes)
        rng = check_random_state(self.random_state)
        if first_pass:
            params = init_params(arch, rng, dtype, self.init)
            self._initialize_attributes(arch)
        else:
            params = self._current_params(arch, dtype)
        # coefs_ and intercepts_ are views of params: training updates them in place.
        self.coefs_, self.intercepts_ = unflatten(arch, params)
        self.interrupted_ = False
        validation = _inputs.validation_data(self, validation, dtype)
        if validation is not None or (self.early_stopping and self.solver != "lbfgs"):
            self.validation_scores_ = self.validation_scores_ or []
            self.validation_loss_curve_ = self.validation_loss_curve_ or []

        # Overflow and NaN are detected batch by batch and reported as a
        # TrainingDivergedError; NumPy's own RuntimeWarnings would only be noise.
        with np.errstate(over="ignore", invalid="ignore"):
            if self.solver == "lbfgs":
                _fitting.fit_lbfgs(self, arch, params, X, y, Y, sample_weight, validation)
                train_rows = np.arange(X.shape[0])
            else:
                if self.early_stopping and incremental:
                    raise ValueError("partial_fit does not support early_stopping=True")
                split = self._split_validation(X, y, Y, sample_weight, rng, validation)
                _fitting.fit_stochastic(
                    self, arch, params, X, y, Y, sample_weight, rng, incremental, split
                )
                train_rows = split[0]
            self.dead_units_fraction_ = _fitting.dead_unit_fraction(arch, params, X, train_rows)
        if dtype != self._input_dtype:
            self.coefs_, self.intercepts_ = unflatten(arch, params.astype(self._input_dtype))
        if not incremental and self.solver != "lbfgs":
            _fitting.warn_if_no_better_than_chance(self, Y[train_rows])
        if self.interrupted_:
            _fitting.report_interruption(self)
        return self

    def _initialize_attributes(self, arch):
        self.n_layers_ = len(arch.layer_units)
        self.n_outputs_ = arch.layer_units[-1]
        self.out_activation_ = arch.output
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        self.history_ = []
        self._plateau = PlateauTracker(self.tol)
        self._optimizer = None
        self._schedule = None
        self.validation_scores_ = None
        self.validation_loss_curve_ = None
        if self.early_stopping and self.solver != "lbfgs":
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
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

    def _split_validation(self, X, y, Y, sample_weight, rng, validation):
        """Return the training rows and the validation data (None without any)."""
        rows = np.arange(Y.shape[0])
        if validation is not None or not self.early_stopping:
            return rows, validation
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
        validation = _fitting.ValidationData(
            X=X[val_rows],
            y=y[val_rows],
            Y=Y[val_rows],
            sample_weight=None if sample_weight is None else sample_weight[val_rows],
        )
        return train_rows, validation

    # -------------------------------------------------------------- predict

    def _logits(self, X):
        check_is_fitted(self)
        # Float input is kept as it is and cast chunk by chunk in predict_logits;
        # anything else becomes the model's dtype here.
        model_dtype = self.coefs_[0].dtype
        other = np.float64 if model_dtype == np.float32 else np.float32
        # Dense X is checked for NaN and infinity chunk by chunk, in predict_logits.
        _inputs.refuse_image_stacks(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            reset=False,
            dtype=(model_dtype, other),
            ensure_all_finite=_is_sparse(X),
        )
        arch = Architecture(
            (*(c.shape[0] for c in self.coefs_), self.n_outputs_),
            self.activation,
            self.out_activation_,
        )
        finite_check = functools.partial(
            assert_all_finite, estimator_name=type(self).__name__, input_name="X"
        )
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below instead
            logits = predict_logits(arch, X, self.coefs_, self.intercepts_, finite_check)
        if not np.isfinite(logits).all():
            largest = _inputs.abs_max(X)
            if largest > np.finfo(model_dtype).max:
                raise ValueError(
                    f"Input X holds values too large for this {model_dtype} model (largest "
                    f"|X| here: {largest:.3g}; {model_dtype} holds up to "
                    f"{np.finfo(model_dtype).max:.3g}). Scale X the same way as the "
                    "training data, e.g. divide pixel values by 255."
                )
            raise ValueError(
                "The network produced non-finite class scores: X has values far outside "
                f"the range it was trained on (largest |X| here: {largest:.3g}). Scale X "
                "the same way as the training data, e.g. divide pixel values by 255."
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

    # ------------------------------------------------------------- pickling

    def __getstate__(self):
        # A copy: the default state is the instance's own __dict__.
        state = dict(super().__getstate__())
        if hasattr(self, "coefs_"):
            state["_hdrnn_versions"] = _library_versions()
        return state

    def __setstate__(self, state):
        saved = state.pop("_hdrnn_versions", None)
        if saved is not None and saved != _library_versions():
            _warn_other_versions(saved)
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.classifier_tags.multi_label = True
        return tags
