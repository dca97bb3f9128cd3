"""Photos of real paper: the preparation must give the clean digit's input despite them.

Each test photographs a digit (drawn strokes, or MNIST test digits when
HDRNN_MNIST_DIR is set) on paper with one kind of damage: uneven light and a
shadow, noise, specks of dust, a frame drawn around it (apart or touching),
ruled lines, JPEG, gray or coloured paper, chalk on a blackboard. The
prepared 28x28 input must match the clean photo's, and a model must read it
as it reads the clean one.

Thresholds were measured (``/work/notes/photos22``): over 5 photos of each
of the 10 drawn digits per damage, the correlation with the clean input was
at least 0.95 (specks), 0.968 (a frame touching two sides), 0.978 (chalk),
0.985 (ruled lines) and 0.99 or more otherwise; the preparation before
issue 22 gave 0.26 to 0.57 on average for shading, noise, specks, frames and
ruled lines. 0.93 leaves room for other seeds and still catches a photo
cropped wrongly.
"""

import io
import itertools
import json
import math
import tracemalloc
from functools import partial

import numpy as np
import pytest
from scipy import ndimage

from hdrnn import DigitMLPClassifier
from hdrnn._utils.ink import ANALYSIS_SIDE
from hdrnn.preprocessing import (
    InkImage,
    describe_preparation,
    find_ink,
    prepare_digit_image,
    prepare_ink,
    prepare_inks,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# The least correlation between a damaged photo's input and the clean one's.
MIN_CORRELATION = 0.93

# ----------------------------------------------------------------- the photos


def stroke_ink(strokes, size=280, pen=16):
    """Ink (0-1, anti-aliased) of strokes given in pixels, on a ``size`` square."""
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    distance = np.full((size, size), np.inf)
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            dx, dy = x1 - x0, y1 - y0
            t = np.clip(((cols - x0) * dx + (rows - y0) * dy) / (dx * dx + dy * dy or 1.0), 0, 1)
            distance = np.minimum(distance, np.hypot(cols - x0 - t * dx, rows - y0 - t * dy))
    return np.clip(pen / 2 - distance + 0.5, 0.0, 1.0)


def upscaled(digit28, factor=8):
    """An MNIST digit (28x28, 0-1) as smooth ink, ``factor`` times bigger."""
    return np.clip(ndimage.zoom(digit28.reshape(28, 28), factor, order=3), 0.0, 1.0)


def lighting(shape, gradient=0.0, vignette=0.0, shadow=0.0, angle=0.4):
    """Light falling on the paper (1 = full): a gradient, a vignette and a soft shadow edge."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    y, x = rows / shape[0] - 0.5, cols / shape[1] - 0.5
    light = 1.0 - gradient * (x * math.cos(angle) + y * math.sin(angle) + 0.5)
    light *= 1.0 - vignette * (x**2 + y**2) * 2
    if shadow:
        edge = (x + 0.6 * y + 0.15) / 0.04  # a soft shadow across a corner
        light *= 1.0 - shadow / (1.0 + np.exp(edge))
    return light


def hard_shadow(shape, depth=0.45, slope=0.3, across=0.5):
    """Light (1 = full) with a sharp shadow over the right of the sheet, as a phone
    held over it casts: its edge crosses at ``across`` of the width, slanted, two
    pixels soft."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    edge = cols - across * shape[1] - slope * (rows - shape[0] / 2)
    return 1.0 - depth * np.clip(0.5 + edge / 2, 0.0, 1.0)


def photograph(
    ink,
    rng,
    *,
    margin=(60, 90),
    paper=0.92,
    pen=0.12,
    light=None,
    noise=0.0,
    specks=0,
    frame=None,
    broken_frame=False,
    ruled=None,
    jpeg=None,
    tint=None,
):
    """``(photo, box)``: ink on paper as a gray (or RGB) uint8 photo, and the ink's box.

    ``frame`` is the gap in pixels between the ink and a box drawn around it
    (0 touches it), one for all sides or (top, right, bottom, left);
    ``broken_frame`` draws it thin, faint, 2 degrees askew and broken into
    dashes (a pencil box in weak light);
    ``ruled`` the spacing of horizontal ruled lines; ``tint`` an RGB colour
    for the paper (the ink is then dark blue). ``box`` is (x0, y0, x1, y1)
    around the ink (above half its level), ends excluded.
    """
    top, left = int(rng.integers(*margin)), int(rng.integers(*margin))
    shape = (
        ink.shape[0] + top + int(rng.integers(*margin)),
        ink.shape[1] + left + int(rng.integers(*margin)),
    )
    coverage = np.zeros(shape)
    coverage[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.5), np.flatnonzero(ink.max(axis=0) > 0.5)
    box = (left + cols[0], top + rows[0], left + cols[-1] + 1, top + rows[-1] + 1)
    if frame is not None:
        drawn = _frame(shape, box, frame, width=3 if broken_frame else 8)
        if broken_frame:
            drawn = _broken(drawn, rng)
        coverage = np.maximum(coverage, drawn)
    if ruled is not None:
        lines = np.zeros(shape)
        for row in range(int(rng.integers(0, ruled)), shape[0] - 3, ruled):
            lines[row : row + 3] = 0.6  # thinner and lighter than the pen
        coverage = np.maximum(coverage, ndimage.gaussian_filter(lines, 0.8))
    for _ in range(specks):
        y, x, r = int(rng.integers(shape[0])), int(rng.integers(shape[1])), rng.uniform(1.0, 3.0)
        ys, xs = np.ogrid[0 : shape[0], 0 : shape[1]]
        coverage = np.maximum(coverage, np.clip(r - np.hypot(ys - y, xs - x) + 0.5, 0, 1))
    light = np.ones(shape) if light is None else light(shape)
    if tint is None:
        reflect = paper * (1 - coverage) + pen * coverage
        gray = reflect * light + rng.normal(0.0, noise, shape)
    else:
        coverage, blue_ink = coverage[..., np.newaxis], np.array([0.15, 0.18, 0.45])
        rgb = np.asarray(tint) * (1 - coverage) + blue_ink * coverage
        gray = rgb * light[..., np.newaxis] + rng.normal(0.0, noise, (*shape, 3))
    image = (np.clip(gray, 0, 1) * 255).round().astype(np.uint8)
    if jpeg is not None:
        from PIL import Image

        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", quality=jpeg)
        image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    return image, tuple(int(v) for v in box)


def _frame(shape, box, gaps, width=8):
    """A box drawn ``width`` pixels wide, ``gaps`` (top, right, bottom, left) off ``box``."""
    gap_top, gap_right, gap_bottom, gap_left = np.broadcast_to(gaps, 4)
    x0, y0 = box[0] - gap_left - width, box[1] - gap_top - width
    x1, y1 = box[2] + gap_right + width, box[3] + gap_bottom + width
    frame = np.zeros(shape)
    frame[y0:y1, x0 : x0 + width] = frame[y0:y1, x1 - width : x1] = 1.0
    frame[y0 : y0 + width, x0:x1] = frame[y1 - width : y1, x0:x1] = 1.0
    return ndimage.gaussian_filter(frame, 0.7)


def _broken(frame, rng):
    """The frame 2 degrees askew, at 70% of the pen's darkness, with a gap of 2-4
    pixels every 60-90 pixels along each side (long dashes: not specks)."""
    rows, cols = np.nonzero(frame > 0.5)
    top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
    keep = np.ones(frame.shape)
    for axis, (low, high) in enumerate(((top, bottom), (left, right))):
        start = low + 10  # corners stay whole
        while True:
            start += int(rng.integers(60, 90))
            stop = start + int(rng.integers(2, 5))
            if stop > high - 10:
                break
            if axis == 0:  # a gap in the vertical sides
                keep[start:stop, :] = 0.0
                keep[start:stop, left + 10 : right - 10] = 1.0
            else:  # a gap in the horizontal sides
                keep[:, start:stop] = 0.0
                keep[top + 10 : bottom - 10, start:stop] = 1.0
            start = stop
    return 0.7 * ndimage.rotate(frame * keep, 2.0, reshape=False, order=1)


def chalkboard(ink, rng, board=0.18, chalk=0.85, noise=0.03):
    """``(photo, box)``: chalk on a blackboard: light grainy strokes, a dark uneven board."""
    grain = ink * rng.uniform(0.75, 1.0, ink.shape)
    coverage = np.pad(grain, 70)
    light = lighting(coverage.shape, gradient=0.3, vignette=0.3)
    gray = (board * (1 - coverage) + chalk * coverage) * light
    gray += rng.normal(0, noise, coverage.shape)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.5), np.flatnonzero(ink.max(axis=0) > 0.5)
    box = (70 + cols[0], 70 + rows[0], 70 + cols[-1] + 1, 70 + rows[-1] + 1)
    return (np.clip(gray, 0, 1) * 255).round().astype(np.uint8), tuple(int(v) for v in box)


