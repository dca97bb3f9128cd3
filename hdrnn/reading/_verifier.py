"""The verifier: a second model that says whether a candidate is one whole digit.

A digit classifier trained on single digits is often sure of a crop that is
not one digit (half of a 0 reads as a confident 6, two touching 1s as an
11-wide 4). The verifier is an 11-class :class:`~hdrnn.DigitMLPClassifier`
trained on reading's own candidates, cut from numbers of MNIST *training*
digits (:mod:`hdrnn.reading.build`): classes 0-9 for a candidate that is one
whole digit, :data:`NOT_ONE` for one that is part of a digit, several
digits, or pieces of two. Its ``1 - P(NOT_ONE)`` joins the reader's
probability in a candidate's score (:mod:`hdrnn.reading._search`).

A candidate's truth comes from the number's ``owners`` map (whose ink each
pixel is, :class:`hdrnn.datasets.synthetic.NumberTruth`): it is digit ``k``
when nearly all its ink is ``k``'s and it holds nearly all of ``k``'s ink.
"""

import functools

import numpy as np
from scipy import ndimage

# The verifier's class for "not one whole digit".
NOT_ONE = 10

# A candidate is digit k when at least WHOLE_SHARE of its ink is k's and it
# holds at least WHOLE_COVER of k's ink; it is NOT_ONE below PART_SHARE or
# PART_COVER. Between the two it is left out of training: unclear either way.
WHOLE_SHARE, WHOLE_COVER = 0.9, 0.85
PART_SHARE, PART_COVER = 0.7, 0.6

# A photo's blur spreads ink this many pixels beyond the composed digit.
BLUR_REACH = 3


@functools.cache
def shipped_verifier():
    """The shipped verifier (loaded once, then shared: reading never changes it)."""
    from hdrnn.pretrained import load_pretrained

    return load_pretrained("segments")


def owners_with_blur(owners, reach=BLUR_REACH):
    """Each pixel's digit, paper within ``reach`` pixels of a digit taken as that digit's."""
    paper = owners < 0
    if not paper.any() or paper.all():
        return owners
    distance, (rows, cols) = ndimage.distance_transform_edt(paper, return_indices=True)
    near = owners[rows, cols]
    near[distance > reach] = -1
    return near


def candidate_truths(candidates, ink, owners, labels):
    """Each candidate's class (a digit, :data:`NOT_ONE`, or -1 when unclear).

    Parameters
    ----------
    candidates : sequence of Candidate
        A line's candidates, boxes in pixels of ``ink``.
    ink : ndarray of shape (rows, cols)
        The ink the candidates were cut from.
    owners : ndarray of shape (rows, cols), int
        Whose ink each pixel is (-1 for paper), in the same pixels.
    labels : sequence of int
        The digit of each owner.
    """
    truths = []
    for share, cover in ink_shares(candidates, ink, owners, len(labels)):
        k = int(np.argmax(share))
        if share[k] >= WHOLE_SHARE and cover[k] >= WHOLE_COVER:
            truths.append(int(labels[k]))
        elif share[k] < PART_SHARE or cover[k] < PART_COVER:
            truths.append(NOT_ONE)
        else:
            truths.append(-1)
    return truths


def ink_shares(candidates, ink, owners, n_owners):
    """For each candidate, ``(share, cover)`` of shape (n_owners,): the share of the
    candidate's ink that is each digit's, and the share of each digit's ink it holds."""
    owned = owners >= 0
    digit_ink = np.bincount(owners[owned], weights=ink[owned], minlength=n_owners)
    for candidate in candidates:
        x0, y0, x1, y1 = candidate.box
        whose = owners[y0:y1, x0:x1]  # (h, w), the crop's pixels
        inside = whose >= 0
        mass = np.bincount(whose[inside], weights=candidate.crop[inside], minlength=n_owners)
        yield (
            mass / max(float(candidate.crop.sum()), 1e-9),
            mass / np.maximum(digit_ink, 1e-9),
        )
