"""Chapter 8's experiments and their helpers, against independent computations.

Closed forms (the bump under the exact update, the coverage law), the NumPy reference of
``tests/reference_numpy.py`` (exact update, minimum-norm ERM), SymPy (the derivations'
results evaluated against the numeric helpers), brute force (the judge's favourite), and the
kit's own Theorem 5.3 bound. Experiments are run at small sizes that share one compiled
simulation (and one for the judge), so the whole file stays fast.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout

import jax
import numpy as np
import pytest
import sympy as sp
import xarray as xr

import reference_numpy as ref
from srlm_kit import bounds, cli, dynamics, instances, metrics, theory
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS, common, judges, near_ties, sharpening
from srlm_kit.figures import judges as judge_figures
from srlm_kit.figures import near_ties as near_tie_figures
from srlm_kit.figures import sharpening as sharpening_figures
from srlm_kit.figures.core import expected_traces

#: Small shapes shared by every experiment run here (one compiled simulation for all of them).
SMALL = {"num_prompts": 12, "num_responses": 6, "T": 3, "seeds": 3}


def strict_json(result: xr.Dataset) -> xr.Dataset:
    """The result, after checking that its command-line form is strict JSON (no NaN, no
    infinity)."""
    json.dumps(dataset_json(result), allow_nan=False)
    return result


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_condition_excess_is_kappa_minus_one_and_exact_where_kappa_rounds_to_one():
    rng = np.random.default_rng(0)
    logits, rho = rng.normal(size=(7, 5)) * 2, rng.dirichlet(np.ones(7))
    excess = float(metrics.condition_excess(logits, rho))
    assert excess == pytest.approx(ref.condition_number(logits, rho) - 1, rel=1e-12)
    # A policy with odds e^-60 against the mode: kappa - 1 is 4 e^-60 (not 0, as 1/max - 1 is).
    sharp = np.array([[60.0, 0.0, 0.0, 0.0, 0.0]])
    assert float(metrics.condition_excess(sharp, np.ones(1))) == pytest.approx(
        4 * math.exp(-60), rel=1e-12)
    assert float(metrics.condition_number(sharp, np.ones(1))) - 1 < 1e-20
    # A two-way tie counts the other tied response with ratio 1.
    tie = np.array([[1.0, 1.0, -50.0]])
    assert float(metrics.condition_excess(tie, np.ones(1))) == pytest.approx(1 + math.exp(-51),
                                                                           rel=1e-12)


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_population_logits_are_the_reference_exact_update_and_the_bump_closed_form(beta):
    start = instances.bump(4, 6, math.log(2))
    iterates = common.population_logits(start.logits, beta, 4)
    current = np.asarray(start.logits)
    for t in range(5):
        np.testing.assert_allclose(iterates[t], ref.log_softmax(current), atol=1e-10)
        current = ref.population_update(current, beta)
    excess = [float(metrics.condition_excess(values, start.rho)) for values in iterates]
    closed = bounds.bump_population_margin_and_excess(math.log(2), 6, beta, np.arange(5))[1]
    representable = closed > 1e-300
    np.testing.assert_allclose(np.asarray(excess)[representable], closed[representable],
                               rtol=1e-9)


def test_bump_derivation_evaluates_to_the_closed_form_and_its_ratio_is_one_plus_one_over_beta():
    derivation = theory.bump_population_excess()
    K, b = sp.Symbol("K", positive=True, integer=True), sp.Symbol("h", positive=True)
    formula = sp.lambdify((K, b, theory.beta, theory.T), derivation.result.rhs, "numpy")
    for beta, rounds in [(0.5, 3), (0.1, 1), (2.0, 5)]:
        assert formula(20, math.log(2), beta, rounds) == pytest.approx(
            float(bounds.bump_population_margin_and_excess(math.log(2), 20, beta, rounds)[1]),
            rel=1e-12)
    steps = dict(derivation.steps)
    ratio = steps["Ratio of successive decreases: constant, so the decreases grow geometrically"]
    assert sp.simplify(ratio.rhs - (1 + 1 / theory.beta)) == 0
    decrease = steps["Its logarithm decreases by the same amount every round (single exponential)"]
    assert sp.simplify(decrease.rhs - sp.log(1 + sp.sqrt(theory.n * theory.mu)) / 2) == 0


def test_near_tie_start_has_margin_gamma0_and_irrationally_spaced_competitors():
    start = instances.near_tie(5, 8, 4, 0.01, height=3.0)
    logits = np.asarray(start.logits)
    assert float(metrics.margin(start.logits, start.rho)) == pytest.approx(0.01, rel=1e-9)
    assert np.array_equal(np.argmax(logits, axis=1), np.arange(5) % 8)
    gaps = np.sort(3.0 - logits[0][logits[0] > 0])[1:] / 0.01
    np.testing.assert_allclose(gaps, [1.0, math.sqrt(2), math.sqrt(3)], rtol=1e-9)
    assert float(metrics.condition_number(start.logits, start.rho)) == pytest.approx(
        ref.condition_number(logits, np.full(5, 0.2)), rel=1e-12)


def test_near_tie_rounds_value_is_the_derivation_and_suffices_for_the_exact_update():
    derivation = theory.near_tie_rounds()
    K, gamma0, c = (sp.Symbol("K", positive=True, integer=True),
                    sp.Symbol("gamma_0", positive=True), sp.Symbol("c", positive=True))
    formula = sp.lambdify((K, gamma0, c), derivation.result.rhs, "numpy")
    for margin in (1e-4, 0.03, 0.5):
        expected = bounds.near_tie_rounds_value(20, margin, 0.5)
        assert formula(20, margin, 3.0) == pytest.approx(float(expected), rel=1e-12)
        # After the first whole number of rounds above it, no prompt fails (exact update).
        start = instances.near_tie(4, 20, 5, margin)
        rounds = math.floor(float(expected)) + 1
        final = common.population_logits(start.logits, 0.5, rounds)[-1]
        assert float(metrics.failure_probability(final, start.rho)) == 0.0


def test_coverage_law_is_the_derivation_and_matches_the_reference_update():
    derivation = theory.coverage_derivation()
    p, m = sp.Symbol("p_0", positive=True), sp.Symbol("m", positive=True, integer=True)
    formula = sp.lambdify((p, m, theory.n, theory.T), derivation.result.rhs, "numpy")
    assert formula(2 / 21, 100, 300, 2) == pytest.approx(
        float(bounds.coverage_failure(300, 2, num_prompts=100, mode_probability=2 / 21)),
        rel=1e-12)
    # The mechanism, with the NumPy reference ERM: one round at a small beta makes every
    # covered mode dominant and leaves every other prompt exactly as it was.
    m, K, beta = 30, 6, 0.01
    start = instances.bump(m, K, math.log(2))
    logits = np.asarray(start.logits)
    rng = np.random.default_rng(3)
    x, y, y_prime = ref.sample_numpy(rng, logits, np.full(m, 1 / m), 60)
    updated = ref.probs(ref.erm_update(logits, x, y, y_prime, beta))
    modes = np.asarray(start.target)
    covered = np.zeros(m, dtype=bool)
    for xi, a, b in zip(x, y, y_prime, strict=True):
        covered[xi] |= (a != b) and modes[xi] in (a, b)
    assert covered.any() and (~covered).any()
    assert np.all(updated[covered, :].max(axis=1) > 0.5)
    np.testing.assert_allclose(updated[~covered], ref.probs(logits)[~covered], atol=1e-12)


def test_coverage_law_matches_simulated_failure_within_sampling_error():
    m, K, T = SMALL["num_prompts"], SMALL["num_responses"], SMALL["T"]
    start = instances.bump(m, K, math.log(2))
    p = float(np.exp(np.max(ref.log_softmax(np.asarray(start.logits))[0])))
    n, calls = 30, 24  # 24 calls of 3 seeds at the shared small shapes: 72 runs
    failures = np.concatenate([np.asarray(common.simulate(
        jax.random.key(100 + call), start, n=n, beta=0.01, T=T, seeds=SMALL["seeds"]).failure)
        for call in range(calls)])
    seeds = failures.shape[0]
    observed = failures[:, 1:].mean(axis=0)
    predicted = bounds.coverage_failure(n, np.arange(1, T + 1), num_prompts=m,
                                        mode_probability=p)
    error = np.sqrt(predicted * (1 - predicted) / (m * seeds))
    assert np.all(np.abs(observed - predicted) < 4 * error + 1e-3), (observed, predicted)


@pytest.mark.parametrize("beta", [0.02, 0.1, 0.3, 1.0])
def test_dominance_condition_is_the_worst_case_of_the_reference_update(beta):
    # Component {mode, y} (the worst case j = 1): the mode's new top probability, computed by
    # the NumPy reference ERM, exceeds 1/2 exactly when the condition says so.
    K, b = 8, math.log(2)
    logits = np.zeros((1, K))
    logits[0, 0] = b
    updated = ref.probs(ref.erm_update(logits, np.array([0]), np.array([0]), np.array([1]),
                                       beta))
    assert bool(bounds.dominant_after_cover(K, b, beta)) == (updated[0].max() > 0.5)


def test_favourite_is_correct_is_the_brute_force_condition():
    rng = np.random.default_rng(5)
    quality = np.eye(7)[rng.integers(0, 7, size=40)]
    length = rng.uniform(size=(40, 7))
    truth = np.argmax(quality, axis=1)
    for bias in (0.0, 0.7, 1.3, 4.0):
        hacked = np.array([any(bias * (length[x, y] - length[x, truth[x]]) > 1
                               for y in range(7)) for x in range(40)])
        np.testing.assert_array_equal(bounds.favourite_is_correct(quality, length, bias), ~hacked)


def test_judge_composition_many_rounds_equal_one_round_at_beta_over_t():
    # The derivation's noise-free recursion: T exact rounds with a fixed reward at beta are one
    # round at beta/T (compared with the reference Gibbs policy pi_0 exp(T r/beta)).
    rng = np.random.default_rng(6)
    logits, reward = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    many = common.population_logits(logits, 0.4, 7, reward)[-1]
    gibbs = ref.probs(logits) * np.exp(7 * reward / 0.4)
    gibbs /= gibbs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(many), gibbs, rtol=1e-9)
    one = dynamics.population_update(logits, 0.4 / 7, reward)
    np.testing.assert_allclose(np.exp(np.asarray(one)), gibbs, rtol=1e-9)
    steps = dict(theory.judge_composition().steps)
    variance = steps["... and variance (fresh, independent noise on each response and round)"]
    sigma = sp.Symbol("sigma", positive=True)
    rounds = sp.Symbol("T", positive=True, integer=True)
    assert sp.simplify(variance.rhs - 2 * rounds * sigma**2 / theory.beta**2) == 0
    assert theory.judge_composition().result.rhs == 1


# --------------------------------------------------------------------------------------------
# Experiments at small sizes
# --------------------------------------------------------------------------------------------


SMALL_SETTINGS = {
    "population_versus_samples": dict(n_values=(8, 40, 96), betas=(0.2, 1.0), rate_rounds=2),
    "consistency_not_correctness": dict(agreements=(0.25, 0.5), n_values=(8, 96), betas=(0.3,)),
    "judge_bias_and_noise": dict(biases=(0.0, 3.0), noises=(0.0, 1.0), n_values=(96,),
                                 initial_agreement=0.5),
    "margin_collapse": dict(gamma0s=(0.01, 0.3), tied=(2, 3), n=40),
    "beta_regimes": dict(n_values=(16, 96), scales=(0.5, 1.0)),
}


@pytest.fixture(scope="module")
def small():
    """Every experiment at small sizes, computed once for this file."""
    return {name: EXPERIMENTS[name](**settings, **SMALL)
            for name, settings in SMALL_SETTINGS.items()}


@pytest.fixture(scope="module")
def population_runs(small):
    return small["population_versus_samples"]


def test_population_versus_samples_values(population_runs):
    result = strict_json(population_runs)
    params = result.attrs
    population = result["population_excess"].values
    closed = bounds.bump_population_margin_and_excess(params["height"], params["num_responses"],
                                                      np.asarray([0.2, 1.0])[:, None],
                                                      np.arange(SMALL["T"] + 1)[None, :])[1]
    representable = closed > 1e-300
    np.testing.assert_allclose(population[representable], closed[representable], rtol=1e-9)
    excess = np.asarray(result["excess"].sel(band="mean"), dtype=float)
    assert np.all(excess >= population[None] * (1 - 1e-9))
    assert np.allclose(excess[..., 0], params["kappa0"] - 1, rtol=1e-12)
    # The reference line loses the transient factor every round.
    mu = result["mu_min"].values
    reference = result["transient_reference"].values
    q = bounds.reviewer_contraction_factor(np.asarray([8, 40, 96])[:, None], mu[..., -1])
    np.testing.assert_allclose(reference[..., 2] / reference[..., 1], np.sqrt(q), rtol=1e-9)
    # The bound field is the kit's Theorem 5.3 at the recorded mu and gamma.
    gamma = result["gamma_min"].values
    expected = bounds.theorem_5_3_bound(96, 2, log_class_size=0.0, delta=common.DELTA,
                                        gamma=gamma[2, 1, 2], mu=mu[2, 1, 2],
                                        kappa0=params["kappa0"])
    assert float(result["bound"][2, 1, 2]) == pytest.approx(float(expected), rel=1e-12)
    assert np.isnan(result["bound"][2, 1, 0])


def test_experiments_are_deterministic(population_runs):
    again = sharpening.population_versus_samples(n_values=(8, 40, 96), betas=(0.2, 1.0),
                                             rate_rounds=2, **SMALL)
    assert again.equals(population_runs)
    other = sharpening.population_versus_samples(n_values=(8, 40, 96), betas=(0.2, 1.0),
                                             rate_rounds=2, seed=1, **SMALL)
    assert not other["excess"].equals(population_runs["excess"])


def test_consistency_not_correctness_values(small):
    result = strict_json(small["consistency_not_correctness"])
    agreement = np.asarray(result["agreement"].sel(band="mean"), dtype=float)
    # external_labels: exactly round(p m) agreeing prompts, so agreement at t = 0 is 3/12, 6/12.
    shares = np.asarray([3, 6]) / 12
    np.testing.assert_allclose(agreement[..., 0],
                               np.broadcast_to(shares[:, None, None], agreement.shape[:-1]),
                               atol=1e-12)
    population = result["population_agreement"].values
    np.testing.assert_allclose(population, np.broadcast_to(shares[:, None, None],
                                                           population.shape), atol=1e-12)
    retention = np.asarray(result["retention"].sel(band="mean"), dtype=float)
    np.testing.assert_allclose(retention[..., 0], 1.0, atol=1e-12)


def test_judge_experiment_values_and_its_run_helper(small):
    result = strict_json(small["judge_bias_and_noise"])
    start, quality, length, key = instances.length_judge_instance(
        seed=0, num_prompts=12, num_responses=6, temperature=0.5, initial_agreement=0.5)
    for j, bias in enumerate((0.0, 3.0)):
        share = float(np.mean(bounds.favourite_is_correct(quality, length, bias)))
        assert float(result["limit"][j]) == pytest.approx(share, abs=1e-12)
    agreement = np.asarray(result["agreement"].sel(band="mean"), dtype=float)
    np.testing.assert_allclose(agreement[..., 0], 0.5, atol=1e-12)
    # The grid holds exactly what judge_run returns for one setting.
    run = judges.judge_run(start, quality, length, key, bias=3.0, noise=1.0, n=96, beta=0.5,
                           T=3, seeds=3)
    np.testing.assert_allclose(agreement[1, 1, 0], run["agreement"].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(result["judge_score_mean"].values[1, 1, 0],
                               run["judge_score"].mean(axis=0), atol=1e-12)
    # The judge's score share is the expected score over its maximum, computed by hand.
    logits = np.asarray(common.simulate(key, start, n=96, beta=0.5, T=3, seeds=3,
                                        judge=dynamics.judge(quality, 3.0 * length, 1.0)
                                        ).logits)
    score = quality + 3.0 * length
    by_hand = (np.exp(logits) * score).sum(-1).mean(-1) / score.max(axis=1).mean()
    np.testing.assert_allclose(run["judge_score"], by_hand, rtol=1e-9)
    # Self-reward rows are the same along the bias axis.
    self_agreement = np.asarray(result["self_agreement"].sel(band="mean"), dtype=float)
    np.testing.assert_array_equal(self_agreement[0], self_agreement[1])


def test_margin_collapse_values(small):
    result = strict_json(small["margin_collapse"])
    gamma = result["gamma_min"].values
    np.testing.assert_allclose(gamma[..., 0], np.broadcast_to([0.01, 0.3], gamma.shape[:-1]),
                               rtol=1e-9)
    assert np.all(np.diff(gamma, axis=-1) <= 0), "a running minimum never rises"
    kappa0 = result["kappa0"].values
    mu = result["mu_min"].values
    expected = bounds.theorem_5_3_bound(40, 3, log_class_size=0.0, delta=common.DELTA,
                                        gamma=gamma[1, 0, 3], mu=mu[1, 0, 3], kappa0=kappa0[1, 0])
    assert float(result["bound"][1, 0, 3]) == pytest.approx(float(expected), rel=1e-12)
    start = instances.near_tie(12, 6, 3, 0.01)
    assert kappa0[1, 0] == pytest.approx(ref.condition_number(np.asarray(start.logits),
                                                              np.full(12, 1 / 12)), rel=1e-12)


def test_beta_regimes_values(small):
    result = strict_json(small["beta_regimes"])
    n = np.asarray([16, 96])
    np.testing.assert_allclose(result["scaled_beta"], np.asarray([0.5, 1.0])[:, None]
                               / np.sqrt(n)[None, :], rtol=1e-12)
    p = result.attrs["mode_probability"]
    assert p == pytest.approx(2 / (2 + 5), rel=1e-12)
    coverage = (1 - 2 * p * (1 - p) / 12) ** (n[:, None] * np.arange(4)[None, :])
    np.testing.assert_allclose(result["coverage"], coverage, rtol=1e-12)
    # The exact update at beta = 0.5 from the bump: the closed form, the same for every n.
    closed = bounds.bump_population_margin_and_excess(math.log(2), 6, 0.5, np.arange(4))[1]
    population = result["population_excess"].values
    np.testing.assert_allclose(population[0], closed, rtol=1e-9)
    np.testing.assert_array_equal(population[0], population[1])


def test_command_line_prints_the_same_numbers():
    settings = {"n_values": [16, 96], "scales": [1.0], **SMALL}
    arguments = ["experiment", "beta_regimes", "--json"]
    for name, value in settings.items():
        arguments += ["--set", f"{name}={json.dumps(value)}"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(arguments) == 0
    assert json.loads(out.getvalue()) == dataset_json(EXPERIMENTS["beta_regimes"](**settings))
    assert EXPERIMENTS["beta_regimes"].__wrapped__ is sharpening.beta_regimes


@pytest.mark.parametrize(("build", "message"), [
    (lambda: instances.near_tie(4, 6, 1, 0.1), "tied"),
    (lambda: instances.near_tie(4, 6, 6, 0.1), "tied"),
    (lambda: instances.near_tie(4, 6, 2, 0.0), "gamma0"),
    (lambda: bounds.coverage_failure(10, 1, num_prompts=5, mode_probability=0.6),
     "mode_probability"),
    (lambda: bounds.near_tie_rounds_value(20, -1.0, 0.5), "gamma0"),
    (lambda: bounds.bump_population_margin_and_excess(0.7, 5, 0.0, 1), "beta"),
    (lambda: sharpening.population_versus_samples(n_values=(40, 8)), "n_values"),
    (lambda: judges.consistency_not_correctness(agreements=(0.5, 1.5)), "agreements"),
    (lambda: judges.judge_bias_and_noise(biases=(-1.0,)), "biases"),
    (lambda: near_ties.margin_collapse(gamma0s=(0.0, 0.1)), "gamma0s"),
    (lambda: sharpening.beta_regimes(scales=(0.0,)), "scales"),
])
def test_bad_input_is_a_named_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


# --------------------------------------------------------------------------------------------
# Figures and the live explorer
# --------------------------------------------------------------------------------------------


BUILDERS = {
    "population_versus_samples": [sharpening_figures.excess_over_rounds],
    "consistency_not_correctness": [judge_figures.label_agreement_over_rounds],
    "judge_bias_and_noise": [judge_figures.judge_over_bias, judge_figures.judge_over_rounds],
    "margin_collapse": [near_tie_figures.failure_over_margin],
    "beta_regimes": [sharpening_figures.regimes_failure, sharpening_figures.regimes_excess],
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_figures_show_the_experiment_values_at_every_slider_position(small, name):
    result = small[name]
    for builder in BUILDERS[name]:
        figure = builder(result)
        meta = figure.figure.layout.meta["srlm"]
        assert meta["experiment"] == name and meta["kwargs"] == result.attrs["arguments"]
        sliders = figure.figure.layout.sliders
        trace_metas = [trace.meta for trace in figure.figure.data]
        for slider_index, slider in enumerate(sliders):
            for step_index in range(len(slider.steps)):
                active = [other.active for other in sliders]
                active[slider_index] = step_index
                setting = {other.name: json.loads(other.steps[position].value)
                           for other, position in zip(sliders, active, strict=True)}
                expected = expected_traces(result, meta, trace_metas, setting)
                for index, values in figure.traces_at(active).items():
                    shown = np.asarray([np.nan if v is None else v for v in values], dtype=float)
                    np.testing.assert_allclose(shown, np.asarray(expected[index]), rtol=5e-4,
                                               equal_nan=True)


def test_judge_explorer_shows_the_runs_it_computes():
    pytest.importorskip("ipywidgets")
    shapes = {"T": SMALL["T"], "seeds": SMALL["seeds"]}
    explorer = judge_figures.LengthBiasExplorer(num_prompts=SMALL["num_prompts"],
                                     num_responses=SMALL["num_responses"],
                                     n_values=(8, 40, 96), **shapes)
    assert [value for _, value in explorer.n.options] == [8, 40, 96]
    agreement = explorer.figure.data[0].y
    assert agreement[0] == pytest.approx(0.7, abs=0.5 / SMALL["num_prompts"])
    run = judges.judge_run(explorer.start, explorer.quality, explorer.length, explorer.key,
                           bias=explorer.bias.value, noise=explorer.noise.value,
                           n=explorer.n.value, beta=explorer.beta.value, **shapes)
    np.testing.assert_allclose(agreement, run["agreement"].mean(axis=0), atol=1e-12)
    before = dynamics.compile_count()
    explorer.bias.value, explorer.noise.value, explorer.n.value = 1.0, 2.0, 8
    explorer.T.value = 2
    assert len(explorer.figure.data[0].y) == 3
    assert dynamics.compile_count() == before, "moving a slider must not recompile"
    own = judges.self_reward_run(explorer.start, explorer.quality, explorer.key, n=8,
                                 beta=explorer.beta.value, **shapes)
    np.testing.assert_allclose(explorer.figure.data[3].y, own["agreement"].mean(axis=0)[:3],
                               atol=1e-12)
