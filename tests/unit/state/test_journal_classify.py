"""`journal.classify` on its own (no store): the status table, and properties over journals of any
shape: every good entry is kept in order, every bad line is set aside, a torn last line is
reported, and nothing raises. (test_state_journal.py covers the same through the state writer.)"""

from __future__ import annotations

import json

import pytest
from dataiku_iac.state import journal as jrn
from hypothesis import given, settings
from hypothesis import strategies as st

LINEAGE = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


def header(base_serial: int = 3, lineage: str = LINEAGE) -> bytes:
    return jrn.header_line(lineage=lineage, base_serial=base_serial, operation="apply", started_at="t")


def entry(seq: int, kind: str = "intent", address: str = "dataset.P.d", **extra) -> dict:
    return {"seq": seq, "kind": kind, "action": "create", "address": address, "time": "t", **extra}


def classify(raw, *, stored_serial: int = 3, stored_lineage=LINEAGE) -> jrn.JournalRead:
    return jrn.classify(raw, source="test", stored_serial=stored_serial, stored_lineage=stored_lineage, hint="HINT")


@pytest.mark.parametrize(("raw", "stored_serial", "stored_lineage", "status"), [
    (None, 3, LINEAGE, jrn.NONE),
    (b"", 3, LINEAGE, jrn.EMPTY),
    (b"\n\n", 3, LINEAGE, jrn.EMPTY),
    (b'{"journal": 1, "lin', 3, LINEAGE, jrn.EMPTY),  # its only line torn
    (header(), 3, LINEAGE, jrn.HEADER_ONLY),
    (header() + jrn.encode_line(entry(1)), 3, LINEAGE, jrn.OK),
    (header(base_serial=0, lineage=OTHER) + jrn.encode_line(entry(1)), 0, None, jrn.OK),  # no state yet: any lineage
    (header(base_serial=2) + jrn.encode_line(entry(1)), 3, LINEAGE, jrn.STALE),
    (header(base_serial=4), 3, LINEAGE, jrn.FUTURE),
    (header(lineage=OTHER), 3, LINEAGE, jrn.LINEAGE_MISMATCH),
    (header(lineage=OTHER, base_serial=9), 3, LINEAGE, jrn.LINEAGE_MISMATCH),  # lineage is checked first
    (b"not json\n" + jrn.encode_line(entry(1)), 3, LINEAGE, jrn.CORRUPT),
    (jrn.encode_line({"journal": 2, "lineage": LINEAGE, "base_serial": 3, "operation": "apply"}), 3, LINEAGE, jrn.CORRUPT),
    (jrn.encode_line({"journal": 1, "lineage": LINEAGE, "base_serial": -1, "operation": "apply"}), 3, LINEAGE, jrn.CORRUPT),
    (jrn.encode_line({"journal": 1, "lineage": LINEAGE, "base_serial": True, "operation": "apply"}), 3, LINEAGE, jrn.CORRUPT),
])
def test_status(raw, stored_serial: int, stored_lineage, status: str) -> None:
    read = classify(raw, stored_serial=stored_serial, stored_lineage=stored_lineage)
    assert read.status == status, read.message
    assert read.message.startswith("test: ")


@pytest.mark.parametrize("status", sorted(jrn.REFUSED))
def test_the_refused_statuses_raise_and_carry_the_hint(status: str) -> None:
    raw = {jrn.FUTURE: header(base_serial=4), jrn.LINEAGE_MISMATCH: header(lineage=OTHER), jrn.CORRUPT: b"garbage\n"}[status]
    read = classify(raw)
    assert read.status == status and read.message.endswith("HINT")
    with pytest.raises(Exception, match="HINT"):
        read.raise_for_status()


