"""A safe YAML reader that remembers where every node came from.

PyYAML's SafeLoader is safe against code execution but not against alias bombs,
and silently keeps the last of two duplicate keys. We read PyYAML's *event* stream
(libyaml when available) and build plain Python values ourselves, so that we can:

- refuse every anchor, alias and explicit tag (aliases are how billion-laughs bombs
  work; tags are how object construction is smuggled in; even ``!!str`` is refused
  so that the rule stays simple to state),
- refuse duplicate keys, naming both places,
- cap nesting depth and node count,
- record the (line, column) of every value and every key.

Plain scalars are resolved with the YAML 1.2 *core* schema: only ``true``/``false``
are booleans (``yes``, ``no``, ``on``, ``off`` stay strings: the "Norway problem"),
``1:20`` is a string, not a sexagesimal number, and dates stay strings. Keys are
always strings: the key's text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, List, Optional

import yaml
from yaml import events as ev

from ..errors import Diagnostic
from .paths import Mark, MarkMap, YamlPath, render_path

MAX_DEPTH = 64
MAX_NODES = 100_000
MAX_DIAGNOSTICS_PER_FILE = 20

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_TRUE = frozenset({"true", "True", "TRUE"})
_BOOL_FALSE = frozenset({"false", "False", "FALSE"})
_INT_DEC = re.compile(r"^[-+]?[0-9]+$")
_INT_OCT = re.compile(r"^0o[0-7]+$")
_INT_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(?:inf|Inf|INF)$")
_NAN = re.compile(r"^\.(?:nan|NaN|NAN)$")


# The first characters a null, boolean or number can start with (the patterns above): any other
# plain scalar is a string, decided without trying each pattern (most scalars are names).
_NOT_TEXT_START = frozenset("~nNtTfF-+.0123456789")


def resolve_plain(text: str) -> Any:
    """The value of an untagged plain scalar under the YAML 1.2 core schema."""
    if text and text[0] not in _NOT_TEXT_START:
        return text
    if _NULL.match(text):
        return None
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    try:
        if _INT_DEC.match(text):
            return int(text)
        if _INT_OCT.match(text):
            return int(text[2:], 8)
        if _INT_HEX.match(text):
            return int(text[2:], 16)
    except ValueError:  # more digits than Python converts: keep the text
        return text
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


def _short_tag(tag: str) -> str:
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


@dataclass
class ParsedYaml:
    """The outcome of reading one file. `usable` is False when the data must not be trusted
    (syntax error, refused construct): later stages then skip the file."""

    data: Any = None
    marks: MarkMap = field(default_factory=dict)
    diagnostics: List[Diagnostic] = field(default_factory=list)
    usable: bool = True
    empty: bool = False  # the file holds no document at all (or only comments)
    references: bool = False  # some string value holds "${" (variables.substitute has work to do)


class _Abort(Exception):
    """Stop reading this file: a limit was hit or too many errors were found."""


class _Composer:
    def __init__(self, text: str, file: str):
        self.file = file
        self.text = text
        self.loader = _Loader(text)
        self.marks: MarkMap = {}
        self.diagnostics: List[Diagnostic] = []
        self.nodes = 0
        self.refused = False  # an anchor/alias/tag was met: the data is not usable
        self.reported: set[str] = set()  # anchors and aliases are reported once per file (a bomb has hundreds)
        self.references = False

    # -- diagnostics -------------------------------------------------------------------
    def error(self, mark: Any, path: YamlPath, message: str, hint: Optional[str] = None) -> None:
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        self.diagnostics.append(Diagnostic(self.file, line, column, render_path(path), message, hint))
        if len(self.diagnostics) >= MAX_DIAGNOSTICS_PER_FILE:
            raise _Abort()

    # -- the document ------------------------------------------------------------------
    def run(self) -> ParsedYaml:
        result = ParsedYaml()
        try:
            self.loader.get_event()  # StreamStart
            if self.loader.check_event(ev.StreamEndEvent):
                result.empty = True
                return result
            self.loader.get_event()  # DocumentStart
            result.data = self.compose((), None, 0)
            self.loader.get_event()  # DocumentEnd
            if self.loader.check_event(ev.DocumentStartEvent):
                start = self.loader.peek_event().start_mark
                self.error(start, (), "a file must hold a single YAML document, found a second one ('---')",
                           "split it into several files")
                self.refused = True
        except _Abort:
            self.refused = True
        except yaml.YAMLError as exc:
            self.diagnostics.append(yaml_error_diagnostic(exc, self.file, self.text))
            self.refused = True
        finally:
            self.loader.dispose()
        result.marks = self.marks
        result.diagnostics = self.diagnostics
        result.usable = not self.refused
        result.references = self.references
        return result

    def compose(self, path: YamlPath, key_event: Any, depth: int) -> Any:
        # Runs once per node (170,000 for 10,000 resources): count_node, record and check_node
        # are inlined for their common case.
        event = self.loader.get_event()
        self.nodes += 1
        if self.nodes > MAX_NODES or depth >= MAX_DEPTH:
            self.check_limits(event, path, depth)
        start = event.start_mark
        if key_event is None:
            self.marks[path] = Mark(self.file, path, start.line + 1, start.column + 1, 0, 0)
        else:
            key = key_event.start_mark
            self.marks[path] = Mark(self.file, path, start.line + 1, start.column + 1, key.line + 1, key.column + 1)
        kind = type(event)
        if kind is ev.ScalarEvent and event.anchor is None and event.tag is None:
            value = event.value
            if "${" in value:
                self.references = True
            return resolve_plain(value) if event.implicit[0] else value
        self.check_node(event, path)
        if isinstance(event, ev.AliasEvent):
            return None
        if isinstance(event, ev.ScalarEvent):
            return resolve_plain(event.value) if event.implicit[0] and event.tag is None else event.value
        if isinstance(event, ev.SequenceStartEvent):
            return self.compose_sequence(path, depth)
        return self.compose_mapping(path, depth)

    def count_node(self, event: Any, path: YamlPath, depth: int) -> None:
        self.nodes += 1
        self.check_limits(event, path, depth)

    def check_limits(self, event: Any, path: YamlPath, depth: int) -> None:
        """The node count (already counting `event`) and nesting limits."""
        if self.nodes > MAX_NODES:
            self.error(event.start_mark, path, f"the file has more than {MAX_NODES:,} YAML nodes",
                       "split the configuration into several files")
            raise _Abort()
        # `depth` counts the collections around this node; a collection adds one more level.
        if isinstance(event, ev.CollectionStartEvent) and depth + 1 > MAX_DEPTH:
            self.error(event.start_mark, path[:8], f"nesting is deeper than {MAX_DEPTH} levels")
            raise _Abort()

    def check_node(self, event: Any, path: YamlPath) -> None:
        """Refuse anchors, aliases and explicit tags; keep reading to report them all."""
        if isinstance(event, ev.AliasEvent):
            self.refuse_once("alias", event, path, f"YAML aliases are not allowed ('*{event.anchor}')")
            return
        if event.anchor is not None:
            self.refuse_once("anchor", event, path, f"YAML anchors are not allowed ('&{event.anchor}')")
        tag = getattr(event, "tag", None)
        if tag is not None:
            self.refused = True
            self.error(event.start_mark, path, f"YAML tags are not allowed ('{_short_tag(tag)}')",
                       "remove the tag: values are plain strings, numbers, booleans, lists and mappings")

    def refuse_once(self, kind: str, event: Any, path: YamlPath, message: str) -> None:
        self.refused = True
        if kind not in self.reported:
            self.reported.add(kind)
            self.error(event.start_mark, path, message,
                       "anchors and aliases are refused (they make alias bombs possible); repeat the value")

    def compose_sequence(self, path: YamlPath, depth: int) -> list[Any]:
        items: list[Any] = []
        while not self.loader.check_event(ev.SequenceEndEvent):
            items.append(self.compose((*path, len(items)), None, depth + 1))
        self.loader.get_event()
        return items

    def compose_mapping(self, path: YamlPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Any] = {}  # key -> the mark where it first appeared

        loader = self.loader
        while not loader.check_event(ev.MappingEndEvent):
            key_event = loader.peek_event()
            if type(key_event) is ev.ScalarEvent and key_event.anchor is None and key_event.tag is None:
                # compose_key's common case, inlined (a plain key: nothing to check but the count)
                loader.get_event()
                self.nodes += 1
                if self.nodes > MAX_NODES:
                    self.check_limits(key_event, path, depth + 1)
                key: Optional[str] = key_event.value
            else:
                key = self.compose_key(path, depth)
            if key is None:  # a complex key: reported and consumed; skip its value too
                self.skip_node()
                continue
            if key in first_seen:
                self.report_duplicate(path, key, key_event, first_seen[key])
                self.compose_dropped((*path, key), key_event, depth + 1)
                continue
            first_seen[key] = key_event.start_mark
            result[key] = self.compose((*path, key), key_event, depth + 1)
        self.loader.get_event()
        return result

    def compose_dropped(self, path: YamlPath, key_event: Any, depth: int) -> None:
        """Read a duplicate key's value and drop it (the first one wins), keeping the first's marks."""
        saved = {p: m for p, m in self.marks.items() if p[: len(path)] == path}
        self.compose(path, key_event, depth)
        for stale in [p for p in self.marks if p[: len(path)] == path]:
            del self.marks[stale]
        self.marks.update(saved)

    def compose_key(self, path: YamlPath, depth: int) -> Optional[str]:
        event = self.loader.peek_event()
        if not isinstance(event, ev.ScalarEvent):
            self.count_node(event, path, depth + 1)
            self.check_node(event, path)
            self.refused = True
            self.error(event.start_mark, path, "mapping keys must be plain strings, not lists or mappings")
            self.skip_node()
            return None
        self.loader.get_event()
        self.count_node(event, path, depth + 1)
        self.check_node(event, path)
        return event.value

    def report_duplicate(self, path: YamlPath, key: str, key_event: Any, first: Any) -> None:
        self.error(key_event.start_mark, (*path, key),
                   f"duplicate key '{key}' (first defined at line {first.line + 1}, column {first.column + 1})",
                   "each key may appear once in a mapping; remove or merge one of them")

    def skip_node(self) -> None:
        """Consume one node's events (the value of a refused complex key)."""
        depth = 0
        while True:
            event = self.loader.get_event()
            if isinstance(event, (ev.SequenceStartEvent, ev.MappingStartEvent)):
                depth += 1
            elif isinstance(event, (ev.SequenceEndEvent, ev.MappingEndEvent)):
                depth -= 1
            if depth == 0:
                return


