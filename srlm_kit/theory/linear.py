"""The linear softmax class: covering, the ERM step, the ball, Theorem 6.2.

For ``pi_theta(y|x) ∝ exp(<theta, phi(x, y)>)`` with ``||phi|| <= 1``, log-probabilities are
2-Lipschitz in theta (:func:`softmax_log_ratio`), so a ball of radius R has metric entropy at
most ``d log(1 + 2R/tau)`` (:func:`volumetric_covering`), which replaces the class-size term of
Theorem 5.3 (:func:`theorem_6_2_assembly`). The ERM step of the class is a projection of the
exact step (:func:`linear_erm_step`), grows the parameter no faster than the exact update
(:func:`erm_norm_growth`), and the exact update leaves any ball after a number of rounds
logarithmic in its radius (:func:`realizability_derivation`).
"""

from __future__ import annotations

import sympy as sp

from srlm_kit.theory.core import (
    Derivation,
    T,
    _expand_logs,
    beta,
    dimension,
    n,
    radius,
    resolution,
)
from srlm_kit.theory.recursion import theorem_5_3_assembly

__all__ = [
    "softmax_log_ratio", "volumetric_covering", "theorem_6_2_assembly", "linear_erm_step",
    "erm_norm_growth", "realizability_derivation",
]


def softmax_log_ratio(num_responses: int = 3) -> Derivation:
    """``|log pi_theta(y|x) - log pi_theta'(y|x)| <= 2 ||theta - theta'||`` for ``||phi|| <= 1``.

    [reconstructed, from the proof prose and standard arguments; :ref:`recovered-covering`; checked
    in SymPy] With scores ``u_y = <theta, phi(x,y)>`` and ``u'_y = <theta', phi(x,y)>`` and
    ``tau = ||theta - theta'||`` (so ``|u_y - u'_y| <= tau`` by Cauchy-Schwarz):
    ``log pi_theta(y) - log pi_theta'(y) = (u_y - u'_y) - log(Z_theta/Z_theta')``, and
    ``Z_theta/Z_theta' = sum_y' pi_theta'(y') exp(u_y' - u'_y')`` is a pi_theta'-weighted average
    of numbers in ``[e^(-tau), e^tau]``, so ``|log(Z_theta/Z_theta')| <= tau``: total
    ``<= 2tau``.
    The algebra is done for ``num_responses`` explicit responses.
    """
    if num_responses < 2:
        raise ValueError(f"num_responses must be at least 2, got {num_responses}")
    scores_new = sp.symbols(f"u_1:{num_responses + 1}", real=True)
    scores_old = sp.symbols(f"u'_1:{num_responses + 1}", real=True)
    partition_new = sum(sp.exp(z) for z in scores_new)
    partition_old = sum(sp.exp(z) for z in scores_old)
    log_ratio = (scores_new[0] - sp.log(partition_new)) - (scores_old[0] - sp.log(partition_old))
    differences = [z - z_old for z, z_old in zip(scores_new, scores_old, strict=True)]
    decomposition = differences[0] - sp.log(partition_new / partition_old)
    decomposition_residual = sp.simplify(_expand_logs(log_ratio - decomposition))
    weighted_average = sum(sp.exp(z_old) / partition_old * sp.exp(delta)
                           for z_old, delta in zip(scores_old, differences, strict=True))
    average_residual = sp.simplify(partition_new / partition_old - weighted_average)
    weights_total = sp.simplify(sum(sp.exp(z_old) / partition_old for z_old in scores_old))
    distance = sp.Symbol("tau", nonnegative=True)  # ||theta - theta'||
    result = sp.Le(sp.Abs(sp.Symbol("log pi_theta(y) - log pi_theta'(y)")), 2 * distance)
    steps = [
        ("Log-probability difference of the first response", log_ratio),
        ("Feature term minus log partition ratio: residual", decomposition_residual),
        ("Partition ratio as a pi_theta'-weighted average of exp(u_y - u'_y): residual",
         average_residual),
        ("The weights sum to", weights_total),
        ("Each |u_y - u'_y| <= ||phi|| ||theta - theta'|| <= tau, so the average lies in "
         "[e^-tau, e^tau] and |log ratio| <= tau",
         sp.Le(sp.Abs(sp.log(sp.Symbol("Z_theta/Z_theta'"))), distance)),
        ("Triangle inequality", result),
    ]
    return Derivation(result, steps)


