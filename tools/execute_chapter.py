"""Execute one or more chapters (MyST Markdown notebooks) the way the book build does.

Usage: ``python tools/execute_chapter.py book/some_chapter.md [...]``. Runs every cell with
nbclient in the chapter's folder and reports the first failing cell with its traceback. Faster
than a full book build while writing a chapter; the strict build remains the final check.
"""

from __future__ import annotations

import pathlib
import sys
import time

import jupytext
import nbclient
from nbclient.exceptions import CellExecutionError


def execute(path: pathlib.Path) -> bool:
    notebook = jupytext.read(path)
    began = time.perf_counter()
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        print(f"FAILED {path} after {time.perf_counter() - began:.1f} s\n{error}")
        return False
    print(f"ok     {path} ({time.perf_counter() - began:.1f} s)")
    return True


def main(arguments: list[str]) -> int:
    if not arguments:
        print(__doc__)
        return 2
    results = [execute(pathlib.Path(argument).resolve()) for argument in arguments]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
