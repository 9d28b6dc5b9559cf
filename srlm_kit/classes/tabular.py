"""The tabular class: a table of logits, fitted by the exact minimum-norm ERM.

The parameter is the table of normalised log-probabilities ``theta_t[x, y] = log pi_t(y|x)``,
shape ``(m, K)`` (the linear class with one-hot features, :ref:`recovered-book-own`). Its
updates: the exact Gibbs update :func:`population_update` and the square-loss ERM with the
minimum-norm tie-break :func:`erm_update`. ``CLASS`` is the class as the engine uses it
(:class:`srlm_kit.classes.PolicyClass`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array, lax

from srlm_kit.classes import PolicyClass
from srlm_kit.instances import TabularInstance
from srlm_kit.policies import Triples, log_policy


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


def _initial_parameter(instance: TabularInstance) -> Array:
    return log_policy(instance.logits)


def _logits(instance: TabularInstance, parameter: Array) -> Array:
    return parameter


def _erm_update(instance: TabularInstance, parameter: Array, logits: Array, triples: Triples,
                beta, reward) -> tuple[Array, dict]:
    return erm_update(parameter, triples, beta, reward), {}


def _population_update(instance: TabularInstance, parameter: Array, beta, reward) -> Array:
    return population_update(parameter, beta, reward)


def parameter_norm(instance: TabularInstance, parameter: Array) -> Array:
    """The norm of the row-centred log-probability table (the one-hot linear parameter)."""
    centred = parameter - jnp.mean(parameter, axis=-1, keepdims=True)
    return jnp.linalg.norm(centred)


def _check_run(instance: TabularInstance, update: str, has_judge: bool) -> None:
    """Every update, with or without a judge."""


#: The tabular class as the engine calls it (registered in :data:`srlm_kit.dynamics.CLASSES`).
CLASS = PolicyClass(
    name="tabular", initial_parameter=_initial_parameter, logits=_logits,
    erm_update=_erm_update, population_update=_population_update,
    parameter_norm=parameter_norm, check_run=_check_run)
