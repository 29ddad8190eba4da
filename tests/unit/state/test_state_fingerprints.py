"""Secret fingerprints (secrets.py) and the state's fingerprint key across every write:
serials, history, restore, journals of interrupted applies, format-1 states."""

from __future__ import annotations

import hashlib
import json
import time

import pytest
from dataiku_iac import secrets as fp
from dataiku_iac.errors import StateConflictError
from dataiku_iac.state import StateDocument, parse_state
from dataiku_iac.state.journal import JOURNAL_BLOB
from dataiku_iac.state.store import STATE_BLOB, history_blob
from statetest_helpers import doc_with, resource, writer_on

KEY_A, KEY_B = "a1" * 32, "b2" * 32


def test_a_fingerprint_is_a_function_of_the_key_and_the_value():
    first = fp.Fingerprinter(KEY_A)("hunter2")
    assert first.startswith("scrypt-v1:") and len(first) == len("scrypt-v1:") + 32
    assert fp.looks_like_fingerprint(first) and "hunter2" not in first
    assert fp.Fingerprinter(KEY_A)("hunter2") == first, "deterministic: an unchanged secret is no change"
    assert fp.Fingerprinter(KEY_B)("hunter2") != first, "keyed: another state, another fingerprint"
    assert fp.Fingerprinter(KEY_A)("hunter3") != first


def test_it_is_the_documented_scrypt():
    """docs/security.md gives the construction; another implementation must be able to follow it."""
    salt = b"dataiku-iac/secret-fingerprint/v2\x00" + bytes.fromhex(KEY_A)
    expected = hashlib.scrypt(b"hunter2", salt=salt, n=2**14, r=8, p=1, dklen=16).hex()
    assert fp.Fingerprinter(KEY_A)("hunter2") == f"scrypt-v1:{expected}"


def test_each_key_and_value_is_computed_once_per_process():
    fingerprinter = fp.Fingerprinter(fp.new_key())
    values = [f"secret-{i}" for i in range(8)]
    started = time.perf_counter()
    fingerprinter.precompute(values)
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = [fp.Fingerprinter(fingerprinter.key)(v) for v in values]
    cached = time.perf_counter() - started
    assert cached < first / 10, (first, cached)
    assert again == [fingerprinter(v) for v in values]


def test_a_legacy_fingerprint_is_recognised_and_translated_only_from_a_value_seen():
    legacy = fp.legacy_fingerprint("hunter2")
    assert fp.is_legacy(legacy) and legacy.startswith("hmac-sha256:")
    fingerprinter = fp.Fingerprinter(KEY_A)
    assert fingerprinter.translate(legacy) is None, "never guessed"
    keyed = fingerprinter("hunter2")
    assert fingerprinter.translate(legacy) == keyed


def test_keys_are_random_and_checked():
    assert fp.new_key() != fp.new_key() and fp.key_problem(fp.new_key()) is None
    for bad in ("", "A1" * 32, "a1" * 31, 42, None):
        assert fp.key_problem(bad)
    assert fp.key_id(KEY_A) != fp.key_id(KEY_B) and KEY_A not in fp.key_id(KEY_A)


# -- the key across the state's life ----------------------------------------------------------


def test_the_key_is_kept_by_every_serial_and_history_entry(writer, store):
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    key = first.fingerprint_key
    assert key and json.loads(store.get(STATE_BLOB))["fingerprint_key"] == key
    second = writer.write(writer.read(), expected_serial=1, operation="apply")
    restored = writer.restore(1, operation="state restore")
    assert second.fingerprint_key == restored.fingerprint_key == key
    for serial in (1, 2, 3):
        assert parse_state(store.get(history_blob(serial)), "h").fingerprint_key == key
    assert writer_on(store).read().fingerprint_key == key, "another process reads the same key"


def test_a_state_not_written_yet_has_one_key_per_reader(writer):
    """The plan and the apply of one run read the state twice: they must fingerprint alike."""
    assert writer.read().fingerprint_key == writer.read().fingerprint_key
    assert writer.read().lineage == writer.read().lineage
    written = writer.write(writer.read(), expected_serial=0, operation="apply")
    assert written.fingerprint_key == writer.read().fingerprint_key


