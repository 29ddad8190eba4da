"""The state document: what dataiku-iac last applied to one environment.

The on-disk format is documented in docs/state-format.md and described by the JSON Schema in
`dataiku_iac.state.schema`. Parsing is strict: anything unexpected is a `StateCorruptError` naming
the file and the field, because silently accepting a damaged state could make the next apply
re-create or delete objects in DSS. Validation is hand-written (not jsonschema) so that a
10,000-resource state parses in well under a second and every message says exactly what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dataiku_iac import __version__
from dataiku_iac import secrets as fp
from dataiku_iac.address import KEY_RE, TYPE_RE, address_of, flat_address, project_of, syntax_problem
from dataiku_iac.errors import StateCorruptError, StateError

if TYPE_CHECKING:
    from typing_extensions import TypeGuard

# 2: the header holds `fingerprint_key`, secret fingerprints are keyed (docs/state-format.md).
# Format 1 (no key, unkeyed fingerprints) is still read; every write is format 2.
FORMAT_VERSION = 2

ORIGINS = ("created", "imported")

# Addresses (dataiku_iac/address.py) are type.PROJECT_KEY or type.PROJECT_KEY.NAME. The name may
# itself contain dots, which is why an address is always checked against its resource's
# type/project_key/name fields rather than split blindly.
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

_DOC_REQUIRED = ("format_version", "tool_version", "lineage", "serial", "environment", "resources")
_DOC_OPTIONAL = ("written_at", "operation")
_DOC_KEY = "fingerprint_key"
_RS_REQUIRED = ("address", "type", "project_key", "name", "dss_id", "attributes", "version_tag", "depends_on")
_RS_OPTIONAL = ("protect", "origin", "secret_fingerprints")


def make_address(type_: str, key: str, name: str | None = None) -> str:
    """The address of a resource (see dataiku_iac/address.py): `project.KEY`, `type.KEY.NAME`."""
    return address_of(type_, key, name)


# Why an address read from a state or a journal is not well-formed (None if it is).
address_problem = syntax_problem


def _clone(value: Any) -> Any:
    """Deep copy of JSON data; much faster than copy.deepcopy on 10k-resource states."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _same(value: Any) -> Any:
    return value


def _sorted_json(value: Any) -> Any:
    """JSON data with every object's keys sorted, so the same state always serializes the same bytes."""
    if isinstance(value, dict):
        return {k: _sorted_json(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(v) for v in value]
    return value


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class ResourceState:
    """One DSS object owned by the tool, as last applied."""

    address: str
    type: str
    project_key: str
    name: str
    dss_id: str
    attributes: dict[str, Any]
    version_tag: dict[str, Any] | None
    depends_on: list[str]
    protect: bool = False
    origin: str = "created"

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "type": self.type,
            "project_key": self.project_key,
            "name": self.name,
            "dss_id": self.dss_id,
            "origin": self.origin,
            "protect": self.protect,
            "depends_on": sorted(self.depends_on),
            "version_tag": _sorted_json(self.version_tag),
            "attributes": _sorted_json(self.attributes),
        }

    @classmethod
    def from_json(cls, data: Any, source: str, *, owned: bool = False) -> ResourceState:
        """Strictly validated; `source` names the file and location for error messages. `owned`:
        `data` was parsed for this resource alone (nothing else holds it), so it is kept, not copied."""
        problem = _resource_problem(data)
        if problem:
            raise StateCorruptError(f"{source}: {problem}")
        keep = _same if owned else _clone
        return cls(
            address=data["address"],
            type=data["type"],
            project_key=data["project_key"],
            name=data["name"],
            dss_id=data["dss_id"],
            attributes=keep(data["attributes"]),
            version_tag=keep(data["version_tag"]),
            depends_on=list(data["depends_on"]),
            protect=data.get("protect", False),
            origin=data.get("origin", "created"),
        )

    def copy(self) -> ResourceState:
        return ResourceState(
            address=self.address,
            type=self.type,
            project_key=self.project_key,
            name=self.name,
            dss_id=self.dss_id,
            attributes=_clone(self.attributes),
            version_tag=_clone(self.version_tag),
            depends_on=list(self.depends_on),
            protect=self.protect,
            origin=self.origin,
        )

    def problem(self) -> str | None:
        """Why this resource could not be stored, or None."""
        return _resource_problem(self.to_json())


