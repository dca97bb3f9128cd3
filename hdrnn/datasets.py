"""MNIST for hdrnn: IDX files, OpenML, and a verified local cache.

:func:`load_mnist` looks for the data in this order and stops at the first
place that has it:

1. ``source=``: a folder of the four standard IDX files, or ``"openml"``;
2. the ``HDRNN_MNIST_DIR`` environment variable (a folder of IDX files);
3. hdrnn's processed cache under ``data_home`` (one compressed ``.npz`` with
   its sha256 beside it; loads in well under a second);
4. OpenML (``fetch_openml(data_id=554)``), whose result is then cached.
"""

import contextlib
import gzip
import hashlib
import importlib.util
import math
import os
import socket
import tempfile
import time
import warnings
import zlib
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch

from hdrnn._files import atomic_write
from hdrnn._sklearn_compat import OpenMLError, openml_description_url, openml_urlopen
from hdrnn.exceptions import DatasetIntegrityError, DatasetUnavailableError, IDXFormatError

MNIST_OPENML_ID = 554
NETWORK_ATTEMPTS = 3
NETWORK_RETRY_DELAY_SECONDS = 1.0
N_TRAIN, N_TEST = 60_000, 10_000
IMAGE_SHAPE = (28, 28)
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CACHE_NAME = "mnist_784.npz"
NETWORK_TIMEOUT_SECONDS = 30.0

# IDX files hold 1 to 4 dimensions (MNIST: 1 for labels, 3 for images).
MAX_IDX_DIMENSIONS = 4

# Deflate never expands data by more than about 1032 times: a gzip file that
# declares more than that of its own size is truncated or lying.
GZIP_MAX_EXPANSION = 1032

# IDX type codes (the third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

DESCR = """MNIST handwritten digits (LeCun, Cortes and Burges), CC BY-SA 3.0.

70 000 grey-level images of 28x28 pixels, 0 = background, in OpenML order
(data id 554): the first 60 000 are MNIST's training set, the last 10 000 its
test set. ``data`` holds the flattened images (pixels scaled to [0, 1] as
float32 unless ``as_uint8=True``), ``images`` the same as (n, 28, 28),
``target`` the digits 0-9 as int64.
"""


