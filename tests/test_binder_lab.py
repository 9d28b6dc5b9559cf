"""Binder as a reader meets it: a fresh environment, a real JupyterLab, chapters 2 and 5.

The environment is built the way repo2docker builds this repository: a fresh Python 3.11 venv,
``pip install -r requirements.txt`` (which pins the JupyterLab and Notebook that repo2docker
adds), then ``postBuild``, in a copy of the repository. A JupyterLab server is started in it
and chromium opens each chapter through the launch URL of the built site (``_build/html``), runs
every cell and checks what a reader sees: no error, theorems rendered as theorems, no glue key or
raw MyST role, no visible cell with an ``assert``; on chapter 5, that a key press on one of the
explorer's sliders redraws its plot (timed). Opening, running and saving must leave the
chapters' sources unchanged.

Two departures from Binder, both to keep the test short: ``postBuild`` makes the notebooks of
these two chapters only (``SRLM_NOTEBOOK_PAGES``), and JupyterLab renders every cell of a
notebook (``windowingMode: none``) so that the page's text can be read in full. pip's cache is
used. Timings are printed and written to ``_build/binder_lab.json``; benchmarks/README.md
records them.
"""

from __future__ import annotations

import html
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.binder

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SRLM_SITE_DIR", ROOT / "_build" / "html"))
CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run"]
CHAPTERS = ("02_setup", "05_iterative_bound")
# A role, a directive option, a target line ("(sec-label)=": the book's labels are hyphenated,
# which tells them from rendered math such as "f(x)=").
RAW_ROLE = re.compile(r"\{[a-z]+(?::[a-z-]+)?\}`|^:label:|^\([\w-]+-[\w-]+\)=\s*$", re.MULTILINE)
RESULTS = ROOT / "_build" / "binder_lab.json"
KEY_PRESSES = ("ArrowLeft", "ArrowLeft", "ArrowLeft", "ArrowRight", "ArrowRight", "ArrowRight")


def _needs(condition: bool, message: str) -> None:
    if not condition:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def _run(command: list[str], **options) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, **options)
    return time.perf_counter() - began


def _size(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*")
               if entry.is_file() and not entry.is_symlink())


def _copy_repository(target: Path) -> None:
    """The repository as a clone has it (tracked and new, not ignored, files)."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    _needs(os.path.exists(CHROMIUM) or bool(shutil.which("chromium")),
           f"{CHROMIUM} not found (apt-get install chromium)")
    _needs((SITE / "book" / f"{CHAPTERS[0]}.html").is_file(),
           f"no built site in {SITE}: run `make book` first")
    python = shutil.which("python3.11")
    _needs(python is not None, "python3.11 not found (Binder uses runtime.txt: python-3.11)")
    work = tmp_path_factory.mktemp("binder")
    repo, venv = work / "repo", work / "venv"
    _copy_repository(repo)
    sources = {path: path.read_bytes() for path in (repo / "book").rglob("*.md")}
    env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_DIR": str(work / "config"), "JUPYTER_RUNTIME_DIR": str(work / "run"),
           "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
           "OPENBLAS_NUM_THREADS": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("VIRTUAL_ENV", None)
    env.pop("SRLM_STATIC_SITE", None)
    timings = {}
    reuse = os.environ.get("SRLM_BINDER_VENV")  # for developing this test: an existing venv
    if reuse:
        venv = Path(reuse)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}"
    else:
        timings["install_s"] = round(_run([python, "-m", "venv", str(venv)]) + _run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "-r",
             "requirements.txt"], cwd=repo, env=env), 1)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "check"], cwd=repo, env=env,
                   check=True)
    timings["environment_bytes"] = _size(venv)
    pages = " ".join(f"book/{chapter}.md" for chapter in CHAPTERS)
    timings["postbuild_s"] = round(_run(["bash", "postBuild"], cwd=repo,
                                        env={**env, "SRLM_NOTEBOOK_PAGES": pages}), 1)
    # Every cell in the page (JupyterLab's default draws only those near the viewport).
    settings = work / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))

    token, port = secrets.token_hex(16), _free_port()
    log = (work / "lab.log").open("w")
    server = subprocess.Popen(
        [str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={repo}",
         # --allow-root: CI containers run as root (Binder does not)
         "--LabApp.expose_app_in_browser=True", "--allow-root"], cwd=repo, env=env,
        stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.terminate()
        pytest.fail(f"JupyterLab did not start: {(work / 'lab.log').read_text()[-2000:]}")

    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    yield {"browser": browser, "base": base, "token": token, "repo": repo,
           "sources": sources, "timings": timings}
    browser.close()
    playwright.stop()
    server.terminate()
    server.wait(timeout=30)
    log.close()
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(timings, indent=1))
    print("\nBinder-like environment:", json.dumps(timings, indent=1))


def launch_urlpath(chapter: str) -> str:
    """The ``urlpath`` of the chapter's Binder button on the built site."""
    page = (SITE / "book" / f"{chapter}.html").read_text()
    links = [html.unescape(url) for url in re.findall(r'href="(https://mybinder\.org/[^"]+)"',
                                                      page)]
    assert links, f"no Binder launch button on {chapter}.html"
    urlpath = re.search(r"[?&]urlpath=([^&#]+)", links[0]).group(1)
    assert urlpath == f"lab/tree/notebooks/{chapter}.ipynb", urlpath
    return urlpath


