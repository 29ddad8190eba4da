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
    copy_keys,
    create_answer,
    created_document,
    deep_merge,
    described,
    version_after_save,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy
from dataiku_iac.resources.spec import BuildContext, ConfigSchema, Identity, ImportContext, ResourceSpec

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


# -- the configuration ----------------------------------------------------------------------
SUPPORTED_TRIGGERS = ("temporal", "periodic", "dataset_change")
SUPPORTED_STEPS = ("build", "run_scenario", "run_macro", "set_variables")
# The name DSS gives a step created without one: not written by import.
DEFAULT_STEP_NAME = re.compile(r"^Step #\d+$")
# Temporal trigger settings that are DSS's defaults (or our creation-time stamp).
TRIGGER_DEFAULTS = {"repeat_every": 1, "timezone": "SERVER"}


def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """A `scenarios` item -> logical attributes."""
    triggers = ctx.each(("triggers",), item.get("triggers"), lambda path, t: _trigger(t, path, ctx))
    steps = ctx.each(("steps",), item.get("steps"), lambda path, s: _step(s, path, ctx))
    attrs: dict[str, Any] = {"name": item["name"], "active": bool(item.get("active", False))}
    if "run_as" in item:
        attrs["run_as"] = item["run_as"]
    attrs["triggers"] = triggers
    attrs["steps"] = steps
    attrs["reporters"] = [dict(r) for r in item.get("reporters") or []]
    copy_keys(item, attrs, "description")
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    return attrs


def _trigger(item: dict[str, Any], path: tuple[Any, ...], ctx: BuildContext) -> dict[str, Any]:
    kind = item["type"]
    trigger: dict[str, Any] = {"type": kind, "active": item.get("active", True)}
    if "name" in item:
        trigger["name"] = item["name"]
    if kind == "periodic":
        trigger["every_minutes"] = item["every_minutes"]
    elif kind == "temporal":
        _temporal(item, path, trigger, ctx)
    elif kind == "dataset_change":
        _require_items(item, path, "trigger", ctx)
        trigger["datasets"] = list(item.get("datasets") or [])
        trigger["folders"] = list(item.get("folders") or [])
        if "grace_delay_seconds" in item:
            trigger["grace_delay_seconds"] = item["grace_delay_seconds"]
    return trigger


def _require_items(item: dict[str, Any], path: tuple[Any, ...], what: str, ctx: BuildContext) -> None:
    """The datasets and folders a trigger watches or a step builds exist in the project."""
    for i, name in enumerate(item.get("datasets") or []):
        ctx.require("dataset", name, path + ("datasets", i), what)
    for i, name in enumerate(item.get("folders") or []):
        ctx.require("managed_folder", name, path + ("folders", i), what)


def _temporal(item: dict[str, Any], path: tuple[Any, ...], trigger: dict[str, Any], ctx: BuildContext) -> None:
    # Imported here: loading the config package loads the registry, which loads this module.
    from dataiku_iac.config.schedule import SUPPORTED_FORMS, ScheduleError, check_datetime, parse_cron

    if isinstance(item.get("starting_from"), str):
        problem = check_datetime(item["starting_from"])
        if problem:
            ctx.error(path + ("starting_from",), problem)
    if "cron" in item:
        try:
            trigger.update(parse_cron(item["cron"]))
        except ScheduleError as exc:
            ctx.error(path + ("cron",), f"unsupported cron expression {item['cron']!r}: {exc}", SUPPORTED_FORMS)
            return
    for key in ("frequency", "repeat_every", "hour", "minute", "days", "timezone", "starting_from", "monthly_run_on"):
        if key in item:
            trigger[key] = item[key]
    if trigger.get("frequency") == "Minutely":
        trigger["type"] = "periodic"
        trigger["every_minutes"] = trigger.pop("repeat_every", 1)
        trigger.pop("frequency")


