"""A small autoregressive transformer in the self-rewarding loop, measured exactly.

The other modules of the kit work with a table of logits (or a linear softmax policy) and the
exact minimum-norm ERM. Here the policy is a neural language model: a one-layer decoder-only
transformer over a vocabulary of ``V`` tokens that writes a response of ``L`` tokens after a
one-token prompt. It is small (a few thousand parameters) and so are ``V`` and ``L``, so that
every response's probability can be *enumerated*: the whole table ``log pi(y|x)`` over the
``m`` prompts and ``V^L`` responses costs one forward pass over ``m V^(L-1)`` inputs. Every
metric of :mod:`srlm_kit.metrics` (kappa, failure, the gap) then applies to that table exactly.

One round of the loop (the book's own experiment; the paper has none):

1. draw ``n`` prompts ``x ~ rho`` and two responses ``y, y'`` for each from the current model,
   token by token with its own sampler (:func:`sample_responses`);
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

Shapes never depend on ``n``, ``beta``, the loss, the number of rounds or of steps: data are
drawn at a fixed length with a mask, and rounds and steps beyond the requested ones are skipped
with ``lax.cond``. So one compiled loop serves every setting of a figure.
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array, lax

from srlm_kit import _validation as check
from srlm_kit import dynamics, metrics
from srlm_kit.instances import AutoregressiveModel, sequence_log_probs
from srlm_kit.policies import log_policy

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
    target = dynamics.population_update(previous_logits, beta)
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


class Data(NamedTuple):
    """One round's data: ``n_max`` triples of which the first ``n`` are real (``mask``).

    ``y`` and ``y_prime`` are response numbers (:func:`srlm_kit.instances.sequence_index`);
    ``labels`` the self-reward differences ``log pi_t(y|x) - log pi_t(y'|x)``.
    """

    x: Array
    y: Array
    y_prime: Array
    labels: Array
    mask: Array


def round_loss(params: dict, architecture: Architecture, data: Data, previous_table: Array,
               beta: Array, logistic: Array | bool) -> Array:
    """The mean loss over the ``n`` real triples of ``data`` (:func:`pair_losses`).

    ``log pi(y|x)`` is read from the enumerated table (:func:`sequence_table`), which is exact
    and costs the same for every ``n``.
    """
    change = sequence_table(params, architecture) - previous_table
    margins = beta * (change[data.x, data.y] - change[data.x, data.y_prime])
    losses = pair_losses(margins, data.labels, logistic)
    return jnp.sum(jnp.where(data.mask, losses, 0.0)) / jnp.maximum(jnp.sum(data.mask), 1)


def draw_data(key: Array, table: Array, rho: Array, n: Array, n_max: int) -> Data:
    """Draw one round's data from the current model: ``x ~ rho``, then ``y, y' ~ pi(.|x)``
    independently, labelled by the model's own log-likelihood difference.

    ``table`` is the model's :func:`sequence_table`; drawing a response from its row is drawing
    it token by token with :func:`sample_responses` (the same distribution, by the chain rule),
    without running the network once per token.
    """
    key_x, key_y, key_y_prime = jax.random.split(key, 3)
    x = jax.random.categorical(key_x, jnp.log(rho), shape=(n_max,))
    y = jax.random.categorical(key_y, table[x], axis=-1)
    y_prime = jax.random.categorical(key_y_prime, table[x], axis=-1)
    return Data(x, y, y_prime, table[x, y] - table[x, y_prime], jnp.arange(n_max) < n)


def fit(params: dict, architecture: Architecture, data: Data, previous_table: Array,
        beta: Array, logistic, steps: Array, learning_rate: float, steps_max: int
        ) -> tuple[dict, Array]:
    """Fit the next model: ``steps`` full-batch Adam steps (optax) from ``params``, whose
    table is ``previous_table``.

    Returns the fitted parameters and the final mean loss. Steps beyond ``steps`` (up to the
    static ``steps_max``) are skipped by ``lax.cond``, so ``steps`` can change without
    recompiling; when it is the same for a whole batch the skipped steps cost nothing.
    """
    optimiser = optax.adam(learning_rate)

    def loss_of(candidate):
        return round_loss(candidate, architecture, data, previous_table, beta, logistic)

    def step(state, index):
        def update(state):
            current, optimiser_state = state
            gradient = jax.grad(loss_of)(current)
            updates, optimiser_state = optimiser.update(gradient, optimiser_state, current)
            return optax.apply_updates(current, updates), optimiser_state

        return lax.cond(index < steps, update, lambda state: state, state), None

    (fitted, _), _ = lax.scan(step, (params, optimiser.init(params)), jnp.arange(steps_max))
    return fitted, loss_of(fitted)


# --------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------


class Trajectory(NamedTuple):
    """Per-round exact metrics of a run (leading axes for settings and seeds, then rounds).

    Round-indexed fields have length ``T_max + 1`` (rounds ``0..T_max``; after the run's own
    number of rounds the model is frozen). Step-indexed fields (``gap``, ``kl_to_gibbs``,
    ``excess_loss``) have length ``T_max``: entry ``t`` describes the fit from ``pi_t`` to
    ``pi_{t+1}`` (for ``t`` at or after the run's last round, the model is unchanged, the gap
    and the excess are 0, and ``kl_to_gibbs`` compares the frozen model with its own target).
    """

    kappa: Array  # kappa(pi_t)
    failure: Array  # P_x[max_y pi_t(y|x) <= threshold]
    alpha: Array  # max_x alpha(x): the largest per-token top probability
    alpha_bound: Array  # E_x[alpha(x)^(-L)] <= kappa
    gap: Array  # J_t(pi*_t) - J_t(pi_{t+1}) for the reward log pi_t
    kl_to_gibbs: Array  # E_x KL(pi_{t+1} || pi_t^(1+1/beta) normalised)
    excess_loss: Array  # final training loss minus its floor (0 = exact ERM on the data)


def _table_metrics(params, architecture, rho, threshold):
    tables = conditional_tables(params, architecture)
    table = jax.vmap(lambda *steps: sequence_log_probs(AutoregressiveModel(steps)))(*tables)
    alpha = token_top_probability(tables)
    return table, {"kappa": metrics.condition_number(table, rho),
                   "failure": metrics.failure_probability(table, rho, threshold),
                   "alpha": jnp.max(jnp.where(rho > 0, alpha, 0.0)),
                   "alpha_bound": alpha_bound(alpha, rho, architecture.length)}


def _simulate(key, params0, rho, n, beta, logistic, steps, rounds, learning_rate, *,
              architecture: Architecture, n_max: int, T_max: int, steps_max: int,
              threshold: float) -> Trajectory:
    def body(state, inputs):
        params, previous_table = state
        t, round_key = inputs

        def one_round(params):
            data = draw_data(round_key, previous_table, rho, n, n_max)
            fitted, final_loss = fit(params, architecture, data, previous_table, beta, logistic,
                                     steps, learning_rate, steps_max)
            floor = jnp.sum(jnp.where(data.mask, pair_loss_floor(data.labels, logistic), 0.0))
            return fitted, final_loss - floor / jnp.maximum(jnp.sum(data.mask), 1)

        updated, excess = lax.cond(t < rounds, one_round,
                                   lambda params: (params, jnp.zeros((), jnp.float64)), params)
        table, outputs = _table_metrics(updated, architecture, rho, threshold)
        outputs["gap"] = metrics.performance_gap(table, previous_table, rho)
        outputs["kl_to_gibbs"] = kl_to_gibbs(table, previous_table, beta, rho)
        outputs["excess_loss"] = excess
        return (updated, table), outputs

    table0, first = _table_metrics(params0, architecture, rho, threshold)
    _, rest = lax.scan(body, (params0, table0),
                       (jnp.arange(T_max), jax.random.split(key, T_max)))
    rounds_fields = {name: jnp.concatenate([first[name][None], rest[name]]) for name in first}
    return Trajectory(**rounds_fields, gap=rest["gap"], kl_to_gibbs=rest["kl_to_gibbs"],
                      excess_loss=rest["excess_loss"])


_STATIC = ("architecture", "n_max", "T_max", "steps_max", "threshold")


@partial(jax.jit, static_argnames=_STATIC)
def _simulate_grid(keys, params0, rho, n_values, betas, losses, steps, rounds, learning_rate,
                   **static) -> Trajectory:
    # One vmap over the flattened grid (loss, n, beta, seed): nested vmaps would add an array
    # axis each, beyond what XLA's CPU kernels accept.
    grid = jnp.meshgrid(jnp.arange(losses.shape[0]), jnp.arange(n_values.shape[0]),
                        jnp.arange(betas.shape[0]), jnp.arange(keys.shape[0]), indexing="ij")
    loss_index, n_index, beta_index, seed_index = (axis.reshape(-1) for axis in grid)

    def one(n, beta, logistic, key):
        return _simulate(key, params0, rho, n, beta, logistic, steps, rounds, learning_rate,
                         **static)

    flat = jax.vmap(one)(n_values[n_index], betas[beta_index], losses[loss_index],
                         keys[seed_index])
    shape = (losses.shape[0], n_values.shape[0], betas.shape[0], keys.shape[0])
    return jax.tree_util.tree_map(lambda leaf: leaf.reshape(*shape, *leaf.shape[1:]), flat)


def run_grid(key: Array, params0: dict, architecture: Architecture, rho, *, n_values, betas,
             losses=LOSSES, rounds: int, steps: int, seeds: int, learning_rate: float = 0.02,
             n_max: int | None = None, T_max: int | None = None, steps_max: int | None = None,
             threshold: float = 0.5) -> Trajectory:
    """Run the loop for every (loss, n, beta) and ``seeds`` seeds, ``rounds`` rounds each.

    Fields have leading axes ``(len(losses), len(n_values), len(betas), seeds)``, then rounds.
    Seed ``s`` uses ``jax.random.split(key, seeds)[s]`` (shared across settings: common random
    numbers) and round ``t`` the ``t``-th of ``T_max`` keys split from it. ``n_max``, ``T_max``
    and ``steps_max`` (default: the largest ``n``, ``rounds``, ``steps``) fix the compiled
    shapes; calls that share them, the architecture and the number of settings and seeds
    compile once, whatever ``n``, ``beta``, the losses, ``rounds`` and ``steps``.

    Raises ``ValueError``/``TypeError`` naming the parameter for an unknown loss, ``n < 1`` or
    above ``n_max``, ``beta <= 0``, ``rounds`` outside ``[0, T_max]``, ``steps`` outside
    ``[0, steps_max]``, a non-positive learning rate, or a ``rho`` that is not a distribution
    over the architecture's prompts.
    """
    check_architecture(architecture)
    if isinstance(key, int):
        raise TypeError("key must be a JAX PRNG key such as jax.random.key(0), not an int")
    rho = check.check_distribution("rho", rho, size=architecture.num_prompts)
    losses = list(losses)
    if not losses or any(loss not in LOSSES for loss in losses):
        raise ValueError(f"losses must be a non-empty list of {LOSSES}, got {losses}")
    n_array = np.atleast_1d(np.asarray(n_values))
    if n_array.ndim != 1 or not np.issubdtype(n_array.dtype, np.integer):
        raise TypeError(f"n_values must be a list of integers, got {n_values!r}")
    if n_array.min() < 1:
        raise ValueError(f"n (triples per round) must be at least 1, got {int(n_array.min())}")
    n_max = int(n_array.max()) if n_max is None else check.check_int("n_max", n_max, minimum=1)
    if n_array.max() > n_max:
        raise ValueError(f"n (triples per round) must be at most n_max = {n_max}, "
                         f"got {int(n_array.max())}")
    beta_array = np.atleast_1d(np.asarray(betas, dtype=float))
    for beta in beta_array:
        check.check_positive("beta", float(beta))
    rounds = check.check_int("rounds", rounds, minimum=0)
    T_max = max(rounds, 1) if T_max is None else check.check_int("T_max", T_max, minimum=1)
    check.check_int("rounds", rounds, minimum=0, maximum=T_max)
    steps = check.check_int("steps (Adam steps per round)", steps, minimum=0)
    steps_max = max(steps, 1) if steps_max is None else check.check_int("steps_max", steps_max,
                                                                        minimum=1)
    check.check_int("steps (Adam steps per round)", steps, minimum=0, maximum=steps_max)
    seeds = check.check_int("seeds", seeds, minimum=1)
    learning_rate = check.check_positive("learning_rate", learning_rate)
    check.check_open_interval("threshold", threshold, 0.0, 1.0)
    return _simulate_grid(
        jax.random.split(key, seeds), params0, jnp.asarray(rho, dtype=jnp.float64),
        jnp.asarray(n_array), jnp.asarray(beta_array, dtype=jnp.float64),
        jnp.asarray([loss == "logistic" for loss in losses]), jnp.asarray(steps),
        jnp.asarray(rounds), jnp.asarray(learning_rate, dtype=jnp.float64),
        architecture=architecture, n_max=n_max, T_max=T_max, steps_max=steps_max,
        threshold=float(threshold))
