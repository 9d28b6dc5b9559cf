"""Near ties: starts whose margin gamma_0 and confidence mu are small, and what they cost.

Theorem 5.3's bound grows as the margin gamma and the confidence mu shrink; the ICLR reviewers
asked how much a near tie ("margin collapse") hurts the *measured* failure
(:ref:`recovered-reviews`). :func:`margin_collapse` starts from
:func:`srlm_kit.instances.near_tie` at several margins and numbers of tied responses, and sets
the measured failure, the exact update and the bound side by side; the sufficient number of
exact rounds is :func:`srlm_kit.bounds.near_tie_rounds_value` (derived in
:func:`srlm_kit.theory.sharpening.near_tie_rounds`). Bands are mean ± one standard deviation
over seeds, clipped to the range the seeds reached. [reconstructed, the book's instance;
:ref:`recovered-book-own`]
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, instances, metrics
from srlm_kit.experiments.common import (
    DELTA,
    NUM_PROMPTS,
    NUM_RESPONSES,
    THRESHOLD,
    band,
    check_run_sizes,
    experiment,
    labelled_grid,
    per_table,
    population_logits,
    running_min_over_seeds,
    simulate,
)


@experiment
def margin_collapse(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                    num_responses: int = NUM_RESPONSES,
                    gamma0s=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
                    tied=(2, 3, 5), height: float = 3.0, n: int = 400, beta: float = 0.5,
                    T: int = 8, seeds: int = 8) -> xr.Dataset:
    """Near-tie starts (:func:`srlm_kit.instances.near_tie`, margin ``gamma0`` and ``tied``
    responses in the tie) and the Theorem 5.3 bound.

    Fields ``[tied, gamma0, t]``: ``failure`` (with a ``band`` axis; the paper's failure, own
    mode); ``lost_mode_mean`` (share of prompts where ``pi_t(y_0|x) <= 1/2`` for pi_0's mode
    ``y_0``: the mode was not kept with confidence, ``trajectory.target_failure``);
    ``gamma_min``/``mu_min`` (minimum over seeds and rounds 0..t, the paper's gamma and mu);
    ``bound`` (Theorem 5.3 at those, every hidden constant 1, log|Pi| = 0; NaN at t = 0 and
    where gamma = 0); ``population_failure`` (exact update); ``population_rounds``
    ``[tied, gamma0]``: first round at which the exact update has no failure (NaN if it still
    fails at round T);
    ``rounds_sufficient`` ``[gamma0]``: the sufficient number of rounds
    ``log(log(K - 1)/gamma0)/log(1 + 1/beta)`` (:func:`srlm_kit.bounds.near_tie_rounds_value`).
    """
    gamma0s = check.check_increasing_floats("gamma0s", gamma0s, 0.0, open_low=True)
    tied = check.check_increasing_ints("tied", tied, minimum=2, maximum=num_responses - 1)
    check_run_sizes(num_prompts, num_responses, T, seeds)
    key = jax.random.key(seed)
    shape = (len(tied), len(gamma0s), seeds, T + 1)
    failure, lost, gamma, mu = (np.empty(shape) for _ in range(4))
    population = np.empty((len(tied), len(gamma0s), T + 1))
    kappa0 = np.empty((len(tied), len(gamma0s)))
    for i, k in enumerate(tied):
        for j, gamma0 in enumerate(gamma0s):
            start = instances.near_tie(num_prompts, num_responses, k, gamma0, height)
            kappa0[i, j] = float(metrics.condition_number(start.logits, start.rho))
            trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds)
            failure[i, j] = np.asarray(trajectory.failure)
            lost[i, j] = np.asarray(trajectory.target_failure)
            gamma[i, j], mu[i, j] = np.asarray(trajectory.gamma), np.asarray(trajectory.mu)
            population[i, j] = per_table(metrics.failure_probability, population_logits(
                start.logits, beta, T), start.rho, THRESHOLD)
    seed_axis = 2
    gamma_min = running_min_over_seeds(gamma, seed_axis)
    mu_min = running_min_over_seeds(mu, seed_axis)
    bound = bounds.theorem_5_3_on_runs(n, np.arange(T + 1), gamma_min=gamma_min, mu_min=mu_min,
                                       kappa0=kappa0[..., None], delta=DELTA)
    population_rounds = np.argmax(population == 0.0, axis=-1).astype(float)
    population_rounds[~np.any(population == 0.0, axis=-1)] = np.nan
    sufficient = bounds.near_tie_rounds_value(num_responses, np.asarray(gamma0s), beta)
    dims = ["tied", "gamma0", "t"]
    fields = {"failure": ([*dims, "band"], band(failure, seed_axis))}
    fields.update({
        "lost_mode_mean": (dims, lost.mean(axis=seed_axis)),
        "gamma_min": (dims, gamma_min), "mu_min": (dims, mu_min), "bound": (dims, bound),
        "population_failure": (dims, population),
        "population_rounds": (["tied", "gamma0"], population_rounds),
        "rounds_sufficient": (["gamma0"], sufficient),
        "kappa0": (["tied", "gamma0"], kappa0),
    })
    coords = {"tied": tied, "gamma0": gamma0s, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "n": n, "beta": beta, "T": T, "seeds": seeds,
              "threshold": THRESHOLD, "delta": DELTA, "log_class_size": 0.0}
    return labelled_grid(coords, fields, attrs=params)
