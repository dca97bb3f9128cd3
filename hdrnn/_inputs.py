"""Checking what DigitMLPClassifier is given: data, labels, weights and the new options.

Validation happens once, at the edge (design.md); the core trusts its
inputs. Each function takes the estimator, reads its parameters and the
data, and returns checked arrays (or raises a ValueError that says what was
expected, what was received and how to fix it).
"""

import os
import warnings
from numbers import Integral

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import column_or_1d, validate_data

from hdrnn import _fitting
from hdrnn._sklearn_compat import _check_sample_weight
from hdrnn.augmentation import default_image_shape
from hdrnn.exceptions import DataScaleWarning

# Inputs larger than this in absolute value almost always mean unscaled data
# (raw 0-255 pixels); the default initialisation assumes values of order 1.
LARGE_INPUT_THRESHOLD = 100.0

# Copies of the parameters that training keeps: the parameters, their
# gradient, Adam's two moments (or SGD's velocity), a scratch buffer and the
# L2 term's buffer.
TRAINING_COPIES_OF_PARAMS = 6


def hidden_sizes(est):
    """Return ``hidden_layer_sizes`` as a list of positive ints, or raise."""
    hidden = est.hidden_layer_sizes
    hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
    if not hidden or any(
        not isinstance(n, Integral) or isinstance(n, bool | np.bool_) or n <= 0 for n in hidden
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers such as (128, 64); "
            f"got {est.hidden_layer_sizes!r}."
        )
    return [int(n) for n in hidden]


def check_network_fits_in_memory(arch, dtype, hidden_layer_sizes):
    """Refuse a network whose training state would not fit in this machine's memory.

    Training holds the parameters, their gradient, two optimizer buffers and
    a scratch copy: about six times the parameters. Without the check a
    huge ``hidden_layer_sizes`` ends in a raw ``MemoryError``, or worse, in
    the operating system killing the process.
    """
    needed = TRAINING_COPIES_OF_PARAMS * arch.n_params * np.dtype(dtype).itemsize
    available = physical_memory_bytes()
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={hidden_layer_sizes!r} makes a network of "
            f"{arch.n_params:,} parameters, whose training needs about {_gib(needed)} of "
            f"memory; this machine has {_gib(available)}. Use smaller hidden layers."
        )


