"""The answer cache: an in-process tier bounded in bytes, an optional shared Redis tier, and request coalescing.

Keys are made by :func:`cache_key` from a normalised backend request (or a normalised client request for whole
answers), so requests that mean the same thing share an entry.  An entry outlives its TTL by ``stale_ttl`` so that it
can still be served, marked stale, when the backend fails (stale-if-error).  Concurrent misses of one key wait for a
single producer in this process; with Redis, a short lock makes other processes wait for that producer too.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import json
import logging
import pickle
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cachetools import LRUCache

from proxy.settings import CacheSettings
from translators.errors import BackendError, BackendTimeout

log = logging.getLogger(__name__)
ENTRY_OVERHEAD = 512  # bytes of bookkeeping per entry, so that many tiny entries still respect the bound
LOCK_SECONDS = 30.0
PREFIX = "ab:"

# Per-request record of what was served stale, for the response header.
stale_sources: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("stale_sources", default=None)


def mark_stale(what: str) -> None:
    """Note that the current request was answered (partly) from a stale entry."""
    sources = stale_sources.get()
    if sources is not None and what not in sources:
        sources.append(what)


def normalise_url(url: str) -> str:
    """A backend's identity: scheme, lower-cased host, port, path and its own sorted query."""
    parts = urlsplit(url)
    query = "&".join(f"{k.lower()}={v}" for k, v in sorted(parse_qsl(parts.query, keep_blank_values=True)))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}{parts.path or '/'}?{query}"


def cache_key(namespace: str, kind: str, identity: str, params: Mapping[str, str] | Sequence[tuple[str, str]]) -> str:
    """A key for a request: names are case-insensitive, parameter order does not matter, values are kept exact
    (callers build them canonically: fixed float formatting, defaults made explicit)."""
    pairs = params.items() if isinstance(params, Mapping) else params
    canonical = "&".join(f"{k.upper()}={v}" for k, v in sorted((k.upper(), str(v)) for k, v in pairs))
    digest = hashlib.sha256(f"{identity}\n{canonical}".encode()).hexdigest()[:40]
    return f"{PREFIX}{namespace}:{kind}:{digest}"


@dataclass(frozen=True)
class Entry:
    """A cached answer."""

    body: bytes
    content_type: str
    created: float
    expires: float
    etag: str

    @property
    def fresh(self) -> bool:
        """Whether the entry is within its TTL."""
        return time.time() < self.expires

    @property
    def last_modified(self) -> str:
        """``Last-Modified`` (HTTP date) of the entry."""
        return _http_date(int(self.created))


@functools.lru_cache(maxsize=256)
def _http_date(second: int) -> str:
    return formatdate(second, usegmt=True)  # HTTP dates have whole seconds: entries of one second share the text


def make_entry(body: bytes, content_type: str, ttl: float, key: str = "") -> Entry:
    """A new entry.  Its strong ETag names this entry (key and creation time) rather than hashing the bytes: an
    entry never changes, and hashing megabytes on every miss is what a cache should save."""
    now = time.time()
    tag = hashlib.blake2b(f"{key}\n{now!r}\n{len(body)}".encode(), digest_size=16).hexdigest() if key \
        else hashlib.blake2b(body, digest_size=16).hexdigest()
    return Entry(body, content_type, now, now + ttl, f'"{tag}"')


def etag_of(body: bytes) -> str:
    """A strong ETag for bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


@dataclass
class Stats:
    """Counters of one cache."""

    hits: int = 0
    misses: int = 0
    stale: int = 0
    coalesced: int = 0
    evictions: int = 0
    shared_hits: int = 0
    shared_errors: int = 0
    backend_requests: int = 0
    by_namespace: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, namespace: str, what: str) -> None:
        """Add one to a counter, overall and for the namespace."""
        setattr(self, what, getattr(self, what) + 1)
        per = self.by_namespace.setdefault(namespace, {})
        per[what] = per.get(what, 0) + 1


class _BoundedLRU(LRUCache[str, Entry]):
    def __init__(self, maxsize: int, on_evict: Callable[[], None]) -> None:
        super().__init__(maxsize=maxsize, getsizeof=lambda e: len(e.body) + ENTRY_OVERHEAD)
        self._on_evict = on_evict

    def popitem(self) -> tuple[str, Entry]:
        item = super().popitem()
        self._on_evict()
        return item


class MemoryTier:
    """The in-process tier: least recently used entries go first once the byte bound is reached."""

    def __init__(self, max_bytes: int, on_evict: Callable[[], None]) -> None:
        self.enabled = max_bytes > ENTRY_OVERHEAD
        self._lru = _BoundedLRU(max(max_bytes, 1), on_evict)
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        """An entry, fresh or stale."""
        if not self.enabled:
            return None
        with self._lock:
            return self._lru.get(key)

    def put(self, key: str, entry: Entry) -> None:
        """Store an entry (too large ones are not kept)."""
        if not self.enabled or len(entry.body) + ENTRY_OVERHEAD > self._lru.maxsize:
            return
        with self._lock:
            self._lru[key] = entry

    def drop(self, prefix: str) -> int:
        """Remove every entry whose key starts with ``prefix``."""
        with self._lock:
            keys = [k for k in self._lru if k.startswith(prefix)]
            for key in keys:
                del self._lru[key]
        return len(keys)

    @property
    def bytes(self) -> int:
        """Bytes held (bodies plus bookkeeping)."""
        return int(self._lru.currsize)

    def __len__(self) -> int:
        return len(self._lru)


def redis_client(url: str) -> Any:
    """A redis.asyncio client for ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://h1:p,h2:p/master/db``
    or ``redis+cluster://host:port`` URLs."""
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.sentinel import Sentinel

    parts = urlsplit(url)
    if parts.scheme.endswith("+sentinel"):
        hosts = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1]) if ":" in h else 26379)
                 for h in parts.netloc.split("@")[-1].split(",")]
        path = [p for p in parts.path.split("/") if p]
        if not path:
            raise ValueError("a sentinel URL names the master: redis+sentinel://host:port/master[/db]")
        db = int(path[1]) if len(path) > 1 else 0
        sentinel = Sentinel(hosts, password=parts.password,  # type: ignore[no-untyped-call]
                            ssl=parts.scheme.startswith("rediss"))
        return sentinel.master_for(path[0], db=db, password=parts.password)
    if parts.scheme.endswith("+cluster"):
        return RedisCluster.from_url(url.replace("+cluster", "", 1))
    return aioredis.from_url(url)


