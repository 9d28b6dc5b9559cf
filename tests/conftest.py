"""Shared pytest set-up: make tests/ importable (the NumPy reference lives here)."""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
