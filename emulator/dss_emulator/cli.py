"""``dss-emulator --port PORT [--host 127.0.0.1] [--api-key KEY] [--data-dir DIR] [--latency-ms MS] ...``;
``dss-emulator --govern --port PORT ...`` serves a Govern node instead."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from pathlib import Path
from typing import List, Optional

from .server import EmulatorServer
from .store import DEFAULT_ADMIN_KEY


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="dss-emulator", description="Emulator of the Dataiku DSS public REST API."
    )
    p.add_argument("--port", type=int, required=True, help="TCP port (0 picks a free one, printed at start)")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--api-key", default=DEFAULT_ADMIN_KEY, help="admin API key (login 'admin')")
    p.add_argument("--data-dir", type=Path, default=None, help="persist everything here (default: in memory)")
    p.add_argument("--latency-ms", type=int, default=0, help="latency added to every /dip/publicapi request")
    p.add_argument(
        "--plugin-dir", action="append", default=[], help="register a plugin directory (repeatable)"
    )
    p.add_argument(
        "--dataiku-stand-in",
        default=None,
        help="directory holding the 'dataiku' stand-in package, needed to run plugin macros/steps",
    )
    p.add_argument("--subprocess-timeout", type=float, default=300.0, help="timeout of plugin code runs (s)")
    p.add_argument(
        "--govern", action="store_true",
        help="serve a Dataiku Govern node instead of DSS (admin key: --api-key, default govern-admin-key)",
    )
    p.add_argument("--govern-url", default=None, help="the Govern node this DSS integrates with (/admin/get-govern-node-ref)")
    p.add_argument("--govern-api-key", default=None, help="the Govern API key DSS hands to its admins with --govern-url")
    return p.parse_args(argv)


def _serve_govern(args: argparse.Namespace) -> int:
    from .govern import DEFAULT_GOVERN_ADMIN_KEY, GovernServer

    api_key = DEFAULT_GOVERN_ADMIN_KEY if args.api_key == DEFAULT_ADMIN_KEY else args.api_key
    server = GovernServer(host=args.host, port=args.port, api_key=api_key, data_dir=args.data_dir,
                          latency_ms=args.latency_ms)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("govern-emulator listening on {} (data dir: {})".format(server.url, args.data_dir or "memory"), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.govern:
        return _serve_govern(args)
    server = EmulatorServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        data_dir=args.data_dir,
        latency_ms=args.latency_ms,
        plugin_dirs=args.plugin_dir,
        dataiku_stand_in=args.dataiku_stand_in,
        subprocess_timeout=args.subprocess_timeout,
        govern_url=args.govern_url,
        govern_api_key=args.govern_api_key,
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(
        "dss-emulator listening on {} (data dir: {})".format(server.url, args.data_dir or "memory"),
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
