"""Reading ruled grids: hdrnn.reading.read_grid and ``hdrnn read --grid``."""

import json

import numpy as np
import pytest
from scipy import ndimage

from hdrnn import load_mnist
from hdrnn.cli import main
from hdrnn.datasets import synthetic
from hdrnn.pretrained import load_pretrained
from hdrnn.reading import EmptyCell, GridReading, read_grid, read_number

# A Sudoku-like puzzle: digits where given, -1 for an empty cell.
PUZZLE = np.array(
    [
        [5, 3, -1, -1, 7, -1, -1, -1, -1],
        [6, -1, -1, 1, 9, 5, -1, -1, -1],
        [-1, 9, 8, -1, -1, -1, -1, 6, -1],
        [8, -1, -1, -1, 6, -1, -1, -1, 3],
        [4, -1, -1, 8, -1, 3, -1, -1, 1],
        [7, -1, -1, -1, 2, -1, -1, -1, 6],
        [-1, 6, -1, -1, -1, -1, 2, 8, -1],
        [-1, -1, -1, 4, 1, 9, -1, -1, 5],
        [-1, -1, -1, -1, 8, -1, -1, 7, 9],
    ]
)
CELL, EDGE = 44, 20  # pixels per cell; paper around the grid


@pytest.fixture(scope="module")
def model():
    return load_pretrained()


def _sure(model, images, labels):
    """Per label, the digits the model reads surely: these tests test the grid, not the model."""
    proba = model.predict_proba(images.reshape(len(images), -1))
    sure = (proba.argmax(axis=1) == labels) & (proba.max(axis=1) > 0.99)
    return {d: images[sure & (labels == d)] for d in range(10)}


@pytest.fixture(scope="module")
def stroke_digits(model):
    """Digits drawn as pen strokes by writers who are not in MNIST (no MNIST needed)."""
    return _sure(model, *synthetic.make_stroke_digits(300, random_state=0))


def _text(puzzle):
    return "\n".join("".join("." if d < 0 else str(d) for d in row) for row in puzzle)


def _grid(digits, puzzle=PUZZLE, thick=3, thin=1, inner=1.0):
    """``(ink, boxes)``: a ruled grid (thick lines every third) with ``digits[d]`` written in
    the cells of ``puzzle``, and each written digit's box; inner lines drawn at ``inner`` ink."""
    rows, cols = puzzle.shape
    ink = np.zeros((rows * CELL + 2 * EDGE, cols * CELL + 2 * EDGE), dtype=np.float32)
    for k in range(rows + 1):
        width, level = (thick, 1.0) if k in (0, rows) or k % 3 == 0 else (thin, inner)
        top = EDGE + k * CELL - width // 2
        ink[top : top + width, EDGE - thick : EDGE + cols * CELL + thick] = level
    for k in range(cols + 1):
        width, level = (thick, 1.0) if k in (0, cols) or k % 3 == 0 else (thin, inner)
        left = EDGE + k * CELL - width // 2
        ink[EDGE - thick : EDGE + rows * CELL + thick, left : left + width] = level
    boxes, used = {}, dict.fromkeys(range(10), 0)
    for (r, c), d in np.ndenumerate(puzzle):
        if d < 0:
            continue
        digit = digits[d][used[d] % len(digits[d])]
        used[d] += 1
        y, x = EDGE + r * CELL + (CELL - 28) // 2, EDGE + c * CELL + (CELL - 28) // 2
        ink[y : y + 28, x : x + 28] = np.maximum(ink[y : y + 28, x : x + 28], digit)
        rows_in, cols_in = np.nonzero(digit > 0.25)
        boxes[r, c] = (x + cols_in.min(), y + rows_in.min(), x + cols_in.max(), y + rows_in.max())
    return ink, boxes


def _paper(ink):
    return (255 - 255 * ink).astype(np.uint8)


def test_reads_a_sudoku_of_stroke_digits(model, stroke_digits):
    ink, boxes = _grid(stroke_digits)
    reading = read_grid(_paper(ink), 9, 9, model)
    assert isinstance(reading, GridReading)
    assert reading.text == _text(PUZZLE)
    assert reading.found_by == "lines" and (reading.rows, reading.cols) == (9, 9)
    assert [len(line.digits) for line in reading.lines] == [9] * 9
    assert reading.candidates == int((PUZZLE >= 0).sum())  # one crop per written cell
    for (r, c), (x0, y0, x1, y1) in boxes.items():
        digit = reading.lines[r].digits[c]
        assert digit.digit == PUZZLE[r, c] and digit.vouched
        assert np.abs(np.subtract(digit.box, (x0, y0, x1 + 1, y1 + 1))).max() <= 2
    side = 9 * CELL
    assert np.abs(np.subtract(reading.box, (EDGE, EDGE, EDGE + side, EDGE + side))).max() <= 2