def _field_problem(data: dict[str, Any], required: tuple[str, ...], optional: tuple[str, ...]) -> str | None:
    missing = [k for k in required if k not in data]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    unknown = sorted(k for k in data if k not in required and k not in optional)
    if unknown:
        return f"unknown field(s) {', '.join(unknown)}"
    return None


def _resource_problem(data: Any) -> str | None:
    if not isinstance(data, dict):
        return f"a resource must be a JSON object, got {type(data).__name__}"
    problem = _field_problem(data, _RS_REQUIRED, _RS_OPTIONAL)
    if problem:
        return problem
    for key in ("address", "type", "project_key", "name", "dss_id"):
        if not isinstance(data[key], str) or not data[key]:
            return f"{key} must be a non-empty string, got {data[key]!r}"
    problem = address_problem(data["address"])
    if problem:
        return problem
    if not TYPE_RE.match(data["type"]):
        return f"type {data['type']!r} must be lowercase letters, digits, _"
    if not KEY_RE.match(data["project_key"]):
        return f"project_key {data['project_key']!r} must be letters, digits, _"
    problem = _address_mismatch(data)
    if problem:
        return problem
    if not isinstance(data["attributes"], dict):
        return f"attributes must be an object, got {type(data['attributes']).__name__}"
    tag = data["version_tag"]
    if tag is not None and not isinstance(tag, dict):
        return f"version_tag must be an object or null, got {type(tag).__name__}"
    if isinstance(tag, dict) and "versionNumber" in tag and not _is_int(tag["versionNumber"]):
        return f"version_tag.versionNumber must be an integer, got {tag['versionNumber']!r}"
    deps = data["depends_on"]
    if not isinstance(deps, list):
        return f"depends_on must be a list, got {type(deps).__name__}"
    for dep in deps:
        dep_problem = address_problem(dep)
        if dep_problem:
            return f"depends_on: {dep_problem}"
    if len(set(deps)) != len(deps):
        return "depends_on lists an address twice"
    if data["address"] in deps:
        return "a resource cannot depend on itself"
    if not isinstance(data.get("protect", False), bool):
        return f"protect must be true or false, got {data['protect']!r}"
    if data.get("origin", "created") not in ORIGINS:
        return f"origin must be one of {', '.join(ORIGINS)}, got {data['origin']!r}"
    return _fingerprints_problem(data)


def _address_mismatch(data: dict[str, Any]) -> str | None:
    """The address must agree with the type and name: `type.KEY.NAME`, or `type.KEY` for an object
    named after its project (a project's name is its effective DSS key)."""
    parts = flat_address(data["address"]).split(".", 2)
    if parts[0] != data["type"]:
        return f"address {data['address']!r} does not match its type {data['type']!r}"
    if len(parts) == 3 and parts[2] != data["name"]:
        return f"address {data['address']!r} does not match its name {data['name']!r}"
    if len(parts) == 2 and data["name"] != data["project_key"]:
        return (
            f"address {data['address']!r} names a project-level object, but its name {data['name']!r} "
            f"is not its project_key {data['project_key']!r}"
        )
    return None


def _fingerprints_problem(data: dict[str, Any]) -> str | None:
    """Secret references must hold a fingerprint or nothing: the format check is a guard, so a
    secret value put there by mistake (or by hand) is refused, never stored or echoed."""
    for path, ref in fp.secret_refs(data["attributes"]):
        problem = fp.secret_ref_problem(path, ref)
        if problem:
            return problem
    # Written empty by format 1, never filled, no longer written; still guarded when read.
    legacy = data.get("secret_fingerprints", {})
    if not isinstance(legacy, dict):
        return f"secret_fingerprints must be an object, got {type(legacy).__name__}"
    for path, value in legacy.items():
        if not fp.looks_like_fingerprint(value):
            return f"secret_fingerprints[{path!r}] is not a fingerprint like '{fp.SCHEME}:<hex>' (value not shown)"
    return None


