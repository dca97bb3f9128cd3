"""Ruled lines and frames around digits: find them among the strokes, take them out.

A *segment* is a long, thin, straight run of ink, horizontal or vertical
(vertical ones are found as horizontal ones of the transposed strokes). It
may slant or wobble a little: runs are measured on the strokes widened
across the run by a few pixels. It must be straight: a digit's arc
is not a segment, however flat its top.

- *Ruled lines* are horizontal segments across RULED_SPAN of the image that
  reach past the rest of the ink at both ends. Where a digit crosses one or
  runs along it, the ink is kept. Vertical ones (a margin, squared paper) go only when
  horizontal ones were found too: alone, a tall straight stroke is a 1.
- *A frame* is the outermost two horizontal and two vertical segments, each
  at least SEGMENT_SPAN of the ink's extent, when they close a box with a
  mark inside it; each side, with the ink along it that is too short to be
  a segment (a side broken by grain), covers BOX_COVER of the box (one side
  may cover only BROKEN_SIDE of it, when the box is not touched by strokes at
  both top and bottom). Each side
  is peeled from its outer edge by the frame line's own thickness, so a
  digit that touches the frame from inside stays. A wide box whose top and
  bottom the strokes leave all along is a number's own outline (its digits'
  tops and bottoms), not a frame.
"""

import math
from typing import NamedTuple

import numpy as np
from scipy import ndimage

# A segment is at least this share of the ink's width (height) long, and at
# most MAX_THICKNESS of its length thick (in the thinner quarter of its columns).
SEGMENT_SPAN = 0.5
MAX_THICKNESS = 0.2

# Runs are measured on the strokes widened by half a stroke width, at most
# this many pixels, each way: a line slanting by 2 degrees keeps runs of
# 8 / tan(2 deg) = 230 pixels, and strokes near a line do not merge with it.
MAX_TOLERANCE = 4

# And at least this many: with thin pens, a frame photographed a little askew
# (3 degrees over 60 pixels drifts 3 rows) still has runs along its sides.
MIN_TOLERANCE = 2

# A segment's edge strays from a straight line by at most this share of its
# length (in the median): a ruled or hand-drawn line does, a digit's arc not.
STRAIGHTNESS = 0.03

# A ruled line crosses at least this share of the image; it is taken out
# where the ink around it is no more than LINE_SLACK pixels thicker than it.
RULED_SPAN = 0.85
LINE_SLACK = 2

# A frame's sides each cover this share of the box they close, and the mark
# inside holds at least FRAME_CONTENT as much ink as the frame.
BOX_COVER = 0.85
FRAME_CONTENT = 0.1

# One side may cover as little as BROKEN_SIDE of the box when the other three
# close it (chalk or pencil grain breaks a side into dashes with wide gaps),
# unless strokes leave both the box's top and its bottom in over FRAME_TOUCH of
# their columns (below), or more than BEYOND as much ink as that side holds lies
# beyond it (the side was a digit's stroke). Of 584 frames drawn around
# photographed digits, 15 more were found so (539 of 584), and none on 960
# photographed numbers without a frame.
BROKEN_SIDE = 0.6
BEYOND = 0.1

# The tops and bottoms of a number written close together line up like the
# sides of a box, but the digits' strokes leave them all along: a box wider
# than NUMBER_BOX times its height is not a frame when ink runs on inward
# past both its top and its bottom line in over FRAME_TOUCH of their columns.
# Of 448 boxes found on photographed numbers, none of the 419 drawn ones was
# touched so at both, and 27 of the 29 made of digits were (all 29 were over
# 1.6 times wider than high). A box around one digit may hug it on all sides.
NUMBER_BOX = 1.3
FRAME_TOUCH = 0.08

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


class Segment(NamedTuple):
    """A horizontal segment: its label and box, in the strokes it was found on."""

    label: int
    rows: slice
    cols: slice

    @property
    def centre(self):
        return (self.rows.start + self.rows.stop) / 2

    @property
    def length(self):
        return self.cols.stop - self.cols.start


