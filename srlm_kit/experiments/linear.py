"""Numbers behind chapter 7, "Linear softmax models".

The linear softmax class (the paper's Definition 6.1) scores a response by ``<theta, phi(x, y)>``
with features ``phi(x, y)`` in R^d. One round of self-rewarding in this class is a least-squares
problem in ``theta``: with ``D`` the matrix of sampled feature differences, the square loss is
``||beta D w - D theta_t||^2`` (``w = theta - theta_t``), and the minimum-norm minimiser gives
``theta_{t+1} = theta_t + P_D theta_t / beta``, ``P_D`` the orthogonal projection onto the row
space of ``D`` (:func:`srlm_kit.theory.linear.linear_erm_step` derives it). The exact, infinite-data
update is ``theta_{t+1} = (1 + 1/beta) theta_t``. [reconstructed, :ref:`recovered-gibbs`,
:ref:`recovered-book-own`]

Three experiments, each one function returning a labelled grid (see
:mod:`srlm_kit.figures.core`), and one table of numbers:

* :func:`linear_rounds`: the book's toy B (:ref:`recovered-book-own`), random unit features in
  R^d with d larger than the per-round sample size n. Per round: the dimension of the span of
  all feature differences seen so far (coverage), the fraction of the exact update a round
  captures, the failure probability, the condition number, the agreement of the mode with the
  initial mode, and the parameter norm; beside them the exact update, and the round at which
  the parameter leaves a ball of radius R (Assumption 5.1) against
  ``log(R/||theta_0||)/log(1 + 1/beta)``;
* :func:`linear_dimension_sweep`: the failure probability after T rounds against d at a fixed n,
  for isotropic features and for features whose covariance spectrum decays exponentially
  (Corollary 6.4);
* :func:`effective_dimension_grid`: the effective dimension ``d_eff(lambda)`` of the spectrum
  ``nu_j = e^(-omega j)`` against d, and its bounds.

The runs are the kit's own (:func:`srlm_kit.dynamics.run`); :func:`simulate_linear` asks it to
record every round's parameter and sampled triples, from which the coverage is computed.

The paper has no experiments; every instance here is the book's [reconstructed,
:ref:`recovered-book-own`]. Bands are mean ± one standard deviation over seeds, clipped to the
range the seeds reached. The algebra of the linear class is in :mod:`srlm_kit.theory`
(:func:`srlm_kit.theory.linear.linear_erm_step`, :func:`srlm_kit.theory.linear.erm_norm_growth`,
:func:`srlm_kit.theory.linear.realizability_derivation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, dynamics, instances
from srlm_kit.experiments.common import band, experiment, labelled_grid, running_min_over_seeds

#: Toy B: prompts, responses per prompt, feature dimension.
NUM_PROMPTS = 100
NUM_RESPONSES = 10
DIMENSION = 200
#: Initial condition number of every start of this module (theta_0 is scaled to reach it).
KAPPA0 = 2.5
#: Ball radii of the realizability figure, as multiples of ||theta_0||: 10^(k/8), k = 1..24.
RADIUS_RATIOS = tuple(float(f"{10 ** (k / 8):.4g}") for k in range(1, 25))
#: Failure threshold (the paper's 1/2).
THRESHOLD = 0.5
#: Relative tolerance of the rank of a set of feature differences (coverage).
RANK_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------------
# T rounds
# --------------------------------------------------------------------------------------------


class LinearRun(NamedTuple):
    """The rounds of :func:`simulate_linear`, leading axis = seeds (NumPy arrays).

    Round-indexed fields have length ``T + 1`` (rounds ``0..T``); the triples have length ``T``
    (entry ``t`` is the data of the step from ``theta_t`` to ``theta_{t+1}``) and ``n`` triples
    each (more with an explicit ``shape``, of which the first ``n`` are real: ``mask``).
    """

    thetas: np.ndarray  # (seeds, T + 1, d)
    x: np.ndarray  # (seeds, T, n)
    y: np.ndarray
    y_prime: np.ndarray
    mask: np.ndarray
    kappa: np.ndarray  # (seeds, T + 1)
    failure: np.ndarray
    target_failure: np.ndarray
    agreement: np.ndarray
    mu: np.ndarray
    gamma: np.ndarray
    theta_norm: np.ndarray


def simulate_linear(key, instance: instances.LinearInstance, *, n: int, T: int, beta: float,
                    seeds: int = 1, update: str = "erm", threshold: float = THRESHOLD,
                    shape: dynamics.Shape | None = None) -> LinearRun:
    """Run ``T`` rounds of self-rewarding in the linear softmax class, for ``seeds`` seeds.

    :func:`srlm_kit.dynamics.run` on a linear instance, recording every round's parameter and
    every step's triples (``keep_parameters``, ``keep_triples``), returned as NumPy arrays,
    rounds ``0..T``. Keys and determinism are those of :func:`srlm_kit.dynamics.run`; the
    parameter is rescaled beyond ``dynamics.THETA_SATURATION``. Every step of the population
    update draws no data (its ``mask`` is False). ``agreement`` is measured against
    ``instance.labels`` (0 where there are none). ``shape`` is passed to
    :func:`srlm_kit.dynamics.run` (one compiled simulation for a range of n, for a live
    explorer); the triples then have the shape's data length.

    Raises ValueError naming the parameter for ``n < 1``, ``T < 0``, ``beta <= 0``,
    ``seeds < 1``, an unknown update, a threshold outside (0, 1) or a shape smaller than n or T;
    TypeError for an instance that is not linear.
    """
    if not isinstance(instance, instances.LinearInstance):
        raise TypeError("instance must be a LinearInstance (srlm_kit.instances.linear), got "
                        f"{type(instance).__name__}")
    run = dynamics.run(key, instance, n=n, T=T, beta=beta, seeds=seeds, update=update,
                       threshold=threshold, keep_parameters=True, keep_triples=True,
                       shape=shape)
    # With an explicit shape the engine returns every simulated round; keep rounds 0..T.
    thetas = np.asarray(run.parameters)[:, :T + 1]
    return LinearRun(thetas, *(np.asarray(part)[:, :T] for part in run.triples),
                     *(np.asarray(getattr(run, name))[:, :T + 1] for name in (
                         "kappa", "failure", "target_failure", "agreement", "mu", "gamma")),
                     np.linalg.norm(thetas, axis=-1))


# --------------------------------------------------------------------------------------------
# What a run covers
# --------------------------------------------------------------------------------------------


def coverage_dimensions(features, run: LinearRun, *, tolerance: float = RANK_TOLERANCE
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``(cumulative, per_round)`` ranks of the sampled feature differences, shape
    ``(seeds, T + 1)``.

    ``cumulative[s, t]`` is the dimension of the span of every difference
    ``phi(x, y) - phi(x, y')`` sampled in the first ``t`` updates (0 at ``t = 0``);
    ``per_round[s, t]`` the rank of the differences of update ``t`` alone (0 at ``t = 0``). The
    span is grown one round at a time: the new differences are projected off the directions
    already covered, and the singular values of the remainder above ``tolerance`` times the
    largest (at least 1) count as new directions. NumPy, float64.
    """
    features = np.asarray(features, dtype=np.float64)
    d = features.shape[-1]
    seeds, rounds, _ = run.x.shape
    cumulative = np.zeros((seeds, rounds + 1), dtype=int)
    per_round = np.zeros((seeds, rounds + 1), dtype=int)
    for seed in range(seeds):
        basis = np.zeros((d, 0))
        for t in range(rounds):
            keep = run.mask[seed, t] & (run.y[seed, t] != run.y_prime[seed, t])
            x, y, y_prime = run.x[seed, t][keep], run.y[seed, t][keep], run.y_prime[seed, t][keep]
            differences = features[x, y] - features[x, y_prime]
            if differences.shape[0]:
                singular = np.linalg.svd(differences, compute_uv=False)
                per_round[seed, t + 1] = int(np.sum(singular > tolerance * max(1.0,
                                                                                singular[0])))
                remainder = differences - (differences @ basis) @ basis.T
                _, singular, right = np.linalg.svd(remainder, full_matrices=False)
                new = singular > tolerance * max(1.0, singular[0])
                basis = np.concatenate([basis, right[new].T], axis=1)
            cumulative[seed, t + 1] = basis.shape[1]
    return cumulative, per_round


