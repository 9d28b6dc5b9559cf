"""The reader's notebooks (tools/make_notebooks.py), made from every page of the book.

These checks run without executing the pages (glued values are then placeholders); the
JupyterLab test (tests/test_binder_lab.py) executes chapters 2 and 5 in a Binder-like
environment and looks at what a reader sees.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
from myst_nb.core.variables import format_plain_text as myst_nb_format

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import binder_launch  # noqa: E402
import make_notebooks  # noqa: E402

BOOK = make_notebooks.read_book()
RAW_ROLE = re.compile(r"\{[a-z]+(?::[a-z]+)?\}`")


@pytest.fixture(scope="module", params=BOOK.pages)
def page(request):
    return request.param, make_notebooks.make_notebook(BOOK, request.param, glue=None)


def visible(cell) -> bool:
    return not cell.metadata.get("jupyter", {}).get("source_hidden", False)


def test_no_raw_role_or_target_is_left(page):
    name, notebook = page
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        prose = "".join(make_notebooks.split_literal_blocks(cell.source)[::2])
        # Only {prf:ref} to this page's own theorems stays: jupyterlab-myst renders it.
        for match in RAW_ROLE.finditer(prose):
            assert match.group(0) == "{prf:ref}`", (name, prose[match.start():match.end() + 40])
            label = prose[match.end():].split("`", 1)[0]
            assert BOOK.targets[label].page == name, (name, label)
        assert not re.search(r"^\([\w:-]+\)=\s*$", prose, re.MULTILINE), name
        assert "not shown on this static page" not in prose, name
        assert "Open this page on Binder" not in prose, name


def test_every_glue_role_becomes_its_value(page):
    name, notebook = page
    source = BOOK.source(name).read_text()
    keys = re.findall(r"\{glue:text\}`([^`:]+)", source)
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert text.count("«") == len(keys), name  # the placeholder of each value, in place
    glue = {key: "0.5" for key in keys}
    filled = make_notebooks.make_notebook(BOOK, name, glue=glue)
    text = "\n".join(cell.source for cell in filled.cells if cell.cell_type == "markdown")
    assert "{glue" not in text and "«" not in text, name


def test_repository_substitutions_become_the_address(page):
    """The site's substitutions and ``{repository-code}`` blocks read as on the web page."""
    name, notebook = page
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "{repository-code}" not in text, name
    source = BOOK.source(name).read_text()
    for expression in re.findall(r"\{\{\s*[^}]*?(repository_url|binder_url)[^}]*\}\}", source):
        assert make_notebooks.page_substitutions()[expression] in text, (name, expression)
    prose = "".join(make_notebooks.split_literal_blocks(text)[::2])
    assert not re.search(r"\{\{.*?(repository_url|binder_url)", prose), name


def test_substitutions_are_those_of_the_site(monkeypatch):
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://github.com/a/fork")
    values = make_notebooks.page_substitutions()
    assert values == {"repository_url": "https://github.com/a/fork",
                      "binder_url": "https://mybinder.org/v2/gh/a/fork/main?urlpath=lab"}
    using = make_notebooks.make_notebook(BOOK, "book/appendix/using", glue=None)
    text = "\n".join(cell.source for cell in using.cells if cell.cell_type == "markdown")
    assert "```bash\ngit clone https://github.com/a/fork why-self-rewarding-works\n" in text
    assert "{\\url{https://github.com/a/fork}}" in text


def test_no_visible_cell_checks_anything_and_hidden_cells_stay_hidden(page):
    name, notebook = page
    source = jupytext.read(BOOK.source(name))
    hidden_on_site = sum(1 for cell in source.cells if cell.cell_type == "code" and
                         {"remove-cell", "hide-input", "remove-input"}
                         & set(cell.metadata.get("tags", [])))
    shown_on_site = sum(1 for cell in source.cells if cell.cell_type == "code") - hidden_on_site
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert sum(1 for cell in code if visible(cell)) == shown_on_site, name
    for cell in code:
        if visible(cell):
            assert not re.search(r"\bassert\b", cell.source), (name, cell.source[:200])
        else:
            ast.parse(cell.source)  # still Python after the checks were taken out
            assert "assert " not in cell.source.splitlines()[0], name
        if "remove-cell" in cell.metadata.get("tags", []):
            assert cell.metadata["jupyter"].get("outputs_hidden"), name
    assert "import myst_nb" not in "\n".join(cell.source for cell in code), name
    assert "from myst_nb" not in "\n".join(cell.source for cell in code), name


