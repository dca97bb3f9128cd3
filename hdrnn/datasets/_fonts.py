"""Digits in handwriting fonts: people who are not in MNIST, as typefaces made from their hand.

The fonts come from Debian packages (:data:`HANDWRITING_FONT_PACKAGES`;
CI installs them); each glyph is rendered large with Pillow, given a random
slant, rotation, aspect and stroke weight, and scaled down with
anti-aliasing.
"""

import os
from pathlib import Path

import numpy as np
from scipy import ndimage

from hdrnn.datasets._ink import MAX_SIDE, as_generator, check_count, fit_in_square

# Debian packages of handwriting fonts whose digits read as handwriting.
# (fonts-femkeklaver is left out: its digits are hollow outlines.)
HANDWRITING_FONT_PACKAGES = (
    "fonts-breip",
    "fonts-bwht",
    "fonts-comic-neue",
    "fonts-dancingscript",
    "fonts-dkg-handwriting",
    "fonts-humor-sans",
    "fonts-kaushanscript",
    "fonts-klee",
    "fonts-kristi",
    "fonts-rufscript",
)

# The font files those packages install (looked for by name, so the same
# fonts found in another folder or installed by hand count too).
HANDWRITING_FONT_FILES = (
    "Breip.ttf",
    "BecauseWeBuild-Regular.otf",
    "BecauseWeConnect-Regular.otf",
    "BecauseWeCreate-Regular.otf",
    "BecauseWeLearn-Regular.otf",
    "BecauseWeMentor-Regular.otf",
    "BecauseWeOrganize-Regular.otf",
    "ComicNeue-Regular.otf",
    "ComicNeue-Bold.otf",
    "ComicNeue-Italic.otf",
    "ComicNeue-Light.otf",
    "DancingScript-Regular.otf",
    "DancingScript-Bold.otf",
    "dkg.ttf",
    "dkgBd.ttf",
    "dkgIt.ttf",
    "dkgBI.ttf",
    "Humor-Sans.ttf",
    "KaushanScript-Regular.otf",
    "KleeOne-Regular.ttf",
    "KleeOne-SemiBold.ttf",
    "Kristi.ttf",
    "Rufscript010.ttf",
)

FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")

# Glyphs are drawn this many pixels tall, then distorted and shrunk.
_GLYPH_POINTS = 96
# Extra outline around the glyph, in pixels at that size: pens heavier than the font's.
_STROKE_WIDTHS = (0, 0, 2, 4)


def find_handwriting_fonts(folders=FONT_FOLDERS):
    """List the handwriting font files installed on this machine.

    Parameters
    ----------
    folders : sequence of str or path-like, default=FONT_FOLDERS
        Folders searched (with their subfolders) for the files of
        :data:`HANDWRITING_FONT_FILES`; ``~`` is expanded, missing folders
        are skipped.

    Returns
    -------
    fonts : list of pathlib.Path
        One path per font found, in the order of ``HANDWRITING_FONT_FILES``
        (the first copy when a font is in several folders).

    Examples
    --------
    >>> fonts = find_handwriting_fonts()
    >>> all(path.suffix in (".ttf", ".otf") for path in fonts)
    True
    """
    wanted = set(HANDWRITING_FONT_FILES)
    found = {}
    for folder in folders:
        root = Path(os.path.expanduser(str(folder)))
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.name in wanted and path.name not in found:
                found[path.name] = path
    return [found[name] for name in HANDWRITING_FONT_FILES if name in found]