def volumetric_covering() -> Derivation:
    """``N(tau) <= (1 + 2R/tau)^d`` for the ball ``||theta|| <= R`` in R^d (N the covering
    number), hence ``log N(tau) = d log(1 + 2R/tau)``; at ``tau = 1/(2n)`` (a 1/n-net in the
    sup-log-ratio metric, by :func:`softmax_log_ratio`) this is ``d log(1 + 4Rn)``, of order
    d log(Rn).

    [reconstructed, from the proof prose and standard arguments; :ref:`recovered-covering`;
    checked in SymPy] A maximal tau-separated set has disjoint balls of radius tau/2, all inside
    the ball of radius R + tau/2, so its size is at most the volume ratio
    ``((R + tau/2)/(tau/2))^d``; a maximal separated set is a tau-net.
    """
    volume_ratio = ((radius + resolution / 2) / (resolution / 2))**dimension
    simplified = sp.simplify(sp.powsimp(volume_ratio, force=True))
    stated = (1 + 2 * radius / resolution)**dimension
    residual = sp.simplify(volume_ratio - stated)
    log_size = _expand_logs(sp.log(stated))
    at_resolution = log_size.subs(resolution, 1 / (2 * n))
    result = sp.Le(sp.Symbol("N(tau)"), stated)
    steps = [
        ("Volume ratio of the balls of radius R + tau/2 and tau/2", volume_ratio),
        ("Simplified", simplified),
        ("Minus (1 + 2R/tau)^d", residual),
        ("Metric entropy", sp.Eq(sp.Symbol("log N(tau)"), log_size)),
        ("At tau = 1/(2n)", sp.Eq(sp.Symbol("log N"), sp.simplify(at_resolution))),
        ("Volumetric bound", result),
    ]
    return Derivation(result, steps)


def theorem_6_2_assembly() -> Derivation:
    """Theorem 6.2 and Corollary 6.4 from Theorem 5.3: the class-size term ``log(n|Pi|/delta)`` is
    replaced by the metric entropy ``d log(nR/delta)`` of the ball, and under spectral decay d by
    ``d_eff(lambda)``.

    Statement [quoted, v2 text]; formula [reconstructed, from Theorem 5.3 and the prose;
    :ref:`recovered-thm-6-2`, :ref:`recovered-cor-6-4`]. The entropy is the volumetric covering
    (:func:`volumetric_covering`) at resolution of order 1/n, with delta inside the log as
    reconstructed (:ref:`recovered-unstated` lists the alternatives).
    """
    class_size = sp.Symbol("|Pi|", positive=True)
    delta = sp.Symbol("delta", positive=True)
    effective = sp.Symbol("d_eff", positive=True)
    general = theorem_5_3_assembly().result.rhs
    rate = sp.log(n * class_size / delta)
    entropy = dimension * sp.log(n * radius / delta)
    linear = general.subs(rate, entropy)
    spectral = linear.subs(dimension, effective)
    result = sp.Le(sp.Symbol("fail(T)"), linear)
    steps = [
        ("Theorem 5.3", sp.Le(sp.Symbol("fail(T)"), general)),
        ("Metric entropy of the ball replaces the class-size term", sp.Eq(rate, entropy)),
        ("Theorem 6.2", result),
        ("Corollary 6.4: d replaced by d_eff(lambda)", sp.Le(sp.Symbol("fail(T)"), spectral)),
    ]
    return Derivation(result, steps)


def _matrix(name: str, rows: int, columns: int) -> sp.Matrix:
    return sp.Matrix(rows, columns, lambda i, j: sp.Symbol(f"{name}_{i + 1}{j + 1}", real=True))


def _vector(name: str, size: int) -> sp.Matrix:
    return sp.Matrix(size, 1, lambda i, _: sp.Symbol(f"{name}_{i + 1}", real=True))


def _cancel(matrix: sp.Matrix) -> sp.Matrix:
    return matrix.applyfunc(sp.cancel)


def _immutable(steps: list) -> list:
    """Matrix steps as immutable SymPy matrices, so that every step is an expression."""
    return [(description, sp.ImmutableMatrix(expression)
             if isinstance(expression, sp.MatrixBase) else expression)
            for description, expression in steps]


