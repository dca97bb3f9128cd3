"""Safe model files: round trips, atomic writes, safe save targets, and the threat model.

Anyone may hand a user an ``.hdrnn`` file, so most of this file is about
files made by someone else: damaged, foreign, pickled, or crafted with a
valid checksum. Each gives a ModelFileError, never a raw error, a huge
allocation, or a model that predicts nonsense.
"""

import copy
import errno
import io
import json
import os
import pickle
import socket
import stat
import sys
import tracemalloc
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import joblib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hdrnn.persistence as persistence
import hdrnn.persistence._document as _model_document
from hdrnn import (
    DigitMLPClassifier,
    IncompatibleModelError,
    ModelFileError,
    ModelFormatWarning,
    ModelVersionWarning,
    UnsafeModelError,
    load,
    save,
)
from hdrnn.augmentation import Augmentation
from hdrnn.persistence._document import checksum

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

FIXTURES = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    model = DigitMLPClassifier((24, 12), max_iter=15, random_state=0, early_stopping=True)
    return model.fit(X.astype(np.float32), y), X.astype(np.float32), y


@pytest.fixture(scope="module")
def tiny(digits):
    """A small float32 model and its file contents, for crafting files."""
    X, y = digits
    X = X.astype(np.float32)
    model = DigitMLPClassifier((4,), max_iter=1, random_state=0).fit(X, y)
    return model, X[:50]


def test_round_trip_predicts_identically_and_keeps_attributes(fitted, tmp_path):
    model, X, _ = fitted
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.get_params() == model.get_params()
    for name in ("n_iter_", "loss_curve_", "validation_scores_", "history_", "classes_"):
        assert np.array_equal(getattr(loaded, name), getattr(model, name)), name
    for name in ("interrupted_", "dead_units_fraction_"):
        assert getattr(loaded, name) == getattr(model, name), name
    assert loaded.coefs_[0].dtype == np.float32


