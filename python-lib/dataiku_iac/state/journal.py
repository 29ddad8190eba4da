"""The apply journal: an append-only JSON-lines log of per-action intents and outcomes.

The executor writes an intent before each DSS call and an outcome after it, one line each, so a
checkpoint costs O(entry) instead of rewriting the state (terraform#35113). The next run
classifies the journal against the stored state the way Databricks bundles classify their WAL
(`bundle/direct/dstate`), replays the successful outcomes into a new state serial, and hands the
intents that never got an outcome to the reconciler, which checks them against live DSS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dataiku_iac import secrets as fp
from dataiku_iac.errors import StateConflictError, StateCorruptError, StateError
from dataiku_iac.state.model import ResourceState, StateDocument, address_problem

JOURNAL_BLOB = "journal.jsonl"
CORRUPTED_BLOB = "journal.corrupted"
JOURNAL_VERSION = 1
KINDS = ("intent", "outcome")
# Actions whose successful outcome without a `resource` means "no longer in state".
REMOVING_ACTIONS = ("delete", "forget")

NONE = "none"
EMPTY = "empty"
HEADER_ONLY = "header_only"
OK = "ok"
STALE = "stale"
FUTURE = "future"
LINEAGE_MISMATCH = "lineage_mismatch"
CORRUPT = "corrupt"  # the header itself is unreadable: nothing can be trusted, refuse
REFUSED = (FUTURE, LINEAGE_MISMATCH, CORRUPT)


def header_line(
    *, lineage: str, base_serial: int, operation: str, started_at: str, fingerprint_key: str | None = None
) -> bytes:
    """`fingerprint_key`: the key the run fingerprints secrets under. A state that stores none yet
    (before its first write, or format 1) takes it from here when the run is recovered, since
    the journaled records are fingerprinted under it."""
    header: dict[str, Any] = {
        "journal": JOURNAL_VERSION,
        "lineage": lineage,
        "base_serial": base_serial,
        "operation": operation,
        "started_at": started_at,
    }
    if fingerprint_key is not None:
        header["fingerprint_key"] = fingerprint_key
    return encode_line(header)


def encode_line(entry: dict[str, Any]) -> bytes:
    """One journal line. json.dumps never emits a raw newline, so one entry is always one line."""
    return (json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")


def entry_problem(entry: Any) -> str | None:
    """Why `entry` is not a journal entry, or None. Only seq/kind/address (and ok) are interpreted."""
    if not isinstance(entry, dict):
        return "an entry must be a JSON object"
    seq = entry.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        return f"seq must be a non-negative integer, got {seq!r}"
    if entry.get("kind") not in KINDS:
        return f"kind must be one of {', '.join(KINDS)}, got {entry.get('kind')!r}"
    problem = address_problem(entry.get("address"))
    if problem:
        return problem
    if "ok" in entry and not isinstance(entry["ok"], bool):
        return f"ok must be true or false, got {entry['ok']!r}"
    return None


def _header_problem(header: Any) -> str | None:
    if not isinstance(header, dict) or "journal" not in header:
        return "the first line is not a journal header"
    if header["journal"] != JOURNAL_VERSION:
        return f"journal version {header['journal']!r} is not {JOURNAL_VERSION} (upgrade dataiku-iac?)"
    base = header.get("base_serial")
    if not isinstance(base, int) or isinstance(base, bool) or base < 0:
        return f"base_serial must be a non-negative integer, got {base!r}"
    if not isinstance(header.get("lineage"), str) or not isinstance(header.get("operation"), str):
        return "lineage and operation must be strings"
    if "fingerprint_key" in header:
        return fp.key_problem(header["fingerprint_key"])
    return None


def journal_key_header(raw: bytes | None) -> dict[str, Any] | None:
    """The journal's header if it is readable and records a fingerprint key, else None."""
    if not raw:
        return None
    header = _parse_line(raw.split(b"\n", 1)[0])
    if _header_problem(header) or "fingerprint_key" not in header:
        return None
    return dict(header)


