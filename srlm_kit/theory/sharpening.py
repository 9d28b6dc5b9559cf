"""How fast rounds sharpen a policy where the theorems do not reach: the book's own algebra.

The exact update from a bump start sharpens doubly exponentially, while Theorem 5.3's transient
decays singly exponentially (:func:`bump_population_excess`); a near tie of margin gamma_0 needs
rounds of order ``log(1/gamma_0)``, not ``1/gamma_0`` (:func:`near_tie_rounds`); a noisy,
biased judge's order wins as rounds accumulate (:func:`judge_composition`); a frozen reward
sharpens linearly in the number of rounds where the self-reward compounds
(:func:`exponent_recursions`); and with a small beta the ERM from the bump is a coverage process
(:func:`coverage_derivation`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    T,
    beta,
    mu,
    n,
    t,
)

__all__ = [
    "bump_population_excess", "judge_composition", "near_tie_rounds", "coverage_derivation",
    "exponent_recursions",
]


_responses = sp.Symbol("K", positive=True, integer=True)
_height = sp.Symbol("h", positive=True)  # bump height
_epsilon = sp.Symbol("gamma_0", positive=True)  # initial margin of a near-tie
_prompts = sp.Symbol("m", positive=True, integer=True)
_mode_probability = sp.Symbol("p_0", positive=True)
_members = sp.Symbol("j", positive=True, integer=True)
_sharpening = sp.Symbol("c", positive=True)  # c = 1 + 1/beta > 1


def bump_population_excess() -> Derivation:
    """Under the exact update the bump start gives ``kappa_T - 1 = (K - 1) exp(-h c^T)``,
    ``c = 1 + 1/beta``: the per-round decrement of ``log(kappa_T - 1)`` is ``h c^T/beta`` and
    grows by the factor c every round (doubly exponential decay), while the transient factor
    ``(1 + sqrt(n mu))^(-(T-1)/2)`` of Theorem 5.3 loses the same ``log(1 + sqrt(n mu))/2``
    every round (single exponential).

    [reconstructed, by algebra from :func:`srlm_kit.theory.gibbs.gibbs_composition`
    (:ref:`recovered-gibbs`, :ref:`recovered-book-own`) and the reviewer's factor
    (:ref:`recovered-thm-5-3`); checked in SymPy]
    """
    c = 1 + 1 / beta
    rounds = T
    mode_logit = _height * c**rounds
    top = sp.exp(mode_logit) / (sp.exp(mode_logit) + _responses - 1)
    kappa_T = sp.expand(sp.simplify(1 / top))
    excess = sp.factor(kappa_T - 1)
    log_excess = sp.expand_log(sp.log(excess), force=True)
    decrement = sp.simplify(log_excess - log_excess.subs(rounds, rounds + 1))
    ratio = sp.simplify(sp.powsimp(decrement.subs(rounds, rounds + 1) / decrement, force=True))
    transient = (1 + sp.sqrt(n * mu))**(-(rounds - 1) / 2)
    transient_decrement = sp.simplify(sp.expand_log(
        sp.log(transient) - sp.log(transient.subs(rounds, rounds + 1)), force=True))
    kappa_symbol = sp.Symbol(r"\kappa_T")
    transient_symbol = r"\mathrm{transient}"
    result = sp.Eq(kappa_symbol - 1, excess)
    steps = [
        ("Bump start: logit h on the mode, 0 on the K - 1 others; after T exact rounds the "
         "logits are multiplied by (1 + 1/beta)^T (gibbs_composition)",
         sp.Eq(sp.Symbol(r"\pi_T(y_{\mathrm{mode}})"), top)),
        ("Condition number kappa_T = 1/pi_T(y_mode) (every prompt alike)",
         sp.Eq(kappa_symbol, kappa_T)),
        ("Excess over a deterministic policy", result),
        ("Its logarithm", sp.Eq(sp.log(kappa_symbol - 1), log_excess)),
        ("Decrease from round T to T + 1", sp.Eq(sp.Symbol(r"\mathrm{dec}_T"), decrement)),
        ("Ratio of successive decreases: constant, so the decreases grow geometrically",
         sp.Eq(sp.Symbol(r"\mathrm{dec}_{T+1}/\mathrm{dec}_T"), ratio)),
        ("Theorem 5.3's transient factor [quoted, ICLR review, R2; c -> mu]",
         sp.Eq(sp.Symbol(transient_symbol + "(T)"), transient)),
        ("Its logarithm decreases by the same amount every round (single exponential)",
         sp.Eq(sp.Symbol(rf"\log {transient_symbol}(T) - \log {transient_symbol}(T+1)"),
               transient_decrement)),
    ]
    return Derivation(result, steps)


def judge_composition() -> Derivation:
    """The exact update with a judge, ``pi_{t+1} ∝ pi_t exp(r_t/beta)``, composes to
    ``log pi_T = log pi_0 + (1/beta) sum_{t<T} r_t`` (up to normalisation). With
    ``r_t = rbar + sigma xi_t`` (rbar the noise-free score ``Q + b ell``), the log-odds of two
    responses have mean ``G_0 + T G_1/beta`` and variance ``2 T sigma^2/beta^2`` (G_0 their
    initial log-odds, G_1 their noise-free score difference): the judge's order wins with
    probability tending to 1 as ``T -> infinity`` (the signal grows like T, the noise like
    sqrt(T)). The favourite ``argmax (Q + b ell)`` is not the correct response exactly when
    ``b (ell(y) - ell(y_true)) > 1`` for some y.

    [reconstructed, by algebra from the DPO optimum (:ref:`recovered-dpo`: for a fixed r, T rounds
    at beta equal one at beta/T); checked in SymPy]
    """
    theta = sp.Function("theta")
    theta_0 = sp.Symbol("theta_0", real=True)
    score = sp.Symbol("rbar", real=True)
    sigma = sp.Symbol("sigma", positive=True)
    gap_0 = sp.Symbol("G_0", real=True)
    gap_s = sp.Symbol("G_1", positive=True)
    rounds = sp.Symbol("T", positive=True, integer=True)
    recursion = sp.Eq(theta(t + 1), theta(t) + score / beta)
    solved = sp.rsolve(theta(t + 1) - theta(t) - score / beta, theta(t), {theta(0): theta_0})
    mean_gap = gap_0 + rounds * gap_s / beta
    variance = sp.simplify(sp.Sum(2 * (sigma / beta)**2, (t, 0, rounds - 1)).doit())
    signal_to_noise = sp.simplify((rounds * gap_s / beta) / sp.sqrt(variance))
    holds = (1 + sp.erf(signal_to_noise / sp.sqrt(2))) / 2
    limit = sp.limit(holds, rounds, sp.oo)
    length_y = sp.Symbol(r"\ell(y)", real=True)
    length_true = sp.Symbol(r"\ell(y_{\mathrm{true}})", real=True)
    bias = sp.Symbol("b", positive=True)  # the judge's bias, b in the book
    advantage = sp.expand((0 + bias * length_y) - (1 + bias * length_true))
    result = sp.Eq(sp.Limit(sp.Symbol(r"P^{\mathrm{order}}_T"), rounds, sp.oo), limit)
    steps = [
        ("One exact round with the judge's reward r_t = r̄ + sigma xi_t: the log-probability "
         "of a response moves by r_t/beta (noise-free part shown)", recursion),
        ("Solution of the noise-free recursion (rsolve)", sp.Eq(theta(t), solved)),
        ("Log-odds G_T of two responses after T rounds (G_0 at the start, noise-free score "
         "difference G_1): mean",
         sp.Eq(sp.Symbol(r"\mathbb{E}[G_T]"), mean_gap)),
        ("... and variance (fresh, independent noise on each response and round)",
         sp.Eq(sp.Symbol(r"\mathrm{Var}[G_T]"), variance)),
        ("Signal over noise grows like sqrt(T)",
         sp.Eq(sp.Symbol(r"\mathrm{SNR}_T"), signal_to_noise)),
        ("Probability that the judge's order holds (G_0 = 0)",
         sp.Eq(sp.Symbol(r"P^{\mathrm{order}}_T"), holds)),
        ("As T grows", result),
        ("Judge's score of a longer wrong response y minus that of the correct one (Q = 0 vs "
         "1): positive, i.e. reward hacking, when b (ell(y) - ell(y_true)) > 1",
         sp.Eq(sp.Symbol(r"\bar r(y) - \bar r(y_{\mathrm{true}})"), advantage)),
    ]
    return Derivation(result, steps)


def near_tie_rounds() -> Derivation:
    """From a start whose mode leads every other response by at least gamma_0, the exact update
    has top probability above 1/2 after ``T > log(log(K - 1)/gamma_0)/log(1 + 1/beta)`` rounds:
    a number of rounds that grows like ``log(1/gamma_0)``, while Theorem 5.3's bound grows like
    ``1/gamma = 1/gamma_0``.

    [reconstructed, by algebra from :func:`srlm_kit.theory.gibbs.gibbs_composition`; a sufficient
    condition, checked in SymPy; :ref:`recovered-gibbs`]
    """
    rounds = sp.Symbol("T", positive=True)
    gap_T = _sharpening**rounds * _epsilon
    ratio_sum = (_responses - 1) * sp.exp(-gap_T)
    (solution,) = sp.solve(sp.Eq(ratio_sum, 1), rounds)
    solution = sp.simplify(solution)
    stated = sp.log(sp.log(_responses - 1) / _epsilon) / sp.log(_sharpening)
    residual = sp.simplify(sp.expand_log(solution - stated, force=True))
    log_inverse = sp.Symbol("u", positive=True)  # u = log(1/gamma_0)
    slope = sp.simplify(sp.diff(stated.subs(_epsilon, sp.exp(-log_inverse)), log_inverse))
    result = sp.Eq(sp.Symbol(r"T_{\mathrm{sufficient}}"), stated)
    steps = [
        ("After T exact rounds every log-odds against the mode is multiplied by "
         "c^T = (1 + 1/beta)^T, so every gap is at least",
         sp.Eq(sp.Symbol(r"\mathrm{gap}_T"), gap_T)),
        ("The mode has probability > 1/2 iff the sum of the ratios of the other responses' "
         "probabilities to the mode's is below 1; that sum is at most",
         sp.Le(sp.Symbol(r"\sum_{y \neq y_{\mathrm{mode}}} \pi_T(y)/\pi_T(y_{\mathrm{mode}})"),
               ratio_sum)),
        ("Solve (K - 1) exp(-c^T gamma_0) = 1 for T", sp.Eq(rounds, solution)),
        ("Minus the stated form", sp.Eq(sp.Symbol(r"\mathrm{residual}"), residual)),
        ("Rounds per unit of log(1/gamma_0): constant, so the rounds grow like log(1/gamma)",
         sp.Eq(sp.Symbol(r"dT/d\log(1/\gamma_0)"), slope)),
        ("Sufficient number of rounds", result),
    ]
    return Derivation(result, steps)


def coverage_derivation() -> Derivation:
    """With a small beta, self-rewarding from the bump is a coverage process.

    In a round where prompt x's mode is paired with another response, the minimum-norm ERM moves
    each member y of the pair's component by ``(theta(y) - mean_C theta)/beta``; for a component
    of the mode and j others (logits h and 0) the mode then leads the members by ``h(1 + 1/beta)``
    and the non-members by ``h(1 + j/((j + 1) beta)) >= h(1 + 1/(2 beta))``, so it is dominant
    when ``e^(-h(1+1/beta)) + (K - 2) e^(-h(1 + 1/(2 beta))) < 1`` (true as beta -> 0). Rounds
    without such a pair change nothing (the other logits are equal). A triple covers the mode
    of prompt x with probability ``2 p_0 (1 - p_0)/m`` (uniform prompts, p_0 = pi_0's top
    probability), so the expected failure after T rounds of n triples is
    ``(1 - 2p_0(1 - p_0)/m)^(nT) ≈ exp(-2 n T p_0 (1 - p_0)/m)``.

    [reconstructed, by algebra from :ref:`recovered-erm-tie-break` (minimum-norm ERM) and
    :ref:`recovered-book-own` ("a pure coverage process"); checked in SymPy]
    """
    size = _members + 1
    mean = _height / size
    move_mode = (_height - mean) / beta
    move_member = (0 - mean) / beta
    lead_members = sp.simplify(_height + move_mode - move_member)
    lead_others = sp.simplify(_height + move_mode)
    worst = sp.simplify(lead_others.subs(_members, 1))
    dominance = sp.exp(-lead_members) + (_responses - 2) * sp.exp(-worst)
    small_beta = sp.limit(dominance, beta, 0, dir="+")
    p = _mode_probability
    cover_sum = (p * (1 - p) + (1 - p) * p) / _prompts
    cover = 2 * p * (1 - p) / _prompts
    cover_residual = sp.simplify(cover_sum - cover)
    uncovered = (1 - cover)**(n * T)
    approximation = sp.exp(-n * T * cover)
    failure_symbol = sp.Symbol(r"\mathbb{E}[F_T]")
    result = sp.Eq(failure_symbol, uncovered)
    steps = [
        ("Mode's move in a component of the mode and j others (logits h, 0, ..., 0)",
         sp.Eq(sp.Symbol(r"v(y_{\mathrm{mode}})"), sp.simplify(move_mode))),
        ("Each member's move", sp.Eq(sp.Symbol("v(y)"), sp.simplify(move_member))),
        ("New lead of the mode over a member",
         sp.Eq(sp.Symbol(r"\mathrm{lead}_{\mathrm{member}}"), lead_members)),
        ("... over a response outside the component",
         sp.Eq(sp.Symbol(r"\mathrm{lead}_{\mathrm{other}}"), lead_others)),
        ("Smallest lead over the others (j = 1)",
         sp.Eq(sp.Symbol(r"\mathrm{lead}_{\mathrm{other}}(j=1)"), worst)),
        ("Sum of the ratios to the mode at worst: dominant (probability > 1/2) if below 1",
         sp.Eq(sp.Symbol(r"\mathrm{ratios}(\beta)"), dominance)),
        ("As beta -> 0",
         sp.Eq(sp.Limit(sp.Symbol(r"\mathrm{ratios}(\beta)"), beta, 0, "+"), small_beta)),
        ("Probability that one triple pairs prompt x's mode with another response: "
         "x (probability 1/m), then (y, y') = (mode, other) or (other, mode)",
         sp.Eq(sp.Symbol(r"P[\mathrm{cover}]"), cover_sum)),
        ("That is 2p_0(1 - p_0)/m: the difference",
         sp.Eq(sp.Symbol(r"\mathrm{residual}"), cover_residual)),
        ("Expected failure after T rounds of n triples (no cover, no change)", result),
        ("First order in 1/m", sp.Eq(failure_symbol, approximation, evaluate=False)),
    ]
    return Derivation(result, steps)


def exponent_recursions() -> Derivation:
    """The exponent ``E_t`` in ``pi_t ∝ pi_0^(E_t)`` of the exact update, for the self-reward and
    for the frozen reward (:func:`srlm_kit.bounds.population_exponent`)::

        self:    log pi_{t+1} = (1 + 1/beta) log pi_t + const   =>  E_t = (1 + 1/beta)^t
        frozen:  log pi_{t+1} = log pi_t + log pi_0 / beta + const  =>  E_t = 1 + t/beta

    Both solved with ``rsolve`` from ``E_0 = 1``. [reconstructed, from the Gibbs form
    ``pi_{t+1} ∝ pi_t exp(r/beta)``; :ref:`recovered-gibbs`]
    """
    beta = sp.Symbol("beta", positive=True)
    step = sp.Symbol("t", integer=True, nonnegative=True)
    exponent = sp.Function("E")
    self_recursion = sp.Eq(exponent(step + 1), (1 + 1 / beta) * exponent(step))
    frozen_recursion = sp.Eq(exponent(step + 1), exponent(step) + 1 / beta)
    self_solution = sp.simplify(sp.rsolve(self_recursion.lhs - self_recursion.rhs,
                                          exponent(step), {exponent(0): 1}))
    frozen_solution = sp.simplify(sp.rsolve(frozen_recursion.lhs - frozen_recursion.rhs,
                                            exponent(step), {exponent(0): 1}))
    odds = sp.Symbol("odds_0", positive=True)
    result = sp.Eq(sp.Symbol("E_self(t) / E_frozen(t)"),
                   sp.simplify(self_solution / frozen_solution))
    steps = [
        ("Self-reward r_t = log pi_t: the Gibbs update raises pi_t to the power 1 + 1/beta",
         self_recursion),
        ("Solution from E_0 = 1 (rsolve)", sp.Eq(exponent(step), self_solution)),
        ("Frozen reward r = log pi_0: the Gibbs update multiplies pi_t by pi_0^(1/beta)",
         frozen_recursion),
        ("Solution from E_0 = 1 (rsolve)", sp.Eq(exponent(step), frozen_solution)),
        ("Odds of a response against the mode, initial odds odds_0 < 1: self-reward",
         sp.Eq(sp.Symbol("odds_self"), odds**self_solution)),
        ("Frozen reward", sp.Eq(sp.Symbol("odds_frozen"), odds**frozen_solution)),
    ]
    return Derivation(result, steps)