def read_idx(path):
    """Read an IDX file (the format MNIST is distributed in), gzipped or not.

    The header is checked before the data are read: 1 to 4 dimensions, and a
    declared size that the file can actually hold (for a ``.gz`` file, no
    more than deflate's largest expansion of its compressed size). A gzip
    stream is inflated only up to the declared size plus one byte, so a
    small file that inflates to gigabytes is refused after reading just
    what its header promised.

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is decompressed.

    Returns
    -------
    array : ndarray
        The data with the shape and dtype the header declares (native byte
        order).

    Raises
    ------
    IDXFormatError
        If the magic number is wrong, the header declares too many
        dimensions or more data than the file can hold, or the byte count
        does not match the dimensions (a truncated or padded file). The
        message names the file, the expected and the actual size.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from hdrnn.datasets import read_idx
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = Path(path)
    compressed = path.suffix == ".gz"
    try:
        file_size = path.stat().st_size
        with gzip.open(path, "rb") if compressed else open(path, "rb") as file:
            dtype, shape, header_size = _read_idx_header(path, file)
            n_bytes = math.prod(shape) * dtype.itemsize
            _check_idx_size(path, header_size + n_bytes, file_size, compressed)
            raw = file.read(n_bytes + 1)  # one byte more than declared reveals padding
    except (OSError, EOFError, zlib.error) as error:  # gzip raises these for damaged files
        raise IDXFormatError(f"Cannot read IDX file {path}: {error}") from error
    if len(raw) < n_bytes:
        problem, actual = "truncated", f"{header_size + len(raw):,}"
    elif len(raw) > n_bytes:
        problem, actual = "padded with trailing bytes", "more" if compressed else f"{file_size:,}"
    if len(raw) != n_bytes:
        raise IDXFormatError(
            f"{path} is {problem}: its header declares shape {shape}, so it should hold "
            f"{header_size + n_bytes:,} bytes{' once decompressed' if compressed else ''}, "
            f"but it holds {actual}."
        )
    data = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _read_idx_header(path, file):
    """Return ``(dtype, shape, header_size)`` from the start of an IDX file."""
    magic = file.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_DTYPES:
        raise IDXFormatError(
            f"{path} is not an IDX file: its magic number is {magic.hex() or 'missing'} "
            "but should be 0000 followed by a type code (08 for unsigned bytes) and the "
            "number of dimensions."
        )
    n_dims = magic[3]
    if not 1 <= n_dims <= MAX_IDX_DIMENSIONS:
        raise IDXFormatError(
            f"{path} declares {n_dims} dimensions; IDX files have 1 to "
            f"{MAX_IDX_DIMENSIONS} (MNIST: 1 for labels, 3 for images)."
        )
    dims = file.read(4 * n_dims)
    if len(dims) < 4 * n_dims:
        raise IDXFormatError(f"{path} is truncated: its header is incomplete.")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(n_dims))
    return _IDX_DTYPES[magic[2]], shape, 4 + 4 * n_dims


def _check_idx_size(path, declared, file_size, compressed):
    """Refuse a header that declares more data than the file can hold, before reading it."""
    limit = GZIP_MAX_EXPANSION * file_size + 64 if compressed else file_size
    if declared > limit:
        hold = (
            f"a {file_size:,}-byte gzip file inflates to at most {limit:,}"
            if compressed
            else f"the file holds {file_size:,}"
        )
        raise IDXFormatError(
            f"{path} is truncated or damaged: its header declares {declared:,} bytes, but {hold}."
        )


def _find_idx_file(folder, stem):
    # Some copies use a dot instead of a dash before "idx".
    for base in (stem, stem.replace("-idx", ".idx")):
        for name in (base, base + ".gz"):
            if (folder / name).is_file():
                return folder / name
    raise DatasetUnavailableError(
        f"{folder} has no MNIST file {stem} (or {stem}.gz). It needs the four files "
        + ", ".join(IDX_FILES.values())
        + "."
    )


def load_idx_folder(folder):
    """Read the four MNIST IDX files in ``folder`` into one array of images and labels.

    Parameters
    ----------
    folder : str or path-like
        A folder with ``train-images-idx3-ubyte[.gz]``,
        ``train-labels-idx1-ubyte[.gz]``, ``t10k-images-idx3-ubyte[.gz]`` and
        ``t10k-labels-idx1-ubyte[.gz]``.

    Returns
    -------
    images : ndarray of shape (70000, 28, 28), dtype uint8
        Training images first, then test images.
    labels : ndarray of shape (70000,), dtype uint8
    """
    folder = Path(folder)
    if folder.is_file():
        raise DatasetUnavailableError(
            f"{folder} is a file, not a folder: point at the folder that holds the four "
            "MNIST IDX files (train-images-idx3-ubyte.gz, ...)."
        )
    if not folder.is_dir():
        raise DatasetUnavailableError(f"The MNIST folder {folder} does not exist.")
    parts = {key: read_idx(_find_idx_file(folder, stem)) for key, stem in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = parts[f"{split}_images"], parts[f"{split}_labels"]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE or images.dtype != np.uint8:
            raise IDXFormatError(
                f"{split} images in {folder} have shape {images.shape} and dtype "
                f"{images.dtype}; MNIST images are (n, 28, 28) unsigned bytes."
            )
        if labels.ndim != 1 or len(labels) != len(images):
            raise IDXFormatError(
                f"{folder} holds {len(images)} {split} images but {labels.shape[0]} "
                f"{split} labels; each image needs exactly one label."
            )
        if labels.size and labels.max() > 9:
            bad = int(np.argmax(labels > 9))
            raise IDXFormatError(
                f"{split} label file in {folder} holds label {labels[bad]} at position "
                f"{bad}; MNIST labels are digits 0-9."
            )
    images = np.concatenate([parts["train_images"], parts["test_images"]])
    labels = np.concatenate([parts["train_labels"], parts["test_labels"]])
    return images, labels


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
        warnings.warn(
            f"MNIST was downloaded but could not be cached at {cache_path} ({error}); it "
            "will be downloaded again next time. Make the folder writable, or pass "
            "data_home= (SCIKIT_LEARN_DATA) pointing at a writable one.",
            RuntimeWarning,
            stacklevel=4,
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
    _check_arrays(images, labels, cache_path)
    return images, labels


def _move_aside(cache_path):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    corrupt = cache_path.with_name(f"{cache_path.name}.corrupt-{stamp}")
    os.replace(cache_path, corrupt)
    return corrupt


def _check_arrays(images, labels, origin):
    n = N_TRAIN + N_TEST
    if images.shape != (n, *IMAGE_SHAPE) or labels.shape != (n,):
        raise DatasetIntegrityError(
            f"MNIST from {origin} has images of shape {images.shape} and labels of shape "
            f"{labels.shape}; expected ({n}, 28, 28) and ({n},)."
        )


# ----------------------------------------------------------------- OpenML


@contextlib.contextmanager
def _socket_timeout(seconds):
    """fetch_openml has no timeout argument: bound every socket operation instead."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _pandas_parser_is_broken():
    """True where scikit-learn's pandas ARFF parser fails on MNIST (scikit-learn #34892).

    pandas >= 3.1 reads unquoted numeric categories as integers, which
    scikit-learn <= 1.9.1 then tries to strip of quotes as if they were strings.
    """
    import io

    import pandas as pd
    import sklearn

    release = tuple(int(part) for part in sklearn.__version__.split(".")[:3] if part.isdigit())
    column = pd.read_csv(io.StringIO("1\n"), header=None, dtype={0: "category"})[0]
    return release <= (1, 9, 1) and column.cat.categories.dtype != object


