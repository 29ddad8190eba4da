"""Macros (runnables): builtin ones emulated in-process, plugin ones run in a subprocess (runner.py)."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from .. import defaults, errors
from ..app import App
from ..auth import ADMIN, READ, WRITE, Caller, project_rights
from ..context import Ctx, Raw
from ..plugins import find_runnable, plugin_config, runnables
from ..router import route

RUNNER = Path(__file__).resolve().parent.parent / "runner.py"
MIMETYPES = {
    "HTML": "text/html",
    "RESULT_TABLE": "application/json",
    "JSON_OBJECT": "application/json",
    "URL": "text/plain",
    "FILE": "application/octet-stream",
    "NONE": "text/plain",
    "FOLDER_FILE": "application/json",
}
MACRO_FAILED = "com.dataiku.dip.exceptions.ExternalProcessFailedException"
# DSS aborts the code it runs as its process wrapper's "niceThenEvilKill" does: SIGINT, then
# SIGKILL when the process is still alive this many seconds later (docs/emulator.md).
ABORT_GRACE_SECONDS = 15.0


def interrupt_then_kill(proc: subprocess.Popen, grace: float = ABORT_GRACE_SECONDS) -> None:
    """Abort plugin code like DSS: SIGINT now (Python raises KeyboardInterrupt, so `finally`
    blocks run), SIGKILL after `grace` seconds if it has not ended by then."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)

    def kill_later() -> None:
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()

    threading.Thread(target=kill_later, name="abort-grace", daemon=True).start()


# ---------------------------------------------------------------- builtin macros


def _list_datasets_using_connection(
    app: App, project_key: str, config: Dict[str, Any], caller: Caller
) -> Dict[str, Any]:
    wanted = config.get("connection")
    records = []
    with app.store.lock:
        for pk in sorted(app.store.projects):
            proj = app.store.projects[pk]
            if not project_rights(proj.params, caller)[READ]:
                continue
            for name in sorted(proj.datasets):
                doc = proj.datasets[name]
                if (doc.get("params") or {}).get("connection") == wanted:
                    records.append([f"{pk}.{name}", pk, doc.get("type")])
    return {
        "kind": "json",
        "value": json.dumps(
            {
                "header": f"Datasets using connection {wanted}",
                "name": "datasets-using-connection",
                "columns": [
                    {"name": "dataset", "displayName": "Dataset", "type": "STRING"},
                    {"name": "project", "displayName": "Project", "type": "STRING"},
                    {"name": "type", "displayName": "Type", "type": "STRING"},
                ],
                "records": records,
            }
        ),
    }


def _clear_job_logs(app: App, project_key: str, config: Dict[str, Any], caller: Caller) -> Dict[str, Any]:
    count = app.runtime.clear_jobs(project_key, delete=bool(config.get("performDeletion")))
    verb = "Deleted" if config.get("performDeletion") else "Would delete"
    return {"kind": "text", "value": f"<div>{verb} the logs of {count} job(s)</div>"}


BUILTINS: Dict[str, Dict[str, Any]] = {
    "pyrunnable_builtin-macros_list-datasets-using-connection": {
        "spec": {
            "meta": {
                "label": "List datasets using a connection",
                "description": "Lists the datasets stored on a given connection",
            },
            "resultType": "RESULT_TABLE",
            "permissions": [],
            "requiresGlobalAdmin": False,
            "macroRoles": [{"type": "PROJECT_MACROS"}],
            "params": [
                {"name": "connection", "label": "Connection", "type": "CONNECTION", "mandatory": True}
            ],
            "adminParams": [],
        },
        "run": _list_datasets_using_connection,
    },
    "pyrunnable_builtin-macros_clear-job-logs": {
        "spec": {
            "meta": {"label": "Delete old jobs", "description": "Deletes the logs of the project's jobs"},
            "resultType": "HTML",
            "permissions": ["WRITE_CONF"],
            "requiresGlobalAdmin": False,
            "macroRoles": [{"type": "PROJECT_MACROS"}],
            "params": [
                {"name": "age", "type": "INT", "defaultValue": 15},
                {"name": "performDeletion", "type": "BOOLEAN", "defaultValue": False},
            ],
            "adminParams": [{"name": "allProjects", "type": "BOOLEAN", "defaultValue": False}],
        },
        "run": _clear_job_logs,
    },
}


# ---------------------------------------------------------------- definitions and permissions


def _definition(runnable_type: str, spec: Dict[str, Any], plugin_id: str, caller: Caller) -> Dict[str, Any]:
    out = copy.deepcopy(spec)
    out.update(
        {
            "runnableType": runnable_type,
            "ownerPluginId": plugin_id,
            "id": runnable_type.split("_", 2)[-1],
            "label": spec.get("meta", {}).get("label", runnable_type),
        }
    )
    out.setdefault("resultType", "NONE")
    if not caller.admin:
        out["adminParams"] = []  # DSS hides admin params from non-admins
    return out


