"""The corrupt-state corpus: each damage is detected on read(), before anything else runs,
with a StateError naming the file and what is wrong, and the previous state can be restored."""

from __future__ import annotations

import json

import pytest
from dataiku_iac.errors import StateConflictError, StateCorruptError, StateError
from dataiku_iac.state.store import STATE_BLOB, history_blob
from statetest_helpers import doc_with


def _committed(writer, serials: int = 2):
    doc = doc_with()
    for expected in range(serials):
        doc = writer.write(doc, expected_serial=expected, operation="apply")
    return doc


def _edit(store, mutate):
    data = json.loads(store.get(STATE_BLOB))
    mutate(data)
    store.put(STATE_BLOB, json.dumps(data).encode())


def _first_resource(data):
    return data["resources"][sorted(data["resources"])[0]]


def _bytes_damage(case):
    def damage(raw: bytes) -> bytes:
        if case == "truncated":
            return raw[: len(raw) // 2]
        if case == "invalid_json":
            return raw.replace(b'"serial"', b"'serial'", 1)
        if case == "empty":
            return b""
        if case == "whitespace_only":
            return b"  \n"
        if case == "not_utf8":
            return b"\xff\xfe" + raw
        if case == "duplicate_key":
            return raw.replace(b'"serial": 2,', b'"serial": 2, "serial": 3,', 1)
        raise AssertionError(case)

    return damage


BYTE_CASES = {
    "truncated": "truncated",
    "invalid_json": "invalid JSON",
    "empty": "empty",
    "whitespace_only": "empty",
    "not_utf8": "UTF-8",
    "duplicate_key": "appears twice",
}


@pytest.mark.parametrize("case", sorted(BYTE_CASES))
def test_byte_level_damage_is_detected(writer, store, case):
    _committed(writer)
    store.put(STATE_BLOB, _bytes_damage(case)(store.get(STATE_BLOB)))
    with pytest.raises(StateCorruptError) as err:
        writer.read()
    message = str(err.value)
    assert "state.json" in message and store.describe() in message
    assert BYTE_CASES[case] in message
    assert "dataiku-iac state restore SERIAL" in message


def _set(path, value):
    def mutate(data):
        target = data
        for key in path[:-1]:
            target = target[key] if key != "*" else _first_resource(data)
        target[path[-1]] = value

    return mutate


def _delete(key):
    def mutate(data):
        del data[key]

    return mutate


def _rekey(data):
    data["resources"]["dataset.DEMO.ELSEWHERE"] = data["resources"].pop("dataset.DEMO.DS_0")


def _bad_address(data):
    rs = _first_resource(data)
    rs["address"] = "Dataset..x"


def _address_mismatch(data):
    data["resources"]["dataset.DEMO.DS_0"]["name"] = "OTHER"


def _project_name_mismatch(data):
    data["resources"]["project.DEMO"]["name"] = "OTHER"


def _bad_dependency(data):
    _first_resource(data)["depends_on"] = ["not an address"]


def _plaintext_secret(data):
    _first_resource(data)["secret_fingerprints"] = {"params.password": "hunter2"}


def _project_key_flip(data):
    data["resources"]["dataset.DEMO.DS_1"]["project_key"] = "DEMX"


def _same_dss_object_twice(data):
    keys = sorted(data["resources"])
    first, second = data["resources"][keys[0]], data["resources"][keys[1]]
    second["dss_id"] = first["dss_id"] = "SHARED"
    second["type"] = first["type"]


FIELD_CASES = {
    # bit flips that change a field's type
    "serial_as_string": (_set(["serial"], "2"), "serial must be"),
    "serial_negative": (_set(["serial"], -1), "serial must be"),
    "serial_bool": (_set(["serial"], True), "serial must be"),
    "format_version_string": (_set(["format_version"], "1"), "format_version must be"),
    "resources_list": (_set(["resources"], []), "resources must be"),
    "attributes_string": (_set(["resources", "*", "attributes"], "x"), "attributes must be"),
    "protect_string": (_set(["resources", "*", "protect"], "yes"), "protect must be"),
    "version_number_string": (_set(["resources", "*", "version_tag"], {"versionNumber": "3"}), "versionNumber"),
    "origin_unknown": (_set(["resources", "*", "origin"], "stolen"), "origin must be"),
    # lineage
    "lineage_missing": (_delete("lineage"), "missing field(s) lineage"),
    "lineage_not_uuid": (_set(["lineage"], "abc"), "lineage must be"),
    "lineage_null": (_set(["lineage"], None), "lineage must be"),
    # structure
    "unknown_top_level_field": (_set(["extra"], 1), "unknown field(s) extra"),
    "resource_missing_field": (lambda d: _first_resource(d).pop("dss_id"), "missing field(s) dss_id"),
    "resource_key_not_address": (_rekey, "different from its address"),
    "malformed_address": (_bad_address, "address"),
    "address_mismatch": (_address_mismatch, "does not match its name"),
    "type_differs_from_address": (_set(["resources", "*", "type"], "recipe"), "does not match its type"),
    "project_name_mismatch": (_project_name_mismatch, "is not its project_key"),
    "project_key_flip": (_project_key_flip, "maps the same project to"),
    "duplicate_dss_object": (_same_dss_object_twice, "are the same DSS object"),
    "malformed_dependency": (_bad_dependency, "depends_on"),
    "plaintext_in_fingerprints": (_plaintext_secret, "not a fingerprint"),
}


@pytest.mark.parametrize("case", sorted(FIELD_CASES))
def test_field_level_damage_is_detected(writer, store, case):
    _committed(writer)
    mutate, expected = FIELD_CASES[case]
    _edit(store, mutate)
    with pytest.raises(StateCorruptError) as err:
        writer.read()
    assert "state.json" in str(err.value)
    assert expected in str(err.value)
    assert "hunter2" not in str(err.value)


def test_future_format_version_asks_for_an_upgrade(writer, store):
    _committed(writer)
    _edit(store, _set(["format_version"], 99))
    with pytest.raises(StateError) as err:
        writer.read()
    assert not isinstance(err.value, StateCorruptError)  # not damage: a newer tool wrote it
    assert "upgrade dataiku-iac" in str(err.value) and "99" in str(err.value)


def test_serial_lower_than_newest_history_is_detected(writer, store):
    _committed(writer, serials=4)
    store.put(STATE_BLOB, store.get(history_blob(2)))  # someone copied an old state over the current one
    with pytest.raises(StateCorruptError) as err:
        writer.read()
    assert "lower than the newest history entry 4" in str(err.value)


def test_missing_state_with_history_is_detected(writer, store):
    _committed(writer, serials=3)
    store.delete(STATE_BLOB)
    with pytest.raises(StateCorruptError, match="is missing but the history holds serials up to 3"):
        writer.read()
    assert [h.serial for h in writer.history()] == [1, 2, 3]
    assert writer.restore(3, operation="rollback").serial == 4


def test_state_of_another_environment_is_refused(writer, store, tmp_path):
    _committed(writer)
    _edit(store, _set(["environment"], "prod"))
    with pytest.raises(StateConflictError, match="belongs to environment 'prod'"):
        writer.read()


def test_corruption_is_detected_before_any_write(writer, store):
    """An apply starts by reading: nothing may be written on top of a corrupt state."""
    doc = _committed(writer)
    store.put(STATE_BLOB, b"{ broken")
    before = store.list()
    with pytest.raises(StateCorruptError):
        writer.write(doc, expected_serial=2, operation="apply")
    with pytest.raises(StateCorruptError):
        writer.journal_begin(base_serial=2, lineage=doc.lineage, operation="apply")
    assert store.list() == before


@pytest.mark.parametrize("case", ["truncated", "empty", "invalid_json"])
def test_previous_state_is_restorable_after_corruption(writer, store, case):
    good = _committed(writer, serials=3)
    store.put(STATE_BLOB, _bytes_damage(case)(store.get(STATE_BLOB)))
    restored = writer.restore(3, operation="rollback")
    assert restored.serial == 4 and restored.lineage == good.lineage
    assert writer.read().resources == good.resources
    assert [name for name in store.list("corrupted/")], "the damaged file is kept for forensics"


def test_restore_over_older_copy_continues_after_newest_history(writer, store):
    _committed(writer, serials=4)
    store.put(STATE_BLOB, store.get(history_blob(1)))
    restored = writer.restore(4, operation="rollback")
    assert restored.serial == 5
    assert writer.read().serial == 5


def test_history_lists_serials_even_when_state_is_corrupt(writer, store):
    _committed(writer, serials=3)
    store.put(STATE_BLOB, b"")
    assert [h.serial for h in writer.history()] == [1, 2, 3]


def test_corrupt_history_entry_is_reported_not_fatal(writer, store):
    _committed(writer, serials=3)
    store.put(history_blob(2), b"{")
    entries = writer.history()
    assert [h.serial for h in entries] == [1, 2, 3]
    assert entries[1].error and "truncated" in entries[1].error
    assert entries[2].error is None and entries[2].resource_count == 3
    with pytest.raises(StateCorruptError):
        writer.read_serial(2)
