"""Property tests (hypothesis) for the invariants of the kit's policies, metrics and updates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import reference_numpy as ref
from srlm_kit import dynamics, metrics, policies

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

sizes = st.tuples(st.integers(1, 6), st.integers(2, 7))


@st.composite
def policy_tables(draw, low=-1e3, high=1e3):
    m, num_responses = draw(sizes)
    logits = draw(arrays(np.float64, (m, num_responses),
                         elements=st.floats(low, high, allow_nan=False)))
    weights = draw(arrays(np.float64, (m,), elements=st.floats(0.0, 1.0)))
    if weights.sum() == 0:
        weights[0] = 1.0
    return logits, weights / weights.sum()


@SETTINGS
@given(policy_tables())
def test_condition_number_lies_between_one_and_the_number_of_responses(table):
    logits, rho = table
    kappa = float(metrics.condition_number(logits, rho))
    assert 1 - 1e-12 <= kappa <= logits.shape[1] * (1 + 1e-12)


@SETTINGS
@given(sizes, st.data())
def test_condition_number_is_one_exactly_for_a_deterministic_policy(shape, data):
    m, num_responses = shape
    modes = data.draw(arrays(np.int64, (m,), elements=st.integers(0, num_responses - 1)))
    logits = np.full((m, num_responses), -1e3)
    logits[np.arange(m), modes] = 0.0
    rho = np.full(m, 1.0 / m)
    kappa = float(metrics.condition_number(logits, rho))
    # exp(-1000) underflows to 0, so every top probability is exactly 1: kappa = sum(rho).
    assert kappa == float(jnp.sum(jnp.asarray(rho)))
    assert abs(kappa - 1.0) <= 1e-15


@SETTINGS
@given(policy_tables(low=-8, high=8), st.floats(0.05, 20.0))
def test_population_update_is_the_normalised_power(table, beta):
    logits, _ = table
    probabilities = ref.probs(logits)
    power = probabilities ** (1 + 1 / beta)
    expected = power / power.sum(axis=1, keepdims=True)
    got = np.asarray(policies.policy_probs(dynamics.population_update(logits, beta)))
    np.testing.assert_allclose(got, expected, atol=1e-12)


@SETTINGS
@given(policy_tables(low=-3, high=3), st.floats(0.3, 20.0), st.integers(0, 5))
def test_population_iteration_equals_one_power_of_the_start(table, beta, rounds):
    logits, _ = table
    current = jnp.asarray(logits)
    for _ in range(rounds):
        current = dynamics.population_update(current, beta)
    exponent = (1 + 1 / beta) ** rounds
    expected = ref.log_softmax(exponent * ref.log_softmax(logits))
    np.testing.assert_allclose(np.asarray(policies.log_policy(current)), expected,
                               atol=1e-8 * max(1.0, exponent))


@st.composite
def erm_problems(draw):
    logits, rho = draw(policy_tables(low=-4, high=4))
    n_max = draw(st.integers(1, 12))
    n = draw(st.integers(1, n_max))
    seed = draw(st.integers(0, 2**31 - 1))
    beta = draw(st.floats(0.05, 10.0))
    triples = policies.sample_triples(jax.random.key(seed), jnp.asarray(logits),
                                      jnp.asarray(rho), n, n_max)
    return logits, triples, beta


def design_matrix(logits, triples, beta):
    m, num_responses = logits.shape
    theta = ref.log_softmax(logits)
    real = np.asarray(triples.mask)
    x, y, y_prime = (np.asarray(a)[real] for a in (triples.x, triples.y, triples.y_prime))
    design = np.zeros((len(x), m * num_responses))
    design[np.arange(len(x)), x * num_responses + y] += beta
    design[np.arange(len(x)), x * num_responses + y_prime] -= beta
    return design, theta[x, y] - theta[x, y_prime]


@SETTINGS
@given(erm_problems())
def test_erm_change_solves_the_normal_equations_with_minimum_norm(problem):
    logits, triples, beta = problem
    change = np.asarray(dynamics.erm_change(jnp.asarray(logits), triples, beta)).reshape(-1)
    design, labels = design_matrix(logits, triples, beta)
    residual = design @ change - labels
    # Realizable: zero loss, hence the normal equations A^T (A v - b) = 0 hold.
    np.testing.assert_allclose(residual, 0.0, atol=1e-9 * (1 + np.abs(labels).max()))
    np.testing.assert_allclose(design.T @ residual, 0.0, atol=1e-8 * (1 + np.abs(labels).max()))
    # Minimum norm: v lies in the row space of A, i.e. v = A^+ A v.
    projection = np.linalg.pinv(design) @ design
    np.testing.assert_allclose(projection @ change, change, atol=1e-8 * (1 + np.abs(change).max()))


@SETTINGS
@given(policy_tables(low=-4, high=4), st.floats(0.05, 10.0), st.integers(0, 2**31 - 1))
def test_erm_equals_population_update_where_the_pairs_connect_all_responses(table, beta, seed):
    logits, rho = table
    m, num_responses = logits.shape
    # A path y_0 - y_1 - ... - y_{K-1} on prompt 0, plus random pairs elsewhere.
    rng = np.random.default_rng(seed)
    path = np.arange(num_responses - 1)
    extra = 6
    x = np.concatenate([np.zeros(num_responses - 1, dtype=int), rng.integers(0, m, extra)])
    y = np.concatenate([path, rng.integers(0, num_responses, extra)])
    y_prime = np.concatenate([path + 1, rng.integers(0, num_responses, extra)])
    triples = policies.Triples(jnp.asarray(x), jnp.asarray(y), jnp.asarray(y_prime),
                               jnp.ones(len(x), dtype=bool))
    erm = np.asarray(dynamics.erm_update(jnp.asarray(logits), triples, beta))
    population = np.asarray(dynamics.population_update(jnp.asarray(logits), beta))
    np.testing.assert_allclose(erm[0], population[0], atol=1e-9 * (1 + 1 / beta))


@SETTINGS
@given(policy_tables(), st.floats(0.0, 1.0, exclude_min=True, exclude_max=True))
def test_failure_and_target_failure_are_probabilities(table, threshold):
    logits, rho = table
    failure = float(metrics.failure_probability(logits, rho, threshold))
    target = jnp.argmax(jnp.asarray(logits), axis=1)
    assert 0.0 <= failure <= 1.0 + 1e-12
    # With the mode as target, the two failures coincide.
    assert float(metrics.target_failure(logits, rho, target, threshold)) == failure
