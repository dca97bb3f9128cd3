"""``read_number``: from an image to a :class:`Reading`."""

import math
import numbers

import numpy as np

from hdrnn._utils.model_facts import input_image_shape, plain
from hdrnn.preprocessing import find_ink, prepare_inks
from hdrnn.reading._layout import find_lines
from hdrnn.reading._pieces import line_candidates, line_pieces
from hdrnn.reading._results import DigitReading, LineReading, Reading
from hdrnn.reading._search import best_path, candidate_scores, strip_score
from hdrnn.reading._strips import (
    BLANK,
    MAX_STRIP_WINDOWS,
    ROWS,
    STRIP_MIN_WIDTH,
    WINDOW,
    read_strip,
    shipped_strips,
    stroke_window_count,
    stroke_windows,
)
from hdrnn.reading._verifier import NOT_ONE, shipped_verifier

# Runner-up classes listed per digit (the best included).
TOP = 3


def read_number(image, model=None, *, min_confidence=0.5, digits=None, verifier=None, strips=None):
    """Read the handwritten number (or numbers, one per line) on an image.

    The ink is found as for :func:`hdrnn.preprocessing.prepare_digit_image`
    (dark on light or the reverse; specks, ruled lines and a frame
    removed), grouped into lines, and each line is cut into digits where
    the model is most sure of the whole reading: every plausible digit
    (whole strokes, and pieces of strokes that are wider than a digit) is
    classified in one batched call, and the best path through them is found
    by dynamic programming. A second shipped model, the verifier, says how
    likely each candidate is to be one whole digit (not a part of one, nor
    two), which weighs in the path's score. A third, the strip reader, reads
    a stroke wider than a digit without cutting it, by sliding a window
    along it (touching or overlapping digits, which no cut may separate);
    the path may take that reading too.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, ndarray or InkImage
        As :func:`~hdrnn.preprocessing.prepare_digit_image` takes it: a file
        (needs Pillow), a PIL image, an array (gray, RGB or RGBA, any
        numeric dtype), or what :func:`~hdrnn.preprocessing.find_ink` found.
    model : fitted classifier or None, default=None
        Any fitted model with ``predict_proba`` and ``classes_`` that reads
        square images as rows (a :class:`~hdrnn.DigitMLPClassifier` trained
        on MNIST, or on 8x8 ``load_digits`` scaled to [0, 1]). None loads
        the shipped model (:func:`hdrnn.pretrained.load_pretrained`).
    min_confidence : float, default=0.5
        A digit whose probability is below this reads as ``"?"`` in the
        text (its candidates are still listed).
    digits : int or None, default=None
        Read exactly this many digits on each line (a postcode, a PIN), when
        the ink can be cut that way; None lets the reading decide.
    verifier : fitted classifier, None or False, default=None
        The model that tells one whole digit (classes 0-9) from a candidate
        that is not one (class 10), reading square images like ``model``
        does: None uses the shipped one (``load_pretrained("segments")``),
        False scores candidates by ``model``'s probabilities alone.
    strips : fitted classifier, None or False, default=None
        The model that reads a stroke wider than a digit through a sliding
        window (:mod:`hdrnn.reading._strips`; classes 0-9 for a digit
        centred in the window, 10 for none): None uses the shipped one
        (``load_pretrained("strips")``), False cuts every stroke.

    Returns
    -------
    reading : Reading
        ``reading.text`` (lines joined by ``"\\n"``; ``""`` for a blank
        image), ``reading.confidence``, ``reading.lines`` and
        ``reading.digits`` with each digit's probability, runner-ups and box
        in the image's pixels.

    Raises
    ------
    ValueError
        If the image has an unsupported shape or is too large, the model
        does not read square images, ``min_confidence`` is not in [0, 1],
        ``digits`` is not a positive whole number, or ``verifier`` or
        ``strips`` has no class 10 or reads other images.
    ImportError
        If a file or PIL image is given and Pillow is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> model = DummyClassifier().fit(np.zeros((2, 784)), [1, 7])  # a stand-in model
    >>> paper = np.full((60, 120), 255, dtype=np.uint8)
    >>> paper[10:50, 20:26] = paper[10:50, 80:86] = 0  # two strokes, far apart
    >>> reading = read_number(paper, model, verifier=False, strips=False)
    >>> reading.text, [digit.box for digit in reading.digits]
    ('11', [(20, 10, 26, 50), (80, 10, 86, 50)])
    """
    model, shape = checked_model(model, min_confidence, digits)
    verifier = checked_verifier(verifier)
    strips = checked_strips(strips)
    found = find_ink(image)
    ink = np.asarray(found.ink, dtype=np.float64)
    labels, per_line = image_candidates(ink)
    everyone = [candidate for _, _, candidates in per_line for candidate in candidates]
    if not everyone:
        return Reading(lines=(), candidates=0)
    crops = [candidate.crop for candidate in everyone]
    X = prepare_inks(crops, shape)
    probabilities = model.predict_proba(X)  # one batched call
    not_one = _not_one(verifier, crops, X, shape)
    stripped = _stripped(strips, labels, ink, per_line)
    readings, offset = [], 0
    for (line, pieces, candidates), line_strips in zip(per_line, stripped):
        chosen = slice(offset, offset + len(candidates))
        offset += len(candidates)
        reading = _read_line(
            line,
            pieces,
            candidates,
            (
                probabilities[chosen],
                None if not_one is None else not_one[chosen],
                line_strips,
            ),
            (model, found, min_confidence, digits),
        )
        if reading.digits:
            readings.append(reading)
    return Reading(lines=tuple(readings), candidates=len(crops))


