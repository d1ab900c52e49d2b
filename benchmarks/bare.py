"""The reference of the hit-throughput benchmarks: a bare aiohttp handler returning fixed bytes.

    python -m benchmarks.bare --body FILE --content-type image/png --port 9001 [--workers 2]

One route answering every GET with the same body and content type (what a cached export answers), no middleware,
no access log, on uvloop like the gateway: the ceiling aiohttp itself sets on this machine.  With ``--workers N``,
N processes share the port (SO_REUSEPORT, as ``arcbridge serve --workers N``): the first starts the others and stops
them when it stops.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", required=True, help="file whose bytes are served")
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port")
    parser.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    body = Path(args.body).read_bytes()
    content_type = args.content_type

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    others = [subprocess.Popen([sys.executable, "-m", "benchmarks.bare", "--body", args.body, "--content-type",
                                content_type, "--port", str(args.port), "--reuse-port"])
              for _ in range(args.workers - 1)]  # fmt: skip
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    try:
        web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None,
                    reuse_port=args.reuse_port or args.workers > 1, loop=uvloop.new_event_loop())
    finally:
        for proc in others:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
