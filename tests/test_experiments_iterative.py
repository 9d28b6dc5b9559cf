"""Experiments and figures of chapters 5 and 6 (srlm_kit.experiments.iterative, figures.iterative).

Values are checked against independent computations: the coverage model against the binomial
sum it abbreviates and against Monte Carlo runs of the NumPy reference implementation; the
experiments' fields against direct calls of the kit's dynamics, checks and bounds on the same
runs; the population curves against the closed form of the bump; the prototype table of toy A
(paper-notes §10.4) against the numbers recorded there.
"""

from __future__ import annotations

import json
import math

import jax
import numpy as np
import pytest
from scipy import stats

import reference_numpy as ref
from srlm_kit import bounds, checks, dynamics, instances
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments import iterative as it
from srlm_kit.figures import expected_traces
from srlm_kit.figures import iterative as figures
from srlm_kit.instances import bump_height_for_kappa0

#: A small grid that runs in about a second once compiled.
SMALL = dict(num_prompts=10, num_responses=8, kappa0s=(2.5, 5.0), n_values=(20, 40), T=3,
             seeds=3)


@pytest.fixture(scope="module")
def grid():
    return EXPERIMENTS["iterative_bound_grid"](**SMALL, calibration=(5.0, 20, 1))


@pytest.fixture(scope="module")
def level_three():
    return EXPERIMENTS["iterative_level_three"](**SMALL, doublings=12)


@pytest.fixture(scope="module")
def rounds():
    return EXPERIMENTS["rounds_needed_grid"](**SMALL)


@pytest.fixture(scope="module")
def direct():
    """The runs of SMALL made directly with the kit, one call per n (both betas)."""
    heights = [bump_height_for_kappa0(value, 8) for value in SMALL["kappa0s"]]
    starts = instances.stack([instances.bump(10, 8, height) for height in heights])
    runs = {}
    for n in SMALL["n_values"]:
        both = dynamics.run_grid(jax.random.key(0), starts, [n], [n ** -0.5, 0.5], T=3, seeds=3)
        for rule in (0, 1):
            runs[n, rule] = jax.tree_util.tree_map(
                lambda leaf, rule=rule: leaf[:, :, rule:rule + 1], both)
    return runs


# --------------------------------------------------------------------------------------------
# The coverage model of toy A
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kappa0, m, n", [(3.0, 100, 400), (25.5, 100, 800), (6.0, 7, 13)])
def test_coverage_failure_is_the_binomial_average(kappa0, m, n):
    """(1 - r/m)^n is E[(1 - r)^k] for k ~ Binomial(n, 1/m), r = 2p(1 - p): one round."""
    p = 1.0 / kappa0
    r = 2 * p * (1 - p)
    k = np.arange(n + 1)
    direct = float(np.sum(stats.binom.pmf(k, n, 1.0 / m) * (1 - r) ** k))
    assert math.isclose(float(bounds.coverage_failure(n, 1, num_prompts=m, mode_probability=p)),
                        direct, rel_tol=1e-10)
    # T rounds of fresh data: the T-th power.
    assert math.isclose(float(bounds.coverage_failure(n, 3, num_prompts=m, mode_probability=p)),
                        direct ** 3, rel_tol=1e-9)


def test_coverage_failure_matches_the_numpy_reference_simulation():
    """Monte Carlo with the NumPy reference ERM (a different random stream from the kit's)."""
    m, num_responses, kappa0, n, T = 6, 8, 4.0, 12, 2
    beta = n ** -0.5
    assert bounds.coverage_reaches_half([n], num_responses=num_responses, kappa0=[kappa0]).all()
    height = bump_height_for_kappa0(kappa0, num_responses)
    logits0 = np.zeros((m, num_responses))
    logits0[np.arange(m), np.arange(m) % num_responses] = height
    rho = np.full(m, 1.0 / m)
    rng = np.random.default_rng(7)
    repeats = 300
    failures = np.array([ref.run(logits0, rho, beta, T,
                                 lambda t, logits: ref.sample_numpy(rng, logits, rho, n)
                                 )["failure"] for _ in range(repeats)])
    predicted = bounds.coverage_failure(n, np.arange(T + 1), num_prompts=m,
                                        mode_probability=1 / kappa0)
    standard_error = np.sqrt(predicted * (1 - predicted) / (m * repeats))
    assert np.all(np.abs(failures.mean(axis=0) - predicted) <= 4 * standard_error + 1e-12)


