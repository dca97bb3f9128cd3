"""A line's pieces (whole strokes, and strokes wider than a digit cut at the valleys of
their ink profile) and its candidate digits: runs of neighbouring pieces."""

import itertools
import math
from typing import NamedTuple

import numpy as np
from scipy import ndimage

# A stroke wider than this many digit heights may hold several touching digits.
CUT_WIDTH = 0.9

# Cuts keep this share of a digit height from a stroke's ends and from each other.
CUT_MARGIN = 0.15
CUT_SPACING = 0.2

# At most this many cuts per digit height of a stroke's width, and per stroke.
CUTS_PER_HEIGHT = 2.5
MAX_CUTS_PER_STROKE = 40

# A candidate digit spans at most this many pieces and this many digit heights
# of width (a single piece always counts, however wide).
MAX_SPAN = 6
MAX_WIDTH = 1.4


class Candidate(NamedTuple):
    """A candidate digit: pieces ``start`` to ``stop`` (excluded) of its line, its ink
    crop, the box of that ink ``(x0, y0, x1, y1)`` in pixels of the ink image, and how
    many of its two ends are cuts through a stroke (not a stroke's own end)."""

    start: int
    stop: int
    crop: np.ndarray
    box: tuple
    cut_ends: int


def line_pieces(labels, ink, line):
    """The line's pieces, left to right: ``(label, left, right)``, the columns of one stroke."""
    pieces = []
    for stroke in line.strokes:
        cuts = []
        if stroke.width > CUT_WIDTH * line.height:
            cuts = _valley_cuts(labels, ink, stroke, line.height)
        edges = [stroke.left, *cuts, stroke.right]
        pieces += [(stroke.label, lo, hi) for lo, hi in itertools.pairwise(edges)]
    return pieces


def _valley_cuts(labels, ink, stroke, height):
    """Columns where the stroke's ink profile has its lowest valleys, left to right."""
    rows, cols = slice(stroke.top, stroke.bottom), slice(stroke.left, stroke.right)
    profile = np.where(labels[rows, cols] == stroke.label, ink[rows, cols], 0.0).sum(axis=0)
    profile = ndimage.uniform_filter1d(profile, 3, mode="nearest")  # (width,)
    margin = max(1, math.ceil(CUT_MARGIN * height))
    inner = np.arange(margin, stroke.width - margin + 1)
    if len(inner) == 0:
        return []
    # A cut at column c splits columns < c from columns >= c: a valley between them.
    before, after = profile[inner - 1], profile[np.minimum(inner, stroke.width - 1)]
    valley = np.minimum(before, after)
    is_low = np.ones(len(inner), dtype=bool)
    is_low[1:] &= valley[1:] <= valley[:-1]
    is_low[:-1] &= valley[:-1] <= valley[1:]
    limit = min(MAX_CUTS_PER_STROKE, math.ceil(CUTS_PER_HEIGHT * stroke.width / height))
    spacing = max(1, CUT_SPACING * height)
    chosen = []
    for index in np.argsort(valley + np.where(is_low, 0.0, np.inf), kind="stable"):
        if not is_low[index] or len(chosen) == limit:
            break
        if all(abs(inner[index] - other) >= spacing for other in chosen):
            chosen.append(int(inner[index]))
    return sorted(stroke.left + c for c in chosen)


def line_candidates(labels, ink, line, pieces):
    """Every run of neighbouring pieces that could be one digit, as :class:`Candidate`."""
    strokes = {stroke.label: stroke for stroke in line.strokes}
    # Whether the cut before each piece (and after the last) goes through a stroke.
    through = [0] + [int(a[0] == b[0]) for a, b in itertools.pairwise(pieces)] + [0]
    candidates = []
    for start in range(len(pieces)):
        span = {}
        for stop in range(start + 1, min(start + MAX_SPAN, len(pieces)) + 1):
            label, lo, hi = pieces[stop - 1]
            old = span.get(label, (lo, hi))
            span[label] = (min(old[0], lo), max(old[1], hi))
            left = min(lo for lo, _ in span.values())
            right = max(hi for _, hi in span.values())
            if stop > start + 1 and right - left > MAX_WIDTH * line.height:
                break
            crop, box = _render(labels, ink, span, strokes)
            if crop is not None:
                ends = through[start] + through[stop]
                candidates.append(Candidate(start, stop, crop, box, ends))
    return candidates


def _render(labels, ink, span, strokes):
    """The ink of the columns ``span[label] = (left, right)`` of each stroke, cropped
    to that ink, and its box; ``(None, None)`` when there is no ink."""
    top = min(strokes[label].top for label in span)
    bottom = max(strokes[label].bottom for label in span)
    left = min(lo for lo, _ in span.values())
    right = max(hi for _, hi in span.values())
    region = labels[top:bottom, left:right]
    mask = np.zeros(region.shape, dtype=bool)
    for label, (lo, hi) in span.items():
        mask[:, lo - left : hi - left] |= region[:, lo - left : hi - left] == label
    crop = np.where(mask, ink[top:bottom, left:right], 0.0)
    rows, cols = np.flatnonzero(crop.any(axis=1)), np.flatnonzero(crop.any(axis=0))
    if len(rows) == 0:
        return None, None
    crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return crop, (
        left + int(cols[0]),
        top + int(rows[0]),
        left + int(cols[-1]) + 1,
        top + int(rows[-1]) + 1,
    )
