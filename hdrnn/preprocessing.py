"""Turn a photo or scan of handwriting into a model's input vector.

Two steps, both public so that every reader of digits shares them:

1. :func:`find_ink` finds the ink on a photo of paper. It flattens uneven
   lighting (shadows, vignetting, gray or coloured paper), works out
   whether the ink is dark on light paper or light on a dark board,
   thresholds against the ink's own contrast and the paper's noise, drops
   specks of dust, takes out ruled lines and a frame drawn around the
   digit, and returns an :class:`InkImage`: the ink as an intensity (the
   paper exactly 0) with what was found and where.
2. :func:`prepare_ink` turns a piece of that ink into what the model was
   trained on. MNIST was made in a particular way: cropped to the ink,
   scaled to fit a 20x20 box keeping the aspect ratio (with anti-aliasing),
   and pasted into 28x28 with the centre of mass in the middle. For 8x8
   models trained on scikit-learn's ``load_digits`` the digit fills a 32x32
   bitmap that is averaged over 4x4 blocks, as that data set was made.

:func:`prepare_digit_image` does both for an image of one digit (cropping
to the mark with the most ink), and :class:`DigitImagePreprocessor` wraps
it as a scikit-learn transformer; ``hdrnn predict``, ``hdrnn serve`` and
``hdrnn read`` all go this one way. Images can be NumPy arrays, PIL images
or files; reading files and PIL images needs Pillow (``pip install
"hdrnn[images]"``).
"""

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin

from hdrnn._utils import ink as _ink
from hdrnn._utils.images import block_mean, read_image

# Measured on the 60 000 MNIST training digits: the ink's centre of mass is
# at (14.0, 14.0) in pixel-index coordinates, and it fits a 20x20 box.
MNIST_BOX = 20
MNIST_SIZE = 28

# scikit-learn's 8x8 digits: 32x32 bitmaps whose digit fills the box,
# counted in 4x4 blocks.
DIGITS_BITMAP = 32

# Stroke width of the digits in those bitmaps (their pen), in pixels of 32.
DIGITS_STROKE_WIDTH = 6

# Pixels brighter than this share of the ink's level count as ink when cropping.
INK_THRESHOLD = _ink.INK_THRESHOLD

# An image whose ink differs from its paper by less than this (0-1 scale)
# has no digit on it.
MIN_CONTRAST = _ink.MIN_CONTRAST

# A digit's crop is read at the image's full resolution up to this many
# times the box it is scaled into (320 pixels for MNIST's 20), and shrunk by
# a whole factor beyond: the work stays bounded, and the result is exactly
# the same up to that size and nearly the same beyond.
CROP_OVERSAMPLING = 16

# prepare_inks prepares at most this many crops at a time.
PREPARE_CHUNK = 1024

POLARITIES = {True: "dark on light", False: "light on dark"}


