"""The paper under handwriting: its brightness across the image, and which way round the ink is.

1. *Cells*: the image is cut into about GRID_CELLS cells along its longer
   side. A cell whose 10th and 90th percentiles are close is *bare*: paper
   alone (or solid ink, or a shadow).
2. *Which way round*: the paper is what the bare cells show (their median;
   the image's median when few cells are bare); the ink is the extreme of
   the image farther from it (dark ink on light paper, or chalk on a board).
   When the paper's level lies near the middle of the two extremes (a sharp
   shadow makes a second level of paper), the ink is what stands out from
   its surroundings instead (``ink_shadows``).
3. *The paper's brightness*: the median of each bare cell. A bare cell
   well on the way to the ink's gray is solid ink, unless many lie together
   and they are not nearly as dark as the ink (a shadow). Paper flat to within
   FLAT_SPREAD is one level: clean images are prepared exactly as before.
   Otherwise the cells under ink are filled in smoothly (Laplace's
   equation), and the result is refined on a grid FINE_CELLS times finer
   from the pixels that are not ink, so that the edge of a shadow is
   followed. A photo whose cells all hold ink (a short line of digits: a
   cell is an eighth of the longer side) is refined the same way from one
   level, so its shading is followed too.
4. *The paper's noise*: the spread of the pixels away from the ink around
   the paper's brightness (the bare cells' spread when too few are free).
5. *Sharp shadows*: where a shadow reaching in from the image's edge is
   darker than the cells said, the paper there is followed pixel by pixel
   (``ink_shadows``).

Everything is computed with the ink made dark (for light ink on a dark
ground, on the inverted image), so one code serves both.
"""

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from hdrnn._utils.images import block_mean
from hdrnn._utils.ink_shadows import ink_is_dark, shadowed_paper

# Cells: about this many along the longer side, at least MIN_CELL pixels
# (wider than a stroke of a tightly cropped digit).
GRID_CELLS = 8
MIN_CELL = 8

# A cell whose 10th and 90th percentiles differ by no more than this (plus
# six times the noise) is bare: shading alone moves paper that little (and
# a speck or a ruled line covering under a tenth of it does not count). And
# by no more than BARE_SHARE of the image's range (its ink and paper). The
# bare cells tell the paper's gray when they are BARE_ENOUGH of all cells.
PAPER_CELL_SPAN = 0.06
BARE_SHARE = 0.5
BARE_ENOUGH = 0.25

# Where a bare cell's gray lies on the way from the ink's (0) to the paper's
# (1): below SHADED it is paper in shadow only when at least SHADOW_CELLS
# such cells lie together (a shadow is wide; a blot of ink or a blurred
# stroke is not), and never below SOLID_INK.
SHADED = 0.75
SHADOW_CELLS = 4
SOLID_INK = 0.25

# The paper's typical level decides which way round the ink is unless it lies
# within this share of the image's range of the middle between its darkest
# and lightest: then the ink is what stands out from its surroundings
# (ink_shadows.ink_is_dark).
SURE_SIDE = 0.25

# Paper whose brightness varies by less than this (0-1 scale) is flat; with
# the ink made dark, it is at least MIN_PAPER bright (contrast divides by it).
FLAT_SPREAD = 0.03
MIN_PAPER = 0.05

# The refined grid is this many times finer than the cells; a fine cell
# with less than FINE_PAPER of its neighbourhood's pixels free of ink keeps
# the coarse estimate.
FINE_CELLS = 4
FINE_PAPER = 0.25

# While the paper is being refined, ink is what stands out from it by more
# than this share of the way from the paper's gray to the ink's.
ROUGH_INK = 0.25

# The paper's noise is measured on the pixels away from the ink when at least
# this many are.
MIN_FREE_PIXELS = 200

# Statistics of the whole image (noise, histogram) use a grid of about this
# many pixels along the longer side.
SAMPLE_SIDE = 100

# Spread of a normal distribution from its median absolute deviation, and
# from the gap between its 10th and 90th percentiles.
MAD_TO_SIGMA = 1.4826
SPAN_TO_SIGMA = 1 / 2.563


