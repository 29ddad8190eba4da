"""Visual analyses and their ML tasks (the "lab"), as dataikuapi's DSSProject, DSSAnalysis and DSSMLTask
(dss/project.py, dss/analysis.py, dss/ml.py) call them.

Store layout (other modules read it; docs/emulator.md "Visual ML" says the same):

* ``proj.collection("analyses")``: analysisId -> the analysis definition as ``GET /projects/K/lab/A/``
  answers it: DSS's ``core_params.json`` (inputDatasetSmartName, script, charts, name, tags…) plus
  ``projectKey`` and ``id``.
* ``proj.collection("mltasks")``: mlTaskId -> ``{"analysisId", "mlTaskId", "settings": <params.json, as
  GET .../settings answers it>, "sessions": [{"sessionId", "trainDate", "modelIds": [...]}],
  "models": {<fullModelId>: {"snippet": {...}, "details": {...}, "fullModelId": {projectKey, analysisId,
  mlTaskId, sessionId, preprocessingId, modelId}}}}``. Trained models live with their
  task (ml_training.py makes them); deployToFlow copies one into a saved model version
  (routes/savedmodels.py).

Routes (trailing slashes as dataikuapi writes them; the router takes both):
``POST|GET /projects/K/models/lab/``, ``GET .../models/lab/A/T/status``, ``GET|POST .../settings``,
``PUT .../guess``, ``DELETE .../models/lab/A/T/``; ``POST|GET /projects/K/lab/``,
``GET|PUT|DELETE /projects/K/lab/A/``, ``POST|GET /projects/K/lab/A/models/``; training:
``POST .../models/lab/A/T/train``, ``GET .../models-snippets``, ``GET .../models/M/details``,
``PUT .../models/M/user-meta``, ``DELETE .../models/M``, ``POST .../models/M/actions/deployToFlow`` and
``.../redeployToFlow`` (saved_models.py).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from .. import defaults, errors, ml_guess, ml_training, saved_models
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..store import ProjectData

ANALYSES = "analyses"
MLTASKS = "mltasks"
TASK_TYPES = ("PREDICTION", "CLUSTERING")


# ---------------------------------------------------------------- lookups


def analysis_of(proj: ProjectData, analysis_id: str) -> Dict[str, Any]:
    analysis = proj.collection(ANALYSES).get(analysis_id)
    if analysis is None:
        raise errors.not_found(f"Analysis {analysis_id} does not exist in project {proj.key}")
    return analysis


def task_of(proj: ProjectData, analysis_id: str, task_id: str) -> Dict[str, Any]:
    analysis_of(proj, analysis_id)
    task = proj.collection(MLTASKS).get(task_id)
    if task is None or task["analysisId"] != analysis_id:
        raise errors.not_found(f"ML task {analysis_id}/{task_id} does not exist in project {proj.key}")
    return task


def _new_id(pool: Dict[str, Any]) -> str:
    new = defaults.random_id(8)
    while new in pool:
        new = defaults.random_id(8)
    return new


def rename_analysis_inputs(proj: ProjectData, old: str, new: str) -> bool:
    """A dataset rename: the analyses reading it follow (as the recipes do); whether any changed."""
    changed = False
    for analysis in proj.collection(ANALYSES).values():
        if analysis.get("inputDatasetSmartName") == old:
            analysis["inputDatasetSmartName"] = new
            changed = True
    return changed


def save_lab(ctx: Ctx, proj: ProjectData) -> None:
    ctx.store.save_collection(proj, ANALYSES)
    ctx.store.save_collection(proj, MLTASKS)


# ---------------------------------------------------------------- creation


def _new_analysis(ctx: Ctx, proj: ProjectData, dataset: Any, name: str) -> Dict[str, Any]:
    if not isinstance(dataset, str) or dataset not in proj.datasets:
        raise errors.not_found(f"Dataset {proj.key}.{dataset} does not exist")
    analysis = defaults.load("analysis_core_params.json")
    analysis.update(inputDatasetSmartName=dataset, name=name)
    defaults.stamp_creation(analysis, ctx.login)
    analysis = {"projectKey": proj.key, "id": _new_id(proj.collection(ANALYSES)), **analysis}
    proj.collection(ANALYSES)[analysis["id"]] = analysis
    return analysis


def _analysis_name(body: Dict[str, Any]) -> str:
    """DSS's name for an analysis made by a create-ML-task call (13.5.5 sample: "Quick modeling of
    <target> on <dataset>"; for clustering the same without target: a guess)."""
    if body.get("taskType") == "CLUSTERING":
        return "Quick modeling on {}".format(body.get("inputDataset"))
    return "Quick modeling of {} on {}".format(body.get("targetVariable"), body.get("inputDataset"))


