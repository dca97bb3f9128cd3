"""One lesson: fine-tune a copy of a model until it reads a drawing as the person said.

Teaching trains a scratch copy with plain SGD on the drawing (a few times,
slightly shifted) mixed with a replay batch of training digits, so that
the model does not forget; only the scratch copy's weights are kept (see
:meth:`hdrnn._serve.sessions.Copies.derive`). Lessons run one at a time,
in the order they arrive (:class:`LessonQueue`): a lesson takes tens of
milliseconds of both cores, and first come, first served means none waits
behind an endless stream of others.
"""

import contextlib
import copy
import threading

import numpy as np

from hdrnn._serve.errors import RequestError
from hdrnn._utils.model_facts import plain
from hdrnn.augmentation import Augmentation, BatchAugmenter

# Teaching: passes of plain SGD (mini-batches of 128) over TEACH_ROWS rows,
# TEACH_COPIES of them the drawing (slightly shifted) and the rest replayed
# training digits, until the model reads the drawing right. Measured on MNIST
# (784-128-64-10, 97.64%), 7 teachings against the training data in a row (a
# clear 0 taught as 6, an 8 as 3...), 3 seeds: 2.5 passes per teaching on
# average (at most 13), 44 ms each, test accuracy 96.97% after all 7. Fewer
# replayed rows or larger batches forgot more (90.7% with 256 rows in one
# batch); Adam continuing with its trained moments, 85-92%.
TEACH_ROWS = 1024
TEACH_COPIES = 32
TEACH_BATCH_SIZE = 128
TEACH_MAX_PASSES = 60
TEACHING_PARAMS = {
    "solver": "sgd",
    "learning_rate": "constant",
    "learning_rate_init": 0.1,
    "momentum": 0.0,
    "warmup_epochs": 0,
    "shuffle": True,
    "dropout": 0.0,
    "augment": None,
    "early_stopping": False,
    "class_weight": None,  # partial_fit refuses "balanced"; a lesson weighs its rows itself
    "verbose": False,
}

# Without training digits to replay (a shipped or loaded model served alone),
# a lesson is only the drawing: steps this much smaller, taken until it reads
# right, change the model just enough. At 0.1, one lesson of a 0 as 8 made the
# shipped model read a 3 and a 7 written beside it as 8 too.
NO_REPLAY_RATE = 0.005

# Lessons waiting for their turn before new ones are refused (503, try again).
MAX_WAITING_LESSONS = 64


def teaching_refusal(model):
    """Why teaching is off for ``model`` (a sentence), or None when it can be taught."""
    if model.out_activation_ == "logistic" and model.n_outputs_ > 1:
        return (
            f"it predicts {model.n_outputs_} labels at once (a multilabel model), and a "
            "lesson gives one label to a drawing"
        )
    return None


def class_of(classes, label):
    """The class in ``classes`` that a request's ``label`` names, or ValueError.

    A label may be given as the class itself or as its text: ``9``, ``9.0``
    and ``"9"`` all name a class ``9.0``; ``true`` and ``"True"`` name a
    class ``True``.
    """
    for cls in classes:
        if _names(plain(cls), label):
            return cls
    shown = repr(label) if len(repr(label)) <= 40 else repr(label)[:37] + "..."
    choices = ", ".join(str(plain(cls)) for cls in classes)
    raise ValueError(
        f"{shown} is not one of the model's classes ({choices}); send one of them as 'label'."
    )


def _names(value, label):
    """Whether ``label`` (from JSON) names the class ``value``."""
    if isinstance(value, bool) or isinstance(label, bool):
        if not isinstance(value, bool):
            return False
        return label is value or label in (str(value), str(value).lower())
    if isinstance(label, str):
        return label == str(value) or (isinstance(value, (int, float)) and _number(label) == value)
    if isinstance(label, (int, float)):
        return label == value if isinstance(value, (int, float)) else str(label) == str(value)
    return False


