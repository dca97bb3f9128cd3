"""Reading images and knowing their shape: one owner for both.

Image files may come from anyone, so they are read with bounded work: the
size is checked from the header before anything is decoded, and large
images are decoded (or shrunk right after decoding) at a bounded size.
:func:`image_shape` is the one rule for the shape of the images that rows
of ``X`` flatten.

Pillow is optional (the ``images`` extra) and imported only here, when a
file or a PIL image is read.
"""

import contextlib
import math
import os
import stat
import warnings

import numpy as np

# Larger images are refused before they are decoded: a 50-megapixel photo is
# more than any camera of a digit needs, and bounds the memory a hostile file
# can make us use (Pillow's own limit, 89 million pixels, only warns).
MAX_IMAGE_PIXELS = 50_000_000
_LIMIT_TEXT = f"hdrnn reads images of up to {MAX_IMAGE_PIXELS:,} pixels (e.g. 8000x6000)"

# Images are decoded (or shrunk right after decoding) to at most this many
# pixels along the longer side: a digit ends up 20 pixels tall anyway.
MAX_DECODED_SIDE = 2048

# Large arrays are converted to floats this many pixels at a time (8 MB of
# float64 RGBA), so that their memory stays bounded too.
_STRIP_PIXELS = 1 << 18

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


def image_shape(n_features, given=None):
    """Return the ``(height, width)`` of the images that rows of ``n_features`` flatten.

    Parameters
    ----------
    n_features : int
        Length of a row.
    given : sequence of two int or None, default=None
        The shape, when known; None means square.

    Returns
    -------
    shape : tuple of (int, int)

    Raises
    ------
    ValueError
        If ``given`` does not multiply out to ``n_features``, or if it is
        None and ``n_features`` is not a perfect square.

    Examples
    --------
    >>> image_shape(784), image_shape(12, (3, 4))
    ((28, 28), (3, 4))
    """
    if given is None:
        shape = default_image_shape(n_features)
        if shape is None:
            raise ValueError(
                f"{n_features} features are not a square image; pass image_shape=(height, width)."
            )
        return shape
    if len(given) != 2 or int(np.prod(given)) != n_features:
        raise ValueError(
            f"image_shape={tuple(given)} does not match the data: pass (height, width) with "
            f"height * width == n_features ({n_features})."
        )
    return tuple(int(side) for side in given)


