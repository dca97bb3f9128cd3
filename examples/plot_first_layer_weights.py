"""
What the first layer learns
===========================

Each first-layer unit weighs every pixel. Shown as images, the weights of a
network trained on digits look like strokes and blobs: the features the
rest of the network builds on.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits

from hdrnn import DigitMLPClassifier
from hdrnn.plotting import plot_first_layer_weights

X, y = load_digits(return_X_y=True)
clf = DigitMLPClassifier((32,), alpha=0.01, random_state=0, tol=1e-3).fit(X / 16, y)

# %%
# Red pixels excite a unit, blue ones inhibit it.
plot_first_layer_weights(clf, n_units=32)
plt.show()
