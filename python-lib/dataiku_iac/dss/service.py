"""The service layer of the DSS plugin: what macros, scenario steps, the custom recipe and the
webapp call. Stable API; each function documents its contract.

Conventions shared by every function:

- `client_factory` is a zero-argument callable returning a `dataikuapi.DSSClient`. Inside DSS
  pass `dataiku.api_client`: in an impersonated macro (and under
  `dataiku.WebappImpersonationContext`) it acts as the calling user, so DSS itself enforces
  that user's rights on every call.
- `caller` is the identity of the person asking (`Caller`): from `current_caller(client_factory)`
  in a macro or step, from `caller_from_browser_headers(...)` in a webapp backend. Mutating
  operations are authorized against the caller (`check_permission`), never against the
  plugin's or the webapp's run-as identity (confused-deputy safe). The rules live in
  `dss/permissions.py`; this module names them too (`service.check_permission`...).
- `source_spec` says where the configuration is (see `dataiku_iac.sources`):
  `{"kind": "library", "project_key": ..., "path": "iac"}`,
  `{"kind": "git", "url": ..., "ref": ..., "subpath": ..., "credentials": {...}}` or
  `{"kind": "directory", "path": ...}`.
- `secrets` (optional on every function that builds a configuration) is where `{secret_env:
  NAME}` values come from: by default the DSS user secrets of the user the client acts as,
  checked to be `caller` (`dss.user_secrets`); the webapp passes its browsing user's. Never
  the process environment (`environ` only tunes the engine, e.g. the version-tag shortcut).
- Results come with an HTML rendering (escaped, no secrets) that looks like the CLI output.
- Errors are `IacError` subclasses with a message safe to show; `PermissionDenied` for
  refusals.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from dataiku_iac.dss import html as render
from dataiku_iac.dss import python_configs
from dataiku_iac.dss.permissions import (  # noqa: F401 - the service's stable API names them too
    ADMIN_ACTIONS,
    MUTATING_ACTIONS,
    READ_ACTIONS,
    Caller,
    ClientFactory,
    PermissionDenied,
    caller_from_browser_headers,
    can_read_project,
    check_permission,
    check_read_access,
    check_state_write,
    current_caller,
    is_admin,
    is_project_admin,
)
from dataiku_iac.dss.user_secrets import WHERE_TO_SET, for_client_user
from dataiku_iac.engine.drift import DriftReport
from dataiku_iac.engine.executor import ApplyResult, EventSink
from dataiku_iac.engine.govern import Govern
from dataiku_iac.engine.pipeline import PlanResult
from dataiku_iac.engine.revert import revert_drift
from dataiku_iac.engine.rollback import DATA_NOTE, apply_rollback, plan_rollback
from dataiku_iac.engine.session import DEFAULT_PARALLELISM, Session
from dataiku_iac.errors import IacError, StalePlanError
from dataiku_iac.graphs import dependency_graph
from dataiku_iac.output.graph import layout as graph_layout
from dataiku_iac.output.graph import to_svg as graph_svg
from dataiku_iac.planner.plan import Plan, PlanOptions
from dataiku_iac.resources.registry import types
from dataiku_iac.secrets import SecretSource
from dataiku_iac.sources import describe_source, materialize

# -- sessions ------------------------------------------------------------------------------


@contextlib.contextmanager
def open_session(
    client_factory: ClientFactory,
    source_spec: dict,
    environment: str,
    *,
    environ: Optional[dict] = None,
    parallelism: int = DEFAULT_PARALLELISM,
    cache_dir: Optional[Path] = None,
    lock_wait_seconds: float = 0.0,
    on_lock_wait: Optional[Callable[[Any], None]] = None,
    caller: Optional[Caller] = None,
    secrets: Optional[SecretSource] = None,
) -> Iterator[Session]:
    """A Session over the materialized configuration; the copy is removed afterwards.
    `lock_wait_seconds`: how long to wait for a state lock another run holds (0: fail at once).
    `secrets`: default, the DSS user secrets of the client's user, who must be `caller` if given.
    `caller` also selects the Git cache (one per DSS user)."""
    login = caller.login if caller is not None else None
    if secrets is None:
        secrets = for_client_user(client_factory, login)
    work = Path(tempfile.mkdtemp(prefix="dataiku-iac-"))
    try:
        root, provenance = materialize(
            source_spec, client_factory=client_factory, work_dir=work, cache_dir=cache_dir, user=login
        )
        python_configs.check(root)  # before anything of it is loaded
        yield Session(
            root,
            environment,
            environ=environ,
            parallelism=parallelism,
            source=provenance,
            client_factory=client_factory,
            lock_wait_seconds=lock_wait_seconds,
            on_lock_wait=on_lock_wait,
            secrets=secrets,
            govern=lambda: govern_from_dss(client_factory),
            actor=login,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def govern_from_dss(client_factory: ClientFactory) -> Govern:
    """Dataiku Govern as DSS's own integration names it (`/admin/get-govern-node-ref`, DSS
    administrators only): the plugin holds no Govern secret of its own. Asked at the first call."""

    def client() -> Any:
        govern_client = client_factory().get_govern_client()
        if govern_client is None:
            raise IacError("this DSS has no Dataiku Govern integration enabled (Administration > Settings > "
                           "Dataiku Govern), which `policies.require_approval: govern` needs")
        return govern_client

    return Govern(client, describe="Dataiku Govern (the DSS integration)")


def approval_note(status: Optional[dict]) -> Optional[str]:
    """One line on a plan's Govern approval, for the plan's notes."""
    if status is None:
        return None
    return f"Govern approval {status['state']}: {status['reason']}"


def plan_token(plan: Plan) -> str:
    """A short digest of what a plan would do and what it was computed against.

    Unlike `Plan.to_json()["digest"]` it leaves out the creation time, so re-planning an
    unchanged configuration against an unchanged state and DSS gives the same token: this is
    what "apply exactly the plan I reviewed" compares (`apply(confirm_token=...)`).
    """
    body = plan.to_json()
    payload = {k: body[k] for k in ("environment", "config_digest", "options", "resource_changes")}
    # A never-written state gets a fresh lineage at each read: only a committed one identifies it.
    payload["state"] = {"serial": plan.serial, "lineage": plan.lineage if plan.serial > 0 else None}
    if not plan.fingerprint_key_id:
        # Nor is its secret fingerprint key stored yet (before the first apply, or a state of
        # dataiku-iac 0.1): each run fingerprints under its own, so fingerprints cannot be compared.
        payload["resource_changes"] = without_fingerprints(payload["resource_changes"])
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def without_fingerprints(value: Any) -> Any:
    """`value` with the `fingerprint` of every secret reference left out."""
    if isinstance(value, dict):
        return {k: without_fingerprints(v) for k, v in value.items() if not (k == "fingerprint" and "secret_env" in value)}
    if isinstance(value, list):
        return [without_fingerprints(v) for v in value]
    return value


def touched_projects(plan: Plan) -> list:
    """Effective project keys of every change that touches DSS or the state."""
    return sorted({c.project_key for c in plan.actionable()})


def _targets(session: Session, targets: Iterable[str]) -> tuple:
    targets = tuple(t for t in targets if t)
    if not targets:
        return ()
    known = set(session.desired.resources) | set(session.state_reader().read().resources)
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise IacError(f"unknown target(s): {', '.join(unknown)} (not in the configuration or the state)")
    return targets


# -- plan, apply, drift ----------------------------------------------------------------------


def plan(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    *,
    targets: Iterable[str] = (),
    destroy: bool = False,
    drop_data: bool = False,
    train: bool = False,
    environ: Optional[dict] = None,
    parallelism: int = DEFAULT_PARALLELISM,
    cache_dir: Optional[Path] = None,
    secrets: Optional[SecretSource] = None,
) -> tuple[PlanResult, str]:
    """Compute a plan (read-only: no lock, no write). Returns the PlanResult and its HTML.

    `result.plan.to_json()` is the reviewable plan (same JSON as `dataiku-iac plan --json`,
    with `source` recording where the config came from); `plan_token(result.plan)` is the
    token to pass to `apply(confirm_token=...)`.
    """
    check_permission(client_factory, caller, "plan", ())
    with open_session(
        client_factory, source_spec, environment, environ=environ, parallelism=parallelism, cache_dir=cache_dir,
        caller=caller, secrets=secrets,
    ) as session:
        options = PlanOptions(targets=_targets(session, targets), destroy=destroy, drop_data=drop_data, train=train)
        result = session.plan(options)
        result.approval_status = session.approval_status(result.plan.to_json())
        note = approval_note(result.approval_status)
        if note:
            result.notes.append(note)
        source = describe_source(session.source)
    return result, render.plan_html(result, token=plan_token(result.plan), source=source)


def graph(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    *,
    cache_dir: Optional[Path] = None,
    secrets: Optional[SecretSource] = None,
) -> tuple[dict, list[str], str]:
    """The configuration's dependency graph, laid out for the console (`dataiku-iac graph`):
    read from the configuration only (no DSS object, no state, no secret value). Returns the
    layout (output.graph.Layout.to_json), the DSS keys of the projects it shows (the caller must
    be able to read them) and the picture as SVG."""
    check_permission(client_factory, caller, "graph", ())
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller, secrets=secrets) as session:
        desired = session.offline_desired()
        found = dependency_graph(desired.resources.values(), type_order=types())
        keys = sorted({r.project_key for r in desired.resources.values()})
    placed = graph_layout(found)
    title = f"dataiku-iac {environment}: {len(found.nodes)} resources, {len(found.edges)} dependencies"
    return {**placed.to_json(), "title": title, "dependencies": len(found.edges)}, keys, graph_svg(placed, title=title)


def approval_of(
    client_factory: ClientFactory, caller: Caller, source_spec: dict, environment: str, plan_json: dict,
    *, cache_dir: Optional[Path] = None,
) -> Optional[dict]:
    """The Govern approval of the saved plan `plan_json` in `environment` (Session.approval_status):
    None when the environment requires none. Read-only; needs the `plan` permission."""
    check_permission(client_factory, caller, "plan", ())
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller) as session:
        return session.approval_status(plan_json)


@dataclass
class ApplyReport:
    """The outcome of `apply`: the plan it ran (or found empty) and what the executor did."""

    plan: PlanResult
    result: Optional[ApplyResult]
    token: str
    source: dict
    message: str = ""

    @property
    def govern(self) -> Optional[dict]:
        """The approved change request of the plan and whether the outcome was written back to it."""
        if self.plan.approval is None:
            return None
        return {**self.plan.approval.to_json(), "record_error": self.plan.approval_record_error}

    @property
    def ok(self) -> bool:
        return self.result is None or self.result.ok

    def to_json(self) -> dict:
        body: dict = {"plan": self.plan.plan.to_json(), "token": self.token, "applied": self.result is not None, "ok": self.ok}
        if self.result is not None:
            r = self.result
            body.update(done=r.done, failed=r.failed, skipped=r.skipped, stopped=r.stopped, serial=r.state.serial)
        if self.message:
            body["message"] = self.message
        if self.govern is not None:
            body["govern"] = self.govern
        return body


def apply(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    *,
    plan_json: Optional[dict] = None,
    confirm_token: Optional[str] = None,
    auto_approve: bool = False,
    targets: Iterable[str] = (),
    destroy: bool = False,
    drop_data: bool = False,
    train: bool = False,
    on_event: Optional[EventSink] = None,
    stop: Optional[threading.Event] = None,
    environ: Optional[dict] = None,
    parallelism: int = DEFAULT_PARALLELISM,
    cache_dir: Optional[Path] = None,
    lock_wait_seconds: float = 0.0,
    on_lock_wait: Optional[Callable[[Any], None]] = None,
    secrets: Optional[SecretSource] = None,
) -> tuple[ApplyReport, str]:
    """Apply, under the state lock, exactly one of:

    - `plan_json`: a saved plan (from `plan(...)[0].plan.to_json()`), applied exactly; refused
      if the state, the configuration or the file changed since;
    - `confirm_token`: the token of a reviewed plan; the plan is recomputed under the lock and
      applied only if its token is the same (nothing changed since the review);
    - `auto_approve=True`: whatever the plan is now (continuous deployment, policy-gated by the
      caller).

    The caller must pass `check_permission(..., "apply"/"destroy", touched projects)`; this is
    checked before the lock on the configured projects and again on the exact plan. A plan
    with no changes returns `result=None`. Apply failures of single resources are reported in
    the result (`ok` False), not raised.
    """
    if plan_json is None and not confirm_token and not auto_approve:
        raise IacError("apply needs a reviewed plan (plan JSON), the token of a reviewed plan, or auto-approval")
    action = "destroy" if destroy or (plan_json or {}).get("options", {}).get("destroy") else "apply"
    with open_session(
        client_factory, source_spec, environment, environ=environ, parallelism=parallelism, cache_dir=cache_dir,
        lock_wait_seconds=lock_wait_seconds, on_lock_wait=on_lock_wait, caller=caller, secrets=secrets,
    ) as session:
        planned_keys = {r.project_key for r in session.desired.resources.values()}
        if plan_json is not None:
            planned_keys = {c.get("project_key") for c in plan_json.get("resource_changes", []) if c.get("project_key")}
        check_permission(client_factory, caller, action, planned_keys)
        check_state_write(client_factory, caller, session)

        def confirm(planned: Plan) -> bool:
            if confirm_token:
                _token_check(confirm_token, "plan")(planned)
            check_permission(client_factory, caller, action, touched_projects(planned))
            return True

        options = PlanOptions(targets=_targets(session, targets), destroy=destroy, drop_data=drop_data, train=train)
        planned, applied = session.apply(
            options,
            saved_plan=plan_json,
            confirm=confirm,
            on_event=on_event,
            stop=stop,
            operation=f"{action} for DSS user {caller.login}",
        )
        source = dict(session.source)
    message = "" if applied is not None else "No changes: DSS already matches the configuration."
    report = ApplyReport(planned, applied, plan_token(planned.plan), source, message)
    return report, render.apply_html(report, source=describe_source(source))


def drift(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    *,
    environ: Optional[dict] = None,
    parallelism: int = DEFAULT_PARALLELISM,
    cache_dir: Optional[Path] = None,
    policy: Optional[str] = None,
    secrets: Optional[SecretSource] = None,
    revert: bool = False,
) -> tuple[DriftReport, str]:
    """Compare live DSS with the recorded state; each drifted resource carries its drift policy
    (`policies.drift`, `drift_resources`). Read-only unless `revert`: then the drift whose
    policy is `revert` is reverted (engine/revert.py), which needs the `apply` permission on
    its projects (a caller without it gets the drift reported, the revert refused). Returns the
    report and its HTML (`policy` is only shown in the HTML, e.g. "fail" or "warn")."""
    check_permission(client_factory, caller, "drift", ())
    with open_session(
        client_factory, source_spec, environment, environ=environ, parallelism=parallelism, cache_dir=cache_dir,
        caller=caller, secrets=secrets,
    ) as session:
        report = session.drift_check()
        if revert and report.to_revert:
            report = _revert(client_factory, caller, session, report)
        source = describe_source(session.source)
    return report, render.drift_html(report, source=source, policy=policy)


def _revert(client_factory: ClientFactory, caller: Caller, session: Session, report: DriftReport) -> DriftReport:
    """The revert of `report`'s drift, as an apply by `caller` (who must be allowed to apply there)."""
    try:
        check_permission(client_factory, caller, "apply", {i.project_key for i in report.to_revert})
        check_state_write(client_factory, caller, session)
    except PermissionDenied as exc:
        report.revert_refused = str(exc)
        return report
    return revert_drift(session, report, operation=f"revert drift for DSS user {caller.login}")


