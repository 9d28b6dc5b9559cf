"""Figures of :mod:`srlm_kit.experiments.pooling`: T rounds of N/T triples against one round
of N.

The builder takes the experiment's result, which records its experiment and keyword arguments
(copied into the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import Curve, Slider, SliderFigure, coordinates, grid_figure, index_of


def rounds_versus_pooling(result: xr.Dataset, *,
                          div_id: str = "fig-09-pooling-plot") -> SliderFigure:
    """Failure after ``T`` rounds of ``N/T`` triples against one round of ``N`` (log x), with the
    closed form of one round at small beta; sliders ``T`` and ``beta``."""
    params = result.attrs
    first, last = coordinates(result, "N")[0], coordinates(result, "N")[-1]
    description = (
        "Line chart with a logarithmic horizontal axis. It shows the failure probability on the "
        "hard instance of Theorem 4.1 after a budget of N triples, from "
        f"{first} to {last}, spent in two ways: as T rounds of N/T triples each, and as one "
        "round of N triples (means over seeds with shaded bands of one standard deviation), "
        "and, dashed, the closed form for one round that holds when beta is small. A dotted "
        f"line marks the informative mass Delta = {params['Delta']:g}, the failure of the "
        "start. Two sliders choose T and beta. With beta = 0.05 the three curves coincide; "
        "with beta = 0.5 one round solves nothing and several rounds are needed.")
    rounds = [T for T in coordinates(result, "T") if T > 1]
    return grid_figure(
        result, x="N",
        sliders=[Slider("T", "rounds T = ", values=rounds, active=index_of(rounds, 4)),
                 Slider("beta", "β = ")],
        curves=[
            Curve.mean_and_band("T rounds of N/T triples (mean over seeds)", "split",
                                band_name="T rounds: ± 1 sd over seeds"),
            Curve.mean_and_band("one round of N triples (mean over seeds)", "pooled",
                                band_name="one round: ± 1 sd over seeds", dash="dot"),
            Curve("closed form, one round, small β", "pooled_expected", dash="dash",
                  color="#000000", mode="lines"),
        ],
        static_traces=[go.Scatter(
            x=[first, last], y=[params["Delta"]] * 2, mode="lines",
            name=f"start: failure Δ = {params['Delta']:g}",
            line={"color": "#999999", "dash": "dot", "width": 1.5}, hoverinfo="skip")],
        x_title="total triples N = n T", y_title="failure probability after the last round",
        log_x=True, y_range=[0.0, 1.1 * params["Delta"]], description=description,
        div_id=div_id)
