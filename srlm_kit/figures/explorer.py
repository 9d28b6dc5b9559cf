"""Figures of the gallery page, drawn from the experiment ``kappa_and_failure_grid``.

Both take the experiment's result, which records its experiment and keyword arguments (copied into
the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import xarray as xr

from srlm_kit.figures.core import (
    Curve,
    Slider,
    SliderFigure,
    coordinates,
    grid_figure,
    horizontal_line,
)

EXPERIMENT = "kappa_and_failure_grid"


def _kappa0_slider() -> Slider:
    return Slider("kappa0", "initial condition number κ₀ = ")


def _beta_slider() -> Slider:
    return Slider("beta", "β = ")


def failure_over_n(result: xr.Dataset, *, div_id: str = "fig-failure-over-n",
                   caption: str | None = None) -> SliderFigure:
    """Failure probability after T rounds against n (log-log), sliders T, kappa0 and beta.

    The simulated mean with a band (mean ± 1 sd over seeds, clipped to the seeds' range) and
    the Theorem 5.3 bound at the runs' measured mu and gamma, every hidden constant 1 (the
    experiment's ``failure_bound``). A dotted line marks probability 1: a bound above it says
    nothing. Zero failure probabilities have no place on a log axis and are not drawn.
    """
    rounds = [t for t in coordinates(result, "t") if t >= 1]
    first_n, last_n = coordinates(result, "n")[0], coordinates(result, "n")[-1]
    description = (
        "Line chart with logarithmic axes. It shows the probability, over prompts, that the "
        "policy puts at most half of its mass on its own most likely response after T rounds "
        f"of self-rewarding, for n from {first_n} to {last_n} triples per round: the mean over "
        "seeds with a shaded band of one standard deviation, and, dashed, the upper bound of "
        "Theorem 5.3 with every hidden constant set to 1. A dotted horizontal line marks "
        "probability 1. Three sliders choose the number of rounds T, the initial condition "
        "number and beta. The simulated failure falls to zero within the range of n, while the "
        "bound decreases slowly and, for the larger initial condition numbers, stays above 1.")
    return grid_figure(
        result, x="n",
        sliders=[Slider("t", "rounds T = ", values=rounds), _kappa0_slider(), _beta_slider()],
        curves=[
            Curve.mean_and_band("simulated failure probability (mean over seeds)", "failure",
                                band_name="simulated: ± 1 sd over seeds"),
            Curve("Theorem 5.3 bound (hidden constants = 1)", "failure_bound", dash="dash",
                  color="#D55E00"),
        ],
        static_traces=[horizontal_line([first_n, last_n], 1.0, "probability 1")],
        x_title="triples per round n", y_title="P[max_y π_T(y|x) ≤ 1/2]",
        log_x=True, log_y=True, y_range=[-3, 2.5], description=description, caption=caption,
        div_id=div_id)


def kappa_over_rounds(result: xr.Dataset, *, div_id: str = "fig-kappa-over-rounds",
                      caption: str | None = None) -> SliderFigure:
    """Condition number kappa_t against the round t (log y), sliders n, kappa0 and beta.

    The simulated mean with its band, and the exact infinite-data (population) update from the
    same start, which does not depend on n.
    """
    last_t = coordinates(result, "t")[-1]
    description = (
        "Line chart with a logarithmic vertical axis. It shows the policy condition number "
        f"kappa after each round t from 0 to {last_t}: the mean over seeds of simulated "
        "self-rewarding with n triples per round, with a shaded band of one standard "
        "deviation, and the exact infinite-data update from the same start as a dashed line. "
        "A dotted line marks kappa equal to 1, a deterministic policy. Three sliders choose n, "
        "the initial condition number and beta. With more triples per round the simulated "
        "curve approaches the infinite-data curve.")
    return grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = ", active=min(3, result.sizes["n"] - 1)),
                 _kappa0_slider(), _beta_slider()],
        curves=[
            Curve.mean_and_band("simulated κ_t (mean over seeds)", "kappa",
                                band_name="simulated: ± 1 sd over seeds"),
            Curve("infinite data (population update)", "population_kappa", dash="dash"),
        ],
        static_traces=[horizontal_line(coordinates(result, "t"), 1.0,
                                       "κ = 1 (deterministic policy)")],
        x_title="round t", y_title="condition number κ(π_t)", log_y=True,
        description=description, caption=caption, div_id=div_id)
