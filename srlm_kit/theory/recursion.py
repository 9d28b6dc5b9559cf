"""The kappa recursion across rounds: Lemma C.4, Theorem 5.3 and Corollary 5.7.

The one-step bound ``kappa_{t+1} <= A + B sqrt(kappa_t) + C log(kappa_t)`` is relaxed to
``A + B' sqrt(kappa_t)`` (:func:`log_relaxation`), whose fixed point
(:func:`kappa_fixed_point`, :func:`fixed_point_upper_bound`) attracts the iterates at the
contraction factor ``q`` (:func:`contraction_factor`, :func:`unrolled_recursion`). With the one
round bound of :mod:`srlm_kit.theory.one_round` this assembles into Theorem 5.3
(:func:`theorem_5_3_assembly`), and Corollary 5.7 counts the rounds after which the initial
condition no longer matters (:func:`iteration_threshold`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    A,
    B_coef,
    B_prime,
    C_coef,
    Derivation,
    T,
    _expand_logs,
    beta,
    gamma,
    kappa,
    kappa_0,
    kappa_star,
    mu,
    n,
    q,
    root_kappa_star,
    t,
)

__all__ = [
    "log_relaxation", "kappa_fixed_point", "fixed_point_upper_bound", "contraction_factor",
    "unrolled_recursion", "iteration_threshold", "theorem_5_3_assembly",
]


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
    0``); then the order-of-magnitude substitutions ``kappa* ≍ 1/mu``, ``eps_stat ≍
    log(n|Pi|/delta)/sqrt(n)`` (which drops the factor ``sqrt(log(|Pi|/delta))`` of
    :func:`srlm_kit.theory.one_round.one_round_bound`; about 20 in toy A) and ``beta ≲
    n^(-1/2)`` (which makes the log term of the same order and is absorbed in C_0). The final
    form is the reviewer's Eq. (7) [quoted, ICLR review, R2] with the v2 notation (rho -> delta,
    c -> mu, threshold 1/2); ``C_0`` is the constant hidden in ``≲``.
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
