"""Saved models: the model of a visual ML task, deployed to the Flow, with its versions. docs/ml.md.

DSS makes a visual saved model one way only: from a model the ML task trained, deployed to the Flow
(`DSSMLTask.deploy_to_flow`), which creates the saved model, its first version and the training
recipe that retrains it. So **creating a saved model trains its ML task once** (one training
session), takes the model of the configured `algorithm` from that session and deploys it; the plan
says so in the create's reason. Nothing else trains: `apply --train` retrains the saved models in
scope (a job that builds each, as DSS's "Build / Train" does: a new version) and a scenario's
`train` step does it on DSS's side.

DSS gives a saved model an id of its own (8 characters) and accepts two of one name: the object is
found again by the id the state records (Identity.SERVER_ID).

**Versions are data, not configuration.** Every training adds one; the state records them as DSS
lists them after each apply and import (`versions`, a recorded attribute: never compared, never planned), and
no plan deletes one. `active_version` is the one choice the configuration may pin: changing it is
an update (DSS's `setActive` of that version), rolling back is changing it back. A pin naming a
version DSS does not have is a plan error listing the versions it has. Deleting a saved model
deletes its versions (`holds_data`).

The training recipe DSS creates with the saved model belongs to it: the recipe type neither
observes nor manages `prediction_training` and `clustering_training` recipes (two types must
never manage one DSS object), and the saved model reads its training dataset from that recipe.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Mapping, Optional

from dataiku_iac.model import Resource
from dataiku_iac.resources import flow_zone, ml_task
from dataiku_iac.resources.base import (
    Observed,
    ProjectContext,
    ResourceHandler,
    object_lock,
    save_if_changed,
    version_tag_of,
)
from dataiku_iac.resources.policy import (
    KNOWN,
    RECORDED,
    TRAIN,
    TRAIN_FROM_SOURCE,
    Field,
    FieldPolicy,
    breaking_when_changed,
)
from dataiku_iac.resources.recipe import TRAINING_RECIPE_TYPES
from dataiku_iac.resources.spec import (
    READS,
    BuildContext,
    ConfigSchema,
    FlowLink,
    Identity,
    ImportContext,
    ResourceSpec,
)

TYPE = "saved_model"
_TRAIN_DATASET = "_trainDataset"  # what list_items adds to a listed saved model: its training recipe's input
_TRAIN_PAYLOAD = "_trainPayload"  # and its training recipe's payload (what a retraining trains from)
# The ML task's settings a deployment copies into the saved model (its `miniTask`: the algorithms,
# the search, the metric) and its training recipe (the payload's features handling and split):
# what `trained_with` records, compared with what the configuration declares for the ML task.
TASK_SETTINGS = ("features", "algorithms", "hyperparameter_search", "metric", "split")

POLICY = FieldPolicy(
    fields=(
        Field("active_version", impact=breaking_when_changed("the active version")),
        # Told by the id of the task it was deployed from: None once that task is gone (deleted by a
        # replace that failed to create it again), which is no reason to replace the saved model.
        Field("ml_task", replace=True, compare=KNOWN),
        # Changed in place: the model of the new algorithm is redeployed into it (spec.trains_when_changed).
        Field("algorithm", impact=breaking_when_changed("the algorithm")),
        Field("train_dataset", replace=True),
        Field("versions", compare=RECORDED),
        Field("trained_with", compare=RECORDED),  # DSS's copy of the ML task's settings, read by stale_training
        flow_zone.MEMBER_FIELD,
    )
)


class SavedModelHandler(ResourceHandler):
    type = TYPE
    policy = POLICY
    renames_in_place = True

    def list_items(self, client: Any, project_key: str) -> list[dict[str, Any]]:
        """The saved models, each with its versions and training dataset: read here rather than per
        object in the observation's second round, so that the scenarios and recipes read then, which
        name saved models by id, find their names (observed_from remembers them)."""
        project = client.get_project(project_key)
        models = [dict(m) for m in project.list_saved_models() if isinstance(m, dict) and m.get("id")]
        if not models:
            return []
        recipes = list(project.list_recipes(as_type="listitems"))  # one list for all
        trained_from, recipe_of = training_datasets(recipes), training_recipes(recipes)
        for item in models:
            model = project.get_saved_model(item["id"])
            if "activeVersion" not in item:  # a list of summaries: the document is read
                item.update(model.get_settings().get_raw())
            item[_TRAIN_DATASET] = trained_from.get(item["id"])
            item[_TRAIN_PAYLOAD] = _payload(project, recipe_of.get(item["id"]))
            item["_versions"] = list(model.list_versions())
        return models

    def item_id(self, item: dict[str, Any]) -> Optional[str]:
        return item.get("id")

    def read_version(self, client: Any, project_key: str, dss_id: str) -> Optional[dict[str, Any]]:
        return version_tag_of(client.get_project(project_key).get_saved_model(dss_id).get_settings().get_raw())

    def observed_from(self, project_key: str, doc: dict[str, Any], ctx: ProjectContext) -> Observed:
        ctx.remember(TYPE, doc.get("name") or doc["id"], doc["id"])  # scenario steps and recipes name it by id
        return Observed(TYPE, project_key, doc.get("name") or doc["id"], doc["id"], self.to_logical(doc, ctx),
                        version_tag=version_tag_of(doc))

    def to_logical(self, doc: dict[str, Any], ctx: ProjectContext) -> dict[str, Any]:
        versions = [v for v in doc.get("_versions") or [] if isinstance(v, dict)]
        origin = origin_task(doc.get("lastExportedFrom"))
        task_name = ctx.name_of(ml_task.TYPE, origin) if origin else None
        mini = doc.get("miniTask") or {}
        prediction_type = str(mini.get("predictionType")).lower() if mini.get("taskType", "PREDICTION") == "PREDICTION" and mini.get("predictionType") else None
        return {
            "ml_task": task_name or origin,
            "algorithm": _algorithm_of(versions, doc.get("activeVersion"), prediction_type, doc.get(_TRAIN_PAYLOAD)),
            "train_dataset": doc.get(_TRAIN_DATASET),
            "active_version": doc.get("activeVersion"),
            "versions": [str(v.get("id")) for v in versions if v.get("id") is not None],
            "trained_with": trained_with(mini, doc.get(_TRAIN_PAYLOAD), ctx),
        }

    def complete_observation(self, objects: dict[str, list[Observed]], ctx: ProjectContext) -> None:
        """Name each saved model's ML task: the tasks are read beside the saved models (both per object),
        so an ML task's name may be learned after a saved model that names it by id was translated."""
        for observed in objects.get(TYPE, []):
            task = observed.attributes.get("ml_task")
            if isinstance(task, str) and "/" in task:
                # An id no ML task of the project has: that task is gone. None, never the raw id
                # compared to a name (which would replace the saved model, deleting its versions).
                observed.attributes["ml_task"] = ctx.name_of(ml_task.TYPE, task)

    def create(self, client: Any, resource: Resource, ctx: ProjectContext) -> Observed:
        """Train the ML task once, deploy the model of the configured algorithm to the Flow."""
        attrs = resource.attributes
        task_id = ctx.dss_id_of(ml_task.TYPE, attrs["ml_task"])
        if task_id is None:
            raise ValueError(f"ML task {attrs['ml_task']!r} of project {resource.project_key} is not known to exist")
        analysis_id, mltask_id = ml_task.ids_of(task_id)
        task = client.get_project(resource.project_key).get_ml_task(analysis_id, mltask_id)
        with _training_lock(resource.project_key, task_id):
            model_id = _trained_model(task, attrs, resource.address)
            deployed = task.deploy_to_flow(model_id, resource.name, attrs["train_dataset"])
        sm_id = deployed["savedModelId"]
        ctx.remember(TYPE, resource.name, sm_id)
        observed = self._save(client, resource, sm_id, ctx)
        return flow_zone.place(client, resource, observed, ctx)

    def update(self, client: Any, resource: Resource, current: Observed, ctx: ProjectContext) -> Observed:
        mode = resource.attributes.get(TRAIN)
        if mode == TRAIN_FROM_SOURCE:
            self._redeploy(client, resource, current.dss_id, ctx)
        elif mode:
            train(client, resource.project_key, current.dss_id)
        return flow_zone.place(client, resource, self._save(client, resource, current.dss_id, ctx), ctx, current=current)

    def _redeploy(self, client: Any, resource: Resource, sm_id: str, ctx: ProjectContext) -> None:
        """Its ML task's settings changed since it was deployed, or its algorithm did: the task trains in
        the lab (a session with its current settings), and the model of the configured algorithm is
        redeployed into this saved model (DSS's redeploy_to_flow: a new version, the training recipe
        now trains it). A pinned active_version stays active: the new version is not activated."""
        attrs = resource.attributes
        task_id = ctx.dss_id_of(ml_task.TYPE, attrs["ml_task"])
        if task_id is None:
            raise ValueError(f"ML task {attrs['ml_task']!r} of project {resource.project_key} is not known to exist")
        task = client.get_project(resource.project_key).get_ml_task(*ml_task.ids_of(task_id))
        with _training_lock(resource.project_key, task_id):
            model_id = _trained_model(task, attrs, resource.address)
            task.redeploy_to_flow(model_id, saved_model_id=sm_id, activate=attrs.get("active_version") is None)

    def _save(self, client: Any, resource: Resource, sm_id: str, ctx: ProjectContext) -> Observed:
        """Its name as configured (one settings save), then the pinned version activated."""
        model = client.get_project(resource.project_key).get_saved_model(sm_id)
        settings = model.get_settings()
        raw = settings.get_raw()
        before = copy.deepcopy(raw)
        raw["name"] = resource.name
        save_if_changed(settings, raw, before)
        pinned = resource.attributes.get("active_version")
        versions = list(model.list_versions())
        if pinned is not None and raw.get("activeVersion") != pinned:
            known = [str(v.get("id")) for v in versions if isinstance(v, dict)]
            if pinned not in known:
                raise ValueError(f"{resource.address}: no version {pinned!r} (its versions: {', '.join(known) or 'none'})")
            model.set_active_version(pinned)
            versions = list(model.list_versions())
        doc = dict(model.get_settings().get_raw())
        project = client.get_project(resource.project_key)
        recipe = training_recipes(list(project.list_recipes(as_type="listitems"))).get(sm_id)
        doc.update({"id": sm_id, "_versions": versions, _TRAIN_DATASET: resource.attributes.get("train_dataset"),
                    _TRAIN_PAYLOAD: _payload(project, recipe)})
        ctx.remember(TYPE, resource.name, sm_id)
        return self.observed_from(resource.project_key, doc, ctx)

    def delete(self, client: Any, project_key: str, dss_id: str, *, drop_data: bool) -> None:
        """Delete the saved model (DSS deletes its versions with it) and its training recipe, which
        would otherwise be left writing to nothing. Whether DSS's delete takes the training recipe
        with it is not documented (docs/emulator.md, switch saved_model_delete): the recipes are
        listed after the delete, and those still there deleted."""
        project = client.get_project(project_key)
        project.get_saved_model(dss_id).delete()
        for recipe in project.list_recipes(as_type="listitems"):
            if _trains(_raw(recipe), dss_id):
                project.get_recipe(_raw(recipe)["name"]).delete()


