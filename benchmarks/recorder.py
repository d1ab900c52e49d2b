"""A counting, recording reverse proxy in front of the backend (benchmark helper, 127.0.0.1 only).

    python -m benchmarks.recorder --upstream http://127.0.0.1:8081 --port 9000

Every request is forwarded unchanged (same path and raw query string) to the upstream host and answered with the
upstream's status, content type and body. ``GET /__bench/stats`` returns ``{"total": n, "byRequest": {...}}``
(counted per OGC ``REQUEST`` value, upper-cased) and ``GET /__bench/log?since=N`` the path+query of the requests
from number N on. The gateway under test is pointed at this proxy, so the counts are the backend requests it made,
independently of whatever the gateway itself reports.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter

import aiohttp
from aiohttp import web
from yarl import URL

STATS = web.AppKey("stats", Counter)
LOG = web.AppKey("log", list)
SESSION = web.AppKey("session", aiohttp.ClientSession)
UPSTREAM = web.AppKey("upstream", str)


async def _forward(request: web.Request) -> web.Response:
    ogc_request = next((v for k, v in request.query.items() if k.upper() == "REQUEST"), "").upper()
    request.app[STATS]["total"] += 1
    request.app[STATS][ogc_request] += 1
    request.app[LOG].append(request.raw_path)
    url = URL(request.app[UPSTREAM] + request.raw_path, encoded=True)
    async with request.app[SESSION].get(url) as resp:
        body = await resp.read()
        return web.Response(body=body, status=resp.status,
                            headers={"Content-Type": resp.headers.get("Content-Type", "application/octet-stream")})


async def _stats(request: web.Request) -> web.Response:
    stats = request.app[STATS]
    data = {"total": stats["total"], "byRequest": {k: v for k, v in stats.items() if k != "total"}}
    return web.Response(text=json.dumps(data), content_type="application/json")


async def _log(request: web.Request) -> web.Response:
    since = int(request.query.get("since", "0"))
    return web.Response(text=json.dumps(request.app[LOG][since:]), content_type="application/json")


async def _session(app: web.Application) -> object:
    app[SESSION] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                         timeout=aiohttp.ClientTimeout(total=120), auto_decompress=False)
    yield
    await app[SESSION].close()


def make_app(upstream: str) -> web.Application:
    app = web.Application()
    app[STATS] = Counter()
    app[LOG] = []
    app[UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(_session)
    app.router.add_get("/__bench/stats", _stats)
    app.router.add_get("/__bench/log", _log)
    app.router.add_route("GET", "/{tail:.*}", _forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--upstream", required=True, help="http://127.0.0.1:PORT of the backend")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    if not args.upstream.startswith(("http://127.", "http://localhost")):
        raise SystemExit("recorder: the upstream must be on this machine")
    web.run_app(make_app(args.upstream), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