def _lookup(app: App, runnable_type: str) -> Dict[str, Any]:
    if runnable_type in BUILTINS:
        return {
            "runnableType": runnable_type,
            "ownerPluginId": "builtin-macros",
            "spec": BUILTINS[runnable_type]["spec"],
            "builtin": BUILTINS[runnable_type]["run"],
        }
    return find_runnable(app.store.plugin_dirs, runnable_type)


def _need(spec: Dict[str, Any]) -> str:
    perms = spec.get("permissions") or []
    if "ADMIN" in perms:
        return ADMIN
    if "WRITE_CONF" in perms:
        return WRITE
    return READ


@route("GET", "/projects/<pk>/runnables/")
def list_macros(ctx: Ctx) -> List[Dict[str, Any]]:
    ctx.project(READ)
    out = [_definition(t, b["spec"], "builtin-macros", ctx.caller) for t, b in BUILTINS.items()]
    for item in runnables(ctx.store.plugin_dirs):
        out.append(_definition(item["runnableType"], item["spec"], item["ownerPluginId"], ctx.caller))
    return out


@route("GET", "/projects/<pk>/runnables/<rtype>")
def get_macro(ctx: Ctx) -> Dict[str, Any]:
    ctx.project(READ)
    item = _lookup(ctx.app, ctx.params["rtype"])
    return _definition(item["runnableType"], item["spec"], item["ownerPluginId"], ctx.caller)


# ---------------------------------------------------------------- running


def _ticket(app: App, caller: Caller) -> str:
    """An internal ticket acting as the caller, like the one DSS gives to the code it runs."""
    key = "ticket-" + defaults.random_id(24)
    with app.store.lock:
        app.store.tickets[key] = {
            "key": key,
            "id": key[-16:],
            "login": caller.login,
            "admin": caller.admin,
            "groups": list(caller.groups),
        }
    return key


