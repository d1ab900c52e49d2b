"""The thread pool for CPU work (decode, warp, encode, parse), typed so that results keep their types.

Image and raster work runs off the event loop: numpy, GDAL and Pillow release the GIL, so one thread per core keeps
the cores busy without holding more memory than needed.  Callers get :class:`RunCpu`, a callable that runs a pure
function there with its arguments checked against its signature and its result typed as the function's.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


class RunCpu(Protocol):
    """Run ``func(*args, **kwargs)`` in the CPU pool and await its result."""

    def __call__(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R]:
        """Run ``func`` off the event loop."""
        ...


POOL_THREADS = max(2, os.cpu_count() or 2)  # one per core, at least two


class CpuPool:
    """A thread pool started and stopped with the application; :meth:`run` is its :class:`RunCpu`."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        """Create the threads (one per core, at least two)."""
        self._executor = ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="arcbridge")

    def shutdown(self) -> None:
        """Stop the threads without waiting for queued work."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def run(self, func: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Run ``func`` in the pool (started lazily when the application did not start it: tools, tests)."""
        if self._executor is None:
            self.start()
        return await asyncio.get_running_loop().run_in_executor(self._executor, partial(func, *args, **kwargs))
