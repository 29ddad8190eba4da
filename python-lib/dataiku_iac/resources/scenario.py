"""Step-based scenarios: triggers, steps, reporters, active flag and run-as user.

Triggers and steps are compared position by position, each as a subset of what DSS
holds: DSS gives triggers random ids, steps derived ids, and fills retries, delays and
grace periods; none of that is configuration. When a save rewrites a trigger or a step,
the DSS item at the same position keeps its server-side keys (ids included), so DSS
never sees spurious replacements.

Scenario ids: the create sends the configured id, which DSS honours as far as is known, but
it may ignore it and derive the id from the name (keeping the case, other characters than
[A-Za-z0-9_] becoming '_': docs/emulator.md). The state records whatever id DSS gave
(dss_id), and `run_scenario` steps are translated between configured ids and DSS ids
through the project context, which knows that mapping from the state and from this run's
creates. A create whose answer was lost is found under either id, by its name
(`find_created`, reconcile.py).

Note: when `run_as` is not set, DSS runs a scenario as its last modifier
(``versionTag.lastModifiedBy``), so any save changes who it runs as. Declare `run_as`
for scenarios whose identity matters.
"""

from __future__ import annotations

import copy
import datetime
import re
from typing import Any, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    create_answer,
    created_document,
    deep_merge,
    version_after_save,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import ConfigSchema, Identity, ResourceSpec

POLICY = FieldPolicy(
    fields=(
        Field("name"),
        Field("active"),
        Field("run_as"),
        Field("triggers", compare="items", reset=[]),
        Field("steps", compare="items", reset=[]),
        Field("reporters", compare="items", reset=[]),
        Field("description", reset=""),
        Field("tags", compare="set", reset=[]),
    )
)

RUN_CONDITIONS: dict[str, dict[str, Any]] = {

    "on_success": {"runConditionType": "RUN_IF_STATUS_MATCH", "runConditionStatuses": ["SUCCESS", "WARNING"]},
    "on_failure": {"runConditionType": "RUN_IF_STATUS_MATCH", "runConditionStatuses": ["FAILED"]},
    "always": {"runConditionType": "RUN_ALWAYS"},
}
# What a build step without `job_type` does (docs/config-reference.md, the schema's default).
DEFAULT_JOB_TYPE = "NON_RECURSIVE_FORCED_BUILD"
STEP_DEFAULTS = {
    "enabled": True,
    "alwaysShowComment": False,
    "runConditionType": "RUN_IF_STATUS_MATCH",
    "runConditionStatuses": ["SUCCESS", "WARNING"],
    "runConditionExpression": "",
    "resetScenarioStatus": False,
    "delayBetweenRetries": 10,
    "maxRetriesOnFail": 0,
}


