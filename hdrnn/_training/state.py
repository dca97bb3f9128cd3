"""What a training run is given, and what lives from one epoch (and call) to the next.

:class:`TrainingConfig` is built once per ``fit`` from the estimator's
parameters and never changes. :class:`TrainingState` is the one owner of
everything training keeps across epochs and across ``partial_fit`` and
``warm_start`` calls: the optimizer, the learning-rate schedule, the
plateau counters, the curves and the history, the samples seen. The run
loops (:mod:`hdrnn._training.stochastic`) update it; the estimator publishes it as its
fitted attributes; :mod:`hdrnn.persistence` saves it with
:meth:`TrainingState.state_dict`.
"""

import copy
from dataclasses import dataclass, field, fields

import numpy as np

from hdrnn.augmentation import Augmentation
from hdrnn.nn import OPTIMIZERS, SGD, Adam, LearningRateSchedule, PlateauTracker

# The stochastic solvers: the optimizer each builds, and which estimator
# parameter gives each of its hyperparameters (MLPClassifier's names).
STOCHASTIC_SOLVERS = {
    "sgd": (
        SGD,
        {
            "learning_rate": "learning_rate_init",
            "momentum": "momentum",
            "nesterov": "nesterovs_momentum",
        },
    ),
    "adam": (
        Adam,
        {
            "learning_rate": "learning_rate_init",
            "beta_1": "beta_1",
            "beta_2": "beta_2",
            "epsilon": "epsilon",
        },
    ),
}

# Every value of the estimator's ``solver`` parameter.
SOLVERS = ("lbfgs", *STOCHASTIC_SOLVERS)

# The keys of a history record (``history_``), one per epoch or L-BFGS iteration.
HISTORY_KEYS = ("epoch", "loss", "val_loss", "val_score", "learning_rate", "seconds")


@dataclass(frozen=True)
class TrainingConfig:
    """How to train: the estimator's parameters, checked and resolved for the data.

    Built with :meth:`from_params`; the fields are the estimator's
    parameters of the same names, except ``dropout`` (one rate per hidden
    layer), ``augment`` (an :class:`~hdrnn.augmentation.Augmentation` or
    None, sized for the images) and ``image_shape`` (the images' shape when
    augmenting, else None).
    """

    solver: str
    alpha: float
    batch_size: int
    learning_rate: str
    learning_rate_init: float
    power_t: float
    max_iter: int
    shuffle: bool
    tol: float
    momentum: float
    nesterovs_momentum: bool
    early_stopping: bool
    validation_fraction: float
    beta_1: float
    beta_2: float
    epsilon: float
    n_iter_no_change: float
    max_fun: int
    warmup_epochs: int
    plateau_patience: int
    dropout: tuple = ()
    augment: Augmentation = None
    image_shape: tuple = None

    @classmethod
    def from_params(cls, params, **resolved):
        """The configuration from ``estimator.get_params()``, with ``resolved`` values."""
        names = {f.name for f in fields(cls)} - set(resolved)
        return cls(**{name: params[name] for name in names}, **resolved)

    @property
    def stochastic(self):
        """bool: whether the solver trains on mini-batches (SGD, Adam)."""
        return self.solver != "lbfgs"

    @property
    def iteration_name(self):
        """str: what one step of the run is called: ``"epoch"``, or ``"iteration"`` (L-BFGS)."""
        return "epoch" if self.stochastic else "iteration"

    @property
    def stops_on_validation(self):
        """bool: whether a validation score decides when to stop (and the weights kept)."""
        return self.early_stopping and self.stochastic

    def make_optimizer(self, n_params, dtype):
        """A new optimizer of this solver, with these hyperparameters."""
        optimizer, parameter_of = STOCHASTIC_SOLVERS[self.solver]
        hyperparameters = {name: getattr(self, param) for name, param in parameter_of.items()}
        return optimizer(n_params, dtype, **hyperparameters)

    def make_schedule(self):
        """A new learning-rate schedule."""
        return LearningRateSchedule(
            self.learning_rate,
            self.learning_rate_init,
            total_epochs=self.max_iter,
            warmup_epochs=self.warmup_epochs,
            power_t=self.power_t,
            plateau_patience=self.plateau_patience,
        )


