"""Appending an imported item to a project file keeps the file as its author wrote it."""

from __future__ import annotations

import pytest
import yaml
from dataiku_iac.config.edit import append_item
from dataiku_iac.engine.importer import _dump_value
from dataiku_iac.errors import IacError

ITEM = {"name": "extra", "type": "managed", "description": "two\nlines\n"}

FILE = """\
# Sales project: owned by data-eng.
project:
  key: SALES   # the key as written
  name: Sales

datasets:
  # raw files
  - name: raw
    type: managed   # csv by default
    format: csv
  - {name: flow_style, type: managed}

# recipes come last
recipes: []
"""


def test_an_item_goes_after_the_last_one_at_its_indentation_and_every_comment_stays() -> None:
    edited = append_item(FILE, "datasets", ITEM, _dump_value)
    before, after = edited.split("  - name: extra\n", 1)
    assert before == FILE.split("\n# recipes come last")[0].rstrip("\n") + "\n"
    assert after.startswith("    type: managed\n    description: |\n      two\n      lines\n")
    assert after.endswith("\n# recipes come last\nrecipes: []\n")
    assert yaml.safe_load(edited)["datasets"][-1] == ITEM


def test_a_missing_section_is_added_at_the_end() -> None:
    edited = append_item(FILE, "managed_folders", {"name": "reports"}, _dump_value)
    assert edited.startswith(FILE) and edited.endswith("managed_folders:\n- name: reports\n")


@pytest.mark.parametrize("empty", ["recipes: []", "recipes:", "recipes: [] # none yet"])
def test_an_empty_section_gets_its_first_item(empty: str) -> None:
    text = FILE.replace("recipes: []", empty)
    edited = append_item(text, "recipes", {"name": "r"}, _dump_value)
    assert edited.startswith(text.split(empty)[0])
    assert yaml.safe_load(edited)["recipes"] == [{"name": "r"}]
    assert ("# none yet" in edited) == ("# none yet" in empty)


def test_a_block_list_at_column_zero_and_a_last_item_with_a_nested_list() -> None:
    text = "project: {key: A, name: A}\ndatasets:\n- name: a\n  schema:\n    columns:\n    - {name: x, type: string}\n\n\n"
    edited = append_item(text, "datasets", {"name": "b"}, _dump_value)
    assert "    - {name: x, type: string}\n- name: b\n" in edited
    assert [d["name"] for d in yaml.safe_load(edited)["datasets"]] == ["a", "b"]


def test_comments_after_the_last_item_stay_with_what_they_describe() -> None:
    text = "project: {key: A, name: A}\ndatasets:\n  - name: a\n    type: managed\n    # a's note\n\n# recipes\nrecipes: []\n"
    edited = append_item(text, "datasets", {"name": "b"}, _dump_value)
    assert edited == text.replace("    # a's note\n", "    # a's note\n  - name: b\n")


def test_a_flow_list_with_items_is_refused_with_what_to_do() -> None:
    with pytest.raises(IacError, match="not a block list"):
        append_item("project: {key: A, name: A}\ndatasets: [{name: a}]\n", "datasets", {"name": "b"}, _dump_value)
