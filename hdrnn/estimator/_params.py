"""The parameters of DigitMLPClassifier: what each may be, and ``__init__`` storing them.

scikit-learn reads the parameter names from ``__init__`` and checks the
values against ``_parameter_constraints`` when ``fit`` starts; both live
here, apart from the estimator's behaviour. Their documentation is the
estimator's docstring.
"""

from numbers import Integral, Real

import numpy as np

from hdrnn._utils.sklearn_compat import Interval, Options, StrOptions
from hdrnn.augmentation import PRESETS, Augmentation
from hdrnn.nn import ACTIVATIONS, SCHEDULES


class DigitMLPParameters:
    """Storage and constraints of :class:`~hdrnn.DigitMLPClassifier`'s parameters."""

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
        "augment": [None, StrOptions(set(PRESETS)), Augmentation],
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
