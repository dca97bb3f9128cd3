"""Shipped models: a digit reader that works the moment hdrnn is installed.

Each shipped model is a safe model file inside the package with a model
card beside it: ``mnist.hdrnn`` and ``mnist.json``, the digit reader, and
``segments.hdrnn`` and ``segments.json``, the verifier that
:mod:`hdrnn.reading` asks whether a candidate is one whole digit, and
``strips.hdrnn`` and ``strips.json``, the strip reader that reads a stroke
of run-together digits through a sliding window. A card
says how the model was trained, on what, for how long on which machine, how
accurate it is, what it gets wrong, the file's SHA-256 and the weights'
licence. :func:`load_pretrained` checks the file against its
card's hash, then loads it with the same safe loader as any model file;
:func:`pretrained_models` lists the cards. ``python -m hdrnn.pretrained.build``
retrains the digit reader from the MNIST IDX files and writes both files
again; ``python -m hdrnn.reading.build`` does the same for the verifier
(``--model strips``: the strip reader).

The weights are trained on MNIST (Yann LeCun and Corinna Cortes), which the
TensorFlow/Keras and Kaggle distributions of the data set give under
CC BY-SA 3.0; the weights are shipped under CC BY-SA 3.0 with that
attribution, apart from hdrnn's code (BSD-3-Clause).

May import: :mod:`hdrnn.persistence`, :mod:`hdrnn.estimator`,
:mod:`hdrnn.datasets`, :mod:`hdrnn.augmentation`, :mod:`hdrnn.preprocessing`,
:mod:`hdrnn._utils` and :mod:`hdrnn.exceptions` (the build script trains).
"""

from hdrnn.pretrained._cards import ModelCard, load_pretrained, pretrained_models

__all__ = ["ModelCard", "load_pretrained", "pretrained_models"]
