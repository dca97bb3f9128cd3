"""Regenerate the committed figures of the README and the docs.

Run ``python docs/make_figures.py`` from the repository root:

- ``docs/_static/own_digit.png``: the gallery example that reads the
  photographed digits (its figure, saved);
- ``docs/_static/reading-*.png``: the pictures of :doc:`reading` (a number
  read with its boxes, the candidate cuts of touching digits and the best
  path through them, overlapping digits read by the strip reader, a grid
  read cell by cell), made with the shipped models
  from digits written as strokes (no MNIST needed).

``python docs/make_figures.py reading`` makes only the reading pictures.
"""

import itertools
import runpy
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from hdrnn.cli._output import percent, share  # the rule hdrnn read prints by

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "docs" / "_static"

# Colours of the reading pictures: a digit the model vouches for, one it does
# not (read as "?"), a cut, an empty grid cell.
SURE, UNSURE, CUT, EMPTY = "#1a9641", "#d7191c", "#2b83ba", "#9ab0d8"

# The touching digits whose cuts are shown, and the overlapping ones the strip
# reader reads.
PAIR = "35"
STRIP = "5206"


def own_digit():
    plt.show = lambda *args, **kwargs: None  # the example ends with plt.show()
    runpy.run_path(str(ROOT / "examples" / "plot_own_digit.py"), run_name="__main__")
    _save(plt.gcf(), "own_digit.png")


def _save(figure, name):
    target = STATIC / name
    figure.savefig(target, dpi=90, bbox_inches="tight")
    plt.close(figure)
    print(f"wrote {target}")


def _digits(model, seed=0, n=400):
    """Stroke-written digits (writers not in MNIST) that the model reads surely, per label,
    the darkest first (the pictures show the method, not the faintest pencil)."""
    from hdrnn.datasets import synthetic

    images, labels = synthetic.make_stroke_digits(n, random_state=seed)
    proba = model.predict_proba(images.reshape(n, -1))
    sure = (proba.argmax(axis=1) == labels) & (proba.max(axis=1) > 0.99)
    darkest = {}
    for d in range(10):
        chosen = images[sure & (labels == d)]
        level = np.array([image[image > 0.1].mean() for image in chosen])  # solid ink
        darkest[d] = chosen[np.argsort(-level, kind="stable")]
    return darkest


def _draw_reading(axis, photo, reading, labels=True):
    """The photo with each digit's box and reading, as ``hdrnn read --show`` draws them."""
    axis.imshow(photo, cmap="gray", vmin=0, vmax=255)
    for index, digit in enumerate(reading.digits):
        x0, y0, x1, y1 = digit.box
        if digit.text == ".":
            axis.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=EMPTY, lw=0.8))
            continue
        colour = SURE if digit.vouched else UNSURE
        axis.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=colour))
        if labels:  # above and below in turn, so that neighbours' labels do not collide
            label = f"{digit.text} {percent(digit.probability, places=0)}"
            place = (y0 - 2, "bottom") if index % 2 == 0 else (y1 + 2, "top")
            axis.text(x0, place[0], label, color=colour, fontsize=9, va=place[1], weight="bold")
    axis.set_axis_off()


def reading_number(model, digits):
    """A photographed number, read: each digit's box and reading drawn on it."""
    from hdrnn.datasets import synthetic
    from hdrnn.reading import read_number

    text = "4071925"
    images = [digits[int(c)][i % len(digits[int(c)])] for i, c in enumerate(text)]
    labels = [int(c) for c in text]
    ink, _ = synthetic.compose_number(images, labels, 3, spacing="close", digit_height=48)
    photo = synthetic.photograph(ink, 5, preset="phone")
    reading = read_number(photo, model, min_confidence=0.9)
    figure, axis = plt.subplots(figsize=(7.5, 2.8))
    _draw_reading(axis, photo, reading)
    axis.set_title(
        f"read_number(photo, min_confidence=0.9).text == {reading.text!r}  "
        f"(confidence {share(reading.confidence)})",
        fontsize=10,
    )
    _save(figure, "reading-number.png")


