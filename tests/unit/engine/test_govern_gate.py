"""The Govern gate's decision (engine/govern.py) and the `require_approval` policy, without Govern:
which change requests let a saved plan through, and why the others do not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Optional

import pytest
from dataiku_iac.engine.govern import (
    EXIT_PENDING,
    EXIT_REFUSED,
    ApprovalError,
    ChangeRequest,
    approver_of,
    change_request_fields,
    verdict,
)
from dataiku_iac.engine.policies import check_approvable, policies_of

DIGEST = "a" * 64


def _request(status: str = "APPROVED", approver: Optional[str] = "bob", approval: str = "APPROVED", **fields: Any) -> ChangeRequest:
    response = None if approver is None else {"status": approval, "comment": "fine", "user": {"login": approver}}
    base = {"plan_digest": DIGEST, "requested_by": "alice", "apply_status": "PENDING", **fields}
    return ChangeRequest("ar.7", "IaC dev", base, status, response)


def test_approved_by_someone_else_for_exactly_this_digest_passes() -> None:
    result = verdict(_request(), DIGEST)
    assert result.approved and result.exit_code == 0 and "approved by bob" in result.reason


@pytest.mark.parametrize(
    ("request_", "code", "reason"),
    [
        (None, EXIT_PENDING, "was not submitted"),
        (_request("WAITING_FOR_APPROVAL", approver=None), EXIT_PENDING, "waiting for review"),
        (_request("NOT_STARTED", approver=None), EXIT_PENDING, "waiting for review"),
        (_request("REJECTED", approval="REJECTED"), EXIT_REFUSED, "was rejected by bob: fine"),
        (_request("ABANDONED", approval="ABANDONED"), EXIT_REFUSED, "was abandoned"),
        (_request(approver=None), EXIT_REFUSED, "without a final approval"),
        (_request(approver="alice"), EXIT_REFUSED, "approved by its own submitter (alice)"),
        (_request(plan_digest="b" * 64), EXIT_REFUSED, "an approval of another plan does not count"),
        (_request(apply_status="APPLIED"), EXIT_REFUSED, "already applied"),
        (_request(apply_status="FAILED"), EXIT_REFUSED, "already applied"),
    ],
)
def test_what_does_not_pass(request_: Optional[ChangeRequest], code: int, reason: str) -> None:
    result = verdict(request_, DIGEST)
    assert not result.approved and result.exit_code == code and reason in result.reason


def test_an_approval_without_a_known_approver_does_not_count() -> None:
    anonymous = ChangeRequest("ar.1", "x", {"plan_digest": DIGEST, "requested_by": "alice"}, "APPROVED", {"status": "APPROVED"})
    assert "cannot tell who" in verdict(anonymous, DIGEST).reason
    assert approver_of({"status": "APPROVED", "user": "carol"}) == "carol"
    assert approver_of({"status": "APPROVED", "userLogin": "dan"}) == "dan"


def test_an_interrupted_apply_may_resume() -> None:
    assert verdict(_request(apply_status="IN_PROGRESS"), DIGEST).approved


def _settings(iac: dict, env: dict) -> Any:
    environment = SimpleNamespace(data={"policies": env}, file="environments/prod.yml")
    return SimpleNamespace(settings={"policies": iac}, environment=environment)


def test_require_approval_refuses_unsaved_runs_and_names_its_file() -> None:
    check_approvable(policies_of(_settings({}, {}), "prod"))  # default: none
    policies = policies_of(_settings({"require_approval": "none"}, {"require_approval": "govern"}), "prod")
    assert policies.requires_govern
    with pytest.raises(ApprovalError, match=r"policies.require_approval in environments/prod.yml.*govern submit prod.plan") as err:
        check_approvable(policies)
    assert err.value.exit_code == EXIT_REFUSED


def test_the_fields_of_a_change_request() -> None:
    plan = {"digest": DIGEST, "environment": "dev", "lineage": "L", "serial": 3, "summary": {"add": 1, "change": 2, "destroy": 0},
            "resource_changes": [{"project_key": "B", "action": "create"}, {"project_key": "A", "action": "update"},
                                 {"project_key": "C", "action": "no-op"}]}
    fields = change_request_fields(plan, markdown="x" * 70_000, requested_by="alice", git_commit="c0ffee", ci_url="")
    assert fields["projects"] == "A, B" and fields["summary"] == "+1 ~2 -0" and fields["state_serial"] == 3
    assert fields["apply_status"] == "PENDING" and fields["plan_digest"] == DIGEST
    assert len(fields["plan_markdown"]) < 61_000 and "truncated" in fields["plan_markdown"]
