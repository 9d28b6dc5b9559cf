"""Speed of the kit's simulation, measured against NumPy in one run on one machine.

Prints a Markdown report (copy it into benchmarks/README.md with the machine description):

(a) a figure-sized grid, 64 seeds x 8 values of n x 5 initialisations, T = 10, m = 200, K = 50,
    with ``dynamics.run_grid`` against two NumPy implementations of the same work: the
    straightforward loop of ``tests/reference_numpy.py`` (Python union-find per prompt) and a
    vectorised NumPy + SciPy loop (``scipy.sparse.csgraph.connected_components``). The NumPy
    loops are timed on a subset of the seeds and scaled linearly to 64 seeds: every run is
    independent and has the same expected cost, and the full loops would take hours;
(b) the latency of one live-update-sized call (T = 20, 64 seeds) after warm-up, at the issue's
    size (m = 200, K = 50) and as the widget explorer runs it (its default m = 20, K = 10,
    n up to 10^4, T up to 20, 64 seeds; one slider move = one ``Explorer.compute``);
(c) the number of compilations over a sweep of slider values (target: 0).

Usage: ``python benchmarks/bench_kit.py [--quick] [--write]``; ``--write`` records the report
in ``benchmarks/README.md`` (section Kit), replacing the earlier one.
"""

from __future__ import annotations

import argparse
import math
import pathlib
import sys
import time

import jax
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

import reference_numpy as ref  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import record  # noqa: E402

from srlm_kit import dynamics, instances, widgets  # noqa: E402

PROMPTS, RESPONSES, ROUNDS, BETA = 200, 50, 10, 0.5


def grid_starts() -> list[instances.TabularInstance]:
    """Five initialisations sweeping kappa_0: three bumps and two random temperatures."""
    starts = [instances.bump(PROMPTS, RESPONSES, height) for height in (0.5, 1.0, 2.0)]
    starts += [instances.random_logits(jax.random.key(seed), PROMPTS, RESPONSES, temperature)
               for seed, temperature in ((1, 1.0), (2, 3.0))]
    return starts


def vectorised_erm_update(logits, x, y, y_prime, beta):
    """One tabular ERM step in NumPy + SciPy: components of the pair graph, then component means."""
    theta = ref.log_softmax(logits).reshape(-1)
    nodes = theta.size
    graph = coo_matrix((np.ones(len(x)), (x * RESPONSES + y, x * RESPONSES + y_prime)),
                       shape=(nodes, nodes))
    _, labels = connected_components(graph, directed=False)
    sums = np.bincount(labels, weights=theta)
    counts = np.bincount(labels)
    return ref.log_softmax((theta + (theta - sums[labels] / counts[labels]) / beta)
                           .reshape(logits.shape))


def numpy_grid(starts, n_values, seeds, update) -> float:
    """Seconds for the grid with a NumPy update function; returns the elapsed time."""
    began = time.perf_counter()
    for start in starts:
        rho = np.asarray(start.rho)
        for n in n_values:
            for seed in range(seeds):
                rng = np.random.default_rng(seed)
                logits = ref.log_softmax(np.asarray(start.logits))
                kappa = [ref.condition_number(logits, rho)]
                for _ in range(ROUNDS):
                    x, y, y_prime = ref.sample_numpy(rng, logits, rho, n)
                    logits = update(logits, x, y, y_prime, BETA)
                    kappa.append(ref.condition_number(logits, rho))
                    ref.failure_probability(logits, rho)
    return time.perf_counter() - began


def kit_grid(starts, n_values, seeds) -> tuple[float, float]:
    """(compile + first run, warm run) seconds for dynamics.run_grid."""
    stacked = instances.stack(starts)
    timings = []
    for repeat in range(2):
        began = time.perf_counter()
        grid = dynamics.run_grid(jax.random.key(repeat), stacked, n_values, [BETA], T=ROUNDS,
                                 seeds=seeds)
        grid.kappa.block_until_ready()
        timings.append(time.perf_counter() - began)
    return timings[0], timings[1]


def live_latency(n: int, repeats: int = 3) -> float:
    """Median seconds of one live update (T = 20, 64 seeds) at n, after warm-up."""
    start = instances.bump(PROMPTS, RESPONSES, math.log(2))
    times = []
    for repeat in range(repeats + 1):
        began = time.perf_counter()
        trajectory = dynamics.run(jax.random.key(repeat), start, n=n, T=20, beta=BETA,
                                  seeds=64)
        trajectory.kappa.block_until_ready()
        times.append(time.perf_counter() - began)
    return float(np.median(times[1:]))


