"""The HTTP client towards OGC backends: pooled keep-alive connections per backend, timeouts, and error mapping.

Backend requests are plain ``GET``\\ s with a query, one at a time per connection.  They go through a small
HTTP/1.1 client on asyncio protocols with httptools' (llhttp) response parser rather than aiohttp's client: on the
miss path the gateway adds only what it must to the backend's latency, and the measured cost of aiohttp's general
client (request objects, URL handling, stream readers, several task hops) was ~0.3 ms a request, most of what a proxy
hop adds (``benchmarks/``).  What it handles: http and https, keep-alive reuse with one retry on a connection the
backend closed meanwhile, Content-Length, chunked and close-delimited bodies, gzip/deflate, redirects, user info in the
backend URL, a connection limit and the total/connect timeouts.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import ssl
import zlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

import httptools

from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendTimeout

log = logging.getLogger(__name__)
MAX_BODY = 512 * 1024 * 1024
MAX_REDIRECTS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "arcbridge"
INLINE_INFLATE = 64 * 1024  # compressed bytes inflated on the event loop; larger bodies go to a thread


@dataclass(frozen=True)
class Response:
    """A backend answer, fully read."""

    status: int
    content_type: str
    body: bytes
    url: str


class _Base:
    """A backend URL split once: where to connect, the path, and the query pairs it carries itself (``map=…``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.username, self.password = parts.username, parts.password
        self.prefix = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        self.path = parts.path or "/"
        self.existing = parse_qsl(parts.query, keep_blank_values=True)
        self.existing_names = {k.upper() for k, _ in self.existing}
        self.own_query = urlencode(self.existing, quote_via=quote)


def build_url(base: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """Merge ``params`` into the backend URL's own query (backend URLs may carry ``map=…``); ours win."""
    return _merge(_Base(base), params)


def _quote(text: str, plain: re.Pattern[str], safe: str) -> str:
    # Most values (numbers, names, boxes) need no escaping: skip urllib's per-character work for them.
    return text if plain.fullmatch(text) else quote(text, safe=safe)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-~]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.\-~,:/]*")


