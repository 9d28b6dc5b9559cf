"""Put the JavaScript the site serves itself into _vendor/ (never loaded from a CDN).

``make assets`` runs this before every build (``make book`` depends on it).

* plotly.js: the *basic* partial bundle (npm ``plotly.js-basic-dist-min``: scatter, bar and pie
  traces, cartesian axes including log and category axes, subplots, annotations, sliders and
  update menus), about a quarter of the full bundle that the plotly wheel ships. Its version is
  the one the installed plotly package was made for, so the figures' JSON and the library that
  draws them match. It is fetched with ``npm pack`` from the npm registry, checked against the
  pinned integrity hash below, and kept in ``_vendor/`` (later builds reuse it offline). Only
  pages with a figure load it, deferred (``tools/page_assets.py``).
* MathJax 3 is served by the ``sphinx-mathjax-offline`` extension (a pinned PyPI package that
  bundles MathJax 3.2.2 and copies it to ``_static/mathjax`` at the end of every build), so
  nothing is fetched for it here.
* No ipywidgets JavaScript is served: widgets need a kernel, so the static site has none
  (see ``tools/static_widgets.py``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import re
import shutil
import subprocess
import tarfile
import tempfile

import plotly
from plotly.offline import get_plotlyjs_version

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENDOR = ROOT / "_vendor"
PLOTLY_PACKAGE = "plotly.js-basic-dist-min"
PLOTLY_FILE = "plotly-basic.min.js"  # the name inside the npm package, and the served name

#: npm's integrity (SHA-512 of the package tarball) for each plotly.js version a plotly release
#: may ask for. A plotly upgrade that needs another version fails here until its hash is added
#: (``npm view plotly.js-basic-dist-min@VERSION dist.integrity``).
INTEGRITY = {
    "4.1.1": ("sha512-1oNF8PeQx2hv/y7tqEVWKD3JGwn/MGEMQ8mL9HUwsaqG9FGy/OU5FHUHvzqbqxN4mnwZGI9ab"
              "TiE775C4kkjMQ=="),
}

_VERSION_BANNER = re.compile(rb"plotly\.js \(basic - minified\) v(\S+)")


def bundle_version(path: pathlib.Path) -> str | None:
    """The plotly.js version in a bundle's banner comment, or None."""
    match = _VERSION_BANNER.search(path.read_bytes()[:400])
    return match.group(1).decode() if match else None


def _integrity(tarball: pathlib.Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def fetch_plotly(version: str, target: pathlib.Path) -> None:
    """Download ``plotly.js-basic-dist-min@version`` with ``npm pack``; check it; unpack it."""
    if version not in INTEGRITY:
        raise SystemExit(f"no pinned integrity for {PLOTLY_PACKAGE}@{version} (the version "
                         f"plotly {plotly.__version__} needs): add it to INTEGRITY in "
                         f"{pathlib.Path(__file__).name}")
    if shutil.which("npm") is None:
        raise SystemExit("npm is needed once to fetch plotly.js (apt-get install npm)")
    with tempfile.TemporaryDirectory() as folder:
        packed = subprocess.run(["npm", "pack", f"{PLOTLY_PACKAGE}@{version}", "--json"],
                                cwd=folder, check=True, capture_output=True, text=True)
        tarball = pathlib.Path(folder) / json.loads(packed.stdout)[0]["filename"]
        if _integrity(tarball) != INTEGRITY[version]:
            raise SystemExit(f"{tarball.name}: integrity differs from the pinned one")
        with tarfile.open(tarball) as archive:
            member = archive.extractfile(f"package/{PLOTLY_FILE}")
            target.write_bytes(member.read())


def main() -> None:
    VENDOR.mkdir(exist_ok=True)
    version = get_plotlyjs_version()
    target = VENDOR / PLOTLY_FILE
    if not target.exists() or bundle_version(target) != version:
        fetch_plotly(version, target)
    if bundle_version(target) != version:
        raise SystemExit(f"{target} is not plotly.js {version}")
    # The full bundle of earlier builds is no longer served.
    (VENDOR / "plotly.min.js").unlink(missing_ok=True)
    print(f"vendored {target.relative_to(ROOT)}: plotly.js {version} basic bundle, for plotly "
          f"{plotly.__version__} ({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
