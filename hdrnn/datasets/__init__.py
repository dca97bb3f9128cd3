"""MNIST for hdrnn: IDX files, OpenML, and a verified local cache.

:func:`load_mnist` looks for the data in this order and stops at the first
place that has it:

1. ``source=``: a folder of the four standard IDX files, or ``"openml"``;
2. the ``HDRNN_MNIST_DIR`` environment variable (a folder of IDX files);
3. hdrnn's processed cache under ``data_home`` (one compressed ``.npz`` with
   its sha256 beside it; loads in well under a second);
4. OpenML (``fetch_openml(data_id=554)``), whose result is then cached.

May import: :mod:`hdrnn._utils` and :mod:`hdrnn.exceptions`.
"""

from hdrnn.datasets._idx import load_idx_folder, read_idx
from hdrnn.datasets._mnist import CACHE_NAME, load_mnist

__all__ = ["CACHE_NAME", "load_idx_folder", "load_mnist", "read_idx"]
