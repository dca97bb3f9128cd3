"""The layout of the ink: strokes, the pieces of one digit merged, specks, underlines,
edge shadows and rows of dots dropped, and the lines of digits, top to bottom."""

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from hdrnn.preprocessing import INK_THRESHOLD

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)

# Strokes that hold at least this share of the heaviest stroke's ink set the
# typical digit height (fragments and specks do not).
MAIN_STROKE_SHARE = 0.25

# Two strokes whose column ranges overlap by this share of the narrower one,
# whose rows are no further apart than MERGE_GAP digit heights, and one of
# which is under MERGE_HEIGHT digit heights high, are one digit (a 5's
# floating bar, a 4 or 7 in two strokes, a broken stroke). Two full-height
# strokes side by side (a slanted 1 next to a 4) stay apart; the search
# still joins neighbouring strokes when they read better as one digit.
MERGE_OVERLAP = 0.5
MERGE_GAP = 0.3
MERGE_HEIGHT = 0.6

# A mark smaller than this share of a digit height both ways is a speck.
SPECK_SIDE = 0.25

# An underline: wider than UNDERLINE_WIDTH digit heights, flatter than
# UNDERLINE_FLATNESS (height over width) and under UNDERLINE_HEIGHT digits high.
UNDERLINE_WIDTH = 1.5
UNDERLINE_FLATNESS = 0.25
UNDERLINE_HEIGHT = 0.4

# A stroke belongs to a line when its centre lies within the line's rows,
# widened by this share of the line's height on each side.
LINE_REACH = 0.25

# A mark that touches the image's edge and whose darkest tenth is fainter than
# EDGE_SHADOW_INK of the ink's level is a shadow or the edge of the paper (a
# digit cut by the edge is still as dark as the rest of the ink).
EDGE_SHADOW_INK = 0.6
EDGE_SHADOW_PERCENTILE = 90

# A line whose digits are under SHORT_LINE of the tallest line's height is a
# row of specks or dots, not digits.
SHORT_LINE = 0.4

# Nor is a line whose digits would be under this many pixels high (in the ink
# found, at most 256 pixels a side): no digit is legible there, and a page of
# flat dashes was read as 80 000 of them.
MIN_LINE_HEIGHT = 4


class Stroke(NamedTuple):
    """A digit's ink (one or several merged strokes): its label and box in ink pixels."""

    label: int
    top: int
    bottom: int
    left: int
    right: int
    mass: float

    @property
    def height(self):
        return self.bottom - self.top

    @property
    def width(self):
        return self.right - self.left

    @property
    def centre(self):
        return (self.left + self.right) / 2, (self.top + self.bottom) / 2

    def own_ink(self, labels, ink):
        """The stroke's ink in its box (height, width): ``ink`` where ``labels`` is the
        stroke's label, 0 elsewhere (a neighbour's ink reaching into the box)."""
        rows, cols = slice(self.top, self.bottom), slice(self.left, self.right)
        return np.where(labels[rows, cols] == self.label, ink[rows, cols], 0.0)


class Line(NamedTuple):
    """A line of digits: its strokes left to right and its typical digit height."""

    strokes: tuple
    height: float


def find_lines(ink):
    """``(labels, lines)``: every ink pixel's stroke label (0 for paper) and the lines of
    digits, top to bottom."""
    labels, strokes = _label_strokes(ink)
    strokes = [s for s in strokes if not _is_edge_shadow(s, labels, ink)]
    if not strokes:
        return labels, []
    height = _typical_height(strokes)
    strokes = [s for s in strokes if not _is_underline(s, height)]
    labels, strokes = _merge_pieces(labels, strokes, height, ink)
    strokes = [s for s in strokes if max(s.height, s.width) >= SPECK_SIDE * height]
    lines = _group_lines(strokes)
    tallest = max((line.height for line in lines), default=0.0)
    return labels, [
        line for line in lines if line.height >= max(SHORT_LINE * tallest, MIN_LINE_HEIGHT)
    ]


