"""The condition number kappa: Lemma C.1 and the tail integral of Lemma C.3.

Lemma C.1 bounds the share of prompts on which a policy gives the reward's maximiser ``y*`` at
most probability s by the performance gap (:func:`lemma_c1`); integrating that bound over the
levels s gives the one-step bound on ``kappa_{t+1} = E_x[1/max_y pi_{t+1}(y|x)]``
(:func:`tail_integral`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    _expand_logs,
    a,
    gamma,
    gap,
    mu,
    p,
    s,
    u,
)

__all__ = ["lemma_c1", "tail_integral"]


def lemma_c1() -> Derivation:
    """Lemma C.1: ``P_x[pi(y*(x)|x) <= s] <= (J(pi*) - J(pi)) / (gamma (1 - s))`` for s in (0, 1).

    Statement [quoted, v2 text]; formula [reconstructed, from the proof prose;
    :ref:`recovered-lem-c-1`]; the two lines are checked here in SymPy:

    1. ``1{p <= s} <= (1 - p)/(1 - s)`` for p in [0, 1] (Eq. 9): write ``p = s - u`` (u >= 0)
       on {p <= s}, where the right side minus 1 is ``u/(1 - s) >= 0``; on {p > s} the right side
       is ``>= 0``.
    2. ``r(y*) - r(y) >= gamma 1{y != y*}`` (Eq. 10) gives, per prompt,
       ``gap(x) = sum_y pi(y)(r(y*) - r(y)) >= gamma (1 - pi(y*))``.

    Taking expectations over x: ``P[p <= s] <= E[1 - p]/(1 - s) <= gap/(gamma (1 - s))``.
    """
    slack_below = sp.Symbol("u", nonnegative=True)  # s - p on the event {p <= s}
    complement_s = sp.Symbol("sbar", positive=True)  # 1 - s > 0
    complement_p = sp.Symbol("v", nonnegative=True)  # 1 - p >= 0
    ratio = (1 - p) / (1 - s)
    case_below = sp.simplify((ratio - 1).subs(p, s - slack_below).subs(s, 1 - complement_s))
    case_above = sp.simplify(ratio.subs(p, 1 - complement_p).subs(s, 1 - complement_s))
    indicator = sp.Piecewise((1, p <= s), (0, True))
    mode_prob = sp.Symbol("pi(y^*|x)", positive=True)
    per_prompt_gap_lower = gamma * (1 - mode_prob)
    failure = sp.Symbol("P_x[pi(y^*|x) <= s]", nonnegative=True)
    result = sp.Le(failure, gap / (gamma * (1 - s)))
    steps = [
        ("Indicator inequality (Eq. 9)", sp.Le(indicator, ratio)),
        ("On {p <= s}, with p = s - u and 1 - s = s̄: right side minus 1 equals", case_below),
        ("On {p > s}, with 1 - p = v and 1 - s = s̄: right side equals", case_above),
        ("Margin (Eq. 10): per prompt, the gap is at least gamma times the mass off y*",
         sp.Ge(sp.Symbol("gap(x)"), per_prompt_gap_lower)),
        ("Average over x: E[1 - p] <= gap/gamma, hence Lemma C.1", result),
    ]
    return Derivation(result, steps)


def tail_integral() -> Derivation:
    """One-step bound on ``kappa_{t+1}`` from the tail integral of ``Z = 1/max_y pi_{t+1}(y|x)``.

    With ``a = gap_t/gamma_t`` and ``mu = mu_{t+1}`` (so ``Z`` lies in ``[1, 1/mu]``)::

        kappa_{t+1} = 1 + int_1^{1/mu} P(Z > u) du <= 1 + int_1^{1/mu} min(1, a u/(u - 1)) du

    because, for u > 1, ``Z > u`` means the top probability of pi_{t+1} is below 1/u, so
    ``pi_{t+1}(y*_t) < 1/u`` too, and Lemma C.1 with ``s = 1/u`` bounds that event's probability
    by ``a/(1 - 1/u) = a u/(u - 1)``. The cap reaches 1 at ``u* = 1/(1 - a)`` (needs a < 1).
    Result (piecewise)::

        1 + a/mu + a log((1/mu - 1)(1 - a)/a)   if u* < 1/mu, i.e. a < 1 - mu   (Eq. 56)
        1/mu                                    otherwise (the cap covers all of [1, 1/mu])

    Steps [quoted, v2 text]; formulas [reconstructed, by algebra; checked in SymPy;
    :ref:`recovered-algebra`]
    (:ref:`recovered-tail-integral`; the linear terms cancel, ``(u* - 1) - a u* = 0``). The two
    pieces agree at ``a = 1 - mu``. Valid for a in (0, 1) and mu in (0, 1].
    """
    one_minus_a = sp.Symbol("abar", positive=True)  # 1 - a > 0, to let SymPy combine logs
    transition = sp.solve(sp.Eq(a * u / (u - 1), 1), u)
    (u_star,) = transition
    antiderivative = sp.integrate(a * u / (u - 1), u)
    capped_part = sp.integrate(sp.Integer(1), (u, 1, u_star))
    decaying_part = antiderivative.subs(u, 1 / mu) - antiderivative.subs(u, u_star)
    linear_cancellation = sp.simplify((u_star - 1) - a * u_star)
    closed_form = 1 + a / mu + a * sp.log((1 / mu - 1) * (1 - a) / a)
    residual = sp.simplify(_expand_logs((1 + capped_part + decaying_part - closed_form)
                                        .subs(a, 1 - one_minus_a)))
    whole_range = sp.integrate(sp.Integer(1), (u, 1, 1 / mu))
    result = sp.Piecewise((closed_form, a < 1 - mu), (1 + whole_range, True))
    steps = [
        ("Layer-cake formula for Z in [1, 1/mu]",
         sp.Eq(sp.Symbol("kappa_{t+1}"),
               1 + sp.Integral(sp.Function("P")(sp.Symbol("Z") > u), (u, 1, 1 / mu)))),
        ("Lemma C.1 with s = 1/u, capped at 1",
         sp.Le(sp.Function("P")(sp.Symbol("Z") > u), sp.Min(1, a * u / (u - 1)))),
        ("Transition point: a u/(u - 1) = 1 at", sp.Eq(sp.Symbol("u^*"), u_star)),
        ("Integral of the cap over [1, u*]", sp.Eq(sp.Symbol("I_1"), sp.simplify(capped_part))),
        ("Antiderivative of a u/(u - 1)", antiderivative),
        ("Integral over [u*, 1/mu]", sp.Eq(sp.Symbol("I_2"), decaying_part)),
        ("The linear terms cancel: (u* - 1) - a u* =", linear_cancellation),
        ("Closed form (Eq. 56) minus 1 + I_1 + I_2 (with 1 - a = ā)", residual),
        ("When u* >= 1/mu (a >= 1 - mu) the cap covers [1, 1/mu]: bound 1 + (1/mu - 1)",
         1 + whole_range),
        ("Piecewise bound", sp.Le(sp.Symbol("kappa_{t+1}"), result)),
    ]
    return Derivation(result, steps)
