"""Checking the data DigitMLPClassifier is given: values in, checked values out.

Validation happens once, at the edge; the core trusts its inputs. A fit's
data are checked in one call, :func:`check_fit_data`, which returns them as
a :class:`FitData`; prediction's in :func:`check_predict_data`. Errors say
what was expected, what was received and how to fix it. Nothing here writes
the estimator, except what scikit-learn's ``validate_data`` records
(``n_features_in_``, ``feature_names_in_``).
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse import issparse
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from hdrnn._utils.sklearn_compat import _check_sample_weight
from hdrnn._utils.warn import warn
from hdrnn.exceptions import DataScaleWarning

# Inputs larger than this in absolute value almost always mean unscaled data
# (raw 0-255 pixels); the default initialisation assumes values of order 1.
LARGE_INPUT_THRESHOLD = 100.0


@dataclass(frozen=True)
class FitData:
    """A fit's data, checked.

    Attributes
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        float32 or float64, as given (not yet in the compute dtype).
    y : ndarray
        Labels (1-D, or an indicator matrix for multilabel problems).
    binarizer : LabelBinarizer
        The label encoding: new for a fresh fit, the fitted one otherwise.
    sample_weight : ndarray or None
        Sample weights times class weights, in the compute dtype.
    validation : tuple of (X_val, y_val, sample_weight_val) or None
        Checked validation data.
    dtype : numpy dtype
        The compute dtype: the input's for SGD and Adam, float64 for L-BFGS.
    """

    X: object
    y: np.ndarray
    binarizer: LabelBinarizer
    sample_weight: np.ndarray
    validation: tuple
    dtype: np.dtype


def check_fit_data(
    estimator, X, y, sample_weight, validation, *, reset, binarizer=None, same_classes=False
):
    """Check everything ``fit`` or ``partial_fit`` is given; return a :class:`FitData`.

    Parameters
    ----------
    estimator : DigitMLPClassifier
        Read for its parameters; ``validate_data`` records the features on it
        when ``reset``.
    X, y, sample_weight
        As given to ``fit``.
    validation : tuple of (X_val, y_val, sample_weight_val) or None
        As given to ``fit``.
    reset : bool
        Whether this is a new fit (the features are recorded) or continues one.
    binarizer : LabelBinarizer or None, default=None
        The fitted label encoding when training continues (or the one
        ``partial_fit`` made from ``classes``); ``y`` must then hold only its
        classes.
    same_classes : bool, default=False
        Whether ``y`` must hold every one of them (``warm_start``).
    """
    X, y = checked_xy(estimator, X, y, reset=reset)
    check_labels(y)
    if binarizer is None:
        binarizer = label_binarizer(y)
    else:
        check_known_classes(y, binarizer.classes_, same=same_classes)
    dtype = np.dtype(np.float64 if estimator.solver == "lbfgs" else X.dtype)
    weights = sample_weights(
        sample_weight, X, y, class_weight=estimator.class_weight, binarizer=binarizer, dtype=dtype
    )
    warn_if_unscaled(X)
    if validation is not None:
        validation = _checked_validation(estimator, validation, binarizer, dtype)
    return FitData(X, y, binarizer, weights, validation, dtype)


def checked_xy(estimator, X, y, *, reset):
    """``X`` and ``y`` through scikit-learn's ``validate_data``, images refused with the fix."""
    refuse_image_stacks(X)
    X, y = validate_data(
        estimator,
        X,
        y,
        accept_sparse=["csr", "csc"],
        multi_output=True,
        dtype=(np.float64, np.float32),
        reset=reset,
    )
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    return X, y


def _checked_validation(estimator, validation, binarizer, dtype):
    X_val, y_val, weight_val = validation
    X_val, y_val = checked_xy(estimator, X_val, y_val, reset=False)
    unknown = np.setdiff1d(unique_labels(y_val), binarizer.classes_)
    if len(unknown):
        raise ValueError(f"y_val has labels that are not in the training classes: {unknown}.")
    if weight_val is not None:
        weight_val = sample_weights(
            weight_val, X_val, y_val, class_weight=None, binarizer=binarizer, dtype=dtype
        )
    return X_val, y_val, weight_val


