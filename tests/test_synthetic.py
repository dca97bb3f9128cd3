"""The generated handwriting sets: strokes, fonts, photos and numbers."""

import dataclasses
import sys

import numpy as np
import pytest
from scipy import ndimage

from hdrnn.datasets import _fonts
from hdrnn.datasets import synthetic as syn
from hdrnn.datasets._ink import INK_LEVEL, ink_box

EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)


def _components(ink, structure=None):
    return ndimage.label(ink >= INK_LEVEL, structure=structure)[1]


# ---------------------------------------------------------------- strokes


def test_stroke_digits_shapes_dtypes_ranges_and_balance():
    images, labels = syn.make_stroke_digits(40, random_state=0, size=36)
    assert images.shape == (40, 36, 36) and images.dtype == np.float32
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.bincount(labels, minlength=10).tolist() == [4] * 10
    assert all(image.max() > 0.4 for image in images)


def test_stroke_digits_are_deterministic_for_a_seed():
    first = syn.make_stroke_digits(12, random_state=3, return_details=True)
    again = syn.make_stroke_digits(12, random_state=3, return_details=True)
    other = syn.make_stroke_digits(12, random_state=4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[2]["style"].tolist() == again[2]["style"].tolist()
    assert not np.array_equal(first[0], other[0])


def test_a_generator_is_threaded_through_calls():
    rng = np.random.default_rng(5)
    one, two = syn.draw_digit(3, rng), syn.draw_digit(3, rng)
    assert not np.array_equal(one, two)  # the generator moved on
    rng = np.random.default_rng(5)
    np.testing.assert_array_equal(syn.draw_digit(3, rng), one)


@pytest.mark.parametrize(
    ("digit", "style"), [(digit, style) for digit, styles in syn.STYLES.items() for style in styles]
)
@pytest.mark.parametrize("pen", sorted(syn.PENS))
def test_every_digit_style_and_pen_draws_ink_inside_the_image(digit, style, pen):
    writer = syn.random_writer(digit, pen=pen)
    for size in (16, 48):
        ink = syn.draw_digit(digit, 1, size=size, style=style, writer=writer)
        assert ink.shape == (size, size)
        assert ink.max() > 0.4  # visible ink even for a light pencil
        border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
        assert border.max() == 0.0  # the digit does not touch the edge
        _, y0, _, y1 = ink_box(ink, 0.1)
        assert y1 - y0 >= 0.45 * size  # a digit, not a speck


def test_styles_of_one_digit_differ_and_writers_keep_theirs():
    writer = syn.random_writer(0, pen="felt_tip")
    crossed = syn.draw_digit(7, 2, size=40, style="crossed", writer=writer)
    plain = syn.draw_digit(7, 2, size=40, style="plain", writer=writer)
    # The crossed 7 has its bar: more ink, and more ink rows holding a long run.
    assert crossed.sum() > plain.sum() * 1.1
    _, labels, details = syn.make_stroke_digits(
        60, random_state=0, n_writers=2, return_details=True
    )
    for who in (0, 1):
        mine = details["writer"] == who
        for digit in range(10):
            assert len(set(details["style"][mine & (labels == digit)].tolist())) <= 1
    assert set(details["pen"].tolist()) <= set(syn.PENS)


def test_pencil_is_lighter_and_grainier_than_a_felt_tip():
    felt = syn.draw_digit(0, 0, size=48, writer=syn.random_writer(1, pen="felt_tip"))
    pencil = syn.draw_digit(0, 0, size=48, writer=syn.random_writer(1, pen="pencil"))
    assert np.percentile(pencil[pencil > 0.05], 90) < np.percentile(felt[felt > 0.05], 90)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: syn.draw_digit(10, 0), "digit must be one of"),
        (lambda: syn.draw_digit(True, 0), "digit must be one of"),
        (lambda: syn.draw_digit(3.0, 0), "digit must be one of"),
        (lambda: syn.draw_digit(1, 0, style="crossed"), "style must be one of 'plain'"),
        (lambda: syn.draw_digit(1, 0, size=4), "size must be an integer from 8 to 1024"),
        (lambda: syn.make_stroke_digits(-1), "n must be an integer from 0"),
        (lambda: syn.random_writer(0, pen="quill"), "pen must be one of"),
    ],
)
def test_stroke_errors_say_what_was_expected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_random_state_of_the_wrong_type_is_refused():
    with pytest.raises(TypeError, match=r"random_state must be an int, a numpy\.random\.Generator"):
        syn.draw_digit(1, np.random.RandomState(0))


