"""Secret variables and their fingerprints, between the configuration, DSS, plans and the state.

The builder leaves `{secret_env: NAME}` in a project's attributes and the value in
`Resource.secrets`. Once the state is read, its key is known (state/fingerprints.py) and:

- `fingerprint_desired` adds each value's fingerprint to the reference, which is what a plan
  shows and the state records (never the value);
- the observation replaces each live value by the same kind of reference (engine/observe.py);
- `migrate_legacy` translates the unkeyed fingerprints older versions recorded, and
  `settle_unknown` fills in, at apply, those it could not;
- `stale_secrets` tells which secrets changed since a saved plan fingerprinted them.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Optional

from dataiku_iac.model import DesiredState
from dataiku_iac.planner.plan import Action, Plan
from dataiku_iac.state import StateDocument
from dataiku_iac.state.fingerprints import Fingerprinter, is_legacy, secret_refs


def fingerprinter_of(state: StateDocument) -> Fingerprinter:
    """The fingerprinter of `state`'s key (`StateReader.read` always gives a document one)."""
    if state.fingerprint_key is None:
        raise ValueError("this state document has no fingerprint key")  # a format-1 document read as stored
    return Fingerprinter(state.fingerprint_key)


def fingerprint_desired(desired: DesiredState, fingerprinter: Fingerprinter) -> DesiredState:
    """A copy of `desired` whose secret references carry the fingerprint of their value."""
    projects = [r for r in desired.resources.values() if r.secrets]
    fingerprinter.precompute(value for r in projects for value in r.secrets.values())
    keyed = dataclasses.replace(desired, resources=dict(desired.resources))
    for resource in projects:
        attributes = copy.deepcopy(resource.attributes)
        for path, ref in secret_refs(attributes):
            if path in resource.secrets:
                ref["fingerprint"] = fingerprinter(resource.secrets[path])
        keyed.resources[resource.address] = dataclasses.replace(resource, attributes=attributes)
    return keyed


def assume_recorded(desired: DesiredState, state: StateDocument) -> tuple[DesiredState, list[str]]:
    """For drift, which may run without the secrets' values: a reference left without its
    fingerprint (its value is not set here) takes the fingerprint the state recorded, so its
    pending change is unknown and counted as none (a variable the state never recorded stays a
    change). Returns (desired, the addresses.paths assumed), `desired` itself when none."""
    assumed: list[str] = []
    keyed = dataclasses.replace(desired, resources=dict(desired.resources))
    for resource in desired.by_type("project"):
        todo = [path for path, ref in secret_refs(resource.attributes) if "fingerprint" not in ref]
        if not todo:
            continue
        entry = state.resources.get(resource.address)
        recorded = dict(secret_refs(entry.attributes)) if entry is not None else {}
        attributes = copy.deepcopy(resource.attributes)
        for path in todo:
            fingerprint = recorded.get(path, {}).get("fingerprint")
            _ref_at(attributes, path)["fingerprint"] = fingerprint or _UNKNOWN
            assumed.append(f"{resource.address}: {path}")
        keyed.resources[resource.address] = dataclasses.replace(resource, attributes=attributes)
    return (keyed if assumed else desired), assumed


# Never a real fingerprint: a variable the state did not record is a change.
_UNKNOWN = "unknown (the value is not set where dataiku-iac runs)"


def migrate_legacy(state: StateDocument, fingerprinter: Fingerprinter) -> tuple[StateDocument, int, int]:
    """`state` with the unkeyed fingerprints of older versions translated to its key.

    A legacy fingerprint is translated when this process fingerprinted the value behind it (the
    environment's or DSS's); otherwise the reference keeps no fingerprint: the recorded value is
    unknown, which drift does not compare and the next apply records (`settle_unknown`).
    Returns (state, translated, unknown); the same object when there was nothing to migrate.
    """
    legacy = [(a, p) for a, e in state.resources.items() if e.type == "project"
              for p, ref in secret_refs(e.attributes) if is_legacy(ref.get("fingerprint"))]
    if not legacy:
        return state, 0, 0
    migrated = state.copy()
    translated = unknown = 0
    for address, path in legacy:
        ref = _ref_at(migrated.resources[address].attributes, path)
        keyed = fingerprinter.translate(ref["fingerprint"])
        if keyed is None:
            del ref["fingerprint"]
            unknown += 1
        else:
            ref["fingerprint"] = keyed
            translated += 1
    return migrated, translated, unknown


def migration_note(translated: int, unknown: int) -> Optional[str]:
    if not translated and not unknown:
        return None
    what = f"{translated + unknown} secret fingerprint(s) of an older dataiku-iac (unkeyed, guessable offline)"
    lost = f"; {unknown} of them match no value at hand and are unknown until the next apply" if unknown else ""
    return f"the state holds {what}: re-keyed in memory{lost}; the next apply records them under this state's key"


def settle_unknown(state: StateDocument, plan: Plan, desired: DesiredState) -> tuple[StateDocument, int]:
    """Recorded secrets whose fingerprint is unknown take the configuration's where the plan
    found the project in sync (a no-op): that is the value DSS holds. (A project the apply
    writes is recorded anew anyway.) Returns (state, how many), the same object if none."""
    todo = []
    for change in plan.changes:
        entry = state.resources.get(change.address)
        declared = desired.get(change.address)
        if change.action != Action.NOOP or entry is None or declared is None or entry.type != "project":
            continue
        configured = dict(secret_refs(declared.attributes))
        for path, ref in secret_refs(entry.attributes):
            if "fingerprint" not in ref and "fingerprint" in configured.get(path, {}):
                todo.append((change.address, path, configured[path]["fingerprint"]))
    if not todo:
        return state, 0
    settled = state.copy()
    for address, path, fingerprint in todo:
        _ref_at(settled.resources[address].attributes, path)["fingerprint"] = fingerprint
    return settled, len(todo)


def stale_secrets(plan: Plan, desired: DesiredState, key_id: str) -> list[str]:
    """The secrets whose value changed since `plan` fingerprinted them, as messages naming the
    variable and its environment variable (never a value). Empty when the plan was made under
    another key than `key_id`: its fingerprints cannot be compared (docs/security.md)."""
    if not plan.fingerprint_key_id or plan.fingerprint_key_id != key_id:
        return []
    changed = []
    for change in plan.changes:
        declared = desired.get(change.address)
        if declared is None or not change.after:
            continue
        now = dict(secret_refs(declared.attributes))
        for path, planned in secret_refs(change.after):
            current = now.get(path)
            if current is not None and planned.get("fingerprint") != current.get("fingerprint"):
                changed.append(f"{change.address} {path} (from ${planned.get('secret_env')})")
    return changed


def _ref_at(attributes: dict, path: str) -> Any:
    _variables, section, name = path.split(".", 2)
    return attributes["variables"][section][name]