@dataclass(frozen=True)
class Paper:
    """How to turn gray levels into ink at any scale.

    ``grid`` holds the paper's brightness with the ink made dark, one value per
    cell of ``cell`` pixels of the analysed copy (a 1x1 grid when flat);
    ``level`` the contrast of full ink and ``noise`` the paper's spread, both
    in units of contrast (the paper's own brightness is 1).
    """

    dark_ink: bool
    grid: np.ndarray
    cell: float
    level: float = 1.0
    noise: float = 0.0

    @property
    def median(self):
        """The paper's median brightness (ink dark)."""
        return float(np.median(self.grid))

    def brightness(self, row_centres, col_centres):
        """The paper's brightness (ink dark) at points given in pixels of the analysed
        copy (pixel i's centre is at i + 0.5): a (rows, cols) array, or (1, 1) if flat."""
        if self.grid.size == 1:
            return self.grid
        low, high, weight = _interpolation(row_centres, self.cell, self.grid.shape[0])
        rows = (
            self.grid[low] * (1 - weight)[:, np.newaxis] + self.grid[high] * weight[:, np.newaxis]
        )
        low, high, weight = _interpolation(col_centres, self.cell, self.grid.shape[1])
        return rows[:, low] * (1 - weight) + rows[:, high] * weight  # (len(rows), len(cols))

    def contrast(self, gray, paper):
        """How much darker than the paper (of brightness ``paper``) the ink is, relatively."""
        dark = gray if self.dark_ink else 1.0 - gray
        return (paper - dark) / paper

    def ink(self, gray, paper):
        """Ink intensity in [0, 1] of gray levels over a paper of brightness ``paper``."""
        return np.clip(self.contrast(gray, paper) / self.level, 0.0, 1.0)


def find_paper(small):
    """The :class:`Paper` under a gray image (its level still 1)."""
    cell = max(MIN_CELL, math.ceil(max(small.shape) / GRID_CELLS))
    low, middle, high = _cell_percentiles(small, cell, (10, 50, 90))
    sample = small[:: _stride(small), :: _stride(small)]
    # Differences between neighbours cancel shading; along the rows, unless the
    # sample is a single column (a tall thin strip, shrunk).
    along = 1 if sample.shape[1] > 1 else 0
    noise = _spread(np.diff(sample, axis=along)) / math.sqrt(2)
    darkest, lightest = np.percentile(small, (0.1, 99.9))
    # Bare: spanning little more than noise and shading, and much less than the ink does.
    bare = high - low <= min(PAPER_CELL_SPAN + 6 * noise, BARE_SHARE * (lightest - darkest))
    # The paper is what the bare cells show (or, when few cells are bare, what
    # most of the image shows); the ink, the extreme farther from it.
    if bare.mean() >= BARE_ENOUGH:
        typical = float(np.median(middle[bare]))
    else:
        typical = float(np.median(sample))
    dark_ink = (typical - darkest, typical) > (lightest - typical, 0.5)  # a tie: by the paper
    if abs((typical - darkest) - (lightest - typical)) < SURE_SIDE * (lightest - darkest):
        # The paper's level lies near the middle (a shadow's paper between the lit
        # paper and the ink): decide by which marks stand out from their surroundings.
        dark_ink = ink_is_dark(small)
    ink_side = darkest if dark_ink else lightest
    grid, noise = _paper_cells(small, (low, middle, high), bare, (typical, ink_side))
    # With the ink made dark the paper is light: a little light at least.
    paper = Paper(dark_ink, np.maximum(grid if dark_ink else 1.0 - grid, MIN_PAPER), float(cell))
    if grid.size > 1 or noise > 0:  # a clean image's flat paper stays exactly as it is
        paper = _refined(small, paper, abs(typical - ink_side))
    noise = _residual_noise(small, paper, abs(typical - ink_side), noise)
    paper = replace(paper, noise=noise / paper.median)
    if paper.grid.size > 1 or paper.noise > 0:  # (not on a clean image's flat paper)
        centres = (np.arange(n) + 0.5 for n in small.shape)
        dark = small if dark_ink else 1.0 - small
        followed = shadowed_paper(dark, paper.brightness(*centres), noise)
        if followed is not None:  # one value per pixel of the analysed copy
            paper = replace(paper, grid=np.maximum(followed, MIN_PAPER), cell=1.0)
    return paper


def _paper_cells(small, percentiles, bare, levels):
    """``(grid, noise)``: the paper's gray level per cell (1x1 when flat), from the
    bare cells of paper, and the paper's noise (a standard deviation) there."""
    low, middle, high = percentiles
    typical, ink_side = levels
    # Where a bare cell's gray lies between the ink (0) and the paper (1).
    position = (middle - ink_side) / (typical - ink_side) if typical != ink_side else 1.0 + middle
    dim = bare & (position < SHADED)
    groups, _ = ndimage.label(dim)
    shadow = dim & (np.bincount(groups.ravel())[groups] >= SHADOW_CELLS) & (position >= SOLID_INK)
    paper = (bare & ~dim) | shadow
    if not paper.any():  # ink everywhere: the paper is what the image's border shows
        border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])
        return np.array([[float(np.median(border))]]), _spread(border)
    noise = float(np.median((high - low)[paper])) * SPAN_TO_SIGMA
    if float(np.ptp(middle[paper])) <= FLAT_SPREAD:
        return np.array([[float(np.median(middle[paper]))]]), noise
    return _fill_harmonic(middle, paper), noise


