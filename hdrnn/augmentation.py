"""Random distortions of digit images, applied to each training batch on the fly.

Shifting, rotating, scaling and elastically distorting the training digits
is what took multilayer perceptrons from about 98.5% to over 99% on MNIST
(Simard et al. 2003; Ciresan et al. 2010). :class:`BatchAugmenter` applies
them to a whole mini-batch at once: it draws one random transform per
image, maps every output pixel to a source position, and reads the source
with bilinear interpolation from a zero-padded copy of the batch, all as a
handful of vectorised NumPy operations.

MNIST's digits were all written with similar pens, scanned the same way and
made bilevel before they were scaled, so a model trained on them alone has
never seen a thin or faint stroke, a soft edge, a gap where a pen skipped
or a strong slant. Handwriting that is not MNIST's differs in exactly these
ways once :func:`hdrnn.preprocessing.prepare_digit_image` has prepared it.
So, after the geometry (which can also slant and narrow or widen a digit),
the augmenter can change the pen and the paper of each image: thicker or
thinner strokes (grey-level dilation or erosion), breaks in the strokes,
ink that fades along them, blur, and the contrast of the stroke edges. Like
the preparation, it then stretches each image's ink back to its former
peak. The ``"handwriting"`` preset combines all of them.
"""

import math
import queue
import threading
from dataclasses import dataclass, replace
from numbers import Integral, Real

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
    # Elastic distortions a little weaker than Simard's: the slant, width,
    # pen and paper distortions add variety of their own.
    "handwriting": dict(
        max_shift=2.0,
        max_rotation=10.0,
        scale_range=(0.85, 1.1),
        elastic_alpha=30.0,
        elastic_sigma=4.0,
        max_shear=15.0,
        aspect_range=(0.75, 1.15),
        stroke_range=(-0.6, 1.0),
        max_breaks=1,
        break_radius=1.0,
        ink_fade=0.4,
        blur_range=(0.0, 0.7),
        gamma_range=(0.7, 1.5),
    ),
}

# Fields in pixels, scaled with the image by Augmentation.preset (max_shift
# is scaled there too, but rounded for "shift").
_DISTANCES = ("elastic_sigma", "break_radius")
_DISTANCE_RANGES = ("stroke_range", "blur_range")

# Ranges of two numbers (low, high), and what each number must be.
_RANGES = {
    "scale_range": "positive",
    "aspect_range": "positive",
    "stroke_range": "finite",
    "blur_range": "non-negative",
    "gamma_range": "positive",
}
_RANGE_RULES = {
    "positive": lambda side: side > 0,
    "non-negative": lambda side: side >= 0,
    "finite": lambda side: True,  # _is_finite_number checks it
}

# Pen pressure changes over about a seventh of the digit's height (4 pixels
# of 28): the width of the Gaussian that smooths the fading field.
_FADE_SIGMA_SHARE = 1 / 7

# Breaks are centred on pixels with at least this share of the image's peak:
# the cores of the strokes, not their anti-aliased edges.
_BREAK_CORE = 0.5