@dataclass(frozen=True, eq=False)  # equal only to itself: it holds arrays
class InkImage:
    """The ink found on an image of handwriting, and what was found on the way.

    Made by :func:`find_ink`. Boxes are ``(x0, y0, x1, y1)`` in the image's
    own pixels (as displayed, before any shrinking), ends excluded, as
    Python slices and ``PIL.Image.crop`` count them.

    Attributes
    ----------
    ink : ndarray of shape (rows, cols), float32
        Ink intensity in [0, 1]: the paper exactly 0, the ink's level 1,
        anti-aliased edges in between. A copy of the image shrunk by a whole
        factor when it is large (see ``scale``).
    scale : float
        Pixels of ``ink`` per pixel of the image (1.0, or less for a large image).
    image_size : tuple of (int, int)
        The image's ``(width, height)``.
    polarity : {"dark on light", "light on dark"}
        Dark ink on light paper, or light ink (chalk) on a dark ground.
    paper_level, ink_level : float
        Gray levels (0 black, 1 white) of the paper (its median; shading
        is flattened around it) and of the ink (median of its strokes).
    noise : float
        The paper's noise: a robust standard deviation of its gray level.
    specks_removed : int
        Specks of dust or noise dropped (marks with under 3% of the ink of the largest).
    lines_removed : int
        Ruled lines taken out.
    frames_removed : int
        Frames (a box drawn around the digits) taken out: 0 or 1.
    marks : tuple of tuple of int
        The box of each separate mark, the one with the most ink first.
        Strokes closer than a quarter of the main stroke's height are one mark.
    contrast : float
        Between the ink's level and the paper, on the 0-1 gray scale.

    Examples
    --------
    >>> import numpy as np
    >>> photo = np.full((120, 90), 230, dtype=np.uint8)  # light gray paper
    >>> photo[20:100, 40:52] = 30  # a dark vertical stroke: a "1"
    >>> found = find_ink(photo)
    >>> found.polarity, found.marks, found.digit_box
    ('dark on light', ((40, 20, 52, 100),), (40, 20, 52, 100))
    """

    ink: np.ndarray = field(repr=False)
    scale: float
    image_size: tuple
    polarity: str
    paper_level: float
    ink_level: float
    noise: float
    specks_removed: int
    lines_removed: int
    frames_removed: int
    marks: tuple
    contrast: float
    _source: tuple = field(repr=False, compare=False, default=None)

    @property
    def digit_box(self):
        """The box of the mark with the most ink (what a single digit is cropped to), or None."""
        return self.marks[0] if self.marks else None

    @property
    def box(self):
        """The box around all the ink found, or None when there is none."""
        if not self.marks:
            return None
        corners = np.array(self.marks)
        return tuple(int(v) for v in (*corners[:, :2].min(axis=0), *corners[:, 2:].max(axis=0)))

    def image_box(self, box):
        """Map a box ``(x0, y0, x1, y1)`` in pixels of ``ink`` to the image's pixels."""
        return _to_image(box, self.scale, self.image_size)

    def crop(self, box, max_side=None):
        """The ink inside ``box``, at the finest scale the image was read at.

        :attr:`ink` may be a shrunk copy of a large image; this reads the
        same ink (same paper, level and strokes kept) from the image as read
        (up to 2048 pixels a side), for a sharper digit.

        Parameters
        ----------
        box : tuple of (int, int, int, int)
            ``(x0, y0, x1, y1)`` in the image's pixels.
        max_side : int or None, default=None
            Shrink by a whole factor (a box filter) so that the longer side
            is at most this many pixels (bounded work for a large box).

        Returns
        -------
        ink : ndarray of shape (rows, cols), float64
            Ink intensity in [0, 1], paper 0.
        """
        gray, found, read_scale = self._source
        x0, y0, x1, y1 = box
        rows = slice(math.floor(y0 * read_scale), max(math.ceil(y1 * read_scale), 1))
        cols = slice(math.floor(x0 * read_scale), max(math.ceil(x1 * read_scale), 1))
        region = gray[rows, cols]
        shrink = 1 if max_side is None else max(1, math.ceil(max(region.shape) / max_side))
        if found.factor == 1 and shrink == 1:
            return found.ink[rows, cols]  # the analysed copy is the image as read
        region = block_mean(region, shrink)
        # Centres of the region's pixels, in pixels of the analysed copy.
        centres = [
            (start + (np.arange(n) + 0.5) * shrink) / found.factor
            for start, n in ((rows.start, region.shape[0]), (cols.start, region.shape[1]))
        ]
        ink = found.paper.ink(region, found.paper.brightness(*centres))
        nearest = [np.minimum(c.astype(int), n - 1) for c, n in zip(centres, found.keep.shape)]
        keep = found.keep[np.ix_(*nearest)]
        # Averaging k x k pixels divides noise by k: at this finer scale the
        # paper's noise, and so the faint edges' threshold, is that much higher.
        ink = np.where(keep & (ink > found.edge * found.factor / shrink), ink, 0.0)
        if found.paper.noise > 0:
            # A lone pixel of ink at this finer scale is the paper's noise.
            seen = (ink > 0).astype(np.float32)
            lone = (seen > 0) & (ndimage.uniform_filter(seen, 3, mode="constant") * 9 < 2.5)
            ink[lone] = 0.0
        return ink

    def as_dict(self):
        """What was found, as JSON-ready values (boxes as lists)."""
        return {
            "image_size": list(self.image_size),
            "polarity": self.polarity,
            "paper_level": round(self.paper_level, 4),
            "ink_level": None if math.isnan(self.ink_level) else round(self.ink_level, 4),
            "noise": round(self.noise, 4),
            "specks_removed": self.specks_removed,
            "lines_removed": self.lines_removed,
            "frames_removed": self.frames_removed,
            "marks": [list(box) for box in self.marks],
            "box": None if self.digit_box is None else list(self.digit_box),
        }


