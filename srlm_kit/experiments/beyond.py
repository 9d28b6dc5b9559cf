"""Numbers behind chapter 8, "Experiments the paper does not run".

The paper has no experiments; its ICLR reviewers asked for some (:ref:`recovered-reviews`). Five
studies, each one function returning a labelled grid (see :mod:`srlm_kit.figures.core`):

* :func:`population_versus_samples` (a): the exact update sharpens doubly exponentially,
  ``pi_T ∝ pi_0^((1+1/beta)^T)``, while the transient factor of Theorem 5.3 decays singly
  exponentially; finite-sample runs at several n;
* :func:`consistency_not_correctness` (b): external labels that agree with the initial mode on a
  fraction p of prompts; self-rewarding never moves the agreement towards the labels;
* :func:`judge_bias_and_noise` (c): a separate judge (quality + a length bias + fresh noise)
  as the reward in the same loop; when iterating helps, when it amplifies the bias;
* :func:`margin_collapse` (d): starts with near-ties, so that the margin gamma and the
  confidence mu are small; the Theorem 5.3 bound against the measured failure;
* :func:`beta_regimes` (e): ``beta = a/sqrt(n)``, the paper's regime, against ``beta = 0.5``.

All runs go through :func:`srlm_kit.dynamics.run` with ``keep_logits=True`` (:func:`simulate`),
by default on ``NUM_PROMPTS`` prompts and ``NUM_RESPONSES`` responses, ``T = 8`` rounds and
8 seeds.

Beside the experiments, this module holds what they need and the kit did not have (the excess
condition number ``kappa - 1`` without cancellation is :func:`~srlm_kit.metrics.condition_excess`):
the near-tie initialisation (:func:`near_tie`). The algebra behind them is in
:mod:`srlm_kit.theory` (:func:`srlm_kit.theory.sharpening.bump_population_excess`,
:func:`srlm_kit.theory.sharpening.judge_composition`,
:func:`srlm_kit.theory.sharpening.near_tie_rounds`,
:func:`srlm_kit.theory.sharpening.coverage_derivation`); the coverage prediction for a small beta is
:func:`srlm_kit.bounds.coverage_failure`.

Bands are mean ± one standard deviation over seeds, clipped to the range the seeds reached.
Every instance here is the book's, not the paper's [reconstructed, :ref:`recovered-book-own`].
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, checks, dynamics, instances, metrics
from srlm_kit.experiments.common import (
    band,
    labelled_grid,
    running_min_over_seeds,
)
from srlm_kit.policies import log_policy

#: The instance size of this module's experiments.
NUM_PROMPTS = 100
NUM_RESPONSES = 20
#: The bump of experiments (a) and (e): kappa_0 = 1 + (K - 1)/2 = 10.5 for K = 20.
BUMP_HEIGHT = math.log(2.0)
#: Failure threshold (the paper's 1/2) and confidence of the bounds.
THRESHOLD = 0.5
DELTA = 0.05


# --------------------------------------------------------------------------------------------
# Helpers: checks, metrics over leading axes, runs
# --------------------------------------------------------------------------------------------


def _check_run_sizes(num_prompts, num_responses, T, seeds) -> None:
    check.check_int("num_prompts", num_prompts, minimum=1)
    check.check_int("num_responses", num_responses, minimum=3)
    check.check_int("T (number of rounds)", T, minimum=1)
    check.check_int("seeds", seeds, minimum=1)


@functools.cache
def _batched(function, count: int):
    """``function`` vmapped over its first argument (a stack of tables) and compiled, once."""
    return jax.jit(jax.vmap(function, in_axes=(0,) + (None,) * count))


def _vmap_leading(function, logits, *arguments) -> np.ndarray:
    """Apply ``function(logits_table, *arguments)`` to every ``(m, K)`` table of ``logits``."""
    logits = jnp.asarray(logits)
    leading = logits.shape[:-2]
    flat = logits.reshape((-1,) + logits.shape[-2:])
    values = _batched(function, len(arguments))(flat, *(jnp.asarray(a) for a in arguments))
    return np.asarray(values).reshape(leading + values.shape[1:])


def simulate(key, instance, *, n: int, beta: float, T: int = 8, seeds: int = 8, judge=None,
             shape: dynamics.Shape | None = None) -> dynamics.Trajectory:
    """One call of the engine, :func:`srlm_kit.dynamics.run`, with the logits kept: rounds
    ``0..T`` (every simulated round when a ``shape`` is given, as :func:`srlm_kit.dynamics.run`
    does)."""
    return dynamics.run(key, instance, n=int(n), T=T, beta=float(beta), seeds=seeds,
                        threshold=THRESHOLD, keep_logits=True, judge=judge, shape=shape)


def population_logits(logits, beta: float, T: int, reward=None) -> np.ndarray:
    """The exact (infinite-data) iterates ``log pi_0 .. log pi_T``, shape ``(T + 1, m, K)``.

    Repeated :func:`srlm_kit.dynamics.population_update` (``pi_{t+1} ∝ pi_t^(1+1/beta)``, or
    ``∝ pi_t exp(r/beta)`` with a fixed ``reward`` table).
    """
    current = log_policy(jnp.asarray(logits, dtype=jnp.float64))
    out = [current]
    for _ in range(T):
        current = dynamics.population_update(current, beta, reward)
        out.append(current)
    return np.asarray(jnp.stack(out))


def _grid(coords: dict, fields: dict[str, tuple[list[str], np.ndarray]], params: dict
          ) -> xr.Dataset:
    return labelled_grid(coords, fields, attrs=params)


# --------------------------------------------------------------------------------------------
# (a) Population versus finite samples
# --------------------------------------------------------------------------------------------


def population_versus_samples(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                              num_responses: int = NUM_RESPONSES, height: float = BUMP_HEIGHT,
                              n_values=(100, 200, 400, 800, 1600, 3200),
                              betas=(0.1, 0.5, 1.0), T: int = 8, seeds: int = 8,
                              rate_rounds: int = 3) -> xr.Dataset:
    """Experiment (a): ``kappa_t - 1`` under the exact update, under ERM at each n, and the
    single exponential of Theorem 5.3's transient factor.

    Start: the bump (toy A, :func:`srlm_kit.instances.bump`), kappa_0 = 1 + (K - 1) e^(-b).
    Fields (labelled grid):

    * ``excess`` ``[n, beta, t, band]``: ``kappa_t - 1`` of the ERM runs
      (:func:`~srlm_kit.metrics.condition_excess`, mean and band over seeds);
      ``failure_mean`` likewise;
    * ``population_excess`` ``[beta, t]``: the exact update (n = infinity);
    * ``transient_reference`` ``[n, beta, t]``: ``(kappa_0 - 1) q^(t/2)`` with
      ``q = 1/(1 + sqrt(n mu))`` (:func:`srlm_kit.bounds.reviewer_contraction_factor`) at the
      runs' mu: a single exponential at the per-round factor of the bound's transient term,
      drawn from ``kappa_0 - 1`` to compare slopes (it is not a bound on ``kappa_t - 1``);
    * ``bound`` ``[n, beta, t]``: Theorem 5.3, every hidden constant 1, log|Pi| = 0, at the
      runs' mu and gamma (minimum over seeds and rounds 0..t); NaN at t = 0;
    * ``erm_rate`` ``[n, beta]``: minus the least-squares slope of ``log(kappa_t - 1)`` (seed
      mean) over rounds ``0..rate_rounds`` (:func:`srlm_kit.checks.semilog_slope`), a per-round
      decay rate; ``transient_rate`` ``[n, beta]``: ``log(1 + sqrt(n mu))/2``, the bound's;
    * ``population_decrement`` ``[beta, step]``: ``log(kappa_t - 1) - log(kappa_{t+1} - 1)``
      of the exact update (NaN once it underflows), which grows by the factor ``1 + 1/beta``
      every round.
    """
    n_values = check.check_increasing_ints("n_values", n_values)
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    _check_run_sizes(num_prompts, num_responses, T, seeds)
    check.check_int("rate_rounds", rate_rounds, minimum=1, maximum=T)
    height = check.check_positive("height", height)
    start = instances.bump(num_prompts, num_responses, height)
    key = jax.random.key(seed)
    shape = (len(n_values), len(betas), seeds, T + 1)
    excess, failure, mu, gamma = (np.empty(shape) for _ in range(4))
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds)
            excess[i, j] = _vmap_leading(metrics.condition_excess, trajectory.logits, start.rho)
            failure[i, j] = np.asarray(trajectory.failure)
            mu[i, j], gamma[i, j] = np.asarray(trajectory.mu), np.asarray(trajectory.gamma)
    population = np.stack([_vmap_leading(metrics.condition_excess, population_logits(
        start.logits, beta, T), start.rho) for beta in betas])

    seed_axis = 2
    excess_band = band(excess, seed_axis)
    kappa0 = float(metrics.condition_number(start.logits, start.rho))
    rounds = np.arange(T + 1, dtype=float)
    mu_min = running_min_over_seeds(mu, seed_axis)
    gamma_min = running_min_over_seeds(gamma, seed_axis)
    n_grid = np.asarray(n_values, dtype=float)[:, None, None]
    q = bounds.reviewer_contraction_factor(n_grid, mu_min)
    reference = (kappa0 - 1.0) * q**(rounds / 2.0)
    bound = bounds.theorem_5_3_on_runs(n_grid, rounds, gamma_min=gamma_min, mu_min=mu_min,
                                       kappa0=kappa0, delta=DELTA)
    erm_rate = np.array([[-checks.semilog_slope(rounds[:rate_rounds + 1],
                                                excess_band[i, j, :rate_rounds + 1, 0]).slope
                          for j in range(len(betas))] for i in range(len(n_values))])
    transient_rate = 0.5 * np.log1p(np.sqrt(n_grid[..., 0] * mu_min[..., -1]))
    with np.errstate(divide="ignore"):
        log_population = np.where(population > 0, np.log(np.where(population > 0, population,
                                                                   1.0)), np.nan)
    decrement = log_population[:, :-1] - log_population[:, 1:]

    fields = {
        "excess": (["n", "beta", "t", "band"], excess_band),
        "failure_mean": (["n", "beta", "t"], failure.mean(axis=seed_axis)),
        "population_excess": (["beta", "t"], population),
        "transient_reference": (["n", "beta", "t"], reference),
        "bound": (["n", "beta", "t"], bound),
        "mu_min": (["n", "beta", "t"], mu_min),
        "gamma_min": (["n", "beta", "t"], gamma_min),
        "erm_rate": (["n", "beta"], erm_rate),
        "transient_rate": (["n", "beta"], transient_rate),
        "population_decrement": (["beta", "step"], decrement),
    }
    coords = {"n": n_values, "beta": betas, "t": list(range(T + 1)), "step": list(range(T))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "kappa0": kappa0, "T": T, "seeds": seeds,
              "rate_rounds": rate_rounds, "threshold": THRESHOLD, "delta": DELTA,
              "log_class_size": 0.0}
    return _grid(coords, fields, params)


# --------------------------------------------------------------------------------------------
# (b) Internal consistency is not correctness
# --------------------------------------------------------------------------------------------


def consistency_not_correctness(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                                num_responses: int = NUM_RESPONSES, temperature: float = 1.0,
                                agreements=(0.25, 0.5, 0.75), n_values=(50, 200, 800, 3200),
                                betas=(0.1, 0.5), T: int = 8, seeds: int = 8) -> xr.Dataset:
    """Experiment (b): agreement with external labels that agree with pi_0's mode on a fraction p.

    Start: random logits with ``temperature`` (:func:`srlm_kit.instances.random_logits`). For
    every p in ``agreements``, labels from :func:`srlm_kit.instances.external_labels` with one
    key (so the agreeing prompts are nested as p grows). The labels never enter the update;
    they only score its result. Keys: ``split(key(seed), 3)`` = (logits, labels, runs).

    Fields: ``agreement`` ``[p, n, beta, t, band]``: share of prompts whose mode is
    the label; ``retention`` ``[n, beta, t, band]``: share whose mode is still
    pi_0's mode; ``confident_mean`` ``[n, beta, t]``: ``1 - failure``; ``population_agreement``
    ``[p, beta, t]`` and ``population_confident`` ``[beta, t]``: the exact update; ``p_level``
    ``[p, t]``: the constant p (a reference line).
    """
    agreements = check.check_increasing_floats("agreements", agreements, 0.0, 1.0)
    n_values = check.check_increasing_ints("n_values", n_values)
    betas = check.check_increasing_floats("betas", betas, 0.0, open_low=True)
    _check_run_sizes(num_prompts, num_responses, T, seeds)
    temperature = check.check_positive("temperature", temperature)
    key_logits, key_labels, key_runs = jax.random.split(jax.random.key(seed), 3)
    start = instances.random_logits(key_logits, num_prompts, num_responses, temperature)
    labels = [instances.external_labels(key_labels, start.target, num_responses, p)
              for p in agreements]

    shape = (len(n_values), len(betas), seeds, T + 1)
    agreement = np.empty((len(agreements),) + shape)
    retention, failure = np.empty(shape), np.empty(shape)
    for i, n in enumerate(n_values):
        for j, beta in enumerate(betas):
            trajectory = simulate(key_runs, start, n=n, beta=beta, T=T, seeds=seeds)
            for k, prompt_labels in enumerate(labels):
                agreement[k, i, j] = _vmap_leading(metrics.agreement, trajectory.logits,
                                                   start.rho, prompt_labels)
            retention[i, j] = _vmap_leading(metrics.agreement, trajectory.logits, start.rho,
                                            start.target)
            failure[i, j] = np.asarray(trajectory.failure)
    population = [population_logits(start.logits, beta, T) for beta in betas]
    population_agreement = np.stack([np.stack([_vmap_leading(
        metrics.agreement, values, start.rho, prompt_labels) for values in population])
        for prompt_labels in labels])
    population_confident = np.stack([1.0 - _vmap_leading(
        metrics.failure_probability, values, start.rho, THRESHOLD) for values in population])

    seed_axis = 3
    fields = {
        "agreement": (["p", "n", "beta", "t", "band"], band(agreement, seed_axis)),
        "retention": (["n", "beta", "t", "band"], band(retention, seed_axis - 1)),
        "confident_mean": (["n", "beta", "t"], 1.0 - failure.mean(axis=seed_axis - 1)),
        "population_agreement": (["p", "beta", "t"], population_agreement),
        "population_confident": (["beta", "t"], population_confident),
        "p_level": (["p", "t"], np.repeat(np.asarray(agreements)[:, None], T + 1, axis=1)),
    }
    coords = {"p": agreements, "n": n_values, "beta": betas, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "temperature": temperature, "T": T, "seeds": seeds,
              "kappa0": float(metrics.condition_number(start.logits, start.rho)),
              "initial_failure": float(metrics.failure_probability(start.logits, start.rho)),
              "initial_margin": float(metrics.margin(start.logits, start.rho))}
    return _grid(coords, fields, params)


# --------------------------------------------------------------------------------------------
# (c) A judge instead of log pi_t
# --------------------------------------------------------------------------------------------


def judge_setting(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                  num_responses: int = NUM_RESPONSES, temperature: float = 0.5,
                  initial_agreement: float = 0.7):
    """The start, the true quality and the response lengths of experiment (c).

    * pi_0: random logits with ``temperature`` (:func:`srlm_kit.instances.random_logits`);
    * the correct response ``y_true(x)``: external labels that agree with pi_0's mode on a
      fraction ``initial_agreement`` of prompts (:func:`srlm_kit.instances.external_labels`),
      attached to the instance so that ``trajectory.agreement`` is the share of prompts whose
      mode is correct;
    * quality ``q(x, y) = 1{y = y_true(x)}``;
    * length ``l(x, y)``, uniform on [0, 1] and independent of everything else (a feature the
      judge may like for its own sake).

    Keys: ``split(key(seed), 4)`` = (logits, labels, lengths, runs). Returns
    ``(instance, quality, length, run_key)``. [reconstructed, :ref:`recovered-judge`:
    a toy of Yuan et al.'s length-biased self-judging, not the paper's]
    """
    check.check_positive("temperature", temperature)
    key_logits, key_labels, key_lengths, key_runs = jax.random.split(jax.random.key(seed), 4)
    start = instances.random_logits(key_logits, num_prompts, num_responses, temperature)
    labels = instances.external_labels(key_labels, start.target, num_responses,
                                       initial_agreement)
    start = instances.with_labels(start, labels)
    quality = np.eye(num_responses)[np.asarray(labels)]
    length = np.asarray(jax.random.uniform(key_lengths, (num_prompts, num_responses),
                                           dtype=jnp.float64))
    return start, quality, length, key_runs


def favourite_is_correct(quality, length, bias: float) -> np.ndarray:
    """Per prompt: is the judge's noise-free favourite ``argmax_y q + lambda l`` correct?

    ``bias`` is lambda. The favourite differs from ``y_true`` exactly when some response is
    longer by more than ``1/lambda``: ``lambda (l(y) - l(y_true)) > 1``. Its prompt-average is
    the agreement the judge loop converges to as T grows (exact update,
    :func:`srlm_kit.theory.sharpening.judge_composition`). [reconstructed, by algebra;
    :ref:`recovered-book-own`]
    """
    score = np.asarray(quality) + bias * np.asarray(length)
    return np.argmax(score, axis=1) == np.argmax(np.asarray(quality), axis=1)


def _judge_scores_of_run(logits, rho, quality, score) -> tuple[np.ndarray, np.ndarray]:
    """Expected true quality and the judge's expected noise-free score, share of its maximum."""
    true_quality = _vmap_leading(metrics.expected_reward, logits, jnp.asarray(quality), rho)
    judged = _vmap_leading(metrics.expected_reward, logits, jnp.asarray(score), rho)
    best = float(np.sum(np.asarray(rho) * np.max(score, axis=1)))
    return true_quality, judged / best


