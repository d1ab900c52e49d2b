"""The answer cache: both tiers, request coalescing, stale-if-error and statistics.

An entry outlives its TTL by ``stale_ttl`` so that it can still be served, marked stale, when the backend fails
(stale-if-error).  Concurrent misses of one key wait for a single producer in this process; with Redis, a short lock
makes other processes wait for that producer too.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from proxy.cache.fast import FastPath
from proxy.cache.keys import PREFIX, Entry, make_entry
from proxy.cache.memory import MemoryTier
from proxy.cache.shared import RedisTier
from proxy.cache.stats import Stats
from proxy.settings import CacheSettings
from translators.errors import ArcGISError, BackendError, BackendTimeout

log = logging.getLogger("proxy.cache")  # the name the log lines carried before the cache became a package
LOCK_SECONDS = 30.0

# Per-request record of what was served stale, for the response header.
stale_sources: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("stale_sources", default=None)


def mark_stale(what: str) -> None:
    """Note that the current request was answered (partly) from a stale entry."""
    sources = stale_sources.get()
    if sources is not None and what not in sources:
        sources.append(what)


class SharedTierUnavailable(ArcGISError, status=503,
                            message="The memory tier was purged but the shared cache (Redis) could not be reached: "
                                    "purge again once it is back."):
    """A purge that could not reach the shared tier (its entries would be served again once Redis is back)."""


class Cache:
    """Both tiers, coalescing, statistics, and the fast path for URLs answered from the memory tier."""

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.stats = Stats()
        self.memory = MemoryTier(settings.memory_bytes, self._evicted)
        self.shared = (RedisTier(settings.redis_url, settings.redis_timeout, settings.redis_cooldown)
                       if settings.redis_url else None)
        self.fast = FastPath(self.memory, self.stats)
        self._inflight: dict[str, asyncio.Future[Entry]] = {}
        self._users = 0  # applications using this cache: a reload hands it from the old one to the new one

    def acquire(self) -> None:
        """An application starts using the cache."""
        self._users += 1

    async def release(self) -> None:
        """An application stops using the cache; the last one closes it."""
        self._users -= 1
        if self._users <= 0:
            await self.close()

    def carry_over(self, settings: CacheSettings, changed: list[str], every_url: bool = False) -> bool:
        """Keep this cache for a reloaded configuration whose cache settings are these (the log interval aside):
        the entries of the ``changed`` services (namespaces) are dropped from the memory tier, and the fast path
        forgets their URLs (``every_url``: all of them, when what admits a request changed).  False (nothing
        done) when the cache settings differ: the new configuration starts a cache of its own."""
        if replace(settings, log_interval=0) != replace(self.settings, log_interval=0):
            return False
        for namespace in changed:
            self.memory.drop(f"{PREFIX}{namespace}:")
        self.fast.forget(None if every_url else set(changed))
        self.settings = settings
        return True

    def _evicted(self) -> None:
        self.stats.evictions += 1

    def count_backend_request(self) -> None:
        """Count one HTTP request made to a backend."""
        self.stats.backend_requests += 1

    async def close(self) -> None:
        """Close the shared tier."""
        if self.shared is not None:
            await self.shared.close()

    async def get(self, key: str) -> Entry | None:
        """An entry (fresh or stale) from the memory tier, else the shared tier (then kept in memory too)."""
        entry = self.memory.get(key)
        if entry is not None or self.shared is None:
            return entry
        try:
            entry = await self.shared.get(key)
        except Exception as exc:  # the shared tier is an optimisation: its failure must not fail a request
            self.stats.shared_errors += 1
            log.warning("redis get failed: %s", exc)
            return None
        if entry is not None:
            self.stats.shared_hits += 1
            self.memory.put(key, entry)
        return entry

    async def put(self, key: str, entry: Entry) -> None:
        """Store in both tiers."""
        self.memory.put(key, entry)
        if self.shared is not None:
            try:
                await self.shared.put(key, entry, entry.expires - time.time() + self.settings.stale_ttl)
            except Exception as exc:
                self.stats.shared_errors += 1
                log.warning("redis set failed: %s", exc)

    async def lookup(self, key: str, namespace: str) -> Entry | None:
        """A fresh entry, counted as a hit, or None (not counted)."""
        entry = await self.get(key)
        if entry is not None and entry.fresh:
            self.stats.count(namespace, "hits")
            return entry
        return None

    async def fetch(self, key: str, namespace: str, ttl: float,
                    produce: Callable[[], Awaitable[tuple[bytes, str]]]) -> tuple[Entry, str]:
        """The entry for ``key``: fresh from a tier ("hit"), shared with a concurrent producer ("coalesced"),
        produced now ("miss"), or stale when producing failed ("stale")."""
        if ttl <= 0:
            body, content_type = await produce()
            return make_entry(body, content_type, 0), "miss"
        cached = await self.get(key)
        if cached is not None and cached.fresh:
            self.stats.count(namespace, "hits")
            return cached, "hit"
        pending = self._inflight.get(key)
        if pending is not None:
            self.stats.count(namespace, "coalesced")
            return await asyncio.shield(pending), "coalesced"
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            entry, status = await self._produce(key, namespace, ttl, produce, cached)
            future.set_result(entry)
            return entry, status
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # consumed here: waiters re-raise it themselves
            raise
        finally:
            del self._inflight[key]

    async def _produce(self, key: str, namespace: str, ttl: float,
                       produce: Callable[[], Awaitable[tuple[bytes, str]]], stale: Entry | None) -> tuple[Entry, str]:
        locked: bool | None = None
        if self.shared is not None:
            try:
                locked = await self.shared.lock(key, LOCK_SECONDS)
                if locked is False:
                    found = await self._wait_for_other(key, namespace)
                    if found is not None:
                        return found, "coalesced"
            except Exception as exc:
                self.stats.shared_errors += 1
                log.warning("redis lock failed: %s", exc)
        try:
            self.stats.count(namespace, "misses")
            try:
                body, content_type = await produce()
            except (BackendError, BackendTimeout):
                if stale is not None and stale.created + ttl + self.settings.stale_ttl > time.time():
                    self.stats.count(namespace, "stale")
                    mark_stale(namespace)
                    return stale, "stale"
                raise
            entry = make_entry(body, content_type, ttl, key)
            await self.put(key, entry)
            return entry, "miss"
        finally:
            if locked and self.shared is not None:
                try:
                    await self.shared.unlock(key)
                except Exception:  # the lock expires by itself
                    self.stats.shared_errors += 1

    async def _wait_for_other(self, key: str, namespace: str) -> Entry | None:
        """Another process is producing ``key``: wait for its entry rather than ask the backend again — but only
        while the shared tier is up (a breaker that opens meanwhile ends the wait at once: produce here)."""
        assert self.shared is not None
        deadline = time.monotonic() + LOCK_SECONDS
        while time.monotonic() < deadline and self.shared.available:
            await asyncio.sleep(0.02)
            found = await self.shared.get(key)
            if found is not None and found.fresh:
                self.memory.put(key, found)
                self.stats.count(namespace, "coalesced")
                return found
        return None

    async def purge(self, namespace: str) -> int:
        """Drop every entry of a namespace (a service) from both tiers."""
        prefix = f"{PREFIX}{namespace}:"
        count = self.memory.drop(prefix)
        if self.shared is not None:
            try:
                count += await self.shared.drop(prefix)
            except Exception as exc:  # bounded by the tier's timeout and breaker: says so at once
                self.stats.shared_errors += 1
                log.warning("redis purge of %s failed: %s", prefix, exc)
                raise SharedTierUnavailable(details=[str(exc) or type(exc).__name__]) from exc
        return count

    def snapshot(self) -> dict[str, Any]:
        """Statistics for the stats endpoint and the logs."""
        s = self.stats
        return {
            "hits": s.hits, "misses": s.misses, "coalesced": s.coalesced, "stale": s.stale,
            "evictions": s.evictions, "backendRequests": s.backend_requests,
            "memory": {"entries": len(self.memory), "bytes": self.memory.bytes,
                       "maxBytes": self.settings.memory_bytes},
            "shared": {"url": self.shared.redacted_url, "hits": s.shared_hits, "errors": s.shared_errors,
                       **self.shared.snapshot()}
            if self.shared is not None else None,
            "services": s.by_namespace,
        }

