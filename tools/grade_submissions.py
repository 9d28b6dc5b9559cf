"""Grade student notebooks locally, offline and without Docker, and write a CSV of scores.

Otter Grader's own batch command (``otter grade``) needs a Docker engine. This script runs Otter's
non-containerised path (``otter.api.grade_submission``, the function behind ``otter run``) on each
submission instead, in a separate process with a time limit, using the current Python environment:
nothing is installed and nothing is downloaded while grading.

    python tools/grade_submissions.py \\
        _build/classroom/01-gibbs-form/autograder/01-gibbs-form-autograder.zip \\
        submissions/ --output grades.csv --details feedback/

``SUBMISSION`` arguments are notebooks or directories of notebooks. The CSV has one row per
submission: the score of every autograded question, ``total``, ``possible``, ``percent`` and a
``status`` (``graded``, ``timeout`` or ``error: ...``). With ``--details DIR`` every submission also
gets ``DIR/<name>.json`` with the result of each test case, hidden ones included (for the
instructor; do not hand it to students as is). Questions graded by hand are not in the CSV.

Grading executes the students' code with your user's rights: run it in an account or a virtual
machine that holds nothing you would mind a student's notebook reading or deleting.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import csv
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import zipfile

import nbformat
import psutil

STATUS_GRADED = "graded"
#: JAX's persistent compilation cache, shared by the grading processes: every submission of an
#: assignment compiles the same simulations, so all but the first load them from disk (about
#: twice as fast). It changes no number: a cached executable is the same program.
ROOT = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_JAX_CACHE = ROOT / "_build" / "classroom" / ".jax-cache"


def jax_cache_environment(directory: pathlib.Path | None) -> dict[str, str]:
    """Environment variables that switch JAX's persistent compilation cache on (or nothing)."""
    if directory is None:
        return {}
    directory.mkdir(parents=True, exist_ok=True)
    return {"JAX_COMPILATION_CACHE_DIR": str(directory),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def question_test_names(autograder: pathlib.Path) -> dict[str, list[str]]:
    """Question name -> names of its test-case functions, in Otter's order, read from the zip."""
    questions: dict[str, list[str]] = {}
    with zipfile.ZipFile(autograder) as archive:
        for entry in sorted(archive.namelist()):
            if not (entry.startswith("tests/") and entry.endswith(".py")):
                continue
            tree = ast.parse(archive.read(entry).decode("utf-8"))
            name = pathlib.PurePosixPath(entry).stem
            for node in tree.body:
                if isinstance(node, ast.Assign) and any(
                        isinstance(target, ast.Name) and target.id == "name"
                        for target in node.targets):
                    name = ast.literal_eval(node.value)
            questions[name] = [node.name for node in tree.body
                               if isinstance(node, ast.FunctionDef) and node.decorator_list]
    return dict(sorted(questions.items(), key=lambda item: _natural_key(item[0])))


def _natural_key(name: str):
    digits = "".join(character for character in name if character.isdigit())
    return (int(digits) if digits else 0, name)


def grade_in_this_process(submission: pathlib.Path, autograder: pathlib.Path) -> dict:
    """Grade one notebook with Otter's non-containerised runner; a JSON-ready summary."""
    from otter.api import grade_submission

    names = question_test_names(autograder)
    results = grade_submission(str(submission), str(autograder), quiet=True)
    if results.has_catastrophic_failure():
        raise RuntimeError(f"grading failed: {results.catastrophic_error}")
    questions = {}
    for question in results.test_files:
        test_file = results.get_result(question)
        functions = names.get(question, [])
        cases = []
        for index, outcome in enumerate(test_file.test_case_results):
            case = outcome.test_case
            cases.append({
                "name": case.name,
                "function": functions[index] if index < len(functions) else None,
                "passed": bool(outcome.passed),
                "points": float(case.points),
                "hidden": bool(case.hidden),
                "message": outcome.message,
            })
        questions[question] = {"score": float(test_file.score),
                               "possible": float(test_file.possible), "cases": cases}
    return {"questions": questions, "total": float(results.total),
            "possible": float(results.possible)}


def _prepared_copy(submission: pathlib.Path, directory: pathlib.Path) -> pathlib.Path:
    """A copy whose kernel is this environment's ``python3``.

    ``otter run`` starts the kernel named in the notebook, unlike Otter's Docker grading, which
    forces ``python3``; a notebook saved on another machine may name a kernel that does not exist
    here.
    """
    notebook = nbformat.read(submission, as_version=4)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    target = directory / submission.name
    nbformat.write(notebook, target)
    return target


def _kill_tree(process: subprocess.Popen) -> None:
    """Kill a grading process and all it started (its kernel has a process group of its own)."""
    descendants = psutil.Process(process.pid).children(recursive=True)
    os.killpg(process.pid, signal.SIGKILL)
    for child in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    process.communicate()


def grade_one(submission: pathlib.Path, autograder: pathlib.Path, timeout: float,
              jax_cache: pathlib.Path | None = None) -> dict:
    """Grade one submission in a child process (killed with its kernel after ``timeout`` s)."""
    names = question_test_names(autograder)
    empty = {question: {"score": 0.0, "possible": None, "cases": []} for question in names}
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        scratch_path = pathlib.Path(scratch)
        try:
            copy = _prepared_copy(submission, scratch_path)
        except Exception as error:  # an unreadable file is a grade of 0, not a crash
            return {"file": submission.name, "status": f"error: unreadable notebook ({error})",
                    "questions": empty, "total": 0.0, "possible": None}
        report = scratch_path / "report.json"
        command = [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker",
                   str(autograder.resolve()), str(copy), str(report)]
        environment = {**os.environ, **jax_cache_environment(jax_cache)}
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   text=True, start_new_session=True, cwd=scratch,
                                   env=environment)
        try:
            _, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_tree(process)
            return {"file": submission.name, "status": f"timeout after {timeout:g} s",
                    "questions": empty, "total": 0.0, "possible": None}
        if process.returncode != 0 or not report.exists():
            last = (stderr.strip().splitlines() or ["no output"])[-1]
            return {"file": submission.name, "status": f"error: {last}", "questions": empty,
                    "total": 0.0, "possible": None, "stderr": stderr}
        summary = json.loads(report.read_text())
    summary.update(file=submission.name, status=STATUS_GRADED)
    return summary


