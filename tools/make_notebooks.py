"""Make the notebooks a reader opens on Binder: each page of the book as a Jupyter notebook that
reads like its web page.

Usage: ``python tools/make_notebooks.py [book/NN_page.md ...]`` (default: every page of
``_toc.yml``). Writes ``notebooks/<page>.ipynb`` (the folder mirrors ``book/``; it is generated,
git-ignored, and made by ``postBuild`` on Binder). The site's launch buttons open these notebooks
(``tools/binder_launch.py``), so a reader works on a copy and never rewrites a chapter's source.

What changes between a chapter's MyST source and its notebook:

- every ``{glue:text}`` role becomes the number the web page shows: the page is executed first
  (as the book build does) and the glued values are formatted as myst-nb formats them;
- ``{numref}``, ``{ref}``, ``{doc}``, ``{cite:t}``/``{cite:p}`` and ``{prf:ref}`` to another page
  become text (figure numbers as on the site, section and page titles, author-year citations),
  linked to the notebook of the page they point to; ``(label)=`` targets are dropped;
- theorems, definitions, exercises, solutions and admonitions stay MyST directives, which the
  ``jupyterlab-myst`` extension renders (solutions collapsed);
- cells hidden on the site stay hidden: ``hide-input``/``remove-input`` cells have their input
  collapsed, ``remove-cell`` cells their input and output. Their ``assert`` statements (the
  build's checks of the prose) are left out, as ``python -O`` would, and a ``remove-cell`` cell
  left with nothing later cells need is dropped, so the notebook still runs top to bottom;
- a figure's caption (cell metadata on the site) becomes a markdown cell under the figure;
- the explorers' notes ("it needs a kernel, open this page on Binder") are reworded for a reader
  who already has.

Only the standard library, PyYAML, nbformat, nbclient, jupytext, pybtex, Jinja2 and Sphinx (for
this folder's page extensions) are needed: all in the reader's environment (``requirements.txt``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import pathlib
import re
import sys
import time
from ast import literal_eval
from dataclasses import dataclass, field

import jinja2
import jupytext
import nbclient
import nbformat
import page_assets  # this folder's Sphinx extensions: the substitutions the site offers pages
import repository_code
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
OUTPUT = ROOT / "notebooks"
BIBLIOGRAPHY = BOOK / "references.bib"
FIGURE_FORMAT = "Fig. %s"  # Sphinx's default numfig_format for figures, which the site uses

ROLE = re.compile(r"\{(?P<role>[a-zA-Z:_-]+)\}`(?P<content>[^`]*)`")
TARGET = re.compile(r"^\(([\w:-]+)\)=\s*$", re.MULTILINE)
FENCE_LINE = re.compile(r"^(`{3,})(.*)$")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.DOTALL)
GLUE_IMPORT = re.compile(r"^from myst_nb import glue(?: as (\w+))?\s*$", re.MULTILINE)
ADMONITION = re.compile(
    r"^(?P<fence>`{3,})\{admonition\} (?P<title>[^\n]*)\n"
    r"(?P<options>(?::[^\n]*\n)*)(?P<body>.*?)^(?P=fence)\s*$", re.MULTILINE | re.DOTALL)
BINDER_TITLE = "Open this page on Binder to "
STATIC_ONLY = ("static page", "launch button", "Binder", "rocket")
PROOF_KINDS = ("theorem", "lemma", "definition", "proposition", "corollary", "remark",
               "assumption", "example", "conjecture", "axiom", "criterion", "algorithm",
               "property", "observation")
PRF_DIRECTIVE = re.compile(
    r"^`{3,}\{prf:(?P<kind>\w+)\}(?P<title>[^\n]*)\n(?::[^\n]*\n)*?:label:\s*(?P<label>\S+)",
    re.MULTILINE)
LABELLED_DIRECTIVE = re.compile(
    r"^`{3,}\{(?P<kind>exercise|solution|admonition)\}(?P<title>[^\n]*)\n(?::[^\n]*\n)*?"
    r":label:\s*(?P<label>\S+)", re.MULTILINE)
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*$", re.MULTILINE)
#: A MyST substitution in prose, ``{{ expression }}`` (the names: :func:`page_substitutions`).
SUBSTITUTION = re.compile(r"\{\{(.+?)\}\}")
#: A code block that names the repository (``tools/repository_code.py``).
REPOSITORY_CODE = re.compile(
    r"^(?P<fence>`{3,})\{repository-code\}[ \t]*(?P<language>\S*)[ \t]*\n(?P<body>.*?)"
    r"^(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)


# --------------------------------------------------------------------------------------------
# The book: its pages, their numbers and their labels
# --------------------------------------------------------------------------------------------


@dataclass
class Target:
    """Something a reference can point at."""

    page: str        # docname, e.g. "book/05_iterative_bound"
    text: str        # what a reference to it reads as
    number: str | None = None


@dataclass
class Book:
    pages: list[str]                        # docnames in reading order
    chapter_numbers: dict[str, int]         # numbered chapters only
    titles: dict[str, str] = field(default_factory=dict)
    targets: dict[str, Target] = field(default_factory=dict)
    citations: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (authors, year)

    def source(self, page: str) -> pathlib.Path:
        return ROOT / f"{page}.md"


def _toc_entries(entries: list[dict], numbered: bool, pages: list, numbers: dict) -> None:
    for entry in entries:
        page = entry["file"]
        pages.append(page)
        if numbered:
            numbers[page] = len(numbers) + 1
        _toc_entries(entry.get("sections", []), False, pages, numbers)


def read_book() -> Book:
    """Pages, chapter numbers (numbering runs on across numbered parts, as on the site),
    titles, reference targets and the bibliography."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages, numbers = [toc["root"]], {}
    for part in toc["parts"]:
        _toc_entries(part["chapters"], bool(part.get("numbered")), pages, numbers)
    book = Book(pages=pages, chapter_numbers=numbers)
    for page in pages:
        text = book.source(page).read_text()
        body = _strip_front_matter(text)
        heading = HEADING.search(_outside_fences(body))
        book.titles[page] = _plain(heading.group(2)) if heading else page.rsplit("/", 1)[-1]
        _collect_targets(book, page, body)
    book.citations = read_citations(BIBLIOGRAPHY)
    return book


