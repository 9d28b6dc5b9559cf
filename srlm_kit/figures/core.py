"""Interactive figures for a static page: precomputed grids and sliders that compose, no kernel.

Readers of the built book have no Python kernel. A figure therefore carries, inside the page,
every curve it can show: the numbers of an experiment (a *labelled grid*, below) evaluated at
build time for every setting of its sliders, rounded to 4 significant digits. Moving a slider
looks the curves up in that grid and restyles the plot in the browser.

Plotly's own sliders do not compose (each step would overwrite the others' state), so every
step has ``method="skip"``, and a short script reads the position of *all* sliders
(``gd.layout.sliders[k].active``) and shows the curves of exactly that combination.

Labelled grid
    An :class:`xarray.Dataset` (what the functions of :mod:`srlm_kit.experiments` return):
    each dimension has coordinate values, each data variable (a *field*) has named axes::

        <xarray.Dataset>
        Dimensions:  (n: 2, t: 3, band: 3)
        Coordinates: n (n) 10 100;  t (t) 0 1 2;  band (band) 'mean' 'lower' 'upper'
        Data variables:
            kappa    (n, t, band) float64 ...
        Attributes:  experiment: 'kappa_and_failure_grid', arguments: {'seed': 0}, ...

    A variable summarised over seeds has a last axis ``band`` (mean, lower and upper edge of
    the band, :func:`srlm_kit.experiments.common.band`). The registry's experiments record
    their name and keyword arguments in ``attrs``, which :func:`grid_figure` reads.

A figure is described by the dimension on its x-axis, its sliders (one dimension each), and its
curves (one field each, optionally a band, and values for the dimensions that are neither on
the x-axis nor on a slider). A curve's field need not depend on every slider: a population
curve has no ``n`` axis and stays put when the ``n`` slider moves.

Example (the whole of a chapter cell)::

    from srlm_kit.experiments import EXPERIMENTS
    from srlm_kit.figures import Curve, Slider, grid_figure

    result = EXPERIMENTS["kappa_and_failure_grid"](seed=0)
    grid_figure(
        result, x="t",
        sliders=[Slider("n", "triples per round n = "), Slider("kappa0", "initial κ₀ = ")],
        curves=[Curve.mean_and_band("simulated κ_t (mean)", "kappa", fixed={"beta": 0.1})],
        x_title="round t", y_title="condition number κ_t", log_y=True, div_id="fig-kappa",
        description="Line chart of the condition number against the round ...")

The returned :class:`SliderFigure` displays itself in a notebook cell: as static HTML with the
composing script when the book is built, and as ipywidgets sliders over the same grid in a live
notebook (Binder, Jupyter), where the site's plotly.js is not available.

Every page figure also records where its numbers come from (``layout.meta``: the experiment,
its keyword arguments, and each trace's field), so the browser tests can recompute the curves
with the kit and check what the page shows for every slider position against them
(:func:`expected_traces`).
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import xarray as xr

#: Set in the environment of the book build (by ``tools/static_widgets.py``, inherited by the
#: kernels that execute the chapters): figures then render as static HTML for the website.
STATIC_SITE_VARIABLE = "SRLM_STATIC_SITE"

#: Plotly's own output type, drawn natively by JupyterLab, Notebook 7 and VS Code.
PLOTLY_MIME = "application/vnd.plotly.v1+json"

#: Significant digits kept in the grids embedded in a page (keeps pages small; 4 digits are
#: finer than a plot can show).
SIGNIFICANT_DIGITS = 4

#: Default colours (Okabe-Ito, distinguishable with the common colour-vision deficiencies).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: The colour of reference lines and curves drawn for comparison.
GREY = "#999999"

_VISUALLY_HIDDEN = ("position:absolute;width:1px;height:1px;padding:0;margin:-1px;"
                    "overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0")

_SLIDER_HEIGHT = 78  # pixels per slider (current value, rail, tick labels)

# The composition of the sliders: read every slider's position, show that setting's curves.
# The grid lives in a JSON script element next to the plot, so tests can read it too.
# Each Plotly slider has a keyboard twin, a range input laid over it (see to_html): moving
# either moves the other, and the input announces the current value (aria-valuetext).
_POST_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var grid = JSON.parse(document.getElementById('{plot_id}-grid').textContent);
var keys = gd.layout.sliders.map(function (s, k) {
  return document.getElementById('{plot_id}-slider-' + k);
});
function pick(values, dims, active) {
  for (var j = 0; j < dims.length; j++) { values = values[active[dims[j]]]; }
  return values;
}
function show() {
  var active = gd.layout.sliders.map(function (s) { return s.active || 0; });
  keys.forEach(function (key, k) {
    var slider = gd.layout.sliders[k];
    key.value = active[k];
    key.setAttribute('aria-valuetext', slider.currentvalue.prefix + slider.steps[active[k]].label);
  });
  var ys = grid.traces.map(function (t) { return pick(t.y, t.dims, active); });
  return Plotly.restyle(gd, {y: ys}, grid.traces.map(function (t) { return t.index; }));
}
function place() {
  var groups = gd.querySelectorAll('.slider-group');
  keys.forEach(function (key, k) {
    var rail = groups[k] && groups[k].querySelector('.slider-rail-touch-rect');
    if (!rail || !key.offsetParent) { return; }
    var box = key.offsetParent.getBoundingClientRect();
    var r = rail.getBoundingClientRect();
    key.style.left = (r.left - box.left) + 'px';
    key.style.top = (r.top - box.top) + 'px';
    key.style.width = r.width + 'px';
    key.style.height = Math.max(r.height, 24) + 'px';
  });
}
gd.on('plotly_sliderchange', show);
gd.on('plotly_afterplot', place);
keys.forEach(function (key, k) {
  key.addEventListener('input', function () {
    var update = {};
    update['sliders[' + k + '].active'] = Number(key.value);
    Plotly.relayout(gd, update).then(show);
  });
});
place();
"""

