"""engine/pull.py's config-space differences: what `pull` edits between the item as applied and
the item with DSS's values (docs/pull.md, "Which values, in which words")."""

from __future__ import annotations

from dataiku_iac.config.patch import INSERT
from dataiku_iac.engine.pull import _MISSING, APPEND, REMOVE, SET, _Key, diff_items


def changes(old: object, new: object) -> list[tuple]:
    return [(c.path, None if c.old is _MISSING else c.old, None if c.new is _MISSING else c.new, c.op)
            for c in diff_items(old, new)]


def test_mapping_keys_one_by_one_added_and_removed() -> None:
    old = {"name": "orders", "description": "raw", "zone": "ingestion"}
    new = {"name": "orders", "description": "clean", "color": "#fff"}
    assert changes(old, new) == [
        (("description",), "raw", "clean", SET),
        (("color",), None, "#fff", SET),
        (("zone",), "ingestion", None, REMOVE),
    ]


def test_lists_of_named_items_by_name() -> None:
    old = {"columns": [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "double"}, {"name": "gone", "type": "int"}]}
    new = {"columns": [{"name": "id", "type": "bigint"}, {"name": "amount", "type": "float"}, {"name": "note", "type": "string"}]}
    assert changes(old, new) == [
        (("columns", _Key("name", "amount"), "type"), "double", "float", SET),
        (("columns",), None, {"name": "note", "type": "string"}, APPEND),
        (("columns", _Key("name", "gone")), {"name": "gone", "type": "int"}, None, REMOVE),
    ]


def test_a_reordered_named_list_is_rewritten_in_place_or_whole() -> None:
    old = [{"name": "a", "v": 1}, {"name": "b"}]
    assert changes(old, [{"name": "b"}, {"name": "a", "v": 1}]) == [
        ((0, "name"), "a", "b", SET), ((0, "v"), 1, None, REMOVE), ((1, "name"), "b", "a", SET), ((1, "v"), None, 1, SET)]
    new = [{"name": "c"}, {"name": "a", "v": 1}, {"name": "x"}, {"name": "b"}, {"name": "z"}]
    # new items before or between old ones are inserted at their place (the others' comments kept)
    assert changes(old, new) == [((0,), None, {"name": "c"}, INSERT), ((2,), None, {"name": "x"}, INSERT),
                                 ((), None, {"name": "z"}, APPEND)]


def test_lists_of_the_same_length_item_by_item() -> None:
    old = {"triggers": [{"type": "temporal", "hour": 2, "minute": 30}]}
    new = {"triggers": [{"type": "temporal", "hour": 4, "minute": 30}]}
    assert changes(old, new) == [(("triggers", 0, "hour"), 2, 4, SET)]


def test_names_added_to_a_list_keep_its_order() -> None:
    assert changes({"tags": ["iac", "orders"]}, {"tags": ["audited", "iac", "orders"]}) == [
        (("tags",), None, "audited", APPEND)]
    assert changes({"tags": ["iac", "orders"]}, {"tags": ["iac"]}) == [(("tags",), ["iac", "orders"], ["iac"], SET)]


def test_equal_values_make_no_change() -> None:
    assert changes({"a": [1, {"b": 2}]}, {"a": [1, {"b": 2}]}) == []


def test_a_cron_trigger_is_compared_in_its_cron_words() -> None:
    from dataiku_iac.config.schedule import to_cron
    from dataiku_iac.resources.scenario import written_form

    declared = {"id": "S", "triggers": [{"type": "temporal", "cron": "30 2 * * mon-fri"}, {"type": "temporal", "frequency": "Daily"}]}
    applied = {"id": "S", "triggers": [
        {"type": "temporal", "frequency": "Weekly", "hour": 2, "minute": 30,
         "days": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]},
        {"type": "temporal", "frequency": "Daily", "hour": 1, "minute": 0}]}
    live = {"id": "S", "triggers": [{**applied["triggers"][0], "hour": 4}, {**applied["triggers"][1], "hour": 3}]}
    old, new = written_form(declared, applied), written_form(declared, live)
    assert old["triggers"][0] == {"type": "temporal", "cron": "30 2 * * mon-fri"}  # as written: no change there
    assert changes(old, new) == [
        (("triggers", 0, "cron"), "30 2 * * mon-fri", "30 4 * * MON,TUE,WED,THU,FRI", SET),
        (("triggers", 1, "hour"), 1, 3, SET),  # a trigger written with fields keeps them
    ]
    assert to_cron({"frequency": "Hourly", "hour": 0, "minute": 5}) == "5 * * * *"
    assert to_cron({"frequency": "Monthly", "hour": 0, "minute": 5}) is None
