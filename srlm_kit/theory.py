"""Symbolic derivations (SymPy) of the algebraic steps behind the paper's results.

Every function here redoes one pure-algebra step listed in :ref:`recovered-algebra` and returns a
:class:`Derivation`: the final expression and the intermediate steps, each a
``(description, expression)`` pair that a chapter can show with :func:`sympy.latex`. Nothing is
typed in as an answer: each step is computed from the previous ones (solve, integrate,
differentiate, simplify), and the kit's tests check that every result simplifies to the stated
form (residual zero).

Provenance. The paper's text reached us with its formulas stripped (:ref:`recovered-sources`). The
statements below are marked as everywhere in the kit: [quoted, v2 text] for the statement when
the v2 prose states it, [quoted, ICLR review] for the few formulas a reviewer quoted, and
[reconstructed, ...] for every formula rebuilt from the prose, from the Huang et al. template or
by algebra. Most formulas here are reconstructions; none is presented as the paper's own words.

The symbols are module constants (SymPy symbols are immutable), so the numeric module
:mod:`srlm_kit.bounds` and the tests can substitute into or ``lambdify`` the results.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

# --------------------------------------------------------------------------------------------
# Symbols. Assumptions (positive, integer) are what lets SymPy combine logarithms and powers;
# each function states any further domain restriction (a < 1, mu <= 1, ...) it relies on.
# --------------------------------------------------------------------------------------------

beta = sp.Symbol("beta", positive=True)  # KL-regularisation strength (the "learning rate")
pi_t = sp.Symbol("pi_t", positive=True)  # pi_t(y|x) for one response y
pi_t_other = sp.Symbol("pi_t'", positive=True)  # pi_t(y'|x) for a second response y'
pi_0 = sp.Symbol("pi_0", positive=True)  # the initial policy's probability of one response
p = sp.Symbol("p", positive=True)  # the candidate policy's probability p(y) of one response
lagrange = sp.Symbol("zeta", real=True)  # multiplier of the simplex constraint
partition = sp.Symbol("Z_t", positive=True)  # normaliser Z_t(x) of the Gibbs policy
T = sp.Symbol("T", integer=True, nonnegative=True)  # number of rounds
t = sp.Symbol("t", integer=True, nonnegative=True)  # round index

gamma = sp.Symbol("gamma", positive=True)  # margin of the self-reward (Definition 5.2)
s = sp.Symbol("s", positive=True)  # failure threshold of Lemma C.1, s in (0, 1)
gap = sp.Symbol("Delta_J", nonnegative=True)  # J(pi*) - J(pi), the performance gap

a = sp.Symbol("a", positive=True)  # gap / gamma in the tail integral, a in (0, 1)
mu = sp.Symbol("mu", positive=True)  # minimum confidence, mu in (0, 1]
u = sp.Symbol("u", positive=True)  # level of Z = 1 / (top probability)

A = sp.Symbol("A", positive=True)  # offset of the kappa recursion
B_prime = sp.Symbol("B'", positive=True)  # sqrt(kappa) coefficient of the relaxed recursion
B_coef = sp.Symbol("B", nonnegative=True)  # sqrt(kappa) coefficient before the relaxation
C_coef = sp.Symbol("C", nonnegative=True)  # log(kappa) coefficient before the relaxation
kappa = sp.Symbol("kappa", positive=True)  # a value of the condition number
kappa_0 = sp.Symbol("kappa_0", positive=True)  # kappa(pi_0)
kappa_star = sp.Symbol("kappa^*", positive=True)  # fixed point of the recursion
root_kappa_star = sp.Symbol("sqrt(kappa^*)", positive=True)  # its square root
q = sp.Symbol("q", positive=True)  # contraction factor, q in (0, 1)
n = sp.Symbol("n", positive=True)  # triples per round

epsilon = sp.Symbol("epsilon", positive=True)  # failure level in the lower bound
c_rhs = sp.Symbol("chi", positive=True)  # kappa_0 log|Pi|/n, right side of the lower-bound equation
K_difficulty = sp.Symbol("kappa_0 log|Pi|", positive=True)  # the effective difficulty

radius = sp.Symbol("R", positive=True)  # ball radius of the linear softmax class
resolution = sp.Symbol("tau", positive=True)  # radius of the covering balls
dimension = sp.Symbol("d", positive=True, integer=True)  # feature dimension

ridge = sp.Symbol("lambda", positive=True)  # ridge parameter of d_eff
eigenvalue = sp.Symbol("nu_j", nonnegative=True)  # one eigenvalue of the covariance
spectral_scale = sp.Symbol("S", positive=True)  # the S of nu_j <= S e^{-omega j}, S j^{-a}
decay_rate = sp.Symbol("omega", positive=True)  # exponential decay rate
cutoff = sp.Symbol("j_0", positive=True)  # number of head eigenvalues kept exactly
tail_mass = sp.Symbol("tail_mass", nonnegative=True)  # spiked model: total mass of the tail


class Derivation(NamedTuple):
    """A derivation: the final ``result`` and the ``steps`` that lead to it.

    ``steps`` is a list of ``(description, expression)`` pairs; an expression is a SymPy
    expression, an ``Eq`` or a relational (``Le``, ``Lt``). Show them with :meth:`latex_steps`.
    """

    result: sp.Basic
    steps: list[tuple[str, sp.Basic]]

    def latex_steps(self) -> list[tuple[str, str]]:
        """The steps as ``(description, LaTeX string)`` pairs, for display in a chapter."""
        return [(description, sp.latex(expression)) for description, expression in self.steps]


def _expand_logs(expression: sp.Basic) -> sp.Basic:
    """Split logarithms of products and powers. Every argument here is a positive quantity, which
    is exactly when ``log(x y) = log x + log y`` holds, so ``force=True`` is safe."""
    return sp.expand_log(expression, force=True)


# --------------------------------------------------------------------------------------------
# 1. Gibbs closed form of the KL-regularised self-reward objective
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 2. Reward identity and cancellation of log Z_t
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 3. Lemma C.1
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 4. The tail integral of Lemma C.3
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 5. Lemma C.4: fixed point, contraction factor, unrolled recursion
# --------------------------------------------------------------------------------------------


def _fixed_point_sqrt() -> sp.Expr:
    """The positive root x of ``x^2 = A + B' x``, where x = sqrt(kappa*)."""
    roots = sp.solve(sp.Eq(root_kappa_star**2, A + B_prime * root_kappa_star), root_kappa_star)
    (positive,) = [root for root in roots if root.subs({A: 1, B_prime: 1}) > 0]
    return positive


