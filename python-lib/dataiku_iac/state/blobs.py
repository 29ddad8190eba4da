"""The storage primitive under every state backend, and its local-directory implementation.

A backend only has to store named byte blobs with a handful of atomic operations; everything
about state (serials, history, journal, locks) is built on top in `store.py`, so each backend is
small and the same conformance tests run against all of them.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from dataiku_iac.errors import StateError

_NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_TMP_PREFIX = ".tmp-"


class BlobStore(Protocol):
    """Named blobs. Names are relative paths with '/' separators, e.g. "history/0000000003.json"."""

    def describe(self) -> str:
        """Where the blobs live, for messages, e.g. "local directory .dataiku-iac/state/dev"."""
        ...

    def get(self, name: str) -> bytes | None:
        """The blob's bytes, or None if there is no such blob."""
        ...

    def put(self, name: str, data: bytes) -> None:
        """Atomic create-or-replace: a reader sees the old blob or the new one, never a partial one."""
        ...

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """Atomic create: True if created, False if the blob already existed (nothing written)."""
        ...

    def append(self, name: str, data: bytes) -> None:
        """Append to a blob (created if absent). Cost O(len(data)); durable when it returns."""
        ...

    def delete(self, name: str) -> None:
        """Remove a blob; no error if it does not exist."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Sorted names of the blobs whose name starts with `prefix`."""
        ...


def check_blob_name(name: str) -> str:
    """Refuse names that could escape the store (absolute, '..', empty parts) or clash with temp files."""
    parts = name.split("/")
    if not name or any(not _NAME_PART.match(p) or p in (".", "..") for p in parts):
        raise StateError(f"invalid blob name {name!r}")
    if parts[-1].startswith(_TMP_PREFIX):
        raise StateError(f"invalid blob name {name!r}: reserved prefix {_TMP_PREFIX!r}")
    return name


def _fsync_dir(path: Path) -> None:
    """Make a rename/link/unlink in `path` durable. Some filesystems refuse fsync on directories."""
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class LocalBlobStore:
    """Blobs as files under a directory, created on the first write.

    put: temp file in the same directory + fsync + os.replace + fsync(dir).
    put_if_absent: temp file + fsync + os.link(temp, name), which fails atomically if the name
    exists and, unlike a bare O_CREAT|O_EXCL followed by a write, never exposes a half-written
    blob to a concurrent reader. Filesystems without hard links fall back to O_CREAT|O_EXCL.
    """

    def __init__(self, root: Path, *, label: str | None = None):
        self.root = Path(root)
        self._label = label or str(self.root)
        # Group commit of `append_unsynced` + `sync_appends`: per blob, how many appends were
        # written and how many of them an fsync has covered.
        self._appends_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written: dict[str, int] = {}
        self._synced: dict[str, int] = {}

    def describe(self) -> str:
        return f"local directory {self._label}"

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*check_blob_name(name).split("/"))

    def get(self, name: str) -> bytes | None:
        try:
            return self._path(name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {name} in {self.describe()}: {exc.strerror}") from None

    def read_chunks(self, name: str, size: int = 1 << 18) -> Iterator[bytes] | None:
        """The blob as a stream of chunks of at most `size` bytes, or None if there is no such blob
        (a large journal is read without holding it whole). Optional for backends."""
        try:
            handle = self._path(name).open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {name} in {self.describe()}: {exc.strerror}") from None

        def chunks() -> Iterator[bytes]:
            with handle:
                while chunk := handle.read(size):
                    yield chunk

        return chunks()

    def _write_temp(self, target: Path, data: bytes) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f"{_TMP_PREFIX}{target.name}-{uuid.uuid4().hex}"
        fd = os.open(str(tmp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        return tmp

    def put(self, name: str, data: bytes) -> None:
        target = self._path(name)
        try:
            tmp = self._write_temp(target, data)
            try:
                os.replace(tmp, target)
            except BaseException:
                _unlink_quietly(tmp)
                raise
            _fsync_dir(target.parent)
        except OSError as exc:
            raise StateError(f"cannot write {name} in {self.describe()}: {exc.strerror}") from None

    def put_if_absent(self, name: str, data: bytes) -> bool:
        target = self._path(name)
        try:
            tmp = self._write_temp(target, data)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                    raise
                return self._create_exclusive(target, data)
            finally:
                _unlink_quietly(tmp)
            _fsync_dir(target.parent)
            return True
        except OSError as exc:
            raise StateError(f"cannot create {name} in {self.describe()}: {exc.strerror}") from None

    def _create_exclusive(self, target: Path, data: bytes) -> bool:
        try:
            fd = os.open(str(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(target.parent)
        return True

    def append(self, name: str, data: bytes) -> None:
        target = self._path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            created = not target.exists()
            # O_APPEND + one write per record: concurrent appenders never interleave inside a record.
            fd = os.open(str(target), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(target.parent)
        except OSError as exc:
            raise StateError(f"cannot append to {name} in {self.describe()}: {exc.strerror}") from None

    def append_unsynced(self, name: str, data: bytes) -> None:
        """`append` without its fsync: durable only once `sync_appends(name)` returns. Optional
        for backends (the state writer falls back to `append`).

        Lets concurrent appenders share fsyncs (group commit): the apply's workers write their
        journal entries in order under a lock, then wait for durability outside it, so a worker
        never waits for another's fsync to write its own entry, and one fsync covers every entry
        written before it started."""
        target = self._path(name)
        try:
            created = not target.exists()
            if created:
                target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(str(target), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(target.parent)
        except OSError as exc:
            raise StateError(f"cannot append to {name} in {self.describe()}: {exc.strerror}") from None
        with self._appends_lock:
            self._written[name] = self._written.get(name, 0) + 1

    def sync_appends(self, name: str) -> None:
        """Make every `append_unsynced` of `name` made before this call durable."""
        with self._appends_lock:
            wanted = self._written.get(name, 0)
        with self._sync_lock:
            if self._synced.get(name, 0) >= wanted:
                return  # an fsync that started after those appends has returned
            with self._appends_lock:
                covered = self._written.get(name, 0)  # written before the fsync below starts
            try:
                fd = os.open(str(self._path(name)), os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                raise StateError(f"cannot append to {name} in {self.describe()}: {exc.strerror}") from None
            self._synced[name] = covered

    def delete(self, name: str) -> None:
        target = self._path(name)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StateError(f"cannot delete {name} in {self.describe()}: {exc.strerror}") from None
        _fsync_dir(target.parent)

    def list(self, prefix: str = "") -> list[str]:
        if not self.root.is_dir():
            return []
        names = []
        for dirpath, _dirs, files in os.walk(self.root):
            rel = Path(dirpath).relative_to(self.root)
            for fname in files:
                if fname.startswith(_TMP_PREFIX):
                    continue
                name = fname if rel == Path(".") else "/".join((*rel.parts, fname))
                if name.startswith(prefix):
                    names.append(name)
        return sorted(names)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