# ---------------------------------------------------------------- fonts


def _fonts_or_skip():
    pytest.importorskip("PIL", reason="font digits need Pillow (the images extra)")
    fonts = syn.find_handwriting_fonts()
    if not fonts:
        pytest.skip(f"no handwriting font installed ({' '.join(syn.HANDWRITING_FONT_PACKAGES)})")
    return fonts


def test_font_digits_render_every_digit_in_every_font():
    fonts = _fonts_or_skip()
    images, labels, details = syn.make_font_digits(
        10 * len(fonts), random_state=0, size=32, return_details=True
    )
    assert images.shape == (10 * len(fonts), 32, 32) and images.dtype == np.float32
    assert np.bincount(labels).tolist() == [len(fonts)] * 10
    assert all(image.max() > 0.4 for image in images)
    assert set(details["font"].tolist()) <= {path.name for path in fonts}
    again = syn.make_font_digits(10 * len(fonts), random_state=0, size=32)
    np.testing.assert_array_equal(images, again[0])


def test_font_digits_use_the_fonts_given():
    fonts = _fonts_or_skip()
    _, _, details = syn.make_font_digits(8, 0, fonts=fonts[:1], return_details=True)
    assert set(details["font"].tolist()) == {fonts[0].name}


def test_found_fonts_are_the_listed_files():
    fonts = syn.find_handwriting_fonts()
    assert [path.name for path in fonts] == [
        name for name in syn.HANDWRITING_FONT_FILES if name in {path.name for path in fonts}
    ]
    assert syn.find_handwriting_fonts(folders=["/nonexistent/folder"]) == []


def test_no_installed_font_names_the_debian_packages(monkeypatch):
    pytest.importorskip("PIL", reason="the font check comes after Pillow's")
    monkeypatch.setattr(_fonts, "find_handwriting_fonts", lambda: [])
    with pytest.raises(FileNotFoundError, match="apt-get install fonts-breip fonts-bwht"):
        syn.make_font_digits(3, 0)


def test_a_missing_font_file_is_named(tmp_path):
    pytest.importorskip("PIL", reason="the font check comes after Pillow's")
    with pytest.raises(FileNotFoundError, match=r"not found.*nope\.ttf"):
        syn.make_font_digits(3, 0, fonts=[tmp_path / "nope.ttf"])


def test_font_digits_without_pillow_name_the_images_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"hdrnn\[images\]"):
        syn.make_font_digits(3, 0)


# ---------------------------------------------------------------- photos


def _look(**fields):
    quiet = syn.random_look(0, preset="scan")
    plain = dict(gradient=0.0, vignette=0.0, shadow=0.0, blur=0.0, noise=0.0, jpeg_quality=None)
    plain.update(specks=0.0, rule_spacing=0.0, frame=False, ink_grain=0.0, paper=(0.9, 0.9, 0.9))
    return dataclasses.replace(quiet, **{**plain, **fields})