def log_relaxation() -> Derivation:
    """``log kappa <= sqrt(kappa)`` turns ``A + B sqrt(kappa) + C log(kappa)`` into
    ``A + B' sqrt(kappa)`` with ``B' = B + C`` (Lemma C.3 to Lemma C.4).

    [reconstructed, by algebra; :ref:`recovered-lem-c-1`, :ref:`recovered-algebra` item 7; checked
    in SymPy] ``sqrt(kappa) - log(kappa)`` has its only critical point at kappa = 4, a
    minimum (second derivative > 0 there), with value ``2 - 2 log 2 > 0``; it tends to +inf at
    both ends of (0, inf).
    """
    difference = sp.sqrt(kappa) - sp.log(kappa)
    (critical,) = sp.solve(sp.diff(difference, kappa), kappa)
    curvature = sp.simplify(sp.diff(difference, kappa, 2).subs(kappa, critical))
    minimum = sp.simplify(difference.subs(kappa, critical))
    relaxed = A + B_coef * sp.sqrt(kappa) + C_coef * sp.log(kappa)
    result = sp.Le(relaxed, A + (B_coef + C_coef) * sp.sqrt(kappa))
    steps = [
        ("Difference sqrt(kappa) - log(kappa)", difference),
        ("Its only critical point", sp.Eq(kappa, critical)),
        ("Second derivative there (positive: a minimum)", curvature),
        ("Minimum value (positive)", sp.Eq(sp.Symbol("min(sqrt(kappa) - log(kappa))"), minimum)),
        ("Hence, with C >= 0, the relaxed recursion with B' = B + C", result),
    ]
    return Derivation(result, steps)


def kappa_fixed_point() -> Derivation:
    """Fixed point of ``f(k) = A + B' sqrt(k)``: ``sqrt(kappa*) = (B' + sqrt(B'^2 + 4A))/2``, i.e.
    ``kappa* = A + B'^2/2 + (B'/2) sqrt(B'^2 + 4A)``.

    [reconstructed, by algebra; :ref:`recovered-contraction`; checked in SymPy] In
    sqrt(kappa*), the fixed-point equation is the quadratic ``x^2 = A + B' x``; its positive root
    is taken.
    """
    root = _fixed_point_sqrt()
    expanded = sp.expand(root**2)
    result = sp.Eq(kappa_star, A + B_prime**2 / 2 + B_prime / 2 * sp.sqrt(B_prime**2 + 4 * A))
    steps = [
        ("Fixed point of f(k) = A + B' sqrt(k), in sqrt(kappa*)",
         sp.Eq(root_kappa_star**2, A + B_prime * root_kappa_star)),
        ("Positive root", sp.Eq(sp.sqrt(kappa_star), root)),
        ("Square it", sp.Eq(kappa_star, expanded)),
        ("Fixed point", result),
    ]
    return Derivation(result, steps)


def fixed_point_upper_bound() -> Derivation:
    """``kappa* <= A + B' sqrt(A) + B'^2`` (Eq. 75 to 76).

    [reconstructed, by algebra; :ref:`recovered-contraction`; checked in SymPy] The gap is
    ``(B'/2)(B' + 2 sqrt(A) - sqrt(B'^2 + 4A))``, non-negative because
    ``(B' + 2 sqrt(A))^2 - (B'^2 + 4A) = 4 B' sqrt(A) >= 0``.
    """
    fixed_point = kappa_fixed_point().result.rhs
    upper = A + B_prime * sp.sqrt(A) + B_prime**2
    difference = sp.simplify(upper - fixed_point)
    factored = B_prime / 2 * (B_prime + 2 * sp.sqrt(A) - sp.sqrt(B_prime**2 + 4 * A))
    factored_residual = sp.simplify(difference - factored)
    squares = sp.expand((B_prime + 2 * sp.sqrt(A))**2 - (B_prime**2 + 4 * A))
    result = sp.Le(kappa_star, upper)
    steps = [
        ("Bound minus fixed point", sp.Eq(sp.Symbol("gap"), difference)),
        ("Written as (B'/2)(B' + 2 sqrt(A) - sqrt(B'^2 + 4A)): residual", factored_residual),
        ("Difference of squares inside the bracket (non-negative)", squares),
        ("Upper bound on the fixed point", result),
    ]
    return Derivation(result, steps)


def contraction_factor() -> Derivation:
    """``q = f'(kappa*) = B'/(B' + sqrt(B'^2 + 4A))``; with ``A = 1/mu`` and
    ``B' = 2/(mu sqrt(n))`` it equals ``q = 1/(1 + sqrt(1 + n mu))``.

    [reconstructed, by algebra; :ref:`recovered-tail-integral`, :ref:`recovered-contraction`;
    checked in SymPy] The reviewer-quoted rate uses ``1/(1 + sqrt(n mu))`` [quoted, ICLR review,
    R2], which this matches up to the ``1 +`` under the square root. ``q < 1`` because ``1 - q =
    sqrt(B'^2+4A)/(B'+sqrt(B'^2+4A))``.
    """
    slope = sp.diff(A + B_prime * sp.sqrt(kappa), kappa)
    root = _fixed_point_sqrt()
    factor = sp.simplify(slope.subs(kappa, root**2))
    stated = B_prime / (B_prime + sp.sqrt(B_prime**2 + 4 * A))
    reconstructed_constants = {A: 1 / mu, B_prime: 2 / (mu * sp.sqrt(n))}
    with_constants = sp.simplify(stated.subs(reconstructed_constants))
    one_minus = sp.simplify(1 - stated)
    result = sp.Eq(q, stated)
    steps = [
        ("Slope of f(k) = A + B' sqrt(k)", sp.Eq(sp.Symbol("f'(k)"), slope)),
        ("At the fixed point", sp.Eq(q, factor)),
        ("1 - q (positive, so q < 1)", sp.Eq(1 - q, one_minus)),
        ("With A = 1/mu and B' = 2/(mu sqrt(n))", sp.Eq(q, with_constants)),
        ("Contraction factor", result),
    ]
    return Derivation(result, steps)


