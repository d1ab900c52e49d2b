"""The fast path for repeated URLs, and the HTTP response of a cached entry.

This is the one module of the cache that speaks aiohttp: the fast path's whole point is to turn a request URL into
a response before anything else of the gateway runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

from aiohttp import web
from cachetools import LRUCache
from multidict import CIMultiDict

from proxy.cache.keys import Entry
from proxy.cache.memory import MemoryTier
from proxy.cache.stats import Stats


def entry_headers(entry: Entry, status: str, control: str, content_type: str | None = None) -> dict[str, str]:
    """The headers of an image answer: its type and validators (``content_type`` overrides the entry's: a
    passed-through backend answer is stored under the backend's MIME type)."""
    return {
        "Content-Type": content_type or entry.content_type,
        "ETag": entry.etag,
        "Last-Modified": entry.last_modified,
        "Cache-Control": control,
        "X-Arcbridge-Cache": status,
    }


def entry_response(entry: Entry, status: str, control: str, content_type: str | None = None) -> web.Response:
    """An image answer with its validators."""
    return web.Response(body=entry.body, headers=entry_headers(entry, status, control, content_type))


Load = Callable[[], Entry | None]
"""Reads an entry from a tier below memory without waiting (a tile store); None when it cannot."""


class _Known:
    """What the fast path holds for one URL: the key of its entry, and the headers of a hit on that entry, built once
    (they change only when the entry does, recognised by its ETag)."""

    __slots__ = ("content_type", "control", "etag", "headers", "key", "load", "namespace", "path", "status")

    def __init__(self, key: str, namespace: str, control: str, content_type: str | None, load: Load | None) -> None:
        self.key = key
        self.load = load
        self.namespace = namespace
        self.control = control
        self.content_type = content_type
        self.etag = ""  # the ETag and status the headers were built for
        self.status = ""
        self.headers: CIMultiDict[str] = CIMultiDict()
        self.path: str | None = None  # the URL's decoded path, for the hit path's metrics (worked out once)


class FastPath:
    """Exact request URLs already answered from the answer cache → their cache key and precomputed hit headers.

    A repeated URL (what tiled and refreshing clients send) then skips parameter parsing, planning, key
    normalisation and header building: one dictionary lookup, the memory tier, and a response made from ready
    headers.  Only keys and headers are held here, never bodies, so the byte bound of the memory tier still governs
    what is kept.
    """

    def __init__(self, memory: MemoryTier, stats: Stats, size: int = 4096) -> None:
        self._memory = memory
        self._stats = stats
        self._known: LRUCache[str, _Known] = LRUCache(maxsize=size)
        self._lock = threading.Lock()
        self.extra_headers: Mapping[str, str] = {}  # added to every hit's headers (the application's CORS headers)

    def remember(self, url: str, key: str, namespace: str, control: str, content_type: str | None = None,
                 load: Load | None = None) -> None:
        """Note that ``url`` is answered by the entry ``key`` (served as ``content_type`` when given); ``load``
        reads the entry when the memory tier has not got it (then it is kept there again)."""
        with self._lock:
            self._known[url] = _Known(key, namespace, control, content_type, load)

    def forget(self, namespaces: Collection[str] | None = None) -> None:
        """Forget the URLs of the given namespaces (services), every URL read through a ``load`` (it belongs to the
        tile store of the application that made it), or every URL at all (None).  A reload calls it: a URL of a
        changed service may mean another entry under the new configuration."""
        with self._lock:
            if namespaces is None:
                self._known.clear()
                return
            for url in [url for url, known in self._known.items()
                        if known.namespace in namespaces or known.load is not None]:
                del self._known[url]

    def lookup(self, url: str) -> web.Response | None:
        """The cached answer of ``url`` when it is known and still fresh in memory (or readable by its ``load``),
        with the headers of a hit, :attr:`extra_headers` among them."""
        found = self.hit(url)
        return None if found is None else found[0]

    def hit(self, url: str) -> tuple[web.Response, _Known] | None:
        """:meth:`lookup`, with what the fast path knows of the URL."""
        with self._lock:
            known = self._known.get(url)
        if known is None:
            return None
        status, entry = "hit", self._memory.get(known.key)
        if entry is None and known.load is not None and (entry := known.load()) is not None:
            status = "hit-store"  # as the full path says it
            self._memory.put(known.key, entry)  # (a no-op with the memory tier off: the store is the tier then)
        if entry is None or not entry.fresh:
            return None
        if known.etag != entry.etag or known.status != status:  # first hit, or another entry: build headers once
            headers = CIMultiDict(entry_headers(entry, status, known.control, known.content_type))
            headers.extend(self.extra_headers)
            known.headers, known.etag, known.status = headers, entry.etag, status
        self._stats.count(known.namespace, "hits")
        return web.Response(body=entry.body, headers=known.headers), known

    def answer(self, url: str | None, key: str, namespace: str, ttl: float, entry: Entry, status: str,
               control: str, content_type: str | None = None, load: Load | None = None) -> web.Response:
        """The response for a cached entry; its URL (None: not a GET) is remembered for the fast path (stale
        answers are not, nor uncached ones)."""
        if url is not None and ttl > 0 and status != "stale":
            self.remember(url, key, namespace, control, content_type, load)
        return entry_response(entry, status, control, content_type)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RawHeaders = tuple[tuple[bytes, bytes], ...]


def answer_hits_first(app: web.Application, fast: FastPath, extra: Mapping[str, str],
                      admit: Callable[[RawHeaders], bool],
                      on_hit: Callable[[web.Request, str, web.StreamResponse, float], None] | None = None) -> None:
    """Make ``app`` answer unconditional GETs of fast-path URLs before aiohttp's router and middlewares run.

    aiohttp's server calls the application's ``_handle`` for every request; it resolves the route, builds the
    middleware chain and calls it.  For a hit that work is most of what the gateway adds to a bare aiohttp handler
    returning the same bytes (profiled with py-spy: the router, the middleware chain and the response headers), so
    the hit is answered first and everything else goes on to aiohttp's own ``_handle`` unchanged.  The application
    is not subclassed (aiohttp discourages it); its server is made after this, by ``run_app``/``AppRunner``, and takes
    the handler from the attribute.  ``extra`` are the headers the middleware would add (CORS), made part of every
    hit's headers.  Conditional requests take the full path (the middleware answers them by the same fast lookup, a
    304 when they match).

    URLs are known by the request line's own text (``raw_path``: no URL object is built or printed for a hit), and
    only URLs the full path answered are known, so their length was checked there; ``admit`` is the gateway's check
    of the request's raw headers, which differ from request to request (a refusal takes the full path).  ``on_hit``
    (request, decoded path, response, seconds) does for each hit answered here what the middlewares do for the rest
    (metrics, the request id); the decoded path is worked out at a URL's first hit and kept with it.
    """
    fast.extra_headers = dict(extra)
    handle: Handler = app._handle  # (aiohttp's request entry point, wrapped, not replaced)

    async def hits_first(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            headers = request.headers
            if "If-None-Match" not in headers and "If-Modified-Since" not in headers and admit(request.raw_headers):
                started = time.perf_counter()
                found = fast.hit(request.raw_path)
                if found is not None:
                    response, known = found
                    if on_hit is not None:
                        if known.path is None:
                            known.path = request.path
                        on_hit(request, known.path, response, time.perf_counter() - started)
                    return response
        return await handle(request)

    setattr(app, "_handle", hits_first)  # noqa: B010  (an instance attribute; mypy refuses assigning a method)
