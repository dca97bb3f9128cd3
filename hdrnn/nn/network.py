"""The multilayer perceptron: parameters, forward pass and backpropagation.

All parameters live in one flat vector, laid out like scikit-learn's
``_pack``: every weight matrix (row-major), then every bias vector.
``coefs`` and ``intercepts`` are views into it, so an optimizer updates the
whole network in a few passes over one array and L-BFGS needs no packing.

Notation: layer ``i`` maps ``A[i]`` of shape ``(n, units[i])`` to
``Z = A[i] @ W[i] + b[i]``; hidden layers apply the activation in place,
``A[i+1] = f(Z)``; the last ``Z`` are the ``logits``.
"""

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from hdrnn.nn.activations import ACTIVATIONS
from hdrnn.nn.losses import OUTPUT_LOSSES

# Rows per forward pass in prediction: keeps memory bounded for huge X
# while the matrices stay large enough for BLAS to run at full speed.
PREDICT_CHUNK_ROWS = 4096


@dataclass(frozen=True)
class Architecture:
    """What a network is made of, independent of its parameter values.

    Parameters
    ----------
    layer_units : tuple of int
        Units per layer, input and output layers included, e.g.
        ``(784, 128, 64, 10)``.
    activation : str
        Hidden-layer activation, a key of :data:`~hdrnn.nn.ACTIVATIONS`.
    output : str
        Output layer and loss, a key of :data:`~hdrnn.nn.OUTPUT_LOSSES`
        (``"softmax"`` or ``"logistic"``).
    """

    layer_units: tuple
    activation: str
    output: str

    @property
    def n_layers(self):
        """int: number of weight layers (one less than ``len(layer_units)``)."""
        return len(self.layer_units) - 1

    @property
    def n_coefs(self):
        """int: number of weights, which come first in the flat parameters."""
        units = self.layer_units
        return sum(units[i] * units[i + 1] for i in range(self.n_layers))

    @property
    def n_params(self):
        """int: number of weights and biases."""
        return self.n_coefs + sum(self.layer_units[1:])


