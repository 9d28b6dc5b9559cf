"""The small transformer of srlm_kit.transformer: enumeration, sampler, losses, and its class
in the engine (srlm_kit.classes.transformer, run by srlm_kit.dynamics).

Every check compares the kit with an independent computation: a teacher-forced forward pass,
Monte Carlo frequencies of the model's own token-by-token sampler, NumPy formulas of the losses,
a hand-written Adam on teacher-forced likelihoods, the closed-form Gibbs target.
"""

from __future__ import annotations

import itertools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlm_kit import dynamics, instances, metrics
from srlm_kit import transformer as model
from srlm_kit.policies import Triples

SMALL = model.Architecture(vocabulary=3, length=3, num_prompts=2, width=8, heads=2, hidden=16)


@pytest.fixture(scope="module")
def params():
    return model.init_params(jax.random.key(0), SMALL, output_scale=2.0)


def all_responses(architecture):
    return np.array(list(itertools.product(range(architecture.vocabulary),
                                           repeat=architecture.length)))


def test_parameter_count_is_in_the_thousands():
    count = model.parameter_count(model.init_params(jax.random.key(0), model.Architecture()))
    assert 1_000 <= count <= 30_000


def test_table_is_a_distribution_and_matches_teacher_forcing(params):
    table = np.asarray(model.sequence_table(params, SMALL))
    assert table.shape == (2, 27)
    np.testing.assert_allclose(np.exp(table).sum(axis=1), 1.0, atol=1e-6)
    responses = all_responses(SMALL)
    # itertools.product enumerates in the kit's numbering (first token most significant).
    np.testing.assert_array_equal(instances.sequence_index(responses, 3), np.arange(27))
    for prompt in range(2):
        forced = model.sequence_log_likelihood(params, SMALL, jnp.full(27, prompt),
                                               jnp.asarray(responses))
        np.testing.assert_allclose(np.asarray(forced), table[prompt], atol=1e-5)


def test_conditionals_do_not_look_ahead(params):
    """Changing a later token leaves the earlier next-token distributions unchanged."""
    inputs = jnp.array([[3, 0, 1], [3, 0, 2], [3, 1, 1]])
    logits = np.asarray(model.next_token_logits(params, SMALL, inputs))
    np.testing.assert_allclose(logits[0, :2], logits[1, :2], atol=1e-6)
    np.testing.assert_allclose(logits[0, 0], logits[2, 0], atol=1e-6)
    assert not np.allclose(logits[0, 1], logits[2, 1])


def test_enumerated_kappa_and_failure_agree_with_the_models_own_sampler(params):
    """Frequencies of 40 000 token-by-token samples per prompt against the enumeration."""
    table = np.asarray(model.sequence_table(params, SMALL))
    probs = np.exp(table)
    draws = 40_000
    frequencies = np.zeros_like(probs)
    for prompt in range(2):
        tokens = model.sample_responses(jax.random.key(10 + prompt), params, SMALL,
                                        jnp.full(draws, prompt))
        counts = np.bincount(np.asarray(instances.sequence_index(tokens, 3)), minlength=27)
        frequencies[prompt] = counts / draws
    standard_error = np.sqrt(probs * (1 - probs) / draws)
    assert np.all(np.abs(frequencies - probs) <= 5 * standard_error + 1e-12)
    rho = jnp.array([0.5, 0.5])
    kappa = float(metrics.condition_number(jnp.asarray(table), rho))
    top = probs.max(axis=1)
    estimate = float(np.mean(1 / frequencies.max(axis=1)))
    # Delta method: sd of 1/p_hat is sqrt(p(1-p)/N)/p^2 per prompt.
    tolerance = 5 * np.sqrt(np.sum(0.25 * top * (1 - top) / draws / top**4))
    assert abs(estimate - kappa) <= tolerance, (estimate, kappa, tolerance)
    # Failure: the Monte Carlo top frequency falls on the same side of 1/2 as the exact one.
    assert np.all(np.abs(top - 0.5) > 5 * np.sqrt(0.25 / draws))
    failure = float(metrics.failure_probability(jnp.asarray(table), rho))
    assert failure == np.mean(frequencies.max(axis=1) <= 0.5)


@pytest.mark.slow
def test_engine_round_draws_from_the_enumerated_distribution(params):
    """The engine's triples for the transformer: x ~ rho, y ~ pi(.|x) of the enumerated table."""
    rho = np.array([0.25, 0.75])
    start = model.instance(params, SMALL, rho, steps=0)
    table = model.sequence_table(params, SMALL)
    unchanged, triples = dynamics.one_step(jax.random.key(3), start, params, n=30_000, beta=1.0)
    x, y = np.asarray(triples.x), np.asarray(triples.y)
    assert x.shape == (30_000,)
    assert abs(np.mean(x == 1) - 0.75) < 5 * np.sqrt(0.75 * 0.25 / 30_000)
    counts = np.bincount(y[x == 0], minlength=27) / np.sum(x == 0)
    probs = np.exp(np.asarray(table[0]))
    assert np.all(np.abs(counts - probs) <= 5 * np.sqrt(probs * (1 - probs) / np.sum(x == 0))
                  + 1e-12)
    # No Adam step: the parameters are returned as they were.
    for before, after in zip(jax.tree_util.tree_leaves(params),
                             jax.tree_util.tree_leaves(unchanged), strict=True):
        np.testing.assert_array_equal(np.asarray(before), np.asarray(after))


