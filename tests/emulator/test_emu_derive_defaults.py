"""The emulator's default documents are reproducible: emulator/tools/derive_defaults.py, run on the
repository's copy of the real DSS samples, writes dss_emulator/defaults/*.json byte for byte."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "emulator" / "tools" / "derive_defaults.py"
SAMPLES = ROOT / "tests" / "fixtures" / "dss-samples"
DEFAULTS = ROOT / "emulator" / "dss_emulator" / "defaults"


def test_derive_defaults_reproduces_every_committed_default(tmp_path):
    out = tmp_path / "defaults"
    subprocess.run([sys.executable, str(TOOL), str(SAMPLES), "--out", str(out)], check=True, cwd=tmp_path)
    derived = {p.name: p.read_bytes() for p in sorted(out.glob("*.json"))}
    committed = {p.name: p.read_bytes() for p in sorted(DEFAULTS.glob("*.json"))}
    assert sorted(derived) == sorted(committed), "a default file the tool does not write, or the reverse"
    changed = [name for name in committed if derived[name] != committed[name]]
    assert not changed, f"re-run emulator/tools/derive_defaults.py and commit: {changed} differ"


def test_the_tool_reads_the_repository_samples_by_default(tmp_path):
    """Without SAMPLES_DIR it reads tests/fixtures/dss-samples (never a directory outside the repo)."""
    out = tmp_path / "defaults"
    subprocess.run([sys.executable, str(TOOL), "--out", str(out)], check=True, cwd=tmp_path)
    assert (out / "dataset_base.json").read_bytes() == (DEFAULTS / "dataset_base.json").read_bytes()
