"""Helpers shared by the experiment modules: summaries over seeds and strict-JSON lists."""

from __future__ import annotations

import numpy as np


def seed_band(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over ``axis`` (the seeds) and the band mean ± 1 standard deviation, clipped to the
    range the seeds actually reached (so a band never leaves [0, 1] for a probability)."""
    values = np.asarray(values, dtype=float)
    mean, std = values.mean(axis=axis), values.std(axis=axis)
    return (mean, np.maximum(mean - std, values.min(axis=axis)),
            np.minimum(mean + std, values.max(axis=axis)))


def running_min_over_seeds(values, seed_axis: int) -> np.ndarray:
    """Minimum over rounds ``0..t`` (running, along the last axis), then over the seed axis: the
    paper's mu and gamma of Definition 5.2, measured on runs."""
    return np.minimum.accumulate(np.asarray(values, dtype=float), axis=-1).min(axis=seed_axis)


def json_lists(values) -> list:
    """Nested lists of floats with NaN and infinities as None (JSON null): strict JSON."""
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, None).tolist()
