"""The in-process tier of the answer cache, bounded in bytes."""

from __future__ import annotations

import threading
from collections.abc import Callable

from cachetools import LRUCache

from proxy.cache.keys import Entry

ENTRY_OVERHEAD = 512  # bytes of bookkeeping per entry, so that many tiny entries still respect the bound


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