# -- import ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    project_key: str
    files: dict = field(default_factory=dict)  # relative path -> text
    adopted: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    secrets: list = field(default_factory=list)
    plan_summary: dict = field(default_factory=dict)
    written_to: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


def import_project(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    project_key: str,
    *,
    write_back: bool = True,
    environ: Optional[dict] = None,
    cache_dir: Optional[Path] = None,
    secrets: Optional[SecretSource] = None,
) -> tuple[ImportReport, str]:
    """Adopt the live project `project_key`: write its YAML (and code files) and record its
    objects in the state of `environment`, as `dataiku-iac import project` does.

    The files are returned in `ImportReport.files`. With `write_back`, they are also written
    into the configuration: into the project library folder for a library source, into the
    directory for a directory source (a Git source is never pushed to: take the files from
    the report or the HTML). Needs `check_permission(..., "import", [project_key])`.
    """
    from dataiku_iac.engine.importer import import_project as engine_import

    check_permission(client_factory, caller, "import", [project_key])
    with open_session(
        client_factory, source_spec, environment, environ=environ, cache_dir=cache_dir, caller=caller, secrets=secrets
    ) as session:
        check_state_write(client_factory, caller, session)
        outcome = engine_import(session, project_key, session.root)
        files = {rel: (session.root / rel).read_text(encoding="utf-8") for rel in outcome.files}
        kind = session.source.get("kind")
    report = ImportReport(project_key, files, outcome.adopted, outcome.skipped, outcome.secrets, outcome.plan_summary)
    if write_back and kind == "library":
        from dataiku_iac.sources.library import library_folder

        folder = library_folder(source_spec.get("path", "iac"))
        write_library_files(client_factory(), source_spec["project_key"], folder, files)
        report.written_to = f"project library of {source_spec['project_key']}, folder /{folder}"
    elif write_back and kind == "directory":
        report.written_to = f"directory {source_spec.get('path')}"
    return report, _import_html(report)


