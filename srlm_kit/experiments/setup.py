"""Numbers behind chapter 2, "Setup": the exact (infinite-data) self-rewarding iteration.

With infinite data one round of self-rewarding replaces ``pi_t`` by the Gibbs policy
``pi_{t+1} ∝ pi_t^(1+1/beta)`` (paper Eq. 12), so ``T`` rounds give
``pi_T ∝ pi_0^((1+1/beta)^T)``. [statement quoted, v2 text: "Gibbs form"; formula
reconstructed, from the Huang et al. template; composition reconstructed, by algebra]

On a bump policy (toy A: every response has logit 0 except the mode, which has logit ``b``) the
iteration has a closed form. The log-odds of the mode against any other response start at ``b``
and are multiplied by ``c = 1 + 1/beta`` every round, so after ``t`` rounds

* the margin (log-probability gap between the mode and the runner-up) is ``gamma_t = b c^t``;
* the top probability is ``1 / (1 + (K - 1) e^(-b c^t))``, the same on every prompt;
* the condition number is ``kappa_t = 1 + (K - 1) e^(-b c^t)``.

``population_sharpening`` runs the kit's population update
(:func:`srlm_kit.dynamics.run_grid` with ``update="population"``) on a grid of initial condition
numbers and ``beta``, and returns beside it these closed forms, so the chapter can show both and
assert that they agree.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, dynamics, instances
from srlm_kit.experiments.common import labelled_grid
from srlm_kit.instances import bump_height_for_kappa0
from srlm_kit.policies import LOG_FLOOR


def bump_closed_form(height: float, num_responses: int, beta: float, rounds) -> dict:
    """Closed forms of the population iteration from a bump of height ``b``, rounds ``t``.

    Returns arrays over ``rounds``: ``margin = b c^t``, ``top_probability =
    1/(1 + (K - 1) e^(-b c^t))`` and ``kappa = 1 + (K - 1) e^(-b c^t)``, with
    ``c = 1 + 1/beta``. [reconstructed, by algebra from pi_T ∝ pi_0^((1+1/beta)^T);
    :ref:`recovered-gibbs`]
    """
    check.check_positive("height (the bump b)", height)
    check.check_int("K (number of responses)", num_responses, minimum=2)
    check.check_positive("beta", beta)
    margin, others = bounds.bump_population_margin_and_excess(height, num_responses, beta,
                                                              rounds)
    return {"margin": margin, "top_probability": 1.0 / (1.0 + others), "kappa": 1.0 + others}


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
    ``closed_kappa``, ``closed_top_probability``, ``closed_margin`` (:func:`bump_closed_form`).
    ``attrs``: the settings, the bump heights, and ``rounds_to_exceed_half`` per ``[kappa0, beta]``.
    """
    check.check_int("K (number of responses)", num_responses, minimum=2)
    check.check_int("T (number of rounds)", T, minimum=1)
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
            for name, values in bump_closed_form(height, num_responses, beta, rounds).items():
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
               "rounds_to_exceed_half": [[rounds_to_exceed_half(h, num_responses, b)
                                          for b in betas] for h in heights]})


def rounds_to_exceed_half(height: float, num_responses: int, beta: float) -> int:
    """Exact rounds from a bump of height ``b`` until the top probability exceeds 1/2.

    The smallest ``t`` with ``(K - 1) e^(-b c^t) < 1``, i.e. ``c^t > log(K - 1)/b``, where
    ``c = 1 + 1/beta``. [reconstructed, by algebra from :func:`bump_closed_form`;
    :ref:`recovered-gibbs`]
    """
    check.check_positive("height (the bump b)", height)
    check.check_int("K (number of responses)", num_responses, minimum=2)
    check.check_positive("beta", beta)
    if num_responses == 2:
        return 0
    threshold = math.log(num_responses - 1) / height
    if threshold < 1.0:
        return 0
    c = 1.0 + 1.0 / beta
    rounds = math.floor(math.log(threshold) / math.log(c)) + 1
    # Guard the floor against rounding at exact powers: step back while still strictly above.
    while rounds > 0 and c ** (rounds - 1) > threshold:
        rounds -= 1
    return rounds

