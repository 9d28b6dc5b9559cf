"""A separate judge as the reward: the update against least squares and closed forms."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_numpy as ref
from srlm_kit import dynamics, instances, policies


def test_tabular_erm_with_a_reward_table_is_the_minimum_norm_least_squares_fit():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 5))
    reward = rng.normal(size=(4, 5))
    triples = policies.sample_triples(jax.random.key(3), jnp.asarray(logits), jnp.full(4, 0.25),
                                      n=12, n_max=12)
    x, y, y_prime = (np.asarray(a) for a in (triples.x, triples.y, triples.y_prime))
    change = ref.erm_change_least_squares(logits, x, y, y_prime, 0.7, reward=reward)
    got = dynamics.erm_change(jnp.asarray(logits), triples, 0.7, jnp.asarray(reward))
    # Both solve the same normal equations; the minimum-norm solutions coincide.
    np.testing.assert_allclose(np.asarray(got), change, atol=1e-10)


def test_linear_erm_with_a_reward_table_is_the_minimum_norm_least_squares_fit():
    key_features, key_data = jax.random.split(jax.random.key(1))
    features = instances.random_unit_features(key_features, 5, 4, 12)
    theta = jnp.linspace(-1, 1, 12)
    reward = np.random.default_rng(1).normal(size=(5, 4))
    logits = policies.linear_logits(features, theta)
    triples = policies.sample_triples(key_data, logits, jnp.full(5, 0.2), n=20, n_max=20)
    got = dynamics.erm_update_linear(theta, features, triples, 0.4, jnp.asarray(reward))
    expected = ref.erm_update_linear(np.asarray(theta), np.asarray(features),
                                     np.asarray(triples.x), np.asarray(triples.y),
                                     np.asarray(triples.y_prime), 0.4, reward=reward)
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-9)


def test_population_update_with_a_reward_is_the_gibbs_policy():
    rng = np.random.default_rng(2)
    logits, reward, beta = rng.normal(size=(3, 6)), rng.normal(size=(3, 6)), 0.3
    gibbs = ref.probs(logits) * np.exp(reward / beta)
    gibbs /= gibbs.sum(axis=1, keepdims=True)
    got = policies.policy_probs(dynamics.population_update(logits, beta, jnp.asarray(reward)))
    np.testing.assert_allclose(np.asarray(got), gibbs, rtol=1e-12)


def test_a_noiseless_judge_equal_to_log_pi0_repeats_the_first_self_rewarding_round():
    start = instances.random_logits(jax.random.key(4), 8, 5, temperature=0.7)
    noiseless = dynamics.judge(policies.log_policy(start.logits))
    key = jax.random.key(5)
    with_judge = dynamics.run(key, start, n=30, T=1, beta=0.5, seeds=3, judge=noiseless)
    self_reward = dynamics.run(key, start, n=30, T=1, beta=0.5, seeds=3)
    np.testing.assert_allclose(np.asarray(with_judge.kappa), np.asarray(self_reward.kappa),
                               rtol=1e-12)


def test_judge_noise_is_fresh_each_round_and_reproducible():
    start = instances.bump(6, 4, 1.0)
    noisy = dynamics.judge(np.zeros((6, 4)), noise=1.0)
    first = dynamics.run(jax.random.key(0), start, n=40, T=3, beta=1.0, judge=noisy,
                         update="population")
    again = dynamics.run(jax.random.key(0), start, n=40, T=3, beta=1.0, judge=noisy,
                         update="population")
    np.testing.assert_array_equal(np.asarray(first.kappa), np.asarray(again.kappa))
    scores = [np.asarray(dynamics.judge_scores(noisy, jax.random.key(k))) for k in (0, 1)]
    assert not np.allclose(scores[0], scores[1])
    assert abs(float(np.std(np.concatenate(scores)))) == pytest.approx(1.0, abs=0.25)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: dynamics.judge(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, "bias must have"),
    (lambda: dynamics.judge(np.zeros((2, 3)), noise=-1.0), ValueError, "noise must lie"),
    (lambda: dynamics.judge(np.full((2, 3), np.nan)), ValueError, "quality must contain only"),
    (lambda: dynamics.run(jax.random.key(0), instances.bump(3, 4, 1.0), n=5, T=1, beta=1.0,
                          judge=dynamics.judge(np.zeros((2, 4)))), ValueError,
     "judge.quality must have shape"),
    (lambda: dynamics.run(jax.random.key(0), instances.bump(3, 4, 1.0), n=5, T=1, beta=1.0,
                          judge=np.zeros((3, 4))), TypeError, "judge must be a Judge"),
    (lambda: dynamics.run(jax.random.key(0), instances.linear(
        instances.random_unit_features(jax.random.key(0), 3, 4, 2), np.zeros(2)), n=5, T=1,
        beta=1.0, update="population", judge=dynamics.judge(np.zeros((3, 4)))), ValueError,
     "update must be 'erm' with a judge"),
])
def test_bad_judges_are_named(build, error, message):
    with pytest.raises(error, match=message):
        build()
