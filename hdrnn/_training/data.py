"""The values a training run takes and returns, and the validation score it watches.

:class:`TrainingData` and :class:`Validation` are what a run trains on and
watches; :class:`Outcome` is how it ended. They are plain values: the
estimator builds the first two and reads the third.
"""

import math
from dataclasses import dataclass, field, replace

import numpy as np
from sklearn.model_selection import train_test_split

from hdrnn.nn import OUTPUT_LOSSES, predict_logits, unflatten


@dataclass(frozen=True)
class Validation:
    """Held-out data watched after every epoch.

    Parameters
    ----------
    X : ndarray or sparse matrix
        Inputs, in the compute dtype.
    y : ndarray
        Labels as the user gave them (for scorers).
    Y : ndarray
        Binarised targets, in the compute dtype (for the loss).
    sample_weight : ndarray or None
        Weights of the rows.
    """

    X: object
    y: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray = None


@dataclass(frozen=True)
class TrainingData:
    """What a run trains on: all rows, the training rows among them, validation data.

    ``scoring`` is what a validation score is: None for accuracy
    (MLPClassifier's), ``"loss"`` for minus the mean cross-entropy, or a
    callable ``score(arch, params, X, y, sample_weight)`` for any other scorer
    (the estimator makes it).
    """

    X: object
    y: np.ndarray
    Y: np.ndarray
    sample_weight: np.ndarray
    rows: np.ndarray
    validation: Validation = None
    scoring: object = None


@dataclass(frozen=True)
class Outcome:
    """How a run ended.

    Attributes
    ----------
    reason : str
        Why it stopped: ``"max_iter"``, ``"no_improvement"``, ``"callback"``,
        ``"one_epoch"`` (``partial_fit``), ``"interrupted"``, ``"diverged"``,
        ``"converged"`` or ``"lbfgs_limit"`` (L-BFGS).
    records : list of dict
        The ``history_`` records of this run's epochs.
    error : Exception or None
        With ``"diverged"``: the :class:`~hdrnn.TrainingDivergedError` to raise
        once the estimator holds the rolled-back model.
    message : str or None
        With ``"lbfgs_limit"``: scipy's reason.
    """

    reason: str
    records: list = field(default_factory=list)
    error: Exception = None
    message: str = None


def validation_metrics(arch, params, data, kernels=None):
    """Return ``(loss, score)`` of the weights ``params`` on ``data.validation``.

    The loss is the mean cross-entropy without the L2 term. The score is the
    accuracy (``scoring=None``, like MLPClassifier), minus the loss
    (``"loss"``, so that higher is better) or the given scorer's.
    ``kernels`` are the compiled kernels the run chose (None: NumPy).
    """
    validation = data.validation
    coefs, intercepts = unflatten(arch, params)
    logits = predict_logits(arch, validation.X, coefs, intercepts, kernels=kernels)
    if not np.isfinite(logits).all():
        return math.nan, math.nan
    weights = validation.sample_weight
    correct = _correct_rows(logits, validation.Y, arch.output)  # before the loss shifts logits
    scale = 1.0 / len(logits) if weights is None else weights / weights.sum()
    loss = OUTPUT_LOSSES[arch.output].loss_and_dlogits(
        logits, validation.Y, scale, np.empty_like(logits)
    )
    if data.scoring is None:
        return loss, float(np.average(correct, weights=weights))
    if data.scoring == "loss":
        return loss, -loss
    return loss, float(data.scoring(arch, params, validation.X, validation.y, weights))


def _correct_rows(logits, Y, output):
    """Whether each row is predicted right, as scikit-learn's accuracy_score counts it."""
    if output == "softmax":
        return logits.argmax(axis=1) == Y.argmax(axis=1)
    # sigmoid(z) > 0.5 exactly when z > 0; multilabel rows must be right in every label
    return ((logits > 0) == (Y > 0.5)).all(axis=1)


def with_held_out_validation(data, config, rng):
    """``data``, or, for early stopping without validation data, ``data`` with
    ``validation_fraction`` of its rows moved to the validation data."""
    if not config.stops_on_validation or data.validation is not None:
        return data
    # Like MLPClassifier: stratify binary problems only; the same random draws.
    stratify = data.Y if data.Y.shape[1] == 1 else None
    train_rows, val_rows = train_test_split(
        data.rows, random_state=rng, test_size=config.validation_fraction, stratify=stratify
    )
    if len(val_rows) < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the "
            "size of your dataset."
        )
    weights = data.sample_weight
    validation = Validation(
        X=data.X[val_rows],
        y=data.y[val_rows],
        Y=data.Y[val_rows],
        sample_weight=None if weights is None else weights[val_rows],
    )
    return replace(data, rows=train_rows, validation=validation)