def unrolled_recursion() -> Derivation:
    """If ``kappa_{t+1} <= A + B' sqrt(kappa_t)`` for all t, then ``kappa_T <= kappa* + q^T (kappa_0
    - kappa*)`` for every T and **every** kappa_0 > 0 (also below kappa*).

    [reconstructed, by algebra; :ref:`recovered-contraction` (Eq. 72); checked in SymPy] The
    reconstructed argument uses the mean value theorem on [kappa*, inf). The tangent line of the
    concave f at kappa* gives the statement on the whole half-line at once:
    ``f(k) - [kappa* + q (k - kappa*)] = -B' (sqrt(k) - sqrt(kappa*))^2 / (2 sqrt(kappa*)) <= 0``.
    So ``kappa_{t+1} <= g(kappa_t)`` with the increasing affine map
    ``g(k) = kappa* + q (k - kappa*)``, and by induction ``kappa_T <= g^T(kappa_0)``, whose closed
    form (``rsolve``) is the result. The weaker ``max(kappa_T - kappa*, 0) <= q^T max(kappa_0 -
    kappa*, 0)`` follows. The generic recursion ``v_{t+1} = a_1 v_t + a_0`` has the solution
    ``a_1^T v_0 + a_0 (1 - a_1^T)/(1 - a_1)`` (``rsolve``), of the same shape.
    """
    root = _fixed_point_sqrt()
    slope_at_fixed_point = B_prime / (2 * root)
    recursion = A + B_prime * sp.sqrt(kappa)
    tangent = root**2 + slope_at_fixed_point * (kappa - root**2)
    below_tangent = sp.expand(recursion - tangent)
    square_form = -B_prime * (sp.sqrt(kappa) - root)**2 / (2 * root)
    square_residual = sp.simplify(sp.expand(below_tangent - square_form))
    iterate = sp.Function("g")
    affine = sp.rsolve(iterate(t + 1) - kappa_star - q * (iterate(t) - kappa_star), iterate(t),
                       {iterate(0): kappa_0})
    generic = sp.Function("v")
    coefficient, offset, start = sp.symbols("a_1 a_0 v_0", real=True)
    generic_solution = sp.rsolve(generic(t + 1) - coefficient * generic(t) - offset, generic(t),
                                 {generic(0): start})
    result = sp.Le(sp.Symbol("kappa_T"), kappa_star + q**T * (kappa_0 - kappa_star))
    steps = [
        ("f minus its tangent line at kappa*, tangent(k) = kappa* + q (k - kappa*)",
         sp.Eq(sp.Symbol("f(k) - tangent(k)"), square_form)),
        ("Check: the difference minus the negative square above", square_residual),
        ("Hence kappa_{t+1} <= kappa* + q (kappa_t - kappa*), an increasing affine map g",
         sp.Le(sp.Symbol("kappa_{t+1}"), kappa_star + q * (sp.Symbol("kappa_t") - kappa_star))),
        ("Iterates of g from kappa_0 (rsolve)", sp.Eq(iterate(T), affine.subs(t, T))),
        ("Generic recursion v_{t+1} = a_1 v_t + a_0 (rsolve)",
         sp.Eq(generic(T), generic_solution.subs(t, T))),
        ("Unrolled bound (Eq. 72)", result),
    ]
    return Derivation(result, steps)


# --------------------------------------------------------------------------------------------
# 6. Corollary 5.7: iterations to suppress the initialisation
# --------------------------------------------------------------------------------------------


def iteration_threshold() -> Derivation:
    """The transient term falls below the stable one, ``q^((T-1)/2) sqrt(kappa_0) <= mu^(-1/2)``,
    iff ``T >= 1 + log(mu kappa_0)/log(1/q)`` (for 0 < q < 1); with ``q = 1/(1 + sqrt(n mu))``
    the threshold reads ``1 + log(mu kappa_0)/log(1 + sqrt(n mu))``.

    Statement [quoted, v2 text]; formula [reconstructed, by algebra from Theorem 5.3;
    :ref:`recovered-cor-5-7`; checked in SymPy]. If ``mu kappa_0 <= 1`` (always so when mu is a
    minimum over rounds including t = 0, :ref:`recovered-book-own`) the threshold is <= 1.
    """
    rounds = sp.Symbol("T", real=True)
    equality = sp.Eq(q**((rounds - 1) / 2) * sp.sqrt(kappa_0), 1 / sp.sqrt(mu))
    (solution,) = sp.solve(equality, rounds)
    stated = 1 + sp.log(mu * kappa_0) / sp.log(1 / q)
    residual = sp.simplify(_expand_logs(solution - stated))
    rate_form = 1 + sp.log(mu * kappa_0) / sp.log(1 + sp.sqrt(n * mu))
    rate_residual = sp.simplify(_expand_logs(stated.subs(q, 1 / (1 + sp.sqrt(n * mu)))
                                             - rate_form))
    result = sp.Eq(sp.Symbol("T_threshold"), stated)
    steps = [
        ("Transient term equals the stable term", equality),
        ("Solve for T", sp.Eq(rounds, solution)),
        ("Minus the stated threshold", residual),
        ("With q = 1/(1 + sqrt(n mu))", sp.Eq(sp.Symbol("T_threshold"), rate_form)),
        ("Check: the substitution minus that form", rate_residual),
        ("Threshold (transient <= stable iff T >= it, since log q < 0)", result),
    ]
    return Derivation(result, steps)


