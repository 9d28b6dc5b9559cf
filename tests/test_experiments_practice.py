"""Chapter 1's experiment (a judge against the self-reward), its figures and live explorer.

The runs are recomputed here with the NumPy reference (explicit least squares, union-find) on
the very triples and judge scores the kit draws, so the update itself is checked independently.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import reference_numpy as ref
from srlm_kit import dynamics, policies
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments.common import seed_band
from srlm_kit.experiments.judges import YUAN_2024_REPORTED, judge_versus_self_reward
from srlm_kit.figures import expected_traces
from srlm_kit.figures.judges import (
    JudgeExplorer,
    agreement_over_rounds,
    confidence_over_rounds,
)
from srlm_kit.instances import lure_judge_instance, lure_responses

#: A small setting shared by the tests (one compiled simulation with and one without a judge).
SMALL = {"seed": 3, "num_prompts": 6, "num_responses": 4, "kappa0": 2.5,
         "initial_agreement": 0.5, "noises": (0.0, 0.7), "biases": (0.0, 1.5), "n": 10,
         "beta": 0.5, "T": 3, "seeds": 2}


@pytest.fixture(scope="module")
def small():
    return EXPERIMENTS["judge_versus_self_reward"](**SMALL)


# The kit's sampler and judge, compiled once (the NumPy reference does the update).
_sample_triples = jax.jit(policies.sample_triples, static_argnames=("n_max",))
_judge_scores = jax.jit(dynamics.judge_scores)


def _reference_run(instance, beta, T, seeds, n, key, judge_model=None):
    """Agreement and kappa per (seed, round), the update done by the NumPy reference on the
    kit's own triples and judge scores (keys as documented in dynamics.run)."""
    rho = np.asarray(instance.rho)
    labels = np.asarray(instance.labels)
    agreement = np.empty((seeds, T + 1))
    kappa = np.empty((seeds, T + 1))
    for seed, seed_key in enumerate(jax.random.split(key, seeds)):
        logits = ref.log_softmax(np.asarray(instance.logits))
        round_keys = [jax.random.fold_in(seed_key, t) for t in range(T)]
        for t in range(T + 1):
            agreement[seed, t] = np.sum(rho * (np.argmax(logits, axis=1) == labels))
            kappa[seed, t] = ref.condition_number(logits, rho)
            if t == T:
                break
            triples = _sample_triples(round_keys[t], logits, instance.rho, n, n)
            x, y, y_prime = (np.asarray(a)[:n] for a in (triples.x, triples.y, triples.y_prime))
            reward = None
            if judge_model is not None:
                reward = np.asarray(_judge_scores(judge_model,
                                                  jax.random.fold_in(round_keys[t], 1)))
            change = ref.erm_change_least_squares(logits, x, y, y_prime, beta, reward=reward)
            logits = ref.log_softmax(logits + change)
    return agreement, kappa


def test_judge_runs_match_the_numpy_reference(small):
    start, quality, lures, key = lure_judge_instance(
        seed=SMALL["seed"], num_prompts=SMALL["num_prompts"],
        num_responses=SMALL["num_responses"], kappa0=SMALL["kappa0"],
        initial_agreement=SMALL["initial_agreement"])
    lure_table = np.eye(SMALL["num_responses"])[lures]
    common = {name: SMALL[name] for name in ("beta", "T", "seeds", "n")}
    for i, noise in enumerate(SMALL["noises"]):
        for j, bias in enumerate(SMALL["biases"]):
            judge_model = dynamics.judge(quality, bias * lure_table, noise)
            agreement, kappa = _reference_run(start, key=key, judge_model=judge_model, **common)
            np.testing.assert_allclose(small["judge_agreement"].sel(band="mean")[i][j],
                                       agreement.mean(axis=0), atol=1e-12)
            judge_kappa = small["judge_kappa"][i, j]
            np.testing.assert_allclose(judge_kappa.sel(band="mean"), kappa.mean(axis=0),
                                       rtol=1e-9)
            lower, upper = seed_band(kappa, 0)[1:]
            np.testing.assert_allclose(judge_kappa.sel(band="lower"), lower, rtol=1e-9)
            np.testing.assert_allclose(judge_kappa.sel(band="upper"), upper, rtol=1e-9)
    agreement, kappa = _reference_run(start, key=key, **common)
    np.testing.assert_allclose(small["self_agreement"].sel(band="mean"), agreement.mean(axis=0),
                               atol=1e-12)
    np.testing.assert_allclose(small["self_kappa"].sel(band="mean"), kappa.mean(axis=0), rtol=1e-9)


def test_self_reward_from_a_bump_never_changes_the_favourite(small):
    # Chapter 1's claim: the self-rewarding run keeps pi_0's mode, so its agreement with the
    # external label is the initial fraction in every round and every seed.
    for edge in ("mean", "lower", "upper"):
        np.testing.assert_allclose(small["self_agreement"].sel(band=edge),
                                   SMALL["initial_agreement"], atol=1e-12)


