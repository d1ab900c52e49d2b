"""Whole answers (exported images) of a service from the answer cache: their Cache-Control and their response."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from proxy.cache import Cache, Entry
from proxy.cache.fast import Load
from proxy.settings import ServiceSettings


def cache_control(settings: ServiceSettings, ttl: float) -> str:
    """The Cache-Control of a service's images: configured, else public for the cache TTL."""
    if settings.cache_control:
        return settings.cache_control
    return f"public, max-age={int(ttl)}" if ttl > 0 else "no-cache"


async def cached_image(cache: Cache, url: str | None, settings: ServiceSettings, ttl: float, key: str,
                       produce: Callable[[], Awaitable[tuple[bytes, str]]]) -> web.Response:
    """Answer an ``f=image`` request from the answer cache under ``key``, producing it (once, however many ask) on a
    miss."""
    entry, status = await cache.fetch(key, settings.name.lower(), ttl, produce)
    return answer(cache, url, settings, ttl, key, entry, status)


def answer(cache: Cache, url: str | None, settings: ServiceSettings, ttl: float, key: str, entry: Entry,
           status: str, content_type: str | None = None, load: Load | None = None) -> web.Response:
    """The response for a cached entry, through the cache's fast path (which remembers its URL, and ``load``, how
    to read the entry when memory has not got it)."""
    return cache.fast.answer(url, key, settings.name.lower(), ttl, entry, status, cache_control(settings, ttl),
                             content_type, load)
