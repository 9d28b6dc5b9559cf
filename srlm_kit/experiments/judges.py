"""A separate judge against the self-reward, and agreement with external labels.

The theory's reward is the model's own log-probability, ``r_t = log pi_t``; Yuan et al.'s loop
asks the model, as a judge, to score its responses. These experiments put the kit's toy of a
judge (:class:`srlm_kit.dynamics.Judge`: each round ``r_t(x, y) = quality(x, y) + bias(x, y) +
noise * xi_t(x, y)`` with fresh standard normal ``xi_t``) in the same square-loss loop, and
score every run against an external label that says which response is actually best
[reconstructed, :ref:`recovered-judge`: a toy of Yuan et al.'s loop, not the paper's]:

* :func:`judge_versus_self_reward`: a noisy judge with a *lure* (one other response per prompt
  that it over-rates by ``bias``, :func:`srlm_kit.instances.lure_judge_instance`) against the
  self-reward;
* :func:`consistency_not_correctness`: self-rewarding never moves the agreement with labels
  that agree with the initial mode on a fraction p of prompts;
* :func:`judge_bias_and_noise`: a judge that likes length
  (:func:`srlm_kit.instances.length_judge_instance`); when iterating helps, when it amplifies
  the bias (its limit: :func:`srlm_kit.bounds.favourite_is_correct`, derived in
  :func:`srlm_kit.theory.sharpening.judge_composition`).

:data:`YUAN_2024_REPORTED` holds the numbers Yuan et al. (2024) report for their
self-rewarding loop, kept in one place so that a table and the claims made about it come from
the same data. They are [secondary]: read in transcriptions of the paper that agree with each
other, not re-derived.

Bands are mean ± one standard deviation over seeds, clipped to the range the seeds reached.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, dynamics, instances, metrics
from srlm_kit.experiments.common import (
    NUM_PROMPTS,
    NUM_RESPONSES,
    THRESHOLD,
    band,
    check_run_sizes,
    experiment,
    labelled_grid,
    per_table,
    population_logits,
    simulate,
)

#: What Yuan et al. (2024) report for Llama 2 70B: M1 = SFT on seed data (IFT + EFT), M2 and M3
#: the two self-rewarding iterations. [secondary]: read in two transcriptions
#: of the paper that agree with each other; the chapter presents them "as reported".
YUAN_2024_REPORTED = {
    "models": ["SFT baseline", "M1", "M2", "M3"],
    # AlpacaEval 2.0 win rate against GPT-4 Turbo, percent (no value for the SFT baseline).
    "alpacaeval_win_rate": [None, 9.94, 15.38, 20.44],
    # Average generation length in tokens (M1 to M3; the SFT baseline's is not recorded).
    "generation_length": [None, 1092, 1552, 2552],
    # The model as a judge against held-out human rankings: pairwise accuracy, percent.
    "judge_pairwise_accuracy": [65.1, 78.7, 80.4, 81.7],
    # MT-Bench overall score (out of 10).
    "mt_bench": [6.85, 6.78, 7.01, 7.25],
    # Standard benchmarks (accuracy, percent) for the SFT baseline, M1, M2, M3.
    "nlp_benchmarks": {
        "ARC-Challenge": [55.97, 57.51, 54.51, 53.13],
        "HellaSwag": [85.17, 84.99, 84.27, 83.29],
        "GSM8K": [50.72, 60.27, 59.29, 57.70],
        "MMLU": [69.76, 69.34, 69.31, 69.37],
        "Natural Questions": [34.35, 35.48, 33.07, 31.86],
    },
    # Preference pairs the model built for the next round: AIFT(M1), AIFT(M2).
    "preference_pairs": {"M1": 3964, "M2": 6942},
    # Seed data: human-written instruction examples (IFT) and judge-training examples (EFT).
    "seed_ift": 3200,
    "seed_eft_train": 1630,
    # Candidates per prompt, DPO beta, and the rubric's maximum score.
    "candidates_per_prompt": 4,
    "dpo_beta": 0.1,
    "rubric_max_score": 5,
}


@experiment
def judge_versus_self_reward(*, seed: int = 0, num_prompts: int = 40, num_responses: int = 8,
                             kappa0: float = 4.0, initial_agreement: float = 0.5,
                             noises=(0.0, 0.25, 0.5, 1.0, 2.0),
                             biases=(0.0, 0.5, 1.0, 1.5, 2.0), n: int = 200,
                             beta: float = 0.5, T: int = 8, seeds: int = 16) -> xr.Dataset:
    """Agreement with an external label and condition number: a judge against the self-reward.

    Start: :func:`srlm_kit.instances.lure_judge_instance`. Each run does ``T`` rounds of the
    square-loss update with ``n`` triples per round and strength ``beta``
    (:func:`srlm_kit.dynamics.run`), either with
    the self-reward ``log pi_t`` (the paper's setting) or with the judge
    ``quality + bias * 1{y = lure} + noise * xi_t`` for every ``noise`` and ``bias``. All runs
    share the data keys (common random numbers): round ``t`` of seed ``s`` draws its triples
    with the same key whatever the reward, so the chapter's live explorer
    (:class:`srlm_kit.figures.judges.JudgeExplorer`) shows the same runs at the same settings.

    Labelled grid (:class:`xarray.Dataset`): ``judge_agreement`` and ``judge_kappa`` over
    ``[noise, bias, t, band]``, ``judge_lure_share_mean`` (fraction of prompts whose mode is the
    lure) over ``[noise, bias, t]``; ``self_agreement`` and ``self_kappa`` over ``[t, band]``.
    Bands: mean ± 1 sd over seeds, clipped to the seeds' range. ``attrs`` records the settings
    and the instance (labels, lures, initial modes).
    """
    start, quality, lures, key_runs = instances.lure_judge_instance(
        seed=seed, num_prompts=num_prompts, num_responses=num_responses, kappa0=kappa0,
        initial_agreement=initial_agreement)
    lure_table = np.eye(num_responses)[lures]
    lure_instance = instances.with_labels(start, lures)

    def simulate(instance, judge_model=None):
        return dynamics.run(key_runs, instance, n=n, T=T, beta=beta, seeds=seeds,
                            judge=judge_model)

    self_run = simulate(start)
    shape = (len(noises), len(biases), seeds, T + 1)
    agreement, kappa, lure_share = (np.empty(shape) for _ in range(3))
    for i, noise in enumerate(noises):
        for j, bias in enumerate(biases):
            judge_model = dynamics.judge(quality, bias * lure_table, noise)
            trajectory = simulate(start, judge_model)
            agreement[i, j] = np.asarray(trajectory.agreement)
            kappa[i, j] = np.asarray(trajectory.kappa)
            # The same data and judge noise, with the lures as "labels": where the modes went.
            lure_share[i, j] = np.asarray(simulate(lure_instance, judge_model).agreement)

    seed_axis = 2
    judge_dims = ["noise", "bias", "t", "band"]
    return labelled_grid(
        {"noise": noises, "bias": biases, "t": list(range(T + 1))},
        {"judge_agreement": (judge_dims, band(agreement, seed_axis)),
         "judge_kappa": (judge_dims, band(kappa, seed_axis)),
         "judge_lure_share_mean": (judge_dims[:-1], lure_share.mean(axis=seed_axis)),
         "self_agreement": (["t", "band"], band(np.asarray(self_run.agreement), 0)),
         "self_kappa": (["t", "band"], band(np.asarray(self_run.kappa), 0))},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "kappa0": kappa0, "initial_agreement": initial_agreement, "n": n,
               "beta": beta, "T": T, "seeds": seeds,
               "labels": np.asarray(start.labels).tolist(),
               "initial_modes": np.asarray(start.target).tolist(),
               "lures": lures.tolist()})


@experiment
def consistency_not_correctness(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                                num_responses: int = NUM_RESPONSES, temperature: float = 1.0,
                                agreements=(0.25, 0.5, 0.75), n_values=(50, 200, 800, 3200),
                                betas=(0.1, 0.5), T: int = 8, seeds: int = 8) -> xr.Dataset:
    """Agreement with external labels that agree with pi_0's mode on a fraction p.

    Start: random logits with ``temperature`` (:func:`srlm_kit.instances.random_logits`). For
    every p in ``agreements``, labels from :func:`srlm_kit.instances.external_labels` with one
    key (so the agreeing prompts are nested as p grows). The labels never enter the update;
    they only score its result. Keys: ``split(key(seed), 3)`` = (logits, labels, runs).

    Fields: ``agreement`` ``[p, n, beta, t, band]``: share of prompts whose mode is
    the label; ``retention`` ``[n, beta, t, band]``: share whose mode is still
    pi_0's mode; ``confident_mean`` ``[n, beta, t]``: ``1 - failure``; ``population_agreement``
    ``[p, beta, t]`` and ``population_confident`` ``[beta, t]``: the exact update; ``p_level``
    ``[p, t]``: the constant p (a reference line).
    """
    agreements = check.check_increasing_floats("agreements", agreements, 0.0, 1.0)
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    check_run_sizes(num_prompts, num_responses, T, seeds)
    key_logits, key_labels, key_runs = jax.random.split(jax.random.key(seed), 3)
    start = instances.random_logits(key_logits, num_prompts, num_responses, temperature)
    labels = [instances.external_labels(key_labels, start.target, num_responses, p)
              for p in agreements]

    shape = (len(n_values), len(betas), seeds, T + 1)
    agreement = np.empty((len(agreements),) + shape)
    retention, failure = np.empty(shape), np.empty(shape)
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            trajectory = simulate(key_runs, start, n=n, beta=beta, T=T, seeds=seeds)
            for k, prompt_labels in enumerate(labels):
                agreement[k, i, j] = per_table(metrics.agreement, trajectory.logits,
                                                   start.rho, prompt_labels)
            retention[i, j] = per_table(metrics.agreement, trajectory.logits, start.rho,
                                            start.target)
            failure[i, j] = np.asarray(trajectory.failure)
    population = [population_logits(start.logits, beta, T) for beta in betas]
    population_agreement = np.stack([np.stack([per_table(
        metrics.agreement, values, start.rho, prompt_labels) for values in population])
        for prompt_labels in labels])
    population_confident = np.stack([1.0 - per_table(
        metrics.failure_probability, values, start.rho, THRESHOLD) for values in population])

    seed_axis = 3
    fields = {
        "agreement": (["p", "n", "beta", "t", "band"], band(agreement, seed_axis)),
        "retention": (["n", "beta", "t", "band"], band(retention, seed_axis - 1)),
        "confident_mean": (["n", "beta", "t"], 1.0 - failure.mean(axis=seed_axis - 1)),
        "population_agreement": (["p", "beta", "t"], population_agreement),
        "population_confident": (["beta", "t"], population_confident),
        "p_level": (["p", "t"], np.repeat(np.asarray(agreements)[:, None], T + 1, axis=1)),
    }
    coords = {"p": agreements, "n": n_values, "beta": betas, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "temperature": temperature, "T": T, "seeds": seeds,
              "kappa0": float(metrics.condition_number(start.logits, start.rho)),
              "initial_failure": float(metrics.failure_probability(start.logits, start.rho)),
              "initial_margin": float(metrics.margin(start.logits, start.rho))}
    return labelled_grid(coords, fields, attrs=params)


def _judge_scores_of_run(logits, rho, quality, score) -> tuple[np.ndarray, np.ndarray]:
    """Expected true quality and the judge's expected noise-free score, share of its maximum."""
    true_quality = per_table(metrics.expected_reward, logits, jnp.asarray(quality), rho)
    judged = per_table(metrics.expected_reward, logits, jnp.asarray(score), rho)
    best = float(np.sum(np.asarray(rho) * np.max(score, axis=1)))
    return true_quality, judged / best


def judge_run(start, quality, length, key, *, bias: float, noise: float, n: int,
              beta: float, T: int = 8, seeds: int = 8, shape: dynamics.Shape | None = None
              ) -> dict[str, np.ndarray]:
    """T rounds with the judge ``q + bias * length + noise * xi_t`` from the ``start`` of
    :func:`srlm_kit.instances.length_judge_instance`; every field has shape ``(seeds, T + 1)``
    (``shape``: as in :func:`srlm_kit.experiments.common.simulate`).

    ``agreement``: share of prompts whose mode is the correct response; ``quality``:
    ``E_x pi_t(y_true|x)``; ``judge_score``: the judge's expected noise-free score divided by
    its largest possible value; ``favourite``: share of prompts whose mode is the judge's
    favourite ``argmax_y q + bias * length``.
    """
    score = np.asarray(quality) + bias * np.asarray(length)
    judge_model = dynamics.judge(quality, bias * np.asarray(length), noise)
    trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds, judge=judge_model,
                          shape=shape)
    true_quality, judge_score = _judge_scores_of_run(trajectory.logits, start.rho, quality,
                                                     score)
    favourite = per_table(metrics.agreement, trajectory.logits, start.rho,
                              jnp.asarray(np.argmax(score, axis=1)))
    return {"agreement": np.asarray(trajectory.agreement), "quality": true_quality,
            "judge_score": judge_score, "favourite": favourite}