def _strip_front_matter(text: str) -> str:
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end > 0:
            return text[end + 5:]
    return text


def _outside_fences(text: str) -> str:
    """The text with ``` code-cell blocks blanked out (directives with prose stay)."""
    return re.sub(r"^```\{code-cell\}.*?^```\s*$", "", text, flags=re.MULTILINE | re.DOTALL)


def _plain(text: str) -> str:
    """A heading or title as plain text: roles reduced to their content, emphasis kept."""
    return ROLE.sub(lambda m: EXPLICIT.sub(r"\g<text>", m.group("content")), text).strip()


def _collect_targets(book: Book, page: str, body: str) -> None:
    prose = _outside_fences(body)
    for match in TARGET.finditer(prose):
        heading = HEADING.match(prose, match.end() + 1)
        if heading is None:  # a blank line may separate the target from its heading
            rest = prose[match.end():].lstrip("\n")
            heading = HEADING.match(rest)
        title = _plain(heading.group(2)) if heading else book.titles.get(page, page)
        book.targets[match.group(1)] = Target(page, title)
    for match in PRF_DIRECTIVE.finditer(body):
        kind = match.group("kind").capitalize()
        title = _plain(match.group("title"))
        book.targets[match.group("label")] = Target(
            page, f"{kind} ({title})" if title else kind)
    for match in LABELLED_DIRECTIVE.finditer(body):
        book.targets[match.group("label")] = Target(page, match.group("kind").capitalize())
    # Figures are made by code cells whose metadata names and captions them (myst-nb).
    chapter = book.chapter_numbers.get(page)
    figure_count = 0
    for metadata in re.finditer(r"^```\{code-cell\}[^\n]*\n---\n(.*?)\n---\n", body,
                                re.MULTILINE | re.DOTALL):
        figure = (yaml.safe_load(metadata.group(1)) or {}).get("mystnb", {}).get("figure")
        if figure and figure.get("name"):
            figure_count += 1
            number = f"{chapter}.{figure_count}" if chapter else str(figure_count)
            book.targets[figure["name"]] = Target(page, FIGURE_FORMAT % number, number)