def step_capture(thetas, beta: float) -> np.ndarray:
    """``||P_{D_t} theta_t|| / ||theta_t||`` for each update, read off consecutive ERM parameters.

    The ERM step is ``theta_{t+1} - theta_t = P_{D_t} theta_t / beta``, so the fraction of the
    exact step ``theta_t / beta`` that a round captures is ``beta ||theta_{t+1} - theta_t|| /
    ||theta_t||``: 1 exactly when the round equals the exact update, 0 when it changes nothing.
    Shape ``(..., T)`` for ``thetas`` of shape ``(..., T + 1, d)``. Valid while no
    parameter was rescaled (norms below ``dynamics.THETA_SATURATION``): ValueError otherwise.
    """
    thetas = np.asarray(thetas, dtype=np.float64)
    norms = np.linalg.norm(thetas, axis=-1)
    if np.any(norms[..., 1:] >= dynamics.THETA_SATURATION * (1 - 1e-12)):
        raise ValueError("thetas were rescaled at dynamics.THETA_SATURATION; the captured "
                         "fraction cannot be read off them (each round can grow theta by a "
                         "factor 1 + 1/beta: take a larger beta or fewer rounds T)")
    steps = np.linalg.norm(np.diff(thetas, axis=-2), axis=-1)
    return beta * steps / norms[..., :-1]


