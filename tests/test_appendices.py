"""The appendices: the kit reference is complete, every figure is reproducible from its defaults.

Three groups of checks:

* the kit reference (``book/appendix/kit_reference.md`` and ``book/appendix/kit/``) covers every
  public module, function and class of the kit: in the page sources (runs with the unit tests)
  and in the built pages;
* every figure of the book comes from an experiment called with its default arguments: in the
  chapter sources, and in the built pages (each figure records its experiment and keyword
  arguments in ``layout.meta``);
* the command line prints the function's numbers (that every experiment gives the same numbers
  twice is checked with the registry, in ``test_registry.py``).

The checks on the built site read ``_build/html`` (or ``SRLM_SITE_DIR``) and carry the
``browser`` mark, so that ``make test`` runs them after the book is built, with the browser tests
(they need no browser themselves).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml
from bs4 import BeautifulSoup

import srlm_kit
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("SRLM_SITE_DIR", ROOT / "_build" / "html"))
REFERENCE_SOURCES = [ROOT / "book" / "appendix" / "kit_reference.md",
                     *sorted((ROOT / "book" / "appendix" / "kit").glob("*.md"))]
#: Packages whose submodules the reference finds when the book is built (pkgutil), rather than
#: naming them in its source: other chapters add modules to them.
GENERATED_PACKAGES = ("srlm_kit.experiments", "srlm_kit.figures")
#: Experiments cheap enough to run in a fresh process in a unit test (a few seconds each).
#: (Measured at 3 to 10 s in a fresh process on a busy 2-core machine, compilation included.)
CHEAP_EXPERIMENTS = ("lower_bound_forms", "lower_bound_sample_sizes", "population_sharpening")

built = pytest.mark.skipif(not (SITE / "index.html").is_file(),
                           reason=f"no built site in {SITE} (run `make book` first)")


# --------------------------------------------------------------------------------------------
# The public surface of the kit, found by introspection
# --------------------------------------------------------------------------------------------


def public_modules() -> set[str]:
    """``srlm_kit`` and every submodule none of whose name parts starts with ``_``."""
    names = {info.name for info in pkgutil.walk_packages(srlm_kit.__path__, "srlm_kit.")}
    return {"srlm_kit"} | {name for name in names
                           if not any(part.startswith("_") for part in name.split("."))}


def public_names(module_name: str) -> list[str]:
    """Qualified names of the functions and classes a module defines (not imports) publicly.

    A module with ``__all__`` publishes exactly those names; otherwise every name not starting
    with ``_``.
    """
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or list(vars(module))
    found = []
    for name in names:
        value = getattr(module, name)
        if (not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
                and value.__module__ == module_name):
            found.append(f"{module_name}.{name}")
    return found


def test_public_names_are_found():
    """The introspection above sees the kit (guards the completeness tests against vacuity)."""
    names = {name for module in public_modules() for name in public_names(module)}
    assert {"srlm_kit.bounds.theorem_5_3_bound", "srlm_kit.dynamics.run",
            "srlm_kit.theory.core.Derivation", "srlm_kit.figures.core.grid_figure",
            "srlm_kit.cli.main"} <= names
    assert "srlm_kit.figures.grid_figure" not in names  # re-exported, documented in core
    assert "srlm_kit.theory.gibbs.gibbs_maximiser" in names
    assert "srlm_kit.theory.gibbs_maximiser" not in names  # re-exported, documented in gibbs
    assert not any(name.rsplit(".", 1)[1].startswith("_") for name in names)


# --------------------------------------------------------------------------------------------
# Kit reference: sources
# --------------------------------------------------------------------------------------------


def _sources() -> str:
    return "\n".join(path.read_text() for path in REFERENCE_SOURCES)


def _explicitly_documented() -> set[str]:
    """Objects documented by an explicit directive (``autofunction``, ``py:data`` ...)."""
    pattern = re.compile(r"^\.\. (?:auto(?:function|class|data)|py:\w+):: ([\w.]+)$", re.M)
    return set(pattern.findall(_sources()))


def _catalogue():
    """The appendix's helper module (book/appendix/_catalogue.py), imported from its folder."""
    sys.path.insert(0, str(ROOT / "book" / "appendix"))
    try:
        return importlib.import_module("_catalogue")
    finally:
        sys.path.pop(0)


