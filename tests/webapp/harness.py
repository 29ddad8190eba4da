"""Run the console the way DSS runs a plugin webapp, without DSS.

- `load_backend` builds the backend like DSS: a Flask `app` exists first (with DSS's `/__ping`),
  then `backend.py` is executed with it in its globals, reading its settings from
  `DKU_CUSTOM_WEBAPP_CONFIG` and talking to "DSS" (the emulator) through the `dataiku` stand-in.
- `ConsoleServer` serves `body.html` inside a page with `style.css` and `app.js`, defines the
  `getWebAppBackendUrl` DSS provides, and mounts the backend under DSS's backend URL prefix.
"""

from __future__ import annotations

import html
import json
import os
import threading
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[2]
WEBAPP_DIR = REPO / "webapps" / "iac-console"
ARTIFACTS = REPO / "test-artifacts" / "webapp"
CLIENT_HEADERS = {"X-Requested-With": "dataiku-iac-console"}


def load_backend(webapp_config: dict, *, dss_url: str, run_as_key: str, project_key: str) -> Any:
    """The backend Flask app, created the way DSS creates it (see plugin-conventions §4.3)."""
    import dataiku
    from flask import Flask

    os.environ["DKU_CUSTOM_WEBAPP_CONFIG"] = json.dumps(webapp_config)
    os.environ["DKU_CURRENT_PROJECT_KEY"] = project_key
    dataiku.set_remote_dss(dss_url, run_as_key)
    app = Flask("iac-console-backend")
    app.add_url_rule("/__ping", "ping", lambda: "pong")
    source = (WEBAPP_DIR / "backend.py").read_text(encoding="utf-8")
    namespace: dict = {"app": app, "__name__": "__main__", "__file__": str(WEBAPP_DIR / "backend.py")}
    exec(compile(source, str(WEBAPP_DIR / "backend.py"), "exec"), namespace)
    return app


def backend_prefix(project_key: str, webapp_id: str = "iacConsole") -> str:
    return f"/web-apps-backends/{project_key}/{webapp_id}"


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>IaC console (DSS plugin webapp, test harness)</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
{body}
<script>
/* What DSS defines for STANDARD webapps: the URL of this webapp's backend routes. */
window.getWebAppBackendUrl = function (path) {{ return {prefix} + "/" + String(path).replace(/^\\/+/, ""); }};
</script>
<script src="/static/app.js"></script>
</body>
</html>
"""


def page_app(prefix: str) -> Any:
    from flask import Flask, Response, abort

    app = Flask("iac-console-page")

    @app.route("/")
    def index() -> Response:
        body = (WEBAPP_DIR / "body.html").read_text(encoding="utf-8")
        return Response(PAGE.format(body=body, prefix=json.dumps(prefix)), mimetype="text/html")

    @app.route("/favicon.ico")
    def favicon() -> Response:
        return Response(status=204)  # DSS serves its own; the browser asks for one anyway

    @app.route("/static/<name>")
    def static_file(name: str) -> Response:
        types = {"app.js": "application/javascript", "style.css": "text/css"}
        if name not in types:
            abort(404)
        return Response((WEBAPP_DIR / name).read_text(encoding="utf-8"), mimetype=types[name])

    return app


class ConsoleServer:
    """The page and the backend on one local port, as DSS serves them on one origin."""

    def __init__(self, backend: Any, prefix: str):
        from werkzeug.middleware.dispatcher import DispatcherMiddleware
        from werkzeug.serving import make_server

        self.prefix = prefix
        combined = DispatcherMiddleware(page_app(prefix), {prefix: backend})
        self._server = make_server("127.0.0.1", 0, combined, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="console-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=10)


def escape(text: str) -> str:
    return html.escape(text)
