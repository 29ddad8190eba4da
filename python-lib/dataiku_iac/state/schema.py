"""JSON Schemas (draft 2020-12) of the state file, a journal header and entry, and the lock blob.

They document the format for other tools (docs/state-format.md). dataiku-iac itself validates
with the hand-written checks in model.py (faster, better messages); the unit tests make sure both
accept and reject the same documents. Print with `python -m dataiku_iac.state.schema`.
"""

from __future__ import annotations

import json

_ADDRESS = {"type": "string", "pattern": r"^(module\.[A-Za-z0-9_]+(\[[A-Za-z0-9_-]+\])?\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_]+(\.\S(.*\S)?)?$"}
_NULLABLE_STRING = {"type": ["string", "null"]}

RESOURCE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["address", "type", "project_key", "name", "dss_id", "attributes", "version_tag", "depends_on"],
    "properties": {
        "address": _ADDRESS,
        "type": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
        "project_key": {"type": "string", "pattern": r"^[A-Za-z0-9_]+$"},
        "name": {"type": "string", "minLength": 1},
        "dss_id": {"type": "string", "minLength": 1},
        "origin": {"enum": ["created", "imported"], "default": "created"},
        "protect": {"type": "boolean", "default": False},
        "depends_on": {"type": "array", "items": _ADDRESS, "uniqueItems": True},
        "version_tag": {
            "type": ["object", "null"],
            "properties": {"versionNumber": {"type": "integer"}},
        },
        "attributes": {"type": "object"},
        # Format 1 wrote it, always empty; format 2 no longer writes it (fingerprints live in
        # the secret references inside `attributes`).
        "secret_fingerprints": {
            "type": "object",
            "additionalProperties": {"type": "string", "pattern": r"^[a-z0-9-]+:[0-9a-f]{16,128}$"},
            "default": {},
        },
    },
}

STATE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://dataiku-iac/schemas/state-v2.json",
    "title": "dataiku-iac state, format_version 2 (1 is still read)",
    "type": "object",
    "additionalProperties": False,
    "required": ["format_version", "tool_version", "lineage", "serial", "environment", "resources"],
    # Format 2 holds the lineage's secret fingerprint key; format 1 had none.
    "if": {"properties": {"format_version": {"const": 2}}},
    "then": {"required": ["fingerprint_key"]},
    "properties": {
        "format_version": {"enum": [1, 2]},
        "fingerprint_key": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
        "tool_version": {"type": "string", "minLength": 1},
        "lineage": {"type": "string", "pattern": r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
        "serial": {"type": "integer", "minimum": 0},
        "environment": {"type": "string", "minLength": 1},
        "written_at": _NULLABLE_STRING,
        "operation": _NULLABLE_STRING,
        "resources": {"type": "object", "additionalProperties": RESOURCE_SCHEMA},
    },
}

JOURNAL_HEADER_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dataiku-iac journal header (first line of journal.jsonl)",
    "type": "object",
    "required": ["journal", "lineage", "base_serial", "operation", "started_at"],
    "properties": {
        "journal": {"const": 1},
        "lineage": {"type": "string"},
        "base_serial": {"type": "integer", "minimum": 0},
        "operation": {"type": "string"},
        "started_at": {"type": "string"},
        # Only in the journal of a state's first apply (nothing stored yet): the key the run
        # fingerprinted with, so a recovery keeps it.
        "fingerprint_key": {"type": "string", "pattern": r"^[0-9a-f]{64}$"},
    },
}

JOURNAL_ENTRY_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dataiku-iac journal entry (every later line of journal.jsonl)",
    "type": "object",
    "required": ["seq", "kind", "address"],
    "properties": {
        "seq": {"type": "integer", "minimum": 0},
        "kind": {"enum": ["intent", "outcome"]},
        "action": {"type": "string"},
        "address": _ADDRESS,
        "time": {"type": "string"},
        "ok": {"type": "boolean"},
        "resource": {"oneOf": [RESOURCE_SCHEMA, {"type": "null"}]},
        "error": {"type": "string"},
    },
}

LOCK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "dataiku-iac state lock (lock.json)",
    "type": "object",
    "required": ["id", "operation", "who", "pid", "created", "expires", "tool_version", "backend"],
    "properties": {
        "id": {"type": "string"},
        "operation": {"type": "string"},
        "who": {"type": "string"},
        "pid": {"type": "integer"},
        "created": {"type": "string"},
        "expires": {"type": "string"},
        "tool_version": {"type": "string"},
        "backend": {"type": "string"},
    },
}

if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(STATE_SCHEMA, indent=2))
