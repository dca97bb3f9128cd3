"""Shared small data for the tests: scikit-learn's bundled 8x8 digits (no network),
and digits drawn as a person draws them on ``hdrnn serve``'s canvas."""

import itertools
import os

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


@pytest.fixture(scope="session")
def digits():
    """All 1797 digits, pixels scaled to [0, 1], float64."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def digits_split(digits):
    """A stratified 75/25 train/test split of the digits."""
    X, y = digits
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


@pytest.fixture(scope="session")
def small_digits(digits):
    """300 digits: enough to train on in a fraction of a second."""
    X, y = digits
    return X[:300], y[:300]


@pytest.fixture
def rng():
    return np.random.RandomState(0)


@pytest.fixture(scope="session")
def mnist_dir():
    """The folder of real MNIST IDX files (HDRNN_MNIST_DIR), or skip."""
    folder = os.environ.get("HDRNN_MNIST_DIR")
    if not folder or not os.path.isdir(folder):
        pytest.skip("needs real MNIST: set HDRNN_MNIST_DIR to a folder of its IDX files")
    return folder


# ----------------------------------------------------------- drawn digits

# The canvas of `hdrnn serve` (pixels) and the width of its pen.
CANVAS = 280
PEN = 20


def _arc(cx, cy, rx, ry, start, stop, n=24):
    angles = np.radians(np.linspace(start, stop, n))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def _figure_eight(n=48):
    t = np.linspace(0, 2 * np.pi, n)
    return [(0.5 + 0.25 * np.sin(2 * a), 0.5 - 0.42 * np.cos(a)) for a in t]


# Clearly drawn digits, one list of strokes each, in a unit box (x right, y down),
# drawn in the order and direction a person draws them.
DIGIT_STROKES = {
    0: [_arc(0.5, 0.5, 0.27, 0.42, -90, 275, 40)],
    1: [[(0.54, 0.08), (0.46, 0.92)]],
    2: [[*_arc(0.5, 0.32, 0.24, 0.22, 200, 380, 20), (0.24, 0.9), (0.8, 0.9)]],
    3: [_arc(0.48, 0.29, 0.22, 0.2, -160, 90, 20) + _arc(0.48, 0.7, 0.25, 0.21, -90, 160, 20)],
    4: [[(0.3, 0.08), (0.24, 0.56), (0.78, 0.56)], [(0.64, 0.1), (0.64, 0.92)]],
    5: [[(0.74, 0.1), (0.34, 0.1), (0.3, 0.46), *_arc(0.5, 0.67, 0.25, 0.23, -125, 145, 20)]],
    6: [[(0.68, 0.08), (0.5, 0.2), (0.36, 0.4), *_arc(0.5, 0.7, 0.2, 0.2, 200, -160, 28)]],
    7: [[(0.22, 0.1), (0.78, 0.1), (0.42, 0.92)]],
    8: [_figure_eight()],
    9: [[*_arc(0.48, 0.3, 0.2, 0.2, 0, -360, 30), (0.68, 0.3), (0.64, 0.92)]],
}


def on_canvas(strokes, margin=40):
    """Strokes of a unit box, in canvas pixels with ``margin`` pixels around."""
    span = CANVAS - 2 * margin
    return [[(margin + x * span, margin + y * span) for x, y in stroke] for stroke in strokes]


def rasterize(strokes, size=CANVAS, pen=PEN):
    """Grey pixels (dark ink 17 on white 255) of strokes in canvas pixels, as the page paints."""
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    ink = np.zeros((size, size), dtype=bool)
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            dx, dy = x1 - x0, y1 - y0
            length2 = dx * dx + dy * dy or 1.0
            t = np.clip(((cols - x0) * dx + (rows - y0) * dy) / length2, 0.0, 1.0)
            ink |= (cols - x0 - t * dx) ** 2 + (rows - y0 - t * dy) ** 2 <= (pen / 2) ** 2
    return np.where(ink, 17, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def drawn_digits():
    """``{digit: strokes in canvas pixels}`` for the digits 0-9."""
    return {digit: on_canvas(strokes) for digit, strokes in DIGIT_STROKES.items()}


@pytest.fixture(scope="session")
def draw():
    """The function that turns strokes in canvas pixels into the page's grey pixels."""
    return rasterize
