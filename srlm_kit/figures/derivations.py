"""Derivations of :mod:`srlm_kit.theory` shown as display equations in a chapter.

A :class:`srlm_kit.theory.core.Derivation` holds its steps as SymPy expressions whose display
symbols have ASCII names (``"kappa_{t+1}"``, ``"P_D theta_t"``); :func:`derivation_markdown` turns
them into a numbered Markdown list with one display equation per step, the symbols typeset as the
formulas they name (:data:`SYMBOL_LATEX`) and Greek names in the descriptions written as Greek
letters (:func:`readable`). Wrap the result in ``IPython.display.Markdown`` to show it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import sympy as sp

#: LaTeX for display symbols whose names SymPy would typeset literally (a name such as
#: ``"fail(T)"`` is one symbol, not an expression). Symbols not listed keep SymPy's rendering;
#: a chapter adds or overrides names for one derivation with the ``symbols`` argument.
SYMBOL_LATEX = {
    'pi_t': '\\pi_t(y)',
    "pi_t'": "\\pi_t(y')",
    'pi_0': '\\pi_0(y)',
    'pi^*(y)': '\\pi^*_{\\beta,t}(y)',
    "pi^*(y')": "\\pi^*_{\\beta,t}(y')",
    'pi^*_{beta,t}(y)': '\\pi^*_{\\beta,t}(y)',
    'pi_T(y)': '\\pi_T(y)',
    'p(y)/pi_t(y)^(1+1/beta)': '\\frac{p(y)}{\\pi_t(y)^{1+1/\\beta}}',
    'd^2 L/dp(y)^2': '\\frac{\\partial^2 \\Lambda}{\\partial p(y)^2}',
    'odds_T': '\\frac{\\pi_T(y)}{\\pi_T(y_{\\mathrm{mode}})}',
    'residual': '\\mathrm{residual}',
    'Delta(DPO reward)': ("\\beta \\log \\frac{\\pi^*_{\\beta,t}(y)}{\\pi_t(y)}"
                          " - \\beta \\log \\frac{\\pi^*_{\\beta,t}(y')}{\\pi_t(y')}"),
    'a(x)': 'a(x)',
    'u(y)': 'u(y)',
    "u(y')": "u(y')",
    'r': 'r',
    'odds_0': '\\mathrm{odds}_0',
    'P_hit': 'P_{\\mathrm{hit}}',
    'p_secret': 'p_{\\mathrm{secret}}',
    'E_self(t) / E_frozen(t)': 'E^{\\mathrm{self}}_t / E^{\\mathrm{frozen}}_t',
    'P_x[pi(y^*|x) <= s]': 'P_{x \\sim \\rho}\\left[\\pi(y^*(x) \\mid x) \\le s\\right]',
    'pi(y^*|x)': '\\pi(y^*(x) \\mid x)',
    'gap(x)': '\\mathrm{gap}(x)',
    'Delta_J': '\\left(J(\\pi^*) - J(\\pi)\\right)',
    'epsilon': '\\varepsilon',
    'kappa_{t+1}': '\\kappa_{t+1}',
    'kappa_t': '\\kappa_t',
    'kappa_T': '\\kappa_T',
    'kappa_{T-1}': '\\kappa_{T-1}',
    'fail(T)': '\\mathrm{fail}(T)',
    '|Pi|': '|\\Pi|',
    'epsilon_stat': '\\varepsilon_{\\mathrm{stat}}',
    'E[U]': '\\mathbb{E}U',
    'Var U': '\\operatorname{Var}U',
    'U_max': 'U_{\\max}',
    'log(|Pi|/delta)': '\\log(|\\Pi|/\\delta)',
    'kappa_0 log|Pi|': '\\kappa_0 \\log|\\Pi|',
    'gap': '\\mathrm{gap}',
    'min(sqrt(kappa) - log(kappa))': '\\min_\\kappa(\\sqrt{\\kappa} - \\log\\kappa)',
    'sqrt(kappa^*)': '\\sqrt{\\kappa^*}',
    'T_threshold': 'T_{\\mathrm{threshold}}',
    "f'(k)": "f'(\\kappa)",
    'f(k) - tangent(k)': 'f(\\kappa) - \\mathrm{tangent}(\\kappa)',
    'u^*': 'u^*',
    'I_1': '\\mathcal{I}_1',
    'I_2': '\\mathcal{I}_2',
    'd_eff': 'd_{\\mathrm{eff}}',
    'd_eff(lambda)': 'd_{\\mathrm{eff}}(\\lambda)',
    "log pi_theta(y) - log pi_theta'(y)": "\\log\\pi_\\theta(y) - \\log\\pi_{\\theta'}(y)",
    "Z_theta/Z_theta'": "Z_\\theta / Z_{\\theta'}",
    'N(tau)': '\\mathcal{N}(\\tau)',
    'log N(tau)': '\\log \\mathcal{N}(\\tau)',
    'log N': '\\log \\mathcal{N}',
    'tail/lambda': '\\mathrm{tail}/\\lambda',
    'P_D': '\\mathcal{P}_D',
    'D^T (D D^T)^{-1} D': 'D^\\top (D D^\\top)^{-1} D',
    'theta(t)': '\\theta_t',
    'theta_t': '\\theta_t',
    'theta_{t+1}': '\\theta_{t+1}',
    'P_D theta_t': '\\mathcal{P}_D\\theta_t',
    '||theta||^2': '\\lVert\\theta\\rVert^2',
    '||theta_{t+1}||^2': '\\lVert\\theta_{t+1}\\rVert^2',
    '||theta_0||': '\\lVert\\theta_0\\rVert',
    '||theta_t||': '\\lVert\\theta_t\\rVert',
    'growth': '\\frac{\\lVert\\theta_{t+1}\\rVert}{\\lVert\\theta_t\\rVert}',
}

#: ASCII spellings in step descriptions and what prose shows instead.
_WORDS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "eps": "ε", "theta": "θ",
    "kappa_0": "κ₀", "kappa": "κ", "lambda": "λ", "mu": "μ", "pi": "π", "Pi": "Π", "rho": "ρ",
    "phi": "φ", "sigma": "σ", "omega": "ω", "nu": "ν", "chi": "χ", "tau": "τ",
    "W_{-1}": "W₋₁",
}
_WORD_PATTERN = re.compile(r"(?<![A-Za-z\\])(" + "|".join(
    re.escape(word) for word in sorted(_WORDS, key=len, reverse=True)) + r")(?![A-Za-z])")
_SIGNS = (("||", "‖"), ("<=", "≤"), (">=", "≥"), ("->", "→"))


def latex(expression: sp.Basic, symbols: Mapping[str, str] | None = None) -> str:
    """LaTeX of one step, with the symbols of :data:`SYMBOL_LATEX` (and ``symbols``, which add or
    override) typeset as the formulas they name. The label of an indexed family (``pi_t[y]``)
    keeps its own name: it is not the scalar ``pi_t(y)``."""
    table = {**SYMBOL_LATEX, **(symbols or {})}
    labels = {base.label for base in expression.atoms(sp.IndexedBase)}
    names = {symbol: table[symbol.name] for symbol in expression.free_symbols
             if isinstance(symbol, sp.Symbol) and symbol.name in table and symbol not in labels}
    return sp.latex(expression, symbol_names=names)


def readable(description: str) -> str:
    """A step description with Greek names as Greek letters and ASCII signs as symbols
    (``"beta <= ||theta||"`` -> ``"β ≤ ‖θ‖"``), for prose."""
    text = _WORD_PATTERN.sub(lambda match: _WORDS[match.group(1)], description)
    for ascii_form, symbol in _SIGNS:
        text = text.replace(ascii_form, symbol)
    return text


def derivation_markdown(derivation, symbols: Mapping[str, str] | None = None) -> str:
    """The steps of a :class:`srlm_kit.theory.core.Derivation` as a numbered Markdown list, one
    display equation per step; ``symbols`` as in :func:`latex`."""
    items = []
    for number, (description, expression) in enumerate(derivation.steps, start=1):
        text = readable(description).rstrip().replace("*", r"\*")  # u*, kappa*: not emphasis
        if not text.endswith((":", "=", "≤")):
            text += ":"
        indent = " " * len(f"{number}. ")
        items.append(f"{number}. {text}\n\n{indent}$$\n{indent}{latex(expression, symbols)}"
                     f"\n{indent}$$")
    return "\n\n".join(items)
