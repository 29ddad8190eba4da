"""A local S3-compatible server for the S3 state backend's tests: moto's S3, over real HTTP.

moto (5.2) honours `If-None-Match: *` and `If-Match` on PutObject/DeleteObject, but checks the
condition and stores the object in two steps without a lock: under a threaded server two
concurrent conditional creates can both succeed (measured: 1 trial in 100 with 8 racers had
two winners). AWS S3 makes a conditional write atomic. So that the tests exercise our lock
protocol against the primitive S3 provides, the server handles one request at a time
(`serialize=True`, the default); `serialize=False` gives moto as shipped, for measuring.

Run as a script (`python tests/s3_server.py [--no-serialize]`) it prints
`listening on http://127.0.0.1:PORT` and serves until killed; `start_s3_server()` starts it as
a subprocess, so the racing clients of the concurrency tests really run in parallel with it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

BUCKET = "dataiku-iac-tests"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


class _Serialized:
    """WSGI middleware: one request at a time (makes moto's conditional writes atomic)."""

    def __init__(self, app: Any):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with self.lock:
            return list(self.app(environ, start_response))


def serve(port: int, serialize: bool) -> None:
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    app: Any = DomainDispatcherApplication(create_backend_app)
    if serialize:
        app = _Serialized(app)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
    print(f"listening on http://127.0.0.1:{server.server_port}", flush=True)
    server.serve_forever()


@dataclass
class S3Server:
    url: str
    proc: subprocess.Popen

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_s3_server(log_path: Path, *, serialize: bool = True, timeout: float = 30.0) -> S3Server:
    """Start the server on a free port, wait until it answers, create the test bucket."""
    args = [sys.executable, str(Path(__file__).resolve()), *([] if serialize else ["--no-serialize"])]
    log = open(log_path, "w")  # noqa: SIM115 - kept open for the process lifetime
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS})
    url: Optional[str] = None
    deadline = time.time() + timeout
    while url is None and time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the S3 test server exited: {log_path.read_text()}")
        for line in log_path.read_text().splitlines():
            if line.startswith("listening on "):
                url = line.split("listening on ", 1)[1].strip()
        time.sleep(0.05)
    if url is None:
        proc.kill()
        raise RuntimeError(f"the S3 test server did not start: {log_path.read_text()}")
    _wait_ready(url, deadline)
    server = S3Server(url, proc)
    server.client().create_bucket(Bucket=BUCKET)
    return server


def _wait_ready(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except Exception as exc:  # any HTTP answer (even 4xx) means it is up
            if hasattr(exc, "code"):
                return
        time.sleep(0.05)
    raise RuntimeError(f"the S3 test server at {url} did not answer")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--no-serialize", action="store_true")
    ns = parser.parse_args()
    serve(ns.port, serialize=not ns.no_serialize)
