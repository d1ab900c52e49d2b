"""Exported images kept for a while so that ``f=json`` answers can point at them with a plain ``href``."""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass

from cachetools import TTLCache

from proxy.cache import PREFIX, RedisTier, make_entry

log = logging.getLogger(__name__)
SHARED_PREFIX = f"{PREFIX}outputs:"


@dataclass(frozen=True)
class Output:
    """One stored file."""

    body: bytes
    content_type: str


class OutputStore:
    """An in-memory store bounded in bytes, each entry living ``ttl`` seconds; with a shared tier the files are
    also kept there, so that an ``href`` made by one gateway process is served by every other."""

    def __init__(self, ttl: float, max_bytes: int, shared: RedisTier | None = None) -> None:
        self.ttl = ttl
        self.shared = shared
        self._cache: TTLCache[str, Output] = TTLCache(maxsize=max_bytes, ttl=ttl, getsizeof=lambda o: len(o.body) + 1)
        self._lock = threading.Lock()

    async def put(self, body: bytes, content_type: str, extension: str) -> str:
        """Store a file and return its name (``_ags_map<random>.<ext>``)."""
        name = f"_ags_map{secrets.token_hex(16)}.{extension}"
        with self._lock:
            self._cache[name] = Output(body, content_type)
        if self.shared is not None:
            try:
                await self.shared.put(SHARED_PREFIX + name, make_entry(body, content_type, self.ttl, name),
                                        self.ttl)
            except Exception as exc:  # the local copy still serves this process
                log.warning("could not share output %s: %s", name, exc)
        return name

    async def get(self, name: str) -> Output | None:
        """Return a stored file or None when unknown or expired."""
        with self._lock:
            found = self._cache.get(name)
        if found is not None or self.shared is None:
            return found
        try:
            entry = await self.shared.get(SHARED_PREFIX + name)
        except Exception as exc:
            log.warning("could not read shared output %s: %s", name, exc)
            return None
        return Output(entry.body, entry.content_type) if entry is not None else None
