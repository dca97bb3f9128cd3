"""scikit-learn's own estimator checks, run on DigitMLPClassifier."""

from sklearn.utils.estimator_checks import (
    check_dataframe_column_names_consistency,
    parametrize_with_checks,
)

from hdrnn import DigitMLPClassifier

# Every check passes. check_sample_weight_equivalence_* (weights equal repeated
# rows) cannot hold for shuffled mini-batches in general, but the check uses 15
# samples, where batch_size="auto" is the whole data set: full-batch training
# is deterministic and the equivalence is exact.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    [DigitMLPClassifier()],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_dataframe_column_names_consistency():
    # Not yielded for third-party estimators; OpenML frames carry pixel1..pixel784.
    check_dataframe_column_names_consistency("DigitMLPClassifier", DigitMLPClassifier())