# plotly.js is loaded with ``defer`` (tools/page_assets.py), after the figure's inline script
# has been parsed: the script draws at once if plotly.js is there, else when it is.
_WHEN_PLOTLY_IS_LOADED = ("(function (draw) {"
                          " if (window.Plotly) { draw(); }"
                          " else { document.addEventListener('DOMContentLoaded', draw); }"
                          " })(function () {\n")




# --------------------------------------------------------------------------------------------
# Specifications
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slider:
    """A slider over one dimension of the labelled grid.

    ``label`` is shown before the current value (e.g. ``"rounds T = "``); ``values`` selects a
    subset of the dimension's coordinates (default: all); ``active`` is the index, in
    ``values``, of the initial position; ``format`` formats a value for the step labels.
    """

    dim: str
    label: str
    values: Sequence | None = None
    active: int = 0
    format: str = "{:g}"


@dataclass(frozen=True)
class Curve:
    """One curve: a field of the labelled grid, drawn against the x dimension.

    ``band=(lower_field, upper_field)`` adds a shaded band between two fields behind the curve,
    with legend entry ``band_name``; ``seed_band=True`` draws a field with a ``band`` axis
    (mean ± sd over seeds, :func:`srlm_kit.experiments.common.band`): the curve at
    ``band="mean"``, the shading between ``"lower"`` and ``"upper"``. ``fixed`` gives a value
    for every dimension of the field that is neither the x dimension nor a slider. ``dash`` is
    a Plotly dash style (``"dash"`` suits bounds and reference slopes).
    """

    name: str
    field: str
    band: tuple[str, str] | None = None
    seed_band: bool = False
    band_name: str | None = None
    fixed: Mapping[str, object] = field(default_factory=dict)
    color: str | None = None
    dash: str | None = None
    width: float = 2.0
    mode: str = "lines+markers"

    @classmethod
    def mean_and_band(cls, name: str, variable: str, band_name: str | None = None,
                      **options) -> Curve:
        """The mean over seeds of ``variable`` with its band: the variable has a ``band`` axis
        (:func:`srlm_kit.experiments.common.band`)."""
        return cls(name, variable, seed_band=True, band_name=band_name, **options)


