"""Measure the built site: the size of every page, the shared assets, a full build from clean.

    python benchmarks/site_sizes.py            # sizes of the current _build/html
    python benchmarks/site_sizes.py --build    # first a full build from a clean clone (timed)
    python benchmarks/site_sizes.py --build --write   # and record it in benchmarks/README.md

A page's size is its HTML plus the images only it uses (``_images/``); the shared assets are
``_static/`` (theme, plotly.js, MathJax), downloaded once and cached by the browser. The clean
build clones the committed repository into a temporary folder and runs the same strict build as
``make book`` (assets, then ``tools/build_book.py . -W -n --keep-going``) with this checkout's
virtual environment, so nothing is reused from an earlier build. Targets (issue 4): under
300 KB per page, a full build under 5 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))

import record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE_LIMIT_KB = 300
BUILD_LIMIT_S = 300


def _kb(size: int) -> str:
    return f"{size / 1024:,.1f}"


def _tree_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def page_sizes(site: Path) -> list[tuple[str, int, int]]:
    """(page, html bytes, bytes of images under _images/ it references) for every page."""
    rows = []
    for page in sorted(site.rglob("*.html")):
        relative = page.relative_to(site)
        if relative.parts[0].startswith("_"):
            continue
        soup = BeautifulSoup(page.read_text(), "html.parser")
        images = 0
        for image in soup.find_all("img", src=True):
            target = (page.parent / image["src"].split("#")[0]).resolve()
            if "_images" in target.parts and target.is_file():
                images += target.stat().st_size
        rows.append((relative.as_posix(), page.stat().st_size, images))
    return rows


def shared_assets(site: Path) -> list[tuple[str, int]]:
    static = site / "_static"
    parts = [("_static/plotly-basic.min.js (loaded on figure pages)",
              (static / "plotly-basic.min.js").stat().st_size),
             ("_static/mathjax/ (whole MathJax 3 tree)", _tree_size(static / "mathjax")),
             ("_static/mathjax/tex-chtml.js (loaded on math pages)",
              (static / "mathjax" / "tex-chtml.js").stat().st_size)]
    parts.append(("_static/ (everything shared)", _tree_size(static)))
    return parts


def clean_build(workdir: Path) -> tuple[float, Path]:
    """Clone the committed repository into ``workdir`` and build it from clean.

    Returns the wall time of assets + build, and the built html folder.
    """
    clone = workdir / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    binaries = Path(sys.executable).parent
    environment = {**os.environ, "PATH": f"{binaries}{os.pathsep}{os.environ['PATH']}"}
    started = time.perf_counter()
    subprocess.run([sys.executable, "tools/vendor_assets.py"], cwd=clone, check=True,
                   env=environment)
    # As `make book` does: pages executed two at a time, JAX's compilation cache in .jax-cache
    # (empty in a fresh clone, so this times a first build).
    cache = {"JAX_COMPILATION_CACHE_DIR": str(clone / ".jax-cache"),
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
             "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
    subprocess.run([sys.executable, "tools/build_book.py", ".", "-W", "-n", "--keep-going"],
                   cwd=clone, check=True, env=environment | cache, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started, clone / "_build" / "html"


def report(site: Path, build_seconds: float | None) -> str:
    rows = page_sizes(site)
    lines = [f"Machine: {record.machine()}.", ""]
    if build_seconds is not None:
        verdict = "within" if build_seconds < BUILD_LIMIT_S else "OVER"
        lines += [f"Full build from a clean clone (assets + strict build, every chapter "
                  f"executed): **{build_seconds:.0f} s** ({verdict} the {BUILD_LIMIT_S} s "
                  "target).", ""]
    lines += ["| page | HTML (KB) | own images (KB) | total (KB) | under 300 KB |",
              "|---|---:|---:|---:|---|"]
    for page, html, images in rows:
        total = html + images
        lines.append(f"| `{page}` | {_kb(html)} | {_kb(images)} | {_kb(total)} | "
                     f"{'yes' if total < PAGE_LIMIT_KB * 1024 else '**no**'} |")
    lines += ["", "| shared asset (downloaded once, cached) | KB |", "|---|---:|"]
    lines += [f"| `{name}` | {_kb(size)} |" for name, size in shared_assets(site)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="time a full build from clean")
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    arguments = parser.parse_args()
    if arguments.build:
        with tempfile.TemporaryDirectory(prefix="srlm-site-build-") as workdir:
            seconds, site = clean_build(Path(workdir))
            text = report(site, seconds)
    else:
        site = ROOT / "_build" / "html"
        if not site.is_dir():
            print("no built site: run `make book` first (or pass --build)", file=sys.stderr)
            return 1
        text = report(site, None)
    print(text)
    if arguments.write:
        record.write_block("site-measurements", "Site", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