def _same_value(a, b):
    """Whether two attribute values are equal: arrays, lists of arrays, states, binarizers."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
        return len(a) == len(b) and all(_same_value(x, y) for x, y in zip(a, b))
    if hasattr(a, "state_dict"):  # the training state
        first, second = a.state_dict(), b.state_dict()
        return first["scalars"] == second["scalars"] and _same_value(
            list(first["arrays"].values()), list(second["arrays"].values())
        )
    if hasattr(a, "get_params"):  # the label binarizer
        return vars(a).keys() == vars(b).keys() and all(
            _same_value(vars(a)[k], vars(b)[k]) for k in vars(a)
        )
    return a == b


@pytest.mark.parametrize(
    "params",
    [
        dict(early_stopping=True, learning_rate="plateau", class_weight={0: 2.0}),
        dict(solver="sgd", learning_rate="adaptive", dropout=0.1, augment="shift"),
        dict(solver="lbfgs", tol=1e-2),
    ],
    ids=["adam-early-stopping", "sgd-extras", "lbfgs"],
)
def test_a_loaded_model_has_exactly_the_saved_models_attributes(small_digits, tmp_path, params):
    X, y = small_digits
    model = DigitMLPClassifier((8,), max_iter=12, random_state=0, **params).fit(X, y)
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    assert vars(loaded).keys() == vars(model).keys()
    for name, value in vars(model).items():
        assert _same_value(value, vars(loaded)[name]), name


def test_training_continues_exactly_after_loading(small_digits, tmp_path):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, shuffle=False, max_iter=3)
    model = DigitMLPClassifier(**params).fit(X, y)
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)  # Adam's moments came back from the file
    np.testing.assert_array_equal(loaded.coefs_[0], model.coefs_[0])


@pytest.mark.parametrize(
    "labels",
    [lambda y: np.array(["zero", "one", "two"])[y % 3], lambda y: (y % 2).astype(bool)],
    ids=["strings", "binary-bool"],
)
def test_label_types_survive(small_digits, tmp_path, labels):
    X, y = small_digits
    model = DigitMLPClassifier((8,), max_iter=5, random_state=0).fit(X, labels(y))
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_multilabel_models_survive(small_digits, tmp_path):
    X, y = small_digits
    Y = np.stack([y > 4, y % 2 == 0], axis=1).astype(int)
    model = DigitMLPClassifier((8,), max_iter=5, random_state=0).fit(X, Y)
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_parameters_that_are_objects_survive(small_digits, tmp_path):
    X, y = small_digits
    model = DigitMLPClassifier(
        (8,),
        max_iter=2,
        augment=Augmentation(max_rotation=5.0, scale_range=(0.9, 1.0)),
        class_weight={0: 2.0, 3: 0.5},
        n_iter_no_change=np.inf,
    ).fit(X, y)
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    assert loaded.augment == model.augment
    assert loaded.class_weight == {0: 2.0, 3: 0.5}
    assert loaded.n_iter_no_change == np.inf


def test_feature_names_survive(small_digits, tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = small_digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(64)])
    model = DigitMLPClassifier((8,), max_iter=2).fit(frame, y)
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    loaded.predict(frame)  # no feature-name warning


def test_metadata_describes_the_model(fitted, tmp_path):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn", info={"dataset": "digits"})
    metadata = persistence.read_metadata(path)
    assert metadata["format_version"] == persistence.FORMAT_VERSION
    assert set(metadata["versions"]) == {"hdrnn", "numpy", "scikit-learn"}
    assert metadata["image_shape"] == [8, 8]
    assert metadata["info"] == {"dataset": "digits"}
    assert metadata["classes"] == list(range(10))
    assert len(metadata["checksum"]) == 64
    loaded, described = persistence.load_with_metadata(path)
    assert described == metadata and loaded.n_iter_ == model.n_iter_


def test_the_file_holds_no_pickles(fitted, tmp_path):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_a_saved_file_gets_the_usual_permissions(fitted, tmp_path):
    model, _, _ = fitted
    umask = os.umask(0o022)
    os.umask(umask)
    path = save(model, tmp_path / "m.hdrnn")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# ------------------------------------------------------- atomic writes


def test_a_failing_save_leaves_the_previous_file_intact(fitted, tmp_path, monkeypatch):
    # battery row 41: Ctrl-C in the middle of writing
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.hdrnn"]  # no temporary left


def test_a_full_disk_during_save_leaves_the_previous_file_intact(fitted, tmp_path, monkeypatch):
    # battery row 41: the disk fills up half-way
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    before = path.read_bytes()

    def disk_full(file, **arrays):
        file.write(b"x" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.hdrnn"]


# ---------------------------------------------------------- save targets


def test_saving_onto_a_symlink_replaces_its_target_and_keeps_the_link(fitted, tmp_path):
    model, X, _ = fitted
    target = tmp_path / "models" / "real.hdrnn"
    target.parent.mkdir()
    target.write_bytes(b"an older model")
    link = tmp_path / "current.hdrnn"
    link.symlink_to(target)
    save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    np.testing.assert_array_equal(load(target).predict(X), model.predict(X))
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.hdrnn"]


def test_saving_onto_a_dangling_symlink_creates_its_target(fitted, tmp_path):
    model, _, _ = fitted
    link = tmp_path / "link.hdrnn"
    link.symlink_to(tmp_path / "new.hdrnn")
    save(model, link)
    assert link.is_symlink() and load(tmp_path / "new.hdrnn").n_iter_ == model.n_iter_


def _special_files(tmp_path):
    directory = tmp_path / "a-folder"
    directory.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    sock_path = tmp_path / "a-socket"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sock_path))
    link_to_fifo = tmp_path / "link-to-fifo"
    link_to_fifo.symlink_to(fifo)
    return server, {
        "a directory": directory,
        "a named pipe": fifo,
        "a socket": sock_path,
        "a named pipe (via a link)": link_to_fifo,
    }


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and Unix sockets")
def test_saving_onto_anything_but_a_regular_file_is_refused(fitted, tmp_path):
    model, _, _ = fitted
    server, targets = _special_files(tmp_path)
    try:
        for kind, path in targets.items():
            before = os.lstat(path)
            with pytest.raises(ValueError, match=f"it is {kind.split(' (')[0]}"):
                save(model, path)
            after = os.lstat(path)
            assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino), kind
    finally:
        server.close()
    assert not list(tmp_path.glob("**/.*.tmp"))


def test_saving_into_a_missing_folder_is_a_clear_error(fitted, tmp_path):
    model, _, _ = fitted
    with pytest.raises(FileNotFoundError, match=r"the folder .*nowhere does not exist"):
        save(model, tmp_path / "nowhere" / "m.hdrnn")


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="root may write anywhere")
def test_saving_into_a_read_only_folder_is_a_clear_error(fitted, tmp_path):
    model, _, _ = fitted
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(PermissionError, match="is not writable"):
            save(model, folder / "m.hdrnn")
    finally:
        folder.chmod(0o755)


# ------------------------------------------------ damaged and foreign files


def _member_data_offset(path, member):
    """Byte offset of a member's data (after its .npy header) in the archive."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
        with archive.open(info) as file:
            np.lib.format.read_magic(file)
            np.lib.format.read_array_header_1_0(file)
            header = file.tell()
    with open(path, "rb") as raw:
        raw.seek(info.header_offset + 26)
        name_length, extra_length = np.frombuffer(raw.read(4), dtype="<u2")
    return info.header_offset + 30 + int(name_length) + int(extra_length) + header


