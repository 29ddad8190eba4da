"""The Govern public API routes (paths after ``/dip/publicapi``, as dataikuapi's GovernClient
calls them; shapes in docs/emulator.md, "Govern", with what is a guess named there).

Note the singular/plural split of Govern's paths: create and search are ``/artifacts…``,
everything on one artifact is ``/artifact/{id}…``; likewise ``/blueprints`` and ``/blueprint/{id}``.
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from werkzeug.wrappers import Request

from .. import errors
from ..router import RouteTable
from .store import GovernStore, now_ms

GOVERN_ROUTES = RouteTable()
route = GOVERN_ROUTES.route

SIGNOFF_STATUSES = ("NOT_STARTED", "WAITING_FOR_FEEDBACK", "WAITING_FOR_APPROVAL", "APPROVED", "REJECTED", "ABANDONED")
WAITING = ("WAITING_FOR_FEEDBACK", "WAITING_FOR_APPROVAL")
FEEDBACK_STATUSES = ("APPROVED", "MINOR_ISSUE", "MAJOR_ISSUE")
APPROVAL_STATUSES = ("APPROVED", "REJECTED", "ABANDONED")
STEP_STATUSES = ("NOT_STARTED", "ONGOING", "FINISHED", "SKIPPED")
UNKNOWN_FIELDS = "Some fields of Artifact were not found in its blueprint version reference"


@dataclass
class GovernCaller:
    login: str
    groups: List[str] = field(default_factory=list)
    admin: bool = False


class GCtx:
    """One request to the Govern emulator: body, query, the caller and the path's variables."""

    def __init__(self, request: Request, store: GovernStore, caller: GovernCaller, params: Dict[str, str]) -> None:
        self.request = request
        self.store = store
        self.caller = caller
        self.params = params

    def body(self) -> Any:
        data = self.request.get_data(cache=True)
        if not data.strip():
            return None
        try:
            return json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise errors.invalid_json(str(exc)) from None

    def body_dict(self) -> Dict[str, Any]:
        body = self.body()
        if not isinstance(body, dict):
            raise errors.bad_request("Expected a JSON object as request body")
        return body


# ---------------------------------------------------------------- authentication


def authenticate(store: GovernStore, headers: Any) -> GovernCaller:
    """Basic auth with the API key as user name (GovernClient's way), or ``X-DKU-APITicket``."""
    key: Optional[str] = None
    auth = headers.get("Authorization", "")
    if auth.startswith("Basic "):
        try:
            key = base64.b64decode(auth[6:].strip()).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    elif headers.get("X-DKU-APITicket") is not None:
        key = headers.get("X-DKU-APITicket")
    if not key:
        raise errors.not_authenticated("No API key or ticket provided: you are not authenticated")
    doc = store.api_keys.get(key)
    if doc is None:
        raise errors.not_authenticated("Unknown API Key")
    login = doc.get("login") or "api:{}".format(doc.get("id", "key"))
    groups = sorted(set(doc.get("groups") or []) | set((store.users.get(login) or {}).get("groups") or []))
    admin = bool(doc.get("admin")) or any(store.groups.get(g, {}).get("admin") for g in groups)
    return GovernCaller(login, groups, admin)


def _members(store: GovernStore, users: List[str], groups: List[str]) -> List[str]:
    """The logins a users container names: its users and the members of its groups."""
    found = set(users)
    for login, user in store.users.items():
        if set(user.get("groups") or []) & set(groups):
            found.add(login)
    return sorted(found)


# ---------------------------------------------------------------- instance and identity


@route("GET", "/instance-info")
def instance_info(ctx: GCtx) -> Dict[str, Any]:
    return {"nodeId": "govern-emulator", "nodeName": "Govern emulator", "nodeType": "GOVERN"}


@route("GET", "/auth/info")
def auth_info(ctx: GCtx) -> Dict[str, Any]:
    return {"authIdentifier": ctx.caller.login, "groups": ctx.caller.groups, "via": ["API_KEY"]}


