"""The self-rewarding iteration: one round's update, and ``run`` over T rounds.

One round (:ref:`recovered-data`, :ref:`recovered-operator`, :ref:`recovered-erm-tie-break`):

1. draw ``n`` triples ``(x, y, y')`` with ``x ~ rho`` and ``y, y' ~ pi_t(.|x)``;
2. label each pair with the self-reward difference ``log pi_t(y|x) - log pi_t(y'|x)``;
3. fit the next policy by the DPO-style square loss
   ``sum (beta log[pi(y|x)/pi_t(y|x)] - beta log[pi(y'|x)/pi_t(y'|x)] - label)^2``.

With infinite data the fit is the Gibbs policy ``pi_t^(1+1/beta)`` (the *population update*).
With ``n`` samples the minimiser is not unique; the kit takes the minimum-norm change of the
parameter from ``theta_t`` (the limit of gradient descent started at ``theta_t``).

The round is the same for every class of policies; what depends on the class (the parameter,
its table of log-probabilities, the fit, extra metrics) is a
:class:`~srlm_kit.classes.PolicyClass`, found from the instance's type in :data:`CLASSES`: the
tabular and linear classes with the exact minimum-norm ERM, and the small transformer of
:mod:`srlm_kit.transformer` fitted by Adam.

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
from srlm_kit.classes import PolicyClass, linear, tabular
from srlm_kit.classes import transformer as transformer_class
from srlm_kit.classes.linear import THETA_SATURATION, erm_update_linear, feature_differences
from srlm_kit.classes.tabular import (
    connected_component_labels,
    erm_change,
    erm_update,
    population_update,
)
from srlm_kit.instances import Instance, LinearInstance, TabularInstance
from srlm_kit.policies import Triples, log_policy, sample_triples
from srlm_kit.transformer import TransformerInstance

# The updates of the tabular and the linear class live in their modules (srlm_kit.classes) and
# are part of this module's interface too.
__all__ = [
    "CLASSES", "policy_class", "UPDATES", "MAX_ROUNDS", "MAX_TRIPLES", "MAX_SEEDS",
    "MIN_DATA_LENGTH", "MIN_ROUNDS", "Shape", "padded_shape", "Trajectory", "Judge", "judge",
    "judge_scores", "population_update", "connected_component_labels", "erm_change",
    "erm_update", "feature_differences", "erm_update_linear", "THETA_SATURATION", "run",
    "run_grid", "one_step", "summarize", "rounds_until_inside", "compile_count",
]

#: The policy classes the engine knows, by the type of their instances. A new class is one
#: module of :mod:`srlm_kit.classes` (its :class:`~srlm_kit.classes.PolicyClass`) and one line
#: here.
CLASSES: dict[type, PolicyClass] = {
    TabularInstance: tabular.CLASS,
    LinearInstance: linear.CLASS,
    TransformerInstance: transformer_class.CLASS,
}


def policy_class(instance) -> PolicyClass:
    """The :class:`~srlm_kit.classes.PolicyClass` of an instance (TypeError if there is none)."""
    try:
        return CLASSES[type(instance)]
    except KeyError:
        names = ", ".join(kind.__name__ for kind in CLASSES)
        raise TypeError(f"instance must be one of {names} (see srlm_kit.instances and "
                        f"srlm_kit.transformer), got {type(instance).__name__}") from None

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
    theta_norm: Array  # parameter norm (linear: ||theta_t||; tabular: see run(); the class's)
    inside_ball: Array  # theta_norm <= radius: realizability (Assumption 5.1) still possible
    active: Array  # t <= T
    step_gap: Array  # J_t(pi*_t) - J_t(pi_{t+1}) for the reward r_t = log pi_t
    step_retention_failure: Array  # P_x[pi_{t+1}(y*_t(x)|x) <= threshold], y*_t = mode of pi_t
    logits: Array | None = None  # (T + 1, m, K) when keep_logits=True
    # (T + 1, d) for the linear class, (T + 1, m, K) normalised log-probabilities for the
    # tabular class, the transformer's parameters with a round axis, when keep_parameters=True
    parameters: Array | None = None
    # Triples with fields of shape (T, n), when keep_triples=True: entry t is the data of the
    # step from pi_t to pi_{t+1}; mask is False for the population update (which draws nothing),
    # and, with an explicit shape, for padding and steps after T
    triples: Triples | None = None
    # Metrics of one class only (see its module in srlm_kit.classes), by name; names starting
    # with "step_" are step-indexed. None for a class without any (tabular, linear).
    extra: dict | None = None


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


@check.entry_point
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


# --------------------------------------------------------------------------------------------
# T rounds
# --------------------------------------------------------------------------------------------


def _round_metrics(kind: PolicyClass, instance, parameter, logits: Array, threshold):
    rho = instance.rho
    theta_norm = kind.parameter_norm(instance, parameter)
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


def _step(round_key, instance, parameter, n, beta, judge_model: Judge | None, *,
          data_length: int, update: str) -> tuple[Array, Triples, dict]:
    """One round from ``parameter``: ``(next parameter, the triples drawn, the fit's aux)``.
    The only implementation of a round; :func:`run`, :func:`run_grid` and :func:`one_step` call
    it, and the instance's class (:func:`policy_class`) supplies the policy and its fit."""
    kind = policy_class(instance)
    # The judge's noise uses a key folded from the round key, so that the data drawn with the
    # round key itself are the same with and without a judge.
    reward = None if judge_model is None else judge_scores(
        judge_model, jax.random.fold_in(round_key, 1))
    if update == "population":  # draws nothing; check_run excludes classes without one
        return (kind.population_update(instance, parameter, beta, reward),
                _no_data(data_length), {})
    logits = kind.logits(instance, parameter)
    triples = sample_triples(round_key, logits, instance.rho, n, data_length)
    updated, aux = kind.erm_update(instance, parameter, logits, triples, beta, reward)
    return updated, triples, aux


def _simulate(key, instance, n, T, beta, judge_model: Judge | None = None, *,
              data_length: int, rounds: int, update: str, threshold: float, keep_logits: bool,
              keep_parameters: bool = False, keep_triples: bool = False) -> Trajectory:
    kind = policy_class(instance)

    def step(parameter, round_key):
        return _step(round_key, instance, parameter, n, beta, judge_model,
                     data_length=data_length, update=update)

    def extra_round_metrics(parameter, logits):
        return ({} if kind.round_metrics is None
                else kind.round_metrics(instance, parameter, logits))

    def body(parameter, t):
        logits = kind.logits(instance, parameter)
        # Round t's key depends on t only, not on how many rounds are simulated.
        round_key = jax.random.fold_in(key, t)
        # A skipped round records zeros for the fit's own metrics.
        skipped_aux = jax.tree_util.tree_map(
            lambda leaf: jnp.zeros(leaf.shape, leaf.dtype),
            jax.eval_shape(step, parameter, round_key)[2])
        # A cond, not a select: when T is shared by the batch (one slider setting for all
        # seeds) the rounds after T cost nothing; under a vmap over T it becomes a select.
        updated, triples, aux = lax.cond(
            t < T, lambda: step(parameter, round_key),
            lambda: (parameter, _no_data(data_length), skipped_aux))
        new_logits = kind.logits(instance, updated)
        outputs = _round_metrics(kind, instance, updated, new_logits, threshold)
        outputs["step_gap"] = metrics.performance_gap(new_logits, logits, instance.rho)
        outputs["step_retention_failure"] = metrics.target_failure(
            new_logits, instance.rho, jnp.argmax(logits, axis=-1), threshold)
        extra = extra_round_metrics(updated, new_logits)
        if kind.step_metrics is not None:
            steps = kind.step_metrics(instance, logits, new_logits, beta)
            extra.update({f"step_{name}": value for name, value in steps.items()})
        extra.update({f"step_{name}": value for name, value in aux.items()})
        outputs["extra"] = extra
        if keep_logits:
            outputs["logits"] = log_policy(new_logits)
        if keep_parameters:
            outputs["parameters"] = updated
        if keep_triples:
            outputs["triples"] = triples
        return updated, outputs

    parameter0 = kind.initial_parameter(instance)
    logits0 = kind.logits(instance, parameter0)
    first = _round_metrics(kind, instance, parameter0, logits0, threshold)
    first_extra = extra_round_metrics(parameter0, logits0)
    _, rest = lax.scan(body, parameter0, jnp.arange(rounds))
    round_fields = {name: jnp.concatenate([first[name][None], rest[name]]) for name in first}
    extra = {name: (value if name.startswith("step_")
                    else jnp.concatenate([first_extra[name][None], value]))
             for name, value in rest["extra"].items()}
    return Trajectory(
        **round_fields,
        active=jnp.arange(rounds + 1) <= T,
        step_gap=rest["step_gap"],
        step_retention_failure=rest["step_retention_failure"],
        logits=(jnp.concatenate([log_policy(logits0)[None], rest["logits"]])
                if keep_logits else None),
        parameters=(jax.tree_util.tree_map(
            lambda first_leaf, leaves: jnp.concatenate([first_leaf[None], leaves]),
            parameter0, rest["parameters"]) if keep_parameters else None),
        triples=rest["triples"] if keep_triples else None,
        extra=extra or None,
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

        # One vmap over the flattened (n, beta, seed) grid inside one over the instances: every
        # nested vmap adds an array axis, and four would take the transformer's attention
        # beyond the tensor rank XLA's CPU kernels accept.
        grid = jnp.meshgrid(jnp.arange(n_values.shape[0]), jnp.arange(betas.shape[0]),
                            jnp.arange(keys.shape[0]), indexing="ij")
        n_index, beta_index, seed_index = (axis.reshape(-1) for axis in grid)

        def one(instance, n, beta, key):
            return _simulate(key, instance, n, T, beta, judge_model, **static)

        def points(instance):
            return jax.vmap(one, in_axes=(None, 0, 0, 0))(
                instance, n_values[n_index], betas[beta_index], keys[seed_index])

        flat = jax.vmap(points)(instances)
        sizes = (n_values.shape[0], betas.shape[0], keys.shape[0])
        return jax.tree_util.tree_map(
            lambda leaf: leaf.reshape(leaf.shape[0], *sizes, *leaf.shape[2:]), flat)

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

    def cut_rounds(name, value):
        return cut(value, T if name.startswith("step_") else T + 1, round_axis)

    fields = trajectory._asdict()
    for name, value in fields.items():
        if value is None or name == "triples":
            continue
        if name == "extra":
            fields[name] = {key: cut_rounds(key, part) for key, part in value.items()}
        elif name == "parameters":
            fields[name] = jax.tree_util.tree_map(lambda leaf: cut(leaf, T + 1, round_axis),
                                                  value)
        else:
            fields[name] = cut_rounds(name, value)
    if trajectory.triples is not None:
        fields["triples"] = Triples(*(cut(cut(part, T, round_axis), n, round_axis + 1)
                                      for part in trajectory.triples))
    return Trajectory(**fields)


@check.checker(lambda instance, T, *args, **kwargs: int(T))
def _check_common(instance, T, beta, update, threshold, judge_model=None) -> int:
    kind = policy_class(instance)
    if update not in UPDATES:
        raise ValueError(f"update must be one of {UPDATES}, got {update!r}")
    kind.check_run(instance, update, judge_model is not None)
    check.check_open_interval("threshold", threshold, 0.0, 1.0)
    T_value = check.check_int("T (number of rounds)", T, 0, MAX_ROUNDS)
    for name, value in (("beta", beta),):
        for item in np.atleast_1d(np.asarray(value, dtype=float)):
            check.check_positive(name, float(item))
    return T_value


@check.checker(lambda n: int(np.max(n)))
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


def _trusted_shape(shape, n: int, T: int) -> Shape:
    return padded_shape(n, T) if shape is None else Shape(int(shape.data_length), int(shape.rounds))


@check.checker(_trusted_shape)
def _check_shape(shape, n: int, T: int) -> Shape:
    if shape is None:
        return padded_shape(n, T)
    if not isinstance(shape, Shape):
        raise TypeError("shape must be a srlm_kit.dynamics.Shape (from padded_shape), "
                        f"got {type(shape).__name__}")
    check.check_int("shape.data_length", shape.data_length, max(n, 1), MAX_TRIPLES)
    check.check_int("shape.rounds", shape.rounds, max(T, 1), MAX_ROUNDS)
    return Shape(int(shape.data_length), int(shape.rounds))


@check.checker(lambda judge_model, instance: None)
def _check_judge(judge_model, instance) -> None:
    if judge_model is None:
        return
    if not isinstance(judge_model, Judge):
        raise TypeError("judge must be a Judge (see srlm_kit.dynamics.judge), "
                        f"got {type(judge_model).__name__}")
    kind = policy_class(instance)
    expected = jax.eval_shape(lambda: kind.logits(instance, kind.initial_parameter(instance)))
    if tuple(judge_model.quality.shape) != tuple(expected.shape):
        raise ValueError(f"judge.quality must have shape (m, K) = {tuple(expected.shape)}, "
                         f"got {tuple(judge_model.quality.shape)}")


@check.checker(lambda key: key)
def _check_key(key) -> Array:
    if isinstance(key, int):
        raise TypeError("key must be a JAX PRNG key such as jax.random.key(0), not an int")
    return key


@check.entry_point
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
    ``keep_triples`` every step's sampled triples (see :class:`Trajectory`). A class with
    metrics of its own records them in ``Trajectory.extra`` (the transformer's:
    :mod:`srlm_kit.classes.transformer`).

    ``shape`` (a :class:`Shape`, default ``padded_shape(n, T)``) is for callers that must not
    recompile over a range of settings, such as a live explorer: pass
    ``padded_shape(largest n, largest T)`` and every setting in that range reuses one compiled
    simulation; the result then has ``shape.rounds + 1`` rounds (see :class:`Trajectory`).

    Raises ``ValueError``/``TypeError`` naming the parameter for n < 1, T < 0, beta <= 0,
    a threshold outside (0, 1), an unknown update, or a shape smaller than n or T.
    """
    _check_judge(judge, instance)
    T_value = _check_common(instance, T, beta, update, threshold, judge)
    largest = _check_n(n)
    explicit = shape is not None
    shape = _check_shape(shape, largest, T_value)
    seeds = check.check_int("seeds", seeds, 1, MAX_SEEDS)
    keys = jax.random.split(_check_key(key), seeds)
    trajectory = _simulate_seeds(
        keys, instance, jnp.asarray(n), jnp.asarray(T_value),
        jnp.asarray(beta, dtype=jnp.float64), judge, data_length=shape.data_length,
        rounds=shape.rounds, update=update, threshold=float(threshold),
        keep_logits=bool(keep_logits), keep_parameters=bool(keep_parameters),
        keep_triples=bool(keep_triples))
    return trajectory if explicit else _trim(trajectory, T_value, largest, round_axis=1)


@check.entry_point
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
    _check_judge(judge, first)
    T_value = _check_common(first, T, betas, update, threshold, judge)
    n_values = np.atleast_1d(np.asarray(n_values))
    _check_n(n_values)
    seeds = check.check_int("seeds", seeds, 1, MAX_SEEDS)
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
    _check_judge(judge, instance)
    _check_common(instance, 1, beta, update, 0.5, judge)
    largest = _check_n(n)
    if isinstance(instance, TabularInstance):  # a logit table of any normalisation
        parameter = log_policy(jnp.asarray(parameter, dtype=jnp.float64))
    shape = padded_shape(largest, 1)
    updated, triples, _ = _one_step(
        _check_key(key), instance, jax.tree_util.tree_map(jnp.asarray, parameter),
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

