"""The SymPy derivations reach their stated results (residual zero), checked independently.

Each test re-derives or re-substitutes the result rather than trusting the function's own steps;
where a step is a residual, it is also asserted to be exactly zero.
"""

from __future__ import annotations

import importlib
import math
import pkgutil

import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize

from srlm_kit import theory
from srlm_kit.theory import (
    A,
    B_prime,
    K_difficulty,
    a,
    beta,
    c_rhs,
    core,
    decay_rate,
    dimension,
    epsilon,
    kappa,
    kappa_0,
    kappa_star,
    mu,
    n,
    pi_0,
    pi_t,
    q,
    radius,
    resolution,
    ridge,
    spectral_scale,
)

RNG = np.random.default_rng(20260131)


def step(derivation: theory.Derivation, start: str) -> sp.Basic:
    """The expression of the first step whose description starts with ``start``."""
    matches = [expression for description, expression in derivation.steps
               if description.startswith(start)]
    assert matches, f"no step starting with {start!r}"
    return matches[0]


@pytest.mark.parametrize("derivation", theory.DERIVATIONS, ids=lambda f: f.__name__)
def test_every_derivation_has_displayable_steps(derivation):
    result = derivation()
    assert isinstance(result, theory.Derivation)
    assert len(result.steps) >= 3
    for description, expression in result.steps:
        assert isinstance(description, str) and description
        assert isinstance(expression, sp.Basic)
        # A step that evaluated to a bare truth value would display as "True".
        assert not isinstance(expression, sp.logic.boolalg.BooleanAtom), description
    for _, latex in result.latex_steps():
        assert isinstance(latex, str) and latex


def test_package_re_exports_every_derivation_of_its_subject_modules():
    """DERIVATIONS lists each subject module's derivations once, and the package exposes them
    (and the shared symbols) under the names callers use."""
    modules = [importlib.import_module(f"srlm_kit.theory.{info.name}")
               for info in pkgutil.iter_modules(theory.__path__)]
    defined = {name: getattr(module, name) for module in modules
               for name in getattr(module, "__all__", ())}
    assert len(defined) >= 30  # the subject modules were found
    assert sorted(function.__name__ for function in theory.DERIVATIONS) == sorted(defined)
    assert all(getattr(theory, name) is function for name, function in defined.items())
    assert set(theory.__all__) == {"Derivation", "DERIVATIONS", *defined} | {
        name for name, value in vars(core).items() if isinstance(value, sp.Symbol)}
    assert theory.beta is core.beta and theory.Derivation is core.Derivation


# 1. Gibbs -------------------------------------------------------------------------------------


def test_gibbs_maximiser_exponent_and_stationarity_for_three_responses():
    result = theory.gibbs_maximiser().result
    power = result.rhs.as_numer_denom()[0]
    assert sp.simplify(power.exp - (1 + 1 / beta)) == 0
    # Independent check with K = 3 explicit responses: p = pi^(1+1/beta)/Z makes the gradient of
    # the objective equal in every coordinate (one multiplier lambda), and sums to 1.
    probs = sp.symbols("pi_1:4", positive=True)
    normaliser = sum(prob**(1 + 1 / beta) for prob in probs)
    gibbs = [prob**(1 + 1 / beta) / normaliser for prob in probs]
    gradient = [sp.log(prob) - beta * (sp.log(g) - sp.log(prob) + 1)
                for prob, g in zip(probs, gibbs, strict=True)]
    for other in gradient[1:]:
        assert sp.simplify(sp.expand_log(gradient[0] - other, force=True)) == 0
    assert sp.simplify(sum(gibbs) - 1) == 0
    assert step(theory.gibbs_maximiser(), "Second derivative").rhs.is_negative


