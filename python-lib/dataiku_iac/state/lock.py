"""The state lock: one blob `lock.json` whose presence means "an apply is running".

Rules (docs/state-format.md, "Lock"):
- taken with an atomic create, never waited for here: a held lock fails at once with the holder;
- released only with its exact id, which acts as a nonce (Terraform force-unlock);
- an expired lock is still held. A TTL that silently handed the lock over would let two applies
  run when the first one is merely slow (GC pause, slow DSS); expiry only changes the message to
  "looks stale" and shows the unlock command.

`Locker` holds the algorithm so a backend without atomic create (a DSS managed folder) can
subclass it with a write-then-verify protocol while the writer stays the same.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from dataiku_iac import __version__
from dataiku_iac.errors import LockError
from dataiku_iac.state.blobs import BlobStore

LOCK_BLOB = "lock.json"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _who() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # no passwd entry in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class LockInfo:
    """Who holds the lock. Shown to anyone who fails to take it."""

    id: str
    operation: str
    who: str
    pid: int
    created: str
    expires: str
    tool_version: str
    backend: str

    def to_json(self) -> dict[str, Any]:

        return {
            "id": self.id,
            "operation": self.operation,
            "who": self.who,
            "pid": self.pid,
            "created": self.created,
            "expires": self.expires,
            "tool_version": self.tool_version,
            "backend": self.backend,
        }

    def to_bytes(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2) + "\n").encode("utf-8")

    @classmethod
    def from_bytes(cls, raw: bytes) -> LockInfo:
        """Parse a lock blob. An unreadable blob becomes a placeholder whose id is derived from its
        bytes, so it can still be released with the usual `state unlock <ID>` (the id stays a nonce)."""
        try:
            data = json.loads(raw.decode("utf-8"))
            info = cls(**{k: data[k] for k in cls.__dataclass_fields__})
            parse_iso(info.created)
            parse_iso(info.expires)
            return info
        except Exception:
            digest = hashlib.sha256(raw).hexdigest()[:16]
            return cls(
                id=f"unreadable-{digest}",
                operation="<unreadable lock file>",
                who="<unknown>",
                pid=0,
                created="1970-01-01T00:00:00Z",
                expires="1970-01-01T00:00:00Z",
                tool_version="<unknown>",
                backend="",
            )

    @classmethod
    def mine(cls, operation: str, *, backend: str, ttl_seconds: int, now: datetime) -> LockInfo:
        return cls(
            id=str(uuid.uuid4()),
            operation=operation,
            who=_who(),
            pid=os.getpid(),
            created=iso(now),
            expires=iso(now + timedelta(seconds=ttl_seconds)),
            tool_version=__version__,
            backend=backend,
        )


def _duration(seconds: float) -> str:
    seconds = int(abs(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
    return f"{seconds // 86400}d"


def _pid_gone(info: LockInfo) -> bool:
    """True only if the holder ran on this host and its process no longer exists."""
    if info.pid <= 0 or info.who.rsplit("@", 1)[-1] != socket.gethostname():
        return False
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def describe_holder(info: LockInfo, *, environment: str, now: datetime) -> str:
    """The part of every lock message that says who holds it and how to release it."""
    age = (now - parse_iso(info.created)).total_seconds()
    left = (parse_iso(info.expires) - now).total_seconds()
    text = (
        f"held by {info.who} (pid {info.pid}, dataiku-iac {info.tool_version}) for operation "
        f"{info.operation!r} since {info.created} ({_duration(age)} ago), lock ID {info.id}"
    )
    stale = []
    if left <= 0:
        stale.append(f"it expired {_duration(left)} ago")
    if _pid_gone(info):
        stale.append(f"process {info.pid} is no longer running on this host")
    unlock = f"dataiku-iac state unlock {info.id} -e {environment}"
    if stale:
        return (
            f"{text}. The lock looks stale ({'; '.join(stale)}); it is not taken over automatically. "
            f"If no other dataiku-iac run is in progress, release it with: {unlock}"
        )
    return (
        f"{text}; it expires in {_duration(left)}. Wait for that run to finish; if you are sure it is "
        f"gone, release the lock with: {unlock}"
    )


class Locker:
    """The lock algorithm over a BlobStore with atomic create (put_if_absent).

    A subclass for a store without atomic create overrides `acquire` (e.g. write a uniquely named
    claim, list, and keep the lock only if its claim sorts first), keeping the same contract.
    """

    #: how long to re-read a lock blob that is momentarily empty (O_EXCL fallback being written)
    read_retries = 5

    def __init__(self, store: BlobStore, *, environment: str, clock: Clock = utc_now):
        self.store = store
        self.environment = environment
        self.clock = clock
        # A heartbeat thread refreshes while the main thread may release: without this, a refresh
        # that read the lock before the release would write it back after, leaving it held.
        self._mutex = threading.Lock()

    def current(self) -> LockInfo | None:
        for _ in range(self.read_retries):
            raw = self.store.get(LOCK_BLOB)
            if raw is None:
                return None
            if raw.strip():
                return LockInfo.from_bytes(raw)
            time.sleep(0.02)
        return LockInfo.from_bytes(raw or b"")

    def acquire(self, operation: str, *, ttl_seconds: int) -> LockInfo:
        mine = LockInfo.mine(operation, backend=self.store.describe(), ttl_seconds=ttl_seconds, now=self.clock())
        # Two attempts: the holder may release between our failed create and our read of its info.
        for _ in range(2):
            if self.store.put_if_absent(LOCK_BLOB, mine.to_bytes()):
                return mine
            holder = self.current()
            if holder is not None:
                raise self._held_error(holder)
        raise LockError(f"could not take the state lock in {self.store.describe()}: it keeps changing hands", contended=True)

    def _held_error(self, holder: LockInfo) -> LockError:
        message = (
            f"Error acquiring the state lock for environment {self.environment!r} "
            f"({self.store.describe()}): it is "
            + describe_holder(holder, environment=self.environment, now=self.clock())
        )
        return LockError(message, holder=holder.to_json())

    def _require(self, lock_id: str, doing: str) -> LockInfo:
        holder = self.current()
        if holder is None:
            raise LockError(f"cannot {doing}: the state of environment {self.environment!r} is not locked")
        if holder.id != lock_id:
            raise LockError(
                f"cannot {doing} with lock ID {lock_id}: the lock is "
                + describe_holder(holder, environment=self.environment, now=self.clock()),
                holder=holder.to_json(),
            )
        return holder

    def refresh(self, lock_id: str, *, ttl_seconds: int) -> LockInfo:
        with self._mutex:
            holder = self._require(lock_id, "refresh the state lock")
            holder.expires = iso(self.clock() + timedelta(seconds=ttl_seconds))
            # Not a compare-and-swap across processes: between the check and the put only an
            # unlock with our exact ID could intervene, which is already an operator's override.
            self.store.put(LOCK_BLOB, holder.to_bytes())
            return holder

    def release(self, lock_id: str) -> None:
        with self._mutex:
            self._require(lock_id, "release the state lock")
            self.store.delete(LOCK_BLOB)


class LocalLocker(Locker):
    """The lock of the local backend: the blob lock, plus a kernel lock proving the holder lives.

    Like Terraform's local backend (fcntl locks on the state file), the holder keeps an
    exclusive `flock` on `lock.alive` for as long as it holds the lock; the operating system
    drops it when the process dies, however it dies. So a lock.json whose `lock.alive` can be
    taken was left by a dead run: it is taken over, and the next apply simply continues (its
    journal holds the interrupted work). A live holder cannot be unlocked from another
    process: its kernel lock stays. Limits: flock needs a local filesystem (not NFS); on
    systems without fcntl (Windows) this falls back to the plain blob lock.
    """

    ALIVE = "lock.alive"
    #: how long a loser waits for the live holder's lock.json to describe it
    HOLDER_WAIT_SECONDS = 3.0

    def __init__(self, store: BlobStore, directory: str, *, environment: str, clock: Clock = utc_now):
        super().__init__(store, environment=environment, clock=clock)
        self.directory = directory
        self._alive_fd: int | None = None
        self.taken_over: LockInfo | None = None  # the dead run's lock this run replaced, if any

    def acquire(self, operation: str, *, ttl_seconds: int) -> LockInfo:
        try:
            import fcntl
        except ImportError:  # no flock: the blob lock alone
            return super().acquire(operation, ttl_seconds=ttl_seconds)
        os.makedirs(self.directory, exist_ok=True)
        fd = os.open(os.path.join(self.directory, self.ALIVE), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            # The holder writes lock.json right after taking the kernel lock: wait for it briefly,
            # so the error names the holder and its lock ID like every other lock error.
            deadline = time.monotonic() + self.HOLDER_WAIT_SECONDS
            holder = self.current()
            while holder is None and time.monotonic() < deadline:
                time.sleep(0.02)
                holder = self.current()
            if holder is not None:
                raise self._held_error(holder) from None
            raise LockError(
                f"Error acquiring the state lock for environment {self.environment!r} "
                f"({self.store.describe()}): another dataiku-iac process on this machine holds it",
                contended=True,
            ) from None
        try:
            # Holding the kernel lock, no live run holds the state lock: a lock.json left
            # behind belongs to a dead process and is replaced.
            self.taken_over = self.current()
            if self.taken_over is not None:
                self.store.delete(LOCK_BLOB)
            info = super().acquire(operation, ttl_seconds=ttl_seconds)
        except BaseException:
            os.close(fd)  # closing drops the flock
            raise
        self._alive_fd = fd
        return info

    def release(self, lock_id: str) -> None:
        super().release(lock_id)
        fd, self._alive_fd = self._alive_fd, None
        if fd is not None:
            os.close(fd)
