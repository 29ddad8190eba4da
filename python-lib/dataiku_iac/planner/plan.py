"""Inert plan records.

A `Plan` is data: it describes changes and performs none. The executor interprets it;
the renderers print it; `plan --out` serializes it. A plan is bound to the state it was
computed against (lineage + serial) and to a digest of the desired configuration, so a
saved plan applied after either changed is refused as stale.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Collection, Optional

from dataiku_iac.address import project_address_of
from dataiku_iac.resources.policy import Impact

PLAN_FORMAT_VERSION = 1
REDACTED = "(sensitive value)"


class Action(str, Enum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"  # delete then create: DSS names are unique, so never create-before-delete
    DELETE = "delete"
    FORGET = "forget"  # in state, gone from DSS and config: drop from state, no DSS call
    # A refresh-only plan's change: the state records DSS's values for the object; DSS is not
    # touched (Terraform's `-refresh-only`). Only in plans made with PlanOptions.refresh_only.
    REFRESH = "refresh"

    def terraform_actions(self) -> list[str]:
        """The action list in Terraform's JSON plan vocabulary."""
        return {
            Action.NOOP: ["no-op"],
            Action.CREATE: ["create"],
            Action.UPDATE: ["update"],
            Action.REPLACE: ["delete", "create"],
            Action.DELETE: ["delete"],
            Action.FORGET: ["forget"],
            Action.REFRESH: ["no-op"],  # nothing happens to the DSS object: only the state changes
        }[self]



