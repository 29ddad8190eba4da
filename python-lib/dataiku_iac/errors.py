"""The exception taxonomy of dataiku-iac.

One root (`IacError`) and a shallow tree. Callers branch on the class, never on the
message text. Every error carries a message safe to print: no secret value ever goes
into an exception (values that might be secret are redacted before raising).

Config validation does not stop at the first problem: it accumulates `Diagnostic`s
and raises one `ConfigError` carrying all of them, Terraform-style.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable, Optional

# Characters that must never reach a terminal raw from user input: C0 controls (ESC starts a
# terminal escape sequence, BEL rings, NUL and CR hide what precedes them), DEL, C1 controls
# (0x9b is a one-byte CSI on some terminals) and the Unicode bidirectional overrides that make
# text display in another order than it reads ("Trojan Source").
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_KEEP_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_one(match: re.Match) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


# The userinfo of a URL (`https://user:password@host`): a credential, never shown.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@'\"]+@")


def redact_userinfo(text: str) -> str:
    """`text` with the `user:password@` of every URL in it replaced by `***@`."""
    return _USERINFO.sub(r"\1***@", text)


# -- secret values this process holds: never in a message ----------------------------------------
# A DSS error may repeat the request it refused (Jackson's parse errors quote the document they
# could not read), and so the value of a secret variable the request carried. Every secret value
# the process reads (from its secret source, or from DSS when it fingerprints what DSS holds) is
# remembered here, and every message of an error or a diagnostic has it replaced, in each form a
# message may quote it: as is, JSON-escaped, URL-encoded. Values shorter than
# MIN_REDACTED_LENGTH are not looked for (they would blank ordinary words).
SECRET_REDACTED = "(sensitive value)"
MIN_REDACTED_LENGTH = 6
_MAX_REMEMBERED = 4096
_remembered: OrderedDict[str, None] = OrderedDict()
_remembered_lock = threading.Lock()
_forms: tuple[str, ...] = ()  # the remembered forms, longest first (one may hold a shorter one)


def remember_secret(value: object) -> None:
    """Never show `value` in an error or a diagnostic of this process (a secret's value)."""
    global _forms
    if not isinstance(value, str) or len(value) < MIN_REDACTED_LENGTH:
        return
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1],
             urllib.parse.quote(value, safe=""), urllib.parse.quote(value), urllib.parse.quote_plus(value)}
    with _remembered_lock:
        if all(form in _remembered for form in forms):
            return
        for form in forms:
            _remembered[form] = None
        while len(_remembered) > _MAX_REMEMBERED:
            _remembered.popitem(last=False)
        _forms = tuple(sorted(_remembered, key=len, reverse=True))


def forget_secrets() -> None:
    """Forget every remembered value: for a host running unrelated runs in one process (tests)."""
    global _forms
    with _remembered_lock:
        _remembered.clear()
        _forms = ()


