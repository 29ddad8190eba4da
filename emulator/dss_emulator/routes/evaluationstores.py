"""Model evaluation stores and their evaluations, as dataikuapi's DSSProject.list/create/get_model_evaluation_store
and DSSModelEvaluationStore / DSSEvaluationStore (dss/evaluationstore.py) call them. Store layout:
evaluation_stores.py (collections "evaluationstores" and "model_evaluations"). Evaluations come from
evaluation recipes' runs (builds.py, ml_scoring.py) and from add_custom_evaluation.

Routes: ``GET|POST /projects/K/evaluationstores/`` (``?flavor=``); ``GET|PUT|DELETE …/ID``;
``GET|POST|DELETE …/ID/evaluations/``; ``GET …/ID/evaluations/E`` and ``…/E/metrics``;
``PUT …/E/user-meta``; ``GET …/ID/latestEvaluationId`` (text); ``GET …/ID/metrics/last``;
``GET …/ID/metrics/history``; ``POST …/ID/actions/runChecks``; ``GET …/ID/usages``.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .. import defaults, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..evaluation_stores import (
    EVALUATIONS,
    FLAVOR,
    STORES,
    add_evaluation,
    evaluations_of,
    latest,
    metric_points,
    new_store,
    run_checks,
    save,
    store_of,
)
from ..jsoncopy import clone
from ..router import route

# What a settings PUT cannot change.
SERVER_FIELDS = ("projectKey", "id", "creationTag", "versionTag")


def _list_item(doc: Dict[str, Any]) -> Dict[str, Any]:
    """The document plus ``mesFlavor``, which dataikuapi's list_model_evaluation_stores reads from a
    list item (no real list answer is public; the stored files of DSS 10-12 have no mesFlavor)."""
    return {**clone(doc), "mesFlavor": FLAVOR}


@route("GET", "/projects/<pk>/evaluationstores/")
def list_stores(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    flavor = ctx.query("flavor")
    if flavor not in (None, "", FLAVOR):
        return []  # LLM and AGENT stores are not emulated
    return [_list_item(doc) for doc in proj.collection(STORES).values()]


@route("POST", "/projects/<pk>/evaluationstores/")
def create_store(ctx: Ctx) -> Dict[str, Any]:
    """create_model_evaluation_store(name): body {projectKey, name}, ``?flavor=TABULAR``; dataikuapi reads ``id``."""
    proj = ctx.project(WRITE)
    flavor = ctx.query("flavor") or FLAVOR
    if flavor != FLAVOR:
        raise errors.bad_request(f"The emulator only has model evaluation stores of flavor {FLAVOR} (not {flavor})")
    name = ctx.body_dict().get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A model evaluation store needs a name")
    doc = new_store(proj, name, ctx.login)
    save(ctx.store, proj)
    return ctx.created(clone(doc), "id")


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>")
def get_store(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    return clone(store_of(proj, ctx.params["mes_id"]))


@route("PUT", "/projects/<pk>/evaluationstores/<mes_id>")
def put_store(ctx: Ctx) -> Dict[str, Any]:
    """DSSEvaluationStoreSettings.save: the whole document; identity and tags stay the server's."""
    proj = ctx.project(WRITE)
    old = store_of(proj, ctx.params["mes_id"])
    new = clone(ctx.body_dict())
    new.pop("mesFlavor", None)
    name = new.get("name")
    if not isinstance(name, str) or not name.strip():
        raise errors.bad_request("A model evaluation store needs a name")
    checks = (new.get("metricsChecks") or {}).get("checks", [])
    if not isinstance(checks, list) or not all(isinstance(c, dict) and c.get("metricId") for c in checks):
        raise errors.bad_request("metricsChecks.checks must be a list of checks, each with a metricId")
    for key in SERVER_FIELDS:
        if key in old:
            new[key] = clone(old[key])
    defaults.bump(new, ctx.login)
    proj.collection(STORES)[old["id"]] = {"projectKey": proj.key, "id": old["id"], **new}
    save(ctx.store, proj)
    return {}


@route("DELETE", "/projects/<pk>/evaluationstores/<mes_id>")
def delete_store(ctx: Ctx) -> Dict[str, Any]:
    """The store and its evaluations; recipes writing it keep a dangling output (as for datasets)."""
    proj = ctx.project(WRITE)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    del proj.collection(STORES)[mes_id]
    proj.collection(EVALUATIONS).pop(mes_id, None)
    ctx.store.rename_in_zones(proj, "MODEL_EVALUATION_STORE", mes_id, None)
    save(ctx.store, proj)
    return {}


# ---------------------------------------------------------------- evaluations


def _evaluation(ctx: Ctx, need: str = READ) -> Dict[str, Any]:
    proj = ctx.project(need)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    info = evaluations_of(proj, mes_id).get(ctx.params["evaluation_id"])
    if info is None:
        raise errors.not_found(f"Model evaluation {ctx.params['evaluation_id']} of store {proj.key}.{mes_id} does not exist")
    return info


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/evaluations/")
def list_evaluations(ctx: Ctx) -> List[Dict[str, Any]]:
    """The evaluations' ``evaluation`` parts, by creation date (dataikuapi reads ``ref.evaluationId``)."""
    proj = ctx.project(READ)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    return [clone(info["evaluation"]) for info in evaluations_of(proj, mes_id).values()]