# Each kind of damage, as arguments of `photograph`.
DAMAGE = {
    "shading and a shadow": dict(
        light=partial(lighting, gradient=0.35, vignette=0.4, shadow=0.35), noise=0.02
    ),
    # Deep enough that the shadowed paper's gray lies between the lit paper's and
    # the pen's: the lit half once looked like chalk on a dark ground.
    "a sharp, deep shadow across the digit": dict(
        paper=0.75, pen=0.06, light=hard_shadow, noise=0.02
    ),
    "noise": dict(noise=0.07),
    "specks": dict(specks=25, noise=0.01),
    "a frame": dict(frame=12),
    "a frame touching two sides": dict(frame=(15, 12, 0, 0), noise=0.02),
    "a faint broken frame, askew": dict(frame=12, broken_frame=True, noise=0.02),
    "ruled lines": dict(ruled=45),
    "gray paper": dict(paper=0.5, pen=0.08, light=partial(lighting, gradient=0.2), noise=0.02),
    "coloured paper": dict(tint=(1.0, 0.9, 0.5), noise=0.02),
}


def correlation(a, b):
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def inks(drawn_digits):
    """The ten drawn digits as anti-aliased ink."""
    return {digit: stroke_ink(strokes) for digit, strokes in drawn_digits.items()}


