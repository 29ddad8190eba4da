"""State storage: the reader/writer API over a BlobStore, and the backend registry.

Layout inside a store (docs/state-format.md, "Layout"):

    state.json                    the current state (the pointer: what every command reads)
    history/0000000007.json       every serial ever written, the current one included
    journal.jsonl                 the running (or interrupted) apply's intents and outcomes
    journal.corrupted             quarantined unreadable journal lines, kept for forensics
    lock.json                     present while an apply holds the lock
    orphaned/, corrupted/         blobs set aside by recovery, never deleted by the tool

A write puts `history/<serial>.json` first and `state.json` last, each atomically: a crash in
between leaves a complete previous `state.json` plus one uncommitted history entry (serial+1),
which readers ignore and the next write sets aside under `orphaned/`.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from dataiku_iac import __version__, defaults
from dataiku_iac import secrets as fp
from dataiku_iac.errors import LockError, StateConflictError, StateCorruptError, StateError
from dataiku_iac.model import StateHome
from dataiku_iac.state import journal as jrn
from dataiku_iac.state.blobs import BlobStore, LocalBlobStore
from dataiku_iac.state.journal import JournalRead, replay
from dataiku_iac.state.lock import Clock, LocalLocker, Locker, LockInfo, iso, utc_now
from dataiku_iac.state.model import FORMAT_VERSION, StateDocument, parse_state, peek_header

__all__ = [
    "BlobStore",
    "HistoryEntry",
    "JournalRead",
    "LocalBlobStore",
    "LockInfo",
    "Locker",
    "StateReader",
    "StateWriter",
    "known_backends",
    "open_state",
    "register_backend",
    "replay",
]

STATE_BLOB = "state.json"
_HISTORY_RE = re.compile(r"^history/(\d{10})\.json$")


def history_blob(serial: int) -> str:
    return f"history/{serial:010d}.json"


@dataclass
class HistoryEntry:
    """One kept serial. `error` is set (and the other fields best-effort) if that file is unreadable."""

    serial: int
    lineage: str
    written_at: str | None
    resource_count: int
    operation: str | None
    error: str | None = None


class StateReader:
    """Read-only access to one environment's state: what planner, drift and read commands get."""

    def __init__(
        self,
        store: BlobStore,
        *,
        environment: str,
        locker: Locker | None = None,
        clock: Clock = utc_now,
    ):
        self.store = store
        self.environment = environment
        self.clock = clock
        self.locker = locker or Locker(store, environment=environment, clock=clock)
        # sha256 of the state.json bytes this object last validated (or wrote) -> (serial, lineage,
        # fingerprint key): lets a write re-check the stored serial without re-validating 10,000
        # resources.
        self._validated: tuple[str, int, str | None, str | None] = ("", 0, None, None)
        # The lineage and fingerprint key of a state not written yet, and the key of a format-1
        # state (which has none): chosen once per reader, so every read of one run agrees (the
        # plan and the apply of a run fingerprint secrets under the same key); the next write
        # stores them.
        self._unwritten_doc: StateDocument | None = None
        self._new_key = fp.new_key()

    # -- messages ---------------------------------------------------------------------------

    def _source(self, name: str) -> str:
        return f"{name} in {self.store.describe()}"

    def _recovery_hint(self) -> str:
        env = self.environment
        return (
            f"Run `dataiku-iac state history -e {env}` to list the kept serials, then "
            f"`dataiku-iac state restore SERIAL -e {env}` to restore one as a new serial (the state only; "
            f"DSS is not changed)."
        )

    # -- state ------------------------------------------------------------------------------

    def _parse(self, raw: bytes, name: str) -> StateDocument:
        try:
            doc = parse_state(raw, self._source(name))
        except StateCorruptError as exc:
            raise StateCorruptError(f"{exc} {self._recovery_hint()}") from None
        if doc.environment != self.environment:
            raise StateConflictError(
                f"{self._source(name)}: this state belongs to environment {doc.environment!r}, "
                f"not {self.environment!r}; check the state backend path in the configuration"
            )
        return doc

    def _history_serials(self) -> list[int]:
        serials = []
        for name in self.store.list("history/"):
            match = _HISTORY_RE.match(name)
            if match:
                serials.append(int(match.group(1)))
        return sorted(serials)

    def _read_stored(self) -> StateDocument | None:
        """The stored document, None if nothing was ever committed; StateError if anything is off."""
        raw = self.store.get(STATE_BLOB)
        serials = self._history_serials()
        if raw is None:
            # history/1 alone is the first write interrupted before its pointer: nothing committed.
            if serials and serials[-1] > 1:
                raise StateCorruptError(
                    f"{self._source(STATE_BLOB)} is missing but the history holds serials up to "
                    f"{serials[-1]}: the state was deleted or lost. {self._recovery_hint()}"
                )
            return None
        doc = self._parse(raw, STATE_BLOB)
        self._check_history_ahead(doc.serial, serials)
        self._check_matches_history(raw, doc, serials)
        self._validated = (hashlib.sha256(raw).hexdigest(), doc.serial, doc.lineage, doc.fingerprint_key)
        return doc

    def _check_matches_history(self, raw: bytes, doc: StateDocument, serials: list[int]) -> None:
        """Every commit writes the same bytes to history/<serial>.json and state.json, so a
        state.json that differs from its history entry was changed outside dataiku-iac: a state
        copied from elsewhere (another lineage), a hand edit, or damage that still parses (a
        flipped character in an id). Planning from it could delete or recreate objects."""
        if doc.serial not in serials:
            return  # that history entry was pruned by hand: nothing to compare with
        name = history_blob(doc.serial)
        kept = self.store.get(name)
        if kept is None or kept == raw:
            return
        try:
            kept_lineage = peek_header(kept, self._source(name))["lineage"]
        except StateError:
            kept_lineage = None
        what = (
            f"it is lineage {doc.lineage}, the history of this state is lineage {kept_lineage}: a state from elsewhere"
            if kept_lineage is not None and kept_lineage != doc.lineage
            else "it was edited or damaged after it was written"
        )
        raise StateCorruptError(
            f"{self._source(STATE_BLOB)}: serial {doc.serial} differs from {name}, which was written with "
            f"the same bytes; {what}. {self._recovery_hint()}"
        )

    def _check_history_ahead(self, serial: int, serials: list[int]) -> None:
        # serial+1 may be an interrupted write (history goes first); anything newer means the
        # current file was replaced by an older copy, and applying from it would undo changes.
        if serials and serials[-1] > serial + 1:
            raise StateCorruptError(
                f"{self._source(STATE_BLOB)}: serial {serial} is lower than the newest history "
                f"entry {serials[-1]}: the state file was replaced by an older copy. {self._recovery_hint()}"
            )

    def _stored_head(self) -> tuple[int, str | None]:
        """(serial, lineage) of the stored state, (0, None) if none; as strict as `_read_stored`,
        but skips re-validating bytes this object has already validated."""
        serial, lineage, _key = self._stored_head_and_key()
        return serial, lineage

    def _stored_head_and_key(self) -> tuple[int, str | None, str | None]:
        """(serial, lineage, fingerprint key) of the stored state: (0, None, None) if none, the key
        None for a format-1 state."""
        raw = self.store.get(STATE_BLOB)
        if raw is not None and hashlib.sha256(raw).hexdigest() == self._validated[0]:
            self._check_history_ahead(self._validated[1], self._history_serials())
            return self._validated[1], self._validated[2], self._validated[3]
        stored = self._read_stored()
        return (stored.serial, stored.lineage, stored.fingerprint_key) if stored is not None else (0, None, None)

    def read(self) -> StateDocument:
        """The current state, always with a fingerprint key.

        Nothing written yet: a new empty document (serial 0), the same lineage and key for every
        read through this object, or those an interrupted first apply journaled. A format-1 state
        (no key yet) gets a key the same way; the next write stores it."""
        stored = self._read_stored()
        if stored is None:
            return self._unwritten()
        if stored.fingerprint_key is None:
            stored.fingerprint_key = self._pending_key(stored.lineage)
        return stored

    def _journaled_key(self, lineage: str | None) -> dict[str, Any] | None:
        """The header of a journal that recorded the fingerprint key of a state that stores none
        (an interrupted first apply, or the first apply after an upgrade): its records are
        fingerprinted under that key. `lineage` None: a state never written (base serial 0)."""
        header = jrn.journal_key_header(self.store.get(jrn.JOURNAL_BLOB))
        if header is None:
            return None
        if lineage is None and header["base_serial"] != 0:
            return None
        if lineage is not None and header["lineage"] != lineage:
            return None
        return header

    def _pending_key(self, lineage: str) -> str:
        header = self._journaled_key(lineage)
        return header["fingerprint_key"] if header is not None else self._new_key

    def _unwritten(self) -> StateDocument:
        header = self._journaled_key(None)
        if header is not None:
            return StateDocument.new(self.environment, lineage=header["lineage"], fingerprint_key=header["fingerprint_key"])
        if self._unwritten_doc is None:
            self._unwritten_doc = StateDocument.new(self.environment, fingerprint_key=self._new_key)
        return self._unwritten_doc.copy()

    def read_serial(self, serial: int) -> StateDocument:
        name = history_blob(serial)
        raw = self.store.get(name)
        if raw is None:
            raise StateError(
                f"no serial {serial} in the history of {self.store.describe()}; "
                f"run `dataiku-iac state history -e {self.environment}` to list the kept serials"
            )
        doc = self._parse(raw, name)
        if doc.serial != serial:
            raise StateCorruptError(f"{self._source(name)}: holds serial {doc.serial}, not {serial}")
        return doc

    def history(self) -> list[HistoryEntry]:
        """Every kept serial, oldest first. Serials beyond the current one (interrupted writes)
        are left out when the current state is readable."""
        raw = self.store.get(STATE_BLOB)
        try:
            limit = peek_header(raw, self._source(STATE_BLOB))["serial"] if raw is not None else None
        except StateError:
            limit = None
        # With state.json missing or damaged, show everything: the user is choosing a rollback.
        entries = []
        for serial in self._history_serials():
            if limit is not None and serial > limit:
                continue
            entries.append(self.history_entry(serial))
        return entries

    def history_entry(self, serial: int) -> HistoryEntry:
        """The header of one kept serial (its resources are not validated: cheap)."""
        name = history_blob(serial)
        try:
            data = peek_header(self.store.get(name) or b"", self._source(name))
            return HistoryEntry(serial, data["lineage"], data.get("written_at"), len(data["resources"]), data.get("operation"))
        except StateError as exc:
            return HistoryEntry(serial, "", None, 0, None, error=str(exc))

    def home(self) -> StateHome | None:
        """Where the state is kept in DSS, if it is (the managed_folder backend): a plan never
        deletes that folder or its project."""
        home = getattr(self.store, "home", None)
        return home() if callable(home) else None

    # -- lock and journal (read-only views) ------------------------------------------------

    def current_lock(self) -> LockInfo | None:
        return self.locker.current()

    def read_journal(self) -> JournalRead:
        """The journal classified against the stored state. Never modifies anything, so it is safe
        while an apply is running elsewhere (an in-flight last line shows up as torn)."""
        serial, lineage = self._stored_head()
        return jrn.classify(
            self.store.get(jrn.JOURNAL_BLOB),
            source=self._source(jrn.JOURNAL_BLOB),
            stored_serial=serial,
            stored_lineage=lineage,
            hint=self._journal_hint(),
        )

    def _journal_hint(self) -> str:
        return (
            f"Inspect it, move it aside if it is not needed, and run `dataiku-iac state show -e "
            f"{self.environment}` to check the state before applying again."
        )


