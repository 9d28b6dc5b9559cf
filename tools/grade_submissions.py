"""Grade student notebooks locally, offline and without Docker, and write a CSV of scores.

Otter Grader's own batch command (``otter grade``) needs a Docker engine. This script runs Otter's
non-containerised path (``otter.api.grade_submission``, the function behind ``otter run``) on each
submission instead, each notebook in a fresh kernel with a time limit, using the current Python
environment: nothing is installed and nothing is downloaded while grading. One child process per
``--jobs`` grades its share of the submissions one after another (Otter is imported once per
child, not once per notebook); a submission that times out or crashes it gets 0 and its status,
and a new child carries on with the rest.

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
import time
import traceback
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


def _failed(submission: pathlib.Path, status: str, names: dict, **extra) -> dict:
    """A grade of 0 with the reason in ``status`` (an error or a timeout, not a crash)."""
    empty = {question: {"score": 0.0, "possible": None, "cases": []} for question in names}
    return {"file": submission.name, "status": status, "questions": empty, "total": 0.0,
            "possible": None, **extra}


def _last_line(path: pathlib.Path) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return (text.strip().splitlines() or ["no output"])[-1]


def grade_batch(submissions: list[pathlib.Path], autograder: pathlib.Path, timeout: float,
                jax_cache: pathlib.Path | None = None) -> list[dict]:
    """Grade submissions one after another in one child process; results in their order.

    The child imports Otter once and grades every submission of the batch, each in a fresh
    kernel of its own (Otter starts one per notebook), so a batch is graded exactly as the
    same submissions one by one, without a new Python and a new Otter import per notebook.
    Each submission has ``timeout`` seconds: on a timeout or a crash the child is killed with
    its kernel, that submission gets 0 and its status, and a new child grades the rest.
    """
    names = question_test_names(autograder)
    results: list[dict | None] = [None] * len(submissions)
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        scratch_path = pathlib.Path(scratch)
        queue = []  # (position, prepared copy, report) of every readable submission
        for position, submission in enumerate(submissions):
            folder = scratch_path / f"{position:04d}"
            folder.mkdir()
            try:
                copy = _prepared_copy(submission, folder)
            except Exception as error:  # an unreadable file is a grade of 0, not a crash
                results[position] = _failed(submission,
                                            f"error: unreadable notebook ({error})", names)
                continue
            queue.append((position, copy, folder / "report.json"))
        environment = {**os.environ, **jax_cache_environment(jax_cache)}
        while queue:
            jobs = scratch_path / "jobs.json"
            jobs.write_text(json.dumps([[str(copy), str(report)] for _, copy, report in queue]))
            log = scratch_path / f"worker-{queue[0][0]:04d}.log"
            with log.open("w") as output:
                process = subprocess.Popen(
                    [sys.executable, str(pathlib.Path(__file__).resolve()), "--worker",
                     str(autograder.resolve()), str(jobs)],
                    stdout=output, stderr=output, start_new_session=True, cwd=scratch,
                    env=environment)
            began = time.monotonic()
            while queue:
                position, _, report = queue[0]
                submission = submissions[position]
                if report.exists():
                    summary = json.loads(report.read_text())
                    if "error" in summary:
                        results[position] = _failed(submission, f"error: {summary['error']}",
                                                    names, stderr=summary["traceback"])
                    else:
                        results[position] = {**summary, "file": submission.name,
                                             "status": STATUS_GRADED}
                    queue.pop(0)
                    began = time.monotonic()
                elif process.poll() is not None:  # ended without a report: it crashed
                    if report.exists():
                        continue
                    results[position] = _failed(submission, f"error: {_last_line(log)}", names,
                                                stderr=log.read_text(errors="replace"))
                    queue.pop(0)
                    break
                elif time.monotonic() - began > timeout:
                    _kill_tree(process)
                    results[position] = _failed(submission, f"timeout after {timeout:g} s",
                                                names)
                    queue.pop(0)
                    break
                else:
                    time.sleep(0.1)
            if process.poll() is None and not queue:
                process.wait()
            elif process.poll() is None:
                _kill_tree(process)
    return results


def grade_one(submission: pathlib.Path, autograder: pathlib.Path, timeout: float,
              jax_cache: pathlib.Path | None = None) -> dict:
    """Grade one submission in a child process (killed with its kernel after ``timeout`` s)."""
    return grade_batch([submission], autograder, timeout, jax_cache)[0]


def work_through(autograder: pathlib.Path, jobs: pathlib.Path) -> None:
    """The child of ``grade_batch``: grade each (notebook, report) of ``jobs`` in turn.

    A report is written under a temporary name and renamed, so that the parent never reads a
    half-written one. A submission Otter cannot grade gets a report with the error.
    """
    for submission, report in json.loads(jobs.read_text()):
        try:
            summary = grade_in_this_process(pathlib.Path(submission), autograder)
        except Exception as error:
            lines = traceback.format_exception_only(error)
            summary = {"error": lines[-1].strip(), "traceback": traceback.format_exc()}
        partial = pathlib.Path(report + ".partial")
        partial.write_text(json.dumps(summary, indent=1))
        partial.rename(report)


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
    jobs = max(1, min(jobs, len(submissions)))
    batches = [submissions[start::jobs] for start in range(jobs)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        graded = list(pool.map(grade_batch, batches, [autograder] * jobs, [timeout] * jobs,
                               [jax_cache] * jobs))
    results: list[dict] = [{}] * len(submissions)
    for start, batch in enumerate(graded):
        results[start::jobs] = batch
    return results


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
        work_through(pathlib.Path(argv[1]), pathlib.Path(argv[2]))
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