def write_library_files(client: Any, project_key: str, folder: str, files: Mapping[str, str]) -> None:
    """Create or overwrite `files` (relative path -> text) under /folder of a project library."""
    from dataiku_iac.sources.common import check_rel

    for rel, text in sorted(files.items()):
        check_rel(rel)
        library = client.get_project(project_key).get_library()  # fresh: the handle caches the tree
        parts = [p for p in (folder.split("/") if folder else [])] + rel.split("/")
        node = library.root
        for part in parts[:-1]:
            child = next((c for c in node.list() if c.name == part), None)
            node = child if child is not None and child.children is not None else node.add_folder(part)
        existing = next((c for c in node.list() if c.name == parts[-1]), None)
        handle = existing if existing is not None else node.add_file(parts[-1])
        handle.write(text.encode("utf-8"))


def _import_html(report: ImportReport) -> str:
    rows = [
        ("Project", report.project_key),
        ("Adopted", f"{len(report.adopted)} object(s)"),
        ("Written to", report.written_to or "not written back: copy the files below into the configuration"),
        ("Plan after import", "No changes." if not any(report.plan_summary.values()) else json.dumps(report.plan_summary)),
    ]
    body = render.meta_table(rows)
    for skipped in report.skipped:
        body += render.alert("warn", f"not imported (not expressible in the config yet): {skipped}")
    for secret in report.secrets:
        body += render.alert("warn", f"secret variable written as a reference: {secret} (before the next plan, add a "
                                     f"DSS user secret of that name, {WHERE_TO_SET})")
    for rel, text in sorted(report.files.items()):
        body += f"<h4><code>{render.esc(rel)}</code></h4><pre>{render.esc(text)}</pre>"
    return render.page(f"dataiku-iac import of {report.project_key}", body)


