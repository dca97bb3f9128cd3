"""DigitMLPClassifier: the scikit-learn face of the NumPy core, read top to bottom.

The class stores its parameters (``__init__``), checks a fit's data once
(:mod:`~hdrnn.estimator._validation`), resolves its parameters for that data
once (:mod:`~hdrnn.estimator._setup`), hands the values to a training run
(:mod:`hdrnn._training`) and publishes what the run returns under
MLPClassifier's names. Its methods are the only code that writes its
attributes (``validate_data`` records the features). Prediction reads the
fitted arrays through :mod:`~hdrnn.estimator._prediction`.
"""

import copy

import numpy as np
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from hdrnn._training import diagnostics
from hdrnn._training.data import with_held_out_validation
from hdrnn._training.progress import EpochCallbacks, EpochTable, Progress
from hdrnn._training.state import TrainingState
from hdrnn._training.stochastic import train
from hdrnn._utils.sklearn_compat import (
    CallbackSupportMixin,
    _check_partial_fit_first_call,
    _fit_context,
    callbacks_supported,
)
from hdrnn._utils.warn import warn
from hdrnn._version import __version__
from hdrnn.estimator._constraints import PARAMETER_CONSTRAINTS
from hdrnn.estimator._prediction import (
    labels_from_logits,
    log_proba_from_logits,
    network_logits,
)
from hdrnn.estimator._report import report_outcome
from hdrnn.estimator._setup import fit_setup
from hdrnn.estimator._validation import (
    check_fit_data,
    check_labels,
    check_predict_data,
    fitted_arrays,
    label_binarizer,
)
from hdrnn.exceptions import ModelVersionWarning
from hdrnn.nn import Architecture, flatten, init_params, unflatten


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
    fitted attributes. Four parameters and Ctrl-C differ a little in meaning,
    on purpose, each said below: ``n_iter_no_change``, ``learning_rate`` (with
    Adam), ``warm_start``, ``learning_rate_init`` changed between
    ``partial_fit`` calls, and Ctrl-C (``on_interrupt``). The stochastic
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
        Initial step size of the stochastic solvers. Changed with
        ``set_params`` between ``partial_fit`` calls, it takes effect: the
        schedule starts again from the new rate (``MLPClassifier`` keeps the
        rate of its first ``partial_fit`` call).
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
    augment : {"shift", "affine", "elastic", "handwriting"}, Augmentation or None, \
            default=None
        Random distortion of every training image in every batch:
        ``"shift"`` translates by up to 2 pixels (exact, whole pixels);
        ``"affine"`` shifts by up to 2 pixels, rotates by up to 12 degrees
        and zooms by 0.9-1.1; ``"elastic"`` shifts by up to 2 pixels, rotates
        by up to 10 degrees, zooms by 0.9-1.1 and adds Simard's elastic
        distortions; ``"handwriting"``, for handwriting that is not MNIST's,
        adds to milder elastic distortions a slant of up to 15 degrees,
        widths of 0.75-1.15, thinner and thicker pens, a gap in the strokes,
        fading ink, blur and softer or harder stroke edges. Sizes are for
        28x28 images and scale with ``image_shape``; an
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

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

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

    # ------------------------------------------------------------ fitting

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
        validation = None if X_val is None else (X_val, y_val, sample_weight_val)
        return self._fit(X, y, sample_weight, validation, incremental=False)

    @available_if(_partial_fit_available)
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """Train for one epoch over ``X``, continuing from the current weights.

        The optimizer's state (Adam's moments, SGD's velocity) and the
        learning-rate schedule carry over from call to call. Parameters
        changed with ``set_params`` in between take effect: a new
        ``learning_rate_init`` (or other schedule parameter) starts a new
        schedule, and a new ``solver`` a new optimizer. (``MLPClassifier``
        keeps the learning rate of its first call.)

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
        if self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        if classes is not None:
            check_labels(y)  # continuous y: said as fit says it, before `classes` is read
        if _check_partial_fit_first_call(self, classes):
            multilabel = type_of_target(y).startswith("multilabel")
            # As fit: two classes at least (one would give two probability columns).
            self._label_binarizer = (
                LabelBinarizer().fit(y) if multilabel else label_binarizer(classes)
            )
        return self._fit(X, y, sample_weight, None, incremental=True)

    # --------------------------------------------------------- prediction

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
        return labels_from_logits(self._logits(X), self._fitted_binarizer(), self.out_activation_)

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
        return log_proba_from_logits(logits, self._fitted_binarizer(), self.out_activation_)

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

    # ------------------------------------------------ the steps of a fit

    def _fit(self, X, y, sample_weight, validation, incremental):
        """Check, set up, train, publish: the one path of ``fit`` and ``partial_fit``."""
        # The one rule for continuing: partial_fit, or warm_start, on a fitted model.
        continuing = hasattr(self, "coefs_") and (incremental or self.warm_start)
        data = check_fit_data(
            self,
            X,
            y,
            sample_weight,
            validation,
            reset=not continuing,
            binarizer=self._fitted_binarizer() if incremental or continuing else None,
            same_classes=continuing and not incremental,
        )
        setup = fit_setup(self.get_params(), data, scorer=self._scorer())
        rng = check_random_state(self.random_state)
        params, state = self._starting_point(setup, continuing, rng, incremental)
        # After the initial weights: the random draws are MLPClassifier's.
        training_data = with_held_out_validation(setup.data, setup.config, rng)
        self._set_structure(setup)
        progress = self._progress(setup, data.X, data.y, incremental)
        outcome = train(
            setup.arch,
            params,
            training_data,
            setup.config,
            state,
            rng=rng,
            progress=progress,
            incremental=incremental,
        )
        self._publish(setup, training_data, params, state, outcome)
        progress.close()  # the callbacks see the fitted model
        fitted = {
            "n_iter": self.n_iter_,
            "loss": self.loss_,
            "loss_curve": self.loss_curve_,
            "dead_units_fraction": self.dead_units_fraction_,
            "interrupted": self.interrupted_,
        }
        report_outcome(
            outcome, setup, fitted, on_interrupt=self.on_interrupt, incremental=incremental
        )
        return self

    def _fitted_binarizer(self):
        """The fitted label encoding, or one from hand-set ``classes_`` (None without)."""
        if hasattr(self, "_label_binarizer"):
            return self._label_binarizer
        if hasattr(self, "classes_"):
            return LabelBinarizer().fit(self.classes_)
        return None

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
            # Weights set by hand (as scikit-learn's own tests do) come with no state yet.
            state = self._state.copy() if hasattr(self, "_state") else TrainingState.fresh(config)
        else:
            params = init_params(arch, rng, setup.dtype, self.init)
            state = TrainingState.fresh(config)
        state.begin_run(
            config, arch.n_params, setup.dtype, incremental=incremental, validated=setup.validated
        )
        return params, state

    def _current_params(self, arch, dtype):
        coefs, intercepts = fitted_arrays(self.coefs_, self.intercepts_)
        shapes = [coef.shape for coef in coefs]
        expected = [(arch.layer_units[i], arch.layer_units[i + 1]) for i in range(arch.n_layers)]
        if shapes != expected:
            raise ValueError(
                f"Cannot continue training: the fitted layers have shapes {shapes}, but "
                f"the current parameters ask for {expected}. Set warm_start=False (or "
                "start a new estimator) to train a differently shaped network."
            )
        # A fresh flat copy: the fitted arrays may be read-only (memory-mapped).
        return flatten(arch, coefs, intercepts, dtype)

    def _set_structure(self, setup):
        """What a fitted model needs besides its weights; set before training, for callbacks."""
        self._label_binarizer = setup.binarizer
        self.classes_ = setup.binarizer.classes_
        self.n_layers_ = len(setup.arch.layer_units)
        self.n_outputs_ = setup.arch.layer_units[-1]
        self.out_activation_ = setup.arch.output
        self.image_shape_ = setup.config.image_shape

    def _progress(self, setup, X, y, incremental):
        """The verbose table and the scikit-learn callbacks this fit reports to."""
        config = setup.config
        planned = 1 if incremental else config.max_iter
        table = None
        if self.verbose:
            table = EpochTable(setup.validated, config.iteration_name, planned)
        callbacks = None
        if callbacks_supported(self):
            subtasks = planned if config.stochastic else config.max_iter + 1
            context = self._init_callback_context(max_subtasks=subtasks)
            context.call_on_fit_task_begin(estimator=self, X=X, y=y)
            callbacks = EpochCallbacks(
                context, self, X, y, setup.arch, task_name=config.iteration_name
            )
        return Progress(table, callbacks)

    def _publish(self, setup, data, params, state, outcome):
        """Make the run's results this estimator's fitted attributes."""
        weights = params.astype(setup.input_dtype, copy=False)
        self.coefs_, self.intercepts_ = unflatten(setup.arch, weights)
        self.interrupted_ = outcome.reason == "interrupted"
        self.dead_units_fraction_ = diagnostics.dead_unit_fraction(
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

    # ------------------------------------------------- prediction's steps

    def _logits(self, X):
        """Check ``X`` against the fitted model and return the network's logits."""
        check_is_fitted(self)
        missing = [name for name in _PREDICTION_ATTRIBUTES if not hasattr(self, name)]
        if missing:  # fitted attributes set by hand, but not all of them
            raise NotFittedError(
                f"This {type(self).__name__} has coefs_ but not {', '.join(missing)}: call "
                "fit or partial_fit first (they continue from hand-set coefs_ and "
                "intercepts_), or set those attributes too."
            )
        coefs, intercepts = fitted_arrays(self.coefs_, self.intercepts_)
        X = check_predict_data(self, X, coefs[0].dtype)
        arch = Architecture(
            (*(W.shape[0] for W in coefs), coefs[-1].shape[1]),
            self.activation,
            self.out_activation_,
        )
        return network_logits(arch, coefs, intercepts, X, type(self).__name__)

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


# What prediction reads besides the weights; fit and partial_fit set them.
_PREDICTION_ATTRIBUTES = ("classes_", "out_activation_")


def _copy_or_none(values):
    return None if values is None else list(values)


def _library_versions():
    return {"hdrnn": __version__, "numpy": np.__version__, "scikit-learn": sklearn.__version__}


def _warn_other_versions(saved):
    running = _library_versions()
    then = ", ".join(f"{name} {saved.get(name)}" for name in running)
    now = ", ".join(f"{name} {version}" for name, version in running.items())
    warn(
        ModelVersionWarning(
            f"This DigitMLPClassifier was pickled with {then} and is loaded with {now}. "
            "It may fail or predict differently: retrain it, or move models between "
            "versions with hdrnn.save / hdrnn.load, whose files are checked when loaded.",
            original_version=saved.get("hdrnn"),
        )
    )