class ScenarioHandler(ResourceHandler):
    type = "scenario"
    policy = POLICY

    # The scenario list is light (no triggers or steps): each scenario is read once.
    per_object_read = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        return list(client.get_project(project_key).list_scenarios())

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def read_item(self, client: Any, project_key: str, item: dict[str, Any]) -> dict[str, Any]:
        raw: dict[str, Any] = client.get_project(project_key).get_scenario(item["id"]).get_settings().get_raw()
        return raw

    # DSS lists scenarios without versionTag, only `lastModifiedOn` (and `createdOn`): the version an
    # apply produced is read from each scenario's document, and an observation compares the listed
    # lastModifiedOn with the one recorded (docs/performance.md, "Assumptions about DSS").
    list_has_version_numbers = False

    def listed_version(self, item: dict[str, Any]) -> Optional[dict[str, Any]]:
        stamp = item.get("lastModifiedOn")
        if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp > 0:
            return {"lastModifiedOn": stamp}
        return None

    def listed_agrees(self, item: dict[str, Any], attributes: dict[str, Any]) -> bool:
        """The name, active flag, run-as user and tags the list shows equal the recorded ones: a change
        there that did not move lastModifiedOn (a toggle DSS would not version) still forces a read."""
        shown = {
            "name": item.get("name"),
            "active": bool(item.get("active")),
            "run_as": item.get("runAsUser"),
            "tags": sorted(set(item.get("tags") or [])),
        }
        for key, value in shown.items():
            if key in attributes:
                recorded = sorted(set(attributes[key] or [])) if key == "tags" else attributes[key]
                if recorded != value:
                    return False
        return True

    def read_version(self, client: Any, project_key: str, dss_id: str) -> Optional[dict[str, Any]]:
        return version_tag_of(self.read_item(client, project_key, {"id": dss_id}))

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        return self._observed(project_key, doc, ctx)

    def _observed(self, project_key: str, raw: dict[str, Any], ctx: ProjectContext) -> Observed:
        return Observed(
            type="scenario",
            project_key=project_key,
            name=raw["id"],
            dss_id=raw["id"],
            attributes=self.to_logical(raw, ctx),
            version_tag=version_tag_of(raw),
        )

    def find(self, client: Any, project_key: str, name: str, ctx: ProjectContext) -> Optional[Observed]:
        return next((o for o in self.observe(client, project_key, ctx) if o.name == name), None)

    def may_have_created(self, name: str, attributes: dict[str, Any], live: Observed) -> bool:
        """A scenario holding our name under an id the create may have given it (the configured one,
        or the one DSS derives from the name when it ignores it)."""
        title = attributes.get("name") or name
        ids = created_ids(name, title, ProjectContext(live.project_key), answer_lost=True)
        return live.dss_id in ids and live.attributes.get("name") == title

    def find_created(self, client: Any, resource: Resource, ctx: ProjectContext, *, answer_lost: bool = False) -> Optional[Observed]:
        """The scenario our failed create made: one holding our name under an id our create gives it.

        Those ids (`created_ids`) are the configured id, the id DSS answered if the POST went
        through before a later call failed, and, when the answer may have been lost, the id DSS
        derives from the name when it ignores the configured one. A scenario holding one of them
        under another name is not ours (another address's, or nobody's): adopting it would
        overwrite it. Two candidates: the tool refuses to guess (None: the create fails, the plan
        then shows what stands in the way). One list, and one read of the match.
        """
        name = resource.attributes.get("name") or resource.name
        ids = created_ids(resource.name, name, ctx, answer_lost=answer_lost)
        matches = [i for i in self.list_items(client, resource.project_key) if i.get("id") in ids and i.get("name") == name]
        if len(matches) != 1:
            return None
        return self.observed_from(resource.project_key, self.read_item(client, resource.project_key, matches[0]), ctx)

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        return {
            "kind": doc.get("type"),  # step_based or custom_python (a script): read, never declared
            "name": doc.get("name"),
            "active": bool(doc.get("active")),
            "run_as": doc.get("runAsUser"),
            "triggers": [trigger_to_logical(t, ctx) for t in doc.get("triggers") or []],
            "steps": [step_to_logical(s, ctx) for s in (doc.get("params") or {}).get("steps") or []],
            "reporters": copy.deepcopy(doc.get("reporters") or []),
            "description": doc.get("description") or "",
            "tags": list(doc.get("tags") or []),
        }

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        definition: dict[str, Any] = {"id": resource.name, "params": {"steps": []}, "triggers": [], "reporters": []}
        patch_document(definition, resource.attributes, ctx)
        definition.pop("name", None)
        name = resource.attributes.get("name") or resource.name
        project = client.get_project(resource.project_key)
        created, answer = create_answer(client, lambda: project.create_scenario(name, "step_based", definition=definition))
        # DSS may not have used the configured id: steps of later creates calling this
        # scenario must name the id it has.
        ctx.remember_scenario(resource.name, created.id)
        # What DSS kept of the definition: its answer, when that is the document, else a read.
        identity = {"id": created.id, "projectKey": resource.project_key, "type": "step_based"}
        document = created_document(answer, identity, ("params", "triggers"))
        if document is not None:
            from dataikuapi.dss.scenario import StepBasedScenarioSettings

            settings = StepBasedScenarioSettings(client, created, document)
        else:
            settings = created.get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        patch_document(raw, resource.attributes, ctx)
        saved = raw != before
        if saved:  # e.g. DSS ignored a key on create: one save to converge
            settings.save()
            raw.pop("versionTag", None)
        observed = self._observed(resource.project_key, raw, ctx)
        observed.expected_version = version_after_save(before, saved)
        return observed

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_scenario(current.dss_id).get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        patch_document(raw, resource.attributes, ctx)
        saved = raw != before
        if saved:
            settings.save()
            raw.pop("versionTag", None)
        observed = self._observed(resource.project_key, raw, ctx)
        observed.expected_version = version_after_save(before, saved)
        return observed

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_scenario(dss_id).delete()


