"""What every derivation shares: the SymPy symbols, the :class:`Derivation` container, helpers.

The symbols are module constants (SymPy symbols are immutable), so the numeric module
:mod:`srlm_kit.bounds` and the tests can substitute into or ``lambdify`` the results of every
subject module; the package :mod:`srlm_kit.theory` re-exports them.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy as sp

# --------------------------------------------------------------------------------------------
# Symbols. Assumptions (positive, integer) are what lets SymPy combine logarithms and powers;
# each function states any further domain restriction (a < 1, mu <= 1, ...) it relies on.
# --------------------------------------------------------------------------------------------

beta = sp.Symbol("beta", positive=True)  # KL-regularisation strength (the "learning rate")
pi_t = sp.Symbol("pi_t", positive=True)  # pi_t(y|x) for one response y
pi_t_other = sp.Symbol("pi_t'", positive=True)  # pi_t(y'|x) for a second response y'
pi_0 = sp.Symbol("pi_0", positive=True)  # the initial policy's probability of one response
p = sp.Symbol("p", positive=True)  # the candidate policy's probability p(y) of one response
lagrange = sp.Symbol("zeta", real=True)  # multiplier of the simplex constraint
partition = sp.Symbol("Z_t", positive=True)  # normaliser Z_t(x) of the Gibbs policy
T = sp.Symbol("T", integer=True, nonnegative=True)  # number of rounds
t = sp.Symbol("t", integer=True, nonnegative=True)  # round index

gamma = sp.Symbol("gamma", positive=True)  # margin of the self-reward (Definition 5.2)
s = sp.Symbol("s", positive=True)  # failure threshold of Lemma C.1, s in (0, 1)
gap = sp.Symbol("Delta_J", nonnegative=True)  # J(pi*) - J(pi), the performance gap

a = sp.Symbol("a", positive=True)  # gap / gamma in the tail integral, a in (0, 1)
mu = sp.Symbol("mu", positive=True)  # minimum confidence, mu in (0, 1]
u = sp.Symbol("u", positive=True)  # level of Z = 1 / (top probability)

A = sp.Symbol("A", positive=True)  # offset of the kappa recursion
B_prime = sp.Symbol("B'", positive=True)  # sqrt(kappa) coefficient of the relaxed recursion
B_coef = sp.Symbol("B", nonnegative=True)  # sqrt(kappa) coefficient before the relaxation
C_coef = sp.Symbol("C", nonnegative=True)  # log(kappa) coefficient before the relaxation
kappa = sp.Symbol("kappa", positive=True)  # a value of the condition number
kappa_0 = sp.Symbol("kappa_0", positive=True)  # kappa(pi_0)
kappa_star = sp.Symbol("kappa^*", positive=True)  # fixed point of the recursion
root_kappa_star = sp.Symbol("sqrt(kappa^*)", positive=True)  # its square root
q = sp.Symbol("q", positive=True)  # contraction factor, q in (0, 1)
n = sp.Symbol("n", positive=True)  # triples per round

epsilon = sp.Symbol("epsilon", positive=True)  # failure level in the lower bound
c_rhs = sp.Symbol("chi", positive=True)  # kappa_0 log|Pi|/n, right side of the lower-bound equation
K_difficulty = sp.Symbol("kappa_0 log|Pi|", positive=True)  # the effective difficulty

radius = sp.Symbol("R", positive=True)  # ball radius of the linear softmax class
resolution = sp.Symbol("tau", positive=True)  # radius of the covering balls
dimension = sp.Symbol("d", positive=True, integer=True)  # feature dimension

ridge = sp.Symbol("lambda", positive=True)  # ridge parameter of d_eff
eigenvalue = sp.Symbol("nu_j", nonnegative=True)  # one eigenvalue of the covariance
spectral_scale = sp.Symbol("S", positive=True)  # the S of nu_j <= S e^{-omega j}, S j^{-a}
decay_rate = sp.Symbol("omega", positive=True)  # exponential decay rate
cutoff = sp.Symbol("j_0", positive=True)  # number of head eigenvalues kept exactly
tail_mass = sp.Symbol("tail_mass", nonnegative=True)  # spiked model: total mass of the tail


class Derivation(NamedTuple):
    """A derivation: the final ``result`` and the ``steps`` that lead to it.

    ``steps`` is a list of ``(description, expression)`` pairs; an expression is a SymPy
    expression, an ``Eq`` or a relational (``Le``, ``Lt``). Show them with :meth:`latex_steps`.
    """

    result: sp.Basic
    steps: list[tuple[str, sp.Basic]]

    def latex_steps(self) -> list[tuple[str, str]]:
        """The steps as ``(description, LaTeX string)`` pairs, for display in a chapter."""
        return [(description, sp.latex(expression)) for description, expression in self.steps]


def _expand_logs(expression: sp.Basic) -> sp.Basic:
    """Split logarithms of products and powers. Every argument here is a positive quantity, which
    is exactly when ``log(x y) = log x + log y`` holds, so ``force=True`` is safe."""
    return sp.expand_log(expression, force=True)