@dataclass
class SliderFigure:
    """A Plotly figure with composed sliders, for the static site and for live notebooks.

    ``figure`` is the Plotly figure (initial state); ``grid`` the embedded grid: for every
    trace that moves with the sliders, its index, the sliders it depends on and its y-values
    for every position of those sliders. Display it by leaving it as the last expression of a
    cell. When the book is built (:data:`STATIC_SITE_VARIABLE` set) it shows as the HTML of
    :meth:`to_html`, which needs the site's own plotly.js; in a live notebook (Binder, Jupyter)
    there is no such plotly.js, and it shows as :meth:`live`: the same figure and grid with
    ipywidgets sliders.
    """

    figure: go.Figure
    grid: dict
    div_id: str
    description: str
    caption: str | None = None

    def to_html(self) -> str:
        """The figure as an HTML fragment: plot, embedded grid, text alternative, caption, and a
        keyboard control per slider.

        plotly.js and MathJax are *not* included: the site serves plotly.js to the pages that
        have figures, deferred, and the figure's script waits for it. Each Plotly slider gets a
        range input (``{div_id}-slider-{k}``) that the page's script lays over it: reachable
        with Tab, moved with the arrow keys, announcing the current value.
        """
        plot = self.figure.to_html(full_html=False, include_plotlyjs=False,
                                   include_mathjax=False, div_id=self.div_id,
                                   post_script=_POST_SCRIPT if self.grid["traces"] else None,
                                   config={"displaylogo": False, "responsive": True})
        plot = _wait_for_plotly(plot)
        grid_json = json.dumps(self.grid, separators=(",", ":")).replace("</", "<\\/")
        description = html.escape(self.description)
        keys = "".join(_slider_key(self.div_id, number, slider)
                       for number, slider in enumerate(self.figure.layout.sliders)
                       if self.grid["traces"])
        parts = [
            f'<script type="application/json" id="{self.div_id}-grid">{grid_json}</script>',
            f'<p id="{self.div_id}-description" class="srlm-figure-description" '
            f'style="{_VISUALLY_HIDDEN}">{description}</p>',
            f"<noscript><p>{description}</p></noscript>",
            f'<div class="srlm-figure-plot">\n{plot}\n{keys}</div>',
        ]
        inner = "\n".join(parts)
        attributes = f'class="srlm-figure" aria-describedby="{self.div_id}-description"'
        if self.caption:
            return (f"<figure {attributes}>\n{inner}\n"
                    f"<figcaption>{html.escape(self.caption)}</figcaption>\n</figure>")
        return f'<div role="figure" {attributes}>\n{inner}\n</div>'

    def _repr_mimebundle_(self, include=None, exclude=None):
        if os.environ.get(STATIC_SITE_VARIABLE):
            return {"text/html": self.to_html()}
        return self.live()._repr_mimebundle_(include=include, exclude=exclude)

    def live(self):
        """The figure for a live notebook: ipywidgets sliders above the Plotly figure.

        Moving a slider shows the curves of that setting of all sliders, looked up in the same
        grid as the static page's (no recomputation). The figure is sent as Plotly's own output
        type (``application/vnd.plotly.v1+json``), which JupyterLab, Notebook 7 and VS Code
        draw with the plotly.js they already have. Needs a kernel (ipywidgets).
        """
        import ipywidgets as widgets

        controls = [
            widgets.SelectionSlider(
                options=[(step.label, index) for index, step in enumerate(slider.steps)],
                value=slider.active, description=slider.currentvalue.prefix.strip(" ="),
                continuous_update=True, style={"description_width": "initial"},
                layout=widgets.Layout(width="480px"))
            for slider in self.figure.layout.sliders]
        output = widgets.Output()
        sliders = len(self.figure.layout.sliders or ())
        plot_height = max(300, (self.figure.layout.height or 450) - _SLIDER_HEIGHT * sliders)

        def show(change=None):
            figure = go.Figure(self.figure)
            figure.layout.sliders = ()
            # The static figure's height includes its Plotly sliders, which the widgets replace;
            # an explicit height keeps the plot from collapsing or jumping while it redraws.
            figure.layout.height = plot_height
            figure.layout.margin.b = 60
            for index, values in self.traces_at([control.value for control in controls]).items():
                figure.data[index].y = values
            # Replace the output in one assignment: no flicker, and no display hook needed.
            output.outputs = ({"output_type": "display_data", "metadata": {},
                               "data": {PLOTLY_MIME: json.loads(figure.to_json()),
                                        "text/plain": self.description}},)

        for control in controls:
            control.observe(show, names="value")
        show()
        parts = [*controls, output]
        if self.caption:
            parts.append(widgets.HTML(f"<p>{html.escape(self.caption)}</p>"))
        box = widgets.VBox(parts)
        box.controls, box.output = controls, output  # for scripts and tests
        return box

    def traces_at(self, active: Sequence[int]) -> dict[int, list]:
        """The y-values the page shows when slider ``k`` is at step ``active[k]``.

        Read from the embedded grid, as the page's script does; keyed by trace index.
        """
        if len(active) != len(self.figure.layout.sliders):
            raise ValueError(f"active must give one position per slider "
                             f"({len(self.figure.layout.sliders)}), got {len(active)}")
        shown = {}
        for trace in self.grid["traces"]:
            values = trace["y"]
            for dim_index in trace["dims"]:
                values = values[active[dim_index]]
            shown[trace["index"]] = values
        return shown


