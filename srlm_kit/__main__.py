"""Entry point for ``python -m srlm_kit`` (see :mod:`srlm_kit.cli`)."""

import sys

from srlm_kit.cli import main

sys.exit(main())
