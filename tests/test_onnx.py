"""ONNX export: ONNX Runtime computes what predict and predict_proba compute."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from hdrnn import DigitMLPClassifier, load_mnist, save
from hdrnn.cli import main
from hdrnn.nn import ACTIVATIONS
from hdrnn.preprocessing import DigitImagePreprocessor

onnx = pytest.importorskip("onnx", reason='needs the onnx extra: pip install "hdrnn[onnx]"')
onnxruntime = pytest.importorskip("onnxruntime", reason="needs onnxruntime (the onnx extra)")
from hdrnn.onnx import to_onnx  # noqa: E402

# Probabilities agree to this (float32), and to float64's last digits.
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def _fit(X, y, **params):
    model = DigitMLPClassifier(hidden_layer_sizes=(24, 12), max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.set_params(**params).fit(X, y)


def _run(onnx_model, X):
    session = onnxruntime.InferenceSession(
        onnx_model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def _assert_same(model, onnx_model, X, dtype):
    labels, probabilities = _run(onnx_model, X)
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=TOLERANCE[dtype])
    assert probabilities.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_in_both_dtypes(digits, activation, dtype):
    X, y = digits
    X = X.astype(dtype)
    model = _fit(X, y, activation=activation)
    _assert_same(model, to_onnx(model), X, dtype)


LABELS = {
    "strings": lambda y: np.array([f"digit {v}" for v in y]),
    "binary integers": lambda y: (y > 4).astype(int) * 7,
    "binary strings": lambda y: np.where(y > 4, "big", "small"),
    "integral floats": lambda y: y.astype(float),
    "negative integers": lambda y: y - 5,
}


@pytest.mark.parametrize("kind", sorted(LABELS))
def test_label_types(digits, kind):
    X, y = digits
    X = X.astype(np.float32)
    model = _fit(X, LABELS[kind](y))
    _assert_same(model, to_onnx(model), X, np.float32)


def test_multilabel_gives_an_indicator_matrix(digits):
    X, y = digits
    X = X.astype(np.float32)
    Y = np.stack([y % 2, y > 4, y == 3], axis=1).astype(int)
    model = _fit(X, Y)
    labels, probabilities = _run(to_onnx(model), X)
    assert labels.shape == (len(X), 3) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, model.predict(X))
    np.testing.assert_allclose(probabilities, model.predict_proba(X), atol=1e-5)


def test_the_graph_declares_its_signature(digits):
    X, y = digits
    model = _fit(X.astype(np.float32), y.astype(str))
    graph = to_onnx(model).graph
    assert [v.name for v in graph.input] == ["X"]
    assert [v.name for v in graph.output] == ["label", "probabilities"]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.STRING
    assert [d.dim_value for d in graph.output[1].type.tensor_type.shape.dim] == [0, 10]


def test_what_cannot_be_exported_is_refused_clearly(digits):
    X, y = digits
    with pytest.raises(ValueError, match="fitted"):
        to_onnx(DigitMLPClassifier())
    with pytest.raises(ValueError, match="13 or newer"):
        to_onnx(_fit(X, y), target_opset=12)


def test_mnist_test_set_for_every_activation(mnist_dir):
    # The bar: full MNIST test data, labels equal, probabilities within 1e-5.
    X_train, X_test, y_train, _ = load_mnist(source=mnist_dir, return_X_y=True)
    for activation in sorted(ACTIVATIONS):
        model = DigitMLPClassifier(activation=activation, max_iter=2, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_train[:20_000], y_train[:20_000])
        _assert_same(model, to_onnx(model), X_test, np.float32)


# ------------------------------------------------------------------ skl2onnx pipelines


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("zipmap", [False, True])
def test_skl2onnx_converts_a_pipeline_with_the_classifier(digits, dtype, zipmap):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = digits
    X = (16 * X).astype(dtype)  # raw 0-16 pixels: the scaler's job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline = make_pipeline(MinMaxScaler(), _fit(X, y)).fit(X, y)
    options = {DigitMLPClassifier: {"zipmap": zipmap}}
    labels, probabilities = _run(skl2onnx.to_onnx(pipeline, X[:1], options=options), X)
    if zipmap:  # a list of {class: probability}, in float32 (ZipMap's only type)
        probabilities = np.array([[row[c] for c in pipeline.classes_] for row in probabilities])
    np.testing.assert_array_equal(labels, pipeline.predict(X))
    atol = TOLERANCE[np.float32 if zipmap else dtype]
    np.testing.assert_allclose(probabilities, pipeline.predict_proba(X), atol=atol)


def test_skl2onnx_nocl_gives_class_indices(digits):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = digits
    X = X.astype(np.float32)
    model = _fit(X, np.array(list("abcdefghij"))[y])
    options = {DigitMLPClassifier: {"zipmap": False, "nocl": True}}
    labels, _ = _run(skl2onnx.to_onnx(model, X[:1], options=options), X)
    np.testing.assert_array_equal(model.classes_[labels], model.predict(X))


def test_skl2onnx_refuses_the_image_preprocessor_with_the_way_out(digits):
    skl2onnx = pytest.importorskip("skl2onnx")
    X, y = digits
    pipeline = make_pipeline(DigitImagePreprocessor(image_shape=(8, 8)), _fit(X[:300], y[:300]))
    with pytest.raises(NotImplementedError, match=r"pipeline\[1:\].*prepare_digit_image"):
        skl2onnx.to_onnx(pipeline, np.zeros((1, 8, 8), np.float32))


# ------------------------------------------------------------------ the command


def test_export_command_writes_a_checked_onnx_file(digits, tmp_path, capsys):
    X, y = digits
    model = _fit(X.astype(np.float32), y)
    path = save(model, tmp_path / "m.hdrnn")
    out = tmp_path / "m.onnx"
    assert main(["export", "--model", str(path), "--onnx", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "input X float (n, 64); outputs label int64 (n,), probabilities float (n, 10)" in printed
    assert "Checked with ONNX Runtime" in printed and "same labels" in printed
    _assert_same(model, onnx.load(out), X.astype(np.float32), np.float32)


def test_export_refuses_a_bad_target_before_reading_the_model(tmp_path, capsys):
    target = tmp_path / "missing" / "m.onnx"
    code = main(["export", "--model", str(tmp_path / "nothing.hdrnn"), "--onnx", str(target)])
    assert code == 1 and "missing" in capsys.readouterr().err


def test_export_without_onnx_says_which_extra(digits, tmp_path, capsys, monkeypatch):
    X, y = digits
    path = save(_fit(X, y), tmp_path / "m.hdrnn")
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if not installed
    for name in [name for name in sys.modules if name.startswith("hdrnn.onnx")]:
        monkeypatch.delitem(sys.modules, name)
    assert main(["export", "--model", str(path), "--onnx", str(tmp_path / "m.onnx")]) == 1
    assert 'pip install "hdrnn[onnx]"' in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_import_hdrnn_stays_light():
    extras = "{'onnx', 'onnxruntime', 'skl2onnx', 'dask', 'distributed'}"
    code = f"import sys, hdrnn; print(sorted({extras} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]"


def test_integer_classes_beyond_int64_are_refused_not_wrapped(digits):
    X, y = digits
    big = np.where(y == 0, np.uint64(2**63 + 5), y.astype(np.uint64))
    model = _fit(X, big)
    with pytest.raises(ValueError, match=r"class 9223372036854775813 is beyond the int64 labels"):
        to_onnx(model)


def test_the_graph_can_flag_rows_that_predict_refuses(digits):
    X, y = digits
    X = X.astype(np.float32)
    model = _fit(X, y)
    session = onnxruntime.InferenceSession(to_onnx(model, flag_nonfinite=True).SerializeToString())
    rows = X[:4].copy()
    rows[1, 3], rows[2, 0] = np.nan, np.inf
    labels, proba, finite = session.run(None, {"X": rows})
    np.testing.assert_array_equal(labels[[0, 3]], model.predict(rows[[0, 3]]))
    assert finite.tolist() == [True, False, False, True]
    np.testing.assert_allclose(proba[[0, 3]], model.predict_proba(rows[[0, 3]]), rtol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(rows)
    assert len(session.get_outputs()) == 3 and len(_session_outputs(model)) == 2


def _session_outputs(model):
    return onnxruntime.InferenceSession(to_onnx(model).SerializeToString()).get_outputs()