def test_a_flipped_byte_is_a_checksum_mismatch(fitted, tmp_path):
    # battery row 35 (plain joblib loads such a file silently)
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    data = bytearray(path.read_bytes())
    data[_member_data_offset(path, "coefs_0.npy") + 100] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum mismatch in coefs_0"):
        load(path)


def test_every_flipped_bit_of_a_header_loads_or_is_a_model_file_error(tiny, tmp_path):
    # battery rows 35-36: a bit flipped in an .npy header raised tokenize's
    # TokenError (an open bracket), and one in the central directory's "version
    # needed to extract" zipfile's NotImplementedError, past the loader's checks
    model, _ = tiny
    path = save(model, tmp_path / "m.hdrnn")
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        first = archive.getinfo("coefs_0.npy")
    header_end = _member_data_offset(path, "coefs_0.npy")
    npy_header = range(header_end - 128, header_end)  # the .npy header, padded to 128 bytes
    directory = data.rindex(b"PK\x01\x02")  # the last central-directory entry
    entry = range(directory, directory + 46 + len(first.filename))
    mutant = tmp_path / "mutant.hdrnn"
    outcomes = set()
    for offset in [*npy_header, *entry]:
        for bit in range(8):
            flipped = bytearray(data)
            flipped[offset] ^= 1 << bit
            mutant.write_bytes(bytes(flipped))
            try:
                load(mutant)
                outcomes.add("loaded")
            except ModelFileError:
                outcomes.add("refused")
    assert outcomes == {"loaded", "refused"}  # no other exception escaped


def test_an_npy_header_read_too_far_is_a_model_file_error(fitted, tmp_path):
    # battery row 35: with its length's high byte flipped, the header runs on
    # into the weights, and numpy's parser raised tokenize's TokenError (an
    # open bracket), which is no ValueError
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    data = bytearray(path.read_bytes())
    data[data.index(b"\x93NUMPY") + 9] ^= 0x01  # header length + 256
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"'coefs_0' cannot be read \(bad \.npy header"):
        load(path)


def test_edited_weights_fail_the_checksum(fitted, tmp_path):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["coefs_0"] = arrays["coefs_0"] * 2  # a tampered model, metadata untouched
    with path.open("wb") as file:
        np.savez(file, **arrays)
    with pytest.raises(ModelFileError, match="checksum does not match"):
        load(path)


def test_truncated_files_are_model_file_errors(fitted, tmp_path):
    # battery row 36: truncated at ten offsets
    model, _, _ = fitted
    data = save(model, tmp_path / "m.hdrnn").read_bytes()
    path = tmp_path / "truncated.hdrnn"
    for cut in np.linspace(1, len(data) - 1, 10).astype(int):
        path.write_bytes(data[:cut])
        with pytest.raises(ModelFileError, match="not a usable hdrnn model file"):
            load(path)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "it is empty"),
        (np.random.default_rng(0).bytes(4096), "not an hdrnn model file: it is not a .npz"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "not an hdrnn model file: it is not a .npz"),
        (b"PK\x05\x06" + bytes(18), "has no hdrnn metadata"),
    ],
    ids=["empty", "random", "png", "empty-zip"],
)
def test_foreign_bytes_are_model_file_errors(tmp_path, content, match):
    # battery row 36
    path = tmp_path / "m.hdrnn"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def test_a_plain_npy_file_is_a_model_file_error(tmp_path):
    path = tmp_path / "weights.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ModelFileError, match=r"a single NumPy array \(\.npy\)"):
        load(path)


def test_another_npz_archive_is_a_model_file_error(tmp_path):
    path = tmp_path / "m.hdrnn"
    with path.open("wb") as file:
        np.savez(file, weights=np.ones(3))
    with pytest.raises(ModelFileError, match="a member the format does not define: 'weights"):
        load(path)


def test_a_directory_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="is a directory"):
        load(tmp_path)


@settings(max_examples=300, deadline=None)
@given(content=st.binary(max_size=2048))
def test_any_bytes_load_or_raise_model_file_error(tmp_path_factory, content):
    # battery row 36: Hypothesis st.binary
    path = tmp_path_factory.mktemp("bytes") / "m.hdrnn"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        load(tmp_path / "nothing.hdrnn")


# ------------------------------------------------------------- pickles

SENTINEL = {"called": False}