def adam_by_hand(params, loss, steps, learning_rate, b1=0.9, b2=0.999, eps=1e-8):
    """Adam (Kingma and Ba, Algorithm 1) written out, on a dict of arrays."""
    first = {name: np.zeros_like(np.asarray(value)) for name, value in _flat(params).items()}
    second = {name: np.zeros_like(value) for name, value in first.items()}
    current, gradient_of = params, jax.jit(jax.grad(loss))
    for step in range(1, steps + 1):
        gradient = _flat(gradient_of(current))
        flat = _flat(current)
        updated = {}
        for name, value in flat.items():
            g = np.asarray(gradient[name], dtype=np.float64)
            first[name] = b1 * first[name] + (1 - b1) * g
            second[name] = b2 * second[name] + (1 - b2) * g**2
            corrected = first[name] / (1 - b1**step)
            scale = np.sqrt(second[name] / (1 - b2**step)) + eps
            updated[name] = np.asarray(value, dtype=np.float64) - learning_rate * corrected / scale
        current = _unflat(params, updated)
    return current


def _flat(tree):
    leaves = jax.tree_util.tree_leaves_with_path(tree)
    return {jax.tree_util.keystr(path): leaf for path, leaf in leaves}


def _unflat(like, flat):
    paths = jax.tree_util.tree_leaves_with_path(like)
    treedef = jax.tree_util.tree_structure(like)
    return jax.tree_util.tree_unflatten(treedef, [
        jnp.asarray(flat[jax.tree_util.keystr(path)], dtype=leaf.dtype) for path, leaf in paths])


@pytest.mark.slow
@pytest.mark.parametrize("loss", ["square", "logistic"])
def test_engine_round_is_adam_on_the_teacher_forced_loss(params, loss):
    """One round of the engine with the transformer class against a direct computation on its
    triples: labels and margins from teacher-forced likelihoods (not the enumerated table), the
    mean pair loss in NumPy's formula, and Adam written out by hand (not optax)."""
    rho = np.array([0.5, 0.5])
    beta, steps, learning_rate, n = 0.8, 6, 0.03, 5
    start = model.instance(params, SMALL, rho, loss=loss, steps=steps,
                           learning_rate=learning_rate)
    fitted, triples = dynamics.one_step(jax.random.key(11), start, params, n=n, beta=beta)
    x, y, y_prime = (np.asarray(part) for part in triples[:3])
    tokens = [jnp.asarray(instances.sequence_tokens(values, 3, 3)) for values in (y, y_prime)]

    def likelihoods(candidate):
        return [model.sequence_log_likelihood(candidate, SMALL, jnp.asarray(x), part)
                for part in tokens]

    start_y, start_y_prime = likelihoods(params)
    labels = np.asarray(start_y - start_y_prime, dtype=np.float64)

    def loss_of(candidate):
        new_y, new_y_prime = likelihoods(candidate)
        margins = beta * ((new_y - start_y) - (new_y_prime - start_y_prime))
        if loss == "square":
            return jnp.mean((margins - labels) ** 2)
        preference = 1 / (1 + np.exp(-labels))
        return -jnp.mean(preference * jax.nn.log_sigmoid(margins)
                         + (1 - preference) * jax.nn.log_sigmoid(-margins))

    # The kit's round loss (read from the enumerated table) on the engine's triples is the
    # teacher-forced one, in value and in gradient.
    table = model.sequence_table(params, SMALL)
    kit_labels = table[x, y] - table[x, y_prime]
    np.testing.assert_allclose(np.asarray(kit_labels), labels, atol=1e-5)

    def kit_loss(candidate):
        return model.round_loss(candidate, SMALL, triples, kit_labels, table, beta,
                                loss == "logistic")

    np.testing.assert_allclose(float(kit_loss(fitted)), float(loss_of(fitted)), rtol=1e-5)
    kit_gradient, gradient = (np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(
        jax.grad(function)(params))]) for function in (kit_loss, loss_of))
    assert np.linalg.norm(kit_gradient - gradient) <= 1e-4 * np.linalg.norm(gradient)
    # The fitted policy is the one hand-written Adam reaches. Parameters are compared through the
    # table they define: Adam divides a gradient by its own size, so where a coordinate's
    # gradient is at rounding level its step depends on that rounding.
    expected = adam_by_hand(params, loss_of, steps, learning_rate)
    np.testing.assert_allclose(np.asarray(model.sequence_table(fitted, SMALL)),
                               np.asarray(model.sequence_table(expected, SMALL)), atol=1e-4)
    # The fit moved the model: the check is not of an unchanged start.
    moved = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
                for a, b in zip(jax.tree_util.tree_leaves(params),
                                jax.tree_util.tree_leaves(fitted), strict=True))
    assert moved > 1e-3


