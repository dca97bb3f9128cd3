"""hdrnn.plotting draws what it says, on the Agg backend; skipped without matplotlib."""

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hdrnn import DigitMLPClassifier  # noqa: E402
from hdrnn.plotting import (  # noqa: E402
    plot_confusion_matrix,
    plot_digits,
    plot_first_layer_weights,
    plot_learning_curves,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    model = DigitMLPClassifier((16,), max_iter=12, random_state=0, early_stopping=True)
    return model.fit(X, y), X, y


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curves_have_the_training_and_validation_lines(fitted):
    model, _, _ = fitted
    ax = plot_learning_curves(model)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"training loss", "validation loss"}
    np.testing.assert_allclose(lines["training loss"].get_ydata(), model.loss_curve_)
    [score] = ax.right_ax.get_lines()
    np.testing.assert_allclose(score.get_ydata(), model.validation_scores_)
    assert len(ax.get_legend().get_texts()) == 3


def test_learning_curves_without_validation(small_digits):
    X, y = small_digits
    model = DigitMLPClassifier((8,), max_iter=3).fit(X, y)
    _, ax = plt.subplots()
    assert plot_learning_curves(model, ax=ax) is ax
    assert len(ax.get_lines()) == 1 and not hasattr(ax, "right_ax")


def test_first_layer_weights_one_panel_per_unit(fitted):
    model, _, _ = fitted
    axes = plot_first_layer_weights(model, n_units=10, n_cols=4)
    assert axes.shape == (3, 4)
    images = [ax.get_images() for ax in axes.ravel()]
    assert sum(len(i) for i in images) == 10
    np.testing.assert_allclose(images[3][0].get_array(), model.coefs_[0][:, 3].reshape(8, 8))


def test_digits_are_labelled_and_mistakes_are_red(digits):
    X, y = digits
    y_pred = y.copy()
    y_pred[1] = (y[1] + 1) % 10
    axes = plot_digits(X[:5], y[:5], y_pred[:5], n_cols=5)
    titles = [ax.get_title() for ax in axes.ravel()]
    assert titles[0] == f"true {y[0]}\npred {y[0]}"
    assert axes[0, 1].title.get_color() == "red" and axes[0, 0].title.get_color() == "black"
    assert all(len(ax.get_images()) == 1 for ax in axes.ravel())


def test_confusion_matrix_panel(fitted):
    model, X, y = fitted
    ax = plot_confusion_matrix(model, X, y)
    assert ax.get_title() == "Confusion matrix"
    assert len(ax.texts) == 100  # a count in each of the 10 x 10 cells


def test_non_square_input_needs_an_image_shape(digits):
    X, y = digits
    with pytest.raises(ValueError, match="not a square image"):
        plot_digits(X[:3, :60], y[:3])
    axes = plot_digits(X[:3], y[:3], image_shape=(4, 16))
    assert axes.ravel()[0].get_images()[0].get_array().shape == (4, 16)
