"""Instances: prompt distributions, initial policies, feature maps, external labels and the
quality tables of the toy judges; every builder of a start lives here.

An instance bundles everything a run needs besides the hyper-parameters. Two kinds exist, both
JAX pytrees (so a list of instances of one shape can be stacked and ``vmap``-ed over):

* :class:`TabularInstance`: a logit table ``(m, K)`` (:ref:`recovered-book-own`, toy A);
* :class:`LinearInstance`: features ``(m, K, d)`` and a parameter ``theta`` (Definition 6.1;
  :ref:`recovered-book-own`, toy B).

Fields shared by both: ``rho`` (prompt distribution), ``target`` (a designated response per
prompt, e.g. the bump or the hidden key of the hard instance), ``labels`` (an *external* label
per prompt, ``-1`` where there is none) and ``radius`` (the ball radius R; ``inf`` for none).

None of the initialisations is taken from the paper's experiments (it has none); they are the
book's toy instances, marked [reconstructed, :ref:`recovered-book-own`] where they follow a
construction of the paper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array

from srlm_kit import _validation as check
from srlm_kit.metrics import condition_number
from srlm_kit.policies import LOG_FLOOR, validate_features, validate_logits


class TabularInstance(NamedTuple):
    """A tabular softmax instance: ``pi_0(y|x) = softmax(logits[x])[y]``."""

    logits: Array  # (m, K)
    rho: Array  # (m,)
    target: Array  # (m,) int
    labels: Array  # (m,) int, -1 = no external label
    radius: Array  # () ball radius of the centred logit table, inf = no ball


class LinearInstance(NamedTuple):
    """A linear softmax instance: ``pi_theta(y|x) ∝ exp(<theta, phi(x, y)>)``, ``||theta|| <= R``.
    """

    features: Array  # (m, K, d), ||phi(x, y)|| <= 1
    theta: Array  # (d,)
    rho: Array  # (m,)
    target: Array  # (m,) int
    labels: Array  # (m,) int, -1 = no external label
    radius: Array  # () ball radius R, inf = no ball


Instance = TabularInstance | LinearInstance


def _uniform_rho(m: int) -> Array:
    return jnp.full((m,), 1.0 / m)


def _no_labels(m: int) -> Array:
    return jnp.full((m,), -1, dtype=jnp.int32)


@check.entry_point
def tabular(logits, rho=None, target=None, labels=None, radius: float = math.inf
            ) -> TabularInstance:
    """Build a checked :class:`TabularInstance` from a logit table.

    ``rho`` defaults to uniform, ``target`` to the initial policy's mode, ``labels`` to none.
    """
    validate_logits("logits", logits)
    logits = jnp.asarray(logits, dtype=jnp.float64)
    m, num_responses = logits.shape
    rho = _uniform_rho(m) if rho is None else jnp.asarray(
        check.check_distribution("rho", rho, size=m), dtype=jnp.float64)
    if target is None:
        target = jnp.argmax(logits, axis=1).astype(jnp.int32)
    else:
        target = jnp.asarray(check.check_index_array("target", target, m, num_responses),
                             dtype=jnp.int32)
    if labels is None:
        labels = _no_labels(m)
    else:
        labels = jnp.asarray(check.check_index_array("labels", labels, m, num_responses,
                                                     allow_missing=True), dtype=jnp.int32)
    if not (isinstance(radius, float | int) and radius > 0):
        raise ValueError(f"radius must be a number > 0 (math.inf for no ball), got {radius}")
    return TabularInstance(logits, rho, target, labels, jnp.asarray(float(radius)))


#: Largest array an instance builds (a policy table of prompts x responses, features of
#: prompts x responses x dimension, a table of sequences): 10^8 float64 entries, 800 MB.
MAX_TABLE_ENTRIES = 10**8


@check.checker(lambda m, num_responses, d=None: None)
def _check_sizes(m, num_responses, d=None):
    """``m`` prompts and ``K`` responses (and features of dimension ``d``) within
    :data:`MAX_TABLE_ENTRIES`."""
    sizes = {"m (number of prompts)": check.check_int("m (number of prompts)", m, minimum=1),
             "K (number of responses)": check.check_int("K (number of responses)",
                                                        num_responses, minimum=2)}
    if d is not None:
        sizes["d (feature dimension)"] = check.check_int("d (feature dimension)", d, minimum=1)
    check.check_entries(sizes, MAX_TABLE_ENTRIES)


def bump_height_for_kappa0(kappa0: float, num_responses: int) -> float:
    """Bump height ``b`` whose initial policy has condition number ``kappa0``.

    For the bump instance ``kappa_0 = 1 + (K - 1) e^{-b}`` (see :func:`bump`), so
    ``b = log((K - 1) / (kappa0 - 1))``; a positive height needs ``1 < kappa0 < K``.
    [reconstructed, by algebra from the bump instance; :ref:`recovered-kappa`]
    """
    if not 1.0 < kappa0 < num_responses:
        raise ValueError(f"kappa0 must lie in the open interval (1, K) = (1, {num_responses}) "
                         f"for a bump initialisation, got {kappa0}")
    return math.log((num_responses - 1) / (kappa0 - 1))


def uniform(m: int, num_responses: int) -> TabularInstance:
    """Uniform initial policy: every response has probability 1/K, so kappa_0 = K
    [reconstructed, from the definition of kappa; :ref:`recovered-kappa`: kappa <= K always].

    A fixed point of self-rewarding: every reward difference is 0, so nothing ever changes.
    """
    _check_sizes(m, num_responses)
    return tabular(jnp.zeros((m, num_responses)), target=jnp.zeros(m, dtype=jnp.int32))


@check.entry_point
def bump(m: int, num_responses: int, height: float) -> TabularInstance:
    """All logits 0 except ``height`` on a designated response ``y†(x) = x mod K`` (toy A).

    Top probability ``e^b/(e^b + K - 1)``, so ``kappa_0 = (e^b + K - 1)/e^b``; margin
    ``gamma_0 = b``.
    [reconstructed, :ref:`recovered-book-own`: a proposal for the book, not the paper's]
    """
    _check_sizes(m, num_responses)
    height = check.check_positive("height (the bump b)", height)
    target = jnp.arange(m, dtype=jnp.int32) % num_responses
    logits = height * jax.nn.one_hot(target, num_responses, dtype=jnp.float64)
    return tabular(logits, target=target)


@check.entry_point
def random_logits(key: Array, m: int, num_responses: int, temperature: float) -> TabularInstance:
    """Logits ``z / temperature`` with ``z`` standard normal: a knob that sweeps kappa_0.

    ``temperature -> 0`` gives a deterministic policy (kappa_0 -> 1); ``temperature -> inf``
    the uniform one (kappa_0 -> K). [reconstructed, :ref:`recovered-book-own` variant]
    """
    _check_sizes(m, num_responses)
    temperature = check.check_positive("temperature", temperature)
    logits = jax.random.normal(key, (m, num_responses), dtype=jnp.float64) / temperature
    return tabular(logits)


@check.entry_point
def hard_instance(key: Array, k: int, M: int, Delta: float, gamma_bar: float = 0.5
                  ) -> TabularInstance:
    """The hard instance of Theorem 4.1 (paper App. D, after Huang et al. Thm 3.1).

    Prompts ``x_0..x_k`` (``m = k + 1``; ``k`` informative prompts), responses ``y_0..y_M``
    (``K = M + 1``).
    ``rho = (1 - Delta) delta_{x_0} + (Delta/k) sum_i delta_{x_i}``; ``pi(.|x_0) = delta_{y_0}``;
    on ``x_i`` the distribution ``P_{j_i}`` puts ``1/((1 - gamma_bar) M)`` on the secret response
    ``y_{j_i}`` and ``(1/M)(1 - gamma_bar/((M - 1)(1 - gamma_bar)))`` on each other ``y_l``,
    ``l >= 1`` (and 0 on ``y_0``). The secret key ``j_i`` is drawn uniformly with ``key`` and
    returned as ``target``. Then ``kappa_0 = (1 - Delta) + Delta M (1 - gamma_bar)``.

    [quoted, v2 text for the construction; numbers reconstructed, from Huang et al. Thm 3.1';
    :ref:`recovered-thm-4-1`]
    """
    check.check_int("k (number of informative prompts)", k, minimum=1)
    check.check_int("M (number of informative responses)", M, minimum=2)
    check.check_entries({"k (number of informative prompts) + 1": k + 1,
                         "M (number of informative responses) + 1": M + 1}, MAX_TABLE_ENTRIES)
    Delta = check.check_open_interval("Delta", Delta, 0.0, 1.0)
    gamma_bar = check.check_open_interval("gamma_bar", gamma_bar, 0.0, 1.0)
    other = (1.0 / M) * (1.0 - gamma_bar / ((M - 1) * (1.0 - gamma_bar)))
    if other <= 0:
        raise ValueError(f"gamma_bar must be below (M - 1)/M = {(M - 1) / M} so that every "
                         f"non-secret response keeps positive probability, got {gamma_bar}")
    secret = jax.random.randint(key, (k,), 1, M + 1, dtype=jnp.int32)
    informative = jnp.full((k, M + 1), math.log(other)).at[:, 0].set(LOG_FLOOR)
    informative = informative.at[jnp.arange(k), secret].set(-math.log((1.0 - gamma_bar) * M))
    sentinel = jnp.full((1, M + 1), LOG_FLOOR).at[0, 0].set(0.0)
    logits = jnp.concatenate([sentinel, informative], axis=0)
    rho = jnp.concatenate([jnp.array([1.0 - Delta]), jnp.full((k,), Delta / k)])
    target = jnp.concatenate([jnp.zeros((1,), dtype=jnp.int32), secret])
    return tabular(logits, rho=rho, target=target)


@check.entry_point
def secret_probability(M: int, gamma_bar: float = 0.5) -> float:
    """Initial probability ``p = 1/((1 - gamma_bar) M)`` of the secret response on an informative
    prompt of :func:`hard_instance` (paper App. D). [reconstructed, from Huang et al. Thm 3.1';
    :ref:`recovered-thm-4-1`]"""
    check.check_int("M (number of informative responses)", M, minimum=3)
    gamma_bar = check.check_open_interval("gamma_bar", gamma_bar, 0.0, 1.0)
    return 1.0 / ((1.0 - gamma_bar) * M)


def hard_instance_kappa0(M: int, Delta: float, gamma_bar: float = 0.5) -> float:
    """Closed form ``kappa(pi^I) = (1 - Delta) + Delta M (1 - gamma_bar)``
    [reconstructed, :ref:`recovered-thm-4-1`]."""
    return (1.0 - Delta) + Delta * M * (1.0 - gamma_bar)


@check.entry_point
def external_labels(key: Array, target, num_responses: int, agreement: float) -> Array:
    """External "ground-truth" labels that agree with ``target`` on a fraction ``agreement``.

    Exactly ``round(agreement * m)`` prompts (chosen at random) keep ``target``; every other
    prompt gets a uniformly random *different* response. [reconstructed, :ref:`recovered-book-own`:
    the theory has no ground truth; this is the book's device for separating consistency from
    correctness]
    """
    agreement = check.check_interval("agreement", agreement, 0.0, 1.0)
    target = jnp.asarray(target, dtype=jnp.int32)
    m = target.shape[0]
    key_pick, key_shift = jax.random.split(key)
    agreeing = jax.random.permutation(key_pick, m) < round(agreement * m)
    shift = jax.random.randint(key_shift, (m,), 1, num_responses, dtype=jnp.int32)
    return jnp.where(agreeing, target, (target + shift) % num_responses)


@check.entry_point
def with_labels(instance: Instance, labels) -> Instance:
    """The same instance with external labels attached."""
    m, num_responses = instance.rho.shape[0], _num_responses(instance)
    labels = check.check_index_array("labels", np.asarray(labels), m, num_responses,
                                     allow_missing=True)
    return instance._replace(labels=jnp.asarray(labels, dtype=jnp.int32))


def _num_responses(instance: Instance) -> int:
    if isinstance(instance, TabularInstance):
        return instance.logits.shape[1]
    return instance.features.shape[1]


@check.entry_point
def random_unit_features(key: Array, m: int, num_responses: int, d: int) -> Array:
    """Features ``phi(x, y)`` drawn uniformly on the unit sphere of R^d (the book's toy B)."""
    _check_sizes(m, num_responses, d)
    raw = jax.random.normal(key, (m, num_responses, d), dtype=jnp.float64)
    return raw / jnp.linalg.norm(raw, axis=-1, keepdims=True)


@check.entry_point
def decaying_spectrum_features(key: Array, m: int, num_responses: int, d: int, alpha: float
                               ) -> tuple[Array, Array]:
    """Gaussian features with covariance eigenvalues ``nu_j ∝ exp(-omega j)`` (omega = ``alpha``),
    rescaled so that the largest ``||phi(x, y)||`` is 1 (Corollary 6.4's exponential spectral
    decay).

    Returns ``(features, eigenvalues)``, the eigenvalues of the population covariance
    ``E[phi phi^T]`` after the rescaling. [reconstructed, :ref:`recovered-cor-6-4`,
    :ref:`recovered-book-own`]
    """
    _check_sizes(m, num_responses, d)
    alpha = check.check_positive("alpha (spectral decay rate)", alpha)
    scales = jnp.exp(-0.5 * alpha * jnp.arange(d, dtype=jnp.float64))
    raw = jax.random.normal(key, (m, num_responses, d), dtype=jnp.float64) * scales
    largest = jnp.max(jnp.linalg.norm(raw, axis=-1))
    return raw / largest, scales**2 / largest**2


def linear(features, theta, rho=None, target=None, labels=None, radius: float = math.inf
           ) -> LinearInstance:
    """Build a checked :class:`LinearInstance`; ``target`` defaults to the initial mode."""
    validate_features("features", features)
    features = jnp.asarray(features, dtype=jnp.float64)
    m, num_responses, d = features.shape
    theta_array = check.check_finite_array("theta", theta, ndim=1)
    if theta_array.shape[0] != d:
        raise ValueError(f"theta must have length d = {d} (the feature dimension), "
                         f"got {theta_array.shape[0]}")
    theta = jnp.asarray(theta_array, dtype=jnp.float64)
    if not (isinstance(radius, float | int) and radius > 0):
        raise ValueError(f"radius must be a number > 0 (math.inf for no ball), got {radius}")
    if float(jnp.linalg.norm(theta)) > radius:
        raise ValueError(f"theta must lie in the ball ||theta|| <= radius = {radius}, "
                         f"got ||theta|| = {float(jnp.linalg.norm(theta))}")
    base = tabular(jnp.einsum("xyd,d->xy", features, theta), rho, target, labels)
    return LinearInstance(features, theta, base.rho, base.target, base.labels,
                          jnp.asarray(float(radius)))


def initial_logits(instance: Instance) -> Array:
    """The logit table of the instance's initial policy."""
    if isinstance(instance, TabularInstance):
        return instance.logits
    return jnp.einsum("xyd,d->xy", instance.features, instance.theta)


def stack(instances: list[Instance]) -> Instance:
    """Stack instances of identical shapes along a new leading axis (for ``vmap`` over inits)."""
    if not instances:
        raise ValueError("instances must be a non-empty list")
    kinds = {type(instance) for instance in instances}
    if len(kinds) != 1:
        raise TypeError("instances must all be of one kind (all tabular or all linear)")
    shapes = {tuple(leaf.shape for leaf in instance) for instance in instances}
    if len(shapes) != 1:
        raise ValueError("instances must all have the same shapes; pad them first "
                         "(srlm_kit.instances.pad)")
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *instances)


@check.entry_point
def pad(instance: TabularInstance, m: int, num_responses: int) -> TabularInstance:
    """Pad a tabular instance to ``m`` prompts and ``K`` responses without changing it.

    Extra responses get probability 0 (logit :data:`~srlm_kit.policies.LOG_FLOOR`, so they are
    never sampled), extra prompts get ``rho = 0`` (so they never count). Lets instances of
    different sizes share one compiled run.
    """
    old_m, old_k = instance.logits.shape
    check.check_int("m (padded number of prompts)", m, minimum=old_m)
    check.check_int("K (padded number of responses)", num_responses, minimum=old_k)
    logits = jnp.full((m, num_responses), LOG_FLOOR).at[:, 0].set(0.0)
    logits = logits.at[:old_m, :old_k].set(jnp.maximum(
        jax.nn.log_softmax(instance.logits, axis=1), LOG_FLOOR))
    logits = logits.at[:old_m, old_k:].set(LOG_FLOOR)
    rho = jnp.zeros(m).at[:old_m].set(instance.rho)
    target = jnp.zeros(m, dtype=jnp.int32).at[:old_m].set(instance.target)
    labels = jnp.full(m, -1, dtype=jnp.int32).at[:old_m].set(instance.labels)
    return TabularInstance(logits, rho, target, labels, instance.radius)


def from_name(spec: str, m: int, num_responses: int, key: Array) -> TabularInstance:
    """Build a tabular initialisation from a command-line name.

    ``uniform``; ``bump:B`` (bump height B > 0); ``random:TEMPERATURE``;
    ``hard:DELTA[,GAMMA_BAR]`` (the Theorem 4.1 instance with k = m - 1 informative prompts and
    M = K - 1 informative responses).
    """
    if not isinstance(spec, str):
        raise TypeError(f"init must be a string such as 'bump:0.693', got {spec!r}")
    name, _, argument = spec.partition(":")
    try:
        if name == "uniform" and not argument:
            return uniform(m, num_responses)
        if name == "bump" and argument:
            return bump(m, num_responses, float(argument))
        if name == "random" and argument:
            return random_logits(key, m, num_responses, float(argument))
        if name == "hard" and argument:
            values = [float(part) for part in argument.split(",")]
            if len(values) > 2:
                raise ValueError("hard takes at most two values")
            if m < 2 or num_responses < 3:
                raise ValueError("hard needs at least 2 prompts and 3 responses "
                                 f"(k = m - 1 >= 1, M = K - 1 >= 2), got m={m}, K={num_responses}")
            return hard_instance(key, m - 1, num_responses - 1, *values)
    except ValueError as error:
        if "could not convert" in str(error):
            raise ValueError(f"init {spec!r}: the value after ':' must be a number") from None
        raise
    raise ValueError(f"init must be one of 'uniform', 'bump:B', 'random:TEMPERATURE', "
                     f"'hard:DELTA[,GAMMA_BAR]'; got {spec!r}")


# --------------------------------------------------------------------------------------------
# The hard instance's sizes, near ties, and starts for a judge
# --------------------------------------------------------------------------------------------


@check.entry_point
def hard_instance_sizes(kappa0: float, Delta: float) -> tuple[int, float]:
    """``(M, Delta')`` with ``M = round(2 (kappa0 - 1 + Delta)/Delta)`` and ``Delta'`` adjusted so
    that the hard instance (gamma_bar = 1/2) has ``kappa(pi^I) = 1 + Delta' (M/2 - 1) = kappa0``
    exactly. [reconstructed, by algebra from :func:`srlm_kit.instances.hard_instance_kappa0`;
    :ref:`recovered-thm-4-1`]"""
    Delta = check.check_open_interval("Delta", Delta, 0.0, 1.0)
    M = max(3, round(2.0 * (kappa0 - 1.0 + Delta) / Delta))
    adjusted = (kappa0 - 1.0) / (M / 2.0 - 1.0)
    if not 0.0 < adjusted < 1.0:
        raise ValueError(f"no hard instance with kappa0 = {kappa0} near Delta = {Delta}")
    return int(M), float(adjusted)



def _first_primes_with_one(count: int) -> np.ndarray:
    """``[1, 2, 3, 5, 7, ...]``: 1 followed by the first ``count - 1`` primes."""
    values, candidate = [1], 2
    while len(values) < count:
        if all(candidate % prime for prime in values[1:]):
            values.append(candidate)
        candidate += 1
    return np.asarray(values[:count], dtype=float)


@check.entry_point
def near_tie(num_prompts: int, num_responses: int, tied: int, gamma0: float,
             height: float = 3.0) -> TabularInstance:
    """A start with a near-tie on every prompt: the mode has logit ``height``, its ``tied - 1``
    competitors have ``height - g_j gamma0`` with ``g = (1, sqrt 2, sqrt 3, sqrt 5, sqrt 7,
    ...)`` (1 and the square roots of the primes), every other response 0.

    The margin is ``gamma0`` (the book's gamma_0) on every prompt and the top probability is about
    ``1/tied`` when the others are negligible (``mu_0`` slightly below). The gaps are linearly
    independent over the rationals, so the update's averages over components (rational
    combinations) cannot tie the mode with a competitor by arithmetic coincidence; equal or
    evenly spaced gaps can, and do.
    On prompt x the mode is response ``x mod K`` and its competitors the next ``tied - 1``
    responses (cyclically), so that no response is special.
    [reconstructed, the book's instance; :ref:`recovered-reviews`: the reviewers' "margin collapse"]
    """
    _check_sizes(num_prompts, num_responses)
    check.check_int("tied (responses in the near-tie)", tied, minimum=2,
                    maximum=num_responses - 1)
    gamma0 = check.check_positive("gamma0 (the margin)", gamma0)
    height = check.check_positive("height", height)
    row = np.zeros(num_responses)
    row[0] = height
    row[1:tied] = height - np.sqrt(_first_primes_with_one(tied - 1)) * gamma0
    shifts = (np.arange(num_responses)[None, :] - np.arange(num_prompts)[:, None]) % num_responses
    return tabular(row[shifts])


def length_judge_instance(*, seed: int = 0, num_prompts: int = 100, num_responses: int = 20,
                          temperature: float = 0.5, initial_agreement: float = 0.7):
    """A start, the true quality and the response lengths, for a judge that likes length.

    * pi_0: random logits with ``temperature`` (:func:`random_logits`);
    * the correct response ``y_true(x)``: external labels that agree with pi_0's mode on a
      fraction ``initial_agreement`` of prompts (:func:`external_labels`),
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
    start = random_logits(key_logits, num_prompts, num_responses, temperature)
    labels = external_labels(key_labels, start.target, num_responses, initial_agreement)
    start = with_labels(start, labels)
    quality = np.eye(num_responses)[np.asarray(labels)]
    length = np.asarray(jax.random.uniform(key_lengths, (num_prompts, num_responses),
                                           dtype=jnp.float64))
    return start, quality, length, key_runs


@check.entry_point
def lure_responses(key: Array, labels, modes, num_responses: int) -> np.ndarray:
    """One response per prompt that is neither the external label nor the initial mode.

    Drawn uniformly among the allowed responses (``K - 2`` of them, or ``K - 1`` where label and
    mode coincide). Needs ``K >= 3``.
    """
    check.check_int("K (number of responses)", num_responses, minimum=3)
    labels, modes = np.asarray(labels), np.asarray(modes)
    uniforms = np.asarray(jax.random.uniform(key, labels.shape, dtype=float))
    lures = np.empty_like(labels)
    for prompt, (label, mode_, u) in enumerate(zip(labels, modes, uniforms, strict=True)):
        allowed = [y for y in range(num_responses) if y not in (label, mode_)]
        lures[prompt] = allowed[min(int(u * len(allowed)), len(allowed) - 1)]
    return lures


def lure_judge_instance(*, seed: int, num_prompts: int, num_responses: int, kappa0: float,
                        initial_agreement: float):
    """The starting policy, its external labels and lures, and the judge's quality table.

    A bump policy (toy A) with condition number ``kappa0``; external labels that agree with its
    mode on a fraction ``initial_agreement`` of the prompts
    (:func:`external_labels`); one lure per prompt
    (:func:`lure_responses`). Keys: ``split(key(seed), 3)`` gives (labels, lures, runs).
    Returns ``(instance, quality, lures, run_key)``.
    """
    height = bump_height_for_kappa0(kappa0, num_responses)
    start = bump(num_prompts, num_responses, height)
    key_labels, key_lures, key_runs = jax.random.split(jax.random.key(seed), 3)
    labels = np.asarray(external_labels(key_labels, start.target, num_responses, initial_agreement))
    start = with_labels(start, labels)
    lures = lure_responses(key_lures, labels, np.asarray(start.target), num_responses)
    quality = np.eye(num_responses)[labels]
    return start, quality, lures, key_runs


# --------------------------------------------------------------------------------------------
# Linear starts: features of several dimensions and an initial condition number
# --------------------------------------------------------------------------------------------


@jax.jit
def _condition_number_at(scores, rho, scale):
    return condition_number(scale * scores, rho)


@check.entry_point
def scale_for_kappa0(scores, kappa0: float, rho=None, *, tolerance: float = 1e-10) -> float:
    """The scale s > 0 at which the policy with logits ``s * scores`` has condition number
    ``kappa0``.

    ``scores`` is an ``(m, K)`` table, e.g. ``<u, phi(x, y)>`` for a direction u. Each prompt's
    top probability ``1/sum_y exp(s(z_y - z_max))`` increases with s, so ``kappa`` decreases from
    K (at s = 0) towards ``E_x[1/#modes(x)]`` as s grows; bisection on s to a relative
    ``tolerance``. ValueError unless ``kappa0`` lies strictly between those two limits.
    """
    scores_np = check.check_finite_array("scores", scores, ndim=2)
    m, num_responses = scores_np.shape
    rho = np.full(m, 1.0 / m) if rho is None else check.check_distribution("rho", rho, size=m)
    kappa0 = check.check_positive("kappa0", kappa0)
    ties = np.sum(np.isclose(scores_np, scores_np.max(axis=1, keepdims=True), rtol=0,
                             atol=1e-12), axis=1)
    lowest = float(np.sum(rho / ties))
    if not lowest < kappa0 < num_responses:
        raise ValueError(f"kappa0 must lie strictly between {lowest} (the limit of a large "
                         f"scale) and K = {num_responses}, got {kappa0}")
    scores_jax, rho_jax = jnp.asarray(scores_np, dtype=jnp.float64), jnp.asarray(rho)

    def kappa_at(scale: float) -> float:
        return float(_condition_number_at(scores_jax, rho_jax, scale))

    low, high = 0.0, 1.0
    while kappa_at(high) > kappa0:
        low, high = high, 2.0 * high
    while high - low > tolerance * high:
        middle = 0.5 * (low + high)
        low, high = (middle, high) if kappa_at(middle) > kappa0 else (low, middle)
    return 0.5 * (low + high)


@check.entry_point
def nested_features(key, num_prompts: int, num_responses: int, dimensions: Sequence[int],
                    alpha: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Features of several dimensions from one Gaussian draw, nested in their coordinates.

    One standard normal array of shape ``(m, K, max(dimensions))`` is drawn with ``key``; the
    features of dimension d are built from its first d coordinates exactly as
    :func:`random_unit_features` (``alpha=None``: each vector normalised to
    norm 1; covariance ``I/d``) or :func:`decaying_spectrum_features`
    (coordinate j scaled by ``exp(-alpha j / 2)``, then all divided by the largest norm) build
    theirs, so that at the largest d they *are* those functions' features for ``key``. Sharing
    the draw makes the instances of different d common random numbers. Returns a list of
    ``(features, eigenvalues)``, one per d (NumPy; eigenvalues of the covariance
    ``E[phi phi^T]``). [reconstructed, :ref:`recovered-cor-6-4`, :ref:`recovered-book-own`]
    """
    dimensions = check.check_increasing_ints("dimensions", dimensions)
    _check_sizes(num_prompts, num_responses, max(dimensions))
    if alpha is not None:
        alpha = check.check_positive("alpha (spectral decay rate)", alpha)
    raw = np.asarray(jax.random.normal(key, (num_prompts, num_responses, max(dimensions)),
                                       dtype=jnp.float64))
    out = []
    for d in dimensions:
        part = raw[..., :d]
        if alpha is None:
            out.append((part / np.linalg.norm(part, axis=-1, keepdims=True),
                        np.full(d, 1.0 / d)))
        else:
            scales = np.exp(-0.5 * alpha * np.arange(d, dtype=np.float64))
            scaled = part * scales
            largest = np.max(np.linalg.norm(scaled, axis=-1))
            out.append((scaled / largest, scales**2 / largest**2))
    return out


def linear_starts(key, *, num_prompts: int, num_responses: int, dimensions: Sequence[int],
                  kappa0: float, alpha: float | None = None,
                  padded_dimension: int | None = None, radius: float = math.inf
                  ) -> list[tuple[LinearInstance, np.ndarray]]:
    """Linear instances of several dimensions, each with initial condition number ``kappa0``.

    Features from :func:`nested_features` (``split(key)[0]``); ``theta_0 = s u_d`` with ``u_d``
    the first d coordinates of one standard normal vector (``split(key)[1]``), normalised, and s
    from :func:`scale_for_kappa0`. The target and the external labels are the initial modes, so
    that ``agreement`` measures how many prompts keep their initial mode.
    ``padded_dimension`` appends zero coordinates to every feature and to ``theta_0`` (nothing
    changes: logits, differences and projections live in the first d coordinates), so that
    instances of different d share one compiled simulation. Returns ``(instance, eigenvalues)``
    per d. [reconstructed, :ref:`recovered-book-own`: the book's toy B]
    """
    dimensions = check.check_increasing_ints("dimensions", dimensions)
    padded = max(dimensions) if padded_dimension is None else check.check_int(
        "padded_dimension", padded_dimension, minimum=max(dimensions))
    key_features, key_direction = jax.random.split(key)
    direction = np.asarray(jax.random.normal(key_direction, (max(dimensions),),
                                             dtype=jnp.float64))
    rho = np.full(num_prompts, 1.0 / num_prompts)
    starts = []
    for d, (features, eigenvalues) in zip(dimensions, nested_features(
            key_features, num_prompts, num_responses, dimensions, alpha), strict=True):
        unit = direction[:d] / np.linalg.norm(direction[:d])
        scores = features @ unit
        theta0 = scale_for_kappa0(scores, kappa0, rho) * unit
        modes = np.argmax(scores, axis=-1).astype(np.int32)
        padding = ((0, 0), (0, 0), (0, padded - d))
        start = linear(np.pad(features, padding), np.pad(theta0, (0, padded - d)),
                                 target=modes, labels=modes, radius=radius)
        starts.append((start, eigenvalues))
    return starts


@check.entry_point
def exponential_spectrum(dimension: int, alpha: float) -> np.ndarray:
    """The eigenvalues ``nu_j = e^(-omega j)``, omega = ``alpha``, ``j = 1..d`` (Corollary 6.4,
    S = 1)."""
    check.check_int("dimension (d)", dimension, minimum=1, maximum=MAX_TABLE_ENTRIES)
    alpha = check.check_positive("alpha (spectral decay rate)", alpha)
    return np.exp(-alpha * np.arange(1, dimension + 1, dtype=float))


# --------------------------------------------------------------------------------------------
# Autoregressive models: responses as token sequences (Proposition 4.3, Remark 4.2)
# --------------------------------------------------------------------------------------------


class AutoregressiveModel(NamedTuple):
    """A token-level autoregressive policy for one prompt: ``pi(y) = prod_h pi_h(y_h | y_<h)``.

    A response is a sequence ``y = (y_1, ..., y_L)`` of ``L`` tokens from a vocabulary of ``V``
    tokens ``0..V-1``, so there are ``V^L`` responses (:ref:`recovered-setting`: ``Y = V^L``).
    ``log_conditionals[h]`` has shape ``(V^h, V)``: its row ``i`` holds
    ``log pi_{h+1}(. | prefix)`` for the prefix of ``h`` tokens whose base-``V`` index is ``i``
    (first token most significant; the empty prefix is row 0 of ``log_conditionals[0]``).
    Impossible tokens have log-probability :data:`~srlm_kit.policies.LOG_FLOOR`.

    The full table of sequence probabilities is :func:`sequence_log_probs`;
    :func:`autoregressive_as_tabular` turns the model into a one-prompt
    :class:`TabularInstance` with ``K = V^L`` responses, so that every metric of the kit
    (``kappa``, failure probability, ...) applies at the sequence level.
    """

    log_conditionals: tuple[Array, ...]


@check.checker(lambda vocabulary, length, shortest=1: None)
def check_sequences(vocabulary, length, shortest: int = 1) -> None:
    """A vocabulary of ``V`` tokens and sequences of ``L >= shortest`` of them: the ``V^L``
    sequences (one table entry each) within :data:`MAX_TABLE_ENTRIES`."""
    vocabulary = check.check_int("V (vocabulary size)", vocabulary, minimum=2)
    length = check.check_int("L (sequence length)", length, minimum=shortest)
    # V >= 2, so a length beyond the bit length of the limit is too long whatever V is; below
    # it the power is an exact (and small) Python integer.
    if length > MAX_TABLE_ENTRIES.bit_length() or vocabulary**length > MAX_TABLE_ENTRIES:
        raise ValueError(f"V (vocabulary size) to the power L (sequence length), the number of "
                         f"sequences, must be at most {MAX_TABLE_ENTRIES:.0e}, "
                         f"got {vocabulary}^{length}")


def _vocabulary_and_length(model: AutoregressiveModel) -> tuple[int, int]:
    return int(model.log_conditionals[0].shape[-1]), len(model.log_conditionals)


@check.entry_point
def autoregressive(conditionals) -> AutoregressiveModel:
    """Build a checked :class:`AutoregressiveModel` from per-step probability tables.

    ``conditionals[h]`` is an array of shape ``(V^h, V)`` whose rows are probability vectors
    (non-negative, summing to 1 within 1e-9), for ``h = 0..L-1``; ``V >= 2`` and ``L >= 1``.
    """
    if not isinstance(conditionals, list | tuple) or not conditionals:
        raise ValueError("conditionals must be a non-empty list of arrays, one per step")
    tables = []
    vocabulary = None
    for step, table in enumerate(conditionals):
        array = check.check_finite_array(f"conditionals[{step}]", table, ndim=2)
        if vocabulary is None:
            vocabulary = array.shape[1]
            if vocabulary < 2:
                raise ValueError(f"the vocabulary must have at least 2 tokens, got {vocabulary}")
        if array.shape != (vocabulary**step, vocabulary):
            raise ValueError(f"conditionals[{step}] must have shape (V^{step}, V) = "
                             f"{(vocabulary**step, vocabulary)}, got {array.shape}")
        if np.any(array < 0) or np.any(np.abs(array.sum(axis=1) - 1.0) > 1e-9):
            raise ValueError(f"every row of conditionals[{step}] must be a probability vector "
                             "(non-negative, summing to 1)")
        with np.errstate(divide="ignore"):
            logs = np.maximum(np.log(array), LOG_FLOOR)
        tables.append(jnp.asarray(logs, dtype=jnp.float64))
    return AutoregressiveModel(tuple(tables))


def _constant_steps(row: np.ndarray, length: int) -> list[np.ndarray]:
    vocabulary = row.shape[0]
    return [np.tile(row, (vocabulary**step, 1)) for step in range(length)]


@check.entry_point
def autoregressive_constant_top(vocabulary: int, length: int, alpha: float
                                ) -> AutoregressiveModel:
    """Every step puts probability ``alpha`` on token 0 and ``(1 - alpha)/(V - 1)`` on each other.

    The second example of Remark 4.2: the top-1 token probability is ``alpha`` at every step,
    so the most likely sequence ``(0, ..., 0)`` has probability ``alpha^L`` and
    ``kappa(pi) = alpha^(-L)``; a model whose top-1 probability is *at most* alpha has
    ``kappa >= alpha^(-L)``. Needs ``1/V < alpha <= 1`` (a unique top token).
    [quoted, v2 text for the example; formula reconstructed, from the prose;
    :ref:`recovered-rem-4-2`]
    """
    check_sequences(vocabulary, length)
    alpha = check.check_interval("alpha (top-1 token probability)", alpha, 0.0, 1.0)
    if alpha <= 1.0 / vocabulary:
        raise ValueError(f"alpha (top-1 token probability) must exceed 1/V = {1 / vocabulary} "
                         f"so that token 0 is the unique top token, got {alpha}")
    row = np.full(vocabulary, (1.0 - alpha) / (vocabulary - 1))
    row[0] = alpha
    return autoregressive(_constant_steps(row, length))


@check.entry_point
def autoregressive_trap(vocabulary: int, length: int, p: float, lead: float
                        ) -> AutoregressiveModel:
    """The greedy-decoding trap of Proposition 4.3 (paper App. E).

    The optimal sequence is ``y* = (1, 1, ..., 1)`` and the trap token is ``v_trap = 0``. The
    first step puts ``p`` on token 1, ``p' = p + lead`` on token 0 (``lead`` is the trap token's
    lead ``p' - p``) and spreads the rest
    ``1 - 2p - lead`` evenly over tokens ``2..V-1``. After the prefix ``(1)``, every later
    step continues ``y*`` with probability 1, so ``pi(y*) = p``. After any other prefix the
    continuation is uniform over the ``V`` tokens, so a sequence that starts with ``v_trap`` has
    probability ``(p + lead) V^-(L-1) < p``. Greedy decoding takes ``v_trap`` first and returns
    ``(0, 0, ..., 0)``, at Hamming distance ``L`` from ``y*``.

    Checked here (ValueError otherwise): ``0 < p <= 1/2``, ``lead > 0``,
    ``2p + lead <= 1`` (with ``V = 2`` exactly 1), every other first token below ``p`` (so
    ``v_trap`` is the first-step argmax and 1 the runner-up), ``L >= 2`` and every sequence other
    than ``y*`` strictly less likely than ``p`` (``y*`` is the unique argmax).
    Statement [quoted, v2 text]; numbers [reconstructed, from the prose; :ref:`recovered-failure`].
    The uniform continuation is the kit's choice of "every continuation has maximal conditional
    probability below p/(p + lead)".
    """
    check_sequences(vocabulary, length, shortest=2)
    p = check.check_interval("p (probability of the optimal sequence)", p, 0.0, 0.5)
    lead = check.check_positive("lead (the trap token's lead p' - p)", lead)
    if p <= 0:
        raise ValueError("p (probability of the optimal sequence) must be > 0")
    rest = 1.0 - 2.0 * p - lead
    if rest < -1e-12 or (vocabulary == 2 and abs(rest) > 1e-12):
        raise ValueError(f"p and lead must satisfy 2p + lead <= 1 (= 1 when V = 2), "
                         f"got 2p + lead = {2 * p + lead}")
    rest = max(rest, 0.0)
    other = rest / (vocabulary - 2) if vocabulary > 2 else 0.0
    if other >= p:
        raise ValueError(f"the first-step probability of every token other than 0 and 1, "
                         f"(1 - 2p - lead)/(V - 2) = {other}, must be below p = {p}")
    continuation = vocabulary ** -(length - 1)
    if (p + lead) * continuation >= p:
        raise ValueError(f"a sequence starting with the trap token has probability "
                         f"(p + lead) V^-(L-1) = {(p + lead) * continuation}, which must be "
                         f"below p = {p}: take a longer sequence or a larger vocabulary")
    first = np.full(vocabulary, other)
    first[0], first[1] = p + lead, p
    uniform_row = np.full(vocabulary, 1.0 / vocabulary)
    tables = [first[None, :]]
    for step in range(1, length):
        table = np.tile(uniform_row, (vocabulary**step, 1))
        on_path = sum(vocabulary**power for power in range(step))  # index of (1, 1, ..., 1)
        table[on_path] = np.eye(vocabulary)[1]
        tables.append(table)
    return autoregressive(tables)


@check.entry_point
def random_autoregressive(key: Array, vocabulary: int, length: int, temperature: float
                          ) -> AutoregressiveModel:
    """Every conditional is ``softmax(z / temperature)`` with independent standard normal ``z``.

    A knob from nearly deterministic (small temperature) to uniform (large). Traceable: can be
    ``vmap``-ed over keys. [reconstructed, the book's random family, not the paper's;
    :ref:`recovered-book-own`]
    """
    if check.is_concrete((vocabulary, length)):
        check_sequences(vocabulary, length)
    if check.is_concrete(temperature):
        check.check_positive("temperature", temperature)
    # One draw for all steps (one random-number kernel to compile), cut into the step tables.
    sizes = [vocabulary ** (step + 1) for step in range(length)]
    normal = jax.random.normal(key, (sum(sizes),), dtype=jnp.float64) / temperature
    starts = np.cumsum([0, *sizes])
    return AutoregressiveModel(tuple(
        jax.nn.log_softmax(normal[starts[step]:starts[step + 1]].reshape(-1, vocabulary),
                           axis=-1)
        for step in range(length)))


def sequence_log_probs(model: AutoregressiveModel) -> Array:
    """``log pi(y) = sum_h log pi_h(y_h | y_<h)`` for all ``V^L`` sequences, shape ``(V^L,)``.

    Entry ``i`` is the sequence whose tokens are the base-``V`` digits of ``i`` (first token
    most significant; :func:`sequence_tokens`). Clipped below at ``LOG_FLOOR``.
    """
    totals = jnp.zeros((1,), dtype=jnp.float64)
    for table in model.log_conditionals:
        totals = (totals[:, None] + table).reshape(-1)
    return jnp.maximum(totals, LOG_FLOOR)


def sequence_tokens(index, vocabulary: int, length: int) -> Array:
    """The tokens of sequence number ``index`` (its ``length`` base-``vocabulary`` digits)."""
    powers = vocabulary ** jnp.arange(length - 1, -1, -1)
    return (jnp.asarray(index)[..., None] // powers) % vocabulary


def sequence_index(tokens, vocabulary: int) -> Array:
    """The number of a token sequence (inverse of :func:`sequence_tokens`), last axis = tokens."""
    tokens = jnp.asarray(tokens)
    powers = vocabulary ** jnp.arange(tokens.shape[-1] - 1, -1, -1)
    return jnp.sum(tokens * powers, axis=-1)


def greedy_decode(model: AutoregressiveModel) -> Array:
    """Greedy (token-by-token argmax) decoding: ``y_h = argmax_v pi_h(v | y_<h)``, shape ``(L,)``.

    Ties go to the lowest token. Traceable (``vmap`` over models of one shape).
    """
    vocabulary, _ = _vocabulary_and_length(model)
    prefix = jnp.zeros((), dtype=jnp.int32)
    tokens = []
    for table in model.log_conditionals:
        token = jnp.argmax(table[prefix]).astype(jnp.int32)
        tokens.append(token)
        prefix = prefix * vocabulary + token
    return jnp.stack(tokens)


@check.entry_point
def sample_sequences(key: Array, model: AutoregressiveModel, num_samples: int) -> Array:
    """Draw ``num_samples`` sequences token by token (ancestral sampling), shape ``(num, L)``."""
    check.check_int("num_samples", num_samples, minimum=1)
    vocabulary, length = _vocabulary_and_length(model)
    check.check_entries({"num_samples": num_samples, "V (vocabulary size)": vocabulary},
                        MAX_TABLE_ENTRIES)
    check.check_entries({"num_samples": num_samples, "L (sequence length)": length},
                        MAX_TABLE_ENTRIES)
    # Inverse-CDF sampling from one table of uniforms: token h is the first index whose
    # cumulative conditional probability exceeds u_h.
    uniforms = jax.random.uniform(key, (num_samples, length), dtype=jnp.float64)
    prefix = jnp.zeros((num_samples,), dtype=jnp.int32)
    tokens = []
    for step, table in enumerate(model.log_conditionals):
        cumulative = jnp.cumsum(jnp.exp(table[prefix]), axis=-1)
        below = cumulative <= uniforms[:, step, None] * cumulative[:, -1:]
        token = jnp.minimum(jnp.sum(below, axis=-1), vocabulary - 1).astype(jnp.int32)
        tokens.append(token)
        prefix = prefix * vocabulary + token
    return jnp.stack(tokens, axis=1)


def autoregressive_as_tabular(model: AutoregressiveModel) -> TabularInstance:
    """The model as a one-prompt :class:`TabularInstance` over its ``V^L`` sequences.

    The logits are the sequence log-probabilities (:func:`sequence_log_probs`); ``target`` is
    the most likely sequence. Every metric of :mod:`srlm_kit.metrics` then applies at the
    sequence level, e.g. ``kappa`` is ``1 / max_y pi(y)``.
    """
    log_probs = sequence_log_probs(model)
    return tabular(log_probs[None, :])
