"""Experiments, derivations and figures of chapter 7 (srlm_kit.experiments.linear,
srlm_kit.figures.linear).

Values are checked against independent computations: the least-squares step against NumPy's
minimum-norm ``lstsq`` (tests/reference_numpy.py); the simulation against the kit's own
``dynamics.run`` on the same keys; coverage against the rank of all stacked differences; the
captured fraction against an explicit projection; exit rounds against the closed form; the
effective dimension against the direct sum; the derivations against their stated forms.
"""

from __future__ import annotations

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

import reference_numpy as ref
from srlm_kit import bounds, dynamics, instances, policies, theory
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS, linear
from srlm_kit.figures import expected_traces
from srlm_kit.figures import linear as figures
from srlm_kit.policies import Triples

#: Small versions of the chapter's experiments (a few seconds in all once compiled).
SMALL_ROUNDS = dict(num_prompts=12, num_responses=5, dimension=16, n_values=(4, 8),
                    betas=(0.2, 1.0), T=3, seeds=3, radius_ratios=(1.5, 4.0, 30.0),
                    T_population=8)
#: The seeds of the simulations of these tests.
SAME_SHAPES = dict(seeds=3)
SMALL_SWEEP = dict(num_prompts=12, num_responses=5, dimensions=(3, 6, 12), n=8, T=2, seeds=2,
                   draws=2)


@pytest.fixture(scope="module")
def small_start():
    ((start, _),) = instances.linear_starts(jax.random.key(5), num_prompts=12, num_responses=5,
                                         dimensions=[16], kappa0=2.0)
    return start


@pytest.fixture(scope="module")
def rounds():
    return EXPERIMENTS["linear_rounds"](**SMALL_ROUNDS)


@pytest.fixture(scope="module")
def sweep():
    return EXPERIMENTS["linear_dimension_sweep"](**SMALL_SWEEP)


def _interleaved_design(rng, n_max, d, informative):
    """Triples on random unit features where only ``informative`` scattered rows have y != y'."""
    num_prompts, num_responses = 30, 6
    features = rng.normal(size=(num_prompts, num_responses, d))
    features /= np.linalg.norm(features, axis=-1, keepdims=True)
    x = rng.integers(0, num_prompts, n_max)
    y = rng.integers(0, num_responses, n_max)
    y_prime = y.copy()
    rows = rng.choice(n_max, informative, replace=False)
    y_prime[rows] = (y[rows] + rng.integers(1, num_responses, informative)) % num_responses
    triples = Triples(jnp.asarray(x), jnp.asarray(y), jnp.asarray(y_prime),
                      jnp.ones(n_max, dtype=bool))
    return features, triples


# --------------------------------------------------------------------------------------------
# One round
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", range(6))
def test_kit_erm_is_the_minimum_norm_least_squares_step_with_interleaved_zero_rows(case):
    rng = np.random.default_rng(case)
    n_max, d = [(400, 500), (200, 300), (50, 20), (120, 60), (300, 100), (80, 400)][case]
    informative = int(rng.integers(3, min(70, n_max)))
    features, triples = _interleaved_design(rng, n_max, d, informative=informative)
    theta = rng.normal(size=d)
    beta = float(rng.choice([0.1, 0.5, 2.0]))
    got = np.asarray(dynamics.erm_update_linear(jnp.asarray(theta), jnp.asarray(features),
                                                     triples, beta))
    expected = ref.erm_update_linear(theta, features, np.asarray(triples.x),
                                     np.asarray(triples.y), np.asarray(triples.y_prime), beta)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_one_round_with_more_pairs_than_dimensions_is_the_exact_update(small_start):
    erm, triples = dynamics.one_step(jax.random.key(0), small_start, small_start.theta, n=200,
                                     beta=0.5)
    assert np.asarray(triples.x).shape == (200,)
    np.testing.assert_allclose(np.asarray(erm), 3.0 * np.asarray(small_start.theta),
                               rtol=1e-10)
    exact, _ = dynamics.one_step(jax.random.key(0), small_start, small_start.theta, n=200,
                                 beta=0.5, update="population")
    np.testing.assert_array_equal(np.asarray(exact), 3.0 * np.asarray(small_start.theta))


