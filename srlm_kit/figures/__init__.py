"""Static Plotly figures of the book, built at book-build time from the kit's numbers.

Plotting lives here and only here: the numeric modules (policies, instances, dynamics, metrics,
theory, bounds, experiments) never import plotly.

:mod:`srlm_kit.figures.core` holds the machinery every interactive figure uses (sliders that
compose on a static page, bands, text alternatives); one module per topic holds the builders of
that topic's figures (:mod:`srlm_kit.figures.explorer` for the figure gallery).
"""

from srlm_kit.figures import explorer, overview
from srlm_kit.figures.core import (
    PALETTE,
    SIGNIFICANT_DIGITS,
    Curve,
    Slider,
    SliderFigure,
    expected_traces,
    grid_figure,
    lookup,
    round_significant,
)

__all__ = [
    "PALETTE", "SIGNIFICANT_DIGITS", "Curve", "Slider", "SliderFigure", "expected_traces",
    "explorer", "grid_figure", "lookup", "overview", "round_significant",
]
