"""Argument checks shared by the public functions of the kit, and where they run.

Every check raises ``ValueError`` (or ``TypeError`` for a wrong kind of object) with a message
that names the parameter and the allowed range. Checks run only on concrete values: inside
``jit``/``vmap`` the arguments are tracers and the caller has already been checked.

Validation once (as scikit-learn does). A public function of the kit is marked with
:func:`entry_point`. When a reader calls it, its checks run; when another entry point calls it
(an experiment calling :func:`srlm_kit.dynamics.run`, say), the caller has already checked what
it was given, so the nested call trusts its arguments: each *checker* (a function marked with
:func:`checker`, such as every ``check_*`` here) then only converts its value, exactly as it
would have after a successful check, and checks nothing. Code that is not an entry point runs
its checks at the level of its caller.

The contract this puts on an entry point: it checks every argument it accepts, and any value it
computes and passes on that a nested entry point would have rejected. :func:`audit_nested`
(or the environment variable ``SRLM_KIT_AUDIT_NESTED=1``, which the project's tests and book
build set) runs the nested checks too and raises :class:`NestedCheckFailed` when one fails: that
is an entry point breaking the contract, a bad value that would otherwise pass unchecked.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import functools
import math
import numbers
import os
from collections.abc import Callable, Iterator, Mapping

import jax
import numpy as np

#: The entry points being executed, outermost first (their qualified names).
_ENTRIES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar(
    "srlm_kit_entries", default=())
_AUDIT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "srlm_kit_audit_nested", default=os.environ.get("SRLM_KIT_AUDIT_NESTED", "") == "1")
_COUNTS: contextvars.ContextVar[collections.Counter | None] = contextvars.ContextVar(
    "srlm_kit_check_counts", default=None)


class NestedCheckFailed(AssertionError):
    """A check failed inside a nested entry point: the outer entry point accepted a value it
    should have rejected (only raised under :func:`audit_nested`)."""


def entry_point(function: Callable) -> Callable:
    """Mark ``function`` as a public entry point: its checks run when it is called from outside
    the kit's entry points, and are skipped when another entry point calls it."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        token = _ENTRIES.set(_ENTRIES.get() + (name,))
        try:
            return function(*args, **kwargs)
        finally:
            _ENTRIES.reset(token)

    return wrapper


def nested() -> bool:
    """True inside an entry point called by another entry point (its arguments are trusted)."""
    return len(_ENTRIES.get()) > 1


def checker(trusted: Callable) -> Callable[[Callable], Callable]:
    """Mark a function that checks and converts its arguments. In a nested entry point it is
    replaced by ``trusted`` (same arguments), which must return what the check returns for a
    valid value, without checking."""

    def decorate(check: Callable) -> Callable:
        name = f"{check.__module__}.{check.__qualname__}"

        @functools.wraps(check)
        def wrapper(*args, **kwargs):
            if nested():
                if not _AUDIT.get():
                    return trusted(*args, **kwargs)
                try:
                    return _counted(name, check, args, kwargs)
                except (TypeError, ValueError) as error:
                    outer, inner = _ENTRIES.get()[0], _ENTRIES.get()[-1]
                    raise NestedCheckFailed(
                        f"{outer} passed {inner} a value its check rejects ({error}); "
                        f"{outer} must check it itself") from error
            return _counted(name, check, args, kwargs)

        wrapper.trusted = trusted
        return wrapper

    return decorate


def _counted(name: str, check: Callable, args, kwargs):
    counts = _COUNTS.get()
    if counts is not None:
        counts[name] += 1
    return check(*args, **kwargs)


@contextlib.contextmanager
def audit_nested(enabled: bool = True) -> Iterator[None]:
    """Within this block, nested entry points run their checks as well, and a failing one
    raises :class:`NestedCheckFailed` (``enabled=False``: skip them, as by default)."""
    token = _AUDIT.set(enabled)
    try:
        yield
    finally:
        _AUDIT.reset(token)


@contextlib.contextmanager
def counting_checks() -> Iterator[collections.Counter]:
    """Count, by qualified name, the checkers whose checks run within this block."""
    counts: collections.Counter = collections.Counter()
    token = _COUNTS.set(counts)
    try:
        yield counts
    finally:
        _COUNTS.reset(token)


def is_concrete(value) -> bool:
    """True when ``value`` holds data (not a JAX tracer), so it can be checked in Python."""
    leaves = jax.tree_util.tree_leaves(value)
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in leaves)


def _trusted_float(name: str, value, *args, **kwargs) -> float:
    return float(np.asarray(value))


def _trusted_int(name: str, value, *args, **kwargs) -> int:
    return int(np.asarray(value))


def _trusted_array(name: str, value, *args, **kwargs) -> np.ndarray:
    return np.asarray(value)


def _trusted_float_array(name: str, value, *args, **kwargs) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _trusted_int_list(name: str, values, *args, **kwargs) -> list[int]:
    return [int(value) for value in np.atleast_1d(np.asarray(values))]


def _trusted_float_list(name: str, values, *args, **kwargs) -> list[float]:
    return [float(value) for value in np.atleast_1d(np.asarray(values, dtype=float))]


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real | np.ndarray | jax.Array):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    array = np.asarray(value)
    if array.ndim != 0:
        raise TypeError(f"{name} must be a scalar, got an array of shape {array.shape}")
    return float(array)


@checker(_trusted_int)
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


@checker(_trusted_int)
def check_seed(name: str, value) -> int:
    """A PRNG seed: an integer in [0, 2**63 - 1]."""
    return check_int(name, value, 0, MAX_SEED)


