"""The strip reader: run-together digits read through a window sliding along the stroke."""

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier

from hdrnn.datasets import synthetic
from hdrnn.reading import read_number
from hdrnn.reading._layout import Stroke
from hdrnn.reading._search import best_path, strip_score
from hdrnn.reading._strips import (
    BLANK,
    CENTRE_FAR,
    CENTRE_NEAR,
    INNER,
    ONE_GAP,
    ONE_LEVEL,
    PEAK_GAP,
    ROWS,
    WINDOW,
    read_strip,
    stroke_windows,
    window_classes,
)


def _bar_stroke(width=40, height=20, bar_at=10):
    """Ink with one stroke ``height`` high and ``width`` wide whose only dark column is
    ``bar_at``: ``(labels, ink, stroke)``."""
    ink = np.zeros((height + 4, width + 4))
    ink[2 : 2 + height, 2 : 2 + width] = 0.2
    ink[2 : 2 + height, 2 + bar_at] = 1.0
    labels = (ink > 0).astype(np.int32)
    return labels, ink, Stroke(1, 2, 2 + height, 2, 2 + width, float(ink.sum()))


def test_window_j_is_centred_on_column_j_of_the_scaled_stroke():
    labels, ink, stroke = _bar_stroke(width=40, height=40, bar_at=20)  # scale 0.5
    windows, scale = stroke_windows(labels, ink, stroke)
    assert scale == INNER / 40 and windows.shape == (20 + 1, ROWS * WINDOW)
    assert windows.dtype == np.float32
    # The bar is at column 10 of the scaled stroke: window 10 has it in its middle columns.
    middle = windows[10].reshape(ROWS, WINDOW)[ROWS // 2]
    assert abs(int(np.argmax(middle)) - WINDOW // 2) <= 1
    assert abs(int(np.argmax(windows[4].reshape(ROWS, WINDOW)[ROWS // 2])) - WINDOW // 2 - 6) <= 1


def test_a_strip_holds_only_its_own_strokes_ink():
    labels, ink, stroke = _bar_stroke()
    ink[3, 5] = 1.0
    labels[3, 5] = 2  # another stroke's pixel inside the box
    alone, _ = stroke_windows(labels, ink, stroke)
    labels[3, 5] = 1
    together, _ = stroke_windows(labels, ink, stroke)
    assert not np.array_equal(alone, together)


def test_window_classes_near_a_centre_far_from_all_and_between():
    classes = window_classes(30, np.array([5.0, 20.0]), [3, 8])
    assert list(classes[3:8]) == [3] * 5  # within CENTRE_NEAR of 5
    assert classes[20] == 8 and classes[12] == BLANK  # 7 and 8 columns from the centres
    between = [5 + CENTRE_NEAR + 1, 5 + CENTRE_FAR]
    assert all(classes[int(c)] == -1 for c in between)  # left out: either answer is fair
    assert list(window_classes(4, np.array([]), [])) == [BLANK] * 4


def _answers(n, peaks):
    """Window probabilities: blank everywhere but ``{column: digit}`` (and its neighbours)."""
    proba = np.zeros((n, 11))
    proba[:, BLANK] = 1.0
    for column, digit in peaks.items():
        for c in range(column - 1, column + 2):
            proba[c] = 0.0
            proba[c, digit] = 0.9
            proba[c, BLANK] = 0.1
    return proba


def test_read_strip_finds_each_peak_with_its_digit_and_box():
    labels, _, stroke = _bar_stroke(width=40, height=20)  # scale 1
    digits = read_strip(_answers(41, {8: 4, 28: 7}), labels, stroke, 1.0)
    assert [int(d.probabilities.argmax()) for d in digits] == [4, 7]
    assert all(abs(d.probabilities.sum() - 1) < 1e-9 for d in digits)
    # Boxes meet halfway between the peaks (column 18 of the stroke, 20 of the ink).
    assert [d.box for d in digits] == [(2, 2, 20, 22), (20, 2, 42, 22)]


def test_read_strip_merges_peaks_closer_than_a_digit_and_finds_none_in_blank():
    labels, _, stroke = _bar_stroke(width=40, height=20)
    close = read_strip(_answers(41, {10: 4, 10 + PEAK_GAP - 3: 4}), labels, stroke, 1.0)
    assert len(close) == 1
    assert read_strip(_answers(41, {}), labels, stroke, 1.0) == []


def _answers_with(n, peaks, one_at, one_probability):
    """:func:`_answers`, with a 1 centred at ``one_at`` as sure as ``one_probability``
    (the rest of those windows' chances on 7)."""
    proba = _answers(n, peaks)
    for c in range(one_at - 1, one_at + 2):
        proba[c] = 0.0
        proba[c, 1], proba[c, 7], proba[c, BLANK] = one_probability, 0.9 - one_probability, 0.1
    return proba


def test_a_narrow_1_closer_to_its_neighbour_than_a_digit_is_kept_when_the_reader_is_sure():
    labels, _, stroke = _bar_stroke(width=40, height=20)
    one_at = 10 + ONE_GAP
    assert one_at - 10 < PEAK_GAP  # the neighbour's peak would hide it
    sure = read_strip(_answers_with(41, {10: 4}, one_at, 0.9), labels, stroke, 1.0)
    assert [int(d.probabilities.argmax()) for d in sure] == [4, 1]
    assert sure[0].box[2] == sure[1].box[0] == 2 + round((10 + one_at) / 2)
    unsure = read_strip(_answers_with(41, {10: 4}, one_at, ONE_LEVEL - 0.1), labels, stroke, 1.0)
    assert len(unsure) == 1
    # Nearer (its shoulder, a column on, is within ONE_GAP too), it is the same digit's ink.
    hidden = read_strip(_answers_with(41, {10: 4}, 10 + ONE_GAP - 2, 0.9), labels, stroke, 1.0)
    assert len(hidden) == 1


def test_a_strip_counts_as_all_its_digits_in_the_search():
    # Two pieces; candidates: each piece as a digit, and the strip of both as 3 digits.
    spans, counts = [(0, 1), (1, 2), (0, 2)], [1, 1, 3]
    probabilities = np.full((3, 10), 0.1) + np.eye(10)[:3] * 0.9
    scores = np.array([-1.0, -1.0, strip_score(probabilities, [1.0] * 3, [0.5] * 3)])
    assert best_path(spans, scores, 2, None, counts) == [0, 1]  # -2 against about -3
    assert best_path(spans, scores, 2, 3, counts) == [2]  # three digits asked for


@pytest.mark.parametrize(
    "features, classes", [(ROWS * WINDOW, [1, 7]), (784, [1, BLANK])], ids=["no 10", "784"]
)
def test_a_strip_reader_that_is_not_one_is_refused(features, classes):
    reader = DummyClassifier().fit(np.zeros((2, 784)), [1, 7])
    stand_in = DummyClassifier().fit(np.zeros((2, features)), classes)
    with pytest.raises(ValueError, match=r"strip reader.*896 features.*classes include 10"):
        read_number(np.zeros((10, 10)), reader, strips=stand_in, verifier=False)


@pytest.mark.slow
def test_the_strip_lessons_label_each_window_with_the_digit_centred_in_it(mnist_dir):
    from hdrnn import load_mnist
    from hdrnn.reading._strip_lessons import strip_lessons

    mnist = load_mnist(source=mnist_dir, download_if_missing=False)
    images, labels = mnist.data[:2000].reshape(-1, 28, 28), mnist.target[:2000]
    X, y = strip_lessons(images, labels, 40, seed=3, photographed=0.0)
    assert X.shape == (len(y), ROWS * WINDOW) and X.dtype == np.float32
    assert set(np.unique(y)) <= set(range(11)) and 0.2 < np.mean(y != BLANK) < 0.6
    again, _ = strip_lessons(images, labels, 40, seed=3, photographed=0.0, jobs=2)
    np.testing.assert_array_equal(again, X)  # the same however many processes
    _, fewer = strip_lessons(images, labels, 40, seed=3, photographed=0.0, blanks_kept=0.2)
    assert np.sum(fewer == BLANK) < 0.5 * np.sum(y == BLANK)
    assert np.sum(fewer != BLANK) == np.sum(y != BLANK)  # every centred window kept


def test_distorted_lessons_draw_new_pens_and_shapes_of_the_same_digits():
    from hdrnn.reading._chunks import distorted_pool
    from hdrnn.reading._strip_lessons import strip_lessons

    images, labels = synthetic.make_stroke_digits(30, random_state=0)
    plain, plain_labels = distorted_pool(images, labels, 15, 0.0, np.random.default_rng(1))
    sources = [np.flatnonzero((images == digit).all(axis=(1, 2)))[0] for digit in plain]
    np.testing.assert_array_equal(plain_labels, labels[sources])  # drawn, not changed
    # The same draw (the same seed) with every digit distorted: the same digits, redrawn.
    pool, pool_labels = distorted_pool(images, labels, 15, 1.0, np.random.default_rng(1))
    assert pool.shape == (60, 28, 28) and pool.dtype == np.float32
    assert 0.0 <= pool.min() and pool.max() <= 1.0 and (pool.max(axis=(1, 2)) >= 0.5).all()
    np.testing.assert_array_equal(pool_labels, plain_labels)
    assert all(not np.allclose(before, after, atol=0.05) for before, after in zip(plain, pool))
    X, y = strip_lessons(images, labels, 6, seed=2, photographed=0.0, distorted=0.5)
    again, same = strip_lessons(images, labels, 6, seed=2, photographed=0.0, distorted=0.5, jobs=2)
    np.testing.assert_array_equal(again, X)  # the same however many processes
    undistorted, _ = strip_lessons(images, labels, 6, seed=2, photographed=0.0)
    assert len(y) > 0 and np.array_equal(same, y) and not np.array_equal(undistorted, X)


@pytest.mark.slow
def test_the_strip_reader_reads_touching_and_overlapping_photos_better(mnist_dir):
    from hdrnn import load_mnist
    from hdrnn.pretrained import load_pretrained

    mnist = load_mnist(source=mnist_dir, download_if_missing=False)
    X, y = mnist.data[mnist.n_train :].reshape(-1, 28, 28), mnist.target[mnist.n_train :]
    rng = np.random.default_rng(11)
    numbers, truths = synthetic.make_numbers(
        X, y, 120, rng, lengths=(2, 6), spacing=("touching", "overlapping")
    )
    photos = [synthetic.photograph(number, rng) for number in numbers]
    reader = load_pretrained()

    def exact(**options):
        read = [read_number(p, reader, min_confidence=0.0, **options).text for p in photos]
        return np.mean([r == t.text for r, t in zip(read, truths)])

    with_it, without = exact(), exact(strips=False)
    # Measured on these 120: 55% exact with the shipped strip reader, 18% without.
    assert with_it >= without + 0.15