def test_empty_cells_read_as_dots(model, stroke_digits):
    ink, _ = _grid(stroke_digits, puzzle=np.full((9, 9), -1))
    reading = read_grid(_paper(ink), 9, 9, model)
    assert reading.text == "\n".join(["........."] * 9)
    assert reading.candidates == 0 and reading.confidence == 1.0
    cell = reading.lines[4].digits[4]
    assert isinstance(cell, EmptyCell) and cell.digit is None and cell.candidates == ()
    x0, y0, x1, y1 = cell.box  # the inside of the cell, within its lines
    assert (
        EDGE + 4 * CELL < x0 < x1 < EDGE + 5 * CELL and EDGE + 4 * CELL < y0 < y1 < EDGE + 5 * CELL
    )


def test_a_speck_in_an_empty_cell_between_thick_lines_is_no_digit(model, stroke_digits):
    # Thick lines and the margins leave about 60% of a cell to read; a dot of 7
    # pixels (a sixth of the cell) spans a quarter of that, but not of the cell.
    ink, _ = _grid(stroke_digits, thick=6, thin=3)
    for r, c in [(0, 2), (4, 4), (8, 0)]:
        assert PUZZLE[r, c] < 0
        y, x = EDGE + r * CELL + 18, EDGE + c * CELL + 18
        ink[y : y + 7, x : x + 7] = 1.0
    assert read_grid(_paper(ink), 9, 9, model).text == _text(PUZZLE)


@pytest.mark.parametrize("thick, thin", [(1, 1), (3, 1), (6, 3)])
def test_thick_or_thin_lines(model, stroke_digits, thick, thin):
    ink, _ = _grid(stroke_digits, thick=thick, thin=thin)
    assert read_grid(_paper(ink), 9, 9, model).text == _text(PUZZLE)


@pytest.mark.parametrize("angle", [-2, 2])
def test_a_photographed_grid_a_little_rotated(model, stroke_digits, angle):
    ink, _ = _grid(stroke_digits)
    photo = synthetic.photograph(ndimage.rotate(ink, angle, order=1), 3, preset="phone")
    reading = read_grid(photo, 9, 9, model)
    assert reading.found_by == "lines"
    truth = _text(PUZZLE)
    assert [c in ".\n" for c in reading.text] == [c in ".\n" for c in truth]  # every cell
    # The photo's noise and blur make a few digits harder for the model: most are right.
    right = sum(a == b for a, b in zip(reading.text, truth) if b not in ".\n")
    assert right >= 0.9 * (PUZZLE >= 0).sum()


def test_chalk_on_a_board(model, stroke_digits):
    ink, _ = _grid(stroke_digits)
    board = synthetic.photograph(ink, 0, preset="chalkboard")  # light lines and digits on dark
    assert read_grid(board, 9, 9, model).text == _text(PUZZLE)


def test_faint_inner_lines_fall_back_to_equal_division(model, stroke_digits):
    ink, _ = _grid(stroke_digits, inner=0.0)  # only the thick lines: every third one
    reading = read_grid(_paper(ink), 9, 9, model)
    assert reading.found_by == "division"
    assert reading.text == _text(PUZZLE)
    assert reading.as_dict()["grid"]["found_by"] == "division"


def test_form_boxes_in_one_row(model, stroke_digits):
    puzzle = np.array([[2, 0, 2, 6, -1, 7]])
    ink, _ = _grid(stroke_digits, puzzle=puzzle)
    reading = read_grid(_paper(ink), 1, 6, model)
    assert reading.text == "2026.7" and reading.found_by == "lines"


def test_digits_below_min_confidence_read_as_question_marks(model, stroke_digits):
    puzzle = np.array([[3, -1, 5]])
    ink, _ = _grid(stroke_digits, puzzle=puzzle)
    reading = read_grid(_paper(ink), 1, 3, model, min_confidence=1.0)
    assert reading.text == "?.?"
    assert [d.digit for d in reading.digits] == [3, None, 5]  # still read, not vouched


def test_a_large_image_is_read_at_a_bounded_size(model, stroke_digits):
    ink, boxes = _grid(stroke_digits, puzzle=PUZZLE[:3, :3])
    large = np.kron(_paper(ink), np.ones((12, 12), dtype=np.uint8))  # 1824 x 1824 -> 21 MB
    large = np.pad(large, ((0, 1200), (0, 2400)), constant_values=255)
    reading = read_grid(large, 3, 3, model)
    assert reading.text == _text(PUZZLE[:3, :3])
    x0, y0, x1, y1 = boxes[0, 0]  # boxes are in the large image's pixels
    assert (
        np.abs(np.subtract(reading.digits[0].box, (12 * x0, 12 * y0, 12 * x1, 12 * y1))).max() <= 24
    )


