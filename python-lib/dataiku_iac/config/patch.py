"""Patching a YAML file a person wrote: a few values changed, everything else kept as written.

`dataiku-iac pull` writes the values changed in DSS into the project files, which hold comments,
blank lines, a key order, quoting and an indentation of their authors' own. The file goes
through ruamel.yaml in round-trip mode, set up as the file is written (its mapping indent, its
list indent and dash offset, found from the file itself; quotes preserved; no re-wrapping of long
lines), the edits are made on that tree and the tree is written back.

A round trip can still change more than the edited values (reviewed in
docs/pull.md: comments between blank lines, unusual layouts). So the result is checked twice:
the file must read back as the old data with exactly the edits made, and every line of the old
file that the result changes or drops must belong to an edited entry. When the round trip fails
either check (or would change the file without any edit), a value replaced by a one-line value
is spliced into the text instead, at the old value's place; any other edit is refused
(`PatchError`, with the reason), for the caller to report rather than write.
"""

from __future__ import annotations

import copy
import difflib
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.compat import ordereddict
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    FoldedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)

from .paths import YamlPath, render_path
from .yamlsafe import parse_yaml, resolve_plain

SET, REMOVE, APPEND, INSERT = "set", "remove", "append", "insert"
_QUOTED = (DoubleQuotedScalarString, SingleQuotedScalarString, LiteralScalarString, FoldedScalarString)


class PatchError(Exception):
    """The edits cannot be written without changing more of the file than they touch."""


@dataclass(frozen=True)
class Edit:
    """One change of a file: `set` the node at `path` (a missing mapping key is added), `remove`
    it (a mapping key or a list item), `append` `value` to the list at `path`, or `insert` it into
    a list at index `path[-1]` (of the list with the removals made: inserts come after them)."""

    path: YamlPath
    value: Any = None
    op: str = SET

    def describe(self) -> str:
        return f"{self.op} {render_path(self.path)}"


# -- the round trip ---------------------------------------------------------------------------
def layout(text: str) -> tuple[int, int, int]:
    """(mapping indent, list item indent, dash offset) as ruamel's `indent()` takes them: the most
    common of each in the file (2, 2, 0 when it has no nested block)."""
    root = yaml.compose(text) if text.strip() else None
    maps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    items: Counter[int] = Counter()

    def walk(node: Any) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                column = key.start_mark.column
                if isinstance(value, yaml.MappingNode) and not value.flow_style and value.value:
                    maps[value.value[0][0].start_mark.column - column] += 1
                if isinstance(value, yaml.SequenceNode) and not value.flow_style and value.value:
                    offsets[value.start_mark.column - column] += 1
                    items[value.value[0].start_mark.column - column] += 1
                walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    walk(root)
    mapping = maps.most_common(1)[0][0] if maps else 2
    offset = offsets.most_common(1)[0][0] if offsets else 0
    sequence = items.most_common(1)[0][0] if items else offset + 2
    return max(mapping, 1), max(sequence, offset + 2), offset


def _round_tripper(text: str, braces: bool) -> YAML:
    rt = YAML(typ="rt", pure=True)
    rt.preserve_quotes = True
    rt.width = 4096  # never re-wrap a long value
    # A one-key mapping in a flow list keeps its braces (`[{package: v1}]`): ruamel writes it
    # `[package: v1]` otherwise, and such a file would never write back as it reads.
    rt.brace_single_entry_mapping_in_flow_sequence = True
    mapping, sequence, offset = layout(text)
    rt.indent(mapping=mapping, sequence=sequence, offset=offset)
    # ruamel does not remember whether a one-key mapping in a flow sequence had its braces
    # (`[{package: v1}]` and `[package: v1]` read the same): the caller tries both ways
    rt.brace_single_entry_mapping_in_flow_sequence = braces
    return rt


def _round_trip(text: str) -> Optional[tuple[YAML, Any]]:
    """A round tripper and the file read by it, when it writes the file back byte for byte; else None."""
    for braces in (True, False):  # braces first: the form people (and import) write
        try:
            rt = _round_tripper(text, braces)
            data = rt.load(text)
            if _dump(rt, data) == text:
                return rt, data
        except Exception:  # any failure means "not safely": the caller falls back
            return None
    return None


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def round_trips(text: str) -> bool:
    """Whether the file reads and writes back byte for byte (no edit)."""
    return _round_trip(text) is not None