def _a_one(side=60):
    ink = np.zeros((side, side))
    ink[side // 5 : -side // 5, side // 2 - 2 : side // 2 + 2] = 1.0
    return ink


@pytest.mark.parametrize("preset", syn.PHOTO_PRESETS)
def test_every_preset_gives_a_uint8_photo_with_the_ink_visible(preset):
    pytest.importorskip("PIL", reason="the presets' JPEG step needs Pillow")
    ink = _a_one()
    grey = syn.photograph(ink, 0, preset=preset)
    colour = syn.photograph(ink, 0, preset=preset, rgb=True)
    assert grey.shape == ink.shape and grey.dtype == np.uint8
    assert colour.shape == (*ink.shape, 3) and colour.dtype == np.uint8
    contrast = abs(float(np.median(grey[ink > 0.5])) - float(np.median(grey[ink == 0])))
    assert contrast > 25  # a person sees the stroke
    np.testing.assert_array_equal(grey, syn.photograph(ink, 0, preset=preset))


def test_chalkboard_inverts_the_contrast():
    pytest.importorskip("PIL", reason="the presets' JPEG step needs Pillow")
    ink = _a_one()
    board = syn.photograph(ink, 1, preset="chalkboard")
    paper = syn.photograph(ink, 1, preset="scan")
    assert np.median(board[ink > 0.5]) > np.median(board[ink == 0])
    assert np.median(paper[ink > 0.5]) < np.median(paper[ink == 0])


def test_shading_makes_the_paper_level_vary_across_the_image():
    blank = np.zeros((80, 80))
    even = syn.photograph(blank, 0, look=_look()).astype(float)
    shaded = syn.photograph(blank, 0, look=_look(gradient=0.4, gradient_angle=0.0)).astype(float)
    shadow = syn.photograph(
        blank, 0, look=_look(shadow=0.4, shadow_angle=90.0, shadow_position=0.0)
    ).astype(float)
    assert abs(even[:, :10].mean() - even[:, -10:].mean()) < 5  # only the paper's fibres
    assert (
        shaded[:, :10].mean() - shaded[:, -10:].mean() > 0.3 * 230
    )  # light falls off to the right
    assert shadow[:10].mean() - shadow[-10:].mean() > 0.3 * 230  # the shadow is at the bottom


def test_ink_colour_and_paper_level_are_what_the_look_says():
    ink = _a_one()
    photo = syn.photograph(ink, 0, look=_look(paper=(0.5, 0.5, 0.5), ink=(0.1, 0.2, 0.6)), rgb=True)
    assert abs(int(photo[2, 2, 0]) - 128) <= 2  # paper at half level
    stroke = photo[30, 30].astype(int)
    assert stroke[2] > stroke[0] + 50  # blue ink


def test_noise_blur_specks_lines_and_frame_change_the_photo():
    blank, ink = np.zeros((60, 60)), _a_one()
    assert np.std(syn.photograph(blank, 0, look=_look(noise=0.05)).astype(float)) > 8
    sharp = syn.photograph(ink, 0, look=_look()).astype(float)
    blurred = syn.photograph(ink, 0, look=_look(blur=2.0)).astype(float)
    assert np.abs(np.diff(blurred, axis=1)).max() < 0.6 * np.abs(np.diff(sharp, axis=1)).max()
    specks = syn.photograph(blank, 0, look=_look(specks=30.0))
    assert (specks < 150).sum() > 5
    ruled = syn.photograph(blank, 0, look=_look(rule_spacing=0.25)).astype(float)
    row_levels = ruled.mean(axis=1)
    assert (row_levels < row_levels.max() - 20).sum() >= 3  # about four lines
    framed = syn.photograph(ink, 0, look=_look(frame=True))
    outside = np.ones(ink.shape, dtype=bool)
    outside[10:50, 25:35] = False  # around the stroke
    assert (framed[outside] < 100).sum() > 60  # the four sides of a box


def test_jpeg_leaves_block_artefacts():
    pytest.importorskip("PIL", reason="JPEG needs Pillow")
    ink = _a_one()
    clean = syn.photograph(ink, 0, look=_look())
    saved = syn.photograph(ink, 0, look=_look(jpeg_quality=20))
    assert not np.array_equal(clean, saved)
    assert np.abs(clean.astype(int) - saved.astype(int)).max() > 5


def test_jpeg_without_pillow_names_the_images_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"hdrnn\[images\].*jpeg_quality=None"):
        syn.photograph(_a_one(), 0, look=_look(jpeg_quality=80))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(preset="polaroid"), "preset must be one of 'scan'"),
        (dict(preset="scan", look=_look()), "Pass either preset= or look="),
    ],
)
def test_photo_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        syn.photograph(_a_one(), 0, **kwargs)


