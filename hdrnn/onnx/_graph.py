"""The ONNX graph of a DigitMLPClassifier: its maths as ONNX nodes.

One description of the network serves two writers: :func:`hdrnn.onnx.to_onnx`
(a standalone graph, :class:`Graph`) and the skl2onnx converter
(:mod:`hdrnn.onnx._skl2onnx`, which adds the same nodes to a pipeline's graph).
A writer offers ``name(hint)``, ``constant(hint, array)`` and
``node(op_type, inputs, output=None, **attributes)``.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from hdrnn.nn import ACTIVATIONS

# The largest int64, the type of an ONNX classifier's integer labels.
INT64_MAX = np.iinfo(np.int64).max

FLOAT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


def emit_classifier(model, graph, X, outputs, dtype, *, labels=None):
    """Add the network and its output rule to ``graph``: from ``X`` to ``outputs``.

    ``outputs`` names the label and the probabilities; ``dtype`` is the
    model's (float32 or float64), which ``X`` must have. ``labels`` replaces
    the classes in the label output (skl2onnx's ``nocl`` gives indices).
    """
    label, probabilities = outputs
    labels = label_values(model) if labels is None else labels
    h = X
    last = len(model.coefs_) - 1
    for i, (W, b) in enumerate(zip(model.coefs_, model.intercepts_)):
        h = graph.node("MatMul", [h, graph.constant(f"coef_{i}", W.astype(dtype))])
        h = graph.node("Add", [h, graph.constant(f"intercept_{i}", b.astype(dtype))])
        if i < last:
            h = emit_activation(graph, model.activation, h, dtype)
    zero = np.zeros(1, dtype)
    if model.out_activation_ == "softmax":  # one of several classes
        graph.node("Softmax", [h], probabilities, axis=1)
        best = graph.node("ArgMax", [h], axis=1, keepdims=0)
        graph.node("Gather", [graph.constant("classes", labels), best], label)
    elif not is_multilabel(model):  # two classes, one logit: P(positive) = sigmoid(z)
        negative = graph.node("Sigmoid", [graph.node("Neg", [h])])
        graph.node("Concat", [negative, graph.node("Sigmoid", [h])], probabilities, axis=1)
        positive = graph.node("Greater", [h, graph.constant("zero", zero)])
        index = graph.node("Cast", [positive], to=TensorProto.INT64)
        flat = graph.node("Reshape", [index, graph.constant("flat", np.array([-1]))])
        graph.node("Gather", [graph.constant("classes", labels), flat], label)
    else:  # multilabel: each label on its own, 1 where sigmoid(z) > 0.5
        graph.node("Sigmoid", [h], probabilities)
        positive = graph.node("Greater", [h, graph.constant("zero", zero)])
        graph.node("Cast", [positive], label, to=TensorProto.INT64)


def emit_activation(graph, activation, z, dtype):
    """``f(z)`` for a hidden activation: the ONNX form its record in the core carries."""

    def number(hint, value):
        return graph.constant(hint, np.array([value], dtype=dtype))

    return ACTIVATIONS[activation].onnx(graph, z, number)


# ------------------------------------------------------------------ signatures


def model_dtype(model):
    if not hasattr(model, "coefs_"):
        raise ValueError("Only a fitted DigitMLPClassifier can be exported; call fit first.")
    return np.dtype(model.coefs_[0].dtype)


def n_classes(model):
    """Columns of ``predict_proba``: the classes, or the labels of a multilabel model."""
    return model.n_outputs_ if is_multilabel(model) else len(model.classes_)


def is_multilabel(model):
    return model.out_activation_ == "logistic" and model.n_outputs_ > 1


def label_values(model):
    """The classes as the ``label`` output gives them: int64 or strings."""
    classes = np.asarray(model.classes_)
    if classes.dtype.kind in "iub" or _whole_numbers(classes):
        beyond = [c for c in classes.tolist() if not -INT64_MAX - 1 <= c <= INT64_MAX]
        if beyond:
            raise ValueError(
                f"The class {beyond[0]} is beyond the int64 labels of an ONNX classifier "
                "(it would wrap to another number): train with string labels "
                "(y.astype(str)) to export this model."
            )
        return classes.astype(np.int64)
    if classes.dtype.kind in "UO" and all(isinstance(c, str) for c in classes):
        return np.array([c.encode("utf-8") for c in classes], dtype=object)
    raise ValueError(
        f"Classes of dtype {classes.dtype} cannot be ONNX labels: use integer or string "
        "labels (e.g. y.astype(int) or y.astype(str)) when training the model."
    )


def _whole_numbers(classes):
    return classes.dtype.kind == "f" and bool(np.all(classes == np.round(classes)))


def emit_finite_rows(graph, X, output):
    """``output[i]`` is True where row ``i`` of ``X`` holds no NaN and no infinity."""
    bad = graph.node("Or", [graph.node("IsNaN", [X]), graph.node("IsInf", [X])])
    worst = graph.node(
        "ReduceMax", [graph.node("Cast", [bad], to=TensorProto.INT32)], axes=[1], keepdims=0
    )
    graph.node("Equal", [worst, graph.constant("no_bad_value", np.zeros(1, np.int32))], output)


def label_signature(model):
    """The ONNX element type and shape of the ``label`` output."""
    if is_multilabel(model):
        return TensorProto.INT64, [None, model.n_outputs_]
    kind = label_values(model).dtype.kind
    return (TensorProto.STRING if kind == "O" else TensorProto.INT64), [None]


class Graph:
    """Nodes and constants of a standalone ONNX graph, with unique names."""

    def __init__(self):
        self.nodes, self.initializers = [], []
        self._used = set()

    def name(self, hint):
        name, n = hint, 1
        while name in self._used:
            n += 1
            name = f"{hint}_{n}"
        self._used.add(name)
        return name

    def constant(self, hint, array):
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def node(self, op_type, inputs, output=None, **attributes):
        output = output or self.name(op_type.lower())
        self._used.add(output)
        self.nodes.append(
            helper.make_node(
                op_type, inputs, [output], name=self.name(f"{op_type}_node"), **attributes
            )
        )
        return output
