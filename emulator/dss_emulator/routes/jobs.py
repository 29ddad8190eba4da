"""Jobs (they run the recipes producing their outputs: builds.py) and futures."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import builds, errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..router import route
from ..store import ProjectData


def _check_outputs(ctx: Ctx, proj: ProjectData, outputs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    checked = []
    for out in outputs:
        kind = out.get("type") or "DATASET"
        pk = out.get("projectKey") or proj.key
        target = ctx.store.projects.get(pk)
        pool = {} if target is None else builds.buildable(target, kind)
        if out.get("id") not in pool:
            raise errors.not_found("{} {}.{} does not exist".format(kind.lower(), pk, out.get("id")))
        checked.append({"type": kind, "id": out["id"], "projectKey": pk, "partition": out.get("partition")})
    return checked


@route("POST", "/projects/<pk>/jobs/", locked=False)
def start_job(ctx: Ctx) -> Dict[str, Any]:
    with ctx.store.lock:
        proj = ctx.project(WRITE)
        body = ctx.body_dict()
        outputs = _check_outputs(ctx, proj, body.get("outputs") or [])
        if not outputs:
            raise errors.bad_request("A job needs at least one output")
        job_type = body.get("type") or "NON_RECURSIVE_FORCED_BUILD"
        auto_schema = bool(body.get("autoUpdateSchemaBeforeEachRecipeRun", False))
        status, run = builds.start_job(ctx.app, proj, job_type, outputs, ctx.login, auto_schema)
    run.start()
    # Answer once the job is done when it is quick (as it nearly always is here), so a client
    # polling its status does not wait for its first back-off step; a long job answers RUNNING.
    run.done.wait(builds.INLINE_WAIT_S)
    return {"id": status["def"]["id"], "projectKey": proj.key}


@route("GET", "/projects/<pk>/jobs/")
def list_jobs(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    return ctx.app.runtime.jobs(proj.key)


def _job(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    job = ctx.app.runtime.job(proj.key, ctx.params["job_id"])
    if job is None:
        raise errors.not_found("job does not exist: {}.{}".format(proj.key, ctx.params["job_id"]))
    return job


@route("GET", "/projects/<pk>/jobs/<job_id>/")
def get_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    job = _job(ctx, proj)
    states = [a["state"] for a in job.get("activities", {}).values()]
    counts = {s: states.count(s) for s in ("DONE", "FAILED", "RUNNING", "NOT_STARTED", "SKIPPED", "ABORTED")}
    return {
        "baseStatus": job,
        "globalState": {
            "done": counts["DONE"],
            "failed": counts["FAILED"],
            "running": counts["RUNNING"],
            "notStarted": counts["NOT_STARTED"],
            "skipped": counts["SKIPPED"],
            "aborted": counts["ABORTED"],
            "total": len(states),
        },
    }


@route("GET", "/projects/<pk>/jobs/<job_id>/log")
def job_log(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    job = _job(ctx, proj)
    text = ctx.app.runtime.job_log(proj.key, job["def"]["id"], ctx.query("activity") or None)
    return Raw(text.encode("utf-8"), "text/plain")


@route("POST", "/projects/<pk>/jobs/<job_id>/abort")
def abort_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    _job(ctx, proj)
    return {}


# ---------------------------------------------------------------- futures


@route("GET", "/futures/")
def list_futures(ctx: Ctx) -> List[Dict[str, Any]]:
    return ctx.app.runtime.futures()


@route("GET", "/futures/<job_id>")
def get_future(ctx: Ctx) -> Dict[str, Any]:
    future = ctx.app.runtime.future(ctx.params["job_id"])
    if future is None:
        raise errors.not_found("Future {} does not exist".format(ctx.params["job_id"]))
    return future


@route("DELETE", "/futures/<job_id>")
def abort_future(ctx: Ctx) -> Dict[str, Any]:
    ctx.app.runtime.drop_future(ctx.params["job_id"])
    return {}
