"""Metrics of a policy, computed exactly as finite sums over prompts and responses.

All functions take a logit table ``(m, K)`` and the prompt distribution ``rho`` ``(m,)``. Prompts
with ``rho(x) = 0`` (padding) never count: they are left out of expectations and of the minima
that define ``mu`` and ``gamma``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array

from srlm_kit.policies import log_policy


def top_probability(logits: Array) -> Array:
    """``max_y pi(y|x) = pi(y_pi(x)|x)`` for every prompt, shape ``(m,)``.

    [reconstructed, from the definition of kappa (Eq. 5), whose summand is its inverse;
    :ref:`recovered-kappa`]
    """
    return jnp.exp(jnp.max(log_policy(logits), axis=-1))


def condition_number(logits: Array, rho: Array) -> Array:
    """The policy condition number ``kappa(pi) = E_{x~rho}[1 / max_y pi(y|x)]`` (paper Eq. 5).

    ``1 <= kappa <= K``; ``kappa = 1`` exactly when pi is deterministic on the support of rho.
    [quoted, v2 text: "the expected inverse probability of the policy's own most likely
    response"; formula reconstructed, from the prose]
    """
    return jnp.sum(rho * jnp.exp(-jnp.max(log_policy(logits), axis=-1)))


def condition_excess(logits: Array, rho: Array) -> Array:
    """``kappa(pi) - 1 = E_{x~rho}[sum_{y != y_pi(x)} pi(y|x) / pi(y_pi(x)|x)]``, computed
    without cancellation.

    ``condition_number - 1`` loses every digit once kappa is within ``1e-16`` of 1, which doubly
    exponential sharpening reaches in a few rounds; the sum of ratios to the mode keeps them
    down to the smallest float. A tie for the mode counts the other tied response with ratio 1
    (a two-way tie gives 1, as ``1/max - 1`` does). Works on any leading axes of ``logits``.
    [reconstructed, by algebra from Eq. 5: ``1/pi(y_pi) - 1 = (1 - pi(y_pi))/pi(y_pi)``;
    :ref:`recovered-kappa`]
    """
    log_probs = log_policy(jnp.asarray(logits))
    top = jnp.max(log_probs, axis=-1, keepdims=True)
    is_mode = jnp.arange(log_probs.shape[-1]) == jnp.argmax(log_probs, axis=-1)[..., None]
    ratios = jnp.where(is_mode, 0.0, jnp.exp(log_probs - top))
    return jnp.sum(jnp.asarray(rho) * jnp.sum(ratios, axis=-1), axis=-1)


def failure_probability(logits: Array, rho: Array, threshold: float = 0.5) -> Array:
    """``P_{x~rho}[max_y pi(y|x) <= threshold]``: the model puts at most ``threshold`` of its mass
    on its own most likely response (Theorem 4.1, Theorem 5.3; threshold 1/2 as in the paper).

    [quoted, v2 text: the threshold 1/2; formula reconstructed, from the prose]
    """
    return jnp.sum(rho * (top_probability(logits) <= threshold))


def target_failure(logits: Array, rho: Array, target: Array, threshold: float = 0.5) -> Array:
    """``P_{x~rho}[pi(target(x)|x) <= threshold]``: failure with respect to a designated response.

    With ``target`` the previous round's mode, this is the left side of Lemma C.1.
    [reconstructed, :ref:`recovered-book-own`]
    """
    target_log_prob = jnp.take_along_axis(log_policy(logits), target[:, None], axis=-1)[:, 0]
    return jnp.sum(rho * (jnp.exp(target_log_prob) <= threshold))


def min_confidence(logits: Array, rho: Array) -> Array:
    """``mu(pi) = min_{x in supp rho} max_y pi(y|x)``, one round's term of Definition 5.2.

    The paper's ``mu`` is the minimum of this over rounds (take it with ``trajectory.mu.min()``).
    [quoted, v2 text: "across all inputs and update rounds"; formula reconstructed]
    """
    return jnp.min(jnp.where(rho > 0, top_probability(logits), jnp.inf))


def margin(logits: Array, rho: Array) -> Array:
    """``gamma(pi) = min_{x in supp rho} [log pi(y_pi(x)|x) - max_{y != y_pi(x)} log pi(y|x)]``.

    The smallest log-probability gap between the mode and its strongest competitor; one round's
    term of Definition 5.2. ``gamma = 0`` when some prompt has tied modes.
    [quoted, v2 text for the notion; formula reconstructed, from the LLM summary]
    """
    log_probs = log_policy(logits)
    top = jnp.max(log_probs, axis=-1)
    # Mask the first maximiser only, so that tied modes give a gap of exactly 0.
    is_mode = jnp.arange(log_probs.shape[-1]) == jnp.argmax(log_probs, axis=-1)[:, None]
    runner_up = jnp.max(jnp.where(is_mode, -jnp.inf, log_probs), axis=-1)
    gaps = top - runner_up
    return jnp.min(jnp.where(rho > 0, gaps, jnp.inf))


def expected_reward(logits: Array, reward: Array, rho: Array) -> Array:
    """``J(pi) = E_{x~rho, y~pi(.|x)}[r(x, y)]`` for a reward table ``r`` of shape ``(m, K)``.

    [quoted, v2 text for the performance functional; formula reconstructed, from the prose]
    """
    probs = jnp.exp(log_policy(logits))
    return jnp.sum(rho * jnp.sum(probs * reward, axis=-1))


def performance_gap(logits: Array, reference_logits: Array, rho: Array) -> Array:
    """``J(pi*) - J(pi)`` for the self-reward ``r = log pi_ref`` of the reference policy.

    ``pi*`` is the deterministic comparator ``1{y = argmax_y r(x, y)}``, so
    ``J(pi*) - J(pi) = E_x[max_y r(x, y) - sum_y pi(y|x) r(x, y)] >= 0``. With ``pi = pi_{t+1}`` and
    ``pi_ref = pi_t`` this is the gap of Lemma C.1 and Eq. 40.
    [quoted, v2 text: "deterministic comparator model"; formula reconstructed, from the prose]
    """
    reward = log_policy(reference_logits)
    probs = jnp.exp(log_policy(logits))
    per_prompt = jnp.max(reward, axis=-1) - jnp.sum(probs * reward, axis=-1)
    return jnp.sum(rho * jnp.maximum(per_prompt, 0.0))


def agreement(logits: Array, rho: Array, labels: Array) -> Array:
    """``P_{x~rho}[argmax_y pi(y|x) = label(x) | x has a label]``: agreement with external labels.

    Prompts whose label is ``-1`` are ignored; 0 when no prompt has a label.
    [reconstructed, :ref:`recovered-book-own`: external labels are the book's device, not the
    paper's]
    """
    labelled = (labels >= 0) & (rho > 0)
    weight = jnp.sum(jnp.where(labelled, rho, 0.0))
    hits = jnp.sum(jnp.where(labelled & (jnp.argmax(logits, axis=-1) == labels), rho, 0.0))
    return jnp.where(weight > 0, hits / jnp.where(weight > 0, weight, 1.0), 0.0)
