"""Fitted attributes set by hand, as scikit-learn's own tests and users porting weights do."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

from hdrnn import DigitMLPClassifier
from hdrnn.nn import _kernels


@pytest.fixture(scope="module")
def fitted(small_digits):
    X, y = small_digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return DigitMLPClassifier((16,), max_iter=20, random_state=0).fit(X, y)


def _hand_set(fitted, coefs=None, intercepts=None, **attributes):
    model = DigitMLPClassifier((16,), random_state=1)
    model.coefs_ = [W.copy() for W in fitted.coefs_] if coefs is None else coefs
    model.intercepts_ = [b.copy() for b in fitted.intercepts_] if intercepts is None else intercepts
    for name, value in attributes.items():
        setattr(model, name, value)
    return model


def test_predict_with_only_weights_set_is_not_fitted_and_says_what_is_missing(fitted, small_digits):
    X, _ = small_digits
    model = _hand_set(fitted)
    with pytest.raises(
        NotFittedError, match="not classes_, out_activation_: call fit or partial_fit"
    ):
        model.predict(X)


def test_hand_set_weights_and_classes_predict_like_the_fitted_model(fitted, small_digits):
    X, _ = small_digits
    model = _hand_set(fitted, classes_=fitted.classes_, out_activation_="softmax")
    np.testing.assert_array_equal(model.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(model.predict(X), fitted.predict(X))


def test_weights_as_lists_work_as_in_mlpclassifier(fitted, small_digits):
    X, _ = small_digits
    lists = [W.tolist() for W in fitted.coefs_]
    model = _hand_set(fitted, coefs=lists, classes_=fitted.classes_, out_activation_="softmax")
    np.testing.assert_allclose(model.predict_proba(X), fitted.predict_proba(X), rtol=1e-12)


def test_partial_fit_continues_from_hand_set_weights(fitted, small_digits):
    # MLPClassifier continues from hand-set coefs_ and intercepts_; so does hdrnn,
    # with a fresh optimizer (there is no state to continue).
    X, y = small_digits
    model = _hand_set(fitted)
    model.set_params(solver="sgd", learning_rate_init=1e-12, momentum=0.0)
    model.partial_fit(X, y, classes=np.unique(y))
    for after, before in zip(model.coefs_, fitted.coefs_):
        np.testing.assert_allclose(after, before, atol=1e-9)
    np.testing.assert_array_equal(model.predict(X), fitted.predict(X))


def test_warm_start_fit_continues_from_hand_set_weights_and_classes(fitted, small_digits):
    X, y = small_digits
    model = _hand_set(fitted, classes_=fitted.classes_)
    model.set_params(warm_start=True, max_iter=1, solver="sgd", learning_rate_init=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    np.testing.assert_allclose(model.coefs_[0], fitted.coefs_[0], atol=1e-9)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda c, b: (c, [b[0][:5], b[1]]),
            r"intercepts_\[0\] has shape \(5,\).*needs shape \(16,\)",
        ),
        (lambda c, b: (c, [b[0][None, :], b[1]]), r"intercepts_\[0\] has 2 dimensions"),
        (lambda c, b: (c, [None, b[1]]), r"intercepts_\[0\] is None"),
        (lambda c, b: (c, b[:1]), "coefs_ has 2 layers but intercepts_ has 1"),
        (lambda c, b: ([c[0], c[1][:7]], b), r"coefs_\[1\] has shape \(7, 10\).*do not chain"),
        (lambda c, b: ([c[0].astype(object), c[1]], b), "holds object values"),
        (lambda c, b: (c[0], b), "must be a non-empty list of arrays"),
        (lambda c, b: ([], []), "must be a non-empty list of arrays"),
    ],
)
def test_wrong_hand_set_arrays_are_refused_before_any_kernel_reads_them(
    fitted, small_digits, change, words, compiled
):
    # An intercept shorter than its layer made the compiled ReLU kernel read
    # past its end: silent wrong answers or a crash.
    X, y = small_digits
    coefs, intercepts = change(list(fitted.coefs_), list(fitted.intercepts_))
    model = _hand_set(
        fitted,
        coefs=coefs,
        intercepts=intercepts,
        classes_=fitted.classes_,
        out_activation_="softmax",
    )
    with _kernels.use_kernels(compiled):
        with pytest.raises(ValueError, match=words):
            model.predict(X)
        with pytest.raises(ValueError, match=words):
            model.partial_fit(X, y)


@pytest.mark.parametrize("dtype", [np.int64, np.float16, np.float32])
def test_other_numeric_weight_dtypes_are_computed_in_a_float_dtype(fitted, small_digits, dtype):
    X, _ = small_digits
    coefs = [np.round(W * 4).astype(dtype) for W in fitted.coefs_]
    intercepts = [np.round(b * 4).astype(dtype) for b in fitted.intercepts_]
    model = _hand_set(
        fitted,
        coefs=coefs,
        intercepts=intercepts,
        classes_=fitted.classes_,
        out_activation_="softmax",
    )
    proba = model.predict_proba(X)
    assert proba.dtype == (np.float32 if dtype in (np.float16, np.float32) else np.float64)
    reference = _hand_set(
        fitted,
        coefs=[W.astype(np.float64) for W in coefs],
        intercepts=[b.astype(np.float64) for b in intercepts],
        classes_=fitted.classes_,
        out_activation_="softmax",
    )
    np.testing.assert_allclose(proba, reference.predict_proba(X), rtol=1e-4, atol=1e-6)
