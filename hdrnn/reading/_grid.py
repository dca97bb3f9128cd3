"""``read_grid``: the digits in the cells of a ruled grid (a Sudoku, a form's boxes).

The grid is found by its lines, on a copy of the image at most GRID_SIDE
pixels a side: long horizontal runs of dark pixels (measured on the ink
widened a little across the run, so that a line slanting or wobbling by a
few degrees keeps its runs) are horizontal lines, and the same on the
transposed image gives the vertical ones. Each line is fitted by least
squares as ``y = a + b x`` (``x = a + b y``), so a rotated or slightly
uneven photo still gives the right cells: every cell is the quadrilateral
between two neighbouring lines each way, cut with a margin inside them.

When the border is found but not every inner line (faint inner lines, as
on many printed Sudokus), the inner lines are placed by equal division
between the border's lines, snapped to any line found near its place; the
result says which (``found_by``).

Where a cell may hold ink is judged on the whole page's contrast, against
the paper's noise over the whole page (a cell alone is too small to tell a
faint stroke's edges from noise); a cell without any is empty and costs
nothing more. Each other cell, its paper flattened outside that ink, goes
through :func:`~hdrnn.preprocessing.find_ink` and holds one digit: all of
them are prepared the MNIST way and classified in one batched call. The
work is bounded: the image is read at most 2048 pixels a side, the lines
are found on a copy at most GRID_SIDE a side, and a grid has at most
MAX_CELLS rows and columns.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hdrnn._utils.images import block_mean, read_image
from hdrnn._utils.ink_paper import find_paper
from hdrnn._utils.model_facts import plain
from hdrnn.preprocessing import find_ink, prepare_inks
from hdrnn.reading._api import TOP, checked_model
from hdrnn.reading._results import DigitReading, LineReading, Reading

# Rows and columns of cells a grid may have: a 25x25 Sudoku fits, and the
# work (one ink search per non-empty cell) stays bounded.
MAX_CELLS = 30

# The lines are looked for on a copy at most this many pixels a side.
GRID_SIDE = 600

# Ink for the lines is what stands above this share of the darkest ink's
# contrast (low: thin printed lines are often lighter than a pen's digits).
LINE_INK = 0.1

# ... and, averaged over ALONG pixels along the line, above NOISE_SIGMAS of
# the paper's noise (of one pixel: the average's own noise is lower).
ALONG = 9
NOISE_SIGMAS = 2.0

# A line's runs are longer than this many cells (a digit fits in one cell)
# or RUN_SHARE of the ink's extent, whichever is shorter, and a line covers
# at least LINE_COVER of the longest line found that way.
RUN_CELLS = 1.2
RUN_SHARE = 0.6
LINE_COVER = 0.7

# Pieces of one broken line lie within this share of a cell of each other;
# an inner line found within SNAP of a cell from its place by equal division is used.
SAME_LINE = 0.25
SNAP = 0.3

# Ink in a cell is found on the page's contrast smoothed by a Gaussian of
# this many pixels (a faint stroke then stands out of the paper's noise).
CELL_SMOOTHING = 0.7

# ... above this many times the paper's noise of one pixel (smoothing divides
# that noise by about 2.5: this is 3 standard deviations of the smoothed paper).
CELL_SIGMAS = 1.2

# Fainter ink, down to this share of that, counts where it joins ink above it.
HYSTERESIS = 0.5

# Cut off inside each cell, besides the lines themselves: this share of the cell.
MARGIN = 0.08

# A cell's ink is a digit when its longer side spans this share of the cell
# between its lines (less is a speck or a dot). Of the cell, not of the part
# read: thick lines and margins leave half a small cell, where a speck of
# dust would pass.
MIN_DIGIT = 0.25

# A cell is read on paper around it, this share of its side each way: a
# digit's bar across the cell then spans too little of it to be a ruled line.
PAD = 0.15

# Marks within this share of the cell of the digit's main mark are pieces of it.
MARK_REACH = 0.25

# Cells smaller than this many pixels of the image as read hold no readable digit.
MIN_CELL_PIXELS = 8


@dataclass(frozen=True)
class EmptyCell(DigitReading):
    """A cell of a grid with no digit in it: it reads as ``"."``.

    Its ``digit`` is None, its ``probability`` 1.0 (nothing was classified,
    so it does not lower the reading's confidence), ``candidates`` empty and
    ``box`` the inside of the cell, in the image's pixels.
    """

    @property
    def text(self):
        """``"."``: an empty cell."""
        return "."

    def as_dict(self):
        """JSON-ready values, as :meth:`DigitReading.as_dict`, with ``"empty": True``."""
        return {**super().as_dict(), "empty": True}


@dataclass(frozen=True)
class GridReading(Reading):
    """The digits of a grid, row by row: a :class:`Reading` whose lines are the grid's rows.

    Made by :func:`read_grid`. ``text`` holds one line per row, with ``"."``
    for an empty cell; ``lines[r].digits[c]`` is the cell in row ``r`` and
    column ``c`` (a :class:`DigitReading`, or an :class:`EmptyCell`).

    Attributes
    ----------
    rows, cols : int
        The grid's size in cells.
    found_by : {"lines", "division"}
        ``"lines"`` when every line of the grid was found; ``"division"``
        when only some were (faint inner lines) and the others were placed
        by dividing the space between the border's lines equally.
    box : tuple of (int, int, int, int)
        ``(x0, y0, x1, y1)`` around the grid's corners, in the image's pixels.
    """

    rows: int
    cols: int
    found_by: str
    box: tuple

    def as_dict(self):
        """JSON-ready values, as :meth:`Reading.as_dict`, with a ``"grid"`` entry."""
        grid = {"rows": self.rows, "cols": self.cols, "found_by": self.found_by}
        return {**super().as_dict(), "grid": {**grid, "box": list(self.box)}}


def read_grid(image, rows, cols, model=None, *, min_confidence=0.5):
    """Read the digits in the cells of a ruled grid: a Sudoku, a form's boxes.

    The grid is found by its lines (long straight runs of ink, horizontal
    and vertical; a photo may be a little rotated or uneven), each cell is
    cut with a margin inside its lines, and the cells with ink are read as
    one digit each, in one batched call of the model. When only the grid's
    border is found (faint inner lines), the inner lines are placed by
    equal division (``found_by == "division"``).

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image or ndarray
        As :func:`~hdrnn.preprocessing.prepare_digit_image` takes it: a file
        (needs Pillow), a PIL image or an array (gray, RGB or RGBA).
    rows, cols : int
        The grid's size in cells, 1 to 30 each (9 and 9 for a Sudoku).
    model : fitted classifier or None, default=None
        Any fitted model with ``predict_proba`` and ``classes_`` that reads
        square images as rows; None loads the shipped model.
    min_confidence : float, default=0.5
        A digit whose probability is below this reads as ``"?"``.

    Returns
    -------
    reading : GridReading
        ``reading.text`` holds one line per row (``"."`` for an empty cell),
        ``reading.lines[r].digits[c]`` the cell in row ``r``, column ``c``,
        each with its box in the image's pixels.

    Raises
    ------
    ValueError
        If ``rows`` or ``cols`` is not a whole number from 1 to 30, no grid
        is found (fewer than two lines each way), the lines found show a
        grid of another size, the cells are too small to read, or the model
        does not read square images.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier().fit(np.zeros((2, 784)), [1, 7])  # a stand-in model
    >>> paper = np.full((100, 200), 255, dtype=np.uint8)
    >>> paper[[0, 1, 98, 99], :] = paper[:, [0, 1, 98, 99, 100, 198, 199]] = 0  # two boxes
    >>> paper[25:75, 146:152] = 0  # a "1" in the right one
    >>> reading = read_grid(paper, 1, 2, model)
    >>> reading.text, reading.found_by, reading.lines[0].digits[1].box
    ('.1', 'lines', (146, 25, 152, 75))
    """
    _check_size(rows, cols)
    model, shape = checked_model(model, min_confidence)
    gray, size = read_image(image)
    factor = max(1, math.ceil(max(gray.shape) / GRID_SIDE))
    small = block_mean(gray, factor)
    contrast, threshold, ink = _contrast(small)
    across, down, found_by = _grid_lines(contrast, threshold, rows, cols)
    # (rows + 1, cols + 1, 2) as (x, y) in gray pixels: pixel i of the small copy
    # covers gray pixels i * factor to (i + 1) * factor.
    corners = (_corners(across, down) + 0.5) * factor - 0.5
    thickness = factor * max(line[2] for line in (*across, *down))
    cells, sides = _cell_boxes(corners, thickness, gray.shape)
    to_image = size[0] / gray.shape[1]
    found = [
        _cell_digit(gray, box, ink, factor, MIN_DIGIT * side)
        for box, side in zip(cells.reshape(-1, 4), sides.ravel())
    ]
    crops = [crop for crop, _ in filter(None, found)]
    probabilities = model.predict_proba(prepare_inks(crops, shape)) if crops else None
    cells_read, index = [], 0
    for (x0, y0, x1, y1), digit in zip(cells.reshape(-1, 4), found):
        if digit is None:
            box = _image_box((x0, y0, x1, y1), to_image, size)
            cells_read.append(EmptyCell(None, 1.0, (), box, True))
            continue
        box = _image_box(digit[1], to_image, size)
        cells_read.append(_digit(model, probabilities[index], box, min_confidence))
        index += 1
    lines = tuple(
        _row(cells_read[r * cols : (r + 1) * cols], cells[r], to_image, size) for r in range(rows)
    )
    outer = corners.reshape(-1, 2)
    grid_box = _image_box((*outer.min(axis=0), *outer.max(axis=0)), to_image, size)
    return GridReading(lines, len(crops), rows, cols, found_by, grid_box)


def _check_size(rows, cols):
    """Refuse a grid size that is not a whole number of cells from 1 to MAX_CELLS."""
    for name, value in (("rows", rows), ("cols", cols)):
        whole = not isinstance(value, bool) and isinstance(value, (int, np.integer))
        if not whole or not 1 <= value <= MAX_CELLS:
            raise ValueError(
                f"{name} must be a whole number of cells from 1 to {MAX_CELLS}; got {value!r}. "
                "Pass the grid's size, e.g. rows=9, cols=9 for a Sudoku."
            )


def _contrast(small):
    """``(contrast, threshold, ink)`` of the small copy: how much darker than the paper
    each pixel is, above what a pixel may belong to a line (None on a blank page), and
    where a digit's ink may be (measured against the whole page's paper noise)."""
    paper = find_paper(small)
    centres = (np.arange(n) + 0.5 for n in small.shape)
    contrast = paper.contrast(small, paper.brightness(*centres))
    level = float(np.percentile(contrast, 99.5))
    if level * paper.median < 0.1:  # as find_ink: no ink on a blank page
        return contrast, None, np.zeros(small.shape, dtype=bool)
    threshold = max(LINE_INK * level, NOISE_SIGMAS * paper.noise)
    smoothed = ndimage.gaussian_filter(contrast, CELL_SMOOTHING)
    strong = max(LINE_INK * level, CELL_SIGMAS * paper.noise)
    # Hysteresis: fainter ink counts where it joins strong ink (a stroke's light end).
    labels, _ = ndimage.label(smoothed > HYSTERESIS * strong, structure=np.ones((3, 3), dtype=bool))
    joined = np.zeros(labels.max() + 1, dtype=bool)
    joined[labels[smoothed > strong]] = True
    joined[0] = False
    return contrast, threshold, ndimage.binary_dilation(joined[labels], iterations=2)


def _grid_lines(contrast, threshold, rows, cols):
    """``(across, down, found_by)``: rows + 1 horizontal and cols + 1 vertical lines
    of the small copy, as :func:`_lines` gives them (``x = a + b y`` for those down)."""
    ys, xs = np.nonzero(contrast > threshold) if threshold is not None else ((), ())
    if len(ys) == 0:
        raise ValueError(_not_found(0, 0))
    extent = (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)
    # The contrast is averaged along each direction first: a thin, light printed
    # line stands out of the paper's noise along its length (over a part of a
    # cell, so that the lines across it are not smeared into one another).
    found = []
    for axis, length, n_cells in ((1, extent[0], cols), (0, extent[1], rows)):
        along = int(min(ALONG, max(1, length / n_cells / 4)))
        mask = ndimage.uniform_filter1d(contrast, along, axis=axis) > threshold
        found.append(_lines(mask if axis == 1 else mask.T, length, n_cells))
    across, down = _spanning(*found), _spanning(*found[::-1])
    if len(across) < 2 or len(down) < 2:
        raise ValueError(_not_found(len(across), len(down)))
    across, all_across = _place(across, rows, "rows")
    down, all_down = _place(down, cols, "cols")
    return across, down, "lines" if all_across and all_down else "division"


def _spanning(lines, crossing):
    """The ``lines`` that run across the grid: from the first of the ``crossing``
    lines to the last, about (a digit's straight strokes do not: they are shorter
    than the space between the others, or longer)."""
    if len(crossing) < 2:
        return []
    span = crossing[-1][4] - crossing[0][4]
    return [line for line in lines if LINE_COVER * span <= line[3] <= span / LINE_COVER]


def _not_found(n_across, n_down):
    return (
        "No ruled grid found on the image: expected at least its border, two horizontal "
        f"and two vertical lines; found {n_across} horizontal and {n_down} vertical. "
        "Photograph the whole grid with its border in view and its lines darker than the "
        "paper, or read a number without a grid with read_number (hdrnn read without --grid)."
    )


def _lines(mask, extent, n_cells):
    """The horizontal lines of ``mask`` (whose ink is ``extent`` wide, ``n_cells``
    cells across) as ``(a, b, thickness, length, position)``, top first: ``y = a + b x``,
    and ``position`` is ``y`` in the middle of the image."""
    tolerance, cell = 2, extent / n_cells
    widened = ndimage.maximum_filter1d(mask, 2 * tolerance + 1, axis=0)
    length = max(10, min(RUN_CELLS * cell, RUN_SHARE * extent))
    size = 2 * (int(length) // 2) + 1
    opened = ndimage.minimum_filter1d(widened.view(np.uint8), size, axis=1, mode="constant")
    opened = ndimage.maximum_filter1d(opened, size, axis=1, mode="constant").view(bool)
    labels, n_labels = ndimage.label(mask & opened, structure=np.ones((3, 3), dtype=bool))
    if n_labels == 0:
        return []
    pieces = _fits(labels, n_labels, np.arange(1, n_labels + 1))
    centre = mask.shape[1] / 2
    order = np.argsort(pieces[:, 0] + pieces[:, 1] * centre)
    groups, current = [], [order[0]]
    for piece in order[1:]:
        last = pieces[current[-1]]
        gap = abs((pieces[piece, 0] - last[0]) + (pieces[piece, 1] - last[1]) * centre)
        if gap <= max(2 * tolerance, SAME_LINE * cell):
            current.append(piece)
        else:
            groups.append(current)
            current = [piece]
    groups.append(current)
    group_of = np.zeros(n_labels + 1, dtype=np.intp)
    for number, members in enumerate(groups, start=1):
        group_of[np.asarray(members) + 1] = number
    lines = _fits(group_of[labels], len(groups), np.arange(1, len(groups) + 1))
    lines = lines[lines[:, 3] >= LINE_COVER * lines[:, 3].max()]
    lines = np.column_stack([lines, lines[:, 0] + lines[:, 1] * centre])
    return [tuple(line) for line in lines[np.argsort(lines[:, 4])]]


def _fits(labels, n_labels, which):
    """Per label: ``(a, b, thickness, columns covered)`` of the least-squares ``y = a + b x``."""
    ys, xs = np.nonzero(labels)
    label = labels[ys, xs]
    count, sx, sy, sxx, sxy = (
        np.bincount(label, weights=w, minlength=n_labels + 1)[which]
        for w in (None, xs, ys, xs * xs.astype(np.float64), xs * ys.astype(np.float64))
    )
    spread = count * sxx - sx * sx
    b = np.where(spread > 0, (count * sxy - sx * sy) / np.maximum(spread, 1e-12), 0.0)
    a = (sy - b * sx) / count
    columns = np.zeros((n_labels + 1, labels.shape[1]), dtype=bool)
    columns[label, xs] = True
    covered = columns.sum(axis=1)[which]
    return np.column_stack([a, b, count / np.maximum(covered, 1), covered])


def _place(found, n_cells, name):
    """``(lines, all_found)``: the n_cells + 1 lines, inner ones placed by equal division
    between the outermost lines found when fewer (or others) were found.
    Lines are ``(a, b, thickness, length, position)`` as :func:`_lines` gives them."""
    if len(found) == n_cells + 1:
        return found, True
    if len(found) - 1 >= 2 * n_cells:  # a stray long stroke or two is not that many
        raise ValueError(
            f"The grid found has {len(found) - 1} {name} of cells; got {name}={n_cells}. "
            "Pass the grid's size as it is drawn, counting every cell (9x9 for a Sudoku)."
        )
    first, last = np.array(found[0]), np.array(found[-1])
    step = (last[4] - first[4]) / n_cells
    lines, all_found = [found[0]], True
    for k in range(1, n_cells):
        guess = tuple(first + (last - first) * k / n_cells)
        near = [line for line in found[1:-1] if abs(line[4] - guess[4]) <= SNAP * step]
        all_found &= bool(near)
        lines.append(min(near, key=lambda line: abs(line[4] - guess[4])) if near else guess)
    return [*lines, found[-1]], all_found


def _corners(across, down):
    """``(len(across), len(down), 2)``: where each horizontal line meets each vertical one."""
    a, b = (np.array([line[i] for line in across])[:, np.newaxis] for i in (0, 1))
    c, d = (np.array([line[i] for line in down])[np.newaxis, :] for i in (0, 1))
    y = (a + b * c) / (1.0 - b * d)  # y = a + b x and x = c + d y
    return np.stack([c + d * y, y], axis=-1)


def _cell_boxes(corners, thickness, shape):
    """``(boxes, sides)``: each cell's box inside its lines, ``(rows, cols, 4)`` in pixels
    of the gray image, and its side between the lines' centres, ``(rows, cols)``."""
    top_left, top_right = corners[:-1, :-1], corners[:-1, 1:]
    bottom_left, bottom_right = corners[1:, :-1], corners[1:, 1:]
    x0 = np.maximum(top_left[..., 0], bottom_left[..., 0])
    x1 = np.minimum(top_right[..., 0], bottom_right[..., 0])
    y0 = np.maximum(top_left[..., 1], top_right[..., 1])
    y1 = np.minimum(bottom_left[..., 1], bottom_right[..., 1])
    side = np.minimum(x1 - x0, y1 - y0)
    if side.min() - 2 * thickness < MIN_CELL_PIXELS:
        raise ValueError(
            f"The grid's cells are too small to read: {max(int(side.min()), 0)} pixels inside "
            f"lines {thickness:.0f} pixels thick. Photograph the grid closer or at a higher "
            "resolution, or check its size in cells."
        )
    margin = thickness / 2 + 2 + MARGIN * side
    boxes = np.stack([x0 + margin, y0 + margin, x1 - margin, y1 - margin], axis=-1)
    boxes = np.round(boxes).astype(int)
    boxes[..., 0::2] = np.clip(boxes[..., 0::2], 0, shape[1])
    boxes[..., 1::2] = np.clip(boxes[..., 1::2], 0, shape[0])
    return boxes, side


