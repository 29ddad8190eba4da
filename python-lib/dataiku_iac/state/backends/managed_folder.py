"""State in a DSS managed folder, through the public API (`dataikuapi.DSSManagedFolder`).

iac.yml (or an environment file):

    state:
      backend: managed_folder
      project_key: IAC_STATE      # default: the current DSS project (DKU_CURRENT_PROJECT_KEY)
      folder: iac_state           # the folder's name or id
      path: states                # optional prefix inside the folder

Environment ENV lives under `<path>/ENV/` in the folder, with the blob layout of every backend.

The public API has no conditional write, no create-if-absent, no rename and no append
(dataikuapi-surface.md §5), so:

- `put` is one `put_file` (DSS replaces the file; whether a reader can observe a half-written
  file is not documented: a damaged `state.json` is detected on read, and `history/` keeps a
  complete copy of every serial to roll back to);
- `append` is one `put_file` of a new small file, whatever the blob's size: an appended blob
  (the journal) is a base file plus one file per append under
  `.appends/<name>/<generation>/<counter>-<random>`, read back in counter order. The
  generation is the sha256 of the base file's content, so the appends belong to the base they
  were made on: `put` writes a new base (one request; readers see the old base with its
  appends, or the new base alone) and then deletes the old generation's files (garbage a
  reader ignores; one request for their directory where the folder deletes directories). A blob written by an older version (the whole journal in one file, no
  `.appends`) reads as before: it is a base without appends;
- existence comes from `list_contents`, never from a failed read; a `get` costs one listing
  plus, for content this process did not write itself, one read per file;
- the lock does not use the folder at all for mutual exclusion: see `DssMutexLocker`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional, Union

from dataiku_iac.dssclient import DssConnection, classify, with_retries
from dataiku_iac.errors import DssPermissionError, IacError, LockError, StateError
from dataiku_iac.model import StateHome
from dataiku_iac.state.blobs import check_blob_name
from dataiku_iac.state.lock import LOCK_BLOB, Clock, Locker, LockInfo, iso, utc_now
from dataiku_iac.state.store import StateWriter, register_backend

BACKEND = "managed_folder"
SPEC_KEYS = {"backend", "project_key", "folder", "path"}
LOCK_TAG = "dataiku-iac-lock"
#: how long a loser waits for the winner's lease file before describing the lock from DSS alone
LEASE_WAIT_SECONDS = 3.0
#: appended files live under this directory of the prefix; not a valid blob name part (leading
#: dot), so never listed as a blob
APPENDS = ".appends"
Paths = list[str]  # (named outside the store class, whose `list` method would shadow the builtin)

# A DssConnection, or a zero-argument callable returning one (opened only when the state is read).
ConnectionSource = Union[DssConnection, Callable[[], DssConnection], None]


def _resolve_connection(connection: ConnectionSource) -> DssConnection:
    if isinstance(connection, DssConnection):
        return connection
    if callable(connection):
        return connection()
    raise StateError("the managed_folder state backend needs a DSS connection")


class ManagedFolderBlobStore:
    """Named blobs under one prefix of a DSS managed folder."""

    def __init__(self, connection: ConnectionSource, project_key: str, folder: str, prefix: str):
        self._connection_source = connection
        self._connection: Optional[DssConnection] = None
        self.project_key = project_key
        self.folder_ref = folder
        self.prefix = prefix.strip("/")
        self._folder_id: Optional[str] = None
        self._mutex = threading.Lock()
        # What this process knows of each appended blob (see _Appended): the next append is one
        # request, and a read whose listing shows nothing new is served from here.
        self._appended: dict[str, _Appended] = {}
        # name -> paths of its append files, as the last listing showed them (None: never listed)
        self._listed_appends: Optional[dict[str, list[str]]] = None
        self._directory_deletes: Optional[bool] = None  # None: not tried yet (see _delete_files)
        self._listed_mtimes: dict[str, Any] = {}  # path -> lastModified, as last listed

    # -- plumbing ---------------------------------------------------------------------------
    @property
    def connection(self) -> DssConnection:
        if self._connection is None:
            self._connection = _resolve_connection(self._connection_source)
        return self._connection

    def client(self) -> Any:
        return self.connection.client()

    def describe(self) -> str:
        where = f"/{self.prefix}" if self.prefix else "/"
        return f"managed folder {self.folder_ref!r} of project {self.project_key}, path {where}"

    def home(self) -> StateHome:
        """The folder and project holding the state: a plan never deletes them."""
        return StateHome(project_key=self.project_key, folder_id=self.folder_id, where=self.describe())

    @property
    def folder_id(self) -> str:
        if self._folder_id is None:
            self._folder_id = self._find_folder()
        return self._folder_id

    def _find_folder(self) -> str:
        project = self.client().get_project(self.project_key)
        folders = self._call(project.list_managed_folders, "list the managed folders")
        by_id = [str(f["id"]) for f in folders if f.get("id") == self.folder_ref]
        by_name = [str(f["id"]) for f in folders if f.get("name") == self.folder_ref]
        if by_id:
            return by_id[0]
        if len(by_name) == 1:
            return by_name[0]
        if by_name:
            raise StateError(
                f"{len(by_name)} managed folders of project {self.project_key} are named {self.folder_ref!r}: "
                f"name the state folder by its id ({', '.join(sorted(by_name))})"
            )
        raise StateError(
            f"no managed folder {self.folder_ref!r} in project {self.project_key} (or it is not visible to "
            f"this user): create it, or fix state.folder in the configuration"
        )

    def _handle(self) -> Any:
        return self.client().get_project(self.project_key).get_managed_folder(self.folder_id)

    def _call(self, fn: Callable[[], Any], doing: str) -> Any:
        try:
            return with_retries(fn)
        except StateError:
            raise  # said already (finding the folder inside another call)
        except IacError as exc:
            if _unauthorized(exc):
                raise StateError(self._no_read_rights()) from None
            raise StateError(f"cannot {doing} in {self.describe()}: {exc}") from None

    def _no_read_rights(self) -> str:
        """DSS answers "Failed to read project permissions" to a user who may not read the
        project (and for a missing one alike): say who, and the permission the state needs."""
        try:
            info = self.client().get_auth_info()
            who = repr(str(info.get("associatedDSSUser") or info.get("authIdentifier")))
        except Exception:  # only to name the user; the message stands without it
            who = "the user of this API key"
        else:
            who += ", the user of this API key,"
        where = f"/{self.prefix}" if self.prefix else "/"
        # Existence first: on a first run with an administrator's key, a missing project is the likely cause.
        return (
            f"project {self.project_key}, which holds the state of this environment (managed folder "
            f"{self.folder_ref!r}, path {where}), does not exist or {who} may not read it: create the project and "
            f"its managed folder first (docs/ci.md, setup), or get the permission: reading the state (plan, "
            f"drift, state list) needs the project permission 'Read project content' (readProjectContent), and "
            f"writing it (apply, destroy, state commands that change it) 'Write project content' "
            f"(writeProjectContent); ask an administrator of that project for it, or use another key"
        )

    def _path(self, name: str) -> str:
        check_blob_name(name)
        return f"/{self.prefix}/{name}" if self.prefix else f"/{name}"

    def _listing(self) -> dict[str, Any]:
        """path (without leading slash, relative to the prefix) -> size, for everything under the prefix."""
        items = self._call(lambda: self._handle().list_contents().get("items", []), "list the files")
        base = f"{self.prefix}/" if self.prefix else ""
        out, mtimes = {}, {}
        for item in items:
            path = str(item.get("path", "")).lstrip("/")
            if path.startswith(base):
                out[path[len(base) :]] = item.get("size")
                mtimes[path[len(base) :]] = item.get("lastModified")
        appends: dict[str, list[str]] = {}
        for path in out:
            owner = _append_owner(path)
            if owner is not None:
                appends.setdefault(owner, []).append(path)
        with self._mutex:
            self._listed_appends = appends
            self._listed_mtimes = mtimes
        return out

    def _read_file(self, path: str, name: str) -> bytes:
        def read() -> bytes:
            response = self._handle().get_file(path)
            try:
                content: bytes = response.content
                return content
            finally:
                response.close()

        content: bytes = self._call(read, f"read {name}")
        return content

    # -- BlobStore --------------------------------------------------------------------------
    def get(self, name: str) -> Optional[bytes]:
        path = self._path(name)
        listing = self._listing()
        base_size = listing.get(name)
        base_mtime = self._listed_mtimes.get(name)
        appends = [p for p in listing if _append_owner(p) == name]
        if base_size is None and not appends:
            with self._mutex:
                self._appended.pop(name, None)
            return None
        with self._mutex:
            known = self._appended.get(name)
        if known is not None and known.matches(base_size, base_mtime, appends):
            return known.content()  # nothing but what this process wrote: no read needed
        base = self._read_file(path, name) if base_size is not None else b""
        generation = _generation(base)
        mine = sorted((p for p in appends if p.split("/")[-2] == generation), key=_append_order)
        parts = [self._read_file(self._folder_path(p), name) for p in mine]
        with self._mutex:
            self._appended[name] = _Appended(base, base_mtime, generation, list(zip(mine, parts)))
        return base + b"".join(parts)

    def put(self, name: str, data: bytes) -> None:
        path = self._path(name)
        data = bytes(data)
        old = self._known_appends(name)
        generation = _generation(data)
        # Files of the new base's own generation would be read as its appends: gone first. (Only
        # when the same content is written again; what they hold then was already folded into it.)
        self._delete_files([p for p in old if p.split("/")[-2] == generation])
        written = self._call(lambda: self._handle().put_file(path, data), f"write {name}")
        with self._mutex:
            if old or name in self._appended:
                mtime = written.get("lastModified") if isinstance(written, dict) else None
                self._appended[name] = _Appended(data, mtime, generation, [])
        self._delete_files([p for p in old if p.split("/")[-2] != generation])  # garbage now

    def put_if_absent(self, name: str, data: bytes) -> bool:
        """NOT atomic (the public API has no create-if-absent): list, then write. Nothing in this
        backend relies on it for mutual exclusion; the lock uses `DssMutexLocker`."""
        if name in self._listing():
            return False
        self.put(name, data)
        return True

    def append(self, name: str, data: bytes) -> None:
        """One new file per append: O(entry) bytes and one request. Callers (the journal) are
        serialized by the state lock, and within a run by the executor's journal lock."""
        with self._mutex:
            known = self._appended.get(name)
        if known is None:
            self.get(name)  # once per blob and process: learn the base's generation and the last counter
            with self._mutex:
                known = self._appended.get(name)
            if known is None:
                known = _Appended(b"", None, _generation(b""), [])
                with self._mutex:
                    self._appended[name] = known
        relative = f"{APPENDS}/{name}/{known.generation}/{known.next_counter():012d}-{uuid.uuid4().hex[:8]}"
        check_blob_name(name)
        payload = bytes(data)
        self._call(lambda: self._handle().put_file(self._folder_path(relative), payload), f"append to {name}")
        with self._mutex:
            known.parts.append((relative, payload))

    def delete(self, name: str) -> None:
        path = self._path(name)
        old = self._known_appends(name)
        self._call(lambda: self._handle().delete_file(path), f"delete {name}")
        with self._mutex:
            self._appended.pop(name, None)
        self._delete_files(old)  # without their base they are garbage (see get)

    def list(self, prefix: str = "") -> list[str]:
        listing = self._listing()
        names = {n for n in listing if _is_blob_name(n)} | {o for o in map(_append_owner, listing) if o}
        return sorted(n for n in names if n.startswith(prefix))

    # -- appended blobs ---------------------------------------------------------------------
    def _folder_path(self, relative: str) -> str:
        return f"/{self.prefix}/{relative}" if self.prefix else f"/{relative}"

    def _known_appends(self, name: str) -> Paths:
        """The append files of `name`, from the last listing plus what this process wrote since."""
        if self._listed_appends is None:
            self._listing()
        with self._mutex:
            listed = list((self._listed_appends or {}).get(name, []))
            known = self._appended.get(name)
            written = [p for p, _ in known.parts] if known is not None else []
        return sorted(set(listed) | set(written))

    def _delete_file(self, relative: str) -> None:
        self._handle().delete_file(self._folder_path(relative))

    def _delete_files(self, relatives: Paths) -> None:
        """Delete append files: one request per generation directory, where the folder deletes a
        directory with its files (the emulator does; DSS does not document it), checked by one
        listing; else, and from then on in this process, one request per file."""
        remaining = list(relatives)
        if remaining and self._directory_deletes is not False:
            try:
                for directory in sorted({r.rsplit("/", 1)[0] for r in remaining}):
                    self._call(partial(self._delete_file, directory), "delete appended files")
                left = self._listing()
            except StateError:
                left = None
            remaining = [r for r in remaining if left is None or r in left]
            self._directory_deletes = left is not None and not remaining
        for relative in remaining:
            self._call(partial(self._delete_file, relative), "delete an appended file")
        if relatives:
            with self._mutex:
                for paths in (self._listed_appends or {}).values():
                    paths[:] = [p for p in paths if p not in relatives]


