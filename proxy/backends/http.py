"""The HTTP client towards OGC backends: one pooled aiohttp session per backend, bounded reads, and error mapping.

Backend requests are plain ``GET``\\ s with a query, sent with aiohttp's client (``ClientSession`` on a
``TCPConnector``: keep-alive pooling, chunked and close-delimited bodies, TLS, proxies, one retry of a request that
met a pooled connection the backend had closed meanwhile).  What this module adds, and why aiohttp's own handling of
it is switched off:

- redirects are followed here, so that a redirect to another origin goes without the credentials given for the
  configured backend (``Authorization``, its user info and every configured extra header) and a redirect to anything
  but http(s) is refused;
- bodies are read in chunks up to ``MAX_BODY``, and gzip/deflate are inflated here by a bounded decompressor
  (``auto_decompress=False``): a compression bomb is a 502 naming the limit, never inflated in memory;
- proxies come from ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY``, looked up once per origin (aiohttp's ``trust_env``
  would look them up in a thread on every request and read ``~/.netrc`` too); a loopback backend is never proxied;
- no cookie jar: backend answers are cached and shared between clients, so no backend session state may leak in.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import ipaddress
import logging
import os
import re
import ssl
import urllib.request
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from proxy.logs import REQUEST_ID, REQUEST_ID_HEADER
from proxy.ops import health
from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendTimeout

log = logging.getLogger(__name__)
MAX_BODY = 512 * 1024 * 1024  # bytes of a backend answer, as sent and once decompressed
MAX_REDIRECTS = 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "arcbridge"
FORM_TYPE = "application/x-www-form-urlencoded"
INLINE_INFLATE = 64 * 1024  # compressed bytes inflated on the event loop; larger bodies go to a thread
INLINE_OUTPUT = 1024 * 1024  # … and at most this many inflated bytes there (a small bomb must not stall the loop)
# Pooled connections idle longer than this are closed.  Short enough that a burst does not leave the backend's
# workers (a prefork Apache keeps a process per open connection) held for minutes, long enough that steady map
# traffic (a request every few seconds per backend) keeps reusing its connections; 15 s is aiohttp's own default.
IDLE_TIMEOUT = 15.0



@dataclass(frozen=True)
class _Route:
    """How requests go to one origin: their headers (credentials only to the configured origin), proxy and TLS."""

    headers: dict[str, str]
    proxy: URL | None
    proxy_headers: dict[str, str] | None  # the proxy's credentials, for the CONNECT of an https request
    tls: ssl.SSLContext | bool


@dataclass(frozen=True)
class Response:
    """A backend answer, fully read."""

    status: int
    content_type: str
    body: bytes
    url: str


class _Base:
    """A backend URL split once: its origin, user info, address and the query pairs it carries itself (``map=…``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url}")
        self.username, self.password = parts.username, parts.password
        self.prefix = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        # What is sent: the user info goes as an Authorization header, never in the URL (nor in Response.url); yarl
        # writes the rest as it goes on the wire once (a non-ASCII host in IDNA, the path quoted), and keys the origin.
        plain = URL(f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path or '/'}")
        self.plain_prefix = str(plain)
        self.origin = (plain.scheme, plain.host or "", plain.port)
        self.existing = parse_qsl(parts.query, keep_blank_values=True)
        self.existing_names = {k.upper() for k, _ in self.existing}
        self.own_query = urlencode(self.existing, quote_via=quote)


def backend_label(url: str) -> str:
    """How a backend URL is named in the metrics and ``/arcbridge/ready``: without user info nor query."""
    return _Base(url).plain_prefix


def build_url(base: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """Merge ``params`` into the backend URL's own query (backend URLs may carry ``map=…``); ours win."""
    parsed = _Base(base)
    return _merge(parsed, parsed.prefix, params)


def _quote(text: str, plain: re.Pattern[str], safe: str) -> str:
    # Most values (numbers, names, boxes) need no escaping: skip urllib's per-character work for them.
    return text if plain.fullmatch(text) else quote(text, safe=safe)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.\-~]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_.\-~,:/]*")


