"""What the IaC console shows, as plain JSON-ready dicts (pure: no Flask, no DSS).

The console's tree is built from a plan's *serialized* form (`Plan.to_json()`), which has
already redacted sensitive values, so nothing secret can reach the view by construction.
Values are pre-formatted here the way the CLI prints them (`output.text.fmt`), so the browser
only inserts text and both faces of the product show the same thing.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from dataiku_iac.output.text import fmt
from dataiku_iac.planner.plan import REDACTED
from dataiku_iac.resources.policy import ABSENT

# The console's project order follows the plan; inside a project, the project itself comes first.
ACTIONS = ("create", "update", "replace", "delete", "forget", "no-op")


def plan_view(plan_json: dict, *, plan_id: str, notes: Iterable[str] = ()) -> dict:
    """The plan as the console renders it: projects → resources → field rows."""
    changes = plan_json["resource_changes"]
    return {
        "id": plan_id,
        "digest": plan_json["digest"],
        "serial": plan_json["state"]["serial"],
        "lineage": plan_json["state"]["lineage"],
        "environment": plan_json["environment"],
        "created_at": plan_json.get("created_at", ""),
        "summary": plan_json["summary"],
        "train": bool((plan_json.get("options") or {}).get("train")),  # applying it retrains saved models
        "has_changes": any(c["action"] != "no-op" for c in changes),
        "warnings": list(plan_json.get("warnings", [])),
        "notes": list(notes),
        "source": _public_source(plan_json.get("source") or {}),
        "projects": _projects(changes),
    }


def _public_source(source: dict) -> dict:
    """Where the config came from, minus anything that could carry a credential (URLs with a userinfo)."""
    shown = {}
    for key in ("kind", "project_key", "path", "ref", "commit", "subpath"):
        if isinstance(source.get(key), (str, int)):
            shown[key] = source[key]
    if isinstance(source.get("url"), str):
        shown["url"] = strip_userinfo(source["url"])
    return shown


def strip_userinfo(url: str) -> str:
    """`https://user:token@host/x` → `https://host/x`: a URL is shown, its credentials never."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    return f"{scheme}://{host}{slash}{path}"


def _projects(changes: list[dict]) -> list[dict]:
    projects: dict[str, dict] = {}
    for change in changes:
        key = change["project_key"]
        project = projects.setdefault(
            key, {"project_key": key, "counts": dict.fromkeys(ACTIONS, 0), "resources": []}
        )
        project["counts"][change["action"]] += 1
        project["resources"].append(resource_view(change))
    for project in projects.values():
        project["resources"].sort(key=lambda r: (r["type"] != "project", r["address"]))
    return list(projects.values())


def resource_view(change: dict) -> dict:
    body = change["change"]
    return {
        "address": change["address"],
        "type": change["type"],
        "name": change["name"],
        "dss_id": change.get("dss_id"),
        "action": change["action"],
        "actions": list(body["actions"]),
        "reason": change.get("reason", ""),
        "fields": field_rows(change["action"], body, change.get("sensitive_fields") or ()),
    }


def field_rows(action: str, body: dict, sensitive: Iterable[str]) -> list[dict]:
    """One row per attribute (create/delete) or per differing leaf (update/replace)."""
    hidden = set(sensitive)
    if action == "create":
        return _attribute_rows(body.get("after") or {}, hidden, "add")
    if action == "delete":
        return _attribute_rows(body.get("before") or {}, hidden, "remove")
    if action not in ("update", "replace"):
        return []
    rows: list[dict] = []
    for field in body.get("fields") or []:
        rows.extend(_field_change_rows(field))
    return rows


def _attribute_rows(attrs: dict, hidden: set, kind: str) -> list[dict]:
    rows = []
    for name in sorted(attrs):
        value = REDACTED if name in hidden else attrs[name]
        if value in (None, "", [], {}):
            continue
        shown = fmt(value, indent=True)
        before, after = (None, shown) if kind == "add" else (shown, None)
        rows.append(_row(name, before, after, kind))
    return rows