def _cell_digit(gray, box, ink, factor, min_digit):
    """``(ink, box)`` of the digit in a cell (box in gray pixels), or None when it is empty
    (or holds no mark whose longer side spans ``min_digit`` pixels).

    ``ink`` (on the small copy, ``factor`` times smaller) says where ink may be,
    judged against the paper's noise over the whole page: a cell alone is too
    small to tell a faint digit's edges from the paper's noise. The rest of the
    cell is set to its paper's level before :func:`find_ink` reads it.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    near = ink[y0 // factor : -(-y1 // factor), x0 // factor : -(-x1 // factor)]
    if not near.any():
        return None
    near = np.repeat(np.repeat(near, factor, axis=0), factor, axis=1)
    near = near[y0 % factor :, x0 % factor :][: y1 - y0, : x1 - x0]
    cell = gray[y0:y1, x0:x1]
    paper = float(np.median(cell[~near])) if not near.all() else float(np.median(cell))
    # On paper around it, so that a digit's bar across the cell is no ruled line.
    pad = max(2, round(PAD * max(y1 - y0, x1 - x0)))
    found = find_ink(np.pad(np.where(near, cell, paper), pad, constant_values=paper))
    height, width = y1 - y0, x1 - x0
    marks = [(mx0 - pad, my0 - pad, mx1 - pad, my1 - pad) for mx0, my0, mx1, my1 in found.marks]
    marks = [m for m in marks if not _edge_sliver(m, width, height)]
    if not marks:
        return None
    inner = _digit_box(marks, MARK_REACH * min(width, height))
    if max(inner[2] - inner[0], inner[3] - inner[1]) < min_digit:
        return None
    ink = found.crop(tuple(v + pad for v in inner))
    return ink, (inner[0] + x0, inner[1] + y0, inner[2] + x0, inner[3] + y0)


def _digit_box(marks, reach):
    """The box of the mark with the most ink and of the marks within ``reach`` pixels of
    it (a digit in pieces: faint or broken ink); a speck further off is left out."""
    x0, y0, x1, y1 = marks[0]
    rest, grown = list(marks[1:]), True
    while grown:
        grown = False
        for mark in list(rest):
            mx0, my0, mx1, my1 = mark
            if mx0 <= x1 + reach and mx1 >= x0 - reach and my0 <= y1 + reach and my1 >= y0 - reach:
                x0, y0, x1, y1 = min(x0, mx0), min(y0, my0), max(x1, mx1), max(y1, my1)
                rest.remove(mark)
                grown = True
    return x0, y0, x1, y1


def _edge_sliver(mark, width, height):
    """Whether a mark is what is left of a grid line along the cell's edge: thin and along it."""
    mx0, my0, mx1, my1 = mark
    along_side = (mx0 == 0 or mx1 == width) and (mx1 - mx0) <= 0.1 * width
    along_top = (my0 == 0 or my1 == height) and (my1 - my0) <= 0.1 * height
    return (along_side and my1 - my0 >= 0.5 * height) or (along_top and mx1 - mx0 >= 0.5 * width)


def _digit(model, proba, box, min_confidence):
    """The :class:`DigitReading` of one cell from its class probabilities."""
    ranked = np.argsort(-proba, kind="stable")[:TOP]
    top = tuple((plain(model.classes_[i]), float(proba[i])) for i in ranked)
    return DigitReading(top[0][0], top[0][1], top, box, top[0][1] >= min_confidence)


def _row(cells, boxes, to_image, size):
    """One row of the grid as a :class:`LineReading` whose box spans its cells."""
    box = (*boxes[:, :2].min(axis=0), *boxes[:, 2:].max(axis=0))
    return LineReading(digits=tuple(cells), box=_image_box(box, to_image, size))


def _image_box(box, to_image, size):
    """A box in pixels of the gray image read, in the image's own pixels."""
    x0, y0, x1, y1 = (float(v) * to_image for v in box)
    return (
        max(0, math.floor(x0 + 1e-9)),
        max(0, math.floor(y0 + 1e-9)),
        min(size[0], math.ceil(x1 - 1e-9)),
        min(size[1], math.ceil(y1 - 1e-9)),
    )