def _fill_harmonic(values, known):
    """``values`` where ``known``, and elsewhere the smoothest surface through them
    (each unknown cell the mean of its neighbours: Laplace's equation on the grid)."""
    grid = np.where(known, values, 0.0)
    unknown = np.flatnonzero(~known)
    index = np.full(known.shape, -1)
    index.flat[unknown] = np.arange(len(unknown))
    system = np.zeros((len(unknown), len(unknown)))
    rhs = np.zeros(len(unknown))
    for row, flat in enumerate(unknown):
        r, c = divmod(int(flat), known.shape[1])
        for nr, nc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= nr < known.shape[0] and 0 <= nc < known.shape[1]:
                system[row, row] += 1.0
                if known[nr, nc]:
                    rhs[row] += values[nr, nc]
                else:
                    system[row, index[nr, nc]] -= 1.0
    grid.flat[unknown] = np.linalg.solve(system, rhs)
    return grid


def _refined(small, paper, ink_contrast):
    """The paper on a grid FINE_CELLS times finer, from the pixels that are not ink
    (a normalised convolution), keeping the coarse estimate where ink covers it.
    ``ink_contrast`` is roughly how much the ink differs from the paper (0-1 scale)."""
    centres = [np.arange(side) + 0.5 for side in small.shape]
    paper_here = paper.brightness(*centres)
    dark = small if paper.dark_ink else 1.0 - small
    free = _away_from_ink(paper_here - dark, ink_contrast)
    fine = max(2, round(paper.cell / FINE_CELLS))
    weight = ndimage.uniform_filter(block_mean(free.astype(float), fine), 3, mode="nearest")
    total = ndimage.uniform_filter(block_mean(dark * free, fine), 3, mode="nearest")
    coarse = paper.brightness(*[(np.arange(n) + 0.5) * fine for n in weight.shape])
    grid = np.where(weight >= FINE_PAPER, total / np.maximum(weight, 1e-9), coarse)
    if paper.grid.size == 1 and float(np.ptp(grid)) <= FLAT_SPREAD:
        return paper  # flat paper stays one level: clean images are prepared as before
    return replace(paper, grid=np.maximum(grid, MIN_PAPER), cell=float(fine))


def _residual_noise(small, paper, ink_contrast, cell_noise):
    """The paper's noise: the robust spread of the pixels away from the ink around
    the paper's estimated brightness; ``cell_noise`` (from the bare cells) when
    too few pixels are free of ink to tell.

    The bare cells alone mislead on a short line of digits: every cell holds
    ink, or the few bare ones hold a shadow's edge, and a noise several times
    too high made the threshold swallow the ink.
    """
    if cell_noise == 0:  # a clean image: nothing can be lower
        return cell_noise
    dark = small if paper.dark_ink else 1.0 - small
    residual = paper.brightness(*(np.arange(n) + 0.5 for n in small.shape)) - dark
    free = _away_from_ink(residual, ink_contrast)
    if free.sum() < MIN_FREE_PIXELS:
        return cell_noise
    return min(cell_noise, _spread(residual[free]))


def _away_from_ink(darker, ink_contrast):
    """Where the paper shows, away from the ink's edges: ``darker`` (how much darker
    than the paper each pixel is) below ROUGH_INK of the ink's contrast, 2 pixels around."""
    return ~ndimage.maximum_filter(darker > ROUGH_INK * ink_contrast, size=5)


def _cell_percentiles(image, cell, q):
    """The q-th percentiles of each ``cell`` x ``cell`` block (edges mirrored to fill)."""
    rows, cols = (-(-side // cell) for side in image.shape)
    pad = ((0, rows * cell - image.shape[0]), (0, cols * cell - image.shape[1]))
    blocks = np.pad(image, pad, mode="symmetric").reshape(rows, cell, cols, cell)
    step = max(1, round(cell / 12))  # about 150 pixels of each cell are plenty
    blocks = blocks[:, ::step, :, ::step]
    return np.percentile(blocks.transpose(0, 2, 1, 3).reshape(rows, cols, -1), q, axis=-1)


def _interpolation(centres, cell, n_cells):
    """``(low, high, weight)``: the cells either side of each point and the weight of
    the higher one, to interpolate cell values linearly between cell centres."""
    position = np.clip(np.asarray(centres) / cell - 0.5, 0, n_cells - 1)
    low = np.floor(position).astype(int)
    return low, np.minimum(low + 1, n_cells - 1), position - low


def _stride(image):
    """A stride that samples about SAMPLE_SIDE pixels along the longer side."""
    return max(1, max(image.shape) // SAMPLE_SIDE)


def _spread(values):
    """A robust standard deviation: scaled median absolute deviation (0 for flat paper)."""
    return MAD_TO_SIGMA * float(np.median(np.abs(values - np.median(values))))