# --------------------------------------------------------------------------------------------
# T rounds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("update", ["erm", "population"])
def test_simulation_replays_with_the_numpy_least_squares_step(small_start, update):
    """Every recorded parameter is the NumPy minimum-norm step (or the exact update) from the
    previous one on the recorded triples; the metrics are those of the recorded parameters."""
    run = linear.simulate_linear(jax.random.key(2), small_start, n=6, T=2, beta=0.5,
                                 **SAME_SHAPES, update=update)
    features, rho = np.asarray(small_start.features), np.asarray(small_start.rho)
    for seed in range(SAME_SHAPES["seeds"]):
        for t in range(2):
            mask = run.mask[seed, t]
            assert mask.sum() == (6 if update == "erm" else 0)
            theta = run.thetas[seed, t]
            expected = (ref.erm_update_linear(theta, features, run.x[seed, t][mask],
                                              run.y[seed, t][mask], run.y_prime[seed, t][mask],
                                              0.5)
                        if update == "erm" else 3.0 * theta)
            np.testing.assert_allclose(run.thetas[seed, t + 1], expected, rtol=1e-9,
                                       atol=1e-12)
        for t in range(3):
            logits = features @ run.thetas[seed, t]
            assert run.kappa[seed, t] == pytest.approx(ref.condition_number(logits, rho),
                                                       rel=1e-10)
            assert run.failure[seed, t] == pytest.approx(ref.failure_probability(logits, rho))
    # Rounds 0..T and n triples per step, whatever shape the engine compiled.
    assert run.thetas.shape[1] == 3 and run.x.shape[1:] == (2, 6)


def test_simulation_is_deterministic_and_checks_its_arguments(small_start):
    first = linear.simulate_linear(jax.random.key(3), small_start, n=5, T=2, beta=0.3,
                                   **SAME_SHAPES)
    again = linear.simulate_linear(jax.random.key(3), small_start, n=5, T=2, beta=0.3,
                                   **SAME_SHAPES)
    np.testing.assert_array_equal(first.thetas, again.thetas)
    with pytest.raises(ValueError, match="shape.data_length"):
        linear.simulate_linear(jax.random.key(3), small_start, n=5, T=2, beta=0.3,
                               shape=dynamics.Shape(4, 2))
    with pytest.raises(ValueError, match="beta"):
        linear.simulate_linear(jax.random.key(3), small_start, n=5, T=2, beta=0.0)
    with pytest.raises(ValueError, match="update"):
        linear.simulate_linear(jax.random.key(3), small_start, n=5, T=2, beta=0.3,
                               update="gradient")
    with pytest.raises(TypeError, match="LinearInstance"):
        linear.simulate_linear(jax.random.key(3), instances.bump(3, 4, 1.0), n=5, T=2,
                               beta=0.3)


def test_coverage_is_the_rank_of_all_differences_so_far(small_start):
    run = linear.simulate_linear(jax.random.key(4), small_start, n=4, T=3, beta=2.0,
                                 **SAME_SHAPES)
    cumulative, per_round = linear.coverage_dimensions(small_start.features, run)
    features = np.asarray(small_start.features)
    for seed in range(3):
        rows = []
        for t in range(3):
            keep = run.mask[seed, t]
            differences = (features[run.x[seed, t][keep], run.y[seed, t][keep]]
                           - features[run.x[seed, t][keep], run.y_prime[seed, t][keep]])
            rows.append(differences)
            assert per_round[seed, t + 1] == np.linalg.matrix_rank(differences)
            assert cumulative[seed, t + 1] == np.linalg.matrix_rank(np.concatenate(rows))
    assert np.all(cumulative[:, 0] == 0)