@route("GET", "/current-user")
def current_user(ctx: GCtx) -> Dict[str, Any]:
    user = ctx.store.users.get(ctx.caller.login) or {}
    return {"login": ctx.caller.login, "displayName": user.get("displayName", ctx.caller.login),
            "groups": ctx.caller.groups, "email": user.get("email", "")}


@route("GET", "/users")
def users(ctx: GCtx) -> List[Dict[str, Any]]:
    return [{"login": u["login"], "displayName": u.get("displayName", u["login"])} for u in ctx.store.users.values()]


@route("GET", "/groups")
def groups(ctx: GCtx) -> List[Dict[str, Any]]:
    return [{"name": name} for name in ctx.store.groups]


@route("POST", "/admin/audit/custom/<kind>")
def custom_audit(ctx: GCtx) -> Dict[str, Any]:
    if not ctx.caller.admin:
        raise errors.forbidden("Action forbidden: you are not an administrator of this Govern instance")
    ctx.store.audit.append({"type": ctx.params["kind"], "params": ctx.body() or {}, "user": ctx.caller.login, "at": now_ms()})
    ctx.store.save()
    return {}


# ---------------------------------------------------------------- blueprints


def _blueprint(ctx: GCtx, bp_id: str) -> Dict[str, Any]:
    entry = ctx.store.blueprints.get(bp_id)
    if entry is None:
        raise errors.not_found(f"Blueprint not found: {bp_id}")
    return entry


def _version(ctx: GCtx, bp_id: str, bv_id: str) -> Dict[str, Any]:
    for entry in _blueprint(ctx, bp_id)["versions"]:
        if entry["version"]["id"]["versionId"] == bv_id:
            return entry
    raise errors.not_found(f"Blueprint version not found: {bp_id} / {bv_id}")


@route("GET", "/blueprints")
def list_blueprints(ctx: GCtx) -> List[Dict[str, Any]]:
    return [{"blueprint": copy.deepcopy(entry["blueprint"])} for entry in ctx.store.blueprints.values()]


@route("GET", "/blueprint/<bp>")
def get_blueprint(ctx: GCtx) -> Dict[str, Any]:
    return {"blueprint": copy.deepcopy(_blueprint(ctx, ctx.params["bp"])["blueprint"])}


def _version_doc(entry: Dict[str, Any]) -> Dict[str, Any]:
    version = {k: v for k, v in entry["version"].items() if k != "signoffConfigurations"}
    trace = {"status": entry["status"], "originVersionId": entry.get("originVersionId")}
    return {"blueprintVersion": copy.deepcopy(version), "blueprintVersionTrace": trace}


@route("GET", "/blueprint/<bp>/versions")
def list_versions(ctx: GCtx) -> List[Dict[str, Any]]:
    return [_version_doc(entry) for entry in _blueprint(ctx, ctx.params["bp"])["versions"]]


@route("GET", "/blueprint/<bp>/version/<bv>")
def get_version(ctx: GCtx) -> Dict[str, Any]:
    return _version_doc(_version(ctx, ctx.params["bp"], ctx.params["bv"]))


# ---------------------------------------------------------------- artifacts


def _artifact(ctx: GCtx, ar_id: Optional[str] = None) -> Dict[str, Any]:
    ar_id = ar_id or ctx.params["ar"]
    doc = ctx.store.artifacts.get(ar_id)
    if doc is None:
        raise errors.not_found(f"Artifact not found: {ar_id}")
    return doc


def _artifact_version(ctx: GCtx, doc: Dict[str, Any]) -> Dict[str, Any]:
    ref = doc["blueprintVersionId"]
    return _version(ctx, ref["blueprintId"], ref["versionId"])


def _require_writer(ctx: GCtx, blueprint_id: str) -> None:
    """Who may create and edit artifacts of a blueprint: admins and the groups the blueprint's
    role assignments name (the emulator keeps them as `writers`)."""
    writers = set(_blueprint(ctx, blueprint_id).get("writers") or [])
    if not (ctx.caller.admin or writers & set(ctx.caller.groups)):
        raise errors.forbidden(f"User {ctx.caller.login} may not write artifacts of blueprint {blueprint_id}")


