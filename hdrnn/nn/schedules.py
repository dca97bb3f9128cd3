"""Learning-rate schedules: the step size for each epoch.

The optimizers read ``optimizer.learning_rate``; the training loop sets it
from a :class:`LearningRateSchedule` at the start of every epoch. The first
three kinds are ``MLPClassifier``'s; ``"cosine"`` and ``"plateau"`` are new,
and every kind works with every stochastic optimizer.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass

# Like MLPClassifier: the adaptive schedule stops training once the step
# size would fall below this.
MIN_LEARNING_RATE = 1e-6

# Factor the adaptive schedule divides the step size by (MLPClassifier's).
ADAPTIVE_FACTOR = 5.0

# Factor the plateau schedule multiplies the step size by.
PLATEAU_FACTOR = 0.5


@dataclass(frozen=True)
class ScheduleKind:
    """One kind of learning-rate schedule, as a complete record.

    Parameters
    ----------
    name : str
        The value of the estimator's ``learning_rate`` parameter.
    decay : callable
        ``decay(schedule, epoch, samples_seen) -> float``: the factor on
        ``learning_rate_init`` before warm-up and reductions.
    on_plateau : str or None, default=None
        What patience running out means: ``"halve"`` after
        ``plateau_patience`` epochs (``"plateau"``), ``"divide"`` by 5 after
        ``n_iter_no_change`` epochs, stopping below 1e-6 (``"adaptive"``);
        None stops training (the early-stopping rule).
    """

    name: str
    decay: Callable
    on_plateau: str = None


def _no_decay(schedule, epoch, samples_seen):
    return 1.0


def _inverse_scaling(schedule, epoch, samples_seen):
    # lr / (t + 1) ** power_t, t counting the samples seen (MLPClassifier's rule)
    return 1.0 / (samples_seen + 1) ** schedule.power_t


def _cosine(schedule, epoch, samples_seen):
    # half a cosine from 1 to 0 over the epochs after the warm-up
    decay_epochs = max(schedule.total_epochs - schedule.warmup_epochs, 1)
    progress = min(max(epoch - schedule.warmup_epochs, 0) / decay_epochs, 1.0)
    return 0.5 * (1.0 + math.cos(math.pi * progress))


SCHEDULE_KINDS = {
    kind.name: kind
    for kind in (
        ScheduleKind("constant", _no_decay),
        ScheduleKind("invscaling", _inverse_scaling),
        ScheduleKind("adaptive", _no_decay, on_plateau="divide"),
        ScheduleKind("cosine", _cosine),
        ScheduleKind("plateau", _no_decay, on_plateau="halve"),
    )
}
"""dict of str to ScheduleKind: every schedule, by name."""

SCHEDULES = tuple(SCHEDULE_KINDS)


class LearningRateSchedule:
    """The step size of each epoch.

    Parameters
    ----------
    kind : {"constant", "invscaling", "adaptive", "cosine", "plateau"}
        - ``"constant"``: ``learning_rate_init`` throughout.
        - ``"invscaling"``: ``learning_rate_init / (t + 1) ** power_t`` where
          ``t`` counts the training samples seen before the epoch.
        - ``"adaptive"``: constant until ``patience`` epochs in a row fail to
          improve, then divided by 5; training stops once it is below 1e-6.
        - ``"cosine"``: decays from ``learning_rate_init`` to 0 along half a
          cosine over ``total_epochs`` (after the warm-up).
        - ``"plateau"``: halved whenever ``plateau_patience`` epochs in a row
          fail to improve; never stops training by itself.
    learning_rate_init : float
        The initial step size.
    total_epochs : int, default=200
        Length of the cosine decay, warm-up included.
    warmup_epochs : int, default=0
        Epochs of linear warm-up, for every kind: epoch ``e < warmup_epochs``
        uses ``(e + 1) / (warmup_epochs + 1)`` of the scheduled rate.
    power_t : float, default=0.5
        Exponent of ``"invscaling"``.
    plateau_patience : int, default=5
        Epochs without improvement before ``"plateau"`` halves the rate.

    Examples
    --------
    >>> schedule = LearningRateSchedule("cosine", 0.1, total_epochs=4)
    >>> [round(schedule.rate(epoch, 0), 4) for epoch in range(4)]
    [0.1, 0.0854, 0.05, 0.0146]
    """

    def __init__(
        self,
        kind,
        learning_rate_init,
        *,
        total_epochs=200,
        warmup_epochs=0,
        power_t=0.5,
        plateau_patience=5,
    ):
        if kind not in SCHEDULES:
            raise ValueError(f"Unknown schedule {kind!r}; expected one of {SCHEDULES}.")
        self.kind = kind
        self.learning_rate_init = float(learning_rate_init)
        self.total_epochs = total_epochs
        self.warmup_epochs = warmup_epochs
        self.power_t = power_t
        self.plateau_patience = plateau_patience
        # Product of the reductions made at plateaus so far.
        self.reduction = 1.0
        self._epochs_since_reduction = 0

    @property
    def settings(self):
        """dict: the parameters the schedule was made with (not what it has learned since)."""
        return {
            "kind": self.kind,
            "learning_rate_init": self.learning_rate_init,
            "total_epochs": self.total_epochs,
            "warmup_epochs": self.warmup_epochs,
            "power_t": self.power_t,
            "plateau_patience": self.plateau_patience,
        }

    def rate(self, epoch, samples_seen):
        """Return the step size for ``epoch`` (0-based) after ``samples_seen`` samples."""
        lr = self.learning_rate_init * self.reduction
        lr *= SCHEDULE_KINDS[self.kind].decay(self, epoch, samples_seen)
        if epoch < self.warmup_epochs:
            lr *= (epoch + 1) / (self.warmup_epochs + 1)
        return lr

    def epoch_ended(self, improved):
        """Let ``"plateau"`` react to an epoch; ``improved`` says whether it improved."""
        if SCHEDULE_KINDS[self.kind].on_plateau != "halve":
            return
        self._epochs_since_reduction = 0 if improved else self._epochs_since_reduction + 1
        if self._epochs_since_reduction >= self.plateau_patience:
            self.reduction *= PLATEAU_FACTOR
            self._epochs_since_reduction = 0

    # The keys of state_dict(), which model files hold.
    STATE_KEYS = ("reduction", "epochs_since_reduction")

    def state_dict(self):
        """Return what the schedule has learned so far (its reductions), as plain numbers."""
        return {
            "reduction": self.reduction,
            "epochs_since_reduction": self._epochs_since_reduction,
        }

    def load_state(self, state):
        """Restore a state returned by :meth:`state_dict`."""
        self.reduction = float(state["reduction"])
        self._epochs_since_reduction = int(state["epochs_since_reduction"])

    def on_patience_exhausted(self):
        """React to ``n_iter_no_change`` epochs without improvement; return True to stop.

        Only ``"adaptive"`` continues, with the step size divided by 5, until
        it is below 1e-6 (``MLPClassifier``'s rule).
        """
        if SCHEDULE_KINDS[self.kind].on_plateau != "divide":
            return True
        if self.learning_rate_init * self.reduction <= MIN_LEARNING_RATE:
            return True
        self.reduction /= ADAPTIVE_FACTOR
        return False
