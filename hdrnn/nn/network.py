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
from functools import cached_property
from itertools import pairwise

import numpy as np

from hdrnn.nn.activations import ACTIVATIONS
from hdrnn.nn.losses import OUTPUT_LOSSES
from hdrnn.nn.regularization import add_l2


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

    @cached_property
    def n_coefs(self):
        """int: number of weights, which come first in the flat parameters."""
        units = self.layer_units
        return sum(units[i] * units[i + 1] for i in range(self.n_layers))

    @cached_property
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


def he_uniform_bound(fan_in):
    """Half-width of He's uniform initialisation, suited to ReLU-like units."""
    return np.sqrt(6.0 / fan_in)


def init_params(arch, rng, dtype, init="glorot"):
    """Draw initial parameters.

    With ``init="glorot"`` (the default) they are drawn exactly as
    ``MLPClassifier`` does: for each layer in turn the weights, then the
    biases, from ``U(-b, b)`` with Glorot's bound ``b``, so the same random
    state gives the same initial network as scikit-learn. With
    ``init="he"`` the weights come from ``U(-b, b)`` with
    ``b = sqrt(6 / fan_in)``, which keeps the variance of ReLU activations
    constant from layer to layer, and the biases start at zero.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    rng : numpy.random.RandomState
        Source of randomness.
    dtype : numpy dtype
        float32 or float64.
    init : {"glorot", "he"}, default="glorot"
        The initialisation rule.

    Returns
    -------
    flat : ndarray of shape (arch.n_params,)
        The parameters in the flat layout.
    """
    units = arch.layer_units
    coefs, intercepts = [], []
    for fan_in, fan_out in pairwise(units):
        if init == "he":
            bound = he_uniform_bound(fan_in)
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(np.zeros(fan_out))
        else:
            bound = glorot_uniform_bound(fan_in, fan_out, arch.activation)
            coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)))
            intercepts.append(rng.uniform(-bound, bound, fan_out))
    return flatten(arch, coefs, intercepts, dtype)


@dataclass
class BatchBuffers:
    """The per-row buffers one forward and backward pass write into.

    ``activations[i]`` is hidden layer ``i``'s output ``f(Z)`` (the last
    entry holds the logits); ``deltas[i]`` is dLoss/dZ of layer ``i``;
    ``scratch[i]`` is free space shaped like hidden layer ``i``;
    ``inputs[i]`` keeps hidden layer ``i``'s ``Z`` when the activation's
    derivative needs it (else None); ``masks[i]`` is the dropout mask of
    hidden layer ``i`` and ``dropped[i]`` its output after dropout (None
    without dropout, or per layer without it).
    """

    activations: list
    deltas: list = None
    scratch: list = None
    inputs: list = None
    masks: list = None
    dropped: list = None

    def layer_output(self, i):
        """What layer ``i + 1`` reads: hidden layer ``i``'s output after dropout."""
        if self.dropped is not None and self.dropped[i] is not None:
            return self.dropped[i]
        return self.activations[i]


def forward(arch, X, coefs, intercepts, buffers, *, kernels=None):
    """Run the network on ``X``, writing each layer's output into ``buffers``.

    Layer ``i`` computes ``Z = A @ W[i] + b[i]`` and, for the hidden layers,
    ``A = f(Z)``, where ``A`` is the previous layer's output (``X`` first).

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    X : ndarray or sparse matrix of shape (n_rows, units[0])
        Input rows.
    coefs, intercepts : list of ndarray
        Per-layer parameters.
    buffers : BatchBuffers or list of ndarray
        Where to write; a plain list is taken as ``activations``. When it
        has dropout ``masks``, each hidden output is multiplied by its mask
        into ``dropped`` (inverted dropout: the mask holds 0 or 1/(1-p)).
    kernels : SimpleNamespace or None, default=None
        The compiled kernels chosen for this run (:func:`compiled_kernels`),
        or None for the NumPy code. Both give the same numbers.

    Returns
    -------
    logits : ndarray of shape (n_rows, units[-1])
        ``buffers.activations[-1]``.
    """
    if isinstance(buffers, list):
        buffers = BatchBuffers(activations=buffers)
    hidden = ACTIVATIONS[arch.activation]
    fused_relu = kernels if arch.activation == "relu" and X.shape[0] else None
    A = X  # (n_rows, units[0])
    last = arch.n_layers - 1
    for i in range(last):  # the hidden layers
        # Z = A @ W + b, written into the layer's buffer (no temporary)
        Z = _matmul(A, coefs[i], out=buffers.activations[i])  # (n_rows, units[i + 1])
        if fused_relu is not None:
            fused_relu.add_bias_relu(Z, intercepts[i])  # the else branch in one pass
        else:
            Z += intercepts[i]
            if buffers.inputs is not None:
                buffers.inputs[i][...] = Z  # kept for derivatives that need Z, not f(Z)
            hidden.forward(Z)  # A = f(Z), in place
        if buffers.masks is not None and buffers.masks[i] is not None:
            np.multiply(Z, buffers.masks[i], out=buffers.dropped[i])  # A * mask
        A = buffers.layer_output(i)
    logits = _matmul(A, coefs[last], out=buffers.activations[last])  # (n_rows, units[-1])
    logits += intercepts[last]
    return logits


