"""The backend HTTP client's hardening (issue 10) against real local servers: compression bombs and body limits,
credentials across redirects, proxies from the environment, idle connection expiry, keep-alive and TLS checks."""

from __future__ import annotations

import asyncio
import base64
import functools
import gzip
import shutil
import ssl
import subprocess
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web

from proxy.backends import http as backend_http
from proxy.backends.http import BackendClient
from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendTimeout

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts aiohttp servers on 127.0.0.1 (``http://127.0.0.1:PORT``), stopped after the test."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[RawHandler], Awaitable[str]]]:
    """Starts plain asyncio servers answering whatever bytes the test writes."""
    servers: list[asyncio.Server] = []

    async def start(answer: RawHandler) -> str:
        srv = await asyncio.start_server(answer, "127.0.0.1", 0)
        servers.append(srv)
        return f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"

    yield start
    for srv in servers:
        srv.close()


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without proxy variables (in either spelling) to start from."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


async def _heads(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """The request heads a keep-alive client sends on one connection, until it closes it."""
    while True:
        try:
            yield await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return


def client(url: str, **kw: object) -> BackendClient:
    return BackendClient(BackendSettings(url=url, **kw))  # type: ignore[arg-type]


async def _get(backend: BackendClient, params: dict[str, str] | None = None) -> bytes:
    try:
        return (await backend.get(params or {})).body
    finally:
        await backend.close()


# --- bodies: compression bombs and limits

def _compress(encoding: str, chunks: int, chunk: bytes) -> bytes:
    wbits = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS, "rawdeflate": -zlib.MAX_WBITS}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return b"".join(packer.compress(chunk) for _ in range(chunks)) + packer.flush()


@functools.cache
def _bomb(encoding: str, megabytes: int) -> bytes:
    """``megabytes`` MB of zeros, compressed about a thousandfold (never inflated in the test)."""
    return _compress(encoding, megabytes, bytes(1024 * 1024))


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "rawdeflate"])
@pytest.mark.parametrize(("limit", "megabytes", "peak"), [
    (100_000, 20, 5_000_000),  # ~20 kB sent: inflated on the event loop, bounded
    (2_000_000, 100, 20_000_000),  # ~100 kB sent: inflated in a thread, bounded
])
async def test_compression_bombs_are_refused_without_being_inflated(
        monkeypatch: pytest.MonkeyPatch, server: Callable[[Handler], Awaitable[str]],
        encoding: str, limit: int, megabytes: int, peak: int) -> None:
    monkeypatch.setattr(backend_http, "MAX_BODY", limit)
    bomb = _bomb(encoding, megabytes)
    assert len(bomb) < limit

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip" if encoding == "gzip" else "deflate"})

    backend = client(await server(handler))
    tracemalloc.start()
    try:
        with pytest.raises(BackendError, match=f"too large once decompressed: over the limit of {limit:,} bytes"):
            await backend.get({})
        used = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await backend.close()
    assert used < peak, f"{used:,} bytes allocated for a {megabytes} MB bomb"


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "rawdeflate"])
async def test_compressed_bodies_up_to_the_limit_are_answered(
        monkeypatch: pytest.MonkeyPatch, server: Callable[[Handler], Awaitable[str]], encoding: str) -> None:
    monkeypatch.setattr(backend_http, "MAX_BODY", 100_000)
    payload = bytes(range(250)) * 400  # exactly the limit

    async def handler(request: web.Request) -> web.Response:
        size = int(request.query["size"])
        return web.Response(body=_compress(encoding, 1, payload[:size] + b"x" * (size - len(payload))),
                            headers={"Content-Encoding": "gzip" if encoding == "gzip" else "deflate"})

    url = await server(handler)
    assert await _get(client(url), {"size": "100000"}) == payload
    with pytest.raises(BackendError, match="too large once decompressed"):
        await _get(client(url), {"size": "100001"})


async def test_gzip_members_and_broken_streams(server: Callable[[Handler], Awaitable[str]]) -> None:
    """Several gzip members are one body (RFC 1952); a truncated or corrupt stream is a 502, not a partial body."""
    bodies = {"members": gzip.compress(b"first ") + gzip.compress(b"second"),
              "truncated": gzip.compress(bytes(range(256)) * 100)[:-20],
              "corrupt": b"\x1f\x8b\x08\x00" + b"\xff" * 40}

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=bodies[request.query["kind"]], headers={"Content-Encoding": "gzip"})

    url = await server(handler)
    assert await _get(client(url), {"kind": "members"}) == b"first second"
    for kind in ("truncated", "corrupt"):
        with pytest.raises(BackendError, match="does not decompress"):
            await _get(client(url), {"kind": kind})


