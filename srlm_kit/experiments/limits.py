"""Numbers behind chapter 9, "Where the theory stops": two experiments on the theory's edges.

The paper has no experiments; its ICLR reviewers criticised, among other things, that tightness
is known for one step only and that the contraction of the condition number might come from the
square-loss regression rather than from self-rewarding (:ref:`recovered-reviews`, R4). Each
experiment here speaks to one of these, on the book's toy instances [reconstructed,
:ref:`recovered-book-own`]:

* ``rounds_versus_pooling``: on the hard instance of Theorem 4.1 (paper App. D,
  :func:`srlm_kit.instances.hard_instance`), a budget of ``N`` triples spent as ``T`` rounds of
  ``N/T`` against one round of ``N``. With a small ``beta`` the failure depends on ``N`` alone,
  with the closed form :func:`pooled_expected_failure`; a one-step lower bound at sample size
  ``N`` is then also the natural candidate for ``T`` rounds.
* ``self_versus_frozen_reward``: the condition number ``kappa_t`` when the reward is the
  current model's log-probability (self-rewarding, the paper's ``r_t = log pi_t``) and when it
  is frozen at the start's, ``r = log pi_0`` (a separate judge that never changes,
  :class:`srlm_kit.dynamics.Judge`). Both contract ``kappa_t``; only the exact (infinite-data)
  update tells them apart, by the exponent of ``pi_0`` (:func:`population_exponent`).

Both return a labelled grid (:mod:`srlm_kit.figures.core`). Bands are mean ± one standard
deviation over seeds, clipped to the range the seeds reached. The closed forms the chapter
states are derived in :mod:`srlm_kit.theory` (:func:`srlm_kit.theory.lower_bound.pooling_identity`,
:func:`srlm_kit.theory.sharpening.exponent_recursions`).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances, metrics, policies
from srlm_kit.experiments.common import band, labelled_grid

# secret_probability is the hard instance's; chapters read it from here too.
from srlm_kit.instances import bump_height_for_kappa0, secret_probability

#: Rewards compared by :func:`self_versus_frozen_reward`.
REWARDS = ("self", "frozen")


# --------------------------------------------------------------------------------------------
# Closed forms
# --------------------------------------------------------------------------------------------


def solved_by_one_pair(M: int, beta: float, gamma_bar: float = 0.5) -> bool:
    """Whether one sampled pair (secret, other) lifts the secret response above probability 1/2.

    In the kit's minimum-norm ERM a prompt changes only inside a connected group of sampled
    responses, each member moving by ``(r - mean_group r)/beta`` with ``r = log pi_t``. For the
    group of two, the secret gains ``g/(2 beta)`` and the other loses as much, with
    ``g = log(p/p_other)``; the secret then has more than half of the mass iff::

        exp((1 + 1/(2 beta)) g) > M - 2 + exp(-g/(2 beta))

    A larger group containing the secret lifts it further, so the condition covers every
    dataset in which some triple pairs the secret with another response.
    [reconstructed, by algebra from the kit's ERM rule; :ref:`recovered-erm-tie-break`]
    """
    beta = check.check_positive("beta", beta)
    p = secret_probability(M, gamma_bar)
    g = math.log(p / ((1.0 - p) / (M - 1)))
    return math.exp((1.0 + 1.0 / (2.0 * beta)) * g) > M - 2 + math.exp(-g / (2.0 * beta))


def pooled_expected_failure(total, *, d: int, M: int, Delta: float, gamma_bar: float = 0.5):
    """Expected failure on the hard instance after ``total`` triples in one round, when
    :func:`solved_by_one_pair` holds::

        E[fail] = Delta (1 - 2 (Delta/d) p (1 - p))^total,   p = 1/((1 - gamma_bar) M)

    An informative prompt (mass ``Delta/d``) changes iff a triple lands on it with exactly one
    of its two responses the secret one (probability ``(Delta/d) 2 p (1 - p)`` per triple), and
    is then solved; triples are independent. Split into rounds, an unsolved prompt keeps its
    initial policy, so every round samples it alike and it is still unsolved after all rounds
    with the same probability: the formula is then a lower bound on the expected failure, exact
    as long as no solved prompt relapses (``rounds_versus_pooling`` counts relapses).
    [reconstructed, by algebra from the kit's ERM rule; the same formula as the one-round
    prediction of chapter 4; :ref:`recovered-erm-tie-break`]
    """
    check.check_int("d (number of informative prompts)", d, minimum=1)
    Delta = check.check_open_interval("Delta", Delta, 0.0, 1.0)
    total = np.asarray(total, dtype=float)
    if np.any(total < 0):
        raise ValueError("total (number of triples) must be >= 0")
    p = secret_probability(M, gamma_bar)
    return Delta * (1.0 - 2.0 * (Delta / d) * p * (1.0 - p)) ** total


def population_exponent(t, beta, reward: str):
    """The power ``E_t`` in ``pi_t ∝ pi_0^(E_t)`` after ``t`` exact (infinite-data) rounds::

        self-reward   r_t = log pi_t:  E_t = (1 + 1/beta)^t     (doubly exponential sharpening)
        frozen reward r   = log pi_0:  E_t = 1 + t/beta         (singly exponential)

    From the Gibbs update ``pi_{t+1} ∝ pi_t exp(r/beta)`` [reconstructed, from the Gibbs form;
    the self-reward case is Huang et al.'s ``pi*_beta ∝ pi_base^(1+1/beta)`` composed t times;
    :ref:`recovered-gibbs`].
    """
    if reward not in REWARDS:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    t = np.asarray(t, dtype=float)
    beta = np.asarray(beta, dtype=float)
    if np.any(t < 0) or np.any(beta <= 0):
        raise ValueError("t must be >= 0 and beta > 0")
    return (1.0 + 1.0 / beta) ** t if reward == "self" else 1.0 + t / beta


# --------------------------------------------------------------------------------------------
# Experiments
# --------------------------------------------------------------------------------------------


#: Both experiments run their instances padded to this shape (prompts, responses), so that a
#: process running both (the chapter) shares compiled simulations between them
#: (:func:`srlm_kit.instances.pad` changes no policy).
SHAPE = (40, 21)


def _runs(key, start, n_values, betas, *, T: int, seeds: int, judge=None):
    """``kappa`` and ``failure`` of ``seeds`` runs for every (n, beta), each ``(n, beta, seed,
    t)`` with ``t = 0..T``. One :func:`srlm_kit.dynamics.run` per (n, beta), all with the same
    key (common random numbers, as :func:`srlm_kit.dynamics.run_grid`), at the module's padded
    instance shape."""
    m, num_responses = start.logits.shape
    padded = instances.pad(start, max(m, SHAPE[0]), max(num_responses, SHAPE[1]))
    if judge is not None:
        quality = np.full(padded.logits.shape, policies.LOG_FLOOR)
        quality[:m, :num_responses] = np.asarray(judge.quality)
        judge = dynamics.judge(quality, noise=float(judge.noise))
    kappa, failure = [], []
    for n in n_values:
        rows = [dynamics.run(key, padded, n=int(n), T=T, beta=beta, seeds=seeds, judge=judge)
                for beta in betas]
        kappa.append([np.asarray(row.kappa) for row in rows])
        failure.append([np.asarray(row.failure) for row in rows])
    return np.asarray(kappa), np.asarray(failure)


def rounds_versus_pooling(*, seed: int = 0, d: int = 10, M: int = 20, Delta: float = 0.25,
                          gamma_bar: float = 0.5, totals=(16, 32, 64, 128, 256, 512, 1024),
                          rounds=(1, 2, 4, 8), betas=(0.05, 0.5), seeds: int = 32) -> xr.Dataset:
    """A budget of ``N`` triples on the hard instance, spent as ``T`` rounds of ``N/T``.

    The instance: :func:`srlm_kit.instances.hard_instance` with ``d`` informative prompts, ``M``
    informative responses, informative mass ``Delta`` and bump ``gamma_bar``; its secret key
    drawn from ``split(key(seed))[0]``. For every total ``N`` (axis ``N``), split ``T`` (axis
    ``T``; every ``T`` must divide every ``N``) and ``beta`` (axis ``beta``), ``seeds`` runs of
    ``T`` rounds with ``N/T`` fresh triples each (:func:`srlm_kit.dynamics.run`, minimum-norm
    ERM; runs from ``split(key(seed))[1]``, shared across grid points).

    Fields (an :class:`xarray.Dataset`): ``split`` over ``[T, beta, N, band]``, the failure
    probability (threshold 1/2) after the last round; ``pooled`` over ``[beta, N, band]``, the
    same for one round of ``N`` (the ``T = 1`` entry, kept as its own field for the figure);
    ``pooled_expected`` over ``[N]``, :func:`pooled_expected_failure`, valid for the betas with
    ``attrs["solved_by_one_pair"]`` True. ``attrs`` also records ``kappa0`` (the instance's
    condition number), ``log_class_size`` (``d log M``), and per beta the number of runs (of
    ``attrs["runs"]``, every per-round size and seed over ``max(rounds)`` rounds) whose failure
    rose from one round to the next, ``runs_with_rising_failure`` (a solved prompt relapsing).
    """
    check.check_int("seeds", seeds, minimum=2)
    check.check_int("d (number of informative prompts)", d, minimum=1)
    totals = np.asarray(check.check_increasing_ints("totals", totals))
    rounds = np.asarray(check.check_increasing_ints("rounds", rounds))
    if rounds[0] != 1:
        raise ValueError(f"rounds must start at 1 (one round of N is the comparison), got "
                         f"{list(rounds)}")
    for total in totals:
        if any(total % T for T in rounds):
            raise ValueError(f"every T in rounds {list(rounds)} must divide every total in "
                             f"totals; {int(total)} is not divisible")
    betas = [check.check_positive("beta", beta) for beta in betas]
    key_instance, key_runs = jax.random.split(jax.random.key(seed))
    start = instances.hard_instance(key_instance, d, M, Delta, gamma_bar)
    n_values = sorted({int(total) // int(T) for total in totals for T in rounds})
    _, failure = _runs(key_runs, start, n_values, betas, T=int(rounds[-1]), seeds=seeds)
    # failure: (n, beta, seed, round). A solved prompt that relapses would make a run's failure
    # rise from one round to the next.
    rising = (np.diff(failure, axis=-1) > 1e-12).any(axis=-1)  # (n, beta, seed)
    split = np.stack([np.stack([failure[n_values.index(int(total) // int(T)), :, :, int(T)]
                                for total in totals], axis=-2) for T in rounds])
    split_band = band(split, seed_axis=-1)  # (T, beta, N, band)
    expected = pooled_expected_failure(totals, d=d, M=M, Delta=Delta, gamma_bar=gamma_bar)
    return labelled_grid(
        {"T": [int(T) for T in rounds], "beta": betas, "N": [int(total) for total in totals]},
        {"split": (["T", "beta", "N", "band"], split_band),
         "pooled": (["beta", "N", "band"], split_band[0]),
         "pooled_expected": (["N"], expected)},
        attrs={"seed": seed, "d": d, "M": M, "Delta": Delta, "gamma_bar": gamma_bar,
                   "seeds": seeds, "kappa0": instances.hard_instance_kappa0(M, Delta, gamma_bar),
                   "log_class_size": d * math.log(M),
                   "solved_by_one_pair": [solved_by_one_pair(M, beta, gamma_bar)
                                          for beta in betas],
                   "runs": int(rising.shape[0] * rising.shape[2]),
                   "runs_with_rising_failure": [int(count) for count in rising.sum(axis=(0, 2))]})


def self_versus_frozen_reward(*, seed: int = 0, num_prompts: int = 40, num_responses: int = 10,
                              kappa0: float = 6.0, n_values=(25, 100, 400), betas=(0.1, 0.5),
                              T: int = 8, seeds: int = 32) -> xr.Dataset:
    """``kappa_t`` under the self-reward ``log pi_t`` and under the frozen reward ``log pi_0``.

    Start: the bump instance (toy A) with ``num_prompts`` prompts, ``num_responses`` responses
    and ``kappa(pi_0) = kappa0`` (:func:`srlm_kit.instances.bump_height_for_kappa0`).
    For each reward (axis ``reward``: ``"self"``, the paper's ``r_t = log pi_t``; ``"frozen"``,
    ``r = log pi_0`` as a :class:`srlm_kit.dynamics.Judge` without noise), each ``n`` and
    ``beta``: ``seeds`` runs of ``T`` rounds of the same square-loss ERM on fresh on-policy
    triples (:func:`srlm_kit.dynamics.run`; both rewards see the same random numbers, from
    ``jax.random.key(seed)``), and the exact infinite-data update in closed form,
    ``pi_t ∝ pi_0^(E_t)`` with ``E_t`` from :func:`population_exponent` (the tests check it
    against :func:`srlm_kit.dynamics.population_update`).

    Fields (an :class:`xarray.Dataset`): ``excess`` over ``[reward, n, beta, t, band]``, the excess
    condition number ``kappa_t - 1`` (mean and band over seeds); ``population_excess`` over
    ``[reward, beta, t]``, the same for the exact update
    (:func:`~srlm_kit.metrics.condition_excess`, computed without cancellation; with the self-reward
    it underflows to 0 within a few rounds); ``exponent`` over ``[reward, beta, t]``,
    :func:`population_exponent`.
    """
    check.check_int("T (number of rounds)", T, minimum=1)
    check.check_int("seeds", seeds, minimum=2)
    n_array = np.asarray(check.check_increasing_ints("n_values", n_values))
    betas = [check.check_positive("beta", beta) for beta in betas]
    start = instances.bump(num_prompts, num_responses,
                           bump_height_for_kappa0(kappa0, num_responses))
    log_start = policies.log_policy(start.logits)
    frozen = dynamics.judge(np.asarray(log_start))
    key = jax.random.key(seed)
    excess_bands, population, exponents = [], [], []
    for reward, judge in zip(REWARDS, (None, frozen), strict=True):
        kappa, _ = _runs(key, start, n_array, betas, T=T, seeds=seeds, judge=judge)
        excess_bands.append(band(kappa - 1.0, seed_axis=2))  # kappa: (n, beta, seed, t)
        exponent = [[float(population_exponent(t, beta, reward)) for t in range(T + 1)]
                    for beta in betas]
        population.append([[float(metrics.condition_excess(power * log_start, start.rho))
                            for power in row]
                           for row in exponent])
        exponents.append(exponent)

    return labelled_grid(
        {"reward": list(REWARDS), "n": [int(n) for n in n_array], "beta": betas,
         "t": list(range(T + 1))},
        {"excess": (["reward", "n", "beta", "t", "band"], np.stack(excess_bands)),
         "population_excess": (["reward", "beta", "t"], population),
         "exponent": (["reward", "beta", "t"], exponents)},
        attrs={"seed": seed, "num_prompts": num_prompts, "num_responses": num_responses,
               "kappa0": kappa0, "seeds": seeds, "T": T,
               "bump_height": bump_height_for_kappa0(kappa0, num_responses)})