def _wait_for_plotly(plot: str) -> str:
    """Wrap the body of plotly.py's inline script so that it runs once plotly.js is loaded."""
    opening = re.search(r"<script[^>]*>", plot)
    closing = plot.rindex("</script>")
    if opening is None or "Plotly.newPlot" not in plot[opening.end():closing]:
        raise ValueError("plotly's HTML has no inline script drawing the figure")
    return (plot[:opening.end()] + _WHEN_PLOTLY_IS_LOADED + plot[opening.end():closing]
            + "\n});" + plot[closing:])


def _slider_key(div_id: str, number: int, slider) -> str:
    """The keyboard twin of Plotly slider ``number``: a range input over its steps."""
    name = slider.currentvalue.prefix.strip().rstrip("=:").strip() or slider.name
    active = slider.active or 0
    valuetext = f"{slider.currentvalue.prefix}{slider.steps[active].label}"
    return (f'<input type="range" class="srlm-slider-key" id="{div_id}-slider-{number}" '
            f'min="0" max="{len(slider.steps) - 1}" step="1" value="{active}" '
            f'aria-label="{html.escape(name)}" aria-valuetext="{html.escape(valuetext)}">\n')


# --------------------------------------------------------------------------------------------
# Building
# --------------------------------------------------------------------------------------------


def round_significant(values, digits: int = SIGNIFICANT_DIGITS):
    """Nested lists of ``values`` rounded to ``digits`` significant digits; NaN/inf -> None.

    ``None`` becomes ``null`` in JSON, which Plotly draws as a gap.
    """
    array = np.asarray(values, dtype=float)
    flat = [float(f"{value:.{digits}g}") if math.isfinite(value) else None
            for value in array.reshape(-1).tolist()]
    return np.array(flat, dtype=object).reshape(array.shape).tolist()


def coordinates(result: xr.Dataset, dim: str | None = None) -> list | dict[str, list]:
    """The coordinate values of dimension ``dim`` as Python numbers or strings; without ``dim``,
    those of every dimension, ``{dim: values}``."""
    if dim is None:
        return {name: coordinates(result, name) for name in result.dims}
    if dim not in result.dims:
        raise ValueError(f"{dim!r} is not a dimension of the result ({sorted(result.dims)})")
    return result[dim].values.tolist()


def index_of(values, wanted) -> int:
    """The position of ``wanted`` in ``values``, or 0 when it is absent (a slider's default)."""
    values = list(values)
    return values.index(wanted) if wanted in values else 0


def rounds_slider(result: xr.Dataset, label: str = "after T rounds, T = ") -> Slider:
    """A slider over the rounds ``t >= 1`` of ``result``, starting at the last one."""
    rounds = [t for t in coordinates(result, "t") if t >= 1]
    return Slider("t", label, values=rounds, active=len(rounds) - 1)


def horizontal_line(x_values, level: float, name: str) -> go.Scatter:
    """A grey dotted reference line at ``level`` across the range of ``x_values``."""
    return go.Scatter(x=[x_values[0], x_values[-1]], y=[level, level], mode="lines", name=name,
                      line={"color": GREY, "dash": "dot", "width": 1.5}, hoverinfo="skip")


def powers_of_ten(figure: SliderFigure) -> SliderFigure:
    """Label the logarithmic y-axis ticks as powers of ten (not SI prefixes such as 1μ, 1n)."""
    figure.figure.update_yaxes(exponentformat="power")
    return figure


def _coordinate_index(result: xr.Dataset, dim: str, value) -> int:
    values = coordinates(result, dim)
    if value not in values:
        raise ValueError(f"{value!r} is not a coordinate of dimension {dim!r} "
                         f"(coordinates: {values})")
    return values.index(value)


def _check_grid(result) -> xr.Dataset:
    if not isinstance(result, xr.Dataset):
        raise TypeError("result must be a labelled grid, an xarray.Dataset "
                        f"(see srlm_kit.figures.core), got {type(result).__name__}")
    return result


