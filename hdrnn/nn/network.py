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

from hdrnn.nn import _kernels
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
    dropout : sequence of float or None, default=None
        Dropout rate of each hidden layer; buffers for the masks and the
        dropped-out activations are allocated for the layers with a
        positive rate.
    n_input_buffers : int, default=1
        Input batch buffers; 3 let a background thread prepare batches
        ahead (see :func:`~hdrnn.nn.training.run_epoch`).
    """

    def __init__(self, arch, batch_size, dtype, dropout=None, n_input_buffers=1):
        self.arch = arch
        self.batch_size = batch_size
        units = arch.layer_units
        hidden_units = units[1:-1]
        rates = tuple(dropout) if dropout is not None else (0.0,) * len(hidden_units)
        self.dropout = rates
        # masks[i] and dropped[i] (layer i's output after dropout) exist only
        # for hidden layers with a positive rate.
        self.masks = [
            np.empty((batch_size, n), dtype=dtype) if p else None
            for n, p in zip(hidden_units, rates)
        ]
        self.dropped = [
            np.empty((batch_size, n), dtype=dtype) if p else None
            for n, p in zip(hidden_units, rates)
        ]
        # Pre-activations, kept only for activations whose derivative needs them.
        keep_inputs = ACTIVATIONS[arch.activation].needs_input
        self.inputs = (
            [np.empty((batch_size, n), dtype=dtype) for n in hidden_units] if keep_inputs else None
        )
        self.X_buffers = [
            np.empty((batch_size, units[0]), dtype=dtype) for _ in range(n_input_buffers)
        ]
        self.X = self.X_buffers[0]
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
        self._full_batch = self._cut(batch_size)
        self._viewed_params = self._param_views = None

    def views_of(self, params):
        """Return :func:`unflatten`'s views of ``params``, cached for the same array.

        The training loop passes one parameter array batch after batch; the
        cache saves rebuilding six views per batch.
        """
        if params is not self._viewed_params:
            self._param_views = unflatten(self.arch, params)
            self._viewed_params = params
        return self._param_views

    @property
    def has_dropout(self):
        """bool: whether any hidden layer drops units."""
        return any(self.dropout)

    def rows(self, n_rows):
        """Per-row buffers cut to the first ``n_rows`` rows, as a :class:`BatchBuffers`."""
        if n_rows == self.batch_size:
            return self._full_batch  # built once: most batches are full
        return self._cut(n_rows)

    def _cut(self, n_rows):
        def cut_all(buffers):
            if buffers is None:
                return None
            return [None if b is None else b[:n_rows] for b in buffers]

        return BatchBuffers(
            activations=cut_all(self.activations),
            deltas=cut_all(self.deltas),
            scratch=cut_all(self.scratch),
            inputs=cut_all(self.inputs),
            masks=cut_all(self.masks) if self.has_dropout else None,
            dropped=cut_all(self.dropped) if self.has_dropout else None,
        )


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


def forward(arch, X, coefs, intercepts, buffers):
    """Run the network on ``X``, writing each layer's output into ``buffers``.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    X : ndarray of shape (n_rows, units[0])
        Input rows.
    coefs, intercepts : list of ndarray
        Per-layer parameters.
    buffers : BatchBuffers or list of ndarray
        Where to write; a plain list is taken as ``activations``. When it
        has dropout ``masks``, each hidden output is multiplied by its mask
        into ``dropped`` (inverted dropout: the mask holds 0 or 1/(1-p)).

    Returns
    -------
    logits : ndarray of shape (n_rows, units[-1])
        ``buffers.activations[-1]``.
    """
    if isinstance(buffers, list):
        buffers = BatchBuffers(activations=buffers)
    hidden = ACTIVATIONS[arch.activation]
    A = X
    last = arch.n_layers - 1
    for i in range(last):  # the hidden layers
        Z = _matmul(A, coefs[i], out=buffers.activations[i])  # (n_rows, units[i + 1])
        Z += intercepts[i]
        if buffers.inputs is not None:
            buffers.inputs[i][...] = Z
        hidden.forward(Z)
        if buffers.masks is not None and buffers.masks[i] is not None:
            np.multiply(Z, buffers.masks[i], out=buffers.dropped[i])
        A = buffers.layer_output(i)
    logits = _matmul(A, coefs[last], out=buffers.activations[last])  # (n_rows, units[-1])
    logits += intercepts[last]
    return logits


def backward(arch, X, coefs, buffers, coef_grads, intercept_grads):
    """Back-propagate ``buffers.deltas[-1]`` (dLoss/dlogits) and fill the gradients.

    No gradient is computed with respect to ``X``: the input layer needs none.
    """
    hidden = ACTIVATIONS[arch.activation]
    deltas = buffers.deltas
    for i in range(arch.n_layers - 1, -1, -1):
        layer_input = X if i == 0 else buffers.layer_output(i - 1)
        _matmul(layer_input.T, deltas[i], out=coef_grads[i])  # dL/dW = input^T deltas
        np.add.reduce(deltas[i], axis=0, out=intercept_grads[i])  # np.sum minus its wrapper
        if i > 0:
            np.matmul(deltas[i], coefs[i].T, out=deltas[i - 1])
            if buffers.masks is not None and buffers.masks[i - 1] is not None:
                deltas[i - 1] *= buffers.masks[i - 1]  # dropped units pass no error back
            hidden.derivative(
                buffers.activations[i - 1],
                deltas[i - 1],
                buffers.scratch[i - 1],
                None if buffers.inputs is None else buffers.inputs[i - 1],
            )


def _matmul(A, B, out):
    """``A @ B`` into ``out``; ``A`` may be a scipy.sparse matrix (the input of L-BFGS)."""
    if hasattr(A, "toarray"):  # sparse @ dense is dense, but scipy has no out=
        out[...] = A @ B
        return out
    return np.matmul(A, B, out=out)


def draw_dropout_masks(workspace, n_rows, rng):
    """Fill the workspace's dropout masks for a batch of ``n_rows`` rows.

    Each entry is ``1 / (1 - p)`` with probability ``1 - p`` and 0 otherwise
    (inverted dropout), so the expected activation is unchanged and nothing
    needs rescaling at prediction time.

    Parameters
    ----------
    workspace : Workspace
        Its ``dropout`` rates say which layers get masks.
    n_rows : int
        Rows in the batch.
    rng : numpy.random.Generator
        Source of the masks.
    """
    for mask, rate in zip(workspace.masks, workspace.dropout):
        if mask is None:
            continue
        mask = mask[:n_rows]
        rng.random(out=mask, dtype=mask.dtype)  # U[0, 1)
        # floor(u + 1 - p) is 1 exactly when u >= p: a Bernoulli(1 - p)
        # draw in place, without a boolean temporary.
        mask += 1.0 - rate
        np.floor(mask, out=mask)
        mask *= 1.0 / (1.0 - rate)


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
    X : ndarray or sparse matrix of shape (n_rows, units[0])
        The batch, in the compute dtype. Not modified.
    Y : ndarray of shape (n_rows, units[-1])
        Targets: one-hot rows for softmax, 0/1 indicators for logistic.
    sample_weight : ndarray of shape (n_rows,) or None
        Non-negative weights with a positive sum, or None for equal weights.
    alpha : float
        L2 penalty.
    workspace : Workspace
        Buffers for at least ``n_rows`` rows. On return,
        ``workspace.grads`` holds the gradient in the flat layout. When it
        has dropout, its current masks (see :func:`draw_dropout_masks`) are
        applied.

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
    coefs, intercepts = workspace.views_of(params)
    buffers = workspace.rows(n_rows)
    logits = forward(arch, X, coefs, intercepts, buffers)
    loss = OUTPUT_LOSSES[arch.output].loss_and_dlogits(logits, Y, scale, buffers.deltas[-1])
    backward(arch, X, coefs, buffers, workspace.coef_grads, workspace.intercept_grads)
    if alpha:
        flat_coefs = params[: arch.n_coefs]
        coef_grads = workspace.grads[: arch.n_coefs]
        penalty = alpha / weight_sum
        kernels = _kernels.get()
        if kernels is not None:
            # one compiled pass for the sum of squares and the gradient (a bit-identical
            # gradient; the sum is added up in another order, so the loss may differ
            # in its last bits)
            squares = kernels.add_l2_gradient(flat_coefs, coef_grads, params.dtype.type(penalty))
        else:
            squares = float(np.dot(flat_coefs, flat_coefs))
            # grads += penalty * W, through a scratch buffer instead of a temporary
            np.multiply(flat_coefs, penalty, out=workspace.l2_scratch)
            coef_grads += workspace.l2_scratch
        loss += 0.5 * penalty * squares
    return loss


def predict_logits(arch, X, coefs, intercepts, finite_check=None):
    """Return the logits for ``X``, computed in chunks with fresh buffers.

    Allocates its own arrays on every call, so concurrent calls on one
    model are safe.

    Parameters
    ----------
    arch : Architecture
        The network's shape.
    X : ndarray or sparse matrix of shape (n_samples, units[0])
        Input rows. Sparse input is densified, and input of another dtype
        cast to the parameters' (e.g. float64 pixels for a float32 model),
        one chunk at a time: no full-size copy of ``X`` is made.
    coefs, intercepts : list of ndarray
        Per-layer parameters.
    finite_check : callable, default=None
        When given, dense chunks whose sum is not finite are passed to it
        (as they are in ``X``): it should raise if they hold NaN or
        infinity. Checking the chunk just cast, while it is in cache, saves
        a separate pass over all of ``X``.

    Returns
    -------
    logits : ndarray of shape (n_samples, units[-1])
    """
    dtype = coefs[0].dtype
    n_samples = X.shape[0]
    logits = np.empty((n_samples, arch.layer_units[-1]), dtype=dtype)
    chunk = min(PREDICT_CHUNK_ROWS, max(n_samples, 1))
    activations = [np.empty((chunk, n), dtype=dtype) for n in arch.layer_units[1:]]
    sparse = hasattr(X, "toarray")
    cast = None if sparse or X.dtype == dtype else np.empty((chunk, X.shape[1]), dtype=dtype)
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        X_chunk = X[start:stop]
        if sparse:
            X_chunk = X_chunk.toarray().astype(dtype, copy=False)
        elif cast is not None:
            # chunk by chunk, so the cast stays in cache and X is never copied whole
            np.copyto(cast[: stop - start], X_chunk, casting="same_kind")
            X_chunk = cast[: stop - start]
        if finite_check is not None and not sparse:
            # NaN and infinity make the sum non-finite; so may huge finite
            # values, which the check then lets through.
            if not np.isfinite(np.add.reduce(X_chunk, axis=None)):
                finite_check(X[start:stop])
        rows = [buffer[: stop - start] for buffer in activations]
        logits[start:stop] = forward(arch, X_chunk, coefs, intercepts, rows)
    return logits
