"""Every experiment of the book, registered in one place as a short spec.

A spec names the experiment, its function, what it varies (the dimensions of the
:class:`xarray.Dataset` it returns) and what it measures (the data variables); its defaults are
read from the function's signature. Calling a registered experiment runs the function and
records its provenance in the result's ``attrs``: ``"experiment"`` (the name) and
``"arguments"`` (the keyword arguments given), which :func:`srlm_kit.figures.core.grid_figure`
reads so that every page figure can be recomputed from what it records.

Adding an experiment: write the function (in the module of its concern), add its spec line to
:data:`SPECS`, and give it a small setting in the registry's test, which checks that the result
has exactly the declared dimensions and variables and that a second run gives the same numbers.
Which chapters use an experiment is read from the chapters themselves (the appendix scans them
for the names registered here).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import xarray as xr

from srlm_kit.experiments import (
    explorer,
    failure,
    iterative,
    judges,
    linear,
    lower_bound,
    near_ties,
    overview,
    pooling,
    sharpening,
    transformer,
)


@dataclass(frozen=True)
class Spec:
    """One experiment: ``name``, ``function``, the dimensions it ``varies`` and the variables it
    ``measures`` (a variable with a ``band`` axis holds the mean and band over seeds,
    :func:`srlm_kit.experiments.common.band`)."""

    name: str
    function: Callable[..., xr.Dataset]
    varies: tuple[str, ...]
    measures: tuple[str, ...]

    @property
    def defaults(self) -> dict:
        """The keyword arguments and their default values, read from the signature."""
        return {parameter.name: parameter.default
                for parameter in inspect.signature(self.function).parameters.values()
                if parameter.default is not inspect.Parameter.empty}

    def __call__(self, **arguments) -> xr.Dataset:
        """Run the experiment; the result records its provenance in ``attrs``."""
        result = self.function(**arguments)
        result.attrs.update(experiment=self.name, arguments=dict(arguments))
        return result


#: The registry: one spec per experiment, grouped by topic.
SPECS = (
    Spec("kappa_and_failure_grid", explorer.kappa_and_failure_grid,
         varies=("kappa0", "n", "beta", "t", "band"),
         measures=("kappa", "failure", "mu_min", "gamma_min", "failure_bound",
                   "population_kappa", "population_failure")),
    Spec("paper_in_one_picture", overview.paper_in_one_picture,
         varies=("kappa0", "n", "t"),
         measures=("failure_mean", "kappa_mean", "mu_min", "gamma_min", "failure_bound")),
    Spec("judge_versus_self_reward", judges.judge_versus_self_reward,
         varies=("noise", "bias", "t", "band"),
         measures=("judge_agreement", "judge_kappa", "judge_lure_share_mean",
                   "self_agreement", "self_kappa")),
    Spec("population_sharpening", sharpening.population_sharpening,
         varies=("kappa0", "beta", "t"),
         measures=("kappa", "top_probability", "margin", "floor_reached", "closed_kappa",
                   "closed_top_probability", "closed_margin")),
    Spec("greedy_trap_sequences", failure.greedy_trap_sequences,
         varies=("p", "lead", "sequence"),
         measures=("probability", "frequency", "optimal", "greedy")),
    Spec("greedy_versus_mode", failure.greedy_versus_mode,
         varies=("temperature",),
         measures=("above_half", "missed_above_half", "at_most_half",
                   "missed_at_most_half", "largest_missed_top")),
    Spec("condition_number_family", failure.condition_number_family,
         varies=("K", "temperature"),
         measures=("kappa", "inverse_mu", "failure", "kappa_minus_one",
                   "inverse_mu_minus_one", "ceiling")),
    Spec("lemma_c1_thresholds", failure.lemma_c1_thresholds,
         varies=("n", "beta", "s", "band"),
         measures=("lhs", "rhs")),
    Spec("single_step_failure", lower_bound.single_step_failure,
         varies=("kappa0", "n", "band"),
         measures=("fixed", "family", "fixed_expected", "family_expected", "family_Delta",
                   "family_M", "family_log_class_size", "bound", "bound_calibrated")),
    Spec("lower_bound_forms", lower_bound.lower_bound_forms,
         varies=("kappa0", "log_class_size", "n"),
         measures=("exact_with_one", "exact_without_one", "asymptotic", "reviewer", "rate")),
    Spec("lower_bound_sample_sizes", lower_bound.lower_bound_sample_sizes,
         varies=("log_class_size", "level", "kappa0"),
         measures=("n_needed", "n_equals_kappa0")),
    Spec("iterative_bound_grid", iterative.iterative_bound_grid,
         varies=("kappa0", "n", "beta", "t", "band", "fit"),
         measures=("kappa", "failure", "population_kappa", "c1_lhs", "c1_rhs", "tail_rhs",
                   "recursion_one", "recursion_inverse_mu", "recursion_fit", "mu_min",
                   "gamma_min", "bound_shape", "bound_calibrated", "coverage_failure",
                   "failure_slope_n", "shape_slope_n", "failure_slope_t", "shape_slope_t",
                   "transient_slope_t")),
    Spec("iterative_level_three", iterative.iterative_level_three,
         varies=("kappa0", "T", "n"),
         measures=("bound", "bound_no_class", "failure_observed", "mu", "gamma",
                   "crossing", "crossing_no_class")),
    Spec("rounds_needed_grid", iterative.rounds_needed_grid,
         varies=("kappa0", "n", "beta", "band", "reading", "T"),
         measures=("rounds", "censored", "coverage_rounds", "kappa_final_max",
                   "mu_reading", "threshold", "stable", "transient", "term_sum",
                   "sqrt_kappa")),
    Spec("one_round_grid", iterative.one_round_grid,
         varies=("kappa0", "n"),
         measures=("error_train", "error_target", "term_target", "term_new", "kl_target",
                   "kl_new", "gap", "failure", "change_of_measure", "decomposition",
                   "bound", "tightness")),
    Spec("rounds_versus_pooling", pooling.rounds_versus_pooling,
         varies=("T", "beta", "N", "band"),
         measures=("split", "pooled", "pooled_expected")),
    Spec("self_versus_frozen_reward", sharpening.self_versus_frozen_reward,
         varies=("reward", "n", "beta", "t", "band"),
         measures=("excess", "population_excess", "exponent")),
    Spec("population_versus_samples", sharpening.population_versus_samples,
         varies=("n", "beta", "t", "band", "step"),
         measures=("excess", "failure_mean", "population_excess", "transient_reference",
                   "bound", "mu_min", "gamma_min", "erm_rate", "transient_rate",
                   "population_decrement")),
    Spec("consistency_not_correctness", judges.consistency_not_correctness,
         varies=("p", "n", "beta", "t", "band"),
         measures=("agreement", "retention", "confident_mean", "population_agreement",
                   "population_confident", "p_level")),
    Spec("judge_bias_and_noise", judges.judge_bias_and_noise,
         varies=("noise", "bias", "n", "t", "band"),
         measures=("agreement", "quality_mean", "judge_score_mean", "favourite_mean",
                   "limit", "population_agreement", "self_agreement", "self_quality_mean")),
    Spec("margin_collapse", near_ties.margin_collapse,
         varies=("tied", "gamma0", "t", "band"),
         measures=("failure", "lost_mode_mean", "gamma_min", "mu_min", "bound",
                   "population_failure", "population_rounds", "rounds_sufficient",
                   "kappa0")),
    Spec("beta_regimes", sharpening.beta_regimes,
         varies=("n", "t", "band", "scale"),
         measures=("constant_failure", "constant_excess_mean", "scaled_failure",
                   "scaled_excess_mean", "scaled_mode_kept_mean", "coverage",
                   "population_failure", "population_excess", "scaled_beta",
                   "scaled_dominant")),
    Spec("linear_rounds", linear.linear_rounds,
         varies=("n", "beta", "t", "band", "ratio"),
         measures=("coverage", "capture", "failure", "kappa", "agreement", "norm_ratio",
                   "informative_mean", "norm_ratio_max", "mu_min", "gamma_min",
                   "coverage_ceiling", "population_failure", "population_kappa",
                   "population_norm_ratio", "horizon", "population_exit", "erm_exit")),
    Spec("linear_dimension_sweep", linear.linear_dimension_sweep,
         varies=("spectrum", "d", "t", "band"),
         measures=("failure", "shape_dimension", "shape_deff", "theorem_6_2", "deff",
                   "capture_first_min", "gamma_min", "mu_min")),
    Spec("effective_dimension_grid", linear.effective_dimension_grid,
         varies=("alpha", "n", "d"),
         measures=("deff", "termwise", "exponential_bound", "ambient")),
    Spec("small_transformer_loop", transformer.small_transformer_loop,
         varies=("loss", "n", "beta", "t", "band", "steps", "T"),
         measures=("kappa", "tabular_kappa", "population_kappa", "budget_kappa_mean",
                   "rounds_kappa_mean", "pooled_kappa_mean", "tabular_rounds_kappa_mean",
                   "tabular_pooled_kappa_mean", "failure", "tabular_failure",
                   "population_failure", "budget_failure_mean", "rounds_failure_mean",
                   "pooled_failure_mean", "tabular_rounds_failure_mean",
                   "tabular_pooled_failure_mean", "kl", "budget_kl_mean",
                   "budget_excess_mean", "gap_mean", "excess_mean", "alpha_mean",
                   "alpha_bound_mean", "kappa_min_over_seeds_minus_alpha_bound")),
)


def _registered(spec: Spec) -> Callable[..., xr.Dataset]:
    """The spec as a plain function with the experiment's own name, docstring and signature."""

    @functools.wraps(spec.function)
    def run(**arguments) -> xr.Dataset:
        return spec(**arguments)

    run.spec = spec
    return run


#: Every experiment by name: ``{name: function}``. Each function runs the experiment and records
#: its name and keyword arguments in the result's ``attrs``; the command line reads this table.
EXPERIMENTS: Mapping[str, Callable[..., xr.Dataset]] = {spec.name: _registered(spec)
                                                         for spec in SPECS}
