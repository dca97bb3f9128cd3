"""Sphinx configuration of the hdrnn documentation.

Build (offline, warnings are errors)::

    python -m sphinx -W -b html docs docs/_build/html

``HDRNN_DOCS_FAST=1`` runs the gallery examples on the quick path CI uses
(they are all small already; the switch skips the grid search).
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hdrnn  # noqa: E402

project = "hdrnn"
author = "The hdrnn developers"
copyright = "2026, the hdrnn developers"
release = version = hdrnn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# No intersphinx: the build must not touch the network. MathJax is vendored
# too (docs/_static/mathjax), so formulas render in a browser that is offline.
mathjax_path = "mathjax/tex-svg.js"
autosummary_generate = True
autodoc_default_options = {
    "members": True,
    # scikit-learn's generated metadata-routing setters and the inherited
    # score() refer to labels of scikit-learn's own documentation.
    "exclude-members": "set_fit_request,set_partial_fit_request,set_score_request,score,"
    "get_metadata_routing",
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**.zip"]

html_theme = "furo"
html_title = f"hdrnn {release}"
html_static_path = ["_static"]

os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"plot_grid_search\.py"
    if os.environ.get("HDRNN_DOCS_FAST")
    else r"__init__\.py",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "min_reported_time": 1,
}
