"""The one-round lemma: its SymPy derivations, checked independently, and its measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import optimize

from srlm_kit import bounds, theory
from srlm_kit.experiments.iterative import one_round_grid


def test_realizable_erm_rate_solves_the_bernstein_union_bound():
    result = theory.realizable_erm_rate().result.rhs
    eta, n, log_ratio = sp.symbols("eta n log(|Pi|/delta)", positive=True)
    # Independent: the level D at which exp(-n D^2 / (2 eta^2 D + 2 eta^2 D / 3)) = exp(-L).
    level = sp.Rational(8, 3) * eta**2 * log_ratio / n
    assert sp.simplify(result**2 - level) == 0
    # Numerically: at that D the Bernstein bound times |Pi| equals delta.
    values = {"eta": 3.0, "n": 500.0, "L": math.log(1e4 / 0.05)}
    squared = float((result**2).subs({eta: values["eta"], n: values["n"],
                                      log_ratio: values["L"]}))
    exponent = values["n"] * squared**2 / (2 * values["eta"]**2 * squared
                                          + 2 * values["eta"]**2 * squared / 3)
    assert 1e4 * math.exp(-exponent) == pytest.approx(0.05, rel=1e-12)


def test_realizable_rate_matches_the_kits_statistical_error_up_to_its_constant():
    """bounds.statistical_error sets the constant 8/3 to 1: the ratio is sqrt(8/3) everywhere."""
    result = theory.realizable_erm_rate().result.rhs
    eta, n, log_ratio = sp.symbols("eta n log(|Pi|/delta)", positive=True)
    for size in (100.0, 800.0, 3200.0):
        error, clip = bounds.statistical_error(size, log_class_size=100 * math.log(50),
                                               delta=0.05)
        value = float(result.subs({eta: clip, n: size,
                                   log_ratio: 100 * math.log(50) - math.log(0.05)}))
        assert value / error == pytest.approx(math.sqrt(8 / 3), rel=1e-12)


def test_change_of_measure_second_moment_and_cauchy_schwarz_numerically():
    steps = dict(theory.change_of_measure().steps)
    moment = steps["Second moment of w for a point mass on response 1 (K = 3)"].rhs
    p1 = sp.Symbol("pi_t(1)", positive=True)
    assert sp.simplify(moment - 1 / p1) == 0
    # Independent numeric check of the bound on random policies and residuals (NumPy).
    rng = np.random.default_rng(0)
    for _ in range(200):
        prompts, responses = 7, 5
        probs = rng.dirichlet(np.ones(responses), size=prompts)
        residual = rng.normal(size=(prompts, responses))
        mode = probs.argmax(axis=1)
        pair = residual[:, :, None] - residual[:, None, :]  # g(y, y') = h(y) - h(y')
        train = np.mean(np.einsum("xa,xb,xab->x", probs, probs, pair**2))
        target = np.mean(np.einsum("xb,xb->x", probs,
                                   np.abs(pair[np.arange(prompts), mode])))
        kappa = np.mean(1 / probs.max(axis=1))
        assert target <= math.sqrt(kappa * train) + 1e-12
        assert np.mean(np.log(1 / probs.max(axis=1))) <= math.log(kappa) + 1e-12


def test_jensen_step_is_non_negative():
    gap = dict(theory.change_of_measure().steps)[
        "Jensen on two prompts: log of the mean of 1/p minus the mean of log(1/p) "
        "(non-negative: the ratio of an arithmetic to a geometric mean)"]
    p1, p2 = sp.symbols("p_1 p_2", positive=True)
    function = sp.lambdify((p1, p2), gap)
    worst = optimize.minimize(lambda v: function(*np.exp(v)), x0=[-1.0, 0.5]).fun
    assert worst >= -1e-9
    assert sp.simplify(gap.subs(p2, p1)) == 0


def test_one_round_bound_has_the_sqrt_kappa_over_n_shape():
    steps = theory.one_round_bound().steps
    scaled = steps[-1][1]
    kappa_t = sp.Symbol("kappa_t", positive=True)
    # sqrt(n) times the gap bound does not depend on n ...
    assert theory.n not in scaled.free_symbols
    # ... and grows like sqrt(kappa_t) up to the logarithm.
    assert sp.limit(scaled / sp.sqrt(kappa_t), kappa_t, sp.oo) > 0


@pytest.fixture(scope="module")
def grid():
    return one_round_grid(kappa0s=(3.0, 25.5), n_values=(100, 800), seeds=3)


def test_one_round_grid_inequalities_hold_on_every_seed(grid):
    one = grid.attrs["level_one"]
    assert one["seeds_checked"] == 2 * 2 * 3
    assert one["decomposition_violations"] == 0 and one["change_of_measure_violations"] == 0
    gap, decomposition = np.array(grid["gap"]), np.array(grid["decomposition"])
    assert np.all(gap <= decomposition + 1e-9)
    tightness = np.array(grid["tightness"])
    assert np.all((tightness > 0) & (tightness <= 1 + 1e-9))


def test_one_round_grid_against_a_direct_computation(grid):
    """The failure after one round of the grid equals the failure recomputed by hand from the
    gap-free quantity: the bump start's bound field is 2 (sqrt(kappa0) eps + log(kappa0)/sqrt(n))
    / b with eps from the kit's statistical error."""
    heights = grid.attrs["bump_heights"]
    for i, kappa0 in enumerate(grid["kappa0"].values.tolist()):
        for j, size in enumerate(grid["n"].values.tolist()):
            error, _ = bounds.statistical_error(size, log_class_size=100 * math.log(50),
                                                delta=0.05)
            expected = 2 * (math.sqrt(kappa0) * error + math.log(kappa0) / math.sqrt(size)) \
                / heights[i]
            assert grid["bound"][i][j] == pytest.approx(expected, rel=1e-12)
            # A bump start has 1/kappa0 on its mode: p = e^b/(e^b + K - 1).
            assert math.exp(heights[i]) / (math.exp(heights[i]) + 49) == pytest.approx(
                1 / kappa0, rel=1e-9)


