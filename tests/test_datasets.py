"""The MNIST data layer: IDX files, the OpenML path (mocked, never the network), the cache."""

import errno
import gzip
import hashlib
import io
import json
import os
import socket
import threading
import tracemalloc
import zlib
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hdrnn.datasets._idx as _idx
import hdrnn.datasets._mnist as _mnist
import hdrnn.datasets._openml as _openml
from hdrnn import (
    DatasetIntegrityError,
    DatasetUnavailableError,
    IDXFormatError,
    load_mnist,
    read_idx,
)

N_TRAIN, N_TEST = 8, 4


# ------------------------------------------------------------ tiny MNIST


def _tiny_mnist(seed=0):
    rng = np.random.RandomState(seed)
    images = rng.randint(0, 256, size=(N_TRAIN + N_TEST, 28, 28)).astype(np.uint8)
    images[0] = 0
    images[0, 5:20, 10:14] = 255  # a "1" with full-intensity pixels
    labels = (np.arange(N_TRAIN + N_TEST) % 10).astype(np.uint8)
    return images, labels


def _idx_bytes(array):
    code = {np.dtype("u1"): 8, np.dtype(">i4"): 0x0C}[array.dtype]
    header = bytes([0, 0, code, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.tobytes()


def _write_idx_folder(folder, images, labels, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    parts = {
        "train-images-idx3-ubyte": images[:N_TRAIN],
        "train-labels-idx1-ubyte": labels[:N_TRAIN],
        "t10k-images-idx3-ubyte": images[N_TRAIN:],
        "t10k-labels-idx1-ubyte": labels[N_TRAIN:],
    }
    for stem, array in parts.items():
        data = _idx_bytes(array)
        if gz:
            (folder / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / stem).write_bytes(data)
    return folder


@pytest.fixture(autouse=True)
def tiny_sizes(monkeypatch):
    """Let the loader accept a 12-image MNIST; keep the real folder out of the way."""
    monkeypatch.setattr(_idx, "N_TRAIN", N_TRAIN)
    monkeypatch.setattr(_idx, "N_TEST", N_TEST)
    monkeypatch.delenv("HDRNN_MNIST_DIR", raising=False)


# ------------------------------------------------------------------ IDX


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trips_images_and_labels(tmp_path, gz):
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path, images, labels, gz=gz)
    suffix = ".gz" if gz else ""
    np.testing.assert_array_equal(
        read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images[:N_TRAIN]
    )
    np.testing.assert_array_equal(
        read_idx(tmp_path / f"t10k-labels-idx1-ubyte{suffix}"), labels[N_TRAIN:]
    )


def test_read_idx_reads_big_endian_integers(tmp_path):
    values = np.array([1, -2, 70000], dtype=">i4")
    (tmp_path / "ints").write_bytes(_idx_bytes(values))
    result = read_idx(tmp_path / "ints")
    assert result.dtype.isnative
    np.testing.assert_array_equal(result, [1, -2, 70000])


def test_bad_magic_number_is_named(tmp_path):
    # battery row 50
    path = tmp_path / "picture.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(IDXFormatError, match=r"picture\.png is not an IDX file.*89504e47"):
        read_idx(path)


def test_truncated_file_names_expected_and_actual_bytes(tmp_path):
    # battery row 50
    images, _ = _tiny_mnist()
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(_idx_bytes(images)[:-10])
    expected = 16 + images.size
    with pytest.raises(IDXFormatError, match=rf"truncated.*{expected:,}.*{expected - 10:,}"):
        read_idx(path)


def test_padded_file_is_rejected(tmp_path):
    # battery row 50
    path = tmp_path / "labels"
    path.write_bytes(_idx_bytes(np.arange(5, dtype=np.uint8)) + b"\0\0")
    with pytest.raises(IDXFormatError, match=r"padded with trailing bytes.*13 bytes.*15"):
        read_idx(path)


def test_truncated_gzip_stream_is_an_idx_error_with_both_sizes(tmp_path):
    # battery row 50: the expected and the actual bytes, also when the stream
    # breaks off (it said only "Compressed file ended before the end-of-stream")
    path = tmp_path / "labels.gz"
    labels = np.arange(250, dtype=np.uint8)
    stream = gzip.compress(_idx_bytes(labels), compresslevel=0)  # stored: bytes stay bytes
    path.write_bytes(stream[: len(stream) // 2])
    with pytest.raises(IDXFormatError, match="truncated") as raised:
        read_idx(path)
    message = str(raised.value)
    assert "should hold 258 bytes once decompressed" in message
    held = int(message.split("but it holds ")[1].split(" ")[0])
    assert 0 < held < 258 and "gzip stream breaks" in message


def test_trailing_bytes_in_a_gzip_stream_are_counted(tmp_path):
    # battery row 50 ("it holds more" named no size)
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_idx_bytes(np.arange(5, dtype=np.uint8)) + bytes(10)))
    with pytest.raises(IDXFormatError, match=r"padded with trailing bytes.*13 bytes.*holds 23 "):
        read_idx(path)


@pytest.mark.parametrize("gz", [True, False])
def test_a_header_declaring_more_than_the_file_holds_is_refused_before_reading(tmp_path, gz):
    # Dimensions whose product would overflow 64 bits: refused with positive numbers.
    header = bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3
    path = tmp_path / ("huge.gz" if gz else "huge")
    path.write_bytes(gzip.compress(header + bytes(100)) if gz else header + bytes(100))
    tracemalloc.start()
    with pytest.raises(IDXFormatError, match=r"header declares 79,228,[0-9,]+ bytes, but "):
        read_idx(path)
    assert tracemalloc.get_traced_memory()[1] < 1 << 20
    tracemalloc.stop()


def test_more_than_four_dimensions_are_refused(tmp_path):
    path = tmp_path / "cube"
    path.write_bytes(bytes([0, 0, 8, 7]) + (1).to_bytes(4, "big") * 7 + b"x")
    with pytest.raises(IDXFormatError, match="declares 7 dimensions; IDX files have 1 to 4"):
        read_idx(path)


def test_a_gzip_bomb_is_inflated_only_as_far_as_the_header_declares(tmp_path):
    # 64 MiB of zeros behind a header declaring 5 labels: refused after 6 bytes
    path = tmp_path / "labels.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    body = compressor.compress(_idx_bytes(np.arange(5, dtype=np.uint8)))
    zeros = bytes(1 << 20)
    body += b"".join(compressor.compress(zeros) for _ in range(64)) + compressor.flush()
    path.write_bytes(body)
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(
        IDXFormatError, match=r"padded with trailing bytes.*13 bytes once decompressed"
    ):
        read_idx(path)
    assert tracemalloc.get_traced_memory()[1] < 4 << 20
    tracemalloc.stop()


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=64))
def test_arbitrary_bytes_give_an_array_or_an_idx_error(tmp_path_factory, raw):
    # battery row 50: Hypothesis fuzz of headers
    path = tmp_path_factory.mktemp("fuzz") / "file"
    path.write_bytes(raw)
    try:
        array = read_idx(path)
    except IDXFormatError:
        return
    assert isinstance(array, np.ndarray)


