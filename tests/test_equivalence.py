"""From identical weights and batches, in float64, our updates are MLPClassifier's.

The same ``random_state`` draws the same initial weights, the same
early-stopping split and the same shuffles in both libraries, so whole
training runs can be compared parameter by parameter.
"""

import inspect
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from hdrnn import DigitMLPClassifier

TOLERANCE = 1e-6  # what the issue asks; measured agreement is ~1e-14


# MLPClassifier.fit takes sample_weight from scikit-learn 1.7.
MLP_TAKES_WEIGHTS = "sample_weight" in inspect.signature(MLPClassifier.fit).parameters


def _fit_both(X, y, sample_weight=None, their_params=(), **params):
    if sample_weight is not None and not MLP_TAKES_WEIGHTS:
        pytest.skip("MLPClassifier takes sample_weight from scikit-learn 1.7")
    params = {"hidden_layer_sizes": (20, 10), "random_state": 1, "max_iter": 5, **params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPClassifier(**{**params, **dict(their_params)})
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        theirs.fit(X, y, **weights)
        ours = DigitMLPClassifier(**params).fit(X, y, sample_weight=sample_weight)
    return theirs, ours


def _assert_same_network(theirs, ours):
    for a, b in zip(theirs.coefs_ + theirs.intercepts_, ours.coefs_ + ours.intercepts_):
        np.testing.assert_allclose(b, a, rtol=0, atol=TOLERANCE)
    assert ours.n_iter_ == theirs.n_iter_


SOLVERS = {
    "sgd-nesterov": dict(solver="sgd", learning_rate_init=0.05),
    "sgd-momentum-l2": dict(
        solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False, alpha=0.01
    ),
    "sgd-invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5),
    "adam": dict(solver="adam"),
    "adam-l2": dict(solver="adam", alpha=0.1),
    "adam-early-stopping": dict(solver="adam", early_stopping=True, max_iter=8),
    "adam-tanh": dict(solver="adam", activation="tanh"),
    "adam-logistic": dict(solver="adam", activation="logistic"),
    "adam-identity": dict(solver="adam", activation="identity"),
    "adam-no-shuffle-batch-64": dict(solver="adam", shuffle=False, batch_size=64),
}


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("params", SOLVERS.values(), ids=SOLVERS.keys())
def test_stochastic_training_matches_mlpclassifier(digits, params, weighted):
    X, y = digits
    weights = np.random.RandomState(0).uniform(0.5, 2, len(y)) if weighted else None
    theirs, ours = _fit_both(X, y, weights, **params)
    _assert_same_network(theirs, ours)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0, atol=TOLERANCE)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_adaptive_schedule_and_stopping_match_mlpclassifier(small_digits, early_stopping):
    # MLPClassifier reacts after n_iter_no_change + 1 epochs without
    # improvement; hdrnn after exactly n_iter_no_change, so ours with 3
    # matches theirs with 2, epoch for epoch.
    X, y = small_digits
    params = dict(solver="sgd", learning_rate="adaptive", tol=0.05, early_stopping=early_stopping)
    theirs, ours = _fit_both(
        X, y, max_iter=60, n_iter_no_change=3, their_params={"n_iter_no_change": 2}, **params
    )
    _assert_same_network(theirs, ours)
    assert ours.n_iter_ < 60  # it did stop early, like MLPClassifier
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, atol=TOLERANCE)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_patience_is_exactly_n_iter_no_change(small_digits):
    X, y = small_digits
    # tol so large that no epoch after the first counts as an improvement
    clf = DigitMLPClassifier((8,), solver="sgd", tol=1e6, n_iter_no_change=4, random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ == 1 + 4


@pytest.mark.parametrize("weighted", [False, True])
def test_lbfgs_matches_mlpclassifier(digits, weighted):
    X, y = digits
    weights = np.random.RandomState(0).uniform(0.5, 2, len(y)) if weighted else None
    theirs, ours = _fit_both(X, y, weights, solver="lbfgs", max_iter=15)
    assert ours.loss_ == pytest.approx(theirs.loss_, abs=TOLERANCE)
    _assert_same_network(theirs, ours)


@pytest.mark.parametrize("kind", ["binary", "multilabel", "string-labels"])
def test_other_target_types_match_mlpclassifier(digits, kind):
    X, y = digits
    targets = {
        "binary": (y > 4).astype(int),
        "multilabel": np.stack([y > 4, y % 2 == 0], axis=1).astype(int),
        "string-labels": np.array(["zero", "one", "two"])[y % 3],
    }
    theirs, ours = _fit_both(X, targets[kind], hidden_layer_sizes=(16,))
    _assert_same_network(theirs, ours)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=TOLERANCE)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert ours.out_activation_ == theirs.out_activation_


def test_partial_fit_matches_mlpclassifier(digits):
    X, y = digits
    params = dict(hidden_layer_sizes=(16,), random_state=0, solver="sgd", learning_rate_init=0.1)
    theirs, ours = MLPClassifier(**params), DigitMLPClassifier(**params)
    for start in range(0, 900, 300):
        batch = slice(start, start + 300)
        theirs.partial_fit(X[batch], y[batch], classes=np.arange(10))
        ours.partial_fit(X[batch], y[batch], classes=np.arange(10))
    _assert_same_network(theirs, ours)
    assert ours.t_ == theirs.t_ == 900