def exit_rounds(norms, radius) -> np.ndarray:
    """First round ``t`` with ``||theta_t|| > R``, for each radius R (last axis of the result).

    ``norms`` has the round axis last; ``radius`` is a 1-D array. Returns a float array of shape
    ``norms.shape[:-1] + radius.shape``, with NaN where the norm never exceeds the radius within
    the rounds given.
    """
    norms = np.asarray(norms, dtype=np.float64)
    radius = np.asarray(radius, dtype=np.float64)
    outside = norms[..., None, :] > radius[:, None]
    first = np.argmax(outside, axis=-1).astype(float)
    return np.where(outside.any(axis=-1), first, np.nan)


# --------------------------------------------------------------------------------------------
# Experiment 1: toy B, d larger than n
# --------------------------------------------------------------------------------------------


def _with_round_zero(values: np.ndarray, fill: float) -> np.ndarray:
    """Per-update values (last axis t = 1..T) with an entry for round 0 in front."""
    return np.concatenate([np.full(values.shape[:-1] + (1,), fill), values], axis=-1)


def toy_b_start(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                num_responses: int = NUM_RESPONSES, dimension: int = DIMENSION,
                kappa0: float = KAPPA0) -> instances.LinearInstance:
    """The start of :func:`linear_rounds` for the same arguments:
    :func:`srlm_kit.instances.linear_starts` with
    random unit features from ``jax.random.split(jax.random.key(seed))[0]``."""
    key_start, _ = jax.random.split(jax.random.key(seed))
    ((start, _),) = instances.linear_starts(key_start, num_prompts=num_prompts,
                                  num_responses=num_responses, dimensions=[dimension],
                                  kappa0=kappa0)
    return start