class StateWriter(StateReader):
    """Read-write access: handed only to the applier and to state-mutating CLI commands.

    Callers hold the lock (`lock`) around writes; the serial check in `write` catches a writer
    that ignored it, and a lost lock is detected before each write.
    """

    def __init__(self, store: BlobStore, *, environment: str, locker: Locker | None = None, clock: Clock = utc_now):
        super().__init__(store, environment=environment, locker=locker, clock=clock)
        self._lock_id: str | None = None
        self._lock_ttl = 3600
        self._journal_open = False

    # -- writes -----------------------------------------------------------------------------

    def write(self, doc: StateDocument, *, expected_serial: int, operation: str) -> StateDocument:
        """Commit `doc` as serial expected_serial + 1 and return the document as written."""
        if doc.environment != self.environment:
            raise StateConflictError(
                f"refusing to write a state of environment {doc.environment!r} into {self.store.describe()} "
                f"(environment {self.environment!r})"
            )
        self._check_lock_held()
        current, lineage, key = self._stored_head_and_key()
        if lineage is not None and doc.lineage != lineage:
            raise StateConflictError(
                f"refusing to write state lineage {doc.lineage} over lineage {lineage} in "
                f"{self.store.describe()}: it is a different state, not a newer version of this one"
            )
        if doc.fingerprint_key is None:  # a format-1 document: it takes its lineage's key
            doc = doc.copy()
            doc.fingerprint_key = key or self._pending_key(doc.lineage)
        elif key is not None and doc.fingerprint_key != key:
            # Its secret fingerprints were made under another key: they would all read as changed.
            raise StateConflictError(
                f"refusing to write state lineage {doc.lineage} with a secret fingerprint key other than "
                f"the one {self.store.describe()} holds for it (a lineage keeps one key)"
            )
        if expected_serial != current:
            raise StateConflictError(
                f"refusing to write: expected stored serial {expected_serial} but "
                f"{self.store.describe()} is at serial {current}; another run wrote the state meanwhile. "
                f"Plan again from the current state."
            )
        return self._commit(doc, serial=current + 1, operation=operation)

    def _commit(self, doc: StateDocument, *, serial: int, operation: str) -> StateDocument:
        if doc.fingerprint_key is None:  # a format-1 document: its lineage gets its key now
            doc = doc.copy()
            doc.fingerprint_key = self._pending_key(doc.lineage)
        data = doc.to_json()
        data.update(
            format_version=FORMAT_VERSION,
            tool_version=__version__,
            serial=serial,
            written_at=iso(self.clock()),
            operation=operation,
        )
        # Never write what we could not read back.
        written = StateDocument.from_json(data, "the document to write")
        raw = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        self._set_aside(history_blob(serial), "orphaned")
        self.store.put(history_blob(serial), raw)
        self.store.put(STATE_BLOB, raw)
        self._validated = (hashlib.sha256(raw).hexdigest(), written.serial, written.lineage, written.fingerprint_key)
        return written

    def _set_aside(self, name: str, folder: str) -> None:
        """Move a blob we are about to replace to `folder/` so nothing is ever silently lost."""
        raw = self.store.get(name)
        if raw is None:
            return
        stamp = iso(self.clock()).replace(":", "").replace("-", "")
        base = name.replace("/", "_")
        self.store.put(f"{folder}/{stamp}-{base}", raw)
        self.store.delete(name)

    def restore(self, serial: int, *, operation: str) -> StateDocument:
        """Write history serial `serial` back as a new serial (same lineage).

        Works when state.json itself is corrupt or missing: the new serial then follows the
        newest history entry and the damaged file is kept under corrupted/.
        """
        snapshot = self.read_serial(serial)
        self._check_lock_held()
        try:
            base, lineage, key = self._stored_head_and_key()
            self._refuse_unreplayed_journal("roll back")
        except StateCorruptError:
            # The case rollback exists for: continue after everything kept, set the damage aside.
            base, lineage = max(self._history_serials(), default=0), None
            key = self._newest_kept_key(snapshot.lineage)
            self._set_aside(STATE_BLOB, "corrupted")
        if lineage is not None and lineage != snapshot.lineage:
            raise StateConflictError(
                f"history serial {serial} has lineage {snapshot.lineage}, the current state {lineage}"
            )
        # A serial written before the lineage had a key (format 1) comes back under the lineage's key.
        snapshot.fingerprint_key = key or snapshot.fingerprint_key
        return self._commit(snapshot, serial=base + 1, operation=f"{operation} (restored serial {serial})")

    def _newest_kept_key(self, lineage: str) -> str | None:
        """The fingerprint key of the newest readable history entry of `lineage` (state.json is
        damaged): the lineage's key, which a restored serial must keep."""
        for serial in reversed(self._history_serials()):
            try:
                data = peek_header(self.store.get(history_blob(serial)) or b"", self._source(history_blob(serial)))
            except StateError:
                continue
            if data["lineage"] == lineage and data.get("fingerprint_key"):
                return str(data["fingerprint_key"])
        return None

    # -- lock -------------------------------------------------------------------------------

    #: how long `lock` keeps trying while another run holds the lock (`--lock-timeout`); 0: fail at once
    lock_wait_seconds: float = 0.0
    #: told once, with the holder's error, when `lock` starts waiting
    on_lock_wait: Callable[[LockError], None] = staticmethod(lambda error: None)

    def lock(self, operation: str, *, ttl_seconds: int = 3600) -> LockInfo:
        info = self._acquire_waiting(operation, ttl_seconds)
        self._lock_id, self._lock_ttl = info.id, ttl_seconds
        return info

    def _acquire_waiting(self, operation: str, ttl_seconds: int) -> LockInfo:
        """Take the lock; while another run holds it, retry until `lock_wait_seconds` ran out.
        Backs off from 0.25 s to 5 s between attempts, like Terraform's -lock-timeout."""
        deadline = time.monotonic() + self.lock_wait_seconds
        delay, waiting = 0.25, False
        while True:
            try:
                return self.locker.acquire(operation, ttl_seconds=ttl_seconds)
            except LockError as error:
                remaining = deadline - time.monotonic()
                if not error.contended or remaining <= 0:
                    if waiting:
                        raise LockError(
                            f"{error} (still held after waiting {self.lock_wait_seconds:g} s, --lock-timeout)",
                            holder=error.holder, contended=True,
                        ) from None
                    raise
                if not waiting:
                    self.on_lock_wait(error)
                    waiting = True
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 5.0)

    def refresh_lock(self, lock_id: str, *, ttl_seconds: int | None = None) -> None:
        self.locker.refresh(lock_id, ttl_seconds=ttl_seconds or self._lock_ttl)

    def unlock(self, lock_id: str) -> None:
        self.locker.release(lock_id)
        if lock_id == self._lock_id:
            self._lock_id = None

    def _check_lock_held(self) -> None:
        """If this writer took the lock, refuse to write once it has lost it (pulumi#5377)."""
        if self._lock_id is None:
            return
        holder = self.locker.current()
        if holder is None or holder.id != self._lock_id:
            raise LockError(
                f"the state lock {self._lock_id} taken by this run was released or taken over; "
                f"refusing to write the state of {self.environment!r}",
                holder=holder.to_json() if holder else None,
            )

    # -- journal ----------------------------------------------------------------------------

    def read_journal(self) -> JournalRead:
        """As StateReader.read_journal; in addition, when this writer holds the lock, corrupt lines
        and a torn last line are moved to journal.corrupted (the result still reports them)."""
        jr = super().read_journal()
        if self._lock_id is not None and jr.header and (jr.corrupt_lines or jr.torn_line):
            self._quarantine(jr)
            lines = [jrn.encode_line(jr.header)] + [jrn.encode_line(e) for e in jr.entries]
            self.store.put(jrn.JOURNAL_BLOB, b"".join(lines))
        return jr

    def _quarantine(self, jr: JournalRead) -> None:
        records = [("corrupt", line) for line in jr.corrupt_lines]
        if jr.torn_line is not None:
            records.append(("torn", jr.torn_line))
        if not records:
            return
        now = iso(self.clock())
        payload = b"".join(
            jrn.encode_line({"quarantined_at": now, "reason": reason, "line": line}) for reason, line in records
        )
        self.store.append(jrn.CORRUPTED_BLOB, payload)

    def _refuse_unreplayed_journal(self, doing: str) -> None:
        """Moving the serial on would make a journal with unreplayed outcomes stale, silently
        dropping DSS changes it records: refuse until it is compacted."""
        jr = super().read_journal()
        if jr.status == jrn.OK and jr.outcomes():
            raise StateConflictError(
                f"cannot {doing}: {jr.source} holds {len(jr.outcomes())} outcomes of an interrupted "
                f"{jr.operation!r} run not yet in the state; run `dataiku-iac apply -e {self.environment} --resume` first"
            )

    def journal_begin(self, *, base_serial: int, lineage: str, operation: str, fingerprint_key: str | None = None) -> None:
        """Start a journal for a run on top of serial `base_serial`. Refuses to drop a journal that
        still holds unreplayed outcomes or unresolved intents (compact it first)."""
        existing = super().read_journal()
        existing.raise_for_status()
        if existing.status == jrn.OK or existing.pending_intents():
            raise StateConflictError(
                f"{existing.source} holds {len(existing.entries)} entries from an interrupted "
                f"{existing.operation!r} run: replay and reconcile it (compact_journal) before starting another"
            )
        if base_serial != existing.stored_serial or (existing.stored_lineage not in (None, lineage)):
            raise StateConflictError(
                f"cannot start a journal on serial {base_serial} lineage {lineage}: the stored state is "
                f"serial {existing.stored_serial} lineage {existing.stored_lineage}"
            )
        self._quarantine(existing)
        header = jrn.header_line(
            lineage=lineage, base_serial=base_serial, operation=operation, started_at=iso(self.clock()),
            fingerprint_key=fingerprint_key,
        )
        self.store.put(jrn.JOURNAL_BLOB, header)
        self._journal_open = True

    def journal_append(self, entry: dict[str, Any], *, sync: bool = True) -> None:
        """Append one entry: O(entry) bytes written, nothing proportional to the state.

        With `sync=False` the entry may not be durable before `journal_sync()` returns, where the
        backend can split the two (the local one: concurrent appenders then share fsyncs)."""
        if not self._journal_open:
            raise StateError("journal_append before journal_begin: no journal is open in this run")
        data = jrn.check_entry(entry)
        unsynced = None if sync else getattr(self.store, "append_unsynced", None)
        if callable(unsynced):
            unsynced(jrn.JOURNAL_BLOB, data)
        else:
            self.store.append(jrn.JOURNAL_BLOB, data)

    def journal_sync(self) -> None:
        """Make every entry appended with `sync=False` durable."""
        sync = getattr(self.store, "sync_appends", None)
        if callable(sync):
            sync(jrn.JOURNAL_BLOB)

    def journal_clear(self) -> None:
        """Delete the journal, first moving any unreadable or torn lines to journal.corrupted."""
        chunks = self._journal_chunks()
        if chunks is not None:
            jr = jrn.scan(chunks, source=jrn.JOURNAL_BLOB, stored_serial=0, stored_lineage=None, keep_entries=False)
            self._quarantine(jr)
            self.store.delete(jrn.JOURNAL_BLOB)
        self._journal_open = False

    def _journal_chunks(self) -> Iterable[bytes] | None:
        """The journal as a stream of chunks where the backend can stream it, else whole."""
        read_chunks = getattr(self.store, "read_chunks", None)
        if callable(read_chunks):
            chunks: Iterable[bytes] | None = read_chunks(jrn.JOURNAL_BLOB)
            return chunks
        raw = self.store.get(jrn.JOURNAL_BLOB)
        return None if raw is None else [raw]

    def _scan_journal(self) -> JournalRead:
        """The journal classified without keeping its entries (see `journal.scan`)."""
        serial, lineage = self._stored_head()
        return jrn.scan(
            self._journal_chunks(),
            source=self._source(jrn.JOURNAL_BLOB),
            stored_serial=serial,
            stored_lineage=lineage,
            hint=self._journal_hint(),
            keep_entries=False,
        )

    def compact_journal(self, *, operation: str = "replay journal") -> JournalRead:
        """Fold a leftover journal into the state; returns what was found.

        ok: successful outcomes are replayed into a new serial. stale/empty/header_only: nothing to
        replay. In every case, intents that never got an outcome are kept in a fresh journal on
        the new serial, so the reconciler can still check them against DSS; otherwise the journal
        is cleared. future/lineage_mismatch/corrupt: StateError, nothing touched.

        The journal is first read as a stream, keeping only the intents without an outcome (the
        end of an apply compacts 2 entries per action); it is read whole only when it must be
        replayed or has lines to quarantine.
        """
        jr = self._scan_journal()
        if jr.corrupt_lines or jr.torn_line is not None or (jr.status == jrn.OK and jr.outcome_count):
            jr = self.read_journal()
        jr.raise_for_status()
        if jr.status == jrn.NONE:
            return jr
        base, lineage = jr.stored_serial, jr.stored_lineage or jr.lineage
        key = (jr.header or {}).get("fingerprint_key")
        if jr.status == jrn.OK and jr.outcome_count:
            doc = self.read()  # the lineage and key the journal recorded, if nothing stores them
            if base == 0:
                doc.lineage = jr.lineage or doc.lineage
            replayed = replay(doc, jr.entries)
            if replayed.resources != doc.resources:
                label = f"{operation} of interrupted {jr.operation}"
                written = self.write(replayed, expected_serial=base, operation=label)
                base, lineage = written.serial, written.lineage
        pending = jr.pending_intents()
        if not pending:
            self.journal_clear()
            return jr
        header = jrn.header_line(
            lineage=lineage or "", base_serial=base, operation=jr.operation or operation, started_at=iso(self.clock()),
            fingerprint_key=key,
        )
        self.store.put(jrn.JOURNAL_BLOB, header + b"".join(jrn.encode_line(e) for e in pending))
        self._journal_open = True
        return jr


