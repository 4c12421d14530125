"""Sphinx configuration: MyST pages plus autodoc of the public API (Google docstrings)."""

from __future__ import annotations

import progress_instrument

project = "progress_instrument"
author = "progress_instrument maintainers"
release = progress_instrument.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.doctest"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_typehints = "description"
autodoc_member_order = "bysource"
myst_heading_anchors = 3
html_theme = "alabaster"
