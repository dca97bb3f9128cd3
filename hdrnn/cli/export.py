"""``hdrnn export``: write a model as ONNX, for engines that are not Python."""

from pathlib import Path

import numpy as np

from hdrnn._utils.files import atomic_write, check_writable_target
from hdrnn.cli._common import add_model_argument, load_model

# Rows of random pixels on which ONNX Runtime must agree with predict_proba.
CHECK_ROWS = 256


def register(commands):
    """Add the ``export`` command to the subparsers ``commands``."""
    export = commands.add_parser(
        "export",
        help="write a model as ONNX (needs the onnx extra)",
        description=(
            "Write a saved model as an ONNX graph with the network's exact maths: input X "
            "(n, features) in the model's dtype, outputs label and probabilities. When "
            "onnxruntime is installed, the graph is checked against the model before "
            'it is written. Needs pip install "hdrnn[onnx]".'
        ),
    )
    add_model_argument(export)
    export.add_argument("--onnx", metavar="PATH", type=Path, required=True, help="the .onnx file")
    export.set_defaults(run=run)


def run(args):
    # Refused before anything is read: a folder, a device, the model itself, a planted link.
    check_writable_target(args.onnx, inputs=[args.model])
    from hdrnn.onnx import to_onnx  # the onnx package only when exporting

    model, _ = load_model(args.model, args.trust_pickle)
    onnx_model = to_onnx(model)
    checked = _check_with_onnxruntime(model, onnx_model)
    content = onnx_model.SerializeToString()
    with atomic_write(args.onnx, inputs=[args.model]) as file:
        file.write(content)
    size = f"{len(content) / 1024:.0f} KiB"
    print(f"Wrote {args.onnx} ({size}, ONNX opset 13): {_signature(onnx_model)}")
    print(checked)
    return 0


def _check_with_onnxruntime(model, onnx_model):
    """Compare ONNX Runtime's answers with the model's on random inputs in [0, 1]."""
    try:
        import onnxruntime
    except ImportError:
        return "Not checked: onnxruntime is not installed."
    dtype = model.coefs_[0].dtype
    X = np.random.default_rng(0).random((CHECK_ROWS, model.n_features_in_)).astype(dtype)
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    labels, probabilities = session.run(None, {"X": X})
    difference = float(np.abs(probabilities - model.predict_proba(X)).max())
    same_labels = np.array_equal(labels, model.predict(X).astype(labels.dtype))
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    if not same_labels or difference > tolerance:
        raise ValueError(
            f"ONNX Runtime {onnxruntime.__version__} disagrees with the model (largest "
            f"probability difference {difference:.2g}); nothing was written. Please report it."
        )
    return (
        f"Checked with ONNX Runtime {onnxruntime.__version__} on {CHECK_ROWS} random inputs: "
        f"same labels, probabilities within {difference:.1g}."
    )


def _signature(onnx_model):
    from onnx import TensorProto

    def describe(value):
        kind = value.type.tensor_type
        dims = [d.dim_value or "n" for d in kind.shape.dim]
        name = TensorProto.DataType.Name(kind.elem_type).lower()
        shape = ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "")
        return f"{value.name} {name} ({shape})"

    graph = onnx_model.graph
    inputs = ", ".join(describe(v) for v in graph.input)
    outputs = ", ".join(describe(v) for v in graph.output)
    return f"input {inputs}; outputs {outputs}"