def test_label_ten_is_rejected(tmp_path):
    # battery row 50
    images, labels = _tiny_mnist()
    labels[3] = 10
    _write_idx_folder(tmp_path, images, labels)
    with pytest.raises(IDXFormatError, match=r"label 10 at position 3.*digits 0-9"):
        load_mnist(source=tmp_path)


def test_image_label_count_mismatch_is_rejected(tmp_path):
    # battery row 50
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path, images, labels)
    short = _idx_bytes(labels[: N_TRAIN - 1])
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(short))
    with pytest.raises(IDXFormatError, match="8 train images but 7 train labels"):
        load_mnist(source=tmp_path)


def test_a_file_where_the_folder_should_be_is_named(tmp_path, monkeypatch):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"")
    monkeypatch.setenv("HDRNN_MNIST_DIR", str(path))
    with pytest.raises(DatasetUnavailableError, match="is a file, not a folder"):
        load_mnist()


def test_missing_idx_file_is_named(tmp_path):
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path, images, labels)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetUnavailableError, match="no MNIST file t10k-images-idx3-ubyte"):
        load_mnist(source=tmp_path)


# ------------------------------------------------------- load_mnist (IDX)


def test_load_mnist_from_an_idx_folder(tmp_path):
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path, images, labels)
    mnist = load_mnist(source=tmp_path)
    assert mnist.data.shape == (N_TRAIN + N_TEST, 784) and mnist.data.dtype == np.float32
    assert mnist.images.shape == (N_TRAIN + N_TEST, 28, 28)
    assert mnist.data.min() == 0.0 and mnist.data.max() == 1.0
    np.testing.assert_array_equal(mnist.target, labels.astype(np.int64))
    assert mnist.target.dtype == np.int64
    assert mnist.feature_names[0] == "pixel1" and "MNIST" in mnist.DESCR

    X_train, X_test, _, y_test = load_mnist(source=tmp_path, return_X_y=True)
    assert X_train.shape == (N_TRAIN, 784) and X_test.shape == (N_TEST, 784)
    np.testing.assert_array_equal(y_test, labels[N_TRAIN:])
    raw = load_mnist(source=tmp_path, as_uint8=True)
    np.testing.assert_array_equal(raw.data, images.reshape(-1, 784))


