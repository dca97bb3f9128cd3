"""Batch augmentation: distortions keep a digit's shape and mass and move it as asked."""

import threading
import tracemalloc

import numpy as np
import pytest

from hdrnn.augmentation import Augmentation, BatchAugmenter, augmented_batches, prefetched
from hdrnn.nn import iter_batches


def _blob_digits(n=16, side=28, seed=0):
    """Centred blurry strokes with a wide empty margin, like MNIST digits."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:side, 0:side]
    images = np.zeros((n, side, side), dtype=np.float32)
    for image in images:
        for _ in range(3):
            cy, cx = rng.uniform(side * 0.35, side * 0.65, 2)
            image += np.exp(-((rows - cy) ** 2 + (cols - cx) ** 2) / (2 * (side / 14) ** 2))
    images = np.clip(images, 0, 1)
    images[:, : side // 7] = images[:, -side // 7 :] = 0  # the empty margin
    images[:, :, : side // 7] = images[:, :, -side // 7 :] = 0
    return images.reshape(n, side * side)


def _centre_of_mass(batch, side):
    images = batch.reshape(-1, side, side)
    rows, cols = np.mgrid[0:side, 0:side]
    mass = images.sum(axis=(1, 2))
    return np.stack(
        [(images * rows).sum(axis=(1, 2)) / mass, (images * cols).sum(axis=(1, 2)) / mass], 1
    )


def test_whole_pixel_shifts_move_the_digit_and_keep_every_pixel():
    X = _blob_digits()
    batch = X.copy()
    augment = BatchAugmenter(Augmentation(max_shift=2), (28, 28), len(X), np.float32)
    augment(batch, np.random.default_rng(0))
    np.testing.assert_allclose(batch.sum(axis=1), X.sum(axis=1), rtol=1e-5)  # nothing lost
    moved = _centre_of_mass(batch, 28) - _centre_of_mass(X, 28)
    np.testing.assert_allclose(moved, np.round(moved), atol=1e-3)  # whole pixels
    assert 1 <= np.abs(np.round(moved)).max() <= 2
    # each output is an exact shifted copy: same multiset of pixel values
    np.testing.assert_array_equal(np.sort(batch, axis=1), np.sort(X, axis=1))


def test_identity_distortion_changes_nothing():
    X = _blob_digits()
    batch = X.copy()
    BatchAugmenter(Augmentation(max_rotation=1e-12), (28, 28), len(X), np.float32)(
        batch, np.random.default_rng(0)
    )
    np.testing.assert_allclose(batch, X, atol=1e-6)


def test_subpixel_shift_is_bilinear():
    image = np.zeros((1, 5 * 5))
    image[0, 2 * 5 + 2] = 1.0  # one bright pixel in the middle
    augment = BatchAugmenter(Augmentation(max_shift=0.5), (5, 5), 1, np.float64)

    class Highest:
        """A generator that always draws the top of the range: a +0.5 pixel shift."""

        def uniform(self, low, high, size):
            return np.full(size, float(high))

    augment(image, Highest())
    out = image.reshape(5, 5)
    # +0.5 px down and right spreads the pixel over a 2x2 block, 1/4 each
    np.testing.assert_allclose(out[2:4, 2:4], 0.25)
    assert out.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["affine", "elastic"])
def test_presets_keep_shape_range_and_roughly_the_mass(name):
    X = _blob_digits()
    batch = X.copy()
    augment = BatchAugmenter(Augmentation.preset(name, (28, 28)), (28, 28), 32, np.float32)
    augment(batch, np.random.default_rng(1))
    assert batch.shape == X.shape and batch.dtype == np.float32
    assert batch.min() >= 0 and batch.max() <= 1 + 1e-6
    assert not np.allclose(batch, X)
    # Zooms of 0.9-1.1 change the area by at most 21%; elastic distortions
    # thicken and thin strokes locally (that is their point), but on average
    # no ink appears or disappears.
    ratio = batch.sum(axis=1) / X.sum(axis=1)
    assert np.all((ratio > 0.5) & (ratio < 1.6))
    assert ratio.mean() == pytest.approx(1.0, abs=0.1)
    # the digit stays where it was, give or take the shift
    moved = np.abs(_centre_of_mass(batch, 28) - _centre_of_mass(X, 28))
    assert moved.max() < 4


def test_rotation_turns_a_bar():
    side = 28
    bar = np.zeros((side, side), dtype=np.float64)
    bar[13:15, 4:24] = 1.0  # horizontal
    batch = np.repeat(bar.reshape(1, -1), 64, axis=0)
    augment = BatchAugmenter(Augmentation(max_rotation=30), (side, side), 64, np.float64)
    augment(batch, np.random.default_rng(0))
    rows, cols = np.mgrid[0:side, 0:side]
    angles = []
    for image in batch.reshape(-1, side, side):
        w = image / image.sum()
        cy, cx = (w * rows).sum(), (w * cols).sum()
        cov_xy = (w * (rows - cy) * (cols - cx)).sum()
        cov_xx = (w * (cols - cx) ** 2).sum()
        cov_yy = (w * (rows - cy) ** 2).sum()
        angles.append(np.degrees(0.5 * np.arctan2(2 * cov_xy, cov_xx - cov_yy)))
    angles = np.abs(angles)
    assert angles.max() <= 31 and angles.max() > 20  # turned, never beyond the limit


def test_augmentation_is_reproducible_from_the_generator():
    X = _blob_digits()
    augment = BatchAugmenter(Augmentation.preset("elastic", (28, 28)), (28, 28), 16, np.float32)
    a, b = X.copy(), X.copy()
    augment(a, np.random.default_rng(5))
    augment(b, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_presets_scale_with_the_image_size():
    small = Augmentation.preset("affine", (8, 8))
    assert small.max_shift == pytest.approx(2 * 8 / 28)
    assert small.max_rotation == 12  # angles do not scale
    assert Augmentation.preset("shift", (8, 8)).max_shift == 1  # still whole pixels
    with pytest.raises(ValueError, match="Unknown augmentation 'rotate'"):
        Augmentation.preset("rotate", (28, 28))


def test_whole_pixel_shifts_of_large_images_need_memory_linear_in_the_shift():
    # The shift preset scales with the image: 71 pixels either way at 1000x1000.
    # A table per (dy, dx) pair would take 143**2 * 10**6 indices (163 GB).
    config = Augmentation.preset("shift", (1000, 1000))
    assert config.max_shift == 71
    tracemalloc.start()
    augmenter = BatchAugmenter(config, (1000, 1000), 2, np.float32)
    batch = np.ones((2, 10**6), dtype=np.float32)
    augmenter(batch, np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 100 << 20, peak  # the batch-sized buffers, nothing per shift pair
    assert 0 < batch.sum() < 2 * 10**6  # shifted: zeros came in from outside


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_shift": -1}, "max_shift must be a finite number >= 0"),
        ({"max_rotation": float("nan")}, "max_rotation"),
        ({"scale_range": (1.1, 0.9)}, "low <= high"),
        ({"scale_range": (0, 1)}, "two positive numbers"),
        ({"elastic_sigma": 0}, "elastic_sigma must be a positive number"),
        ({"max_shift": "2"}, "max_shift"),
    ],
)
def test_invalid_augmentations_are_refused_when_made(options, match):
    with pytest.raises(ValueError, match=match):
        Augmentation(**options)


def _noisy(X_batch, rng):
    X_batch += rng.normal(scale=0.1, size=X_batch.shape)


def test_prefetched_batches_equal_inline_ones_and_leave_the_data_alone():
    X = np.random.default_rng(0).normal(size=(50, 4))
    X_before = X.copy()
    results = []
    for background in (False, True):
        buffers = [np.empty((6, 4)) for _ in range(3)]
        seen = []
        for _ in range(3):  # several epochs: the buffers rotate through every slot
            batches = augmented_batches(
                iter_batches(X, np.arange(50), 6, buffers), _noisy, np.random.default_rng(2)
            )
            if background:
                batches = prefetched(batches)
            seen += [X_batch.copy() for _, X_batch in batches]
        results.append(seen)
    for inline, prefetched_batch in zip(*results):
        np.testing.assert_array_equal(inline, prefetched_batch)
    np.testing.assert_array_equal(X, X_before)  # only copies were distorted


def test_an_error_in_the_prefetching_thread_reaches_the_caller():
    def broken(X_batch, rng):
        raise RuntimeError("bad distortion")

    X = np.zeros((20, 4))
    buffers = [np.empty((6, 4)) for _ in range(3)]
    batches = prefetched(
        augmented_batches(iter_batches(X, np.arange(20), 6, buffers), broken, None)
    )
    with pytest.raises(RuntimeError, match="bad distortion"):
        list(batches)
    assert not any(t.name == "hdrnn-augment" for t in threading.enumerate())


def test_closing_early_stops_the_prefetching_thread():
    X = np.zeros((600, 4))
    buffers = [np.empty((6, 4)) for _ in range(3)]
    batches = prefetched(iter_batches(X, np.arange(600), 6, buffers))
    next(batches)
    batches.close()
    assert not any(t.name == "hdrnn-augment" for t in threading.enumerate())