def patch_text(text: str, edits: Sequence[Edit]) -> str:
    """`text` with `edits` made, everything else as written; PatchError when that cannot be done."""
    if not edits:
        return text
    expected = apply_to_data(_data(text), edits)
    problem = ""
    result = _round_trip_patch(text, edits)
    if result is not None:
        problem = _problem(text, result, edits, expected)
        if not problem:
            return result
    spliced = _splice(text, edits)
    if spliced is not None and not _problem(text, spliced, edits, expected):
        return spliced
    why = problem or "the file does not read and write back unchanged through a YAML round trip"
    raise PatchError(f"{why}; and {', '.join(e.describe() for e in edits)} is not a change of one-line values "
                     f"that can be written in place")


def _round_trip_patch(text: str, edits: Sequence[Edit]) -> Optional[str]:
    """`text` with `edits` made on its round-trip tree; None when the file does not read and write
    back byte for byte without them (its layout is not one ruamel.yaml keeps)."""
    read = _round_trip(text)
    if read is None:
        return None
    rt, data = read
    for edit in _ordered(edits):
        _apply_rt(data, edit)
    return _dump(rt, data)


def _ordered(edits: Sequence[Edit]) -> list[Edit]:
    """Sets first (paths are those of the file as read), then removes from the last index down,
    then inserts from the first index up, then appends: no edit moves the node another one names."""
    sets = [e for e in edits if e.op == SET]
    removes = sorted((e for e in edits if e.op == REMOVE), key=lambda e: [str(p) if isinstance(p, str) else p for p in e.path],
                     reverse=True)
    inserts = sorted((e for e in edits if e.op == INSERT), key=lambda e: [str(p) if isinstance(p, str) else p for p in e.path])
    appends = [e for e in edits if e.op == APPEND]
    return [*sets, *removes, *inserts, *appends]


def _apply_rt(data: Any, edit: Edit) -> None:
    parent = data
    for elem in edit.path[:-1]:
        parent = parent[elem]
    last = edit.path[-1] if edit.path else None
    if edit.op == APPEND:
        target = parent[last] if last is not None else parent
        target.append(_like_siblings(edit.value, target))
    elif edit.op == INSERT:
        assert isinstance(last, int)  # an insert's path ends with the index
        parent.insert(last, _like_siblings(edit.value, parent))
        if last > 0:
            _comments_follow(parent, last)
    elif edit.op == REMOVE:
        del parent[last]
    elif isinstance(parent, dict) and last not in parent:
        _add_key(parent, last, _styled(edit.value, None))
    else:
        old = parent[last]
        new = _styled(edit.value, old)
        _assign(parent, last, new)
        _keep_line_end(parent, last, _is_block(old), _is_block(new))
        _keep_comment_gap(parent, last, old, new)


def _comments_follow(sequence: Any, index: int) -> None:
    """After an insert at `index`: the comment lines that stood above the next item (ruamel keeps
    them on the item before, where the new one now follows) go after the new item, above the next."""
    before, new = sequence[index - 1], sequence[index]
    if isinstance(before, CommentedMap) and not _is_flow(before) and len(before):
        slot: Any = before.ca.items.get(next(reversed(before)))
        position = 2
    else:
        slot, position = sequence.ca.items.get(index - 1), 0
    token = slot[position] if slot is not None and len(slot) > position else None
    if token is None:
        return
    head, newline, rest = token.value.partition("\n")
    if not rest.strip():
        return
    moved = copy.copy(token)
    moved.value = "\n" + rest
    token.value = head + newline
    if isinstance(new, CommentedMap) and not _is_flow(new) and len(new):
        new.ca.items[next(reversed(new))] = [None, None, moved, None]
    else:
        sequence.ca.items[index] = [moved, None, None, None]


def _keep_comment_gap(parent: Any, key: Any, old: Any, new: Any) -> None:
    """An end-of-line comment stays at its column (comments aligned on purpose stay aligned) while
    the new value ends at least two spaces before it; a value that gets longer than that pushes it
    right, the comment keeping its distance from the value (ruamel would leave one space)."""
    slot: Any = parent.ca.items.get(key) if isinstance(parent, (CommentedMap, CommentedSeq)) else None
    token = slot[2] if slot is not None and len(slot) > 2 else None
    if token is None or not token.value.startswith("#") or _is_block(new):
        return
    grown = _width(new) - _width(old)
    start = _value_column(parent, key)
    if grown > 0 and (start is None or start + _width(new) + 2 > token.column):
        token.column += grown