def collect(paths: list[pathlib.Path]) -> list[pathlib.Path]:
    submissions = []
    for path in paths:
        if path.is_dir():
            submissions.extend(sorted(path.glob("*.ipynb")))
        elif path.suffix == ".ipynb" and path.exists():
            submissions.append(path)
        else:
            raise SystemExit(f"not a notebook or a directory: {path}")
    if not submissions:
        raise SystemExit("no .ipynb submissions found")
    return submissions


def grade_all(autograder: pathlib.Path, submissions: list[pathlib.Path], *, jobs: int = 1,
              timeout: float = 600.0, jax_cache: pathlib.Path | None = None) -> list[dict]:
    """Grade every submission (``jobs`` at a time); results in the order of ``submissions``."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(grade_one, path, autograder, timeout, jax_cache)
                   for path in submissions]
        return [future.result() for future in futures]


def write_csv(results: list[dict], questions: list[str], target: pathlib.Path) -> None:
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", *questions, "total", "possible", "percent", "status"])
        for result in results:
            possible = result.get("possible")
            total = result.get("total", 0.0)
            percent = "" if not possible else f"{100 * total / possible:.2f}"
            scores = [f"{result['questions'].get(q, {}).get('score', 0.0):g}" for q in questions]
            writer.writerow([result["file"], *scores, f"{total:g}",
                             "" if possible is None else f"{possible:g}", percent,
                             result["status"]])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        autograder, submission, report = (pathlib.Path(arg) for arg in argv[1:4])
        summary = grade_in_this_process(submission, autograder)
        report.write_text(json.dumps(summary, indent=1))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("autograder", type=pathlib.Path, help="the NN-name-autograder.zip")
    parser.add_argument("submissions", type=pathlib.Path, nargs="+",
                        help="notebooks, or directories of notebooks")
    parser.add_argument("--output", type=pathlib.Path, default=pathlib.Path("final_grades.csv"),
                        help="CSV file to write (default: ./final_grades.csv)")
    parser.add_argument("--details", type=pathlib.Path,
                        help="directory for one JSON file of test-case results per submission")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded in parallel")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds allowed per submission (default 600)")
    parser.add_argument("--jax-cache", type=pathlib.Path, default=DEFAULT_JAX_CACHE,
                        help="directory of JAX's compilation cache "
                             "(default: _build/classroom/.jax-cache)")
    parser.add_argument("--no-jax-cache", action="store_true",
                        help="compile everything afresh for every submission")
    arguments = parser.parse_args(argv)
    if not arguments.autograder.is_file():
        raise SystemExit(f"autograder zip not found: {arguments.autograder}")
    submissions = collect(arguments.submissions)
    questions = list(question_test_names(arguments.autograder))
    results = grade_all(arguments.autograder, submissions, jobs=arguments.jobs,
                        timeout=arguments.timeout,
                        jax_cache=None if arguments.no_jax_cache else arguments.jax_cache)
    write_csv(results, questions, arguments.output)
    if arguments.details:
        arguments.details.mkdir(parents=True, exist_ok=True)
        for result in results:
            target = arguments.details / (pathlib.Path(result["file"]).stem + ".json")
            target.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    for result in results:
        possible = result.get("possible")
        score = f"{result['total']:g}/{possible:g}" if possible else "0"
        print(f"{result['file']}: {score} ({result['status']})")
    print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
