"""Collection rules for the doctests in hdrnn/: modules of optional extras need them."""

import importlib.util

# Modules that import an optional extra at the top; their doctests run where it is installed.
_NEEDS = {
    "hdrnn/onnx": "onnx",
    "hdrnn/distributed.py": "distributed",
}

collect_ignore = [
    path for path, module in _NEEDS.items() if importlib.util.find_spec(module) is None
]
