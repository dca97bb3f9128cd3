"""
Quick start: a digit recogniser in ten lines
============================================

Train :class:`hdrnn.DigitMLPClassifier` on scikit-learn's 8x8 digits, then
look at its test accuracy and confusion matrix.
"""

# %%
# The data: 1797 digits of 8x8 pixels with values 0-16, scaled to [0, 1].
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from hdrnn import DigitMLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0, stratify=y)

# %%
# Train with the defaults (two hidden layers of 128 and 64 ReLU units,
# Adam) and score on the held-out quarter.
clf = DigitMLPClassifier(random_state=0).fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f} after {clf.n_iter_} epochs")

# %%
# Which digits does it confuse? The diagonal holds the correct answers.
import matplotlib.pyplot as plt

from hdrnn.plotting import plot_confusion_matrix

plot_confusion_matrix(clf, X_test, y_test)
plt.show()
