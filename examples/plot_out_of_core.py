"""
Training on more data than memory holds
=======================================

``partial_fit`` trains on one block of rows at a time, so the data can stay
on disk: in a memory-mapped ``.npy`` file (as here), in HDF5 or zarr, or in a
``dask.array``. The loop reads each block, turns its bytes into [0, 1] floats
and trains on it, visiting the blocks in a new order every epoch. Memory
holds a block and the network, whatever the size of the file.
"""

# %%
import tempfile
import tracemalloc
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hdrnn import DigitMLPClassifier
from hdrnn.augmentation import Augmentation, BatchAugmenter

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0, stratify=y)

# %%
# A big data set, stored as bytes: the training digits 100 times, each time
# distorted a little differently (134 700 rows; a real one would not fit in
# memory, this one is the same code at a size that runs in seconds).
folder = Path(tempfile.mkdtemp())
copies = 100
stored = np.lib.format.open_memmap(
    folder / "digits-x100.npy", mode="w+", dtype=np.uint8, shape=(copies * len(X_train), 64)
)
augment = BatchAugmenter(Augmentation.preset("affine", (8, 8)), (8, 8), len(X_train), np.float32)
rng = np.random.default_rng(0)
for copy in range(copies):
    batch = X_train.astype(np.float32)
    augment(batch, rng)
    stored[copy * len(X_train) : (copy + 1) * len(X_train)] = np.rint(255 * batch)
stored.flush()
labels = np.tile(y_train, copies)
del stored

# %%
# The loop: blocks in a new random order each epoch, bytes to floats, one
# ``partial_fit`` per block.
data = np.load(folder / "digits-x100.npy", mmap_mode="r")  # nothing is read yet
model = DigitMLPClassifier(random_state=0)
block_rows = 10_000
accuracy = []
for epoch in range(3):
    if epoch == 1:  # measure from the second epoch: the first also loads compiled code
        tracemalloc.start()
    for start in rng.permutation(np.arange(0, len(labels), block_rows)):
        block = np.asarray(data[start : start + block_rows], dtype=np.float32) / 255
        model.partial_fit(block, labels[start : start + block_rows], classes=np.arange(10))
    accuracy.append(model.score(X_test, y_test))
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
print(
    f"data: {data.size * 4 / 2**20:.0f} MiB as float32; peak memory while training: "
    f"{peak / 2**20:.1f} MiB"
)

# %%
# With a ``dask.array`` (for data in many files, or on a cluster), the blocks
# are ``X.blocks[i].compute()``; predicting over it is one ``map_blocks``:
#
# .. code-block:: python
#
#    import dask.array as da
#    lazy = da.from_array(data, chunks=(10_000, 64))
#    proba = lazy.map_blocks(lambda b: model.predict_proba(b / 255),
#                            dtype=np.float64, chunks=(lazy.chunks[0], (10,)))
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
ax.plot(range(1, len(accuracy) + 1), accuracy, marker="o")
ax.set_xlabel("epoch over 134 700 distorted digits")
ax.set_ylabel("test accuracy")
ax.set_xticks(range(1, len(accuracy) + 1))
ax.set_title(
    f"Out of core: {peak / 2**20:.0f} MiB peak for {data.size * 4 / 2**20:.0f} MiB of data"
)