def check_predict_data(estimator, X, model_dtype):
    """``X`` checked against the fitted model, in the model's dtype unless it is float.

    Float input is kept as it is and cast chunk by chunk during prediction;
    anything else becomes ``model_dtype`` here. Dense ``X`` is checked for
    NaN and infinity chunk by chunk too, while each chunk is in cache.
    """
    other = np.float64 if model_dtype == np.float32 else np.float32
    if _plain_rows(estimator, X, (model_dtype, other)):
        return X
    refuse_image_stacks(X)
    return validate_data(
        estimator,
        X,
        accept_sparse=["csr", "csc"],
        reset=False,
        dtype=(model_dtype, other),
        ensure_all_finite=issparse(X),
    )


def _plain_rows(estimator, X, dtypes):
    """Whether ``X`` is already what ``validate_data`` would return unchanged: a float
    ndarray of rows with the fitted number of features, for a model fitted without
    feature names (so there is no name to check and no warning to give).

    Reading a number predicts three small batches; scikit-learn's checks of a
    plain array took a tenth of a millisecond each, most of it looking for
    dataframes.
    """
    return (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in dtypes
        and X.shape[0] >= 1
        and X.shape[1] == getattr(estimator, "n_features_in_", -1)
        and not hasattr(estimator, "feature_names_in_")
    )


# ----------------------------------------------------------------- labels


def check_labels(y):
    """Refuse labels that are missing, of mixed types, or not classes at all.

    scikit-learn's own checks would meet ``None`` or a mix of strings and
    numbers with a raw ``TypeError`` from sorting, and continuous values
    with a message that prints every one of them.
    """
    if y.dtype.kind == "O":
        values = y.ravel().tolist()
        if any(value is None for value in values):
            position = next(i for i, value in enumerate(values) if value is None)
            raise ValueError(
                f"y contains None (a missing label), first at position {position}. Remove "
                "those samples or give them a label."
            )
        kinds = {"strings" if isinstance(v, str) else type(v).__name__ for v in values}
        if "strings" in kinds and len(kinds) > 1:
            example = next(v for v in values if not isinstance(v, str))
            raise ValueError(
                f"y mixes strings and other types ({sorted(kinds)}, e.g. {example!r}). "
                "Use one type for every label, e.g. y.astype(str)."
            )
    try:
        check_classification_targets(y)
    except ValueError as error:
        raise ValueError(
            f"{str(error)[:300]} DigitMLPClassifier needs class labels: integers, strings, "
            "or a 0/1 indicator matrix for multilabel problems."
        ) from None


def label_binarizer(y):
    """A LabelBinarizer fitted on ``y``, which must hold two classes at least."""
    binarizer = LabelBinarizer().fit(y)
    if len(binarizer.classes_) < 2 and binarizer.y_type_ != "multilabel-indicator":
        raise ValueError(
            "DigitMLPClassifier needs samples of at least 2 classes in the data; "
            f"got 1 class ({binarizer.classes_[0].item()!r})."
        )
    return binarizer


def check_known_classes(y, classes, *, same):
    """Refuse labels outside ``classes`` (and, with ``same``, any class missing from ``y``)."""
    seen = unique_labels(y)
    if same and set(seen) != set(classes):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the previous "
            f"call to fit. Previously got {classes}, `y` has {seen}."
        )
    unknown = np.setdiff1d(seen, classes, assume_unique=True)
    if len(unknown):
        raise ValueError(
            f"`y` has classes not in `est.classes_`: {unknown}. `est.classes_` has "
            f"{classes}; pass every class to the first partial_fit call with `classes=`."
        )


# ---------------------------------------------------------------- weights


def sample_weights(sample_weight, X, y, *, class_weight, binarizer, dtype):
    """Validated sample weights, multiplied by the class weights (None: all equal)."""
    if sample_weight is not None:
        _nonzero_weights(np.asarray(sample_weight), "sample_weight")  # one message everywhere
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=dtype, ensure_non_negative=True
        )
    if class_weight is None:
        return sample_weight
    if binarizer.y_type_.startswith("multilabel"):
        raise ValueError(
            "class_weight is not supported for multilabel targets; pass sample_weight."
        )
    if isinstance(class_weight, dict):
        unknown = set(class_weight) - set(binarizer.classes_)
        if unknown:
            raise ValueError(
                f"class_weight has labels that are not classes: {sorted(unknown, key=str)}. "
                f"The classes are {list(binarizer.classes_)}."
            )
    class_weights = compute_sample_weight(class_weight, y).astype(dtype)
    combined = class_weights if sample_weight is None else class_weights * sample_weight
    return _nonzero_weights(combined, "sample_weight and class_weight")