def _set_sentinel():
    SENTINEL["called"] = True


class Malicious:
    """Unpickling this runs code: here it only raises a flag."""

    def __reduce__(self):
        return (_set_sentinel, ())


@pytest.mark.parametrize("compress", [0, 3, ("gzip", 3), ("bz2", 3), ("xz", 3), ("lzma", 3)])
def test_a_malicious_pickle_is_refused_unopened(tmp_path, compress):
    # battery row 37
    SENTINEL["called"] = False
    path = tmp_path / "model.hdrnn"
    joblib.dump(Malicious(), path, compress=compress)
    with pytest.raises(UnsafeModelError, match=r"pickle-based.*--trust-pickle"):
        load(path)
    assert SENTINEL["called"] is False
    # and the file really was malicious:
    joblib.load(path)
    assert SENTINEL["called"] is True


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_plain_pickles_of_every_protocol_are_refused(tmp_path, protocol):
    # battery row 37
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Malicious(), protocol=protocol))
    SENTINEL["called"] = False
    with pytest.raises(UnsafeModelError):
        load(path)
    assert SENTINEL["called"] is False


# ----------------------------------------------------------- versions


def _read_raw(path):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    return metadata, arrays


def _write_raw(path, metadata, arrays):
    """Write a model file from its parts, with a valid checksum."""
    metadata = copy.deepcopy(metadata)
    metadata["checksum"] = checksum(metadata, arrays)
    document = json.dumps(metadata).encode()
    with Path(path).open("wb") as file:
        np.savez(file, **arrays, **{"metadata.json": np.frombuffer(document, dtype=np.uint8)})
    return path


def test_a_format_2_file_is_upgraded_with_a_warning(small_digits):
    # battery row 38: a file written by hdrnn 0.1.0 before the training state existed
    X, y = small_digits
    with pytest.warns(ModelFormatWarning, match="older model format 2") as record:
        loaded = load(FIXTURES / "digits-format2.hdrnn")
    assert record[0].message.original_version == "0.1.0"
    np.testing.assert_allclose(
        loaded.predict_proba(X[:20]), np.load(FIXTURES / "digits-format2-proba.npy"), rtol=1e-12
    )
    assert loaded.n_iter_ == 30 and len(loaded.validation_scores_) == 30
    assert loaded.best_validation_score_ == max(loaded.validation_scores_)
    assert loaded.best_loss_ is None  # early stopping
    loaded.set_params(warm_start=True, max_iter=2).fit(X, y)  # training goes on
    assert len(loaded.history_) == 32


def test_a_format_1_file_is_upgraded_with_a_warning(small_digits):
    # battery row 38: a committed file in the old format (tests/data/README.md)
    X, y = small_digits
    with pytest.warns(ModelFormatWarning, match="older model format 1") as record:
        loaded = load(FIXTURES / "digits-format1.hdrnn")
    warning = record[0].message
    assert isinstance(warning, ModelVersionWarning)
    assert warning.original_version == "0.1.0.dev1"
    reference = np.load(FIXTURES / "digits-format1-proba.npy")
    # float64 weights: equal up to the last bits of another NumPy's exp and BLAS
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), reference, rtol=1e-12)
    # Adam's moments came through the migration: training continues.
    assert loaded._state.optimizer.t > 0
    loaded.partial_fit(X, y)


def test_a_format_whose_migration_is_gone_is_refused(monkeypatch):
    monkeypatch.setattr(persistence._api, "MIGRATIONS", {})
    with pytest.raises(IncompatibleModelError, match="can no longer read"):
        load(FIXTURES / "digits-format1.hdrnn")


def test_a_file_from_a_future_format_asks_for_an_upgrade(tiny, tmp_path):
    # battery row 39
    model, _ = tiny
    metadata, arrays = _read_raw(save(model, tmp_path / "m.hdrnn"))
    metadata["format_version"] = 99
    metadata["versions"]["hdrnn"] = "7.0"
    path = _write_raw(tmp_path / "future.hdrnn", metadata, arrays)
    with pytest.raises(
        IncompatibleModelError, match=r"hdrnn 7\.0 in model format 99.*up to 3.*pip install"
    ) as info:
        load(path)
    assert (info.value.file_format, info.value.supported_format) == (99, 3)


# ------------------------------------------- crafted files, valid checksum


def _crafted(tiny, tmp_path, change):
    model, _ = tiny
    metadata, arrays = _read_raw(save(model, tmp_path / "m.hdrnn"))
    change(metadata, arrays)
    metadata["arrays"] = {
        name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in arrays.items()
    }
    return _write_raw(tmp_path / "crafted.hdrnn", metadata, arrays)