def image_candidates(ink):
    """``(labels, [(line, pieces, candidates)])``: the ink's stroke labels, and every line
    of the ink, top to bottom, with its pieces and candidate digits (the one way reading
    and its models' lessons cut ink)."""
    labels, lines = find_lines(ink)
    per_line = []
    for line in lines:
        pieces = line_pieces(labels, ink, line)
        per_line.append((line, pieces, line_candidates(labels, ink, line, pieces)))
    return labels, per_line


def checked_verifier(verifier):
    """The verifier to use (the shipped one for None, None for False), once checked."""
    return _checked_helper(
        verifier,
        shipped_verifier,
        "verifier",
        f"square images whose classes include {NOT_ONE} (not one whole digit)",
        lambda model: NOT_ONE in _classes(model) and input_image_shape(model) is not None,
    )


def checked_strips(strips):
    """The strip reader to use (the shipped one for None, None for False), once checked."""
    features = ROWS * WINDOW
    return _checked_helper(
        strips,
        shipped_strips,
        "strip reader",
        f"{ROWS}x{WINDOW} stroke windows ({features} features) whose classes include "
        f"{BLANK} (no digit centred here)",
        lambda model: BLANK in _classes(model) and _features(model) == features,
    )


def _checked_helper(model, shipped, role, requirement, fits):
    """A helper model of reading's: None for False, ``shipped()`` for None, else ``model``
    once ``fits(model)``; a ValueError that names the ``requirement`` otherwise."""
    if model is False:
        return None
    if model is None:
        return shipped()
    if not fits(model):
        classes = _classes(model)
        shown = f"{classes[:12]}{'...' if len(classes) > 12 else ''}"
        raise ValueError(
            f"The {role} must be a fitted classifier of {requirement}; got "
            f"{type(model).__name__} with {_features(model)} features and classes {shown}. "
            f"Pass None for the shipped {role}, or False for none."
        )
    return model


def _classes(model):
    """The model's classes as a list (empty when it has none)."""
    return list(getattr(model, "classes_", []))


def _features(model):
    """How many features the model reads (None when it does not say)."""
    return getattr(model, "n_features_in_", None)


def _stripped(strips, labels, ink, per_line):
    """For each line, ``[(first piece, piece after the last, [StripDigit])]``: its strokes
    wider than a digit read by the strip reader, in one batched call (none without one)."""
    found = [[] for _ in per_line]
    if strips is None:
        return found
    wide = _within_budget(
        [
            (n, stroke)
            for n, (line, _, _) in enumerate(per_line)
            for stroke in line.strokes
            if stroke.width > STRIP_MIN_WIDTH * line.height
        ]
    )
    if not wide:
        return found
    windows = [stroke_windows(labels, ink, stroke) for _, stroke in wide]
    answers = strips.predict_proba(np.concatenate([rows for rows, _ in windows]))
    start = 0
    for (n, stroke), (rows, scale) in zip(wide, windows):
        read = read_strip(answers[start : start + len(rows)], labels, stroke, scale)
        start += len(rows)
        mine = [k for k, piece in enumerate(per_line[n][1]) if piece.label == stroke.label]
        if read and mine:
            found[n].append((mine[0], mine[-1] + 1, read))
    return found


