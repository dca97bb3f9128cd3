"""Checking what DigitMLPClassifier is given: values in, checked values out.

Validation happens once, at the edge; the core trusts its inputs. These
functions take values (parameters, arrays), return checked values or raise
a ValueError that says what was expected, what was received and how to fix
it. They never write the estimator: it calls them and assigns the results.
"""

import math
import os
from numbers import Integral

import numpy as np
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets, unique_labels

from hdrnn._utils.images import image_shape
from hdrnn._utils.sklearn_compat import _check_sample_weight
from hdrnn._utils.warn import warn
from hdrnn.augmentation import Augmentation
from hdrnn.exceptions import DataScaleWarning

# Inputs larger than this in absolute value almost always mean unscaled data
# (raw 0-255 pixels); the default initialisation assumes values of order 1.
LARGE_INPUT_THRESHOLD = 100.0

# Copies of the parameters that training keeps: the parameters, their
# gradient, Adam's two moments (or SGD's velocity), a scratch buffer and the
# L2 term's buffer.
TRAINING_COPIES_OF_PARAMS = 6

# scikit-learn's "auto" batch size: min(200, n_samples).
AUTO_BATCH_SIZE = 200


# ------------------------------------------------------------- parameters


def hidden_sizes(hidden_layer_sizes):
    """Return ``hidden_layer_sizes`` as a list of positive ints, or raise."""
    hidden = hidden_layer_sizes
    hidden = list(hidden) if hasattr(hidden, "__iter__") else [hidden]
    if not hidden or any(
        not isinstance(n, Integral) or isinstance(n, bool | np.bool_) or n <= 0 for n in hidden
    ):
        raise ValueError(
            "hidden_layer_sizes must be a sequence of positive integers such as (128, 64); "
            f"got {hidden_layer_sizes!r}."
        )
    return [int(n) for n in hidden]


def check_network_fits_in_memory(arch, dtype, hidden_layer_sizes):
    """Refuse a network whose training state would not fit in this machine's memory.

    Training holds about six copies of the parameters; without the check a
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


def dropout_rates(dropout, n_hidden, solver):
    """Return one dropout rate per hidden layer, or raise."""
    rates = np.asarray(dropout, dtype=float)
    if rates.ndim == 0:
        rates = np.full(n_hidden, float(rates))
    if rates.shape != (n_hidden,) or not ((rates >= 0) & (rates < 1)).all():
        raise ValueError(
            "dropout must be a float in [0, 1) or one such float per hidden layer "
            f"({n_hidden} here); got {dropout!r}."
        )
    _stochastic_only("dropout", rates.any(), solver)
    return tuple(float(rate) for rate in rates)


def augmentation(augment, given_shape, n_features, solver):
    """Return ``(Augmentation or None, image shape or None)`` for ``augment``, or raise."""
    _stochastic_only("augment", augment is not None, solver)
    if augment is None:
        return None, None
    try:
        shape = image_shape(n_features, given_shape)
    except ValueError as error:
        raise ValueError(f"augment needs to know the image shape: {error}") from None
    if isinstance(augment, str):
        augment = Augmentation.preset(augment, shape)
    return augment, shape


def _stochastic_only(name, used, solver):
    if used and solver == "lbfgs":
        raise ValueError(
            f"{name} needs a mini-batch solver: use solver='adam' or 'sgd' "
            "(L-BFGS optimises one fixed objective over the whole data set)."
        )


def batch_size(params, n_samples, *, has_validation):
    """Rows per mini-batch for a fit on ``n_samples`` rows, as an int.

    ``"auto"`` is ``min(200, n_training)``; larger sizes are clipped to the
    training rows, which exclude the early-stopping split (whose size
    ``train_test_split`` fixes: ``ceil(validation_fraction * n_samples)``).
    L-BFGS takes the whole data set at once.
    """
    if params["solver"] == "lbfgs":
        return n_samples
    if params["early_stopping"] and not has_validation:
        n_samples -= math.ceil(params["validation_fraction"] * n_samples)
    value = params["batch_size"]
    if value == "auto":
        return min(AUTO_BATCH_SIZE, n_samples)
    if value > n_samples:
        warn(
            f"Got batch_size={value} larger than the {n_samples} training samples. It is "
            "going to be clipped.",
            UserWarning,
        )
    return min(value, n_samples)


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
