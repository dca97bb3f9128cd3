"""Shipped models: a digit reader that works the moment hdrnn is installed.

Each shipped model is a safe model file inside the package (``mnist.hdrnn``)
with a model card beside it (``mnist.json``): how it was trained, on what,
for how long on which machine, how accurate it is on MNIST and on
handwriting that is not MNIST's, what it gets wrong, the file's SHA-256 and
the weights' licence. :func:`load_pretrained` checks the file against its
card's hash, then loads it with the same safe loader as any model file;
:func:`pretrained_models` lists the cards. ``python -m hdrnn.pretrained.build``
retrains a model from the MNIST IDX files and writes both files again.

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