@pytest.mark.parametrize("bad", [
    {"seq": -1, "kind": "intent", "address": "dataset.P.d"},
    {"seq": True, "kind": "intent", "address": "dataset.P.d"},
    {"seq": 1, "kind": "guess", "address": "dataset.P.d"},
    {"seq": 1, "kind": "outcome", "address": "not an address"},
    {"seq": 1, "kind": "outcome", "address": "dataset.P.d", "ok": "yes"},
    ["a list"],
])
def test_an_entry_of_the_wrong_shape_is_a_corrupt_line_not_an_entry(bad) -> None:
    read = classify(header() + jrn.encode_line(entry(1)) + (json.dumps(bad) + "\n").encode())
    assert read.status == jrn.OK and len(read.entries) == 1 and read.corrupt_lines == [json.dumps(bad)]


def test_a_whole_entry_missing_only_its_newline_is_kept_and_a_cut_one_is_reported_torn() -> None:
    whole = header() + jrn.encode_line(entry(1)) + jrn.encode_line(entry(2))[:-1]
    read = classify(whole)
    assert [e["seq"] for e in read.entries] == [1, 2] and read.torn_line is None
    cut = header() + jrn.encode_line(entry(1)) + jrn.encode_line(entry(2))[:10]
    read = classify(cut)
    assert [e["seq"] for e in read.entries] == [1] and read.torn_line == jrn.encode_line(entry(2))[:10].decode()


ADDRESSES = st.sampled_from(["dataset.P.a", "dataset.P.b", "recipe.P.r", "project.P"])
ENTRIES = st.builds(lambda seq, kind, address, ok: entry(seq, kind, address, **({"ok": ok} if kind == "outcome" else {})),
                    st.integers(0, 50), st.sampled_from(jrn.KINDS), ADDRESSES, st.booleans())
GARBAGE = st.sampled_from([b"garbage", b"{not json", b'{"seq": 1}', b"\xff\xfe", b"[]", b'"text"'])


@settings(max_examples=200)
@given(lines=st.lists(st.one_of(ENTRIES, GARBAGE), max_size=12), cut=st.integers(0, 400))
def test_good_entries_are_kept_in_order_bad_lines_set_aside_and_a_torn_tail_reported(lines: list, cut: int) -> None:
    body = b"".join(jrn.encode_line(line) if isinstance(line, dict) else line + b"\n" for line in lines)
    raw = header() + body
    read = classify(raw)
    assert read.entries == [line for line in lines if isinstance(line, dict)]
    assert read.corrupt_lines == [line.decode("utf-8", "replace") for line in lines if not isinstance(line, dict)]
    assert read.torn_line is None
    assert read.status == (jrn.OK if read.entries else jrn.HEADER_ONLY)
    # The same journal cut anywhere in its body (a write that did not finish) never raises, keeps
    # every entry before the cut, and reports what is left of the cut line.
    cut_at = len(header()) + min(cut, len(body))
    torn = classify(raw[:cut_at])
    whole_lines = lines[:raw[:cut_at].count(b"\n") - 1]
    kept = [line for line in whole_lines if isinstance(line, dict)]
    assert torn.entries[:len(kept)] == kept and len(torn.entries) <= len(kept) + 1
    tail = raw[:cut_at].rsplit(b"\n", 1)[1]
    assert (torn.torn_line is None) == (tail == b"" or _parses(tail))


def _parses(line: bytes) -> bool:
    try:
        json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return True


@settings(max_examples=200)
@given(steps=st.lists(st.tuples(ADDRESSES, st.booleans()), max_size=20))
def test_pending_intents_are_the_intents_no_outcome_closed(steps: list) -> None:
    """Model: each step opens an intent for an address, or closes the address's latest open one."""
    entries, open_by_address, seq = [], {}, 0
    for address, closes in steps:
        stack = open_by_address.setdefault(address, [])
        if closes and stack:
            opened = stack.pop()
            entries.append(entry(opened["seq"], "outcome", address, ok=True))
        else:
            seq += 1
            opened = entry(seq, "intent", address)
            stack.append(opened)
            entries.append(opened)
    read = classify(header() + b"".join(jrn.encode_line(e) for e in entries))
    expected = sorted((e for stack in open_by_address.values() for e in stack), key=lambda e: e["seq"])
    assert read.pending_intents() == expected
