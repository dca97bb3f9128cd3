"""Optional compiled kernels for a training step's element-wise passes.

In NumPy an Adam update is ten whole-array passes over the parameters (see
:class:`~hdrnn.nn.Adam`) and the L2 term three; every pass streams the
arrays through memory again. With numba installed (the ``fast`` extra,
``pip install "hdrnn[fast]"``) each becomes one compiled loop that reads
and writes every array once: 3-5 times faster (benchmarks/README.md). The
loops (``_LOOPS`` below): Adam's update with the L2 gradient added on the
way, the L2 gradient with its sum of squares, a ReLU layer's bias and
activation, ReLU's derivative, the bias gradients (column sums), the softmax
cross-entropy around NumPy's ``exp``, and prediction's cast-and-sum of each
input chunk. They perform the same floating-point operations in the same
order as the NumPy code, so the parameters come out bit-identical
(``tests/test_kernels.py``).

The kernels are chosen once per run: a training run or a prediction calls
:func:`compiled_kernels` and hands the result (or None) to every function of
the core that can use it. The NumPy code stays the reference and the
fallback: it runs when numba is missing or when the environment variable
``HDRNN_NUMBA`` is ``0``. :func:`kernel_status` says which is in use.

numba is imported, and the loops compiled (about a second, cached on
disk afterwards), only when training first needs them.
"""

import contextlib
import os
from types import SimpleNamespace

import numpy as np

_NOT_LOADED = object()
_kernels = _NOT_LOADED
_enabled = os.environ.get("HDRNN_NUMBA", "1") != "0"


def compiled_kernels():
    """Return the compiled kernels to hand to the core, or None for its NumPy code.

    Call it once per run (a fit, a prediction) and pass the result on: every
    function of :mod:`hdrnn.nn` that has a compiled form takes ``kernels=``.

    Returns
    -------
    kernels : SimpleNamespace or None
        One compiled function per entry of ``_LOOPS``; None when numba is
        not installed or ``HDRNN_NUMBA=0``.

    Examples
    --------
    >>> from hdrnn.nn import compiled_kernels
    >>> kernels = compiled_kernels()  # None without numba
    >>> kernels is None or callable(kernels.adam_step)
    True
    """
    global _kernels
    if not _enabled:
        return None
    if _kernels is _NOT_LOADED:
        _kernels = _compile()
    return _kernels


def enabled():
    """bool: whether the kernels may be used (``HDRNN_NUMBA`` is not ``0``)."""
    return _enabled


def kernel_status():
    """Say whether training and prediction use the compiled kernels, in a few words.

    Returns
    -------
    status : str
        ``"compiled kernels on (...)"``, ``"compiled kernels off
        (HDRNN_NUMBA=0)"`` or ``"training uses the NumPy code"`` (numba is
        not installed).

    Examples
    --------
    >>> from hdrnn.nn import kernel_status
    >>> kernel_status().split(" (")[0] in (
    ...     "compiled kernels on", "compiled kernels off", "training uses the NumPy code")
    True
    """
    if not _enabled:
        return "compiled kernels off (HDRNN_NUMBA=0)"
    if compiled_kernels() is None:
        return "training uses the NumPy code"
    return "compiled kernels on (Adam, L2, ReLU layers, softmax loss, prediction's input cast)"


@contextlib.contextmanager
def use_kernels(enabled):
    """Switch the compiled kernels on or off inside a ``with`` block (tests, benchmarks)."""
    global _enabled
    previous, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = previous


def _adam_step(params, grads, grad_sum, sq_grad_sum, constants, n_coefs, penalty):  # noqa: PLR0917
    # Adam.step's NumPy passes, fused: G = b1 G + g; S = b2 S + g^2;
    # p -= (G / (sqrt(S) + eps)) * step, with constants = (b1, b2, eps, step)
    # in the arrays' dtype. For the weights (the first n_coefs parameters) the
    # L2 gradient is added on the way, g = grads + penalty * W, the same sum as
    # _add_l2_gradient's; with n_coefs=0 this is the plain update.
    # (A compiled loop takes plain positional arrays and scalars, hence the noqa.)
    beta_1, beta_2, eps, step = constants
    for i in range(n_coefs):  # two loops, not a branch in one: both vectorise
        g = grads[i] + params[i] * penalty
        grad_sum[i] = beta_1 * grad_sum[i] + g
        sq_grad_sum[i] = beta_2 * sq_grad_sum[i] + g * g
        params[i] -= grad_sum[i] / (np.sqrt(sq_grad_sum[i]) + eps) * step
    for i in range(n_coefs, params.size):
        g = grads[i]
        grad_sum[i] = beta_1 * grad_sum[i] + g
        sq_grad_sum[i] = beta_2 * sq_grad_sum[i] + g * g
        params[i] -= grad_sum[i] / (np.sqrt(sq_grad_sum[i]) + eps) * step


