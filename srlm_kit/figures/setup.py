"""Figures of chapter 2, drawn from the experiment ``population_sharpening``, and the display of
the kit's SymPy derivations as numbered display equations.
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import PALETTE, Curve, Slider, SliderFigure, coordinates, grid_figure

EXPERIMENT = "population_sharpening"

# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _kappa0_slider(result: xr.Dataset, active_value: float = 4.0) -> Slider:
    values = coordinates(result, "kappa0")
    active = values.index(active_value) if active_value in values else 0
    return Slider("kappa0", "initial condition number κ₀ = ", active=active)


def top_probability_over_rounds(result: xr.Dataset, *,
                                div_id: str = "fig-02-top-probability-plot") -> SliderFigure:
    """Top probability ``max_y pi_t(y|x)`` of the exact iteration against the round, one curve
    per beta, a slider over the initial condition number."""
    params = result.attrs
    betas = coordinates(result, "beta")
    description = (
        "Line chart. It shows the probability of the most likely response after each round t "
        f"from 0 to {coordinates(result, 't')[-1]} of the exact, infinite-data self-rewarding "
        "iteration, "
        f"starting from a policy over {params['num_responses']} responses, one curve for each "
        f"value of beta ({', '.join(f'{b:g}' for b in betas)}). A dotted line marks "
        "probability one half. A slider chooses the initial condition number. Every curve "
        "rises to 1; the smaller beta, the fewer rounds it takes.")
    curves = [Curve(f"β = {beta:g}", "top_probability", fixed={"beta": beta},
                    color=PALETTE[number % len(PALETTE)])
              for number, beta in enumerate(betas)]
    return grid_figure(
        result, x="t", sliders=[_kappa0_slider(result)],
        curves=curves,
        static_traces=[go.Scatter(
            x=[coordinates(result, "t")[0], coordinates(result, "t")[-1]], y=[0.5, 0.5],
            mode="lines",
            name="probability 1/2", line={"color": "#999999", "dash": "dot", "width": 1.5},
            hoverinfo="skip")],
        x_title="round t", y_title="top probability max_y π_t(y|x)", y_range=[0.0, 1.03],
        description=description, div_id=div_id)


def margin_over_rounds(result: xr.Dataset, *,
                       div_id: str = "fig-02-margin-plot") -> SliderFigure:
    """The margin ``gamma_t`` (log-odds of the mode against the runner-up) on a log axis: the kit's
    exact iteration and the closed form ``b (1 + 1/beta)^t``, sliders beta and kappa0."""
    params = result.attrs
    floor = -params["log_floor"]
    description = (
        "Line chart with a logarithmic vertical axis. It shows the log-odds of the most likely "
        "response against the second most likely after each round t from 0 to "
        f"{coordinates(result, 't')[-1]} of the exact self-rewarding iteration: computed by the "
        "kit "
        "(markers) and from the closed form b times (1 + 1/beta) to the power t (dashed). Two "
        "sliders choose beta and the initial condition number. Both are straight lines, so the "
        "log-odds grow exponentially and the odds of the runner-up fall doubly exponentially. "
        f"A dotted line marks {floor:g}, where the kit's stored log-probabilities reach their "
        "floor and its curve stops rising.")
    beta_values = coordinates(result, "beta")
    beta_active = beta_values.index(1.0) if 1.0 in beta_values else 0
    return grid_figure(
        result, x="t",
        sliders=[Slider("beta", "β = ", active=beta_active), _kappa0_slider(result)],
        curves=[
            Curve("kit: exact iteration (population update)", "margin", mode="markers",
                  color=PALETTE[0]),
            Curve("closed form b (1 + 1/β)^t", "closed_margin", dash="dash", color=PALETTE[1],
                  mode="lines"),
        ],
        static_traces=[go.Scatter(
            x=[coordinates(result, "t")[0], coordinates(result, "t")[-1]], y=[floor, floor],
            mode="lines",
            name="kit's floor for log-probabilities", hoverinfo="skip",
            line={"color": "#999999", "dash": "dot", "width": 1.5})],
        x_title="round t", y_title="margin γ_t = log π_t(mode) − log π_t(runner-up)",
        log_y=True, description=description, div_id=div_id)