@dataclass
class JournalRead:
    """A journal read and classified against the stored state (never mutates it by itself)."""

    status: str
    source: str
    header: dict[str, Any] | None = None
    entries: list[dict[str, Any]] = field(default_factory=list)
    corrupt_lines: list[str] = field(default_factory=list)
    torn_line: str | None = None
    stored_serial: int = 0
    stored_lineage: str | None = None
    message: str = ""
    # A streamed read (`scan(..., keep_entries=False)`) keeps no entries, only these.
    entry_count: int = 0
    outcome_count: int = 0
    streamed_pending: list[dict[str, Any]] | None = None

    @property
    def lineage(self) -> str | None:
        return self.header.get("lineage") if self.header else None

    @property
    def base_serial(self) -> int | None:
        return self.header.get("base_serial") if self.header else None

    @property
    def operation(self) -> str | None:
        return self.header.get("operation") if self.header else None

    def pending_intents(self) -> list[dict[str, Any]]:
        """Intents with no later outcome for the same address: DSS calls whose result is unknown.

        An outcome resolves the most recent earlier unresolved intent for its address (which is
        also the one with the same seq when the executor reuses the intent's seq).
        """
        if self.streamed_pending is not None:
            return list(self.streamed_pending)
        tracker = PendingIntents()
        for entry in self.entries:
            tracker.add(entry)
        return tracker.pending()

    def outcomes(self) -> list[dict[str, Any]]:
        if self.streamed_pending is not None:
            raise StateError("a streamed journal read keeps no outcomes: read the whole journal to replay it")
        return [e for e in self.entries if e["kind"] == "outcome"]

    def raise_for_status(self) -> None:
        """StateError for the classifications that must stop an apply before any DSS write."""
        if self.status == CORRUPT:
            raise StateCorruptError(self.message)
        if self.status in (FUTURE, LINEAGE_MISMATCH):
            raise StateConflictError(self.message)


class PendingIntents:
    """The intents of a stream of entries still without an outcome, kept as the entries go by."""

    def __init__(self) -> None:
        self._open_by_address: dict[str, list[dict[str, Any]]] = {}

    def add(self, entry: dict[str, Any]) -> None:
        stack = self._open_by_address.setdefault(entry["address"], [])
        if entry["kind"] == "intent":
            stack.append(entry)
        elif stack:
            same_seq = [i for i, e in enumerate(stack) if e["seq"] == entry["seq"]]
            stack.pop(same_seq[-1] if same_seq else -1)
        if not stack:
            del self._open_by_address[entry["address"]]

    def pending(self) -> list[dict[str, Any]]:
        return sorted((e for stack in self._open_by_address.values() for e in stack), key=lambda e: e["seq"])


def classify(
    raw: bytes | None,
    *,
    source: str,
    stored_serial: int,
    stored_lineage: str | None,
    hint: str = "",
) -> JournalRead:
    """Split a journal blob into header, good entries, corrupt lines and a torn last line; classify.

    `stored_lineage` is None when no state has been written yet (serial 0): any lineage matches.
    """
    return scan(
        None if raw is None else [raw],
        source=source, stored_serial=stored_serial, stored_lineage=stored_lineage, hint=hint,
    )


def scan(
    chunks: Iterable[bytes] | None,
    *,
    source: str,
    stored_serial: int,
    stored_lineage: str | None,
    hint: str = "",
    keep_entries: bool = True,
) -> JournalRead:
    """`classify` over a journal read as a stream of byte chunks (None: no journal).

    With `keep_entries=False` the entries are not kept, only counted, and the intents still
    without an outcome tracked as they go by: memory stays proportional to a line and to the
    pending intents, not to the journal (a 10,000-resource apply writes 20,000 entries).
    """
    base = JournalRead(status=NONE, source=source, stored_serial=stored_serial, stored_lineage=stored_lineage)
    if chunks is None:
        base.message = f"{source}: no journal"
        return base
    reader = _Reader(base, keep_entries, hint)
    held: bytes | None = None
    for piece in split_pieces(chunks):
        if held is not None:
            reader.feed(held)
        held = piece
    # Every line is written with its newline in one write; a last piece without one was cut short.
    tail = held or b""
    if tail:
        base.torn_line = tail.decode("utf-8", "replace")
        # A complete JSON entry cut just before its newline is still a whole record: keep it.
        if _parse_line(tail) is not None and reader.pieces:
            reader.feed(tail)
            base.torn_line = None
    if not reader.lines:
        base.status = EMPTY
        base.message = f"{source}: the journal is empty" + (" (its only line was torn)" if base.torn_line else "")
        return base
    if base.status == CORRUPT:
        return base
    if not keep_entries:
        base.streamed_pending = reader.pending.pending()
    _set_status(base, hint)
    return base


