"""The ``arcbridge`` command: ``arcbridge serve --config FILE [--host H] [--port P]``."""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from proxy.app import create_app
from proxy.settings import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and of ``python -m proxy``."""
    parser = argparse.ArgumentParser(prog="arcbridge", description="ArcGIS REST gateway over OGC backends")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the configured services until SIGINT/SIGTERM")
    serve.add_argument("--config", required=True, help="YAML configuration file")
    serve.add_argument("--host", help="address to listen on (default: server.host or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: server.port or 8080)")
    serve.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"arcbridge: configuration error in {args.config}: {exc}", file=sys.stderr)
        return 2
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    app = create_app(settings)
    # run_app handles SIGINT and SIGTERM, finishing the cleanup contexts before it returns.
    web.run_app(app, host=host, port=port, print=lambda text: print(text, flush=True), access_log=None,
                handle_signals=True, shutdown_timeout=10)
    return 0