def numpy_losses(margins, labels, logistic):
    if not logistic:
        return (margins - labels) ** 2
    preference = 1 / (1 + np.exp(-labels))
    return -(preference * np.log(1 / (1 + np.exp(-margins)))
             + (1 - preference) * np.log(1 / (1 + np.exp(margins))))


@pytest.mark.parametrize("logistic", [False, True])
def test_losses_agree_with_numpy_on_fixed_data(params, logistic):
    margins = np.array([-2.0, -0.3, 0.0, 0.7, 3.0])
    labels = np.array([1.0, -0.3, 0.0, 2.5, -1.0])
    np.testing.assert_allclose(np.asarray(model.pair_losses(jnp.asarray(margins),
                                                            jnp.asarray(labels), logistic)),
                               numpy_losses(margins, labels, logistic), rtol=1e-12)
    # The floor is the value at z = l; both losses are smallest there.
    floor = np.asarray(model.pair_loss_floor(jnp.asarray(labels), logistic))
    for shift in (-0.5, 0.5):
        assert np.all(numpy_losses(labels + shift, labels, logistic) > floor)
    # The round's loss on a fixed dataset, from the tables in NumPy.
    previous = model.init_params(jax.random.key(5), SMALL)
    previous_table = np.asarray(model.sequence_table(previous, SMALL))
    table = np.asarray(model.sequence_table(params, SMALL))
    x = np.array([0, 1, 1, 0, 1])
    y, y_prime = np.array([3, 7, 26, 0, 5]), np.array([4, 7, 1, 13, 20])
    triples = Triples(jnp.asarray(x), jnp.asarray(y), jnp.asarray(y_prime),
                      jnp.array([True, True, True, True, False]))
    labels = jnp.asarray(previous_table[x, y] - previous_table[x, y_prime])
    beta = 0.7
    change = table - previous_table
    reference = numpy_losses(beta * (change[x, y] - change[x, y_prime]),
                             previous_table[x, y] - previous_table[x, y_prime], logistic)[:4]
    value = model.round_loss(params, SMALL, triples, labels, jnp.asarray(previous_table), beta,
                             logistic)
    np.testing.assert_allclose(float(value), reference.mean(), rtol=1e-5)


def test_kl_to_gibbs_is_zero_for_the_population_update_and_matches_numpy():
    rng = np.random.default_rng(0)
    table = np.log(rng.dirichlet(np.ones(6), size=3))
    rho = jnp.array([0.2, 0.3, 0.5])
    target = dynamics.population_update(jnp.asarray(table), 0.5)
    assert float(model.kl_to_gibbs(target, jnp.asarray(table), 0.5, rho)) < 1e-12
    other = np.log(rng.dirichlet(np.ones(6), size=3))
    gibbs = 3 * table - np.log(np.exp(3 * table).sum(axis=1, keepdims=True))
    expected = np.sum(np.asarray(rho) * np.sum(np.exp(other) * (other - gibbs), axis=1))
    np.testing.assert_allclose(float(model.kl_to_gibbs(jnp.asarray(other), jnp.asarray(table),
                                                       0.5, rho)), expected, rtol=1e-10)


def test_alpha_is_the_largest_token_probability_and_bounds_kappa(params):
    tables = model.conditional_tables(params, SMALL)
    alpha = np.asarray(model.token_top_probability(tables))
    # Independently: the largest next-token probability over every prefix, by teacher forcing.
    for prompt in range(2):
        best = 0.0
        for prefix_length in range(3):
            for prefix in itertools.product(range(3), repeat=prefix_length):
                inputs = jnp.array([[3 + prompt, *prefix, *[0] * (2 - prefix_length)]])
                logits = np.asarray(model.next_token_logits(params, SMALL, inputs))[0,
                                                                                    prefix_length]
                probs = np.exp(logits - logits.max())
                best = max(best, (probs / probs.sum()).max())
        assert abs(alpha[prompt] - best) < 1e-6
    rho = jnp.array([0.5, 0.5])
    kappa = float(metrics.condition_number(model.sequence_table(params, SMALL), rho))
    assert float(model.alpha_bound(jnp.asarray(alpha), rho, 3)) <= kappa + 1e-9


