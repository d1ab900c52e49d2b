"""Whole answers (exported images) from the cache, the fast path for repeated URLs, and HTTP validators."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable

from aiohttp import web
from cachetools import LRUCache

from proxy.cache import Cache, Entry
from proxy.settings import ServiceSettings


def cache_control(settings: ServiceSettings, ttl: float) -> str:
    """The Cache-Control of a service's images: configured, else public for the cache TTL."""
    if settings.cache_control:
        return settings.cache_control
    return f"public, max-age={int(ttl)}" if ttl > 0 else "no-cache"


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

    def __init__(self, size: int = 4096) -> None:
        self._known: LRUCache[str, tuple[str, str, str, str | None]] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def remember(self, url: str, key: str, namespace: str, control: str, content_type: str | None = None) -> None:
        """Note that ``url`` is answered by the entry ``key`` (served as ``content_type`` when given)."""
        with self._lock:
            self._known[url] = (key, namespace, control, content_type)

    def lookup(self, cache: Cache, url: str) -> web.Response | None:
        """The cached answer of ``url`` when it is known and still fresh in memory."""
        with self._lock:
            known = self._known.get(url)
        if known is None:
            return None
        key, namespace, control, content_type = known
        entry = cache.memory.get(key)
        if entry is None or not entry.fresh:
            return None
        cache.stats.count(namespace, "hits")
        return entry_response(entry, "hit", control, content_type)


async def cached_image(cache: Cache, fast: FastPath, url: str | None, settings: ServiceSettings, ttl: float,
                       key: str, produce: Callable[[], Awaitable[tuple[bytes, str]]]) -> web.Response:
    """Answer an ``f=image`` request from the answer cache under ``key``, producing it (once, however many ask) on a
    miss."""
    entry, status = await cache.fetch(key, settings.name.lower(), ttl, produce)
    return answer(fast, url, settings, ttl, key, entry, status)


def answer(fast: FastPath, url: str | None, settings: ServiceSettings, ttl: float, key: str, entry: Entry,
           status: str, content_type: str | None = None) -> web.Response:
    """The response for a cached entry; its URL is remembered for the fast path (stale answers are not)."""
    control = cache_control(settings, ttl)
    if url is not None and ttl > 0 and status != "stale":
        fast.remember(url, key, settings.name.lower(), control, content_type)
    return entry_response(entry, status, control, content_type)
