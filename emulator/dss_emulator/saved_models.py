"""Visual-ML saved models: deployment from an ML task, versions, and the training recipe's runs.

Store layout (routes/savedmodels.py and other modules read it; docs/emulator.md "Visual ML" too):

* ``proj.collection("savedmodels")``: savedModelId -> the document as ``GET /projects/K/savedmodels/ID``
  answers it: ``projectKey``, ``id`` then DSS's ``saved_models/<id>.json`` keys (savedModelType,
  publishPolicy, name, contentType, activeVersion, lastExportedFrom, miniTask, lastTrainIndex,
  lastTrainJobId, versionTag, creationTag, tags…).
* ``proj.collection("savedmodel_versions")``: savedModelId -> {versionId: ``{"id", "snippet",
  "details"}``}, in creation order. ``snippet``/``details`` are what ``GET …/versions/V/snippet`` and
  ``…/details`` answer; the active one is the saved model's ``activeVersion``.
* The training recipe (type ``prediction_training`` / ``clustering_training``) is an ordinary recipe in
  ``proj.recipes``: input role ``main`` the train dataset (``test`` the test dataset, when given),
  output role ``main`` the saved model id; its payload (JSON text) is the training spec
  (ml_training.py) with DSS's payload keys.

Version ids: the version deployToFlow makes is ``initial`` (real samples); later ones are epoch
milliseconds as strings, strictly increasing within a saved model.
"""

from __future__ import annotations

import json
import re
from typing import Any, Dict, List, Optional

from . import defaults, errors, ml_training
from .jsoncopy import clone
from .store import ProjectData, Store

SAVED_MODELS = "savedmodels"
VERSIONS = "savedmodel_versions"
# The ML task keys a saved model's miniTask does not keep (the 2022 and 2026 samples): the data
# handling lives in the training recipe's payload.
NOT_IN_MINI_TASK = {"preprocessing", "splitParams", "id", "initiator", "name", "uncertainty",
                    "managedFolderSmartId", "gpuConfig", "customMeasures"}


def saved_model_of(proj: ProjectData, sm_id: str) -> Dict[str, Any]:
    doc = proj.collection(SAVED_MODELS).get(sm_id)
    if doc is None:
        raise errors.not_found(f"Saved model {proj.key}.{sm_id} does not exist")
    return doc


def versions_of(proj: ProjectData, sm_id: str) -> Dict[str, Dict[str, Any]]:
    return proj.collection(VERSIONS).setdefault(sm_id, {})


def active_version(proj: ProjectData, sm_id: str) -> Optional[Dict[str, Any]]:
    """The saved model's active version ``{"id", "snippet", "details"}`` (what scoring and evaluation
    recipes use), or None when it has none."""
    active = saved_model_of(proj, sm_id).get("activeVersion")
    return versions_of(proj, sm_id).get(active) if isinstance(active, str) else None


def save(store: Store, proj: ProjectData) -> None:
    store.save_collection(proj, SAVED_MODELS)
    store.save_collection(proj, VERSIONS)


_last_issued = [0]  # the last version id this emulator process gave (callers hold the store lock)


def next_version_id(proj: ProjectData, sm_id: str) -> str:
    """Epoch milliseconds, after every id this emulator gave and every numeric id the saved model
    already has (so two versions made in the same millisecond, or after a restart, never collide)."""
    numeric = [int(v) for v in versions_of(proj, sm_id) if v.isdigit()]
    issued = max([defaults.now_ms(), _last_issued[0] + 1] + [n + 1 for n in numeric])
    _last_issued[0] = issued
    return str(issued)


def mini_task(settings: Dict[str, Any]) -> Dict[str, Any]:
    return {k: clone(v) for k, v in settings.items() if k not in NOT_IN_MINI_TASK}


def content_type(settings: Dict[str, Any]) -> str:
    """`prediction/py_memory` (samples); `clustering/py_memory` for clustering (a guess)."""
    kind = "clustering" if settings.get("taskType") == "CLUSTERING" else "prediction"
    return "{}/{}".format(kind, str(settings.get("backendType") or "PY_MEMORY").lower())


def recipe_name_for(proj: ProjectData, model_name: str) -> str:
    """`train_` + the name, every character outside [A-Za-z0-9_] replaced by `_` (the sample
    "Predict site_eui (regression)" -> train_Predict_site_eui__regression_); `_2`, `_3`… on a clash
    (a guess)."""
    base = "train_" + re.sub(r"[^A-Za-z0-9_]", "_", model_name)
    name, n = base, 1
    while name in proj.recipes:
        n += 1
        name = f"{base}_{n}"
    return name


