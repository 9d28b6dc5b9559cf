"""The classroom assignments: generation, offline grading, and what each submission scores.

The test run generates the assignments once into a temporary directory
(``tools/make_assignments.py``) and grades, per assignment, the reference solution, the
unanswered student notebook, every typical wrong answer of
``classroom/source/NN-name/wrong_answers.yml`` and every correct alternative of
``alternative_answers.yml``, through the instructors' own grading command
(``tools/grade_submissions.py``). Where Linux namespaces allow it, grading runs in a network
namespace with only a loopback interface, so it provably needs no network.
"""

from __future__ import annotations

import ast
import concurrent.futures
import csv
import json
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import jax
import nbformat
import numpy as np
import pytest
import yaml

from srlm_kit import dynamics, instances, metrics

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import grade_submissions  # noqa: E402
import make_assignments  # noqa: E402

#: Generating and grading four assignments executes every notebook several times: minutes.
pytestmark = pytest.mark.slow

ASSIGNMENTS = [source.stem for source in make_assignments.sources()]
SOLUTION_TAG = "otter_assign_solution_cell"
ANSWER_TAG = "otter_answer_cell"
MARKERS = ("# BEGIN SOLUTION", "# END SOLUTION", "# SOLUTION")


def wrong_answers(assignment: str) -> list[dict]:
    path = make_assignments.SOURCE / assignment / "wrong_answers.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else []


def alternative_answers(assignment: str) -> list[dict]:
    path = make_assignments.SOURCE / assignment / "alternative_answers.yml"
    return yaml.safe_load(path.read_text()) if path.exists() else []


WRONG = [(assignment, wrong["name"]) for assignment in ASSIGNMENTS
         for wrong in wrong_answers(assignment)]
ALTERNATIVE = [(assignment, alternative["name"]) for assignment in ASSIGNMENTS
               for alternative in alternative_answers(assignment)]


# --------------------------------------------------------------------------------------------
# Building submissions
# --------------------------------------------------------------------------------------------


def strip_markers(source: str) -> str:
    """A solution cell as a student would write it: the Otter markers removed."""
    lines = []
    for line in source.splitlines():
        if line.strip() in ("# BEGIN SOLUTION", "# END SOLUTION"):
            continue
        lines.append(re.sub(r"\s*# SOLUTION$", "", line))
    return "\n".join(lines)


def reference_submission(student: nbformat.NotebookNode, autograder: nbformat.NotebookNode
                         ) -> nbformat.NotebookNode:
    """The student notebook with every code answer cell filled with the reference solution."""
    solutions = [cell for cell in autograder.cells if cell.cell_type == "code"
                 and SOLUTION_TAG in cell.metadata.get("tags", [])]
    answers = [cell for cell in student.cells if cell.cell_type == "code"
               and ANSWER_TAG in cell.metadata.get("tags", [])]
    assert len(solutions) == len(answers) > 0
    filled = nbformat.from_dict(json.loads(json.dumps(student)))
    slots = [cell for cell in filled.cells if cell.cell_type == "code"
             and ANSWER_TAG in cell.metadata.get("tags", [])]
    for slot, solution in zip(slots, solutions, strict=True):
        slot.source = strip_markers(solution.source)
    return filled


def apply_edits(reference: nbformat.NotebookNode, wrong: dict) -> nbformat.NotebookNode:
    """The reference submission with the text replacements of a wrong or alternative answer."""
    edited = nbformat.from_dict(json.loads(json.dumps(reference)))
    answers = [cell for cell in edited.cells if cell.cell_type == "code"
               and ANSWER_TAG in cell.metadata.get("tags", [])]
    for edit in wrong["replace"]:
        hits = [cell for cell in answers if edit["old"] in cell.source]
        assert len(hits) == 1 and hits[0].source.count(edit["old"]) == 1, (
            f"{wrong['name']}: {edit['old']!r} must occur exactly once in the answer cells")
        hits[0].source = hits[0].source.replace(edit["old"], edit["new"])
    return edited