def _check_fields(version: Dict[str, Any], fields: Any) -> Dict[str, Any]:
    if not isinstance(fields, dict):
        raise errors.bad_request("Artifact fields must be a JSON object")
    unknown = sorted(set(fields) - set(version["version"]["fieldDefinitions"]))
    if unknown:
        raise errors.bad_request(f"{UNKNOWN_FIELDS}: {', '.join(unknown)}")
    return copy.deepcopy(fields)


def _step_ids(version: Dict[str, Any]) -> List[str]:
    return [step["id"] for step in version["version"]["workflowDefinition"]["stepDefinitions"]]


def _check_workflow(version: Dict[str, Any], workflow: Any) -> Dict[str, Any]:
    steps = (workflow or {}).get("steps") if isinstance(workflow, dict) else None
    if not isinstance(steps, dict):
        raise errors.bad_request("Artifact workflow must be {steps: {<stepId>: {status, visible}}}")
    known = _step_ids(version)
    for step_id, step in steps.items():
        if step_id not in known:
            raise errors.bad_request(f"Unknown workflow step {step_id!r} (steps: {', '.join(known)})")
        if not isinstance(step, dict) or step.get("status") not in STEP_STATUSES:
            raise errors.bad_request(f"Workflow step {step_id!r}: status must be one of {', '.join(STEP_STATUSES)}")
    return {"steps": {sid: {"status": steps.get(sid, {}).get("status", "NOT_STARTED"),
                            "visible": bool(steps.get(sid, {}).get("visible", True))} for sid in known}}


def _current_step(workflow: Dict[str, Any]) -> Optional[str]:
    for step_id, step in workflow["steps"].items():
        if step["status"] == "ONGOING":
            return step_id
    return None


def _new_signoff(ar_id: str, step_id: str, conf: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "signoffId": {"artifactId": ar_id, "stepId": step_id},
        "status": "NOT_STARTED",
        "feedbackResponses": [],
        "approverResponse": None,
        "configuration": copy.deepcopy(conf),
    }


@route("POST", "/artifacts")
def create_artifact(ctx: GCtx) -> Dict[str, Any]:
    body = ctx.body_dict()
    ref = body.get("blueprintVersionId")
    if not isinstance(ref, dict) or not ref.get("blueprintId") or not ref.get("versionId"):
        raise errors.bad_request("blueprintVersionId {blueprintId, versionId} is required")
    version = _version(ctx, ref["blueprintId"], ref["versionId"])
    if version["status"] != "ACTIVE":
        raise errors.bad_request(f"Blueprint version {ref['versionId']} is {version['status']}, not ACTIVE")
    _require_writer(ctx, ref["blueprintId"])
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("An artifact needs a name")
    fields = _check_fields(version, body.get("fields") or {})
    steps = _step_ids(version)
    default = {"steps": {sid: {"status": "ONGOING" if i == 0 else "NOT_STARTED", "visible": True} for i, sid in enumerate(steps)}}
    workflow = _check_workflow(version, body["workflow"]) if body.get("workflow") else default
    ar_id = ctx.store.next_id("ar")
    at = now_ms()
    doc = {
        "id": ar_id,
        "name": name,
        "blueprintVersionId": {"blueprintId": ref["blueprintId"], "versionId": ref["versionId"]},
        "fields": fields,
        "workflow": workflow,
        "status": {"stepId": _current_step(workflow)},
        "archived": False,
        "createdOn": at,
        "createdBy": ctx.caller.login,
        "lastModifiedOn": at,
        "lastModifiedBy": ctx.caller.login,
    }
    ctx.store.artifacts[ar_id] = doc
    confs = version["version"].get("signoffConfigurations") or {}
    ctx.store.signoffs[ar_id] = {sid: _new_signoff(ar_id, sid, conf) for sid, conf in confs.items()}
    ctx.store.timelines[ar_id] = [{"at": at, "user": ctx.caller.login, "event": "created", "fields": copy.deepcopy(fields)}]
    ctx.store.save()
    return {"artifactId": ar_id}


