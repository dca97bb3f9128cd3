"""DigitMLPClassifier as a scikit-learn citizen, and what it does with bad input."""

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import hdrnn.nn.training as training
from hdrnn import DataScaleWarning, DigitMLPClassifier, TrainingDivergedError

FAST = dict(hidden_layer_sizes=(32,), max_iter=20, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits_split):
    X_train, _, y_train, _ = digits_split
    return DigitMLPClassifier(random_state=0).fit(X_train, y_train)


def test_default_estimator_reaches_96_percent_on_load_digits(fitted, digits_split):
    _, X_test, _, y_test = digits_split
    assert fitted.hidden_layer_sizes == (128, 64)
    assert fitted.score(X_test, y_test) >= 0.96
    y_pred = fitted.predict(X_test)
    assert accuracy_score(y_test, y_pred) == fitted.score(X_test, y_test)
    assert confusion_matrix(y_test, y_pred).trace() == (y_pred == y_test).sum()


def test_fitted_attributes_have_mlpclassifier_names_and_shapes(fitted):
    assert fitted.n_layers_ == 4 and fitted.n_outputs_ == 10
    assert [c.shape for c in fitted.coefs_] == [(64, 128), (128, 64), (64, 10)]
    assert [b.shape for b in fitted.intercepts_] == [(128,), (64,), (10,)]
    assert fitted.out_activation_ == "softmax"
    assert fitted.n_features_in_ == 64
    assert len(fitted.loss_curve_) == fitted.n_iter_
    assert fitted.loss_ == fitted.loss_curve_[-1]
    assert fitted.best_loss_ == min(fitted.loss_curve_)
    assert fitted.t_ == fitted.n_iter_ * 1347
    assert fitted.validation_scores_ is None and fitted.best_validation_score_ is None


def test_pipeline_in_grid_search_with_two_jobs(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(StandardScaler(), DigitMLPClassifier(**FAST))
    grid = {
        "digitmlpclassifier__hidden_layer_sizes": [(16,), (32,)],
        "digitmlpclassifier__alpha": [1e-4, 1e-2],
    }
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X_train * 16, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.score(X_test * 16, y_test) > 0.9


def test_cross_val_score_with_minmax_scaler(digits):
    X, y = digits
    model = DigitMLPClassifier(**{**FAST, "max_iter": 60})
    scores = cross_val_score(make_pipeline(MinMaxScaler(), model), X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8


def test_clone_gives_an_unfitted_copy_with_the_same_parameters(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "coefs_")


@pytest.mark.parametrize("round_trip", ["pickle", "joblib"])
def test_persistence_round_trip_gives_identical_probabilities(fitted, digits, round_trip, tmp_path):
    X, _ = digits
    if round_trip == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_memory_mapped_model_predicts_and_keeps_training(fitted, digits, tmp_path):
    X, y = digits
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    loaded.partial_fit(X[:100], y[:100])  # copies the read-only weights
    assert loaded.n_iter_ == 1


def test_same_random_state_gives_bit_identical_models(small_digits):
    X, y = small_digits
    first = DigitMLPClassifier(**FAST).fit(X, y)
    second = DigitMLPClassifier(**FAST).fit(X, y)
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)
    refit = first.fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), second.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_compute_dtype_follows_the_input(small_digits, dtype):
    X, y = small_digits
    X = (X * 16).astype(dtype) if dtype == np.int64 else X.astype(dtype)
    model = DigitMLPClassifier(**FAST).fit(X, y)
    expected = np.float32 if dtype == np.float32 else np.float64
    assert model.coefs_[0].dtype == expected
    proba = model.predict_proba(X)
    assert proba.dtype == expected
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)


