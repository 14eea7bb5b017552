"""Sphinx configuration: the fastnn documentation (pages in MyST Markdown, the API
reference from the docstrings). Built in CI with warnings as errors:
    sphinx-build -W -b html docs docs/_build/html
"""

import fastnn

project = "fastnn"
copyright = "2026, the fastnn developers"
release = version = fastnn.__version__

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon",
              "sphinx.ext.viewcode"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "pydata_sphinx_theme"
html_title = f"fastnn {release}"
html_theme_options = {"navigation_with_keys": False}
