"""Helpers shared by the experiment modules: summaries over seeds, the labelled grid
(:class:`xarray.Dataset`) every experiment returns, and the few ways the experiments call the
engine (:func:`srlm_kit.dynamics.run`) and measure its tables."""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence

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


def _int(name: str, minimum: int, maximum: int | None = None) -> Callable:
    return lambda value: check.check_int(name, value, minimum, maximum)


def _ints(name: str, minimum: int = 1, maximum: int | None = None) -> Callable:
    return lambda values: check.check_increasing_ints(name, values, minimum, maximum)


def _numbers(name: str, low: float, high: float = math.inf, **ends) -> Callable:
    return lambda values: check.check_numbers(name, values, low, high, **ends)


#: The range of a logit an experiment sets (a bump's height): at most 700, so that ``e^b`` is a
#: finite float64, and at least 1e-12, so that ``e^b`` still differs from 1 (a smaller bump
#: rounds away, leaving the uniform policy).
LOGIT_RANGE = (1e-12, 700.0)


def _logit(name: str) -> Callable:
    return lambda value: check.check_interval(name, value, *LOGIT_RANGE)


#: The smallest beta an experiment takes: a round multiplies the policy's log-odds by up to
#: ``1 + 1/beta``. At this limit fifty rounds multiply them by about 10^300, near the largest
#: float64; a smaller beta overflows in fewer rounds.
MIN_BETA = 1e-6

#: The largest size of one array an experiment may ask for (the same as an instance's).
MAX_ENTRIES = instances.MAX_TABLE_ENTRIES

#: How an experiment's argument is checked, by its name: the widest range any experiment accepts
#: for it. Every size has an upper limit, the engine's or an instance's, so that a request too
#: large to run is reported rather than attempted. An experiment that needs more (``seeds >= 2``
#: for a band, ``kappa0 < K``, a calibration point on its grid, a product of sizes) checks that
#: in its body.
ARGUMENTS: Mapping[str, Callable] = {
    "seed": lambda value: check.check_seed("seed", value),
    "seeds": _int("seeds", 1, dynamics.MAX_SEEDS),
    "num_prompts": _int("num_prompts (m)", 1, MAX_ENTRIES),
    "num_responses": _int("num_responses (K)", 2, MAX_ENTRIES),
    "T": _int("T (number of rounds)", 1, dynamics.MAX_ROUNDS),
    "T_population": _int("T_population", 1, dynamics.MAX_ROUNDS),
    "n": _int("n (triples per round)", 1, dynamics.MAX_TRIPLES),
    "pooled_n": _int("pooled_n", 1, dynamics.MAX_TRIPLES),
    "n_values": _ints("n_values", 1, dynamics.MAX_TRIPLES),
    "totals": _ints("totals", 1, dynamics.MAX_TRIPLES),
    "rounds": _ints("rounds", 1, dynamics.MAX_ROUNDS),
    "pooled_rounds": _ints("pooled_rounds", 1, dynamics.MAX_ROUNDS),
    "dimensions": _ints("dimensions", 1, MAX_ENTRIES),
    "tied": _ints("tied", 2, MAX_ENTRIES),
    "k": _int("k (number of informative prompts)", 1, MAX_ENTRIES),
    "M": _int("M (number of informative responses)", 2, MAX_ENTRIES),
    "dimension": _int("dimension", 1, MAX_ENTRIES),
    "vocabulary": _int("vocabulary (V)", 2, MAX_ENTRIES),
    "length": _int("length (L)", 1, MAX_ENTRIES.bit_length()),
    "samples": _int("samples", 1, MAX_ENTRIES),
    "models": _int("models", 1, MAX_ENTRIES),
    "draws": _int("draws", 1, dynamics.MAX_SEEDS),
    "doublings": _int("doublings", 1, 60),
    "rate_rounds": _int("rate_rounds", 1, dynamics.MAX_ROUNDS),
    "beta": lambda value: check.check_at_least("beta", value, MIN_BETA),
    "constant_beta": lambda value: check.check_at_least("constant_beta", value, MIN_BETA),
    "betas": _numbers("betas", MIN_BETA),
    "scales": _numbers("scales", 0.0, open_low=True),
    "kappa0": lambda value: check.check_open_interval("kappa0", value, 1.0, math.inf),
    "kappa0s": _numbers("kappa0s", 1.0),
    "threshold": lambda value: check.check_open_interval("threshold", value, 0.0, 1.0),
    "thresholds": _numbers("thresholds", 0.0, 1.0, open_low=True, open_high=True),
    "delta": lambda value: check.check_open_interval("delta", value, 0.0, 1.0),
    "levels": _numbers("levels", 0.0, 1.0, open_low=True, open_high=True),
    "log_class_size": lambda value: check.check_non_negative("log_class_size", value),
    "log_class_sizes": _numbers("log_class_sizes", 0.0),
    "initial_agreement": lambda value: check.check_interval("initial_agreement", value,
                                                            0.0, 1.0),
    "agreements": _numbers("agreements", 0.0, 1.0),
    "noises": _numbers("noises", 0.0),
    "biases": _numbers("biases", 0.0),
    "temperature": lambda value: check.check_positive("temperature", value),
    "temperatures": _numbers("temperatures", 0.0, open_low=True),
    "p_values": _numbers("p_values", 0.0, 0.5),
    "leads": _numbers("leads", 0.0, open_low=True),
    "gamma0s": _numbers("gamma0s", 0.0, open_low=True),
    "radius_ratios": _numbers("radius_ratios", 1.0, open_low=True),
    "height": _logit("height"),
    "bump_height": _logit("bump_height"),
    "Delta": lambda value: check.check_open_interval("Delta", value, 0.0, 1.0),
    "gamma_bar": lambda value: check.check_open_interval("gamma_bar", value, 0.0, 1.0),
    "alpha": lambda value: check.check_positive("alpha (spectral decay rate)", value),
    "alphas": _numbers("alphas", 0.0, open_low=True),
    "learning_rate": lambda value: check.check_positive("learning_rate", value),
    "output_scale": lambda value: check.check_positive("output_scale", value),
    "calibration": _numbers("calibration", 0.0, open_low=True),
    "prototype": lambda value: check.check_bool("prototype", value),
}


