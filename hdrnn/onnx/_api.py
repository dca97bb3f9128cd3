"""The functions of :mod:`hdrnn.onnx`: the standalone graph writer and the skl2onnx registration.

The package docstring says what the graph computes and what it needs.
"""

from hdrnn._version import __version__

try:
    import onnx
    from onnx import TensorProto, helper
except ImportError as error:
    raise ImportError(
        'Exporting to ONNX needs the onnx package: pip install "hdrnn[onnx]"'
    ) from error

from hdrnn._utils.model_facts import architecture
from hdrnn.onnx._graph import (
    FLOAT_TYPES,
    Graph,
    emit_classifier,
    emit_finite_rows,
    label_signature,
    model_dtype,
    n_classes,
)

__all__ = ["ONNX_OPSET", "register_with_skl2onnx", "to_onnx"]

# Opset 13: Softmax over one axis, Gather and Where for every type; ONNX
# Runtime has supported it since 1.6.
ONNX_OPSET = 13


def to_onnx(model, *, name="hdrnn", target_opset=ONNX_OPSET, flag_nonfinite=False):
    """Write a fitted classifier as an ONNX model.

    Parameters
    ----------
    model : DigitMLPClassifier
        A fitted classifier.
    name : str, default="hdrnn"
        The graph's name.
    target_opset : int, default=13
        The ONNX operator set (13 or newer).
    flag_nonfinite : bool, default=False
        Add a third output, ``finite``: shape (n_samples,), True where the
        row holds no NaN and no infinity. ``predict`` refuses such rows with
        an error; an ONNX engine computes an answer for them anyway (NaN
        probabilities and an arbitrary label), so a service that can receive
        them should read this output.

    Returns
    -------
    onnx_model : onnx.ModelProto
        One input, ``X`` of shape (n_samples, n_features) in the model's
        dtype (float32 or float64). Two outputs: ``label``, shape
        (n_samples,) (int64 for integer classes, string for string classes;
        for multilabel problems an int64 indicator matrix), and
        ``probabilities``, shape (n_samples, n_classes), as
        ``predict_proba`` returns them. With ``flag_nonfinite``, a third
        output ``finite``. Save it with ``onnx.save``.

    Raises
    ------
    ValueError
        If the model is not fitted, or its class labels cannot be ONNX
        labels (integers beyond int64, or floats that are not whole numbers).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from hdrnn import DigitMLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X = (X / 16).astype(np.float32)
    >>> model = DigitMLPClassifier(hidden_layer_sizes=(16,), max_iter=5).fit(X, y)
    >>> onnx_model = to_onnx(model)  # doctest: +SKIP
    >>> import onnxruntime  # doctest: +SKIP
    >>> session = onnxruntime.InferenceSession(onnx_model.SerializeToString())  # doctest: +SKIP
    >>> label, proba = session.run(None, {"X": X[:3]})  # doctest: +SKIP
    """
    if target_opset < ONNX_OPSET:
        raise ValueError(f"target_opset must be {ONNX_OPSET} or newer; got {target_opset}.")
    dtype = model_dtype(model)
    graph = Graph()
    n_features = model.coefs_[0].shape[0]
    label_type, label_shape = label_signature(model)
    emit_classifier(model, graph, "X", ("label", "probabilities"), dtype)
    outputs = [
        helper.make_tensor_value_info("label", label_type, label_shape),
        helper.make_tensor_value_info(
            "probabilities", FLOAT_TYPES[dtype], [None, n_classes(model)]
        ),
    ]
    if flag_nonfinite:
        emit_finite_rows(graph, "X", "finite")
        outputs.append(helper.make_tensor_value_info("finite", TensorProto.BOOL, [None]))
    onnx_graph = helper.make_graph(
        graph.nodes,
        name,
        [helper.make_tensor_value_info("X", FLOAT_TYPES[dtype], [None, n_features])],
        outputs,
        initializer=graph.initializers,
    )
    onnx_model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", target_opset)],
        producer_name="hdrnn",
        producer_version=__version__,
        doc_string=f"DigitMLPClassifier {architecture(model)}",
    )
    onnx_model.ir_version = min(onnx_model.ir_version, 8)  # readable by older runtimes
    onnx.checker.check_model(onnx_model)
    return onnx_model


def register_with_skl2onnx():
    """Let ``skl2onnx.to_onnx`` convert pipelines that hold a DigitMLPClassifier.

    Called when this module is imported, if skl2onnx is installed.

    Returns
    -------
    registered : bool
        False if skl2onnx is not installed.
    """
    try:
        from hdrnn.onnx import _skl2onnx
    except ImportError:
        return False
    _skl2onnx.register()
    return True


register_with_skl2onnx()
