"""How fast the loop sharpens: the exact (infinite-data) update against finite samples.

With infinite data one round of self-rewarding replaces ``pi_t`` by the Gibbs policy
``pi_{t+1} ∝ pi_t^(1+1/beta)`` (paper Eq. 12), so ``T`` rounds give
``pi_T ∝ pi_0^((1+1/beta)^T)``: a doubly exponential sharpening. [statement quoted, v2 text:
"Gibbs form"; formula reconstructed, from the Huang et al. template; composition reconstructed,
by algebra] From a bump (toy A: every logit 0 except the mode's, ``b``) the margin is
``b c^t`` with ``c = 1 + 1/beta`` (:func:`srlm_kit.bounds.bump_closed_form`). Four
experiments, each returning a labelled grid (:mod:`srlm_kit.figures.core`):

* :func:`population_sharpening`: the kit's exact update on a grid of kappa_0 and beta, beside
  the closed forms;
* :func:`population_versus_samples`: the exact update against ERM at several n, and the single
  exponential of Theorem 5.3's transient factor;
* :func:`beta_regimes`: ``beta = a/sqrt(n)``, the paper's regime, against a constant beta, with
  the coverage prediction :func:`srlm_kit.bounds.coverage_failure`;
* :func:`self_versus_frozen_reward`: the self-reward ``log pi_t`` against a reward frozen at
  ``log pi_0`` (a judge that never changes); only the exact update tells them apart, by the
  exponent of ``pi_0`` (:func:`srlm_kit.bounds.population_exponent`).

The algebra is in :mod:`srlm_kit.theory.sharpening`
(:func:`srlm_kit.theory.sharpening.bump_population_excess`,
:func:`srlm_kit.theory.sharpening.coverage_derivation`,
:func:`srlm_kit.theory.sharpening.exponent_recursions`).
Bands are mean ± one standard deviation over seeds, clipped to the range the seeds reached.
The paper has no experiments; every instance here is the book's [reconstructed,
:ref:`recovered-book-own`].
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, checks, dynamics, instances, metrics, policies
from srlm_kit.experiments.common import (
    DELTA,
    NUM_PROMPTS,
    NUM_RESPONSES,
    THRESHOLD,
    band,
    check_run_sizes,
    experiment,
    kappa_and_failure_runs,
    labelled_grid,
    per_table,
    population_logits,
    running_min_over_seeds,
    simulate,
)
from srlm_kit.instances import bump_height_for_kappa0
from srlm_kit.policies import LOG_FLOOR, log_policy

#: The bump of :func:`population_versus_samples` and :func:`beta_regimes`:
#: kappa_0 = 1 + (K - 1)/2 = 10.5 for K = 20.
BUMP_HEIGHT = math.log(2.0)


@experiment
def population_sharpening(*, num_responses: int = 10,
                          kappa0s=(1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 9.5),
                          betas=(0.1, 0.25, 0.5, 1.0, 2.0, 4.0), T: int = 8) -> xr.Dataset:
    """The exact self-rewarding iteration from bump policies, with its closed forms.

    One prompt (the population update acts on each prompt separately, and every prompt of a
    bump policy is the same), ``K = num_responses`` responses, bump heights chosen so that
    ``kappa(pi_0)`` takes each value of ``kappa0s``
    (:func:`srlm_kit.instances.bump_height_for_kappa0`), and ``T`` exact rounds for
    every ``beta``. Nothing is random, so there is no seed.

    Labelled grid (:class:`xarray.Dataset`) over ``[kappa0, beta, t]``: from the kit,
    ``kappa``, ``top_probability`` (``max_y pi_t(y|x)``) and ``margin`` (``gamma_t``, the
    log-probability gap between the mode and the runner-up); ``floor_reached`` is 1 where the
    runner-up's log-probability has reached the kit's floor :data:`srlm_kit.policies.LOG_FLOOR`
    (``exp(-10^4)`` is 0 in float64), so the kit's margin stops growing there; and the closed forms
    ``closed_kappa``, ``closed_top_probability``, ``closed_margin``
    (:func:`srlm_kit.bounds.bump_closed_form`).
    ``attrs``: the settings, the bump heights, and ``rounds_to_exceed_half`` per ``[kappa0, beta]``
    (:func:`srlm_kit.bounds.rounds_to_exceed_half`).
    """
    if np.size(kappa0s) == 0 or np.size(betas) == 0:
        raise ValueError("kappa0s and betas must each list at least one value")
    kappa0s = check.check_increasing_floats("kappa0s", kappa0s, 1.0, num_responses,
                                            open_low=True)
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    heights = [bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    starts = instances.stack([instances.bump(1, num_responses, height) for height in heights])
    # The population update draws nothing: one seed and n = 1 are placeholders.
    exact = dynamics.run_grid(jax.random.key(0), starts, [1], betas, T=T, seeds=1,
                              update="population")
    kit = {name: np.asarray(getattr(exact, name))[:, 0, :, 0, :]
           for name in ("kappa", "mu", "gamma")}
    rounds = np.arange(T + 1)
    closed = {name: np.empty_like(kit["kappa"])
              for name in ("kappa", "top_probability", "margin")}
    for i, height in enumerate(heights):
        for j, beta in enumerate(betas):
            closed_forms = bounds.bump_closed_form(height, num_responses, beta, rounds)
            for name, values in closed_forms.items():
                closed[name][i, j] = values
    # The mode's log-probability is at most 0, so a margin of -LOG_FLOOR - 1 or more means the
    # runner-up is within 1 of the floor; from there the kit's margin is capped.
    floor_reached = kit["gamma"] >= -LOG_FLOOR - 1.0
    fields = {
        "kappa": kit["kappa"], "top_probability": kit["mu"], "margin": kit["gamma"],
        "floor_reached": floor_reached.astype(float),
        "closed_kappa": closed["kappa"], "closed_top_probability": closed["top_probability"],
        "closed_margin": closed["margin"],
    }
    return labelled_grid(
        {"kappa0": kappa0s, "beta": betas, "t": rounds.tolist()},
        {name: (["kappa0", "beta", "t"], values) for name, values in fields.items()},
        attrs={"num_responses": num_responses, "T": T, "bump_heights": heights,
               "log_floor": LOG_FLOOR, "sharpening_exponents": [1.0 + 1.0 / beta for beta in betas],
               "rounds_to_exceed_half": [[bounds.rounds_to_exceed_half(h, num_responses, b)
                                          for b in betas] for h in heights]})


@experiment
def population_versus_samples(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                              num_responses: int = NUM_RESPONSES, height: float = BUMP_HEIGHT,
                              n_values=(100, 200, 400, 800, 1600, 3200),
                              betas=(0.1, 0.5, 1.0), T: int = 8, seeds: int = 8,
                              rate_rounds: int = 3) -> xr.Dataset:
    """``kappa_t - 1`` under the exact update, under ERM at each n, and the
    single exponential of Theorem 5.3's transient factor.

    Start: the bump (toy A, :func:`srlm_kit.instances.bump`), kappa_0 = 1 + (K - 1) e^(-b).
    Fields (labelled grid):

    * ``excess`` ``[n, beta, t, band]``: ``kappa_t - 1`` of the ERM runs
      (:func:`~srlm_kit.metrics.condition_excess`, mean and band over seeds);
      ``failure_mean`` likewise;
    * ``population_excess`` ``[beta, t]``: the exact update (n = infinity);
    * ``transient_reference`` ``[n, beta, t]``: ``(kappa_0 - 1) q^(t/2)`` with
      ``q = 1/(1 + sqrt(n mu))`` (:func:`srlm_kit.bounds.reviewer_contraction_factor`) at the
      runs' mu: a single exponential at the per-round factor of the bound's transient term,
      drawn from ``kappa_0 - 1`` to compare slopes (it is not a bound on ``kappa_t - 1``);
    * ``bound`` ``[n, beta, t]``: Theorem 5.3, every hidden constant 1, log|Pi| = 0, at the
      runs' mu and gamma (minimum over seeds and rounds 0..t); NaN at t = 0;
    * ``erm_rate`` ``[n, beta]``: minus the least-squares slope of ``log(kappa_t - 1)`` (seed
      mean) over rounds ``0..rate_rounds`` (:func:`srlm_kit.checks.semilog_slope`), a per-round
      decay rate; ``transient_rate`` ``[n, beta]``: ``log(1 + sqrt(n mu))/2``, the bound's;
    * ``population_decrement`` ``[beta, step]``: ``log(kappa_t - 1) - log(kappa_{t+1} - 1)``
      of the exact update (NaN once it underflows), which grows by the factor ``1 + 1/beta``
      every round.
    """
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    check_run_sizes(num_prompts, num_responses, T, seeds)
    check.check_int("rate_rounds", rate_rounds, minimum=1, maximum=T)
    start = instances.bump(num_prompts, num_responses, height)
    key = jax.random.key(seed)
    shape = (len(n_values), len(betas), seeds, T + 1)
    excess, failure, mu, gamma = (np.empty(shape) for _ in range(4))
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds)
            excess[i, j] = per_table(metrics.condition_excess, trajectory.logits, start.rho)
            failure[i, j] = np.asarray(trajectory.failure)
            mu[i, j], gamma[i, j] = np.asarray(trajectory.mu), np.asarray(trajectory.gamma)
    population = np.stack([per_table(metrics.condition_excess, population_logits(
        start.logits, beta, T), start.rho) for beta in betas])

    seed_axis = 2
    excess_band = band(excess, seed_axis)
    kappa0 = float(metrics.condition_number(start.logits, start.rho))
    rounds = np.arange(T + 1, dtype=float)
    mu_min = running_min_over_seeds(mu, seed_axis)
    gamma_min = running_min_over_seeds(gamma, seed_axis)
    n_grid = np.asarray(n_values, dtype=float)[:, None, None]
    q = bounds.reviewer_contraction_factor(n_grid, mu_min)
    reference = (kappa0 - 1.0) * q**(rounds / 2.0)
    bound = bounds.theorem_5_3_on_runs(n_grid, rounds, gamma_min=gamma_min, mu_min=mu_min,
                                       kappa0=kappa0, delta=DELTA)
    erm_rate = np.array([[-checks.semilog_slope(rounds[:rate_rounds + 1],
                                                excess_band[i, j, :rate_rounds + 1, 0]).slope
                          for j in range(len(betas))] for i in range(len(n_values))])
    transient_rate = 0.5 * np.log1p(np.sqrt(n_grid[..., 0] * mu_min[..., -1]))
    with np.errstate(divide="ignore"):
        log_population = np.where(population > 0, np.log(np.where(population > 0, population,
                                                                   1.0)), np.nan)
    decrement = log_population[:, :-1] - log_population[:, 1:]

    fields = {
        "excess": (["n", "beta", "t", "band"], excess_band),
        "failure_mean": (["n", "beta", "t"], failure.mean(axis=seed_axis)),
        "population_excess": (["beta", "t"], population),
        "transient_reference": (["n", "beta", "t"], reference),
        "bound": (["n", "beta", "t"], bound),
        "mu_min": (["n", "beta", "t"], mu_min),
        "gamma_min": (["n", "beta", "t"], gamma_min),
        "erm_rate": (["n", "beta"], erm_rate),
        "transient_rate": (["n", "beta"], transient_rate),
        "population_decrement": (["beta", "step"], decrement),
    }
    coords = {"n": n_values, "beta": betas, "t": list(range(T + 1)), "step": list(range(T))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "kappa0": kappa0, "T": T, "seeds": seeds,
              "rate_rounds": rate_rounds, "threshold": THRESHOLD, "delta": DELTA,
              "log_class_size": 0.0}
    return labelled_grid(coords, fields, attrs=params)


@experiment
def beta_regimes(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                 num_responses: int = NUM_RESPONSES, height: float = BUMP_HEIGHT,
                 n_values=(50, 100, 200, 400, 800, 1600, 3200),
                 constant_beta: float = 0.5, scales=(0.5, 1.0, 2.0), T: int = 8,
                 seeds: int = 8) -> xr.Dataset:
    """``beta = a/sqrt(n)`` (the paper's regime) against a constant beta.

    Start: the bump of :func:`population_versus_samples`. Fields: ``constant_failure`` (with a
    ``band`` axis) and
    ``constant_excess_mean`` (``kappa_t - 1``) ``[n, t]`` for ``beta = constant_beta``;
    ``scaled_failure`` (with a ``band`` axis) and ``scaled_excess_mean`` ``[scale, n, t]`` for
    ``beta = a/sqrt(n)``; ``scaled_mode_kept_mean`` ``[scale, n, t]`` (share of prompts whose
    mode is pi_0's); ``coverage`` ``[n, t]``: :func:`srlm_kit.bounds.coverage_failure`;
    ``population_failure``/``population_excess`` ``[n, t]``: the exact update at the constant
    beta (independent of n, repeated along it); ``scaled_beta`` ``[scale, n]``;
    ``scaled_dominant`` ``[scale, n]``: :func:`srlm_kit.bounds.dominant_after_cover` (1 where
    the coverage prediction applies).
    """
    scales = check.check_increasing_floats("scales", scales, 0.0, open_low=True)
    check_run_sizes(num_prompts, num_responses, T, seeds)
    # The rates below need an unreached prompt to fail: a mode probability e^b/(e^b + K - 1)
    # of at most 1/2, that is kappa0 >= 2.
    if height > math.log(num_responses - 1):
        raise ValueError(f"height must be at most log(num_responses - 1) = "
                         f"{math.log(num_responses - 1):.4g} (a start with kappa0 >= 2, whose "
                         f"mode holds at most 1/2), got {height}")
    start = instances.bump(num_prompts, num_responses, height)
    key = jax.random.key(seed)
    constant = {name: np.empty((len(n_values), seeds, T + 1)) for name in ("failure", "excess")}
    scaled = {name: np.empty((len(scales), len(n_values), seeds, T + 1))
              for name in ("failure", "excess", "kept")}
    for k, n in enumerate(n_values):
        trajectory = simulate(key, start, n=n, beta=constant_beta, T=T, seeds=seeds)
        constant["failure"][k] = np.asarray(trajectory.failure)
        constant["excess"][k] = per_table(metrics.condition_excess, trajectory.logits,
                                              start.rho)
        for i, scale in enumerate(scales):
            trajectory = simulate(key, start, n=n, beta=scale / math.sqrt(n), T=T,
                                   seeds=seeds)
            scaled["failure"][i, k] = np.asarray(trajectory.failure)
            scaled["excess"][i, k] = per_table(metrics.condition_excess, trajectory.logits,
                                                   start.rho)
            scaled["kept"][i, k] = per_table(metrics.agreement, trajectory.logits,
                                                 start.rho, start.target)
    exact = population_logits(start.logits, constant_beta, T)
    population_failure = per_table(metrics.failure_probability, exact, start.rho, THRESHOLD)
    population_excess = per_table(metrics.condition_excess, exact, start.rho)
    mode_probability = float(np.exp(np.max(np.asarray(log_policy(start.logits))[0])))
    n_grid = np.asarray(n_values, dtype=float)
    coverage = bounds.coverage_failure(n_grid[:, None], np.arange(T + 1)[None, :],
                                       num_prompts=num_prompts, mode_probability=mode_probability)
    scaled_beta = np.asarray(scales)[:, None] / np.sqrt(n_grid)[None, :]

    fields = {"constant_failure": (["n", "t", "band"], band(constant["failure"], 1))}
    fields["constant_excess_mean"] = (["n", "t"], constant["excess"].mean(axis=1))
    fields["scaled_failure"] = (["scale", "n", "t", "band"], band(scaled["failure"], 2))
    fields["scaled_excess_mean"] = (["scale", "n", "t"], scaled["excess"].mean(axis=2))
    fields["scaled_mode_kept_mean"] = (["scale", "n", "t"], scaled["kept"].mean(axis=2))
    repeat = len(n_values)
    fields.update({
        "coverage": (["n", "t"], coverage),
        "population_failure": (["n", "t"], np.repeat(population_failure[None], repeat, 0)),
        "population_excess": (["n", "t"], np.repeat(population_excess[None], repeat, 0)),
        "scaled_beta": (["scale", "n"], scaled_beta),
        "scaled_dominant": (["scale", "n"], bounds.dominant_after_cover(
            num_responses, height, scaled_beta).astype(float)),
    })
    coords = {"scale": scales, "n": n_values, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "constant_beta": constant_beta, "T": T, "seeds": seeds,
              "mode_probability": mode_probability,
              "kappa0": float(metrics.condition_number(start.logits, start.rho)),
              "threshold": THRESHOLD}
    return labelled_grid(coords, fields, attrs=params)


@experiment
def self_versus_frozen_reward(*, seed: int = 0, num_prompts: int = 40, num_responses: int = 10,
                              kappa0: float = 6.0, n_values=(25, 100, 400), betas=(0.1, 0.5),
                              T: int = 8, seeds: int = 32) -> xr.Dataset:
    """``kappa_t`` under the self-reward ``log pi_t`` and under the frozen reward ``log pi_0``.

    Start: the bump instance (toy A) with ``num_prompts`` prompts, ``num_responses`` responses
    and ``kappa(pi_0) = kappa0`` (:func:`srlm_kit.instances.bump_height_for_kappa0`).
    For each reward (axis ``reward``: ``"self"``, the paper's ``r_t = log pi_t``; ``"frozen"``,
    ``r = log pi_0`` as a :class:`srlm_kit.dynamics.Judge` without noise), each ``n`` and
    ``beta``: ``seeds`` runs of ``T`` rounds of the same square-loss ERM on fresh on-policy
    triples (:func:`srlm_kit.dynamics.run`; both rewards see the same random numbers, from
    ``jax.random.key(seed)``), and the exact infinite-data update in closed form,
    ``pi_t ∝ pi_0^(E_t)`` with ``E_t`` from :func:`srlm_kit.bounds.population_exponent` (the
    tests check it against :func:`srlm_kit.dynamics.population_update`).

    Fields (an :class:`xarray.Dataset`): ``excess`` over ``[reward, n, beta, t, band]``, the excess
    condition number ``kappa_t - 1`` (mean and band over seeds); ``population_excess`` over
    ``[reward, beta, t]``, the same for the exact update
    (:func:`~srlm_kit.metrics.condition_excess`, computed without cancellation; with the self-reward
    it underflows to 0 within a few rounds); ``exponent`` over ``[reward, beta, t]``,
    :func:`srlm_kit.bounds.population_exponent`.
    """
    check.check_int("seeds", seeds, minimum=2)
    n_array = np.asarray([int(n) for n in n_values])
    start = instances.bump(num_prompts, num_responses,
                           bump_height_for_kappa0(kappa0, num_responses))
    log_start = policies.log_policy(start.logits)
    frozen = dynamics.judge(np.asarray(log_start))
    key = jax.random.key(seed)
    excess_bands, population, exponents = [], [], []
    for reward, judge in zip(bounds.REWARDS, (None, frozen), strict=True):
        kappa, _ = kappa_and_failure_runs(key, start, n_array, betas, T=T, seeds=seeds, judge=judge)
        excess_bands.append(band(kappa - 1.0, seed_axis=2))  # kappa: (n, beta, seed, t)
        exponent = [[float(bounds.population_exponent(t, beta, reward)) for t in range(T + 1)]
                    for beta in betas]
        population.append([[float(metrics.condition_excess(power * log_start, start.rho))
                            for power in row]
                           for row in exponent])
        exponents.append(exponent)

    return labelled_grid(
        {"reward": list(bounds.REWARDS), "n": [int(n) for n in n_array], "beta": betas,
         "t": list(range(T + 1))},
        {"excess": (["reward", "n", "beta", "t", "band"], np.stack(excess_bands)),
         "population_excess": (["reward", "beta", "t"], population),
         "exponent": (["reward", "beta", "t"], exponents)},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "kappa0": kappa0, "seeds": seeds, "T": T,
               "bump_height": bump_height_for_kappa0(kappa0, num_responses)})
