"""Figures of chapter 9, "Where the theory stops", from :mod:`srlm_kit.experiments.limits`.

Each builder takes the experiment's result, which records its experiment and keyword arguments
(copied into the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import Curve, Slider, SliderFigure, coordinates, grid_figure


def _active(values, preferred) -> int:
    return values.index(preferred) if preferred in values else 0


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
        sliders=[Slider("T", "rounds T = ", values=rounds, active=_active(rounds, 4)),
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


def self_versus_frozen_reward(result: xr.Dataset, *,
                              div_id: str = "fig-09-frozen-plot") -> SliderFigure:
    """Excess condition number ``kappa_t - 1`` (log y) under the self-reward and under the frozen
    reward ``log pi_0``, simulated and exact; sliders ``n`` and ``beta``."""
    last_t = coordinates(result, "t")[-1]
    description = (
        "Line chart with a logarithmic vertical axis. It shows the excess condition number "
        f"kappa minus 1 after each round t from 0 to {last_t}, when the reward is the current "
        "model's own log-probability (self-rewarding) and when it is frozen at the initial "
        "model's log-probability: simulated with n triples per round (means over seeds with "
        "shaded bands of one standard deviation) and with infinite data (dashed). Two sliders "
        "choose n and beta. Both rewards make kappa contract, at nearly the same pace when "
        "data are finite; with infinite data the self-reward's curve plunges off the chart "
        "(doubly exponential) while the frozen reward's falls along a straight line.")
    n_values = coordinates(result, "n")
    betas = coordinates(result, "beta")
    figure = grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ", active=_active(n_values, 100)),
                 Slider("beta", "β = ", active=_active(betas, 0.5))],
        curves=[
            Curve.mean_and_band("self-reward log π_t, n triples (mean)", "excess",
                                fixed={"reward": "self"},
                                band_name="self-reward: ± 1 sd over seeds"),
            Curve.mean_and_band("frozen reward log π_0, n triples (mean)", "excess",
                                fixed={"reward": "frozen"},
                                band_name="frozen reward: ± 1 sd over seeds"),
            Curve("self-reward, infinite data", "population_excess", fixed={"reward": "self"},
                  dash="dash", color="#0072B2", mode="lines+markers"),
            Curve("frozen reward, infinite data", "population_excess",
                  fixed={"reward": "frozen"}, dash="dash", color="#D55E00",
                  mode="lines+markers"),
        ],
        x_title="round t", y_title="excess condition number κ(π_t) − 1", log_y=True,
        y_range=[-12, 1.2], description=description, div_id=div_id)
    # Powers of ten (10^-6) rather than SI prefixes (1µ), which read oddly for a probability.
    figure.figure.update_yaxes(exponentformat="power", dtick=2)
    return figure