def _merge(base: _Base, prefix: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    names = {k.upper() for k, _ in pairs} if base.existing_names else set()
    if base.existing_names & names:
        existing = urlencode([(k, v) for k, v in base.existing if k.upper() not in names], quote_via=quote)
    else:
        existing = base.own_query
    # One look at all names and all values first (strings of plain characters joined are plain, and one that is not
    # shows in the join): most requests, numbers, names and boxes, have nothing to escape.
    if _PLAIN_NAME.fullmatch("".join(k for k, _ in pairs)) and _PLAIN_VALUE.fullmatch("".join(v for _, v in pairs)):
        ours = "&".join(f"{k}={v}" for k, v in pairs)
    else:
        ours = "&".join(f"{_quote(k, _PLAIN_NAME, '')}={_quote(v, _PLAIN_VALUE, ',:/')}" for k, v in pairs)
    query = f"{existing}&{ours}" if existing and ours else existing or ours
    return f"{prefix}?{query}" if query else prefix


def _headers(settings: BackendSettings, base: _Base) -> tuple[dict[str, str], dict[str, str]]:
    """The request headers for the configured origin, and those for any other origin a redirect leads to."""
    # Header names as configured (names are case-insensitive, but some old servers only know the usual spelling).
    configured = {k: v for k, v in settings.headers.items() if k.lower() not in ("host", "connection")}
    given = {k.lower() for k in configured}
    credentials = dict(configured)
    if base.username is not None and "authorization" not in given:
        user = f"{unquote(base.username)}:{unquote(base.password or '')}"
        credentials["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    # Only gzip and deflate: those are what _inflate decodes (aiohttp would also offer br/zstd when installed).
    usual = {"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate", "Accept": "*/*"}
    defaults = {k: v for k, v in usual.items() if k.lower() not in given}
    # Another origin gets none of the configured headers: an API key or a token was given for this backend only.
    return {**credentials, **defaults}, usual


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _proxy_for(scheme: str, host: str) -> tuple[URL | None, dict[str, str] | None]:
    """The proxy from the environment for an origin: ``HTTP_PROXY``/``HTTPS_PROXY`` unless ``NO_PROXY`` names the host.

    A loopback backend is never proxied (as Go's net/http does): a proxy elsewhere could not reach this machine's
    loopback, and local backends keep working when a proxy is set for the outside world."""
    if _is_loopback(host) or urllib.request.proxy_bypass(host):
        return None, None
    proxy = urllib.request.getproxies().get(scheme)
    if not proxy:
        return None, None
    url = URL(proxy if "://" in proxy else f"http://{proxy}")
    if url.user is None:
        return url, None
    credentials = base64.b64encode(f"{url.user}:{url.password or ''}".encode()).decode()
    return url.with_user(None), {"Proxy-Authorization": f"Basic {credentials}"}


@functools.lru_cache(maxsize=4)
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    """The system's CAs (or ``SSL_CERT_FILE``/``SSL_CERT_DIR``, which the arguments key): loading them takes
    milliseconds, so once per environment rather than per backend."""
    return ssl.create_default_context()


class BackendClient:
    """A pooled HTTP client for one backend, used inside the running event loop."""

    def __init__(self, settings: BackendSettings, on_request: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._on_request = on_request
        self._base = base = _Base(settings.url)
        self.label = base.plain_prefix  # the backend's name in the metrics and /arcbridge/ready (no credentials)
        self._session: aiohttp.ClientSession | None = None
        self._origin = base.origin
        self._headers, self._headers_elsewhere = _headers(settings, base)
        self._routes: dict[tuple[str, str, int | None], _Route] = {}

    def _route(self, scheme: str, host: str, port: int | None) -> _Route:
        """How to send a request to an origin, worked out on its first request (proxy variables are read then)."""
        route = self._routes.get((scheme, host, port))
        if route is not None:
            return route
        headers = self._headers if (scheme, host, port) == self._origin else self._headers_elsewhere
        proxy, credentials = _proxy_for(scheme, host)
        if credentials is not None and scheme == "http":  # a plain request goes to the proxy with them itself
            headers, credentials = {**headers, **credentials}, None
        tls: ssl.SSLContext | bool = True
        if scheme == "https":
            tls = _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        if len(self._routes) >= 64:  # redirects to ever new origins must not grow this without bound
            self._routes.clear()
        route = self._routes[(scheme, host, port)] = _Route(headers, proxy, credentials, tls)
        return route

    def _open(self) -> aiohttp.ClientSession:
        # Made on first use: a session belongs to the running loop, and the client is built before it runs.
        connector = aiohttp.TCPConnector(limit=max(1, self.settings.max_connections), limit_per_host=0,
                                         keepalive_timeout=IDLE_TIMEOUT)
        self._session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                              auto_decompress=False, trust_env=False,
                                              timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        """Close the pooled connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def get(self, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Response:
        """GET the backend with ``params``; network failures become 502, timeouts 504."""
        return await self._request(_merge(self._base, self._base.plain_prefix, params), None)

    async def get_url(self, url: str) -> Response:
        """GET a URL of the backend given whole (a WMTS RESTful tile); its headers go only to the backend's origin."""
        return await self._request(url, None)

    async def post_form(self, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Response:
        """POST ``params`` as an urlencoded form to the backend URL (its own query kept in the URL): the KVP request
        of the OGC services, for requests too long for a URL."""
        pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
        return await self._request(_merge(self._base, self._base.plain_prefix, []), urlencode(pairs).encode())

    async def _request(self, url: str, form: bytes | None) -> Response:
        if self._on_request is not None:
            self._on_request()
        started = asyncio.get_running_loop().time()
        try:
            response = await self._send(url, form)
        except (BackendError, BackendTimeout) as exc:  # what /arcbridge/ready and the metrics report
            health.failed(self.label, asyncio.get_running_loop().time() - started, exc)
            raise
        health.answered(self.label, asyncio.get_running_loop().time() - started, response.status)
        return response

    async def _send(self, url: str, form: bytes | None) -> Response:
        deadline = asyncio.get_running_loop().time() + self.settings.timeout
        try:
            return await self._follow(url, deadline, form)
        except TimeoutError:
            log.warning("backend timeout after %ss: %s", self.settings.timeout, url)
            raise BackendTimeout(f"The backend did not answer within {self.settings.timeout:g} s.") from None
        except aiohttp.ClientHttpProxyError as exc:
            log.warning("proxy refused a backend request: %s: %s", url, exc)
            raise BackendError("The proxy refused the backend request.", [f"HTTP {exc.status}"]) from None
        except aiohttp.ClientResponseError as exc:  # the answer's status line or headers did not parse
            log.warning("malformed backend answer: %s: %s", url, exc)
            raise BackendError("The backend sent a malformed HTTP answer.", [exc.message]) from None
        except (aiohttp.ClientError, OSError) as exc:
            log.warning("backend request failed: %s: %r", url, exc)
            raise BackendError("The backend server could not be reached or broke the connection.",
                               [type(exc).__name__]) from None

    async def _follow(self, url: str, deadline: float, form: bytes | None = None) -> Response:
        target = URL(url, encoded=True)  # already quoted by _merge: sent as it is
        for _ in range(MAX_REDIRECTS + 1):
            # A form is posted again after a redirect: its parameters cannot move into the URL (they are too long).
            status, headers, body = await self._fetch(target, deadline, form)
            location = headers.get("Location")
            if status in REDIRECTS and location:
                target = _redirect(target, location)
                url = str(target)
                continue
            encoding = headers.get("Content-Encoding", "").strip().lower()
            if encoding in ("gzip", "x-gzip", "deflate") and body:
                body = await _decode(body, encoding)
            return Response(status, headers.get("Content-Type", ""), body, url)
        raise BackendError("The backend redirected too many times.")

    async def _fetch(self, target: URL, deadline: float,
                     form: bytes | None = None) -> tuple[int, CIMultiDictProxy[str], bytes]:
        route = self._route(target.scheme, target.host or "", target.port)
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError
        # One deadline for the whole request, redirects included: queueing for a connection, connecting, reading.
        timeout = aiohttp.ClientTimeout(total=remaining, sock_connect=self.settings.connect_timeout)
        session = self._session or self._open()
        headers = route.headers if form is None else {**route.headers, "Content-Type": FORM_TYPE}
        if (request_id := REQUEST_ID.get()) is not None:  # the gateway request this serves, for the backend's logs
            headers = {**headers, REQUEST_ID_HEADER: request_id}
        async with session.request("GET" if form is None else "POST", target, data=form, headers=headers,
                                   allow_redirects=False, timeout=timeout, proxy=route.proxy,
                                   proxy_headers=route.proxy_headers, ssl=route.tls) as answer:
            return answer.status, answer.headers, await _read(answer)


def _redirect(current: URL, location: str) -> URL:
    """Where a redirect leads: an http(s) URL, without any user info (credentials come from the configuration)."""
    try:
        target = URL(urljoin(str(current), location))
    except ValueError:
        target = URL()
    if target.scheme not in ("http", "https") or not target.host:
        raise BackendError(f"The backend redirected to an unusable URL: {location[:200]}")
    return target.with_user(None).with_fragment(None)


def _too_large(limit: int, inflated: bool = False) -> BackendError:
    where = " once decompressed" if inflated else ""
    return BackendError(f"The backend's answer is too large{where}: over the limit of {limit:,} bytes.")


async def _read(answer: aiohttp.ClientResponse) -> bytes:
    """The body as sent, read chunk by chunk and refused (the connection dropped) past ``MAX_BODY``."""
    limit = MAX_BODY
    if answer.content_length is not None:
        if answer.content_length > limit:
            answer.close()
            raise _too_large(limit)
        return await answer.read()  # bounded by its announced length: one read, the miss path's common case
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.content.iter_any():
        size += len(chunk)
        if size > limit:
            answer.close()
            raise _too_large(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _decode(body: bytes, encoding: str) -> bytes:
    """Inflate a gzip or deflate body to at most ``MAX_BODY`` bytes: a little on the event loop, more in a thread."""
    limit = MAX_BODY
    if len(body) < INLINE_INFLATE:
        data = _inflate(body, encoding, min(limit, INLINE_OUTPUT))
        if data is not None:
            return data
        if limit <= INLINE_OUTPUT:
            raise _too_large(limit, inflated=True)
    # A large body (a capabilities document, say), or a small one that inflates to more than the loop should spend on.
    data = await asyncio.to_thread(_inflate, body, encoding, limit)
    if data is None:
        raise _too_large(limit, inflated=True)
    return data


def _inflate(body: bytes, encoding: str, limit: int) -> bytes | None:
    """``body`` inflated, or None if that is more than ``limit`` bytes (never inflating more than one byte past it)."""
    try:
        if encoding != "deflate":
            return _inflate_stream(body, 16 + zlib.MAX_WBITS, limit, members=True)
        try:
            return _inflate_stream(body, zlib.MAX_WBITS, limit, members=False)
        except zlib.error:
            return _inflate_stream(body, -zlib.MAX_WBITS, limit, members=False)  # raw deflate, as some servers send
    except zlib.error as exc:
        raise BackendError("The backend sent a body that does not decompress.", [str(exc)]) from None


def _inflate_stream(body: bytes, wbits: int, limit: int, members: bool) -> bytes | None:
    parts: list[bytes] = []
    size = 0
    data = body
    while data:
        inflater = zlib.decompressobj(wbits)
        part = inflater.decompress(data, limit - size + 1)  # max_length ≥ 1 (0 would mean unbounded)
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
        if not inflater.eof:  # all input consumed short of the output bound, and the stream goes on
            raise zlib.error("incomplete or truncated stream")
        # A gzip body may hold several members (RFC 1952), and zero padding after them; after a zlib or raw
        # deflate stream trailing bytes are ignored, as zlib.decompress does.
        data = inflater.unused_data.lstrip(b"\0") if members else b""
    return parts[0] if len(parts) == 1 else b"".join(parts)