def unflatten(arch, flat):
    """Return views of ``flat`` as per-layer weight matrices and bias vectors.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    flat : ndarray of shape (arch.n_params,)
        Parameters (or gradients) in the flat layout.

    Returns
    -------
    coefs : list of ndarray
        ``coefs[i]`` of shape ``(units[i], units[i + 1])``, a view of ``flat``.
    intercepts : list of ndarray
        ``intercepts[i]`` of shape ``(units[i + 1],)``, a view of ``flat``.
    """
    units = arch.layer_units
    coefs, intercepts = [], []
    start = 0
    for fan_in, fan_out in pairwise(units):
        coefs.append(flat[start : start + fan_in * fan_out].reshape(fan_in, fan_out))
        start += fan_in * fan_out
    for fan_out in units[1:]:
        intercepts.append(flat[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def flatten(arch, coefs, intercepts, dtype):
    """Copy per-layer parameters into a new flat vector of ``dtype``."""
    flat = np.empty(arch.n_params, dtype=dtype)
    flat_coefs, flat_intercepts = unflatten(arch, flat)
    for target, source in zip(flat_coefs + flat_intercepts, coefs + intercepts):
        target[...] = source
    return flat


def glorot_uniform_bound(fan_in, fan_out, activation):
    """Half-width of Glorot's uniform initialisation (as in MLPClassifier)."""
    factor = 2.0 if activation == "logistic" else 6.0
    return np.sqrt(factor / (fan_in + fan_out))


def init_params(arch, rng, dtype):
    """Draw initial parameters exactly as ``MLPClassifier`` does.

    For each layer in turn the weights, then the biases, are drawn from
    ``U(-b, b)`` with Glorot's bound ``b``, so the same random state gives
    the same initial network as scikit-learn.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    rng : numpy.random.RandomState
        Source of randomness.
    dtype : numpy dtype
        float32 or float64.

    Returns
    -------
    flat : ndarray of shape (arch.n_params,)
        The parameters in the flat layout.
    """
    units = arch.layer_units
    coefs, intercepts = [], []
    for fan_in, fan_out in pairwise(units):
        bound = glorot_uniform_bound(fan_in, fan_out, arch.activation)
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
        intercepts.append(rng.uniform(-bound, bound, fan_out))
    return flatten(arch, coefs, intercepts, dtype)


class Workspace:
    """Preallocated buffers for training on mini-batches of up to ``batch_size``.

    Allocating once and writing every intermediate with ``out=`` keeps the
    training loop free of per-batch allocations.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    batch_size : int
        Largest number of rows a batch will have.
    dtype : numpy dtype
        The compute dtype, float32 or float64.
    """

    def __init__(self, arch, batch_size, dtype):
        self.arch = arch
        self.batch_size = batch_size
        units = arch.layer_units
        self.X = np.empty((batch_size, units[0]), dtype=dtype)
        self.Y = np.empty((batch_size, units[-1]), dtype=dtype)
        self.sample_weight = np.empty(batch_size, dtype=dtype)
        # activations[i + 1] holds layer i's output; the last one the logits.
        self.activations = [np.empty((batch_size, n), dtype=dtype) for n in units[1:]]
        # deltas[i] is dLoss/dZ of layer i; the last one holds dlogits.
        self.deltas = [np.empty((batch_size, n), dtype=dtype) for n in units[1:]]
        self.scratch = [np.empty((batch_size, n), dtype=dtype) for n in units[1:-1]]
        self.grads = np.empty(arch.n_params, dtype=dtype)
        self.coef_grads, self.intercept_grads = unflatten(arch, self.grads)
        self.l2_scratch = np.empty(arch.n_coefs, dtype=dtype)

    def rows(self, n_rows):
        """Views of the per-row buffers cut to the first ``n_rows`` rows."""
        if n_rows == self.batch_size:
            return self.activations, self.deltas, self.scratch
        return tuple(
            [buffer[:n_rows] for buffer in buffers]
            for buffers in (self.activations, self.deltas, self.scratch)
        )


def forward(arch, X, coefs, intercepts, activations):
    """Run the network on ``X``, writing each layer's output into ``activations``.

    Returns the logits, i.e. ``activations[-1]``.
    """
    hidden = ACTIVATIONS[arch.activation]
    A = X
    last = arch.n_layers - 1
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        Z = np.matmul(A, W, out=activations[i])  # (n_samples, units[i + 1])
        Z += b
        if i < last:
            hidden.forward(Z)
        A = Z
    return A


def backward(arch, X, coefs, activations, deltas, scratch, coef_grads, intercept_grads):
    """Back-propagate ``deltas[-1]`` (dLoss/dlogits) and fill the gradients.

    No gradient is computed with respect to ``X``: the input layer needs none.
    """
    hidden = ACTIVATIONS[arch.activation]
    for i in range(arch.n_layers - 1, -1, -1):
        layer_input = X if i == 0 else activations[i - 1]
        np.matmul(layer_input.T, deltas[i], out=coef_grads[i])
        np.sum(deltas[i], axis=0, out=intercept_grads[i])
        if i > 0:
            np.matmul(deltas[i], coefs[i].T, out=deltas[i - 1])
            hidden.derivative(activations[i - 1], deltas[i - 1], scratch[i - 1])


def loss_and_grads(arch, params, X, Y, sample_weight, alpha, workspace):
    """Compute the regularised loss on one batch and its gradient.

    The loss is ``sum_i w_i CE(x_i, y_i) / s + alpha/2 * ||W||^2 / s`` where
    ``s = sum_i w_i`` is the batch's total sample weight (its size when
    unweighted), exactly as in ``MLPClassifier``.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    params : ndarray of shape (arch.n_params,)
        Flat parameters.
    X : ndarray of shape (n_rows, units[0])
        The batch, in the compute dtype. Not modified.
    Y : ndarray of shape (n_rows, units[-1])
        Targets: one-hot rows for softmax, 0/1 indicators for logistic.
    sample_weight : ndarray of shape (n_rows,) or None
        Non-negative weights with a positive sum, or None for equal weights.
    alpha : float
        L2 penalty.
    workspace : Workspace
        Buffers for at least ``n_rows`` rows. On return,
        ``workspace.grads`` holds the gradient in the flat layout.

    Returns
    -------
    loss : float
    """
    n_rows = X.shape[0]
    if sample_weight is None:
        weight_sum = n_rows
        scale = 1.0 / n_rows
    else:
        weight_sum = float(sample_weight.sum())
        scale = sample_weight / weight_sum  # (n_rows,)
    coefs, intercepts = unflatten(arch, params)
    activations, deltas, scratch = workspace.rows(n_rows)
    logits = forward(arch, X, coefs, intercepts, activations)
    loss = OUTPUT_LOSSES[arch.output].loss_and_dlogits(logits, Y, scale, deltas[-1])
    backward(
        arch,
        X,
        coefs,
        activations,
        deltas,
        scratch,
        workspace.coef_grads,
        workspace.intercept_grads,
    )
    if alpha:
        flat_coefs = params[: arch.n_coefs]
        penalty = alpha / weight_sum
        loss += 0.5 * penalty * float(np.dot(flat_coefs, flat_coefs))
        # grads += penalty * W, through a scratch buffer instead of a temporary
        np.multiply(flat_coefs, penalty, out=workspace.l2_scratch)
        workspace.grads[: arch.n_coefs] += workspace.l2_scratch
    return loss


def predict_logits(arch, X, coefs, intercepts):
    """Return the logits for ``X``, computed in chunks with fresh buffers.

    Allocates its own arrays on every call, so concurrent calls on one
    model are safe.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    X : ndarray or sparse matrix of shape (n_samples, units[0])
        Input rows in the parameters' dtype. Sparse input is densified one
        chunk at a time.
    coefs, intercepts : list of ndarray
        Per-layer parameters.

    Returns
    -------
    logits : ndarray of shape (n_samples, units[-1])
    """
    dtype = coefs[0].dtype
    n_samples = X.shape[0]
    logits = np.empty((n_samples, arch.layer_units[-1]), dtype=dtype)
    chunk = min(PREDICT_CHUNK_ROWS, max(n_samples, 1))
    activations = [np.empty((chunk, n), dtype=dtype) for n in arch.layer_units[1:]]
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        X_chunk = X[start:stop]
        if hasattr(X_chunk, "toarray"):  # a scipy.sparse matrix
            X_chunk = X_chunk.toarray()
        rows = [buffer[: stop - start] for buffer in activations]
        logits[start:stop] = forward(arch, X_chunk, coefs, intercepts, rows)
    return logits
