"""Issue 14 item 5: `policies.require_approval: govern`, `govern submit|status`, the gate of apply
and the outcome written back, through the real dataikuapi GovernClient against the Govern
emulator (fixture `govern`) and the CLI against the DSS emulator.

The flow: plan → status "not submitted" → submit → pending → apply refused (exit 3) → approved by
the submitter: refused (exit 4) → approved by someone else → apply succeeds → the artifact holds
the outcome; the approved request of an older plan does not unlock a newer plan; an edited plan
is refused at submit, status and apply; Govern unreachable fails closed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import list_names, run_cli, write_config
from tests.support.cli import cli_env

PROJECT = """\
project:
  key: GOVERNED
  name: Governed project
datasets:
  - name: orders
    type: managed
"""
MORE = """\
  - name: refunds
    type: managed
"""
DEV = """\
dss:
  api_key_env: DKU_API_KEY
policies:
  require_approval: govern
"""


def _env(dss: Any, govern: Any, key: str = "govern-alice-key", **extra: str) -> dict:
    return cli_env(dss, **{"GOVERN_URL": govern.url, "GOVERN_API_KEY": key, "GITHUB_SHA": "0123abcd" * 5, **extra})


def _request(govern: Any, artifact_id: str) -> dict:
    return govern.client_for(govern.api_key).get_artifact(artifact_id).get_definition().get_raw()


def test_submit_approve_apply_and_the_audit_trail(dss: Any, govern: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"governed.yml": PROJECT}, env=DEV)
    alice = _env(dss, govern)
    run_cli(dss, root, "plan", "-e", "dev", "--out", "dev.plan", env=alice)
    digest = json.loads((root / "dev.plan").read_text())["digest"]

    # Without a saved plan, and without Govern configured, nothing is applied.
    unsaved = run_cli(dss, root, "apply", "-e", "dev", "--auto-approve", env=alice, expect=4)
    assert "applies only plans approved in Dataiku Govern" in unsaved.stderr
    unset = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=cli_env(dss), expect=1)
    assert "GOVERN_URL and GOVERN_API_KEY" in unset.stderr
    down = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=_env(dss, govern, GOVERN_URL="http://127.0.0.1:9"), expect=1)
    assert "failed" in down.stderr and "govern-alice-key" not in down.output

    status = run_cli(dss, root, "govern", "status", "dev.plan", env=alice, expect=3)
    assert "was not submitted to Govern" in status.stdout

    submitted = run_cli(dss, root, "govern", "submit", "dev.plan", "--json", env=alice).json()
    request = submitted["change_request"]
    assert submitted["created"] and request["plan_digest"] == digest and request["requested_by"] == "alice"
    assert request["signoff_status"] == "WAITING_FOR_APPROVAL"
    again = run_cli(dss, root, "govern", "submit", "dev.plan", "--json", env=alice).json()
    assert not again["created"] and again["change_request"]["artifact_id"] == request["artifact_id"]
    artifact_id = request["artifact_id"]
    fields = _request(govern, artifact_id)["fields"]
    assert fields["git_commit"] == "0123abcd" * 5 and fields["environment"] == "dev"
    assert "GOVERNED" in fields["projects"] and "orders" in fields["plan_markdown"]
    assert "govern-alice-key" not in json.dumps(fields)

    pending = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=alice, expect=3)
    assert "waiting for review" in pending.stderr
    assert "GOVERNED" not in dss.client().list_project_keys()

    # The submitter approving their own request: Govern takes it, the gate does not.
    signoff = govern.client_for("govern-alice-key").get_artifact(artifact_id).get_signoff("review")
    signoff.add_approval("APPROVED", "looks fine to me")
    own = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=alice, expect=4)
    assert "approved by its own submitter (alice)" in own.stderr
    run_cli(dss, root, "govern", "status", "dev.plan", env=alice, expect=4)
    signoff.get_approval().delete()

    govern.client_for("govern-bob-key").get_artifact(artifact_id).get_signoff("review").add_approval("APPROVED", "ok")
    approved = run_cli(dss, root, "govern", "status", "dev.plan", "--json", env=alice, expect=0).json()
    assert approved["approved"] and approved["change_request"]["approval"]["approver"] == "bob"
    resubmitted = run_cli(dss, root, "govern", "submit", "dev.plan", env=alice).stdout
    assert "It is approved (Govern artifact" in resubmitted and "approved by bob" in resubmitted
    assert "must approve" not in resubmitted

    applied = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=alice)
    assert "approved by bob" in applied.stdout and f"written back to Govern change request {artifact_id}" in applied.output
    assert "GOVERNED" in dss.client().list_project_keys()

    after = _request(govern, artifact_id)
    assert after["fields"]["apply_status"] == "APPLIED"
    assert after["fields"]["applied_by"] == "admin"  # the DSS identity of the key that applied
    assert after["fields"]["state_serial_after"] == 1
    assert "dataset.GOVERNED.orders" in after["fields"]["apply_result"] and after["fields"]["applied_at"]
    assert all(step["status"] == "FINISHED" for step in after["workflow"]["steps"].values())
    changes = [e for e in govern.timeline(artifact_id) if e["event"] == "field" and e["field"] == "apply_status"]
    assert [(e["old"], e["new"]) for e in changes] == [("PENDING", "IN_PROGRESS"), ("IN_PROGRESS", "APPLIED")]

    # Applied once: the same plan is stale now (the state moved); its status still shows the outcome.
    assert "stale" in run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=alice, expect=1).stderr
    # Reported as applied (exit 0: nothing is pending or refused), not as a refused stale plan.
    shown = run_cli(dss, root, "govern", "status", "dev.plan", env=alice, expect=0).stdout
    assert "apply status: APPLIED" in shown and "applied_by admin" in shown
    assert f"Applied: Govern artifact {artifact_id} was applied by admin" in shown and "Refused" not in shown
    shown_json = run_cli(dss, root, "govern", "status", "dev.plan", "--json", env=alice, expect=0).json()
    assert shown_json["applied"] and not shown_json["approved"]

    # A newer plan is not unlocked by the approval of the older one.
    (root / "projects" / "governed.yml").write_text(PROJECT + MORE, encoding="utf-8")
    run_cli(dss, root, "plan", "-e", "dev", "--out", "next.plan", env=alice)
    newer = run_cli(dss, root, "apply", "-e", "dev", "next.plan", env=alice, expect=3)
    assert "was not submitted to Govern" in newer.stderr
    assert "refunds" not in list_names(dss.client(), "GOVERNED")["dataset"]

    # An edited plan file is refused before Govern is asked anything.
    edited = json.loads((root / "next.plan").read_text())
    edited["summary"]["add"] = 0
    (root / "next.plan").write_text(json.dumps(edited), encoding="utf-8")
    for args in (("govern", "submit", "next.plan"), ("govern", "status", "next.plan"), ("apply", "-e", "dev", "next.plan")):
        assert "modified after it was written" in run_cli(dss, root, *args, env=alice, expect=1).stderr


def test_a_status_set_to_approved_without_an_approval_does_not_count(dss: Any, govern: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"governed.yml": PROJECT}, env=DEV)
    alice = _env(dss, govern)
    run_cli(dss, root, "plan", "-e", "dev", "--out", "dev.plan", env=alice)
    artifact_id = run_cli(dss, root, "govern", "submit", "dev.plan", "--json", env=alice).json()["change_request"]["artifact_id"]
    govern.client_for("govern-bob-key").get_artifact(artifact_id).get_signoff("review").update_status("APPROVED")
    refused = run_cli(dss, root, "apply", "-e", "dev", "dev.plan", env=alice, expect=4)
    assert "without a final approval" in refused.stderr
    assert _request(govern, artifact_id)["fields"]["apply_status"] == "PENDING"


def test_a_bad_require_approval_is_reported_at_its_line(dss: Any, tmp_path: Path) -> None:
    root = write_config(tmp_path / "cfg", {"governed.yml": PROJECT}, env=DEV.replace("govern", "always"),
                        iac="version: 1\npolicies:\n  require_approval: maybe\n")
    result = run_cli(dss, root, "validate", "-e", "dev", "--offline", expect=1)
    assert "environments/dev.yml:4" in result.stderr and "iac.yml:3" in result.stderr, str(result)
    assert "require_approval" in result.stderr and "govern" in result.stderr