@route("GET", "/artifact/<ar>")
def get_artifact(ctx: GCtx) -> Dict[str, Any]:
    return {"artifact": copy.deepcopy(_artifact(ctx))}


@route("PUT", "/artifact/<ar>")
def save_artifact(ctx: GCtx) -> Dict[str, Any]:
    doc = _artifact(ctx)
    _require_writer(ctx, doc["blueprintVersionId"]["blueprintId"])
    body = ctx.body_dict()
    if body.get("id", doc["id"]) != doc["id"]:
        raise errors.bad_request("The artifact id cannot be changed")
    version = _artifact_version(ctx, doc)
    fields = _check_fields(version, body.get("fields", doc["fields"]))
    workflow = _check_workflow(version, body.get("workflow", doc["workflow"]))
    at = now_ms()
    timeline = ctx.store.timelines.setdefault(doc["id"], [])
    for key in sorted(set(fields) | set(doc["fields"])):
        if fields.get(key) != doc["fields"].get(key):
            timeline.append({"at": at, "user": ctx.caller.login, "event": "field", "field": key,
                             "old": doc["fields"].get(key), "new": fields.get(key)})
    for step_id, step in workflow["steps"].items():
        if step["status"] != doc["workflow"]["steps"][step_id]["status"]:
            timeline.append({"at": at, "user": ctx.caller.login, "event": "step", "step": step_id,
                             "old": doc["workflow"]["steps"][step_id]["status"], "new": step["status"]})
    doc.update(name=body.get("name", doc["name"]), fields=fields, workflow=workflow,
               archived=bool(body.get("archived", doc.get("archived", False))),
               status={"stepId": _current_step(workflow)}, lastModifiedOn=at, lastModifiedBy=ctx.caller.login)
    ctx.store.save()
    return {"artifact": copy.deepcopy(doc)}


@route("DELETE", "/artifact/<ar>")
def delete_artifact(ctx: GCtx) -> Dict[str, Any]:
    doc = _artifact(ctx)
    _require_writer(ctx, doc["blueprintVersionId"]["blueprintId"])
    for table in (ctx.store.artifacts, ctx.store.signoffs, ctx.store.timelines):
        table.pop(doc["id"], None)
    ctx.store.save()
    return {}


# ---------------------------------------------------------------- search


def _text_matches(value: Any, condition: str, how: str, case_sensitive: bool) -> bool:
    text = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
    if not case_sensitive:
        text, condition = text.lower(), condition.lower()
    tests = {"EQUALS": text == condition, "CONTAINS": condition in text,
             "START_WITH": text.startswith(condition), "END_WITH": text.endswith(condition)}
    if how not in tests:
        raise errors.bad_request(f"Unknown conditionType {how!r} (one of {', '.join(tests)})")
    return tests[how]


def _passes(doc: Dict[str, Any], flt: Dict[str, Any]) -> bool:
    kind = flt.get("type")
    if kind == "archived":  # isArchived true: archived ones too (dataikuapi's docstring); false: live ones only
        return bool(flt.get("isArchived")) or not doc.get("archived")
    if kind == "blueprints":
        return doc["blueprintVersionId"]["blueprintId"] in (flt.get("blueprintIds") or [])
    if kind == "blueprintVersions":
        return doc["blueprintVersionId"] in (flt.get("blueprintVersionIds") or [])
    if kind == "artifacts":
        return doc["id"] in (flt.get("artifactIds") or [])
    if kind == "field":
        value = doc["fields"].get(flt["fieldId"]) if flt.get("fieldId") else doc["name"]
        found = _text_matches(value, str(flt.get("condition", "")), str(flt.get("conditionType", "EQUALS")),
                              bool(flt.get("caseSensitive", False)))
        return found != bool(flt.get("negateCondition", False))
    raise errors.bad_request(f"Unknown artifact filter type {kind!r}")


