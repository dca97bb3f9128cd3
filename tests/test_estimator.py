"""DigitMLPClassifier as a scikit-learn citizen, and what it does with bad input."""

import copy
import pickle
import threading
import tracemalloc
import warnings
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

import hdrnn
import hdrnn.nn.epochs as training
from hdrnn import DataScaleWarning, DigitMLPClassifier, ModelVersionWarning, TrainingDivergedError

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
    # battery row 43
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "coefs_")


@pytest.mark.parametrize("round_trip", ["pickle", "joblib"])
def test_persistence_round_trip_gives_identical_probabilities(fitted, digits, round_trip, tmp_path):
    # battery row 43
    X, _ = digits
    if round_trip == "pickle":
        loaded = pickle.loads(pickle.dumps(fitted))
    else:
        joblib.dump(fitted, tmp_path / "model.joblib")
        loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))


def test_memory_mapped_model_predicts_and_keeps_training(fitted, digits, tmp_path):
    # battery row 42: predict works, partial_fit copies the read-only weights
    X, y = digits
    joblib.dump(fitted, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib", mmap_mode="r")
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    loaded.partial_fit(X[:100], y[:100])  # copies the read-only weights
    assert loaded.n_iter_ == 1


def test_same_random_state_gives_bit_identical_models(small_digits):
    # battery row 28
    X, y = small_digits
    first = DigitMLPClassifier(**FAST).fit(X, y)
    second = DigitMLPClassifier(**FAST).fit(X, y)
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)
    refit = first.fit(X, y)
    np.testing.assert_array_equal(refit.predict_proba(X), second.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_compute_dtype_follows_the_input(small_digits, dtype):
    # battery row 26
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
    # battery row 56: including Fortran-ordered and non-contiguous X (numpy#31618)
    X, _ = digits
    variants = [X, np.asfortranarray(X), X[:, ::1][::2], X.T.copy().T]
    expected = [fitted.predict_proba(v) for v in variants]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: fitted.predict_proba(variants[i % 4]), range(64)))
    for i, result in enumerate(results):
        np.testing.assert_array_equal(result, expected[i % 4])
    assert threading.active_count() >= 1


def test_predict_stores_nothing_on_the_estimator(fitted, digits):
    # battery row 56
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


PREDICTORS = ("predict", "predict_proba", "predict_log_proba", "score")


def _call(model, method, X, y):
    return getattr(model, method)(X, y) if method == "score" else getattr(model, method)(X)


