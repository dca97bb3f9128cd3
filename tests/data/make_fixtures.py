"""Write the committed model-file fixtures (run from the repository root; rarely needed).

``digits-format1.hdrnn`` is a model file in format 1, the layout hdrnn used
before format 2 stored Adam's moments as decayed sums: the arrays
``optimizer_m`` and ``optimizer_v`` hold the moments themselves. It is
written here the way the format-1 writer wrote it (its version string
names the development release that did), so that every later hdrnn proves
it still reads such files. ``digits-format1-proba.npy`` holds the model's
probabilities for the first 20 of scikit-learn's digits, divided by 16.

    python tests/data/make_fixtures.py
"""

import json
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import hdrnn.persistence as persistence
from hdrnn import DigitMLPClassifier, save

HERE = Path(__file__).parent


def main():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = DigitMLPClassifier((8,), max_iter=3, random_state=0).fit(X[:300], y[:300])
    path = save(model, HERE / "digits-format1.hdrnn")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    optimizer = metadata["optimizer"]
    for new, old, beta in (("grad_sum", "m", "beta_1"), ("sq_grad_sum", "v", "beta_2")):
        decayed_sum = arrays.pop(f"optimizer_{new}")
        arrays[f"optimizer_{old}"] = ((1.0 - optimizer[beta]) * decayed_sum).astype(
            decayed_sum.dtype
        )
        metadata["arrays"][f"optimizer_{old}"] = metadata["arrays"].pop(f"optimizer_{new}")
    for name in ("interrupted_", "dead_units_fraction_"):  # not in format 1's writer
        metadata["fitted"].pop(name)
    metadata["format_version"] = 1
    metadata["versions"]["hdrnn"] = "0.1.0.dev1"
    metadata["checksum"] = persistence._checksum(metadata, arrays)
    arrays["metadata.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    with path.open("wb") as file:
        np.savez(file, **arrays)
    np.save(HERE / "digits-format1-proba.npy", model.predict_proba(X[:20]))


if __name__ == "__main__":
    main()
