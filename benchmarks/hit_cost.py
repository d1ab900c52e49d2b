"""The CPU cost of one cache hit in-process: the gateway's lean hit path against a bare aiohttp handler.

    python -m benchmarks.hit_cost [--requests 4000] [--rounds 40]

wrk against a server measures a hit with the kernel, the load generator and the machine's neighbours in the figure
(±10 % from run to run on the project's machine).  This drives aiohttp's own connection handler (the protocol the
server makes per connection) with keep-alive requests through a transport that only notes what is written, so what
is measured is aiohttp's request and response handling plus the application's: the gateway (``create_app``, an entry
in its memory tier and fast path for the URL) and a bare handler returning the same bytes, alternated in batches of
CPU time per request.  A second gateway application measured the same way shows the noise of the method (its ratio to
the first should read 1).  Used to find what a hit spends beyond the bare handler (README, "Tiles").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from typing import Any

import uvloop
from aiohttp import web

from proxy.app import CACHE, create_app
from proxy.cache.keys import Entry
from proxy.settings import parse_settings

URL = "/arcgis/rest/services/World/MapServer/tile/5/11/17"
BODY = b"\x89PNG\r\n\x1a\n" + bytes(755)  # the size of benchmark row 9's tile; the bytes are not decoded


class _Transport(asyncio.Transport):
    """A connection whose writes only wake the waiting batch."""

    def __init__(self) -> None:
        super().__init__()
        self.written = asyncio.Event()
        self.last = b""

    def write(self, data: Any) -> None:
        self.last = bytes(data)
        self.written.set()

    def writelines(self, list_of_data: Any) -> None:
        self.write(b"".join(list_of_data))

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Connection:
    """One keep-alive connection to an application, fed whole requests."""

    def __init__(self, runner: web.AppRunner) -> None:
        self.runner = runner
        assert runner.server is not None
        self.protocol = runner.server()
        self.transport = _Transport()
        self.protocol.connection_made(self.transport)

    async def batch(self, request: bytes, count: int) -> float:
        """CPU µs per request over ``count`` requests answered one after the other."""
        written = self.transport.written
        started = time.process_time()
        for _ in range(count):
            written.clear()
            self.protocol.data_received(request)
            await written.wait()
        return (time.process_time() - started) / count * 1e6


def _gateway() -> web.Application:
    settings = parse_settings({"services": {"World": {"type": "MapServer",
                                                      "backend": {"url": "http://127.0.0.1:9/"}}}})
    app = create_app(settings)
    now = time.time()
    app[CACHE].memory.put("bench:tile", Entry(BODY, "image/png", now, now + 3600, '"bench"'))
    app[CACHE].fast.remember(URL, "bench:tile", "world", "max-age=3600")
    return app


def _bare() -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app


async def _connect(app: web.Application) -> _Connection:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    return _Connection(runner)


async def measure(requests: int, rounds: int) -> dict[str, list[float]]:
    """µs of CPU per request of each side, one figure per round."""
    sides = {"gateway": await _connect(_gateway()), "gateway (again)": await _connect(_gateway()),
             "bare aiohttp": await _connect(_bare())}
    request = f"GET {URL} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n".encode()
    for connection in sides.values():
        await connection.batch(request, 1000)
        if b" 200 OK\r\n" not in connection.transport.last[:20]:
            raise RuntimeError(f"not a 200: {connection.transport.last[:200]!r}")
    if b"X-Arcbridge-Cache: hit\r\n" not in sides["gateway"].transport.last:
        raise RuntimeError("the gateway did not answer from its cache")
    results: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, connection in sides.items():
            results[name].append(await connection.batch(request, requests))
    for connection in sides.values():
        await connection.runner.cleanup()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=4000, help="requests per batch")
    parser.add_argument("--rounds", type=int, default=40, help="alternated batches per side")
    args = parser.parse_args()
    gc.freeze()  # as `arcbridge serve` does after start-up
    results = uvloop.run(measure(args.requests, args.rounds))
    bare = results["bare aiohttp"]
    for name, figures in results.items():
        ratio = statistics.median(b / g for g, b in zip(figures, bare, strict=True))
        print(f"{name:16} {statistics.median(figures):6.1f} µs CPU/request (median of {args.rounds}); "
              f"bare ÷ this, median of the rounds' ratios: {ratio:.3f}")


if __name__ == "__main__":
    main()
