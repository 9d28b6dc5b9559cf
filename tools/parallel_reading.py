"""Sphinx extension: let the book's pages be read, and so executed, two at a time.

Sphinx reads pages in parallel (``tools/build_book.py`` asks for it) only if every extension
says it may (``parallel_read_safe``); one that says nothing makes it warn, which the strict build
turns into an error, and read serially. Three extensions of the build say nothing, and none
keeps per-page state that parallel reading would lose:

- ``sphinx_multitoc_numbering`` replaces the function that numbers sections, which runs in the
  main process after every page has been read;
- ``sphinx-mathjax-offline`` sets ``mathjax_path`` and copies MathJax when the build ends;
- ``sphinx_jupyterbook_latex`` sets two flags on the environment when the builder starts
  (before the reading processes are forked) and adds transforms for the LaTeX builder only.

And ``sphinx_proof`` says it may, but its domain lacks the method that merges a reading
process's domain data (Sphinx stops the build without it). The domain keeps no data: the list of
proofs lives in ``env.proof_list``, which the extension merges itself (``env-merge-info``). The
method added here (``merge_nothing``) has nothing to merge.

Reading a notebook page is executing it, and the pages differ a hundredfold in cost (a
chapter's simulations against a table of assignments). The pages are handed out one at a time
to whichever process is free, the costliest first (``reading_order``), so that no process is left
with a long chapter at the end while the other idles.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx_proof.domain import ProofDomain

DECLARED_SAFE = ("sphinx_multitoc_numbering", "sphinx-mathjax-offline",
                 "sphinx_jupyterbook_latex")


def declare(app: Sphinx, config) -> None:
    """``config-inited`` handler (every extension is loaded by then)."""
    for name in DECLARED_SAFE:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True


def merge_nothing(self, docnames, otherdata) -> None:
    """``ProofDomain.merge_domaindata``: the domain's data is empty (see the module docstring)."""
    assert set(self.data) <= {"version"} and set(otherdata) <= {"version"}, (
        "sphinx_proof's domain now keeps data: merge it instead")


def estimated_cost(source: Path) -> int:
    """A page's share of the reading time, roughly: its code cells (each a step of a chapter's
    computation) if it is a notebook, nothing if it is plain Markdown."""
    text = source.read_text(encoding="utf-8") if source.is_file() else ""
    return text.count("\n```{code-cell}") if "\nkernelspec:" in text else 0


def reading_order(app: Sphinx, env, docnames: list[str]) -> None:
    """``env-before-read-docs`` handler: the costliest pages first (in place, as Sphinx asks)."""
    if app.parallel <= 1:
        return
    costs = {name: estimated_cost(Path(env.doc2path(name))) for name in docnames}
    docnames.sort(key=lambda name: (-costs[name], name))


def setup(app: Sphinx) -> dict:
    if "merge_domaindata" not in vars(ProofDomain):
        ProofDomain.merge_domaindata = merge_nothing
    app.connect("config-inited", declare)
    app.connect("env-before-read-docs", reading_order)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
