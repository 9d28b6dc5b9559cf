"""Sphinx extension: the classroom pages offer the student notebooks, generated for this build.

The student notebooks are not stored in the repository; they are generated from the assignment
sources (``tools/make_assignments.py``). When a build starts, this extension generates them
(without grading the reference solutions, which ``make assignments`` and the test suite do) into
``_build/site-classroom/``, where each assignment's page links them with a ``{download}`` role:
Sphinx then copies each notebook into the site (``_downloads/``) and fails the strict build if
one is missing. A separate folder leaves ``_build/classroom`` (an instructor's ``make
assignments`` output, perhaps generated with a pinned ``--kit-ref``) untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)
SITE_CLASSROOM = Path("_build") / "site-classroom"


def generate_student_notebooks(app: Sphinx) -> None:
    """``builder-inited`` handler: generate every assignment into ``_build/site-classroom``."""
    tools = Path(__file__).resolve().parent
    if str(tools) not in sys.path:
        sys.path.insert(0, str(tools))
    import make_assignments

    output = Path(app.srcdir) / SITE_CLASSROOM
    logger.info(f"classroom: generating the student notebooks into {output}")
    make_assignments.main(["--output", str(output), "--no-run-tests"])


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", generate_student_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