def _value_column(parent: Any, key: Any) -> Optional[int]:
    """The column the value at `key` of `parent` starts at in the file as read (None: unknown)."""
    try:
        line_column = parent.lc.value(key) if isinstance(parent, CommentedMap) else parent.lc.item(key)
        return int(line_column[1])
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _width(value: Any) -> int:
    """How wide a one-line scalar is written (its quotes included)."""
    if isinstance(value, bool) or value is None:
        return len(json.dumps(value))
    if isinstance(value, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        return len(str(value)) + 2
    return len(str(value))


def _assign(parent: Any, key: Any, value: Any) -> None:
    """`parent[key] = value` exactly: ruamel's own assignment gives a plain string the quoting of the
    value it replaces, which `_styled` has already decided."""
    if isinstance(parent, CommentedMap):
        ordereddict.__setitem__(parent, key, value)
    elif isinstance(parent, CommentedSeq):
        list.__setitem__(parent, key, value)
    else:
        parent[key] = value


def _is_block(value: Any) -> bool:
    return isinstance(value, (LiteralScalarString, FoldedScalarString))


def _keep_line_end(parent: Any, key: Any, was_block: bool, is_block: bool) -> None:
    """A block scalar (`|`) ends with its own line break, which the comment or blank lines after a
    one-line value start with (ruamel keeps them on the entry): one of the two must go, or come back."""
    slot: Any = parent.ca.items.get(key) if isinstance(parent, (CommentedMap, CommentedSeq)) else None
    token = slot[2] if slot is not None and len(slot) > 2 else None
    if token is None or was_block == is_block:
        return
    if is_block and token.value.startswith("\n"):
        token.value = token.value[1:]
    elif is_block and token.value.startswith("#") and isinstance(parent, CommentedMap):
        # the end-of-line comment of the old value: a block has no end of line for it, so it
        # goes on its own line above the key
        comment, _, rest = token.value.partition("\n")
        slot[2] = None
        if rest:
            token.value = rest
            slot[2] = token
        parent.yaml_set_comment_before_after_key(key, before=comment.lstrip("#").strip(), indent=parent.lc.key(key)[1])
    elif was_block:
        token.value = "\n" + token.value


def _add_key(mapping: Any, key: Any, value: Any) -> None:
    """A new key at the end of `mapping`. The comment or blank lines that followed the old last
    entry (ruamel keeps them on it) move to the new one, so they still end the mapping."""
    last = next(reversed(mapping), None) if len(mapping) else None
    mapping[key] = value
    slot = mapping.ca.items.get(last) if last is not None else None
    if slot is not None and len(slot) > 2 and slot[2] is not None and not isinstance(value, (dict, list)):
        mapping.ca.items[key] = [None, None, slot[2], None]
        slot[2] = None


def _styled(value: Any, old: Any) -> Any:
    """`value` written the way `old` was: the same quoting for a string, flow or block for a list
    or a mapping."""
    if isinstance(value, str) and isinstance(old, _QUOTED):
        if isinstance(old, (LiteralScalarString, FoldedScalarString)) and "\n" not in value:
            return DoubleQuotedScalarString(value) if not isinstance(resolve_plain(value), str) else value
        return type(old)(value)
    if isinstance(value, str) and (not isinstance(resolve_plain(value), str) or _needs_quotes(value)):
        # "1e3", "true": a string, not what YAML 1.2 reads it as; "#31439c": not a comment
        return DoubleQuotedScalarString(value)
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, dict):
        # the keys the old mapping had first, in its order
        keys = [k for k in old if k in value] if isinstance(old, dict) else []
        keys += [k for k in value if k not in keys]
        made = CommentedMap((k, _styled(value[k], old.get(k) if isinstance(old, dict) else None)) for k in keys)
        if _is_flow(old):
            made.fa.set_flow_style()
        return made
    if isinstance(value, list):
        like = old if isinstance(old, list) else []
        seq = CommentedSeq(_styled(v, like[i] if i < len(like) else (like[-1] if like else None)) for i, v in enumerate(value))
        if _is_flow(old) or (old is None and value and all(not isinstance(v, (dict, list)) for v in value)):
            seq.fa.set_flow_style()
        return seq
    return value


def _needs_quotes(value: str) -> bool:
    """Whether a one-line string cannot be written plain (YAML would quote it: `#`, `: `, `[`...)."""
    return "\n" not in value and yaml.safe_dump(value, width=4096).startswith(("'", '"'))


def _like_siblings(value: Any, sequence: Any) -> Any:
    """An item appended to a list, in the style of the items already there (`{name: a, type: b}`)."""
    sibling = sequence[-1] if len(sequence) else None
    if isinstance(value, dict) and _is_flow(sibling):
        return _styled(value, sibling)
    return _styled(value, None if isinstance(value, dict) else sibling)


def _is_flow(node: Any) -> bool:
    return isinstance(node, (CommentedMap, CommentedSeq)) and bool(node.fa.flow_style())


