"""Rounds against pooling on the hard instance (srlm_kit.experiments.pooling) and the closed forms
behind it (srlm_kit.bounds), against independent computations: exact enumeration with the NumPy
reference learner, SymPy, and the kit's own simulation compared within standard errors."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

import reference_numpy as ref
from figure_checks import check_every_setting
from srlm_kit import bounds, instances, metrics, theory
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments import pooling as pooling_experiment
from srlm_kit.figures import pooling as pooling_figures

# --------------------------------------------------------------------------------------------
# The hard instance: exact enumeration of every possible dataset with the reference learner
# --------------------------------------------------------------------------------------------

SMALL = {"k": 2, "M": 5, "Delta": 0.3}


def _small_instance():
    start = instances.hard_instance(jax.random.key(3), SMALL["k"], SMALL["M"], SMALL["Delta"])
    return ref.log_softmax(np.asarray(start.logits)), np.asarray(start.rho)


def _triples(logits, rho):
    """Every triple (x, y, y') with its probability rho(x) pi(y|x) pi(y'|x) > 0."""
    policy = ref.probs(logits)
    return [((x, y, z), rho[x] * policy[x, y] * policy[x, z])
            for x, y, z in itertools.product(range(len(rho)), range(policy.shape[1]),
                                             range(policy.shape[1]))
            if rho[x] * policy[x, y] * policy[x, z] > 0]


def _expected_failure_pooled(logits, rho, beta, total):
    """One round of ``total`` triples, every dataset enumerated."""
    expected = 0.0
    for combination in itertools.product(_triples(logits, rho), repeat=total):
        weight = math.prod(probability for _, probability in combination)
        x, y, z = zip(*(triple for triple, _ in combination), strict=True)
        updated = ref.erm_update(logits, list(x), list(y), list(z), beta)
        expected += weight * ref.failure_probability(updated, rho)
    return expected


def _expected_failure_rounds(logits, rho, beta, rounds):
    """``rounds`` rounds of one triple each, every path enumerated (on-policy resampling)."""
    if rounds == 0:
        return ref.failure_probability(logits, rho)
    expected = 0.0
    for (x, y, z), probability in _triples(logits, rho):
        updated = ref.erm_update(logits, [x], [y], [z], beta)
        expected += probability * _expected_failure_rounds(updated, rho, beta, rounds - 1)
    return expected


@pytest.mark.parametrize("beta", [0.05, 0.2])
def test_pooled_closed_form_matches_enumeration_for_one_and_two_triples(beta):
    logits, rho = _small_instance()
    assert bounds.solved_by_one_pair(SMALL["M"], beta)
    for total in (1, 2):
        exact = _expected_failure_pooled(logits, rho, beta, total)
        assert bounds.hard_instance_expected_failure(total, **SMALL) == pytest.approx(exact,
                                                                                      rel=1e-12)


def test_two_rounds_of_one_triple_equal_one_round_of_two():
    logits, rho = _small_instance()
    beta = 0.05
    two_rounds = _expected_failure_rounds(logits, rho, beta, 2)
    assert two_rounds == pytest.approx(_expected_failure_pooled(logits, rho, beta, 2), rel=1e-12)
    assert two_rounds == pytest.approx(bounds.hard_instance_expected_failure(2, **SMALL), rel=1e-12)


@pytest.mark.parametrize("M", [5, 10, 20, 40])
@pytest.mark.parametrize("beta", [1e-6, 0.02, 0.05, 0.1, 0.3, 0.5, 2.0, 1e6])
def test_solved_by_one_pair_predicts_the_reference_learner(M, beta):
    """The worst case, a group of two (secret, other), on one informative prompt."""
    logits, rho = (ref.log_softmax(np.asarray(array)) if index == 0 else np.asarray(array)
                   for index, array in enumerate(_hard(M)))
    secret = int(np.argmax(logits[1]))
    other = 1 if secret != 1 else 2
    updated = ref.erm_update(logits, [1], [secret], [other], beta)
    solved = ref.probs(updated)[1].max() > 0.5
    assert bounds.solved_by_one_pair(M, beta) == solved


def _hard(M):
    start = instances.hard_instance(jax.random.key(0), 1, M, 0.5)
    return start.logits, start.rho


def test_secret_probability_is_the_instances():
    start = instances.hard_instance(jax.random.key(0), 3, 12, 0.4, gamma_bar=0.3)
    top = np.asarray(metrics.top_probability(start.logits))[1:]  # the informative prompts
    assert np.allclose(top, instances.secret_probability(12, 0.3), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# The experiments
# --------------------------------------------------------------------------------------------

POOLING = {"totals": (8, 32, 128, 512), "rounds": (1, 2, 4), "seeds": 24}


@pytest.fixture(scope="module")
def pooling():
    return EXPERIMENTS["rounds_versus_pooling"](**POOLING)


def test_rounds_versus_pooling_agrees_with_the_closed_form_at_small_beta(pooling):
    """At beta = 0.05 every split's mean lies within 4 standard errors of the closed form.

    A run's failure is (Delta/k) U with U the number of unsolved informative prompts; the
    indicators are negatively correlated, so Var U <= k P (1 - P) with P = E[fail]/Delta."""
    params = pooling.attrs
    assert params["solved_by_one_pair"] == [True, False]
    expected = np.asarray(pooling["pooled_expected"])
    P = expected / params["Delta"]
    error = (params["Delta"] / params["k"]) * np.sqrt(params["k"] * P * (1 - P) / params["seeds"])
    small_beta = np.asarray(pooling["split"].sel(band="mean"), dtype=float)[:, 0, :]  # (T, N)
    assert np.all(np.abs(small_beta - expected) <= 4 * error + 1e-12), (small_beta, expected)


def test_rounds_versus_pooling_fields(pooling):
    split = np.asarray(pooling["split"].sel(band="mean"), dtype=float)
    assert np.array_equal(split[0], np.asarray(pooling["pooled"].sel(band="mean"), dtype=float))
    lower = np.asarray(pooling["split"].sel(band="lower"), dtype=float)
    upper = np.asarray(pooling["split"].sel(band="upper"), dtype=float)
    assert np.all(lower <= split + 1e-15) and np.all(split <= upper + 1e-15)
    assert np.all((split >= 0) & (split <= pooling.attrs["Delta"] + 1e-12))
    # beta = 0.5: one round never solves a prompt (the update is too small).
    assert np.all(split[0, 1] == pytest.approx(pooling.attrs["Delta"]))
    # No run's failure rose between rounds at beta = 0.05 (no solved prompt relapsed).
    assert pooling.attrs["runs_with_rising_failure"][0] == 0
    assert pooling.attrs["kappa0"] == pytest.approx(
        instances.hard_instance_kappa0(20, 0.25))


def test_rounds_versus_pooling_is_deterministic(pooling):
    assert pooling_experiment.rounds_versus_pooling(**POOLING).equals(pooling)


@pytest.mark.parametrize("arguments, message", [
    ({"totals": (8, 12), "rounds": (1, 8)}, "divide"),
    ({"rounds": (2, 4)}, "start at 1"),
    ({"totals": (32, 16)}, "strictly increasing"),
    ({"seeds": 1}, "seeds"),
    ({"betas": (0.0,)}, "beta"),
    ({"Delta": 1.5}, "Delta"),
])
def test_rounds_versus_pooling_rejects_bad_input(arguments, message):
    with pytest.raises(ValueError, match=message):
        pooling_experiment.rounds_versus_pooling(**arguments)


def test_closed_form_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="n"):
        bounds.hard_instance_expected_failure(-1, **SMALL)
    with pytest.raises(ValueError, match="M"):
        instances.secret_probability(2)


# --------------------------------------------------------------------------------------------
# SymPy derivations
# --------------------------------------------------------------------------------------------


def test_pooling_identity_is_the_closed_form_and_its_rate():
    import sympy as sp

    derivation = theory.pooling_identity()
    expected_expression = derivation.result.rhs
    hit = dict(derivation.steps)[next(description for description, _ in derivation.steps
                                      if description.startswith("Probability"))].rhs
    symbols = {symbol.name: symbol
               for symbol in expected_expression.free_symbols | hit.free_symbols}
    k, M, Delta = 10, 20, 0.25
    p = instances.secret_probability(M)
    for n, T in ((16, 1), (32, 4), (128, 8)):
        value = expected_expression.subs(symbols["P_hit"], hit).subs(
            {symbols["Delta"]: Delta, symbols["k"]: k, symbols["p_secret"]: p, symbols["n"]: n,
             symbols["T"]: T})
        assert float(value) == pytest.approx(
            float(bounds.hard_instance_expected_failure(n * T, k=k, M=M, Delta=Delta)), rel=1e-12)
    rate = derivation.steps[-1][1].rhs
    assert sp.simplify(rate + 4 * sp.Symbol("Delta", positive=True)
                       / sp.Symbol("k", positive=True)) == 0


# --------------------------------------------------------------------------------------------
# Figures show the experiments' numbers for every slider setting
# --------------------------------------------------------------------------------------------


def test_pooling_figure_shows_the_experiment(pooling):
    check_every_setting(pooling_figures.rounds_versus_pooling(pooling), pooling,
                        "rounds_versus_pooling", POOLING)