def test_one_round_with_plenty_of_data_reaches_the_gibbs_target():
    """Stated tolerance: with n = 20 000 triples on a single prompt (64 responses) and 400 Adam
    steps, the fitted model is within 1e-3 nats of pi_0^(1+1/beta) (it starts 0.45 nats away)."""
    architecture = model.Architecture(num_prompts=1)
    params0 = model.init_params(jax.random.key(3), architecture, 2.0)
    table0 = model.sequence_table(params0, architecture)
    start = float(model.kl_to_gibbs(table0, table0, 1.0, jnp.ones(1)))
    starts = model.instances(params0, architecture, [1.0], steps=400, learning_rate=0.01)
    trajectory = dynamics.run_grid(jax.random.key(4), starts, [20_000], [1.0], T=1, seeds=1)
    kl = np.asarray(trajectory.extra["step_kl_to_gibbs"])[..., 0].ravel()
    assert start > 0.3
    assert np.all(kl < 1e-3), kl
    # The fitted condition number is the Gibbs target's.
    target = dynamics.population_update(table0, 1.0)
    kappa_target = float(metrics.condition_number(target, jnp.ones(1)))
    np.testing.assert_allclose(np.asarray(trajectory.kappa)[..., 1].ravel(), kappa_target,
                               rtol=0.02)


def test_loop_is_deterministic_for_a_key_and_compiles_once(params):
    rho = [0.5, 0.5]

    def loop(key, n_values=(4, 16), betas=(0.5, 1.0), T=2, steps=5, losses=model.LOSSES,
             learning_rate=0.02):
        starts = model.instances(params, SMALL, rho, losses=losses, steps=steps,
                                 learning_rate=learning_rate)
        return dynamics.run_grid(jax.random.key(key), starts, list(n_values), list(betas), T=T,
                                 seeds=2)

    first, again, other = loop(1), loop(1), loop(2)
    for name, value in first._asdict().items():
        for part, repeated in zip(jax.tree_util.tree_leaves(value),
                                  jax.tree_util.tree_leaves(getattr(again, name)), strict=True):
            np.testing.assert_array_equal(np.asarray(part), np.asarray(repeated))
    assert not np.array_equal(np.asarray(first.kappa), np.asarray(other.kappa))
    assert np.asarray(first.kappa).shape == (2, 2, 2, 2, 3)
    assert np.asarray(first.extra["step_kl_to_gibbs"]).shape == (2, 2, 2, 2, 2)
    # Moving n, beta, the rounds, the Adam steps, the learning rate or the order of the losses
    # reuses the compiled simulation (the architecture is static, the rest are arrays).
    before = dynamics.compile_count()
    loop(1, n_values=(2, 9), betas=(2.0, 3.0), T=1, steps=7, losses=["logistic", "square"],
         learning_rate=0.05)
    assert dynamics.compile_count() == before
    # Rounds after T leave the model as it is; round 1 is the same with T = 1 and T = 2.
    short = loop(1, T=1)
    np.testing.assert_array_equal(np.asarray(short.kappa), np.asarray(first.kappa)[..., :2])


@pytest.mark.parametrize("overrides, message", [
    ({"losses": ["hinge"]}, "losses"),
    ({"steps": -1}, "steps"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"rho": [1.0]}, "rho"),
])
def test_bad_instance_names_the_parameter(params, overrides, message):
    arguments = {"losses": model.LOSSES, "steps": 2, "learning_rate": 0.02, "rho": [0.5, 0.5],
                 **overrides}
    rho = arguments.pop("rho")
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        model.instances(params, SMALL, rho, **arguments)


def test_bad_runs_name_the_parameter(params):
    starts = model.instances(params, SMALL, [0.5, 0.5], steps=2)
    with pytest.raises(ValueError, match="params must have"):
        model.instance(model.init_params(jax.random.key(0), model.Architecture()), SMALL,
                       [0.5, 0.5], steps=1)
    with pytest.raises(ValueError, match=re.escape("update must be 'erm'")):
        dynamics.run_grid(jax.random.key(0), starts, [4], [1.0], T=1, seeds=1,
                          update="population")
    with pytest.raises(ValueError, match=re.escape("n (triples per round)")):
        dynamics.run_grid(jax.random.key(0), starts, [0], [1.0], T=1, seeds=1)
    with pytest.raises(ValueError, match="beta"):
        dynamics.run_grid(jax.random.key(0), starts, [4], [-1.0], T=1, seeds=1)
    with pytest.raises(TypeError, match="key"):
        dynamics.run_grid(0, starts, [1], [1.0], T=1, seeds=1)


def test_bad_architecture_names_the_size():
    with pytest.raises(ValueError, match="heads must divide width"):
        model.check_architecture(model.Architecture(width=10, heads=3))
    with pytest.raises(ValueError, match="vocabulary"):
        model.check_architecture(model.Architecture(vocabulary=1))