def test_coverage_rounds_against_brute_force():
    for kappa0 in (1.5, 2.0, 3.0, 12.0, 25.5):
        for n in (10, 100, 1000):
            p = 1.0 / kappa0
            u = (1 - 2 * p * (1 - p) / 50) ** n
            t = 0
            while 1 + (kappa0 - 1) * u ** t > 2 + 1e-12:
                t += 1
            assert bounds.coverage_rounds(n, num_prompts=50, kappa0=kappa0) == 1 + t, (kappa0, n)


def test_coverage_bad_input_raises():
    with pytest.raises(ValueError, match="kappa0 >= 2"):
        bounds.coverage_failure(10, 1, num_prompts=5, mode_probability=1 / 1.5)
    with pytest.raises(ValueError, match="factor"):
        bounds.coverage_rounds(10, num_prompts=5, kappa0=3.0, factor=1.0)
    with pytest.raises(ValueError, match="num_prompts"):
        bounds.coverage_failure(10, 1, num_prompts=0, mode_probability=1 / 3.0)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def test_rounds_to_suppress():
    kappa = np.array([[5.0, 3.0, 2.0, 1.5], [1.8, 1.0, 1.0, 1.0], [9.0, 8.0, 7.0, 6.0]])
    assert np.array_equal(it.rounds_to_suppress(kappa)[:2], [3.0, 1.0])
    assert np.isnan(it.rounds_to_suppress(kappa)[2])


def test_population_kappa_is_the_bump_closed_form():
    betas = np.array([[0.1, 0.5], [1.0, 2.0]])
    result = it.population_kappa(num_prompts=3, num_responses=7, kappa0s=[2.0, 5.0],
                                 betas=betas, T=3)
    assert result.shape == (2, 2, 2, 4)
    for i, kappa0 in enumerate((2.0, 5.0)):
        height = bump_height_for_kappa0(kappa0, 7)
        rounds = np.arange(4)
        expected = 1 + 6 * np.exp(-height * (1 + 1 / betas[..., None]) ** rounds)
        assert np.allclose(result[i], expected, rtol=1e-10)


def test_wide_grid_contains_the_simulated_sizes():
    wide = it.wide_n_grid([100, 300, 400], 3)
    assert wide == [100.0, 200.0, 300.0, 400.0, 800.0]


# --------------------------------------------------------------------------------------------
# iterative_bound_grid
# --------------------------------------------------------------------------------------------


def test_grid_trajectories_equal_direct_runs(grid, direct):
    failure = grid["failure"].sel(band="mean").values
    kappa = grid["kappa"].sel(band="mean").values
    for j, n in enumerate(SMALL["n_values"]):
        for rule in (0, 1):
            run = direct[n, rule]
            assert np.allclose(failure[:, j, rule], np.asarray(run.failure)[:, 0, 0].mean(1))
            assert np.allclose(kappa[:, j, rule], np.asarray(run.kappa)[:, 0, 0].mean(1))


def test_grid_level_one_equals_the_checks_on_direct_runs(grid, direct):
    lemma, tail, violations = [], [], 0
    for n in SMALL["n_values"]:
        run = direct[n, 0]
        c1 = checks.lemma_c1_check(run)
        lemma.append(c1.rhs[:, 0, 0].mean(1))
        tail.append(checks.tail_integral_check(run).inequality.rhs[:, 0, 0].mean(1))
        violations += checks.count_violations(c1)
    assert np.allclose(grid["c1_rhs"].values[:, :, 0, 1:], np.stack(lemma, axis=1))
    assert np.allclose(grid["tail_rhs"].values[:, :, 0, 1:], np.stack(tail, axis=1))
    assert np.all(np.isnan(grid["c1_rhs"].values[..., 0]))
    assert violations == 0 and grid.attrs["level_one"]["lemma_c1_violations"] == 0
    assert grid.attrs["level_one"]["steps_checked"] == 2 * 2 * 2 * 3 * 3


