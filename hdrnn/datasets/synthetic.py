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
  box as ground truth (:class:`NumberTruth`).

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

from hdrnn.datasets._fonts import (
    HANDWRITING_FONT_FILES,
    HANDWRITING_FONT_PACKAGES,
    find_handwriting_fonts,
    make_font_digits,
)
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
    "Writer",
    "compose_number",
    "draw_digit",
    "find_handwriting_fonts",
    "make_font_digits",
    "make_numbers",
    "make_stroke_digits",
    "photograph",
    "random_look",
    "random_writer",
]