@checker(_trusted_float)
def check_positive(name: str, value) -> float:
    """A finite real number > 0."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {number}")
    return number


@checker(_trusted_float)
def check_at_least(name: str, value, low: float) -> float:
    """A finite real number >= ``low``."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number < low:
        raise ValueError(f"{name} must be a finite number >= {low:g}, got {number}")
    return number


@checker(_trusted_float)
def check_open_interval(name: str, value, low: float, high: float) -> float:
    """A real number in the open interval (low, high)."""
    number = _as_float(name, value)
    if not (low < number < high):
        raise ValueError(f"{name} must lie in the open interval ({low}, {high}), got {number}")
    return number


@checker(_trusted_float)
def check_interval(name: str, value, low: float, high: float) -> float:
    """A real number in the closed interval [low, high]."""
    number = _as_float(name, value)
    if not (low <= number <= high):
        raise ValueError(f"{name} must lie in [{low}, {high}], got {number}")
    return number


@checker(_trusted_array)
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


@checker(_trusted_array)
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


@checker(_trusted_array)
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


@checker(_trusted_int_list)
def check_increasing_ints(name: str, values, minimum: int = 1, maximum: int | None = None
                          ) -> list[int]:
    """A non-empty, strictly increasing list of integers, each in ``[minimum, maximum]``."""
    array = np.atleast_1d(np.asarray(values))
    if array.ndim != 1 or array.size == 0 or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must be a non-empty list of integers, got {values!r}")
    upper = "" if maximum is None else f" and <= {maximum}"
    if (np.any(array < minimum) or np.any(np.diff(array) <= 0)
            or (maximum is not None and np.any(array > maximum))):
        raise ValueError(f"{name} must be strictly increasing integers >= {minimum}{upper}, "
                         f"got {array.tolist()}")
    return [int(value) for value in array]


@checker(lambda sizes, maximum: None)
def check_entries(sizes: Mapping[str, int], maximum: int) -> None:
    """The sizes that shape one array (already checked integers, named by the parameters they
    come from) make at most ``maximum`` entries: their product is bounded so that a large
    request is reported, not attempted."""
    if math.prod(sizes.values()) > maximum:
        raise ValueError(" times ".join(sizes) + f" must be at most {maximum:.0e}, got "
                         + " x ".join(str(size) for size in sizes.values()))


@checker(_trusted_float_list)
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


def _trusted_bool(name: str, value) -> bool:
    return bool(value)


@checker(_trusted_bool)
def check_bool(name: str, value) -> bool:
    """``True`` or ``False`` (a NumPy boolean too)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


@checker(_trusted_float)
def check_non_negative(name: str, value) -> float:
    """A finite real number >= 0."""
    number = _as_float(name, value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {number}")
    return number


@checker(_trusted_float_list)
def check_numbers(name: str, values, low: float, high: float = math.inf, *,
                  open_low: bool = False, open_high: bool = False) -> list[float]:
    """A non-empty list of finite numbers, in any order, each in ``[low, high]`` (an end is
    left out with ``open_low``/``open_high``)."""
    if values is None or isinstance(values, str | bytes):
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}")
    try:
        array = np.atleast_1d(np.asarray(values, dtype=float))
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}") from None
    if array.ndim != 1:
        raise TypeError(f"{name} must be a non-empty list of numbers, got {values!r}")
    if array.size == 0:
        raise ValueError(f"{name} must list at least one number, got none")
    above = array > low if open_low else array >= low
    below = array < high if open_high else array <= high
    if not np.all(np.isfinite(array) & above & below):
        interval = (f"{'(' if open_low else '['}{low}, {high}"
                    f"{')' if open_high or not math.isfinite(high) else ']'}")
        raise ValueError(f"{name} must be finite numbers in {interval}, got {array.tolist()}")
    return [float(value) for value in array]


# Element-wise checks for functions that broadcast over arrays (the bounds): a scalar or an array
# of any shape, every entry in the allowed range; the message quotes the first bad entry.


@checker(_trusted_float_array)
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


@checker(_trusted_float_array)
def check_positive_array(name: str, value) -> np.ndarray:
    """Entries finite and > 0."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x > 0), "a finite number > 0")


@checker(_trusted_float_array)
def check_non_negative_array(name: str, value) -> np.ndarray:
    """Entries finite and >= 0."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x >= 0),
                       "a finite number >= 0")


@checker(_trusted_float_array)
def check_array_at_least(name: str, value, low: float) -> np.ndarray:
    """Entries finite and >= ``low``."""
    return check_array(name, value, lambda x: np.isfinite(x) & (x >= low),
                       f"a finite number >= {low}")


@checker(_trusted_float_array)
def check_open_unit_array(name: str, value) -> np.ndarray:
    """Entries in the open interval (0, 1)."""
    return check_array(name, value, lambda x: (x > 0) & (x < 1), "in the open interval (0, 1)")


@checker(_trusted_float_array)
def check_confidence_array(name: str, value) -> np.ndarray:
    """Entries in (0, 1] (a confidence level delta)."""
    return check_array(name, value, lambda x: (x > 0) & (x <= 1), "in the interval (0, 1]")


@checker(_trusted_float_array)
def check_spectrum(name: str, value) -> np.ndarray:
    """An array (at least one entry) of finite non-negative eigenvalues."""
    array = check_array(name, value, lambda x: np.isfinite(x) & (x >= 0),
                        "non-negative and finite (a covariance spectrum)")
    if array.ndim == 0:
        raise ValueError(f"{name} must be an array of at least one eigenvalue, got a scalar")
    return array