def judge_run(start, quality, length, key, *, bias: float, noise: float, n: int,
              beta: float, T: int = 8, seeds: int = 8, shape: dynamics.Shape | None = None
              ) -> dict[str, np.ndarray]:
    """T rounds with the judge ``q + bias * length + noise * xi_t`` from :func:`judge_setting`'s
    ``start``; every field has shape ``(seeds, T + 1)`` (``shape``: as in :func:`simulate`).

    ``agreement``: share of prompts whose mode is the correct response; ``quality``:
    ``E_x pi_t(y_true|x)``; ``judge_score``: the judge's expected noise-free score divided by
    its largest possible value; ``favourite``: share of prompts whose mode is the judge's
    favourite ``argmax_y q + bias * length``.
    """
    score = np.asarray(quality) + bias * np.asarray(length)
    judge_model = dynamics.judge(quality, bias * np.asarray(length), noise)
    trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds, judge=judge_model,
                          shape=shape)
    true_quality, judge_score = _judge_scores_of_run(trajectory.logits, start.rho, quality,
                                                     score)
    favourite = _vmap_leading(metrics.agreement, trajectory.logits, start.rho,
                              jnp.asarray(np.argmax(score, axis=1)))
    return {"agreement": np.asarray(trajectory.agreement), "quality": true_quality,
            "judge_score": judge_score, "favourite": favourite}


