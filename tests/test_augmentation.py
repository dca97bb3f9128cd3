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


# ------------------------------------------------ slant, width, pen and paper


class _TopOfEveryRange:
    """A generator whose uniform draws are always the top of the range."""

    def uniform(self, low, high, size):
        return np.full(size, float(high))


def _augmented(config, X, rng=None, shape=(28, 28)):
    batch = X.copy()
    BatchAugmenter(config, shape, len(batch), batch.dtype)(
        batch, np.random.default_rng(0) if rng is None else rng
    )
    return batch


def _one_image(side=28, dtype=np.float64):
    return np.zeros((1, side, side), dtype=dtype)


# Fingerprints of batches made before slant, width, pen and paper were added
# (_blob_digits(4), seed 2024): for each image its ink, the mean flat index
# of its ink and its sum of squares. Any change in what the old presets draw
# or compute changes these in the first digits, not in the last.
BEFORE_PEN_AND_PAPER = {
    ("shift", np.float64): [
        *(75.275158, 69.100028, 62.58832, 69.768435),
        *(375.48403, 471.49644, 422.86208, 336.29882),
        *(45.11744, 44.997892, 45.899561, 49.249355),
    ],
    ("affine", np.float64): [
        *(90.727643, 59.675855, 52.631574, 61.247574),
        *(391.40488, 409.57023, 471.20387, 381.7985),
        *(52.866585, 37.754121, 37.503749, 42.269193),
    ],
    ("elastic", np.float64): [
        *(116.00258, 54.457047, 39.150319, 51.819929),
        *(386.11283, 373.12696, 450.85439, 381.67602),
        *(71.038944, 35.591442, 27.767976, 34.389861),
    ],
    ("elastic", np.float32): [
        *(67.299194, 72.916217, 43.125322, 56.558368),
        *(397.79469, 368.04037, 393.51328, 356.9217),
        *(37.684006, 46.829069, 30.775736, 37.451404),
    ],
}


@pytest.mark.parametrize(("name", "dtype"), list(BEFORE_PEN_AND_PAPER))
def test_old_presets_make_the_batches_they_made_before_pen_and_paper(name, dtype):
    X = _blob_digits(n=4).astype(dtype)
    augment = BatchAugmenter(Augmentation.preset(name, (28, 28)), (28, 28), 4, dtype)
    augment(X, np.random.default_rng(2024))
    mass = X.sum(axis=1, dtype=np.float64)
    where = (X * np.arange(784)).sum(axis=1, dtype=np.float64) / mass
    squares = (X**2).sum(axis=1, dtype=np.float64)
    # 8 significant digits were recorded; the tolerance allows other CPUs' last bits.
    np.testing.assert_allclose(
        np.concatenate([mass, where, squares]), BEFORE_PEN_AND_PAPER[name, dtype], rtol=1e-6
    )


def test_new_distortions_at_their_defaults_change_no_bit():
    X = _blob_digits(n=8)
    old = dict(max_shift=2.0, max_rotation=10.0, scale_range=(0.9, 1.1), elastic_alpha=34.0)
    off = dict(
        max_shear=0,
        aspect_range=[1, 1],  # as a saved model's JSON gives them
        stroke_range=[0, 0],
        max_breaks=0,
        break_radius=3.0,
        ink_fade=0,
        blur_range=[0, 0],
        gamma_range=[1, 1],
    )
    np.testing.assert_array_equal(
        _augmented(Augmentation(**old), X), _augmented(Augmentation(**old, **off), X)
    )
    assert Augmentation(**off) == Augmentation(break_radius=3.0)  # no gaps, so unused
    assert Augmentation(**off).is_whole_pixel_shift
    assert not Augmentation(max_shear=5).is_whole_pixel_shift


def test_shear_moves_the_top_of_a_vertical_stroke_sideways():
    image = _one_image()
    image[0, 4:24, 13:15] = 1.0  # a vertical bar, two pixels wide
    config = Augmentation(max_shear=20)
    batch = image.reshape(1, -1).copy()
    BatchAugmenter(config, (28, 28), 1, np.float64)(batch, _TopOfEveryRange())
    slanted = batch.reshape(28, 28)
    cols = np.arange(28)
    rows = np.arange(6, 22)  # away from the bar's ends
    centres = [(slanted[r] * cols).sum() / slanted[r].sum() for r in rows]
    slope = np.polyfit(rows, centres, 1)[0]
    assert slope == pytest.approx(np.tan(np.radians(20)), rel=1e-3)  # columns per row
    assert slanted.sum() == pytest.approx(image.sum(), rel=1e-3)  # a shear keeps the area


