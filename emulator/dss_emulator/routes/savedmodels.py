"""Saved models and their versions, as dataikuapi's DSSProject.list_saved_models / get_saved_model and
DSSSavedModel (dss/savedmodel.py) call them. The store layout is saved_models.py's (collections
"savedmodels" and "savedmodel_versions"); visual-ML saved models are made by an ML task's deployToFlow
(routes/mltasks.py) and get versions from redeployToFlow and from builds of their training recipe.

Routes: ``GET|POST /projects/K/savedmodels/`` (POST: MLflow and proxy models, empty); ``GET|PUT|DELETE /projects/K/savedmodels/ID``;
``GET .../ID/versions``; ``GET .../versions/V/details`` and ``.../snippet``;
``PUT .../versions/V/user-meta``; ``POST .../versions/V/actions/setActive``;
``POST .../ID/actions/delete-versions``; ``GET .../ID/metrics/V``.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx
from ..jsoncopy import clone
from ..router import route
from ..saved_models import SAVED_MODELS, VERSIONS, save, saved_model_of, training_recipe_of, versions_of
from ..store import ProjectData

# What a settings PUT cannot change: identity, and what training and version management set.
SERVER_FIELDS = ("projectKey", "id", "savedModelType", "activeVersion", "lastExportedFrom", "lastTrainIndex",
                 "lastTrainJobId", "creationTag", "versionTag")


@route("GET", "/projects/<pk>/savedmodels/")
def list_saved_models(ctx: Ctx) -> List[Dict[str, Any]]:
    """The full documents (dataikuapi reads ``id``; what else a real list item holds is unknown)."""
    proj = ctx.project(READ)
    return [clone(doc) for doc in proj.collection(SAVED_MODELS).values()]


# savedModelType -> contentType of a saved model created through the API. MLFLOW_PYFUNC's is the real
# sample's (mlflow_python/prediction/py_memory); PROXY_MODEL's is a guess built the same way.
API_CREATED_CONTENT = {"MLFLOW_PYFUNC": "mlflow_python/{}/py_memory", "PROXY_MODEL": "proxy_model/{}/py_memory"}
PREDICTION_TYPES = (None, "BINARY_CLASSIFICATION", "MULTICLASS", "REGRESSION")


@route("POST", "/projects/<pk>/savedmodels/")
def create_saved_model(ctx: Ctx) -> Dict[str, Any]:
    """create_mlflow_pyfunc_model / create_external_model: an empty saved model (its versions are
    imported later, not emulated). Visual-ML (DSS_MANAGED) ones come from an ML task's deployToFlow."""
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    kind, name, prediction_type = body.get("savedModelType"), body.get("name"), body.get("predictionType")
    if kind not in API_CREATED_CONTENT:
        raise errors.bad_request(f"Cannot create a saved model of type {kind!r} (one of {', '.join(API_CREATED_CONTENT)})")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A saved model needs a name")
    if prediction_type not in PREDICTION_TYPES:
        raise errors.bad_request(f"Unsupported prediction type {prediction_type!r}")
    doc = defaults.load("saved_model_api_created.json")
    doc.update(savedModelType=kind, name=name,
               contentType=API_CREATED_CONTENT[str(kind)].format("prediction" if prediction_type else "none"))
    doc["miniTask"]["predictionType"] = prediction_type
    if kind == "PROXY_MODEL":
        doc["proxyModelConfiguration"] = clone(body.get("proxyModelConfiguration") or {})
    pool = proj.collection(SAVED_MODELS)
    sm_id = defaults.random_id(8)
    while sm_id in pool:
        sm_id = defaults.random_id(8)
    pool[sm_id] = {"projectKey": proj.key, "id": sm_id, **doc}
    save(ctx.store, proj)
    return ctx.created(clone(pool[sm_id]), "id")


