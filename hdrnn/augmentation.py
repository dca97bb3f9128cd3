"""Random distortions of digit images, applied to each training batch on the fly.

Shifting, rotating, scaling and elastically distorting the training digits
is what took multilayer perceptrons from about 98.5% to over 99% on MNIST
(Simard et al. 2003; Ciresan et al. 2010). :class:`BatchAugmenter` applies
them to a whole mini-batch at once: it draws one random transform per
image, maps every output pixel to a source position, and reads the source
with bilinear interpolation from a zero-padded copy of the batch, all as a
handful of vectorised NumPy operations.
"""

import math
import queue
import threading
from dataclasses import dataclass, replace
from numbers import Real

import numpy as np

# The presets of ``augment``, tuned for 28x28 MNIST digits; other image sizes
# are scaled to match (Augmentation.preset).
PRESETS = {
    "shift": dict(max_shift=2),
    "affine": dict(max_shift=2.0, max_rotation=12.0, scale_range=(0.9, 1.1)),
    "elastic": dict(
        max_shift=2.0,
        max_rotation=10.0,
        scale_range=(0.9, 1.1),
        elastic_alpha=34.0,
        elastic_sigma=4.0,
    ),
}


@dataclass(frozen=True)
class Augmentation:
    """How much to distort each training image.

    Distances are in pixels of the images being trained on. Every image of
    every batch gets its own random draw.

    Parameters
    ----------
    max_shift : float, default=0.0
        Largest translation along each axis; drawn uniformly from
        ``[-max_shift, max_shift]``. Integers with no other distortion give
        exact whole-pixel shifts.
    max_rotation : float, default=0.0
        Largest rotation, in degrees, either way.
    scale_range : tuple of float, default=(1.0, 1.0)
        Range of the zoom factor.
    elastic_alpha : float, default=0.0
        Strength of the elastic distortion (Simard 2003): a random
        displacement field, smoothed by a Gaussian of width
        ``elastic_sigma``, is multiplied by this. 0 turns it off.
    elastic_sigma : float, default=4.0
        Smoothness of the elastic displacement field, in pixels.

    Raises
    ------
    ValueError
        If a distance or angle is negative or not finite, ``scale_range`` is
        not two positive numbers in increasing order, or ``elastic_sigma``
        is not positive.

    Examples
    --------
    >>> Augmentation.preset("affine", (28, 28)).max_rotation
    12.0
    """

    max_shift: float = 0.0
    max_rotation: float = 0.0
    scale_range: tuple = (1.0, 1.0)
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0

    def __post_init__(self):
        numbers = {
            "max_shift": self.max_shift,
            "max_rotation": self.max_rotation,
            "elastic_alpha": self.elastic_alpha,
        }
        for name, value in numbers.items():
            if not _is_finite_number(value) or value < 0:
                raise ValueError(
                    f"Augmentation {name} must be a finite number >= 0; got {value!r}."
                )
        if not _is_finite_number(self.elastic_sigma) or self.elastic_sigma <= 0:
            raise ValueError(
                f"Augmentation elastic_sigma must be a positive number; got {self.elastic_sigma!r}."
            )
        scale = self.scale_range
        if not (
            isinstance(scale, tuple | list)
            and len(scale) == 2
            and all(_is_finite_number(side) and side > 0 for side in scale)
            and scale[0] <= scale[1]
        ):
            raise ValueError(
                "Augmentation scale_range must be two positive numbers (low, high) with "
                f"low <= high; got {scale!r}."
            )

    @classmethod
    def preset(cls, name, image_shape):
        """Return the preset ``name`` ("shift", "affine" or "elastic") for ``image_shape``.

        The 28x28 settings are scaled by ``side / 28`` so that an 8x8 digit
        is distorted as much, relative to its size, as an MNIST one.
        """
        if name not in PRESETS:
            raise ValueError(
                f"Unknown augmentation {name!r}; expected one of "
                f"{sorted(PRESETS)}, None or an Augmentation instance."
            )
        config = cls(**PRESETS[name])
        factor = min(image_shape) / 28
        if factor == 1:
            return config
        shift = config.max_shift * factor
        return replace(
            config,
            max_shift=round(shift) if name == "shift" and round(shift) >= 1 else shift,
            elastic_alpha=config.elastic_alpha * factor,
            elastic_sigma=config.elastic_sigma * factor,
        )

    @property
    def is_whole_pixel_shift(self):
        """bool: whether this is only a shift by whole pixels (the exact, fast case)."""
        return (
            float(self.max_shift).is_integer()
            and self.max_rotation == 0
            and tuple(self.scale_range) == (1.0, 1.0)
            and self.elastic_alpha == 0
        )


