"""The HTTP client towards OGC backends: one pooled session per backend, timeouts, and error mapping."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from yarl import URL

from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendTimeout

log = logging.getLogger(__name__)
MAX_BODY = 512 * 1024 * 1024


@dataclass(frozen=True)
class Response:
    """A backend answer, fully read."""

    status: int
    content_type: str
    body: bytes
    url: str


def build_url(base: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """Merge ``params`` into the backend URL's own query (backend URLs may carry ``map=…``)."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    parts = urlsplit(base)
    names = {k.upper() for k, _ in pairs}
    existing = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.upper() not in names]
    query = urlencode([*existing, *pairs])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


class BackendClient:
    """A pooled HTTP client for one backend, created inside the running event loop."""

    def __init__(self, settings: BackendSettings, on_request: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self._on_request = on_request
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.settings.max_connections, ttl_dns_cache=300)
            timeout = aiohttp.ClientTimeout(total=self.settings.timeout, sock_connect=self.settings.connect_timeout)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout,
                                                  headers=self.settings.headers, auto_decompress=True)
        return self._session

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(self, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Response:
        """GET the backend with ``params``; network failures become 502, timeouts 504."""
        url = build_url(self.settings.url, params)
        if self._on_request is not None:
            self._on_request()
        try:
            # The URL is encoded once here; yarl must not parse and re-quote it.
            async with self._get_session().get(URL(url, encoded=True), allow_redirects=True) as resp:
                if resp.content_length is not None and resp.content_length > MAX_BODY:
                    raise BackendError("The backend's answer is too large.")
                body = await resp.read()
                return Response(resp.status, resp.headers.get("Content-Type", ""), body, url)
        except TimeoutError:
            log.warning("backend timeout after %ss: %s", self.settings.timeout, url)
            raise BackendTimeout(f"The backend did not answer within {self.settings.timeout:g} s.") from None
        except asyncio.CancelledError:
            raise
        except aiohttp.ClientError as exc:
            log.warning("backend request failed: %s: %s", url, exc)
            raise BackendError("The backend server could not be reached or broke the connection.",
                               [type(exc).__name__]) from None