def train(client: Any, project_key: str, sm_id: str) -> None:
    """Retrain a saved model as DSS's "Build / Train" does: a job that builds it (its training recipe
    runs, a new version becomes active). Waits for the job; raises if it fails."""
    job = client.get_project(project_key).new_job("NON_RECURSIVE_FORCED_BUILD")
    job.with_output(sm_id, object_type="SAVED_MODEL")
    job.start_and_wait()


def _training_lock(project_key: str, task_id: str) -> threading.Lock:
    """Several saved models of one ML task (one per algorithm) are sibling actions the executor runs
    in parallel; each trains the task. A task has one training state (its status' `training` flag,
    what train() waits on), so two sessions started side by side overlap on it; what DSS does then is
    not documented. Each saved model's session, and the deploy of its model, runs alone: distinct
    sessions, one after the other (per process: concurrent applies are excluded by the state lock)."""
    return object_lock("ml_task_training", project_key, task_id)


def _trained_model(task: Any, attrs: Mapping[str, Any], address: str) -> str:
    """One training session of the ML task; the id of its model of the configured algorithm."""
    ids = list(task.train(session_name=f"dataiku-iac: {address}"))
    if not ids:
        raise ValueError(f"{address}: the ML task's training session produced no model")
    wanted = attrs.get("algorithm")
    snippets = task.get_trained_model_snippet(ids=ids)
    if wanted is None:
        return _succeeded(str(ids[0]), snippets, address)
    names = {*ml_task.snippet_names(str(wanted), "binary_classification"), *ml_task.snippet_names(str(wanted), "regression"),
             *ml_task.snippet_names(str(wanted), None)}
    for model_id in ids:
        algorithm = str((snippets.get(model_id) or {}).get("algorithm") or "")
        if algorithm in names or algorithm.lower() == str(wanted):
            return _succeeded(str(model_id), snippets, address)
    found = sorted({str((s or {}).get("algorithm")) for s in snippets.values()})
    raise ValueError(f"{address}: the training session has no model of algorithm {wanted!r} (it trained: {', '.join(found)})")


