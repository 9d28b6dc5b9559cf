"""The JAX kit against the independent NumPy reference (tests/reference_numpy.py)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_numpy as ref
from srlm_kit import dynamics, instances, metrics, policies


def random_instance(seed: int, m: int = 7, num_responses: int = 5, scale: float = 1.5):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(m, num_responses))
    rho = rng.dirichlet(np.ones(m))
    return logits, rho


@pytest.mark.parametrize("seed", range(5))
def test_metrics_match_reference(seed):
    logits, rho = random_instance(seed)
    assert float(metrics.condition_number(logits, rho)) == pytest.approx(
        ref.condition_number(logits, rho), rel=1e-12)
    assert float(metrics.failure_probability(logits, rho, 0.4)) == pytest.approx(
        ref.failure_probability(logits, rho, 0.4), abs=1e-15)
    assert float(metrics.min_confidence(logits, rho)) == pytest.approx(
        ref.min_confidence(logits, rho), rel=1e-12)
    assert float(metrics.margin(logits, rho)) == pytest.approx(ref.margin(logits, rho), rel=1e-12)
    other, _ = random_instance(seed + 100)
    assert float(metrics.performance_gap(other, logits, rho)) == pytest.approx(
        ref.performance_gap(other, logits, rho), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_tabular_erm_equals_minimum_norm_least_squares(seed):
    logits, rho = random_instance(seed, m=4, num_responses=6)
    triples = policies.sample_triples(jax.random.key(seed), jnp.asarray(logits), jnp.asarray(rho),
                                      n=9, n_max=12)
    real = np.asarray(triples.mask)
    x, y, y_prime = (np.asarray(a)[real] for a in (triples.x, triples.y, triples.y_prime))
    beta = 0.3 + seed * 0.2
    change = ref.erm_change_least_squares(logits, x, y, y_prime, beta)
    expected = ref.log_softmax(ref.log_softmax(logits) + change)
    got = np.asarray(dynamics.erm_update(jnp.asarray(logits), triples, beta))
    np.testing.assert_allclose(got, expected, atol=1e-10)
    # The union-find reference agrees as well (two independent routes to the same policy).
    np.testing.assert_allclose(got, ref.erm_update(logits, x, y, y_prime, beta), atol=1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_linear_erm_equals_minimum_norm_least_squares(seed):
    key_features, key_theta, key_data = jax.random.split(jax.random.key(seed), 3)
    features = instances.random_unit_features(key_features, 5, 4, 30)
    theta = jax.random.normal(key_theta, (30,))
    logits = policies.linear_logits(features, theta)
    rho = jnp.full(5, 0.2)
    triples = policies.sample_triples(key_data, logits, rho, n=8, n_max=8)
    beta = 0.7
    got = np.asarray(dynamics.erm_update_linear(theta, features, triples, beta))
    expected = ref.erm_update_linear(np.asarray(theta), np.asarray(features),
                                     np.asarray(triples.x), np.asarray(triples.y),
                                     np.asarray(triples.y_prime), beta)
    np.testing.assert_allclose(got, expected, atol=1e-9)


def test_population_update_matches_reference():
    logits, _ = random_instance(3)
    for beta in (1e-3, 0.1, 1.0, 50.0):
        np.testing.assert_allclose(np.asarray(dynamics.population_update(logits, beta)),
                                   ref.population_update(logits, beta), atol=1e-9)


def test_full_trajectory_matches_reference_on_the_same_data():
    """Run T rounds in JAX and in NumPy; the reference draws its data with the kit's sampler and
    the kit's key schedule (round t of a seed: ``fold_in(seed key, t)``), so both see identical
    triples."""
    start = instances.random_logits(jax.random.key(5), 6, 5, temperature=0.8)
    n, T, T_max, beta = 15, 4, 6, 0.4
    key = jax.random.key(11)
    trajectory = dynamics.run(key, start, n=n, T=T, beta=beta, seeds=1,
                              shape=dynamics.Shape(20, T_max))
    seed_key = jax.random.split(key, 1)[0]

    def sample(t, logits):
        triples = policies.sample_triples(jax.random.fold_in(seed_key, t), jnp.asarray(logits),
                                          start.rho, n, 20)
        real = np.asarray(triples.mask)
        return tuple(np.asarray(a)[real] for a in (triples.x, triples.y, triples.y_prime))

    history = ref.run(np.asarray(start.logits), np.asarray(start.rho), beta, T, sample)
    for name in ("kappa", "failure", "mu", "gamma"):
        np.testing.assert_allclose(np.asarray(getattr(trajectory, name))[0, :T + 1],
                                   history[name], rtol=1e-9, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(np.asarray(trajectory.step_gap)[0, :T], history["step_gap"],
                               rtol=1e-9, atol=1e-12)
    # After round T the policy is frozen and flagged inactive.
    assert np.all(np.asarray(trajectory.kappa)[0, T:] == np.asarray(trajectory.kappa)[0, T])
    assert np.asarray(trajectory.active)[0].tolist() == [t <= T for t in range(T_max + 1)]


def test_connected_components_match_union_find():
    rng = np.random.default_rng(0)
    for trial in range(20):
        num_nodes = int(rng.integers(2, 40))
        num_edges = int(rng.integers(0, 50))
        u = rng.integers(0, num_nodes, size=max(num_edges, 1))
        v = rng.integers(0, num_nodes, size=max(num_edges, 1))
        if num_edges == 0:
            v = u.copy()
        got = np.asarray(dynamics.connected_component_labels(jnp.asarray(u), jnp.asarray(v),
                                                             num_nodes))
        expected = ref.components(num_nodes, list(zip(u, v, strict=True)))
        np.testing.assert_array_equal(got, expected, err_msg=f"trial {trial}")


def test_sampler_frequencies_match_the_policy():
    """x ~ rho and y, y' ~ pi(.|x): frequencies over 200k draws within 5 standard errors."""
    logits, rho = random_instance(8, m=3, num_responses=4, scale=1.0)
    n = 200_000
    triples = policies.sample_triples(jax.random.key(0), jnp.asarray(logits), jnp.asarray(rho),
                                      n, n)
    x, y, y_prime = (np.asarray(a) for a in (triples.x, triples.y, triples.y_prime))
    joint = rho[:, None] * ref.probs(logits)
    for responses in (y, y_prime):
        counts = np.zeros_like(joint)
        np.add.at(counts, (x, responses), 1)
        standard_error = np.sqrt(joint * (1 - joint) / n)
        assert np.all(np.abs(counts / n - joint) < 5 * standard_error + 1e-12)
    # y and y' are independent given x: the same-response rate matches sum_y pi(y|x)^2.
    same = np.mean(y == y_prime)
    expected_same = float(np.sum(rho * np.sum(ref.probs(logits) ** 2, axis=1)))
    assert abs(same - expected_same) < 5 * np.sqrt(expected_same * (1 - expected_same) / n)


