"""Validation once: a public entry point checks its arguments; an entry point called by another
one trusts them (``srlm_kit._validation``: ``entry_point``, ``checker``, ``audit_nested``).

The tests run with ``SRLM_KIT_AUDIT_NESTED=1`` (set in ``conftest.py``), so every nested check
still runs there and a failing one is an error; the tests here that look at what a reader gets
switch the audit off, as it is by default.
"""

from __future__ import annotations

import math
import re
from unittest import mock

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances
from srlm_kit.experiments import registry

# --------------------------------------------------------------------------------------------
# A trusted check converts exactly as the check does
# --------------------------------------------------------------------------------------------

#: Valid arguments for every check, in the forms callers pass (Python, NumPy and JAX values).
VALID_CALLS = [
    (check.check_int, ("T", 3, 0)),
    (check.check_int, ("T", np.int64(3), 0, 10)),
    (check.check_int, ("T", jnp.asarray(3), 0)),
    (check.check_seed, ("seed", 2**63 - 1)),
    (check.check_positive, ("beta", 0.5)),
    (check.check_positive, ("beta", 2)),
    (check.check_positive, ("beta", np.float32(0.25))),
    (check.check_open_interval, ("threshold", 0.5, 0.0, 1.0)),
    (check.check_interval, ("level", 1, 0.0, 1.0)),
    (check.check_finite_array, ("logits", [[0.0, 1.5]], 2)),
    (check.check_finite_array, ("logits", jnp.zeros((2, 3)))),
    (check.check_distribution, ("weights", [0.25, 0.75], 2)),
    (check.check_index_array, ("target", np.array([0, 2]), 2, 3)),
    (check.check_increasing_ints, ("n_values", np.array([1, 10]))),
    (check.check_increasing_ints, ("tied", 3, 2)),
    (check.check_increasing_floats, ("betas", (0.1, 2), 0.0)),
    (check.check_increasing_floats, ("noises", 0.5, 0.0)),
    (check.check_numbers, ("betas", (2, 0.5), 0.0)),
    (check.check_numbers, ("levels", np.array([0.1]), 0.0, 1.0)),
    (check.check_bool, ("prototype", np.bool_(True))),
    (check.check_non_negative, ("log_class_size", 0)),
    (check.check_array, ("x", [1, 2], lambda x: x > 0, "positive")),
    (check.check_positive_array, ("n", 100)),
    (check.check_non_negative_array, ("gamma", [0.0, 0.5])),
    (check.check_array_at_least, ("kappa0", [[1.0, 3.0]], 1.0)),
    (check.check_open_unit_array, ("mu", np.float32(0.5))),
    (check.check_confidence_array, ("delta", 1)),
    (check.check_spectrum, ("eigenvalues", (1.0, 0.5, 0.0))),
]


def test_every_check_has_a_trusted_form_and_a_case_here():
    checks = {value for name, value in vars(check).items()
              if name.startswith("check_") and callable(value)}
    assert all(callable(getattr(function, "trusted", None)) for function in checks)
    assert checks == {function for function, _ in VALID_CALLS}


@pytest.mark.parametrize("function, arguments", VALID_CALLS,
                         ids=[f"{f.__name__}-{i}" for i, (f, _) in enumerate(VALID_CALLS)])
def test_a_trusted_check_returns_what_the_check_returns(function, arguments):
    checked = function(*arguments)
    trusted = function.trusted(*arguments)
    assert type(trusted) is type(checked)
    if isinstance(checked, np.ndarray):
        assert trusted.dtype == checked.dtype and trusted.shape == checked.shape
        np.testing.assert_array_equal(trusted, checked)
    elif isinstance(checked, list):
        assert [type(item) for item in trusted] == [type(item) for item in checked]
        assert trusted == checked
    else:
        assert trusted == checked


# --------------------------------------------------------------------------------------------
# Where checks run
# --------------------------------------------------------------------------------------------

START = dict(m=2, num_responses=3, height=0.5)


@check.entry_point
def run_without_checking(n):
    """An entry point that forgets to check ``n`` and hands it to the engine."""
    return dynamics.run(jax.random.key(0), instances.bump(**START), n=n, T=2, beta=1.0)


def dynamics_checks(counts) -> dict:
    return {name: count for name, count in counts.items()
            if name.startswith("srlm_kit.dynamics.")}


