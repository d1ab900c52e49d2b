"""Whole answers (exported images) cached by their normalised client request, and HTTP validators for them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import formatdate

from aiohttp import web

from proxy.cache import Cache, Entry, cache_key, client_key_params
from proxy.settings import ServiceSettings
from translators.params import Params

# Parameters that never change an answer: cache busters, credentials, JSONP wrappers.
CLIENT_ONLY = ("_ts", "_", "token", "callback", "dojo.preventCache", "returnUpdates")


def cache_control(settings: ServiceSettings, ttl: float) -> str:
    """The Cache-Control of a service's images: configured, else public for the cache TTL."""
    if settings.cache_control:
        return settings.cache_control
    return f"public, max-age={int(ttl)}" if ttl > 0 else "no-cache"


def entry_response(entry: Entry, status: str, control: str) -> web.Response:
    """An image answer with its validators."""
    return web.Response(body=entry.body, content_type=entry.content_type, headers={
        "ETag": entry.etag,
        "Last-Modified": formatdate(entry.created, usegmt=True),
        "Cache-Control": control,
        "X-Arcbridge-Cache": status,
    })


async def cached_image(cache: Cache, settings: ServiceSettings, ttl: float, operation: str, params: Params,
                       produce: Callable[[], Awaitable[tuple[bytes, str]]]) -> web.Response:
    """Answer an ``f=image`` request from the answer cache, producing it (once, however many ask) on a miss."""
    namespace = settings.name.lower()
    key = cache_key(namespace, f"answer-{operation}", "", client_key_params(params.items(), CLIENT_ONLY))
    entry, status = await cache.fetch(key, namespace, ttl, produce)
    return entry_response(entry, status, cache_control(settings, ttl))
