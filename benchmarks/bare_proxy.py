"""A floor for the miss-overhead benchmark: a bare aiohttp reverse proxy with no logic at all.

    python -m benchmarks.bare_proxy --upstream http://127.0.0.1:8081 --port 9002

Every GET is forwarded as it is (path and query) to the upstream with one pooled aiohttp client session, on uvloop
like the gateway, and the body is returned with the upstream's status and content type: no parsing, planning, cache
or validators. What it adds to the backend's latency is what an aiohttp hop costs on this machine.
"""

from __future__ import annotations

import argparse

import aiohttp
import uvloop
from aiohttp import web
from yarl import URL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="base URL of the backend, e.g. http://127.0.0.1:8081")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    upstream = args.upstream.rstrip("/")
    sessions: list[aiohttp.ClientSession] = []

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.Response(text="ok")
        if not sessions:
            sessions.append(aiohttp.ClientSession())
        async with sessions[0].get(URL(upstream + request.path_qs, encoded=True)) as reply:
            body = await reply.read()
            return web.Response(body=body, status=reply.status, headers={"Content-Type": reply.content_type})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