def split_pieces(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The pieces `b"".join(chunks).split(b"\n")` would give, one at a time."""
    rest = b""
    for chunk in chunks:
        buffer = rest + chunk if rest else chunk
        start = 0
        end = buffer.find(b"\n", start)
        while end >= 0:
            yield buffer[start:end]
            start = end + 1
            end = buffer.find(b"\n", start)
        rest = buffer[start:]
    yield rest


class _Reader:
    """Classifies the journal's lines one at a time into `jr` (see `scan`)."""

    def __init__(self, jr: JournalRead, keep_entries: bool, hint: str) -> None:
        self.jr = jr
        self.keep_entries = keep_entries
        self.hint = hint
        self.pending = PendingIntents()
        self.pieces = 0  # lines ended by a newline, blank ones included
        self.lines = 0  # lines that are not blank

    def feed(self, line: bytes) -> None:
        self.pieces += 1
        if not line.strip():
            return
        self.lines += 1
        jr = self.jr
        if jr.status == CORRUPT:
            jr.corrupt_lines.append(line.decode("utf-8", "replace"))
        elif jr.header is None:
            self._header(line)
        else:
            self._entry(line)

    def _header(self, line: bytes) -> None:
        header = _parse_line(line)
        problem = _header_problem(header)
        if problem:
            jr = self.jr
            jr.status = CORRUPT
            jr.corrupt_lines = [line.decode("utf-8", "replace")] + jr.corrupt_lines
            jr.message = f"{jr.source}: the journal header is unreadable ({problem}); refusing to guess. {self.hint}"
        else:
            self.jr.header = header

    def _entry(self, line: bytes) -> None:
        jr = self.jr
        entry = _parse_line(line)
        if entry is None or entry_problem(entry):
            jr.corrupt_lines.append(line.decode("utf-8", "replace"))
            return
        jr.entry_count += 1
        if entry["kind"] == "outcome":
            jr.outcome_count += 1
        if self.keep_entries:
            jr.entries.append(entry)
        else:
            self.pending.add(entry)


def _parse_line(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None


def _set_status(jr: JournalRead, hint: str) -> None:
    lineage, base_serial = jr.lineage, jr.base_serial
    assert base_serial is not None
    if jr.stored_lineage is not None and lineage != jr.stored_lineage:
        jr.status = LINEAGE_MISMATCH
        jr.message = (
            f"{jr.source}: the journal belongs to state lineage {lineage}, but the stored state has "
            f"lineage {jr.stored_lineage}; it was not written for this state. {hint}"
        )
    elif base_serial > jr.stored_serial:
        jr.status = FUTURE
        jr.message = (
            f"{jr.source}: the journal starts from serial {base_serial}, ahead of the stored serial "
            f"{jr.stored_serial}: the state was rolled back or replaced after this apply began. {hint}"
        )
    elif base_serial < jr.stored_serial:
        jr.status = STALE
        jr.message = (
            f"{jr.source}: the journal starts from serial {base_serial}; the state is already at "
            f"{jr.stored_serial}, so it was compacted: safe to delete"
        )
    elif not jr.entry_count:
        jr.status = HEADER_ONLY
        jr.message = f"{jr.source}: the journal has a header and no entries: nothing to replay"
    else:
        jr.status = OK
        jr.message = f"{jr.source}: {jr.entry_count} entries to replay onto serial {base_serial}"


def replay(doc: StateDocument, entries: list[dict[str, Any]]) -> StateDocument:

    """Apply the successful outcomes of `entries`, in order, to a copy of `doc`.

    An outcome with ok=true and a `resource` records that resource; ok=true for a delete (or a
    forget) without a resource removes the address. Intents and failed outcomes change nothing:
    what happened to those objects is for the reconciler to find out from live DSS.
    """
    result = doc.copy()
    for entry in entries:
        if entry.get("kind") != "outcome" or entry.get("ok") is not True:
            continue
        resource = entry.get("resource")
        if resource is not None:
            rs = ResourceState.from_json(resource, f"journal entry seq {entry.get('seq')}: resource")
            if rs.address != entry["address"]:
                raise StateCorruptError(
                    f"journal entry seq {entry.get('seq')}: resource address {rs.address!r} "
                    f"differs from the entry address {entry['address']!r}"
                )
            result.put(rs)
        elif entry.get("action") in REMOVING_ACTIONS:
            result.remove(entry["address"])
    return result


def check_entry(entry: Any) -> bytes:
    """Validate and encode an entry for `journal_append`."""
    problem = entry_problem(entry)
    if problem:
        raise StateError(f"refusing to journal an invalid entry: {problem}")
    try:
        return encode_line(entry)
    except (TypeError, ValueError) as exc:
        raise StateError(f"refusing to journal an entry that is not JSON: {exc}") from None