def _tilt(config):
    """Degrees from vertical of a long vertical bar after ``config`` at the top of its ranges."""
    image = _one_image(side=56)
    image[0, 4:52, 27:29] = 1.0
    batch = image.reshape(1, -1).copy()
    BatchAugmenter(config, (56, 56), 1, np.float64)(batch, _TopOfEveryRange())
    image = batch.reshape(56, 56)
    rows, cols = np.arange(14, 42), np.arange(56)
    centres = (image[rows] * cols).sum(axis=1) / image[rows].sum(axis=1)
    return np.degrees(np.arctan(np.polyfit(rows, centres, 1)[0]))


def test_slant_comes_before_the_rotation():
    # A rotation turns every line by its angle, slanted or not, so the tilts
    # add up exactly when the slant is applied first, as handwriting is slanted
    # by the writer and turned with the paper.
    slanted, turned = _tilt(Augmentation(max_shear=20)), _tilt(Augmentation(max_rotation=10))
    assert slanted == pytest.approx(20, abs=0.05) and abs(turned) == pytest.approx(10, abs=0.05)
    both = _tilt(Augmentation(max_shear=20, max_rotation=10, aspect_range=(0.8, 0.8)))
    assert both == pytest.approx(slanted + turned, abs=0.05)


def test_random_slants_stay_within_the_largest():
    side = 28
    bars = np.zeros((64, side, side))
    bars[:, 4:24, 13:15] = 1.0
    batch = _augmented(Augmentation(max_shear=15), bars.reshape(64, -1))
    rows, cols = np.arange(6, 22), np.arange(side)
    images = batch.reshape(64, side, side)[:, rows]
    centres = (images * cols).sum(axis=2) / images.sum(axis=2)  # (64, n_rows)
    slopes = np.polyfit(rows, centres.T, 1)[0]
    assert np.abs(slopes).max() <= np.tan(np.radians(15)) + 1e-6
    assert np.abs(slopes).max() > np.tan(np.radians(10))  # and some lean a lot


def test_aspect_changes_the_width_and_keeps_the_height():
    image = _one_image()
    image[0, 4:24, 4:24] = 1.0  # a 20x20 square
    narrow = _augmented(Augmentation(aspect_range=(0.5, 0.5)), image.reshape(1, -1))
    narrow = narrow.reshape(28, 28)
    assert narrow.sum(axis=0).max() == pytest.approx(20, abs=0.01)  # as tall
    assert narrow.sum(axis=1).max() == pytest.approx(10, abs=0.01)  # half as wide
    assert narrow.sum() == pytest.approx(200, rel=1e-3)


def test_thicker_pens_add_ink_and_thinner_ones_take_it_away():
    X = _blob_digits(n=8)
    inked = (X > 0.5).sum(axis=1)
    thicker = (_augmented(Augmentation(stroke_range=(1, 1)), X) > 0.5).sum(axis=1)
    thinner = (_augmented(Augmentation(stroke_range=(-1, -1)), X) > 0.5).sum(axis=1)
    assert np.all(thicker > inked) and np.all(thinner < inked)
    half = _augmented(Augmentation(stroke_range=(0.5, 0.5)), X).sum(axis=1)
    full = _augmented(Augmentation(stroke_range=(1, 1)), X).sum(axis=1)
    assert np.all((X.sum(axis=1) < half) & (half < full))  # a fraction blends two steps


def test_one_stroke_step_is_the_four_neighbourhood():
    dot = _one_image()
    dot[0, 10, 10] = 1.0
    plus = _augmented(Augmentation(stroke_range=(1, 1)), dot.reshape(1, -1)).reshape(28, 28)
    expected = np.zeros((28, 28))
    expected[10, 9:12] = expected[9:12, 10] = 1.0
    np.testing.assert_array_equal(plus, expected)
    gone = _augmented(Augmentation(stroke_range=(-1, -1)), dot.reshape(1, -1))
    assert not gone.any()  # a stroke thinner than the step vanishes, without NaN


