"""What pyproject.toml declares: floors that are tested, a version in one place."""

import re
from pathlib import Path

import pytest

import hdrnn

ROOT = Path(__file__).resolve().parents[1]
TESTED_EXTRAS = ("test", "fast", "images", "plot", "onnx", "distributed")


def _floors():
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11 reads TOML")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in TESTED_EXTRAS:
        requirements += project["optional-dependencies"][extra]
    floors = {}
    for requirement in requirements:
        name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement).groups()
        floors[name.lower()] = floor
    return floors


def test_every_declared_floor_is_pinned_for_the_minimum_versions_run():
    pinned = {}
    for line in (ROOT / ".ci" / "minimum-versions.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pinned[name.lower()] = version
    assert pinned == _floors()


def test_ci_runs_the_tests_on_the_minimum_versions():
    script = (ROOT / ".ci" / "run").read_text()
    assert "-c .ci/minimum-versions.txt" in script


def test_the_version_lives_in_one_module():
    assert hdrnn.__version__ == hdrnn._version.__version__
    project = (ROOT / "pyproject.toml").read_text()
    assert 'version = { attr = "hdrnn._version.__version__" }' in project
