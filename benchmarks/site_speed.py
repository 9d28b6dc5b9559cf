"""How fast a reader sees each numbered chapter, on a first and on a second visit.

The built site (``_build/html``, or ``--site DIR``) is served on 127.0.0.1 as a static host
serves it: text files gzip-compressed, with ``Cache-Control: max-age=600`` and ``ETag`` (what
GitHub Pages sends). Debian's chromium opens each chapter in a fresh browser profile with the
network throttled through the DevTools protocol to 9 Mbit/s down and up and 70 ms latency per
request (a good 4G link); the CPU is not throttled. For each chapter it records

* first contentful paint (the browser's ``first-contentful-paint`` entry);
* ready: the time from navigation until MathJax's first typesetting pass has finished (on a
  page that loads MathJax) and every Plotly figure is drawn (an ``svg.main-svg`` in each
  ``.plotly-graph-div``), checked at every animation frame by a script installed before the
  page loads;
* every formula typeset: when no formula is left for MathJax's lazy typesetting (the same
  as ready on a page that typesets everything in its first pass);
* transferred: the bytes received (compressed, headers included) until the network is idle;
* warm ready: the same page opened again in the same profile (cached files, no revalidation
  within ``max-age``).

Targets (issue 14): first contentful paint under 1.5 s, ready under 3 s, under 1.5 MB
transferred, warm ready under 1 s. ``--write`` replaces the block in ``benchmarks/README.md``.
Run it under the shared lock, after ``make book``:
``flock /work/coord/heavy.lock .venv/bin/python benchmarks/site_speed.py --write``.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import http.server
import os
import statistics
import threading
from email.utils import formatdate
from pathlib import Path

import record
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-quic"]
#: 9 Mbit/s and 70 ms, as DevTools' throttling expresses them (bytes per second, ms).
NETWORK = {"offline": False, "latency": 70, "downloadThroughput": 9e6 / 8,
           "uploadThroughput": 9e6 / 8}
TARGETS = {"fcp": 1.5, "ready": 3.0, "megabytes": 1.5, "warm": 1.0}
COMPRESSED_TYPES = (".html", ".js", ".css", ".json", ".svg", ".txt", ".map", ".ttf", ".ipynb",
                    ".md")
MAX_AGE = 600

#: Installed before any page script: marks the moment the page is ready (see the docstring).
READY_PROBE = """
(() => {
  function ready() {
    if (document.readyState === 'loading') return false;
    const wantsMath = document.querySelector("script[src*='mathjax']");
    if (wantsMath && !window.__srlmMathDone) {
      if (window.MathJax && MathJax.startup && MathJax.startup.promise && !window.__srlmMathWait) {
        window.__srlmMathWait = true;
        MathJax.startup.promise.then(() => { window.__srlmMathDone = true; });
      }
      return false;
    }
    for (const gd of document.querySelectorAll('.plotly-graph-div')) {
      if (!gd.querySelector('svg.main-svg')) return false;
    }
    return true;
  }
  function allMath() {
    if (!document.querySelector('mjx-lazy')) { window.__srlmAllMath = performance.now(); return; }
    requestAnimationFrame(allMath);
  }
  function check() {
    if (ready()) { window.__srlmReady = performance.now(); allMath(); return; }
    requestAnimationFrame(check);
  }
  requestAnimationFrame(check);
})();
"""


class StaticHostHandler(http.server.SimpleHTTPRequestHandler):
    """GET with gzip (when asked for) and the caching headers of a static host."""

    compressed: dict[Path, bytes] = {}

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass

    def do_GET(self):  # noqa: N802 - the base class's name
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        etag = '"' + hashlib.sha1(body).hexdigest() + '"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        encoding = None
        if path.suffix in COMPRESSED_TYPES and "gzip" in self.headers.get("Accept-Encoding", ""):
            if path not in self.compressed:
                self.compressed[path] = gzip.compress(body, compresslevel=6)
            body, encoding = self.compressed[path], "gzip"
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", f"max-age={MAX_AGE}")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(path.stat().st_mtime, usegmt=True))
        if encoding:
            self.send_header("Content-Encoding", encoding)
            self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        self.wfile.write(body)


def serve(site: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(StaticHostHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _visit(context, url: str) -> dict:
    """Open ``url`` in a new tab of ``context``, throttled; return its timings and bytes."""
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    received: dict[str, float] = {}
    pending: set[str] = set()
    cdp.on("Network.requestWillBeSent", lambda event: pending.add(event["requestId"]))
    cdp.on("Network.loadingFailed", lambda event: pending.discard(event["requestId"]))

    def finished(event):
        pending.discard(event["requestId"])
        received[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.loadingFinished", finished)
    page.goto(url, wait_until="load", timeout=120_000)
    page.wait_for_function("() => window.__srlmReady !== undefined", timeout=120_000,
                           polling=50)
    # Count what arrives after "ready" too (fonts, lazily loaded MathJax parts): wait until no
    # request has been open for half a second.
    quiet = 0
    for _ in range(600):
        page.wait_for_timeout(50)
        quiet = quiet + 50 if not pending else 0
        if quiet >= 500:
            break
    page.wait_for_function("() => window.__srlmAllMath !== undefined", timeout=60_000)
    timings = page.evaluate("""() => ({
        ready: window.__srlmReady, allMath: window.__srlmAllMath,
        fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime})""")
    page.close()
    return {"fcp": timings["fcp"] / 1000, "ready": timings["ready"] / 1000,
            "all_math": timings["allMath"] / 1000, "megabytes": sum(received.values()) / 1e6}


def measure(site: Path, pages: list[str]) -> list[dict]:
    server, base = serve(site)
    rows = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            for page in pages:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_init_script(READY_PROBE)
                cold = _visit(context, f"{base}/{page}")
                warm = _visit(context, f"{base}/{page}")
                context.close()
                rows.append({"page": page, **cold, "warm": warm["ready"],
                             "warm_megabytes": warm["megabytes"]})
                print(f"{page}: FCP {cold['fcp']:.2f} s, ready {cold['ready']:.2f} s "
                      f"(all math {cold['all_math']:.2f} s), "
                      f"{cold['megabytes']:.2f} MB; warm ready {warm['ready']:.2f} s "
                      f"({warm['megabytes'] * 1000:.0f} KB)", flush=True)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return rows


def chapters(site: Path) -> list[str]:
    """The numbered chapters: ``book/NN_*.html``."""
    return sorted(path.relative_to(site).as_posix() for path in (site / "book").glob("[0-9]*.html"))


def _range(rows: list[dict], key: str, digits: int = 1) -> str:
    values = [row[key] for row in rows]
    return f"{min(values):.{digits}f}–{max(values):.{digits}f}"


def report(rows: list[dict], label: str, load: tuple[float, float]) -> str:
    lines = [f"Machine: {record.machine()}. Load average (1 min) before and after the run: "
             f"{load[0]:.1f}, {load[1]:.1f} (other work on the machine shares its CPU).", "",
             f"{label}: each numbered chapter opened in a fresh chromium profile, network "
             "throttled to 9 Mbit/s and 70 ms per request, the site served gzip-compressed with "
             f"`Cache-Control: max-age={MAX_AGE}`; then opened again in the same profile (warm).",
             "", "| chapter | first contentful paint (s) | ready (s) | every formula typeset (s) "
             "| transferred (MB) | warm: ready (s) |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {Path(row['page']).stem} | {row['fcp']:.2f} | {row['ready']:.2f} | "
                     f"{row['all_math']:.2f} | {row['megabytes']:.2f} | {row['warm']:.2f} |")
    lines += ["", "| | every chapter | target | met |", "|---|---|---|---|"]
    names = {"fcp": "first contentful paint (s)", "ready": "ready (s)",
             "megabytes": "transferred, cold (MB)", "warm": "ready, warm (s)"}
    for key, name in names.items():
        worst = max(row[key] for row in rows)
        met = "yes" if worst < TARGETS[key] else f"**no** (worst {worst:.2f})"
        lines.append(f"| {name} | {_range(rows, key, 2)} | under {TARGETS[key]} | {met} |")
    lines.append(f"\nMedian ready, cold: {statistics.median(r['ready'] for r in rows):.2f} s.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--label", default="Built site")
    parser.add_argument("--pages", nargs="*", help="pages to measure (default: the chapters)")
    parser.add_argument("--write", action="store_true",
                        help="replace the site-speed block of benchmarks/README.md")
    args = parser.parse_args()
    pages = args.pages or chapters(args.site)
    if not pages:
        raise SystemExit(f"no numbered chapters in {args.site}/book: run `make book` first")
    load_before = os.getloadavg()[0]
    rows = measure(args.site, pages)
    text = report(rows, args.label, (load_before, os.getloadavg()[0]))
    print(text)
    if args.write:
        record.write_block("site-speed", "Site speed", text)


if __name__ == "__main__":
    main()
