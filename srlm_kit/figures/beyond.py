"""Figures of chapter 8, "Experiments the paper does not run", and its live judge explorer.

Every builder takes the result of one experiment of :mod:`srlm_kit.experiments.beyond`, which
records its experiment and keyword arguments (copied into the figure, so the browser tests can
recompute each curve with the kit), and returns a :class:`srlm_kit.figures.core.SliderFigure`.
:class:`JudgeExplorer` re-runs the judge experiment for any setting in a live notebook.
"""

from __future__ import annotations

import time

import numpy as np
import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import Curve, Slider, SliderFigure, coordinates, grid_figure

GREY_DOTTED = {"color": "#999999", "dash": "dot", "width": 1.5}


def _horizontal(x_values, level: float, name: str) -> go.Scatter:
    return go.Scatter(x=[x_values[0], x_values[-1]], y=[level, level], mode="lines", name=name,
                      line=GREY_DOTTED, hoverinfo="skip")


def _rounds_slider(result: xr.Dataset, label: str = "after T rounds, T = ") -> Slider:
    rounds = [t for t in coordinates(result, "t") if t >= 1]
    return Slider("t", label, values=rounds, active=len(rounds) - 1)


def _powers_of_ten(figure: SliderFigure) -> SliderFigure:
    """Label the logarithmic y-axis ticks as powers of ten (not SI prefixes such as 1μ, 1n)."""
    figure.figure.update_yaxes(exponentformat="power")
    return figure


def _index_of(values, wanted) -> int:
    values = list(values)
    return values.index(wanted) if wanted in values else 0


# --------------------------------------------------------------------------------------------
# (a) Population versus finite samples
# --------------------------------------------------------------------------------------------


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
    return _powers_of_ten(grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ",
                        active=_index_of(coordinates(result, "n"), 800)),
                 Slider("beta", "β = ", active=_index_of(coordinates(result, "beta"), 0.5))],
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


# --------------------------------------------------------------------------------------------
# (b) Internal consistency is not correctness
# --------------------------------------------------------------------------------------------


def agreement_over_rounds(result: xr.Dataset, *,
                          div_id: str = "fig-08-consistency-plot",
                          caption: str | None = None) -> SliderFigure:
    """Agreement with external labels, retention of pi_0's mode and confidence against t."""
    description = (
        "Line chart of shares of prompts, between 0 and 1, after each round t of self-rewarding "
        "from a random start: the share whose most likely response is the external label (mean "
        "over seeds with a band), the share whose most likely response is still the initial "
        "one, the share on which the model is confident (more than half of its mass on its "
        "most likely response), and, dashed, the label agreement of the exact infinite-data "
        "update, which stays at the initial agreement. Sliders choose the initial agreement, "
        "n and beta. Confidence rises to 1 while agreement with the labels never rises above "
        "its initial value.")
    return grid_figure(
        result, x="t",
        sliders=[Slider("p", "labels agree with π₀'s mode on a share agree(π₀) = ",
                        active=_index_of(coordinates(result, "p"), 0.5)),
                 Slider("n", "triples per round n = ",
                        active=_index_of(coordinates(result, "n"), 200)),
                 Slider("beta", "β = ")],
        curves=[
            Curve.mean_and_band("mode = external label (mean over seeds)", "agreement",
                                band_name="mode = label: ± 1 sd over seeds"),
            Curve("mode = π₀'s mode", "retention", fixed={"band": "mean"}, color="#009E73"),
            Curve("confident: max_y π_t(y|x) > 1/2", "confident_mean", color="#CC79A7"),
            Curve("infinite data: mode = external label", "population_agreement", dash="dash",
                  color="#D55E00", mode="lines"),
        ],
        x_title="round t", y_title="share of prompts", y_range=[-0.02, 1.04],
        description=description, caption=caption, div_id=div_id)


# --------------------------------------------------------------------------------------------
# (c) A judge instead of log pi_t
# --------------------------------------------------------------------------------------------


def judge_over_bias(result: xr.Dataset, *, div_id: str = "fig-08-judge-bias-plot",
                    caption: str | None = None) -> SliderFigure:
    """Agreement with the correct response after T rounds against the judge's length bias."""
    description = (
        "Line chart against the strength b of the judge's preference for long responses, from "
        f"{coordinates(result, 'bias')[0]:g} to {coordinates(result, 'bias')[-1]:g}: the share of "
        "prompts whose most "
        "likely response is the correct one after T rounds with the judge as reward (mean over "
        "seeds with a band), the same before any round, the same after T rounds of "
        "self-rewarding, and, dashed, the share of prompts on which the judge's noise-free "
        "favourite is the correct response, which is where the judge loop goes as the rounds "
        "grow. Sliders choose T, the judge's noise and n. Small biases let the loop improve on "
        "the start; large ones pull it below the start, towards the dashed limit.")
    return grid_figure(
        result, x="bias",
        sliders=[_rounds_slider(result),
                 Slider("noise", "judge's noise σ = "),
                 Slider("n", "triples per round n = ", active=result.sizes["n"] - 1)],
        curves=[
            Curve.mean_and_band("judge as reward: mode correct after T rounds", "agreement",
                                band_name="judge: ± 1 sd over seeds"),
            Curve("limit: judge's favourite is correct", "limit", dash="dash", color="#D55E00",
                  mode="lines"),
            Curve("self-reward log π_t: mode correct after T rounds", "self_agreement",
                  fixed={"band": "mean"}, dash="dot", color="#009E73"),
            Curve("before any round", "agreement", fixed={"t": 0, "band": "mean"}, color="#999999",
                  mode="lines", width=1.5),
        ],
        x_title="judge's length bias b (score = quality + b · length + σ · noise)",
        y_title="share of prompts whose mode is correct", y_range=[-0.02, 1.04],
        description=description, caption=caption, div_id=div_id)


