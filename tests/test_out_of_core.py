"""Training on more data than memory holds: partial_fit over blocks, as docs/scaling.rst shows."""

import tracemalloc
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier
from hdrnn.augmentation import Augmentation, BatchAugmenter

# Old dask (2024.8) still sees the clients of tests/test_distributed.py after they
# closed and warns that these computations, on its local threads, bypass them.
pytestmark = pytest.mark.filterwarnings("ignore:Running on a single-machine scheduler")

BLOCK_ROWS = 5_000
COPIES = 60  # the 1797 digits, 60 times distorted: 107 820 rows


@pytest.fixture(scope="module")
def big_digits(tmp_path_factory, digits):
    """Augmented digits in a memory-mapped .npy of bytes, as a big data set is stored."""
    X, y = digits
    path = tmp_path_factory.mktemp("big") / "digits-x60.npy"
    stored = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(COPIES * len(X), 64))
    augmenter = BatchAugmenter(Augmentation.preset("affine", (8, 8)), (8, 8), len(X), np.float32)
    rng = np.random.default_rng(0)
    for copy in range(COPIES):
        batch = X.astype(np.float32)
        augmenter(batch, rng)
        stored[copy * len(X) : (copy + 1) * len(X)] = np.clip(np.rint(255 * batch), 0, 255)
    stored.flush()
    del stored
    return path, np.tile(y, COPIES)


def train_in_blocks(model, X, y, *, epochs, seed=0):
    """The loop of docs/scaling.rst: blocks in a new random order each epoch, bytes to [0, 1]."""
    rng = np.random.default_rng(seed)
    starts = np.arange(0, len(y), BLOCK_ROWS)
    classes = np.unique(y)
    for _ in range(epochs):
        for start in rng.permutation(starts):
            block = np.asarray(X[start : start + BLOCK_ROWS], dtype=np.float32) / 255
            model.partial_fit(block, y[start : start + BLOCK_ROWS], classes=classes)
    return model


def test_memory_stays_at_a_few_blocks_while_training_on_a_memory_mapped_file(
    big_digits, digits_split
):
    path, y = big_digits
    X = np.load(path, mmap_mode="r")  # nothing read yet
    model = DigitMLPClassifier(random_state=0)
    # Load the compiled kernels (numba's modules weigh 30 MB) before measuring data.
    DigitMLPClassifier(hidden_layer_sizes=(4,)).partial_fit(X[:10] / 255, y[:10], classes=range(10))
    tracemalloc.start()
    try:
        train_in_blocks(model, X, y, epochs=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    whole = X.shape[0] * X.shape[1] * 4  # the data set as float32, in memory
    block = BLOCK_ROWS * X.shape[1] * 4
    assert peak < 0.25 * whole, (peak, whole)
    assert peak < 12 * block
    _, X_test, _, y_test = digits_split
    assert model.score(X_test, y_test) > 0.9  # it learned (the test digits are undistorted)


def test_each_epoch_sees_the_blocks_in_a_new_order(big_digits):
    path, y = big_digits
    X = np.load(path, mmap_mode="r")
    seen = []

    class Recording(DigitMLPClassifier):
        def partial_fit(self, X, y, classes=None):
            seen.append(float(X[0].sum()))  # identifies the block
            return super().partial_fit(X, y, classes=classes)

    train_in_blocks(Recording(hidden_layer_sizes=(8,)), X, y, epochs=2)
    first, second = seen[: len(seen) // 2], seen[len(seen) // 2 :]
    assert sorted(first) == sorted(second) and first != second


def test_dask_array_blocks_train_the_same_model(big_digits):
    da = pytest.importorskip("dask.array")
    path, y = big_digits
    X = np.load(path, mmap_mode="r")
    lazy = da.from_array(X, chunks=(BLOCK_ROWS, 64))  # e.g. from zarr or HDF5 files
    from_dask = DigitMLPClassifier(hidden_layer_sizes=(16,), random_state=0)
    rng = np.random.default_rng(0)
    for i in rng.permutation(lazy.numblocks[0]):
        block = lazy.blocks[i].compute(scheduler="threads").astype(np.float32) / 255
        from_dask.partial_fit(block, y[i * BLOCK_ROWS : (i + 1) * BLOCK_ROWS], classes=range(10))
    from_memmap = train_in_blocks(
        DigitMLPClassifier(hidden_layer_sizes=(16,), random_state=0), X, y, epochs=1
    )
    for a, b in zip(from_dask.coefs_, from_memmap.coefs_):
        np.testing.assert_array_equal(a, b)


def test_predicting_over_a_dask_array_matches_predicting_in_memory(digits):
    da = pytest.importorskip("dask.array")
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = DigitMLPClassifier(max_iter=30, random_state=0).fit(X, y)
    lazy = da.from_array(X, chunks=(400, 64))
    proba = lazy.map_blocks(
        model.predict_proba, dtype=np.float64, chunks=(lazy.chunks[0], (10,))
    ).compute(scheduler="threads")
    labels = lazy.map_blocks(model.predict, dtype=y.dtype, drop_axis=1).compute(scheduler="threads")
    np.testing.assert_allclose(proba, model.predict_proba(X), rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(labels, model.predict(X))
