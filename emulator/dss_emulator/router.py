"""A tiny regex router: ``/projects/{pk}/datasets/{name}``; ``{x:path}`` captures the rest (may hold '/')."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

Handler = Callable[..., Any]


@dataclass
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler
    locked: bool


def _compile(pattern: str) -> re.Pattern[str]:
    out = ""
    pos = 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", pattern):
        out += re.escape(pattern[pos : m.start()])
        out += f"(?P<{m.group(1)}>.*)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    out += re.escape(pattern[pos:])
    return re.compile("^" + out.rstrip("/") + "/?$")


class Router:
    def __init__(self) -> None:
        self.routes: List[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, locked: bool = True) -> None:
        self.routes.append(Route(method.upper(), pattern, _compile(pattern), handler, locked))

    def route(self, method: str, pattern: str, locked: bool = True) -> Callable[[Handler], Handler]:
        def deco(fn: Handler) -> Handler:
            for verb in method.split("|"):
                self.add(verb, pattern, fn, locked)
            return fn

        return deco

    def match(self, method: str, path: str) -> Tuple[Optional[Route], Dict[str, str], bool]:
        """(route, path params, whether the path exists for another verb)."""
        other_verb = False
        for route in self.routes:
            m = route.regex.match(path)
            if m is None:
                continue
            if route.method == method.upper():
                return route, m.groupdict(), False
            other_verb = True
        return None, {}, other_verb


# Every route module registers on this router at import time.
ROUTER = Router()
route = ROUTER.route