def _set(path, value):
    def change(metadata, arrays):
        *parents, key = path
        target = metadata
        for parent in parents:
            target = target[parent]
        target[key] = value

    return change


CRAFTED = {
    "classes shorter than the output layer": (
        lambda m, a: a.update(classes=a["classes"][:3]),
        "the output layer has 10 units",
    ),
    "unsorted classes": (
        lambda m, a: a.update(classes=a["classes"][::-1].copy()),
        "sorted order",
    ),
    "a hidden size that does not chain": (
        _set(["params", "hidden_layer_sizes"], [5]),
        "coefs_0 has shape",
    ),
    "an unknown activation": (_set(["params", "activation"], "evil"), "activation 'evil'"),
    "an unhashable activation": (_set(["params", "activation"], ["relu"]), "activation"),
    "no params": (lambda m, a: m.pop("params"), "params is missing"),
    "a billion layers": (_set(["structure", "n_layers_"], 10**9), "n_layers_ does not match"),
    "a string as layer count": (_set(["structure", "n_layers_"], "3"), "n_layers_ is not"),
    "softmax for a binary problem": (_set(["label_type"], "binary"), "binary model needs"),
    "a logistic multiclass output": (_set(["structure", "out_activation_"], "logistic"), "output"),
    "an unknown solver": (_set(["params", "solver"], "magic"), "solver 'magic'"),
    "NaN weights": (
        lambda m, a: a["coefs_0"].__setitem__((0, 0), np.nan),
        "coefs_0 holds NaN",
    ),
    "integer weights": (
        lambda m, a: a.update(coefs_0=a["coefs_0"].astype(np.int32)),
        "unexpected dtype int32",
    ),
    "mixed weight dtypes": (
        lambda m, a: a.update(coefs_0=a["coefs_0"].astype(np.float64)),
        "do not share one dtype",
    ),
    "optimizer state of another size": (
        lambda m, a: a.update(optimizer_grad_sum=a["optimizer_grad_sum"][:-1]),
        "grad_sum does not match",
    ),
    "an optimizer without its arrays": (
        lambda m, a: a.pop("optimizer_sq_grad_sum"),
        "Adam state is not the documented one",
    ),
    "an unknown optimizer": (_set(["state", "optimizer", "kind"], "Evil"), "optimizer kind"),
    "a history record without keys": (_set(["state", "history"], [{"epoch": 1}]), "history_"),
    "a negative plateau count": (
        _set(["state", "plateau", "no_improvement_count"], -1),
        "no_improvement_count",
    ),
    "a schedule that grows the rate": (
        _set(["state", "schedule"], {"reduction": 5.0, "epochs_since_reduction": 0}),
        "schedule reduction",
    ),
    "an extra structure attribute": (_set(["structure", "evil_"], 1), "structure does not hold"),
    "an image shape that does not multiply out": (
        _set(["image_shape"], [3, 3]),
        "image_shape is not",
    ),
    "an invalid parameter value": (_set(["params", "alpha"], -1), "parameters are invalid"),
    "an unknown parameter": (_set(["params", "evil"], 1), "parameters are invalid"),
    "a bad augmentation": (
        _set(["params", "augment"], {"augmentation": {"max_shift": "far"}}),
        "parameters are invalid",
    ),
    "another estimator": (_set(["estimator"], "Pipeline"), "does not describe an hdrnn model"),
    "a bool as format version": (_set(["format_version"], True), "format version"),
    "feature names of the wrong length": (
        lambda m, a: a.update(feature_names_in=np.array(["a", "b"])),
        "one name per input feature",
    ),
}


@pytest.mark.parametrize("case", CRAFTED, ids=list(CRAFTED))
def test_crafted_files_with_a_valid_checksum_are_refused(tiny, tmp_path, case):
    change, match = CRAFTED[case]
    path = _crafted(tiny, tmp_path, change)
    with pytest.raises(ModelFileError, match=match):
        load(path)


