"""Figures of the chapter "Measuring failure", drawn from :mod:`srlm_kit.experiments.failure`.

Each builder takes the experiment's result, which records its experiment and keyword arguments
(copied into the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

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


def greedy_trap(result: xr.Dataset, *,
                div_id: str = "fig-03-greedy-trap-plot", caption: str | None = None
                ) -> SliderFigure:
    """The trap of Proposition 4.3: every sequence's probability, sliders p and the lead p' - p.

    Exact probabilities (dots), frequencies among sequences sampled token by token (open
    circles), the optimal sequence y* (star) and greedy decoding's output (cross); a dotted line
    at probability 1/2.
    """
    labels = coordinates(result, "sequence")
    description = (
        f"Dot chart over the {len(labels)} token sequences of the trap model of Proposition "
        "4.3, labelled by their tokens. Dots give each sequence's exact probability and open "
        "circles its frequency among sequences sampled token by token; a star marks the most "
        "likely sequence, 1 1 1, whose probability equals p, and a cross marks the output of "
        "greedy decoding, 0 0 0, whose probability is much smaller. A dotted line marks "
        "probability one half. Two sliders choose p and the trap token's lead p′ − p.")
    figure = grid_figure(
        result, x="sequence",
        sliders=[Slider("p", "π(y*) = p = ", active=1), Slider("lead", "trap lead p′ − p = ",
                                                                active=1)],
        curves=[
            Curve("exact probability π(y)", "probability", mode="markers", color=PALETTE[0]),
            Curve("frequency among sampled sequences", "frequency", mode="markers",
                  color=PALETTE[5]),
            Curve("optimal sequence y*", "optimal", mode="markers", color=PALETTE[2]),
            Curve("greedy decoding's output", "greedy", mode="markers", color=PALETTE[1]),
        ],
        static_traces=[horizontal_line(labels, 0.5, "probability 1/2")],
        x_title="sequence y = (y₁, y₂, y₃)", y_title="probability", y_range=[0, 0.55],
        description=description, caption=caption, div_id=div_id)
    markers = ({"size": 7}, {"size": 11, "symbol": "circle-open", "line": {"width": 2}},
               {"size": 16, "symbol": "star"}, {"size": 14, "symbol": "x"})
    for index, marker in enumerate(markers):
        figure.figure.data[index].update(marker=marker)
    figure.figure.update_xaxes(type="category", tickangle=-90)
    return figure


def condition_number_family(result: xr.Dataset, *,
                            div_id: str = "fig-03-kappa-family-plot",
                            caption: str | None = None) -> SliderFigure:
    """kappa - 1, 1/mu - 1, the failure probability and K - 1 against the temperature of random
    logits (log-log), slider K."""
    temperatures = coordinates(result, "temperature")
    description = (
        "Line chart with logarithmic axes against the temperature of random logits, from "
        f"{temperatures[0]:g} (nearly deterministic policies) to {temperatures[-1]:g} (nearly "
        "uniform ones). From top to bottom: the number of responses minus one (dashed), one "
        "over the minimum confidence minus one, the condition number kappa minus one, and the "
        "failure probability. The curves never cross: failure is at most kappa minus one, "
        "which is at most one over mu minus one, which is at most K minus one. A slider "
        "chooses the number of responses K.")
    return grid_figure(
        result, x="temperature",
        sliders=[Slider("K", "number of responses K = ", active=2)],
        curves=[
            Curve("K − 1", "ceiling", dash="dash", color=GREY, mode="lines"),
            Curve("1/μ − 1", "inverse_mu_minus_one", color=PALETTE[3]),
            Curve("κ − 1", "kappa_minus_one", color=PALETTE[0]),
            Curve("failure probability P[max_y π(y|x) ≤ 1/2]", "failure", color=PALETTE[1]),
        ],
        x_title="temperature (the logits ξ divided by it)", y_title="value (logarithmic scale)",
        log_x=True, log_y=True, y_range=[-3.3, 2.0], description=description,
        caption=caption, div_id=div_id)


def lemma_c1_thresholds(result: xr.Dataset, *,
                        div_id: str = "fig-03-lemma-c1-plot", caption: str | None = None
                        ) -> SliderFigure:
    """Both sides of Lemma C.1 after one step against the threshold s, sliders n and beta."""
    thresholds = coordinates(result, "s")
    description = (
        "Line chart against the threshold s from "
        f"{thresholds[0]:g} to {thresholds[-1]:g}. The solid curve is the left side of Lemma "
        "C.1 after one self-rewarding step, the share of prompts on which the new policy gives "
        "the previous mode at most probability s; the dashed curve is the right side, the "
        "performance gap divided by gamma times one minus s. Both are means over seeds with "
        "bands of one standard deviation. The dashed curve stays above the solid one "
        "everywhere. A dotted line marks 1. Sliders choose the number of triples n and beta.")
    return grid_figure(
        result, x="s",
        sliders=[Slider("n", "triples n = ", active=2), Slider("beta", "β = ")],
        curves=[
            Curve.mean_and_band("left side: P[π₁(y*₀(x)|x) ≤ s]", "lhs",
                                band_name="left side: ± 1 sd over seeds", color=PALETTE[0]),
            Curve.mean_and_band("right side: (J(π*) − J(π₁)) / (γ₀ (1 − s))", "rhs",
                                band_name="right side: ± 1 sd over seeds", color=PALETTE[1],
                                dash="dash"),
        ],
        static_traces=[horizontal_line(thresholds, 1.0, "probability 1")],
        x_title="threshold s", y_title="probability / bound", y_range=[0, 2.0],
        description=description, caption=caption, div_id=div_id)