def backward(arch, X, coefs, buffers, *, coef_grads, intercept_grads, kernels=None):
    """Back-propagate ``buffers.deltas[-1]`` (dLoss/dlogits) and fill the gradients.

    For layer ``i`` with input ``A`` and error ``delta = dL/dZ``:
    ``dL/dW = A.T @ delta``, ``dL/db`` is the sum of ``delta`` over rows,
    and the error of the layer below is ``(delta @ W.T) * f'(Z_below)``.
    No gradient is computed with respect to ``X``: the input needs none.
    ``kernels`` are the compiled kernels chosen for the run, or None for NumPy.
    """
    hidden = ACTIVATIONS[arch.activation]
    kernels = kernels if X.shape[0] else None
    fused_relu = kernels if arch.activation == "relu" else None
    deltas = buffers.deltas  # deltas[i]: (n_rows, units[i + 1])
    for i in range(arch.n_layers - 1, -1, -1):
        layer_input = X if i == 0 else buffers.layer_output(i - 1)  # (n_rows, units[i])
        _matmul(layer_input.T, deltas[i], out=coef_grads[i])  # dL/dW = A.T @ delta
        if kernels is not None:
            kernels.column_sums(deltas[i], intercept_grads[i])  # same sum, same order
        else:
            np.add.reduce(deltas[i], axis=0, out=intercept_grads[i])  # dL/db = sum of delta rows
        if i > 0:
            below = deltas[i - 1]  # (n_rows, units[i])
            np.matmul(deltas[i], coefs[i].T, out=below)  # dL/dA = delta @ W.T
            if buffers.masks is not None and buffers.masks[i - 1] is not None:
                below *= buffers.masks[i - 1]  # dropped units pass no error back
            if fused_relu is not None:
                fused_relu.relu_backward(buffers.activations[i - 1], below)  # same passes, fused
                continue
            hidden.derivative(  # dL/dZ = dL/dA * f'(Z), in place
                buffers.activations[i - 1],
                below,
                buffers.scratch[i - 1],
                None if buffers.inputs is None else buffers.inputs[i - 1],
            )


def _matmul(A, B, out):
    """``A @ B`` into ``out``; ``A`` may be a scipy.sparse matrix (the input of L-BFGS)."""
    if hasattr(A, "toarray"):  # sparse @ dense is dense, but scipy has no out=
        out[...] = A @ B
        return out
    return np.matmul(A, B, out=out)


def loss_and_grads(arch, params, X, Y, *, workspace, sample_weight=None, alpha=0.0, kernels=None):
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
    X : ndarray or sparse matrix of shape (n_rows, units[0])
        The batch, in the compute dtype. Not modified.
    Y : ndarray of shape (n_rows, units[-1])
        Targets: one-hot rows for softmax, 0/1 indicators for logistic.
    workspace : Workspace
        Buffers for at least ``n_rows`` rows. When it has dropout, its
        current masks (see :func:`~hdrnn.nn.draw_dropout_masks`) are applied.
    sample_weight : ndarray of shape (n_rows,) or None, default=None
        Non-negative weights with a positive sum, or None for equal weights.
    alpha : float, default=0.0
        L2 penalty.
    kernels : SimpleNamespace or None, default=None
        The compiled kernels chosen for this run (:func:`compiled_kernels`),
        or None for the NumPy code: the same gradient, bit for bit.

    Returns
    -------
    loss : float
    grads : ndarray of shape (arch.n_params,)
        The gradient in the flat layout: ``workspace.grads``, overwritten by
        the next call (copy it to keep it).
    """
    n_rows = X.shape[0]
    weight_sum = batch_weight_sum(n_rows, sample_weight)
    # each row's share of the loss: a number, or (n_rows,) with sample weights
    scale = 1.0 / n_rows if sample_weight is None else sample_weight / weight_sum
    coefs, intercepts = workspace.views_of(params)
    buffers = workspace.rows(n_rows)
    logits = forward(arch, X, coefs, intercepts, buffers, kernels=kernels)
    output = OUTPUT_LOSSES[arch.output]
    loss = output.loss_and_dlogits(logits, Y, scale, buffers.deltas[-1], kernels)
    backward(
        arch,
        X,
        coefs,
        buffers,
        coef_grads=workspace.coef_grads,
        intercept_grads=workspace.intercept_grads,
        kernels=kernels,
    )
    if alpha:
        loss += _add_l2(arch, params, workspace, alpha / weight_sum, kernels)
    return loss, workspace.grads


def _add_l2(arch, params, workspace, penalty, kernels):
    """Add ``penalty * W`` to the weights' gradient; return the loss term ``penalty/2 ||W||^2``."""
    n_coefs = arch.n_coefs
    grads = workspace.grads[:n_coefs]
    return add_l2(params[:n_coefs], grads, penalty, workspace.l2_scratch, kernels)


def batch_weight_sum(n_rows, sample_weight):
    """The batch's total sample weight (its size when unweighted), the loss's denominator."""
    return n_rows if sample_weight is None else float(sample_weight.sum())
