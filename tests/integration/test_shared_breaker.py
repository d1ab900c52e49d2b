"""The shared tier against a real redis-server that hangs (SIGSTOP, as a network partition looks): one short timeout,
then the breaker skips Redis until it answers again."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from proxy.backends.refresh import Refreshing
from proxy.cache import Cache
from proxy.cache.cache import LOCK_SECONDS, SharedTierUnavailable
from proxy.outputs import OutputStore
from proxy.settings import CacheSettings
from tests.redis_server import RedisServer
from translators.errors import BackendError

TIMEOUT = 0.3
COOLDOWN = 1.0


@pytest.fixture
async def cache(own_redis: RedisServer) -> AsyncIterator[Cache]:
    cache = Cache(CacheSettings(memory_bytes=1_000_000, redis_url=own_redis.url, redis_timeout=TIMEOUT,
                                redis_cooldown=COOLDOWN))
    yield cache
    own_redis.resume()  # closing the pool must not wait for a stopped server
    await cache.close()


async def fetch(cache: Cache, key: str, calls: list[str]) -> tuple[bytes, str, float]:
    async def produce() -> tuple[bytes, str]:
        calls.append(key)
        return f"body of {key}".encode(), "image/png"

    start = time.monotonic()
    entry, status = await cache.fetch(f"ab:svc:answer:{key}", "svc", 60, produce)
    return entry.body, status, time.monotonic() - start


async def test_a_hung_redis_costs_one_timeout_then_nothing_until_it_is_back(
        cache: Cache, own_redis: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "proxy.cache")
    calls: list[str] = []
    assert (await fetch(cache, "warm", calls))[:2] == (b"body of warm", "miss")
    own_redis.hang()
    body, status, first = await fetch(cache, "first", calls)
    assert (body, status) == (b"body of first", "miss")  # answered from the produce function
    assert first < TIMEOUT + 0.4  # one timeout (redis-py's defaults: 5 s sockets, three retries: ~15 s)
    start = time.monotonic()
    results = [await fetch(cache, f"k{i}", calls) for i in range(20)]
    assert time.monotonic() - start < 1.0  # skipped at once: no call waits for the stopped server
    assert [r[:2] for r in results] == [(f"body of k{i}".encode(), "miss") for i in range(20)]
    shared = cache.snapshot()["shared"]
    assert shared["state"] == "open" and shared["skipped"] >= 40 and shared["opened"] == 1
    assert shared["lastFailure"] is not None and shared["openUntil"] > shared["lastFailure"]
    assert {"url", "hits", "errors"} <= set(shared) and shared["errors"] >= 1  # the keys it had before
    # Back: after the cool-down one call probes, succeeds and closes the breaker; Redis serves hits again.
    own_redis.resume()
    await asyncio.sleep(COOLDOWN + 0.1)
    assert (await fetch(cache, "after", calls))[:2] == (b"body of after", "miss")
    assert cache.snapshot()["shared"]["state"] == "closed"
    cache.memory.drop("ab:")
    hits_before = cache.stats.shared_hits
    assert (await fetch(cache, "after", calls))[:2] == (b"body of after", "hit")
    assert cache.stats.shared_hits == hits_before + 1
    assert calls.count("after") == 1
    breaker_lines = [r.getMessage() for r in caplog.records if "breaker" in r.getMessage()]
    assert len(breaker_lines) == 2, breaker_lines  # one line when it opens, one when it closes: not per request
    assert "breaker open" in breaker_lines[0] and "breaker closed" in breaker_lines[1]


async def test_a_probe_during_the_hang_is_the_only_call_that_waits(cache: Cache, own_redis: RedisServer) -> None:
    calls: list[str] = []
    own_redis.hang()
    await fetch(cache, "trip", calls)
    assert cache.snapshot()["shared"]["state"] == "open"
    await asyncio.sleep(COOLDOWN + 0.1)
    results = await asyncio.gather(*(fetch(cache, f"c{i}", calls) for i in range(10)))
    took = sorted(seconds for _, _, seconds in results)
    assert all(status == "miss" for _, status, _ in results)
    assert took[-2] < 0.1 and took[-1] < TIMEOUT + 0.4  # one probe waits (once), the nine others do not
    assert cache.snapshot()["shared"]["state"] == "open" and cache.snapshot()["shared"]["opened"] == 2


async def test_waiting_for_another_processs_producer_ends_when_redis_hangs(cache: Cache,
                                                                           own_redis: RedisServer) -> None:
    assert cache.shared is not None
    for i in range(3):  # another process holds the production locks of these keys
        assert await cache.shared.lock(f"ab:svc:answer:held{i}", LOCK_SECONDS)
    calls: list[str] = []
    waiting = [asyncio.create_task(fetch(cache, f"held{i}", calls)) for i in range(3)]
    await asyncio.sleep(0.2)
    assert not any(task.done() for task in waiting)  # polling Redis for the other producer's entry
    own_redis.hang()
    start = time.monotonic()
    results = await asyncio.wait_for(asyncio.gather(*waiting), 5)
    assert time.monotonic() - start < TIMEOUT + 0.4  # all give up with the breaker, none waits LOCK_SECONDS
    assert [r[:2] for r in results] == [(f"body of held{i}".encode(), "miss") for i in range(3)]


async def test_every_user_of_the_shared_tier_is_bounded(cache: Cache, own_redis: RedisServer) -> None:
    shared = cache.shared
    assert shared is not None
    await shared.put_object("ab:caps", {"layers": 3}, 60)
    own_redis.hang()
    start = time.monotonic()
    with pytest.raises(TimeoutError):  # the first call fails (and is counted by its caller) within the timeout
        await shared.get_object("ab:caps")
    assert time.monotonic() - start < TIMEOUT + 0.2
    start = time.monotonic()
    assert await shared.get_object("ab:caps") is None
    await shared.put_object("ab:caps", {"layers": 4}, 60)
    assert await shared.lock("ab:svc:answer:x", LOCK_SECONDS) is None  # nobody to wait for: produce unlocked
    await shared.unlock("ab:svc:answer:x")
    with pytest.raises(SharedTierUnavailable) as purge:  # a purge must not pretend: Redis keeps its entries
        await cache.purge("svc")
    assert purge.value.status == 503 and "circuit breaker open" in purge.value.details[0]
    assert await cache.get("ab:svc:answer:x") is None
    assert time.monotonic() - start < 0.1
    assert shared.breaker.skipped == 6


async def test_outputs_and_refreshed_values_do_not_wait_for_a_hung_redis(cache: Cache,
                                                                         own_redis: RedisServer) -> None:
    assert cache.shared is not None
    other = OutputStore(60, 1_000_000, cache.shared)  # another process's store: only Redis links the two
    store = OutputStore(60, 1_000_000, cache.shared)
    name = await store.put(b"png bytes", "image/png", "png")
    shared_output = await other.get(name)
    assert shared_output is not None and shared_output.body == b"png bytes"
    fetched: list[int] = []

    async def capabilities() -> dict[str, int]:
        fetched.append(1)
        if len(fetched) > 1:
            raise BackendError("down")
        return {"layers": 3}

    refreshing = Refreshing(capabilities, 60, cache, "ab:caps:x", "capabilities")
    assert await refreshing.get() == {"layers": 3}  # kept in Redis as the fallback for other processes
    own_redis.hang()
    start = time.monotonic()
    late = await store.put(b"later", "image/png", "png")  # this one times out and opens the breaker
    assert (await store.get(late)) is not None and await other.get(late) is None
    again = Refreshing(capabilities, 60, cache, "ab:caps:x", "capabilities")  # a restart with the backend down
    with pytest.raises(BackendError):
        await again.get()  # the shared copy is out of reach: the backend's error, at once
    fresh = Refreshing(capabilities, 60, cache, "ab:caps:y", "capabilities")
    fetched.clear()
    assert await fresh.get() == {"layers": 3}  # storing it is skipped
    assert time.monotonic() - start < TIMEOUT + 0.3
    assert cache.shared.breaker.skipped >= 3
