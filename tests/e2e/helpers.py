"""Helpers shared by the acceptance tests (tests/e2e: the CLI; tests/integration: the engine).

Everything here talks to the bundled DSS emulator through the real `dataikuapi` client or
through the emulator's admin API; nothing is mocked. The CLI runs as a process of its own, as
a user or a CI pipeline runs it (forked from a server that imported it once: tests/support/cli.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable, Optional

from tests import support

# Shared with the other suites (tests/support), re-exported for the tests that import them from here.
from tests.support import (  # noqa: F401
    CLI,
    EXAMPLES,
    REPO,
    WRITE_METHODS,
    CliResult,
    cli_env,
    request_count,
    state_dir,
    wait_for,
    write_config,
    writes_since,
)

# The vendored copy of the real DSS documents (see tests/fixtures/dss-samples/SOURCES.md).
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "dss-samples"
OBJECT_TYPES = ("dataset", "managed_folder", "recipe", "scenario")

DEMO_YAML = """\
project:
  key: DEMO_PROJECT
  name: Demo Project

datasets:
  - name: TEST_DATA
    type: managed
    format: parquet
"""


# -- running the CLI -----------------------------------------------------------------------
def run_cli(dss: Any, root: Path, *args: str, expect: Optional[int] = 0, timeout: float = 120, env: Optional[dict] = None) -> CliResult:
    """Run `dataiku-iac -C root ARGS`; assert its exit code unless `expect` is None (never a traceback)."""
    return support.run_cli(root, *args, env=env or cli_env(dss), expect=expect, timeout=timeout)


def spawn_cli(dss: Any, root: Path, *args: str, env: Optional[dict] = None, log: Optional[Path] = None) -> subprocess.Popen:
    """Start the CLI without waiting (for kill/interrupt tests), in its own session; output goes to
    `log` (default root/cli.log, truncated)."""
    return support.spawn_cli(root, *args, env=env or cli_env(dss), log=log, new_session=True)


def plan_line(result: CliResult) -> str:
    """The closing line of a human plan: `Plan: …` or `No changes. …`."""
    return result.last_line()


def assert_no_changes(dss: Any, root: Path, env: str = "dev") -> CliResult:
    result = run_cli(dss, root, "plan", "-e", env, "--detailed-exitcode")
    assert result.last_line().startswith("No changes."), str(result)
    return result


# -- configurations ------------------------------------------------------------------------
def big_project_yaml(key: str = "BULK", *, pairs: int = 8, folders: int = 4, scenarios: int = 3, version: int = 1) -> str:
    """A project of 1 + folders + 2*pairs datasets + pairs+folders recipes + scenarios resources.

    raw_i (managed csv) -> prep_i (python) -> clean_i (managed parquet); clean_k -> report_k
    (python) -> folder f_k; scenarios build clean_i, watch raw_i or a folder, call each other.
    `version` 2 edits every kind of object: folder descriptions, recipe code and variables change
    (updates) and raw_0 becomes a Filesystem dataset (a replacement: delete, then create).
    """
    lines = [f"project:\n  key: {key}\n  name: Bulk project {key}\n  variables:\n    standard:\n      size: {pairs}\n      version: {version}\n"]
    lines.append("managed_folders:\n")
    lines += [f"  - name: f_{k}\n    description: folder {k} v{version}\n" for k in range(folders)]
    lines.append("datasets:\n")
    for i in range(pairs):
        if version > 1 and i == 0:
            lines.append(f"  - name: raw_{i}\n    type: filesystem\n    path: /landing/raw_{i}\n    format: csv\n")
        else:
            lines.append(f"  - name: raw_{i}\n    type: managed\n    format: csv\n")
        lines.append(f"  - name: clean_{i}\n    type: managed\n    format: parquet\n    tags: [clean]\n")
    lines.append("recipes:\n")
    for i in range(pairs):
        lines.append(f"  - name: prep_{i}\n    type: python\n    inputs: [raw_{i}]\n    outputs: [clean_{i}]\n    code: |\n      # prep {i} v{version}\n")
    for k in range(folders):
        lines.append(f"  - name: report_{k}\n    type: python\n    inputs: [clean_{k % pairs}]\n    outputs: [f_{k}]\n    code: |\n      # report {k}\n")
    if scenarios:
        lines.append("scenarios:\n")
    for s in range(scenarios):
        trigger = (
            f"      - type: dataset_change\n        datasets: [raw_{s % pairs}]\n"
            if s % 2 == 0
            else f"      - type: dataset_change\n        folders: [f_{s % folders}]\n"
        )
        steps = f"      - type: build\n        datasets: [clean_{s % pairs}]\n"
        if s > 0:
            steps += f"      - type: run_scenario\n        scenario: S_{s - 1}\n"
        lines.append(f"  - id: S_{s}\n    name: Scenario {s}\n    triggers:\n{trigger}    steps:\n{steps}")
    return "".join(lines)


def big_project_names(pairs: int = 8, folders: int = 4, scenarios: int = 3) -> dict[str, set[str]]:
    """The object names `big_project_yaml` declares, by type."""
    return {
        "dataset": {f"raw_{i}" for i in range(pairs)} | {f"clean_{i}" for i in range(pairs)},
        "managed_folder": {f"f_{k}" for k in range(folders)},
        "recipe": {f"prep_{i}" for i in range(pairs)} | {f"report_{k}" for k in range(folders)},
        "scenario": {f"S_{s}" for s in range(scenarios)},
    }


# -- looking at DSS through dataikuapi -------------------------------------------------------
def list_names(client: Any, project_key: str) -> dict[str, list[str]]:
    """Object names per type, as DSS lists them (duplicates kept: folders may share names)."""
    project = client.get_project(project_key)
    return {
        "dataset": sorted(d["name"] for d in project.list_datasets()),
        "managed_folder": sorted(f["name"] for f in project.list_managed_folders()),
        "recipe": sorted(r["name"] for r in project.list_recipes()),
        "scenario": sorted(s["id"] for s in project.list_scenarios()),
    }


def version_tags(client: Any, project_keys: Iterable[str]) -> dict[tuple, Any]:
    """(project, type, id) -> versionTag of every object (and the project's four documents)."""
    tags: dict[tuple, Any] = {}
    existing = set(client.list_project_keys())
    for key in project_keys:
        if key not in existing:
            continue
        project = client.get_project(key)
        summary = project.get_summary()
        tags[(key, "project", key)] = summary.get("versionTag")
        tags[(key, "project-settings", key)] = (project.get_settings().get_raw() or {}).get("versionTag")
        tags[(key, "project-metadata", key)] = json.dumps(project.get_metadata(), sort_keys=True)
        tags[(key, "project-permissions", key)] = json.dumps(project.get_permissions(), sort_keys=True)
        tags[(key, "project-variables", key)] = json.dumps(project.get_variables(), sort_keys=True)
        for item in project.list_datasets():
            tags[(key, "dataset", item["name"])] = project.get_dataset(item["name"]).get_settings().get_raw().get("versionTag")
        for item in project.list_managed_folders():
            tags[(key, "managed_folder", item["id"])] = project.get_managed_folder(item["id"]).get_settings().get_raw().get("versionTag")
        for item in project.list_recipes():
            data = project.get_recipe(item["name"]).get_settings().data
            tags[(key, "recipe", item["name"])] = (data["recipe"].get("versionTag"), data.get("payload"))
        for item in project.list_scenarios():
            tags[(key, "scenario", item["id"])] = project.get_scenario(item["id"]).get_settings().get_raw().get("versionTag")
    return tags


PREPARE_SCRIPT = "prepare-dev.sh"


def prepare_example(dss: Any, root: Path, env: dict[str, str]) -> None:
    """Run the example's `prepare-dev.sh`, when it has one, as its README's first steps do: what
    must happen in DSS before its first full apply (an administrator's API infrastructure, rows
    built before a model trains on them). `dataiku-iac` and `python` are this checkout's."""
    script = root / PREPARE_SCRIPT
    if not script.is_file():
        return
    shell = {**env, "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])}
    done = subprocess.run(["bash", str(script)], cwd=root, env=shell, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{script}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def unmark_project(client: Any, project_key: str) -> None:
    """Remove the dataiku-iac marker from a project's metadata: what a user does to import into a
    new state a project whose old state is given up (the importer refuses another state's)."""
    project = client.get_project(project_key)
    metadata = project.get_metadata()
    metadata["custom"]["kv"].pop("dataiku-iac.lineage", None)
    project.set_metadata(metadata)


# -- processes -----------------------------------------------------------------------------
def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the CLI process we started (its own session: it has no children of its own)."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)

