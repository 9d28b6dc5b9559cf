"""Copy the JavaScript the site serves itself into _vendor/ (never loaded from a CDN).

plotly.min.js comes from the installed plotly wheel, so the figures' JSON and the library that
draws them always have matching versions.
"""

from __future__ import annotations

import pathlib
import shutil

import plotly

ROOT = pathlib.Path(__file__).resolve().parents[1]
VENDOR = ROOT / "_vendor"


def main() -> None:
    VENDOR.mkdir(exist_ok=True)
    source = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    target = VENDOR / "plotly.min.js"
    if not target.exists() or target.stat().st_size != source.stat().st_size:
        shutil.copyfile(source, target)
    print(f"vendored {target.relative_to(ROOT)} ({target.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
