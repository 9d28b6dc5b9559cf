"""Numbers behind chapters 5 and 6: the iterative bound (Theorem 5.3) and how many rounds it takes.

All three experiments read one simulation of toy A (:ref:`recovered-book-own`): ``m`` prompts with a
uniform prompt distribution, ``K`` responses, and a *bump* start, where every logit is 0 except
the mode's, whose height is chosen so that ``kappa(pi_0)`` takes each value of ``kappa0s``
(:func:`srlm_kit.instances.bump_height_for_kappa0`). From each start the kit runs
``T`` rounds of self-rewarding (fresh triples every round, square-loss ERM with the minimum-norm
tie-break, :func:`srlm_kit.dynamics.run_grid`) for every per-round sample size in ``n_values``,
for ``seeds`` seeds, and for two rules for ``beta``:

* ``"1/sqrt(n)"``: ``beta = n^(-1/2)``, the regime the theory needs (``beta ≲ n^(-1/2)``
  [quoted, ICLR review, R2]);
* a constant: ``beta = constant_beta`` for every ``n`` (0.5 by default, the value of the
  prototype table of :ref:`recovered-book-own`), named by its value (``"0.5"``).

Every ``n`` uses the same key, ``jax.random.key(seed)``, so runs at different ``n`` and from
different starts share their random numbers (common random numbers). The simulation is cached
per process, so the experiments of one chapter simulate once.

Experiments (registered in :mod:`srlm_kit.experiments.registry`):

* ``iterative_bound_grid``: the trajectories (condition number and failure probability, mean and
  band over seeds), the exact infinite-data update, and the three levels of comparison with the
  theory of :ref:`recovered-book-own`: level 1, the inequalities of Lemma C.1, Lemma C.3 (tail
  integral) and Lemma C.4 (recursion) on every simulated round; level 2, the shape of Theorem 5.3
  with one constant fitted at one point, and slopes in ``log n`` and in ``T``;
* ``iterative_level_three``: the full bound with every hidden constant set to 1, on a wide range
  of ``n``, and the ``n`` at which it first drops below 1;
* ``rounds_needed_grid``: the empirical number of rounds needed to suppress the start, beside
  the threshold of Corollary 5.7 under several readings of the minimum confidence ``mu``.

The paper has no experiments; everything here is new material of the book. Formulas are marked
as in the kit ([quoted, ...] or [reconstructed, ...]).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, checks, dynamics, instances, metrics
from srlm_kit.experiments.common import band, experiment, labelled_grid, running_min_over_seeds
from srlm_kit.instances import bump_height_for_kappa0

#: Initial condition numbers of the bump starts: a ladder up to toy A's 25.5 (b = log 2, K = 50).
KAPPA0S = (3.0, 6.0, 12.0, 25.5)
#: Triples per round: from one pair per prompt (m = 100) to 32.
N_VALUES = (100, 200, 400, 800, 1600, 3200)
#: The rule beta = n^(-1/2) (first coordinate value of the ``beta`` axis; the second is the
#: constant beta itself, e.g. "0.5").
THEORY_BETA = "1/sqrt(n)"


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------






def _check_settings(num_prompts, num_responses, kappa0s, n_values, T, seeds, constant_beta,
                    threshold) -> tuple:
    """Checked, hashable settings of the simulation (ValueError/TypeError naming the parameter)."""
    num_prompts = check.check_int("num_prompts (m)", num_prompts, minimum=1)
    num_responses = check.check_int("num_responses (K)", num_responses, minimum=2)
    kappa0s = tuple(float(check.check_open_interval("kappa0s", value, 1.0, num_responses))
                    for value in kappa0s)
    if not kappa0s or list(kappa0s) != sorted(set(kappa0s)):
        raise ValueError(f"kappa0s must be a non-empty, strictly increasing list, got {kappa0s}")
    n_array = np.asarray(check.check_increasing_ints("n_values", n_values))
    if n_array.size < 2:
        raise ValueError(f"n_values must list at least two sizes (a slope needs two), "
                         f"got {n_values!r}")
    T = check.check_int("T (number of rounds)", T, minimum=2)
    seeds = check.check_int("seeds", seeds, minimum=2)
    constant_beta = check.check_positive("constant_beta", constant_beta)
    threshold = check.check_open_interval("threshold", threshold, 0.0, 1.0)
    return (num_prompts, num_responses, kappa0s, tuple(int(n) for n in n_array), T, seeds,
            constant_beta, threshold)


def beta_rules(constant_beta: float) -> list[str]:
    """Coordinate values of the ``beta`` axis: :data:`THEORY_BETA`, then the constant's value."""
    return [THEORY_BETA, f"{constant_beta:g}"]


def beta_values(n_values, constant_beta: float) -> np.ndarray:
    """The beta of every (n, rule): shape ``(len(n_values), 2)``, rules as in :func:`beta_rules`."""
    n_array = np.asarray(n_values, dtype=float)
    return np.stack([1.0 / np.sqrt(n_array), np.full_like(n_array, constant_beta)], axis=1)