@dataclass
class StateDocument:
    """The whole state of one environment. `resources` is keyed by address."""

    format_version: int
    tool_version: str
    lineage: str
    serial: int
    environment: str
    resources: dict[str, ResourceState] = field(default_factory=dict)
    # Set by the writer: when this serial was written and by which operation ("apply", "rollback"…).
    written_at: str | None = None
    operation: str | None = None
    # The lineage's secret fingerprint key (secrets.py): chosen with the lineage, kept
    # by every serial. None only in a format-1 state read as stored (`history`, `state show`).
    fingerprint_key: str | None = None
    # Whether `fingerprint_key` was read from a stored state (False: chosen by this run for a
    # state not written yet, or for a format-1 state, and stored by the next write). Only a
    # stored key binds a plan's fingerprints: another run would fingerprint under another key.
    fingerprint_key_stored: bool = field(default=False, compare=False)

    @classmethod
    def new(cls, environment: str, *, lineage: str | None = None, fingerprint_key: str | None = None) -> StateDocument:
        return cls(
            format_version=FORMAT_VERSION,
            tool_version=__version__,
            lineage=lineage or str(uuid.uuid4()),
            serial=0,
            environment=environment,
            resources={},
            fingerprint_key=fingerprint_key or fp.new_key(),
        )

    @property
    def fingerprint_key_id(self) -> str:
        """The public name of this state's stored fingerprint key; "" while the key is not stored
        (every run until the first write would choose another one)."""
        return fp.key_id(self.fingerprint_key) if self.fingerprint_key_stored else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "tool_version": self.tool_version,
            "lineage": self.lineage,
            "serial": self.serial,
            "environment": self.environment,
            "written_at": self.written_at,
            "operation": self.operation,
            **({_DOC_KEY: self.fingerprint_key} if self.fingerprint_key is not None else {}),
            "resources": {addr: self.resources[addr].to_json() for addr in sorted(self.resources)},
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: Any, source: str, *, owned: bool = False) -> StateDocument:
        """Strict validation; a StateError names `source` and what is wrong. `owned`: `data` was
        parsed for this document alone (`parse_state`), so its resources' values are kept, not copied."""
        _check_header(data, source)
        resources = {}
        for key, value in data["resources"].items():
            rs = ResourceState.from_json(value, f"{source}: resources[{key!r}]", owned=owned)
            if key != rs.address:
                raise StateCorruptError(
                    f"{source}: resources[{key!r}]: stored under a key different from its address {rs.address!r}"
                )
            resources[key] = rs
        _check_identities(resources, source)
        return cls(
            format_version=data["format_version"],
            tool_version=data["tool_version"],
            lineage=data["lineage"],
            serial=data["serial"],
            environment=data["environment"],
            resources=resources,
            written_at=data.get("written_at"),
            operation=data.get("operation"),
            fingerprint_key=data.get(_DOC_KEY),
            fingerprint_key_stored=_DOC_KEY in data,
        )

    def copy(self) -> StateDocument:
        return StateDocument(
            format_version=self.format_version,
            tool_version=self.tool_version,
            lineage=self.lineage,
            serial=self.serial,
            environment=self.environment,
            resources={addr: rs.copy() for addr, rs in self.resources.items()},
            written_at=self.written_at,
            operation=self.operation,
            fingerprint_key=self.fingerprint_key,
            fingerprint_key_stored=self.fingerprint_key_stored,
        )

    def put(self, rs: ResourceState) -> None:
        problem = rs.problem()
        if problem:
            raise StateError(f"cannot record {rs.address!r} in state: {problem}")
        self.resources[rs.address] = rs

    def remove(self, address: str) -> ResourceState | None:
        """Forget a resource; returns it, or None if it was not there."""
        return self.resources.pop(address, None)

    def get(self, address: str) -> ResourceState | None:
        return self.resources.get(address)

    def __contains__(self, address: str) -> bool:
        return address in self.resources

    def content_digest(self) -> str:
        """sha256 of the resources (not of serial, lineage or timestamps): equal digests mean two
        documents record exactly the same objects. A saved plan made on top of an interrupted
        apply keeps this digest of the state it expected after reconciliation."""
        body = {addr: self.resources[addr].to_json() for addr in sorted(self.resources)}
        blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self.resources)

    def __bool__(self) -> bool:
        # `__len__` alone would make a state holding no resources (every state after a destroy)
        # falsy, and `stored or StateDocument.new(...)` would then start a new lineage over it.
        return True