@dataclass(frozen=True)
class Augmentation:
    """How much to distort each training image.

    Distances are in pixels of the images being trained on. Every image of
    every batch gets its own random draw of every distortion, each uniform
    over its range. The defaults distort nothing, so each field turns on
    one distortion; the geometric ones are applied first, as one mapping,
    then the pen and paper ones in the order listed.

    Parameters
    ----------
    max_shift : float, default=0.0
        Largest translation along each axis; drawn uniformly from
        ``[-max_shift, max_shift]``. Integers with no other geometric
        distortion give exact whole-pixel shifts.
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
    max_shear : float, default=0.0
        Largest slant, in degrees either way, below 90: rows move sideways
        in proportion to their height (a horizontal shear), as handwriting
        leans.
    aspect_range : tuple of float, default=(1.0, 1.0)
        Range of the factor that scales the width and keeps the height:
        narrow and wide writing. (MNIST's preparation fits the taller side,
        which for most digits is the height, to the box, so a writer's
        aspect shows in the width.)
    stroke_range : tuple of float, default=(0.0, 0.0)
        Range of the pixels added to (positive) or taken from (negative)
        each side of every stroke: thicker and thinner pens. A step is a
        grey-level dilation or erosion over the 4-neighbourhood; fractions
        blend two steps.
    max_breaks : int, default=0
        Most gaps per image, drawn from ``0..max_breaks``: discs of radius
        ``break_radius``, centred on the strokes' cores, where the ink is
        removed, as when a pen skips.
    break_radius : float, default=1.0
        Radius of each gap, in pixels (its edge is soft over one pixel).
    ink_fade : float, default=0.0
        Most that the ink may fade along the strokes, as a share of full
        ink, in ``[0, 1)``: each image's ink is multiplied by a smooth
        random field between ``1 - fade`` and 1, with ``fade`` drawn from
        ``[0, ink_fade]``, as pen pressure and ballpoints vary.
    blur_range : tuple of float, default=(0.0, 0.0)
        Range of the width (sigma, in pixels) of a Gaussian blur: soft
        photos and scans.
    gamma_range : tuple of float, default=(1.0, 1.0)
        Range of the exponent applied to the ink as a share of the image's
        peak: below 1 darkens the grey edges of the strokes (felt pens,
        hard scans), above 1 lightens them (pencil, soft photos).

    Raises
    ------
    ValueError
        If a distance or angle is negative or not finite, ``max_shear`` is
        90 or more, a range is not two numbers ``(low, high)`` with
        ``low <= high`` in its allowed interval, ``elastic_sigma`` or
        ``break_radius`` is not positive, ``ink_fade`` is not in ``[0, 1)``
        or ``max_breaks`` is not a whole number >= 0.

    Notes
    -----
    The pen and paper distortions expect light ink on a dark background,
    as :func:`hdrnn.load_mnist` and the preparation give (values >= 0, the
    paper at 0), in any scale: they stretch each image's ink back to the
    peak it had before them, as preparing a user's image stretches its ink
    to full, and keep every pixel within ``[0, peak]``.

    Examples
    --------
    >>> Augmentation.preset("affine", (28, 28)).max_rotation
    12.0
    >>> Augmentation(stroke_range=(-0.5, 1.0), blur_range=(0.0, 0.8)).stroke_range
    (-0.5, 1.0)
    """

    max_shift: float = 0.0
    max_rotation: float = 0.0
    scale_range: tuple = (1.0, 1.0)
    elastic_alpha: float = 0.0
    elastic_sigma: float = 4.0
    max_shear: float = 0.0
    aspect_range: tuple = (1.0, 1.0)
    stroke_range: tuple = (0.0, 0.0)
    max_breaks: int = 0
    break_radius: float = 1.0
    ink_fade: float = 0.0
    blur_range: tuple = (0.0, 0.0)
    gamma_range: tuple = (1.0, 1.0)

    def __post_init__(self):
        for name in ("max_shift", "max_rotation", "elastic_alpha", "max_shear", "ink_fade"):
            value = getattr(self, name)
            if not _is_finite_number(value) or value < 0:
                raise ValueError(
                    f"Augmentation {name} must be a finite number >= 0; got {value!r}."
                )
        for name in ("elastic_sigma", "break_radius"):
            value = getattr(self, name)
            if not _is_finite_number(value) or value <= 0:
                raise ValueError(f"Augmentation {name} must be a positive number; got {value!r}.")
        if self.max_shear >= 90:
            raise ValueError(
                f"Augmentation max_shear must be below 90 degrees (a slant of 90 degrees lays "
                f"the digit flat); got {self.max_shear!r}. Handwriting leans by up to about 30."
            )
        if self.ink_fade >= 1:
            raise ValueError(
                f"Augmentation ink_fade must be below 1 (1 would let the ink vanish); got "
                f"{self.ink_fade!r}. Use a share of full ink such as 0.5."
            )
        breaks = self.max_breaks
        if not isinstance(breaks, Integral) or isinstance(breaks, bool) or breaks < 0:
            raise ValueError(
                f"Augmentation max_breaks must be a whole number >= 0; got {breaks!r}."
            )
        for name, kind in _RANGES.items():
            # Tuples whatever was given (JSON gives lists), so configs compare and hash.
            object.__setattr__(self, name, _checked_range(name, getattr(self, name), kind))

    @classmethod
    def preset(cls, name, image_shape):
        """Return the preset ``name`` (a key of :data:`PRESETS`) for ``image_shape``.

        The 28x28 settings are scaled by ``side / 28`` so that an 8x8 digit
        is distorted as much, relative to its size, as an MNIST one:
        shifts, elastic distortions, stroke changes, gaps and blur are
        distances and scale; angles, ratios, counts and shares do not.
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
        scaled = {field: getattr(config, field) * factor for field in _DISTANCES}
        # The elastic displacements are proportional to alpha / sigma, so alpha
        # scales with factor**2 for them to scale with the image. "elastic"
        # keeps its first rule (the same displacement in pixels at any size,
        # strong at 8x8) so that models trained with it stay reproducible.
        alpha_factor = factor if name == "elastic" else factor**2
        scaled["elastic_alpha"] = config.elastic_alpha * alpha_factor
        for field in _DISTANCE_RANGES:
            scaled[field] = tuple(side * factor for side in getattr(config, field))
        return replace(
            config,
            max_shift=round(shift) if name == "shift" and round(shift) >= 1 else shift,
            **scaled,
        )

    @property
    def is_whole_pixel_shift(self):
        """bool: whether the geometry is only a shift by whole pixels (the exact, fast case).

        Pen and paper distortions may follow it.
        """
        return (
            float(self.max_shift).is_integer()
            and self.max_rotation == 0
            and tuple(self.scale_range) == (1.0, 1.0)
            and self.elastic_alpha == 0
            and not self._slants_or_stretches
        )

    @property
    def _slants_or_stretches(self):
        return self.max_shear != 0 or self.aspect_range != (1.0, 1.0)

    @property
    def _changes_pen_or_paper(self):
        return bool(
            self.stroke_range != (0.0, 0.0)
            or self.max_breaks
            or self.ink_fade
            or self.blur_range != (0.0, 0.0)
            or self.gamma_range != (1.0, 1.0)
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

    The "handwriting" preset on a bar: a new pen, slant, shape and paper,
    in the batch's dtype and within its range.

    >>> images = np.zeros((2, 28, 28), dtype=np.float32)
    >>> images[:, 14, 6:22] = 1.0
    >>> batch, before = images.reshape(2, -1), images.reshape(2, -1).copy()
    >>> config = Augmentation.preset("handwriting", (28, 28))
    >>> BatchAugmenter(config, (28, 28), 2, np.float32)(batch, np.random.default_rng(0))
    >>> print(batch.dtype, 0 <= batch.min() <= batch.max() <= 1, (batch != before).any())
    float32 True True
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
        self._fade_bumps = None
        if config.ink_fade:
            sigma = min(image_shape) * _FADE_SIGMA_SHARE
            self._fade_bumps = [_bumps(side, sigma, dtype) for side in image_shape]

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
        else:
            self._interpolate(flat, *self._source_positions(n, rng), out=X_batch)
        if self.config._changes_pen_or_paper:
            images = X_batch.reshape(n, self.height, self.width)
            X_batch[...] = _pen_and_paper(images, self.config, rng, self._fade_bumps).reshape(n, -1)

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
        # Source columns follow output columns and rows with these factors
        # (-sin * dy is added rather than sin * dy subtracted: the same bits).
        along_cols, along_rows = cos, -sin
        if config._slants_or_stretches:
            along_cols, along_rows = _slanted_columns(angle, zoom, config, rng, dtype)
        center_y, center_x = self._center
        source_rows, source_cols, scratch = (buffer[:n] for buffer in self._positions)
        np.multiply(cos, self._dy, out=source_rows)  # (n, n_pixels)
        source_rows += np.multiply(sin, self._dx, out=scratch)
        source_rows += (center_y - shift_y).astype(dtype)
        np.multiply(along_cols, self._dx, out=source_cols)
        source_cols += np.multiply(along_rows, self._dy, out=scratch)
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


def _slanted_columns(angle, zoom, config, rng, dtype):
    """Factors of output columns and rows in source columns, with a random slant and width."""
    n = len(angle)
    slant = np.tan(np.deg2rad(rng.uniform(-config.max_shear, config.max_shear, (n, 1))))
    width = rng.uniform(*config.aspect_range, (n, 1))
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    # Undo the rotation and zoom (rows cos dy + sin dx, columns cos dx - sin dy),
    # then the slant (columns move by slant * rows), then the width.
    return ((cos - slant * sin) / width).astype(dtype), ((-sin - slant * cos) / width).astype(dtype)


def _pen_and_paper(images, config, rng, fade_bumps):
    """``images`` (n, height, width) with the pen and paper distortions of ``config``."""
    n, dtype = len(images), images.dtype
    peak = images.max(axis=(1, 2), keepdims=True)  # (n, 1, 1)

    def draw(low, high):
        return rng.uniform(low, high, (n, 1, 1)).astype(dtype)

    if config.stroke_range != (0.0, 0.0):
        images = _thickened(images, draw(*config.stroke_range))
    if config.max_breaks:
        cores = images > _BREAK_CORE * peak
        images = images * _gaps(cores, config.max_breaks, config.break_radius, rng, dtype)
    if config.ink_fade:
        images = images * _fading(draw(0.0, config.ink_fade), rng, *fade_bumps)
    if config.blur_range != (0.0, 0.0):
        images = _blurred(images, draw(*config.blur_range))
    # Stretch the ink back to its peak, as preparing a user's image does.
    now = images.max(axis=(1, 2), keepdims=True)
    images *= np.divide(peak, now, out=np.ones_like(peak), where=now > 0)
    if config.gamma_range != (1.0, 1.0):
        share = np.divide(images, peak, out=np.zeros_like(images), where=peak > 0)
        # Only where there is ink: powers of 0 take NumPy's slow path (10x).
        images = np.power(share, draw(*config.gamma_range), out=share, where=share > 0)
        images *= peak
    return np.clip(images, 0, peak, out=images)


def _thickened(images, amounts):
    """Grey-level dilation by ``amounts`` (n, 1, 1) steps, erosion where negative.

    Each image is a blend of the whole steps on either side of its amount,
    weighted ``1 - |amount - step|`` (the weights sum to 1).
    """
    thickened = _tent(amounts, 0) * images
    for spread, direction in ((np.maximum, 1), (np.minimum, -1)):
        level = images
        for step in range(1, math.ceil(max(0.0, float((direction * amounts).max()))) + 1):
            level = _spread(level, spread)
            thickened += _tent(amounts, direction * step) * level
    return thickened


def _tent(amounts, step):
    return np.maximum(1 - np.abs(amounts - step), 0)


def _spread(images, spread):
    """One step of ``spread`` (np.maximum or np.minimum) over each pixel's 4-neighbourhood."""
    out = images.copy()
    spread(out[:, 1:], images[:, :-1], out=out[:, 1:])  # from the pixel above
    spread(out[:, :-1], images[:, 1:], out=out[:, :-1])  # below
    spread(out[:, :, 1:], images[:, :, :-1], out=out[:, :, 1:])  # left
    spread(out[:, :, :-1], images[:, :, 1:], out=out[:, :, :-1])  # right
    return out


