"""Project Standards (DSS 13.x+; dataikuapi `dss/project_standards.py` and `DSSProject`'s
project-standards calls): check specs from the registered plugins'
`python-project-standards-check-specs/<id>/` components, the instance's check library and scopes,
a project's scope, running its checks (each through runner.py, as DSS runs plugin code) and its
last report.

Behaviour switch `project_standards`: `available` (default), or `absent`, a DSS older than the
feature: every route then answers 404 as an unknown route does, and dataikuapi raises.
Doubts (docs/emulator.md): the element type's separator, the default scope's name and content,
what DSS answers when no scope selects a project, and the report's keys beyond what dataikuapi reads.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

from .. import errors
from ..app import App
from ..auth import READ, require_admin
from ..context import Ctx, Raw
from ..defaults import random_id
from ..plugins import plugin_config_defaults, plugins
from ..router import route

SPECS_DIR = "python-project-standards-check-specs"
SPEC_FILE = "project_standards_check_spec"
DEFAULT_SCOPE = "default"


def _available(ctx: Ctx, method: str, path: str) -> None:
    if ctx.app.behaviour("project_standards") == "absent":
        raise errors.not_found(f"The emulator does not implement {method} {path}")


def _library(ctx: Ctx) -> Dict[str, Any]:
    return ctx.app.store.project_standards


# ---------------------------------------------------------------- check specs


def _specs(app: App) -> Iterator[Dict[str, Any]]:
    for root, desc in plugins(app.store.plugin_dirs):
        base = root / SPECS_DIR
        if not base.is_dir():
            continue
        for spec_dir in sorted(p for p in base.iterdir() if (p / f"{SPEC_FILE}.json").is_file()):
            spec = json.loads((spec_dir / f"{SPEC_FILE}.json").read_text(encoding="utf-8"))
            yield {
                "elementType": "{}_{}".format(desc["id"], spec_dir.name),
                "label": (spec.get("meta") or {}).get("label") or spec_dir.name,
                "description": (spec.get("meta") or {}).get("description") or "",
                "ownerPluginId": desc["id"],
                "_dir": spec_dir, "_root": root, "_desc": desc, "_spec": spec,
            }


def _public(spec: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in spec.items() if not k.startswith("_")}


@route("GET", "/project-standards/check-specs")
def list_check_specs(ctx: Ctx) -> List[Dict[str, Any]]:
    _available(ctx, "GET", "/project-standards/check-specs")
    return [_public(s) for s in _specs(ctx.app)]


# ---------------------------------------------------------------- checks


@route("POST", "/project-standards/checks/actions/import")
def import_checks(ctx: Ctx) -> List[Dict[str, Any]]:
    _available(ctx, "POST", "/project-standards/checks/actions/import")
    require_admin(ctx.caller)
    # dataikuapi sends the list as query parameters (its _perform_json's third argument), not as a body
    wanted = [t for t in ctx.request.args.getlist("checkSpecElementTypes") if t] or list(
        ctx.body_dict().get("checkSpecElementTypes") or [])
    specs = {s["elementType"]: s for s in _specs(ctx.app)}
    unknown = [t for t in wanted if t not in specs]
    if unknown:
        raise errors.not_found(f"Unknown check spec(s): {', '.join(unknown)}")
    created = []
    for element_type in wanted:
        spec = specs[element_type]
        check = {
            "id": random_id(8),
            "name": spec["label"],
            "description": spec["description"],
            "checkElementType": element_type,
            "checkParams": plugin_config_defaults(spec["_spec"]),
            "tags": list(spec["_spec"].get("tags") or []),
        }
        _library(ctx)["checks"][check["id"]] = check
        created.append(copy.deepcopy(check))
    return created


@route("GET", "/project-standards/checks")
def list_checks(ctx: Ctx) -> List[Dict[str, Any]]:
    _available(ctx, "GET", "/project-standards/checks")
    return [copy.deepcopy(c) for c in _library(ctx)["checks"].values()]


def _check(ctx: Ctx) -> Dict[str, Any]:
    check = _library(ctx)["checks"].get(ctx.params["check_id"])
    if check is None:
        raise errors.not_found(f"Check {ctx.params['check_id']} does not exist")
    return dict(check)


@route("GET", "/project-standards/checks/<check_id>")
def get_check(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "GET", "/project-standards/checks")
    return copy.deepcopy(_check(ctx))


@route("PUT", "/project-standards/checks/<check_id>")
def save_check(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "PUT", "/project-standards/checks")
    require_admin(ctx.caller)
    check = _check(ctx)
    body = ctx.body_dict()
    for key in ("name", "description", "checkParams", "tags"):
        if key in body:
            check[key] = copy.deepcopy(body[key])
    _library(ctx)["checks"][check["id"]] = check
    return copy.deepcopy(check)


@route("DELETE", "/project-standards/checks/<check_id>")
def delete_check(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "DELETE", "/project-standards/checks")
    require_admin(ctx.caller)
    check = _check(ctx)
    del _library(ctx)["checks"][check["id"]]
    for scope in _library(ctx)["scopes"].values():
        scope["checks"] = [c for c in scope.get("checks") or [] if c != check["id"]]
    return {}


# ---------------------------------------------------------------- scopes


@route("GET", "/project-standards/scopes")
def list_scopes(ctx: Ctx) -> List[Dict[str, Any]]:
    _available(ctx, "GET", "/project-standards/scopes")
    return [copy.deepcopy(s) for s in _library(ctx)["scopes"].values()]


@route("GET", "/project-standards/default-scope")
def default_scope(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "GET", "/project-standards/default-scope")
    return copy.deepcopy(_library(ctx)["scopes"][DEFAULT_SCOPE])


@route("GET", "/project-standards/scopes/<name>")
def get_scope(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "GET", "/project-standards/scopes")
    scope = _library(ctx)["scopes"].get(ctx.params["name"])
    if scope is None:
        raise errors.not_found(f"Scope {ctx.params['name']} does not exist")
    return copy.deepcopy(scope)


@route("POST|PUT", "/project-standards/scopes/<name>")
def save_scope(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "POST", "/project-standards/scopes")
    require_admin(ctx.caller)
    body = ctx.body_dict()
    name = ctx.params["name"]
    checks = _library(ctx)["checks"]
    unknown = [c for c in body.get("checks") or [] if c not in checks]
    if unknown:
        raise errors.bad_request(f"Unknown check(s): {', '.join(unknown)}")
    scope = {"name": name, "description": body.get("description") or "", "checks": list(body.get("checks") or []),
             "selectionMethod": body.get("selectionMethod") or "BY_PROJECT",
             "selectedProjects": list(body.get("selectedProjects") or []),
             "selectedFolders": list(body.get("selectedFolders") or []),
             "selectedTags": list(body.get("selectedTags") or [])}
    _library(ctx)["scopes"][name] = scope
    return copy.deepcopy(scope)


def _scope_of(ctx: Ctx, project_key: str, tags: List[str]) -> Dict[str, Any]:
    """The first scope (in creation order, the default scope last) that selects the project."""
    for scope in _library(ctx)["scopes"].values():
        if scope["name"] == DEFAULT_SCOPE:
            continue
        method = scope.get("selectionMethod")
        if method == "BY_PROJECT" and project_key in (scope.get("selectedProjects") or []):
            return scope
        if method == "BY_TAG" and set(tags) & set(scope.get("selectedTags") or []):
            return scope
    return _library(ctx)["scopes"][DEFAULT_SCOPE]


@route("GET", "/projects/<pk>/project-standards/scope")
def project_scope(ctx: Ctx) -> Raw:
    _available(ctx, "GET", "/projects/.../project-standards/scope")
    proj = ctx.project(READ)
    scope = _scope_of(ctx, proj.key, list(proj.params.get("tags") or []))
    return Raw(scope["name"].encode("utf-8"), "text/plain")


# ---------------------------------------------------------------- runs


@route("POST", "/projects/<pk>/project-standards/actions/run", locked=False)
def run_checks(ctx: Ctx) -> Dict[str, Any]:
    _available(ctx, "POST", "/projects/.../project-standards/actions/run")
    with ctx.app.store.lock:
        proj = ctx.project(READ)
        scope = _scope_of(ctx, proj.key, list(proj.params.get("tags") or []))
        wanted = [c for c in ctx.request.args.getlist("checkIds") if c] or list(scope.get("checks") or [])
        checks = [copy.deepcopy(_library(ctx)["checks"][c]) for c in wanted if c in _library(ctx)["checks"]]
        specs = {s["elementType"]: s for s in _specs(ctx.app)}
        key, requester = proj.key, ctx.caller.login
    started = int(time.time() * 1000)
    infos = {check["id"]: _run_one(ctx, key, check, specs.get(check["checkElementType"])) for check in checks}
    report = {"projectKey": key, "scope": scope["name"], "requester": requester, "startTime": started,
              "totalDurationMs": int(time.time() * 1000) - started, "bundleChecksRunInfo": infos}
    if not [c for c in ctx.request.args.getlist("checkIds") if c]:  # only a run of the project's scope is its last report
        with ctx.app.store.lock:
            _library(ctx)["reports"][key] = copy.deepcopy(report)
    return ctx.app.runtime.start_future(report, f"Running Project Standards checks of {key}")


def _run_one(ctx: Ctx, project_key: str, check: Dict[str, Any], spec: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    from .macros import run_plugin_code

    started = time.time()
    if spec is None:
        result = {"status": "RUN_ERROR", "severity": None, "message": f"Unknown check spec {check['checkElementType']}"}
    else:
        outcome = run_plugin_code(ctx.app, "check", Path(spec["_dir"]) / f"{SPEC_FILE}.py",
                                  {"root": spec["_root"], "desc": spec["_desc"]}, project_key,
                                  dict(check.get("checkParams") or {}), ctx.caller)
        if outcome.get("ok") and outcome.get("kind") == "json":
            result = json.loads(outcome["value"])
        else:
            result = {"status": "RUN_ERROR", "severity": None, "message": outcome.get("error") or "the check returned no result"}
    return {"check": check, "result": result, "durationMs": int((time.time() - started) * 1000),
            "expandedCheckParams": dict(check.get("checkParams") or {})}


@route("GET", "/projects/<pk>/project-standards/last-report")
def last_report(ctx: Ctx) -> Raw:
    _available(ctx, "GET", "/projects/.../project-standards/last-report")
    proj = ctx.project(READ)
    report = _library(ctx)["reports"].get(proj.key)
    return Raw(b"" if report is None else json.dumps(report).encode("utf-8"), "application/json")