def test_idx_files_are_split_where_their_training_files_end(tmp_path, monkeypatch):
    # A folder of valid IDX files with fewer training images than MNIST's (a
    # subset, or another dataset in its format) was split at MNIST's count:
    # test images became training images, silently.
    monkeypatch.setattr(_idx, "N_TRAIN", 10)  # MNIST's count, here more than the files hold
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path, images, labels)
    X_train, X_test, y_train, y_test = load_mnist(source=tmp_path, return_X_y=True)
    assert (len(X_train), len(X_test)) == (N_TRAIN, N_TEST)
    np.testing.assert_array_equal(y_train, labels[:N_TRAIN])
    np.testing.assert_array_equal(y_test, labels[N_TRAIN:])
    assert load_mnist(source=tmp_path).n_train == N_TRAIN


def test_environment_variable_points_at_the_idx_folder(tmp_path, monkeypatch):
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path / "mnist", images, labels, gz=False)
    monkeypatch.setenv("HDRNN_MNIST_DIR", str(tmp_path / "mnist"))
    mnist = load_mnist(data_home=tmp_path / "home")
    assert mnist.source.startswith("HDRNN_MNIST_DIR=")
    assert not (tmp_path / "home" / "hdrnn").exists()  # IDX files need no cache


# ------------------------------------------------------ OpenML, mocked


