"""A small autoregressive transformer in the self-rewarding loop, measured exactly.

The other modules of the kit work with a table of logits (or a linear softmax policy) and the
exact minimum-norm ERM. Here the policy is a neural language model: a one-layer decoder-only
transformer over a vocabulary of ``V`` tokens that writes a response of ``L`` tokens after a
one-token prompt. It is small (a few thousand parameters) and so are ``V`` and ``L``, so that
every response's probability can be *enumerated*: the whole table ``log pi(y|x)`` over the
``m`` prompts and ``V^L`` responses costs one forward pass over ``m V^(L-1)`` inputs. Every
metric of :mod:`srlm_kit.metrics` (kappa, failure, the gap) then applies to that table exactly.

One round of the loop (the book's own experiment; the paper has none):

1. draw ``n`` prompts ``x ~ rho`` and two responses ``y, y'`` for each from the current model
   (from its enumerated table, :func:`srlm_kit.policies.sample_triples`: the distribution of
   drawing token by token with :func:`sample_responses`, by the chain rule);
2. label each pair with the model's own log-likelihood difference
   ``psi = log pi_t(y|x) - log pi_t(y'|x)`` (the self-reward ``r_t = log pi_t``);
3. fit the next model by Adam, starting from the current parameters, for a given number of
   full-batch steps, on one of two losses of the margin ``psihat = r_pi(y) - r_pi(y')`` with
   the implicit reward ``r_pi(y) = beta (log pi(y|x) - log pi_t(y|x))``:

   * ``"square"``: ``(psihat - psi)^2``, the theory's square loss [reconstructed,
     :ref:`recovered-square-loss`];
   * ``"logistic"``: ``-sigmoid(psi) log sigmoid(psihat) - sigmoid(-psi) log sigmoid(-psihat)``,
     the logistic DPO loss with the Bradley-Terry preference probability ``sigmoid(psi)`` of
     the self-reward as its target; it is the expected value of the usual DPO loss
     ``-log sigmoid(psihat)`` on a pair whose order is drawn from that preference
     [reconstructed, the DPO optimum under a Bradley-Terry preference, :ref:`recovered-dpo`].

   Both are minimised at ``psihat = psi`` for every pair, so with infinite data and a class that can
   represent it, both fit the Gibbs policy ``pi_t^(1+1/beta)``
   (:func:`srlm_kit.dynamics.population_update`).

The loop is the engine's (:mod:`srlm_kit.dynamics`): build a start with :func:`instance` (or one
per loss with :func:`instances`) and pass it to :func:`srlm_kit.dynamics.run` or
:func:`srlm_kit.dynamics.run_grid`; the class's side of a round is
:mod:`srlm_kit.classes.transformer`. The architecture is static and everything else (``n``,
``beta``, the loss, the rounds, the Adam steps, the learning rate) is an array, so moving any of
them does not recompile.
"""

from __future__ import annotations

import dataclasses
import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array, lax

from srlm_kit import _validation as check
from srlm_kit.classes.tabular import population_update
from srlm_kit.instances import AutoregressiveModel, sequence_log_probs
from srlm_kit.policies import Triples, log_policy

#: Precision of the network's parameters and activations. The exact metrics are computed from
#: the table of sequence log-probabilities in float64 (:func:`sequence_table`).
DTYPE = jnp.float32

#: The two losses of the fit, in the order of the ``loss`` axis of the experiments.
LOSSES = ("square", "logistic")


class Architecture(NamedTuple):
    """Sizes of the transformer (all static: they fix the shapes of every array).

    ``vocabulary`` response tokens ``0..V-1``; prompts are the extra tokens ``V..V+m-1``;
    responses have ``length`` tokens; ``width`` is the model dimension, ``heads`` the number of
    attention heads (dividing ``width``), ``hidden`` the width of the feed-forward layer.
    """

    vocabulary: int = 4
    length: int = 3
    num_prompts: int = 4
    width: int = 16
    heads: int = 2
    hidden: int = 32


