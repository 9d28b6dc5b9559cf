"""Packaging: the wheel carries every subpackage, and the numeric core needs no plotting library.

The wheel test builds ``srlm_kit`` from this source tree, installs it without dependencies into
an empty directory outside the tree, and runs the installed ``srlm-kit`` from there: the
numbers must come from the installed copy, never from the source tree or an editable install.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SUBPACKAGES = sorted(path.parent.relative_to(ROOT).as_posix().replace("/", ".")
                     for path in (ROOT / "srlm_kit").rglob("__init__.py"))


def test_importing_the_numeric_core_loads_no_plotting_or_widget_library():
    program = (
        "import sys\n"
        "import srlm_kit, srlm_kit.experiments, srlm_kit.cli\n"
        "from srlm_kit import bounds, checks, dynamics, instances, metrics, policies, theory\n"
        "loaded = sorted(name for name in sys.modules\n"
        "                if name.split('.')[0] in ('plotly', 'ipywidgets', 'anywidget'))\n"
        "print(','.join(loaded))\n")
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                               cwd=ROOT, check=True)
    assert completed.stdout.strip() == ""


def test_core_dependencies_exclude_the_books_libraries():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {requirement.split(">")[0].split("=")[0] for requirement in project["dependencies"]}
    # optax is numeric too: the Adam optimiser of the small transformer (srlm_kit.transformer);
    # xarray holds every experiment's result, which the command line prints.
    assert core == {"jax", "numpy", "scipy", "sympy", "optax", "xarray"}
    book = {requirement.split(">")[0] for requirement in project["optional-dependencies"]["book"]}
    assert {"plotly", "ipywidgets"} <= book


@pytest.mark.slow
def test_wheel_installs_every_subpackage_and_runs_away_from_the_source_tree(tmp_path):
    # Build from a copy, so that setuptools' build directory never lands in the source tree.
    source = tmp_path / "source"
    shutil.copytree(ROOT / "srlm_kit", source / "srlm_kit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(wheels), str(source)],
                   check=True, capture_output=True, cwd=tmp_path)
    (wheel,) = wheels.glob("srlm_kit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = {name.rsplit("/", 1)[0].replace("/", ".") for name in archive.namelist()
                    if name.endswith("/__init__.py")}
    assert packaged == set(SUBPACKAGES), sorted(set(SUBPACKAGES) ^ packaged)

    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-index", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, cwd=tmp_path)
    # Run from an empty directory with the install location first on the path; the installed
    # script's own interpreter (this one) supplies jax, numpy, scipy and sympy.
    work = tmp_path / "work"
    work.mkdir()
    environment = os.environ | {"PYTHONPATH": str(site), "PYTHONSAFEPATH": "1"}

    def installed(*arguments: str) -> str:
        completed = subprocess.run([sys.executable, str(site / "bin" / "srlm-kit"), *arguments],
                                   capture_output=True, text=True, cwd=work, env=environment)
        assert completed.returncode == 0, completed.stderr
        return completed.stdout

    where = subprocess.run([sys.executable, "-c", "import srlm_kit; print(srlm_kit.__file__)"],
                           capture_output=True, text=True, cwd=work, env=environment, check=True)
    assert pathlib.Path(where.stdout.strip()).is_relative_to(site)

    from srlm_kit.experiments import EXPERIMENTS

    assert installed("experiment", "--list").split() == sorted(EXPERIMENTS)
    settings = {"num_responses": 4, "kappa0s": [1.5, 3.0], "betas": [0.5, 2.0], "T": 3}
    data = json.loads(installed("experiment", "population_sharpening", *(
        part for name, value in settings.items() for part in ("--set", f"{name}={value}"))))
    from srlm_kit.cli import dataset_json

    assert data == dataset_json(EXPERIMENTS["population_sharpening"](**settings))
