"""A line's pieces (whole strokes, and strokes wider than a digit cut along the paths
that cross the least ink) and its candidate digits: runs of neighbouring pieces.

A cut is a path from a stroke's top row to its bottom row, one column per row,
moving at most one column from row to row: it can pass between two digits
whose boxes overlap (a 7's bar over the next digit, a slanted 1), which a
straight cut cannot. A piece is the stroke's ink between two such paths.
"""

import itertools
import math
from typing import NamedTuple

import numpy as np

# A stroke wider than this many digit heights may hold several touching digits.
CUT_WIDTH = 0.6

# Cuts keep this share of a digit height from a stroke's ends and from each other.
CUT_MARGIN = 0.15
CUT_SPACING = 0.12

# A cut path stays within this share of a digit height of its starting column,
# and pays STEP_COST (in pixels of ink crossed) for each column it moves.
CUT_REACH = 0.25
STEP_COST = 0.05

# At most this many cuts per digit height of a stroke's width, and per stroke.
CUTS_PER_HEIGHT = 4
MAX_CUTS_PER_STROKE = 40

# A candidate digit spans at most this many pieces and this many digit heights
# of width (a single piece always counts, however wide).
MAX_SPAN = 6
MAX_WIDTH = 1.4


class Piece(NamedTuple):
    """The ink of stroke ``label`` from column ``left[r]`` up to ``right[r]`` (excluded)
    in each of its rows ``r`` (counted from the stroke's top row ``top``)."""

    label: int
    top: int
    left: np.ndarray
    right: np.ndarray


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
    """The line's pieces, left to right, as :class:`Piece`."""
    wide = [stroke for stroke in line.strokes if stroke.width > CUT_WIDTH * line.height]
    cuts_of = dict(
        zip([stroke.label for stroke in wide], _path_cuts(labels, ink, wide, line.height))
    )
    pieces = []
    for stroke in line.strokes:
        rows = stroke.height
        cuts = cuts_of.get(stroke.label, [])
        edges = [np.full(rows, stroke.left), *cuts, np.full(rows, stroke.right)]
        pieces += [Piece(stroke.label, stroke.top, lo, hi) for lo, hi in itertools.pairwise(edges)]
    return pieces


def _path_cuts(labels, ink, strokes, height):
    """For each stroke, the paths (absolute columns, one per row) that cut it where it
    has least ink, left to right, no two closer than ``CUT_SPACING`` digit heights; the
    cheapest paths of all the strokes are found together (one pass over the rows)."""
    margin = max(1, math.ceil(CUT_MARGIN * height))
    reach = max(1, round(CUT_REACH * height))
    costs, seeds = [], []
    for stroke in strokes:
        costs.append(_crossing_cost(stroke.own_ink(labels, ink)))
        seeds.append(np.arange(margin, stroke.width - margin + 1))  # c splits c-1 | c
    found = _cheapest_paths(costs, seeds, reach, margin)
    return [_chosen_cuts(stroke, *paths, height) for stroke, paths in zip(strokes, found)]


def _chosen_cuts(stroke, costs, paths, height):
    """The cheapest of a stroke's paths, no two closer than ``CUT_SPACING`` heights, at
    most ``CUTS_PER_HEIGHT`` per height, left to right, in absolute columns."""
    limit = min(MAX_CUTS_PER_STROKE, math.ceil(CUTS_PER_HEIGHT * stroke.width / height))
    spacing = max(1.0, CUT_SPACING * height)
    chosen, centres = [], []
    path_centres = paths.mean(axis=1).tolist()  # one call: a mean per path took longer
    for index in np.argsort(costs, kind="stable").tolist():
        if len(chosen) == limit or not math.isfinite(costs[index]):
            break
        centre = path_centres[index]
        if all(abs(centre - other) >= spacing for other in centres):
            chosen.append(paths[index])
            centres.append(centre)
    order = np.argsort(centres, kind="stable")
    cuts = [stroke.left + chosen[i] for i in order]
    # Paths from different seeds may cross; each cut stays right of the one before.
    for before, after in itertools.pairwise(cuts):
        np.maximum(after, before, out=after)
    return cuts


