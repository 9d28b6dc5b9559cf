"""The book's experiments: each one a function that returns a labelled grid.

Every figure of the book is drawn from the :class:`xarray.Dataset` one of these functions
returns, and the command line prints the same numbers as JSON
(``python -m srlm_kit experiment NAME --json``), so every figure can be reproduced without a
notebook. Functions take keyword arguments only (with ``seed`` among them whenever the
experiment draws random numbers; an exact computation has none). A result's dimensions are what
the experiment varies, its data variables what it measures (a variable with a last axis
``band`` holds the mean over seeds and the band around it, :func:`common.band`), its ``attrs``
the settings and scalar findings.

The paper has no experiments; everything here is new material of the book.

Every experiment is registered once, as a short spec, in :mod:`srlm_kit.experiments.registry`;
:data:`EXPERIMENTS` maps each name to its function and is what the command line reads.
"""

from __future__ import annotations

from srlm_kit.experiments.registry import EXPERIMENTS, SPECS

__all__ = ["EXPERIMENTS", "SPECS"]