def _succeeded(model_id: str, snippets: Mapping[str, Any], address: str) -> str:
    """The model, unless DSS failed its training (its snippet's trainInfo says so, with why: an
    empty train set, say): nothing to deploy, and the reason is the apply's error."""
    info = (snippets.get(model_id) or {}).get("trainInfo") or {}
    if info.get("state") == "FAILED":
        why = (info.get("failure") or {}).get("message") or "no reason given"
        raise ValueError(f"{address}: DSS failed to train the ML task's model, so there is nothing to deploy: {why}")
    return model_id


def _raw(item: Any) -> dict[str, Any]:
    raw = item._data if hasattr(item, "_data") else item
    return raw if isinstance(raw, dict) else {}


def _trains(recipe: Mapping[str, Any], sm_id: str) -> bool:
    if recipe.get("type") not in TRAINING_RECIPE_TYPES:
        return False
    outputs = (recipe.get("outputs") or {}).get("main") or {}
    items = outputs.get("items") if isinstance(outputs, dict) else outputs
    return any(isinstance(i, dict) and i.get("ref") == sm_id for i in items or [])


def training_recipes(recipes: list[Any]) -> dict[str, str]:
    """Saved model id -> the name of its training recipe."""
    out: dict[str, str] = {}
    for item in recipes:
        recipe = _raw(item)
        if recipe.get("type") not in TRAINING_RECIPE_TYPES or not recipe.get("name"):
            continue
        outputs = (recipe.get("outputs") or {}).get("main") or {}
        for output in (outputs.get("items") if isinstance(outputs, dict) else outputs) or []:
            if isinstance(output, dict) and output.get("ref"):
                out.setdefault(str(output["ref"]), str(recipe["name"]))
    return out


