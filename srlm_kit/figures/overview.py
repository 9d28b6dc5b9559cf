"""The introduction's figure, drawn from the experiment ``paper_in_one_picture``.

Two panels over the round ``t`` that share the sliders ``n`` and ``kappa_0``: on top the
failure probability and the Theorem 5.3 bound, below the condition number ``kappa_t``.
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import Curve, Slider, SliderFigure, coordinates, grid_figure

EXPERIMENT = "paper_in_one_picture"

#: Vertical extent of the two panels (fractions of the plotting area): failure on top.
TOP_PANEL, BOTTOM_PANEL = (0.42, 1.0), (0.0, 0.3)


def paper_in_one_picture(result: xr.Dataset, *,
                         div_id: str = "fig-intro-overview-plot",
                         caption: str | None = None) -> SliderFigure:
    """Failure probability with the Theorem 5.3 bound (top) and ``kappa_t`` (bottom) against
    the round ``t``; sliders ``n`` (triples per round) and ``kappa_0`` (the start).

    Five traces: measured failure, the bound (hidden constant 1), the line at probability 1
    (a bound above it says nothing), measured ``kappa_t``, and the line ``kappa = 1`` (a
    deterministic policy). Both vertical axes are logarithmic; a failure of 0 is not drawn.
    """
    last_t = coordinates(result, "t")[-1]
    description = (
        "Two line charts over the round t, from 0 to "
        f"{last_t}, with logarithmic vertical axes. Top: the probability, over prompts, that "
        "the policy puts at most half of its mass on its own most likely response (mean over "
        "seeds), and, dashed, the upper bound of Theorem 5.3 with its hidden constant set to "
        "1; a dotted line marks probability 1. Bottom: the policy condition number kappa_t "
        "(mean over seeds), with a dotted line at 1. Two sliders choose the number n of "
        "triples per round and the initial condition number. From a diffuse start one round "
        "leaves most prompts failing; more rounds bring the failure and kappa_t down, while "
        "the bound stays above 1 and hardly moves with t.")
    figure = grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ", active=min(3, result.sizes["n"] - 1)),
                 Slider("kappa0", "initial condition number κ₀ = ",
                        active=result.sizes["kappa0"] - 1)],
        curves=[
            Curve("measured failure probability (mean over seeds)", "failure_mean"),
            Curve("Theorem 5.3 bound (hidden constant = 1)", "failure_bound", dash="dash",
                  color="#D55E00"),
            Curve("measured κ_t (mean over seeds)", "kappa_mean", color="#009E73"),
        ],
        static_traces=[
            go.Scatter(x=[0, last_t], y=[1.0, 1.0], mode="lines", name="probability 1",
                       line={"color": "#999999", "dash": "dot", "width": 1.5},
                       hoverinfo="skip"),
            go.Scatter(x=[0, last_t], y=[1.0, 1.0], mode="lines",
                       name="κ = 1 (deterministic policy)", xaxis="x2", yaxis="y2",
                       line={"color": "#000000", "dash": "dot", "width": 1.5},
                       hoverinfo="skip"),
        ],
        x_title="round t", y_title="P[max_y π_t(y|x) ≤ 1/2]", log_y=True, y_range=[-3, 3],
        description=description, caption=caption, div_id=div_id, height=560)
    _move_to_bottom_panel(figure.figure, "kappa_mean")
    return figure


def _move_to_bottom_panel(figure: go.Figure, field: str) -> None:
    """Draw the traces of ``field`` on a second panel below the first, sharing its x-axis.

    The sliders restyle traces by index, so moving a trace to other axes leaves them working.
    """
    for trace in figure.data:
        if (trace.meta or {}).get("field") == field:
            trace.update(xaxis="x2", yaxis="y2")
    first = figure.layout.xaxis
    figure.update_layout(
        yaxis={"domain": list(TOP_PANEL)},
        xaxis={"anchor": "y", "matches": "x2", "showticklabels": False, "title": None},
        xaxis2={"anchor": "y2", "title": first.title, "type": first.type},
        yaxis2={"domain": list(BOTTOM_PANEL), "type": "log", "title": {"text": "κ(π_t)"},
                "anchor": "x2"})