def redact_secrets(text: str) -> str:
    """`text` with every remembered secret value (in any of its forms) replaced."""
    forms = _forms
    if not forms or not isinstance(text, str):
        return text
    for form in forms:
        if form in text:
            text = text.replace(form, SECRET_REDACTED)
    return text


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with every control character escaped (ESC -> \\x1b), and the credentials of URLs
    (`user:password@`) redacted: safe to show on a terminal.

    Messages quote user input (names, values, paths from YAML, DSS answers); this is applied
    where messages are rendered, so no message has to remember it. Newlines (and tabs) are kept
    only in free-form text (`keep_newlines`), never in a one-line diagnostic.
    """
    pattern = _UNPRINTABLE_KEEP_LINES if keep_newlines else _UNPRINTABLE
    return redact_userinfo(pattern.sub(_escape_one, redact_secrets(text)))


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in the user's configuration, tied to a place in a file.

    `path` is the YAML path inside the document, e.g. ``datasets[2].format``.
    `line` and `column` are 1-based; 0 means unknown (e.g. a missing file).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    hint: Optional[str] = None
    severity: str = "error"  # "error" | "warning"

    def location(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where

    def render(self) -> str:
        """One line for a terminal (control characters from the input escaped)."""
        text = f"{self.location()}: {self.severity}: "
        if self.path:
            text += f"{self.path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return printable(text)

    def to_json(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": redact_secrets(self.message),
            "hint": redact_secrets(self.hint) if self.hint else self.hint,
            "severity": self.severity,
        }


class IacError(Exception):
    """Root of every error dataiku-iac raises on purpose. The CLI maps it to exit code 1."""

    exit_code = 1

    def __init__(self, *args: object) -> None:
        # A message may quote what DSS answered, which may quote a secret value (see remember_secret).
        super().__init__(*(redact_secrets(a) if isinstance(a, str) else a for a in args))


class ConfigError(IacError):
    """The configuration is invalid. Carries every diagnostic found, not just the first, and
    the warnings found on the way (so that a failing run does not hide them)."""

    def __init__(self, diagnostics: list[Diagnostic], warnings: Iterable[Diagnostic] = ()):
        self.diagnostics = list(diagnostics)
        self.warnings = list(warnings)
        # The checks against DSS (connections, code envs, API infrastructures) were not run: a
        # configuration with errors sends no request (docs/acceptance-tests.md, bad input)
        self.dss_checks_pending = False
        count = len(self.diagnostics)
        first = self.diagnostics[0].render() if self.diagnostics else "invalid configuration"
        summary = first if count == 1 else f"{count} configuration errors; first: {first}"
        super().__init__(summary)


@dataclass(frozen=True)
class PlanProblem:
    """One reason a plan was refused, and the DSS project whose content its text reveals (so a
    face acting for someone else, the console, can withhold it from who may not read it)."""

    address: str
    project_key: str
    text: str


class PlanError(IacError):
    """A plan cannot be computed (e.g. an unmanaged object stands where a resource should go).

    `problems` lists each reason with its project when the planner knows them; the message
    is `prefix` followed by their texts joined with "; "."""

    def __init__(self, message: str, *, problems: tuple[PlanProblem, ...] = (), prefix: str = ""):
        super().__init__(message)
        self.problems = tuple(problems)
        self.prefix = prefix

    @classmethod
    def of(cls, problems: list[PlanProblem], prefix: str = "") -> PlanError:
        return cls(prefix + "; ".join(p.text for p in problems), problems=tuple(problems), prefix=prefix)


class StalePlanError(PlanError):
    """A saved plan no longer matches the state or config it was computed against."""


class UnsafeOperationError(PlanError):
    """The plan would delete data or a protected object and no flag allows it."""


class StateError(IacError):
    """The state is unreadable, corrupt, of a foreign lineage, or a write was refused."""


class StateCorruptError(StateError):
    """A state, history or journal file is unreadable or invalid. Recovery: roll back to a kept serial."""


class StateConflictError(StateError):
    """A write was refused: another writer moved the serial on, or the lineage is foreign."""


class LockError(StateError):
    """The state lock is held by someone else (or could not be taken/released).

    `contended` says another run holds the lock or was taking it at that moment: waiting may
    help (`--lock-timeout`). Other lock errors (a store without conditional writes, a release
    with the wrong ID) will not go away by waiting."""

    def __init__(self, message: str, holder: Optional[dict] = None, *, contended: bool = False):
        super().__init__(message)
        self.holder = holder or {}
        self.contended = contended or bool(self.holder)


class DssError(IacError):
    """DSS refused or failed a call. `transient` says whether retrying may help."""

    def __init__(self, message: str, *, error_type: str = "", transient: bool = False):
        super().__init__(message)
        self.error_type = error_type
        self.transient = transient


class DssPermissionError(DssError):
    """The API key's user may not see or change what the command needs (DSS answered, or would
    answer, "not authorized"). Waiting does not help; another key, or rights in DSS, does."""


@dataclass
class ErrorReport:
    """A structured error for JSON output: the class name, message and diagnostics."""

    kind: str
    message: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    @classmethod
    def from_exception(cls, exc: IacError, warnings: Iterable[Diagnostic] = ()) -> ErrorReport:
        diags = exc.diagnostics if isinstance(exc, ConfigError) else []
        found = [*(exc.warnings if isinstance(exc, ConfigError) else []), *warnings]
        return cls(kind=type(exc).__name__, message=redact_secrets(str(exc)), diagnostics=diags, warnings=_unique(found))

    def to_json(self) -> dict:
        return {
            "error": {
                "kind": self.kind,
                "message": self.message,
                "diagnostics": [d.to_json() for d in self.diagnostics],
                "warnings": [d.to_json() for d in self.warnings],
            }
        }


def _unique(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))
