"""Lifecycle (issue 10): apply, destroy and apply again, over and over, on every state backend.

Per-branch copies and test environments are created and torn down all the time: destroy leaves a
state that holds no resources, and the next apply must continue that state (one lineage, serials
without a gap), not start a new one that the stored state then refuses.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from dataiku_iac.engine.dss import DssConnection, DssTarget
from dataiku_iac.state import open_state

from tests.e2e.helpers import DEMO_YAML, cli_env, write_config
from tests.support import run_cli

STATE_PROJECT = "IAC_STATE"


def _state_block(backend: str, dss: Any, request: pytest.FixtureRequest) -> tuple[dict, dict]:
    """(state spec, extra CLI environment) for `backend`."""
    if backend == "local":
        return {"backend": "local"}, {}
    if backend == "managed_folder":
        project = dss.client().create_project(STATE_PROJECT, "IaC state", "admin")
        project.create_managed_folder("iac_state")
        return {"backend": "managed_folder", "project_key": STATE_PROJECT, "folder": "iac_state"}, {}
    from tests.s3_server import BUCKET, CREDENTIALS

    server = request.getfixturevalue("s3_server")
    spec = {"backend": "s3", "bucket": BUCKET, "key_prefix": f"cycle/{uuid.uuid4().hex}", "endpoint_url": server.url}
    return spec, dict(CREDENTIALS)


def _iac_yml(spec: dict) -> str:
    lines = "".join(f"  {k}: {v}\n" for k, v in spec.items())
    return f"state:\n{lines}"


@pytest.mark.parametrize("backend", ["local", "managed_folder", "s3"])
def test_destroy_then_apply_converges_on_one_lineage(
    dss: Any, tmp_path: Path, backend: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, extra = _state_block(backend, dss, request)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)  # for the reader below
    root = write_config(tmp_path / "cfg", {"demo.yml": DEMO_YAML}, iac=_iac_yml(spec))
    env = cli_env(dss, **extra)
    for _round in range(2):
        applied = run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
        assert "Resources: 2 added" in applied.stdout, str(applied)
        run_cli(root, "destroy", "-e", "dev", "--auto-approve", env=env)
    run_cli(root, "apply", "-e", "dev", "--auto-approve", env=env)
    assert run_cli(root, "plan", "-e", "dev", env=env).last_line().startswith("No changes."), "converged"

    connection = DssConnection(DssTarget(url=dss.url, api_key=dss.api_key))
    reader = open_state(spec, environment="dev", config_root=root, connection=connection)
    history = reader.history()
    assert [h.serial for h in history] == [1, 2, 3, 4, 5]
    assert len({h.lineage for h in history}) == 1
    assert [h.resource_count for h in history] == [2, 0, 2, 0, 2]
