"""The lower bound of Theorem 4.1 and its hard instance.

The single-step lower bound's equation ``eps^2 (1 + log(kappa_0/eps)) = kappa_0 log|Pi|/n`` is
solved with the W_{-1} branch of Lambert W (:func:`lambert_w_inversion`) and expanded for large n
(:func:`lambert_w_asymptotic`); on the hard instance, rounds pool their samples
(:func:`pooling_identity`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    K_difficulty,
    _expand_logs,
    c_rhs,
    epsilon,
    kappa_0,
    n,
)

__all__ = ["lambert_w_inversion", "lambert_w_asymptotic", "pooling_identity"]


def lambert_w_inversion(with_one: bool = True) -> Derivation:
    """Solve the lower-bound equation for epsilon with the W_{-1} branch of Lambert W.

    ``with_one=True`` solves ``eps^2 (1 + log(kappa_0/eps)) = chi`` (Steps 5 to 6 of the proof,
    :ref:`recovered-thm-4-1`): substituting ``v = 1 + log(kappa_0/eps)`` gives
    ``(-2v) e^(-2v) = -2chi/(e^2 kappa_0^2)``, hence ``eps = e kappa_0 exp(W_{-1}(z)/2)`` with
    ``z = -2chi/(e^2 kappa_0^2)``; it needs ``chi <= e kappa_0^2/2``.

    ``with_one=False`` solves ``eps^2 log(kappa_0/eps) = chi`` (the equation
    :ref:`recovered-lambert-w` inverts, which drops the "1 +"): ``eps = kappa_0 exp(W_{-1}(z)/2)``,
    ``z = -2chi/kappa_0^2``; needs ``chi <= kappa_0^2/(2e)``.

    The W_{-1} branch is the one with small eps (v large). Here ``chi = kappa_0 log|Pi|/n``.
    [reconstructed, by algebra; :ref:`recovered-lambert-w` (Eq. 96 to 99); checked
    in SymPy by substitution and ``W(z) e^(W(z)) = z``]
    """
    shift = 1 if with_one else 0
    equation = sp.Eq(epsilon**2 * (shift + sp.log(kappa_0 / epsilon)), c_rhs)
    v = sp.Symbol("v", positive=True)
    # v = shift + log(kappa_0/eps)  <=>  eps = kappa_0 e^(shift - v)
    eps_of_v = kappa_0 * sp.exp(shift - v)
    in_v = sp.Eq(sp.simplify(_expand_logs(equation.lhs.subs(epsilon, eps_of_v))), c_rhs)
    argument = -2 * c_rhs / (sp.exp(2 * shift) * kappa_0**2)
    w_form = sp.Eq(-2 * v * sp.exp(-2 * v), argument)
    branch = sp.LambertW(argument, -1)
    solution = sp.exp(shift) * kappa_0 * sp.exp(branch / 2)
    substituted = sp.expand(_expand_logs(equation.lhs.subs(epsilon, solution) - c_rhs))
    residual = sp.simplify(substituted.subs(sp.exp(branch), argument / branch))
    largest_rhs = sp.exp(2 * shift) * kappa_0**2 / (2 * sp.E)
    result = sp.Eq(epsilon, solution)
    steps = [
        ("Equation to solve", equation),
        (f"Substitute v = {shift} + log(kappa_0/eps)" if shift else
         "Substitute v = log(kappa_0/eps)", in_v),
        ("Multiply by -2/(e^(2 shift) kappa_0^2): the form w e^w = z with w = -2v", w_form),
        ("Branch W_{-1} (small eps); real iff z >= -1/e, i.e. chi <=",
         sp.Le(c_rhs, largest_rhs)),
        ("Solution", result),
        ("Put back into the equation (using W e^W = z): residual", residual),
    ]
    return Derivation(result, steps)


def lambert_w_asymptotic(with_one: bool = False) -> Derivation:
    """Large-n form of the Lambert-W solution, from ``W_{-1}(z) ≈ log(-z) - log(-log(-z))`` as
    z -> 0-.

    ``with_one=False`` (:ref:`recovered-lambert-w`): with ``K_0 = kappa_0 log|Pi|``,
    ``eps ≈ sqrt(2K_0/(n log(n kappa_0^2/(2K_0))))``,
    the reviewer's ``(kappa0 log|Pi| / (n log(n kappa0/log|Pi|)))^(1/2)`` [quoted, ICLR review, R2]
    up to the factors 2. ``with_one=True``: ``eps ≈ sqrt(2K_0/(n (2 + log(n kappa_0^2/(2K_0)))))``.

    [reconstructed, by algebra; :ref:`recovered-lambert-w` (Eq. 100 to 102); checked in SymPy]
    """
    exact = lambert_w_inversion(with_one).result.rhs
    (branch,) = exact.atoms(sp.LambertW)
    argument = branch.args[0]
    expansion = sp.log(-argument) - sp.log(-sp.log(-argument))
    approximate = sp.simplify(_expand_logs(exact.subs(branch, expansion)))
    approximate = sp.powsimp(approximate, force=True)
    if with_one:
        stated = sp.sqrt(2 * c_rhs / (2 + sp.log(kappa_0**2 / (2 * c_rhs))))
    else:
        stated = sp.sqrt(2 * c_rhs / sp.log(kappa_0**2 / (2 * c_rhs)))
    stated_residual = sp.simplify(_expand_logs(approximate**2 - stated**2))
    in_n = stated.subs(c_rhs, K_difficulty / n)
    result = sp.Eq(epsilon, in_n)
    steps = [
        ("Exact solution", sp.Eq(epsilon, exact)),
        ("Two-term expansion of W_{-1}(z) as z -> 0-", sp.Eq(branch, expansion)),
        ("Substituted and simplified", sp.Eq(epsilon, approximate)),
        ("Written as", sp.Eq(epsilon, stated)),
        ("Check: difference of the squares of the two forms", stated_residual),
        ("With chi = kappa_0 log|Pi|/n", result),
    ]
    return Derivation(result, steps)


def pooling_identity() -> Derivation:
    """On the hard instance, ``T`` rounds of ``n`` triples leave a prompt unsolved with the
    probability of one round of ``nT`` (when
    :func:`srlm_kit.bounds.solved_by_one_pair` holds)::

        P(unsolved after T rounds of n) = prod_t (1 - P_hit)^n = (1 - P_hit)^(n T),
        P_hit = 2 (Delta/k) p_secret (1 - p_secret)

    with k informative prompts and p_secret the secret response's probability; for
    ``gamma_bar = 1/2`` (``p_secret = 2/M``) and large ``M``, ``E[fail] ≈ Delta exp(-4 Delta n T
    /(k M))`` (the form given in :ref:`recovered-thm-4-1`). [reconstructed, by algebra from the
    kit's ERM rule; :ref:`recovered-erm-tie-break`]
    """
    Delta, d_prompts, p_secret = sp.symbols("Delta k p_secret", positive=True)
    n_triples, rounds, M_responses = sp.symbols("n T M", positive=True)
    hit = 2 * (Delta / d_prompts) * p_secret * (1 - p_secret)
    h = sp.Symbol("P_hit", positive=True)
    round_index = sp.Symbol("t", integer=True, positive=True)
    unsolved_one = (1 - h)**n_triples
    product = sp.Product(unsolved_one, (round_index, 1, rounds))
    # 0 < 1 - h < 1, so ((1 - h)^n)^T = (1 - h)^(n T): powdenest with force is safe here.
    unsolved_all = sp.powdenest(product.doit(), force=True)
    expected = Delta * unsolved_all
    approximate = sp.limit(sp.expand_log(sp.log(expected.subs(h, hit).subs(
        p_secret, 2 / M_responses) / Delta), force=True) / (n_triples * rounds) * M_responses,
        M_responses, sp.oo)
    result = sp.Eq(sp.Symbol("E[fail_T]"), expected)
    steps = [
        ("Probability that one triple lands on an informative prompt with exactly one of its "
         "two responses the secret one", sp.Eq(h, hit)),
        ("One round of n triples leaves the prompt unsolved (its policy is unchanged)",
         sp.Eq(sp.Symbol("P_1"), unsolved_one)),
        ("T rounds: the unsolved prompt is sampled alike in every round", sp.Eq(
            sp.Symbol("P_T"), product)),
        ("Product of the rounds", sp.Eq(sp.Symbol("P_T"), unsolved_all)),
        ("Expected failure (mass Delta on the informative prompts)", result),
        ("gamma_bar = 1/2, p_secret = 2/M: limit of M log(E[fail]/Delta)/(n T) as M grows",
         sp.Eq(sp.Symbol("rate"), approximate)),
    ]
    return Derivation(result, steps)
