"""Rows for the drift/state report recipe: one row per resource and field, so teams can chart
drift over time in DSS (pure functions; the recipe only writes them to its output dataset)."""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping, Optional

COLUMNS = ("checked_at", "environment", "address", "type", "project_key", "kind", "field", "recorded", "live")
SCHEMA = [{"name": c, "type": "string"} for c in COLUMNS]
MAX_VALUE_CHARS = 2000


def _value(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def drift_rows(report: Mapping[str, Any], checked_at: str) -> list:
    """From `DriftReport.to_json()`: a row per drifted field (kind "changed"), a row per deleted
    or unmanaged resource, and one row of kind "none" when nothing drifted."""
    env = report.get("environment", "")
    rows = []
    for item in report.get("resources") or []:
        base = {"checked_at": checked_at, "environment": env, "address": item["address"], "type": item["type"],
                "project_key": item["project_key"], "kind": item["kind"]}
        fields = item.get("fields") or []
        if not fields:
            rows.append({**base, "field": "", "recorded": "", "live": ""})
        for f in fields:
            rows.append({**base, "field": f["name"], "recorded": _value(f.get("recorded")), "live": _value(f.get("live"))})
    if not rows:
        rows.append({"checked_at": checked_at, "environment": env, "address": "", "type": "", "project_key": "",
                     "kind": "none", "field": "", "recorded": "", "live": ""})
    return rows


def state_rows(state: Any, checked_at: str, environment: str) -> list:
    """From a StateDocument: a row per resource and recorded attribute (kind "state"). Secrets are
    never in the state: secret variables are `{secret_env, fingerprint}` references, keyed by the
    state's key (secrets.py), which are safe to show as plans show them."""
    rows = []
    for address, entry in sorted(state.resources.items()):
        base = {"checked_at": checked_at, "environment": environment, "address": address, "type": entry.type,
                "project_key": entry.project_key, "kind": "state"}
        rows.append({**base, "field": "dss_id", "recorded": _value(entry.dss_id), "live": ""})
        for name, value in sorted(entry.attributes.items()):
            rows.append({**base, "field": name, "recorded": _value(value), "live": ""})
    return rows


def report_rows(
    config: Mapping[str, Any],
    client_factory: Callable[[], Any],
    project_key: Optional[str],
    checked_at: str,
) -> list:
    """What the recipe writes: `mode` "drift" (default) or "state", for the configured source."""
    from dataiku_iac.dss import components, service

    caller, spec, env = components._context(config, client_factory, project_key)
    mode = str(config.get("mode") or "drift")
    if mode == "drift":
        report, _html = service.drift(client_factory, caller, spec, env)
        return drift_rows(report.to_json(), checked_at)
    if mode == "state":
        with service.open_session(client_factory, spec, env) as session:
            return state_rows(session.state_reader().read(), checked_at, env)
    raise components.ComponentError(f"mode: {mode!r} is not drift or state")
