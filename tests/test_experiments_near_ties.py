"""Near ties (srlm_kit.instances.near_tie, srlm_kit.experiments.near_ties) against independent
computations: the start's margin and gaps, the NumPy reference's condition number, SymPy (the
derivation of the sufficient number of rounds evaluated against the numeric helper), the exact
update, and the kit's own Theorem 5.3 bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import reference_numpy as ref
from figure_checks import check_every_slider_step, strict_json
from srlm_kit import bounds, instances, metrics, theory
from srlm_kit.experiments import EXPERIMENTS, common, near_ties
from srlm_kit.figures import near_ties as near_tie_figures

#: Small shapes (one compiled simulation for every run of this file).
SMALL = {"num_prompts": 12, "num_responses": 6, "T": 3, "seeds": 3}
SETTINGS = dict(gamma0s=(0.01, 0.3), tied=(2, 3), n=40)


def test_near_tie_start_has_margin_gamma0_and_irrationally_spaced_competitors():
    start = instances.near_tie(5, 8, 4, 0.01, height=3.0)
    logits = np.asarray(start.logits)
    assert float(metrics.margin(start.logits, start.rho)) == pytest.approx(0.01, rel=1e-9)
    assert np.array_equal(np.argmax(logits, axis=1), np.arange(5) % 8)
    gaps = np.sort(3.0 - logits[0][logits[0] > 0])[1:] / 0.01
    np.testing.assert_allclose(gaps, [1.0, math.sqrt(2), math.sqrt(3)], rtol=1e-9)
    assert float(metrics.condition_number(start.logits, start.rho)) == pytest.approx(
        ref.condition_number(logits, np.full(5, 0.2)), rel=1e-12)


def test_near_tie_rounds_value_is_the_derivation_and_suffices_for_the_exact_update():
    derivation = theory.near_tie_rounds()
    K, gamma0, c = (sp.Symbol("K", positive=True, integer=True),
                    sp.Symbol("gamma_0", positive=True), sp.Symbol("c", positive=True))
    formula = sp.lambdify((K, gamma0, c), derivation.result.rhs, "numpy")
    for margin in (1e-4, 0.03, 0.5):
        expected = bounds.near_tie_rounds_value(20, margin, 0.5)
        assert formula(20, margin, 3.0) == pytest.approx(float(expected), rel=1e-12)
        # After the first whole number of rounds above it, no prompt fails (exact update).
        start = instances.near_tie(4, 20, 5, margin)
        rounds = math.floor(float(expected)) + 1
        final = common.population_logits(start.logits, 0.5, rounds)[-1]
        assert float(metrics.failure_probability(final, start.rho)) == 0.0


@pytest.fixture(scope="module")
def small():
    """The experiment at small sizes, computed once for this file."""
    return EXPERIMENTS["margin_collapse"](**SETTINGS, **SMALL)


def test_margin_collapse_values(small):
    result = strict_json(small)
    gamma = result["gamma_min"].values
    np.testing.assert_allclose(gamma[..., 0], np.broadcast_to([0.01, 0.3], gamma.shape[:-1]),
                               rtol=1e-9)
    assert np.all(np.diff(gamma, axis=-1) <= 0), "a running minimum never rises"
    kappa0 = result["kappa0"].values
    mu = result["mu_min"].values
    expected = bounds.theorem_5_3_bound(40, 3, log_class_size=0.0, delta=common.DELTA,
                                        gamma=gamma[1, 0, 3], mu=mu[1, 0, 3], kappa0=kappa0[1, 0])
    assert float(result["bound"][1, 0, 3]) == pytest.approx(float(expected), rel=1e-12)
    start = instances.near_tie(12, 6, 3, 0.01)
    assert kappa0[1, 0] == pytest.approx(ref.condition_number(np.asarray(start.logits),
                                                              np.full(12, 1 / 12)), rel=1e-12)


@pytest.mark.parametrize(("build", "message"), [
    (lambda: instances.near_tie(4, 6, 1, 0.1), "tied"),
    (lambda: instances.near_tie(4, 6, 6, 0.1), "tied"),
    (lambda: instances.near_tie(4, 6, 2, 0.0), "gamma0"),
    (lambda: bounds.near_tie_rounds_value(20, -1.0, 0.5), "gamma0"),
    (lambda: near_ties.margin_collapse(gamma0s=(0.0, 0.1)), "gamma0s"),
])
def test_bad_input_is_a_named_value_error(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_figure_shows_the_experiment_values_at_every_slider_position(small):
    check_every_slider_step(near_tie_figures.failure_over_margin(small), small)
