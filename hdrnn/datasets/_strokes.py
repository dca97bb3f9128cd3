"""Digits drawn as pen strokes by random writers who are not in MNIST.

A digit is a hand-authored template (:mod:`._stroke_templates`) bent by a
:class:`Writer`: slant, aspect, size, a smooth random displacement of the
template's points, a pen with its width, pressure and ink. The curves are
sampled every third of a pixel and each sample is splatted as an
anti-aliased disc, for all digits of a batch in one vectorised step.
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
from scipy import ndimage

from hdrnn.datasets._ink import MAX_SIDE, as_generator, check_count
from hdrnn.datasets._stroke_templates import STYLES, TEMPLATES

# Each pen: stroke width as a share of the digit's height, ink level (1 is
# full coverage), how much pressure varies the width along a stroke, how
# grainy the trace is, and whether strokes taper at their ends.
PENS = {
    "ballpoint": dict(width=(0.045, 0.08), level=(0.8, 1.0), pressure=(0.05, 0.25), grain=0.0),
    "felt_tip": dict(width=(0.09, 0.15), level=(0.95, 1.0), pressure=(0.0, 0.1), grain=0.0),
    "pencil": dict(width=(0.05, 0.09), level=(0.55, 0.85), pressure=(0.1, 0.3), grain=0.45),
    "brush": dict(width=(0.08, 0.14), level=(0.9, 1.0), pressure=(0.2, 0.4), grain=0.0),
}

# Closest samples along a curve, in pixels: discs that close leave no visible facets.
_SAMPLE_SPACING = 0.3
# Catmull-Rom points evaluated per template segment before resampling by length.
_SEGMENT_SAMPLES = 24


@dataclass(frozen=True)
class Writer:
    """How one person writes: their hand and their pen.

    Parameters
    ----------
    styles : tuple of str
        The style of each digit 0-9 this person uses (see :data:`STYLES`).
    slant : float
        Horizontal shift of the top of a digit, as a share of its height
        (positive leans right).
    rotation : float
        Rotation in degrees (positive is anticlockwise).
    aspect : float
        Width multiplier (1 keeps the template's proportions).
    height : float
        The digit's height as a share of the image's side.
    jitter : float
        Size of the smooth random displacement of the template's points,
        as a share of the digit's height, drawn anew for every digit.
    pen : {"ballpoint", "felt_tip", "pencil", "brush"}
        The pen, which sets the look of the trace.
    width : float
        Stroke width as a share of the digit's height.
    level : float
        Ink coverage of a full stroke, in (0, 1] (pencil is lighter).
    pressure : float
        How much the width (and for a ballpoint the ink) varies along a
        stroke, in [0, 1).

    Examples
    --------
    >>> writer = random_writer(0)
    >>> writer.pen in PENS, len(writer.styles)
    (True, 10)
    """

    styles: tuple
    slant: float
    rotation: float
    aspect: float
    height: float
    jitter: float
    pen: str
    width: float
    level: float
    pressure: float


def random_writer(random_state=None, pen=None):
    """Draw a random writer: a hand and a pen not in MNIST.

    Parameters
    ----------
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator (``numpy.random.default_rng`` turns it into one; a
        Generator is used as it is, so one can be threaded through calls).
    pen : {"ballpoint", "felt_tip", "pencil", "brush"} or None, default=None
        The pen; None draws one.

    Returns
    -------
    writer : Writer

    Examples
    --------
    >>> random_writer(1, pen="pencil").pen
    'pencil'
    """
    rng = as_generator(random_state)
    pen = _check_choice("pen", pen, tuple(PENS)) if pen is not None else rng.choice(list(PENS))
    spec = PENS[pen]
    return Writer(
        styles=tuple(str(rng.choice(STYLES[digit])) for digit in range(10)),
        slant=float(rng.uniform(-0.08, 0.4)),
        rotation=float(rng.normal(0.0, 4.0)),
        aspect=float(rng.uniform(0.75, 1.3)),
        height=float(rng.uniform(0.6, 0.85)),
        jitter=float(rng.uniform(0.01, 0.045)),
        pen=str(pen),
        width=float(rng.uniform(*spec["width"])),
        level=float(rng.uniform(*spec["level"])),
        pressure=float(rng.uniform(*spec["pressure"])),
    )


def draw_digit(digit, random_state=None, *, size=28, style=None, writer=None):
    """Draw one digit as a person writes it with a pen.

    Parameters
    ----------
    digit : int
        0 to 9.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator for everything random (the writer when not given,
        and this digit's own variation).
    size : int, default=28
        Side of the square image, 8 to 1024 pixels.
    style : str or None, default=None
        One of ``STYLES[digit]``; None uses the writer's.
    writer : Writer or None, default=None
        Who writes it; None draws a random writer.

    Returns
    -------
    ink : ndarray of shape (size, size), float32
        Ink coverage in [0, 1] (0 is paper), the digit inside the image with
        paper all around it.

    Examples
    --------
    >>> ink = draw_digit(7, 0, size=32, style="crossed")
    >>> ink.shape, ink.dtype, bool(ink.max() > 0.5), float(ink[0].max())
    ((32, 32), dtype('float32'), True, 0.0)
    """
    rng = as_generator(random_state)
    size = check_count("size", size, 8, MAX_SIDE)
    digit = _check_choice("digit", digit, tuple(range(10)))
    writer = random_writer(rng) if writer is None else writer
    style = writer.styles[digit] if style is None else _check_choice("style", style, STYLES[digit])
    return _render([_digit_trace(digit, style, writer, size, rng)], size, rng)[0]


def make_stroke_digits(n, random_state=None, *, size=28, n_writers=None, return_details=False):
    """Make ``n`` digits drawn by random writers, balanced over the ten digits.

    Parameters
    ----------
    n : int
        Number of digits, 0 to 1 000 000.
    random_state : int, numpy.random.Generator or None, default=None
        Seed or generator; the same seed gives the same digits.
    size : int, default=28
        Side of each square image, 8 to 1024 pixels.
    n_writers : int or None, default=None
        How many different people write the digits (each keeps their hand,
        pen and styles); None means one writer per ten digits.
    return_details : bool, default=False
        Also return who wrote each digit and how.

    Returns
    -------
    images : ndarray of shape (n, size, size), float32
        Ink coverage in [0, 1].
    labels : ndarray of shape (n,), int64
    details : dict of ndarray of shape (n,)
        Only when ``return_details`` is True: ``"writer"`` (the writer's
        number, from 0; pass it as ``groups`` to :func:`make_numbers` so
        that each number has one writer), ``"style"`` and ``"pen"``.

    Examples
    --------
    >>> images, labels = make_stroke_digits(20, random_state=0)
    >>> images.shape, sorted(set(labels.tolist())) == list(range(10))
    ((20, 28, 28), True)
    """
    rng = as_generator(random_state)
    n = check_count("n", n, 0, 1_000_000)
    size = check_count("size", size, 8, MAX_SIDE)
    n_writers = (
        max(1, -(-n // 10)) if n_writers is None else check_count("n_writers", n_writers, 1, 10**6)
    )
    writers = [random_writer(rng) for _ in range(n_writers)]
    labels = rng.permutation(np.arange(n) % 10).astype(np.int64)
    who = rng.integers(0, n_writers, size=n)
    styles = np.array([writers[w].styles[d] for w, d in zip(who, labels)], dtype=str)
    images = np.zeros((n, size, size), dtype=np.float32)
    chunk = max(1, 200_000 // size**2)  # bounds the splatting buffers' memory
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        traces = [
            _digit_trace(labels[i], styles[i], writers[who[i]], size, rng)
            for i in range(start, stop)
        ]
        images[start:stop] = _render(traces, size, rng)
    if not return_details:
        return images, labels
    pens = np.array([writers[w].pen for w in who], dtype=str)
    return images, labels, {"writer": who.astype(np.int64), "style": styles, "pen": pens}


def _check_choice(name, value, choices):
    """Return ``value`` after checking that it is one of ``choices``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (Integral, str)):
        value = repr(value)  # never equal to a choice: refused below
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}. "
            "Pass one of those."
        )
    return int(value) if isinstance(value, Integral) else str(value)


