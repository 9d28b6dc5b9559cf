"""Tests of the autoregressive models (srlm_kit.instances) and of the experiments of the chapter
"Measuring failure" (srlm_kit.experiments.failure), against independent computations."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference_numpy as ref
from srlm_kit import instances, metrics
from srlm_kit.experiments import failure

# --------------------------------------------------------------------------------------------
# Autoregressive models, against plain Python products over all sequences
# --------------------------------------------------------------------------------------------


def _probabilities_by_enumeration(model: instances.AutoregressiveModel) -> dict[tuple, float]:
    """pi(y) = prod_h pi_h(y_h | y_<h), by looping over every sequence (independent of the kit)."""
    tables = [np.exp(np.asarray(table)) for table in model.log_conditionals]
    vocabulary = tables[0].shape[1]
    result = {}
    for tokens in itertools.product(range(vocabulary), repeat=len(tables)):
        probability, prefix = 1.0, 0
        for table, token in zip(tables, tokens, strict=True):
            probability *= table[prefix, token]
            prefix = prefix * vocabulary + token
        result[tokens] = probability
    return result


def _greedy_by_loop(model: instances.AutoregressiveModel) -> tuple:
    tables = [np.exp(np.asarray(table)) for table in model.log_conditionals]
    vocabulary, prefix, tokens = tables[0].shape[1], 0, []
    for table in tables:
        token = int(np.argmax(table[prefix]))
        tokens.append(token)
        prefix = prefix * vocabulary + token
    return tuple(tokens)


@pytest.mark.parametrize("vocabulary, length", [(2, 1), (3, 3), (4, 2)])
def test_sequence_probabilities_are_the_products_of_the_conditionals(vocabulary, length):
    model = instances.random_autoregressive(jax.random.key(vocabulary), vocabulary, length, 0.7)
    log_probs = np.asarray(instances.sequence_log_probs(model))
    expected = _probabilities_by_enumeration(model)
    assert log_probs.shape == (vocabulary**length,)
    for tokens, probability in expected.items():
        index = int(instances.sequence_index(np.asarray(tokens), vocabulary))
        assert math.isclose(math.exp(log_probs[index]), probability, rel_tol=1e-12)
        assert tuple(np.asarray(instances.sequence_tokens(index, vocabulary, length))) == tokens
    assert math.isclose(float(np.exp(log_probs).sum()), 1.0, rel_tol=1e-12)


def test_trap_of_proposition_4_3():
    p, lead, vocabulary, length = 0.4, 0.05, 3, 4
    model = instances.autoregressive_trap(vocabulary, length, p, lead)
    probabilities = _probabilities_by_enumeration(model)
    optimal = (1,) * length
    assert math.isclose(probabilities[optimal], p, rel_tol=1e-12)
    others = [value for tokens, value in probabilities.items() if tokens != optimal]
    assert max(others) < p  # y* is the unique most likely sequence, with probability <= 1/2
    greedy = tuple(int(token) for token in np.asarray(instances.greedy_decode(model)))
    assert greedy == _greedy_by_loop(model) == (0,) * length
    assert sum(a != b for a, b in zip(greedy, optimal, strict=True)) == length
    # Every sequence that starts with the trap token is less likely than y*.
    assert max(value for tokens, value in probabilities.items() if tokens[0] == 0) < p
    # As a one-prompt tabular policy: kappa = 1/p and the failure event holds.
    start = instances.autoregressive_as_tabular(model)
    assert math.isclose(float(metrics.condition_number(start.logits, start.rho)), 1 / p,
                        rel_tol=1e-12)
    assert float(metrics.failure_probability(start.logits, start.rho)) == 1.0


@pytest.mark.parametrize("arguments, message", [
    ((3, 3, 0.6, 0.05), "p"),
    ((3, 3, 0.45, 0.2), "2p \\+ lead"),
    ((3, 1, 0.4, 0.05), "L"),
    ((4, 3, 0.2, 0.05), "first-step probability"),
    ((2, 3, 0.4, 0.1), "2p \\+ lead"),
    ((3, 2, 0.3, 0.5), "2p \\+ lead"),
    ((2, 2, 0.3, 0.4), "trap token"),
])
def test_trap_rejects_settings_where_it_is_not_a_trap(arguments, message):
    with pytest.raises(ValueError, match=message):
        instances.autoregressive_trap(*arguments)


@pytest.mark.parametrize("vocabulary, length, alpha", [(2, 3, 0.6), (4, 4, 0.5), (3, 6, 0.9)])
def test_constant_top_model_has_kappa_alpha_to_the_minus_L(vocabulary, length, alpha):
    model = instances.autoregressive_constant_top(vocabulary, length, alpha)
    start = instances.autoregressive_as_tabular(model)
    kappa = float(metrics.condition_number(start.logits, start.rho))
    assert math.isclose(kappa, alpha ** -length, rel_tol=1e-10)
    assert int(start.target[0]) == 0  # the sequence (0, ..., 0)


def test_constant_top_needs_a_unique_top_token():
    with pytest.raises(ValueError, match="alpha"):
        instances.autoregressive_constant_top(4, 3, 0.25)
    with pytest.raises(ValueError, match="alpha"):
        instances.autoregressive_constant_top(4, 3, 1.5)


def test_autoregressive_rejects_bad_tables():
    with pytest.raises(ValueError, match="shape"):
        instances.autoregressive([np.full((1, 2), 0.5), np.full((3, 2), 0.5)])
    with pytest.raises(ValueError, match="probability vector"):
        instances.autoregressive([np.array([[0.7, 0.7]])])
    with pytest.raises(ValueError, match="non-empty"):
        instances.autoregressive([])


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from([0.1, 0.2, 0.4]), st.integers(2, 4),
       st.integers(1, 4))
def test_greedy_returns_the_mode_when_it_has_more_than_half_the_mass(seed, temperature,
                                                                     vocabulary, length):
    """Huang et al., Proposition 3.1: pi(y*) > 1/2 implies greedy decoding returns y*."""
    model = instances.random_autoregressive(jax.random.key(seed), vocabulary, length,
                                            temperature)
    probabilities = _probabilities_by_enumeration(model)
    mode = max(probabilities, key=probabilities.get)
    if probabilities[mode] > 0.5:
        assert _greedy_by_loop(model) == mode
        assert tuple(int(t) for t in np.asarray(instances.greedy_decode(model))) == mode


def test_token_by_token_sampling_matches_the_sequence_probabilities():
    model = instances.autoregressive_trap(3, 3, 0.4, 0.05)
    samples = 40_000
    drawn = np.asarray(instances.sequence_index(
        instances.sample_sequences(jax.random.key(3), model, samples), 3))
    probabilities = np.exp(np.asarray(instances.sequence_log_probs(model)))
    counts = np.bincount(drawn, minlength=27)
    # Never a sequence of probability 0; every count within 5 binomial standard deviations.
    assert np.all(counts[probabilities == 0] == 0)
    deviation = np.abs(counts - samples * probabilities)
    assert np.all(deviation <= 5 * np.sqrt(samples * probabilities * (1 - probabilities)) + 1)
    again = instances.sample_sequences(jax.random.key(3), model, samples)
    assert np.array_equal(np.asarray(again), np.asarray(instances.sample_sequences(
        jax.random.key(3), model, samples)))


# --------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------


def test_greedy_trap_sequences_against_enumeration():
    result = failure.greedy_trap_sequences(p_values=(0.4,), leads=(0.05, 0.1), samples=5000)
    labels = result["sequence"].values.tolist()
    for j, lead in enumerate((0.05, 0.1)):
        expected = _probabilities_by_enumeration(instances.autoregressive_trap(3, 3, 0.4, lead))
        shown = result["probability"].values[0, j]
        for label, value in zip(labels, shown, strict=True):
            assert math.isclose(value, expected[tuple(int(c) for c in label)], abs_tol=1e-15)
        assert math.isclose(result["frequency"].values[0, j].sum(), 1.0, rel_tol=1e-12)
        optimal = [value for value in result["optimal"].values[0, j] if not math.isnan(value)]
        greedy = [value for value in result["greedy"].values[0, j] if not math.isnan(value)]
        assert optimal == [pytest.approx(0.4)] and greedy[0] < 0.4
    assert all(row["hamming_distance"] == 3 and row["greedy"] == "000" and row["optimal"] == "111"
               for row in result.attrs["summary"])
    assert failure.greedy_trap_sequences(p_values=(0.4,), leads=(0.05,), samples=100).equals(
        failure.greedy_trap_sequences(p_values=(0.4,), leads=(0.05,), samples=100))


def test_greedy_versus_mode_agrees_with_a_loop_over_the_same_models():
    result = failure.greedy_versus_mode(temperatures=(0.3,), models=40, length=3)
    row = {name: int(result[name][0]) for name in ("above_half", "missed_above_half",
                                                   "at_most_half", "missed_at_most_half")}
    keys = jax.random.split(jax.random.key(0), 40)
    above = missed_above = missed_below = 0
    for key in keys:
        model = instances.random_autoregressive(key, 3, 3, 0.3)
        probabilities = _probabilities_by_enumeration(model)
        mode = max(probabilities, key=probabilities.get)
        missed = _greedy_by_loop(model) != mode
        if probabilities[mode] > 0.5:
            above += 1
            missed_above += missed
        else:
            missed_below += missed
    assert (row["above_half"], row["missed_above_half"], row["missed_at_most_half"]) == (
        above, missed_above, missed_below)
    assert row["above_half"] + row["at_most_half"] == 40
    assert missed_above == 0
    with pytest.raises(ValueError, match="models"):
        failure.greedy_versus_mode(models=0)


def test_condition_number_family_against_the_numpy_reference():
    result = failure.condition_number_family(num_prompts=30, num_responses=(3, 6),
                                             temperatures=(0.1, 1.0, 10.0))
    normal = np.asarray(instances.random_logits(jax.random.key(0), 30, 6, 1.0).logits)
    rho = np.full(30, 1 / 30)
    for i, size in enumerate((3, 6)):
        for j, temperature in enumerate((0.1, 1.0, 10.0)):
            logits = normal[:, :size] / temperature
            assert math.isclose(result["kappa"][i][j], ref.condition_number(logits, rho),
                                rel_tol=1e-12)
            assert math.isclose(result["inverse_mu"][i][j],
                                1 / ref.min_confidence(logits, rho), rel_tol=1e-12)
            assert math.isclose(result["failure"][i][j], ref.failure_probability(logits, rho),
                                abs_tol=1e-12)
    kappa = np.asarray(result["kappa"])
    failure_probability = np.asarray(result["failure"])
    inverse_mu = np.asarray(result["inverse_mu"])
    sizes = np.asarray([[3], [6]])
    assert np.all((failure_probability <= kappa - 1 + 1e-12) & (kappa <= inverse_mu + 1e-12)
                  & (inverse_mu <= sizes + 1e-9) & (kappa >= 1))
    with pytest.raises(ValueError, match="temperatures"):
        failure.condition_number_family(temperatures=(0.0, 1.0))


def test_lemma_c1_thresholds_against_the_numpy_reference():
    kwargs = dict(num_prompts=12, num_responses=5, n_values=(20, 60), betas=(0.1,),
                  thresholds=(0.2, 0.5, 0.8), T=2, seeds=3)
    result = failure.lemma_c1_thresholds(**kwargs)
    assert result.equals(failure.lemma_c1_thresholds(**kwargs))  # deterministic
    # Recompute the first step of seed 0 at n = 60 from the same run, independently.
    from srlm_kit import dynamics

    start = instances.bump(12, 5, math.log(2.0))
    run = dynamics.run(jax.random.key(0), start, n=60, T=2, beta=0.1, seeds=3,
                       keep_logits=True)
    logits = np.asarray(run.logits)
    rho = np.asarray(start.rho)
    lhs, rhs = np.zeros((3, 3)), np.zeros((3, 3))
    for seed_index in range(3):
        before, after = logits[seed_index, 0], logits[seed_index, 1]
        mode = before.argmax(axis=1)
        after_probs = ref.probs(after)[np.arange(12), mode]
        gap = ref.performance_gap(after, before, rho)
        for k, s in enumerate((0.2, 0.5, 0.8)):
            lhs[seed_index, k] = rho[after_probs <= s].sum()
            rhs[seed_index, k] = gap / (ref.margin(before, rho) * (1 - s))
    assert np.allclose(result["lhs"].sel(band="mean")[1][0], lhs.mean(axis=0), atol=1e-12)
    assert np.allclose(result["rhs"].sel(band="mean")[1][0], rhs.mean(axis=0), rtol=1e-10)
    summary = result.attrs["summary"]
    assert summary["step_violations"] == 0 and summary["threshold_violations"] == 0
    assert summary["steps_checked"] == 2 * 1 * 3 * 2
    assert summary["threshold_pairs_checked"] == 2 * 1 * 3 * 3
    assert 0 < summary["largest_threshold_ratio"] <= 1
    assert math.isclose(summary["kappa0"], (2 + 4) / 2, rel_tol=1e-12)
    with pytest.raises(ValueError, match="seeds"):
        failure.lemma_c1_thresholds(**{**kwargs, "seeds": 0})
