"""Turn a photo or scan of one handwritten digit into a model's input vector.

MNIST was made in a particular way: grayscale digits, light ink on a dark
background, cropped to the ink, scaled to fit a 20x20 box keeping the aspect
ratio (with anti-aliasing), and pasted into 28x28 with the centre of mass
in the middle. A model trained on MNIST expects exactly that, so a user's
own image must go through the same steps: :func:`prepare_digit_image` does
them, and :class:`DigitImagePreprocessor` wraps it as a scikit-learn
transformer. For 8x8 models trained on scikit-learn's ``load_digits`` the
digit fills a 32x32 bitmap that is averaged over 4x4 blocks, as that data
set was made.

Images can be NumPy arrays, PIL images or files; reading files and PIL
images needs Pillow (``pip install "hdrnn[images]"``).
"""

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin

from hdrnn._utils.images import image_size, read_grayscale

# Measured on the 60 000 MNIST training digits: the ink's centre of mass is
# at (14.0, 14.0) in pixel-index coordinates, and it fits a 20x20 box.
MNIST_BOX = 20
MNIST_SIZE = 28

# scikit-learn's 8x8 digits: 32x32 bitmaps whose digit fills the box,
# counted in 4x4 blocks.
DIGITS_BITMAP = 32

# Stroke width of the digits in those bitmaps (their pen), in pixels of 32.
DIGITS_STROKE_WIDTH = 6

# Pixels brighter than this share of the ink's range count as ink when
# cropping (lower ones are paper texture, shadows and JPEG noise).
INK_THRESHOLD = 0.25

# An image whose brightest pixel differs from the paper by less than this
# (on a 0-1 scale) has no digit on it.
MIN_CONTRAST = 0.1


def prepare_digit_image(image, image_shape=(28, 28), *, max_value=1.0):
    """Turn an image of one handwritten digit into a model input vector.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image or ndarray
        The digit: a file (PNG, JPEG, ...; needs Pillow), a PIL image, or an
        array of shape (height, width), (height, width, 3) RGB or
        (height, width, 4) RGBA, of any numeric dtype (integers are scaled
        by their type's maximum, e.g. 255 or 65535). Any size; dark ink on
        light paper or the reverse; transparency is flattened onto white;
        EXIF orientation is applied.
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
    >>> photo = np.full((120, 90), 230, dtype=np.uint8)  # light grey paper
    >>> photo[20:100, 40:52] = 30  # a dark vertical stroke: a "1"
    >>> x = prepare_digit_image(photo)
    >>> x.shape, float(x.max())
    ((784,), 1.0)
    """
    gray = _to_ink_intensity(read_grayscale(image))
    height, width = (int(side) for side in image_shape)
    if (height, width) == (8, 8):
        digit = _digits_style(gray)
    else:
        digit = _mnist_style(gray, (height, width))
    return (digit * max_value).astype(np.float32).reshape(-1)


def describe_preparation(image, image_shape=(28, 28)):
    """Say in one line how :func:`prepare_digit_image` turns ``image`` into model input.

    Parameters
    ----------
    image : str, path-like, PIL.Image.Image or ndarray
        As :func:`prepare_digit_image` takes it (a file's header is read for
        its size; the image is not decoded).
    image_shape : tuple of (int, int), default=(28, 28)
        The model's input image.

    Returns
    -------
    text : str

    Examples
    --------
    >>> import numpy as np
    >>> describe_preparation(np.zeros((100, 60))).split(":")[0]
    'a 60x100 image'
    """
    width, height = image_size(image)
    return f"a {width}x{height} image: {preparation_steps(image_shape)}"


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
    >>> preparation_steps((8, 8)).split(",")[0]
    'cropped to the ink'
    """
    rows, cols = (int(side) for side in image_shape)
    if (rows, cols) == (8, 8):
        return (
            f"cropped to the ink, scaled to fill a {DIGITS_BITMAP}x{DIGITS_BITMAP} bitmap, "
            "strokes thickened, averaged over 4x4 blocks into 8x8"
        )
    box = max(1, round(min(rows, cols) * MNIST_BOX / MNIST_SIZE))
    return (
        f"cropped to the ink, scaled to fit a {box}x{box} box keeping its aspect ratio, "
        f"centred by its centre of mass in {rows}x{cols}"
    )


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


# ---------------------------------------------------------------- reading


# ---------------------------------------------------------------- geometry


def _to_ink_intensity(gray):
    """Light ink on black with the paper at 0 and the ink's peak at 1."""
    margin = max(1, min(gray.shape) // 20)
    border = np.concatenate(
        [
            gray[:margin].ravel(),
            gray[-margin:].ravel(),
            gray[:, :margin].ravel(),
            gray[:, -margin:].ravel(),
        ]
    )
    if np.median(border) > 0.5:  # light paper: dark ink
        gray = 1.0 - gray
        border = 1.0 - border
    paper = np.median(border)
    ink = np.percentile(gray, 99.9)
    if ink - paper < MIN_CONTRAST:
        raise ValueError(
            "No digit found: the image is almost uniform (ink and paper differ by "
            f"{ink - paper:.2f} on a 0-1 scale). Photograph the digit with more contrast."
        )
    return np.clip((gray - paper) / (ink - paper), 0.0, 1.0)


def _crop_to_ink(image):
    rows = np.flatnonzero((image > INK_THRESHOLD).any(axis=1))
    cols = np.flatnonzero((image > INK_THRESHOLD).any(axis=0))
    return image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _fit_into_box(image, box):
    """Resize keeping the aspect ratio so the longer side is ``box``, anti-aliased."""
    scale = box / max(image.shape)
    size = tuple(max(1, round(side * scale)) for side in image.shape)
    if scale < 1:
        # Blur away detail finer than the new pixels before sampling
        # (scikit-image's anti-aliasing rule), as MNIST's scaling did.
        image = ndimage.gaussian_filter(image, sigma=(1 / scale - 1) / 2, mode="nearest")
    zoom = [new / old for new, old in zip(size, image.shape)]
    resized = ndimage.zoom(image, zoom, order=1, mode="nearest", grid_mode=True)
    return np.clip(resized, 0.0, 1.0)


def _paste_centred_by_mass(digit, canvas_shape, centre):
    """Paste ``digit`` into a black canvas with its centre of mass at ``centre``."""
    canvas = np.zeros(canvas_shape)
    top = (canvas_shape[0] - digit.shape[0]) // 2
    left = (canvas_shape[1] - digit.shape[1]) // 2
    canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    mass_centre = ndimage.center_of_mass(canvas)
    offset = np.subtract(centre, mass_centre)
    return np.clip(ndimage.shift(canvas, offset, order=1, mode="constant"), 0.0, 1.0)


def _mnist_style(ink, image_shape):
    height, width = image_shape
    box = max(1, round(min(height, width) * MNIST_BOX / MNIST_SIZE))
    digit = _fit_into_box(_crop_to_ink(ink), box)
    return _paste_centred_by_mass(digit, image_shape, (height / 2, width / 2))


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
