"""Sphinx configuration of the saltext-scenario docs (`make docs` builds them into build/docs).

Laid out as the salt-extension template's docs are: Sphinx with Markdown pages (myst-parser)
and the furo theme. Two pages are built from the code: the step reference, which
`_ext/step_reference.py` writes from the step registry as the build starts, and the module
reference, which autodoc takes from the runner's and the minion modules' docstrings. Those
modules import outside Salt's loader (the dunders Salt injects are only read when a function
runs), so nothing needs mocking here; salt itself is a dependency of this package.
"""

import sys
from importlib import metadata
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "saltext-scenario"
author = "saltext-scenario developers"
copyright = "saltext-scenario developers"
release = metadata.version("saltext-scenario")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "step_reference",
]
myst_enable_extensions = ["colon_fence", "deflist"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext"]

# The minion modules' and the runner's docstrings are reStructuredText (Salt's own style:
# "CLI Example:" and a code-block); autodoc shows them as written, in source order.
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"
autodoc_mock_imports = []

html_theme = "furo"
html_title = f"saltext-scenario {release}"
# No network at build time: nothing is fetched (no intersphinx inventories, no web fonts).
html_static_path = []
