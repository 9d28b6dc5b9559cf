"""Run the browser tests if Debian's chromium is installed; say loudly when they are skipped.

Under CI (CI=true) a missing chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

CHROMIUM = "/usr/bin/chromium"


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
    return subprocess.call([sys.executable, "-m", "pytest", "-p", "no:playwright", "-m",
                            "browser", "-q"])


if __name__ == "__main__":
    sys.exit(main())
