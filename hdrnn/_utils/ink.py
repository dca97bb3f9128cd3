"""Find the ink of handwriting on a photo of paper.

The steps, on a copy shrunk so that its longer side is at most
ANALYSIS_SIDE pixels (so that the work is bounded for any image):

1. *The paper* (``ink_paper``): its brightness across the image, with
   shading and shadows, and whether the ink is darker or lighter.
2. *Contrast*: ``(paper - pixel) / paper`` with the ink made dark: the
   ink's darkness relative to the paper under the same light (a shadow dims
   both), scaled so that the ink's level is 1.
3. *Threshold*: ink is what stands above INK_THRESHOLD of the ink's level
   and above NOISE_SIGMAS times the paper's noise.
4. *Specks*: marks holding less than SPECK_FRACTION of the ink of the
   largest are dust or noise. Then ruled lines and a frame (``ink_lines``).
5. *What is kept*: the strokes and their faint, anti-aliased edges (the ink
   is an intensity, not a mask); everything else is exactly 0.
6. *Marks*: pieces of ink closer than MARK_GAP of the main piece's height
   are one mark (a digit written in several strokes).

For a clean image (flat paper, nothing removed) this gives exactly what
hdrnn's earlier preparation gave: the paper's level, the ink's level (the
contrast of the darkest 0.1% of the image) and the 25% threshold are the same.
"""

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from hdrnn._utils.images import block_mean
from hdrnn._utils.ink_lines import remove_lines
from hdrnn._utils.ink_paper import Paper, find_paper

# The longer side of the copy the ink is looked for on: a digit needs about
# 20 pixels, a number of ten digits a few hundred.
ANALYSIS_SIDE = 256

# Pixels above this share of the ink's level count as ink (lower ones are
# paper texture, shadows and JPEG noise), as long as they are also above
# NOISE_SIGMAS times the noise of the paper.
INK_THRESHOLD = 0.25
NOISE_SIGMAS = 4.0

# Faint edges of strokes are kept where they stand above this many noise sigmas.
EDGE_SIGMAS = 3.0

# The ink's level: the contrast exceeded by LEVEL_SHARE of the image's
# pixels, counting only the ink kept (not specks, lines or a frame); when
# the ink covers too little of the image for that, its LEVEL_PERCENTILE.
LEVEL_SHARE = 0.001
LEVEL_PERCENTILE = 99.0

# An image whose ink differs from its paper by less than this (0-1 scale)
# has no digit on it.
MIN_CONTRAST = 0.1

# A mark with less ink than this share of the largest one is a speck.
SPECK_FRACTION = 0.03

# Pieces closer than this share of the main piece's height are one mark
# (a 5 whose bar floats, a 4 in two strokes).
MARK_GAP = 0.25

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Found:
    """Everything found on the analysed copy (see :func:`find`)."""

    factor: int  # the analysed copy is this many times smaller than the gray image
    paper: Paper  # with the ink's level and the paper's noise
    contrast: float  # between the ink's level and the paper, on the 0-1 gray scale
    ink: np.ndarray  # ink intensity, paper exactly 0
    keep: np.ndarray  # where ink may be (the kept strokes and their faint edges)
    edge: float  # faint edges count above this intensity
    strokes: np.ndarray  # the kept strong ink
    paper_level: float  # gray levels (0 black, 1 white)
    ink_level: float
    specks: int
    lines: int
    frames: int
    marks: list  # (row slice, col slice) per mark, most ink first


def find(gray):
    """Find the ink on a gray image (floats in [0, 1]): a :class:`Found`."""
    factor = max(1, math.ceil(max(gray.shape) / ANALYSIS_SIDE))
    small = block_mean(gray, factor)
    paper = find_paper(small)
    contrast = paper.contrast(small, paper.brightness(*(np.arange(n) + 0.5 for n in small.shape)))
    strong, level = _strong(contrast, paper)
    # Lines and frames first: a faint frame broken into dashes would lose its
    # shorter dashes as specks, and what was left would no longer close a box.
    strokes, lines, frames = remove_lines(strong, _stroke_width(strong))
    strokes, specks = _drop_specks(strokes, contrast)
    paper = replace(paper, level=_level(contrast, strokes, level))
    edge = EDGE_SIGMAS * paper.noise / paper.level
    keep = _keep(strokes, strong & ~strokes, contrast if paper.noise == 0 else None)
    ink = np.where(keep & (contrast > edge * paper.level), contrast / paper.level, 0.0)
    np.clip(ink, 0.0, 1.0, out=ink)
    dark = small if paper.dark_ink else 1.0 - small
    levels = paper.median, float(np.median(dark[strokes])) if strokes.any() else math.nan
    if not paper.dark_ink:
        levels = (1.0 - levels[0], 1.0 - levels[1])
    return Found(
        factor=factor,
        paper=paper,
        contrast=paper.level * paper.median,
        ink=ink,
        keep=keep,
        edge=edge,
        strokes=strokes,
        paper_level=levels[0],
        ink_level=levels[1],
        specks=specks,
        lines=lines,
        frames=frames,
        marks=_marks(strokes, ink),
    )


