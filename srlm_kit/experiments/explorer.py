"""Numbers behind the figure gallery: the condition number and the failure probability on a grid.

One experiment, ``kappa_and_failure_grid``: bump initialisations (toy A) with several initial
condition numbers ``kappa_0``, per-round sample sizes ``n`` on a log grid, two values of ``beta``,
``T`` rounds, and ``seeds`` independent seeds, all in one vmapped call of
:func:`srlm_kit.dynamics.run_grid`; beside it, the exact infinite-data (population) update from
the same initialisations, and the Theorem 5.3 bound at the simulated runs' mu and gamma.

The result is a *labelled grid*, an :class:`xarray.Dataset` (the form every figure builder of
:mod:`srlm_kit.figures` reads): each dimension has coordinate values (``result["n"]``), each
variable named axes (``result["kappa"].dims == ("kappa0", "n", "beta", "t", "band")``).

Bands (the ``band`` axis: mean, lower, upper) are "mean ± one standard deviation over seeds,
clipped to the range the seeds reached" (so a band never leaves the values a seed can take, e.g.
never below kappa = 1 or failure = 0).
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from srlm_kit import bounds, dynamics, instances
from srlm_kit.experiments.common import band, experiment, labelled_grid, running_min_over_seeds


@experiment
def kappa_and_failure_grid(*, seed: int = 0, num_prompts: int = 20, num_responses: int = 10,
                           kappa0s=(2.5, 4.0, 6.0, 8.0),
                           n_values=(10, 20, 42, 85, 173, 353, 721, 1471, 3000),
                           betas=(0.1, 1.0), T: int = 8, seeds: int = 16,
                           threshold: float = 0.5, log_class_size: float = 0.0,
                           delta: float = 0.05) -> xr.Dataset:
    """Condition number ``kappa_t`` and failure probability after each round, on a grid.

    Axes: ``kappa0`` (bump initialisations,
    :func:`srlm_kit.instances.bump_height_for_kappa0`), ``n`` (triples per round), ``beta``,
    ``t`` (rounds ``0..T``). Seeds are shared across grid points (common random
    numbers; :func:`srlm_kit.dynamics.run_grid`), all from ``jax.random.key(seed)``.

    Returns an :class:`xarray.Dataset` with variables ``kappa`` and ``failure`` over
    ``[kappa0, n, beta, t, band]`` (mean and band over seeds); ``mu_min`` and ``gamma_min``,
    the minimum confidence and margin over seeds and rounds ``0..t``, over
    ``[kappa0, n, beta, t]``; ``failure_bound``, the Theorem 5.3 bound at those mu and gamma
    with every hidden constant 1 (:func:`srlm_kit.bounds.theorem_5_3_on_runs`;
    ``log_class_size`` 0 is the most favourable class size, ``delta`` the confidence), NaN
    at ``t = 0``; ``population_kappa`` and ``population_failure``, the exact (n = infinity)
    update, over ``[kappa0, beta, t]``.
    """
    n_array = np.asarray([int(n) for n in n_values])
    heights = [instances.bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    starts = instances.stack([instances.bump(num_prompts, num_responses, height)
                              for height in heights])
    key = jax.random.key(seed)
    sampled = dynamics.run_grid(key, starts, n_array, list(betas), T=T, seeds=seeds,
                                threshold=threshold)
    # The population update draws nothing; one seed and n = 1 are placeholders.
    exact = dynamics.run_grid(key, starts, [1], list(betas), T=T, seeds=1,
                              update="population", threshold=threshold)

    seed_axis = 3  # (kappa0, n, beta, seed, t)
    # The paper's mu and gamma are minima over rounds: running minimum over t, then over seeds.
    mu_min = running_min_over_seeds(sampled.mu, seed_axis)
    gamma_min = running_min_over_seeds(sampled.gamma, seed_axis)
    bound = bounds.theorem_5_3_on_runs(
        n_array[None, :, None, None], np.arange(T + 1)[None, None, None, :],
        gamma_min=gamma_min, mu_min=mu_min, kappa0=np.asarray(kappa0s)[:, None, None, None],
        log_class_size=log_class_size, delta=delta)

    grid_dims = ["kappa0", "n", "beta", "t"]
    population_dims = ["kappa0", "beta", "t"]
    return labelled_grid(
        {"kappa0": kappa0s, "n": [int(n) for n in n_array],
         "beta": [float(beta) for beta in betas], "t": list(range(T + 1))},
        {"kappa": ([*grid_dims, "band"], band(np.asarray(sampled.kappa), seed_axis)),
         "failure": ([*grid_dims, "band"], band(np.asarray(sampled.failure), seed_axis)),
         "mu_min": (grid_dims, mu_min), "gamma_min": (grid_dims, gamma_min),
         "failure_bound": (grid_dims, bound),
         "population_kappa": (population_dims, np.asarray(exact.kappa)[:, 0, :, 0, :]),
         "population_failure": (population_dims, np.asarray(exact.failure)[:, 0, :, 0, :])},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "bump_heights": heights, "seeds": seeds, "T": T, "threshold": threshold,
               "log_class_size": log_class_size, "delta": delta})