def _field_grid(result: xr.Dataset, curve_field: str, x: str, sliders: Sequence[Slider],
                fixed: Mapping) -> tuple[list[int], np.ndarray]:
    """The field's values as an array (sliders the field depends on..., x), and those sliders."""
    if curve_field not in result.data_vars:
        raise ValueError(f"field {curve_field!r} is not in the result "
                         f"(fields: {sorted(result.data_vars)})")
    variable = result[curve_field]
    dims = list(variable.dims)
    if x not in dims:
        raise ValueError(f"field {curve_field!r} has no axis {x!r} (its axes: {dims})")
    slider_dims = [slider.dim for slider in sliders]
    selection = {}
    for dim in dims:
        if dim == x:
            continue
        if dim in fixed:  # one position: the axis goes away
            selection[dim] = _coordinate_index(result, dim, fixed[dim])
        elif dim in slider_dims:
            slider = sliders[slider_dims.index(dim)]
            selection[dim] = [_coordinate_index(result, dim, value)
                              for value in _slider_values(result, slider)]
        else:
            raise ValueError(f"field {curve_field!r} has an axis {dim!r} that is neither the "
                             f"x-axis ({x!r}), a slider ({slider_dims}) nor fixed")
    used = [index for index, dim in enumerate(slider_dims) if dim in dims and dim not in fixed]
    variable = variable.isel(selection).transpose(*[slider_dims[i] for i in used], x)
    return used, variable.values.astype(float)


def _slider_values(result: xr.Dataset, slider: Slider) -> list:
    if slider.dim not in result.dims:
        raise ValueError(f"slider dimension {slider.dim!r} is not a dimension of the result "
                         f"({sorted(result.dims)})")
    return coordinates(result, slider.dim) if slider.values is None else list(slider.values)