def _projection(design: sp.Matrix) -> sp.Matrix:
    """``D^T (D D^T)^(-1) D`` with every entry reduced to one fraction."""
    return _cancel(design.T * (design * design.T).inv() * design)


def linear_erm_step() -> Derivation:
    """The square-loss ERM of the linear class and its minimum-norm minimiser.

    With ``D`` the matrix whose rows are the sampled differences ``phi(x, y) - phi(x, y')`` and
    ``w = theta - theta_t``, the partition functions cancel in the pairwise differences
    (:func:`softmax_log_ratio`) and the loss is ``||beta D w - D theta_t||^2 =
    ||D (beta w - theta_t)||^2``. It is zero exactly when ``beta w - theta_t`` lies in the null
    space of D; the minimiser of least norm lies in the row space, ``w = P_D theta_t / beta``
    with ``P_D = D^T (D D^T)^(-1) D`` (full row rank). When D has rank d, ``P_D = I`` and the
    ERM is the exact update ``(1 + 1/beta) theta_t``.

    The algebra is done on a generic 2 x 3 matrix D (two differences in R^3, so that a null space
    remains; its null vector is the cross product of the rows) and a generic 2 x 2 one.
    [reconstructed, :ref:`recovered-book-own`; checked in SymPy]
    """
    design = _matrix("D", 2, 3)
    theta = _vector("theta", 3)
    change = _vector("w", 3)
    residual = beta * design * change - design * theta
    loss = (residual.T * residual)[0]
    factored = design * (beta * change - theta)
    projection = _projection(design)
    minimiser = projection * theta / beta
    null_vector = design[0, :].cross(design[1, :]).T
    square = _matrix("D", 2, 2)
    theta_2 = _vector("theta", 2)
    updated = _cancel(theta_2 + _projection(square) * theta_2 / beta)
    result = sp.Eq(sp.Symbol("theta_{t+1}"),
                   sp.Symbol("theta_t") + sp.Symbol("P_D theta_t") / beta)
    steps = [
        ("Square loss minus ||D (beta w - theta_t)||^2",
         sp.expand(loss - (factored.T * factored)[0])),
        ("Projection onto the row space of D (full row rank)",
         sp.Eq(sp.Symbol("P_D"), sp.Symbol("D^T (D D^T)^{-1} D"))),
        ("P_D is idempotent: P_D^2 - P_D", _cancel(projection * projection - projection)),
        ("... and symmetric: P_D - P_D^T", _cancel(projection - projection.T)),
        ("With w = P_D theta_t / beta the residual D (beta w - theta_t) vanishes: zero loss",
         _cancel(design * (beta * minimiser - theta))),
        ("The cross product v of the two rows spans the null space of D: D v",
         sp.expand(design * null_vector)),
        ("w is orthogonal to it: w . v", sp.cancel((minimiser.T * null_vector)[0])),
        ("Every other minimiser is w + c v, of squared norm ||w||^2 + c^2 ||v||^2: w is the "
         "minimum-norm ERM step", result),
        ("If D has rank d (here 2 x 2), P_D is the identity", _projection(square)),
        ("... and the ERM step is the exact update (1 + 1/beta) theta_t", updated),
    ]
    return Derivation(result, _immutable(steps))


