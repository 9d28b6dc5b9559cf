"""Run the browser tests if Debian's chromium is installed; say loudly when they are skipped.

Under CI (CI=true) a missing chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"
WORKERS = os.environ.get("BROWSER_WORKERS", "2")


def main() -> int:
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        if os.environ.get("CI", "").lower() == "true":
            print("ERROR: chromium is missing under CI; .ci/run must install it.", file=sys.stderr)
            return 1
        banner = "*" * 72
        print(f"{banner}\nBROWSER TESTS SKIPPED: {CHROMIUM} not found.\n"
              f"Install it with: apt-get install chromium\n{banner}")
        return 0
    # -p no:playwright: the tests drive chromium themselves (tests/test_site.py); the
    # pytest-playwright plugin would only add its own browser parametrization to them.
    # Two pytest-xdist workers, each with its own chromium and local server; --dist loadgroup
    # keeps each page's checks on one worker (tests/test_site.py groups them by page), so a
    # page is opened, and its experiments computed, once.
    return subprocess.call([sys.executable, "-m", "pytest", "-p", "no:playwright", "-m",
                            "browser", "-q", "-n", WORKERS, "--dist", "loadgroup"])


if __name__ == "__main__":
    sys.exit(main())
