"""Figures of chapter 7 (linear softmax models), and the display of its SymPy derivations.

The figures read the labelled grids of :mod:`srlm_kit.experiments.linear`: ``linear_rounds``
(coverage, failure and realizability over rounds of toy B), ``linear_dimension_sweep`` (failure
against the feature dimension) and ``effective_dimension_grid``. Each builder takes the
experiment's result (which records the experiment and the keyword arguments that produced it)
(recorded in the figure, so that the browser tests can recompute every curve with the kit).
"""

from __future__ import annotations

import xarray as xr

from srlm_kit.figures.core import PALETTE, Curve, Slider, SliderFigure, coordinates, grid_figure

ROUNDS_EXPERIMENT = "linear_rounds"
SWEEP_EXPERIMENT = "linear_dimension_sweep"
EFFECTIVE_DIMENSION_EXPERIMENT = "effective_dimension_grid"

# --------------------------------------------------------------------------------------------
# Figures of linear_rounds
# --------------------------------------------------------------------------------------------


def _slider(result: xr.Dataset, dim: str, label: str, value) -> Slider:
    values = coordinates(result, dim)
    return Slider(dim, label, active=values.index(value) if value in values else 0)


def _rounds_sliders(result: xr.Dataset, beta: float, n: int) -> list[Slider]:
    return [_slider(result, "beta", "β = ", beta),
            _slider(result, "n", "triples per round n = ", n)]


def coverage_over_rounds(result: xr.Dataset, *, div_id: str = "fig-07-coverage",
                         beta: float = 2.0, n: int = 80) -> SliderFigure:
    """Coverage of R^d by the sampled differences, and the fraction of the exact step captured,
    against the round; sliders beta and n (initially at ``beta`` and ``n``)."""
    params = result.attrs
    description = (
        "Line chart of fractions between 0 and 1 against the round t from 0 to "
        f"{coordinates(result, 't')[-1]}, for self-rewarding in a linear softmax model of "
        "dimension "
        f"d = {params['dimension']}. One curve, with a band over {params['seeds']} seeds, is the "
        "dimension of the span of all feature differences sampled up to round t, divided by d; "
        "a dashed line is its ceiling t times n over d. A second curve with a band is the "
        "fraction of the exact infinite-data step that round t captures. Two sliders choose "
        "beta and the number n of triples per round. With a large beta the covered fraction "
        "climbs towards 1; with a small beta it stalls after the first round, and the captured "
        "fraction drops to a few percent.")
    return grid_figure(
        result, x="t",
        sliders=_rounds_sliders(result, beta, n),
        curves=[
            Curve.mean_and_band("covered dimensions / d (mean)", "coverage",
                                band_name="covered: ± 1 sd over seeds"),
            Curve("ceiling min(1, t n / d)", "coverage_ceiling", dash="dash", color="#999999",
                  mode="lines"),
            Curve.mean_and_band("fraction of the exact step captured by round t (mean)", "capture",
                                band_name="captured: ± 1 sd over seeds", color=PALETTE[1]),
        ],
        x_title="round t", y_title="fraction", y_range=[0, 1.05], description=description,
        div_id=div_id)


def failure_over_rounds(result: xr.Dataset, *, div_id: str = "fig-07-failure",
                        beta: float = 0.5, n: int = 40) -> SliderFigure:
    """Failure probability of the ERM runs and of the exact update, and the agreement of the
    mode with the initial mode, against the round; sliders beta and n."""
    params = result.attrs
    description = (
        "Line chart against the round t from 0 to "
        f"{coordinates(result, 't')[-1]}, for self-rewarding in a linear softmax model of "
        "dimension "
        f"d = {params['dimension']} with {params['num_prompts']} prompts. It shows the failure "
        "probability (the fraction of prompts whose most likely response has probability at "
        f"most one half), mean and band over {params['seeds']} seeds, and dashed the failure "
        "probability of the exact infinite-data update; and the fraction of prompts whose most "
        "likely response is still the initial one, with a band. Two sliders choose beta and the "
        "number n of triples per round. The failure falls round after round, more slowly than "
        "with infinite data; the agreement with the initial modes falls too.")
    return grid_figure(
        result, x="t",
        sliders=_rounds_sliders(result, beta, n),
        curves=[
            Curve.mean_and_band("failure probability, n triples per round (mean)", "failure",
                                band_name="failure: ± 1 sd over seeds"),
            Curve("failure probability, infinite data", "population_failure", dash="dash",
                  color=PALETTE[0], mode="lines"),
            Curve.mean_and_band("prompts whose mode is still the initial mode (mean)", "agreement",
                                band_name="agreement: ± 1 sd over seeds", color=PALETTE[2]),
        ],
        x_title="round t", y_title="fraction of prompts", y_range=[0, 1.05],
        description=description, div_id=div_id)


