"""The paper's inequalities checked on simulated trajectories (:ref:`recovered-book-own`).

The paper has no experiments; these checks are the book's. Three levels (:ref:`recovered-book-own`):

1. **Exact, no hidden constants.** Both sides of an inequality computed from the simulation, on
   every round: Lemma C.1 (:func:`lemma_c1_check`), the one-step tail-integral bound of
   Lemma C.3 (:func:`tail_integral_check`), and the kappa recursion of Lemma C.4 with the
   smallest coefficient the observed steps need (:func:`recursion_check`).
2. **Shape.** One multiplicative constant fitted at one point (:func:`calibrate`) and slopes on
   log scales (:func:`log_log_slope`, :func:`semilog_slope`).
3. **The full bound with every hidden constant set to 1** (:func:`level_three_report`).

Every check takes a :class:`srlm_kit.dynamics.Trajectory` with any leading axes (seeds, grid
points) and returns NumPy arrays of the same leading shape, with the round axis last: the left
side ``lhs``, the right side ``rhs``, ``slack = rhs - lhs`` (``+inf`` where the right side is
infinite, never NaN), the mask ``active`` of the rounds the run really made, and ``holds``.

Floating point. Both sides are float64 sums; where an inequality is tight (for example
``kappa = 1`` against a bound of 1) the computed sides can differ by a few units in the last
place. ``holds`` therefore allows ``slack >= -FLOAT_TOLERANCE * max(1, |rhs|)``; ``slack`` itself
is reported unrounded, and :func:`smallest_slack` returns it as is.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from srlm_kit import _validation as check
from srlm_kit import bounds, metrics
from srlm_kit.bounds import ArrayLike, _tail_integral_piecewise
from srlm_kit.dynamics import Trajectory

#: Relative tolerance for rounding in ``holds`` (see the module docstring).
FLOAT_TOLERANCE = 1.0e-12

OFFSETS = ("one", "inverse_mu")


class InequalityCheck(NamedTuple):
    """Both sides of an inequality ``lhs <= rhs`` per round, with leading axes of the trajectory."""

    lhs: np.ndarray
    rhs: np.ndarray
    slack: np.ndarray  # rhs - lhs; +inf where rhs is +inf
    active: np.ndarray  # the round (or step) was really made: t <= T (steps: t < T)
    holds: np.ndarray  # slack >= -FLOAT_TOLERANCE * max(1, |rhs|), or the entry is inactive


class TailIntegralCheck(NamedTuple):
    """:func:`tail_integral_check`: the inequality plus the quantities the bound is made of."""

    inequality: InequalityCheck
    a: np.ndarray  # gap_t / gamma_t (+inf where gamma_t = 0)
    mu_next: np.ndarray  # mu_{t+1}
    closed_form: np.ndarray  # 0 < a < 1 - mu_{t+1}: Eq. 56's closed form is the bound
    trivial: np.ndarray  # a >= 1 - mu_{t+1} (including a >= 1, gamma_t = 0): bound 1/mu_{t+1}


class RecursionCheck(NamedTuple):
    """:func:`recursion_check`: the fitted recursion ``kappa_{t+1} <= A + B' sqrt(kappa_t)``."""

    offset: np.ndarray  # A (1, or 1/mu)
    mu: np.ndarray  # mu used for A = 1/mu (minimum over the rounds chosen)
    coefficient: np.ndarray  # B', the smallest >= 0 that every observed step needs
    offset_suffices: np.ndarray  # True where the unclipped B' was <= 0: A alone bounds all steps
    fixed_point: np.ndarray  # kappa* of A + B' sqrt(k)
    contraction: np.ndarray  # q = B'/(B' + sqrt(B'^2 + 4A))
    step: InequalityCheck  # kappa_{t+1} <= A + B' sqrt(kappa_t), step axis
    unrolled: InequalityCheck  # kappa_t <= kappa* + q^t (kappa_0 - kappa*), round axis


def _array(field: ArrayLike) -> np.ndarray:
    return np.asarray(field, dtype=np.float64)