def test_photo_of_a_non_image_is_refused():
    with pytest.raises(ValueError, match="ink must be a 2-D image"):
        syn.photograph(np.zeros((3, 4, 5)), 0)


# ---------------------------------------------------------------- numbers


def _one_stroke_pool(n=40, seed=0):
    """Digits drawn in one stroke with a felt tip: each is one connected piece of ink."""
    rng = np.random.default_rng(seed)
    digits = [(0, "oval"), (2, "plain"), (3, "round"), (6, "curved"), (8, "one_stroke")]
    images, labels = [], []
    for k in range(n):
        digit, style = digits[k % len(digits)]
        writer = syn.random_writer(rng, pen="felt_tip")
        images.append(syn.draw_digit(digit, rng, size=40, style=style, writer=writer))
        labels.append(digit)
    assert all(_components(image, EIGHT_CONNECTED) == 1 for image in images)
    return images, labels


def _pairs(spacing, seeds=range(12)):
    images, labels = _one_stroke_pool()
    for seed in seeds:
        picks = [seed % len(images), (seed * 7 + 3) % len(images)]
        yield syn.compose_number(
            [images[i] for i in picks], [labels[i] for i in picks], seed, spacing=spacing
        )


def test_apart_digits_leave_a_quarter_of_a_digit_between_their_boxes():
    for image, truth in _pairs("apart"):
        (first, second) = truth.boxes
        height = np.mean([first[3] - first[1], second[3] - second[1]])
        assert second[0] - first[2] >= 0.2 * height
        assert _components(image, EIGHT_CONNECTED) == 2


def test_close_digits_are_near_but_their_ink_does_not_meet():
    for image, truth in _pairs("close"):
        assert _components(image, EIGHT_CONNECTED) == 2  # not even diagonal neighbours
        first = truth.boxes[0]
        # The nearest ink is at most a few pixels apart: dilate one, it reaches the other.
        labelled, _ = ndimage.label(image >= INK_LEVEL, structure=EIGHT_CONNECTED)
        one = labelled == labelled[ink_mask_point(image, first)]
        reach = ndimage.binary_dilation(one, EIGHT_CONNECTED, iterations=5)
        assert (reach & (image >= INK_LEVEL) & ~one).any()


def ink_mask_point(image, box):
    """A pixel of ink inside ``box``'s leftmost ink column."""
    x0, y0, _, y1 = box
    rows = np.flatnonzero(image[y0:y1, x0] >= INK_LEVEL)
    return y0 + rows[0], x0


def test_touching_digits_share_ink_without_crossing_much():
    for image, truth in _pairs("touching"):
        assert _components(image) == 1  # one piece of ink, even 4-connected
        (first, second) = truth.boxes
        overlap = first[2] - second[0]
        assert overlap < 0.5 * min(first[2] - first[0], second[2] - second[0])


def test_overlapping_digits_boxes_overlap_by_a_fraction():
    for _, truth in _pairs("overlapping"):
        (first, second) = truth.boxes
        narrower = min(first[2] - first[0], second[2] - second[0])
        assert 0.1 * narrower <= first[2] - second[0] <= 0.5 * narrower