# --------------------------------------------------------------------------------------------
# Session fixtures: generate once, grade once
# --------------------------------------------------------------------------------------------


#: Run inside a new network namespace: bring its loopback interface up (kernels talk to their
#: client over 127.0.0.1), then replace this process by the command in ``sys.argv[1:]``.
LOOPBACK_UP_THEN_EXEC = """
import fcntl, os, socket, struct, sys
probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sH", fcntl.ioctl(probe, 0x8913, struct.pack("16sH", b"lo", 0)))[1]
fcntl.ioctl(probe, 0x8914, struct.pack("16sH", b"lo", flags | 1))  # SIOCSIFFLAGS, IFF_UP
os.execvp(sys.argv[1], sys.argv[1:])
"""
#: Succeeds only where loopback is the one network interface and it works.
ONLY_LOOPBACK = """
import socket, sys
names = [name for _, name in socket.if_nameindex()]
server = socket.create_server(("127.0.0.1", 0))
socket.create_connection(server.getsockname(), timeout=5).close()
sys.exit(0 if names == ["lo"] else 1)
"""


def network_isolation() -> list[str] | None:
    """A command prefix that runs a command with loopback as its only network, or None.

    ``unshare --net`` needs root; ``--user --map-root-user`` lets other users do the same where
    the kernel allows unprivileged user namespaces.
    """
    for flags in (["--net"], ["--user", "--map-root-user", "--net"]):
        prefix = ["unshare", *flags, sys.executable, "-c", LOOPBACK_UP_THEN_EXEC]
        try:
            probe = subprocess.run([*prefix, sys.executable, "-c", ONLY_LOOPBACK],
                                   capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if probe.returncode == 0:
            return prefix
    return None


#: Where no network namespace can be made, grading still runs with every download route
#: closed: pip may not use an index, and every HTTP(S) proxy points at a closed local port.
NO_DOWNLOADS = os.environ | {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "",
                             **{name: "http://127.0.0.1:9" for name in
                                ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}}


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> pathlib.Path:
    output = tmp_path_factory.mktemp("classroom")
    make_assignments.main(["--output", str(output), "--no-run-tests"])
    return output


@pytest.fixture(scope="session")
def isolation() -> list[str] | None:
    return network_isolation()


#: Assignments graded at the same time, each by one grading process (``--jobs 1``): one
#: process per assignment compiles that assignment's simulations once and loads them from JAX's
#: cache for its other submissions, where two processes on one assignment would both compile
#: them at the start; and two assignments side by side keep both cores busy to the end.
PARALLEL_ASSIGNMENTS = 2


def submissions_of(assignment: str) -> int:
    return 2 + len(wrong_answers(assignment)) + len(alternative_answers(assignment))


def assignments_needed(session) -> list[str]:
    """The assignments whose grading the selected tests read (so that a run restricted with
    ``-k`` grades only those), the one with most submissions first."""
    needed = set()
    for item in session.items:
        if "graded" not in getattr(item, "fixturenames", ()):
            continue
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "assignment" in callspec.params:
            needed.add(callspec.params["assignment"])
        else:  # a test over every assignment
            needed.update(ASSIGNMENTS)
    return sorted(needed, key=lambda name: (-submissions_of(name), name))


@pytest.fixture(scope="session")
def jax_cache(tmp_path_factory) -> pathlib.Path:
    """JAX's persistent compilation cache of this session's notebook runs: the grading of every
    submission and the students' first runs (``execute_fresh``). They all run the assignments'
    simulations, so each simulation is compiled once per session and loaded from the cache by
    every later kernel; a cached executable is the program that would have been compiled."""
    return tmp_path_factory.mktemp("jax-cache")


@pytest.fixture(scope="session")
def graded(request, generated, isolation, jax_cache, tmp_path_factory) -> dict:
    """Grade every submission; per assignment: CSV rows and per-submission details."""
    work = tmp_path_factory.mktemp("grading")

    def grade(assignment: str) -> dict:
        result = generated / assignment
        student = nbformat.read(result / "student" / f"{assignment}.ipynb", as_version=4)
        autograder = nbformat.read(result / "autograder" / f"{assignment}.ipynb", as_version=4)
        reference = reference_submission(student, autograder)
        submissions = work / assignment / "submissions"
        submissions.mkdir(parents=True)
        nbformat.write(reference, submissions / "reference.ipynb")
        nbformat.write(student, submissions / "blank.ipynb")
        for wrong in wrong_answers(assignment):
            nbformat.write(apply_edits(reference, wrong),
                           submissions / f"wrong-{wrong['name']}.ipynb")
        for alternative in alternative_answers(assignment):
            nbformat.write(apply_edits(reference, alternative),
                           submissions / f"alternative-{alternative['name']}.ipynb")
        csv_path, details = work / assignment / "grades.csv", work / assignment / "details"
        command = [sys.executable, str(ROOT / "tools" / "grade_submissions.py"),
                   str(result / "autograder" / f"{assignment}-autograder.zip"), str(submissions),
                   "--output", str(csv_path), "--details", str(details), "--timeout", "300",
                   "--jax-cache", str(jax_cache), "--jobs", "1"]
        completed = subprocess.run((isolation or []) + command, capture_output=True, text=True,
                                   cwd=work, env=None if isolation else NO_DOWNLOADS)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        with csv_path.open() as handle:
            rows = {row["file"]: row for row in csv.DictReader(handle)}
        return {"rows": rows, "details": {path.stem: json.loads(path.read_text())
                                          for path in details.glob("*.json")}}

    needed = assignments_needed(request.session)
    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL_ASSIGNMENTS) as pool:
        return dict(zip(needed, pool.map(grade, needed), strict=True))


