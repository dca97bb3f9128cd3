"""The pair reader: a third model that reads two touching digits as one candidate.

Where two digits touch or overlap, their strokes interleave and often no
cut separates them: every piece holds parts of both. A single-digit
classifier cannot read such a crop, but a model taught on pairs can. The
pair reader is a 101-class :class:`~hdrnn.DigitMLPClassifier`: class
``10 * a + b`` for the pair of digits ``a`` then ``b`` (left to right),
:data:`NOT_PAIR` for a candidate that is not two whole digits. It learned
from pairs of MNIST *training* digits composed close, touching and
overlapping, and from reading's own candidates (:mod:`hdrnn.reading.build`).

In the search a candidate as wide as two digits may be read either way: as
one digit, or as a pair that counts as two (its score is the pair's
probability and the model's sureness that it is a pair at all).
"""

import numpy as np

from hdrnn.reading._verifier import PART_COVER, PART_SHARE, WHOLE_COVER, WHOLE_SHARE, ink_shares

# The pair reader's class for "not two whole digits".
NOT_PAIR = 100

# A candidate is read as a pair only when its width lies between these many
# line heights (a pair of narrow 1s is about 0.6, two wide digits side by side
# nearly 2).
PAIR_MIN_WIDTH, PAIR_MAX_WIDTH = 0.6, 2.2


def pair_possible(boxes, heights, joined):
    """Which candidates the pair reader is asked about: one stroke (digits apart are read
    better one by one) between ``PAIR_MIN_WIDTH`` and ``PAIR_MAX_WIDTH`` line heights wide.

    Parameters
    ----------
    boxes : sequence of (x0, y0, x1, y1)
    heights : float or ndarray of shape (n_candidates,)
        The typical digit height of each candidate's line.
    joined : sequence of bool
        Whether each candidate's ink is one stroke.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width = (boxes[:, 2] - boxes[:, 0]) / heights
    return (width >= PAIR_MIN_WIDTH) & (width <= PAIR_MAX_WIDTH) & np.asarray(joined, bool)


def pair_chances(model, rows, possible):
    """``(pair_probabilities, not_pair)`` for each candidate.

    Parameters
    ----------
    model : fitted classifier
        The pair reader (classes ``0..99`` and :data:`NOT_PAIR`).
    rows : ndarray of shape (n_possible, n_features)
        The ``possible`` candidates, prepared for ``model``.
    possible : ndarray of shape (n_candidates,), bool
        Which candidates may be pairs (:func:`pair_possible`).

    Returns
    -------
    pair_probabilities : ndarray of shape (n_candidates, 100)
        Each pair's probability given that the candidate is a pair.
    not_pair : ndarray of shape (n_candidates,)
        The chance that it is not two whole digits (1 where its width or its
        separate strokes rule a pair out).
    """
    pairs = np.zeros((len(possible), 100))
    not_pair = np.ones(len(possible))
    if possible.any():
        proba = model.predict_proba(rows)
        classes = np.asarray(model.classes_)
        is_pair = classes != NOT_PAIR
        chosen = np.zeros((len(rows), 100))
        chosen[:, classes[is_pair].astype(np.int64)] = proba[:, is_pair]
        total = chosen.sum(axis=1, keepdims=True)
        pairs[possible] = chosen / np.maximum(total, 1e-12)
        not_pair[possible] = 1.0 - total[:, 0]
    return pairs, not_pair


def digit_chances(pair_probabilities):
    """``(left, right)``: each digit's probability, of shape (10,), from a pair's
    probabilities (the sum over the other digit)."""
    table = np.asarray(pair_probabilities).reshape(10, 10)
    return table.sum(axis=1), table.sum(axis=0)


def split_box(crop, box):
    """The boxes of a pair's two digits: ``box`` cut where the crop's ink halves."""
    x0, y0, x1, y1 = box
    columns = np.cumsum(np.asarray(crop).sum(axis=0))
    middle = x0 + int(np.searchsorted(columns, columns[-1] / 2.0)) + 1
    middle = min(max(middle, x0 + 1), x1 - 1)
    return (x0, y0, middle, y1), (middle, y0, x1, y1)


def pair_truths(candidates, ink, owners, labels):
    """Each candidate's pair class (``10 * a + b``, :data:`NOT_PAIR`, or -1 when unclear).

    A candidate is the pair of neighbouring digits ``a`` then ``b`` when nearly
    all its ink is theirs and it holds nearly all of each one's ink (the
    verifier's thresholds, :mod:`hdrnn.reading._verifier`); it is not a pair
    when less than ``PART_SHARE`` of its ink is two neighbours' or it holds less
    than ``PART_COVER`` of either.

    Parameters
    ----------
    candidates : sequence of Candidate
        A line's candidates, boxes in pixels of ``ink``.
    ink : ndarray of shape (rows, cols)
    owners : ndarray of shape (rows, cols), int
        Whose ink each pixel is (-1 for paper), digits numbered left to right.
    labels : sequence of int
        The digit of each owner.
    """
    if len(labels) < 2:
        return [NOT_PAIR] * len(candidates)
    truths = []
    for share, cover in ink_shares(candidates, ink, owners, len(labels)):
        first, second = sorted(np.argsort(-share, kind="stable")[:2])
        together = share[first] + share[second]
        least = min(cover[first], cover[second])
        neighbours = second == first + 1
        if neighbours and together >= WHOLE_SHARE and least >= WHOLE_COVER:
            truths.append(10 * int(labels[first]) + int(labels[second]))
        elif not neighbours or together < PART_SHARE or least < PART_COVER:
            truths.append(NOT_PAIR)
        else:
            truths.append(-1)
    return truths
