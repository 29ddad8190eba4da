"""`dataiku-iac graph` as a user runs it (issue 15 §7): offline (no DSS request, no API key, no
secret value), deterministic, every format, `--target`, and configuration errors as validate gives them."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests import support
from tests.e2e.helpers import request_count, run_cli, write_config

PROJECT = """\
project:
  key: GRAPH
  name: Graph
  variables:
    local:
      token: {secret_env: IAC_SECRET_GRAPH_TOKEN}
datasets:
  - name: raw
    type: managed
  - name: clean
    type: managed
recipes:
  - name: cleaning
    type: python
    inputs: [raw]
    outputs: [clean]
    code: "print('clean')\\n"
scenarios:
  - id: DAILY
    name: Daily
    steps:
      - {type: build, datasets: [clean]}
"""


def _offline_env() -> dict[str, str]:
    """No DSS credentials at all, and no secret value: what a laptop or a lint job has."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DKU_", "DATAIKU_IAC", "IAC_SECRET_"))}
    env.update(NO_COLOR="1")
    return env


def test_graph_needs_neither_dss_nor_secrets(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"graph.yml": PROJECT})
    dot = support.run_cli(root, "graph", "-e", "dev", env=_offline_env())
    assert dot.stdout.startswith('digraph "dataiku-iac" {')
    assert '"recipe.GRAPH.cleaning" -> "dataset.GRAPH.raw";' in dot.stdout
    assert '"scenario.GRAPH.DAILY" -> "dataset.GRAPH.clean";' in dot.stdout
    assert dot.stderr == ""
    again = support.run_cli(root, "graph", "-e", "dev", env=_offline_env())
    assert again.stdout == dot.stdout
    mermaid = support.run_cli(root, "graph", "-e", "dev", "--format", "mermaid", env=_offline_env())
    assert mermaid.stdout.splitlines()[0] == "flowchart RL"
    svg = support.run_cli(root, "graph", "-e", "dev", "--format", "svg", env=_offline_env())
    ET.fromstring(svg.stdout)


def test_graph_makes_no_dss_request(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"graph.yml": PROJECT})
    before = request_count(dss)
    shown = run_cli(dss, root, "graph", "-e", "dev", "--target", "recipe.GRAPH.cleaning", "--format", "mermaid")
    assert request_count(dss) == before
    assert "DAILY" not in shown.stdout and "cleaning" in shown.stdout


def test_graph_reports_configuration_errors_and_unknown_targets(tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"graph.yml": PROJECT.replace("outputs: [clean]", "outputs: [cleen]")})
    broken = support.run_cli(root, "graph", "-e", "dev", env=_offline_env(), expect=1)
    assert "projects/graph.yml:" in broken.stderr and "cleen" in broken.stderr, str(broken)
    root = write_config(tmp_path / "ok", {"graph.yml": PROJECT})
    unknown = support.run_cli(root, "graph", "-e", "dev", "--target", "dataset.GRAPH.nope", env=_offline_env(), expect=1)
    assert "--target dataset.GRAPH.nope: no such resource in the configuration" in unknown.stderr
