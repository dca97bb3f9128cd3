"""Ink on paper, as a phone photo or a scanner sees it.

:func:`photograph` models the light: the paper and the ink reflect their
colours, the lighting across the sheet is uneven (a gradient, a vignette, a
soft shadow edge), the lens blurs a little, the sensor adds noise and the
camera saves a JPEG. Specks, ruled lines and a box drawn around the ink are
optional marks. Every effect is a field of a :class:`PhotoLook`, which
:func:`random_look` draws for one of :data:`PHOTO_PRESETS`.
"""

import io
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from hdrnn.datasets._ink import INK_LEVEL, as_generator, ink_box

# Reflectance (RGB, 0-1) of the inks people write with; pencil is grey and grainy.
INKS = {
    "black": ((0.06, 0.06, 0.07), 0.0),
    "blue": ((0.12, 0.17, 0.45), 0.0),
    "pencil": ((0.35, 0.35, 0.37), 0.35),
}
# Paper that is not white: sticky notes, cards, envelopes.
COLOURED_PAPERS = (
    (1.0, 0.93, 0.55),
    (1.0, 0.8, 0.85),
    (0.75, 0.88, 1.0),
    (0.8, 0.95, 0.75),
    (0.96, 0.9, 0.78),
)
# Per preset: paper level, lighting, blur, noise, JPEG (chance, quality), marks.
_PRESETS = {
    "scan": dict(
        paper=(0.9, 1.0),
        gradient=(0.0, 0.04),
        vignette=(0.0, 0.02),
        shadow=0.0,
        blur=(0.2, 0.6),
        noise=(0.002, 0.01),
        jpeg=(0.5, 75, 95),
        specks=(0.0, 1.0),
    ),
    "phone": dict(
        paper=(0.72, 0.95),
        gradient=(0.08, 0.35),
        vignette=(0.05, 0.25),
        shadow=0.5,
        blur=(0.4, 1.2),
        noise=(0.01, 0.04),
        jpeg=(0.9, 40, 85),
        specks=(0.0, 2.0),
    ),
    "gray_paper": dict(
        paper=(0.45, 0.7),
        gradient=(0.05, 0.25),
        vignette=(0.0, 0.15),
        shadow=0.3,
        blur=(0.4, 1.0),
        noise=(0.01, 0.035),
        jpeg=(0.7, 50, 90),
        specks=(0.0, 3.0),
    ),
    "colored_paper": dict(
        paper=(0.75, 0.95),
        gradient=(0.05, 0.25),
        vignette=(0.0, 0.2),
        shadow=0.3,
        blur=(0.3, 1.0),
        noise=(0.01, 0.03),
        jpeg=(0.8, 50, 90),
        specks=(0.0, 1.5),
    ),
    "chalkboard": dict(
        paper=(0.08, 0.22),
        gradient=(0.05, 0.3),
        vignette=(0.0, 0.2),
        shadow=0.2,
        blur=(0.5, 1.2),
        noise=(0.01, 0.04),
        jpeg=(0.8, 50, 90),
        specks=(1.0, 5.0),
    ),
}
PHOTO_PRESETS = tuple(_PRESETS)


@dataclass(frozen=True)
class PhotoLook:
    """Everything that makes ink on paper look like one particular photo or scan.

    Colours are reflectances in [0, 1] (R, G, B); strengths are shares of
    the light taken away (0 is none).

    Parameters
    ----------
    paper : tuple of 3 float
        The paper's colour (dark for a blackboard).
    ink : tuple of 3 float
        The colour of full ink (light for chalk).
    ink_grain : float
        How grainy the ink is (pencil, chalk), in [0, 1).
    gradient, gradient_angle : float
        Light falling off across the sheet, and its direction in degrees.
    vignette : float
        Light falling off towards the corners.
    shadow, shadow_angle, shadow_position, shadow_softness : float
        A soft shadow edge: how dark, its direction in degrees, where it
        crosses (-0.5 to 0.5 of the image from its centre), and how soft
        (a share of the image's diagonal).
    blur : float
        Gaussian blur of the lens, in pixels.
    noise : float
        Standard deviation of the sensor noise, on a 0-1 scale.
    jpeg_quality : int or None
        JPEG quality the camera saves at (needs Pillow); None saves none.
    specks : float
        Dust and specks per 10 000 pixels.
    rule_spacing : float
        Distance between ruled lines as a share of the image height; 0 for
        blank paper.
    frame : bool
        Whether a box is drawn around the ink.

    Examples
    --------
    >>> look = random_look(0, preset="scan")
    >>> 0.9 <= min(look.paper) <= 1.0
    True
    """

    paper: tuple
    ink: tuple
    ink_grain: float
    gradient: float
    gradient_angle: float
    vignette: float
    shadow: float
    shadow_angle: float
    shadow_position: float
    shadow_softness: float
    blur: float
    noise: float
    jpeg_quality: object
    specks: float
    rule_spacing: float
    frame: bool