class _Appended:
    """An appended blob as this process last read or wrote it: its base, the base's generation
    and the append files of that generation in order, with their content."""

    def __init__(self, base: bytes, base_mtime: Any, generation: str, parts: list[tuple[str, bytes]]):
        """`base_mtime`: the base file's lastModified (None: there is no base file)."""
        self.base = base
        self.base_mtime = base_mtime
        self.generation = generation
        self.parts = parts

    def next_counter(self) -> int:
        return max((_append_order(p)[0] for p, _ in self.parts), default=-1) + 1

    def matches(self, base_size: Any, base_mtime: Any, appends: list[str]) -> bool:
        """Whether a listing shows exactly this: the same base (size and lastModified: another
        writer's new base of the same size has another time) and the same append files (their
        names are random). Only with appends of this process: a base alone is simply read."""
        if not self.parts or base_mtime != self.base_mtime:
            return False
        if self.base_mtime is not None and base_size != len(self.base):
            return False
        return sorted(appends) == sorted(p for p, _ in self.parts)

    def content(self) -> bytes:
        return self.base + b"".join(data for _, data in self.parts)


def _generation(base: bytes) -> str:
    return hashlib.sha256(base).hexdigest()[:16]


def _append_owner(relative: str) -> Optional[str]:
    """The blob an append file belongs to (`.appends/<name>/<generation>/<file>`), else None."""
    parts = relative.split("/")
    if len(parts) < 4 or parts[0] != APPENDS:
        return None
    return "/".join(parts[1:-2])


