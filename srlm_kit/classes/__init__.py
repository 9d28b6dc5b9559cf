"""Policy classes: what the engine needs to know about a class of policies.

The engine (:mod:`srlm_kit.dynamics`) runs a round the same way for every class: read the
current policy's table of log-probabilities ``log pi_t(y|x)``, draw ``n`` triples from it
(:func:`srlm_kit.policies.sample_triples`), label them with the self-reward (or a judge), and
ask the class for the next parameter. Everything that depends on the class is one
:class:`PolicyClass`, a bundle of pure functions, defined in one module of this package:

* :mod:`srlm_kit.classes.tabular`: a table of logits, with the exact minimum-norm ERM;
* :mod:`srlm_kit.classes.linear`: the linear softmax class (Definition 6.1), minimum-norm ERM;
* :mod:`srlm_kit.classes.transformer`: the small transformer of :mod:`srlm_kit.transformer`,
  fitted by Adam.

The engine finds the class of an instance by its type in :data:`srlm_kit.dynamics.CLASSES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from jax import Array


class PolicyClass(NamedTuple):
    """The functions through which the engine uses a class of policies.

    An *instance* is a JAX pytree (the start, ``rho``, ``target``, ``labels``, ``radius`` and
    whatever else the class needs); a *parameter* is any pytree. Every function is pure and is
    traced inside the engine's ``jit``/``vmap``/``scan``; arguments marked static must not be
    arrays.

    * ``initial_parameter(instance)``: the parameter of ``pi_0``.
    * ``logits(instance, parameter)``: the ``(m, K)`` table of ``log pi(y|x)`` (any row
      normalisation): every metric of :mod:`srlm_kit.metrics` reads it.
    * ``erm_update(instance, parameter, logits, triples, beta, reward)``: the finite-sample fit,
      returning ``(next parameter, aux)``; ``logits`` is ``logits(instance, parameter)``,
      ``reward`` is ``None`` for the self-reward ``log pi_t`` or a ``(m, K)`` judge's table, and
      ``aux`` a dict of scalars recorded as step metrics (``step_<name>``; ``{}`` for none).
    * ``population_update(instance, parameter, beta, reward)``: the exact infinite-data update,
      or ``None`` where the class has none.
    * ``parameter_norm(instance, parameter)``: the norm recorded as ``theta_norm`` and compared
      with ``instance.radius``.
    * ``check_run(instance, update, has_judge)``: raise ``ValueError`` for a run the class
      cannot do (called once, at the public entry).
    * ``round_metrics(instance, parameter, logits)``: extra round-indexed metrics (a dict of
      scalars), or ``None``.
    * ``step_metrics(instance, logits, next_logits, beta)``: extra metrics of the step from
      ``pi_t`` to ``pi_{t+1}`` (a dict of scalars, recorded as ``step_<name>``), or ``None``.
    """

    name: str
    initial_parameter: Callable[[Any], Any]
    logits: Callable[[Any, Any], Array]
    erm_update: Callable[..., tuple[Any, dict]]
    population_update: Callable[..., Any] | None
    parameter_norm: Callable[[Any, Any], Array]
    check_run: Callable[[Any, str, bool], None]
    round_metrics: Callable[[Any, Any, Array], dict] | None = None
    step_metrics: Callable[[Any, Array, Array, Array], dict] | None = None
