"""Scenarios: CRUD, script payload, status, manual runs and run history."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .. import defaults, errors
from ..auth import READ, RUN, WRITE
from ..context import Ctx, Raw
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData
from .common import SCENARIO_ID_RE, apply_metadata, metadata_of

SCENARIO_TYPES = ("step_based", "custom_python")
# The keys of a scenario list item, as Dataiku's own monitoring plugin reads them (dss-plugin-dataiku-pulse,
# schemas/scenarios_metadata.py), plus projectKey and tags (dataikuapi's DSSScenarioListItem is a taggable
# list item). No versionTag: DSS lists scenarios without it (dss-fidelity-findings.md section 1).
LIST_KEYS = ("id", "projectKey", "name", "type", "active", "tags", "runAsUser", "markedAsTest")
# What the light view adds to a list item: the fields dataikuapi says it can modify (scenario.py,
# set_definition(with_status=True)).
LIGHT_KEYS = ("description", "shortDesc", "checklists")


def _scenario(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    sid = ctx.params["sid"]
    doc = proj.scenarios.get(sid)
    if doc is None:
        raise errors.not_found(f"scenario does not exist: {proj.key}.{sid}")
    return doc


def _tag_time(doc: Dict[str, Any], tag: str) -> int:
    return int((doc.get(tag) or {}).get("lastModifiedOn") or 0)


def list_item(ctx: Ctx, proj: ProjectData, doc: Dict[str, Any]) -> Dict[str, Any]:
    """A scenario as ``GET /scenarios/`` lists it. Absent optional values are left out, as DSS's
    JSON writer (Gson) leaves out nulls: ``runAsUser`` appears only when set."""
    item = {k: clone(doc[k]) for k in LIST_KEYS if doc.get(k) is not None}
    item.setdefault("markedAsTest", False)
    runs = proj.runs.get(doc["id"]) or []
    running = ctx.app.scenarios.is_running(proj, doc["id"])
    item.update(
        unavailable=False,
        running=running,
        createdOn=_tag_time(doc, "creationTag"),
        lastModifiedOn=_tag_time(doc, "versionTag"),
        start=runs[-1]["start"] if running else 0,  # the current run's start; 0 when not running
        nextRun=0,  # automatic triggers never fire in the emulator
    )
    return item


def _light(ctx: Ctx, proj: ProjectData, doc: Dict[str, Any]) -> Dict[str, Any]:
    item = list_item(ctx, proj, doc)
    item.update({k: clone(doc[k]) for k in LIGHT_KEYS if k in doc})
    return item


def public_run(run: Dict[str, Any]) -> Dict[str, Any]:
    return {k: clone(v) for k, v in run.items() if k != "stepRuns"}


@route("GET", "/projects/<pk>/scenarios/")
def list_scenarios(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [list_item(ctx, proj, proj.scenarios[s]) for s in sorted(proj.scenarios)]


@route("POST", "/projects/<pk>/scenarios/")
def create_scenario(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("Scenario name is missing")
    stype = body.get("type", "step_based")
    if stype not in SCENARIO_TYPES:
        raise errors.bad_request(f"Unknown scenario type '{stype}' (expected one of {SCENARIO_TYPES})")
    if ctx.app.behaviour("scenario_create_id") == "from_name":
        sid = defaults.scenario_id_from_name(name)  # the body's id, if any, is ignored
    else:
        sid = body.get("id") or defaults.scenario_id_from_name(name)
    if not isinstance(sid, str) or not SCENARIO_ID_RE.match(sid):
        raise errors.bad_request(f"Invalid scenario id '{sid}'")
    if sid in proj.scenarios:
        raise errors.already_exists(f"Scenario {sid} already exists in project {proj.key}")
    if body.get("runAsUser") and not ctx.caller.admin:
        raise errors.forbidden("Only administrators may set runAsUser")
    doc = defaults.new_scenario(proj.key, sid, name, stype, body)
    defaults.stamp_creation(doc, ctx.login)
    proj.scenarios[sid] = doc
    if stype == "custom_python":
        proj.scenario_scripts[sid] = ""
    ctx.store.save_scenario(proj, sid)
    return ctx.created(clone(doc), "id")


@route("GET", "/projects/<pk>/scenarios/<sid>")
def get_scenario(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_scenario(ctx, proj))


@route("PUT", "/projects/<pk>/scenarios/<sid>")
def put_scenario(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = _scenario(ctx, proj)
    body = ctx.body_dict()
    if body.get("runAsUser") != old.get("runAsUser") and body.get("runAsUser") and not ctx.caller.admin:
        raise errors.forbidden("Only administrators may set runAsUser")
    doc = clone(body)
    for k in ("id", "projectKey", "type", "creationTag", "versionTag"):
        if k in old:
            doc[k] = clone(old[k])
    doc.setdefault("name", old.get("name"))
    defaults.normalize_scenario(doc)
    defaults.bump(doc, ctx.login)
    proj.scenarios[old["id"]] = doc
    ctx.store.save_scenario(proj, old["id"])
    return {}


@route("DELETE", "/projects/<pk>/scenarios/<sid>")
def delete_scenario(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    ctx.store.remove_scenario(proj, _scenario(ctx, proj)["id"])
    return {}


@route("GET", "/projects/<pk>/scenarios/<sid>/payload")
def get_payload(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _scenario(ctx, proj)
    return {"script": proj.scenario_scripts.get(doc["id"], "")}


@route("PUT", "/projects/<pk>/scenarios/<sid>/payload")
def set_payload(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _scenario(ctx, proj)
    script = ctx.body_dict().get("script", "")
    if not isinstance(script, str):
        raise errors.bad_request("script must be a string")
    proj.scenario_scripts[doc["id"]] = script
    ctx.store.save_scenario(proj, doc["id"])
    return {}


@route("GET", "/projects/<pk>/scenarios/<sid>/light")
def light(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return _light(ctx, proj, _scenario(ctx, proj))


@route("PUT", "/projects/<pk>/scenarios/<sid>/light")
def set_light(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    doc = _scenario(ctx, proj)
    body = ctx.body_dict()
    if "active" in body:
        doc["active"] = bool(body["active"])
    apply_metadata(
        doc, {k: v for k, v in body.items() if k in ("tags", "description", "shortDesc", "checklists")}
    )
    defaults.sort_tags(doc)
    defaults.bump(doc, ctx.login)
    ctx.store.save_scenario(proj, doc["id"])
    return {}


@route("GET", "/projects/<pk>/scenarios/<sid>/metadata")
def get_scenario_metadata(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _scenario(ctx, proj)
    return metadata_of(doc, doc.get("name", doc["id"]))


# ---------------------------------------------------------------- runs


@route("POST", "/projects/<pk>/scenarios/<sid>/run")
def run_scenario(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(RUN)
    doc = _scenario(ctx, proj)
    params = ctx.body({})
    return ctx.app.scenarios.fire(proj, doc["id"], params if isinstance(params, dict) else {}, ctx.caller)


def _run_for_trigger(proj: ProjectData, sid: str, trigger_run_id: Optional[str]) -> Optional[Dict[str, Any]]:
    for run in reversed(proj.runs.get(sid) or []):
        if run["trigger"].get("runId") == trigger_run_id:
            return run
    return None


@route("GET", "/projects/<pk>/scenarios/<sid>/get-run-for-trigger")
def run_for_trigger(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    doc = _scenario(ctx, proj)
    run = _run_for_trigger(proj, doc["id"], ctx.query("triggerRunId"))
    return {"scenarioRun": public_run(run)} if run else {}


@route("GET", "/projects/<pk>/scenarios/trigger/<sid>/<tid>")
def trigger_fire(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    _scenario(ctx, proj)
    fire = ctx.app.scenarios.fire_for(ctx.query("triggerRunId") or "")
    if fire is None:
        raise errors.not_found("Trigger fire {} does not exist".format(ctx.query("triggerRunId")))
    return clone(fire)


@route("GET", "/projects/<pk>/scenarios/<sid>/get-last-runs")
def last_runs(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    doc = _scenario(ctx, proj)
    runs = list(reversed(proj.runs.get(doc["id"]) or []))
    if ctx.qbool("onlyFinishedRuns"):
        runs = [r for r in runs if "result" in r]
    limit = int(ctx.query("limit") or 10)
    return [public_run(r) for r in runs[:limit]]


def _run(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    doc = _scenario(ctx, proj)
    for run in proj.runs.get(doc["id"]) or []:
        if run["runId"] == ctx.params["run_id"]:
            return run
    raise errors.not_found("Scenario run {} does not exist".format(ctx.params["run_id"]))


@route("GET", "/projects/<pk>/scenarios/<sid>/<run_id>/")
def get_run(ctx: Ctx) -> Dict[str, Any]:
    run = _run(ctx, ctx.project(READ))
    return {"scenarioRun": public_run(run), "stepRuns": clone(run.get("stepRuns", []))}


@route("GET", "/projects/<pk>/scenarios/<sid>/<run_id>/log")
def run_log(ctx: Ctx) -> Raw:
    """The run's log as text (dataikuapi's ``DSSScenarioRun.get_log``), or one step's with
    ``stepId``: per step a header line, then what the step wrote (a plugin step's output, kept
    when it fails) or its message."""
    run = _run(ctx, ctx.project(READ))
    step_id = ctx.query("stepId")
    steps = [s for s in run.get("stepRuns", []) if not step_id or s.get("stepId") == step_id]
    if step_id and not steps:
        raise errors.not_found(f"Step {step_id} did not run in scenario run {run['runId']}")
    text = "".join(_step_log(s) for s in steps)
    return Raw(text.encode("utf-8"), "text/plain; charset=utf-8")


def _step_log(step_run: Dict[str, Any]) -> str:
    step = step_run.get("step") or {}
    outcome = (step_run.get("result") or {}).get("outcome", "RUNNING")
    body = str(step_run.get("log") or "")
    header = "[step {}] {} ({}): {}\n".format(step_run.get("stepId"), step.get("name") or "", step.get("type"), outcome)
    return header + body + ("" if not body or body.endswith("\n") else "\n")


@route("POST", "/projects/<pk>/scenarios/<sid>/abort")
def abort(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(RUN)
    ctx.app.scenarios.abort(proj, _scenario(ctx, proj)["id"])
    return {}
