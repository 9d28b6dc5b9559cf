"""Argument checks shared by the public functions of the kit.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message
that names the parameter and the allowed range. Checks run only on concrete values: inside
``jit``/``vmap`` the arguments are tracers and the caller has already been checked.
"""

from __future__ import annotations

import math
import numbers

import jax
import numpy as np


def is_concrete(value) -> bool:
    """True when ``value`` holds data (not a JAX tracer), so it can be checked in Python."""
    leaves = jax.tree_util.tree_leaves(value)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    array = np.asarray(value)
    if array.ndim != 0:
        raise TypeError(f"{name} must be a scalar, got an array of shape {array.shape}")
    return float(array)


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """An integer in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral | np.integer):
        array = np.asarray(value) if isinstance(value, np.ndarray | jax.Array) else None
        if array is None or array.ndim != 0 or not np.issubdtype(array.dtype, np.integer):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        value = int(array)
    value = int(value)
    upper = "" if maximum is None else f" and at most {maximum}"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer at least {minimum}{upper}, got {value}")
    return value


#: Seeds are turned into JAX keys (``jax.random.key``), which take a 64-bit signed integer.
MAX_SEED = 2**63 - 1


def check_seed(name: str, value) -> int:
    """A PRNG seed: an integer in [0, 2**63 - 1]."""
    return check_int(name, value, 0, MAX_SEED)


def check_positive(name: str, value) -> float:
    """A finite real number > 0."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {number}")
    return number


def check_open_interval(name: str, value, low: float, high: float) -> float:
    """A real number in the open interval (low, high)."""
    number = _as_float(name, value)
    if not (low < number < high):
        raise ValueError(f"{name} must lie in the open interval ({low}, {high}), got {number}")
    return number


def check_interval(name: str, value, low: float, high: float) -> float:
    """A real number in the closed interval [low, high]."""
    number = _as_float(name, value)
    if not (low <= number <= high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {number}")
    return number


def check_finite_array(name: str, value, ndim: int | None = None) -> np.ndarray:
    """A real array of finite numbers (no NaN, no infinity), optionally of a given rank."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise TypeError(f"{name} must be a real array, got dtype {array.dtype}")
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite numbers (no NaN or infinity)")
    return array


def check_distribution(name: str, value, size: int | None = None) -> np.ndarray:
    """A probability vector: non-negative entries summing to 1 (to 1e-6)."""
    array = check_finite_array(name, value, ndim=1)
    if size is not None and array.shape[0] != size:
        raise ValueError(f"{name} must have length {size} (one entry per prompt), "
                         f"got length {array.shape[0]}")
    if np.any(array < 0):
        raise ValueError(f"{name} must be non-negative, got a minimum of {array.min()}")
    total = float(array.sum())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{name} must sum to 1, got a sum of {total}")
    return array


def check_index_array(name: str, value, size: int, upper: int, allow_missing: bool = False):
    """An integer vector of the given length with entries in [0, upper) (or -1 if allowed)."""
    array = np.asarray(value)
    if not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be an integer array, got dtype {array.dtype}")
    if array.shape != (size,):
        raise ValueError(f"{name} must have shape ({size},), got {array.shape}")
    low = -1 if allow_missing else 0
    if np.any(array < low) or np.any(array >= upper):
        allowed = f"[{low}, {upper - 1}]" + (" (-1 meaning none)" if allow_missing else "")
        raise ValueError(f"{name} entries must lie in {allowed}")
    return array


def check_increasing_ints(name: str, values, minimum: int = 1) -> list[int]:
    """A non-empty, strictly increasing list of integers, each at least ``minimum``."""
    array = np.atleast_1d(np.asarray(values))
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be a non-empty list of integers, got {values!r}")
    if np.any(array < minimum) or np.any(np.diff(array) <= 0):
        raise ValueError(f"{name} must be strictly increasing integers >= {minimum}, "
                         f"got {array.tolist()}")
    return [int(value) for value in array]


def check_increasing_floats(name: str, values, low: float, high: float = math.inf, *,
                            open_low: bool = False) -> list[float]:
    """A non-empty, strictly increasing list of finite numbers in ``[low, high]``
    (``(low, high]`` with ``open_low``)."""
    try:
        array = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}") from None
    if array.ndim != 1 or array.size == 0:
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}")
    above_low = array > low if open_low else array >= low
    interval = f"{'(' if open_low else '['}{low}, {high}{']' if math.isfinite(high) else ')'}"
    if (not np.all(np.isfinite(array)) or not np.all(above_low & (array <= high))
            or np.any(np.diff(array) <= 0)):
        raise ValueError(f"{name} must be strictly increasing finite numbers in {interval}, "
                         f"got {array.tolist()}")
    return [float(value) for value in array]


# Element-wise checks for functions that broadcast over arrays (the bounds): a scalar or an array
# of any shape, every entry in the allowed range; the message quotes the first bad entry.


def check_array(name: str, value, condition, allowed: str) -> np.ndarray:
    """A real number or array (float64) whose every entry satisfies ``condition``
    (NaN never does); ``allowed`` says in words what ``condition`` requires."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a real number or array, got {value!r}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be a real number or array, got {value!r}") from None
    bad = np.isnan(array) | ~condition(array)
    if np.any(bad):
        raise ValueError(f"{name} must be {allowed}, got {array[bad].flat[0]!r}")
    return array


def check_positive_array(name: str, value) -> np.ndarray:
    """Entries finite and > 0."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x > 0), "a finite number > 0")


def check_non_negative_array(name: str, value) -> np.ndarray:
    """Entries finite and >= 0."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x >= 0),
                       "a finite number >= 0")


def check_array_at_least(name: str, value, low: float) -> np.ndarray:
    """Entries finite and >= ``low``."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x >= low),
                       f"a finite number >= {low}")


def check_open_unit_array(name: str, value) -> np.ndarray:
    """Entries in the open interval (0, 1)."""
    return check_array(name, value, lambda x: (x > 0) & (x < 1), "in the open interval (0, 1)")


def check_confidence_array(name: str, value) -> np.ndarray:
    """Entries in (0, 1] (a confidence level delta)."""
    return check_array(name, value, lambda x: (x > 0) & (x <= 1), "in the interval (0, 1]")


def check_spectrum(name: str, value) -> np.ndarray:
    """An array (at least one entry) of finite non-negative eigenvalues."""
    array = check_array(name, value, lambda x: np.isfinite(x) & (x >= 0),
                        "non-negative and finite (a covariance spectrum)")
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array of at least one eigenvalue, got a scalar")
    return array