def case_outcomes(detail: dict) -> dict[str, dict]:
    return {f"{question}.{case['function']}": case
            for question, result in detail["questions"].items() for case in result["cases"]}


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def test_a_forks_classroom_points_at_the_fork(monkeypatch):
    """The publishing workflow sets BOOK_REPOSITORY_URL to the repository it runs in; the
    classroom's Binder links and the student environment's kit follow it, as the site does."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    upstream = config["repository"]["url"].removeprefix("https://github.com/").rstrip("/")
    assert upstream in make_assignments.launch_links("01-gibbs-form")["binder"]
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://github.com/someone/fork-of-the-book")
    links = make_assignments.launch_links("01-gibbs-form")
    assert "/gh/someone/fork-of-the-book/" in links["binder"] and upstream not in links["binder"]
    assert links["repository"] == "https://github.com/someone/fork-of-the-book"
    requirements = make_assignments.student_requirements()
    assert "git+https://github.com/someone/fork-of-the-book@" in requirements
    monkeypatch.setenv("BOOK_REPOSITORY_URL", "https://gitlab.com/someone/fork")
    with pytest.raises(SystemExit, match="BOOK_REPOSITORY_URL"):
        make_assignments.launch_links("01-gibbs-form")


def test_six_assignments_each_from_one_source():
    assert ASSIGNMENTS == ["01-gibbs-form", "02-kappa-and-lemma-c1", "03-erm-contraction",
                           "04-rates", "05-hard-instance", "06-beyond-the-theorem"]
    for assignment in ASSIGNMENTS:
        assert len(list((make_assignments.SOURCE / assignment).glob("*.md"))) == 1


def test_generation_layout(generated):
    for assignment in ASSIGNMENTS:
        result = generated / assignment
        assert sorted(path.name for path in (result / "student").iterdir()) == [
            f"{assignment}.ipynb"]
        assert (result / "autograder" / f"{assignment}-autograder.zip").is_file()
        assert not list((result / "autograder").glob("*-autograder_*.zip"))  # no timestamp
        template = result / "template"
        assert sorted(path.name for path in template.iterdir()) == sorted(
            [f"{assignment}.ipynb", "README.md", "requirements.txt", "runtime.txt"])
        assert "otter-grader==7.0.0" in (template / "requirements.txt").read_text()
    sums = (generated / "SHA256SUMS").read_text().splitlines()
    assert len(sums) == 2 * len(ASSIGNMENTS)


def test_generation_is_reproducible(generated, tmp_path):
    again = tmp_path / "again"
    make_assignments.main(["--output", str(again), "--no-run-tests"])
    assert (again / "SHA256SUMS").read_bytes() == (generated / "SHA256SUMS").read_bytes()
    for assignment in ASSIGNMENTS:
        for part in (f"student/{assignment}.ipynb", f"autograder/{assignment}.ipynb",
                     f"autograder/{assignment}-autograder.zip", f"template/{assignment}.ipynb"):
            assert (again / assignment / part).read_bytes() == (
                generated / assignment / part).read_bytes(), f"{assignment}/{part} differs"


# --------------------------------------------------------------------------------------------
# Student versions hold no solutions and no hidden tests
# --------------------------------------------------------------------------------------------


def zip_test_functions(zip_path: pathlib.Path) -> dict[str, tuple[bool, str]]:
    """Name -> (hidden, source) of every test-case function in an autograder zip."""
    functions = {}
    with zipfile.ZipFile(zip_path) as archive:
        for entry in archive.namelist():
            if not (entry.startswith("tests/") and entry.endswith(".py")):
                continue
            text = archive.read(entry).decode()
            for node in ast.parse(text).body:
                if not isinstance(node, ast.FunctionDef):
                    continue
                (decorator,) = node.decorator_list
                hidden = any(keyword.arg == "hidden" and keyword.value.value is True
                             for keyword in decorator.keywords)
                functions[node.name] = (hidden, ast.get_source_segment(text, node))
    return functions


def student_strings(notebook: nbformat.NotebookNode) -> str:
    """Everything a student receives as text: cell sources and the public tests."""
    tests = notebook.metadata.get("otter", {}).get("tests", {})
    return "\n".join([cell.source for cell in notebook.cells] + list(tests.values()))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_has_no_solutions(generated, assignment):
    result = generated / assignment
    student_text = (result / "student" / f"{assignment}.ipynb").read_text()
    student = nbformat.reads(student_text, as_version=4)
    autograder = nbformat.read(result / "autograder" / f"{assignment}.ipynb", as_version=4)
    for marker in (*MARKERS, SOLUTION_TAG, "Rubric"):
        assert marker not in student_text, f"{marker!r} in the student version"
    distinctive = set()
    for cell in autograder.cells:
        if SOLUTION_TAG not in cell.metadata.get("tags", []):
            continue
        if cell.cell_type == "markdown":
            distinctive.update(part.strip() for part in re.split(r"[.\n]", cell.source)
                               if len(part.strip()) > 30)
            continue
        inside = False
        for line in cell.source.splitlines():
            if line.strip() == "# BEGIN SOLUTION":
                inside = True
            elif line.strip() == "# END SOLUTION":
                inside = False
            elif inside or line.rstrip().endswith("# SOLUTION"):
                code = re.sub(r"\s*# SOLUTION$", "", line).strip()
                if len(code) >= 12:
                    distinctive.add(code)
    assert len(distinctive) >= 5
    haystack = student_strings(student)
    leaked = sorted(line for line in distinctive if line in haystack)
    assert not leaked, f"solution lines in the student version: {leaked}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_hidden_tests_only_in_the_autograder(generated, assignment):
    result = generated / assignment
    zip_path = result / "autograder" / f"{assignment}-autograder.zip"
    functions = zip_test_functions(zip_path)
    hidden = {name: source for name, (is_hidden, source) in functions.items() if is_hidden}
    # lines a hidden test shares with a public test or with the notebook itself prove nothing
    public_lines = {line.strip() for is_hidden, source in functions.values() if not is_hidden
                    for line in source.splitlines()}
    autograder = nbformat.read(result / "autograder" / f"{assignment}.ipynb", as_version=4)
    public_lines |= {line.strip() for cell in autograder.cells
                     for line in cell.source.splitlines()}
    questions = grade_submissions.question_test_names(zip_path)
    for question, names in questions.items():
        assert set(names) & set(hidden), f"{question} has no hidden test"
    student_text = (result / "student" / f"{assignment}.ipynb").read_text()
    haystack = student_strings(nbformat.reads(student_text, as_version=4))
    assert "hidden=True" not in haystack
    haystack_lines = {line.strip() for line in haystack.splitlines()}
    for name, source in hidden.items():
        assert name not in haystack
        own_lines = [line.strip() for line in source.splitlines()
                     if len(line.strip()) > 20 and line.strip() not in public_lines]
        assert own_lines and not [line for line in own_lines if line in haystack_lines]
    tests = nbformat.reads(student_text, as_version=4).metadata["otter"]["tests"]
    assert set(tests) == set(questions)
    for text in tests.values():
        assert "hidden=False" in text


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_scores_full_marks(graded, assignment):
    detail = graded[assignment]["details"]["reference"]
    failed = [name for name, case in case_outcomes(detail).items() if not case["passed"]]
    assert not failed, failed
    row = graded[assignment]["rows"]["reference.ipynb"]
    assert row["status"] == "graded"
    assert float(row["total"]) == float(row["possible"]) > 0
    assert row["percent"] == "100.00"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unanswered_notebook_scores_zero(graded, assignment):
    detail = graded[assignment]["details"]["blank"]
    passed = [name for name, case in case_outcomes(detail).items() if case["passed"]]
    assert not passed, passed
    row = graded[assignment]["rows"]["blank.ipynb"]
    assert row["status"] == "graded" and float(row["total"]) == 0 and float(row["possible"]) > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_at_least_two_typical_wrong_answers(assignment):
    # the two newest assignments were written to the standard of at least three
    assert len(wrong_answers(assignment)) >= (3 if assignment >= "05" else 2)


@pytest.mark.parametrize(("assignment", "wrong_name"), WRONG)
def test_wrong_answer_loses_exactly_its_marks(graded, assignment, wrong_name):
    (wrong,) = [item for item in wrong_answers(assignment) if item["name"] == wrong_name]
    detail = graded[assignment]["details"][f"wrong-{wrong_name}"]
    outcomes = case_outcomes(detail)
    assert set(wrong["fails"]) <= set(outcomes), "unknown test cases in wrong_answers.yml"
    failed = {name for name, case in outcomes.items() if not case["passed"]}
    assert failed == set(wrong["fails"])
    lost = sum(outcomes[name]["points"] for name in wrong["fails"])
    row = graded[assignment]["rows"][f"wrong-{wrong_name}.ipynb"]
    assert lost > 0
    assert float(row["total"]) == pytest.approx(float(row["possible"]) - lost)
    for question, result in detail["questions"].items():
        expected = sum(case["points"] for case in result["cases"]
                       if f"{question}.{case['function']}" not in wrong["fails"])
        assert float(row[question]) == pytest.approx(expected)


@pytest.mark.parametrize(("assignment", "alternative_name"), ALTERNATIVE)
def test_alternative_answer_scores_full_marks(graded, assignment, alternative_name):
    """A correct answer written differently from the reference (another but equal SymPy
    expression, NumPy or JAX scalars, lists) loses nothing."""
    detail = graded[assignment]["details"][f"alternative-{alternative_name}"]
    failed = [name for name, case in case_outcomes(detail).items() if not case["passed"]]
    assert not failed, failed
    row = graded[assignment]["rows"][f"alternative-{alternative_name}.ipynb"]
    assert row["status"] == "graded" and row["percent"] == "100.00"


def test_every_assignment_has_an_alternative_answer():
    assert {assignment for assignment, _ in ALTERNATIVE} == set(ASSIGNMENTS)


def test_grades_csv_lists_every_question(graded, generated):
    for assignment in ASSIGNMENTS:
        questions = list(grade_submissions.question_test_names(
            generated / assignment / "autograder" / f"{assignment}-autograder.zip"))
        rows = graded[assignment]["rows"]
        expected = {"reference.ipynb", "blank.ipynb"} | {
            f"wrong-{wrong['name']}.ipynb" for wrong in wrong_answers(assignment)} | {
            f"alternative-{item['name']}.ipynb" for item in alternative_answers(assignment)}
        assert set(rows) == expected
        for row in rows.values():
            assert list(row) == ["file", *questions, "total", "possible", "percent", "status"]
            assert sum(float(row[question]) for question in questions) == pytest.approx(
                float(row["total"]))


def test_book_tables_match_the_grading(graded):
    """The book's pages compute points and test counts from the sources (catalogue); they must
    be what grading actually uses."""
    for source in make_assignments.sources():
        entry = make_assignments.catalogue(source)
        detail = graded[entry["name"]]["details"]["reference"]
        cases = [case for result in detail["questions"].values() for case in result["cases"]]
        assert detail["possible"] == entry["autograded_points"]
        assert len(detail["questions"]) == entry["autograded_questions"]
        assert sum(case["hidden"] for case in cases) == entry["hidden_tests"]
        assert sum(not case["hidden"] for case in cases) == entry["public_tests"]
        assert entry["written_questions"] >= 1 and entry["solution_lines"] > 0


def test_grading_ran_without_network(graded, isolation):
    if isolation is None:
        # Some CI sandboxes forbid namespaces; grading then ran with downloads closed
        # (NO_DOWNLOADS), which the graded fixture already required to succeed.
        pytest.skip("no user and network namespaces here (unshare --user --net failed); "
                    "grading ran with pip's index and HTTP proxies closed instead")
    assert all(row["status"] == "graded" for result in graded.values()
               for row in result["rows"].values())
    # the prefix the grading ran under really leaves loopback as the only interface
    check = subprocess.run([*isolation, sys.executable, "-c", ONLY_LOOPBACK], timeout=60)
    assert check.returncode == 0


def test_grading_reports_a_timeout(generated, tmp_path):
    """A notebook that never finishes gets a 0 and a status, and does not hang the batch."""
    assignment = ASSIGNMENTS[0]
    student = nbformat.read(generated / assignment / "student" / f"{assignment}.ipynb",
                            as_version=4)
    student.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(600)"))
    nbformat.write(student, tmp_path / "slow.ipynb")
    result = grade_submissions.grade_one(
        tmp_path / "slow.ipynb",
        generated / assignment / "autograder" / f"{assignment}-autograder.zip", timeout=6)
    assert result["status"].startswith("timeout") and result["total"] == 0


def test_grading_refuses_another_assignment(generated, tmp_path):
    """A notebook of assignment 1 handed to assignment 2's autograder scores 0 with a reason;
    so does a file that is not a notebook, and a batch split over two processes keeps its
    order."""
    first, second = ASSIGNMENTS[:2]
    student = generated / first / "student" / f"{first}.ipynb"
    (tmp_path / "renamed.ipynb").write_bytes(student.read_bytes())
    (tmp_path / "garbage.ipynb").write_text("not a notebook")
    results = grade_submissions.grade_all(
        generated / second / "autograder" / f"{second}-autograder.zip",
        [student, tmp_path / "garbage.ipynb", tmp_path / "renamed.ipynb"], jobs=2, timeout=120)
    assert [result["file"] for result in results] == [
        f"{first}.ipynb", "garbage.ipynb", "renamed.ipynb"]
    for result in results[::2]:
        assert result["total"] == 0 and result["possible"] is None
        assert result["status"].startswith("error") and f"'{first}'" in result["status"]
    assert results[1]["status"].startswith("error: unreadable notebook")
    assert results[1]["total"] == 0


# --------------------------------------------------------------------------------------------
# A student's first run: the unanswered notebook, top to bottom, in a fresh kernel
# --------------------------------------------------------------------------------------------


def execute_fresh(notebook_path: pathlib.Path, directory: pathlib.Path,
                  jax_cache: pathlib.Path | None = None) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a new kernel, in ``directory`` as a student would (the
    notebook next to nothing else), keeping going after errors; with ``jax_cache``, the kernel
    loads the simulations that grading already compiled instead of compiling them again."""
    from nbclient import NotebookClient

    copy = directory / notebook_path.name
    copy.write_bytes(notebook_path.read_bytes())
    notebook = nbformat.read(copy, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(directory)}}).execute(
        env=os.environ | grade_submissions.jax_cache_environment(jax_cache))
    return notebook


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unanswered_student_notebook_runs(generated, jax_cache, assignment, tmp_path):
    """Every cell a student does not write runs; the only errors are those of the answers left
    as ``...`` (their messages name the ellipsis), never an import, a path or a missing name."""
    notebook = execute_fresh(generated / assignment / "student" / f"{assignment}.ipynb", tmp_path,
                             jax_cache)
    checks = 0
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        checks += "grader.check(" in cell.source
        errors = [output for output in cell.outputs if output.output_type == "error"]
        if ANSWER_TAG not in cell.metadata.get("tags", []):
            assert not errors, (index, [(error.ename, error.evalue) for error in errors])
        for error in errors:
            assert "ellipsis" in error.evalue, (index, error.ename, error.evalue)
    assert checks == len(grade_submissions.question_test_names(
        generated / assignment / "autograder" / f"{assignment}-autograder.zip"))