def test_captured_fraction_is_the_norm_of_the_projection(small_start):
    run = linear.simulate_linear(jax.random.key(6), small_start, n=5, T=2, beta=0.7,
                                 **SAME_SHAPES)
    captured = linear.step_capture(run.thetas, 0.7)
    features = np.asarray(small_start.features)
    for seed in range(2):
        for t in range(2):
            keep = run.mask[seed, t]
            design = (features[run.x[seed, t][keep], run.y[seed, t][keep]]
                      - features[run.x[seed, t][keep], run.y_prime[seed, t][keep]])
            theta = run.thetas[seed, t]
            coefficients, *_ = np.linalg.lstsq(design.T, theta, rcond=None)
            projected = design.T @ coefficients
            assert captured[seed, t] == pytest.approx(
                np.linalg.norm(projected) / np.linalg.norm(theta), rel=1e-8)


def test_captured_fraction_refuses_rescaled_parameters():
    thetas = np.array([[[1.0, 0.0], [dynamics.THETA_SATURATION, 0.0]]])
    with pytest.raises(ValueError, match="THETA_SATURATION"):
        linear.step_capture(thetas, 0.5)


def test_exit_rounds_and_the_horizon_formula():
    beta, start = 0.5, 2.0
    norms = start * 3.0 ** np.arange(6)
    ratios = np.array([1.5, 3.0, 10.0, 100.0, 1000.0])
    exits = linear.exit_rounds(norms, ratios * start)
    # ||theta_t|| = 2 * 3^t > 2 * ratio  <=>  t > log(ratio)/log(3); touching (ratio = 3) is inside
    np.testing.assert_array_equal(exits[:4], [1.0, 2.0, 3.0, 5.0])
    assert np.isnan(exits[4])  # 3^7 > 1000: not within the 6 rounds given
    horizon = bounds.realizability_horizon(ratios, beta)
    np.testing.assert_allclose(horizon, np.log(ratios) / np.log(3.0))
    np.testing.assert_array_equal(bounds.population_exit_round(ratios[:4], beta)[[0, 2, 3]],
                                  exits[[0, 2, 3]])
    with pytest.raises(ValueError, match="radius_ratio"):
        bounds.realizability_horizon(0.5, beta)
    with pytest.raises(ValueError, match="beta"):
        bounds.realizability_horizon(2.0, 0.0)


# --------------------------------------------------------------------------------------------
# Starts
# --------------------------------------------------------------------------------------------


def test_scale_reaches_the_requested_condition_number():
    scores = np.asarray(jax.random.normal(jax.random.key(0), (20, 6)))
    for kappa0 in (1.3, 2.5, 5.0):
        scale = instances.scale_for_kappa0(scores, kappa0)
        assert ref.condition_number(scale * scores, np.full(20, 0.05)) == pytest.approx(
            kappa0, rel=1e-8)
    with pytest.raises(ValueError, match="kappa0"):
        instances.scale_for_kappa0(scores, 6.0)
    with pytest.raises(ValueError, match="kappa0"):
        instances.scale_for_kappa0(scores, 1.0)


@pytest.mark.parametrize("alpha", [None, 0.4])
def test_nested_features_are_the_kits_features_at_the_largest_dimension(alpha):
    key = jax.random.key(9)
    nested = instances.nested_features(key, 7, 4, [3, 10], alpha)
    if alpha is None:
        kit = np.asarray(instances.random_unit_features(key, 7, 4, 10))
        np.testing.assert_allclose(nested[0][1], np.full(3, 1 / 3))
    else:
        kit_features, kit_eigenvalues = instances.decaying_spectrum_features(key, 7, 4, 10, alpha)
        kit = np.asarray(kit_features)
        np.testing.assert_allclose(nested[1][1], np.asarray(kit_eigenvalues), rtol=1e-12)
    np.testing.assert_allclose(nested[1][0], kit, rtol=1e-12)
    # the smaller features are built from the first coordinates of the same draw
    small = nested[0][0]
    assert np.max(np.linalg.norm(small, axis=-1)) == pytest.approx(1.0)
    ratio = small / nested[1][0][..., :3]
    assert np.allclose(ratio, ratio[..., :1])


