"""The hdrnn command line, in-process (main(argv)) and as a subprocess."""

import json
import os
import signal
import subprocess
import sys

import joblib
import numpy as np
import pytest

import hdrnn.cli as cli
from hdrnn import DigitMLPClassifier, load
from hdrnn.cli import format_confusion_matrix, main

FAST_TRAIN = ["train", "--dataset", "digits", "--hidden", "32", "--epochs", "40"]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "digits.hdrnn"
    assert main([*FAST_TRAIN, "--quiet", "--save", str(path)]) == 0
    return path


def _accuracy(out):
    return float(out.split("Test accuracy: ")[1].split()[0])


def test_train_reports_progress_accuracy_table_and_confusion_matrix(capsys, tmp_path):
    path = tmp_path / "m.hdrnn"
    assert main([*FAST_TRAIN, "--save", str(path)]) == 0
    out = capsys.readouterr().out
    progress = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert len(progress) >= 10 and "elapsed" in progress[0] and "left ~" in progress[0]
    assert _accuracy(out) > 0.9
    assert "precision" in out and "recall" in out and "true \\ predicted" in out
    assert f"Saved the model to {path}" in out
    assert load(path).n_features_in_ == 64


def test_train_with_the_new_capabilities(capsys):
    argv = ["train", "--hidden", "32", "--epochs", "60", "--learning-rate", "0.01"]
    argv += ["--dropout", "0.1", "--augment", "shift", "--schedule", "cosine", "--warmup", "2"]
    assert main([*argv, "--activation", "gelu", "--init", "he", "--early-stopping"]) == 0
    out = capsys.readouterr().out
    assert "validation" in out.splitlines()[1]  # early stopping shows the validation score
    assert _accuracy(out) > 0.85


def test_evaluate_reproduces_the_training_report(model_file, capsys):
    assert main(["evaluate", "--model", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "test split of scikit-learn's 8x8 digits (450 images)" in out
    assert _accuracy(out) > 0.9


def test_evaluate_writes_a_confusion_matrix_figure(model_file, tmp_path):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "confusion.png"
    assert main(["evaluate", "--model", str(model_file), "--plot", str(figure)]) == 0
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _draw(path, digit):
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (120, 160), (236, 232, 220))  # a photo of paper
    draw = ImageDraw.Draw(image)
    if digit == 7:
        draw.line([(25, 30), (95, 30), (55, 140)], fill=(30, 30, 70), width=12)
    else:  # a 0
        draw.ellipse([25, 20, 95, 140], outline=(30, 30, 70), width=12)
    image.save(path)
    return path


def test_predict_names_each_digit_and_survives_a_bad_file(model_file, tmp_path, capsys):
    pytest.importorskip("PIL")
    zero = _draw(tmp_path / "zero.png", 0)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    missing = tmp_path / "missing.png"
    argv = ["predict", "--model", str(model_file), str(zero), str(bad), str(missing), "--top", "3"]
    assert main(argv) == 1  # some files failed
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert line.startswith(f"{zero}: 0 (") and line.count("%") == 3
    errors = captured.err.strip().splitlines()
    assert len(errors) == 2 and "cannot identify image file" in errors[0]
    assert "missing.png" in errors[1]


def test_predict_json(model_file, tmp_path, capsys):
    pytest.importorskip("PIL")
    seven = _draw(tmp_path / "seven.jpg", 7)
    assert main(["predict", "--model", str(model_file), str(seven), "--json", "--top", "2"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["file"] == str(seven)
    assert len(result["top"]) == 2
    assert result["prediction"] == result["top"][0]["label"]
    assert 0 < result["probability"] <= 1


def test_pickles_load_only_when_trusted(digits, tmp_path, capsys):
    X, y = digits
    path = tmp_path / "model.joblib"
    joblib.dump(DigitMLPClassifier((8,), max_iter=20).fit(X, y), path)
    assert main(["evaluate", "--model", str(path)]) == 1
    assert "not a usable hdrnn model file" in capsys.readouterr().err
    assert main(["evaluate", "--model", str(path), "--trust-pickle"]) == 0


def test_info_describes_a_model_and_the_installation(model_file, capsys):
    assert main(["info", "--model", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "64-32-10" in out and "8x8 images" in out and "checksum OK" in out
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "MNIST:" in out


def test_a_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nope.hdrnn")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_mnist_unavailable_is_a_clear_error(monkeypatch, capsys):
    from hdrnn.exceptions import DatasetUnavailableError

    def offline(**kwargs):
        raise DatasetUnavailableError("MNIST is not available on this machine ...")

    monkeypatch.setattr("hdrnn.datasets.load_mnist", offline)
    assert main(["train", "--dataset", "mnist"]) == 1
    assert "hdrnn: error: MNIST is not available" in capsys.readouterr().err


def test_ctrl_c_in_process_saves_nothing(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.hdrnn"
    path.write_bytes(b"the previous model")

    def interrupted_fit(self, X, y):
        raise KeyboardInterrupt

    monkeypatch.setattr(DigitMLPClassifier, "fit", interrupted_fit)
    assert main([*FAST_TRAIN, "--save", str(path)]) == cli.EXIT_INTERRUPTED
    assert path.read_bytes() == b"the previous model"
    assert "interrupted" in capsys.readouterr().err


def test_bad_hidden_sizes_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--hidden", "128,x"])
    assert info.value.code == 2
    assert "comma-separated layer sizes" in capsys.readouterr().err


def test_confusion_matrix_text_is_aligned():
    text = format_confusion_matrix(np.array([[12, 0], [3, 100]]), ["a", "b"])
    rows = text.splitlines()[1:]
    assert len({len(row) for row in rows}) == 1  # every row equally wide
    assert rows[2].split() == ["b", "3", "100"]


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "hdrnn", "train", "--hidden", "16", "--epochs", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Test accuracy" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_train_exits_130_and_keeps_the_old_model(tmp_path):
    path = tmp_path / "model.hdrnn"
    path.write_bytes(b"the previous model")
    command = [sys.executable, "-m", "hdrnn", "train", "--hidden", "1024,1024"]
    process = subprocess.Popen(
        [*command, "--epochs", "500", "--save", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    for line in process.stdout:  # wait until training is under way
        if line.split()[:2] == ["epoch", "1/500"]:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted; nothing was saved" in err
    assert path.read_bytes() == b"the previous model"


@pytest.mark.skipif(not os.environ.get("HDRNN_MNIST_DIR"), reason="HDRNN_MNIST_DIR is not set")
def test_train_on_real_mnist(tmp_path, capsys):
    path = tmp_path / "mnist.hdrnn"
    argv = ["train", "--dataset", "mnist", "--epochs", "1", "--batch-size", "256", "--quiet"]
    assert main([*argv, "--data-dir", os.environ["HDRNN_MNIST_DIR"], "--save", str(path)]) == 0
    out = capsys.readouterr().out
    assert "60000 training and 10000 test images" in out
    assert _accuracy(out) > 0.9
    assert main(["evaluate", "--model", str(path)]) == 0
    assert _accuracy(capsys.readouterr().out) > 0.9
