"""Exported images kept for a while so that ``f=json`` answers can point at them with a plain ``href``."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from cachetools import TTLCache


@dataclass(frozen=True)
class Output:
    """One stored file."""

    body: bytes
    content_type: str


class OutputStore:
    """An in-memory store bounded in bytes, each entry living ``ttl`` seconds."""

    def __init__(self, ttl: float, max_bytes: int) -> None:
        self._cache: TTLCache[str, Output] = TTLCache(maxsize=max_bytes, ttl=ttl, getsizeof=lambda o: len(o.body) + 1)
        self._lock = threading.Lock()

    def put(self, body: bytes, content_type: str, extension: str) -> str:
        """Store a file and return its name (``_ags_map<random>.<ext>``)."""
        name = f"_ags_map{secrets.token_hex(16)}.{extension}"
        with self._lock:
            self._cache[name] = Output(body, content_type)
        return name

    def get(self, name: str) -> Output | None:
        """Return a stored file or None when unknown or expired."""
        with self._lock:
            return self._cache.get(name)