@pytest.mark.parametrize(
    "bad, match",
    [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")],
    ids=["nan", "inf"],
)
def test_non_finite_x_is_rejected_by_every_method(small_digits, fitted, bad, match):
    # battery rows 1 and 2: NaN and infinity at fit, predict, predict_proba and score
    X, y = small_digits
    X = X.copy()
    X[3, 3] = bad
    with pytest.raises(ValueError, match=match):
        DigitMLPClassifier(**FAST).fit(X, y)
    for method in PREDICTORS:
        with pytest.raises(ValueError, match=match):
            _call(fitted, method, X, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad, match", [(np.nan, "contains NaN"), (-np.inf, "infinity")])
def test_non_finite_x_deep_in_a_large_batch_is_rejected(small_digits, dtype, bad, match):
    # battery row 1: predict checks X chunk by chunk (4096 rows); the bad value
    # is in the second chunk, and float64 X goes through the cast to float32.
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_large = np.tile(X, (5000 // len(X) + 1, 1))[:5000].astype(dtype)
    X_large[4500, 10] = bad
    with pytest.raises(ValueError, match=match):
        model.predict_proba(X_large)
    X_large[4500, 10] = 0.0
    assert model.predict(X_large).shape == (5000,)


def test_float64_values_beyond_float32_range_are_rejected_by_a_float32_model(small_digits):
    # battery row 3: the cast to float32 would give inf; never a silent inf
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_big = X.copy()
    X_big[0, 0] = 1e39
    for method in PREDICTORS:
        with pytest.raises(ValueError, match=r"too large for this float32 model.*1e\+39"):
            _call(model, method, X_big, y)


def test_huge_finite_inputs_warn_at_fit_and_never_give_nan(small_digits):
    # battery row 4: DataScaleWarning naming max|X| and /255; then an error or a
    # finite model; predict_proba on 3e38 raises instead of returning NaN.
    X, y = small_digits
    with pytest.warns(DataScaleWarning, match=r"as large as 1e\+30.*by 255"):
        try:
            model = DigitMLPClassifier(**FAST).fit(X * 1e30, y)
        except TrainingDivergedError:
            model = None
    if model is not None:
        assert all(np.isfinite(w).all() for w in model.coefs_)
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    X_huge = np.full((2, 64), 3e38, dtype=np.float32)
    for method in PREDICTORS:
        with pytest.raises(ValueError, match=r"non-finite class scores.*[Ss]cale X"):
            _call(model, method, X_huge, y[:2])


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_non_finite_y_is_rejected(small_digits, bad, match):
    # battery row 5
    X, y = small_digits
    y = y.astype(float)
    y[0] = bad
    with pytest.raises(ValueError, match=f"Input y contains {match}"):
        DigitMLPClassifier(**FAST).fit(X, y)


def test_wrong_number_of_features_is_rejected(fitted, digits):
    # battery row 6
    X, _ = digits
    with pytest.raises(
        ValueError, match="X has 63 features, but DigitMLPClassifier is expecting 64"
    ):
        fitted.predict(X[:, :63])


def test_a_plain_float_array_is_predicted_as_checked_input_is(fitted, digits):
    # Plain float arrays skip scikit-learn's checks (they would return them unchanged):
    # the answers are those of the checked path, strided rows included.
    X, _ = digits
    for rows in (X[:7], X[:14:2], np.asfortranarray(X[:7]), X[:7].astype(np.float32)):
        np.testing.assert_array_equal(
            fitted.predict_proba(rows), fitted.predict_proba(rows.tolist())
        )


def test_a_plain_array_still_warns_a_model_fitted_with_feature_names(digits_split):
    pd = pytest.importorskip("pandas")
    X_train, X_test, y_train, _ = digits_split
    columns = [f"pixel{i}" for i in range(X_train.shape[1])]
    model = DigitMLPClassifier(**FAST).fit(pd.DataFrame(X_train, columns=columns), y_train)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict_proba(X_test)


def test_one_dimensional_x_asks_for_a_reshape(fitted, digits):
    # battery row 7 (the CLI reshapes for the user: test_cli's predict tests)
    X, _ = digits
    with pytest.raises(ValueError, match=r"(?s)Expected 2D array, got 1D array.*Reshape your data"):
        fitted.predict(X[0])


def test_three_dimensional_x_is_rejected_with_the_reshape_to_use(digits, fitted):
    # battery row 8
    X, y = digits
    with pytest.raises(ValueError, match=r"dim 3.*Reshape to \(n_samples, 64\)"):
        DigitMLPClassifier(**FAST).fit(X.reshape(-1, 8, 8), y)
    with pytest.raises(ValueError, match=r"dim 3.*X.reshape\(len\(X\), -1\)"):
        fitted.predict(X.reshape(-1, 8, 8))


def test_strings_dicts_and_complex_numbers_in_x_are_rejected(small_digits):
    # battery row 9
    X, y = small_digits
    strings = X.astype(object)
    strings[0, 0] = "seven"
    with pytest.raises(ValueError, match="could not convert string to float"):
        DigitMLPClassifier(**FAST).fit(strings, y)
    dicts = X.astype(object)
    dicts[0, 0] = {"pixel": 1}
    with pytest.raises(TypeError, match="dict"):
        DigitMLPClassifier(**FAST).fit(dicts, y)
    with pytest.raises(ValueError, match="Complex data not supported"):
        DigitMLPClassifier(**FAST).fit(X + 1j, y)


def test_empty_data_is_rejected(small_digits):
    # battery row 10
    X, y = small_digits
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, 64\)\)"):
        DigitMLPClassifier(**FAST).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match=r"0 feature\(s\)"):
        DigitMLPClassifier(**FAST).fit(X[:, :0], y)


def test_inconsistent_numbers_of_samples_are_rejected(small_digits):
    # battery row 11
    X, y = small_digits
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[40, 39\]"):
        DigitMLPClassifier(**FAST).fit(X[:40], y[:39])


def test_one_sample_fits_only_with_partial_fit(small_digits):
    # battery row 12: fit() on one sample raises the single-class error (a sample
    # has one class); partial_fit with classes= learns from it (documented in fit)
    X, y = small_digits
    with pytest.raises(ValueError, match="got 1 class"):
        DigitMLPClassifier(**FAST).fit(X[:1], y[:1])
    model = DigitMLPClassifier(**FAST).partial_fit(X[:1], y[:1], classes=np.arange(10))
    assert model.predict(X[:1]).shape == (1,)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("kind", ["csr", "csc", "coo", "csr-int64"])
def test_sparse_input_trains_and_predicts_like_dense_for_every_solver(small_digits, solver, kind):
    # battery row 13; L-BFGS with sparse X used to fail in fit with a raw UFuncTypeError
    X, y = small_digits
    sparse = sp.csr_matrix(X) if kind.startswith("csr") else getattr(sp, f"{kind}_matrix")(X)
    if kind == "csr-int64":
        sparse.indices = sparse.indices.astype(np.int64)
        sparse.indptr = sparse.indptr.astype(np.int64)
    params = dict(FAST, solver=solver)
    dense = DigitMLPClassifier(**params).fit(X, y)
    model = DigitMLPClassifier(**params).fit(sparse, y)
    np.testing.assert_allclose(model.predict_proba(sparse), dense.predict_proba(X), atol=1e-9)
    np.testing.assert_array_equal(model.predict(sp.csc_matrix(X)), dense.predict(X))


def test_read_only_input_is_never_written(small_digits, tmp_path):
    # battery row 14 (scikit-learn's check_readonly_memmap_input runs too)
    X, y = small_digits
    X = X.copy()
    X.flags.writeable = False
    path = tmp_path / "X.npy"
    np.save(path, X)
    memmap = np.load(path, mmap_mode="r")
    for data in (X, memmap):
        model = DigitMLPClassifier(**FAST, augment="shift", dropout=0.1).fit(data, y)
        model.predict_proba(data)
    np.testing.assert_array_equal(memmap, X)


def test_unfitted_estimator_raises_not_fitted(digits):
    # battery row 15 (save(): test_persistence)
    X, y = digits
    for method in PREDICTORS:
        with pytest.raises(NotFittedError):
            _call(DigitMLPClassifier(), method, X, y)


def test_a_frame_at_fit_and_an_array_at_predict_warns_about_names(small_digits):
    # battery row 16
    pd = pytest.importorskip("pandas")
    X, y = small_digits
    frame = pd.DataFrame(X, columns=[f"pixel{i}" for i in range(1, 65)])
    model = DigitMLPClassifier(**FAST).fit(frame, y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X)


def test_string_labels_stay_strings(small_digits):
    # battery row 17 (OpenML's '0'..'9'; the CLI's check: test_cli)
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X, y.astype(str))
    assert model.classes_.dtype.kind == "U" and model.predict(X).dtype.kind == "U"
    as_integers = DigitMLPClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), as_integers.predict(X).astype(str))


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_a_single_class_is_rejected(small_digits, method):
    # battery row 18 (partial_fit with classes=[5] fitted a model with two probability
    # columns, which hdrnn.save then refused)
    X, _ = small_digits
    extra = {"classes": [5]} if method == "partial_fit" else {}
    with pytest.raises(ValueError, match=r"at least 2 classes.*got 1 class \(5\)"):
        getattr(DigitMLPClassifier(**FAST), method)(X, np.full(len(X), 5), **extra)


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_continuous_labels_are_named_continuous_without_dumping_them(small_digits, method):
    # battery row 19 (partial_fit's classes= were read first, and its message dumped them)
    X, _ = small_digits
    y = np.random.RandomState(0).uniform(size=len(X))
    extra = {"classes": np.unique(y)} if method == "partial_fit" else {}
    with pytest.raises(ValueError, match="Unknown label type: continuous") as info:
        getattr(DigitMLPClassifier(**FAST), method)(X, y, **extra)
    assert len(str(info.value)) < 400  # not every value


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (lambda y: np.where(y > 4, "big", y.astype(object)), r"mixes strings and other types"),
        (lambda y: np.where(y > 4, None, y.astype(object)), r"contains None.*position 5"),
    ],
    ids=["mixed", "none"],
)
def test_mixed_and_missing_labels_are_clear_errors(small_digits, labels, match):
    # battery row 19: other labels that are not classes, once raw TypeErrors
    X, y = small_digits
    bad = labels(y)
    with pytest.raises(ValueError, match=match):
        DigitMLPClassifier(**FAST).fit(X, bad)


