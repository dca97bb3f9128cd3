"""The shipped model: its file matches its card, loads safely, reads digits, says its source."""

import hashlib
import json
import shutil
import subprocess
import sys
import zlib
from importlib import resources

import numpy as np
import pytest

import hdrnn
from hdrnn import DigitMLPClassifier, ModelFileError, load_pretrained, pretrained_models
from hdrnn.preprocessing import prepare_digit_image
from hdrnn.pretrained import _cards


def _shipped(name):
    return resources.files("hdrnn.pretrained") / name


@pytest.mark.parametrize("name, n_classes", [("mnist", 10), ("segments", 11), ("strips", 11)])
def test_the_shipped_file_matches_its_cards_hash_and_architecture(name, n_classes):
    card = pretrained_models()[name]
    data = _shipped(f"{name}.hdrnn").read_bytes()
    assert hashlib.sha256(data).hexdigest() == card.sha256
    model = load_pretrained(name)
    assert isinstance(model, DigitMLPClassifier)
    units = [model.n_features_in_, *(W.shape[1] for W in model.coefs_)]
    assert card.architecture.startswith("-".join(map(str, units)))
    assert list(model.classes_) == list(range(n_classes))


def test_the_card_says_what_a_user_needs_to_trust_it():
    card = pretrained_models()["mnist"]
    assert card.accuracy["mnist_test"] >= 0.99
    assert {"handwriting_strokes", "handwriting_photos"} <= set(card.accuracy)
    assert "CC BY-SA 3.0" in card.weights_licence and "LeCun" in card.weights_licence
    assert "BSD-3-Clause" in card.weights_licence  # the code's licence, stated apart
    assert card.recipe["params"] and card.recipe["epochs"] > 0
    assert "cores" in card.training_time
    text = card.as_text()
    for word in ("architecture", "accuracy", "weights licence", "file sha256"):
        assert word in text


def test_the_shipped_models_are_small_enough_to_ship():
    # Sizes in the wheel, which compresses the files. The digit reader and the verifier
    # keep "Real handwriting out of the box"'s budget of 5 MB; the strip reader (reading's
    # run-together digits) adds its own 4.5 MB: the whole wheel stays under 10 MB.
    size = {
        name: len(zlib.compress(_shipped(f"{name}.hdrnn").read_bytes())) for name in _cards.SHIPPED
    }
    assert size["mnist"] + size["segments"] <= 5 * 2**20
    assert size["strips"] <= 4.5 * 2**20
    assert sum(size.values()) <= 9.5 * 2**20


def test_the_strip_readers_card_says_what_it_is_for_and_what_it_gains():
    card = pretrained_models()["strips"]
    assert "strip reader" in card.summary and "MNIST training digits" in card.training_data
    gains = card.accuracy
    assert (
        gains["touching_or_overlapping_with_strips"]
        > gains["touching_or_overlapping_without_strips"]
    )
    assert (
        gains["numbers_photographed_mnist_test_with_strips"]
        > (gains["numbers_photographed_mnist_test_without_strips"])
    )
    assert load_pretrained("strips").n_features_in_ == 28 * 32  # windows, not digits


def test_the_verifiers_card_says_what_it_is_for_and_what_it_gains():
    card = pretrained_models()["segments"]
    assert "verifier" in card.summary and "MNIST training digits" in card.training_data
    with_verifier = card.accuracy["numbers_photographed_mnist_test_with_verifier"]
    assert with_verifier > card.accuracy["numbers_photographed_mnist_test_without_verifier"]
    assert "CC BY-SA 3.0" in card.weights_licence


def test_it_reads_digits_out_of_the_box(drawn_digits, draw):
    model = load_pretrained()
    X = np.stack([prepare_digit_image(draw(strokes)) for strokes in drawn_digits.values()])
    assert (model.predict(X) == np.array(list(drawn_digits))).mean() >= 0.9


def test_a_tampered_shipped_file_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "pretrained"
    folder.mkdir()
    data = bytearray(_shipped("mnist.hdrnn").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "mnist.hdrnn").write_bytes(bytes(data))
    (folder / "mnist.json").write_text(_shipped("mnist.json").read_text())
    monkeypatch.setattr(_cards, "_files", lambda: folder)
    with pytest.raises(ModelFileError, match=r"does not match its card.*Reinstall hdrnn"):
        load_pretrained()


