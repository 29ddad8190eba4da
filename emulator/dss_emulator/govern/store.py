"""The state of the emulated Govern node: users and API keys, blueprints, artifacts, sign-offs,
the audit log and each artifact's timeline; optionally persisted to ``<data-dir>/govern.json``.

One re-entrant lock guards every read-modify-write (route handlers run under it). The whole
document is small (change requests, not data), so it is rewritten as one file after each change.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

DEFAULT_GOVERN_ADMIN_KEY = "govern-admin-key"

# The blueprint the emulator seeds for dataiku-iac's change requests (docs/emulator.md, "Govern").
CHANGE_REQUEST_BLUEPRINT = "bp.dataiku_iac.change_request"
CHANGE_REQUEST_VERSION = "bv.v1"
APPROVERS_GROUP = "iac_approvers"
SUBMITTERS_GROUP = "iac_submitters"

# Field ids of the seeded blueprint version: what a change request records.
CHANGE_REQUEST_FIELDS = {
    "plan_digest": ("TEXT", "Plan digest", "sha256 of the saved plan file (its `digest`)"),
    "environment": ("TEXT", "Environment", "the dataiku-iac environment the plan is for"),
    "projects": ("TEXT", "Projects", "DSS project keys the plan touches"),
    "summary": ("TEXT", "Summary", "+added ~changed -destroyed"),
    "plan_markdown": ("TEXT", "Plan", "the plan as a review document (Markdown)"),
    "state_lineage": ("TEXT", "State lineage", ""),
    "state_serial": ("NUMBER", "State serial", "the state serial the plan was made against"),
    "git_commit": ("TEXT", "Git commit", ""),
    "ci_url": ("TEXT", "CI run", ""),
    "requested_by": ("TEXT", "Requested by", "the Govern identity that submitted the plan"),
    "apply_status": ("CATEGORY", "Apply status", "PENDING, IN_PROGRESS, APPLIED, FAILED"),
    "applied_by": ("TEXT", "Applied by", ""),
    "applied_at": ("TEXT", "Applied at", "ISO 8601, UTC"),
    "state_serial_after": ("NUMBER", "State serial after apply", ""),
    "apply_result": ("TEXT", "Apply result", "resources changed, failed, skipped"),
}
CHANGE_REQUEST_STEPS = (("request", "Request"), ("review", "Review"), ("apply", "Apply"), ("done", "Done"))


def now_ms() -> int:
    return int(time.time() * 1000)


def _field_definitions() -> Dict[str, Any]:
    return {
        field_id: {"fieldType": kind, "label": label, "description": description, "required": False, "sourceType": "STORE"}
        for field_id, (kind, label, description) in CHANGE_REQUEST_FIELDS.items()
    }


def change_request_version() -> Dict[str, Any]:
    """The seeded blueprint version of dataiku-iac change requests: its fields, four workflow
    steps, and one sign-off, on `review`, whose final approval the group iac_approvers gives."""
    return {
        "id": {"blueprintId": CHANGE_REQUEST_BLUEPRINT, "versionId": CHANGE_REQUEST_VERSION},
        "name": "v1",
        "instructions": "",
        "fieldDefinitions": _field_definitions(),
        "workflowDefinition": {
            "stepDefinitions": [{"id": sid, "name": name, "description": ""} for sid, name in CHANGE_REQUEST_STEPS]
        },
        "uiDefinition": {"uiStepDefinitions": {sid: {"viewId": ""} for sid, _ in CHANGE_REQUEST_STEPS}},
        "signoffConfigurations": {
            "review": {
                "stepId": "review",
                "feedbackGroups": [
                    {"groupId": "reviewers", "name": "Reviewers", "users": [], "groups": [APPROVERS_GROUP], "required": False}
                ],
                "approval": {"users": [], "groups": [APPROVERS_GROUP]},
                "recurrenceConfiguration": {},
            }
        },
    }


def default_govern_seed(admin_key: str = DEFAULT_GOVERN_ADMIN_KEY) -> Dict[str, Any]:
    """Users: an admin, two people who may both submit and approve (alice, bob: the self-approval
    guard is the client's job, Govern lets an eligible approver approve their own request) and a
    reader (carol). One API key each."""
    return {
        "groups": [
            {"name": "administrators", "admin": True},
            {"name": SUBMITTERS_GROUP},
            {"name": APPROVERS_GROUP},
            {"name": "readers"},
        ],
        "users": [
            {"login": "admin", "displayName": "Govern administrator", "groups": ["administrators"]},
            {"login": "alice", "displayName": "Alice", "groups": [SUBMITTERS_GROUP, APPROVERS_GROUP]},
            {"login": "bob", "displayName": "Bob", "groups": [SUBMITTERS_GROUP, APPROVERS_GROUP]},
            {"login": "carol", "displayName": "Carol", "groups": ["readers"]},
        ],
        "api_keys": [
            {"key": admin_key, "login": "admin"},
            {"key": "govern-alice-key", "login": "alice"},
            {"key": "govern-bob-key", "login": "bob"},
            {"key": "govern-carol-key", "login": "carol"},
        ],
        "blueprints": [
            {
                "blueprint": {"id": CHANGE_REQUEST_BLUEPRINT, "name": "IaC change request", "icon": "fas fa-code-branch",
                              "color": "#3b7bd4", "backgroundColor": "#ffffff"},
                "versions": [{"version": change_request_version(), "status": "ACTIVE", "originVersionId": None}],
                "writers": [SUBMITTERS_GROUP, APPROVERS_GROUP],
            }
        ],
    }


class GovernStore:
    """Everything the Govern emulator holds; mutate only under ``lock``."""

    def __init__(self, data_dir: Optional[Path], seed: Dict[str, Any]) -> None:
        self.lock = threading.RLock()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self._seed = copy.deepcopy(seed)
        self._from_seed()
        if self.data_dir is not None and self._file.is_file():  # a restart: what was saved, not the seed
            self._load(json.loads(self._file.read_text(encoding="utf-8")))

    @property
    def _file(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "govern.json"

    def reset(self) -> None:
        """Back to the seed: no artifact, no file, empty audit log (saved)."""
        with self.lock:
            self._from_seed()
            self.save()

    def _from_seed(self) -> None:
        with self.lock:
            seed = copy.deepcopy(self._seed)
            self.groups: Dict[str, Dict[str, Any]] = {g["name"]: g for g in seed.get("groups", [])}
            self.users: Dict[str, Dict[str, Any]] = {u["login"]: u for u in seed.get("users", [])}
            self.api_keys: Dict[str, Dict[str, Any]] = {k["key"]: k for k in seed.get("api_keys", [])}
            self.blueprints: Dict[str, Dict[str, Any]] = {b["blueprint"]["id"]: b for b in seed.get("blueprints", [])}
            self.artifacts: Dict[str, Dict[str, Any]] = {}
            self.signoffs: Dict[str, Dict[str, Dict[str, Any]]] = {}  # artifact id -> step id -> sign-off
            self.timelines: Dict[str, List[Dict[str, Any]]] = {}
            self.audit: List[Dict[str, Any]] = []
            self.counter = 0

    def seed(self, body: Dict[str, Any]) -> None:
        """Add groups, users and API keys (and blueprints) to the running node."""
        with self.lock:
            for group in body.get("groups", []):
                self.groups[group["name"]] = group
            for user in body.get("users", []):
                self.users[user["login"]] = user
            for key in body.get("api_keys", []):
                self.api_keys[key["key"]] = key
            for blueprint in body.get("blueprints", []):
                self.blueprints[blueprint["blueprint"]["id"]] = blueprint
            self.save()

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}.{self.counter}"

    # ---------------------------------------------------------------- persistence

    def save(self) -> None:
        if self.data_dir is None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        doc = {
            "groups": self.groups, "users": self.users, "api_keys": self.api_keys, "blueprints": self.blueprints,
            "artifacts": self.artifacts, "signoffs": self.signoffs, "timelines": self.timelines,
            "audit": self.audit, "counter": self.counter,
        }
        tmp = self._file.with_name("govern.json.tmp")
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, self._file)

    def _load(self, doc: Dict[str, Any]) -> None:
        self.groups = doc["groups"]
        self.users = doc["users"]
        self.api_keys = doc["api_keys"]
        self.blueprints = doc["blueprints"]
        self.artifacts = doc["artifacts"]
        self.signoffs = doc["signoffs"]
        self.timelines = doc["timelines"]
        self.audit = doc["audit"]
        self.counter = int(doc["counter"])
