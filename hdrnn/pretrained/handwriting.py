"""The non-MNIST handwriting test set of the shipped models, and a model's accuracy on it.

Accuracy on MNIST's test digits says how well a model reads the hands it
learnt from. This set says how it reads others: digits drawn as pen strokes
by random writers and written in handwriting fonts
(:mod:`hdrnn.datasets.synthetic`), as clean images and as photographs of
paper, all read through :func:`hdrnn.preprocessing.prepare_digit_image`, the
path every image of a user takes. The set is generated from a seed, never
shipped; nothing in it comes from MNIST.
"""

import numpy as np

from hdrnn.datasets import synthetic
from hdrnn.preprocessing import prepare_digit_image

# Pixels of a side of each generated digit: large enough that preparation
# (crop, scale into 20x20, centre) works as it does on a user's photo.
DIGIT_SIDE = 64

# Digits per kind in the set the model cards report.
DIGITS_PER_KIND = 2000

# The seed of the set the model cards report.
CARD_SEED = 2026


def handwriting_set(n_per_kind=DIGITS_PER_KIND, random_state=CARD_SEED, *, fonts=True):
    """Make the non-MNIST handwriting test set.

    Parameters
    ----------
    n_per_kind : int, default=2000
        Digits of each kind (strokes; fonts).
    random_state : int or numpy.random.Generator, default=2026
        The seed; 2026 makes the set the model cards report.
    fonts : bool, default=True
        Whether to include handwriting fonts (needs Pillow and the fonts of
        :data:`hdrnn.datasets.synthetic.HANDWRITING_FONT_PACKAGES`; left out
        with a note when either is missing).

    Returns
    -------
    sets : dict of str to (list of ndarray, ndarray)
        ``"strokes"``, ``"fonts"`` (clean images) and ``"photos"`` (the same
        digits photographed, each with a random look of
        :data:`~hdrnn.datasets.synthetic.PHOTO_PRESETS`): the uint8 images and
        their labels.
    notes : list of str
        What was left out, and why.
    """
    rng = np.random.default_rng(random_state)
    inks, labels = synthetic.make_stroke_digits(n_per_kind, rng, size=DIGIT_SIDE)
    sets = {"strokes": ([synthetic.as_paper(ink) for ink in inks], labels)}
    notes = []
    pool = [(inks, labels)]
    if fonts:
        try:
            font_inks, font_labels = synthetic.make_font_digits(n_per_kind, rng, size=DIGIT_SIDE)
        except (ImportError, FileNotFoundError) as error:
            notes.append(f"fonts left out: {error}")
        else:
            sets["fonts"] = ([synthetic.as_paper(ink) for ink in font_inks], font_labels)
            pool.append((font_inks, font_labels))
    all_inks = np.concatenate([inks for inks, _ in pool])
    all_labels = np.concatenate([labels for _, labels in pool])
    photos = [synthetic.photograph(ink, rng) for ink in all_inks]
    sets["photos"] = (photos, all_labels)
    return sets, notes


def accuracy_on(model, images, labels):
    """The share of ``images`` that ``model`` reads as ``labels``, through the user's path.

    An image in which preparation finds no digit counts as misread.
    """
    shape = (28, 28) if model.n_features_in_ == 784 else (8, 8)
    rows, kept = [], []
    for i, image in enumerate(images):
        try:
            rows.append(prepare_digit_image(image, shape))
        except ValueError:
            continue
        kept.append(i)
    if not rows:
        return 0.0
    predicted = model.predict(np.stack(rows))
    return float(np.sum(predicted == np.asarray(labels)[kept]) / len(images))


def handwriting_accuracy(model, sets):
    """``{"handwriting_<kind>": accuracy}`` for every kind of :func:`handwriting_set`."""
    return {f"handwriting_{kind}": accuracy_on(model, *pair) for kind, pair in sets.items()}