def _within_budget(wide):
    """The wide strokes the strip reader reads: in reading order, until their windows
    would pass :data:`MAX_STRIP_WINDOWS` (the rest are read by their cuts alone).

    A stroke has about ``INNER`` windows per stroke height of its width: a page
    of flat dashes (1 pixel high, 10 wide) had 590 000 windows, 4.6 GB and 24 s.
    """
    chosen, total = [], 0
    for n, stroke in wide:
        total += stroke_window_count(stroke)
        if total > MAX_STRIP_WINDOWS:
            break
        chosen.append((n, stroke))
    return chosen


def _not_one(verifier, crops, X, shape):
    """Each candidate's probability of not being one whole digit (None without a
    verifier), in one batched call; the candidates are prepared again when the verifier
    reads another image shape than the reader."""
    if verifier is None:
        return None
    own_shape = input_image_shape(verifier)
    rows = X if own_shape == shape else prepare_inks(crops, own_shape)
    column = list(verifier.classes_).index(NOT_ONE)
    return verifier.predict_proba(rows)[:, column]


def checked_model(model, min_confidence, digits=None):
    """``(model, image_shape)``: the model to read with (the shipped one for None), once
    the arguments are checked; a ValueError that says how to fix a bad one."""
    if not (_is_number(min_confidence) and 0.0 <= min_confidence <= 1.0):
        raise ValueError(
            f"min_confidence must be a probability in [0, 1]; got {min_confidence!r}. "
            "Pass e.g. 0.5 (0 shows every digit, 1 only certain ones)."
        )
    if digits is not None and not (
        _is_number(digits) and math.isfinite(digits) and int(digits) == digits and digits >= 1
    ):
        raise ValueError(
            f"digits must be a positive whole number or None; got {digits!r}. "
            "Pass how many digits each line holds (e.g. 5 for a postcode), or None."
        )
    if model is None:
        from hdrnn.pretrained import load_pretrained

        model = load_pretrained()
    shape = input_image_shape(model)
    if shape is None:
        raise ValueError(
            f"The model takes {model.n_features_in_} features, not a square image; "
            "it cannot read digits from images. Pass a model trained on digit images "
            "(e.g. MNIST's 28x28 or load_digits' 8x8)."
        )
    return model, shape


def _is_number(value):
    """Whether ``value`` is a real number (not text, not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _read_line(line, pieces, candidates, chances, settings):
    """The best reading of one line, as a :class:`LineReading`."""
    model, found, min_confidence, digits = settings
    probabilities, not_one, strips = chances
    boxes, cut_ends = [c.box for c in candidates], [c.cut_ends for c in candidates]
    scores = [candidate_scores(probabilities, boxes, cut_ends, line.height, not_one)]
    spans = [(c.start, c.stop) for c in candidates]
    counts = [1] * len(candidates)
    for start, stop, strip_digits in strips:  # a stroke read whole by the strip reader
        read_as = [digit.probabilities for digit in strip_digits]
        centred = [digit.centred for digit in strip_digits]
        widths = [(digit.box[2] - digit.box[0]) / line.height for digit in strip_digits]
        scores.append([strip_score(read_as, centred, widths)])
        spans, counts = [*spans, (start, stop)], [*counts, len(strip_digits)]
    scores = np.concatenate(scores)
    path = best_path(spans, scores, len(pieces), None if digits is None else int(digits), counts)
    read = []
    for index in path:
        read += _path_step(index, candidates, chances, (model, found, min_confidence))
    if not read:
        return LineReading(digits=(), box=None)
    corners = np.array([digit.box for digit in read])
    box = (
        *(int(v) for v in corners[:, :2].min(axis=0)),
        *(int(v) for v in corners[:, 2:].max(axis=0)),
    )
    return LineReading(digits=tuple(read), box=box)


def _path_step(index, candidates, chances, settings):
    """The digits one step of a line's best path reads: candidate ``index`` as one digit,
    or (``index - n`` for ``n`` candidates) a stroke as the strip reader read it."""
    model, found, min_confidence = settings
    probabilities, _, strips = chances
    n = len(candidates)
    if index < n:
        box = found.image_box(candidates[index].box)
        return [_digit(model.classes_, probabilities[index], box, min_confidence)]
    return [
        _digit(range(10), digit.probabilities, found.image_box(digit.box), min_confidence)
        for digit in strips[index - n][2]
    ]


def _digit(classes, proba, box, min_confidence):
    """A :class:`DigitReading` from one digit's probabilities over ``classes``."""
    ranked = np.argsort(-proba, kind="stable")[:TOP]
    top = tuple((plain(classes[i]), float(proba[i])) for i in ranked)
    return DigitReading(
        digit=top[0][0],
        probability=top[0][1],
        candidates=top,
        box=box,
        vouched=top[0][1] >= min_confidence,
    )
