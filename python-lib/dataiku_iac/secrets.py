"""Secret variables: where their values come from, and how a value is recorded without being
recorded (its fingerprint), between the configuration, DSS, plans and the state. The one module
for both (docs/security.md, "Secret fingerprints"); it sits below the engine and the state,
which both use it, and imports neither.

**Sources.** A project variable `{secret_env: NAME}` takes its value from a `SecretSource`
given to the engine. The engine never decides on its own where a secret lives: the CLI gives
it the process environment of the person running it (`EnvironmentSecrets`); the DSS plugin
gives it the calling user's DSS user secrets (`dataiku_iac.dss.user_secrets`), never the
DSS-side process environment, which belongs to DSS, a webapp backend or a code env and may
hold their keys. A source answers two questions: the value of a name (None when it has none)
and how to tell the user that a name is missing (where it was looked for and how to set it).
Sources never put a value in a message or a repr.

**Fingerprints.** A secret value is written to DSS but never to a plan, a log or the state.
Plans and the state carry a *fingerprint* instead, so that a rotated secret is a change and an
overwritten one is drift. A fingerprint that anyone can recompute from a guess would let a word
list recover a weak secret from `plan --json`, so it is:

    "scrypt-v1:" + hex(scrypt(password=UTF-8 value,
                              salt="dataiku-iac/secret-fingerprint/v2" NUL + key,
                              N=2**14, r=8, p=1, dkLen=16))

where `key` is 32 random bytes chosen when the state's lineage starts and kept in the state
(`fingerprint_key`): without the state, a fingerprint cannot be checked against any guess; with
it, every guess costs one scrypt (about 50 ms and 16 MiB on one core). The same value under the
same key always gives the same fingerprint (that is what makes change detection work), so a
process computes each (key, value) once (`Fingerprinter`).

Versions before the key existed wrote `hmac-sha256:<32 hex>` under a key published in the
source. Those *legacy* fingerprints are recognised and translated (`Fingerprinter.translate`)
from values this process fingerprinted anyway (the environment's and DSS's), never guessed.

**Along the pipeline.** The builder leaves `{secret_env: NAME}` in a project's attributes and
the value in `Resource.secrets`. Once the state is read, its key is known and:

- `fingerprint_desired` adds each value's fingerprint to the reference, which is what a plan
  shows and the state records (never the value);
- the observation replaces each live value by the same kind of reference (engine/observe.py);
- `migrate_legacy` translates the unkeyed fingerprints older versions recorded, and
  `settle_unknown` fills in, at apply, those it could not;
- `stale_secrets` tells which secrets changed since a saved plan fingerprinted them;
- `forget_fingerprints` drops those a pushed state made under another state's key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import hmac
import os
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator, Mapping, Optional, Protocol, TypeVar, Union, runtime_checkable

from dataiku_iac.errors import remember_secret
from dataiku_iac.model import DesiredState
from dataiku_iac.planner.plan import Action, Plan


class _State(Protocol):
    """What these functions read of a state document (state/model.py's `StateDocument`, which
    imports this module: naming it here would make a cycle)."""

    fingerprint_key: Optional[str]

    @property
    def resources(self) -> Mapping[str, Any]: ...

    def copy(self: S) -> S: ...


S = TypeVar("S", bound=_State)


# -- sources -----------------------------------------------------------------------------------


@runtime_checkable
class SecretSource(Protocol):
    def get(self, name: str) -> Optional[str]:
        """The secret's value, or None when this source has no secret of that name."""

    def missing(self, name: str) -> str:
        """What to say when `name` is missing: "<where it was looked for>, which is not set…"."""


class EnvironmentSecrets:
    """Secrets from environment variables (the CLI's process environment, or a test's mapping)."""

    def __init__(self, environ: Mapping[str, str]):
        self._environ = environ

    def get(self, name: str) -> Optional[str]:
        value = self._environ.get(name)
        remember_secret(value)  # never in a message, should DSS repeat it (errors.remember_secret)
        return value

    def missing(self, name: str) -> str:
        return f"environment variable {name!r}, which is not set"

    def __repr__(self) -> str:
        return "EnvironmentSecrets(<values hidden>)"


class KnownValuesFirst:
    """Values already known to the caller (an import reads live secret variables), then `base`;
    a missing name is described by `base`, where the user would have to set it."""

    def __init__(self, values: Mapping[str, str], base: SecretSource):
        self._values = dict(values)
        self._base = base

    def get(self, name: str) -> Optional[str]:
        value = self._values.get(name)
        if value is None:
            return self._base.get(name)
        remember_secret(value)
        return value

    def missing(self, name: str) -> str:
        return self._base.missing(name)

    def __repr__(self) -> str:
        return f"KnownValuesFirst(<{len(self._values)} value(s) hidden>, {self._base!r})"


SecretsLike = Union[SecretSource, Mapping[str, str], None]


def secret_source(value: SecretsLike) -> SecretSource:
    """A SecretSource from a source, or from a mapping read as environment variables; None is
    the process environment (the CLI's default; the DSS plugin always passes its own source)."""
    if value is None:
        return EnvironmentSecrets(os.environ)
    if isinstance(value, SecretSource) and not isinstance(value, Mapping):
        return value
    return EnvironmentSecrets(value)