def realizability_rounds(result: xr.Dataset, *,
                         div_id: str = "fig-07-realizability", beta: float = 0.5,
                         n: int = 160) -> SliderFigure:
    """The first round at which ``||theta_t|| > R`` against ``R/||theta_0||`` (log x): the
    formula, the exact update and the ERM runs; sliders beta and n."""
    params = result.attrs
    ratios = coordinates(result, "ratio")
    description = (
        "Line chart with a logarithmic horizontal axis: the radius R of the parameter ball, as "
        f"a multiple of the initial norm, from {ratios[0]:g} to {ratios[-1]:g}. The vertical "
        "axis is a number of rounds. A dashed curve is the formula log(R over the initial norm) "
        "divided by log(1 + 1/beta); markers show the first round at which the exact update "
        "leaves the ball, always the first integer above the formula; a third curve with a band "
        f"shows the same round for the finite-sample runs (mean, minimum and maximum over "
        f"{params['seeds']} seeds), missing where some run was still inside after "
        f"{params['T']} rounds. Two sliders choose beta and the number n of triples per round. "
        "The finite-sample runs leave the ball later than the exact update, or not at all.")
    return grid_figure(
        result, x="ratio",
        sliders=_rounds_sliders(result, beta, n),
        curves=[
            Curve("formula log(R/‖θ₀‖) / log(1 + 1/β)", "horizon", dash="dash",
                  color="#999999", mode="lines"),
            Curve("first round with ‖θₜ‖ > R, infinite data", "population_exit",
                  color=PALETTE[0], mode="markers"),
            Curve.mean_and_band("first round with ‖θₜ‖ > R, n triples per round (mean)", "erm_exit",
                                band_name="finite samples: min to max over seeds",
                                color=PALETTE[1]),
        ],
        x_title="ball radius R / ‖θ₀‖", y_title="rounds", log_x=True,
        description=description, div_id=div_id)


# --------------------------------------------------------------------------------------------
# Figure of linear_dimension_sweep
# --------------------------------------------------------------------------------------------


def failure_against_dimension(result: xr.Dataset, *,
                              div_id: str = "fig-07-dimension", t: int = 1) -> SliderFigure:
    """Failure probability after t rounds against d (log-log) for isotropic and exponentially
    decaying spectra, with the d-dependence of Theorem 6.2 and of Corollary 6.4 matched at the
    smallest d; slider t."""
    params = result.attrs
    rounds = [value for value in coordinates(result, "t") if value >= 1]
    description = (
        "Line chart with logarithmic axes: the failure probability after t rounds against the "
        f"feature dimension d from {coordinates(result, 'd')[0]} to "
        f"{coordinates(result, 'd')[-1]}, with n = {params['n']} "
        f"triples per round, for isotropic features and for features whose covariance "
        f"eigenvalues decay like exp(-{params['alpha']:g} j): mean and band over "
        f"{params['draws']} instances times {params['seeds']} seeds. Dotted lines continue each "
        "curve from the smallest d as the theory's dependence on the dimension would: "
        "proportional to d (Theorem 6.2) for the isotropic features, proportional to the "
        "effective dimension (Corollary 6.4) for the decaying ones. A slider chooses the number "
        "of rounds t. The isotropic failure grows with d, far more slowly than d; the decaying "
        "spectrum's failure does not grow.")
    return grid_figure(
        result, x="d",
        sliders=[Slider("t", "rounds t = ", values=rounds,
                        active=rounds.index(t) if t in rounds else 0)],
        curves=[
            Curve.mean_and_band("isotropic features (mean)", "failure",
                                "isotropic: ± 1 sd over runs", fixed={"spectrum": "isotropic"},
                                color=PALETTE[0]),
            Curve("∝ d from the smallest d (Theorem 6.2)", "shape_dimension",
                  fixed={"spectrum": "isotropic"}, dash="dot", color=PALETTE[0],
                  mode="lines"),
            Curve.mean_and_band(f"decaying spectrum, ω = {params['alpha']:g} (mean)", "failure",
                                "decaying: ± 1 sd over runs", fixed={"spectrum": "exponential"},
                                color=PALETTE[1]),
            Curve("∝ d_eff(1/n) from the smallest d (Corollary 6.4)", "shape_deff",
                  fixed={"spectrum": "exponential"}, dash="dot", color=PALETTE[1],
                  mode="lines"),
        ],
        x_title="feature dimension d", y_title="P[max_y π_t(y|x) ≤ 1/2]", log_x=True,
        log_y=True, y_range=[-3, 0.7], description=description, div_id=div_id)


