"""
Saving and loading models safely
================================

``pickle`` and ``joblib`` files run code when loaded, so a model file from
someone else can do anything. :func:`hdrnn.save` writes only data: arrays
in an ``.npz`` archive and a JSON description, with a checksum.
:func:`hdrnn.load` reads it back without executing anything.
"""

# %%
import json
import tempfile
from pathlib import Path

from sklearn.datasets import load_digits

import hdrnn
from hdrnn.persistence import read_metadata

X, y = load_digits(return_X_y=True)
clf = hdrnn.DigitMLPClassifier((32,), random_state=0, tol=1e-3).fit(X / 16, y)

folder = Path(tempfile.mkdtemp())
path = hdrnn.save(clf, folder / "digits.hdrnn", info={"dataset": "digits"})
loaded = hdrnn.load(path)
print("same predictions:", (loaded.predict(X / 16) == clf.predict(X / 16)).all())

# %%
# What the file says about itself (the history of every epoch is in it too).
metadata = read_metadata(path)
summary = {k: metadata[k] for k in ("format", "format_version", "versions", "image_shape")}
print(json.dumps(summary, indent=2))

# %%
# A damaged file is refused with one clear error instead of loading garbage.
data = bytearray(path.read_bytes())
data[len(data) // 2] ^= 0xFF
path.write_bytes(bytes(data))
try:
    hdrnn.load(path)
except hdrnn.ModelFileError as error:
    print("ModelFileError:", error)
