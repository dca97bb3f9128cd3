"""Lessons made in seeded chunks of numbers, in parallel, the same whatever the
process count: the verifier's (:mod:`hdrnn.reading.build`) and the strip
reader's (:mod:`hdrnn.reading._strip_lessons`)."""

import joblib
import numpy as np

# Numbers per chunk: each chunk has its own seed, (seed, chunk).
CHUNK = 500


def in_chunks(make_chunk, n_numbers, seed, *, jobs, features, args=()):
    """``(X, y)``: ``make_chunk(*args, size, (seed, c))`` for each chunk ``c`` of at
    most :data:`CHUNK` of the ``n_numbers`` numbers, run in ``jobs`` processes and
    joined in chunk order (no rows of ``features`` columns when there are none)."""
    sizes = [min(CHUNK, n_numbers - start) for start in range(0, n_numbers, CHUNK)]
    parts = joblib.Parallel(n_jobs=jobs)(
        joblib.delayed(make_chunk)(*args, size, (seed, c)) for c, size in enumerate(sizes)
    )
    if not parts:  # no numbers asked for
        return np.zeros((0, features), dtype=np.float32), np.zeros(0, dtype=np.int64)
    return np.concatenate([X for X, _ in parts]), np.concatenate([y for _, y in parts])
