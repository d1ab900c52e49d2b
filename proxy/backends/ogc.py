"""What every OGC backend of a service shares: its settings and flavour, the HTTP client, its identity in cache keys,
answers fetched through the cache, and the check that an answer is not an OGC exception report."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace

from proxy.backends.http import BackendClient, Response
from proxy.cache import Cache, Entry, cache_key, normalise_url
from proxy.executor import RunCpu
from proxy.settings import BackendSettings
from translators.errors import BackendError, BackendRefusal
from translators.ogc.flavors import FLAVORS, Flavor
from translators.ogc.xml import exception_messages


def check_answer(response: Response, request: str) -> None:
    """Refuse an OGC exception report (also sent with HTTP 200; a :class:`BackendRefusal`) and any HTTP status but
    200, as a 502."""
    messages = exception_messages(response.body)
    if messages is not None:
        raise BackendRefusal(f"The backend returned an error for this {request} request.", messages)
    if response.status != 200:
        raise BackendError(f"The backend answered HTTP {response.status}.")


class OgcBackend:
    """One OGC endpoint of a service (WMS or WCS)."""

    def __init__(self, settings: BackendSettings, run_cpu: RunCpu, cache: Cache, namespace: str, ttl: float) -> None:
        self.settings = settings
        flavor = FLAVORS[settings.flavor]
        if settings.capabilities_top_first is not None:  # the configuration knows this server's document order
            flavor = replace(flavor, capabilities_top_first=settings.capabilities_top_first)
        self.flavor: Flavor = flavor
        self.client = BackendClient(settings, cache.count_backend_request)
        self.identity = normalise_url(settings.url)  # the backend's part of every cache key
        self.cache = cache
        self.namespace = namespace
        self.ttl = ttl
        self._run_cpu = run_cpu

    async def close(self) -> None:
        """Release the connection pool."""
        await self.client.close()

    async def cached(self, kind: str, params: Mapping[str, str] | Sequence[tuple[str, str]],
                     produce: Callable[[], Awaitable[tuple[bytes, str]]]) -> tuple[Entry, str, str]:
        """A backend answer through the cache, keyed by its normalised request: the entry, its status, its key."""
        key = cache_key(self.namespace, kind, self.identity, params)
        entry, status = await self.cache.fetch(key, self.namespace, self.ttl, produce)
        return entry, status, key