def test_a_write_under_another_key_is_refused(writer):
    first = writer.write(doc_with(), expected_serial=0, operation="apply")
    other = first.copy()
    other.fingerprint_key = KEY_B
    with pytest.raises(StateConflictError, match="secret fingerprint key"):
        writer.write(other, expected_serial=1, operation="apply")


def test_an_interrupted_first_apply_keeps_its_key(writer, store):
    """The journaled records are fingerprinted under the key of a state never stored: the
    recovery reads it back from the journal header instead of making up another."""
    doc = writer.read()
    lock = writer.lock("apply")
    writer.journal_begin(base_serial=0, lineage=doc.lineage, operation="apply", fingerprint_key=doc.fingerprint_key)
    record = doc_with(count=2).get("dataset.DEMO.DS_0").to_json()
    writer.journal_append({"seq": 1, "kind": "outcome", "action": "create", "address": "dataset.DEMO.DS_0", "ok": True, "resource": record})
    writer.unlock(lock.id)
    recovering = writer_on(store)  # the next run: another process
    assert (recovering.read().lineage, recovering.read().fingerprint_key) == (doc.lineage, doc.fingerprint_key)
    recovering.lock("apply")
    recovering.compact_journal()
    assert store.get(JOURNAL_BLOB) is None
    stored = parse_state(store.get(STATE_BLOB), "s")
    assert (stored.lineage, stored.fingerprint_key) == (doc.lineage, doc.fingerprint_key)


# -- format 1 (no key) ------------------------------------------------------------------------


def _format_1(doc: StateDocument, serial: int) -> bytes:
    """A state as dataiku-iac <= 0.1 wrote it: format 1, no key, `secret_fingerprints: {}`."""
    data = doc.to_json()
    data.pop("fingerprint_key")
    data.update(format_version=1, serial=serial)
    for body in data["resources"].values():
        body["secret_fingerprints"] = {}
    return (json.dumps(data, indent=2) + "\n").encode()


def _legacy_state(store, serials: int = 2) -> StateDocument:
    doc = doc_with()
    doc.put(resource("project", "SEC", attributes={"variables": {"local": {
        "token": {"secret_env": "IAC_SECRET_TOKEN", "fingerprint": fp.legacy_fingerprint("hunter2")}}}}))
    for serial in range(1, serials + 1):
        raw = _format_1(doc, serial)
        store.put(history_blob(serial), raw)
    store.put(STATE_BLOB, raw)
    return doc


def test_a_format_1_state_is_read_and_gets_its_key_on_the_next_write(store):
    _legacy_state(store)
    writer = writer_on(store)
    read = writer.read()
    assert read.format_version == 1 and read.fingerprint_key, "a key to fingerprint with, not yet stored"
    assert read.fingerprint_key == writer.read().fingerprint_key
    assert "fingerprint_key" not in json.loads(store.get(STATE_BLOB))
    written = writer.write(read, expected_serial=2, operation="apply")
    stored = json.loads(store.get(STATE_BLOB))
    assert stored["format_version"] == 2 and stored["fingerprint_key"] == read.fingerprint_key == written.fingerprint_key
    assert all("secret_fingerprints" not in r for r in stored["resources"].values())


def test_restoring_a_format_1_serial_keeps_the_lineage_key(store):
    _legacy_state(store)
    writer = writer_on(store)
    key = writer.write(writer.read(), expected_serial=2, operation="apply").fingerprint_key
    writer.lock("state restore")
    restored = writer.restore(1, operation="state restore")
    assert restored.fingerprint_key == key and restored.format_version == 2
    # Its records keep their legacy fingerprints, which say their scheme: re-keyed by the next plan.
    token = restored.get("project.SEC").attributes["variables"]["local"]["token"]
    assert fp.is_legacy(token["fingerprint"])


def test_restoring_over_a_damaged_state_keeps_the_lineage_key(writer, store):
    key = writer.write(doc_with(), expected_serial=0, operation="apply").fingerprint_key
    writer.write(writer.read(), expected_serial=1, operation="apply")
    store.put(STATE_BLOB, b"{ damaged")
    restored = writer_on(store).restore(1, operation="state restore")
    assert restored.serial == 3 and restored.fingerprint_key == key