def _step(item: dict[str, Any], path: tuple[Any, ...], ctx: BuildContext) -> dict[str, Any]:
    kind = item["type"]
    step: dict[str, Any] = {
        "type": kind,
        "enabled": item.get("enabled", True),
        "run_condition": item.get("run_condition", "on_success"),
    }
    if "name" in item:
        step["name"] = item["name"]
    if kind == "build":
        _require_items(item, path, "build step", ctx)
        step["datasets"] = list(item.get("datasets") or [])
        step["folders"] = list(item.get("folders") or [])
        if "job_type" in item:
            step["job_type"] = item["job_type"]
    elif kind == "run_scenario":
        _run_scenario(item, path, step, ctx)
    elif kind == "run_macro":
        step["macro"] = item["macro"]
        step["params"] = dict(item.get("params") or {})
    elif kind == "set_variables":
        step["variables"] = dict(item.get("variables") or {})
    return step


def _run_scenario(item: dict[str, Any], path: tuple[Any, ...], step: dict[str, Any], ctx: BuildContext) -> None:
    project = item.get("project")
    callee = item["scenario"]
    if project is None or project == ctx.key:
        ctx.require("scenario", callee, path + ("scenario",), "run_scenario step")
    step["scenario"] = callee
    if project is not None:
        step["project"] = ctx.project_key(project)
    ctx.calls(callee, path + ("scenario",), "run_scenario step", project=project)