def test_a_card_with_a_fitting_hash_still_goes_through_the_safe_loader(tmp_path, monkeypatch):
    # An attacker who can rewrite the file can rewrite the card too: the
    # loader's own checks stand behind the hash.
    folder = tmp_path / "pretrained"
    folder.mkdir()
    data = bytearray(_shipped("mnist.hdrnn").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (folder / "mnist.hdrnn").write_bytes(bytes(data))
    card = json.loads(_shipped("mnist.json").read_text())
    card["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    (folder / "mnist.json").write_text(json.dumps(card))
    monkeypatch.setattr(_cards, "_files", lambda: folder)
    with pytest.raises(ModelFileError, match="not a usable hdrnn model file"):
        load_pretrained()


def test_an_unknown_name_lists_the_shipped_ones():
    with pytest.raises(
        ValueError, match=r"No shipped model is called 'emnist'.*\['mnist', 'segments', 'strips'\]"
    ):
        load_pretrained("emnist")


@pytest.mark.slow
def test_it_loads_offline_with_no_optional_extra():
    code = (
        "import sys\n"
        "for name in ('PIL', 'matplotlib', 'numba', 'onnx', 'dask', 'pandas'):\n"
        "    sys.modules[name] = None\n"
        "import socket\n"
        "def offline(*args):\n"
        "    raise OSError('no network')\n"
        "socket.socket.connect = socket.create_connection = offline\n"
        "import hdrnn\n"
        "model = hdrnn.load_pretrained()\n"
        "print(model.n_features_in_)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "784"


def test_its_mnist_test_accuracy_is_the_cards(mnist_dir):
    mnist = hdrnn.load_mnist(source=mnist_dir)
    n = mnist.n_train
    accuracy = float(np.mean(load_pretrained().predict(mnist.data[n:]) == mnist.target[n:]))
    assert accuracy == pytest.approx(pretrained_models()["mnist"].accuracy["mnist_test"], abs=1e-9)


def test_the_build_script_trains_resumes_and_writes_a_card_that_loads(mnist_dir, tmp_path, capsys):
    # A two-epoch build on 600 digits, stopped after the first epoch and resumed.
    from hdrnn.pretrained import build

    small = dict(build.RECIPES["mnist"], epochs=2, flagged_ones=50)
    small["params"] = dict(small["params"], hidden_layer_sizes=[32])
    argv = [
        "--data-dir",
        str(mnist_dir),
        "--out",
        str(tmp_path),
        "--limit",
        "600",
        "--handwriting-digits",
        "20",
    ]
    original = build.RECIPES["mnist"]
    build.RECIPES["mnist"] = small
    try:
        calls = []
        real_save = build.save

        def save_then_stop(model, path, **kwargs):
            real_save(model, path, **kwargs)
            calls.append(path)
            if len(calls) == 1:
                raise KeyboardInterrupt  # the build is stopped after its first epoch

        build.save = save_then_stop
        with pytest.raises(KeyboardInterrupt):
            build.main(argv)
        build.save = real_save
        assert build.main(argv) == 0
    finally:
        build.RECIPES["mnist"] = original
        build.save = real_save
    out = capsys.readouterr().out
    assert "resuming from" in out and "after epoch 1" in out
    card = json.loads((tmp_path / "mnist.json").read_text())
    assert hashlib.sha256((tmp_path / "mnist.hdrnn").read_bytes()).hexdigest() == card["sha256"]
    assert set(card["accuracy"]) >= {"mnist_test", "handwriting_strokes", "handwriting_photos"}
    # Measured again, the model file is left as it is (and the card's hash holds).
    before = (tmp_path / "mnist.hdrnn").read_bytes()
    card["built_with"] = "the first build"
    (tmp_path / "mnist.json").write_text(json.dumps(card))
    assert build.main([*argv, "--evaluate-only"]) == 0
    assert (tmp_path / "mnist.hdrnn").read_bytes() == before
    again = json.loads((tmp_path / "mnist.json").read_text())
    assert again["sha256"] == card["sha256"] and again["built_with"] == "the first build"
    assert "50 copies of their 1s given a European flag" in card["training_data"]
    assert card["recipe"]["flagged_ones"] == 50
    assert not (tmp_path / ".mnist-checkpoint.hdrnn").exists()
    shutil.rmtree(tmp_path)


def test_predict_and_read_use_the_shipped_model_without_model_and_say_so(capsys):
    from hdrnn.cli import main

    images = [f"examples/images/{name}" for name in ("seven.png", "zero.png", "one.jpg")]
    pytest.importorskip("PIL")
    assert main(["predict", *images]) == 0
    out, err = capsys.readouterr()
    assert "using the shipped model mnist" in err
    assert [line.split(": ")[1][0] for line in out.splitlines()] == ["7", "0", "1"]
    assert main(["read", images[0]]) == 0
    out, err = capsys.readouterr()
    assert "shipped model" in err and out.split(": ")[1].startswith("7")


def test_info_prints_the_card(capsys):
    from hdrnn.cli import main

    assert main(["info", "--pretrained"]) == 0
    out = capsys.readouterr().out
    card = pretrained_models()["mnist"]
    assert (
        card.sha256 in out and "CC BY-SA 3.0" in out and f"{card.accuracy['mnist_test']:.2%}" in out
    )
    assert main(["info"]) == 0
    assert "shipped model mnist: 784-1024-256-10" in capsys.readouterr().out
    assert main(["info", "--pretrained", "emnist"]) == 1


def test_evaluate_uses_the_shipped_model_without_model(mnist_dir, capsys, monkeypatch):
    from hdrnn.cli import main

    monkeypatch.setenv("HDRNN_MNIST_DIR", str(mnist_dir))
    assert main(["evaluate", "--dataset", "mnist"]) == 0
    out = capsys.readouterr().out
    accuracy = pretrained_models()["mnist"].accuracy["mnist_test"]
    assert "Evaluating the shipped model mnist" in out and f"{accuracy:.4f}" in out


def _built(folder, name):
    """``(card, model)`` a build wrote to ``folder``, once the file matches its card's hash."""
    card = json.loads((folder / f"{name}.json").read_text())
    assert hashlib.sha256((folder / f"{name}.hdrnn").read_bytes()).hexdigest() == card["sha256"]
    return card, hdrnn.load(folder / f"{name}.hdrnn")


@pytest.mark.slow
def test_the_verifier_build_writes_a_card_that_loads(mnist_dir, tmp_path, capsys):
    from hdrnn.reading import build

    argv = ["--data-dir", str(mnist_dir), "--out", str(tmp_path), "--numbers", "150"]
    argv += ["--epochs", "2", "--check-numbers", "10", "--jobs", "1"]
    assert build.main(argv) == 0
    out = capsys.readouterr().out
    assert "candidates (" in out and "not one digit" in out
    card, model = _built(tmp_path, "segments")
    assert card["recipe"]["numbers"] == 150 and card["recipe"]["epochs"] == 2
    assert list(model.classes_) == list(range(11))


@pytest.mark.slow
def test_the_strip_reader_build_writes_a_card_that_loads(mnist_dir, tmp_path, capsys):
    from hdrnn.reading import build
    from hdrnn.reading._strips import BLANK

    argv = ["--model", "strips", "--data-dir", str(mnist_dir), "--out", str(tmp_path)]
    argv += ["--numbers", "60", "--epochs", "1", "--check-numbers", "10", "--jobs", "1"]
    assert build.main(argv) == 0
    out = capsys.readouterr().out
    assert "windows (" in out and "no digit centred" in out
    card, model = _built(tmp_path, "strips")
    assert card["recipe"]["numbers"] == 60 and card["recipe"]["blanks_kept"] == 0.5
    assert "touching_or_overlapping_with_strips" in card["accuracy"]
    assert BLANK in model.classes_ and model.n_features_in_ == 28 * 32


def test_the_verifiers_lessons_label_whole_digits_and_parts(mnist_dir):
    # Lessons come from MNIST training digits; a whole digit's class is its label.
    from hdrnn.reading import build
    from hdrnn.reading._verifier import NOT_ONE

    mnist = hdrnn.load_mnist(source=mnist_dir)
    images = mnist.data[:2000].reshape(-1, 28, 28)
    X, y = build.lessons(images, mnist.target[:2000], 40, seed=3)
    assert X.shape == (len(y), 784) and X.dtype == np.float32
    assert 0.3 < np.mean(y == NOT_ONE) < 0.95  # both kinds are taught
    whole = y != NOT_ONE
    said = load_pretrained().predict(X[whole])
    assert np.mean(said == y[whole]) >= 0.9  # the reader agrees with the labels of whole digits
    again, _ = build.lessons(images, mnist.target[:2000], 40, seed=3, jobs=2)
    np.testing.assert_array_equal(again, X)  # the same lessons however many processes


def _bare_one():
    one = np.zeros((28, 28))
    one[4:24, 13:16] = 1.0  # a bare upright stroke, MNIST's usual 1
    return one.reshape(1, -1)


def test_flagged_ones_have_a_flag_down_to_the_left_of_the_top_and_stay_mnist_like():
    from hdrnn.pretrained.flags import flag_ones

    flagged = flag_ones(_bare_one(), [1], 40, random_state=0).reshape(-1, 28, 28)
    bare = prepare_digit_image(1 - _bare_one().reshape(28, 28))  # prepared the same way
    assert flagged.shape == (40, 28, 28) and flagged.dtype == np.float32
    assert 0.0 <= flagged.min() and flagged.max() <= 1.0
    for image in flagged:
        rows = np.flatnonzero(image.max(axis=1) > 0.5)
        assert rows[-1] - rows[0] + 1 == pytest.approx(20, abs=1)  # MNIST's 20-pixel box
        stem = int(np.flatnonzero(image[rows[-1]] > 0.01)[0])  # the stroke's left edge at its foot
        upper, lower = image[: rows[0] + 9], image[rows[0] + 12 :]
        assert upper[:, :stem].sum() > 1.0  # ink left of the stem, near the top
        assert lower[:, :stem].sum() < 0.5  # and none down by the foot
    assert bare.reshape(28, 28)[:, :12].sum() < 0.5  # the bare 1 had none there


def test_flagged_ones_are_the_same_for_a_seed_and_vary_between_flags():
    from hdrnn.pretrained.flags import flag_ones

    images = np.vstack([_bare_one(), np.zeros((1, 784))])
    first = flag_ones(images, [1, 7], 10, random_state=3)
    np.testing.assert_array_equal(first, flag_ones(images, [1, 7], 10, random_state=3))
    assert not np.array_equal(first, flag_ones(images, [1, 7], 10, random_state=4))
    assert len({row.tobytes() for row in first}) == 10  # each its own length, angle and pen
    assert flag_ones(images, [7, 7], 10, random_state=3).shape == (0, 784)  # no 1 to flag
    assert flag_ones(images, [1, 7], 0, random_state=3).shape == (0, 784)