def _digit_trace(digit, style, writer, size, rng):
    """The digit's strokes as pixel-space samples: (points (k, 2), radius (k,), level (k,))."""
    field = _smooth_field(rng, writer.jitter)
    shape = _hand_transform(writer, rng)
    curves = [
        _catmull_rom(shape(field(np.asarray(stroke, float)))) for stroke in TEMPLATES[digit][style]
    ]
    low = np.min([curve.min(axis=0) for curve in curves], axis=0)
    high = np.max([curve.max(axis=0) for curve in curves], axis=0)
    extent = np.maximum(high - low, 1e-3)  # (width, height) of the digit in template units
    height = writer.height * size * rng.uniform(0.93, 1.07)
    radius = 0.5 * max(0.8, writer.width * height)  # strokes at least 0.8 px wide
    room = size - 2 * (radius * (1 + writer.pressure) + 1.5)
    scale = min(height / extent[1], room / extent[1], room / extent[0])
    slack = np.maximum(room - extent * scale, 0.0)
    origin = (size - room) / 2 + slack * rng.uniform(0.3, 0.7, size=2)
    traces = [_pen_trace((curve - low) * scale + origin, radius, writer, rng) for curve in curves]
    points, radii, levels = (np.concatenate(parts) for parts in zip(*traces))
    return points, radii, levels, PENS[writer.pen]["grain"]


