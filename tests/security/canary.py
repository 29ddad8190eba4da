"""Secret canaries and the scanner that looks for them (tests/security/test_secret_canary.py).

A canary is a unique value put in one secret-bearing place (a secret project variable, a scenario
reporter's webhook URL, the DSS API key, a connection's password in DSS, a URL's password…). If it
shows up in anything the tool prints or writes, a secret leaked. A leak may be encoded, so each
canary is searched for as written, JSON-escaped, HTML-escaped, URL-encoded (both ways) and base64-encoded (at
every alignment, so a canary embedded in a longer encoded string, `user:KEY` in a Basic auth
header, is found too), and by its random core alone (a truncated or partly escaped copy).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional

# Characters that every encoding changes: a quote (JSON), '/', '&', '=', '+', ' ' and '%' (URLs).
_TAIL = '/q"u&e=r+y %x'


@dataclass(frozen=True)
class Canary:
    """One secret value: `where` says what holds it; `value` is what the tool is given."""

    where: str
    core: str  # the random part: found alone, it is a leak too
    value: str

    def forms(self) -> dict[str, str]:
        """name -> a string whose presence anywhere proves the value leaked."""
        raw = self.value
        found = {
            "raw": raw,
            "core": self.core,
            "json-escaped": json.dumps(raw)[1:-1],
            "json-ascii": json.dumps(raw, ensure_ascii=True)[1:-1],
            "url-encoded": urllib.parse.quote(raw, safe=""),
            "url-encoded-path": urllib.parse.quote(raw),
            "form-encoded": urllib.parse.quote_plus(raw),
            "html-escaped": html.escape(raw),  # HTML results, JUnit XML
        }
        for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
            for shift in range(3):
                found[f"{name}@{shift}"] = _aligned_base64(encode, raw, shift)
        return {k: v for k, v in found.items() if v}


def _aligned_base64(encode: object, value: str, shift: int) -> str:
    """The part of base64(PREFIX + value + SUFFIX) that depends on `value` only, for a prefix of
    `shift` bytes: present whatever surrounds the value in the encoded text."""
    data = value.encode("utf-8")
    text = encode(b"\0" * shift + data).decode("ascii")  # type: ignore[operator]
    start = -(-shift * 4 // 3)  # characters touched by the prefix
    start = start + (4 - start % 4) % 4
    end = (shift + len(data)) // 3 * 4  # characters of full groups only (the tail depends on what follows)
    return text[start:end] if end - start >= 16 else ""


def make(where: str, *, shape: str = "text", seed: str = "") -> Canary:
    """A canary for `where`: `shape` text (any characters), url (a webhook URL whose token is the
    core), key (letters and digits only: an API key, a URL's password)."""
    digest = hashlib.sha256(f"dataiku-iac canary {where} {seed}".encode()).hexdigest()
    core = "cnry" + "".join(chr(ord("g") + int(c, 16) % 20) if i % 3 == 0 else c for i, c in enumerate(digest[:20]))
    if shape == "key":
        return Canary(where, core, core)
    if shape == "url":
        return Canary(where, core, f"https://hooks.example.com/services/T0/{core}?sig=a%2Fb&x={core[-6:]}")
    return Canary(where, core, f"{core}{_TAIL}")


@dataclass
class Finding:
    canary: Canary
    form: str
    place: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.place}: {self.canary.where} ({self.form}): …{self.excerpt}…"


@dataclass
class Scanner:
    """Searches texts and files for every form of every canary; keeps what it scanned."""

    canaries: list[Canary]
    scanned: list[str] = field(default_factory=list)

    def scan(self, place: str, text: str) -> list[Finding]:
        self.scanned.append(place)
        found = []
        for canary in self.canaries:
            for form, needle in canary.forms().items():
                at = text.find(needle)
                if at >= 0:
                    found.append(Finding(canary, form, place, text[max(0, at - 60): at + len(needle) + 20]))
                    break
        return found

    def scan_bytes(self, place: str, data: bytes) -> list[Finding]:
        return self.scan(place, data.decode("utf-8", "replace"))

    def scan_tree(self, root: Path, *, label: Optional[str] = None) -> list[Finding]:
        found: list[Finding] = []
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.is_symlink():
                found += self.scan_bytes(f"{label or root}/{path.relative_to(root)}", path.read_bytes())
        return found

    def scan_all(self, items: Iterable[tuple[str, str]]) -> list[Finding]:
        return [f for place, text in items for f in self.scan(place, text)]
