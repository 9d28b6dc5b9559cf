"""Sphinx extension: each page loads only what it uses, and nothing that delays its first paint.

A reader on a slow link waits for every script in a page's ``<head>`` before seeing any text.
This extension decides, page by page, what the page asks for:

* plotly.js (the partial bundle vendored by ``tools/vendor_assets.py``) only on pages that
  have a figure, and with ``defer``: the text is drawn first, and the figures' own scripts
  (:class:`srlm_kit.figures.SliderFigure`) wait for ``DOMContentLoaded``, which comes after the
  deferred plotly.js has run;
* MathJax (served by ``sphinx-mathjax-offline``; Sphinx adds it only to pages with math) is
  configured here to typeset lazily: the formulas on screen first, so a chapter with 500
  expressions is ready after the first screenful, and the others when the browser is idle
  (or when they come near the screen, if that is sooner);
* the theme's ``fontawesome.js`` and the search index are left out of the page's head by the
  template ``tools/templates/layout.html`` (the search page loads the index itself);
* the site's own stylesheet (``tools/static/srlm-site.css``: focus rings, keyboard slider
  controls, colour contrast) is added to every page, with a few lines of script
  (:data:`SITE_SCRIPT`).

It also names the sidebar's collapsible ``<summary>`` elements, which the theme leaves empty
(an icon only), so that a screen reader says what each one opens.

The repository (its URL and branch) is set in one place, ``repository`` in ``_config.yml``; the
theme's repository button and Binder launch buttons are made from it. The environment variable
``BOOK_REPOSITORY_URL`` overrides the URL (the publishing workflow sets it to the repository it
runs in, so a fork's site links to the fork). Pages can name both in prose as the MyST
substitutions ``{{ repository_url }}`` and ``{{ binder_url }}``.
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from markupsafe import Markup
from sphinx.application import Sphinx
from sphinx.config import Config

HERE = Path(__file__).resolve().parent

#: The plotly.js bundle that ``tools/vendor_assets.py`` writes into ``_vendor/``.
PLOTLY_FILE = "plotly-basic.min.js"

#: A Plotly figure's container (plotly.py's ``to_html``); a page without one needs no plotly.js.
FIGURE_MARK = 'class="plotly-graph-div"'

#: MathJax 3 options: lazy typesetting (the ``ui/lazy`` component ships with MathJax 3.2).
MATHJAX3_CONFIG = {"loader": {"load": ["ui/lazy"]}}

_SUMMARY = re.compile(r"<summary>(\s*<span class=\"toctree-toggle\")")
_SECTION_LINK = re.compile(r"<a class=\"reference internal\" href=\"[^\"]*\">"
                           r"((?:(?!</a>).)*)</a>\s*<details[^>]*>\s*<summary>", re.S)


#: Overrides ``repository.url`` of ``_config.yml`` when set (``.github/workflows/publish.yml``).
REPOSITORY_VARIABLE = "BOOK_REPOSITORY_URL"


def binder_url(binderhub: str, repository_url: str, branch: str) -> str:
    """The Binder launch address of a GitHub repository's branch (JupyterLab)."""
    owner_and_name = repository_url.rstrip("/").removeprefix("https://github.com/")
    return f"{binderhub.rstrip('/')}/v2/gh/{owner_and_name}/{branch}?urlpath=lab"


def _configure(app: Sphinx, config: Config) -> None:
    options = config.html_theme_options
    if os.environ.get(REPOSITORY_VARIABLE):
        options["repository_url"] = os.environ[REPOSITORY_VARIABLE]
    if options.get("repository_url"):
        branch = options.get("repository_branch", "main")
        binderhub = options.get("launch_buttons", {}).get("binderhub_url") or "https://mybinder.org"
        substitutions = dict(config.myst_substitutions or {})
        substitutions.setdefault("repository_url", options["repository_url"])
        substitutions.setdefault("binder_url",
                                 binder_url(binderhub, options["repository_url"], branch))
        config.myst_substitutions = substitutions
    config.templates_path = [*config.templates_path, str(HERE / "templates")]
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]


