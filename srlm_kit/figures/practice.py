"""Figures of chapter 1, drawn from the experiment ``judge_versus_self_reward``, and a live
explorer of the same simulation for Jupyter (Binder).

The two page figures take the experiment's result (which records the experiment and the keyword
arguments that produced it) (recorded in the figure, so the browser tests can recompute every curve
with the kit).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from srlm_kit import dynamics
from srlm_kit.experiments.common import seed_band
from srlm_kit.experiments.practice import judge_instance
from srlm_kit.figures.core import (
    PALETTE,
    Curve,
    LiveFigure,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    live_figure_widget,
)

EXPERIMENT = "judge_versus_self_reward"

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
        static_traces=[go.Scatter(
            x=[coordinates(result, "t")[0], coordinates(result, "t")[-1]], y=[1.0, 1.0],
            mode="lines",
            name="κ = 1 (deterministic policy)",
            line={"color": "#999999", "dash": "dot", "width": 1.5}, hoverinfo="skip")],
        x_title="round t", y_title="condition number κ(π_t)", log_y=True,
        description=description, div_id=div_id)


# --------------------------------------------------------------------------------------------
# Live explorer (needs a kernel)
# --------------------------------------------------------------------------------------------


class JudgeExplorer(LiveFigure):
    """Sliders for the judge's noise and bias, ``n`` and ``beta``; the figure re-runs the kit.

    The instance is that of the experiment (:func:`srlm_kit.experiments.practice.judge_instance`,
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

        self.start, quality, lures, self.key = judge_instance(
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


