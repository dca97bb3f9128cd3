"""Prediction from a fitted DigitMLPClassifier: it reads the fitted attributes, never writes.

:class:`PredictionMixin` gives the estimator ``predict``,
``predict_proba`` and ``predict_log_proba``; it is kept apart from
:mod:`hdrnn.estimator`, the one module that writes the fitted attributes.
Prediction allocates its own buffers on every call, so concurrent calls on
one model are safe.
"""

import functools

import numpy as np
from scipy.sparse import issparse as _is_sparse
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_is_fitted, validate_data

from hdrnn.estimator._validation import abs_max, refuse_image_stacks
from hdrnn.nn import OUTPUT_LOSSES, Architecture, predict_logits


class PredictionMixin:
    """``predict``, ``predict_proba`` and ``predict_log_proba`` of DigitMLPClassifier."""

    def _logits(self, X):
        """Check ``X`` against the fitted model and return the network's logits."""
        check_is_fitted(self)
        # Float input is kept as it is and cast chunk by chunk in predict_logits;
        # anything else becomes the model's dtype here.
        model_dtype = self.coefs_[0].dtype
        other = np.float64 if model_dtype == np.float32 else np.float32
        # Dense X is checked for NaN and infinity chunk by chunk, in predict_logits.
        refuse_image_stacks(X)
        X = validate_data(
            self,
            X,
            accept_sparse=["csr", "csc"],
            reset=False,
            dtype=(model_dtype, other),
            ensure_all_finite=_is_sparse(X),
        )
        arch = Architecture(
            (*(c.shape[0] for c in self.coefs_), self.n_outputs_),
            self.activation,
            self.out_activation_,
        )
        finite_check = functools.partial(
            assert_all_finite, estimator_name=type(self).__name__, input_name="X"
        )
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below instead
            logits = predict_logits(arch, X, self.coefs_, self.intercepts_, finite_check)
        if not np.isfinite(logits).all():
            largest = abs_max(X)
            if largest > np.finfo(model_dtype).max:
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
        return logits

    def _labels_from_logits(self, logits):
        """The class labels that the logits predict."""
        if self.out_activation_ == "softmax":
            return self._label_binarizer.inverse_transform(logits)
        # sigmoid(z) > 0.5 exactly when z > 0
        return self._label_binarizer.inverse_transform((logits > 0).astype(logits.dtype))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels (an indicator matrix for multilabel problems).
        """
        return self._labels_from_logits(self._logits(X))

    def predict_log_proba(self, X):
        """Return the log of the class probabilities, computed as a log-softmax.

        Unlike ``np.log(predict_proba(X))`` this is finite even where a
        probability rounds to zero.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns ordered as ``classes_``, in the model's
            dtype.
        """
        logits = self._logits(X)
        log_proba = OUTPUT_LOSSES[self.out_activation_].log_proba
        if self._label_binarizer.y_type_ == "binary":
            # binary: P(negative) = sigmoid(-z), P(positive) = sigmoid(z)
            return np.hstack([log_proba(-logits), log_proba(logits)])
        return log_proba(logits)

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Input data.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, columns ordered as ``classes_``, in the model's
            dtype. Rows sum to 1 (for multilabel problems each column is the
            probability of its own label).
        """
        return np.exp(self.predict_log_proba(X))