def _openml_fixture(images, labels):
    """Responses of OpenML's API for data id 554, keyed by URL path."""
    n = len(images)
    lines = ["@RELATION mnist_784", ""]
    lines += [f"@ATTRIBUTE pixel{i} NUMERIC" for i in range(1, 785)]
    lines += ["@ATTRIBUTE class {0,1,2,3,4,5,6,7,8,9}", "", "@DATA"]
    for image, label in zip(images.reshape(n, -1), labels):
        lines.append(",".join(map(str, image)) + f",{label}")
    arff = ("\n".join(lines) + "\n").encode()
    features = [
        {
            "index": str(i - 1),
            "name": f"pixel{i}",
            "data_type": "numeric",
            "is_target": "false",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
        for i in range(1, 785)
    ]
    features.append(
        {
            "index": "784",
            "name": "class",
            "data_type": "nominal",
            "nominal_value": [str(d) for d in range(10)],
            "is_target": "true",
            "is_ignore": "false",
            "is_row_identifier": "false",
            "number_of_missing_values": "0",
        }
    )
    description = {
        "data_set_description": {
            "id": "554",
            "name": "mnist_784",
            "version": "1",
            "format": "ARFF",
            "file_id": "52667",
            "default_target_attribute": "class",
            "status": "active",
            "url": "https://api.openml.org/data/v1/download/52667/mnist_784.arff",
            "md5_checksum": hashlib.md5(arff).hexdigest(),
            "description": "A tiny stand-in for MNIST.",
        }
    }
    qualities = {"data_qualities": {"quality": [{"name": "NumberOfInstances", "value": f"{n}.0"}]}}
    return {
        "/api/v1/json/data/554": json.dumps(description).encode(),
        "/api/v1/json/data/features/554": json.dumps(
            {"data_features": {"feature": features}}
        ).encode(),
        "/api/v1/json/data/qualities/554": json.dumps(qualities).encode(),
        "/data/v1/download/52667/mnist_784.arff": arff,
    }


class _Response(io.BytesIO):
    """What urlopen returns: a gzip-encoded body with headers."""

    def __init__(self, url, body):
        super().__init__(gzip.compress(body))
        self.url = url

    def info(self):
        return {"Content-Encoding": "gzip"}


ARFF_PATH = "/data/v1/download/52667/mnist_784.arff"


class FakeOpenML:
    """Serves the fixture in place of urllib's urlopen, and records what was asked.

    ``failures`` maps a URL path to exceptions raised, one per request, before
    the fixture is served (an HTTPError, a timeout, a KeyboardInterrupt...).
    """

    def __init__(self, responses):
        self.responses = responses
        self.paths = []
        self.timeouts = []
        self.failures = {}
        self.lock = threading.Lock()

    def __call__(self, request, *args, **kwargs):
        url = getattr(request, "full_url", request)
        path = urlparse(url).path
        if path.startswith("/data/v1/download/52667"):  # scikit-learn < 1.7 drops the name
            path = ARFF_PATH
        with self.lock:
            self.paths.append(path)
            self.timeouts.append(kwargs.get("timeout", socket.getdefaulttimeout()))
            pending = self.failures.get(path)
            failure = pending.pop(0) if pending else None
        if failure is not None:
            raise failure
        if path not in self.responses:
            raise AssertionError(f"unexpected OpenML request {url}")
        return _Response(url, self.responses[path])


@pytest.fixture
def openml(monkeypatch):
    images, labels = _tiny_mnist()
    fake = FakeOpenML(_openml_fixture(images, labels))
    monkeypatch.setattr("sklearn.datasets._openml.urlopen", fake)
    return fake


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch):
    """Retries do not sleep in the tests."""
    monkeypatch.setattr("sklearn.datasets._openml.time.sleep", lambda seconds: None)
    monkeypatch.setattr(_openml.time, "sleep", lambda seconds: None)