# --------------------------------------------------------------------------------------------
# Figure of effective_dimension_grid
# --------------------------------------------------------------------------------------------


def effective_dimension_against_d(result: xr.Dataset, *,
                                  div_id: str = "fig-07-effective-dimension",
                                  alpha: float = 0.1, n: int = 10_000) -> SliderFigure:
    """``d_eff(1/n)`` of ``nu_j = e^(-omega j)`` against d (log-log), with its termwise and
    exponential bounds and the line d_eff = d; sliders omega (the argument alpha) and n."""
    description = (
        "Line chart with logarithmic axes: the effective dimension of a covariance whose "
        "eigenvalues decay like exp(-omega j), at the ridge 1/n, against the ambient dimension "
        f"d from {coordinates(result, 'd')[0]} to {coordinates(result, 'd')[-1]}. Beside it, "
        "dashed, the termwise bound "
        "(the sum of min(1, eigenvalue times n)), dash-dotted the closed-form bound "
        "log(n)/omega + 1/(1 - exp(-omega)), and dotted the line d_eff = d. Two sliders choose "
        "the decay rate omega and n. The effective dimension follows d at first, then levels "
        "off below the closed-form bound, which does not depend on d.")
    return grid_figure(
        result, x="d",
        sliders=[_slider(result, "alpha", "decay rate ω = ", alpha),
                 _slider(result, "n", "n = ", n)],
        curves=[
            Curve("d_eff(1/n)", "deff", color=PALETTE[0]),
            Curve("termwise bound Σ min(1, n νⱼ)", "termwise", dash="dash", color=PALETTE[1],
                  mode="lines"),
            Curve("log(n)/ω + 1/(1 − e^(−ω))", "exponential_bound", dash="dashdot",
                  color=PALETTE[2], mode="lines"),
            Curve("d (no decay: every direction counts)", "ambient", dash="dot",
                  color="#999999", mode="lines"),
        ],
        x_title="ambient dimension d", y_title="effective dimension", log_x=True, log_y=True,
        description=description, div_id=div_id)


# --------------------------------------------------------------------------------------------
# Live explorer (needs a kernel)
# --------------------------------------------------------------------------------------------


