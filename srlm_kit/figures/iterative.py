"""Figures of chapters 5 ("The iterative bound") and 6 ("How many rounds").

Every figure is a :func:`srlm_kit.figures.core.grid_figure` over the labelled grid of one
experiment of :mod:`srlm_kit.experiments.iterative` (named in the figure, so the browser tests
recompute each curve with the kit). Figures with several panels share one x-axis: the traces
are moved into stacked panels after the figure is built (:func:`stack_panels`), which keeps
every trace's index, and with it the composing sliders of the static page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import xarray as xr
from plotly.subplots import make_subplots

from srlm_kit.experiments.iterative import THEORY_BETA
from srlm_kit.figures.core import (
    PALETTE,
    Curve,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    horizontal_line,
)

GRID_EXPERIMENT = "iterative_bound_grid"
LEVEL_THREE_EXPERIMENT = "iterative_level_three"
ROUNDS_EXPERIMENT = "rounds_needed_grid"


SIMULATED, BOUND, EXTRA = PALETTE[0], PALETTE[1], PALETTE[2]

#: Slider positions kept in the page where a grid has more values than a reader needs (pages
#: stay small): rounds of the level-3 figure, n of the beta figure. Values missing from a grid
#: are skipped.
LEVEL_THREE_ROUNDS = (1, 2, 3, 4, 6, 8, 12)
BETA_N = (200, 800, 3200)


def _subset(values: Sequence, wanted: Sequence) -> list:
    """The values of ``wanted`` that the grid has (all of ``values`` if none of them)."""
    kept = [value for value in values if value in wanted]
    return kept or list(values)


@dataclass(frozen=True)
class Panel:
    """One panel of a stacked figure: the fields drawn in it, its y-axis title and scale."""

    fields: tuple[str, ...]
    y_title: str
    log_y: bool = False
    y_range: Sequence[float] | None = None
    title: str | None = None


def stack_panels(slider_figure: SliderFigure, panels: Sequence[Panel], *,
                 static_panels: Sequence[int] = (), x_title: str, log_x: bool = False,
                 panel_height: int = 300, legend_room: int = 90) -> SliderFigure:
    """Move the traces of a one-panel slider figure into stacked panels sharing the x-axis.

    A trace goes to the panel that lists its field (band edges go with their curve); the
    static traces, in order, go to the panels ``static_panels``. Trace order, and so every
    index the page's slider script uses, is unchanged. ``legend_room`` is the height added
    above the panels for the legend. Keep the total height under about 950 pixels, so that a
    reader (and the browser tests) can see the whole figure, sliders included, at once.
    """
    old = slider_figure.figure
    rows = len(panels)
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                           subplot_titles=[panel.title or "" for panel in panels])
    static_index = 0
    for trace in old.data:
        meta = trace.meta or {}
        if "field" in meta:
            row = next(number for number, panel in enumerate(panels)
                       if meta["field"] in panel.fields)
        else:
            row = static_panels[static_index]
            static_index += 1
        figure.add_trace(trace, row=row + 1, col=1)
    layout = old.layout
    figure.update_layout(
        height=panel_height * rows + layout.margin.b + layout.margin.t + legend_room,
        margin={**layout.margin.to_plotly_json(), "t": layout.margin.t + legend_room},
        template=layout.template, legend=layout.legend, sliders=layout.sliders,
        meta=layout.meta)
    for number, panel in enumerate(panels):
        figure.update_yaxes(title_text=panel.y_title, type="log" if panel.log_y else "linear",
                            range=list(panel.y_range) if panel.y_range is not None else None,
                            row=number + 1, col=1)
    figure.update_xaxes(type="log" if log_x else "linear")
    figure.update_xaxes(title_text=x_title, row=rows, col=1)
    slider_figure.figure = figure
    return _powers(slider_figure)


#: The parts of the figures' template (plotly_white) that line charts use; the rest (3-D
#: scenes, maps, colour scales, other trace types) would only make the pages larger.
_TEMPLATE_LAYOUT_KEYS = ("colorway", "font", "hovermode", "hoverlabel", "paper_bgcolor",
                         "plot_bgcolor", "xaxis", "yaxis", "shapedefaults",
                         "annotationdefaults", "title")


def _powers(slider_figure: SliderFigure) -> SliderFigure:
    """Finish a figure: logarithmic axes labelled with powers of ten (not SI prefixes such as
    "100μ"), and the template cut down to what line charts use (the same look, smaller pages)."""
    figure = slider_figure.figure
    figure.update_xaxes(exponentformat="power")
    figure.update_yaxes(exponentformat="power")
    template = figure.layout.template
    layout = {key: value for key, value in template.layout.to_plotly_json().items()
              if key in _TEMPLATE_LAYOUT_KEYS}
    scatter = [trace.to_plotly_json() for trace in template.data.scatter]
    figure.layout.template = go.layout.Template(layout=layout, data={"scatter": scatter})
    return slider_figure


# --------------------------------------------------------------------------------------------
# Chapter 5
# --------------------------------------------------------------------------------------------


def _n_slider(result: xr.Dataset, active: int = 3) -> Slider:
    return Slider("n", "triples per round n = ", active=min(active, result.sizes["n"] - 1))


def _kappa0_slider(result: xr.Dataset, active: int | None = None) -> Slider:
    last = result.sizes["kappa0"] - 1
    return Slider("kappa0", "initial condition number κ₀ = ",
                  active=last if active is None else active)


def main_figure(result: xr.Dataset, *, div_id: str = "fig-05-main-plot"
                ) -> SliderFigure:
    """The book's main figure: the measured failure after T rounds beside the bounds.

    x = rounds T; sliders n and kappa0 (the bump start); beta = 1/sqrt(n). Four curves: the
    simulated failure probability (mean, band over seeds); Theorem 5.3's shape times one
    constant fitted at one point of the whole grid (level 2); Lemma C.1's bound ``2 gap/gamma``
    from the measured gap of each round, with no constant (level 1); and the book's coverage
    model of toy A.
    """
    params = result.attrs
    calibration = result.attrs["level_two"]["calibration"]
    theory = {"beta": THEORY_BETA}
    last_t = coordinates(result, "t")[-1]
    description = (
        "Line chart with a logarithmic vertical axis against the number of rounds T from 0 to "
        f"{last_t}, for self-rewarding on {params['num_prompts']} prompts and "
        f"{params['num_responses']} responses with beta equal to one over the square root of "
        "n. It shows the probability that the policy puts at most half of its mass on its own "
        f"most likely response, mean over {params['seeds']} seeds with a band of one standard "
        "deviation; dashed, the shape of the Theorem 5.3 bound multiplied by one constant "
        "fitted at a single point of the whole grid; dash-dotted, Lemma C.1's bound computed "
        "from the measured gap of each round, with no constant; dotted, the book's coverage "
        "model of this toy. Sliders choose the triples per round n and the initial condition "
        "number. Lemma C.1's bound follows the measured failure within a small factor; the "
        "coverage model lies on it; the theorem's shape meets it only near its calibration "
        "point and hardly moves with T, while the measured failure falls geometrically.")
    figure = grid_figure(
        result, x="t",
        sliders=[_n_slider(result), _kappa0_slider(result)],
        curves=[
            Curve.mean_and_band("measured failure (mean over seeds)", "failure", "± 1 sd",
                                fixed=theory, color=SIMULATED),
            Curve(f"Theorem 5.3 shape × one constant (fitted at κ₀ = "
                  f"{calibration['kappa0']:g}, n = {calibration['n']}, T = {calibration['T']})",
                  "bound_calibrated", dash="dash", color=BOUND),
            Curve("Lemma C.1: 2·gap/γ from the measured gap", "c1_rhs", fixed=theory,
                  dash="dashdot", color=EXTRA),
            Curve("coverage model", "coverage_failure", dash="dot", color=PALETTE[6],
                  mode="lines", width=1.5),
        ],
        x_title="rounds T", y_title="P[max_y π_T(y|x) ≤ 1/2]", log_y=True,
        y_range=[-3.3, 0.8], description=description, div_id=div_id, height=460)
    return _powers(figure)


def level_one_figure(result: xr.Dataset, *, div_id: str = "fig-05-level-one-plot"
                     ) -> SliderFigure:
    """Level 1: both sides of Lemma C.1, of the tail-integral bound and of the unrolled
    recursion, on every round; sliders n and kappa0 (beta = 1/sqrt(n))."""
    params = result.attrs
    theory = {"beta": THEORY_BETA}
    last_t = coordinates(result, "t")[-1]
    description = (
        "Two stacked line charts with logarithmic vertical axes against the round t, each "
        "comparing a simulated quantity (solid) with the inequality's right-hand side "
        f"computed from the same runs (dashed), as means over {params['seeds']} seeds. Top, "
        "Lemma C.1: the fraction of prompts on which the new policy keeps at most half of its "
        "mass on the previous mode, against the performance gap divided by half the margin. "
        "Bottom, kappa_t against three bounds: the tail-integral bound of Lemma C.3 for each "
        "round, the unrolled recursion of Lemma C.4 with offset A equal to 1 and the smallest "
        "coefficient the steps need, and the recursion with offset A equal to 1 over mu, a "
        "flat line at the initial condition number. Sliders choose n and the initial "
        "condition number. Every solid curve lies under its dashed ones.")
    figure = grid_figure(
        result, x="t",
        sliders=[_n_slider(result), _kappa0_slider(result)],
        curves=[
            Curve("C.1 left: P[π_t(y*_{t−1}|x) ≤ 1/2]", "c1_lhs", fixed=theory,
                  color=SIMULATED),
            Curve("C.1 right: gap_{t−1}/(γ_{t−1}·(1 − 1/2))", "c1_rhs", fixed=theory,
                  dash="dash", color=BOUND),
            Curve("simulated κ_t", "kappa", fixed={**theory, "band": "mean"}, color=PALETTE[4]),
            Curve("tail-integral bound on κ_t (Eq. 56)", "tail_rhs", fixed=theory,
                  dash="dash", color=EXTRA),
            Curve("recursion, A = 1, fitted B′", "recursion_one", fixed=theory, dash="dash",
                  color=PALETTE[3]),
            Curve("recursion, A = 1/μ (B′ = 0)", "recursion_inverse_mu", fixed=theory,
                  dash="dot", color=PALETTE[6]),
        ],
        static_traces=[horizontal_line([0, last_t], 1.0, "κ = 1")],
        x_title="round t", y_title="", description=description, div_id=div_id)
    return stack_panels(figure, [
        Panel(("c1_lhs", "c1_rhs"), "probability", log_y=True, y_range=[-4, 1.5],
              title="Lemma C.1 on the step from round t − 1 to round t"),
        Panel(("kappa", "tail_rhs", "recursion_one", "recursion_inverse_mu"), "κ_t",
              log_y=True, title="Lemmas C.3 and C.4: bounds on κ_t"),
    ], static_panels=[1], x_title="round t", panel_height=300)


def rate_in_n_figure(result: xr.Dataset, *, div_id: str = "fig-05-rate-n-plot"
                     ) -> SliderFigure:
    """Level 2 against n: failure after T rounds (log-log), the calibrated shape; sliders T,
    kappa0 (beta = 1/sqrt(n))."""
    params = result.attrs
    theory = {"beta": THEORY_BETA}
    description = (
        "Line chart with logarithmic axes. It shows, against the number of triples per round n "
        f"from {coordinates(result, 'n')[0]} to {coordinates(result, 'n')[-1]}, the probability "
        "of failure after T "
        f"rounds (mean over {params['seeds']} seeds with a band of one standard deviation; "
        "zeros are not drawn) and, dashed, the shape of Theorem 5.3 times the one constant "
        "fitted at a single point of the grid, and, dotted, the book's coverage model of the "
        "toy. Sliders choose T and the initial condition number. The bound's shape falls like "
        "one over the square root of n; the simulated failure falls much faster, exponentially "
        "in n as the coverage model says, and faster still for more rounds.")
    return _powers(grid_figure(
        result, x="n",
        sliders=[Slider("t", "rounds T = ", values=coordinates(result, "t")[1:]),
                 _kappa0_slider(result)],
        curves=[
            Curve.mean_and_band("simulated failure after T rounds (mean over seeds)", "failure",
                                "simulated: ± 1 sd over seeds", fixed=theory, color=SIMULATED),
            Curve("Theorem 5.3 shape × one constant", "bound_calibrated", dash="dash",
                  color=BOUND),
            Curve("coverage model of toy A", "coverage_failure", dash="dot", color=PALETTE[6],
                  mode="lines", width=1.5),
        ],
        x_title="triples per round n", y_title="P[max_y π_T(y|x) ≤ 1/2]", log_x=True,
        log_y=True, y_range=[-3.3, 1.5], description=description, div_id=div_id))


def beta_figure(result: xr.Dataset, *, div_id: str = "fig-05-beta-plot"
                ) -> SliderFigure:
    """beta = 1/sqrt(n) against a constant beta: failure and kappa over rounds, with the
    infinite-data update; sliders n, kappa0, beta rule."""
    params = result.attrs
    last_t = coordinates(result, "t")[-1]
    description = (
        f"Two stacked line charts against the round t from 0 to {last_t}. Top: the "
        f"probability of failure (mean over {params['seeds']} seeds with a band); bottom: the "
        "condition number kappa_t with its band and, dotted, the infinite-data update from the "
        "same start. Sliders choose n, the initial condition number, and the rule for beta: "
        f"one over the square root of n, or the constant {params['constant_beta']:g}. With the "
        "small beta, failure falls from the first round on, at a pace set by how often each "
        "prompt's mode is sampled; with the constant beta, failure stays at 1 for the first "
        "rounds, as it does with infinite data, and then collapses.")
    figure = grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ",
                        values=_subset(coordinates(result, "n"), BETA_N),
                        active=1),
                 _kappa0_slider(result), Slider("beta", "β = ", format="{}")],
        curves=[
            Curve.mean_and_band("simulated failure probability", "failure",
                                "failure: ± 1 sd over seeds", color=SIMULATED),
            Curve.mean_and_band("simulated κ_t", "kappa", "κ_t: ± 1 sd over seeds",
                                color=PALETTE[4]),
            Curve("infinite data (exact update)", "population_kappa", dash="dot",
                  color=PALETTE[3], mode="lines"),
        ],
        static_traces=[horizontal_line([0, last_t], 1.0, "κ = 1")],
        x_title="round t", y_title="", description=description, div_id=div_id)
    return stack_panels(figure, [
        Panel(("failure",), "P[max_y π_t(y|x) ≤ 1/2]",
              y_range=[0, 1.05], title="failure probability"),
        Panel(("kappa", "population_kappa"), "κ_t",
              log_y=True, title="condition number κ_t"),
    ], static_panels=[1], x_title="round t", panel_height=250)


def level_three_figure(result: xr.Dataset, *,
                       div_id: str = "fig-05-level-three-plot") -> SliderFigure:
    """Level 3: the full bound with every hidden constant 1 against n (log-log), beside the
    simulated failure; sliders T and kappa0."""
    first, last = coordinates(result, "n")[0], coordinates(result, "n")[-1]
    description = (
        "Line chart with logarithmic axes. Against the number of triples per round n, from "
        f"{first:g} to {last:.3g}, it shows the failure bound of Theorem 5.3 with every hidden "
        "constant set to 1, for the class size log|Pi| = m log K and, dashed, for the most "
        "favourable log|Pi| = 0, and as points the simulated failure after T rounds at the "
        "simulated n. A dotted line marks probability 1. Sliders choose T and the initial "
        "condition number. At the simulated n the bound lies orders of magnitude above 1; it "
        "drops below 1 only at n between about ten thousand and ten billion, depending on "
        "the class size and the initial condition number.")
    return _powers(grid_figure(
        result, x="n",
        sliders=[Slider("T", "rounds T = ",
                        values=_subset(coordinates(result, "T"), LEVEL_THREE_ROUNDS)),
                 _kappa0_slider(result)],
        curves=[
            Curve("bound, constants 1, log|Π| = m log K", "bound", color=BOUND, mode="lines"),
            Curve("bound, constants 1, log|Π| = 0", "bound_no_class", color=BOUND, dash="dash",
                  mode="lines"),
            Curve("simulated failure after T rounds (mean over seeds)", "failure_observed",
                  color=SIMULATED, mode="markers"),
        ],
        static_traces=[horizontal_line([first, last], 1.0, "probability 1")],
        x_title="triples per round n", y_title="failure probability or its bound",
        log_x=True, log_y=True, y_range=[-3.3, 9], description=description, div_id=div_id))


# --------------------------------------------------------------------------------------------
# Chapter 6
# --------------------------------------------------------------------------------------------


def rounds_figure(result: xr.Dataset, *, div_id: str = "fig-06-rounds-plot"
                  ) -> SliderFigure:
    """Rounds needed to suppress the start against n, beside Corollary 5.7's threshold under
    three readings of mu; sliders kappa0 and the beta rule."""
    params = result.attrs
    readings = coordinates(result, "reading")
    description = (
        "Line chart with a logarithmic horizontal axis. Against the number of triples per "
        f"round n from {coordinates(result, 'n')[0]} to {coordinates(result, 'n')[-1]}, it shows "
        "the number of rounds "
        "the simulation needed before the condition number fell to twice its limit (mean "
        f"over {params['seeds']} seeds with a band; missing where some seed needed more than "
        f"the {params['T']} simulated rounds) and, dashed, the threshold of Corollary 5.7 "
        "under three readings of the minimum confidence mu: over all rounds including the "
        "start, over rounds from 1 on, and mu equal to 1. Sliders choose the initial "
        "condition number and the rule for beta. A dotted line gives the rounds the book's "
        "coverage model of the toy predicts. The first two thresholds sit at 1; the third "
        "rises slowly with the initial condition number; the simulation, like the coverage "
        "model, needs more rounds than any of them when n is small.")
    dashes = ("dash", "dashdot", "longdash")
    return _powers(grid_figure(
        result, x="n",
        sliders=[_kappa0_slider(result), Slider("beta", "β = ", format="{}")],
        curves=[
            Curve.mean_and_band("rounds needed in the simulation (mean over seeds)", "rounds",
                                "simulation: ± 1 sd over seeds", color=SIMULATED),
            Curve("coverage model of toy A (β = 1/√n)", "coverage_rounds", dash="dot",
                  color=PALETTE[6], mode="lines", width=1.5),
            *[Curve(f"Corollary 5.7 threshold, μ over {reading}" if reading != "μ = 1"
                    else "Corollary 5.7 threshold, μ = 1 (the limit's confidence)",
                    "threshold", fixed={"reading": reading}, dash=dash,
                    color=PALETTE[1 + number])
              for number, (reading, dash) in enumerate(zip(readings, dashes, strict=True))],
        ],
        x_title="triples per round n", y_title="rounds T", log_x=True,
        y_range=[0, params["T"] + 3], description=description, div_id=div_id))


def split_figure(result: xr.Dataset, *, div_id: str = "fig-06-split-plot"
                 ) -> SliderFigure:
    """sqrt(kappa_{T-1}) measured, beside Theorem 5.3's stable and transient terms under a
    reading of mu; sliders n, kappa0, reading."""
    params = result.attrs
    description = (
        "Line chart with a logarithmic vertical axis against the number of rounds T. It shows "
        "the square root of the condition number before the last round, measured (mean over "
        f"{params['seeds']} seeds with a band), and the two terms of Theorem 5.3 that bound "
        "it: the stable term, one over the square root of mu, the transient term, the square "
        "root of the initial condition number times the contraction factor to the power "
        "(T - 1)/2, and their sum. Sliders choose n, the initial condition number and the "
        "reading of mu. With mu taken over all rounds the transient term starts equal to the "
        "stable one and the sum stays within a factor 2 of it; with mu equal to 1 the sum "
        "falls to 1 within one or two rounds and drops below the measured curve.")
    last_T = coordinates(result, "T")[-1]
    return _powers(grid_figure(
        result, x="T",
        sliders=[_n_slider(result), _kappa0_slider(result),
                 Slider("reading", "μ taken as: ", format="{}")],
        curves=[
            Curve.mean_and_band("measured √κ_{T−1} (mean over seeds)", "sqrt_kappa",
                                "measured: ± 1 sd over seeds", color=SIMULATED),
            Curve("stable term μ^(−1/2)", "stable", dash="dash", color=BOUND),
            Curve("transient term √κ₀·q^((T−1)/2)", "transient", dash="dot", color=EXTRA),
            Curve("sum: the theory's bound on √κ_{T−1}", "term_sum", color=PALETTE[3]),
        ],
        static_traces=[horizontal_line([1, last_T], 1.0, "√κ = 1")],
        x_title="rounds T", y_title="√κ", log_y=True, y_range=[-1.5, 1.3],
        description=description, div_id=div_id))