def _payload(project: Any, recipe: Optional[str]) -> Optional[dict[str, Any]]:
    """A training recipe's payload (JSON), or None without one."""
    if not recipe:
        return None
    payload = project.get_recipe(recipe).get_settings().get_json_payload()
    return payload if isinstance(payload, dict) else None


def trained_with(mini_task: Mapping[str, Any], payload: Any, ctx: ProjectContext) -> Optional[dict[str, Any]]:
    """The ML task's settings the saved model was last deployed with, as the ML task's logical
    attributes say them: DSS copies the task's modeling (algorithms, search, metric) into the saved
    model's `miniTask` and its features handling and split into the training recipe's payload, at
    deploy_to_flow and redeploy_to_flow (a retraining changes neither). None when either is missing."""
    if not mini_task or not isinstance(payload, dict):
        return None
    settings = {**mini_task, "preprocessing": payload.get("preprocessing") or {}, "splitParams": payload.get("splitParams") or {}}
    logical = ml_task.MlTaskHandler().to_logical({"settings": settings, "analysis": {}}, ctx)
    return {name: logical.get(name) for name in TASK_SETTINGS}


def stale_training(resource: Resource, live: Mapping[str, Any], wanted: Mapping[str, Resource]) -> list[str]:
    """The settings the configuration declares for the saved model's ML task otherwise than the saved
    model was deployed with (compared as the ML task compares them: declared features and keys only).
    Empty when it is up to date, or when what it was deployed with is not known."""
    deployed = live.get("trained_with")
    task = next((r for r in wanted.values() if r.type == ml_task.TYPE and r.project_key == resource.project_key
                 and r.name == resource.attributes.get("ml_task")), None)
    if not isinstance(deployed, dict) or task is None:
        return []
    declared = task.attributes
    return [name for name in TASK_SETTINGS
            if name in declared and not ml_task.POLICY.equal(name, declared[name], deployed.get(name))]


def training_datasets(recipes: list[Any]) -> dict[str, str]:
    """Saved model id -> the dataset its training recipe reads."""
    out: dict[str, str] = {}
    for item in recipes:
        recipe = _raw(item)
        if recipe.get("type") not in TRAINING_RECIPE_TYPES:
            continue
        inputs = (recipe.get("inputs") or {}).get("main") or {}
        refs = [i.get("ref") for i in (inputs.get("items") if isinstance(inputs, dict) else inputs) or [] if isinstance(i, dict)]
        outputs = (recipe.get("outputs") or {}).get("main") or {}
        for output in (outputs.get("items") if isinstance(outputs, dict) else outputs) or []:
            if isinstance(output, dict) and output.get("ref") and refs:
                out[str(output["ref"])] = str(refs[0])
    return out


