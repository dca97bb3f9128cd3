"""What a reading says: the digits, how sure the model is of each, and where they are."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DigitReading:
    """One digit of a number, as read.

    Attributes
    ----------
    digit : int or str
        The class the model finds most likely (one of ``model.classes_``).
    probability : float
        The model's probability of ``digit`` for this piece of ink.
    candidates : tuple of (label, float)
        The three most likely classes with their probabilities, best first
        (``candidates[0]`` is ``(digit, probability)``).
    box : tuple of (int, int, int, int)
        ``(x0, y0, x1, y1)`` of the digit's ink in the original image's
        pixels, ends excluded (as Python slices count).
    vouched : bool
        Whether ``probability`` reached the reading's ``min_confidence``;
        the text shows ``"?"`` for a digit that did not.
    """

    digit: object
    probability: float
    candidates: tuple
    box: tuple
    vouched: bool

    @property
    def text(self):
        """The digit as text, or ``"?"`` when the model does not vouch for it."""
        return str(self.digit) if self.vouched else "?"

    def as_dict(self):
        """JSON-ready values: ``digit``, ``probability``, ``box`` and ``candidates``."""
        return {
            "digit": self.digit,
            "probability": round(self.probability, 6),
            "box": list(self.box),
            "candidates": [
                {"digit": label, "probability": round(p, 6)} for label, p in self.candidates
            ],
        }


@dataclass(frozen=True)
class LineReading:
    """One line of digits, read left to right.

    Attributes
    ----------
    digits : tuple of DigitReading
        Left to right.
    box : tuple of (int, int, int, int)
        ``(x0, y0, x1, y1)`` around the line's digits, in image pixels.
    """

    digits: tuple
    box: tuple

    @property
    def text(self):
        """The line's digits, ``"?"`` for each one the model does not vouch for."""
        return "".join(digit.text for digit in self.digits)

    @property
    def confidence(self):
        """The product of the digits' probabilities (see :attr:`Reading.confidence`)."""
        return _product(digit.probability for digit in self.digits)


@dataclass(frozen=True)
class Reading:
    """A number (or several, one per line) read from an image.

    Made by :func:`read_number`.

    Attributes
    ----------
    lines : tuple of LineReading
        One per line of digits, top to bottom; empty for a blank image.
    candidates : int
        How many candidate digits were classified to find this reading (a
        measure of the work done).

    Examples
    --------
    >>> reading = Reading(lines=(), candidates=0)
    >>> reading.text, reading.confidence, reading.digits
    ('', 0.0, ())
    """

    lines: tuple
    candidates: int

    @property
    def text(self):
        """The lines' texts joined by ``"\\n"`` (``""`` when nothing was read)."""
        return "\n".join(line.text for line in self.lines)

    @property
    def digits(self):
        """Every digit, in reading order (lines top to bottom, left to right)."""
        return tuple(digit for line in self.lines for digit in line.digits)

    @property
    def confidence(self):
        """The product of all digits' probabilities; 0.0 when nothing was read.

        The number is right only if every digit is, so with independent,
        calibrated probabilities the product is the chance that the whole
        text is right (the minimum would overstate it for long numbers).
        A blank image gives 0.0: nothing was read that could be vouched for.
        """
        return _product(digit.probability for digit in self.digits)

    def as_dict(self):
        """JSON-ready values: ``text``, ``confidence``, ``lines`` and ``digits``."""
        return {
            "text": self.text,
            "confidence": round(self.confidence, 6),
            "lines": [line.text for line in self.lines],
            "digits": [digit.as_dict() for digit in self.digits],
        }


def _product(values):
    """The product of ``values``, or 0.0 for none (computed in logs: long numbers underflow)."""
    values = list(values)
    if not values:
        return 0.0
    return math.exp(sum(math.log(max(v, 1e-300)) for v in values))