@experiment
def linear_rounds(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                  num_responses: int = NUM_RESPONSES, dimension: int = DIMENSION,
                  kappa0: float = KAPPA0, n_values: Sequence[int] = (20, 40, 80, 160),
                  betas: Sequence[float] = (0.1, 0.5, 2.0), T: int = 8, seeds: int = 8,
                  radius_ratios: Sequence[float] = RADIUS_RATIOS, T_population: int = 20
                  ) -> xr.Dataset:
    """Toy B: the rounds of self-rewarding in a linear class whose dimension exceeds n.

    Instance: :func:`toy_b_start` (random unit features, ``num_prompts`` prompts,
    ``num_responses`` responses, dimension ``dimension``, ``kappa(pi_0) = kappa0``, from
    ``jax.random.split(jax.random.key(seed))[0]``); the runs use ``[1]`` (seeds shared across
    the grid). For every n in ``n_values`` and beta in ``betas``: ``T`` rounds of the ERM update,
    ``seeds`` seeds; and the exact update for ``T_population`` rounds.

    Fields over ``[n, beta, t]`` (``t = 0..T``; "update t" leads from round t - 1 to round t):
    ``coverage`` (with a ``band`` axis: mean, lower, upper over seeds), the dimension of the span of
    the differences of updates ``1..t`` over d; ``capture`` (band), the fraction ``||P_D theta|| /
    ||theta||`` of the exact step that update t captures (NaN at t = 0); ``informative_mean``, the
    fraction of the n pairs of update t with ``y != y'``; ``failure``, ``kappa``, ``agreement``
    (fraction of prompts whose mode is the initial mode) and ``norm_ratio`` (bands)
    (``||theta_t||/||theta_0||``; also ``norm_ratio_max``, the largest over seeds); ``mu_min`` and
    ``gamma_min``, the minimum confidence and margin over seeds and rounds ``0..t``. Over ``[n,
    t]``: ``coverage_ceiling`` = ``min(1, t n/d)``. Over ``[beta, t]``: ``population_failure``,
    ``population_kappa``, ``population_norm_ratio``.

    Realizability, over ``[beta, ratio]`` with ratio = ``R/||theta_0||`` in ``radius_ratios``:
    ``horizon`` = :func:`srlm_kit.bounds.realizability_horizon`, ``population_exit`` (measured
    first round with ``||theta_t|| > R``, exact update); over ``[n, beta, ratio, band]``:
    ``erm_exit``, the same for the ERM runs (mean, min and max over seeds; NaN where some seed
    stayed inside for all T rounds). ``attrs``: the settings, the start's numbers and
    ``population_exit_formula``.
    """
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    ratios = check.check_increasing_floats("radius_ratios", radius_ratios, 1.0, open_low=True)
    start = toy_b_start(seed=seed, num_prompts=num_prompts, num_responses=num_responses,
                        dimension=dimension, kappa0=kappa0)
    _, key_runs = jax.random.split(jax.random.key(seed))
    theta0_norm = float(jnp.linalg.norm(start.theta))
    # An exit is seen at a norm of at most (1 + 1/beta) R, which must stay below the level at
    # which the simulation rescales the parameter.
    if max(ratios) * theta0_norm * (1.0 + 1.0 / min(betas)) >= dynamics.THETA_SATURATION:
        raise ValueError("radius_ratios must keep (1 + 1/beta) R below the kit's rescaling "
                         f"level dynamics.THETA_SATURATION = {dynamics.THETA_SATURATION:g} "
                         f"(||theta_0|| = {theta0_norm:.4g})")
    shape = (len(n_values), len(betas))
    per_round = {name: np.zeros(shape + (seeds, T + 1)) for name in (
        "coverage", "capture", "informative", "failure", "kappa", "agreement", "norm_ratio",
        "mu", "gamma")}
    erm_exit = np.zeros(shape + (seeds, len(ratios)))
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            run = simulate_linear(key_runs, start, n=n, T=T, beta=beta, seeds=seeds)
            cumulative, _ = coverage_dimensions(start.features, run)
            informative = (run.mask & (run.y != run.y_prime)).sum(axis=-1) / n
            per_round["coverage"][i, j] = cumulative / dimension
            per_round["capture"][i, j] = _with_round_zero(step_capture(run.thetas, beta),
                                                          np.nan)
            per_round["informative"][i, j] = _with_round_zero(informative, np.nan)
            for name in ("failure", "kappa", "agreement", "mu", "gamma"):
                per_round[name][i, j] = getattr(run, name)
            per_round["norm_ratio"][i, j] = run.theta_norm / theta0_norm
            erm_exit[i, j] = exit_rounds(run.theta_norm, np.asarray(ratios) * theta0_norm)

    # The exact update is the kit's own (dynamics.run; no least-squares step is involved).
    population = [dynamics.run(key_runs, start, n=1, T=T_population, beta=beta,
                               update="population", threshold=THRESHOLD) for beta in betas]
    population_norms = np.stack([np.asarray(run.theta_norm)[0] for run in population])
    population_exit = exit_rounds(population_norms, np.asarray(ratios) * theta0_norm)

    seed_axis = 2
    out = {}
    for name in ("coverage", "capture", "failure", "kappa", "agreement", "norm_ratio"):
        values = per_round[name]
        if name == "capture":  # no update leads to round 0
            out[name] = np.full(values.shape[:2] + (T + 1, 3), np.nan)
            out[name][..., 1:, :] = band(values[..., 1:], seed_axis)
        else:
            out[name] = band(values, seed_axis)
    out["informative_mean"] = per_round["informative"].mean(axis=seed_axis)
    out["norm_ratio_max"] = per_round["norm_ratio"].max(axis=seed_axis)
    out["mu_min"] = running_min_over_seeds(per_round["mu"], seed_axis)
    out["gamma_min"] = running_min_over_seeds(per_round["gamma"], seed_axis)
    rounds = np.arange(T + 1)
    out["coverage_ceiling"] = np.minimum(1.0, np.outer(n_values, rounds) / dimension)
    out["population_failure"] = np.stack([np.asarray(run.failure)[0, :T + 1]
                                          for run in population])
    out["population_kappa"] = np.stack([np.asarray(run.kappa)[0, :T + 1] for run in population])
    out["population_norm_ratio"] = population_norms[:, :T + 1] / theta0_norm
    out["horizon"] = bounds.realizability_horizon(np.asarray(ratios)[None, :],
                                           np.asarray(betas)[:, None])
    out["population_exit"] = population_exit
    # NaN (some seed never left the ball within T rounds) propagates: the point is not drawn.
    # The band of the exits is the range over seeds (mean, min, max).
    out["erm_exit"] = np.stack([erm_exit.mean(axis=seed_axis), erm_exit.min(axis=seed_axis),
                                erm_exit.max(axis=seed_axis)], axis=-1)

    dims = {"coverage_ceiling": ["n", "t"], "horizon": ["beta", "ratio"],
            "population_exit": ["beta", "ratio"], "erm_exit": ["n", "beta", "ratio", "band"]}
    for name in ("coverage", "capture", "failure", "kappa", "agreement", "norm_ratio"):
        dims[name] = ["n", "beta", "t", "band"]
    for name in out:
        if name.startswith("population_") and name != "population_exit":
            dims[name] = ["beta", "t"]
        dims.setdefault(name, ["n", "beta", "t"])
    return labelled_grid(
        {"n": n_values, "beta": betas, "t": list(range(T + 1)), "ratio": ratios},
        {name: (dims[name], values) for name, values in out.items()},
        attrs={
            "seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
            "dimension": dimension, "kappa0": float(per_round["kappa"][0, 0, 0, 0]),
            "theta0_norm": theta0_norm, "failure0": float(per_round["failure"][0, 0, 0, 0]),
            "gamma0": float(per_round["gamma"][0, 0, 0, 0]),
            "mu0": float(per_round["mu"][0, 0, 0, 0]),
            "T": T, "T_population": T_population, "seeds": seeds,
            "threshold": THRESHOLD,
            "population_exit_formula": bounds.population_exit_round(
                np.asarray(ratios)[None, :], np.asarray(betas)[:, None]).tolist(),
        })


