"""Hidden-layer activation functions, each a complete record.

An :class:`Activation` carries its forward function and its derivative
together so that the two cannot drift apart. Both work in place on
preallocated arrays: the forward pass overwrites the pre-activation ``Z``
with ``A = f(Z)``, and the derivative multiplies the back-propagated error
``delta`` by ``f'(Z)``. Where ``f'`` can be written through the output
``A`` it is, so training keeps only ``A``; GELU, whose derivative cannot,
sets ``needs_input`` and the training loop keeps a copy of ``Z`` for it.

Each record also carries its ONNX form (:mod:`hdrnn.onnx` exports it), so an
activation is added in one place: its forward, its derivative and its graph.
The core imports no ONNX package for that: the form is written against a
graph writer handed in (``graph.node(op_type, inputs)``).
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
        ``derivative(A, delta, scratch, Z)`` multiplies ``delta`` in place by
        ``f'(Z)`` where ``A = f(Z)``; ``scratch`` is a buffer shaped like
        ``A`` that it may overwrite. ``Z`` is None unless ``needs_input``.
    onnx : callable
        ``onnx(graph, z, number) -> str``: adds ``f(z)`` as ONNX nodes to
        ``graph`` (a writer with ``node(op_type, inputs, **attributes)``
        returning the output's name) and returns the output's name;
        ``number(hint, value)`` names a scalar constant in the model's dtype.
    needs_input : bool, default=False
        Whether the derivative needs the pre-activation ``Z``.
    """

    name: str
    forward: Callable
    derivative: Callable
    onnx: Callable
    needs_input: bool = False


def _identity(Z):
    pass


def _identity_derivative(A, delta, scratch, Z):
    pass


def _identity_onnx(graph, z, number):
    return z


def _logistic(Z):
    # sigmoid(z) = (1 + tanh(z / 2)) / 2: overflow-free, and in place.
    Z *= 0.5
    np.tanh(Z, out=Z)
    Z += 1.0
    Z *= 0.5


def _logistic_derivative(A, delta, scratch, Z):
    # sigmoid'(z) = a (1 - a)
    np.subtract(1.0, A, out=scratch)
    scratch *= A
    delta *= scratch


def _logistic_onnx(graph, z, number):
    return graph.node("Sigmoid", [z])


def _tanh(Z):
    np.tanh(Z, out=Z)


def _tanh_derivative(A, delta, scratch, Z):
    # tanh'(z) = 1 - a^2
    np.multiply(A, A, out=scratch)
    np.subtract(1.0, scratch, out=scratch)
    delta *= scratch


def _tanh_onnx(graph, z, number):
    return graph.node("Tanh", [z])


def _relu(Z):
    np.maximum(Z, 0.0, out=Z)


def _relu_derivative(A, delta, scratch, Z):
    # relu'(z) is 1 where a > 0, else 0; since a >= 0, that is sign(a).
    # Multiplying by sign(a) avoids the boolean mask of delta[a == 0] = 0.
    np.sign(A, out=scratch)
    delta *= scratch


def _relu_onnx(graph, z, number):
    return graph.node("Relu", [z])


# Slope of leaky ReLU for negative inputs (PyTorch's and Keras' default).
LEAKY_SLOPE = 0.01


def _leaky_relu(Z):
    # max(z, 0.01 z) is z for z >= 0 and 0.01 z below: one pass, no mask.
    np.maximum(Z, LEAKY_SLOPE * Z, out=Z)


def _leaky_relu_derivative(A, delta, scratch, Z):
    # f'(z) is 1 where a > 0 and 0.01 elsewhere (a has the sign of z).
    np.greater(A, 0.0, out=scratch)
    scratch *= 1.0 - LEAKY_SLOPE
    scratch += LEAKY_SLOPE
    delta *= scratch


def _leaky_relu_onnx(graph, z, number):
    # max(z, 0.01 z), as the forward pass computes it
    return graph.node("Max", [z, graph.node("Mul", [z, number("leaky_slope", LEAKY_SLOPE)])])


def _elu(Z):
    # z for z > 0, exp(z) - 1 below (alpha = 1); expm1 is exact near 0.
    np.expm1(Z, out=Z, where=Z < 0.0)


def _elu_derivative(A, delta, scratch, Z):
    # f'(z) is 1 for z > 0 and exp(z) = a + 1 below; min(a, 0) + 1 covers both.
    np.minimum(A, 0.0, out=scratch)
    scratch += 1.0
    delta *= scratch


def _elu_onnx(graph, z, number):
    # z above 0, exp(z) - 1 below
    below = graph.node("Less", [z, number("zero", 0.0)])
    exp_minus_one = graph.node("Sub", [graph.node("Exp", [z]), number("one", 1.0)])
    return graph.node("Where", [below, exp_minus_one, z])


# The tanh form of GELU: sqrt(2 / pi), and the weight of its cubic term.
GELU_C = 0.7978845608028654
GELU_CUBIC = 0.044715


# GELU allocates one temporary per call (its forward has no scratch buffer);
# it is the only activation that does.
def _gelu(Z):
    # Hendrycks & Gimpel's tanh approximation (PyTorch's approximate="tanh"):
    # f(z) = z/2 (1 + tanh(c (z + 0.044715 z^3)))
    inner = np.multiply(Z, Z)
    inner *= GELU_CUBIC
    inner += 1.0
    inner *= Z
    inner *= GELU_C
    np.tanh(inner, out=inner)
    inner += 1.0
    inner *= 0.5
    Z *= inner


def _gelu_derivative(A, delta, scratch, Z):
    # With u = c (z + 0.044715 z^3) and t = tanh(u):
    # f'(z) = (1 + t) / 2 + z/2 (1 - t^2) c (1 + 3 * 0.044715 z^2)
    u = np.multiply(Z, Z)
    u *= GELU_CUBIC
    u += 1.0
    u *= Z
    u *= GELU_C
    t = np.tanh(u, out=u)
    np.multiply(t, t, out=scratch)
    np.subtract(1.0, scratch, out=scratch)  # 1 - t^2
    scratch *= Z
    scratch *= 0.5 * GELU_C
    z2 = np.multiply(Z, Z)
    z2 *= 3 * GELU_CUBIC
    z2 += 1.0
    scratch *= z2
    t += 1.0
    t *= 0.5
    scratch += t
    delta *= scratch


def _gelu_onnx(graph, z, number):
    # z/2 (1 + tanh(c (z + 0.044715 z^3)))
    cube = graph.node("Mul", [graph.node("Mul", [z, z]), z])
    inner = graph.node("Add", [z, graph.node("Mul", [cube, number("gelu_cubic", GELU_CUBIC)])])
    t = graph.node("Tanh", [graph.node("Mul", [inner, number("gelu_c", GELU_C)])])
    half_z = graph.node("Mul", [z, number("half", 0.5)])
    return graph.node("Mul", [half_z, graph.node("Add", [t, number("one", 1.0)])])


ACTIVATIONS = {
    activation.name: activation
    for activation in (
        Activation("identity", _identity, _identity_derivative, _identity_onnx),
        Activation("logistic", _logistic, _logistic_derivative, _logistic_onnx),
        Activation("tanh", _tanh, _tanh_derivative, _tanh_onnx),
        Activation("relu", _relu, _relu_derivative, _relu_onnx),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative, _leaky_relu_onnx),
        Activation("elu", _elu, _elu_derivative, _elu_onnx),
        Activation("gelu", _gelu, _gelu_derivative, _gelu_onnx, needs_input=True),
    )
}
"""dict of str to Activation: every hidden activation, by name."""
