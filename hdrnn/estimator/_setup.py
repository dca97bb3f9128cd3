"""From an estimator's parameters and its checked data to what a training run needs.

:func:`fit_setup` resolves every parameter once, for this data: the hidden
layers, the dropout rate of each layer, the augmentation sized for the
images, the batch size as an int, whether the run is watched on validation
data. It returns a :class:`FitSetup` (the network's shape, the frozen
:class:`~hdrnn._training.state.TrainingConfig` and the
:class:`~hdrnn._training.data.TrainingData` in the compute dtype) and
writes nothing: the estimator assigns what it needs.
"""

import math
import os
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from hdrnn._training.data import TrainingData, Validation
from hdrnn._training.state import TrainingConfig
from hdrnn._utils.images import image_shape
from hdrnn._utils.warn import warn
from hdrnn.augmentation import Augmentation
from hdrnn.nn import Architecture, Workspace
from hdrnn.nn.prediction import PREDICT_CHUNK_BYTES

# Copies of the parameters a run keeps besides its Workspace (which holds the
# gradient and the L2 buffer): the parameters, the snapshot to roll back to,
# the best epoch's (early stopping), the published weights, and the
# optimizer's arrays: Adam's two moments and scratch, SGD's velocity and
# scratch, or L-BFGS's ten correction pairs and a few vectors (scipy, float64).
PARAM_COPIES = 4
OPTIMIZER_COPIES = {"adam": 3, "sgd": 2, "lbfgs": 25}

# What a distorted batch needs besides the Workspace: source positions and
# interpolation weights, a few arrays the size of a batch of inputs.
AUGMENT_BATCH_COPIES = 6