def run_plugin_code(
    app: App,
    kind: str,
    file: Path,
    plugin: Dict[str, Any],
    project_key: str,
    config: Dict[str, Any],
    caller: Caller,
    on_start: Optional[Callable[[subprocess.Popen], None]] = None,
) -> Dict[str, Any]:
    """Run runnable.py / step.py in a subprocess; returns {ok, kind, value, error, log}."""
    host = app.plugin_code
    if not host.dataiku_stand_in:
        return {
            "ok": False,
            "error": "The emulator cannot run plugin code: it was started without "
            "--dataiku-stand-in (the directory holding the 'dataiku' stand-in package)",
        }
    root, desc = Path(plugin["root"]), plugin["desc"]
    with app.store.lock:
        config_of_plugin = plugin_config(desc, app.store.plugin_settings.get(desc.get("id", "")))
    ticket = _ticket(app, caller)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DKU_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(root / "python-lib"), host.dataiku_stand_in]),
            "DKU_DSS_URL": host.public_url or "",
            "DKU_API_KEY": ticket,
            "DKU_CURRENT_PROJECT_KEY": project_key,
            "DKU_CUSTOM_RESOURCE_FOLDER": str(root / "resource"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    if kind == "step":
        env["DKU_PLUGIN_STEP_CONFIG"] = json.dumps(config)
        env["DKU_PLUGIN_CONFIG"] = json.dumps({"config": config, "pluginConfig": config_of_plugin})
    else:
        env["DKU_PLUGIN_CONFIG"] = json.dumps(config_of_plugin)
    with tempfile.TemporaryDirectory(prefix="dss-emulator-run-") as tmp:
        spec_path, result_path = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_path.write_text(
            json.dumps(
                {
                    "kind": kind if kind in ("macro", "check") else "step",
                    "file": str(file),
                    "project_key": project_key,
                    "config": config,
                    "plugin_config": config_of_plugin,
                    "result_path": str(result_path),
                }
            )
        )
        proc = subprocess.Popen(
            [sys.executable, str(RUNNER), str(spec_path)],
            env=env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        if on_start:
            on_start(proc)
        try:
            log, _ = proc.communicate(timeout=host.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            log, _ = proc.communicate()
            return {
                "ok": False,
                "error": f"Timed out after {host.timeout}s",
                "log": log.decode("utf-8", "replace"),
            }
        finally:
            with app.store.lock:
                app.store.tickets.pop(ticket, None)
        text = log.decode("utf-8", "replace")
        if not result_path.exists():
            return {"ok": False, "error": f"Plugin code exited with status {proc.returncode}", "log": text}
        out = json.loads(result_path.read_text(encoding="utf-8"))
    out["log"] = text
    if proc.returncode != 0 and out.get("ok"):
        out.update(ok=False, error=f"Plugin code exited with status {proc.returncode}")
    return out


def execute_macro(
    app: App,
    project_key: str,
    runnable_type: str,
    params: Dict[str, Any],
    admin_params: Dict[str, Any],
    caller: Caller,
    record: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    """Run a macro to completion and return its run record."""
    with app.store.lock:
        proj = app.store.projects.get(project_key)
        if proj is None:
            raise errors.project_unreadable()
        item = _lookup(app, runnable_type)
        spec = item["spec"]
        rights = project_rights(proj.params, caller)
        need = _need(spec)
        if not rights[READ]:
            raise errors.project_unreadable()
        if not rights[need] or (spec.get("requiresGlobalAdmin") and not caller.admin):
            raise errors.forbidden(f"You may not run macro {runnable_type} on project {project_key}")
    config = dict(params or {})
    if caller.admin:
        config.update(admin_params or {})  # admin params are ignored for non-admins, like DSS
    if record is None:
        record = _new_record(app, project_key, runnable_type, spec)
    try:
        if "builtin" in item:
            out = item["builtin"](app, project_key, config, caller)
            out["ok"] = True
        else:
            plugin = {"root": item["plugin_root"], "desc": item["plugin"]}
            out = run_plugin_code(
                app,
                "macro",
                item["dir"] / "runnable.py",
                plugin,
                project_key,
                config,
                caller,
                on_start=lambda p: record.__setitem__("_proc", p),
            )
    except errors.DSSError as err:
        out = {"ok": False, "error": f"{err.error_type}: {err.message}"}
    record.pop("_proc", None)
    record.update(running=False, endTime=int(time.time() * 1000), log=out.get("log", ""))
    if record.get("aborted"):
        record["error"] = "Macro run aborted"
    elif out.get("ok"):
        record["result"] = out.get("value", "")
    else:
        record["error"] = out.get("error") or "Macro failed"
    return record


def _new_record(app: App, project_key: str, runnable_type: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    record = {
        "runId": defaults.random_id(12),
        "runnableType": runnable_type,
        "projectKey": project_key,
        "resultType": spec.get("resultType", "NONE"),
        "running": True,
        "startTime": int(time.time() * 1000),
    }
    app.runtime.add_macro_run(record)
    return record


@route("POST", "/projects/<pk>/runnables/<rtype>", locked=False)
def run_macro(ctx: Ctx) -> Dict[str, Any]:
    with ctx.store.lock:
        ctx.project(READ)
        item = _lookup(ctx.app, ctx.params["rtype"])
    body = ctx.body_dict()
    params, admin_params = body.get("params") or {}, body.get("adminParams") or {}
    record = _new_record(ctx.app, ctx.params["pk"], ctx.params["rtype"], item["spec"])
    args = (ctx.app, ctx.params["pk"], ctx.params["rtype"], params, admin_params, ctx.caller, record)
    if ctx.qbool("wait", True):
        try:
            execute_macro(*args)
        except errors.DSSError:
            ctx.app.runtime.drop_macro_run(record["runId"])
            raise
    else:
        threading.Thread(target=_execute_quietly, args=args, daemon=True).start()
    return {"runId": record["runId"]}


def _execute_quietly(*args: Any) -> None:
    record = args[-1]
    try:
        execute_macro(*args)
    except errors.DSSError as err:
        record.update(running=False, error=f"{err.error_type}: {err.message}")


def _run(ctx: Ctx) -> Dict[str, Any]:
    ctx.project(READ)
    record = ctx.app.runtime.macro_run(ctx.params["run_id"])
    if record is None or record["runnableType"] != ctx.params["rtype"]:
        raise errors.not_found("Macro run {} does not exist".format(ctx.params["run_id"]))
    return record


@route("GET", "/projects/<pk>/runnables/<rtype>/state/<run_id>")
def macro_state(ctx: Ctx) -> Dict[str, Any]:
    record = _run(ctx)
    out = {k: v for k, v in record.items() if not k.startswith("_") and k not in ("result", "log")}
    out["exists"] = True
    out["hasResult"] = "result" in record
    return out


@route("GET", "/projects/<pk>/runnables/<rtype>/result/<run_id>")
def macro_result(ctx: Ctx) -> Raw:
    record = _run(ctx)
    if record.get("running"):
        raise errors.DSSError(
            400, errors.ILLEGAL_STATE, "Macro run {} is still running".format(record["runId"])
        )
    if "error" in record:
        raise errors.DSSError(
            500, MACRO_FAILED, record["error"], "{}\n{}".format(record["error"], record.get("log", ""))
        )
    ctx.app.runtime.drop_macro_run(record["runId"])  # DSS: the run ceases to exist once its result is read
    value = record.get("result", "")
    return Raw(value.encode("utf-8"), MIMETYPES.get(record["resultType"], "text/plain"))


@route("POST", "/projects/<pk>/runnables/<rtype>/abort/<run_id>")
def macro_abort(ctx: Ctx) -> Dict[str, Any]:
    record = _run(ctx)
    record["aborted"] = True
    proc = record.get("_proc")
    if proc is not None:
        interrupt_then_kill(proc)
    return {}