def find_ink(image):
    """Find the ink on an image of handwriting.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, ndarray or InkImage
        As :func:`prepare_digit_image` takes it (an :class:`InkImage` is
        returned as it is).

    Returns
    -------
    found : InkImage
        The ink and what was found; ``found.marks`` is empty when the image
        holds no ink (a blank page is not an error here).

    Raises
    ------
    ValueError
        If the image has an unsupported shape or is too large.
    ImportError
        If a file or PIL image is given and Pillow is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> board = np.full((60, 80), 40, dtype=np.uint8)  # a blackboard...
    >>> board[10:50, 20:26] = board[10:50, 50:56] = 220  # ... with "11" in chalk
    >>> found = find_ink(board)
    >>> found.polarity, len(found.marks), round(found.paper_level, 2)
    ('light on dark', 2, 0.16)
    """
    if isinstance(image, InkImage):
        return image
    gray, size = read_image(image)
    found = _ink.find(gray)
    read_scale = gray.shape[1] / size[0]
    scale = read_scale / found.factor
    marks = []
    for rows, cols in found.marks:
        marks.append(_to_image((cols.start, rows.start, cols.stop, rows.stop), scale, size))
    paper = found.paper_level if found.paper.dark_ink else 1.0 - found.paper_level
    return InkImage(
        ink=found.ink.astype(np.float32),
        scale=scale,
        image_size=tuple(int(side) for side in size),
        polarity=POLARITIES[found.paper.dark_ink],
        paper_level=found.paper_level,
        ink_level=found.ink_level,
        noise=found.paper.noise * paper,
        specks_removed=found.specks,
        lines_removed=found.lines,
        frames_removed=found.frames,
        marks=tuple(marks),
        contrast=found.contrast,
        _source=(gray, found, read_scale),
    )


def _to_image(box, scale, size):
    """A box in pixels of a copy `scale` times the image's size, in the image's pixels."""
    x0, y0, x1, y1 = (v / scale for v in box)
    return (
        max(0, math.floor(x0 + 1e-9)),
        max(0, math.floor(y0 + 1e-9)),
        min(size[0], math.ceil(x1 - 1e-9)),
        min(size[1], math.ceil(y1 - 1e-9)),
    )