def physical_memory_bytes():
    """Total physical memory, or None where the platform does not say (e.g. Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n_bytes):
    return f"{n_bytes / 2**30:,.1f} GiB"


def check_extras(est, hidden, n_features):
    """Check dropout and augmentation against the data; set ``image_shape_``.

    Returns the dropout rate of each hidden layer.
    """
    rates = np.asarray(est.dropout, dtype=float)
    if rates.ndim == 0:
        rates = np.full(len(hidden), float(rates))
    if rates.shape != (len(hidden),) or not ((rates >= 0) & (rates < 1)).all():
        raise ValueError(
            "dropout must be a float in [0, 1) or one such float per hidden layer "
            f"({len(hidden)} here); got {est.dropout!r}."
        )
    stochastic_only = {"dropout": rates.any(), "augment": est.augment is not None}
    for name, used in stochastic_only.items():
        if used and est.solver == "lbfgs":
            raise ValueError(
                f"{name} needs a mini-batch solver: use solver='adam' or 'sgd' "
                "(L-BFGS optimises one fixed objective over the whole data set)."
            )
    est.image_shape_ = None
    if est.augment is not None:
        shape = est.image_shape or default_image_shape(n_features)
        if shape is None:
            raise ValueError(
                f"augment needs to know the image shape: X has {n_features} features, "
                "which is not a square image. Pass image_shape=(height, width)."
            )
        if len(shape) != 2 or int(np.prod(shape)) != n_features:
            raise ValueError(
                f"image_shape={tuple(shape)} does not match X: pass (height, width) with "
                f"height * width == n_features ({n_features})."
            )
        est.image_shape_ = tuple(int(side) for side in shape)
    return tuple(float(rate) for rate in rates)


def combined_sample_weight(est, X, y, sample_weight, dtype):
    """Validated sample weights, multiplied by the class weights."""
    if sample_weight is not None:
        _nonzero_weights(np.asarray(sample_weight), "sample_weight")  # the same message everywhere
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=dtype, ensure_non_negative=True
        )
    if est.class_weight is None:
        return _nonzero_weights(sample_weight, "sample_weight")
    if est._label_binarizer.y_type_.startswith("multilabel"):
        raise ValueError(
            "class_weight is not supported for multilabel targets; pass sample_weight."
        )
    if isinstance(est.class_weight, dict):
        unknown = set(est.class_weight) - set(est.classes_)
        if unknown:
            raise ValueError(
                f"class_weight has labels that are not classes: {sorted(unknown, key=str)}. "
                f"The classes are {list(est.classes_)}."
            )
    class_weights = compute_sample_weight(est.class_weight, y).astype(dtype)
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


def validation_data(est, validation, dtype):
    """Check ``(X_val, y_val, sample_weight_val)`` and return a ValidationData or None."""
    if validation is None:
        return None
    X_val, y_val, weight_val = validation
    X_val, y_val = validate_data(
        est,
        X_val,
        y_val,
        accept_sparse=["csr", "csc"],
        multi_output=True,
        dtype=(np.float64, np.float32),
        reset=False,
    )
    if y_val.ndim == 2 and y_val.shape[1] == 1:
        y_val = column_or_1d(y_val, warn=True)
    unknown = np.setdiff1d(unique_labels(y_val), est.classes_)
    if len(unknown):
        raise ValueError(f"y_val has labels that are not in the training classes: {unknown}.")
    if weight_val is not None:
        weight_val = _check_sample_weight(weight_val, X_val, dtype=dtype, ensure_non_negative=True)
    return _fitting.ValidationData(
        X=X_val.astype(dtype, copy=False),
        y=y_val,
        Y=est._label_binarizer.transform(y_val).astype(dtype),
        sample_weight=weight_val,
    )


def refuse_image_stacks(X):
    """Refuse images that were not flattened, e.g. X of shape (n, 28, 28), with the fix."""
    shape = getattr(X, "shape", ())
    if len(shape) == 3:
        raise ValueError(
            f"Found array with dim 3 (shape {shape}): DigitMLPClassifier expects one row per "
            f"image. Reshape to (n_samples, {shape[1] * shape[2]}): X.reshape(len(X), -1)."
        )


def validate_training_data(est, X, y, incremental, reset):
    refuse_image_stacks(X)
    X, y = validate_data(
        est,
        X,
        y,
        accept_sparse=["csr", "csc"],
        multi_output=True,
        dtype=(np.float64, np.float32),
        reset=reset,
    )
    est._input_dtype = X.dtype
    if y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    check_labels(y)
    if not hasattr(est, "classes_") or (not est.warm_start and not incremental):
        est._label_binarizer = LabelBinarizer()
        est._label_binarizer.fit(y)
        est.classes_ = est._label_binarizer.classes_
        if len(est.classes_) < 2 and est._label_binarizer.y_type_ != "multilabel-indicator":
            raise ValueError(
                "DigitMLPClassifier needs samples of at least 2 classes in the data; "
                f"got 1 class ({est.classes_[0].item()!r})."
            )
    else:
        classes = unique_labels(y)
        if est.warm_start and not incremental and set(classes) != set(est.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in "
                f"the previous call to fit. Previously got {est.classes_}, `y` has "
                f"{classes}."
            )
        unknown = np.setdiff1d(classes, est.classes_, assume_unique=True)
        if len(unknown):
            raise ValueError(
                f"`y` has classes not in `est.classes_`: {unknown}. `est.classes_` "
                f"has {est.classes_}; pass every class to the first partial_fit call "
                "with `classes=`."
            )
    return X, y, est._label_binarizer.transform(y)


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


def abs_max(X):
    if hasattr(X, "toarray"):
        return float(abs(X).max()) if X.nnz else 0.0
    return float(max(X.max(), -X.min())) if X.size else 0.0


def warn_if_unscaled(X):
    largest = abs_max(X)
    if largest > LARGE_INPUT_THRESHOLD:
        warnings.warn(
            f"X has values as large as {largest:.4g}; neural networks train best on "
            "inputs of order 1. Scale X first: divide raw pixel values (0-255) by 255, "
            "or use sklearn.preprocessing.MinMaxScaler or StandardScaler.",
            DataScaleWarning,
            stacklevel=5,
        )