@pytest.fixture(scope="module")
def clean(inks):
    """Each digit's input when photographed on clean, evenly lit paper."""
    rng = np.random.default_rng(1)
    return {digit: prepare_digit_image(photograph(ink, rng)[0]) for digit, ink in inks.items()}


@pytest.fixture(scope="module")
def model(clean, digits):
    """A small 28x28 model trained without MNIST: scikit-learn's digits, enlarged."""
    X, y = digits
    X28 = np.stack([prepare_digit_image(image.reshape(8, 8)) for image in X])
    return DigitMLPClassifier((64,), max_iter=100, random_state=0).fit(X28, y)


# ------------------------------------------------------------ damage by damage


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_photo_gives_the_clean_digits_input(damage, inks, clean):
    if damage == "gray paper" or "jpeg" in damage:
        pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    for digit, ink in inks.items():
        photo, box = photograph(ink, rng, **DAMAGE[damage])
        found = find_ink(photo)
        x = prepare_digit_image(found)
        assert correlation(x, clean[digit]) > MIN_CORRELATION, (damage, digit)
        # The crop is the digit's, not stretched by shadows, specks, lines or a frame.
        np.testing.assert_allclose(found.digit_box, box, atol=6, err_msg=f"{damage}, {digit}")


def test_a_jpeg_photo_gives_the_clean_digits_input(inks, clean):
    pytest.importorskip("PIL")
    rng = np.random.default_rng(0)
    for digit, ink in inks.items():
        photo, _ = photograph(ink, rng, jpeg=30, noise=0.02)
        assert correlation(prepare_digit_image(photo), clean[digit]) > MIN_CORRELATION


def test_chalk_on_a_blackboard_is_read_the_other_way_round(inks, clean):
    rng = np.random.default_rng(0)
    for digit, ink in inks.items():
        photo, box = chalkboard(ink, rng)
        found = find_ink(photo)
        assert found.polarity == "light on dark"
        assert found.paper_level < 0.3 < found.ink_level
        assert correlation(prepare_digit_image(found), clean[digit]) > MIN_CORRELATION
        np.testing.assert_allclose(found.digit_box, box, atol=6)