def self_reward_run(start, quality, key, *, n: int, beta: float, T: int = 8,
                    seeds: int = 8, shape: dynamics.Shape | None = None
                    ) -> dict[str, np.ndarray]:
    """T rounds of self-rewarding (``r_t = log pi_t``) from the same start and data keys:
    ``agreement`` and ``quality`` as in :func:`judge_run`, shape ``(seeds, T + 1)``."""
    trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds, shape=shape)
    return {"agreement": np.asarray(trajectory.agreement),
            "quality": _vmap_leading(metrics.expected_reward, trajectory.logits,
                                     jnp.asarray(quality), start.rho)}


def judge_bias_and_noise(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                         num_responses: int = NUM_RESPONSES, temperature: float = 0.5,
                         initial_agreement: float = 0.7,
                         biases=(0.0, 0.5, 1.0, 1.5, 2.0, 3.0), noises=(0.0, 0.5, 1.0, 2.0),
                         n_values=(400, 3200), beta: float = 0.5, T: int = 8,
                         seeds: int = 8) -> xr.Dataset:
    """Experiment (c): the square-loss loop with a judge ``r_t = q + lambda l + sigma xi_t``.

    Setting: :func:`judge_setting`. For every bias strength ``c`` in ``biases``, noise level
    ``sigma`` in ``noises`` and n in ``n_values``: T rounds with the judge
    (:func:`srlm_kit.dynamics.judge`, fresh noise each round), and, for comparison, T rounds of
    self-rewarding (the paper's ``r_t = log pi_t``) from the same start with the same data keys.

    Fields: ``agreement`` ``[noise, bias, n, t, band]``: share of prompts whose mode
    is the correct response; ``quality_mean`` (``E_x pi_t(y_true|x)``), ``judge_score_mean``
    (the judge's expected noise-free score ``E_x sum_y pi_t(y|x)(q + lambda l)``, divided by its
    largest possible value ``E_x max_y (q + lambda l)``) and ``favourite_mean`` (share of prompts
    whose mode is the judge's favourite) on the same axes; ``limit`` ``[bias]``: share of
    prompts whose favourite is correct (:func:`favourite_is_correct`);
    ``population_agreement`` ``[bias, t]``: the exact noise-free update
    ``pi_{t+1} ∝ pi_t exp((q + lambda l)/beta)``; ``self_agreement`` (with a ``band`` axis) and
    ``self_quality_mean`` ``[bias, n, t]``: the self-reward run (the same for every bias,
    repeated along that axis so a figure can draw it against the bias).
    """
    biases = check.check_increasing_floats("biases", biases, 0.0)
    noises = check.check_increasing_floats("noises", noises, 0.0)
    n_values = check.check_increasing_ints("n_values", n_values)
    beta = check.check_positive("beta", beta)
    _check_run_sizes(num_prompts, num_responses, T, seeds)
    check.check_interval("initial_agreement", initial_agreement, 0.0, 1.0)
    start, quality, length, key_runs = judge_setting(
        seed=seed, num_prompts=num_prompts, num_responses=num_responses,
        temperature=temperature, initial_agreement=initial_agreement)

    shape = (len(noises), len(biases), len(n_values), seeds, T + 1)
    agreement, true_quality, judge_score, favourite = (np.empty(shape) for _ in range(4))
    limit = np.empty(len(biases))
    population_agreement = np.empty((len(biases), T + 1))
    for j, bias in enumerate(biases):
        limit[j] = float(np.sum(np.asarray(start.rho) * favourite_is_correct(quality, length,
                                                                             bias)))
        exact = population_logits(start.logits, beta, T, jnp.asarray(quality + bias * length))
        population_agreement[j] = _vmap_leading(metrics.agreement, exact, start.rho,
                                                start.labels)
        for i, noise in enumerate(noises):
            for k, n in enumerate(n_values):
                run = judge_run(start, quality, length, key_runs, bias=bias, noise=noise, n=n,
                                beta=beta, T=T, seeds=seeds)
                agreement[i, j, k], true_quality[i, j, k] = run["agreement"], run["quality"]
                judge_score[i, j, k], favourite[i, j, k] = run["judge_score"], run["favourite"]
    self_runs = [self_reward_run(start, quality, key_runs, n=n, beta=beta, T=T, seeds=seeds)
                 for n in n_values]
    self_agreement = np.stack([run["agreement"] for run in self_runs])
    self_quality = np.stack([run["quality"] for run in self_runs])

    seed_axis = 3
    dims = ["noise", "bias", "n", "t"]
    fields = {"agreement": ([*dims, "band"], band(agreement, seed_axis))}
    fields.update({
        "quality_mean": (dims, true_quality.mean(axis=seed_axis)),
        "judge_score_mean": (dims, judge_score.mean(axis=seed_axis)),
        "favourite_mean": (dims, favourite.mean(axis=seed_axis)),
        "limit": (["bias"], limit),
        "population_agreement": (["bias", "t"], population_agreement),
    })
    repeat = len(biases)
    fields["self_agreement"] = (["bias", "n", "t", "band"],
                                np.repeat(band(self_agreement, 1)[None], repeat, axis=0))
    fields["self_quality_mean"] = (["bias", "n", "t"], np.repeat(
        self_quality.mean(axis=1)[None], repeat, axis=0))
    coords = {"noise": noises, "bias": biases, "n": n_values, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "temperature": temperature, "initial_agreement": initial_agreement,
              "beta": beta, "T": T, "seeds": seeds,
              "kappa0": float(metrics.condition_number(start.logits, start.rho))}
    return _grid(coords, fields, params)


