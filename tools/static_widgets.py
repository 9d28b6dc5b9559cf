"""Sphinx extension: the static site carries no ipywidgets, live or dead.

Readers of the built site have no kernel, so a widget there could at best be a picture of
itself that does not respond. Chapters still *execute* their widget cells at build time, so the
build tests them, but tag them ``remove-output`` and point to Binder. This extension makes that
convention hold:

1. a widget view left visible on a page is a build warning (an error under ``-W``), naming the
   page and telling the author to tag the cell ``remove-output``;
2. the saved widget state that myst-nb would embed in the page is dropped: nothing on the page
   reads it (``nb_ipywidgets_js`` is empty, so no widget JavaScript is loaded), and for a Plotly
   ``FigureWidget`` it holds the whole 5 MB plotly.js bundle (the widget's ``_esm`` module);
3. the same state is dropped from the executed notebook offered as the page's ``.ipynb``
   download (a reader who opens it re-runs the cells, which recreates the widgets).

It also sets ``SRLM_STATIC_SITE=1`` in the build's environment, which the kernels that execute
the chapters inherit: the kit's slider figures (:class:`srlm_kit.figures.SliderFigure`) then
render as static HTML driven by the site's own plotly.js, and not as the ipywidgets version
they show in a live notebook.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _executed_notebook(app: Sphinx, docname: str) -> Path:
    # myst-nb writes executed notebooks next to the html folder, in jupyter_execute/
    # (myst_nb.sphinx_ext, OUTPUT_FOLDER); sphinx-book-theme copies them from there.
    return Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"


def drop_widget_state(app: Sphinx, doctree: nodes.document) -> None:
    """``doctree-read`` handler: enforce the no-widget rule for the page just read."""
    docname = app.env.docname
    for node in doctree.findall(nodes.container):
        if node.get("mime_type") == WIDGET_VIEW:
            logger.warning(
                "an ipywidgets output is visible on a static page; widgets need a kernel. "
                "Tag the cell 'remove-output' and point readers to the Binder button.",
                location=node, type="srlm", subtype="widget")
    metadata = getattr(app.env, "nb_metadata", {})
    if docname in metadata:
        metadata[docname].get("js_files", {}).pop("ipywidgets_state", None)
    notebook_path = _executed_notebook(app, docname)
    if notebook_path.is_file():
        notebook = nbformat.read(notebook_path, as_version=4)
        if notebook.metadata.pop("widgets", None) is not None:
            nbformat.write(notebook, notebook_path)


def setup(app: Sphinx) -> dict:
    # Read by srlm_kit.figures.core (STATIC_SITE_VARIABLE) in the kernels started by the build.
    os.environ["SRLM_STATIC_SITE"] = "1"
    app.connect("doctree-read", drop_widget_state)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
