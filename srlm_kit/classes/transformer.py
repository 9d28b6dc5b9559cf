"""The small transformer of :mod:`srlm_kit.transformer` as a policy class of the engine.

The parameter is the network's parameters; the policy's table ``log pi(y|x)`` is enumerated
exactly (:func:`srlm_kit.transformer.sequence_table`), so the engine draws triples from it and
measures it like any other table. The finite-sample update is the fit of
:func:`srlm_kit.transformer.fit`: ``instance.steps`` full-batch Adam steps from the current
parameters on the square or the logistic DPO loss (``instance.logistic``) of the margins
against the labels (the self-reward ``log pi_t(y|x) - log pi_t(y'|x)``, or a judge's). The class
has no exact population update: the Gibbs policy ``pi_t^(1+1/beta)`` need not be a transformer
with these sizes.

Besides the engine's metrics a run records, in ``Trajectory.extra``:

* ``alpha``: ``max_x alpha(x)``, the largest per-token top probability over prompts in the
  support of ``rho`` (:func:`srlm_kit.transformer.token_top_probability`);
* ``alpha_bound``: Remark 4.2's ``E_x[alpha(x)^(-L)] <= kappa``
  (:func:`srlm_kit.transformer.alpha_bound`);
* ``step_kl_to_gibbs``: ``E_x KL(pi_{t+1} || pi_t^(1+1/beta))``, how far the fit lands from
  the round's Gibbs target (:func:`srlm_kit.transformer.kl_to_gibbs`);
* ``step_excess_loss``: the final training loss minus its floor (0: the data are fitted
  exactly, :func:`srlm_kit.transformer.pair_loss_floor`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import Array

from srlm_kit import transformer as model
from srlm_kit.classes import PolicyClass
from srlm_kit.policies import Triples


def _initial_parameter(instance: model.TransformerInstance) -> dict:
    return instance.params


def _logits(instance: model.TransformerInstance, parameter: dict) -> Array:
    return model.sequence_table(parameter, instance.architecture)


def _erm_update(instance: model.TransformerInstance, parameter: dict, logits: Array,
                triples: Triples, beta, reward) -> tuple[dict, dict]:
    scores = logits if reward is None else reward
    labels = scores[triples.x, triples.y] - scores[triples.x, triples.y_prime]
    fitted, final_loss = model.fit(parameter, instance.architecture, triples, labels, logits,
                                   beta, instance.logistic, instance.steps,
                                   instance.learning_rate)
    floor = jnp.where(triples.mask, model.pair_loss_floor(labels, instance.logistic), 0.0)
    excess = final_loss - jnp.sum(floor) / jnp.maximum(jnp.sum(triples.mask), 1)
    return fitted, {"excess_loss": excess}


def _parameter_norm(instance: model.TransformerInstance, parameter: dict) -> Array:
    squares = [jnp.sum(jnp.square(leaf.astype(jnp.float64)))
               for leaf in jax.tree_util.tree_leaves(parameter)]
    return jnp.sqrt(sum(squares))


def _check_run(instance: model.TransformerInstance, update: str, has_judge: bool) -> None:
    if update != "erm":
        raise ValueError("update must be 'erm' for the transformer: the Gibbs policy "
                         "pi_t^(1+1/beta) need not be a transformer of the same sizes")


def _round_metrics(instance: model.TransformerInstance, parameter: dict, logits: Array) -> dict:
    tables = model.conditional_tables(parameter, instance.architecture)
    alpha = model.token_top_probability(tables)
    return {"alpha": jnp.max(jnp.where(instance.rho > 0, alpha, 0.0)),
            "alpha_bound": model.alpha_bound(alpha, instance.rho, instance.architecture.length)}


def _step_metrics(instance: model.TransformerInstance, logits: Array, next_logits: Array,
                  beta) -> dict:
    return {"kl_to_gibbs": model.kl_to_gibbs(next_logits, logits, beta, instance.rho)}


#: The small transformer as the engine calls it (registered in :data:`srlm_kit.dynamics.CLASSES`).
CLASS = PolicyClass(
    name="transformer", initial_parameter=_initial_parameter, logits=_logits,
    erm_update=_erm_update, population_update=None, parameter_norm=_parameter_norm,
    check_run=_check_run, round_metrics=_round_metrics, step_metrics=_step_metrics)
