"""The IDX files MNIST is distributed in, read with bounded work.

:func:`read_idx` reads any IDX file, gzipped or not, checking the header
before the data; :func:`load_idx_folder` reads and checks the four MNIST
files of a folder.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from hdrnn.exceptions import DatasetIntegrityError, DatasetUnavailableError, IDXFormatError

N_TRAIN, N_TEST = 60_000, 10_000
IMAGE_SHAPE = (28, 28)
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

# IDX files hold 1 to 4 dimensions (MNIST: 1 for labels, 3 for images).
MAX_IDX_DIMENSIONS = 4

# Deflate never expands data by more than about 1032 times: a gzip file that
# declares more than that of its own size is truncated or lying.
GZIP_MAX_EXPANSION = 1032

# IDX data are read (and a gzip stream inflated) this many bytes at a time.
READ_CHUNK = 1 << 20

# IDX type codes (the third byte of the magic number) and their big-endian dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


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
            # One byte more than declared reveals padding; a damaged gzip stream
            # keeps what it inflated, to say how much of the file was there.
            raw, broken = _read_up_to(file, n_bytes + 1)
            extra = 0
            if len(raw) > n_bytes and compressed and broken is None:
                extra, broken = _count_rest(file, limit=_trailing_limit(n_bytes))
    except (OSError, EOFError, zlib.error) as error:  # gzip raises these for damaged files
        raise IDXFormatError(f"Cannot read IDX file {path}: {error}") from error
    if len(raw) == n_bytes and broken is None:
        data = np.frombuffer(raw, dtype=dtype).reshape(shape)
        return data.astype(dtype.newbyteorder("="))
    raise IDXFormatError(
        _size_problem(path, shape, (header_size, n_bytes), (len(raw), extra, file_size), broken)
    )


def _size_problem(path, shape, declared, found, broken):
    """What is wrong with an IDX file whose data are not the declared size, in words."""
    header_size, n_bytes = declared
    n_read, extra, file_size = found
    compressed = path.suffix == ".gz"
    unpacked = " once decompressed" if compressed else ""
    if n_read < n_bytes:
        problem, actual = "truncated", f"{header_size + n_read:,}"
    elif n_read > n_bytes:
        total = header_size + n_read + extra
        capped = extra >= _trailing_limit(n_bytes) and broken is None
        problem = "padded with trailing bytes"
        actual = f"{'more than ' if capped else ''}{total if compressed else file_size:,}"
    else:
        problem, actual = "damaged after its data", f"{header_size + n_read:,}"
    stream = f" before its gzip stream breaks ({broken})" if broken else ""
    return (
        f"{path} is {problem}: its header declares shape {shape}, so it should hold "
        f"{header_size + n_bytes:,} bytes{unpacked}, but it holds {actual}{unpacked}{stream}."
    )


def _trailing_limit(n_bytes):
    """How many trailing bytes past ``n_bytes`` of data are counted before saying "more
    than" (a gzip stream may inflate far beyond its size)."""
    return max(n_bytes, READ_CHUNK)


def _read_up_to(file, n_bytes):
    """``(data, error)``: up to ``n_bytes`` of ``file`` (read into one buffer, chunk by
    chunk), and why a damaged stream stopped early (None when it did not fail)."""
    buffer = bytearray(n_bytes)
    view, size = memoryview(buffer), 0
    try:
        while size < n_bytes:
            got = file.readinto(view[size : min(size + READ_CHUNK, n_bytes)])
            if not got:
                break
            size += got
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        return view[:size], error
    return view[:size], None


def _count_rest(file, limit):
    """``(count, error)``: the bytes left in ``file``, read and dropped up to ``limit``,
    and why a damaged stream stopped."""
    count = 0
    try:
        while count < limit and (chunk := file.read(min(READ_CHUNK, limit - count))):
            count += len(chunk)
    except (EOFError, zlib.error, gzip.BadGzipFile) as error:
        return count, error
    return count, None


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
        Training images first, then test images (as many of each as the
        files hold: 60 000 and 10 000 in MNIST).
    labels : ndarray of shape (70000,), dtype uint8
    """
    images, labels, _ = read_idx_split(folder)
    return images, labels


def read_idx_split(folder):
    """``(images, labels, n_train)``: :func:`load_idx_folder`'s arrays and how many of
    them came from the training files (the split point, whatever the files hold)."""
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
    return images, labels, len(parts["train_images"])


def check_arrays(images, labels, origin):
    n = N_TRAIN + N_TEST
    if images.shape != (n, *IMAGE_SHAPE) or labels.shape != (n,):
        raise DatasetIntegrityError(
            f"MNIST from {origin} has images of shape {images.shape} and labels of shape "
            f"{labels.shape}; expected ({n}, 28, 28) and ({n},)."
        )