# --------------------------------------------------------------------------------------------
# Experiment 2: failure against the dimension, isotropic and decaying spectra
# --------------------------------------------------------------------------------------------

SPECTRA = ("isotropic", "exponential")


@experiment
def linear_dimension_sweep(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                           num_responses: int = NUM_RESPONSES,
                           dimensions: Sequence[int] = (10, 20, 40, 80, 160, 320),
                           alpha: float = 0.3, n: int = 40, beta: float = 0.5, T: int = 4,
                           seeds: int = 8, draws: int = 3, kappa0: float = KAPPA0,
                           delta: float = 0.05) -> xr.Dataset:
    """Failure probability after T rounds against the feature dimension d at a fixed n.

    Two spectra (coordinate ``spectrum``): ``"isotropic"`` (random unit features, covariance
    ``I/d``) and ``"exponential"`` (:func:`srlm_kit.instances.decaying_spectrum_features` with
    decay rate ``alpha``). For each spectrum and d, ``draws`` independent instances
    (:func:`srlm_kit.instances.linear_starts` with ``kappa(pi_0) = kappa0``: the d's of one draw
    are nested, :func:`srlm_kit.instances.nested_features`, and padded to the largest d so that one
    compiled simulation serves
    all), each run for ``seeds`` seeds; key ``jax.random.key(seed)``.

    Fields over ``[spectrum, d, t]``: ``failure`` (with a ``band`` axis) over draws and seeds;
    ``shape_dimension`` and
    ``shape_deff``, the simulated failure at the smallest d times ``d/d_min`` (Theorem 6.2's
    dependence on d) and times ``d_eff/d_eff(d_min)`` (Corollary 6.4's), NaN at t = 0;
    ``theorem_6_2`` the bound with every hidden constant 1 at the instances' mu, gamma and
    kappa0 (minimum over draws and seeds; radius the largest norm reached times ``1 + 1/beta``;
    ``delta``), NaN at t = 0. Over ``[spectrum, d]``: ``deff``, the ridge effective dimension
    ``d_eff(1/n)`` of the feature covariance (mean over draws); ``capture_first_min``, the
    smallest fraction of the exact step captured by the first round (:func:`step_capture`; 1
    when every first round equals the exact update).
    """
    dimensions = check.check_increasing_ints("dimensions", dimensions)
    key_starts, key_runs = jax.random.split(jax.random.key(seed))
    grid_shape = (len(SPECTRA), len(dimensions), draws)
    failure = np.zeros(grid_shape + (seeds, T + 1))
    capture_first = np.zeros(grid_shape + (seeds,))
    deff = np.zeros(grid_shape)
    mu_min, gamma_min, kappa_start, largest_norm = (np.zeros(grid_shape) for _ in range(4))
    for draw, draw_key in enumerate(jax.random.split(key_starts, draws)):
        for spectrum, name in enumerate(SPECTRA):
            starts = instances.linear_starts(draw_key, num_prompts=num_prompts,
                                   num_responses=num_responses, dimensions=dimensions,
                                   kappa0=kappa0, alpha=None if name == "isotropic" else alpha)
            for d_index, (start, eigenvalues) in enumerate(starts):
                index = (spectrum, d_index, draw)
                run = simulate_linear(key_runs, start, n=n, T=T, beta=beta, seeds=seeds)
                failure[index] = run.failure
                capture_first[index] = step_capture(run.thetas, beta)[:, 0]
                deff[index] = bounds.effective_dimension(eigenvalues, 1.0 / n)
                mu_min[index], gamma_min[index] = run.mu.min(), run.gamma.min()
                kappa_start[index] = run.kappa[0, 0]
                largest_norm[index] = run.theta_norm.max()

    flat = failure.reshape(len(SPECTRA), len(dimensions), draws * seeds, T + 1)
    failure_band = band(flat, 2)
    mean = failure_band[..., 0]
    deff_mean = deff.mean(axis=-1)
    d_array = np.asarray(dimensions, dtype=float)
    rounds = np.arange(T + 1)
    shape_dimension = mean[:, :1, :] * (d_array / d_array[0])[None, :, None]
    shape_deff = mean[:, :1, :] * (deff_mean / deff_mean[:, :1])[:, :, None]
    defined = rounds >= 1
    bound = np.full(mean.shape, np.nan)
    for spectrum, d_index in np.ndindex(len(SPECTRA), len(dimensions)):
        radius = (1.0 + 1.0 / beta) * float(largest_norm[spectrum, d_index].max())
        bound[spectrum, d_index, 1:] = bounds.theorem_6_2_bound(
            n, rounds[1:], dimension=dimensions[d_index], radius=radius, delta=delta,
            gamma=float(gamma_min[spectrum, d_index].min()),
            mu=float(mu_min[spectrum, d_index].min()),
            kappa0=float(kappa_start[spectrum, d_index].max()))
    fields = {
        "shape_dimension": np.where(defined, shape_dimension, np.nan),
        "shape_deff": np.where(defined, shape_deff, np.nan),
        "theorem_6_2": bound,
    }
    per_instance = {"deff": deff_mean, "capture_first_min": capture_first.min(axis=(2, 3)),
                    "gamma_min": gamma_min.min(axis=-1), "mu_min": mu_min.min(axis=-1)}
    return labelled_grid(
        {"spectrum": list(SPECTRA), "d": dimensions, "t": list(range(T + 1))},
        {"failure": (["spectrum", "d", "t", "band"], failure_band),
         **{name: (["spectrum", "d", "t"], values) for name, values in fields.items()},
         **{name: (["spectrum", "d"], values) for name, values in per_instance.items()}},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "alpha": alpha, "n": n, "beta": beta, "T": T, "seeds": seeds,
               "draws": draws, "kappa0": kappa0, "delta": delta, "threshold": THRESHOLD})


