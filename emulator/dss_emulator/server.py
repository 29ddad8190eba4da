"""The WSGI application and an in-process server (``EmulatorServer``)."""

from __future__ import annotations

import ipaddress
import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import errors
from .app import PluginCode
from .auth import authenticate
from .context import Ctx, Raw
from .faults import FaultManager, RequestLog
from .router import API_ROUTES, NoRoute, WrongMethod
from .runtime import Runtime
from .store import DEFAULT_ADMIN_KEY, Store, default_seed

API_PREFIX = "/dip/publicapi"
ADMIN_PREFIX = "/__emulator__"
# Switches between DSS behaviours the emulator cannot settle (docs/emulator.md, "doubts"):
# name -> (default, allowed values). Set with POST /__emulator__/behaviour; a full reset
# restores the defaults.
BEHAVIOURS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    # Whether POST /projects/{pk}/scenarios/ takes the scenario id from the body ("body") or
    # ignores it and derives the id from the name ("from_name").
    "scenario_create_id": ("body", ("body", "from_name")),
    # What a create (POST of a dataset, folder, recipe or scenario) answers: the created document
    # ("document"), or only the key naming it ("identity": all dataikuapi reads of the answer).
    "create_answer": ("document", ("document", "identity")),
    # Whether this DSS has Project Standards (DSS 13.x+): "absent" answers 404 to its routes, as
    # an older DSS does.
    "project_standards": ("available", ("available", "absent")),
    # What DELETE /projects/{pk}/savedmodels/{id} takes with the saved model: nothing ("alone", as
    # dataikuapi documents it, like a dataset's) or its training recipe too ("with_recipe", as a
    # managed folder's or streaming endpoint's delete takes the recipes using it).
    "saved_model_delete": ("alone", ("alone", "with_recipe")),
}


def default_behaviour() -> Dict[str, str]:
    return {name: default for name, (default, _allowed) in BEHAVIOURS.items()}


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status=status, mimetype="application/json")


def error_response(err: errors.DSSError) -> Response:
    return json_response(err.envelope(), err.status)