def test_one_round_grid_rejects_bad_input():
    with pytest.raises(ValueError, match="delta"):
        one_round_grid(delta=1.5)
    with pytest.raises(ValueError, match="seeds"):
        one_round_grid(seeds=1)


def test_one_round_statistics_against_numpy_loops():
    """Every quantity of one seed, recomputed with plain loops over prompts and pairs."""
    import jax

    from srlm_kit import dynamics, instances, policies
    from srlm_kit.experiments.iterative import _one_round_statistics

    start = instances.bump(4, 5, 1.0)
    key, n, beta = jax.random.key(3), 12, 0.3
    triples = policies.sample_triples(key, start.logits, start.rho, n, 16)
    old = np.asarray(policies.log_policy(start.logits))
    new = np.asarray(dynamics.erm_update(start.logits, triples, beta))
    stats = np.asarray(_one_round_statistics(old, new, start.rho, beta))
    p_old, p_new = np.exp(old), np.exp(new)
    train = target = gap = kl_star = kl_new = 0.0
    for x in range(4):
        star = int(np.argmax(old[x]))
        for y in range(5):
            for y2 in range(5):
                g = beta * ((new[x, y] - old[x, y]) - (new[x, y2] - old[x, y2])) \
                    - (old[x, y] - old[x, y2])
                train += p_old[x, y] * p_old[x, y2] * g**2 / 4
                if y == star:
                    target += p_old[x, y2] * abs(g) / 4
        gap += (old[x, star] - np.sum(p_new[x] * old[x])) / 4
        kl_star += beta * -old[x, star] / 4
        kl_new += beta * np.sum(p_new[x] * (new[x] - old[x])) / 4
    assert stats[0] == pytest.approx(math.sqrt(train), rel=1e-9)
    assert stats[1] == pytest.approx(target, rel=1e-9)
    assert stats[4] == pytest.approx(kl_star, rel=1e-9)
    assert stats[5] == pytest.approx(kl_new, rel=1e-9, abs=1e-12)
    assert stats[6] == pytest.approx(gap, rel=1e-9, abs=1e-12)
    assert stats[6] <= stats[2] + stats[3] + stats[4] - stats[5] + 1e-12
