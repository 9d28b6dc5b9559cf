"""The book's experiments: each one a function that returns plain numbers.

Every figure of the book is drawn from the numbers one of these functions returns, and the
command line prints the same numbers (``python -m srlm_kit experiment NAME --json``), so every
figure can be reproduced without a notebook. Functions take keyword arguments only (with
``seed`` among them whenever the experiment draws random numbers; an exact computation has
none) and return a JSON-serialisable ``dict`` (lists of floats, ints, strings).

The paper has no experiments; everything here is new material of the book.

Each topic module defines ``EXPERIMENTS = {"name": function, ...}``; they are merged below into
one table, :data:`EXPERIMENTS`, which the command line reads.
"""

from __future__ import annotations

from collections.abc import Callable

from srlm_kit.experiments import (
    beyond,
    explorer,
    failure,
    iterative,
    limits,
    linear,
    lower_bound,
    overview,
    practice,
    setup,
    transformer,
)

EXPERIMENTS: dict[str, Callable[..., dict]] = {**explorer.EXPERIMENTS, **practice.EXPERIMENTS,
                                               **setup.EXPERIMENTS, **iterative.EXPERIMENTS,
                                               **limits.EXPERIMENTS, **beyond.EXPERIMENTS,
                                               **failure.EXPERIMENTS, **lower_bound.EXPERIMENTS,
                                               **linear.EXPERIMENTS, **overview.EXPERIMENTS,
                                               **transformer.EXPERIMENTS}
