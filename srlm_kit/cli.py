"""Command line: reproduce the kit's numbers without a notebook.

``python -m srlm_kit simulate ...`` runs the self-rewarding iteration and prints kappa_t and the
failure probability per round (mean and standard deviation over seeds), as a table or as JSON.
``python -m srlm_kit experiment NAME ...`` prints the numbers behind a figure of the book: the
experiment's :class:`xarray.Dataset` as strict JSON (:func:`dataset_json`). Bad arguments print
one line naming the parameter and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

import jax
import numpy as np

from srlm_kit import _validation as check
from srlm_kit import dynamics, instances

#: Largest values the command line accepts. A run holds, per seed, the n sampled triples and the
#: prompts x responses table at once; the last limit keeps all seeds of a run within about 1 GB.
LIMITS = {"n": 10**6, "T": 10**4, "prompts": 10**5, "responses": 10**4, "seeds": 10**4}
MAX_RUN_SIZE = 5 * 10**7  # seeds * (n + prompts * responses)
INIT_HELP = ("initial policy: 'uniform'; 'bump:B' (one response per prompt raised by B in "
             "log-odds); 'random:TEMPERATURE' (standard normal logits divided by TEMPERATURE); "
             "'hard:DELTA[,GAMMA_BAR]' (the hard instance of Theorem 4.1 with k = prompts - 1 "
             "informative prompts and M = responses - 1 informative responses)")


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (the usage is one ``--help`` away)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m srlm_kit",
        description="Simulate self-rewarding (Fu et al., arXiv 2601.22513) and print the numbers "
                    "behind the book's figures.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    simulate = commands.add_parser(
        "simulate", help="run T rounds of self-rewarding and print kappa_t and failure_t",
        description="Run T rounds of the self-rewarding iteration (self-reward log pi_t, "
                    "square-loss ERM with the minimum-norm tie-break, or the exact population "
                    "update) on a tabular softmax instance, over several seeds, and print the "
                    "mean and standard deviation over seeds of kappa_t and of the failure "
                    "probability P_x[max_y pi_t(y|x) <= threshold] for t = 0..T.")
    simulate.add_argument("--n", type=int, required=True, help="triples (x, y, y') per round, >= 1")
    simulate.add_argument("--T", type=int, required=True, help="number of rounds, >= 0")
    simulate.add_argument("--beta", type=float, required=True,
                          help="KL-regularisation strength beta > 0")
    simulate.add_argument("--prompts", type=int, default=200,
                          help="number of prompts m (default 200)")
    simulate.add_argument("--responses", type=int, default=50,
                          help="number of responses K (default 50)")
    simulate.add_argument("--init", default="bump:0.6931471805599453", help=INIT_HELP
                          + " (default bump:log 2)")
    simulate.add_argument("--seeds", type=int, default=16,
                          help="number of independent runs averaged (default 16)")
    simulate.add_argument("--seed", type=int, default=0,
                          help="PRNG seed; the instance uses split(key(seed))[0], the runs [1] "
                               "(default 0)")
    simulate.add_argument("--update", choices=dynamics.UPDATES, default="erm",
                          help="'erm' (finite-sample, default) or 'population' (n = infinity)")
    simulate.add_argument("--threshold", type=float, default=0.5,
                          help="failure threshold s in (0, 1) (default 1/2, as in the paper)")
    simulate.add_argument("--json", action="store_true", help="print one JSON object")

    experiment = commands.add_parser(
        "experiment", help="print the numbers behind one of the book's figures",
        description="Print the numbers behind a figure of the book (the same numbers the "
                    "chapter draws), as one JSON object in xarray's dictionary form: "
                    "'coords' and 'data_vars' (each with 'dims' and 'data', nested lists; "
                    "missing values are null), 'dims' (the size of each dimension) and "
                    "'attrs' (the settings, the experiment's name and arguments). "
                    "Use --list to see the names.")
    experiment.add_argument("name", nargs="?", help="experiment name (see --list)")
    experiment.add_argument("--list", action="store_true", help="list the experiments and exit")
    experiment.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                            help="override a keyword argument (VALUE parsed as JSON when it can "
                                 "be, e.g. --set seed=3 --set n_values=[100,400])")
    experiment.add_argument("--json", action="store_true",
                            help="print JSON (the default; kept for symmetry with simulate)")
    return parser


def _check_simulate(arguments) -> None:
    minimum = {"n": 1, "T": 0, "prompts": 1, "responses": 2, "seeds": 1}
    for name, largest in LIMITS.items():
        check.check_int(f"--{name}", getattr(arguments, name), minimum[name], largest)
    check.check_seed("--seed", arguments.seed)
    size = arguments.seeds * (arguments.n + arguments.prompts * arguments.responses)
    if size > MAX_RUN_SIZE:
        raise ValueError(f"--seeds * (--n + --prompts * --responses) must be at most "
                         f"{MAX_RUN_SIZE:.0e}, got {size:.3e}")
    check.check_positive("--beta", arguments.beta)
    check.check_open_interval("--threshold", arguments.threshold, 0.0, 1.0)


def _simulate(arguments) -> dict:
    _check_simulate(arguments)
    key_instance, key_run = jax.random.split(jax.random.key(arguments.seed))
    start = instances.from_name(arguments.init, arguments.prompts, arguments.responses,
                                key_instance)
    trajectory = dynamics.run(key_run, start, n=arguments.n, T=arguments.T,
                              beta=arguments.beta, seeds=arguments.seeds,
                              update=arguments.update, threshold=arguments.threshold)
    result = {"settings": {name: getattr(arguments, name) for name in (
        "n", "T", "beta", "prompts", "responses", "init", "seeds", "seed", "update",
        "threshold")}}
    for name in ("kappa", "failure", "target_failure", "mu", "gamma"):
        mean, std = dynamics.summarize(getattr(trajectory, name), axis=0)
        result[name] = mean.tolist()
        result[f"{name}_std"] = std.tolist()
    return result


def _table(result: dict) -> str:
    lines = [f"{'round':>5} {'kappa':>10} {'± std':>9} {'failure':>9} {'± std':>9}"]
    for t, values in enumerate(zip(result["kappa"], result["kappa_std"], result["failure"],
                                   result["failure_std"], strict=True)):
        lines.append(f"{t:>5} {values[0]:>10.4f} {values[1]:>9.4f} {values[2]:>9.4f} "
                     f"{values[3]:>9.4f}")
    settings = ", ".join(f"{k}={v}" for k, v in result["settings"].items())
    return "\n".join([settings, *lines])


def _parse_overrides(pairs: list[str]) -> dict:
    overrides = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        if not separator or not name:
            raise ValueError(f"--set expects KEY=VALUE, got {pair!r}")
        try:
            overrides[name] = json.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError:
            overrides[name] = text
        except ValueError as error:
            raise ValueError(f"--set {name}: {error}") from None
        _check_json_numbers(f"--set {name}", overrides[name])
    return overrides


def _reject_constant(text: str):
    raise ValueError(f"{text} is not allowed, numbers must be finite")


def _check_json_numbers(name: str, value) -> None:
    """Numbers in a --set value: finite, and integers within 64 bits (what the kit computes in)."""
    if isinstance(value, list):
        for item in value:
            _check_json_numbers(name, item)
    elif isinstance(value, dict):
        for item in value.values():
            _check_json_numbers(name, item)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ValueError(f"{name} must hold integers of magnitude below 2**63, got {value}")
    elif isinstance(value, float) and not np.isfinite(value):
        raise ValueError(f"{name} must hold finite numbers, got {value}")


def _experiment(arguments) -> str:
    from srlm_kit.experiments import EXPERIMENTS

    if arguments.list:
        return "\n".join(sorted(EXPERIMENTS))
    if arguments.name not in EXPERIMENTS:
        raise ValueError(f"experiment name must be one of {sorted(EXPERIMENTS)}, "
                         f"got {arguments.name!r}")
    function = EXPERIMENTS[arguments.name]
    try:
        data = function(**_parse_overrides(arguments.set))
    except TypeError as error:
        if "unexpected keyword" in str(error):
            raise ValueError(f"--set: {error}") from None
        raise
    return json.dumps(dataset_json(data), allow_nan=False)


def dataset_json(result) -> dict:
    """An experiment's :class:`xarray.Dataset` as strict JSON: xarray's own dictionary form
    (``Dataset.to_dict(data="list")``: ``coords``, ``attrs``, ``dims``, ``data_vars``), with NaN
    and infinities as ``None`` (JSON null) and NumPy values as Python numbers.
    ``xarray.Dataset.from_dict`` reads it back."""
    return _strict(result.to_dict(data="list"))


def _strict(value):
    if isinstance(value, dict):
        return {str(key): _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    if isinstance(value, np.ndarray | jax.Array):
        return _strict(np.asarray(value).tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the command line on ``argv`` (default ``sys.argv[1:]``); returns the exit status:
    0, or 2 with a one-line message naming the bad parameter (no traceback)."""
    parser = _parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_request:  # --help, or an argument argparse itself rejects
        return exit_request.code if isinstance(exit_request.code, int) else 2
    try:
        if arguments.command == "simulate":
            result = _simulate(arguments)
            print(json.dumps(result) if arguments.json else _table(result))
        else:
            print(_experiment(arguments))
    except (ValueError, TypeError) as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
