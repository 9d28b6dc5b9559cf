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
with a long chapter at the end while the other idles. A page's cost is what it took in a
measured build (``MEASURED_SECONDS``): the number of code cells, the estimate used before, put
the three most expensive pages among the last ones started.

Each page is read in a process forked from the main one. The kit reference's pages document the
kit with autodoc, which imports it: in every such process anew (2 to 5 s each) unless the main
process has imported it before forking (``import_kit``). Importing the kit starts no JAX backend
and no thread, so forking stays safe; the notebooks run in kernels of their own, unaffected.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
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


#: Seconds each notebook page took to execute in a clean strict build (myst-nb's "Executed
#: notebook in" lines; two pages at a time on 2 cores, shared with other jobs, 5 December 2026).
#: Only the reading order depends on them; refresh them when a page's cost changes much.
MEASURED_SECONDS = {
    "book/10_small_transformer": 98, "book/09_where_the_theory_stops": 67,
    "book/04_one_step_lower_bound": 60, "book/08_experiments": 60,
    "book/appendix/figure_gallery": 57, "book/05_iterative_bound": 57, "book/intro": 39,
    "book/01_self_rewarding_in_practice": 37, "book/07_linear_softmax": 33,
    "book/03_measuring_failure": 28, "book/06_how_many_rounds": 16, "book/02_setup": 16,
    "book/appendix/using": 10,
}


def estimated_cost(docname: str, source: Path) -> float:
    """A page's reading time in seconds, roughly: as measured (``MEASURED_SECONDS``) if listed;
    otherwise one second per code cell for a notebook (the small pages take 3 to 7 s, mostly
    starting a kernel), nothing for plain Markdown."""
    if docname in MEASURED_SECONDS:
        return MEASURED_SECONDS[docname]
    text = source.read_text(encoding="utf-8") if source.is_file() else ""
    return text.count("\n```{code-cell}") if "\nkernelspec:" in text else 0


def reading_order(app: Sphinx, env, docnames: list[str]) -> None:
    """``env-before-read-docs`` handler: the costliest pages first (in place, as Sphinx asks)."""
    if app.parallel <= 1:
        return
    costs = {name: estimated_cost(name, Path(env.doc2path(name))) for name in docnames}
    docnames.sort(key=lambda name: (-costs[name], name))


def import_kit(app: Sphinx, env, docnames: list[str]) -> None:
    """``env-before-read-docs`` handler: import every module of the kit in the main process, so
    that the reading processes forked from it find them imported (see the module docstring)."""
    if app.parallel <= 1:
        return
    threads = threading.active_count()
    # An import that fails is left to autodoc, which reports it on the page of the module.
    try:
        import srlm_kit
    except Exception:  # noqa: BLE001
        return
    for module in pkgutil.walk_packages(srlm_kit.__path__, "srlm_kit.", onerror=lambda name: None):
        if module.name.endswith("__main__"):  # it runs the command line
            continue
        try:
            importlib.import_module(module.name)
        except Exception:  # noqa: BLE001, S112
            continue
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized() or threading.active_count() > threads:
        raise ExtensionError(
            "importing srlm_kit started JAX's backend or a thread (a module computes an array "
            "when it is imported); the reading processes are forked after this import, and "
            "forking a multithreaded process can deadlock: compute the array on first use")


def setup(app: Sphinx) -> dict:
    if "merge_domaindata" not in vars(ProofDomain):
        ProofDomain.merge_domaindata = merge_nothing
    app.connect("config-inited", declare)
    app.connect("env-before-read-docs", reading_order)
    app.connect("env-before-read-docs", import_kit)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
