"""Display of the kit's SymPy derivations in chapters (srlm_kit.figures.derivations)."""

from __future__ import annotations

import re

from srlm_kit import theory
from srlm_kit.figures.derivations import derivation_markdown, latex, readable


def test_every_derivation_of_the_kit_renders_with_one_equation_per_step():
    for function in theory.DERIVATIONS:
        derivation = function()
        text = derivation_markdown(derivation)
        assert text.count("$$") == 2 * len(derivation.steps), function.__name__
        assert text.startswith("1. ")


def test_display_symbols_are_typeset():
    for derivation in (theory.gibbs_maximiser(), theory.gibbs_composition(),
                       theory.reward_identity()):
        text = derivation_markdown(derivation, symbols={"p": "p(y)"})
        # No display symbol left under its raw name (a name not preceded by a backslash).
        for name in ("pi^*", "pi_T(y)", "d^{2", "odds_{T}", "p(y)/pi"):
            assert re.search(r"(?<!\\)" + re.escape(name), text) is None, name
    shown = latex(theory.gibbs_maximiser().result)
    assert shown == r"\pi^*_{\beta,t}(y) = \frac{\pi_t(y)^{1 + \frac{1}{\beta}}}{Z_{t}}"
    # The label of an indexed family keeps its name: pi_t[y] is not the scalar pi_t(y).
    lagrangian = theory.gibbs_maximiser().steps[0][1]
    assert r"\pi_t(y)" not in latex(lagrangian) and r"{\pi_{t}}_{y}" in latex(lagrangian)
    linear = derivation_markdown(theory.softmax_log_ratio())
    assert r"\log\pi_\theta(y) - \log\pi_{\theta'}(y)" in linear
    tail = derivation_markdown(theory.tail_integral())
    assert r"\kappa_{t+1}" in tail and "u\\*" in tail and "\n10. " in tail


def test_readable_descriptions():
    assert readable("Divide by pi_t^(1+1/beta): done") == "Divide by π_t^(1+1/β): done"
    assert readable("alphabet and betas stay") == "alphabet and betas stay"
    assert readable("pi* and pipe") == "π* and pipe"
    assert readable("beta <= ||theta||") == "β ≤ ‖θ‖"
    assert readable("kappa_0 -> W_{-1}") == "κ₀ → W₋₁"


def test_a_chapter_can_override_a_symbol():
    shown = latex(theory.gibbs_maximiser().result, symbols={"pi^*_{beta,t}(y)": "q(y)"})
    assert shown.startswith("q(y) =")
