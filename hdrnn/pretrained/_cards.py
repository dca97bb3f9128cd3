"""The shipped models' cards, and loading a shipped model after checking it against its card."""

import hashlib
import json
from dataclasses import dataclass, fields
from importlib import resources

from hdrnn.exceptions import ModelFileError
from hdrnn.persistence import load, load_with_metadata

# The shipped models, by name: each is <name>.hdrnn with its card <name>.json.
SHIPPED = ("mnist", "segments", "strips")


@dataclass(frozen=True)
class ModelCard:
    """What a shipped model is, where its weights came from and how well it reads.

    Attributes
    ----------
    name : str
        What :func:`load_pretrained` takes.
    summary : str
        One line: what the model is for.
    architecture : str
        Layer sizes and activation, e.g. ``"784-1024-256-10 relu"``.
    training_data : str
        What it was trained on.
    recipe : dict
        The exact :class:`~hdrnn.DigitMLPClassifier` parameters and the
        training schedule (epochs, seeds) the build script used.
    seed : int
        The seed of the build.
    training_time : str
        How long training took, and on which machine (CPU, cores).
    sha256 : str
        The SHA-256 of the shipped model file.
    accuracy : dict
        Accuracy by test set, the headline first: for ``"mnist"``,
        ``"mnist_test"`` (the 10 000 MNIST test digits) and the non-MNIST
        handwriting sets (strokes, fonts, photos); for ``"segments"``, its
        candidates from numbers of MNIST test digits, and numbers read
        exactly without and with it (``"strips"`` alike).
    weaknesses : list of str
        What it is known to get wrong.
    weights_licence : str
        The licence of the weights (not of hdrnn's code) and its attribution.
    built_with : str
        The hdrnn, NumPy and Python versions of the build.
    """

    name: str
    summary: str
    architecture: str
    training_data: str
    recipe: dict
    seed: int
    training_time: str
    sha256: str
    accuracy: dict
    weaknesses: list
    weights_licence: str
    built_with: str

    def as_text(self):
        """The card as lines of text, as ``hdrnn info --pretrained`` prints it."""
        accuracy = ", ".join(f"{value:.2%} on {name}" for name, value in self.accuracy.items())
        rows = [
            ("model", f"{self.name}: {self.summary}"),
            ("architecture", self.architecture),
            ("trained on", self.training_data),
            ("recipe", json.dumps(self.recipe, sort_keys=True)),
            ("seed", str(self.seed)),
            ("training time", self.training_time),
            ("accuracy", accuracy),
            ("weaknesses", "; ".join(self.weaknesses)),
            ("weights licence", self.weights_licence),
            ("file sha256", self.sha256),
            ("built with", self.built_with),
        ]
        return "\n".join(f"{label + ':':<17}{value}" for label, value in rows)


def _files():
    return resources.files("hdrnn.pretrained")


def _card_from_json(name, text):
    document = json.loads(text)
    expected = {field.name for field in fields(ModelCard)}
    if set(document) != expected:
        raise ModelFileError(
            f"The card of the shipped model {name!r} does not hold the fields "
            f"{sorted(expected)}: the installation is damaged. Reinstall hdrnn."
        )
    return ModelCard(**document)


def pretrained_models():
    """Return the cards of the models shipped with hdrnn.

    Returns
    -------
    cards : dict of str to ModelCard
        By name, the argument :func:`load_pretrained` takes.

    Examples
    --------
    >>> from hdrnn import pretrained_models
    >>> card = pretrained_models()["mnist"]
    >>> card.accuracy["mnist_test"] > 0.99
    True
    """
    return {name: _card(name) for name in SHIPPED}


def _card(name):
    return _card_from_json(name, (_files() / f"{name}.json").read_text())


def load_pretrained(name="mnist", *, with_metadata=False):
    """Return a shipped model, fitted and ready to read digits.

    The file is checked against the SHA-256 on its card, then loaded with
    :func:`hdrnn.load`, which checks everything in it: a shipped file is
    trusted no more than any other. Works offline, with no optional extra.

    Parameters
    ----------
    name : str, default="mnist"
        A key of :func:`pretrained_models`.
    with_metadata : bool, default=False
        Also return the file's description, as
        :func:`hdrnn.persistence.load_with_metadata` does.

    Returns
    -------
    model : DigitMLPClassifier
        Reads 28x28 images prepared like MNIST's
        (:func:`hdrnn.preprocessing.prepare_digit_image`), but for
        ``"strips"`` (below); its card is
        ``pretrained_models()[name]``. ``"mnist"`` has the classes 0-9;
        ``"segments"``, reading's verifier, has an eleventh, 10 (not one
        whole digit); ``"strips"``, reading's strip reader, reads windows of 28x32
        pixels along a stroke (896 features), classes 0-9 for the digit
        centred in the window and 10 for none. With ``with_metadata``, a pair
        ``(model, metadata)``.

    Raises
    ------
    ValueError
        If no model of that name is shipped.
    ModelFileError
        If the file does not match its card (a damaged or modified
        installation) or fails the loader's checks.

    Examples
    --------
    >>> import numpy as np
    >>> from hdrnn import load_pretrained
    >>> from hdrnn.preprocessing import prepare_digit_image
    >>> model = load_pretrained()
    >>> paper = np.full((100, 70), 255, dtype=np.uint8)
    >>> paper[15:85, 30:40] = 0  # one dark vertical stroke
    >>> int(model.predict(prepare_digit_image(paper).reshape(1, -1))[0])
    1
    """
    if name not in SHIPPED:
        raise ValueError(
            f"No shipped model is called {name!r}; the shipped models are {list(SHIPPED)} "
            "(hdrnn.pretrained_models() describes them)."
        )
    card = _card(name)
    with resources.as_file(_files() / f"{name}.hdrnn") as path:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != card.sha256:
            raise ModelFileError(
                f"The shipped model file {path} does not match its card (SHA-256 {digest[:16]}..., "
                f"card {card.sha256[:16]}...): the installation is damaged or was modified. "
                "Reinstall hdrnn (pip install --force-reinstall hdrnn)."
            )
        return load_with_metadata(path) if with_metadata else load(path)
