"""The inequalities on simulated trajectories: both sides recomputed independently, zero
violations over many random configurations, the recursion fit, calibration and level 3."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from scipy import integrate

from srlm_kit import bounds, checks, dynamics, instances

LOG_FLOOR = -1.0e4  # policies.LOG_FLOOR, restated for the independent NumPy computations


# --------------------------------------------------------------------------------------------
# Random configurations: tabular (bump, random, hard, uniform) and linear, many n, beta, seeds
# --------------------------------------------------------------------------------------------


def tabular_inits(rng: np.random.Generator, m: int = 12, num_responses: int = 8):
    inits = [instances.bump(m, num_responses, float(h)) for h in rng.uniform(0.05, 3.0, 3)]
    inits += [instances.random_logits(jax.random.key(int(seed)), m, num_responses, float(temp))
              for seed, temp in zip(rng.integers(0, 2**31, 3), rng.uniform(0.2, 3.0, 3),
                                    strict=True)]
    inits.append(instances.hard_instance(jax.random.key(int(rng.integers(2**31))), k=m - 1,
                                         M=num_responses - 1, Delta=float(rng.uniform(0.05, 0.9))))
    inits.append(instances.uniform(m, num_responses))  # every margin 0: trivially true rounds
    return instances.stack(inits)


def linear_inits(rng: np.random.Generator, m: int = 10, num_responses: int = 6, d: int = 8):
    inits = []
    for index in range(4):
        key = jax.random.key(int(rng.integers(2**31)))
        if index % 2 == 0:
            features = instances.random_unit_features(key, m, num_responses, d)
        else:
            features, _ = instances.decaying_spectrum_features(key, m, num_responses, d,
                                                               float(rng.uniform(0.2, 1.5)))
        theta = rng.normal(size=d) * rng.uniform(0.3, 3.0)
        inits.append(instances.linear(features, theta))
    return instances.stack(inits)


@pytest.fixture(scope="module")
def sweep():
    """About 1600 random configurations, 5 rounds each, as a list of trajectories."""
    rng = np.random.default_rng(2026)
    betas = np.exp(rng.uniform(math.log(1e-3), math.log(10.0), 5))
    n_values = np.sort(rng.integers(1, 400, 5))
    tabular = tabular_inits(rng)
    runs = [
        dynamics.run_grid(jax.random.key(1), tabular, n_values, betas, T=5, seeds=6),
        dynamics.run_grid(jax.random.key(2), linear_inits(rng), n_values[:4], betas[:4], T=5,
                          seeds=6),
        dynamics.run_grid(jax.random.key(3), tabular, n_values[:1], betas, T=5, seeds=1,
                          update="population"),
    ]
    return runs


def configurations(trajectories) -> int:
    return sum(int(np.prod(np.shape(run.kappa)[:-1])) for run in trajectories)


@pytest.mark.slow
def test_lemma_c1_and_tail_integral_hold_on_every_configuration(sweep):
    assert configurations(sweep) >= 1000
    lemma_slack, tail_slack, failing_slack, steps = math.inf, math.inf, math.inf, 0
    for run in sweep:
        lemma = checks.lemma_c1_check(run)
        tail = checks.tail_integral_check(run)
        assert checks.count_violations(lemma) == 0
        assert checks.count_violations(tail.inequality) == 0
        assert not np.isnan(lemma.slack).any() and not np.isnan(tail.inequality.slack).any()
        lemma_slack = min(lemma_slack, checks.smallest_slack(lemma))
        tail_slack = min(tail_slack, checks.smallest_slack(tail.inequality))
        # Slack 0 also occurs as 0 <= 0 (nothing fails, zero gap); report the steps with
        # failures separately.
        failing = lemma.active & (lemma.lhs > 0)
        if failing.any():
            failing_slack = min(failing_slack, float(lemma.slack[failing].min()))
        steps += int(lemma.active.sum())
    print(f"\n{configurations(sweep)} configurations, {steps} steps: smallest slack "
          f"Lemma C.1 {lemma_slack:.3e} (on steps with some failure {failing_slack:.3e}), "
          f"tail integral {tail_slack:.3e}")
    # Both inequalities can be tight (e.g. a symmetric instance with kappa_{t+1} = 1/mu_{t+1}
    # and a = 1 - mu_{t+1}); a negative slack may only be a few units of rounding.
    assert lemma_slack >= -1e-12 and tail_slack >= -1e-12


@pytest.mark.slow
def test_recursion_fits_and_unrolled_bounds_hold_on_every_configuration(sweep):
    for run in sweep:
        for offset in checks.OFFSETS:
            for include_initial_round in (True, False):
                fit = checks.recursion_check(run, offset, include_initial_round)
                assert checks.count_violations(fit.step) == 0
                assert checks.count_violations(fit.unrolled) == 0
                assert np.all(fit.coefficient >= 0) and np.all(fit.contraction < 1)
        with_round_zero = checks.recursion_check(run, "inverse_mu")
        # kappa_t <= 1/mu_t <= 1/mu for every round: A = 1/mu alone suffices (§7.1, §7.2).
        assert np.all(with_round_zero.offset_suffices)
        assert np.all(with_round_zero.coefficient == 0)


# --------------------------------------------------------------------------------------------
# Both sides recomputed independently from the logits (NumPy)
# --------------------------------------------------------------------------------------------


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return np.maximum(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)), LOG_FLOOR)


def numpy_step_quantities(logits_t, logits_next, rho, threshold):
    """gap, gamma_t, retention failure, kappa_{t+1}, mu_{t+1} from two logit tables."""
    reward = log_softmax(logits_t)
    probs_next = np.exp(log_softmax(logits_next))
    support = rho > 0
    mode = np.argmax(logits_t, axis=-1)
    gap = float(np.sum(rho * np.maximum(reward.max(-1) - (probs_next * reward).sum(-1), 0)))
    ordered = np.sort(reward, axis=-1)
    gamma_t = float(np.min((ordered[:, -1] - ordered[:, -2])[support]))
    kept = probs_next[np.arange(len(mode)), mode]
    retention = float(np.sum(rho * (kept <= threshold)))
    top_next = probs_next.max(-1)
    return gap, gamma_t, retention, float(np.sum(rho / top_next)), float(top_next[support].min())


@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_sides_equal_an_independent_computation(threshold):
    instance = instances.random_logits(jax.random.key(4), 30, 10, 1.0)
    run = dynamics.run(jax.random.key(5), instance, n=60, T=4, beta=0.4, seeds=3,
                       threshold=threshold, keep_logits=True)
    lemma = checks.lemma_c1_check(run, threshold)
    tail = checks.tail_integral_check(run)
    logits = np.asarray(run.logits)
    rho = np.asarray(instance.rho)
    for seed in range(3):
        for t in range(4):
            gap, gamma_t, retention, kappa_next, mu_next = numpy_step_quantities(
                logits[seed, t], logits[seed, t + 1], rho, threshold)
            assert lemma.lhs[seed, t] == pytest.approx(retention, abs=1e-12)
            assert lemma.rhs[seed, t] == pytest.approx(gap / (gamma_t * (1 - threshold)),
                                                       rel=1e-9)
            assert tail.inequality.lhs[seed, t] == pytest.approx(kappa_next, rel=1e-12)
            ratio = gap / gamma_t
            top = 1 / mu_next
            transition = 1 / (1 - ratio) if ratio < 1 else math.inf

            def capped(level, ratio=ratio):
                return min(1.0, ratio * level / (level - 1.0)) if level > 1 else 1.0

            points = [transition] if 1 < transition < top else None
            integral, _ = integrate.quad(capped, 1, top, points=points, limit=200,
                                         epsabs=1e-12, epsrel=1e-11)
            assert tail.inequality.rhs[seed, t] == pytest.approx(1 + integral, rel=1e-8)
            assert kappa_next <= 1 + integral


def test_lemma_c1_over_thresholds_agrees_and_holds():
    instance = instances.bump(50, 20, 0.7)
    run = dynamics.run(jax.random.key(6), instance, n=200, T=3, beta=0.5, keep_logits=True)
    logits = np.asarray(run.logits)[0]
    thresholds = np.linspace(0.01, 0.99, 99)
    for t in range(3):
        curve = checks.lemma_c1_over_thresholds(logits[t], logits[t + 1], instance.rho,
                                                thresholds)
        assert checks.count_violations(curve) == 0
        assert np.all(np.diff(curve.lhs) >= 0) and np.all(np.diff(curve.rhs) > 0)
        at_half = checks.lemma_c1_over_thresholds(logits[t], logits[t + 1], instance.rho, 0.5)
        step = checks.lemma_c1_check(run)
        assert at_half.lhs[0] == pytest.approx(step.lhs[0, t], abs=1e-12)
        assert at_half.rhs[0] == pytest.approx(step.rhs[0, t], rel=1e-12)


def test_zero_margin_gives_infinite_right_sides_not_nan():
    run = dynamics.run(jax.random.key(0), instances.uniform(5, 4), n=20, T=3, beta=0.5)
    lemma = checks.lemma_c1_check(run)
    assert np.all(np.asarray(run.gamma) == 0)
    assert np.all(np.isinf(lemma.rhs)) and np.all(np.isinf(lemma.slack)) and lemma.holds.all()
    tail = checks.tail_integral_check(run)
    assert np.all(np.isinf(tail.a)) and tail.trivial.all() and not tail.closed_form.any()
    np.testing.assert_allclose(tail.inequality.rhs, 1 / np.asarray(run.mu)[..., 1:])
    assert checks.smallest_slack(lemma) == math.inf


def test_tail_check_flags_large_a_as_trivial():
    # Random logits: some prompt has a near-tie, so gamma_t is small and gap/gamma large.
    run = dynamics.run(jax.random.key(1), instances.random_logits(jax.random.key(0), 12, 8, 1.0),
                       n=10, T=2, beta=10.0)
    tail = checks.tail_integral_check(run)
    assert np.any(tail.a >= 1)
    large = tail.a >= 1
    assert np.all(tail.trivial[large])
    np.testing.assert_allclose(tail.inequality.rhs[large],
                               1 / np.asarray(run.mu)[..., 1:][large])


def test_inactive_steps_are_masked():
    run = dynamics.run(jax.random.key(2), instances.bump(20, 10, 0.7), n=100, T=2, beta=0.5,
                       shape=dynamics.Shape(128, 5))
    lemma = checks.lemma_c1_check(run)
    np.testing.assert_array_equal(lemma.active[0], [True, True, False, False, False])
    fit = checks.recursion_check(run)
    np.testing.assert_array_equal(fit.unrolled.active[0],
                                  [True, True, True, False, False, False])


# --------------------------------------------------------------------------------------------
# Recursion fit
# --------------------------------------------------------------------------------------------


def synthetic(kappa, mu=None, rounds=None):
    """A Trajectory with given kappa (and mu) per round; other fields are unused zeros."""
    kappa = np.asarray(kappa, dtype=float)
    rounds = kappa.shape[-1] - 1 if rounds is None else rounds
    mu = 1 / kappa if mu is None else np.asarray(mu, dtype=float)
    zeros_rounds = np.zeros_like(kappa)
    zeros_steps = zeros_rounds[..., 1:]
    return dynamics.Trajectory(
        kappa=kappa, failure=zeros_rounds, target_failure=zeros_rounds, mu=mu,
        gamma=zeros_rounds + 1, agreement=zeros_rounds, theta_norm=zeros_rounds,
        inside_ball=zeros_rounds > 0, active=np.arange(kappa.shape[-1]) <= rounds,
        step_gap=zeros_steps, step_retention_failure=zeros_steps)


def test_recursion_coefficient_is_the_smallest_that_works():
    kappa = np.array([25.5, 14.6, 5.7, 2.0, 1.1, 1.0])  # paper-notes §10.4, n = 3200
    fit = checks.recursion_check(synthetic(kappa), "one")
    needed = (kappa[1:] - 1) / np.sqrt(kappa[:-1])
    assert fit.coefficient == pytest.approx(needed.max(), rel=1e-15)
    assert not fit.offset_suffices
    assert checks.smallest_slack(fit.step) == pytest.approx(0, abs=1e-12)
    smaller = fit.coefficient * (1 - 1e-6)
    assert np.any(kappa[1:] > 1 + smaller * np.sqrt(kappa[:-1]))
    assert fit.fixed_point == pytest.approx(bounds.kappa_fixed_point(1.0, needed.max()))
    assert fit.contraction == pytest.approx(bounds.contraction_factor(1.0, needed.max()))
    expected = bounds.kappa_unrolled_bound(np.arange(6), 25.5, 1.0, needed.max())
    np.testing.assert_allclose(fit.unrolled.rhs, expected, rtol=1e-12)
    assert checks.count_violations(fit.unrolled) == 0


def test_recursion_with_inverse_mu_offset_and_the_round_zero_caveat():
    kappa = np.array([25.5, 14.6, 5.7, 2.0])
    mu = np.array([1 / 25.5, 0.08, 0.2, 0.6])  # kappa_t <= 1/mu_t
    with_zero = checks.recursion_check(synthetic(kappa, mu), "inverse_mu")
    assert with_zero.mu == pytest.approx(1 / 25.5)
    assert with_zero.offset_suffices and with_zero.coefficient == 0
    assert with_zero.fixed_point == pytest.approx(25.5) and with_zero.contraction == 0
    without_zero = checks.recursion_check(synthetic(kappa, mu), "inverse_mu",
                                          include_initial_round=False)
    assert without_zero.mu == pytest.approx(0.08)
    assert without_zero.offset == pytest.approx(12.5)
    assert without_zero.coefficient == pytest.approx((14.6 - 12.5) / math.sqrt(25.5))
    assert checks.count_violations(without_zero.unrolled) == 0


def test_unrolled_bound_holds_when_starting_below_the_fixed_point():
    # kappa rises from below kappa* towards it; the fitted bound rises too and still holds.
    kappa = np.array([1.0, 2.0, 2.4, 2.55, 2.6])
    fit = checks.recursion_check(synthetic(kappa, np.full(5, 0.3)), "one")
    assert kappa[0] < fit.fixed_point
    assert np.all(np.diff(fit.unrolled.rhs) > 0)
    assert checks.count_violations(fit.unrolled) == 0


def test_recursion_with_no_steps():
    fit = checks.recursion_check(synthetic(np.array([[3.0, 3.0]]), rounds=0), "inverse_mu",
                                 include_initial_round=False)
    assert fit.offset_suffices.all() and fit.coefficient[0] == 0
    assert fit.mu[0] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="offset"):
        checks.recursion_check(synthetic(np.array([3.0, 2.0])), "half")


# --------------------------------------------------------------------------------------------
# Level 2: calibration and slopes
# --------------------------------------------------------------------------------------------


def test_calibrate():
    shape = np.array([[4.0, 2.0], [1.0, 0.5]])
    empirical = np.array([[0.8, 0.3], [0.1, 0.0]])
    result = checks.calibrate(empirical, shape, (0, 0))
    assert result.constant == pytest.approx(0.2)
    np.testing.assert_allclose(result.predicted, 0.2 * shape)
    np.testing.assert_allclose(result.ratio, [[1.0, 0.75], [0.5, 0.0]])
    with pytest.raises(ValueError, match="calibration point"):
        checks.calibrate(empirical, shape, (1, 1))
    with pytest.raises(ValueError, match="shape"):
        checks.calibrate(empirical, -shape, 0)
    with pytest.raises(ValueError, match="same shape"):
        checks.calibrate(empirical, shape[0], 0)
    with pytest.raises(ValueError, match="calibration_index"):
        checks.calibrate(empirical, shape, (5, 0))


def test_slopes_recover_power_laws_and_count_dropped_zeros():
    sizes = np.array([100.0, 200, 400, 800, 1600, 3200])
    failures = 3.0 * sizes**-0.5
    failures[-1] = 0.0
    fit = checks.log_log_slope(sizes, failures)
    assert fit.slope == pytest.approx(-0.5, rel=1e-12)
    assert fit.intercept == pytest.approx(math.log(3.0), rel=1e-12)
    assert (fit.used, fit.dropped) == (5, 1)
    rounds = np.arange(1.0, 8.0)
    decay = 0.7 * np.exp(-0.4 * rounds)
    fit = checks.semilog_slope(rounds, decay)
    assert fit.slope == pytest.approx(-0.4, rel=1e-12) and fit.dropped == 0
    with pytest.raises(ValueError, match="at least two"):
        checks.log_log_slope(sizes, np.r_[1.0, np.zeros(5)])


# --------------------------------------------------------------------------------------------
# Level 3
# --------------------------------------------------------------------------------------------


def test_level_three_report_on_toy_a():
    instance = instances.bump(50, 20, math.log(2))
    run = dynamics.run(jax.random.key(7), instance, n=800, T=4, beta=0.5, seeds=2)
    report = checks.level_three_report(run, n=800, beta=0.5, delta=0.1, dimension=50 * 20,
                                       radius=100.0)
    gamma = np.asarray(run.gamma)[:, :5].min(-1)
    mu = np.asarray(run.mu)[:, :5].min(-1)
    for seed in range(2):
        expected = bounds.level_three_bound(800.0, 4, gamma=gamma[seed], mu=mu[seed],
                                            kappa0=float(run.kappa[seed, 0]), delta=0.1,
                                            dimension=1000, radius=100.0, beta=0.5)
        assert report.failure_bound[seed] == pytest.approx(float(expected.failure_bound))
        assert report.observed_failure[seed] == pytest.approx(float(run.failure[seed, 4]))
    assert np.all(report.vacuous) and np.all(report.failure_bound > 1e3)  # §7.4: vacuous
    assert np.all(report.n_below_one > 1e6) and np.all(np.isfinite(report.n_below_one))
    assert np.all(report.rounds == 4)


def test_level_three_report_edge_cases():
    uniform = dynamics.run(jax.random.key(0), instances.uniform(5, 4), n=20, T=2, beta=0.5)
    report = checks.level_three_report(uniform, n=20, beta=0.5, delta=0.1, log_class_size=5.0)
    assert np.isinf(report.failure_bound).all() and np.isinf(report.n_below_one).all()
    assert report.vacuous.all()
    none = dynamics.run(jax.random.key(0), instances.bump(5, 4, 1.0), n=20, T=0, beta=0.5,
                        shape=dynamics.Shape(64, 2))
    with pytest.raises(ValueError, match="at least one round \\(T >= 1\\)"):
        checks.level_three_report(none, n=20, beta=0.5, delta=0.1, log_class_size=5.0)
