"""The self-rewarding iteration: one round's update, and ``run`` over T rounds.

One round (:ref:`recovered-data`, :ref:`recovered-operator`, :ref:`recovered-erm-tie-break`):

1. draw ``n`` triples ``(x, y, y')`` with ``x ~ rho`` and ``y, y' ~ pi_t(.|x)``;
2. label each pair with the self-reward difference ``log pi_t(y|x) - log pi_t(y'|x)``;
3. fit the next policy by the DPO-style square loss
   ``sum (beta log[pi(y|x)/pi_t(y|x)] - beta log[pi(y'|x)/pi_t(y'|x)] - label)^2``.

With infinite data the fit is the Gibbs policy ``pi_t^(1+1/beta)`` (the *population update*).
With ``n`` samples the minimiser is not unique; the kit takes the minimum-norm change of the
parameter from ``theta_t`` (the limit of gradient descent started at ``theta_t``).

The engine owns one shape policy (:func:`padded_shape`): a run draws its data at a length that is
``n`` rounded up to three significant binary digits (at least ``MIN_DATA_LENGTH``) and simulates
a number of rounds that is ``T`` rounded up likewise (at least ``MIN_ROUNDS``), with masks; ``n``
and ``T`` are array arguments. Runs whose sizes fall in the same buckets share one compiled
simulation, and callers never choose a padding. The padding does not change the numbers: round
``t`` of a seed draws with ``jax.random.fold_in(seed_key, t)``, and JAX's generators give the
first ``n`` numbers of a longer draw equal to a draw of ``n`` (see :func:`run`).
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import Array, lax
from jax.sharding import Mesh, PartitionSpec

from srlm_kit import _validation as check
from srlm_kit import metrics
from srlm_kit.instances import Instance, LinearInstance, TabularInstance
from srlm_kit.policies import Triples, linear_logits, log_policy, sample_triples

#: In the linear class the parameter grows by up to ``1 + 1/beta`` per round; beyond this norm it
#: is rescaled. The update is linear in ``theta`` (``theta -> (I + P/beta) theta``), so the
#: direction of every later iterate is unchanged; only the (already near-deterministic) policy's
#: temperature is frozen. This keeps ``beta = 1e-4`` over 50 rounds finite.
THETA_SATURATION = 1.0e6

UPDATES = ("erm", "population")

#: Largest number of rounds, triples per round and seeds a run accepts: the engine keeps every
#: round's metrics and draws every seed's data at once, so larger values exhaust memory.
MAX_ROUNDS = 10**5
MAX_TRIPLES = 10**7
MAX_SEEDS = 10**6

#: The shape policy's floors: data are drawn at a length of at least this, and at least this many
#: rounds are simulated (so small runs share one compiled simulation).
MIN_DATA_LENGTH = 64
MIN_ROUNDS = 8


class Shape(NamedTuple):
    """The padded sizes a simulation is compiled at (see :func:`padded_shape`)."""

    data_length: int  # triples drawn per round; the first n are used
    rounds: int  # rounds simulated; those after T repeat round T


def _bucket(value: int, floor: int) -> int:
    """The smallest ``j 2^k >= max(value, floor)`` with ``j`` in 4..7: three significant bits."""
    value = max(int(value), floor)
    shift = max(value.bit_length() - 3, 0)
    return -(-value >> shift) << shift


def padded_shape(n, T: int) -> Shape:
    """The engine's shape policy: the :class:`Shape` a run with ``n`` triples per round (the
    largest, for several) and ``T`` rounds is compiled at.

    The data length is ``n`` rounded up to the next number ``j 2^k`` with ``j`` in 4, 5, 6, 7
    (three significant binary digits: 64, 80, 96, 112, 128, 160, ...), at least
    ``MIN_DATA_LENGTH``; the rounds are ``T`` rounded up the same way, at least ``MIN_ROUNDS``. A
    run costs about its data length (rounds after ``T`` skip the update), so padding adds less
    than 25 %, while there are only four buckets per doubling of ``n``: runs at nearby sizes
    share one compiled simulation. A caller that needs one shape for a whole range of settings
    (a live explorer's sliders) asks for the shape of the largest ``n`` and ``T`` and passes it
    to :func:`run`.
    """
    largest = int(np.max(np.asarray(n)))
    return Shape(_bucket(largest, MIN_DATA_LENGTH), _bucket(int(T), MIN_ROUNDS))


class Trajectory(NamedTuple):
    """Per-round metrics of a run. Leading axes (seeds, grid points) come before the round axis.

    Round-indexed fields have length ``T + 1`` (rounds ``0..T``); step-indexed fields
    (``step_*``) have length ``T``, entry ``t`` describing the step from ``pi_t`` to
    ``pi_{t+1}``. A run given an explicit ``shape`` (:func:`run`) returns every simulated round
    instead, ``shape.rounds + 1``: ``active[t]`` is True for ``t <= T``, and after round ``T``
    the policy is frozen, so inactive entries repeat the final round.
    """

    kappa: Array  # kappa(pi_t)
    failure: Array  # P_x[max_y pi_t(y|x) <= threshold]
    target_failure: Array  # P_x[pi_t(target(x)|x) <= threshold]
    mu: Array  # min_x max_y pi_t(y|x)
    gamma: Array  # min_x log-gap between the mode and the runner-up of pi_t
    agreement: Array  # agreement of the mode with external labels (0 if none)
    theta_norm: Array  # parameter norm (linear: ||theta_t||; tabular: see run())
    inside_ball: Array  # theta_norm <= radius: realizability (Assumption 5.1) still possible
    active: Array  # t <= T
    step_gap: Array  # J_t(pi*_t) - J_t(pi_{t+1}) for the reward r_t = log pi_t
    step_retention_failure: Array  # P_x[pi_{t+1}(y*_t(x)|x) <= threshold], y*_t = mode of pi_t
    logits: Array | None = None  # (T + 1, m, K) when keep_logits=True
    # (T + 1, d) for the linear class, (T + 1, m, K) normalised log-probabilities for the
    # tabular class, when keep_parameters=True
    parameters: Array | None = None
    # Triples with fields of shape (T, n), when keep_triples=True: entry t is the data of the
    # step from pi_t to pi_{t+1}; mask is False for the population update (which draws nothing),
    # and, with an explicit shape, for padding and steps after T
    triples: Triples | None = None


class Judge(NamedTuple):
    """A reward model separate from the policy: the book's toy of an LLM-as-a-judge.

    Each round the judge scores every (prompt, response) pair as
    ``r_t(x, y) = quality[x, y] + bias[x, y] + noise * xi_t(x, y)``, with ``xi_t`` standard normal,
    drawn afresh each round. ``bias`` models a systematic preference unrelated to quality (e.g.
    for longer responses). The paper's theory does not cover this reward (it uses
    ``r_t = log pi_t``); the judge lets the book contrast the two. [reconstructed,
    :ref:`recovered-judge`: a toy of Yuan et al.'s self-judging loop, not the paper's]
    """

    quality: Array  # (m, K)
    bias: Array  # (m, K)
    noise: Array  # () standard deviation of the per-round scoring noise


def judge(quality, bias=None, noise: float = 0.0) -> Judge:
    """Build a checked :class:`Judge` (``bias`` defaults to zero)."""
    quality_array = check.check_finite_array("quality", quality, ndim=2)
    bias_array = np.zeros_like(quality_array) if bias is None else check.check_finite_array(
        "bias", bias, ndim=2)
    if bias_array.shape != quality_array.shape:
        raise ValueError(f"bias must have the shape of quality {quality_array.shape}, "
                         f"got {bias_array.shape}")
    noise = check.check_interval("noise", noise, 0.0, math.inf)
    return Judge(jnp.asarray(quality_array, dtype=jnp.float64),
                 jnp.asarray(bias_array, dtype=jnp.float64), jnp.asarray(noise))


def judge_scores(judge_model: Judge, key: Array) -> Array:
    """One round's scores ``quality + bias + noise * xi`` of a :class:`Judge`, shape ``(m, K)``."""
    xi = jax.random.normal(key, judge_model.quality.shape, dtype=judge_model.quality.dtype)
    return judge_model.quality + judge_model.bias + judge_model.noise * xi