class RedisTier:
    """The shared tier: entries as a JSON header line followed by the body; the gateway's own parsed capabilities
    and descriptions pickled (only arcbridge writes them)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.client = redis_client(url)

    @staticmethod
    def _encode(entry: Entry) -> bytes:
        header = json.dumps({k: v for k, v in asdict(entry).items() if k != "body"}).encode()
        return header + b"\n" + entry.body

    @staticmethod
    def _decode(blob: bytes) -> Entry | None:
        header, sep, body = blob.partition(b"\n")
        if not sep:
            return None
        meta = json.loads(header)
        return Entry(body, meta["content_type"], meta["created"], meta["expires"], meta["etag"])

    async def get(self, key: str) -> Entry | None:
        """An entry from Redis."""
        blob = await self.client.get(key)
        return self._decode(blob) if blob else None

    async def put(self, key: str, entry: Entry, keep: float) -> None:
        """Store an entry, kept ``keep`` seconds."""
        await self.client.set(key, self._encode(entry), px=max(1, int(keep * 1000)))

    async def lock(self, key: str, seconds: float) -> bool:
        """Take a short lock for producing ``key``; False when another process holds it."""
        return bool(await self.client.set(f"{key}:lock", b"1", nx=True, px=int(seconds * 1000)))

    async def unlock(self, key: str) -> None:
        """Release the production lock."""
        await self.client.delete(f"{key}:lock")

    async def drop(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``."""
        count = 0
        async for key in self.client.scan_iter(match=f"{prefix}*", count=500):
            count += await self.client.delete(key)
        return count

    async def get_object(self, key: str) -> Any:
        """A pickled object of this gateway's own (capabilities, descriptions)."""
        blob = await self.client.get(key)
        return pickle.loads(blob) if blob else None  # written by arcbridge itself, never by a client

    async def put_object(self, key: str, value: Any, keep: float) -> None:
        """Store an object of this gateway's own."""
        await self.client.set(key, pickle.dumps(value), px=max(1, int(keep * 1000)))

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


class Cache:
    """Both tiers, coalescing and statistics."""

    def __init__(self, settings: CacheSettings) -> None:
        self.settings = settings
        self.stats = Stats()
        self.memory = MemoryTier(settings.memory_bytes, self._evicted)
        self.shared = RedisTier(settings.redis_url) if settings.redis_url else None
        self._inflight: dict[str, asyncio.Future[Entry]] = {}

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
        locked = False
        if self.shared is not None:
            try:
                locked = await self.shared.lock(key, LOCK_SECONDS)
                if not locked:
                    # Another process is producing this key: wait for its entry rather than ask the backend again.
                    deadline = time.monotonic() + LOCK_SECONDS
                    while time.monotonic() < deadline:
                        await asyncio.sleep(0.02)
                        found = await self.shared.get(key)
                        if found is not None and found.fresh:
                            self.memory.put(key, found)
                            self.stats.count(namespace, "coalesced")
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

    async def purge(self, namespace: str) -> int:
        """Drop every entry of a namespace (a service) from both tiers."""
        prefix = f"{PREFIX}{namespace}:"
        count = self.memory.drop(prefix)
        if self.shared is not None:
            count += await self.shared.drop(prefix)
        return count

    def snapshot(self) -> dict[str, Any]:
        """Statistics for the stats endpoint and the logs."""
        s = self.stats
        return {
            "hits": s.hits, "misses": s.misses, "coalesced": s.coalesced, "stale": s.stale,
            "evictions": s.evictions, "backendRequests": s.backend_requests,
            "memory": {"entries": len(self.memory), "bytes": self.memory.bytes,
                       "maxBytes": self.settings.memory_bytes},
            "shared": {"url": _redacted(self.shared.url), "hits": s.shared_hits, "errors": s.shared_errors}
            if self.shared is not None else None,
            "services": s.by_namespace,
        }


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
