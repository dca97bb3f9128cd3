"""The shape of the code: who may import whom, and how big a module or a function may be.

The rules are folder rules (CONTRIBUTING.md, "The layers"): every file of a
subpackage obeys its subpackage's rule, so a new module needs no new entry
here. A *unit* is a subpackage of ``hdrnn`` (``nn``, ``_training``,
``estimator``...) or one of its top-level modules (``augmentation``,
``preprocessing``...).
"""

import ast
import io
import sys
import tokenize
from pathlib import Path

import hdrnn

PACKAGE = Path(hdrnn.__file__).parent

# What each unit may import of hdrnn, besides itself. Listed bottom-up: a unit
# imports only units listed above it, so the rules themselves admit no cycle.
ALLOWED = {
    "_version": set(),
    "exceptions": set(),
    "nn": set(),
    "augmentation": set(),
    "presets": set(),
    "distributed": set(),
    "_utils": {"exceptions"},
    "datasets": {"_utils", "exceptions"},
    "preprocessing": {"_utils", "exceptions"},
    "plotting": {"_utils", "exceptions"},
    "_training": {"nn", "augmentation", "_utils", "exceptions"},
    "estimator": {"_training", "nn", "augmentation", "_utils", "exceptions", "_version"},
    "persistence": {
        "estimator",
        "_training",
        "nn",
        "augmentation",
        "_utils",
        "exceptions",
        "_version",
    },
    "onnx": {"nn", "estimator", "preprocessing", "_utils", "exceptions", "_version"},
    "pretrained": {
        "persistence",
        "estimator",
        "datasets",
        "augmentation",
        "preprocessing",
        "_utils",
        "exceptions",
        "_version",
    },
    # reading's build script (its models' lessons) also composes numbers of digits,
    # distorted for the strip reader, and saves a model.
    "reading": {
        "augmentation",
        "preprocessing",
        "estimator",
        "pretrained",
        "datasets",
        "persistence",
        "_utils",
        "exceptions",
    },
    "_serve": {
        "persistence",
        "preprocessing",
        "reading",
        "pretrained",
        "nn",
        "augmentation",
        "_utils",
        "exceptions",
    },
    "cli": {
        "_serve",
        "plotting",
        "reading",
        "pretrained",
        "onnx",
        "persistence",
        "estimator",
        "datasets",
        "preprocessing",
        "presets",
        "distributed",
        "augmentation",
        "nn",
        "_utils",
        "exceptions",
        "_version",
    },
    "__main__": {"cli"},
    # Shims kept where a pickled class's module moved (pickles name classes by path).
    "_state": {"_training"},
    "__init__": {
        "datasets",
        "estimator",
        "persistence",
        "pretrained",
        "reading",
        "exceptions",
        "_version",
    },
}
# The core imports NumPy and the standard library; numba only in its kernels module.
CORE_THIRD_PARTY = {"numpy"}
CORE_OPTIONAL = {"_kernels.py": {"numba"}}
# The one module allowed to import scikit-learn's private names.
SKLEARN_PRIVATE_HOME = Path("_utils", "sklearn_compat.py")
# CLI modules that commands may share (a command never imports another command).
CLI_SHARED = {"__init__", "_common", "_output", "_search_progress"}

MAX_MODULE_CODE_LINES = 400
MAX_FUNCTION_LINES = 60
# scikit-learn estimators store every parameter in __init__: one line each.
LONG_FUNCTIONS_ALLOWED = {("_classifier.py", "__init__")}


