"""Figures of :mod:`srlm_kit.experiments.sharpening`: how fast the loop sharpens, the exact
(infinite-data) update against finite samples.

Every builder takes the result of one experiment, which records its experiment and keyword
arguments (copied into the figure, so the browser tests can recompute each curve with the
kit), and returns a :class:`srlm_kit.figures.core.SliderFigure`.
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import (
    PALETTE,
    Curve,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    index_of,
    powers_of_ten,
    rounds_slider,
)


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


def excess_over_rounds(result: xr.Dataset, *, div_id: str = "fig-08-population-plot",
                       caption: str | None = None) -> SliderFigure:
    """``kappa_t - 1`` against t (log y): ERM at n (band), the exact update, and a single
    exponential at the per-round factor of Theorem 5.3's transient term. Sliders n and beta."""
    description = (
        "Line chart with a logarithmic vertical axis: the excess condition number kappa minus 1 "
        f"after each round t from 0 to {coordinates(result, 't')[-1]}, for self-rewarding from a "
        "bump start. "
        "A solid line with a shaded band shows the finite-sample update with n triples per "
        "round (mean and one standard deviation over seeds); a dashed line shows the exact "
        "infinite-data update, which falls faster and faster and leaves the chart within a few "
        "rounds; a dotted straight line shows a single exponential that loses the per-round "
        "factor of the transient term of Theorem 5.3. Sliders choose n and beta.")
    return powers_of_ten(grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ",
                        active=index_of(coordinates(result, "n"), 800)),
                 Slider("beta", "β = ", active=index_of(coordinates(result, "beta"), 0.5))],
        curves=[
            Curve.mean_and_band("finite n: square-loss ERM (mean over seeds)", "excess",
                                band_name="finite n: ± 1 sd over seeds"),
            Curve("infinite data: π_t ∝ π_0^((1+1/β)^t)", "population_excess", dash="dash",
                  color="#D55E00"),
            Curve("single exponential at the transient factor (1+√(nμ))^(−t/2)",
                  "transient_reference", dash="dot", color="#009E73", mode="lines"),
        ],
        x_title="round t", y_title="κ(π_t) − 1", log_y=True, y_range=[-16, 1.5],
        description=description, caption=caption, div_id=div_id))


def _regime_sliders(result: xr.Dataset) -> list[Slider]:
    return [rounds_slider(result, "rounds T = "),
            Slider("scale", "β = a/√n with a = ", active=index_of(coordinates(result, "scale"),
                                                                    1.0))]


def regimes_failure(result: xr.Dataset, *, div_id: str = "fig-08-beta-failure-plot",
                    caption: str | None = None) -> SliderFigure:
    """Failure after T rounds against n: beta = 0.5 and beta = a/sqrt(n), with the coverage
    prediction and the exact update at beta = 0.5."""
    constant = result.attrs["constant_beta"]
    description = (
        "Line chart with logarithmic axes: the failure probability after T rounds against the "
        f"number of triples per round n from {coordinates(result, 'n')[0]} to "
        f"{coordinates(result, 'n')[-1]}, for a "
        f"constant beta = {constant:g} and for beta = a divided by the square root of n (means "
        "over seeds with bands), the coverage prediction for a small beta (dashed), and the "
        f"exact infinite-data update at beta = {constant:g} (dotted, zero values not drawn). "
        "Sliders choose T and a. The small-beta runs follow the coverage prediction; after one "
        f"round the constant beta = {constant:g} fails on every prompt at every n.")
    return powers_of_ten(grid_figure(
        result, x="n",
        sliders=_regime_sliders(result),
        curves=[
            Curve.mean_and_band(f"β = {constant:g} (mean over seeds)", "constant_failure",
                                band_name=f"β = {constant:g}: ± 1 sd over seeds"),
            Curve.mean_and_band("β = a/√n (mean over seeds)", "scaled_failure",
                                band_name="β = a/√n: ± 1 sd over seeds"),
            Curve("coverage prediction (1 − 2p(1−p)/m)^(nT)", "coverage", dash="dash",
                  color="#000000", mode="lines"),
            Curve(f"infinite data, β = {constant:g}", "population_failure", dash="dot",
                  color="#009E73"),
        ],
        x_title="triples per round n", y_title="P[max_y π_T(y|x) ≤ 1/2]", log_x=True,
        log_y=True, y_range=[-3.2, 0.15], description=description, caption=caption,
        div_id=div_id))


def regimes_excess(result: xr.Dataset, *, div_id: str = "fig-08-beta-kappa-plot",
                   caption: str | None = None) -> SliderFigure:
    """``kappa_T - 1`` against n for the two regimes and the exact update (log-log)."""
    constant = result.attrs["constant_beta"]
    description = (
        "Line chart with logarithmic axes: the excess condition number kappa minus 1 after T "
        f"rounds against n from {coordinates(result, 'n')[0]} to {coordinates(result, 'n')[-1]}, "
        "for a constant beta = "
        f"{constant:g} and for beta = a divided by the square root of n (means over seeds), and "
        f"the exact infinite-data update at beta = {constant:g} (dotted). Sliders choose T and "
        "a. The small beta drives kappa to 1 in one round once n is large; the constant beta "
        "needs several rounds.")
    return powers_of_ten(grid_figure(
        result, x="n",
        sliders=_regime_sliders(result),
        curves=[
            Curve(f"β = {constant:g} (mean over seeds)", "constant_excess_mean"),
            Curve("β = a/√n (mean over seeds)", "scaled_excess_mean"),
            Curve(f"infinite data, β = {constant:g}", "population_excess", dash="dot",
                  color="#009E73"),
        ],
        x_title="triples per round n", y_title="κ(π_T) − 1", log_x=True, log_y=True,
        y_range=[-14, 1.5], description=description, caption=caption, div_id=div_id))


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
        sliders=[Slider("n", "triples per round n = ", active=index_of(n_values, 100)),
                 Slider("beta", "β = ", active=index_of(betas, 0.5))],
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
