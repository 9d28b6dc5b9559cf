"""A live explorer of self-rewarding, for Jupyter (Binder, a local install, a classroom hub).

``Explorer()`` shows sliders for the per-round sample size ``n``, the number of rounds ``T``, the
initial condition number ``kappa_0`` (a bump initialisation, toy A), ``beta`` and the number of
seeds, above two panels: the condition number ``kappa_t`` and the failure probability after
each round, simulated (mean and a band of one standard deviation over seeds) beside the exact
infinite-data update. Every change re-runs the simulation in the kernel.

Moving a slider never recompiles: the simulation always runs at one shape, the engine's shape
for the largest ``n`` and ``T_max`` (:func:`srlm_kit.dynamics.padded_shape`), with seeds in
blocks of ``SEED_BLOCK``; ``n``, ``T``, ``beta`` and the initialisation are array arguments.
Sliders update on release (``continuous_update=False``) and a status line says "computing…"
while a run is under way.
Every value a slider can take is a valid input, so no setting can raise.

A slider move should feel immediate, and drawing random numbers is most of its cost. Two choices
keep it near 50 ms on a laptop-class CPU, with results that differ from slower settings only by
sampling noise: the default key uses JAX's ``rbg`` generator (about four times cheaper per
uniform number than the default ``threefry``; same distribution, other numbers), and only the
seeds asked for are simulated, a block of ``SEED_BLOCK`` at a time (the ``seeds`` slider, up to
``seeds_max``, adds blocks). The default is one block of 8 seeds: the standard deviation that
sets the band's width is then estimated from 8 runs, to within about 1/sqrt(2 * 7), 27 %;
moving ``seeds`` to 32 brings that to 13 %, at four times the cost.

This needs a kernel. On the static website the explorer's cell is executed (so the build tests
it) but its output is removed; readers launch the page on Binder to use it.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import jax
import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances
from srlm_kit.experiments.common import seed_band
from srlm_kit.figures.core import LiveFigure, live_figure_widget
from srlm_kit.instances import bump_height_for_kappa0

N_VALUES = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
BETAS = (0.05, 0.1, 0.2, 0.5, 1.0, 2.0)
#: Seeds are simulated in blocks of this many (one compiled shape for every ``seeds`` value).
SEED_BLOCK = 8


def default_key() -> jax.Array:
    """The explorers' key: seed 0 with JAX's ``rbg`` generator (cheaper than ``threefry``)."""
    return jax.random.key(0, impl="rbg")


class Explorer(LiveFigure):
    """Sliders for ``n``, ``T``, ``kappa_0``, ``beta`` and seeds, and a figure updated in place.

    ``num_prompts`` and ``num_responses`` set the bump instance (m prompts, K responses);
    ``kappa0`` ranges over ``kappa0_range`` (inside the open interval (1, K)). ``key`` is the
    JAX key of every run (default :func:`default_key`): the same settings always give the same
    curves. Seed block ``b`` (seeds ``8b`` to ``8b + 7``) uses ``jax.random.fold_in(key, b)``,
    so more seeds add runs and never change the first ones. Display the explorer by leaving it
    as the last expression of a cell.
    """

    def __init__(self, *, num_prompts: int = 20, num_responses: int = 10,
                 n_values: Sequence[int] = N_VALUES, betas: Sequence[float] = BETAS,
                 T_max: int = 20, seeds_max: int = 64,
                 kappa0_range: tuple[float, float] = (1.1, 9.0), key: jax.Array | None = None,
                 threshold: float = 0.5):
        low, high = kappa0_range
        if not 1.0 < low < high < num_responses:
            raise ValueError(f"kappa0_range must satisfy 1 < low < high < K = {num_responses}, "
                             f"got {kappa0_range}")
        n_values = check.check_increasing_ints("n_values", n_values)
        if len(betas) < 2:
            raise ValueError(f"betas must offer at least two values (the slider starts at the "
                             f"second), got {tuple(betas)}")
        self.num_prompts, self.num_responses = num_prompts, num_responses
        self.T_max, self.seeds_max = int(T_max), int(seeds_max)
        # One shape for every slider setting, asked of the engine's policy.
        self.shape = dynamics.padded_shape(max(n_values), self.T_max)
        self.threshold = threshold
        self.key = default_key() if key is None else key
        self._paused = False

        common = {"continuous_update": False, "style": {"description_width": "initial"},
                  "layout": widgets.Layout(width="330px")}
        self.n = widgets.SelectionSlider(options=[(str(n), int(n)) for n in n_values],
                                         value=int(n_values[len(n_values) // 2]),
                                         description="triples per round n", **common)
        self.T = widgets.IntSlider(value=min(8, self.T_max), min=0, max=self.T_max,
                                   description="rounds T", **common)
        self.kappa0 = widgets.FloatSlider(value=round((low + high) / 2, 1), min=low, max=high,
                                          step=0.1, readout_format=".1f",
                                          description="initial κ₀", **common)
        self.beta = widgets.SelectionSlider(options=[(f"{b:g}", float(b)) for b in betas],
                                            value=float(betas[1]), description="β", **common)
        self.seeds = widgets.IntSlider(value=min(SEED_BLOCK, self.seeds_max), min=1,
                                       max=self.seeds_max, description="seeds", **common)
        self.status = widgets.HTML(value="")
        self.figure = self._make_figure()
        for control in self.controls:
            control.observe(self._on_change, names="value")
        self.widget = widgets.VBox([
            widgets.HBox([widgets.VBox([self.n, self.T, self.kappa0]),
                          widgets.VBox([self.beta, self.seeds, self.status])]),
            self.figure,
        ])
        self.update()

    @property
    def controls(self) -> list[widgets.Widget]:
        """The sliders, in display order: n, T, kappa_0, beta, seeds."""
        return [self.n, self.T, self.kappa0, self.beta, self.seeds]

    def settings(self) -> dict:
        """The current slider values."""
        return {"n": int(self.n.value), "T": int(self.T.value),
                "kappa0": float(self.kappa0.value), "beta": float(self.beta.value),
                "seeds": int(self.seeds.value)}

    def compute(self, *, n: int, T: int, kappa0: float, beta: float, seeds: int) -> dict:
        """The curves for one setting: rounds ``0..T``, means and bands over the first ``seeds``.

        Simulates whole blocks of ``SEED_BLOCK`` seeds at the explorer's one shape (no
        recompilation) and keeps what the setting asks for.
        """
        start = instances.bump(self.num_prompts, self.num_responses,
                               bump_height_for_kappa0(kappa0, self.num_responses))
        block = min(SEED_BLOCK, self.seeds_max)
        runs = [dynamics.run(jax.random.fold_in(self.key, number), start, n=n, T=T, beta=beta,
                             seeds=block, threshold=self.threshold, shape=self.shape)
                for number in range(-(-seeds // block))]
        exact = dynamics.run(self.key, start, n=1, T=T, beta=beta, seeds=1,
                             update="population", threshold=self.threshold,
                             shape=dynamics.padded_shape(1, self.T_max))
        rounds = slice(0, T + 1)
        kappa = seed_band(np.concatenate([np.asarray(run.kappa) for run in runs])[:seeds, rounds],
                          axis=0)
        failure = seed_band(
            np.concatenate([np.asarray(run.failure) for run in runs])[:seeds, rounds], axis=0)
        return {
            "t": list(range(T + 1)),
            **{f"kappa_{name}": values.tolist()
               for name, values in zip(("mean", "lower", "upper"), kappa, strict=True)},
            **{f"failure_{name}": values.tolist()
               for name, values in zip(("mean", "lower", "upper"), failure, strict=True)},
            "population_kappa": np.asarray(exact.kappa)[0, rounds].tolist(),
            "population_failure": np.asarray(exact.failure)[0, rounds].tolist(),
        }

    #: Trace order of the figure: (field of compute(), subplot column).
    TRACES = (("kappa_lower", 1), ("kappa_upper", 1), ("kappa_mean", 1),
              ("population_kappa", 1), ("failure_lower", 2), ("failure_upper", 2),
              ("failure_mean", 2), ("population_failure", 2))

    def _make_figure(self) -> go.FigureWidget:
        figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.12, subplot_titles=(
            "condition number κ(π_t)", "failure probability P[max_y π_t(y|x) ≤ 1/2]"))
        blue, orange = "#0072B2", "#D55E00"
        styles = {
            "kappa_lower": {"line": {"width": 0, "color": blue}, "showlegend": False,
                            "hoverinfo": "skip", "legendgroup": "sim"},
            "kappa_upper": {"line": {"width": 0, "color": blue}, "fill": "tonexty",
                            "fillcolor": "rgba(0,114,178,0.2)", "hoverinfo": "skip",
                            "name": "± 1 sd over seeds", "legendgroup": "sim"},
            "kappa_mean": {"line": {"color": blue}, "name": "simulated (mean over seeds)",
                           "legendgroup": "sim"},
            "population_kappa": {"line": {"color": orange, "dash": "dash"},
                                 "name": "infinite data (population update)",
                                 "legendgroup": "pop"},
        }
        for name, column in self.TRACES:
            style = styles[name.replace("failure", "kappa")]
            if column == 2:
                style = {**style, "showlegend": False}
            figure.add_trace(go.Scatter(x=[], y=[], mode="lines", **style), row=1, col=column)
        figure.update_yaxes(type="log", row=1, col=1)
        figure.update_yaxes(range=[-0.03, 1.05], row=1, col=2)
        return live_figure_widget(figure)

    def set(self, **values) -> None:
        """Move several sliders at once (``n=..., T=..., kappa0=..., beta=..., seeds=...``),
        then recompute once. Values outside a slider's range are not possible: a number
        slider clamps them, a selection slider refuses a value it does not offer."""
        controls = {"n": self.n, "T": self.T, "kappa0": self.kappa0, "beta": self.beta,
                    "seeds": self.seeds}
        unknown = set(values) - set(controls)
        if unknown:
            raise TypeError(f"unknown slider(s) {sorted(unknown)}; sliders: {sorted(controls)}")
        self._paused = True
        try:
            for name, value in values.items():
                controls[name].value = value
        finally:
            self._paused = False
        self.update()

    def _on_change(self, change) -> None:
        if not self._paused:
            self.update()
