"""The strip reader: a fourth model that reads run-together digits without cutting them.

Where digits touch or overlap, no cut may separate them: every piece holds
ink of two digits, and a crop of one digit carries parts of its neighbours.
The strip reader looks at such a stroke through a window that slides along
it, one column at a time (the stroke scaled to :data:`INNER` pixels high, in
windows of :data:`ROWS` by :data:`WINDOW`), and says for each window whether
a digit is centred in it, and which (classes 0-9), or not (:data:`BLANK`).
Its neighbours' ink is in the window too, as it was in its lessons: numbers
of MNIST *training* digits composed close, touching and overlapping
(:mod:`hdrnn.reading.build`). This is Matan et al.'s "space displacement"
idea (1992) with a multilayer perceptron.

The stroke's digits are the peaks of the windows' digit probability, no two
closer than :data:`PEAK_GAP` pixels, and the narrow 1s squeezed between
them (:data:`ONE_GAP`); each digit's probabilities are the sum over the
windows around its peak. In the search (:mod:`hdrnn.reading._search`)
the stroke read this way is one more candidate, which counts as as many
digits as it found.
"""

import functools
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hdrnn.preprocessing import resize_ink

# A stroke is scaled to INNER pixels high, in the middle of ROWS; windows are
# WINDOW columns wide, one per column of the scaled stroke.
ROWS, INNER, WINDOW = 28, 20, 32

# The class of a window with no digit centred in it.
BLANK = 10

# In the lessons, a window is the digit whose centre is within CENTRE_NEAR
# columns of its own, BLANK when no centre is within CENTRE_FAR, and left out
# between the two (either answer is fair there).
CENTRE_NEAR, CENTRE_FAR = 2.0, 4.0

# Reading: a digit is a peak of the (3-column mean) probability that some
# digit is centred there, at least PEAK_LEVEL, no two peaks closer than
# PEAK_GAP columns; its probabilities are summed over PEAK_REACH columns each
# side. Chosen on numbers of MNIST test digits 0-4999, seed 7; then PEAK_GAP
# 7 instead of 8 read 1.7% more of 720 photographed numbers of those digits,
# pen strokes and fonts exactly, on each of two seeds (8 and 9; 6 or a rule
# that asks for a dip between two peaks gained less): fewer digits squeezed
# between their neighbours are missed.
PEAK_LEVEL, PEAK_GAP, PEAK_REACH = 0.1, 7, 2

# A 1 is narrow: where digits touch, its centre may be closer to a
# neighbour's than PEAK_GAP, and the neighbour's peak hides it. So after the
# peaks above, a column is a 1 too where the (3-column mean) probability of
# a 1 centred there is at least ONE_LEVEL and no peak is within ONE_GAP
# columns. Missing digits were most of the reader's errors where digits
# touch, and most of those were 1s; on 720 photographed numbers (MNIST test
# digits 0-4999, pen strokes and fonts) of each of three seeds (8, 9, 10)
# this read 6, 4 and 4 more numbers exactly (1 with the 1's own peak level
# and gap as low as PEAK_LEVEL and PEAK_GAP would add many false 1s).
ONE, ONE_LEVEL, ONE_GAP = 1, 0.5, 4

# Strokes wider than this many line heights are read as strips as well (one
# digit is rarely wider; two run together nearly always are).
STRIP_MIN_WIDTH = 0.9

# At most this many windows per image (about 70 MB of them, and as many of the
# model's first-layer answers): a line of ten touching digits has about 150, a
# page of 50 such lines 7500. Strokes past it are read by their cuts alone.
MAX_STRIP_WINDOWS = 20_000


class StripDigit(NamedTuple):
    """A digit the strip reader found: its probabilities over 0-9 (summing to 1), its
    box ``(x0, y0, x1, y1)`` in pixels of the ink image, and how sure the reader is
    that a digit is centred there (the peak's height, 0 to 1)."""

    probabilities: np.ndarray
    box: tuple
    centred: float


@functools.cache
def shipped_strips():
    """The shipped strip reader (loaded once, then shared: reading never changes it)."""
    from hdrnn.pretrained import load_pretrained

    return load_pretrained("strips")


