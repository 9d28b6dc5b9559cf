"""Checks shared by the experiment tests: a result's command-line form is strict JSON, and a
page figure shows, at its slider positions, exactly the numbers of the experiment it records."""

from __future__ import annotations

import itertools
import json

import numpy as np
import xarray as xr

from srlm_kit.cli import dataset_json
from srlm_kit.figures.core import expected_traces


def strict_json(result: xr.Dataset) -> xr.Dataset:
    """The result, after checking that its command-line form is strict JSON (no NaN, no
    infinity)."""
    json.dumps(dataset_json(result), allow_nan=False)
    return result


def check_every_slider_step(figure, result: xr.Dataset) -> None:
    """Move one slider at a time through every step (the others at their defaults) and compare
    every trace with the experiment's numbers recomputed from what the figure records."""
    meta = figure.figure.layout.meta["srlm"]
    assert meta["experiment"] == result.attrs["experiment"]
    assert meta["kwargs"] == result.attrs["arguments"]
    sliders = figure.figure.layout.sliders
    trace_metas = [trace.meta for trace in figure.figure.data]
    for slider_index, slider in enumerate(sliders):
        for step_index in range(len(slider.steps)):
            active = [other.active for other in sliders]
            active[slider_index] = step_index
            setting = {other.name: json.loads(other.steps[position].value)
                       for other, position in zip(sliders, active, strict=True)}
            expected = expected_traces(result, meta, trace_metas, setting)
            for index, values in figure.traces_at(active).items():
                shown = np.asarray([np.nan if v is None else v for v in values], dtype=float)
                np.testing.assert_allclose(shown, np.asarray(expected[index]), rtol=5e-4,
                                           equal_nan=True)


def check_every_setting(figure, result: xr.Dataset, experiment: str, kwargs: dict) -> None:
    """Every combination of slider positions shows the experiment's numbers; the figure names
    ``experiment`` and ``kwargs``, has a text description and stays small."""
    layout = figure.figure.layout
    meta = layout.meta["srlm"]
    assert meta["experiment"] == experiment and meta["kwargs"] == kwargs
    trace_metas = [trace.meta for trace in figure.figure.data]
    steps = [[json.loads(step.value) for step in slider.steps] for slider in layout.sliders]
    for active in itertools.product(*(range(len(values)) for values in steps)):
        setting = dict(zip(meta["sliders"], (values[k] for values, k in zip(
            steps, active, strict=True)), strict=True))
        expected = expected_traces(result, meta, trace_metas, setting)
        for index, shown in figure.traces_at(list(active)).items():
            np.testing.assert_allclose(np.asarray(shown, dtype=float), expected[index],
                                       rtol=5.0001e-4, atol=1e-300)
    assert len(figure.description) > 100 and len(figure.to_html()) < 80_000
