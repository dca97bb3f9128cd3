"""hdrnn: handwritten-digit recognition with a NumPy multilayer perceptron.

A scikit-learn compatible :class:`DigitMLPClassifier` whose forward pass,
backpropagation and optimizers are plain NumPy (see :mod:`hdrnn.nn`).
"""

from hdrnn._version import __version__
from hdrnn.datasets import load_mnist, read_idx
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.exceptions import (
    DataScaleWarning,
    DatasetIntegrityError,
    DatasetUnavailableError,
    IDXFormatError,
    IncompatibleModelError,
    ModelFileError,
    ModelFormatWarning,
    ModelVersionWarning,
    TrainingDivergedError,
    TrainingInterruptedWarning,
    UnsafeModelError,
)
from hdrnn.persistence import load, save
from hdrnn.pretrained import load_pretrained, pretrained_models
from hdrnn.reading import Reading, read_grid, read_number

__all__ = [
    "DataScaleWarning",
    "DatasetIntegrityError",
    "DatasetUnavailableError",
    "DigitMLPClassifier",
    "IDXFormatError",
    "IncompatibleModelError",
    "ModelFileError",
    "ModelFormatWarning",
    "ModelVersionWarning",
    "Reading",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "UnsafeModelError",
    "__version__",
    "load",
    "load_pretrained",
    "load_mnist",
    "pretrained_models",
    "read_grid",
    "read_idx",
    "read_number",
    "save",
]
