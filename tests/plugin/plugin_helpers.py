"""Helpers for the plugin tests (real dataikuapi against the emulator; nothing mocked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataiku_iac.dssclient import DssConnection, DssTarget

STATE_PROJECT = "IAC_STATE"
STATE_FOLDER = "iac_state"
ALICE_KEY = "alice-key"  # a non-admin user
ADMIN_USER_KEY = "ops-admin-key"  # a DSS admin (member of the administrators group)


def seed_users(dss: Any) -> None:
    dss.admin.seed(
        groups=[{"name": "administrators", "admin": True}, {"name": "data_team"}],
        users=[
            {"login": "alice", "groups": ["data_team"], "secrets": [{"name": "git_token", "value": "s3cr3t-T0KEN", "secret": True}]},
            {"login": "ops", "groups": ["administrators"]},
        ],
        api_keys=[
            {"key": ALICE_KEY, "id": "alice01", "login": "alice"},
            {"key": ADMIN_USER_KEY, "id": "ops01", "login": "ops"},
        ],
    )


def make_state_project(client: Any) -> str:
    keys = {p["projectKey"] for p in client.list_projects()}
    if STATE_PROJECT not in keys:
        client.create_project(STATE_PROJECT, "IaC state", "admin")
    project = client.get_project(STATE_PROJECT)
    perms = project.get_permissions()
    # The data team may write the state (and so take the lock), not administer the project.
    perms["permissions"] = [{"group": "data_team", "readProjectContent": True, "writeProjectContent": True}]
    project.set_permissions(perms)
    for folder in project.list_managed_folders():
        if folder["name"] == STATE_FOLDER:
            return folder["id"]
    return project.create_managed_folder(STATE_FOLDER).id


def connection_for(dss: Any, api_key: str | None = None) -> DssConnection:
    return DssConnection(DssTarget(url=dss.url, api_key=api_key or dss.api_key))


def state_spec(path: str = "") -> dict:
    spec = {"backend": "managed_folder", "project_key": STATE_PROJECT, "folder": STATE_FOLDER}
    if path:
        spec["path"] = path
    return spec


def write_files(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def small_state(env: str = "dev") -> Any:
    """A valid state document owning one project, for write tests."""
    from dataiku_iac.state import ResourceState, StateDocument

    doc = StateDocument.new(env)
    doc.put(ResourceState(address="project.DEMO", type="project", project_key="DEMO", name="DEMO", dss_id="DEMO", attributes={}, version_tag=None, depends_on=[]))
    return doc


def demo_config(project_key: str = "PLUG_DEMO", state_path: str = "") -> dict:
    """A small configuration (project, dataset, folder) whose state lives in the state folder."""
    state = f"\n  path: {state_path}" if state_path else ""
    return {
        "iac.yml": (
            "version: 1\nstate:\n  backend: managed_folder\n"
            f"  project_key: {STATE_PROJECT}\n  folder: {STATE_FOLDER}{state}\n"
        ),
        "environments/dev.yml": "variables:\n  owner_team: data\n",
        "projects/demo.yml": (
            f"project:\n  key: {project_key}\n  name: Plugin Demo\n"
            "datasets:\n  - name: TEST_DATA\n    type: managed\n    format: parquet\n"
            "managed_folders:\n  - name: models\n"
        ),
    }


def upload_library(client: Any, project_key: str, folder: str, files: dict) -> None:
    """Put `files` into the project library under /folder (the way a user or DSS's Git sync would)."""
    from dataiku_iac.dss.service import write_library_files

    keys = {p["projectKey"] for p in client.list_projects()}
    if project_key not in keys:
        client.create_project(project_key, project_key, "admin")
    write_library_files(client, project_key, folder, files)


def git_repo(root: Path, files: dict, subpath: str = "") -> str:
    """A local Git repository holding `files` under `subpath`; returns its path (a git URL)."""
    import git

    repo = git.Repo.init(root, initial_branch="main")
    write_files(root / subpath if subpath else root, files)
    repo.git.add(A=True)
    repo.git.execute(["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "config"])
    return str(root)


PLUGIN_ID = "dataiku-iac"
REPO = Path(__file__).resolve().parents[2]


def run_macro(client: Any, project_key: str, macro_id: str, params: dict) -> str:
    """Run one of our macros through DSS's public API; returns its (HTML) result or raises."""
    macro = client.get_project(project_key).get_macro(f"pyrunnable_{PLUGIN_ID}_{macro_id}")
    run_id = macro.run(params=params, wait=True)
    result = macro.get_result(run_id, as_type="string")
    return result.decode("utf-8") if isinstance(result, bytes) else result


def cli_plan_json(dss: Any, config_dir: Path, env: str = "dev") -> dict:
    """`dataiku-iac plan --json` in a subprocess, as a user would run it."""
    import json
    import os
    import subprocess
    import sys

    environ = {**os.environ, "DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key}
    proc = subprocess.run(
        [sys.executable, "-m", "dataiku_iac", "-C", str(config_dir), "plan", "-e", env, "--json"],
        env=environ, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def run_recipe(dss: Any, project_key: str, output: str, config: dict, rows_dir: Path) -> list:
    """Run custom-recipes/drift-report/recipe.py as DSS would (config and roles from the env)."""
    import json
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("DKU_")}
    env.update(
        PYTHONPATH=os.pathsep.join([str(REPO / "python-lib"), str(REPO / "tests" / "stand_in")]),
        DKU_DSS_URL=dss.url, DKU_API_KEY=dss.api_key, DKU_CURRENT_PROJECT_KEY=project_key,
        DKU_CUSTOM_RECIPE_CONFIG=json.dumps(config),
        DKU_CUSTOM_RECIPE_OUTPUTS=json.dumps({"report": [f"{project_key}.{output}"]}),
        DKU_STAND_IN_DATASETS_DIR=str(rows_dir),
    )
    recipe = REPO / "custom-recipes" / "drift-report" / "recipe.py"
    proc = subprocess.run([sys.executable, str(recipe)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path = rows_dir / f"{project_key}.{output}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]