@pytest.mark.parametrize("spacing", syn.SPACINGS)
def test_boxes_hold_all_the_ink_and_are_tight(spacing):
    images, labels = syn.make_stroke_digits(30, random_state=1, size=32)
    numbers, truths = syn.make_numbers(images, labels, 6, 0, lengths=(2, 6), spacing=spacing)
    for image, truth in zip(numbers, truths):
        assert image.dtype == np.float32 and 0 <= image.min() and image.max() <= 1
        assert truth.text == "".join(map(str, truth.labels)) and truth.spacing == spacing
        covered = np.zeros(image.shape, dtype=bool)
        for x0, y0, x1, y1 in truth.boxes:
            assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
            covered[y0:y1, x0:x1] = True
            box = image[y0:y1, x0:x1] >= INK_LEVEL
            assert box[0].any() and box[-1].any() and box[:, 0].any() and box[:, -1].any()
        assert not (image[~covered] >= INK_LEVEL).any()
        lefts = truth.boxes[:, 0]
        assert (np.diff(lefts) > 0).all()  # reading order, left to right


@pytest.mark.parametrize("spacing", syn.SPACINGS)
def test_owners_say_whose_ink_each_pixel_is(spacing):
    images, labels = syn.make_stroke_digits(30, random_state=4, size=32)
    numbers, truths = syn.make_numbers(images, labels, 6, 0, lengths=(2, 6), spacing=spacing)
    for image, truth in zip(numbers, truths):
        owners = truth.owners
        assert owners.shape == image.shape and owners.dtype == np.int16
        np.testing.assert_array_equal(owners >= 0, image > 0)  # paper is -1, ink is owned
        for index, (x0, y0, x1, y1) in enumerate(truth.boxes):
            mine = np.argwhere(owners == index)  # (n, 2) rows and columns
            # The box holds the ink of at least INK_LEVEL; fainter edges may reach past it.
            assert len(mine) and (mine.min(axis=0) >= (y0 - 2, x0 - 2)).all()
            assert (mine.max(axis=0) < (y1 + 2, x1 + 2)).all()
        assert set(np.unique(owners)) <= set(range(-1, len(truth.labels)))


def test_numbers_on_several_lines_read_top_to_bottom():
    images, labels = syn.make_stroke_digits(20, random_state=2)
    image, truth = syn.compose_number(images[:7], labels[:7], 0, spacing="close", lines=2)
    assert truth.text == "".join(map(str, labels[:4])) + "\n" + "".join(map(str, labels[4:7]))
    assert truth.lines == (0, 0, 0, 0, 1, 1, 1)
    first, second = truth.boxes[:4], truth.boxes[4:]
    assert second[:, 1].min() > first[:, 3].max()  # the second line is below the first
    assert image.shape[0] > 2 * (first[:, 3] - first[:, 1]).max()


def test_digit_height_sets_the_size_within_ten_percent():
    images, labels = syn.make_stroke_digits(10, random_state=2, size=28)
    _, truth = syn.compose_number(images, labels, 0, digit_height=50)
    heights = truth.boxes[:, 3] - truth.boxes[:, 1]
    assert 0.85 * 50 <= heights.min() and heights.max() <= 1.12 * 50 + 2


def test_make_numbers_balances_spacings_and_respects_lengths_and_groups():
    images = np.zeros((20, 20, 20), dtype=np.float32)
    images[:, 4:16, 8:12] = np.repeat([0.5, 1.0], 10)[:, None, None]  # two writers' inks
    labels = np.ones(20, dtype=int)
    groups = np.repeat(["light", "dark"], 10)
    numbers, truths = syn.make_numbers(images, labels, 12, 0, lengths=(3, 5), groups=groups)
    assert sorted(truth.spacing for truth in truths) == sorted(list(syn.SPACINGS) * 3)
    assert all(3 <= len(truth.labels) <= 5 for truth in truths)
    for image, truth in zip(numbers, truths):
        levels = {round(float(image[y0:y1, x0:x1].max()), 1) for x0, y0, x1, y1 in truth.boxes}
        assert len(levels) == 1  # one writer per number
    again = syn.make_numbers(images, labels, 12, 0, lengths=(3, 5), groups=groups)
    assert [t.text for t in again[1]] == [t.text for t in truths]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda im, lb: syn.compose_number(im, lb, 0, spacing="far"), "spacing must be one of"),
        (lambda im, lb: syn.compose_number(im, lb[:2], 0), "one label each"),
        (lambda im, lb: syn.compose_number([im[0] * 0], lb[:1], 0), "with some ink"),
        (lambda im, lb: syn.compose_number(im, [11, 1, 2], 0), "labels must be digits 0-9"),
        (lambda im, lb: syn.compose_number(im * 255, lb, 0), "Divide 0-255 pixels"),
        (lambda im, lb: syn.compose_number(im, lb, 0, lines=4), "lines must be an integer"),
        (lambda im, lb: syn.make_numbers(im, lb[:2], 3), "same non-zero length"),
        (lambda im, lb: syn.make_numbers(im, lb, 3, groups=[0]), "groups must name the writer"),
        (lambda im, lb: syn.make_numbers(im, lb, 3, lengths=(0, 3)), "lengths must be"),
    ],
)
def test_number_errors_say_what_was_expected(call, match):
    images, labels = syn.make_stroke_digits(3, random_state=0)
    with pytest.raises(ValueError, match=match):
        call(images, labels)


