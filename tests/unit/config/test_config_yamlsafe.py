"""The safe YAML reader: values, marks, and everything it refuses."""

from __future__ import annotations

import pytest
from dataiku_iac.config.yamlsafe import MAX_DEPTH, MAX_NODES, decode_utf8, parse_yaml, resolve_plain


def parse(text: str):
    return parse_yaml(text, "f.yml")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True), ("False", False), ("yes", "yes"), ("no", "no"), ("on", "on"), ("NO", "NO"),
        ("~", None), ("null", None), ("", None), ("12", 12), ("-3", -3), ("0x1f", 31), ("0o17", 15),
        ("1.5", 1.5), ("1e3", 1000.0), (".inf", float("inf")), ("1:20", "1:20"), ("1_000", "1_000"),
        ("2024-01-01", "2024-01-01"), ("0012", 12), ("DEMO", "DEMO"),
    ],
)
def test_plain_scalars_follow_the_yaml_1_2_core_schema(text, value):
    assert resolve_plain(text) == value


def test_quoted_scalars_stay_strings_and_keys_are_text():
    result = parse("'1': \"true\"\n2: yes\ntrue: 3\n")
    assert result.data == {"1": "true", "2": "yes", "true": 3}
    assert result.diagnostics == []


def test_marks_record_value_and_key_positions():
    result = parse("a: 1\nlist:\n  - name: x\n    t: [1, 2]\n")
    marks = result.marks
    assert (marks[("a",)].line, marks[("a",)].column) == (1, 4)
    assert (marks[("a",)].key_line, marks[("a",)].key_column) == (1, 1)
    assert marks[("list", 0)].entry_position() == (3, 5)
    assert marks[("list", 0, "t", 1)].entry_position() == (4, 12)
    assert marks[("list", 0, "name")].file == "f.yml"


def test_bom_is_accepted():
    assert parse("\ufeffa: 1\n").data == {"a": 1}
    assert decode_utf8(b"\xef\xbb\xbfa: 1\n", "f")[0] == "a: 1\n"


def test_crlf_line_endings():
    result = parse("a: 1\r\nb:\r\n  c: 2\r\n")
    assert result.data == {"a": 1, "b": {"c": 2}}
    assert result.marks[("b", "c")].line == 3


def test_non_utf8_names_the_line_of_the_bad_byte():
    text, diag = decode_utf8(b"a: 1\nb: caf\xe9\n", "f.yml")
    assert text is None
    assert (diag.line, diag.column) == (2, 7)
    assert "not valid UTF-8" in diag.message


def test_duplicate_keys_name_both_places_and_keep_the_first():
    result = parse("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert result.data == {"a": 1, "b": {"c": 1}}
    assert [(d.line, d.path) for d in result.diagnostics] == [(4, "b.c"), (5, "a")]
    assert "first defined at line 3" in result.diagnostics[0].message
    assert result.usable  # duplicates are reported, the rest of the file is still checked
    assert result.marks[("a",)].line == 1  # the mark of the kept value


def test_quoted_and_plain_duplicates_are_the_same_key():
    assert "duplicate key" in parse("a: 1\n'a': 2\n").diagnostics[0].message


@pytest.mark.parametrize(
    ("text", "fragment", "line"),
    [
        ("a: &x 1\n", "anchors are not allowed ('&x')", 1),
        ("a: 1\nb: *x\n", "aliases are not allowed ('*x')", 2),
        ("a: !!python/object/apply:os.system [ls]\n", "'!!python/object/apply:os.system'", 1),
        ("a: !!python/name:os.system\n", "tags are not allowed", 1),
        ("a: !foo bar\n", "'!foo'", 1),
        ("a: !!str 1\n", "'!!str'", 1),
        ("a: ! x\n", "tags are not allowed ('!')", 1),
        ("a: !!map {b: 1}\n", "'!!map'", 1),
        ("%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", "tags are not allowed", 3),
        ("a: 1\n---\nb: 2\n", "single YAML document", 2),
        ("- 1\n- 2\n", None, None),
    ],
)
def test_refused_constructs(text, fragment, line):
    result = parse(text)
    if fragment is None:
        assert result.data == [1, 2]  # a list parses; the loader rejects it as a top level
        return
    assert not result.usable
    assert fragment in result.diagnostics[0].message
    assert result.diagnostics[0].line == line


def test_billion_laughs_is_refused_quickly_with_few_diagnostics():
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    result = parse("\n".join(lines) + "\n")
    assert not result.usable
    assert len(result.diagnostics) == 2  # one for anchors, one for aliases
    assert result.diagnostics[0].line == 1


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1])
def test_nesting_limit(depth):
    result = parse("[" * depth + "]" * depth)
    assert result.usable is (depth <= MAX_DEPTH)
    if depth > MAX_DEPTH:
        assert "deeper than 64" in result.diagnostics[0].message


def test_node_limit():
    ok = parse("[" + ",".join(["1"] * (MAX_NODES - 1)) + "]")
    assert ok.usable and len(ok.data) == MAX_NODES - 1
    too_many = parse("[" + ",".join(["1"] * MAX_NODES) + "]")
    assert not too_many.usable
    assert "more than 100,000 YAML nodes" in too_many.diagnostics[0].message


def test_syntax_errors_carry_the_parser_position_and_no_traceback():
    result = parse("a:\n  b: 1\n c: 2\n")
    diag = result.diagnostics[0]
    assert (diag.line, diag.column) == (3, 2)
    assert diag.message.startswith("YAML syntax error:")
    assert "Traceback" not in diag.render()


def test_tabs_get_a_hint():
    diag = parse("a:\n\tb: 1\n").diagnostics[0]
    assert diag.hint == "YAML indentation must use spaces, not tabs"


def test_empty_and_comment_only_files():
    assert parse("").empty and parse("# c\n").empty
    assert parse("").data is None


def test_complex_keys_are_refused():
    result = parse("? [a]\n: 1\n")
    assert not result.usable
    assert "keys must be plain strings" in result.diagnostics[0].message


def test_errors_per_file_are_capped():
    text = "".join(f"k{i}: !t{i} v\n" for i in range(100))
    assert len(parse(text).diagnostics) == 20


def test_a_dropped_duplicate_leaves_no_marks_behind():
    result = parse("a:\n  x: 1\na:\n  y: 2\n")
    assert result.data == {"a": {"x": 1}}
    assert ("a", "y") not in result.marks
    assert result.marks[("a",)].key_line == 1
