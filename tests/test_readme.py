"""The Python example in README.md runs and does what it says."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow
def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README.md has no Python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    score = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert score > 0.95


def test_readme_training_extras_example_runs(monkeypatch, tmp_path):
    """The second example, on 2 000 MNIST digits and 3 epochs instead of 70 000 and 200."""
    import os

    import pytest

    import hdrnn

    if not os.environ.get("HDRNN_MNIST_DIR"):
        pytest.skip("HDRNN_MNIST_DIR is not set")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    real_load, real_class = hdrnn.load_mnist, hdrnn.DigitMLPClassifier

    def small_mnist(**kwargs):  # 1500 to train on, the last 5000 to validate
        X_train, X_test, y_train, y_test = real_load(**kwargs)
        return X_train[:6500], X_test[:500], y_train[:6500], y_test[:500]

    monkeypatch.setattr(hdrnn, "load_mnist", small_mnist)
    monkeypatch.setattr(
        hdrnn, "DigitMLPClassifier", lambda *a, **k: real_class(*a, **k, max_iter=3)
    )
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(blocks[1], "README.md", "exec"), namespace)
    assert isinstance(namespace["clf"], real_class)
    assert namespace["clf"].n_iter_ == 3 and len(namespace["clf"].history_) == 3
    assert (tmp_path / "mnist-800.hdrnn").exists()


@pytest.mark.slow
def test_readme_predict_output_shows_what_the_command_prints(tmp_path):
    """The digits in the README's output block are the ones `hdrnn predict` names."""
    import os
    import subprocess
    import sys

    import pytest

    if not os.environ.get("HDRNN_MNIST_DIR"):
        pytest.skip("HDRNN_MNIST_DIR is not set")
    text = README.read_text()
    command = next(
        line for line in text.splitlines() if "hdrnn predict --model mnist.hdrnn" in line
    )
    images = re.findall(r"examples/images/\S+", command)
    shown = re.search(r"```text\n(.*?)```", text.split(command, 1)[1], flags=re.DOTALL).group(1)
    expected = [line.split(" (")[0] for line in shown.strip().splitlines()]  # "file: digit"
    root = README.parent
    model = tmp_path / "mnist.hdrnn"
    hdrnn = [sys.executable, "-m", "hdrnn"]
    train = [*hdrnn, "train", "--dataset", "mnist", "--quiet", "--save", str(model)]
    subprocess.run(train, check=True, capture_output=True, timeout=600, cwd=root)
    predict = [*hdrnn, "predict", "--model", str(model), *images, "--top", "2"]
    result = subprocess.run(predict, capture_output=True, text=True, timeout=120, cwd=root)
    assert result.returncode == 0, result.stderr
    assert [line.split(" (")[0] for line in result.stdout.strip().splitlines()] == expected


def test_the_first_command_reads_the_digits_its_output_block_shows(capsys):
    """The README's first command uses the shipped model; its output block is what it prints."""
    import pytest

    from hdrnn.cli import main

    pytest.importorskip("PIL")
    text = README.read_text()
    command = next(line for line in text.splitlines() if "hdrnn predict examples/images" in line)
    images = re.findall(r"examples/images/\S+", command)
    shown = re.search(r"```text\n(.*?)```", text.split(command, 1)[1], flags=re.DOTALL).group(1)
    expected = [line.split(" (")[0] for line in shown.strip().splitlines()]
    root = README.parent
    assert main(["predict", *(str(root / image) for image in images)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" (")[0].replace(str(root) + "/", "") for line in printed] == expected