def _check_header(data: Any, source: str) -> dict[str, Any]:
    """`data` itself once its header is valid."""
    if not isinstance(data, dict):
        raise StateCorruptError(f"{source}: the state must be a JSON object, got {type(data).__name__}")
    # The version comes first: a newer format may legitimately have fields we do not know.
    version = data.get("format_version")
    if _is_int(version) and version > FORMAT_VERSION:
        raise StateError(
            f"{source}: state format_version {version} was written by a newer dataiku-iac "
            f"(this is {__version__}, which reads format {FORMAT_VERSION}); upgrade dataiku-iac"
        )
    problem = _field_problem(data, _DOC_REQUIRED, (*_DOC_OPTIONAL, _DOC_KEY))
    if problem:
        raise StateCorruptError(f"{source}: {problem}")
    if not _is_int(version) or version < 1:
        raise StateCorruptError(f"{source}: format_version must be a positive integer, got {version!r}")
    if not isinstance(data["lineage"], str) or not _UUID_RE.match(data["lineage"]):
        raise StateCorruptError(f"{source}: lineage must be a lowercase UUID, got {data['lineage']!r}")
    if not _is_int(data["serial"]) or data["serial"] < 0:
        raise StateCorruptError(f"{source}: serial must be a non-negative integer, got {data['serial']!r}")
    for key in ("tool_version", "environment"):
        if not isinstance(data[key], str) or not data[key]:
            raise StateCorruptError(f"{source}: {key} must be a non-empty string, got {data[key]!r}")
    for key in _DOC_OPTIONAL:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise StateCorruptError(f"{source}: {key} must be a string or null, got {data[key]!r}")
    if not isinstance(data["resources"], dict):
        raise StateCorruptError(f"{source}: resources must be an object keyed by address")
    _check_key(data, version, source)
    return data


def _check_key(data: dict[str, Any], version: int, source: str) -> None:
    """Format 2 always holds its lineage's fingerprint key; format 1 never had one."""
    if _DOC_KEY not in data:
        if version >= 2:
            raise StateCorruptError(f"{source}: missing field(s) {_DOC_KEY} (the lineage's secret fingerprint key)")
        return
    problem = fp.key_problem(data[_DOC_KEY])
    if problem:
        raise StateCorruptError(f"{source}: {problem}")


def _check_identities(resources: dict[str, ResourceState], source: str) -> None:
    """Cross-resource invariants: one config key maps to one DSS project key, and no DSS object is
    owned twice (two entries for one object would mean two deletes, or a delete of a live object)."""
    effective: dict[str, tuple[str, str]] = {}
    owners: dict[tuple[str, str, str], str] = {}
    for address, rs in resources.items():
        key = project_of(address)
        known = effective.setdefault(key, (rs.project_key, address))
        if known[0] != rs.project_key:
            raise StateCorruptError(
                f"{source}: resources[{address!r}] has project_key {rs.project_key!r} but "
                f"{known[1]!r} maps the same project to {known[0]!r}"
            )
        identity = (rs.type, rs.project_key, rs.dss_id)
        other = owners.setdefault(identity, address)
        if other != address:
            raise StateCorruptError(
                f"{source}: resources[{address!r}] and resources[{other!r}] are the same DSS object "
                f"({rs.type} {rs.dss_id!r} in project {rs.project_key}); an object is recorded once"
            )


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)  # in C; a key given twice makes the dict shorter than the pairs
    if len(made) == len(pairs):
        return made
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


def load_json_strict(raw: bytes, source: str) -> Any:
    """Parse bytes as JSON, refusing empty input, bad UTF-8 and duplicate keys (json keeps the last)."""
    if not raw.strip():
        raise StateCorruptError(f"{source}: the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StateCorruptError(f"{source}: not valid UTF-8 at byte {exc.start}") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except _DuplicateKey as exc:
        raise StateCorruptError(f"{source}: key {exc.args[0]!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or _ends_open(text)
        what = "truncated (the JSON ends early)" if truncated else "invalid JSON"
        raise StateCorruptError(f"{source}: {what}: {exc.msg} at line {exc.lineno} column {exc.colno}") from None


def _ends_open(text: str) -> bool:
    """True if `text` stops inside a string or with unclosed brackets: the mark of a cut-off write.
    Only run on the error path, so a plain character loop is fine."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return in_string or depth > 0


def peek_header(raw: bytes, source: str) -> dict[str, Any]:

    """The parsed JSON with only its header validated: cheap enough to list a long history.
    Resources are validated when a serial is actually read (`parse_state`)."""
    return _check_header(load_json_strict(raw, source), source)



def parse_state(raw: bytes, source: str) -> StateDocument:
    """Bytes of a state file -> validated document. Every failure is a StateError naming `source`."""
    return StateDocument.from_json(load_json_strict(raw, source), source, owned=True)
