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


def test_increasing_ints_respect_an_upper_limit():
    assert check.check_increasing_ints("totals", [1, 10], maximum=10) == [1, 10]
    with pytest.raises(ValueError, match=r"totals must be .*>= 1 and <= 10, got \[1, 11\]"):
        check.check_increasing_ints("totals", [1, 11], maximum=10)


def test_entries_bound_the_product_of_sizes_naming_each():
    check.check_entries({"m": 10, "K": 10}, 100)
    with pytest.raises(ValueError, match=r"^m times K times d must be at most 1e\+02, "
                                         r"got 10 x 10 x 2$"):
        check.check_entries({"m": 10, "K": 10, "d": 2}, 100)


@pytest.mark.parametrize("value", [1e-7, -1.0, math.inf, math.nan])
def test_at_least_rejects_small_and_non_finite_numbers(value):
    assert check.check_at_least("beta", 1e-6, 1e-6) == 1e-6
    with pytest.raises(ValueError, match=r"beta must be a finite number >= 1e-06"):
        check.check_at_least("beta", value, 1e-6)


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


def test_numbers_keep_their_order_and_respect_open_ends():
    assert check.check_numbers("betas", (2, 0.5), 0.0, open_low=True) == [2.0, 0.5]
    assert check.check_numbers("levels", 1.0, 0.0, 1.0) == [1.0]
    with pytest.raises(ValueError, match=r"levels must be finite numbers in \(0.0, 1.0\)"):
        check.check_numbers("levels", [0.5, 1.0], 0.0, 1.0, open_low=True, open_high=True)
    with pytest.raises(ValueError, match=r"betas .*\(0.0, inf\)"):
        check.check_numbers("betas", [0.5, math.nan], 0.0, open_low=True)


@pytest.mark.parametrize("values", ["0.5", ["x"], [[0.5, 1.0]], None])
def test_numbers_reject_what_is_not_a_list_of_numbers(values):
    with pytest.raises(TypeError, match="betas must be a non-empty list of numbers"):
        check.check_numbers("betas", values, 0.0)
    with pytest.raises(ValueError, match="betas must list at least one number, got none"):
        check.check_numbers("betas", [], 0.0)


def test_booleans_and_non_negative_numbers():
    assert check.check_bool("prototype", np.bool_(False)) is False
    with pytest.raises(TypeError, match="prototype must be True or False"):
        check.check_bool("prototype", 1)
    assert check.check_non_negative("log_class_size", 0) == 0.0
    for bad in (-1e-9, math.inf, math.nan):
        with pytest.raises(ValueError, match="log_class_size must be a finite number >= 0"):
            check.check_non_negative("log_class_size", bad)