# -- the text splice (fallback) -------------------------------------------------------------------
def _splice(text: str, edits: Sequence[Edit]) -> Optional[str]:
    """Each edit a one-line scalar replaced in place by a one-line scalar; None when any is not."""
    root = yaml.compose(text)
    spans = []
    for edit in edits:
        node = _node(root, edit.path) if edit.op == SET else None
        rendered = _inline(edit.value, node)
        if node is None or rendered is None or node.start_mark.line != node.end_mark.line:
            return None
        spans.append((node.start_mark.index, node.end_mark.index, rendered))
    out = text
    for start, end, rendered in sorted(spans, reverse=True):
        out = out[:start] + rendered + out[end:]
    return out


def _inline(value: Any, node: Any) -> Optional[str]:
    """`value` as a one-line YAML scalar, quoted as `node` was when it can be."""
    if not isinstance(node, yaml.ScalarNode) or node.style not in (None, "'", '"'):
        return None
    if isinstance(value, str):
        if "\n" in value:
            return None
        if node.style == "'" and "'" not in value:
            return f"'{value}'"
        plain_ok = node.style is None and isinstance(resolve_plain(value), str) and value == value.strip()
        if plain_ok and _reads_back(value, value):
            return value
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return None


def _reads_back(rendered: str, value: Any) -> bool:
    try:
        return bool(yaml.safe_load(f"k: {rendered}\n") == {"k": value})
    except yaml.YAMLError:
        return False


def _node(root: Any, path: YamlPath) -> Any:
    node = root
    for elem in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == elem), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(elem, int) and 0 <= elem < len(node.value):
            node = node.value[elem]
        else:
            return None
        if node is None:
            return None
    return node


# -- the checks -----------------------------------------------------------------------------------
def _data(text: str) -> Any:
    parsed = parse_yaml(text, "<patched>")
    if not parsed.usable or parsed.diagnostics:
        raise PatchError("the file does not read as valid YAML")
    return parsed.data


def apply_to_data(data: Any, edits: Sequence[Edit]) -> Any:
    """`data` (plain values) with `edits` made: what the patched file must read as."""
    result = copy.deepcopy(data)
    for edit in _ordered(edits):
        parent = result
        for elem in edit.path[:-1]:
            parent = parent[elem]
        last = edit.path[-1] if edit.path else None
        if edit.op == APPEND:
            (parent[last] if last is not None else parent).append(copy.deepcopy(edit.value))
        elif edit.op == INSERT:
            parent.insert(last, copy.deepcopy(edit.value))
        elif edit.op == REMOVE:
            del parent[last]
        else:
            parent[last] = copy.deepcopy(edit.value)
    return result


def _problem(before: str, after: str, edits: Sequence[Edit], expected: Any) -> str:
    """Why `after` is not `before` with exactly `edits` made ('' when it is)."""
    try:
        if _data(after) != expected:
            return "the patched file would not read as the intended values"
    except PatchError:
        return "the patched file would not read as valid YAML"
    allowed = _edited_lines(before, edits)
    old_lines, new_lines = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete") and any(line not in allowed for line in range(i1, i2)):
            return f"writing it back would also change line {min(set(range(i1, i2)) - allowed) + 1}"
    return ""


def _edited_lines(text: str, edits: Sequence[Edit]) -> set[int]:
    """The 0-based lines of `text` an edit may change: each edited entry, key to end of value (an
    appended or added entry: the last line of its list or mapping, which a flow style rewrites)."""
    root = yaml.compose(text)
    lines: set[int] = set()
    for edit in edits:
        if edit.op == INSERT:  # lines are added; a flow list is written again
            node = _node(root, edit.path[:-1])
            if node is not None and getattr(node, "flow_style", False):
                lines.update(range(node.start_mark.line, node.end_mark.line + 1))
            continue
        target = edit.path if edit.op != SET or _node(root, edit.path) is not None else edit.path[:-1]
        node = _node(root, target)
        if node is None:
            continue
        first = _key_line(root, target) if edit.op != APPEND else node.end_mark.line
        last = node.end_mark.line - (1 if node.end_mark.column == 0 and node.end_mark.line > first else 0)
        if edit.op == APPEND or target != edit.path:
            first = last if not getattr(node, "flow_style", False) else node.start_mark.line
        lines.update(range(first, last + 1))
    return lines


def _key_line(root: Any, path: YamlPath) -> int:
    if not path:
        return 0
    parent = _node(root, path[:-1])
    if isinstance(parent, yaml.MappingNode):
        for key, _value in parent.value:
            if key.value == path[-1]:
                return int(key.start_mark.line)
    node = _node(root, path)
    return int(node.start_mark.line) if node is not None else 0