def prepare_ink(ink, box=None, image_shape=(28, 28), *, max_value=1.0):
    """Turn a piece of ink into a model input vector, the way MNIST (or load_digits) was made.

    Parameters
    ----------
    ink : ndarray of shape (rows, cols)
        Ink intensity in [0, 1] with the paper at 0, as :attr:`InkImage.ink`
        or :meth:`InkImage.crop` give it.
    box : tuple of (int, int, int, int) or None, default=None
        ``(x0, y0, x1, y1)`` in pixels of ``ink`` to take the digit from;
        None takes all of ``ink``. Either way the digit is cropped to the
        ink inside.
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image: (28, 28) for MNIST models, (8, 8) for
        models trained on ``load_digits``, or any other size, treated like MNIST.
    max_value : float, default=1.0
        Value of full ink: 1 for inputs scaled to [0, 1], 16 for raw ``load_digits``.

    Returns
    -------
    x : ndarray of shape (height * width,), float32
        Light ink on black, scaled to ``[0, max_value]``, flattened row by row.

    Raises
    ------
    ValueError
        If ``ink`` is not a 2-D array or holds no ink inside ``box``.

    Examples
    --------
    >>> import numpy as np
    >>> ink = np.zeros((50, 40))
    >>> ink[5:45, 18:22] = 1.0  # a "1"
    >>> x = prepare_ink(ink)
    >>> x.shape, float(x.max())
    ((784,), 1.0)
    >>> int((x.reshape(28, 28).max(axis=1) > 0.5).sum())  # the 1 fits a 20-pixel box
    19
    """
    return _prepared([_checked_ink(ink, box)], image_shape, max_value)[0]


def prepare_inks(inks, image_shape=(28, 28), *, max_value=1.0):
    """Prepare many pieces of ink at once: :func:`prepare_ink` for each, stacked.

    Parameters
    ----------
    inks : sequence of ndarray of shape (rows, cols)
        Ink crops (e.g. the candidate digits of a number).
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image.
    max_value : float, default=1.0
        Value of full ink.

    Returns
    -------
    X : ndarray of shape (len(inks), height * width), float32
        One row per crop, for one batched ``model.predict_proba(X)``.

    Examples
    --------
    >>> import numpy as np
    >>> bar, dot = np.ones((30, 4)), np.ones((5, 5))
    >>> prepare_inks([bar, dot]).shape
    (2, 784)
    """
    if len(inks) == 0:
        return np.zeros((0, int(np.prod(image_shape))), dtype=np.float32)
    return _prepared([_checked_ink(ink, None) for ink in inks], image_shape, max_value)


def _checked_ink(ink, box):
    """``ink`` (inside ``box``) as a 2-D float array, once it is known to hold ink."""
    ink = np.asarray(ink, dtype=np.float64)
    if ink.ndim != 2:
        raise ValueError(f"ink must be a 2-D array of ink intensity; got shape {ink.shape}.")
    if box is not None:
        x0, y0, x1, y1 = (int(v) for v in box)
        ink = ink[max(y0, 0) : y1, max(x0, 0) : x1]
    if not (ink > 0).any():
        raise ValueError(
            f"No ink to prepare in the box {box} of a {ink.shape} ink image: "
            "pass a box around some ink (e.g. one of InkImage.marks, mapped to ink pixels)."
        )
    return ink


def _prepared(inks, image_shape, max_value):
    """Checked inks as model inputs: (len(inks), height * width), float32."""
    height, width = (int(side) for side in image_shape)
    rows = np.empty((len(inks), height * width), dtype=np.float32)
    # In chunks: the centring matrices of 150 000 crops at once would take 200 MB.
    for start in range(0, len(inks), PREPARE_CHUNK):
        chunk = inks[start : start + PREPARE_CHUNK]
        if (height, width) == (8, 8):
            digits = np.stack([_digits_style(ink) for ink in chunk])
        else:
            digits = _mnist_style(chunk, (height, width))
        rows[start : start + len(chunk)] = (digits * max_value).reshape(len(chunk), -1)
    return rows