def _gaps(cores, max_breaks, radius, rng, dtype):
    """Factors (n, height, width): 1, but 0 in up to ``max_breaks`` discs centred on ``cores``."""
    n, height, width = cores.shape
    flat = cores.reshape(n, -1)
    counts = flat.sum(axis=1)  # (n,) core pixels of each image
    core_pixels = np.flatnonzero(flat)  # flat indices in the batch, image after image
    if not len(core_pixels):
        return np.ones(cores.shape, dtype=dtype)
    # The k-th core pixel of image i is core_pixels[starts[i] + k]: a uniform
    # pick per gap for all images at once.
    starts = np.cumsum(counts) - counts
    picks = (rng.random((n, max_breaks)) * counts[:, np.newaxis]).astype(np.intp)
    chosen = core_pixels[np.minimum(starts[:, np.newaxis] + picks, len(core_pixels) - 1)]
    rows, cols = np.divmod(chosen % (height * width), width)  # (n, max_breaks)
    wanted = rng.integers(0, max_breaks + 1, (n, 1)) > np.arange(max_breaks)
    rows = np.where(wanted & (counts[:, np.newaxis] > 0), rows, -2 * (height + width))
    # Squared distances to each gap, as a sum of a column and a row: (n, max_breaks, h, w).
    across = (np.arange(height, dtype=dtype) - rows[..., np.newaxis].astype(dtype)) ** 2
    along = (np.arange(width, dtype=dtype) - cols[..., np.newaxis].astype(dtype)) ** 2
    distances = np.sqrt(across[..., np.newaxis] + along[..., np.newaxis, :]).min(axis=1)
    # Soft over one pixel: gone within radius - 1/2, untouched beyond radius + 1/2.
    return np.clip(distances - (radius - 0.5), 0, 1, out=distances)