def id_from_name(name: str) -> str:
    """The id DSS 15 gives a scenario created without one: its name with the case kept and every
    character outside [A-Za-z0-9_] replaced by '_' ("Nightly build" -> "Nightly_build";
    reference/dss-fidelity-findings.md section 2)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


def created_ids(configured_id: str, name: str, ctx: ProjectContext, *, answer_lost: bool) -> set[str]:
    """The ids a create of scenario `configured_id` named `name` may have given it in DSS."""
    ids = {configured_id, ctx.scenario_id(configured_id)}
    if answer_lost:
        ids.add(id_from_name(name))
    return ids


def patch_document(raw: dict[str, Any], attrs: dict[str, Any], ctx: ProjectContext) -> None:
    """Write declared logical attributes into a DSS scenario document, in place."""
    raw.setdefault("type", "step_based")
    if "name" in attrs:
        raw["name"] = attrs["name"]
    if "active" in attrs:
        raw["active"] = bool(attrs["active"])
    if "run_as" in attrs:
        raw["runAsUser"] = attrs["run_as"]
    if "triggers" in attrs:
        current = raw.get("triggers") or []
        raw["triggers"] = [_merge_item(current, i, trigger_to_dss(t, ctx)) for i, t in enumerate(attrs["triggers"])]
    if "steps" in attrs:
        params = raw.setdefault("params", {})
        current = params.get("steps") or []
        params["steps"] = [_merge_step(current, i, step_to_dss(s, i, ctx)) for i, s in enumerate(attrs["steps"])]
    if "reporters" in attrs:
        current = raw.get("reporters") or []
        raw["reporters"] = [deep_merge(current[i], r) if i < len(current) else r for i, r in enumerate(attrs["reporters"])]
    if "description" in attrs:
        raw["description"] = attrs["description"]
    if "tags" in attrs:
        raw["tags"] = list(attrs["tags"])


def _merge_item(current: list[dict[str, Any]], index: int, wanted: dict[str, Any]) -> dict[str, Any]:
    """Keep the server-side keys (id, delays…) of the item already at this position."""
    if index < len(current) and current[index].get("type") == wanted.get("type"):
        return deep_merge(current[index], wanted)
    return wanted


def _merge_step(current: list[dict[str, Any]], index: int, wanted: dict[str, Any]) -> dict[str, Any]:

    if index < len(current) and current[index].get("type") == wanted.get("type"):
        merged = deep_merge(current[index], wanted)
        merged["id"] = current[index].get("id", wanted["id"])
        return merged
    new = deep_merge(STEP_DEFAULTS, wanted)
    new.setdefault("name", f"Step #{index + 1}")
    return new


# -- triggers --------------------------------------------------------------------
_TEMPORAL_KEYS = {
    "frequency": "frequency",
    "repeat_every": "repeatFrequency",
    "hour": "hour",
    "minute": "minute",
    "days": "daysOfWeek",
    "timezone": "timezone",
    "starting_from": "startingFrom",
    "monthly_run_on": "monthlyRunOn",
}


def trigger_to_logical(trigger: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    params = trigger.get("params") or {}
    kind = trigger.get("type")
    logical: dict[str, Any] = {"name": trigger.get("name"), "active": bool(trigger.get("active"))}
    if kind == "temporal" and params.get("frequency") == "Minutely":
        logical.update({"type": "periodic", "every_minutes": params.get("repeatFrequency")})
    elif kind == "temporal":
        logical["type"] = "temporal"
        for key, dss_key in _TEMPORAL_KEYS.items():
            if dss_key in params:
                logical[key] = params[dss_key]
    elif kind == "ds_modified":
        watches = params.get("watches") or params.get("items") or []
        logical.update(
            {
                "type": "dataset_change",
                "datasets": [w.get("itemId") for w in watches if w.get("type", "DATASET") == "DATASET"],
                "folders": [
                    ctx.folder_name(w.get("itemId")) or w.get("itemId")
                    for w in watches
                    if w.get("type") == "MANAGED_FOLDER"
                ],
                "grace_delay_seconds": (trigger.get("graceDelaySettings") or {}).get("delay", 0),
            }
        )
    else:
        logical.update({"type": kind, "params": copy.deepcopy(params)})
    return logical


def trigger_to_dss(logical: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    kind = logical["type"]
    dss: dict[str, Any] = {"active": logical.get("active", True)}
    if logical.get("name"):
        dss["name"] = logical["name"]
    if kind == "periodic":
        dss.update({"type": "temporal", "params": {"frequency": "Minutely", "repeatFrequency": logical["every_minutes"]}})
    elif kind == "temporal":
        params = {dss_key: logical[key] for key, dss_key in _TEMPORAL_KEYS.items() if key in logical}
        params.setdefault("startingFrom", _today())
        params.setdefault("timezone", "SERVER")
        params.setdefault("repeatFrequency", 1)
        dss.update({"type": "temporal", "params": params})
    elif kind == "dataset_change":
        watches = [{"type": "DATASET", "itemId": d, "partitionsSpec": ""} for d in logical.get("datasets") or []]
        watches += [
            {"type": "MANAGED_FOLDER", "itemId": ctx.folder_id(f) or f, "partitionsSpec": ""}
            for f in logical.get("folders") or []
        ]
        dss.update(
            {
                "type": "ds_modified",
                "params": {"watches": watches, "triggerWhenAllFire": False},
                "graceDelaySettings": {"delay": logical.get("grace_delay_seconds", 0), "checkAgainAfterGraceDelay": False},
            }
        )
    else:
        dss.update({"type": kind, "params": copy.deepcopy(logical.get("params") or {})})
    return dss


def _today() -> str:
    # DSS's own helpers default startingFrom to today; it is not compared (not declared).
    return datetime.date.today().strftime("%Y-%m-%dT00:00:00.000Z")


# -- steps -----------------------------------------------------------------------
def step_to_logical(step: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    params = step.get("params") or {}
    kind = step.get("type")
    logical: dict[str, Any] = {
        "name": step.get("name"),
        "enabled": step.get("enabled", True) and step.get("runConditionType") != "DISABLED",
        "run_condition": _run_condition_to_logical(step),
    }
    if kind == "build_flowitem":
        builds = params.get("builds") or []
        logical.update(
            {
                "type": "build",
                "datasets": [b.get("itemId") for b in builds if b.get("type") == "DATASET"],
                "folders": [
                    ctx.folder_name(b.get("itemId")) or b.get("itemId") for b in builds if b.get("type") == "MANAGED_FOLDER"
                ],
                "job_type": params.get("jobType"),
            }
        )
    elif kind == "run_scenario":
        project = params.get("projectKey")
        scenario = _scenario_ref_to_logical(params.get("scenarioId"), project, ctx)
        logical.update({"type": "run_scenario", "scenario": scenario, "project": project})
    elif kind == "runnable":
        logical.update({"type": "run_macro", "macro": params.get("runnableType"), "params": params.get("config") or {}})
    elif kind == "set_project_vars":
        logical.update({"type": "set_variables", "variables": params.get("variables") or {}})
    else:
        logical.update({"type": kind, "params": copy.deepcopy(params)})
    return logical


def _same_project(project: Any, ctx: ProjectContext) -> bool:
    return project in (None, "", ctx.project_key)


def _scenario_ref_to_logical(dss_id: Any, project: Any, ctx: ProjectContext) -> Any:
    """The configured id of the scenario a run_scenario step calls (same project only)."""
    if not isinstance(dss_id, str) or not _same_project(project, ctx):
        return dss_id
    name = ctx.scenario_name(dss_id)
    if name is not None:
        return name
    if ctx.scenario_id(dss_id) != dss_id:
        # A configured id that DSS knows under another id: the step does not call that
        # scenario (it was written with the configured id), so it must not compare equal.
        return f"DSS id {dss_id}"
    return dss_id


def _run_condition_to_logical(step: dict[str, Any]) -> str:
    kind = step.get("runConditionType", "RUN_IF_STATUS_MATCH")
    if kind == "RUN_ALWAYS":
        return "always"
    if kind == "RUN_IF_STATUS_MATCH" and step.get("runConditionStatuses") == ["FAILED"]:
        return "on_failure"
    return "on_success"


def step_to_dss(logical: dict[str, Any], index: int, ctx: ProjectContext) -> dict[str, Any]:
    kind = logical["type"]
    dss: dict[str, Any] = {"enabled": logical.get("enabled", True)}
    dss.update(RUN_CONDITIONS[logical.get("run_condition", "on_success")])
    if logical.get("name"):
        dss["name"] = logical["name"]
    if kind == "build":
        builds = [{"type": "DATASET", "itemId": d, "partitionsSpec": ""} for d in logical.get("datasets") or []]
        builds += [
            {"type": "MANAGED_FOLDER", "itemId": ctx.folder_id(f) or f, "partitionsSpec": ""}
            for f in logical.get("folders") or []
        ]
        dss.update({"type": "build_flowitem", "params": {"builds": builds, "jobType": logical.get("job_type") or DEFAULT_JOB_TYPE}})
    elif kind == "run_scenario":
        scenario = logical["scenario"]
        params = {"scenarioId": ctx.scenario_id(scenario) if _same_project(logical.get("project"), ctx) else scenario}
        if logical.get("project"):
            params["projectKey"] = logical["project"]
        dss.update({"type": "run_scenario", "params": params})
    elif kind == "run_macro":
        params = {"runnableType": logical["macro"], "config": logical.get("params") or {}, "adminConfig": {}}
        dss.update({"type": "runnable", "params": params})
    elif kind == "set_variables":
        dss.update({"type": "set_project_vars", "params": {"variables": logical.get("variables") or {}}})
    else:
        dss.update({"type": kind, "params": copy.deepcopy(logical.get("params") or {})})
    dss["id"] = f"{dss['type']}_{index}"
    return dss


SPEC = ResourceSpec(
    type="scenario",
    label="scenario",
    handler=ScenarioHandler(),
    identity=Identity.REQUESTED_ID,
    section="scenarios",
    id_key="id",
    schema=ConfigSchema(in_project_schema=True),
    references=("dataset", "managed_folder", "scenario"),
)