@functools.lru_cache(maxsize=4)
def _simulation(seed: int, num_prompts: int, num_responses: int, kappa0s: tuple,
                n_values: tuple, T: int, seeds: int, constant_beta: float,
                threshold: float) -> dynamics.Trajectory:
    """The runs every experiment here reads: a Trajectory of read-only NumPy arrays with axes
    ``(kappa0, n, beta rule, seed, t)``.

    One call of :func:`srlm_kit.dynamics.run_grid` per ``n`` (its two betas depend on n).
    """
    heights = [bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    starts = instances.stack([instances.bump(num_prompts, num_responses, height)
                              for height in heights])
    key = jax.random.key(seed)
    betas = beta_values(n_values, constant_beta)
    pieces = [dynamics.run_grid(key, starts, [n], list(betas[index]), T=T, seeds=seeds,
                                threshold=threshold)
              for index, n in enumerate(n_values)]
    fields = {}
    for name in dynamics.Trajectory._fields:
        if getattr(pieces[0], name) is None:  # logits, parameters, triples: not recorded here
            continue
        array = np.concatenate([np.asarray(getattr(piece, name)) for piece in pieces], axis=1)
        array.setflags(write=False)
        fields[name] = array
    return dynamics.Trajectory(**fields)


def simulate(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
             kappa0s=KAPPA0S, n_values=N_VALUES, T: int = 12, seeds: int = 8,
             constant_beta: float = 0.5, threshold: float = 0.5) -> dynamics.Trajectory:
    """The simulation behind this module's experiments (checked arguments, cached per process).

    Not an entry point of its own: its checks, stricter than the experiments' argument table
    (``kappa0 < K``, ``T >= 2``, ``seeds >= 2``), run whenever an experiment calls it.

    Returns a :class:`srlm_kit.dynamics.Trajectory` of read-only NumPy arrays with axes
    ``(kappa0, n, beta rule, seed, t)``; the beta rules are :func:`beta_rules`.
    """
    settings = _check_settings(num_prompts, num_responses, kappa0s, n_values, T, seeds,
                               constant_beta, threshold)
    seed = check.check_int("seed", seed, minimum=0)
    return _simulation(seed, *settings)


def population_kappa(*, num_prompts: int, num_responses: int, kappa0s, betas: np.ndarray,
                     T: int) -> np.ndarray:
    """kappa_t of the exact (infinite-data) update ``pi_{t+1} ∝ pi_t^(1+1/beta)`` from each bump
    start, for every beta of an array: shape ``(len(kappa0s),) + betas.shape + (T + 1,)``.

    Applies :func:`srlm_kit.dynamics.population_update` T times (vectorised over starts and
    betas) and measures with :func:`srlm_kit.metrics.condition_number`.
    [quoted, v2 text: "Gibbs form"; formula reconstructed, from Huang et al.]
    """
    heights = [bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    starts = [instances.bump(num_prompts, num_responses, height) for height in heights]
    logits = jnp.stack([start.logits for start in starts])  # (inits, m, K)
    rho = starts[0].rho
    beta_array = jnp.asarray(betas, dtype=jnp.float64)
    table = jnp.broadcast_to(logits.reshape(logits.shape[:1] + (1,) * beta_array.ndim
                                            + logits.shape[1:]),
                             logits.shape[:1] + beta_array.shape + logits.shape[1:])
    beta_grid = beta_array[None, ..., None, None]
    kappa_of = jnp.vectorize(metrics.condition_number, signature="(m,k),(m)->()")
    values = [kappa_of(table, rho)]
    for _ in range(T):
        table = dynamics.population_update(table, beta_grid)
        values.append(kappa_of(table, rho))
    return np.stack([np.asarray(value) for value in values], axis=-1)


def _slopes(x, rows: np.ndarray, fit) -> np.ndarray:
    """A slope (``fit`` = checks.log_log_slope or semilog_slope) per row of ``rows`` (last axis is
    x); NaN where fewer than two positive values."""
    flat = rows.reshape(-1, rows.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for index, row in enumerate(flat):
        if np.sum(row > 0) >= 2:
            out[index] = fit(x, row).slope
    return out.reshape(rows.shape[:-1])


# --------------------------------------------------------------------------------------------
# Chapter 5: the trajectories, level 1 and level 2
# --------------------------------------------------------------------------------------------


def _recursion_fits(trajectory: dynamics.Trajectory, T: int) -> tuple[np.ndarray, np.ndarray,
                                                                      np.ndarray]:
    """The recursion ``kappa_{t+1} <= 1 + B' sqrt(kappa_t)`` fitted on the first F steps only,
    for F = 1..T, unrolled over all rounds.

    Returns ``rhs`` with axes ``(fit F, *leading, t)``, the coefficients ``(fit, *leading)``
    and, per fit, the violations on the rounds *after* F (the rounds not used for the fit).
    """
    rounds = np.arange(T + 1)
    rhs, coefficients, later_violations = [], [], []
    kappa = np.asarray(trajectory.kappa)
    for fit in range(1, T + 1):
        truncated = trajectory._replace(active=np.asarray(trajectory.active) & (rounds <= fit))
        result = checks.recursion_check(truncated, offset="one")
        rhs.append(result.unrolled.rhs)
        coefficients.append(result.coefficient)
        slack = result.unrolled.rhs - kappa
        allowance = checks.FLOAT_TOLERANCE * np.maximum(1.0, np.abs(result.unrolled.rhs))
        later = (rounds > fit) & np.asarray(trajectory.active)
        later_violations.append(int(np.sum((slack < -allowance) & later)))
    return np.stack(rhs), np.stack(coefficients), np.asarray(later_violations)


@experiment
def iterative_bound_grid(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
                         kappa0s=KAPPA0S, n_values=N_VALUES, T: int = 12, seeds: int = 8,
                         constant_beta: float = 0.5, threshold: float = 0.5,
                         delta: float = 0.05, calibration=(25.5, 100, 1)) -> xr.Dataset:
    """Trajectories of toy A beside Theorem 5.3 and its lemmas, at levels 1 and 2
    (:ref:`recovered-book-own`).

    Labelled grid (see :mod:`srlm_kit.figures.core`) with coordinates ``kappa0``, ``n``,
    ``beta`` (:func:`beta_rules`), ``t`` (rounds 0..T) and ``fit`` (1..T). Bands are mean ± one
    standard deviation over seeds, clipped to the range the seeds reached.

    Over ``[kappa0, n, beta, t]``:

    * ``kappa``, ``failure`` (with a last axis ``band``: mean, lower, upper): the condition
      number and the failure probability ``P_x[max_y pi_t(y|x) <= threshold]`` after t rounds;
    * ``population_kappa``: the exact infinite-data update from the same start and beta;
    * level 1, means over seeds of both sides (NaN at t = 0; entry t is the step from round
      t - 1 to round t): ``c1_lhs = P_x[pi_t(y*_{t-1}(x)|x) <= s]`` and ``c1_rhs =
      gap/(gamma_{t-1}(1 - s))`` (Lemma C.1, :func:`srlm_kit.checks.lemma_c1_check`);
      ``tail_rhs``, the tail-integral bound on kappa_t (Lemma C.3, Eq. 56,
      :func:`srlm_kit.checks.tail_integral_check`; its left side is the mean of ``kappa``);
      ``recursion_one`` and ``recursion_inverse_mu``: the unrolled recursion
      ``kappa* + q^t (kappa_0 - kappa*)`` with ``A = 1`` or ``A = 1/mu`` and the smallest B'
      that every step of the seed needs (:func:`srlm_kit.checks.recursion_check`), largest
      over seeds, so that it bounds every seed.

    Over ``[kappa0, n, fit, t]`` (beta = 1/sqrt(n)): ``recursion_fit``, the same recursion with
    A = 1 fitted on the first ``fit`` steps only, unrolled over every round (largest over seeds):
    after round ``fit`` it is a prediction.

    Over ``[kappa0, n, t]`` (beta = 1/sqrt(n), the theorem's regime): ``mu_min``, ``gamma_min``
    (minima over seeds and rounds 0..t); ``bound_shape``, Theorem 5.3 with its constant set to 1
    and ``log|Pi| = m log K`` (:func:`srlm_kit.bounds.theorem_5_3_on_runs`);
    ``bound_calibrated``, the shape times the one constant that makes it equal the mean failure
    at ``calibration = (kappa0, n, T)``
    (level 2, :func:`srlm_kit.checks.calibrate`); ``coverage_failure``, the coverage model of
    toy A (:func:`srlm_kit.bounds.coverage_failure`; ``level_two["coverage_model_valid"]``
    says whether its condition :func:`srlm_kit.bounds.coverage_reaches_half` holds at every grid
    point). Slopes:
    ``failure_slope_n`` and ``shape_slope_n`` over ``[kappa0, t]`` (least squares of log failure
    on log n, over the n with failure > 0; NaN with fewer than two), ``failure_slope_t``,
    ``shape_slope_t`` and
    ``transient_slope_t = -(1/2) log(1 + sqrt(n mu))`` over ``[kappa0, n]`` (log failure against
    t = 1..T; the transient factor's slope per round).

    ``attrs``: ``level_one`` and ``level_two`` summarise the checks (counts over every seed,
    start, n and both beta rules), and the settings.

    ``log|Pi| = m log K`` is the size of the class "one unknown mode per prompt", the toy-A
    version of the hard instance's class of chapter 4 (``log|Pi| = d log M``); the one-hot
    linear class of toy A has dimension mK and would only make the bound larger.
    [reconstructed, the book's choice; :ref:`recovered-unstated` leaves it to the reader]
    """
    settings = _check_settings(num_prompts, num_responses, kappa0s, n_values, T, seeds,
                               constant_beta, threshold)
    calibration = list(calibration)
    if (len(calibration) != 3 or calibration[0] not in kappa0s
            or calibration[1] not in n_values or calibration[2] not in range(1, int(T) + 1)):
        raise ValueError(f"calibration must be (kappa0, n, T) with kappa0 in {kappa0s}, n in "
                         f"{n_values} and T an integer in [1, {T}], got {tuple(calibration)!r}")
    calibration_kappa0, calibration_n, calibration_T = (
        calibration[0], int(calibration[1]), int(calibration[2]))
    trajectory = _simulation(int(seed), *settings)
    seed_axis = 3
    log_class_size = num_prompts * math.log(num_responses)

    kappa = np.asarray(trajectory.kappa)
    failure = np.asarray(trajectory.failure)
    kappa_band = band(kappa, seed_axis)
    failure_band = band(failure, seed_axis)
    population = population_kappa(num_prompts=num_prompts, num_responses=num_responses,
                                  kappa0s=kappa0s, betas=beta_values(n_values, constant_beta),
                                  T=T)

    # Level 1: both sides of every inequality, on every step of every seed.
    lemma_c1 = checks.lemma_c1_check(trajectory, threshold=threshold)
    tail = checks.tail_integral_check(trajectory)
    one = checks.recursion_check(trajectory, offset="one")
    inverse_mu = checks.recursion_check(trajectory, offset="inverse_mu")
    nothing = np.full(kappa.shape[:-1] + (1,), np.nan)

    def steps_mean(values):  # step t -> round t + 1; mean over seeds
        return np.concatenate([nothing, values], axis=-1).mean(axis=seed_axis)

    theory_rule = trajectory._replace(**{name: np.asarray(getattr(trajectory, name))[:, :, 0]
                                         for name in trajectory._fields if name != "logits"
                                         and getattr(trajectory, name) is not None})
    fit_rhs, fit_coefficients, later_violations = _recursion_fits(theory_rule, T)

    # Level 2: the shape of Theorem 5.3 in the theorem's regime beta = 1/sqrt(n).
    mu_min = running_min_over_seeds(np.asarray(trajectory.mu)[:, :, 0], seed_axis - 1)
    gamma_min = running_min_over_seeds(np.asarray(trajectory.gamma)[:, :, 0], seed_axis - 1)
    shape = bounds.theorem_5_3_on_runs(
        np.asarray(n_values, dtype=float)[None, :, None], np.arange(T + 1)[None, None, :],
        gamma_min=gamma_min, mu_min=mu_min, kappa0=np.asarray(kappa0s)[:, None, None],
        log_class_size=log_class_size, delta=delta)
    empirical = failure_band[:, :, 0, :, 0]  # the mean, at beta = 1/sqrt(n)
    point = (kappa0s.index(calibration_kappa0), n_values.index(calibration_n), calibration_T)
    calibrated = checks.calibrate(np.nan_to_num(empirical[..., 1:]), shape[..., 1:],
                                  (point[0], point[1], point[2] - 1))
    calibrated_shape = np.concatenate([np.full(shape.shape[:-1] + (1,), np.nan),
                                       calibrated.predicted], axis=-1)
    observed = empirical[..., 1:] > 0
    ratio = calibrated.ratio[observed]

    coverage = bounds.coverage_failure(
        np.asarray(n_values)[None, :, None], np.arange(T + 1)[None, None],
        num_prompts=num_prompts, mode_probability=1.0 / np.asarray(kappa0s)[:, None, None])
    reaches_half = bounds.coverage_reaches_half(n_values, num_responses=num_responses,
                                                kappa0=kappa0s)

    log_n = np.asarray(n_values, dtype=float)
    rounds = np.arange(1, T + 1, dtype=float)
    failure_slope_n = _slopes(log_n, np.moveaxis(empirical[..., 1:], 1, -1), checks.log_log_slope)
    shape_slope_n = _slopes(log_n, np.moveaxis(shape[..., 1:], 1, -1), checks.log_log_slope)
    failure_slope_t = _slopes(rounds, empirical[..., 1:], checks.semilog_slope)
    shape_slope_t = _slopes(rounds, shape[..., 1:], checks.semilog_slope)
    transient_slope_t = -0.5 * np.log1p(np.sqrt(np.asarray(n_values)[None, :] * mu_min[..., -1]))

    active_steps = np.asarray(trajectory.active)[..., 1:]
    level_one = {
        "steps_checked": int(active_steps.sum()),
        "lemma_c1_violations": checks.count_violations(lemma_c1),
        "lemma_c1_smallest_slack": checks.smallest_slack(lemma_c1),
        "tail_violations": checks.count_violations(tail.inequality),
        "tail_smallest_slack": checks.smallest_slack(tail.inequality),
        "tail_trivial_fraction": float(tail.trivial[active_steps].mean()),
        "recursion_one_violations": checks.count_violations(one.unrolled),
        "recursion_one_coefficient_min": float(one.coefficient.min()),
        "recursion_one_coefficient_max": float(one.coefficient.max()),
        "recursion_one_fixed_point_min": float(one.fixed_point.min()),
        "recursion_one_fixed_point_max": float(one.fixed_point.max()),
        "recursion_inverse_mu_violations": checks.count_violations(inverse_mu.unrolled),
        "recursion_inverse_mu_coefficient_max": float(inverse_mu.coefficient.max()),
        "recursion_inverse_mu_offset_suffices": bool(inverse_mu.offset_suffices.all()),
        "recursion_inverse_mu_offset_over_kappa0_max": float(
            (inverse_mu.offset / kappa[..., 0]).max()),
        "recursion_fit_later_violations": later_violations.tolist(),
        "recursion_fit_runs": int(np.prod(fit_coefficients.shape[1:])),
    }
    level_two = {
        "calibration": {"kappa0": calibration_kappa0, "n": calibration_n, "T": calibration_T},
        "constant": calibrated.constant,
        "log_class_size": log_class_size,
        "points_with_failures": int(observed.sum()),
        "points_above_prediction": int(np.sum(ratio > 1.0 + 1e-12)),
        "coverage_model_valid": bool(reaches_half.all()),
        "ratio_min": float(ratio.min()),
        "ratio_max": float(ratio.max()),
    }
    fields = {
        "kappa": kappa_band, "failure": failure_band, "population_kappa": population,
        "c1_lhs": steps_mean(lemma_c1.lhs), "c1_rhs": steps_mean(lemma_c1.rhs),
        "tail_rhs": steps_mean(tail.inequality.rhs),
        "recursion_one": one.unrolled.rhs.max(axis=seed_axis),
        "recursion_inverse_mu": inverse_mu.unrolled.rhs.max(axis=seed_axis),
        "recursion_fit": np.moveaxis(fit_rhs.max(axis=1 + seed_axis - 1), 0, 2),
        "mu_min": mu_min, "gamma_min": gamma_min, "bound_shape": shape,
        "bound_calibrated": calibrated_shape, "coverage_failure": coverage,
        "failure_slope_n": failure_slope_n, "shape_slope_n": shape_slope_n,
        "failure_slope_t": failure_slope_t, "shape_slope_t": shape_slope_t,
        "transient_slope_t": transient_slope_t,
    }
    full = ["kappa0", "n", "beta", "t"]
    dims = {name: full for name in ("population_kappa", "c1_lhs", "c1_rhs", "tail_rhs",
                                     "recursion_one", "recursion_inverse_mu")}
    dims.update({"kappa": [*full, "band"], "failure": [*full, "band"],
                 "recursion_fit": ["kappa0", "n", "fit", "t"],
                 "mu_min": ["kappa0", "n", "t"], "gamma_min": ["kappa0", "n", "t"],
                 "bound_shape": ["kappa0", "n", "t"], "bound_calibrated": ["kappa0", "n", "t"],
                 "coverage_failure": ["kappa0", "n", "t"],
                 "failure_slope_n": ["kappa0", "t"], "shape_slope_n": ["kappa0", "t"],
                 "failure_slope_t": ["kappa0", "n"], "shape_slope_t": ["kappa0", "n"],
                 "transient_slope_t": ["kappa0", "n"]})
    # The slopes in n are per round t = 1..T: pad t = 0 with NaN so every [.., t] field has T + 1.
    for name in ("failure_slope_n", "shape_slope_n"):
        fields[name] = np.concatenate([np.full(fields[name].shape[:-1] + (1,), np.nan),
                                       fields[name]], axis=-1)
    return labelled_grid(
        {"kappa0": kappa0s, "n": n_values, "beta": beta_rules(constant_beta),
         "t": list(range(T + 1)), "fit": list(range(1, T + 1))},
        {name: (dims[name], values) for name, values in fields.items()},
        attrs={"level_one": level_one, "level_two": level_two,
               "seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "seeds": seeds, "T": T, "constant_beta": constant_beta,
               "threshold": threshold, "delta": delta,
               "bump_heights": [bump_height_for_kappa0(value, num_responses)
                                for value in kappa0s]})


# --------------------------------------------------------------------------------------------
# Chapter 5: level 3, the full bound with every hidden constant set to 1
# --------------------------------------------------------------------------------------------


def wide_n_grid(n_values, doublings: int) -> list[float]:
    """``n_values[0] * 2^j`` for j = 0..doublings, merged with ``n_values`` (so the simulated
    sizes are points of the grid), increasing."""
    geometric = float(n_values[0]) * 2.0 ** np.arange(doublings + 1)
    merged = np.unique(np.concatenate([geometric, np.asarray(n_values, dtype=float)]))
    return [float(value) for value in merged]


@experiment
def iterative_level_three(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
                          kappa0s=KAPPA0S, n_values=N_VALUES, T: int = 12, seeds: int = 8,
                          constant_beta: float = 0.5, threshold: float = 0.5,
                          delta: float = 0.05, doublings: int = 30) -> xr.Dataset:
    """The failure bound with every hidden constant set to 1 (level 3, :ref:`recovered-book-own`)
    beside the simulated failure, for n far beyond the simulated range.

    Labelled grid over ``[kappa0, T, n]`` with ``T`` = 1..T rounds and ``n`` on
    :func:`wide_n_grid` (``n_values[0]`` times powers of 2, ``doublings`` doublings, plus the
    simulated sizes):

    * ``bound``: :func:`srlm_kit.bounds.level_three_bound` with ``log|Pi| = m log K`` (as in
      :func:`iterative_bound_grid`), ``beta = n^(-1/2)``, ``A = 1/mu``, confidence ``delta``;
    * ``bound_no_class``: the same with ``log|Pi| = 0``, the most favourable class size;
    * ``failure_observed``: the simulated failure after T rounds (mean over seeds,
      ``beta = n^(-1/2)``) at the simulated n, NaN elsewhere.

    mu and gamma are the minima over seeds, simulated n and rounds 0..T (``mu``, ``gamma`` over
    ``[kappa0, T]``); using them beyond the simulated n assumes they stay the same there. For the
    bump starts they stay at (or within a hair of) their round-0 values, ``1/kappa0`` and the
    bump height: ``mu_relative_change`` and ``gamma_relative_change`` give the largest relative
    distance from those values (``attrs``, with ``simulated_n``, ``log_class_size`` and the
    settings). ``crossing`` and
    ``crossing_no_class`` over ``[kappa0, T]``: the smallest n at which the bound drops below 1
    (:func:`srlm_kit.bounds.level_three_crossing`). [reconstructed, :ref:`recovered-book-own`]
    """
    trajectory = simulate(seed=seed, num_prompts=num_prompts, num_responses=num_responses,
                          kappa0s=kappa0s, n_values=n_values, T=T, seeds=seeds,
                          constant_beta=constant_beta, threshold=threshold)
    doublings = check.check_int("doublings", doublings, minimum=1, maximum=60)
    wide = wide_n_grid(n_values, doublings)
    log_class_size = num_prompts * math.log(num_responses)
    rounds = list(range(1, T + 1))

    theory_rule = (slice(None), slice(None), 0)  # beta = 1/sqrt(n); axes (kappa0, n, seed, t)
    mu_runs = np.asarray(trajectory.mu)[theory_rule]
    gamma_runs = np.asarray(trajectory.gamma)[theory_rule]
    mu = np.minimum.accumulate(mu_runs.min(axis=(1, 2)), axis=-1)[:, 1:]  # (kappa0, T)
    gamma = np.minimum.accumulate(gamma_runs.min(axis=(1, 2)), axis=-1)[:, 1:]
    failure = np.asarray(trajectory.failure)[theory_rule].mean(axis=2)[..., 1:]  # (kappa0, n, T)

    shape = (len(kappa0s), T, len(wide))
    bound, bound_no_class, observed = (np.full(shape, np.nan) for _ in range(3))
    crossing, crossing_no_class = np.full(shape[:2], np.nan), np.full(shape[:2], np.nan)
    wide_array = np.asarray(wide)
    positions = [wide.index(float(n)) for n in n_values]
    for i, kappa0 in enumerate(kappa0s):
        for j, rounds_T in enumerate(rounds):
            common = dict(gamma=gamma[i, j], mu=mu[i, j], kappa0=kappa0, delta=delta)
            bound[i, j] = bounds.level_three_bound(wide_array, rounds_T, log_class_size=
                                                   log_class_size, **common).failure_bound
            bound_no_class[i, j] = bounds.level_three_bound(wide_array, rounds_T,
                                                            log_class_size=0.0,
                                                            **common).failure_bound
            for target, size in ((crossing, log_class_size), (crossing_no_class, 0.0)):
                found = bounds.level_three_crossing(rounds_T, log_class_size=size, **common)
                target[i, j] = np.nan if found is None else found
            observed[i, j, positions] = failure[i, :, j]
    start_mu = 1.0 / np.asarray(kappa0s)
    start_gamma = np.asarray([bump_height_for_kappa0(value, num_responses) for value in kappa0s])
    # How far the measured minima moved from the start's values (relative; 0 = not at all).
    mu_change = float(np.max(np.abs(mu / start_mu[:, None] - 1.0)))
    gamma_change = float(np.max(np.abs(gamma / start_gamma[:, None] - 1.0)))
    fields = {"bound": bound, "bound_no_class": bound_no_class,
              "failure_observed": observed, "mu": mu, "gamma": gamma, "crossing": crossing,
              "crossing_no_class": crossing_no_class}
    dims = {name: ["kappa0", "T", "n"] for name in ("bound", "bound_no_class",
                                                     "failure_observed")}
    dims.update({name: ["kappa0", "T"] for name in ("mu", "gamma", "crossing",
                                                     "crossing_no_class")})
    return labelled_grid(
        {"kappa0": kappa0s, "T": rounds, "n": wide},
        {name: (dims[name], values) for name, values in fields.items()},
        attrs={"simulated_n": n_values, "mu_relative_change": mu_change,
               "gamma_relative_change": gamma_change, "log_class_size": log_class_size,
               "seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "seeds": seeds, "T": T, "delta": delta, "doublings": doublings})


# --------------------------------------------------------------------------------------------
# Chapter 6: how many rounds
# --------------------------------------------------------------------------------------------

#: Readings of the minimum confidence mu in Corollary 5.7 (coordinate values of ``reading``).
READINGS = ("rounds 0..T", "rounds 1..T", "μ = 1")


@check.entry_point
def rounds_to_suppress(kappa: np.ndarray, limit: float = 1.0,
                       factor: float = bounds.SUPPRESSION_FACTOR) -> np.ndarray:
    """The empirical counterpart of Corollary 5.7's threshold, per run (last axis = rounds 0..T).

    Theorem 5.3 bounds the failure after T rounds through ``kappa_{T-1}``, split as
    ``sqrt(kappa_{T-1}) <= sqrt(kappa*) + q^((T-1)/2) sqrt(kappa_0)``: a stable part and a
    transient part carried over from the start. Its empirical counterpart splits
    ``kappa_{T-1} = kappa_inf + (kappa_{T-1} - kappa_inf)`` with ``kappa_inf`` the limit of the
    run, and calls the start suppressed once the transient part is at most the stable one,
    ``kappa_{T-1} <= factor * kappa_inf`` (factor 2). The result is the smallest such T,
    ``1 + min{t : kappa_t <= factor * limit}``, or NaN if no round of the run qualifies
    (censored: the run was too short to tell). [reconstructed, the book's definition;
    :ref:`recovered-book-own`]
    """
    kappa = np.asarray(kappa, dtype=float)
    check.check_positive("limit", limit)
    check.check_positive("factor", factor)
    below = kappa <= factor * limit
    first = np.argmax(below, axis=-1)
    return np.where(below.any(axis=-1), first + 1.0, np.nan)


@experiment
def rounds_needed_grid(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
                       kappa0s=KAPPA0S, n_values=N_VALUES, T: int = 12, seeds: int = 8,
                       constant_beta: float = 0.5, threshold: float = 0.5) -> xr.Dataset:
    """Rounds needed to suppress the start, measured and as Corollary 5.7 predicts.

    Labelled grid with coordinates ``kappa0``, ``n``, ``beta`` (:func:`beta_rules`),
    ``reading`` (:data:`READINGS`) and ``T`` (1..T):

    * ``rounds`` over ``[kappa0, n, beta, band]``: :func:`rounds_to_suppress` per
      seed with kappa_inf = 1 (every run here tends to a deterministic policy, kappa = 1, once
      every prompt's mode has been sampled), mean and band over seeds; NaN where some seed
      needed more rounds than the run had (``censored`` counts those seeds);
    * ``coverage_rounds`` over ``[kappa0, n]``: the rounds the coverage model of toy A needs
      (:func:`srlm_kit.bounds.coverage_rounds`, beta = n^(-1/2));
    * ``mu_reading`` over ``[kappa0, n, reading]``: the minimum confidence under three readings
      of Definition 5.2, minima over seeds with ``beta = n^(-1/2)``: over rounds 0..T (the
      start included, the paper's "across all ... update rounds"), over rounds 1..T, and
      ``mu = 1``, the confidence of the limit ``kappa_inf = 1`` (the most generous reading:
      the stable term then is the limit the runs reach);
    * ``threshold`` over ``[kappa0, n, reading]``: Corollary 5.7's
      ``1 + log(mu kappa0)/log(1 + sqrt(n mu))``
      (:func:`srlm_kit.bounds.iteration_threshold_approximate`); values below 1 mean "met at
      T = 1";
    * ``stable``, ``transient`` over ``[kappa0, n, reading, T]``: the two terms of Theorem
      5.3's last factor, ``mu^(-1/2)`` and ``sqrt(kappa0) q^((T-1)/2)``, ``q = 1/(1 +
      sqrt(n mu))``, and ``term_sum`` their sum, the theory's bound on ``sqrt(kappa_{T-1})``;
    * ``sqrt_kappa`` over ``[kappa0, n, T, band]``: the measured
      ``sqrt(kappa_{T-1})`` (``beta = n^(-1/2)``), mean and band over seeds.

    ``kappa_final_max`` records the largest final kappa over seeds for each [kappa0, n, beta].
    [statement of Corollary 5.7 quoted, v2 text; formula reconstructed, :ref:`recovered-cor-5-7`,
    :ref:`recovered-book-own`]
    """
    trajectory = simulate(seed=seed, num_prompts=num_prompts, num_responses=num_responses,
                          kappa0s=kappa0s, n_values=n_values, T=T, seeds=seeds,
                          constant_beta=constant_beta, threshold=threshold)
    seed_axis = 3
    kappa = np.asarray(trajectory.kappa)  # (kappa0, n, beta, seed, t)
    needed = rounds_to_suppress(kappa)  # (kappa0, n, beta, seed)
    censored = np.isnan(needed).sum(axis=seed_axis)
    complete = censored == 0
    filled = np.where(np.isnan(needed), 0.0, needed)
    rounds_band = np.where(complete[..., None], band(filled, seed_axis), np.nan)

    mu_runs = np.asarray(trajectory.mu)[:, :, 0]  # (kappa0, n, seed, t), beta = 1/sqrt(n)
    mu_reading = np.stack([mu_runs.min(axis=(2, 3)), mu_runs[..., 1:].min(axis=(2, 3)),
                           np.ones(mu_runs.shape[:2])], axis=-1)  # (kappa0, n, reading)
    kappa0_grid = np.asarray(kappa0s)[:, None, None]
    n_grid = np.asarray(n_values, dtype=float)[None, :, None]
    thresholds = bounds.iteration_threshold_approximate(n_grid, mu_reading, kappa0_grid)
    rounds = np.arange(1, T + 1, dtype=float)
    q = np.asarray(bounds.reviewer_contraction_factor(n_grid, mu_reading))[..., None]
    stable = np.broadcast_to((1.0 / np.sqrt(mu_reading))[..., None],
                             mu_reading.shape + (T,))
    transient = np.sqrt(kappa0_grid[..., None]) * q ** ((rounds - 1.0) / 2.0)
    predicted_rounds = bounds.coverage_rounds(n_grid[..., 0], num_prompts=num_prompts,
                                       kappa0=kappa0_grid[..., 0])
    sqrt_kappa = np.sqrt(kappa[:, :, 0, :, :T])  # sqrt(kappa_{T-1}) for T = 1..T
    fields = {"rounds": rounds_band, "censored": censored, "coverage_rounds": predicted_rounds,
              "kappa_final_max": kappa[..., -1].max(axis=seed_axis),
              "mu_reading": mu_reading, "threshold": thresholds, "stable": stable,
              "transient": transient, "term_sum": stable + transient,
              "sqrt_kappa": band(sqrt_kappa, 2)}
    dims = {name: ["kappa0", "n", "beta"] for name in ("censored", "kappa_final_max")}
    dims["rounds"] = ["kappa0", "n", "beta", "band"]
    dims["coverage_rounds"] = ["kappa0", "n"]
    dims.update({name: ["kappa0", "n", "reading"] for name in ("mu_reading", "threshold")})
    dims.update({name: ["kappa0", "n", "reading", "T"] for name in ("stable", "transient",
                                                                    "term_sum")})
    dims["sqrt_kappa"] = ["kappa0", "n", "T", "band"]
    return labelled_grid(
        {"kappa0": kappa0s, "n": n_values, "beta": beta_rules(constant_beta),
         "reading": list(READINGS), "T": list(range(1, T + 1))},
        {name: (dims[name], values) for name, values in fields.items()},
        attrs={"suppression_factor": bounds.SUPPRESSION_FACTOR, "seed": seed,
               "num_prompts": num_prompts, "num_responses": num_responses, "seeds": seeds,
               "T": T, "constant_beta": constant_beta, "threshold": threshold})


# --------------------------------------------------------------------------------------------
# Chapter 5: one round, from the regression error to the gap (the one-round lemma)
# --------------------------------------------------------------------------------------------


def _one_round_statistics(old, new, rho, beta):
    """The quantities of the one-round lemma for one ERM round from ``pi_t`` to ``pi_{t+1}``,
    given as normalised log-probability tables ``old`` and ``new`` (one seed).

    ``r_pi - r_t = beta log(pi_{t+1}/pi_t) - log pi_t`` is the residual of the fitted implicit
    reward against the self-reward, so that the pairwise residual is
    ``g(y, y') = (r_pi - r_t)(y) - (r_pi - r_t)(y')``.
    Returns ``(error_train, error_target, term_target, term_new, kl_target, kl_new, gap,
    failure)``: the root-mean-square of g under ``pi_t (x) pi_t``; the mean of ``|g(y*, y')|``
    under ``pi* (x) pi_t``; the two regression terms of the gap decomposition,
    ``E_{pi* x pi_t}[-g]`` and ``E_{pi_{t+1} x pi_t}[g]``; ``beta KL(pi* || pi_t)`` and
    ``beta KL(pi_{t+1} || pi_t)`` (prompt averages); the gap ``J_t(pi*) - J_t(pi_{t+1})``; and
    the failure probability of ``pi_{t+1}``.
    """
    p_old, p_new = jnp.exp(old), jnp.exp(new)
    mode = jnp.argmax(old, axis=-1)
    residual = beta * (new - old) - old
    mean_old = jnp.sum(p_old * residual, axis=-1)
    at_mode = jnp.take_along_axis(residual, mode[:, None], axis=-1)[:, 0]
    variance = jnp.maximum(jnp.sum(p_old * residual**2, axis=-1) - mean_old**2, 0.0)
    error_train = jnp.sqrt(jnp.sum(rho * 2.0 * variance))
    error_target = jnp.sum(rho * jnp.sum(p_old * jnp.abs(at_mode[:, None] - residual), axis=-1))
    term_target = jnp.sum(rho * (mean_old - at_mode))
    term_new = jnp.sum(rho * (jnp.sum(p_new * residual, axis=-1) - mean_old))
    kl_target = beta * jnp.sum(rho * -jnp.take_along_axis(old, mode[:, None], axis=-1)[:, 0])
    kl_new = beta * jnp.sum(rho * jnp.sum(p_new * (new - old), axis=-1))
    gap = metrics.performance_gap(new, old, rho)
    failure = metrics.failure_probability(new, rho)
    return jnp.stack([error_train, error_target, term_target, term_new, kl_target, kl_new, gap,
                      failure])


_ONE_ROUND_FIELDS = ("error_train", "error_target", "term_target", "term_new", "kl_target",
                     "kl_new", "gap", "failure")


#: The statistics of every seed of a run: axis 0 of ``old`` and ``new``.
_one_round_seeds = jax.jit(jax.vmap(_one_round_statistics, in_axes=(0, 0, None, None)))


@experiment
def one_round_grid(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
                   kappa0s=KAPPA0S, n_values=N_VALUES, seeds: int = 8,
                   delta: float = 0.05) -> xr.Dataset:
    """One round of toy A from each bump start, beside the one-round lemma (level 1 and shape).

    For every start ``kappa0``, sample size ``n`` (``beta = n^(-1/2)``) and seed, one square-loss
    ERM round (:func:`srlm_kit.dynamics.run` with ``T = 1``, seeds from
    ``jax.random.key(seed)``) and the quantities of
    :func:`srlm_kit.theory.one_round.one_round_bound`, measured exactly on the tabular policies.
    Labelled grid over ``[kappa0, n]``, means over seeds:

    * ``error_train``: the regression error the ERM controls, root-mean-square of the pairwise
      residual under the sampling law ``pi_0 (x) pi_0``;
    * ``error_target``: the mean absolute residual under the target pair law ``pi* (x) pi_0``;
      ``change_of_measure`` = ``sqrt(kappa0) error_train``, its Cauchy-Schwarz bound (exact for
      a bump start, where ``kappa(pi_0) = kappa0``);
    * ``gap`` and ``decomposition``, the right side of the gap decomposition
      ``term_target + term_new + kl_target - kl_new``, which bounds the gap on every seed;
    * ``failure`` after the round; ``bound`` = the lemma's failure bound with constants 1
      (:func:`srlm_kit.bounds.statistical_error` with ``log|Pi| = m log K``, ``gamma`` the
      bump height).

    ``attrs``: ``level_one`` counts the seeds on which an inequality fails (the decomposition, and
    the change of measure); ``slopes`` are least-squares slopes in ``log n``. [reconstructed, the
    book's measurement of the one-round lemma, :ref:`recovered-book-own`; the paper has no
    experiments]
    """
    settings = _check_settings(num_prompts, num_responses, kappa0s, n_values, 2, seeds, 0.5, 0.5)
    num_prompts, num_responses, kappa0s, n_values, _, seeds, _, _ = settings
    key = jax.random.key(seed)
    heights = [bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    values = np.empty((len(kappa0s), len(n_values), seeds, len(_ONE_ROUND_FIELDS)))
    for i, height in enumerate(heights):
        start = instances.bump(num_prompts, num_responses, height)
        for j, n in enumerate(n_values):
            run = dynamics.run(key, start, n=n, T=1, beta=n ** -0.5, seeds=seeds,
                               keep_logits=True)
            values[i, j] = np.asarray(_one_round_seeds(run.logits[:, 0], run.logits[:, 1],
                                                       start.rho, n ** -0.5))
    per_seed = {name: values[..., k] for k, name in enumerate(_ONE_ROUND_FIELDS)}
    root_kappa = np.sqrt(np.asarray(kappa0s))[:, None, None]
    change_bound = root_kappa * per_seed["error_train"]
    decomposition = (per_seed["term_target"] + per_seed["term_new"] + per_seed["kl_target"]
                     - per_seed["kl_new"])
    tolerance = 1e-9
    log_class_size = num_prompts * math.log(num_responses)
    n_array = np.asarray(n_values, dtype=float)
    error_stat, _ = bounds.statistical_error(n_array, log_class_size=log_class_size, delta=delta)
    gap_bound = (np.sqrt(kappa0s)[:, None] * error_stat[None, :]
                 + np.log(kappa0s)[:, None] / np.sqrt(n_array)[None, :])
    fields = {name: per_seed[name].mean(axis=2) for name in _ONE_ROUND_FIELDS}
    fields["change_of_measure"] = change_bound.mean(axis=2)
    fields["decomposition"] = decomposition.mean(axis=2)
    fields["bound"] = 2.0 * gap_bound / np.asarray(heights)[:, None]
    fields["tightness"] = fields["error_target"] / fields["change_of_measure"]
    slopes = {name: [float(checks.log_log_slope(n_array, row).slope) for row in fields[name]]
              for name in ("error_train", "error_target", "gap")}
    return labelled_grid(
        {"kappa0": list(kappa0s), "n": list(n_values)},
        {name: (["kappa0", "n"], array) for name, array in fields.items()},
        attrs={"level_one": {
            "seeds_checked": int(decomposition.size),
            "decomposition_violations": int(np.sum(per_seed["gap"] > decomposition + tolerance)),
            "change_of_measure_violations": int(np.sum(
                per_seed["error_target"] > change_bound + tolerance)),
            "term_target_over_error_target_max": float(np.max(
                per_seed["term_target"] - per_seed["error_target"])),
        },
        "slopes": slopes, "seed": seed, "num_prompts": num_prompts,
        "num_responses": num_responses, "seeds": seeds, "delta": delta,
        "log_class_size": log_class_size, "bump_heights": heights})
