"""Route tables on werkzeug's routing (``werkzeug.routing.Map``), with DSS's path rules.

Routes are declared with werkzeug's syntax, ``/projects/<pk>/datasets/<name>``, a segment per
variable, and ``<dsspath:path>`` for the file path that ends a managed-folder or library URL.
What the table does for DSS (dataikuapi-surface.md section 11, general rules 4 and 6):

* the path is matched percent-decoded (werkzeug's ``Request.path``);
* a path matches with or without one trailing slash, whichever way the route is written
  (dataikuapi writes ``/projects/`` but ``/projects/{pk}/datasets/{name}``; the emulator has
  always taken both): each route is two strict rules, with and without the slash, so a wrong
  verb is a 405 either way and ``/projects//`` matches nothing;
* ``//`` is never merged in the fixed part (``/projects//datasets/`` matches nothing), but a
  ``dsspath`` tail is collapsed (``contents//x`` and ``contents/x`` are the same file), its ``..``
  left for the handler to refuse once the caller is known;
* werkzeug answers HEAD on GET rules; the emulator answers exactly the verbs of its routes.

``match`` returns the route and its variables, or raises ``NoRoute`` (404) or ``WrongMethod``
(405, with the verbs the path takes); the caller turns those into DSS's error envelope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import BaseConverter, Map, MapAdapter, Rule

from .files import collapse

Handler = Callable[..., Any]


class DssPathConverter(BaseConverter):
    """The rest of the URL as a file path: may be empty, may hold '/', '//' collapsed."""

    regex = ".*"
    part_isolating = False
    weight = 200

    def to_python(self, value: str) -> str:
        return collapse(value)


@dataclass(frozen=True, eq=False)
class Route:
    method: str
    pattern: str  # as declared, trailing slash included
    handler: Handler
    locked: bool  # run under the store lock (every route but the long-running ones)


class NoRoute(Exception):
    """No route has this path."""


class WrongMethod(Exception):
    """The path exists, for other verbs."""

    def __init__(self, allowed: Iterable[str]) -> None:
        super().__init__(sorted(allowed))
        self.allowed = sorted(allowed)


class _ExactMethodsRule(Rule):
    """A rule that takes only its own verbs (werkzeug's Rule adds HEAD to every GET rule)."""

    def __init__(self, string: str, method: str, endpoint: Route) -> None:
        super().__init__(string, methods=[method], endpoint=endpoint)
        self.methods = {method}


def _rule_strings(pattern: str) -> List[str]:
    """The path without and with a trailing slash; a ``dsspath`` tail takes any slashes itself."""
    bare = pattern.rstrip("/")
    return [bare] if "<dsspath:" in bare else [bare, bare + "/"]


class RouteTable:
    def __init__(self) -> None:
        self.map = Map(
            strict_slashes=True,
            merge_slashes=False,
            redirect_defaults=False,
            converters={"dsspath": DssPathConverter},
        )
        self.routes: List[Route] = []
        self._adapter: Optional[MapAdapter] = None

    def add(self, method: str, pattern: str, handler: Handler, locked: bool = True) -> Route:
        entry = Route(method.upper(), pattern, handler, locked)
        for string in _rule_strings(pattern):
            self.map.add(_ExactMethodsRule(string, entry.method, entry))
        self.routes.append(entry)
        self._adapter = None
        return entry

    def route(self, method: str, pattern: str, locked: bool = True) -> Callable[[Handler], Handler]:
        """Decorator: ``@route("GET", "/projects/<pk>")``; ``"GET|POST"`` registers both verbs."""

        def deco(fn: Handler) -> Handler:
            for verb in method.split("|"):
                self.add(verb, pattern, fn, locked)
            return fn

        return deco

    def match(self, method: str, path: str) -> Tuple[Route, Dict[str, Any]]:
        if path.startswith("//"):
            raise NoRoute()  # werkzeug would strip the leading slashes; no DSS path starts empty
        try:
            route, params = self._bound().match(path, method.upper())
        except MethodNotAllowed as exc:
            raise WrongMethod(exc.valid_methods or ()) from None
        except NotFound:
            raise NoRoute() from None
        return route, dict(params)

    def _bound(self) -> MapAdapter:
        adapter = self._adapter
        if adapter is None:
            self.map.update()  # sorts each state's transitions by weight: static before variable
            adapter = self._adapter = self.map.bind("dss-emulator")
        return adapter


# Every API route module registers on this table at import time (the admin API has its own).
API_ROUTES = RouteTable()
route = API_ROUTES.route