def experiment(function: Callable | None = None, /, **own: Callable) -> Callable:
    """Make ``function`` an experiment's entry point: every argument, given or default, is
    checked by its name (:data:`ARGUMENTS`, or ``own`` for a name whose meaning is the
    experiment's own) before the body runs, and the body receives what the check returns (a
    Python ``int`` or ``float``, a list for a sequence), so it converts nothing itself. The
    kit's functions the body calls trust what it passes them rather than checking it again. A
    parameter with no check is an error when the module is imported."""

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        checks = {**ARGUMENTS, **own}
        missing = [name for name in signature.parameters if name not in checks]
        if missing:
            raise TypeError(f"{function.__qualname__}: no check for the arguments {missing}; "
                            "add them to srlm_kit.experiments.common.ARGUMENTS or pass them "
                            "to experiment()")

        @functools.wraps(function)
        def checked(*args, **kwargs):
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:
                raise TypeError(f"{function.__name__}: {error}") from None
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                bound.arguments[name] = checks[name](value)
            check_table_shape(bound.arguments)
            return function(*bound.args, **bound.kwargs)

        return check.entry_point(checked)

    return decorate if function is None else decorate(function)


#: The arguments that shape the table (and the features) of the instance an experiment builds:
#: prompts x responses (x feature dimension), each named as the experiment's argument.
TABLE_SHAPE = {"num_prompts": "num_prompts (m)", "num_responses": "num_responses (K)",
               "dimension": "dimension (d)", "dimensions": "dimensions (d)"}


def check_table_shape(arguments: Mapping) -> None:
    """The instance an experiment builds from its (checked) ``arguments`` fits in
    :data:`MAX_ENTRIES`: the product of the sizes in :data:`TABLE_SHAPE` that the experiment
    takes, each at its largest (a list of sizes counts by its largest)."""
    sizes = {label: max(np.atleast_1d(arguments[name]).tolist())
             for name, label in TABLE_SHAPE.items() if name in arguments}
    if len(sizes) > 1:
        check.check_entries(sizes, MAX_ENTRIES)


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



@check.checker(lambda *sizes: None)
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