def read_citations(path: pathlib.Path) -> dict[str, tuple[str, str]]:
    """Author-year labels of the bibliography (the site's ``author_year`` style)."""
    from pybtex.database import parse_file

    citations = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author", [])
        names = [_unbrace(" ".join(person.last_names) or str(person)) for person in people]
        if len(names) >= 3 or (names and names[-1] == "others"):
            authors = f"{names[0]} et al."
        elif len(names) == 2:
            authors = f"{names[0]} and {names[1]}"
        else:
            authors = names[0] if names else key
        citations[key] = (authors, entry.fields.get("year", "n.d."))
    return citations


def _unbrace(text: str) -> str:
    return text.replace("{", "").replace("}", "")


# --------------------------------------------------------------------------------------------
# Glued values: execute the page, collect what it glued
# --------------------------------------------------------------------------------------------


GLUE_RECORDER = '''def {name}(name, variable, display=True):
    """Records a value as myst_nb.glue does: its text/plain display, marked with its name."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display as show

    bundle, _ = format_display_data(variable)
    show({{"text/plain": bundle["text/plain"]}}, raw=True,
         metadata={{"scrapbook": {{"name": name, "mime_prefix": ""}}}})
'''


def execute(notebook: nbformat.NotebookNode, folder: pathlib.Path) -> nbformat.NotebookNode:
    """The page executed, with myst-nb's ``glue`` replaced by a recorder of the same values
    (myst-nb belongs to the site build, not to a reader's environment)."""
    executed = copy.deepcopy(notebook)
    for cell in executed.cells:
        if cell.cell_type == "code":
            cell.source = GLUE_IMPORT.sub(
                lambda m: GLUE_RECORDER.format(name=m.group(1) or "glue"), cell.source)
    nbclient.NotebookClient(executed, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}).execute()
    return executed


def glued_values(executed: nbformat.NotebookNode) -> dict[str, str]:
    """``text/plain`` of every glued value (myst-nb marks them with ``scrapbook`` metadata and,
    for ``display=False``, a MIME prefix)."""
    values = {}
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            scrapbook = output.get("metadata", {}).get("scrapbook")
            if not scrapbook:
                continue
            prefix = scrapbook.get("mime_prefix", "")
            data = {mime[len(prefix):]: value for mime, value in output.get("data", {}).items()}
            if "text/plain" in data:
                values[scrapbook["name"]] = data["text/plain"]
    return values


def format_plain_text(text: str, spec: str) -> str:
    """A glued ``text/plain`` value under a format spec, exactly as myst-nb's ``{glue:text}``
    formats it (``myst_nb.core.variables.format_plain_text``)."""
    try:
        value = literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if spec == "":
        return str(value)
    kind = spec[-1]
    if kind == "s":
        value = str(value)
    elif kind in "bcdoxX":
        value = int(value)
    elif kind in "eEfFgGn%":
        value = float(value)
    return format(value, spec)


# --------------------------------------------------------------------------------------------
# Markdown: roles and targets
# --------------------------------------------------------------------------------------------


def split_literal_blocks(text: str) -> list[str]:
    """The text cut into prose (even items) and literal code blocks (odd items), which must be
    left as they are. Directive fences (```{name}) open prose; a bare fence closes the
    innermost open directive of the same length, or else opens a literal block."""
    pieces, current, directives, literal = [], [], [], None
    for line in text.splitlines(keepends=True):
        fence = FENCE_LINE.match(line.rstrip("\n"))
        if literal is not None:
            current.append(line)
            if fence and fence.group(1) == literal and not fence.group(2).strip():
                pieces.append("".join(current))
                current, literal = [], None
            continue
        if fence:
            marker, rest = fence.group(1), fence.group(2).strip()
            if rest.startswith("{") and not rest.startswith("{code-block}"):
                directives.append(marker)
            elif not rest and directives and directives[-1] == marker:
                directives.pop()
            else:
                pieces.append("".join(current))
                current, literal = [line], marker
                continue
        current.append(line)
    pieces.append("".join(current))
    if literal is not None:  # an unclosed block: keep the list's parity (prose, code, ...)
        pieces.append("")
    return pieces


