"""Plan and drift show how a nested value changed as its changed leaves, not both values whole:
moving one dashboard tile is one line, a webapp's code edit the lines it touched (issue 16 trial)."""

from __future__ import annotations

import copy

from dataiku_iac.engine.drift import DriftedField, DriftItem, DriftReport
from dataiku_iac.output.drift import render_drift
from dataiku_iac.output.text import Style, render_change
from dataiku_iac.planner.plan import Action, FieldChange, ResourceChange

PAGES = [
    {"title": "Overview", "tiles": [
        {"text": "# Sales", "x": 0, "y": 0, "width": 6, "height": 2},
        {"insight": "Revenue by region", "x": 6, "y": 1, "width": 6, "height": 4},
    ]},
    {"tiles": [{"insight": "Orders", "x": 0, "y": 0, "width": 12, "height": 4}]},
]


def _moved() -> list:
    pages = copy.deepcopy(PAGES)
    pages[0]["tiles"][1].update(x=9, y=5)
    return pages


def _update(name: str, before: object, after: object) -> ResourceChange:
    return ResourceChange(address="dashboard.P.d", type="dashboard", project_key="P", name="d",
                          action=Action.UPDATE, reason="the config changed", before={name: before},
                          after={name: after}, field_changes=(FieldChange(name, before, after),))


def test_plan_shows_only_the_moved_tile_coordinates() -> None:
    lines = render_change(_update("pages", PAGES, _moved()), Style())[3:]
    assert lines == ["      ~ pages[0].tiles[1].x = 6 -> 9", "      ~ pages[0].tiles[1].y = 1 -> 5"]


def test_a_list_of_named_items_is_matched_by_name() -> None:
    before = [{"name": "a", "type": "string"}, {"name": "b", "type": "int"}]
    after = [{"name": "b", "type": "bigint"}, {"name": "c", "type": "string"}]
    lines = render_change(_update("columns", before, after), Style())[3:]
    assert lines == ['      - columns[name="a"] = {"name": "a", "type": "string"}',
                     '      ~ columns[name="b"].type = "int" -> "bigint"',
                     '      + columns[name="c"] = {"name": "c", "type": "string"}']


def test_items_without_id_or_name_are_matched_by_a_distinct_text_key() -> None:
    """An A/B promotion: v1 removed, v2 takes all the traffic. Matched by `package` (in every item,
    distinct), not by position (which read as v1 renamed v2 and v2 removed)."""
    before = [{"package": "v1", "traffic": 50}, {"package": "v2", "traffic": 50}]
    after = [{"package": "v2", "traffic": 100}]
    lines = render_change(_update("generations", before, after), Style())[3:]
    assert lines == ['      - generations[package="v1"] = {"package": "v1", "traffic": 50}',
                     '      ~ generations[package="v2"].traffic = 50 -> 100']


def test_a_removed_tile_is_one_line() -> None:
    after = copy.deepcopy(PAGES)
    del after[1]["tiles"][0]
    lines = render_change(_update("pages", PAGES, after), Style())[3:]
    assert lines == ['      - pages[1].tiles[0] = {"height": 4, "insight": "Orders", "width": 12, "x": 0, "y": 0}']


def _drift(name: str, recorded: object, live: object) -> str:
    item = DriftItem(address="dashboard.P.d", type="dashboard", project_key="P", name="d", kind="changed",
                     fields=(DriftedField(name, recorded, live),))
    return render_drift(DriftReport(environment="dev", items=[item], checked=1), Style())


def test_drift_renders_structures_as_the_plan_does() -> None:
    text = _drift("pages", PAGES, _moved())
    assert "~ pages, applied -> in DSS:" in text
    assert "~ pages[0].tiles[1].x = 6 -> 9" in text and "~ pages[0].tiles[1].y = 1 -> 5" in text
    assert "Revenue by region" not in text  # not the whole value, on neither side
    assert max(len(line) for line in text.splitlines()) < 120


def test_drift_renders_code_as_a_line_diff() -> None:
    code = "\n".join(f"line {n}" for n in range(30))
    text = _drift("python", code, code.replace("line 15", "line fifteen"))
    assert "- line 15" in text and "+ line fifteen" in text
    assert "line 2\n" not in text and "\\n" not in text  # neither the whole code nor escaped JSON


def test_drift_shows_a_key_dss_dropped() -> None:
    text = _drift("params", {"a": 1, "b": {"c": 2}}, {"a": 1, "b": {}})
    assert "- params.b.c = 2  (removed)" in text


def test_short_scalars_keep_the_one_line_form() -> None:
    text = _drift("description", "raw orders", "edited")
    assert '~ description: "raw orders" (applied) -> "edited" (in DSS)' in text