def test_starts_have_the_condition_number_and_are_padded():
    starts = instances.linear_starts(jax.random.key(1), num_prompts=15, num_responses=5,
                                  dimensions=[4, 9], kappa0=2.2, padded_dimension=12)
    for start, _ in starts:
        logits = np.asarray(policies.linear_logits(start.features, start.theta))
        assert ref.condition_number(logits, np.asarray(start.rho)) == pytest.approx(2.2,
                                                                                     rel=1e-8)
        assert start.features.shape == (15, 5, 12)
        np.testing.assert_array_equal(np.asarray(start.labels), logits.argmax(axis=1))
    assert [len(eigenvalues) for _, eigenvalues in starts] == [4, 9]
    np.testing.assert_array_equal(np.asarray(starts[0][0].theta)[4:], 0.0)


# --------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------


def test_registered_and_json():
    for name in ("linear_rounds", "linear_dimension_sweep", "effective_dimension_grid"):
        assert EXPERIMENTS[name].__module__ == "srlm_kit.experiments.linear"


def test_rounds_fields_against_direct_computations(rounds):
    json.dumps(dataset_json(rounds), allow_nan=False)
    coords, params = {dim: rounds[dim].values.tolist() for dim in rounds.dims}, rounds.attrs
    # Arrays; a variable with a band axis has it last: mean, lower, upper.
    field = {name: rounds[name].values for name in rounds.data_vars}
    # The start and its runs, recomputed with the kit on the same keys.
    start = linear.toy_b_start(num_prompts=12, num_responses=5, dimension=16)
    _, key_runs = jax.random.split(jax.random.key(0))
    run = linear.simulate_linear(key_runs, start, n=8, T=3, beta=1.0, **SAME_SHAPES)
    np.testing.assert_allclose(field["failure"][..., 0][1, 1], run.failure.mean(axis=0))
    np.testing.assert_allclose(field["norm_ratio_max"][1, 1],
                               run.theta_norm.max(axis=0) / params["theta0_norm"])
    cumulative, _ = linear.coverage_dimensions(start.features, run)
    np.testing.assert_allclose(field["coverage"][..., 0][1, 1],
                               cumulative.mean(axis=0) / 16)
    ceiling = np.asarray(field["coverage_ceiling"])[:, None, :]
    assert np.all(np.asarray(field["coverage"][..., 2]) <= ceiling + 1e-12)
    # Exact update: exits at floor(L) + 1, exactly; finite samples never earlier.
    ratios, betas = np.array(coords["ratio"]), np.array(coords["beta"])
    np.testing.assert_array_equal(field["population_exit"],
                                  np.floor(np.log(ratios)[None] / np.log1p(1 / betas)[:, None])
                                  + 1)
    earliest = field["erm_exit"][..., 1]
    shown = ~np.isnan(earliest)
    assert np.all(earliest[shown] >= np.broadcast_to(field["population_exit"],
                                                     earliest.shape)[shown])
    population = dynamics.run(key_runs, start, n=1, T=3, beta=0.2, update="population")
    np.testing.assert_allclose(field["population_failure"][0], np.asarray(population.failure)[0])
    assert params["kappa0"] == pytest.approx(2.5, rel=1e-8)


def test_rounds_is_deterministic_and_checks_its_arguments(rounds):
    assert linear.linear_rounds(**SMALL_ROUNDS).equals(rounds)
    with pytest.raises(ValueError, match="n_values"):
        linear.linear_rounds(**{**SMALL_ROUNDS, "n_values": (8, 4)})
    with pytest.raises(ValueError, match="radius_ratios"):
        linear.linear_rounds(**{**SMALL_ROUNDS, "radius_ratios": (0.5, 2.0)})
    with pytest.raises(ValueError, match="THETA_SATURATION"):
        linear.linear_rounds(**{**SMALL_ROUNDS, "radius_ratios": (2.0, 1e6)})