def theorem_5_3_assembly() -> Derivation:
    """How the single-step bound and the unrolled recursion assemble into Theorem 5.3::

        fail(T) ≲ C log(n|Pi|/delta)/(gamma sqrt(n)) * (mu^(-1/2) + sqrt(kappa_0) q^((T-1)/2)),
        q = 1/(1 + sqrt(n mu))

    Steps [reconstructed, by algebra; :ref:`recovered-thm-5-3`, :ref:`recovered-cor-5-7`]: the
    single-step bound (Eq. 41 to 43) applied to the last round, ``fail(T) ≲
    (1/gamma)(sqrt(kappa_{T-1}) eps_stat + beta log kappa_{T-1})``; the unrolled recursion without
    its negative part, ``kappa_{T-1} <= kappa* + q^(T-1) kappa_0``; ``sqrt(a_1 + a_2) <= sqrt(a_1)
    + sqrt(a_2)`` (checked: the square of the right side exceeds a_1 + a_2 by ``2 sqrt(a_1 a_2) >=
    0``); then
    the order-of-magnitude substitutions ``kappa* ≍ 1/mu``, ``eps_stat ≍
    log(n|Pi|/delta)/sqrt(n)`` (which drops the factor ``sqrt(log(|Pi|/delta))`` of
    :func:`one_round_bound`; about 20 in toy A) and ``beta ≲ n^(-1/2)`` (which makes the log term
    of the same order and is absorbed in C_0). The final form is the reviewer's Eq. (7) [quoted,
    ICLR review, R2] with the v2 notation (rho -> delta, c -> mu, threshold 1/2); ``C_0`` is the
    constant hidden in ``≲``.
    """
    error = sp.Symbol("epsilon_stat", positive=True)
    kappa_last = sp.Symbol("kappa_{T-1}", positive=True)
    class_size = sp.Symbol("|Pi|", positive=True)
    delta = sp.Symbol("delta", positive=True)
    constant = sp.Symbol("C_0", positive=True)
    rounds = sp.Symbol("T", positive=True)
    first, second = sp.symbols("a_1 a_2", nonnegative=True)
    single_step = (sp.sqrt(kappa_last) * error + beta * sp.log(kappa_last)) / gamma
    unrolled = kappa_star + q**(rounds - 1) * kappa_0
    square_gap = sp.expand((sp.sqrt(first) + sp.sqrt(second))**2 - (first + second))
    sqrt_bound = sp.sqrt(kappa_star) + sp.powdenest(sp.sqrt(q**(rounds - 1)), force=True) \
        * sp.sqrt(kappa_0)
    rate = sp.log(n * class_size / delta)
    assembled = constant * rate / (gamma * sp.sqrt(n)) * sqrt_bound.subs(kappa_star, 1 / mu)
    final = assembled.subs(q, 1 / (1 + sp.sqrt(n * mu)))
    result = sp.Le(sp.Symbol("fail(T)"), final)
    steps = [
        ("Single-step bound on the last round (Eq. 41 to 43)",
         sp.Le(sp.Symbol("fail(T)"), single_step)),
        ("Unrolled recursion, negative part dropped", sp.Le(kappa_last, unrolled)),
        ("sqrt(a_1 + a_2) <= sqrt(a_1) + sqrt(a_2): the square of the right side minus a_1 + a_2",
         square_gap),
        ("Hence", sp.Le(sp.sqrt(kappa_last), sqrt_bound)),
        ("kappa* ≍ 1/mu, beta ≲ n^(-1/2), and eps_stat ≍ log(n|Pi|/delta)/sqrt(n), which "
         "drops the factor sqrt(log(|Pi|/delta)) of the one-round lemma",
         sp.Le(sp.Symbol("fail(T)"), assembled)),
        ("With q = 1/(1 + sqrt(n mu)): Theorem 5.3", result),
    ]
    return Derivation(result, steps)


def theorem_6_2_assembly() -> Derivation:
    """Theorem 6.2 and Corollary 6.4 from Theorem 5.3: the class-size term ``log(n|Pi|/delta)`` is
    replaced by the metric entropy ``d log(nR/delta)`` of the ball, and under spectral decay d by
    ``d_eff(lambda)``.

    Statement [quoted, v2 text]; formula [reconstructed, from Theorem 5.3 and the prose;
    :ref:`recovered-thm-6-2`, :ref:`recovered-cor-6-4`]. The entropy is the volumetric covering
    (:func:`volumetric_covering`) at resolution of order 1/n, with delta inside the log as
    reconstructed (:ref:`recovered-unstated` lists the alternatives).
    """
    class_size = sp.Symbol("|Pi|", positive=True)
    delta = sp.Symbol("delta", positive=True)
    effective = sp.Symbol("d_eff", positive=True)
    general = theorem_5_3_assembly().result.rhs
    rate = sp.log(n * class_size / delta)
    entropy = dimension * sp.log(n * radius / delta)
    linear = general.subs(rate, entropy)
    spectral = linear.subs(dimension, effective)
    result = sp.Le(sp.Symbol("fail(T)"), linear)
    steps = [
        ("Theorem 5.3", sp.Le(sp.Symbol("fail(T)"), general)),
        ("Metric entropy of the ball replaces the class-size term", sp.Eq(rate, entropy)),
        ("Theorem 6.2", result),
        ("Corollary 6.4: d replaced by d_eff(lambda)", sp.Le(sp.Symbol("fail(T)"), spectral)),
    ]
    return Derivation(result, steps)


# --------------------------------------------------------------------------------------------
# 7. Lambert-W inversion of the single-step lower bound
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# 8. Linear softmax: log-ratio bound and covering number
# --------------------------------------------------------------------------------------------