def judge_over_rounds(result: xr.Dataset, *, div_id: str = "fig-08-judge-rounds-plot",
                      caption: str | None = None) -> SliderFigure:
    """Round by round: correctness, the judge's own score, the judge's favourite, self-reward."""
    description = (
        "Line chart of four shares between 0 and 1 after each round t: the share of prompts "
        "whose most likely response is correct when a judge is the reward (mean over seeds "
        "with a band), the judge's expected score of the policy as a share of the best score "
        "it can give, the share of prompts whose most likely response is the judge's own "
        "favourite, and, dotted, the share whose mode is correct under self-rewarding. Sliders "
        "choose the judge's length bias, its noise and n. With a large bias the judge's score "
        "keeps rising while correctness falls: reward hacking.")
    return grid_figure(
        result, x="t",
        sliders=[Slider("bias", "judge's length bias b = ",
                        active=result.sizes["bias"] - 1),
                 Slider("noise", "judge's noise σ = "),
                 Slider("n", "triples per round n = ", active=result.sizes["n"] - 1)],
        curves=[
            Curve.mean_and_band("mode is correct (judge as reward)", "agreement",
                                band_name="mode correct: ± 1 sd over seeds"),
            Curve("judge's score, share of its maximum", "judge_score_mean", color="#D55E00"),
            Curve("mode is the judge's favourite", "favourite_mean", color="#CC79A7"),
            Curve("self-reward log π_t: mode is correct", "self_agreement",
                  fixed={"band": "mean"}, dash="dot", color="#009E73"),
        ],
        x_title="round t", y_title="share", y_range=[-0.02, 1.04],
        description=description, caption=caption, div_id=div_id)


# --------------------------------------------------------------------------------------------
# (d) Margin and confidence collapse
# --------------------------------------------------------------------------------------------


def failure_over_margin(result: xr.Dataset, *, div_id: str = "fig-08-margin-plot",
                        caption: str | None = None) -> SliderFigure:
    """Failure after T rounds and the Theorem 5.3 bound against the initial margin (log-log)."""
    epsilons = coordinates(result, "epsilon")
    description = (
        "Line chart with logarithmic axes against the initial margin epsilon between the most "
        f"likely response and its nearest competitor, from {epsilons[0]:g} to "
        f"{epsilons[-1]:g}: the failure probability after T rounds of self-rewarding (mean "
        "over seeds with a band), the share of prompts on which the initial mode no longer "
        "has more than half of the mass, the failure of the exact infinite-data update, and, "
        "dashed, the bound of Theorem 5.3 with every hidden constant set to 1 at the measured "
        "margin and confidence. A dotted line marks probability 1. Sliders choose T and the "
        "number of nearly tied responses. The bound grows like one over the margin and is far "
        "above 1; the measured failure depends on the margin only through the number of "
        "rounds it takes to vanish.")
    return _powers_of_ten(grid_figure(
        result, x="epsilon",
        sliders=[_rounds_slider(result), Slider("tied", "nearly tied responses K_tie = ")],
        curves=[
            Curve.mean_and_band("failure: max_y π_T(y|x) ≤ 1/2 (mean over seeds)", "failure",
                                band_name="failure: ± 1 sd over seeds"),
            Curve("π₀'s mode not kept: π_T(y₀|x) ≤ 1/2", "lost_mode_mean", color="#CC79A7"),
            Curve("infinite data: failure", "population_failure", dash="dot", color="#009E73"),
            Curve("Theorem 5.3 bound (hidden constants = 1)", "bound", dash="dash",
                  color="#D55E00"),
        ],
        static_traces=[_horizontal(epsilons, 1.0, "probability 1")],
        x_title="initial margin γ₀", y_title="probability (bound: its value)",
        log_x=True, log_y=True, y_range=[-3.2, 6.5], description=description,
        caption=caption, div_id=div_id))


# --------------------------------------------------------------------------------------------
# (e) The beta regimes
# --------------------------------------------------------------------------------------------