def test_sweep_fields(sweep):
    json.dumps(dataset_json(sweep), allow_nan=False)
    field = {name: sweep[name].values for name in sweep.data_vars}  # band axis last
    # d = 3 < informative pairs: every first round is the exact update
    assert np.all(np.abs(field["capture_first_min"][:, 0] - 1) < 1e-9)
    # the shapes start at the measured failure and scale with d and d_eff
    dims = np.array(sweep["d"].values.tolist(), dtype=float)
    np.testing.assert_allclose(field["shape_dimension"][:, :, 1],
                               field["failure"][..., 0][:, :1, 1] * dims / dims[0])
    deff = field["deff"]
    np.testing.assert_allclose(field["shape_deff"][:, :, 1],
                               field["failure"][..., 0][:, :1, 1] * deff / deff[:, :1])
    # isotropic unit features: Sigma = I/d, so d_eff(1/n) = d n/(d + n)
    np.testing.assert_allclose(deff[0], dims * 8 / (dims + 8))
    assert np.all(np.isnan(field["theorem_6_2"][:, :, 0]))
    assert np.all(field["theorem_6_2"][:, :, 1:] > 1)
    with pytest.raises(ValueError, match="alpha"):
        linear.linear_dimension_sweep(**{**SMALL_SWEEP, "alpha": -1.0})


def test_effective_dimension_grid_against_the_direct_sum():
    result = linear.effective_dimension_grid(alphas=(0.2, 1.0), n_values=(10, 1000),
                                             dimensions=(1, 5, 50))
    json.dumps(dataset_json(result), allow_nan=False)
    deff = np.array(result["deff"])
    for i, alpha in enumerate((0.2, 1.0)):
        for j, n in enumerate((10, 1000)):
            for k, d in enumerate((1, 5, 50)):
                spectrum = [math.exp(-alpha * (index + 1)) for index in range(d)]
                direct = sum(value / (value + 1 / n) for value in spectrum)
                assert deff[i, j, k] == pytest.approx(direct, rel=1e-12)
                closed = math.log(n) / alpha + 1 / (1 - math.exp(-alpha))
                assert result["exponential_bound"][i][j][k] == pytest.approx(closed)
                assert deff[i, j, k] <= closed
    assert result["ambient"].values.tolist() == [1.0, 5.0, 50.0]
    with pytest.raises(ValueError, match="alphas"):
        linear.effective_dimension_grid(alphas=(0.0, 1.0))


# --------------------------------------------------------------------------------------------
# Derivations
# --------------------------------------------------------------------------------------------


def _zero(expression) -> bool:
    if isinstance(expression, sp.MatrixBase):
        return all(sp.simplify(entry) == 0 for entry in expression)
    return sp.simplify(expression) == 0


def test_erm_step_derivation():
    steps = dict(theory.linear_erm_step().steps)
    for description in ("Square loss minus ||D (beta w - theta_t)||^2",
                        "P_D is idempotent: P_D^2 - P_D", "... and symmetric: P_D - P_D^T",
                        "With w = P_D theta_t / beta the residual D (beta w - theta_t) "
                        "vanishes: zero loss",
                        "The cross product v of the two rows spans the null space of D: D v",
                        "w is orthogonal to it: w . v"):
        assert _zero(steps[description]), description
    assert steps["If D has rank d (here 2 x 2), P_D is the identity"] == sp.eye(2)


def test_norm_growth_derivation_against_numbers():
    derivation = theory.erm_norm_growth()
    growth = derivation.result.rhs
    beta, f = theory.beta, sp.Symbol("a", nonnegative=True)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=6)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    projected = basis @ (basis.T @ theta)
    for beta_value in (0.1, 0.5, 3.0):
        grown = np.linalg.norm(theta + projected / beta_value) / np.linalg.norm(theta)
        fraction = np.linalg.norm(projected) / np.linalg.norm(theta)
        assert float(growth.subs({beta: beta_value, f: fraction})) == pytest.approx(grown)
        assert grown <= 1 + 1 / beta_value
    assert _zero(derivation.steps[0][1])


