"""The answer cache: an in-process tier bounded in bytes, an optional shared Redis tier, and request coalescing.

- :mod:`proxy.cache.keys`: keys of normalised requests, the entries stored under them, ETags;
- :mod:`proxy.cache.memory`: the in-process tier, least recently used first out once its byte bound is reached;
- :mod:`proxy.cache.shared`: the Redis tier shared by every process (and the Redis URL forms), every call bounded
  by a short timeout;
- :mod:`proxy.cache.breaker`: the circuit breaker that skips the shared tier while Redis is out of reach;
- :mod:`proxy.cache.stats`: the counters behind ``/arcbridge/stats``;
- :mod:`proxy.cache.fast`: the fast path for repeated URLs and the HTTP response of an entry (the one module that
  uses aiohttp);
- :mod:`proxy.cache.cache`: :class:`Cache`, both tiers with coalescing and stale-if-error, owning the fast path.
"""

from proxy.cache.breaker import Breaker
from proxy.cache.cache import LOCK_SECONDS, Cache, mark_stale, stale_sources
from proxy.cache.fast import FastPath, entry_response
from proxy.cache.keys import PREFIX, Entry, cache_key, etag_of, make_entry, normalise_url
from proxy.cache.memory import ENTRY_OVERHEAD, MemoryTier
from proxy.cache.shared import RedisTier, redis_client
from proxy.cache.stats import Stats

__all__ = [
    "ENTRY_OVERHEAD",
    "LOCK_SECONDS",
    "PREFIX",
    "Breaker",
    "Cache",
    "Entry",
    "FastPath",
    "MemoryTier",
    "RedisTier",
    "Stats",
    "cache_key",
    "entry_response",
    "etag_of",
    "make_entry",
    "mark_stale",
    "normalise_url",
    "redis_client",
    "stale_sources",
]