def test_figures_carry_their_numbered_captions(page):
    name, notebook = page
    source = jupytext.read(BOOK.source(name))
    figures = [cell.metadata["mystnb"]["figure"] for cell in source.cells
               if cell.metadata.get("mystnb", {}).get("figure", {}).get("caption")]
    captions = [cell.source for cell in notebook.cells
                if cell.cell_type == "markdown" and cell.source.startswith("**Fig.")]
    assert len(captions) == len(figures), name
    chapter = BOOK.chapter_numbers.get(name)
    for number, caption in enumerate(captions, start=1):
        expected = f"{chapter}.{number}" if chapter else str(number)
        assert caption.startswith(f"**Fig. {expected}.**"), (name, caption[:60])


def test_chapter_cross_references_read_as_on_the_site():
    text = make_notebooks.PageText(BOOK, "book/05_iterative_bound", glue=None)
    fig = next(label for label, target in BOOK.targets.items()
               if target.page == "book/02_setup" and target.number == "2.1")
    assert text.markdown(f"{{numref}}`{fig}`") == "[Fig. 2.1](02_setup.ipynb)"
    assert text.markdown(f"{{numref}}`Figure %s <{fig}>`") == "[Figure 2.1](02_setup.ipynb)"
    assert text.markdown("{doc}`the setup <02_setup>`") == "[the setup](02_setup.ipynb)"
    assert text.markdown("{cite:p}`fu2026selfrewarding`") == "([Fu et al., 2026](references.ipynb))"
    assert text.markdown("{cite:t}`fu2026selfrewarding`") == "[Fu et al. (2026)](references.ipynb)"
    with pytest.raises(KeyError, match="no target"):
        text.markdown("{numref}`fig-that-does-not-exist`")
    # Code shown as code is left alone.
    literal = "```python\nx = '{numref}`a`'\n```"
    assert text.markdown(literal) == literal


@pytest.mark.parametrize("text, spec", [
    ("0.123456", ".3f"), ("12", ".0f"), ("3.5e-05", ".1e"), ("1234567.0", ",.0f"),
    ("'abc'", ""), ("7", "d"), ("0.25", ".1%"), ("np.float64(0.5)", ""),
])
def test_glued_values_are_formatted_as_myst_nb_formats_them(text, spec):
    assert make_notebooks.format_plain_text(text, spec) == myst_nb_format(text, spec or "s")


def test_checks_and_glue_calls_leave_hidden_cells_but_nothing_else():
    source = ("x = 1\nfor i in range(3):\n    assert i < 3\nassert x == 1, 'x'\n"
              "glue('k', x, display=False)\ny = f(x)\n")
    cleaned = make_notebooks.without_checks(source, frozenset({"glue"}))
    assert cleaned == "x = 1\nfor i in range(3):\n    pass\ny = f(x)"
    assert make_notebooks.needed_later("z = 2", ["print(z)"])
    assert not make_notebooks.needed_later("z = 2", ["print(w)"])
    assert make_notebooks.needed_later("jax.config.update('a', 1)", [])
    assert not make_notebooks.needed_later("", ["anything"])


def test_launch_buttons_open_the_readers_notebook():
    url = ("https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/book/05_iterative_bound.md")
    assert binder_launch.notebook_urlpath(url) == (
        "https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/notebooks/05_iterative_bound.ipynb")
    nested = "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/book/appendix/kit/figures.md"
    assert binder_launch.notebook_urlpath(nested).endswith(
        "?urlpath=tree/notebooks/appendix/kit/figures.ipynb")


def test_generated_notebooks_are_not_committed():
    tracked = subprocess.run(["git", "ls-files", "notebooks"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout
    assert tracked == ""
    ignored = subprocess.run(["git", "check-ignore", "-q", "notebooks/05_iterative_bound.ipynb"],
                             cwd=ROOT)
    assert ignored.returncode == 0