def random_number_floor(n: int = 10_000, repeats: int = 3) -> float:
    """Median seconds to draw only the uniforms of one live update: 3 per triple (x, y, y'),
    ``n`` triples, 20 rounds, 64 seeds, with JAX's default (threefry) generator.

    Any implementation that draws every triple pays at least this, whatever it does next.
    """
    keys = jax.random.split(jax.random.key(0), 64 * 20)
    draw = jax.jit(jax.vmap(lambda key: jax.random.uniform(key, (3, n))))
    draw(keys).block_until_ready()
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        draw(keys).block_until_ready()
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def explorer_latency(repeats: int = 3) -> list[tuple[dict, float]]:
    """Median seconds of ``Explorer.compute`` (one slider move) at the corners of the sliders."""
    explorer = widgets.Explorer()
    settings = [dict(n=n, T=T, kappa0=2.0, beta=0.5, seeds=64)
                for n in (10, 10_000) for T in (1, 20)]
    explorer.compute(**settings[0])  # warm-up: the one compilation
    results = []
    for setting in settings:
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            explorer.compute(**setting)
            times.append(time.perf_counter() - began)
        results.append((setting, float(np.median(times))))
    return results


def recompilations_over_a_sweep() -> tuple[int, int]:
    """(calls, new compilations) over random (n, T, beta, initialisation) at one shape, the
    engine's for n = 1000 and T = 20, as a live explorer asks for it."""
    starts = grid_starts()
    shape = dynamics.padded_shape(1000, 20)
    dynamics.run(jax.random.key(0), starts[0], n=10, T=1, beta=0.5, seeds=8, shape=shape)
    before = dynamics.compile_count()
    rng = np.random.default_rng(0)
    calls = 40
    for _ in range(calls):
        dynamics.run(jax.random.key(int(rng.integers(10**6))), starts[int(rng.integers(5))],
                     n=int(rng.integers(1, 1001)), T=int(rng.integers(0, 21)),
                     beta=float(10 ** rng.uniform(-2, 1)), seeds=8, shape=shape)
    return calls, dynamics.compile_count() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--write", action="store_true",
                        help="record the report in benchmarks/README.md (section Kit)")
    arguments = parser.parse_args()
    seeds = 8 if arguments.quick else 64
    n_values = [100 * 2**k for k in range(4 if arguments.quick else 8)]
    starts = grid_starts()

    first, warm = kit_grid(starts, n_values, seeds)
    loop_seeds, fast_seeds = 1, 4
    straightforward = numpy_grid(starts[:1], n_values, loop_seeds, ref.erm_update)
    straightforward *= len(starts) * seeds / loop_seeds
    vectorised = numpy_grid(starts, n_values, fast_seeds, vectorised_erm_update)
    vectorised *= seeds / fast_seeds

    runs = len(starts) * len(n_values) * seeds
    lines = [f"Machine: {record.machine()}.", "",
             f"### (a) Grid: {seeds} seeds x {len(n_values)} n ({n_values[0]}..{n_values[-1]}) "
             f"x {len(starts)} initialisations, T = {ROUNDS}, m = {PROMPTS}, K = {RESPONSES} "
             f"({runs} runs)", "",
             "| implementation | seconds | kit is faster by |",
             "|---|---|---|",
             f"| kit, `run_grid` (first call, with compilation) | {first:.1f} | |",
             f"| kit, `run_grid` (warm) | {warm:.1f} | 1x |",
             f"| NumPy, straightforward loop (`tests/reference_numpy.py`; measured on "
             f"{loop_seeds} seed x 1 initialisation, scaled) | {straightforward:.0f} | "
             f"{straightforward / warm:.0f}x |",
             f"| NumPy + SciPy, vectorised per round (measured on {fast_seeds} seeds, scaled) | "
             f"{vectorised:.1f} | {vectorised / warm:.1f}x |"]

    lines += ["", "### (b) One live update: T = 20, 64 seeds, m = 200, K = 50 (median of 3, warm)",
              "", "| n | milliseconds |", "|---|---|"]
    for n in ([100, 1000] if arguments.quick else [100, 1000, 10_000]):
        lines.append(f"| {n} | {1000 * live_latency(n):.0f} |")
    lines.append(f"| floor: drawing the 3 uniforms per triple alone, n = 10000 | "
                 f"{1000 * random_number_floor():.0f} |")

    lines += ["", "### (b') One slider move of the widget explorer: `Explorer.compute` with its "
              "defaults (m = 20, K = 10, n up to 10^4, T up to 20, 64 seeds; median of 3, warm)",
              "", "| n | T | milliseconds |", "|---|---|---|"]
    for setting, seconds in explorer_latency():
        lines.append(f"| {setting['n']} | {setting['T']} | {1000 * seconds:.0f} |")

    calls, compiled = recompilations_over_a_sweep()
    lines += ["", f"### (c) Compilations over a sweep of {calls} random slider settings "
              f"(n, T, beta, initialisation; one shape, n up to 1000, T up to 20): "
              f"**{compiled}**"]
    text = "\n".join(lines)
    print(text)
    if arguments.write:
        record.write_block("kit-measurements", "Kit", text)


if __name__ == "__main__":
    main()
