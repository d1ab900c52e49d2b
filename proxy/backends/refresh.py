"""A value fetched from a backend (capabilities, coverage descriptions) kept fresh in the background.

The first use waits for the backend; afterwards the cached value is answered at once and refreshed by a background
task once its TTL has passed.  When the backend fails, the last good value keeps being served and the request is
marked stale; with a shared tier the value also survives restarts of the gateway and reaches other processes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from proxy.cache import Cache, mark_stale
from translators.errors import ArcGISError

log = logging.getLogger(__name__)
T = TypeVar("T")
KEEP_SECONDS = 30 * 86400.0


class Refreshing(Generic[T]):
    """One refreshed value."""

    def __init__(self, fetch: Callable[[], Awaitable[T]], ttl: float, cache: Cache, key: str, label: str) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._cache = cache
        self._key = key
        self._label = label
        self._value: T | None = None
        self._time = 0.0
        self._failed = False
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def value(self) -> T | None:
        """The current value, if any."""
        return self._value

    async def get(self) -> T:
        """The value; fetched on first use, refreshed in the background when older than its TTL."""
        if self._value is not None:
            if time.monotonic() - self._time >= self._ttl and (self._task is None or self._task.done()):
                self._task = asyncio.create_task(self._refresh())
            if self._failed:
                mark_stale(self._label)
            return self._value
        async with self._lock:
            if self._value is not None:
                return self._value
            try:
                await self._load()
            except ArcGISError:
                stored = await self._stored()
                if stored is None:
                    raise
                log.warning("%s: backend unavailable, serving the copy from the shared cache", self._label)
                self._value, self._time, self._failed = stored, time.monotonic(), True
                mark_stale(self._label)
            assert self._value is not None
            return self._value

    async def _load(self) -> None:
        value = await self._fetch()
        self._value, self._time, self._failed = value, time.monotonic(), False
        if self._cache.shared is not None:
            try:
                await self._cache.shared.put_object(self._key, value, KEEP_SECONDS)
            except Exception as exc:  # the shared copy is a fallback only
                log.warning("%s: could not store in the shared cache: %s", self._label, exc)

    async def _stored(self) -> T | None:
        if self._cache.shared is None:
            return None
        try:
            value: T | None = await self._cache.shared.get_object(self._key)
            return value
        except Exception as exc:
            log.warning("%s: shared cache unavailable: %s", self._label, exc)
            return None

    async def _refresh(self) -> None:
        try:
            await self._load()
        except ArcGISError as exc:
            # Keep serving the last good value (stale-if-error) and try again after another TTL.
            self._time, self._failed = time.monotonic(), True
            log.warning("%s: refresh failed, serving the cached copy: %s", self._label, exc.message)
        except Exception:
            self._time, self._failed = time.monotonic(), True
            log.exception("%s: refresh failed", self._label)