def reading_cuts(model, digits):
    """Two touching digits: the cut paths proposed, every candidate digit with what the
    model reads in it, and the best path through them."""
    from hdrnn.datasets import synthetic
    from hdrnn.preprocessing import find_ink, prepare_inks
    from hdrnn.reading import read_number
    from hdrnn.reading._layout import find_lines
    from hdrnn.reading._pieces import line_candidates, line_pieces

    text = PAIR
    images = [digits[int(c)][i] for i, c in enumerate(text)]
    ink, _ = synthetic.compose_number(
        images, [int(c) for c in text], 2, spacing="touching", digit_height=64
    )
    found = find_ink((255 * (1 - ink)).astype(np.uint8))
    strokes = np.asarray(found.ink, dtype=np.float64)
    labels, lines = find_lines(strokes)
    pieces = line_pieces(labels, strokes, lines[0])
    candidates = line_candidates(labels, strokes, lines[0], pieces)
    proba = model.predict_proba(prepare_inks([c.crop for c in candidates], (28, 28)))
    reading = read_number(found, model)
    chosen = {digit.box[0::2] for digit in reading.digits}  # (x0, x1)

    columns = min(len(candidates), 8)
    rows = -(-len(candidates) // columns)
    figure = plt.figure(figsize=(1.15 * columns, 2.6 + 1.3 * rows))
    grid = figure.add_gridspec(1 + rows, columns, height_ratios=[2.6] + [1] * rows)
    _draw_cuts(figure.add_subplot(grid[0, :]), strokes, pieces)
    for index, (candidate, p) in enumerate(zip(candidates, proba)):
        axis = figure.add_subplot(grid[1 + index // columns, index % columns])
        axis.imshow(candidate.crop, cmap="gray_r", vmin=0, vmax=1)
        best = int(np.argmax(p))
        on_path = found.image_box(candidate.box)[0::2] in chosen
        axis.set_title(
            f"{best}: {percent(p[best], places=0)}", fontsize=9, color=SURE if on_path else "black"
        )
        axis.set_xticks([])
        axis.set_yticks([])
        for side in axis.spines.values():
            side.set_color(SURE if on_path else "#bbbbbb")
            side.set_linewidth(3 if on_path else 1)
    figure.suptitle(
        f"{len(candidates)} candidate digits, classified in one call; "
        f"the best path (green) reads {reading.text}",
        fontsize=10,
        y=0.02,
    )
    _save(figure, "reading-cuts.png")


def reading_strip(model, digits):
    """Overlapping digits read by the strip reader: the stroke, and along it the
    probability that a digit is centred at each column, its peaks read as digits."""
    from hdrnn.datasets import synthetic
    from hdrnn.preprocessing import find_ink
    from hdrnn.pretrained import load_pretrained
    from hdrnn.reading import read_number
    from hdrnn.reading._layout import find_lines
    from hdrnn.reading._strips import BLANK, PEAK_LEVEL, read_strip, stroke_windows

    images = [digits[int(c)][i] for i, c in enumerate(STRIP)]
    ink, _ = synthetic.compose_number(
        images, [int(c) for c in STRIP], 4, spacing="overlapping", digit_height=48
    )
    found = find_ink((255 * (1 - ink)).astype(np.uint8))
    strokes = np.asarray(found.ink, dtype=np.float64)
    labels, lines = find_lines(strokes)
    stroke = max(lines[0].strokes, key=lambda s: s.width)
    windows, scale = stroke_windows(labels, strokes, stroke)
    proba = load_pretrained("strips").predict_proba(windows)
    found_digits = read_strip(proba, labels, stroke, scale)
    reading = read_number(found, model)
    columns = stroke.left + np.arange(len(proba)) / scale
    centred = np.convolve(1 - proba[:, BLANK], np.ones(3) / 3, mode="same")

    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(7.5, 4.6), sharex=True, gridspec_kw={"height_ratios": [2, 1.2]}
    )
    top.imshow(strokes, cmap="gray_r", vmin=0, vmax=1, aspect="auto")
    top.set_ylim(stroke.bottom + 14, stroke.top - 3)
    bottom.plot(columns, centred, color="black", lw=1.5)
    bottom.axhline(PEAK_LEVEL, color="#999999", lw=1, ls="--")
    for digit in found_digits:
        x0, _, x1, _ = digit.box
        inside = (columns >= x0) & (columns < x1)
        peak = columns[inside][np.argmax(centred[inside])]  # where the digit was seen
        best = int(digit.probabilities.argmax())
        for axis in (top, bottom):
            axis.axvline(peak, color=SURE, lw=1, alpha=0.6)
        top.text(
            peak,
            stroke.bottom + 12,
            f"{best}: {percent(digit.probabilities[best], places=0)}",
            ha="center",
            va="bottom",
            color=SURE,
            fontsize=10,
        )
    top.set_title(f"one stroke, no cut: read_number(...).text == {reading.text!r}", fontsize=10)
    top.set_yticks([])
    bottom.set_ylim(0, 1.05)
    bottom.set_ylabel("a digit centred")
    bottom.set_xlabel("column of the image (the window's centre)")
    bottom.set_xlim(stroke.left - 6, stroke.right + 6)
    _save(figure, "reading-strip.png")


def _draw_cuts(axis, strokes, pieces):
    """The line's ink, cropped to it, with the cuts between its pieces through strokes."""
    axis.imshow(strokes, cmap="gray_r", vmin=0, vmax=1)
    ys, xs = np.nonzero(strokes)
    axis.set_xlim(xs.min() - 8, xs.max() + 8)
    axis.set_ylim(ys.max() + 6, ys.min() - 6)
    for before, after in itertools.pairwise(pieces):
        if before.label == after.label:  # a cut through a stroke, not a gap between strokes
            rows_of_cut = after.top + np.arange(len(after.left))
            axis.plot(after.left - 0.5, rows_of_cut, color=CUT, lw=2)
    axis.set_title(f"{len(pieces)} pieces: the ink cut along the paths that cross least ink")
    axis.set_axis_off()


def reading_grid(model, digits):
    """A photographed Sudoku, a little rotated, read cell by cell."""
    from scipy import ndimage

    from hdrnn.datasets import synthetic
    from hdrnn.reading import read_grid

    rng = np.random.default_rng(4)
    puzzle = rng.integers(1, 10, size=(9, 9))
    puzzle[rng.random((9, 9)) > 0.35] = -1
    cell, edge = 40, 16
    ink = np.zeros((9 * cell + 2 * edge,) * 2, dtype=np.float32)
    for k in range(10):
        width = 3 if k % 3 == 0 else 1
        at = edge + k * cell - width // 2
        ink[at : at + width, edge - 1 : edge + 9 * cell + 2] = 1.0
        ink[edge - 1 : edge + 9 * cell + 2, at : at + width] = 1.0
    for (r, c), d in np.ndenumerate(puzzle):
        if d > 0:
            image = digits[d][(r + c) % len(digits[d])]
            y, x = edge + r * cell + 6, edge + c * cell + 6
            ink[y : y + 28, x : x + 28] = np.maximum(ink[y : y + 28, x : x + 28], image)
    photo = synthetic.photograph(ndimage.rotate(ink, 2.0, order=1), 1, preset="phone")
    reading = read_grid(photo, 9, 9, model)
    figure, (left, right) = plt.subplots(
        1, 2, figsize=(10, 5.2), gridspec_kw={"width_ratios": [1.4, 1]}
    )
    _draw_reading(left, photo, reading, labels=False)
    left.set_title(f"read_grid(photo, 9, 9): found by {reading.found_by}", fontsize=11)
    right.text(
        0.5,
        0.5,
        reading.text.replace(".", "·"),
        family="monospace",
        fontsize=17,
        ha="center",
        va="center",
        linespacing=1.25,
    )
    right.set_title("reading.text ('.' for an empty cell, shown as ·)", fontsize=11)
    right.set_axis_off()
    _save(figure, "reading-grid.png")


def reading_figures():
    from hdrnn.pretrained import load_pretrained

    model = load_pretrained()
    digits = _digits(model)
    reading_number(model, digits)
    reading_cuts(model, digits)
    reading_strip(model, digits)
    reading_grid(model, digits)


def main(argv=None):
    which = sys.argv[1:] if argv is None else argv
    if not which or "own_digit" in which:
        own_digit()
    if not which or "reading" in which:
        reading_figures()


if __name__ == "__main__":
    main()