def test_the_instance_is_as_described():
    start, quality, lures, _ = lure_judge_instance(seed=0, num_prompts=40, num_responses=8,
                                              kappa0=4.0, initial_agreement=0.5)
    labels, modes = np.asarray(start.labels), np.asarray(start.target)
    assert np.mean(labels == modes) == 0.5
    assert np.all(lures != labels) and np.all(lures != modes)
    np.testing.assert_array_equal(quality, np.eye(8)[labels])
    probs = ref.probs(np.asarray(start.logits))
    np.testing.assert_allclose(probs.max(axis=1), 0.25, rtol=1e-12)  # kappa_0 = 4
    np.testing.assert_array_equal(probs.argmax(axis=1), modes)


def test_lures_avoid_label_and_mode_and_cover_the_rest():
    labels = np.zeros(4000, dtype=int)
    modes = np.where(np.arange(4000) % 2 == 0, 0, 1)  # half: label == mode
    lures = lure_responses(jax.random.key(1), labels, modes, 5)
    assert np.all(lures != labels) and np.all(lures != modes)
    same = lures[modes == 0]  # four allowed responses, about 500 each
    counts = np.bincount(same, minlength=5)[1:]
    assert counts.min() > 400 and counts.sum() == 2000
    with pytest.raises(ValueError, match="K"):
        lure_responses(jax.random.key(1), labels[:3], modes[:3], 2)


def test_same_seed_same_numbers_and_another_seed_differs(small):
    again = judge_versus_self_reward(**SMALL)
    assert again.equals(small)
    other = judge_versus_self_reward(**{**SMALL, "seed": 4})
    assert not other["judge_kappa"].equals(small["judge_kappa"])


def test_registered_and_json_serialisable(small):
    assert EXPERIMENTS["judge_versus_self_reward"].__wrapped__ is judge_versus_self_reward
    json.dumps(dataset_json(small), allow_nan=False)
    assert small["judge_agreement"].dims == ("noise", "bias", "t", "band")
    assert small["self_kappa"].dims == ("t", "band")


@pytest.mark.parametrize(("override", "message"), [
    ({"noises": (-0.1,)}, "noise"),
    ({"biases": (0.0, -1.0)}, "bias"),
    ({"noises": ()}, "noises"),
    ({"beta": 0.0}, "beta"),
    ({"T": 0}, "T"),
    ({"kappa0": 4.0}, "kappa0"),  # needs 1 < kappa0 < K = 4
])
def test_bad_input_is_named(override, message):
    with pytest.raises(ValueError, match=message):
        judge_versus_self_reward(**{**SMALL, **override})


def test_reported_numbers_are_consistent():
    models = YUAN_2024_REPORTED["models"]
    for key in ("alpacaeval_win_rate", "generation_length", "judge_pairwise_accuracy",
                "mt_bench"):
        assert len(YUAN_2024_REPORTED[key]) == len(models)
    for values in YUAN_2024_REPORTED["nlp_benchmarks"].values():
        assert len(values) == len(models)


def test_figures_show_the_experiments_values(small):
    for build in (agreement_over_rounds, confidence_over_rounds):
        figure = build(small)
        meta = figure.figure.layout.meta["srlm"]
        assert meta["experiment"] == "judge_versus_self_reward" and meta["sliders"] == [
            "noise", "bias"]
        trace_metas = [trace.meta for trace in figure.figure.data]
        for active in ([0, 0], [1, 1], [1, 0]):
            setting = {"noise": small["noise"].values.tolist()[active[0]],
                       "bias": small["bias"].values.tolist()[active[1]]}
            expected = expected_traces(small, meta, trace_metas, setting)
            for index, values in figure.traces_at(active).items():
                np.testing.assert_allclose(values, expected[index], rtol=5e-4)
        html = figure.to_html()
        assert figure.div_id in html and "-grid" in html


def test_live_explorer_reproduces_the_experiment():
    explorer = JudgeExplorer(seed=SMALL["seed"], num_prompts=6, num_responses=4,
                             kappa0=SMALL["kappa0"], T=3, seeds=2, n_values=(10, 20),
                             betas=(0.5, 1.0))
    assert explorer.settings() == {"noise": 0.5, "bias": 0.0, "n": 10, "beta": 0.5}
    result = judge_versus_self_reward(**{**SMALL, "noises": (0.5,), "biases": (0.0,)})
    shown = {name: list(trace.y) for (name, _), trace in zip(explorer.TRACES,
                                                              explorer.figure.data, strict=True)}
    np.testing.assert_allclose(shown["judge_agreement"],
                               result["judge_agreement"].sel(band="mean")[0, 0], atol=1e-12)
    np.testing.assert_allclose(shown["self_kappa"], result["self_kappa"].sel(band="mean"),
                               rtol=1e-12)
    explorer.bias.value = 1.5  # moving a slider recomputes
    moved = judge_versus_self_reward(**{**SMALL, "noises": (0.5,), "biases": (1.5,)})
    np.testing.assert_allclose(explorer.figure.data[2].y,
                               moved["judge_kappa"].sel(band="mean")[0, 0], rtol=1e-12)
    assert explorer.status.value.startswith("computed")
