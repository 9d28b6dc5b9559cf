"""Bad and extreme arguments at the public entry points (hypothesis).

The command line (in-process, through ``cli.main``) and a few public functions are fed random
arguments, most of them out of range, of the wrong kind, or at the edge of what a float or a
64-bit integer holds. Accepted outcomes: a result (for the command line exit status 0 and
finite numbers), or a clear error: ``ValueError``/``TypeError`` whose message names the
parameter (for the command line exit status 2 and one line on stderr naming it).
"""

from __future__ import annotations

import contextlib
import io
import json
import math

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from srlm_kit import bounds, cli, dynamics, instances

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

HUGE_INTEGERS = st.sampled_from([2**31, 2**63 - 1, 2**63, 2**64, 99999999999999999999,
                                 -(2**63), -99999999999999999999])
EXTREME_FLOATS = st.sampled_from([0.0, -0.0, -1.0, 1e-320, 1e-300, 1e-16, 1e300, 1.7e308,
                                  math.inf, -math.inf, math.nan])
JUNK = st.sampled_from(["", "x", "1e", "0x10", "--", "None", "[]", "1,2", "nan", "inf", "-inf",
                        " 3", "³"])


def integer_texts(low: int, high: int):
    """A valid small integer (as text) or a bad or extreme one."""
    return st.one_of(st.integers(low, high).map(str), st.integers(-5, low - 1).map(str),
                     HUGE_INTEGERS.map(str), EXTREME_FLOATS.map(repr), JUNK)


def float_texts(low: float, high: float):
    return st.one_of(st.floats(low, high).map(repr), EXTREME_FLOATS.map(repr),
                     HUGE_INTEGERS.map(str), JUNK)


def init_texts():
    number = st.one_of(st.floats(0.01, 3.0).map(repr), EXTREME_FLOATS.map(repr), JUNK)
    return st.one_of(
        st.just("uniform"), st.sampled_from(["uniform:1", "bump", "bump:", "random:", "hard:",
                                             "gauss", "hard:0.1,0.2,0.3", ":", ""]),
        number.map(lambda value: f"bump:{value}"), number.map(lambda value: f"random:{value}"),
        number.map(lambda value: f"hard:{value}"),
        st.tuples(number, number).map(lambda pair: f"hard:{pair[0]},{pair[1]}"))


#: Each option of ``simulate`` with the strategy for its text, and whether it must be given.
SIMULATE_OPTIONS = {
    "--n": integer_texts(1, 12), "--T": integer_texts(0, 3), "--beta": float_texts(0.05, 5.0),
    "--prompts": integer_texts(1, 6), "--responses": integer_texts(2, 6),
    "--init": init_texts(), "--seeds": integer_texts(1, 3), "--seed": integer_texts(0, 10**6),
    "--update": st.sampled_from(["erm", "population", "gradient", ""]),
    "--threshold": float_texts(0.01, 0.99),
}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def assert_named_error(status: int, stderr: str, names) -> None:
    """Exit status 2 and one line, prefixed like argparse's errors, naming a parameter."""
    assert status == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m srlm_kit"), stderr
    assert "Traceback" not in stderr
    assert any(name in lines[0] for name in names), stderr


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=SIMULATE_OPTIONS))
def test_simulate_gives_finite_numbers_or_a_one_line_error_naming_the_option(options):
    argv = ["simulate", "--json"]
    for name, text in options.items():
        argv.append(f"{name}={text}")
    status, stdout, stderr = run_main(argv)
    if status == 0:
        result = json.loads(stdout)
        for name in ("kappa", "failure", "mu", "gamma"):
            assert np.all(np.isfinite(result[name])), (name, result[name])
        return
    names = [*SIMULATE_OPTIONS, "--json", "required", "init", "argument"]
    assert_named_error(status, stderr, names)


def test_the_seed_that_overflowed_is_a_named_error():
    status, _, stderr = run_main(["simulate", "--n", "5", "--T", "2", "--beta", "1",
                                  "--seed", "99999999999999999999"])
    assert_named_error(status, stderr, ["--seed"])
    assert "2**63" in stderr or str(2**63 - 1) in stderr


def test_limits_are_reported_not_attempted():
    status, _, stderr = run_main(["simulate", "--n", "1000000", "--T", "1", "--beta", "1",
                                  "--seeds", "10000"])
    assert_named_error(status, stderr, ["--seeds"])


#: Overrides for a cheap experiment (exact, no sampling): good and bad values per key.
SHARPENING_SETTINGS = {
    "num_responses": st.one_of(st.integers(2, 5), st.integers(-3, 1), HUGE_INTEGERS,
                               st.just(2.5), st.just("x"), st.just([3])),
    "kappa0s": st.one_of(st.just([1.5, 2.0]), st.just([]), st.just([0.5]), st.just([100.0]),
                         st.just(["x"]), st.just("x"), st.just([[1.5]]), st.just(2.0)),
    "betas": st.one_of(st.just([0.5]), st.just([]), st.just([-1.0]), st.just([0.0]),
                       st.just(["x"]), st.just([1e-300]), st.just(0.5)),
    "T": st.one_of(st.integers(1, 3), st.integers(-3, 0), HUGE_INTEGERS, st.just(1.5),
                   st.just("x")),
    "colour": st.just("red"),
}


