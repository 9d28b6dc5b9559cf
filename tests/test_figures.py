"""The figure machinery (srlm_kit.figures) and the gallery experiment behind it.

Grids are checked against closed forms written here, the by-value ``lookup`` against the array
code of ``grid_figure``, and the experiment against direct runs of the kit and the closed form
of the population update.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math

import jax
import numpy as np
import plotly.graph_objects as go
import pytest
import xarray as xr
from hypothesis import given
from hypothesis import strategies as st

from srlm_kit import bounds, dynamics, instances
from srlm_kit.cli import dataset_json
from srlm_kit.experiments import EXPERIMENTS
from srlm_kit.experiments.explorer import kappa_and_failure_grid
from srlm_kit.figures import (
    Curve,
    Slider,
    expected_traces,
    explorer,
    grid_figure,
    lookup,
    round_significant,
)
from srlm_kit.instances import bump_height_for_kappa0

# --------------------------------------------------------------------------------------------
# A synthetic labelled grid with a closed form: f(a, b, x) = 100 a + 10 b + x, g(b, x) = b * x
# --------------------------------------------------------------------------------------------

A, B, X = [1, 2, 3], [5, 7], [0, 1, 2, 3, 4]


def f(a, b, x):
    return 100 * a + 10 * b + x


def synthetic() -> xr.Dataset:
    return xr.Dataset({
        "f": (["a", "b", "x"], [[[f(a, b, x) for x in X] for b in B] for a in A]),
        "f_low": (["a", "b", "x"], [[[f(a, b, x) - 0.5 for x in X] for b in B] for a in A]),
        "f_high": (["a", "b", "x"], [[[f(a, b, x) + 0.5 for x in X] for b in B] for a in A]),
        "g": (["b", "x"], [[b * x for x in X] for b in B]),
        # x first: the builder must move axes, not assume x is last
        "h": (["x", "a", "b"], [[[-f(a, b, x) for b in B] for a in A] for x in X]),
        # a seed band: mean f, edges f -/+ 1
        "s": (["a", "b", "x", "band"], [[[[f(a, b, x), f(a, b, x) - 1, f(a, b, x) + 1]
                                         for x in X] for b in B] for a in A]),
    }, coords={"a": A, "b": B, "x": X, "band": ["mean", "lower", "upper"]},
        attrs={"experiment": "synthetic", "arguments": {"seed": 0}})


def build(**overrides):
    options = dict(
        x="x", sliders=[Slider("a", "a = "), Slider("b", "b = ", active=1)],
        curves=[Curve("f", "f", band=("f_low", "f_high")), Curve("g", "g", dash="dash"),
                Curve("h at b = 5", "h", fixed={"b": 5})],
        static_traces=[go.Scatter(x=[0, 4], y=[0, 0], name="zero")],
        description="A synthetic figure whose values have a closed form, for the tests.",
        x_title="x", y_title="value", div_id="fig-test", log_x=True)
    options.update(overrides)
    return grid_figure(synthetic(), **options)


def test_every_slider_combination_shows_the_closed_form():
    figure = build()
    # traces: 0 band lower, 1 band upper, 2 f, 3 g, 4 h, 5 static
    for i, j in itertools.product(range(len(A)), range(len(B))):
        shown = figure.traces_at([i, j])
        a, b = A[i], B[j]
        assert shown[0] == [f(a, b, x) - 0.5 for x in X]
        assert shown[1] == [f(a, b, x) + 0.5 for x in X]
        assert shown[2] == [f(a, b, x) for x in X]
        assert shown[3] == [b * x for x in X]
        assert shown[4] == [-f(a, 5, x) for x in X]
        assert 5 not in shown


def test_grid_records_which_sliders_each_trace_follows():
    figure = build()
    dims = {trace["index"]: trace["dims"] for trace in figure.grid["traces"]}
    assert dims == {0: [0, 1], 1: [0, 1], 2: [0, 1], 3: [1], 4: [0]}


def test_initial_data_is_the_active_setting():
    figure = build()
    shown = figure.traces_at([0, 1])
    for index, values in shown.items():
        assert list(figure.figure.data[index].y) == values
        assert list(figure.figure.data[index].x) == X


def test_layout_band_sliders_and_meta():
    figure = build()
    data, layout = figure.figure.data, figure.figure.layout
    assert data[1].fill == "tonexty" and data[0].fill is None
    assert data[0].showlegend is False
    assert [slider.active for slider in layout.sliders] == [0, 1]
    assert [[json.loads(step.value) for step in slider.steps] for slider in layout.sliders] == [
        A, B]
    assert all(step.method == "skip" for slider in layout.sliders for step in slider.steps)
    assert layout.xaxis.type == "log" and layout.yaxis.type == "linear"
    assert layout.meta["srlm"] == {"x": "x", "sliders": ["a", "b"], "experiment": "synthetic",
                                   "kwargs": {"seed": 0}}
    assert data[4].meta == {"field": "h", "fixed": {"b": 5}, "role": "curve"}
    assert data[5].meta is None


def test_slider_subset_of_coordinates():
    figure = build(sliders=[Slider("a", "a = ", values=[3, 1]), Slider("b", "b = ")])
    assert figure.traces_at([0, 0])[2] == [f(3, 5, x) for x in X]
    assert figure.traces_at([1, 1])[2] == [f(1, 7, x) for x in X]


def test_lookup_and_expected_traces_agree_with_the_grid():
    figure, result = build(), synthetic()
    trace_metas = [trace.meta for trace in figure.figure.data]
    for i, j in itertools.product(range(len(A)), range(len(B))):
        expected = expected_traces(result, figure.figure.layout.meta["srlm"], trace_metas,
                                   {"a": A[i], "b": B[j]})
        assert expected == {index: [float(v) for v in values]
                            for index, values in figure.traces_at([i, j]).items()}
    assert lookup(result, "h", "x", {"a": 2, "b": 7}) == [-f(2, 7, x) for x in X]


def test_html_fragment():
    html = build(caption="What to look for: the lines.").to_html()
    assert 'id="fig-test"' in html and 'id="fig-test-grid"' in html
    assert 'aria-describedby="fig-test-description"' in html
    assert "A synthetic figure whose values" in html
    assert "<figcaption>What to look for: the lines.</figcaption>" in html
    assert "<script src" not in html and "cdn" not in html.lower()
    assert "plotly_sliderchange" in html
    without_caption = build().to_html()
    assert "<figcaption>" not in without_caption and 'role="figure"' in without_caption


def test_grid_embedded_in_the_page_round_trips():
    figure = build()
    html = figure.to_html()
    start = html.index('id="fig-test-grid">') + len('id="fig-test-grid">')
    embedded = json.loads(html[start:html.index("</script>", start)])
    assert embedded == json.loads(json.dumps(figure.grid))


@pytest.mark.parametrize(("overrides", "message"), [
    ({"div_id": "Fig 1"}, "div_id"),
    ({"description": "short"}, "description"),
    ({"sliders": [Slider("a", "a"), Slider("a", "a")]}, "own dimension"),
    ({"sliders": [Slider("a", "a", active=3), Slider("b", "b")]}, "active"),
    ({"sliders": [Slider("a", "a")]}, "neither"),
    ({"curves": [Curve("missing", "nope")]}, "not in the result"),
    ({"curves": [Curve("h", "h", fixed={"b": 6})]}, "not a coordinate"),
    ({"experiment": "synthetic"}, "both experiment and kwargs"),
])
def test_bad_specifications_are_refused_with_a_clear_message(overrides, message):
    with pytest.raises(ValueError, match=message):
        build(**overrides)


def test_round_significant_known_values():
    values = [123456.0, 0.000123456, -2.718281828, 1.0, 0.0, math.nan, math.inf]
    assert round_significant(values) == [123500.0, 0.0001235, -2.718, 1.0, 0.0, None, None]
    assert round_significant([[1.23456, 2.0]]) == [[1.235, 2.0]]


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_round_significant_relative_error(value):
    rounded = round_significant([value])[0]
    assert abs(rounded - value) <= 5e-4 * value


# --------------------------------------------------------------------------------------------
# The gallery experiment and its figures
# --------------------------------------------------------------------------------------------

SMALL = {"seed": 3, "kappa0s": [2.5, 6.0], "n_values": [10, 40, 160], "betas": [0.1, 1.0],
         "T": 3, "seeds": 4}


@pytest.fixture(scope="module")
def small():
    return EXPERIMENTS["kappa_and_failure_grid"](**SMALL)


def test_experiment_is_registered_and_json_serialisable(small):
    assert EXPERIMENTS["kappa_and_failure_grid"].__wrapped__ is kappa_and_failure_grid
    assert xr.Dataset.from_dict(json.loads(json.dumps(dataset_json(small)))).equals(small)


def test_experiment_is_deterministic(small):
    """The same seed gives the same numbers; another seed gives other numbers."""
    assert kappa_and_failure_grid(**SMALL).equals(small)
    other_seed = SMALL | {"seed": SMALL.get("seed", 0) + 1}
    assert not kappa_and_failure_grid(**other_seed).equals(small)


def test_bump_height_gives_the_requested_kappa0():
    for kappa0 in (1.1, 2.5, 9.9):
        start = instances.bump(5, 10, bump_height_for_kappa0(kappa0, 10))
        top = np.exp(np.max(jax.nn.log_softmax(start.logits, axis=1), axis=1))
        assert np.allclose(1 / top, kappa0, rtol=1e-12)
    for bad in (1.0, 10.0):
        with pytest.raises(ValueError, match="kappa0"):
            bump_height_for_kappa0(bad, 10)


def test_population_curves_match_the_closed_form(small):
    # pi_t ∝ pi_0^((1 + 1/beta)^t): the bump's top probability is 1 / (1 + (K-1) e^(-b e_t))
    coords, K = {dim: small[dim].values.tolist() for dim in small.dims}, 10
    for (i, kappa0), (j, beta), t in itertools.product(
            enumerate(coords["kappa0"]), enumerate(coords["beta"]), coords["t"]):
        height = bump_height_for_kappa0(kappa0, K)
        exponent = (1 + 1 / beta) ** t
        kappa = 1 + (K - 1) * math.exp(-height * exponent)
        assert float(small["population_kappa"][i, j, t]) == pytest.approx(kappa, rel=1e-9)
        assert float(small["population_failure"][i, j, t]) == pytest.approx(
            1.0 if 1 / kappa <= 0.5 else 0.0, abs=1e-12)


def test_grid_points_match_direct_runs(small):
    """Each grid point equals a direct dynamics.run with the same key."""
    coords = {dim: small[dim].values.tolist() for dim in small.dims}
    for i, n_index, j in [(0, 0, 0), (1, 2, 1), (0, 1, 1)]:
        start = instances.bump(20, 10, bump_height_for_kappa0(coords["kappa0"][i], 10))
        run = dynamics.run(jax.random.key(SMALL["seed"]), start, n=coords["n"][n_index],
                           T=SMALL["T"], beta=coords["beta"][j], seeds=SMALL["seeds"])
        kappa, failure = np.asarray(run.kappa), np.asarray(run.failure)
        point = {"kappa0": coords["kappa0"][i], "n": coords["n"][n_index],
                 "beta": coords["beta"][j]}
        kappa_band, failure_band = small["kappa"].sel(point), small["failure"].sel(point)
        np.testing.assert_allclose(kappa_band.sel(band="mean"), kappa.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(failure_band.sel(band="mean"), failure.mean(axis=0),
                                   rtol=1e-12)
        lower = np.maximum(kappa.mean(0) - kappa.std(0), kappa.min(0))
        upper = np.minimum(kappa.mean(0) + kappa.std(0), kappa.max(0))
        np.testing.assert_allclose(kappa_band.sel(band="lower"), lower, rtol=1e-12)
        np.testing.assert_allclose(kappa_band.sel(band="upper"), upper, rtol=1e-12)


def test_bound_uses_the_runs_mu_and_gamma(small):
    """mu and gamma are minima over seeds and rounds 0..t of a direct run; the bound is
    Theorem 5.3 at them, undefined (NaN) at t = 0."""
    coords = {dim: small[dim].values.tolist() for dim in small.dims}
    i, n_index, j = 1, 2, 0
    start = instances.bump(20, 10, bump_height_for_kappa0(coords["kappa0"][i], 10))
    run = dynamics.run(jax.random.key(SMALL["seed"]), start, n=coords["n"][n_index],
                       T=SMALL["T"], beta=coords["beta"][j], seeds=SMALL["seeds"])
    mu, gamma = np.asarray(run.mu), np.asarray(run.gamma)
    assert np.isnan(small["failure_bound"][i, n_index, j, 0])
    for t in coords["t"][1:]:
        mu_min, gamma_min = mu[:, :t + 1].min(), gamma[:, :t + 1].min()
        assert small["mu_min"][i, n_index, j][t] == mu_min
        assert small["gamma_min"][i, n_index, j][t] == gamma_min
        expected = bounds.theorem_5_3_bound(
            coords["n"][n_index], t, log_class_size=0.0, delta=0.05, gamma=gamma_min,
            mu=mu_min, kappa0=coords["kappa0"][i])
        assert small["failure_bound"][i, n_index, j, t] == pytest.approx(expected, rel=1e-12)
    # On the bump, the first round's minima are the initial policy's: mu = 1/kappa0, gamma = b.
    assert small["mu_min"][i, n_index, j][0] == pytest.approx(1 / coords["kappa0"][i])
    assert small["gamma_min"][i, n_index, j][0] == pytest.approx(
        bump_height_for_kappa0(coords["kappa0"][i], 10))


@pytest.mark.parametrize("builder", [explorer.failure_over_n, explorer.kappa_over_rounds])
def test_gallery_figures_show_the_experiment_for_every_setting(small, builder):
    figure = builder(small)
    layout = figure.figure.layout
    meta = layout.meta["srlm"]
    assert meta["experiment"] == "kappa_and_failure_grid" and meta["kwargs"] == SMALL
    trace_metas = [trace.meta for trace in figure.figure.data]
    steps = [[json.loads(step.value) for step in slider.steps] for slider in layout.sliders]
    for active in itertools.product(*(range(len(values)) for values in steps)):
        setting = dict(zip(meta["sliders"], (values[k] for values, k in zip(steps, active,
                                                                              strict=True)),
                           strict=True))
        expected = expected_traces(small, meta, trace_metas, setting)
        for index, shown in figure.traces_at(list(active)).items():
            np.testing.assert_allclose(shown, expected[index], rtol=5.0001e-4, atol=1e-12)


def test_gallery_figure_pages_stay_small(small):
    full = {name: parameter.default for name, parameter
            in inspect.signature(kappa_and_failure_grid).parameters.items()}
    assert full["T"] == 8  # the page's grid is 9 x 4 x 2 settings of 9 points
    size = len(explorer.failure_over_n(small).to_html())
    assert size < 60_000


# --------------------------------------------------------------------------------------------
# Static site or live notebook
# --------------------------------------------------------------------------------------------


def test_static_build_displays_html(monkeypatch):
    monkeypatch.setenv("SRLM_STATIC_SITE", "1")
    bundle = build()._repr_mimebundle_()
    assert list(bundle) == ["text/html"] and 'id="fig-test-grid"' in bundle["text/html"]


def test_live_notebook_displays_composing_widget_sliders(monkeypatch):
    monkeypatch.delenv("SRLM_STATIC_SITE", raising=False)
    figure = build()
    bundle = figure._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle and "text/html" not in bundle
    live = figure.live()
    assert [control.value for control in live.controls] == [0, 1]
    assert [label for label, _ in live.controls[0].options] == [str(a) for a in A]

    def plotted():
        (shown,) = live.output.outputs
        return shown["data"]["application/vnd.plotly.v1+json"]

    assert plotted()["layout"].get("sliders", []) == []
    for i, j in itertools.product(range(len(A)), range(len(B))):
        live.controls[0].value, live.controls[1].value = i, j
        data = plotted()["data"]
        for index, values in figure.traces_at([i, j]).items():
            assert data[index]["y"] == values
        assert data[2]["y"] == [f(A[i], B[j], x) for x in X]


def test_mean_and_band_draws_the_band_axis_of_one_variable():
    curve = Curve.mean_and_band("κ", "kappa", "± 1 sd", fixed={"beta": 0.5}, dash="dot")
    assert (curve.field, curve.seed_band, curve.band_name) == ("kappa", True, "± 1 sd")
    assert curve.fixed == {"beta": 0.5} and curve.dash == "dot"
    figure = build(curves=[Curve.mean_and_band("s", "s", fixed={"b": 7})],
                   sliders=[Slider("a", "a = ")])
    roles = [(trace.meta["role"], trace.meta["fixed"]) for trace in figure.figure.data[:3]]
    assert roles == [("band-lower", {"b": 7, "band": "lower"}),
                     ("band-upper", {"b": 7, "band": "upper"}),
                     ("curve", {"b": 7, "band": "mean"})]
    for i, a in enumerate(A):
        shown = figure.traces_at([i])
        assert shown[0] == [f(a, 7, x) - 1 for x in X] and shown[1] == [f(a, 7, x) + 1 for x in X]
        assert shown[2] == [f(a, 7, x) for x in X]


def test_a_result_that_is_not_a_dataset_is_refused():
    with pytest.raises(TypeError, match="xarray.Dataset"):
        grid_figure({"coords": {"x": X}, "dims": {}}, x="x", sliders=[], curves=[],
                    description="A figure of a plain dictionary, which is refused.",
                    x_title="x", y_title="y", div_id="fig-dict")


def _with_dead_axis() -> xr.Dataset:
    """The synthetic grid plus a dimension c: one field over (a, c, x) that does not change with
    c, one that changes with c only at a = 3."""
    result = synthetic()
    C = [0, 1, 2]
    result = result.assign_coords(c=C)
    result["flat_in_c"] = (["a", "c", "x"], [[[f(a, 5, x) for x in X] for _ in C] for a in A])
    # Changes with c only when a = 3: alive, because some setting of a shows it.
    result["moves_in_c_at_a_3"] = (["a", "c", "x"], [[[x + (c if a == 3 else 0) for x in X]
                                                      for c in C] for a in A])
    return result


def test_a_slider_that_changes_nothing_is_refused_when_the_book_is_built(monkeypatch):
    from srlm_kit.figures.core import STATIC_SITE_VARIABLE

    monkeypatch.setenv(STATIC_SITE_VARIABLE, "1")
    options = dict(x="x", description="A synthetic figure with a slider that moves nothing.",
                   x_title="x", y_title="value", div_id="fig-dead")
    with pytest.raises(ValueError, match="slider 'c' changes no drawn value"):
        grid_figure(_with_dead_axis(), sliders=[Slider("a", "a = "), Slider("c", "c = ")],
                    curves=[Curve("flat", "flat_in_c")], **options)
    # A slider with no curve that follows it at all is refused too.
    with pytest.raises(ValueError, match="slider 'c' changes no drawn value"):
        grid_figure(_with_dead_axis(), sliders=[Slider("a", "a = "), Slider("c", "c = ")],
                    curves=[Curve("f", "f", fixed={"b": 5})], **options)
    # A slider that changes a curve for one setting of the others only is alive.
    figure = grid_figure(_with_dead_axis(), sliders=[Slider("a", "a = "), Slider("c", "c = ")],
                         curves=[Curve("flat", "flat_in_c"),
                                 Curve("moves", "moves_in_c_at_a_3")], **options)
    shown = [figure.traces_at([2, c]) for c in range(3)]
    assert shown[0] != shown[2]
    assert figure.traces_at([0, 0]) == figure.traces_at([0, 2])
    # Outside the book build the same figure is built (small test grids may be flat).
    monkeypatch.delenv(STATIC_SITE_VARIABLE)
    grid_figure(_with_dead_axis(), sliders=[Slider("a", "a = "), Slider("c", "c = ")],
                curves=[Curve("flat", "flat_in_c")], **options)
