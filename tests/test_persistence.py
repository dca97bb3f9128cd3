"""Safe model files: round trips, atomic writes, and one clear error for every bad file."""

import json
import pickle
import zipfile
from decimal import Decimal

import joblib
import numpy as np
import pytest

import hdrnn.persistence as persistence
from hdrnn import DigitMLPClassifier, ModelFileError, ModelFormatWarning, load, save
from hdrnn.augmentation import Augmentation

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    model = DigitMLPClassifier((24, 12), max_iter=15, random_state=0, early_stopping=True)
    return model.fit(X.astype(np.float32), y), X.astype(np.float32), y


def test_round_trip_predicts_identically_and_keeps_attributes(fitted, tmp_path):
    model, X, _ = fitted
    loaded = load(save(model, tmp_path / "m.hdrnn"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.get_params() == model.get_params()
    for name in ("n_iter_", "loss_curve_", "validation_scores_", "history_", "classes_"):
        assert np.array_equal(getattr(loaded, name), getattr(model, name)), name
    assert loaded.coefs_[0].dtype == np.float32


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
    assert len(metadata["checksum"]) == 64


def test_the_file_holds_no_pickles(fitted, tmp_path):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    with np.load(path, allow_pickle=False) as archive:
        assert all(archive[name].dtype != object for name in archive.files)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())


def test_a_failing_save_leaves_the_previous_file_intact(fitted, tmp_path, monkeypatch):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise KeyboardInterrupt  # e.g. Ctrl-C in the middle of writing

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        save(model, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.hdrnn"]  # no temporary left


def _corrupt(path, how):
    data = bytearray(path.read_bytes())
    if how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "flipped-byte":
        data[len(data) // 3] ^= 0xFF
        path.write_bytes(bytes(data))
    elif how == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "pickle":
        path.write_bytes(pickle.dumps({"coefs_": [1, 2]}))
    elif how == "other-npz":
        np.savez(path.open("wb"), weights=np.ones(3))
    elif how == "edited-weights":
        with np.load(path) as archive:
            arrays = {name: archive[name] for name in archive.files}
        arrays["coefs_0"] = arrays["coefs_0"] * 2  # a tampered model, metadata untouched
        with path.open("wb") as file:
            np.savez(file, **arrays)


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("truncated", "not a readable .npz archive"),
        ("flipped-byte", "not a usable hdrnn model file"),
        ("random", "not a readable .npz archive"),
        ("empty", "not a readable .npz archive"),
        ("pickle", "not a readable .npz archive"),
        ("other-npz", "has no hdrnn metadata"),
        ("edited-weights", "checksum does not match"),
    ],
)
def test_bad_files_raise_one_clear_error(fitted, tmp_path, how, reason):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    _corrupt(path, how)
    with pytest.raises(ModelFileError, match=reason):
        load(path)


def _rewrite_metadata(path, change):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    change(metadata)
    metadata["checksum"] = persistence._checksum(metadata, arrays)
    arrays["metadata.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    with path.open("wb") as file:
        np.savez(file, **arrays)


def test_a_file_from_a_future_format_asks_for_an_upgrade(fitted, tmp_path):
    model, _, _ = fitted
    path = save(model, tmp_path / "m.hdrnn")
    _rewrite_metadata(path, lambda m: m.update(format_version=99))
    with pytest.raises(ModelFileError, match=r"model format 99.*Upgrade hdrnn"):
        load(path)


def _rewrite_as_format_1(path):
    """Turn a saved file into what hdrnn wrote in format 1: Adam's moments themselves."""
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    optimizer = metadata["optimizer"]
    for new, old, beta in (("grad_sum", "m", "beta_1"), ("sq_grad_sum", "v", "beta_2")):
        decayed_sum = arrays.pop(f"optimizer_{new}")
        arrays[f"optimizer_{old}"] = ((1.0 - optimizer[beta]) * decayed_sum).astype(
            decayed_sum.dtype
        )
        metadata["arrays"][f"optimizer_{old}"] = metadata["arrays"].pop(f"optimizer_{new}")
    metadata["format_version"] = 1
    metadata["checksum"] = persistence._checksum(metadata, arrays)
    arrays["metadata.json"] = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
    with path.open("wb") as file:
        np.savez(file, **arrays)


def test_a_format_1_file_is_upgraded_with_a_warning(small_digits, tmp_path, monkeypatch):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, shuffle=False, max_iter=3)
    model = DigitMLPClassifier(**params).fit(X, y)
    path = save(model, tmp_path / "m.hdrnn")
    _rewrite_as_format_1(path)
    with pytest.warns(ModelFormatWarning, match="older model format 1"):
        loaded = load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    # Adam's state came through the migration: training continues as before.
    np.testing.assert_allclose(loaded._optimizer.m, model._optimizer.m, rtol=1e-6)
    np.testing.assert_allclose(loaded._optimizer.v, model._optimizer.v, rtol=1e-6)
    model.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_allclose(loaded.coefs_[0], model.coefs_[0], rtol=0, atol=1e-6)
    # A format whose migration is gone is refused with advice.
    monkeypatch.setattr(persistence, "MIGRATIONS", {})
    with pytest.raises(ModelFileError, match="can no longer read"):
        load(path)


def test_unsaveable_labels_and_unfitted_models_are_refused(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        save(DigitMLPClassifier(), tmp_path / "m.hdrnn")
    # scikit-learn itself only lets numeric and string labels through; the
    # guard is for anything else that might.
    with pytest.raises(ValueError, match="numeric or string class labels"):
        persistence._portable_classes(np.array([Decimal(1), Decimal(2)], dtype=object))


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        load(tmp_path / "nothing.hdrnn")


def test_joblib_persistence_still_works(fitted, tmp_path):
    model, X, _ = fitted
    joblib.dump(model, tmp_path / "m.joblib")
    loaded = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