def origin_task(full_model_id: Any) -> Optional[str]:
    """`lastExportedFrom` ("A-<KEY>-<analysisId>-<mlTaskId>-s1-pp1-m1") -> "<analysisId>/<mlTaskId>"."""
    if not isinstance(full_model_id, str) or not full_model_id.startswith("A-"):
        return None
    parts = full_model_id.split("-")
    # The project key may hold no '-' (DSS keys are [A-Z0-9_]); the ids follow it.
    return f"{parts[2]}/{parts[3]}" if len(parts) >= 4 else None


def _algorithm_of(versions: list[dict[str, Any]], active: Any, prediction_type: Optional[str], payload: Any) -> Optional[str]:
    """The configuration's name of the algorithm the saved model trains: its training recipe's
    (the payload's `modeling.algorithm`, set by each deployment), else the active version's (its
    snippet says it). Not the active version's first: a pinned version of another algorithm stays
    active when the model of a new one is redeployed."""
    trains = ((payload.get("modeling") or {}) if isinstance(payload, dict) else {}).get("algorithm")
    if isinstance(trains, str) and trains:
        return ml_task.algorithm_of_snippet(trains, prediction_type)
    for version in versions:
        if version.get("id") != active:
            continue
        nested = version.get("snippet")
        snippet: dict[str, Any] = nested if isinstance(nested, dict) else version
        algorithm = snippet.get("algorithm")
        return ml_task.algorithm_of_snippet(algorithm, prediction_type) if isinstance(algorithm, str) else None
    return None


# -- config <-> logical ------------------------------------------------------------------------------
def build(item: dict[str, Any], ctx: BuildContext) -> Optional[dict[str, Any]]:
    """A `saved_models` item -> logical attributes."""
    task_name = item["ml_task"]
    ctx.require(ml_task.TYPE, task_name, ("ml_task",), "its ML task")
    task = ctx.declared(ml_task.TYPE, task_name) or {}
    attrs: dict[str, Any] = {"ml_task": task_name}
    declared = [a["algorithm"] for a in task.get("algorithms") or []]
    if "algorithm" in item:
        if declared and item["algorithm"] not in declared:
            ctx.error(("algorithm",), f"ML task {task_name!r} does not enable algorithm {item['algorithm']!r}",
                      ctx.did_you_mean(item["algorithm"], declared) or f"its algorithms: {', '.join(declared)}")
        attrs["algorithm"] = item["algorithm"]
    elif len(declared) == 1:
        attrs["algorithm"] = declared[0]
    elif declared:
        ctx.error((), f"ML task {task_name!r} enables {len(declared)} algorithms: say which one this saved model deploys",
                  f"algorithm: {declared[0]}")
    train_dataset = item.get("train_dataset") or task.get("dataset")
    if "train_dataset" in item:
        ctx.require("dataset", item["train_dataset"], ("train_dataset",), "its training dataset")
    if train_dataset:
        attrs["train_dataset"] = train_dataset
    if "active_version" in item:
        attrs["active_version"] = str(item["active_version"])
    flow_zone.build_membership(item, attrs, ctx)
    return attrs


def to_config(name: str, attrs: dict[str, Any], ctx: ImportContext) -> Optional[dict[str, Any]]:
    """Logical attributes -> a `saved_models` item. The active version is not pinned (DSS's choice
    stays DSS's: a pin is a decision someone writes); the versions are data."""
    from dataiku_iac.resources.flow_zone import WRITABLE_NAME

    if not WRITABLE_NAME.match(name):
        ctx.not_expressed(f"the saved model's name {name!r} is not a name the configuration can write")
        return None
    task = attrs.get("ml_task")
    if not task or not ctx.exists(ml_task.TYPE, str(task)):
        ctx.not_expressed("its ML task is not in the project (a saved model the configuration cannot make again)")
        return None
    item: dict[str, Any] = {"name": name, "ml_task": task}
    if attrs.get("algorithm"):
        item["algorithm"] = attrs["algorithm"]
    declared_task = ctx.declared(ml_task.TYPE, str(task)) or {}
    if attrs.get("train_dataset") and attrs["train_dataset"] != declared_task.get("dataset"):
        item["train_dataset"] = attrs["train_dataset"]
    return flow_zone.membership_to_config(item, attrs)


