"""Inside DSS the state must live in DSS (issue 10, security 5): a configuration read from a
project library or a Git repository is a temporary copy, so the default local backend would
write the state into it and lose it after the run."""

from __future__ import annotations

import pytest
from dataiku_iac.dss.service import open_session, write_library_files
from dataiku_iac.errors import StateError
from plugin_helpers import demo_config

OPS = "OPS"
NO_STATE_BLOCK = {**demo_config(), "iac.yml": "version: 1\n"}


@pytest.mark.parametrize("source", ["library", "git"])
def test_the_local_state_backend_is_refused_inside_dss(dss, tmp_path, source):
    client = dss.client()
    client.create_project(OPS, "Operations", "admin")
    if source == "library":
        write_library_files(client, OPS, "iac", NO_STATE_BLOCK)
        spec = {"kind": "library", "project_key": OPS, "path": "iac"}
    else:
        from plugin_helpers import git_repo

        spec = {"kind": "git", "url": git_repo(tmp_path / "repo", NO_STATE_BLOCK), "ref": "main"}
    with open_session(dss.client, spec, "dev") as session, pytest.raises(StateError) as refused:
        session.plan()
    message = str(refused.value)
    assert "the local state backend (the default) cannot be used inside DSS" in message
    assert f"({source} source)" in message and "backend: managed_folder" in message
    assert "PLUG_DEMO" not in {p["projectKey"] for p in client.list_projects()}
