"""Number mode: read a whole number drawn (or photographed) on the page.

The page's wide canvas, or an uploaded photo, is read with
:func:`hdrnn.reading.read_number`, the reader behind ``hdrnn read``, and
each digit it found comes back with its box, its runner-ups and the image
the model saw for it. A digit is taught by its box: the ink inside the box
is prepared as a one-digit drawing is (:func:`hdrnn.preprocessing.prepare_ink`
on the ink that :func:`~hdrnn.preprocessing.find_ink` found), so what the
page shows for a digit is what a lesson on it teaches.
"""

import math

import numpy as np

from hdrnn._serve.errors import RequestError
from hdrnn._utils.model_facts import plain
from hdrnn.preprocessing import find_ink, prepare_ink, prepare_inks
from hdrnn.reading import read_number

# A digit below this probability reads as "?" (as ``hdrnn read`` does by default).
MIN_CONFIDENCE = 0.5

# A drawing read as more digits than this is answered 422: each digit carries the
# picture the model saw, and a page of dashes read as 4600 "digits" made a 19 MB
# answer. A page of numbers, or a Sudoku (81 cells), stays far below.
MAX_DIGITS = 256


def min_confidence_of(request):
    """The request's ``min_confidence`` (default :data:`MIN_CONFIDENCE`), or 400."""
    value = request.get("min_confidence", MIN_CONFIDENCE)
    if type(value) not in (int, float) or not 0.0 <= value <= 1.0:
        shown = repr(value)[:40]
        raise RequestError(
            400, f"'min_confidence' must be a number from 0 to 1 (e.g. 0.5); got {shown}."
        )
    return float(value)


def box_of(request, width, height):
    """The request's digit ``box`` as ``(x0, y0, x1, y1)`` inside the drawing, None, or 400."""
    box = request.get("box")
    if box is None:
        return None
    numbers = isinstance(box, list) and len(box) == 4 and all(type(v) is int for v in box)
    if not numbers or not (0 <= box[0] < box[2] <= width and 0 <= box[1] < box[3] <= height):
        shown = repr(box) if len(repr(box)) <= 60 else repr(box)[:57] + "..."
        raise RequestError(
            400,
            f"'box' must be [x0, y0, x1, y1]: whole pixels inside the {width}x{height} "
            f"drawing with x0 < x1 and y0 < y1 (a digit's box from /api/read); got {shown}.",
        )
    return tuple(box)


def digit_input(found, box, image_shape):
    """The model input for the digit inside ``box`` of an image's ink (an ``InkImage``).

    ValueError when the box holds no ink.
    """
    return prepare_ink(_digit_crop(found, box), None, image_shape)


def _digit_crop(found, box):
    """The ink inside ``box`` (and a pixel around it), at the finest scale read."""
    x0, y0, x1, y1 = box
    width, height = found.image_size
    # A pixel more on each side: the box is the ink found on the analysed copy.
    margin = math.ceil(1 / found.scale)
    wide = (
        max(x0 - margin, 0),
        max(y0 - margin, 0),
        min(x1 + margin, width),
        min(y1 + margin, height),
    )
    crop = found.crop(wide)
    if not (crop > 0).any():
        raise ValueError(
            f"No ink inside the box {list(box)}: select a digit's box from the reading "
            "(/api/read) of this same drawing."
        )
    return crop


def _digit_inputs(found, digits, image_shape):
    """What the model saw of each digit, as a lesson would prepare it (one batched call);
    a blank picture for a digit whose box holds no ink at the finest scale (a stroke
    thinner than the copy it was read on: the reading stands, a lesson on it is refused)."""
    crops = []
    for digit in digits:
        try:
            crops.append(_digit_crop(found, digit.box))
        except ValueError:
            crops.append(None)
    inputs = np.zeros((len(crops), int(np.prod(image_shape))), dtype=np.float32)
    inked = [k for k, crop in enumerate(crops) if crop is not None]
    if inked:
        inputs[inked] = prepare_inks([crops[k] for k in inked], image_shape)
    return inputs


def read_drawing(model, pixels, image_shape, min_confidence=MIN_CONFIDENCE):
    """What ``model`` reads on a drawing of a number, as JSON-ready values.

    Returns ``{"text", "confidence", "lines", "digits", "width", "height"}``;
    each digit has ``digit``, ``probability``, ``candidates``, ``box``
    (in the drawing's pixels), ``vouched`` and ``input`` (the image the
    model saw for it, as :func:`digit_input` prepares it).
    """
    found = find_ink(pixels)
    reading = read_number(found, model, min_confidence=min_confidence)
    if len(reading.digits) > MAX_DIGITS:
        raise RequestError(
            422,
            f"This drawing reads as {len(reading.digits)} marks; the page reads numbers of "
            f"at most {MAX_DIGITS} digits in all. Clear it and write a number, or use "
            "hdrnn read on the image.",
        )
    inputs = _digit_inputs(found, reading.digits, image_shape)
    digits = []
    for digit, x in zip(reading.digits, inputs):
        digits.append(
            {
                "digit": plain(digit.digit),
                "text": digit.text,
                "probability": float(digit.probability),
                "candidates": [[plain(label), float(p)] for label, p in digit.candidates],
                "box": [int(v) for v in digit.box],
                "vouched": bool(digit.vouched),
                "input": np.round(x, 4).tolist(),
            }
        )
    return {
        "text": reading.text,
        "confidence": float(reading.confidence),
        "lines": [line.text for line in reading.lines],
        "digits": digits,
        "width": int(pixels.shape[1]),
        "height": int(pixels.shape[0]),
    }
