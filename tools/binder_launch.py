"""Sphinx extension: a page's Binder button opens the reader's notebook of that page.

sphinx-book-theme points the launch button at the page's source (``book/NN_page.md``). On
Binder, ``postBuild`` makes from every page a notebook that reads like the web page
(``tools/make_notebooks.py``: glued numbers filled in, references resolved, hidden cells
hidden) in ``notebooks/``, which mirrors ``book/``. This extension rewrites the button's
``urlpath`` to that notebook, so a reader never opens (or saves over) a chapter's source.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

URLPATH = re.compile(r"(\?urlpath=(?:lab/)?tree/)book/(?P<page>[^?#&]+)\.(?:md|ipynb)")


def notebook_urlpath(url: str) -> str:
    """``...?urlpath=lab/tree/book/05_x.md`` -> ``...?urlpath=lab/tree/notebooks/05_x.ipynb``."""
    return URLPATH.sub(lambda m: f"{m.group(1)}notebooks/{m.group('page')}.ipynb", url)


def _rewrite(buttons: list[dict[str, Any]]) -> None:
    for button in buttons:
        if isinstance(button.get("url"), str) and "urlpath=" in button["url"]:
            button["url"] = notebook_urlpath(button["url"])
        if isinstance(button.get("buttons"), list):
            _rewrite(button["buttons"])


def point_launch_buttons_at_notebooks(app: Sphinx, pagename: str, templatename: str,
                                      context: dict, doctree) -> None:
    """``html-page-context`` handler, run after sphinx-book-theme adds its launch buttons."""
    _rewrite(context.get("header_buttons", []))


def setup(app: Sphinx) -> dict:
    # sphinx-book-theme adds the launch buttons at priority 501.
    app.connect("html-page-context", point_launch_buttons_at_notebooks, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