def _sum_of_squares(values):
    # sum(values**2), added up in float64 lanes.
    total = 0.0
    for i in range(values.size):
        total += np.float64(values[i]) * np.float64(values[i])
    return total


def _add_l2_gradient(coefs, coef_grads, penalty):
    # coef_grads += penalty * coefs, and return sum(coefs**2) (in float64).
    total = 0.0
    for i in range(coefs.size):
        w = coefs[i]
        total += np.float64(w) * np.float64(w)
        coef_grads[i] += w * penalty
    return total


def _add_bias_relu(Z, bias):
    # Z = max(Z + b, 0) in one pass: NumPy's `Z += b` then `maximum(Z, 0)`.
    # `not z < 0` keeps NaN (as maximum does), so divergence is still seen.
    n_rows, n_units = Z.shape
    for i in range(n_rows):
        for j in range(n_units):
            z = Z[i, j] + bias[j]
            Z[i, j] = z if not z < 0 else 0


def _relu_backward(A, delta):
    # delta *= sign(A), the NumPy code's two passes as one.
    n_rows, n_units = A.shape
    for i in range(n_rows):
        for j in range(n_units):
            delta[i, j] = delta[i, j] * np.sign(A[i, j])


def _column_sums(delta, out):
    # np.add.reduce(delta, axis=0) adds the rows in order; so does this.
    n_rows, n_units = delta.shape
    for j in range(n_units):
        out[j] = delta[0, j]
    for i in range(1, n_rows):
        for j in range(n_units):
            out[j] += delta[i, j]


def _subtract_row_max(logits):
    # logits -= the maximum of each row (exact in any order; NaN propagates
    # as in np.maximum.reduce).
    n_rows, n_classes = logits.shape
    for i in range(n_rows):
        top = logits[i, 0]
        for k in range(1, n_classes):
            z = logits[i, k]
            if z > top or z != z:
                top = z
        for k in range(n_classes):
            logits[i, k] -= top


def _softmax_cross_entropy_finish(shifted, exp, sum_exp, Y, scale):
    # From the shifted logits, their exp and its row sums (both NumPy's), write
    # dlogits = (exp / sum_exp - Y) * scale over `exp` with the NumPy code's
    # operations in its order; return the weighted loss
    # sum_i scale_i (log sum_exp_i - Y_i . shifted_i), added up in float64.
    n_rows, n_classes = shifted.shape
    per_row = scale.size > 1
    total = 0.0
    for i in range(n_rows):
        s = scale[i] if per_row else scale[0]
        target = 0.0
        for k in range(n_classes):
            target += np.float64(Y[i, k]) * np.float64(shifted[i, k])
            exp[i, k] = (exp[i, k] / sum_exp[i] - Y[i, k]) * s
        total += (np.log(np.float64(sum_exp[i])) - target) * np.float64(s)
    return total


def _cast_and_sum(source, target):
    # target[...] = source (each value rounded to target's dtype, as
    # np.copyto does), and return the sum of the cast values in float64: it
    # is only tested for finiteness, which the float64 sum of float32 values
    # cannot lose to overflow.
    flat_source, flat_target = source.reshape(-1), target.reshape(-1)
    total = 0.0
    for i in range(flat_source.size):
        value = flat_target.dtype.type(flat_source[i])
        flat_target[i] = value
        total += np.float64(value)
    return total


# The loops, each compiled with these options: error_model="numpy" makes a
# division by zero give inf/nan as in NumPy instead of raising, which also
# lets the loops vectorise.
_LOOPS = {
    "adam_step": {},
    # "reassoc" lets the sum of squares run in vector lanes (5x faster than a
    # strict left-to-right sum); the gradient has nothing to reassociate.
    "add_l2_gradient": {"fastmath": {"reassoc"}},
    "sum_of_squares": {"fastmath": {"reassoc"}},
    "add_bias_relu": {},
    "relu_backward": {},
    "column_sums": {},
    "subtract_row_max": {},
    "softmax_cross_entropy_finish": {},
    "cast_and_sum": {"fastmath": {"reassoc"}},
}


def _compile():
    try:
        import numba
    except ImportError:
        return None

    def compile_(function, options):
        options = {"nogil": True, "error_model": "numpy", **options}
        try:
            return numba.njit(cache=True, **options)(function)
        except (RuntimeError, OSError):  # nowhere writable to cache: compile each run
            return numba.njit(**options)(function)

    return SimpleNamespace(
        **{name: compile_(globals()[f"_{name}"], options) for name, options in _LOOPS.items()}
    )
