"""Figures of :mod:`srlm_kit.experiments.near_ties`: the failure from a near tie against its
margin, beside the exact update and the Theorem 5.3 bound."""

from __future__ import annotations

import xarray as xr

from srlm_kit.figures.core import (
    Curve,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    horizontal_line,
    powers_of_ten,
    rounds_slider,
)


def failure_over_margin(result: xr.Dataset, *, div_id: str = "fig-08-margin-plot",
                        caption: str | None = None) -> SliderFigure:
    """Failure after T rounds and the Theorem 5.3 bound against the initial margin (log-log)."""
    margins = coordinates(result, "gamma0")
    description = (
        "Line chart with logarithmic axes against the initial margin gamma zero between the most "
        f"likely response and its nearest competitor, from {margins[0]:g} to "
        f"{margins[-1]:g}: the failure probability after T rounds of self-rewarding (mean "
        "over seeds with a band), the share of prompts on which the initial mode no longer "
        "has more than half of the mass, the failure of the exact infinite-data update, and, "
        "dashed, the bound of Theorem 5.3 with every hidden constant set to 1 at the measured "
        "margin and confidence. A dotted line marks probability 1. Sliders choose T and the "
        "number of nearly tied responses. The bound grows like one over the margin and is far "
        "above 1; the measured failure depends on the margin only through the number of "
        "rounds it takes to vanish.")
    return powers_of_ten(grid_figure(
        result, x="gamma0",
        sliders=[rounds_slider(result), Slider("tied", "nearly tied responses K_tie = ")],
        curves=[
            Curve.mean_and_band("failure: max_y π_T(y|x) ≤ 1/2 (mean over seeds)", "failure",
                                band_name="failure: ± 1 sd over seeds"),
            Curve("π₀'s mode not kept: π_T(y₀|x) ≤ 1/2", "lost_mode_mean", color="#CC79A7"),
            Curve("infinite data: failure", "population_failure", dash="dot", color="#009E73"),
            Curve("Theorem 5.3 bound (hidden constants = 1)", "bound", dash="dash",
                  color="#D55E00"),
        ],
        static_traces=[horizontal_line(margins, 1.0, "probability 1")],
        x_title="initial margin γ₀", y_title="probability (bound: its value)",
        log_x=True, log_y=True, y_range=[-3.2, 6.5], description=description,
        caption=caption, div_id=div_id))
