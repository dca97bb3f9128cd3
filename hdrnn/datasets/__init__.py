"""MNIST for hdrnn: IDX files, OpenML, and a verified local cache.

:func:`load_mnist` looks for the data in this order and stops at the first
place that has it:

1. ``source=``: a folder of the four standard IDX files, or ``"openml"``;
2. the ``HDRNN_MNIST_DIR`` environment variable (a folder of IDX files);
3. hdrnn's processed cache under ``data_home`` (one compressed ``.npz`` with
   its sha256 beside it; loads in well under a second);
4. OpenML (``fetch_openml(data_id=554)``), whose result is then cached.

:mod:`hdrnn.datasets.synthetic` makes handwriting that is *not* MNIST's
training data, on demand: digits drawn as pen strokes by random writers,
handwriting fonts, photo-like renderings of paper, and whole numbers with
their ground truth. hdrnn measures its shipped model and its number reader
on them; they are generated, never shipped.

May import: :mod:`hdrnn._utils` and :mod:`hdrnn.exceptions`.
"""

from hdrnn.datasets import synthetic
from hdrnn.datasets._idx import load_idx_folder, read_idx
from hdrnn.datasets._mnist import CACHE_NAME, load_mnist

__all__ = ["CACHE_NAME", "load_idx_folder", "load_mnist", "read_idx", "synthetic"]
