"""Acceptance point 2: every example configuration converges.

For each directory under examples/ (each has a dev environment; none is skipped): apply, then
plan says `No changes.`; a second apply changes nothing in DSS: no POST/PUT/DELETE reaches the
public API, and no object's versionTag (nor any project document) moves; drift then finds
nothing and writes nothing; and `pull` has nothing to pull: it writes nothing to DSS, and every
file of the example stays byte for byte as it was.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import (
    EXAMPLES,
    cli_env,
    prepare_example,
    request_count,
    run_cli,
    version_tags,
    writes_since,
)
from tests.support import example_secrets


def example_dirs() -> list[Path]:
    return sorted(p for p in EXAMPLES.iterdir() if p.is_dir() and not p.name.startswith("."))


def test_every_example_has_a_dev_environment() -> None:
    dirs = example_dirs()
    assert dirs, "no examples found"
    for directory in dirs:
        assert (directory / "environments" / "dev.yml").is_file(), f"{directory.name} has no dev environment"
        assert list((directory / "projects").glob("*.y*ml")), f"{directory.name} has no project file"


def _effective_keys(root: Path) -> set[str]:
    state = json.loads((root / ".dataiku-iac" / "state" / "dev" / "state.json").read_text())
    return {r["project_key"] for r in state["resources"].values()}


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_example_converges(dss: Any, tmp_path: Path, example: Path) -> None:
    root = tmp_path / example.name
    shutil.copytree(example, root, ignore=shutil.ignore_patterns(".dataiku-iac", "*.tfplan.json"))
    env = cli_env(dss, **example_secrets(root))  # the secrets its reporters reference, set as a user does
    prepare_example(dss, root, env)  # what its README does in DSS before the first full apply
    run_cli(dss, root, "validate", "-e", "dev", env=env)
    first = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert "Apply complete!" in first.stdout, str(first)
    plan = run_cli(dss, root, "plan", "-e", "dev", "--detailed-exitcode", env=env)
    assert plan.last_line().startswith("No changes."), str(plan)

    keys = sorted(_effective_keys(root))
    assert keys, "the example created no project"
    client = dss.client()
    tags_before = version_tags(client, keys)
    assert len(tags_before) > 5 * len(keys) - 1, tags_before
    before = request_count(dss)
    second = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert second.last_line().startswith("No changes."), str(second)
    assert writes_since(dss, before) == [], "the second apply wrote to DSS"
    assert version_tags(client, keys) == tags_before, "a versionTag moved during the second apply"
    before_drift = request_count(dss)
    drift = run_cli(dss, root, "drift", "-e", "dev", env=env)
    assert drift.stdout.startswith("No drift."), str(drift)
    assert writes_since(dss, before_drift) == [], "drift wrote to DSS"
    files = _config_files(root)
    before_pull = request_count(dss)
    pulled = run_cli(dss, root, "pull", "-e", "dev", env=env)
    assert pulled.stdout.startswith("Nothing to pull."), str(pulled)
    assert writes_since(dss, before_pull) == [], "pull wrote to DSS"
    assert _config_files(root) == files, "a pull with nothing to pull changed a file"


def _config_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".dataiku-iac" not in p.parts}