def test_reference_sources_cover_every_public_module():
    static = set(re.findall(r"^\.\. automodule:: ([\w.]+)$", _sources(), re.M))
    unknown = static - public_modules()
    assert not unknown, f"documented modules that do not exist: {unknown}"
    # srlm_kit.figures: one page finds the modules of the package when the book is built.
    figures_page = (ROOT / "book" / "appendix" / "kit" / "figures.md").read_text()
    assert "import srlm_kit.figures as package" in figures_page
    assert "pkgutil.iter_modules" in figures_page
    generated = {name for name in public_modules() if name.startswith("srlm_kit.figures.")}
    # srlm_kit.experiments: three pages, each documenting its group of module_groups().
    groups = _catalogue().module_groups()
    for stem, _ in _catalogue().GROUPS:
        page = (ROOT / "book" / "appendix" / "kit" / f"{stem}.md").read_text()
        assert f'module_groups()["{stem}"]' in page, stem
    listed = [name for names in groups.values() for name in names]
    assert len(listed) == len(set(listed)), "a module on two pages"
    generated |= set(listed)
    missing = public_modules() - static - generated
    assert not missing, f"public modules without a place in the kit reference: {sorted(missing)}"


def test_module_groups_follow_the_parts_of_the_book():
    """Grouping by the part that first uses a module's experiments, on known modules."""
    groups = _catalogue().module_groups()
    assert "srlm_kit.experiments.pooling" in groups["experiments_part_4"]  # chapter 9
    assert "srlm_kit.experiments.explorer" in groups["experiments_part_4"]  # the gallery
    assert "srlm_kit.experiments.sharpening" in groups["experiments_parts_1_2"]  # chapter 2


def test_every_public_function_and_class_has_a_docstring():
    """autodoc shows what has a docstring; anything else needs an explicit directive."""
    explicit = _explicitly_documented()
    undocumented = [name for module in sorted(public_modules()) for name in public_names(module)
                    if not inspect.getdoc(_resolve(name)) and name not in explicit]
    assert not undocumented, f"public functions or classes without a docstring: {undocumented}"


def _resolve(qualified: str):
    module, name = qualified.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def test_reference_index_uses_the_same_provenance_marks_as_the_book():
    """The index's pattern for provenance marks finds the kit's marks (and nothing else)."""
    source = (ROOT / "book" / "appendix" / "kit_reference.md").read_text()
    pattern = re.compile(re.search(r'MARK = re\.compile\(r"(.+)"\)', source).group(1))
    text = ("Formula [reconstructed, by algebra; checked in SymPy] and [statement quoted, v2 "
            "text; formula reconstructed, from the prose]; not a mark: x[0] or [1, 2].")
    assert pattern.findall(text) == [
        "[reconstructed, by algebra; checked in SymPy]",
        "[statement quoted, v2 text; formula reconstructed, from the prose]"]


# --------------------------------------------------------------------------------------------
# Kit reference: the built pages
# --------------------------------------------------------------------------------------------


def _documented_in_build() -> set[str]:
    ids = set()
    pages = [SITE / "book" / "appendix" / "kit_reference.html",
             *sorted((SITE / "book" / "appendix" / "kit").glob("*.html"))]
    for page in pages:
        soup = BeautifulSoup(page.read_text(), "html.parser")
        ids |= {node["id"] for node in soup.select("dl.py > dt[id]")}
        ids |= {node["id"].removeprefix("module-") for node in soup.select("[id^='module-']")}
    return ids


@pytest.mark.browser
@built
def test_built_reference_documents_every_public_module_function_and_class():
    documented = _documented_in_build()
    expected = public_modules() | {name for module in public_modules()
                                   for name in public_names(module)}
    missing = sorted(expected - documented)
    assert not missing, f"missing from the built kit reference: {missing}"


@pytest.mark.browser
@built
def test_built_reference_index_links_every_public_name():
    soup = BeautifulSoup((SITE / "book" / "appendix" / "kit_reference.html").read_text(),
                         "html.parser")
    linked = {node["href"].split("#", 1)[1] for node in soup.select("table a[href*='#']")}
    expected = {name for module in public_modules() for name in public_names(module)}
    assert expected <= linked, sorted(expected - linked)


# --------------------------------------------------------------------------------------------
# Figures use their experiment's defaults
# --------------------------------------------------------------------------------------------


def _defaults(name: str) -> dict:
    return {parameter.name: parameter.default
            for parameter in inspect.signature(EXPERIMENTS[name]).parameters.values()
            if parameter.default is not inspect.Parameter.empty}


def _as_json(value):
    return json.loads(json.dumps(value))