def test_recursion_with_inverse_mu_needs_no_coefficient(grid):
    """With mu over all rounds, kappa_t <= 1/mu: B' = 0 and the bound is flat (§7.1, §7.2)."""
    one = grid.attrs["level_one"]
    assert one["recursion_inverse_mu_coefficient_max"] == 0.0
    assert one["recursion_inverse_mu_offset_suffices"]
    flat = grid["recursion_inverse_mu"].values
    assert np.allclose(flat[..., 1:], flat[..., 1:2])


def test_recursion_fit_on_all_steps_equals_recursion_one(grid):
    fit = grid["recursion_fit"].values  # [kappa0, n, fit, t]
    one = grid["recursion_one"].values[:, :, 0]
    assert np.allclose(fit[:, :, -1], one)
    kappa_upper = grid["kappa"].sel(band="upper").values[:, :, 0]
    assert np.all(fit[:, :, -1] >= kappa_upper - 1e-9)


def test_grid_shape_and_calibration(grid):
    params = grid.attrs
    mu = grid["mu_min"].values
    gamma = grid["gamma_min"].values
    shape = grid["bound_shape"].values
    assert np.all(np.isnan(shape[..., 0]))
    i, j, t = 1, 0, 2
    expected = bounds.theorem_5_3_bound(SMALL["n_values"][j], t,
                                        log_class_size=10 * math.log(8), delta=params["delta"],
                                        gamma=gamma[i, j, t], mu=mu[i, j, t],
                                        kappa0=SMALL["kappa0s"][i])
    assert math.isclose(shape[i, j, t], expected, rel_tol=1e-12)
    calibrated = grid["bound_calibrated"].values
    constant = grid.attrs["level_two"]["constant"]
    assert np.allclose(calibrated[..., 1:], constant * shape[..., 1:])
    failure = grid["failure"].sel(band="mean").values[:, :, 0]
    assert math.isclose(calibrated[1, 0, 1], failure[1, 0, 1], rel_tol=1e-12)


def test_grid_slopes_are_least_squares_fits(grid):
    failure = grid["failure"].sel(band="mean").values[:, :, 0]
    slopes = grid["failure_slope_t"].values
    rounds = np.arange(1, SMALL["T"] + 1)
    for i in range(2):
        for j in range(2):
            row = failure[i, j, 1:]
            if np.sum(row > 0) >= 2:
                keep = row > 0
                assert math.isclose(slopes[i, j], np.polyfit(rounds[keep], np.log(row[keep]),
                                                              1)[0], rel_tol=1e-9)
            else:
                assert np.isnan(slopes[i, j])
    mu = grid["mu_min"].values[..., -1]
    assert np.allclose(grid["transient_slope_t"].values,
                       -0.5 * np.log1p(np.sqrt(np.asarray(SMALL["n_values"]) * mu)))


def test_grid_is_json_and_deterministic(grid):
    json.dumps(dataset_json(grid), allow_nan=False)
    settings = it._check_settings(10, 8, (2.5, 5.0), (20, 40), 3, 3, 0.5, 0.5)
    first = it._simulation.__wrapped__(0, *settings)
    second = it._simulation.__wrapped__(0, *settings)
    other = it._simulation.__wrapped__(1, *settings)
    assert np.array_equal(first.kappa, second.kappa)
    assert not np.array_equal(first.kappa, other.kappa)


@pytest.mark.parametrize("override, message", [
    ({"kappa0s": (2.5, 9.0)}, "kappa0s"),
    ({"kappa0s": (5.0, 2.5)}, "increasing"),
    ({"n_values": (40, 20)}, "n_values"),
    ({"T": 1}, "T"),
    ({"seeds": 1}, "seeds"),
    ({"delta": 1.5}, "delta"),
    ({"calibration": (3.0, 20, 1)}, "calibration"),
    ({"constant_beta": -1.0}, "constant_beta"),
])
def test_grid_bad_input_raises(override, message):
    with pytest.raises(ValueError, match=message):
        it.iterative_bound_grid(**{**SMALL, "calibration": (5.0, 20, 1), **override})