def _new_task(ctx: Ctx, proj: ProjectData, analysis: Dict[str, Any], body: Dict[str, Any]) -> Dict[str, Any]:
    task_type = body.get("taskType")
    if task_type not in TASK_TYPES:
        raise errors.bad_request(f"Unsupported ML task type {task_type!r} (one of {', '.join(TASK_TYPES)})")
    request = dict(body, inputDataset=analysis["inputDatasetSmartName"])
    if task_type == "PREDICTION" and not request.get("targetVariable"):
        raise errors.bad_request("A prediction ML task needs a targetVariable")
    task_id = _new_id(proj.collection(MLTASKS))
    make = ml_guess.prediction_settings if task_type == "PREDICTION" else ml_guess.clustering_settings
    settings = make(ctx.store, proj, request, task_id, ctx.login)
    task = {"analysisId": analysis["id"], "mlTaskId": task_id, "settings": settings, "sessions": [], "models": {}}
    proj.collection(MLTASKS)[task_id] = task
    return task


@route("POST", "/projects/<pk>/models/lab/")
def create_ml_task(ctx: Ctx) -> Dict[str, Any]:
    """A new analysis on the dataset holding one new ML task (DSSProject.create_*_ml_task)."""
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    analysis = _new_analysis(ctx, proj, body.get("inputDataset"), _analysis_name(body))
    try:
        task = _new_task(ctx, proj, analysis, body)
    except errors.DSSError:
        del proj.collection(ANALYSES)[analysis["id"]]
        raise
    save_lab(ctx, proj)
    return {"analysisId": analysis["id"], "mlTaskId": task["mlTaskId"]}


