"""Editing a project file as text: append one item to a section, keeping everything else as written.

`dataiku-iac import ADDRESS` adds the imported object's item to a file a person wrote, with
comments, blank lines, key order and quoting of their own. Re-dumping the file would lose all of
that, so the item is inserted as text, after the last item of its section (a block list), at that
list's indentation; a missing section is added at the end of the file, and an empty one
(`datasets:` or `datasets: []`) gets its first item. The result is parsed again and checked: the
section must end with the new item and nothing else may have changed.
"""

from __future__ import annotations

from typing import Any, Callable

import yaml

from dataiku_iac.errors import IacError


def append_item(text: str, section: str, item: dict[str, Any], dump: Callable[[Any], str]) -> str:
    """`text` with `item` appended to the list `section` of its top-level mapping. `dump` writes a
    YAML document of one value (block style); the item is rendered with it."""
    root = yaml.compose(text) if text.strip() else None
    if root is not None and not isinstance(root, yaml.MappingNode):
        raise IacError(f"cannot add to {section!r}: the file's top level is not a mapping")
    value = _section_value(root, section)
    body = dump([item])
    if value is None:  # no such section: a new one at the end of the file
        result = _with_final_newline(text) + f"{section}:\n" + body
    elif isinstance(value, yaml.SequenceNode) and not value.flow_style:
        result = _after_last_item(text, value, body)
    elif _is_empty(value):
        result = _replacing_empty(text, value, body)
    else:
        raise IacError(
            f"cannot add to {section!r}: it is not a block list (write it as `{section}:` followed by `- ` items first)"
        )
    _check(text, result, section, item)
    return result


def _section_value(root: Any, section: str) -> Any:
    if root is None:
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == section:
            return value
    return None


def _is_empty(value: Any) -> bool:
    if isinstance(value, yaml.SequenceNode):
        return not value.value  # `[]`
    return isinstance(value, yaml.ScalarNode) and value.tag.endswith(":null")  # `datasets:` or `~`


def _with_final_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def _indented(body: str, column: int) -> str:
    pad = " " * column
    return "".join(pad + line if line.strip() else line for line in body.splitlines(keepends=True))


def _after_last_item(text: str, sequence: yaml.SequenceNode, body: str) -> str:
    """After the line holding the end of the list's last item, at the list's column."""
    lines = text.splitlines(keepends=True)
    end = sequence.value[-1].end_mark
    # A block scalar or mapping ends at the start of the next line; a plain value ends mid-line.
    at = end.line if end.column == 0 else end.line + 1
    # PyYAML ends a block item at the next token: blank lines and comments no deeper than the list's
    # dashes belong to what follows (insert before them); a deeper comment stays with the item.
    column = sequence.start_mark.column
    while 0 < at <= len(lines) and _belongs_to_next(lines[at - 1], column):
        at -= 1
    head = lines[:at]
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    return "".join(head) + _indented(body, sequence.start_mark.column) + "".join(lines[at:])


def _belongs_to_next(line: str, column: int) -> bool:
    stripped = line.strip()
    return not stripped or (stripped.startswith("#") and len(line) - len(line.lstrip(" ")) <= column)


def _replacing_empty(text: str, value: Any, body: str) -> str:
    """`datasets: []` or `datasets:` -> `datasets:` followed by the item."""
    start, end = value.start_mark.index, value.end_mark.index
    before, after = text[:start].rstrip(" "), text[end:]
    rest = after.split("\n", 1)[1] if "\n" in after else ""
    comment = after.split("\n", 1)[0].strip()
    line_end = f" {comment}\n" if comment else "\n"
    return before.rstrip("\n") + line_end + body + rest


def _check(before: str, after: str, section: str, item: dict[str, Any]) -> None:
    """The edited file must read as the old one plus the item at the end of its section."""
    old = yaml.safe_load(before) if before.strip() else {}
    new = yaml.safe_load(after)
    expected = dict(old or {})
    expected[section] = list((old or {}).get(section) or []) + [item]
    if new != expected:
        raise IacError(f"could not add the item to {section!r} without changing the rest of the file; add it by hand")