def remove_lines(strokes, stroke_width):
    """``(strokes, n_lines, n_frames)``: the strokes without ruled lines and a frame."""
    if not strokes.any():
        return strokes, 0, 0
    tolerance = min(max(MIN_TOLERANCE, round(stroke_width / 2)), MAX_TOLERANCE)
    across = _across(strokes, tolerance)
    lines, n_lines = _ruled(strokes, *across)
    if n_lines:
        lines_down, n_down = _ruled(strokes.T, *_across(strokes.T, tolerance))
        lines, n_lines = lines | _bare_line(strokes.T, lines_down).T, n_lines + n_down
        lines = _bare_line(strokes, lines)
        strokes = strokes & ~lines
        if not strokes.any():
            return strokes, n_lines, 0
        # Found again on what is left, against its own extent: the sides of a frame
        # that the lines crossed lost pixels there (a gap _segments bridges as it
        # bridges dashes), and are short beside lines that crossed the whole image.
        across = _across(strokes, tolerance)
    frame = _frame(strokes, across, tolerance)
    if frame is None:
        return strokes, n_lines, 0
    return strokes & ~frame, n_lines, 1


def _across(strokes, tolerance):
    """``(labels, segments)``: the horizontal segments of the strokes, at least
    SEGMENT_SPAN of the ink's width long (the vertical ones: pass ``strokes.T``)."""
    cols = np.flatnonzero(strokes.any(axis=0))
    return _segments(strokes, tolerance, SEGMENT_SPAN * (cols[-1] - cols[0] + 1))


def _segments(mask, tolerance, min_length):
    """``(labels, segments)``: the horizontal segments of ``mask`` and their labels."""
    # A faint line breaks into dashes where the light is weak: runs are
    # measured across gaps of a few pixels, and the dashes of one run are one
    # segment (its thickness and straightness are measured on its ink alone).
    gap = 2 * tolerance + 1
    widened = ndimage.maximum_filter1d(
        _closed_along_rows(mask, gap), size=2 * tolerance + 1, axis=0
    )
    long_runs = mask & _long_runs(widened, max(min_length, 2))
    joined = ndimage.maximum_filter1d(long_runs, size=gap + 1, axis=1, origin=-1)
    labels, n_labels = ndimage.label(joined, structure=EIGHT_CONNECTED)
    labels[~long_runs] = 0
    if n_labels == 0:
        return labels, []
    segments = []
    for label, box in enumerate(ndimage.find_objects(labels, n_labels), start=1):
        if box is None:
            continue
        rows, cols = box
        segment = Segment(label, rows, cols)
        if segment.length >= min_length and _thin_and_straight(labels[rows, cols] == label):
            segments.append(segment)
    return labels, segments


def _thin_and_straight(piece):
    """Whether a horizontal piece is a line: thin (MAX_THICKNESS of its length) and
    with its top or bottom edge straight to within STRAIGHTNESS of its length.

    Its thickness in a column is the shorter of the runs of ink down from its top
    edge and up from its bottom edge (a stroke running alongside the line, a
    pixel apart, lengthens only one of them), in the thinner quarter of its
    columns (a digit touching a short side may cover most of it). Its edges are
    straight in the median: a digit touching it on one side moves only that
    side's edge, while both edges of an arc bend.
    """
    columns = np.flatnonzero(piece.any(axis=0))
    if len(columns) < 3:
        return False
    piece = piece[:, columns]
    top, run_down = _edge_run(piece)
    bottom, run_up = _edge_run(piece[::-1])
    if np.percentile(np.minimum(run_down, run_up), 25) > MAX_THICKNESS * len(columns):
        return False
    x = columns - columns.mean()
    for edge in (top, bottom):
        slope = (x @ (edge - edge.mean())) / (x @ x)  # least squares
        if np.median(np.abs(edge - edge.mean() - slope * x)) <= STRAIGHTNESS * len(columns):
            return True
    return False


def _edge_run(piece):
    """``(first, run)`` per column: the first True row, and the run of True from there."""
    first = np.argmax(piece, axis=0)
    row = np.arange(piece.shape[0])[:, np.newaxis]
    after = ~piece & (row > first)
    stop = np.where(after.any(axis=0), np.argmax(after, axis=0), piece.shape[0])
    return first, stop - first


