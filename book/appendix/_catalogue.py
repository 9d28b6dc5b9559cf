"""Which page of the book uses which experiment, read from the chapters' sources.

Shared by the appendix pages that are generated when the book is built: ``reproducing.md`` (every
experiment with the figures that use it) and the kit reference's experiment pages
(``kit/experiments_*.md``, the experiment modules grouped by the part of the book that first uses
them, each documented by :func:`module_reference`). Nothing here runs a chapter: the sources are
parsed.

A page uses an experiment when one of its code cells names it (a string equal to a name
registered in :mod:`srlm_kit.experiments.registry`, as in ``EXPERIMENTS["name"](...)``), calls a
registered function by its own name (``module.function(...)``), or reads a variable assigned
from such a cell in an earlier one; a figure is a code cell with a ``mystnb: figure: name:``
label. Nothing here keeps a list of which page uses which experiment.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import jupytext
import yaml

import srlm_kit.experiments
from srlm_kit.experiments import EXPERIMENTS

ROOT = Path(__file__).resolve().parents[2]



def toc_parts() -> list[list[Path]]:
    """The table of contents as a list of parts, each a list of page sources (``.md``)."""

    def files(node):
        if isinstance(node, dict):
            if "file" in node:
                yield node["file"]
            for key in ("chapters", "sections"):
                yield from files(node.get(key, []))
        elif isinstance(node, list):
            for item in node:
                yield from files(item)

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = [[ROOT / f"{toc['root']}.md"]] + [list(map(lambda f: ROOT / f"{f}.md", files(part)))
                                             for part in toc.get("parts", [])]
    return [[page for page in part if page.is_file()] for part in parts]


def experiment_pages() -> tuple[tuple[str, tuple[int, ...] | None], ...]:
    """The kit reference's pages of experiment modules, read from the table of contents:
    ``(file stem, parts of the book it covers)``. A page ``kit/experiments_part_3`` or
    ``kit/experiments_parts_1_2`` covers the parts its name numbers (as indices in the table of
    contents after the root page); the first page also covers the introduction (-1), the last
    (``None``) every later part and the modules that no page uses."""
    stems = re.findall(r"file: book/appendix/kit/(experiments_parts?(?:_\d+)+)\s*$",
                       (ROOT / "_toc.yml").read_text(), re.M)
    pages = [[stem, tuple(int(number) - 1 for number in re.findall(r"\d+", stem))]
             for stem in stems]
    pages[0][1] = (-1, *pages[0][1])
    pages[-1][1] = None
    return tuple((stem, covered) for stem, covered in pages)


#: The pages of :func:`experiment_pages`.
GROUPS = experiment_pages()


def _called(tree: ast.AST, variables: dict[str, str]) -> list[str]:
    by_function = {function.__name__: name for name, function in EXPERIMENTS.items()}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in EXPERIMENTS:
                found.append(node.value)
        elif isinstance(node, ast.Call):
            function = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", None)
            if function in by_function:
                found.append(by_function[function])
        elif isinstance(node, ast.Name) and node.id in variables:
            found.append(variables[node.id])
    return list(dict.fromkeys(found))


def uses(path: Path) -> list[tuple[str, str | None]]:
    """``(experiment, figure label or None)`` for every use on one page, in reading order."""
    if not path.read_text().startswith("---\njupytext"):
        return []  # a plain Markdown page has no code cells
    variables, found = {}, []
    for cell in jupytext.read(path).cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: no experiment call to find
            continue
        called = _called(tree, variables)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign):
                value = _called(node.value, variables)
                for target in node.targets:
                    if isinstance(target, ast.Name) and len(value) == 1:
                        variables[target.id] = value[0]
        label = cell.metadata.get("mystnb", {}).get("figure", {}).get("name")
        found += [(name, label) for name in called]
    return found


def catalogue() -> dict:
    """Every experiment's uses: ``used_by[name] = {page: [figure labels]}``, and
    ``first_seen[name] = (part, page, position)`` of its first use in reading order."""
    used_by = {name: {} for name in EXPERIMENTS}
    first_seen = {}
    page_index = 0
    for part_index, part in enumerate(toc_parts()):
        for page in part:
            for position, (name, label) in enumerate(uses(page)):
                first_seen.setdefault(name, (part_index, page_index, position))
                labels = used_by[name].setdefault(page, [])
                if label and label not in labels:
                    labels.append(label)
            page_index += 1
    return {"used_by": used_by, "first_seen": first_seen}


def module_groups() -> dict[str, list[str]]:
    """The experiment modules on each page of :data:`GROUPS`, by the part of the book (index in
    the table of contents, after the root page) where one of their experiments is first used."""
    seen = catalogue()["first_seen"]
    groups = {stem: [] for stem, _ in GROUPS}
    package = srlm_kit.experiments
    # The registry holds every experiment's spec; the experiments page documents it.
    modules = [f"{package.__name__}.{info.name}" for info in pkgutil.iter_modules(package.__path__)
               if not info.name.startswith("_") and info.name != "registry"]
    for module in modules:
        parts = [seen[name][0] - 1 for name, function in EXPERIMENTS.items()
                 if function.__module__ == module and name in seen]
        first = min(parts) if parts else None
        stem = next((stem for stem, covered in GROUPS
                     if covered is not None and first in covered), GROUPS[-1][0])
        groups[stem].append(module)
    return groups


#: Module-level tables documented by :func:`module_reference`, with their description.
TABLES = {"DERIVATIONS": "This module's SymPy derivations (each returns a "
                         ":class:`~srlm_kit.theory.core.Derivation`)"}


def _entries(value) -> str:
    if isinstance(value, dict):
        return ", ".join(f"``{key}`` (:func:`~{function.__module__}.{function.__name__}`)"
                         for key, function in value.items())
    return ", ".join(f":func:`~{function.__module__}.{function.__name__}`" for function in value)


def module_reference(name: str) -> str:
    """MyST for one module of the kit: a heading, its docstrings (autodoc), and its tables
    (``EXPERIMENTS``, ``DERIVATIONS``) with links to their functions. The tables have no
    docstring of their own, so they are written out here (and excluded from autodoc, so that a
    table that gains a docstring is not documented twice)."""
    module = importlib.import_module(name)
    tables = [table for table in TABLES if hasattr(module, table)]
    lines = [f"## `{name}`", "", "```{eval-rst}", f".. automodule:: {name}", "   :members:"]
    if tables:
        lines.append(f"   :exclude-members: {', '.join(tables)}")
    for table in tables:
        lines += ["", f".. py:data:: {table}", f"   :module: {name}", "",
                  f"   {TABLES[table]}: {_entries(getattr(module, table))}."]
    return "\n".join([*lines, "```"])
