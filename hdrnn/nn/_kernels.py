"""Optional compiled kernels: Adam's update and the L2 term, one pass each.

In NumPy an Adam update is ten whole-array passes over the parameters (see
:class:`~hdrnn.nn.Adam`) and the L2 term three; every pass streams the
arrays through memory again. With numba installed (the ``fast`` extra,
``pip install "hdrnn[fast]"``) each becomes one compiled loop that reads
and writes every array once: 3-5 times faster (benchmarks/README.md). The loops perform the same
floating-point operations in the same order as the NumPy code, so the
parameters come out bit-identical (``tests/test_kernels.py``). The NumPy
code stays the reference and the fallback: it runs when numba is missing
or when the environment variable ``HDRNN_NUMBA`` is ``0``.

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


def get():
    """Return the compiled kernels, or None when numba is unavailable or disabled.

    Returns
    -------
    kernels : SimpleNamespace or None
        ``adam_step`` and ``add_l2_gradient`` (see :func:`_compile`).
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


@contextlib.contextmanager
def use_kernels(enabled):
    """Switch the compiled kernels on or off inside a ``with`` block (tests, benchmarks)."""
    global _enabled
    previous, _enabled = _enabled, enabled
    try:
        yield
    finally:
        _enabled = previous


def _compile():
    try:
        import numba
    except ImportError:
        return None

    def jit(**options):
        # error_model="numpy": division by zero gives inf/nan as in NumPy
        # instead of raising, which also lets the loops vectorise.
        options = {"nogil": True, "error_model": "numpy", **options}

        def compile_(function):
            try:
                return numba.njit(cache=True, **options)(function)
            except (RuntimeError, OSError):  # nowhere writable to cache: compile each run
                return numba.njit(**options)(function)

        return compile_

    @jit()
    # A compiled loop takes plain positional arrays and scalars, so this one
    # takes more than five positional arguments.
    def adam_step(params, grads, grad_sum, sq_grad_sum, beta_1, beta_2, eps, step):  # noqa: PLR0917
        # Adam.step's NumPy passes, fused: G = b1 G + g; S = b2 S + g^2;
        # p -= (G / (sqrt(S) + eps)) * step. The scalars come in the arrays' dtype.
        for i in range(params.size):
            g = grads[i]
            grad_sum[i] = beta_1 * grad_sum[i] + g
            sq_grad_sum[i] = beta_2 * sq_grad_sum[i] + g * g
            params[i] -= grad_sum[i] / (np.sqrt(sq_grad_sum[i]) + eps) * step

    # fastmath="reassoc" lets the sum of squares run in vector lanes (5x
    # faster than a strict left-to-right sum); the gradient has nothing to
    # reassociate, so it stays exact.
    @jit(fastmath={"reassoc"})
    def add_l2_gradient(coefs, coef_grads, penalty):
        # coef_grads += penalty * coefs, and return sum(coefs**2) (in float64).
        total = 0.0
        for i in range(coefs.size):
            w = coefs[i]
            total += np.float64(w) * np.float64(w)
            coef_grads[i] += w * penalty
        return total

    return SimpleNamespace(adam_step=adam_step, add_l2_gradient=add_l2_gradient)