def _rgba(color: str, alpha: float) -> str:
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def grid_figure(result: xr.Dataset, *, x: str, sliders: Sequence[Slider],
                curves: Sequence[Curve], description: str, x_title: str, y_title: str,
                div_id: str, experiment: str | None = None, kwargs: Mapping | None = None,
                static_traces: Sequence = (), log_x: bool = False, log_y: bool = False,
                title: str | None = None, caption: str | None = None,
                x_range: Sequence[float] | None = None, y_range: Sequence[float] | None = None,
                height: int = 420) -> SliderFigure:
    """Build a figure whose sliders (any number, composing) select curves from a labelled grid.

    ``result`` is a labelled grid, an :class:`xarray.Dataset` (module docstring); ``x`` the
    dimension on the x-axis;
    ``sliders`` one :class:`Slider` per dimension to vary; ``curves`` the :class:`Curve` s.
    ``static_traces`` are Plotly traces drawn as given (reference lines, thresholds); they do
    not move. ``description`` is the text alternative (what the figure shows, for readers who
    cannot see it; a sentence or three); ``caption``, if given, is shown under the figure (or
    give the caption in the cell's ``mystnb: figure:`` metadata, which also numbers it).
    ``experiment`` and ``kwargs`` name the experiment that produced ``result`` (default: what
    ``result.attrs`` records, ``"experiment"`` and ``"arguments"``), so the browser tests can
    recompute every curve with the kit. ``div_id`` must be unique on the page.
    ``x_range``/``y_range`` are in axis units (log10 of the value on a log axis).

    When the book is built (:data:`STATIC_SITE_VARIABLE` set) a slider that changes no drawn
    value, for every setting of the other sliders, is refused with a ``ValueError`` naming it,
    so the strict build fails on a dead control. (Outside the build, small test grids may
    legitimately show the same curves at every step.)
    """
    result = _check_grid(result)
    if not re.fullmatch(r"[a-z][a-z0-9-]*", div_id):
        raise ValueError(f"div_id must be lowercase letters, digits and '-', got {div_id!r}")
    if not description or len(description.strip()) < 20:
        raise ValueError("description (the text alternative) must describe the figure in at "
                         "least a sentence")
    if x not in result.dims:
        raise ValueError(f"x {x!r} is not a dimension of the result ({sorted(result.dims)})")
    slider_dims = [slider.dim for slider in sliders]
    if len(set(slider_dims)) != len(slider_dims) or x in slider_dims:
        raise ValueError(f"each slider needs its own dimension, other than x; got {slider_dims}")
    for slider in sliders:
        count = len(_slider_values(result, slider))
        if not 0 <= slider.active < count:
            raise ValueError(f"slider {slider.dim!r}: active must lie in [0, {count - 1}], "
                             f"got {slider.active}")
    if experiment is None and kwargs is None:
        experiment, kwargs = result.attrs.get("experiment"), result.attrs.get("arguments")
    if (experiment is None) != (kwargs is None):
        raise ValueError("give both experiment and kwargs (or neither)")

    x_values = coordinates(result, x)
    active = [slider.active for slider in sliders]
    figure = go.Figure()
    grid_traces = []

    def add(name, field_name, fixed, role, **style):
        used, values = _field_grid(result, field_name, x, sliders, fixed)
        rounded = round_significant(values)
        initial = rounded
        for slider_index in used:
            initial = initial[active[slider_index]]
        index = len(figure.data)
        figure.add_trace(go.Scatter(
            x=x_values, y=initial, name=name,
            meta={"field": field_name, "fixed": dict(fixed), "role": role}, **style))
        if used:
            grid_traces.append({"index": index, "dims": used, "y": rounded})

    for number, curve in enumerate(curves):
        color = curve.color or PALETTE[number % len(PALETTE)]
        group = f"curve-{number}"
        fixed = curve.fixed
        if curve.seed_band:
            lower, upper = ((curve.field, {**fixed, "band": edge}) for edge in ("lower", "upper"))
            fixed = {**fixed, "band": "mean"}
        elif curve.band is not None:
            lower, upper = ((name, fixed) for name in curve.band)
        if curve.seed_band or curve.band is not None:
            add(f"{curve.name} (band, lower edge)", *lower, "band-lower",
                mode="lines", line={"width": 0, "color": color}, showlegend=False,
                hoverinfo="skip", legendgroup=group)
            add(curve.band_name or f"{curve.name}: ± 1 sd over seeds", *upper,
                "band-upper", mode="lines", line={"width": 0, "color": color},
                fill="tonexty", fillcolor=_rgba(color, 0.2), hoverinfo="skip",
                legendgroup=group)
        add(curve.name, curve.field, fixed, "curve", mode=curve.mode,
            line={"color": color, "width": curve.width, "dash": curve.dash},
            marker={"size": 5}, legendgroup=group)
    for trace in static_traces:
        figure.add_trace(trace)

    figure.update_layout(
        height=height + _SLIDER_HEIGHT * len(sliders),
        margin={"l": 70, "r": 20, "t": 70 if title else 40,
                "b": 70 + _SLIDER_HEIGHT * len(sliders)},
        title={"text": title} if title else None,
        template="plotly_white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        xaxis={"title": {"text": x_title}, "type": "log" if log_x else "linear",
               "range": list(x_range) if x_range is not None else None},
        yaxis={"title": {"text": y_title}, "type": "log" if log_y else "linear",
               "range": list(y_range) if y_range is not None else None},
        sliders=[_slider_layout(result, slider, number) for number, slider in enumerate(sliders)],
        meta={"srlm": {"x": x, "sliders": slider_dims, "experiment": experiment,
                       "kwargs": dict(kwargs) if kwargs is not None else None}},
    )
    if os.environ.get(STATIC_SITE_VARIABLE):
        _check_every_slider_moves(grid_traces, slider_dims)
    return SliderFigure(figure=figure, grid={"traces": grid_traces}, div_id=div_id,
                        description=description, caption=caption)


def _moves_along(values: list, axis: int) -> bool:
    """Whether nested ``values`` (None for a gap) change along ``axis`` anywhere."""
    array = np.asarray(values, dtype=float)  # None -> NaN
    first = np.take(array, [0], axis=axis)
    same = (array == first) | (np.isnan(array) & np.isnan(first))
    return not bool(same.all())


def _check_every_slider_moves(grid_traces: Sequence[Mapping], slider_dims: Sequence[str]
                              ) -> None:
    """Raise if some slider changes no drawn value, for every setting of the other sliders.

    A slider that moves nothing misleads the reader into looking for an effect that is not
    there. The values compared are the rounded ones the page embeds.
    """
    for slider_index, dim in enumerate(slider_dims):
        if not any(_moves_along(trace["y"], trace["dims"].index(slider_index))
                   for trace in grid_traces if slider_index in trace["dims"]):
            raise ValueError(
                f"slider {dim!r} changes no drawn value, whatever the other sliders show: "
                "remove it, or draw a curve that depends on it")