class LinearExplorer:
    """A live explorer of self-rewarding in the linear class of toy B (needs a kernel).

    Sliders for the feature dimension d, the triples per round n and beta; two panels over the
    rounds: the failure probability (mean and band over the seeds of
    :func:`srlm_kit.experiments.linear.simulate_linear`, and the exact update of
    :func:`srlm_kit.dynamics.run`), and the coverage of R^d by the sampled differences with the
    fraction of the exact step each round captures. The instances of every d come from one
    draw (:func:`srlm_kit.instances.linear_starts`, nested and padded to the largest
    d), and every run is compiled at the engine's shape for the largest n
    (:func:`srlm_kit.dynamics.padded_shape`), so moving a slider never recompiles; with the
    defaults, the instance at d = 200 and the runs are those of the chapter's experiment
    ``linear_rounds``.
    """

    def __init__(self, *, dimensions=(20, 50, 100, 200), n_values=(20, 40, 80, 160),
                 betas=(0.1, 0.5, 2.0), T: int = 8, seeds: int = 8, num_prompts: int = 100,
                 num_responses: int = 10, kappa0: float = 2.5, seed: int = 0):
        import ipywidgets as widgets
        import jax
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        from srlm_kit import instances

        self.dimensions, self.n_values = [int(d) for d in dimensions], [int(n) for n in n_values]
        self.T, self.seeds = int(T), int(seeds)
        key_start, self.run_key = jax.random.split(jax.random.key(seed))
        self.starts = {d: start for d, (start, _) in zip(self.dimensions, instances.linear_starts(
            key_start, num_prompts=num_prompts, num_responses=num_responses,
            dimensions=self.dimensions, kappa0=kappa0), strict=True)}
        common = {"continuous_update": False, "style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="300px")}
        self.d = widgets.SelectionSlider(options=self.dimensions, value=self.dimensions[-1],
                                         description="dimension d", **common)
        self.n = widgets.SelectionSlider(options=self.n_values,
                                         value=self.n_values[min(1, len(self.n_values) - 1)],
                                         description="triples per round n", **common)
        self.beta = widgets.SelectionSlider(options=[float(b) for b in betas],
                                            value=float(betas[len(betas) // 2]),
                                            description="β", **common)
        self.status = widgets.HTML()
        figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
            "failure probability", "coverage of R^d and captured fraction"))
        for name, column, style in self._traces():
            figure.add_trace(go.Scatter(x=[], y=[], mode="lines", name=name, **style),
                             row=1, col=column)
        figure.update_yaxes(range=[-0.03, 1.05])
        figure.update_xaxes(title_text="round t")
        figure.update_layout(height=400, template="plotly_white",
                             margin={"l": 60, "r": 20, "t": 60, "b": 50},
                             legend={"orientation": "h", "y": -0.25})
        self.figure = go.FigureWidget(figure)
        for control in (self.d, self.n, self.beta):
            control.observe(lambda change: self.update(), names="value")
        self.widget = widgets.VBox([widgets.HBox([self.d, self.n, self.beta]), self.status,
                                    self.figure])
        self.update()

    @staticmethod
    def _traces():
        band = {"line": {"width": 0}, "hoverinfo": "skip"}
        return (
            ("failure_lower", 1, {**band, "line": {"width": 0, "color": PALETTE[0]},
                                  "showlegend": False}),
            ("failure: ± 1 sd over seeds", 1, {**band, "line": {"width": 0,
                                                                 "color": PALETTE[0]},
                                               "fill": "tonexty",
                                               "fillcolor": "rgba(0,114,178,0.2)"}),
            ("failure, n triples per round (mean)", 1, {"line": {"color": PALETTE[0]}}),
            ("failure, infinite data", 1, {"line": {"color": PALETTE[0], "dash": "dash"}}),
            ("covered dimensions / d (mean)", 2, {"line": {"color": PALETTE[2]}}),
            ("captured fraction of the exact step (mean)", 2,
             {"line": {"color": PALETTE[1]}}),
        )

    def compute(self, *, d: int, n: int, beta: float) -> dict:
        """The curves for one setting, rounds ``0..T``."""
        import numpy as np

        from srlm_kit import dynamics
        from srlm_kit.experiments import linear

        start = self.starts[d]
        run = linear.simulate_linear(self.run_key, start, n=n, T=self.T, beta=beta,
                                     seeds=self.seeds,
                                     shape=dynamics.padded_shape(max(self.n_values), self.T))
        exact = dynamics.run(self.run_key, start, n=1, T=self.T, beta=beta,
                             update="population")
        mean, std = run.failure.mean(axis=0), run.failure.std(axis=0)
        cumulative, _ = linear.coverage_dimensions(start.features, run)
        captured = linear.step_capture(run.thetas, beta)
        return {
            "t": list(range(self.T + 1)),
            "failure_mean": mean.tolist(),
            "failure_lower": np.maximum(mean - std, run.failure.min(axis=0)).tolist(),
            "failure_upper": np.minimum(mean + std, run.failure.max(axis=0)).tolist(),
            "population_failure": np.asarray(exact.failure)[0, :self.T + 1].tolist(),
            "coverage": (cumulative.mean(axis=0) / d).tolist(),
            "capture": [None] + captured.mean(axis=0).tolist(),
        }

    def update(self) -> None:
        """Recompute for the current sliders and redraw in place."""
        self.status.value = "<b>computing…</b>"
        data = self.compute(d=int(self.d.value), n=int(self.n.value),
                            beta=float(self.beta.value))
        fields = ("failure_lower", "failure_upper", "failure_mean", "population_failure",
                  "coverage", "capture")
        with self.figure.batch_update():
            for trace, field in zip(self.figure.data, fields, strict=True):
                trace.x, trace.y = data["t"], data[field]
        self.status.value = (f"d = {self.d.value}, n = {self.n.value}, β = {self.beta.value}: "
                             f"failure after {self.T} rounds {data['failure_mean'][-1]:.3f} "
                             f"(infinite data {data['population_failure'][-1]:.3f})")
        self.data = data

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