def stroke_window_count(stroke):
    """How many windows :func:`stroke_windows` cuts from a stroke (its scaled width + 1)."""
    return max(1, round(stroke.width * INNER / stroke.height)) + 1


def stroke_windows(labels, ink, stroke):
    """``(windows, scale)``: the stroke's windows as rows of shape (columns + 1,
    ``ROWS * WINDOW``), float32 (window ``j`` is centred on column ``j`` of the
    stroke scaled by ``scale``), the stroke's own ink only."""
    patch = stroke.own_ink(labels, ink)
    scale = INNER / stroke.height
    width = stroke_window_count(stroke) - 1
    strip = np.zeros((ROWS, width + WINDOW), dtype=np.float32)
    top, left = (ROWS - INNER) // 2, WINDOW // 2
    strip[top : top + INNER, left : left + width] = resize_ink(patch, (INNER, width), scale)
    windows = sliding_window_view(strip, (ROWS, WINDOW))[0]  # (width + 1, ROWS, WINDOW)
    return windows.reshape(len(windows), -1), scale


def window_classes(n_windows, centres, digits):
    """Each window's class for the lessons: a digit, :data:`BLANK`, or -1 (left out).

    Parameters
    ----------
    n_windows : int
    centres : ndarray of shape (n_digits,)
        The stroke's digits' centres, in columns of the scaled stroke.
    digits : sequence of int
    """
    if len(centres) == 0:
        return np.full(n_windows, BLANK)
    distance = np.abs(np.arange(n_windows)[:, None] - np.asarray(centres)[None, :])
    nearest, gap = distance.argmin(axis=1), distance.min(axis=1)
    classes = np.where(gap <= CENTRE_NEAR, np.asarray(digits)[nearest], BLANK)
    return np.where((gap > CENTRE_NEAR) & (gap <= CENTRE_FAR), -1, classes)


def read_strip(probabilities, labels, stroke, scale):
    """The digits of one stroke, left to right, as :class:`StripDigit`.

    Parameters
    ----------
    probabilities : ndarray of shape (n_windows, 11)
        The strip reader's answer for each of :func:`stroke_windows`' windows.
    labels : ndarray of shape (rows, cols)
        The ink's stroke labels (for each digit's rows).
    stroke : Stroke
    scale : float
        As :func:`stroke_windows` gave it.
    """
    smooth = _mean3(1.0 - probabilities[:, BLANK])
    peaks = _peaks(smooth, PEAK_LEVEL, PEAK_GAP, [])
    peaks = sorted(_peaks(_mean3(probabilities[:, ONE]), ONE_LEVEL, ONE_GAP, peaks))
    centres = stroke.left + np.array(peaks) / scale  # in ink columns
    edges = [stroke.left, *((centres[1:] + centres[:-1]) / 2).round().astype(int), stroke.right]
    mine = labels[stroke.top : stroke.bottom] == stroke.label
    found = []
    for peak, x0, x1 in zip(peaks, edges, edges[1:]):
        summed = probabilities[max(0, peak - PEAK_REACH) : peak + PEAK_REACH + 1, :BLANK].sum(0)
        rows = np.flatnonzero(mine[:, x0:x1].any(axis=1))
        y0, y1 = (rows[0], rows[-1] + 1) if len(rows) else (0, len(mine))
        box = (int(x0), stroke.top + int(y0), int(x1), stroke.top + int(y1))
        proba = summed / max(float(summed.sum()), 1e-12)
        found.append(StripDigit(proba, box, float(smooth[peak])))
    return found


def _mean3(values):
    """The mean of each column's value and its two neighbours' (0 beyond the ends)."""
    return np.convolve(values, np.ones(3) / 3, mode="same")


def _peaks(heights, level, gap, peaks):
    """``peaks`` (columns) and, highest first, every column of ``heights`` at least
    ``level`` high that is at least ``gap`` columns from each peak taken so far."""
    peaks = list(peaks)
    for column in np.argsort(-heights, kind="stable"):
        if heights[column] < level:
            break
        if all(abs(column - peak) >= gap for peak in peaks):
            peaks.append(int(column))
    return peaks
