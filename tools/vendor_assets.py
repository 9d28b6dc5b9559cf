"""Copy the JavaScript the site serves itself into _vendor/ (never loaded from a CDN).

``make assets`` runs this before every build (``make book`` depends on it).

* plotly.js comes from the installed plotly wheel, so the figures' JSON and the library that
  draws them always have matching versions. ``_config.yml`` lists ``_vendor`` in
  ``html_static_path`` and loads ``plotly.min.js`` once per page (``html_js_files``); the
  browser caches it for the whole site.
* MathJax 3 is served by the ``sphinx-mathjax-offline`` extension (a pinned PyPI package that
  bundles MathJax 3.2.2 and copies it to ``_static/mathjax`` at the end of every build), so
  nothing is fetched for it here.
* No ipywidgets JavaScript is served: widgets need a kernel, so the static site has none
  (see ``tools/static_widgets.py``).
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil

import plotly

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENDOR = ROOT / "_vendor"


def _digest(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    VENDOR.mkdir(exist_ok=True)
    source = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    target = VENDOR / "plotly.min.js"
    if not target.exists() or _digest(target) != _digest(source):
        shutil.copyfile(source, target)
    print(f"vendored {target.relative_to(ROOT)} from plotly {plotly.__version__} "
          f"({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