# The version DSS's first deploy_to_flow makes (dss-samples and dataikuapi: activeVersion "initial"):
# the one version a saved model the plan creates is known to have once it exists.
FIRST_VERSION = "initial"


def check_live(resource: Resource, live: Optional[Observed], _find: Any = None) -> list[tuple[str, str]]:
    """A pinned version must be one DSS has (listed); a saved model that does not exist yet has
    none to pin but the first version its create makes. Reported where the pin is written (an
    environment override's line)."""
    pinned = resource.attributes.get("active_version")
    if pinned is None:
        return []
    if live is None and pinned == FIRST_VERSION:
        return []  # the create deploys version 'initial', the active one: the pin holds (re-applying after a destroy)
    if live is None:
        return [("active_version", f"active_version {pinned!r}: the saved model does not exist yet, so it has no "
                 "version to pin but 'initial', the one its create makes (its versions are made by training: pin another once "
                 "it exists)")]
    versions = [str(v) for v in live.attributes.get("versions") or []]
    if pinned in versions:
        return []
    return [("active_version", f"active_version {pinned!r} is not a version of the saved model in DSS "
             f"(its versions: {', '.join(versions) or 'none'})")]


def check_replace(resource: Resource, change: Any) -> list[tuple[str, str]]:
    """A replace deletes every version, the pinned one with them: the new saved model has only the
    version its first training makes, so the pin cannot hold."""
    pinned = resource.attributes.get("active_version")
    if pinned is None:
        return []
    cause = str(change.reason or "").split(";")[0]
    return [("active_version", f"active_version {pinned!r} pins a version that this plan deletes: the saved model "
             f"is replaced ({cause}) and DSS deletes its versions with it; remove the pin (pin a version of the new "
             "saved model once it is trained), or undo the change that replaces it")]


def versions_lost(attrs: Mapping[str, Any]) -> Optional[str]:
    """What deleting the saved model loses: its trained versions (DSS deletes them with it), as
    "3 trained versions (initial, 1733312345678, 1733319999999)"."""
    versions = [str(v) for v in attrs.get("versions") or []]
    if not versions:
        return None
    shown = ", ".join(versions[:5]) + (", …" if len(versions) > 5 else "")
    return f"{len(versions)} trained version{'s' if len(versions) > 1 else ''} ({shown})"


def flow_links(attrs: Mapping[str, Any]) -> list[FlowLink]:
    """A saved model reads its training dataset, and is trained from its ML task."""
    links = []
    if attrs.get("train_dataset"):
        links.append(FlowLink(READS, str(attrs["train_dataset"]), ("dataset",)))
    if attrs.get("ml_task"):
        links.append(FlowLink("is trained by", str(attrs["ml_task"]), (ml_task.TYPE,)))
    return links


SCHEMA = ConfigSchema(
    defs={
        TYPE: {
            "type": "object",
            "properties": {
                "name": {"$ref": "#/$defs/name"},
                "ml_task": {"$ref": "#/$defs/name"},
                "algorithm": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"},
                "train_dataset": {"$ref": "#/$defs/name"},
                "active_version": {"type": ["string", "integer"], "minLength": 1},
                "zone": {"$ref": "#/$defs/name"},
                "protect": {"$ref": "#/$defs/protect"},
            },
            "additionalProperties": False,
            "required": ["name", "ml_task"],
        }
    }
)

SPEC = ResourceSpec(
    type=TYPE,
    label="saved model",
    color="#d63384",
    handler=SavedModelHandler(),
    identity=Identity.SERVER_ID,
    section="saved_models",
    schema=SCHEMA,
    references=("flow_zone", "dataset", ml_task.TYPE),
    holds_data=True,
    data_held="its trained versions",
    data_always_deleted=versions_lost,
    flow_links=flow_links,
    build=build,
    to_config=to_config,
    check_live=check_live,
    check_replace=check_replace,
    create_note="creating it trains its ML task once (a training session) and deploys the model to the Flow",
    trainable=True,
    stale_training=stale_training,
    trains_when_changed=("algorithm",),
    replaced_with=(ml_task.TYPE,),  # deployed from a task the plan replaces (a new target): deployed again
)