def test_a_column_of_labels_warns_and_predicts_the_same(small_digits):
    # battery row 20
    from sklearn.exceptions import DataConversionWarning

    X, y = small_digits
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        column = DigitMLPClassifier(**FAST).fit(X, y.reshape(-1, 1))
    np.testing.assert_array_equal(
        column.predict(X), DigitMLPClassifier(**FAST).fit(X, y).predict(X)
    )


def test_partial_fit_rejects_labels_outside_classes(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).partial_fit(X, y % 5, classes=np.arange(5))
    with pytest.raises(ValueError, match="classes not in"):
        model.partial_fit(X, y)
    with pytest.raises(ValueError, match="classes must be passed"):
        DigitMLPClassifier().partial_fit(X, y)


def test_partial_fit_takes_a_new_learning_rate_from_set_params(small_digits):
    # Fine-tuning with a smaller (or larger) rate works as written; MLPClassifier
    # would keep the rate of its first partial_fit call.
    X, y = small_digits
    params = dict(solver="sgd", momentum=0.0, batch_size=len(X), shuffle=False, random_state=0)
    model = DigitMLPClassifier(**params, learning_rate_init=0.001).partial_fit(
        X, y, classes=np.unique(y)
    )
    same, faster = copy.deepcopy(model), copy.deepcopy(model)
    same.partial_fit(X, y)
    faster.set_params(learning_rate_init=0.01).partial_fit(X, y)
    for before, slow, fast in zip(model.coefs_, same.coefs_, faster.coefs_):
        np.testing.assert_allclose(fast - before, 10 * (slow - before), rtol=1e-4, atol=1e-9)
    assert faster.get_params()["learning_rate_init"] == 0.01