# -- state -------------------------------------------------------------------------------------


def state_list(
    client_factory: ClientFactory, caller: Caller, source_spec: dict, environment: str, *, cache_dir: Optional[Path] = None
) -> tuple[dict, str]:
    """The resources the state owns and the current lock: `{serial, lineage, resources: [...], lock}`."""
    check_permission(client_factory, caller, "state_list", ())
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller) as session:
        writer = session.state_writer()
        doc = writer.read()
        lock = writer.current_lock()
        where = writer.store.describe()
    rows = [
        {"address": a, "dss_id": r.dss_id, "project_key": r.project_key, "origin": r.origin, "protect": r.protect}
        for a, r in sorted(doc.resources.items())
    ]
    body = {"serial": doc.serial, "lineage": doc.lineage, "backend": where, "resources": rows, "lock": lock.to_json() if lock else None}
    intro = f"Environment {environment}, state serial {doc.serial} in {where}. " + (
        f"Locked: {lock.who}, {lock.operation!r}, since {lock.created}, lock ID {lock.id}." if lock else "Not locked."
    )
    table = [[r["address"], r["dss_id"], r["project_key"], r["origin"], "yes" if r["protect"] else ""] for r in rows]
    html = render.table_html("dataiku-iac state", ["Address", "DSS id", "Project", "Origin", "Protected"], table, intro)
    return body, html


