"""Pure parts of the console backend: views, approvals, jobs, error answers, the scrubber."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from dataiku_iac.dss.webapp_api import ConsoleSettings, _lock_view, check_git_url, parse_target
from dataiku_iac.dss.webapp_http import (
    ApiError,
    Caller,
    Forbidden,
    answer_for,
    check_client_request,
    identify,
    make_scrubber,
)
from dataiku_iac.dss.webapp_jobs import ApplyJob, ApprovalError, JobConflict, JobRegistry, PlanStore
from dataiku_iac.dss.webapp_views import drift_view, field_rows, plan_view, strip_userinfo
from dataiku_iac.errors import ConfigError, Diagnostic, LockError, StalePlanError
from dataiku_iac.planner.plan import REDACTED
from dataiku_iac.resources.policy import ABSENT

SETTINGS = ConsoleSettings.from_webapp_config({"source_kind": "library"}, "OPS")


def change(address: str, action: str, project: str = "P", **body: Any) -> dict:
    return {
        "address": address,
        "type": address.split(".")[0],
        "project_key": project,
        "name": address.split(".")[-1],
        "action": action,
        "reason": "why",
        "change": {
            "actions": [action],
            "before": body.get("before"),
            "after": body.get("after"),
            "fields": body.get("fields", []),
        },
        "sensitive_fields": body.get("sensitive", []),
    }


def plan_json(*changes: dict) -> dict:
    return {
        "digest": "d" * 64,
        "state": {"serial": 4, "lineage": "L"},
        "environment": "dev",
        "summary": {"add": 1, "change": 1, "destroy": 1, "forget": 0},
        "source": {
            "kind": "git",
            "url": "https://user:tok@git.example.com/x.git",
            "ref": "main",
            "commit": "abc",
            "credentials": {"password": "p"},
        },
        "resource_changes": list(changes),
    }


# -- views ---------------------------------------------------------------------------------------


def test_plan_view_groups_by_project_with_the_project_first() -> None:
    view = plan_view(
        plan_json(
            change("dataset.A.x", "create", "A", after={"format": "csv"}),
            change("project.A", "update", "A", fields=[{"name": "description", "before": "a", "after": "b"}]),
            change("dataset.B.y", "no-op", "B"),
        ),
        plan_id="id1",
        notes=["n"],
    )
    assert [p["project_key"] for p in view["projects"]] == ["A", "B"]
    assert [r["address"] for r in view["projects"][0]["resources"]] == ["project.A", "dataset.A.x"]
    assert view["projects"][0]["counts"]["create"] == 1 and view["projects"][0]["counts"]["update"] == 1
    assert view["has_changes"] and view["notes"] == ["n"] and view["serial"] == 4 and view["id"] == "id1"


def test_plan_view_never_shows_credentials_of_the_source() -> None:
    view = plan_view(plan_json(), plan_id="x")
    assert view["source"] == {
        "kind": "git",
        "url": "https://git.example.com/x.git",
        "ref": "main",
        "commit": "abc",
    }
    assert "tok" not in json.dumps(view) and '"p"' not in json.dumps(view)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@h/x", "https://h/x"),
        ("https://h/x", "https://h/x"),
        ("git@h:org/x.git", "git@h:org/x.git"),
        ("ssh://git@h/x", "ssh://h/x"),
    ],
)
def test_strip_userinfo(url: str, shown: str) -> None:
    assert strip_userinfo(url) == shown


def test_field_rows_expand_mapping_leaves_like_the_cli() -> None:
    fields = [
        {
            "name": "variables",
            "before": {"standard": {"a": 1, "b": 2, "dss_only": 0}},
            "after": {"standard": {"a": 1, "b": 3, "c": 4, "gone": ABSENT}},
        }
    ]
    fields[0]["before"]["standard"]["gone"] = "x"
    rows = field_rows("update", {"fields": fields}, ())
    assert [(r["name"], r["kind"], r["before"], r["after"]) for r in rows] == [
        ("variables.standard.b", "change", "2", "3"),
        ("variables.standard.c", "add", None, "4"),
        ("variables.standard.gone", "remove", '"x"', None),
    ]


def test_field_rows_hide_sensitive_values() -> None:
    rows = field_rows(
        "update", {"fields": [{"name": "password", "before": "a", "after": "b", "sensitive": True}]}, ()
    )
    assert rows[0]["before"] == rows[0]["after"] == REDACTED and rows[0]["sensitive"]
    rows = field_rows("create", {"after": {"password": "s3cret", "name": "n"}}, ("password",))
    assert {r["name"]: r["after"] for r in rows} == {"name": '"n"', "password": json.dumps(REDACTED)}


def test_field_rows_of_a_delete_list_what_goes() -> None:
    rows = field_rows("delete", {"before": {"format": "csv", "empty": ""}}, ())
    assert rows == [
        {
            "name": "format",
            "before": '"csv"',
            "after": None,
            "kind": "remove",
            "forces_replacement": False,
            "sensitive": False,
        }
    ]


def test_replace_rows_say_which_field_forces_it() -> None:
    rows = field_rows(
        "replace",
        {"fields": [{"name": "connection", "before": "a", "after": "b", "forces_replacement": True}]},
        (),
    )
    assert rows[0]["forces_replacement"] is True


def test_drift_view_shows_differing_leaves() -> None:
    report = {
        "environment": "dev",
        "drift": True,
        "checked": 2,
        "summary": {"changed": 1, "deleted": 1, "unmanaged": 0},
        "resources": [
            {
                "address": "project.P",
                "type": "project",
                "project_key": "P",
                "name": "P",
                "kind": "changed",
                "fields": [
                    {
                        "name": "variables",
                        "recorded": {"s": {"a": 1, "b": 2}},
                        "live": {"s": {"a": 1, "b": 5, "c": 0}},
                    }
                ],
            },
            {
                "address": "dataset.P.x",
                "type": "dataset",
                "project_key": "P",
                "name": "x",
                "kind": "deleted",
                "fields": [],
            },
        ],
    }
    view = drift_view(report, checked_at="T")
    assert view["resources"][0]["fields"] == [
        {"name": "variables.s.b", "recorded": "2", "live": "5"},
        {"name": "variables.s.c", "recorded": "(absent)", "live": "0"},
    ]
    assert view["resources"][1]["fields"] == [] and view["checked_at"] == "T"


# -- approvals -----------------------------------------------------------------------------------


def test_plan_store_binds_owner_digest_and_serial_and_hands_out_once() -> None:
    store = PlanStore()
    shown = store.put("ann", {"environment": "dev"}, plan_json(), ("P",))
    for owner, digest, serial in [
        ("bob", "d" * 64, 4),
        ("ann", "e" * 64, 4),
        ("ann", "d" * 64, 5),
        ("ann", "d" * 64, "4"),
    ]:
        with pytest.raises(ApprovalError):
            store.take(shown.id, owner, digest, serial)
    assert store.take(shown.id, "ann", "d" * 64, 4) is shown
    with pytest.raises(ApprovalError):
        store.take(shown.id, "ann", "d" * 64, 4)


def test_plan_store_expires_and_evicts() -> None:
    now = [0.0]
    store = PlanStore(ttl=10, capacity=2, clock=lambda: now[0])
    first = store.put("a", {}, plan_json(), ())
    second = store.put("a", {}, plan_json(), ())
    third = store.put("a", {}, plan_json(), ())  # evicts the oldest
    with pytest.raises(ApprovalError):
        store.peek(first.id, "a", "d" * 64, 4)
    assert store.peek(second.id, "a", "d" * 64, 4) is second
    now[0] = 11
    with pytest.raises(ApprovalError):
        store.peek(third.id, "a", "d" * 64, 4)


# -- jobs ----------------------------------------------------------------------------------------


def test_job_events_are_numbered_and_polled_incrementally() -> None:
    job = ApplyJob("j", "ann", "dev", "s", "d", total=2)
    job.record("start", "a", "create")
    job.record("done", "a", "create")
    first = job.snapshot()
    assert [e["seq"] for e in first["events"]] == [0, 1] and first["next"] == 2 and first["completed"] == 1
    job.record("error", "b", "update", "boom")
    job.finish("failed", "1 failed")
    later = job.snapshot(first["next"])
    assert [e["kind"] for e in later["events"]] == ["error", "finished"]
    assert later["status"] == "failed" and later["completed"] == 2 and later["failed"] == 1
    assert job.snapshot(later["next"])["next"] == later["next"]


def test_one_apply_per_scope_at_a_time() -> None:
    registry = JobRegistry()
    release = threading.Event()

    def work(job: ApplyJob) -> None:
        release.wait(5)
        job.finish("succeeded", "ok")

    registry.start(ApplyJob("a", "ann", "dev", "scope", "d", 1), work)
    with pytest.raises(JobConflict):
        registry.start(ApplyJob("b", "ann", "dev", "scope", "d", 1), work)
    registry.start(ApplyJob("c", "ann", "prod", "other", "d", 1), work)
    release.set()
    deadline = time.time() + 5
    while registry.running() and time.time() < deadline:
        time.sleep(0.01)
    assert not registry.running()
    registry.start(ApplyJob("d", "ann", "dev", "scope", "d", 1), work)


# -- request checks and answers --------------------------------------------------------------------


def test_client_header_and_json_are_required() -> None:
    with pytest.raises(Forbidden):
        check_client_request("GET", {})
    with pytest.raises(ApiError) as err:
        check_client_request(
            "POST", {"X-Requested-With": "dataiku-iac-console", "Content-Type": "text/plain"}
        )
    assert err.value.status == 415
    check_client_request(
        "POST", {"X-Requested-With": "dataiku-iac-console", "Content-Type": "application/json; charset=utf-8"}
    )


class FakeClient:
    def __init__(self, info: Any = None, error: Exception | None = None):
        self.info, self.error, self.seen = info, error, None

    def get_auth_info_from_browser_headers(self, headers: dict) -> Any:
        self.seen = headers
        if self.error:
            raise self.error
        return self.info


def test_identify_trusts_dss_only() -> None:
    client = FakeClient({"authIdentifier": "ann", "groups": ["g", 3], "displayName": "Ann"})
    caller = identify(lambda: client, {"Cookie": "s=1"})
    assert caller == Caller("ann", ("g",), None, "Ann") and client.seen == {"Cookie": "s=1"}
    assert (
        identify(
            lambda: FakeClient({"authIdentifier": "k", "associatedDSSUser": "bob", "admin": True}), {}
        ).login
        == "bob"
    )
    for bad in (FakeClient(error=RuntimeError("Unknown API key abc")), FakeClient({"groups": []})):
        with pytest.raises(ApiError) as err:
            identify(lambda bad=bad: bad, {})
        assert err.value.status == 401 and "abc" not in err.value.message


@pytest.mark.parametrize(
    ("exc", "status", "kind"),
    [
        (ConfigError([Diagnostic("a.yml", 1, 2, "x", "bad")]), 400, "ConfigError"),
        (StalePlanError("stale"), 409, "StalePlanError"),
        (LockError("held", holder={"id": "L", "who": "w", "pid": 3}), 409, "LockError"),
        (Forbidden("no"), 403, "Forbidden"),
        (ValueError("internal /etc/x"), 500, "InternalError"),
    ],
)
def test_answers(exc: Exception, status: int, kind: str) -> None:
    body, code = answer_for(exc)
    assert code == status and body["error"]["kind"] == kind
    if kind == "InternalError":
        assert "/etc/x" not in json.dumps(body)
    if kind == "LockError":
        assert body["error"]["holder"]["id"] == "L" and "pid" not in body["error"]["holder"]
    if kind == "ConfigError":
        assert body["error"]["diagnostics"][0]["file"] == "a.yml"


def test_scrubber_replaces_secret_values_everywhere() -> None:
    scrub = make_scrubber(["topsecret-1", "", "abc", None])  # type: ignore[list-item]
    payload = {
        "a": ["x topsecret-1 y", {"topsecret-1": 1}],
        "b": 2,
        "c": "abc stays (too short to be a secret)",
    }
    assert scrub(payload) == {
        "a": [f"x {REDACTED} y", {REDACTED: 1}],
        "b": 2,
        "c": "abc stays (too short to be a secret)",
    }
    assert make_scrubber([])(payload) is payload


# -- targets ---------------------------------------------------------------------------------------


def test_settings_default_to_the_webapp_project_library() -> None:
    assert SETTINGS.source == {"kind": "library", "project_key": "OPS", "path": "iac"}
    git = ConsoleSettings.from_webapp_config(
        {"source_kind": "git", "git_url": "file:///srv/r", "parallelism": 2.0}, "OPS"
    )
    assert (
        git.source == {"kind": "git", "url": "file:///srv/r", "ref": "main", "subpath": ""}
        and git.parallelism == 2
    )


def test_the_configured_git_url_is_trusted_others_must_be_network_urls() -> None:
    git = ConsoleSettings.from_webapp_config({"source_kind": "git", "git_url": "file:///srv/r"})
    check_git_url("file:///srv/r", git)
    check_git_url("git@github.com:org/repo.git", git)
    check_git_url("https://github.com/org/repo.git", git)
    for url in ("file:///etc", "/srv/other", "ext::sh -c x", "../up"):
        with pytest.raises(Forbidden):
            check_git_url(url, git)


def test_parse_target_keeps_only_known_keys() -> None:
    body = {
        "environment": " dev ",
        "source": {"kind": "library", "project_key": "OPS", "path": "", "credentials": {"password": "x"}},
    }
    assert parse_target(body, SETTINGS) == ({"kind": "library", "project_key": "OPS", "path": "iac"}, "dev")
    with pytest.raises(ApiError):
        parse_target({"environment": "dev", "source": {"kind": "library", "project_key": 5}}, SETTINGS)


def test_lock_view_says_when_a_lock_looks_stale() -> None:
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)
    lock = {
        "id": "L",
        "who": "w",
        "operation": "apply",
        "created": "2026-01-01T11:00:00Z",
        "expires": "2026-01-01T11:30:00Z",
        "pid": 9,
    }
    assert _lock_view(lock, now)["status"] == "expired 30 min ago: probably stale"
    assert (
        _lock_view(dict(lock, expires="2026-01-01T12:10:00Z"), now)["status"] == "active, expires in 10 min"
    )
    assert "pid" not in _lock_view(lock, now) and _lock_view(None) is None