def test_realizability_derivation():
    steps = theory.realizability_derivation().steps
    values = dict(steps)
    assert _zero(values["Check: the norm at t = H, minus R"])
    n = theory.n
    assert sp.simplify(steps[-1][1] - theory.dimension * sp.log(1 + sp.sqrt(n))) == 0
    horizon = steps[1][1].rhs
    substituted = horizon.subs({theory.radius: 1e6, sp.Symbol("||theta_0||", positive=True): 1,
                                theory.beta: 0.01})
    assert float(substituted) == pytest.approx(float(bounds.realizability_horizon(1e6, 0.01)))


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def _check_figure(figure, result, kwargs):
    meta = figure.figure.layout.meta["srlm"]
    trace_metas = [trace.meta for trace in figure.figure.data]
    setting = {slider.name: json.loads(slider.steps[slider.active].value)
               for slider in figure.figure.layout.sliders}
    expected = expected_traces(result, meta, trace_metas, setting)
    for index, values in expected.items():
        shown = [math.nan if value is None else value for value in figure.figure.data[index].y]
        np.testing.assert_allclose(shown, values, rtol=5.0001e-4, equal_nan=True)
    assert meta["kwargs"] == kwargs


def test_figures_show_the_experiments_values(rounds, sweep):
    effective = EXPERIMENTS["effective_dimension_grid"](
        alphas=(0.1, 0.3), n_values=(100, 10_000), dimensions=(1, 10, 100))
    for builder, result, experiment in (
            (figures.coverage_over_rounds, rounds, "linear_rounds"),
            (figures.failure_over_rounds, rounds, "linear_rounds"),
            (figures.realizability_rounds, rounds, "linear_rounds"),
            (figures.failure_against_dimension, sweep, "linear_dimension_sweep"),
            (figures.effective_dimension_against_d, effective, "effective_dimension_grid")):
        figure = builder(result, div_id="fig-07-test")
        assert figure.figure.layout.meta["srlm"]["experiment"] == experiment
        _check_figure(figure, result, result.attrs["arguments"])


def test_bounds_used_in_the_chapter_are_vacuous_at_toy_sizes():
    # The numbers behind the chapter's statement that Theorem 6.2 says nothing at toy sizes.
    value = bounds.theorem_6_2_bound(160, 8, dimension=200, radius=250, delta=0.05,
                                     gamma=1e-3, mu=0.2, kappa0=2.5)
    assert value > 1e4


def test_live_explorer_shows_the_simulation():
    explorer = figures.LinearExplorer(dimensions=(4, 16), n_values=(4, 8), betas=(0.2, 1.0), T=3,
                                      seeds=3, num_prompts=12, num_responses=5, kappa0=2.5)
    # default: the largest d, the second n, the middle beta; that start is toy_b_start's
    assert (explorer.d.value, explorer.n.value, explorer.beta.value) == (16, 8, 1.0)
    start = linear.toy_b_start(num_prompts=12, num_responses=5, dimension=16)
    _, key_runs = jax.random.split(jax.random.key(0))
    run = linear.simulate_linear(key_runs, start, n=8, T=3, beta=1.0, **SAME_SHAPES)
    np.testing.assert_allclose(explorer.data["failure_mean"], run.failure.mean(axis=0))
    cumulative, _ = linear.coverage_dimensions(start.features, run)
    np.testing.assert_allclose(explorer.data["coverage"], cumulative.mean(axis=0) / 16)
    explorer.d.value = 4  # recomputes on the padded instance of dimension 4
    assert explorer.data["coverage"][-1] <= 1.0 and len(explorer.data["t"]) == 4
