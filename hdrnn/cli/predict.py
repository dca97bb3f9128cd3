"""``hdrnn predict``: recognise the digit in each image file."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from hdrnn._utils.model_facts import input_image_shape, plain
from hdrnn.cli._common import add_default_model_argument, load_model_or_shipped
from hdrnn.cli._output import percent, printable
from hdrnn.preprocessing import describe_preparation, find_ink, prepare_digit_image


def register(commands):
    """Add the ``predict`` command to the subparsers ``commands``."""
    predict = commands.add_parser("predict", help="recognise digits in image files")
    add_default_model_argument(predict)
    predict.add_argument("images", nargs="+", metavar="IMAGE", type=Path)
    predict.add_argument(
        "--top", type=positive_int, default=1, help="show the K most likely digits (K >= 1)"
    )
    predict.add_argument("--json", action="store_true", help="machine-readable output")
    predict.add_argument(
        "--verbose",
        action="store_true",
        help="also say what was found on each image (paper, ink, specks, lines, crop box) "
        "and how it was prepared",
    )
    predict.set_defaults(run=run)


def positive_int(text):
    """An integer of at least 1, for argparse."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1; got {text!r}")
    return value


def run(args):
    model, _, _ = load_model_or_shipped(args.model, args.trust_pickle)
    shape = input_image_shape(model)
    if shape is None:
        raise ValueError(
            f"The model takes {model.n_features_in_} features, not a square image; "
            "it cannot read image files."
        )
    top = min(args.top, len(model.classes_))
    results, failures = [], 0
    for path in args.images:
        try:
            found = find_ink(path)  # once: the preparation and --verbose share it
            x = prepare_digit_image(found, shape)
        except ImportError:
            raise  # Pillow is missing: no file can be read
        except Exception as error:
            failures += 1
            message = (str(error).splitlines() or [type(error).__name__])[0]
            print(f"hdrnn: {printable(path)}: {printable(message)}", file=sys.stderr)
            results.append({"file": str(path), "error": message})
            continue
        proba = model.predict_proba(x.reshape(1, -1))[0]
        best = np.argsort(proba)[::-1][:top]
        ranked = [{"label": plain(model.classes_[i]), "probability": float(proba[i])} for i in best]
        result = {
            "file": str(path),
            "prediction": ranked[0]["label"],
            "probability": ranked[0]["probability"],
            "top": ranked,
        }
        if args.verbose:
            description = describe_preparation(found, shape)
            result["preparation"] = {"description": description, **found.as_dict()}
        results.append(result)
        if not args.json:
            shown = ", ".join(
                f"{printable(r['label'])} ({percent(r['probability'])})" for r in ranked
            )
            print(f"{printable(path)}: {shown}")
            if args.verbose:
                print(f"  {description}")
    if args.json:
        print(json.dumps(results, indent=2))
    return 1 if failures else 0
