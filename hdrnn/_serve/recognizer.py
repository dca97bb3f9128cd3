"""A model that reads drawings and can be taught: what ``hdrnn serve`` serves.

:class:`Recognizer` answers three questions about a drawing (an array of
grey pixels from the page's canvas) with a browser's copy of the model:
what digit it is, what the model sees (the prepared image) and which
first-layer units fire. Teaching changes only that browser's copy
(:mod:`~hdrnn._serve.sessions`), one lesson at a time
(:mod:`~hdrnn._serve.lessons`); a lesson can be undone, and a copy reset to
the original. The model file it came from is never written.
"""

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hdrnn._serve.errors import RequestError
from hdrnn._serve.lessons import LessonQueue, class_of, lesson, teaching_refusal
from hdrnn._serve.numbers import MIN_CONFIDENCE, digit_input, read_drawing
from hdrnn._serve.sessions import Copies
from hdrnn._utils.model_facts import architecture, input_image_shape, plain
from hdrnn.nn import ACTIVATIONS
from hdrnn.persistence import save
from hdrnn.preprocessing import find_ink, preparation_steps, prepare_digit_image

# First-layer units shown in the "look inside" panel.
TOP_UNITS = 8


@dataclass(frozen=True)
class ModelFacts:
    """What the page says about the model: its shape, where it came from, how good it is.

    ``info`` is the model file's ``info`` (what ``hdrnn info`` prints: data
    set, accuracy, seed...), kept in every taught copy that is saved.
    """

    architecture: str
    image_shape: tuple
    classes: list
    source: str
    accuracy: str = None
    info: dict = field(default_factory=dict)

    def as_dict(self):
        """The facts as JSON-ready values."""
        shape = self.image_shape
        return {
            "architecture": self.architecture,
            "image_shape": None if shape is None else list(shape),
            "classes": self.classes,
            "source": self.source,
            "accuracy": self.accuracy,
            "preparation": None if shape is None else preparation_steps(shape),
        }


def describe(model, source, info=None):
    """The :class:`ModelFacts` of a fitted model; ``info`` is its file's ``info``."""
    info = dict(info or {})
    accuracy = None
    if isinstance(info.get("test_accuracy"), float):
        tested_on = str(info.get("test_data", "its test data"))
        accuracy = f"{info['test_accuracy']:.2%} test accuracy on {tested_on}"
    return ModelFacts(
        architecture=architecture(model),
        image_shape=input_image_shape(model),
        classes=[plain(label) for label in model.classes_],
        source=source,
        accuracy=accuracy,
        info=info,
    )


