"""DigitMLPClassifier: the scikit-learn face of the NumPy core.

The class (:mod:`hdrnn.estimator._classifier`) checks its input
(``_validation``), resolves a fit's settings once (``_setup``), hands values
to the training runs (:mod:`hdrnn._training`) and publishes what they return
under MLPClassifier's names. It is the only code that writes the
estimator's attributes.

May import: :mod:`hdrnn._training`, :mod:`hdrnn.nn`,
:mod:`hdrnn.augmentation`, :mod:`hdrnn._utils` and :mod:`hdrnn.exceptions`
(never persistence, datasets, ONNX, the server, plotting or the command
line).
"""

from hdrnn.estimator._classifier import DigitMLPClassifier

__all__ = ["DigitMLPClassifier"]
