"""Numbers behind the chapter "Measuring failure": greedy decoding, kappa, Lemma C.1.

Four experiments, each a function of keyword arguments (``seed`` among them) returning a
labelled grid (an :class:`xarray.Dataset`, see :mod:`srlm_kit.figures.core`).

* ``greedy_trap_sequences``: the trap of Proposition 4.3, every sequence's probability, the
  optimal sequence, greedy decoding's output and frequencies from token-by-token sampling;
* ``greedy_versus_mode``: random autoregressive models, how often greedy decoding misses the most
  likely sequence, split by whether that sequence has probability above 1/2 (Huang et al.'s
  Proposition 3.1 says it never misses then);
* ``condition_number_family``: kappa, 1/mu and the failure probability of random policies from
  nearly deterministic to nearly uniform;
* ``lemma_c1_thresholds``: both sides of Lemma C.1 over thresholds s after one self-rewarding
  step, and the lemma checked on every step of the same runs.

The paper has no experiments; all of this is the book's.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import checks, dynamics, instances, metrics
from srlm_kit.experiments.common import MAX_ENTRIES, band, experiment, labelled_grid
from srlm_kit.policies import LOG_FLOOR

#: Thresholds s of the Lemma C.1 figure (the lemma needs s in (0, 1)).
THRESHOLDS = tuple(round(0.05 * k, 2) for k in range(1, 20))

#: Temperatures of the random-logit family, about 4 per decade from 0.03 to 30.
TEMPERATURES = (0.0316, 0.0562, 0.1, 0.178, 0.316, 0.562, 1.0, 1.78, 3.16, 5.62, 10.0, 17.8,
                31.6)


def _sequence_labels(vocabulary: int, length: int) -> list[str]:
    tokens = np.asarray(instances.sequence_tokens(np.arange(vocabulary**length), vocabulary,
                                                  length))
    return ["".join(str(int(token)) for token in row) for row in tokens]


@partial(jax.jit, static_argnames=("samples",))
def _trap_numbers(model, key, *, samples: int):
    """Sequence probabilities, counts of sampled sequences and greedy's tokens for one model."""
    vocabulary = model.log_conditionals[0].shape[-1]
    probs = jnp.exp(instances.sequence_log_probs(model))
    drawn = instances.sequence_index(instances.sample_sequences(key, model, samples), vocabulary)
    counts = jnp.bincount(drawn, length=probs.shape[0])
    return probs, counts, instances.greedy_decode(model)


@experiment
def greedy_trap_sequences(*, seed: int = 0, vocabulary: int = 3, length: int = 3,
                          p_values=(0.35, 0.4, 0.45), leads=(0.02, 0.05, 0.1),
                          samples: int = 20000) -> xr.Dataset:
    """The trap of Proposition 4.3 (:func:`srlm_kit.instances.autoregressive_trap`) on a grid.

    Axes: ``p`` (probability of the optimal sequence ``y* = (1, ..., 1)``), ``lead`` (the trap
    token's lead ``p' - p`` at the first step) and ``sequence`` (all ``V^L`` sequences, labelled
    by their tokens, e.g. ``"011"``). Fields over ``[p, lead, sequence]``: ``probability`` (exact),
    ``frequency`` (share among ``samples`` sequences drawn token by token with
    ``jax.random.key(seed)``), ``optimal`` and ``greedy`` (the probability of ``y*`` and of
    greedy decoding's output at their own sequence, NaN elsewhere). ``attrs["summary"]``
    lists, per grid point, ``pi(y*)``, greedy's output and its probability, and the Hamming
    distance.
    """
    instances.check_sequences(vocabulary, length, shortest=2)
    check.check_entries({"samples": samples, "vocabulary (V)": vocabulary}, MAX_ENTRIES)
    check.check_entries({"samples": samples, "length (L)": length}, MAX_ENTRIES)
    labels = _sequence_labels(vocabulary, length)
    shape = (len(p_values), len(leads), len(labels))
    probability, frequency = np.zeros(shape), np.zeros(shape)
    optimal, greedy = np.full(shape, np.nan), np.full(shape, np.nan)
    summary = []
    key = jax.random.key(seed)
    for i, p in enumerate(p_values):
        for j, lead in enumerate(leads):
            model = instances.autoregressive_trap(vocabulary, length, p, lead)
            probs, counts, greedy_tokens = (np.asarray(values) for values in _trap_numbers(
                model, key, samples=samples))
            best = int(np.argmax(probs))
            greedy_index = int(instances.sequence_index(greedy_tokens, vocabulary))
            probability[i, j] = probs
            frequency[i, j] = counts / samples
            optimal[i, j, best] = probs[best]
            greedy[i, j, greedy_index] = probs[greedy_index]
            best_tokens = np.asarray(instances.sequence_tokens(best, vocabulary, length))
            summary.append({
                "p": float(p), "lead": float(lead), "optimal": labels[best],
                "optimal_probability": float(probs[best]), "greedy": labels[greedy_index],
                "greedy_probability": float(probs[greedy_index]),
                "hamming_distance": int(np.sum(best_tokens != greedy_tokens)),
                "optimal_frequency": float(frequency[i, j, best]),
            })
    dims = ["p", "lead", "sequence"]
    fields = {"probability": probability, "frequency": frequency, "optimal": optimal,
              "greedy": greedy}
    return labelled_grid(
        {"p": [float(p) for p in p_values], "lead": [float(value) for value in leads],
         "sequence": labels},
        {name: (dims, values) for name, values in fields.items()},
        attrs={"seed": seed, "vocabulary": vocabulary, "length": length, "samples": samples,
               "summary": summary})


