"""srlm_kit: simulations, derivations and bounds for the theory of self-rewarding language models.

Companion library of the book on Fu, Wang, Hu, Wang and Tao, "Why Self-Rewarding Works:
Theoretical Guarantees for Iterative Alignment of Language Models" (arXiv 2601.22513).

Modules, one concern each:

* :mod:`srlm_kit.policies`: tabular and linear softmax policies, log-probabilities, sampling;
* :mod:`srlm_kit.instances`: initial policies, prompt distributions, features, external labels;
* :mod:`srlm_kit.dynamics`: the population and finite-sample updates, ``run`` over T rounds;
* :mod:`srlm_kit.metrics`: the condition number kappa, failure probability, mu, gamma, gaps.

Importing the kit switches JAX to float64 (``jax_enable_x64``): the book compares simulations
with bounds at tight tolerances, and a process with float64 and one without would not give the
same numbers for the same seed.
"""

import jax

# Must run before any array is created; see the module docstring for why the kit needs float64.
jax.config.update("jax_enable_x64", True)

from srlm_kit import bounds, checks, dynamics, instances, metrics, policies, theory  # noqa: E402

__version__ = "0.1.0"
__all__ = ["bounds", "checks", "dynamics", "instances", "metrics", "policies", "theory",
           "__version__"]