# --------------------------------------------------------------------------------------------
# The built site offers every student notebook (run after `make book`, with the browser tests)
# --------------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.xdist_group("classroom")  # one worker generates the assignments (``generated``)
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_site_offers_the_student_notebook_and_binder(generated, assignment):
    # SRLM_SITE_DIR tests a build made elsewhere, as in tests/test_site.py
    site = pathlib.Path(os.environ.get("SRLM_SITE_DIR", ROOT / "_build" / "html"))
    assert site.joinpath("index.html").is_file(), "no built site: run `make book` first"
    student = generated / assignment / "student" / f"{assignment}.ipynb"
    downloads = list(site.glob(f"_downloads/*/{assignment}.ipynb"))
    assert len(downloads) == 1, downloads
    assert downloads[0].read_bytes() == student.read_bytes()
    page = (site / "book" / "classroom" / f"{assignment}.html").read_text()
    assert downloads[0].relative_to(site).as_posix() in page
    links = make_assignments.launch_links(assignment)
    assert links["binder"] in page.replace("&amp;", "&")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert links["binder"].startswith(config["launch_buttons"]["binderhub_url"])
    assert config["repository"]["url"].split("github.com/")[1] in links["binder"]


# --------------------------------------------------------------------------------------------
# The statements the assignment texts make about their simulations
# --------------------------------------------------------------------------------------------


