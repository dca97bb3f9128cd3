"""The NumPy core of hdrnn: a multilayer perceptron as functions over plain arrays.

This package imports nothing but NumPy and the standard library (numba,
optionally, in ``_kernels``), so the mathematics can be read, tested and
reused without scikit-learn. :mod:`hdrnn.estimator` checks the user's input,
:mod:`hdrnn._training` runs the epochs, and both call these functions. When
numba is installed, compiled loops replace the element-wise NumPy passes of a
training step (Adam's update with the L2 term, a ReLU layer's bias and
activation and their derivatives, the softmax loss), with bit-identical
weights: :func:`compiled_kernels` picks them once per run and the caller hands
them to the functions here (:mod:`hdrnn.nn._kernels`).
"""

from hdrnn.nn._kernels import compiled_kernels, kernel_status
from hdrnn.nn.activations import ACTIVATIONS, Activation
from hdrnn.nn.buffers import Workspace, draw_dropout_masks
from hdrnn.nn.epochs import (
    EpochResult,
    PlateauTracker,
    TrainingStep,
    iter_batches,
    run_epoch,
)
from hdrnn.nn.losses import OUTPUT_LOSSES, log_sigmoid, log_softmax
from hdrnn.nn.network import (
    Architecture,
    flatten,
    forward,
    init_params,
    loss_and_grads,
    unflatten,
)
from hdrnn.nn.optimizers import OPTIMIZERS, SGD, Adam
from hdrnn.nn.prediction import predict_logits
from hdrnn.nn.schedules import SCHEDULES, LearningRateSchedule

__all__ = [
    "ACTIVATIONS",
    "OPTIMIZERS",
    "OUTPUT_LOSSES",
    "Activation",
    "Adam",
    "Architecture",
    "EpochResult",
    "LearningRateSchedule",
    "SCHEDULES",
    "SGD",
    "PlateauTracker",
    "TrainingStep",
    "Workspace",
    "compiled_kernels",
    "draw_dropout_masks",
    "flatten",
    "forward",
    "init_params",
    "kernel_status",
    "iter_batches",
    "log_sigmoid",
    "log_softmax",
    "loss_and_grads",
    "predict_logits",
    "run_epoch",
    "unflatten",
]