# --------------------------------------------------------------------------------------------
# One round
# --------------------------------------------------------------------------------------------


def population_update(logits: Array, beta: Array | float, reward: Array | None = None) -> Array:
    """Exact (infinite-data) update ``pi_{t+1} ∝ pi_t^(1+1/beta)``, as normalised log-probabilities.

    The maximiser of ``E[r_t] - beta KL(pi || pi_t)`` with ``r_t = log pi_t`` (paper Eq. 2, 12).
    [quoted, v2 text: "Gibbs form"; formula reconstructed, from Huang et al.'s
    ``pi*_beta ∝ pi_base^(1+1/beta)``]

    With another ``reward`` table ``r`` (a judge, shape ``(m, K)``) the maximiser is the Gibbs
    policy ``pi_{t+1} ∝ pi_t exp(r/beta)`` [reconstructed, the DPO optimum, :ref:`recovered-dpo`].
    """
    if reward is None:
        return log_policy((1.0 + 1.0 / beta) * log_policy(logits))
    return log_policy(log_policy(logits) + reward / beta)


def connected_component_labels(u: Array, v: Array, num_nodes: int) -> Array:
    """Label each node of the graph with edges ``(u[i], v[i])`` by the least node of its component.

    Hooking plus pointer jumping (Shiloach-Vishkin style) in a ``while_loop``: labels only
    decrease, always name a node of the same component, and the loop stops when every edge joins
    equal labels and every label is a root, which is exactly the component minimum.
    Self-loops (``u[i] == v[i]``) are allowed and change nothing.
    """

    def body(state):
        labels, _ = state
        label_u, label_v = labels[u], labels[v]
        lower = jnp.minimum(label_u, label_v)
        hooked = labels.at[label_u].min(lower).at[label_v].min(lower)
        jumped = hooked[hooked]
        return jumped, jnp.any(jumped != labels)

    labels0 = jnp.arange(num_nodes)
    labels, _ = lax.while_loop(lambda state: state[1], body, (labels0, jnp.asarray(True)))
    return labels


