"""Browser tests of the built website (``_build/html``) in Debian's chromium, with no network.

The site is served on 127.0.0.1; every request to any other host is aborted and recorded, and a
page fails if it made one. Pages are discovered from the built site, so a new chapter is tested
as soon as it is in the table of contents. Run after ``make book``; ``make browser`` (via
``tools/run_browser_tests.py``) runs them when chromium is installed.

For every Plotly figure with sliders, every step of every slider is clicked (with the other
sliders where they are, so combinations are exercised), then a few random combinations are set,
and after each move the plotted data are compared with the grid embedded in the page *and* with
the values of the experiment, recomputed here in Python by the kit.
"""

from __future__ import annotations

import functools
import http.server
import itertools
import json
import math
import os
import random
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
# SRLM_SITE_DIR tests a build made elsewhere (e.g. --path-output /tmp/x gives /tmp/x/_build/html).
SITE = Path(os.environ.get("SRLM_SITE_DIR", ROOT / "_build" / "html"))
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run",
               "--disable-quic"]
LOCAL_HOST = "127.0.0.1"

#: Console messages (page errors included) that are not failures, each with why it is harmless.
ALLOWED_CONSOLE = {
    # sphinx-thebe's script declares `const THEBE_JS_URL` and is included twice on every Jupyter
    # Book 1 page; the second declaration throws. Thebe is switched off (launch_buttons.thebe:
    # false) and nothing on the page uses it.
    "Identifier 'THEBE_JS_URL' has already been declared",
}

#: Relative tolerance between a plotted value and the kit's: grids are rounded to 4
#: significant digits, so the rounding error is at most half a unit in the 4th digit.
RELATIVE_TOLERANCE = 5.0001e-4


def _pages() -> list[str]:
    if not SITE.is_dir():
        return []
    return sorted(path.relative_to(SITE).as_posix() for path in SITE.rglob("*.html")
                  if not path.relative_to(SITE).parts[0].startswith("_"))


PAGES = _pages()
FIGURE_PAGES = [page for page in PAGES if "plotly-graph-div" in (SITE / page).read_text()]


def test_site_is_built():
    assert SITE.joinpath("index.html").is_file(), "no built site: run `make book` first"
    assert "book/intro.html" in PAGES