def _number(text):
    try:
        return float(text) if len(text) <= 40 else None
    except ValueError:
        return None


def lesson(model, x, target, *, replay, rng, image_shape):
    """Train a scratch copy of ``model`` until it reads ``x`` as ``target``.

    Returns ``(coefs, intercepts, passes)``: the taught weights and the
    passes it took (0 when the model already read it so). ``model`` itself
    is never changed.
    """
    scratch = copy.deepcopy(model)
    scratch.set_params(**TEACHING_PARAMS)
    if replay is None:
        scratch.set_params(learning_rate_init=NO_REPLAY_RATE)
    passes = 0
    while passes < TEACH_MAX_PASSES and scratch.predict(x[np.newaxis])[0] != target:
        X, y = teaching_rows(x, target, scratch, replay=replay, rng=rng, image_shape=image_shape)
        scratch.set_params(batch_size=min(TEACH_BATCH_SIZE, len(X)))
        scratch.partial_fit(X, y)
        passes += 1
    return scratch.coefs_, scratch.intercepts_, passes


def teaching_rows(x, target, model, *, replay, rng, image_shape):
    """The drawing, a few times slightly shifted, among replayed training digits."""
    dtype = model.coefs_[0].dtype
    copies = np.repeat(x[np.newaxis].astype(dtype), TEACH_COPIES, axis=0)
    shifter = BatchAugmenter(Augmentation(max_shift=1), image_shape, TEACH_COPIES - 1, dtype)
    shifter(copies[1:], rng)  # the first copy as drawn
    y = np.full(TEACH_COPIES, target, dtype=model.classes_.dtype)
    if replay is None:
        return copies, y
    X_replay, y_replay = replay
    n_rows = min(len(X_replay), TEACH_ROWS - TEACH_COPIES)
    rows = rng.choice(len(X_replay), n_rows, replace=False)
    X = np.vstack([copies, X_replay[rows].astype(dtype)])
    return X, np.concatenate([y, np.asarray(y_replay[rows]).astype(y.dtype)])


class LessonQueue:
    """Lessons one at a time, first come first served, with a bounded queue.

    Parameters
    ----------
    max_waiting : int, default=MAX_WAITING_LESSONS
        Lessons waiting or running before new ones are refused (503).

    Examples
    --------
    >>> queue = LessonQueue()
    >>> with queue.turn():
    ...     pass  # teach here
    >>> queue.stop(timeout=1)  # (lessons in progress, of which unfinished)
    (0, 0)
    """

    def __init__(self, max_waiting=MAX_WAITING_LESSONS):
        self.max_waiting = max_waiting
        self._turns = threading.Condition()
        self._issued = 0  # tickets given out
        self._finished = 0  # lessons done; the next turn is the ticket equal to it
        self._stopping = False

    @contextlib.contextmanager
    def turn(self):
        """Wait for this lesson's turn; :class:`RequestError` (503) if it cannot have one."""
        with self._turns:
            if self._stopping:
                raise RequestError(503, "The server is stopping: this lesson was not taught.")
            waiting = self._issued - self._finished
            if waiting >= self.max_waiting:
                raise RequestError(
                    503,
                    f"{waiting} lessons are waiting to be taught; try again in a few seconds.",
                    retry_after=2,
                )
            ticket = self._issued
            self._issued += 1
            self._turns.wait_for(lambda: self._finished == ticket)
        try:
            yield
        finally:
            with self._turns:
                self._finished += 1
                self._turns.notify_all()

    def stop(self, timeout):
        """Refuse new lessons and wait up to ``timeout`` s for the others.

        Returns ``(in_progress, unfinished)``: the lessons running or
        waiting when asked, and those still not done after the wait.
        """
        with self._turns:
            self._stopping = True
            in_progress = self._issued - self._finished
            self._turns.wait_for(lambda: self._finished == self._issued, timeout)
            return in_progress, self._issued - self._finished
