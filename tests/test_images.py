"""Image shapes and bounded image reading (hdrnn._utils.images)."""

import io
import re
import threading
import warnings

import numpy as np
import pytest

from hdrnn._utils import images
from hdrnn._utils.images import block_mean, default_image_shape, image_shape, read_image


def test_default_image_shape_is_square_or_none():
    assert default_image_shape(784) == (28, 28)
    assert default_image_shape(64) == (8, 8)
    assert default_image_shape(63) is None


def test_image_shape_takes_the_given_shape_or_a_square():
    assert image_shape(784) == (28, 28)
    assert image_shape(12, (3, 4)) == (3, 4)
    with pytest.raises(ValueError, match="63 features are not a square image"):
        image_shape(63)
    with pytest.raises(ValueError, match=r"image_shape=\(3, 3\) does not match"):
        image_shape(12, (3, 3))


def test_block_mean_shrinks_by_a_whole_factor():
    gray = np.arange(25, dtype=float).reshape(5, 5)
    np.testing.assert_array_equal(block_mean(gray, 1), gray)
    shrunk = block_mean(gray, 2)
    assert shrunk.shape == (3, 3)
    assert shrunk[0, 0] == (0 + 1 + 5 + 6) / 4
    assert shrunk[2, 2] == 24  # the corner, repeated to fill its block
    assert block_mean(gray, 2, mode="constant")[2, 2] == 24 / 4  # ink beside paper at 0


def test_large_arrays_are_shrunk_strip_by_strip_as_they_are_read(monkeypatch):
    monkeypatch.setattr(images, "MAX_DECODED_SIDE", 100)
    monkeypatch.setattr(images, "_STRIP_PIXELS", 2000)  # many strips
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (250, 90, 4), dtype=np.uint8)
    gray, size = read_image(rgba)
    assert size == (90, 250) and gray.shape == (84, 30)  # shrunk 3 times
    whole = images._gray_values(rgba, 255.0)  # the whole image converted at once
    np.testing.assert_allclose(gray, block_mean(whole, 3), atol=1e-12)


def test_read_image_gives_the_size_as_displayed():
    Image = pytest.importorskip("PIL.Image")
    stored = Image.new("L", (60, 40), 255)  # stored sideways: 60 wide, 40 tall
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned by 90 degrees
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", exif=exif)
    gray, size = read_image(io.BytesIO(buffer.getvalue()))
    assert size == (40, 60) and gray.shape == (60, 40)


def test_a_large_16_bit_scan_keeps_its_levels_when_shrunk(monkeypatch, tmp_path):
    # Shrinking went through RGBA, which clips every 16-bit level to 255: a scan
    # over MAX_DECODED_SIDE pixels read as blank paper.
    Image = pytest.importorskip("PIL.Image")
    monkeypatch.setattr(images, "MAX_DECODED_SIDE", 100)
    levels = np.full((60, 300), 50_000, np.uint16)
    levels[20:40, 100:110] = 20_000  # ink
    path = tmp_path / "scan.png"
    Image.fromarray(levels).save(path)
    gray, size = read_image(path)
    assert size == (300, 60) and gray.shape == (20, 100)  # shrunk 3 times
    assert gray.max() == pytest.approx(50_000 / 65535, abs=1e-4)
    assert gray.min() == pytest.approx(20_000 / 65535, abs=1e-4)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_waiting_for_it(tmp_path):
    pytest.importorskip("PIL.Image")
    import os

    pipe = tmp_path / "digit.png"
    os.mkfifo(pipe)  # opened for reading, it would wait for a writer forever

    def release_a_waiting_reader():  # so that a reader that waits fails, not hangs
        try:
            os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader waits: as it should be
            pass

    release = threading.Timer(5, release_a_waiting_reader)
    release.start()
    try:
        with pytest.raises(ValueError, match="not a regular file"):
            read_image(pipe)
    finally:
        release.cancel()


def test_a_file_too_thin_once_shrunk_names_its_own_size(tmp_path):
    # A 3000x2 file was refused naming its shrunk size, (1500, 1).
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "thin.png"
    Image.fromarray(np.full((3000, 2), 255, np.uint8)).save(path)
    with pytest.raises(ValueError, match=re.escape("too small to hold a digit: (3000, 2); shrunk")):
        read_image(path)


@pytest.mark.parametrize("shape", [(20000, 8), (8, 20000), (20000, 2)])
def test_a_thin_strip_array_reads_as_blank_without_warnings(shape):
    # A tall strip is shrunk to one column, whose paper noise was the median of no
    # differences: "Mean of empty slice" and a NaN noise.
    from hdrnn.reading import read_number

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_number(np.full(shape, 200, np.uint8), strips=False).text == ""


def test_wide_integers_and_nested_lists_hold_8_bit_levels():
    # An int64 array of 0-255 (what np.array makes of Python ints) was divided by
    # 2**63 - 1 and read as blank paper; a list of lists raised AttributeError.
    levels = np.full((40, 40), 255, np.uint8)
    levels[10:30, 15:20] = 0
    gray, _ = read_image(levels)
    for given in (levels.astype(np.int64), levels.astype(np.uint32), levels.tolist()):
        np.testing.assert_array_equal(read_image(given)[0], gray)
    sixteen = levels.astype(np.int32) * 257  # 16-bit levels in a wide integer
    np.testing.assert_allclose(read_image(sixteen)[0], gray)


@pytest.mark.parametrize("shape", [(), (10,)])
def test_arrays_of_fewer_than_two_dimensions_are_named(shape):
    with pytest.raises(ValueError, match=re.escape(f"got {shape}")):
        read_image(np.zeros(shape, np.uint8))