def test_claims_of_assignment_3():
    """Assignment 3 says: f falls with n, f > q at every n, and the local exponent is shallower
    than -1/2 from n = 30 to 120 and steeper from 120 to 480."""
    start = instances.bump(m=60, num_responses=8, height=0.7)
    mu = float(metrics.min_confidence(start.logits, start.rho))
    n_values = np.array([30, 120, 480])
    grid = dynamics.run_grid(jax.random.key(0), instances.stack([start]), n_values, [0.5],
                             T=4, seeds=4)
    assert float(np.asarray(grid.mu).min()) == pytest.approx(mu, rel=1e-12)
    kappas = np.asarray(grid.kappa)[0, :, 0].mean(axis=1)
    factors = ((kappas[:, -1] - 1) / (kappas[:, 0] - 1)) ** 0.25
    assert np.all(np.diff(factors) < 0)
    assert np.all(factors > 1 / (1 + np.sqrt(n_values * mu)))
    slopes = np.diff(np.log(factors)) / np.log(4)
    assert -0.5 < slopes[0] < 0 and slopes[1] < -0.5


def test_claims_of_assignment_4():
    """Assignment 4 says: local slopes from about -0.1 to below -1.5; factor > sqrt(q); yet the
    simulated failure falls by more between T = 1 and 6 than the bound's shape."""
    start = instances.bump(m=200, num_responses=50, height=float(np.log(2.0)))
    n_values = np.array([100, 200, 400, 800, 1600, 3200])
    grid = dynamics.run_grid(jax.random.key(0), instances.stack([start]), n_values, [0.05],
                             T=6, seeds=8)
    failure = np.asarray(grid.failure)[0, :, 0].mean(axis=1)
    assert np.all(failure > 0)
    by_n, by_t = failure[:, 2], failure[3, 1:]
    local = np.diff(np.log(by_n)) / np.diff(np.log(n_values))
    assert -0.2 < local[0] < 0 and local[-1] < -1.5 and np.all(np.diff(local) < 0)
    assert np.polyfit(np.log(n_values), np.log(by_n), 1)[0] < -0.5
    mu = float(np.asarray(grid.mu).min())
    kappa0 = float(metrics.condition_number(start.logits, start.rho))
    assert kappa0 == pytest.approx(25.5, rel=1e-12)  # stated in the assignment
    q = 1 / (1 + np.sqrt(800 * mu))
    factor = np.exp(np.polyfit(np.arange(1, 7), np.log(by_t), 1)[0])
    assert factor > np.sqrt(q)
    shape = (mu**-0.5 + np.sqrt(kappa0) * q**2.5) / (mu**-0.5 + np.sqrt(kappa0))
    assert by_t[-1] / by_t[0] < shape


