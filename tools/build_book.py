"""Build the book like ``jupyter-book build``, reading (and so executing) pages in parallel.

Usage: ``python tools/build_book.py [--jobs N] [jupyter-book build options] PATH``. Jupyter Book
1's command line has no option for Sphinx's parallel reading (``sphinx-build -j``), and reading a
page is where myst-nb executes it: with two jobs, two pages execute at the same time, one per
core. Everything else is ``jupyter-book build`` itself (the same configuration, output folders
and strict flags). ``--jobs`` defaults to ``BOOK_JOBS`` or the number of cores.

Sphinx hands each process a fixed batch of about a third of the pages, in name order, which
would put every chapter into one batch; here each page is a batch of its own, taken by whichever
process is free (``tools/parallel_reading.py`` orders them, the costliest first).
"""

from __future__ import annotations

import functools
import os
import sys

import sphinx.builders
from jupyter_book import sphinx as jupyter_book_sphinx
from jupyter_book.cli import main as jupyter_book_cli


def one_page_per_batch(docnames: list[str], nproc: int, maxbatch: int = 10) -> list[list[str]]:
    """Replaces ``sphinx.util.parallel.make_chunks``: one page per batch, started in the order of
    ``docnames``.

    Sphinx (7.4, ``ParallelTasks``) starts the first ``nproc`` batches at once and the waiting
    ones last in, first out; so the batches after the first ``nproc`` are handed over reversed.
    """
    batches = [[name] for name in docnames]
    return batches[:nproc] + batches[nproc:][::-1]


def main(arguments: list[str]) -> int:
    jobs = int(os.environ.get("BOOK_JOBS", os.cpu_count() or 1))
    if arguments[:1] == ["--jobs"]:
        jobs, arguments = int(arguments[1]), arguments[2:]
    if jobs < 1:
        raise SystemExit(f"--jobs must be a whole number of at least 1, got {jobs}")
    sphinx.builders.make_chunks = one_page_per_batch
    # The build command imports build_sphinx from jupyter_book.sphinx when it runs.
    jupyter_book_sphinx.build_sphinx = functools.partial(jupyter_book_sphinx.build_sphinx,
                                                         jobs=jobs)
    return jupyter_book_cli.main(["build", *arguments], standalone_mode=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
