"""The shape of the code: who may import whom, and how big a module or a function may be.

The layers (CONTRIBUTING.md): the core ``hdrnn.nn`` imports only NumPy and
the standard library; the training runs never import the estimator;
nothing imports the command line; library code never imports plotting;
only ``_sklearn_compat`` imports scikit-learn's private names. Modules stay
under 400 lines and functions under 60 lines of code (docstrings aside).
"""

import ast
import sys
from pathlib import Path

import hdrnn

PACKAGE = Path(hdrnn.__file__).parent
CORE = PACKAGE / "nn"
ALLOWED_IN_CORE = {"numpy", "hdrnn"}
# The one optional import of the core: the compiled kernels fall back to NumPy.
OPTIONAL_IN_CORE = {"_kernels.py": {"numba"}}

# Modules of the training layer: they get values and return values.
TRAINING_LAYER = (
    "_training.py",
    "_lbfgs.py",
    "_training_data.py",
    "_state.py",
    "_setup.py",
    "_diagnostics.py",
    "_validation.py",
    "_reporting.py",
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# scikit-learn estimators store every parameter in __init__: one line each.
LONG_FUNCTIONS_ALLOWED = {("_params.py", "__init__")}


def _imports(path):
    """``(top-level name, full module name)`` of every import in a file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: within hdrnn
                module = "hdrnn." + module
            yield module.split(".")[0], module


def _library_files():
    return sorted(PACKAGE.rglob("*.py"))


def test_core_imports_only_numpy_and_stdlib():
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        for top, full in _imports(path):
            if top == "hdrnn" and not full.startswith("hdrnn.nn"):
                offenders.append(f"{path.name}: {full}")
            elif top not in ALLOWED_IN_CORE and top not in sys.stdlib_module_names:
                if top not in OPTIONAL_IN_CORE.get(path.name, ()):
                    offenders.append(f"{path.name}: {full}")
    assert offenders == []


def test_the_training_layer_never_imports_the_estimator_or_the_cli():
    forbidden = ("hdrnn.estimator", "hdrnn._fit", "hdrnn._prediction", "hdrnn.cli")
    offenders = [
        f"{name}: {full}"
        for name in TRAINING_LAYER
        for _, full in _imports(PACKAGE / name)
        if full.startswith(forbidden)
    ]
    assert offenders == []


def test_nothing_imports_the_cli_and_only_the_cli_imports_plotting():
    offenders = []
    for path in _library_files():
        in_cli = path.parent.name == "cli" or path.name == "__main__.py"
        for _, full in _imports(path):
            if full.startswith("hdrnn.cli") and not in_cli:
                offenders.append(f"{path.name}: {full}")
            if full.startswith("hdrnn.plotting") and not in_cli:
                offenders.append(f"{path.name}: {full}")
    assert offenders == []


def test_only_the_compat_module_imports_private_scikit_learn_names():
    offenders = []
    for path in _library_files():
        for top, full in _imports(path):
            private = top == "sklearn" and any(part.startswith("_") for part in full.split("."))
            if private and path.name != "_sklearn_compat.py":
                offenders.append(f"{path.name}: {full}")
    assert offenders == []


def test_modules_stay_small():
    sizes = {
        str(path.relative_to(PACKAGE)): len(path.read_text().splitlines())
        for path in _library_files()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def _code_lines(function):
    """Lines of a function without its docstring."""
    lines = function.end_lineno - function.lineno + 1
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        lines -= body[0].end_lineno - body[0].lineno + 1
    return lines


def test_functions_fit_on_a_screen():
    long_ones = []
    for path in _library_files():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                allowed = (path.name, node.name) in LONG_FUNCTIONS_ALLOWED
                if _code_lines(node) > MAX_FUNCTION_LINES and not allowed:
                    long_ones.append(f"{path.name}:{node.lineno} {node.name}")
    assert long_ones == []


def test_the_import_checker_would_catch_sklearn(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sklearn.utils import check_array\nimport hdrnn.estimator\n")
    names = list(_imports(bad))
    assert ("sklearn", "sklearn.utils") in names
    assert ("hdrnn", "hdrnn.estimator") in names


def test_the_server_uses_only_the_models_public_face():
    # hdrnn serve reads and teaches a model through its public methods and
    # fitted attributes: no private attribute of anything but itself.
    offenders = []
    for name in ("_server.py", "_recognizer.py", "cli/serve.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                offenders.append(f"{name}:{node.lineno} .{node.attr}")
    assert offenders == []