def _append_order(relative: str) -> tuple[int, str]:
    counter, _, rest = relative.split("/")[-1].partition("-")
    return (int(counter) if counter.isdigit() else -1, rest)


def _is_blob_name(name: str) -> bool:
    try:
        check_blob_name(name)
    except StateError:
        return False
    return True


class DssMutexLocker(Locker):
    """The state lock, made safe without conditional writes by DSS's own name uniqueness.

    Mutual exclusion: taking the lock creates a dataset with a fixed name (`mutex_name`) in the
    state's project. DSS refuses to create a second dataset of the same name in a project, and
    does so on the server in one request, so of N concurrent creators exactly one succeeds; the
    lock is held while that dataset exists. Releasing deletes it.

    Description (the lease): the winner then writes `lock.json` (the usual LockInfo: id, who,
    operation, times) plus the `creationTag` of its dataset, which binds the lease to this
    instance of the mutex. A lease that does not match the current dataset is stale and ignored;
    a dataset without a matching lease (the winner is between its two calls, or died there) is
    described from DSS's creationTag alone (the login that created it, and when) under the id
    `unleased-<hash>`, which `state unlock` accepts like any other lock id.
    """

    read_retries = 1

    def __init__(self, store: ManagedFolderBlobStore, *, environment: str, clock: Clock = utc_now):
        super().__init__(store, environment=environment, clock=clock)
        self.mf_store = store
        self._mutex_name: Optional[str] = None

    @property
    def mutex_name(self) -> str:
        # From the folder's id, not its configured reference: naming the folder by name in one
        # config and by id in another must still give one lock.
        if self._mutex_name is None:
            store = self.mf_store
            self._mutex_name = mutex_name(store.project_key, store.folder_id, store.prefix, self.environment)
        return self._mutex_name

    # -- DSS calls --------------------------------------------------------------------------
    def _project(self) -> Any:
        return self.mf_store.client().get_project(self.mf_store.project_key)

    def _mutex_doc(self) -> Optional[dict[str, Any]]:
        """The mutex dataset's document, or None; existence from the list endpoint."""
        items = self.mf_store._call(self._project().list_datasets, "list the datasets (state lock)")
        for item in items:
            if item.get("name") == self.mutex_name:
                return dict(item)
        return None

    def _create_mutex(self) -> bool:
        try:
            self._project().create_dataset(self.mutex_name, "Inline", params={})
            return True
        except Exception as exc:  # dataikuapi raises plain exceptions; decide from DSS's list
            error = classify(exc)
            if self._mutex_doc() is not None:
                return False
            raise StateError(f"cannot take the state lock in {self.store.describe()}: {error}") from None

    def _label_mutex(self, info: LockInfo) -> dict[str, Any]:
        """Describe the dataset for people looking at the Flow; returns its creationTag."""
        dataset = self._project().get_dataset(self.mutex_name)
        settings = dataset.get_settings()
        raw = settings.get_raw()
        raw["description"] = (
            f"Lock of the dataiku-iac state of environment {self.environment!r} ({self.store.describe()}), "
            f"held by {info.who} for {info.operation!r}. Do not delete: release it with "
            f"`dataiku-iac state unlock {info.id} -e {self.environment}` or the plugin's state macro."
        )
        raw["tags"] = sorted(set(raw.get("tags") or []) | {LOCK_TAG})
        settings.save()
        return dict(raw.get("creationTag") or {})

    def _drop_mutex(self) -> None:
        self.mf_store._call(
            lambda: self._project().get_dataset(self.mutex_name).delete(drop_data=False),
            "delete the lock dataset",
        )

    # -- Locker -----------------------------------------------------------------------------
    def acquire(self, operation: str, *, ttl_seconds: int) -> LockInfo:
        mine = LockInfo.mine(operation, backend=self.store.describe(), ttl_seconds=ttl_seconds, now=self.clock())
        mine.who = f"{self._login()}@{socket.gethostname()}"
        if not self._create_mutex():
            holder = self.current()
            if holder is None:
                raise LockError(
                    f"could not take the state lock in {self.store.describe()}: another run took and "
                    f"released it meanwhile; try again",
                    contended=True,
                )
            raise self._held_error(holder)
        try:
            tag = self._label_mutex(mine)
            self.store.put(LOCK_BLOB, _lease_bytes(mine, self.mutex_name, tag))
        except BaseException:
            self._drop_mutex()  # we hold it: undo rather than leave an unleased mutex behind
            raise
        return mine

    def _login(self) -> str:
        try:
            return str(self.mf_store.client().get_auth_info().get("authIdentifier") or "unknown")
        except Exception:
            return "unknown"

    def current(self) -> Optional[LockInfo]:
        deadline = time.monotonic() + LEASE_WAIT_SECONDS
        while True:
            mutex = self._mutex_doc()
            if mutex is None:
                return None
            lease = self._lease()
            tag = mutex.get("creationTag") or {}
            if lease is not None and lease[1].get("mutex") == _mutex_ref(self.mutex_name, tag):
                return lease[0]
            if time.monotonic() >= deadline:
                return _unleased(self.mutex_name, tag, self.store.describe())
            time.sleep(0.1)  # the holder writes its lease right after creating the mutex

    def _lease(self) -> Optional[tuple[LockInfo, dict[str, Any]]]:
        raw = self.store.get(LOCK_BLOB)
        if raw is None:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            return None
        info = LockInfo.from_bytes(raw)
        return (info, data) if not info.id.startswith("unreadable-") else None

    def refresh(self, lock_id: str, *, ttl_seconds: int) -> LockInfo:
        with self._mutex:
            holder = self._require(lock_id, "refresh the state lock")
            lease = self._lease()
            if lease is None or lease[0].id != lock_id:
                raise LockError(f"cannot refresh the state lock {lock_id}: its lease is gone")
            data = dict(lease[1])
            data["expires"] = iso(self.clock() + timedelta(seconds=ttl_seconds))
            self.store.put(LOCK_BLOB, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
            holder.expires = data["expires"]
            return holder

    def release(self, lock_id: str) -> None:
        with self._mutex:
            self._require(lock_id, "release the state lock")
            # The lease goes first: a crash in between leaves an unleased mutex (still held,
            # releasable by its id), never a lease that a new holder's mutex could be mistaken for.
            self.store.delete(LOCK_BLOB)
            self._drop_mutex()


def _mutex_ref(name: str, tag: dict[str, Any]) -> dict[str, Any]:
    by = (tag.get("lastModifiedBy") or {}).get("login")
    return {"dataset": name, "created_on": tag.get("lastModifiedOn"), "created_by": by}


def _lease_bytes(info: LockInfo, name: str, tag: dict[str, Any]) -> bytes:
    data = info.to_json()
    data["mutex"] = _mutex_ref(name, tag)
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


def _unleased(name: str, tag: dict[str, Any], backend: str) -> LockInfo:
    ref = _mutex_ref(name, tag)
    digest = hashlib.sha256(json.dumps(ref, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    created = _from_millis(ref["created_on"])
    return LockInfo(
        id=f"unleased-{digest}",
        operation="<lock taken; its holder has not described it (yet)>",
        who=str(ref["created_by"] or "<unknown>"),
        pid=0,
        created=created,
        expires=created,
        tool_version="<unknown>",
        backend=backend,
    )


def _from_millis(value: Any) -> str:
    try:
        return iso(datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc))
    except (TypeError, ValueError, OverflowError):
        return "1970-01-01T00:00:00Z"


def mutex_name(project_key: str, folder: str, prefix: str, environment: str) -> str:
    """The lock dataset's name: readable, valid for DSS, unique per state location."""
    digest = hashlib.sha256(f"{project_key}\0{folder}\0{prefix}\0{environment}".encode()).hexdigest()[:10]
    env = re.sub(r"[^A-Za-z0-9]", "_", environment)[:40]
    return f"IAC_LOCK_{env}_{digest}"


def open_managed_folder(
    spec: dict[str, Any], *, environment: str, config_root: Path, connection: ConnectionSource = None

) -> StateWriter:
    """The `managed_folder` backend factory (see the module docstring for the spec)."""
    unknown = sorted(set(spec) - SPEC_KEYS)
    if unknown:
        raise StateError(f"managed_folder state backend: unknown option(s) {', '.join(unknown)} (known: project_key, folder, path)")
    folder = spec.get("folder")
    if not isinstance(folder, str) or not folder.strip():
        raise StateError("managed_folder state backend: 'folder' (a managed folder name or id) is required")
    project_key = spec.get("project_key") or _current_project()
    path = spec.get("path") or ""
    if not isinstance(path, str) or any(p in (".", "..") for p in path.split("/")):
        raise StateError(f"managed_folder state backend: invalid path {path!r}")
    if connection is None:
        raise StateError("the managed_folder state backend needs a DSS connection (DKU_DSS_URL and DKU_API_KEY)")
    prefix = "/".join(p for p in (path.strip("/"), environment) if p)
    store = ManagedFolderBlobStore(connection, project_key, folder, prefix)
    return StateWriter(store, environment=environment, locker=DssMutexLocker(store, environment=environment))


def _unauthorized(exc: IacError) -> bool:
    return isinstance(exc, DssPermissionError) or getattr(exc, "error_type", "").endswith(
        ("UnauthorizedException", "NotAuthorizedException")
    )


def _current_project() -> str:
    key = os.environ.get("DKU_CURRENT_PROJECT_KEY")
    if not key:
        raise StateError(
            "managed_folder state backend: set state.project_key (no current DSS project to default to)"
        )
    return key


register_backend(BACKEND, open_managed_folder)