def softmax_log_ratio(num_responses: int = 3) -> Derivation:
    """``|log pi_theta(y|x) - log pi_theta'(y|x)| <= 2 ||theta - theta'||`` for ``||phi|| <= 1``.

    [reconstructed, from the proof prose and standard arguments; :ref:`recovered-covering`; checked
    in SymPy] With scores ``u_y = <theta, phi(x,y)>`` and ``u'_y = <theta', phi(x,y)>`` and
    ``tau = ||theta - theta'||`` (so ``|u_y - u'_y| <= tau`` by Cauchy-Schwarz):
    ``log pi_theta(y) - log pi_theta'(y) = (u_y - u'_y) - log(Z_theta/Z_theta')``, and
    ``Z_theta/Z_theta' = sum_y' pi_theta'(y') exp(u_y' - u'_y')`` is a pi_theta'-weighted average
    of numbers in ``[e^(-tau), e^tau]``, so ``|log(Z_theta/Z_theta')| <= tau``: total
    ``<= 2tau``.
    The algebra is done for ``num_responses`` explicit responses.
    """
    if num_responses < 2:
        raise ValueError(f"num_responses must be at least 2, got {num_responses}")
    scores_new = sp.symbols(f"u_1:{num_responses + 1}", real=True)
    scores_old = sp.symbols(f"u'_1:{num_responses + 1}", real=True)
    partition_new = sum(sp.exp(z) for z in scores_new)
    partition_old = sum(sp.exp(z) for z in scores_old)
    log_ratio = (scores_new[0] - sp.log(partition_new)) - (scores_old[0] - sp.log(partition_old))
    differences = [z - z_old for z, z_old in zip(scores_new, scores_old, strict=True)]
    decomposition = differences[0] - sp.log(partition_new / partition_old)
    decomposition_residual = sp.simplify(_expand_logs(log_ratio - decomposition))
    weighted_average = sum(sp.exp(z_old) / partition_old * sp.exp(delta)
                           for z_old, delta in zip(scores_old, differences, strict=True))
    average_residual = sp.simplify(partition_new / partition_old - weighted_average)
    weights_total = sp.simplify(sum(sp.exp(z_old) / partition_old for z_old in scores_old))
    distance = sp.Symbol("tau", nonnegative=True)  # ||theta - theta'||
    result = sp.Le(sp.Abs(sp.Symbol("log pi_theta(y) - log pi_theta'(y)")), 2 * distance)
    steps = [
        ("Log-probability difference of the first response", log_ratio),
        ("Feature term minus log partition ratio: residual", decomposition_residual),
        ("Partition ratio as a pi_theta'-weighted average of exp(u_y - u'_y): residual",
         average_residual),
        ("The weights sum to", weights_total),
        ("Each |u_y - u'_y| <= ||phi|| ||theta - theta'|| <= tau, so the average lies in "
         "[e^-tau, e^tau] and |log ratio| <= tau",
         sp.Le(sp.Abs(sp.log(sp.Symbol("Z_theta/Z_theta'"))), distance)),
        ("Triangle inequality", result),
    ]
    return Derivation(result, steps)


def volumetric_covering() -> Derivation:
    """``N(tau) <= (1 + 2R/tau)^d`` for the ball ``||theta|| <= R`` in R^d (N the covering
    number), hence ``log N(tau) = d log(1 + 2R/tau)``; at ``tau = 1/(2n)`` (a 1/n-net in the
    sup-log-ratio metric, by :func:`softmax_log_ratio`) this is ``d log(1 + 4Rn)``, of order
    d log(Rn).

    [reconstructed, from the proof prose and standard arguments; :ref:`recovered-covering`;
    checked in SymPy] A maximal tau-separated set has disjoint balls of radius tau/2, all inside
    the ball of radius R + tau/2, so its size is at most the volume ratio
    ``((R + tau/2)/(tau/2))^d``; a maximal separated set is a tau-net.
    """
    volume_ratio = ((radius + resolution / 2) / (resolution / 2))**dimension
    simplified = sp.simplify(sp.powsimp(volume_ratio, force=True))
    stated = (1 + 2 * radius / resolution)**dimension
    residual = sp.simplify(volume_ratio - stated)
    log_size = _expand_logs(sp.log(stated))
    at_resolution = log_size.subs(resolution, 1 / (2 * n))
    result = sp.Le(sp.Symbol("N(tau)"), stated)
    steps = [
        ("Volume ratio of the balls of radius R + tau/2 and tau/2", volume_ratio),
        ("Simplified", simplified),
        ("Minus (1 + 2R/tau)^d", residual),
        ("Metric entropy", sp.Eq(sp.Symbol("log N(tau)"), log_size)),
        ("At tau = 1/(2n)", sp.Eq(sp.Symbol("log N"), sp.simplify(at_resolution))),
        ("Volumetric bound", result),
    ]
    return Derivation(result, steps)


# --------------------------------------------------------------------------------------------
# 9. Effective dimension
# --------------------------------------------------------------------------------------------


def effective_dimension_terms() -> Derivation:
    """``d_eff(lambda) = sum_j nu_j/(nu_j + lambda)``: each term is at most
    ``min(1, nu_j/lambda)``, hence ``d_eff <= j_0 + (1/lambda) sum_{j>j_0} nu_j`` for every j_0;
    with ``Sigma = I`` (all nu_j = 1), ``d_eff = d/(1 + lambda)``.

    Definition [quoted, v2 text for the notion (Definition G.1); formula reconstructed,
    standard]; bounds [reconstructed, by algebra; :ref:`recovered-effective-dimension`, Eq. 149;
    checked in SymPy].
    """
    term = eigenvalue / (eigenvalue + ridge)
    below_one = sp.simplify(1 - term)
    below_ratio = sp.simplify(eigenvalue / ridge - term)
    isotropic = sp.Sum(term.subs(eigenvalue, 1), (sp.Symbol("j", integer=True), 1, dimension))
    isotropic_value = sp.simplify(isotropic.doit())
    head = sp.Symbol("j_0", integer=True, nonnegative=True)
    index = sp.Symbol("j", integer=True, positive=True)
    spectrum = sp.IndexedBase("nu")
    result = sp.Le(sp.Symbol("d_eff(lambda)"),
                   head + sp.Sum(spectrum[index], (index, head + 1, dimension)) / ridge)
    steps = [
        ("One term of d_eff", term),
        ("1 minus the term (non-negative)", below_one),
        ("nu_j/lambda minus the term (non-negative)", below_ratio),
        ("Isotropic covariance (all nu_j = 1)", sp.Eq(isotropic, isotropic_value)),
        ("Use 1 for the j_0 largest terms and nu_j/lambda for the rest", result),
    ]
    return Derivation(result, steps)


