"""The journal read as a stream: the end of an apply compacts a journal of 2 entries per action
without holding it (20,000 entries at 10,000 resources), and the streamed read classifies
exactly as the whole read does."""

from __future__ import annotations

import json
import random
import tracemalloc

import pytest
from dataiku_iac.state import journal as jrn
from dataiku_iac.state.journal import JOURNAL_BLOB, header_line
from statetest_helpers import doc_with, resource


def _entry(seq, kind, address, rs=None):
    entry = {"seq": seq, "kind": kind, "action": "create", "address": address, "time": "2026-12-03T14:00:00Z"}
    if kind == "outcome":
        entry["ok"] = True
    if rs is not None:
        entry["resource"] = rs.to_json()
    return entry


def _blob(lines, *, torn=b""):
    header = header_line(lineage="L", base_serial=1, operation="apply", started_at="t")
    body = b"".join(line if isinstance(line, bytes) else jrn.encode_line(line) for line in lines)
    return header + body + torn


def _chunked(raw, seed):
    rng = random.Random(seed)
    chunks, start = [], 0
    while start < len(raw):
        size = rng.choice([1, 2, 7, 64, 4096])
        chunks.append(raw[start : start + size])
        start += size
    return chunks


A, B = "dataset.DEMO.A", "dataset.DEMO.B"
JOURNALS = {
    "none": None,
    "empty": b"",
    "only a torn line": b'{"journ',
    "header only": _blob([]),
    "entries": _blob([_entry(1, "intent", A), _entry(1, "outcome", A), _entry(2, "intent", B)]),
    "blank and garbage lines": _blob([b"\n", b"not json\n", _entry(1, "intent", A), b'{"seq": -1}\n']),
    "torn last line": _blob([_entry(1, "intent", A)], torn=b'{"seq": 2, "ki'),
    "last entry without its newline": _blob([_entry(1, "intent", A)], torn=json.dumps(_entry(1, "outcome", A)).encode()),
    "unreadable header": b"garbage\n" + jrn.encode_line(_entry(1, "intent", A)),
}


@pytest.mark.parametrize("name", sorted(JOURNALS))
@pytest.mark.parametrize("seed", [0, 1])
def test_a_streamed_read_classifies_as_the_whole_read(name, seed):
    raw = JOURNALS[name]
    args = dict(source="j", stored_serial=1, stored_lineage="L", hint="h")
    whole = jrn.classify(raw, **args)
    streamed = jrn.scan(None if raw is None else _chunked(raw, seed), keep_entries=False, **args)
    kept = jrn.scan(None if raw is None else _chunked(raw, seed), **args)
    assert kept == whole
    assert (streamed.status, streamed.message, streamed.header) == (whole.status, whole.message, whole.header)
    assert (streamed.corrupt_lines, streamed.torn_line) == (whole.corrupt_lines, whole.torn_line)
    assert streamed.entries == [] and streamed.entry_count == len(whole.entries)
    assert streamed.outcome_count == len(whole.outcomes())
    assert streamed.pending_intents() == whole.pending_intents()


def test_split_pieces_is_split_at_newlines():
    raw = b"a\nbc\n\nd\ne"
    for seed in range(5):
        assert list(jrn.split_pieces(_chunked(raw, seed))) == raw.split(b"\n")
    assert list(jrn.split_pieces([])) == [b""]


def test_the_end_of_an_apply_compacts_its_journal_in_bounded_memory(writer, store):
    """As at the end of an apply: the state holds every outcome (a new serial), the journal is
    stale but for the intents that never got an outcome, which are kept. Reading it whole
    parsed every entry (+170 MB at 10,000 resources); streamed, memory stays far below its size."""
    committed = writer.write(doc_with(), expected_serial=0, operation="apply")
    writer.lock("apply")
    attributes = {"type": "managed", "description": "x" * 300, "schema": [{"name": f"c{i}", "type": "string"} for i in range(20)]}
    lines = []
    for seq in range(1, 3001):
        rs = resource(name=f"DS_{seq}", attributes=attributes)
        lines.append(_entry(seq, "intent", rs.address))
        if seq % 1000:  # three creates whose outcome is unknown
            lines.append(_entry(seq, "outcome", rs.address, rs))
    header = header_line(lineage=committed.lineage, base_serial=1, operation="apply", started_at="t")
    store.put(JOURNAL_BLOB, header + b"".join(jrn.encode_line(line) for line in lines))
    del lines
    size = len(store.get(JOURNAL_BLOB))
    assert size > 4_000_000
    writer.write(committed, expected_serial=1, operation="apply")

    tracemalloc.start()
    try:
        writer.compact_journal(operation="apply")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < size / 4, f"compacting a {size:,}-byte journal peaked at {peak:,} bytes"
    kept = writer.read_journal()
    assert kept.base_serial == 2 and [e["seq"] for e in kept.pending_intents()] == [1000, 2000, 3000]
