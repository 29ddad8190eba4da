"""config/patch.py: a YAML file patched with only the edited values changing (docs/pull.md)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from dataiku_iac.config.patch import APPEND, INSERT, REMOVE, Edit, PatchError, layout, patch_text, round_trips
from dataiku_iac.config.yamlsafe import parse_yaml

REPO = Path(__file__).resolve().parents[3]
EXAMPLE_FILES = sorted(p for p in (REPO / "examples").rglob("*.y*ml") if p.suffix in (".yml", ".yaml"))

TEXT = """\
# top comment
project:
  key: P
  description: old text   # trailing comment
  tags: [a, b]

flow_zones:
  # the zone
  - name: ingestion
    color: "#31439c"
  - name: reporting

datasets:
  - name: orders
    schema:
      columns:
        - {name: id, type: bigint}
        - {name: amount, type: double}   # euros
    zone: ingestion
"""


def changed(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_example_file_reads_and_writes_back_byte_for_byte(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert round_trips(text)
    assert patch_text(text, []) == text


def test_one_key_mappings_in_a_flow_list_keep_their_braces() -> None:
    text = "generations: [{package: v1}]\nmeasures: [{column: a, aggregation: avg}, {aggregation: count}]\n"
    assert round_trips(text)
    after = patch_text(text + "name: x\n", [Edit(("name",), "y")])
    assert after == text + "name: y\n"


def test_examples_are_found() -> None:
    assert len(EXAMPLE_FILES) >= 10


def test_layout_is_read_from_the_file() -> None:
    assert layout(TEXT) == (2, 4, 2)
    assert layout("a:\n    b: 1\nc:\n- x\n") == (4, 2, 0)


def test_scalars_keep_their_quoting_and_comments() -> None:
    after = patch_text(TEXT, [Edit(("project", "description"), "new text"), Edit(("flow_zones", 0, "color"), "#ff8800")])
    assert changed(TEXT, after) == [
        "-  description: old text   # trailing comment",
        "+  description: new text   # trailing comment",
        '-    color: "#31439c"',
        '+    color: "#ff8800"',
    ]


def test_a_key_added_a_flow_item_edited_an_item_appended_a_key_removed() -> None:
    after = patch_text(TEXT, [
        Edit(("flow_zones", 1, "color"), "#00aa00"),
        Edit(("datasets", 0, "schema", "columns", 1, "type"), "float"),
        Edit(("datasets", 0, "schema", "columns"), {"name": "note", "type": "string"}, APPEND),
        Edit(("project", "tags"), "c", APPEND),
        Edit(("datasets", 0, "zone"), None, REMOVE),
    ])
    assert sorted(changed(TEXT, after)) == sorted([
        "-  tags: [a, b]",
        "+  tags: [a, b, c]",
        '+    color: "#00aa00"',
        "-        - {name: amount, type: double}   # euros",
        "+        - {name: amount, type: float}    # euros",  # the comment keeps its column
        "+        - {name: note, type: string}",
        "-    zone: ingestion",
    ])


def test_strings_that_read_as_other_types_are_quoted() -> None:
    after = patch_text(TEXT, [Edit(("project", "description"), "true"), Edit(("project", "key"), "1e3")])
    assert 'description: "true"     # trailing comment' in after and 'key: "1e3"' in after


def test_multi_line_text_becomes_a_block_with_its_line_comment_above() -> None:
    after = patch_text(TEXT, [Edit(("project", "tags"), ["x"]), Edit(("project", "description"), "line one\nline two\n")])
    assert "  # trailing comment\n  description: |\n    line one\n    line two\n  tags: [x]\n\nflow_zones:" in after


def test_a_file_that_does_not_round_trip_gets_a_text_splice_for_one_line_values() -> None:
    odd = "a:   1\nb: [x,   y]\nc: 'q'\n"
    assert not round_trips(odd)
    assert patch_text(odd, [Edit(("a",), 2), Edit(("c",), "r")]) == "a:   2\nb: [x,   y]\nc: 'r'\n"
    with pytest.raises(PatchError, match="not a change of one-line values"):
        patch_text(odd, [Edit(("b",), "z", APPEND)])


def _scalar_leaves(node: object, path: tuple = ()) -> list[tuple]:
    if isinstance(node, dict):
        return [leaf for key, value in node.items() for leaf in _scalar_leaves(value, (*path, key))]
    if isinstance(node, list):
        return [leaf for index, value in enumerate(node) for leaf in _scalar_leaves(value, (*path, index))]
    return [(path, node)]


def _other(value: object) -> object:
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    return f"{value}_x" if value is not None else "set"


def _comments(text: str) -> list[str]:
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line and line.lstrip().startswith("#")]


@pytest.mark.parametrize("path", [p for p in EXAMPLE_FILES if "/projects/" in str(p)], ids=lambda p: str(p.relative_to(REPO)))
def test_each_one_line_value_of_an_example_changes_its_own_line_only(path: Path) -> None:
    import yaml

    text = path.read_text(encoding="utf-8")
    root = yaml.compose(text)
    leaves = _scalar_leaves(parse_yaml(text, path.name).data)
    assert leaves
    step = max(1, len(leaves) // 8)  # 8 values spread over the file: each patch is a round trip (~0.2 s)
    for leaf, value in leaves[::step]:
        node = root
        for elem in leaf:
            node = dict((k.value, v) for k, v in node.value)[elem] if isinstance(node, yaml.MappingNode) else node.value[elem]
        if node.start_mark.line != node.end_mark.line or (isinstance(value, str) and "${" in value):
            continue
        after = patch_text(text, [Edit(leaf, _other(value))])
        lines = changed(text, after)
        assert len(lines) == 2 and lines[0].startswith("-") and lines[1].startswith("+"), (leaf, lines)
        assert lines[0][1:].strip().split(":")[0] == lines[1][1:].strip().split(":")[0], (leaf, lines)
        assert _comments(after) == _comments(text), leaf


def test_an_item_inserted_into_a_list_keeps_the_comments_of_the_others() -> None:
    text = ("columns:\n  - name: id\n    type: bigint\n  # the time column\n  - name: ts\n    type: date   # utc\n"
            "flow:\n  - {name: id, type: bigint}   # key\n  # the time column\n  - {name: ts, type: date}\n")
    after = patch_text(text, [Edit(("columns", 1), {"name": "amount", "type": "double"}, INSERT),
                              Edit(("flow", 1), {"name": "amount", "type": "double"}, INSERT)])
    assert after == ("columns:\n  - name: id\n    type: bigint\n  - name: amount\n    type: double\n  # the time column\n"
                     "  - name: ts\n    type: date   # utc\n"
                     "flow:\n  - {name: id, type: bigint}   # key\n  - {name: amount, type: double}\n  # the time column\n"
                     "  - {name: ts, type: date}\n")


def test_an_end_of_line_comment_keeps_its_column_while_the_longer_value_leaves_room() -> None:
    text = "a:\n  role: reader          # aligned\n  name: x   # close\n"
    after = patch_text(text, [Edit(("a", "role"), "contributor"), Edit(("a", "name"), "a longer name")])
    assert after == "a:\n  role: contributor     # aligned\n  name: a longer name   # close\n"


def test_a_one_key_mapping_in_a_flow_sequence_keeps_its_braces_or_their_absence() -> None:
    # ruamel writes `[{package: v1}]` back as `[package: v1]` unless told to brace it: the file
    # must read and write back as written either way, and an edit elsewhere must not rewrite it
    braced = "deployments:\n  - name: prod\n    infra: x   # per environment\n    generations: [{package: v1}]\n"
    bare = braced.replace("[{package: v1}]", "[package: v1]")
    assert round_trips(braced) and round_trips(bare)
    for text in (braced, bare):
        after = patch_text(text, [Edit(("deployments",), {"name": "test", "infra": "y"}, op=APPEND)])
        assert after.startswith(text), after
        assert parse_yaml(after, "x.yml").data["deployments"][1] == {"name": "test", "infra": "y"}