def make_font_digits(n, random_state=None, *, size=28, fonts=None, return_details=False):
    """Render ``n`` digits in handwriting fonts, balanced over the ten digits.

    Each digit gets a random font, slant, rotation, aspect and stroke
    weight. Needs Pillow (``pip install "hdrnn[images]"``) and the fonts of
    :data:`HANDWRITING_FONT_PACKAGES` (``apt-get install`` them on Debian).

    Parameters
    ----------
    n : int
        Number of digits, 0 to 1 000 000.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator; the same seed and fonts give the same digits.
    size : int, default=28
        Side of each square image, 8 to 1024 pixels.
    fonts : sequence of str or path-like, or None, default=None
        Font files to use; None uses :func:`find_handwriting_fonts`.
    return_details : bool, default=False
        Also return the font of each digit.

    Returns
    -------
    images : ndarray of shape (n, size, size), float32
        Ink coverage in [0, 1].
    labels : ndarray of shape (n,), int64
    details : dict of ndarray of shape (n,)
        Only when ``return_details`` is True: ``"font"``, the font file's
        name (pass it as ``groups`` to :func:`make_numbers` so that each
        number is in one font).

    Raises
    ------
    ImportError
        If Pillow is not installed.
    FileNotFoundError
        If ``fonts`` is None and no handwriting font is installed, or a
        given font file does not exist.

    Examples
    --------
    >>> images, labels = make_font_digits(20, random_state=0)  # doctest: +SKIP
    >>> images.shape, labels[:5]  # doctest: +SKIP
    ((20, 28, 28), array([6, 3, 9, 0, 4]))
    """
    image_font = _pillow_font_module()
    rng = as_generator(random_state)
    n = check_count("n", n, 0, 1_000_000)
    size = check_count("size", size, 8, MAX_SIDE)
    fonts = _check_fonts(fonts)
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    which = rng.integers(0, len(fonts), size=n)
    weights = rng.integers(0, len(_STROKE_WIDTHS), size=n)
    glyphs = {}
    images = np.zeros((n, size, size), dtype=np.float32)
    for i, (digit, font, weight) in enumerate(zip(labels, which, weights)):
        key = (font, digit, weight)
        if key not in glyphs:  # each font's glyph is drawn once per weight
            glyphs[key] = _glyph(image_font, fonts[font], digit, _STROKE_WIDTHS[weight])
        images[i] = fit_in_square(_distort(glyphs[key], rng), size, rng.uniform(0.6, 0.85))
    if not return_details:
        return images, labels
    return images, labels, {"font": np.array([fonts[font].name for font in which], dtype=str)}


def _pillow_font_module():
    """Pillow's ImageFont, or an ImportError that says how to install it."""
    try:
        from PIL import ImageFont
    except ImportError:
        raise ImportError(
            "Rendering font digits needs Pillow: pip install 'hdrnn[images]' "
            "(or use make_stroke_digits, which needs only NumPy and SciPy)."
        ) from None
    return ImageFont


def _check_fonts(fonts):
    """The font files to use, as paths, or a FileNotFoundError that says how to get them."""
    if fonts is None:
        fonts = find_handwriting_fonts()
        if not fonts:
            raise FileNotFoundError(
                f"No handwriting font found in {', '.join(FONT_FOLDERS)}: expected one of "
                f"{', '.join(HANDWRITING_FONT_FILES[:3])}, ... Install them with "
                f"'apt-get install {' '.join(HANDWRITING_FONT_PACKAGES)}' or pass fonts=[paths]."
            )
        return fonts
    paths = [Path(font) for font in fonts]
    missing = [str(path) for path in paths if not path.is_file()]
    if missing or not paths:
        raise FileNotFoundError(
            f"fonts must name existing font files; not found: {missing or 'an empty list'}. "
            "Pass paths to .ttf or .otf files, or fonts=None to use the installed ones."
        )
    return paths


def _glyph(image_font, path, digit, stroke):
    """The digit in the font, drawn large, as ink coverage cropped to the glyph."""
    from PIL import Image, ImageDraw

    font = image_font.truetype(str(path), _GLYPH_POINTS)
    side = 3 * _GLYPH_POINTS
    canvas = Image.new("L", (side, side), 0)
    ImageDraw.Draw(canvas).text(
        (side // 2, side // 2),
        str(digit),
        font=font,
        fill=255,
        anchor="mm",
        stroke_width=stroke,
        stroke_fill=255,
    )
    ink = np.asarray(canvas, dtype=np.float64) / 255.0
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        raise ValueError(
            f"The font {path.name} has no visible glyph for {digit}; expected a font with "
            "digits. Leave it out of fonts=."
        )
    return np.pad(ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 2)


def _distort(ink, rng):
    """A random slant, rotation and aspect, as one affine map of the glyph."""
    slant = rng.uniform(-0.1, 0.25)
    angle = np.radians(rng.normal(0.0, 4.0))
    aspect = rng.uniform(0.8, 1.2)
    # Forward map in (row, col): shear by slant, stretch columns, rotate.
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    forward = rotate @ np.array([[1.0, 0.0], [-slant, aspect]])
    corners = np.array([[0, 0], [0, ink.shape[1]], [ink.shape[0], 0], ink.shape], float)
    mapped = corners @ forward.T
    low = mapped.min(axis=0)
    shape = tuple(int(np.ceil(side)) + 1 for side in mapped.max(axis=0) - low)
    inverse = np.linalg.inv(forward)
    return ndimage.affine_transform(ink, inverse, offset=inverse @ low, output_shape=shape, order=1)
