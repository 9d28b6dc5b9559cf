"""The publishing workflow (``.github/workflows/publish.yml``) and the one place that names the
repository: what can be checked without GitHub."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def _readme_build_command() -> str:
    """The command the README gives for building the site (its first code block)."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()
                if "build the site" in line]
    assert len(commands) == 1, "the README's first code block names one build command"
    return commands[0]


def test_workflow_is_valid_yaml_with_a_build_and_a_deploy_job():
    workflow = _workflow()
    # PyYAML reads the key `on` as the boolean True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    assert triggers["push"]["branches"] == ["main"]
    assert set(workflow["jobs"]) == {"build", "deploy"}
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}


def test_workflow_builds_with_the_readmes_command_and_publishes_the_built_site():
    build = _workflow()["jobs"]["build"]
    runs = [step["run"].strip() for step in build["steps"] if "run" in step]
    assert _readme_build_command() == "make book"
    assert "make book" in runs
    python = [step for step in build["steps"] if step.get("uses", "").startswith(
        "actions/setup-python@")]
    assert python and python[0]["with"]["python-version"] == "3.11"
    upload = [step for step in build["steps"]
              if step.get("uses", "").startswith("actions/upload-pages-artifact@")]
    assert len(upload) == 1 and upload[0]["with"]["path"] == "_build/html"
    assert runs.index("make book") < build["steps"].index(upload[0])


def test_deploy_job_deploys_the_uploaded_artifact_to_pages():
    deploy = _workflow()["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert deploy["environment"]["name"] == "github-pages"
    assert [step["uses"].split("@")[0] for step in deploy["steps"]] == ["actions/deploy-pages"]


def test_the_make_target_the_workflow_runs_exists():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^book:", makefile, re.M)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://github.com/a/b", "https://mybinder.org/v2/gh/a/b/main?urlpath=lab"),
    ("https://github.com/a/b/", "https://mybinder.org/v2/gh/a/b/main?urlpath=lab"),
])
def test_binder_address_is_made_from_the_repository(url, expected):
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from page_assets import binder_url
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert binder_url("https://mybinder.org/", url, "main") == expected


def test_repository_is_named_once_in_the_configuration():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"]
    assert url.startswith("https://github.com/")
    text = (ROOT / "_config.yml").read_text()
    assert text.count(url.removeprefix("https://")) == 1
    assert url.removeprefix("https://") not in WORKFLOW.read_text()


def _tracked_files() -> list[Path]:
    """The repository's files (tracked, or new and not ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines() if (ROOT / name).is_file()]


def test_no_page_or_tool_writes_the_repository_address():
    """Pages use the substitutions ``{{ repository_url }}``, ``{{ binder_url }}`` (or the
    ``{repository-code}`` directive in code blocks), tools read ``_config.yml``. The README is
    the exception: GitHub shows it without building anything, so its Binder badge spells the
    address out, and must spell the configured one."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    owner_and_name = config["repository"]["url"].rstrip("/").removeprefix("https://github.com/")
    files = _tracked_files()
    assert ROOT / "book" / "appendix" / "using.md" in files  # the listing sees the pages
    naming = sorted(str(path.relative_to(ROOT)) for path in files
                    if path.suffix not in {".png", ".svg", ".ico", ".woff2"}
                    and owner_and_name in path.read_text(errors="replace"))
    assert naming == ["README.md", "_config.yml"], naming
    readme_repositories = set(re.findall(r"mybinder\.org/v2/gh/([^/]+/[^/]+)/",
                                         (ROOT / "README.md").read_text()))
    assert readme_repositories == {owner_and_name}


def _repository_code():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import repository_code
    finally:
        sys.path.remove(str(ROOT / "tools"))
    return repository_code


def test_repository_code_substitutes_inside_a_code_block():
    substitute = _repository_code().substitute
    values = {"repository_url": "https://github.com/a/b", "binder_url": "https://binder/x"}
    assert substitute("git clone {{ repository_url }} b\ncd b", values) == (
        "git clone https://github.com/a/b b\ncd b")
    # BibTeX braces around a placeholder, and a double-braced BibTeX value, are kept.
    assert substitute(r"url = {\url{{{repository_url}}}}, author = {{The authors}}", values) == (
        r"url = {\url{https://github.com/a/b}}, author = {{The authors}}")
    with pytest.raises(KeyError, match="repository_ur"):
        substitute("{{ repository_ur }}", values)