def _strong(contrast, paper):
    """``(strong, level)``: the ink that stands out, and the first estimate of its level."""
    level = float(np.percentile(contrast, 100 * (1 - LEVEL_SHARE)))
    level = max(level, 2 * NOISE_SIGMAS * paper.noise, 1e-9)
    if level * paper.median < MIN_CONTRAST:  # no ink: a blank page
        return np.zeros(contrast.shape, dtype=bool), level
    return contrast > max(INK_THRESHOLD * level, NOISE_SIGMAS * paper.noise), level


def _level(contrast, strokes, level):
    """The ink's level, from the strokes kept."""
    if strokes.sum() > 2 * LEVEL_SHARE * strokes.size:
        # The contrast exceeded by LEVEL_SHARE of the image: the same as
        # before anything was removed, for a clean image...
        return float(np.percentile(np.where(strokes, contrast, 0.0), 100 * (1 - LEVEL_SHARE)))
    if strokes.any():  # ... or the darkest of the ink, when it is small in the image.
        return float(np.percentile(contrast[strokes], LEVEL_PERCENTILE))
    return level


def _drop_specks(strong, contrast):
    """The strong ink without marks that hold under SPECK_FRACTION of the largest one's ink."""
    labels, n_labels = ndimage.label(strong, structure=EIGHT_CONNECTED)
    if n_labels <= 1:
        return strong, 0
    mass = np.bincount(labels.ravel(), weights=contrast.ravel())
    mass[0] = 0.0
    specks = mass < SPECK_FRACTION * mass.max()
    specks[0] = True
    return ~specks[labels], int(specks.sum()) - 1


def _stroke_width(strokes):
    """The strokes' typical width in pixels: twice their area over their outline's length."""
    inner = strokes.copy()
    inner[1:] &= strokes[:-1]
    inner[:-1] &= strokes[1:]
    inner[:, 1:] &= strokes[:, :-1]
    inner[:, :-1] &= strokes[:, 1:]
    area = int(strokes.sum())
    return 2.0 * area / max(area - int(inner.sum()), 1)


def _keep(strokes, removed, contrast=None):
    """Where ink may be: near the kept strokes (their soft edges), not next to removed
    ink. On paper without noise (``contrast`` given), also any ink connected to them."""
    halo = max(2, math.ceil(_stroke_width(strokes)))
    near = ndimage.maximum_filter(strokes, size=2 * halo + 1)
    if contrast is not None:
        labels, _ = ndimage.label(contrast > 0, structure=EIGHT_CONNECTED)
        touching = np.zeros(labels.max() + 1, dtype=bool)
        touching[labels[strokes]] = True
        touching[0] = False
        near |= touching[labels]
    if removed.any():
        near &= ~(ndimage.maximum_filter(removed, size=3) & ~strokes)
    return near


def _marks(strokes, ink):
    """Separate marks, as (row slice, col slice) boxes of their strokes, most ink first.

    Pieces closer than MARK_GAP of the main piece's height are one mark, so
    that a digit in several strokes counts once.
    """
    labels, n_labels = ndimage.label(strokes, structure=EIGHT_CONNECTED)
    if n_labels == 0:
        return []
    if n_labels > 1:
        mass = np.bincount(labels.ravel(), weights=ink.ravel())[1:]
        main = ndimage.find_objects(labels)[int(np.argmax(mass))]
        radius = math.ceil(MARK_GAP * (main[0].stop - main[0].start) / 2)
        joined = ndimage.maximum_filter(strokes, size=2 * radius + 1)
        labels, n_labels = ndimage.label(joined, structure=EIGHT_CONNECTED)
        labels[~strokes] = 0
    boxes = ndimage.find_objects(labels)
    mass = np.bincount(labels.ravel(), weights=ink.ravel(), minlength=len(boxes) + 1)[1:]
    return [boxes[i] for i in np.argsort(-mass, kind="stable") if boxes[i] is not None]
