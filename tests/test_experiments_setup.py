"""Chapter 2's experiment (the exact iteration from bump policies), its closed forms, its figures,
and the display of the kit's derivations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sympy as sp

import reference_numpy as ref
from srlm_kit import theory
from srlm_kit.bounds import bump_closed_form, rounds_to_exceed_half
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments.sharpening import population_sharpening
from srlm_kit.figures import expected_traces
from srlm_kit.figures.sharpening import margin_over_rounds, top_probability_over_rounds
from srlm_kit.instances import bump_height_for_kappa0

SMALL = {"num_responses": 6, "kappa0s": (1.5, 3.0, 5.0), "betas": (0.1, 1.0, 4.0), "T": 5}


@pytest.fixture(scope="module")
def small():
    return EXPERIMENTS["population_sharpening"](**SMALL)


def test_the_kits_iteration_matches_the_numpy_reference(small):
    K = SMALL["num_responses"]
    for i, kappa0 in enumerate(SMALL["kappa0s"]):
        height = bump_height_for_kappa0(kappa0, K)
        for j, beta in enumerate(SMALL["betas"]):
            logits = ref.log_softmax(height * np.eye(K)[:1])
            for t in range(SMALL["T"] + 1):
                assert small["kappa"][i][j][t] == pytest.approx(
                    ref.condition_number(logits, [1.0]), rel=1e-12)
                assert small["top_probability"][i][j][t] == pytest.approx(
                    ref.probs(logits).max(), rel=1e-12)
                assert small["margin"][i][j][t] == pytest.approx(ref.margin(logits, [1.0]),
                                                                rel=1e-9)
                logits = ref.population_update(logits, beta)


def test_closed_forms_follow_from_the_sympy_composition(small):
    # pi_T ∝ pi_0^((1+1/beta)^T) (theory.gibbs_composition), evaluated on a bump by SymPy.
    composition = theory.gibbs_composition().result.rhs  # pi_0^(c^T) / Z_T
    K = SMALL["num_responses"]
    for i, kappa0 in enumerate(SMALL["kappa0s"]):
        height = bump_height_for_kappa0(kappa0, K)
        mode, other = (sp.exp(height) / (sp.exp(height) + K - 1),
                       sp.Integer(1) / (sp.exp(height) + K - 1))
        for j, beta in enumerate(SMALL["betas"]):
            for t in range(SMALL["T"] + 1):
                power = {theory.beta: sp.Rational(beta).limit_denominator(1000), theory.T: t}
                weight_mode = composition.subs({**power, theory.pi_0: mode})
                weight_other = composition.subs({**power, theory.pi_0: other})
                log_odds = sp.log(weight_mode / weight_other)
                margin = float(sp.N(sp.expand_log(log_odds, force=True), 30))
                top = float(sp.N(1 / (1 + (K - 1) * sp.exp(-log_odds)), 30))
                closed = bump_closed_form(height, K, beta, [t])
                assert closed["margin"][0] == pytest.approx(margin, rel=1e-12)
                assert closed["top_probability"][0] == pytest.approx(top, rel=1e-12)
                assert small["closed_margin"][i][j][t] == pytest.approx(margin, rel=1e-12)


def test_the_kit_agrees_with_the_closed_form_until_its_floor(small):
    margin = small["margin"].values
    closed = small["closed_margin"].values
    floor = np.asarray(small["floor_reached"], dtype=bool)
    assert floor.any() and not floor.all()
    np.testing.assert_allclose(margin[~floor], closed[~floor], rtol=1e-10)
    assert np.all(margin[floor] <= 1.0e4 + 1e-6) and np.all(closed[floor] > 1.0e4 - 1.0)
    np.testing.assert_allclose(small["kappa"], small["closed_kappa"], rtol=1e-12)


@pytest.mark.parametrize("beta", [0.1, 0.3, 0.5, 1.0, 2.0, 4.0, 10.0])
@pytest.mark.parametrize("kappa0", [1.2, 2.1, 3.0, 5.5, 9.0, 9.9])
def test_rounds_to_exceed_half_is_the_first_round_above_one_half(beta, kappa0):
    K = 10
    height = bump_height_for_kappa0(kappa0, K)
    rounds = rounds_to_exceed_half(height, K, beta)
    # Brute force on the exact odds: top > 1/2 iff (K - 1) e^(-b c^t) < 1.
    c = 1 + 1 / beta
    first = next(t for t in range(200) if (K - 1) * math.exp(-height * c**t) < 1)
    assert rounds == first


def test_rounds_to_exceed_half_edge_cases():
    assert rounds_to_exceed_half(0.3, 2, 1.0) == 0  # two responses: any bump is above 1/2
    assert rounds_to_exceed_half(math.log(20), 10, 1.0) == 0  # starts above 1/2
    # kappa_0 = 2 with K = 10: the mode holds exactly 1/2, which is not above 1/2.
    assert rounds_to_exceed_half(math.log(9), 10, 1.0) == 1
    with pytest.raises(ValueError, match="beta"):
        rounds_to_exceed_half(1.0, 10, 0.0)
    with pytest.raises(ValueError, match="height"):
        rounds_to_exceed_half(-1.0, 10, 1.0)


def test_deterministic_registered_and_json(small):
    assert EXPERIMENTS["population_sharpening"].__wrapped__ is population_sharpening
    assert population_sharpening(**SMALL).equals(small)
    json.dumps(dataset_json(small), allow_nan=False)


@pytest.mark.parametrize(("override", "message"), [
    ({"kappa0s": (12.0,)}, "kappa0"),
    ({"betas": (0.0,)}, "beta"),
    ({"T": 0}, "T"),
    ({"num_responses": 1}, "K"),
    ({"betas": ()}, "betas"),
])
def test_bad_input_is_named(override, message):
    with pytest.raises(ValueError, match=message):
        population_sharpening(**{**SMALL, **override})


def test_bump_closed_form_rejects_bad_input():
    with pytest.raises(ValueError, match="beta"):
        bump_closed_form(1.0, 5, -1.0, [0])
    with pytest.raises(ValueError, match="K"):
        bump_closed_form(1.0, 1, 1.0, [0])


def test_figures_show_the_experiments_values(small):
    for build, sliders in ((top_probability_over_rounds, ["kappa0"]),
                           (margin_over_rounds, ["beta", "kappa0"])):
        figure = build(small)
        meta = figure.figure.layout.meta["srlm"]
        assert meta["experiment"] == "population_sharpening" and meta["sliders"] == sliders
        trace_metas = [trace.meta for trace in figure.figure.data]
        for position in range(3):
            active = [position] * len(sliders)
            setting = {dim: small[dim].values.tolist()[position] for dim in sliders}
            expected = expected_traces(small, meta, trace_metas, setting)
            for index, values in figure.traces_at(active).items():
                np.testing.assert_allclose(values, expected[index], rtol=5e-4)