def prepare_digit_image(image, image_shape=(28, 28), *, max_value=1.0):
    """Turn an image of one handwritten digit into a model input vector.

    :func:`find_ink`, then :func:`prepare_ink` on the mark with the most
    ink (a digit written in several strokes is one mark).

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, ndarray or InkImage
        The digit: a file (PNG, JPEG, ...; needs Pillow), a PIL image, or an
        array of shape (height, width), (height, width, 3) RGB or
        (height, width, 4) RGBA, of any numeric dtype (integers are scaled
        by their type's maximum, e.g. 255 or 65535); or what
        :func:`find_ink` found on one. Any size (up to 50 megapixels); dark
        ink on light paper or the reverse; transparency is flattened onto
        white; EXIF orientation is applied.
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image: (28, 28) for MNIST models, (8, 8) for
        models trained on ``load_digits`` (as ``hdrnn train --dataset
        digits`` does), or any other size, treated like MNIST.
    max_value : float, default=1.0
        Value of full ink: 1 for inputs scaled to [0, 1] (``load_mnist``,
        and ``load_digits`` divided by 16), 16 for raw ``load_digits``.

    Returns
    -------
    x : ndarray of shape (height * width,), float32
        Light ink on black, scaled to ``[0, max_value]``, flattened row by
        row, ready for ``model.predict(x.reshape(1, -1))``.

    Raises
    ------
    ValueError
        If the image has no visible digit or an unsupported shape.
    ImportError
        If a file or PIL image is given and Pillow is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> photo = np.full((120, 90), 230, dtype=np.uint8)  # light gray paper
    >>> photo[20:100, 40:52] = 30  # a dark vertical stroke: a "1"
    >>> x = prepare_digit_image(photo)
    >>> x.shape, float(x.max())
    ((784,), 1.0)
    """
    found = find_ink(image)
    if found.digit_box is None:
        raise ValueError(_no_digit(found))
    # One pixel of the analysed copy wider: at full resolution the ink may
    # reach a little beyond the box found on the copy (prepare_ink crops it).
    margin = math.ceil(1 / found.scale)
    x0, y0, x1, y1 = found.digit_box
    width, height = found.image_size
    box = (
        max(x0 - margin, 0),
        max(y0 - margin, 0),
        min(x1 + margin, width),
        min(y1 + margin, height),
    )
    crop = found.crop(box, max_side=CROP_OVERSAMPLING * _box_side(image_shape))
    if not (crop > 0).any():
        raise ValueError(
            "No digit found: the marks seen on a shrunk copy of the image are lost in its "
            "noise at full size (finer than the paper's grain). Photograph the digit larger "
            "or with more contrast."
        )
    return prepare_ink(crop, None, image_shape, max_value=max_value)


def _no_digit(found):
    """Why :func:`prepare_digit_image` found no digit on an image, in words."""
    if found.contrast < MIN_CONTRAST:
        return (
            "No digit found: the image is almost uniform (ink and paper differ by "
            f"{found.contrast:.2f} on a 0-1 scale). Photograph the digit with more contrast."
        )
    taken = [
        f"{count} {what}"
        for count, what in (
            (found.lines_removed, "ruled line(s)"),
            (found.frames_removed, "frame(s)"),
        )
        if count
    ]
    return (
        "No digit found: the image has contrast, but none of its marks looks like a "
        f"digit{' (taken out: ' + ', '.join(taken) + ')' if taken else ''}: it may be "
        "texture, noise or a pattern. Crop the photo to the digit."
    )


def describe_preparation(image, image_shape=(28, 28)):
    """Say in one line what :func:`prepare_digit_image` found on ``image`` and did with it.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image, ndarray or InkImage
        As :func:`prepare_digit_image` takes it.
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image.

    Returns
    -------
    text : str
        The image's size, the crop box (x and y ranges, ends included), the
        steps, then what was found: the ink and paper levels, specks, lines
        and a frame removed, and a warning when the image holds several
        separate marks (a number: ``hdrnn read`` reads those).

    Examples
    --------
    >>> import numpy as np
    >>> photo = np.full((120, 90), 230, dtype=np.uint8)
    >>> photo[20:100, 40:52] = 30
    >>> print(describe_preparation(photo))  # doctest: +NORMALIZE_WHITESPACE
    a 90x120 image: cropped to the ink in x 40-51, y 20-99, scaled to fit a 20x20 box
    keeping its aspect ratio, centred by its centre of mass in 28x28; found dark ink
    (gray 0.12) on light paper (gray 0.90)
    """
    found = find_ink(image)
    width, height = found.image_size
    if found.digit_box is None:
        return (
            f"a {width}x{height} image: no ink found (ink and paper differ by "
            f"{found.contrast:.2f} on a 0-1 scale)"
        )
    x0, y0, x1, y1 = found.digit_box
    text = (
        f"a {width}x{height} image: cropped to the ink in x {x0}-{x1 - 1}, y {y0}-{y1 - 1}, "
        f"{_steps_after_crop(image_shape)}; {_found_text(found)}"
    )
    if len(found.marks) > 1:
        text += (
            f"; warning: {len(found.marks)} separate marks: to read a whole number use `hdrnn read`"
        )
    return text


