"""Jobs (complete at once, state DONE) and futures."""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any, Dict, List

from .. import errors
from ..auth import READ, WRITE
from ..context import Ctx, Raw
from ..router import route
from ..store import ProjectData

if TYPE_CHECKING:
    from ..server import Emulator


def record_job(
    app: Emulator, project_key: str, job_type: str, outputs: List[Dict[str, Any]], initiator: str
) -> Dict[str, Any]:
    """A finished job record (DSS's baseStatus shape); builds have no effect on data in the emulator."""
    now = int(time.time() * 1000)
    first = outputs[0]["id"] if outputs else "job"
    job_id = "Build_{}_{}".format(first, time.strftime("%Y-%m-%dT%H-%M-%S", time.localtime(now / 1000)))
    with app.runtime_lock:
        jobs = app.jobs.setdefault(project_key, {})
        base, n = job_id, 1
        while job_id in jobs:
            job_id, n = f"{base}_{n}", n + 1
        status = {
            "def": {
                "id": job_id,
                "type": job_type,
                "projectKey": project_key,
                "initiator": initiator,
                "outputs": copy.deepcopy(outputs),
                "name": job_id,
                "triggeredFrom": "API",
            },
            "state": "DONE",
            "jobStartTime": now,
            "jobEndTime": now,
            "warningsCount": 0,
        }
        jobs[job_id] = status
    return status


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


@route("POST", "/projects/{pk}/jobs/")
def start_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    body = ctx.body_dict()
    outputs = _check_outputs(ctx, proj, body.get("outputs") or [])
    if not outputs:
        raise errors.bad_request("A job needs at least one output")
    status = record_job(ctx.app, proj.key, body.get("type", "NON_RECURSIVE_FORCED_BUILD"), outputs, ctx.login)
    return {"id": status["def"]["id"], "projectKey": proj.key}


@route("GET", "/projects/{pk}/jobs/")
def list_jobs(ctx: Ctx) -> List[Dict[str, Any]]:
    proj = ctx.project(READ)
    with ctx.app.runtime_lock:
        return [copy.deepcopy(j) for j in ctx.app.jobs.get(proj.key, {}).values()]


def _job(ctx: Ctx, proj: ProjectData) -> Dict[str, Any]:
    with ctx.app.runtime_lock:
        job = ctx.app.jobs.get(proj.key, {}).get(ctx.params["job_id"])
    if job is None:
        raise errors.not_found("job does not exist: {}.{}".format(proj.key, ctx.params["job_id"]))
    return job


@route("GET", "/projects/{pk}/jobs/{job_id}/")
def get_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(READ)
    job = _job(ctx, proj)
    return {"baseStatus": copy.deepcopy(job), "globalState": {"done": 1, "failed": 0, "running": 0}}


@route("GET", "/projects/{pk}/jobs/{job_id}/log")
def job_log(ctx: Ctx) -> Raw:
    proj = ctx.project(READ)
    job = _job(ctx, proj)
    return Raw(
        ("Job {} done (emulated: nothing was computed)\n".format(job["def"]["id"])).encode(), "text/plain"
    )


@route("POST", "/projects/{pk}/jobs/{job_id}/abort")
def abort_job(ctx: Ctx) -> Dict[str, Any]:
    proj = ctx.project(WRITE)
    _job(ctx, proj)
    return {}


# ---------------------------------------------------------------- futures


@route("GET", "/futures/")
def list_futures(ctx: Ctx) -> List[Dict[str, Any]]:
    with ctx.app.runtime_lock:
        return [copy.deepcopy(f) for f in ctx.app.futures.values()]


@route("GET", "/futures/{job_id}")
def get_future(ctx: Ctx) -> Dict[str, Any]:
    with ctx.app.runtime_lock:
        future = ctx.app.futures.get(ctx.params["job_id"])
    if future is None:
        raise errors.not_found("Future {} does not exist".format(ctx.params["job_id"]))
    return copy.deepcopy(future)


@route("DELETE", "/futures/{job_id}")
def abort_future(ctx: Ctx) -> Dict[str, Any]:
    with ctx.app.runtime_lock:
        ctx.app.futures.pop(ctx.params["job_id"], None)
    return {}