def erm_change(logits: Array, triples: Triples, beta: Array | float,
               reward: Array | None = None) -> Array:
    """The minimum-norm minimiser ``v`` of the tabular square loss, shape ``(m, K)``.

    Writing ``theta_t`` for the (normalised) logit table and ``v = theta - theta_t``, the loss is
    ``sum_i (beta (v[x_i, y_i] - v[x_i, y'_i]) - (theta_t[x_i, y_i] - theta_t[x_i, y'_i]))^2``,
    which reaches 0. Its minimum-norm minimiser is, for every prompt and every connected
    component C of the graph of sampled pairs ``{y_i, y'_i}``,
    ``v[x, y] = (theta_t[x, y] - mean_{y' in C} theta_t[x, y']) / beta`` for ``y`` in C, and
    ``v = 0`` for responses never sampled (singleton components).
    [reconstructed, :ref:`recovered-erm-tie-break`: the paper states "any ERM"; the tie-break is
    the kit's]

    With another ``reward`` table ``r`` (a judge) the labels are ``r(x, y) - r(x, y')`` and the
    same algebra gives ``v[x, y] = (r[x, y] - mean_{y' in C} r[x, y']) / beta``.
    """
    m, num_responses = logits.shape
    theta = (log_policy(logits) if reward is None else reward).reshape(-1)
    node_y = triples.x * num_responses + triples.y
    node_y_prime = jnp.where(triples.mask, triples.x * num_responses + triples.y_prime, node_y)
    labels = connected_component_labels(node_y, node_y_prime, m * num_responses)
    # One scatter for both the sum of theta and the size of every component.
    totals = jax.ops.segment_sum(jnp.stack([theta, jnp.ones_like(theta)], axis=1), labels,
                                 num_segments=m * num_responses)[labels]
    return ((theta - totals[:, 0] / totals[:, 1]) / beta).reshape(m, num_responses)


def erm_update(logits: Array, triples: Triples, beta: Array | float,
               reward: Array | None = None) -> Array:
    """Square-loss ERM update of the tabular class: ``theta_{t+1} = theta_t + v`` with ``v`` the
    minimum-norm minimiser (:func:`erm_change`), returned as normalised log-probabilities.

    The update is invariant to adding a constant to a row of ``theta_t`` (the policy is), so the
    kit works with normalised log-probabilities throughout.
    [reconstructed, :ref:`recovered-square-loss`, :ref:`recovered-erm-tie-break`]

    ``reward`` replaces the self-reward ``log pi_t`` by another reward table (a judge).
    """
    return log_policy(log_policy(logits) + erm_change(logits, triples, beta, reward))


def feature_differences(features: Array, triples: Triples) -> Array:
    """Rows ``phi(x_i, y_i) - phi(x_i, y'_i)`` of the design matrix D (padding rows are 0)."""
    differences = features[triples.x, triples.y] - features[triples.x, triples.y_prime]
    return jnp.where(triples.mask[:, None], differences, 0.0)


