"""Numeric bounds: equal to the SymPy expressions, to direct computations, and monotone as the
theory says; clear errors for inputs outside their domain."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from srlm_kit import bounds, theory
from srlm_kit.theory import (
    A,
    B_prime,
    K_difficulty,
    a,
    c_rhs,
    decay_rate,
    dimension,
    kappa_0,
    mu,
    n,
    q,
    radius,
    resolution,
    ridge,
    spectral_scale,
)

RTOL = 1e-12
RNG = np.random.default_rng(7)


def lambdified(expression, symbols):
    return sp.lambdify(symbols, expression, modules=["scipy", "numpy"])


# Theorem 4.1 ----------------------------------------------------------------------------------


def random_lower_bound_points(size=200, with_one=True):
    rng = np.random.default_rng(11)
    kappa0 = np.exp(rng.uniform(0, np.log(1e3), size))
    log_size = np.exp(rng.uniform(np.log(0.1), np.log(1e4), size))
    largest = (math.e if with_one else 1 / math.e) * kappa0**2 / 2
    # n between the smallest admissible value and 1e12 times it.
    smallest_n = np.maximum(1.0, kappa0 * log_size / largest)
    n_values = smallest_n * np.exp(rng.uniform(0.01, np.log(1e12), size))
    return n_values, kappa0, log_size


def test_lower_bound_exact_equals_sympy_and_solves_its_equation():
    n_values, kappa0, log_size = random_lower_bound_points()
    value = bounds.theorem_4_1_lower_bound(n_values, kappa0, log_size)
    symbolic = lambdified(theory.lambert_w_inversion(True).result.rhs, (c_rhs, kappa_0))
    expected = np.real(symbolic(kappa0 * log_size / n_values, kappa0))
    np.testing.assert_allclose(value, expected, rtol=RTOL)
    # Put back into eps^2 (1 + log(kappa0/eps)): the right-hand side K/n comes back.
    np.testing.assert_allclose(value**2 * (1 + np.log(kappa0 / value)),
                               kappa0 * log_size / n_values, rtol=1e-11)


def test_lower_bound_without_one_equals_sympy_and_solves_its_equation():
    n_values, kappa0, log_size = random_lower_bound_points(with_one=False)
    value = bounds.theorem_4_1_lower_bound_without_one(n_values, kappa0, log_size)
    symbolic = lambdified(theory.lambert_w_inversion(False).result.rhs, (c_rhs, kappa_0))
    np.testing.assert_allclose(value, np.real(symbolic(kappa0 * log_size / n_values, kappa0)),
                               rtol=RTOL)
    np.testing.assert_allclose(value**2 * np.log(kappa0 / value), kappa0 * log_size / n_values,
                               rtol=1e-11)


@pytest.mark.parametrize("with_one", [True, False])
def test_lower_bound_asymptotic_equals_sympy(with_one):
    n_values, kappa0, log_size = random_lower_bound_points(with_one=with_one)
    n_values = n_values * 1e3  # inside the asymptotic form's domain
    value = bounds.theorem_4_1_lower_bound_asymptotic(n_values, kappa0, log_size,
                                                      with_one=with_one)
    symbolic = lambdified(theory.lambert_w_asymptotic(with_one).result.rhs,
                          (K_difficulty, n, kappa_0))
    np.testing.assert_allclose(value, symbolic(kappa0 * log_size, n_values, kappa0), rtol=RTOL)


def test_lower_bound_constant_scales_the_right_hand_side():
    once = bounds.theorem_4_1_lower_bound(1e4, 5.0, 20.0, constant=3.0)
    assert once == pytest.approx(bounds.theorem_4_1_lower_bound(1e4 / 3.0, 5.0, 20.0), rel=RTOL)


def test_lower_bounds_are_monotone():
    sizes = np.geomspace(100, 1e12, 60)
    for function in (bounds.theorem_4_1_lower_bound, bounds.theorem_4_1_lower_bound_without_one,
                     bounds.theorem_4_1_lower_bound_asymptotic):
        values = function(sizes, 25.5, 50.0)
        assert np.all(np.diff(values) < 0), function.__name__
    kappas = np.geomspace(1, 1e3, 60)
    for function in (bounds.theorem_4_1_lower_bound, bounds.theorem_4_1_lower_bound_without_one):
        values = function(1e9, kappas, 50.0)
        assert np.all(np.diff(values) > 0), function.__name__


def test_lower_bound_forms_agree_asymptotically():
    exact = bounds.theorem_4_1_lower_bound_without_one(1e200, 4.0, 10.0)
    asymptotic = bounds.theorem_4_1_lower_bound_asymptotic(1e200, 4.0, 10.0)
    assert exact / asymptotic == pytest.approx(1, abs=0.01)
    with_one = bounds.theorem_4_1_lower_bound(1e200, 4.0, 10.0)
    assert with_one / exact == pytest.approx(1, abs=0.01)


def test_lower_bound_without_solution_raises_naming_n():
    with pytest.raises(ValueError, match="n must be large enough"):
        bounds.theorem_4_1_lower_bound(1.0, 1.0, 100.0)
    with pytest.raises(ValueError, match="n must be large enough"):
        bounds.theorem_4_1_lower_bound_without_one(2.0, 1.0, 100.0)
    with pytest.raises(ValueError, match="n must be large enough"):
        bounds.theorem_4_1_lower_bound_asymptotic(2.0, 1.0, 100.0)


# Tail integral --------------------------------------------------------------------------------


def quadrature_tail_bound(ratio: float, confidence: float) -> float:
    top = 1.0 / confidence
    if top == 1.0:
        return 1.0

    def capped(level):
        return min(1.0, ratio * level / (level - 1.0)) if level > 1 else 1.0

    transition = 1 / (1 - ratio)
    points = [transition] if 1 < transition < top else None
    value, _ = integrate.quad(capped, 1.0, top, points=points, limit=200, epsabs=1e-13,
                              epsrel=1e-12)
    return 1.0 + value


def test_tail_integral_bound_matches_quadrature_and_sympy():
    rng = np.random.default_rng(3)
    ratios = np.concatenate([rng.uniform(1e-6, 0.999, 300), np.geomspace(1e-9, 0.5, 20)])
    confidences = np.concatenate([rng.uniform(1e-3, 1.0, 300), rng.uniform(0.01, 0.99, 20)])
    value = bounds.tail_integral_bound(ratios, confidences)
    quadrature = [quadrature_tail_bound(r, c) for r, c in zip(ratios, confidences, strict=True)]
    np.testing.assert_allclose(value, quadrature, rtol=1e-9, atol=1e-12)
    symbolic = sp.lambdify((a, mu), theory.tail_integral().result)
    np.testing.assert_allclose(value, [symbolic(r, c) for r, c in zip(ratios, confidences,
                                                                       strict=True)], rtol=RTOL)
    capped = ratios >= 1 - confidences
    assert capped.any() and (~capped).any()
    np.testing.assert_allclose(value[capped], 1 / confidences[capped], rtol=RTOL)


def test_tail_integral_bound_edges():
    assert bounds.tail_integral_bound(0.3, 1.0) == 1.0
    assert bounds.tail_integral_bound(0.5, 0.5) == pytest.approx(2.0)  # a = 1 - mu: both pieces
    assert bounds.tail_integral_bound(1e-12, 0.01) == pytest.approx(1.0, abs=1e-9)
    assert np.shape(bounds.tail_integral_bound(np.full((2, 3), 0.1), 0.2)) == (2, 3)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.0, 1.5, np.nan])
def test_tail_integral_bound_rejects_a_outside_unit_interval(bad):
    with pytest.raises(ValueError, match=r"a \(gap/gamma\) must be in the open interval"):
        bounds.tail_integral_bound(bad, 0.5)


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.0001, np.nan])
def test_tail_integral_bound_rejects_mu_outside_half_open_interval(bad):
    with pytest.raises(ValueError, match=r"mu must be in the interval \(0, 1\]"):
        bounds.tail_integral_bound(0.5, bad)


# Recursion ------------------------------------------------------------------------------------


def test_recursion_functions_equal_sympy():
    values = RNG.uniform([0.01, 0.0], [50.0, 20.0], size=(300, 2))
    offsets, coefficients = values[:, 0], values[:, 1]
    pairs = [
        (bounds.kappa_fixed_point, theory.kappa_fixed_point().result.rhs),
        (bounds.contraction_factor, theory.contraction_factor().result.rhs),
        (bounds.fixed_point_upper_bound, theory.fixed_point_upper_bound().result.rhs),
    ]
    for function, expression in pairs:
        symbolic = lambdified(expression, (A, B_prime))
        np.testing.assert_allclose(function(offsets, coefficients),
                                   symbolic(offsets, coefficients), rtol=RTOL, atol=1e-15)
    unrolled = lambdified(theory.unrolled_recursion().result.rhs.subs(
        {theory.kappa_star: theory.kappa_fixed_point().result.rhs,
         q: theory.contraction_factor().result.rhs}), (theory.T, kappa_0, A, B_prime))
    rounds = RNG.integers(0, 30, 300)
    starts = RNG.uniform(1, 100, 300)
    np.testing.assert_allclose(bounds.kappa_unrolled_bound(rounds, starts, offsets, coefficients),
                               unrolled(rounds, starts, offsets, coefficients), rtol=1e-11)


def test_fixed_point_properties():
    values = RNG.uniform([0.01, 0.0], [50.0, 20.0], size=(500, 2))
    offsets, coefficients = values[:, 0], values[:, 1]
    fixed = bounds.kappa_fixed_point(offsets, coefficients)
    np.testing.assert_allclose(fixed, offsets + coefficients * np.sqrt(fixed), rtol=1e-12)
    assert np.all(fixed <= bounds.fixed_point_upper_bound(offsets, coefficients) * (1 + 1e-14))
    factor = bounds.contraction_factor(offsets, coefficients)
    assert np.all((factor >= 0) & (factor < 1))
    np.testing.assert_allclose(factor, coefficients / (2 * np.sqrt(fixed)), rtol=1e-12)
    assert bounds.contraction_factor(2.0, 0.0) == 0.0
    assert bounds.kappa_fixed_point(2.0, 0.0) == 2.0


@settings(max_examples=300, deadline=None)
@given(offset=st.floats(0.05, 20), coefficient=st.floats(0, 10), start=st.floats(1, 500),
       slacks=st.lists(st.floats(0, 1), min_size=1, max_size=25))
def test_unrolled_bound_holds_for_every_sequence_obeying_the_recursion(offset, coefficient,
                                                                      start, slacks):
    # kappa_{t+1} = f(kappa_t) - (some fraction of f(kappa_t)), starting above or below kappa*.
    kappa = [start]
    for slack in slacks:
        kappa.append(max(1e-9, (offset + coefficient * math.sqrt(kappa[-1])) * (1 - slack)))
    kappa = np.asarray(kappa)
    bound = bounds.kappa_unrolled_bound(np.arange(kappa.size), start, offset, coefficient)
    assert np.all(kappa <= bound * (1 + 1e-12) + 1e-12)
    iterates = bounds.kappa_recursion_iterates(start, offset, coefficient, kappa.size - 1)
    assert np.all(kappa <= iterates * (1 + 1e-12))
    assert np.all(iterates <= bound * (1 + 1e-12) + 1e-12)


def test_unrolled_bound_is_monotone_in_T_towards_the_fixed_point():
    fixed = bounds.kappa_fixed_point(1.0, 0.5)
    rounds = np.arange(40)
    above = bounds.kappa_unrolled_bound(rounds, 30.0, 1.0, 0.5)
    below = bounds.kappa_unrolled_bound(rounds, 1.0, 1.0, 0.5)
    assert fixed > 1.0
    assert np.all(np.diff(above) <= 0) and np.all(np.diff(below) >= 0)
    assert above[-1] == pytest.approx(fixed) and below[-1] == pytest.approx(fixed)


# Theorem 5.3, Corollary 5.7 -------------------------------------------------------------------


def theorem_5_3_direct(n_value, rounds, log_size, delta, gamma, confidence, kappa0):
    rate = math.log(n_value * math.exp(log_size) / delta)
    factor = 1 / (1 + math.sqrt(n_value * confidence))
    return rate / (gamma * math.sqrt(n_value)) * (
        1 / math.sqrt(confidence) + math.sqrt(kappa0) * factor**((rounds - 1) / 2))


def test_theorem_5_3_bound_equals_direct_formula():
    for _ in range(200):
        point = dict(n_value=float(RNG.uniform(1, 1e6)), rounds=int(RNG.integers(1, 30)),
                     log_size=float(RNG.uniform(0, 50)), delta=float(RNG.uniform(0.001, 0.999)),
                     gamma=float(RNG.uniform(0.01, 5)), confidence=float(RNG.uniform(0.001, 1)),
                     kappa0=float(RNG.uniform(1, 1e3)))
        value = bounds.theorem_5_3_bound(
            point["n_value"], point["rounds"], log_class_size=point["log_size"],
            delta=point["delta"], gamma=point["gamma"], mu=point["confidence"],
            kappa0=point["kappa0"], constant=2.5)
        assert value == pytest.approx(2.5 * theorem_5_3_direct(**point), rel=1e-12)


def by_name(expression):
    return {symbol.name: symbol for symbol in expression.free_symbols}


def test_theorem_5_3_bound_equals_sympy_assembly():
    expression = theory.theorem_5_3_assembly().result.rhs
    names = by_name(expression)
    order = ("n", "T", "|Pi|", "delta", "gamma", "mu", "kappa_0", "C_0")
    symbolic = lambdified(expression, [names[name] for name in order])
    rng = np.random.default_rng(12)
    points = rng.uniform([1, 1, 0, 0.001, 0.01, 0.001, 1, 0.1],
                         [1e6, 30, 40, 0.999, 5, 1, 1e3, 10], (300, 8))
    value = bounds.theorem_5_3_bound(points[:, 0], points[:, 1], log_class_size=points[:, 2],
                                     delta=points[:, 3], gamma=points[:, 4], mu=points[:, 5],
                                     kappa0=points[:, 6], constant=points[:, 7])
    sympy_points = points.copy()
    sympy_points[:, 2] = np.exp(points[:, 2])
    np.testing.assert_allclose(value, symbolic(*sympy_points.T), rtol=RTOL)


def test_theorem_6_2_and_corollary_6_4_equal_sympy_assembly():
    derivation = theory.theorem_6_2_assembly()
    linear = derivation.result.rhs
    spectral = [expression for description, expression in derivation.steps
                if description.startswith("Corollary 6.4")][0].rhs
    rng = np.random.default_rng(13)
    points = rng.uniform([2, 1, 1, 1, 0.001, 0.01, 0.001, 1, 0.1],
                         [1e6, 30, 300, 50, 0.999, 5, 1, 1e3, 10], (300, 9))
    points[:, 2] = np.round(points[:, 2])
    names = by_name(linear)
    order = ("n", "T", "d", "R", "delta", "gamma", "mu", "kappa_0", "C_0")
    symbolic = lambdified(linear, [names[name] for name in order])
    value = bounds.theorem_6_2_bound(points[:, 0], points[:, 1], dimension=points[:, 2],
                                     radius=points[:, 3], delta=points[:, 4], gamma=points[:, 5],
                                     mu=points[:, 6], kappa0=points[:, 7], constant=points[:, 8])
    np.testing.assert_allclose(value, symbolic(*points.T), rtol=RTOL)
    spectrum = np.exp(-0.4 * np.arange(1, 100))
    names = by_name(spectral)
    symbolic = lambdified(spectral, [names[name] for name in order[:2] + ("d_eff",) + order[3:]])
    value = bounds.corollary_6_4_bound(points[:, 0], points[:, 1], eigenvalues=spectrum,
                                       radius=points[:, 3], delta=points[:, 4],
                                       gamma=points[:, 5], mu=points[:, 6], kappa0=points[:, 7],
                                       constant=points[:, 8])
    effective = bounds.effective_dimension(spectrum, 1 / points[:, 0])
    spectral_points = points.copy()
    spectral_points[:, 2] = effective
    np.testing.assert_allclose(value, symbolic(*spectral_points.T), rtol=RTOL)


def test_theorem_5_3_bound_monotonicity():
    common = dict(log_class_size=5.0, delta=0.05, gamma=0.5, mu=0.1)
    sizes = np.geomspace(1, 1e9, 200)
    # log(n |Pi|/delta) >= log(e^5 / 0.05) > 2 at every n: decreasing in n.
    assert np.all(np.diff(bounds.theorem_5_3_bound(sizes, 4, kappa0=20.0, **common)) < 0)
    rounds = np.arange(1, 60)
    assert np.all(np.diff(bounds.theorem_5_3_bound(500.0, rounds, kappa0=20.0, **common)) <= 0)
    kappas = np.geomspace(1, 1e4, 50)
    assert np.all(np.diff(bounds.theorem_5_3_bound(500.0, 4, kappa0=kappas, **common)) > 0)


def test_theorem_5_3_can_increase_in_n_when_the_log_factor_is_below_two():
    # Documented exception: d/dn log(cn)/sqrt(n) > 0 while log(cn) < 2 (here |Pi| = 1).
    small = bounds.theorem_5_3_bound(np.array([1.0, 2.0]), 1e9, log_class_size=0.0, delta=0.5,
                                     gamma=1.0, mu=1.0, kappa0=1.0)
    assert small[1] > small[0]


def test_corollary_5_7_and_the_threshold():
    common = dict(log_class_size=3.0, delta=0.1, gamma=0.7)
    for confidence, kappa0, n_value in RNG.uniform([0.01, 1, 10], [1, 200, 1e5], (100, 3)):
        stable = bounds.corollary_5_7_bound(n_value, mu=confidence, **common)
        limit = bounds.theorem_5_3_bound(n_value, 1e12, mu=confidence, kappa0=kappa0, **common)
        assert limit == pytest.approx(stable, rel=1e-9)
        threshold = bounds.iteration_threshold_approximate(n_value, confidence, kappa0)
        rounds = max(1.0, float(threshold))
        full = bounds.theorem_5_3_bound(n_value, rounds, mu=confidence, kappa0=kappa0, **common)
        assert full <= 2 * stable * (1 + 1e-12)
        reviewer_q = bounds.reviewer_contraction_factor(n_value, confidence)
        assert bounds.iteration_threshold(confidence, kappa0, reviewer_q) == pytest.approx(
            threshold, rel=1e-12)


def test_iteration_threshold_equals_sympy_and_is_at_most_one_when_mu_kappa0_at_most_one():
    symbolic = lambdified(theory.iteration_threshold().result.rhs, (mu, kappa_0, q))
    values = RNG.uniform([0.001, 1.0, 0.001], [1.0, 1e3, 0.999], (300, 3))
    np.testing.assert_allclose(bounds.iteration_threshold(*values.T), symbolic(*values.T),
                               rtol=RTOL)
    confidence = RNG.uniform(0.001, 1, 300)
    kappa0 = 1 + RNG.uniform(0, 1, 300) * (1 / confidence - 1)  # kappa0 <= 1/mu
    assert np.all(bounds.iteration_threshold(confidence, kappa0, 0.3) <= 1 + 1e-12)
    assert np.all(bounds.iteration_threshold_approximate(50.0, confidence, kappa0) <= 1 + 1e-12)


# Linear class ---------------------------------------------------------------------------------


def test_log_covering_number_equals_sympy():
    symbolic = lambdified(sp.log(theory.volumetric_covering().result.rhs),
                          (dimension, radius, resolution))
    values = RNG.uniform([1, 0.1, 1e-4], [100, 100, 10], (200, 3))
    dims = np.round(values[:, 0])
    np.testing.assert_allclose(bounds.log_covering_number(dims, values[:, 1], values[:, 2]),
                               symbolic(dims, values[:, 1], values[:, 2]), rtol=RTOL)


def test_theorem_6_2_bound_is_theorem_5_3_with_the_entropy_term():
    for _ in range(100):
        n_value, dim = float(RNG.uniform(2, 1e5)), int(RNG.integers(1, 500))
        ball, delta = float(RNG.uniform(1, 50)), float(RNG.uniform(0.01, 0.9))
        rounds, gamma, confidence = int(RNG.integers(1, 10)), 0.3, float(RNG.uniform(0.01, 1))
        kappa0 = float(RNG.uniform(1, 100))
        value = bounds.theorem_6_2_bound(n_value, rounds, dimension=dim, radius=ball,
                                         delta=delta, gamma=gamma, mu=confidence, kappa0=kappa0)
        rate = dim * math.log(n_value * ball / delta)
        factor = 1 / (1 + math.sqrt(n_value * confidence))
        expected = rate / (gamma * math.sqrt(n_value)) * (
            confidence**-0.5 + math.sqrt(kappa0) * factor**((rounds - 1) / 2))
        assert value == pytest.approx(expected, rel=1e-12)


def test_linear_class_entropy_needs_a_positive_log():
    with pytest.raises(ValueError, match="radius"):
        bounds.linear_class_entropy(1.0, dimension=3, radius=0.01, delta=0.5)


# Effective dimension --------------------------------------------------------------------------


def random_spectra(count=200):
    rng = np.random.default_rng(5)
    for _ in range(count):
        size = int(rng.integers(1, 300))
        yield rng.exponential(size=size) * np.exp(rng.uniform(-8, 3, size)), float(
            np.exp(rng.uniform(-8, 2)))


def test_effective_dimension_equals_direct_sum_and_bounds_hold():
    for spectrum, ridge_value in random_spectra():
        direct = sum(value / (value + ridge_value) for value in spectrum)
        value = bounds.effective_dimension(spectrum, ridge_value)
        assert value == pytest.approx(direct, rel=1e-12)
        assert 0 <= value <= spectrum.size
        termwise = bounds.effective_dimension_termwise_bound(spectrum, ridge_value)
        assert value <= termwise * (1 + 1e-12) and termwise <= 2 * value * (1 + 1e-12)
        ordered = np.sort(spectrum)[::-1]
        head_bounds = [bounds.effective_dimension_head_tail_bound(spectrum, ridge_value, head)
                       for head in range(spectrum.size + 1)]
        direct_heads = [head + ordered[head:].sum() / ridge_value
                        for head in range(spectrum.size + 1)]
        np.testing.assert_allclose(head_bounds, direct_heads, rtol=1e-12)
        assert min(head_bounds) == pytest.approx(termwise, rel=1e-12)
        assert value <= min(head_bounds) * (1 + 1e-12)


def test_effective_dimension_broadcasts_over_ridges():
    spectrum = np.exp(-0.3 * np.arange(1, 40))
    ridges = np.array([1e-4, 1e-2, 1.0])
    values = bounds.effective_dimension(spectrum, ridges)
    np.testing.assert_allclose(values, [bounds.effective_dimension(spectrum, r) for r in ridges])
    assert np.all(np.diff(values) < 0)  # non-increasing in the ridge
    assert bounds.effective_dimension(np.ones(7), 0.5) == pytest.approx(7 / 1.5)  # isotropic


def test_exponential_bound_holds_and_equals_sympy():
    rng = np.random.default_rng(8)
    for _ in range(300):
        scale, rate = float(np.exp(rng.uniform(-3, 5))), float(np.exp(rng.uniform(-4, 1)))
        ridge_value = float(np.exp(rng.uniform(-10, 2)))
        index = np.arange(1, 20000)
        spectrum = scale * np.exp(-rate * index) * rng.uniform(0, 1, index.size)**0.1
        bound = bounds.effective_dimension_exponential_bound(ridge_value, scale, rate)
        assert bounds.effective_dimension(spectrum, ridge_value) <= bound
        full_envelope = bounds.effective_dimension(scale * np.exp(-rate * index), ridge_value)
        assert full_envelope <= bound
    symbolic = lambdified(theory.effective_dimension_exponential().result.rhs,
                          (ridge, spectral_scale, decay_rate))
    values = rng.uniform([1e-4, 1.0, 0.01], [1.0, 100.0, 3.0], (100, 3))  # C >= lambda
    np.testing.assert_allclose(bounds.effective_dimension_exponential_bound(*values.T),
                               symbolic(*values.T), rtol=RTOL)


def test_polynomial_and_spiked_bounds_hold():
    rng = np.random.default_rng(9)
    for _ in range(300):
        scale, power = float(np.exp(rng.uniform(-3, 4))), float(rng.uniform(1.05, 4))
        ridge_value = float(np.exp(rng.uniform(-8, 2)))
        index = np.arange(1, 200000, dtype=float)
        envelope = scale * index**-power
        bound = bounds.effective_dimension_polynomial_bound(ridge_value, scale, power)
        # The finite envelope's d_eff plus the tail beyond it (each term <= lambda_j/lambda).
        beyond = scale * index[-1]**(1 - power) / ((power - 1) * ridge_value)
        assert bounds.effective_dimension(envelope, ridge_value) + beyond <= bound
        spikes = int(rng.integers(0, 10))
        spectrum = np.concatenate([rng.uniform(0, 100, spikes), rng.exponential(size=50) * 0.01])
        tail = spectrum[spikes:].sum()
        assert bounds.effective_dimension(spectrum, ridge_value) <= (
            bounds.effective_dimension_spiked_bound(ridge_value, spikes, tail) * (1 + 1e-12))
    symbolic = lambdified(theory.effective_dimension_polynomial().result.rhs,
                          (ridge, spectral_scale, sp.Symbol("a", positive=True)))
    values = rng.uniform([1e-4, 0.1, 1.1], [1.0, 100.0, 5.0], (100, 3))
    np.testing.assert_allclose(bounds.effective_dimension_polynomial_bound(*values.T),
                               symbolic(*values.T), rtol=RTOL)


def test_corollary_6_4_bound_is_theorem_6_2_with_effective_dimension():
    spectrum = np.exp(-0.5 * np.arange(1, 200))
    sizes = np.geomspace(10, 1e6, 30)
    common = dict(radius=10.0, delta=0.1, gamma=0.4, mu=0.2, kappa0=8.0)
    value = bounds.corollary_6_4_bound(sizes, 3, eigenvalues=spectrum, **common)
    effective = bounds.effective_dimension(spectrum, 1 / sizes)
    # Theorem 6.2 is linear in d: divide out d = 1 and multiply by d_eff.
    unit = bounds.theorem_6_2_bound(sizes, 3, dimension=1, **common)
    np.testing.assert_allclose(value, effective * unit, rtol=1e-12)
    assert np.all(np.diff(value) < 0)
    assert np.all(effective < 199)


# Level 3 --------------------------------------------------------------------------------------


def test_statistical_error_formula():
    eps, eta = bounds.statistical_error(1000.0, log_class_size=20.0, delta=0.05, c_loss=3.0)
    expected_eta = math.log(2 * 1000 * 3.0 * math.exp(20.0) / 0.05)
    assert eta == pytest.approx(expected_eta, rel=1e-12)
    assert eps == pytest.approx(expected_eta * math.sqrt(math.log(math.exp(20.0) / 0.05) / 1000),
                                rel=1e-12)


def test_level_three_bound_pieces():
    settings_ = dict(gamma=0.69, mu=0.04, kappa0=25.5, delta=0.1, log_class_size=30.0)
    result = bounds.level_three_bound(5000.0, 4, **settings_)
    eps, _ = bounds.statistical_error(5000.0, log_class_size=30.0, delta=0.1)
    beta = 1 / math.sqrt(5000.0)
    coefficient = (eps + beta) / (0.69 * 0.04)
    fixed = bounds.kappa_fixed_point(1 / 0.04, coefficient)
    kappa_bound = bounds.kappa_unrolled_bound(3, 25.5, 1 / 0.04, coefficient)
    expected = 2 / 0.69 * (math.sqrt(kappa_bound) * eps + beta * math.log(kappa_bound))
    assert float(result.failure_bound) == pytest.approx(expected, rel=1e-12)
    assert float(result.fixed_point) == pytest.approx(fixed, rel=1e-12)
    assert float(result.coefficient) == pytest.approx(coefficient, rel=1e-12)
    linear = bounds.level_three_bound(5000.0, 4, gamma=0.69, mu=0.04, kappa0=25.5, delta=0.1,
                                      dimension=50, radius=10.0)
    assert float(linear.log_class_size) == pytest.approx(50 * math.log(5000 * 10 / 0.1))
    with pytest.raises(ValueError, match="log_class_size"):
        bounds.level_three_bound(10.0, 2, gamma=1.0, mu=0.5, kappa0=2.0, delta=0.1)


def test_level_three_crossing_is_where_the_bound_reaches_one():
    settings_ = dict(gamma=0.69, mu=0.04, kappa0=25.5, delta=0.1, dimension=100, radius=10.0)
    crossing = bounds.level_three_crossing(5, **settings_)
    assert crossing is not None and crossing > 1e6  # vacuous at toy sizes
    at = float(bounds.level_three_bound(crossing, 5, **settings_).failure_bound)
    assert at == pytest.approx(1.0, rel=1e-8)
    assert float(bounds.level_three_bound(crossing * 0.9, 5, **settings_).failure_bound) > 1.0
    # With a fixed beta the floor beta log(kappa*)/(gamma/2) stays above 1: no n works.
    assert bounds.level_three_crossing(5, beta=0.5, **settings_) is None


# Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "name"), [
    (lambda: bounds.theorem_5_3_bound(0.5, 2, log_class_size=1, delta=0.1, gamma=1, mu=0.5,
                                      kappa0=2), "n"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=1, delta=0.1, gamma=1, mu=0.5,
                                      kappa0=0.9), "kappa0"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=1, delta=1.0, gamma=1, mu=0.5,
                                      kappa0=2), "delta"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=1, delta=0.0, gamma=1, mu=0.5,
                                      kappa0=2), "delta"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=1, delta=0.1, gamma=1, mu=1.5,
                                      kappa0=2), "mu"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=1, delta=0.1, gamma=0, mu=0.5,
                                      kappa0=2), "gamma"),
    (lambda: bounds.theorem_5_3_bound(10, 2, log_class_size=-1, delta=0.1, gamma=1, mu=0.5,
                                      kappa0=2), "log_class_size"),
    (lambda: bounds.theorem_4_1_lower_bound(0, 2.0, 1.0), "n"),
    (lambda: bounds.theorem_4_1_lower_bound(100, 0.5, 1.0), "kappa0"),
    (lambda: bounds.kappa_unrolled_bound(2, 0.5, 1.0, 1.0), "kappa0"),
    (lambda: bounds.kappa_fixed_point(0.0, 1.0), "offset"),
    (lambda: bounds.kappa_fixed_point(1.0, -1.0), "coefficient"),
    (lambda: bounds.iteration_threshold(0.0, 2.0, 0.5), "mu"),
    (lambda: bounds.iteration_threshold(0.5, 2.0, 1.0), "q"),
    (lambda: bounds.log_covering_number(-3, 1.0, 0.1), "dimension"),
    (lambda: bounds.theorem_6_2_bound(10, 2, dimension=-1, radius=5, delta=0.1, gamma=1,
                                      mu=0.5, kappa0=2), "dimension"),
    (lambda: bounds.effective_dimension([1.0, -0.1], 0.1), "eigenvalues"),
    (lambda: bounds.effective_dimension([1.0, np.nan], 0.1), "eigenvalues"),
    (lambda: bounds.effective_dimension([1.0, 2.0], 0.0), "ridge"),
    (lambda: bounds.corollary_6_4_bound(10, 2, eigenvalues=[1.0, -2.0], radius=5, delta=0.1,
                                        gamma=1, mu=0.5, kappa0=2), "eigenvalues"),
    (lambda: bounds.effective_dimension_polynomial_bound(0.1, 1.0, 1.0), "power"),
    (lambda: bounds.statistical_error(0.0, log_class_size=1.0, delta=0.1), "n"),
])
def test_bad_input_raises_a_value_error_naming_the_parameter(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()


def test_non_numeric_input_raises_type_error():
    with pytest.raises(TypeError, match="mu"):
        bounds.tail_integral_bound(0.5, "half")
    with pytest.raises(TypeError, match="mu"):
        bounds.tail_integral_bound(0.5, True)


def test_theorem_5_3_on_runs_is_the_formula_and_undefined_where_the_theorem_is():
    n = np.array([10.0, 400.0])[:, None]
    rounds = np.arange(4)[None, :]
    gamma = np.array([[0.5, 0.4, 0.0, 0.3], [0.2, 0.2, 0.1, 0.1]])
    mu = np.array([[0.3, 0.25, 0.2, 0.2], [0.5, 0.4, 0.4, 0.35]])
    value = bounds.theorem_5_3_on_runs(n, rounds, gamma_min=gamma, mu_min=mu, kappa0=3.0,
                                       log_class_size=2.0, delta=0.1)
    for i, size in enumerate((10.0, 400.0)):
        for t in range(4):
            if t == 0 or gamma[i, t] == 0:
                assert np.isnan(value[i, t])
                continue
            q = 1 / (1 + math.sqrt(size * mu[i, t]))
            direct = (math.log(size * math.exp(2.0) / 0.1) / (gamma[i, t] * math.sqrt(size))
                      * (mu[i, t] ** -0.5 + math.sqrt(3.0) * q ** ((t - 1) / 2)))
            assert value[i, t] == pytest.approx(direct, rel=1e-12)


def test_theorem_5_3_bound_beyond_the_float_range_is_infinite_not_an_error():
    # Found by the property test of the public entry points: a subnormal margin and delta.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = bounds.theorem_5_3_bound(1, 1, log_class_size=3.0, delta=1e-320, gamma=1e-320,
                                         mu=1.0, kappa0=2.0**31)
    assert value == math.inf
