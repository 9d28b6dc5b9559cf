"""Helpers shared by the experiment modules: summaries over seeds, the labelled grid
(:class:`xarray.Dataset`) every experiment returns, and the few ways the experiments call the
engine (:func:`srlm_kit.dynamics.run`) and measure its tables."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances, policies

#: The default instance size of the studies of judges, near ties and sharpening.
NUM_PROMPTS = 100
NUM_RESPONSES = 20
#: Failure threshold (the paper's 1/2) and confidence of the bounds drawn beside runs.
THRESHOLD = 0.5
DELTA = 0.05
#: The experiments that run through :func:`kappa_and_failure_runs` pad their instances to this
#: shape (prompts, responses), so that a process running several of them (a chapter) shares
#: compiled simulations (:func:`srlm_kit.instances.pad` changes no policy).
SHARED_SHAPE = (40, 21)

#: The coordinates of the ``band`` dimension that :func:`band` adds: the mean over seeds and the
#: two edges of the band drawn around it.
BAND = ("mean", "lower", "upper")


def seed_band(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over ``axis`` (the seeds) and the band mean ± 1 standard deviation, clipped to the
    range the seeds actually reached (so a band never leaves [0, 1] for a probability)."""
    values = np.asarray(values, dtype=float)
    mean, std = values.mean(axis=axis), values.std(axis=axis)
    return (mean, np.maximum(mean - std, values.min(axis=axis)),
            np.minimum(mean + std, values.max(axis=axis)))


def band(values, seed_axis: int) -> np.ndarray:
    """:func:`seed_band` as one array: the seed axis replaced by a last axis of length 3, the
    ``band`` dimension (:data:`BAND`: mean, lower edge, upper edge).

    Every experiment summarises its seeds with this one function, so a figure draws any such
    variable as a curve with its band (:meth:`srlm_kit.figures.core.Curve.mean_and_band`) and a
    chapter reads the mean as ``result[name].sel(band="mean")``."""
    return np.stack(seed_band(values, seed_axis), axis=-1)


def labelled_grid(coords: Mapping[str, Sequence], variables: Mapping[str, tuple], *,
                  attrs: Mapping | None = None) -> xr.Dataset:
    """The result of an experiment: an :class:`xarray.Dataset` of float variables.

    ``coords`` maps each dimension to its coordinate values; ``variables`` maps each name to
    ``(dims, values)``; ``attrs`` holds the settings and scalar extras. A variable whose dims
    end in ``"band"`` (made by :func:`band`) gets the coordinate :data:`BAND`. Missing values
    stay NaN (the command line writes them as JSON null)."""
    coords = {dim: list(values) for dim, values in coords.items()}
    if any("band" in dims for dims, _ in variables.values()):
        coords.setdefault("band", list(BAND))
    data = {name: (list(dims), np.asarray(values, dtype=float))
            for name, (dims, values) in variables.items()}
    return xr.Dataset(data, coords=coords, attrs=dict(attrs or {}))


def running_min_over_seeds(values, seed_axis: int) -> np.ndarray:
    """Minimum over rounds ``0..t`` (running, along the last axis), then over the seed axis: the
    paper's mu and gamma of Definition 5.2, measured on runs."""
    return np.minimum.accumulate(np.asarray(values, dtype=float), axis=-1).min(axis=seed_axis)



def check_run_sizes(num_prompts, num_responses, T, seeds) -> None:
    """Validate the sizes every simulating experiment takes."""
    check.check_int("num_prompts", num_prompts, minimum=1)
    check.check_int("num_responses", num_responses, minimum=3)
    check.check_int("T (number of rounds)", T, minimum=1)
    check.check_int("seeds", seeds, minimum=1)


@functools.cache
def _batched(function, count: int):
    """``function`` vmapped over its first argument (a stack of tables) and compiled, once."""
    return jax.jit(jax.vmap(function, in_axes=(0,) + (None,) * count))


def per_table(function, logits, *arguments) -> np.ndarray:
    """Apply ``function(logits_table, *arguments)`` to every ``(m, K)`` table of ``logits``
    (any leading axes: seeds, rounds), compiled once per function."""
    logits = jnp.asarray(logits)
    leading = logits.shape[:-2]
    flat = logits.reshape((-1,) + logits.shape[-2:])
    values = _batched(function, len(arguments))(flat, *(jnp.asarray(a) for a in arguments))
    return np.asarray(values).reshape(leading + values.shape[1:])


def simulate(key, instance, *, n: int, beta: float, T: int = 8, seeds: int = 8, judge=None,
             shape: dynamics.Shape | None = None) -> dynamics.Trajectory:
    """One call of the engine, :func:`srlm_kit.dynamics.run`, with the logits kept and the
    failure threshold :data:`THRESHOLD`: rounds ``0..T`` (every simulated round when a ``shape``
    is given, as :func:`srlm_kit.dynamics.run` does)."""
    return dynamics.run(key, instance, n=int(n), T=T, beta=float(beta), seeds=seeds,
                        threshold=THRESHOLD, keep_logits=True, judge=judge, shape=shape)


def population_logits(logits, beta: float, T: int, reward=None) -> np.ndarray:
    """The exact (infinite-data) iterates ``log pi_0 .. log pi_T``, shape ``(T + 1, m, K)``.

    Repeated :func:`srlm_kit.dynamics.population_update` (``pi_{t+1} ∝ pi_t^(1+1/beta)``, or
    ``∝ pi_t exp(r/beta)`` with a fixed ``reward`` table).
    """
    current = policies.log_policy(jnp.asarray(logits, dtype=jnp.float64))
    out = [current]
    for _ in range(T):
        current = dynamics.population_update(current, beta, reward)
        out.append(current)
    return np.asarray(jnp.stack(out))


def kappa_and_failure_runs(key, start, n_values, betas, *, T: int, seeds: int, judge=None):
    """``kappa`` and ``failure`` of ``seeds`` runs for every (n, beta), each ``(n, beta, seed,
    t)`` with ``t = 0..T``. One :func:`srlm_kit.dynamics.run` per (n, beta), all with the same
    key (common random numbers, as :func:`srlm_kit.dynamics.run_grid`), at the padded instance
    shape :data:`SHARED_SHAPE`."""
    m, num_responses = start.logits.shape
    padded = instances.pad(start, max(m, SHARED_SHAPE[0]), max(num_responses, SHARED_SHAPE[1]))
    if judge is not None:
        quality = np.full(padded.logits.shape, policies.LOG_FLOOR)
        quality[:m, :num_responses] = np.asarray(judge.quality)
        judge = dynamics.judge(quality, noise=float(judge.noise))
    kappa, failure = [], []
    for n in n_values:
        rows = [dynamics.run(key, padded, n=int(n), T=T, beta=beta, seeds=seeds, judge=judge)
                for beta in betas]
        kappa.append([np.asarray(row.kappa) for row in rows])
        failure.append([np.asarray(row.failure) for row in rows])
    return np.asarray(kappa), np.asarray(failure)