def state_history(
    client_factory: ClientFactory, caller: Caller, source_spec: dict, environment: str, *, cache_dir: Optional[Path] = None
) -> tuple[list, str]:
    """Every kept state serial, oldest first, as dicts (serial, written_at, operation, ...)."""
    check_permission(client_factory, caller, "state_history", ())
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller) as session:
        entries = [dict(e.__dict__) for e in session.state_reader().history()]
    rows = [[e["serial"], e["written_at"], e["resource_count"], e["operation"], e["error"] or ""] for e in entries]
    html = render.table_html("dataiku-iac state history", ["Serial", "Written at", "Resources", "Operation", "Error"], rows)
    return entries, html


def state_unlock(
    client_factory: ClientFactory, caller: Caller, source_spec: dict, environment: str, lock_id: str, *, cache_dir: Optional[Path] = None
) -> tuple[dict, str]:
    """Release a stale lock by its exact ID (DSS administrators only). Returns the released holder."""
    check_permission(client_factory, caller, "state_unlock", ())
    if not lock_id or not lock_id.strip():
        raise IacError("state unlock needs the exact lock ID (shown in the lock error and in the state listing)")
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller) as session:
        writer = session.state_writer()
        holder = writer.current_lock()
        writer.unlock(lock_id.strip())
    released = holder.to_json() if holder else {}
    who = f" held by {holder.who} for {holder.operation!r}" if holder else ""
    return released, render.page("dataiku-iac state unlock", render.alert("ok", f"Released lock {lock_id}{who}."))