# ---------------------------------------------------------------- numbers by other writers


def _spy_on_groups(monkeypatch):
    """Record the ``groups`` that make_writer_numbers hands to make_numbers."""
    seen = []
    real = syn.make_numbers

    def spy(*args, groups=None, **kwargs):
        seen.append(np.asarray(groups))
        return real(*args, groups=groups, **kwargs)

    monkeypatch.setattr(syn, "make_numbers", spy)
    return seen


def test_writer_numbers_are_reproducible_and_shaped_as_asked(monkeypatch):
    seen = _spy_on_groups(monkeypatch)
    numbers, truths = syn.make_writer_numbers(8, 3, lengths=(3, 5), spacing="touching")
    again, _ = syn.make_writer_numbers(8, 3, lengths=(3, 5), spacing="touching")
    assert len(numbers) == len(truths) == 8
    assert all(np.array_equal(a, b) for a, b in zip(numbers, again))
    assert {truth.spacing for truth in truths} == {"touching"}
    assert all(3 <= len(truth.text) <= 5 and truth.text.isdigit() for truth in truths)
    assert all(image.dtype == np.float32 and image.max() <= 1.0 for image in numbers)
    # one stroke writer per number: eight writers of 30 digits each in the pool
    assert sorted(np.unique(seen[0], return_counts=True)[0].tolist()) == list(range(8))
    assert len(seen[0]) == 8 * 30


def test_writer_numbers_have_digits_of_mnist_size():
    _, truths = syn.make_writer_numbers(6, 0, spacing="apart")
    heights = np.concatenate([truth.boxes[:, 3] - truth.boxes[:, 1] for truth in truths])
    assert 12 <= np.median(heights) <= 26  # MNIST's digits: 20 pixels in a 28-pixel square


def test_writer_numbers_in_fonts_take_one_font_per_number(monkeypatch):
    pytest.importorskip("PIL")
    if not syn.find_handwriting_fonts():
        pytest.skip("no handwriting font installed")
    seen = _spy_on_groups(monkeypatch)
    numbers, truths = syn.make_writer_numbers(5, 0, writers="fonts", spacing=["close", "apart"])
    assert len(numbers) == 5 and {t.spacing for t in truths} == {"close", "apart"}
    assert set(seen[0]) <= {path.name for path in syn.find_handwriting_fonts()}
    assert len(seen[0]) == 200  # at least 200 digits, so that every font has some


def test_writer_numbers_refuse_an_unknown_writer_kind():
    with pytest.raises(ValueError, match=r"writers must be one of 'strokes', 'fonts'; got 'typed'"):
        syn.make_writer_numbers(3, 0, writers="typed")


def test_ci_installs_exactly_the_handwriting_font_packages():
    import re
    from pathlib import Path

    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    listed = re.search(r'FONT_PACKAGES="([^"]+)"', ci).group(1).split()
    assert sorted(listed) == sorted(syn.HANDWRITING_FONT_PACKAGES)
