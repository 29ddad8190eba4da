"""The per-request context handed to route handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Optional

from werkzeug.wrappers import Request

from . import errors
from .app import App
from .auth import READ, Caller, check_project
from .store import ProjectData, Store


@dataclass
class Raw:
    """A non-JSON response body (file contents, macro results)."""

    data: bytes
    mimetype: str = "application/octet-stream"
    status: int = 200


TRUE_STRINGS = {"true", "1", "yes"}


class Ctx:
    """One request: its query and body, the caller, the path's variables, and the emulator (``app``)."""

    def __init__(self, request: Request, app: App, caller: Caller, params: Dict[str, str]) -> None:
        self.request = request
        self.app = app
        self.store: Store = app.store
        self.caller = caller
        self.params = params
        self._body: Any = None
        self._body_read = False

    # ---------------------------------------------------------------- query and body

    def query(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.request.args.get(name, default)

    def qbool(self, name: str, default: bool = False) -> bool:
        value = self.request.args.get(name)
        if value is None:
            return default
        return value.strip().lower() in TRUE_STRINGS  # dataikuapi sends Python's True/False

    def raw_body(self) -> bytes:
        return self.request.get_data(cache=True)

    def body(self, default: Any = None) -> Any:
        """The JSON body whatever the Content-Type (dataikuapi sends none)."""
        if not self._body_read:
            data = self.raw_body()
            self._body_read = True
            if data.strip():
                try:
                    self._body = json.loads(data.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as exc:
                    raise errors.invalid_json(str(exc)) from None
        return self._body if self._body is not None else default

    def body_dict(self) -> Dict[str, Any]:
        body = self.body({})
        if not isinstance(body, dict):
            raise errors.bad_request("Expected a JSON object as request body")
        return body

    def created(self, answer: Dict[str, Any], *identity: str) -> Dict[str, Any]:
        """The answer to a create: `answer` (the created document), or only its `identity` keys
        under the behaviour `create_answer: identity` (docs/emulator.md, doubts)."""
        if self.app.behaviour("create_answer") == "identity":
            return {key: answer[key] for key in identity}
        return answer

    # ---------------------------------------------------------------- objects

    def project(self, need: str = READ, key: Optional[str] = None) -> ProjectData:
        key = key if key is not None else self.params["pk"]
        proj = self.store.projects.get(key)
        if proj is None:
            raise errors.project_unreadable()
        check_project(proj.params, self.caller, need, key)
        return proj

    @property
    def login(self) -> str:
        return self.caller.identity