@check.checker(lambda architecture: architecture)
def check_architecture(architecture: Architecture) -> Architecture:
    """``architecture`` with every size checked (ValueError naming the size otherwise)."""
    if not isinstance(architecture, Architecture):
        raise TypeError("architecture must be a srlm_kit.transformer.Architecture, "
                        f"got {type(architecture).__name__}")
    check.check_int("vocabulary", architecture.vocabulary, minimum=2, maximum=16)
    check.check_int("length", architecture.length, minimum=1, maximum=6)
    check.check_int("num_prompts", architecture.num_prompts, minimum=1, maximum=64)
    check.check_int("width", architecture.width, minimum=2)
    check.check_int("heads", architecture.heads, minimum=1)
    check.check_int("hidden", architecture.hidden, minimum=1)
    if architecture.width % architecture.heads:
        raise ValueError(f"heads must divide width, got width {architecture.width} and "
                         f"heads {architecture.heads}")
    if architecture.num_prompts * architecture.vocabulary ** architecture.length > 200_000:
        raise ValueError("num_prompts * vocabulary^length must be at most 200000 so that the "
                         "responses can be enumerated")
    return architecture


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


def init_params(key: Array, architecture: Architecture, output_scale: float = 1.0) -> dict:
    """Random parameters: normal weights with variance ``1/fan_in``, zero biases, unit gains;
    the output layer is multiplied by ``output_scale`` (larger: a more confident start).

    A plain dict of arrays (a JAX pytree), so that optax and ``jax.grad`` handle it directly.
    """
    V, L, m, d, f = (architecture.vocabulary, architecture.length, architecture.num_prompts,
                     architecture.width, architecture.hidden)
    keys = iter(jax.random.split(key, 9))

    def normal(shape, fan_in):
        return jax.random.normal(next(keys), shape, dtype=DTYPE) / math.sqrt(fan_in)

    ones, zeros = partial(jnp.ones, dtype=DTYPE), partial(jnp.zeros, dtype=DTYPE)
    return {
        "token_embedding": normal((V + m, d), 1), "position_embedding": normal((L, d), 1),
        "attention_norm": {"gain": ones(d), "bias": zeros(d)},
        "query": normal((d, d), d), "key": normal((d, d), d), "value": normal((d, d), d),
        "attention_out": normal((d, d), d),
        "mlp_norm": {"gain": ones(d), "bias": zeros(d)},
        "mlp_in": normal((d, f), d), "mlp_in_bias": zeros(f),
        "mlp_out": normal((f, d), f), "mlp_out_bias": zeros(d),
        "final_norm": {"gain": ones(d), "bias": zeros(d)},
        "unembedding": output_scale * normal((d, V), d), "unembedding_bias": zeros(V),
    }


def parameter_count(params: dict) -> int:
    """The number of scalar parameters of the model."""
    return int(sum(leaf.size for leaf in jax.tree_util.tree_leaves(params)))


def _layer_norm(values: Array, norm: dict) -> Array:
    mean = jnp.mean(values, axis=-1, keepdims=True)
    variance = jnp.var(values, axis=-1, keepdims=True)
    return (values - mean) / jnp.sqrt(variance + 1e-5) * norm["gain"] + norm["bias"]


