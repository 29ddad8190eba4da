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
from typing import Any, Callable, Mapping, Optional

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
    env_selection_to_dss,
    env_selection_to_logical,
    version_after_save,
    version_tag_of,
)
from dataiku_iac.resources.policy import Field, FieldPolicy, is_secret_ref
from dataiku_iac.resources.spec import (
    BuildContext,
    ConfigSchema,
    FlowLink,
    Identity,
    ImportContext,
    ResourceSpec,
)

POLICY = FieldPolicy(
    fields=(
        Field("name"),
        Field("active"),
        Field("run_as"),
        Field("triggers", compare="items", reset=[]),
        Field("steps", compare="items", reset=[]),
        # A script scenario (DSS type custom_python): DSS cannot change a scenario's type.
        Field("kind", replace=True, reset="step_based"),
        Field("script"),
        Field("code_env", reset="inherit"),
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
        return _document(client.get_project(project_key).get_scenario(item["id"]).get_settings())

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
        params = doc.get("params") or {}
        logical = {
            "kind": doc.get("type") or "step_based",  # or custom_python: a script scenario
            "name": doc.get("name"),
            "active": bool(doc.get("active")),
            "run_as": doc.get("runAsUser"),
            "triggers": [trigger_to_logical(t, ctx) for t in doc.get("triggers") or []],
            "steps": [step_to_logical(s, ctx) for s in params.get("steps") or []],
            "code_env": env_selection_to_logical(params.get("envSelection"), "envMode"),
            "reporters": [reporter_to_logical(r) for r in doc.get("reporters") or []],
            "description": doc.get("description") or "",
            "tags": list(doc.get("tags") or []),
        }
        if logical["kind"] == SCRIPT_KIND:
            logical["script"] = doc.get(SCRIPT_KEY) or ""
        return logical

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        kind = resource.attributes.get("kind") or "step_based"
        definition: dict[str, Any] = {"id": resource.name, "params": {"steps": []} if kind == "step_based" else {},
                                      "triggers": [], "reporters": []}
        patch_document(definition, resource.attributes, ctx, resource.secrets)
        definition.pop("name", None)
        name = resource.attributes.get("name") or resource.name
        project = client.get_project(resource.project_key)
        created, answer = create_answer(client, lambda: project.create_scenario(name, kind, definition=definition))
        # DSS may not have used the configured id: steps of later creates calling this
        # scenario must name the id it has.
        ctx.remember_scenario(resource.name, created.id)
        # What DSS kept of the definition: its answer, when that is the document, else a read
        # (a script scenario's settings are two documents: always read).
        identity = {"id": created.id, "projectKey": resource.project_key, "type": "step_based"}
        document = created_document(answer, identity, ("params", "triggers")) if kind == "step_based" else None
        if document is not None:
            from dataikuapi.dss.scenario import StepBasedScenarioSettings

            settings = StepBasedScenarioSettings(client, created, document)
        else:
            settings = created.get_settings()
        return self._save(settings, resource, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        settings = client.get_project(resource.project_key).get_scenario(current.dss_id).get_settings()
        return self._save(settings, resource, ctx)

    def _save(self, settings: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        """Read-modify-write of the settings (and a script scenario's code), saved only if changed."""
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        patch_document(raw, resource.attributes, ctx, resource.secrets)
        script_changed = "script" in resource.attributes and getattr(settings, "code", None) != resource.attributes["script"]
        if script_changed:
            settings.code = resource.attributes["script"]
        saved = raw != before or script_changed
        if saved:  # on create: e.g. DSS ignored a key of the definition, one save to converge
            settings.save()
            raw.pop("versionTag", None)
        observed = self._observed(resource.project_key, _document(settings), ctx)
        observed.expected_version = version_after_save(before, saved)
        return observed

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        client.get_project(project_key).get_scenario(dss_id).delete()


# Where `_document` puts a script scenario's code (DSS keeps it apart, in the payload's `script`).
SCRIPT_KEY = "script"


def _document(settings: Any) -> dict[str, Any]:
    """A scenario's settings document; a script scenario's with its code (a copy: never saved so)."""
    raw: dict[str, Any] = settings.get_raw()
    if hasattr(settings, "code"):
        return {**raw, SCRIPT_KEY: settings.code}
    return raw


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


def patch_document(raw: dict[str, Any], attrs: dict[str, Any], ctx: ProjectContext,
                   secrets: Optional[dict[str, str]] = None) -> None:
    """Write declared logical attributes into a DSS scenario document, in place (a script
    scenario's code goes to its payload: the handler writes it). `secrets`: the values of the
    secret references among the attributes, by attribute path ("reporters.0.url")."""
    raw.setdefault("type", attrs.get("kind") or "step_based")
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
    if "code_env" in attrs:
        params = raw.setdefault("params", {})
        params["envSelection"] = env_selection_to_dss(attrs["code_env"], params.get("envSelection") or {}, "envMode")
    if "reporters" in attrs:
        current = raw.get("reporters") or []
        wanted = [reporter_to_dss(r, i, secrets or {}) for i, r in enumerate(attrs["reporters"])]
        raw["reporters"] = [_merge_item(current, i, r, key=_messaging_type) for i, r in enumerate(wanted)]
    if "description" in attrs:
        raw["description"] = attrs["description"]
    if "tags" in attrs:
        raw["tags"] = list(attrs["tags"])


def _merge_item(current: list[dict[str, Any]], index: int, wanted: dict[str, Any],
                key: Callable[[dict[str, Any]], Any] = lambda item: item.get("type")) -> dict[str, Any]:
    """Keep the server-side keys (id, delays…) of the item already at this position, if of the same kind."""
    if index < len(current) and key(current[index]) == key(wanted):
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
        logical.update({"type": "periodic", "every_minutes": params.get("repeatFrequency") or 1})  # DSS's default
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
# The steps the configuration types: its name of the kind -> DSS's step type. Any other DSS step
# type is written as DSS takes it, `{type: <DSS type>, params: {...}}` (a raw step).
STEP_TYPES = {
    "build": "build_flowitem",
    "run_scenario": "run_scenario",
    "run_macro": "runnable",
    "set_variables": "set_project_vars",
    "define_variables": "define_vars",
    "python": "custom_python",
    "sql": "exec_sql",
    "run_checks": "check_dataset",
    "compute_metrics": "compute_metrics",
}
_STEP_KIND = {dss: kind for kind, dss in STEP_TYPES.items()}
# DSS step types that have a typed config: a raw step of such a type is refused (it would read back typed).
TYPED_DSS_STEPS = {dss: kind for kind, dss in STEP_TYPES.items() if dss != kind}
# A `train` step is DSS's "Build / Train" step (build_flowitem) naming saved models only: the
# configuration's word for it, read back as a build step of saved models (`saved_models`).
TRAIN_STEP = "train"
SAVED_MODEL = "saved_model"
SAVED_MODELS = "saved_models"
# A build step may name model evaluation stores: DSS builds one by running the evaluation recipe
# writing it (a new model evaluation, then the store's checks).
EVALUATION_STORE = "model_evaluation_store"
EVALUATION_STORES = "model_evaluation_stores"
# The flow items a build, a check or a metrics step names, by the params key DSS keeps them under.
_ITEMS_KEY = {"build": "builds", "run_checks": "checks", "compute_metrics": "computes"}


def step_to_logical(step: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    params = step.get("params") or {}
    dss_type = step.get("type")
    logical: dict[str, Any] = {
        "name": step.get("name"),
        "enabled": step.get("enabled", True) and step.get("runConditionType") != "DISABLED",
        "run_condition": _run_condition_to_logical(step),
    }
    kind = _STEP_KIND.get(dss_type) if isinstance(dss_type, str) else None
    if kind is None:
        logical.update({"type": dss_type, "params": copy.deepcopy(params)})
        return logical
    logical["type"] = kind
    if kind in _ITEMS_KEY:
        logical.update(_flow_items_to_logical(params.get(_ITEMS_KEY[kind]) or [], ctx))
    if kind == "build":
        logical["job_type"] = params.get("jobType")
    elif kind == "run_checks":
        logical["warnings_as"] = params.get("handleWarningsAs")
    elif kind == "run_scenario":
        project = params.get("projectKey")
        logical.update({"scenario": _scenario_ref_to_logical(params.get("scenarioId"), project, ctx), "project": project})
    elif kind == "run_macro":
        logical.update({"macro": params.get("runnableType"), "params": params.get("config") or {}})
    elif kind == "set_variables":
        logical["variables"] = params.get("variables") or {}
    elif kind == "define_variables":
        definitions = [d for d in params.get("definitions") or [] if isinstance(d, dict)]
        logical.update({"variables": params.get("variables") or {},
                        "formulas": {d.get("key"): d.get("value") for d in definitions}})
    elif kind == "python":
        logical.update({"code": params.get("script") or "", "code_env": env_selection_to_logical(params.get("envSelection"), "envMode")})
    elif kind == "sql":
        logical.update({"connection": params.get("connection"), "sql": params.get("sql") or ""})
    return logical


def _flow_items_to_logical(items: list[Any], ctx: ProjectContext) -> dict[str, list[Any]]:
    items = [i for i in items if isinstance(i, dict)]
    logical = {
        "datasets": [i.get("itemId") for i in items if i.get("type", "DATASET") == "DATASET"],
        "folders": [ctx.folder_name(i.get("itemId")) or i.get("itemId") for i in items if i.get("type") == "MANAGED_FOLDER"],
    }
    # Saved models, by the id DSS gave them (a build step that trains them): only when there are some,
    # so that the steps that build none read back as they always did.
    models = [ctx.name_of(SAVED_MODEL, i.get("itemId")) or i.get("itemId") for i in items if i.get("type") == "SAVED_MODEL"]
    if models:
        logical[SAVED_MODELS] = models
    stores = [ctx.name_of(EVALUATION_STORE, i.get("itemId")) or i.get("itemId") for i in items
              if i.get("type") == "MODEL_EVALUATION_STORE"]
    if stores:
        logical[EVALUATION_STORES] = stores
    return logical


def _flow_items_to_dss(logical: dict[str, Any], ctx: ProjectContext) -> list[dict[str, Any]]:
    items = [{"type": "DATASET", "itemId": d, "partitionsSpec": ""} for d in logical.get("datasets") or []]
    items += [{"type": "MANAGED_FOLDER", "itemId": ctx.folder_id(f) or f, "partitionsSpec": ""} for f in logical.get("folders") or []]
    items += [{"type": "SAVED_MODEL", "itemId": ctx.dss_id_of(SAVED_MODEL, m) or m, "partitionsSpec": ""}
              for m in logical.get(SAVED_MODELS) or []]
    items += [{"type": "MODEL_EVALUATION_STORE", "itemId": ctx.dss_id_of(EVALUATION_STORE, m) or m, "partitionsSpec": ""}
              for m in logical.get(EVALUATION_STORES) or []]
    return items


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
    dss["type"] = STEP_TYPES.get(kind, kind)
    dss["params"] = _step_params(kind, logical, ctx)
    dss["id"] = f"{dss['type']}_{index}"
    return dss


def _step_params(kind: str, logical: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
    """The params of a DSS step, from its logical attributes (only what they declare)."""
    if kind not in STEP_TYPES:  # a raw step: as written
        return copy.deepcopy(logical.get("params") or {})
    params: dict[str, Any] = {}
    if kind in _ITEMS_KEY:
        params[_ITEMS_KEY[kind]] = _flow_items_to_dss(logical, ctx)
    if kind == "build":
        params["jobType"] = logical.get("job_type") or DEFAULT_JOB_TYPE
    elif kind == "run_checks" and logical.get("warnings_as"):
        params["handleWarningsAs"] = logical["warnings_as"]
    elif kind == "run_scenario":
        scenario = logical["scenario"]
        params["scenarioId"] = ctx.scenario_id(scenario) if _same_project(logical.get("project"), ctx) else scenario
        if logical.get("project"):
            params["projectKey"] = logical["project"]
    elif kind == "run_macro":
        params.update({"runnableType": logical["macro"], "config": logical.get("params") or {}, "adminConfig": {}})
    elif kind == "set_variables":
        params["variables"] = logical.get("variables") or {}
    elif kind == "define_variables":
        if "variables" in logical:
            params["variables"] = logical["variables"]
        if "formulas" in logical:
            params["definitions"] = [{"key": k, "value": v} for k, v in logical["formulas"].items()]
    elif kind == "python":
        params["script"] = logical.get("code") or ""
        params["envSelection"] = env_selection_to_dss(logical.get("code_env") or "inherit", {}, "envMode")
    elif kind == "sql":
        params.update({"connection": logical.get("connection"), "sql": logical.get("sql") or ""})
    return params


# -- reporters ---------------------------------------------------------------------
# The reporters the configuration types: its name -> DSS's messaging type; any other messaging type
# is written as DSS takes it, `{type: <DSS messaging type>, configuration: {...}}`.
REPORTER_TYPES = {"mail": "mail-scenario", "webhook": "webhook-scenario"}
_REPORTER_KIND = {dss: kind for kind, dss in REPORTER_TYPES.items()}
# logical key -> the key of the messaging configuration, per typed reporter
_REPORTER_KEYS = {
    "mail": {"channel": "channelId", "to": "recipient", "from": "sender", "subject": "subject",
             "message": "message", "html": "sendAsHTML"},
    "webhook": {"channel": "channelId", "url": "url", "method": "method", "payload": "payload"},
}
_PHASES = {"end": "END", "start": "START"}
# DSS messaging types with a typed config: a raw reporter of such a type is refused.
TYPED_DSS_REPORTERS = {dss: kind for kind, dss in REPORTER_TYPES.items()}
# Typed reporter keys whose value import writes as a secret reference (a webhook URL carries its token).
SECRET_REPORTER_KEYS = {"webhook": ("url",)}
# Keys of a raw reporter's configuration that import writes as secret references (Slack, Teams webhooks…).
RAW_SECRET_KEY = re.compile(r"url|webhook|pass|secret|token|api[_-]?key|credential|pwd", re.IGNORECASE)


def _messaging_type(reporter: dict[str, Any]) -> Any:
    return (reporter.get("messaging") or {}).get("type")


def reporter_to_logical(reporter: dict[str, Any]) -> dict[str, Any]:
    messaging = reporter.get("messaging") or {}
    configuration = messaging.get("configuration") or {}
    phase = reporter.get("phase") or "END"
    logical: dict[str, Any] = {
        "name": reporter.get("name"),
        "active": bool(reporter.get("active", True)),
        "phase": next((p for p, dss in _PHASES.items() if dss == phase), phase),
        "condition": reporter.get("runCondition") if reporter.get("runConditionEnabled") else None,
    }
    kind = _REPORTER_KIND.get(str(messaging.get("type")))
    if kind is None:
        logical.update({"type": messaging.get("type"), "configuration": copy.deepcopy(configuration)})
        return logical
    logical["type"] = kind
    for key, dss_key in _REPORTER_KEYS[kind].items():
        logical[key] = configuration.get(dss_key)
    return logical


def reporter_to_dss(logical: dict[str, Any], index: int, secrets: dict[str, str]) -> dict[str, Any]:
    """A DSS reporter from its logical attributes; a secret reference is written as its value."""
    kind = logical["type"]
    condition = logical.get("condition")
    dss: dict[str, Any] = {
        "active": logical.get("active", True),
        "phase": _PHASES.get(logical.get("phase") or "end", logical.get("phase")),
        "runConditionEnabled": condition is not None,
        "runCondition": condition or "",
    }
    if logical.get("name"):
        dss["name"] = logical["name"]
    if kind not in REPORTER_TYPES:
        raw = logical.get("configuration") or {}
        prefix = f"reporters.{index}.configuration"
        configuration = {k: secrets[f"{prefix}.{k}"] if is_secret_ref(v) else copy.deepcopy(v) for k, v in raw.items()}
        dss["messaging"] = {"type": kind, "configuration": configuration}
        return dss
    configuration = {}
    for key, dss_key in _REPORTER_KEYS[kind].items():
        if key not in logical:
            continue
        value = logical[key]
        configuration[dss_key] = secrets[f"reporters.{index}.{key}"] if is_secret_ref(value) else value
    if kind == "mail" and "message" in logical:
        configuration["messageSource"] = "INLINE"
    dss["messaging"] = {"type": REPORTER_TYPES[kind], "configuration": configuration}
    return dss


# -- the configuration ----------------------------------------------------------------------
SUPPORTED_TRIGGERS = ("temporal", "periodic", "dataset_change")
# DSS trigger types with a typed config: a raw trigger of such a type is refused.
TYPED_DSS_TRIGGERS = {"ds_modified": "dataset_change"}
# The name DSS gives a step created without one: not written by import.
DEFAULT_STEP_NAME = re.compile(r"^Step #\d+$")
# The names DSS gives a trigger of each type created without one (the samples; the emulator's
# "Trigger"): not written by import.
DEFAULT_TRIGGER_NAMES = ("Time-based", "Dataset modified", "Custom trigger", "SQL query change", "Trigger")
# Temporal trigger settings that are DSS's defaults (or our creation-time stamp).
TRIGGER_DEFAULTS = {"repeat_every": 1, "timezone": "SERVER"}
SCRIPT_KIND = "custom_python"  # DSS's type of a script scenario (its code: the payload's `script`)
# Where import writes the code of a script scenario and of Python and SQL steps.
SCRIPT_DIR = "scenarios"


def build(item: dict[str, Any], ctx: BuildContext) -> dict[str, Any]:
    """A `scenarios` item -> logical attributes."""
    attrs: dict[str, Any] = {"name": item["name"], "active": bool(item.get("active", False))}
    if "run_as" in item:
        attrs["run_as"] = item["run_as"]
    attrs["triggers"] = ctx.each(("triggers",), item.get("triggers"), lambda path, t: _trigger(t, path, ctx))
    if "script" in item or "script_file" in item:
        attrs["kind"] = SCRIPT_KIND
        attrs["script"] = _code_of(item, ("script", "script_file"), (), ctx)
        if "code_env" in item:
            attrs["code_env"] = ctx.remap_code_env("code_env", item["code_env"])
    else:
        attrs["steps"] = ctx.each(("steps",), item.get("steps"), lambda path, s: _step(s, path, ctx))
    attrs["reporters"] = ctx.each(("reporters",), item.get("reporters"), lambda path, r: _reporter(r, path, ctx))
    copy_keys(item, attrs, "description")
    if "tags" in item:
        attrs["tags"] = list(item["tags"])
    return attrs


def _code_of(item: dict[str, Any], keys: tuple[str, str], path: tuple[Any, ...], ctx: BuildContext) -> str:
    """Code written inline (`keys[0]`) or in a file under the root (`keys[1]`, read by the loader)."""
    inline, file_key = keys
    if inline in item:
        return str(item[inline])
    try:
        return ctx.file_text(item[file_key])
    except KeyError:
        return ""  # unreadable: reported by the loader


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
    else:  # a trigger DSS takes as written (sql_query, custom_python…)
        if kind in TYPED_DSS_TRIGGERS:
            ctx.error(path + ("type",), f"'{kind}' is DSS's name of a trigger the configuration types",
                      f"write type: {TYPED_DSS_TRIGGERS[kind]} with its keys")
        trigger["params"] = dict(item.get("params") or {})
    return trigger


def _require_items(item: dict[str, Any], path: tuple[Any, ...], what: str, ctx: BuildContext) -> None:
    """The datasets and folders a trigger watches or a step builds exist in the project."""
    for i, name in enumerate(item.get("datasets") or []):
        ctx.require("dataset", name, path + ("datasets", i), what)
    for i, name in enumerate(item.get("folders") or []):
        ctx.require("managed_folder", name, path + ("folders", i), what)
    for i, name in enumerate(item.get(SAVED_MODELS) or []):
        ctx.require(SAVED_MODEL, name, path + (SAVED_MODELS, i), what)
    for i, name in enumerate(item.get(EVALUATION_STORES) or []):
        ctx.require(EVALUATION_STORE, name, path + (EVALUATION_STORES, i), what)


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
    if kind == TRAIN_STEP:  # DSS's build step, of saved models only
        step["type"] = kind = "build"
    if kind in ("build", "run_checks", "compute_metrics"):
        _require_items(item, path, f"{kind} step", ctx)
        step["datasets"] = list(item.get("datasets") or [])
        step["folders"] = list(item.get("folders") or [])
        if kind == "build" and item.get(SAVED_MODELS):
            step[SAVED_MODELS] = list(item[SAVED_MODELS])
        if kind == "build" and item.get(EVALUATION_STORES):
            step[EVALUATION_STORES] = list(item[EVALUATION_STORES])
        copy_keys(item, step, "job_type", "warnings_as")
    elif kind == "run_scenario":
        _run_scenario(item, path, step, ctx)
    elif kind == "run_macro":
        step["macro"] = item["macro"]
        step["params"] = dict(item.get("params") or {})
    elif kind in ("set_variables", "define_variables"):
        copy_keys(item, step, "variables", "formulas")
        if kind == "set_variables":
            step["variables"] = dict(item.get("variables") or {})
    elif kind == "python":
        step["code"] = _code_of(item, ("code", "code_file"), path, ctx)
        if "code_env" in item:
            step["code_env"] = ctx.remap_code_env(f"steps.{path[-1]}.code_env", item["code_env"])
    elif kind == "sql":
        step["connection"] = _sql_connection(item, path, ctx)
        step["sql"] = _code_of(item, ("sql", "sql_file"), path, ctx)
    else:  # a step DSS takes as written
        if kind in TYPED_DSS_STEPS:
            ctx.error(path + ("type",), f"'{kind}' is DSS's name of a step the configuration types",
                      f"write type: {TYPED_DSS_STEPS[kind]} with its keys")
        step["params"] = dict(item.get("params") or {})
    return step


def _sql_connection(item: dict[str, Any], path: tuple[Any, ...], ctx: BuildContext) -> Optional[str]:
    written = item.get("connection") or ctx.setting("sql_connection")
    if not written:
        ctx.error(path, "a step of type sql needs a 'connection' (or defaults.sql_connection in iac.yml)",
                  "name the SQL connection the statement runs on")
        return None
    return ctx.remap_connection(f"steps.{path[-1]}.connection", written)


def _run_scenario(item: dict[str, Any], path: tuple[Any, ...], step: dict[str, Any], ctx: BuildContext) -> None:
    project = item.get("project")
    callee = item["scenario"]
    if project is None or project == ctx.key:
        ctx.require("scenario", callee, path + ("scenario",), "run_scenario step")
    step["scenario"] = callee
    if project is not None:
        step["project"] = ctx.project_key(project)
    ctx.calls(callee, path + ("scenario",), "run_scenario step", project=project)


def _reporter(item: dict[str, Any], path: tuple[Any, ...], ctx: BuildContext) -> Optional[dict[str, Any]]:
    if "type" not in item:  # a reporter as DSS writes it (older configurations): read as DSS's would be
        return reporter_to_logical(item)
    kind = item["type"]
    reporter: dict[str, Any] = {
        "type": kind,
        "active": item.get("active", True),
        "phase": item.get("phase", "end"),
        "condition": item.get("condition"),
    }
    if "name" in item:
        reporter["name"] = item["name"]
    if kind not in REPORTER_TYPES:  # a reporter DSS takes as written
        if kind in TYPED_DSS_REPORTERS:
            ctx.error(path + ("type",), f"'{kind}' is DSS's name of a reporter the configuration types",
                      f"write type: {TYPED_DSS_REPORTERS[kind]} with its keys")
        reporter["configuration"] = _with_secrets(item.get("configuration") or {}, path + ("configuration",), ctx)
        return reporter
    reporter.update(_with_secrets({k: item[k] for k in _REPORTER_KEYS[kind] if k in item}, path, ctx))
    return reporter


def _with_secrets(values: dict[str, Any], path: tuple[Any, ...], ctx: BuildContext) -> dict[str, Any]:
    """`values` with each `{secret_env}` reference resolved through the build context (its value
    kept beside the resource, under the attribute path of the reference); one whose value is
    missing is left out (reported)."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if is_secret_ref(value):
            attribute = ".".join(str(p) for p in (*path, key))  # reporters.0.url, reporters.1.configuration.webhookUrl
            value = ctx.secret(path + (key,), value["secret_env"], attribute, f"secret {key!r} of reporter #{path[1] + 1}")
            if value is None:
                continue
        kept[key] = value
    return kept


def to_config(scenario_id: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `scenarios` item; the code of a script scenario and of Python and
    SQL steps goes to files under `scenarios/`, a reporter's secret-looking value to a secret reference."""
    item: dict[str, Any] = {
        "id": scenario_id,
        "name": attrs.get("name") or scenario_id,
        "active": bool(attrs.get("active")),
    }
    missing = _undeclared_references(attrs, ctx)
    if missing:  # validation would refuse the file: leave the scenario unmanaged, said why
        ctx.not_expressed(f"it names {', '.join(missing)}, which the imported configuration does not declare")
        return None
    if attrs.get("run_as"):
        item["run_as"] = attrs["run_as"]
    triggers = [_trigger_to_config(t) for t in attrs.get("triggers") or []]
    if triggers:
        item["triggers"] = triggers
    if attrs.get("kind") == SCRIPT_KIND:
        item["script_file"] = _write_code(ctx, f"{SCRIPT_DIR}/{scenario_id}.py", attrs.get("script") or "")
        if attrs.get("code_env") not in (None, "", "inherit"):
            item["code_env"] = ctx.config_code_env(attrs["code_env"])
    elif attrs.get("kind", "step_based") != "step_based":
        return None  # a scenario type the configuration does not know
    else:
        if any(s.get("type") == "run_scenario" and not s.get("scenario") for s in attrs.get("steps") or []):
            ctx.not_expressed("a run_scenario step names no scenario (DSS keeps it so; the configuration cannot)")
            return None
        steps = [_step_to_config(scenario_id, i, s, ctx) for i, s in enumerate(attrs.get("steps") or [])]
        if steps:
            item["steps"] = steps
    reporters = [_reporter_to_config(scenario_id, i, r, ctx) for i, r in enumerate(attrs.get("reporters") or [])]
    if reporters:
        item["reporters"] = reporters
    return described(item, attrs)


def _undeclared_references(attrs: dict[str, Any], ctx: ImportContext) -> list[str]:
    """The datasets and folders the scenario's triggers watch and steps build that the imported
    configuration does not declare (objects import left out, or deleted since): `build` requires them."""
    missing = []
    for entry in [*(attrs.get("triggers") or []), *(attrs.get("steps") or [])]:
        for key, type_, label in (("datasets", "dataset", "dataset"), ("folders", "managed_folder", "managed folder")):
            for name in entry.get(key) or []:
                if isinstance(name, str) and ctx.declared(type_, name) is None:
                    missing.append(f"{label} {name!r}")
    for step in attrs.get("steps") or []:
        callee = step.get("scenario") if step.get("type") == "run_scenario" else None
        if isinstance(callee, str) and step.get("project") in (None, ctx.key) and not ctx.exists("scenario", callee):
            missing.append(f"scenario {callee!r}")
    return sorted(set(missing))


def _write_code(ctx: ImportContext, rel: str, text: str) -> str:
    ctx.write(rel, text)
    return rel


def _trigger_to_config(trigger: dict[str, Any]) -> dict[str, Any]:
    item = {k: v for k, v in trigger.items() if k not in ("name", "active") and v not in (None, [])}
    if trigger.get("name") and trigger["name"] not in DEFAULT_TRIGGER_NAMES:
        item["name"] = trigger["name"]
    if not trigger.get("active", True):
        item["active"] = False
    if item.get("type") == "dataset_change":
        item = {k: v for k, v in item.items() if not (k == "grace_delay_seconds" and v == 0)}
    if item.get("type") == "temporal":
        item.pop("starting_from", None)  # a start date DSS (or the tool) stamped at creation
        for key, default in TRIGGER_DEFAULTS.items():
            if item.get(key) == default:
                item.pop(key)
    if item.get("type") not in SUPPORTED_TRIGGERS:
        item["params"] = trigger.get("params") or {}
    return item


_CRON_FIELDS = ("frequency", "hour", "minute", "days")  # what a cron expression stands for


def written_form(declared: Mapping[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    """`item` (to_config's) with each temporal trigger the configuration writes as `cron:` in
    that form: its cron expression as written when it still says the same schedule, else the
    expression of the new one (a schedule cron cannot say is left as fields); and each build step
    of saved models in the word the configuration uses for it (`build` or `train`)."""
    from dataiku_iac.config.schedule import ScheduleError, parse_cron, to_cron

    _steps_as_written(declared, item)
    declared_triggers = declared.get("triggers")
    if not isinstance(declared_triggers, list):
        return item
    for written, trigger in zip(declared_triggers, item.get("triggers") or []):
        if not isinstance(written, Mapping) or not isinstance(written.get("cron"), str) or trigger.get("type") != "temporal":
            continue
        fields = {k: trigger[k] for k in _CRON_FIELDS if k in trigger}
        if set(trigger) - set(_CRON_FIELDS) - {"type", "name", "active", "timezone"}:
            continue  # a repeat, a start date…: not a cron schedule
        try:
            same = {"hour": 0, **parse_cron(written["cron"])} == {"hour": 0, **fields}  # hourly: hour 0
        except ScheduleError:
            same = False
        cron = written["cron"] if same else to_cron(fields)
        if cron is not None:
            for key in _CRON_FIELDS:
                trigger.pop(key, None)
            trigger["cron"] = cron
    return item


def _steps_as_written(declared: Mapping[str, Any], item: dict[str, Any]) -> None:
    """A step the configuration writes `build` with only `saved_models` stays `build` (to_config
    writes such a step `train`: the same DSS step)."""
    declared_steps = declared.get("steps")
    if not isinstance(declared_steps, list):
        return
    for written, step in zip(declared_steps, item.get("steps") or []):
        if isinstance(written, Mapping) and written.get("type") == "build" and step.get("type") == TRAIN_STEP:
            step["type"] = "build"


def _step_to_config(scenario_id: str, index: int, step: dict[str, Any], ctx: ImportContext) -> dict[str, Any]:
    kind = step.get("type")
    if kind == "build" and step.get(SAVED_MODELS) and not any(step.get(k) for k in ("datasets", "folders", EVALUATION_STORES)):
        kind = TRAIN_STEP  # the configuration's word for a build of saved models only
    item: dict[str, Any] = {"type": kind}
    if step.get("name") and not DEFAULT_STEP_NAME.match(step["name"]):
        item["name"] = step["name"]
    if not step.get("enabled", True):
        item["enabled"] = False
    if step.get("run_condition") not in (None, "on_success"):
        item["run_condition"] = step["run_condition"]
    skip = {"type", "name", "enabled", "run_condition"}
    if kind == TRAIN_STEP:
        skip.update(("datasets", "folders"))
    if kind == "python":
        item["code_file"] = _write_code(ctx, f"{SCRIPT_DIR}/{scenario_id}_step{index + 1}.py", step.get("code") or "")
        skip.add("code")
        if step.get("code_env") in ("inherit", None, ""):
            skip.add("code_env")
    elif kind == "sql":
        item["sql_file"] = _write_code(ctx, f"{SCRIPT_DIR}/{scenario_id}_step{index + 1}.sql", step.get("sql") or "")
        item["connection"] = ctx.config_connection(step.get("connection"))
        skip.update(("sql", "connection"))
    elif kind not in STEP_TYPES and kind != TRAIN_STEP:
        item["params"] = step.get("params") or {}  # a raw step: its params even when empty
        skip.add("params")
    for key, value in step.items():
        if key in skip or value in (None, [], {}):
            continue
        item[key] = ctx.config_code_env(value) if key == "code_env" else value
    return item


def _reporter_to_config(scenario_id: str, index: int, reporter: dict[str, Any], ctx: ImportContext) -> dict[str, Any]:
    kind = reporter.get("type")
    item: dict[str, Any] = {"type": kind}
    if reporter.get("name"):
        item["name"] = reporter["name"]
    if not reporter.get("active", True):
        item["active"] = False
    if reporter.get("phase") not in (None, "end"):
        item["phase"] = reporter["phase"]
    if reporter.get("condition") is not None:
        item["condition"] = reporter["condition"]
    if kind not in REPORTER_TYPES:
        configuration = dict(reporter.get("configuration") or {})
        for key, value in configuration.items():
            if RAW_SECRET_KEY.search(key) and isinstance(value, str) and value:
                configuration[key] = _secret_ref(scenario_id, index, key, value, ctx)
        item["configuration"] = configuration
        return item
    for key in _REPORTER_KEYS[kind]:
        value = reporter.get(key)
        if value is None:
            continue
        if key in SECRET_REPORTER_KEYS.get(kind, ()) and isinstance(value, str) and value:
            value = _secret_ref(scenario_id, index, key, value, ctx)
        item[key] = value
    return item


def _secret_ref(scenario_id: str, index: int, key: str, value: str, ctx: ImportContext) -> dict[str, Any]:
    """A reporter's secret read from DSS, written as a reference (never inline)."""
    env_name = re.sub(r"[^A-Z0-9]+", "_", f"IAC_SECRET_{ctx.key}_{scenario_id}_reporter{index + 1}_{key}".upper())
    return ctx.secret(env_name, value, f"scenario {scenario_id} reporter #{index + 1} {key}")


# -- the schema of a `scenarios` item (the project file) -------------------------------------
_TRIGGER_KINDS = ("temporal", "periodic", "dataset_change")
_NONEMPTY = {"$ref": "#/$defs/nonempty"}
_REF_LIST = {"$ref": "#/$defs/ref_list"}
_PASSTHROUGH = {"$ref": "#/$defs/passthrough"}
_RELPATH = {"$ref": "#/$defs/relpath"}
_DATE_TIME = (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
              r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?$")
_CRON_KEYS = ("repeat_every", "hour", "minute", "days", "monthly_run_on")  # what a cron expression sets
# A value that is written as is, or a secret reference (`$defs/secret_ref`: IAC_SECRET_* only).
_SECRET_OR = {"if": {"type": "object", "required": ["secret_env"]}, "then": {"$ref": "#/$defs/secret_ref"}}
# A DSS type as written in a raw step, trigger or reporter (plugin steps: `pystep_<plugin>_<step>`).
_DSS_TYPE = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_.-]*$",
             "x-messages": {"pattern": "a DSS type is letters, digits, '_', '.' and '-'"}}


def _either(context: str, *keys: str, both: bool = True) -> dict[str, Any]:
    """At least one of `keys` (a build step's datasets or folders); `both=False`: exactly one."""
    rule: dict[str, Any] = {
        "anyOf": [{"required": [key]} for key in keys],
        "x-messages": {"anyOf": f"{context} needs {' or '.join(repr(k) for k in keys)}" + (" (or several)" if both and len(keys) > 2 else " (or both)" if both else "")},
    }
    if not both:
        rule.update({"not": {"required": list(keys)}, "x-locate": keys[-1]})
        rule["x-messages"]["not"] = f"{context} takes either {' or '.join(repr(k) for k in keys)}, not both"
    return rule


def _union(family: str, kinds: tuple[str, ...], raw_needs: str) -> dict[str, Any]:
    """A trigger, step or reporter: its `type` picks the schema of its kind (`<family>_<kind>`); any
    other type is a DSS type passed through as written (`<family>_raw`, which needs `raw_needs`)."""
    picks = [
        {"if": {"type": "object", "properties": {"type": {"const": kind}}, "required": ["type"]},
         "then": {"$ref": f"#/$defs/{family}_{kind}"}}
        for kind in kinds
    ]
    raw = {
        "if": {"type": "object", "not": {"properties": {"type": {"enum": list(kinds)}}, "required": ["type"]}},
        "then": {"$ref": f"#/$defs/{family}_raw"},
    }
    return {"type": "object", "required": ["type"], "properties": {"type": _DSS_TYPE}, "allOf": [*picks, raw]}


def _kinds(family: str, kinds: tuple[str, ...], common: dict[str, Any], own: dict[str, dict[str, Any]],
           extra: dict[str, dict[str, Any]], raw: dict[str, Any]) -> dict[str, Any]:
    """The definitions of a family (trigger, step, reporter): the union, one schema per kind (the
    keys every kind has, and its own: `own[kind]`; `extra[kind]` adds `required`, `allOf`…), and
    the raw one (`raw`: the key holding what DSS takes as written, required)."""
    typed = ", ".join(kinds)
    defs: dict[str, Any] = {family: _union(family, kinds, next(iter(raw)))}
    for kind in kinds:
        defs[f"{family}_{kind}"] = {
            "type": "object",
            "properties": {"type": {"const": kind}, **common, **own[kind]},
            "additionalProperties": False,
            "x-kind": family,
            "x-type": kind,
            "x-context": f"a {family} of type {kind}",
            **extra.get(kind, {}),
        }
    defs[f"{family}_raw"] = {
        "type": "object",
        "properties": {"type": _DSS_TYPE, **common, **raw},
        "additionalProperties": False,
        "required": list(raw),
        "x-kind": family,
        "x-context": f"a {family} of a type the configuration does not type (passed to DSS as written)",
        "x-hint": f"the typed {family} types are {typed}; any other type is DSS's own, with its '{next(iter(raw))}'",
    }
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
    return _kinds("trigger", _TRIGGER_KINDS, common, own, extra, {"params": _PASSTHROUGH})


def _step_defs() -> dict[str, Any]:
    items = {"datasets": _REF_LIST, "folders": _REF_LIST}
    job_type = {"enum": ["RECURSIVE_BUILD", DEFAULT_JOB_TYPE, "RECURSIVE_FORCED_BUILD", "RECURSIVE_MISSING_ONLY_BUILD",
                         "FIND_OUTPUTS_RECURSIVE_BUILD", "REVERSE_FORCED_BUILD"], "default": DEFAULT_JOB_TYPE}
    own: dict[str, dict[str, Any]] = {
        "build": {**items, SAVED_MODELS: _REF_LIST, EVALUATION_STORES: _REF_LIST, "job_type": job_type},
        TRAIN_STEP: {SAVED_MODELS: _REF_LIST, "job_type": job_type},
        "run_scenario": {"scenario": {"$ref": "#/$defs/name"}, "project": {"$ref": "#/$defs/project_key"}},
        "run_macro": {"macro": _NONEMPTY, "params": _PASSTHROUGH},
        "set_variables": {"variables": _PASSTHROUGH},
        "define_variables": {"variables": _PASSTHROUGH, "formulas": {
            "type": "object", "additionalProperties": {"type": "string"},
            "x-messages": {"type": "formulas map a variable name to a DSS formula (a string)"}}},
        "python": {"code": {"type": "string"}, "code_file": _RELPATH, "code_env": {"$ref": "#/$defs/code_env_name"}},
        "sql": {"connection": _NONEMPTY, "sql": {"type": "string"}, "sql_file": _RELPATH},
        "run_checks": {**items, "warnings_as": {"enum": ["WARNING", "FAILED", "SUCCESS"]}},
        "compute_metrics": dict(items),
    }
    extra: dict[str, dict[str, Any]] = {
        "build": {"allOf": [_either("a step of type build", "datasets", "folders", SAVED_MODELS, EVALUATION_STORES)]},
        TRAIN_STEP: {"required": [SAVED_MODELS]},
        "run_scenario": {"required": ["scenario"]},
        "run_macro": {"required": ["macro"]},
        "set_variables": {"required": ["variables"]},
        "define_variables": {"allOf": [_either("a step of type define_variables", "variables", "formulas")]},
        "python": {"allOf": [_either("a step of type python", "code", "code_file", both=False)]},
        "sql": {"allOf": [_either("a step of type sql", "sql", "sql_file", both=False)]},
        "run_checks": {"allOf": [_either("a step of type run_checks", "datasets", "folders")]},
        "compute_metrics": {"allOf": [_either("a step of type compute_metrics", "datasets", "folders")]},
    }
    common = {
        "name": _NONEMPTY,
        "enabled": {"type": "boolean", "default": True},
        "run_condition": {"enum": ["on_success", "always", "on_failure"], "default": "on_success"},
    }
    return _kinds("step", (*STEP_TYPES, TRAIN_STEP), common, own, extra, {"params": _PASSTHROUGH})


def _reporter_defs() -> dict[str, Any]:
    def text() -> dict[str, Any]:
        return {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/secret_ref"}],
                "x-messages": {"anyOf": "expected a string, or a secret reference {secret_env: IAC_SECRET_…}"}}

    own: dict[str, dict[str, Any]] = {
        "mail": {"channel": _NONEMPTY, "to": text(), "from": text(), "subject": text(), "message": text(),
                 "html": {"type": "boolean"}},
        "webhook": {"channel": _NONEMPTY, "url": {
            "type": "object", "allOf": [{"$ref": "#/$defs/secret_ref"}],
            "x-messages": {"type": "a webhook URL carries its token: write it as a secret reference {secret_env: IAC_SECRET_…}"}},
                    "method": {"enum": ["POST", "PUT", "GET"]},
                    "payload": text()},
    }
    extra: dict[str, dict[str, Any]] = {
        "mail": {"required": ["channel"]},
        "webhook": {"allOf": [_either("a reporter of type webhook", "channel", "url")]},
    }
    common = {
        "name": _NONEMPTY,
        "active": {"type": "boolean", "default": True},
        "phase": {"enum": list(_PHASES), "default": "end"},
        "condition": {"type": "string", "description": "a DSS formula: the reporter sends only when it is true"},
    }
    configuration = {"type": "object", "additionalProperties": _SECRET_OR}
    defs = _kinds("reporter", tuple(REPORTER_TYPES), common, own, extra, {"configuration": configuration})
    # A reporter without `type` is one as DSS writes it (`messaging`, `runCondition`…), as older
    # configurations declare them: taken as it is.
    defs["reporter_typed"] = defs.pop("reporter")
    defs["reporter"] = {"if": {"type": "object", "required": ["type"]}, "then": {"$ref": "#/$defs/reporter_typed"},
                        "else": {"type": "object"}}
    return defs


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
                "script": {"type": "string"},
                "script_file": _RELPATH,
                "code_env": {"$ref": "#/$defs/code_env_name"},
                "reporters": {"type": "array", "items": {"$ref": "#/$defs/reporter"}},
            },
            "additionalProperties": False,
            "required": ["id", "name"],
            "allOf": [
                {"not": {"required": ["script", "script_file"]}, "x-locate": "script_file",
                 "x-messages": {"not": "a script scenario takes either 'script' or 'script_file', not both"}},
                {"if": {"anyOf": [{"required": ["script"]}, {"required": ["script_file"]}]},
                 "then": {"properties": {"steps": {"not": {}, "x-messages": {
                     "not": "a script scenario (script or script_file) has no steps: its Python file is the whole scenario"}}}},
                 "else": {"properties": {"code_env": {"not": {}, "x-messages": {
                     "not": "'code_env' is the code env of a script scenario (script or script_file); a python step takes its own"}}}}},
            ],
        },
        **_trigger_defs(),
        **_step_defs(),
        **_reporter_defs(),
    }
)


# A step kind -> how impact analysis says what it does to the datasets and folders it names.
_STEP_RELATIONS = {"build": "builds", "run_checks": "checks", "compute_metrics": "computes metrics of"}


def flow_links(attrs: Mapping[str, Any]) -> list[FlowLink]:
    """The datasets and folders the scenario's steps build, check or measure, the datasets whose
    change triggers it, and the scenarios it runs: a breaking change of one of them (a scenario
    deleted or replaced) lists the scenario downstream."""
    links = []
    for step in attrs.get("steps") or []:
        if isinstance(step, dict) and step.get("type") == "run_scenario" and isinstance(step.get("scenario"), str):
            links.append(FlowLink("runs", step["scenario"], ("scenario",), step.get("project")))
        relation = _STEP_RELATIONS.get(str(step.get("type"))) if isinstance(step, dict) else None
        if relation is None:
            continue
        links += [FlowLink(relation, d) for d in step.get("datasets") or [] if isinstance(d, str)]
        links += [FlowLink(relation, f, ("managed_folder",)) for f in step.get("folders") or [] if isinstance(f, str)]
        links += [FlowLink("trains", m, (SAVED_MODEL,)) for m in step.get(SAVED_MODELS) or [] if isinstance(m, str)]
        links += [FlowLink(relation, m, (EVALUATION_STORE,)) for m in step.get(EVALUATION_STORES) or [] if isinstance(m, str)]
    for trigger in attrs.get("triggers") or []:
        if isinstance(trigger, dict) and trigger.get("type") == "dataset_change":
            links += [FlowLink("is triggered by", d) for d in trigger.get("datasets") or [] if isinstance(d, str)]
    return links


SPEC = ResourceSpec(
    type="scenario",
    label="scenario",
    color="#6b4fa0",
    handler=ScenarioHandler(),
    identity=Identity.REQUESTED_ID,
    section="scenarios",
    id_key="id",
    schema=SCHEMA,
    file_keys=("script_file", "steps.*.code_file", "steps.*.sql_file"),
    references=("dataset", "managed_folder", SAVED_MODEL, EVALUATION_STORE, "scenario"),
    # A train (build) step names its saved models by DSS id, an evaluation store's build too: one the
    # plan replaces has a new id, so the scenario is written again after it.
    rewritten_with=(SAVED_MODEL, EVALUATION_STORE),
    build=build,
    to_config=to_config,
    written_form=written_form,
    flow_links=flow_links,
)
