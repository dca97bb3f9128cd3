"""A model that reads drawings and can be taught: what ``hdrnn serve`` serves.

:class:`Recognizer` holds the current model and answers three questions
about a drawing (an array of grey pixels from the page's canvas): what digit
it is, what the model sees (the prepared image) and which first-layer units
fire. Teaching fine-tunes a *copy* of the model on the drawing, mixed with a
replay batch of training digits so that it does not forget, and swaps the
copy in at once: a request sees the old model or the new one, never a
half-updated one. The model file it came from is never written.
"""

import copy
import math
import threading
from dataclasses import dataclass

import numpy as np

from hdrnn._utils.model_facts import architecture, input_image_shape, plain
from hdrnn.augmentation import Augmentation, BatchAugmenter
from hdrnn.nn import ACTIVATIONS
from hdrnn.persistence import save
from hdrnn.preprocessing import preparation_steps, prepare_digit_image

# First-layer units shown in the "look inside" panel.
TOP_UNITS = 8

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
    "verbose": False,
}


@dataclass(frozen=True)
class ModelFacts:
    """What the page says about the model: its shape, where it came from, how good it is."""

    architecture: str
    image_shape: tuple
    classes: list
    source: str
    accuracy: str = None

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
    info = info or {}
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
    )


class Recognizer:
    """Reads drawings with the current model and learns from corrections.

    Parameters
    ----------
    model : DigitMLPClassifier
        A fitted model whose input is a square image (28x28 or 8x8).
    facts : ModelFacts
        What to tell the page about it.
    replay : tuple of (ndarray, ndarray) or None, default=None
        Training digits ``(X, y)`` mixed into every teaching pass, so that
        the model does not forget what it knew.
    save_to : path-like or None, default=None
        Where to save the model after each teaching, atomically.
    seed : int, default=0
        Seeds the replay batches and the shifts of the taught drawing.
    """

    def __init__(self, model, facts, replay=None, save_to=None, seed=0):
        self._model = model
        self.facts = facts
        self.replay = replay
        self.save_to = save_to
        self.revision = 0  # how many drawings it has been taught
        self._teaching = threading.Lock()
        self._rng = np.random.default_rng(seed)

    @property
    def model(self):
        """The current model (replaced as a whole when taught, never changed in place)."""
        return self._model

    @property
    def info(self):
        """What a saved copy of the current model records about where it came from."""
        return _saved_info(self.facts.source, self.revision)

    def read(self, pixels):
        """What the current model makes of a drawing.

        Returns a dict: the ``prediction``, the ``probabilities`` of the
        ``classes``, the ``input`` the model saw (the prepared image), the
        first hidden layer's most active ``units`` and the model's
        ``revision``.
        """
        model, revision = self._model, self.revision  # one model for the whole answer
        x = self.prepare(pixels)
        proba = model.predict_proba(x[np.newaxis])[0]
        return {
            "prediction": plain(model.classes_[int(np.argmax(proba))]),
            "probabilities": [float(p) for p in proba],
            "classes": [plain(label) for label in model.classes_],
            "input": [float(v) for v in x],
            "units": _top_units(model, x),
            "revision": revision,
        }

    def prepare(self, pixels):
        """The model input for a drawing: the same path as ``hdrnn predict`` on a file."""
        return prepare_digit_image(pixels, self.facts.image_shape)

    def teach(self, pixels, label):
        """Fine-tune a copy of the model until it reads the drawing as ``label``; swap it in.

        Returns the new reading (as :meth:`read`) with the number of
        ``passes`` of training it took (0 if the model already read it so).
        """
        x = self.prepare(pixels)
        with self._teaching:  # one teaching at a time; readers keep reading the old model
            target = _class_of(self._model, label)
            taught = copy.deepcopy(self._model)
            own_params = {
                name: taught.get_params()[name] for name in [*TEACHING_PARAMS, "batch_size"]
            }
            taught.set_params(**TEACHING_PARAMS)
            passes = 0
            while passes < TEACH_MAX_PASSES and taught.predict(x[np.newaxis])[0] != target:
                X, y = self._teaching_rows(x, target, taught.coefs_[0].dtype)
                taught.set_params(batch_size=min(TEACH_BATCH_SIZE, len(X)))
                taught.partial_fit(X, y)
                passes += 1
            taught.set_params(**own_params)  # a saved copy trains on as the original would
            if self.save_to is not None:  # before the swap: a failed save changes nothing
                save(taught, self.save_to, info=_saved_info(self.facts.source, self.revision + 1))
            self._model, self.revision = taught, self.revision + 1
        return {**self.read(pixels), "passes": passes}

    def _teaching_rows(self, x, target, dtype):
        """The drawing, a few times slightly shifted, among replayed training digits."""
        copies = np.repeat(x[np.newaxis].astype(dtype), TEACH_COPIES, axis=0)
        shifter = BatchAugmenter(
            Augmentation(max_shift=1), self.facts.image_shape, TEACH_COPIES - 1, dtype
        )
        shifter(copies[1:], self._rng)  # the first copy as drawn
        y = np.full(TEACH_COPIES, target, dtype=self._model.classes_.dtype)
        if self.replay is None:
            return copies, y
        X_replay, y_replay = self.replay
        n_rows = min(len(X_replay), TEACH_ROWS - TEACH_COPIES)
        rows = self._rng.choice(len(X_replay), n_rows, replace=False)
        X = np.vstack([copies, X_replay[rows].astype(dtype)])
        return X, np.concatenate([y, y_replay[rows]])


def _saved_info(source, drawings_taught):
    if drawings_taught == 0:
        return {"served_from": source}
    return {"taught_from": source, "drawings_taught": drawings_taught}


def _top_units(model, x):
    """The first hidden layer's most active units for ``x``: index and activation.

    (Their weight images are fetched once per model from ``/api/units``.)
    """
    W, b = model.coefs_[0], model.intercepts_[0]
    z = x.astype(W.dtype) @ W + b  # (units,)
    ACTIVATIONS[model.activation].forward(z)
    order = np.argsort(z)[::-1][:TOP_UNITS]
    return [
        {"unit": int(unit), "activation": float(z[unit]) if math.isfinite(z[unit]) else None}
        for unit in order
    ]


def _class_of(model, label):
    """The model's class equal to ``label`` (given as a string or a number), or ValueError."""
    if isinstance(label, (str, int)) and not isinstance(label, bool):
        for cls in model.classes_:
            if str(plain(cls)) == str(label):
                return cls
    shown = repr(label) if len(repr(label)) <= 40 else repr(label)[:37] + "..."
    classes = ", ".join(str(plain(cls)) for cls in model.classes_)
    raise ValueError(f"{shown} is not one of the model's classes ({classes}).")
