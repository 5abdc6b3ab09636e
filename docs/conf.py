"""Sphinx configuration of the suite's documentation (docs/development/contributing.md says
why Sphinx with MyST Markdown and furo). Build it strictly, as CI does:

    sphinx-build -W --keep-going -n -b html docs docs/_build/html

`-W` turns every warning into an error: a broken link between pages, a missing anchor, a page
left out of every table of contents, a reference to a file that does not exist."""

project = "suite"
author = "the suite's authors"
copyright = "the suite's authors"

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]

# Headings up to level 3 get anchors, so `page.md#a-heading` links are checked like pages.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
# A link to a file that is not a page (a study, a benchmark script) must exist: MyST warns
# about a missing one, and -W fails the build.
nitpicky = True

html_theme = "furo"
html_title = "suite"
html_static_path: list[str] = []
# Offline: no external fonts or scripts are fetched while building or reading the pages.
html_theme_options = {"navigation_with_keys": True}