def _found_text(found):
    """What was found on the paper, in words."""
    ink, paper = found.polarity.split(" on ")
    parts = [
        f"found {ink} ink (gray {found.ink_level:.2f}) "
        f"on {paper} paper (gray {found.paper_level:.2f})"
    ]
    for count, what in [
        (found.specks_removed, "speck"),
        (found.lines_removed, "ruled line"),
        (found.frames_removed, "frame"),
    ]:
        if count:
            parts.append(f"{count} {what}{'s' if count > 1 else ''} removed")
    return ", ".join(parts)


def preparation_steps(image_shape=(28, 28)):
    """Say in words what :func:`prepare_digit_image` does for a model's input shape.

    Parameters
    ----------
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image.

    Returns
    -------
    text : str

    Examples
    --------
    >>> preparation_steps((8, 8)).split(", ")[-1]
    'averaged over 4x4 blocks into 8x8'
    """
    return (
        "shading flattened, specks, ruled lines and a frame removed, cropped to the ink, "
        + _steps_after_crop(image_shape)
    )


def _steps_after_crop(image_shape):
    rows, cols = (int(side) for side in image_shape)
    if (rows, cols) == (8, 8):
        return (
            f"scaled to fill a {DIGITS_BITMAP}x{DIGITS_BITMAP} bitmap, "
            "strokes thickened, averaged over 4x4 blocks into 8x8"
        )
    box = _box_side(image_shape)
    return (
        f"scaled to fit a {box}x{box} box keeping its aspect ratio, "
        f"centred by its centre of mass in {rows}x{cols}"
    )


def _box_side(image_shape):
    """The side of the box the digit is scaled into."""
    rows, cols = (int(side) for side in image_shape)
    if (rows, cols) == (8, 8):
        return DIGITS_BITMAP
    return max(1, round(min(rows, cols) * MNIST_BOX / MNIST_SIZE))


