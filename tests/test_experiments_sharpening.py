"""How fast the loop sharpens (srlm_kit.experiments.sharpening): the exact iteration from bump
policies and its closed forms, the exact update against finite samples, the beta regimes, and
the self-reward against a frozen reward; against the NumPy reference, closed forms, SymPy and
the kit's own bounds. Also the figures and the display of the kit's derivations."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stdout

import jax
import numpy as np
import pytest
import sympy as sp

import reference_numpy as ref
from figure_checks import check_every_setting, check_every_slider_step, strict_json
from srlm_kit import bounds, cli, dynamics, instances, metrics, theory
from srlm_kit.bounds import bump_closed_form, rounds_to_exceed_half
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS, common, sharpening
from srlm_kit.experiments.sharpening import population_sharpening
from srlm_kit.figures import expected_traces
from srlm_kit.figures import sharpening as sharpening_figures
from srlm_kit.figures.sharpening import margin_over_rounds, top_probability_over_rounds
from srlm_kit.instances import bump_height_for_kappa0

SMALL = {"num_responses": 6, "kappa0s": (1.5, 3.0, 5.0), "betas": (0.1, 1.0, 4.0), "T": 5}


@pytest.fixture(scope="module")
def small():
    return EXPERIMENTS["population_sharpening"](**SMALL)


def test_the_kits_iteration_matches_the_numpy_reference(small):
    K = SMALL["num_responses"]
    for i, kappa0 in enumerate(SMALL["kappa0s"]):
        height = bump_height_for_kappa0(kappa0, K)
        for j, beta in enumerate(SMALL["betas"]):
            logits = ref.log_softmax(height * np.eye(K)[:1])
            for t in range(SMALL["T"] + 1):
                assert small["kappa"][i][j][t] == pytest.approx(
                    ref.condition_number(logits, [1.0]), rel=1e-12)
                assert small["top_probability"][i][j][t] == pytest.approx(
                    ref.probs(logits).max(), rel=1e-12)
                assert small["margin"][i][j][t] == pytest.approx(ref.margin(logits, [1.0]),
                                                                rel=1e-9)
                logits = ref.population_update(logits, beta)


def test_closed_forms_follow_from_the_sympy_composition(small):
    # pi_T ∝ pi_0^((1+1/beta)^T) (theory.gibbs_composition), evaluated on a bump by SymPy.
    composition = theory.gibbs_composition().result.rhs  # pi_0^(c^T) / Z_T
    K = SMALL["num_responses"]
    for i, kappa0 in enumerate(SMALL["kappa0s"]):
        height = bump_height_for_kappa0(kappa0, K)
        mode, other = (sp.exp(height) / (sp.exp(height) + K - 1),
                       sp.Integer(1) / (sp.exp(height) + K - 1))
        for j, beta in enumerate(SMALL["betas"]):
            for t in range(SMALL["T"] + 1):
                power = {theory.beta: sp.Rational(beta).limit_denominator(1000), theory.T: t}
                weight_mode = composition.subs({**power, theory.pi_0: mode})
                weight_other = composition.subs({**power, theory.pi_0: other})
                log_odds = sp.log(weight_mode / weight_other)
                margin = float(sp.N(sp.expand_log(log_odds, force=True), 30))
                top = float(sp.N(1 / (1 + (K - 1) * sp.exp(-log_odds)), 30))
                closed = bump_closed_form(height, K, beta, [t])
                assert closed["margin"][0] == pytest.approx(margin, rel=1e-12)
                assert closed["top_probability"][0] == pytest.approx(top, rel=1e-12)
                assert small["closed_margin"][i][j][t] == pytest.approx(margin, rel=1e-12)


def test_the_kit_agrees_with_the_closed_form_until_its_floor(small):
    margin = small["margin"].values
    closed = small["closed_margin"].values
    floor = np.asarray(small["floor_reached"], dtype=bool)
    assert floor.any() and not floor.all()
    np.testing.assert_allclose(margin[~floor], closed[~floor], rtol=1e-10)
    assert np.all(margin[floor] <= 1.0e4 + 1e-6) and np.all(closed[floor] > 1.0e4 - 1.0)
    np.testing.assert_allclose(small["kappa"], small["closed_kappa"], rtol=1e-12)


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.5, 1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("kappa0", [1.2, 2.1, 3.0, 5.5, 9.0, 9.9])
def test_rounds_to_exceed_half_is_the_first_round_above_one_half(beta, kappa0):
    K = 10
    height = bump_height_for_kappa0(kappa0, K)
    rounds = rounds_to_exceed_half(height, K, beta)
    # Brute force on the exact odds: top > 1/2 iff (K - 1) e^(-b c^t) < 1.
    c = 1 + 1 / beta
    first = next(t for t in range(200) if (K - 1) * math.exp(-height * c**t) < 1)
    assert rounds == first


def test_rounds_to_exceed_half_edge_cases():
    assert rounds_to_exceed_half(0.3, 2, 1.0) == 0  # two responses: any bump is above 1/2
    assert rounds_to_exceed_half(math.log(20), 10, 1.0) == 0  # starts above 1/2
    # kappa_0 = 2 with K = 10: the mode holds exactly 1/2, which is not above 1/2.
    assert rounds_to_exceed_half(math.log(9), 10, 1.0) == 1
    with pytest.raises(ValueError, match="beta"):
        rounds_to_exceed_half(1.0, 10, 0.0)
    with pytest.raises(ValueError, match="height"):
        rounds_to_exceed_half(-1.0, 10, 1.0)


@pytest.mark.parametrize("beta", [1e8, 1e17, 1e300])
def test_rounds_to_exceed_half_for_a_beta_so_large_that_one_plus_its_inverse_rounds_to_one(beta):
    """Each round multiplies the bump by c = 1 + 1/beta, so for a large beta the count is close
    to log(log(K - 1)/b) / (1/beta) = beta log(log(K - 1)/b): huge but finite."""
    height, K = 0.5, 10
    expected = beta * math.log(math.log(K - 1) / height)
    rounds = rounds_to_exceed_half(height, K, beta)
    assert isinstance(rounds, int)
    assert rounds == pytest.approx(expected, rel=1e-6)


def test_deterministic_registered_and_json(small):
    assert EXPERIMENTS["population_sharpening"].__wrapped__ is population_sharpening
    assert population_sharpening(**SMALL).equals(small)
    json.dumps(dataset_json(small), allow_nan=False)


@pytest.mark.parametrize(("override", "message"), [
    ({"kappa0s": (12.0,)}, "kappa0"),
    ({"betas": (0.0,)}, "beta"),
    ({"T": 0}, "T"),
    ({"num_responses": 1}, "K"),
    ({"betas": ()}, "betas"),
])
def test_bad_input_is_named(override, message):
    with pytest.raises(ValueError, match=message):
        population_sharpening(**{**SMALL, **override})


def test_bump_closed_form_rejects_bad_input():
    with pytest.raises(ValueError, match="beta"):
        bump_closed_form(1.0, 5, -1.0, [0])
    with pytest.raises(ValueError, match="K"):
        bump_closed_form(1.0, 1, 1.0, [0])


def test_figures_show_the_experiments_values(small):
    for build, sliders in ((top_probability_over_rounds, ["kappa0"]),
                           (margin_over_rounds, ["beta", "kappa0"])):
        figure = build(small)
        meta = figure.figure.layout.meta["srlm"]
        assert meta["experiment"] == "population_sharpening" and meta["sliders"] == sliders
        trace_metas = [trace.meta for trace in figure.figure.data]
        for position in range(3):
            active = [position] * len(sliders)
            setting = {dim: small[dim].values.tolist()[position] for dim in sliders}
            expected = expected_traces(small, meta, trace_metas, setting)
            for index, values in figure.traces_at(active).items():
                np.testing.assert_allclose(values, expected[index], rtol=5e-4)


# --------------------------------------------------------------------------------------------
# The exact update against finite samples, and the beta regimes
# --------------------------------------------------------------------------------------------

#: Small shapes shared by the sample runs (one compiled simulation for all of them).
SAMPLE = {"num_prompts": 12, "num_responses": 6, "T": 3, "seeds": 3}
SAMPLE_SETTINGS = {
    "population_versus_samples": dict(n_values=(8, 40, 96), betas=(0.2, 1.0), rate_rounds=2),
    "beta_regimes": dict(n_values=(16, 96), scales=(0.5, 1.0)),
}


@pytest.fixture(scope="module")
def sample_runs():
    """Both experiments at small sizes, computed once for this file."""
    return {name: EXPERIMENTS[name](**settings, **SAMPLE)
            for name, settings in SAMPLE_SETTINGS.items()}


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
    m, K, T = SAMPLE["num_prompts"], SAMPLE["num_responses"], SAMPLE["T"]
    start = instances.bump(m, K, math.log(2))
    p = float(np.exp(np.max(ref.log_softmax(np.asarray(start.logits))[0])))
    n, calls = 30, 24  # 24 calls of 3 seeds at the shared small shapes: 72 runs
    failures = np.concatenate([np.asarray(common.simulate(
        jax.random.key(100 + call), start, n=n, beta=0.01, T=T, seeds=SAMPLE["seeds"]).failure)
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


@pytest.fixture(scope="module")
def population_runs(sample_runs):
    return sample_runs["population_versus_samples"]


def test_population_versus_samples_values(population_runs):
    result = strict_json(population_runs)
    params = result.attrs
    population = result["population_excess"].values
    closed = bounds.bump_population_margin_and_excess(params["height"], params["num_responses"],
                                                      np.asarray([0.2, 1.0])[:, None],
                                                      np.arange(SAMPLE["T"] + 1)[None, :])[1]
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
                                             rate_rounds=2, **SAMPLE)
    assert again.equals(population_runs)
    other = sharpening.population_versus_samples(n_values=(8, 40, 96), betas=(0.2, 1.0),
                                             rate_rounds=2, seed=1, **SAMPLE)
    assert not other["excess"].equals(population_runs["excess"])


def test_beta_regimes_values(sample_runs):
    result = strict_json(sample_runs["beta_regimes"])
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
    settings = {"n_values": [16, 96], "scales": [1.0], **SAMPLE}
    arguments = ["experiment", "beta_regimes", "--json"]
    for name, value in settings.items():
        arguments += ["--set", f"{name}={json.dumps(value)}"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(arguments) == 0
    assert json.loads(out.getvalue()) == dataset_json(EXPERIMENTS["beta_regimes"](**settings))
    assert EXPERIMENTS["beta_regimes"].__wrapped__ is sharpening.beta_regimes


@pytest.mark.parametrize(("build", "message"), [
    (lambda: bounds.coverage_failure(10, 1, num_prompts=5, mode_probability=0.6),
     "mode_probability"),
    (lambda: bounds.bump_population_margin_and_excess(0.7, 5, 0.0, 1), "beta"),
    (lambda: bounds.population_exponent(1, 0.5, "judge"), "reward"),
    (lambda: sharpening.population_versus_samples(n_values=(40, 8)), "n_values"),
    (lambda: sharpening.beta_regimes(scales=(0.0,)), "scales"),
])
def test_bad_input_is_a_named_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(("name", "builder"), [
    ("population_versus_samples", sharpening_figures.excess_over_rounds),
    ("beta_regimes", sharpening_figures.regimes_failure),
    ("beta_regimes", sharpening_figures.regimes_excess),
])
def test_sample_figures_show_the_experiment_values_at_every_slider_position(sample_runs, name,
                                                                            builder):
    check_every_slider_step(builder(sample_runs[name]), sample_runs[name])


# --------------------------------------------------------------------------------------------
# The self-reward against a frozen reward
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reward", bounds.REWARDS)
@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_population_exponent_matches_repeated_gibbs_updates(reward, beta):
    """log pi_t(y) - log pi_t(y') = e_t (log pi_0(y) - log pi_0(y')), with the kit's update."""
    from srlm_kit import policies

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


def test_frozen_figure_shows_the_experiment(frozen):
    check_every_setting(sharpening_figures.self_versus_frozen_reward(frozen), frozen,
                        "self_versus_frozen_reward", FROZEN)
