"""State in an S3 bucket (or an S3-compatible store), through boto3.

iac.yml (or an environment file):

    state:
      backend: s3
      bucket: my-dss-iac-state
      key_prefix: dataiku-iac          # optional, default "dataiku-iac"
      region: eu-west-1                # optional, else the AWS chain's default
      endpoint_url: https://minio:9000 # optional, for S3-compatible stores

Environment ENV lives under `s3://BUCKET/KEY_PREFIX/ENV/`, with the blob layout of every
backend. Credentials come from the standard AWS chain (environment variables, shared
config/credentials files and `AWS_PROFILE`, instance or container roles): never from the
configuration. boto3 is an optional dependency: `pip install 'dataiku-iac[s3]'`.

How each storage guarantee is met (docs/state-format.md, "For backend implementers"):

- atomic replace: one PutObject (S3 never exposes a partial object);
- atomic create (`put_if_absent`, the lock): PutObject with `If-None-Match: *`, the
  conditional write Terraform's S3 backend adopted for `use_lockfile`; a 412 means it exists;
- history snapshots are immutable: `history/*.json` are written with `If-None-Match: *`;
- `state.json` is the pointer, switched last, and with a compare-and-swap: it is written with
  `If-Match` on the ETag this process last read (or `If-None-Match: *` if it read none), so a
  writer that ignored the lock cannot silently overwrite another's serial;
- append in O(entry): S3 has no append, so an appended blob is a base object plus one small
  object per append under `.appends/<name>/<generation>/`, where the generation is recorded in
  the base object's metadata; `put` starts a new generation in one PutObject (readers see the
  old base with its appends or the new base alone), and older generations are garbage.

Some S3-compatible stores accept `If-None-Match` and ignore it (reliability-anchors.md §4 #6):
the locker probes the store once per process and refuses to lock a store that does.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Optional

from dataiku_iac import defaults
from dataiku_iac.errors import LockError, StateConflictError, StateError
from dataiku_iac.state.blobs import check_blob_name
from dataiku_iac.state.lock import LOCK_BLOB, Clock, Locker, LockInfo, iso, utc_now
from dataiku_iac.state.store import STATE_BLOB, StateWriter, register_backend

BACKEND = "s3"
SPEC_KEYS = {"backend", "bucket", "key_prefix", "region", "endpoint_url"}
APPENDS = ".appends"  # not a valid blob name part (leading dot): never listed as a blob
GENERATION_META = "iac-generation"
PROBE_PREFIX = ".probe"
_CONFLICT_RETRIES = 5  # 409 ConditionalRequestConflict: a concurrent conditional write is in flight


def _client_error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str((response.get("Error") or {}).get("Code") or "")


def _status(exc: BaseException) -> int:
    response = getattr(exc, "response", None) or {}
    return int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0)


def _is_precondition_failed(exc: BaseException) -> bool:
    return _status(exc) == 412 or _client_error_code(exc) == "PreconditionFailed"


def _is_conflict(exc: BaseException) -> bool:
    return _status(exc) == 409 or _client_error_code(exc) == "ConditionalRequestConflict"


def _is_missing(exc: BaseException) -> bool:
    return _status(exc) == 404 or _client_error_code(exc) in ("NoSuchKey", "404", "NotFound")


class S3BlobStore:
    """Named blobs under `s3://bucket/prefix/`. Thread-safe (boto3 clients are)."""

    def __init__(self, client: Any, bucket: str, prefix: str):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._etags: dict[str, Optional[str]] = {}  # pointer blob -> ETag last seen (None: absent)
        self._generations: dict[str, str] = {}  # appended blob -> generation this process wrote
        self._mutex = threading.Lock()
        self._seq = itertools.count()
        self._last_stamp = 0

    # -- naming -------------------------------------------------------------------------------
    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{check_blob_name(name)}"

    def _appends_prefix(self, name: str, generation: str) -> str:
        return f"{self.prefix}/{APPENDS}/{check_blob_name(name)}/{generation}/"

    def _fail(self, doing: str, name: str, exc: BaseException) -> StateError:
        if type(exc).__name__ in ("NoCredentialsError", "PartialCredentialsError"):
            return StateError(
                f"cannot {doing} {name} in {self.describe()}: no AWS credentials found; set them the "
                f"usual AWS way (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)"
            )
        code = _client_error_code(exc) or type(exc).__name__
        return StateError(f"cannot {doing} {name} in {self.describe()}: {code}: {exc}")

    # -- raw object calls ------------------------------------------------------------------------
    def _get_object(self, key: str) -> Optional[dict[str, Any]]:
        try:
            obj: dict[str, Any] = self.client.get_object(Bucket=self.bucket, Key=key)
            return obj
        except Exception as exc:
            if _is_missing(exc):
                return None
            raise

    def _put_object(self, key: str, data: bytes, **conditions: Any) -> dict[str, Any]:
        """PutObject, retrying only the 409 S3 returns while another conditional write is in flight."""
        for attempt in range(_CONFLICT_RETRIES):
            try:
                answer: dict[str, Any] = self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **conditions)
                return answer
            except Exception as exc:
                if not _is_conflict(exc) or attempt == _CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents") or [])
        return keys

    # -- BlobStore ---------------------------------------------------------------------------------
    def get(self, name: str) -> Optional[bytes]:
        key = self._key(name)
        try:
            obj = self._get_object(key)
            if obj is None:
                self._remember_etag(name, None)
                return None
            body: bytes = obj["Body"].read()
            self._remember_etag(name, obj.get("ETag"))
            generation = (obj.get("Metadata") or {}).get(GENERATION_META)
            if generation:
                body += self._read_appends(name, generation)
            return body
        except StateError:
            raise
        except Exception as exc:
            raise self._fail("read", name, exc) from None

    def _read_appends(self, name: str, generation: str) -> bytes:
        parts = []
        for key in sorted(self._keys(self._appends_prefix(name, generation))):
            obj = self._get_object(key)
            if obj is not None:  # a garbage collector may race us on an old generation only
                parts.append(obj["Body"].read())
        return b"".join(parts)

    def _remember_etag(self, name: str, etag: Optional[str]) -> None:
        if name == STATE_BLOB:
            with self._mutex:
                self._etags[name] = etag

    def put(self, name: str, data: bytes) -> None:
        key = self._key(name)
        try:
            if name.startswith("history/"):
                self._put_immutable(name, key, data)
            elif name == STATE_BLOB:
                self._put_pointer(name, key, data)
            else:
                self._put_generation(name, key, data)
        except StateError:
            raise
        except Exception as exc:
            raise self._fail("write", name, exc) from None

    def _put_immutable(self, name: str, key: str, data: bytes) -> None:
        try:
            self._put_object(key, data, IfNoneMatch="*")
        except Exception as exc:
            if _is_precondition_failed(exc):
                raise StateConflictError(
                    f"refusing to overwrite {name} in {self.describe()}: history snapshots are immutable "
                    f"and another writer already committed this serial; plan again from the current state"
                ) from None
            raise

    def _put_pointer(self, name: str, key: str, data: bytes) -> None:
        with self._mutex:
            known = name in self._etags
            etag = self._etags.get(name)
        conditions = {} if not known else ({"IfMatch": etag} if etag else {"IfNoneMatch": "*"})
        try:
            response = self._put_object(key, data, **conditions)
        except Exception as exc:
            if _is_precondition_failed(exc) or (_is_missing(exc) and "IfMatch" in conditions):
                raise StateConflictError(
                    f"refusing to write {name} in {self.describe()}: it changed since this run read it "
                    f"(another writer committed meanwhile); plan again from the current state"
                ) from None
            raise
        self._remember_etag(name, response.get("ETag"))

    def _put_generation(self, name: str, key: str, data: bytes) -> None:
        generation = uuid.uuid4().hex
        self._put_object(key, data, Metadata={GENERATION_META: generation})
        with self._mutex:
            self._generations[name] = generation

    def put_if_absent(self, name: str, data: bytes) -> bool:
        key = self._key(name)
        try:
            self._put_object(key, data, IfNoneMatch="*")
            return True
        except Exception as exc:
            if _is_precondition_failed(exc):
                return False
            raise self._fail("create", name, exc) from None

    def append(self, name: str, data: bytes) -> None:
        try:
            generation = self._current_generation(name)
            stamp = f"{self._stamp():020d}-{next(self._seq):08d}-{uuid.uuid4().hex[:8]}"
            self._put_object(self._appends_prefix(name, generation) + stamp, data)
        except StateError:
            raise
        except Exception as exc:
            raise self._fail("append to", name, exc) from None

    def _stamp(self) -> int:
        """Nanoseconds, never going backwards in this process: appends list in the order made."""
        with self._mutex:
            self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
            return self._last_stamp

    def _current_generation(self, name: str) -> str:
        """The generation appends go to; creates an empty base object if the blob is absent."""
        with self._mutex:
            known = self._generations.get(name)
        if known:
            return known
        key = self._key(name)
        for _ in range(3):
            try:
                head = self.client.head_object(Bucket=self.bucket, Key=key)
                generation = (head.get("Metadata") or {}).get(GENERATION_META)
                if not generation:
                    # A blob written by `put` before it was ever appended to: convert it once.
                    body = self._get_object(key)
                    self._put_generation(name, key, body["Body"].read() if body else b"")
                    return self._generations[name]
            except Exception as exc:
                if not _is_missing(exc):
                    raise
                generation = uuid.uuid4().hex
                try:
                    self._put_object(key, b"", Metadata={GENERATION_META: generation}, IfNoneMatch="*")
                except Exception as create_exc:
                    if _is_precondition_failed(create_exc):
                        continue  # someone created it meanwhile: read its generation
                    raise
            with self._mutex:
                self._generations[name] = generation
            return generation
        raise StateError(f"cannot append to {name} in {self.describe()}: it keeps being replaced")

    def delete(self, name: str) -> None:
        key = self._key(name)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
            self._remember_etag(name, None)
            with self._mutex:
                self._generations.pop(name, None)
        except Exception as exc:
            raise self._fail("delete", name, exc) from None
        self._collect_garbage(name)

    def _collect_garbage(self, name: str) -> None:
        """Best effort: appends of a deleted blob are invisible anyway; leftovers cost only storage."""
        try:
            for key in self._keys(f"{self.prefix}/{APPENDS}/{name}/"):
                self.client.delete_object(Bucket=self.bucket, Key=key)
        except Exception:  # garbage collection must never fail a state operation
            pass

    def list(self, prefix: str = "") -> list[str]:
        base = f"{self.prefix}/"
        try:
            keys = self._keys(base + prefix)
        except Exception as exc:
            raise self._fail("list", prefix or "/", exc) from None
        names = []
        for key in keys:
            name = key[len(base):]
            try:
                check_blob_name(name)
            except StateError:
                continue  # internal objects (.appends/, .probe/)
            names.append(name)
        return sorted(names)

    # -- conditional operations on the lock ---------------------------------------------------------
    def get_with_etag(self, name: str) -> tuple[Optional[bytes], Optional[str]]:
        """(bytes, ETag) or (None, None)."""
        try:
            obj = self._get_object(self._key(name))
        except Exception as exc:
            raise self._fail("read", name, exc) from None
        if obj is None:
            return None, None
        return obj["Body"].read(), obj.get("ETag")

    def replace_if_match(self, name: str, data: bytes, etag: str) -> bool:
        try:
            self._put_object(self._key(name), data, IfMatch=etag)
            return True
        except Exception as exc:
            if _is_precondition_failed(exc) or _is_missing(exc):
                return False
            raise self._fail("write", name, exc) from None

    def delete_if_match(self, name: str, etag: str) -> bool:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(name), IfMatch=etag)
            return True
        except Exception as exc:
            if _is_precondition_failed(exc) or _is_missing(exc):
                return False
            if _client_error_code(exc) in ("NotImplemented", "InvalidArgument"):
                # Stores without conditional deletes: fall back to a plain delete (the lock id
                # was checked just before; only an operator's force-unlock can interleave).
                self.delete(name)
                return True
            raise self._fail("delete", name, exc) from None

    def honours_conditional_create(self) -> bool:
        """Probe: a second If-None-Match create of the same key must be refused."""
        key = f"{self.prefix}/{PROBE_PREFIX}/{uuid.uuid4().hex}"
        try:
            self._put_object(key, b"probe", IfNoneMatch="*")
            try:
                self._put_object(key, b"probe again", IfNoneMatch="*")
                honoured = False
            except Exception as exc:
                if not _is_precondition_failed(exc):
                    raise
                honoured = True
            self.client.delete_object(Bucket=self.bucket, Key=key)
            return honoured
        except Exception as exc:
            raise self._fail("probe conditional writes with", "a probe object", exc) from None


class S3Locker(Locker):
    """The base lock algorithm (atomic create with If-None-Match), plus:

    - a once-per-store probe that the store really refuses a second conditional create;
    - a read-back after acquiring (the Databricks `assertLockHeld` check);
    - refresh and release as compare-and-swap on the lock object's ETag, so a release can
      never delete a lock that someone else took in between.
    """

    _probed: dict[tuple[str, str, str], bool] = {}
    _probe_mutex = threading.Lock()

    def __init__(self, store: S3BlobStore, *, environment: str, clock: Clock = utc_now):
        super().__init__(store, environment=environment, clock=clock)
        self.s3 = store

    def _check_store(self) -> None:
        where = (self.s3.bucket, self.s3.prefix, getattr(self.s3.client.meta, "endpoint_url", ""))
        with self._probe_mutex:
            ok = self._probed.get(where)
            if ok is None:
                ok = self._probed[where] = self.s3.honours_conditional_create()
        if not ok:
            raise LockError(
                f"{self.s3.describe()} does not honour conditional writes (If-None-Match): it accepted a "
                f"second create of the same object, so it cannot provide a state lock. Use AWS S3 or an "
                f"S3-compatible store that supports conditional writes"
            )

    def acquire(self, operation: str, *, ttl_seconds: int) -> LockInfo:
        self._check_store()
        mine = super().acquire(operation, ttl_seconds=ttl_seconds)
        holder = self.current()
        if holder is None or holder.id != mine.id:
            raise LockError(
                f"the state lock in {self.s3.describe()} was taken but then found "
                f"{'gone' if holder is None else 'held by ' + holder.id}; try again",
                contended=True,
            )
        return mine

    def _require_with_etag(self, lock_id: str, doing: str) -> tuple[LockInfo, str]:
        raw, etag = self.s3.get_with_etag(LOCK_BLOB)
        holder = LockInfo.from_bytes(raw) if raw is not None else None
        if holder is None or holder.id != lock_id:
            self._require(lock_id, doing)  # raises the usual message (not locked / held by …)
            # ours again on the second read: the lock object changed in between
            raise LockError(f"the state lock {lock_id} changed while being read; try again")
        if etag is None:  # S3 always sends one; without it no compare-and-swap is possible
            raise LockError(f"{self.s3.describe()} answered the state lock without an ETag: cannot {doing}")
        return holder, etag


    def refresh(self, lock_id: str, *, ttl_seconds: int) -> LockInfo:
        with self._mutex:
            holder, etag = self._require_with_etag(lock_id, "refresh the state lock")
            holder.expires = iso(self.clock() + timedelta(seconds=ttl_seconds))
            if not self.s3.replace_if_match(LOCK_BLOB, holder.to_bytes(), etag):
                self._require(lock_id, "refresh the state lock")
                raise LockError(f"the state lock {lock_id} changed while being refreshed; try again")
            return holder

    def release(self, lock_id: str) -> None:
        with self._mutex:
            _holder, etag = self._require_with_etag(lock_id, "release the state lock")
            if not self.s3.delete_if_match(LOCK_BLOB, etag):
                self._require(lock_id, "release the state lock")
                raise LockError(f"the state lock {lock_id} changed while being released; try again")


def make_client(spec: dict[str, Any]) -> Any:
    """A boto3 S3 client from the spec; credentials from the standard AWS chain only."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise StateError(
            "the s3 state backend needs boto3: pip install 'dataiku-iac[s3]'"
        ) from None
    config = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=10, read_timeout=60)
    kwargs: dict[str, Any] = {"config": config}
    if spec.get("region"):
        kwargs["region_name"] = spec["region"]
    if spec.get("endpoint_url"):
        kwargs["endpoint_url"] = spec["endpoint_url"]
    # A session of its own: boto3's default session caches credentials process-wide.
    return boto3.session.Session().client("s3", **kwargs)


def check_spec(spec: dict[str, Any]) -> None:
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise StateError(
            f"s3 state backend: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(SPEC_KEYS - {'backend'}))}; "
            f"credentials come from the AWS environment, never from the configuration)"
        )
    if not isinstance(spec.get("bucket"), str) or not spec["bucket"]:
        raise StateError("s3 state backend: 'bucket' is required")
    prefix = spec.get("key_prefix", defaults.S3_KEY_PREFIX)
    if not isinstance(prefix, str) or any(p in (".", "..") for p in prefix.split("/")):
        raise StateError(f"s3 state backend: invalid key_prefix {prefix!r}")


def open_s3(spec: dict[str, Any], *, environment: str, config_root: Path, client: Any = None) -> StateWriter:

    check_spec(spec)
    prefix = "/".join(p for p in (spec.get("key_prefix", defaults.S3_KEY_PREFIX).strip("/"), environment) if p)
    store = S3BlobStore(client or make_client(spec), spec["bucket"], prefix)
    return StateWriter(store, environment=environment, locker=S3Locker(store, environment=environment))


register_backend(BACKEND, open_s3)