def _sort_key(doc: Dict[str, Any], column: Dict[str, Any]) -> Any:
    kind = column.get("type", "name")
    if kind == "workflow":
        return str(doc["status"].get("stepId") or "")
    if kind == "field":
        values = [doc["fields"].get(f.get("fieldId")) for f in column.get("fields") or []]
        return json.dumps(values, sort_keys=True)
    return doc["name"].lower()


@route("POST", "/artifacts/search")
def search_artifacts(ctx: GCtx) -> Dict[str, Any]:
    body = ctx.body_dict()
    filters = body.get("artifactFilters") or []
    found = [doc for doc in ctx.store.artifacts.values() if all(_passes(doc, f) for f in filters)]
    sort = body.get("artifactSearchSort") or {}
    found.sort(key=lambda d: (_sort_key(d, sort.get("column") or {}), _id_order(d["id"])),
               reverse=sort.get("direction") == "DESC")
    page = body.get("artifactSearchPagination") or {}
    size = int(page.get("pageSize") or 20)
    last = page.get("lastArtifactId")
    if last:
        ids = [d["id"] for d in found]
        found = found[ids.index(last) + 1:] if last in ids else []
    return {"uiArtifacts": [{"artifact": copy.deepcopy(d)} for d in found[:size]], "hasNextPage": len(found) > size}


def _id_order(ar_id: str) -> int:
    tail = ar_id.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


# ---------------------------------------------------------------- sign-offs


def _signoff(ctx: GCtx) -> Dict[str, Any]:
    doc = _artifact(ctx)
    signoff = ctx.store.signoffs.get(doc["id"], {}).get(ctx.params["step"])
    if signoff is None:
        raise errors.not_found(f"No sign-off on step {ctx.params['step']} of artifact {doc['id']}")
    return signoff


def _approvers(ctx: GCtx, signoff: Dict[str, Any]) -> List[str]:
    approval = signoff["configuration"].get("approval") or {}
    return _members(ctx.store, list(approval.get("users") or []), list(approval.get("groups") or []))


def _feedback_group(ctx: GCtx, signoff: Dict[str, Any], group_id: Optional[str]) -> Dict[str, Any]:
    for group in signoff["configuration"].get("feedbackGroups") or []:
        if group.get("groupId") == group_id:
            return group
    raise errors.bad_request(f"Unknown feedback group {group_id!r}")


@route("GET", "/artifact/<ar>/signoffs")
def list_signoffs(ctx: GCtx) -> List[Dict[str, Any]]:
    doc = _artifact(ctx)
    return [copy.deepcopy(s) for s in ctx.store.signoffs.get(doc["id"], {}).values()]


@route("GET", "/artifact/<ar>/workflow/step/<step>/signoff")
def get_signoff(ctx: GCtx) -> Dict[str, Any]:
    return copy.deepcopy(_signoff(ctx))


