"""Runs: determinism, no recompilation, bad input, extreme but valid input, known closed forms."""

from __future__ import annotations

import math
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import reference_numpy as ref
from srlm_kit import dynamics, instances, metrics, policies

DETERMINISM_SCRIPT = """
import hashlib, jax, numpy as np
from srlm_kit import dynamics, instances
start = instances.random_logits(jax.random.key(3), 20, 8, temperature=1.0)
trajectory = dynamics.run(jax.random.key(42), start, n=60, T=5, beta=0.3, seeds=4)
digest = hashlib.sha256()
for field in trajectory:
    if field is not None:
        digest.update(np.asarray(field).tobytes())
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_same_key_gives_bit_identical_results_in_two_processes():
    outputs = [subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT], check=True,
                              capture_output=True, text=True).stdout.strip() for _ in range(2)]
    assert outputs[0] == outputs[1] and len(outputs[0]) == 64


def test_different_keys_give_different_data():
    start = instances.bump(10, 6, 0.5)
    first = dynamics.run(jax.random.key(0), start, n=20, T=3, beta=0.5)
    second = dynamics.run(jax.random.key(1), start, n=20, T=3, beta=0.5)
    assert not np.array_equal(np.asarray(first.kappa), np.asarray(second.kappa))


def test_moving_n_T_beta_and_the_initialisation_never_recompiles():
    shape = (30, 10)
    starts = [instances.bump(*shape, h) for h in (0.3, 1.0, 2.0)]
    starts.append(instances.random_logits(jax.random.key(1), *shape, temperature=0.7))
    # A live explorer asks the engine's policy for one shape covering its sliders' ranges.
    explorer_shape = dynamics.padded_shape(200, 12)
    dynamics.run(jax.random.key(0), starts[0], n=5, T=1, beta=0.5, seeds=3,
                 shape=explorer_shape)
    # Without a shape, runs whose n and T fall in one bucket share a compiled simulation.
    dynamics.run(jax.random.key(0), starts[0], n=65, T=9, beta=0.5, seeds=3)
    assert dynamics.padded_shape(65, 9) == dynamics.padded_shape(80, 10) == (80, 10)
    compiled = dynamics.compile_count()
    rng = np.random.default_rng(0)
    for start in starts:
        for _ in range(4):
            dynamics.run(jax.random.key(int(rng.integers(1000))), start,
                         n=int(rng.integers(1, 201)), T=int(rng.integers(0, 13)),
                         beta=float(rng.uniform(0.01, 5)), seeds=3, shape=explorer_shape)
            dynamics.run(jax.random.key(int(rng.integers(1000))), start,
                         n=int(rng.integers(65, 81)), T=int(rng.integers(9, 11)),
                         beta=float(rng.uniform(0.01, 5)), seeds=3)
    assert dynamics.compile_count() == compiled


def test_the_shape_policy_rounds_up_to_three_significant_bits_with_floors():
    assert dynamics.padded_shape(1, 0) == (dynamics.MIN_DATA_LENGTH, dynamics.MIN_ROUNDS)
    assert dynamics.padded_shape(100, 10) == (112, 10)
    assert dynamics.padded_shape(113, 17) == (128, 20)
    assert dynamics.padded_shape([10, 3000], 50) == (3072, 56)
    assert dynamics.padded_shape(10_000, 20) == (10_240, 20)
    for value in range(64, 5000):
        length = dynamics.padded_shape(value, 1).data_length
        assert value <= length < 1.25 * value
        assert length >> (length.bit_length() - 3) << (length.bit_length() - 3) == length


def test_the_padding_does_not_change_the_numbers():
    """Tabular: identical at any shape; linear: equal to rounding (the SVD of a padded design).
    And the result has rounds 0..T and n triples, whatever the bucket."""
    start = instances.bump(12, 5, 0.7)
    key = jax.random.key(4)
    own = dynamics.run(key, start, n=30, T=5, beta=0.4, seeds=3, keep_logits=True,
                       keep_triples=True)
    assert own.kappa.shape == (3, 6) and own.step_gap.shape == (3, 5)
    assert np.asarray(own.triples.x).shape == (3, 5, 30)
    large = dynamics.run(key, start, n=30, T=5, beta=0.4, seeds=3, keep_logits=True,
                         keep_triples=True, shape=dynamics.Shape(1000, 20))
    assert large.kappa.shape == (3, 21)
    np.testing.assert_array_equal(np.asarray(large.logits)[:, :6], np.asarray(own.logits))
    np.testing.assert_array_equal(np.asarray(large.triples.x)[:, :5, :30],
                                  np.asarray(own.triples.x))
    assert np.all(np.asarray(large.active) == (np.arange(21) <= 5))
    features = np.asarray(jax.random.normal(jax.random.key(1), (10, 6, 8)))
    features = features / np.linalg.norm(features, axis=-1, keepdims=True)
    linear_start = instances.linear(features, np.ones(8))
    own = dynamics.run(key, linear_start, n=20, T=3, beta=0.5, seeds=2, keep_parameters=True)
    large = dynamics.run(key, linear_start, n=20, T=3, beta=0.5, seeds=2, keep_parameters=True,
                         shape=dynamics.Shape(512, 8))
    np.testing.assert_allclose(np.asarray(large.parameters)[:, :4], np.asarray(own.parameters),
                               rtol=1e-10)


def test_more_seeds_add_seeds_and_a_round_is_one_step():
    start = instances.bump(12, 5, 0.7)
    key = jax.random.key(6)
    few = dynamics.run(key, start, n=30, T=3, beta=0.4, seeds=2, keep_logits=True,
                       keep_triples=True)
    many = dynamics.run(key, start, n=30, T=3, beta=0.4, seeds=5)
    np.testing.assert_array_equal(np.asarray(many.kappa)[:2], np.asarray(few.kappa))
    seed_key = jax.random.split(key, 2)[1]
    table, triples = dynamics.one_step(jax.random.fold_in(seed_key, 2), start,
                                       np.asarray(few.logits)[1, 2], n=30, beta=0.4)
    np.testing.assert_allclose(np.asarray(table), np.asarray(few.logits)[1, 3], atol=1e-12)
    np.testing.assert_array_equal(np.asarray(triples.y), np.asarray(few.triples.y)[1, 2])


def test_a_prefix_of_rounds_and_of_data_is_shared():
    start = instances.bump(12, 5, 0.7)
    key = jax.random.key(9)
    long = dynamics.run(key, start, n=100, T=12, beta=0.4, keep_triples=True)
    short = dynamics.run(key, start, n=100, T=3, beta=0.4)
    np.testing.assert_array_equal(np.asarray(long.kappa)[:, :4], np.asarray(short.kappa))
    fewer = dynamics.run(key, start, n=20, T=1, beta=0.4, keep_triples=True)
    np.testing.assert_array_equal(np.asarray(long.triples.y)[:, 0, :20],
                                  np.asarray(fewer.triples.y)[:, 0])


def test_run_grid_equals_individual_runs():
    starts = [instances.bump(15, 6, h) for h in (0.4, 1.2)]
    grid = dynamics.run_grid(jax.random.key(2), instances.stack(starts), [10, 40], [0.2, 1.0],
                             T=4, seeds=3)
    assert grid.kappa.shape == (2, 2, 2, 3, 5)
    single = dynamics.run(jax.random.key(2), starts[1], n=10, T=4, beta=1.0, seeds=3)
    np.testing.assert_allclose(np.asarray(grid.kappa)[1, 0, 1], np.asarray(single.kappa),
                               rtol=1e-12)


def test_run_grid_runs_each_bucket_of_n_at_its_own_length_in_the_given_order():
    start = instances.bump(15, 6, 0.8)
    n_values = [300, 10, 70, 40]  # three buckets, not in order
    grid = dynamics.run_grid(jax.random.key(3), instances.stack([start]), n_values, [0.5],
                             T=3, seeds=2)
    assert grid.failure.shape == (1, 4, 1, 2, 4)
    for index, n in enumerate(n_values):
        single = dynamics.run(jax.random.key(3), start, n=n, T=3, beta=0.5, seeds=2)
        np.testing.assert_allclose(np.asarray(grid.kappa)[0, index, 0],
                                   np.asarray(single.kappa), rtol=1e-12)


def test_population_run_follows_the_closed_form():
    start = instances.bump(5, 4, 0.6)
    beta, T = 0.8, 4
    trajectory = dynamics.run(jax.random.key(0), start, n=1, T=T, beta=beta,
                              update="population")
    for t in range(T + 1):
        logits_t = (1 + 1 / beta) ** t * policies.log_policy(start.logits)
        assert float(trajectory.kappa[0, t]) == pytest.approx(
            float(metrics.condition_number(logits_t, start.rho)), rel=1e-10)


def test_bump_and_hard_instance_have_their_closed_form_kappa():
    start = instances.bump(200, 50, math.log(2))
    assert float(metrics.condition_number(start.logits, start.rho)) == pytest.approx(25.5)
    for M, Delta in ((40, 0.2), (10, 0.5), (3, 0.9)):
        hard = instances.hard_instance(jax.random.key(M), k=7, M=M, Delta=Delta)
        assert float(metrics.condition_number(hard.logits, hard.rho)) == pytest.approx(
            instances.hard_instance_kappa0(M, Delta), rel=1e-12)


def test_uniform_start_is_a_fixed_point():
    trajectory = dynamics.run(jax.random.key(0), instances.uniform(6, 4), n=100, T=5, beta=0.1)
    np.testing.assert_allclose(np.asarray(trajectory.kappa), 4.0, rtol=1e-12)


def test_external_labels_agree_on_exactly_the_requested_fraction():
    start = instances.bump(40, 7, 1.0)
    labels = instances.external_labels(jax.random.key(0), start.target, 7, 0.3)
    assert int(jnp.sum(labels == start.target)) == 12
    labelled = instances.with_labels(start, labels)
    trajectory = dynamics.run(jax.random.key(1), labelled, n=1, T=3, beta=0.5,
                              update="population")
    np.testing.assert_allclose(np.asarray(trajectory.agreement), 0.3, rtol=1e-12)


def test_linear_run_reports_leaving_the_ball():
    key_features, key_theta = jax.random.split(jax.random.key(4))
    features = instances.random_unit_features(key_features, 6, 5, 4)
    theta = 0.5 * jax.random.normal(key_theta, (4,)) / 2
    radius = 2.0 * float(jnp.linalg.norm(theta))
    start = instances.linear(features, theta, radius=radius)
    beta = 0.5
    trajectory = dynamics.run(jax.random.key(0), start, n=1, T=3, beta=beta,
                              update="population")
    norms = np.asarray(trajectory.theta_norm)[0]
    np.testing.assert_allclose(norms, float(jnp.linalg.norm(theta)) * 3.0 ** np.arange(4),
                               rtol=1e-12)
    assert np.asarray(trajectory.inside_ball)[0].tolist() == [True, False, False, False]


def test_recorded_parameters_and_triples_replay_the_run_in_numpy():
    """The tabular run's recorded tables and triples, replayed with the NumPy reference update:
    each table is the reference ERM of the previous one on the recorded data, and the metrics
    are those of the tables. Steps after T record no data and leave the table unchanged."""
    start = instances.random_logits(jax.random.key(3), 5, 4, temperature=0.8)
    run = dynamics.run(jax.random.key(8), start, n=6, T=3, beta=0.7, seeds=2,
                       keep_parameters=True, keep_triples=True, shape=dynamics.Shape(9, 4))
    tables, triples = np.asarray(run.parameters), run.triples
    assert tables.shape == (2, 5, 5, 4) and np.asarray(triples.x).shape == (2, 4, 9)
    rho = np.asarray(start.rho)
    for seed in range(2):
        np.testing.assert_allclose(tables[seed, 0], ref.log_softmax(np.asarray(start.logits)),
                                   rtol=1e-12, atol=1e-12)
        for t in range(4):
            mask = np.asarray(triples.mask)[seed, t]
            assert mask.sum() == (6 if t < 3 else 0)
            x, y, y_prime = (np.asarray(field)[seed, t][mask] for field in triples[:3])
            expected = (ref.erm_update(tables[seed, t], x, y, y_prime, 0.7) if t < 3
                        else tables[seed, t])
            np.testing.assert_allclose(tables[seed, t + 1], expected, rtol=1e-9, atol=1e-9)
        for t in range(5):
            assert float(run.kappa[seed, t]) == pytest.approx(
                ref.condition_number(tables[seed, t], rho), rel=1e-12)


def test_recording_changes_no_number():
    start = instances.bump(6, 5, 0.8)
    plain = dynamics.run(jax.random.key(5), start, n=7, T=3, beta=0.4, seeds=3)
    recorded = dynamics.run(jax.random.key(5), start, n=7, T=3, beta=0.4, seeds=3,
                            keep_parameters=True, keep_triples=True)
    for name in ("kappa", "failure", "mu", "gamma", "step_gap"):
        np.testing.assert_array_equal(np.asarray(getattr(plain, name)),
                                      np.asarray(getattr(recorded, name)), err_msg=name)
    assert plain.parameters is None and plain.triples is None


@pytest.mark.parametrize("beta", [1e-4, 1e-2, 1.0, 1e3])
@pytest.mark.parametrize("update", ["erm", "population"])
def test_extreme_but_valid_inputs_stay_finite(beta, update):
    rng = np.random.default_rng(0)
    logits = rng.uniform(-1e3, 1e3, size=(8, 5))
    start = instances.tabular(logits)
    trajectory = dynamics.run(jax.random.key(0), start, n=50, T=50, beta=beta, update=update,
                              seeds=2)
    for name, field in trajectory._asdict().items():
        if field is not None:
            assert np.all(np.isfinite(np.asarray(field, dtype=float))), name
    probabilities = np.asarray(policies.policy_probs(jnp.asarray(logits)))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("beta", [1e-4, 1e3])
def test_extreme_beta_in_the_linear_class_stays_finite(beta):
    features = instances.random_unit_features(jax.random.key(0), 5, 4, 6)
    start = instances.linear(features, jnp.ones(6))
    trajectory = dynamics.run(jax.random.key(1), start, n=3, T=50, beta=beta, seeds=2)
    for name, field in trajectory._asdict().items():
        if field is not None:
            assert np.all(np.isfinite(np.asarray(field, dtype=float))), name


START = instances.bump(4, 3, 1.0)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(n=0), "n \\(triples per round\\) must be at least 1"),
    (dict(T=-1), "T \\(number of rounds\\) must be an integer at least 0"),
    (dict(beta=0.0), "beta must be a finite number > 0"),
    (dict(beta=-1.0), "beta must be a finite number > 0"),
    (dict(beta=float("nan")), "beta must be a finite number > 0"),
    (dict(threshold=1.0), "threshold must lie in the open interval \\(0.0, 1.0\\)"),
    (dict(update="adam"), "update must be one of"),
    (dict(n=10, shape=dynamics.Shape(5, 4)), "shape.data_length must be an integer at least 10"),
    (dict(T=6, shape=dynamics.Shape(64, 4)), "shape.rounds must be an integer at least 6"),
    (dict(seeds=0), "seeds must be an integer at least 1"),
])
def test_bad_run_arguments_are_named(kwargs, message):
    arguments = dict(n=5, T=2, beta=0.5) | kwargs
    with pytest.raises(ValueError, match=message):
        dynamics.run(jax.random.key(0), START, **arguments)


@pytest.mark.parametrize(("build", "error", "message"), [
    (lambda: instances.tabular([[0.0, np.nan]]), ValueError, "logits must contain only finite"),
    (lambda: instances.tabular([[0.0, np.inf]]), ValueError, "logits must contain only finite"),
    (lambda: instances.tabular([[0.0, 1.0]], rho=[-0.5]), ValueError, "rho must"),
    (lambda: instances.tabular([[0.0, 1.0], [1.0, 0.0]], rho=[0.5, 0.6]), ValueError,
     "rho must sum to 1"),
    (lambda: instances.tabular([[0.0, 1.0]], rho=[0.5, 0.5]), ValueError, "rho must have length 1"),
    (lambda: instances.tabular([[0.0]]), ValueError, "K >= 2"),
    (lambda: instances.bump(0, 3, 1.0), ValueError, "m \\(number of prompts\\)"),
    (lambda: instances.bump(3, 1, 1.0), ValueError, "K \\(number of responses\\)"),
    (lambda: instances.bump(3, 3, -1.0), ValueError, "height"),
    (lambda: instances.random_logits(jax.random.key(0), 3, 3, 0.0), ValueError, "temperature"),
    (lambda: instances.hard_instance(jax.random.key(0), 3, 5, 1.5), ValueError, "Delta"),
    (lambda: instances.linear(np.ones((2, 3, 2)), np.zeros(2)), ValueError, "\\|\\|phi"),
    (lambda: instances.linear(np.zeros((2, 3, 2)), np.zeros(3)), ValueError, "theta must have"),
    (lambda: instances.from_name("bump", 3, 3, jax.random.key(0)), ValueError, "init must be one"),
    (lambda: instances.from_name("gauss:1", 3, 3, jax.random.key(0)), ValueError,
     "init must be one"),
    (lambda: instances.from_name("bump:x", 3, 3, jax.random.key(0)), ValueError,
     "must be a number"),
    (lambda: dynamics.run(0, START, n=1, T=1, beta=1.0), TypeError, "PRNG key"),
    (lambda: dynamics.run(jax.random.key(0), np.zeros((2, 2)), n=1, T=1, beta=1.0), TypeError,
     "instance must be"),
    (lambda: dynamics.run(jax.random.key(0), START, n=1.5, T=1, beta=1.0), TypeError,
     "n must be an integer"),
])
def test_bad_instances_are_named(build, error, message):
    with pytest.raises(error, match=message):
        build()
