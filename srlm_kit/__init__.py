"""srlm_kit: simulations, derivations and bounds for the theory of self-rewarding language models.

Companion library of the book on Fu, Wang, Hu, Wang and Tao, "Why Self-Rewarding Works:
Theoretical Guarantees for Iterative Alignment of Language Models" (arXiv 2601.22513).

Modules, one concern each:

* :mod:`srlm_kit.policies`: tabular and linear softmax policies, log-probabilities, sampling;
* :mod:`srlm_kit.instances`: initial policies, prompt distributions, features, external labels;
* :mod:`srlm_kit.dynamics`: the population and finite-sample updates, ``run`` over T rounds;
* :mod:`srlm_kit.classes`: the policy classes the engine runs (tabular, linear, transformer);
* :mod:`srlm_kit.metrics`: the condition number kappa, failure probability, mu, gamma, gaps;
* :mod:`srlm_kit.transformer`: a small transformer in the loop, measured by enumeration;
* :mod:`srlm_kit.theory`: the paper's algebraic steps, derived in SymPy, with their steps;
* :mod:`srlm_kit.bounds`: the paper's bounds as numeric functions (constants explicit);
* :mod:`srlm_kit.checks`: the paper's inequalities evaluated on simulated trajectories;
* :mod:`srlm_kit.experiments`: the numbers behind every figure of the book;
* :mod:`srlm_kit.figures`: static Plotly figures (the only module that imports plotly);
* :mod:`srlm_kit.widgets`: the live ipywidgets explorer (Binder, Jupyter);
* :mod:`srlm_kit.cli`: ``python -m srlm_kit`` reproduces any figure's numbers.

``experiments``, ``figures``, ``widgets`` and ``cli`` are imported on demand, so that the
numeric core loads without plotly or ipywidgets.

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