def page_substitutions() -> dict[str, str]:
    """The MyST substitutions the site offers its pages, made as ``tools/page_assets.py`` makes
    them: the repository of ``_config.yml`` (or of the environment variable that overrides it)
    and its Binder address."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = os.environ.get(page_assets.REPOSITORY_VARIABLE) or config["repository"]["url"]
    binderhub = config.get("launch_buttons", {}).get("binderhub_url") or "https://mybinder.org"
    return {"repository_url": url, "binder_url": page_assets.binder_url(
        binderhub, url, config["repository"].get("branch", "main"))}


class PageText:
    """Rewrites the markdown of one page."""

    def __init__(self, book: Book, page: str, glue: dict[str, str] | None):
        self.book, self.page, self.glue = book, page, glue
        self.folder = pathlib.PurePosixPath(page).parent
        self.substitutions = page_substitutions()

    def link(self, target_page: str, text: str) -> str:
        if target_page == self.page:
            return text
        relative = os.path.relpath(f"{target_page}.ipynb", str(self.folder))
        return f"[{text}]({pathlib.PurePosixPath(relative)})"

    def markdown(self, text: str) -> str:
        # Code blocks that name the repository become plain code blocks, substituted here as
        # the site substitutes them; substitutions in prose are evaluated as MyST does (Jinja).
        text = REPOSITORY_CODE.sub(self._repository_code, text)
        pieces = split_literal_blocks(text)
        for index in range(0, len(pieces), 2):  # odd pieces are literal code blocks
            piece = SUBSTITUTION.sub(self._substitution, pieces[index])
            piece = TARGET.sub("", piece)
            piece = ADMONITION.sub(self._binder_note, piece)
            piece = re.sub(r"^```\{bibliography\}.*?^```\s*$", self._bibliography, piece,
                           flags=re.MULTILINE | re.DOTALL)
            pieces[index] = ROLE.sub(self._role, piece)
        return re.sub(r"\n{3,}", "\n\n", "".join(pieces)).strip("\n")

    def _repository_code(self, match: re.Match) -> str:
        body = repository_code.substitute(match.group("body"), self.substitutions)
        return f"{match.group('fence')}{match.group('language')}\n{body}{match.group('fence')}"

    def _substitution(self, match: re.Match) -> str:
        environment = jinja2.Environment(undefined=jinja2.StrictUndefined)
        return environment.from_string("{{" + match.group(1) + "}}").render(self.substitutions)

    def _role(self, match: re.Match) -> str:
        role, content = match.group("role"), match.group("content")
        explicit = EXPLICIT.match(content)
        text, target = (explicit.group("text"), explicit.group("target").strip()) if explicit \
            else (None, content.strip())
        if role == "glue:text":
            key, _, spec = target.rpartition(":") if ":" in target else (target, "", "")
            if self.glue is None:
                return f"«{key}»"
            if key not in self.glue:
                raise KeyError(f"{self.page}: nothing glued under {key!r}")
            return format_plain_text(self.glue[key], spec)
        if role == "numref":
            found = self._target(target)
            if text:
                return self.link(found.page, text.replace("%s", found.number or found.text))
            return self.link(found.page, found.text)
        if role in ("ref", "prf:ref"):
            found = self._target(target)
            if role == "prf:ref" and found.page == self.page and not text:
                return match.group(0)  # jupyterlab-myst numbers and links it on this page
            return self.link(found.page, text or found.text)
        if role == "doc":
            page = self._page(target)
            return self.link(page, text or self.book.titles[page])
        if role in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts"):
            return self._cite(role, [key.strip() for key in target.split(",")])
        if role == "math":
            return f"${content}$"
        # Any other role (py:mod, ...): its text, as code.
        return f"`{text or target}`"

    def _target(self, label: str) -> Target:
        if label not in self.book.targets:
            raise KeyError(f"{self.page}: no target labelled {label!r}")
        return self.book.targets[label]

    def _page(self, target: str) -> str:
        if target.startswith("/"):
            page = target.lstrip("/")
        else:
            page = os.path.normpath(str(self.folder / target)).replace(os.sep, "/")
        page = page.removesuffix(".md").removesuffix(".ipynb")
        if page not in self.book.titles:
            raise KeyError(f"{self.page}: {{doc}} points at {target!r}, not a page of the book")
        return page

    def _cite(self, role: str, keys: list[str]) -> str:
        labels = []
        for key in keys:
            if key not in self.book.citations:
                raise KeyError(f"{self.page}: {key!r} is not in {BIBLIOGRAPHY.name}")
            authors, year = self.book.citations[key]
            labels.append((authors, year))
        references = "book/references"
        if role.startswith("cite:t"):
            return "; ".join(self.link(references, f"{a} ({y})") for a, y in labels)
        inner = "; ".join(f"{a}, {y}" for a, y in labels)
        return f"({self.link(references, inner)})"

    def _binder_note(self, match: re.Match) -> str:
        # On the site an explorer's note says it needs a kernel; here the reader has one.
        title = match.group("title").strip()
        if not (title.startswith(BINDER_TITLE) or "static page" in match.group("body")):
            return match.group(0)
        title = title.removeprefix(BINDER_TITLE)
        title = title[:1].upper() + title[1:]
        body = " ".join(match.group("body").split())
        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z$])", body)
        kept = [s for s in sentences if not any(word in s for word in STATIC_ONLY)]
        kept.append("In this notebook it is live: run the cells above it (**Run → Run All "
                    "Cells**), then move a slider; every move recomputes in the kernel.")
        fence = match.group("fence")
        return (f"{fence}{{admonition}} {title}\n{match.group('options')}\n"
                f"{' '.join(kept)}\n{fence}\n")

    def _bibliography(self, match: re.Match) -> str:
        from pybtex.database import parse_file

        entries = parse_file(str(BIBLIOGRAPHY)).entries
        lines = []
        for key in sorted(entries, key=lambda k: self.book.citations[k]):
            authors, year = self.book.citations[key]
            fields = entries[key].fields
            title = " ".join(_unbrace(fields.get("title", "")).split())
            url = fields.get("url")
            where = f" <{url}>" if url else ""
            lines.append(f"- {authors} ({year}). *{title}*.{where}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Code cells: hidden cells, checks, figure captions
# --------------------------------------------------------------------------------------------


class _DropChecks(ast.NodeTransformer):
    """Drops ``assert`` statements and calls of the glue functions made for their result."""

    def __init__(self, glue_names: frozenset[str]):
        self.glue_names = glue_names

    def visit_Assert(self, node):  # noqa: N802 (ast visitor naming)
        return None

    def visit_Expr(self, node):  # noqa: N802
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and call.func.id in self.glue_names):
            return None
        return node

    def generic_visit(self, node):
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and not block and name == "body":
                block.append(ast.Pass())
        return node


def glue_functions(sources: list[str]) -> frozenset[str]:
    """``glue``, its aliases, and the page's helpers that call it."""
    names = {"glue", *(m.group(1) for s in sources for m in GLUE_IMPORT.finditer(s) if m.group(1))}
    trees = []
    for source in sources:
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            continue
    changed = True
    while changed:
        changed = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef) and node.name not in names and any(
                        isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in names for call in ast.walk(node)):
                    names.add(node.name)
                    changed = True
    return frozenset(names)