def test_mnist_test_digits_in_a_grid(model, mnist_dir):
    mnist = load_mnist(source=mnist_dir, download_if_missing=False)
    n = mnist.n_train
    test = _sure(model, mnist.data[n : n + 2000].reshape(-1, 28, 28), mnist.target[n : n + 2000])
    ink, _ = _grid(test)
    assert read_grid(synthetic.photograph(ink, 1, preset="scan"), 9, 9, model).text == _text(PUZZLE)


def test_no_grid_is_a_clear_error(model, stroke_digits):
    number, _ = synthetic.compose_number([stroke_digits[d][0] for d in (2, 0)], [2, 0], 0)
    with pytest.raises(ValueError, match="No ruled grid found on the image"):
        read_grid(_paper(number), 9, 9, model)
    with pytest.raises(ValueError, match="found 0 horizontal and 0 vertical"):
        read_grid(np.full((100, 100), 255, dtype=np.uint8), 2, 2, model)
    assert read_number(_paper(number), model).text == "20"  # what it should be read with


@pytest.mark.parametrize("rows, cols", [(0, 9), (9, 31), (2.5, 3), (True, 3), ("9", 9)])
def test_grid_size_out_of_range(model, rows, cols):
    with pytest.raises(ValueError, match=r"must be a whole number of cells from 1 to 30; got"):
        read_grid(np.zeros((50, 50)), rows, cols, model)


def test_bad_min_confidence_or_model(model):
    with pytest.raises(
        ValueError, match=r"min_confidence must be a probability in \[0, 1\]; got 2"
    ):
        read_grid(np.zeros((50, 50)), 2, 2, model, min_confidence=2)
    from sklearn.dummy import DummyClassifier

    flat = DummyClassifier().fit(np.zeros((2, 10)), [0, 1])
    with pytest.raises(ValueError, match="takes 10 features, not a square image"):
        read_grid(np.zeros((50, 50)), 2, 2, flat)


def test_a_grid_of_another_size_is_named(model, stroke_digits):
    ink, _ = _grid(stroke_digits)
    with pytest.raises(ValueError, match=r"The grid found has 9 rows of cells; got rows=3"):
        read_grid(_paper(ink), 3, 9, model)


def test_cells_too_small_to_read(model):
    tiny = np.full((61, 61), 255, dtype=np.uint8)
    tiny[3:58:6, 3:58] = tiny[3:58, 3:58:6] = 0  # 9x9 cells of 6 pixels
    with pytest.raises(ValueError, match="cells are too small to read"):
        read_grid(tiny, 9, 9, model)


def test_cli_grid_json_and_show(stroke_digits, tmp_path, capsys):
    from PIL import Image

    ink, _ = _grid(stroke_digits)
    png, shown = tmp_path / "sudoku.png", tmp_path / "shown.png"
    Image.fromarray(_paper(ink)).save(png)
    assert main(["read", "--grid", "9x9", "--json", str(png), "--show", str(shown)]) == 0
    [found] = json.loads(capsys.readouterr().out)
    assert found["file"] == str(png) and found["text"] == _text(PUZZLE)
    assert found["lines"] == _text(PUZZLE).splitlines()
    assert found["grid"]["rows"] == 9 and found["grid"]["found_by"] == "lines"
    assert len(found["grid"]["box"]) == 4 and len(found["digits"]) == 81
    first, second = found["digits"][:2]  # row 0 is "53..7....": a 5, a 3 and empty cells
    assert first["digit"] == 5 and len(first["box"]) == 4 and first["candidates"]
    assert second["digit"] == 3 and second["probability"] == second["candidates"][0]["probability"]
    assert found["digits"][2] == {**found["digits"][2], "digit": None, "empty": True}
    picture = np.asarray(Image.open(shown))
    assert picture.shape[2] == 3 and (picture[..., 1] > picture[..., 0] + 100).any()


def test_cli_grid_text_and_usage_errors(stroke_digits, tmp_path, capsys):
    from PIL import Image

    ink, _ = _grid(stroke_digits, puzzle=np.array([[1, -1, 4]]))
    png = tmp_path / "boxes.png"
    Image.fromarray(_paper(ink)).save(png)
    assert main(["read", "--grid", "1x3", str(png)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{png}: 1.4 (confidence ") and out.endswith(")\n")
    assert main(["read", "--grid", "9", str(png)]) == 2  # a usage error
    assert "expected the grid's size as ROWSxCOLS, such as 9x9; got '9'" in capsys.readouterr().err
    assert main(["read", "--grid", "9x9", "--digits", "3", str(png)]) == 2
    assert "not allowed with argument --grid" in capsys.readouterr().err
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((60, 60), 255, dtype=np.uint8)).save(blank)
    assert main(["read", "--grid", "1x3", str(png), str(blank)]) == 1  # as predict: per file
    captured = capsys.readouterr()
    assert f"hdrnn: {blank}: No ruled grid found" in captured.err
    assert captured.out.startswith(f"{png}: ") and captured.out.count("\n") == 1