# --------------------------------------------------------------------------------------------
# (d) Margin and confidence collapse
# --------------------------------------------------------------------------------------------


def _first_primes_with_one(count: int) -> np.ndarray:
    """``[1, 2, 3, 5, 7, ...]``: 1 followed by the first ``count - 1`` primes."""
    values, candidate = [1], 2
    while len(values) < count:
        if all(candidate % prime for prime in values[1:]):
            values.append(candidate)
        candidate += 1
    return np.asarray(values[:count], dtype=float)


def near_tie(num_prompts: int, num_responses: int, tied: int, epsilon: float,
             height: float = 3.0) -> instances.TabularInstance:
    """A start with a near-tie on every prompt: the mode has logit ``height``, its ``tied - 1``
    competitors have ``height - g_j epsilon`` with ``g = (1, sqrt 2, sqrt 3, sqrt 5, sqrt 7,
    ...)`` (1 and the square roots of the primes), every other response 0.

    The margin is ``gamma_0 = epsilon`` on every prompt and the top probability is about
    ``1/tied`` when the others are negligible (``mu_0`` slightly below). The gaps are linearly
    independent over the rationals, so the update's averages over components (rational
    combinations) cannot tie the mode with a competitor by arithmetic coincidence; equal or
    evenly spaced gaps can, and do.
    On prompt x the mode is response ``x mod K`` and its competitors the next ``tied - 1``
    responses (cyclically), so that no response is special.
    [reconstructed, the book's instance; :ref:`recovered-reviews`: the reviewers' "margin collapse"]
    """
    check.check_int("num_prompts", num_prompts, minimum=1)
    check.check_int("tied (responses in the near-tie)", tied, minimum=2,
                    maximum=num_responses - 1)
    epsilon = check.check_positive("epsilon (the margin)", epsilon)
    height = check.check_positive("height", height)
    row = np.zeros(num_responses)
    row[0] = height
    row[1:tied] = height - np.sqrt(_first_primes_with_one(tied - 1)) * epsilon
    shifts = (np.arange(num_responses)[None, :] - np.arange(num_prompts)[:, None]) % num_responses
    return instances.tabular(row[shifts])


