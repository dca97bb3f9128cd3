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

import contextlib
import os
import warnings

import numpy as np
from scipy import ndimage
from sklearn.base import BaseEstimator, TransformerMixin

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

# Larger images are refused before they are decoded: a 50-megapixel photo is
# more than any camera of a digit needs, and bounds the memory a hostile file
# can make us use (Pillow's own limit, 89 million pixels, only warns).
MAX_IMAGE_PIXELS = 50_000_000
_LIMIT_TEXT = f"hdrnn reads images of up to {MAX_IMAGE_PIXELS:,} pixels (e.g. 8000x6000)"

# Images are decoded (or shrunk right after decoding) to at most this many
# pixels along the longer side: a digit ends up 20 pixels tall anyway.
MAX_DECODED_SIDE = 2048

# The EXIF orientation tag, and the transposition that undoes each orientation.
_EXIF_ORIENTATION = 0x0112
_EXIF_TRANSPOSE = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}


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
    gray = _to_ink_intensity(_read_grayscale(image))
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
    if isinstance(image, np.ndarray):
        width, height = image.shape[1], image.shape[0]
    else:
        with _open_header(image) as opened:
            width, height = opened.size
    rows, cols = (int(side) for side in image_shape)
    if (rows, cols) == (8, 8):
        steps = (
            f"cropped to the ink, scaled to fill a {DIGITS_BITMAP}x{DIGITS_BITMAP} bitmap, "
            "strokes thickened, averaged over 4x4 blocks into 8x8"
        )
    else:
        box = max(1, round(min(rows, cols) * MNIST_BOX / MNIST_SIZE))
        steps = (
            f"cropped to the ink, scaled to fit a {box}x{box} box keeping its aspect ratio, "
            f"centred by its centre of mass in {rows}x{cols}"
        )
    return f"a {width}x{height} image: {steps}"


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


def _read_grayscale(image):
    """Return the image as a 2-D float array in [0, 1], transparency flattened onto white."""
    if isinstance(image, np.ndarray):
        _check_pixel_count(image.shape[1::-1] if image.ndim >= 2 else image.shape)
        return _array_to_grayscale(image)
    pil_image = _open_with_pillow(image)
    if pil_image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16- and 32-bit grayscale
        array = np.asarray(pil_image)
        scale = 65535.0 if array.max(initial=0) > 255 or pil_image.mode.startswith("I;16") else 255
        return np.clip(array.astype(np.float64) / scale, 0, 1)
    if pil_image.mode in ("F", "L"):  # one channel, no transparency
        return _array_to_grayscale(np.asarray(pil_image))
    # Palette, gray+alpha, CMYK...: RGBA keeps any transparency.
    return _array_to_grayscale(np.asarray(pil_image.convert("RGBA")))


def _open_with_pillow(image):
    """Open, check the size before decoding, decode at a bounded size, apply EXIF rotation."""
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError(
            "Reading image files and PIL images needs Pillow: pip install 'hdrnn[images]' "
            "(or pass the image as a NumPy array)."
        ) from None
    if isinstance(image, Image.Image):
        _check_pixel_count(image.size)
        return ImageOps.exif_transpose(_reduced(image))
    with warnings.catch_warnings():
        # hdrnn's own, lower limit applies below; Pillow's warning would be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            opened = Image.open(image)  # reads the header only
        except Image.DecompressionBombError as error:
            raise ValueError(
                f"image too large: {_pixels_in(error)} pixels; {_LIMIT_TEXT}"
            ) from None
    with opened:
        _check_pixel_count(opened.size)
        orientation = opened.getexif().get(_EXIF_ORIENTATION)
        if max(opened.size) > MAX_DECODED_SIDE:
            # JPEG can decode straight at a fraction of the size (no effect elsewhere).
            opened.draft("RGB", _bounded_size(opened.size))
        opened.load()
        reduced = _reduced(opened)
    # The orientation is read before shrinking, which drops the EXIF data.
    transpose = _EXIF_TRANSPOSE.get(orientation)
    return reduced if transpose is None else reduced.transpose(Image.Transpose[transpose])


@contextlib.contextmanager
def _open_header(image):
    """A PIL image as given, or a file opened without decoding it."""
    if not isinstance(image, str | os.PathLike):
        yield image
        return
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(image) as opened:
            yield opened


def _check_pixel_count(size):
    """Refuse an image of more than MAX_IMAGE_PIXELS before it is decoded or converted."""
    width, height = (int(side) for side in (*size, 1)[:2])
    if width * height > MAX_IMAGE_PIXELS:
        raise ValueError(f"image too large: {width}x{height} pixels; {_LIMIT_TEXT}")


def _pixels_in(error):
    """The pixel count in Pillow's DecompressionBombError message, formatted."""
    digits = "".join(ch for ch in str(error).split("pixels")[0] if ch.isdigit())
    return f"{int(digits):,}" if digits else "too many"


def _bounded_size(size):
    scale = max(size) / MAX_DECODED_SIDE
    return tuple(max(1, int(side / scale)) for side in size)


def _reduced(pil_image):
    """The image shrunk by a whole factor (box filter) so its longer side is at most
    MAX_DECODED_SIDE: a digit needs far fewer pixels, and memory stays bounded."""
    factor = -(-max(pil_image.size) // MAX_DECODED_SIDE)  # ceiling division
    if factor <= 1:
        return pil_image
    if pil_image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        pil_image = pil_image.convert("RGBA")  # reduce() needs a plain mode
    return pil_image.reduce(factor)


def _array_to_grayscale(array):
    array = np.asarray(array)
    if array.dtype.kind == "b":
        array = array.astype(np.float64)
    elif array.dtype.kind in "ui":
        array = array.astype(np.float64) / np.iinfo(array.dtype).max
    elif array.dtype.kind == "f":
        array = array.astype(np.float64)
        top = np.nanmax(array) if array.size else 0.0
        if top > 1.0:  # e.g. 0-255 floats
            array = array / (255.0 if top <= 255 else top)
    else:
        raise ValueError(f"Cannot read an image from an array of dtype {array.dtype}.")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        rgb, alpha = array[..., :3], array[..., 3] if array.shape[2] == 4 else None
        gray = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as PIL's "L"
        if alpha is not None:
            gray = gray * alpha + (1.0 - alpha)  # flatten onto white paper
    elif array.ndim == 2:
        gray = array
    else:
        raise ValueError(
            "A digit image array must have shape (height, width), (height, width, 3) or "
            f"(height, width, 4); got {array.shape}."
        )
    if min(gray.shape) < 2:
        raise ValueError(f"The image is too small to hold a digit: {gray.shape}.")
    return np.clip(np.nan_to_num(gray, nan=1.0), 0.0, 1.0)


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
