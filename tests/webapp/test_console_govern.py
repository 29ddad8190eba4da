"""The console under `policies.require_approval: govern`: the plan view carries the plan's Govern
approval (read through DSS's own Govern integration), and an apply of an unapproved plan fails
in the job, before any change."""

from __future__ import annotations

from typing import Any

from tests.webapp.console_setup import ADMIN, DEMO_KEY, OPS_PROJECT, World, write_library
from tests.webapp.test_console_api import apply_plan, plan


def test_the_plan_view_shows_the_govern_approval_and_the_gate_holds(dss: Any, govern: Any, as_user: Any, world: World) -> None:
    api = as_user(ADMIN)
    assert plan(api, world)["govern"] is None  # no approval required: nothing asked of Govern
    write_library(dss.client(), OPS_PROJECT, "iac", {"environments/dev.yml": "variables: {}\npolicies:\n  require_approval: govern\n"})
    dss.admin._call("POST", "/govern-node", {"url": govern.url, "api_key": govern.api_key})
    view = plan(api, world)
    assert view["govern"]["state"] == "pending" and "was not submitted to Govern" in view["govern"]["reason"]
    assert not any("Govern approval" in note for note in view["notes"])  # shown once, as its own line
    job = apply_plan(api, view)
    assert job["status"] != "done" or not job.get("ok", True), job
    assert job["status"] == "failed" and "apply refused: the plan" in job["message"]
    assert "was not submitted to Govern" in job["message"]
    assert DEMO_KEY not in dss.client().list_project_keys()