class BatchAugmenter:
    """Distort batches of flattened images in place.

    Parameters
    ----------
    config : Augmentation
        What to draw.
    image_shape : tuple of int
        ``(height, width)``; rows of the batch are images flattened row by row.
    batch_size : int
        Largest batch; buffers are allocated once for it.
    dtype : numpy dtype
        The batch's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> augment = BatchAugmenter(Augmentation(max_shift=1), (3, 3), 1, np.float64)
    >>> batch = np.eye(3).reshape(1, 9)
    >>> augment(batch, np.random.default_rng(0))
    >>> float(batch.sum()) <= 3.0
    True
    """

    def __init__(self, config, image_shape, batch_size, dtype):
        self.config = config
        self.height, self.width = height, width = image_shape
        # Images sit in a zero frame, one pixel wide above and left and two
        # below and right, so that every clipped source position has four
        # neighbours inside the buffer and positions outside the image read 0.
        self._frame_width = width + 3
        self._padded = np.zeros((batch_size, height + 3, width + 3), dtype=dtype)
        rows, cols = np.divmod(np.arange(height * width), width)
        center_y, center_x = (height - 1) / 2, (width - 1) / 2
        self._dy = (rows - center_y).astype(dtype)  # (n_pixels,) from the centre
        self._dx = (cols - center_x).astype(dtype)
        self._center = (center_y, center_x)
        if config.is_whole_pixel_shift:
            self._shift_rows, self._shift_cols = self._whole_pixel_sources(height, width)
            self._index = np.empty((batch_size, height, width), dtype=np.intp)
        else:
            shape = (batch_size, height * width)
            self._top = np.empty(shape, dtype=dtype)
            self._left = np.empty(shape, dtype=dtype)
            self._flat_index = np.empty(shape, dtype=np.intp)
            self._corners = [np.empty(shape, dtype=dtype) for _ in range(4)]
            self._positions = [np.empty(shape, dtype=dtype) for _ in range(3)]
        if config.elastic_alpha:
            self._blur_rows = _gaussian_matrix(height, config.elastic_sigma, dtype)
            self._blur_cols = _gaussian_matrix(width, config.elastic_sigma, dtype)
            self._noise = np.empty((2 * batch_size, height, width), dtype=dtype)

    def __call__(self, X_batch, rng):
        """Replace each row of ``X_batch`` by a randomly distorted copy."""
        n = X_batch.shape[0]
        padded = self._padded[:n]
        padded[:, 1 : self.height + 1, 1 : self.width + 1] = X_batch.reshape(
            n, self.height, self.width
        )
        flat = padded.reshape(-1)
        if self.config.is_whole_pixel_shift:
            n_shifts = len(self._shift_rows)
            shift_y, shift_x = np.divmod(rng.integers(n_shifts * n_shifts, size=n), n_shifts)
            # Flat source index of each pixel: its source row's start plus its source column.
            row_starts = self._shift_rows[shift_y] + self._row_offsets(n).astype(np.intp)  # (n, h)
            index = self._index[:n]  # (n, height, width)
            np.add(
                row_starts[:, :, np.newaxis], self._shift_cols[shift_x][:, np.newaxis], out=index
            )
            np.take(flat, index.reshape(n, -1), out=X_batch, mode="clip")
            return
        self._interpolate(flat, *self._source_positions(n, rng), out=X_batch)

    def _row_offsets(self, n):
        # Image i starts at i * frame_size in the flat view of the padded batch.
        return (np.arange(n, dtype=self._dy.dtype) * self._padded[0].size)[:, np.newaxis]

    def _whole_pixel_sources(self, height, width):
        """Source row starts and source columns in the frame, for every whole-pixel shift.

        Rows and columns shift independently, so two small tables, of shape
        (n_shifts, height) and (n_shifts, width), describe every shift; the
        memory grows with the shift range, not with its square.
        """
        shift = int(self.config.max_shift)
        shifts = np.arange(-shift, shift + 1)[:, np.newaxis]  # (n_shifts, 1)
        # Clipping to the frame reads zeros for pixels shifted in from outside.
        source_rows = np.clip(np.arange(height) - shifts + 1, 0, height + 1)
        source_cols = np.clip(np.arange(width) - shifts + 1, 0, width + 1)
        return (source_rows * self._frame_width).astype(np.intp), source_cols.astype(np.intp)

    def _source_positions(self, n, rng):
        """Where each output pixel of each image reads from: two (n, n_pixels) arrays."""
        config = self.config
        dtype = self._dy.dtype
        angle = np.deg2rad(rng.uniform(-config.max_rotation, config.max_rotation, (n, 1)))
        zoom = rng.uniform(*config.scale_range, (n, 1))
        shift_y, shift_x = rng.uniform(-config.max_shift, config.max_shift, (2, n, 1))
        # Inverse mapping: output pixel p reads R(-angle) (p - c) / zoom + c - shift.
        cos, sin = (np.cos(angle) / zoom).astype(dtype), (np.sin(angle) / zoom).astype(dtype)
        center_y, center_x = self._center
        source_rows, source_cols, scratch = (buffer[:n] for buffer in self._positions)
        np.multiply(cos, self._dy, out=source_rows)  # (n, n_pixels)
        source_rows += np.multiply(sin, self._dx, out=scratch)
        source_rows += (center_y - shift_y).astype(dtype)
        np.multiply(cos, self._dx, out=source_cols)
        source_cols -= np.multiply(sin, self._dy, out=scratch)
        source_cols += (center_x - shift_x).astype(dtype)
        if config.elastic_alpha:
            field = self._elastic_field(n, rng)
            source_rows += field[0]
            source_cols += field[1]
        return source_rows, source_cols

    def _elastic_field(self, n, rng):
        """Random displacements smoothed by a Gaussian: (2, n, n_pixels)."""
        height, width = self.height, self.width
        noise = self._noise[: 2 * n]  # (2n, height, width)
        rng.random(out=noise, dtype=noise.dtype)
        noise -= 0.5  # uniform on [-0.5, 0.5); the factor 2 is folded into alpha below
        # A separable Gaussian blur with zero padding is G F G for the
        # symmetric blur matrix G: two plain matrix products (one GEMM each)
        # instead of scipy.ndimage's per-image filtering.
        blurred = np.matmul(noise.reshape(-1, width), self._blur_cols)  # F G
        # (F G)^T G = (G F G)^T: blurring the transpose gives the transposed
        # field, which is exactly as random, so it is used as is.
        blurred = blurred.reshape(2 * n, height, width).transpose(0, 2, 1).reshape(-1, height)
        field = np.matmul(blurred, self._blur_rows)
        field *= 2.0 * self.config.elastic_alpha
        return field.reshape(2, n, height * width)

    def _interpolate(self, flat, source_rows, source_cols, out):
        """Bilinear reads of the framed images at the source positions, into ``out``."""
        n = source_rows.shape[0]
        top, left, index = self._top[:n], self._left[:n], self._flat_index[:n]
        upper_left, upper_right, lower_left, lower_right = (v[:n] for v in self._corners)
        np.clip(source_rows, -1, self.height, out=source_rows)
        np.clip(source_cols, -1, self.width, out=source_cols)
        np.floor(source_rows, out=top)
        np.floor(source_cols, out=left)
        source_rows -= top  # now the fraction fy in [0, 1)
        source_cols -= left  # fx
        # Flat index of the top-left neighbour in the framed batch, computed in
        # floating point (exact below 2**24) so that only one integer cast is paid.
        top *= self._frame_width
        top += left
        top += self._row_offsets(n) + (self._frame_width + 1)
        index[...] = top
        # The other three neighbours are the same index in shifted views of flat.
        below = self._frame_width
        np.take(flat, index, out=upper_left, mode="clip")
        np.take(flat[1:], index, out=upper_right, mode="clip")
        np.take(flat[below:], index, out=lower_left, mode="clip")
        np.take(flat[below + 1 :], index, out=lower_right, mode="clip")
        # upper = ul + fx (ur - ul); lower = ll + fx (lr - ll); out = upper + fy (lower - upper)
        upper_right -= upper_left
        upper_right *= source_cols
        upper_left += upper_right
        lower_right -= lower_left
        lower_right *= source_cols
        lower_left += lower_right
        lower_left -= upper_left
        lower_left *= source_rows
        np.add(upper_left, lower_left, out=out)


