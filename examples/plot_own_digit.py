"""
Recognising your own photographed digit
=======================================

A photo of a digit is not MNIST: it is big, off-centre, dark on light
paper, in colour. :func:`hdrnn.preprocessing.prepare_digit_image` turns it
into what the model was trained on, the way MNIST itself was made. Here an
8x8 model reads the example photos (needs Pillow).
"""

# %%
from pathlib import Path

import matplotlib.pyplot as plt
from PIL import Image
from sklearn.datasets import load_digits

from hdrnn import DigitMLPClassifier
from hdrnn.preprocessing import prepare_digit_image

X, y = load_digits(return_X_y=True)
clf = DigitMLPClassifier(random_state=0).fit(X / 16, y)

# This file's folder (the docs build runs examples from there, without __file__).
here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
photos = [here / "images" / name for name in ("seven.png", "zero.png")]

# %%
# Left: the photo; right: what the model sees after preprocessing.
fig, axes = plt.subplots(len(photos), 2, figsize=(5, 2.6 * len(photos)))
for (left, right), photo in zip(axes, photos):
    x = prepare_digit_image(photo, (8, 8))
    proba = clf.predict_proba(x.reshape(1, -1))[0]
    left.imshow(Image.open(photo))
    left.set_title(photo.name)
    right.imshow(x.reshape(8, 8), cmap="gray")
    right.set_title(f"read as {proba.argmax()} ({proba.max():.0%})")
    for ax in (left, right):
        ax.set_axis_off()
plt.show()

# %%
# An 8x8 model is coarse: for your own handwriting, train on MNIST
# (``hdrnn train --dataset mnist --save mnist.hdrnn``) and use
# ``hdrnn predict --model mnist.hdrnn photo.jpg``.