def without_checks(source: str, glue_names: frozenset[str] = frozenset()) -> str:
    """The cell's code without its ``assert`` statements and glue calls (unchanged if it has
    neither)."""
    words = set(re.findall(r"[A-Za-z_]\w*", source))
    if "assert" not in words and not words & glue_names:
        return source
    tree = _DropChecks(glue_names).visit(ast.parse(source))
    tree.body = [node for node in tree.body if not isinstance(node, ast.Pass)]
    return ast.unparse(tree)


def _bound_names(tree: ast.Module) -> tuple[set[str], bool]:
    """Names the code binds, and whether it does anything else a later cell could see
    (stores into attributes or items, or calls whose result it drops)."""
    names, effects = set(), False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Attribute | ast.Subscript) and isinstance(node.ctx, ast.Store):
            effects = True
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            effects = True
        elif isinstance(node, ast.Global | ast.Nonlocal | ast.Delete):
            effects = True
    return names, effects


def needed_later(source: str, later_sources: list[str]) -> bool:
    """Whether a hidden cell (checks already removed) matters to the cells after it."""
    if not source.strip():
        return False
    try:
        names, effects = _bound_names(ast.parse(source))
    except SyntaxError:
        return True
    if effects:
        return True
    later = set(re.findall(r"[A-Za-z_]\w*", "\n".join(later_sources)))
    return bool(names & later)


