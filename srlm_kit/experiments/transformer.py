"""Numbers behind the chapter "A small transformer in the loop": the self-rewarding loop with a
neural language model, measured exactly, beside the tabular theory.

One experiment, ``small_transformer_loop``. The policy is the small transformer of
:mod:`srlm_kit.transformer` (a random start whose confidence is set by ``output_scale``); every
round draws ``n`` triples from the current model, labels them with its own log-likelihood and
fits the next model by Adam with the square loss or the logistic DPO loss (the engine's round,
:func:`srlm_kit.dynamics.run_grid` on :func:`srlm_kit.transformer.instances`). Every metric is
computed on the enumerated distribution (no estimate). Beside it, from the *same* start table:
the tabular class with the exact minimum-norm ERM (:func:`srlm_kit.dynamics.run_grid`) and the
exact infinite-data update ``pi_t^(1+1/beta)``.

The result is a labelled grid (an :class:`xarray.Dataset`, :mod:`srlm_kit.figures.core`) with
dimensions ``loss``, ``n``,
``beta``, ``t`` (rounds ``0..T``), ``steps`` (Adam steps per round: few, the default, many) and
``T`` (rounds of the pooling comparison). Bands are mean ± one standard deviation over seeds,
clipped to the range the seeds reached. Fields indexed by a round's *fit* (``kl``, ``gap``,
``excess``) are NaN at ``t = 0``.

The paper has no experiments; this one is the book's own.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances, metrics
from srlm_kit import transformer as model
from srlm_kit.experiments.common import band, experiment, labelled_grid


def _with_first_round_missing(values: np.ndarray) -> np.ndarray:
    """Step-indexed values (length T on the last axis) on the round axis ``0..T``: NaN at 0."""
    values = np.asarray(values, dtype=float)
    return np.concatenate([np.full((*values.shape[:-1], 1), np.nan), values], axis=-1)


def population_rounds(start_table, rho, betas, T: int, threshold: float) -> dict:
    """``kappa`` and failure of the exact update ``pi_{t+1} ∝ pi_t^(1+1/beta)`` from a table,
    over ``[beta, t]`` (rounds ``0..T``). [reconstructed, the Gibbs form of the
    KL-regularised target, :ref:`recovered-gibbs`]"""
    rho = jnp.asarray(rho)
    kappa, failure = [], []
    for beta in betas:
        table = jnp.asarray(start_table)
        kappa.append([float(metrics.condition_number(table, rho))])
        failure.append([float(metrics.failure_probability(table, rho, threshold))])
        for _ in range(T):
            table = dynamics.population_update(table, beta)
            kappa[-1].append(float(metrics.condition_number(table, rho)))
            failure[-1].append(float(metrics.failure_probability(table, rho, threshold)))
    return {"kappa": np.asarray(kappa), "failure": np.asarray(failure)}


def _steps(name: str, minimum: int):
    return lambda value: check.check_int(name, value, minimum, model.MAX_STEPS)


#: Largest ``output_scale``: at 100 the start's logits already differ by hundreds, a policy as
#: confident as float64 can tell apart from a deterministic one; far beyond, they overflow.
MAX_OUTPUT_SCALE = 100.0


@experiment(steps=_steps("steps (Adam steps per round)", 1), few_steps=_steps("few_steps", 0),
            many_steps=_steps("many_steps", 1),
            output_scale=lambda value: check.check_open_interval("output_scale", value, 0.0,
                                                                 MAX_OUTPUT_SCALE))
def small_transformer_loop(*, seed: int = 0, n_values=(8, 32, 128), betas=(0.5, 2.0),
                           T: int = 4, seeds: int = 3, steps: int = 60, few_steps: int = 10,
                           many_steps: int = 180, learning_rate: float = 0.01,
                           output_scale: float = 2.0, pooled_n: int = 32,
                           pooled_rounds=(1, 2, 4), threshold: float = 0.5) -> xr.Dataset:
    """The self-rewarding loop with a small transformer, exactly measured, on a grid.

    Axes ``loss`` (square, logistic), ``n`` (triples per round), ``beta``, ``t`` (rounds
    ``0..T``), with ``seeds`` seeds shared across settings, all from ``jax.random.key(seed)``.
    ``steps`` full-batch Adam steps per round at ``learning_rate``; the budget comparison reruns
    the grid with ``few_steps`` and ``many_steps``. The pooling comparison sets ``T'`` rounds of
    ``pooled_n`` triples (read from the main grid) against one round of ``T' pooled_n``, for
    ``T'`` in ``pooled_rounds``.

    Fields (labelled grid, module docstring):

    * ``kappa``, ``failure`` over ``[loss, n, beta, t, band]`` (mean, lower, upper over seeds):
      the transformer's condition number and failure probability;
    * ``kl`` over ``[loss, n, beta, t, band]``: ``E_x KL(pi_t || pi_{t-1}^(1+1/beta))``, the
      distance of round ``t``'s fit from its Gibbs target
      (:func:`srlm_kit.transformer.kl_to_gibbs`);
      ``gap_mean``, the gap of the fit for the reward ``log pi_{t-1}``; ``excess_mean``, the
      final training loss above its floor (0: the data are fitted exactly);
    * ``alpha_mean`` and ``alpha_bound_mean`` over ``[loss, n, beta, t]``: the largest per-token
      top probability and Remark 4.2's bound ``E_x[alpha(x)^(-L)] <= kappa``;
    * ``tabular_kappa``, ``tabular_failure`` over ``[n, beta, t, band]``: the tabular class with
      the minimum-norm ERM from the same start; ``population_kappa``, ``population_failure``
      over ``[beta, t]``: the exact update;
    * ``budget_kappa_mean``, ``budget_failure_mean``, ``budget_kl_mean`` over
      ``[steps, loss, n, beta, t]``;
    * ``rounds_kappa_mean``/``pooled_kappa_mean`` (and ``_failure_``) over ``[loss, beta, T]``:
      ``T'`` rounds of ``pooled_n`` against one round of ``T' pooled_n``; ``tabular_rounds_*``
      and ``tabular_pooled_*`` over ``[beta, T]`` the same for the tabular class.
    """
    n_list = [int(n) for n in n_values]
    beta_list = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    T = check.check_int("T (number of rounds)", T, minimum=1, maximum=20)
    few_steps = check.check_int("few_steps", few_steps, minimum=0)
    steps = check.check_int("steps (Adam steps per round)", steps, minimum=few_steps + 1)
    many_steps = check.check_int("many_steps", many_steps, minimum=steps + 1)
    pooled_rounds = check.check_increasing_ints("pooled_rounds", pooled_rounds)
    if pooled_n not in n_list:
        raise ValueError(f"pooled_n must be one of n_values {n_list}, got {pooled_n}")
    if pooled_rounds[-1] > T:
        raise ValueError(f"pooled_rounds must be at most T = {T}, got {pooled_rounds}")
    if pooled_n * pooled_rounds[-1] > dynamics.MAX_TRIPLES:
        raise ValueError(f"pooled_n times the largest of pooled_rounds (the pooled round's "
                         f"triples) must be at most {dynamics.MAX_TRIPLES}, got "
                         f"{pooled_n} x {pooled_rounds[-1]}")

    architecture = model.Architecture()
    rho = np.full(architecture.num_prompts, 1.0 / architecture.num_prompts)
    init_key, loop_key, tabular_key = jax.random.split(jax.random.key(seed), 3)
    params0 = model.init_params(init_key, architecture, output_scale)
    start_table = model.sequence_table(params0, architecture)
    pooled_ns = [pooled_n * rounds for rounds in pooled_rounds]
    # The number of Adam steps is part of the instance (an array, not a compiled size), so the
    # three budgets and the pooled rounds share the engine's compiled simulations.
    starts = {count: model.instances(params0, architecture, rho, steps=count,
                                     learning_rate=learning_rate)
              for count in (few_steps, steps, many_steps)}

    def loop(count, n_grid, rounds):
        return dynamics.run_grid(loop_key, starts[count], n_grid, beta_list, T=rounds,
                                 seeds=seeds, threshold=threshold)

    runs = {count: loop(count, n_list, T) for count in (few_steps, steps, many_steps)}
    main = runs[steps]
    pooled = loop(steps, pooled_ns, 1)

    start = instances.stack([instances.tabular(start_table, rho)])
    tabular = dynamics.run_grid(tabular_key, start, n_list, beta_list, T=T, seeds=seeds,
                                threshold=threshold)
    # Only round 1 is read.
    tabular_pooled = dynamics.run_grid(tabular_key, start, pooled_ns, beta_list, T=1,
                                       seeds=seeds, threshold=threshold)
    population = population_rounds(start_table, rho, beta_list, T, threshold)

    seed_axis = 3  # (loss, n, beta, seed, t)
    fields = {}
    for name in ("kappa", "failure"):
        values = np.asarray(getattr(main, name))
        fields[name] = band(values, seed_axis)
        table_values = np.asarray(getattr(tabular, name))[0]  # (n, beta, seed, t)
        fields[f"tabular_{name}"] = band(table_values, 2)
        fields[f"population_{name}"] = population[name]
        fields[f"budget_{name}_mean"] = np.stack(
            [np.asarray(getattr(runs[count], name)).mean(axis=seed_axis)
             for count in (few_steps, steps, many_steps)])
        pooled_index = n_list.index(pooled_n)
        fields[f"rounds_{name}_mean"] = values[:, pooled_index].mean(axis=2)[:, :, pooled_rounds]
        fields[f"pooled_{name}_mean"] = np.asarray(getattr(pooled, name)).mean(
            axis=seed_axis)[..., 1].transpose(0, 2, 1)
        fields[f"tabular_rounds_{name}_mean"] = table_values[pooled_index].mean(
            axis=1)[:, pooled_rounds]
        fields[f"tabular_pooled_{name}_mean"] = np.asarray(getattr(tabular_pooled, name))[
            0, :, :, :, 1].mean(axis=2).T
    kl = _with_first_round_missing(main.extra["step_kl_to_gibbs"])
    fields["kl"] = band(kl, seed_axis)
    fields["budget_kl_mean"] = np.stack(
        [_with_first_round_missing(runs[count].extra["step_kl_to_gibbs"]).mean(axis=seed_axis)
         for count in (few_steps, steps, many_steps)])
    fields["budget_excess_mean"] = np.stack(
        [_with_first_round_missing(runs[count].extra["step_excess_loss"]).mean(axis=seed_axis)
         for count in (few_steps, steps, many_steps)])
    fields["gap_mean"] = _with_first_round_missing(main.step_gap).mean(axis=seed_axis)
    fields["excess_mean"] = _with_first_round_missing(
        main.extra["step_excess_loss"]).mean(axis=seed_axis)
    fields["alpha_mean"] = np.asarray(main.extra["alpha"]).mean(axis=seed_axis)
    fields["alpha_bound_mean"] = np.asarray(main.extra["alpha_bound"]).mean(axis=seed_axis)
    fields["kappa_min_over_seeds_minus_alpha_bound"] = (
        np.asarray(main.kappa) - np.asarray(main.extra["alpha_bound"])).min(axis=seed_axis)

    grid = ["loss", "n", "beta", "t"]
    dims = {name: grid for name in fields}
    dims.update({name: ["n", "beta", "t"] for name in fields if name.startswith("tabular_")})
    dims.update({name: ["beta", "t"] for name in fields if name.startswith("population_")})
    dims.update({name: ["steps", *grid] for name in fields if name.startswith("budget_")})
    dims.update({name: ["loss", "beta", "T"] for name in fields
                 if name.startswith(("rounds_", "pooled_"))})
    dims.update({name: ["beta", "T"] for name in fields
                 if name.startswith(("tabular_rounds_", "tabular_pooled_"))})
    for name in ("kappa", "failure", "tabular_kappa", "tabular_failure", "kl"):
        dims[name] = [*dims[name], "band"]
    return labelled_grid(
        {"loss": list(model.LOSSES), "n": n_list, "beta": beta_list, "t": list(range(T + 1)),
         "steps": [few_steps, steps, many_steps], "T": pooled_rounds},
        {name: (dims[name], values) for name, values in fields.items()},
        attrs={
            "seed": seed, "seeds": seeds, "T": T, "steps": steps, "few_steps": few_steps,
            "many_steps": many_steps, "learning_rate": learning_rate,
            "output_scale": output_scale, "pooled_n": pooled_n, "threshold": threshold,
            "architecture": architecture._asdict(),
            "parameter_count": model.parameter_count(params0),
            "num_responses": architecture.vocabulary ** architecture.length,
            "kappa0": float(metrics.condition_number(start_table, jnp.asarray(rho))),
            "failure0": float(metrics.failure_probability(start_table, jnp.asarray(rho),
                                                          threshold)),
        })
