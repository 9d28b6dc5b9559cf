"""Generate the classroom assignments: a student notebook and an autograder per source.

Each assignment has one source, ``classroom/source/NN-name/NN-name.md``: a MyST Markdown notebook
in Otter Assign's master format (solutions between ``# BEGIN SOLUTION`` / ``# END SOLUTION``,
public and hidden tests between ``# BEGIN TESTS`` / ``# END TESTS``). For every source this script

1. converts the MyST source to a master ``.ipynb`` with jupytext (Otter Assign reads only
   notebooks) and gives its cells stable ids;
2. runs ``otter assign``, which writes ``student/`` (no solutions, public tests only) and
   ``autograder/`` (solutions, all tests, and the autograder zip) and, unless ``--no-run-tests``,
   grades the reference solution and fails unless it scores full marks;
3. makes the output reproducible: cell ids numbered in order, no jupytext metadata, and the
   autograder zip renamed from Otter's timestamped name to ``NN-name-autograder.zip`` and rewritten
   with fixed dates and a fixed order;
4. writes a GitHub Classroom template repository per assignment (``template/``) and a checksum
   list ``SHA256SUMS`` of everything meant for distribution.

Usage: ``python tools/make_assignments.py [--output DIR] [--only NN-name] [--no-run-tests]``
(``make assignments`` runs it with the defaults, output in ``_build/classroom``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import pathlib
import re
import shutil
import sys
import zipfile

import jupytext
import nbformat
import yaml

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import page_assets  # noqa: E402  (this folder's Sphinx extension: the repository's address)

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "classroom" / "source"
OUTPUT = ROOT / "_build" / "classroom"
BINDER = "{binderhub}/v2/gh/{repository}/{branch}?urlpath=lab/tree/{path}"
#: Where the book's Binder image holds the student notebooks: ``postBuild`` runs this script
#: with its default output when the image is built.
BINDER_NOTEBOOK = "_build/classroom/{name}/student/{name}.ipynb"
#: Packages a student environment needs (Binder, a lab machine); versions are read from the
#: project's own pins so that students and the grader run the same code.
STUDENT_PACKAGES = ("jax", "jaxlib", "numpy", "scipy", "sympy", "otter-grader", "ipykernel",
                    "ipywidgets", "plotly", "ml_dtypes", "opt_einsum")
#: The kit, installed from the book's repository (``repository.url`` of ``_config.yml``, or
#: ``BOOK_REPOSITORY_URL`` when the publishing workflow sets it, as for the site's pages).
KIT_REQUIREMENT = "srlm_kit @ git+https://github.com/{repository}@{ref}"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def sources(only: list[str] | None = None) -> list[pathlib.Path]:
    """The assignment sources, in order; ``only`` restricts them to the named assignments."""
    found = sorted(path for path in SOURCE.glob("*/*.md") if path.stem == path.parent.name)
    if only:
        unknown = set(only) - {path.stem for path in found}
        if unknown:
            raise SystemExit(f"unknown assignment(s): {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(path.stem for path in found)}")
        found = [path for path in found if path.stem in only]
    return found


def normalise(notebook: nbformat.NotebookNode, prefix: str) -> nbformat.NotebookNode:
    """Stable cell ids (prefix + position) and no editor-specific metadata."""
    notebook.metadata.pop("jupytext", None)
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}
    notebook.metadata["language_info"] = {"name": "python"}
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{prefix}{index:03d}"
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return notebook


def write_notebook(notebook: nbformat.NotebookNode, path: pathlib.Path) -> None:
    nbformat.validate(notebook)
    text = nbformat.writes(notebook, version=4)
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")


def master_notebook(source: pathlib.Path, target: pathlib.Path) -> None:
    """Convert the MyST source to the ``.ipynb`` master that Otter Assign reads."""
    notebook = jupytext.read(source)
    if notebook.metadata.get("kernelspec", {}).get("language") != "python":
        raise SystemExit(f"{source}: the header must declare a Python kernelspec")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_notebook(normalise(notebook, "m"), target)


def deterministic_zip(source: pathlib.Path, target: pathlib.Path) -> None:
    """Rewrite a zip with sorted entries, fixed dates and fixed permissions."""
    with zipfile.ZipFile(source) as original:
        entries = sorted((info.filename, original.read(info)) for info in original.infolist()
                         if not info.is_dir())
    with zipfile.ZipFile(target, "w") as rewritten:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            executable = name in {"run_autograder", "setup.sh"}
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            rewritten.writestr(info, data)


def student_requirements(kit_ref: str = "main") -> str:
    """Pinned requirements for a student environment, taken from the project's pins (the
    reader's ``requirements.txt`` and, for the grading stack, ``requirements-dev.txt``)."""
    pins = {}
    for pinned in ("requirements.txt", "requirements-dev.txt"):
        for line in (ROOT / pinned).read_text().splitlines():
            name, _, version = line.partition("==")
            if version:
                pins[name.strip().lower().replace("_", "-")] = line.strip()
    missing = [name for name in STUDENT_PACKAGES if name.replace("_", "-") not in pins]
    if missing:
        raise ValueError(f"no exact pin for {missing} in requirements.txt or requirements-dev.txt")
    wanted = [pins[name.replace("_", "-")] for name in STUDENT_PACKAGES]
    kit = KIT_REQUIREMENT.format(repository=book_configuration()["repository"], ref=kit_ref)
    return "\n".join(["# Student environment of the srlm_kit assignments (also Binder's).",
                      *wanted, kit, ""])


