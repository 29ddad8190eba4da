"""Semantic versions and Terraform's version constraints, for module tags.

A version is ``MAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]``, with an optional leading "v"
(tags are usually ``v1.2.3``). A constraint is a comma-separated list (all must hold) of
``OP VERSION`` with OP one of ``=`` (the default), ``!=``, ``>``, ``>=``, ``<``, ``<=`` and
``~>`` (only the rightmost component given may increase: ``~> 1.2`` is ``>= 1.2, < 2.0``,
``~> 1.2.3`` is ``>= 1.2.3, < 1.3.0``), as Terraform reads them
(developer.hashicorp.com/terraform/language/expressions/version-constraints). A pre-release
is chosen only when a ``=`` constraint names it exactly; the newest matching version wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from typing import Iterable, Optional

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$")
_TERM = re.compile(r"^\s*(~>|>=|<=|!=|=|>|<)?\s*(\S+)\s*$")


class VersionError(ValueError):
    """A version or a constraint that cannot be read (the message says which)."""


@total_ordering
@dataclass(frozen=True)
class Version:
    release: tuple[int, int, int]
    prerelease: tuple[str, ...] = ()
    given: int = 3  # how many release components were written ("~> 1.2": 2)

    @classmethod
    def parse(cls, text: str) -> Version:
        match = _VERSION.match(text.strip())
        if not match:
            raise VersionError(f"'{text}' is not a version (expected MAJOR.MINOR.PATCH, e.g. 1.2.0)")
        parts = [p for p in match.group(1, 2, 3) if p is not None]
        release = tuple(int(p) for p in parts) + (0,) * (3 - len(parts))
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        return cls((release[0], release[1], release[2]), pre, len(parts))

    @classmethod
    def of_tag(cls, tag: str) -> Optional[Version]:
        try:
            return cls.parse(tag)
        except VersionError:
            return None

    def _key(self) -> tuple:
        # A release sorts after its pre-releases; numeric identifiers sort below alphanumeric ones.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return (self.release, not self.prerelease, pre)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Version) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: Version) -> bool:
        return self._key() < other._key()

    def __str__(self) -> str:
        text = ".".join(str(n) for n in self.release)
        return f"{text}-{'.'.join(self.prerelease)}" if self.prerelease else text


@dataclass(frozen=True)
class _Term:
    op: str
    version: Version

    def allows(self, v: Version) -> bool:
        c = self.version
        if self.op == "=":
            return v == c
        if self.op == "!=":
            return v != c
        if self.op == ">":
            return v > c
        if self.op == ">=":
            return v >= c
        if self.op == "<":
            return v < c
        if self.op == "<=":
            return v <= c
        # "~>": at least c, and the components before the last one given unchanged.
        fixed = c.given - 1
        return v >= c and v.release[:fixed] == c.release[:fixed]


@dataclass(frozen=True)
class Constraint:
    text: str
    terms: tuple[_Term, ...]

    @classmethod
    def parse(cls, text: str) -> Constraint:
        terms = []
        for part in text.split(","):
            match = _TERM.match(part)
            if not match:
                raise VersionError(f"'{text}' is not a version constraint (e.g. \"~> 1.2\" or \">= 1.0, < 2.0\")")
            op = match.group(1) or "="
            try:
                terms.append(_Term(op, Version.parse(match.group(2))))
            except VersionError:
                raise VersionError(
                    f"'{part.strip()}' in '{text}' is not a version constraint (operators: = != > >= < <= ~>)"
                ) from None
        return cls(text, tuple(terms))

    def allows(self, v: Version) -> bool:
        if v.prerelease and not any(t.op == "=" and t.version == v for t in self.terms):
            return False
        return all(t.allows(v) for t in self.terms)

    def newest(self, versions: Iterable[Version]) -> Optional[Version]:
        allowed = [v for v in versions if self.allows(v)]
        return max(allowed) if allowed else None
