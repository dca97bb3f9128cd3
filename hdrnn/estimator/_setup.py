"""From an estimator's parameters and checked arrays to what a training run needs.

:func:`fit_setup` turns the parameters, the data and the label encoding into
a :class:`FitSetup`: the network's shape, the frozen training configuration
and the training data in the compute dtype. It checks every parameter that
depends on the data, and writes nothing: the estimator assigns what it
returns.
"""

from dataclasses import dataclass

import numpy as np
from sklearn.utils.multiclass import unique_labels

from hdrnn._training.data import TrainingData, Validation
from hdrnn._training.state import TrainingConfig
from hdrnn.estimator import _validation
from hdrnn.nn import Architecture


@dataclass(frozen=True)
class FitSetup:
    """Everything a fit decides before training starts.

    Attributes
    ----------
    binarizer : LabelBinarizer
        The label encoding.
    arch : Architecture
        The network's shape.
    config : TrainingConfig
        The training parameters, checked and resolved for the data.
    data : TrainingData
        The data in the compute dtype (``dtype``).
    dtype : numpy dtype
        The compute dtype: the input's for SGD and Adam, float64 for L-BFGS.
    input_dtype : numpy dtype
        The input's dtype, which the fitted weights are returned in.
    """

    binarizer: object
    arch: Architecture
    config: TrainingConfig
    data: TrainingData
    dtype: np.dtype
    input_dtype: np.dtype


def fit_setup(params, X, y, sample_weight, validation, *, binarizer, scorer=None):
    """Check the data-dependent parameters and prepare a fit.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params()``).
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Checked training data, float32 or float64.
    y : ndarray
        Checked labels.
    sample_weight : array-like or None
        As given to ``fit``.
    validation : tuple of (X_val, y_val, sample_weight_val) or None
        Checked validation arrays.
    binarizer : LabelBinarizer
        The label encoding (new for a fresh fit, the fitted one otherwise).
    scorer : callable or None, default=None
        ``scorer(params, X_val, y_val, sample_weight_val) -> float``, for a
        ``scoring`` other than None and ``"loss"``.

    Returns
    -------
    setup : FitSetup
    """
    hidden = _validation.hidden_sizes(params["hidden_layer_sizes"])
    dtype = np.dtype(np.float64 if params["solver"] == "lbfgs" else X.dtype)
    input_dtype, X = X.dtype, X.astype(dtype, copy=False)
    weights = _validation.sample_weights(
        sample_weight, X, y, class_weight=params["class_weight"], binarizer=binarizer, dtype=dtype
    )
    _validation.warn_if_unscaled(X)
    solver = params["solver"]
    dropout = _validation.dropout_rates(params["dropout"], len(hidden), solver)
    augment, image_shape = _validation.augmentation(
        params["augment"], params["image_shape"], X.shape[1], solver
    )
    Y = binarizer.transform(y).astype(dtype)
    output = "softmax" if binarizer.y_type_ == "multiclass" else "logistic"
    arch = Architecture((X.shape[1], *hidden, Y.shape[1]), params["activation"], output)
    _validation.check_network_fits_in_memory(arch, dtype, params["hidden_layer_sizes"])
    config = TrainingConfig.from_params(
        params,
        batch_size=_validation.batch_size(params, X.shape[0], has_validation=bool(validation)),
        dropout=dropout,
        augment=augment,
        image_shape=image_shape,
    )
    scoring = scorer if params["scoring"] not in (None, "loss") else params["scoring"]
    data = TrainingData(
        X,
        y,
        Y,
        weights,
        np.arange(X.shape[0]),
        _validation_data(validation, binarizer, dtype),
        scoring,
    )
    return FitSetup(binarizer, arch, config, data, dtype, input_dtype)


def _validation_data(validation, binarizer, dtype):
    """The Validation of ``(X_val, y_val, sample_weight_val)``, or None without any."""
    if validation is None:
        return None
    X_val, y_val, weight_val = validation
    unknown = np.setdiff1d(unique_labels(y_val), binarizer.classes_)
    if len(unknown):
        raise ValueError(f"y_val has labels that are not in the training classes: {unknown}.")
    if weight_val is not None:
        weight_val = _validation.sample_weights(
            weight_val, X_val, y_val, class_weight=None, binarizer=binarizer, dtype=dtype
        )
    return Validation(
        X=X_val.astype(dtype, copy=False),
        y=y_val,
        Y=binarizer.transform(y_val).astype(dtype),
        sample_weight=weight_val,
    )