@dataclass(frozen=True)
class FieldChange:
    """One attribute that differs between DSS (before) and the config (after)."""

    name: str
    before: Any
    after: Any
    sensitive: bool = False
    forces_replacement: bool = False

    def to_json(self) -> dict[str, Any]:
        hide = self.sensitive
        return {
            "name": self.name,
            "before": REDACTED if hide else self.before,
            "after": REDACTED if hide else self.after,
            "sensitive": self.sensitive,
            "forces_replacement": self.forces_replacement,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FieldChange:
        return cls(
            name=data["name"],
            before=data["before"],
            after=data["after"],
            sensitive=data.get("sensitive", False),
            forces_replacement=data.get("forces_replacement", False),
        )


@dataclass(frozen=True)
class Downstream:
    """An object below a breaking change in the Flow: `address` `relation` `via` ("recipe.P.r reads
    dataset.P.d", "dataset.P.o is written by recipe.P.r", "scenario.P.s builds dataset.P.o")."""

    address: str
    relation: str
    via: str
    depth: int  # 1: next to the changed object; more: further down the Flow
    managed: bool = True  # False: an object dataiku-iac does not manage (seen in DSS)
    columns: tuple[str, ...] = ()  # the changed columns a recipe names (its settings show it uses them)

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "relation": self.relation, "via": self.via, "depth": self.depth,
                "managed": self.managed, "columns": list(self.columns)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Downstream:
        return cls(address=data["address"], relation=data["relation"], via=data["via"], depth=int(data["depth"]),
                   managed=bool(data.get("managed", True)), columns=tuple(data.get("columns", ())))


@dataclass(frozen=True)
class ChangeImpact:
    """How a planned change is classified (planner/impact.py, docs/impact-analysis.md)."""

    category: Impact
    reasons: tuple[str, ...] = ()
    downstream: tuple[Downstream, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"category": self.category.value, "reasons": list(self.reasons),
                "downstream": [d.to_json() for d in self.downstream]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChangeImpact:
        return cls(category=Impact(data["category"]), reasons=tuple(data.get("reasons", ())),
                   downstream=tuple(Downstream.from_json(d) for d in data.get("downstream", ())))


@dataclass(frozen=True)
class ResourceChange:
    """What the plan does to one resource, and why."""

    address: str
    type: str
    project_key: str
    name: str
    action: Action
    reason: str
    before: Optional[dict[str, Any]] = None  # observed logical attributes (None: does not exist)
    after: Optional[dict[str, Any]] = None  # desired logical attributes (None: to be deleted)
    field_changes: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()
    dss_id: Optional[str] = None  # known DSS identity (server-assigned ids come from state)
    sensitive_fields: tuple[str, ...] = ()
    # An `import:` entry of the config adopts this existing object: the apply records it in the
    # state (origin "imported"), writing to DSS only if it differs from the config (an update).
    importing: bool = False
    # The impact analysis of the change (None: a no-op, or a plan saved before impact analysis).
    impact: Optional[ChangeImpact] = None

    def to_json(self) -> dict[str, Any]:
        body = self._to_json()
        secrets = sorted(set(_secret_paths(self.before)) | set(_secret_paths(self.after)))
        if secrets:  # only then: plans without secrets keep their exact shape
            body["sensitive_values"] = secrets
        if self.importing:  # likewise
            body["importing"] = True
        if self.impact is not None:
            body["impact"] = self.impact.to_json()
        return body

    def _to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "project_key": self.project_key,
            "name": self.name,
            "dss_id": self.dss_id,
            "action": self.action.value,
            "reason": self.reason,
            "change": {
                "actions": self.action.terraform_actions(),
                "before": _redact(self.before, self.sensitive_fields),
                "after": _redact(self.after, self.sensitive_fields),
                "fields": [c.to_json() for c in self.field_changes],
            },
            "depends_on": list(self.depends_on),
            "sensitive_fields": list(self.sensitive_fields),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceChange:
        change = data["change"]
        return cls(
            address=data["address"],
            type=data["type"],
            project_key=data["project_key"],
            name=data["name"],
            action=Action(data["action"]),
            reason=data["reason"],
            before=change["before"],
            after=change["after"],
            field_changes=tuple(FieldChange.from_json(c) for c in change["fields"]),
            depends_on=tuple(data.get("depends_on", ())),
            dss_id=data.get("dss_id"),
            sensitive_fields=tuple(data.get("sensitive_fields", ())),
            importing=bool(data.get("importing", False)),
            impact=ChangeImpact.from_json(data["impact"]) if "impact" in data else None,
        )


def _secret_paths(value: Any, prefix: str = "") -> list[str]:
    """Dotted paths of the secret references (`{secret_env: …}`) in `value`: what a JSON reader
    must treat as sensitive (the plan holds a reference and a fingerprint, never the value)."""
    if not isinstance(value, dict):
        return []
    if "secret_env" in value and prefix:
        return [prefix]
    return [p for key, item in value.items() for p in _secret_paths(item, f"{prefix}.{key}" if prefix else str(key))]


# A sensitive value this short is hidden only where it is the whole value: inside a longer string
# it would hide every value that happens to contain it ("ab" in "table").
_SHORTEST_HIDDEN_INSIDE = 6


def holds_sensitive(value: Any, sensitive: Collection[str]) -> bool:
    """Whether `value` holds one of the `sensitive` values (a module's sensitive inputs,
    DesiredState.sensitive_values): as a whole, inside a string, or in a list or mapping."""
    if not sensitive:
        return False
    if isinstance(value, str):
        return any(s == value or (len(s) >= _SHORTEST_HIDDEN_INSIDE and s in value) for s in sensitive)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, (int, float)):
        return json.dumps(value) in sensitive
    if isinstance(value, dict):
        return any(holds_sensitive(k, sensitive) or holds_sensitive(v, sensitive) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(holds_sensitive(v, sensitive) for v in value)
    return False


def _redact(attributes: Optional[dict[str, Any]], sensitive: tuple[str, ...]) -> Optional[dict[str, Any]]:
    if attributes is None:
        return None
    return {k: (REDACTED if k in sensitive else v) for k, v in attributes.items()}


@dataclass(frozen=True)
class PlanOptions:
    targets: tuple[str, ...] = ()
    destroy: bool = False
    drop_data: bool = False
    allow_destroy: bool = False  # overrides an environment's `allow_destroy: false` policy
    # Addresses whose delete is allowed although their project is not marked as managed by this
    # state (`--force-delete`); a project's address covers every delete in that project.
    force_delete: tuple[str, ...] = ()
    # `--exclude` (Terraform 1.12's `-exclude`): these resources and what depends on them are left
    # out (with `destroy`: and what they depend on, which deleting would break them).
    excludes: tuple[str, ...] = ()
    # `--replace` (Terraform's `-replace`): delete and create these although nothing forces it.
    replace: tuple[str, ...] = ()
    # `--refresh-only`: the plan records DSS's values in the state and changes nothing in DSS.
    refresh_only: bool = False
    # `--train`: the saved models in scope are retrained (an update of each, trainable types only).
    train: bool = False

    def forces_delete(self, address: str) -> bool:
        """Whether `--force-delete` names `address` or the project it is in."""
        return address in self.force_delete or project_address_of(address) in self.force_delete

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"targets": list(self.targets), "destroy": self.destroy, "drop_data": self.drop_data}
        if self.allow_destroy:  # only when set: plans of environments without the policy are unchanged
            body["allow_destroy"] = True
        if self.force_delete:  # likewise
            body["force_delete"] = list(self.force_delete)
        if self.excludes:  # likewise
            body["excludes"] = list(self.excludes)
        if self.replace:  # likewise
            body["replace"] = list(self.replace)
        if self.refresh_only:  # likewise
            body["refresh_only"] = True
        if self.train:  # likewise
            body["train"] = True
        return body

    @classmethod
    def from_json(cls, options: dict[str, Any]) -> PlanOptions:
        return cls(
            targets=tuple(options.get("targets", ())),
            destroy=options.get("destroy", False),
            drop_data=options.get("drop_data", False),
            allow_destroy=options.get("allow_destroy", False),
            force_delete=tuple(options.get("force_delete", ())),
            excludes=tuple(options.get("excludes", ())),
            replace=tuple(options.get("replace", ())),
            refresh_only=bool(options.get("refresh_only", False)),
            train=bool(options.get("train", False)),
        )


@dataclass(frozen=True)
class Plan:
    """A frozen, serializable plan bound to a state lineage/serial and a config digest."""

    environment: str
    lineage: str
    serial: int
    config_digest: str
    changes: tuple[ResourceChange, ...]
    options: PlanOptions = PlanOptions()
    warnings: tuple[str, ...] = ()
    tool_version: str = ""
    format_version: int = PLAN_FORMAT_VERSION
    created_at: str = ""
    source: dict[str, Any] = field(default_factory=dict)  # where the config came from (dir, git commit …)
    # Made on top of an interrupted apply: the state's content digest after its journal is
    # replayed and reconciled (what the next apply writes first), so that writing it does not
    # make the plan stale. None for a plan made on the stored state as it is.
    reconciled_digest: Optional[str] = None
    # Existing projects the apply marks as managed by this state before writing in them (their
    # metadata has no marker yet: states written before markers existed). Created projects are
    # marked as they are created, and are not listed.
    mark_projects: tuple[str, ...] = ()
    # The public id of the state key the secret fingerprints were made under: a saved plan's
    # fingerprints are compared at apply only under the same key (secrets.py).
    fingerprint_key_id: str = ""
    # The configuration's `moved:` entries this plan applies to the state: (from, to) addresses
    # of one DSS object, which keeps its state record (docs/modules.md, "Moving resources").
    moved: tuple[tuple[str, str], ...] = ()
    # Whether the changes carry their impact analysis (False: a plan saved by an older version).
    impact_analysed: bool = False

    def summary(self) -> dict[str, int]:
        add = sum(1 for c in self.changes if c.action in (Action.CREATE, Action.REPLACE))
        change = sum(1 for c in self.changes if c.action == Action.UPDATE)
        destroy = sum(1 for c in self.changes if c.action in (Action.DELETE, Action.REPLACE))
        forget = sum(1 for c in self.changes if c.action == Action.FORGET)
        counts = {"add": add, "change": change, "destroy": destroy, "forget": forget}
        refresh = sum(1 for c in self.changes if c.action == Action.REFRESH)
        if refresh:  # only then: other plans keep their exact summary
            counts["refresh"] = refresh
        imports = sum(1 for c in self.changes if c.importing)
        if imports:  # only then: plans without `import:` entries keep their exact summary
            counts["import"] = imports
        if self.moved:  # likewise for `moved:` entries
            counts["move"] = len(self.moved)
        return counts

    def actionable(self) -> list[ResourceChange]:
        """Changes that touch DSS or the state (everything but no-ops; an import is recorded in the state)."""
        return [c for c in self.changes if c.action != Action.NOOP or c.importing]

    @property
    def has_changes(self) -> bool:
        """Whether applying would change DSS or the state (a move changes the state alone)."""
        return bool(self.actionable()) or bool(self.moved)

    def impact_counts(self) -> dict[str, int]:
        """How many changes fall in each impact category."""
        counts = {impact.value: 0 for impact in Impact}
        for change in self.changes:
            if change.impact is not None:
                counts[change.impact.category.value] += 1
        return counts

    def highest_impact(self) -> Optional[Impact]:
        """The most severe category among the changes (None: no classified change)."""
        found = [c.impact.category for c in self.changes if c.impact is not None]
        return max(found, key=lambda impact: impact.rank) if found else None

    def impacted(self, at_least: Impact) -> list[ResourceChange]:
        """The changes classified `at_least` as severe (`plan --fail-on`, the Impact section)."""
        return [c for c in self.changes if c.impact is not None and c.impact.category.rank >= at_least.rank]

    def to_json(self) -> dict[str, Any]:
        body = {
            "format_version": self.format_version,
            "tool_version": self.tool_version,
            "environment": self.environment,
            "created_at": self.created_at,
            "state": self._state_json(),
            "config_digest": self.config_digest,
            "source": self.source,
            "options": self.options.to_json(),
            "summary": self.summary(),
            "warnings": list(self.warnings),
            "resource_changes": [c.to_json() for c in self.changes],
        }
        if self.mark_projects:  # only when set: other plans keep their shape
            body["mark_projects"] = list(self.mark_projects)
        if self.moved:
            body["moved"] = [{"from": old, "to": new} for old, new in self.moved]
        if self.impact_analysed:  # absent from plans saved by a version without impact analysis
            highest = self.highest_impact()
            body["impact"] = {"highest": highest.value if highest is not None else None, **self.impact_counts()}
        body["digest"] = digest_of(body)
        return body

    def _state_json(self) -> dict[str, Any]:
        state: dict[str, Any] = {"lineage": self.lineage, "serial": self.serial}
        if self.reconciled_digest is not None:  # only then: other plans keep their shape
            state["reconciled_digest"] = self.reconciled_digest
        if self.fingerprint_key_id:
            state["fingerprint_key_id"] = self.fingerprint_key_id
        return state

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(
            environment=data["environment"],
            lineage=data["state"]["lineage"],
            serial=data["state"]["serial"],
            fingerprint_key_id=data["state"].get("fingerprint_key_id", ""),
            config_digest=data["config_digest"],
            changes=tuple(ResourceChange.from_json(c) for c in data["resource_changes"]),
            options=PlanOptions.from_json(data.get("options", {})),
            warnings=tuple(data.get("warnings", ())),
            tool_version=data.get("tool_version", ""),
            format_version=data["format_version"],
            created_at=data.get("created_at", ""),
            source=data.get("source", {}),
            reconciled_digest=data["state"].get("reconciled_digest"),
            mark_projects=tuple(data.get("mark_projects", ())),
            moved=tuple((m["from"], m["to"]) for m in data.get("moved", ())),
            impact_analysed="impact" in data,
        )


def digest_of(body: dict[str, Any]) -> str:
    """A content hash of a plan body (without its own digest): a saved plan whose content no longer
    matches it was damaged or edited. Not a signature: whoever rewrites the file can recompute it."""
    payload = {k: v for k, v in body.items() if k != "digest"}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