def erm_update_linear(theta: Array, features: Array, triples: Triples, beta: Array | float,
                      reward: Array | None = None) -> Array:
    """Square-loss ERM update of the linear softmax class with the minimum-norm tie-break.

    With ``D`` the matrix of feature differences and ``w = theta - theta_t`` the loss is
    ``||beta D w - D theta_t||^2``; the log-partition functions cancel in the differences. The
    minimum-norm minimiser is ``w = P_D theta_t / beta``, ``P_D`` the orthogonal projection onto
    the row space of D, so ``theta_{t+1} = theta_t + P_D theta_t / beta``.
    [reconstructed, :ref:`recovered-book-own`]

    The row space is read off an SVD with NumPy's default rank tolerance
    ``s_max * max(n, d) * eps`` for the ``n`` real rows (padding rows do not count, so the
    padded length changes nothing but rounding).

    With another ``reward`` table ``r`` (a judge) the labels ``l_i = r(x_i, y_i) - r(x_i, y'_i)``
    need not be realizable; the minimum-norm least-squares solution is ``w = D^+ l / beta``.
    For the self-reward ``l = D theta_t`` and ``D^+ D = P_D``, the formula above.
    """
    design = feature_differences(features, triples)
    labels = (None if reward is None else jnp.where(
        triples.mask, reward[triples.x, triples.y] - reward[triples.x, triples.y_prime], 0.0))
    # Zero rows (padding, pairs with y = y') last: the solution does not depend on the order of
    # the rows, but LAPACK's SVD (gesdd, as called by JAX 0.10 on CPU) returns NaN for some
    # matrices whose zero rows are interleaved with non-zero ones.
    order = jnp.argsort(~jnp.any(design != 0.0, axis=1), stable=True)
    design = design[order]
    left_vectors, singular_values, right_vectors = jnp.linalg.svd(design, full_matrices=False)
    rows = jnp.maximum(jnp.sum(triples.mask), design.shape[1])
    tolerance = singular_values[0] * rows * jnp.finfo(design.dtype).eps
    keep = singular_values > tolerance
    if reward is None:
        projected = right_vectors.T @ jnp.where(keep, right_vectors @ theta, 0.0)
        return theta + projected / beta
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, singular_values, 1.0), 0.0)
    return theta + right_vectors.T @ (inverse * (left_vectors.T @ labels[order])) / beta


def _saturate(theta: Array) -> Array:
    norm = jnp.linalg.norm(theta)
    return jnp.where(norm > THETA_SATURATION, theta * (THETA_SATURATION / norm), theta)


# --------------------------------------------------------------------------------------------
# T rounds
# --------------------------------------------------------------------------------------------


def _round_metrics(instance: Instance, parameter: Array, logits: Array, threshold):
    rho = instance.rho
    if isinstance(instance, LinearInstance):
        theta_norm = jnp.linalg.norm(parameter)
    else:
        centred = parameter - jnp.mean(parameter, axis=-1, keepdims=True)
        theta_norm = jnp.linalg.norm(centred)
    return dict(
        kappa=metrics.condition_number(logits, rho),
        failure=metrics.failure_probability(logits, rho, threshold),
        target_failure=metrics.target_failure(logits, rho, instance.target, threshold),
        mu=metrics.min_confidence(logits, rho),
        gamma=metrics.margin(logits, rho),
        agreement=metrics.agreement(logits, rho, instance.labels),
        theta_norm=theta_norm,
        inside_ball=theta_norm <= instance.radius,
    )


def _no_data(data_length: int) -> Triples:
    empty = jnp.zeros(data_length, dtype=jnp.int32)
    return Triples(empty, empty, empty, jnp.zeros(data_length, dtype=bool))


def _initial_parameter(instance: Instance) -> Array:
    if isinstance(instance, LinearInstance):
        return instance.theta
    return log_policy(instance.logits)


def _to_logits(instance: Instance, parameter: Array) -> Array:
    if isinstance(instance, LinearInstance):
        return linear_logits(instance.features, parameter)
    return parameter