def test_a_direct_call_runs_its_checks_once():
    with check.audit_nested(False), check.counting_checks() as counts:
        dynamics.run(jax.random.key(0), instances.bump(**START), n=5, T=2, beta=1.0)
    assert dynamics_checks(counts) == {
        f"srlm_kit.dynamics.{name}": 1
        for name in ("_check_common", "_check_n", "_check_shape", "_check_judge", "_check_key")}
    # The instance builder is an entry point of its own, called by the test: it checks too.
    assert counts["srlm_kit.instances._check_sizes"] == 1


def test_an_experiment_checks_its_arguments_and_the_engine_trusts_them():
    settings = dict(num_prompts=4, num_responses=5, kappa0=3.0, n_values=[4, 8], betas=[0.5],
                    T=2, seeds=2)
    spec = registry.EXPERIMENTS["self_versus_frozen_reward"]
    with (check.audit_nested(False), check.counting_checks() as counts,
          mock.patch.object(dynamics, "run", wraps=dynamics.run) as engine):
        trusted = spec(**settings)
    assert engine.call_count >= 1
    assert dynamics_checks(counts) == {}
    assert counts["srlm_kit._validation.check_int"] >= 2  # the experiment's own: T, seeds
    assert counts["srlm_kit._validation.check_increasing_ints"] == 1  # n_values
    with check.audit_nested(True):
        audited = spec(**settings)
    for name in trusted.data_vars:
        np.testing.assert_array_equal(trusted[name].values, audited[name].values)


def test_trusting_changes_no_number():
    with check.audit_nested(False):
        trusted = run_without_checking(6)
    direct = dynamics.run(jax.random.key(0), instances.bump(**START), n=6, T=2, beta=1.0)
    for name in ("kappa", "failure", "mu", "gamma"):
        np.testing.assert_array_equal(getattr(trusted, name), getattr(direct, name))


def test_the_audit_names_the_entry_point_that_let_a_bad_value_through():
    with check.audit_nested(True), pytest.raises(check.NestedCheckFailed) as raised:
        run_without_checking(0)
    message = str(raised.value)
    assert "run_without_checking" in message and "srlm_kit.dynamics.run" in message
    assert "n (triples per round) must be at least 1" in message


def test_a_function_outside_any_entry_point_checks_as_usual():
    assert not check.nested()
    with pytest.raises(ValueError, match="n \\(triples per round\\)"):
        dynamics.run(jax.random.key(0), instances.bump(**START), n=0, T=2, beta=1.0)


# --------------------------------------------------------------------------------------------
# Every registered experiment checks every argument itself
# --------------------------------------------------------------------------------------------


def bad_values(default) -> list:
    """Values no parameter with this default accepts."""
    if isinstance(default, bool):
        return ["yes", 2]
    if isinstance(default, int):
        return [-7, 2.5, "x"]
    if isinstance(default, float):
        return [math.nan, "x"]
    if isinstance(default, tuple):
        return [(), ("x",), (math.nan,) * len(default)]
    raise AssertionError(f"no bad values for a default of type {type(default).__name__}")


CASES = [(spec.name, parameter, bad)
         for spec in registry.SPECS
         for parameter, default in spec.defaults.items()
         for bad in bad_values(default)]


def names_for(parameter: str) -> list[str]:
    """How a message may name the parameter: itself, or one entry of a list (``kappa0s``)."""
    names = [parameter]
    if parameter.endswith("s") and len(parameter) > 2:
        names.append(parameter[:-1])  # kappa0s -> kappa0, noises -> noise
    if parameter.endswith("ses"):
        names.append(parameter[:-2])  # biases -> bias
    return names


@pytest.mark.parametrize("name, parameter, bad", CASES,
                         ids=[f"{n}-{p}-{b!r}" for n, p, b in CASES])
def test_an_experiment_rejects_a_bad_argument_naming_it(name, parameter, bad):
    """With the audit on, a bad value that only a nested entry point would have caught fails
    here as ``NestedCheckFailed``: without the audit it would pass unchecked."""
    function = registry.EXPERIMENTS[name].spec.function
    with pytest.raises((ValueError, TypeError)) as raised:
        function(**{parameter: bad})
    message = str(raised.value)
    assert any(re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", message)
               for word in names_for(parameter)), message