# --------------------------------------------------------------------------------------------
# iterative_level_three
# --------------------------------------------------------------------------------------------


def test_level_three_equals_the_kit_bound(level_three):
    wide = level_three["n"].values.tolist()
    mu, gamma = level_three["mu"].values, level_three["gamma"].values
    bound = level_three["bound"].values
    i, j = 1, 2
    expected = bounds.level_three_bound(np.asarray(wide), j + 1, gamma=gamma[i, j], mu=mu[i, j],
                                        kappa0=5.0, delta=0.05,
                                        log_class_size=10 * math.log(8)).failure_bound
    assert np.allclose(bound[i, j], expected, rtol=1e-12)
    crossing = bounds.level_three_crossing(j + 1, gamma=gamma[i, j], mu=mu[i, j], kappa0=5.0,
                                           delta=0.05, log_class_size=0.0)
    assert math.isclose(level_three["crossing_no_class"].values[i, j], crossing, rel_tol=1e-9)
    observed = level_three["failure_observed"].values
    simulated = [wide.index(float(n)) for n in SMALL["n_values"]]
    others = [k for k in range(len(wide)) if k not in simulated]
    assert np.all(np.isnan(observed[..., others]))
    assert np.all(np.isfinite(observed[..., simulated]))
    assert level_three.attrs["mu_relative_change"] < 1e-12  # untouched prompts keep 1/kappa0


# --------------------------------------------------------------------------------------------
# rounds_needed_grid
# --------------------------------------------------------------------------------------------


def test_rounds_thresholds_and_the_caveat(rounds):
    kappa0s = np.asarray(SMALL["kappa0s"])
    n = np.asarray(SMALL["n_values"], dtype=float)
    mu = rounds["mu_reading"].values
    # The caveat: with the start included, mu kappa0 <= 1, so the threshold is at most 1.
    assert np.all(mu[..., 0] * kappa0s[:, None] <= 1 + 1e-12)
    threshold = rounds["threshold"].values
    assert np.all(threshold[..., 0] <= 1 + 1e-12)
    expected = 1 + np.log(mu * kappa0s[:, None, None]) / np.log1p(np.sqrt(n[None, :, None] * mu))
    assert np.allclose(threshold, expected)
    stable, transient = rounds["stable"].values, rounds["transient"].values
    q = 1 / (1 + np.sqrt(n[None, :, None] * mu))
    assert np.allclose(stable[..., 0], 1 / np.sqrt(mu))
    assert np.allclose(transient[..., 1], np.sqrt(kappa0s)[:, None, None] * q ** 0.5)
    assert np.allclose(rounds["term_sum"].values, stable + transient)


def test_rounds_needed_from_direct_runs(rounds, direct):
    needed = rounds["rounds"].sel(band="mean").values
    for j, n in enumerate(SMALL["n_values"]):
        for rule in (0, 1):
            per_seed = it.rounds_to_suppress(np.asarray(direct[n, rule].kappa)[:, 0, 0])
            complete = ~np.isnan(per_seed).any(axis=1)
            for i in range(2):
                if complete[i]:
                    assert math.isclose(needed[i, j, rule], per_seed[i].mean())
                else:
                    assert np.isnan(needed[i, j, rule])
    assert np.allclose(rounds["coverage_rounds"].values,
                       bounds.coverage_rounds(np.asarray(SMALL["n_values"])[None, :],
                                              num_prompts=10,
                                              kappa0=np.asarray(SMALL["kappa0s"])[:, None]))


# --------------------------------------------------------------------------------------------
# The prototype table of toy A (paper-notes §10.4), quoted in chapter 5
# --------------------------------------------------------------------------------------------