def training_payload(settings: Dict[str, Any], model: Dict[str, Any], full_id: str) -> Dict[str, Any]:
    """The training recipe's payload, with the real sample's keys: what a rebuild trains from."""
    details = model["details"]
    return {
        "envSelection": clone(settings.get("envSelection") or {"envMode": "USE_BUILTIN_MODE"}),
        "modeling": clone(details["modeling"]),
        "generatingModelId": full_id,
        "preprocessing": clone(details["preprocessing"]),
        "backendType": settings.get("backendType") or "PY_MEMORY",
        "core": {
            "taskType": settings.get("taskType"), "diagnosticsSettings": clone(settings.get("diagnosticsSettings") or {}),
            "backendType": settings.get("backendType") or "PY_MEMORY", "weight": clone(settings.get("weight") or {}),
            "target_variable": settings.get("targetVariable"), "time": clone(settings.get("time") or {}),
            "partitionedModel": clone(settings.get("partitionedModel") or {}),
            "calibration": clone(settings.get("calibration") or {}), "prediction_type": settings.get("predictionType"),
        },
        "operationMode": "TRAIN_SPLIT",
        "partSource": "ACTIVE_VERSION",
        "modelVersionNamePrefix": details["userMeta"].get("name", ""),
        "assertionsParams": clone(settings.get("assertionsParams") or {"assertions": []}),
        "splitParams": clone(details["splitDesc"].get("splitParams") or {}),
        "sparkParams": clone(settings.get("sparkParams") or {}),
    }


def spec_from_payload(payload: Dict[str, Any]) -> Dict[str, Any]:
    core = payload.get("core") or {}
    return {
        "taskType": core.get("taskType"), "predictionType": core.get("prediction_type"),
        "targetVariable": core.get("target_variable"), "preprocessing": payload.get("preprocessing") or {},
        "splitParams": payload.get("splitParams") or {}, "modeling": payload.get("modeling") or {},
    }


def add_version(
    proj: ProjectData, sm_id: str, version_id: str, model: Dict[str, Any], origin: Dict[str, Any], activate: bool
) -> Dict[str, Any]:
    details = clone(model["details"])
    details["smOrigin"] = origin
    version = {"id": version_id, "snippet": clone(model["snippet"]), "details": details}
    versions_of(proj, sm_id)[version_id] = version
    if activate:
        proj.collection(SAVED_MODELS)[sm_id]["activeVersion"] = version_id
    return version


def new_training_recipe(
    proj: ProjectData, name: str, task_type: str, train: str, test: Optional[str], sm_id: str, login: str
) -> Dict[str, Any]:
    inputs: Dict[str, Any] = {"main": {"items": [{"ref": train, "deps": []}]}}
    if test:
        inputs["test"] = {"items": [{"ref": test, "deps": []}]}
    doc = {"type": ml_training.TRAINING_RECIPES[task_type], **defaults.load("recipe_ml_training.json")}
    doc.update(inputs=inputs, outputs={"main": {"items": [{"ref": sm_id, "appendMode": False}]}})
    defaults.stamp_creation(doc, login)
    doc.update(projectKey=proj.key, name=name)
    return doc


def deploy(
    store: Store, proj: ProjectData, settings: Dict[str, Any], model_id: str, model: Dict[str, Any],
    body: Dict[str, Any], login: str,
) -> Dict[str, str]:
    """deployToFlow: a new saved model (version ``initial`` = the lab model, active) and its training
    recipe reading the train dataset."""
    failure = ml_training.failure_of(model)
    if failure is not None:  # a guess of DSS's refusal (docs/emulator.md)
        raise errors.bad_request(f"Cannot deploy model {model_id}: its training failed ({failure})")
    name, train, test = body.get("modelName"), body.get("trainDatasetRef"), body.get("testDatasetRef")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("modelName is missing")
    for ref in (train, test):
        if ref is not None and ref not in proj.datasets:
            raise errors.not_found(f"Dataset {proj.key}.{ref} does not exist")
    if train is None:
        raise errors.bad_request("trainDatasetRef is missing")
    pool = proj.collection(SAVED_MODELS)
    sm_id = defaults.random_id(8)
    while sm_id in pool:
        sm_id = defaults.random_id(8)
    doc = defaults.load("saved_model_dss_managed.json")
    doc.update(name=name, contentType=content_type(settings), activeVersion="initial", lastExportedFrom=model_id,
               miniTask=mini_task(settings), lastTrainIndex=1, lastTrainJobId="")
    defaults.stamp_creation(doc, login)
    pool[sm_id] = {"projectKey": proj.key, "id": sm_id, **doc}
    add_version(proj, sm_id, "initial", model, {"origin": "ANALYSIS", "fullModelId": model_id}, True)
    recipe = recipe_name_for(proj, name)
    proj.recipes[recipe] = new_training_recipe(proj, recipe, str(settings.get("taskType")), train, test, sm_id, login)
    proj.payloads[recipe] = json.dumps(training_payload(settings, model, model_id), indent=2)
    store.save_recipe(proj, recipe)
    save(store, proj)
    return {"savedModelId": sm_id, "trainRecipeName": recipe}


