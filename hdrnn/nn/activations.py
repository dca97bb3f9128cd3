"""Hidden-layer activation functions, each a complete record.

An :class:`Activation` carries its forward function and its derivative
together so that the two cannot drift apart. Both work in place on
preallocated arrays: the forward pass overwrites the pre-activation ``Z``
with ``A = f(Z)``, and the derivative multiplies the back-propagated error
``delta`` by ``f'(Z)``, expressed through the stored output ``A`` (which is
all that the training loop keeps).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activation:
    """A hidden-layer activation function and its derivative.

    Parameters
    ----------
    name : str
        The name used by the ``activation`` parameter of the estimator.
    forward : callable
        ``forward(Z)`` overwrites ``Z`` with ``f(Z)``.
    derivative : callable
        ``derivative(A, delta, scratch)`` multiplies ``delta`` in place by
        ``f'(z)`` where ``A = f(z)``; ``scratch`` is a buffer shaped like
        ``A`` that it may overwrite.
    """

    name: str
    forward: Callable
    derivative: Callable


def _identity(Z):
    pass


def _identity_derivative(A, delta, scratch):
    pass


def _logistic(Z):
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: overflow-free, and in place.
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z += 1.0
    Z *= 0.5


def _logistic_derivative(A, delta, scratch):
    # sigmoid'(z) = a (1 - a)
    np.subtract(1.0, A, out=scratch)
    scratch *= A
    delta *= scratch


def _tanh(Z):
    np.tanh(Z, out=Z)


def _tanh_derivative(A, delta, scratch):
    # tanh'(z) = 1 - a^2
    np.multiply(A, A, out=scratch)
    np.subtract(1.0, scratch, out=scratch)
    delta *= scratch


def _relu(Z):
    np.maximum(Z, 0.0, out=Z)


def _relu_derivative(A, delta, scratch):
    # relu'(z) is 1 where a > 0, else 0; since a >= 0, that is sign(a).
    # Multiplying by sign(a) avoids the boolean mask of delta[a == 0] = 0.
    np.sign(A, out=scratch)
    delta *= scratch


ACTIVATIONS = {
    activation.name: activation
    for activation in (
        Activation("identity", _identity, _identity_derivative),
        Activation("logistic", _logistic, _logistic_derivative),
        Activation("tanh", _tanh, _tanh_derivative),
        Activation("relu", _relu, _relu_derivative),
    )
}
"""dict of str to Activation: every hidden activation, by name."""
