"""Secret fingerprints: how a secret's value is recorded without being recorded.

A secret project variable (`{secret_env: NAME}`) is written to DSS but never to a plan, a log or
the state. Plans and the state carry a *fingerprint* instead, so that a rotated secret is a
change and an overwritten one is drift. A fingerprint that anyone can recompute from a guess
would let a word list recover a weak secret from `plan --json`, so it is:

    "scrypt-v1:" + hex(scrypt(password=UTF-8 value,
                              salt="dataiku-iac/secret-fingerprint/v2" NUL + key,
                              N=2**14, r=8, p=1, dkLen=16))

where `key` is 32 random bytes chosen when the state's lineage starts and kept in the state
(`fingerprint_key`): without the state, a fingerprint cannot be checked against any guess; with
it, every guess costs one scrypt (about 50 ms and 16 MiB on one core). The same value under the
same key always gives the same fingerprint (that is what makes change detection work), so a
process computes each (key, value) once (`Fingerprinter`). docs/security.md, "Secret
fingerprints", gives the design and its figures.

Versions before the key existed wrote `hmac-sha256:<32 hex>` under a key published in the
source. Those *legacy* fingerprints are recognised and translated (`Fingerprinter.translate`)
from values this process fingerprinted anyway (the environment's and DSS's), never guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator

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
    return secrets.token_hex(KEY_BYTES)


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
    """('variables.SECTION.NAME', reference) for every secret variable reference in a project's
    attributes: `{secret_env: NAME}`, with a `fingerprint` once fingerprinted."""
    variables = attributes.get("variables")
    if not isinstance(variables, dict):
        return
    for section, values in variables.items():
        if not isinstance(values, dict):
            continue
        for name, value in values.items():
            if isinstance(value, dict) and "secret_env" in value:
                yield f"variables.{section}.{name}", value


def secret_ref_problem(path: str, ref: dict[str, Any]) -> str | None:
    """Why a recorded reference is not `{secret_env: NAME[, fingerprint: FP]}` (no value shown)."""
    extra = sorted(set(ref) - {"secret_env", "fingerprint"})
    if extra or not isinstance(ref.get("secret_env"), str):
        return f"attributes.{path} is not a secret reference {{secret_env, fingerprint}} (value not shown)"
    if "fingerprint" in ref and not looks_like_fingerprint(ref["fingerprint"]):
        return f"attributes.{path}.fingerprint is not a fingerprint like '{SCHEME}:<hex>' (value not shown)"
    return None