def _imports(path):
    """Full module names of every import in a file (``from hdrnn import x`` gives ``hdrnn.x``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: within hdrnn
                module = "hdrnn." + module
            if module == "hdrnn":
                yield from (f"hdrnn.{alias.name}" for alias in node.names)
            else:
                yield module


def _library_files():
    return sorted(PACKAGE.rglob("*.py"))


def _unit_of_file(path):
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def _unit_of_module(name):
    parts = name.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _unit_imports():
    """``{(unit, imported unit): [files]}`` for every import between units of hdrnn."""
    found = {}
    for path in _library_files():
        unit = _unit_of_file(path)
        for name in _imports(path):
            if name.split(".")[0] == "hdrnn" and _unit_of_module(name) != unit:
                edge = (unit, _unit_of_module(name))
                found.setdefault(edge, []).append(str(path.relative_to(PACKAGE)))
    return found


def test_every_unit_has_a_rule():
    units = {_unit_of_file(path) for path in _library_files()}
    assert units - set(ALLOWED) == set()


def test_units_import_only_what_their_rule_allows():
    offenders = [
        f"{files[0]} imports hdrnn.{target} ({source} may import {sorted(ALLOWED[source])})"
        for (source, target), files in _unit_imports().items()
        if target not in ALLOWED.get(source, set())
    ]
    assert offenders == []


def test_the_rules_are_layers_with_no_upward_import():
    # Each unit's rule names only units listed before it in ALLOWED, so the
    # import graph that obeys the rules has no cycle and no upward edge.
    order = list(ALLOWED)
    upward = [
        f"{unit} -> {target}"
        for unit, targets in ALLOWED.items()
        for target in targets
        if order.index(target) >= order.index(unit)
    ]
    assert upward == []


def test_no_import_cycle_between_modules():
    graph = {}
    for path in _library_files():
        name = "hdrnn." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        name = name.removesuffix(".__init__")
        graph[name] = {m for m in _imports(path) if m.startswith("hdrnn") and m != name}
    # A module importing its own package's __init__ is how Python loads packages, not a cycle.
    for name, targets in graph.items():
        graph[name] = {t for t in targets if not name.startswith(t + ".")}
    state, cycles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*trail[trail.index(target) :], target]))
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_core_imports_only_numpy_and_stdlib():
    offenders = []
    for path in sorted((PACKAGE / "nn").glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top == "hdrnn" and not name.startswith("hdrnn.nn"):
                offenders.append(f"{path.name}: {name}")
            elif top != "hdrnn" and top not in CORE_THIRD_PARTY | set(sys.stdlib_module_names):
                if top not in CORE_OPTIONAL.get(path.name, ()):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_commands_do_not_import_each_other():
    offenders = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        if path.stem == "__init__":  # the dispatcher: it imports every command
            continue
        for name in _imports(path):
            if name.startswith("hdrnn.cli."):
                imported = name.split(".")[2]
                if imported not in CLI_SHARED and imported != path.stem:
                    offenders.append(f"cli/{path.name}: {name}")
    assert offenders == []


def test_only_the_compat_module_imports_private_scikit_learn_names():
    offenders = []
    for path in _library_files():
        for name in _imports(path):
            private = name.split(".")[0] == "sklearn" and any(
                part.startswith("_") for part in name.split(".")
            )
            if private and path.relative_to(PACKAGE) != SKLEARN_PRIVATE_HOME:
                offenders.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert offenders == []


def _docstring_lines(tree):
    """Line numbers of every module, class and function docstring."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                if isinstance(body[0].value.value, str):
                    lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source):
    """Lines of code: lines holding a token that is neither a comment nor part of a docstring."""
    docstrings = _docstring_lines(ast.parse(source))
    skipped = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in skipped and token.type != tokenize.ENDMARKER:
            lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def test_code_lines_count_code_only():
    source = (
        '"""Doc\n\nmore."""\n\n# a comment\nx = 1  # trailing\n\n\n'
        'def f():\n    """Doc."""\n    return (\n        x\n    )\n'
    )
    assert code_lines(source) == 5  # x = 1, def, return ( x )


def test_modules_stay_small():
    sizes = {
        str(path.relative_to(PACKAGE)): code_lines(path.read_text()) for path in _library_files()
    }
    assert {name: n for name, n in sizes.items() if n > MAX_MODULE_CODE_LINES} == {}


def _function_code_lines(function):
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
                if _function_code_lines(node) > MAX_FUNCTION_LINES and not allowed:
                    long_ones.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert long_ones == []


def test_the_import_checker_would_catch_a_forbidden_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sklearn.utils import check_array\nimport hdrnn.estimator\n"
        "from hdrnn import _serve\nfrom hdrnn.cli import train\n"
    )
    names = list(_imports(bad))
    assert names == ["sklearn.utils", "hdrnn.estimator", "hdrnn._serve", "hdrnn.cli"]
    assert [_unit_of_module(name) for name in names[1:]] == ["estimator", "_serve", "cli"]


def test_every_subpackage_says_its_job_and_what_it_may_import():
    for folder in sorted(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists()):
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
        assert doc and "import" in doc, f"{folder.name}/__init__.py needs a docstring"


def test_the_server_uses_only_the_models_public_face():
    # hdrnn serve reads and teaches a model through its public methods and
    # fitted attributes: no private attribute of anything but itself.
    offenders = []
    files = [*sorted((PACKAGE / "_serve").glob("*.py")), PACKAGE / "cli" / "serve.py"]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id == "self")
            ):
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} .{node.attr}")
    assert offenders == []
