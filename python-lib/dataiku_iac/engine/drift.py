"""Drift detection: live DSS compared with what the tool last applied (pure).

Three kinds of drift, for every project the state manages:
- `changed`: a managed attribute differs from the value recorded at the last apply
  (compared with the same field policies as the planner, so DSS's own bookkeeping,
  defaults and key order are never reported);
- `deleted`: an object the state owns is gone from DSS;
- `unmanaged`: an object exists in a managed project that the state does not own; its project's
  `unmanaged:` policy says whether it is reported (drift), ignored (not drift, counted apart) or
  forbidden (drift that fails the check whatever `policies.drift` says).
The attribute paths a resource's `ignore_changes` names are never `changed` (the planner ignores
them the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Optional

from dataiku_iac.address import address_of, project_of
from dataiku_iac.engine.policies import drift_policy
from dataiku_iac.model import UnmanagedPolicy
from dataiku_iac.planner.observed import Observation
from dataiku_iac.planner.plan import REDACTED, holds_sensitive
from dataiku_iac.resources.policy import ignores_whole, project_observed, without_ignored
from dataiku_iac.resources.registry import handler_for, spec_for


@dataclass(frozen=True)
class DriftedField:
    name: str
    recorded: Any
    live: Any
    sensitive: bool = False

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "recorded": REDACTED if self.sensitive else self.recorded,
            "live": REDACTED if self.sensitive else self.live,
        }


@dataclass(frozen=True)
class DriftItem:
    address: str
    type: str
    project_key: str
    name: str
    kind: str  # changed | deleted | unmanaged
    fields: tuple[DriftedField, ...] = ()
    policy: str = ""  # unmanaged: its project's `unmanaged:` policy for it (report | fail)
    on_drift: str = ""  # the environment's drift policy for it: fail | alert | revert ("": not applied)

    @property
    def revertible(self) -> bool:
        """Whether an apply can undo it: an owned object changed or deleted (an apply never deletes
        what the state does not own)."""
        return self.kind in ("changed", "deleted")

    def to_json(self) -> dict:
        body = {
            "address": self.address,
            "type": self.type,
            "project_key": self.project_key,
            "name": self.name,
            "kind": self.kind,
            "fields": [f.to_json() for f in self.fields],
        }
        if self.policy:
            body["policy"] = self.policy
        if self.on_drift:
            body["on_drift"] = self.on_drift
        return body


@dataclass
class DriftReport:
    environment: str
    items: list[DriftItem] = field(default_factory=list)
    pending: Optional[dict] = None  # plan summary of config changes not yet applied ({"error"} if unplannable)
    reverts: Optional[dict] = None  # plan summary of the changes that only revert the drift
    checked: int = 0
    # secret variables whose value is not set here (file:line: message): their pending change is unknown
    unknown_secrets: list[str] = field(default_factory=list)
    # why `pending` is {"error": ...}: kept so a face acting for someone else can withhold parts
    pending_error: Optional[Exception] = field(default=None, repr=False, compare=False)
    # unmanaged objects their project's `unmanaged:` policy ignores (addresses): not drift
    ignored: list[str] = field(default_factory=list)
    # the drift a revert undid (addresses), and why a revert was refused or failed ("": it was not)
    reverted: list[str] = field(default_factory=list)
    revert_refused: str = ""

    @property
    def has_drift(self) -> bool:
        return bool(self.items)

    @property
    def forbidden(self) -> list[DriftItem]:
        """Unmanaged objects their project's policy says `fail` for: the check fails whatever
        `policies.drift` (or the plugin step's "Report only") says."""
        return [i for i in self.items if i.policy == "fail"]

    @property
    def to_revert(self) -> list[DriftItem]:
        """The drifted resources whose policy is `revert` and that an apply can undo."""
        return [i for i in self.items if i.on_drift == "revert" and i.revertible and i.address not in self.reverted]

    @property
    def failing(self) -> list[DriftItem]:
        """What fails the drift check under the environment's drift policies (`with_policies`):
        objects an `unmanaged: fail` policy forbids, resources whose policy is `fail`, and those
        whose policy is `revert` that were not reverted (no `--revert`, a refused or failed revert,
        or an unmanaged object, which no apply deletes)."""
        return [i for i in self.items
                if i.policy == "fail" or i.on_drift == "fail" or (i.on_drift == "revert" and i.address not in self.reverted)]

    @property
    def remaining(self) -> list[DriftItem]:
        """The drift not reverted."""
        return [i for i in self.items if i.address not in self.reverted]

    def counts(self) -> dict[str, int]:
        counts = {"changed": 0, "deleted": 0, "unmanaged": 0}
        for item in self.items:
            counts[item.kind] += 1
        return counts

    def to_json(self) -> dict:
        return {
            "format_version": 1,
            "environment": self.environment,
            "drift": self.has_drift,
            "checked": self.checked,
            "summary": self.counts(),
            "ignored_unmanaged": self.ignored,
            "pending_config_changes": self.pending,
            "pending_reverts": self.reverts,
            "pending_unknown_secrets": self.unknown_secrets,
            "resources": [i.to_json() for i in self.items],
            "reverted": list(self.reverted),
            "revert_refused": self.revert_refused or None,
        }


def with_policies(report: DriftReport, policies: Any) -> DriftReport:
    """`report` with each item's drift policy (engine/policies.drift_policy) set."""
    report.items = [replace(i, on_drift=drift_policy(policies, i.address)) for i in report.items]
    return report


def detect_drift(
    state: Any,
    observation: Observation,
    environment: str = "",
    *,
    ignored: Optional[Mapping[str, tuple[str, ...]]] = None,
    unmanaged: Optional[Mapping[str, UnmanagedPolicy]] = None,
    sensitive: frozenset[str] = frozenset(),
) -> DriftReport:
    """`ignored`: address -> the attribute paths its `ignore_changes` names (never drift);
    `unmanaged`: effective project key -> its `unmanaged:` policy (default: report);
    `sensitive`: the values of the modules' sensitive inputs (a field holding one is shown
    "(sensitive value)", DesiredState.sensitive_values)."""
    report = DriftReport(environment=environment, checked=len(state.resources))
    for address in sorted(state.resources):
        entry = state.resources[address]
        item = _check(entry, observation, (ignored or {}).get(address, ()), sensitive)
        if item is not None:
            report.items.append(item)
    for item in _unmanaged(state, observation):
        policy = (unmanaged or {}).get(item.project_key, UnmanagedPolicy()).of(item.type, item.name)
        if policy == "ignore":
            report.ignored.append(item.address)
        else:
            report.items.append(replace(item, policy=policy))
    return report


def _check(entry: Any, observation: Observation, ignored: tuple[str, ...] = (),
           sensitive: frozenset[str] = frozenset()) -> Optional[DriftItem]:
    live = _live(entry, observation)
    if live is None:
        return DriftItem(entry.address, entry.type, entry.project_key, entry.name, "deleted")
    policy = handler_for(entry.type).policy
    fields = _renamed(entry, live, ignored)
    for name, applied in sorted(entry.attributes.items()):
        if ignores_whole(ignored, name):
            continue
        recorded = without_ignored(ignored, name, applied)
        current = live.attributes.get(name)
        if policy.equal(name, recorded, current):
            continue
        compare = policy.get(name).compare
        live_value = project_observed(recorded, current, compare)
        hidden = policy.get(name).sensitive or holds_sensitive(recorded, sensitive) or holds_sensitive(live_value, sensitive)
        fields.append(DriftedField(name, recorded, live_value, hidden))
    if not fields:
        return None
    return DriftItem(entry.address, entry.type, entry.project_key, entry.name, "changed", tuple(fields))


def _renamed(entry: Any, live: Any, ignored: tuple[str, ...]) -> list[DriftedField]:
    """A type found by its DSS id (folders, zones) renamed in DSS: its name drifted too."""
    if spec_for(entry.type).identity.name_is_identity or live.name == entry.name or ignores_whole(ignored, "name"):
        return []
    return [DriftedField("name", entry.name, live.name)]


def _live(entry: Any, observation: Observation) -> Any:
    if entry.type == "project":
        project = observation.project(entry.project_key)
        return project.project if project is not None and project.exists else None
    return observation.find(entry.type, entry.project_key, dss_id=entry.dss_id, name=entry.name)


def _unmanaged(state: Any, observation: Observation) -> list[DriftItem]:
    managed_projects = {e.project_key: e for e in state.resources.values() if e.type == "project"}
    owned = {(e.project_key, e.type, e.dss_id) for e in state.resources.values()}
    items = []
    for key, project_entry in sorted(managed_projects.items()):
        project = observation.project(key)
        if project is None or not project.exists:
            continue
        config_key = project_of(project_entry.address)
        for obj in sorted(project.all_objects(), key=lambda o: (o.type, o.name)):
            if (key, obj.type, obj.dss_id) not in owned:
                items.append(DriftItem(address_of(obj.type, config_key, obj.name), obj.type, key, obj.name, "unmanaged"))
    return items