@route("POST", "/projects/<pk>/evaluationstores/<mes_id>/evaluations")
def add_custom_evaluation(ctx: Ctx) -> Dict[str, Any]:
    """add_custom_evaluation: metrics [{metricCode, value, name, description}], labels [{key, value}]."""
    proj = ctx.project(WRITE)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    body = ctx.body_dict()
    metrics = body.get("metrics") or []
    if not isinstance(metrics, list) or not all(isinstance(m, dict) and m.get("metricCode") for m in metrics):
        raise errors.bad_request("metrics must be a list of {metricCode, value}")
    evaluation: Dict[str, Any] = {"evaluationId": body.get("evaluationId"), "name": body.get("name"),
                                  "labels": clone(body.get("labels") or []), "hasModel": bool(body.get("fullModelId"))}
    if body.get("fullModelId"):
        evaluation["modelRef"] = {"fullId": body["fullModelId"]}
    info = add_evaluation(proj, mes_id, evaluation, {m["metricCode"]: m.get("value") for m in metrics}, ctx.login)
    save(ctx.store, proj)
    return clone(info["evaluation"]["ref"])


@route("DELETE", "/projects/<pk>/evaluationstores/<mes_id>/evaluations/")
def delete_evaluations(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    wanted = ctx.body([])
    if not isinstance(wanted, list) or not all(isinstance(e, str) for e in wanted):
        raise errors.bad_request("Expected a list of evaluation ids")
    pool = evaluations_of(proj, mes_id)
    for evaluation_id in wanted:
        pool.pop(evaluation_id, None)
    save(ctx.store, proj)
    return {}


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/evaluations/<evaluation_id>")
def get_evaluation(ctx: Ctx) -> Dict[str, Any]:
    return clone(_evaluation(ctx))


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/evaluations/<evaluation_id>/metrics")
def evaluation_metrics(ctx: Ctx) -> Dict[str, Any]:
    return {"metrics": metric_points(_evaluation(ctx))}


@route("PUT", "/projects/<pk>/evaluationstores/<mes_id>/evaluations/<evaluation_id>/user-meta")
def save_user_meta(ctx: Ctx) -> Dict[str, Any]:
    info = _evaluation(ctx, WRITE)
    info["evaluation"]["userMeta"] = clone(ctx.body_dict())
    save(ctx.store, ctx.project(WRITE))
    return {}


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/latestEvaluationId")
def latest_evaluation_id(ctx: Ctx) -> Raw:
    """Text; empty when the store has no evaluation (dataikuapi then answers None)."""
    proj = ctx.project(READ)
    info = latest(proj, store_of(proj, ctx.params["mes_id"])["id"])
    return Raw((info["evaluation"]["ref"]["evaluationId"] if info else "").encode("utf-8"), "text/plain")


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/metrics/last")
def last_metrics(ctx: Ctx) -> Dict[str, Any]:
    """The latest evaluation's metrics (ComputedMetrics shape)."""
    proj = ctx.project(READ)
    info = latest(proj, store_of(proj, ctx.params["mes_id"])["id"])
    return {"metrics": metric_points(info) if info else []}


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/metrics/history")
def metric_history(ctx: Ctx) -> Dict[str, Any]:
    """``metricLookup`` a metric id: its value in each evaluation, oldest first (shape of a guess)."""
    proj = ctx.project(READ)
    wanted = ctx.query("metricLookup") or ""
    values = []
    for info in evaluations_of(proj, store_of(proj, ctx.params["mes_id"])["id"]).values():
        for point in metric_points(info):
            if point["metric"]["id"] == wanted:
                values.append({"time": info["evaluation"]["created"], "value": point["lastValues"][0]["value"]})
    return {"metricId": wanted, "values": values}


@route("POST", "/projects/<pk>/evaluationstores/<mes_id>/actions/runChecks")
def run_store_checks(ctx: Ctx) -> Dict[str, Any]:
    """The store's checks (or the body's ``{"checks": [...]}``) on an evaluation (the latest when
    ``evaluationId`` is empty): ``{"results": [{check, name, value: {outcome, message}}]}`` (a guess
    of the report's shape; the outcomes are DSS's OK/WARNING/ERROR/EMPTY)."""
    proj = ctx.project(WRITE)
    doc = store_of(proj, ctx.params["mes_id"])
    wanted = ctx.query("evaluationId") or ""
    info = evaluations_of(proj, doc["id"]).get(wanted) if wanted else latest(proj, doc["id"])
    if info is None:
        raise errors.not_found(f"No evaluation {wanted or '(latest)'} in store {proj.key}.{doc['id']}")
    body = ctx.body(None)
    checks = body.get("checks") if isinstance(body, dict) else None
    info["checks"] = run_checks(doc, info, checks)
    save(ctx.store, proj)
    return {"results": clone(info["checks"])}


@route("GET", "/projects/<pk>/evaluationstores/<mes_id>/usages")
def usages(ctx: Ctx) -> List[Dict[str, Any]]:
    """The recipes writing the store (``{type, objectId}``; shape a guess)."""
    proj = ctx.project(READ)
    mes_id = store_of(proj, ctx.params["mes_id"])["id"]
    return [
        {"type": "RECIPE", "objectId": name, "projectKey": proj.key}
        for name, recipe in sorted(proj.recipes.items())
        if any(i.get("ref") == mes_id for r in (recipe.get("outputs") or {}).values() for i in r.get("items") or [])
    ]