def _openml_parsers():
    """ARFF parsers to try, fastest first; liac-arff ships with scikit-learn."""
    if importlib.util.find_spec("pandas") is not None and not _pandas_parser_is_broken():
        return ["pandas", "liac-arff"]
    return ["liac-arff"]


def _fetch_from_openml(data_home):
    """Download MNIST from OpenML once it answers; a 4xx answer or a second bad copy is final."""
    _wait_for_openml()
    try:
        return _fetch_once(data_home)
    except HTTPError as error:
        if 400 <= error.code < 500:
            raise _openml_refused(error.code, error) from error
        raise
    except OpenMLError as error:  # OpenML's own answer: a 412 "precondition failed"
        raise _openml_refused(412, error) from error
    except ValueError as error:
        if "md5" not in str(error):
            raise
        raise DatasetIntegrityError(
            "OpenML's copy of mnist_784 failed its md5 integrity check twice (scikit-learn "
            f"downloaded it again after the first failure): {error}"
        ) from error


def _wait_for_openml():
    """Ask OpenML for MNIST's description, retrying network failures but not 4xx answers.

    fetch_openml retries its first request up to 3 times, with a 1 s delay,
    whatever the answer and whatever its n_retries says; asking first bounds
    an unreachable or stalled OpenML to NETWORK_ATTEMPTS timeouts, and
    turns a 4xx answer into an error at once.
    """
    url = openml_description_url(MNIST_OPENML_ID)
    for attempt in range(1, NETWORK_ATTEMPTS + 1):
        try:
            with contextlib.closing(openml_urlopen(url, NETWORK_TIMEOUT_SECONDS)):
                return
        except HTTPError as error:
            if 400 <= error.code < 500:
                raise _openml_refused(error.code, error) from error
            if attempt == NETWORK_ATTEMPTS:
                raise
        except (URLError, OSError):
            if attempt == NETWORK_ATTEMPTS:
                raise
        time.sleep(NETWORK_RETRY_DELAY_SECONDS)


def _openml_refused(code, error):
    what = {404: "dataset not found", 412: "precondition failed"}.get(code, "request refused")
    return DatasetUnavailableError(
        f"OpenML answered HTTP {code} ({what}) for mnist_784 (data id {MNIST_OPENML_ID}): "
        f"{error}. Retrying would not help. Set HDRNN_MNIST_DIR to a folder of the four "
        "MNIST IDX files instead, or use the bundled 8x8 digits (hdrnn train --dataset digits)."
    )