@pytest.mark.parametrize("trial", range(5))
def test_gibbs_maximiser_agrees_with_numerical_optimisation(trial):
    rng = np.random.default_rng(trial)
    reference = rng.dirichlet(np.ones(4))
    strength = float(np.exp(rng.uniform(np.log(0.1), np.log(5))))

    def negative_objective(logits):
        p = np.exp(logits - np.logaddexp.reduce(logits))
        return -(p @ np.log(reference) - strength * p @ (np.log(p) - np.log(reference)))

    found = optimize.minimize(negative_objective, np.zeros(4), method="BFGS", tol=1e-12).x
    found = np.exp(found - np.logaddexp.reduce(found))
    closed = sp.lambdify((pi_t, beta, theory.partition), theory.gibbs_maximiser().result.rhs)
    power = reference**(1 + 1 / strength)
    np.testing.assert_allclose(found, closed(reference, strength, power.sum()), atol=1e-6)


def test_gibbs_composition_matches_repeated_rounds():
    derivation = theory.gibbs_composition()
    c = sp.Symbol("c", positive=True)
    one_more = step(derivation, "Induction")
    assert sp.simplify(one_more - pi_0**(c**(theory.T + 1)) / sp.Symbol("Z_T", positive=True)**c
                       ) == 0
    solved = step(derivation, "Solution of the recursion").rhs
    assert sp.simplify(solved - sp.Symbol("theta_0", real=True) * (1 + 1 / beta)**theory.T) == 0
    # Numerically: three Gibbs rounds equal pi_0^((1+1/beta)^3), normalised.
    initial = RNG.dirichlet(np.ones(6))
    strength = 0.7
    policy = initial.copy()
    for _ in range(3):
        policy = policy**(1 + 1 / strength)
        policy /= policy.sum()
    closed = sp.lambdify((pi_0, beta, theory.T), derivation.result.rhs.as_numer_denom()[0])
    direct = closed(initial, strength, 3)
    np.testing.assert_allclose(policy, direct / direct.sum(), rtol=1e-12)


# 2. Reward identity ---------------------------------------------------------------------------


def test_reward_identity_residuals_are_zero_and_partition_cancels():
    derivation = theory.reward_identity()
    assert step(derivation, "Reward identity").rhs == 0
    assert step(derivation, "It equals").rhs == 0
    assert not step(derivation, "Pairwise difference of the DPO").rhs.has(theory.partition)
    # Substitute the Gibbs policy into the result: both sides agree identically.
    result = derivation.result
    gibbs = {sp.Symbol("pi^*(y)"): pi_t**(1 + 1 / beta) / theory.partition,
             sp.Symbol("pi^*(y')"): theory.pi_t_other**(1 + 1 / beta) / theory.partition}
    residual = (result.lhs - result.rhs).subs(gibbs)
    assert sp.simplify(sp.expand_log(residual, force=True)) == 0


# 3. Lemma C.1 ---------------------------------------------------------------------------------


def test_lemma_c1_cases_are_non_negative():
    derivation = theory.lemma_c1()
    below = step(derivation, "On {p <= s}")
    above = step(derivation, "On {p > s}")
    assert below.is_nonnegative and above.is_nonnegative
    assert sp.simplify(below - sp.Symbol("u", nonnegative=True)
                       / sp.Symbol("sbar", positive=True)) == 0
    assert sp.simplify(derivation.result.rhs - theory.gap / (theory.gamma * (1 - theory.s))) == 0


def test_indicator_inequality_numerically():
    p = np.linspace(0, 1, 2001)
    for s in (0.01, 0.3, 0.5, 0.9, 0.999):
        assert np.all((p <= s).astype(float) <= (1 - p) / (1 - s) + 1e-15)


# 4. Tail integral -----------------------------------------------------------------------------


def test_tail_integral_residuals_and_cancellation():
    derivation = theory.tail_integral()
    assert step(derivation, "The linear terms cancel") == 0
    assert step(derivation, "Closed form (Eq. 56)") == 0
    assert sp.simplify(step(derivation, "Transition point").rhs - 1 / (1 - a)) == 0