class Emulator:
    """The emulated DSS: store + runtime state (jobs, futures, runs) + fault injection.

    Route handlers see it through the ``App`` protocol (app.py): ``store``, ``runtime``,
    ``scenarios``, ``plugin_code`` and ``behaviour(name)``.
    """

    def __init__(
        self,
        api_key: str = DEFAULT_ADMIN_KEY,
        data_dir: Optional[Path] = None,
        latency_ms: int = 0,
        plugin_dirs: Optional[List[str]] = None,
        dataiku_stand_in: Optional[str] = None,
        public_url: Optional[str] = None,
        subprocess_timeout: float = 300.0,
        govern_url: Optional[str] = None,
        govern_api_key: Optional[str] = None,
    ) -> None:
        seed = default_seed(api_key)
        seed["plugins"] = list(plugin_dirs or [])
        self.store = Store(data_dir, seed)
        self.faults = FaultManager(latency_ms=latency_ms)
        self.log = RequestLog()
        self.plugin_code = PluginCode(
            dataiku_stand_in=str(Path(dataiku_stand_in).resolve()) if dataiku_stand_in else None,
            public_url=public_url,  # set once the server knows its port
            timeout=subprocess_timeout,
        )
        self.runtime = Runtime()
        # The Govern integration (DSS: Administration > Settings > Dataiku Govern), set at start
        # (--govern-url, --govern-api-key) or by POST /__emulator__/govern-node; a full reset restores the start's.
        self._govern_start = govern_node_ref(govern_url, govern_api_key)
        self.govern_node: Dict[str, Any] = dict(self._govern_start)
        self._behaviour_lock = threading.Lock()
        self._behaviour: Dict[str, str] = default_behaviour()
        from . import routes  # noqa: F401  (registers every route on API_ROUTES)
        from .admin import AdminApi
        from .runs import ScenarioEngine

        self.admin = AdminApi(self)
        self.scenarios = ScenarioEngine(self)

    # ---------------------------------------------------------------- WSGI

    def __call__(self, environ: Dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
            response = self.handle_api(request, path[len(API_PREFIX) :] or "/")
        elif path.startswith(ADMIN_PREFIX + "/"):
            response = self.handle_admin(request, path[len(ADMIN_PREFIX) :])
        else:
            response = error_response(errors.not_found(f"Not a DSS public API path: {path}"))
        return response(environ, start_response)

    def handle_admin(self, request: Request, sub: str) -> Response:
        if not _is_loopback(request.remote_addr):
            return error_response(errors.forbidden("The emulator admin API only answers loopback clients"))
        try:
            status, payload = self.admin.dispatch(request, sub)
            return json_response(payload, status)
        except errors.DSSError as err:
            return error_response(err)
        except (ValueError, KeyError, TypeError) as exc:
            return error_response(errors.bad_request(f"Bad admin request: {exc}"))

    def handle_api(self, request: Request, sub: str) -> Response:
        started = time.time()
        seq = self.log.start()
        method = request.method.upper()
        response = self._answer(request, method, sub)
        self.log.finish(
            seq, method, sub, request.query_string.decode("latin-1"), response.status_code, started
        )
        return response

    def _answer(self, request: Request, method: str, sub: str) -> Response:
        # Latency and hangs happen before taking any lock, so parallel clients overlap.
        if self.faults.latency_ms > 0:
            time.sleep(self.faults.latency_ms / 1000.0)
        decision = self.faults.decide(method, sub)
        if decision.sleep_ms:
            time.sleep(decision.sleep_ms / 1000.0)
        if decision.hang is not None:
            self.faults.hang(decision)
            return error_response(decision.hang.error())
        if decision.fail_before is not None:
            return error_response(decision.fail_before.error())
        try:
            response = self._dispatch(request, method, sub)
        except errors.DSSError as err:
            response = error_response(err)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            response = error_response(
                errors.DSSError(
                    500, "com.dataiku.dip.emulator.InternalError", f"Emulator internal error: {exc!r}"
                )
            )
        if decision.fail_after is not None:
            return error_response(decision.fail_after.error())
        return response

    def _dispatch(self, request: Request, method: str, sub: str) -> Response:
        # Routing comes before authentication: an unknown path is a 404 even without a key.
        try:
            route, params = API_ROUTES.match(method, sub)
        except WrongMethod:
            raise errors.DSSError(405, errors.NOT_FOUND, f"Method {method} not allowed on {sub}") from None
        except NoRoute:
            raise errors.not_found(f"The emulator does not implement {method} {sub}") from None
        with self.store.lock:
            caller = authenticate(self.store, request.headers)
        ctx = Ctx(request, self, caller, params)
        if not route.locked:
            return _response(route.handler(ctx))
        with self.store.lock:
            # Encoded before the lock is released: a locked handler may answer with the stored
            # documents themselves (a list of 140 datasets, uncopied), as no write can change
            # them until their JSON is made.
            return _response(route.handler(ctx))

    # ---------------------------------------------------------------- runtime helpers

    def reset(self, full: bool = False) -> None:
        self.faults.clear()  # also wakes hanging requests
        self.scenarios.reset()
        self.store.reset(full=full)
        self.runtime.reset()
        if full:
            self.govern_node = dict(self._govern_start)
            with self._behaviour_lock:
                self._behaviour = default_behaviour()

    def behaviour(self, name: str) -> str:
        with self._behaviour_lock:
            return self._behaviour[name]

    def behaviours(self) -> Dict[str, str]:
        with self._behaviour_lock:
            return dict(self._behaviour)

    def set_behaviour(self, changes: Dict[str, Any]) -> Dict[str, str]:
        """Validate every switch first, then apply them all (all or nothing)."""
        for name, value in changes.items():
            if name not in BEHAVIOURS:
                raise errors.bad_request(f"Unknown emulator behaviour '{name}' (known: {sorted(BEHAVIOURS)})")
            allowed = BEHAVIOURS[name][1]
            if value not in allowed:
                raise errors.bad_request(f"Behaviour '{name}' must be one of {list(allowed)}, not {value!r}")
        with self._behaviour_lock:
            self._behaviour.update(changes)
            return dict(self._behaviour)


def _response(result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if isinstance(result, Raw):
        return Response(result.data, status=result.status, mimetype=result.mimetype)
    return json_response({} if result is None else result)


def govern_node_ref(url: Optional[str], api_key: Optional[str]) -> Dict[str, Any]:
    """What DSS answers on /admin/get-govern-node-ref: the integration is enabled with both."""
    return {"enabled": bool(url and api_key), "nodeUrl": url, "apiKey": api_key, "trustAllSSLCertificates": False}


def _is_loopback(addr: Optional[str]) -> bool:
    try:
        return addr is not None and ipaddress.ip_address(addr).is_loopback
    except ValueError:
        return False


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # one line per request is too noisy
        pass


class BackgroundServer:
    """A WSGI app (with `faults`) served by werkzeug's threaded server, in the foreground or on a
    daemon thread: what the DSS and the Govern emulators share."""

    THREAD_NAME = "emulator"

    def __init__(self, host: str, port: int, app: Any) -> None:
        self.app = app
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=_QuietHandler)
        self.host = host
        self.port = self._server.server_port
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Any:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self.THREAD_NAME, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self.app.faults.clear()  # first: releases hanging requests
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class EmulatorServer(BackgroundServer):
    """Run the emulator in a background thread: ``EmulatorServer(port=0).start()``; ``.url``; ``.stop()``."""

    THREAD_NAME = "dss-emulator"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str = DEFAULT_ADMIN_KEY,
        data_dir: Optional[Path] = None,
        latency_ms: int = 0,
        plugin_dirs: Optional[List[str]] = None,
        dataiku_stand_in: Optional[str] = None,
        subprocess_timeout: float = 300.0,
        govern_url: Optional[str] = None,
        govern_api_key: Optional[str] = None,
    ) -> None:
        self.app = Emulator(
            api_key=api_key,
            data_dir=data_dir,
            latency_ms=latency_ms,
            plugin_dirs=plugin_dirs,
            dataiku_stand_in=dataiku_stand_in,
            subprocess_timeout=subprocess_timeout,
            govern_url=govern_url,
            govern_api_key=govern_api_key,
        )
        self.api_key = api_key
        super().__init__(host, port, self.app)
        self.app.plugin_code.public_url = self.url