def write_template(name: str, student: pathlib.Path, target: pathlib.Path,
                   kit_ref: str = "main") -> None:
    """A GitHub Classroom template repository: the student notebook and Binder's configuration."""
    target.mkdir(parents=True)
    shutil.copyfile(student, target / student.name)
    (target / "requirements.txt").write_text(student_requirements(kit_ref))
    shutil.copyfile(ROOT / "runtime.txt", target / "runtime.txt")
    link = BINDER.format(binderhub=book_configuration()["binderhub"],
                         repository="<owner>/<repository>", branch="main", path=student.name)
    (target / "README.md").write_text(
        f"# {name}\n\n"
        f"Your assignment is the notebook `{student.name}`. Do not rename it.\n\n"
        "- **On your computer:** `python3.11 -m venv .venv && . .venv/bin/activate && "
        "pip install -r requirements.txt jupyterlab && jupyter lab`.\n"
        f"- **On Binder** (only if this repository is public): {link}\n"
        "  A Binder server is temporary: download the notebook (File, Download) before you "
        "close the tab, and commit it here.\n\n"
        "Run every cell from the top (Kernel, Restart and Run All), check that the "
        "`grader.check` cells pass, then commit and push the notebook.\n")


def book_configuration() -> dict:
    """The book's repository (``owner/name``), branch and BinderHub, read from ``_config.yml``.

    ``BOOK_REPOSITORY_URL`` overrides the repository, as it does for the site's launch buttons
    (``tools/page_assets.py``), so a fork's classroom pages and student environments point at
    the fork."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = os.environ.get(page_assets.REPOSITORY_VARIABLE) or config["repository"]["url"]
    url = url.rstrip("/")
    if not url.startswith("https://github.com/"):
        raise SystemExit(f"the repository must be a GitHub repository (repository.url of "
                         f"_config.yml or {page_assets.REPOSITORY_VARIABLE}), got {url}")
    return {"repository": url.removeprefix("https://github.com/"),
            "branch": config["repository"].get("branch", "main"),
            "binderhub": config["launch_buttons"]["binderhub_url"].rstrip("/")}


def launch_links(name: str) -> dict[str, str]:
    """The Binder launch of assignment ``name``'s student notebook on the book's own image."""
    config = book_configuration()
    return {"binder": BINDER.format(binderhub=config["binderhub"],
                                    repository=config["repository"], branch=config["branch"],
                                    path=BINDER_NOTEBOOK.format(name=name)),
            "repository": f"https://github.com/{config['repository']}"}


def run_otter_assign(master: pathlib.Path, result: pathlib.Path, run_tests: bool) -> None:
    """``otter assign --no-pdfs master result``, in this process.

    The function behind the command, not a new ``python -m otter`` per assignment: importing
    Otter and its Jupyter stack takes seconds, and the sources are many (the book build, the
    tests and Binder's ``postBuild`` generate every assignment). Otter's output is shown only
    if it fails.
    """
    from otter.assign import main as otter_assign

    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            otter_assign(str(master), str(result), no_pdfs=True, no_run_tests=not run_tests)
    except Exception as error:
        sys.stderr.write(output.getvalue())
        raise SystemExit(f"otter assign failed for {master.name}: {error}") from error


def generate(source: pathlib.Path, output: pathlib.Path, run_tests: bool = True,
             kit_ref: str = "main") -> pathlib.Path:
    """Generate one assignment into ``output/NN-name``; returns that directory."""
    name = source.stem
    result = output / name
    work = output / ".masters" / name
    for stale in (result, work):
        if stale.exists():
            shutil.rmtree(stale)
    master = work / f"{name}.ipynb"
    master_notebook(source, master)
    run_otter_assign(master, result, run_tests)

    for part, prefix in (("student", "s"), ("autograder", "a")):
        path = result / part / f"{name}.ipynb"
        write_notebook(normalise(nbformat.read(path, as_version=4), prefix), path)
    stamped = sorted((result / "autograder").glob(f"{name}-autograder_*.zip"))
    if len(stamped) != 1:
        raise SystemExit(f"expected one autograder zip for {name}, found {len(stamped)}")
    deterministic_zip(stamped[0], result / "autograder" / f"{name}-autograder.zip")
    stamped[0].unlink()
    write_template(name, result / "student" / f"{name}.ipynb", result / "template", kit_ref)
    shutil.rmtree(work)
    return result


#: Assumptions of the time estimate (``catalogue``): reading the setting, writing and debugging one
#: line of the reference solution, and one written answer (a short proof or paragraph).
MINUTES_READING, MINUTES_PER_SOLUTION_LINE, MINUTES_PER_WRITTEN_ANSWER = 15, 3, 15


def _raw_config(cell) -> tuple[str, dict]:
    """(``begin question`` / ``begin tests`` / ..., its YAML config) of an Otter raw cell."""
    lines = cell.source.splitlines()
    head = " ".join(lines[0].lstrip("# ").lower().split()) if lines else ""
    body = yaml.safe_load("\n".join(lines[1:])) if len(lines) > 1 else None
    return head, body or {}


def catalogue(source: pathlib.Path) -> dict:
    """What an assignment source contains: title, goals, questions, points, tests, solution size.

    Read from the source itself, so the book's table of assignments cannot drift from what is
    generated and graded. ``minutes`` is an *estimate* of a student's working time:
    ``MINUTES_READING + MINUTES_PER_SOLUTION_LINE * solution_lines
    + MINUTES_PER_WRITTEN_ANSWER * written questions``.
    """
    notebook = jupytext.read(source)
    questions, current, block = [], None, None
    solution_lines = 0
    for cell in notebook.cells:
        if cell.cell_type == "raw":
            head, config = _raw_config(cell)
            if head == "begin question":
                current = {"name": config["name"], "manual": bool(config.get("manual")),
                           "points": config.get("points", 0), "tests": []}
                questions.append(current)
            elif head.startswith("begin "):
                block = head.split()[1]
            elif head in ("end solution", "end tests"):
                block = None
            continue
        if cell.cell_type != "code" or current is None:
            continue
        if block == "tests":
            match = re.match(r'"""\s*# BEGIN TEST CONFIG\n(.*?)"""\s*# END TEST CONFIG',
                             cell.source, re.S)
            config = yaml.safe_load(match.group(1)) if match else {}
            current["tests"].append({"hidden": bool(config.get("hidden")),
                                     "points": config.get("points")})
        elif block == "solution":
            inside = False
            for line in cell.source.splitlines():
                stripped = line.strip()
                if stripped == "# BEGIN SOLUTION":
                    inside = True
                elif stripped == "# END SOLUTION":
                    inside = False
                elif stripped and (inside or stripped.endswith("# SOLUTION")):
                    solution_lines += 1
    first = notebook.cells[[cell.cell_type for cell in notebook.cells].index("markdown")].source
    title = re.search(r"^# (.+)$", first, re.M).group(1)
    accompanies = re.search(r"\*Accompanies the chapter on (.+?)\.\*", first).group(1)
    goals = re.search(r"\*\*What you will learn\.\*\* (.+?)(?:\n\n|$)", first, re.S).group(1)
    autograded = [question for question in questions if not question["manual"]]
    written = [question for question in questions if question["manual"]]
    return {
        "name": source.stem,
        "title": title.split(": ", 1)[-1],
        "accompanies": accompanies,
        "goals": " ".join(goals.split()),
        "autograded_questions": len(autograded),
        "written_questions": len(written),
        "autograded_points": sum(question["points"] for question in autograded),
        "written_points": sum(question["points"] for question in written),
        "public_tests": sum(not test["hidden"] for q in autograded for test in q["tests"]),
        "hidden_tests": sum(test["hidden"] for q in autograded for test in q["tests"]),
        "solution_lines": solution_lines,
        "minutes": (MINUTES_READING + MINUTES_PER_SOLUTION_LINE * solution_lines
                    + MINUTES_PER_WRITTEN_ANSWER * len(written)),
    }


