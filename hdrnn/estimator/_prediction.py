"""The network's answer for checked input: logits, labels and probabilities from values.

These functions read the fitted arrays they are given and allocate their own
buffers on every call, so concurrent predictions with one model are safe.
"""

import functools

import numpy as np
from sklearn.utils import assert_all_finite

from hdrnn.estimator._validation import abs_max
from hdrnn.nn import OUTPUT_LOSSES, compiled_kernels, predict_logits


def network_logits(arch, coefs, intercepts, X, estimator_name):
    """The logits of checked ``X``; a ValueError saying how to fix input that overflows.

    Dense ``X`` is checked for NaN and infinity chunk by chunk, as each chunk
    is cast into the model's dtype (``estimator_name`` goes into that message).
    """
    model_dtype = coefs[0].dtype
    finite_check = functools.partial(
        assert_all_finite, estimator_name=estimator_name, input_name="X"
    )
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below instead
        logits = predict_logits(
            arch, X, coefs, intercepts, finite_check, kernels=compiled_kernels()
        )
    if np.isfinite(logits).all():
        return logits
    largest = abs_max(X)
    if largest > float(np.finfo(model_dtype).max):
        raise ValueError(
            f"Input X holds values too large for this {model_dtype} model (largest "
            f"|X| here: {largest:.3g}; {model_dtype} holds up to "
            f"{np.finfo(model_dtype).max:.3g}). Scale X the same way as the "
            "training data, e.g. divide pixel values by 255."
        )
    raise ValueError(
        "The network produced non-finite class scores: X has values far outside "
        f"the range it was trained on (largest |X| here: {largest:.3g}). Scale X "
        "the same way as the training data, e.g. divide pixel values by 255."
    )


def labels_from_logits(logits, binarizer, output):
    """The class labels that the logits predict."""
    if output == "softmax":
        return binarizer.inverse_transform(logits)
    # sigmoid(z) > 0.5 exactly when z > 0
    return binarizer.inverse_transform((logits > 0).astype(logits.dtype))


def log_proba_from_logits(logits, binarizer, output):
    """Log-probabilities of the classes (columns as ``classes_``), computed stably."""
    log_proba = OUTPUT_LOSSES[output].log_proba
    if binarizer.y_type_ == "binary":
        # binary: P(negative) = sigmoid(-z), P(positive) = sigmoid(z)
        return np.hstack([log_proba(-logits), log_proba(logits)])
    return log_proba(logits)
