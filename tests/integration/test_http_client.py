"""The backend HTTP client against real local servers: bodies, encodings, keep-alive, redirects, failures."""

from __future__ import annotations

import asyncio
import gzip
import random
import shutil
import ssl
import subprocess
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from proxy.backends import http as backend_http
from proxy.backends.http import BackendClient, build_url
from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendTimeout

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def _serve(handler: Handler) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        runner, url = await _serve(handler)
        runners.append(runner)
        return url

    yield start
    for runner in runners:
        await runner.cleanup()


async def _raw_server(answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
                      ) -> tuple[asyncio.Server, str]:
    srv = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    return srv, f"http://127.0.0.1:{port}"


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def client(url: str, **kw: object) -> BackendClient:
    return BackendClient(BackendSettings(url=url, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(("base", "params", "expected"), [
    ("http://h/ows", {"A": "1"}, "http://h/ows?A=1"),
    ("http://h/ows?map=/x/y.map", {"A": "1"}, "http://h/ows?map=%2Fx%2Fy.map&A=1"),
    ("http://h/ows?map=a&a=old", {"A": "new"}, "http://h/ows?map=a&A=new"),
    ("http://h:81", {"BBOX": "1,2,3,4", "CRS": "EPSG:4326"}, "http://h:81/?BBOX=1,2,3,4&CRS=EPSG:4326"),
    ("http://h/ows", [("LAYERS", "a b&c"), ("STYLES", "")], "http://h/ows?LAYERS=a%20b%26c&STYLES="),
    ("http://h/ows", {}, "http://h/ows"),
    # A name to escape among plain values, and "=" in a value: escaped although every other pair is plain.
    ("http://h/ows", [("DIM X", "1"), ("A", "2")], "http://h/ows?DIM%20X=1&A=2"),
    ("http://h/ows", [("A", "1"), ("FILTER", "x=1")], "http://h/ows?A=1&FILTER=x%3D1"),
])
def test_build_url_merges_the_backend_query(base: str, params: dict[str, str], expected: str) -> None:
    assert build_url(base, params) == expected


async def test_query_headers_and_keep_alive(server: Callable[[Handler], Awaitable[str]]) -> None:
    seen: list[tuple[str, str, str, str]] = []

    async def handler(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append((request.path_qs, request.headers.get("X-Key", ""), str(peer), request.headers["Host"]))
        return web.Response(body=b"\x89PNG" + request.query["N"].encode(), content_type="image/png")

    url = await server(handler)
    backend = BackendClient(BackendSettings(url=url + "/ows?map=m", headers={"X-Key": "secret"}))
    try:
        answers = [await backend.get({"N": str(i), "BBOX": "1,2,3,4"}) for i in range(3)]
    finally:
        await backend.close()
    assert [a.body for a in answers] == [b"\x89PNG0", b"\x89PNG1", b"\x89PNG2"]
    assert all(a.status == 200 and a.content_type == "image/png" for a in answers)
    assert seen[0][0] == "/ows?map=m&N=0&BBOX=1,2,3,4"
    assert {s[1] for s in seen} == {"secret"}
    assert len({s[2] for s in seen}) == 1, "three requests in a row share one keep-alive connection"
    assert seen[0][3] == url.removeprefix("http://")


async def test_chunked_and_compressed_bodies(server: Callable[[Handler], Awaitable[str]]) -> None:
    payload = bytes(range(256)) * 2000
    noise = random.Random(7).randbytes(300_000)

    async def handler(request: web.Request) -> web.StreamResponse:
        kind = request.query["kind"]
        if kind == "chunked":
            response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(payload), 70_000):
                await response.write(payload[start:start + 70_000])
            await response.write_eof()
            return response
        if kind == "gzip":
            return web.Response(body=gzip.compress(payload), headers={"Content-Encoding": "gzip"})
        if kind == "deflate":
            return web.Response(body=zlib.compress(payload), headers={"Content-Encoding": "deflate"})
        if kind == "large":  # incompressible: inflated off the event loop
            return web.Response(body=gzip.compress(noise), headers={"Content-Encoding": "gzip"})
        raw = zlib.compressobj(wbits=-15)
        return web.Response(body=raw.compress(payload) + raw.flush(), headers={"Content-Encoding": "deflate"})

    url = await server(handler)
    backend = client(url)
    try:
        for kind in ("chunked", "gzip", "deflate", "rawdeflate"):
            answer = await backend.get({"kind": kind})
            assert answer.body == payload, kind
        assert (await backend.get({"kind": "large"})).body == noise
    finally:
        await backend.close()


async def test_redirects_are_followed(server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path == "/old":
            raise web.HTTPFound("/new?" + request.query_string)
        if request.path == "/loop":
            raise web.HTTPMovedPermanently("/loop")
        return web.Response(text=request.query_string, content_type="text/plain")

    url = await server(handler)
    backend = client(url + "/old")
    looping = client(url + "/loop")
    try:
        answer = await backend.get({"A": "1"})
        assert (answer.status, answer.body, answer.url) == (200, b"A=1", url + "/new?A=1")
        with pytest.raises(BackendError, match="redirected too many times"):
            await looping.get({})
    finally:
        await backend.close()
        await looping.close()


async def test_user_info_becomes_basic_auth(server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=request.headers.get("Authorization", "none"))

    url = await server(handler)
    backend = client(url.replace("http://", "http://user:p%40ss@"))
    try:
        answer = await backend.get({})
    finally:
        await backend.close()
    assert answer.body == b"Basic dXNlcjpwQHNz"  # user:p@ss


async def test_credentials_are_not_sent_to_another_origin(server: Callable[[Handler], Awaitable[str]]) -> None:
    seen: dict[str, str] = {}

    async def elsewhere(request: web.Request) -> web.Response:
        seen["elsewhere"] = request.headers.get("Authorization", "none") + "|" + request.headers.get("X-Key", "none")
        return web.Response(text="moved")

    other = await server(elsewhere)

    async def configured(request: web.Request) -> web.Response:
        seen["configured"] = request.headers.get("Authorization", "none")
        raise web.HTTPFound(other + "/ows")

    url = await server(configured)
    backend = BackendClient(BackendSettings(url=url.replace("http://", "http://user:pw@") + "/ows",
                                            headers={"X-Key": "k"}))
    try:
        answer = await backend.get({})
    finally:
        await backend.close()
    assert answer.body == b"moved"
    # The configured X-Key goes to its own origin only too (issue 10: it used to follow redirects elsewhere).
    assert seen == {"configured": "Basic dXNlcjpwdw==", "elsewhere": "none|none"}  # user:pw only to its own origin


async def test_close_delimited_body() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_head(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/xml\r\n\r\n<a>" + b"x" * 100_000 + b"</a>")
        await writer.drain()
        writer.close()

    srv, url = await _raw_server(answer)
    backend = client(url)
    try:
        first, second = await backend.get({}), await backend.get({})
    finally:
        await backend.close()
        srv.close()
    assert first.body == second.body == b"<a>" + b"x" * 100_000 + b"</a>"
    assert first.content_type == "text/xml"


async def test_an_idle_connection_closed_by_the_backend_is_replaced() -> None:
    """The backend closes each keep-alive connection after answering (as a restarted backend does): the next request
    finds the pooled connection dead and is sent again once on a new one."""
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await _read_head(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.close()

    srv, url = await _raw_server(answer)
    backend = client(url)
    try:
        for _ in range(3):
            assert (await backend.get({})).body == b"ok"
            await asyncio.sleep(0.15)
    finally:
        await backend.close()
        srv.close()
    assert connections == 3


@pytest.mark.parametrize(("reply", "message"), [
    (b"garbage\r\n\r\n", "malformed HTTP answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "broke the connection"),
    (b"", "broke the connection"),
])
async def test_broken_answers_are_backend_errors(reply: bytes, message: str) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_head(reader)
        writer.write(reply)
        await writer.drain()
        writer.close()

    srv, url = await _raw_server(answer)
    backend = client(url)
    try:
        with pytest.raises(BackendError, match=message):
            await backend.get({})
    finally:
        await backend.close()
        srv.close()


async def test_too_large_bodies_are_refused(monkeypatch: pytest.MonkeyPatch,
                                            server: Callable[[Handler], Awaitable[str]]) -> None:
    monkeypatch.setattr(backend_http, "MAX_BODY", 1000)

    async def handler(request: web.Request) -> web.StreamResponse:
        body = b"x" * 5000
        if request.query.get("chunked"):
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            await response.write(body)
            await response.write_eof()
            return response
        if request.query.get("gzip"):
            return web.Response(body=gzip.compress(body), headers={"Content-Encoding": "gzip"})
        return web.Response(body=body)

    url = await server(handler)
    backend = client(url)
    try:
        for params in ({}, {"chunked": "1"}, {"gzip": "1"}):
            with pytest.raises(BackendError, match="too large"):
                await backend.get(params)
    finally:
        await backend.close()


async def test_timeouts_refusals_and_the_connection_limit(server: Callable[[Handler], Awaitable[str]]) -> None:
    active = peak = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal active, peak
        wait = float(request.query["wait"])
        if request.query.get("limited"):
            active += 1
            peak = max(peak, active)
        await asyncio.sleep(wait)
        if request.query.get("limited"):
            active -= 1
        return web.Response(text="done")

    url = await server(handler)
    slow = client(url, timeout=0.3)
    limited = client(url, max_connections=2)
    try:
        with pytest.raises(BackendTimeout):
            await slow.get({"wait": "1"})
        assert (await slow.get({"wait": "0"})).body == b"done", "a timed-out request leaves a usable client"
        answers = await asyncio.gather(*(limited.get({"wait": "0.05", "limited": "1"}) for _ in range(6)))
        assert [a.body for a in answers] == [b"done"] * 6
        assert peak == 2
    finally:
        await slow.close()
        await limited.close()
    refused = client("http://127.0.0.1:9")
    try:
        with pytest.raises(BackendError, match="could not be reached"):
            await refused.get({})
    finally:
        await refused.close()


async def test_https_backends_are_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend over TLS: answered when its certificate is trusted (here through SSL_CERT_FILE, as a private CA
    would be), refused as unreachable when it is not."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=b"secure " + request.query_string.encode(), content_type="image/png")

    app = web.Application()
    app.router.add_get("/ows", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    untrusted = client(f"https://127.0.0.1:{port}/ows")
    try:
        with pytest.raises(BackendError, match="could not be reached"):
            await untrusted.get({"A": "1"})
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        trusted = client(f"https://127.0.0.1:{port}/ows")
        try:
            answer = await trusted.get({"A": "1"})
            again = await trusted.get({"A": "2"})
        finally:
            await trusted.close()
    finally:
        await untrusted.close()
        await runner.cleanup()
    assert (answer.status, answer.body, again.body) == (200, b"secure A=1", b"secure A=2")