def _framed(ink, rng, frame):
    """A photo of ``ink`` in a frame that touches it, or whose right side is broken
    in two (grain or a faint stretch: the segment below the break covered too
    little of the side, the stub above it belonged to the corner, and the frame
    stayed as ink; held-out photos of pen strokes with a frame: 2.56% of those
    read right as clean scans were misread, 1.40% after)."""
    if frame == "touching":
        return photograph(ink, rng, frame=0)[0]
    photo, box = photograph(ink, rng, frame=12)
    top, bottom, inner = box[1] - 12 - 8, box[3] + 12 + 8, box[2] + 12
    height = bottom - top
    if frame == "a side in dashes":
        # Chalk or pencil grain: two gaps, too wide to bridge, leave a side that covers
        # 75% of the box, under the 85% asked of every side (15 of 584 frames drawn
        # around photographed digits were missed so).
        for start, stop in ((0.05, 0.15), (0.75, 0.9)):
            photo[top + round(start * height) : top + round(stop * height), inner : inner + 8] = (
                photo[0, 0]
            )
        return photo
    photo[top + height // 6 : top + height // 6 + height // 8, inner : inner + 8] = photo[0, 0]
    return photo


@pytest.mark.parametrize("frame", ["touching", "a side broken in two", "a side in dashes"])
def test_a_frame_is_taken_out_and_the_digit_kept(inks, clean, frame):
    # Known limit: a frame that hugs a 1 on both sides fuses with it.
    rng = np.random.default_rng(0)
    for digit, ink in inks.items():
        if digit == 1:
            continue
        found = find_ink(_framed(ink, rng, frame))
        assert found.frames_removed == 1, digit
        assert correlation(prepare_digit_image(found), clean[digit]) > MIN_CORRELATION, digit


def test_a_frame_on_ruled_paper_is_taken_out_too(inks):
    # The ruled lines cross the frame's sides, which lose pixels there, and they span
    # the image, against which the sides were short: no frame was found (0 of 40).
    # Measured now: 35 of 40 found. Known limits: a side that runs along a ruled line
    # goes with the line (the frame is then not closed), and 3 of the 35 leave a strip
    # strip of the frame's inside edge, which crossing lines had notched.
    rng = np.random.default_rng(0)
    found = 0
    for spacing, (digit, ink) in itertools.product((25, 30, 35, 40, 45), inks.items()):
        if digit == 1:
            continue
        photo, box = photograph(ink, rng, frame=12, ruled=spacing)
        ink_found = find_ink(photo)
        assert ink_found.lines_removed >= 4, (spacing, digit)
        if ink_found.frames_removed:
            # The frame (8 px wide, 12-20 px off the digit) is gone, but for its inside edge.
            found += 1
            x0, y0, x1, y1 = ink_found.digit_box
            assert box[0] - 18 <= x0 and box[1] - 18 <= y0, (spacing, digit)
            assert x1 <= box[2] + 18 and y1 <= box[3] + 18, (spacing, digit)
    assert found >= 33


@pytest.mark.parametrize(
    "seed, drawn_found",
    [pytest.param(17, 19, id="17: 5 lost"), pytest.param(38, 17, id="38: 3 lost")],
)
def test_a_number_written_close_is_not_taken_for_its_own_frame(seed, drawn_found):
    # The tops and the bottoms of digits that touch line up like a box's sides, and
    # the outer strokes of the first and last digit close it: 5 (seed 17) and 3 (38)
    # of these 20 numbers lost most of their ink as a "frame". A box drawn around them is found
    # as often as before (``drawn_found`` of 20; the others were missed before too).
    from hdrnn.datasets import synthetic

    rng = np.random.default_rng(seed)
    numbers, _ = synthetic.make_writer_numbers(
        20, rng, writers="strokes", lengths=(4, 8), spacing="touching"
    )
    framed = 0
    for n, ink in enumerate(numbers):
        found = find_ink(ink)
        assert found.frames_removed == 0, n
        kept = np.asarray(found.ink) > 0
        assert kept[ink > 0.5].mean() > 0.97, n  # every stroke is still there
        photo, _ = photograph(ink, rng, frame=10, margin=(30, 40))
        framed += find_ink(photo).frames_removed
    assert framed >= drawn_found


@pytest.mark.slow
def test_a_model_reads_damaged_photos_as_it_reads_clean_ones(inks, clean, model):
    expected = {digit: model.predict(x[np.newaxis])[0] for digit, x in clean.items()}
    assert sum(expected[digit] == digit for digit in expected) >= 7  # a small model
    rng = np.random.default_rng(0)
    agree = total = 0
    for damage, settings in DAMAGE.items():
        if damage == "coloured paper":
            continue
        for digit, ink in inks.items():
            x = prepare_digit_image(photograph(ink, rng, **settings)[0])
            agree += model.predict(x[np.newaxis])[0] == expected[digit]
            total += 1
    # Measured: 68 of 70 (the photos read before issue 22: about a third).
    assert agree >= 0.9 * total


# ------------------------------------------------------------ what is reported


def test_find_ink_reports_what_it_found_and_removed(inks):
    rng = np.random.default_rng(0)
    ink = inks[3]
    specks = find_ink(photograph(ink, rng, specks=25, noise=0.01)[0])
    assert specks.specks_removed >= 10 and specks.lines_removed == specks.frames_removed == 0
    ruled = find_ink(photograph(ink, rng, ruled=45)[0])
    assert ruled.lines_removed >= 4 and ruled.frames_removed == 0
    framed = find_ink(photograph(ink, rng, frame=12)[0])
    assert framed.frames_removed == 1 and framed.lines_removed == 0
    gray = find_ink(photograph(ink, rng, paper=0.5, pen=0.08)[0])
    assert gray.polarity == "dark on light"
    assert gray.paper_level == pytest.approx(0.5, abs=0.01)
    assert gray.ink_level == pytest.approx(0.08, abs=0.03)
    assert len(gray.marks) == 1 and gray.box == gray.digit_box


def test_describe_preparation_says_what_was_found_on_this_image(inks):
    rng = np.random.default_rng(0)
    photo, _ = photograph(inks[3], rng, specks=25, noise=0.01)
    found = find_ink(photo)
    text = describe_preparation(found)
    assert text.startswith(f"a {photo.shape[1]}x{photo.shape[0]} image: cropped to the ink in ")
    x0, y0, x1, y1 = found.digit_box
    assert f"x {x0}-{x1 - 1}, y {y0}-{y1 - 1}" in text
    assert f"{found.specks_removed} specks removed" in text
    assert "found dark ink (gray 0.1" in text and "on light paper (gray 0.9" in text
    assert "\n" not in text and "separate marks" not in text
    framed = describe_preparation(photograph(inks[7], rng, frame=12)[0], (8, 8))
    assert "1 frame removed" in framed and "averaged over 4x4 blocks into 8x8" in framed
    assert framed.split(": ", 1)[1] != text.split(": ", 1)[1]  # says something of each image


def test_several_marks_are_counted_and_a_number_is_sent_to_hdrnn_read(inks):
    two = np.hstack([inks[2], inks[7]])  # "27"
    photo, _ = photograph(two, np.random.default_rng(0))
    found = find_ink(photo)
    assert len(found.marks) == 2
    assert found.marks[0][2] <= found.marks[1][0] or found.marks[1][2] <= found.marks[0][0]
    assert found.box[0] == min(m[0] for m in found.marks)
    text = describe_preparation(found)
    assert text.endswith("warning: 2 separate marks: to read a whole number use `hdrnn read`")
    digit = prepare_digit_image(found)  # the mark with the most ink
    one = found.crop(found.digit_box)
    np.testing.assert_allclose(digit, prepare_ink(one), atol=1e-6)


def test_a_digit_in_several_strokes_is_one_mark():
    five = stroke_ink(
        [
            [(120, 60), (200, 60)],  # the top bar, written apart
            [(118, 80), (112, 140), (170, 130), (190, 175), (170, 220), (110, 215)],
        ]
    )
    found = find_ink(photograph(five, np.random.default_rng(0))[0])
    assert len(found.marks) == 1
    rows = np.flatnonzero(found.crop(found.digit_box).max(axis=1) > 0.5)
    assert rows[-1] - rows[0] > 150  # the bar is in the crop


def test_a_blank_page_has_no_ink_and_prepare_says_so():
    paper = np.full((80, 60), 200, dtype=np.uint8)
    found = find_ink(paper)
    assert found.marks == () and found.box is None and found.digit_box is None
    assert not found.ink.any()
    assert describe_preparation(found) == (
        "a 60x80 image: no ink found (ink and paper differ by 0.00 on a 0-1 scale)"
    )
    with pytest.raises(ValueError, match="No digit found: the image is almost uniform"):
        prepare_digit_image(found)


def test_a_page_of_pattern_or_grain_is_not_called_uniform():
    # Binary noise was "almost uniform (ink and paper differ by 3.95 on a 0-1 scale)",
    # and fine grey noise got an internal message ("No ink to prepare in the box None").
    rng = np.random.default_rng(0)
    pattern = (rng.integers(0, 2, (542, 724)) * 255).astype(np.uint8)
    with pytest.raises(ValueError, match="has contrast, but none of its marks looks like a"):
        prepare_digit_image(pattern)
    rng = np.random.default_rng(0)
    rng.integers(0, 256, (383, 1024), dtype=np.uint8)
    grain = rng.integers(0, 256, (542, 724), dtype=np.uint8)
    with pytest.raises(ValueError, match="lost in its noise at full size"):
        prepare_digit_image(grain)


def test_the_structured_report_is_json_ready(inks):
    found = find_ink(photograph(inks[5], np.random.default_rng(0), ruled=45)[0])
    report = json.loads(json.dumps(found.as_dict()))
    assert report["box"] == list(found.digit_box) and report["marks"] == [report["box"]]
    assert report["polarity"] == "dark on light" and report["lines_removed"] >= 4
    assert set(report) == {
        "image_size", "polarity", "paper_level", "ink_level", "noise",
        "specks_removed", "lines_removed", "frames_removed", "marks", "box",
    }  # fmt: skip


# ------------------------------------------------------------ the ink, for readers


def test_prepare_ink_crops_to_the_ink_in_a_box(inks):
    ink = np.zeros((300, 500))
    ink[:280, :280] = inks[4]
    ink[:280, 220:500] = np.maximum(ink[:280, 220:500], inks[1])
    four = prepare_ink(inks[4])
    np.testing.assert_allclose(prepare_ink(ink, box=(0, 0, 220, 300)), four, atol=1e-6)
    np.testing.assert_allclose(prepare_ink(np.pad(inks[4], 30)), four, atol=1e-6)
    batch = prepare_inks([inks[4], inks[1], inks[7]], (8, 8), max_value=16)
    assert batch.shape == (3, 64) and batch.dtype == np.float32 and batch.max() == 16
    np.testing.assert_array_equal(batch[1], prepare_ink(inks[1], None, (8, 8), max_value=16))
    assert prepare_inks([]).shape == (0, 784)


def test_prepare_ink_refuses_what_is_not_ink():
    with pytest.raises(ValueError, match=r"ink must be a 2-D array .* got shape \(3, 4, 5\)"):
        prepare_ink(np.ones((3, 4, 5)))
    with pytest.raises(ValueError, match=r"No ink to prepare in the box \(0, 0, 5, 5\)"):
        prepare_ink(np.pad(np.ones((5, 5)), ((10, 0), (10, 0))), box=(0, 0, 5, 5))


def test_prepare_digit_image_is_find_ink_then_prepare_ink(inks):
    photo, _ = photograph(inks[6], np.random.default_rng(0), noise=0.03)
    found = find_ink(photo)
    assert isinstance(found, InkImage) and find_ink(found) is found
    crop = found.crop(found.digit_box, max_side=320)
    np.testing.assert_array_equal(prepare_digit_image(photo), prepare_ink(crop))
    np.testing.assert_array_equal(
        prepare_digit_image(found, (8, 8)), prepare_digit_image(photo, (8, 8))
    )


def test_a_large_photo_is_analysed_small_and_cropped_sharp(inks):
    # A 1600x1600 photo: found on a shrunk copy, boxes in the photo's pixels,
    # and the digit read back at full resolution for its input.
    big = np.kron(inks[8], np.ones((4, 4)))
    photo, box = photograph(big, np.random.default_rng(0), margin=(200, 300), noise=0.02)
    found = find_ink(photo)
    assert found.scale < 0.3 and max(found.ink.shape) <= ANALYSIS_SIDE
    np.testing.assert_allclose(found.digit_box, box, atol=2 / found.scale)
    ink_box = [round(v * found.scale) for v in found.digit_box]
    assert found.image_box(ink_box) == pytest.approx(found.digit_box, abs=1 / found.scale)
    crop = found.crop(found.digit_box)
    assert crop.shape == (
        found.digit_box[3] - found.digit_box[1],
        found.digit_box[2] - found.digit_box[0],
    )
    small = prepare_digit_image(photograph(inks[8], np.random.default_rng(0), noise=0.02)[0])
    assert correlation(prepare_digit_image(found), small) > 0.97


def test_a_50_megapixel_image_is_read_with_bounded_work_and_memory():
    # 50 million pixels is the most the loader accepts. The work is bounded
    # by shrinking while reading (a strip at a time, to at most 2048 pixels a
    # side) and finding the ink on a copy of at most ANALYSIS_SIDE pixels a
    # side, so the floats never hold the full image.
    height, width = 6250, 8000
    photo = np.full((height, width), 225, dtype=np.uint8)
    photo[1000:5000, 3000:3600] = 30  # a "1", 4000 pixels tall
    tracemalloc.start()
    found = find_ink(photo)
    x = prepare_digit_image(found)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 80 << 20, f"{peak / 2**20:.0f} MB"  # a float64 copy alone would be 400 MB
    assert max(found.ink.shape) <= ANALYSIS_SIDE and found.scale <= ANALYSIS_SIDE / width
    np.testing.assert_allclose(found.digit_box, (3000, 1000, 3600, 5000), atol=2 / found.scale)
    assert x.reshape(28, 28)[5:23, 13:15].min() > 0.8  # a full-height bar


# ------------------------------------------------------------ MNIST's test digits


@pytest.fixture(scope="module")
def mnist_model(mnist_dir):
    """A model trained on 20 000 MNIST training digits, with MNIST's test digits."""
    from hdrnn import load_mnist

    X_train, X_test, y_train, y_test = load_mnist(source=mnist_dir, return_X_y=True)
    model = DigitMLPClassifier(max_iter=5, random_state=0).fit(X_train[:20000], y_train[:20000])
    return model, X_test, y_test


@pytest.mark.slow
def test_photographed_mnist_test_digits_are_read_as_well_as_clean_photos(mnist_model):
    # Measured with a 20-epoch model on 500 test digits: clean photos 97.6%,
    # every damage within a point of it (a frame touching two sides 97.2%);
    # the preparation before issue 22 read 5-64% of those.
    pytest.importorskip("PIL")
    model, X_test, y_test = mnist_model
    chosen = np.random.default_rng(0).choice(len(X_test), 150, replace=False)
    inks_ = [upscaled(X_test[i]) for i in chosen]
    rng = np.random.default_rng(0)
    clean_X = np.stack([prepare_digit_image(photograph(ink, rng)[0]) for ink in inks_])
    clean_score = model.score(clean_X, y_test[chosen])
    assert clean_score > 0.9
    for damage, settings in {**DAMAGE, "jpeg": dict(jpeg=30, noise=0.02)}.items():
        X = np.stack([prepare_digit_image(photograph(ink, rng, **settings)[0]) for ink in inks_])
        assert model.score(X, y_test[chosen]) >= clean_score - 0.04, damage
    X = np.stack([prepare_digit_image(chalkboard(ink, rng)[0]) for ink in inks_])
    assert model.score(X, y_test[chosen]) >= clean_score - 0.04, "chalk"


def test_a_short_line_of_digits_on_shaded_paper_keeps_every_digits_ink():
    # A line of digits fills every cell the paper is measured on. Before, the
    # paper was then one level and its noise was taken from the whole border:
    # the shading counted as noise, the threshold rose above the ink, and
    # nothing (or a few dots) was found of a digit on 9 of these 24 photos.
    pytest.importorskip("PIL")
    from hdrnn.datasets import synthetic

    lost = []
    for seed in range(24):
        rng = np.random.default_rng([2026, seed])
        pool, labels = synthetic.make_stroke_digits(30, rng)
        numbers, truths = synthetic.make_numbers(
            pool, labels, 1, rng, lengths=(5, 7), spacing="apart"
        )
        look = synthetic.random_look(rng, "gray_paper")
        photo = synthetic.photograph(numbers[0], rng, look=look)
        found = find_ink(photo)
        x0, y0, x1, y1 = found.image_box((0, 0, found.ink.shape[1], found.ink.shape[0]))
        kept = np.zeros(photo.shape)
        kept[y0:y1, x0:x1] = found.ink
        for a, b, c, d in truths[0].boxes:
            if kept[b:d, a:c].sum() < 0.3 * numbers[0][b:d, a:c].sum():
                lost.append((seed, truths[0].text))
                break
    assert len(lost) <= 4, lost  # measured: 4 (faint pencil); before: 9


def test_batched_preparation_centres_as_ndimage_does(monkeypatch):
    # prepare_inks centres every crop at once with small matrices; the reference is
    # ndimage's center_of_mass and shift, which MNIST's own preparation used.
    from scipy import ndimage

    from hdrnn.preprocessing import _box_side, _crop_to_ink, _fit_into_box

    rng = np.random.default_rng(4)
    inks = [
        rng.random((h, w)) * (rng.random((h, w)) < 0.4) for h, w in rng.integers(2, 90, (60, 2))
    ]
    inks.append(np.pad([[1.0]], ((0, 30), (0, 5))))  # ink in a corner: a long shift
    inks = [ink if ink.any() else np.ones((3, 3)) for ink in inks]
    for shape in ((28, 28), (20, 24)):
        expected = []
        for ink in inks:
            digit = _fit_into_box(_crop_to_ink(ink), _box_side(shape))
            canvas = np.zeros(shape)
            top, left = (shape[0] - digit.shape[0]) // 2, (shape[1] - digit.shape[1]) // 2
            canvas[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
            offset = np.subtract((shape[0] / 2, shape[1] / 2), ndimage.center_of_mass(canvas))
            shifted = ndimage.shift(canvas, offset, order=1, mode="constant")
            expected.append(np.clip(shifted, 0, 1).astype(np.float32).ravel())
        np.testing.assert_allclose(prepare_inks(inks, shape), np.stack(expected), atol=1e-6)
        with monkeypatch.context() as patch:  # in several chunks, the same
            patch.setattr("hdrnn.preprocessing.PREPARE_CHUNK", 7)
            np.testing.assert_allclose(prepare_inks(inks, shape), np.stack(expected), atol=1e-6)
        np.testing.assert_allclose(prepare_ink(inks[-1], None, shape), expected[-1], atol=1e-6)


def test_which_way_round_under_a_shadow_is_told_by_the_strokes(inks):
    # A sharp shadow makes a second paper level between the lit paper and the ink;
    # the strokes, not the levels, say which way round the ink is.
    from hdrnn._utils.ink_shadows import ink_is_dark

    coverage = np.pad(inks[4], 60)
    light = hard_shadow(coverage.shape, depth=0.55, across=0.35)  # most of the sheet
    pen_on_paper = (0.8 * (1 - coverage) + 0.05 * coverage) * light
    chalk_on_board = (0.2 * (1 - coverage) + 0.9 * coverage) * light
    assert ink_is_dark(pen_on_paper) and not ink_is_dark(chalk_on_board)
    found = find_ink((pen_on_paper * 255).astype(np.uint8))
    assert found.polarity == "dark on light"
    assert find_ink((chalk_on_board * 255).astype(np.uint8)).polarity == "light on dark"


def test_only_a_dark_area_reaching_in_from_the_edge_is_a_shadow():
    from hdrnn._utils.ink_shadows import shadowed_paper

    paper = np.full((120, 120), 0.8)
    assert shadowed_paper(paper.copy(), paper, 0.01) is None  # nothing darker
    blot = paper.copy()
    blot[40:80, 40:80] = 0.1  # a blot of ink wider than the window, inside the sheet
    assert shadowed_paper(blot, paper, 0.01) is None
    shadowed = paper.copy()
    shadowed[:, 70:] *= 0.5  # a shadow over the right of the sheet
    shadowed[30:90, 40:46] = 0.05  # and a stroke in the light, near its edge
    followed = shadowed_paper(shadowed, paper, 0.01)
    np.testing.assert_allclose(followed[:, 75:], 0.4)  # the paper under the shadow
    np.testing.assert_allclose(followed[:, :60], 0.8)  # the stroke's paper stays lit