def self_reward_run(start, quality, key, *, n: int, beta: float, T: int = 8,
                    seeds: int = 8, shape: dynamics.Shape | None = None
                    ) -> dict[str, np.ndarray]:
    """T rounds of self-rewarding (``r_t = log pi_t``) from the same start and data keys:
    ``agreement`` and ``quality`` as in :func:`judge_run`, shape ``(seeds, T + 1)``."""
    trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds, shape=shape)
    return {"agreement": np.asarray(trajectory.agreement),
            "quality": per_table(metrics.expected_reward, trajectory.logits,
                                     jnp.asarray(quality), start.rho)}


@experiment
def judge_bias_and_noise(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                         num_responses: int = NUM_RESPONSES, temperature: float = 0.5,
                         initial_agreement: float = 0.7,
                         biases=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0), noises=(0.0, 0.5, 1.0, 2.0),
                         n_values=(400, 3200), beta: float = 0.5, T: int = 8,
                         seeds: int = 8) -> xr.Dataset:
    """The square-loss loop with a judge that likes length, ``r_t = q + lambda l + sigma xi_t``.

    Setting: :func:`srlm_kit.instances.length_judge_instance`. For every bias strength ``c`` in
    ``biases``, noise level ``sigma`` in ``noises`` and n in ``n_values``: T rounds with the judge
    (:func:`srlm_kit.dynamics.judge`, fresh noise each round), and, for comparison, T rounds of
    self-rewarding (the paper's ``r_t = log pi_t``) from the same start with the same data keys.

    Fields: ``agreement`` ``[noise, bias, n, t, band]``: share of prompts whose mode
    is the correct response; ``quality_mean`` (``E_x pi_t(y_true|x)``), ``judge_score_mean``
    (the judge's expected noise-free score ``E_x sum_y pi_t(y|x)(q + lambda l)``, divided by its
    largest possible value ``E_x max_y (q + lambda l)``) and ``favourite_mean`` (share of prompts
    whose mode is the judge's favourite) on the same axes; ``limit`` ``[bias]``: share of
    prompts whose favourite is correct (:func:`srlm_kit.bounds.favourite_is_correct`);
    ``population_agreement`` ``[bias, t]``: the exact noise-free update
    ``pi_{t+1} ∝ pi_t exp((q + lambda l)/beta)``; ``self_agreement`` (with a ``band`` axis) and
    ``self_quality_mean`` ``[bias, n, t]``: the self-reward run (the same for every bias,
    repeated along that axis so a figure can draw it against the bias).
    """
    biases = check.check_increasing_floats("biases", biases, 0.0)
    noises = check.check_increasing_floats("noises", noises, 0.0)
    check_run_sizes(num_prompts, num_responses, T, seeds)
    start, quality, length, key_runs = instances.length_judge_instance(
        seed=seed, num_prompts=num_prompts, num_responses=num_responses,
        temperature=temperature, initial_agreement=initial_agreement)

    shape = (len(noises), len(biases), len(n_values), seeds, T + 1)
    agreement, true_quality, judge_score, favourite = (np.empty(shape) for _ in range(4))
    limit = np.empty(len(biases))
    population_agreement = np.empty((len(biases), T + 1))
    for j, bias in enumerate(biases):
        limit[j] = float(np.sum(np.asarray(start.rho) * bounds.favourite_is_correct(quality, length,
                                                                             bias)))
        exact = population_logits(start.logits, beta, T, jnp.asarray(quality + bias * length))
        population_agreement[j] = per_table(metrics.agreement, exact, start.rho,
                                                start.labels)
        for i, noise in enumerate(noises):
            for k, n in enumerate(n_values):
                run = judge_run(start, quality, length, key_runs, bias=bias, noise=noise, n=n,
                                beta=beta, T=T, seeds=seeds)
                agreement[i, j, k], true_quality[i, j, k] = run["agreement"], run["quality"]
                judge_score[i, j, k], favourite[i, j, k] = run["judge_score"], run["favourite"]
    self_runs = [self_reward_run(start, quality, key_runs, n=n, beta=beta, T=T, seeds=seeds)
                 for n in n_values]
    self_agreement = np.stack([run["agreement"] for run in self_runs])
    self_quality = np.stack([run["quality"] for run in self_runs])

    seed_axis = 3
    dims = ["noise", "bias", "n", "t"]
    fields = {"agreement": ([*dims, "band"], band(agreement, seed_axis))}
    fields.update({
        "quality_mean": (dims, true_quality.mean(axis=seed_axis)),
        "judge_score_mean": (dims, judge_score.mean(axis=seed_axis)),
        "favourite_mean": (dims, favourite.mean(axis=seed_axis)),
        "limit": (["bias"], limit),
        "population_agreement": (["bias", "t"], population_agreement),
    })
    repeat = len(biases)
    fields["self_agreement"] = (["bias", "n", "t", "band"],
                                np.repeat(band(self_agreement, 1)[None], repeat, axis=0))
    fields["self_quality_mean"] = (["bias", "n", "t"], np.repeat(
        self_quality.mean(axis=1)[None], repeat, axis=0))
    coords = {"noise": noises, "bias": biases, "n": n_values, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "temperature": temperature, "initial_agreement": initial_agreement,
              "beta": beta, "T": T, "seeds": seeds,
              "kappa0": float(metrics.condition_number(start.logits, start.rho))}
    return labelled_grid(coords, fields, attrs=params)