def _offline(monkeypatch):
    def refuse(request, *args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", refuse)


def test_first_load_goes_through_openml_and_writes_the_cache(tmp_path, openml):
    mnist = load_mnist(data_home=tmp_path)
    images, labels = _tiny_mnist()
    np.testing.assert_array_equal(mnist.target, labels)
    np.testing.assert_array_equal(load_mnist(data_home=tmp_path, as_uint8=True).images, images)
    cache = tmp_path / "hdrnn" / "mnist_784.npz"
    digest = (tmp_path / "hdrnn" / "mnist_784.npz.sha256").read_text().split()[0]
    assert digest == hashlib.sha256(cache.read_bytes()).hexdigest()
    assert ARFF_PATH in openml.paths


def test_every_request_has_a_timeout(tmp_path, openml):
    # battery row 47: a stalled connection times out (30 s per socket operation)
    load_mnist(data_home=tmp_path)
    assert set(openml.timeouts) == {_openml.NETWORK_TIMEOUT_SECONDS}
    assert socket.getdefaulttimeout() is None  # restored afterwards


def test_a_stalled_connection_ends_in_the_clear_error(tmp_path, openml):
    # battery row 47: every attempt times out: the offline error after a few tries
    description = "/api/v1/json/data/554"
    openml.failures[description] = [TimeoutError("timed out") for _ in range(10)]
    with pytest.raises(DatasetUnavailableError, match="HDRNN_MNIST_DIR") as info:
        load_mnist(data_home=tmp_path)
    assert "timed out" in str(info.value)
    assert openml.paths.count(description) == _openml.NETWORK_ATTEMPTS


def test_a_transient_failure_is_retried(tmp_path, openml):
    openml.failures["/api/v1/json/data/554"] = [URLError("reset") for _ in range(2)]
    assert load_mnist(data_home=tmp_path).data.shape == (N_TRAIN + N_TEST, 784)


@pytest.mark.parametrize(
    ("code", "match"), [(404, "HTTP 404 \\(dataset not found\\)"), (410, "HTTP 410")]
)
def test_openml_4xx_answers_are_not_retried(tmp_path, openml, code, match):
    # battery row 48
    description = "/api/v1/json/data/554"
    openml.failures[description] = [
        HTTPError(f"https://api.openml.org{description}", code, "Not Found", {}, None)
        for _ in range(10)
    ]
    with pytest.raises(DatasetUnavailableError, match=match):
        load_mnist(data_home=tmp_path)
    assert openml.paths.count(description) == 1


def test_openml_412_is_precondition_failed(tmp_path, openml):
    # battery row 48: OpenML's 412 carries its own error, which scikit-learn raises
    description = "/api/v1/json/data/554"
    body = io.BytesIO(json.dumps({"error": {"code": "111", "message": "Unknown"}}).encode())
    openml.failures[description] = [
        HTTPError(f"https://api.openml.org{description}", 412, "Precondition", {}, body)
    ]
    with pytest.raises(DatasetUnavailableError, match="HTTP 412 \\(precondition failed\\)"):
        load_mnist(data_home=tmp_path)
    assert openml.paths.count(description) == 1


def test_a_download_interrupted_by_ctrl_c_leaves_nothing_behind(tmp_path, openml):
    # battery row 34: no partial cache file, no temporary folder; the next run downloads
    openml.failures[ARFF_PATH] = [KeyboardInterrupt()]
    with pytest.raises(KeyboardInterrupt):
        load_mnist(data_home=tmp_path)
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not [p for p in leftovers if "arff" in p.name or p.suffix in (".npz", ".tmp")]
    assert not list(tmp_path.rglob("tmp*")) and not (tmp_path / "hdrnn" / "mnist_784.npz").exists()
    assert load_mnist(data_home=tmp_path).data.shape == (N_TRAIN + N_TEST, 784)
    assert openml.paths.count(ARFF_PATH) == 2


def test_two_threads_fetching_at_once_both_succeed(tmp_path, openml):
    # battery row 49: the cache is valid afterwards (each file is replaced atomically)
    results, errors = [], []

    def fetch():
        try:
            results.append(load_mnist(data_home=tmp_path).target)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=fetch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(results) == 2
    cache = tmp_path / "hdrnn" / "mnist_784.npz"
    digest = (tmp_path / "hdrnn" / "mnist_784.npz.sha256").read_text().split()[0]
    assert digest == hashlib.sha256(cache.read_bytes()).hexdigest()
    assert not list((tmp_path / "hdrnn").glob(".*.tmp"))


def test_an_md5_mismatch_twice_is_an_integrity_error(tmp_path, openml):
    # battery row 46's network side: scikit-learn downloads again once; the second
    # bad copy is a DatasetIntegrityError naming the expected and actual md5
    openml.responses[ARFF_PATH] = openml.responses[ARFF_PATH] + b"% tampered\n"
    with pytest.warns(RuntimeWarning, match="redownloading"):
        with pytest.raises(
            DatasetIntegrityError,
            match=r"md5 integrity check twice.*expected:? [0-9a-f]{32}.*got:? [0-9a-f]{32}",
        ):
            load_mnist(data_home=tmp_path)


def test_a_cache_folder_that_cannot_be_written_still_returns_the_data(tmp_path, openml):
    # Not blamed on the network, and the download is not thrown away.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="downloaded but could not be cached"):
        mnist = load_mnist(data_home=blocker / "cache")
    np.testing.assert_array_equal(mnist.target, _tiny_mnist()[1])
    assert mnist.source == "OpenML (data id 554), not cached"


def test_a_full_disk_while_caching_still_returns_the_data(tmp_path, openml, monkeypatch):
    def disk_full(cache_path, images, labels):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_mnist, "_write_cache", disk_full)
    with pytest.warns(RuntimeWarning, match="No space left on device"):
        mnist = load_mnist(data_home=tmp_path)
    assert mnist.data.shape == (N_TRAIN + N_TEST, 784)


