"""A separate judge against the self-reward, and agreement with external labels
(srlm_kit.experiments.judges): the experiments, their figures and the live explorers.

The runs are recomputed here with the NumPy reference (explicit least squares, union-find) on
the very triples and judge scores the kit draws, so the update itself is checked independently.
"""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import sympy as sp

import reference_numpy as ref
from figure_checks import check_every_slider_step, strict_json
from srlm_kit import bounds, dynamics, instances, policies, theory
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS, common, judges
from srlm_kit.experiments.common import seed_band
from srlm_kit.experiments.judges import YUAN_2024_REPORTED, judge_versus_self_reward
from srlm_kit.figures import expected_traces
from srlm_kit.figures import judges as judge_figures
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


# --------------------------------------------------------------------------------------------
# External labels and a judge that likes length
# --------------------------------------------------------------------------------------------

#: Small shapes shared by these runs (one compiled simulation with and one without a judge).
LABEL_SIZES = {"num_prompts": 12, "num_responses": 6, "T": 3, "seeds": 3}
LABEL_SETTINGS = {
    "consistency_not_correctness": dict(agreements=(0.25, 0.5), n_values=(8, 96), betas=(0.3,)),
    "judge_bias_and_noise": dict(biases=(0.0, 3.0), noises=(0.0, 1.0), n_values=(96,),
                                 initial_agreement=0.5),
}


@pytest.fixture(scope="module")
def label_runs():
    """Both experiments at small sizes, computed once for this file."""
    return {name: EXPERIMENTS[name](**settings, **LABEL_SIZES)
            for name, settings in LABEL_SETTINGS.items()}


def test_favourite_is_correct_is_the_brute_force_condition():
    rng = np.random.default_rng(5)
    quality = np.eye(7)[rng.integers(0, 7, size=40)]
    length = rng.uniform(size=(40, 7))
    truth = np.argmax(quality, axis=1)
    for bias in (0.0, 0.7, 1.3, 4.0):
        hacked = np.array([any(bias * (length[x, y] - length[x, truth[x]]) > 1
                               for y in range(7)) for x in range(40)])
        np.testing.assert_array_equal(bounds.favourite_is_correct(quality, length, bias), ~hacked)


def test_judge_composition_many_rounds_equal_one_round_at_beta_over_t():
    # The derivation's noise-free recursion: T exact rounds with a fixed reward at beta are one
    # round at beta/T (compared with the reference Gibbs policy pi_0 exp(T r/beta)).
    rng = np.random.default_rng(6)
    logits, reward = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    many = common.population_logits(logits, 0.4, 7, reward)[-1]
    gibbs = ref.probs(logits) * np.exp(7 * reward / 0.4)
    gibbs /= gibbs.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.exp(many), gibbs, rtol=1e-9)
    one = dynamics.population_update(logits, 0.4 / 7, reward)
    np.testing.assert_allclose(np.exp(np.asarray(one)), gibbs, rtol=1e-9)
    steps = dict(theory.judge_composition().steps)
    variance = steps["... and variance (fresh, independent noise on each response and round)"]
    sigma = sp.Symbol("sigma", positive=True)
    rounds = sp.Symbol("T", positive=True, integer=True)
    assert sp.simplify(variance.rhs - 2 * rounds * sigma**2 / theory.beta**2) == 0
    assert theory.judge_composition().result.rhs == 1


def test_consistency_not_correctness_values(label_runs):
    result = strict_json(label_runs["consistency_not_correctness"])
    agreement = np.asarray(result["agreement"].sel(band="mean"), dtype=float)
    # external_labels: exactly round(p m) agreeing prompts, so agreement at t = 0 is 3/12, 6/12.
    shares = np.asarray([3, 6]) / 12
    np.testing.assert_allclose(agreement[..., 0],
                               np.broadcast_to(shares[:, None, None], agreement.shape[:-1]),
                               atol=1e-12)
    population = result["population_agreement"].values
    np.testing.assert_allclose(population, np.broadcast_to(shares[:, None, None],
                                                           population.shape), atol=1e-12)
    retention = np.asarray(result["retention"].sel(band="mean"), dtype=float)
    np.testing.assert_allclose(retention[..., 0], 1.0, atol=1e-12)