async def test_a_close_delimited_body_past_the_limit_is_refused(
        monkeypatch: pytest.MonkeyPatch, raw_server: Callable[[RawHandler], Awaitable[str]]) -> None:
    monkeypatch.setattr(backend_http, "MAX_BODY", 1000)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        size = 5000 if b"big=1" in head else 1000
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * size)
        await writer.drain()
        writer.close()

    backend = client(await raw_server(answer))
    try:
        with pytest.raises(BackendError, match="too large: over the limit of 1,000 bytes"):
            await backend.get({"big": "1"})
        assert (await backend.get({"big": "0"})).body == b"x" * 1000, "the client is usable after a refusal"
    finally:
        await backend.close()


# --- redirects

@pytest.mark.parametrize("configured", [
    {"X-Key": "k", "X-Api-Token": "t"},  # with user:pw@ in the URL → Basic auth
    {"Authorization": "Bearer b", "X-Key": "k"},  # a configured Authorization wins over user info
])
async def test_a_redirect_to_another_origin_drops_every_credential(
        server: Callable[[Handler], Awaitable[str]], configured: dict[str, str]) -> None:
    seen: dict[str, dict[str, str]] = {}
    names = ("Authorization", *configured, "User-Agent")

    async def elsewhere(request: web.Request) -> web.Response:
        seen[request.path] = {k: request.headers.get(k, "-") for k in names}
        if request.path == "/elsewhere":  # user info in a Location is not sent either
            raise web.HTTPFound(str(request.url.with_user("intruder").with_password("pw").with_path("/final")))
        return web.Response(text="done")

    other = await server(elsewhere)

    async def configured_origin(request: web.Request) -> web.Response:
        seen[request.path] = {k: request.headers.get(k, "-") for k in names}
        if request.path == "/start":
            raise web.HTTPFound("/same?" + request.query_string)
        raise web.HTTPTemporaryRedirect(other + "/elsewhere")

    url = await server(configured_origin)
    backend = client(url.replace("http://", "http://user:pw@") + "/start", headers=configured)
    assert await _get(backend, {"A": "1"}) == b"done"
    expected = {"Authorization": configured.get("Authorization", "Basic dXNlcjpwdw=="), **configured,
                "User-Agent": "arcbridge"}
    assert seen["/start"] == seen["/same"] == expected, "same-origin redirects keep the credentials"
    bare = {"Authorization": "-", **{k: "-" for k in configured if k != "Authorization"}, "User-Agent": "arcbridge"}
    assert seen["/elsewhere"] == seen["/final"] == bare


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/x", "file:///etc/passwd", "gopher://127.0.0.1:70/"])
async def test_redirects_only_to_http_urls(server: Callable[[Handler], Awaitable[str]], location: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": location})

    with pytest.raises(BackendError, match="redirected to an unusable URL"):
        await _get(client(await server(handler)))


# --- proxies

def _recording_proxy(requests: list[list[str]]) -> RawHandler:
    """A forward proxy that answers every request itself ("via proxy") and records its head, line by line."""

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async for head in _heads(reader):
            requests.append(head.decode("latin-1").split("\r\n"))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nvia proxy")
            await writer.drain()
        writer.close()

    return proxy


async def test_proxies_come_from_the_environment(
        no_proxies: pytest.MonkeyPatch, raw_server: Callable[[RawHandler], Awaitable[str]],
        server: Callable[[Handler], Awaitable[str]]) -> None:
    """HTTP_PROXY is used (with its credentials) for a backend out there; NO_PROXY and loopback backends bypass it."""
    requests: list[list[str]] = []
    proxy = _recording_proxy(requests)

    async def direct(request: web.Request) -> web.Response:
        return web.Response(text="direct")

    proxy_url, local = await raw_server(proxy), await server(direct)
    no_proxies.setenv("HTTP_PROXY", proxy_url.replace("http://", "http://pu:pp@"))
    faraway = "http://backend.invalid:8080/ows?map=m"
    assert await _get(client(faraway, headers={"X-Key": "k"}), {"A": "1"}) == b"via proxy"
    assert len(requests) == 1
    assert requests[0][0] == "GET http://backend.invalid:8080/ows?map=m&A=1 HTTP/1.1"
    assert "Proxy-Authorization: Basic " + base64.b64encode(b"pu:pp").decode() in requests[0]
    assert "X-Key: k" in requests[0]
    assert await _get(client(local + "/ows")) == b"direct", "a loopback backend is not proxied"
    assert await _get(client(local.replace("127.0.0.1", "localhost") + "/ows")) == b"direct"
    no_proxies.setenv("NO_PROXY", "example.org,backend.invalid")
    with pytest.raises((BackendError, BackendTimeout)):  # connected to directly: the name does not resolve
        await _get(client(faraway, timeout=5))
    assert len(requests) == 1, "NO_PROXY bypasses the proxy"


async def test_a_backend_name_and_path_are_sent_encoded(
        no_proxies: pytest.MonkeyPatch, raw_server: Callable[[RawHandler], Awaitable[str]]) -> None:
    """A non-ASCII host goes in IDNA and a path is quoted (seen in the absolute URL a proxy is sent)."""
    requests: list[list[str]] = []
    no_proxies.setenv("HTTP_PROXY", await raw_server(_recording_proxy(requests)))
    assert await _get(client("http://user:pw@Bücher.invalid/a b/ows?map=m"), {"A": "1"}) == b"via proxy"
    assert requests[0][0] == "GET http://xn--bcher-kva.invalid/a%20b/ows?map=m&A=1 HTTP/1.1"
    assert "Host: xn--bcher-kva.invalid" in requests[0]
    assert "Authorization: Basic dXNlcjpwdw==" in requests[0]


# --- connections

async def test_idle_pooled_connections_expire(
        monkeypatch: pytest.MonkeyPatch, raw_server: Callable[[RawHandler], Awaitable[str]]) -> None:
    monkeypatch.setattr(backend_http, "IDLE_TIMEOUT", 0.2)
    opened = closed = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal opened, closed
        opened += 1
        async for _ in _heads(reader):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
        closed += 1  # the client closed its end
        writer.close()

    backend = client(await raw_server(answer))
    try:
        assert [(await backend.get({})).body for _ in range(3)] == [b"ok"] * 3
        assert (opened, closed) == (1, 0), "requests in a row share one connection"
        await asyncio.sleep(0.8)
        assert closed == 1, "the idle connection was closed by the client"
        assert (await backend.get({})).body == b"ok"
        assert opened == 2
    finally:
        await backend.close()


async def test_chunked_and_compressed_answers_keep_the_connection(server: Callable[[Handler], Awaitable[str]]) -> None:
    payload = bytes(range(256)) * 1000
    peers: set[str] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        peers.add(str(request.transport.get_extra_info("peername") if request.transport else None))
        body = gzip.compress(payload) if request.query["kind"] == "gzip" else payload
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        if request.query["kind"] == "gzip":
            response.headers["Content-Encoding"] = "gzip"
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 30_000):
            await response.write(body[start:start + 30_000])
        await response.write_eof()
        return response

    backend = client(await server(handler))
    try:
        answers = [await backend.get({"kind": kind}) for kind in ("plain", "gzip", "plain", "gzip")]
    finally:
        await backend.close()
    assert [a.body for a in answers] == [payload] * 4
    assert len(peers) == 1, "chunked answers leave the connection reusable"