def _step(round_key, instance: Instance, parameter, n, beta, judge_model: Judge | None, *,
          data_length: int, update: str) -> tuple[Array, Triples]:
    """One round from ``parameter``: ``(next parameter, the triples drawn)``. The only
    implementation of a round; :func:`run`, :func:`run_grid` and :func:`one_step` call it."""
    if update == "population":  # draws nothing; a linear judge is excluded by _check_judge
        reward = None if judge_model is None else judge_scores(
            judge_model, jax.random.fold_in(round_key, 1))
        if isinstance(instance, LinearInstance):
            return _saturate((1.0 + 1.0 / beta) * parameter), _no_data(data_length)
        return population_update(parameter, beta, reward), _no_data(data_length)
    # The judge's noise uses a key folded from the round key, so that the data drawn with the
    # round key itself are the same with and without a judge.
    reward = None if judge_model is None else judge_scores(
        judge_model, jax.random.fold_in(round_key, 1))
    logits = _to_logits(instance, parameter)
    triples = sample_triples(round_key, logits, instance.rho, n, data_length)
    if isinstance(instance, LinearInstance):
        return (_saturate(erm_update_linear(parameter, instance.features, triples, beta, reward)),
                triples)
    return erm_update(parameter, triples, beta, reward), triples


def _simulate(key, instance: Instance, n, T, beta, judge_model: Judge | None = None, *,
              data_length: int, rounds: int, update: str, threshold: float, keep_logits: bool,
              keep_parameters: bool = False, keep_triples: bool = False) -> Trajectory:
    def body(parameter, t):
        logits = _to_logits(instance, parameter)
        # Round t's key depends on t only, not on how many rounds are simulated.
        round_key = jax.random.fold_in(key, t)
        # A cond, not a select: when T is shared by the batch (one slider setting for all
        # seeds) the rounds after T cost nothing; under a vmap over T it becomes a select.
        updated, triples = lax.cond(
            t < T,
            lambda: _step(round_key, instance, parameter, n, beta, judge_model,
                          data_length=data_length, update=update),
            lambda: (parameter, _no_data(data_length)))
        new_logits = _to_logits(instance, updated)
        outputs = _round_metrics(instance, updated, new_logits, threshold)
        outputs["step_gap"] = metrics.performance_gap(new_logits, logits, instance.rho)
        outputs["step_retention_failure"] = metrics.target_failure(
            new_logits, instance.rho, jnp.argmax(logits, axis=-1), threshold)
        if keep_logits:
            outputs["logits"] = log_policy(new_logits)
        if keep_parameters:
            outputs["parameters"] = updated
        if keep_triples:
            outputs["triples"] = triples
        return updated, outputs

    parameter0 = _initial_parameter(instance)
    logits0 = _to_logits(instance, parameter0)
    first = _round_metrics(instance, parameter0, logits0, threshold)
    _, rest = lax.scan(body, parameter0, jnp.arange(rounds))
    round_fields = {name: jnp.concatenate([first[name][None], rest[name]]) for name in first}
    return Trajectory(
        **round_fields,
        active=jnp.arange(rounds + 1) <= T,
        step_gap=rest["step_gap"],
        step_retention_failure=rest["step_retention_failure"],
        logits=(jnp.concatenate([log_policy(logits0)[None], rest["logits"]])
                if keep_logits else None),
        parameters=(jnp.concatenate([parameter0[None], rest["parameters"]])
                    if keep_parameters else None),
        triples=rest["triples"] if keep_triples else None,
    )


_STATIC = ("data_length", "rounds", "update", "threshold", "keep_logits", "keep_parameters",
           "keep_triples")