@pytest.mark.parametrize("trial", range(40))
def test_tail_integral_piecewise_matches_quadrature(trial):
    rng = np.random.default_rng(trial)
    confidence = float(rng.uniform(0.01, 1.0))
    ratio = float(rng.uniform(1e-4, 0.999))
    bound = sp.lambdify((a, mu), theory.tail_integral().result)(ratio, confidence)
    top = 1 / confidence

    def capped(level):
        return min(1.0, ratio * level / (level - 1.0)) if level > 1 else 1.0

    transition = 1 / (1 - ratio)
    points = [transition] if 1 < transition < top else None
    integral, _ = integrate.quad(capped, 1.0, top, points=points, limit=200, epsabs=1e-13,
                                 epsrel=1e-12)
    assert bound == pytest.approx(1 + integral, rel=1e-9, abs=1e-12)


def test_tail_integral_pieces_meet_at_the_transition():
    closed = theory.tail_integral().result.args[0][0]
    assert sp.simplify(closed.subs(a, 1 - mu) - 1 / mu) == 0


# 5. Recursion ---------------------------------------------------------------------------------


def test_fixed_point_is_a_fixed_point():
    fixed = theory.kappa_fixed_point().result.rhs
    residual = fixed - (A + B_prime * sp.sqrt(fixed))
    values = RNG.uniform(0.01, 20, size=(50, 2))
    evaluate = sp.lambdify((A, B_prime), residual)
    assert np.max(np.abs([evaluate(*value) for value in values])) < 1e-9
    # sqrt(kappa*) is the positive root (B' + sqrt(B'^2 + 4A))/2.
    root_gap = sp.lambdify((A, B_prime), sp.sqrt(fixed)
                           - (B_prime + sp.sqrt(B_prime**2 + 4 * A)) / 2)
    assert max(abs(root_gap(*value)) for value in values) < 1e-12


def test_fixed_point_upper_bound():
    derivation = theory.fixed_point_upper_bound()
    assert step(derivation, "Written as") == 0
    assert sp.simplify(step(derivation, "Difference of squares") - 4 * sp.sqrt(A) * B_prime) == 0
    gap = sp.lambdify((A, B_prime), derivation.result.rhs - theory.kappa_fixed_point().result.rhs)
    values = RNG.uniform(0, 50, size=(200, 2))
    assert min(gap(*value) for value in values) >= -1e-12


def test_contraction_factor_and_reconstructed_constants():
    derivation = theory.contraction_factor()
    stated = B_prime / (B_prime + sp.sqrt(B_prime**2 + 4 * A))
    assert sp.simplify(step(derivation, "At the fixed point").rhs - stated) == 0
    with_constants = step(derivation, "With A = 1/mu").rhs
    assert sp.simplify(with_constants - 1 / (1 + sp.sqrt(1 + n * mu))) == 0
    # q = f'(kappa*) computed independently.
    fixed = theory.kappa_fixed_point().result.rhs
    slope = sp.diff(A + B_prime * sp.sqrt(kappa), kappa).subs(kappa, fixed)
    evaluate = sp.lambdify((A, B_prime), slope - stated)
    assert max(abs(evaluate(*value)) for value in RNG.uniform(0.01, 10, size=(50, 2))) < 1e-12


def test_log_relaxation():
    derivation = theory.log_relaxation()
    assert step(derivation, "Its only critical point").rhs == 4
    minimum = step(derivation, "Minimum value").rhs
    assert float(minimum) == pytest.approx(2 - 2 * math.log(2)) and float(minimum) > 0
    grid = np.exp(np.linspace(-10, 20, 10001))
    assert np.all(np.log(grid) <= np.sqrt(grid))


def test_unrolled_recursion_tangent_and_closed_form():
    derivation = theory.unrolled_recursion()
    assert step(derivation, "Check: the difference") == 0
    iterates = step(derivation, "Iterates of g").rhs
    assert sp.simplify(iterates - (kappa_star + q**theory.T * (kappa_0 - kappa_star))) == 0
    # The affine iterates, evaluated directly, agree with the closed form.
    star, factor, start = 4.0, 0.3, 1.5
    value = start
    for rounds in range(1, 6):
        value = star + factor * (value - star)
        closed = float(iterates.subs({kappa_star: star, q: factor, kappa_0: start,
                                      theory.T: rounds}))
        assert closed == pytest.approx(value, rel=1e-13)
    generic = step(derivation, "Generic recursion").rhs
    coefficient, offset, start_symbol = sp.symbols("a_1 a_0 v_0", real=True)
    expected = coefficient**theory.T * start_symbol + offset * (1 - coefficient**theory.T) / (
        1 - coefficient)
    assert sp.simplify(generic - expected) == 0