def _slider_layout(result: xr.Dataset, slider: Slider, number: int) -> dict:
    values = _slider_values(result, slider)
    return {
        "active": slider.active,
        "name": slider.dim,
        "currentvalue": {"prefix": slider.label, "visible": True, "xanchor": "left"},
        "pad": {"t": 60 + _SLIDER_HEIGHT * number, "b": 0},
        "len": 1.0, "x": 0.0, "y": 0.0, "yanchor": "top",
        "steps": [{"method": "skip", "args": [], "label": slider.format.format(value),
                   "value": json.dumps(value)} for value in values],
    }


# --------------------------------------------------------------------------------------------
# What the kit says a figure should show (shared by the tests and the Python side)
# --------------------------------------------------------------------------------------------


def lookup(result: xr.Dataset, field_name: str, x: str, where: Mapping) -> list:
    """The values of ``field_name`` along ``x`` at the coordinates ``where`` (by value).

    Deliberately written apart from :func:`grid_figure` (plain Python on nested lists, by
    coordinate value, no selections or transposes), so that a test comparing the two checks one
    against the other.
    """
    result = _check_grid(result)
    dims = result[field_name].dims

    def walk(node, depth):
        if depth == len(dims):
            return float(node)
        dim = dims[depth]
        if dim == x:
            return [walk(child, depth + 1) for child in node]
        return walk(node[result[dim].values.tolist().index(where[dim])], depth + 1)

    return walk(result[field_name].values.tolist(), 0)


def expected_traces(result: xr.Dataset, meta: Mapping, trace_metas: Sequence[Mapping | None],
                    setting: Mapping) -> dict[int, list]:
    """For each moving trace of a page figure, the kit's values at a slider ``setting``.

    ``meta`` is the figure's ``layout.meta["srlm"]``, ``trace_metas`` the ``meta`` of each
    trace (``None`` for static traces), ``setting`` maps every slider dimension to a
    coordinate value. Keyed by trace index; values not rounded.
    """
    expected = {}
    for index, trace_meta in enumerate(trace_metas):
        if not trace_meta or "field" not in trace_meta:
            continue
        where = {**setting, **trace_meta.get("fixed", {})}
        expected[index] = lookup(result, trace_meta["field"], meta["x"], where)
    return expected


# --------------------------------------------------------------------------------------------
# Live figures (a kernel is running: Binder, Jupyter)
# --------------------------------------------------------------------------------------------


class LiveFigure:
    """What the live explorers share: a ``FigureWidget`` redrawn in place from ``compute``.

    A subclass sets ``TRACES`` (the field of ``compute()`` each trace shows, and its subplot
    column, in trace order), builds ``self.figure`` (with :func:`live_figure_widget`),
    ``self.status`` (an ``ipywidgets.HTML``) and ``self.widget`` (what is displayed), and
    defines ``settings()`` (the slider values) and ``compute(**settings)`` (a dict of curves;
    an entry ``"t"``, when present, is the x of every trace). Nothing here imports ipywidgets,
    so the static figures of this package build without it.
    """

    TRACES: tuple[tuple[str, int], ...] = ()
    last_duration: float | None = None

    def settings(self) -> dict:
        raise NotImplementedError

    def compute(self, **settings) -> dict:
        raise NotImplementedError

    def update(self) -> None:
        """Recompute for the current sliders and redraw in place; the status line says
        "computing" meanwhile and then how long it took."""
        self.status.value = "<b>computing…</b>"
        started = time.perf_counter()
        data = self.compute(**self.settings())
        with self.figure.batch_update():
            for trace, (name, _) in zip(self.figure.data, self.TRACES, strict=True):
                if "t" in data:
                    trace.x = data["t"]
                trace.y = data[name]
        self.last_duration = time.perf_counter() - started
        self.status.value = f"computed in {self.last_duration:.2f} s"

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def live_figure_widget(figure: go.Figure) -> go.FigureWidget:
    """The layout every live explorer uses (rounds on x, legend below), as a ``FigureWidget``."""
    figure.update_xaxes(title_text="round t")
    figure.update_layout(height=380, template="plotly_white",
                         margin={"l": 60, "r": 20, "t": 60, "b": 50},
                         legend={"orientation": "h", "y": -0.2})
    return go.FigureWidget(figure)