def test_float32_model_predicts_float64_input_in_float32(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    proba = model.predict_proba(X)  # float64 input, as fetch_openml gives it
    assert proba.dtype == np.float32
    np.testing.assert_array_equal(proba, model.predict_proba(X.astype(np.float32)))


def test_lbfgs_on_float32_input_returns_a_float32_model(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(solver="lbfgs", **FAST).fit(X.astype(np.float32), y)
    assert model.coefs_[0].dtype == np.float32
    assert len(model.loss_curve_) == model.n_iter_
    assert model.score(X, y) > 0.95


def test_predict_log_proba_is_finite_where_proba_underflows(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    far = X[:5].astype(np.float32) * 100  # float32 exp() underflows below -103
    proba = model.predict_proba(far)
    log_proba = model.predict_log_proba(far)
    assert (proba == 0).any()  # np.log(proba) would be -inf here
    assert np.isfinite(log_proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


def test_binary_probabilities_are_two_columns(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X, np.where(y > 4, "big", "small"))
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    assert set(model.predict(X)) <= {"big", "small"}
    assert model.predict(X).dtype.kind == "U"


def test_sparse_input_gives_the_dense_results(small_digits):
    X, y = small_digits
    dense = DigitMLPClassifier(**FAST).fit(X, y)
    sparse = DigitMLPClassifier(**FAST).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict_proba(sp.csc_matrix(X)), dense.predict_proba(X))


def test_concurrent_predictions_equal_serial_ones(fitted, digits):
    X, _ = digits
    variants = [X, np.asfortranarray(X), X[:, ::1][::2], X.T.copy().T]
    expected = [fitted.predict_proba(v) for v in variants]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: fitted.predict_proba(variants[i % 4]), range(64)))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result, expected[i % 4])
    assert threading.active_count() >= 1


def test_predict_stores_nothing_on_the_estimator(fitted, digits):
    X, _ = digits
    before = {k: v for k, v in vars(fitted).items()}
    fitted.predict(X)
    fitted.predict_proba(X)
    fitted.predict_log_proba(X)
    assert vars(fitted).keys() == before.keys()


def test_early_stopping_keeps_the_best_validation_weights(digits):
    X, y = digits
    model = DigitMLPClassifier(early_stopping=True, n_iter_no_change=3, **FAST).fit(X, y)
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.best_loss_ is None


def test_warm_start_continues_and_rejects_a_new_architecture(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(warm_start=True, **{**FAST, "max_iter": 3}).fit(X, y)
    first_loss = model.loss_
    model.fit(X, y)
    assert model.loss_ < first_loss
    model.set_params(hidden_layer_sizes=(8,))
    with pytest.raises(ValueError, match="warm_start=False"):
        model.fit(X, y)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "bad, match",
    [(np.nan, "NaN"), (np.inf, "infinity")],
)
def test_non_finite_x_is_rejected(small_digits, fitted, bad, match):
    X, y = small_digits
    X = X.copy()
    X[3, 3] = bad
    with pytest.raises(ValueError, match=match):
        DigitMLPClassifier(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=match):
        fitted.predict_proba(X)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad, match", [(np.nan, "contains NaN"), (-np.inf, "infinity")])