def _smooth_field(rng, amplitude):
    """A smooth random displacement of template points (three waves per axis)."""
    freq = rng.normal(0.0, 1.2, size=(2, 3, 2))  # (axis, wave, xy): about one wave per digit
    phase = rng.uniform(0, 2 * np.pi, size=(2, 3))
    weight = rng.normal(0.0, amplitude / np.sqrt(3), size=(2, 3))

    def displace(points):  # (m, 2) -> (m, 2)
        waves = np.sin(2 * np.pi * np.einsum("awc,mc->maw", freq, points) + phase)
        return points + np.einsum("maw,aw->ma", waves, weight)

    return displace


def _hand_transform(writer, rng):
    """The writer's slant, aspect and rotation, each varied a little for this digit."""
    slant = writer.slant + rng.normal(0.0, 0.04)
    aspect = writer.aspect * rng.uniform(0.94, 1.06)
    angle = np.radians(writer.rotation + rng.normal(0.0, 2.0))
    cos, sin = np.cos(angle), np.sin(angle)

    def transform(points):  # (m, 2) -> (m, 2), y down
        x = (points[:, 0] - 0.3) * aspect + slant * (1.0 - points[:, 1])
        y = points[:, 1]
        return np.column_stack([cos * x + sin * y, -sin * x + cos * y])

    return transform


def _catmull_rom(points):
    """A smooth curve through ``points`` (m, 2); a repeated point makes a corner."""
    if len(points) == 1:
        return points
    padded = np.vstack([2 * points[0] - points[1], points, 2 * points[-1] - points[-2]])
    p0, p1, p2, p3 = (padded[i : i + len(points) - 1] for i in range(4))  # (m - 1, 2) each
    t = np.linspace(0.0, 1.0, _SEGMENT_SAMPLES, endpoint=False)[None, :, None]
    curve = 0.5 * (
        2 * p1[:, None]
        + (p2 - p0)[:, None] * t
        + (2 * p0 - 5 * p1 + 4 * p2 - p3)[:, None] * t**2
        + (3 * p1 - p0 - 3 * p2 + p3)[:, None] * t**3
    )
    return np.vstack([curve.reshape(-1, 2), points[-1:]])


