"""Export a fitted :class:`~hdrnn.DigitMLPClassifier` to ONNX.

:func:`to_onnx` writes the network's maths as an ONNX graph: the same
matrix products, every hidden activation hdrnn has (ReLU, tanh, logistic,
identity, leaky ReLU, ELU and GELU in its tanh form), and the same output
rule (softmax and arg-max for several classes, a sigmoid and ``z > 0`` for
two classes, independent sigmoids for multilabel problems). The graph takes
``X`` and gives ``label`` and ``probabilities``, as skl2onnx's classifiers do
with ``zipmap=False``, so ONNX Runtime (or any ONNX engine: a web service, a
phone, a GPU) computes what ``predict`` and ``predict_proba`` compute.

Importing this module also registers the converter with skl2onnx, when it is
installed, so that ``skl2onnx.to_onnx(pipeline, X)`` converts pipelines that
end in a ``DigitMLPClassifier`` (after a ``MinMaxScaler``, say).

Needs the ``onnx`` extra: ``pip install "hdrnn[onnx]"``.

May import: :mod:`hdrnn.nn`, :mod:`hdrnn.estimator`,
:mod:`hdrnn.preprocessing`, :mod:`hdrnn._utils` (and onnx, skl2onnx).
"""

from hdrnn.onnx._api import ONNX_OPSET, register_with_skl2onnx, to_onnx

__all__ = ["ONNX_OPSET", "register_with_skl2onnx", "to_onnx"]
