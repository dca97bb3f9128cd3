"""The hdrnn command line, in-process and as a subprocess."""

import subprocess
import sys

import numpy as np
import pytest

from hdrnn.cli import format_confusion_matrix, main


def test_train_on_digits_reports_accuracy_and_confusion_matrix(capsys):
    assert main(["train", "--dataset", "digits", "--hidden", "32", "--epochs", "30"]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("Test accuracy: ")[1].split()[0])
    assert accuracy > 0.9
    assert "precision" in out and "recall" in out
    assert "true \\ predicted" in out


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
