"""Output layers fused with their cross-entropy loss.

The network's last layer produces ``logits``. For a softmax output the loss is
the categorical cross-entropy, for a logistic output (binary and multilabel
problems) the binary cross-entropy summed over outputs. In both cases the
gradient of the loss with respect to the logits is simply ``P - Y``; computing
the probabilities, the loss and that gradient in one pass avoids ever taking
``log(0)`` and saves the separate output-activation pass.

The mean over samples is weighted: ``scale`` holds ``w_i / sum(w)`` (or the
scalar ``1 / n`` without sample weights), so the loss is
``sum_i scale_i * loss_i`` and ``dlogits = scale * (P - Y)``.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


def log_softmax(logits):
    """Return ``log(softmax(logits))`` row by row, computed stably.

    Parameters
    ----------
    logits : ndarray of shape (n_samples, n_classes)
        Unnormalised class scores. Not modified.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        Finite log-probabilities whenever ``logits`` is finite.

    Examples
    --------
    >>> import numpy as np
    >>> from hdrnn.nn import log_softmax
    >>> np.exp(log_softmax(np.array([[0.0, 0.0]])))
    array([[0.5, 0.5]])
    """
    shifted = logits - logits.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def log_sigmoid(logits):
    """Return ``log(sigmoid(logits))`` element-wise, computed stably.

    Parameters
    ----------
    logits : ndarray
        Unnormalised scores. Not modified.

    Returns
    -------
    log_proba : ndarray
        ``-log(1 + exp(-z))``, finite whenever ``logits`` is finite.

    Examples
    --------
    >>> import numpy as np
    >>> from hdrnn.nn import log_sigmoid
    >>> float(np.exp(log_sigmoid(np.array(0.0))))
    0.5
    """
    # log sigmoid(z) = min(z, 0) - log1p(exp(-|z|)), which never overflows.
    return np.minimum(logits, 0.0) - np.log1p(np.exp(-np.abs(logits)))


def _softmax(logits):
    return np.exp(log_softmax(logits))


def _sigmoid(logits):
    return np.exp(log_sigmoid(logits))


def _softmax_cross_entropy(logits, Y, scale, dlogits, kernels=None):
    if kernels is not None and logits.shape[0]:
        return _softmax_cross_entropy_compiled(kernels, logits, Y, scale, dlogits)
    # Shifting by the row maximum makes exp() safe; the loss is unchanged.
    # (ufunc.reduce directly: the array methods' wrappers cost more than the
    # arithmetic on a batch of 128 rows)
    logits -= np.maximum.reduce(logits, axis=1, keepdims=True)
    np.exp(logits, out=dlogits)
    sum_exp = np.add.reduce(dlogits, axis=1)  # (n_samples,)
    # -sum_k Y_k log p_k = log(sum exp) - sum_k Y_k z_k, as each row of Y sums to 1
    row_losses = np.log(sum_exp) - np.einsum("ij,ij->i", Y, logits)
    dlogits /= sum_exp[:, np.newaxis]
    dlogits -= Y
    _scale_rows(dlogits, scale)
    return _weighted_sum(row_losses, scale)


def _softmax_cross_entropy_compiled(kernels, logits, Y, scale, dlogits):
    # The NumPy code's nine passes as two compiled loops around NumPy's own
    # exp and row sums, so dlogits is bit-identical; only the loss is added
    # up in another order (in float64), and may differ in its last bits.
    kernels.subtract_row_max(logits)
    np.exp(logits, out=dlogits)
    sum_exp = np.add.reduce(dlogits, axis=1)
    scale = np.asarray(scale, dtype=logits.dtype).reshape(-1)
    return kernels.softmax_cross_entropy_finish(logits, dlogits, sum_exp, Y, scale)


def _sigmoid_cross_entropy(logits, Y, scale, dlogits, kernels=None):
    # Per output: -y log p - (1-y) log(1-p) = softplus(z) - y z
    #           = max(z, 0) - y z + log1p(exp(-|z|))
    np.abs(logits, out=dlogits)
    np.negative(dlogits, out=dlogits)
    np.exp(dlogits, out=dlogits)
    np.log1p(dlogits, out=dlogits)
    elementwise = np.maximum(logits, 0.0)
    elementwise -= Y * logits
    elementwise += dlogits
    row_losses = elementwise.sum(axis=1)
    # dL/dz = sigmoid(z) - y; sigmoid through tanh avoids overflow.
    np.multiply(logits, 0.5, out=dlogits)
    np.tanh(dlogits, out=dlogits)
    dlogits += 1.0
    dlogits *= 0.5
    dlogits -= Y
    _scale_rows(dlogits, scale)
    return _weighted_sum(row_losses, scale)


def _scale_rows(array, scale):
    if getattr(scale, "ndim", 0) == 0:  # a number (np.ndim is slower)
        array *= scale
    else:
        array *= scale[:, np.newaxis]


def _weighted_sum(row_losses, scale):
    if getattr(scale, "ndim", 0) == 0:  # a number (np.ndim is slower)
        return float(np.add.reduce(row_losses)) * float(scale)
    return float(np.dot(row_losses, scale))


@dataclass(frozen=True)
class OutputLoss:
    """An output activation fused with its cross-entropy loss.

    Parameters
    ----------
    name : str
        The output activation's name, as in ``out_activation_``.
    loss_and_dlogits : callable
        ``loss_and_dlogits(logits, Y, scale, dlogits, kernels=None) -> float``:
        returns the weighted mean loss and writes ``scale * (P - Y)`` into
        ``dlogits``. ``logits`` may be overwritten. ``kernels`` are the
        compiled kernels chosen for the run (None: NumPy).
    proba : callable
        ``proba(logits)`` returns the output probabilities.
    log_proba : callable
        ``log_proba(logits)`` returns their logarithms, computed stably.
    """

    name: str
    loss_and_dlogits: Callable
    proba: Callable
    log_proba: Callable


OUTPUT_LOSSES = {
    "softmax": OutputLoss("softmax", _softmax_cross_entropy, _softmax, log_softmax),
    "logistic": OutputLoss("logistic", _sigmoid_cross_entropy, _sigmoid, log_sigmoid),
}
"""dict of str to OutputLoss: the output layers, by ``out_activation_`` name."""