def margin_collapse(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                    num_responses: int = NUM_RESPONSES,
                    epsilons=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0),
                    tied=(2, 3, 5), height: float = 3.0, n: int = 400, beta: float = 0.5,
                    T: int = 8, seeds: int = 8) -> xr.Dataset:
    """Experiment (d): near-tie starts (:func:`near_tie`) and the Theorem 5.3 bound.

    Fields ``[tied, epsilon, t]``: ``failure`` (with a ``band`` axis; the paper's failure, own
    mode); ``lost_mode_mean`` (share of prompts where ``pi_t(y_0|x) <= 1/2`` for pi_0's mode
    ``y_0``: the mode was not kept with confidence, ``trajectory.target_failure``);
    ``gamma_min``/``mu_min`` (minimum over seeds and rounds 0..t, the paper's gamma and mu);
    ``bound`` (Theorem 5.3 at those, every hidden constant 1, log|Pi| = 0; NaN at t = 0 and
    where gamma = 0); ``population_failure`` (exact update); ``population_rounds``
    ``[tied, epsilon]``: first round at which the exact update has no failure;
    ``rounds_sufficient`` ``[epsilon]``: the sufficient number of rounds
    ``log(log(K - 1)/epsilon)/log(1 + 1/beta)`` of
    :func:`srlm_kit.theory.sharpening.near_tie_rounds`.
    """
    epsilons = check.check_increasing_floats("epsilons", epsilons, 0.0, open_low=True)
    tied = check.check_increasing_ints("tied", tied, minimum=2)
    check.check_int("n (triples per round)", n, minimum=1)
    beta = check.check_positive("beta", beta)
    _check_run_sizes(num_prompts, num_responses, T, seeds)
    key = jax.random.key(seed)
    shape = (len(tied), len(epsilons), seeds, T + 1)
    failure, lost, gamma, mu = (np.empty(shape) for _ in range(4))
    population = np.empty((len(tied), len(epsilons), T + 1))
    kappa0 = np.empty((len(tied), len(epsilons)))
    for i, k in enumerate(tied):
        for j, epsilon in enumerate(epsilons):
            start = near_tie(num_prompts, num_responses, k, epsilon, height)
            kappa0[i, j] = float(metrics.condition_number(start.logits, start.rho))
            trajectory = simulate(key, start, n=n, beta=beta, T=T, seeds=seeds)
            failure[i, j] = np.asarray(trajectory.failure)
            lost[i, j] = np.asarray(trajectory.target_failure)
            gamma[i, j], mu[i, j] = np.asarray(trajectory.gamma), np.asarray(trajectory.mu)
            population[i, j] = _vmap_leading(metrics.failure_probability, population_logits(
                start.logits, beta, T), start.rho, THRESHOLD)
    seed_axis = 2
    gamma_min = running_min_over_seeds(gamma, seed_axis)
    mu_min = running_min_over_seeds(mu, seed_axis)
    bound = bounds.theorem_5_3_on_runs(n, np.arange(T + 1), gamma_min=gamma_min, mu_min=mu_min,
                                       kappa0=kappa0[..., None], delta=DELTA)
    population_rounds = np.argmax(population == 0.0, axis=-1).astype(float)
    population_rounds[~np.any(population == 0.0, axis=-1)] = np.nan
    sufficient = near_tie_rounds_value(num_responses, np.asarray(epsilons), beta)
    dims = ["tied", "epsilon", "t"]
    fields = {"failure": ([*dims, "band"], band(failure, seed_axis))}
    fields.update({
        "lost_mode_mean": (dims, lost.mean(axis=seed_axis)),
        "gamma_min": (dims, gamma_min), "mu_min": (dims, mu_min), "bound": (dims, bound),
        "population_failure": (dims, population),
        "population_rounds": (["tied", "epsilon"], population_rounds),
        "rounds_sufficient": (["epsilon"], sufficient),
        "kappa0": (["tied", "epsilon"], kappa0),
    })
    coords = {"tied": tied, "epsilon": epsilons, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "n": n, "beta": beta, "T": T, "seeds": seeds,
              "threshold": THRESHOLD, "delta": DELTA, "log_class_size": 0.0}
    return _grid(coords, fields, params)