def default_image_shape(n_features):
    """Return ``(side, side)`` when ``n_features`` is a perfect square, else None."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def read_grayscale(image):
    """Return the image as a 2-D float array in [0, 1], transparency flattened onto white."""
    return read_image(image)[0]


def read_image(image):
    """Read an image at a bounded size: ``(gray, (width, height))``.

    ``gray`` is a 2-D float64 array in [0, 1] (transparency flattened onto
    white, EXIF orientation applied) whose longer side is at most
    MAX_DECODED_SIDE: larger images, files and arrays alike, are shrunk by
    a whole factor while they are read, so memory stays bounded.
    ``(width, height)`` is the image's own size as displayed, in the pixels
    that boxes reported to the user are counted in.
    """
    if isinstance(image, list | tuple):  # nested lists of pixels, as scikit-learn takes them
        image = np.asarray(image)
    if isinstance(image, np.ndarray):
        _check_array_shape(image)  # before counting its pixels, which needs two sides
        _check_pixel_count(image.shape[1::-1])
        return _array_to_grayscale(image), (image.shape[1], image.shape[0])
    pil_image, size = _open_with_pillow(image)
    if min(pil_image.size) < 2:  # too thin once shrunk: name the image's own size
        factor = -(-max(size) // MAX_DECODED_SIDE)
        raise ValueError(_too_small((size[1], size[0]), factor))
    if pil_image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16- and 32-bit grayscale
        array = np.asarray(pil_image)
        scale = 65535.0 if array.max(initial=0) > 255 or pil_image.mode.startswith("I;16") else 255
        return np.clip(array.astype(np.float64) / scale, 0, 1), size
    if pil_image.mode in ("F", "L"):  # one channel, no transparency
        return _array_to_grayscale(np.asarray(pil_image)), size
    # Palette, gray+alpha, CMYK...: RGBA keeps any transparency.
    return _array_to_grayscale(np.asarray(pil_image.convert("RGBA"))), size


def _open_with_pillow(image):
    """Open, check the size before decoding, decode at a bounded size, apply EXIF rotation.

    Returns the decoded PIL image and the full image's ``(width, height)`` as displayed.
    """
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError(
            "Reading image files and PIL images needs Pillow: pip install 'hdrnn[images]' "
            "(or pass the image as a NumPy array)."
        ) from None
    if isinstance(image, Image.Image):
        _check_pixel_count(image.size)
        orientation = image.getexif().get(_EXIF_ORIENTATION)
        return ImageOps.exif_transpose(_reduced(image)), _displayed(image.size, orientation)
    _refuse_special_files(image)
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
        full_size = opened.size
        orientation = opened.getexif().get(_EXIF_ORIENTATION)
        if max(opened.size) > MAX_DECODED_SIDE:
            # JPEG can decode straight at a fraction of the size (no effect elsewhere).
            opened.draft("RGB", _bounded_size(opened.size))
        opened.load()
        reduced = _reduced(opened)
    # The orientation is read before shrinking, which drops the EXIF data.
    transpose = _EXIF_TRANSPOSE.get(orientation)
    if transpose is not None:
        reduced = reduced.transpose(Image.Transpose[transpose])
    return reduced, _displayed(full_size, orientation)


def _refuse_special_files(image):
    """A pipe, a device or a socket named as an image: refused before reading (a pipe
    nobody writes to would wait forever). Open files and missing paths pass through."""
    if not isinstance(image, str | os.PathLike):
        return
    try:
        mode = os.stat(image).st_mode
    except OSError:
        return  # missing or unreadable: opening it says so
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise ValueError(
            f"{os.fspath(image)} is not a regular file (a pipe, a device or a socket): "
            "pass an image file."
        )


def _displayed(size, orientation):
    """``(width, height)`` as shown: EXIF orientations 5 to 8 turn the image by 90 degrees."""
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else tuple(size)


def image_size(image):
    """``(width, height)`` of an array, a PIL image or a file (whose header alone is read)."""
    if isinstance(image, np.ndarray):
        return image.shape[1], image.shape[0]
    with _open_header(image) as opened:
        return opened.size


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
    if pil_image.mode.startswith("I;16"):
        # 16-bit gray: reduced as 32-bit and back (RGBA would clip every level to 255,
        # and a large 16-bit scan read as blank paper).
        return pil_image.convert("I").reduce(factor).convert("I;16")
    if pil_image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        pil_image = pil_image.convert("RGBA")  # reduce() needs a plain mode
    return pil_image.reduce(factor)


def _array_to_grayscale(array):
    """A 2-D float array in [0, 1]; arrays over MAX_DECODED_SIDE are shrunk strip by strip."""
    array = np.asarray(array)
    divisor = _value_divisor(array)
    _check_array_shape(array)
    if min(array.shape[:2]) < 2:
        raise ValueError(_too_small(array.shape[:2]))
    factor = -(-max(array.shape[:2]) // MAX_DECODED_SIDE)  # ceiling division
    if factor <= 1:
        return _gray_values(array, divisor)
    # A float copy of a 50-megapixel RGBA array would take 1.6 GB: convert a
    # strip of rows at a time and keep only its block means.
    step = factor * max(1, _STRIP_PIXELS // (array.shape[1] * factor))
    strips = [
        block_mean(_gray_values(array[top : top + step], divisor), factor)
        for top in range(0, array.shape[0], step)
    ]
    return np.vstack(strips)


def _check_array_shape(array):
    """Refuse an array that is no gray, RGB or RGBA image."""
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(
            "A digit image array must have shape (height, width), (height, width, 3) or "
            f"(height, width, 4); got {array.shape}."
        )


def _too_small(shape, factor=1):
    """What is wrong with an image of ``shape`` (rows, cols) that is too thin to read."""
    shrunk = (
        ""
        if factor <= 1 or min(shape) < 2
        else f"; shrunk to at most {MAX_DECODED_SIDE} pixels a side, it would be under 2 wide"
    )
    return f"The image is too small to hold a digit: {tuple(shape)}{shrunk}."


def _value_divisor(array):
    """What the array's values are divided by to lie in [0, 1]."""
    if array.dtype.kind == "b":
        return 1.0
    if array.dtype.kind in "ui":
        if array.dtype.itemsize <= 2:  # 8- and 16-bit images
            return float(np.iinfo(array.dtype).max)
        # Wider integers are no image format's: they hold 8-bit levels (an array of
        # Python ints) or 16-bit ones. Divided by 2**63, a 0-255 image read as blank.
        top = int(array.max()) if array.size else 0
        return 255.0 if top <= 255 else 65535.0 if top <= 65535 else float(top)
    if array.dtype.kind == "f":
        if array.size and not np.isfinite(array).all():
            raise ValueError(
                "The image array holds NaN or infinite pixel values; pixels must be finite "
                "numbers (0-1, or 0-255 for 8-bit levels)."
            )
        top = float(array.max()) if array.size else 0.0
        if top > 1.0:  # e.g. 0-255 floats
            return 255.0 if top <= 255 else top
        return 1.0
    raise ValueError(f"Cannot read an image from an array of dtype {array.dtype}.")


def _gray_values(array, divisor):
    """Gray levels in [0, 1] of a (part of an) image array, transparency flattened onto white."""
    values = array.astype(np.float64)
    if divisor != 1.0:
        values /= divisor  # in place: one float copy of the array in all
    if values.ndim == 3:
        gray = values[..., 0] * 0.299 + values[..., 1] * 0.587 + values[..., 2] * 0.114  # ITU-R 601
        if values.shape[2] == 4:
            alpha = values[..., 3]
            gray = gray * alpha + (1.0 - alpha)  # flatten onto white paper
    else:
        gray = values
    if array.dtype.kind == "f":  # integers scaled by their maximum are in [0, 1] already
        gray = np.clip(np.nan_to_num(gray, nan=1.0), 0.0, 1.0)
    return gray


def block_mean(gray, factor, mode="edge"):
    """``gray`` shrunk by a whole ``factor``: the mean of each block.

    A box filter is the anti-aliasing a shrink by a whole factor needs, and
    it costs one pass over the pixels. Partial blocks at the bottom and right
    are filled as ``np.pad``'s ``mode`` says: "edge" repeats the last pixels
    (for photos), "constant" adds zeros (for ink on paper at 0).
    """
    if factor <= 1:
        return gray
    height, width = gray.shape
    rows, cols = -(-height // factor), -(-width // factor)
    if (rows * factor, cols * factor) != gray.shape:
        gray = np.pad(gray, ((0, rows * factor - height), (0, cols * factor - width)), mode=mode)
    # One strided sum per pixel of the block: a pass over the pixels, no copy.
    total = np.zeros((rows, cols), dtype=gray.dtype)
    for row in range(factor):
        for col in range(factor):
            total += gray[row::factor, col::factor]
    return total / (factor * factor)
