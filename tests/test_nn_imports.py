"""The core hdrnn.nn imports only NumPy and the standard library (numba optionally)."""

import ast
import sys
from pathlib import Path

import hdrnn.nn

CORE = Path(hdrnn.nn.__file__).parent
ALLOWED = {"numpy", "hdrnn"}
# The one optional import: the compiled kernels, which fall back to NumPy without it.
OPTIONAL = {"_kernels.py": {"numba"}}


def _imported_top_level_names(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], alias.name
        elif isinstance(node, ast.ImportFrom):
            yield (node.module or "").split(".")[0], node.module


def test_core_imports_only_numpy_and_stdlib():
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for top, full in _imported_top_level_names(path):
            if top == "hdrnn" and not full.startswith("hdrnn.nn"):
                offenders.append(f"{path.name}: {full}")
            elif top not in ALLOWED and top not in sys.stdlib_module_names:
                if top not in OPTIONAL.get(path.name, ()):
                    offenders.append(f"{path.name}: {full}")
    assert offenders == []


def test_the_import_checker_would_catch_sklearn(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sklearn.utils import check_array\nimport hdrnn.estimator\n")
    names = list(_imported_top_level_names(bad))
    assert ("sklearn", "sklearn.utils") in names
    assert ("hdrnn", "hdrnn.estimator") in names
