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
    (check.check_at_least, ("beta", np.float64(1e-6), 1e-6)),
    (check.check_at_least, ("beta", 2, 1e-6)),
    (check.check_open_interval, ("threshold", 0.5, 0.0, 1.0)),
    (check.check_interval, ("level", 1, 0.0, 1.0)),
    (check.check_finite_array, ("logits", [[0.0, 1.5]], 2)),
    (check.check_finite_array, ("logits", jnp.zeros((2, 3)))),
    (check.check_distribution, ("weights", [0.25, 0.75], 2)),
    (check.check_index_array, ("target", np.array([0, 2]), 2, 3)),
    (check.check_increasing_ints, ("n_values", np.array([1, 10]))),
    (check.check_increasing_ints, ("tied", 3, 2)),
    (check.check_increasing_ints, ("dimensions", [1, 10], 1, 10)),
    (check.check_entries, ({"m": 2, "K": np.int64(3)}, 6)),
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


def bad_values(parameter: str, default) -> list:
    """Values no parameter with this default accepts. Every size has an upper limit: 2**31
    (beyond every limit, and the first integer a 32-bit index cannot hold) is too large for
    any size, 10**20 (beyond 64 bits) for any integer, a seed included. Every number is finite
    and none may be negative."""
    if isinstance(default, bool):
        return ["yes", 2]
    if isinstance(default, int):
        return [-7, 2.5, "x", 10**20] + ([] if parameter == "seed" else [2**31])
    if isinstance(default, float):
        return [math.nan, math.inf, -1e300, "x"]
    if isinstance(default, tuple):
        sizes = all(isinstance(value, int) and not isinstance(value, bool) for value in default)
        return ([(), ("x",), (math.nan,) * len(default), (math.inf,) * len(default)]
                + ([(2**31,)] if sizes else []))
    raise AssertionError(f"no bad values for a default of type {type(default).__name__}")


CASES = [(spec.name, parameter, bad)
         for spec in registry.SPECS
         for parameter, default in spec.defaults.items()
         for bad in bad_values(parameter, default)]


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


# --------------------------------------------------------------------------------------------
# Sizes that are each allowed but do not fit together
# --------------------------------------------------------------------------------------------

#: (experiment, arguments each within its own range, the words the message must contain): the
#: experiment checks the relation itself, before any work, rather than leaving it to the
#: instance or the engine it calls (with the audit on, that would fail as NestedCheckFailed).
RELATION_CASES = [
    ("self_versus_frozen_reward", {"num_prompts": 10**5, "num_responses": 10**4},
     ["num_prompts", "num_responses"]),
    ("population_sharpening", {"num_responses": 2 * 10**8}, ["num_responses"]),
    ("linear_dimension_sweep", {"num_prompts": 1000, "num_responses": 100,
                                "dimensions": (10, 2000)}, ["num_prompts", "dimensions"]),
    ("condition_number_family", {"num_prompts": 10**6, "num_responses": (2, 500)},
     ["num_prompts", "num_responses"]),
    ("margin_collapse", {"num_responses": 20, "tied": (2, 20)}, ["tied"]),
    ("rounds_versus_pooling", {"k": 10**5, "M": 10**4}, ["k", "M"]),
    ("greedy_trap_sequences", {"vocabulary": 10, "length": 9}, ["vocabulary", "length"]),
    ("greedy_trap_sequences", {"length": 1}, ["length"]),
    ("greedy_trap_sequences", {"vocabulary": 2, "length": 2, "samples": 6 * 10**7},
     ["samples", "vocabulary"]),
    ("greedy_versus_mode", {"vocabulary": 3, "length": 4, "models": 2 * 10**6},
     ["models", "vocabulary"]),
    ("single_step_failure", {"kappa0s": (1e300,), "calibration": (1e300, 1600)}, ["kappa0s"]),
    ("single_step_failure", {"k": 2 * 10**7, "kappa0s": (2.0,), "n_values": (10**7,),
                             "calibration": (2.0, 10**7), "prototype": False}, ["k", "M"]),
    ("single_step_failure", {"calibration": (3.0, 1601)}, ["calibration"]),
    ("iterative_bound_grid", {"calibration": (25.5, 100)}, ["calibration"]),
    ("iterative_bound_grid", {"calibration": (25.5, 100, 1.5)}, ["calibration"]),
    ("small_transformer_loop", {"pooled_n": 10**6, "n_values": (10**6,), "T": 20,
                                "pooled_rounds": (1, 20)}, ["pooled_n", "pooled_rounds"]),
]


@pytest.mark.parametrize("name, arguments, words", RELATION_CASES,
                         ids=[f"{name}-{'-'.join(arguments)}" for name, arguments, _
                              in RELATION_CASES])
def test_sizes_that_do_not_fit_together_are_rejected_naming_them(name, arguments, words):
    function = registry.EXPERIMENTS[name].spec.function
    with pytest.raises(ValueError) as raised:
        function(**arguments)
    message = str(raised.value)
    for word in words:
        assert re.search(rf"(?<![\w.]){re.escape(word)}(?!\w)", message), (word, message)


def test_an_instance_too_large_for_memory_is_rejected_before_it_is_built():
    """Each size is allowed; the array they shape is not (a direct call, no experiment)."""
    with pytest.raises(ValueError, match=r"m \(number of prompts\) times K .* times d"):
        instances.random_unit_features(jax.random.key(0), 1000, 1000, 1000)
    with pytest.raises(ValueError, match=r"k \(number of informative prompts\) \+ 1 times M"):
        instances.hard_instance(jax.random.key(0), 10**5, 10**4, 0.5)
    with pytest.raises(ValueError, match=r"V \(vocabulary size\) to the power L"):
        instances.autoregressive_constant_top(2, 10**9, 0.9)
    with pytest.raises(ValueError, match=r"K \(number of responses\)"):
        instances.near_tie(10**5, 10**4, 2, 0.1)
    with pytest.raises(ValueError, match="num_samples times V"):
        instances.sample_sequences(jax.random.key(0),
                                   instances.autoregressive_constant_top(2, 3, 0.9), 10**9)
