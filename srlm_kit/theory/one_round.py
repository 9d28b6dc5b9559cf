"""One round of the ERM: its regression error, the change of measure, the gap it leaves.

The realizable square-loss ERM over a finite class has a statistical error of order
``sqrt(log(|Pi|/delta)/n)`` (:func:`realizable_erm_rate`); moving that error from the sampling
law to the target costs ``sqrt(kappa_t)`` (:func:`change_of_measure`); together with the
regularisation term they bound one round's gap and failure (:func:`one_round_bound`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    beta,
    gamma,
    n,
)

__all__ = ["realizable_erm_rate", "change_of_measure", "one_round_bound"]


def realizable_erm_rate() -> Derivation:
    """Realizable square-loss ERM, finite class: ``eps_stat^2 <= (8/3) eta^2 log(|Pi|/delta)/n``.

    For one candidate ``pi`` let ``U_i`` be its squared regression error on triple i, the square
    of the difference between its prediction ``beta (log pi/pi_t)(y) - beta (log pi/pi_t)(y')``
    and the label ``r_t(y) - r_t(y')``, clipped at ``eta^2``; its mean ``E U`` is the squared
    error of pi on the sampling law ``pi_t (x) pi_t``. The labels of self-rewarding carry no
    noise and the target is in the class (realizability), so the target's empirical loss is 0
    and so is the ERM's. A candidate with ``E U > 0`` has zero empirical loss only if the mean of
    its ``U_i`` falls ``E U`` below its expectation; with ``0 <= U <= eta^2``, ``Var U <= eta^2
    E U``, and Bernstein's inequality bounds that probability by ``exp(-3 n E U / (8 eta^2))``.
    A union bound over the ``|Pi|`` candidates makes the total at most delta once
    ``E U >= (8/3) eta^2 log(|Pi|/delta)/n``: with probability at least 1 - delta the ERM's
    squared error is below that level, ``eps_stat = eta sqrt((8/3) log(|Pi|/delta)/n)``.

    Steps [quoted, v2 text: "Bernstein" and "a union bound"]; constants and form
    [reconstructed, from the Huang et al. template, by algebra; checked in SymPy;
    :ref:`recovered-one-round`]; the clipping level ``eta`` is
    :func:`srlm_kit.bounds.statistical_error`'s.
    """
    excess = sp.Symbol("E[U]", positive=True)  # the squared regression error of a candidate
    clip = sp.Symbol("eta", positive=True)
    samples = sp.Symbol("n", positive=True)
    log_ratio = sp.Symbol("log(|Pi|/delta)", positive=True)
    deviation = sp.Symbol("u", positive=True)
    variance = sp.Symbol("Var U", positive=True)
    bound = sp.Symbol("U_max", positive=True)
    bernstein = sp.exp(-samples * deviation**2 / (2 * variance + 2 * bound * deviation / 3))
    exponent = (samples * deviation**2 / (2 * variance + 2 * bound * deviation / 3)).subs(
        {deviation: excess, variance: clip**2 * excess, bound: clip**2})
    exponent = sp.simplify(exponent)
    (level,) = sp.solve(sp.Eq(exponent, log_ratio), excess)
    error = sp.sqrt(level)
    result = sp.Eq(sp.Symbol("epsilon_stat"), error)
    steps = [
        ("Bernstein: P[mean of U <= E U - u] for |U| <= U_max, n samples, is at most",
         bernstein),
        ("Noise-free labels, 0 <= U <= eta^2: Var U <= eta^2 E U; zero empirical loss needs a "
         "deviation u = E U; the exponent is", exponent),
        ("Union bound over |Pi| candidates, each with probability delta/|Pi|: exponent = "
         "log(|Pi|/delta) at", sp.Eq(excess, level)),
        ("Every candidate with a larger E U has positive empirical excess loss: the ERM's "
         "squared error is below it, so", result),
    ]
    return Derivation(result, steps)


def change_of_measure() -> Derivation:
    """The change of measure of one round: ``E_{pi* x pi_t}|g| <= sqrt(kappa_t) sqrt(E_{pi_t x
    pi_t} g^2)`` when ``pi*`` is the point mass on the mode of ``pi_t``; and ``KL(pi* || pi_t)
    <= log kappa_t``.

    The regression error is controlled on the sampling law ``pi_t (x) pi_t``; the gap needs it
    under the target pair law ``pi* (x) pi_t``. Their density ratio is ``w = pi*(y)/pi_t(y)``,
    and Cauchy-Schwarz gives ``E_{pi_t x pi_t}[w |g|] <= sqrt(E w^2) sqrt(E g^2)``. For a point
    mass, ``E_{y ~ pi_t} w^2 = sum_y pi*(y)^2/pi_t(y) = 1/pi_t(y*)`` (checked here for K = 3
    responses), whose average over prompts is ``kappa_t``; Cauchy-Schwarz over prompts as well
    gives the factor ``sqrt(kappa_t)``. The same point mass has
    ``KL(pi* || pi_t) = log(1/pi_t(y*))`` and, by Jensen's inequality (log is concave),
    ``E_x log(1/pi_t(y*)) <= log kappa_t``.

    Steps [quoted, v2 text: a change of measure]; formulas [reconstructed, from the Huang et al.
    template (their concentrability coefficient), by algebra; checked in SymPy;
    :ref:`recovered-one-round`].
    """
    probs = sp.symbols("pi_t(1) pi_t(2) pi_t(3)", positive=True)
    point_mass = (1, 0, 0)  # pi* puts all its mass on response 1, the mode
    second_moment = sum(target**2 / prob for target, prob in zip(point_mass, probs, strict=True))
    kl = sum(target * sp.log(target / prob) for target, prob in zip(point_mass, probs,
                                                                     strict=True) if target)
    weight, error = sp.symbols("w g", real=True)
    train_second = sp.Symbol("E_train[g^2]", nonnegative=True)
    target_first = sp.Symbol("E_target|g|", nonnegative=True)
    kappa_t = sp.Symbol("kappa_t", positive=True)
    # Jensen for the concave log, on two prompts with top probabilities p1, p2 (equal weights).
    top_1, top_2 = sp.symbols("p_1 p_2", positive=True)
    jensen_gap = sp.simplify(sp.log((1 / top_1 + 1 / top_2) / 2)
                             - (sp.log(1 / top_1) + sp.log(1 / top_2)) / 2)
    result = sp.Le(target_first, sp.sqrt(kappa_t) * sp.sqrt(train_second))
    steps = [
        ("Density ratio of the target pair law to the sampling law, for a pair (y, y')",
         sp.Eq(weight, sp.Symbol("pi^*_t(y)") / sp.Symbol("pi_t(y)"))),
        ("Cauchy-Schwarz under the sampling law",
         sp.Le(target_first, sp.sqrt(sp.Symbol("E_train[w^2]")) * sp.sqrt(train_second))),
        ("Second moment of w for a point mass on response 1 (K = 3)",
         sp.Eq(sp.Symbol("E_{y~pi_t}[w^2]"), second_moment)),
        ("Averaged over prompts, 1/pi_t(y*|x) has mean kappa_t: the change of measure", result),
        ("KL of the point mass to pi_t (K = 3)", sp.Eq(sp.Symbol("KL(pi^*||pi_t)"), kl)),
        ("Jensen on two prompts: log of the mean of 1/p minus the mean of log(1/p) "
         "(non-negative: the ratio of an arithmetic to a geometric mean)", jensen_gap),
        ("Hence the regularisation term", sp.Le(sp.Symbol("E_x KL(pi^*||pi_t)"),
                                                sp.log(kappa_t))),
    ]
    return Derivation(result, steps)


def one_round_bound() -> Derivation:
    """One round, assembled: ``gap_t <= sqrt(kappa_t) eps_stat + beta log kappa_t`` and the failure
    after the round at most ``(2/gamma)`` times that.

    Substitutes :func:`realizable_erm_rate` into :func:`change_of_measure`, adds the
    regularisation term ``beta KL(pi* || pi_t) <= beta log kappa_t`` of the gap decomposition, and
    applies Lemma C.1 with ``s = 1/2``. With ``beta = n^(-1/2)`` both terms carry ``1/sqrt(n)``:
    the bound is ``(sqrt(c kappa_t L) eta + log kappa_t)/sqrt(n)``, the ``sqrt(kappa/n)`` shape
    of the one-step lower bound up to logarithms. The term of the gap decomposition under
    ``pi_{t+1} (x) pi_t`` is not bounded here (the template controls it with the same change of
    measure and the ``- beta KL(pi_{t+1} || pi_t)`` term); constants are dropped.

    Statement [quoted, v2 text]; formula [reconstructed, from the Huang et al. template and the
    proof prose; :ref:`recovered-one-round`].
    """
    kappa_t = sp.Symbol("kappa_t", positive=True)
    error = realizable_erm_rate().result.rhs.subs(sp.Symbol("n", positive=True), n)
    gap_bound = sp.sqrt(kappa_t) * error + beta * sp.log(kappa_t)
    failure = 2 * gap_bound / gamma
    regime = sp.expand(sp.sqrt(n) * gap_bound.subs(beta, 1 / sp.sqrt(n)))
    result = sp.Le(sp.Symbol("fail_{t+1}"), failure)
    steps = [
        ("Gap: change of measure of the regression error plus beta KL(pi*||pi_t)",
         sp.Le(sp.Symbol("gap_t"), sp.sqrt(kappa_t) * sp.Symbol("epsilon_stat")
               + beta * sp.log(kappa_t))),
        ("With the ERM's error", sp.Le(sp.Symbol("gap_t"), gap_bound)),
        ("Lemma C.1 with s = 1/2", result),
        ("With beta = n^(-1/2), sqrt(n) times the gap bound", regime),
    ]
    return Derivation(result, steps)