def test_breaks_remove_ink_only_where_there_was_ink():
    X = _blob_digits(n=32)
    config = Augmentation(max_breaks=3, break_radius=1.5)
    broken = _augmented(config, X)
    assert np.all(broken <= X + 1e-6)  # nothing added
    assert np.all(broken[X == 0] == 0)
    removed = X.sum(axis=1) - broken.sum(axis=1)
    assert (removed > 1).mean() > 0.5  # most digits lost some ink
    # Each gap is a disc of radius 1.5 (soft to 2): at most 3 * pi * 2**2 pixels of ink.
    assert removed.max() <= 3 * np.pi * 2**2
    # Every pixel that lost ink lies within 2 pixels of a core pixel that lost it.
    rows, cols = np.mgrid[0:28, 0:28]
    for image, before in zip(broken.reshape(-1, 28, 28), X.reshape(-1, 28, 28)):
        lost = before - image > 1e-6
        cores = lost & (before > 0.5)
        for r, c in zip(rows[lost], cols[lost]):
            assert np.hypot(rows[cores] - r, cols[cores] - c).min() <= 2


def test_blur_spreads_ink_as_a_gaussian_and_keeps_the_peak():
    dot = _one_image(dtype=np.float32)
    dot[0, 14, 14] = 1.0
    blurred = _augmented(Augmentation(blur_range=(1.0, 1.0)), dot.reshape(1, -1))
    blurred = blurred.reshape(28, 28)
    assert blurred[14, 14] == pytest.approx(1.0)  # stretched back, as preparation does
    assert blurred[14, 15] == pytest.approx(np.exp(-0.5), rel=1e-5)
    assert blurred[13, 15] == pytest.approx(np.exp(-1.0), rel=1e-5)
    assert blurred[14, 16] == pytest.approx(np.exp(-2.0), rel=1e-5)
    # No subnormal numbers in the far tail, 14 pixels out (exp(-98) in float32),
    # which would make every product with them slow, in training too.
    tiny = np.finfo(blurred.dtype).tiny
    assert np.all((blurred == 0) | (blurred >= tiny))
    X = _blob_digits(n=8)
    soft = _augmented(Augmentation(blur_range=(0.5, 1.5)), X)
    assert np.all((soft > 0.05).sum(axis=1) > (X > 0.05).sum(axis=1))


def test_ink_fades_smoothly_and_keeps_its_peak():
    plates = np.ones((16, 28 * 28))  # all ink: the factors themselves
    faded = _augmented(Augmentation(ink_fade=0.6), plates).reshape(16, 28, 28)
    np.testing.assert_allclose(faded.max(axis=(1, 2)), 1.0)
    lowest = faded.min(axis=(1, 2))
    assert np.all(lowest >= 0.4 - 1e-6)  # at most 0.6 of the ink fades
    assert lowest.min() < 0.7  # and some images fade a lot
    # Smooth: neighbouring pixels differ by far less than the whole fade.
    steps = np.abs(np.diff(faded, axis=2)).max(axis=(1, 2))
    assert np.all(steps < 0.25 * (1 - lowest) + 1e-6)


def test_gamma_darkens_or_lightens_the_grey_edges_and_keeps_black_and_full_ink():
    ramp = np.linspace(0, 1, 28 * 28).reshape(1, -1)
    np.testing.assert_allclose(_augmented(Augmentation(gamma_range=(2, 2)), ramp), ramp**2)
    np.testing.assert_allclose(_augmented(Augmentation(gamma_range=(0.5, 0.5)), ramp), ramp**0.5)
    scaled = _augmented(Augmentation(gamma_range=(2, 2)), 16 * ramp)  # raw load_digits scale
    np.testing.assert_allclose(scaled, 16 * ramp**2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(28, 28), (8, 8), (20, 12)])
def test_handwriting_keeps_dtype_shape_and_range(dtype, shape):
    height, width = shape
    X = _blob_digits(n=24, side=max(shape))[:, : height * width].astype(dtype)
    config = Augmentation.preset("handwriting", shape)
    batch = _augmented(config, X, shape=shape)
    assert batch.dtype == dtype and batch.shape == X.shape
    assert np.all(np.isfinite(batch))
    assert batch.min() >= 0 and batch.max() <= 1
    assert not np.allclose(batch, X)


