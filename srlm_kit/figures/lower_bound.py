"""Figures of the chapter "One step is not enough", drawn from
:mod:`srlm_kit.experiments.lower_bound`.

Each builder takes the experiment's result, which records its experiment and keyword arguments
(copied into the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import plotly.graph_objects as go
import xarray as xr

from srlm_kit.figures.core import (
    GREY,
    PALETTE,
    Curve,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    horizontal_line,
)

_BLACK = "#000000"



def single_step_failure(result: xr.Dataset, *,
                        div_id: str = "fig-04-single-step-plot", caption: str | None = None
                        ) -> SliderFigure:
    """Failure after one round against n (log-log), slider kappa0: the family re-chosen for
    every n, its smallest-n member kept fixed, their closed forms, and the lower bound."""
    n_values = coordinates(result, "n")
    calibration = result.attrs["calibration"]
    description = (
        "Line chart with logarithmic axes of the failure probability after one round of "
        f"self-rewarding on the hard instance, for n from {n_values[0]} to {n_values[-1]} "
        "triples. Blue: a family of instances re-chosen for every n, simulated (mean and band "
        "over seeds) and its exact expectation (dotted); it falls like one over the square "
        "root of n. Orange: the family's first member kept fixed, simulated and expected; it "
        "falls exponentially and reaches zero, which the logarithmic axis cannot show. Black "
        "dashed: the lower bound of Theorem 4.1 with its hidden constant set to 1; black "
        f"dotted: the same times the constant {calibration['constant']:.3f} fitted at one "
        "point. A slider chooses the initial condition number kappa zero.")
    return grid_figure(
        result, x="n",
        sliders=[Slider("kappa0", "initial condition number κ₀ = ", active=1)],
        curves=[
            Curve.mean_and_band("family, re-chosen for each n: simulated", "family",
                                band_name="family: ± 1 sd over seeds", color=PALETTE[0]),
            Curve("family: exact expectation", "family_expected", color=PALETTE[0],
                  dash="dot", mode="lines", width=1.5),
            Curve.mean_and_band("one instance, kept fixed: simulated", "fixed",
                                band_name="fixed: ± 1 sd over seeds", color=PALETTE[1]),
            Curve("fixed: exact expectation", "fixed_expected", color=PALETTE[1], dash="dot",
                  mode="lines", width=1.5),
            Curve("Theorem 4.1 lower bound, constant 1", "bound", color=_BLACK, dash="dash",
                  mode="lines"),
            Curve(f"lower bound × {calibration['constant']:.3f} (fitted at κ₀ = "
                  f"{calibration['kappa0']:g}, n = {calibration['n']})", "bound_calibrated",
                  color=_BLACK, dash="dot", mode="lines"),
        ],
        x_title="triples n (one round)", y_title="failure probability after one round",
        log_x=True, log_y=True, y_range=[-3.0, 0.0], description=description,
        caption=caption, div_id=div_id, height=460)


def lower_bound_forms(result: xr.Dataset, *,
                      div_id: str = "fig-04-lambert-w-plot", caption: str | None = None
                      ) -> SliderFigure:
    """The lower bound's exact and asymptotic forms against n (log-log), sliders kappa0 and
    log|Pi|."""
    n_values = coordinates(result, "n")
    description = (
        "Line chart with logarithmic axes of five forms of the lower bound of Theorem 4.1, all "
        f"with the hidden constant set to 1, for n from {n_values[0]:,} to {n_values[-1]:,}: "
        "the exact solution of epsilon squared times one plus log of kappa zero over epsilon "
        "equals kappa zero times log of the class size, over n (solid); the exact solution "
        "of the same equation without the one (dashed); its large-n approximation (dotted); "
        "the form quoted by an ICLR reviewer (dash-dot); and the plain rate, the square root "
        "of kappa zero times log of the class size over n (grey). All fall with "
        "slope close to minus one half and differ by factors that shrink slowly as n grows. "
        "Sliders choose kappa zero and log of the class size.")
    return grid_figure(
        result, x="n",
        sliders=[Slider("kappa0", "κ₀ = ", active=2),
                 Slider("log_class_size", "log|Π| = ", active=1)],
        curves=[
            Curve("exact: ε²(1 + log(κ₀/ε)) = κ₀log|Π|/n", "exact_with_one", color=PALETTE[0],
                  mode="lines"),
            Curve("exact: ε² log(κ₀/ε) = κ₀log|Π|/n", "exact_without_one", color=PALETTE[1],
                  dash="dash", mode="lines"),
            Curve("asymptotic: √(2κ₀log|Π| / (n log(nκ₀/(2log|Π|))))", "asymptotic",
                  color=PALETTE[2], dash="dot", mode="lines"),
            Curve("reviewer's form: √(κ₀log|Π| / (n log(nκ₀/log|Π|)))", "reviewer",
                  color=PALETTE[3], dash="dashdot", mode="lines"),
            Curve("rate √(κ₀log|Π|/n)", "rate", color=GREY, mode="lines", width=1.5),
        ],
        static_traces=[horizontal_line(n_values, 1.0, "probability 1")],
        x_title="samples n", y_title="lower bound ε (constant 1)",
        log_x=True, log_y=True, description=description, caption=caption, div_id=div_id)


def lower_bound_sample_sizes(result: xr.Dataset, *,
                             div_id: str = "fig-04-remark-4-2-plot", caption: str | None = None
                             ) -> SliderFigure:
    """Remark 4.2: the n at which the lower bound (constant 1) reaches a level, against kappa0
    (log-log), slider log|Pi|."""
    kappa0s = coordinates(result, "kappa0")
    levels = coordinates(result, "level")
    description = (
        "Line chart with logarithmic axes. For initial condition numbers kappa zero from "
        f"{kappa0s[0]:g} to {kappa0s[-1]:g}, the number of samples n at which the lower bound "
        "of Theorem 4.1, with its hidden constant set to 1, falls to the level "
        + ", ".join(f"{level:g}" for level in levels)
        + " (one curve each), and the line n equals kappa zero (grey). The curves grow almost "
        "in proportion to kappa zero, a little slower because of a logarithm. A slider "
        "chooses log of the class size.")
    return grid_figure(
        result, x="kappa0",
        sliders=[Slider("log_class_size", "log|Π| = ", active=0)],
        curves=[Curve(f"n at which the bound reaches {level:g}", "n_needed",
                      fixed={"level": level}, color=PALETTE[index])
                for index, level in enumerate(levels)]
        + [Curve("n = κ₀", "n_equals_kappa0", color=GREY, dash="dash", mode="lines")],
        x_title="initial condition number κ₀ (= 2^L for the α = 1/2 model)",
        y_title="samples n", log_x=True, log_y=True, description=description,
        caption=caption, div_id=div_id)


class HardInstanceExplorer:
    """A live explorer of one self-rewarding round on the hard instance (needs a kernel).

    Sliders for the informative mass ``Delta``, the number of informative responses ``M`` and
    ``beta``; the figure shows the failure probability after one round against ``n`` (mean and
    band over ``seeds`` simulated runs, :func:`srlm_kit.dynamics.run`) beside the exact
    expectation of :func:`srlm_kit.bounds.hard_instance_expected_failure`, and a line of text
    gives ``kappa_0``, ``1/mu``, ``log|Pi|`` and whether the one-pair mechanism holds at this
    beta. Every instance is padded to ``shape`` and every n runs at the engine's shape for it,
    so moving a slider never recompiles the simulation (pass the ``padded_shape`` of the
    chapter's experiment to share its compiled simulations; the runs then give the experiment's
    numbers).
    """

    def __init__(self, *, k: int = 20, shape: tuple[int, int] = (21, 289),
                 n_values=(50, 100, 200, 400, 800, 1600, 3200, 6400, 12800),
                 seeds: int = 16, seed: int = 0):
        import ipywidgets as widgets
        import jax

        if shape[0] < k + 1 or shape[1] < 4:
            raise ValueError(f"shape must have at least k + 1 = {k + 1} rows and 4 columns, "
                             f"got {shape}")
        self.k, self.shape, self.n_values = k, tuple(shape), [int(n) for n in n_values]
        self.seeds = int(seeds)
        self.instance_key, self.run_key = jax.random.split(jax.random.key(seed))
        common = {"continuous_update": False, "style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="360px")}
        self.Delta = widgets.FloatSlider(value=0.2, min=0.02, max=0.9, step=0.02,
                                         description="informative mass Δ", **common)
        self.M = widgets.IntSlider(value=min(40, shape[1] - 1), min=3, max=shape[1] - 1,
                                   description="responses M", **common)
        self.beta = widgets.SelectionSlider(options=[0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0],
                                            value=0.05, description="β", **common)
        self.status = widgets.HTML()
        self.figure = go.FigureWidget(self._empty_figure())
        for control in (self.Delta, self.M, self.beta):
            control.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.Delta, self.M, self.beta]), self.status,
                                    self.figure])
        self.update()

    def _empty_figure(self) -> go.Figure:
        figure = go.Figure()
        styles = [("band lower", {"line": {"width": 0, "color": PALETTE[0]},
                                  "showlegend": False, "hoverinfo": "skip"}),
                  ("simulated: ± 1 sd over seeds", {
                      "line": {"width": 0, "color": PALETTE[0]}, "fill": "tonexty",
                      "fillcolor": "rgba(0,114,178,0.2)", "hoverinfo": "skip"}),
                  ("simulated (mean over seeds)", {"line": {"color": PALETTE[0]}}),
                  ("exact expectation", {"line": {"color": PALETTE[1], "dash": "dot"}})]
        for name, style in styles:
            figure.add_trace(go.Scatter(x=[], y=[], mode="lines", name=name, **style))
        figure.update_layout(height=380, template="plotly_white",
                             xaxis={"title": {"text": "triples n (one round)"}, "type": "log"},
                             yaxis={"title": {"text": "failure probability after one round"},
                                    "type": "log", "range": [-3, 0]},
                             legend={"orientation": "h", "y": -0.25},
                             margin={"l": 60, "r": 20, "t": 30, "b": 60})
        return figure

    def compute(self, *, Delta: float, M: int, beta: float) -> dict:
        """Failure after one round for every n: simulated runs and the exact expectation."""
        import numpy as np

        from srlm_kit import bounds, dynamics, instances, metrics
        from srlm_kit.experiments import lower_bound

        start = instances.hard_instance(self.instance_key, self.k, M, Delta)
        padded = lower_bound._pad(start, *self.shape)  # compiled once per shape
        runs = np.asarray([np.asarray(dynamics.run(
            self.run_key, padded, n=n, T=1, beta=beta, seeds=self.seeds).failure)[:, 1]
            for n in self.n_values])
        mean, std = runs.mean(axis=1), runs.std(axis=1)
        return {
            "n": self.n_values, "mean": mean.tolist(),
            "lower": np.maximum(mean - std, runs.min(axis=1)).tolist(),
            "upper": np.minimum(mean + std, runs.max(axis=1)).tolist(),
            "expected": bounds.hard_instance_expected_failure(self.n_values, k=self.k, M=M,
                                                              Delta=Delta).tolist(),
            "kappa0": float(metrics.condition_number(start.logits, start.rho)),
            "inverse_mu": 1.0 / float(metrics.min_confidence(start.logits, start.rho)),
            "log_class_size": self.k * float(np.log(M)),
            "mechanism": bounds.hard_instance_mechanism_holds(M, beta),
        }

    def update(self) -> None:
        """Recompute for the current sliders and redraw in place."""
        self.status.value = "<b>computing…</b>"
        data = self.compute(Delta=float(self.Delta.value), M=int(self.M.value),
                            beta=float(self.beta.value))
        with self.figure.batch_update():
            for trace, field in zip(self.figure.data, ("lower", "upper", "mean", "expected"),
                                    strict=True):
                trace.x, trace.y = data["n"], data[field]
        mechanism = ("one sampled pair lifts the bump above 1/2: the exact expectation applies"
                     if data["mechanism"] else "β too large for the one-pair mechanism: the "
                     "exact expectation does not apply")
        self.status.value = (f"κ₀ = {data['kappa0']:.3f}, 1/μ = {data['inverse_mu']:.1f}, "
                             f"log|Π| = k log M = {data['log_class_size']:.1f}; {mechanism}")
        self.data = data

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
