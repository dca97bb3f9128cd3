"""The best reading of a line: the path of candidate digits with the highest score,
by dynamic programming over the cuts between pieces."""

import numpy as np

# A candidate's score is log(probability) plus a prior on its shape, plus
# DIGIT_BONUS per digit (a positive bonus favours more, smaller digits).
# The constants here were chosen by a grid search on numbers composed from
# MNIST test digits 0-4999 (seed 7), apart to overlapping.
DIGIT_BONUS = 0.0

# Wider than WIDE_START digit heights costs WIDE_COST per height beyond;
# lower than SHORT_START heights costs SHORT_COST per height below.
WIDE_START, WIDE_COST = 0.9, 6.0
SHORT_START, SHORT_COST = 0.6, 2.0

# Each end of a candidate that cuts through a stroke costs this much: a
# stroke's own end is a likelier place for a digit to end than its middle.
CUT_COST = 1.0

# The verifier's log-probability that a candidate is one whole digit counts
# this many times in its score.
VERIFIER_WEIGHT = 2.0

# Probabilities are floored here before their log (a model may say 0).
TINY = 1e-12

# A stroke read whole by the strip reader scores, for each digit, the log of
# its probability plus STRIP_CENTRED_WEIGHT times the log of the reader's
# sureness that a digit is centred there, less STRIP_COST and the width prior
# of any candidate (chosen on numbers of MNIST test digits 0-4999 and of
# stroke writers, seeds 7-9).
STRIP_CENTRED_WEIGHT = 1.0
STRIP_COST = 1.0


def candidate_scores(probabilities, boxes, cut_ends, height, not_one=None):
    """The score of each candidate: log of its best class's probability plus its shape
    prior, plus (with a verifier's ``not_one`` chances) the log of its being one digit."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)  # (n, 4)
    width = (boxes[:, 2] - boxes[:, 0]) / height
    tall = (boxes[:, 3] - boxes[:, 1]) / height
    prior = -WIDE_COST * np.maximum(0.0, width - WIDE_START)
    prior -= SHORT_COST * np.maximum(0.0, SHORT_START - tall)
    prior -= CUT_COST * np.asarray(cut_ends, dtype=np.float64)
    if not_one is not None:
        prior += VERIFIER_WEIGHT * np.log(np.maximum(1.0 - np.asarray(not_one), TINY))
    return np.log(np.maximum(probabilities.max(axis=1), TINY)) + prior + DIGIT_BONUS


def strip_score(digit_probabilities, centred, widths):
    """The score of a stroke read by the strip reader, from each digit's probabilities
    over 0-9, its sureness that a digit is centred there and its width in digit heights
    (a digit read where two were written is wide)."""
    best = np.asarray(digit_probabilities).reshape(-1, 10).max(axis=1)
    sure = np.log(np.maximum(np.asarray(centred, dtype=np.float64), TINY))
    wide = WIDE_COST * np.maximum(0.0, np.asarray(widths, dtype=np.float64) - WIDE_START)
    score = np.log(np.maximum(best, TINY)) + STRIP_CENTRED_WEIGHT * sure - STRIP_COST - wide
    return float(np.sum(score))


def best_path(spans, scores, n_pieces, digits=None, counts=None):
    """The candidates (indices) of the best path from cut 0 to cut ``n_pieces``.

    Parameters
    ----------
    spans : sequence of (int, int)
        Each candidate's first piece and the piece after its last.
    scores : ndarray of shape (n_candidates,)
    n_pieces : int
    digits : int or None
        Read exactly this many digits, when there is such a path.
    counts : sequence of int or None
        How many digits each candidate reads as (1 for each when None; a
        stroke read by the strip reader counts as all its digits).

    Returns
    -------
    path : list of int
        Indices into ``spans``, left to right; the best unconstrained path
        when no path has ``digits`` steps; empty when no path exists.
    """
    counts = np.ones(len(spans), dtype=np.int64) if counts is None else np.asarray(counts)
    # No path reads more digits than all the candidates together: a larger count
    # has no path (and would cost memory in proportion to it).
    if digits is not None and digits <= int(counts.sum()):
        path = _search(spans, scores, n_pieces, digits, counts)
        if path:
            return path
    return _search(spans, scores, n_pieces, None, counts)


def _search(spans, scores, n_pieces, digits, counts):
    """Viterbi over cuts; with ``digits``, the state is (cut, digits so far)."""
    steps = 1 if digits is None else digits + 1
    best = np.full((n_pieces + 1, steps), -np.inf)
    came = np.full((n_pieces + 1, steps), -1, dtype=np.int64)
    best[0, 0] = 0.0
    by_start = sorted(range(len(spans)), key=lambda i: spans[i][0])
    for index in by_start:  # candidates in order of their start: a cut is final when used
        start, stop = spans[index]
        if digits is None:
            total = best[start, 0] + scores[index]
            if total > best[stop, 0]:
                best[stop, 0], came[stop, 0] = total, index
            continue
        step = int(counts[index])
        if step > digits:
            continue
        # (digits + 1 - step,): ``step`` more digits at each count
        totals = best[start, : steps - step] + scores[index]
        better = totals > best[stop, step:]
        best[stop, step:][better] = totals[better]
        came[stop, step:][better] = index
    count = 0 if digits is None else digits
    if not np.isfinite(best[n_pieces, count]):
        return []
    path, cut = [], n_pieces
    while cut > 0:
        index = int(came[cut, count])
        path.append(index)
        cut = spans[index][0]
        count = count if digits is None else count - int(counts[index])
    return path[::-1]
