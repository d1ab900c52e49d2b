"""The fast path for repeated URLs, and the HTTP response of a cached entry.

This is the one module of the cache that speaks aiohttp: the fast path's whole point is to turn a request URL into
a response before anything else of the gateway runs.
"""

from __future__ import annotations

import threading

from aiohttp import web
from cachetools import LRUCache

from proxy.cache.keys import Entry
from proxy.cache.memory import MemoryTier
from proxy.cache.stats import Stats


def entry_response(entry: Entry, status: str, control: str, content_type: str | None = None) -> web.Response:
    """An image answer with its validators (``content_type`` overrides the entry's: a passed-through backend answer
    is stored under the backend's MIME type)."""
    return web.Response(body=entry.body, content_type=content_type or entry.content_type, headers={
        "ETag": entry.etag,
        "Last-Modified": entry.last_modified,
        "Cache-Control": control,
        "X-Arcbridge-Cache": status,
    })


class FastPath:
    """Exact request URLs already answered from the answer cache → their cache key and Cache-Control.

    A repeated URL (what tiled and refreshing clients send) then skips parameter parsing, planning and key
    normalisation: one dictionary lookup and the memory tier.  Only keys are held here, so the byte bound of the
    memory tier still governs what is kept.
    """

    def __init__(self, memory: MemoryTier, stats: Stats, size: int = 4096) -> None:
        self._memory = memory
        self._stats = stats
        self._known: LRUCache[str, tuple[str, str, str, str | None]] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def remember(self, url: str, key: str, namespace: str, control: str, content_type: str | None = None) -> None:
        """Note that ``url`` is answered by the entry ``key`` (served as ``content_type`` when given)."""
        with self._lock:
            self._known[url] = (key, namespace, control, content_type)

    def lookup(self, url: str) -> web.Response | None:
        """The cached answer of ``url`` when it is known and still fresh in memory."""
        with self._lock:
            known = self._known.get(url)
        if known is None:
            return None
        key, namespace, control, content_type = known
        entry = self._memory.get(key)
        if entry is None or not entry.fresh:
            return None
        self._stats.count(namespace, "hits")
        return entry_response(entry, "hit", control, content_type)

    def answer(self, url: str | None, key: str, namespace: str, ttl: float, entry: Entry, status: str,
               control: str, content_type: str | None = None) -> web.Response:
        """The response for a cached entry; its URL (None: not a GET) is remembered for the fast path (stale
        answers are not, nor uncached ones)."""
        if url is not None and ttl > 0 and status != "stale":
            self.remember(url, key, namespace, control, content_type)
        return entry_response(entry, status, control, content_type)
