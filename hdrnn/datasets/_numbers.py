"""Numbers written digit by digit: the digits side by side, with known boxes.

:func:`compose_number` crops each digit image to its ink, scales it to a
common height with a little size and baseline jitter, and places it after
the previous one at a gap set by the spacing kind (:data:`SPACINGS`). Ink
adds up as one pen's would (the darker of the two wins).
"""

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hdrnn.datasets._ink import (
    INK_LEVEL,
    MAX_SIDE,
    as_generator,
    check_count,
    crop_to_ink,
    ink_box,
    resize,
)

# How digits sit next to each other, measured on ink (coverage >= INK_LEVEL):
# "apart": boxes at least a quarter of a digit height apart; "close": no ink
# within one pixel (rows above and below included) yet under a tenth of a
# height; "touching": the strokes meet (share at least one pixel);
# "overlapping": the boxes overlap by 15-40% of the narrower digit.
SPACINGS = ("apart", "close", "touching", "overlapping")

# Most digits a number may have, and most lines: bounds the image's size.
MAX_DIGITS = 100


@dataclass(frozen=True)
class NumberTruth:
    """What a composed number says, and where each digit is.

    Parameters
    ----------
    text : str
        The digits, lines joined by ``"\\n"``.
    labels : tuple of int
        Each digit, in reading order (lines top to bottom, left to right).
    boxes : ndarray of shape (n_digits, 4), int64
        Each digit's ink box ``[x0, y0, x1, y1]`` in image pixels (x1 and y1
        exclusive), in the same order.
    lines : tuple of int
        The line (from 0) of each digit.
    spacing : str
        The spacing kind, one of :data:`SPACINGS`.
    owners : ndarray of shape (height, width), int16, or None, default=None
        Whose ink each pixel is: the index (in reading order) of the digit
        with the most ink there, -1 for paper. Where digits touch or
        overlap, this is the truth a cut between them is measured against.
    """

    text: str
    labels: tuple
    boxes: np.ndarray
    lines: tuple
    spacing: str
    owners: np.ndarray = None


