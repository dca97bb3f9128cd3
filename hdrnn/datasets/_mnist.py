"""``load_mnist``: the IDX folder, the verified cache or OpenML, in that order.

The package docstring (:mod:`hdrnn.datasets`) gives the order in full.
"""

import hashlib
import os
import time
from pathlib import Path
from urllib.error import URLError

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from hdrnn._utils.files import atomic_write
from hdrnn._utils.warn import warn
from hdrnn.datasets import _idx, _openml
from hdrnn.datasets._idx import load_idx_folder, read_idx, read_idx_split
from hdrnn.exceptions import DatasetIntegrityError, DatasetUnavailableError

__all__ = ["load_idx_folder", "load_mnist", "read_idx"]

CACHE_NAME = "mnist_784.npz"

DESCR = """MNIST handwritten digits (LeCun, Cortes and Burges), CC BY-SA 3.0.

70 000 grey-level images of 28x28 pixels, 0 = background, in OpenML order
(data id 554): the first 60 000 are MNIST's training set, the last 10 000 its
test set. ``data`` holds the flattened images (pixels scaled to [0, 1] as
float32 unless ``as_uint8=True``), ``images`` the same as (n, 28, 28),
``target`` the digits 0-9 as int64.
"""


# ------------------------------------------------------------------ cache


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_cache(cache_path, images, labels):
    """Write the cache and its checksum file, each atomically (the data file first)."""
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(cache_path) as file:
        np.savez_compressed(file, images=images, labels=labels)
        file.flush()
        digest = _sha256(file.name)
    checksum_path = cache_path.with_name(cache_path.name + ".sha256")
    with atomic_write(checksum_path) as file:
        file.write(f"{digest}  {cache_path.name}\n".encode())


def _cache_if_possible(cache_path, images, labels):
    """Cache a download; where that fails (read-only folder, full disk), warn and go on."""
    try:
        _write_cache(cache_path, images, labels)
    except OSError as error:
        warn(
            f"MNIST was downloaded but could not be cached at {cache_path} ({error}); it "
            "will be downloaded again next time. Make the folder writable, or pass "
            "data_home= (SCIKIT_LEARN_DATA) pointing at a writable one.",
            RuntimeWarning,
        )
        return False
    return True


