"""The strip reader's lessons: windows along the strokes of composed numbers, each
labelled with the digit centred in it (or none), from the number's known boxes.

Numbers of 2-6 digits are composed from MNIST *training* digits (some of them
distorted first: another pen, slant and shape) close, touching or
overlapping, half of them photographed, and their ink is found and laid out
exactly as :func:`~hdrnn.reading.read_number` does it. Every stroke of the
(single) line is a strip: the digits whose ink is mostly in it are its digits,
their box centres its centres (:func:`~hdrnn.reading._strips.window_classes`).
Used by :mod:`hdrnn.reading.build`.
"""

import numpy as np

from hdrnn.datasets import synthetic
from hdrnn.preprocessing import find_ink
from hdrnn.reading._chunks import distorted_pool, in_chunks
from hdrnn.reading._layout import find_lines
from hdrnn.reading._strips import BLANK, ROWS, WINDOW, stroke_windows, window_classes
from hdrnn.reading._verifier import owners_with_blur

# The spacings the strip reader learns from (apart digits are strokes of their own).
STRIP_SPACINGS = ("close", "touching", "overlapping")

# A stroke's digits: those with more than this share of their ink pixels in it.
MOSTLY = 0.5


def strip_lessons(
    images, labels, n_numbers, seed, *, jobs=1, photographed=0.5, blanks_kept=0.5, distorted=0.0
):
    """``(X, y)``: windows of the strokes of ``n_numbers`` numbers and their classes.

    Parameters
    ----------
    images : ndarray of shape (n, 28, 28)
        The digits to compose numbers from, ink in [0, 1].
    labels : ndarray of shape (n,)
    n_numbers : int
    seed : int
        Chunk ``c`` of ``_chunks.CHUNK`` (500) numbers draws from ``(seed, c)``.
    jobs : int, default=1
        Processes (the result does not depend on it).
    photographed : float, default=0.5
        Share of numbers photographed rather than clean.
    blanks_kept : float, default=0.5
        Share of the windows with no digit centred in them that are kept (they
        are most windows).
    distorted : float, default=0.0
        Share of the digits given a new pen, slant and shape (the ``"handwriting"``
        augmentation of :mod:`hdrnn.augmentation`) before they are composed.
    """
    shares = (photographed, blanks_kept, distorted)
    return in_chunks(
        _chunk, n_numbers, seed, jobs=jobs, features=ROWS * WINDOW, args=(images, labels, shares)
    )


def _chunk(images, labels, shares, size, seed):
    """The labelled windows of one chunk of numbers (``shares``: photographed, blanks
    kept, distorted)."""
    photographed, blanks_kept, distorted = shares
    rng = np.random.default_rng(seed)
    if distorted > 0:
        images, labels = distorted_pool(images, labels, size, distorted, rng)
    numbers, truths = synthetic.make_numbers(
        images, labels, size, rng, lengths=(2, 6), spacing=STRIP_SPACINGS
    )
    Xs, ys = [], []
    for ink, truth in zip(numbers, truths):
        photo = rng.random() < photographed
        found = find_ink(synthetic.photograph(ink, rng) if photo else synthetic.as_paper(ink))
        found_ink = np.asarray(found.ink, dtype=np.float64)
        if found_ink.shape != truth.owners.shape:
            continue  # a shrunk copy: no pixel truth
        strokes_of, lines = find_lines(found_ink)
        if len(lines) != 1:
            continue
        owners = owners_with_blur(truth.owners)
        for X, y in _stroke_lessons(strokes_of, found_ink, lines[0], owners, truth):
            keep = (y >= 0) & ((y != BLANK) | (rng.random(len(y)) < blanks_kept))
            Xs.append(X[keep])
            ys.append(y[keep])
    if not Xs:
        return np.zeros((0, ROWS * WINDOW), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate(Xs), np.concatenate(ys)


def _stroke_lessons(strokes_of, ink, line, owners, truth):
    """``(windows, classes)`` of each stroke of the line that holds a digit."""
    centres = (truth.boxes[:, 0] + truth.boxes[:, 2]) / 2
    digit_pixels = np.bincount(owners[owners >= 0], minlength=len(truth.labels))
    for stroke in line.strokes:
        rows, cols = slice(stroke.top, stroke.bottom), slice(stroke.left, stroke.right)
        whose = owners[rows, cols][strokes_of[rows, cols] == stroke.label]
        pixels = np.bincount(whose[whose >= 0], minlength=len(truth.labels))
        mine = np.flatnonzero(pixels > MOSTLY * np.maximum(digit_pixels, 1))
        if len(mine) == 0:
            continue
        X, scale = stroke_windows(strokes_of, ink, stroke)
        digits = np.asarray(truth.labels)[mine]
        yield X, window_classes(len(X), (centres[mine] - stroke.left) * scale, digits)