def test_non_finite_x_deep_in_a_large_batch_is_rejected(small_digits, dtype, bad, match):
    # predict checks X chunk by chunk (4096 rows): the bad value is in the second
    # chunk, and float64 X goes through the cast to the float32 model's dtype.
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_large = np.tile(X, (5000 // len(X) + 1, 1))[:5000].astype(dtype)
    X_large[4500, 10] = bad
    with pytest.raises(ValueError, match=match):
        model.predict_proba(X_large)
    X_large[4500, 10] = 0.0
    assert model.predict(X_large).shape == (5000,)


def test_float64_values_beyond_float32_range_are_rejected_by_a_float32_model(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_big = X.copy()
    X_big[0, 0] = 1e39
    with pytest.raises(ValueError, match=r"non-finite class scores.*largest \|X\| here: 1e\+39"):
        model.predict(X_big)


def test_huge_inputs_raise_instead_of_returning_nan(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_huge = np.full((2, 64), 3e38, dtype=np.float32)
    with pytest.raises(ValueError, match=r"non-finite class scores.*[Ss]cale X"):
        model.predict_proba(X_huge)
    with pytest.raises(ValueError, match="non-finite class scores"):
        model.predict(X_huge)


def test_nan_in_y_is_rejected(small_digits):
    X, y = small_digits
    y = y.astype(float)
    y[0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        DigitMLPClassifier(**FAST).fit(X, y)


def test_wrong_number_of_features_is_rejected(fitted, digits):
    X, _ = digits
    with pytest.raises(
        ValueError, match="X has 63 features, but DigitMLPClassifier is expecting 64"
    ):
        fitted.predict(X[:, :63])


def test_one_dimensional_x_asks_for_a_reshape(fitted, digits):
    X, _ = digits
    with pytest.raises(ValueError, match="Reshape your data"):
        fitted.predict(X[0])


def test_three_dimensional_x_is_rejected(digits):
    X, y = digits
    with pytest.raises(ValueError, match="dim 3"):
        DigitMLPClassifier(**FAST).fit(X.reshape(-1, 8, 8), y)


def test_a_single_class_is_rejected(small_digits):
    X, _ = small_digits
    with pytest.raises(ValueError, match=r"at least 2 classes.*got 1 class"):
        DigitMLPClassifier(**FAST).fit(X, np.full(len(X), 5))


def test_partial_fit_rejects_labels_outside_classes(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).partial_fit(X, y % 5, classes=np.arange(5))
    with pytest.raises(ValueError, match="classes not in"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match="classes must be passed"):
        DigitMLPClassifier().partial_fit(X, y)


def test_partial_fit_is_not_offered_by_lbfgs():
    assert not hasattr(DigitMLPClassifier(solver="lbfgs"), "partial_fit")


def test_unfitted_estimator_raises_not_fitted(digits):
    X, _ = digits
    for method in ("predict", "predict_proba", "predict_log_proba"):
        with pytest.raises(NotFittedError):
            getattr(DigitMLPClassifier(), method)(X)


def test_all_zero_sample_weights_are_rejected(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="at least one non-zero"):
        DigitMLPClassifier(**FAST).fit(X, y, sample_weight=np.zeros(len(y)))


def test_bad_hidden_layer_sizes_are_rejected(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        DigitMLPClassifier(hidden_layer_sizes=(10, 0)).fit(X, y)


def test_raw_pixel_values_warn_and_still_train(digits):
    X, y = digits
    with pytest.warns(DataScaleWarning, match="divide raw pixel values.*by 255"):
        model = DigitMLPClassifier(random_state=0, max_iter=50).fit(X * 255, y)
    assert model.score(X * 255, y) > 0.95


# ------------------------------------------------------------- divergence


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_huge_learning_rate_stops_with_a_clear_error(digits, solver):
    X, y = digits
    model = DigitMLPClassifier(solver=solver, learning_rate_init=10, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*learning_rate=10") as info:
        model.fit(X, y)
    assert info.value.epoch <= 5
    assert "Lower learning_rate_init" in str(info.value)
    assert all(np.isfinite(w).all() for w in model.coefs_ + model.intercepts_)
    assert np.isfinite(model.predict_proba(X)).all()


def test_divergence_keeps_the_weights_of_the_last_good_epoch(small_digits, monkeypatch):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=5)
    reference = DigitMLPClassifier(**{**params, "max_iter": 2}).fit(X, y)

    real_run_epoch = training.run_epoch
    calls = {"n": 0}

    def poisoned_run_epoch(arch, params, X, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # inject NaN into the third epoch's data
            X = X.copy()
            X[5:] = np.nan
        return real_run_epoch(arch, params, X, *args, **kwargs)

    monkeypatch.setattr("hdrnn._fitting.run_epoch", poisoned_run_epoch)
    model = DigitMLPClassifier(**params)
    with pytest.raises(TrainingDivergedError, match="epoch 3, batch 1") as info:
        model.fit(X, y)
    assert info.value.epoch == 3
    assert model.n_iter_ == 2
    for a, b in zip(model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_nan_input_with_validation_skipped_is_blamed_on_the_input(small_digits):
    X, y = small_digits
    X = X.copy()
    X[10, 0] = np.nan
    with config_context(assume_finite=True):
        with pytest.raises(TrainingDivergedError, match=r"epoch 1, batch 1.*input X holds NaN"):
            DigitMLPClassifier(**FAST).fit(X, y)


def test_dead_relu_network_warns_it_is_no_better_than_chance(digits):
    X, y = digits
    model = DigitMLPClassifier(solver="sgd", learning_rate_init=1, max_iter=30, random_state=0)
    with pytest.warns(ConvergenceWarning, match="no better than chance.*never activate"):
        model.fit(X, y)