def yaml_error_diagnostic(exc: yaml.YAMLError, file: str, text: str) -> Diagnostic:
    if isinstance(exc, yaml.MarkedYAMLError):
        return syntax_diagnostic(exc, file, text)
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        return Diagnostic(file, line, column, "", f"the file contains a forbidden control character (#x{char:04x})",
                          "YAML allows only printable characters, tabs and line breaks")
    return Diagnostic(file, 0, 0, "", f"YAML error: {exc}")


def syntax_diagnostic(exc: yaml.MarkedYAMLError, file: str, text: str = "") -> Diagnostic:
    """A parser error as a diagnostic at the parser's position, without a traceback."""
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    problem = (exc.problem or "invalid YAML").strip()
    message = f"YAML syntax error: {problem}"
    if exc.context:
        message += f" ({exc.context.strip()}"
        if exc.context_mark is not None and exc.context_mark.line + 1 != line:
            message += f" started at line {exc.context_mark.line + 1}"
        message += ")"
    hint = None
    if "\\t" in problem or "\t" in problem or _tab_near(text, line):
        hint = "YAML indentation must use spaces, not tabs"
    return Diagnostic(file, line, column, "", message, hint)


def _tab_near(text: str, line: int) -> bool:
    """Whether the offending line is indented with a tab (the classic YAML mistake)."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return False
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip(" \t"))]
    return "\t" in indent


def parse_yaml(text: str, file: str) -> ParsedYaml:
    """Parse one YAML document held in `text` (already decoded). Never raises for bad input."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        return _Composer(text, file).run()
    except yaml.YAMLError as exc:  # a reader error (e.g. a control character) raised on creation
        return ParsedYaml(diagnostics=[yaml_error_diagnostic(exc, file, text)], usable=False)


def decode_utf8(raw: bytes, file: str) -> tuple[Optional[str], Optional[Diagnostic]]:

    """(text, diagnostic): UTF-8 only; the diagnostic names the line of the first bad byte."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, Diagnostic(file, line, column, "", f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                                "save the file as UTF-8")