def _fading(fades, rng, row_bumps, col_bumps):
    """Factors (n, height, width) from 1 - fade to 1, varying smoothly over each image.

    The field is a sum of Gaussian bumps with random heights, one per knot
    of a coarse grid: ``row_bumps @ heights @ col_bumps.T`` for each image,
    far fewer random numbers and multiplications than blurring pixel noise.
    """
    n, (height, row_knots), (width, col_knots) = len(fades), row_bumps.shape, col_bumps.shape
    heights = rng.random((n, col_knots, row_knots), dtype=fades.dtype)
    field = np.matmul(heights.reshape(-1, row_knots), row_bumps.T)  # (n * col_knots, height)
    field = field.reshape(n, col_knots, height).transpose(0, 2, 1).reshape(-1, col_knots)
    field = np.matmul(field, col_bumps.T).reshape(n, height, width)
    field -= field.min(axis=(1, 2), keepdims=True)
    field /= np.maximum(field.max(axis=(1, 2), keepdims=True), np.finfo(fades.dtype).tiny)
    return 1 - fades * field


def _bumps(size, sigma, dtype):
    """(size, n_knots): Gaussians of width ``sigma`` centred every ``sigma`` pixels, and beyond."""
    knots = np.arange(-sigma, size + sigma, sigma)
    return np.exp(-0.5 * ((np.arange(size)[:, np.newaxis] - knots) / sigma) ** 2).astype(dtype)