def state_rollback(
    client_factory: ClientFactory,
    caller: Caller,
    source_spec: dict,
    environment: str,
    serial: int,
    *,
    confirm_token: Optional[str] = None,
    drop_data: bool = False,
    allow_destroy: bool = False,
    on_event: Optional[EventSink] = None,
    environ: Optional[dict] = None,
    cache_dir: Optional[Path] = None,
    secrets: Optional[SecretSource] = None,
) -> tuple[ApplyReport, str]:
    """Make DSS match the configuration recorded at state `serial` (DSS administrators only),
    like `dataiku-iac state rollback`. Without `confirm_token` this is the review: the rollback
    plan (read-only) and its token. With the token, the plan is recomputed under the lock and
    applied only if it is the one reviewed. Data is not rolled back; the page says so."""
    check_permission(client_factory, caller, "state_rollback", ())
    options = PlanOptions(drop_data=drop_data, allow_destroy=allow_destroy)
    with open_session(
        client_factory, source_spec, environment, environ=environ, cache_dir=cache_dir, caller=caller, secrets=secrets
    ) as session:
        source = dict(session.source)
        if not confirm_token:
            result = plan_rollback(session, int(serial), options)
            report = ApplyReport(result, None, plan_token(result.plan), source, _rollback_review(serial, result))
        else:
            result, applied = apply_rollback(
                session, int(serial), options, confirm=_token_check(confirm_token), on_event=on_event,
                operation=f"rollback to serial {serial} for DSS user {caller.login}",
            )
            done = "No changes: DSS already matches that configuration." if applied is None else ""
            report = ApplyReport(result, applied, plan_token(result.plan), source, done)
    title = f"dataiku-iac state rollback to serial {serial}"
    if not confirm_token:
        return report, render.plan_html(result, token=report.token, source=describe_source(source), title=title) + render.alert("warn", report.message)
    return report, render.apply_html(report, source=describe_source(source), title=title)


def _rollback_review(serial: int, result: PlanResult) -> str:
    if not result.plan.has_changes:
        return f"No changes: DSS already matches the configuration recorded at serial {serial}."
    return f"Review this plan, then run the rollback to serial {serial} again with its plan token to apply it. {DATA_NOTE}"


def _token_check(token: str, what: str = "rollback plan") -> Callable[[Plan], bool]:
    """A `confirm` callback: go on only if the plan recomputed under the lock is the one reviewed."""

    def confirm(planned: Plan) -> bool:
        if plan_token(planned) != token.strip():
            raise StalePlanError(
                f"the {what} changed since it was reviewed (token {token.strip()}, now {plan_token(planned)}; "
                f"DSS, the state, the configuration or the options changed): review the new plan and confirm its token"
            )
        return True

    return confirm


def state_restore(
    client_factory: ClientFactory, caller: Caller, source_spec: dict, environment: str, serial: int, *, cache_dir: Optional[Path] = None
) -> tuple[dict, str]:
    """Write history serial `serial` back as a new serial, under the lock (DSS administrators
    only), like `dataiku-iac state restore`: the recovery for a damaged state. Changes only the
    state, not DSS: plan afterwards to see what it implies."""
    check_permission(client_factory, caller, "state_restore", ())
    with open_session(client_factory, source_spec, environment, cache_dir=cache_dir, caller=caller) as session:
        writer = session.state_writer()
        lock = writer.lock(f"state restore {serial} for DSS user {caller.login}")
        try:
            written = writer.restore(int(serial), operation="state restore")
        finally:
            writer.unlock(lock.id)
    body = {"restored": int(serial), "serial": written.serial}
    text = f"Restored serial {serial} as serial {written.serial}. DSS was not changed: run a plan to see what it implies."
    return body, render.page("dataiku-iac state restore", render.alert("ok", text))

