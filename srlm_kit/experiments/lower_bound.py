"""Numbers behind the chapter "One step is not enough": Theorem 4.1 and its hard instance.

The hard instance of Theorem 4.1 (paper App. D, :func:`srlm_kit.instances.hard_instance`) has
``d`` informative prompts, each of mass ``Delta/d``, whose initial policy is nearly uniform over
``M`` responses with a small bump (probability ``p = 1/((1 - gamma_bar) M)``) on a secret
response; the rest of the mass sits on a sentinel prompt that is already solved.

**The mechanism in the kit's learner** [reconstructed, by the book: an analysis of the kit's
minimum-norm ERM rule, not a statement of the paper; :ref:`recovered-book-own`]. In one round the
square-loss ERM changes
a prompt's policy only inside connected groups of sampled responses, and only where their
self-rewards differ. On an informative prompt all non-bump responses have the same reward, so
the prompt changes iff some triple pairs the bump with another response; with ``beta`` small
enough (:func:`mechanism_holds`) the bump then gets more than half of the mass. Triples are
independent, so the expected failure probability after one round of ``n`` triples is exactly
(:func:`expected_failure`)::

    E[fail] = Delta (1 - 2 (Delta/d) p (1 - p))^n
            ≈ Delta exp(-4 Delta n / (d M))          (gamma_bar = 1/2)

and the failure of every run equals ``Delta/d`` times the number of informative prompts on which
no triple paired the bump with another response.

**A family, re-chosen for every n.** Theorem 4.1 is a minimax statement: for every ``n`` there is
an instance on which any algorithm fails with probability of order ``sqrt(kappa_0 log|Pi|/n)``
(up to logarithms). For the kit's learner, with ``M`` chosen so that ``kappa(pi^I) = kappa_0``,
the expected failure is about ``Delta exp(-2 Delta^2 n / (d (kappa_0 - 1)))``, largest at
``Delta* = sqrt(d (kappa_0 - 1) / (4 n))`` (:func:`worst_case_bump_mass`), where it is
``e^(-1/2) Delta*``: the rate ``sqrt(kappa_0 d / n)`` of the theorem, with ``log|Pi| = d log M``.

Experiments: ``single_step_failure`` (the figure comparing a fixed instance, the family and the
lower bound), ``lower_bound_forms`` (the Lambert-W solutions and the asymptotic forms), and
``lower_bound_sample_sizes`` (Remark 4.2: the n at which the lower bound falls below a level).
The paper has no experiments; all of this is the book's.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, checks, dynamics, instances, metrics
from srlm_kit.experiments.common import band, labelled_grid
from srlm_kit.instances import secret_probability

#: The prototype settings of the hard instance's first study (reproduced with the kit, never
#: asserted against).
PROTOTYPE = {"d": 20, "M": 40, "Delta": 0.2, "beta": 0.05,
             "n_values": (50, 200, 800, 3200, 12800),
             "values": (0.19, 0.16, 0.09, 0.009, 0.0)}


def expected_failure(n, *, d: int, M: int, Delta: float, gamma_bar: float = 0.5,
                     rounds: int = 1):
    """Expected failure ``Delta (1 - 2 (Delta/d) p (1 - p))^(n rounds)`` of the kit's learner.

    ``p`` is :func:`srlm_kit.instances.secret_probability`. A prompt stays unsolved iff none
    of the ``n rounds`` triples (``n`` per round; an unsolved prompt is unchanged, so later
    rounds see the same policy there) lands on it with exactly one of its two responses the
    bump. Valid when :func:`mechanism_holds`. [reconstructed, by the book from the kit's ERM rule;
    see the module docstring; :ref:`recovered-book-own`]
    """
    check.check_int("d (number of informative prompts)", d, minimum=1)
    check.check_int("M (number of informative responses)", M, minimum=3)
    Delta = check.check_open_interval("Delta", Delta, 0.0, 1.0)
    check.check_int("rounds", rounds, minimum=1)
    n = np.asarray(n, dtype=float)
    if np.any(n < 0):
        raise ValueError("n (triples per round) must be >= 0")
    p = secret_probability(M, gamma_bar)
    return Delta * (1.0 - 2.0 * (Delta / d) * p * (1.0 - p)) ** (n * rounds)


def expected_failure_approximate(n, *, d: int, M: int, Delta: float, rounds: int = 1):
    """``Delta exp(-4 Delta n rounds / (d M))``: :func:`expected_failure` for ``gamma_bar = 1/2``
    with ``1 - x ≈ e^-x`` and ``p (1 - p) ≈ 2/M`` (the form given in :ref:`recovered-thm-4-1`)."""
    return Delta * np.exp(-4.0 * Delta * np.asarray(n, dtype=float) * rounds / (d * M))


def mechanism_holds(M: int, beta: float, gamma_bar: float = 0.5) -> bool:
    """Whether one sampled pair (bump, other) surely lifts the bump above probability 1/2.

    After the update the bump's log-probability exceeds every unsampled response's by at least
    ``g = (1 + 1/(2 beta)) log(p_bump / p_other)`` (a group of two is the worst case), and
    sampled non-bump responses only go down, so ``e^g > M - 1`` suffices.
    [reconstructed, by the book from the kit's ERM rule; :ref:`recovered-book-own`]
    """
    check.check_int("M (number of informative responses)", M, minimum=3)
    beta = check.check_positive("beta", beta)
    p = secret_probability(M, gamma_bar)
    other = (1.0 - p) / (M - 1)
    return (1.0 + 1.0 / (2.0 * beta)) * math.log(p / other) > math.log(M - 1)


def worst_case_bump_mass(n, *, d: int, kappa0: float):
    """``Delta* = sqrt(d (kappa0 - 1) / (4 n))``, the maximiser over Delta of
    ``Delta exp(-2 Delta^2 n / (d (kappa0 - 1)))`` (the approximate failure of the kit's learner
    on the hard instance with ``kappa(pi^I) = kappa0``). [reconstructed, by the book;
    :ref:`recovered-book-own`]"""
    if kappa0 <= 1:
        raise ValueError(f"kappa0 must be > 1 (a hard instance needs informative prompts "
                         f"that are not solved), got {kappa0}")
    return np.sqrt(d * (kappa0 - 1.0) / (4.0 * np.asarray(n, dtype=float)))


def instance_sizes(kappa0: float, Delta: float) -> tuple[int, float]:
    """``(M, Delta')`` with ``M = round(2 (kappa0 - 1 + Delta)/Delta)`` and ``Delta'`` adjusted so
    that the hard instance (gamma_bar = 1/2) has ``kappa(pi^I) = 1 + Delta' (M/2 - 1) = kappa0``
    exactly. [reconstructed, by algebra from :func:`srlm_kit.instances.hard_instance_kappa0`;
    :ref:`recovered-thm-4-1`]"""
    Delta = check.check_open_interval("Delta", Delta, 0.0, 1.0)
    M = max(3, round(2.0 * (kappa0 - 1.0 + Delta) / Delta))
    adjusted = (kappa0 - 1.0) / (M / 2.0 - 1.0)
    if not 0.0 < adjusted < 1.0:
        raise ValueError(f"no hard instance with kappa0 = {kappa0} near Delta = {Delta}")
    return int(M), float(adjusted)


def reviewer_lower_bound(n, kappa0, log_class_size):
    """``sqrt(kappa0 log|Pi| / (n log(n kappa0 / log|Pi|)))``, the un-simplified lower bound as
    ICLR Reviewer 2 quotes it [quoted, ICLR review, R2]; needs ``n kappa0 > log|Pi|``."""
    n, kappa0, size = (np.asarray(value, dtype=float) for value in (n, kappa0, log_class_size))
    argument = n * kappa0 / size
    if np.any(argument <= 1):
        raise ValueError("n must exceed log_class_size / kappa0 (the logarithm must be > 0)")
    return np.sqrt(kappa0 * size / (n * np.log(argument)))


def lower_bound_sample_size(level, kappa0, log_class_size, constant: float = 1.0):
    """The n at which the exact lower bound (:func:`srlm_kit.bounds.theorem_4_1_lower_bound`)
    equals ``level``: ``n = constant kappa0 log|Pi| / (level^2 (1 + log(kappa0/level)))``.

    Solving the proof's equation for n instead of for eps. Needs ``0 < level < e kappa0`` (the
    bracket positive). [reconstructed, by algebra; Steps 5 to 6 of :ref:`recovered-thm-4-1`]
    """
    level, kappa0, size = (np.asarray(value, dtype=float) for value in (level, kappa0,
                                                                         log_class_size))
    if np.any(level <= 0) or np.any(level >= math.e * kappa0):
        raise ValueError("level must lie in (0, e kappa0)")
    bracket = 1.0 + np.log(kappa0 / level)
    return constant * kappa0 * size / (level**2 * bracket)


#: ``instances.pad`` compiled once per input shape: the family has one shape per ``M``, and the
#: operation-by-operation alternative compiles several small kernels for every new shape.
_pad = jax.jit(instances.pad, static_argnums=(1, 2))


def _hard_runs(key, instance, n_values, *, beta, seeds, shape):
    """Failure and target failure after one round, ``(len(n_values), seeds)`` (the instance is
    padded to ``shape``, so that every call shares the compiled simulations)."""
    padded = _pad(instance, *shape)
    failures, target_failures = [], []
    for n in n_values:
        trajectory = dynamics.run(key, padded, n=int(n), T=1, beta=beta, seeds=seeds)
        failures.append(np.asarray(trajectory.failure)[:, 1])
        target_failures.append(np.asarray(trajectory.target_failure)[:, 1])
    return np.asarray(failures), np.asarray(target_failures)


def standard_errors(runs, expected, *, d: int, Delta) -> np.ndarray:
    """``|mean over seeds - expected| / standard error``, seeds on the last axis of ``runs``.

    The standard error is the largest the mechanism allows: a run's failure is ``Delta/d``
    times the number U of unsolved informative prompts, whose indicators are negatively
    correlated (``(1 - 2q)^n <= (1 - q)^(2n)``), so ``Var U <= d P (1 - P)`` with
    ``P = expected/Delta``. [reconstructed, by the book; :ref:`recovered-book-own`]
    """
    runs, expected, Delta = (np.asarray(value, dtype=float) for value in (runs, expected, Delta))
    unsolved = expected / Delta
    error = (Delta / d) * np.sqrt(d * unsolved * (1.0 - unsolved) / runs.shape[-1])
    return np.abs(runs.mean(axis=-1) - expected) / error


def single_step_failure(*, seed: int = 0, d: int = 20, kappa0s=(2.0, 3.0, 5.0, 9.0),
                        n_values=(400, 800, 1600, 3200, 6400, 12800), beta: float = 0.05,
                        seeds: int = 16, calibration=(3.0, 1600), prototype: bool = True
                        ) -> xr.Dataset:
    """Failure after one self-rewarding round on the hard instance: a family re-chosen for every
    n, one of its members kept fixed, and the lower bound of Theorem 4.1.

    For every ``kappa0`` (axis ``kappa0``) and ``n`` (axis ``n``):

    * **family**: the hard instance with ``Delta`` near :func:`worst_case_bump_mass` at this n
      and ``M`` from :func:`instance_sizes`, so that ``kappa(pi^I) = kappa0`` exactly;
    * **fixed**: the family's member for the smallest n, kept for every n.

    ``seeds`` runs each (:func:`srlm_kit.dynamics.run`, T = 1, minimum-norm ERM); secret keys
    and data from ``jax.random.key(seed)``. All instances are padded to one shape
    (:func:`srlm_kit.instances.pad`) so that they share compiled simulations. (With
    ``kappa0 - 1`` doubling and n doubling, members share their M along diagonals, which keeps
    the number of distinct shapes to build small.)

    An :class:`xarray.Dataset`. Over ``[kappa0, n, band]``: ``fixed`` and ``family`` (failure
    probability after one round, threshold 1/2; mean and band over seeds). Over ``[kappa0, n]``:
    ``fixed_expected`` and ``family_expected`` (:func:`expected_failure`),
    ``family_Delta``, ``family_M``, ``family_log_class_size`` (``d log M``), ``bound``
    (:func:`srlm_kit.bounds.theorem_4_1_lower_bound` at the family's ``log|Pi|``, constant 1)
    and ``bound_calibrated`` (the bound times the constant fitted with
    :func:`srlm_kit.checks.calibrate` at the point ``calibration = (kappa0, n)``).

    In ``attrs``, beside the settings: ``fixed`` (each fixed instance's M, Delta and measured
    kappa), ``slopes`` (least-squares slopes of log failure against log n, per kappa0,
    :func:`srlm_kit.checks.log_log_slope`), ``calibration`` (the constant and the range of the
    ratios simulated/calibrated bound), ``checks`` (the largest deviation of a simulated mean from
    :func:`expected_failure` in standard errors, :func:`standard_errors`; whether the failure of
    every run equals its target failure, the theorem's event), and ``prototype`` (the prototype
    settings of :data:`PROTOTYPE`, simulated with the same machinery; ``None`` when
    ``prototype=False``).
    """
    check.check_int("seeds", seeds, minimum=2)
    kappa0s = [float(value) for value in kappa0s]
    n_array = np.asarray(check.check_increasing_ints("n_values", n_values))
    family_sizes = [[instance_sizes(kappa0, float(worst_case_bump_mass(n, d=d, kappa0=kappa0)))
                     for n in n_array] for kappa0 in kappa0s]
    extra_M = [PROTOTYPE["M"]] if prototype else []
    largest_M = max([M for row in family_sizes for M, _ in row] + extra_M)
    for M in [largest_M, *extra_M]:
        if not mechanism_holds(M, beta):
            raise ValueError(f"beta = {beta} is too large for M = {M}: one sampled pair would "
                             "not surely lift the bump above 1/2 (mechanism_holds)")
    shape = (max(d, PROTOTYPE["d"] if prototype else d) + 1, largest_M + 1)
    instance_key, run_key = jax.random.split(jax.random.key(seed))

    grid = (len(kappa0s), len(n_array))
    fixed_runs, family_runs = np.zeros((*grid, seeds)), np.zeros((*grid, seeds))
    fixed_expected, family_expected = np.zeros(grid), np.zeros(grid)
    family_Delta, family_M = np.zeros(grid), np.zeros(grid)
    same_event = True
    fixed = []
    for i, kappa0 in enumerate(kappa0s):
        for j, n in enumerate(n_array):
            M, Delta = family_sizes[i][j]
            start = instances.hard_instance(instance_key, d, M, Delta)
            if j == 0:
                fixed_failures, fixed_targets = _hard_runs(
                    run_key, start, n_array, beta=beta, seeds=seeds, shape=shape)
                same_event &= bool(np.allclose(fixed_failures, fixed_targets, atol=1e-12))
                fixed_runs[i] = fixed_failures
                fixed_expected[i] = expected_failure(n_array, d=d, M=M, Delta=Delta)
                fixed.append({"kappa0": kappa0, "M": M, "Delta": Delta, "kappa_measured": float(
                    metrics.condition_number(start.logits, start.rho))})
                family_runs[i, j] = fixed_failures[0]
            else:
                failures, targets = _hard_runs(run_key, start, [n], beta=beta, seeds=seeds,
                                               shape=shape)
                same_event &= bool(np.allclose(failures, targets, atol=1e-12))
                family_runs[i, j] = failures[0]
            family_expected[i, j] = expected_failure(n, d=d, M=M, Delta=Delta)
            family_Delta[i, j], family_M[i, j] = Delta, M

    fixed_band, family_band = band(fixed_runs, 2), band(family_runs, 2)
    family_mean = family_band[..., 0]
    log_class_size = d * np.log(family_M)
    bound = bounds.theorem_4_1_lower_bound(n_array[None, :], np.asarray(kappa0s)[:, None],
                                           log_class_size)
    calibration_index = (kappa0s.index(float(calibration[0])),
                         list(n_array).index(int(calibration[1])))
    fitted = checks.calibrate(family_mean, bound, calibration_index)
    fixed_Delta = np.asarray([row["Delta"] for row in fixed])[:, None]

    slopes = [{"kappa0": kappa0,
               "family": checks.log_log_slope(n_array, family_mean[i]).slope,
               "family_expected": checks.log_log_slope(n_array, family_expected[i]).slope,
               "bound": checks.log_log_slope(n_array, bound[i]).slope}
              for i, kappa0 in enumerate(kappa0s)]

    prototype_result = None
    if prototype:
        prototype_start = instances.hard_instance(instance_key, PROTOTYPE["d"], PROTOTYPE["M"],
                                                  PROTOTYPE["Delta"])
        prototype_runs, prototype_targets = _hard_runs(
            run_key, prototype_start, PROTOTYPE["n_values"], beta=PROTOTYPE["beta"], seeds=seeds,
            shape=shape)
        same_event &= bool(np.allclose(prototype_runs, prototype_targets, atol=1e-12))
        prototype_expected = expected_failure(PROTOTYPE["n_values"], d=PROTOTYPE["d"],
                                              M=PROTOTYPE["M"], Delta=PROTOTYPE["Delta"])
        prototype_result = {
            "n": list(PROTOTYPE["n_values"]),
            "mean": prototype_runs.mean(axis=1).tolist(),
            "sd": prototype_runs.std(axis=1, ddof=1).tolist(),
            "expected": prototype_expected.tolist(),
            "approximate": expected_failure_approximate(
                PROTOTYPE["n_values"], d=PROTOTYPE["d"], M=PROTOTYPE["M"],
                Delta=PROTOTYPE["Delta"]).tolist(),
            "notes_values": list(PROTOTYPE["values"]),
            "kappa0": instances.hard_instance_kappa0(PROTOTYPE["M"], PROTOTYPE["Delta"]),
            "max_standard_errors": float(np.max(standard_errors(
                prototype_runs, prototype_expected, d=PROTOTYPE["d"], Delta=PROTOTYPE["Delta"]))),
        }

    fields = {
        "fixed_expected": fixed_expected, "family_expected": family_expected,
        "family_Delta": family_Delta, "family_M": family_M,
        "family_log_class_size": log_class_size, "bound": bound,
        "bound_calibrated": fitted.predicted,
    }
    observed = family_mean > 0
    return labelled_grid(
        {"kappa0": kappa0s, "n": [int(n) for n in n_array]},
        {"fixed": (["kappa0", "n", "band"], fixed_band),
         "family": (["kappa0", "n", "band"], family_band),
         **{name: (["kappa0", "n"], values) for name, values in fields.items()}},
        attrs={"fixed": fixed,
        "slopes": slopes,
        "calibration": {"kappa0": float(calibration[0]), "n": int(calibration[1]),
                        "constant": fitted.constant,
                        "ratio_min": float(np.min(fitted.ratio[observed])),
                        "ratio_max": float(np.max(fitted.ratio[observed]))},
        "checks": {
            "fixed_max_standard_errors": float(np.max(standard_errors(
                fixed_runs, fixed_expected, d=d, Delta=fixed_Delta))),
            "family_max_standard_errors": float(np.max(standard_errors(
                family_runs, family_expected, d=d, Delta=family_Delta))),
            "failure_equals_target_failure": same_event},
        "prototype": prototype_result,
        "seed": seed, "d": d, "beta": beta, "seeds": seeds,
        "padded_shape": list(shape)})


def lower_bound_forms(*, seed: int = 0, kappa0s=(2.0, 4.0, 8.0, 16.0, 32.0, 64.0),
                      log_class_sizes=(1.0, 10.0, 100.0),
                      n_values=(1000, 3162, 10000, 31623, 100000, 316228, 1000000, 3162278,
                                10000000)) -> xr.Dataset:
    """The lower bound of Theorem 4.1 in its exact and asymptotic forms (constant 1).

    Fields over ``[kappa0, log_class_size, n]``:

    * ``exact_with_one``: eps solving ``eps^2 (1 + log(kappa0/eps)) = kappa0 log|Pi| / n`` (the
      proof's equation; :func:`srlm_kit.bounds.theorem_4_1_lower_bound`);
    * ``exact_without_one``: eps solving ``eps^2 log(kappa0/eps) = kappa0 log|Pi| / n``
      (:ref:`recovered-lambert-w`; :func:`srlm_kit.bounds.theorem_4_1_lower_bound_without_one`);
    * ``asymptotic``: ``sqrt(2K / (n log(n kappa0^2 / (2K))))``, ``K = kappa0 log|Pi|``
      (:func:`srlm_kit.bounds.theorem_4_1_lower_bound_asymptotic`);
    * ``reviewer``: :func:`reviewer_lower_bound`, the form quoted by ICLR Reviewer 2;
    * ``rate``: ``sqrt(kappa0 log|Pi| / n)``, the rate without its logarithm.

    Nothing is random (``seed`` is unused and kept for the common signature). Entries where an
    equation has no solution are NaN; with the defaults there are none.
    """
    kappa = np.asarray(kappa0s, dtype=float)[:, None, None]
    size = np.asarray(log_class_sizes, dtype=float)[None, :, None]
    n = np.asarray(n_values, dtype=float)[None, None, :]
    kappa, size, n = np.broadcast_arrays(kappa, size, n)
    fields = {
        "exact_with_one": bounds.theorem_4_1_lower_bound(n, kappa, size),
        "exact_without_one": bounds.theorem_4_1_lower_bound_without_one(n, kappa, size),
        "asymptotic": bounds.theorem_4_1_lower_bound_asymptotic(n, kappa, size),
        "reviewer": reviewer_lower_bound(n, kappa, size),
        "rate": np.sqrt(kappa * size / n),
    }
    dims = ["kappa0", "log_class_size", "n"]
    return labelled_grid(
        {"kappa0": [float(value) for value in kappa0s],
         "log_class_size": [float(value) for value in log_class_sizes],
         "n": [int(value) for value in n_values]},
        {name: (dims, values) for name, values in fields.items()}, attrs={"seed": seed})


def lower_bound_sample_sizes(*, seed: int = 0, kappa0s=tuple(float(2**k) for k in range(15)),
                             levels=(0.3, 0.1, 0.03), log_class_sizes=(1.0, 10.0, 100.0)
                             ) -> xr.Dataset:
    """Remark 4.2: the n at which the lower bound (constant 1) falls to a level, against kappa0.

    Fields: ``n_needed`` over ``[log_class_size, level, kappa0]``
    (:func:`lower_bound_sample_size`) and ``n_equals_kappa0`` over ``[kappa0]`` (the line
    ``n = kappa0``, for comparison). ``kappa0`` runs over powers of 2: the autoregressive model
    of Remark 4.2 with top-token probability ``alpha = 1/2`` at every step has
    ``kappa0 = 2^L``, so the k-th point is also the sequence length L = k. ``seed`` is unused.
    """
    kappa = np.asarray(kappa0s, dtype=float)[None, None, :]
    level = np.asarray(levels, dtype=float)[None, :, None]
    size = np.asarray(log_class_sizes, dtype=float)[:, None, None]
    needed = lower_bound_sample_size(*np.broadcast_arrays(level, kappa, size))
    return labelled_grid(
        {"log_class_size": [float(value) for value in log_class_sizes],
         "level": [float(value) for value in levels],
         "kappa0": [float(value) for value in kappa0s]},
        {"n_needed": (["log_class_size", "level", "kappa0"], needed),
         "n_equals_kappa0": (["kappa0"], kappa0s)},
        attrs={"seed": seed})