# -- fingerprints ------------------------------------------------------------------------------


SCHEME = "scrypt-v1"
LEGACY_SCHEME = "hmac-sha256"
KEY_BYTES = 32
SCRYPT_N, SCRYPT_R, SCRYPT_P, DIGEST_BYTES = 2**14, 8, 1, 16
_SALT_PREFIX = b"dataiku-iac/secret-fingerprint/v2\x00"
# The key that versions <= 0.1 published in builder.py: kept only to recognise their fingerprints.
_LEGACY_KEY = b"dataiku-iac/secret-fingerprint/v1"
_KEY_RE = re.compile(r"^[0-9a-f]{64}$")
_FINGERPRINT_RE = re.compile(r"^[a-z0-9-]+:[0-9a-f]{16,128}$")
_CACHE_SIZE = 4096  # (key, value) pairs remembered per process
# Parallel scrypt runs: hashlib releases the GIL; each run holds 16 MiB, so at most 8 (128 MiB).
_WORKERS = max(1, min(8, os.cpu_count() or 1))


def new_key() -> str:
    """A fresh fingerprint key: 32 random bytes, as 64 lowercase hex digits."""
    return os.urandom(KEY_BYTES).hex()


def key_problem(key: Any) -> str | None:
    if not isinstance(key, str) or not _KEY_RE.match(key):
        return "fingerprint_key must be 64 lowercase hexadecimal digits (value not shown)"
    return None


def key_id(key: str | None) -> str:
    """A public name for a key (it tells whether two plans used the same key, nothing more)."""
    if key is None:
        return ""
    return hashlib.sha256(b"dataiku-iac/fingerprint-key-id\x00" + bytes.fromhex(key)).hexdigest()[:16]


def looks_like_fingerprint(value: Any) -> bool:
    """`scheme:hex`: the format guard that keeps a misplaced secret value out of the state."""
    return isinstance(value, str) and bool(_FINGERPRINT_RE.match(value))


def is_legacy(fingerprint: Any) -> bool:
    return isinstance(fingerprint, str) and fingerprint.startswith(LEGACY_SCHEME + ":")


def legacy_fingerprint(value: str) -> str:
    """The unkeyed fingerprint of versions <= 0.1 (for migration: recognising old records only)."""
    digest = hmac.new(_LEGACY_KEY, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{LEGACY_SCHEME}:{digest[:32]}"


def _scrypt(key: bytes, value: str) -> str:
    if not hasattr(hashlib, "scrypt"):
        raise RuntimeError("this Python's hashlib has no scrypt (it needs OpenSSL 1.1 or later)")
    digest = hashlib.scrypt(
        value.encode("utf-8"),
        salt=_SALT_PREFIX + key,
        n=SCRYPT_N,
        r=SCRYPT_R,
        p=SCRYPT_P,
        maxmem=64 * 1024 * 1024,
        dklen=DIGEST_BYTES,
    )
    return f"{SCHEME}:{digest.hex()}"


class _Cache:
    """Process-wide (key, value) -> fingerprint. Indexed by a hash, so no secret value is kept."""

    def __init__(self, size: int):
        self._size = size
        self._items: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def index(key: bytes, value: str) -> bytes:
        return hashlib.sha256(key + value.encode("utf-8")).digest()  # the key has a fixed length

    def get(self, index: bytes) -> str | None:
        with self._lock:
            found = self._items.get(index)
            if found is not None:
                self._items.move_to_end(index)
            return found

    def put(self, index: bytes, fingerprint: str) -> None:
        with self._lock:
            self._items[index] = fingerprint
            self._items.move_to_end(index)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_CACHE = _Cache(_CACHE_SIZE)


class Fingerprinter:
    """Fingerprints values under one state's key; remembers which legacy fingerprint each value
    had, so the state's legacy records can be translated (`translate`)."""

    def __init__(self, key: str):
        problem = key_problem(key)
        if problem:
            raise ValueError(problem)
        self.key = key
        self.key_id = key_id(key)
        self._key = bytes.fromhex(key)
        self._legacy: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        # Every secret value is fingerprinted, the configuration's and those DSS holds in their
        # place: none may be shown in a message (errors.remember_secret).
        remember_secret(value)
        index = _CACHE.index(self._key, value)
        fingerprint = _CACHE.get(index)
        if fingerprint is None:
            fingerprint = _scrypt(self._key, value)
            _CACHE.put(index, fingerprint)
        with self._lock:
            self._legacy[legacy_fingerprint(value)] = fingerprint
        return fingerprint

    def precompute(self, values: Iterable[str]) -> None:
        """Fingerprint many values on a few threads (a plan over hundreds of secrets)."""
        todo = sorted(set(values))
        if len(todo) <= 1:
            for value in todo:
                self(value)
            return
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(todo)), thread_name_prefix="fingerprint") as pool:
            list(pool.map(self, todo))

    def translate(self, fingerprint: str) -> str | None:
        """The keyed fingerprint of the value whose legacy fingerprint this is, if this process saw
        that value; None if it did not (the value is then unknown)."""
        with self._lock:
            return self._legacy.get(fingerprint)