def rounded_time(minutes: float) -> str:
    """Minutes to the nearest quarter hour, as text ("about 1½ h", "about 45 min")."""
    quarters = round(minutes / 15)
    hours, rest = divmod(quarters, 4)
    fraction = ["", "¼", "½", "¾"][rest]
    return f"about {hours}{fraction} h" if hours else f"about {15 * quarters} min"


def page_markdown(name: str) -> str:
    """The generated part of an assignment's page: what it teaches, its questions and points,
    the estimated time, and the Binder launch (the download link is in the page itself)."""
    (source,) = sources([name])
    entry = catalogue(source)
    links = launch_links(name)
    return "\n".join([
        entry["goals"],
        "",
        f"- **Questions:** {entry['autograded_questions']} autograded "
        f"({entry['autograded_points']} points; {entry['public_tests']} public and "
        f"{entry['hidden_tests']} hidden tests) and {entry['written_questions']} written "
        f"({entry['written_points']} points, graded by hand against a rubric).",
        f"- **Time:** {rounded_time(entry['minutes'])} (an estimate; see the instructor guide).",
        f"- **Launch on Binder:** [open `{name}.ipynb` in JupyterLab]({links['binder']}), on "
        "the book's Binder, which has the kit and the grader installed. A Binder server is "
        "temporary: download your notebook (File, Download) before you close the tab.",
    ])


def write_checksums(output: pathlib.Path) -> None:
    lines = []
    for path in sorted(output.glob("*/student/*.ipynb")) + sorted(
            output.glob("*/autograder/*-autograder.zip")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(output).as_posix()}")
    (output / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=pathlib.Path, default=OUTPUT,
                        help="output directory (default: _build/classroom)")
    parser.add_argument("--only", action="append", metavar="NN-name",
                        help="generate only this assignment (repeatable)")
    parser.add_argument("--no-run-tests", action="store_true",
                        help="skip grading the reference solutions during generation")
    parser.add_argument("--kit-ref", default="main",
                        help="git commit or tag of srlm_kit in the templates' requirements.txt")
    arguments = parser.parse_args(argv)
    output = arguments.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    for source in sources(arguments.only):
        result = generate(source, output, run_tests=not arguments.no_run_tests,
                          kit_ref=arguments.kit_ref)
        print(f"generated {result.relative_to(output.parent)}"
              + ("" if arguments.no_run_tests else " (reference solution: full marks)"))
    if output.joinpath(".masters").exists():
        shutil.rmtree(output / ".masters")
    write_checksums(output)


if __name__ == "__main__":
    main()
