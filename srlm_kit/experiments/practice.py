"""Numbers behind chapter 1, "Self-rewarding language models in practice".

Two things live here:

* :data:`YUAN_2024_REPORTED`, the numbers Yuan et al. (2024) report for their self-rewarding
  loop, kept in one place so that the chapter's table and the claims its prose makes about them
  come from the same data. They are [secondary]: read in transcriptions of the paper that
  agree with each other, not re-derived.
* ``judge_versus_self_reward``, a small simulation of the book's own (the paper has no
  experiments): the same square-loss update driven either by a separate, noisy and biased judge
  or by the theory's self-reward ``log pi_t``, with an external "quality" label to say which
  response is actually best.

The judge is the kit's toy of an LLM-as-a-judge (:class:`srlm_kit.dynamics.Judge`): each round it
scores ``r_t(x, y) = quality(x, y) + bias(x, y) + noise * xi_t(x, y)`` with fresh standard normal
``xi_t``. Here ``quality`` is 1 on the externally best response of a prompt and 0 elsewhere, and
``bias`` adds ``b`` to one fixed other response per prompt, the *lure* (think of a long answer
that a length-biased judge over-rates). [reconstructed, :ref:`recovered-judge`: a toy of
Yuan et al.'s loop, not the paper's]
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances
from srlm_kit.experiments.common import band, labelled_grid
from srlm_kit.instances import bump_height_for_kappa0

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


def lure_responses(key: jax.Array, labels, modes, num_responses: int) -> np.ndarray:
    """One response per prompt that is neither the external label nor the initial mode.

    Drawn uniformly among the allowed responses (``K - 2`` of them, or ``K - 1`` where label and
    mode coincide). Needs ``K >= 3``.
    """
    check.check_int("K (number of responses)", num_responses, minimum=3)
    labels, modes = np.asarray(labels), np.asarray(modes)
    uniforms = np.asarray(jax.random.uniform(key, labels.shape, dtype=float))
    lures = np.empty_like(labels)
    for prompt, (label, mode_, u) in enumerate(zip(labels, modes, uniforms, strict=True)):
        allowed = [y for y in range(num_responses) if y not in (label, mode_)]
        lures[prompt] = allowed[min(int(u * len(allowed)), len(allowed) - 1)]
    return lures


def judge_instance(*, seed: int, num_prompts: int, num_responses: int, kappa0: float,
                   initial_agreement: float):
    """The starting policy, its external labels and lures, and the judge's quality table.

    A bump policy (toy A) with condition number ``kappa0``; external labels that agree with its
    mode on a fraction ``initial_agreement`` of the prompts
    (:func:`srlm_kit.instances.external_labels`); one lure per prompt
    (:func:`lure_responses`). Keys: ``split(key(seed), 3)`` gives (labels, lures, runs).
    Returns ``(instance, quality, lures, run_key)``.
    """
    height = bump_height_for_kappa0(kappa0, num_responses)
    start = instances.bump(num_prompts, num_responses, height)
    key_labels, key_lures, key_runs = jax.random.split(jax.random.key(seed), 3)
    labels = np.asarray(instances.external_labels(key_labels, start.target, num_responses,
                                                   initial_agreement))
    start = instances.with_labels(start, labels)
    lures = lure_responses(key_lures, labels, np.asarray(start.target), num_responses)
    quality = np.eye(num_responses)[labels]
    return start, quality, lures, key_runs


def judge_versus_self_reward(*, seed: int = 0, num_prompts: int = 40, num_responses: int = 8,
                             kappa0: float = 4.0, initial_agreement: float = 0.5,
                             noises=(0.0, 0.25, 0.5, 1.0, 2.0),
                             biases=(0.0, 0.5, 1.0, 1.5, 2.0), n: int = 200,
                             beta: float = 0.5, T: int = 8, seeds: int = 16) -> xr.Dataset:
    """Agreement with an external label and condition number: a judge against the self-reward.

    Start: :func:`judge_instance`. Each run does ``T`` rounds of the square-loss update with
    ``n`` triples per round and strength ``beta`` (:func:`srlm_kit.dynamics.run`), either with
    the self-reward ``log pi_t`` (the paper's setting) or with the judge
    ``quality + bias * 1{y = lure} + noise * xi_t`` for every ``noise`` and ``bias``. All runs
    share the data keys (common random numbers): round ``t`` of seed ``s`` draws its triples
    with the same key whatever the reward, so the chapter's live explorer
    (:class:`srlm_kit.figures.practice.JudgeExplorer`) shows the same runs at the same settings.

    Labelled grid (:class:`xarray.Dataset`): ``judge_agreement`` and ``judge_kappa`` over
    ``[noise, bias, t, band]``, ``judge_lure_share_mean`` (fraction of prompts whose mode is the
    lure) over ``[noise, bias, t]``; ``self_agreement`` and ``self_kappa`` over ``[t, band]``.
    Bands: mean ± 1 sd over seeds, clipped to the seeds' range. ``attrs`` records the settings
    and the instance (labels, lures, initial modes).
    """
    noises = [check.check_interval("noise", value, 0.0, np.inf) for value in noises]
    biases = [check.check_interval("bias", value, 0.0, np.inf) for value in biases]
    if not noises or not biases:
        raise ValueError("noises and biases must each list at least one value")
    check.check_int("n (triples per round)", n, minimum=1)
    check.check_int("T (number of rounds)", T, minimum=1)
    check.check_int("seeds", seeds, minimum=1)
    check.check_positive("beta", beta)
    start, quality, lures, key_runs = judge_instance(
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
