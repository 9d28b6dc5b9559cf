"""The experiment small_transformer_loop and its figures (small settings, same code paths)."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlm_kit import dynamics, instances
from srlm_kit import transformer as model
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments import transformer as experiment
from srlm_kit.figures import expected_traces
from srlm_kit.figures import transformer as figures

SMALL = {"n_values": [4, 8], "betas": [0.5, 2.0], "T": 2, "seeds": 2, "steps": 3,
         "few_steps": 1, "many_steps": 5, "pooled_n": 4, "pooled_rounds": [1, 2]}


@pytest.fixture(scope="module")
def result():
    return EXPERIMENTS["small_transformer_loop"](**SMALL)


def test_registered_and_strict_json(result):
    assert EXPERIMENTS["small_transformer_loop"].__wrapped__ is experiment.small_transformer_loop
    assert json.dumps(dataset_json(result), allow_nan=False)


def test_experiment_is_deterministic(result):
    """The same seed gives the same numbers twice."""
    assert experiment.small_transformer_loop(**SMALL).equals(result)


def test_the_budget_and_pooling_axes_are_the_settings(result):
    assert result["steps"].values.tolist() == [1, 3, 5] and result["T"].values.tolist() == [1, 2]


def start_table(result):
    key = jax.random.split(jax.random.key(result.attrs["seed"]), 3)[0]
    architecture = model.Architecture(**result.attrs["architecture"])
    params0 = model.init_params(key, architecture, result.attrs["output_scale"])
    return model.sequence_table(params0, architecture)


def test_population_curves_are_the_closed_form_power(result):
    """pi_t ∝ pi_0^((1+1/beta)^t), computed in NumPy from the start table."""
    table = np.asarray(start_table(result))
    for b, beta in enumerate(result["beta"].values.tolist()):
        for t in result["t"].values.tolist():
            power = (1 + 1 / beta) ** t * table
            probs = np.exp(power - power.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
            kappa = np.mean(1 / probs.max(axis=1))
            np.testing.assert_allclose(result["population_kappa"].values[b, t], kappa,
                                       rtol=1e-9)
            assert result["population_failure"].values[b, t] == np.mean(probs.max(axis=1)
                                                                          <= 0.5)
    kappa_start = result["kappa"].sel(band="mean").values[0, 0, 0, 0]
    assert kappa_start == pytest.approx(result.attrs["kappa0"])


def test_tabular_fields_are_the_kits_erm_runs(result):
    table = start_table(result)
    rho = jnp.full(4, 0.25)
    key = jax.random.split(jax.random.key(result.attrs["seed"]), 3)[2]
    runs = dynamics.run_grid(key, instances.stack([instances.tabular(table, rho)]),
                             SMALL["n_values"], SMALL["betas"], T=SMALL["T"],
                             seeds=SMALL["seeds"])
    np.testing.assert_allclose(result["tabular_kappa"].sel(band="mean").values,
                               np.asarray(runs.kappa)[0].mean(axis=2), rtol=1e-12)


def test_grid_matches_a_direct_run_of_the_loop(result):
    """One setting of the grid, rerun alone with the same key: same numbers."""
    key = jax.random.split(jax.random.key(result.attrs["seed"]), 3)
    architecture = model.Architecture(**result.attrs["architecture"])
    params0 = model.init_params(key[0], architecture, result.attrs["output_scale"])
    start = model.instance(params0, architecture, np.full(4, 0.25), loss="logistic", steps=3,
                           learning_rate=result.attrs["learning_rate"])
    direct = dynamics.run(key[1], start, n=8, T=2, beta=2.0, seeds=2)
    np.testing.assert_allclose(result["kappa"].sel(band="mean").values[1, 1, 1],
                               np.asarray(direct.kappa).mean(axis=0), rtol=1e-4)
    # The budget grid's middle entry is the main grid.
    np.testing.assert_array_equal(result["budget_kappa_mean"].values[1],
                                  result["kappa"].sel(band="mean").values)
    # The pooling comparison at T' = 1 is the first round of the main grid at n = pooled_n.
    np.testing.assert_allclose(result["pooled_kappa_mean"].values[..., 0],
                               result["rounds_kappa_mean"].values[..., 0], rtol=1e-12)


def test_kappa_is_at_least_remark_4_2s_bound(result):
    assert np.all(result["kappa_min_over_seeds_minus_alpha_bound"].values >= -1e-9)
    assert np.all(result["alpha_mean"].values <= 1.0)
    assert np.all(np.isnan(result["kl"].sel(band="mean").values[..., 0]))
    assert np.all(result["kl"].sel(band="mean").values[..., 1:] >= 0)


@pytest.mark.parametrize("overrides, message", [
    ({"n_values": [8, 4]}, "n_values"),
    ({"betas": [0.0]}, "betas"),
    ({"pooled_n": 5}, "pooled_n"),
    ({"pooled_rounds": [1, 3]}, "pooled_rounds"),
    ({"steps": 1}, "steps"),
    ({"many_steps": 3}, "many_steps"),
    ({"T": 0}, "T (number of rounds)"),
])
def test_bad_input_names_the_parameter(overrides, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(
            ")", r"\)")):
        experiment.small_transformer_loop(**{**SMALL, **overrides})


BUILDERS = [figures.transformer_kappa, figures.transformer_failure, figures.transformer_kl,
            figures.transformer_pooling, figures.transformer_budget]


@pytest.mark.parametrize("builder", BUILDERS)
def test_figures_show_the_experiment_for_every_slider_setting(result, builder):
    figure = builder(result)
    meta = figure.figure.layout.meta["srlm"]
    assert meta["experiment"] == "small_transformer_loop"
    sliders = list(figure.figure.layout.sliders)
    positions = [range(len(slider.steps)) for slider in sliders]
    shown_sets = []
    for active in np.ndindex(*[len(p) for p in positions]):
        setting = {slider.name: json.loads(slider.steps[index].value)
                   for slider, index in zip(sliders, active, strict=True)}
        shown = figure.traces_at(list(active))
        expected = expected_traces(result, meta, [trace.meta for trace in figure.figure.data],
                                   setting)
        for index, values in shown.items():
            np.testing.assert_allclose(np.asarray(values, dtype=float),
                                       np.asarray(expected[index], dtype=float), rtol=1e-3)
        shown_sets.append(json.dumps(shown))
    # Every slider changes what is drawn: moving one slider from any setting changes a curve.
    for number, slider in enumerate(sliders):
        base = [0] * len(sliders)
        moved = list(base)
        moved[number] = len(slider.steps) - 1
        assert figure.traces_at(base) != figure.traces_at(moved), slider.name