def test_partial_fit_is_not_offered_by_lbfgs():
    assert not hasattr(DigitMLPClassifier(solver="lbfgs"), "partial_fit")


def test_sample_weights_with_zeros_and_integers_work_but_all_zero_is_refused(small_digits):
    # battery row 29 (equivalence with repeated rows: test_estimator_checks)
    X, y = small_digits
    weights = np.arange(len(y)) % 3  # integers, a third of them zero
    model = DigitMLPClassifier(**FAST).fit(X, y, sample_weight=weights)
    assert model.score(X, y) > 0.5  # it learned from the weighted two thirds
    with pytest.raises(ValueError, match="zero for every sample"):
        DigitMLPClassifier(**FAST).fit(X, y, sample_weight=np.zeros(len(y)))
    two = np.isin(y, [0, 1])  # and class weights that zero every class present
    with pytest.raises(ValueError, match=r"sample_weight and class_weight\) are zero"):
        DigitMLPClassifier(**FAST, class_weight={0: 0.0, 1: 0.0}).fit(X[two], y[two])


@pytest.mark.parametrize(
    ("sizes", "match"),
    [
        ((10, 0), r"positive integers.*\(10, 0\)"),
        ((True,), r"positive integers.*\(True,\)"),
        ((128.0,), r"positive integers.*\(128\.0,\)"),
        ((2**40,), r"hidden_layer_sizes=\(1099511627776,\).*GiB of memory"),
    ],
    ids=["zero", "bool", "float", "too-big"],
)
def test_bad_hidden_layer_sizes_are_rejected_with_the_parameter_named(small_digits, sizes, match):
    X, y = small_digits
    with pytest.raises(ValueError, match=f"hidden_layer_sizes.*{match}|{match}"):
        DigitMLPClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_set_params_accepts_anything_and_fit_names_the_bad_parameter(small_digits):
    # battery row 57 (scikit-learn's check_set_params runs too)
    X, y = small_digits
    for name, value in [("alpha", -np.inf), ("learning_rate_init", None), ("max_iter", np.inf)]:
        model = DigitMLPClassifier(**FAST).set_params(**{name: value})  # no error here
        with pytest.raises((ValueError, TypeError), match=f"'{name}' parameter"):
            model.fit(X, y)


