"""Figures of chapter 2, drawn from the experiment ``population_sharpening``, and the display of
the kit's SymPy derivations as numbered display equations.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import plotly.graph_objects as go
import sympy as sp

from srlm_kit.figures.core import PALETTE, Curve, Slider, SliderFigure, grid_figure

EXPERIMENT = "population_sharpening"

# --------------------------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------------------------

#: LaTeX for the display symbols of :mod:`srlm_kit.theory` whose names SymPy would typeset
#: literally (a name such as ``"pi^*(y)"`` is one symbol, not an expression). Symbols not listed
#: keep SymPy's own rendering.
SYMBOL_LATEX = {
    "pi_t": r"\pi_t(y)",
    "pi_t'": r"\pi_t(y')",
    "pi_0": r"\pi_0(y)",
    "pi^*(y)": r"\pi^*_{\beta,t}(y)",
    "pi^*(y')": r"\pi^*_{\beta,t}(y')",
    "pi^*_{beta,t}(y)": r"\pi^*_{\beta,t}(y)",
    "pi_T(y)": r"\pi_T(y)",
    "p(y)/pi_t(y)^(1+1/beta)": r"\frac{p(y)}{\pi_t(y)^{1+1/\beta}}",
    "d^2 L/dp(y)^2": r"\frac{\partial^2 \mathcal{L}}{\partial p(y)^2}",
    "odds_T": r"\frac{\pi_T(y)}{\pi_T(y_{\mathrm{mode}})}",
    "residual": r"\mathrm{residual}",
    "Delta(DPO reward)": r"\Delta\left(\beta \log \frac{\pi^*_{\beta,t}}{\pi_t}\right)",
    "b(x)": r"b(x)",
    "f(y)": r"f(y)",
    "f(y')": r"f(y')",
    "r": r"r",
}

_GREEK = ("beta", "kappa", "gamma", "lambda", "mu", "rho", "theta", "sigma", "delta")
_GREEK_PATTERN = re.compile(r"(?<![A-Za-z\\])(" + "|".join(_GREEK) + r")(?![A-Za-z])")


def latex(expression: sp.Basic, symbols: Mapping[str, str] | None = None) -> str:
    """LaTeX of a step of a :class:`srlm_kit.theory.Derivation`, with the display symbols of
    :data:`SYMBOL_LATEX` typeset as the formulas they name; ``symbols`` adds or overrides
    names for one derivation (e.g. ``{"p": "p(y)"}``)."""
    table = {**SYMBOL_LATEX, **(symbols or {})}
    # The label of an indexed family (pi_t[y]) keeps its own name: it is not the scalar pi_t(y).
    labels = {base.label for base in expression.atoms(sp.IndexedBase)}
    names = {symbol: table[symbol.name] for symbol in expression.free_symbols
             if isinstance(symbol, sp.Symbol) and symbol.name in table and symbol not in labels}
    return sp.latex(expression, symbol_names=names)


def readable(description: str) -> str:
    """A step description of :mod:`srlm_kit.theory` with Greek names as Greek letters
    (``"beta"`` -> ``"β"``) and ``pi`` as ``π``, for prose."""
    text = _GREEK_PATTERN.sub(lambda match: {
        "beta": "β", "kappa": "κ", "gamma": "γ", "lambda": "λ", "mu": "μ", "rho": "ρ",
        "theta": "θ", "sigma": "σ", "delta": "δ"}[match.group(1)], description)
    text = re.sub(r"(?<![A-Za-z])pi(?=[_*^(])", "π", text)
    return text


def derivation_markdown(derivation, symbols: Mapping[str, str] | None = None) -> str:
    """The steps of a derivation as a numbered Markdown list, one display equation per step.

    ``derivation`` is a :class:`srlm_kit.theory.Derivation`; ``symbols`` as in :func:`latex`.
    Wrap the result in ``IPython.display.Markdown`` to show it in a chapter.
    """
    items = []
    for number, (description, expression) in enumerate(derivation.steps, start=1):
        text = readable(description).rstrip()
        if not text.endswith((":", "=")):
            text += ":"
        items.append(f"{number}. {text}\n\n   $$\n   {latex(expression, symbols)}\n   $$")
    return "\n\n".join(items)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _kappa0_slider(result: Mapping, active_value: float = 4.0) -> Slider:
    values = result["coords"]["kappa0"]
    active = values.index(active_value) if active_value in values else 0
    return Slider("kappa0", "initial condition number κ₀ = ", active=active)


def top_probability_over_rounds(result: Mapping, kwargs: Mapping, *,
                                div_id: str = "fig-02-top-probability-plot") -> SliderFigure:
    """Top probability ``max_y pi_t(y|x)`` of the exact iteration against the round, one curve
    per beta, a slider over the initial condition number."""
    coords, params = result["coords"], result["params"]
    betas = coords["beta"]
    description = (
        "Line chart. It shows the probability of the most likely response after each round t "
        f"from 0 to {coords['t'][-1]} of the exact, infinite-data self-rewarding iteration, "
        f"starting from a policy over {params['num_responses']} responses, one curve for each "
        f"value of beta ({', '.join(f'{b:g}' for b in betas)}). A dotted line marks "
        "probability one half. A slider chooses the initial condition number. Every curve "
        "rises to 1; the smaller beta, the fewer rounds it takes.")
    curves = [Curve(f"β = {beta:g}", "top_probability", fixed={"beta": beta},
                    color=PALETTE[number % len(PALETTE)])
              for number, beta in enumerate(betas)]
    return grid_figure(
        result, experiment=EXPERIMENT, kwargs=kwargs, x="t", sliders=[_kappa0_slider(result)],
        curves=curves,
        static_traces=[go.Scatter(
            x=[coords["t"][0], coords["t"][-1]], y=[0.5, 0.5], mode="lines",
            name="probability 1/2", line={"color": "#999999", "dash": "dot", "width": 1.5},
            hoverinfo="skip")],
        x_title="round t", y_title="top probability max_y π_t(y|x)", y_range=[0.0, 1.03],
        description=description, div_id=div_id)


def margin_over_rounds(result: Mapping, kwargs: Mapping, *,
                       div_id: str = "fig-02-margin-plot") -> SliderFigure:
    """The margin ``gamma_t`` (log-odds of the mode against the runner-up) on a log axis: the kit's
    exact iteration and the closed form ``b (1 + 1/beta)^t``, sliders beta and kappa0."""
    coords, params = result["coords"], result["params"]
    floor = -params["log_floor"]
    description = (
        "Line chart with a logarithmic vertical axis. It shows the log-odds of the most likely "
        "response against the second most likely after each round t from 0 to "
        f"{coords['t'][-1]} of the exact self-rewarding iteration: computed by the kit "
        "(markers) and from the closed form b times (1 + 1/beta) to the power t (dashed). Two "
        "sliders choose beta and the initial condition number. Both are straight lines, so the "
        "log-odds grow exponentially and the odds of the runner-up fall doubly exponentially. "
        f"A dotted line marks {floor:g}, where the kit's stored log-probabilities reach their "
        "floor and its curve stops rising.")
    beta_values = coords["beta"]
    beta_active = beta_values.index(1.0) if 1.0 in beta_values else 0
    return grid_figure(
        result, experiment=EXPERIMENT, kwargs=kwargs, x="t",
        sliders=[Slider("beta", "β = ", active=beta_active), _kappa0_slider(result)],
        curves=[
            Curve("kit: exact iteration (population update)", "margin", mode="markers",
                  color=PALETTE[0]),
            Curve("closed form b (1 + 1/β)^t", "closed_margin", dash="dash", color=PALETTE[1],
                  mode="lines"),
        ],
        static_traces=[go.Scatter(
            x=[coords["t"][0], coords["t"][-1]], y=[floor, floor], mode="lines",
            name="kit's floor for log-probabilities", hoverinfo="skip",
            line={"color": "#999999", "dash": "dot", "width": 1.5})],
        x_title="round t", y_title="margin γ_t = log π_t(mode) − log π_t(runner-up)",
        log_y=True, description=description, div_id=div_id)