class DigitImagePreprocessor(TransformerMixin, BaseEstimator):
    """Turn images of handwritten digits into model input rows.

    A scikit-learn transformer around :func:`prepare_digit_image`, so that
    a ``Pipeline`` can predict straight from image files.

    Parameters
    ----------
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image; see :func:`prepare_digit_image`.
    max_value : float, default=1.0
        Value of full ink.

    Examples
    --------
    >>> import numpy as np
    >>> images = [np.eye(40) * 255, np.fliplr(np.eye(40)) * 255]
    >>> DigitImagePreprocessor((8, 8)).fit_transform(images).shape
    (2, 64)
    """

    def __init__(self, image_shape=(28, 28), max_value=1.0):
        self.image_shape = image_shape
        self.max_value = max_value

    def fit(self, X, y=None):
        """Do nothing: the preprocessing has no parameters to learn.

        Parameters
        ----------
        X : sequence of images
            Ignored.
        y : None
            Ignored.

        Returns
        -------
        self : DigitImagePreprocessor
        """
        self.n_features_out_ = int(np.prod(self.image_shape))
        return self

    def transform(self, X):
        """Prepare each image.

        Parameters
        ----------
        X : sequence of images
            Paths, PIL images or arrays, as :func:`prepare_digit_image` takes.

        Returns
        -------
        rows : ndarray of shape (n_images, height * width), float32
        """
        return np.stack(
            [prepare_digit_image(image, self.image_shape, max_value=self.max_value) for image in X]
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        return tags


# ---------------------------------------------------------------- geometry


def _crop_to_ink(image):
    """The smallest box holding the ink above INK_THRESHOLD (any ink, if none is so strong)."""
    strong = image > INK_THRESHOLD
    if not strong.any():
        strong = image > 0
    rows = np.flatnonzero(strong.any(axis=1))
    cols = np.flatnonzero(strong.any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit_into_box(image, box):
    """Resize keeping the aspect ratio so the longer side is ``box``, anti-aliased.

    The same as ``ndimage.gaussian_filter`` (to blur away detail finer than
    the new pixels, scikit-image's anti-aliasing rule, as MNIST's scaling
    did) followed by a linear ``ndimage.zoom``, done as one small matrix per
    axis: the work no longer grows with the blur's width.
    """
    scale = box / max(image.shape)
    size = tuple(max(1, round(side * scale)) for side in image.shape)
    sigma = (1 / scale - 1) / 2 if scale < 1 else 0.0
    along_rows, along_cols = (_resize_matrix(n, new, sigma) for n, new in zip(image.shape, size))
    return np.clip(along_rows @ image @ along_cols.T, 0.0, 1.0)  # (size[0], size[1])


def resize_ink(ink, shape, scale=None):
    """Resize ink to ``shape`` as the preparation scales a digit: blurred first when
    shrunk (so that detail finer than the new pixels does not alias), then linearly
    interpolated, clipped to [0, 1].

    Parameters
    ----------
    ink : ndarray of shape (rows, cols)
        Ink coverage in [0, 1].
    shape : tuple of (int, int)
        The new (rows, cols), each at least 1.
    scale : float or None, default=None
        The shrinking the blur is set for; None takes the smaller of the two
        axes' scales.

    Returns
    -------
    resized : ndarray of shape ``shape``, float64

    Examples
    --------
    >>> resize_ink(np.ones((40, 20)), (20, 10)).shape
    (20, 10)
    """
    ink = np.asarray(ink, dtype=np.float64)
    if scale is None:
        scale = min(new / old for new, old in zip(shape, ink.shape))
    sigma = (1 / scale - 1) / 2 if scale < 1 else 0.0
    along_rows, along_cols = (_resize_matrix(n, new, sigma) for n, new in zip(ink.shape, shape))
    return np.clip(along_rows @ ink @ along_cols.T, 0.0, 1.0)


@functools.lru_cache(maxsize=1024)
def _resize_matrix(n_in, n_out, sigma):
    """The (n_out, n_in) matrix of a Gaussian blur of ``sigma`` (truncated at 4 sigmas,
    edges repeated) followed by linear interpolation at the new pixels' centres.

    Cached, read-only: a number's candidates come in few sizes, and building the
    matrix costs more than using it.
    """
    position = np.clip((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0, n_in - 1)
    low = np.floor(position).astype(int)
    neighbours = np.stack([low, np.minimum(low + 1, n_in - 1)], axis=1)  # (n_out, 2)
    weights = np.stack([1.0 - (position - low), position - low], axis=1)
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2) if sigma > 0 else np.ones(1)
    cols = np.clip(neighbours[..., np.newaxis] + offsets, 0, n_in - 1)  # (n_out, 2, taps)
    values = weights[..., np.newaxis] * (kernel / kernel.sum())
    rows = np.broadcast_to(np.arange(n_out)[:, np.newaxis, np.newaxis], cols.shape)
    flat = np.bincount((rows * n_in + cols).ravel(), values.ravel(), minlength=n_out * n_in)
    matrix = flat.reshape(n_out, n_in)
    matrix.flags.writeable = False
    return matrix


def _mnist_style(inks, image_shape):
    """Inks the way MNIST was made: (len(inks), height, width).

    Each is cropped to its ink, scaled to fit the box and pasted in the
    middle; then all are centred by their centre of mass at once. The same as
    ``ndimage.center_of_mass`` and ``ndimage.shift(order=1, mode="constant")``
    on each (checked to 1e-14), as one small matrix per axis and image: those
    two took half of a number's candidate preparation.
    """
    height, width = image_shape
    side = _box_side(image_shape)
    canvases = np.zeros((len(inks), height, width))
    for canvas, ink in zip(canvases, inks):
        digit = _fit_into_box(_crop_to_ink(ink), side)
        top, left = (height - digit.shape[0]) // 2, (width - digit.shape[1]) // 2
        canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    mass = canvases.sum(axis=(1, 2))
    has_mass = mass > 0  # an image without ink (or not finite) stays where it is
    safe_mass = np.where(has_mass, mass, 1.0)
    rows = canvases.sum(axis=2) @ np.arange(height) / safe_mass
    cols = canvases.sum(axis=1) @ np.arange(width) / safe_mass
    down = _shift_matrices(height, np.where(has_mass, height / 2 - rows, 0.0))
    across = _shift_matrices(width, np.where(has_mass, width / 2 - cols, 0.0))
    return np.clip(down @ canvases @ across.transpose(0, 2, 1), 0.0, 1.0)


def _shift_matrices(n, offsets):
    """(len(offsets), n, n) matrices of shifts by ``offsets`` pixels with linear
    interpolation, as ndimage's ``mode="constant"`` does it: an output pixel whose
    source lies outside the input (beyond its first or last pixel's centre) is 0."""
    source = np.arange(n)[np.newaxis, :] - np.asarray(offsets, dtype=float)[:, np.newaxis]
    inside = (source >= 0) & (source <= n - 1)
    low = np.where(inside, np.floor(source), 0).astype(int)
    fraction = np.where(inside, source - low, 0.0)
    matrices = np.zeros((len(source), n, n + 1))  # a last column for low + 1 == n, weight 0
    image, row = np.ogrid[: len(source), :n]
    matrices[image, row, low] = np.where(inside, 1.0 - fraction, 0.0)
    matrices[image, row, low + 1] = fraction
    return matrices[:, :, :n]


def _thicken_strokes(bitmap):
    """Dilate thin strokes to the width of load_digits' pen (~6 of 32 pixels).

    Those digits were written with a thick pen on forms; a photo of a digit
    written with a fine pen and scaled to 32 pixels has strokes of 1-3
    pixels, which 4x4 averaging turns into faint smudges the model never saw.
    """
    if not bitmap.any():
        return bitmap
    # Twice the distance to the nearest paper pixel, near its largest: the width.
    width = 2 * np.percentile(ndimage.distance_transform_edt(bitmap)[bitmap], 95)
    missing = round((DIGITS_STROKE_WIDTH - width) / 2)
    if missing > 0:
        bitmap = ndimage.binary_dilation(bitmap, iterations=missing)
    return bitmap


def _digits_style(ink):
    # The digit fills the bitmap along its longer side, so it is centred by
    # its box (a shift by centre of mass would push ink off the edge).
    digit = _fit_into_box(_crop_to_ink(ink), DIGITS_BITMAP)
    bitmap = np.zeros((DIGITS_BITMAP, DIGITS_BITMAP))
    top = (DIGITS_BITMAP - digit.shape[0]) // 2
    left = (DIGITS_BITMAP - digit.shape[1]) // 2
    bitmap[top : top + digit.shape[0], left : left + digit.shape[1]] = digit > 0.5  # bitmaps
    bitmap = _thicken_strokes(bitmap.astype(bool)).astype(np.float64)
    block = DIGITS_BITMAP // 8
    return bitmap.reshape(8, block, 8, block).mean(axis=(1, 3))  # share of ink per block
