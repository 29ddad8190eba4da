"""The Govern emulator through dataikuapi's GovernClient (and DSSClient.get_govern_client)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from dataikuapi.govern.artifact_search import (
    GovernArtifactFilterArchivedStatus,
    GovernArtifactFilterBlueprints,
    GovernArtifactFilterFieldValue,
    GovernArtifactSearchQuery,
    GovernArtifactSearchSortName,
)
from dataikuapi.utils import DataikuException

BP, BV = "bp.dataiku_iac.change_request", "bv.v1"


def _create(client: Any, name: str, **fields: Any) -> Any:
    return client.create_artifact({"blueprintVersionId": {"blueprintId": BP, "versionId": BV}, "name": name, "fields": fields})


def _to_review(artifact: Any) -> None:
    definition = artifact.get_definition()
    steps = definition.get_raw()["workflow"]["steps"]
    steps["request"]["status"], steps["review"]["status"] = "FINISHED", "ONGOING"
    definition.save()


def test_instance_identity_and_blueprints(govern: Any) -> None:
    client = govern.client_for("govern-alice-key")
    assert client.get_instance_info().node_type == "GOVERN"
    assert client.get_auth_info()["authIdentifier"] == "alice"
    assert [b.get_raw()["blueprint"]["id"] for b in client.list_blueprints()] == [BP]
    version = client.get_blueprint(BP).get_version(BV)
    definition = version.get_definition().get_raw()
    assert "plan_digest" in definition["fieldDefinitions"]
    assert [s["id"] for s in definition["workflowDefinition"]["stepDefinitions"]] == ["request", "review", "apply", "done"]
    assert version.get_trace().get_raw()["status"] == "ACTIVE"
    with pytest.raises(DataikuException, match="Unknown API Key"):
        govern.client_for("not-a-key").get_auth_info()


def test_artifacts_create_save_and_refuse_unknown_fields(govern: Any) -> None:
    client = govern.client_for("govern-alice-key")
    artifact = _create(client, "one", plan_digest="d1")
    raw = artifact.get_definition().get_raw()
    assert raw["id"].startswith("ar.") and raw["fields"] == {"plan_digest": "d1"}
    assert raw["workflow"]["steps"]["request"]["status"] == "ONGOING"
    with pytest.raises(DataikuException, match="Some fields of Artifact were not found"):
        _create(client, "two", not_a_field=1)
    with pytest.raises(DataikuException, match="may not write"):
        _create(govern.client_for("govern-carol-key"), "three")
    definition = artifact.get_definition()
    definition.get_raw()["fields"]["summary"] = "+1 ~0 -0"
    definition.save()
    assert artifact.get_definition().get_raw()["fields"]["summary"] == "+1 ~0 -0"
    assert [e["field"] for e in govern.timeline(raw["id"]) if e["event"] == "field"] == ["summary"]
    assert [s.get_raw()["signoffId"]["stepId"] for s in artifact.list_signoffs()] == ["review"]


def test_search_filters_and_pages(govern: Any) -> None:
    client = govern.client_for("govern-alice-key")
    for i in range(5):
        _create(client, f"cr {i}", plan_digest=f"Digest-{i % 2}")
    query = GovernArtifactSearchQuery(
        artifact_filters=[
            GovernArtifactFilterArchivedStatus(is_archived=False),
            GovernArtifactFilterBlueprints(blueprint_ids=[BP]),
            GovernArtifactFilterFieldValue("EQUALS", condition="Digest-0", field_id="plan_digest", case_sensitive=True),
        ],
        artifact_search_sort=GovernArtifactSearchSortName(),
    )
    request = client.new_artifact_search_request(query)
    first = request.fetch_next_batch(page_size=2)
    second = request.fetch_next_batch(page_size=2)
    assert [h.get_raw()["artifact"]["name"] for h in first.get_response_hits()] == ["cr 0", "cr 2"]
    assert first.get_raw()["hasNextPage"] and not second.get_raw()["hasNextPage"]
    assert [h.get_raw()["artifact"]["name"] for h in second.get_response_hits()] == ["cr 4"]
    lower = GovernArtifactSearchQuery(artifact_filters=[
        GovernArtifactFilterFieldValue("EQUALS", condition="digest-0", field_id="plan_digest", case_sensitive=True)])
    assert client.new_artifact_search_request(lower).fetch_next_batch().get_response_hits() == []


def test_signoff_approval_rules(govern: Any) -> None:
    alice, bob, carol = (govern.client_for(f"govern-{who}-key") for who in ("alice", "bob", "carol"))
    artifact = _create(alice, "cr", plan_digest="d")
    signoff = artifact.get_signoff("review")
    with pytest.raises(DataikuException, match="not ongoing"):
        signoff.update_status("WAITING_FOR_APPROVAL")
    _to_review(artifact)
    with pytest.raises(DataikuException, match="only taken while it waits"):
        bob.get_artifact(artifact.artifact_id).get_signoff("review").add_approval("APPROVED")
    signoff.update_status("WAITING_FOR_APPROVAL")
    with pytest.raises(DataikuException, match="not an approver"):
        carol.get_artifact(artifact.artifact_id).get_signoff("review").add_approval("APPROVED")
    bob.get_artifact(artifact.artifact_id).get_signoff("review").add_approval("REJECTED", "no")
    definition = signoff.get_definition().get_raw()
    assert definition["status"] == "REJECTED"
    assert definition["approverResponse"]["user"]["login"] == "bob"
    with pytest.raises(DataikuException, match="Only one final approval"):
        bob.get_artifact(artifact.artifact_id).get_signoff("review").add_approval("APPROVED")
    with pytest.raises(DataikuException, match="Only the approver"):
        signoff.get_approval().delete()
    bob.get_artifact(artifact.artifact_id).get_signoff("review").get_approval().delete()
    assert signoff.get_definition().get_raw()["status"] == "WAITING_FOR_APPROVAL"
    feedback = bob.get_artifact(artifact.artifact_id).get_signoff("review").add_feedback("reviewers", "MINOR_ISSUE", "typo")
    assert [f.get_raw()["status"] for f in signoff.list_feedbacks()] == ["MINOR_ISSUE"]
    assert feedback.feedback_id
    # A status set directly: APPROVED with no final approval behind it.
    signoff.update_status("APPROVED")
    definition = signoff.get_definition().get_raw()
    assert definition["status"] == "APPROVED" and definition["approverResponse"] is None
    signoff.update_status("NOT_STARTED")
    assert signoff.get_definition().get_raw()["feedbackResponses"] == []
    assert sorted(signoff.get_details().get_raw()["approvers"]) == ["alice", "bob"]


def test_dss_points_at_its_govern_node(dss: Any, govern: Any) -> None:
    client = dss.client()
    assert client.get_govern_client() is None  # not configured
    dss.admin._call("POST", "/govern-node", {"url": govern.url, "api_key": "govern-bob-key"})
    from_dss = client.get_govern_client()
    assert from_dss.get_auth_info()["authIdentifier"] == "bob"
    dss.admin.seed(users=[{"login": "dave", "groups": ["readers"]}], api_keys=[{"key": "dave-key", "login": "dave"}])
    with pytest.raises(DataikuException, match="not an administrator"):
        dss.client_for("dave-key").get_govern_client()
    dss.reset_all()
    assert client.get_govern_client() is None  # a full reset goes back to the start-up settings


def test_both_prefixes_and_injected_faults(govern: Any) -> None:
    import urllib.request

    request = urllib.request.Request(govern.url + "/public/api/instance-info",
                                     headers={"Authorization": "Basic Z292ZXJuLWFsaWNlLWtleTo="})  # govern-alice-key:
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["nodeType"] == "GOVERN"
    govern.admin._call("POST", "/faults", {"method": "POST", "path": "^/artifacts$", "status": 503})
    with pytest.raises(DataikuException):
        _create(govern.client_for("govern-alice-key"), "refused")
    assert govern.client().new_artifact_search_request(GovernArtifactSearchQuery()).fetch_next_batch().get_response_hits() == []


def test_dss_emulator_govern_serves_a_node_that_persists(tmp_path: Any) -> None:
    """`dss-emulator --govern --data-dir DIR`: artifacts survive a restart."""
    import dataikuapi

    def start() -> tuple:
        proc = subprocess.Popen([sys.executable, "-m", "dss_emulator.cli", "--govern", "--port", "0", "--data-dir", str(tmp_path)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("govern-emulator listening on "), line
        return proc, line.split("listening on ", 1)[1].split(" ", 1)[0]

    proc, url = start()
    try:
        artifact = _create(dataikuapi.GovernClient(url, api_key="govern-alice-key"), "kept", plan_digest="p")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    proc, url = start()
    try:
        kept = dataikuapi.GovernClient(url, api_key="govern-admin-key").get_artifact(artifact.artifact_id)
        assert kept.get_definition().get_raw()["fields"] == {"plan_digest": "p"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_approval_call_govern_md_documents(govern: Any) -> None:
    """docs/govern.md's curl: a raw POST of {"status", "comment"} as bob approves alice's request."""
    import base64
    import urllib.request

    artifact = _create(govern.client_for("govern-alice-key"), "cr", plan_digest="d")
    _to_review(artifact)
    artifact.get_signoff("review").update_status("WAITING_FOR_APPROVAL")
    request = urllib.request.Request(
        f"{govern.url}/dip/publicapi/artifact/{artifact.artifact_id}/workflow/step/review/signoff/approval",
        data=json.dumps({"status": "APPROVED", "comment": "lgtm"}).encode(), method="POST",
        headers={"Content-Type": "application/json",
                 "Authorization": "Basic " + base64.b64encode(b"govern-bob-key:").decode()})
    with urllib.request.urlopen(request, timeout=10):
        pass
    signoff = artifact.get_signoff("review").get_definition().get_raw()
    assert signoff["status"] == "APPROVED"
    assert signoff["approverResponse"]["user"]["login"] == "bob" and signoff["approverResponse"]["comment"] == "lgtm"
