"""The hdrnn command line, in-process (main(argv)) and as a subprocess."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import warnings

import joblib
import numpy as np
import pytest

import hdrnn
import hdrnn.cli as cli
from hdrnn import DigitMLPClassifier, load, save
from hdrnn.cli import format_confusion_matrix, main
from hdrnn.persistence import load_with_metadata
from hdrnn.presets import PRESETS

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
    lines = out.splitlines()
    assert lines[1].split() == [
        "epoch",
        "train",
        "loss",
        "learning",
        "rate",
        "seconds",
        "elapsed",
        "left",
    ]
    rows = [line.split() for line in lines[2:] if line.split()[:1] and line.split()[0].isdigit()]
    assert len(rows) >= 10 and rows[0][0] == "1" and rows[0][-1].startswith("~")
    assert _accuracy(out) > 0.9
    assert "precision" in out and "recall" in out and "true \\ predicted" in out
    assert f"Saved the model to {path}" in out
    assert load(path).n_features_in_ == 64


def test_train_with_the_new_capabilities(capsys):
    argv = ["train", "--hidden", "32", "--epochs", "60", "--learning-rate", "0.01"]
    argv += ["--dropout", "0.1", "--augment", "shift", "--schedule", "cosine", "--warmup", "2"]
    assert main([*argv, "--activation", "gelu", "--init", "he", "--early-stopping"]) == 0
    out = capsys.readouterr().out
    assert "val score" in out.splitlines()[1]  # early stopping shows the validation score
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


def _png_header(width, height):
    """A PNG that declares a size in its header, with almost no pixels behind it."""
    import struct
    import zlib

    def chunk(kind, data):
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(bytes(1000))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_predict_names_each_digit_and_survives_bad_files(model_file, tmp_path, capsys):
    # battery rows 7 and 52: the CLI reshapes each image; a non-image, a truncated
    # image and a missing file each get one line, the good files are still read
    pytest.importorskip("PIL")
    zero = _draw(tmp_path / "zero.png", 0)
    seven = _draw(tmp_path / "seven.png", 7)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(seven.read_bytes()[:300])
    missing = tmp_path / "missing.png"
    files = [zero, bad, truncated, missing, seven]
    assert main(["predict", "--model", str(model_file), *map(str, files), "--top", "3"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith(f"{zero}: 0 (") and lines[0].count("%") == 3
    assert lines[1].startswith(f"{seven}: ")
    errors = captured.err.strip().splitlines()
    assert len(errors) == 3
    assert "bad.png: cannot identify image file" in errors[0]
    assert "truncated.png:" in errors[1] and "missing.png" in errors[2]


def test_predict_refuses_huge_images_before_decoding_them(model_file, tmp_path, capsys):
    # battery row 53: per file, "image too large", the other files still read
    pytest.importorskip("PIL")
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png_header(50000, 50000))  # Pillow's own limit refuses it
    big = tmp_path / "big.png"
    big.write_bytes(_png_header(9500, 9500))  # under Pillow's error limit, over ours
    zero = _draw(tmp_path / "zero.png", 0)
    assert main(["predict", "--model", str(model_file), str(bomb), str(big), str(zero)]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{zero}: 0 (")
    errors = captured.err.strip().splitlines()
    assert "bomb.png: image too large: 2,500,000,000 pixels" in errors[0]
    assert "big.png: image too large: 9500x9500 pixels" in errors[1]


def test_predict_verbose_says_how_the_image_was_prepared(model_file, tmp_path, capsys):
    # battery row 55
    pytest.importorskip("PIL")
    seven = _draw(tmp_path / "seven.png", 7)
    assert main(["predict", "--model", str(model_file), str(seven), "--verbose"]) == 0
    note = capsys.readouterr().out.splitlines()[1]
    assert note.strip().startswith("a 120x160 image: cropped to the ink")
    assert "averaged over 4x4 blocks into 8x8" in note


def test_predict_json(model_file, tmp_path, capsys):
    pytest.importorskip("PIL")
    seven = _draw(tmp_path / "seven.jpg", 7)
    assert main(["predict", "--model", str(model_file), str(seven), "--json", "--top", "2"]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["file"] == str(seven)
    assert len(result["top"]) == 2
    assert result["prediction"] == result["top"][0]["label"]
    assert 0 < result["probability"] <= 1


def test_predict_never_prints_100_percent_for_a_probability_below_1(capsys):
    pytest.importorskip("PIL")
    images = ["examples/images/seven.png", "examples/images/zero.png"]
    assert main(["predict", *images, "--json"]) == 0
    probabilities = [result["probability"] for result in json.loads(capsys.readouterr().out)]
    assert main(["predict", *images]) == 0
    lines = capsys.readouterr().out.splitlines()
    # The shipped model reads both at 99.95% or more (below 1): ">99.9%", as the page shows it.
    assert all(0.9995 <= p < 1 for p in probabilities)
    assert [line.split(" ", 1)[1] for line in lines] == ["7 (>99.9%)", "0 (>99.9%)"]


class Malicious:
    def __reduce__(self):
        return (os.system, ("touch hdrnn-was-here",))


def test_pickles_load_only_when_trusted(digits, tmp_path, capsys, monkeypatch):
    # battery row 37 from the command line: refused without being opened
    monkeypatch.chdir(tmp_path)
    joblib.dump(Malicious(), tmp_path / "evil.hdrnn")
    for command in ("evaluate", "info", "predict"):
        argv = [command, "--model", "evil.hdrnn"] + (["x.png"] if command == "predict" else [])
        assert main(argv) == 1
        error = capsys.readouterr().err
        assert "pickle-based" in error and "--trust-pickle" in error
        assert error.count("\n") == 1  # one line, no traceback
    assert not (tmp_path / "hdrnn-was-here").exists()
    X, y = digits
    path = tmp_path / "model.joblib"
    joblib.dump(DigitMLPClassifier((8,), max_iter=20).fit(X, y), path)
    assert main(["evaluate", "--model", str(path), "--trust-pickle"]) == 0
    assert main(["info", "--model", str(path), "--trust-pickle"]) == 0
    assert "a pickled DigitMLPClassifier" in capsys.readouterr().out


def test_a_trusted_pickle_that_is_damaged_or_no_model_is_a_one_line_error(digits, tmp_path, capsys):
    # battery row 36 with --trust-pickle: a damaged joblib file raised the
    # unpickler's KeyError, a pickled dict an AttributeError in predict
    X, y = digits
    good = tmp_path / "model.joblib"
    joblib.dump(DigitMLPClassifier((8,), max_iter=5).fit(X, y), good)
    data = bytearray(good.read_bytes())
    data[40] ^= 0xFF
    damaged = tmp_path / "damaged.joblib"
    damaged.write_bytes(bytes(data))
    not_a_model = tmp_path / "dict.joblib"
    joblib.dump({"weights": [1, 2]}, not_a_model)
    for path, said in ((damaged, "could not be unpickled"), (not_a_model, "holds a dict")):
        for command in ("evaluate", "info"):
            assert main([command, "--model", str(path), "--trust-pickle"]) == 1
            error = capsys.readouterr().err
            assert said in error and str(path) in error
            assert error.count("\n") == 1  # one line, no traceback


def test_crafted_model_files_are_one_line_errors(model_file, tmp_path, capsys):
    # A file with a valid checksum but classes that do not match the network.
    from hdrnn.persistence._document import checksum

    with np.load(model_file) as archive:
        arrays = {name: archive[name] for name in archive.files}
    metadata = json.loads(arrays.pop("metadata.json").tobytes())
    arrays["classes"] = arrays["classes"][:3]
    metadata["arrays"]["classes"]["shape"] = [3]
    metadata["checksum"] = checksum(metadata, arrays)
    crafted = tmp_path / "crafted.hdrnn"
    with crafted.open("wb") as file:
        document = np.frombuffer(json.dumps(metadata).encode(), dtype=np.uint8)
        np.savez(file, **arrays, **{"metadata.json": document})
    for command in ("evaluate", "info"):
        assert main([command, "--model", str(crafted)]) == 1
        error = capsys.readouterr().err
        assert error.startswith("hdrnn: error:") and "output layer has 10 units" in error
        assert error.count("\n") == 1


def test_evaluate_compares_string_classes_with_integer_labels(digits, tmp_path, capsys):
    # battery row 17: a model fitted on OpenML's string labels is not scored 0%
    X, y = digits
    model = DigitMLPClassifier((32,), max_iter=100, random_state=0).fit(X, y.astype(str))
    path = tmp_path / "strings.hdrnn"
    save(model, path, info={"dataset": "digits", "seed": 0})
    assert main(["evaluate", "--model", str(path)]) == 0
    captured = capsys.readouterr()
    assert "classes are <U1 ('0', ...) but the test labels are int64" in captured.err
    assert _accuracy(captured.out) > 0.9


def test_info_describes_a_model_and_the_installation(model_file, capsys):
    assert main(["info", "--model", str(model_file)]) == 0
    out = capsys.readouterr().out
    assert "64-32-10" in out and "8x8 images" in out and "checksum OK" in out
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "MNIST:" in out


def test_save_targets_are_checked_before_training(tmp_path, capsys):
    # A folder (or a pipe, a device) as --save is refused at once, not after training.
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    for target in (tmp_path, fifo):
        assert main([*FAST_TRAIN, "--save", str(target)]) == 1
        captured = capsys.readouterr()
        assert "Training" not in captured.out
        assert "not a regular file" in captured.err and captured.err.count("\n") == 1
    assert main([*FAST_TRAIN, "--save", str(tmp_path / "no" / "m.hdrnn")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_usage_errors_help_and_version_return_exit_codes(capsys):
    assert main(["train", "--hidden", "128,x"]) == 2
    assert "comma-separated layer sizes" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"hdrnn {hdrnn.__version__}"


def test_a_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["evaluate", "--model", str(tmp_path / "nope.hdrnn")]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0


def test_mnist_unavailable_is_a_clear_error(monkeypatch, tmp_path, capsys):
    # battery row 44: offline with no copy: exit 1, what to do, no traceback
    from urllib.error import URLError

    def refuse(request, *args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("sklearn.datasets._openml.urlopen", refuse)
    monkeypatch.setattr("hdrnn.datasets._openml.time.sleep", lambda seconds: None)
    monkeypatch.delenv("HDRNN_MNIST_DIR", raising=False)
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    assert main(["train", "--dataset", "mnist"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("hdrnn: error: MNIST is not available")
    assert "HDRNN_MNIST_DIR" in error and "--data-dir" in error and "--dataset digits" in error
    assert "Traceback" not in error


def _interrupt_after_epochs(monkeypatch, epochs):
    """Make training raise KeyboardInterrupt inside epoch ``epochs + 1``."""
    import hdrnn.nn.epochs as training

    real = training.run_epoch
    calls = {"n": 0}

    def run_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > epochs:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr("hdrnn._training.stochastic.run_epoch", run_epoch)


def test_ctrl_c_in_process_saves_nothing_but_names_the_epoch(tmp_path, monkeypatch, capsys):
    path = tmp_path / "m.hdrnn"
    path.write_bytes(b"the previous model")
    _interrupt_after_epochs(monkeypatch, 3)
    assert main([*FAST_TRAIN, "--save", str(path)]) == cli.EXIT_INTERRUPTED
    assert path.read_bytes() == b"the previous model"
    error = capsys.readouterr().err
    assert "interrupted after 3 completed epoch(s); nothing was saved" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.hdrnn"]


def test_ctrl_c_with_save_partial_keeps_the_last_completed_epoch(tmp_path, monkeypatch, capsys):
    # battery row 33: the model of the last completed epoch, in a separate file
    path, partial = tmp_path / "m.hdrnn", tmp_path / "partial.hdrnn"
    path.write_bytes(b"the previous model")
    _interrupt_after_epochs(monkeypatch, 3)
    argv = [*FAST_TRAIN, "--save", str(path), "--save-partial", str(partial)]
    assert main(argv) == cli.EXIT_INTERRUPTED
    assert path.read_bytes() == b"the previous model"
    assert f"saved the model of epoch 3 to {partial}" in capsys.readouterr().err
    model, metadata = load_with_metadata(partial)
    assert model.n_iter_ == 3 and model.interrupted_
    assert metadata["info"]["interrupted_after"] == 3


def test_confusion_matrix_text_is_aligned():
    text = format_confusion_matrix(np.array([[12, 0], [3, 100]]), ["a", "b"])
    rows = text.splitlines()[1:]
    assert len({len(row) for row in rows}) == 1  # every row equally wide
    assert rows[2].split() == ["b", "3", "100"]


@pytest.mark.slow
def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "hdrnn", "train", "--hidden", "16", "--epochs", "5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Test accuracy" in result.stdout


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_ctrl_c_during_train_exits_130_and_keeps_the_old_model(tmp_path):
    # battery row 33, with a real SIGINT: exit 130, the epoch named, the old model
    # byte for byte, the partial model saved apart, no temporary files
    path, partial = tmp_path / "model.hdrnn", tmp_path / "partial.hdrnn"
    path.write_bytes(b"the previous model")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    command = [sys.executable, "-m", "hdrnn", "train", "--hidden", "1024,1024"]
    process = subprocess.Popen(
        [*command, "--epochs", "500", "--save", str(path), "--save-partial", str(partial)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    deadline = threading.Timer(120, process.kill)  # the test never hangs
    deadline.start()
    try:
        for line in process.stdout:  # wait until training is under way
            if line.split()[:1] == ["2"]:  # the table's row of epoch 2
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    finally:
        deadline.cancel()
        process.kill()
    assert process.returncode == 130, err
    assert "interrupted after " in err and "completed epoch(s); saved the model of epoch" in err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert load(partial).n_iter_ >= 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.hdrnn", "partial.hdrnn"]


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


# ------------------------------------------------------------------ what commands write


def _links_to(model_file, tmp_path):
    """The model under other names: a symbolic link and a hard link."""
    symbolic, hard = tmp_path / "link.hdrnn", tmp_path / "hard.hdrnn"
    symbolic.symlink_to(model_file)
    os.link(model_file, hard)
    return [model_file, symbolic, hard]


def test_export_never_overwrites_the_model_it_reads(model_file, tmp_path, capsys):
    # issue 24 item 12: `--onnx m.hdrnn` replaced m.hdrnn with a graph (exit 0)
    before = model_file.read_bytes()
    for output in _links_to(model_file, tmp_path):
        assert main(["export", "--model", str(model_file), "--onnx", str(output)]) == 1
        error = capsys.readouterr().err
        assert f"it is the input file {model_file} itself" in error and error.count("\n") == 1
    assert model_file.read_bytes() == before


def test_evaluate_never_draws_its_figure_over_the_model(model_file, tmp_path, capsys):
    before = model_file.read_bytes()
    for output in _links_to(model_file, tmp_path):
        assert main(["evaluate", "--model", str(model_file), "--plot", str(output)]) == 1
        captured = capsys.readouterr()
        assert "Evaluating" not in captured.out  # refused before the model is evaluated
        assert "it is the input file" in captured.err and captured.err.count("\n") == 1
    assert model_file.read_bytes() == before


def test_evaluate_draws_the_format_its_file_name_asks_for(model_file, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    figure = tmp_path / "confusion.svg"
    assert main(["evaluate", "--model", str(model_file), "--plot", str(figure)]) == 0
    assert b"<svg" in figure.read_bytes()[:500]
    capsys.readouterr()
    assert main(["evaluate", "--model", str(model_file), "--plot", str(tmp_path / "c.xyz")]) == 1
    captured = capsys.readouterr()
    assert "matplotlib cannot write '.xyz' figures" in captured.err and ".png" in captured.err
    assert captured.out == ""  # refused before evaluating


def _planted_link(tmp_path):
    """A link to a 'system file', planted by another user in a folder like /tmp."""
    system_file = tmp_path / "system.conf"
    system_file.write_bytes(b"keep me")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = shared / "out"
    link.symlink_to(system_file)
    os.lchown(link, 12345, 12345)
    return link, system_file


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0, reason="planting another user's link needs root"
)
def test_every_command_that_writes_refuses_a_planted_link(model_file, tmp_path, capsys):
    # issue 24 item 13: as root, `--save /tmp/x` onto another user's link replaced a system file
    link, system_file = _planted_link(tmp_path)
    model = ["--model", str(model_file)]
    commands = {
        "train --save": [*FAST_TRAIN, "--save", str(link)],
        "train --save-partial": [*FAST_TRAIN, "--save-partial", str(link)],
        "search --save": ["search", "--param", "alpha=1e-4", "--save", str(link)],
        "export --onnx": ["export", *model, "--onnx", str(link)],
        "evaluate --plot": ["evaluate", *model, "--plot", str(link)],
        "serve --save-taught": [
            *["serve", *model, "--port", "0", "--shared-teaching", "--save-taught", str(link)]
        ],
    }
    for name, argv in commands.items():
        assert main(argv) == 1, name
        captured = capsys.readouterr()
        assert "protected_symlinks" in captured.err and captured.err.count("\n") == 1, name
        assert captured.out == "", name  # refused before any work
    assert system_file.read_bytes() == b"keep me" and link.is_symlink()


def _train_on(monkeypatch, digits):
    """Make `train` record the data set it loads, and give it the small digits."""
    from sklearn.model_selection import train_test_split

    loaded = []

    def load_dataset(name, data_dir, seed):
        loaded.append(name)
        X, y = digits
        return (*train_test_split(X, y, random_state=0), f"a stand-in for {name}")

    monkeypatch.setattr("hdrnn.cli.train.load_dataset", load_dataset)
    return loaded


def test_a_preset_trains_on_mnist_unless_told_otherwise(digits, monkeypatch, capsys):
    # issue 24 item 16: `--preset fast98` silently trained on the 8x8 digits (93%)
    loaded = _train_on(monkeypatch, digits)
    assert main(["train", "--preset", "fast98", "--epochs", "1", "--quiet"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("Preset fast98 is made for MNIST: training on MNIST")
    assert "--dataset digits" in first
    argv = ["train", "--dataset", "digits", "--preset", "fast98", "--epochs", "1", "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"Preset fast98 is made for MNIST ({PRESETS['fast98'].measured} there)")
    assert main(["train", "--epochs", "1", "--quiet"]) == 0
    assert "Preset" not in capsys.readouterr().out
    assert loaded == ["mnist", "digits", "digits"]


def test_counts_must_be_positive_before_anything_starts(capsys):
    # issue 24 item 14: `search --epochs 0` silently meant 200 epochs
    for argv in (
        ["train", "--epochs", "0"],
        ["search", "--param", "alpha=1e-4", "--epochs", "0"],
        ["search", "--param", "alpha=1e-4", "--cv", "1"],
        ["search", "--param", "alpha=1e-4", "--n-iter", "0"],
    ):
        assert main(argv) == 2, argv
        assert "must be at least" in capsys.readouterr().err


def test_the_epochs_help_comes_from_the_defaults(monkeypatch, capsys):
    from hdrnn.cli import _common

    monkeypatch.setitem(_common.DEFAULT_EPOCHS, "mnist", 21)
    for command in ("train", "search"):
        assert main([command, "--help"]) == 0
        assert "21 for mnist" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("params", "words"),
    [
        (["alpha=1e-4", "--param", "alpha=1e-3"], "--param alpha is given twice"),
        (["lr=0.1", "--param", "learning_rate_init=0.01"], "both set learning_rate_init"),
        (["epochs=5"], "--epochs and --param epochs"),
    ],
)
def test_search_refuses_a_parameter_given_twice(params, words, capsys):
    assert main(["search", "--param", *params, "--epochs", "3"]) == 1
    error = capsys.readouterr().err
    assert words in error and error.count("\n") == 1


def test_predict_top_must_be_at_least_one(capsys):
    assert main(["predict", "--top", "0", "examples/images/seven.png"]) == 2
    assert "at least 1" in capsys.readouterr().err


def test_an_image_with_non_finite_pixels_is_a_clear_error(tmp_path):
    from hdrnn.preprocessing import prepare_digit_image

    image = np.full((40, 40), 255.0)
    image[5:35, 18:22] = 0
    image[0, 0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw RuntimeWarning on the way
        with pytest.raises(ValueError, match="NaN or infinite pixel values"):
            prepare_digit_image(image)


def test_labels_from_a_model_file_cannot_put_escape_sequences_on_the_screen(
    digits, tmp_path, capsys
):
    pytest.importorskip("PIL")
    from hdrnn.preprocessing import prepare_digit_image

    X, y = digits
    X28 = np.stack([prepare_digit_image(image.reshape(8, 8)) for image in X[:300]])
    labels = np.array([f"{label}\x1b[2J" for label in y[:300]])
    model = DigitMLPClassifier((16,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X28, labels)
    path = save(model, tmp_path / "m.hdrnn")
    assert main(["predict", "--model", str(path), "examples/images/seven.png"]) == 0
    assert main(["info", "--model", str(path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out