# JavaScript run in JupyterLab (exposed as window.jupyterapp by expose_app_in_browser).
RUN_ALL = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  await panel.context.ready;
  await panel.sessionContext.ready;
  await app.commands.execute('notebook:run-all-cells');
}"""
STATE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const cells = panel.content.model.cells;
  const session = panel.sessionContext.session;
  const out = {busy: !session || !session.kernel || session.kernel.status !== 'idle',
               unrun: 0, errors: [], code: 0};
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type !== 'code') continue;
    out.code += 1;
    if (cell.executionCount === null) out.unrun += 1;
    for (const output of cell.toJSON().outputs) {
      if (output.output_type === 'error') out.errors.push(output.ename + ': ' + output.evalue);
    }
  }
  return out;
}"""


@pytest.fixture(scope="module", params=CHAPTERS)
def chapter(request, lab):
    name = request.param
    page = lab["browser"].new_page(viewport={"width": 1400, "height": 1000})
    console_errors = []
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    url = f"{lab['base']}/{launch_urlpath(name)}?reset&token={lab['token']}"
    page.goto(url)
    page.wait_for_function(
        "path => window.jupyterapp && window.jupyterapp.shell.currentWidget && "
        "window.jupyterapp.shell.currentWidget.context && "
        "window.jupyterapp.shell.currentWidget.context.path === path && "
        "window.jupyterapp.shell.currentWidget.content.model",
        arg=f"notebooks/{name}.ipynb", timeout=120_000)
    began = time.perf_counter()
    page.evaluate(RUN_ALL)
    deadline = time.time() + 900
    while True:
        state = page.evaluate(STATE)
        if (not state["busy"] and not state["unrun"]) or state["errors"]:
            break
        assert time.time() < deadline, f"{name}: cells still running after 15 min: {state}"
        time.sleep(1)
    lab["timings"][f"{name}_run_all_s"] = round(time.perf_counter() - began, 1)
    page.wait_for_timeout(1500)  # widgets and markdown finish rendering
    # Only this notebook's panel: JupyterLab may restore other notebooks in hidden tabs.
    panel = "#" + page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    yield {"name": name, "page": page, "state": state, "console": console_errors, "lab": lab,
           "panel": panel}
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")
    page.close()


def visible_text(page, selector: str) -> list[str]:
    return page.locator(selector).evaluate_all(
        "elements => elements.map(element => element.innerText)")


def test_every_cell_runs_without_error(chapter):
    state = chapter["state"]
    assert state["errors"] == [], f"{chapter['name']}: {state['errors']}"
    assert state["unrun"] == 0 and state["code"] > 5


def test_theorems_and_exercises_render_as_such(chapter):
    page = chapter["page"]
    text = "\n".join(visible_text(page, f"{chapter['panel']} .jp-MarkdownCell"))
    assert "{prf:" not in text and "{exercise}" not in text and "{solution" not in text
    # jupyterlab-myst draws a directive as a titled admonition box
    boxes = visible_text(page, f"{chapter['panel']} .jp-MarkdownCell aside")
    kinds = " ".join(box.split("\n", 1)[0] for box in boxes)
    assert re.search(r"Definition|Theorem|Proposition|Lemma", kinds), kinds[:500]
    assert "Exercise" in kinds, kinds[:500]
    # solutions start collapsed
    assert page.locator(f"{chapter['panel']} .jp-MarkdownCell details").count() > 0
    assert page.locator(f"{chapter['panel']} .jp-MarkdownCell details[open]").count() == 0


