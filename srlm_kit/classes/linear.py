"""The linear softmax class (Definition 6.1), fitted by the minimum-norm ERM.

The parameter is ``theta`` in R^d and ``pi_theta(y|x) ∝ exp(<theta, phi(x, y)>)``. Its updates:
the exact population update ``theta -> (1 + 1/beta) theta`` (the Gibbs policy
``pi_theta^(1+1/beta)`` is the linear policy of that parameter) and the square-loss ERM with the
minimum-norm tie-break :func:`erm_update_linear`. ``CLASS`` is the class as the engine uses
it (:class:`srlm_kit.classes.PolicyClass`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from srlm_kit.classes import PolicyClass
from srlm_kit.instances import LinearInstance
from srlm_kit.policies import Triples, linear_logits

#: In the linear class the parameter grows by up to ``1 + 1/beta`` per round; beyond this norm it
#: is rescaled. The update is linear in ``theta`` (``theta -> (I + P/beta) theta``), so the
#: direction of every later iterate is unchanged; only the (already near-deterministic) policy's
#: temperature is frozen. This keeps ``beta = 1e-4`` over 50 rounds finite.
THETA_SATURATION = 1.0e6


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


def saturate(theta: Array) -> Array:
    """``theta`` rescaled to norm :data:`THETA_SATURATION` when it is longer."""
    norm = jnp.linalg.norm(theta)
    return jnp.where(norm > THETA_SATURATION, theta * (THETA_SATURATION / norm), theta)


def _initial_parameter(instance: LinearInstance) -> Array:
    return instance.theta


def _logits(instance: LinearInstance, parameter: Array) -> Array:
    return linear_logits(instance.features, parameter)


def _erm_update(instance: LinearInstance, parameter: Array, logits: Array, triples: Triples,
                beta, reward) -> tuple[Array, dict]:
    return saturate(erm_update_linear(parameter, instance.features, triples, beta, reward)), {}


def _population_update(instance: LinearInstance, parameter: Array, beta, reward) -> Array:
    """``theta -> (1 + 1/beta) theta``: ``pi_theta^(1+1/beta)`` is the linear policy of that
    parameter. [reconstructed, the Gibbs form of the KL-regularised target,
    :ref:`recovered-gibbs`]"""
    return saturate((1.0 + 1.0 / beta) * parameter)


def _parameter_norm(instance: LinearInstance, parameter: Array) -> Array:
    return jnp.linalg.norm(parameter)


def _check_run(instance: LinearInstance, update: str, has_judge: bool) -> None:
    if has_judge and update == "population":
        raise ValueError("update must be 'erm' with a judge in the linear class: the Gibbs "
                         "policy pi_t exp(r/beta) need not be a linear softmax policy")


#: The linear softmax class as the engine calls it (registered in
#: :data:`srlm_kit.dynamics.CLASSES`).
CLASS = PolicyClass(
    name="linear", initial_parameter=_initial_parameter, logits=_logits,
    erm_update=_erm_update, population_update=_population_update,
    parameter_norm=_parameter_norm, check_run=_check_run)