# --------------------------------------------------------------------------------------------
# (e) The beta regimes
# --------------------------------------------------------------------------------------------


def dominant_after_cover(num_responses: int, height: float, beta) -> np.ndarray:
    """True where one covering round makes the bump's mode dominant (top probability > 1/2)
    whatever the component: ``e^(-b(1 + 1/beta)) + (K - 2) e^(-b(1 + 1/(2 beta))) < 1``.

    [reconstructed, by algebra from the minimum-norm ERM;
    :func:`srlm_kit.theory.sharpening.coverage_derivation`; :ref:`recovered-erm-tie-break`]
    """
    beta = np.asarray(beta, dtype=float)
    return (np.exp(-height * (1.0 + 1.0 / beta))
            + (num_responses - 2) * np.exp(-height * (1.0 + 0.5 / beta))) < 1.0


def beta_regimes(*, seed: int = 0, num_prompts: int = NUM_PROMPTS,
                 num_responses: int = NUM_RESPONSES, height: float = BUMP_HEIGHT,
                 n_values=(50, 100, 200, 400, 800, 1600, 3200),
                 constant_beta: float = 0.5, scales=(0.5, 1.0, 2.0), T: int = 8,
                 seeds: int = 8) -> xr.Dataset:
    """Experiment (e): ``beta = a/sqrt(n)`` (the paper's regime) against a constant beta.

    Start: the bump of experiment (a). Fields: ``constant_failure`` (with a ``band`` axis) and
    ``constant_excess_mean`` (``kappa_t - 1``) ``[n, t]`` for ``beta = constant_beta``;
    ``scaled_failure`` (with a ``band`` axis) and ``scaled_excess_mean`` ``[scale, n, t]`` for
    ``beta = a/sqrt(n)``; ``scaled_mode_kept_mean`` ``[scale, n, t]`` (share of prompts whose
    mode is pi_0's); ``coverage`` ``[n, t]``: :func:`srlm_kit.bounds.coverage_failure`;
    ``population_failure``/``population_excess`` ``[n, t]``: the exact update at the constant
    beta (independent of n, repeated along it); ``scaled_beta`` ``[scale, n]``;
    ``scaled_dominant`` ``[scale, n]``: :func:`dominant_after_cover` (1 where the coverage
    prediction applies).
    """
    n_values = check.check_increasing_ints("n_values", n_values)
    scales = check.check_increasing_floats("scales", scales, 0.0, open_low=True)
    constant_beta = check.check_positive("constant_beta", constant_beta)
    height = check.check_positive("height", height)
    _check_run_sizes(num_prompts, num_responses, T, seeds)
    start = instances.bump(num_prompts, num_responses, height)
    key = jax.random.key(seed)
    constant = {name: np.empty((len(n_values), seeds, T + 1)) for name in ("failure", "excess")}
    scaled = {name: np.empty((len(scales), len(n_values), seeds, T + 1))
              for name in ("failure", "excess", "kept")}
    for k, n in enumerate(n_values):
        trajectory = simulate(key, start, n=n, beta=constant_beta, T=T, seeds=seeds)
        constant["failure"][k] = np.asarray(trajectory.failure)
        constant["excess"][k] = _vmap_leading(metrics.condition_excess, trajectory.logits,
                                              start.rho)
        for i, scale in enumerate(scales):
            trajectory = simulate(key, start, n=n, beta=scale / math.sqrt(n), T=T,
                                   seeds=seeds)
            scaled["failure"][i, k] = np.asarray(trajectory.failure)
            scaled["excess"][i, k] = _vmap_leading(metrics.condition_excess, trajectory.logits,
                                                   start.rho)
            scaled["kept"][i, k] = _vmap_leading(metrics.agreement, trajectory.logits,
                                                 start.rho, start.target)
    exact = population_logits(start.logits, constant_beta, T)
    population_failure = _vmap_leading(metrics.failure_probability, exact, start.rho, THRESHOLD)
    population_excess = _vmap_leading(metrics.condition_excess, exact, start.rho)
    mode_probability = float(np.exp(np.max(np.asarray(log_policy(start.logits))[0])))
    n_grid = np.asarray(n_values, dtype=float)
    coverage = bounds.coverage_failure(n_grid[:, None], np.arange(T + 1)[None, :],
                                       num_prompts=num_prompts, mode_probability=mode_probability)
    scaled_beta = np.asarray(scales)[:, None] / np.sqrt(n_grid)[None, :]

    fields = {"constant_failure": (["n", "t", "band"], band(constant["failure"], 1))}
    fields["constant_excess_mean"] = (["n", "t"], constant["excess"].mean(axis=1))
    fields["scaled_failure"] = (["scale", "n", "t", "band"], band(scaled["failure"], 2))
    fields["scaled_excess_mean"] = (["scale", "n", "t"], scaled["excess"].mean(axis=2))
    fields["scaled_mode_kept_mean"] = (["scale", "n", "t"], scaled["kept"].mean(axis=2))
    repeat = len(n_values)
    fields.update({
        "coverage": (["n", "t"], coverage),
        "population_failure": (["n", "t"], np.repeat(population_failure[None], repeat, 0)),
        "population_excess": (["n", "t"], np.repeat(population_excess[None], repeat, 0)),
        "scaled_beta": (["scale", "n"], scaled_beta),
        "scaled_dominant": (["scale", "n"], dominant_after_cover(
            num_responses, height, scaled_beta).astype(float)),
    })
    coords = {"scale": scales, "n": n_values, "t": list(range(T + 1))}
    params = {"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
              "height": height, "constant_beta": constant_beta, "T": T, "seeds": seeds,
              "mode_probability": mode_probability,
              "kappa0": float(metrics.condition_number(start.logits, start.rho)),
              "threshold": THRESHOLD}
    return _grid(coords, fields, params)


def near_tie_rounds_value(num_responses: int, epsilon, beta: float) -> np.ndarray:
    """``log(log(K - 1)/epsilon)/log(1 + 1/beta)``
    (:func:`srlm_kit.theory.sharpening.near_tie_rounds`), for K >= 3."""
    check.check_int("num_responses", num_responses, minimum=3)
    beta = check.check_positive("beta", beta)
    epsilon = np.asarray(epsilon, dtype=float)
    if np.any(~(epsilon > 0)):
        raise ValueError("epsilon must be > 0")
    return np.log(np.log(num_responses - 1) / epsilon) / np.log1p(1.0 / beta)
