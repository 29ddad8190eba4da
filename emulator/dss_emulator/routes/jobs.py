"""Jobs (complete at once, state DONE) and futures."""

from __future__ import annotations

from typing import Any, Dict, List

from .. import errors
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
        pool = {} if target is None else (target.folders if kind == "MANAGED_FOLDER" else target.datasets)
        if out.get("id") not in pool:
            raise errors.not_found("{} {}.{} does not exist".format(kind.lower(), pk, out.get("id")))
        checked.append({"type": kind, "id": out["id"], "projectKey": pk, "partition": out.get("partition")})
    return checked


@route("POST", "/projects/<pk>/jobs/")
def start_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    outputs = _check_outputs(ctx, proj, body.get("outputs") or [])
    if not outputs:
        raise errors.bad_request("A job needs at least one output")
    job_type = body.get("type", "NON_RECURSIVE_FORCED_BUILD")
    status = ctx.app.runtime.record_job(proj.key, job_type, outputs, ctx.login)
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
    return {"baseStatus": job, "globalState": {"done": 1, "failed": 0, "running": 0}}


@route("GET", "/projects/<pk>/jobs/<job_id>/log")
def job_log(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    job = _job(ctx, proj)
    return Raw(
        ("Job {} done (emulated: nothing was computed)\n".format(job["def"]["id"])).encode(), "text/plain"
    )


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