@route("POST", "/projects/<pk>/lab/<analysis_id>/models/")
def create_ml_task_in_analysis(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    analysis = analysis_of(proj, ctx.params["analysis_id"])
    task = _new_task(ctx, proj, analysis, ctx.body_dict())
    save_lab(ctx, proj)
    return {"analysisId": analysis["id"], "mlTaskId": task["mlTaskId"]}


# ---------------------------------------------------------------- listing


def task_summary(proj: ProjectData, task: Dict[str, Any]) -> Dict[str, Any]:
    """A list item. Real DSS's items are not evidenced beyond analysisId, mlTaskId and taskType (code
    reading them); the rest is a guess (docs/emulator.md)."""
    settings, analysis = task["settings"], proj.collection(ANALYSES)[task["analysisId"]]
    summary = {
        "projectKey": proj.key,
        "analysisId": task["analysisId"],
        "analysisName": analysis.get("name"),
        "mlTaskId": task["mlTaskId"],
        "name": settings.get("name"),
        "taskType": settings.get("taskType"),
        "backendType": settings.get("backendType"),
        "inputDatasetSmartName": analysis.get("inputDatasetSmartName"),
    }
    if settings.get("taskType") == "PREDICTION":
        summary.update(predictionType=settings.get("predictionType"), targetVariable=settings.get("targetVariable"))
    return summary


def _summaries(proj: ProjectData, analysis_id: Any = None) -> Dict[str, List[Dict[str, Any]]]:
    tasks = proj.collection(MLTASKS).values()
    return {"mlTasks": [task_summary(proj, t) for t in tasks if analysis_id in (None, t["analysisId"])]}


@route("GET", "/projects/<pk>/models/lab/")
def list_ml_tasks(ctx: Ctx) -> Dict[str, List[Dict[str, Any]]]:
    return _summaries(ctx.project(READ))


@route("GET", "/projects/<pk>/lab/<analysis_id>/models/")
def list_analysis_ml_tasks(ctx: Ctx) -> Dict[str, List[Dict[str, Any]]]:
    proj = ctx.project(READ)
    return _summaries(proj, analysis_of(proj, ctx.params["analysis_id"])["id"])


# ---------------------------------------------------------------- one ML task


def _task(ctx: Ctx, need: str) -> tuple:
    proj = ctx.project(need)
    return proj, task_of(proj, ctx.params["analysis_id"], ctx.params["task_id"])


@route("GET", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/status")
def task_status(ctx: Ctx) -> Dict[str, Any]:
    """The guess is done on create and training on its request, so both flags are always False (what
    wait_guess_complete / wait_train_complete wait for). fullModelIds: as get_trained_models_ids reads.
    headSessionTask: the task's settings (a Dataiku plugin reads its backendType there; that it is the
    whole current settings document is a guess)."""
    _proj, task = _task(ctx, READ)
    return {
        "guessing": False,
        "training": False,
        "headSessionTask": clone(task["settings"]),
        "fullModelIds": [
            {"id": model_id, "fullModelId": clone(model["fullModelId"])}
            for model_id, model in task["models"].items()
        ],
    }


@route("GET", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/settings")
def get_task_settings(ctx: Ctx) -> Dict[str, Any]:
    _proj, task = _task(ctx, READ)
    return clone(task["settings"])


@route("POST", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/settings")
def save_task_settings(ctx: Ctx) -> Dict[str, Any]:
    """DSSMLTaskSettings.save: the whole document; its identity (id, taskType) stays the task's."""
    proj, task = _task(ctx, WRITE)
    body = ctx.body_dict()
    for key in ("id", "taskType"):
        if key in body and body[key] != task["settings"].get(key):
            raise errors.bad_request(f"Cannot change the {key} of ML task {task['mlTaskId']}")
    settings = clone(body)
    settings["id"], settings["taskType"] = task["settings"]["id"], task["settings"]["taskType"]
    task["settings"] = settings
    ctx.store.save_collection(proj, MLTASKS)
    return {}


@route("PUT", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/guess")
def reguess_task(ctx: Ctx) -> Dict[str, Any]:
    proj, task = _task(ctx, WRITE)
    if task["settings"].get("taskType") != "PREDICTION":
        return {}  # dataikuapi: core parameters are "only valid for prediction tasks"
    dataset = proj.collection(ANALYSES)[task["analysisId"]]["inputDatasetSmartName"]
    query = {k: ctx.query(k) for k in ("targetVariable", "predictionType", "fullReguess")}
    task["settings"] = ml_guess.reguess(ctx.store, proj, task["settings"], query, dataset)
    ctx.store.save_collection(proj, MLTASKS)
    return {}


@route("DELETE", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/")
def delete_task(ctx: Ctx) -> Dict[str, Any]:
    """The task and its trained models go; the analysis stays (DSS keeps an analysis without task)."""
    proj, task = _task(ctx, WRITE)
    del proj.collection(MLTASKS)[task["mlTaskId"]]
    ctx.store.save_collection(proj, MLTASKS)
    return {}


# ---------------------------------------------------------------- analyses


def analysis_summary(proj: ProjectData, analysis: Dict[str, Any]) -> Dict[str, Any]:
    """A list item of GET /projects/K/lab/ (only ``analysisId`` is evidenced; the rest a guess)."""
    tasks = [t for t in proj.collection(MLTASKS).values() if t["analysisId"] == analysis["id"]]
    return {
        "projectKey": proj.key,
        "analysisId": analysis["id"],
        "analysisName": analysis.get("name"),
        "inputDatasetSmartName": analysis.get("inputDatasetSmartName"),
        "nbMLTasks": len(tasks),
        "tags": clone(analysis.get("tags", [])),
    }


@route("POST", "/projects/<pk>/lab/")
def create_analysis(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    dataset = ctx.body_dict().get("inputDataset")
    analysis = _new_analysis(ctx, proj, dataset, f"Analyze {dataset}")
    ctx.store.save_collection(proj, ANALYSES)
    return {"id": analysis["id"]}


@route("GET", "/projects/<pk>/lab/")
def list_analyses(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return [analysis_summary(proj, a) for a in proj.collection(ANALYSES).values()]


@route("GET", "/projects/<pk>/lab/<analysis_id>/")
def get_analysis(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(analysis_of(proj, ctx.params["analysis_id"]))


@route("PUT", "/projects/<pk>/lab/<analysis_id>/")
def put_analysis(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    old = analysis_of(proj, ctx.params["analysis_id"])
    new = clone(ctx.body_dict())
    new.update(projectKey=proj.key, id=old["id"], creationTag=clone(old.get("creationTag")))
    new["versionTag"] = clone(old.get("versionTag", {}))
    defaults.bump(new, ctx.login)
    proj.collection(ANALYSES)[old["id"]] = new
    ctx.store.save_collection(proj, ANALYSES)
    return {}


@route("DELETE", "/projects/<pk>/lab/<analysis_id>/")
def delete_analysis(ctx: Ctx) -> Dict[str, Any]:
    """An analysis goes with its ML tasks and their trained models."""
    proj = ctx.project(WRITE)
    analysis = analysis_of(proj, ctx.params["analysis_id"])
    del proj.collection(ANALYSES)[analysis["id"]]
    tasks = proj.collection(MLTASKS)
    for task_id in [t for t, task in tasks.items() if task["analysisId"] == analysis["id"]]:
        del tasks[task_id]
    save_lab(ctx, proj)
    return {}


# ---------------------------------------------------------------- training


def _full_model_id(proj: ProjectData, task: Dict[str, Any], session: int, pp: int, model: int) -> Dict[str, str]:
    return {"projectKey": proj.key, "analysisId": task["analysisId"], "mlTaskId": task["mlTaskId"],
            "sessionId": f"s{session}", "preprocessingId": f"pp{pp}", "modelId": f"m{model}"}


def _preprocessing_index(task: Dict[str, Any]) -> int:
    """DSS numbers a session's preprocessing (pp1, pp2…): a new one when the data handling changed
    since the previous session (sample ids: s3-pp2-m1)."""
    handling = json.dumps(
        [task["settings"].get("preprocessing"), task["settings"].get("splitParams")], sort_keys=True)
    sessions = task["sessions"]
    if sessions and sessions[-1].get("handling") == handling:
        return int(sessions[-1]["preprocessingId"][2:])
    return 1 + max([int(s["preprocessingId"][2:]) for s in sessions] or [0])


@route("POST", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/train")
def train_task(ctx: Ctx) -> Dict[str, Any]:
    """start_train / train: every enabled algorithm is trained at once (ml_training.py); the answer
    carries the session id train() filters the models by."""
    proj, task = _task(ctx, WRITE)
    settings = task["settings"]
    algorithms = ml_training.enabled_algorithms(settings)
    if not algorithms:
        raise errors.bad_request(f"ML task {task['mlTaskId']} has no enabled algorithm to train")
    dataset = proj.collection(ANALYSES)[task["analysisId"]]["inputDatasetSmartName"]
    session = len(task["sessions"]) + 1
    pp = _preprocessing_index(task)
    model_ids = []
    for index, (key, params) in enumerate(algorithms, start=1):
        parts = _full_model_id(proj, task, session, pp, index)
        full_id = "A-{projectKey}-{analysisId}-{mlTaskId}-{sessionId}-{preprocessingId}-{modelId}".format(**parts)
        spec = ml_training.spec_from_task(settings, key, params)
        model = ml_training.train(ctx.store, proj, dataset, spec, full_id, parts,
                                  ml_training.display_name(key, parts["sessionId"]))
        model["fullModelId"] = parts
        task["models"][full_id] = model
        model_ids.append(full_id)
    body = ctx.body_dict()
    task["sessions"].append({
        "sessionId": f"s{session}", "preprocessingId": f"pp{pp}", "modelIds": model_ids,
        "sessionName": body.get("sessionName"), "sessionDescription": body.get("sessionDescription"),
        "trainDate": defaults.now_ms(), "handling": json.dumps(
            [settings.get("preprocessing"), settings.get("splitParams")], sort_keys=True),
    })
    ctx.store.save_collection(proj, MLTASKS)
    return {"sessionId": f"s{session}"}


def _model(ctx: Ctx, task: Dict[str, Any]) -> Dict[str, Any]:
    model = task["models"].get(ctx.params["model_id"])
    if model is None:
        raise errors.not_found("Trained model {} does not exist in ML task {}".format(ctx.params["model_id"], task["mlTaskId"]))
    return model


@route("GET", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models-snippets")
def model_snippets(ctx: Ctx) -> Dict[str, Any]:
    """{model id: snippet}, for the ids asked (``modelsIds`` in the body of this GET) or all."""
    _proj, task = _task(ctx, READ)
    wanted = ctx.body_dict().get("modelsIds")
    ids = list(task["models"]) if wanted is None else [i for i in wanted if i in task["models"]]
    return {i: clone(task["models"][i]["snippet"]) for i in ids}


@route("GET", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models/<model_id>/details")
def model_details(ctx: Ctx) -> Dict[str, Any]:
    _proj, task = _task(ctx, READ)
    return clone(_model(ctx, task)["details"])


@route("PUT", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models/<model_id>/user-meta")
def save_model_user_meta(ctx: Ctx) -> Dict[str, Any]:
    proj, task = _task(ctx, WRITE)
    model = _model(ctx, task)
    meta = ctx.body_dict()
    model["details"]["userMeta"] = clone(meta)
    model["snippet"]["userMeta"] = clone(meta)
    ctx.store.save_collection(proj, MLTASKS)
    return {}


@route("DELETE", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models/<model_id>")
def delete_model(ctx: Ctx) -> Dict[str, Any]:
    proj, task = _task(ctx, WRITE)
    del task["models"][_model(ctx, task)["details"]["fullModelId"]]
    ctx.store.save_collection(proj, MLTASKS)
    return {}


@route("POST", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models/<model_id>/actions/deployToFlow")
def deploy_to_flow(ctx: Ctx) -> Dict[str, str]:
    proj, task = _task(ctx, WRITE)
    model = _model(ctx, task)
    return saved_models.deploy(ctx.store, proj, task["settings"], ctx.params["model_id"], model, ctx.body_dict(), ctx.login)


@route("POST", "/projects/<pk>/models/lab/<analysis_id>/<task_id>/models/<model_id>/actions/redeployToFlow")
def redeploy_to_flow(ctx: Ctx) -> Dict[str, Any]:
    proj, task = _task(ctx, WRITE)
    model = _model(ctx, task)
    return saved_models.redeploy(ctx.store, proj, task["settings"], ctx.params["model_id"], model, ctx.body_dict(), ctx.login)