class Recognizer:
    """Reads drawings with each browser's copy of a model, and teaches that copy.

    Parameters
    ----------
    model : DigitMLPClassifier
        A fitted model whose input is a square image (28x28 or 8x8). It is
        never changed.
    facts : ModelFacts
        What to tell the page about it.
    replay : tuple of (ndarray, ndarray) or None, default=None
        Training digits ``(X, y)`` mixed into every lesson, so that the
        model does not forget what it knew.
    save_to : path-like or None, default=None
        Where to save the shared copy after each change, atomically (only
        with ``shared=True``: there is one taught model to save).
    seed : int, default=0
        Seeds the replay batches and the shifts of the taught drawing.
    shared : bool, default=False
        One copy taught by every browser (single-user use), instead of one
        copy per browser session.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from hdrnn import DigitMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = DigitMLPClassifier((16,), max_iter=20, random_state=0).fit(X / 16, y)
    >>> recognizer = Recognizer(model, describe(model, "digits"), replay=(X / 16, y))
    >>> pixels = (255 - 16 * X[1].reshape(8, 8)).astype("uint8").repeat(8, 0).repeat(8, 1)
    >>> before = recognizer.read(pixels)  # a fresh browser: the original model
    >>> answer, session = recognizer.teach(pixels, 5)  # a 1, taught as a 5
    >>> answer["teaching"]["said"]
    "This browser's copy: 1 lesson; the model file is unchanged."
    >>> recognizer.read(pixels, session)["probabilities"] == answer["probabilities"]
    True
    >>> recognizer.read(pixels)["probabilities"] == before["probabilities"]  # others: unchanged
    True
    """

    def __init__(self, model, facts, *, replay=None, save_to=None, seed=0, shared=False):
        if save_to is not None and not shared:
            raise ValueError(
                "save_to saves the one taught model of shared teaching; with a copy per "
                "browser, each page downloads its own. Pass shared=True, or no save_to."
            )
        self.facts = facts
        self.replay = replay
        self.save_to = save_to
        self.copies = Copies(model, shared=shared)
        self.teaching_off = teaching_refusal(model)
        self.queue = LessonQueue()
        self._rng = np.random.default_rng(seed)  # used by one lesson at a time

    @property
    def model(self):
        """The original model (never changed)."""
        return self.copies.original.model

    def copy(self, session=None):
        """The :class:`~hdrnn._serve.sessions.Copy` that ``session`` reads with."""
        return self.copies.get(session)[0]

    def prepare(self, pixels):
        """The model input for a drawing: the same path as ``hdrnn predict`` on a file."""
        return prepare_digit_image(pixels, self.facts.image_shape)

    def read(self, pixels, session=None):
        """What a session's copy makes of a drawing.

        Returns a dict: the ``prediction``, the ``probabilities`` of the
        ``classes``, the ``input`` the model saw (the prepared image), the
        first hidden layer's most active ``units`` and the copy's
        ``revision``.
        """
        return _reading(self.copy(session), self.prepare(pixels))

    def read_number(self, pixels, session=None, min_confidence=MIN_CONFIDENCE):
        """What a session's copy reads on a drawing of a number (or several, one per line).

        Returns the reading as :func:`~hdrnn._serve.numbers.read_drawing`
        gives it, with the copy's ``revision``.
        """
        current = self.copy(session)
        reading = read_drawing(current.model, pixels, self.facts.image_shape, min_confidence)
        return {**reading, "revision": current.revision}

    def teach(self, pixels, label, session=None, box=None):
        """Teach a session's copy that a drawing is ``label``: ``(answer, session)``.

        With ``box`` (``(x0, y0, x1, y1)`` of a digit that :meth:`read_number`
        found), the lesson is the digit inside the box, prepared as the
        reading prepared it. The answer is the new reading (as :meth:`read`,
        of that digit) with the ``passes``
        of training it took (0 if the copy already read it so) and the
        ``teaching`` status (:meth:`status`); ``session`` is the session's
        id, new if this lesson made the browser's copy. Raises
        :class:`RequestError` when teaching is off (409) or the server is
        busy (503), and ValueError for a drawing without a digit or a label
        that is not a class.
        """
        if self.teaching_off is not None:
            raise RequestError(409, f"Teaching is off for this model: {self.teaching_off}.")
        if box is None:
            x = self.prepare(pixels)
        else:
            x = digit_input(find_ink(pixels), box, self.facts.image_shape)
        target = class_of(self.model.classes_, label)
        with self.copies.lock(session), self.queue.turn():
            current = self.copy(session)
            coefs, intercepts, passes = lesson(
                current.model,
                x,
                target,
                replay=self.replay,
                rng=self._rng,
                image_shape=self.facts.image_shape,
            )
            taught = self.copies.derive(coefs, intercepts, current)
            session = self._publish(session, taught)
        return {**_reading(taught, x), "passes": passes, **self.status(session)}, session

    def undo(self, session):
        """Take back a session's last lesson: ``(status, session)``; 409 if there is none."""
        with self.copies.lock(session):
            current, dropped = self.copies.get(session)
            if current.previous is None:
                said = _copy_said(current, self.copies.shared, dropped)
                raise RequestError(409, f"Nothing to undo: {said[0].lower()}{said[1:]}")
            session = self._publish(session, current.previous)
        return self.status(session), session

    def reset(self, session):
        """Give a session the original model again: ``(status, session)``."""
        with self.copies.lock(session):
            if self.copies.shared:
                self._save(self.copies.original)
            self.copies.drop(session)
        return self.status(None), None

    def status(self, session=None):
        """What the page shows about a session's copy: ``{"revision", "teaching"}``."""
        current, dropped = self.copies.get(session)
        return {
            "revision": current.revision,
            "teaching": {
                "enabled": self.teaching_off is None,
                "off_because": self.teaching_off,
                "shared": self.copies.shared,
                "lessons": current.lessons,
                "can_undo": current.previous is not None,
                "dropped": dropped,
                "said": self._said(current, dropped),
            },
        }

    def saved_info(self, taught):
        """The ``info`` a saved copy keeps: the original's (data, accuracy, seed), its lessons."""
        info = dict(self.facts.info)
        if taught.lessons == 0:
            return {**info, "served_from": self.facts.source}
        earlier = info.get("drawings_taught")
        earlier = earlier if isinstance(earlier, int) and not isinstance(earlier, bool) else 0
        return {
            **info,
            "taught_from": str(info.get("taught_from", self.facts.source)),
            "drawings_taught": earlier + taught.lessons,
        }

    def stop(self, timeout):
        """Refuse new lessons, wait up to ``timeout`` s for those in progress.

        Returns ``(in_progress, unfinished)`` lesson counts.
        """
        return self.queue.stop(timeout)

    def _publish(self, session, new):
        self._save(new)  # first: a failed save changes nothing
        return self.copies.publish(session, new)

    def _save(self, new):
        if self.save_to is None:
            return
        try:
            save(new.model, self.save_to, info=self.saved_info(new))
        except OSError as error:
            message = (
                f"Could not save the taught model to {self.save_to}: "
                f"{error.strerror or error}. The change was not applied; make the folder "
                "writable again (or restart without --save-taught) and try again."
            )
            print(f"hdrnn: error: {message} (still serving)", file=sys.stderr, flush=True)
            raise RequestError(409, message) from None

    def _said(self, current, dropped):
        if self.teaching_off is not None:
            return f"Teaching is off for this model: {self.teaching_off}."
        said = _copy_said(current, self.copies.shared, dropped)
        if self.save_to is not None and current.lessons:
            said = f"{said[:-1]}; saved to {Path(self.save_to).name}."
        return said


