"""
Dropout and data augmentation
=============================

Two things ``MLPClassifier`` lacks. Dropout switches hidden units off at
random while training; augmentation shows every digit shifted, rotated and
distorted a little differently at every epoch. Both make a network that
relies less on exact pixels, which shows on digits it has not seen in that
position.
"""

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from hdrnn import DigitMLPClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16, y, random_state=0, stratify=y)
# The test digits moved one pixel to the right: same digits, new position.
shifted = np.roll(X_test.reshape(-1, 8, 8), 1, axis=2)
shifted[:, :, 0] = 0
shifted = shifted.reshape(len(X_test), -1)

# %%
settings = {
    "plain": {},
    "dropout 0.3": {"dropout": 0.3},
    "augment='shift'": {"augment": "shift"},
    "both": {"dropout": 0.3, "augment": "shift"},
}
scores = {}
for name, extra in settings.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DigitMLPClassifier((128,), max_iter=80, random_state=0, **extra)
        clf.fit(X_train, y_train)
    scores[name] = (clf.score(X_test, y_test), clf.score(shifted, y_test))
    print(f"{name:16s} test {scores[name][0]:.3f}   shifted test {scores[name][1]:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
positions = np.arange(len(scores))
ax.bar(positions - 0.2, [s[0] for s in scores.values()], 0.4, label="test digits")
ax.bar(positions + 0.2, [s[1] for s in scores.values()], 0.4, label="shifted by one pixel")
ax.set_xticks(positions, list(scores))
ax.set_ylim(0.5, 1)
ax.set_ylabel("accuracy")
ax.legend(loc="lower right")
plt.show()

# %%
# Trained on shifted copies, the network reads the shifted test digits
# almost as well as the centred ones. On 8x8 images a one-pixel shift moves
# the digit by an eighth of its size, so centred accuracy pays a little; on
# 28x28 MNIST shifts of two pixels cost nothing and help. There, with the
# default network and 20 epochs, the median
# test accuracy of three seeds goes from 97.7% (plain) to 97.9% with dropout
# 0.2, 98.2% with shifts and 98.5% with affine distortions; the wide recipe
# in ``benchmarks/recipe.py`` reaches 99.28% (median of three seeds).