def secret_refs(attributes: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(path, reference) for every secret reference in a resource's attributes, `{secret_env:
    NAME}` with a `fingerprint` once fingerprinted: a project's variables
    ('variables.SECTION.NAME'), a scenario reporter's values ('reporters.0.url')…"""
    for path, ref in secret_ref_paths(attributes):
        yield ".".join(str(p) for p in path), ref


def secret_ref_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """(path as a tuple of keys and list indexes, reference) for every secret reference in `value`."""
    found: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    if isinstance(value, (dict, list)) and _holds_ref(value):
        _collect_refs(value, prefix, found)
    return found


def _holds_ref(node: Any) -> bool:
    """Whether a secret reference is anywhere in `node` (a dict or list). Most resources hold none:
    this walk builds no path per container, so finding that out costs half of `_collect_refs`."""
    if isinstance(node, dict):
        if "secret_env" in node:
            return True
        items: Iterable[Any] = node.values()
    else:
        items = node
    for item in items:  # noqa: SIM110 - a loop, not a generator per node (every resource, several times a plan)
        if isinstance(item, (dict, list)) and _holds_ref(item):
            return True
    return False


def _collect_refs(node: Any, prefix: tuple[Any, ...], found: list[tuple[tuple[Any, ...], dict[str, Any]]]) -> None:
    # Runs over every attribute of every resource, desired and recorded, on each plan: a plain
    # recursion into containers only (a generator per node cost 0.5 s at 10,000 resources).
    if isinstance(node, dict):
        if "secret_env" in node:
            found.append((prefix, node))
            return
        for key, item in node.items():
            if isinstance(item, (dict, list)):
                _collect_refs(item, (*prefix, key), found)
    else:
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                _collect_refs(item, (*prefix, index), found)


def secret_ref_problem(path: str, ref: dict[str, Any]) -> str | None:
    """Why a recorded reference is not `{secret_env: NAME[, fingerprint: FP]}` (no value shown)."""
    extra = sorted(set(ref) - {"secret_env", "fingerprint"})
    if extra or not isinstance(ref.get("secret_env"), str):
        return f"attributes.{path} is not a secret reference {{secret_env, fingerprint}} (value not shown)"
    if "fingerprint" in ref and not looks_like_fingerprint(ref["fingerprint"]):
        return f"attributes.{path}.fingerprint is not a fingerprint like '{SCHEME}:<hex>' (value not shown)"
    return None


# -- fingerprints in the desired state, the state and plans --------------------------------------


def fingerprinter_of(state: _State) -> Fingerprinter:
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


def assume_recorded(desired: DesiredState, state: _State) -> tuple[DesiredState, list[str]]:
    """For drift, which may run without the secrets' values: a reference left without its
    fingerprint (its value is not set here) takes the fingerprint the state recorded, so its
    pending change is unknown and counted as none (a variable the state never recorded stays a
    change). Returns (desired, the addresses.paths assumed), `desired` itself when none."""
    assumed: list[str] = []
    keyed = dataclasses.replace(desired, resources=dict(desired.resources))
    for resource in desired.resources.values():
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


def migrate_legacy(state: S, fingerprinter: Fingerprinter) -> tuple[S, int, int]:
    """`state` with the unkeyed fingerprints of older versions translated to its key.

    A legacy fingerprint is translated when this process fingerprinted the value behind it (the
    environment's or DSS's); otherwise the reference keeps no fingerprint: the recorded value is
    unknown, which drift does not compare and the next apply records (`settle_unknown`).
    Returns (state, translated, unknown); the same object when there was nothing to migrate.
    """
    legacy = [(a, p) for a, e in state.resources.items()
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


def settle_unknown(state: S, plan: Plan, desired: DesiredState) -> tuple[S, int]:
    """Recorded secrets whose fingerprint is unknown take the configuration's where the plan
    found the project in sync (a no-op): that is the value DSS holds. (A project the apply
    writes is recorded anew anyway.) Returns (state, how many), the same object if none."""
    todo = []
    if plan.options.refresh_only:  # its no-ops compare DSS with the state, not with the configuration
        return state, 0
    for change in plan.changes:
        entry = state.resources.get(change.address)
        declared = desired.get(change.address)
        if change.action != Action.NOOP or entry is None or declared is None:
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
    if plan.options.refresh_only:  # it records DSS's values: no secret of the configuration is written or kept
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
    return dict(secret_refs(attributes))[path]


def forget_fingerprints(state: _State) -> int:
    """Drop every keyed fingerprint of `state` (made under a key it no longer has); legacy ones,
    which say their scheme, are kept for the engine to re-key. Returns how many were dropped."""
    dropped = 0
    for entry in state.resources.values():
        for _path, ref in secret_refs(entry.attributes):
            if "fingerprint" in ref and not is_legacy(ref["fingerprint"]):
                del ref["fingerprint"]
                dropped += 1
    return dropped