def _long_runs(mask, length):
    """The pixels in runs of at least ``length`` along rows: an opening by a line of
    that length (an erosion then a dilation, each one pass whatever the length)."""
    size = 2 * (int(np.ceil(length)) // 2) + 1  # odd, so both passes are centred
    eroded = ndimage.minimum_filter1d(mask.view(np.uint8), size, axis=1, mode="constant")
    return ndimage.maximum_filter1d(eroded, size, axis=1, mode="constant").view(bool)


def _closed_along_rows(mask, gap):
    """``mask`` with the gaps of at most ``gap`` pixels between ink in a row filled
    (a closing by a row of ``gap`` + 2 pixels: a dilation, then an erosion)."""
    size = gap + 2 if gap % 2 else gap + 1  # odd, so both passes are centred
    dilated = ndimage.maximum_filter1d(mask.view(np.uint8), size, axis=1, mode="constant")
    return ndimage.minimum_filter1d(dilated, size, axis=1, mode="nearest").view(bool) | mask


def _run_lengths(mask):
    """For each True pixel, the length of the run of True pixels along its row (0 elsewhere)."""
    rows, cols = mask.shape
    padded = np.zeros((rows, cols + 1), dtype=np.int8)  # a False column ends every row's run
    padded[:, :cols] = mask
    flat = padded.ravel()
    edges = np.diff(flat, prepend=np.int8(0))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return np.zeros(mask.shape, dtype=np.intp)
    run = np.maximum(np.cumsum(edges == 1) - 1, 0)  # which run each pixel is in
    lengths = np.where(flat == 1, (stops - starts)[run], 0)
    return lengths.reshape(rows, cols + 1)[:, :cols]


def _pixels(labels, segments):
    """The pixels of some segments."""
    chosen = np.zeros(labels.max() + 1, dtype=bool)
    chosen[[segment.label for segment in segments]] = True
    chosen[0] = False
    return chosen[labels]


def _ruled(mask, labels, segments):
    """``(pixels, count)`` of the segments that cross the image and reach past the rest
    of the ink at both ends (if nothing else is left, they are what was written)."""
    across = [s for s in segments if s.length >= RULED_SPAN * mask.shape[1]]
    if not across:
        return np.zeros_like(mask), 0
    rest = np.flatnonzero((mask & ~_pixels(labels, across)).any(axis=0))
    if len(rest) == 0:
        return np.zeros_like(mask), 0
    ruled = [s for s in across if s.cols.start < rest[0] and s.cols.stop > rest[-1] + 1]
    return _pixels(labels, ruled), len(ruled)


def _bare_line(strokes, lines):
    """The pixels of horizontal lines in the columns where no stroke touches them.

    In each column the ink around a line is as thick as the line itself,
    unless a stroke crosses it or runs along it: there the column is kept
    whole (a digit loses nothing; the line leaves a stub inside the stroke).
    """
    runs = _run_lengths(strokes.T).T  # the run of ink down each column, at each pixel
    crossed = lines.any(axis=0)
    if not crossed.any():
        return lines
    # The lines' thickness: the thinnest run on a line in each column, in the
    # median over the columns (a thick stroke along a line widens few columns).
    thinnest = np.where(lines, runs, runs.max() + 1).min(axis=0)
    return lines & (runs <= np.median(thinnest[crossed]) + LINE_SLACK)


def _frame(strokes, across, tolerance):
    """The pixels of a frame around a mark, or None if the outermost segments close no box.

    ``across`` are the strokes' horizontal segments (:func:`_outermost_box` looks for
    the vertical ones).
    """
    box = _outermost_box(strokes, across, tolerance)
    if box is None:
        return None
    segments, labels, (box_rows, box_cols) = box
    top, bottom, left, right = segments
    sides = [
        _side(strokes, labels[0], top, box_cols),
        _side(strokes, labels[0], bottom, box_cols),
        _side(strokes.T, labels[1], left, box_rows),
        _side(strokes.T, labels[1], right, box_rows),
    ]
    covers = [cover for _, cover in sides]
    broken = int(np.argmin(covers))
    if covers[broken] < BROKEN_SIDE or sorted(covers)[1] < BOX_COVER:
        return None
    frame, touched = _peel_frame(strokes, [side for side, _ in sides])
    if _a_numbers_outline(frame, touched) or not _holds_a_mark(strokes, frame, box_rows, box_cols):
        return None
    if covers[broken] < BOX_COVER and not _closed_by_a_broken_side(
        strokes, touched, (broken, sides[broken][0]), box
    ):
        return None
    return frame


def _outermost_box(strokes, across, tolerance):
    """``((top, bottom, left, right), (horizontal labels, vertical labels), (rows,
    cols))``: the outermost segments each way and the box their centres span, or None.

    The vertical segments are looked for only when there are the two horizontal ones
    a frame needs (most images have none).
    """
    h_labels, horizontal = across
    if len(horizontal) < 2:
        return None
    v_labels, vertical = _across(strokes.T, tolerance)
    if len(vertical) < 2:
        return None
    top = min(horizontal, key=lambda s: s.centre)
    bottom = max(horizontal, key=lambda s: s.centre)
    left = min(vertical, key=lambda s: s.centre)  # found transposed: its centre is a column
    right = max(vertical, key=lambda s: s.centre)
    box_rows, box_cols = (top.centre, bottom.centre), (left.centre, right.centre)
    if box_rows[1] - box_rows[0] < 2 or box_cols[1] - box_cols[0] < 2:
        return None
    return (top, bottom, left, right), (h_labels, v_labels), (box_rows, box_cols)


def _closed_by_a_broken_side(strokes, touched, broken, box):
    """Whether a box, one of whose sides (``(index, pixels)``) covers under BOX_COVER,
    is a frame: its top and bottom not both left by strokes, and no more than BEYOND as
    much ink as that side holds beyond it (else the side was a digit's stroke, and the
    frame's own side lies out there in dashes too short to be a segment)."""
    index, pixels = broken
    if _left_at_top_and_bottom(touched):
        return False
    segments, _, spans = box
    return _beyond(strokes, index, segments, spans) <= BEYOND * pixels.sum()


def _beyond(strokes, index, segments, box):
    """The stroke pixels beyond side ``index`` (0 top, 1 bottom, 2 left, 3 right) of
    the box, between the other two sides (corners left out)."""
    segment, (box_rows, box_cols) = segments[index], box
    span = box_cols if index < 2 else box_rows
    inner = slice(math.ceil(span[0]) + MIN_TOLERANCE, max(math.floor(span[1]) - MIN_TOLERANCE, 0))
    # A vertical segment was found transposed: its rows are the image's columns.
    view = strokes if index < 2 else strokes.T
    if index in (0, 2):
        outside = view[: max(segment.rows.start - MIN_TOLERANCE, 0), inner]
    else:
        outside = view[segment.rows.stop + MIN_TOLERANCE :, inner]
    return int(outside.sum())


def _holds_a_mark(strokes, frame, box_rows, box_cols):
    """Whether the box holds a mark with at least FRAME_CONTENT of the frame's ink."""
    inside = strokes & ~frame
    inside[: int(box_rows[0])] = inside[int(np.ceil(box_rows[1])) :] = False
    inside[:, : int(box_cols[0])] = inside[:, int(np.ceil(box_cols[1])) :] = False
    labels, n_labels = ndimage.label(inside, structure=EIGHT_CONNECTED)
    return n_labels > 0 and np.bincount(labels.ravel())[1:].max() >= FRAME_CONTENT * frame.sum()


def _a_numbers_outline(frame, touched):
    """Whether a box is the tops and bottoms of a number's digits, not a frame: wider
    than NUMBER_BOX times its height, its top and bottom left by strokes all along."""
    rows, cols = np.flatnonzero(frame.any(axis=1)), np.flatnonzero(frame.any(axis=0))
    wide = cols[-1] - cols[0] > NUMBER_BOX * (rows[-1] - rows[0])
    return bool(wide and _left_at_top_and_bottom(touched))


def _left_at_top_and_bottom(touched):
    """Whether strokes leave both the box's top and its bottom in over FRAME_TOUCH of
    their columns (``touched`` as :func:`_peel_frame` gives it)."""
    return min(touched[:2]) > FRAME_TOUCH


def _side(strokes, labels, segment, span):
    """``(pixels, cover)`` of one side of a frame along a horizontal ``segment``.

    A side broken by grain or a faint stretch is a segment and ink along it
    too short to be one: the side is the segment and the strokes in its rows
    (MIN_TOLERANCE more each way: a frame askew) across ``span`` (start,
    stop). ``cover`` is the share of ``span`` that the segment's columns and
    that ink cover, short gaps included.
    """
    start, stop = max(math.floor(span[0]), 0), math.ceil(span[1])
    rows = slice(max(segment.rows.start - MIN_TOLERANCE, 0), segment.rows.stop + MIN_TOLERANCE)
    side = labels == segment.label
    side[rows, start:stop] |= strokes[rows, start:stop]
    covered = side[:, start:stop].any(axis=0)
    covered[max(segment.cols.start - start, 0) : max(segment.cols.stop - start, 0)] = True
    # Across the gaps between dashes, as _segments joins a faint line's dashes.
    covered = _closed_along_rows(covered[np.newaxis], 2 * MIN_TOLERANCE + 1)[0]
    return side, float(covered.mean()) if len(covered) else 0.0


def _peel_frame(strokes, sides):
    """``(frame, touched)``: the frame's own line, each side peeled from its outer edge
    by the line's thickness, and for each side the share of its columns where the ink
    runs on inward past the line (a stroke touching or leaving it)."""
    top, bottom, left, right = sides  # pixels; left and right of the transposed strokes
    # Each side seen from outside, as the top side of a view of the strokes.
    views = [
        (strokes, top),
        (strokes[::-1], bottom[::-1]),
        (strokes.T, left),
        (strokes.T[::-1], right[::-1]),
    ]
    edges = [_outer_edge(view, side) for view, side in views]
    # One pen drew the frame: the median run down from its outer edge over all
    # four sides, where a digit touching one side weighs little.
    thickness = round(float(np.median(np.concatenate([runs for _, _, runs in edges]))))
    peeled = [_peel(view, edge, thickness) for (view, _), edge in zip(views, edges)]
    touched = [_touched(edge, thickness) for edge in edges]
    return peeled[0] | peeled[1][::-1] | peeled[2].T | peeled[3][::-1].T, touched


def _touched(edge, thickness):
    """The share of a top side's columns, its corners left out (there the sides
    down run on), where the ink runs on past the line's ``thickness``."""
    columns, _, runs = edge
    corner = thickness + LINE_SLACK
    inner = (columns >= columns[0] + corner) & (columns <= columns[-1] - corner)
    return float(np.mean(runs[inner] > corner)) if inner.any() else 0.0


def _outer_edge(strokes, side):
    """``(columns, first, runs)`` of a top side: the columns it is in, its topmost
    pixel in each, and the run of ink down from there."""
    columns = np.flatnonzero(side.any(axis=0))
    first = np.argmax(side[:, columns], axis=0)
    runs = _run_lengths(strokes[:, columns].T)[np.arange(len(columns)), first]
    return columns, first, runs


def _peel(strokes, edge, thickness):
    """The line along a top side: in each column, the run of ink down from its outer
    edge when it is about the line's ``thickness``; where a stroke touches the
    line (a longer run), only ``thickness`` pixels of it."""
    columns, first, runs = edge
    depth = np.where(runs <= thickness + LINE_SLACK, runs, thickness)
    peeled = np.zeros_like(strokes)
    row = np.arange(strokes.shape[0])[:, np.newaxis]
    band = (row >= first) & (row < first + depth)  # (rows, len(columns))
    peeled[:, columns] = strokes[:, columns] & band
    return peeled
