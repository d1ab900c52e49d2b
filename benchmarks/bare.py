"""The reference of the hit-throughput benchmark: a bare aiohttp handler returning fixed bytes.

    python -m benchmarks.bare --body FILE --content-type image/png --port 9001

One process, one route answering every GET with the same body and content type (what a cached export answers),
no middleware, no access log, on uvloop like the gateway: the ceiling aiohttp itself sets on this machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvloop
from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--body", required=True, help="file whose bytes are served")
    parser.add_argument("--content-type", required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    body = Path(args.body).read_bytes()
    content_type = args.content_type

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