def _label_strokes(ink):
    """Label the strong strokes; faint edges go to the nearest stroke."""
    strong = ink > INK_THRESHOLD
    labels, n_labels = ndimage.label(strong, structure=EIGHT_CONNECTED)
    if n_labels == 0:
        return labels, []
    faint = (ink > 0) & ~strong
    if faint.any():
        # Each faint pixel takes the label of the nearest strong pixel.
        _, (rows, cols) = ndimage.distance_transform_edt(~strong, return_indices=True)
        labels[faint] = labels[rows[faint], cols[faint]]
    return labels, _strokes_of(labels, ink)


def _strokes_of(labels, ink):
    """A :class:`Stroke` for every label present in ``labels``."""
    mass = np.bincount(labels.ravel(), weights=ink.ravel())
    strokes = []
    for label, box in enumerate(ndimage.find_objects(labels), start=1):
        if box is not None:
            rows, cols = box
            strokes.append(
                Stroke(label, rows.start, rows.stop, cols.start, cols.stop, float(mass[label]))
            )
    return strokes


def _is_edge_shadow(stroke, labels, ink):
    rows, cols = labels.shape
    if stroke.top > 0 and stroke.left > 0 and stroke.bottom < rows and stroke.right < cols:
        return False
    box = (slice(stroke.top, stroke.bottom), slice(stroke.left, stroke.right))
    values = ink[box][labels[box] == stroke.label]
    return float(np.percentile(values, EDGE_SHADOW_PERCENTILE)) < EDGE_SHADOW_INK


def _typical_height(strokes):
    """The median height of the strokes that hold a good share of the ink."""
    heaviest = max(s.mass for s in strokes)
    return float(np.median([s.height for s in strokes if s.mass >= MAIN_STROKE_SHARE * heaviest]))


def _is_underline(stroke, height):
    return (
        stroke.width > UNDERLINE_WIDTH * height
        and stroke.height < UNDERLINE_FLATNESS * stroke.width
        and stroke.height < UNDERLINE_HEIGHT * height
    )


def _merge_pieces(labels, strokes, height, ink):
    """Merge strokes that lie over each other into one label per digit."""
    kept = np.zeros(labels.max() + 1, dtype=np.int64)  # old label -> new label (0: dropped)
    group = {s.label: s.label for s in strokes}

    def root(label):
        while group[label] != label:
            label = group[label]
        return label

    ordered = sorted(strokes, key=lambda s: s.left)
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.left >= first.right:
                break  # sorted by left edge: no later stroke overlaps ``first`` either
            if _same_digit(first, second, height):
                group[root(second.label)] = root(first.label)
    for s in strokes:
        kept[s.label] = root(s.label)
    labels = kept[labels]
    return labels, _strokes_of(labels, ink)


def _same_digit(first, second, height):
    overlap = min(first.right, second.right) - max(first.left, second.left)
    narrower = min(first.width, second.width)
    gap = max(first.top, second.top) - min(first.bottom, second.bottom)
    lower = min(first.height, second.height)
    return (
        overlap >= MERGE_OVERLAP * narrower
        and gap <= MERGE_GAP * height
        and lower < MERGE_HEIGHT * height
    )


def _group_lines(strokes):
    """Group strokes into lines (the heaviest strokes found them), top to bottom."""
    lines = []  # [top, bottom, [strokes]]
    for stroke in sorted(strokes, key=lambda s: -s.mass):
        _, middle = stroke.centre
        for line in lines:
            reach = LINE_REACH * (line[1] - line[0])
            if line[0] - reach <= middle <= line[1] + reach:
                line[2].append(stroke)
                break
        else:
            lines.append([stroke.top, stroke.bottom, [stroke]])
    lines.sort(key=lambda line: line[0])
    return [
        Line(tuple(sorted(members, key=lambda s: s.centre[0])), _typical_height(members))
        for _, _, members in lines
    ]
