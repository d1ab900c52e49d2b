"""The shared tier of the answer cache: Redis (single server, Sentinel or Cluster), shared by every process."""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from functools import partial
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

from proxy.cache.breaker import Breaker
from proxy.cache.keys import Entry

T = TypeVar("T")
SKIPPED: Final = object()  # what a skipped call answers where None is a real answer


def _sentinel_target(url: str) -> tuple[list[tuple[str, int]], str, int]:
    """The sentinels (host, port), the master's name and the db of a ``redis+sentinel://`` URL."""
    parts = urlsplit(url)
    hosts = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1]) if ":" in h else 26379)
             for h in parts.netloc.split("@")[-1].split(",")]
    if not all(0 < port < 65536 for _, port in hosts):
        raise ValueError("a sentinel's port is out of range 1-65535")
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("a sentinel URL names the master: redis+sentinel://host:port/master[/db]")
    return hosts, path[0], int(path[1]) if len(path) > 1 else 0


def check_redis_url(url: str) -> None:
    """Raise a ValueError saying why ``url`` cannot make a client (:func:`redis_client` would raise it at start);
    nothing is connected."""
    if urlsplit(url).scheme.endswith("+sentinel"):
        _sentinel_target(url)
    else:
        from redis.asyncio.connection import parse_url
        parse_url(url.replace("+cluster", "", 1))


def redis_client(url: str, timeout: float = 5.0) -> Any:
    """A redis.asyncio client for ``redis://``, ``rediss://``, ``unix://``, ``redis+sentinel://h1:p,h2:p/master/db``
    or ``redis+cluster://host:port`` URLs, whose connects and reads give up after ``timeout`` seconds.

    redis-py's default (5 s socket timeouts, three retries with backoff) makes a hung server cost ~15 s a call; one
    immediate retry is kept so that a pooled connection dropped by a Redis restart is simply opened again.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.asyncio.sentinel import Sentinel
    from redis.backoff import NoBackoff

    limits: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                              "retry": Retry(NoBackoff(), 1)}  # type: ignore[no-untyped-call]
    parts = urlsplit(url)
    if parts.scheme.endswith("+sentinel"):
        hosts, master, db = _sentinel_target(url)
        sentinel = Sentinel(hosts, password=parts.password,  # type: ignore[no-untyped-call]
                            ssl=parts.scheme.startswith("rediss"), sentinel_kwargs=dict(limits), **limits)
        return sentinel.master_for(master, db=db, password=parts.password)
    if parts.scheme.endswith("+cluster"):
        return RedisCluster.from_url(url.replace("+cluster", "", 1), **limits)
    return aioredis.from_url(url, **limits)


class RedisTier:
    """The shared tier: entries as a JSON header line followed by the body; the gateway's own parsed capabilities
    and descriptions pickled (only arcbridge writes them).

    Every call is bounded by ``timeout`` seconds and goes through one :class:`Breaker`: while it is open, a call is
    skipped at once and answers as a miss (``get``), a no-op (``put``, ``unlock``) or "no lock to take" (``lock`` →
    None); only ``drop`` raises.  A call that fails raises, as before, after opening the breaker.
    """

    def __init__(self, url: str, timeout: float = 0.3, cooldown: float = 5.0) -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError

        self.url = url
        self.timeout = timeout
        self.client = redis_client(url, timeout)
        self.breaker = Breaker(cooldown, f"shared cache {self.redacted_url}")
        # What says the server is out of reach (asyncio's TimeoutError is an OSError); anything else it answered.
        self._unreachable: tuple[type[BaseException], ...] = (OSError, RedisConnectionError, RedisTimeoutError)

    @property
    def redacted_url(self) -> str:
        """The URL with its password masked, for statistics and logs."""
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(f":{parts.password}@", ":***@")
        return self.url

    @property
    def available(self) -> bool:
        """False while the breaker is open or probing: loops that poll the tier stop at once."""
        return self.breaker.state == "closed"

    async def _call(self, call: Callable[[], Awaitable[T]], skipped: T) -> T:
        """``call()`` within the timeout and through the breaker; ``skipped`` when the breaker skips it."""
        admitted = self.breaker.admit()
        if admitted is None:
            return skipped
        try:
            async with asyncio.timeout(self.timeout):  # socket timeouts alone do not bound connects + retries
                result = await call()
        except self._unreachable as exc:
            self.breaker.failure(admitted, exc)
            raise
        except Exception:
            self.breaker.success(admitted)  # an error answered by the server: it is reachable
            raise
        except BaseException:
            self.breaker.abandon(admitted)
            raise
        self.breaker.success(admitted)
        return result

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
        """An entry from Redis (None when absent or skipped)."""
        blob: bytes | None = await self._call(lambda: self.client.get(key), None)
        return self._decode(blob) if blob else None

    async def put(self, key: str, entry: Entry, keep: float) -> None:
        """Store an entry, kept ``keep`` seconds."""
        blob = self._encode(entry)
        await self._call(lambda: self.client.set(key, blob, px=max(1, int(keep * 1000))), None)

    async def lock(self, key: str, seconds: float) -> bool | None:
        """Take a short lock for producing ``key``: True when taken, False when another process holds it, None
        when the tier is skipped (nobody can be waited for: produce without a lock)."""
        taken = await self._call(lambda: self.client.set(f"{key}:lock", b"1", nx=True, px=int(seconds * 1000)),
                                 SKIPPED)
        return None if taken is SKIPPED else bool(taken)  # SET NX answers None, not False, when the key is held

    async def unlock(self, key: str) -> None:
        """Release the production lock."""
        await self._call(lambda: self.client.delete(f"{key}:lock"), None)

    async def drop(self, prefix: str) -> int:
        """Delete every key starting with ``prefix`` (each SCAN and DELETE bounded by the timeout).

        Unlike the other calls, a purge skipped by the breaker raises: entries left in Redis would be served again
        once it is back, so whoever asked for the purge must know it did not happen.
        """
        count, cursor = 0, 0
        while True:
            scanned: Any = await self._call(partial(self.client.scan, cursor, match=f"{prefix}*", count=500), SKIPPED)
            if scanned is SKIPPED:
                raise ConnectionError(f"{self.redacted_url} is unreachable (circuit breaker {self.breaker.state})")
            cursor, keys = scanned
            if keys:
                count += await self._call(partial(self.client.delete, *keys), 0)
            if not cursor:
                return count

    async def get_object(self, key: str) -> Any:
        """A pickled object of this gateway's own (capabilities, descriptions); None when absent or skipped."""
        blob = await self._call(lambda: self.client.get(key), None)
        return pickle.loads(blob) if blob else None  # written by arcbridge itself, never by a client

    async def put_object(self, key: str, value: Any, keep: float) -> None:
        """Store an object of this gateway's own."""
        blob = pickle.dumps(value)
        await self._call(lambda: self.client.set(key, blob, px=max(1, int(keep * 1000))), None)

    def snapshot(self) -> dict[str, Any]:
        """The breaker's state for the statistics."""
        return self.breaker.snapshot()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()
