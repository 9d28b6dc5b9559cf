"""The book and the kit's docstrings speak to readers, and their provenance marks can be checked.

* No page of ``book/`` (chapters, appendices, classroom pages) and no docstring of the kit names a
  file a reader does not have: the developers' background notes, or the test files.
* Every provenance mark that says a formula was reconstructed points, inside its brackets, at an
  entry of the appendix "How the formulas were recovered" (``book/appendix/recovered.md``), and
  every such entry that a page or a docstring names exists.
* The notation appendix lists each symbol once, says where it is first used, and letters that
  the book reserves for one meaning appear only in the pages of that meaning.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import srlm_kit

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
KIT = Path(srlm_kit.__file__).resolve().parent
RECOVERED = BOOK / "appendix" / "recovered.md"

#: Names of files a reader of the book does not have.
DEVELOPER_REFERENCES = ("paper-notes", "related-work §", "site-engineering", "../shared", "tests/")

#: The entries of the appendix, one per source of a formula (the shared list of labels).
RECOVERED_LABELS = {
    "recovered-sources", "recovered-setting", "recovered-self-reward", "recovered-data",
    "recovered-gibbs", "recovered-square-loss", "recovered-erm-tie-break", "recovered-operator",
    "recovered-beta", "recovered-failure", "recovered-kappa", "recovered-thm-4-1",
    "recovered-rem-4-2", "recovered-lambert-w", "recovered-asm-5-1", "recovered-def-5-2",
    "recovered-thm-5-3", "recovered-rem-5-4", "recovered-cor-5-7", "recovered-lem-c-1",
    "recovered-one-round", "recovered-tail-integral", "recovered-contraction",
    "recovered-algebra", "recovered-def-6-1", "recovered-thm-6-2", "recovered-cor-6-4",
    "recovered-covering", "recovered-effective-dimension", "recovered-reviews",
    "recovered-unstated", "recovered-judge", "recovered-dpo", "recovered-huang",
    "recovered-book-own",
}

_LABEL_TARGET = re.compile(r"^\((recovered-[a-z0-9-]+)\)=\s*$", re.M)
_LABEL_USE = re.compile(r"(?<![\w-])recovered-[a-z0-9]+(?:-[a-z0-9]+)*")
#: A "reconstructed" provenance mark: square brackets opening with the word, none inside.
_RECONSTRUCTED_MARK = re.compile(r"\[\s*reconstructed\b[^\[\]]*\]")
#: The form of the mark named in a legend ("[reconstructed, from X]"): a description, not a mark.
_PLACEHOLDER = re.compile(r"\[\s*reconstructed(?:,\s*from)?,?\s*(?:X|…|\.\.\.)\s*\]")


# --------------------------------------------------------------------------------------------
# What is read: the pages of the book and the kit's docstrings
# --------------------------------------------------------------------------------------------


def book_pages() -> list[Path]:
    """Every Markdown page under ``book/`` (chapters, appendices, classroom pages)."""
    return sorted(BOOK.rglob("*.md"))


def kit_files() -> list[Path]:
    return sorted(KIT.rglob("*.py"))


def docstrings(path: Path) -> list[tuple[str, str]]:
    """``(where, docstring)`` for the module and every class and function of one kit file."""
    tree = ast.parse(path.read_text())
    found = []
    for node in [tree, *ast.walk(tree)]:
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            text = ast.get_docstring(node, clean=False)
            if text:
                name = getattr(node, "name", "module docstring")
                found.append((f"{path.relative_to(KIT.parent)}: {name}", text))
    return list(dict.fromkeys(found))


def _id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def developer_references(text: str) -> list[str]:
    """The names of reader-inaccessible files that ``text`` mentions."""
    return [name for name in DEVELOPER_REFERENCES if name in text]


def unpointed_marks(text: str) -> list[str]:
    """The "reconstructed" marks of ``text`` with no ``recovered-...`` entry inside them."""
    return [" ".join(mark.split()) for mark in _RECONSTRUCTED_MARK.findall(text)
            if not _LABEL_USE.search(mark) and not _PLACEHOLDER.fullmatch(mark)]


def defined_labels() -> set[str]:
    return set(_LABEL_TARGET.findall(RECOVERED.read_text()))


# --------------------------------------------------------------------------------------------
# The finders see what they must (guards against tests that cannot fail)
# --------------------------------------------------------------------------------------------


def test_finders_on_known_text():
    text = ("A [reconstructed, from the Huang et al. template] formula; another [reconstructed, "
            "by algebra; {ref}`recovered-gibbs`]; a list x[0]; [1, reconstructed]; "
            "see paper-notes §4.6 and tests/test_bounds.py.")
    assert unpointed_marks(text) == ["[reconstructed, from the Huang et al. template]"]
    assert developer_references(text) == ["paper-notes", "tests/"]
    assert _LABEL_USE.findall("{ref}`recovered-thm-5-3` and :ref:`recovered-book-own`.") == [
        "recovered-thm-5-3", "recovered-book-own"]
    assert not _LABEL_USE.findall("(appendix-recovered)= the recovered-ness of x")[1:]
    assert unpointed_marks("the form [reconstructed, from X] or [reconstructed, …]") == []
    marks = unpointed_marks("[reconstructed, from the\n   reviewer's quotation]")
    assert marks == ["[reconstructed, from the reviewer's quotation]"]


def test_the_book_and_the_kit_are_read():
    pages = {_id(page) for page in book_pages()}
    assert {"book/intro.md", "book/appendix/recovered.md", "book/05_iterative_bound.md"} <= pages
    assert any(page.startswith("book/classroom/") for page in pages)
    found = dict(text for path in kit_files() for text in docstrings(path))
    assert "Theorem 5.3" in found["srlm_kit/bounds.py: theorem_5_3_bound"]
    assert "srlm_kit/dynamics.py: module docstring" in found


# --------------------------------------------------------------------------------------------
# The appendix has one entry per label
# --------------------------------------------------------------------------------------------


def test_recovered_appendix_has_exactly_the_shared_labels():
    text = RECOVERED.read_text()
    assert defined_labels() == RECOVERED_LABELS
    for label in RECOVERED_LABELS:  # each target is followed by its entry's heading
        assert re.search(rf"^\({re.escape(label)}\)=\n## \S", text, re.M), label


# --------------------------------------------------------------------------------------------
# Pages and docstrings
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", book_pages(), ids=_id)
def test_page_names_no_developer_file(page):
    assert not developer_references(page.read_text())


@pytest.mark.parametrize("path", kit_files(), ids=lambda path: path.relative_to(KIT.parent)
                         .as_posix())
def test_kit_docstrings_name_no_developer_file(path):
    problems = [f"{where}: {developer_references(text)}" for where, text in docstrings(path)
                if developer_references(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", book_pages(), ids=_id)
def test_page_points_at_existing_entries_and_every_reconstruction_at_one(page):
    text = page.read_text()
    missing = sorted(set(_LABEL_USE.findall(text)) - defined_labels())
    assert not missing, f"entries that do not exist: {missing}"
    if page != RECOVERED:  # the appendix defines the marks; its entries are the targets
        marks = unpointed_marks(text)
        assert not marks, f"reconstructed marks with no entry: {marks}"


@pytest.mark.parametrize("path", kit_files(), ids=lambda path: path.relative_to(KIT.parent)
                         .as_posix())
def test_kit_docstrings_point_at_existing_entries_and_every_reconstruction_at_one(path):
    labels, problems = defined_labels(), []
    for where, text in docstrings(path):
        missing = sorted(set(_LABEL_USE.findall(text)) - labels)
        if missing:
            problems.append(f"{where}: entries that do not exist: {missing}")
        problems += [f"{where}: no entry in {mark}" for mark in unpointed_marks(text)]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------------------------
# One notation: the symbol table lists each symbol once, and reserved letters stay in their pages
# --------------------------------------------------------------------------------------------

NOTATION = BOOK / "appendix" / "notation.md"

#: Inline and display mathematics of a page (``$...$``, ``$$...$$``), figure captions included.
_MATH = re.compile(r"\$\$.+?\$\$|(?<![$\\])\$(?!\$)[^$\n]+?(?<!\\)\$(?!\$)", re.S)
#: A row of a symbol table: its first cell holds one or more symbols, each in ``$...$``.
_TABLE_ROW = re.compile(r"^\| (\$.+?) \| (.+?) \|(.*)$", re.M)
_FIRST_USE = re.compile(r"\{doc\}`\.\./([\w./-]+)`|\{ref\}`([\w-]+)`")

#: Letters that mean one thing in the book, and the pages whose mathematics may write them: the
#: chapters where that meaning lives, the notation table and the provenance appendix (which
#: quotes the sources). A letter written elsewhere means something else there.
RESERVED = {
    "failure level epsilon": (r"\\varepsilon(?!_)", {
        "04_one_step_lower_bound.md", "notation.md", "recovered.md"}),
    "ridge lambda, no eigenvalue lambda_j": (r"\\lambda_", {"notation.md"}),
    "per-token probability alpha": (r"\\alpha", {
        "03_measuring_failure.md", "04_one_step_lower_bound.md", "10_small_transformer.md",
        "notation.md", "recovered.md"}),
    "judge noise sigma": (r"\\sigma(?![A-Za-z])", {
        "01_self_rewarding_in_practice.md", "08_experiments.md", "notation.md"}),
    "length feature ell": (r"\\ell(?![A-Za-z])", {
        "01_self_rewarding_in_practice.md", "08_experiments.md", "09_where_the_theory_stops.md",
        "notation.md"}),
    "recursion coefficient B": (r"(?<![A-Za-z\\])B(?![A-Za-z'])", {
        "05_iterative_bound.md", "notation.md", "recovered.md"}),
    "recursion coefficient C": (r"(?<![A-Za-z\\])C(?![A-Za-z_])", {
        "05_iterative_bound.md", "notation.md", "recovered.md"}),
    "budget N = nT": (r"(?<![A-Za-z\\])N(?![A-Za-z])", {
        "09_where_the_theory_stops.md", "notation.md"}),
    "feature dimension d": (r"(?<![A-Za-z\\])d(?![A-Za-z])", {
        "07_linear_softmax.md", "09_where_the_theory_stops.md", "10_small_transformer.md",
        "notation.md", "recovered.md"}),
    "sharpening power c": (r"(?<![A-Za-z\\])c(?![A-Za-z])", {
        "02_setup.md", "07_linear_softmax.md", "08_experiments.md", "notation.md",
        "recovered.md", "05_iterative_bound.md"}),
}


def math_segments(text: str) -> list[str]:
    """The mathematics of a page, with ``\\mathrm{...}``, ``\\text{...}``, ``\\operatorname{...}``
    and ``\\mathcal{...}`` letters removed (a calligraphic letter is another symbol)."""
    return [re.sub(r"\\(?:mathrm|text|operatorname|mathcal)\{[^}]*\}", "", segment)
            for segment in _MATH.findall(text)]


def notation_rows() -> list[tuple[list[str], str]]:
    """``(symbols, first use)`` for every row of the notation appendix's tables; a symbol is
    written without spaces so that ``$f \\lesssim g$`` and ``$f\\lesssim g$`` are one."""
    rows = []
    for first, _meaning, rest in _TABLE_ROW.findall(NOTATION.read_text()):
        symbols = [re.sub(r"\s+", "", symbol) for symbol in re.findall(r"\$([^$]+)\$", first)]
        rows.append((symbols, rest))
    return rows


def test_notation_finders_on_known_text():
    assert math_segments("a $x$, $$\\frac{a}{b}$$ and \\$5 and $\\mathrm{fail}(T)$") == [
        "$x$", "$$\\frac{a}{b}$$", "$(T)$"]
    row = "| $\\kappa_t$, $\\kappa_0$ | condition number | {doc}`../03_measuring_failure` | |"
    (first, _, rest), = _TABLE_ROW.findall(row)
    assert re.findall(r"\$([^$]+)\$", first) == ["\\kappa_t", "\\kappa_0"]
    assert _FIRST_USE.findall(rest) == [("03_measuring_failure", "")]
    pattern, _ = RESERVED["failure level epsilon"]
    assert re.search(pattern, "$\\varepsilon = 1$")
    assert not re.search(pattern, "$\\varepsilon_{\\mathrm{stat}}$")


def test_notation_lists_every_symbol_once():
    rows = notation_rows()
    assert len(rows) > 80, "the notation tables were not found"
    seen: dict[str, int] = {}
    for number, (symbols, _) in enumerate(rows):
        for symbol in symbols:
            assert symbol not in seen, f"{symbol} is listed in rows {seen[symbol]} and {number}"
            seen[symbol] = number


def test_notation_says_where_each_symbol_is_first_used():
    labels = {match for page in book_pages()
              for match in re.findall(r"^\(([\w-]+)\)=\s*$", page.read_text(), re.M)}
    for symbols, rest in notation_rows():
        uses = _FIRST_USE.findall(rest)
        assert uses, f"{symbols}: no first use"
        document, label = uses[0]
        if document:
            assert (NOTATION.parent / f"../{document}.md").resolve().exists(), (symbols, document)
        else:
            assert label in labels, (symbols, label)


@pytest.mark.parametrize("meaning", sorted(RESERVED))
def test_reserved_letters_keep_one_meaning(meaning):
    pattern, allowed = RESERVED[meaning]
    used_in = {page.name for page in book_pages()
               if any(re.search(pattern, segment) for segment in math_segments(page.read_text()))}
    assert used_in & allowed, f"{meaning}: the finder sees no use at all"
    assert used_in <= allowed, f"{meaning}: also written in {sorted(used_in - allowed)}"