def glue_stand_in(source: str) -> str:
    """Replace ``from myst_nb import glue``: the site's value store is not needed here (the
    values are already in the text), and myst-nb is not part of a reader's environment."""
    def stand_in(match: re.Match) -> str:
        name = match.group(1) or "glue"
        return (f"def {name}(name, value, display=True):\n"
                f'    """Stands in for myst_nb.glue: the notebook text already shows the '
                f'values."""\n')
    return GLUE_IMPORT.sub(stand_in, source)


def _hide(cell: nbformat.NotebookNode, outputs: bool) -> None:
    cell.metadata.setdefault("jupyter", {})["source_hidden"] = True
    if outputs:
        cell.metadata["jupyter"]["outputs_hidden"] = True


def make_notebook(book: Book, page: str, glue: dict[str, str] | None) -> nbformat.NotebookNode:
    """The reader's notebook of one page (see the module docstring)."""
    source = jupytext.read(book.source(page))
    text = PageText(book, page, glue)
    cells = []
    folder = os.path.relpath(book.source(page).parent, notebook_path(page).parent)
    cells.append(nbformat.v4.new_code_cell(
        "# This notebook is made from the book's source; it runs in the source's folder.\n"
        f"import os\n\nif not os.path.exists({book.source(page).name!r}):\n"
        f"    os.chdir({pathlib.PurePosixPath(folder).as_posix()!r})",
        metadata={"jupyter": {"source_hidden": True, "outputs_hidden": True},
                  "tags": ["remove-cell"]}))
    code_sources = [cell.source for cell in source.cells if cell.cell_type == "code"]
    glue_names = glue_functions(code_sources)
    code_index = 0
    for cell in source.cells:
        if cell.cell_type == "markdown":
            markdown = text.markdown(cell.source)
            if markdown.strip():
                cells.append(nbformat.v4.new_markdown_cell(markdown))
            continue
        if cell.cell_type != "code":
            continue
        code_index += 1
        tags = set(cell.metadata.get("tags", []))
        hidden_input = bool(tags & {"remove-cell", "hide-input", "remove-input"})
        code = glue_stand_in(cell.source)
        if hidden_input:
            code = without_checks(code, glue_names)
        if "remove-cell" in tags and not needed_later(code, code_sources[code_index:]):
            continue
        metadata = {key: value for key, value in cell.metadata.items()
                    if key in ("tags", "mystnb")}
        new = nbformat.v4.new_code_cell(code, metadata=copy.deepcopy(metadata))
        if hidden_input:
            _hide(new, outputs="remove-cell" in tags)
        cells.append(new)
        figure = cell.metadata.get("mystnb", {}).get("figure", {})
        if figure.get("caption"):
            number = book.targets[figure["name"]].text if figure.get("name") else None
            caption = text.markdown(" ".join(figure["caption"].split()))
            lead = f"**{number}.** " if number else ""
            cells.append(nbformat.v4.new_markdown_cell(f"{lead}{caption}"))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
        "srlm": {"source": f"{page}.md"},
    }
    return notebook


def notebook_path(page: str) -> pathlib.Path:
    """Where the notebook of a page goes: ``notebooks/`` mirrors ``book/``."""
    return OUTPUT / f"{page.removeprefix('book/')}.ipynb"


def build(pages: list[str], book: Book, *, execute_pages: bool = True) -> list[pathlib.Path]:
    written = []
    for page in pages:
        began = time.perf_counter()
        path = book.source(page)
        glue: dict[str, str] = {}
        if execute_pages and "{glue:" in path.read_text():
            glue = glued_values(execute(jupytext.read(path), path.parent))
        notebook = make_notebook(book, page, glue if execute_pages else None)
        target = notebook_path(page)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.validate(notebook)
        nbformat.write(notebook, target)
        written.append(target)
        print(f"wrote {target.relative_to(ROOT)} ({time.perf_counter() - began:.1f} s)")
    return written


def main(arguments: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="book/NN_page.md files (default: every page)")
    options = parser.parse_args(arguments)
    book = read_book()
    if options.pages:
        pages = [str(pathlib.Path(p).resolve().relative_to(ROOT).with_suffix(""))
                 for p in options.pages]
        unknown = [page for page in pages if page not in book.pages]
        if unknown:
            parser.error(f"not pages of the book (_toc.yml): {unknown}")
    else:
        pages = book.pages
    build(pages, book)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
