"""Prediction in chunks: the forward pass over any number of rows, in bounded memory."""

import numpy as np

from hdrnn.nn.network import forward

# Rows per forward pass in prediction: keeps memory bounded for huge X
# while the matrices stay large enough for BLAS to run at full speed.
PREDICT_CHUNK_ROWS = 4096

# At most this many bytes of layer outputs per chunk: a very wide network
# predicts fewer rows at a time instead of allocating gigabytes.
PREDICT_CHUNK_BYTES = 32 * 2**20


def chunk_rows(arch, dtype, n_rows):
    """Rows per forward pass: at most 4096, and at most 32 MiB of layer outputs."""
    per_row = sum(arch.layer_units[1:]) * np.dtype(dtype).itemsize
    return max(1, min(PREDICT_CHUNK_ROWS, PREDICT_CHUNK_BYTES // per_row, n_rows))


def predict_logits(arch, X, coefs, intercepts, finite_check=None, *, kernels=None):
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
    kernels : SimpleNamespace or None, default=None
        The compiled kernels chosen by the caller (:func:`compiled_kernels`),
        or None for the NumPy code; the logits are the same.

    Returns
    -------
    logits : ndarray of shape (n_samples, units[-1])
    """
    dtype = coefs[0].dtype
    n_samples = X.shape[0]
    logits = np.empty((n_samples, arch.layer_units[-1]), dtype=dtype)
    chunk = chunk_rows(arch, dtype, n_samples)
    activations = [np.empty((chunk, n), dtype=dtype) for n in arch.layer_units[1:]]
    sparse = hasattr(X, "toarray")
    cast = None if sparse or X.dtype == dtype else np.empty((chunk, X.shape[1]), dtype=dtype)
    for start in range(0, n_samples, chunk):
        stop = min(start + chunk, n_samples)
        if sparse:
            X_chunk, total = X[start:stop].toarray().astype(dtype, copy=False), 0.0
        else:
            X_chunk, total = _cast_and_sum(X[start:stop], cast, finite_check is not None, kernels)
        if not np.isfinite(total):
            finite_check(X[start:stop])
        rows = [buffer[: stop - start] for buffer in activations]
        logits[start:stop] = forward(arch, X_chunk, coefs, intercepts, rows, kernels=kernels)
    return logits


def _cast_and_sum(X_chunk, cast, want_sum, kernels):
    """Return ``X_chunk`` in the model's dtype and, if wanted, the sum of its values.

    The cast goes into (the first rows of) ``cast``, or is skipped when it is
    None. The sum is only ever tested for finiteness: NaN and infinity make
    it non-finite; so may huge finite values, which the check then lets
    through. Casting chunk by chunk keeps the copy in cache and never copies
    X whole; the compiled kernel casts and adds up in the same pass.
    """
    total = 0.0
    if cast is not None:
        target = cast[: X_chunk.shape[0]]
        if kernels is not None and X_chunk.flags.c_contiguous and X_chunk.size:
            return target, kernels.cast_and_sum(X_chunk, target)
        np.copyto(target, X_chunk, casting="same_kind")
        X_chunk = target
    if want_sum:
        total = np.add.reduce(X_chunk, axis=None)
    return X_chunk, total