@partial(jax.jit, static_argnames=("vocabulary", "length"))
def _top_and_greedy(keys, temperature, *, vocabulary: int, length: int):
    """Top sequence probability, its index and greedy's index for a batch of random models."""
    batch = jax.vmap(lambda key: instances.random_autoregressive(key, vocabulary, length,
                                                                 temperature))(keys)
    log_probs = jax.vmap(instances.sequence_log_probs)(batch)
    greedy_index = instances.sequence_index(jax.vmap(instances.greedy_decode)(batch),
                                            vocabulary)
    return jnp.exp(log_probs.max(axis=1)), log_probs.argmax(axis=1), greedy_index


@experiment
def greedy_versus_mode(*, seed: int = 0, vocabulary: int = 3, length: int = 4,
                       temperatures=(0.2, 0.5, 1.0), models: int = 2000) -> xr.Dataset:
    """Greedy decoding against the most likely sequence on random autoregressive models.

    For each temperature, ``models`` models :func:`srlm_kit.instances.random_autoregressive`
    (keys split from ``jax.random.key(seed)``, the same keys for every temperature). Per
    temperature: how many models have a most likely sequence of probability above 1/2 and at
    most 1/2, how often greedy decoding misses it in each group, and the largest top probability
    among the misses (Huang et al., Proposition 3.1: a miss needs a top probability of at most
    1/2; NaN if there is no miss): one variable each over ``[temperature]``.
    """
    instances.check_sequences(vocabulary, length)
    check.check_entries({"models": models, "vocabulary (V) to the power length (L)":
                         vocabulary**length}, MAX_ENTRIES)
    keys = jax.random.split(jax.random.key(seed), models)
    rows = []
    for temperature in temperatures:
        top, mode, greedy_index = (np.asarray(values) for values in _top_and_greedy(
            keys, temperature, vocabulary=vocabulary, length=length))
        missed = greedy_index != mode
        above = top > 0.5
        rows.append({
            "above_half": int(above.sum()),
            "missed_above_half": int((missed & above).sum()),
            "at_most_half": int((~above).sum()),
            "missed_at_most_half": int((missed & ~above).sum()),
            "largest_missed_top": float(top[missed].max()) if missed.any() else np.nan,
        })
    return labelled_grid(
        {"temperature": temperatures},
        {name: (["temperature"], [row[name] for row in rows]) for name in rows[0]},
        attrs={"seed": seed, "vocabulary": vocabulary, "length": length, "models": models})


@jax.jit
def _family_metrics(tables, rho, temperatures):
    """kappa, mu and failure (threshold 1/2) of ``table / temperature`` for every table and
    temperature; axes (tables, temperatures)."""

    def one(table, temperature):
        scaled = table / temperature
        return (metrics.condition_number(scaled, rho), metrics.min_confidence(scaled, rho),
                metrics.failure_probability(scaled, rho))

    over_temperatures = jax.vmap(one, in_axes=(None, 0))
    return jax.vmap(over_temperatures, in_axes=(0, None))(tables, temperatures)


@experiment(num_responses=lambda sizes: check.check_increasing_ints("num_responses", sizes, 2))
def condition_number_family(*, seed: int = 0, num_prompts: int = 200,
                            num_responses=(2, 5, 10, 50), temperatures=TEMPERATURES) -> xr.Dataset:
    """kappa, 1/mu and the failure probability of random policies over a range of temperatures.

    One table ``z`` of standard normal logits of shape ``(num_prompts, max K)``
    (:func:`srlm_kit.instances.random_logits` with ``jax.random.key(seed)``); the policy with
    ``K`` responses at temperature ``tau`` has logits ``z[:, :K] / tau`` (so the families are
    nested), uniform prompt law. Fields over ``[K, temperature]``: ``kappa``, ``inverse_mu``
    (1 over the smallest top probability), ``failure`` (threshold 1/2), their offsets
    ``kappa_minus_one`` and ``inverse_mu_minus_one`` (so that
    ``failure <= kappa - 1 <= 1/mu - 1 <= K - 1`` reads off one logarithmic axis), and
    ``ceiling`` ``= K - 1``.
    """
    sizes = [int(size) for size in num_responses]
    scales = jnp.asarray([float(value) for value in temperatures])
    widest = max(sizes)
    start = instances.random_logits(jax.random.key(seed), num_prompts, widest, 1.0)
    normal = np.asarray(start.logits)
    # Responses beyond K get logit LOG_FLOOR / tau <= LOG_FLOOR: probability exactly 0 in
    # float64, so every metric is that of the K-response policy, and one compiled function
    # serves every K.
    tables = np.stack([np.where(np.arange(widest) < size, normal, LOG_FLOOR) for size in sizes])
    kappa, top, failure = (np.asarray(values) for values in _family_metrics(
        jnp.asarray(tables), start.rho, scales))
    ceiling = np.broadcast_to(np.asarray(sizes, dtype=float)[:, None] - 1.0, kappa.shape)
    fields = {"kappa": kappa, "inverse_mu": 1.0 / top, "failure": failure,
              "kappa_minus_one": kappa - 1.0, "inverse_mu_minus_one": 1.0 / top - 1.0,
              "ceiling": ceiling}
    return labelled_grid(
        {"K": sizes, "temperature": [float(value) for value in temperatures]},
        {name: (["K", "temperature"], values) for name, values in fields.items()},
        attrs={"seed": seed, "num_prompts": num_prompts})


