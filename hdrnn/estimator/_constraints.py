"""What each parameter of DigitMLPClassifier may be.

scikit-learn checks the parameters against ``_parameter_constraints`` when
``fit`` starts; the estimator takes them from here. The option sets come from
the registries that define them (activations, schedules, solvers,
augmentation presets), so adding one there adds it here. Their documentation
is the estimator's docstring.
"""

from numbers import Integral, Real

import numpy as np

from hdrnn._training.state import SOLVERS
from hdrnn._utils.sklearn_compat import Interval, Options, StrOptions
from hdrnn.augmentation import PRESETS, Augmentation
from hdrnn.nn import ACTIVATIONS, SCHEDULES

PARAMETER_CONSTRAINTS = {
    "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
    "activation": [StrOptions(set(ACTIVATIONS))],
    "solver": [StrOptions(set(SOLVERS))],
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
"""dict: what each parameter of DigitMLPClassifier may be (checked when ``fit`` starts)."""