# --------------------------------------------------------------------------------------------
# Fixtures: a local server and chromium
# --------------------------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="session")
def site_url():
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer((LOCAL_HOST, 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://{LOCAL_HOST}:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        message = f"{CHROMIUM} not found (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield browser
    browser.close()
    playwright.stop()


class Visit:
    """A page opened in chromium, with everything it asked for recorded."""

    def __init__(self, browser, url: str):
        self.external: list[str] = []
        self.console: list[str] = []
        self.failed: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.page.route("**/*", self._route)
        self.page.on("console", lambda message: self.console.append(message.text)
                     if message.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda error: self.console.append(str(error.message)))
        self.page.on("response", lambda response: self.failed.append(
            f"{response.status} {response.url}") if response.status >= 400 else None)
        self.page.on("requestfailed", lambda request: None if urlsplit(
            request.url).hostname != LOCAL_HOST else self.failed.append(
            f"failed {request.url}"))
        self.page.goto(url, wait_until="networkidle")
        self.mathjax_ready = None  # None: the page does not load MathJax
        if self.page.locator("script[src*='mathjax']").count():
            # MathJax typesets after the page has loaded; wait until its first pass is done.
            try:
                self.page.wait_for_function(
                    "() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                    timeout=10_000)
                self.page.evaluate("() => MathJax.startup.promise.then(() => true)")
                self.mathjax_ready = True
            except PlaywrightTimeoutError:
                self.mathjax_ready = False

    def _route(self, route):
        if urlsplit(route.request.url).hostname == LOCAL_HOST:
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def close(self):
        self.page.close()


@pytest.fixture(scope="module")
def loaded(request, chromium, site_url):
    """One page, opened once for the read-only checks of that page (tests are grouped by page)."""
    opened = Visit(chromium, f"{site_url}/{request.param}")
    yield opened
    opened.close()


@pytest.fixture
def visit(chromium, site_url):
    """Open pages afresh (for tests that move sliders)."""
    opened = []

    def open_page(page: str) -> Visit:
        opened.append(Visit(chromium, f"{site_url}/{page}"))
        return opened[-1]

    yield open_page
    for item in opened:
        item.close()


def _on_one_worker(pages) -> list:
    """``pages`` as parameters that keep each page's checks together: ``make browser`` runs two
    pytest-xdist workers with ``--dist loadgroup``, and a page's group goes to one worker, which
    opens the page once (``loaded``) and computes its experiments once (``_experiment``)."""
    return [pytest.param(page, marks=pytest.mark.xdist_group(page)) for page in pages]


def _by_page(pages):
    return pytest.mark.parametrize("loaded", _on_one_worker(pages), indirect=True,
                                   scope="module")


# --------------------------------------------------------------------------------------------
# Every page
# --------------------------------------------------------------------------------------------


@_by_page(PAGES)
def test_page_loads_offline_without_errors(loaded):
    opened = loaded
    assert opened.external == [], f"requests to other hosts: {opened.external}"
    unexpected = [text for text in opened.console
                  if not any(allowed in text for allowed in ALLOWED_CONSOLE)]
    assert unexpected == [], f"console errors or warnings: {unexpected}"
    assert opened.failed == [], f"missing or failed local resources: {opened.failed}"


def _typeset_everything(page) -> None:
    """Scroll through the page, a screen at a time, so that MathJax's lazy typesetting (which
    typesets formulas as they come near the screen) reaches every formula; wait until it has."""
    page.evaluate("""async () => {
        const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
        for (let y = 0; y <= document.documentElement.scrollHeight; y += window.innerHeight) {
            window.scrollTo(0, y);
            await frame(); await frame();
        }
        window.scrollTo(0, 0);
    }""")
    page.wait_for_function("() => !document.querySelector('mjx-lazy')", timeout=20_000)


@_by_page(PAGES)
def test_math_is_rendered(loaded):
    opened = loaded
    assert opened.mathjax_ready is not False, "MathJax did not start (is it served?)"
    if opened.mathjax_ready:
        _typeset_everything(opened.page)
    state = opened.page.evaluate("""() => ({
        math: document.querySelectorAll('.math').length,
        unrendered: Array.from(document.querySelectorAll('.math'))
            .filter(node => !node.querySelector('mjx-container mjx-math'))
            .map(node => node.textContent),
        containers: document.querySelectorAll('mjx-container').length,
        text: document.body.innerText})""")
    assert state["unrendered"] == [], f"math left as raw TeX: {state['unrendered'][:3]}"
    assert state["containers"] >= state["math"]
    for raw in ("$$", "\\(", "\\["):
        assert raw not in state["text"], f"raw TeX delimiter {raw!r} visible on the page"


#: axe-core impacts that fail a page (the other two, "moderate" and "minor", are reported only).
FAILING_IMPACTS = ("serious", "critical")


@_by_page(PAGES)
def test_no_serious_accessibility_violations(loaded):
    """axe-core (bundled with axe-playwright-python, injected into the page: nothing fetched)
    with its default rules: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(loaded.page).response["violations"]
    failing = [f"{item['id']} ({item['impact']}, {len(item['nodes'])} nodes, e.g. "
               f"{item['nodes'][0]['target']}): {item['help']}"
               for item in violations if item["impact"] in FAILING_IMPACTS]
    assert failing == [], "\n".join(failing)


def test_search_finds_the_chapters(visit):
    """The search index is loaded by the search page (and only there): a query finds pages."""
    opened = visit("search.html?q=condition+number")
    opened.page.wait_for_selector("#search-results li", timeout=20_000)
    found = opened.page.locator("#search-results li a").evaluate_all(
        "(links) => links.map(link => link.getAttribute('href'))")
    assert any(link.startswith("book/0") for link in found), found


def test_math_pages_exist():
    """The math checks above exercise something: some page has math."""
    assert any('class="math' in (SITE / page).read_text() for page in PAGES)


@_by_page(FIGURE_PAGES)
def test_figures_render_with_text_alternative_and_caption(loaded):
    opened = loaded
    figures = opened.page.evaluate("""() => Array.from(
        document.querySelectorAll('.js-plotly-plot')).map(gd => {
          const described = gd.closest('[aria-describedby]');
          const description = described &&
              document.getElementById(described.getAttribute('aria-describedby'));
          const figure = gd.closest('figure');
          const caption = figure && figure.querySelector('figcaption');
          return {id: gd.id, laidOut: !!gd._fullLayout,
                  svg: gd.querySelectorAll('svg.main-svg').length,
                  traces: gd.data.length,
                  drawn: gd.querySelectorAll('.plot .trace, .scatterlayer .trace').length,
                  description: description ? description.textContent.trim() : '',
                  caption: caption ? caption.textContent.trim() : ''};
        })""")
    assert figures, "a figure page with no rendered Plotly figure"
    for figure in figures:
        assert figure["laidOut"] and figure["svg"] >= 1, f"{figure['id']} did not render"
        assert figure["drawn"] >= figure["traces"], f"{figure['id']}: traces not drawn"
        assert len(figure["description"]) >= 40, f"{figure['id']}: no text alternative"
        assert len(figure["caption"]) >= 20, f"{figure['id']}: no caption"


# --------------------------------------------------------------------------------------------
# Sliders show exactly the kit's values
# --------------------------------------------------------------------------------------------


@functools.cache
def _experiment(name: str, kwargs_json: str):
    from srlm_kit.experiments import EXPERIMENTS

    return EXPERIMENTS[name](**json.loads(kwargs_json))


def _close(shown, expected) -> bool:
    if shown is None:
        return not math.isfinite(expected)
    return abs(shown - expected) <= RELATIVE_TOLERANCE * abs(expected) + 1e-12


def _figure_state(page, div_id: str) -> dict:
    return page.evaluate("""(id) => { const gd = document.getElementById(id);
        return {active: gd.layout.sliders.map(s => s.active || 0),
                y: gd.data.map(t => Array.from(t.y)), x: gd.data.map(t => Array.from(t.x))}; }""",
                         div_id)


def _move_slider(page, div_id: str, slider: int, step: int) -> None:
    """Click the label of ``step`` on slider number ``slider``, as a reader would."""
    locator = page.locator(f"#{div_id}")
    locator.scroll_into_view_if_needed()
    target = page.evaluate("""([id, k, j]) => {
        const group = document.getElementById(id).querySelectorAll('.slider-group')[k];
        const rail = group.querySelector('.slider-rail-touch-rect').getBoundingClientRect();
        const labels = group.querySelectorAll('.slider-label-group text');
        const box = labels[j].getBoundingClientRect();
        return {x: box.x + box.width / 2, y: rail.y + rail.height / 2, labels: labels.length};
    }""", [div_id, slider, step])
    page.mouse.click(target["x"], target["y"])
    page.wait_for_function(
        "([id, k, j]) => document.getElementById(id).layout.sliders[k].active === j",
        arg=[div_id, slider, step], timeout=5000)
    page.evaluate("() => new Promise(resolve => requestAnimationFrame(() => resolve()))")


def _check_setting(page, figure: dict, result, grid: dict) -> None:
    state = _figure_state(page, figure["id"])
    meta = figure["meta"]
    setting = {dim: json.loads(figure["steps"][k][state["active"][k]])
               for k, dim in enumerate(meta["sliders"])}
    # 1. what is plotted is what the page's grid holds for this combination of sliders
    for trace in grid["traces"]:
        values = trace["y"]
        for dim_index in trace["dims"]:
            values = values[state["active"][dim_index]]
        assert state["y"][trace["index"]] == values, (figure["id"], setting, trace["index"])
    # 2. ... and it is what the kit computes for that setting
    from srlm_kit.figures import expected_traces

    expected = expected_traces(result, meta, figure["trace_metas"], setting)
    assert set(expected) >= {trace["index"] for trace in grid["traces"]}
    for index, values in expected.items():
        shown = state["y"][index]
        assert len(shown) == len(values)
        bad = [(position, shown_value, value) for position, (shown_value, value)
               in enumerate(zip(shown, values, strict=True)) if not _close(shown_value, value)]
        assert not bad, f"{figure['id']} at {setting}, trace {index}: (i, shown, kit) {bad[:4]}"
        assert state["x"][index] == result[meta["x"]].values.tolist()


@pytest.mark.parametrize("page", _on_one_worker(FIGURE_PAGES))
def test_sliders_show_the_kits_values(visit, page):
    opened = visit(page)
    figures = opened.page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(gd => (gd.layout.sliders || []).length > 0)
        .map(gd => ({id: gd.id, meta: gd.layout.meta && gd.layout.meta.srlm,
                     trace_metas: gd.data.map(t => t.meta || null),
                     steps: gd.layout.sliders.map(s => s.steps.map(step => step.value)),
                     grid: (document.getElementById(gd.id + '-grid') || {}).textContent}))""")
    rng = random.Random(0)
    for figure in figures:
        meta = figure["meta"]
        assert meta and meta.get("experiment"), (
            f"{figure['id']} has sliders but does not name the experiment behind its numbers "
            "(pass experiment= and kwargs= to srlm_kit.figures.grid_figure)")
        assert figure["grid"], f"{figure['id']}: no embedded grid"
        grid = json.loads(figure["grid"])
        result = _experiment(meta["experiment"], json.dumps(meta["kwargs"], sort_keys=True))
        _check_setting(opened.page, figure, result, grid)
        before = _figure_state(opened.page, figure["id"])["y"]
        moved_data = False
        for slider, steps in enumerate(figure["steps"]):
            for step in reversed(range(len(steps))):
                _move_slider(opened.page, figure["id"], slider, step)
                _check_setting(opened.page, figure, result, grid)
                moved_data |= _figure_state(opened.page, figure["id"])["y"] != before
        for _ in range(5):
            for slider, steps in enumerate(figure["steps"]):
                _move_slider(opened.page, figure["id"], slider, rng.randrange(len(steps)))
            _check_setting(opened.page, figure, result, grid)
        assert moved_data, f"{figure['id']}: no slider changed the plotted data"


def _slider_figures(page) -> list[dict]:
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(gd => (gd.layout.sliders || []).length > 0)
        .map(gd => ({id: gd.id, meta: gd.layout.meta && gd.layout.meta.srlm,
                     trace_metas: gd.data.map(t => t.meta || null),
                     steps: gd.layout.sliders.map(s => s.steps.map(step => step.value)),
                     labels: gd.layout.sliders.map(s => s.steps.map(step => step.label)),
                     prefixes: gd.layout.sliders.map(s => s.currentvalue.prefix),
                     grid: (document.getElementById(gd.id + '-grid') || {}).textContent}))""")


def _tab_to(page, element_id: str, limit: int = 500) -> int:
    """Press Tab until ``element_id`` has the focus; return how many presses it took."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            return presses
    raise AssertionError(f"#{element_id} not reached with {limit} presses of Tab")


SLIDER_PAGES = [page for page in FIGURE_PAGES if "srlm-slider-key" in (SITE / page).read_text()]


@pytest.mark.parametrize("page", _on_one_worker(SLIDER_PAGES))
def test_sliders_work_from_the_keyboard(visit, page):
    """Every slider of every figure: reached with Tab, a visible focus ring over the Plotly
    slider, moved with the arrow keys, Home and End, its value announced, and the curves shown
    those of the grid and of the kit for every position."""
    opened = visit(page)
    figures = _slider_figures(opened.page)
    assert figures
    opened.page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for figure in figures:
        grid = json.loads(figure["grid"])
        result = _experiment(figure["meta"]["experiment"],
                             json.dumps(figure["meta"]["kwargs"], sort_keys=True))
        for slider, steps in enumerate(figure["steps"]):
            key_id = f"{figure['id']}-slider-{slider}"
            _tab_to(opened.page, key_id)
            box = opened.page.evaluate("""([key, id, k]) => {
                const el = document.getElementById(key), style = getComputedStyle(el);
                const rail = document.getElementById(id).querySelectorAll('.slider-group')[k]
                    .querySelector('.slider-rail-touch-rect').getBoundingClientRect();
                const r = el.getBoundingClientRect();
                return {outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                        overlap: Math.min(r.right, rail.right) - Math.max(r.left, rail.left),
                        railWidth: rail.width};
            }""", [key_id, figure["id"], slider])
            assert box["outline"] != "none" and box["width"] >= 2, f"{key_id}: no focus ring"
            assert box["overlap"] >= 0.9 * box["railWidth"], f"{key_id}: not over its slider"
            last = len(steps) - 1
            presses = [("Home", 0), *[("ArrowRight", j) for j in range(1, last + 1)],
                       ("ArrowRight", last), ("ArrowLeft", max(last - 1, 0)), ("End", last),
                       ("Home", 0)]
            for key, position in presses:
                opened.page.keyboard.press(key)
                # The announced value changes in the same script that restyles the curves.
                announced = figure["prefixes"][slider] + figure["labels"][slider][position]
                opened.page.wait_for_function(
                    """([id, k, j, key, text]) =>
                        document.getElementById(id).layout.sliders[k].active === j &&
                        document.getElementById(key).getAttribute('aria-valuetext') === text""",
                    arg=[figure["id"], slider, position, key_id, announced], timeout=5000)
                _check_setting(opened.page, figure, result, grid)


def test_gallery_has_composed_slider_figures():
    """The slider tests above exercise something: the gallery has figures with 3 sliders."""
    html = (SITE / "book/appendix/figure_gallery.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    grids = soup.select('script[type="application/json"][id$="-grid"]')
    assert len(grids) == 2
    for grid in grids:
        traces = json.loads(grid.string)["traces"]
        assert max(len(trace["dims"]) for trace in traces) == 3


# --------------------------------------------------------------------------------------------
# The built files: links, assets, no third-party hosts, no widgets
# --------------------------------------------------------------------------------------------


def _local_target(page: str, reference: str) -> tuple[Path, str] | None:
    parts = urlsplit(reference)
    if parts.scheme or parts.netloc or reference.startswith(("mailto:", "javascript:")):
        return None
    base = (SITE / page).parent
    path = (base / unquote(parts.path)).resolve() if parts.path else (SITE / page).resolve()
    if path.is_dir():
        path = path / "index.html"
    return path, parts.fragment


@functools.cache
def _ids(path: Path) -> frozenset[str]:
    soup = BeautifulSoup(path.read_text(), "html.parser")
    return frozenset(node["id"] for node in soup.select("[id]")) | frozenset(
        node["name"] for node in soup.select("a[name]"))


@pytest.mark.parametrize("page", PAGES)
def test_internal_links_and_assets_resolve(page):
    soup = BeautifulSoup((SITE / page).read_text(), "html.parser")
    broken = []
    for tag, attribute in (("a", "href"), ("img", "src"), ("link", "href"), ("script", "src")):
        for node in soup.find_all(tag):
            reference = node.get(attribute)
            if not reference:
                continue
            target = _local_target(page, reference)
            if target is None:
                continue
            path, fragment = target
            if not path.is_file():
                broken.append(reference)
            elif fragment and path.suffix == ".html" and fragment not in _ids(path):
                broken.append(reference)
    assert broken == [], f"{page}: broken internal references {broken}"


@pytest.mark.parametrize("page", PAGES)
def test_no_dead_widgets_and_no_inlined_libraries(page):
    html = (SITE / page).read_text()
    assert "application/vnd.jupyter.widget-state+json" not in html
    assert "application/vnd.jupyter.widget-view+json" not in html
    assert "cdn.jsdelivr.net" not in html and "cdnjs.cloudflare.com" not in html
    assert "plotly.js v" not in html, "plotly.js inlined in the page"
    soup = BeautifulSoup(html, "html.parser")
    plotly_scripts = [node for node in soup.find_all("script", src=True)
                      if "plotly" in node["src"]]
    # Only pages with a figure load plotly.js, once, from the site itself, deferred.
    if "plotly-graph-div" in html:
        assert len(plotly_scripts) == 1
        assert "_static/plotly-basic.min.js" in plotly_scripts[0]["src"]
        assert plotly_scripts[0].has_attr("defer")
    else:
        assert plotly_scripts == []


@pytest.mark.parametrize("page", PAGES)
def test_head_loads_no_large_script_before_the_first_paint(page):
    """The 1.5 MB fontawesome.js and the search index are not in an ordinary page's head; every
    script of the head larger than 50 KB is deferred or async (except on the search page,
    which cannot search before it has its index)."""
    soup = BeautifulSoup((SITE / page).read_text(), "html.parser")
    sources = [node["src"] for node in soup.find_all("script", src=True)]
    assert not any("fontawesome" in source for source in sources)
    assert any("searchindex.js" in source for source in sources) == (page == "search.html")
    if page == "search.html" or soup.head is None:
        return
    for node in soup.head.find_all("script", src=True):
        target = _local_target(page, node["src"])
        if target and target[0].is_file() and target[0].stat().st_size > 50_000:
            assert node.has_attr("defer") or node.has_attr("async"), node["src"]


def test_served_plotly_is_the_basic_bundle_of_the_installed_plotly():
    """The partial bundle's version is the one the installed plotly.py writes figures for."""
    from plotly.offline import get_plotlyjs_version

    served = (SITE / "_static" / "plotly-basic.min.js").read_bytes()[:400].decode()
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in served
    assert not (SITE / "_static" / "plotly.min.js").exists()


def test_mathjax_is_served_by_the_site():
    mathjax = SITE / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.is_file()
    html = (SITE / "book/appendix/figure_gallery.html").read_text()
    assert "_static/mathjax/tex-chtml.js" in html


def _repository() -> tuple[str, str]:
    """Repository URL and branch, as ``_config.yml`` sets them (the one place they are set)."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = os.environ.get("BOOK_REPOSITORY_URL") or config["repository"]["url"]
    return url, config["repository"].get("branch", "main")


def test_notebook_pages_have_binder_and_download_buttons():
    html = (SITE / "book/appendix/figure_gallery.html").read_text()
    url, branch = _repository()
    owner_and_name = url.removeprefix("https://github.com/")
    # The button opens the reader's notebook that postBuild makes (tools/binder_launch.py).
    assert (f"https://mybinder.org/v2/gh/{owner_and_name}/{branch}"
            "?urlpath=lab/tree/notebooks/appendix/figure_gallery.ipynb") in html
    for download in ("_sources/book/appendix/figure_gallery.ipynb",
                     "_sources/book/appendix/figure_gallery.md"):
        assert download in html
        assert (SITE / download).is_file()
    notebook = json.loads((SITE / "_sources/book/appendix/figure_gallery.ipynb").read_text())
    assert "widgets" not in notebook["metadata"], "saved widget state left in the download"

# --------------------------------------------------------------------------------------------
# Every slider of every static figure changes what is drawn. For each figure with sliders, each
# slider is moved through all of its steps, as a reader would, with the other sliders first where
# the page puts them; if the drawn data never change, the other sliders are set to each of their
# other combinations in turn and the slider is moved again. A slider passes as soon as one setting
# of the others shows a change; it fails if none does (a control that does nothing).
# --------------------------------------------------------------------------------------------


def _drawn(page, div_id: str) -> list:
    return _figure_state(page, div_id)["y"]


def _slider_changes_data(page, div_id: str, slider: int, steps: list[int]) -> bool:
    """Move ``slider`` through every step from where it is; whether any drawn value changed."""
    before = _drawn(page, div_id)
    for step in steps:
        _move_slider(page, div_id, slider, step)
        if _drawn(page, div_id) != before:
            return True
    return False


@pytest.mark.parametrize("page", _on_one_worker(FIGURE_PAGES))
def test_every_slider_changes_the_drawn_data(visit, page):
    opened = visit(page)
    figures = opened.page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(gd => (gd.layout.sliders || []).length > 0)
        .map(gd => ({id: gd.id, counts: gd.layout.sliders.map(s => s.steps.length),
                     active: gd.layout.sliders.map(s => s.active || 0)}))""")
    for figure in figures:
        counts, start = figure["counts"], figure["active"]
        for slider, count in enumerate(counts):
            others = [index for index in range(len(counts)) if index != slider]
            # The page's own setting of the other sliders first, then every other combination.
            settings = [tuple(start[index] for index in others)]
            settings += [combination for combination in itertools.product(
                *[range(counts[index]) for index in others]) if combination != settings[0]]
            moved = False
            for combination in settings:
                for index, step in zip(others, combination, strict=True):
                    _move_slider(opened.page, figure["id"], index, step)
                if _slider_changes_data(opened.page, figure["id"], slider, list(range(count))):
                    moved = True
                    break
            assert moved, (f"{page}, {figure['id']}: slider {slider} changes nothing drawn, "
                           "for every setting of the other sliders")
