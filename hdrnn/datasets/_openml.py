"""Downloading MNIST from OpenML, with bounded waits and clear failures.

OpenML is asked first for MNIST's description, so that an unreachable
server fails after a few timeouts and a 4xx answer at once; then
scikit-learn's ``fetch_openml`` downloads the data, which is checked before
it is returned.
"""

import contextlib
import importlib.util
import io
import os
import socket
import tempfile
import time
import warnings
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np
import sklearn
import sklearn.datasets

from hdrnn._utils.sklearn_compat import OpenMLError, openml_description_url, openml_urlopen
from hdrnn.datasets import _idx
from hdrnn.exceptions import DatasetIntegrityError, DatasetUnavailableError

MNIST_OPENML_ID = 554
NETWORK_ATTEMPTS = 3
NETWORK_RETRY_DELAY_SECONDS = 1.0
NETWORK_TIMEOUT_SECONDS = 30.0


def download(home):
    """Fetch MNIST from OpenML; into a temporary folder when ``home`` cannot be written to.

    Returns
    -------
    images : ndarray of shape (70000, 28, 28), uint8
    labels : ndarray of shape (70000,), uint8
    """
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
    import pandas as pd  # optional: only called when it is installed

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
    for parser in _openml_parsers():
        try:
            with _socket_timeout(NETWORK_TIMEOUT_SECONDS), warnings.catch_warnings():
                # fetch_openml always tries twice at least (n_retries >= 1), 4xx answers
                # included; its second try is made at once and silently, and the real
                # retries, which skip 4xx answers, are _fetch_from_openml's.
                warnings.filterwarnings("ignore", "A network error occurred", UserWarning)
                X, y = sklearn.datasets.fetch_openml(
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
    images = X.astype(np.uint8).reshape(-1, *_idx.IMAGE_SHAPE)
    labels = np.asarray(y).astype(np.int64).astype(np.uint8)  # OpenML labels are '0'..'9'
    _idx.check_arrays(images, labels, "OpenML")
    return images, labels