def effective_dimension_exponential() -> Derivation:
    """Exponential spectrum ``nu_j <= S e^(-omega j)``, ``j = 1, 2, ...``:
    ``d_eff(lambda) <= (1/omega) log(S/lambda) + 1/(1 - e^(-omega))`` when ``S >= lambda``.

    [reconstructed, by algebra; :ref:`recovered-effective-dimension` (A); checked in
    SymPy] Take ``j_0 = ceil((1/omega) log(S/lambda))``, so ``S e^(-omega j_0) <= lambda``. The
    tail ``sum_{j>j_0} S e^(-omega j) = S e^(-omega (j_0+1))/(1 - e^(-omega))`` is at most
    ``lambda/(e^omega - 1)``, and ``j_0 <= (1/omega) log(S/lambda) + 1``; finally
    ``1 + 1/(e^omega - 1) = 1/(1 - e^(-omega))``.
    (the reconstruction states the looser tail ``<= lambda/(1 - e^(-omega))``; the tighter one above
    is what makes the constant exactly ``1/(1 - e^(-omega))``.) For ``S < lambda`` take j_0 = 0:
    ``d_eff <= (S/lambda)/(e^omega - 1) < 1/(1 - e^(-omega))``. Indices start at j = 1; for
    eigenvalues indexed from 0 as ``nu_0 e^(-omega j)``, use ``S = nu_0 e^omega``.
    """
    index = sp.Symbol("j", integer=True, positive=True)
    head = sp.Symbol("j_0", integer=True, nonnegative=True)
    ratio = sp.Symbol("rho", positive=True)  # e^(-omega), in (0, 1) because omega > 0
    series = sp.summation(ratio**index, (index, head + 1, sp.oo))
    # summation returns Piecewise((closed form, rho < 1), (unevaluated sum, True)).
    ((convergent, condition), _) = series.args
    if condition != (ratio < 1):
        raise RuntimeError(f"unexpected convergence condition from SymPy: {condition}")
    tail = sp.Sum(spectral_scale * sp.exp(-decay_rate * index), (index, head + 1, sp.oo))
    tail_value = spectral_scale * convergent.subs(ratio, sp.exp(-decay_rate))
    tail_closed = spectral_scale * sp.exp(-decay_rate * (head + 1)) / (1 - sp.exp(-decay_rate))
    tail_residual = sp.simplify(tail_value - tail_closed)
    # At the cut-off S e^(-omega j_0) <= lambda; substitute the extreme case, equality.
    at_cutoff = sp.simplify((tail_closed / ridge).subs(spectral_scale,
                                                       ridge * sp.exp(decay_rate * head)))
    constant_identity = sp.simplify(1 + 1 / (sp.exp(decay_rate) - 1)
                                    - 1 / (1 - sp.exp(-decay_rate)))
    stated = sp.log(spectral_scale / ridge) / decay_rate + 1 / (1 - sp.exp(-decay_rate))
    result = sp.Le(sp.Symbol("d_eff(lambda)"), stated)
    steps = [
        ("Tail of the envelope beyond j_0 (geometric series, ratio e^(-omega) < 1)",
         sp.Eq(tail, tail_value)),
        ("Minus S e^(-omega(j_0+1))/(1 - e^(-omega))", tail_residual),
        ("Divided by lambda, at S e^(-omega j_0) = lambda", sp.Eq(sp.Symbol("tail/lambda"),
                                                                at_cutoff)),
        ("Cut-off j_0 = ceil(log(S/lambda)/omega) <= log(S/lambda)/omega + 1",
         sp.Le(head, sp.log(spectral_scale / ridge) / decay_rate + 1)),
        ("1 + 1/(e^omega - 1) - 1/(1 - e^(-omega))", constant_identity),
        ("Exponential decay (regime A)", result),
    ]
    return Derivation(result, steps)


def effective_dimension_polynomial() -> Derivation:
    """Polynomial spectrum ``nu_j <= S j^(-a)``, ``a > 1``, ``j = 1, 2, ...``:
    ``d_eff(lambda) <= (S/lambda)^(1/a) a/(a - 1) + 1``.

    [reconstructed, by algebra; :ref:`recovered-effective-dimension` (B); checked in SymPy] With
    ``x_0 = (S/lambda)^(1/a)`` and ``j_0 = max(1, ceil(x_0))``: the tail sum is at most
    ``int_{j_0}^inf S x^(-a) dx = S j_0^(1-a)/(a - 1)``, and ``(S/lambda) j_0^(1-a) <= x_0`` (since
    ``j_0 >= x_0`` and ``1 - a < 0``, or ``j_0 = 1 > x_0`` with ``S/lambda = x_0^a <= x_0``), so
    ``d_eff <= j_0 + x_0/(a - 1) <= x_0 + 1 + x_0/(a - 1)``. The reconstruction writes
    ``≲ (S/lambda)^(1/a) a/(a-1)``; the ``+ 1`` is the ceiling's price.
    """
    x = sp.Symbol("x", positive=True)
    power = sp.Symbol("a", positive=True)
    excess = sp.Symbol("e", positive=True)  # a = 1 + e, e > 0
    integral = sp.integrate(spectral_scale * x**(-(1 + excess)), (x, cutoff, sp.oo))
    integral = sp.simplify(integral).subs(excess, power - 1)
    head_scale = (spectral_scale / ridge)**(1 / power)
    at_cutoff = sp.simplify(sp.powsimp((integral / ridge).subs(cutoff, head_scale), force=True))
    total = sp.simplify(head_scale + at_cutoff - head_scale * power / (power - 1))
    stated = head_scale * power / (power - 1) + 1
    result = sp.Le(sp.Symbol("d_eff(lambda)"), stated)
    steps = [
        ("Tail sum bounded by the integral (a > 1)",
         sp.Eq(sp.Integral(spectral_scale * x**(-power), (x, cutoff, sp.oo)), integral)),
        ("Divided by lambda, at j_0 = (S/lambda)^(1/a)", sp.Eq(sp.Symbol("tail/lambda"),
                                                             at_cutoff)),
        ("x_0 + x_0/(a - 1) - x_0 a/(a - 1)", total),
        ("Polynomial decay (regime B); + 1 from the ceiling", result),
    ]
    return Derivation(result, steps)