def _crossing_cost(patch):
    """``cost[r, c]``: the ink a cut between columns c-1 and c severs in row r, for
    c = 0..W (a cut at a stroke's edge severs nothing)."""
    padded = np.pad(patch, ((0, 0), (1, 1)))
    return np.minimum(padded[:, :-1], padded[:, 1:])  # (H, W + 1)


def _cheapest_paths(costs, seeds, reach, margin):
    """For each cost matrix (one per stroke, ``(rows, cuts)``) and each of its seed
    columns, the cheapest top-to-bottom path within ``reach`` columns of the seed and
    ``margin`` columns of the ends: a list of ``(costs, paths)``, paths as column indices
    of shape (seeds, rows).

    All the strokes' seeds are one dynamic programme, side by side: a shorter stroke's
    cost is padded with free rows below it, where its cheapest path goes straight down
    (a step costs more than nothing), so its cost and path are what it alone would give.
    """
    if not sum(len(own) for own in seeds):  # no stroke, or none wide enough to cut
        return [(np.zeros(0), np.zeros((0, cost.shape[0]), dtype=np.int64)) for cost in costs]
    n_rows = max(cost.shape[0] for cost in costs)
    offsets = np.cumsum([0] + [cost.shape[1] for cost in costs])
    joined = np.zeros((n_rows, offsets[-1]))
    window = np.arange(-reach, reach + 1)[:, None]
    columns, outside = [], []
    for cost, own_seeds, offset in zip(costs, seeds, offsets):
        joined[: cost.shape[0], offset : offset + cost.shape[1]] = cost
        # Offsets first, seeds second: the ways into a column from its neighbours are
        # then whole rows of these arrays, shifted by one (contiguous, not strided).
        these = window + own_seeds[None, :]  # (K, S)
        outside.append((these < margin) | (these > cost.shape[1] - 1 - margin))
        columns.append(np.clip(these, 0, cost.shape[1] - 1) + offset)
    columns, outside = np.concatenate(columns, axis=1), np.concatenate(outside, axis=1)
    crossing = np.where(outside, np.inf, joined[:, columns])  # (rows, K, S): inf off limits
    costs_found, paths = _viterbi(crossing, columns)
    found, start = [], 0
    for cost, own_seeds, offset in zip(costs, seeds, offsets):
        stop = start + len(own_seeds)
        found.append((costs_found[start:stop], paths[start:stop, : cost.shape[0]] - offset))
        start = stop
    return found


def _viterbi(crossing, columns):
    """``(costs, paths)``: the cheapest path down ``crossing`` (rows, K, S) for each seed
    ``s``, moving at most one of the K offsets a row, at ``STEP_COST`` a move; paths in
    the ``columns`` (K, S) the offsets stand for."""
    n_rows = crossing.shape[0]
    total = crossing[0].copy()  # (K, S)
    # Whether the path into (k, seed) came from k-1, or from k+1 (else from k). Ties go
    # to k-1, then k, then k+1. Plain comparisons, not argmin and choose over a stacked
    # axis: those took two thirds of a number's cutting time.
    from_left = np.zeros((n_rows, *columns.shape), dtype=bool)
    from_right = np.zeros((n_rows, *columns.shape), dtype=bool)
    # The ways in from k-1 and k+1 cost STEP_COST more; beyond the ends they stay infinite.
    left_way, right_way = np.full(columns.shape, np.inf), np.full(columns.shape, np.inf)
    best = np.empty(columns.shape)
    for row in range(1, n_rows):
        np.add(total[:-1], STEP_COST, out=left_way[1:])
        np.add(total[1:], STEP_COST, out=right_way[:-1])
        np.less_equal(left_way, total, out=from_left[row])
        np.minimum(left_way, total, out=best)
        np.less(right_way, best, out=from_right[row])
        np.minimum(right_way, best, out=best)
        np.add(best, crossing[row], out=total)
    end = np.argmin(total, axis=0)  # (S,)
    every = np.arange(columns.shape[1])
    costs = total[end, every]
    paths = np.empty((columns.shape[1], n_rows), dtype=np.int64)
    k = end
    for row in range(n_rows - 1, -1, -1):
        paths[:, row] = columns[k, every]
        right = from_right[row, k, every]
        k = k + right - (from_left[row, k, every] & ~right)
    return costs, paths