def training_recipe_of(proj: ProjectData, sm_id: str) -> Optional[str]:
    for name, recipe in sorted(proj.recipes.items()):
        if recipe.get("type") in ml_training.TRAINING_RECIPES.values() and sm_id in _outputs(recipe):
            return name
    return None


def _outputs(recipe: Dict[str, Any]) -> List[str]:
    return [i.get("ref") for r in (recipe.get("outputs") or {}).values() for i in r.get("items") or []]


def redeploy(
    store: Store, proj: ProjectData, settings: Dict[str, Any], model_id: str, model: Dict[str, Any],
    body: Dict[str, Any], login: str,
) -> Dict[str, Any]:
    """redeployToFlow: the lab model becomes a new version of an existing saved model (named directly
    or as the output of `recipeName`), activated if asked; the training recipe now trains it."""
    sm_id, recipe = body.get("savedModelId"), body.get("recipeName")
    if not sm_id and recipe:
        if recipe not in proj.recipes:
            raise errors.not_found(f"Recipe {proj.key}.{recipe} does not exist")
        sm_id = next(iter(_outputs(proj.recipes[recipe])), None)
    if not sm_id:
        raise errors.bad_request("Either recipeName or savedModelId is required")
    doc = saved_model_of(proj, sm_id)
    recipe = recipe or training_recipe_of(proj, sm_id)
    activate = body.get("activate") is not False
    add_version(proj, sm_id, next_version_id(proj, sm_id), model,
                {"origin": "ANALYSIS", "fullModelId": model_id}, activate)
    doc.update(lastExportedFrom=model_id, miniTask=mini_task(settings))
    defaults.bump(doc, login)
    if recipe:
        proj.payloads[recipe] = json.dumps(training_payload(settings, model, model_id), indent=2)
        defaults.bump(proj.recipes[recipe], login)
        store.save_recipe(proj, recipe)
    save(store, proj)
    return {"impactsDownstream": activate}


def retrain(store: Store, proj: ProjectData, recipe: str, job_id: str, login: str) -> str:
    """A build of the saved model: its training recipe trains the payload's model on the recipe's
    current input rows, a new version is added and activated unless the saved model's
    ``publishPolicy`` is ``MANUAL`` (DSS's default, UNCONDITIONAL, activates; MANUAL is a guess of
    the other value). Called under the store lock; answers the new version id."""
    doc = proj.recipes[recipe]
    sm_id = next(iter(_outputs(doc)), "")
    saved = saved_model_of(proj, sm_id)
    train = next(iter(i.get("ref") for i in (doc.get("inputs") or {}).get("main", {}).get("items", [])), None)
    if not train:
        raise errors.bad_request(f"Training recipe {recipe} has no train dataset")
    payload = json.loads(proj.payloads.get(recipe) or "{}")
    spec = spec_from_payload(payload)
    if not spec["modeling"]:
        raise errors.bad_request(f"Training recipe {recipe} has no model to train in its payload")
    version_id = next_version_id(proj, sm_id)
    index = int(saved.get("lastTrainIndex") or 0) + 1
    name = "{} - v{}".format(payload.get("modelVersionNamePrefix") or saved.get("name"), index)
    model = ml_training.train(store, proj, train, spec, f"S-{proj.key}-{sm_id}-{version_id}",
                              {"sessionId": ""}, name)
    failure = ml_training.failure_of(model)
    if failure is not None:  # the job fails with it; no version is added
        raise errors.bad_request(failure)
    activate = saved.get("publishPolicy") != "MANUAL"
    add_version(proj, sm_id, version_id, model, {"origin": "TRAIN_RECIPE", "jobId": job_id, "recipe": recipe}, activate)
    saved.update(lastTrainIndex=index, lastTrainJobId=job_id)
    defaults.bump(saved, login)
    save(store, proj)
    return version_id
