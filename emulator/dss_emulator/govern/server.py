"""The Govern node as a WSGI application, and an in-process server (``GovernServer``).

A separate node on its own port, as a real Govern node is (``dss-emulator --govern``); a DSS
emulator points at it through ``/admin/get-govern-node-ref`` when started with ``--govern-url``.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from werkzeug.wrappers import Request, Response

from .. import errors
from ..faults import FaultManager, RequestLog
from ..router import NoRoute, RouteTable, WrongMethod
from ..server import BackgroundServer
from .routes import GOVERN_ROUTES, GCtx, authenticate
from .store import DEFAULT_GOVERN_ADMIN_KEY, GovernStore, default_govern_seed

# dataikuapi's GovernClient calls /dip/publicapi; Govern's own docs describe /public/api.
API_PREFIXES = ("/dip/publicapi", "/public/api")
ADMIN_PREFIX = "/__emulator__"


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


class GovernEmulator:
    """The emulated Govern node: store + request log + fault injection."""

    def __init__(self, api_key: str = DEFAULT_GOVERN_ADMIN_KEY, data_dir: Optional[Path] = None, latency_ms: int = 0) -> None:
        self.store = GovernStore(data_dir, default_govern_seed(api_key))
        self.faults = FaultManager(latency_ms=latency_ms)
        self.log = RequestLog()
        self.admin = RouteTable()
        for method, path, handler in (
            ("POST", "/reset", self._reset),
            ("POST", "/seed", self._seed),
            ("GET", "/audit", self._audit),
            ("GET", "/timeline/<ar>", self._timeline),
            ("GET", "/faults", lambda r, p: self.faults.list()),
            ("POST", "/faults", self._add_faults),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/requests", lambda r, p: self.log.entries(int(r.args.get("since", "0")))),
            ("DELETE", "/requests", self._clear_requests),
        ):
            self.admin.add(method, path, handler)

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        prefix = next((p for p in API_PREFIXES if path == p or path.startswith(p + "/")), None)
        if prefix is not None:
            response = self._api(request, path[len(prefix):] or "/")
        elif path.startswith(ADMIN_PREFIX + "/"):
            response = self._admin(request, path[len(ADMIN_PREFIX):])
        else:
            response = _json(errors.not_found(f"Not a Govern public API path: {path}").envelope(), 404)
        return response(environ, start_response)

    # ---------------------------------------------------------------- the public API

    def _api(self, request: Request, sub: str) -> Response:
        started = time.time()
        seq = self.log.start()
        method = request.method.upper()
        response = self._answer(request, method, sub)
        self.log.finish(seq, method, sub, request.query_string.decode("latin-1"), response.status_code, started)
        return response

    def _answer(self, request: Request, method: str, sub: str) -> Response:
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000.0)
        decision = self.faults.decide(method, sub)
        if decision.sleep_ms:
            time.sleep(decision.sleep_ms / 1000.0)
        if decision.hang is not None:
            self.faults.hang(decision)
            return _json(decision.hang.error().envelope(), decision.hang.error().status)
        if decision.fail_before is not None:
            err = decision.fail_before.error()
            return _json(err.envelope(), err.status)
        try:
            response = self._dispatch(request, method, sub)
        except errors.DSSError as refused:
            response = _json(refused.envelope(), refused.status)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            internal = errors.DSSError(500, "com.dataiku.dip.emulator.InternalError", f"Emulator internal error: {exc!r}")
            response = _json(internal.envelope(), internal.status)
        if decision.fail_after is not None:
            injected = decision.fail_after.error()
            return _json(injected.envelope(), injected.status)
        return response

    def _dispatch(self, request: Request, method: str, sub: str) -> Response:
        try:
            route, params = GOVERN_ROUTES.match(method, sub)
        except WrongMethod:
            raise errors.DSSError(405, errors.NOT_FOUND, f"Method {method} not allowed on {sub}") from None
        except NoRoute:
            raise errors.not_found(f"The Govern emulator does not implement {method} {sub}") from None
        with self.store.lock:
            caller = authenticate(self.store, request.headers)
            result = route.handler(GCtx(request, self.store, caller, params))
        return _json({} if result is None else result)

    # ---------------------------------------------------------------- the emulator's admin API

    def _admin(self, request: Request, sub: str) -> Response:
        if request.remote_addr not in ("127.0.0.1", "::1"):
            return _json(errors.forbidden("The emulator admin API only answers loopback clients").envelope(), 403)
        try:
            route, params = self.admin.match(request.method.upper(), sub.rstrip("/"))
        except (NoRoute, WrongMethod):
            return _json(errors.not_found(f"No emulator admin endpoint {request.method} {sub}").envelope(), 404)
        try:
            return _json(route.handler(request, params))
        except errors.DSSError as err:
            return _json(err.envelope(), err.status)
        except (ValueError, KeyError, TypeError) as exc:
            return _json(errors.bad_request(f"Bad admin request: {exc}").envelope(), 400)

    @staticmethod
    def _body(request: Request) -> Any:
        data = request.get_data()
        return json.loads(data.decode("utf-8")) if data.strip() else {}

    def _reset(self, request: Request, params: Dict[str, str]) -> Dict[str, Any]:
        self.faults.clear()
        self.store.reset()
        self.log.clear()
        return {"reset": True}

    def _seed(self, request: Request, params: Dict[str, str]) -> Dict[str, Any]:
        self.store.seed(self._body(request))
        return {"seeded": True}

    def _audit(self, request: Request, params: Dict[str, str]) -> Any:
        with self.store.lock:
            return list(self.store.audit)

    def _timeline(self, request: Request, params: Dict[str, str]) -> Any:
        with self.store.lock:
            if params["ar"] not in self.store.timelines:
                raise errors.not_found(f"Artifact not found: {params['ar']}")
            return list(self.store.timelines[params["ar"]])

    def _add_faults(self, request: Request, params: Dict[str, str]) -> Any:
        body = self._body(request)
        return [self.faults.add(spec) for spec in (body if isinstance(body, list) else [body])]

    def _clear_faults(self, request: Request, params: Dict[str, str]) -> Dict[str, Any]:
        self.faults.clear()
        return {"cleared": True}

    def _clear_requests(self, request: Request, params: Dict[str, str]) -> Dict[str, Any]:
        self.log.clear()
        return {"cleared": True}


class GovernServer(BackgroundServer):
    """``GovernServer(port=0).start()``; ``.url``; ``.stop()``: the Govern node on a thread."""

    THREAD_NAME = "govern-emulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, api_key: str = DEFAULT_GOVERN_ADMIN_KEY,
                 data_dir: Optional[Path] = None, latency_ms: int = 0) -> None:
        self.api_key = api_key
        super().__init__(host, port, GovernEmulator(api_key=api_key, data_dir=data_dir, latency_ms=latency_ms))

    def address(self) -> Tuple[str, int]:
        return self.host, self.port