@route("GET", "/projects/<pk>/savedmodels/<sm_id>")
def get_saved_model(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(saved_model_of(proj, ctx.params["sm_id"]))


@route("PUT", "/projects/<pk>/savedmodels/<sm_id>")
def put_saved_model(ctx: Ctx) -> Dict[str, Any]:
    """DSSSavedModelSettings.save: the whole document; identity, active version and training
    bookkeeping stay the server's (setActive and builds change them)."""
    proj = ctx.project(WRITE)
    old = saved_model_of(proj, ctx.params["sm_id"])
    new = clone(ctx.body_dict())
    name = new.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A saved model needs a name")
    for key in SERVER_FIELDS:
        if key in old:
            new[key] = clone(old[key])
    defaults.bump(new, ctx.login)
    proj.collection(SAVED_MODELS)[old["id"]] = {"projectKey": proj.key, "id": old["id"], **new}
    save(ctx.store, proj)
    return {}


@route("DELETE", "/projects/<pk>/savedmodels/<sm_id>")
def delete_saved_model(ctx: Ctx) -> Dict[str, Any]:
    """The saved model and its versions; its training recipe too under the switch
    ``saved_model_delete: with_recipe``: whether DSS deletes the recipe is UNVERIFIED (docs/emulator.md)."""
    proj = ctx.project(WRITE)
    sm_id = saved_model_of(proj, ctx.params["sm_id"])["id"]
    recipe = training_recipe_of(proj, sm_id) if ctx.app.behaviour("saved_model_delete") == "with_recipe" else None
    while recipe is not None:
        ctx.store.remove_recipe(proj, recipe)
        recipe = training_recipe_of(proj, sm_id)
    del proj.collection(SAVED_MODELS)[sm_id]
    proj.collection(VERSIONS).pop(sm_id, None)
    ctx.store.rename_in_zones(proj, "SAVED_MODEL", sm_id, None)
    save(ctx.store, proj)
    return {}


# ---------------------------------------------------------------- versions


def _version(proj: ProjectData, sm_id: str, version_id: str) -> Dict[str, Any]:
    version = versions_of(proj, saved_model_of(proj, sm_id)["id"]).get(version_id)
    if version is None:
        raise errors.not_found(f"Version {version_id} of saved model {proj.key}.{sm_id} does not exist")
    return version


@route("GET", "/projects/<pk>/savedmodels/<sm_id>/versions")
def list_versions(ctx: Ctx) -> List[Dict[str, Any]]:
    """Items ``{id, active, snippet, trainDate}`` (``id``/``active`` per dataikuapi, ``snippet`` per
    Dataiku's docs; ``trainDate`` a guess), in creation order."""
    proj = ctx.project(READ)
    doc = saved_model_of(proj, ctx.params["sm_id"])
    return [
        {"id": v["id"], "active": v["id"] == doc.get("activeVersion"), "snippet": clone(v["snippet"]),
         "trainDate": v["snippet"].get("trainDate")}
        for v in versions_of(proj, doc["id"]).values()
    ]


@route("GET", "/projects/<pk>/savedmodels/<sm_id>/versions/<version_id>/details")
def version_details(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_version(proj, ctx.params["sm_id"], ctx.params["version_id"])["details"])


@route("GET", "/projects/<pk>/savedmodels/<sm_id>/versions/<version_id>/snippet")
def version_snippet(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(_version(proj, ctx.params["sm_id"], ctx.params["version_id"])["snippet"])


@route("PUT", "/projects/<pk>/savedmodels/<sm_id>/versions/<version_id>/user-meta")
def save_version_user_meta(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    version = _version(proj, ctx.params["sm_id"], ctx.params["version_id"])
    meta = ctx.body_dict()
    version["details"]["userMeta"] = clone(meta)
    version["snippet"]["userMeta"] = clone(meta)
    save(ctx.store, proj)
    return {}


@route("POST", "/projects/<pk>/savedmodels/<sm_id>/versions/<version_id>/actions/setActive")
def set_active_version(ctx: Ctx) -> Dict[str, Any]:
    """A save of the saved model with the new activeVersion (the real Git history shows exactly
    that change and a versionTag bump)."""
    proj = ctx.project(WRITE)
    version = _version(proj, ctx.params["sm_id"], ctx.params["version_id"])
    doc = saved_model_of(proj, ctx.params["sm_id"])
    doc["activeVersion"] = version["id"]
    defaults.bump(doc, ctx.login)
    save(ctx.store, proj)
    return {}


@route("POST", "/projects/<pk>/savedmodels/<sm_id>/actions/delete-versions")
def delete_versions(ctx: Ctx) -> Dict[str, Any]:
    """DSS refuses to delete the active version; nothing is deleted when one id is wrong."""
    proj = ctx.project(WRITE)
    doc = saved_model_of(proj, ctx.params["sm_id"])
    wanted = ctx.body_dict().get("versions")
    if not isinstance(wanted, list) or not all(isinstance(v, str) for v in wanted):
        raise errors.bad_request("versions must be a list of version ids")
    for version_id in wanted:
        _version(proj, doc["id"], version_id)
        if version_id == doc.get("activeVersion"):
            raise errors.bad_request(f"Cannot delete the active version {version_id} of saved model {doc['id']}")
    versions = versions_of(proj, doc["id"])
    for version_id in wanted:
        versions.pop(version_id, None)
    save(ctx.store, proj)
    return {}


# Snippet keys that are not metrics (get_performance_metrics strips the same, plus predictionType).
NOT_METRICS = {"gridsearchData", "trainDate", "topImportance", "backendType", "userMeta", "sessionDate",
               "trainInfo", "fullModelId", "gridLength", "algorithm", "sessionId", "predictionType"}


@route("GET", "/projects/<pk>/savedmodels/<sm_id>/metrics/<version_id>")
def version_metrics(ctx: Ctx) -> Dict[str, Any]:
    """get_metric_values(version): the version's performance metrics as DSS's ComputedMetrics
    (``{metrics: [{metric, lastValues, displayedAsMetric}]}``, as the dataset metrics routes answer).
    The metric ids ``model_perf:<METRIC>`` (upper case) are a GUESS: no real saved-model metric was found."""
    proj = ctx.project(READ)
    version = _version(proj, ctx.params["sm_id"], ctx.params["version_id"])
    snippet, computed = version["snippet"], version["snippet"].get("trainDate") or 0
    return {"metrics": [
        {
            "metric": {"id": f"model_perf:{key.upper()}", "metricType": key.upper(), "type": "model_perf",
                       "dataType": "DOUBLE"},
            "lastValues": [{"partition": "NP", "value": str(value), "dataType": "DOUBLE", "computed": computed}],
            "displayedAsMetric": True,
        }
        for key, value in snippet.items() if key not in NOT_METRICS and isinstance(value, (int, float))
    ]}
