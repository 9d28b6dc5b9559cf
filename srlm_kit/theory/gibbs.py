"""The Gibbs form of one exact round, and what composing exact rounds gives.

One round of self-rewarding at population level maximises the self-reward ``log pi_t`` minus
``beta KL(p || pi_t)``; its maximiser is the Gibbs policy ``pi_t^(1+1/beta)/Z_t``
(:func:`gibbs_maximiser`), whose DPO reward recovers the self-reward up to ``beta log Z_t``, a
term that cancels in pairwise differences (:func:`reward_identity`). Rounds compose by raising
``pi_0`` to the power ``(1+1/beta)^T`` (:func:`gibbs_composition`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    T,
    _expand_logs,
    beta,
    lagrange,
    p,
    partition,
    pi_0,
    pi_t,
    pi_t_other,
    t,
)

__all__ = ["gibbs_maximiser", "gibbs_composition", "reward_identity"]


def gibbs_maximiser() -> Derivation:
    """The maximiser over the simplex of ``sum_y p(y) log pi_t(y) - beta KL(p || pi_t)``.

    Result: ``p(y) = pi_t(y)^(1+1/beta) / Z_t``, ``Z_t = sum_y' pi_t(y')^(1+1/beta)`` (Eq. 12).

    Statement [quoted, v2 text: "Gibbs form"]; formula [reconstructed, from the Huang et al.
    template, pi*_beta ∝ pi_base^(1+1/beta); :ref:`recovered-huang`]; derivation [reconstructed, by
    algebra; checked in SymPy; :ref:`recovered-algebra`]. Steps: Lagrangian on the simplex;
    stationarity in one coordinate; solve for ``p(y)``;
    normalise; strict concavity (second derivative ``-beta/p < 0``) makes the stationary point the
    maximum. The multiplier of ``p >= 0`` is not needed: the solution is strictly positive.
    """
    response = sp.Idx("y")
    probs = sp.IndexedBase("p")
    reference = sp.IndexedBase("pi_t")
    num_responses = sp.Symbol("K", positive=True, integer=True)
    lagrangian_display = (
        sp.Sum(probs[response] * sp.log(reference[response])
               - beta * probs[response] * sp.log(probs[response] / reference[response]),
               (response, 1, num_responses))
        - lagrange * (sp.Sum(probs[response], (response, 1, num_responses)) - 1))
    # One coordinate of the Lagrangian (the sum separates over responses).
    coordinate = p * sp.log(pi_t) - beta * p * sp.log(p / pi_t) - lagrange * p
    stationarity = sp.Eq(sp.diff(coordinate, p), 0)
    (solution,) = sp.solve(stationarity, p)
    solution = sp.powsimp(_expand_logs(solution), force=True)
    exponent = 1 + 1 / beta
    # solution = pi_t^exponent * exp(-(beta + lambda)/beta): split off the y-free factor.
    prefactor = sp.simplify(solution / pi_t**exponent)
    normaliser = sp.Sum(reference[response]**exponent, (response, 1, num_responses))
    second_derivative = sp.diff(coordinate, p, 2)
    result = sp.Eq(sp.Symbol("pi^*_{beta,t}(y)"), pi_t**exponent / partition)
    steps = [
        ("Lagrangian Λ of the objective on the simplex", lagrangian_display),
        ("Stationarity in the coordinate p(y)", stationarity),
        ("Solve for p(y)", sp.Eq(p, solution)),
        ("Divide by pi_t^(1+1/beta): what is left does not depend on y",
         sp.Eq(sp.Symbol("p(y)/pi_t(y)^(1+1/beta)"), prefactor)),
        ("Normalising fixes that factor to 1/Z_t, with Z_t =", sp.Eq(partition, normaliser)),
        ("Second derivative in p(y), negative: the objective is strictly concave",
         sp.Eq(sp.Symbol("d^2 L/dp(y)^2"), second_derivative)),
        ("Gibbs form (Eq. 12)", result),
    ]
    return Derivation(result, steps)


def gibbs_composition() -> Derivation:
    """T exact (population) rounds compose to ``pi_T ∝ pi_0^((1+1/beta)^T)``.

    In logits: ``theta_{t+1} = (1+1/beta) theta_t``, so ``theta_T = (1+1/beta)^T theta_0``; the
    odds of any response against the mode are raised to the power ``(1+1/beta)^T`` (doubly
    exponential decay).

    [reconstructed, by algebra from the Gibbs form; :ref:`recovered-gibbs`,
    :ref:`recovered-book-own`; checked in SymPy] Steps: one round raises the (normalised) policy to
    the power c = 1 + 1/beta, and the normaliser of the previous round cancels in the new
    normalisation; the linear recursion of the logits is solved with ``rsolve``; the exponents
    multiply, ``(pi_0^(c^T))^c = pi_0^(c^(T+1))``.
    """
    sharpening = 1 + 1 / beta
    power = sp.Symbol("c", positive=True)  # c = 1 + 1/beta > 1
    logit = sp.Function("theta")
    theta_0 = sp.Symbol("theta_0", real=True)
    recursion = sp.Eq(logit(t + 1), sharpening * logit(t))
    solved = sp.rsolve(logit(t + 1) - sharpening * logit(t), logit(t), {logit(0): theta_0})
    normaliser = sp.Symbol("Z_T", positive=True)
    one_more_round = (pi_0**(power**T) / normaliser)**power
    one_more_round = sp.powsimp(sp.powdenest(sp.expand_power_base(one_more_round, force=True),
                                             force=True), deep=True)
    odds = sp.Symbol("odds_0", positive=True)  # pi_0(y)/pi_0(y_mode) < 1
    result = sp.Eq(sp.Symbol("pi_T(y)"), pi_0**(sharpening**T) / normaliser)
    steps = [
        ("One exact round multiplies the logits by c = 1 + 1/beta", recursion),
        ("Solution of the recursion (rsolve)", sp.Eq(logit(T), solved.subs(t, T))),
        ("Induction: one more round applied to pi_0^(c^T)/Z_T; the factor Z_T^(-c) does not "
         "depend on y and is absorbed in the next normaliser", one_more_round),
        ("T exact rounds", result),
        ("Odds of a response against the mode after T rounds (odds_0 = initial odds < 1)",
         sp.Eq(sp.Symbol("odds_T"), odds**(sharpening**T))),
    ]
    return Derivation(result, steps)


def reward_identity() -> Derivation:
    """``r = beta log(pi*_{beta,t}/pi_t) + beta log Z_t`` for ``r = log pi_t``, and ``beta log Z_t``
    cancels in pairwise differences (Eq. 11 to 14).

    [reconstructed, from the Gibbs form; :ref:`recovered-lem-c-1`, :ref:`recovered-one-round`;
    checked in SymPy] Result: the pairwise identity
    ``r(y) - r(y') = beta log(pi*(y)/pi_t(y)) - beta log(pi*(y')/pi_t(y'))``, which no longer
    contains ``Z_t``: the square loss can regress on reward differences without knowing Z_t.
    """
    exponent = 1 + 1 / beta
    gibbs_y = pi_t**exponent / partition
    gibbs_y_other = pi_t_other**exponent / partition
    reward_y, reward_y_other = sp.log(pi_t), sp.log(pi_t_other)
    dpo_reward_y = beta * sp.log(gibbs_y / pi_t)
    dpo_reward_y_other = beta * sp.log(gibbs_y_other / pi_t_other)
    identity_residual = sp.simplify(_expand_logs(dpo_reward_y + beta * sp.log(partition)
                                                 - reward_y))
    pairwise_dpo = sp.expand(_expand_logs(dpo_reward_y - dpo_reward_y_other))
    pairwise_residual = sp.simplify(pairwise_dpo - (reward_y - reward_y_other))
    baseline = sp.Symbol("a(x)", real=True)
    f_y, f_y_other = sp.symbols("u(y) u(y')", real=True)
    result = sp.Eq(reward_y - reward_y_other,
                   beta * sp.log(sp.Symbol("pi^*(y)") / pi_t)
                   - beta * sp.log(sp.Symbol("pi^*(y')") / pi_t_other))
    steps = [
        ("Gibbs policy (Eq. 12)", sp.Eq(sp.Symbol("pi^*(y)"), gibbs_y)),
        ("Reward identity r = beta log(pi*/pi_t) + beta log Z_t: residual",
         sp.Eq(sp.Symbol("residual"), identity_residual)),
        ("Pairwise difference of the DPO reward (log Z_t has cancelled)",
         sp.Eq(sp.Symbol("Delta(DPO reward)"), pairwise_dpo)),
        ("It equals the pairwise difference of r = log pi_t: residual",
         sp.Eq(sp.Symbol("residual"), pairwise_residual)),
        ("Any baseline a(x) cancels in a pairwise difference (Eq. 11)",
         sp.Eq(sp.Add(f_y, baseline, -f_y_other, -baseline, evaluate=False),
               f_y - f_y_other, evaluate=False)),
        ("Pairwise reward identity", result),
    ]
    return Derivation(result, steps)