def _blurred(images, sigmas):
    """Each image blurred by a Gaussian of its own width ``sigmas`` (n, 1, 1), zero padded."""
    height, width = images.shape[1:]
    blur_rows = _gaussian_matrices(height, sigmas)
    blur_cols = blur_rows if width == height else _gaussian_matrices(width, sigmas)
    return blur_rows @ images @ blur_cols


def _gaussian_matrices(size, sigmas):
    """(n, size, size) symmetric 1-D blur matrices, one per width in ``sigmas`` (n, 1, 1)."""
    distances = np.arange(size, dtype=sigmas.dtype)
    squares = (distances / np.maximum(sigmas, 1e-3)) ** 2  # (n, 1, size); width 0: identity
    # Cut at 8 sigma: beyond, exp underflows to subnormal numbers, which
    # make every product with them (and a network trained on them) slow.
    kernels = np.exp(-0.5 * np.minimum(squares, 64)) * (squares < 64)
    # Divided by the whole kernel's sum, so that ink away from the edges keeps its mass.
    kernels /= 2 * kernels.sum(axis=-1, keepdims=True) - 1
    offsets = np.abs(np.arange(size)[:, np.newaxis] - np.arange(size))
    return kernels[:, 0, offsets]  # (n, size, size): entry (i, j) is kernel[|i - j|]


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


def _checked_range(name, value, kind):
    """``value`` as a tuple ``(low, high)`` of ``kind`` numbers with low <= high, or raise."""
    if not (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(_is_finite_number(side) and _RANGE_RULES[kind](side) for side in value)
        and value[0] <= value[1]
    ):
        raise ValueError(
            f"Augmentation {name} must be two {kind} numbers (low, high) with "
            f"low <= high; got {value!r}."
        )
    return tuple(value)


def _is_finite_number(value):
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
