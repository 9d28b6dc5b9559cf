"""Kernel time of one slider move of the live explorer (``srlm_kit.widgets.Explorer``).

Usage: ``python benchmarks/bench_explorer.py``. For the widget's own defaults and for chapter
5's configuration, every slider is swept over its range with the others at their defaults (one
``Explorer.compute`` per position, warm); the median over all these moves is reported, with the
slowest move, for the explorer's defaults (``rbg`` key, 8 seeds) and, for comparison, JAX's
default ``threefry`` key with 64 seeds (what a slider move cost before). One run, one machine:
compare the rows with each other, not with another machine's.
"""

from __future__ import annotations

import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402

from srlm_kit.widgets import Explorer  # noqa: E402

CONFIGURATIONS = {
    "widget defaults (m = 20, K = 10, n up to 10^4, T up to 20)": {},
    "chapter 5 (m = 100, K = 50, n up to 3200, T up to 12)": {
        "num_prompts": 100, "num_responses": 50, "n_values": (100, 200, 400, 800, 1600, 3200),
        "betas": (0.02, 0.05, 0.1, 0.5), "T_max": 12, "seeds_max": 64,
        "kappa0_range": (2.0, 30.0)},
}


def sweep(explorer: Explorer, seeds: int) -> list[float]:
    """Milliseconds of one compute per slider position, each slider over its range."""
    defaults = {**explorer.settings(), "seeds": seeds}
    explorer.compute(**defaults)  # warm-up: the one compilation
    positions = ([("n", value) for _, value in explorer.n.options]
                 + [("T", value) for value in range(explorer.T.min, explorer.T.max + 1)]
                 + [("kappa0", explorer.kappa0.min), ("kappa0", explorer.kappa0.max)]
                 + [("beta", value) for _, value in explorer.beta.options])
    times = []
    for name, value in positions:
        began = time.perf_counter()
        explorer.compute(**{**defaults, name: value})
        times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    print(f"JAX {jax.__version__}, {os.cpu_count()} cores\n")
    print("| configuration | key, seeds | median ms | slowest ms |\n|---|---|---|---|")
    for label, options in CONFIGURATIONS.items():
        for key_name, key, seeds in (("rbg, 8 (default)", None, 8),
                                     ("threefry, 64", jax.random.key(0), 64)):
            explorer = Explorer(**options, key=key, seeds_max=64) if "seeds_max" not in options \
                else Explorer(**options, key=key)
            times = sweep(explorer, seeds)
            print(f"| {label} | {key_name} | {statistics.median(times):.0f} | "
                  f"{max(times):.0f} |", flush=True)


if __name__ == "__main__":
    main()
