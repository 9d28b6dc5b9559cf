"""The live explorer (srlm_kit.widgets), driven in-process as a reader would drive it.

Its figure is compared, for the corners of every slider's range and a random sample of
settings, with values computed here: the sampled curves from a direct run of the kit (means and
bands recomputed with NumPy), the infinite-data curves from the closed form of the population
update on the bump instance. No setting may raise, and no slider move may recompile.
"""

from __future__ import annotations

import itertools
import math
import random

import jax
import numpy as np
import pytest

from srlm_kit import dynamics, instances
from srlm_kit.instances import bump_height_for_kappa0
from srlm_kit.widgets import SEED_BLOCK, Explorer

SMALL = {"num_prompts": 6, "num_responses": 5, "n_values": (5, 30, 200), "betas": (0.1, 2.0),
         "T_max": 6, "seeds_max": 5, "kappa0_range": (1.2, 4.0)}


@pytest.fixture(scope="module")
def small():
    return Explorer(**SMALL, key=jax.random.key(7))


def slider_ranges(explorer: Explorer) -> dict:
    """Every slider's smallest and largest value, read from the widgets themselves."""
    return {"n": (explorer.n.options[0][1], explorer.n.options[-1][1]),
            "T": (explorer.T.min, explorer.T.max),
            "kappa0": (explorer.kappa0.min, explorer.kappa0.max),
            "beta": (explorer.beta.options[0][1], explorer.beta.options[-1][1]),
            "seeds": (explorer.seeds.min, explorer.seeds.max)}


def expected_curves(explorer: Explorer, *, n, T, kappa0, beta, seeds) -> dict:
    K = explorer.num_responses
    height = bump_height_for_kappa0(kappa0, K)
    start = instances.bump(explorer.num_prompts, K, height)
    # Seeds come in blocks of SEED_BLOCK, block b from the key folded with b.
    block = min(SEED_BLOCK, explorer.seeds_max)
    runs = [dynamics.run(jax.random.fold_in(explorer.key, b), start, n=n, T=T, beta=beta,
                         seeds=block, shape=explorer.shape)
            for b in range(math.ceil(seeds / block))]
    curves = {}
    for name in ("kappa", "failure"):
        values = np.concatenate([np.asarray(getattr(run, name)) for run in runs])
        values = values[:seeds, :T + 1]
        mean, std = values.mean(axis=0), values.std(axis=0)
        curves[f"{name}_mean"] = mean
        curves[f"{name}_lower"] = np.maximum(mean - std, values.min(axis=0))
        curves[f"{name}_upper"] = np.minimum(mean + std, values.max(axis=0))
    # Population update pi_t ∝ pi_0^((1+1/beta)^t) on the bump: closed form, every prompt alike.
    kappa = [1 + (K - 1) * math.exp(-height * (1 + 1 / beta) ** t) for t in range(T + 1)]
    curves["population_kappa"] = np.array(kappa)
    curves["population_failure"] = np.array([1.0 if 1 / value <= 0.5 else 0.0
                                             for value in kappa])
    return curves


def assert_figure_shows(explorer: Explorer, setting: dict) -> None:
    assert explorer.settings() == setting
    expected = expected_curves(explorer, **setting)
    for (name, _), trace in zip(explorer.TRACES, explorer.figure.data, strict=True):
        assert list(trace.x) == list(range(setting["T"] + 1)), name
        np.testing.assert_allclose(trace.y, expected[name], rtol=1e-9, atol=1e-12,
                                   err_msg=f"{name} at {setting}")
    assert explorer.status.value.startswith("computed in")


def corners(explorer: Explorer) -> list[dict]:
    ranges = slider_ranges(explorer)
    return [dict(zip(ranges, values, strict=True))
            for values in itertools.product(*ranges.values())]


def random_settings(explorer: Explorer, count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [{"n": rng.choice(explorer.n.options)[1],
             "T": rng.randint(explorer.T.min, explorer.T.max),
             "kappa0": round(rng.uniform(explorer.kappa0.min, explorer.kappa0.max), 1),
             "beta": rng.choice(explorer.beta.options)[1],
             "seeds": rng.randint(explorer.seeds.min, explorer.seeds.max)}
            for _ in range(count)]


def test_every_corner_and_a_random_sample_show_the_kits_values(small):
    compiled = dynamics.compile_count()
    settings = corners(small) + random_settings(small, 12, seed=1)
    assert len(settings) == 2**5 + 12
    for setting in settings:
        small.set(**setting)
        assert_figure_shows(small, setting)
    assert dynamics.compile_count() == compiled, "a slider move recompiled the simulation"


def test_moving_one_slider_updates_the_figure(small):
    small.set(n=30, T=4, kappa0=2.0, beta=0.1, seeds=3)
    small.T.value = 6  # one slider, as a reader moves it: the observer recomputes
    assert_figure_shows(small, {"n": 30, "T": 6, "kappa0": 2.0, "beta": 0.1, "seeds": 3})
    small.seeds.value = 5
    assert_figure_shows(small, {"n": 30, "T": 6, "kappa0": 2.0, "beta": 0.1, "seeds": 5})


def test_status_says_computing_during_a_run(small):
    seen = []
    original = small.compute

    def watched(**setting):
        seen.append(small.status.value)
        return original(**setting)

    small.compute = watched
    try:
        small.kappa0.value = 3.0
    finally:
        del small.compute
    assert seen and "computing" in seen[0]
    assert small.status.value.startswith("computed in")


def test_out_of_range_values_cannot_be_set(small):
    small.set(kappa0=100.0, T=99, seeds=-3)  # number sliders clamp to their range
    assert small.settings()["kappa0"] == SMALL["kappa0_range"][1]
    assert small.settings()["T"] == SMALL["T_max"] and small.settings()["seeds"] == 1
    assert_figure_shows(small, small.settings())
    with pytest.raises(Exception, match="Invalid selection"):
        small.n.value = 31  # a selection slider offers only its values
    with pytest.raises(TypeError, match="unknown slider"):
        small.set(m=3)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="betas must offer at least two values"):
        Explorer(betas=(0.5,))
    with pytest.raises(ValueError, match="kappa0_range"):
        Explorer(num_responses=5, kappa0_range=(1.0, 4.0))
    with pytest.raises(ValueError, match="n_values"):
        Explorer(n_values=(30, 10))


def test_default_explorer_extremes():
    """The book's configuration: n up to 10^4, T up to 20, 64 seeds; its two extreme corners."""
    explorer = Explorer()
    ranges = slider_ranges(explorer)
    assert ranges["n"] == (10, 10_000) and ranges["T"] == (0, 20)
    assert ranges["seeds"] == (1, 64)
    compiled = dynamics.compile_count()
    for index in (0, 1):
        setting = {name: bounds[index] for name, bounds in ranges.items()}
        explorer.set(**setting)
        assert_figure_shows(explorer, setting)
    assert dynamics.compile_count() == compiled