def test_openml_and_idx_files_give_the_same_arrays(tmp_path, openml):
    images, labels = _tiny_mnist()
    _write_idx_folder(tmp_path / "idx", images, labels)
    from_openml = load_mnist(data_home=tmp_path, return_X_y=True)
    from_idx = load_mnist(source=tmp_path / "idx", return_X_y=True)
    for a, b in zip(from_openml, from_idx):
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype


def test_second_load_makes_no_http_call(tmp_path, openml, monkeypatch):
    # battery row 45
    first = load_mnist(data_home=tmp_path)

    def no_network(*args, **kwargs):
        pytest.fail("the cached load asked the network")

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", no_network)
    second = load_mnist(data_home=tmp_path)
    np.testing.assert_array_equal(first.data, second.data)
    assert second.source.endswith("mnist_784.npz")


def test_scikit_learn_data_environment_variable_sets_the_cache_home(tmp_path, openml, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sk"))
    load_mnist()
    assert (tmp_path / "sk" / "hdrnn" / "mnist_784.npz").exists()


def test_corrupted_cache_is_moved_aside_and_rebuilt(tmp_path, openml):
    # battery row 46
    load_mnist(data_home=tmp_path)
    cache = tmp_path / "hdrnn" / "mnist_784.npz"
    data = bytearray(cache.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cache.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning, match="corrupted.*moved to"):
        mnist = load_mnist(data_home=tmp_path)
    np.testing.assert_array_equal(mnist.target, _tiny_mnist()[1])
    assert len(list((tmp_path / "hdrnn").glob("mnist_784.npz.corrupt-*"))) == 1
    assert openml.paths.count(ARFF_PATH) == 1  # ARFF cached by scikit-learn


def test_a_rebuilt_cache_that_is_bad_again_raises(tmp_path, openml, monkeypatch):
    # battery row 46: with the expected and the actual sha256
    load_mnist(data_home=tmp_path)
    cache = tmp_path / "hdrnn" / "mnist_784.npz"
    cache.write_bytes(b"garbage")

    def write_garbage(cache_path, images, labels):
        cache_path.write_bytes(b"still garbage")

    monkeypatch.setattr(_mnist, "_write_cache", write_garbage)
    with pytest.warns(RuntimeWarning, match="corrupted"):
        with pytest.raises(
            DatasetIntegrityError, match=r"sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"
        ):
            load_mnist(data_home=tmp_path)


def test_interrupted_cache_write_leaves_no_cache_and_no_temp_file(tmp_path, openml, monkeypatch):
    # battery row 34: Ctrl-C while the cache is written
    real_savez = np.savez_compressed
    calls = []

    def interrupted_once(file, **arrays):
        calls.append(1)
        if len(calls) == 1:
            file.write(b"half a file")
            raise KeyboardInterrupt
        real_savez(file, **arrays)

    monkeypatch.setattr(np, "savez_compressed", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        load_mnist(data_home=tmp_path)
    assert sorted(p.name for p in (tmp_path / "hdrnn").iterdir()) == []
    assert load_mnist(data_home=tmp_path).data.shape == (N_TRAIN + N_TEST, 784)
    assert sorted(p.name for p in (tmp_path / "hdrnn").iterdir()) == [
        "mnist_784.npz",
        "mnist_784.npz.sha256",
    ]


def test_offline_without_cache_says_what_to_do(tmp_path, monkeypatch):
    # battery row 44 (the command line's exit code: test_cli)
    _offline(monkeypatch)
    with pytest.raises(DatasetUnavailableError) as info:
        load_mnist(data_home=tmp_path)
    message = str(info.value)
    assert "HDRNN_MNIST_DIR" in message and "load_digits" in message
    assert "source=" in message and "--data-dir" in message and "--dataset digits" in message
    assert str(tmp_path / "hdrnn" / "mnist_784.npz") in message
    assert isinstance(info.value.__cause__, URLError)
    assert not (tmp_path / "hdrnn" / "mnist_784.npz").exists()


def test_download_if_missing_false_never_asks_the_network(tmp_path, monkeypatch):
    monkeypatch.setattr("sklearn.datasets._openml.urlopen", lambda *a, **k: pytest.fail("network"))
    with pytest.raises(DatasetUnavailableError, match="download_if_missing=False"):
        load_mnist(data_home=tmp_path, download_if_missing=False)


@pytest.mark.parametrize("pandas_installed", [True, False])
def test_openml_parser_works_with_and_without_pandas(
    tmp_path, openml, monkeypatch, pandas_installed
):
    # battery row 51
    real_find_spec = _openml.importlib.util.find_spec

    def find_spec(name, *args):
        if name == "pandas" and not pandas_installed:
            return None
        return real_find_spec(name, *args)

    monkeypatch.setattr(_openml.importlib.util, "find_spec", find_spec)
    import sklearn.datasets

    fetch_openml, parsers = sklearn.datasets.fetch_openml, []

    def spy(*args, **kwargs):
        parsers.append(kwargs["parser"])
        return fetch_openml(*args, **kwargs)

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", spy)
    mnist = load_mnist(source="openml", data_home=tmp_path)
    # pandas is used when installed, except where scikit-learn's pandas parser
    # trips over pandas >= 3.1 (scikit-learn #34892): then liac-arff, at once.
    if not pandas_installed:
        assert parsers == ["liac-arff"]
    elif _openml._pandas_parser_is_broken():
        assert parsers == ["liac-arff"]
    else:
        assert parsers == ["pandas"]
    np.testing.assert_array_equal(mnist.target, _tiny_mnist()[1])
    assert openml.paths.count(ARFF_PATH) == 1


# ------------------------------------------------------ real MNIST files


REAL_MNIST = os.environ.get("HDRNN_MNIST_DIR")


@pytest.mark.skipif(not REAL_MNIST, reason="HDRNN_MNIST_DIR is not set")
def test_real_mnist_files(monkeypatch):
    monkeypatch.setattr(_idx, "N_TRAIN", 60_000)
    monkeypatch.setattr(_idx, "N_TEST", 10_000)
    X_train, X_test, y_train, y_test = load_mnist(source=Path(REAL_MNIST), return_X_y=True)
    assert X_train.shape == (60_000, 784) and X_test.shape == (10_000, 784)
    assert X_train.dtype == np.float32 and 0 <= X_train.min() and X_train.max() == 1
    counts = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    np.testing.assert_array_equal(np.bincount(y_train), counts)
    assert np.bincount(y_test).sum() == 10_000 and len(np.unique(y_test)) == 10
    assert float(X_train.mean()) == pytest.approx(0.1307, abs=1e-4)