def next_token_logits(params: dict, architecture: Architecture, inputs: Array) -> Array:
    """Next-token logits of the transformer, shape ``(..., L, V)``.

    ``inputs`` has shape ``(..., L)``: the prompt token ``V + x`` followed by the first
    ``L - 1`` response tokens. Output ``h`` depends on inputs ``0..h`` only (causal attention)
    and gives the logits of response token ``h + 1`` after the prompt and ``h`` response tokens.
    One pre-norm block: ``u = e + Attention(LN(e))``, ``w = u + MLP(LN(u))``, logits
    ``LN(w) U + b``. [reconstructed, the standard decoder-only transformer; the book's choice of
    sizes, :ref:`recovered-book-own`]
    """
    heads = architecture.heads
    embedded = params["token_embedding"][inputs] + params["position_embedding"]
    normed = _layer_norm(embedded, params["attention_norm"])
    *batch, length, width = normed.shape

    def split(matrix):
        return (normed @ matrix).reshape(*batch, length, heads, width // heads)

    query, key, value = split(params["query"]), split(params["key"]), split(params["value"])
    scores = jnp.einsum("...qhc,...khc->...hqk", query, key) / math.sqrt(width // heads)
    causal = jnp.tril(jnp.ones((length, length), dtype=bool))
    weights = jax.nn.softmax(jnp.where(causal, scores, -jnp.inf), axis=-1)
    attended = jnp.einsum("...hqk,...khc->...qhc", weights, value).reshape(*batch, length, width)
    hidden = embedded + attended @ params["attention_out"]
    mlp = jax.nn.gelu(_layer_norm(hidden, params["mlp_norm"]) @ params["mlp_in"]
                      + params["mlp_in_bias"])
    hidden = hidden + mlp @ params["mlp_out"] + params["mlp_out_bias"]
    return (_layer_norm(hidden, params["final_norm"]) @ params["unembedding"]
            + params["unembedding_bias"])


def _enumeration_inputs(architecture: Architecture) -> np.ndarray:
    """Every input the model can see, shape ``(m, V^(L-1), L)``: prompt token, then the digits
    of ``j`` in base ``V`` (first token most significant, as
    :func:`srlm_kit.instances.sequence_tokens`)."""
    V, L, m = architecture.vocabulary, architecture.length, architecture.num_prompts
    count = V ** (L - 1)
    powers = V ** np.arange(L - 2, -1, -1) if L > 1 else np.zeros(0, dtype=int)
    digits = (np.arange(count)[:, None] // powers) % V
    prompts = np.broadcast_to((V + np.arange(m))[:, None, None], (m, count, 1))
    return np.concatenate([prompts, np.broadcast_to(digits, (m, count, L - 1))], axis=-1)


def conditional_tables(params: dict, architecture: Architecture) -> tuple[Array, ...]:
    """The model's next-token log-probabilities after every prefix, one table per step.

    Table ``h`` has shape ``(m, V^h, V)``: row ``p`` is ``log pi(. | x, prefix p)`` for the
    prefix of ``h`` tokens whose base-``V`` number is ``p``, the layout of
    :class:`srlm_kit.instances.AutoregressiveModel` for each prompt. One forward pass over the
    ``m V^(L-1)`` possible inputs gives all of them: position ``h`` of the
    input with number ``p V^(L-1-h)`` has exactly the prefix ``p`` before it.
    """
    V, L, m = architecture.vocabulary, architecture.length, architecture.num_prompts
    # One flat batch of inputs: few array axes keep XLA's CPU kernels within their rank limits
    # when the loop is vmapped over settings.
    inputs = jnp.asarray(_enumeration_inputs(architecture).reshape(-1, L))
    log_probs = jax.nn.log_softmax(next_token_logits(params, architecture, inputs), axis=-1)
    log_probs = log_probs.astype(jnp.float64).reshape(m, V ** (L - 1), L, V)
    return tuple(log_probs[:, ::V ** (L - 1 - step)][:, :, step] for step in range(L))


def sequence_table(params: dict, architecture: Architecture) -> Array:
    """``log pi(y|x)`` for every prompt and every one of the ``V^L`` responses, shape ``(m, V^L)``.

    ``log pi(y|x) = sum_h log pi(y_h | x, y_<h)`` (the chain rule of an autoregressive model),
    with response ``y`` numbered as in :func:`srlm_kit.instances.sequence_index`. This is the
    policy's logit table: every function of :mod:`srlm_kit.metrics` takes it as is.
    """
    tables = conditional_tables(params, architecture)
    return jax.vmap(lambda *steps: sequence_log_probs(AutoregressiveModel(steps)))(*tables)


def sequence_log_likelihood(params: dict, architecture: Architecture, prompts: Array,
                            responses: Array) -> Array:
    """``log pi(y|x)`` of given responses (shape ``(..., L)``) by one teacher-forced pass.

    The same numbers as reading :func:`sequence_table` (a check of the enumeration), for any
    batch of prompts ``(...,)``.
    """
    V = architecture.vocabulary
    inputs = jnp.concatenate([(V + prompts)[..., None], responses[..., :-1]], axis=-1)
    log_probs = jax.nn.log_softmax(next_token_logits(params, architecture, inputs), axis=-1)
    return jnp.sum(jnp.take_along_axis(log_probs, responses[..., None], axis=-1)[..., 0],
                   axis=-1)


def sample_responses(key: Array, params: dict, architecture: Architecture,
                     prompts: Array) -> Array:
    """Responses drawn from the model token by token (ancestral sampling), shape ``(n, L)``.

    Token ``h`` is drawn from ``softmax`` of the model's logits after the prompt and the tokens
    drawn so far; ``prompts`` has shape ``(n,)`` with entries in ``0..m-1``.
    """
    V, L = architecture.vocabulary, architecture.length
    prompts = prompts.astype(jnp.int32)
    inputs = jnp.zeros((prompts.shape[0], L), dtype=jnp.int32).at[:, 0].set(V + prompts)
    tokens = []
    for step, step_key in enumerate(jax.random.split(key, L)):
        logits = next_token_logits(params, architecture, inputs)[:, step]
        token = jax.random.categorical(step_key, logits, axis=-1).astype(jnp.int32)
        tokens.append(token)
        if step + 1 < L:
            inputs = inputs.at[:, step + 1].set(token)
    return jnp.stack(tokens, axis=-1)


# --------------------------------------------------------------------------------------------
# Exact metrics on the enumerated distribution
# --------------------------------------------------------------------------------------------


def token_top_probability(tables: tuple[Array, ...]) -> Array:
    """``alpha(x) = max_{h, prefix} max_v pi(v | x, prefix)``, the largest per-token top
    probability of each prompt, shape ``(m,)``, from :func:`conditional_tables`.

    Remark 4.2's quantity: every sequence has probability at most ``alpha^L``, so
    ``kappa >= E_x[alpha(x)^(-L)]`` (:func:`alpha_bound`). [quoted, v2 text for the example;
    formula reconstructed, from Remark 4.2's prose, :ref:`recovered-rem-4-2`]
    """
    return jnp.stack([jnp.exp(jnp.max(table, axis=(1, 2))) for table in tables]).max(axis=0)


def alpha_bound(alpha: Array, rho: Array, length: int) -> Array:
    """Remark 4.2's lower bound on the condition number, ``E_{x~rho}[alpha(x)^(-L)] <= kappa``.

    [reconstructed, from Remark 4.2's prose, :ref:`recovered-rem-4-2`]
    """
    return jnp.sum(rho * alpha ** (-length))


def kl_to_gibbs(logits: Array, previous_logits: Array, beta: Array | float, rho: Array) -> Array:
    """``E_{x~rho} KL(pi_{t+1}(.|x) || pi*_t(.|x))`` with ``pi*_t ∝ pi_t^(1+1/beta)``, the Gibbs
    target of the round (:func:`srlm_kit.dynamics.population_update`).

    Zero exactly when the fitted model is the population update. [reconstructed,
    the Gibbs form of the KL-regularised target, :ref:`recovered-gibbs`]
    """
    fitted = log_policy(logits)
    target = population_update(previous_logits, beta)
    per_prompt = jnp.sum(jnp.exp(fitted) * (fitted - target), axis=-1)
    return jnp.sum(rho * jnp.maximum(per_prompt, 0.0))


# --------------------------------------------------------------------------------------------
# The losses
# --------------------------------------------------------------------------------------------


def pair_losses(margins: Array, labels: Array, logistic: Array | bool) -> Array:
    """Per-pair loss of the margin ``psihat = r_pi(y) - r_pi(y')`` against the label ``psi``.

    ``(psihat - psi)^2`` (square) or ``-sigmoid(psi) log sigmoid(psihat) - sigmoid(-psi) log
    sigmoid(-psihat)`` (logistic);
    ``logistic`` may be a traced boolean. [reconstructed, the square loss of the setup chapter and
    the DPO optimum under a Bradley-Terry preference, :ref:`recovered-dpo`]
    """
    square = (margins - labels) ** 2
    preference = jax.nn.sigmoid(labels)
    cross_entropy = -(preference * jax.nn.log_sigmoid(margins)
                      + (1.0 - preference) * jax.nn.log_sigmoid(-margins))
    return jnp.where(logistic, cross_entropy, square)


def pair_loss_floor(labels: Array, logistic: Array | bool) -> Array:
    """The smallest value of :func:`pair_losses` over the margin, reached at ``psihat = psi``:
    0 (square) or the binary entropy of ``sigmoid(psi)`` (logistic)."""
    return pair_losses(labels, labels, logistic)


def round_loss(params: dict, architecture: Architecture, triples: Triples, labels: Array,
               previous_table: Array, beta: Array, logistic: Array | bool) -> Array:
    """The mean loss over the ``n`` real triples (``triples.mask``) of :func:`pair_losses`, with
    ``labels`` the targets ``psi`` of the pairs and ``previous_table`` the table of ``pi_t``.

    ``log pi(y|x)`` is read from the enumerated table (:func:`sequence_table`), which is exact
    and costs the same for every ``n``.
    """
    change = sequence_table(params, architecture) - previous_table
    margins = beta * (change[triples.x, triples.y] - change[triples.x, triples.y_prime])
    losses = pair_losses(margins, labels, logistic)
    return (jnp.sum(jnp.where(triples.mask, losses, 0.0))
            / jnp.maximum(jnp.sum(triples.mask), 1))


def fit(params: dict, architecture: Architecture, triples: Triples, labels: Array,
        previous_table: Array, beta: Array, logistic: Array | bool, steps: Array,
        learning_rate: Array | float) -> tuple[dict, Array]:
    """Fit the next model: ``steps`` full-batch Adam steps (optax) on :func:`round_loss` from
    ``params``, whose table is ``previous_table``.

    Returns the fitted parameters and the final mean loss. ``steps`` may be a traced integer: the
    steps run in a ``fori_loop`` whose length is ``steps`` itself, so changing it does not
    recompile and a batch sharing one ``steps`` does no extra work.
    """
    optimiser = optax.adam(learning_rate)

    def loss_of(candidate):
        return round_loss(candidate, architecture, triples, labels, previous_table, beta,
                          logistic)

    def step(_, state):
        current, optimiser_state = state
        gradient = jax.grad(loss_of)(current)
        updates, optimiser_state = optimiser.update(gradient, optimiser_state, current)
        return optax.apply_updates(current, updates), optimiser_state

    fitted, _ = lax.fori_loop(0, steps, step, (params, optimiser.init(params)))
    return fitted, loss_of(fitted)


# --------------------------------------------------------------------------------------------
# The transformer as an instance of the engine
# --------------------------------------------------------------------------------------------


@partial(jax.tree_util.register_dataclass,
         data_fields=["params", "rho", "target", "labels", "radius", "logistic", "steps",
                      "learning_rate"],
         meta_fields=["architecture"])
@dataclasses.dataclass(frozen=True)
class TransformerInstance:
    """A start for :func:`srlm_kit.dynamics.run` and :func:`~srlm_kit.dynamics.run_grid`: the
    transformer's parameters and how each round fits the next model (build it with
    :func:`instance` or :func:`instances`).

    A JAX pytree whose ``architecture`` is static (part of the compiled program's identity, not
    an array), so runs that change ``n``, ``beta``, the rounds, the loss, the number of Adam
    steps or the learning rate reuse one compiled simulation. ``target`` is the mode of the
    start (``pi_0``'s own most likely response), ``labels`` are absent (``-1``) and there is no
    ball (``radius = inf``).
    """

    params: dict  # the network's parameters (init_params)
    rho: Array  # (m,) prompt distribution
    target: Array  # (m,) int, the mode of pi_0
    labels: Array  # (m,) int, -1: no external labels
    radius: Array  # () inf: no ball
    logistic: Array  # () bool: logistic DPO loss (True) or square loss (False)
    steps: Array  # () int: Adam steps per round
    learning_rate: Array  # () Adam's learning rate
    architecture: Architecture


#: Largest number of Adam steps per round a run accepts.
MAX_STEPS = 100_000


@check.entry_point
def instance(params: dict, architecture: Architecture, rho, *, loss: str = "square",
             steps: int, learning_rate: float = 0.02) -> TransformerInstance:
    """A checked :class:`TransformerInstance`: start from ``params`` (:func:`init_params` of
    ``architecture``), prompts ``x ~ rho``, and each round ``steps`` full-batch Adam steps at
    ``learning_rate`` on the ``loss`` (``"square"`` or ``"logistic"``, :func:`pair_losses`).

    Raises ``ValueError``/``TypeError`` naming the parameter for an unknown loss, ``steps``
    outside ``[0, MAX_STEPS]``, a non-positive learning rate, parameters that are not those of
    the architecture, or a ``rho`` that is not a distribution over its prompts.
    """
    check_architecture(architecture)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    steps = check.check_int("steps (Adam steps per round)", steps, minimum=0, maximum=MAX_STEPS)
    learning_rate = check.check_positive("learning_rate", learning_rate)
    rho = check.check_distribution("rho", rho, size=architecture.num_prompts)
    expected = jax.eval_shape(partial(init_params, architecture=architecture),
                              jax.random.key(0))
    same = (jax.tree_util.tree_structure(params) == jax.tree_util.tree_structure(expected)
            and all(np.shape(leaf) == reference.shape for leaf, reference in zip(
                jax.tree_util.tree_leaves(params), jax.tree_util.tree_leaves(expected),
                strict=True)))
    if not same:
        raise ValueError("params must have the structure and shapes of "
                         "init_params(key, architecture)")
    params = jax.tree_util.tree_map(lambda leaf: jnp.asarray(leaf, dtype=DTYPE), params)
    m = architecture.num_prompts
    return TransformerInstance(
        params=params, rho=jnp.asarray(rho, dtype=jnp.float64),
        target=jnp.argmax(sequence_table(params, architecture), axis=-1),
        labels=jnp.full((m,), -1), radius=jnp.asarray(math.inf),
        logistic=jnp.asarray(loss == "logistic"), steps=jnp.asarray(steps),
        learning_rate=jnp.asarray(learning_rate, dtype=jnp.float64), architecture=architecture)


def instances(params: dict, architecture: Architecture, rho, *, losses=LOSSES, steps: int,
              learning_rate: float = 0.02) -> TransformerInstance:
    """One :func:`instance` per loss in ``losses``, stacked along a leading axis: the first
    argument of :func:`srlm_kit.dynamics.run_grid`, whose first grid axis is then the loss."""
    losses = list(losses)
    if not losses or any(loss not in LOSSES for loss in losses):
        raise ValueError(f"losses must be a non-empty list of {LOSSES}, got {losses}")
    starts = [instance(params, architecture, rho, loss=loss, steps=steps,
                       learning_rate=learning_rate) for loss in losses]
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *starts)