def test_claims_of_assignment_5():
    """Assignment 5 says: one sampled pair lifts the bump above 1/2 at beta = 0.05; the bound
    (constant 1) is above the simulated failure at every n, above Delta at the smallest n, and
    orders of magnitude above the simulated failure at the largest."""
    from srlm_kit import bounds

    k, M, Delta = 20, 40, 0.2
    assert bounds.hard_instance_mechanism_holds(M, 0.05)
    hard = instances.hard_instance(jax.random.key(0), k=k, M=M, Delta=Delta)
    n_values = np.array([200, 800, 1600, 3200, 6400, 12800])
    grid = dynamics.run_grid(jax.random.key(1), instances.stack([hard]), n_values, [0.05], T=1,
                             seeds=16)
    simulated = np.asarray(grid.failure)[0, :, 0, :, 1].mean(axis=-1)
    kappa0 = float(metrics.condition_number(hard.logits, hard.rho))
    bound = bounds.theorem_4_1_lower_bound(n_values, kappa0, k * np.log(M))
    assert np.all(simulated < bound)
    assert bound[0] > Delta
    assert simulated[-1] < bound[-1] / 100


def test_claims_of_assignment_6():
    """Assignment 6 says (rubrics): at n = 40 the two rewards end close, at n = 2000 the frozen
    reward's excess is many times the self-reward's; the exact update keeps the agreement at 0.6
    while kappa falls."""
    from scipy.special import log_softmax

    start = instances.bump(m=40, num_responses=10, height=float(np.log(2.0)))
    frozen = dynamics.judge(log_softmax(np.asarray(start.logits), axis=-1))
    ratios = {}
    for n in (40, 2000):
        common = dict(n=n, T=4, beta=0.5, seeds=16)
        own = np.asarray(dynamics.run(jax.random.key(1), start, **common).kappa).mean(0) - 1
        fixed = np.asarray(dynamics.run(jax.random.key(1), start, judge=frozen,
                                        **common).kappa).mean(0) - 1
        ratios[n] = fixed[-1] / own[-1]
    assert 1 <= ratios[40] < 1.2 and ratios[2000] > 20
    labels = instances.external_labels(jax.random.key(3), start.target, 10, 0.6)
    exact = dynamics.run(jax.random.key(0), instances.with_labels(start, labels), n=1, T=4,
                         beta=0.5, update="population")
    assert np.allclose(np.asarray(exact.agreement[0]), 0.6, atol=1e-12)
    assert np.all(np.diff(np.asarray(exact.kappa[0])) < 0)