def test_zero_probability_responses_and_prompts_are_never_sampled():
    start = instances.hard_instance(jax.random.key(0), k=4, M=6, Delta=0.3)
    padded = instances.pad(start, 8, 10)
    triples = policies.sample_triples(jax.random.key(1), padded.logits, padded.rho, 5000, 5000)
    x, y, y_prime = (np.asarray(a) for a in (triples.x, triples.y, triples.y_prime))
    probabilities = np.asarray(policies.policy_probs(padded.logits))
    assert np.all(np.asarray(padded.rho)[x] > 0)
    assert np.all(probabilities[x, y] > 0) and np.all(probabilities[x, y_prime] > 0)
    # Informative prompts never put mass on y_0; the sentinel only ever answers y_0.
    assert np.all((y == 0) == (x == 0)) and np.all((y_prime == 0) == (x == 0))


def test_linear_erm_is_finite_and_exact_with_interleaved_zero_rows():
    """Pairs with y = y' give zero rows in D; LAPACK's SVD returned NaN on some such matrices
    (e.g. 321 x 435 with 8 non-zero rows scattered among zeros) until the kit moved them last."""
    rng = np.random.default_rng(1000)
    for n_max, d, informative in ((321, 435, 8), (324, 499, 23), (306, 421, 13), (50, 20, 7)):
        features = rng.normal(size=(30, 6, d))
        features /= np.linalg.norm(features, axis=-1, keepdims=True)
        x, y = rng.integers(0, 30, n_max), rng.integers(0, 6, n_max)
        y_prime = y.copy()
        rows = rng.choice(n_max, informative, replace=False)
        y_prime[rows] = (y[rows] + rng.integers(1, 6, informative)) % 6
        triples = policies.Triples(jnp.asarray(x), jnp.asarray(y), jnp.asarray(y_prime),
                                   jnp.ones(n_max, dtype=bool))
        theta = rng.normal(size=d)
        got = np.asarray(dynamics.erm_update_linear(jnp.asarray(theta), jnp.asarray(features),
                                                    triples, 0.5))
        expected = ref.erm_update_linear(theta, features, x, y, y_prime, 0.5)
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, expected, atol=1e-9)
