"""Change requests in Dataiku Govern, and the `policies.require_approval: govern` gate.

A saved plan is submitted as one Govern artifact of the change-request blueprint (docs/govern.md):
its fields hold the plan digest, the plan as Markdown, the environment, the submitter's Govern
identity, the Git commit; its `review` step carries a sign-off whose final approval is what the
gate checks. The approval is bound to the plan by the digest: the artifact is found by the saved
plan's `digest` (which the saved-plan rules hold to the file's content), so an approval of another
plan, older or newer, never unlocks this one.

The gate lets an apply go on only when, for the artifact of exactly that digest:
  - the sign-off is APPROVED *and* holds a final approval (`approverResponse`) whose status is
    APPROVED (Govern also lets a writer set the status APPROVED with no approval at all);
  - the approver is not the submitter (Govern lets an eligible approver approve their own
    request: the self-approval guard is ours);
  - the artifact was not applied already (`apply_status` PENDING, or IN_PROGRESS after a crash).
Govern unreachable, or answering something unreadable: the gate fails closed.

After the apply, the outcome (state serial, resources changed, who applied, when, success or
failure) is written back to the artifact and its `apply` step finished: the audit trail.

Every call goes through dataikuapi's GovernClient (it has no timeout: each call here runs with
the deadline of `GOVERN_TIMEOUT`, as dssclient does for DSS).
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from dataiku_iac.errors import IacError, PlanError

BLUEPRINT_ENV = "DATAIKU_IAC_GOVERN_BLUEPRINT"  # "bp.id/bv.id" of the change-request blueprint version
DEFAULT_BLUEPRINT = "bp.dataiku_iac.change_request/bv.v1"
REVIEW_STEP, APPLY_STEP, DONE_STEP, REQUEST_STEP = "review", "apply", "done", "request"
MARKDOWN_LIMIT = 60_000  # characters of the Markdown plan kept in the artifact (the digest binds the rest)

EXIT_PENDING = 3  # not approved yet: not submitted, waiting for review
EXIT_REFUSED = 4  # will not be approved as is: rejected, abandoned, self-approved, already applied

PENDING, IN_PROGRESS, APPLIED, FAILED = "PENDING", "IN_PROGRESS", "APPLIED", "FAILED"


class ApprovalError(PlanError):
    """The plan may not be applied: it lacks the Govern approval its environment requires.
    `exit_code`: EXIT_PENDING (may still be approved) or EXIT_REFUSED (will not be, as is)."""

    def __init__(self, message: str, exit_code: int = EXIT_PENDING):
        super().__init__(message)
        self.exit_code = exit_code


class GovernUnavailable(IacError):
    """Govern could not be reached or gave an unreadable answer (the gate fails closed)."""


@dataclass
class ChangeRequest:
    """What the gate reads of one artifact and its review sign-off."""

    artifact_id: str
    name: str
    fields: dict
    signoff_status: str
    approval: Optional[dict]  # the final approval (`approverResponse`), None if none was given
    workflow: dict = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return str(self.fields.get("plan_digest") or "")

    @property
    def requested_by(self) -> str:
        return str(self.fields.get("requested_by") or "")

    @property
    def apply_status(self) -> str:
        return str(self.fields.get("apply_status") or PENDING)

    @property
    def approver(self) -> Optional[str]:
        return approver_of(self.approval)

    def to_json(self) -> dict:
        return {
            "artifact_id": self.artifact_id, "name": self.name, "plan_digest": self.digest,
            "environment": self.fields.get("environment"), "requested_by": self.requested_by,
            "signoff_status": self.signoff_status,
            "approval": None if self.approval is None else {
                "status": self.approval.get("status"), "approver": self.approver, "comment": self.approval.get("comment", "")},
            "apply_status": self.apply_status,
            "outcome": {k: self.fields.get(k) for k in ("applied_by", "applied_at", "state_serial_after", "apply_result") if self.fields.get(k) is not None},
        }


def approver_of(approval: Optional[dict]) -> Optional[str]:
    """The approver's login in a final approval. Which key real Govern uses is not verified
    (docs/govern.md, "What is not verified"): `user.login` (the emulator's), or a plain login."""
    if not approval:
        return None
    user = approval.get("user")
    if isinstance(user, dict) and user.get("login"):
        return str(user["login"])
    for key in ("user", "userLogin", "login", "approver"):
        if isinstance(approval.get(key), str) and approval[key]:
            return str(approval[key])
    return None


@dataclass(frozen=True)
class Verdict:
    approved: bool
    exit_code: int  # 0, EXIT_PENDING or EXIT_REFUSED
    reason: str


def verdict(request: Optional[ChangeRequest], digest: str, *, submit_hint: str = "") -> Verdict:
    """Whether the plan of `digest` may be applied, given its change request (None: none found)."""
    if request is None:
        return Verdict(False, EXIT_PENDING, f"the plan (digest {digest[:12]}) was not submitted to Govern{submit_hint}")
    where = f"Govern artifact {request.artifact_id}"
    if request.digest != digest:
        return Verdict(False, EXIT_REFUSED, f"{where} is for plan digest {request.digest[:12]}, not {digest[:12]}: "
                                            f"an approval of another plan does not count; submit this plan")
    if request.apply_status not in (PENDING, IN_PROGRESS):
        return Verdict(False, EXIT_REFUSED, f"{where} was already applied ({request.apply_status}): a change request "
                                            f"is applied once; make a new plan and submit it")
    status = request.signoff_status
    if status in ("NOT_STARTED", "WAITING_FOR_FEEDBACK", "WAITING_FOR_APPROVAL"):
        return Verdict(False, EXIT_PENDING, f"{where} is waiting for review (sign-off {status})")
    approval = request.approval or {}
    comment = f": {approval.get('comment')}" if approval.get("comment") else ""
    if status in ("REJECTED", "ABANDONED"):
        return Verdict(False, EXIT_REFUSED, f"{where} was {status.lower()} by {request.approver or 'a reviewer'}{comment}")
    if status != "APPROVED":
        return Verdict(False, EXIT_REFUSED, f"{where} has an unknown sign-off status {status!r}")
    if request.approval is None or approval.get("status") != "APPROVED":
        return Verdict(False, EXIT_REFUSED, f"{where} is marked APPROVED without a final approval (the status was set "
                                            f"directly): an approver must give the final approval")
    approver = request.approver
    if approver is None:
        return Verdict(False, EXIT_REFUSED, f"{where}: cannot tell who gave the final approval, so it does not count")
    if approver == request.requested_by:
        return Verdict(False, EXIT_REFUSED, f"{where} was approved by its own submitter ({approver}): someone else "
                                            f"must approve it")
    return Verdict(True, 0, f"{where} was approved by {approver}{comment}")


class Govern:
    """Change requests through a `dataikuapi.GovernClient` (made by `client_factory`)."""

    def __init__(self, client_factory: Callable[[], Any], *, blueprint: Optional[str] = None, describe: str = "Govern"):
        self._factory = client_factory
        self._client: Any = None
        bp, _, bv = (blueprint or DEFAULT_BLUEPRINT).partition("/")
        self.blueprint_id, self.version_id = bp, bv or "bv.v1"
        self.describe = describe  # where Govern is, for messages (never the key)

    @classmethod
    def from_environment(cls, environ: dict, *, describe: str = "") -> Optional[Govern]:
        """From GOVERN_URL and GOVERN_API_KEY (the CLI's way); None when GOVERN_URL is unset."""
        url = (environ.get("GOVERN_URL") or "").strip().rstrip("/")
        if not url:
            return None
        key = environ.get("GOVERN_API_KEY") or ""
        if not key:
            raise IacError("GOVERN_URL is set but GOVERN_API_KEY is not: set both to reach Dataiku Govern")

        def factory() -> Any:
            import dataikuapi

            return dataikuapi.GovernClient(url, api_key=key)

        return cls(factory, blueprint=environ.get(BLUEPRINT_ENV), describe=describe or f"Govern at {url}")

    # -- calls ---------------------------------------------------------------------------------
    def _call(self, what: str, step: Callable[[Any], Any]) -> Any:
        try:
            if self._client is None:
                self._client = self._factory()
                _with_timeout(self._client)
            return step(self._client)
        except IacError:
            raise
        except Exception as exc:  # dataikuapi raises DataikuException, requests its own errors
            raise GovernUnavailable(f"{self.describe}: {what} failed: {_short(exc)}") from None

    def identity(self) -> str:
        info = self._call("reading the API key's identity", lambda c: c.get_auth_info())
        ident = info.get("authIdentifier") if isinstance(info, dict) else None
        if not ident:
            raise GovernUnavailable(f"{self.describe}: /auth/info named no identity")
        return str(ident)

    def find(self, digest: str) -> Optional[ChangeRequest]:
        """The newest live change request of exactly `digest`, with its review sign-off."""
        from dataikuapi.govern.artifact_search import (
            GovernArtifactFilterArchivedStatus,
            GovernArtifactFilterBlueprints,
            GovernArtifactFilterFieldValue,
            GovernArtifactSearchQuery,
        )

        query = GovernArtifactSearchQuery(artifact_filters=[
            GovernArtifactFilterArchivedStatus(is_archived=False),
            GovernArtifactFilterBlueprints(blueprint_ids=[self.blueprint_id]),
            GovernArtifactFilterFieldValue("EQUALS", condition=digest, field_id="plan_digest", case_sensitive=True),
        ])

        def search(client: Any) -> list:
            request = client.new_artifact_search_request(query)
            hits: list = []
            while True:
                page = request.fetch_next_batch(page_size=100)
                hits += [hit.get_raw()["artifact"] for hit in page.get_response_hits()]
                if not page.get_raw().get("hasNextPage"):
                    return hits

        hits = [h for h in self._call("searching change requests", search) if (h.get("fields") or {}).get("plan_digest") == digest]
        if not hits:
            return None
        return self.read(hits[-1]["id"])

    def read(self, artifact_id: str) -> ChangeRequest:
        """The artifact as it is now (never the search hit: it may be older) and its sign-off."""
        doc = self._call(f"reading artifact {artifact_id}", lambda c: c.get_artifact(artifact_id).get_definition().get_raw())
        signoff = self._call(f"reading the sign-off of {artifact_id}",
                             lambda c: c.get_artifact(artifact_id).get_signoff(REVIEW_STEP).get_definition().get_raw())
        return ChangeRequest(artifact_id, str(doc.get("name", "")), dict(doc.get("fields") or {}),
                             str(signoff.get("status", "")), signoff.get("approverResponse"), dict(doc.get("workflow") or {}))

    def submit(self, plan_json: dict, *, markdown: str, git_commit: str = "", ci_url: str = "") -> tuple[ChangeRequest, bool]:
        """Create the change request of a saved plan, or find the one already made for its digest
        (submitting again after a crash or a retry makes no second artifact). Returns it and
        whether it was created now."""
        digest = str(plan_json["digest"])
        existing = self.find(digest)
        if existing is not None:
            return existing, False
        fields = change_request_fields(plan_json, markdown=markdown, requested_by=self.identity(),
                                       git_commit=git_commit, ci_url=ci_url)
        body = {"blueprintVersionId": {"blueprintId": self.blueprint_id, "versionId": self.version_id},
                "name": change_request_name(plan_json), "fields": fields}
        artifact_id = self._call("creating the change request", lambda c: c.create_artifact(body).artifact_id)
        self._move_to(artifact_id, REVIEW_STEP)
        self._call("asking for approval", lambda c: c.get_artifact(artifact_id).get_signoff(REVIEW_STEP).update_status("WAITING_FOR_APPROVAL"))
        return self.read(artifact_id), True

    def check(self, plan_json: dict) -> ChangeRequest:
        """The change request of this saved plan if it may be applied; ApprovalError otherwise."""
        digest = str(plan_json.get("digest") or "")
        request = self.find(digest)
        result = verdict(request, digest, submit_hint=": run `dataiku-iac govern submit PLANFILE`, have it approved, then apply")
        if not result.approved:
            raise ApprovalError(f"apply refused: {result.reason}", result.exit_code)
        assert request is not None
        return request

    def started(self, request: ChangeRequest, *, applied_by: str) -> None:
        """Mark the change request IN_PROGRESS before the first DSS change."""
        self._update(request.artifact_id, {"apply_status": IN_PROGRESS, "applied_by": applied_by}, step=APPLY_STEP)

    def record(self, request: ChangeRequest, outcome: dict) -> None:
        """Write the outcome back: apply status, who, when, serial, what changed; finish the workflow."""
        ok = bool(outcome.get("ok"))
        fields: dict[str, Any] = {
            "apply_status": APPLIED if ok else FAILED,
            "applied_by": str(outcome.get("applied_by") or ""),
            "applied_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "apply_result": outcome_text(outcome),
        }
        if outcome.get("serial") is not None:
            fields["state_serial_after"] = int(outcome["serial"])
        self._update(request.artifact_id, fields, step=DONE_STEP if ok else APPLY_STEP)

    # -- helpers -------------------------------------------------------------------------------
    def _update(self, artifact_id: str, fields: dict, *, step: str) -> None:
        def save(client: Any) -> None:
            definition = client.get_artifact(artifact_id).get_definition()
            raw = definition.get_raw()
            raw.setdefault("fields", {}).update(fields)
            _advance(raw, step)
            definition.save()

        self._call(f"updating artifact {artifact_id}", save)

    def _move_to(self, artifact_id: str, step: str) -> None:
        def save(client: Any) -> None:
            definition = client.get_artifact(artifact_id).get_definition()
            _advance(definition.get_raw(), step)
            definition.save()

        self._call(f"starting the {step} step of {artifact_id}", save)


def _advance(raw: dict, step: str) -> None:
    """Steps before `step` FINISHED, `step` ONGOING (FINISHED for the last one), the rest as they are."""
    steps = (raw.get("workflow") or {}).get("steps") or {}
    if step not in steps:
        return
    for step_id in list(steps):
        if step_id == step:
            steps[step_id]["status"] = "FINISHED" if step_id == list(steps)[-1] else "ONGOING"
            return
        steps[step_id]["status"] = "FINISHED"


def change_request_name(plan_json: dict) -> str:
    projects = ", ".join(plan_projects(plan_json)) or "no project"
    return f"IaC {plan_json.get('environment')}: {projects} ({str(plan_json['digest'])[:12]})"


def plan_projects(plan_json: dict) -> list:
    return sorted({c.get("project_key") for c in plan_json.get("resource_changes") or []
                   if c.get("project_key") and c.get("action") != "no-op"})


def change_request_fields(plan_json: dict, *, markdown: str, requested_by: str, git_commit: str, ci_url: str) -> dict:
    summary = plan_json.get("summary") or {}
    text = markdown if len(markdown) <= MARKDOWN_LIMIT else (
        markdown[:MARKDOWN_LIMIT] + "\n\n…(truncated; the plan digest binds the full plan)\n")
    return {
        "plan_digest": str(plan_json["digest"]),
        "environment": str(plan_json.get("environment") or ""),
        "projects": ", ".join(plan_projects(plan_json)),
        "summary": f"+{summary.get('add', 0)} ~{summary.get('change', 0)} -{summary.get('destroy', 0)}",
        "plan_markdown": text,
        "state_lineage": str(plan_json.get("lineage") or ""),
        "state_serial": int(plan_json.get("serial") or 0),
        "git_commit": git_commit,
        "ci_url": ci_url,
        "requested_by": requested_by,
        "apply_status": PENDING,
    }


def outcome_text(outcome: dict) -> str:
    parts = [f"{len(outcome.get('done') or [])} changed", f"{len(outcome.get('failed') or [])} failed",
             f"{len(outcome.get('skipped') or [])} skipped"]
    if outcome.get("error"):
        parts.append(f"error: {outcome['error']}")
    changed = ", ".join(outcome.get("done") or [])
    return "; ".join(parts) + (f" ({changed})" if changed else "")


def git_commit_of(environ: dict) -> str:
    """The commit CI says it builds (GitHub, GitLab, Azure DevOps, Jenkins), else empty."""
    for name in ("GITHUB_SHA", "CI_COMMIT_SHA", "BUILD_SOURCEVERSION", "GIT_COMMIT"):
        if environ.get(name):
            return str(environ[name])
    return ""


def ci_url_of(environ: dict) -> str:
    if environ.get("GITHUB_SERVER_URL") and environ.get("GITHUB_REPOSITORY") and environ.get("GITHUB_RUN_ID"):
        return f"{environ['GITHUB_SERVER_URL']}/{environ['GITHUB_REPOSITORY']}/actions/runs/{environ['GITHUB_RUN_ID']}"
    for name in ("CI_JOB_URL", "BUILD_URL"):
        if environ.get(name):
            return str(environ[name])
    return ""


def timeout_seconds() -> float:
    return float(os.environ.get("DATAIKU_IAC_GOVERN_TIMEOUT", "30"))


def _with_timeout(client: Any) -> None:
    """GovernClient has no timeout: give its session one (a hung Govern must not hang an apply)."""
    session = getattr(client, "_session", None)
    if session is None:
        return
    original = session.request
    limit = timeout_seconds()

    def request(method: str, url: str, **kwargs: Any) -> Any:
        kwargs.setdefault("timeout", limit)
        return original(method, url, **kwargs)

    session.request = request


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:300]
