"""Training presets: valid recipes, reachable from Python and from ``hdrnn train``."""

import contextlib
import io

import pytest

from hdrnn import DigitMLPClassifier
from hdrnn.cli import build_parser, main
from hdrnn.cli.train import model_params
from hdrnn.presets import PRESETS, preset_params


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains(small_digits, name):
    X, y = small_digits
    model = DigitMLPClassifier(**preset_params(name, max_iter=1), random_state=0).fit(X, y)
    assert model.n_iter_ == 1


def test_preset_params_are_a_copy_with_overrides():
    params = preset_params("fast99", max_iter=3)
    assert params["max_iter"] == 3
    assert PRESETS["fast99"].params["max_iter"] == 12
    assert preset_params("default") == {"hidden_layer_sizes": (128, 64), "max_iter": 20}


def test_an_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="fast98"):
        preset_params("fastest")


def _params(*argv):
    return model_params(build_parser().parse_args(["train", *argv]))


def test_cli_options_override_the_preset():
    assert _params("--dataset", "mnist", "--preset", "fast98") == preset_params("fast98")
    params = _params("--preset", "fast98", "--epochs", "7", "--hidden", "64")
    assert params["max_iter"] == 7
    assert params["hidden_layer_sizes"] == (64,)
    assert params["learning_rate"] == "cosine"  # the rest of the preset stays


def test_without_a_preset_the_cli_gives_the_estimator_defaults():
    assert _params() == {"max_iter": 200}
    assert _params("--dataset", "mnist") == {"max_iter": 20}


def test_train_help_prints_what_each_preset_gives():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", "--help"]) == 0
    for preset in PRESETS.values():
        assert f"{preset.name:<9} {preset.measured}: {preset.summary}" in out.getvalue()


def test_a_preset_run_is_recorded_in_the_model_file(tmp_path, capsys):
    path = tmp_path / "model.hdrnn"
    argv = ["train", "--preset", "fast98", "--dataset", "digits", "--epochs", "1", "--quiet"]
    argv += ["--save", str(path)]
    assert main(argv) == 0
    assert "preset fast98" in capsys.readouterr().out
    assert main(["info", "--model", str(path)]) == 0
    assert "preset: fast98" in capsys.readouterr().out


def test_the_user_guide_quotes_what_each_preset_gives():
    # the numbers in --help and in the docs come from one place and must agree
    from pathlib import Path

    guide = Path(__file__).parents[1] / "docs" / "user_guide" / "hyperparameters.rst"
    text = " ".join(guide.read_text(encoding="utf-8").split())
    for preset in PRESETS.values():
        assert f"``{preset.name}`` - {preset.summary} - {preset.measured}" in text