def _spread_seeds(function, keys, shared, seed_axis: int):
    """``function(keys, shared)`` with the seeds split evenly over the local devices.

    Each device runs ``function`` on its block of keys (``shard_map``); ``shared`` (the instance,
    n, T, beta, ...) is copied to every device. The seed count is padded to a multiple of the
    device count with copies of the first key, and the padding is cut off the result (axis
    ``seed_axis`` of every field). Every seed's numbers depend only on its own key, so the
    result does not depend on the number of devices. On one device this is ``function`` itself.
    """
    devices = jax.local_devices()
    if len(devices) == 1:
        return function(keys, shared)
    seeds = keys.shape[0]
    padded = -(-seeds // len(devices)) * len(devices)
    if padded != seeds:
        keys = jnp.concatenate([keys, jnp.broadcast_to(keys[:1], (padded - seeds,))])
    mesh = Mesh(np.asarray(devices), ("seeds",))
    out_spec = PartitionSpec(*([None] * seed_axis), "seeds")
    spread = jax.shard_map(function, mesh=mesh, in_specs=(PartitionSpec("seeds"), PartitionSpec()),
                           out_specs=out_spec, check_vma=False)
    result = spread(keys, shared)
    return jax.tree_util.tree_map(lambda leaf: lax.slice_in_dim(leaf, 0, seeds, axis=seed_axis),
                                  result)


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_seeds(keys, instance, n, T, beta, judge_model=None, **static) -> Trajectory:
    def over_seeds(keys, shared):
        instance, n, T, beta, judge_model = shared
        return jax.vmap(lambda key: _simulate(key, instance, n, T, beta, judge_model,
                                              **static))(keys)

    return _spread_seeds(over_seeds, keys, (instance, n, T, beta, judge_model), seed_axis=0)


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_grid(keys, instances, n_values, betas, T, judge_model=None, **static
                   ) -> Trajectory:
    def over_grid(keys, shared):
        instances, n_values, betas, T, judge_model = shared

        def one(instance, n, beta, key):
            return _simulate(key, instance, n, T, beta, judge_model, **static)

        over_seeds = jax.vmap(one, in_axes=(None, None, None, 0))
        over_betas = jax.vmap(over_seeds, in_axes=(None, None, 0, None))
        over_n = jax.vmap(over_betas, in_axes=(None, 0, None, None))
        over_instances = jax.vmap(over_n, in_axes=(0, None, None, None))
        return over_instances(instances, n_values, betas, keys)

    return _spread_seeds(over_grid, keys, (instances, n_values, betas, T, judge_model),
                         seed_axis=3)


@partial(jax.jit, static_argnames=("data_length", "update"))
def _one_step(key, instance, parameter, n, beta, judge_model=None, *, data_length: int,
              update: str):
    return _step(key, instance, parameter, n, beta, judge_model, data_length=data_length,
                 update=update)


def _trim(trajectory: Trajectory, T: int, n: int | None, round_axis: int) -> Trajectory:
    """Cut a trajectory simulated at a padded shape to rounds ``0..T`` (and ``n`` triples)."""
    def cut(leaf, length, axis):
        return leaf if leaf.shape[axis] == length else lax.slice_in_dim(leaf, 0, length,
                                                                        axis=axis)

    fields = trajectory._asdict()
    for name, value in fields.items():
        if value is None or name == "triples":
            continue
        steps = name.startswith("step_")
        fields[name] = cut(value, T if steps else T + 1, round_axis)
    if trajectory.triples is not None:
        fields["triples"] = Triples(*(cut(cut(part, T, round_axis), n, round_axis + 1)
                                      for part in trajectory.triples))
    return Trajectory(**fields)


def _check_common(instance, T, beta, update, threshold) -> int:
    if not isinstance(instance, TabularInstance | LinearInstance):
        raise TypeError("instance must be a TabularInstance or LinearInstance "
                        f"(see srlm_kit.instances), got {type(instance).__name__}")
    if update not in UPDATES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
    check.check_open_interval("threshold", threshold, 0.0, 1.0)
    T_value = check.check_int("T (number of rounds)", T, 0, MAX_ROUNDS)
    for name, value in (("beta", beta),):
        for item in np.atleast_1d(np.asarray(value, dtype=float)):
            check.check_positive(name, float(item))
    return T_value


def _check_n(n) -> int:
    values = np.atleast_1d(np.asarray(n))
    if not np.issubdtype(values.dtype, np.integer):
        raise TypeError(f"n must be an integer (or integers), got {n!r}")
    if values.min() < 1:
        raise ValueError(f"n (triples per round) must be at least 1, got {int(values.min())}")
    largest = int(values.max())
    if largest > MAX_TRIPLES:
        raise ValueError(f"n (triples per round) must be at most {MAX_TRIPLES}, got {largest}")
    return largest


def _check_shape(shape, n: int, T: int) -> Shape:
    if shape is None:
        return padded_shape(n, T)
    if not isinstance(shape, Shape):
        raise TypeError("shape must be a srlm_kit.dynamics.Shape (from padded_shape), "
                        f"got {type(shape).__name__}")
    check.check_int("shape.data_length", shape.data_length, max(n, 1), MAX_TRIPLES)
    check.check_int("shape.rounds", shape.rounds, max(T, 1), MAX_ROUNDS)
    return Shape(int(shape.data_length), int(shape.rounds))


def _check_judge(judge_model, instance, update: str) -> None:
    if judge_model is None:
        return
    if not isinstance(judge_model, Judge):
        raise TypeError("judge must be a Judge (see srlm_kit.dynamics.judge), "
                        f"got {type(judge_model).__name__}")
    expected = (instance.rho.shape[0],
                (instance.logits if isinstance(instance, TabularInstance)
                 else instance.features).shape[1])
    if tuple(judge_model.quality.shape) != expected:
        raise ValueError(f"judge.quality must have shape (m, K) = {expected}, "
                         f"got {tuple(judge_model.quality.shape)}")
    if isinstance(instance, LinearInstance) and update == "population":
        raise ValueError("update must be 'erm' with a judge in the linear class: the Gibbs "
                         "policy pi_t exp(r/beta) need not be a linear softmax policy")


def _check_key(key) -> Array:
    if isinstance(key, int):
        raise TypeError("key must be a JAX PRNG key such as jax.random.key(0), not an int")
    return key


def run(key: Array, instance: Instance, *, n: int, T: int, beta: float, seeds: int = 1,
        update: str = "erm", threshold: float = 0.5, keep_logits: bool = False,
        judge: Judge | None = None, keep_parameters: bool = False, keep_triples: bool = False,
        shape: Shape | None = None) -> Trajectory:
    """Run ``T`` rounds of self-rewarding from ``instance``, for ``seeds`` independent seeds.

    Returns a :class:`Trajectory` whose fields have a leading seed axis of length ``seeds`` and
    rounds ``0..T``.

    What determines the numbers: seed ``s`` uses the key ``jax.random.split(key, seeds)[s]``,
    round ``t`` of a seed the key ``jax.random.fold_in(seed_key, t)``, and a round draws the
    first ``n`` of a stream of uniform numbers from its key. So the key, ``n``, ``T`` (and the
    instance, ``beta``, ``update``, the judge) fix a seed's numbers in any process; more seeds
    add seeds without changing the first ones; and a run with smaller ``n`` or ``T`` sees a
    prefix of the same data. The shape the run is compiled at (:func:`padded_shape`, the bucket)
    does not enter: in the tabular class the numbers are the same at any shape, in the linear
    class they agree to floating-point rounding (the SVD of a padded design).

    ``update="erm"`` is the finite-sample square-loss ERM (minimum-norm tie-break);
    ``update="population"`` the exact Gibbs update (``n`` is then unused). For the tabular class
    ``theta_norm`` is the norm of the row-centred log-probability table (the one-hot linear
    parameter); it grows with every round and is reported, not enforced.

    ``judge`` (a :class:`Judge`) replaces the self-reward ``log pi_t`` by a separate, noisy and
    possibly biased reward model; ``step_gap`` still measures the gap for the self-reward.

    What else a run records, for experiments that need more than the metrics: ``keep_logits``
    every round's log-probabilities, ``keep_parameters`` every round's parameter (``theta_t``
    of the linear class; the normalised log-probability table of the tabular class), and
    ``keep_triples`` every step's sampled triples (see :class:`Trajectory`).

    ``shape`` (a :class:`Shape`, default ``padded_shape(n, T)``) is for callers that must not
    recompile over a range of settings, such as a live explorer: pass
    ``padded_shape(largest n, largest T)`` and every setting in that range reuses one compiled
    simulation; the result then has ``shape.rounds + 1`` rounds (see :class:`Trajectory`).

    Raises ``ValueError``/``TypeError`` naming the parameter for n < 1, T < 0, beta <= 0,
    a threshold outside (0, 1), an unknown update, or a shape smaller than n or T.
    """
    T_value = _check_common(instance, T, beta, update, threshold)
    largest = _check_n(n)
    explicit = shape is not None
    shape = _check_shape(shape, largest, T_value)
    seeds = check.check_int("seeds", seeds, 1, MAX_SEEDS)
    _check_judge(judge, instance, update)
    keys = jax.random.split(_check_key(key), seeds)
    trajectory = _simulate_seeds(
        keys, instance, jnp.asarray(n), jnp.asarray(T_value),
        jnp.asarray(beta, dtype=jnp.float64), judge, data_length=shape.data_length,
        rounds=shape.rounds, update=update, threshold=float(threshold),
        keep_logits=bool(keep_logits), keep_parameters=bool(keep_parameters),
        keep_triples=bool(keep_triples))
    return trajectory if explicit else _trim(trajectory, T_value, largest, round_axis=1)


def run_grid(key: Array, instances: Instance, n_values, betas, *, T: int, seeds: int,
             update: str = "erm", threshold: float = 0.5,
             judge: Judge | None = None) -> Trajectory:
    """Run a grid of (initialisation, n, beta) for ``seeds`` seeds and ``T`` rounds.

    ``instances`` is a stack of instances of equal shapes (:func:`srlm_kit.instances.stack`).
    Fields have leading axes ``(inits, len(n_values), len(betas), seeds)``, then the round axis
    of length ``T + 1``; every round ``t <= T`` is in it, so one grid serves every T slider value.
    The seeds are shared across grid points (common random numbers), which makes differences
    between neighbouring grid points smoother than independent draws would; every grid point
    has the numbers :func:`run` gives it with the same key (to floating-point rounding: the
    batched arithmetic may round differently). ``judge`` is as in :func:`run` (one
    judge for the whole grid).

    The n values are grouped by the data length of the shape policy (:func:`padded_shape`) and
    each group runs, vmapped over initialisations, betas and seeds, at its own length: a grid
    point with small n costs what its own bucket costs, not what the largest n costs.
    """
    first = jax.tree_util.tree_map(lambda leaf: leaf[0], instances)
    T_value = _check_common(first, T, betas, update, threshold)
    n_values = np.atleast_1d(np.asarray(n_values))
    _check_n(n_values)
    seeds = check.check_int("seeds", seeds, 1, MAX_SEEDS)
    _check_judge(judge, first, update)
    keys = jax.random.split(_check_key(key), seeds)
    beta_values = jnp.atleast_1d(jnp.asarray(betas, dtype=jnp.float64))
    rounds = padded_shape(1, T_value).rounds
    lengths = np.asarray([padded_shape(int(n), T_value).data_length for n in n_values])
    groups = []
    for length in np.unique(lengths):
        members = np.flatnonzero(lengths == length)
        part = _simulate_grid(keys, instances, jnp.asarray(n_values[members]), beta_values,
                              jnp.asarray(T_value), judge, data_length=int(length),
                              rounds=rounds, update=update, threshold=float(threshold),
                              keep_logits=False)
        groups.append((members, part))
    order = np.argsort(np.concatenate([members for members, _ in groups]), kind="stable")
    parts = [part for _, part in groups]
    if len(parts) == 1:
        grid = parts[0]
    else:
        grid = jax.tree_util.tree_map(
            lambda *leaves: jnp.take(jnp.concatenate(leaves, axis=1), order, axis=1), *parts)
    return _trim(grid, T_value, None, round_axis=4)


def one_step(key: Array, instance: Instance, parameter, *, n: int, beta: float,
             update: str = "erm", judge: Judge | None = None) -> tuple[Array, Triples]:
    """One round from ``parameter``: ``(next parameter, the triples drawn)``, the round of
    :func:`run` (which it calls for every round) exposed for one step at a time.

    ``parameter`` is ``theta_t`` for the linear class and a logit table (any normalisation) for
    the tabular class; the next one is returned as :func:`run` records it (``keep_parameters``).
    The triples are drawn with ``key`` itself, so round ``t`` of seed ``s`` of a run is
    ``one_step(jax.random.fold_in(jax.random.split(key, seeds)[s], t), ...)``; they are the
    first ``n`` of a stream, and have length ``n``.
    """
    _check_common(instance, 1, beta, update, 0.5)
    largest = _check_n(n)
    _check_judge(judge, instance, update)
    if isinstance(instance, TabularInstance):
        parameter = log_policy(jnp.asarray(parameter, dtype=jnp.float64))
    shape = padded_shape(largest, 1)
    updated, triples = _one_step(_check_key(key), instance, jnp.asarray(parameter),
                                 jnp.asarray(n), jnp.asarray(beta, dtype=jnp.float64), judge,
                                 data_length=shape.data_length, update=update)
    return updated, Triples(*(part[:largest] for part in triples))


def summarize(values: Array, axis: int = -2) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation over the seed axis (by default the one before rounds)."""
    array = np.asarray(values, dtype=float)
    return array.mean(axis=axis), array.std(axis=axis)


def rounds_until_inside(values: np.ndarray, level: float) -> int | None:
    """First round index at which a curve falls to ``level`` or below, or None if it never does."""
    hits = np.flatnonzero(np.asarray(values) <= level)
    return int(hits[0]) if hits.size else None


def compile_count() -> int:
    """How many versions of the simulation are compiled so far (for the no-recompilation test)."""
    return (_simulate_seeds._cache_size() + _simulate_grid._cache_size()
            + _one_step._cache_size())

