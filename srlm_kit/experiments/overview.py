"""Numbers behind the introduction's figure: the paper's argument in one picture.

One experiment, ``paper_in_one_picture``, on toy A (bump starts, tabular class): from each
initial condition number ``kappa_0`` of ``kappa0s`` and for each per-round sample size ``n`` of
``n_values``, ``T`` rounds of self-rewarding with ``beta = n^(-1/2)`` (the regime the theory
needs), repeated with ``seeds`` seeds. It records, after every round ``t``:

* the failure probability and the condition number ``kappa_t``, means over seeds: round 1 shows
  one round failing from a diffuse start, later rounds show iterating bringing both down;
* beside them, the bound of Theorem 5.3 with its hidden constant set to 1, at the minimum
  confidence ``mu`` and margin ``gamma`` measured on the runs up to round ``t`` (round 0
  included, as the definition of ``mu`` has it), with ``log|Pi| = m log K``.

The result is a labelled grid (see :mod:`srlm_kit.figures.core`) with axes
``[kappa0, n, t]``. The paper has no experiments; this one is the book's own.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, dynamics, instances
from srlm_kit.experiments.common import experiment, labelled_grid
from srlm_kit.instances import bump_height_for_kappa0


@experiment
def paper_in_one_picture(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 50,
                         kappa0s=(3.0, 6.0, 12.0, 25.5),
                         n_values=(100, 200, 400, 800, 1600, 3200), T: int = 8,
                         seeds: int = 8, delta: float = 0.05) -> xr.Dataset:
    """Failure probability, ``kappa_t`` and the Theorem 5.3 bound after each round, on toy A.

    Axes ``[kappa0, n, t]`` (rounds ``t = 0..T``), ``beta = n^(-1/2)`` for every ``n``. Fields:
    ``failure_mean`` and ``kappa_mean`` (means over seeds); ``mu_min`` and ``gamma_min`` (minima
    over seeds and rounds ``0..t``); ``failure_bound``, Theorem 5.3 with its hidden constant 1
    (:func:`srlm_kit.bounds.theorem_5_3_bound`) at those ``mu`` and ``gamma``, at
    ``kappa_0`` and ``log|Pi| = m log K`` (the class "one unknown mode per prompt"), NaN
    at ``t = 0``; an :class:`xarray.Dataset`, the settings in ``attrs``. All runs draw from
    ``jax.random.key(seed)``; every ``n`` shares those random numbers (common random numbers)
    and is simulated at the padded size ``max(n_values)``.

    Raises ``ValueError`` naming the parameter for sizes below their minimum, a ``kappa0``
    outside ``(1, K)``, ``n_values`` that are not increasing positive integers, or ``delta``
    outside ``(0, 1)``.
    """
    kappa0s = [float(check.check_open_interval("kappa0s", value, 1.0, num_responses))
               for value in kappa0s]
    if not kappa0s or kappa0s != sorted(set(kappa0s)):
        raise ValueError(f"kappa0s must be a non-empty, strictly increasing list, got {kappa0s}")
    n_list = [int(n) for n in n_values]

    heights = [bump_height_for_kappa0(value, num_responses) for value in kappa0s]
    starts = instances.stack([instances.bump(num_prompts, num_responses, height)
                              for height in heights])
    key = jax.random.key(seed)
    # beta depends on n, so one call per n.
    runs = [dynamics.run_grid(key, starts, [n], [1.0 / math.sqrt(n)], T=T, seeds=seeds)
            for n in n_list]

    def field(name):  # axes (kappa0, n, seed, t)
        return np.concatenate([np.asarray(getattr(run, name))[:, :, 0] for run in runs], axis=1)

    seed_axis = 2
    failure_mean = field("failure").mean(axis=seed_axis)
    kappa_mean = field("kappa").mean(axis=seed_axis)
    # mu and gamma are minima over the rounds so far (round 0 included) and over seeds.
    mu_min = np.minimum.accumulate(field("mu"), axis=-1).min(axis=seed_axis)
    gamma_min = np.minimum.accumulate(field("gamma"), axis=-1).min(axis=seed_axis)

    log_class_size = num_prompts * math.log(num_responses)
    bound = bounds.theorem_5_3_on_runs(
        np.asarray(n_list, dtype=float)[None, :, None], np.arange(T + 1)[None, None, :],
        gamma_min=gamma_min, mu_min=mu_min, kappa0=np.asarray(kappa0s)[:, None, None],
        log_class_size=log_class_size, delta=delta)

    fields = {"failure_mean": failure_mean, "kappa_mean": kappa_mean, "mu_min": mu_min,
              "gamma_min": gamma_min, "failure_bound": bound}
    return labelled_grid(
        {"kappa0": kappa0s, "n": [int(n) for n in n_list], "t": list(range(T + 1))},
        {name: (["kappa0", "n", "t"], values) for name, values in fields.items()},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "bump_heights": heights, "seeds": seeds, "T": T, "delta": delta,
               "beta": "n^(-1/2)", "log_class_size": log_class_size})
