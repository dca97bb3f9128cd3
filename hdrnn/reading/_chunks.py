"""Lessons made in seeded chunks of numbers, in parallel, the same whatever the
process count: the verifier's (:mod:`hdrnn.reading.build`) and the strip
reader's (:mod:`hdrnn.reading._strip_lessons`); and the distorted digits a
chunk's numbers may be composed of."""

import joblib
import numpy as np

from hdrnn.augmentation import Augmentation, BatchAugmenter

# Numbers per chunk: each chunk has its own seed, (seed, chunk).
CHUNK = 500

# With distorted digits, a chunk draws this many pool digits per number (its
# numbers hold 4 on average): as the numbers pick them with replacement, about
# three in four are used at most once.
POOL_PER_NUMBER = 4


def in_chunks(make_chunk, n_numbers, seed, *, jobs, features, args=()):
    """``(X, y)``: ``make_chunk(*args, size, (seed, c))`` for each chunk ``c`` of at
    most :data:`CHUNK` of the ``n_numbers`` numbers, run in ``jobs`` processes and
    joined in chunk order (no rows of ``features`` columns when there are none)."""
    sizes = [min(CHUNK, n_numbers - start) for start in range(0, n_numbers, CHUNK)]
    parts = joblib.Parallel(n_jobs=jobs)(
        joblib.delayed(make_chunk)(*args, size, (seed, c)) for c, size in enumerate(sizes)
    )
    return _joined(parts, features)


def _joined(parts, features):
    """The parts' rows in order, each part freed once copied: the lessons take about
    their own size in memory while they are joined, not twice it (np.concatenate)."""
    n_rows = sum(len(y) for _, y in parts)
    X_parts = [X for X, _ in parts]
    X = np.empty((n_rows, features), dtype=X_parts[0].dtype if parts else np.float32)
    y = np.concatenate([y for _, y in parts]) if parts else np.zeros(0, dtype=np.int64)
    parts.clear()
    start = 0
    for k, part in enumerate(X_parts):
        X[start : start + len(part)] = part
        start += len(part)
        X_parts[k] = part = None  # the last reference: its memory goes back now
    return X, y


def distorted_pool(images, labels, n_numbers, share, rng):
    """``(images, labels)``: the digits one chunk of ``n_numbers`` numbers is composed of,
    drawn from the pool, ``share`` of them distorted as the shipped digit model's lessons
    are (the ``"handwriting"`` augmentation: other writers' pens, slants and shapes)."""
    n = POOL_PER_NUMBER * n_numbers
    drawn = rng.integers(len(images), size=n)
    pool = np.asarray(images)[drawn].astype(np.float32).reshape(n, -1)
    chosen = np.flatnonzero(rng.random(n) < share)
    if len(chosen):
        shape = np.shape(images)[1:]
        config = Augmentation.preset("handwriting", shape)
        batch = pool[chosen]
        BatchAugmenter(config, shape, len(chosen), np.float32)(batch, rng)
        # A digit distorted to almost nothing (rare) stays as it was written.
        kept = batch.max(axis=1) >= 0.5
        pool[chosen[kept]] = batch[kept]
    return pool.reshape(n, *np.shape(images)[1:]), np.asarray(labels)[drawn]
