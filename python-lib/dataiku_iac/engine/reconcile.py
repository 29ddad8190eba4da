"""Reconciling an interrupted apply against live DSS.

After a crash, the journal holds intents with no outcome: calls whose effect is unknown.
Their outcomes are looked up in DSS rather than guessed:
- a create whose object exists is adopted (recorded in state with the planned record), so
  the next plan updates it instead of creating a duplicate;
- a delete whose object is gone is removed from state;
- anything else needs nothing: the next plan recomputes it from what DSS holds.
Objects with server-assigned ids (managed folders) are found by name; if several share
it, the tool refuses to guess. A scenario is found by its name under an id the create may have
given it (the configured one, or the one DSS derives from the name when it ignores it). An
object the state records for another address is never adopted (DSS may give a scenario the id
another one is configured with). A create DSS refused is closed in the journal as failed, so it
is never looked up here.
"""

from __future__ import annotations

from typing import Any

from dataiku_iac.errors import StateError
from dataiku_iac.planner.observed import Observation
from dataiku_iac.resources.registry import handler_for
from dataiku_iac.state import ResourceState, StateDocument


def adopt_pending(doc: StateDocument, pending: list[dict], observation: Observation) -> tuple[StateDocument, list[str]]:
    """Resolve pending intents against an observation. Returns the new doc and notes."""
    result = doc.copy()
    notes: list[str] = []
    for intent in pending:
        action, address = intent.get("action"), intent["address"]
        planned = intent.get("resource")
        if action == "create" and planned is not None:
            record = ResourceState.from_json(planned, f"journal intent {intent.get('seq')}")
            live = _find_unique(observation, record, result)
            if live is not None:
                record.dss_id = live.dss_id
                record.version_tag = None  # unknown: the next observation reads it in full
                result.put(record)
                notes.append(f"{address}: created by the interrupted apply; adopted")
            else:
                notes.append(f"{address}: the interrupted create did not reach DSS")
        elif action == "delete":
            entry = result.get(address)
            if entry is not None and _find_by_id(observation, entry) is None:
                result.remove(address)
                notes.append(f"{address}: deleted by the interrupted apply; removed from state")
    return result, notes


def _find_unique(observation: Observation, record: ResourceState, doc: StateDocument) -> Any:
    project = observation.project(record.project_key)
    if project is None or not project.exists:
        return None
    if record.type == "project":
        return project.project
    others = {
        e.dss_id for e in doc.resources.values()
        if e.type == record.type and e.project_key == record.project_key and e.address != record.address
    }
    matches = [o for o in project.objects.get(record.type, []) if _created_by(record, o) and o.dss_id not in others]
    if len(matches) > 1:
        raise StateError(
            f"cannot reconcile {record.address}: {len(matches)} {record.type} objects named {record.name!r} "
            f"exist in project {record.project_key}; delete the duplicates in DSS, then run apply again"
        )
    return matches[0] if matches else None


def _created_by(record: ResourceState, live: Any) -> bool:
    """Whether `live` may be the object the interrupted create of `record` made."""
    return bool(handler_for(record.type).may_have_created(record.name, record.attributes, live))


def _find_by_id(observation: Observation, entry: ResourceState) -> Any:
    if entry.type == "project":
        project = observation.project(entry.project_key)
        return project.project if project is not None and project.exists else None
    return observation.find(entry.type, entry.project_key, dss_id=entry.dss_id, name=entry.name)