# --------------------------------------------------------------------------------------------
# Experiment 3: effective dimension of an exponentially decaying spectrum
# --------------------------------------------------------------------------------------------

#: Dimensions of the effective-dimension figure: about 5 per decade from 1 to 10^4.
EFFECTIVE_DIMENSIONS = tuple(sorted({int(round(10 ** (k / 5))) for k in range(21)}))


@experiment
def effective_dimension_grid(*, seed: int = 0, alphas: Sequence[float] = (0.03, 0.1, 0.3, 1.0),
                             n_values: Sequence[int] = (100, 1000, 10_000, 100_000),
                             dimensions: Sequence[int] = EFFECTIVE_DIMENSIONS) -> xr.Dataset:
    """The effective dimension ``d_eff(1/n)`` of ``nu_j = e^(-omega j)``, j = 1..d, against d.

    Fields over ``[alpha, n, d]`` (``alpha`` is omega): ``deff``
    (:func:`srlm_kit.bounds.effective_dimension` at the ridge ``lambda = 1/n``, the natural
    choice; the paper's was not recovered [reconstructed, :ref:`recovered-cor-6-4`]);
    ``termwise`` (``sum_j min(1, nu_j/lambda)``, Eq. 149); ``exponential_bound``
    (``(1/omega) log(n) + 1/(1 - e^(-omega))``, regime (A) with S = 1, the same for every d).
    Over ``[d]``: ``ambient`` = d. Nothing is random: ``seed`` is accepted for the common
    interface and unused.
    """
    alphas = check.check_increasing_floats("alphas", alphas, 0.0, open_low=True)
    dimensions = check.check_increasing_ints("dimensions", dimensions)
    shape = (len(alphas), len(n_values), len(dimensions))
    deff, termwise, bound = (np.zeros(shape) for _ in range(3))
    for i, alpha in enumerate(alphas):
        spectrum = instances.exponential_spectrum(max(dimensions), alpha)
        for j, n in enumerate(n_values):
            for k, d in enumerate(dimensions):
                deff[i, j, k] = bounds.effective_dimension(spectrum[:d], 1.0 / n)
                termwise[i, j, k] = bounds.effective_dimension_termwise_bound(spectrum[:d],
                                                                              1.0 / n)
            bound[i, j, :] = bounds.effective_dimension_exponential_bound(1.0 / n, 1.0, alpha)
    grid = ["alpha", "n", "d"]
    return labelled_grid(
        {"alpha": alphas, "n": n_values, "d": dimensions},
        {"deff": (grid, deff), "termwise": (grid, termwise), "exponential_bound": (grid, bound),
         "ambient": (["d"], dimensions)},
        attrs={"seed": seed, "scale": 1.0})


