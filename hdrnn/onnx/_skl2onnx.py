"""The skl2onnx converter of DigitMLPClassifier: pipelines that end in one convert whole.

skl2onnx asks two things of a converter: a shape calculator (the types of
the outputs, from the input's) and the conversion (nodes added to the
pipeline's graph). Both come from :mod:`hdrnn.onnx._graph`, so a pipeline's
classifier computes exactly what :func:`hdrnn.onnx.to_onnx` writes.
"""

import numpy as np
from onnx import TensorProto
from skl2onnx import update_registered_converter
from skl2onnx.common.data_types import (
    DoubleTensorType,
    FloatTensorType,
    Int64TensorType,
    StringTensorType,
)

from hdrnn.estimator import DigitMLPClassifier
from hdrnn.onnx._graph import (
    FLOAT_TYPES,
    emit_classifier,
    label_signature,
    model_dtype,
    n_classes,
)
from hdrnn.preprocessing import DigitImagePreprocessor

ALIAS = "HdrnnDigitMLPClassifier"


def register():
    """Register the converter, with skl2onnx's two classifier options.

    ``zipmap`` (default True): skl2onnx's parser turns the probabilities into
    a list of dicts unless it is False. ``nocl`` (default False): True gives
    class indices as labels instead of the classes.
    """
    update_registered_converter(
        DigitMLPClassifier,
        ALIAS,
        _shape_calculator,
        _converter,
        options={"zipmap": [True, False, "columns"], "nocl": [False, True]},
    )
    # Registered only to say why it cannot be converted.
    update_registered_converter(
        DigitImagePreprocessor,
        "HdrnnDigitImagePreprocessor",
        _refuse_image_preparation,
        _refuse_converting_image_preparation,
    )


def _refuse_image_preparation(operator=None):
    raise NotImplementedError(
        "DigitImagePreprocessor cannot be part of an ONNX graph: it crops, scales and "
        "centres each image with SciPy, for which ONNX has no operators. Convert the rest "
        "of the pipeline (e.g. pipeline[1:]) and prepare images with "
        "hdrnn.preprocessing.prepare_digit_image before running the ONNX model."
    )


def _refuse_converting_image_preparation(scope, operator, container):
    _refuse_image_preparation()


def _input_dtype(operator):
    kind = operator.inputs[0].type
    return np.dtype(np.float64 if isinstance(kind, DoubleTensorType) else np.float32)


def _probability_dtype(operator):
    """The input's float type; float32 under ZipMap, which takes nothing else."""
    options = operator.scope_inst.get_options(operator.raw_operator, {"zipmap": True})
    return _input_dtype(operator) if options["zipmap"] is False else np.dtype(np.float32)


def _shape_calculator(operator):
    model = operator.raw_operator
    n = operator.inputs[0].get_first_dimension()
    element, shape = label_signature(model)
    if operator.scope_inst.get_options(model, {"nocl": False})["nocl"]:
        element = TensorProto.INT64
    label_type = StringTensorType if element == TensorProto.STRING else Int64TensorType
    operator.outputs[0].type = label_type([n, *shape[1:]])
    proba_type = DoubleTensorType if _probability_dtype(operator) == np.float64 else FloatTensorType
    operator.outputs[1].type = proba_type([n, n_classes(model)])


def _converter(scope, operator, container):
    model = operator.raw_operator
    graph = _ContainerGraph(scope, container)
    dtype, given = model_dtype(model), _input_dtype(operator)
    X = operator.inputs[0].full_name
    is_float = isinstance(operator.inputs[0].type, (FloatTensorType, DoubleTensorType))
    if not is_float or given != dtype:
        X = graph.node("Cast", [X], to=FLOAT_TYPES[dtype])  # compute in the model's dtype
    label, probabilities = (output.full_name for output in operator.outputs[:2])
    wanted = _probability_dtype(operator)
    computed = probabilities if wanted == dtype else graph.name("model_probabilities")
    nocl = scope.get_options(model, {"nocl": False})["nocl"]
    labels = np.arange(n_classes(model), dtype=np.int64) if nocl else None
    emit_classifier(model, graph, X, (label, computed), dtype, labels=labels)
    if computed != probabilities:
        graph.node("Cast", [computed], probabilities, to=FLOAT_TYPES[wanted])


class _ContainerGraph:
    """The graph-writer interface of :mod:`hdrnn.onnx._graph`, over skl2onnx's container."""

    def __init__(self, scope, container):
        self.scope, self.container = scope, container

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def constant(self, hint, array):
        array = np.asarray(array)
        name = self.name(hint)
        if array.dtype.kind == "O":  # strings
            self.container.add_initializer(name, TensorProto.STRING, list(array.shape), list(array))
        else:
            element = {"f": FLOAT_TYPES.get(array.dtype), "i": TensorProto.INT64}[array.dtype.kind]
            values = array.astype(np.int64) if array.dtype.kind == "i" else array
            self.container.add_initializer(name, element, list(array.shape), values.ravel())
        return name

    def node(self, op_type, inputs, output=None, **attributes):
        output = output or self.name(op_type.lower())
        self.container.add_node(
            op_type,
            inputs,
            [output],
            name=self.scope.get_unique_operator_name(op_type),
            op_version=13,
            **attributes,
        )
        return output