def _zip_with(path, members):
    """Write a zip from ``{name: (bytes, compression)}``."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, (data, compression) in members.items():
            archive.writestr(name, data, compress_type=compression)
    return path


def _npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _members_of(path):
    with zipfile.ZipFile(path) as archive:
        return {name: (archive.read(name), zipfile.ZIP_STORED) for name in archive.namelist()}


def _bounded_load(path, max_bytes=8 << 20):
    """Load, asserting that no more than ``max_bytes`` were allocated on the way."""
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError) as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < max_bytes, peak
    return str(info.value)


def test_a_member_declaring_a_huge_shape_is_refused_before_it_is_read(tiny, tmp_path):
    model, _ = tiny
    members = _members_of(save(model, tmp_path / "m.hdrnn"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10**9, 10**9)}
    )
    members["coefs_0.npy"] = (b"\x93NUMPY\x01\x00" + header.getvalue()[8:], zipfile.ZIP_STORED)
    message = _bounded_load(_zip_with(tmp_path / "huge.hdrnn", members))
    assert "coefs_0" in message


def test_a_zip_bomb_member_is_refused_before_it_is_inflated(tiny, tmp_path):
    model, _ = tiny
    path = save(model, tmp_path / "m.hdrnn")
    # 256 MiB of zeros deflate to about 256 KB: declared sizes give it away.
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("coefs_7.npy", "w", force_zip64=True) as member:
            zeros = bytes(1 << 20)
            for _ in range(256):
                member.write(zeros)
    message = _bounded_load(path)
    assert "declare" in message and "far more than" in message


def test_an_object_array_member_is_refused_without_unpickling(tiny, tmp_path):
    SENTINEL["called"] = False
    model, _ = tiny
    members = _members_of(save(model, tmp_path / "m.hdrnn"))
    members["classes.npy"] = (_npy_bytes(np.array([Malicious()], dtype=object)), 0)
    with pytest.raises(ModelFileError, match="classes"):
        load(_zip_with(tmp_path / "evil.hdrnn", members))
    assert SENTINEL["called"] is False


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda members: members.update({"../evil.npy": members["classes.npy"]}), "does not"),
        (lambda members: members.update({"notes.txt": (b"hi", 0)}), "does not define"),
        (
            lambda members: members.update(
                {"metadata.json.npy": (_npy_bytes(np.zeros((2, 2), np.uint8)), 0)}
            ),
            "metadata is not a byte string",
        ),
        (
            lambda members: members.update(
                {"metadata.json.npy": (_npy_bytes(np.frombuffer(b"[" * 100000, np.uint8)), 0)}
            ),
            "not valid JSON",
        ),
        (
            lambda members: members.update(
                {"coefs_0.npy": (_npy_bytes(np.asfortranarray(np.ones((64, 4), "<f4"))), 0)}
            ),
            "coefs_0",
        ),
    ],
    ids=["path-in-name", "extra-member", "2d-metadata", "deep-json", "fortran-order"],
)
def test_archive_level_tricks_are_refused(tiny, tmp_path, change, match):
    model, _ = tiny
    members = _members_of(save(model, tmp_path / "m.hdrnn"))
    change(members)
    with pytest.raises(ModelFileError, match=match):
        load(_zip_with(tmp_path / "evil.hdrnn", members))


def test_a_duplicated_member_is_refused(tiny, tmp_path):
    model, _ = tiny
    path = save(model, tmp_path / "m.hdrnn")
    with pytest.warns(UserWarning, match="Duplicate name"):
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("classes.npy", _npy_bytes(np.arange(10)))
    with pytest.raises(ModelFileError, match="twice"):
        load(path)


# ----------------------------------------------------------------- fuzz

JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            "relu",
            "tanh",
            "softmax",
            "logistic",
            "Adam",
            "SGD",
            "multiclass",
            "binary",
            "multilabel-indicator",
            "float64",
            "<f8",
            "<i8",
        ]
    ),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=10,
)
ARRAY_DTYPES = st.sampled_from(["<f4", "<f8", ">f4", "<i8", "|u1", "|b1", "<U3", "<c8"])


def _paths(value, prefix=()):
    """Every path to a value inside nested dicts and lists."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutations(draw, metadata, arrays):
    """One change to a model file's contents (the checksum is recomputed).

    Returns ``(metadata, arrays, new_weights)``: ``new_weights`` is True when an
    array was replaced by one of the same name, dtype and shape, i.e. when
    the file may describe a valid model with other weights.
    """
    metadata, arrays = copy.deepcopy(metadata), {k: v.copy() for k, v in arrays.items()}
    new_weights = False
    kind = draw(st.sampled_from(["replace", "delete", "insert", "array", "drop", "add"]))
    paths = [p for p in _paths(metadata) if p and p[0] != "checksum"]
    if kind in ("replace", "delete", "insert"):
        path = draw(st.sampled_from(paths))
        parent = metadata
        for key in path[:-1]:
            parent = parent[key]
        if kind == "replace":
            parent[path[-1]] = draw(JSON_VALUES)
        elif kind == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
    elif kind == "drop":
        arrays.pop(draw(st.sampled_from(sorted(arrays))))
    else:
        if kind == "array":  # replace an array
            name = draw(st.sampled_from(sorted(arrays)))
            shape = tuple(draw(st.lists(st.integers(0, 12), max_size=3)))
        else:  # add one, or replace one of these
            names = ["coefs_5", "intercepts_1", "optimizer_velocity", "classes"]
            name, shape = draw(st.sampled_from(names)), (draw(st.integers(0, 20)),)
        replacement = np.ones(shape, dtype=draw(ARRAY_DTYPES))
        if name in arrays:  # the same array in either byte order: new values
            native = replacement.dtype.newbyteorder("="), shape
            new_weights = native == (arrays[name].dtype.newbyteorder("="), arrays[name].shape)
        arrays[name] = replacement
    if draw(st.booleans()):  # keep the description of the arrays in step, or not
        metadata["arrays"] = {
            name: {"dtype": a.dtype.str, "shape": list(a.shape)} for name, a in arrays.items()
        }
    return metadata, arrays, new_weights