def random_look(random_state=None, preset=None):
    """Draw a random look of a photo or scan.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator.
    preset : {"scan", "phone", "gray_paper", "colored_paper", "chalkboard"} or None, default=None
        The kind of picture: a flatbed scan of white paper; a phone photo
        with uneven light, blur, noise and JPEG; gray paper; coloured paper
        (sticky notes, cards); chalk on a blackboard (light ink on dark).
        None draws one of them.

    Returns
    -------
    look : PhotoLook
        Change any field with ``dataclasses.replace``.

    Examples
    --------
    >>> look = random_look(0, preset="chalkboard")
    >>> max(look.paper) < min(look.ink)
    True
    """
    rng = as_generator(random_state)
    if preset is None:
        preset = str(rng.choice(PHOTO_PRESETS))
    if preset not in _PRESETS:
        raise ValueError(
            f"preset must be one of {', '.join(map(repr, PHOTO_PRESETS))} or None; got {preset!r}."
        )
    spec = _PRESETS[preset]
    paper, ink, grain = _colours(preset, spec, rng)
    chance, low_quality, high_quality = spec["jpeg"]
    return PhotoLook(
        paper=paper,
        ink=ink,
        ink_grain=grain,
        gradient=float(rng.uniform(*spec["gradient"])),
        gradient_angle=float(rng.uniform(0, 360)),
        vignette=float(rng.uniform(*spec["vignette"])),
        shadow=float(rng.uniform(0.15, 0.45)) if rng.random() < spec["shadow"] else 0.0,
        shadow_angle=float(rng.uniform(0, 360)),
        shadow_position=float(rng.uniform(-0.4, 0.4)),
        shadow_softness=float(rng.uniform(0.02, 0.15)),
        blur=float(rng.uniform(*spec["blur"])),
        noise=float(rng.uniform(*spec["noise"])),
        jpeg_quality=int(rng.integers(low_quality, high_quality + 1))
        if rng.random() < chance
        else None,
        specks=float(rng.uniform(*spec["specks"])),
        rule_spacing=float(rng.uniform(0.3, 0.6)) if rng.random() < 0.2 else 0.0,
        frame=bool(rng.random() < 0.15),
    )


def photograph(ink, random_state=None, *, preset=None, look=None, rgb=False):
    """Turn an ink image into what a photo or scan of it on paper looks like.

    Parameters
    ----------
    ink : array-like of shape (height, width)
        Ink coverage in [0, 1] (0 is paper), as the synthetic digits and
        numbers are made. The photo has the same size, so boxes found on
        the ink hold on the photo.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator for the look (when not given) and for the noise
        and specks.
    preset : str or None, default=None
        One of :data:`PHOTO_PRESETS` (see :func:`random_look`); None draws one.
    look : PhotoLook or None, default=None
        An exact look instead of a preset.
    rgb : bool, default=False
        Return colour (height, width, 3) instead of grey (height, width).

    Returns
    -------
    photo : ndarray of uint8
        Dark ink on light paper (light on dark for a chalkboard).

    Raises
    ------
    ImportError
        If the look saves a JPEG and Pillow is not installed.

    Examples
    --------
    >>> import numpy as np
    >>> ink = np.zeros((40, 40))
    >>> ink[8:32, 18:22] = 1.0  # a "1"
    >>> photo = photograph(ink, 0, preset="gray_paper")
    >>> photo.shape, photo.dtype, bool(photo[20, 20] < photo[20, 5])
    ((40, 40), dtype('uint8'), True)
    """
    rng = as_generator(random_state)
    ink = np.clip(np.asarray(ink, dtype=np.float64), 0.0, 1.0)
    if ink.ndim != 2 or min(ink.shape) < 2:
        raise ValueError(
            f"ink must be a 2-D image of ink coverage; got shape {ink.shape}. "
            "Pass one digit or number image (height, width)."
        )
    if look is not None and preset is not None:
        raise ValueError("Pass either preset= or look=, not both: a look already says everything.")
    look = random_look(rng, preset) if look is None else look
    marks = _marks(ink, look, rng)
    cover = marks * _grain(ink.shape, look.ink_grain, rng)
    paper = _paper(ink.shape, look, rng)
    reflect = paper * (1.0 - cover[..., None]) + np.asarray(look.ink) * cover[..., None]
    light = reflect * _lighting(ink.shape, look)[..., None]  # (height, width, 3)
    if look.blur > 0:
        light = ndimage.gaussian_filter(light, sigma=(look.blur, look.blur, 0))
    light = light + rng.normal(0.0, look.noise, size=light.shape)
    photo = np.clip(np.rint(light * 255), 0, 255).astype(np.uint8)
    if look.jpeg_quality is not None:
        photo = _jpeg(photo, look.jpeg_quality)
    if rgb:
        return photo
    grey = photo.astype(np.float64) @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)