@experiment
def lemma_c1_thresholds(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 20,
                        bump_height: float = math.log(2.0),
                        n_values=(10, 30, 100, 300, 1000, 3000), betas=(0.05, 0.5, 2.0),
                        thresholds=THRESHOLDS, T: int = 4, seeds: int = 8) -> xr.Dataset:
    """Both sides of Lemma C.1 after one step, over thresholds s, and the lemma on every step.

    Start: the bump policy (:func:`srlm_kit.instances.bump`; ``kappa_0 = (e^b + K - 1)/e^b``,
    margin ``gamma_0 = b``). For every ``n`` and ``beta``: ``seeds`` runs of ``T`` rounds
    (:func:`srlm_kit.dynamics.run` with ``keep_logits=True``; one key, ``jax.random.key(seed)``,
    for every grid point, so neighbouring points share their random numbers).

    Fields over ``[n, beta, s, band]`` (first step, ``pi_0 -> pi_1``, from
    :func:`srlm_kit.checks.lemma_c1_over_thresholds`; mean and band over seeds):
    ``lhs`` ``= P_x[pi_1(y*_0(x)|x) <= s]`` and ``rhs``
    ``= (J(pi*) - J(pi_1)) / (gamma_0 (1 - s))``.

    ``attrs["summary"]``: the lemma at s = 1/2 on every step of every run
    (:func:`srlm_kit.checks.lemma_c1_check`): steps checked, violations, smallest slack, largest
    ratio lhs/rhs; and over thresholds on the first step: pairs checked, violations, the largest
    ratio and where it occurs.
    """
    start = instances.bump(num_prompts, num_responses, bump_height)
    rho = np.asarray(start.rho)
    key = jax.random.key(seed)
    shape = (len(n_values), len(betas), seeds, len(thresholds))
    lhs, rhs = np.zeros(shape), np.zeros(shape)
    step_checks, threshold_violations = [], 0
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            trajectory = dynamics.run(key, start, n=int(n), T=T, beta=beta, seeds=seeds,
                                      keep_logits=True)
            step_checks.append(checks.lemma_c1_check(trajectory))
            logits = np.asarray(trajectory.logits)
            for seed_index in range(seeds):
                result = checks.lemma_c1_over_thresholds(
                    logits[seed_index, 0], logits[seed_index, 1], rho, thresholds)
                lhs[i, j, seed_index], rhs[i, j, seed_index] = result.lhs, result.rhs
                threshold_violations += checks.count_violations(result)
    seed_axis = 2

    active = np.concatenate([np.asarray(c.active).ravel() for c in step_checks])
    step_lhs = np.concatenate([np.asarray(c.lhs).ravel() for c in step_checks])[active]
    step_rhs = np.concatenate([np.asarray(c.rhs).ravel() for c in step_checks])[active]
    finite = np.isfinite(step_rhs) & (step_rhs > 0)
    ratio = lhs / rhs
    worst = np.unravel_index(np.argmax(ratio), ratio.shape)
    summary = {
        "steps_checked": int(active.sum()),
        "step_violations": int(sum(checks.count_violations(c) for c in step_checks)),
        "smallest_step_slack": float(min(checks.smallest_slack(c) for c in step_checks)),
        "largest_step_ratio": float(np.max(step_lhs[finite] / step_rhs[finite])),
        "threshold_pairs_checked": int(lhs.size),
        "threshold_violations": int(threshold_violations),
        "largest_threshold_ratio": float(ratio[worst]),
        "largest_threshold_ratio_at": {"n": int(n_values[worst[0]]),
                                       "beta": float(betas[worst[1]]),
                                       "s": thresholds[worst[3]]},
        "kappa0": float(metrics.condition_number(start.logits, start.rho)),
        "gamma0": float(metrics.margin(start.logits, start.rho)),
        "top_probability0": float(jnp.max(metrics.top_probability(start.logits))),
    }
    dims = ["n", "beta", "s", "band"]
    return labelled_grid(
        {"n": [int(n) for n in n_values], "beta": [float(b) for b in betas], "s": thresholds},
        {"lhs": (dims, band(lhs, seed_axis)), "rhs": (dims, band(rhs, seed_axis))},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "bump_height": bump_height, "T": T, "seeds": seeds, "summary": summary})