def _merge(base: _Base, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    names = {k.upper() for k, _ in pairs}
    if base.existing_names & names:
        existing = urlencode([(k, v) for k, v in base.existing if k.upper() not in names], quote_via=quote)
    else:
        existing = base.own_query
    ours = "&".join(f"{_quote(k, _PLAIN_NAME, '')}={_quote(v, _PLAIN_VALUE, ',:/')}" for k, v in pairs)
    query = f"{existing}&{ours}" if existing and ours else existing or ours
    return f"{base.prefix}?{query}" if query else base.prefix


class _Connection(asyncio.Protocol):
    """One keep-alive connection: sends a GET and parses the answer with httptools."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.size = 0
        self.received = False  # any byte of the current answer
        self.headers_done = False
        self.closed = False
        self.keep_alive = False

    # --- asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports don't subclass asyncio's

    def data_received(self, data: bytes) -> None:
        self.received = True
        if self.waiter is None:  # bytes nobody asked for: the connection can't be trusted any more
            self.close()
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            cause = exc.__context__  # an error of our own callbacks (a body too large) comes back wrapped
            self._fail(cause if isinstance(cause, BackendError) else
                       BackendError("The backend sent a malformed HTTP answer.", [str(exc)]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        if self.headers_done and "content-length" not in self.headers and \
                "chunked" not in self.headers.get("transfer-encoding", "").lower():
            self._complete()  # a body delimited by the end of the connection
            return
        self._fail(_Dropped(self.received))

    # --- httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_headers_complete(self) -> None:
        self.headers_done = True
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY:
            raise BackendError("The backend's answer is too large.")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > MAX_BODY:
            raise BackendError("The backend's answer is too large.")
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # read now: the parser resets for the next message
        self._complete()

    # --- requests
    def _complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        body = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), self.headers, body))

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    @property
    def reusable(self) -> bool:
        """Whether the last answer left the connection open for another request."""
        return not self.closed and self.keep_alive

    async def request(self, head: bytes, deadline: float) -> tuple[int, dict[str, str], bytes]:
        """Send a request head and wait for (status, lower-cased headers, body) until the loop time ``deadline``.

        The deadline is a timer on the loop rather than ``asyncio.timeout``: the same guarantee for a fraction of the
        cost on every backend request."""
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[tuple[int, dict[str, str], bytes]] = loop.create_future()
        self.waiter = waiter
        self.headers, self.chunks, self.size = {}, [], 0
        self.received = self.headers_done = self.keep_alive = False
        timer = loop.call_at(deadline, self._fail, TimeoutError())
        self.transport.write(head)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        """Drop the connection."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Dropped(Exception):
    """The backend closed the connection before answering; ``received`` says whether it had sent anything."""

    def __init__(self, received: bool) -> None:
        super().__init__("connection closed by the backend")
        self.received = received


class _Pool:
    """Idle keep-alive connections to one (scheme, host, port)."""

    def __init__(self, scheme: str, host: str, port: int) -> None:
        self.scheme, self.host, self.port = scheme, host, port
        self.idle: deque[_Connection] = deque()
        self._ssl: ssl.SSLContext | None = None

    async def connect(self, timeout: float, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        if self.scheme == "https" and self._ssl is None:
            self._ssl = ssl.create_default_context()  # loading the system's CAs takes milliseconds: once per pool
        context = self._ssl
        async with asyncio.timeout_at(min(deadline, loop.time() + timeout)):
            _, protocol = await loop.create_connection(_Connection, self.host, self.port, ssl=context,
                                                       server_hostname=self.host if context else None)
        return protocol

    def take(self) -> _Connection | None:
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                return conn
        return None

    def give_back(self, conn: _Connection) -> None:
        if conn.reusable:
            self.idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()


class BackendClient:
    """A pooled HTTP client for one backend, used inside the running event loop."""

    def __init__(self, settings: BackendSettings, on_request: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._on_request = on_request
        self._base = _Base(settings.url)
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        self._limit: asyncio.Semaphore | None = None
        # Header names as configured (names are case-insensitive, but some old servers only know the usual spelling).
        extra = {k: v for k, v in settings.headers.items() if k.lower() not in ("host", "connection")}
        given = {k.lower() for k in extra}
        base = self._base
        if base.username is not None and "authorization" not in given:
            credentials = f"{unquote(base.username)}:{unquote(base.password or '')}"
            extra["Authorization"] = "Basic " + base64.b64encode(credentials.encode()).decode()
        for name, value in (("User-Agent", USER_AGENT), ("Accept-Encoding", "gzip, deflate"), ("Accept", "*/*")):
            if name.lower() not in given:
                extra[name] = value
        self._extra = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
        # A redirect to another origin gets no credentials: they were given for the configured backend only.
        self._extra_elsewhere = "".join(f"{k}: {v}\r\n" for k, v in extra.items() if k.lower() != "authorization")
        self._origin = (base.scheme, base.host, base.port)

    def _pool(self, scheme: str, host: str, port: int) -> _Pool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = _Pool(scheme, host, port)
        return pool

    async def close(self) -> None:
        """Close the pooled connections."""
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    async def get(self, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Response:
        """GET the backend with ``params``; network failures become 502, timeouts 504."""
        url = _merge(self._base, params)
        if self._on_request is not None:
            self._on_request()
        if self._limit is None:
            self._limit = asyncio.Semaphore(max(1, self.settings.max_connections))
        deadline = asyncio.get_running_loop().time() + self.settings.timeout
        try:
            if self._limit.locked():  # queueing for a connection counts towards the timeout
                async with asyncio.timeout_at(deadline):
                    await self._limit.acquire()
            else:
                await self._limit.acquire()
            try:
                return await self._follow(url, deadline)
            finally:
                self._limit.release()
        except TimeoutError:
            log.warning("backend timeout after %ss: %s", self.settings.timeout, url)
            raise BackendTimeout(f"The backend did not answer within {self.settings.timeout:g} s.") from None
        except (OSError, _Dropped, ssl.SSLError) as exc:
            log.warning("backend request failed: %s: %s", url, exc)
            raise BackendError("The backend server could not be reached or broke the connection.",
                               [type(exc).__name__]) from None

    async def _follow(self, url: str, deadline: float) -> Response:
        for _ in range(MAX_REDIRECTS + 1):
            status, headers, body = await self._fetch(url, deadline)
            location = headers.get("location")
            if status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            encoding = headers.get("content-encoding", "").strip().lower()
            if encoding in ("gzip", "x-gzip", "deflate") and body:
                # A large compressed body (a capabilities document, say) is inflated off the event loop.
                body = _decompress(body, encoding) if len(body) < INLINE_INFLATE else \
                    await asyncio.to_thread(_decompress, body, encoding)
            return Response(status, headers.get("content-type", ""), body, url)
        raise BackendError("The backend redirected too many times.")

    async def _fetch(self, url: str, deadline: float) -> tuple[int, dict[str, str], bytes]:
        base = self._base
        if url.startswith(base.prefix) and url[len(base.prefix):len(base.prefix) + 1] in ("", "?"):
            # The configured backend itself (not a redirect): its address was split once.
            pool = self._pool(base.scheme, base.host, base.port)
            target, host = base.path + url[len(base.prefix):], base.host_header
        else:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise BackendError(f"The backend redirected to an unusable URL: {url[:200]}")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            pool = self._pool(parts.scheme, parts.hostname, port)
            target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
            host = parts.netloc.rpartition("@")[2]
        extra = self._extra if (pool.scheme, pool.host, pool.port) == self._origin else self._extra_elsewhere
        head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n{extra}\r\n".encode()
        reused = pool.take()
        conn = reused or await pool.connect(self.settings.connect_timeout, deadline)
        try:
            try:
                answer = await conn.request(head, deadline)
            except _Dropped as exc:
                if reused is None or exc.received:
                    raise
                # An idle keep-alive connection the backend had closed: one retry on a new connection.
                conn = await pool.connect(self.settings.connect_timeout, deadline)
                answer = await conn.request(head, deadline)
        except BaseException:
            conn.close()
            raise
        pool.give_back(conn)
        return answer


def _decompress(body: bytes, encoding: str) -> bytes:
    try:
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate, as some servers send it
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = decompressor.decompress(body, MAX_BODY)
        if decompressor.unconsumed_tail:
            raise BackendError("The backend's answer is too large.")
        return data
    except zlib.error as exc:
        raise BackendError("The backend sent a body that does not decompress.", [str(exc)]) from None