def _non_default(name: str, kwargs: dict) -> dict:
    """The keyword arguments that are not the experiment's defaults (unknown names included)."""
    defaults = _defaults(name)
    return {key: value for key, value in kwargs.items()
            if key not in defaults or _as_json(defaults[key]) != _as_json(value)}


def test_non_default_detects_changes():
    name = next(iter(EXPERIMENTS))
    defaults = _defaults(name)
    assert _non_default(name, {}) == {}
    assert _non_default(name, {key: _as_json(value) for key, value in defaults.items()}) == {}
    assert _non_default(name, {"no_such_argument": 1}) == {"no_such_argument": 1}
    if "seed" in defaults:
        assert _non_default(name, {"seed": defaults["seed"] + 1}) == {"seed": defaults["seed"] + 1}


def _toc_pages() -> list[Path]:
    def files(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            if "root" in node:
                yield node["root"]
            for key in ("parts", "chapters", "sections"):
                yield from files(node.get(key, []))
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ROOT / f"{file}.md" for file in files(toc) if (ROOT / f"{file}.md").is_file()]


def _experiment_calls(path: Path) -> list[tuple[str, dict | None, int]]:
    """``(experiment, keyword arguments or None if not literal, cell)`` for every call.

    Calls are ``EXPERIMENTS["name"](...)`` and ``module.function(...)`` with a registered
    experiment function; ``**kwargs`` is followed to a dict literal assigned in an earlier cell.
    """
    by_function = {function.__name__: name for name, function in EXPERIMENTS.items()}
    literals, calls = {}, []
    notebook = jupytext.read(path)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                try:
                    literals[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    literals.pop(node.targets[0].id, None)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = None
            if (isinstance(node.func, ast.Subscript) and getattr(node.func.value, "id", None)
                    == "EXPERIMENTS" and isinstance(node.func.slice, ast.Constant)):
                name = node.func.slice.value
            elif isinstance(node.func, ast.Attribute) and node.func.attr in by_function:
                name = by_function[node.func.attr]
            if name is None:
                continue
            kwargs = {}
            for keyword in node.keywords:
                if keyword.arg is None and isinstance(keyword.value, ast.Name) and isinstance(
                        literals.get(keyword.value.id), dict):
                    kwargs.update(literals[keyword.value.id])
                elif keyword.arg is not None:
                    try:
                        kwargs[keyword.arg] = ast.literal_eval(keyword.value)
                    except ValueError:
                        kwargs = None
                        break
                else:
                    kwargs = None
                    break
            calls.append((name, kwargs, index))
    return calls


def test_chapters_call_experiments_with_their_defaults():
    problems = []
    for page in _toc_pages():
        if not page.read_text().startswith("---\njupytext"):
            continue
        for name, kwargs, cell in _experiment_calls(page):
            where = f"{page.relative_to(ROOT)} (cell {cell}): {name}"
            if name not in EXPERIMENTS:
                problems.append(f"{where} is not in EXPERIMENTS")
            elif kwargs is None:
                problems.append(f"{where} is called with arguments that are not literals")
            elif _non_default(name, kwargs):
                problems.append(f"{where} is called with non-defaults {_non_default(name, kwargs)}")
    assert not problems, "\n".join(problems)


def test_call_finder_sees_the_gallery():
    calls = _experiment_calls(ROOT / "book" / "appendix" / "figure_gallery.md")
    assert ("kappa_and_failure_grid", {"seed": 0}, 3) in calls


def _page_figures(html: str) -> list[dict]:
    """``layout.meta["srlm"]`` of every Plotly figure of a built page (None if it has none)."""
    soup = BeautifulSoup(html, "html.parser")
    figures = []
    for div in soup.select("div.plotly-graph-div"):
        script = div.find_next("script", string=re.compile(r"Plotly\.newPlot"))
        text = script.string if script is not None else ""
        start = text.find('"srlm":')
        meta = None
        if start >= 0:
            meta, _ = json.JSONDecoder().raw_decode(text, start + len('"srlm":'))
        figures.append({"id": div.get("id"), "meta": meta})
    return figures


@pytest.mark.browser
@built
def test_every_figure_on_the_site_used_an_experiment_with_its_defaults():
    problems, count = [], 0
    for page in sorted(SITE.rglob("*.html")):
        relative = page.relative_to(SITE).as_posix()
        if relative.startswith("_") or "plotly-graph-div" not in (html := page.read_text()):
            continue
        for figure in _page_figures(html):
            count += 1
            meta = figure["meta"] or {}
            name, kwargs = meta.get("experiment"), meta.get("kwargs")
            where = f"{relative} #{figure['id']}"
            if name not in EXPERIMENTS:
                problems.append(f"{where}: names no registered experiment ({name!r})")
            elif kwargs is None or _non_default(name, kwargs):
                problems.append(f"{where}: {name} not called with its defaults "
                                f"({_non_default(name, kwargs or {'kwargs': None})})")
    assert count >= 2, "no figure found on the site: is the build complete?"
    assert not problems, "\n".join(problems)


@pytest.mark.browser
@built
def test_reproducing_page_lists_every_experiment_with_its_command():
    text = BeautifulSoup((SITE / "book" / "appendix" / "reproducing.html").read_text(),
                         "html.parser").get_text()
    for name in EXPERIMENTS:
        assert f"python -m srlm_kit experiment {name} --json" in text, name


# --------------------------------------------------------------------------------------------
# The command line prints the function's numbers; experiments are deterministic
# --------------------------------------------------------------------------------------------


def _command_line(*arguments: str) -> dict:
    completed = subprocess.run([sys.executable, "-m", "srlm_kit", "experiment", *arguments],
                               capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(completed.stdout)


def _cheap() -> list[str]:
    return [name for name in CHEAP_EXPERIMENTS if name in EXPERIMENTS]


def test_enough_cheap_experiments_are_registered():
    assert len(_cheap()) >= 2, f"update CHEAP_EXPERIMENTS: {sorted(EXPERIMENTS)}"


@pytest.mark.parametrize("name", _cheap())
def test_command_line_prints_the_functions_numbers(name):
    assert _command_line(name, "--json") == dataset_json(EXPERIMENTS[name]())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["rounds_versus_pooling", "self_versus_frozen_reward"])
def test_command_line_prints_chapter_nines_numbers(name):
    """Chapter 9's experiments (10 to 30 s each in a fresh process, compilation included)."""
    assert _command_line(name, "--json") == dataset_json(EXPERIMENTS[name]())


@pytest.mark.parametrize("name", _cheap()[:2])
def test_command_with_every_default_spelled_out_prints_the_same(name):
    """As the reproducing page prints it: ``--set key=value`` for every default."""
    options = [f"--set={key}={json.dumps(_as_json(value))}"
               for key, value in _defaults(name).items()]
    spelled_out, plain = _command_line(name, *options), _command_line(name)
    assert spelled_out["attrs"].pop("arguments") == {key: _as_json(value) for key, value
                                                     in _defaults(name).items()}
    assert plain["attrs"].pop("arguments") == {}
    assert spelled_out == plain


# --------------------------------------------------------------------------------------------
# Performance page
# --------------------------------------------------------------------------------------------


def test_every_benchmark_section_names_its_machine():
    text = (ROOT / "benchmarks" / "README.md").read_text()
    sections = re.split(r"^## ", text, flags=re.M)[1:]
    assert sections, "benchmarks/README.md has no sections"
    for section in sections:
        heading = section.splitlines()[0]
        assert re.search(r"^\**Machine\**:", section, re.M), f"section {heading!r} names no machine"


def test_a_new_measurement_replaces_the_old_block_and_keeps_the_rest(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import record

    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\nIntro.\n")
    record.write_block("kit-measurements", "Kit", "Machine: A.\n\n| x | 1 |", readme)
    record.write_block("site-measurements", "Site", "Machine: B.", readme)
    record.write_block("kit-measurements", "Kit", "Machine: C.\n\n| x | 2 |", readme)
    text = readme.read_text()
    assert text.startswith("# Benchmarks\n\nIntro.\n")
    assert text.count("## Kit") == 1 and text.count("## Site") == 1
    assert "| x | 2 |" in text and "| x | 1 |" not in text and "Machine: A." not in text
    assert text.index("## Kit") < text.index("Machine: C.") < text.index("## Site")
    assert "Machine: B." in text


@pytest.mark.browser
@built
def test_performance_page_shows_the_benchmark_tables():
    readme = (ROOT / "benchmarks" / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `")]
    page = BeautifulSoup((SITE / "book" / "appendix" / "performance.html").read_text(),
                         "html.parser")
    # Whitespace-insensitive: Sphinx splits inline code at spaces into separate spans.
    # Sphinx's smart quotes turn ' into a typographic apostrophe.
    cells = {"".join(cell.get_text().replace("\u2019", "'").split())
             for cell in page.select("table td")}
    assert rows
    for row in rows:
        first_cell = row.split("|")[1].strip().replace("`", "")  # the page shows no backticks
        assert "".join(first_cell.split()) in cells, (
            f"benchmark row {first_cell!r} missing from the page")