def _pen_trace(curve, radius, writer, rng):
    """Resample a pixel-space curve by length; give each sample its width and ink."""
    steps = np.hypot(*np.diff(curve, axis=0).T)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    total = along[-1]
    # Discs a third of their radius apart leave edges within r/72 of straight.
    spacing = max(_SAMPLE_SPACING, radius / 3)
    s = np.linspace(0.0, total, max(2, int(total / spacing) + 1))
    points = np.column_stack([np.interp(s, along, curve[:, 0]), np.interp(s, along, curve[:, 1])])
    # Pressure rises and falls about once per stroke-length of a digit height.
    wave = np.sin(2 * np.pi * s / rng.uniform(8, 20) / radius + rng.uniform(0, 2 * np.pi))
    width = 1.0 + writer.pressure * wave
    if writer.pen == "brush":  # a brush lands and lifts off in a point
        taper = np.minimum(s, total - s) / max(4 * radius, 1e-6)
        width *= np.clip(taper, 0.35, 1.0) ** 0.5
    level = np.full_like(s, writer.level)
    if writer.pen == "ballpoint":  # light pressure leaves less ink
        level *= 1.0 - 0.6 * writer.pressure * (1 - wave) / 2
    return points, radius * width, level


def _render(traces, size, rng):
    """Splat every trace's samples as anti-aliased discs; one image per trace."""
    n = len(traces)
    canvas = np.zeros(n * size * size, dtype=np.float32)
    if n:
        which = np.repeat(np.arange(n), [len(trace[0]) for trace in traces])
        samples = tuple(np.concatenate([t[i] for t in traces]) for i in range(3))
        _splat(canvas, size, which, samples)
    images = canvas.reshape(n, size, size)
    # Graphite leaves grain (paper shows through the trace); small images
    # average it out over their large pixels.
    grain_scale = min(1.0, size / 64)
    for image, trace in zip(images, traces):
        if trace[3] > 0:
            noise = ndimage.gaussian_filter(rng.random((size, size)), 0.6)
            noise = (noise - noise.mean()) / (noise.std() + 1e-9)
            image *= np.clip(1.0 - trace[3] * grain_scale * (0.5 + 0.5 * noise), 0.0, 1.0)
    return images


def _splat(canvas, size, which, samples):
    """Max each sample's disc into ``canvas`` (n_images * size * size,), in place.

    ``samples`` is (points (k, 2), radii (k,), levels (k,)); ``which`` (k,)
    names each sample's image.
    """
    points = samples[0]
    radii, levels = (values.astype(np.float32) for values in samples[1:])  # as the canvas
    reach = int(np.ceil(radii.max() + 1.0))
    offsets = np.arange(-reach, reach + 1)
    dy, dx = (grid.ravel() for grid in np.meshgrid(offsets, offsets, indexing="ij"))
    window = (dy * size + dx).astype(np.int64)  # flat offsets of the window's pixels
    per_chunk = max(1, 4_000_000 // dx.size)  # bounds the (samples, window) arrays
    for start in range(0, len(points), per_chunk):
        part = slice(start, start + per_chunk)
        corner = np.floor(points[part]).astype(np.int64)  # (k, 2): the sample's pixel
        # Offset of the sample's pixel centre from the sample, per axis: (k, 1).
        ox, oy = (corner + 0.5 - points[part]).astype(np.float32).T[:, :, None]
        dist = np.sqrt((dx.astype(np.float32) + ox) ** 2 + (dy.astype(np.float32) + oy) ** 2)
        # Coverage of a pixel by a disc of radius r: a one-pixel ramp at its edge.
        cover = np.clip(radii[part, None] + 0.5 - dist, 0.0, 1.0) * levels[part, None]  # float32
        flat = ((which[part] * size + corner[:, 1]) * size + corner[:, 0])[:, None] + window
        # Samples keep radius + 1.5 px from the edges (_digit_trace), so window
        # pixels that fall off a row have no coverage; clipping keeps them in bounds.
        np.maximum.at(canvas, np.clip(flat, 0, canvas.size - 1).ravel(), cover.ravel())