def effective_dimension_spiked() -> Derivation:
    """Spiked spectrum: j_0 arbitrary eigenvalues plus a tail of total mass tail_mass:
    ``d_eff(lambda) <= j_0 + tail_mass/lambda``, so ``<= j_0 + 1`` when ``lambda >= tail_mass``.

    [reconstructed, by algebra; :ref:`recovered-effective-dimension` (C)] This is
    :func:`effective_dimension_terms` with the tail sum replaced by its total ``tail_mass``.
    """
    general = effective_dimension_terms().result
    tail_sum = general.rhs.atoms(sp.Sum)
    (tail,) = tail_sum
    head = sp.Symbol("j_0", integer=True, nonnegative=True)
    spiked = general.rhs.subs(tail, tail_mass)
    result = sp.Le(sp.Symbol("d_eff(lambda)"), spiked)
    steps = [
        ("General bound", general),
        ("Tail mass", sp.Le(tail, tail_mass)),
        ("Spiked spectrum (regime C)", result),
        ("With lambda >= tail_mass", sp.Le(sp.Symbol("d_eff(lambda)"), head + 1)),
    ]
    return Derivation(result, steps)


# --------------------------------------------------------------------------------------------
# 9. One round: regression error, change of measure, gap (the one-round lemma)
# --------------------------------------------------------------------------------------------


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

# --------------------------------------------------------------------------------------------
# The linear softmax class: the ERM step, its norm, the ball
# --------------------------------------------------------------------------------------------