def _colours(preset, spec, rng):
    """Paper colour, ink colour and ink grain for a preset."""
    level = rng.uniform(*spec["paper"])
    if preset == "chalkboard":  # dark green or black board, light grainy chalk
        board = (0.8, 1.0, 0.9) if rng.random() < 0.5 else (1.0, 1.0, 1.0)
        chalk = rng.uniform(0.75, 0.95)
        return _scaled(board, level), _scaled((1.0, 1.0, 0.97), chalk), float(rng.uniform(0.3, 0.6))
    tint = (
        COLOURED_PAPERS[rng.integers(len(COLOURED_PAPERS))]
        if preset == "colored_paper"
        else (1.0, 0.99, 0.96)
    )
    ink, grain = INKS[str(rng.choice(list(INKS)))]
    # Ink reflects at most 45% of the paper's light: on gray paper pencil
    # would otherwise vanish, which no one writing on it would accept.
    ink_level = min(rng.uniform(0.8, 1.2), 0.45 * level / max(ink))
    return _scaled(tint, level), _scaled(ink, ink_level), grain


def _scaled(colour, level):
    return tuple(float(np.clip(channel * level, 0.0, 1.0)) for channel in colour)


def _grain(shape, grain, rng):
    """How much of the ink each pixel keeps (pencil and chalk leave gaps)."""
    if grain <= 0:
        return 1.0
    noise = ndimage.gaussian_filter(rng.random(shape), 0.7)
    noise = (noise - noise.mean()) / (noise.std() + 1e-9)
    return np.clip(1.0 - grain * (0.5 + 0.5 * noise), 0.0, 1.0)


def _marks(ink, look, rng):
    """The ink plus the optional marks made with the same pen: a box, and specks."""
    marks = ink.copy()
    height, width = ink.shape
    if look.frame:
        marks = np.maximum(marks, _frame(ink))
    count = rng.poisson(look.specks * height * width / 10_000)
    if count:
        dots = np.zeros(ink.shape)
        sigma = rng.uniform(0.5, 1.2)
        dots[rng.integers(0, height, count), rng.integers(0, width, count)] = rng.uniform(
            0.4, 1.0, count
        )
        marks = np.maximum(
            marks, np.clip(ndimage.gaussian_filter(dots, sigma) * 2 * np.pi * sigma**2, 0, 1)
        )
    return marks


def _frame(ink):
    """A rectangle drawn around the ink, inside the image."""
    height, width = ink.shape
    box = ink_box(ink, INK_LEVEL) or (width // 4, height // 4, 3 * width // 4, 3 * height // 4)
    margin = max(2, round(0.15 * max(box[2] - box[0], box[3] - box[1])))
    x0, y0 = max(0, box[0] - margin), max(0, box[1] - margin)
    x1, y1 = min(width - 1, box[2] + margin), min(height - 1, box[3] + margin)
    thick = max(1, round(min(height, width) / 60))
    frame = np.zeros(ink.shape)
    frame[y0 : y1 + 1, x0 : x0 + thick] = frame[y0 : y1 + 1, x1 - thick + 1 : x1 + 1] = 1.0
    frame[y0 : y0 + thick, x0 : x1 + 1] = frame[y1 - thick + 1 : y1 + 1, x0 : x1 + 1] = 1.0
    return frame


def _paper(shape, look, rng):
    """The sheet's colour with a faint fibre texture and any ruled lines: (height, width, 3)."""
    fibre = 1.0 + 0.015 * ndimage.gaussian_filter(rng.standard_normal(shape), 2.0) * 4
    paper = np.asarray(look.paper) * fibre[..., None]
    if look.rule_spacing > 0:
        spacing = max(4.0, look.rule_spacing * shape[0])
        rows = np.arange(shape[0])[:, None]
        offset = rng.uniform(0, spacing)
        line = np.clip(1.0 - np.abs((rows - offset + spacing / 2) % spacing - spacing / 2), 0, 1)
        rule = np.array([0.55, 0.7, 0.95]) if look.paper[0] > 0.3 else np.array([0.5, 0.5, 0.5])
        paper = paper * (1 - 0.6 * line[..., None]) + 0.6 * line[..., None] * rule * np.asarray(
            look.paper
        )
    return paper


def _lighting(shape, look):
    """Share of the light reaching each pixel: gradient, vignette and shadow."""
    height, width = shape
    y, x = np.mgrid[0:height, 0:width]
    u, v = (x - width / 2) / max(height, width), (y - height / 2) / max(height, width)
    angle = np.radians(look.gradient_angle)
    along = u * np.cos(angle) + v * np.sin(angle)
    light = 1.0 - look.gradient * (along - along.min()) / max(np.ptp(along), 1e-9)
    light *= 1.0 - look.vignette * (u**2 + v**2) / max((u**2 + v**2).max(), 1e-9)
    if look.shadow > 0:
        angle = np.radians(look.shadow_angle)
        across = u * np.cos(angle) + v * np.sin(angle) - look.shadow_position
        softness = max(look.shadow_softness * np.sqrt(2), 1e-3)
        light *= 1.0 - look.shadow / (1.0 + np.exp(-across / softness))
    return light


def _jpeg(photo, quality):
    """Save as JPEG and read back: the camera's block artefacts."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            f"This look saves a JPEG (jpeg_quality={quality}), which needs Pillow: "
            "pip install 'hdrnn[images]', or pass a look with jpeg_quality=None."
        ) from None
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"))