# 6. Iteration threshold -----------------------------------------------------------------------


def test_iteration_threshold():
    derivation = theory.iteration_threshold()
    assert step(derivation, "Minus the stated threshold") == 0
    assert step(derivation, "Check: the substitution") == 0
    threshold = sp.lambdify((mu, kappa_0, q), derivation.result.rhs)
    # At the threshold, transient = stable.
    for confidence, start, factor in RNG.uniform([0.01, 1, 0.01], [1, 100, 0.99], (20, 3)):
        rounds = threshold(confidence, start, factor)
        assert factor**((rounds - 1) / 2) * math.sqrt(start) == pytest.approx(
            1 / math.sqrt(confidence), rel=1e-10)
        if confidence * start <= 1:
            assert rounds <= 1


def test_theorem_5_3_assembly():
    derivation = theory.theorem_5_3_assembly()
    first, second = sp.symbols("a_1 a_2", nonnegative=True)
    assert sp.simplify(step(derivation, "sqrt(a_1 + a_2)")
                       - 2 * sp.sqrt(first) * sp.sqrt(second)) == 0
    names = {symbol.name: symbol for symbol in derivation.result.rhs.free_symbols}
    assert set(names) == {"C_0", "n", "|Pi|", "delta", "gamma", "mu", "kappa_0", "T"}
    # At T = 1 the transient factor is 1; as T -> oo only the stable term is left.
    at_one = derivation.result.rhs.subs(names["T"], 1)
    rate = sp.log(n * names["|Pi|"] / names["delta"])
    expected = names["C_0"] * rate / (names["gamma"] * sp.sqrt(n)) * (1 / sp.sqrt(mu)
                                                                     + sp.sqrt(kappa_0))
    assert sp.simplify(at_one - expected) == 0


# 7. Lambert W ---------------------------------------------------------------------------------


@pytest.mark.parametrize("with_one", [True, False])
def test_lambert_w_inversion_residual_and_numbers(with_one):
    derivation = theory.lambert_w_inversion(with_one)
    assert step(derivation, "Put back") == 0
    solution = sp.lambdify((c_rhs, kappa_0), derivation.result.rhs, modules=["scipy", "numpy"])
    shift = 1.0 if with_one else 0.0
    for start in (1.0, 4.8, 25.5, 1e3):
        for right in np.geomspace(1e-12, 0.9 * math.exp(2 * shift) * start**2 / (2 * math.e), 9):
            value = complex(solution(right, start)).real
            assert value**2 * (shift + math.log(start / value)) == pytest.approx(right, rel=1e-10)


@pytest.mark.parametrize("with_one", [True, False])
def test_lambert_w_asymptotic(with_one):
    derivation = theory.lambert_w_asymptotic(with_one)
    assert step(derivation, "Check: difference of the squares") == 0
    asymptotic = sp.lambdify((K_difficulty, n, kappa_0), derivation.result.rhs)
    exact = sp.lambdify((c_rhs, kappa_0), theory.lambert_w_inversion(with_one).result.rhs,
                        modules=["scipy", "numpy"])
    ratios = [complex(exact(10.0 / size, 5.0)).real / asymptotic(10.0, size, 5.0)
              for size in (1e3, 1e6, 1e12, 1e30, 1e100, 1e300)]
    # The relative error falls like log(log(1/c))/log(1/c): slowly, but steadily.
    errors = np.abs(np.asarray(ratios) - 1)
    assert np.all(np.diff(errors) < 0) and errors[-1] < 0.01


def test_lambert_w_asymptotic_is_the_reviewer_form_up_to_factors_of_two():
    stated = theory.lambert_w_asymptotic(False).result.rhs
    expected = sp.sqrt(2 * K_difficulty / (n * sp.log(n * kappa_0**2 / (2 * K_difficulty))))
    assert sp.simplify(stated**2 - expected**2) == 0


