"""Shared test setup. Append-friendly: add fixtures below, keep this block first."""

import sys
from pathlib import Path

# The stand-in for DSS's internal `dataiku` package (tests only).
sys.path.insert(0, str(Path(__file__).resolve().parent / "stand_in"))

pytest_plugins = ["dss_emulator.pytest_plugin"]