def _matrix(name: str, rows: int, columns: int) -> sp.Matrix:
    return sp.Matrix(rows, columns, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _vector(name: str, size: int) -> sp.Matrix:
    return sp.Matrix(size, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", real=True))


def _cancel(matrix: sp.Matrix) -> sp.Matrix:
    return matrix.applyfunc(sp.cancel)


def _immutable(steps: list) -> list:
    """Matrix steps as immutable SymPy matrices, so that every step is an expression."""
    return [(description, sp.ImmutableMatrix(expression)
             if isinstance(expression, sp.MatrixBase) else expression)
            for description, expression in steps]


def _projection(design: sp.Matrix) -> sp.Matrix:
    """``D^T (D D^T)^(-1) D`` with every entry reduced to one fraction."""
    return _cancel(design.T * (design * design.T).inv() * design)


def linear_erm_step() -> Derivation:
    """The square-loss ERM of the linear class and its minimum-norm minimiser.

    With ``D`` the matrix whose rows are the sampled differences ``phi(x, y) - phi(x, y')`` and
    ``w = theta - theta_t``, the partition functions cancel in the pairwise differences
    (:func:`srlm_kit.theory.softmax_log_ratio`) and the loss is ``||beta D w - D theta_t||^2 =
    ||D (beta w - theta_t)||^2``. It is zero exactly when ``beta w - theta_t`` lies in the null
    space of D; the minimiser of least norm lies in the row space, ``w = P_D theta_t / beta``
    with ``P_D = D^T (D D^T)^(-1) D`` (full row rank). When D has rank d, ``P_D = I`` and the
    ERM is the exact update ``(1 + 1/beta) theta_t``.

    The algebra is done on a generic 2 x 3 matrix D (two differences in R^3, so that a null space
    remains; its null vector is the cross product of the rows) and a generic 2 x 2 one.
    [reconstructed, :ref:`recovered-book-own`; checked in SymPy]
    """
    design = _matrix("D", 2, 3)
    theta = _vector("theta", 3)
    change = _vector("w", 3)
    residual = beta * design * change - design * theta
    loss = (residual.T * residual)[0]
    factored = design * (beta * change - theta)
    projection = _projection(design)
    minimiser = projection * theta / beta
    null_vector = design[0, :].cross(design[1, :]).T
    square = _matrix("D", 2, 2)
    theta_2 = _vector("theta", 2)
    updated = _cancel(theta_2 + _projection(square) * theta_2 / beta)
    result = sp.Eq(sp.Symbol("theta_{t+1}"),
                   sp.Symbol("theta_t") + sp.Symbol("P_D theta_t") / beta)
    steps = [
        ("Square loss minus ||D (beta w - theta_t)||^2",
         sp.expand(loss - (factored.T * factored)[0])),
        ("Projection onto the row space of D (full row rank)",
         sp.Eq(sp.Symbol("P_D"), sp.Symbol("D^T (D D^T)^{-1} D"))),
        ("P_D is idempotent: P_D^2 - P_D", _cancel(projection * projection - projection)),
        ("... and symmetric: P_D - P_D^T", _cancel(projection - projection.T)),
        ("With w = P_D theta_t / beta the residual D (beta w - theta_t) vanishes: zero loss",
         _cancel(design * (beta * minimiser - theta))),
        ("The cross product v of the two rows spans the null space of D: D v",
         sp.expand(design * null_vector)),
        ("w is orthogonal to it: w . v", sp.cancel((minimiser.T * null_vector)[0])),
        ("Every other minimiser is w + c v, of squared norm ||w||^2 + c^2 ||v||^2: w is the "
         "minimum-norm ERM step", result),
        ("If D has rank d (here 2 x 2), P_D is the identity", _projection(square)),
        ("... and the ERM step is the exact update (1 + 1/beta) theta_t", updated),
    ]
    return Derivation(result, _immutable(steps))


def erm_norm_growth() -> Derivation:
    """The ERM step grows the parameter by at most the exact factor ``1 + 1/beta``.

    For an orthogonal projection P, ``<theta, P theta> = ||P theta||^2``, so
    ``||theta + P theta/beta||^2 = ||theta||^2 + (2/beta + 1/beta^2) ||P theta||^2``. With the
    captured fraction ``a = ||P theta|| / ||theta||`` in [0, 1], the growth factor is
    ``sqrt(1 + ((1 + 1/beta)^2 - 1) a^2)``: ``1 + 1/beta`` exactly when a = 1 (the exact
    update), and less otherwise. By induction ``||theta_t^ERM|| <= (1 + 1/beta)^t ||theta_0||``,
    so the ERM iterate leaves a ball no earlier than the exact update.
    [reconstructed, by algebra: the book's; checked in SymPy; :ref:`recovered-book-own`]
    """
    norm_sq = sp.Symbol("||theta||^2", positive=True)
    fraction = sp.Symbol("a", nonnegative=True)
    captured_sq = fraction**2 * norm_sq
    # <theta, P theta> = ||P theta||^2 for an orthogonal projection (checked in step 1)
    new_norm_sq = sp.expand(norm_sq + 2 * captured_sq / beta + captured_sq / beta**2)
    growth = sp.sqrt(sp.expand(new_norm_sq / norm_sq))
    exact_growth = sp.factor(growth.subs(fraction, 1))
    gap = sp.factor(sp.expand((1 + 1 / beta)**2 * norm_sq - new_norm_sq))
    example = _matrix("D", 2, 3)
    projection = _projection(example)
    theta = _vector("theta", 3)
    inner_check = sp.cancel((theta.T * projection * theta)[0]
                            - ((projection * theta).T * (projection * theta))[0])
    growth_symbol = sp.Symbol("growth")
    result = sp.Eq(growth_symbol, growth)
    steps = [
        ("For a projection, <theta, P theta> - ||P theta||^2 (generic 2 x 3 example)",
         inner_check),
        ("Squared norm after the step, with ||P theta|| = a ||theta||",
         sp.Eq(sp.Symbol("||theta_{t+1}||^2"), new_norm_sq)),
        ("Growth factor ||theta_{t+1}|| / ||theta_t|| of one ERM step", result),
        ("At a = 1 (the round captures the whole exact step)",
         sp.Eq(growth_symbol, exact_growth)),
        ("(1 + 1/beta)^2 ||theta||^2 minus the squared norm after the step: non-negative for "
         "a <= 1", gap),
    ]
    return Derivation(result, _immutable(steps))


def realizability_derivation() -> Derivation:
    """How long the exact update stays in the ball ``||theta|| <= R``, and what a ball large
    enough for T rounds costs in Theorem 6.2's entropy term.

    ``||theta_t|| = (1 + 1/beta)^t ||theta_0||`` (:func:`srlm_kit.theory.gibbs_composition`)
    equals R at ``t = H = log(R/||theta_0||)/log(1 + 1/beta)`` and exceeds it from the first
    integer above H on; the round-t target ``(1 + 1/beta) theta_t`` reaches R at ``t = H - 1``.
    Covering T rounds needs ``R >= (1 + 1/beta)^T ||theta_0||``, and then ``d log(nR/delta)``
    grows by ``d log(1 + 1/beta)`` per round; at ``beta = n^(-1/2)`` by ``d log(1 + sqrt(n))``.
    [reconstructed, from the Gibbs closed form; :ref:`recovered-gibbs`, :ref:`recovered-book-own`;
    the entropy cost is the book's observation, by algebra]
    """
    delta = sp.Symbol("delta", positive=True)
    rounds = sp.Symbol("t", positive=True)
    start = sp.Symbol("||theta_0||", positive=True)
    growth = 1 + 1 / beta
    norm = start * growth**rounds
    horizon = sp.log(radius / start) / sp.log(growth)
    at_horizon = sp.simplify(norm.subs(rounds, horizon) - radius)
    target_at = sp.simplify((growth * norm).subs(rounds, horizon - 1) - radius)
    needed = start * growth**T
    entropy = dimension * sp.log(n * radius / delta)
    expanded = sp.expand(sp.expand_log(entropy.subs(radius, needed), force=True))
    per_round = sp.diff(expanded, T)
    paper_regime = sp.expand_log(per_round.subs(beta, 1 / sp.sqrt(n)), force=True)
    result = sp.Eq(sp.Symbol("H"), horizon)
    steps = [
        ("Norm of the exact iterate", sp.Eq(sp.Symbol("||theta_t||"), norm)),
        ("It equals R at t = H", result),
        ("Check: the norm at t = H, minus R", at_horizon),
        ("The target (1 + 1/beta) theta_t of round t reaches R at t = H - 1: the target's norm "
         "there, minus R", target_at),
        ("A ball that holds the targets of T rounds", sp.Ge(radius, needed)),
        ("Theorem 6.2's entropy term at that radius", sp.Eq(entropy, expanded)),
        ("Its growth per round", per_round),
        ("... at beta = n^(-1/2), the paper's regime", paper_regime),
    ]
    return Derivation(result, steps)


# --------------------------------------------------------------------------------------------
# Judges, near ties and coverage (the book's experiments beyond the theorem)
# --------------------------------------------------------------------------------------------


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

    [reconstructed, by algebra from :func:`srlm_kit.theory.gibbs_composition`
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

    [reconstructed, by algebra from :func:`srlm_kit.theory.gibbs_composition`; a sufficient
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


# --------------------------------------------------------------------------------------------
# The hard instance pooled over rounds; self against frozen reward
# --------------------------------------------------------------------------------------------


def pooling_identity() -> Derivation:
    """On the hard instance, ``T`` rounds of ``n`` triples leave a prompt unsolved with the
    probability of one round of ``nT`` (when
    :func:`srlm_kit.experiments.limits.solved_by_one_pair` holds)::

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


def exponent_recursions() -> Derivation:
    """The exponent ``E_t`` in ``pi_t ∝ pi_0^(E_t)`` of the exact update, for the self-reward and
    for the frozen reward (:func:`srlm_kit.experiments.limits.population_exponent`)::

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


DERIVATIONS = (
    gibbs_maximiser, gibbs_composition, reward_identity, lemma_c1, tail_integral,
    log_relaxation, kappa_fixed_point, fixed_point_upper_bound, contraction_factor,
    unrolled_recursion, iteration_threshold, theorem_5_3_assembly, theorem_6_2_assembly,
    lambert_w_inversion, lambert_w_asymptotic,
    softmax_log_ratio, volumetric_covering, effective_dimension_terms,
    effective_dimension_exponential, effective_dimension_polynomial, effective_dimension_spiked,
    realizable_erm_rate, change_of_measure, one_round_bound,
    linear_erm_step, erm_norm_growth, realizability_derivation,
    bump_population_excess, judge_composition, near_tie_rounds, coverage_derivation,
    pooling_identity, exponent_recursions,
)

__all__ = ["Derivation", "DERIVATIONS"] + [function.__name__ for function in DERIVATIONS]