@SETTINGS
@given(st.fixed_dictionaries({}, optional=SHARPENING_SETTINGS))
# A draw that once found a size the experiment left to a nested check.
@example(overrides={"num_responses": 2**31})
def test_experiment_overrides_give_a_result_or_a_one_line_error_naming_the_key(overrides):
    # Keep the default run small where the draw left a size unset.
    settings_ = {"num_responses": 3, "kappa0s": [1.5], "betas": [0.5], "T": 2, **overrides}
    argv = ["experiment", "population_sharpening"]
    for name, value in settings_.items():
        argv += ["--set", f"{name}={json.dumps(value)}"]
    status, stdout, stderr = run_main(argv)
    if status == 0:
        assert "kappa" in json.loads(stdout)["data_vars"]
        return
    names = ["num_responses", "K (number of responses)", "kappa0", "beta", "T", "colour"]
    assert_named_error(status, stderr, names)


@pytest.mark.parametrize("argv", [
    ["experiment"], ["experiment", "no_such_experiment"], ["experiment", "--set", "x"],
    ["experiment", "population_sharpening", "--set", "=3"],
    ["experiment", "population_sharpening", "--set", "T=NaN"],
    ["experiment", "population_sharpening", "--set", "T=Infinity"],
    ["experiment", "population_sharpening", "--set", "T=1e999"],
    ["experiment", "population_sharpening", "--set", "seed=99999999999999999999"],
    ["unknown"], [], ["simulate"], ["simulate", "--n", "3"],
])
def test_malformed_command_lines_exit_2_on_one_line(argv):
    status, _, stderr = run_main(argv)
    assert status == 2
    assert len(stderr.strip().splitlines()) == 1, stderr


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------

BAD_NUMBERS = st.one_of(EXTREME_FLOATS, HUGE_INTEGERS, st.just(True), st.just("1"),
                        st.just(None), st.just([1.0, -1.0]), st.floats(-10, 10))


def assert_result_or_named_error(call, names) -> None:
    try:
        result = call()
    except (ValueError, TypeError) as error:
        assert any(name in str(error) for name in names), repr(error)
        return
    values = np.asarray(result, dtype=float)
    assert np.all(~np.isnan(values)), result


@SETTINGS
@given(n=BAD_NUMBERS, T=BAD_NUMBERS, kappa0=BAD_NUMBERS, delta=BAD_NUMBERS,
       gamma=BAD_NUMBERS, mu=BAD_NUMBERS)
def test_bounds_give_a_number_or_name_the_bad_argument(n, T, kappa0, delta, gamma, mu):
    assert_result_or_named_error(lambda: bounds.theorem_5_3_bound(
        n, T, log_class_size=3.0, delta=delta, gamma=gamma, mu=mu, kappa0=kappa0),
        ["n", "T", "kappa0", "delta", "gamma", "mu"])
    assert_result_or_named_error(lambda: bounds.theorem_4_1_lower_bound(n, kappa0, 2.0),
                                 ["n", "kappa0", "log_class_size"])
    assert_result_or_named_error(lambda: bounds.effective_dimension([1.0, 0.5, 0.1], mu),
                                 ["ridge", "eigenvalues"])


@SETTINGS
@given(m=st.one_of(st.integers(1, 4), st.integers(-2, 0), HUGE_INTEGERS, st.just(2.0),
                   st.just("3")),
       num_responses=st.one_of(st.integers(2, 4), st.integers(-2, 1), HUGE_INTEGERS,
                               st.just(None)),
       height=BAD_NUMBERS)
def test_instance_builders_build_or_name_the_bad_argument(m, num_responses, height):
    names = ["m", "prompts", "K", "responses", "height", "bump", "b "]
    for build in (lambda: instances.bump(m, num_responses, height),
                  lambda: instances.uniform(m, num_responses)):
        try:
            start = build()
        except (ValueError, TypeError) as error:
            assert any(name in str(error) for name in names), repr(error)
            continue
        assert np.all(np.isfinite(np.asarray(start.logits)) | (np.asarray(start.logits) < 0))


@pytest.fixture(scope="module")
def small_start():
    return instances.bump(3, 4, 0.5)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.one_of(st.integers(1, 6), st.integers(-3, 0), HUGE_INTEGERS, st.just(2.5)),
       T=st.one_of(st.integers(0, 2), st.integers(-3, -1), HUGE_INTEGERS, st.just(1.0)),
       beta=BAD_NUMBERS, seeds=st.one_of(st.integers(1, 2), st.integers(-2, 0), st.just(1.5)),
       threshold=st.one_of(st.just(0.5), EXTREME_FLOATS))
def test_run_gives_finite_metrics_or_names_the_bad_argument(small_start, n, T, beta, seeds,
                                                            threshold):
    names = ["n", "T", "beta", "seeds", "threshold"]
    try:
        trajectory = dynamics.run(jax.random.key(0), small_start, n=n, T=T, beta=beta,
                                  seeds=seeds, threshold=threshold)
    except (ValueError, TypeError) as error:
        assert any(name in str(error) for name in names), repr(error)
        return
    for name in ("kappa", "failure", "mu", "gamma"):
        assert np.all(np.isfinite(np.asarray(getattr(trajectory, name)))), name