def test_judge_experiment_values_and_its_run_helper(label_runs):
    result = strict_json(label_runs["judge_bias_and_noise"])
    start, quality, length, key = instances.length_judge_instance(
        seed=0, num_prompts=12, num_responses=6, temperature=0.5, initial_agreement=0.5)
    for j, bias in enumerate((0.0, 3.0)):
        share = float(np.mean(bounds.favourite_is_correct(quality, length, bias)))
        assert float(result["limit"][j]) == pytest.approx(share, abs=1e-12)
    agreement = np.asarray(result["agreement"].sel(band="mean"), dtype=float)
    np.testing.assert_allclose(agreement[..., 0], 0.5, atol=1e-12)
    # The grid holds exactly what judge_run returns for one setting.
    run = judges.judge_run(start, quality, length, key, bias=3.0, noise=1.0, n=96, beta=0.5,
                           T=3, seeds=3)
    np.testing.assert_allclose(agreement[1, 1, 0], run["agreement"].mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(result["judge_score_mean"].values[1, 1, 0],
                               run["judge_score"].mean(axis=0), atol=1e-12)
    # The judge's score share is the expected score over its maximum, computed by hand.
    logits = np.asarray(common.simulate(key, start, n=96, beta=0.5, T=3, seeds=3,
                                        judge=dynamics.judge(quality, 3.0 * length, 1.0)
                                        ).logits)
    score = quality + 3.0 * length
    by_hand = (np.exp(logits) * score).sum(-1).mean(-1) / score.max(axis=1).mean()
    np.testing.assert_allclose(run["judge_score"], by_hand, rtol=1e-9)
    # Self-reward rows are the same along the bias axis.
    self_agreement = np.asarray(result["self_agreement"].sel(band="mean"), dtype=float)
    np.testing.assert_array_equal(self_agreement[0], self_agreement[1])


def test_judge_explorer_shows_the_runs_it_computes():
    pytest.importorskip("ipywidgets")
    shapes = {"T": LABEL_SIZES["T"], "seeds": LABEL_SIZES["seeds"]}
    explorer = judge_figures.LengthBiasExplorer(num_prompts=LABEL_SIZES["num_prompts"],
                                     num_responses=LABEL_SIZES["num_responses"],
                                     n_values=(8, 40, 96), **shapes)
    assert [value for _, value in explorer.n.options] == [8, 40, 96]
    agreement = explorer.figure.data[0].y
    assert agreement[0] == pytest.approx(0.7, abs=0.5 / LABEL_SIZES["num_prompts"])
    run = judges.judge_run(explorer.start, explorer.quality, explorer.length, explorer.key,
                           bias=explorer.bias.value, noise=explorer.noise.value,
                           n=explorer.n.value, beta=explorer.beta.value, **shapes)
    np.testing.assert_allclose(agreement, run["agreement"].mean(axis=0), atol=1e-12)
    before = dynamics.compile_count()
    explorer.bias.value, explorer.noise.value, explorer.n.value = 1.0, 2.0, 8
    explorer.T.value = 2
    assert len(explorer.figure.data[0].y) == 3
    assert dynamics.compile_count() == before, "moving a slider must not recompile"
    own = judges.self_reward_run(explorer.start, explorer.quality, explorer.key, n=8,
                                 beta=explorer.beta.value, **shapes)
    np.testing.assert_allclose(explorer.figure.data[3].y, own["agreement"].mean(axis=0)[:3],
                               atol=1e-12)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: judges.consistency_not_correctness(agreements=(0.5, 1.5)), "agreements"),
    (lambda: judges.judge_bias_and_noise(biases=(-1.0,)), "biases"),
])
def test_label_experiments_name_bad_input(build, message):
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(("name", "builder"), [
    ("consistency_not_correctness", judge_figures.label_agreement_over_rounds),
    ("judge_bias_and_noise", judge_figures.judge_over_bias),
    ("judge_bias_and_noise", judge_figures.judge_over_rounds),
])
def test_label_figures_show_the_experiment_values_at_every_slider_position(label_runs, name,
                                                                           builder):
    check_every_slider_step(builder(label_runs[name]), label_runs[name])
