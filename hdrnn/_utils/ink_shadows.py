"""Sharp shadows across the paper: which way round the ink is, and the paper under them.

A phone held over a sheet casts a shadow with a sharp edge across it. Two
things then go wrong with the paper found from cells (``ink_paper``):

- *Which way round*: the shadowed paper is a second level between the ink
  and the lit paper. When the paper's typical level falls between the two,
  the lit paper can look like light ink on a dark ground, and the whole lit
  area became "the digit". :func:`ink_is_dark` decides by the surroundings
  instead: each pixel against the median of a wide window around it. A
  median keeps a shadow's edge where it is (the edge vanishes from the
  difference), while thin strokes stand out from it, darker or lighter.
- *The paper under the shadow*: cells and their smooth fill blur the edge,
  so the paper in the shadow is taken for too bright, and the shadow for
  ink. :func:`shadowed_paper` follows the edge with a closing (the largest
  nearby brightness, then the smallest of those), which fills strokes
  narrower than its window with the paper around them and keeps larger
  dark areas, a shadow's, as they are.

Both work on the analysed copy, with the ink made dark for the second.
"""

import math

import numpy as np
from scipy import ndimage

from hdrnn._utils.images import block_mean

# The polarity is judged on a copy about this many pixels along its longer
# side, against the median of a window of a quarter of its shorter side
# (wider than strokes, so that the median is the paper around them).
POLARITY_SIDE = 48
POLARITY_WINDOW = 0.25

# The closing's window: this share of the image's shorter side (wider than a
# stroke of a tightly cropped digit, narrower than a shadow).
SHADOW_WINDOW = 1 / 6

# A shadow is where the closing finds the paper darker than the cells said,
# by more than this on the 0-1 scale (and 4 noise sigmas), in one piece that
# touches the image's edge and covers at least SHADOW_AREA of it.
SHADOW_DEPTH = 0.04
SHADOW_NOISE_SIGMAS = 4.0
SHADOW_AREA = 0.002


def ink_is_dark(small):
    """Whether the ink is darker than the paper, judged by how pixels stand out from
    the median around them (the 99th percentile each way)."""
    factor = max(1, math.ceil(max(small.shape) / POLARITY_SIDE))
    coarse = block_mean(small, factor)
    window = max(3, 2 * int(POLARITY_WINDOW * min(coarse.shape)) + 1)
    residual = coarse - ndimage.median_filter(coarse, size=window, mode="nearest")
    darker, lighter = np.percentile(-residual, 99), np.percentile(residual, 99)
    return bool(darker > lighter)


def shadowed_paper(dark, paper, noise):
    """The paper's brightness per pixel with the sharp shadows followed, or None.

    Parameters
    ----------
    dark : ndarray of shape (rows, cols)
        The analysed copy with the ink made dark.
    paper : ndarray broadcastable to ``dark``'s shape
        The paper's brightness found from cells.
    noise : float
        The paper's noise, a standard deviation on the 0-1 scale.

    Returns
    -------
    paper : ndarray of shape (rows, cols) or None
        The darker of ``paper`` and the closing in and around each shadow;
        None when there is no shadow (``paper`` stands).
    """
    paper = np.broadcast_to(paper, dark.shape)
    window = max(3, 2 * round(SHADOW_WINDOW * min(dark.shape) / 2) + 1)
    closed = ndimage.grey_closing(dark, size=(window, window), mode="nearest")
    deeper = paper - closed > max(SHADOW_DEPTH, SHADOW_NOISE_SIGMAS * noise)
    labels, n_labels = ndimage.label(deeper)
    if n_labels == 0:
        return None
    at_edge = np.zeros(n_labels + 1, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        at_edge[edge] = True
    area = np.bincount(labels.ravel(), minlength=n_labels + 1)
    shadows = at_edge & (area >= SHADOW_AREA * dark.size)
    shadows[0] = False
    if not shadows.any():
        return None
    # And around them: a shadow's soft edge starts before the closing says so.
    near = ndimage.binary_dilation(shadows[labels], iterations=max(1, window // 2))
    return np.where(near, np.minimum(paper, closed), paper)
