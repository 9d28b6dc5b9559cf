"""The live explorer's speed choices (srlm_kit.widgets) change no result beyond sampling noise.

A slider move draws its random numbers with JAX's ``rbg`` generator and simulates only the
seeds asked for, in blocks. The timings are in benchmarks/README.md; here: the generator draws
uniform numbers, the curves it gives agree with the default generator's within their standard
errors, and more seeds add blocks without recompiling.
"""

from __future__ import annotations

import jax
import numpy as np
from scipy import stats

from srlm_kit import dynamics, instances
from srlm_kit.instances import bump_height_for_kappa0
from srlm_kit.widgets import SEED_BLOCK, Explorer, default_key


def test_rbg_key_draws_uniform_numbers():
    draws = np.asarray(jax.random.uniform(default_key(), (200_000,)))
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    # and they are not the threefry stream under another name
    assert not np.allclose(draws[:100], np.asarray(jax.random.uniform(jax.random.key(0), (100,))))


def test_rbg_and_threefry_runs_agree_within_their_standard_errors():
    start = instances.bump(100, 50, bump_height_for_kappa0(12.0, 50))
    setting = {"n": 200, "T": 6, "beta": 0.05, "seeds": 64}
    threefry = dynamics.run(jax.random.key(0), start, **setting)
    rbg = dynamics.run(default_key(), start, **setting)
    for field in ("kappa", "failure"):
        a, b = np.asarray(getattr(threefry, field)), np.asarray(getattr(rbg, field))
        assert not np.allclose(a, b)  # other random numbers...
        error = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
        # ...the same distribution: means within four standard errors, round by round
        assert np.all(np.abs(a.mean(axis=0) - b.mean(axis=0)) <= 4 * error + 1e-12), field


def test_more_seeds_add_blocks_without_recompiling():
    explorer = Explorer(num_prompts=6, num_responses=5, n_values=(5, 30), betas=(0.1, 0.5),
                        T_max=4, seeds_max=3 * SEED_BLOCK, kappa0_range=(1.2, 4.0))
    assert explorer.settings()["seeds"] == SEED_BLOCK
    first = explorer.compute(**{**explorer.settings(), "seeds": SEED_BLOCK})
    compiled = dynamics.compile_count()
    more = explorer.compute(**{**explorer.settings(), "seeds": 2 * SEED_BLOCK + 1})
    assert dynamics.compile_count() == compiled
    assert first["population_kappa"] == more["population_kappa"]
    assert first["kappa_mean"] != more["kappa_mean"]  # the added seeds count
