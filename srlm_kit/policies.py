"""Policies: tabular and linear softmax models, their log-probabilities, and sampling.

A *policy* on ``m`` prompts and ``K`` responses is stored as a table of logits of shape
``(m, K)``; ``pi(y|x) = softmax(logits[x])[y]``. The linear softmax class (paper Definition 6.1)
produces such a table from features ``phi(x, y)`` in R^d and a parameter ``theta``:
``logits[x, y] = <theta, phi(x, y)>``. The tabular class is the linear class with one-hot features
(:ref:`recovered-book-own`).

Everything here is a pure function on arrays and works under ``jit`` and ``vmap``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import Array, lax

from srlm_kit import _validation as check

#: Normalised log-probabilities are clipped from below at this value. ``exp(LOG_FLOOR)`` is 0 in
#: float64, so clipping never changes a probability; it keeps repeated sharpening (which
#: multiplies log-probabilities by ``1 + 1/beta`` every round) finite instead of ``-inf``, and
#: ``-inf - (-inf)`` can never produce a NaN downstream.
LOG_FLOOR = -1.0e4


class Triples(NamedTuple):
    """A dataset D_t of triples (x, y, y'), padded to a fixed length ``n_max``.

    ``mask[i]`` is True for the first ``n`` triples, the real data; the rest are padding that
    every consumer ignores. Fixed shapes let ``n`` change without recompiling.
    """

    x: Array
    y: Array
    y_prime: Array
    mask: Array


def log_policy(logits: Array) -> Array:
    """Normalised log-probabilities ``log pi(y|x) = logits[x,y] - logsumexp(logits[x])``.

    Computed stably (max-shifted ``logsumexp``) and clipped below at :data:`LOG_FLOOR`.
    [reconstructed, standard softmax; clipping is a numerical convention of the kit;
    :ref:`recovered-setting`]
    """
    return jnp.maximum(jax.nn.log_softmax(logits, axis=-1), LOG_FLOOR)


def policy_probs(logits: Array) -> Array:
    """Probabilities ``pi(y|x) = softmax(logits[x])[y]``, rows summing to 1.

    [reconstructed, standard softmax; :ref:`recovered-setting`]
    """
    return jnp.exp(log_policy(logits))


def self_reward(logits: Array) -> Array:
    """The self-reward of the current model, ``r_t(x, y) = log pi_t(y|x)`` (paper Eq. 1).

    [quoted, v2 text: the reward is "defined as its log-probability"; formula reconstructed]
    """
    return log_policy(logits)


def linear_logits(features: Array, theta: Array) -> Array:
    """Logits of the linear softmax model, ``logits[x, y] = <theta, phi(x, y)>`` (Definition 6.1).

    ``features`` has shape ``(m, K, d)`` with ``||phi(x, y)||_2 <= 1``; ``theta`` has shape
    ``(d,)``. [quoted, v2 text for the class; formula reconstructed, standard form]
    """
    return jnp.einsum("xyd,d->xy", features, theta)


def mode(logits: Array) -> Array:
    """The policy's own most likely response ``y_pi(x) = argmax_y pi(y|x)`` (lowest index on ties).

    [quoted, v2 text: the failure event is about the model's "own optimal response"; formula
    reconstructed, from the prose]
    """
    return jnp.argmax(logits, axis=-1)


def _first_above(cumulative: Array, values: Array, low: Array, width: int) -> Array:
    """For each query, the first index i in [low, low + width) with cumulative[i] > value.

    A binary search with a fixed number of steps (ceil(log2(width)) + 1), each one gather, so
    the cost per query is that of the row searched, not of the whole array.
    """
    high = low + width

    def halve(_, bounds):
        lower, upper = bounds
        middle = (lower + upper) // 2
        go_right = cumulative[jnp.minimum(middle, cumulative.shape[0] - 1)] <= values
        return jnp.where(go_right, middle + 1, lower), jnp.where(go_right, upper, middle)

    steps = max(1, math.ceil(math.log2(width)) + 1)
    lower, _ = lax.fori_loop(0, steps, halve, (low, high))
    return jnp.minimum(lower, low + width - 1)


def sample_triples(key: Array, logits: Array, rho: Array, n: Array | int, n_max: int) -> Triples:
    """Draw the dataset D_t: ``x ~ rho``, then ``y, y' ~ pi(.|x)`` independently given ``x``.

    [quoted, v2 text: "Conditioned on x, the random draws ... are independent"]

    Returns ``n_max`` triples of which the first ``n`` are real (``mask``). Sampling is by the
    inverse CDF: a uniform ``u`` is mapped to the first index whose cumulative probability
    exceeds ``u`` (so a zero-probability prompt or response is never drawn). Responses are
    searched within their prompt's row of the cumulative table.
    """
    m, num_responses = logits.shape
    key_x, key_y, key_y_prime = jax.random.split(key, 3)
    dtype = logits.dtype

    rho_cumulative = jnp.cumsum(rho)
    u_x = jax.random.uniform(key_x, (n_max,), dtype=dtype) * rho_cumulative[-1]
    x = _first_above(rho_cumulative, u_x, jnp.zeros(n_max, dtype=jnp.int32), m)

    cumulative = jnp.cumsum(policy_probs(logits), axis=1)
    flat_cumulative = cumulative.reshape(-1)
    row_start = x * num_responses
    row_total = cumulative[x, -1]

    def draw_response(subkey):
        u = jax.random.uniform(subkey, (n_max,), dtype=dtype) * row_total
        return _first_above(flat_cumulative, u, row_start, num_responses) - row_start

    mask = jnp.arange(n_max) < n
    return Triples(x=x, y=draw_response(key_y), y_prime=draw_response(key_y_prime), mask=mask)


@check.checker(lambda name, logits: None)
def validate_logits(name: str, logits) -> None:
    """Check a logit table: finite, shape (m, K) with m >= 1 and K >= 2."""
    if not check.is_concrete(logits):
        return
    array = check.check_finite_array(name, logits, ndim=2)
    if array.shape[0] < 1 or array.shape[1] < 2:
        raise ValueError(f"{name} must have shape (m, K) with m >= 1 prompts and K >= 2 "
                         f"responses, got {array.shape}")


@check.checker(lambda name, features, tolerance=1e-9: None)
def validate_features(name: str, features, tolerance: float = 1e-9) -> None:
    """Check a feature array: finite, shape (m, K, d), every ||phi(x, y)||_2 <= 1."""
    if not check.is_concrete(features):
        return
    import numpy as np

    array = check.check_finite_array(name, features, ndim=3)
    if array.shape[1] < 2 or array.shape[2] < 1:
        raise ValueError(f"{name} must have shape (m, K, d) with K >= 2 and d >= 1, "
                         f"got {array.shape}")
    largest = float(np.linalg.norm(array, axis=-1).max())
    if largest > 1 + tolerance:
        raise ValueError(f"{name} must satisfy ||phi(x, y)||_2 <= 1 (Definition 6.1), "
                         f"got a largest norm of {largest}")