# 8. Linear softmax ----------------------------------------------------------------------------


def test_softmax_log_ratio_residuals():
    for responses in (2, 3, 4):
        derivation = theory.softmax_log_ratio(responses)
        assert step(derivation, "Feature term") == 0
        assert step(derivation, "Partition ratio") == 0
        assert step(derivation, "The weights sum to") == 1
    with pytest.raises(ValueError, match="num_responses"):
        theory.softmax_log_ratio(1)


def test_softmax_log_ratio_bound_numerically():
    from srlm_kit.policies import linear_logits, log_policy

    for trial in range(200):
        rng = np.random.default_rng(trial)
        prompts, responses, dim = 3, int(rng.integers(2, 9)), int(rng.integers(1, 6))
        features = rng.normal(size=(prompts, responses, dim))
        features /= np.maximum(1.0, np.linalg.norm(features, axis=-1, keepdims=True)) * (
            rng.uniform(1.0, 2.0))
        theta = rng.normal(size=dim) * rng.uniform(0.1, 10)
        other = theta + rng.normal(size=dim) * rng.uniform(1e-3, 3)
        difference = np.asarray(log_policy(linear_logits(features, theta))
                                - log_policy(linear_logits(features, other)))
        assert np.max(np.abs(difference)) <= 2 * np.linalg.norm(theta - other) + 1e-12


def test_volumetric_covering():
    derivation = theory.volumetric_covering()
    assert step(derivation, "Minus (1 + 2R/tau)^d") == 0
    assert sp.simplify(derivation.result.rhs - (1 + 2 * radius / resolution)**dimension) == 0
    at_n = step(derivation, "At tau = 1/(2n)").rhs
    assert sp.simplify(at_n - dimension * sp.log(1 + 4 * radius * n)) == 0


# 9. Effective dimension -----------------------------------------------------------------------


def test_effective_dimension_terms():
    derivation = theory.effective_dimension_terms()
    assert step(derivation, "1 minus the term").is_nonnegative
    assert step(derivation, "nu_j/lambda minus").is_nonnegative
    isotropic = step(derivation, "Isotropic").rhs
    assert sp.simplify(isotropic - dimension / (1 + ridge)) == 0


def test_effective_dimension_exponential_algebra():
    derivation = theory.effective_dimension_exponential()
    assert step(derivation, "Minus S e^") == 0
    assert step(derivation, "1 + 1/(e^omega - 1)") == 0
    at_cutoff = step(derivation, "Divided by lambda").rhs
    assert sp.simplify(at_cutoff - 1 / (sp.exp(decay_rate) - 1)) == 0
    # The geometric tail numerically, for a few (S, omega, j_0).
    for scale, rate, head in ((3.0, 0.4, 2), (1.0, 2.0, 0), (50.0, 0.05, 30)):
        direct = sum(scale * math.exp(-rate * j) for j in range(head + 1, head + 20000))
        closed = scale * math.exp(-rate * (head + 1)) / (1 - math.exp(-rate))
        assert direct == pytest.approx(closed, rel=1e-9)
    stated = derivation.result.rhs
    assert sp.simplify(stated - (sp.log(spectral_scale / ridge) / decay_rate
                                 + 1 / (1 - sp.exp(-decay_rate)))) == 0


def test_effective_dimension_polynomial_algebra():
    derivation = theory.effective_dimension_polynomial()
    assert step(derivation, "x_0 + x_0/(a - 1)") == 0
    power = sp.Symbol("a", positive=True)
    tail = step(derivation, "Tail sum").rhs
    assert sp.simplify(tail - spectral_scale * theory.cutoff**(1 - power) / (power - 1)) == 0


def test_effective_dimension_spiked():
    result = theory.effective_dimension_spiked().result
    assert sp.simplify(result.rhs - (sp.Symbol("j_0", integer=True, nonnegative=True)
                                     + theory.tail_mass / ridge)) == 0


def test_epsilon_symbol_is_positive():
    # The Lambert-W derivations rely on epsilon > 0 to split log(kappa_0/epsilon).
    assert epsilon.is_positive
