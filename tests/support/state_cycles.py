"""A store-level lifecycle that every state backend must survive: states that hold no resources
(what a destroy leaves) between states that do, read back by fresh readers, with journals on
top of them. Shared by the local, S3 (moto) and managed-folder backend tests."""

from __future__ import annotations

from typing import Callable

from dataiku_iac.state import ResourceState, StateDocument, StateWriter, make_address


def _project(key: str) -> ResourceState:
    return ResourceState(
        address=make_address("project", key), type="project", project_key=key, name=key, dss_id=key,
        attributes={}, version_tag=None, depends_on=[],
    )


def _outcome(seq: int, rs: ResourceState) -> list[dict]:
    intent = {"seq": seq, "kind": "intent", "action": "create", "address": rs.address, "time": "t"}
    return [intent, {**intent, "kind": "outcome", "ok": True, "resource": rs.to_json()}]


def check_empty_states_keep_the_lineage(open_writer: Callable[[], StateWriter], environment: str = "dev") -> None:
    """apply → destroy → apply → destroy → apply (the last one interrupted and replayed): one
    lineage, serials 1..5 with no gap, each step read back by a new writer."""
    first = open_writer()
    doc = StateDocument.new(environment)
    doc.put(_project("CYCLE"))
    lineage = first.write(doc, expected_serial=0, operation="apply").lineage
    for serial in (2, 3, 4):
        writer = open_writer()
        state = writer.read()  # what a destroy or an apply starts from
        assert (state.serial, state.lineage) == (serial - 1, lineage)
        nxt = state.copy()
        nxt.resources = {} if serial % 2 == 0 else {"project.CYCLE": _project("CYCLE")}
        writer.write(nxt, expected_serial=serial - 1, operation="destroy" if serial % 2 == 0 else "apply")
    # The fifth run starts its journal on the empty serial 4, is interrupted, and the next run
    # replays it: that commit must continue the same lineage too.
    writer = open_writer()
    state = writer.read()
    assert (state.serial, state.lineage, len(state)) == (4, lineage, 0)
    writer.journal_begin(base_serial=4, lineage=lineage, operation="apply")
    for entry in _outcome(1, _project("CYCLE")):
        writer.journal_append(entry)
    open_writer().compact_journal()
    final = open_writer()
    assert (final.read().serial, final.read().lineage, len(final.read())) == (5, lineage, 1)
    history = final.history()
    assert [h.serial for h in history] == [1, 2, 3, 4, 5]
    assert {h.lineage for h in history} == {lineage}
    assert [h.resource_count for h in history] == [1, 0, 1, 0, 1]
