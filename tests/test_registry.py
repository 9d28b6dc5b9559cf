"""The registry of experiments: every spec matches what its experiment returns.

Each experiment runs here once on small arguments, and twice: the result has exactly the
dimensions and variables its spec declares, records its provenance, and a second run with the
same arguments gives identical numbers (determinism: every random number comes from ``seed``).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import xarray as xr

from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments.registry import SPECS

ITERATIVE = dict(num_prompts=10, num_responses=8, kappa0s=(2.5, 5.0), n_values=(20, 40), T=3,
                 seeds=3)

#: Small arguments for every registered experiment (a new experiment needs its line here).
SMALL = {
    "kappa_and_failure_grid": dict(num_prompts=6, num_responses=4, kappa0s=(2.5,),
                                   n_values=(10, 20), betas=(0.5,), T=2, seeds=2),
    "paper_in_one_picture": dict(num_prompts=6, num_responses=4, kappa0s=(2.5,),
                                 n_values=(10, 20), T=2, seeds=2),
    "judge_versus_self_reward": dict(num_prompts=6, num_responses=4, kappa0=2.5,
                                     noises=(0.0, 0.7), biases=(0.0,), n=10, n_max=20, T=2,
                                     seeds=2),
    "population_sharpening": dict(num_responses=6, kappa0s=(1.5, 3.0), betas=(0.1, 1.0), T=3),
    "greedy_trap_sequences": dict(p_values=(0.4,), leads=(0.05,), samples=100),
    "greedy_versus_mode": dict(temperatures=(0.3, 1.0), models=40, length=3),
    "condition_number_family": dict(num_prompts=10, num_responses=(3, 6),
                                    temperatures=(0.1, 1.0)),
    "lemma_c1_thresholds": dict(num_prompts=8, num_responses=4, n_values=(10, 20), betas=(0.5,),
                                thresholds=(0.2, 0.5), T=2, seeds=2),
    "single_step_failure": dict(k=4, kappa0s=(2.0, 3.0), n_values=(60, 120), seeds=2,
                                calibration=(2.0, 120), prototype=False),
    "lower_bound_forms": dict(kappa0s=(4.0, 8.0), log_class_sizes=(10.0,),
                              n_values=(1000, 10000)),
    "lower_bound_sample_sizes": dict(kappa0s=(2.0, 4.0), levels=(0.3,), log_class_sizes=(1.0,)),
    # One simulation (cached per process) serves the first three.
    "iterative_bound_grid": {**ITERATIVE, "calibration": (5.0, 20, 1)},
    "iterative_level_three": {**ITERATIVE, "doublings": 3},
    "rounds_needed_grid": ITERATIVE,
    "one_round_grid": dict(num_prompts=6, num_responses=4, kappa0s=(2.5,), n_values=(10, 20),
                           seeds=2),
    "rounds_versus_pooling": dict(k=2, M=5, Delta=0.3, totals=(8, 16), rounds=(1, 2), seeds=2),
    "self_versus_frozen_reward": dict(num_prompts=6, num_responses=4, kappa0=2.5,
                                      n_values=(10,), betas=(0.5,), T=2, seeds=2),
    "population_versus_samples": dict(num_prompts=6, num_responses=4, n_values=(8, 16),
                                      betas=(0.5,), T=2, seeds=2, n_max=16, rate_rounds=2),
    "consistency_not_correctness": dict(num_prompts=6, num_responses=4, agreements=(0.5,),
                                        n_values=(8,), betas=(0.5,), T=2, seeds=2, n_max=16),
    "judge_bias_and_noise": dict(num_prompts=6, num_responses=4, biases=(0.0, 1.0),
                                 noises=(0.0,), n_values=(8,), T=2, seeds=2, n_max=16),
    "margin_collapse": dict(num_prompts=6, num_responses=4, gamma0s=(0.1,), tied=(2,), n=8,
                            T=2, seeds=2, n_max=16),
    "beta_regimes": dict(num_prompts=6, num_responses=4, n_values=(8, 16), scales=(1.0,), T=2,
                         seeds=2, n_max=16),
    "linear_rounds": dict(num_prompts=6, num_responses=4, dimension=8, n_values=(4,),
                          betas=(0.5,), T=2, seeds=2, radius_ratios=(1.5, 4.0), T_population=3),
    "linear_dimension_sweep": dict(num_prompts=6, num_responses=4, dimensions=(3, 6), n=4, T=2,
                                   seeds=2, draws=1),
    "effective_dimension_grid": dict(alphas=(0.3,), n_values=(10, 100), dimensions=(2, 4)),
    "small_transformer_loop": dict(n_values=(4, 8), betas=(0.5,), T=2, seeds=2, steps=2,
                                   few_steps=1, many_steps=3, pooled_n=4, pooled_rounds=(1, 2)),
}

def _small(name: str) -> dict:
    """The small arguments the experiment's signature takes (shape settings such as ``n_max``
    are left out where an experiment no longer has them)."""
    parameters = inspect.signature(EXPERIMENTS[name]).parameters
    return {key: value for key, value in SMALL[name].items() if key in parameters}


def test_every_registered_experiment_has_small_arguments():
    assert set(SMALL) == set(EXPERIMENTS), set(SMALL) ^ set(EXPERIMENTS)
    assert [spec.name for spec in SPECS] == list(EXPERIMENTS)


@pytest.mark.slow  # every experiment, compiled and run twice: about three minutes
@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.name)
def test_result_has_exactly_the_declared_dimensions_and_variables(spec):
    arguments = _small(spec.name)
    result = EXPERIMENTS[spec.name](**arguments)
    assert isinstance(result, xr.Dataset)
    assert sorted(result.dims) == sorted(spec.varies)
    assert sorted(result.data_vars) == sorted(spec.measures)
    assert result.attrs["experiment"] == spec.name and result.attrs["arguments"] == arguments
    if "band" in result.dims:
        assert result["band"].values.tolist() == ["mean", "lower", "upper"]
    for name, variable in result.data_vars.items():
        assert variable.dtype == np.float64, name
        if "band" in variable.dims:  # the band holds its mean wherever all three are defined
            mean, lower, upper = (variable.sel(band=edge).values for edge in
                                  ("mean", "lower", "upper"))
            defined = np.isfinite(mean) & np.isfinite(lower) & np.isfinite(upper)
            assert np.all(lower[defined] <= mean[defined] + 1e-12), name
            assert np.all(mean[defined] <= upper[defined] + 1e-12), name
    again = EXPERIMENTS[spec.name](**arguments)
    xr.testing.assert_identical(result, again)


def test_defaults_are_read_from_the_signature():
    for spec in SPECS:
        signature = inspect.signature(spec.function)
        assert spec.defaults == {name: parameter.default
                                 for name, parameter in signature.parameters.items()}
        assert inspect.signature(EXPERIMENTS[spec.name]) == signature