def test_no_glue_key_or_raw_role_is_visible(chapter):
    page = chapter["page"]
    text = "\n".join(visible_text(page, f"{chapter['panel']} .jp-MarkdownCell"))
    source = (ROOT / "book" / f"{chapter['name']}.md").read_text()
    keys = set(re.findall(r"\{glue:text\}`([^`:]+)", source))
    assert keys, "the chapter glues values"
    shown = sorted(key for key in keys if key in text)
    assert shown == [], f"glue keys visible: {shown}"
    raw = sorted({match.group(0) for match in RAW_ROLE.finditer(text)})
    assert raw == [], f"raw MyST visible: {raw}"


def test_no_visible_cell_asserts_anything(chapter):
    page = chapter["page"]
    inputs = visible_text(page, f"{chapter['panel']} .jp-CodeCell .jp-Cell-inputWrapper")
    assert inputs, "no code cell found"
    offending = [text[:120] for text in inputs if re.search(r"\bassert\b", text)]
    assert offending == []


def test_reading_and_saving_leave_the_sources_unchanged(chapter):
    page, lab = chapter["page"], chapter["lab"]
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_timeout(1000)
    changed = [str(path) for path, data in lab["sources"].items() if path.read_bytes() != data]
    assert changed == []
    saved = json.loads((lab["repo"] / "notebooks" / f"{chapter['name']}.ipynb").read_text())
    assert saved["metadata"]["srlm"]["source"] == f"book/{chapter['name']}.md"


def test_explorer_slider_redraws_its_plot(chapter):
    if chapter["name"] != "05_iterative_bound":
        pytest.skip("the live explorer is in chapter 5")
    page, timings = chapter["page"], chapter["lab"]["timings"]
    # The explorer is the output with a "computed in" status line (the chapter's figures have
    # sliders too, but they look their curves up and have no status).
    explorer = page.locator(f"{chapter['panel']} .jp-OutputArea-output", has=page.locator(
        ".widget-html", has_text="computed in")).first
    slider = explorer.locator(".widget-slider", has_text="rounds T").first
    slider.scroll_into_view_if_needed()
    handle = slider.locator(".noUi-handle")
    plot = explorer.locator(".js-plotly-plot").first
    assert plot.count() == 1, "the explorer's plot is not drawn"
    latencies, kernel = [], []
    for key in KEY_PRESSES:
        before = slider.locator(".widget-readout").inner_text()
        plot.evaluate("""plot => {
          const signature = () => Array.from(plot.querySelectorAll('path.js-line'))
              .map(path => path.getAttribute('d')).join('|');
          const before = signature();
          window.__keyAt = undefined; window.__redrawAt = undefined;
          document.addEventListener('keydown', () => { window.__keyAt = performance.now(); },
                                    {capture: true, once: true});
          const poll = () => {
            if (window.__keyAt !== undefined && signature() !== before) {
              window.__redrawAt = performance.now();
            } else { requestAnimationFrame(poll); }
          };
          requestAnimationFrame(poll);
        }""")
        handle.focus()
        handle.press(key)
        page.wait_for_function("() => window.__redrawAt !== undefined", timeout=30_000)
        latencies.append(page.evaluate("() => window.__redrawAt - window.__keyAt"))
        assert slider.locator(".widget-readout").inner_text() != before
        status = explorer.locator(".widget-html", has_text="computed in").inner_text()
        kernel.append(float(re.search(r"computed in ([\d.]+) s", status).group(1)) * 1000)
    timings["slider_redraw_ms"] = [round(value) for value in latencies]
    timings["slider_redraw_median_ms"] = round(statistics.median(latencies))
    timings["slider_kernel_median_ms"] = round(statistics.median(kernel))
    print(f"\nkey press to redraw (ms): {timings['slider_redraw_ms']}", file=sys.stderr)


def test_figures_are_drawn_with_their_captions(chapter):
    page, panel = chapter["page"], chapter["panel"]
    captions = [text for text in visible_text(page, f"{panel} .jp-MarkdownCell")
                if re.match(r"Fig\. \d+\.\d+\.", text.strip())]
    assert captions, "no figure caption"
    assert page.locator(f"{panel} .js-plotly-plot").count() >= len(captions)