def _nonzero_weights(weights, names):
    """Refuse weights that are zero for every sample: nothing could be learned."""
    if weights is not None and not weights.any():
        raise ValueError(
            f"The weights ({names}) are zero for every sample, so there is nothing to "
            "learn from. Give some samples a positive weight."
        )
    return weights


# ------------------------------------------------------------------- data


def refuse_image_stacks(X):
    """Refuse images that were not flattened, e.g. X of shape (n, 28, 28), with the fix."""
    shape = getattr(X, "shape", ())
    if len(shape) == 3:
        raise ValueError(
            f"Found array with dim 3 (shape {shape}): DigitMLPClassifier expects one row per "
            f"image. Reshape to (n_samples, {shape[1] * shape[2]}): X.reshape(len(X), -1)."
        )


def abs_max(X):
    """The largest absolute value in ``X`` (dense or sparse); 0 when empty."""
    if hasattr(X, "toarray"):
        return float(abs(X).max()) if X.nnz else 0.0
    return float(max(X.max(), -X.min())) if X.size else 0.0


def warn_if_unscaled(X):
    """Warn when ``X`` holds values far from order 1 (raw pixels, most often)."""
    largest = abs_max(X)
    if largest > LARGE_INPUT_THRESHOLD:
        warn(
            f"X has values as large as {largest:.4g}; neural networks train best on "
            "inputs of order 1. Scale X first: divide raw pixel values (0-255) by 255, "
            "or use sklearn.preprocessing.MinMaxScaler or StandardScaler.",
            DataScaleWarning,
        )


# --------------------------------------------------------- fitted arrays


def fitted_arrays(coefs, intercepts):
    """Checked ``(coefs, intercepts)``: lists of arrays in one float dtype that chain.

    Fitted attributes may be set by hand (scikit-learn's own tests do, and so
    do users porting weights), so they are checked before any kernel reads
    them: each ``coefs[i]`` a 2-D numeric array, each ``intercepts[i]`` 1-D
    with one bias per unit of its layer, the layers chaining. Lists of
    numbers are accepted, as MLPClassifier accepts them; integer and float16
    weights become float64 and float32 (the arrays that are already right are
    returned as they are, without a copy).

    Raises
    ------
    ValueError
        Saying which array is wrong and how.
    """
    for name, arrays in (("coefs_", coefs), ("intercepts_", intercepts)):
        if not isinstance(arrays, list | tuple) or not arrays:
            raise ValueError(
                f"{name} must be a non-empty list of arrays, one per layer; got "
                f"{type(arrays).__name__}."
            )
    if len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs_ has {len(coefs)} layers but intercepts_ has {len(intercepts)}: "
            "they need one array each per layer."
        )
    coefs = [_numeric(W, f"coefs_[{i}]", ndim=2) for i, W in enumerate(coefs)]
    intercepts = [_numeric(b, f"intercepts_[{i}]", ndim=1) for i, b in enumerate(intercepts)]
    for i, (W, b) in enumerate(zip(coefs, intercepts)):
        if i and W.shape[0] != coefs[i - 1].shape[1]:
            raise ValueError(
                f"coefs_[{i}] has shape {W.shape}, but layer {i - 1} has "
                f"{coefs[i - 1].shape[1]} units: the layers do not chain."
            )
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"intercepts_[{i}] has shape {b.shape}; layer {i} has {W.shape[1]} units, "
                f"so it needs shape ({W.shape[1]},)."
            )
    float32 = all(a.dtype == np.float32 for a in (*coefs, *intercepts))
    dtype = np.float32 if float32 else np.float64
    return (
        [a.astype(dtype, copy=False) for a in coefs],
        [a.astype(dtype, copy=False) for a in intercepts],
    )


def _numeric(value, name, ndim):
    if value is None:
        raise ValueError(f"{name} is None; it must be an array of weights.")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} is not an array of numbers ({error}).") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} holds {array.dtype} values; weights must be numbers (float32 or float64)."
        )
    if array.ndim != ndim:
        raise ValueError(
            f"{name} has {array.ndim} dimensions (shape {array.shape}); it needs {ndim}."
        )
    if array.dtype == np.float16:
        return array.astype(np.float32)
    return array if array.dtype.kind == "f" else array.astype(np.float64)