def test_handwriting_is_reproducible_from_the_generator():
    X = _blob_digits()
    config = Augmentation.preset("handwriting", (28, 28))
    first = _augmented(config, X, np.random.default_rng(9))
    np.testing.assert_array_equal(first, _augmented(config, X, np.random.default_rng(9)))
    assert not np.allclose(first, _augmented(config, X, np.random.default_rng(10)))


def test_handwriting_scales_distances_with_the_image_and_keeps_angles_and_ratios():
    big, small = (
        Augmentation.preset("handwriting", (28, 28)),
        Augmentation.preset("handwriting", (8, 8)),
    )
    factor = 8 / 28
    assert small.stroke_range == pytest.approx(tuple(v * factor for v in big.stroke_range))
    assert small.blur_range == pytest.approx(tuple(v * factor for v in big.blur_range))
    assert small.break_radius == pytest.approx(big.break_radius * factor)
    assert small.max_shift == pytest.approx(big.max_shift * factor)
    assert small.elastic_sigma == pytest.approx(big.elastic_sigma * factor)
    # The displacements grow as alpha / sigma: alpha scales twice for them to scale once.
    assert small.elastic_alpha == pytest.approx(big.elastic_alpha * factor**2)
    for unscaled in ("max_rotation", "max_shear", "aspect_range", "max_breaks", "ink_fade"):
        assert getattr(small, unscaled) == getattr(big, unscaled)
    assert small.gamma_range == big.gamma_range and small.scale_range == big.scale_range
    # "elastic" keeps the rule its models were trained with.
    assert Augmentation.preset("elastic", (8, 8)).elastic_alpha == pytest.approx(34 * factor)


def test_ranges_are_stored_as_tuples():
    config = Augmentation(stroke_range=[-1, 1], blur_range=[0, 1])
    assert config.stroke_range == (-1, 1) and config.blur_range == (0, 1)
    assert hash(config) == hash(Augmentation(stroke_range=(-1, 1), blur_range=(0, 1)))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"max_shear": -5}, "max_shear must be a finite number >= 0; got -5"),
        ({"max_shear": 90}, "max_shear must be below 90 degrees"),
        ({"aspect_range": (1.2, 0.8)}, r"aspect_range must be two positive .* low <= high"),
        ({"aspect_range": (0, 1)}, "aspect_range must be two positive numbers"),
        ({"stroke_range": (-1, float("inf"))}, "stroke_range must be two finite numbers"),
        ({"stroke_range": (1,)}, r"stroke_range .* got \(1,\)"),
        ({"blur_range": (-0.5, 1)}, "blur_range must be two non-negative numbers"),
        ({"gamma_range": (0, 2)}, "gamma_range must be two positive numbers"),
        ({"gamma_range": "1.5"}, "gamma_range must be two positive numbers"),
        ({"ink_fade": 1.0}, "ink_fade must be below 1"),
        ({"ink_fade": -0.1}, "ink_fade must be a finite number >= 0"),
        ({"max_breaks": 1.5}, "max_breaks must be a whole number >= 0; got 1.5"),
        ({"max_breaks": -1}, "max_breaks must be a whole number >= 0"),
        ({"max_breaks": True}, "max_breaks must be a whole number"),
        ({"break_radius": 0}, "break_radius must be a positive number; got 0"),
    ],
)
def test_invalid_pen_and_paper_settings_are_refused_when_made(options, match):
    with pytest.raises(ValueError, match=match):
        Augmentation(**options)


@pytest.mark.filterwarnings("ignore:.*converge")  # ten epochs are few, and that is fine
def test_a_classifier_trains_with_the_handwriting_preset(digits):
    from hdrnn import DigitMLPClassifier

    X, y = digits
    model = DigitMLPClassifier(
        hidden_layer_sizes=(64,),
        augment="handwriting",
        batch_size=32,
        learning_rate_init=0.01,
        max_iter=10,
        random_state=0,
    )
    model.fit(X[:1000], y[:1000])
    assert model.n_iter_ == 10
    assert model.augment == "handwriting"
    assert model.score(X[1000:], y[1000:]) > 0.8  # learnt digits, not noise
