"""Helpers shared by the synthetic handwriting generators: randomness, ink boxes, resizing."""

from numbers import Integral

import numpy as np
from scipy import ndimage

# Pixels with at least this much ink coverage count as ink for boxes and
# gaps (the same share as hdrnn.preprocessing's crop threshold: fainter
# pixels are anti-aliasing fringes).
INK_LEVEL = 0.25

# Largest side of an image the generators make: bounds memory and time for
# any argument they accept.
MAX_SIDE = 1024


def as_paper(ink):
    """Dark ink on white paper, uint8: a clean scan of ink coverage in [0, 1].

    :func:`~hdrnn.datasets.synthetic.photograph` makes a photo of the ink instead.

    Examples
    --------
    >>> as_paper(np.array([[0.0, 0.5, 1.0]]))
    array([[255, 128,   0]], dtype=uint8)
    """
    return np.round(255 * (1.0 - np.asarray(ink))).astype(np.uint8)


def as_generator(random_state):
    """Turn an int, None or a Generator into a ``numpy.random.Generator`` (a Generator as is)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, Integral):
        return np.random.default_rng(random_state)
    raise TypeError(
        "random_state must be an int, a numpy.random.Generator or None; got "
        f"{type(random_state).__name__}. Pass e.g. random_state=0 or np.random.default_rng(0)."
    )


def check_count(name, value, low, high):
    """Return ``value`` as an int after checking ``low <= value <= high``."""
    if not isinstance(value, Integral) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(
            f"{name} must be an integer from {low} to {high}; got {value!r}. "
            f"Pass a value in that range."
        )
    return int(value)


def ink_box(ink, level=INK_LEVEL):
    """``(x0, y0, x1, y1)`` of the pixels with ``ink >= level`` (x1, y1 exclusive), or None."""
    rows = np.flatnonzero((ink >= level).any(axis=1))
    cols = np.flatnonzero((ink >= level).any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def crop_to_ink(ink, level=INK_LEVEL):
    """The part of ``ink`` inside its ink box (the whole image when it has no ink)."""
    box = ink_box(ink, level)
    if box is None:
        return ink
    x0, y0, x1, y1 = box
    return ink[y0:y1, x0:x1]


def resize(image, shape):
    """Resize a 2-D float image to ``shape`` with anti-aliasing (blur before shrinking)."""
    scale = min(new / old for new, old in zip(shape, image.shape))
    if scale < 1:
        # Detail finer than the new pixels would alias into jagged strokes.
        image = ndimage.gaussian_filter(image, sigma=(1 / scale - 1) / 2, mode="constant")
    zoom = [new / old for new, old in zip(shape, image.shape)]
    resized = ndimage.zoom(image, zoom, order=1, mode="grid-constant", grid_mode=True)
    return np.clip(resized, 0.0, 1.0)


def fit_in_square(ink, size, fill):
    """Scale ``ink`` so its longer side is ``fill * size`` and centre it in a ``size`` square."""
    ink = crop_to_ink(ink, level=0.02)
    scale = fill * size / max(ink.shape)
    shape = tuple(max(1, min(size - 2, round(float(side * scale)))) for side in ink.shape)
    digit = resize(ink, shape)
    canvas = np.zeros((size, size))
    top = (size - shape[0]) // 2
    left = (size - shape[1]) // 2
    canvas[top : top + shape[0], left : left + shape[1]] = digit
    return canvas
