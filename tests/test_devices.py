"""Several devices: the runner splits the seeds over every local device, with the same numbers.

JAX can pretend that one CPU is several devices (``--xla_force_host_platform_device_count``);
the flag must be set before JAX starts, so the four-device run happens in a fresh process and
its numbers are compared with the same runs in this (one-device) process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from srlm_kit import dynamics, instances

#: Runs with seed counts divisible by 4 and not, on a tabular and a linear instance, and a grid.
RUNS = """
import jax, numpy as np
from srlm_kit import dynamics, instances

def runs():
    start = instances.random_logits(jax.random.key(3), 6, 5, temperature=1.0)
    features = instances.random_unit_features(jax.random.key(1), 6, 4, 5)
    linear = instances.linear(features, 0.3 * np.ones(5))
    out = {}
    for seeds in (1, 3, 4, 6):
        run = dynamics.run(jax.random.key(4), start, n=9, T=3, beta=0.5, seeds=seeds,
                           keep_triples=True)
        out[f"tabular_{seeds}"] = [np.asarray(run.kappa), np.asarray(run.failure),
                                   np.asarray(run.triples.x)]
    run = dynamics.run(jax.random.key(6), linear, n=7, T=2, beta=0.5, seeds=5,
                       keep_parameters=True)
    out["linear_5"] = [np.asarray(run.kappa), np.asarray(run.parameters)]
    starts = instances.stack([instances.bump(6, 5, h) for h in (0.3, 0.9)])
    grid = dynamics.run_grid(jax.random.key(5), starts, [4, 9], [0.3, 2.0], T=3, seeds=5)
    out["grid_5"] = [np.asarray(grid.kappa), np.asarray(grid.gamma)]
    return {name: [value.tolist() for value in values] for name, values in out.items()}
"""


@pytest.mark.slow
def test_four_devices_give_the_numbers_of_one():
    namespace: dict = {}
    exec(RUNS, namespace)  # noqa: S102 - the same source runs in both processes
    assert jax.local_device_count() == 1
    one = namespace["runs"]()
    program = RUNS + ("\nimport json\nassert jax.local_device_count() == 4\n"
                      "print(json.dumps(runs()))\n")
    environment = os.environ | {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                               env=environment)
    assert completed.returncode == 0, completed.stderr
    four = json.loads(completed.stdout)
    assert set(four) == set(one)
    for name in one:
        for got, expected in zip(four[name], one[name], strict=True):
            got, expected = np.asarray(got), np.asarray(expected)
            assert got.shape == expected.shape, name
            # Integers (sampled triples) exactly; floats to rounding: a device's block of seeds
            # may be vectorised differently from the whole batch.
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14, err_msg=name)


def test_one_device_runs_the_seeds_without_padding():
    start = instances.bump(4, 3, 0.5)
    run = dynamics.run(jax.random.key(0), start, n=3, T=1, beta=1.0, seeds=3)
    assert np.asarray(run.kappa).shape == (3, 2)
