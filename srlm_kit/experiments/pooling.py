"""Rounds against pooling: a budget of N triples spent as T rounds of N/T, or as one round.

The theory's tightness is known for one step only (Theorem 4.1); its ICLR reviewers asked
whether a one-step lower bound says anything about several rounds (:ref:`recovered-reviews`,
R4). On the hard instance of Theorem 4.1 (paper App. D,
:func:`srlm_kit.instances.hard_instance`) with a small beta, the failure depends on the total N
alone: the closed form :func:`srlm_kit.bounds.hard_instance_expected_failure` at ``N`` triples
(valid while :func:`srlm_kit.bounds.solved_by_one_pair` holds; derived in
:func:`srlm_kit.theory.lower_bound.pooling_identity`), so a one-step lower bound at sample
size ``N`` is the natural candidate for ``T`` rounds. Bands are mean ± one standard deviation
over seeds, clipped to the range the seeds reached. [reconstructed, :ref:`recovered-book-own`]
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from srlm_kit import _validation as check
from srlm_kit import bounds, instances
from srlm_kit.experiments.common import (
    MAX_ENTRIES,
    band,
    experiment,
    kappa_and_failure_runs,
    labelled_grid,
)


@experiment
def rounds_versus_pooling(*, seed: int = 0, k: int = 10, M: int = 20, Delta: float = 0.25,
                          gamma_bar: float = 0.5, totals=(16, 32, 64, 128, 256, 512, 1024),
                          rounds=(1, 2, 4, 8), betas=(0.05, 0.5), seeds: int = 32) -> xr.Dataset:
    """A budget of ``N`` triples on the hard instance, spent as ``T`` rounds of ``N/T``.

    The instance: :func:`srlm_kit.instances.hard_instance` with ``k`` informative prompts, ``M``
    informative responses, informative mass ``Delta`` and bump ``gamma_bar``; its secret key
    drawn from ``split(key(seed))[0]``. For every total ``N`` (axis ``N``), split ``T`` (axis
    ``T``; every ``T`` must divide every ``N``) and ``beta`` (axis ``beta``), ``seeds`` runs of
    ``T`` rounds with ``N/T`` fresh triples each (:func:`srlm_kit.dynamics.run`, minimum-norm
    ERM; runs from ``split(key(seed))[1]``, shared across grid points).

    Fields (an :class:`xarray.Dataset`): ``split`` over ``[T, beta, N, band]``, the failure
    probability (threshold 1/2) after the last round; ``pooled`` over ``[beta, N, band]``, the
    same for one round of ``N`` (the ``T = 1`` entry, kept as its own field for the figure);
    ``pooled_expected`` over ``[N]``, :func:`srlm_kit.bounds.hard_instance_expected_failure` at
    ``N`` triples in one round, valid for the betas with
    ``attrs["solved_by_one_pair"]`` True. ``attrs`` also records ``kappa0`` (the instance's
    condition number), ``log_class_size`` (``k log M``), and per beta the number of runs (of
    ``attrs["runs"]``, every per-round size and seed over ``max(rounds)`` rounds) whose failure
    rose from one round to the next, ``runs_with_rising_failure`` (a solved prompt relapsing).
    """
    check.check_int("seeds", seeds, minimum=2)
    totals = np.asarray(check.check_increasing_ints("totals", totals))
    rounds = np.asarray(check.check_increasing_ints("rounds", rounds))
    if rounds[0] != 1:
        raise ValueError(f"rounds must start at 1 (one round of N is the comparison), got "
                         f"{list(rounds)}")
    for total in totals:
        if any(total % T for T in rounds):
            raise ValueError(f"every T in rounds {list(rounds)} must divide every total in "
                             f"totals; {int(total)} is not divisible")
    check.check_entries({"k + 1 (prompts)": k + 1, "M + 1 (responses)": M + 1}, MAX_ENTRIES)
    key_instance, key_runs = jax.random.split(jax.random.key(seed))
    start = instances.hard_instance(key_instance, k, M, Delta, gamma_bar)
    n_values = sorted({int(total) // int(T) for total in totals for T in rounds})
    _, failure = kappa_and_failure_runs(key_runs, start, n_values, betas, T=int(rounds[-1]),
                                        seeds=seeds)
    # failure: (n, beta, seed, round). A solved prompt that relapses would make a run's failure
    # rise from one round to the next.
    rising = (np.diff(failure, axis=-1) > 1e-12).any(axis=-1)  # (n, beta, seed)
    split = np.stack([np.stack([failure[n_values.index(int(total) // int(T)), :, :, int(T)]
                                for total in totals], axis=-2) for T in rounds])
    split_band = band(split, seed_axis=-1)  # (T, beta, N, band)
    expected = bounds.hard_instance_expected_failure(totals, k=k, M=M, Delta=Delta,
                                                     gamma_bar=gamma_bar)
    return labelled_grid(
        {"T": [int(T) for T in rounds], "beta": betas, "N": [int(total) for total in totals]},
        {"split": (["T", "beta", "N", "band"], split_band),
         "pooled": (["beta", "N", "band"], split_band[0]),
         "pooled_expected": (["N"], expected)},
        attrs={"seed": seed, "k": k, "M": M, "Delta": Delta, "gamma_bar": gamma_bar,
                   "seeds": seeds, "kappa0": instances.hard_instance_kappa0(M, Delta, gamma_bar),
                   "log_class_size": k * math.log(M),
                   "solved_by_one_pair": [bounds.solved_by_one_pair(M, beta, gamma_bar)
                                          for beta in betas],
                   "runs": int(rising.shape[0] * rising.shape[2]),
                   "runs_with_rising_failure": [int(count) for count in rising.sum(axis=(0, 2))]})