def line_candidates(labels, ink, line, pieces):
    """Every run of neighbouring pieces no wider than ``MAX_WIDTH`` digit heights (a
    single piece always counts), as :class:`Candidate`."""
    # Whether the cut before each piece (and after the last) goes through a stroke.
    through = [0] + [int(a.label == b.label) for a, b in itertools.pairwise(pieces)] + [0]
    # Each piece's ink once: a candidate's is the sum of its pieces' (they share no pixel).
    inks = [_piece_ink(labels, ink, piece) for piece in pieces]
    candidates = []
    for start in range(len(pieces)):
        left, right = math.inf, -math.inf  # of the run start..stop
        for stop in range(start + 1, min(start + MAX_SPAN, len(pieces)) + 1):
            piece_left, piece_right = inks[stop - 1][0]
            left, right = min(left, piece_left), max(right, piece_right)
            several = stop > start + 1  # a single piece always counts, however wide
            if several and right - left > MAX_WIDTH * line.height:
                break  # too wide for a digit
            crop, box = _render(inks[start:stop])
            if crop is not None:
                ends = through[start] + through[stop]
                candidates.append(Candidate(start, stop, crop, box, ends))
    return candidates


def _piece_ink(labels, ink, piece):
    """``(columns, box, patch)``: the columns ``(left, right)`` a :class:`Piece` may
    span, and its ink (its stroke's pixels between its two paths) cropped to that ink,
    with the box ``(x0, y0, x1, y1)`` of that ink in pixels of the ink image (box and
    patch None for a piece without ink)."""
    left, right = int(piece.left.min()), int(piece.right.max())
    rows = slice(piece.top, piece.top + len(piece.left))
    columns = np.arange(left, right)[None, :]
    inside = (columns >= piece.left[:, None]) & (columns < piece.right[:, None])
    mask = inside & (labels[rows, left:right] == piece.label)
    ink_rows, ink_cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(ink_rows) == 0:
        return (left, right), None, None
    y0, y1, x0, x1 = ink_rows[0], ink_rows[-1] + 1, ink_cols[0], ink_cols[-1] + 1
    patch = np.where(mask[y0:y1, x0:x1], ink[rows, left:right][y0:y1, x0:x1], 0.0)
    box = (left + int(x0), piece.top + int(y0), left + int(x1), piece.top + int(y1))
    return (left, right), box, patch


def _render(parts):
    """The ink of some pieces (as :func:`_piece_ink` gives them) in the box that holds
    it all, and that box ``(x0, y0, x1, y1)``; ``(None, None)`` when there is no ink.

    The box comes from the pieces' own boxes, so nothing is searched for ink here:
    this runs for every candidate, several times per piece.
    """
    parts = [(box, patch) for _, box, patch in parts if box is not None]
    if not parts:
        return None, None
    x0 = min(box[0] for box, _ in parts)
    y0 = min(box[1] for box, _ in parts)
    x1 = max(box[2] for box, _ in parts)
    y1 = max(box[3] for box, _ in parts)
    crop = np.zeros((y1 - y0, x1 - x0))
    for (left, top, right, bottom), patch in parts:
        crop[top - y0 : bottom - y0, left - x0 : right - x0] += patch
    return crop, (x0, y0, x1, y1)