def _fetch_once(data_home):
    from sklearn.datasets import fetch_openml

    for parser in _openml_parsers():
        try:
            with _socket_timeout(NETWORK_TIMEOUT_SECONDS), warnings.catch_warnings():
                # fetch_openml always tries twice at least (n_retries >= 1), 4xx answers
                # included; its second try is made at once and silently, and the real
                # retries, which skip 4xx answers, are _fetch_from_openml's.
                warnings.filterwarnings("ignore", "A network error occurred", UserWarning)
                X, y = fetch_openml(
                    data_id=MNIST_OPENML_ID,
                    data_home=data_home,
                    as_frame=False,
                    return_X_y=True,
                    parser=parser,
                    n_retries=1,
                    delay=1e-3,
                )
            break
        except TypeError:
            # A pandas/scikit-learn pairing with a parser bug not caught by
            # _pandas_parser_is_broken: fall back to liac-arff.
            if parser == "liac-arff":
                raise
    X = np.asarray(X)
    if X.size and (X.min() < 0 or X.max() > 255 or not np.array_equal(X, np.round(X))):
        raise DatasetIntegrityError("OpenML's mnist_784 holds pixel values outside 0-255.")
    images = X.astype(np.uint8).reshape(-1, *IMAGE_SHAPE)
    labels = np.asarray(y).astype(np.int64).astype(np.uint8)  # OpenML labels are '0'..'9'
    _check_arrays(images, labels, "OpenML")
    return images, labels


def _download(home):
    """Fetch from OpenML; into a temporary folder when ``home`` cannot be written to."""
    try:
        (home / "hdrnn").mkdir(parents=True, exist_ok=True)
        writable = os.access(home, os.W_OK | os.X_OK)
    except OSError:
        writable = False
    if writable:
        return _fetch_from_openml(home)
    # scikit-learn keeps its raw download under data_home: give it a folder it can
    # write, so that a read-only cache is not mistaken for a network failure.
    with tempfile.TemporaryDirectory(prefix="hdrnn-openml-") as scratch:
        return _fetch_from_openml(Path(scratch))


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
    """Return (images, labels, where they came from)."""
    if source is not None and str(source) != "openml":
        images, labels = load_idx_folder(source)
        return images, labels, str(source)
    if source is None and os.environ.get("HDRNN_MNIST_DIR"):
        folder = os.environ["HDRNN_MNIST_DIR"]
        images, labels = load_idx_folder(folder)
        return images, labels, f"HDRNN_MNIST_DIR={folder}"

    home = _data_home(data_home)
    cache_path = home / "hdrnn" / CACHE_NAME
    if source is None and cache_path.exists():
        try:
            images, labels = _read_cache(cache_path)
            return images, labels, str(cache_path)
        except (DatasetIntegrityError, OSError, ValueError) as error:
            corrupt = _move_aside(cache_path)
            warnings.warn(
                f"{error} It was moved to {corrupt} and MNIST will be fetched again.",
                RuntimeWarning,
                stacklevel=3,
            )
    if not download_if_missing:
        raise DatasetUnavailableError(
            f"MNIST is not cached at {cache_path} and download_if_missing=False. "
            "Set HDRNN_MNIST_DIR to a folder of MNIST IDX files, or allow the download."
        )
    try:
        images, labels = _download(home)
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
        (60000), ``source`` and ``DESCR``. With ``return_X_y=True``, the
        tuple ``(X_train, X_test, y_train, y_test)`` of the standard split.

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
    images, labels, origin = _load_images_and_labels(source, data_home, download_if_missing)
    if as_uint8:
        data = images.reshape(len(images), -1)
    else:
        data = images.reshape(len(images), -1).astype(np.float32)
        np.divide(data, 255, out=data)  # in place: no float64 temporary of 70 000 images
    target = labels.astype(np.int64)
    if return_X_y:
        return data[:N_TRAIN], data[N_TRAIN:], target[:N_TRAIN], target[N_TRAIN:]
    return Bunch(
        data=data,
        images=data.reshape(-1, *IMAGE_SHAPE),
        target=target,
        feature_names=[f"pixel{i}" for i in range(1, data.shape[1] + 1)],
        target_names=list(range(10)),
        n_train=N_TRAIN,
        source=origin,
        DESCR=DESCR,
    )
