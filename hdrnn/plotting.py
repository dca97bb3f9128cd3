"""Pictures of a digit recogniser: learning curves, first-layer filters, digits, confusions.

matplotlib is optional (``pip install "hdrnn[plot]"``) and imported only
when a function here is called. Every function draws on the Axes it is
given (or on a new figure), returns what it drew on, and never calls
``plt.show()``, so it works in scripts, notebooks and tests alike.
"""

import math

import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay

from hdrnn._utils.images import image_shape as image_shape_of


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "hdrnn.plotting needs matplotlib: pip install 'hdrnn[plot]' "
            "(or pip install matplotlib)."
        ) from None
    return plt


def _grid(n_images, n_cols, figsize_per_image):
    plt = _pyplot()
    n_cols = min(n_cols, n_images)
    n_rows = math.ceil(n_images / n_cols)
    figure, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(figsize_per_image * n_cols, figsize_per_image * n_rows),
        squeeze=False,
    )
    for ax in axes.ravel():
        ax.set_axis_off()
    return figure, axes


def plot_learning_curves(estimator, ax=None):
    """Plot the training loss per epoch, and the validation loss and score when recorded.

    Parameters
    ----------
    estimator : DigitMLPClassifier or MLPClassifier
        A fitted estimator with ``loss_curve_`` (and optionally
        ``validation_loss_curve_`` and ``validation_scores_``).
    ax : matplotlib Axes, default=None
        Where to draw the losses; a new figure when None.

    Returns
    -------
    ax : matplotlib Axes
        The losses' Axes. The validation score, if any, is on a twin Axes
        (``ax.right_ax``) with its own scale.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.datasets import load_digits
    >>> from hdrnn import DigitMLPClassifier
    >>> from hdrnn.plotting import plot_learning_curves
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DigitMLPClassifier((32,), max_iter=20, early_stopping=True).fit(X / 16, y)
    >>> ax = plot_learning_curves(clf)
    >>> [line.get_label() for line in ax.get_lines()]
    ['training loss', 'validation loss']
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    epochs = np.arange(1, len(estimator.loss_curve_) + 1)
    ax.plot(epochs, estimator.loss_curve_, label="training loss", color="C0")
    validation_loss = getattr(estimator, "validation_loss_curve_", None)
    if validation_loss:
        ax.plot(
            epochs[: len(validation_loss)], validation_loss, label="validation loss", color="C1"
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    handles, labels = ax.get_legend_handles_labels()
    scores = getattr(estimator, "validation_scores_", None)
    if scores:
        right = ax.twinx()
        right.plot(epochs[: len(scores)], scores, label="validation score", color="C2", ls="--")
        right.set_ylabel("validation score")
        ax.right_ax = right
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="center right")
    return ax


def plot_first_layer_weights(estimator, n_units=64, image_shape=None, n_cols=8):
    """Show the input weights of first-layer units as images (the classic MNIST filters).

    Each panel is one hidden unit: the weight it gives to every pixel, red
    for positive and blue for negative, on a scale symmetric around zero.

    Parameters
    ----------
    estimator : DigitMLPClassifier or MLPClassifier
        A fitted estimator whose input is an image.
    n_units : int, default=64
        How many units to show (the first ones).
    image_shape : tuple of (int, int), default=None
        The input image's shape; None means square.
    n_cols : int, default=8
        Panels per row.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per panel, shape (n_rows, n_cols).
    """
    weights = np.asarray(estimator.coefs_[0])
    shape = image_shape_of(weights.shape[0], image_shape)
    n_units = min(n_units, weights.shape[1])
    figure, axes = _grid(n_units, n_cols, 1.0)
    for unit, ax in zip(range(n_units), axes.ravel()):
        image = weights[:, unit].reshape(shape)
        limit = np.abs(image).max() or 1.0
        ax.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(str(unit), fontsize=7)
    figure.suptitle("First-layer weights, one unit per panel")
    return axes


def plot_digits(X, y_true=None, y_pred=None, *, image_shape=None, n_images=40, n_cols=10):
    """Show digits with their labels: true, predicted, or both (mistakes in red).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Flattened images.
    y_true, y_pred : array-like of shape (n_samples,), default=None
        Labels to print above each image.
    image_shape : tuple of (int, int), default=None
        Image shape; None means square.
    n_images : int, default=40
        How many to show (the first ones; select rows beforehand, e.g. the
        misclassified ones with ``X[y_pred != y_true]``).
    n_cols : int, default=10
        Images per row.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per image, shape (n_rows, n_cols).
    """
    X = np.asarray(X)
    shape = image_shape_of(X.shape[1], image_shape)
    n_images = min(n_images, len(X))
    if n_images == 0:
        raise ValueError("There are no images to plot.")
    _, axes = _grid(n_images, n_cols, 1.1)
    for i, ax in zip(range(n_images), axes.ravel()):
        ax.imshow(X[i].reshape(shape), cmap="gray_r")
        parts, color = [], "black"
        if y_true is not None:
            parts.append(f"true {y_true[i]}")
        if y_pred is not None:
            parts.append(f"pred {y_pred[i]}")
            if y_true is not None and y_pred[i] != y_true[i]:
                color = "red"
        ax.set_title("\n".join(parts), fontsize=7, color=color)
    return axes


def plot_confusion_matrix(estimator, X, y, *, ax=None, normalize=None, y_pred=None):
    """Draw the confusion matrix of ``estimator`` on ``X, y`` with scikit-learn's display.

    Parameters
    ----------
    estimator : fitted classifier
        Anything with ``predict``.
    X, y : array-like
        Test data and true labels.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    y_pred : array-like, default=None
        ``estimator.predict(X)`` when already computed (it is not computed again).

    Returns
    -------
    ax : matplotlib Axes
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 6))
    y_pred = estimator.predict(X) if y_pred is None else y_pred
    display = ConfusionMatrixDisplay.from_predictions(
        y, y_pred, labels=estimator.classes_, ax=ax, colorbar=False, normalize=normalize
    )
    display.ax_.set_title("Confusion matrix")
    return display.ax_


def close(figure):
    """Close a figure made here (frees its memory in long-running scripts)."""
    _pyplot().close(figure)
