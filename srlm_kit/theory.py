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


DERIVATIONS = (
    gibbs_maximiser, gibbs_composition, reward_identity, lemma_c1, tail_integral,
    log_relaxation, kappa_fixed_point, fixed_point_upper_bound, contraction_factor,
    unrolled_recursion, iteration_threshold, theorem_5_3_assembly, theorem_6_2_assembly,
    lambert_w_inversion, lambert_w_asymptotic,
    softmax_log_ratio, volumetric_covering, effective_dimension_terms,
    effective_dimension_exponential, effective_dimension_polynomial, effective_dimension_spiked,
    realizable_erm_rate, change_of_measure, one_round_bound,
)

__all__ = ["Derivation", "DERIVATIONS"] + [function.__name__ for function in DERIVATIONS]