@dataclass
class TrainingState:
    """Everything that training keeps from epoch to epoch and from call to call.

    Attributes
    ----------
    plateau : PlateauTracker
        Epochs without improvement, best loss and best validation score.
    optimizer : SGD, Adam or None
        The stochastic optimizer and its moments (None before the first
        stochastic run, and for L-BFGS).
    schedule : LearningRateSchedule or None
        The step-size schedule of the stochastic solvers.
    loss_curve : list of float
        Training loss per epoch (per iteration for L-BFGS).
    validation_scores, validation_loss_curve : list of float or None
        Per epoch, when there is validation data.
    history : list of dict
        One record per epoch.
    samples_seen : int
        Training samples seen by the stochastic solvers (``t_``).
    epochs : int
        Epochs (or iterations) completed by the last run (``n_iter_``).
    loss : float or None
        The training loss at the end of the last run.
    """

    plateau: PlateauTracker
    optimizer: object = None
    schedule: LearningRateSchedule = None
    loss_curve: list = field(default_factory=list)
    validation_scores: list = None
    validation_loss_curve: list = None
    history: list = field(default_factory=list)
    samples_seen: int = 0
    epochs: int = 0
    loss: float = None

    @classmethod
    def fresh(cls, config):
        """The state before any training."""
        return cls(plateau=PlateauTracker(config.tol))

    def copy(self):
        """An independent copy (the optimizer's arrays too)."""
        return copy.deepcopy(self)

    def begin_run(self, config, n_params, dtype, *, incremental, validated):
        """Prepare for a run: optimizer and schedule for ``config``, curves for validation.

        The optimizer's moments carry over when it is the same kind and size
        (training continues); its hyperparameters always come from ``config``.
        ``partial_fit`` (``incremental``) keeps the schedule unless its
        parameters were changed since (``set_params(learning_rate_init=...)``
        to fine-tune takes effect); ``fit`` starts a new one.
        """
        self.plateau.tol = config.tol
        self.epochs = 0
        if config.stochastic:
            self.optimizer = _carried_over(self.optimizer, config.make_optimizer(n_params, dtype))
            fresh = config.make_schedule()
            if not incremental or self.schedule is None or self.schedule.settings != fresh.settings:
                self.schedule = fresh
        if validated:
            self.validation_scores = self.validation_scores or []
            self.validation_loss_curve = self.validation_loss_curve or []

    def record(self, *, loss, val_loss=None, val_score=None, learning_rate=None, seconds):
        """Append the history record of the epoch (or iteration) just completed; return it."""
        values = (len(self.history) + 1, loss, val_loss, val_score, learning_rate, seconds)
        record = dict(zip(HISTORY_KEYS, values))
        self.history.append(record)
        return record

    @property
    def best_loss(self):
        """float: the lowest training loss so far (``inf`` before any)."""
        return self.plateau.best_loss

    def state_dict(self):
        """Return the state as JSON-able values and NumPy arrays (for model files).

        Returns
        -------
        state : dict
            ``{"scalars": dict of JSON values, "arrays": dict of ndarray}``.
        """
        optimizer = None if self.optimizer is None else self.optimizer.state_dict()
        scalars = {
            "plateau": self.plateau.state_dict(),
            "schedule": None if self.schedule is None else self.schedule.state_dict(),
            "optimizer": None
            if optimizer is None
            else {
                "kind": type(self.optimizer).__name__,
                **{k: v for k, v in optimizer.items() if not isinstance(v, np.ndarray)},
            },
            "loss_curve": list(self.loss_curve),
            "validation_scores": _list_or_none(self.validation_scores),
            "validation_loss_curve": _list_or_none(self.validation_loss_curve),
            "history": [dict(record) for record in self.history],
            "samples_seen": self.samples_seen,
            "epochs": self.epochs,
            "loss": self.loss,
        }
        arrays = {k: v for k, v in (optimizer or {}).items() if isinstance(v, np.ndarray)}
        return {"scalars": scalars, "arrays": arrays}

    @classmethod
    def from_state_dict(cls, state, config):
        """Rebuild a state returned by :meth:`state_dict` (for the parameters ``config``)."""
        scalars, arrays = state["scalars"], state["arrays"]
        plateau = PlateauTracker(config.tol)
        plateau.load_state(scalars["plateau"])
        restored = cls(
            plateau=plateau,
            loss_curve=list(scalars["loss_curve"]),
            validation_scores=_list_or_none(scalars["validation_scores"]),
            validation_loss_curve=_list_or_none(scalars["validation_loss_curve"]),
            history=[dict(record) for record in scalars["history"]],
            samples_seen=int(scalars["samples_seen"]),
            epochs=int(scalars["epochs"]),
            loss=scalars["loss"],
        )
        if scalars["schedule"] is not None:
            restored.schedule = config.make_schedule()
            restored.schedule.load_state(scalars["schedule"])
        if scalars["optimizer"] is not None:
            restored.optimizer = _rebuilt_optimizer(scalars["optimizer"], arrays)
        return restored


def _carried_over(previous, optimizer):
    """``optimizer``, with the moments of ``previous`` when it is the same kind and size."""
    if previous is None or type(previous) is not type(optimizer):
        return optimizer
    state = previous.state_dict()
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    current = optimizer.state_dict()
    if any(current[k].shape != v.shape or current[k].dtype != v.dtype for k, v in arrays.items()):
        return optimizer
    for name in optimizer.HYPERPARAMETERS:  # these come from the current parameters
        state.pop(name)
    optimizer.load_state(state)
    return optimizer


def _rebuilt_optimizer(description, arrays):
    """The optimizer a state dict describes, ready to continue training."""
    state = {k: v for k, v in description.items() if k != "kind"} | arrays
    return OPTIMIZERS[description["kind"]].from_state(state)


def _list_or_none(values):
    return None if values is None else list(values)


# The entries of TrainingState.state_dict()["scalars"]: one per field of the state.
STATE_KEYS = frozenset(f.name for f in fields(TrainingState))
