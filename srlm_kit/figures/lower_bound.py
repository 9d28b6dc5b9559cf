"""Figures of the chapter "One step is not enough", drawn from
:mod:`srlm_kit.experiments.lower_bound`.

Each builder takes the experiment's result and the keyword arguments that produced it (recorded
in the figure, so the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go

from srlm_kit.figures.core import PALETTE, Curve, Slider, SliderFigure, grid_figure

_GREY = "#999999"
_BLACK = "#000000"


def _horizontal(x_values, level: float, name: str) -> go.Scatter:
    return go.Scatter(x=[x_values[0], x_values[-1]], y=[level, level], mode="lines", name=name,
                      line={"color": _GREY, "dash": "dot", "width": 1.5}, hoverinfo="skip")


def single_step_failure(result: Mapping, kwargs: Mapping, *,
                        div_id: str = "fig-04-single-step", caption: str | None = None
                        ) -> SliderFigure:
    """Failure after one round against n (log-log), slider kappa0: the family re-chosen for
    every n, its smallest-n member kept fixed, their closed forms, and the lower bound."""
    coords = result["coords"]
    n_values = coords["n"]
    calibration = result["calibration"]
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
        result, experiment="single_step_failure", kwargs=kwargs, x="n",
        sliders=[Slider("kappa0", "initial condition number κ₀ = ", active=1)],
        curves=[
            Curve("family, re-chosen for each n: simulated", "family_mean",
                  band=("family_lower", "family_upper"),
                  band_name="family: ± 1 sd over seeds", color=PALETTE[0]),
            Curve("family: exact expectation", "family_expected", color=PALETTE[0],
                  dash="dot", mode="lines", width=1.5),
            Curve("one instance, kept fixed: simulated", "fixed_mean",
                  band=("fixed_lower", "fixed_upper"), band_name="fixed: ± 1 sd over seeds",
                  color=PALETTE[1]),
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


def lower_bound_forms(result: Mapping, kwargs: Mapping, *, div_id: str = "fig-04-lambert-w",
                      caption: str | None = None) -> SliderFigure:
    """The lower bound's exact and asymptotic forms against n (log-log), sliders kappa0 and
    log|Pi|."""
    n_values = result["coords"]["n"]
    description = (
        "Line chart with logarithmic axes of five forms of the lower bound of Theorem 4.1, all "
        f"with the hidden constant set to 1, for n from {n_values[0]:,} to {n_values[-1]:,}: "
        "the exact solution of epsilon squared times one plus log of kappa zero over epsilon "
        "equals K over n (solid); the exact solution of the same equation without the one "
        "(dashed); its large-n approximation (dotted); the form quoted by an ICLR reviewer "
        "(dash-dot); and the plain rate, the square root of K over n (grey). All fall with "
        "slope close to minus one half and differ by factors that shrink slowly as n grows. "
        "Sliders choose kappa zero and log of the class size.")
    return grid_figure(
        result, experiment="lower_bound_forms", kwargs=kwargs, x="n",
        sliders=[Slider("kappa0", "κ₀ = ", active=2),
                 Slider("log_class_size", "log|Π| = ", active=1)],
        curves=[
            Curve("exact: ε²(1 + log(κ₀/ε)) = K/n", "exact_with_one", color=PALETTE[0],
                  mode="lines"),
            Curve("exact: ε² log(κ₀/ε) = K/n", "exact_without_one", color=PALETTE[1],
                  dash="dash", mode="lines"),
            Curve("asymptotic: √(2K / (n log(nκ₀²/(2K))))", "asymptotic", color=PALETTE[2],
                  dash="dot", mode="lines"),
            Curve("reviewer's form: √(K / (n log(nκ₀/log|Π|)))", "reviewer",
                  color=PALETTE[3], dash="dashdot", mode="lines"),
            Curve("rate √(K/n)", "rate", color=_GREY, mode="lines", width=1.5),
        ],
        static_traces=[_horizontal(n_values, 1.0, "probability 1")],
        x_title="samples n", y_title="ε (hidden constant 1), K = κ₀ log|Π|",
        log_x=True, log_y=True, description=description, caption=caption, div_id=div_id)


def lower_bound_sample_sizes(result: Mapping, kwargs: Mapping, *,
                             div_id: str = "fig-04-remark-4-2", caption: str | None = None
                             ) -> SliderFigure:
    """Remark 4.2: the n at which the lower bound (constant 1) reaches a level, against kappa0
    (log-log), slider log|Pi|."""
    coords = result["coords"]
    kappa0s = coords["kappa0"]
    levels = coords["level"]
    description = (
        "Line chart with logarithmic axes. For initial condition numbers kappa zero from "
        f"{kappa0s[0]:g} to {kappa0s[-1]:g}, the number of samples n at which the lower bound "
        "of Theorem 4.1, with its hidden constant set to 1, falls to the level "
        + ", ".join(f"{level:g}" for level in levels)
        + " (one curve each), and the line n equals kappa zero (grey). The curves grow almost "
        "in proportion to kappa zero, a little slower because of a logarithm. A slider "
        "chooses log of the class size.")
    return grid_figure(
        result, experiment="lower_bound_sample_sizes", kwargs=kwargs, x="kappa0",
        sliders=[Slider("log_class_size", "log|Π| = ", active=0)],
        curves=[Curve(f"n at which the bound reaches {level:g}", "n_needed",
                      fixed={"level": level}, color=PALETTE[index])
                for index, level in enumerate(levels)]
        + [Curve("n = κ₀", "n_equals_kappa0", color=_GREY, dash="dash", mode="lines")],
        x_title="initial condition number κ₀ (= 2^L for the α = 1/2 model)",
        y_title="samples n", log_x=True, log_y=True, description=description,
        caption=caption, div_id=div_id)