@pytest.fixture(scope="module")
def fuzz_target(tiny, tmp_path_factory):
    model, X = tiny
    folder = tmp_path_factory.mktemp("fuzz")
    metadata, arrays = _read_raw(save(model, folder / "original.hdrnn"))
    return model, X, metadata, arrays, folder / "mutant.hdrnn"


@settings(
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.slow
@given(data=st.data())
def test_fuzzed_files_with_a_valid_checksum_load_the_original_or_raise(fuzz_target, data):
    """Mutations of a real file, checksum recomputed: the original model, or ModelFileError.

    The exception: an array replaced by one of the same dtype and shape (an
    author may write any weights) or a prediction setting changed to another
    valid value. Such a file describes another consistent model, and its
    predictions must follow from its own weights.
    """
    model, X, metadata, arrays, path = fuzz_target
    mutated_metadata, mutated_arrays, new_weights = data.draw(mutations(metadata, arrays))
    try:
        _write_raw(path, mutated_metadata, mutated_arrays)
    except (TypeError, ValueError, OverflowError):
        return  # numpy or json cannot even write this file
    try:
        loaded = load(path)
    except ModelFileError:
        return
    proba = loaded.predict_proba(X)
    assert np.isfinite(proba).all() and proba.shape == (len(X), len(loaded.classes_))
    np.testing.assert_array_equal(loaded.predict(X), loaded.classes_[proba.argmax(axis=1)])
    if new_weights:
        return
    for ours, theirs in zip(loaded.coefs_ + loaded.intercepts_, model.coefs_ + model.intercepts_):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    settings_ = ("activation", "out_activation_")
    if all(getattr(loaded, name) == getattr(model, name) for name in settings_):
        np.testing.assert_array_equal(proba, model.predict_proba(X))


# -------------------------------------------------------------- misc


def test_unsaveable_labels_and_unfitted_models_are_refused(tmp_path):
    # battery row 15: save() of an unfitted model
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save(DigitMLPClassifier(), tmp_path / "m.hdrnn")
    assert not list(tmp_path.iterdir())
    # scikit-learn itself only lets numeric and string labels through; the
    # guard is for anything else that might.
    with pytest.raises(ValueError, match="numeric or string class labels"):
        _model_document._portable_classes(np.array([Decimal(1), Decimal(2)], dtype=object))


def test_joblib_persistence_still_works(fitted, tmp_path):
    model, X, _ = fitted
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_compressed_members_within_bounds_still_load(fitted, tmp_path):
    # Someone re-zipped the file with compression: fine, sizes stay bounded.
    model, X, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    members = _members_of(path)
    recompressed = {name: (data, zipfile.ZIP_DEFLATED) for name, (data, _) in members.items()}
    loaded = load(_zip_with(tmp_path / "deflated.hdrnn", recompressed))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_a_joblib_file_of_the_previous_release_still_loads_and_trains(digits):
    # Pickles name classes by module path; the code moved into subpackages after
    # this file was written, and shim modules keep the old paths importable.
    import sklearn

    if tuple(int(part) for part in sklearn.__version__.split(".")[:2]) < (1, 9):
        pytest.skip("the file holds scikit-learn 1.9 objects, which older releases cannot unpickle")
    X, y = digits
    X = X.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Other NumPy or scikit-learn releases than the file's say so, rightly.
        warnings.simplefilter("ignore", ModelVersionWarning)
        model = joblib.load(FIXTURES / "digits-previous-release.joblib")
    expected = np.load(FIXTURES / "digits-previous-release-proba.npy")
    # Equal to float32 rounding: OpenBLAS picks its kernels by CPU (AVX-512 where the
    # file was made, AVX2 elsewhere), and they round the last bit differently.
    np.testing.assert_allclose(model.predict_proba(X[:50]), expected, rtol=1e-5, atol=1e-7)
    model.partial_fit(X[:100], y[:100])  # the training state came back whole
    assert model.n_iter_ == 1 and len(model.loss_curve_) == 6


@pytest.mark.parametrize("source", ["readme", "devnull"])
def test_a_file_that_is_no_model_at_all_is_not_called_a_damaged_copy(tmp_path, source):
    path = Path("/dev/null") if source == "devnull" else tmp_path / "README.md"
    if source == "readme":
        path.write_text("# hdrnn\n\nHandwritten digits.\n")
    with pytest.raises(ModelFileError, match="is not an hdrnn model file") as error:
        load(path)
    assert "damaged" not in str(error.value)


@pytest.mark.parametrize("protocol", [0, 1, 2, 5])
def test_pickles_of_every_protocol_are_recognised(fitted, tmp_path, protocol):
    model, _, _ = fitted
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps(model, protocol=protocol))
    with pytest.raises(UnsafeModelError, match="pickle-based file"):
        load(path)
    joblib.dump(model, path, protocol=protocol)
    with pytest.raises(UnsafeModelError, match="pickle-based file"):
        load(path)


