"""The IaC console's backend: JSON routes over the service layer (`dss/service.py`).

`backend.py` (run by DSS with a Flask `app` predefined) only calls `define_routes(app, console)`,
so everything here runs the same on any Flask app: the tests use Flask's test client and a
local server with headless Chromium.

Security model (reliability-anchors §5.4, plugin-conventions §4.4):
- The backend runs as the webapp's run-as user; it never acts on a name the page sends. Each
  request's caller is whoever DSS says owns the browser session (`webapp_http.identify`).
- Read calls (plan, drift, history, lock) need read access to every project involved, checked
  against DSS project permissions (the run-as user may see more than the caller).
- Apply needs `service.check_permission(..., "apply")` (DSS admin, or admin of every project the
  plan touches), checked before the apply starts and again by the service under the lock.
  Unlock is for DSS administrators only.
- Apply also needs write access to the project holding the state (`service.check_state_write`):
  a user who may only read it never takes its lock nor writes a serial.
- `{secret_env: NAME}` resolves from the browsing user's DSS user secrets (`Caller.secrets`),
  never from this backend's process environment.
- A refused plan names objects only in projects the caller may read (`_withhold`).
- Only a plan this backend showed to this same user can be applied, and the approval must name
  its id, digest and state serial; the engine then refuses it if the state or config moved.
- Answers never carry tracebacks or secret values (`webapp_http.answer_for`, `make_scrubber`).
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Optional
from urllib.parse import urlsplit

from dataiku_iac.dss import service
from dataiku_iac.dss.webapp_http import (
    ApiError,
    Caller,
    Conflict,
    Forbidden,
    NotFound,
    answer_for,
    check_client_request,
    identify,
    make_scrubber,
)
from dataiku_iac.dss.webapp_jobs import (
    ApplyJob,
    ApprovalError,
    JobConflict,
    JobRegistry,
    PlanStore,
    new_job_id,
    utc_stamp,
)
from dataiku_iac.dss.webapp_views import drift_view, plan_view
from dataiku_iac.dssclient import DssConnection
from dataiku_iac.errors import PlanError, PlanProblem
from dataiku_iac.state.backends.managed_folder import ManagedFolderBlobStore
from dataiku_iac.state.lock import parse_iso, utc_now

ClientFactory = Callable[[], Any]
SOURCE_KINDS = ("library", "git")  # a browser may not name a server directory
_ENV_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")
# Environment variables whose values must never reach a browser, whatever goes wrong.
_ALWAYS_SECRET_ENV = ("DKU_API_KEY", "DKU_API_TICKET")


# -- configuration (the webapp's settings in DSS) ----------------------------------------------


@dataclass(frozen=True)
class ConsoleSettings:
    """The webapp parameters (webapp.json), normalized."""

    source: dict
    environment: str = "dev"
    environments: tuple[str, ...] = ()
    git_url_prefixes: tuple[str, ...] = ()
    drift_report_project: str = ""  # where the scheduled drift check writes its reports
    drift_report_folder: str = ""
    parallelism: int = service.DEFAULT_PARALLELISM

    @classmethod
    def from_webapp_config(cls, config: dict, default_project_key: Optional[str] = None) -> ConsoleSettings:
        kind = config.get("source_kind") or "library"
        if kind == "git":
            source = {
                "kind": "git",
                "url": str(config.get("git_url") or ""),
                "ref": str(config.get("git_ref") or "main"),
                "subpath": str(config.get("git_subpath") or ""),
            }
        else:
            source = {
                "kind": "library",
                "project_key": str(config.get("library_project_key") or default_project_key or ""),
                "path": str(config.get("library_path") or "iac"),
            }
        return cls(
            source=source,
            environment=str(config.get("environment") or "dev"),
            environments=tuple(str(e) for e in config.get("environments") or () if e),
            git_url_prefixes=tuple(str(p) for p in config.get("git_url_prefixes") or () if p),
            drift_report_project=str(config.get("drift_report_project") or default_project_key or ""),
            drift_report_folder=str(config.get("drift_report_folder") or ""),
            parallelism=max(1, int(config.get("parallelism") or service.DEFAULT_PARALLELISM)),
        )


# -- request parsing ------------------------------------------------------------------------------


def _text(body: dict, name: str, *, required: bool = False, limit: int = 1000) -> str:
    value = body.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError(f"'{name}' must be a string of at most {limit} characters.")
    value = value.strip()
    if required and not value:
        raise ApiError(f"'{name}' is required.")
    return value


def parse_target(body: Any, settings: ConsoleSettings) -> tuple[dict, str]:
    """(source spec, environment) from a request body, validated; only library and Git sources."""
    if not isinstance(body, dict):
        raise ApiError("Send a JSON object.")
    environment = _text(body, "environment", required=True, limit=100)
    if not set(environment) <= _ENV_NAME_CHARS:
        raise ApiError("The environment name may only contain letters, digits, '_', '-' and '.'.")
    raw = body.get("source")
    if not isinstance(raw, dict):
        raise ApiError("'source' must be an object with a 'kind' (library or git).")
    kind = raw.get("kind")
    if kind == "library":
        source = {
            "kind": "library",
            "project_key": _text(raw, "project_key", required=True, limit=100),
            "path": _text(raw, "path") or "iac",
        }
    elif kind == "git":
        source = {
            "kind": "git",
            "url": _text(raw, "url", required=True),
            "ref": _text(raw, "ref") or "main",
            "subpath": _text(raw, "subpath"),
        }
        check_git_url(source["url"], settings)
    else:
        raise ApiError(f"The config source kind must be one of: {', '.join(SOURCE_KINDS)}.")
    return source, environment


def check_git_url(url: str, settings: ConsoleSettings) -> None:
    """Which repositories the backend may fetch for a browser user.

    The URL configured in the webapp settings is trusted (an admin wrote it). Anything else must
    be a network URL (a user must not make the backend read repositories on the DSS host's disk)
    and, when the settings list prefixes, start with one of them.
    """
    if settings.source.get("kind") == "git" and url == settings.source.get("url"):
        return
    scheme = urlsplit(url).scheme
    scp_like = scheme == "" and "@" in url.split("/", 1)[0] and ":" in url
    if scheme not in ("https", "http", "ssh", "git") and not scp_like:
        raise Forbidden("Only network Git URLs (https, ssh) may be used from the console.")
    if settings.git_url_prefixes and not any(url.startswith(p) for p in settings.git_url_prefixes):
        raise Forbidden("This Git repository is not among those the webapp settings allow.")


def _scope(source: dict, environment: str) -> str:
    """Identifies one environment of one config source (for 'one apply at a time' and last drift)."""
    parts = [
        source.get("kind", ""),
        source.get("project_key", ""),
        source.get("path", ""),
        source.get("url", ""),
        source.get("subpath", ""),
    ]
    return "|".join(str(p) for p in parts) + "#" + environment


# -- the console -----------------------------------------------------------------------------------


class Console:
    """The backend's operations, one method per route. Every method takes the identified caller."""

    def __init__(
        self, client_factory: ClientFactory, settings: ConsoleSettings, *, environ: Optional[dict] = None
    ):
        self.client_factory = client_factory
        self.settings = settings
        self.environ = dict(os.environ if environ is None else environ)
        self.plans = PlanStore()
        self.jobs = JobRegistry()
        self._last_drift: dict[str, dict] = {}
        self._secret_env_names: set[str] = set(_ALWAYS_SECRET_ENV)
        self._secrets_lock = threading.Lock()  # Flask serves requests on several threads

    # -- shared checks ---------------------------------------------------------------------------
    def service_caller(self, caller: Caller) -> service.Caller:
        return service.Caller(caller.login, tuple(sorted(caller.groups)), caller.admin)

    def _target(self, caller: Caller, body: Any) -> tuple[dict, str]:
        """The request's (source, environment), once it is known the caller may read the source.

        Checked before any work: errors from reading a config (diagnostics quote it) must not
        reach someone who may not read the project library it lives in.
        """
        source, environment = parse_target(body, self.settings)
        self.require_read(caller, (), source)
        return source, environment

    def require_read(self, caller: Caller, project_keys: Iterable[str], source: dict) -> None:
        keys = set(project_keys)
        if source.get("kind") == "library":
            keys.add(source["project_key"])  # reading a project's library is reading the project
        service.check_read_access(self.client_factory, self.service_caller(caller), sorted(keys))

    def scrubber(self, caller: Optional[Caller] = None) -> Callable[[Any], Any]:
        """Scrubs the values of secret-looking process variables and the caller's user secrets."""
        with self._secrets_lock:
            names = sorted(self._secret_env_names)
        values = [self.environ.get(name, "") for name in names]
        if caller is not None and caller.secrets is not None:
            values += caller.secrets.values()
        return make_scrubber(values)

    def _learn_secret_names(self, payload: Any) -> None:
        """Remember the env vars that hold secrets (`{secret_env: NAME}` references in plans)."""
        if isinstance(payload, dict):
            name = payload.get("secret_env")
            if isinstance(name, str):
                with self._secrets_lock:
                    self._secret_env_names.add(name)
            for value in payload.values():
                self._learn_secret_names(value)
        elif isinstance(payload, list):
            for value in payload:
                self._learn_secret_names(value)

    def _common(self, caller: Caller) -> dict:
        # `environ` only tunes the engine; secrets come from the browsing user's DSS user secrets.
        return {"environ": self.environ, "parallelism": self.settings.parallelism, "secrets": caller.secrets}

    def _withhold(self, caller: Caller, exc: PlanError) -> PlanError:
        """The plan error as the caller may see it: a problem in a project they cannot read only
        says that much (the backend sees every project; they must not learn what it holds)."""
        hidden = {
            p.project_key
            for p in exc.problems
            if not service.can_read_project(self.client_factory, self.service_caller(caller), p.project_key)
        }
        if not hidden or service.is_admin(self.client_factory, self.service_caller(caller)):
            return exc
        problems = [
            p if p.project_key not in hidden else PlanProblem(p.address, p.project_key, _withheld_text(p))
            for p in exc.problems
        ]
        return type(exc).of(problems, prefix=exc.prefix)

    # -- routes ----------------------------------------------------------------------------------
    def context(self, caller: Caller) -> dict:
        admin = service.is_admin(self.client_factory, self.service_caller(caller))
        user = dict(caller.to_json(), admin=admin)
        defaults = {
            "source": self.settings.source,
            "environment": self.settings.environment,
            "environments": list(self.settings.environments),
        }
        return {"user": user, "defaults": defaults}

    def plan(self, caller: Caller, body: Any) -> dict:
        source, environment = self._target(caller, body)
        train = body.get("train", False)  # apply --train: the saved models in scope are retrained
        if not isinstance(train, bool):
            raise ApiError("'train' must be true or false.")
        who = self.service_caller(caller)
        try:
            result, _html = service.plan(self.client_factory, who, source, environment, train=train,
                                         **self._common(caller))
        except PlanError as exc:
            raise self._withhold(caller, exc) from None
        plan_json = result.plan.to_json()
        self._learn_secret_names(plan_json)
        keys = {c.project_key for c in result.plan.changes} | {
            r.project_key for r in result.state.resources.values()
        }
        self.require_read(caller, keys, source)
        shown = self.plans.put(
            caller.login, {"source": source, "environment": environment}, plan_json, tuple(sorted(keys))
        )
        notes = [n for n in result.notes if n != service.approval_note(result.approval_status)]
        view = plan_view(plan_json, plan_id=shown.id, notes=notes)
        view["govern"] = result.approval_status  # None: the environment requires no approval
        view["can_apply"] = self._may_apply(caller, source, environment, plan_json)
        return {"plan": view}

    def _may_apply(self, caller: Caller, source: dict, environment: str, plan_json: dict) -> dict:
        """A hint for the page (the apply route decides): whether this caller could apply the plan."""
        who = self.service_caller(caller)
        try:
            service.check_permission(self.client_factory, who, _plan_action(plan_json), _touched(plan_json))
            if _touched(plan_json):
                self._check_state_write(caller, source, environment)
        except service.PermissionDenied as exc:
            return {"allowed": False, "reason": str(exc)}
        return {"allowed": True, "reason": ""}

    def apply(self, caller: Caller, body: Any) -> tuple[dict, int]:
        if not isinstance(body, dict):
            raise ApiError("Send a JSON object.")
        plan_id, digest = (
            _text(body, "plan_id", required=True, limit=100),
            _text(body, "digest", required=True, limit=100),
        )
        serial = body.get("serial")
        try:
            shown = self.plans.peek(plan_id, caller.login, digest, serial)
        except ApprovalError as exc:
            raise Conflict(str(exc), kind="PlanNotApproved") from None
        who = self.service_caller(caller)
        action = "destroy" if shown.plan_json.get("options", {}).get("destroy") else "apply"
        touched = sorted(
            {c["project_key"] for c in shown.plan_json["resource_changes"] if c["action"] != "no-op"}
        )
        source, environment = shown.target["source"], shown.target["environment"]
        try:
            service.check_permission(self.client_factory, who, action, touched)
            self._check_state_write(caller, source, environment)
        except service.PermissionDenied as exc:
            raise Forbidden(f"You may not apply this plan: {exc}") from None
        self.plans.take(plan_id, caller.login, digest, serial)
        total = sum(1 for c in shown.plan_json["resource_changes"] if c["action"] != "no-op")
        job = ApplyJob(
            new_job_id(), caller.login, environment, _scope(source, environment), shown.digest, total
        )
        try:
            self.jobs.start(job, lambda j: self._run_apply(j, caller, source, environment, shown.plan_json))
        except JobConflict as exc:
            raise Conflict(str(exc), kind="ApplyRunning") from None
        return {"job": job.snapshot()}, 202

    def _check_state_write(self, caller: Caller, source: dict, environment: str) -> None:
        """Before accepting an apply: may the caller change the state? (The service checks
        again in the job, before the lock; this answers the page at once with a 403.)"""
        who = self.service_caller(caller)
        if service.is_admin(self.client_factory, who):
            return
        with service.open_session(
            self.client_factory, source, environment, caller=who, secrets=caller.secrets
        ) as session:
            service.check_state_write(self.client_factory, who, session)

    def _run_apply(
        self, job: ApplyJob, caller: Caller, source: dict, environment: str, plan_json: dict
    ) -> None:
        """The background thread: apply exactly the approved plan, record events, never raise."""
        job.record("queued", detail="taking the state lock and checking the plan is still current")

        def on_event(kind: str, change: Any, detail: str) -> None:
            job.record(kind, change.address, change.action.value, detail)

        try:
            report, _html = service.apply(
                self.client_factory,
                self.service_caller(caller),
                source,
                environment,
                plan_json=plan_json,
                on_event=on_event,
                **self._common(caller),
            )
        except Exception as exc:  # the thread must end in a recorded, safe state
            if isinstance(exc, PlanError):
                exc = self._withhold(caller, exc)
            body, _status = answer_for(_translate(exc), scrub=self.scrubber(caller))
            job.finish("failed", body["error"]["message"])
            return
        job.finish(*_outcome(report))

    def job(self, caller: Caller, job_id: str, since: Any) -> dict:
        job = self.jobs.get(job_id)
        if job is None or (
            job.owner != caller.login
            and not service.is_admin(self.client_factory, self.service_caller(caller))
        ):
            raise NotFound(
                "No such apply (it may have been started by someone else, or the backend restarted)."
            )
        try:
            start = max(0, int(since or 0))
        except (TypeError, ValueError):
            start = 0
        return {"job": job.snapshot(start)}

    def history(self, caller: Caller, body: Any) -> dict:
        source, environment, listing = self._state_listing(caller, body)
        entries, _html = service.state_history(
            self.client_factory, self.service_caller(caller), source, environment
        )
        return {"history": entries, "serial": listing["serial"]}

    def lock(self, caller: Caller, body: Any) -> dict:
        _source, environment, listing = self._state_listing(caller, body)
        lock = listing.get("lock")
        return {"lock": _lock_view(lock), "environment": environment}

    def _state_listing(self, caller: Caller, body: Any) -> tuple[dict, str, dict]:
        source, environment = self._target(caller, body)
        listing, _html = service.state_list(
            self.client_factory, self.service_caller(caller), source, environment
        )
        self.require_read(caller, {r["project_key"] for r in listing["resources"]}, source)
        return source, environment, listing

    def unlock(self, caller: Caller, body: Any) -> dict:
        source, environment = self._target(caller, body)
        lock_id = _text(body, "lock_id", required=True, limit=200)
        who = self.service_caller(caller)
        try:
            service.check_permission(self.client_factory, who, "state_unlock", ())
        except service.PermissionDenied as exc:
            raise Forbidden(f"You may not force-unlock the state: {exc}") from None
        released, _html = service.state_unlock(self.client_factory, who, source, environment, lock_id)
        return {"unlocked": True, "released": _lock_view(released or None)}

    def drift(self, caller: Caller, body: Any) -> dict:
        source, environment = self._target(caller, body)
        scope = _scope(source, environment)
        if not body.get("run"):
            last = _newest(self._last_drift.get(scope), self._scheduled_drift(environment))
            if last is not None:
                self.require_read(caller, last["project_keys"], source)
            return {"drift": last["view"] if last else None}
        report, _html = service.drift(
            self.client_factory, self.service_caller(caller), source, environment, **self._common(caller)
        )
        keys = {item.project_key for item in report.items}
        self.require_read(caller, keys, source)
        if isinstance(report.pending_error, PlanError):
            report.pending = {"error": str(self._withhold(caller, report.pending_error))}
        view = dict(drift_view(report.to_json(), checked_at=utc_stamp()), origin="this console")
        self._last_drift[scope] = {"view": view, "project_keys": sorted(keys)}
        return {"drift": view}

    def graph(self, caller: Caller, body: Any) -> dict:
        """The configuration's dependency graph, laid out on the server (output/graph.py): the page
        draws it from coordinates and text, no graph library, nothing from a CDN."""
        source, environment = self._target(caller, body)
        view, keys, _svg = service.graph(
            self.client_factory, self.service_caller(caller), source, environment, secrets=caller.secrets
        )
        self.require_read(caller, keys, source)
        return {"graph": view}

    def _scheduled_drift(self, environment: str) -> Optional[dict]:
        """The last report of the scheduled drift check (check-drift step), if the settings name
        its folder: `drift/<env>/latest.json`, dated by the newest timestamped copy beside it."""
        project, folder = self.settings.drift_report_project, self.settings.drift_report_folder
        if not (project and folder):
            return None
        connection = DssConnection(factory=self.client_factory)
        store = ManagedFolderBlobStore(connection, project, folder, f"drift/{environment}")
        raw = store.get("latest.json")
        if raw is None:
            return None
        report = json.loads(raw.decode("utf-8"))
        stamps = [m.group(0) for m in map(_REPORT_STAMP.match, store.list()) if m]
        checked_at = _stamp_to_iso(max(stamps)) if stamps else ""
        view = dict(
            drift_view(report, checked_at=checked_at),
            origin=f"scheduled drift check (folder {folder} of {project})",
        )
        keys = {r.get("project_key", "") for r in report.get("resources", [])} | {project}
        return {"view": view, "project_keys": sorted(k for k in keys if k)}


_REPORT_STAMP = re.compile(r"^\d{8}T\d{6}Z(?=\.json$)")


def _stamp_to_iso(stamp: str) -> str:
    """`20260101T120000Z` (the drift step's file names) → `2026-01-01T12:00:00Z`."""
    return f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"


def _newest(*results: Optional[dict]) -> Optional[dict]:
    found = [r for r in results if r is not None]
    return max(found, key=lambda r: r["view"].get("checked_at") or "") if found else None


def _outcome(report: Any) -> tuple[str, str, Optional[int]]:
    """(status, message, serial after) of a finished apply, in the CLI's words."""
    result = report.result
    if result is None:
        return "succeeded", report.message or "No changes: DSS already matches the configuration.", None
    done = len(result.done)
    if result.ok:
        return (
            "succeeded",
            f"Apply complete! {done} change(s) applied; state serial {result.state.serial}.",
            result.state.serial,
        )
    if result.stopped:
        return (
            "stopped",
            "Apply interrupted: in-flight actions finished and the state was saved. Plan and apply again to resume.",
            result.state.serial,
        )
    failed = ", ".join(sorted(result.failed))
    message = f"Apply incomplete: {done} done, {len(result.failed)} failed ({failed}), {len(result.skipped)} skipped."
    return "failed", message, result.state.serial


def _withheld_text(problem: PlanProblem) -> str:
    return (
        f"{problem.address}: refused because of what project {problem.project_key} holds, and you "
        f"may not read that project (ask one of its administrators or a DSS administrator)"
    )


def _plan_action(plan_json: dict) -> str:
    return "destroy" if plan_json.get("options", {}).get("destroy") else "apply"


def _touched(plan_json: dict) -> list[str]:
    return sorted({c["project_key"] for c in plan_json["resource_changes"] if c["action"] != "no-op"})


def _lock_view(lock: Optional[dict], now: Optional[datetime] = None) -> Optional[dict]:
    """The lock's holder, plus whether it looks stale (expired): the cue an admin needs to unlock."""
    if not lock:
        return None
    view = {k: lock.get(k) for k in ("id", "operation", "who", "created", "expires", "backend")}
    try:
        left = (parse_iso(str(lock.get("expires"))) - (now or utc_now())).total_seconds()
    except (TypeError, ValueError):
        view["status"] = "unknown expiry"
        return view
    minutes = int(abs(left) // 60)
    view["status"] = (
        f"expired {minutes} min ago: probably stale" if left <= 0 else f"active, expires in {minutes} min"
    )
    return view


# -- Flask wiring ----------------------------------------------------------------------------------


def define_routes(app: Any, console: Console) -> None:
    """Register the console's routes (and their error handling) on a Flask app."""
    from flask import jsonify, request

    def handle(fn: Callable[[Caller], Any]) -> Any:
        caller: Optional[Caller] = None
        try:
            check_client_request(request.method, request.headers)
            caller = identify(console.client_factory, request.headers)
            result = fn(caller)
        except Exception as exc:  # the only place errors become answers: nothing else escapes
            body, status = answer_for(_translate(exc), scrub=console.scrubber(caller))
            return jsonify(body), status
        body, status = result if isinstance(result, tuple) else (result, 200)
        scrub = console.scrubber(caller)  # a plan may just have taught it new secret names
        response = jsonify(scrub(body))
        response.headers["Cache-Control"] = "no-store"
        return response, status

    def json_body() -> Any:
        return request.get_json(silent=True)

    routes: list[tuple[str, str, str, Callable[..., Any]]] = [
        ("GET", "/api/context", "iac_context", lambda: handle(console.context)),
        ("POST", "/api/plan", "iac_plan", lambda: handle(lambda c: console.plan(c, json_body()))),
        ("POST", "/api/apply", "iac_apply", lambda: handle(lambda c: console.apply(c, json_body()))),
        ("POST", "/api/history", "iac_history", lambda: handle(lambda c: console.history(c, json_body()))),
        ("POST", "/api/lock", "iac_lock", lambda: handle(lambda c: console.lock(c, json_body()))),
        ("POST", "/api/unlock", "iac_unlock", lambda: handle(lambda c: console.unlock(c, json_body()))),
        ("POST", "/api/drift", "iac_drift", lambda: handle(lambda c: console.drift(c, json_body()))),
        ("POST", "/api/graph", "iac_graph", lambda: handle(lambda c: console.graph(c, json_body()))),
    ]
    for method, path, name, view in routes:
        app.add_url_rule(path, name, view, methods=[method])
    app.add_url_rule(
        "/api/jobs/<job_id>",
        "iac_job",
        lambda job_id: handle(lambda c: console.job(c, job_id, request.args.get("since"))),
        methods=["GET"],
    )


def _translate(exc: BaseException) -> BaseException:
    """The service's refusals become 403s; everything else is mapped by `answer_for`."""
    if isinstance(exc, service.PermissionDenied):
        return Forbidden(str(exc))
    if isinstance(exc, ApprovalError):
        return Conflict(str(exc), kind="PlanNotApproved")
    return exc
