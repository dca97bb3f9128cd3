"""European 1s for the shipped model's training: MNIST 1s given the flag many writers add.

MNIST's writers were American: their 1s are mostly bare strokes, and a model
trained on them reads a 1 with a flag (the short stroke that leads down to
the left from its top) as a 7. :func:`flag_ones` draws such a flag on copies
of MNIST *training* 1s, at a random length, angle and weight, with the pen
of the 1 itself, and prepares them as MNIST's digits are (20x20 box, centred
by mass), so that the model learns both kinds of 1. It knows nothing of the
handwriting set's writers (:mod:`hdrnn.pretrained.handwriting`), which stay
a test of handwriting the model has not seen.
"""

import math

import numpy as np

from hdrnn.preprocessing import prepare_inks

# The flag's length as a share of the 1's height, and its angle below the
# horizontal (degrees), leading left from the top of the stroke.
FLAG_LENGTH = (0.15, 0.35)
FLAG_ANGLE = (30.0, 65.0)

# The flag's pen: this share of the 1's stroke width (a flag is often drawn lighter).
FLAG_WEIGHT = (0.7, 1.1)

# Ink above this share of a digit's darkest is its stroke.
STROKE_LEVEL = 0.5


def flag_ones(images, labels, n, random_state):
    """``n`` flagged copies of the 1s among ``images`` (labelled ``labels``), as MNIST rows.

    Parameters
    ----------
    images : ndarray of shape (n_images, 784)
        MNIST digits, ink in [0, 1].
    labels : ndarray of shape (n_images,)
    n : int
        How many flagged 1s to make (1s are drawn with replacement).
    random_state : int
        Seed for the choice of 1s and each flag's length, angle and weight.

    Returns
    -------
    X : ndarray of shape (n, 784), float32
        The flagged 1s, prepared as MNIST's digits are.
    """
    rng = np.random.default_rng(random_state)
    ones = np.flatnonzero(np.asarray(labels) == 1)
    if n <= 0 or len(ones) == 0:
        return np.zeros((0, 784), dtype=np.float32)
    chosen = rng.choice(ones, size=n)
    inks = [_with_flag(images[i].reshape(28, 28), rng) for i in chosen]
    return prepare_inks(inks, (28, 28)).astype(np.float32)


def _with_flag(one, rng):
    """A copy of the 28x28 ink of a 1 with a flag drawn from its top."""
    stroke = one >= STROKE_LEVEL * one.max()
    rows = np.flatnonzero(stroke.any(axis=1))
    top, height = rows[0], rows[-1] - rows[0] + 1
    # The top end: the middle of the stroke in its first two rows.
    top_x = float(np.mean(np.flatnonzero(stroke[top : top + 2].any(axis=0))))
    width = stroke.sum() / height  # the stroke's width, from its area
    length = rng.uniform(*FLAG_LENGTH) * height
    angle = math.radians(rng.uniform(*FLAG_ANGLE))
    start = np.array([top + 0.5, top_x + 0.5])  # (y, x) at pixel centres
    end = start + length * np.array([math.sin(angle), -math.cos(angle)])
    radius = 0.5 * width * rng.uniform(*FLAG_WEIGHT)
    level = float(np.percentile(one[stroke], 90))
    # Margin so that a flag leaving the 28x28 box is kept whole.
    pad = math.ceil(length) + 2
    canvas = np.pad(one, pad)
    flag = _segment_ink(canvas.shape, start + pad, end + pad, radius) * level
    return np.maximum(canvas, flag)


def _segment_ink(shape, start, end, radius):
    """Anti-aliased ink of a round pen of ``radius`` from ``start`` to ``end`` (y, x)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    points = np.stack([ys, xs], axis=-1) - start  # (H, W, 2)
    along = end - start
    t = np.clip(points @ along / max(float(along @ along), 1e-9), 0.0, 1.0)
    distance = np.linalg.norm(points - t[..., None] * along, axis=-1)
    return np.clip(radius + 0.5 - distance, 0.0, 1.0)