def _field_change_rows(field: dict) -> list[dict]:
    name, before, after = field["name"], field["before"], field["after"]
    forces = bool(field.get("forces_replacement"))
    if field.get("sensitive"):
        return [_row(name, REDACTED, REDACTED, "change", forces, sensitive=True)]
    if isinstance(before, dict) and isinstance(after, dict):
        leaves = _leaf_rows(name, before, after, forces)
        if leaves:
            return leaves
    return [_row(name, fmt(before, indent=True), fmt(after, indent=True), "change", forces)]


def _leaf_rows(prefix: str, before: dict, after: dict, forces: bool) -> list[dict]:
    """Mirror of the CLI's per-leaf mapping diff: `variables.standard.x: 1 → 2`."""
    rows = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}.{key}"
        old, new = before.get(key, ABSENT), after.get(key, ABSENT)
        if isinstance(old, dict) and isinstance(new, dict):
            rows.extend(_leaf_rows(path, old, new, forces))
        elif new == ABSENT and key in after:
            rows.append(_row(path, fmt(old, indent=True), None, "remove", forces))
        elif key not in after:
            continue  # a key DSS has that the config does not manage
        elif old == ABSENT:
            rows.append(_row(path, None, fmt(new, indent=True), "add", forces))
        elif old != new:
            rows.append(_row(path, fmt(old, indent=True), fmt(new, indent=True), "change", forces))
    return rows


def _row(
    name: str,
    before: Optional[str],
    after: Optional[str],
    kind: str,
    forces: bool = False,
    *,
    sensitive: bool = False,
) -> dict:
    return {
        "name": name,
        "before": before,
        "after": after,
        "kind": kind,
        "forces_replacement": forces,
        "sensitive": sensitive,
    }


def drift_view(report_json: dict, *, checked_at: str = "") -> dict:
    """A drift report (already redacted by `DriftReport.to_json`) with per-leaf, formatted values."""
    resources = []
    for item in report_json.get("resources", []):
        fields = [
            row for f in item.get("fields", []) for row in drift_rows(f["name"], f["recorded"], f["live"])
        ]
        resources.append(
            {**{k: item[k] for k in ("address", "type", "project_key", "name", "kind")}, "fields": fields}
        )
    return {
        "environment": report_json.get("environment", ""),
        "drift": bool(report_json.get("drift")),
        "checked": report_json.get("checked", 0),
        "checked_at": checked_at or report_json.get("checked_at", ""),
        "summary": report_json.get("summary", {"changed": 0, "deleted": 0, "unmanaged": 0}),
        "pending_config_changes": report_json.get("pending_config_changes"),
        "resources": resources,
    }


def drift_rows(name: str, recorded: Any, live: Any) -> list[dict]:
    """One row per differing leaf (`variables.standard.region`), or the whole values when they are
    not both mappings, or when they differ only by normalization the leaves do not show."""
    rows = (
        _drift_leaves(name, recorded, live) if isinstance(recorded, dict) and isinstance(live, dict) else []
    )
    return rows or [{"name": name, "recorded": fmt(recorded, indent=True), "live": fmt(live, indent=True)}]


def _drift_leaves(prefix: str, recorded: dict, live: dict) -> list[dict]:
    rows = []
    for key in sorted(set(recorded) | set(live), key=str):
        path = f"{prefix}.{key}"
        old, new = recorded.get(key, ABSENT), live.get(key, ABSENT)
        if isinstance(old, dict) and isinstance(new, dict):
            rows.extend(_drift_leaves(path, old, new))
        elif old != new:
            rows.append({"name": path, "recorded": _leaf(old), "live": _leaf(new)})
    return rows


def _leaf(value: Any) -> str:
    return "(absent)" if value == ABSENT else fmt(value, indent=True)