def _regime_sliders(result: xr.Dataset) -> list[Slider]:
    return [_rounds_slider(result, "rounds T = "),
            Slider("scale", "β = a/√n with a = ", active=_index_of(coordinates(result, "scale"),
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
    return _powers_of_ten(grid_figure(
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
    return _powers_of_ten(grid_figure(
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


# --------------------------------------------------------------------------------------------
# A live explorer of the judge loop (needs a kernel)
# --------------------------------------------------------------------------------------------


class JudgeExplorer:
    """Sliders for the judge's length bias b and noise, n, beta and T; a figure updated in place.

    Each change re-runs :func:`srlm_kit.experiments.beyond.judge_run` and
    :func:`srlm_kit.experiments.beyond.self_reward_run` from the start of
    :func:`srlm_kit.experiments.beyond.judge_setting` (``seed``; ``num_prompts`` and
    ``num_responses``), by default with the chapter's ``T`` and ``seeds``. Every run is compiled
    at the engine's shape for the largest ``n`` and ``T``
    (:func:`srlm_kit.dynamics.padded_shape`), so nothing is compiled after the first run, and a
    setting shows the numbers of the chapter's run with the same key. Sliders update on
    release; a status line says "computing…" meanwhile.
    """

    N_VALUES = (100, 200, 400, 800, 1600, 3200)
    BETAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
    TRACES = (("agreement", "mode is correct (judge as reward)", "#0072B2", None),
              ("judge_score", "judge's score, share of its maximum", "#D55E00", None),
              ("favourite", "mode is the judge's favourite", "#CC79A7", None),
              ("self_agreement", "self-reward log π_t: mode is correct", "#009E73", "dot"))

    def __init__(self, *, seed: int = 0, num_prompts: int | None = None,
                 num_responses: int | None = None, T: int = 8, seeds: int = 8,
                 n_values: tuple[int, ...] = N_VALUES):
        import ipywidgets as widgets

        from srlm_kit import dynamics
        from srlm_kit.experiments import beyond

        self._beyond = beyond
        n_values = [int(n) for n in n_values]
        if not n_values:
            raise ValueError("n_values must contain at least one value")
        # One shape for every slider setting, so that no slider move recompiles.
        self.shapes = {"T": int(T), "seeds": int(seeds),
                       "shape": dynamics.padded_shape(max(n_values), int(T))}
        self.start, self.quality, self.length, self.key = beyond.judge_setting(
            seed=seed, num_prompts=num_prompts or beyond.NUM_PROMPTS,
            num_responses=num_responses or beyond.NUM_RESPONSES)
        common = {"continuous_update": False, "style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="330px")}
        self.bias = widgets.FloatSlider(value=3.0, min=0.0, max=5.0, step=0.25,
                                        description="length bias b", **common)
        self.noise = widgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.25,
                                         description="noise σ", **common)
        self.n = widgets.SelectionSlider(options=[(str(n), n) for n in n_values],
                                         value=n_values[-1], description="triples per round n",
                                         **common)
        self.beta = widgets.SelectionSlider(options=[(f"{b:g}", b) for b in self.BETAS],
                                            value=0.5, description="β", **common)
        self.T = widgets.IntSlider(value=self.shapes["T"], min=1, max=self.shapes["T"],
                                   description="rounds T", **common)
        self.status = widgets.HTML(value="")
        self.figure = go.FigureWidget(go.Figure(
            data=[go.Scatter(x=[], y=[], mode="lines+markers", name=name,
                             line={"color": color, "dash": dash})
                  for _, name, color, dash in self.TRACES],
            layout={"height": 400, "template": "plotly_white",
                    "xaxis": {"title": {"text": "round t"}},
                    "yaxis": {"title": {"text": "share"}, "range": [-0.02, 1.04]},
                    "legend": {"orientation": "h", "y": -0.25},
                    "margin": {"l": 60, "r": 20, "t": 30, "b": 60}}))
        for control in self.controls:
            control.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.bias, self.noise, self.n]),
                          widgets.VBox([self.beta, self.T, self.status])]),
            self.figure])
        self.last_duration: float | None = None
        self.update()

    @property
    def controls(self) -> list:
        return [self.bias, self.noise, self.n, self.beta, self.T]

    def compute(self, *, bias: float, noise: float, n: int, beta: float, T: int) -> dict:
        """Seed means of the four curves for rounds 0..T (runs always made at the full T)."""
        judge = self._beyond.judge_run(self.start, self.quality, self.length, self.key,
                                       bias=bias, noise=noise, n=n, beta=beta, **self.shapes)
        own = self._beyond.self_reward_run(self.start, self.quality, self.key, n=n, beta=beta,
                                           **self.shapes)
        curves = {name: np.asarray(values).mean(axis=0)[:T + 1].tolist()
                  for name, values in judge.items()}
        curves["self_agreement"] = own["agreement"].mean(axis=0)[:T + 1].tolist()
        curves["t"] = list(range(T + 1))
        return curves

    def update(self) -> None:
        """Recompute for the current sliders and redraw in place."""
        self.status.value = "<b>computing…</b>"
        started = time.perf_counter()
        curves = self.compute(bias=float(self.bias.value), noise=float(self.noise.value),
                              n=int(self.n.value), beta=float(self.beta.value),
                              T=int(self.T.value))
        with self.figure.batch_update():
            for trace, (name, *_) in zip(self.figure.data, self.TRACES, strict=True):
                trace.x, trace.y = curves["t"], curves[name]
        self.last_duration = time.perf_counter() - started
        self.status.value = f"computed in {self.last_duration:.2f} s"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