def _inequality(lhs: np.ndarray, rhs: np.ndarray, active: np.ndarray) -> InequalityCheck:
    finite_rhs = np.isfinite(rhs)
    slack = np.where(finite_rhs, rhs - np.where(finite_rhs, lhs, 0.0), np.inf)
    allowance = FLOAT_TOLERANCE * np.maximum(1.0, np.abs(np.where(finite_rhs, rhs, 1.0)))
    holds = (slack >= -allowance) | ~active
    return InequalityCheck(lhs, rhs, slack, active, holds)


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator/denominator, +inf where the denominator is 0 (numerators here are >= 0)."""
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.inf)
    return np.divide(numerator, denominator, out=out, where=denominator > 0)


def smallest_slack(result: InequalityCheck) -> float:
    """The smallest ``slack`` over the active entries (``+inf`` if there are none)."""
    slack = np.where(result.active, result.slack, np.inf)
    return float(np.min(slack)) if slack.size else float("inf")


def count_violations(result: InequalityCheck) -> int:
    """How many active entries fail the inequality (beyond the rounding allowance)."""
    return int(np.sum(~result.holds))


# --------------------------------------------------------------------------------------------
# Level 1: exact checks, no hidden constants
# --------------------------------------------------------------------------------------------


@check.entry_point
def lemma_c1_check(trajectory: Trajectory, threshold: float = 0.5) -> InequalityCheck:
    """Lemma C.1 on every step ``pi_t -> pi_{t+1}`` of a trajectory::

        P_x[pi_{t+1}(y*_t(x)|x) <= s]  <=  gap_t / (gamma_t (1 - s))

    ``lhs = trajectory.step_retention_failure[t]`` (y*_t the mode of pi_t, the argmax of the
    reward r_t = log pi_t), ``gap_t = trajectory.step_gap[t] = J_t(pi*_t) - J_t(pi_{t+1})``,
    ``gamma_t = trajectory.gamma[t]`` (the margin of pi_t, i.e. of the reward r_t), and
    ``s = threshold``, which **must be the threshold the run used** (the trajectory does not
    record it; ``dynamics.run`` defaults to 0.5).

    Why gamma_t: the lemma needs ``r(y*) - r(y) >= gamma 1{y != y*}`` for the reward of this
    step only. The paper's gamma is the minimum of the margins over all rounds (Definition 5.2),
    which is smaller, so its right side is larger; the per-round gamma_t is the tightest valid
    choice. Where gamma_t = 0 (tied modes) the right side is ``+inf`` and the inequality holds
    trivially; it is reported as ``inf``, never NaN.

    Statement [quoted, v2 text]; formula [reconstructed, from the proof prose;
    :ref:`recovered-lem-c-1`, :ref:`recovered-book-own`; checked in SymPy,
    :func:`srlm_kit.theory.condition.lemma_c1`]. Arrays have the trajectory's leading axes and a
    last axis of one entry per step.
    """
    threshold = check.check_open_interval("threshold", threshold, 0.0, 1.0)
    lhs = _array(trajectory.step_retention_failure)
    gap = _array(trajectory.step_gap)
    gamma_t = _array(trajectory.gamma)[..., :-1]
    active = np.asarray(trajectory.active, dtype=bool)[..., 1:]
    rhs = _safe_ratio(gap, gamma_t * (1.0 - threshold))
    return _inequality(lhs, rhs, active)


@check.entry_point
def lemma_c1_over_thresholds(logits_t: ArrayLike, logits_next: ArrayLike, rho: ArrayLike,
                             thresholds: ArrayLike) -> InequalityCheck:
    """Lemma C.1 for one step and many thresholds s, from the two policies' logit tables.

    For a trajectory run with ``keep_logits=True``: ``logits_t = trajectory.logits[..., t, :, :]``
    and ``logits_next = trajectory.logits[..., t + 1, :, :]`` for one seed (shapes ``(m, K)``),
    ``rho`` the instance's prompt distribution. Returns arrays over ``thresholds`` (all active):
    ``lhs(s) = P_x[pi_{t+1}(y*_t|x) <= s]`` and ``rhs(s) = gap/(gamma_t (1 - s))``, computed by
    :mod:`srlm_kit.metrics` exactly as in a run. [reconstructed, :ref:`recovered-lem-c-1`]
    """
    thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
    for value in thresholds:
        check.check_open_interval("thresholds", float(value), 0.0, 1.0)
    mode = np.argmax(np.asarray(logits_t), axis=-1)
    lhs = np.asarray([float(metrics.target_failure(logits_next, rho, mode, float(value)))
                      for value in thresholds])
    gap = np.float64(metrics.performance_gap(logits_next, logits_t, rho))
    gamma_t = np.float64(metrics.margin(logits_t, rho))
    rhs = _safe_ratio(np.full_like(thresholds, gap), gamma_t * (1.0 - thresholds))
    return _inequality(lhs, rhs, np.ones_like(thresholds, dtype=bool))


def tail_integral_check(trajectory: Trajectory) -> TailIntegralCheck:
    """The one-step tail-integral bound of Lemma C.3 (Eq. 56) on every step of a trajectory::

        kappa_{t+1} <= 1 + int_1^{1/mu_{t+1}} min(1, a u/(u - 1)) du,   a = gap_t/gamma_t
                     = 1 + a/mu + a log((1/mu - 1)(1 - a)/a)   if 0 < a < 1 - mu   (closed_form)
                     = 1/mu                                    if a >= 1 - mu      (trivial)
                     = 1                                       if a = 0

    with ``mu = mu_{t+1}`` (the next round's minimum confidence: ``Z = 1/max_y pi_{t+1}(y|x)``
    lies in ``[1, 1/mu_{t+1}]``).

    Derivation (directions checked): ``kappa_{t+1} = E Z = 1 + int_1^{1/mu_{t+1}} P(Z > u) du``.
    For u > 1, ``Z > u`` iff the top probability of pi_{t+1} is below 1/u, which implies
    ``pi_{t+1}(y*_t) < 1/u``; so ``P(Z > u) <= P[pi_{t+1}(y*_t) <= 1/u] <= a/(1 - 1/u)`` by
    Lemma C.1 with s = 1/u (same a for every u), and also ``<= 1``. When ``a >= 1`` (including
    ``gamma_t = 0``, a = inf) the closed form does not apply; the cap covers the whole range and
    the bound is the trivial ``kappa_{t+1} <= 1/mu_{t+1}``, flagged by ``trivial`` rather than
    raised. The public :func:`srlm_kit.bounds.tail_integral_bound` raises for a outside (0, 1).

    Steps [quoted, v2 text]; formula [reconstructed, by algebra; :ref:`recovered-tail-integral`;
    checked in SymPy, :func:`srlm_kit.theory.condition.tail_integral`, and against numerical
    integration].
    """
    kappa_next = _array(trajectory.kappa)[..., 1:]
    mu_next = _array(trajectory.mu)[..., 1:]
    gap = _array(trajectory.step_gap)
    gamma_t = _array(trajectory.gamma)[..., :-1]
    active = np.asarray(trajectory.active, dtype=bool)[..., 1:]
    a = _safe_ratio(gap, gamma_t)
    rhs = _tail_integral_piecewise(a, mu_next)
    closed_form = (a > 0) & (a < 1.0 - mu_next)
    trivial = ~(a < 1.0 - mu_next)
    return TailIntegralCheck(_inequality(kappa_next, rhs, active), a, mu_next, closed_form,
                             trivial)


def recursion_check(trajectory: Trajectory, offset: str = "one",
                    include_initial_round: bool = True) -> RecursionCheck:
    """Fit the recursion ``kappa_{t+1} <= A + B' sqrt(kappa_t)`` to a trajectory and check its
    unrolled bound (Lemma C.4; :ref:`recovered-book-own`).

    ``offset="one"``: A = 1, the offset the exact tail integral gives
    (:ref:`recovered-tail-integral`, :ref:`recovered-book-own`). ``offset="inverse_mu"``: A = 1/mu,
    the reconstructed Lemma C.3 offset, with mu the minimum of ``trajectory.mu`` over the active
    rounds 0..T (``include_initial_round=True``, the paper's "across all inputs and update rounds")
    or over 1..T (False; falls back to round 0 when T = 0). With round 0 included, ``kappa_t <=
    1/mu`` for every round (:ref:`recovered-book-own`), so A = 1/mu alone bounds every step: the
    fitted B' is then 0 and the check is loose by design.

    ``coefficient`` is the smallest B' >= 0 with which every active step satisfies the
    recursion: ``max_t (kappa_{t+1} - A)/sqrt(kappa_t)`` over steps t < T, clipped at 0;
    ``offset_suffices`` marks where it was clipped (A alone suffices; also when T = 0).

    ``unrolled`` checks ``kappa_t <= kappa* + q^t (kappa_0 - kappa*)`` on every round, with
    kappa* and q of the fitted (A, B'). This follows from the fitted steps for **every**
    kappa_0, including kappa_0 < kappa*: the concave f lies below its tangent at kappa*, so
    ``kappa_{t+1} - kappa* <= q (kappa_t - kappa*)`` whatever the sign, and the increasing affine
    map iterates to the bound (:func:`srlm_kit.theory.recursion.unrolled_recursion`). The weaker
    ``max(kappa_T - kappa*, 0) <= q^T max(kappa_0 - kappa*, 0)`` follows from it.

    Formulas [reconstructed, by algebra; :ref:`recovered-contraction`; checked in SymPy].
    """
    if offset not in OFFSETS:
        raise ValueError(f"offset must be one of {OFFSETS}, got {offset!r}")
    kappa = _array(trajectory.kappa)
    mu_rounds = _array(trajectory.mu)
    round_active = np.asarray(trajectory.active, dtype=bool)
    step_active = round_active[..., 1:]

    chosen = round_active.copy()
    if not include_initial_round:
        chosen[..., 0] = False
        no_rounds = ~chosen.any(axis=-1)
        chosen[..., 0] = no_rounds
    mu = np.min(np.where(chosen, mu_rounds, np.inf), axis=-1)
    offset_value = np.ones_like(mu) if offset == "one" else 1.0 / mu

    needed = (kappa[..., 1:] - offset_value[..., None]) / np.sqrt(kappa[..., :-1])
    unclipped = np.max(np.where(step_active, needed, -np.inf), axis=-1)
    offset_suffices = unclipped <= 0
    coefficient = np.where(offset_suffices, 0.0, unclipped)

    fixed_point = np.asarray(bounds.kappa_fixed_point(offset_value, coefficient))
    contraction = np.asarray(bounds.contraction_factor(offset_value, coefficient))
    step_rhs = offset_value[..., None] + coefficient[..., None] * np.sqrt(kappa[..., :-1])
    rounds = np.arange(kappa.shape[-1], dtype=np.float64)
    unrolled_rhs = fixed_point[..., None] + contraction[..., None]**rounds * (
        kappa[..., :1] - fixed_point[..., None])
    return RecursionCheck(
        offset=offset_value, mu=mu, coefficient=coefficient, offset_suffices=offset_suffices,
        fixed_point=fixed_point, contraction=contraction,
        step=_inequality(kappa[..., 1:], step_rhs, step_active),
        unrolled=_inequality(kappa, unrolled_rhs, round_active))


# --------------------------------------------------------------------------------------------
# Level 2: shape (calibration at one point, slopes)
# --------------------------------------------------------------------------------------------


class Calibration(NamedTuple):
    """One multiplicative constant fitted at one point; predictions and ratios everywhere."""

    constant: float  # empirical / shape at the calibration point
    predicted: np.ndarray  # constant * shape
    ratio: np.ndarray  # empirical / predicted (1 at the calibration point)


class SlopeFit(NamedTuple):
    """Least-squares line through the log values; zeros are left out and counted."""

    slope: float
    intercept: float
    used: int  # points with y > 0
    dropped: int  # points with y == 0 (log undefined), left out


@check.entry_point
def calibrate(empirical: ArrayLike, shape: ArrayLike, calibration_index: int | tuple[int, ...]
              ) -> Calibration:
    """Fit ``empirical ≈ constant * shape`` at one point and predict everywhere else (level 2).

    ``empirical`` (e.g. observed failure on a grid of (n, T)) and ``shape`` (a bound evaluated at
    the same points with ``constant=1``, e.g. :func:`srlm_kit.bounds.theorem_5_3_bound`) have the
    same shape; ``calibration_index`` is an index into them (int or tuple). Returns the constant
    ``empirical[i]/shape[i]``, the predictions ``constant * shape`` and the ratios
    ``empirical/predicted``: below 1 where the data fall faster than the bound's shape, as the
    book expects. [reconstructed, :ref:`recovered-book-own`]

    ValueError if the shapes differ, ``shape`` is not positive and finite, ``empirical`` is
    negative or not finite, or ``empirical`` is 0 at the calibration point.
    """
    empirical = check.check_finite_array("empirical", empirical)
    shape = check.check_finite_array("shape", shape)
    if empirical.shape != shape.shape:
        raise ValueError(f"empirical and shape must have the same shape, got {empirical.shape} "
                         f"and {shape.shape}")
    if np.any(shape <= 0):
        raise ValueError("shape must be > 0 everywhere (a bound's value)")
    if np.any(empirical < 0):
        raise ValueError("empirical must be >= 0 everywhere (a failure probability)")
    try:
        at_point = float(empirical[calibration_index])
        shape_at_point = float(shape[calibration_index])
    except (IndexError, TypeError):
        raise ValueError(f"calibration_index {calibration_index!r} does not index a single "
                         f"point of an array of shape {shape.shape}") from None
    if at_point <= 0:
        raise ValueError("empirical must be > 0 at the calibration point (a zero gives the "
                         "constant 0); choose a point where failures were observed")
    constant = at_point / shape_at_point
    predicted = constant * shape
    return Calibration(constant, predicted, empirical / predicted)


def _fit_line(x: np.ndarray, y: np.ndarray) -> SlopeFit:
    positive = y > 0
    used = int(np.sum(positive))
    if used < 2 or np.unique(x[positive]).size < 2:
        raise ValueError("need at least two points with y > 0 and distinct x to fit a slope, "
                         f"got {used} positive value(s)")
    slope, intercept = np.polyfit(x[positive], np.log(y[positive]), 1)
    return SlopeFit(float(slope), float(intercept), used, int(y.size - used))


@check.entry_point
def log_log_slope(x: ArrayLike, y: ArrayLike) -> SlopeFit:
    """Least-squares slope of ``log y`` against ``log x`` (e.g. failure against n, to compare
    with the bound's -1/2). Points with ``y = 0`` are dropped and counted in ``dropped``.
    [reconstructed, :ref:`recovered-book-own`]
    """
    x = check.check_finite_array("x", x, ndim=1)
    y = check.check_finite_array("y", y, ndim=1)
    if x.shape != y.shape or np.any(x <= 0) or np.any(y < 0):
        raise ValueError("x and y must have the same length, with x > 0 and y >= 0")
    return _fit_line(np.log(x), y)


@check.entry_point
def semilog_slope(x: ArrayLike, y: ArrayLike) -> SlopeFit:
    """Least-squares slope of ``log y`` against ``x`` (e.g. failure against T, to compare with the
    transient factor's ``log q^(1/2) = -(1/2) log(1 + sqrt(n mu))`` per round). Points with
    ``y = 0`` are dropped and counted. [reconstructed, :ref:`recovered-book-own`]
    """
    x = check.check_finite_array("x", x, ndim=1)
    y = check.check_finite_array("y", y, ndim=1)
    if x.shape != y.shape or np.any(y < 0):
        raise ValueError("x and y must have the same length, with y >= 0")
    return _fit_line(x, y)


# --------------------------------------------------------------------------------------------
# Level 3: the full bound with every hidden constant set to 1
# --------------------------------------------------------------------------------------------


class LevelThreeReport(NamedTuple):
    """:func:`level_three_report`; arrays have the trajectory's leading shape."""

    failure_bound: np.ndarray  # the bound at the run's n, beta, T (inf where gamma = 0)
    observed_failure: np.ndarray  # trajectory.failure at round T
    vacuous: np.ndarray  # failure_bound >= 1
    n_below_one: np.ndarray  # smallest n with bound < 1 (other quantities fixed); inf if none
    rounds: np.ndarray  # T (active steps)
    gamma: np.ndarray  # min of trajectory.gamma over rounds 0..T
    mu: np.ndarray  # min of trajectory.mu over rounds 0..T
    kappa0: np.ndarray  # trajectory.kappa at round 0


def level_three_report(trajectory: Trajectory, *, n: ArrayLike, beta: ArrayLike, delta: float,
                       log_class_size: float | None = None, dimension: float | None = None,
                       radius: float | None = None, c_loss: float = 1.0,
                       threshold: float = 0.5, crossing_beta: float | None = None,
                       n_cap: float = bounds.LEVEL_THREE_N_CAP) -> LevelThreeReport:
    """The level-3 bound of :ref:`recovered-book-own` for a simulated run, next to the observed
    failure.

    gamma and mu are the minima of the trajectory's per-round values over the rounds 0..T the
    run made (Definition 5.2: "across all inputs and update rounds"), kappa0 its first round,
    T its number of rounds; ``n``, ``beta`` and ``threshold`` are the run's (the trajectory does
    not record them; they broadcast against its leading axes). The bound is
    :func:`srlm_kit.bounds.level_three_bound` with every constant 1 (``c_loss`` = 1,
    ``A = 1/mu``); where gamma = 0 it is ``+inf``.

    ``n_below_one`` is :func:`srlm_kit.bounds.level_three_crossing` with gamma, mu, kappa0 and T
    held fixed and ``beta = crossing_beta`` (default ``None``: ``beta = n^(-1/2)``, the paper's
    regime; a fixed beta leaves a floor that may never go below 1); ``+inf`` where no n up to
    ``n_cap`` works (or gamma = 0). A trajectory with T = 0 has no round to bound: ValueError.
    [reconstructed, :ref:`recovered-book-own`]
    """
    round_active = np.asarray(trajectory.active, dtype=bool)
    rounds = round_active.sum(axis=-1) - 1
    if np.any(rounds < 1):
        raise ValueError("trajectory must have made at least one round (T >= 1): the level-3 "
                         f"bound is about pi_T after T rounds, got T = {int(rounds.min())}")
    gamma = np.min(np.where(round_active, _array(trajectory.gamma), np.inf), axis=-1)
    mu = np.min(np.where(round_active, _array(trajectory.mu), np.inf), axis=-1)
    kappa0 = _array(trajectory.kappa)[..., 0]
    failure_rounds = _array(trajectory.failure)
    observed = np.take_along_axis(failure_rounds, rounds[..., None], axis=-1)[..., 0]

    leading = rounds.shape
    n_values = np.broadcast_to(np.asarray(n, dtype=np.float64), leading)
    beta_values = np.broadcast_to(np.asarray(beta, dtype=np.float64), leading)
    bound = np.full(leading, np.inf)
    crossing = np.full(leading, np.inf)
    class_size = dict(log_class_size=log_class_size, dimension=dimension, radius=radius)
    for index in np.ndindex(*leading):
        if gamma[index] <= 0:
            continue
        common = dict(gamma=gamma[index], mu=mu[index], kappa0=kappa0[index], delta=delta,
                      c_loss=c_loss, threshold=threshold, **class_size)
        bound[index] = bounds.level_three_bound(
            n_values[index], rounds[index], beta=beta_values[index], **common).failure_bound
        found = bounds.level_three_crossing(rounds[index], beta=crossing_beta, n_cap=n_cap,
                                            **common)
        crossing[index] = np.inf if found is None else found
    return LevelThreeReport(bound, observed, ~(bound < 1.0), crossing, rounds, gamma, mu,
                            kappa0)


__all__ = [
    "FLOAT_TOLERANCE", "OFFSETS", "InequalityCheck", "TailIntegralCheck", "RecursionCheck",
    "Calibration", "SlopeFit", "LevelThreeReport", "smallest_slack", "count_violations",
    "lemma_c1_check", "lemma_c1_over_thresholds", "tail_integral_check", "recursion_check",
    "calibrate", "log_log_slope", "semilog_slope", "level_three_report",
]
