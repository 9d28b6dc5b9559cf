"""Tests of the experiments of chapter 9 (srlm_kit.experiments.limits) against independent
computations: exact enumeration with the NumPy reference learner, closed forms of the Gibbs
update, and the kit's own simulation compared within standard errors."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

import reference_numpy as ref
from srlm_kit import bounds, instances, metrics, theory
from srlm_kit.experiments import EXPERIMENTS, sharpening
from srlm_kit.experiments import pooling as pooling_experiment
from srlm_kit.figures import pooling as pooling_figures
from srlm_kit.figures import sharpening as sharpening_figures

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
@pytest.mark.parametrize("beta", [0.02, 0.05, 0.1, 0.3, 0.5, 2.0])
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
# Closed forms of the exact update
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reward", bounds.REWARDS)
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_population_exponent_matches_repeated_gibbs_updates(reward, beta):
    """log pi_t(y) - log pi_t(y') = e_t (log pi_0(y) - log pi_0(y')), with the kit's update."""
    from srlm_kit import dynamics, policies

    start = np.log(np.array([[0.5, 0.3, 0.2]]))
    logits = start
    frozen = None if reward == "self" else np.asarray(policies.log_policy(start))
    for t in range(1, 5):
        logits = np.asarray(dynamics.population_update(logits, beta, frozen))
        if logits.min() <= ref.LOG_FLOOR:  # clipped below: the identity no longer applies
            break
        ratio = (logits[0, 1] - logits[0, 2]) / (start[0, 1] - start[0, 2])
        assert ratio == pytest.approx(float(bounds.population_exponent(t, beta, reward)),
                                      rel=1e-9)


def test_condition_excess_against_kappa_and_a_closed_form():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(7, 5))
    rho = rng.dirichlet(np.ones(7))
    assert metrics.condition_excess(logits, rho) == pytest.approx(
        ref.condition_number(logits, rho) - 1.0, rel=1e-12)
    # Far below float64's resolution at 1: (K - 1) e^(-b e) for a bump of height b, exponent e.
    K, b, e = 10, 0.6, 900.0
    bump = np.zeros((1, K))
    bump[0, 0] = b * e
    assert metrics.condition_excess(bump, np.ones(1)) == pytest.approx((K - 1) * math.exp(-b * e),
                                                                      rel=1e-10)
    assert ref.condition_number(bump, np.ones(1)) - 1.0 == 0.0  # what cancellation would give


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


FROZEN = {"num_prompts": 12, "num_responses": 6, "kappa0": 3.0, "n_values": (20, 80),
          "betas": (0.2, 1.0), "T": 4, "seeds": 4}


@pytest.fixture(scope="module")
def frozen():
    return EXPERIMENTS["self_versus_frozen_reward"](**FROZEN)


def test_self_and_frozen_coincide_on_the_first_round(frozen):
    """At t = 0 both rewards are log pi_0 and the data are the same: identical first step."""
    excess = np.asarray(frozen["excess"].sel(band="mean"), dtype=float)  # (reward, n, beta, t)
    assert np.allclose(excess[0, :, :, :2], excess[1, :, :, :2], rtol=1e-12, atol=0)
    assert np.all(excess[:, :, :, 0] == pytest.approx(FROZEN["kappa0"] - 1.0))


def test_population_excess_matches_the_closed_form(frozen):
    """Bump of height b: kappa_t - 1 = (K - 1) exp(-b e_t), e_t from population_exponent."""
    b, K = frozen.attrs["bump_height"], FROZEN["num_responses"]
    population = frozen["population_excess"].values
    for r, reward in enumerate(bounds.REWARDS):
        for j, beta in enumerate(FROZEN["betas"]):
            for t in range(FROZEN["T"] + 1):
                exponent = float(bounds.population_exponent(t, beta, reward))
                closed = (K - 1) * math.exp(-b * exponent) if b * exponent < 700 else 0.0
                assert population[r, j, t] == pytest.approx(closed, rel=1e-9, abs=1e-300)
    exponents = np.asarray(frozen["exponent"])
    assert np.all(exponents[0] >= exponents[1])  # self-reward sharpens at least as fast


