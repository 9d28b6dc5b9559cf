"""The introduction's experiment and figure (srlm_kit.experiments.overview, figures.overview)."""

from __future__ import annotations

import itertools
import json
import math

import jax
import numpy as np
import pytest

from srlm_kit import dynamics, instances
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments.overview import paper_in_one_picture
from srlm_kit.figures import expected_traces
from srlm_kit.figures import overview as figures
from srlm_kit.instances import bump_height_for_kappa0

SMALL = {"seed": 3, "num_prompts": 10, "num_responses": 6, "kappa0s": [3.0, 4.0],
         "n_values": [10, 40], "T": 3, "seeds": 2}


@pytest.fixture(scope="module")
def small():
    return EXPERIMENTS["paper_in_one_picture"](**SMALL)


def test_registered_and_json_serialisable(small):
    assert EXPERIMENTS["paper_in_one_picture"].__wrapped__ is paper_in_one_picture
    assert json.dumps(dataset_json(small), allow_nan=False)


def test_same_seed_gives_the_same_numbers_twice(small):
    assert paper_in_one_picture(**SMALL).equals(small)


def test_round_zero_is_the_bump_start(small):
    """At t = 0 every n shows the start: kappa_0, all prompts failing, mu = 1/kappa_0, gamma = b."""
    columns = np.ones((1, len(SMALL["n_values"])))
    kappa0s = np.asarray(SMALL["kappa0s"])[:, None] * columns
    heights = np.asarray([bump_height_for_kappa0(k, SMALL["num_responses"])
                          for k in SMALL["kappa0s"]])[:, None] * columns
    np.testing.assert_allclose(small["kappa_mean"].values[..., 0], kappa0s, rtol=1e-12)
    # kappa0 > 2: the mode holds 1/kappa0 < 1/2 on every prompt, so every prompt fails.
    np.testing.assert_allclose(small["failure_mean"].values[..., 0], 1.0, atol=1e-12)
    np.testing.assert_allclose(small["mu_min"].values[..., 0], 1 / kappa0s, rtol=1e-12)
    np.testing.assert_allclose(small["gamma_min"].values[..., 0], heights, rtol=1e-9)


def test_grid_points_are_direct_runs(small):
    """One grid point against :func:`dynamics.run` from the same key."""
    kappa0, n = SMALL["kappa0s"][1], SMALL["n_values"][0]
    start = instances.bump(SMALL["num_prompts"], SMALL["num_responses"],
                           bump_height_for_kappa0(kappa0, SMALL["num_responses"]))
    run = dynamics.run(jax.random.key(SMALL["seed"]), start, n=n, T=SMALL["T"],
                       beta=1 / math.sqrt(n), seeds=SMALL["seeds"])
    np.testing.assert_allclose(small["failure_mean"].values[1, 0],
                               np.asarray(run.failure).mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(small["kappa_mean"].values[1, 0],
                               np.asarray(run.kappa).mean(axis=0), rtol=1e-12)


def test_bound_is_theorem_5_3_at_the_measured_mu_and_gamma(small):
    """The bound against its closed form, written out here in NumPy."""
    mu, gamma = small["mu_min"].values, small["gamma_min"].values
    n = np.asarray(SMALL["n_values"], dtype=float)[None, :, None]
    t = np.arange(SMALL["T"] + 1, dtype=float)[None, None, :]
    kappa0 = np.asarray(SMALL["kappa0s"])[:, None, None]
    log_pi = SMALL["num_prompts"] * math.log(SMALL["num_responses"])
    q = 1 / (1 + np.sqrt(n * mu))
    closed = (np.log(n) + log_pi - math.log(0.05)) / (gamma * np.sqrt(n)) * (
        mu ** -0.5 + np.sqrt(kappa0) * q ** ((t - 1) / 2))
    bound = small["failure_bound"].values
    assert np.all(np.isnan(bound[..., 0]))
    np.testing.assert_allclose(bound[..., 1:], closed[..., 1:], rtol=1e-12)
    assert small.attrs["log_class_size"] == pytest.approx(log_pi)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"kappa0s": [3.0, 6.0]}, "kappa0s"),
    ({"kappa0s": [4.0, 3.0]}, "kappa0s"),
    ({"n_values": [40, 10]}, "n_values"),
    ({"delta": 1.0}, "delta"),
    ({"T": 0}, "T"),
    ({"seeds": 0}, "seeds"),
])
def test_bad_settings_are_refused_naming_the_parameter(overrides, message):
    with pytest.raises(ValueError, match=message):
        paper_in_one_picture(**{**SMALL, **overrides})


def _settings(figure):
    layout = figure.figure.layout
    steps = [[json.loads(step.value) for step in slider.steps] for slider in layout.sliders]
    return layout.meta["srlm"], steps


def test_figure_shows_the_experiment_at_every_setting(small):
    figure = figures.paper_in_one_picture(small)
    meta, steps = _settings(figure)
    assert meta["experiment"] == "paper_in_one_picture" and meta["kwargs"] == SMALL
    assert len(figure.figure.data) == 5
    trace_metas = [trace.meta for trace in figure.figure.data]
    for active in itertools.product(*(range(len(values)) for values in steps)):
        setting = {dim: values[k] for dim, values, k in zip(meta["sliders"], steps, active,
                                                             strict=True)}
        expected = expected_traces(small, meta, trace_metas, setting)
        for index, shown in figure.traces_at(list(active)).items():
            np.testing.assert_allclose(np.asarray(shown, dtype=float), expected[index],
                                       rtol=5.0001e-4, atol=1e-12)


def test_every_slider_changes_what_is_drawn(small):
    figure = figures.paper_in_one_picture(small)
    _, steps = _settings(figure)
    for moved, values in enumerate(steps):
        others = [range(len(v)) for k, v in enumerate(steps) if k != moved]
        changes = False
        for rest in itertools.product(*others):
            drawn = []
            for position in range(len(values)):
                active = list(rest)
                active.insert(moved, position)
                drawn.append(json.dumps(figure.traces_at(active)))
            changes |= len(set(drawn)) > 1
        assert changes, f"slider {moved} changes nothing"


def test_kappa_is_drawn_on_the_lower_panel(small):
    figure = figures.paper_in_one_picture(small).figure
    axes = {(trace.meta or {}).get("field", trace.name): trace.yaxis for trace in figure.data}
    assert axes["kappa_mean"] == "y2" and axes["failure_mean"] in (None, "y")
    assert axes["failure_bound"] in (None, "y")
    top, bottom = figure.layout.yaxis.domain, figure.layout.yaxis2.domain
    assert bottom[1] < top[0]
