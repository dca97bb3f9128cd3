"""Preallocated buffers for training on mini-batches: where the speed lives.

A :class:`Workspace` holds every array one forward and backward pass writes
(activations, errors, gradients, dropout masks, the batch itself), allocated
once for the largest batch; each batch works on views of them, so the
training loop allocates nothing. The maths that fills them is in
:mod:`hdrnn.nn.network`.
"""

import numpy as np

from hdrnn.nn.activations import ACTIVATIONS
from hdrnn.nn.network import BatchBuffers, unflatten


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
        ahead (:func:`hdrnn.augmentation.prefetched` rotates through them).
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

    @staticmethod
    def nbytes(arch, batch_size, dtype, dropout=None, n_input_buffers=1):
        """Bytes a Workspace of these arguments allocates (its arrays, as ``__init__`` makes them).

        Examples
        --------
        >>> import numpy as np
        >>> from hdrnn.nn import Architecture, Workspace
        >>> arch = Architecture((784, 128, 10), "relu", "softmax")
        >>> Workspace.nbytes(arch, 128, np.float32) == Workspace(arch, 128, np.float32).allocated
        True
        """
        units = arch.layer_units
        hidden = units[1:-1]
        rates = tuple(dropout) if dropout is not None else (0.0,) * len(hidden)
        per_row = 2 * sum(n for n, p in zip(hidden, rates) if p)  # masks, dropped
        per_row += sum(hidden) if ACTIVATIONS[arch.activation].needs_input else 0  # inputs
        per_row += n_input_buffers * units[0] + units[-1] + 1  # X buffers, Y, sample_weight
        per_row += 2 * sum(units[1:]) + sum(hidden)  # activations, deltas, scratch
        return np.dtype(dtype).itemsize * (batch_size * per_row + arch.n_params + arch.n_coefs)

    @property
    def allocated(self):
        """int: bytes of every array this workspace holds."""
        arrays = [self.Y, self.sample_weight, self.grads, self.l2_scratch, *self.X_buffers]
        for group in (self.masks, self.dropped, self.inputs, self.activations, self.deltas):
            arrays += [a for a in group or () if a is not None]
        arrays += self.scratch
        return sum(a.nbytes for a in arrays)

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
