"""Figures of :mod:`srlm_kit.experiments.judges`: a separate judge against the self-reward,
and agreement with external labels; and two live explorers of the judge loop for Jupyter
(Binder), which re-run the kit for any setting.

The page figures take an experiment's result, which records the experiment and the keyword
arguments that produced it (recorded in the figure, so the browser tests can recompute every
curve with the kit), and return a :class:`srlm_kit.figures.core.SliderFigure`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from srlm_kit import dynamics, instances
from srlm_kit.experiments.common import seed_band
from srlm_kit.figures.core import (
    PALETTE,
    Curve,
    LiveFigure,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    horizontal_line,
    index_of,
    live_figure_widget,
    rounds_slider,
)

JUDGE_COLOR, SELF_COLOR = PALETTE[0], PALETTE[1]




def _sliders() -> list[Slider]:
    return [Slider("noise", "judge noise σ = "),
            Slider("bias", "judge bias b towards the lure = ")]


def _judge_and_self_curves(quantity: str) -> list[Curve]:
    """The judge-driven run (solid) and the self-rewarding run (dashed) of one quantity."""
    return [
        Curve.mean_and_band("trained with the judge's scores", f"judge_{quantity}",
                            "judge: ± 1 sd over seeds", color=JUDGE_COLOR),
        Curve.mean_and_band("trained with the self-reward log π_t", f"self_{quantity}",
                            "self-reward: ± 1 sd over seeds", color=SELF_COLOR, dash="dash"),
    ]


def agreement_over_rounds(result: xr.Dataset, *,
                          div_id: str = "fig-01-agreement-plot") -> SliderFigure:
    """Agreement of the policy's mode with the external label, round by round.

    Sliders: the judge's noise and bias. Curves: the judge-driven run and the self-rewarding
    run (which does not depend on the sliders), each with a band over seeds.
    """
    params = result.attrs
    description = (
        "Line chart. It shows, after each round t from 0 to "
        f"{coordinates(result, 't')[-1]}, the fraction of the {params['num_prompts']} prompts on "
        "which the "
        "policy's most likely response is the externally best one, averaged over "
        f"{params['seeds']} seeds with a shaded band of one standard deviation: for training "
        "driven by a separate judge, and for training driven by the self-reward log pi_t. Two "
        "sliders set the judge's noise and its bias towards one fixed wrong response per "
        "prompt. The self-reward curve stays flat at its starting value; the judge curve rises "
        "to 1 for a clean judge and falls for a noisy or strongly biased one.")
    return grid_figure(
        result, x="t", sliders=_sliders(),
        curves=_judge_and_self_curves("agreement"),
        x_title="round t", y_title="agreement of the mode with the external label",
        y_range=[0.0, 1.02], description=description, div_id=div_id)


def confidence_over_rounds(result: xr.Dataset, *,
                           div_id: str = "fig-01-confidence-plot") -> SliderFigure:
    """Condition number kappa_t of the judge-driven and self-rewarding runs, round by round."""
    description = (
        "Line chart with a logarithmic vertical axis. It shows the policy condition number "
        f"kappa after each round t from 0 to {coordinates(result, 't')[-1]} (1 means a "
        "deterministic "
        "policy), averaged over seeds with a shaded band of one standard deviation, for "
        "training driven by a separate judge and for training driven by the self-reward. Two "
        "sliders set the judge's noise and bias. Both runs become confident within a few "
        "rounds, whatever the judge's noise or bias.")
    return grid_figure(
        result, x="t", sliders=_sliders(),
        curves=_judge_and_self_curves("kappa"),
        static_traces=[horizontal_line(coordinates(result, "t"), 1.0,
                                       "κ = 1 (deterministic policy)")],
        x_title="round t", y_title="condition number κ(π_t)", log_y=True,
        description=description, div_id=div_id)


class JudgeExplorer(LiveFigure):
    """Sliders for the judge's noise and bias, ``n`` and ``beta``; the figure re-runs the kit.

    The instance is that of the experiment (:func:`srlm_kit.instances.lure_judge_instance`,
    same defaults and seed). Moving a slider never recompiles: every run is compiled at the
    engine's shape for the largest ``n`` (:func:`srlm_kit.dynamics.padded_shape`), ``T`` rounds
    and ``seeds`` seeds; ``n``, ``beta`` and the judge are array arguments. Needs ipywidgets
    and a kernel (Binder, Jupyter).
    """

    N_VALUES = (25, 50, 100, 200, 400, 800)
    BETAS = (0.1, 0.25, 0.5, 1.0, 2.0)
    TRACES = (("judge_agreement", 1), ("self_agreement", 1), ("judge_kappa", 2),
              ("self_kappa", 2))

    def __init__(self, *, seed: int = 0, num_prompts: int = 40, num_responses: int = 8,
                 kappa0: float = 4.0, initial_agreement: float = 0.5, T: int = 8,
                 seeds: int = 16, n_values: Sequence[int] = N_VALUES,
                 betas: Sequence[float] = BETAS):
        import ipywidgets as widgets

        self.start, quality, lures, self.key = instances.lure_judge_instance(
            seed=seed, num_prompts=num_prompts, num_responses=num_responses, kappa0=kappa0,
            initial_agreement=initial_agreement)
        self.quality, self.lure_table = quality, np.eye(num_responses)[lures]
        self.T, self.seeds = int(T), int(seeds)
        self.shape = dynamics.padded_shape(max(n_values), self.T)
        common = {"continuous_update": False, "style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="330px")}
        self.noise = widgets.FloatSlider(value=0.5, min=0.0, max=3.0, step=0.05,
                                         description="judge noise σ", **common)
        self.bias = widgets.FloatSlider(value=0.0, min=0.0, max=3.0, step=0.05,
                                        description="bias b towards the lure", **common)
        self.n = widgets.SelectionSlider(options=[(str(v), int(v)) for v in n_values],
                                         value=200 if 200 in n_values else int(n_values[0]),
                                         description="triples per round n", **common)
        self.beta = widgets.SelectionSlider(options=[(f"{b:g}", float(b)) for b in betas],
                                            value=0.5 if 0.5 in betas else float(betas[0]),
                                            description="β", **common)
        self.status = widgets.HTML(value="")
        self.figure = self._make_figure()
        for control in self.controls:
            control.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.noise, self.bias]),
                          widgets.VBox([self.n, self.beta, self.status])]),
            self.figure])
        self.update()

    @property
    def controls(self) -> list:
        return [self.noise, self.bias, self.n, self.beta]

    def compute(self, *, noise: float, bias: float, n: int, beta: float) -> dict:
        """Means over seeds of agreement and kappa, rounds ``0..T``, for one setting."""
        judge_model = dynamics.judge(self.quality, bias * self.lure_table, noise)
        common = {"n": n, "T": self.T, "beta": beta, "seeds": self.seeds, "shape": self.shape}
        with_judge = dynamics.run(self.key, self.start, judge=judge_model, **common)
        self_reward = dynamics.run(self.key, self.start, **common)
        curves = {}
        for prefix, trajectory in (("judge", with_judge), ("self", self_reward)):
            for name in ("agreement", "kappa"):
                curves[f"{prefix}_{name}"] = seed_band(
                    np.asarray(getattr(trajectory, name))[:, :self.T + 1], 0)[0].tolist()
        return curves

    def settings(self) -> dict:
        return {"noise": float(self.noise.value), "bias": float(self.bias.value),
                "n": int(self.n.value), "beta": float(self.beta.value)}

    def _make_figure(self) -> go.FigureWidget:
        figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
            "agreement with the external label", "condition number κ(π_t)"))
        rounds = list(range(self.T + 1))
        for name, column in self.TRACES:
            judge_trace = name.startswith("judge")
            figure.add_trace(go.Scatter(
                x=rounds, y=[], mode="lines+markers",
                name="judge" if judge_trace else "self-reward log π_t",
                legendgroup=name.split("_")[0], showlegend=column == 1,
                line={"color": JUDGE_COLOR if judge_trace else SELF_COLOR,
                      "dash": None if judge_trace else "dash"}), row=1, col=column)
        figure.update_yaxes(range=[0.0, 1.02], row=1, col=1)
        figure.update_yaxes(type="log", row=1, col=2)
        return live_figure_widget(figure)


def label_agreement_over_rounds(result: xr.Dataset, *,
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
                        active=index_of(coordinates(result, "p"), 0.5)),
                 Slider("n", "triples per round n = ",
                        active=index_of(coordinates(result, "n"), 200)),
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
        sliders=[rounds_slider(result),
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


class LengthBiasExplorer:
    """Sliders for the judge's length bias b and noise, n, beta and T; a figure updated in place.

    Each change re-runs :func:`srlm_kit.experiments.judges.judge_run` and
    :func:`srlm_kit.experiments.judges.self_reward_run` from the start of
    :func:`srlm_kit.instances.length_judge_instance` (``seed``; ``num_prompts`` and
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
        from srlm_kit.experiments import common, judges

        self._judges = judges
        n_values = [int(n) for n in n_values]
        if not n_values:
            raise ValueError("n_values must contain at least one value")
        # One shape for every slider setting, so that no slider move recompiles.
        self.shapes = {"T": int(T), "seeds": int(seeds),
                       "shape": dynamics.padded_shape(max(n_values), int(T))}
        self.start, self.quality, self.length, self.key = instances.length_judge_instance(
            seed=seed, num_prompts=num_prompts or common.NUM_PROMPTS,
            num_responses=num_responses or common.NUM_RESPONSES)
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
        judge = self._judges.judge_run(self.start, self.quality, self.length, self.key,
                                       bias=bias, noise=noise, n=n, beta=beta, **self.shapes)
        own = self._judges.self_reward_run(self.start, self.quality, self.key, n=n, beta=beta,
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
