"""``hdrnn read``: read the handwritten number (or numbers, one per line) in each image.

With ``--grid ROWSxCOLS`` each image is a ruled grid (a Sudoku, a form's
boxes) read cell by cell: one line per row, ``.`` for an empty cell.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

from hdrnn._utils.images import read_image
from hdrnn.cli._common import add_default_model_argument, load_model_or_shipped
from hdrnn.cli._output import percent, printable, share
from hdrnn.reading import read_grid, read_number


def register(commands):
    """Add the ``read`` command to the subparsers ``commands``."""
    read = commands.add_parser("read", help="read handwritten numbers in image files")
    add_default_model_argument(read)
    read.add_argument("images", nargs="+", metavar="IMAGE", type=Path)
    read.add_argument(
        "--min-confidence",
        type=_probability,
        default=0.5,
        help="digits the model is less sure of read as '?' (default: 0.5)",
    )
    layout = read.add_mutually_exclusive_group()
    layout.add_argument("--digits", type=_positive, help="each line holds exactly N digits")
    layout.add_argument(
        "--grid",
        type=_grid_size,
        metavar="ROWSxCOLS",
        help="read a ruled grid of cells (e.g. 9x9 for a Sudoku); empty cells read as '.'",
    )
    read.add_argument(
        "--no-verifier",
        action="store_true",
        help="cut numbers by the model's probabilities alone, without the shipped verifier "
        "that tells one whole digit from a part of one or pieces of two",
    )
    read.add_argument(
        "--no-strips",
        action="store_true",
        help="cut every stroke, without the shipped strip reader that reads a stroke of "
        "run-together digits through a sliding window",
    )
    read.add_argument("--json", action="store_true", help="machine-readable output")
    read.add_argument(
        "--show", type=Path, metavar="OUT.png", help="draw each digit's box and reading (Pillow)"
    )
    read.set_defaults(run=run)


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a probability such as 0.5; got {text!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1]; got {value}")
    return value


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return int(text)


def _grid_size(text):
    match = re.fullmatch(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected the grid's size as ROWSxCOLS, such as 9x9; got {text!r}"
        )
    rows, cols = (int(side) for side in match.groups())
    if min(rows, cols) < 1:
        raise argparse.ArgumentTypeError(f"a grid has at least one row and column; got {text!r}")
    return rows, cols  # read_grid says how large a grid may be


def _read(path, model, args):
    """The reading of one image: a grid's cells with --grid, else its number(s)."""
    if args.grid is not None:
        return read_grid(path, *args.grid, model, min_confidence=args.min_confidence)
    return read_number(
        path,
        model,
        min_confidence=args.min_confidence,
        digits=args.digits,
        verifier=False if args.no_verifier else None,
        strips=False if args.no_strips else None,
    )


def run(args):
    if args.show is not None:
        _check_show(args.show, args.images)
    model, _, _ = load_model_or_shipped(args.model, args.trust_pickle)
    results, failures = [], 0
    for index, path in enumerate(args.images):
        try:
            reading = _read(path, model, args)
            if args.show is not None:
                show(path, reading, _show_path(args.show, path, index, len(args.images)))
        except ImportError:
            raise  # Pillow is missing: no file can be read or drawn
        except Exception as error:
            failures += 1
            message = (str(error).splitlines() or [type(error).__name__])[0]
            print(f"hdrnn: {printable(path)}: {printable(message)}", file=sys.stderr)
            results.append({"file": str(path), "error": message})
            continue
        results.append({"file": str(path), **reading.as_dict()})
        if not args.json:
            text = reading.text.replace("\n", " / ")
            shown = printable(text, 400) or "(no digits)"
            print(f"{printable(path)}: {shown} (confidence {share(reading.confidence)})")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failures else 0


def _check_show(out, images):
    """Refuse a ``--show`` path that cannot be written, before any image is read."""
    if not out.parent.is_dir():
        raise ValueError(
            f"--show {out}: the folder {out.parent} does not exist; create it or pick another."
        )
    for index, image in enumerate(images):
        if Path(image).resolve() == _show_path(out, image, index, len(images)).resolve():
            raise ValueError(
                f"--show {out} would overwrite the image {image}: pick another file name."
            )


def _show_path(out, image, index, n_images):
    """``out`` (``.png`` added when it has no suffix) for one image;
    ``OUT-<n>-<image name>.png`` for each of several."""
    suffix = out.suffix or ".png"
    if n_images == 1:
        return out.with_suffix(suffix)
    return out.with_name(f"{out.stem}-{index + 1}-{Path(image).stem}{suffix}")


def show(image, reading, out):
    """Write a picture of ``image`` with each digit's box and reading drawn on it."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError(
            'hdrnn read --show needs Pillow to draw: pip install "hdrnn[images]"; '
            "or leave out --show."
        ) from None
    # The image as the reader saw it (16-bit, float and transparent images included:
    # Pillow's RGB of them clips or drops the ink), at most 2048 pixels a side.
    gray, size = read_image(image)
    picture = Image.fromarray(np.round(255 * gray).astype(np.uint8)).convert("RGB")
    scale = picture.width / size[0]  # boxes are in the image's own pixels
    draw = ImageDraw.Draw(picture)
    line_width = max(1, round(max(picture.size) / 300))
    for digit in reading.digits:
        x0, y0, x1, y1 = (round(v * scale) for v in digit.box)
        x1, y1 = max(x1, x0 + 1), max(y1, y0 + 1)
        if digit.text == ".":  # an empty cell of a grid: its outline shows where it was cut
            draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(150, 170, 220), width=1)
            continue
        colour = (0, 160, 0) if digit.vouched else (220, 0, 0)
        draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=colour, width=line_width)
        draw.text(
            (x0, max(0, y0 - 12)),
            f"{digit.text} {percent(digit.probability, places=0)}",
            fill=colour,
        )
    picture.save(out)
