"""The command line: JSON contents equal the kit's run, bad input exits 2 with a named message."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import jax
import numpy as np
import pytest
import xarray as xr

from srlm_kit import cli, dynamics, instances


def run_cli(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "srlm_kit", *arguments], capture_output=True,
                          text=True)


def test_simulate_json_equals_the_kit_in_process():
    arguments = ["simulate", "--n", "40", "--T", "3", "--beta", "0.5", "--prompts", "12",
                 "--responses", "5", "--init", "random:0.9", "--seeds", "4", "--seed", "7",
                 "--json"]
    completed = run_cli(*arguments)
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    for name in ("kappa", "failure", "kappa_std", "failure_std"):
        assert len(result[name]) == 4
    key_instance, key_run = jax.random.split(jax.random.key(7))
    start = instances.random_logits(key_instance, 12, 5, 0.9)
    trajectory = dynamics.run(key_run, start, n=40, T=3, beta=0.5, seeds=4)
    np.testing.assert_allclose(result["kappa"], np.asarray(trajectory.kappa).mean(axis=0),
                               rtol=1e-12)
    np.testing.assert_allclose(result["failure_std"], np.asarray(trajectory.failure).std(axis=0),
                               atol=1e-12)


def test_simulate_table_is_readable():
    completed = run_cli("simulate", "--n", "20", "--T", "2", "--beta", "1", "--prompts", "6",
                        "--responses", "4", "--seeds", "2")
    assert completed.returncode == 0
    lines = completed.stdout.strip().splitlines()
    assert lines[1].split()[:3] == ["round", "kappa", "±"]
    assert [line.split()[0] for line in lines[2:]] == ["0", "1", "2"]


@pytest.mark.parametrize(("arguments", "message"), [
    (["--n", "0", "--T", "2", "--beta", "1"], "--n must be an integer at least 1"),
    (["--n", "5", "--T", "-1", "--beta", "1"],
     "--T must be an integer at least 0"),
    (["--n", "5", "--T", "2", "--beta", "0"], "--beta must be a finite number > 0"),
    (["--n", "5", "--T", "2", "--beta", "1", "--init", "gauss"], "init must be one of"),
    (["--n", "5", "--T", "2", "--beta", "1", "--threshold", "1.5"], "--threshold must lie in"),
    (["--n", "5", "--T", "2", "--beta", "1", "--prompts", "0"], "--prompts must be an integer"),
    (["--n", "five", "--T", "2", "--beta", "1"], "invalid int value"),
])
def test_bad_input_exits_2_with_a_named_message_and_no_traceback(arguments, message):
    completed = run_cli("simulate", *arguments)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_help_explains_every_option():
    completed = run_cli("simulate", "--help")
    assert completed.returncode == 0
    for option in ("--n", "--T", "--beta", "--prompts", "--responses", "--init", "--seeds",
                   "--seed", "--json", "--update", "--threshold", "hard:DELTA"):
        assert option in completed.stdout


def test_unknown_experiment_is_a_named_error(capsys):
    assert cli.main(["experiment", "no-such-figure"]) == 2
    assert "experiment name must be one of" in capsys.readouterr().err


def test_experiment_prints_the_dataset_as_strict_json(capsys):
    """xarray's dictionary form: coords, data_vars (dims and nested data), dims and attrs, with
    NaN as null; ``xarray.Dataset.from_dict`` reads it back."""
    from srlm_kit.experiments import EXPERIMENTS

    arguments = {"kappa0s": [2.0, 4.0], "log_class_sizes": [1.0], "n_values": [10, 1000]}
    overrides = [part for name, value in arguments.items()
                 for part in ("--set", f"{name}={json.dumps(value)}")]
    assert cli.main(["experiment", "lower_bound_forms", "--json", *overrides]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == {"coords", "attrs", "dims", "data_vars"}
    assert printed["dims"] == {"kappa0": 2, "log_class_size": 1, "n": 2}
    assert printed["attrs"]["experiment"] == "lower_bound_forms"
    assert printed["attrs"]["arguments"] == arguments
    result = EXPERIMENTS["lower_bound_forms"](**arguments)
    for name, variable in result.data_vars.items():
        shown = printed["data_vars"][name]
        assert shown["dims"] == list(variable.dims)
        expected = variable.values
        values = np.asarray(shown["data"], dtype=float)  # null -> NaN
        np.testing.assert_array_equal(values, expected)
        # a NaN in the Dataset (an equation without solution) is a null in the JSON
        assert (np.isnan(expected).any()
                == any(value is None for row in shown["data"] for column in row
                       for value in column))
    back = xr.Dataset.from_dict(printed)
    assert back["n"].values.tolist() == [10, 1000]


def test_strict_json_turns_every_non_finite_number_into_null():
    result = xr.Dataset({"x": (["t"], [1.0, math.nan, math.inf])}, coords={"t": [0, 1, 2]},
                        attrs={"bound": -math.inf, "settings": {"beta": np.float64(0.5)}})
    converted = cli.dataset_json(result)
    assert converted["data_vars"]["x"]["data"] == [1.0, None, None]
    assert converted["attrs"] == {"bound": None, "settings": {"beta": 0.5}}
    json.dumps(converted, allow_nan=False)
