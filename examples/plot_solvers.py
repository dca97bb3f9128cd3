"""
SGD, Adam and L-BFGS learning curves
====================================

The three solvers of ``MLPClassifier``, in hdrnn, on the same network and
data: how fast does each bring the training loss down?
"""

# %%
import warnings

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from hdrnn import DigitMLPClassifier

X, y = load_digits(return_X_y=True)
X = X / 16

solvers = {
    "sgd (momentum 0.9, lr 0.1)": dict(solver="sgd", learning_rate_init=0.1),
    "adam (lr 0.001)": dict(solver="adam"),
    "lbfgs": dict(solver="lbfgs"),
}

# %%
# Train each for 60 epochs (iterations, for L-BFGS) and plot ``loss_curve_``.
fig, ax = plt.subplots(figsize=(6, 4))
for name, params in solvers.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DigitMLPClassifier((64,), max_iter=60, random_state=0, **params).fit(X, y)
    ax.plot(clf.loss_curve_, label=f"{name}: {clf.score(X, y):.3f} train acc.")
ax.set_xlabel("epoch (iteration for L-BFGS)")
ax.set_ylabel("training loss")
ax.set_yscale("log")
ax.legend()
plt.show()

# %%
# L-BFGS takes whole-data steps: few, expensive and precise, the right tool
# for small data sets. The mini-batch solvers take many cheap steps, which is
# what scales to the 60 000 MNIST digits.
