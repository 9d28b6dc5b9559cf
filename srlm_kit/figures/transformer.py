"""Figures of the chapter "A small transformer in the loop", from
:mod:`srlm_kit.experiments.transformer`.

Each builder takes the experiment's result, which records its experiment and keyword arguments
(copied into the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import xarray as xr

from srlm_kit.figures.core import Curve, Slider, SliderFigure, coordinates, grid_figure

_EXPERIMENT = "small_transformer_loop"


def _sliders(result: xr.Dataset) -> list[Slider]:
    n_values = coordinates(result, "n")
    return [Slider("n", "triples per round n = ", active=len(n_values) - 1),
            Slider("beta", "β = ", active=0)]


def _versus_theory(result: xr.Dataset, metric: str, y_title: str, div_id: str,
                   description: str) -> SliderFigure:
    return grid_figure(
        result, x="t", sliders=_sliders(result),
        curves=[
            Curve.mean_and_band("transformer, square loss (mean over seeds)", metric,
                                fixed={"loss": "square"},
                                band_name="square loss: ± 1 sd over seeds"),
            Curve.mean_and_band("transformer, logistic DPO loss (mean over seeds)", metric,
                                fixed={"loss": "logistic"},
                                band_name="logistic loss: ± 1 sd over seeds"),
            Curve("table of logits, exact ERM (mean over seeds)", f"tabular_{metric}",
                  fixed={"band": "mean"}, dash="dot", color="#009E73"),
            Curve("exact update π_t^(1+1/β) (infinite data)", f"population_{metric}",
                  dash="dash", color="#000000", mode="lines+markers"),
        ],
        x_title="round t", y_title=y_title, description=description, div_id=div_id)


def transformer_kappa(result: xr.Dataset, *,
                      div_id: str = "fig-10-kappa-plot") -> SliderFigure:
    """``kappa_t`` of the transformer (square and logistic loss) beside the tabular ERM and the
    exact update, from the same start; sliders ``n`` and ``beta``."""
    last_t = coordinates(result, "t")[-1]
    description = (
        f"Line chart of the condition number kappa after each round t from 0 to {last_t}. "
        "Four curves start from the same model: the small transformer trained with the square "
        "loss and with the logistic DPO loss (means over seeds with shaded bands of one "
        "standard deviation), a table of logits updated by the exact least-squares fit "
        "(dotted), and the exact infinite-data update (dashed). Two sliders choose the "
        "number n of triples per round and beta.")
    return _versus_theory(result, "kappa", "condition number κ(π_t)", div_id,
                          description)


def transformer_failure(result: xr.Dataset, *,
                        div_id: str = "fig-10-failure-plot") -> SliderFigure:
    """Failure probability of the transformer beside the tabular ERM and the exact update;
    sliders ``n`` and ``beta``."""
    last_t = coordinates(result, "t")[-1]
    description = (
        "Line chart of the failure probability, the share of prompts on which the model puts "
        f"at most one half on its most likely response, after each round t from 0 to {last_t}, "
        "for the small transformer (square and logistic loss, means over seeds with bands of "
        "one standard deviation), for a table of logits with the exact least-squares fit "
        "(dotted), and for the exact infinite-data update (dashed). Two sliders choose n and "
        "beta.")
    return _versus_theory(result, "failure", "failure probability", div_id,
                          description)


def transformer_kl(result: xr.Dataset, *,
                   div_id: str = "fig-10-kl-plot") -> SliderFigure:
    """``E_x KL(pi_t || pi_{t-1}^(1+1/beta))``, how far each round's fit lands from its Gibbs
    target (log y); sliders ``n`` and ``beta``."""
    last_t = coordinates(result, "t")[-1]
    description = (
        "Line chart with a logarithmic vertical axis of the Kullback-Leibler divergence, in "
        "nats, from the transformer fitted in round t to that round's target, the current "
        f"model raised to the power 1 + 1/beta and renormalised, for t from 1 to {last_t}; "
        "square and logistic loss, means over seeds with bands of one standard deviation. "
        "Two sliders choose n and beta. Zero would mean the fit is exactly the theory's "
        "update.")
    return grid_figure(
        result, x="t", sliders=_sliders(result),
        curves=[
            Curve.mean_and_band("square loss (mean over seeds)", "kl",
                                fixed={"loss": "square"},
                                band_name="square loss: ± 1 sd over seeds"),
            Curve.mean_and_band("logistic DPO loss (mean over seeds)", "kl",
                                fixed={"loss": "logistic"},
                                band_name="logistic loss: ± 1 sd over seeds"),
        ],
        x_title="round t", y_title="KL(π_t ‖ π_{t−1}^(1+1/β)) in nats", log_y=True,
        description=description, div_id=div_id)


def transformer_pooling(result: xr.Dataset, *,
                        div_id: str = "fig-10-pooling-plot") -> SliderFigure:
    """``kappa`` after ``T`` rounds of ``n`` triples against one round of ``n T``, for the
    transformer and for the table of logits; sliders ``loss`` and ``beta``."""
    params = result.attrs
    description = (
        f"Line chart of the condition number after spending T times {params['pooled_n']} "
        "triples in two ways: T rounds of "
        f"{params['pooled_n']} triples, and one round of all of them, for T = "
        f"{', '.join(str(T) for T in coordinates(result, 'T'))}. Solid lines: the small "
        "transformer (means over seeds); dotted: a table of logits with the exact "
        "least-squares fit. Two sliders choose the transformer's loss and beta.")
    return grid_figure(
        result, x="T",
        sliders=[Slider("loss", "loss: ", format="{}"), Slider("beta", "β = ")],
        curves=[
            Curve(f"transformer, T rounds of {params['pooled_n']}", "rounds_kappa_mean"),
            Curve(f"transformer, one round of {params['pooled_n']} T", "pooled_kappa_mean"),
            Curve(f"table, T rounds of {params['pooled_n']}", "tabular_rounds_kappa_mean",
                  dash="dot"),
            Curve(f"table, one round of {params['pooled_n']} T", "tabular_pooled_kappa_mean",
                  dash="dot"),
        ],
        x_title="rounds T (budget of n T triples)", y_title="condition number after the budget",
        description=description, div_id=div_id)


def transformer_budget(result: xr.Dataset, *,
                       div_id: str = "fig-10-budget-plot") -> SliderFigure:
    """``kappa_t`` with few, the default and many Adam steps per round; sliders ``loss``, ``n``
    and ``beta``."""
    steps = coordinates(result, "steps")
    description = (
        "Line chart of the condition number after each round for the small transformer fitted "
        f"with {steps[0]}, {steps[1]} and {steps[2]} Adam steps per round (means over seeds), "
        "and, dotted, a table of logits with the exact least-squares fit. Three sliders choose "
        "the loss, n and beta.")
    n_values = coordinates(result, "n")
    return grid_figure(
        result, x="t",
        sliders=[Slider("loss", "loss: ", format="{}"),
                 Slider("n", "triples per round n = ", active=len(n_values) - 1),
                 Slider("beta", "β = ")],
        curves=[
            *[Curve(f"{count} Adam steps per round", "budget_kappa_mean",
                    fixed={"steps": count}) for count in steps],
            Curve("table of logits, exact ERM", "tabular_kappa", dash="dot",
                  color="#000000", fixed={"band": "mean"}),
        ],
        x_title="round t", y_title="condition number κ(π_t)", description=description,
        div_id=div_id)
