"""hdrnn: handwritten-digit recognition with a NumPy multilayer perceptron.

A scikit-learn compatible :class:`DigitMLPClassifier` whose forward pass,
backpropagation and optimizers are plain NumPy (see :mod:`hdrnn.nn`).
"""

from hdrnn.datasets import load_mnist, read_idx
from hdrnn.estimator import DigitMLPClassifier
from hdrnn.exceptions import (
    DataScaleWarning,
    DatasetIntegrityError,
    DatasetUnavailableError,
    IDXFormatError,
    ModelFileError,
    ModelFormatWarning,
    TrainingDivergedError,
    TrainingInterruptedWarning,
)
from hdrnn.persistence import load, save

__version__ = "0.1.0"

__all__ = [
    "DataScaleWarning",
    "DatasetIntegrityError",
    "DatasetUnavailableError",
    "DigitMLPClassifier",
    "IDXFormatError",
    "ModelFileError",
    "ModelFormatWarning",
    "TrainingDivergedError",
    "TrainingInterruptedWarning",
    "__version__",
    "load",
    "load_mnist",
    "read_idx",
    "save",
]