def to_config(scenario_id: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `scenarios` item; None for what the configuration cannot express
    (a script scenario, a trigger or step of another kind)."""
    if attrs.get("kind", "step_based") != "step_based":
        return None  # a script scenario: its Python is not expressible in the config
    triggers = [_trigger_to_config(t) for t in attrs.get("triggers") or []]
    steps = [_step_to_config(s) for s in attrs.get("steps") or []]
    if any(t is None for t in triggers) or any(s is None for s in steps):
        return None
    item: dict[str, Any] = {
        "id": scenario_id,
        "name": attrs.get("name") or scenario_id,
        "active": bool(attrs.get("active")),
    }
    if attrs.get("run_as"):
        item["run_as"] = attrs["run_as"]
    if triggers:
        item["triggers"] = triggers
    if steps:
        item["steps"] = steps
    if attrs.get("reporters"):
        item["reporters"] = attrs["reporters"]
    return described(item, attrs)


def _trigger_to_config(trigger: dict[str, Any]) -> Optional[dict[str, Any]]:
    if trigger.get("type") not in SUPPORTED_TRIGGERS:
        return None
    item = {k: v for k, v in trigger.items() if k not in ("name", "active") and v not in (None, [])}
    if not trigger.get("active", True):
        item["active"] = False
    if item.get("type") == "dataset_change":
        item = {k: v for k, v in item.items() if not (k == "grace_delay_seconds" and v == 0)}
    if item.get("type") == "temporal":
        item.pop("starting_from", None)  # a start date DSS (or the tool) stamped at creation
        for key, default in TRIGGER_DEFAULTS.items():
            if item.get(key) == default:
                item.pop(key)
    return item


def _step_to_config(step: dict[str, Any]) -> Optional[dict[str, Any]]:
    if step.get("type") not in SUPPORTED_STEPS:
        return None
    item: dict[str, Any] = {"type": step["type"]}
    if step.get("name") and not DEFAULT_STEP_NAME.match(step["name"]):
        item["name"] = step["name"]
    if not step.get("enabled", True):
        item["enabled"] = False
    if step.get("run_condition") not in (None, "on_success"):
        item["run_condition"] = step["run_condition"]
    for key, value in step.items():
        if key in ("type", "name", "enabled", "run_condition") or value in (None, [], {}):
            continue
        item[key] = value
    return item


# -- the schema of a `scenarios` item (the project file) -------------------------------------
_TRIGGER_KINDS = ("temporal", "periodic", "dataset_change")
_STEP_KINDS = ("build", "run_scenario", "run_macro", "set_variables")
_NONEMPTY = {"$ref": "#/$defs/nonempty"}
_REF_LIST = {"$ref": "#/$defs/ref_list"}
_PASSTHROUGH = {"$ref": "#/$defs/passthrough"}
_DATE_TIME = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
              r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?$")
_CRON_KEYS = ("repeat_every", "hour", "minute", "days", "monthly_run_on")  # what a cron expression sets


def _either(context: str, *keys: str) -> dict[str, Any]:
    """At least one of `keys` (a build step's datasets or folders)."""
    return {
        "anyOf": [{"required": [key]} for key in keys],
        "x-messages": {"anyOf": f"{context} needs {' or '.join(repr(k) for k in keys)} (or both)"},
    }


def _union(family: str, kinds: tuple[str, ...]) -> dict[str, Any]:
    """A trigger or a step: its `type` picks the schema of its kind (`<family>_<kind>`); an
    unknown type is checked against `<family>_any` (the keys of every kind) besides the enum."""
    picks = [
        {"if": {"type": "object", "properties": {"type": {"const": kind}}, "required": ["type"]},
         "then": {"$ref": f"#/$defs/{family}_{kind}"}}
        for kind in kinds
    ]
    unknown = {
        "if": {"type": "object", "not": {"properties": {"type": {"enum": list(kinds)}}, "required": ["type"]}},
        "then": {"$ref": f"#/$defs/{family}_any"},
    }
    return {"type": "object", "required": ["type"], "properties": {"type": {"enum": list(kinds)}}, "allOf": [*picks, unknown]}


def _kinds(family: str, kinds: tuple[str, ...], common: dict[str, Any], own: dict[str, dict[str, Any]],
           extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The definitions of a family (trigger, step): the union, one schema per kind (the keys
    every kind has, and its own: `own[kind]`; `extra[kind]` adds `required`, `allOf`…), and `_any`."""
    common = {"type": {"enum": list(kinds)}, **common}
    defs: dict[str, Any] = {family: _union(family, kinds)}
    every: dict[str, Any] = dict(common)
    for kind in kinds:
        defs[f"{family}_{kind}"] = {
            "type": "object",
            "properties": {**common, **own[kind]},
            "additionalProperties": False,
            "x-kind": family,
            "x-type": kind,
            "x-context": f"a {family} of type {kind}",
            **extra.get(kind, {}),
        }
        every.update(own[kind])
    defs[f"{family}_any"] = {"type": "object", "properties": every, "additionalProperties": False, "x-kind": family}
    return defs


def _trigger_defs() -> dict[str, Any]:
    not_with_cron = {
        key: {"not": {}, "x-messages": {"not": f"'{key}' cannot be combined with 'cron' (the cron expression sets the schedule)"}}
        for key in _CRON_KEYS
    }
    temporal = {
        "frequency": {"enum": ["Minutely", "Hourly", "Daily", "Weekly", "Monthly"]},
        "repeat_every": {"type": "integer", "minimum": 1},
        "hour": {"type": "integer", "minimum": 0, "maximum": 23},
        "minute": {"type": "integer", "minimum": 0, "maximum": 59},
        "days": {"type": "array", "uniqueItems": True, "minItems": 1,
                 "items": {"enum": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}},
        "timezone": _NONEMPTY,
        "starting_from": {"type": "string", "pattern": _DATE_TIME, "x-messages": {
            "pattern": "expected a date 'YYYY-MM-DD' or an ISO datetime 'YYYY-MM-DDTHH:MM[:SS][+HH:MM]'"}},
        "monthly_run_on": {"enum": ["ON_THE_DAY", "LAST_DAY_OF_THE_MONTH", "FIRST_WEEK", "SECOND_WEEK",
                                    "THIRD_WEEK", "FOURTH_WEEK", "LAST_WEEK"]},
        "cron": {"type": "string", "pattern": r"^\s*\S+(\s+\S+){4}\s*$", "x-messages": {
            "pattern": "a cron expression has 5 fields: 'MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK'"}},
    }
    own: dict[str, dict[str, Any]] = {
        "temporal": temporal,
        "periodic": {"every_minutes": {"type": "integer", "minimum": 1}},
        "dataset_change": {"datasets": _REF_LIST, "folders": _REF_LIST,
                           "grace_delay_seconds": {"type": "integer", "minimum": 0}},
    }
    extra: dict[str, dict[str, Any]] = {
        "temporal": {"allOf": [
            {"anyOf": [{"required": ["frequency"]}, {"required": ["cron"]}], "not": {"required": ["frequency", "cron"]},
             "x-locate": "cron", "x-messages": {
                 "anyOf": "a trigger of type temporal needs 'frequency' or 'cron'",
                 "not": "a trigger of type temporal takes either 'frequency' or 'cron', not both"}},
            {"if": {"required": ["cron"]}, "then": {"properties": not_with_cron}},
        ]},
        "periodic": {"required": ["every_minutes"]},
        "dataset_change": {"allOf": [_either("a trigger of type dataset_change", "datasets", "folders")]},
    }
    common = {"name": _NONEMPTY, "active": {"type": "boolean", "default": True}}
    return _kinds("trigger", _TRIGGER_KINDS, common, own, extra)


def _step_defs() -> dict[str, Any]:
    own: dict[str, dict[str, Any]] = {
        "build": {"datasets": _REF_LIST, "folders": _REF_LIST, "job_type": {
            "enum": ["RECURSIVE_BUILD", DEFAULT_JOB_TYPE, "RECURSIVE_FORCED_BUILD", "RECURSIVE_MISSING_ONLY_BUILD",
                     "FIND_OUTPUTS_RECURSIVE_BUILD", "REVERSE_FORCED_BUILD"],
            "default": DEFAULT_JOB_TYPE}},
        "run_scenario": {"scenario": {"$ref": "#/$defs/name"}, "project": {"$ref": "#/$defs/project_key"}},
        "run_macro": {"macro": _NONEMPTY, "params": _PASSTHROUGH},
        "set_variables": {"variables": _PASSTHROUGH},
    }
    extra: dict[str, dict[str, Any]] = {
        "build": {"allOf": [_either("a step of type build", "datasets", "folders")]},
        "run_scenario": {"required": ["scenario"]},
        "run_macro": {"required": ["macro"]},
        "set_variables": {"required": ["variables"]},
    }
    common = {
        "name": _NONEMPTY,
        "enabled": {"type": "boolean", "default": True},
        "run_condition": {"enum": ["on_success", "always", "on_failure"], "default": "on_success"},
    }
    return _kinds("step", _STEP_KINDS, common, own, extra)


SCHEMA = ConfigSchema(
    defs={
        "scenario": {
            "type": "object",
            "properties": {
                "id": {"$ref": "#/$defs/name"},
                "name": _NONEMPTY,
                "active": {"type": "boolean", "default": False},
                "run_as": _NONEMPTY,
                "description": {"$ref": "#/$defs/text"},
                "tags": {"$ref": "#/$defs/tags"},
                "protect": {"$ref": "#/$defs/protect"},
                "triggers": {"type": "array", "items": {"$ref": "#/$defs/trigger"}},
                "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
                "reporters": {"type": "array", "items": {"type": "object"}},
            },
            "additionalProperties": False,
            "required": ["id", "name"],
        },
        **_trigger_defs(),
        **_step_defs(),
    }
)


SPEC = ResourceSpec(
    type="scenario",
    label="scenario",
    handler=ScenarioHandler(),
    identity=Identity.REQUESTED_ID,
    section="scenarios",
    id_key="id",
    schema=SCHEMA,
    references=("dataset", "managed_folder", "scenario"),
    build=build,
    to_config=to_config,
)
