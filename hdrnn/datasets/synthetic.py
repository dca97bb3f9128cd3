"""Handwriting that is not MNIST's training data, generated on demand.

A model trained on MNIST is measured on MNIST's test digits, written by
people whose hands it has already learnt. To know how it reads *other*
people's digits, photographed on real paper, and whole numbers, hdrnn
measures it on sets made here. They are generated, never shipped: the
same seed gives the same images on every machine, and nothing here reads
or needs MNIST's training digits.

The rule for every evaluation set: digits come from MNIST's **test** digits
(never its training digits) or from writers who are not in MNIST at all.

What it makes:

- **Writers drawn as strokes** (:func:`draw_digit`, :func:`make_stroke_digits`):
  hand-authored pen strokes of each digit in the ways people write it
  (:data:`STYLES`: a 1 with or without a flag and a base, an open or a
  closed 4, a 7 crossed or not, a 2 with or without a loop, a 9 with a
  straight or curved tail...), bent by a random :class:`Writer` (slant,
  aspect, size, smooth jitter of the strokes) and drawn with a ballpoint,
  felt tip, pencil or brush (width, pressure along the stroke, grain).
  Needs NumPy and SciPy only.
- **Handwriting fonts** (:func:`make_font_digits`): the handwriting fonts of
  :data:`HANDWRITING_FONT_PACKAGES` (Debian packages; install them with
  ``apt-get install``), found by :func:`find_handwriting_fonts`, rendered
  with Pillow (``pip install "hdrnn[images]"``) and distorted a little.
- **Photos** (:func:`photograph`): ink turned into a phone photo or scan of
  paper: paper colour and level, uneven light and shadow, ink colour, blur,
  noise, JPEG, specks, ruled lines, a box drawn around, or chalk on a
  blackboard. Looks come from :data:`PHOTO_PRESETS` via :func:`random_look`
  (a :class:`PhotoLook` whose every field can be set).
- **Numbers** (:func:`compose_number`, :func:`make_numbers`): digits side by
  side at a spacing of :data:`SPACINGS` (apart, close, touching,
  overlapping), over one or several lines, with the text and each digit's
  box as ground truth (:class:`NumberTruth`); :func:`make_writer_numbers`
  makes numbers each written by one stroke writer or in one font.

Images are ink coverage in [0, 1] (0 is paper, 1 full ink), float32, until
:func:`photograph` makes them uint8 pictures. Every function takes
``random_state``: an int, None or a ``numpy.random.Generator``, turned into
a Generator by ``numpy.random.default_rng`` (a Generator is used as it is,
so one can be threaded through many calls).

Examples
--------
>>> from hdrnn.datasets import synthetic
>>> images, labels = synthetic.make_stroke_digits(30, random_state=0)
>>> photo = synthetic.photograph(images[0], 0, preset="phone")
>>> number, truth = synthetic.compose_number(images[:4], labels[:4], 0, spacing="close")
>>> images.shape, photo.dtype, len(truth.text)
((30, 28, 28), dtype('uint8'), 4)
"""

import numpy as np

from hdrnn.datasets._fonts import (
    HANDWRITING_FONT_FILES,
    HANDWRITING_FONT_PACKAGES,
    find_handwriting_fonts,
    make_font_digits,
)
from hdrnn.datasets._ink import as_generator, as_paper, check_count
from hdrnn.datasets._numbers import SPACINGS, NumberTruth, compose_number, make_numbers
from hdrnn.datasets._photo import PHOTO_PRESETS, PhotoLook, photograph, random_look
from hdrnn.datasets._stroke_templates import STYLES
from hdrnn.datasets._strokes import PENS, Writer, draw_digit, make_stroke_digits, random_writer

__all__ = [
    "HANDWRITING_FONT_FILES",
    "HANDWRITING_FONT_PACKAGES",
    "PENS",
    "PHOTO_PRESETS",
    "SPACINGS",
    "STYLES",
    "NumberTruth",
    "PhotoLook",
    "WRITER_KINDS",
    "Writer",
    "as_paper",
    "compose_number",
    "draw_digit",
    "find_handwriting_fonts",
    "make_font_digits",
    "make_numbers",
    "make_writer_numbers",
    "make_stroke_digits",
    "photograph",
    "random_look",
    "random_writer",
]

# Who writes the numbers of make_writer_numbers.
WRITER_KINDS = ("strokes", "fonts")

# Digits each stroke writer writes for the pool (about three of each digit).
_DIGITS_PER_WRITER = 30


def make_writer_numbers(
    n, random_state=None, *, writers="strokes", lengths=(2, 10), spacing=None, size=28
):
    """Make ``n`` numbers, each written by one writer who is not in MNIST.

    A pool of digits is made first (:func:`make_stroke_digits` with about
    one writer per number, 30 digits each; or :func:`make_font_digits`,
    ten digits per number over the installed fonts), then
    :func:`make_numbers` composes every number from the digits of one
    writer or one font, as a person writes a number in one hand.

    Parameters
    ----------
    n : int
        Number of numbers, 0 to 100 000.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator; the same seed (and fonts) gives the same numbers.
    writers : {"strokes", "fonts"}, default="strokes"
        Digits drawn as pen strokes by random writers, or rendered in the
        handwriting fonts of :func:`find_handwriting_fonts` (needs Pillow).
    lengths : tuple of (int, int), default=(2, 10)
        Fewest and most digits of a number (both included).
    spacing : str, sequence of str or None, default=None
        As for :func:`make_numbers`: one kind of :data:`SPACINGS`, several,
        or None for all in equal shares.
    size : int, default=28
        Side of the square each pool digit is drawn in (28 gives digits of
        MNIST's size).

    Returns
    -------
    numbers : list of ndarray, float32
        One ink image per number (coverage in [0, 1], 0 is paper).
    truths : list of NumberTruth

    Raises
    ------
    ImportError, FileNotFoundError
        With ``writers="fonts"``, as :func:`make_font_digits` raises them.

    Examples
    --------
    >>> numbers, truths = make_writer_numbers(4, 0, spacing="touching", lengths=(3, 5))
    >>> [len(truth.text) in (3, 4, 5) for truth in truths]
    [True, True, True, True]
    """
    if writers not in WRITER_KINDS:
        raise ValueError(
            f"writers must be one of {', '.join(map(repr, WRITER_KINDS))}; got {writers!r}."
        )
    rng = as_generator(random_state)
    n = check_count("n", n, 0, 100_000)
    if writers == "strokes":
        n_writers = max(1, n)
        pool, labels, details = make_stroke_digits(
            _DIGITS_PER_WRITER * n_writers, rng, size=size, n_writers=n_writers, return_details=True
        )
        groups = details["writer"]
    else:
        pool, labels, details = make_font_digits(
            max(200, 10 * n), rng, size=size, return_details=True
        )
        groups = details["font"]
    return make_numbers(
        pool, labels, n, rng, lengths=lengths, spacing=spacing, groups=np.asarray(groups)
    )
