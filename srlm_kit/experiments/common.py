"""Helpers shared by the experiment modules: summaries over seeds and the labelled grid
(:class:`xarray.Dataset`) every experiment returns."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

#: The coordinates of the ``band`` dimension that :func:`band` adds: the mean over seeds and the
#: two edges of the band drawn around it.
BAND = ("mean", "lower", "upper")


def seed_band(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over ``axis`` (the seeds) and the band mean ± 1 standard deviation, clipped to the
    range the seeds actually reached (so a band never leaves [0, 1] for a probability)."""
    values = np.asarray(values, dtype=float)
    mean, std = values.mean(axis=axis), values.std(axis=axis)
    return (mean, np.maximum(mean - std, values.min(axis=axis)),
            np.minimum(mean + std, values.max(axis=axis)))


def band(values, seed_axis: int) -> np.ndarray:
    """:func:`seed_band` as one array: the seed axis replaced by a last axis of length 3, the
    ``band`` dimension (:data:`BAND`: mean, lower edge, upper edge).

    Every experiment summarises its seeds with this one function, so a figure draws any such
    variable as a curve with its band (:meth:`srlm_kit.figures.core.Curve.mean_and_band`) and a
    chapter reads the mean as ``result[name].sel(band="mean")``."""
    return np.stack(seed_band(values, seed_axis), axis=-1)


def labelled_grid(coords: Mapping[str, Sequence], variables: Mapping[str, tuple], *,
                  attrs: Mapping | None = None) -> xr.Dataset:
    """The result of an experiment: an :class:`xarray.Dataset` of float variables.

    ``coords`` maps each dimension to its coordinate values; ``variables`` maps each name to
    ``(dims, values)``; ``attrs`` holds the settings and scalar extras. A variable whose dims
    end in ``"band"`` (made by :func:`band`) gets the coordinate :data:`BAND`. Missing values
    stay NaN (the command line writes them as JSON null)."""
    coords = {dim: list(values) for dim, values in coords.items()}
    if any("band" in dims for dims, _ in variables.values()):
        coords.setdefault("band", list(BAND))
    data = {name: (list(dims), np.asarray(values, dtype=float))
            for name, (dims, values) in variables.items()}
    return xr.Dataset(data, coords=coords, attrs=dict(attrs or {}))


def running_min_over_seeds(values, seed_axis: int) -> np.ndarray:
    """Minimum over rounds ``0..t`` (running, along the last axis), then over the seed axis: the
    paper's mu and gamma of Definition 5.2, measured on runs."""
    return np.minimum.accumulate(np.asarray(values, dtype=float), axis=-1).min(axis=seed_axis)


