"""Floors for the miss-overhead benchmark: a bare aiohttp reverse proxy with no logic at all.

    python -m benchmarks.bare_proxy --upstream http://127.0.0.1:8081 --port 9002 [--client arcbridge]

Every GET is forwarded as it is (path and query) to the upstream, on uvloop like the gateway, and the body is returned
with the upstream's status and content type: no parsing, planning, cache or validators. The upstream is asked with
one pooled aiohttp client session (``--client aiohttp``, the default) or with arcbridge's own backend client
(``--client arcbridge``: the same aiohttp server in front, so the difference to the gateway is the gateway's logic).
What each adds to the backend's latency is what such an aiohttp hop costs on this machine.
"""

from __future__ import annotations

import argparse
from urllib.parse import parse_qsl

import aiohttp
import uvloop
from aiohttp import web
from yarl import URL

from proxy.backends.http import BackendClient
from proxy.settings import BackendSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="base URL of the backend, e.g. http://127.0.0.1:8081")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client", choices=("aiohttp", "arcbridge"), default="aiohttp")
    args = parser.parse_args()
    upstream = args.upstream.rstrip("/")
    sessions: list[aiohttp.ClientSession] = []
    clients: dict[str, BackendClient] = {}  # one per path: arcbridge's client is made for one backend URL

    async def via_aiohttp(request: web.Request) -> web.Response:
        if not sessions:
            sessions.append(aiohttp.ClientSession())
        async with sessions[0].get(URL(upstream + request.path_qs, encoded=True)) as reply:
            body = await reply.read()
            return web.Response(body=body, status=reply.status, headers={"Content-Type": reply.content_type})

    async def via_arcbridge(request: web.Request) -> web.Response:
        client = clients.get(request.path)
        if client is None:
            client = clients[request.path] = BackendClient(BackendSettings(url=upstream + request.path))
        reply = await client.get(parse_qsl(request.query_string, keep_blank_values=True))
        return web.Response(body=reply.body, status=reply.status, headers={"Content-Type": reply.content_type})

    forward = via_arcbridge if args.client == "arcbridge" else via_aiohttp

    async def handler(request: web.Request) -> web.Response:
        if request.path == "/":
            return web.Response(text="ok")
        return await forward(request)

    async def close(app: web.Application) -> None:  # the pooled connections, without "unclosed" warnings at exit
        for session in sessions:
            await session.close()
        for client in clients.values():
            await client.close()

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    app.on_cleanup.append(close)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=uvloop.new_event_loop())


if __name__ == "__main__":
    main()