def test_raw_pixel_values_warn_and_still_train(digits):
    # battery row 25
    X, y = digits
    with pytest.warns(DataScaleWarning, match="divide raw pixel values.*by 255"):
        model = DigitMLPClassifier(random_state=0, max_iter=50).fit(X * 255, y)
    assert model.score(X * 255, y) > 0.95


def test_large_batches_are_predicted_in_bounded_memory(fitted):
    # battery row 58: a million rows (a read-only broadcast view: no data of its own)
    rows = 10**6
    X = np.broadcast_to(np.linspace(0, 1, 64), (rows, 64))
    tracemalloc.start()
    labels = fitted.predict(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert labels.shape == (rows,)
    # the logits (rows x 10 floats) and the labels, not a copy of X (512 MB)
    assert peak < rows * 10 * 8 * 2 + (32 << 20), peak


def test_single_rows_predict_like_the_batch_in_the_model_dtype(small_digits):
    # battery row 27 (scikit-learn's check_methods_subset_invariance runs too)
    X, y = small_digits
    model = DigitMLPClassifier(**FAST).fit(X.astype(np.float32), y)
    batch = model.predict_proba(X)
    rows = np.vstack([model.predict_proba(X[i : i + 1]) for i in range(20)])
    assert rows.dtype == batch.dtype == np.float32
    np.testing.assert_allclose(rows, batch[:20], rtol=1e-5, atol=1e-6)


def test_pickles_from_other_versions_warn_with_the_versions(fitted, tmp_path):
    # battery row 40
    state = fitted.__getstate__()
    assert state["_hdrnn_versions"]["hdrnn"] == hdrnn.__version__
    state["_hdrnn_versions"] = {"hdrnn": "0.0.1", "numpy": "1.0", "scikit-learn": "0.1"}
    old = DigitMLPClassifier.__new__(DigitMLPClassifier)
    old.__dict__.update(state)
    path = tmp_path / "old.joblib"
    with open(path, "wb") as file:
        pickle.dump(_Reduced(state), file)
    with pytest.warns(ModelVersionWarning, match=r"hdrnn 0\.0\.1, numpy 1\.0.*loaded with") as w:
        loaded = joblib.load(path)
    assert w[0].message.original_version == "0.0.1"
    np.testing.assert_array_equal(loaded.coefs_[0], fitted.coefs_[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same versions: silence
        pickle.loads(pickle.dumps(fitted))


class _Reduced:
    """Pickles as a DigitMLPClassifier with the given state (written by another version)."""

    def __init__(self, state):
        self.state = state

    def __reduce__(self):
        return (DigitMLPClassifier.__new__, (DigitMLPClassifier,), self.state)


# ------------------------------------------------------------- divergence


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_huge_learning_rate_stops_with_a_clear_error(digits, solver):
    # battery row 21
    X, y = digits
    model = DigitMLPClassifier(solver=solver, learning_rate_init=10, random_state=0)
    with pytest.raises(TrainingDivergedError, match=r"epoch \d+.*learning_rate=10") as info:
        model.fit(X, y)
    assert info.value.epoch <= 5 and info.value.learning_rate == 10
    assert "Lower learning_rate_init" in str(info.value)
    assert all(np.isfinite(w).all() for w in model.coefs_ + model.intercepts_)
    assert np.isfinite(model.predict_proba(X)).all()


def _poison_gradient(monkeypatch, batch_number):
    """Make the gradient (not the loss) of the n-th batch of the fit NaN."""
    real = training.loss_and_grads
    calls = {"n": 0}

    def poisoned(*args, **kwargs):
        loss, grads = real(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == batch_number:
            grads[7] = np.nan
        return loss, grads

    monkeypatch.setattr(training, "loss_and_grads", poisoned)


@pytest.mark.parametrize("batch", [4, 6], ids=["mid-epoch", "last-batch"])
def test_a_nan_gradient_stops_at_its_batch_with_the_last_good_epoch(
    small_digits, monkeypatch, batch
):
    # battery row 22: named at the batch whose update failed; n_iter_ == 2 and
    # the weights of a max_iter=2 fit, bit for bit
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=5, batch_size=50)
    reference = DigitMLPClassifier(**{**params, "max_iter": 2}).fit(X, y)
    _poison_gradient(monkeypatch, 2 * 6 + batch)  # 6 batches per epoch
    model = DigitMLPClassifier(**params)
    with pytest.raises(TrainingDivergedError, match=f"epoch 3, batch {batch} .*update") as info:
        model.fit(X, y)
    assert (info.value.epoch, info.value.batch) == (3, batch)
    assert "times chance" not in str(info.value)
    assert model.n_iter_ == 2
    for a, b in zip(model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_divergence_keeps_the_weights_of_the_last_good_epoch(small_digits, monkeypatch):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, max_iter=5)
    reference = DigitMLPClassifier(**{**params, "max_iter": 2}).fit(X, y)

    real_run_epoch = training.run_epoch
    calls = {"n": 0}

    def poisoned_run_epoch(params, batches, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # NaN in the third epoch's data
            batches = ((rows, np.full_like(X_batch, np.nan)) for rows, X_batch in batches)
        return real_run_epoch(params, batches, *args, **kwargs)

    monkeypatch.setattr("hdrnn._training.stochastic.run_epoch", poisoned_run_epoch)
    model = DigitMLPClassifier(**params)
    with pytest.raises(TrainingDivergedError, match="epoch 3, batch 1") as info:
        model.fit(X, y)
    assert (info.value.epoch, info.value.batch) == (3, 1)
    assert model.n_iter_ == 2
    for a, b in zip(model.coefs_ + model.intercepts_, reference.coefs_ + reference.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_nan_input_with_validation_skipped_is_blamed_on_the_input(small_digits):
    # battery row 24: the batch attribute is 1-based like the message
    X, y = small_digits
    X = X.copy()
    X[210, 0] = np.nan  # in the second batch of 200 rows, unshuffled
    with config_context(assume_finite=True):
        with pytest.raises(
            TrainingDivergedError, match=r"epoch 1, batch 2: the input X holds NaN"
        ) as info:
            DigitMLPClassifier(**FAST, shuffle=False).fit(X, y)
    assert (info.value.epoch, info.value.batch) == (1, 2)


def test_nan_input_with_validation_skipped_is_blamed_on_the_input_by_lbfgs(small_digits):
    # battery row 24 with solver="lbfgs": it said "scale X or increase alpha"
    X, y = small_digits
    X = X.copy()
    X[3, 0] = np.nan
    with config_context(assume_finite=True):
        with pytest.raises(TrainingDivergedError, match=r"the input X holds NaN or infinite"):
            DigitMLPClassifier((8,), solver="lbfgs", max_iter=5, random_state=0).fit(X, y)


def test_dead_relu_network_warns_and_reports_its_dead_units(digits):
    # battery row 23
    X, y = digits
    model = DigitMLPClassifier(solver="sgd", learning_rate_init=0.5, max_iter=30, random_state=0)
    with pytest.warns(
        ConvergenceWarning, match=r"chance.*9\d% of hidden units never activate.*learning_rate_init"
    ):
        model.fit(X, y)
    assert model.dead_units_fraction_ >= 0.9


def test_dead_units_fraction_is_measured_for_relu_only(small_digits):
    X, y = small_digits
    assert 0 <= DigitMLPClassifier(**FAST).fit(X, y).dead_units_fraction_ < 0.5
    assert DigitMLPClassifier(**FAST, activation="tanh").fit(X, y).dead_units_fraction_ is None
