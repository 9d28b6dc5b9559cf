"""Numbers behind the chapter "One step is not enough": Theorem 4.1 and its hard instance.

The hard instance of Theorem 4.1 (paper App. D, :func:`srlm_kit.instances.hard_instance`) has
``k`` informative prompts, each of mass ``Delta/k``, whose initial policy is nearly uniform over
``M`` responses with a small bump (probability ``p = 1/((1 - gamma_bar) M)``) on a secret
response; the rest of the mass sits on a sentinel prompt that is already solved.

**The mechanism in the kit's learner** [reconstructed, by the book: an analysis of the kit's
minimum-norm ERM rule, not a statement of the paper; :ref:`recovered-book-own`]. In one round the
square-loss ERM changes
a prompt's policy only inside connected groups of sampled responses, and only where their
self-rewards differ. On an informative prompt all non-bump responses have the same reward, so
the prompt changes iff some triple pairs the bump with another response; with ``beta`` small
enough (:func:`srlm_kit.bounds.hard_instance_mechanism_holds`) the bump then gets more than
half of the mass. Triples are independent, so the expected failure probability after one round
of ``n`` triples is exactly (:func:`srlm_kit.bounds.hard_instance_expected_failure`)::

    E[fail] = Delta (1 - 2 (Delta/k) p (1 - p))^n
            ≈ Delta exp(-4 Delta n / (k M))          (gamma_bar = 1/2)

and the failure of every run equals ``Delta/k`` times the number of informative prompts on which
no triple paired the bump with another response.

**A family, re-chosen for every n.** Theorem 4.1 is a minimax statement: for every ``n`` there is
an instance on which any algorithm fails with probability of order ``sqrt(kappa_0 log|Pi|/n)``
(up to logarithms). For the kit's learner, with ``M`` chosen so that ``kappa(pi^I) = kappa_0``,
the expected failure is about ``Delta exp(-2 Delta^2 n / (k (kappa_0 - 1)))``, largest at
``Delta* = sqrt(k (kappa_0 - 1) / (4 n))`` (:func:`srlm_kit.bounds.worst_case_bump_mass`), where
it is ``e^(-1/2) Delta*``: the rate ``sqrt(kappa_0 k / n)`` of the theorem, with
``log|Pi| = k log M``.

Experiments: ``single_step_failure`` (the figure comparing a fixed instance, the family and the
lower bound), ``lower_bound_forms`` (the Lambert-W solutions and the asymptotic forms), and
``lower_bound_sample_sizes`` (Remark 4.2: the n at which the lower bound falls below a level).
The paper has no experiments; all of this is the book's.
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, checks, dynamics, instances, metrics
from srlm_kit.experiments.common import MAX_ENTRIES, band, experiment, labelled_grid

#: The prototype settings of the hard instance's first study (reproduced with the kit, never
#: asserted against).
PROTOTYPE = {"k": 20, "M": 40, "Delta": 0.2, "beta": 0.05,
             "n_values": (50, 200, 800, 3200, 12800),
             "values": (0.19, 0.16, 0.09, 0.009, 0.0)}


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


def standard_errors(runs, expected, *, k: int, Delta) -> np.ndarray:
    """``|mean over seeds - expected| / standard error``, seeds on the last axis of ``runs``.

    The standard error is the largest the mechanism allows: a run's failure is ``Delta/k``
    times the number U of unsolved informative prompts, whose indicators are negatively
    correlated (``(1 - 2q)^n <= (1 - q)^(2n)``), so ``Var U <= k P (1 - P)`` with
    ``P = expected/Delta``. [reconstructed, by the book; :ref:`recovered-book-own`]
    """
    runs, expected, Delta = (np.asarray(value, dtype=float) for value in (runs, expected, Delta))
    unsolved = expected / Delta
    error = (Delta / k) * np.sqrt(k * unsolved * (1.0 - unsolved) / runs.shape[-1])
    return np.abs(runs.mean(axis=-1) - expected) / error


@experiment
def single_step_failure(*, seed: int = 0, k: int = 20, kappa0s=(2.0, 3.0, 5.0, 9.0),
                        n_values=(400, 800, 1600, 3200, 6400, 12800), beta: float = 0.05,
                        seeds: int = 16, calibration=(3.0, 1600), prototype: bool = True
                        ) -> xr.Dataset:
    """Failure after one self-rewarding round on the hard instance: a family re-chosen for every
    n, one of its members kept fixed, and the lower bound of Theorem 4.1.

    For every ``kappa0`` (axis ``kappa0``) and ``n`` (axis ``n``):

    * **family**: the hard instance with ``Delta`` near
      :func:`srlm_kit.bounds.worst_case_bump_mass` at this n and ``M`` from
      :func:`srlm_kit.instances.hard_instance_sizes`, so that ``kappa(pi^I) = kappa0`` exactly;
    * **fixed**: the family's member for the smallest n, kept for every n.

    ``seeds`` runs each (:func:`srlm_kit.dynamics.run`, T = 1, minimum-norm ERM); secret keys
    and data from ``jax.random.key(seed)``. All instances are padded to one shape
    (:func:`srlm_kit.instances.pad`) so that they share compiled simulations. (With
    ``kappa0 - 1`` doubling and n doubling, members share their M along diagonals, which keeps
    the number of distinct shapes to build small.)

    An :class:`xarray.Dataset`. Over ``[kappa0, n, band]``: ``fixed`` and ``family`` (failure
    probability after one round, threshold 1/2; mean and band over seeds). Over ``[kappa0, n]``:
    ``fixed_expected`` and ``family_expected``
    (:func:`srlm_kit.bounds.hard_instance_expected_failure`),
    ``family_Delta``, ``family_M``, ``family_log_class_size`` (``k log M``), ``bound``
    (:func:`srlm_kit.bounds.theorem_4_1_lower_bound` at the family's ``log|Pi|``, constant 1)
    and ``bound_calibrated`` (the bound times the constant fitted with
    :func:`srlm_kit.checks.calibrate` at the point ``calibration = (kappa0, n)``).

    In ``attrs``, beside the settings: ``fixed`` (each fixed instance's M, Delta and measured
    kappa), ``slopes`` (least-squares slopes of log failure against log n, per kappa0,
    :func:`srlm_kit.checks.log_log_slope`), ``calibration`` (the constant and the range of the
    ratios simulated/calibrated bound), ``checks`` (the largest deviation of a simulated mean from
    :func:`srlm_kit.bounds.hard_instance_expected_failure` in standard errors,
    :func:`standard_errors`; whether the failure of
    every run equals its target failure, the theorem's event), and ``prototype`` (the prototype
    settings of :data:`PROTOTYPE`, simulated with the same machinery; ``None`` when
    ``prototype=False``).
    """
    check.check_int("seeds", seeds, minimum=2)
    n_array = np.asarray([int(n) for n in n_values])
    calibration = list(calibration)
    if (len(calibration) != 2 or calibration[0] not in kappa0s
            or calibration[1] not in n_array.tolist()):
        raise ValueError(f"calibration must be (kappa0, n) with kappa0 in {kappa0s} and n in "
                         f"{n_array.tolist()}, got {tuple(calibration)!r}")
    masses = [[float(bounds.worst_case_bump_mass(n, k=k, kappa0=kappa0)) for n in n_array]
              for kappa0 in kappa0s]
    for kappa0, row in zip(kappa0s, masses, strict=True):
        for n, mass in zip(n_array, row, strict=True):
            if not 0.0 < mass < 1.0:
                raise ValueError(f"kappa0s and n_values must give a worst-case bump mass "
                                 f"Delta = sqrt(k (kappa0 - 1)/(4 n)) in (0, 1), got "
                                 f"{mass:.3g} at kappa0 = {kappa0}, n = {n}")
    family_sizes = [[instances.hard_instance_sizes(kappa0, mass) for mass in row]
                    for kappa0, row in zip(kappa0s, masses, strict=True)]
    extra_M = [PROTOTYPE["M"]] if prototype else []
    largest_M = max([M for row in family_sizes for M, _ in row] + extra_M)
    check.check_entries({"k + 1 (prompts)": max(k, PROTOTYPE["k"] if prototype else k) + 1,
                         "M + 1 (responses, M set by kappa0s and n_values)": largest_M + 1},
                        MAX_ENTRIES)
    for M in [largest_M, *extra_M]:
        if not bounds.hard_instance_mechanism_holds(M, beta):
            raise ValueError(f"beta = {beta} is too large for M = {M}: one sampled pair would "
                             "not surely lift the bump above 1/2 (hard_instance_mechanism_holds)")
    shape = (max(k, PROTOTYPE["k"] if prototype else k) + 1, largest_M + 1)
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
            start = instances.hard_instance(instance_key, k, M, Delta)
            if j == 0:
                fixed_failures, fixed_targets = _hard_runs(
                    run_key, start, n_array, beta=beta, seeds=seeds, shape=shape)
                same_event &= bool(np.allclose(fixed_failures, fixed_targets, atol=1e-12))
                fixed_runs[i] = fixed_failures
                fixed_expected[i] = bounds.hard_instance_expected_failure(n_array, k=k, M=M,
                                                                          Delta=Delta)
                fixed.append({"kappa0": kappa0, "M": M, "Delta": Delta, "kappa_measured": float(
                    metrics.condition_number(start.logits, start.rho))})
                family_runs[i, j] = fixed_failures[0]
            else:
                failures, targets = _hard_runs(run_key, start, [n], beta=beta, seeds=seeds,
                                               shape=shape)
                same_event &= bool(np.allclose(failures, targets, atol=1e-12))
                family_runs[i, j] = failures[0]
            family_expected[i, j] = bounds.hard_instance_expected_failure(n, k=k, M=M, Delta=Delta)
            family_Delta[i, j], family_M[i, j] = Delta, M

    fixed_band, family_band = band(fixed_runs, 2), band(family_runs, 2)
    family_mean = family_band[..., 0]
    log_class_size = k * np.log(family_M)
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
        prototype_start = instances.hard_instance(instance_key, PROTOTYPE["k"], PROTOTYPE["M"],
                                                  PROTOTYPE["Delta"])
        prototype_runs, prototype_targets = _hard_runs(
            run_key, prototype_start, PROTOTYPE["n_values"], beta=PROTOTYPE["beta"], seeds=seeds,
            shape=shape)
        same_event &= bool(np.allclose(prototype_runs, prototype_targets, atol=1e-12))
        prototype_expected = bounds.hard_instance_expected_failure(
            PROTOTYPE["n_values"], k=PROTOTYPE["k"], M=PROTOTYPE["M"], Delta=PROTOTYPE["Delta"])
        prototype_result = {
            "n": list(PROTOTYPE["n_values"]),
            "mean": prototype_runs.mean(axis=1).tolist(),
            "sd": prototype_runs.std(axis=1, ddof=1).tolist(),
            "expected": prototype_expected.tolist(),
            "approximate": bounds.hard_instance_expected_failure_approximate(
                PROTOTYPE["n_values"], k=PROTOTYPE["k"], M=PROTOTYPE["M"],
                Delta=PROTOTYPE["Delta"]).tolist(),
            "notes_values": list(PROTOTYPE["values"]),
            "kappa0": instances.hard_instance_kappa0(PROTOTYPE["M"], PROTOTYPE["Delta"]),
            "max_standard_errors": float(np.max(standard_errors(
                prototype_runs, prototype_expected, k=PROTOTYPE["k"], Delta=PROTOTYPE["Delta"]))),
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
                fixed_runs, fixed_expected, k=k, Delta=fixed_Delta))),
            "family_max_standard_errors": float(np.max(standard_errors(
                family_runs, family_expected, k=k, Delta=family_Delta))),
            "failure_equals_target_failure": same_event},
        "prototype": prototype_result,
        "seed": seed, "k": k, "beta": beta, "seeds": seeds,
        "padded_shape": list(shape)})


@experiment
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
    * ``reviewer``: :func:`srlm_kit.bounds.reviewer_lower_bound`, the form quoted by ICLR
      Reviewer 2;
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
        "reviewer": bounds.reviewer_lower_bound(n, kappa, size),
        "rate": np.sqrt(kappa * size / n),
    }
    dims = ["kappa0", "log_class_size", "n"]
    return labelled_grid(
        {"kappa0": [float(value) for value in kappa0s],
         "log_class_size": [float(value) for value in log_class_sizes],
         "n": [int(value) for value in n_values]},
        {name: (dims, values) for name, values in fields.items()}, attrs={"seed": seed})


@experiment
def lower_bound_sample_sizes(*, seed: int = 0, kappa0s=tuple(float(2**k) for k in range(15)),
                             levels=(0.3, 0.1, 0.03), log_class_sizes=(1.0, 10.0, 100.0)
                             ) -> xr.Dataset:
    """Remark 4.2: the n at which the lower bound (constant 1) falls to a level, against kappa0.

    Fields: ``n_needed`` over ``[log_class_size, level, kappa0]``
    (:func:`srlm_kit.bounds.lower_bound_sample_size`) and ``n_equals_kappa0`` over ``[kappa0]``
    (the line
    ``n = kappa0``, for comparison). ``kappa0`` runs over powers of 2: the autoregressive model
    of Remark 4.2 with top-token probability ``alpha = 1/2`` at every step has
    ``kappa0 = 2^L``, so the k-th point is also the sequence length L = k. ``seed`` is unused.
    """
    kappa = np.asarray(kappa0s, dtype=float)[None, None, :]
    level = np.asarray(levels, dtype=float)[None, :, None]
    size = np.asarray(log_class_sizes, dtype=float)[:, None, None]
    needed = bounds.lower_bound_sample_size(*np.broadcast_arrays(level, kappa, size))
    return labelled_grid(
        {"log_class_size": [float(value) for value in log_class_sizes],
         "level": [float(value) for value in levels],
         "kappa0": [float(value) for value in kappa0s]},
        {"n_needed": (["log_class_size", "level", "kappa0"], needed),
         "n_equals_kappa0": (["kappa0"], kappa0s)},
        attrs={"seed": seed})