@pytest.fixture
async def tls_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[int]:
    """An https backend on 127.0.0.1 answering "secure", its certificate (for 127.0.0.1 and backend.invalid) trusted
    through SSL_CERT_FILE; the fixture's value is its port."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:backend.invalid", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)  # fmt: skip
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="secure")

    app = web.Application()
    app.router.add_get("/ows", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    await runner.cleanup()


async def test_tls_checks_the_certificate_name(tls_backend: int) -> None:
    """A trusted certificate is refused when the backend is addressed by a name it does not carry."""
    assert await _get(client(f"https://127.0.0.1:{tls_backend}/ows")) == b"secure"
    with pytest.raises(BackendError, match="could not be reached"):
        await _get(client(f"https://localhost:{tls_backend}/ows"))


async def test_https_goes_through_the_proxy_in_a_tunnel(
        no_proxies: pytest.MonkeyPatch, raw_server: Callable[[RawHandler], Awaitable[str]], tls_backend: int) -> None:
    """HTTPS_PROXY: a CONNECT tunnel (with the proxy's credentials) and TLS to the backend, verified inside it."""
    connects: list[list[str]] = []

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass
        finally:
            sink.close()

    async def tunnel(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        connects.append(head)
        port = int(head[0].split(" ")[1].rpartition(":")[2])
        upstream = await asyncio.open_connection("127.0.0.1", port)  # every name leads to this machine
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))

    proxy_url = await raw_server(tunnel)
    no_proxies.setenv("HTTPS_PROXY", proxy_url.replace("http://", "http://pu:pp@"))
    assert await _get(client(f"https://backend.invalid:{tls_backend}/ows", headers={"X-Key": "k"})) == b"secure"
    assert connects[0][0] == f"CONNECT backend.invalid:{tls_backend} HTTP/1.1"
    assert "Proxy-Authorization: Basic " + base64.b64encode(b"pu:pp").decode() in connects[0]
    assert not any(line.startswith("X-Key") for line in connects[0]), "the backend's headers stay inside the tunnel"