def test_self_versus_frozen_is_deterministic_and_registered(frozen):
    assert sharpening.self_versus_frozen_reward(**FROZEN).equals(frozen)
    registered = EXPERIMENTS["self_versus_frozen_reward"].__wrapped__
    assert registered is sharpening.self_versus_frozen_reward
    assert EXPERIMENTS["rounds_versus_pooling"].__wrapped__ is (
        pooling_experiment.rounds_versus_pooling)


@pytest.mark.parametrize("arguments, error", [
    ({"kappa0": 12.0}, ValueError),  # needs 1 < kappa0 < K
    ({"T": 0}, ValueError),
    ({"n_values": (100, 50)}, ValueError),
    ({"n_values": (2.5,)}, TypeError),
    ({"betas": (-1.0,)}, ValueError),
])
def test_self_versus_frozen_rejects_bad_input(arguments, error):
    with pytest.raises(error):
        sharpening.self_versus_frozen_reward(**{**FROZEN, **arguments})


def test_closed_form_helpers_reject_bad_input():
    with pytest.raises(ValueError, match="reward"):
        bounds.population_exponent(1, 0.5, "judge")
    with pytest.raises(ValueError, match="n"):
        bounds.hard_instance_expected_failure(-1, **SMALL)
    with pytest.raises(ValueError, match="M"):
        instances.secret_probability(2)


# --------------------------------------------------------------------------------------------
# SymPy derivations
# --------------------------------------------------------------------------------------------


def test_exponent_recursions_solve_to_the_numeric_exponents():
    import sympy as sp

    derivation = theory.exponent_recursions()
    steps = dict(derivation.steps)
    beta, t = sp.Symbol("beta", positive=True), sp.Symbol("t", integer=True, nonnegative=True)
    exponent = sp.Function("E")
    recursions = [equation for description, equation in derivation.steps
                  if description.startswith(("Self-reward r_t", "Frozen reward r ="))]
    solutions = [equation.rhs for description, equation in derivation.steps
                 if description.startswith("Solution")]
    assert len(recursions) == len(solutions) == 2 and steps
    for recursion, solution, reward in zip(recursions, solutions, bounds.REWARDS, strict=True):
        # The solution satisfies its recursion and starts at E_0 = 1 ...
        residual = recursion.lhs.subs(exponent(t + 1), solution.subs(t, t + 1)) - \
            recursion.rhs.subs(exponent(t), solution)
        assert sp.simplify(residual) == 0 and sp.simplify(solution.subs(t, 0)) == 1
        # ... and equals population_exponent, which the experiment uses.
        function = sp.lambdify((t, beta), solution)
        for t_value in range(6):
            for beta_value in (0.1, 0.5, 3.0):
                assert function(t_value, beta_value) == pytest.approx(
                    float(bounds.population_exponent(t_value, beta_value, reward)), rel=1e-12)


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


def _check_figure(figure, result, experiment, kwargs):
    import itertools
    import json

    from srlm_kit.figures import expected_traces

    layout = figure.figure.layout
    meta = layout.meta["srlm"]
    assert meta["experiment"] == experiment and meta["kwargs"] == kwargs
    trace_metas = [trace.meta for trace in figure.figure.data]
    steps = [[json.loads(step.value) for step in slider.steps] for slider in layout.sliders]
    for active in itertools.product(*(range(len(values)) for values in steps)):
        setting = dict(zip(meta["sliders"], (values[k] for values, k in zip(
            steps, active, strict=True)), strict=True))
        expected = expected_traces(result, meta, trace_metas, setting)
        for index, shown in figure.traces_at(list(active)).items():
            np.testing.assert_allclose(np.asarray(shown, dtype=float), expected[index],
                                       rtol=5.0001e-4, atol=1e-300)
    assert len(figure.description) > 100 and len(figure.to_html()) < 80_000


def test_pooling_figure_shows_the_experiment(pooling):
    _check_figure(pooling_figures.rounds_versus_pooling(pooling), pooling,
                  "rounds_versus_pooling", POOLING)


def test_frozen_figure_shows_the_experiment(frozen):
    _check_figure(sharpening_figures.self_versus_frozen_reward(frozen), frozen,
                  "self_versus_frozen_reward", FROZEN)