# -- backends -----------------------------------------------------------------------------

BackendFactory = Callable[..., StateWriter]
_BACKENDS: dict[str, BackendFactory] = {}
_ENV_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make `backend: <name>` available. `factory(spec, *, environment, config_root)` returns a
    StateWriter over that backend's BlobStore (and its own Locker if it lacks atomic create).
    A backend stored in DSS also declares a `connection` keyword (see `open_state`)."""
    _BACKENDS[name] = factory


def known_backends() -> list[str]:
    return sorted(_BACKENDS)


def open_state(
    backend_spec: dict[str, Any], *, environment: str, config_root: Path, connection: object | None = None
) -> StateWriter:
    """The state of `environment` as configured by the `state:` block of iac.yml.

    `connection` (a `DssConnection`, or a zero-argument callable returning one) is handed to
    backends that live in DSS; a factory receives it only if it declares a `connection`
    keyword, so local backends never need DSS credentials.
    """
    if not _ENV_RE.match(environment or ""):
        raise StateError(f"invalid environment name {environment!r} for a state location")
    spec = dict(backend_spec or {})
    name = spec.get("backend", defaults.STATE_BACKEND)
    factory = _BACKENDS.get(name)
    if factory is None:
        raise StateError(f"unknown state backend {name!r}; known backends: {', '.join(known_backends())}")
    if connection is not None and _accepts_connection(factory):
        return factory(spec, environment=environment, config_root=Path(config_root), connection=connection)
    return factory(spec, environment=environment, config_root=Path(config_root))


def _accepts_connection(factory: BackendFactory) -> bool:
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return "connection" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _open_local(spec: dict[str, Any], *, environment: str, config_root: Path) -> StateWriter:

    unknown = sorted(set(spec) - {"backend", "path"})
    if unknown:
        raise StateError(f"local state backend: unknown option(s) {', '.join(unknown)} (known: path)")
    path = spec.get("path", defaults.LOCAL_STATE_PATH)
    if not isinstance(path, str) or not path:
        raise StateError(f"local state backend: path must be a non-empty string, got {path!r}")
    directory = config_root / path / environment
    root = Path(config_root).resolve()
    if Path(path).is_absolute() or not directory.resolve().is_relative_to(root):
        # The config loader reports this with the file and line of the setting; this is the backstop.
        raise StateError(
            f"local state backend: path {path!r} is outside the configuration directory {root}; use a path "
            f"relative to it (default {defaults.LOCAL_STATE_PATH}), or a managed_folder or s3 backend"
        )
    store = LocalBlobStore(directory, label=str(Path(path) / environment))
    return StateWriter(store, environment=environment, locker=LocalLocker(store, str(directory), environment=environment))


register_backend(defaults.STATE_BACKEND, _open_local)