def augmented_batches(batches, augmenter, rng):
    """Distort each ``(batch_rows, X_batch)`` of ``batches`` in place as it passes.

    ``X_batch`` must be a copy (as :func:`hdrnn.nn.iter_batches` makes),
    never the training data itself.
    """
    for batch_rows, X_batch in batches:
        augmenter(X_batch, rng)
        yield batch_rows, X_batch


# How long the background thread waits on a full queue before checking
# whether training has stopped.
_PREFETCH_POLL_SECONDS = 0.05


def prefetched(batches):
    """Yield the items of ``batches``, produced one ahead in a background thread.

    Augmenting a batch while the previous one trains uses a second core:
    NumPy releases the GIL in its array operations. The batches must come
    from at least three rotating buffers (one being trained on, one ready
    in the queue, one being filled), so that the thread never overwrites a
    batch in use. Closing the generator stops the thread; an exception in
    the thread is raised here.
    """
    ready = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce():
        try:
            for item in batches:
                if not _put_unless_stopped(ready, item, stop):
                    return
            _put_unless_stopped(ready, None, stop)
        except BaseException as error:  # handed to the training thread to raise
            _put_unless_stopped(ready, error, stop)

    worker = threading.Thread(target=produce, name="hdrnn-augment", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _put_unless_stopped(ready, item, stop):
    """Put ``item`` on the queue, giving up once ``stop`` is set; return whether it was put."""
    while not stop.is_set():
        try:
            ready.put(item, timeout=_PREFETCH_POLL_SECONDS)
            return True
        except queue.Full:
            continue
    return False


def _gaussian_matrix(size, sigma, dtype):
    """The symmetric (size, size) matrix of a 1-D Gaussian blur with zero padding."""
    offsets = np.arange(size)[:, np.newaxis] - np.arange(size)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return (kernel / (sigma * math.sqrt(2 * math.pi))).astype(dtype)


def _is_finite_number(value):
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
