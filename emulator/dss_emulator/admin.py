"""The emulator's own admin API, under ``/__emulator__`` (no auth, loopback only). See docs/emulator.md.

Its routes are a werkzeug route table of their own (router.py); unlike the DSS API, an unknown
path and a wrong verb are both a 404, trailing slashes are ignored, and every answer is a 200.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Tuple

from werkzeug.wrappers import Request

from . import defaults, errors
from .router import NoRoute, RouteTable, WrongMethod

if TYPE_CHECKING:
    from .server import Emulator


class AdminApi:
    def __init__(self, app: Emulator) -> None:
        self.app = app
        self.routes = RouteTable()
        for method, path, handler in (
            ("POST", "/reset", self.reset),
            ("GET", "/faults", self.faults),
            ("POST", "/faults", self.add_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("GET", "/requests", self.requests),
            ("DELETE", "/requests", self.clear_requests),
            ("GET", "/stats", self.stats),
            ("GET", "/latency", self.latency),
            ("POST", "/latency", self.set_latency),
            ("POST", "/seed", self.seed),
            ("GET", "/plugins", self.plugins),
            ("POST", "/plugins", self.register_plugin),
            ("GET", "/info", self.info),
            ("GET", "/behaviour", self.behaviour),
            ("POST", "/behaviour", self.set_behaviour),
            ("GET", "/messages", self.messages),
            ("DELETE", "/messages", self.clear_messages),
            ("GET", "/govern-node", self.govern_node),
            ("POST", "/govern-node", self.set_govern_node),
        ):
            self.routes.add(method, path, handler)

    def dispatch(self, request: Request, sub: str) -> Tuple[int, Any]:
        method, path = request.method.upper(), sub.rstrip("/")
        try:
            route, _params = self.routes.match(method, path)
        except (NoRoute, WrongMethod):
            raise errors.not_found(f"No emulator admin endpoint {method} {path}") from None
        return 200, route.handler(request)

    @staticmethod
    def _json(request: Request) -> Any:
        data = request.get_data()
        if not data.strip():
            return {}
        try:
            return json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise errors.invalid_json(str(exc)) from None

    def reset(self, request: Request) -> Dict[str, Any]:
        full = bool(self._json(request).get("full", False))
        self.app.reset(full=full)
        return {"reset": True, "full": full}

    def faults(self, request: Request) -> Any:
        return self.app.faults.list()

    def add_faults(self, request: Request) -> Any:
        body = self._json(request)
        specs = body if isinstance(body, list) else [body]
        return [self.app.faults.add(spec) for spec in specs]

    def clear_faults(self, request: Request) -> Dict[str, Any]:
        self.app.faults.clear()
        return {"cleared": True}

    def requests(self, request: Request) -> Any:
        since = int(request.args.get("since", "0"))
        return self.app.log.entries(since)

    def clear_requests(self, request: Request) -> Dict[str, Any]:
        self.app.log.clear()
        return {"cleared": True}

    def stats(self, request: Request) -> Any:
        return self.app.log.stats()

    def latency(self, request: Request) -> Dict[str, Any]:
        return {"latency_ms": self.app.faults.latency_ms}

    def set_latency(self, request: Request) -> Dict[str, Any]:
        self.app.faults.latency_ms = int(self._json(request).get("latency_ms", 0))
        return {"latency_ms": self.app.faults.latency_ms}

    def behaviour(self, request: Request) -> Dict[str, str]:
        return self.app.behaviours()

    def set_behaviour(self, request: Request) -> Dict[str, str]:
        body = self._json(request)
        if not isinstance(body, dict):
            raise errors.bad_request("Expected a JSON object of behaviour switches")
        return self.app.set_behaviour(body)

    def messages(self, request: Request) -> Any:
        return self.app.runtime.messages()

    def clear_messages(self, request: Request) -> Dict[str, Any]:
        self.app.runtime.clear_messages()
        return {"cleared": True}

    def govern_node(self, request: Request) -> Dict[str, Any]:
        return dict(self.app.govern_node)

    def set_govern_node(self, request: Request) -> Dict[str, Any]:
        """`{"url": ..., "api_key": ...}` points the DSS at a Govern node; `{}` disables it."""
        from .server import govern_node_ref

        body = self._json(request)
        self.app.govern_node = govern_node_ref(body.get("url"), body.get("api_key"))
        return dict(self.app.govern_node)

    def seed(self, request: Request) -> Dict[str, Any]:
        body = self._json(request)
        store = self.app.store
        with store.lock:
            for conn in body.get("connections", []):
                store.put_connection(defaults.connection_doc(conn))
            for env in body.get("code_envs", []):
                store.put_code_env(defaults.code_env_doc(env))
            for group in body.get("groups", []):
                store.put_group(defaults.group_doc(group))
            for user in body.get("users", []):
                store.put_user(defaults.user_doc(user))
            for key in body.get("api_keys", []):
                store.put_api_key(key)
            if "global_variables" in body:
                store.set_global_variables(body["global_variables"])
        return {"seeded": {k: len(v) for k, v in body.items() if isinstance(v, list)}}

    def plugins(self, request: Request) -> Dict[str, Any]:
        return {"plugin_dirs": list(self.app.store.plugin_dirs)}

    def register_plugin(self, request: Request) -> Dict[str, Any]:
        path = Path(self._json(request)["path"]).resolve()
        if not (path / "plugin.json").is_file():
            raise errors.bad_request(f"No plugin.json in {path}")
        with self.app.store.lock:
            self.app.store.add_plugin_dir(str(path))
        return {"plugin_dirs": list(self.app.store.plugin_dirs)}

    def info(self, request: Request) -> Dict[str, Any]:
        store = self.app.store
        return {
            "url": self.app.plugin_code.public_url,
            "data_dir": str(store.data_dir) if store.data_dir else None,
            "projects": len(store.projects),
            "latency_ms": self.app.faults.latency_ms,
            "dataiku_stand_in": self.app.plugin_code.dataiku_stand_in,
        }