def compose_number(
    images, labels, random_state=None, *, spacing="apart", lines=1, digit_height=None
):
    """Write several digit images side by side as one number.

    Parameters
    ----------
    images : sequence of ndarray of shape (height, width)
        One ink image per digit (coverage in [0, 1], 0 is paper), any sizes.
    labels : sequence of int
        The digit each image shows.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator for the gaps, size and baseline jitter and margins.
    spacing : {"apart", "close", "touching", "overlapping"}, default="apart"
        How close the digits are (see :data:`SPACINGS`).
    lines : int, default=1
        Split the digits over this many lines, one under another.
    digit_height : int or None, default=None
        Height of a digit's ink in pixels (each digit then varies by up to
        10%); None keeps the median height of the given digits.

    Returns
    -------
    image : ndarray of shape (height, width), float32
        Ink coverage in [0, 1]; :func:`photograph` turns it into a photo.
    truth : NumberTruth
        The text, each digit's box, line and the spacing.

    Examples
    --------
    >>> from hdrnn.datasets.synthetic import make_stroke_digits
    >>> images, labels = make_stroke_digits(3, random_state=0)
    >>> image, truth = compose_number(images, labels, 0, spacing="touching")
    >>> truth.text == "".join(map(str, labels)), truth.boxes.shape
    (True, (3, 4))
    """
    rng = as_generator(random_state)
    crops, labels = _check_digits(images, labels)
    spacing = _check_spacing(spacing)
    lines = check_count("lines", lines, 1, len(crops))
    if digit_height is None:
        digit_height = int(np.median([crop.shape[0] for crop in crops]))
    digit_height = check_count("digit_height", digit_height, 4, MAX_SIDE // 4)
    crops = [_jittered(crop, digit_height, rng) for crop in crops]
    groups = np.array_split(np.arange(len(crops)), lines)
    margin = int(digit_height * rng.uniform(0.3, 0.8) + 0.5)
    placed, line_of = [], []
    top = margin
    for number, group in enumerate(groups):
        indent = margin + int(digit_height * rng.uniform(0.0, 0.5) * (number > 0) + 0.5)
        row = _place_line([crops[i] for i in group], spacing, digit_height, rng)
        placed += [(y + top, x + indent, crop) for y, x, crop in row]
        line_of += [number] * len(group)
        gap = int(digit_height * rng.uniform(0.35, 0.8) + 0.5)
        top += max(y + crop.shape[0] for y, _, crop in row) + gap
    return _draw(placed, margin, labels, line_of, spacing)


def make_numbers(
    images, labels, n, random_state=None, *, lengths=(2, 10), spacing=None, lines=1, groups=None
):
    """Make ``n`` numbers from a pool of digit images, each with its truth.

    For measuring how well numbers are read, the pool must be digits the
    model never trained on: MNIST's *test* digits (never its training
    digits) or the synthetic writers of :func:`make_stroke_digits` and
    :func:`make_font_digits`.

    Parameters
    ----------
    images : ndarray of shape (n_digits, height, width) or sequence of 2-D arrays
        The pool of single digits, ink coverage in [0, 1] (MNIST's pixels
        divided by 255).
    labels : array-like of shape (n_digits,)
        The digit each pool image shows.
    n : int
        Number of numbers to make, 0 to 100 000.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator.
    lengths : tuple of (int, int), default=(2, 10)
        Fewest and most digits of a number (both included), 1 to 100.
    spacing : str, sequence of str or None, default=None
        A spacing kind for all numbers, several to draw from, or None for
        every kind of :data:`SPACINGS` in equal shares.
    lines : int, default=1
        Lines per number (never more than its digits).
    groups : array-like of shape (n_digits,) or None, default=None
        Who wrote each pool digit (the ``"writer"`` or ``"font"`` details of
        the synthetic sets); each number then takes all its digits from one
        group, as one person writes a number. None draws from the whole pool.

    Returns
    -------
    numbers : list of ndarray, float32
        One ink image per number (sizes differ).
    truths : list of NumberTruth

    Examples
    --------
    >>> from hdrnn.datasets.synthetic import make_stroke_digits
    >>> pool, pool_labels = make_stroke_digits(50, random_state=0)
    >>> numbers, truths = make_numbers(pool, pool_labels, 8, random_state=0)
    >>> sorted({truth.spacing for truth in truths})
    ['apart', 'close', 'overlapping', 'touching']
    """
    rng = as_generator(random_state)
    n = check_count("n", n, 0, 100_000)
    labels = np.asarray(labels).reshape(-1)
    members = _pool_groups(len(images), labels, groups)
    low, high = (check_count("lengths", side, 1, MAX_DIGITS) for side in lengths)
    if spacing is None:
        kinds = SPACINGS
    else:
        kinds = (spacing,) if isinstance(spacing, str) else tuple(spacing)
    kinds = [_check_spacing(kind) for kind in kinds]
    # Equal shares of each kind, in a random order.
    order = rng.permutation(np.arange(n) % len(kinds))
    numbers, truths = [], []
    for kind in order:
        pool = members[rng.integers(len(members))]
        picks = rng.choice(pool, size=rng.integers(low, max(low, high) + 1))
        image, truth = compose_number(
            [images[i] for i in picks],
            labels[picks],
            rng,
            spacing=kinds[kind],
            lines=min(lines, len(picks)),
        )
        numbers.append(image)
        truths.append(truth)
    return numbers, truths


def _pool_groups(n_images, labels, groups):
    """The pool's indices, one array per group (one array for the whole pool without groups)."""
    if n_images != len(labels) or n_images == 0:
        raise ValueError(
            f"images and labels must be the same non-zero length; got {n_images} images and "
            f"{len(labels)} labels. Pass one label per pool image."
        )
    if groups is None:
        return [np.arange(n_images)]
    groups = np.asarray(groups).reshape(-1)
    if len(groups) != n_images:
        raise ValueError(
            f"groups must name the writer of every pool image; got {len(groups)} groups for "
            f"{n_images} images. Pass one group per image, or groups=None."
        )
    return [np.flatnonzero(groups == group) for group in np.unique(groups)]


def _check_digits(images, labels):
    """Crops of each digit's ink, and the labels as ints, after checking them."""
    labels = [int(label) for label in np.asarray(labels).reshape(-1)]
    if not 1 <= len(labels) <= MAX_DIGITS or len(images) != len(labels):
        raise ValueError(
            f"Pass 1 to {MAX_DIGITS} digit images with one label each; got {len(images)} images "
            f"and {len(labels)} labels."
        )
    if any(not 0 <= label <= 9 for label in labels):
        raise ValueError(f"labels must be digits 0-9; got {labels}.")
    crops = []
    for image in images:
        ink = np.asarray(image, dtype=np.float64)
        if ink.size and ink.max() > 1.0:
            raise ValueError(
                f"Digit images must be ink coverage in [0, 1]; got values up to {ink.max():g}. "
                "Divide 0-255 pixels (MNIST's bytes) by 255."
            )
        ink = np.clip(ink, 0.0, 1.0)
        if ink.ndim != 2 or ink_box(ink) is None:
            raise ValueError(
                f"Each digit must be a 2-D ink image with some ink (coverage >= {INK_LEVEL}); got "
                f"shape {ink.shape} with largest value {ink.max(initial=0):.2f}. Pass ink images "
                "in [0, 1] with 0 for paper (MNIST pixels divided by 255)."
            )
        crops.append(crop_to_ink(ink, level=0.02))
    return crops, labels


def _check_spacing(spacing):
    if spacing not in SPACINGS:
        raise ValueError(
            f"spacing must be one of {', '.join(map(repr, SPACINGS))}; got {spacing!r}."
        )
    return spacing


def _jittered(crop, digit_height, rng):
    """The digit scaled to about ``digit_height`` (within 10%), with a one-pixel border."""
    scale = digit_height * rng.uniform(0.9, 1.1) / crop.shape[0]
    shape = tuple(max(1, round(float(side * scale))) for side in crop.shape)
    resized = resize(crop, shape)
    if ink_box(resized) is None:  # thin strokes shrunk to a faint trace: a pen is still dark
        resized = resized / max(resized.max(), 1e-9)
    return np.pad(resized, 1)


def _place_line(crops, spacing, digit_height, rng):
    """``(top, left, crop)`` of each digit of one line, the first at (.., 0)."""
    # Centres on a common middle line, each a little off (a wavy baseline).
    middle = max(crop.shape[0] for crop in crops) / 2
    tops = [
        round(float(middle - crop.shape[0] / 2 + rng.normal(0, 0.04) * digit_height))
        for crop in crops
    ]
    tops = [int(top - min(tops)) for top in tops]
    height = max(top + crop.shape[0] for top, crop in zip(tops, crops))
    canvas = _canvas_with(np.zeros((height, 0)), tops[0], 0, crops[0])
    placed = [(tops[0], 0, crops[0])]
    for top, crop, previous in zip(tops[1:], crops[1:], crops):
        left = _next_left(
            canvas,
            top,
            crop,
            spacing=spacing,
            previous=previous,
            digit_height=digit_height,
            rng=rng,
        )
        placed.append((top, left, crop))
        canvas = _canvas_with(canvas, top, left, crop)
    return placed


def _canvas_with(canvas, top, left, crop):
    """The line so far with ``crop`` added at (top, left); the canvas grows to the right."""
    width = max(canvas.shape[1], left + crop.shape[1])
    grown = np.zeros((canvas.shape[0], width))
    grown[:, : canvas.shape[1]] = canvas
    region = grown[top : top + crop.shape[0], left : left + crop.shape[1]]
    np.maximum(region, crop, out=region)
    return grown


def _ink_columns(ink):
    """Number of columns with ink: the width of a digit's ink box."""
    cols = np.flatnonzero(ink.any(axis=0))
    return int(cols[-1] - cols[0] + 1)


def _next_left(canvas, top, crop, *, spacing, previous, digit_height, rng):
    """Left edge of the next digit so that its gap to the line so far is of the given kind."""
    line_ink = canvas >= INK_LEVEL
    ink = np.zeros((canvas.shape[0], crop.shape[1]), dtype=bool)
    ink[top : top + crop.shape[0]] = crop >= INK_LEVEL
    box_right = int(np.flatnonzero(line_ink.any(axis=0))[-1]) + 1
    box_left = int(np.flatnonzero(ink.any(axis=0))[0])
    boxes_meet = box_right - box_left  # the left that puts the boxes side by side
    if spacing == "apart":
        return boxes_meet + round(float(digit_height * rng.uniform(0.25, 0.6)))
    if spacing == "overlapping":
        narrower = min(_ink_columns(ink), _ink_columns(previous >= INK_LEVEL))
        return max(0, boxes_meet - max(1, round(float(narrower * rng.uniform(0.15, 0.4)))))
    # Rightmost ink of the line and leftmost ink of the new digit, per row.
    right = np.where(
        line_ink.any(axis=1), canvas.shape[1] - 1 - np.argmax(line_ink[:, ::-1], axis=1), -1
    )
    first = np.where(ink.any(axis=1), np.argmax(ink, axis=1), -1)
    if spacing == "close":
        # Rows above and below count too, so the inks are not even diagonal neighbours.
        right = ndimage.maximum_filter1d(right, size=3, mode="nearest")
    shared = (right >= 0) & (first >= 0)
    if not shared.any():  # no row has ink of both: the boxes decide
        return boxes_meet + (0 if spacing == "touching" else 1)
    # Touching: the tightest row shares one pixel; close: one to a tenth of a height clear.
    tightest = int(np.max(right[shared] - first[shared]))
    extra = (
        0
        if spacing == "touching"
        else 2 + int(rng.integers(0, max(1, round(0.1 * digit_height) - 1)))
    )
    return max(0, tightest + extra)


def _draw(placed, margin, labels, line_of, spacing):
    """Paint the placed digits on a canvas with a margin; find each digit's ink box."""
    height = max(y + crop.shape[0] for y, _, crop in placed) + margin
    width = max(x + crop.shape[1] for _, x, crop in placed) + margin
    if height * width > MAX_SIDE * MAX_SIDE * 16:
        raise ValueError(
            f"The number would be {width}x{height} pixels; use fewer or smaller digits."
        )
    image = np.zeros((height, width), dtype=np.float32)
    owners = np.full((height, width), -1, dtype=np.int16)
    boxes = []
    for index, (y, x, crop) in enumerate(placed):
        region = image[y : y + crop.shape[0], x : x + crop.shape[1]]
        owned = owners[y : y + crop.shape[0], x : x + crop.shape[1]]
        owned[(crop > region) & (crop > 0)] = index  # the darker ink owns a shared pixel
        np.maximum(region, crop, out=region)
        x0, y0, x1, y1 = ink_box(crop)
        boxes.append([x + x0, y + y0, x + x1, y + y1])
    text, start = [], 0
    for number in range(max(line_of) + 1):
        count = line_of.count(number)
        text.append("".join(str(label) for label in labels[start : start + count]))
        start += count
    truth = NumberTruth(
        text="\n".join(text),
        labels=tuple(labels),
        boxes=np.asarray(boxes, dtype=np.int64).reshape(-1, 4),
        lines=tuple(line_of),
        spacing=spacing,
        owners=owners,
    )
    return image, truth
