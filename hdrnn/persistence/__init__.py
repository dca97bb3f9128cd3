"""Safe model files: ``hdrnn.save(model, path)`` and ``hdrnn.load(path)``.

Unpickling runs code, so a pickled model from an untrusted source is a
security risk. hdrnn's own format holds only data: one ``.npz`` archive
with the weights, the classes, the optimizer state, and a JSON document
describing the model (format version, library versions, estimator
parameters, fitted attributes, input image shape) plus a SHA-256 checksum
of everything. Writes are atomic, so an interrupted save never damages an
existing file.

Loading follows a written threat model (``docs/reliability.rst``): the
archive is read with bounded work (:mod:`hdrnn.persistence._archive`) and every
value is checked against the format and against the others
(:mod:`hdrnn.persistence._schema`) before a model is built.

``joblib.dump`` / ``pickle`` keep working for scikit-learn workflows; use
this format to share models or to load ones you did not make.

May import: :mod:`hdrnn.estimator`, :mod:`hdrnn._training`, :mod:`hdrnn.nn`,
:mod:`hdrnn.augmentation`, :mod:`hdrnn._utils` and :mod:`hdrnn.exceptions`.
"""

from hdrnn.persistence._api import FORMAT_VERSION, load, load_with_metadata, read_metadata, save

__all__ = ["FORMAT_VERSION", "load", "load_with_metadata", "read_metadata", "save"]