def _fresh_copy(model):
    return pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize(
    ("spoil", "words"),
    [
        (
            lambda m: m.set_params(hidden_layer_sizes=(7,)),
            r"hidden_layer_sizes parameter \(\(7,\)\) no longer matches",
        ),
        (
            lambda m: m.coefs_.__setitem__(0, m.coefs_[0].astype(np.float64)),
            "not arrays of one dtype",
        ),
        (
            lambda m: m.coefs_[0].__setitem__((0, 0), np.nan),
            "NaN or infinite weights.*fit it again",
        ),
        (
            lambda m: m.set_params(class_weight={0: float("nan")}),
            "class_weight values must be finite",
        ),
        (lambda m: m.set_params(dropout=[0.1, 0.2, 0.3]), "one such float per hidden layer"),
        (
            lambda m: m.set_params(batch_size=True),
            "batch_size must be 'auto' or a positive integer",
        ),
    ],
    ids=[
        "hidden-layers",
        "mixed-dtypes",
        "nan-weight",
        "nan-class-weight",
        "dropout-list",
        "bool-batch",
    ],
)
def test_save_refuses_what_load_would_refuse_and_says_why(fitted, tmp_path, spoil, words):
    model = _fresh_copy(fitted[0])
    model.coefs_ = [W.copy() for W in model.coefs_]
    spoil(model)
    path = tmp_path / "m.hdrnn"
    with pytest.raises(ValueError, match="Cannot save this model: .*" + words):
        save(model, path)
    assert not path.exists()


def _rewritten(path, tmp_path, change):
    """A copy of the model file with its metadata changed and the checksum recomputed."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    change(metadata)
    metadata["checksum"] = checksum(metadata, arrays)
    arrays["metadata.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    out = tmp_path / "changed.hdrnn"
    with out.open("wb") as file:
        np.savez(file, **arrays)
    return out


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda d: d["params"].__setitem__("image_shape", [64, 1]),
            "params.image_shape .64, 1. is not",
        ),
        (lambda d: d["params"].__setitem__("image_shape", "8x8"), "params.image_shape is not"),
        (lambda d: d["params"].__setitem__("batch_size", True), "batch_size must be"),
        (
            lambda d: d["params"].__setitem__("dropout", [0.1, 0.2, 0.3]),
            "one such float per hidden",
        ),
        (lambda d: d["params"].__setitem__("class_weight", {"0": "x"}), "parameters are invalid"),
    ],
    ids=["strip", "string", "bool-batch", "dropout-list", "class-weight"],
)
def test_parameters_that_would_fail_only_at_partial_fit_are_refused_at_load(
    fitted, tmp_path, change, words
):
    model, _, _ = fitted
    path = _rewritten(save(model, tmp_path / "m.hdrnn"), tmp_path, change)
    with pytest.raises(ModelFileError, match=words):
        load(path)


def test_a_file_without_the_optimizer_state_predicts_the_same_and_trains_on(fitted, tmp_path):
    model, X, y = fitted
    full = save(model, tmp_path / "full.hdrnn")
    small = save(model, tmp_path / "small.hdrnn", optimizer_state=False)
    assert small.stat().st_size < 0.5 * full.stat().st_size
    loaded = load(small)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert persistence.read_metadata(small)["state"]["optimizer"] is None
    loaded.set_params(early_stopping=False).partial_fit(X, y)  # a fresh optimizer
    assert loaded.n_iter_ == 1
