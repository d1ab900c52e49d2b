"""A process-wide memory budget for image work: requests wait their turn rather than add up past the bound.

Each image request's working memory is estimated from its plan (:mod:`translators.limits`) and is refused beyond
``limits.maxMemory``; what a single request may take, several may still take together.  So image work first holds its
estimate here, and waits while the estimates of the work under way would exceed the budget: light requests run side by
side, heavy ones one after the other, and the process's image memory stays within one budget however many arrive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class MemoryBudget:
    """Bytes held by image work under way, at most ``capacity`` at once."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.held = 0
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def hold(self, estimate: int) -> AsyncIterator[None]:
        """Hold ``estimate`` bytes (at most the capacity) while the block runs, waiting until they fit."""
        amount = max(0, min(estimate, self.capacity))
        async with self._changed:
            await self._changed.wait_for(lambda: self.held + amount <= self.capacity)
            self.held += amount
        try:
            yield
        finally:
            async with self._changed:
                self.held -= amount
                self._changed.notify_all()
