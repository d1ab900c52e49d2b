"""The shared tier of the answer cache: Redis (single server, Sentinel or Cluster), shared by every process."""

from __future__ import annotations

import json
import pickle
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit

from proxy.cache.keys import Entry


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

    @property
    def redacted_url(self) -> str:
        """The URL with its password masked, for statistics and logs."""
        parts = urlsplit(self.url)
        if parts.password:
            return self.url.replace(f":{parts.password}@", ":***@")
        return self.url

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