@route("GET", "/artifact/<ar>/workflow/step/<step>/signoff/details")
def signoff_details(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    feedback = [{"groupId": g.get("groupId"), "users": _members(ctx.store, g.get("users") or [], g.get("groups") or [])}
                for g in signoff["configuration"].get("feedbackGroups") or []]
    return {"feedbackGroups": feedback, "approvers": _approvers(ctx, signoff)}


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/create")
def create_signoff(ctx: GCtx) -> Dict[str, Any]:
    doc = _artifact(ctx)
    step_id = ctx.params["step"]
    _require_writer(ctx, doc["blueprintVersionId"]["blueprintId"])
    if doc["workflow"]["steps"].get(step_id, {}).get("status") != "ONGOING":
        raise errors.bad_request(f"Step {step_id} is not ongoing: a sign-off can only be created on the ongoing step")
    existing = ctx.store.signoffs.setdefault(doc["id"], {})
    if step_id in existing:
        raise errors.bad_request(f"Step {step_id} already has a sign-off")
    conf = (_artifact_version(ctx, doc)["version"].get("signoffConfigurations") or {}).get(step_id)
    if conf is None:
        raise errors.bad_request(f"The blueprint version has no sign-off configuration for step {step_id}")
    existing[step_id] = _new_signoff(doc["id"], step_id, conf)
    ctx.store.save()
    return copy.deepcopy(existing[step_id])


def _record(ctx: GCtx, event: str, **details: Any) -> None:
    ctx.store.timelines.setdefault(ctx.params["ar"], []).append(
        {"at": now_ms(), "user": ctx.caller.login, "event": event, "step": ctx.params["step"], **details}
    )
    ctx.store.save()


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/update-status")
def update_signoff_status(ctx: GCtx) -> Dict[str, Any]:
    """Any of the six statuses. Setting APPROVED this way leaves `approverResponse` null: a status
    without an approval (a client that gates on approval must look at the response too)."""
    doc = _artifact(ctx)
    signoff = _signoff(ctx)
    _require_writer(ctx, doc["blueprintVersionId"]["blueprintId"])
    target = ctx.body_dict().get("targetStatus")
    if target not in SIGNOFF_STATUSES:
        raise errors.bad_request(f"targetStatus must be one of {', '.join(SIGNOFF_STATUSES)}")
    if target != "NOT_STARTED" and doc["workflow"]["steps"][ctx.params["step"]]["status"] != "ONGOING":
        raise errors.bad_request(f"Step {ctx.params['step']} is not ongoing: start it before its sign-off")
    if target == "NOT_STARTED":
        signoff.update(feedbackResponses=[], approverResponse=None)
        if ctx.body_dict().get("reloadConfForReset"):
            conf = (_artifact_version(ctx, doc)["version"].get("signoffConfigurations") or {}).get(ctx.params["step"], {})
            signoff["configuration"] = copy.deepcopy(conf)
    old = signoff["status"]
    signoff["status"] = target
    _record(ctx, "signoff-status", old=old, new=target)
    return {}


def _check_waiting(signoff: Dict[str, Any]) -> None:
    if signoff["status"] not in WAITING:
        raise errors.bad_request(f"The sign-off is {signoff['status']}: reviews are only taken while it waits for them")


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/feedback")
def add_feedback(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    group_id = ctx.request.args.get("groupId")
    group = _feedback_group(ctx, signoff, group_id)
    if ctx.caller.login not in _members(ctx.store, group.get("users") or [], group.get("groups") or []):
        raise errors.forbidden(f"User {ctx.caller.login} is not a reviewer of feedback group {group_id}")
    _check_waiting(signoff)
    body = ctx.body_dict()
    if body.get("status") not in FEEDBACK_STATUSES:
        raise errors.bad_request(f"Feedback status must be one of {', '.join(FEEDBACK_STATUSES)}")
    feedback = {"id": ctx.store.next_id("fb"), "groupId": group_id, "status": body["status"],
                "comment": body.get("comment", ""), "user": {"login": ctx.caller.login}, "date": now_ms()}
    signoff["feedbackResponses"].append(feedback)
    _record(ctx, "feedback", status=body["status"])
    return {"id": feedback["id"]}


def _own_feedback(ctx: GCtx) -> Dict[str, Any]:
    for feedback in _signoff(ctx)["feedbackResponses"]:
        if feedback["id"] == ctx.params["fid"]:
            if feedback["user"]["login"] != ctx.caller.login and not ctx.caller.admin:
                raise errors.forbidden("Only its author may change a feedback")
            return feedback
    raise errors.not_found(f"Feedback not found: {ctx.params['fid']}")


@route("PUT", "/artifact/<ar>/workflow/step/<step>/signoff/feedback/<fid>")
def save_feedback(ctx: GCtx) -> Dict[str, Any]:
    feedback = _own_feedback(ctx)
    body = ctx.body_dict()
    if body.get("status") not in FEEDBACK_STATUSES:
        raise errors.bad_request(f"Feedback status must be one of {', '.join(FEEDBACK_STATUSES)}")
    feedback.update(status=body["status"], comment=body.get("comment", feedback.get("comment", "")), date=now_ms())
    _record(ctx, "feedback", status=body["status"])
    return copy.deepcopy(feedback)


@route("DELETE", "/artifact/<ar>/workflow/step/<step>/signoff/feedback/<fid>")
def delete_feedback(ctx: GCtx) -> Dict[str, Any]:
    feedback = _own_feedback(ctx)
    _signoff(ctx)["feedbackResponses"].remove(feedback)
    _record(ctx, "feedback-deleted")
    return {}


def _approval_body(ctx: GCtx, signoff: Dict[str, Any]) -> Dict[str, Any]:
    if ctx.caller.login not in _approvers(ctx, signoff):
        raise errors.forbidden(f"User {ctx.caller.login} is not an approver of this sign-off")
    body = ctx.body_dict()
    if body.get("status") not in APPROVAL_STATUSES:
        raise errors.bad_request(f"Approval status must be one of {', '.join(APPROVAL_STATUSES)}")
    return body


def _set_approval(ctx: GCtx, signoff: Dict[str, Any], body: Dict[str, Any]) -> None:
    signoff["approverResponse"] = {"status": body["status"], "comment": body.get("comment", ""),
                                   "user": {"login": ctx.caller.login}, "date": now_ms()}
    signoff["status"] = body["status"]
    _record(ctx, "approval", status=body["status"], comment=body.get("comment", ""))


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/approval")
def add_approval(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    body = _approval_body(ctx, signoff)
    if signoff.get("approverResponse") is not None:
        raise errors.bad_request("Only one final approval can be submitted: change or delete the existing one")
    _check_waiting(signoff)
    _set_approval(ctx, signoff, body)
    return {}


@route("PUT", "/artifact/<ar>/workflow/step/<step>/signoff/approval")
def save_approval(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    body = _approval_body(ctx, signoff)
    if signoff.get("approverResponse") is None:
        raise errors.not_found("No final approval to change")
    _set_approval(ctx, signoff, body)
    return {}


@route("DELETE", "/artifact/<ar>/workflow/step/<step>/signoff/approval")
def delete_approval(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    if signoff.get("approverResponse") is None:
        raise errors.not_found("No final approval to delete")
    if signoff["approverResponse"]["user"]["login"] != ctx.caller.login and not ctx.caller.admin:
        raise errors.forbidden("Only the approver may withdraw the final approval")
    signoff["approverResponse"] = None
    signoff["status"] = "WAITING_FOR_APPROVAL"
    _record(ctx, "approval-deleted")
    return {}


def _delegate_to(ctx: GCtx) -> str:
    body = ctx.body_dict()
    if body.get("type") != "user" or body.get("login") not in ctx.store.users:
        raise errors.bad_request("Delegate to {type: 'user', login: <an existing user>}")
    return str(body["login"])


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/delegate-approval")
def delegate_approval(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    login = _delegate_to(ctx)
    signoff["configuration"].setdefault("approval", {}).setdefault("users", []).append(login)
    _record(ctx, "delegate-approval", to=login)
    return {}


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/delegate-feedback")
def delegate_feedback(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    group = _feedback_group(ctx, signoff, ctx.request.args.get("groupId"))
    login = _delegate_to(ctx)
    group.setdefault("users", []).append(login)
    _record(ctx, "delegate-feedback", to=login)
    return {}


@route("POST", "/artifact/<ar>/workflow/step/<step>/signoff/schedule-reset")
def schedule_reset(ctx: GCtx) -> Dict[str, Any]:
    signoff = _signoff(ctx)
    signoff["configuration"]["recurrenceConfiguration"] = ctx.body_dict()
    _record(ctx, "schedule-reset")
    return copy.deepcopy(signoff)