def _read_cache(cache_path):
    """Return (images, labels) from a verified cache; raise DatasetIntegrityError if bad."""
    checksum_path = cache_path.with_name(cache_path.name + ".sha256")
    try:
        expected = checksum_path.read_text().split()[0]
    except (OSError, IndexError) as error:
        raise DatasetIntegrityError(
            f"The checksum file {checksum_path} is missing or empty."
        ) from error
    actual = _sha256(cache_path)
    if actual != expected:
        raise DatasetIntegrityError(
            f"The MNIST cache {cache_path} is corrupted: sha256 {actual}, expected {expected}."
        )
    with np.load(cache_path, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    _idx.check_arrays(images, labels, cache_path)
    return images, labels


def _move_aside(cache_path):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    corrupt = cache_path.with_name(f"{cache_path.name}.corrupt-{stamp}")
    os.replace(cache_path, corrupt)
    return corrupt


def _data_home(data_home):
    try:
        return Path(get_data_home(data_home))  # which also creates it
    except OSError:  # it cannot be created; a download still works (into a scratch folder)
        default = os.environ.get("SCIKIT_LEARN_DATA", os.path.join("~", "scikit_learn_data"))
        return Path(os.path.expanduser(str(data_home or default)))


def _offline_error(searched, error):
    places = "\n".join(f"  - {place}" for place in searched)
    return DatasetUnavailableError(
        "MNIST is not available on this machine and could not be downloaded from "
        f"OpenML ({type(error).__name__}: {error}).\nSearched:\n{places}\n"
        "Fix it in one of two ways:\n"
        "  - set HDRNN_MNIST_DIR to a folder holding the four MNIST IDX files "
        "(train-images-idx3-ubyte.gz, ...), or give that folder directly "
        "(source= in Python, --data-dir on the command line);\n"
        "  - for an offline demo use scikit-learn's bundled 8x8 digits: "
        "sklearn.datasets.load_digits() (hdrnn train --dataset digits)."
    )


def _load_images_and_labels(source, data_home, download_if_missing):
    """Return ``(images, labels, n_train, where they came from)``: the first ``n_train``
    are the training images.

    IDX files are split where their training files end (a subset of MNIST, or
    another dataset in its format, is not split at MNIST's 60 000); the cache
    and OpenML hold exactly MNIST's 70 000 (checked), split at 60 000.
    """
    if source is not None and str(source) != "openml":
        return (*read_idx_split(source), str(source))
    if source is None and os.environ.get("HDRNN_MNIST_DIR"):
        folder = os.environ["HDRNN_MNIST_DIR"]
        return (*read_idx_split(folder), f"HDRNN_MNIST_DIR={folder}")
    images, labels, origin = _from_cache_or_openml(source, data_home, download_if_missing)
    return images, labels, _idx.N_TRAIN, origin


def _from_cache_or_openml(source, data_home, download_if_missing):
    """Return (images, labels, where they came from) from the cache or OpenML."""
    home = _data_home(data_home)
    cache_path = home / "hdrnn" / CACHE_NAME
    if source is None and cache_path.exists():
        try:
            images, labels = _read_cache(cache_path)
            return images, labels, str(cache_path)
        except (DatasetIntegrityError, OSError, ValueError) as error:
            corrupt = _move_aside(cache_path)
            warn(
                f"{error} It was moved to {corrupt} and MNIST will be fetched again.",
                RuntimeWarning,
            )
    if not download_if_missing:
        raise DatasetUnavailableError(
            f"MNIST is not cached at {cache_path} and download_if_missing=False. "
            "Set HDRNN_MNIST_DIR to a folder of MNIST IDX files, or allow the download."
        )
    try:
        images, labels = _openml.download(home)
    except (URLError, OSError) as error:
        searched = ["source= (not given)", "HDRNN_MNIST_DIR (not set)", str(cache_path)]
        raise _offline_error(searched, error) from error
    if not _cache_if_possible(cache_path, images, labels):
        return images, labels, "OpenML (data id 554), not cached"
    # Read back what was written, so a bad write is caught now and not next time.
    images, labels = _read_cache(cache_path)
    return images, labels, "OpenML (data id 554), now cached"


def load_mnist(
    *,
    source=None,
    data_home=None,
    return_X_y=False,
    as_uint8=False,
    download_if_missing=True,
):
    """Load the 70 000 MNIST digits: from IDX files, the local cache or OpenML.

    Parameters
    ----------
    source : str, path-like or None, default=None
        A folder holding the four MNIST IDX files (``train-images-idx3-ubyte``
        and so on, gzipped or not), or ``"openml"`` to bypass the local
        cache. None searches ``HDRNN_MNIST_DIR``, then the cache, then OpenML.
    data_home : str or path-like, default=None
        Where the cache lives (in a ``hdrnn`` subfolder); defaults to
        scikit-learn's ``get_data_home()`` (``SCIKIT_LEARN_DATA`` or
        ``~/scikit_learn_data``).
    return_X_y : bool, default=False
        Return ``(X_train, X_test, y_train, y_test)`` instead of a Bunch.
    as_uint8 : bool, default=False
        Return raw 0-255 pixel bytes instead of float32 in [0, 1].
    download_if_missing : bool, default=True
        Whether OpenML may be asked when no local copy exists.

    Returns
    -------
    mnist : Bunch
        ``data`` (70000, 784), ``images`` (70000, 28, 28), ``target``
        (70000,) int64, ``feature_names``, ``target_names``, ``n_train``
        (60000: the training images come first; from IDX files, as many as
        their training files hold), ``source`` and ``DESCR``. With
        ``return_X_y=True``, the tuple ``(X_train, X_test, y_train, y_test)``
        of the standard split.

    Raises
    ------
    DatasetUnavailableError
        No local copy and OpenML is unreachable; the message lists the places
        searched and how to fix it.
    IDXFormatError
        An IDX file is malformed.

    Examples
    --------
    >>> from hdrnn import load_mnist
    >>> X_train, X_test, y_train, y_test = load_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X_train.shape, X_train.dtype  # doctest: +SKIP
    ((60000, 784), dtype('float32'))
    """
    images, labels, n_train, origin = _load_images_and_labels(
        source, data_home, download_if_missing
    )
    if as_uint8:
        data = images.reshape(len(images), -1)
    else:
        data = images.reshape(len(images), -1).astype(np.float32)
        np.divide(data, 255, out=data)  # in place: no float64 temporary of 70 000 images
    target = labels.astype(np.int64)
    if return_X_y:
        return data[:n_train], data[n_train:], target[:n_train], target[n_train:]
    return Bunch(
        data=data,
        images=data.reshape(-1, *_idx.IMAGE_SHAPE),
        target=target,
        feature_names=[f"pixel{i}" for i in range(1, data.shape[1] + 1)],
        target_names=list(range(10)),
        n_train=n_train,
        source=origin,
        DESCR=DESCR,
    )