def _copy_said(current, shared, dropped):
    """One sentence on whose copy a page reads with, and what teaching changed."""
    lessons = f"{current.lessons} lesson{'' if current.lessons == 1 else 's'}"
    if shared:
        whose = "The server's shared copy (every visitor reads with it)"
    else:
        whose = "This browser's copy"
    if dropped is not None:
        return (
            f"This browser's copy was dropped {dropped}: it reads with the original model "
            "again; the model file is unchanged."
        )
    if current.lessons == 0:
        return f"{whose}: the original model, no lessons; the model file is unchanged."
    return f"{whose}: {lessons}; the model file is unchanged."


def _reading(current, x):
    """A copy's reading of a prepared drawing ``x``."""
    model = current.model
    proba = model.predict_proba(x[np.newaxis])[0]
    return {
        "prediction": plain(model.classes_[int(np.argmax(proba))]),
        "probabilities": [float(p) for p in proba],
        "classes": [plain(label) for label in model.classes_],
        "input": [float(v) for v in x],
        "units": _top_units(model, x),
        "revision": current.revision,
    }


def _top_units(model, x):
    """The first hidden layer's most active units for ``x``: index and activation.

    (Their weight images are fetched once per model from ``/api/units``.)
    """
    W, b = model.coefs_[0], model.intercepts_[0]
    # einsum, not @: one row through multithreaded BLAS wakes its threads, which took
    # 8 ms on a busy 2-core machine; this single-threaded loop takes 0.1 ms.
    z = np.einsum("i,ij->j", x.astype(W.dtype), W) + b  # (units,)
    ACTIVATIONS[model.activation].forward(z)
    order = np.argsort(z)[::-1][:TOP_UNITS]
    return [
        {"unit": int(unit), "activation": float(z[unit]) if math.isfinite(z[unit]) else None}
        for unit in order
    ]