def erm_norm_growth() -> Derivation:
    """The ERM step grows the parameter by at most the exact factor ``1 + 1/beta``.

    For an orthogonal projection P, ``<theta, P theta> = ||P theta||^2``, so
    ``||theta + P theta/beta||^2 = ||theta||^2 + (2/beta + 1/beta^2) ||P theta||^2``. With the
    captured fraction ``a = ||P theta|| / ||theta||`` in [0, 1], the growth factor is
    ``sqrt(1 + ((1 + 1/beta)^2 - 1) a^2)``: ``1 + 1/beta`` exactly when a = 1 (the exact
    update), and less otherwise. By induction ``||theta_t^ERM|| <= (1 + 1/beta)^t ||theta_0||``,
    so the ERM iterate leaves a ball no earlier than the exact update.
    [reconstructed, by algebra: the book's; checked in SymPy; :ref:`recovered-book-own`]
    """
    norm_sq = sp.Symbol("||theta||^2", positive=True)
    fraction = sp.Symbol("a", nonnegative=True)
    captured_sq = fraction**2 * norm_sq
    # <theta, P theta> = ||P theta||^2 for an orthogonal projection (checked in step 1)
    new_norm_sq = sp.expand(norm_sq + 2 * captured_sq / beta + captured_sq / beta**2)
    growth = sp.sqrt(sp.expand(new_norm_sq / norm_sq))
    exact_growth = sp.factor(growth.subs(fraction, 1))
    gap = sp.factor(sp.expand((1 + 1 / beta)**2 * norm_sq - new_norm_sq))
    example = _matrix("D", 2, 3)
    projection = _projection(example)
    theta = _vector("theta", 3)
    inner_check = sp.cancel((theta.T * projection * theta)[0]
                            - ((projection * theta).T * (projection * theta))[0])
    growth_symbol = sp.Symbol("growth")
    result = sp.Eq(growth_symbol, growth)
    steps = [
        ("For a projection, <theta, P theta> - ||P theta||^2 (generic 2 x 3 example)",
         inner_check),
        ("Squared norm after the step, with ||P theta|| = a ||theta||",
         sp.Eq(sp.Symbol("||theta_{t+1}||^2"), new_norm_sq)),
        ("Growth factor ||theta_{t+1}|| / ||theta_t|| of one ERM step", result),
        ("At a = 1 (the round captures the whole exact step)",
         sp.Eq(growth_symbol, exact_growth)),
        ("(1 + 1/beta)^2 ||theta||^2 minus the squared norm after the step: non-negative for "
         "a <= 1", gap),
    ]
    return Derivation(result, _immutable(steps))


def realizability_derivation() -> Derivation:
    """How long the exact update stays in the ball ``||theta|| <= R``, and what a ball large
    enough for T rounds costs in Theorem 6.2's entropy term.

    ``||theta_t|| = (1 + 1/beta)^t ||theta_0||``
    (:func:`srlm_kit.theory.gibbs.gibbs_composition`) equals R at
    ``t = H = log(R/||theta_0||)/log(1 + 1/beta)`` and exceeds it from the first integer above H
    on; the round-t target ``(1 + 1/beta) theta_t`` reaches R at ``t = H - 1``.
    Covering T rounds needs ``R >= (1 + 1/beta)^T ||theta_0||``, and then ``d log(nR/delta)``
    grows by ``d log(1 + 1/beta)`` per round; at ``beta = n^(-1/2)`` by ``d log(1 + sqrt(n))``.
    [reconstructed, from the Gibbs closed form; :ref:`recovered-gibbs`, :ref:`recovered-book-own`;
    the entropy cost is the book's observation, by algebra]
    """
    delta = sp.Symbol("delta", positive=True)
    rounds = sp.Symbol("t", positive=True)
    start = sp.Symbol("||theta_0||", positive=True)
    growth = 1 + 1 / beta
    norm = start * growth**rounds
    horizon = sp.log(radius / start) / sp.log(growth)
    at_horizon = sp.simplify(norm.subs(rounds, horizon) - radius)
    target_at = sp.simplify((growth * norm).subs(rounds, horizon - 1) - radius)
    needed = start * growth**T
    entropy = dimension * sp.log(n * radius / delta)
    expanded = sp.expand(sp.expand_log(entropy.subs(radius, needed), force=True))
    per_round = sp.diff(expanded, T)
    paper_regime = sp.expand_log(per_round.subs(beta, 1 / sp.sqrt(n)), force=True)
    result = sp.Eq(sp.Symbol("H"), horizon)
    steps = [
        ("Norm of the exact iterate", sp.Eq(sp.Symbol("||theta_t||"), norm)),
        ("It equals R at t = H", result),
        ("Check: the norm at t = H, minus R", at_horizon),
        ("The target (1 + 1/beta) theta_t of round t reaches R at t = H - 1: the target's norm "
         "there, minus R", target_at),
        ("A ball that holds the targets of T rounds", sp.Ge(radius, needed)),
        ("Theorem 6.2's entropy term at that radius", sp.Eq(entropy, expanded)),
        ("Its growth per round", per_round),
        ("... at beta = n^(-1/2), the paper's regime", paper_regime),
    ]
    return Derivation(result, steps)