# scikit-learn's "auto" batch size: min(200, n_samples).
AUTO_BATCH_SIZE = 200


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
    validated : bool
        Whether each epoch is scored on validation data (given, or held out
        for early stopping).
    """

    binarizer: object
    arch: Architecture
    config: TrainingConfig
    data: TrainingData
    dtype: np.dtype
    input_dtype: np.dtype
    validated: bool


def fit_setup(params, data, *, scorer=None):
    """Resolve the parameters for ``data`` and prepare a fit.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params()``).
    data : FitData
        The checked data (:func:`~hdrnn.estimator._validation.check_fit_data`).
    scorer : callable or None, default=None
        ``scorer(arch, params, X_val, y_val, sample_weight_val) -> float``,
        for a ``scoring`` other than None and ``"loss"``.

    Returns
    -------
    setup : FitSetup
    """
    X, dtype, binarizer = data.X, data.dtype, data.binarizer
    check_params(params, X.shape[1])
    hidden = hidden_sizes(params["hidden_layer_sizes"])
    Y = binarizer.transform(data.y).astype(dtype)
    output = "softmax" if binarizer.y_type_ == "multiclass" else "logistic"
    arch = Architecture((X.shape[1], *hidden, Y.shape[1]), params["activation"], output)
    augment, shape = augmentation(params["augment"], params["image_shape"], X.shape[1], params)
    config = TrainingConfig.from_params(
        params,
        batch_size=batch_size(params, X.shape[0], has_validation=data.validation is not None),
        dropout=dropout_rates(params["dropout"], len(hidden), params),
        augment=augment,
        image_shape=shape,
    )
    check_training_fits_in_memory(arch, dtype, config, params["hidden_layer_sizes"])
    validation = _validation_data(data.validation, binarizer, dtype)
    training = TrainingData(
        X.astype(dtype, copy=False),
        data.y,
        Y,
        data.sample_weight,
        np.arange(X.shape[0]),
        validation,
        scorer if params["scoring"] not in (None, "loss") else params["scoring"],
    )
    validated = validation is not None or config.stops_on_validation
    return FitSetup(binarizer, arch, config, training, dtype, X.dtype, validated)


def _validation_data(validation, binarizer, dtype):
    """The Validation of checked ``(X_val, y_val, sample_weight_val)``, or None."""
    if validation is None:
        return None
    X_val, y_val, weight_val = validation
    return Validation(
        X=X_val.astype(dtype, copy=False),
        y=y_val,
        Y=binarizer.transform(y_val).astype(dtype),
        sample_weight=weight_val,
    )


# ------------------------------------------------------------- parameters


def check_params(params, n_features):
    """Make every check of the parameters that needs no data, only the input size.

    ``fit`` makes them first; :func:`hdrnn.load` and :func:`hdrnn.save` make
    them too, so that a model file cannot hold parameters that would fail
    only later, at ``partial_fit``.

    Raises
    ------
    ValueError
        Naming the parameter, what it holds and what it may hold.
    """
    hidden = hidden_sizes(params["hidden_layer_sizes"])
    dropout_rates(params["dropout"], len(hidden), params)
    augmentation(params["augment"], params["image_shape"], n_features, params)
    if params["image_shape"] is not None:
        image_shape(n_features, params["image_shape"])
    if isinstance(params["batch_size"], bool | np.bool_):
        raise ValueError(
            f"batch_size must be 'auto' or a positive integer; got {params['batch_size']!r}."
        )
    weights = params["class_weight"]
    if isinstance(weights, dict):
        bad = {label: w for label, w in weights.items() if not _is_weight(w)}
        if bad:
            raise ValueError(
                "class_weight values must be finite numbers >= 0; got "
                f"{dict(list(bad.items())[:3])!r}."
            )


def _is_weight(value):
    return (
        isinstance(value, Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(value)
        and value >= 0
    )


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


def training_memory_bytes(arch, dtype, config):
    """Bytes a run with ``config`` allocates: parameter copies, buffers, chunks.

    The Workspace's own count (:meth:`hdrnn.nn.Workspace.nbytes`: every
    per-row buffer of a batch, the gradient), the copies of the parameters
    the run and the optimizer keep, the distorted batches' temporaries and
    the chunks that scoring and diagnostics run in. The data are not
    counted: they exist before ``fit``.
    """
    itemsize = np.dtype(dtype).itemsize
    n_features = arch.layer_units[0]
    augmenting = config.augment is not None
    workspace = Workspace.nbytes(
        arch, config.batch_size, dtype, config.dropout or None, 3 if augmenting else 1
    )
    copies = PARAM_COPIES + OPTIMIZER_COPIES[config.solver]
    params = copies * arch.n_params * (8 if config.solver == "lbfgs" else itemsize)
    augment = AUGMENT_BATCH_COPIES * config.batch_size * n_features * 8 if augmenting else 0
    return workspace + params + augment + 2 * PREDICT_CHUNK_BYTES


def check_training_fits_in_memory(arch, dtype, config, hidden_layer_sizes):
    """Refuse a run that would not fit in this machine's memory, before allocating it.

    Without the check a huge ``hidden_layer_sizes`` ends in a raw
    ``MemoryError``, or worse, in the operating system killing the process.
    """
    needed = training_memory_bytes(arch, dtype, config)
    available = physical_memory_bytes()
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={hidden_layer_sizes!r} makes a network of {arch.n_params:,} "
            f"parameters which, trained in batches of {config.batch_size}, needs about "
            f"{_gib(needed)} of memory; this machine has {_gib(available)}. Use smaller "
            "hidden layers (or batches)."
        )


def physical_memory_bytes():
    """Total physical memory, or None where the platform does not say (e.g. Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _gib(n_bytes):
    return f"{n_bytes / 2**30:,.1f} GiB"


def dropout_rates(dropout, n_hidden, params):
    """Return one dropout rate per hidden layer, or raise."""
    wanted = (
        "dropout must be a float in [0, 1) or one such float per hidden layer "
        f"({n_hidden} here); got {dropout!r}."
    )
    try:
        rates = np.asarray(dropout, dtype=float)
    except (TypeError, ValueError):  # a dict, a set, text: "array-like" let it through
        raise ValueError(wanted) from None
    if rates.ndim == 0:
        rates = np.full(n_hidden, float(rates))
    if rates.shape != (n_hidden,) or not ((rates >= 0) & (rates < 1)).all():
        raise ValueError(wanted)
    _stochastic_only("dropout", rates.any(), params["solver"])
    return tuple(float(rate) for rate in rates)


def augmentation(augment, given_shape, n_features, params):
    """Return ``(Augmentation or None, image shape or None)`` for ``augment``, or raise."""
    _stochastic_only("augment", augment is not None, params["solver"])
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
