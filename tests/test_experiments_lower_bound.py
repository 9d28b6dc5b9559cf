"""Tests of the experiments of the chapter "One step is not enough"
(srlm_kit.experiments.lower_bound), against independent computations: the sampled data
themselves, closed forms, and the lower-bound equation."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import sympy as sp

from srlm_kit import bounds, dynamics, instances, metrics, policies
from srlm_kit.experiments import lower_bound


def _unsolved_prompts(key, instance, n: int, seeds: int) -> np.ndarray:
    """For every seed, the informative prompts on which no triple of round 0 pairs the bump with
    another response, read off the data that ``dynamics.run`` draws (its documented key scheme:
    seed s uses ``split(key, seeds)[s]``, round t ``fold_in(seed key, t)``, the first n of a
    stream)."""
    target = np.asarray(instance.target)
    unsolved = []
    for seed_key in jax.random.split(key, seeds):
        round_key = jax.random.fold_in(seed_key, 0)
        triples = policies.sample_triples(round_key, instance.logits, instance.rho, n, n)
        x, y, y_prime = (np.asarray(field)[:n] for field in triples[:3])
        paired = (y == target[x]) != (y_prime == target[x])
        solved = set(x[paired].tolist())
        unsolved.append([i for i in range(1, len(target)) if i not in solved])
    return unsolved


@pytest.mark.parametrize("n", [30, 300])
def test_failure_after_one_round_is_the_share_of_unpaired_bumps(n):
    """The mechanism, run by run: fail iff no triple paired the bump with another response."""
    k, M, Delta = 8, 12, 0.3
    start = instances.hard_instance(jax.random.key(4), k, M, Delta)
    assert bounds.hard_instance_mechanism_holds(M, 0.05)
    key = jax.random.key(9)
    run = dynamics.run(key, start, n=n, T=1, beta=0.05, seeds=6)
    unsolved = _unsolved_prompts(key, start, n, 6)
    for seed_index, prompts in enumerate(unsolved):
        expected = Delta / k * len(prompts)
        assert math.isclose(float(run.failure[seed_index, 1]), expected, abs_tol=1e-12)
        assert math.isclose(float(run.target_failure[seed_index, 1]), expected, abs_tol=1e-12)


def test_expected_failure_is_the_exact_expectation():
    k, M, Delta, n = 3, 6, 0.4, 7
    p = 2 / M
    # Per triple: lands on a given informative prompt (Delta/k) with exactly one bump.
    q = (Delta / k) * (2 * p * (1 - p))
    assert math.isclose(float(bounds.hard_instance_expected_failure(n, k=k, M=M, Delta=Delta)),
                        Delta * (1 - q) ** n, rel_tol=1e-14)
    three_rounds = bounds.hard_instance_expected_failure(n, k=k, M=M, Delta=Delta, rounds=3)
    assert math.isclose(float(three_rounds), Delta * (1 - q) ** (3 * n), rel_tol=1e-14)
    # The notes' approximation Delta exp(-4 Delta n/(k M)) is close for large M.
    exact = bounds.hard_instance_expected_failure(1000, k=20, M=400, Delta=0.2)
    approximate = bounds.hard_instance_expected_failure_approximate(1000, k=20, M=400, Delta=0.2)
    assert math.isclose(float(exact), float(approximate), rel_tol=0.01)
    with pytest.raises(ValueError, match="Delta"):
        bounds.hard_instance_expected_failure(10, k=3, M=6, Delta=1.5)
    with pytest.raises(ValueError, match="M"):
        bounds.hard_instance_expected_failure(10, k=3, M=2, Delta=0.5)


def test_mechanism_breaks_for_large_beta():
    """With beta = 2 a single pair no longer lifts the bump above 1/2: failure stays Delta."""
    k, M, Delta = 10, 40, 0.2
    assert bounds.hard_instance_mechanism_holds(M, 0.05)
    assert not bounds.hard_instance_mechanism_holds(M, 2.0)
    start = instances.hard_instance(jax.random.key(1), k, M, Delta)
    run = dynamics.run(jax.random.key(2), start, n=2000, T=1, beta=2.0, seeds=2)
    assert np.allclose(np.asarray(run.failure)[:, 1], Delta)


def test_worst_case_bump_mass_maximises_the_approximate_failure():
    n, k, kappa0 = sp.symbols("n k kappa_0", positive=True)
    Delta = sp.Symbol("Delta", positive=True)
    failure = Delta * sp.exp(-2 * Delta**2 * n / (k * (kappa0 - 1)))
    (critical,) = sp.solve(sp.diff(failure, Delta), Delta)
    value = float(critical.subs({n: 1600, k: 20, kappa0: 5}))
    assert math.isclose(float(bounds.worst_case_bump_mass(1600, k=20, kappa0=5.0)), value,
                        rel_tol=1e-12)
    with pytest.raises(ValueError, match="kappa0"):
        bounds.worst_case_bump_mass(100, k=2, kappa0=1.0)


@pytest.mark.parametrize("kappa0, Delta", [(2.0, 0.11), (5.0, 0.07), (9.0, 0.3)])
def test_instance_sizes_give_exactly_kappa0(kappa0, Delta):
    M, adjusted = instances.hard_instance_sizes(kappa0, Delta)
    start = instances.hard_instance(jax.random.key(0), 4, M, adjusted)
    assert math.isclose(float(metrics.condition_number(start.logits, start.rho)), kappa0,
                        rel_tol=1e-12)
    assert abs(adjusted - Delta) < 0.2 * Delta


def test_reviewer_form_and_sample_size():
    assert math.isclose(float(bounds.reviewer_lower_bound(1000, 4.0, 10.0)),
                        math.sqrt(40 / (1000 * math.log(400))), rel_tol=1e-14)
    with pytest.raises(ValueError, match="n must exceed"):
        bounds.reviewer_lower_bound(2, 4.0, 10.0)
    for level, kappa0, size in [(0.1, 4.0, 10.0), (0.03, 64.0, 1.0), (0.3, 2.0, 100.0)]:
        n = bounds.lower_bound_sample_size(level, kappa0, size)
        assert math.isclose(float(bounds.theorem_4_1_lower_bound(n, kappa0, size)), level,
                            rel_tol=1e-10)
    with pytest.raises(ValueError, match="level"):
        bounds.lower_bound_sample_size(0.0, 4.0, 1.0)


def test_single_step_failure_small_grid():
    kwargs = dict(k=6, kappa0s=(2.0, 3.0), n_values=(60, 120, 240), seeds=4,
                  calibration=(2.0, 120), prototype=False)
    result = lower_bound.single_step_failure(**kwargs)
    assert result.equals(lower_bound.single_step_failure(**kwargs))  # deterministic
    M = np.asarray(result["family_M"])
    Delta = np.asarray(result["family_Delta"])
    for i, kappa0 in enumerate((2.0, 3.0)):
        assert np.allclose(1 + Delta[i] * (M[i] / 2 - 1), kappa0, rtol=1e-12)
        for j, n in enumerate((60, 120, 240)):
            expected = bounds.hard_instance_expected_failure(n, k=6, M=int(M[i, j]),
                                                             Delta=Delta[i, j])
            assert math.isclose(result["family_expected"][i][j], float(expected), rel_tol=1e-12)
            bound = bounds.theorem_4_1_lower_bound(n, kappa0, 6 * math.log(M[i, j]))
            assert math.isclose(result["bound"][i][j], float(bound), rel_tol=1e-12)
    # The fixed instance is the family's first member: equal at the smallest n.
    np.testing.assert_array_equal(result["fixed"].sel(band="mean")[:, 0],
                                  result["family"].sel(band="mean")[:, 0])
    assert result.attrs["checks"]["failure_equals_target_failure"]
    calibration = result.attrs["calibration"]
    assert math.isclose(result["bound_calibrated"][0][1],
                        result["family"].sel(band="mean")[0][1], rel_tol=1e-12)
    family_mean = result["family"].sel(band="mean")
    assert math.isclose(calibration["constant"], family_mean[0, 1] / result["bound"][0, 1],
                        rel_tol=1e-12)
    assert result.attrs["prototype"] is None
    with pytest.raises(ValueError, match="n_values"):
        lower_bound.single_step_failure(**{**kwargs, "n_values": (120, 60)})
    with pytest.raises(ValueError, match="beta"):
        lower_bound.single_step_failure(**{**kwargs, "beta": 5.0})


def test_lower_bound_forms_solve_their_equations():
    result = lower_bound.lower_bound_forms(kappa0s=(4.0,), log_class_sizes=(10.0,),
                                           n_values=(1000, 100000, 10000000))
    K = 40.0
    for j, n in enumerate((1000, 100000, 10000000)):
        eps = result["exact_with_one"][0][0][j]
        assert math.isclose(eps**2 * (1 + math.log(4 / eps)), K / n, rel_tol=1e-10)
        eps = result["exact_without_one"][0][0][j]
        assert math.isclose(eps**2 * math.log(4 / eps), K / n, rel_tol=1e-10)
    ratio = np.asarray(result["asymptotic"][0][0]) / np.asarray(result["exact_without_one"][0][0])
    assert np.all(np.diff(np.abs(ratio - 1)) < 0) and abs(ratio[-1] - 1) < 0.1


def test_lower_bound_sample_sizes_grow_almost_linearly():
    result = lower_bound.lower_bound_sample_sizes(levels=(0.1,), log_class_sizes=(1.0,))
    kappa0 = np.asarray(result["kappa0"].values.tolist())
    needed = np.asarray(result["n_needed"][0][0])
    assert np.all(np.diff(needed) > 0)
    per_kappa = needed / kappa0
    assert np.all(np.diff(per_kappa) < 0)  # sublinear only through the logarithm
    assert np.allclose(per_kappa * 0.1**2 * (1 + np.log(kappa0 / 0.1)), 1.0, rtol=1e-12)


def test_hard_instance_explorer_shows_the_kits_runs():
    from srlm_kit.figures.lower_bound import HardInstanceExplorer

    explorer = HardInstanceExplorer(k=4, shape=(5, 13), n_values=(20, 80), seeds=3)
    explorer.M.value = 10
    explorer.Delta.value = 0.3
    key_instance, key_run = jax.random.split(jax.random.key(0))
    start = instances.hard_instance(key_instance, 4, 10, 0.3)
    padded = instances.pad(start, 5, 13)
    for index, n in enumerate((20, 80)):
        run = dynamics.run(key_run, padded, n=n, T=1, beta=0.05, seeds=3)
        assert math.isclose(explorer.data["mean"][index], float(np.mean(run.failure[:, 1])),
                            abs_tol=1e-12)
    assert explorer.figure.data[2].y == tuple(explorer.data["mean"])
    assert math.isclose(explorer.data["kappa0"], 1 + 0.3 * (10 / 2 - 1), rel_tol=1e-12)
    assert "κ₀ = 2.200" in explorer.status.value
    with pytest.raises(ValueError, match="shape"):
        HardInstanceExplorer(k=4, shape=(3, 13))
