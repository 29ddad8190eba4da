"""`policies.require_approval: govern` inside DSS: the apply macro shows a plan's Govern approval
and applies only an approved one, through DSS's own Govern integration
(`/admin/get-govern-node-ref`: the plugin holds no Govern secret), and writes the outcome back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from dataiku_iac.dss.html import extract_plan_json
from plugin_helpers import demo_config, run_macro, upload_library, write_files

OPS = "OPS"
LIBRARY = {"source_kind": "library", "library_path": "iac", "environment": "dev"}


def _submit(dss: Any, govern: Any, config_dir: Any, plan: dict) -> dict:
    """`dataiku-iac govern submit` of the macro's plan JSON, as a CI job would (alice's key)."""
    path = config_dir / "dev.plan"
    path.write_text(json.dumps(plan), encoding="utf-8")
    environ = {**os.environ, "DKU_DSS_URL": dss.url, "DKU_API_KEY": dss.api_key, "GOVERN_URL": govern.url,
               "GOVERN_API_KEY": "govern-alice-key"}
    proc = subprocess.run([sys.executable, "-m", "dataiku_iac", "-C", str(config_dir), "govern", "submit", str(path), "--json"],
                          env=environ, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["change_request"]


def test_the_apply_macro_shows_the_approval_and_applies_only_an_approved_plan(dss: Any, state_project: Any, govern: Any, tmp_path: Any) -> None:
    files = demo_config()
    files["environments/dev.yml"] += "policies:\n  require_approval: govern\n"
    client = dss.client()
    upload_library(client, OPS, "iac", files)
    directory = write_files(tmp_path / "cfg", files)

    dry = run_macro(client, OPS, "apply", LIBRARY)
    assert "Govern approval unknown: Govern could not be read: this DSS has no Dataiku Govern integration" in dry
    dss.admin._call("POST", "/govern-node", {"url": govern.url, "api_key": govern.api_key})
    dry = run_macro(client, OPS, "apply", LIBRARY)
    assert "Govern approval pending:" in dry and "was not submitted to Govern" in dry
    plan = extract_plan_json(dry)
    request = _submit(dss, govern, directory, plan)

    pasted = run_macro(client, OPS, "apply", {**LIBRARY, "plan_json": json.dumps(plan)})
    assert "Pasted plan: Govern approval pending:" in pasted and "waiting for review" in pasted
    try:
        run_macro(client, OPS, "apply", {**LIBRARY, "dry_run": False, "plan_json": json.dumps(plan)})
        raise AssertionError("an unapproved plan was applied")
    except Exception as exc:  # the macro's failure, as DSS reports it
        assert "waiting for review" in str(exc)
    assert "PLUG_DEMO" not in client.list_project_keys()

    govern.client_for("govern-bob-key").get_artifact(request["artifact_id"]).get_signoff("review").add_approval("APPROVED")
    pasted = run_macro(client, OPS, "apply", {**LIBRARY, "plan_json": json.dumps(plan)})
    assert "Pasted plan: Govern approval approved:" in pasted and "approved by bob" in pasted
    applied = run_macro(client, OPS, "apply", {**LIBRARY, "dry_run": False, "plan_json": json.dumps(plan)})
    assert "Apply complete!" in applied and f"written back to change request {request['artifact_id']}" in applied
    assert govern.api_key not in dry + pasted + applied
    fields = govern.client().get_artifact(request["artifact_id"]).get_definition().get_raw()["fields"]
    assert fields["apply_status"] == "APPLIED" and fields["applied_by"] == "admin" and fields["state_serial_after"] >= 1