def _lazy_mathjax(app: Sphinx) -> None:
    """Add MathJax's lazy typesetting to the MathJax configuration that myst-parser has set
    (its ``builder-inited`` handler runs before this one)."""
    config = dict(app.config.mathjax3_config or {})
    loader = dict(config.get("loader", {}))
    loader["load"] = [*loader.get("load", []),
                      *[name for name in MATHJAX3_CONFIG["loader"]["load"]
                        if name not in loader.get("load", [])]]
    config["loader"] = loader
    app.config.mathjax3_config = config


def name_summaries(toctree_html: str) -> str:
    """Give each collapsible section of the sidebar an accessible name.

    The theme writes ``<summary><span class="toctree-toggle" role="presentation"><i ...>``
    after a section's link: a control with no text. Each gets ``aria-label="Show or hide the
    pages of <section>"``, the section being the text of the link just before it.
    """
    def label(match: re.Match) -> str:
        section = re.sub(r"<[^>]+>", "", match.group(1)).strip()
        text = html.escape(f"Show or hide the pages of {html.unescape(section)}", quote=True)
        return match.group(0)[:-len("<summary>")] + f'<summary aria-label="{text}">'

    named = _SECTION_LINK.sub(label, toctree_html)
    # Any summary still unnamed (no link before it) gets a generic name.
    return _SUMMARY.sub(r'<summary aria-label="Show or hide this section">\1', named)


#: Two things every page does once its HTML is parsed:
#: 1. a block that scrolls sideways (a long code line, a wide table) gets into the tab order,
#:    so that keyboard users can scroll it, and only such a block (measured in the browser,
#:    where the widths are known; again once the math is typeset);
#: 2. with MathJax's lazy typesetting, the formulas on screen are typeset first; the rest of
#:    the page's formulas are typeset as soon as the browser is idle (so that find-in-page and
#:    screen readers meet typeset math everywhere, without scrolling first).
SITE_SCRIPT = """(function () {
  function markScrollable() {
    var blocks = document.querySelectorAll('main pre, main .table-wrapper, main .output, ' +
                                           'main div.math');
    blocks.forEach(function (el) {
      if (el.scrollWidth > el.clientWidth + 1 && !el.hasAttribute('tabindex')) {
        el.setAttribute('tabindex', '0');
      }
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    markScrollable();
    if (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) { return; }
    MathJax.startup.promise.then(function () {
      markScrollable();
      var math = MathJax.startup.document;
      if (!(math && math.lazyTypesetAll)) { return; }
      (window.requestIdleCallback || setTimeout)(function () {
        math.lazyTypesetAll().then(markScrollable);
      });
    });
  });
})();"""


def fix_body(body: str) -> str:
    """Markup fixes in a page's body. Bibliography entries: docutils marks them with the
    deprecated role ``doc-biblioentry`` inside a ``role="list"``, which assistive technology
    does not count as list items; they get ``role="listitem"``."""
    return body.replace('role="doc-biblioentry"', 'role="listitem"')


def _page_context(app: Sphinx, pagename: str, templatename: str, context: dict,
                  doctree) -> None:
    if "body" in context:
        context["body"] = fix_body(context["body"])
    if FIGURE_MARK in context.get("body", ""):
        app.add_js_file(PLOTLY_FILE, loading_method="defer")
    generate = context.get("generate_toctree_html")
    if generate is not None and not getattr(generate, "names_summaries", False):
        def generate_named(*args, **kwargs):
            return Markup(name_summaries(str(generate(*args, **kwargs))))

        generate_named.names_summaries = True
        context["generate_toctree_html"] = generate_named


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("builder-inited", _lazy_mathjax, priority=900)
    app.add_css_file("srlm-site.css")
    app.add_js_file(None, body=SITE_SCRIPT)
    # After the theme's own handler (priority 500), which puts generate_toctree_html there.
    app.connect("html-page-context", _page_context, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