def test_kit_reproduces_the_prototype_table():
    """m = 200, K = 50, b = log 2, beta = 0.5, n = 800: the notes' one-seed prototype row, and
    the kit's own 8-seed means (seed 0), which the book quotes."""
    start = instances.bump(200, 50, math.log(2))
    run = dynamics.run(jax.random.key(0), start, n=800, T=6, beta=0.5, seeds=8)
    kappa = np.asarray(run.kappa).mean(axis=0)
    failure = np.asarray(run.failure).mean(axis=0)
    assert np.round(kappa, 1).tolist() == [25.5, 22.0, 18.3, 14.9, 12.0, 9.2, 7.3]
    prototype_kappa = [25.5, 22.1, 18.5, 14.2, 11.5, 9.2, 7.1]
    prototype_failure = [1, 1, 0.99, 0.89, 0.715, 0.605, 0.44]
    assert np.all(np.abs(kappa - prototype_kappa) < 1.0)
    assert np.all(np.abs(failure - prototype_failure) < 0.05)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------

FIGURES = [
    (figures.main_figure, "grid", ["n", "kappa0"]),
    (figures.level_one_figure, "grid", ["n", "kappa0"]),
    (figures.rate_in_n_figure, "grid", ["t", "kappa0"]),
    (figures.beta_figure, "grid", ["n", "kappa0", "beta"]),
    (figures.level_three_figure, "level_three", ["T", "kappa0"]),
    (figures.rounds_figure, "rounds", ["kappa0", "beta"]),
    (figures.split_figure, "rounds", ["n", "kappa0", "reading"]),
]


@pytest.mark.parametrize("builder, fixture, sliders", FIGURES)
def test_figures_show_the_experiments_values(builder, fixture, sliders, request):
    result = request.getfixturevalue(fixture)
    figure = builder(result)
    meta = figure.figure.layout.meta["srlm"]
    assert meta["sliders"] == sliders and meta["experiment"] in EXPERIMENTS
    assert len(figure.description) > 100
    # At every slider position of the first slider (others at their start), what the page
    # shows is what the experiment holds.
    layout_sliders = figure.figure.layout.sliders
    for step in range(len(layout_sliders[0].steps)):
        active = [step] + [slider.active for slider in layout_sliders[1:]]
        setting = {dim: json.loads(layout_sliders[k].steps[active[k]].value)
                   for k, dim in enumerate(sliders)}
        expected = expected_traces(result, meta, [trace.meta for trace in figure.figure.data],
                                   setting)
        shown = figure.traces_at(active)
        for index, values in shown.items():
            kit = np.asarray(expected[index], dtype=float)
            page = np.asarray([np.nan if value is None else value for value in values])
            assert np.allclose(page, kit, rtol=5.0001e-4, equal_nan=True)


def test_stacked_panels_keep_trace_order(grid):
    figure = figures.level_one_figure(grid)
    fields = [trace.meta["field"] for trace in figure.figure.data if trace.meta
              and "field" in trace.meta]
    assert fields[:2] == ["c1_lhs", "c1_rhs"]
    axes = {trace.meta["field"]: trace.yaxis for trace in figure.figure.data
            if trace.meta and "field" in trace.meta}
    assert axes["c1_lhs"] == "y" and axes["kappa"] == "y2"
    assert figure.figure.layout.yaxis.type == "log" and figure.figure.layout.yaxis2.type == "log"


def test_main_figure_has_one_panel_and_at_most_five_named_curves(grid):
    figure = figures.main_figure(grid)
    named = [trace for trace in figure.figure.data if trace.showlegend is not False]
    assert len(named) <= 5 and len(figure.figure.data) <= 6
    assert "yaxis2" not in figure.figure.layout.to_plotly_json()
    # Lemma C.1's curve is the grid's c1_rhs at the sliders' initial setting.
    c1 = next(trace for trace in figure.figure.data if trace.meta["field"] == "c1_rhs")
    i_n, i_k = (slider.active for slider in figure.figure.layout.sliders)
    expected = grid["c1_rhs"].values[i_k, i_n, 0]
    shown = np.asarray([np.nan if value is None else value for value in c1.y], dtype=float)
    assert np.allclose(shown, expected, rtol=5.0001e-4, equal_nan=True)


