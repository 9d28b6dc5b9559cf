"""The shared argument checks: accepted values come back normalised, every rejection names the
parameter and the allowed range."""

from __future__ import annotations

import math

import numpy as np
import pytest

from srlm_kit import _validation as check


def test_increasing_ints_are_returned_as_python_ints():
    values = check.check_increasing_ints("n_values", np.array([1, 10, 100]))
    assert values == [1, 10, 100] and all(type(value) is int for value in values)
    assert check.check_increasing_ints("tied", 3, minimum=2) == [3]


@pytest.mark.parametrize("values, error, words", [
    ([], TypeError, "non-empty list of integers"),
    ([1.0, 2.0], TypeError, "list of integers"),
    ([[1, 2]], TypeError, "list of integers"),
    ([0, 5], ValueError, ">= 1"),
    ([5, 5], ValueError, "strictly increasing"),
    ([10, 2], ValueError, "strictly increasing"),
])
def test_increasing_ints_reject_with_the_parameter_named(values, error, words):
    with pytest.raises(error, match="n_values") as raised:
        check.check_increasing_ints("n_values", values)
    assert words in str(raised.value)


def test_increasing_floats_respect_open_and_closed_lower_ends():
    assert check.check_increasing_floats("noises", [0.0, 0.5], 0.0) == [0.0, 0.5]
    with pytest.raises(ValueError, match=r"betas must be .*\(0.0, inf\)"):
        check.check_increasing_floats("betas", [0.0, 0.5], 0.0, open_low=True)
    assert check.check_increasing_floats("agreements", [0.25, 1.0], 0.0, 1.0) == [0.25, 1.0]
    with pytest.raises(ValueError, match=r"agreements .*\[0.0, 1.0\]"):
        check.check_increasing_floats("agreements", [0.5, 1.5], 0.0, 1.0)


@pytest.mark.parametrize("values, error", [
    ([], TypeError), (["a"], TypeError), ([0.1, math.nan], ValueError),
    ([0.1, math.inf], ValueError), ([0.5, 0.5], ValueError), ([0.5, 0.1], ValueError),
])
def test_increasing_floats_reject_with_the_parameter_named(values, error):
    with pytest.raises(error, match="scales"):
        check.check_increasing_floats("scales", values, 0.0, open_low=True)
