"""The cache on its own: keys, byte bounds, TTL and stale entries, coalescing."""

from __future__ import annotations

import asyncio
import time

import pytest

from proxy.cache import Breaker, Cache, MemoryTier, cache_key, make_entry, normalise_url
from proxy.settings import CacheSettings, ConfigError, parse_settings
from translators.errors import BackendError, BackendTimeout, InvalidParameter


def test_keys_same_meaning_same_entry() -> None:
    a = cache_key("svc", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b"})
    b = cache_key("svc", "map", "http://h/ows", [("layers", "a,b"), ("width", "256"), ("bbox", "0,0,1,1")])
    assert a == b


@pytest.mark.parametrize(
    "other",
    [
        ("svc", "map", "http://h/ows", {"BBOX": "0,0,1,2", "WIDTH": "256", "LAYERS": "a,b"}),
        ("svc", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "257", "LAYERS": "a,b"}),
        ("svc", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "b,a"}),
        ("svc", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b", "TIME": "2020"}),
        ("svc", "map", "http://other/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b"}),
        ("svc2", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b"}),
        ("svc", "coverage", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b"}),
    ],
)
def test_keys_any_difference_different_entry(other: tuple) -> None:  # type: ignore[type-arg]
    base = cache_key("svc", "map", "http://h/ows", {"BBOX": "0,0,1,1", "WIDTH": "256", "LAYERS": "a,b"})
    assert cache_key(*other) != base


def test_backend_identity() -> None:
    assert normalise_url("http://HOST/ows?map=b&x=1") == normalise_url("http://host:80/ows?x=1&map=b")
    assert normalise_url("http://host/ows?map=a") != normalise_url("http://host/ows?map=b")


def test_memory_tier_is_bounded_in_bytes_and_counts_evictions() -> None:
    evicted: list[int] = []
    tier = MemoryTier(10_000, lambda: evicted.append(1))
    for i in range(20):
        tier.put(f"k{i}", make_entry(b"x" * 1000, "image/png", 60))
    assert tier.bytes <= 10_000
    assert len(evicted) == 20 - len(tier)
    assert tier.get("k19") is not None and tier.get("k0") is None
    tier.put("huge", make_entry(b"x" * 20_000, "image/png", 60))
    assert tier.get("huge") is None  # larger than the whole tier: not kept


def test_drop_by_prefix() -> None:
    tier = MemoryTier(100_000, lambda: None)
    for name in ("ab:a:map:1", "ab:a:map:2", "ab:b:map:1"):
        tier.put(name, make_entry(b"x", "image/png", 60))
    assert tier.drop("ab:a:") == 2
    assert tier.get("ab:b:map:1") is not None and tier.get("ab:a:map:1") is None


async def test_coalescing_ttl_and_stale_if_error() -> None:
    cache = Cache(CacheSettings(memory_bytes=1_000_000, ttl=0.2, stale_ttl=60))
    calls = 0
    fail = False

    async def produce() -> tuple[bytes, str]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        if fail:
            raise BackendTimeout()
        return f"body{calls}".encode(), "image/png"

    results = await asyncio.gather(*(cache.fetch("k", "svc", 0.2, produce) for _ in range(50)))
    assert calls == 1
    assert sorted({status for _, status in results}) == ["coalesced", "miss"]
    assert all(entry.body == b"body1" for entry, _ in results)
    assert cache.stats.coalesced == 49
    entry, status = await cache.fetch("k", "svc", 0.2, produce)
    assert status == "hit" and calls == 1
    await asyncio.sleep(0.25)
    entry, status = await cache.fetch("k", "svc", 0.2, produce)
    assert status == "miss" and entry.body == b"body2"  # expired: produced again
    await asyncio.sleep(0.25)
    fail = True
    entry, status = await cache.fetch("k", "svc", 0.2, produce)
    assert status == "stale" and entry.body == b"body2"  # the backend failed: the expired entry still serves
    with pytest.raises(BackendTimeout):
        await cache.fetch("never-seen", "svc", 0.2, produce)  # nothing stale to fall back on


async def test_errors_are_not_cached_and_ttl_zero_bypasses() -> None:
    cache = Cache(CacheSettings(memory_bytes=1_000_000))
    calls = 0

    async def bad() -> tuple[bytes, str]:
        nonlocal calls
        calls += 1
        raise InvalidParameter("bbox", "bad")

    for _ in range(2):
        with pytest.raises(InvalidParameter):
            await cache.fetch("k", "svc", 60, bad)
    assert calls == 2

    async def good() -> tuple[bytes, str]:
        nonlocal calls
        calls += 1
        return b"x", "image/png"

    for _ in range(2):
        _, status = await cache.fetch("n", "svc", 0, good)
        assert status == "miss"
    assert calls == 4 and cache.memory.get("n") is None


async def test_stale_window_ends() -> None:
    cache = Cache(CacheSettings(memory_bytes=1_000_000, stale_ttl=0.1))

    async def ok() -> tuple[bytes, str]:
        return b"x", "image/png"

    async def down() -> tuple[bytes, str]:
        raise BackendError()

    await cache.fetch("k", "svc", 0.05, ok)
    time.sleep(0.2)
    with pytest.raises(BackendError):
        await cache.fetch("k", "svc", 0.05, down)



async def test_the_fast_path_is_the_caches_own() -> None:
    cache = Cache(CacheSettings(memory_bytes=1_000_000))

    async def ok() -> tuple[bytes, str]:
        return b"png", "image/png"

    entry, status = await cache.fetch("ab:svc:answer:1", "svc", 60, ok)
    assert cache.fast.lookup("/a?x=1") is None  # not answered yet: not known
    first = cache.fast.answer("/a?x=1", "ab:svc:answer:1", "svc", 60, entry, status, "public, max-age=60")
    assert first.headers["X-Arcbridge-Cache"] == "miss"
    hits = cache.stats.hits
    again = cache.fast.lookup("/a?x=1")
    assert again is not None and again.body == b"png" and again.headers["X-Arcbridge-Cache"] == "hit"
    assert again.headers["Cache-Control"] == "public, max-age=60" and again.headers["ETag"] == entry.etag
    assert cache.stats.hits == hits + 1 and cache.stats.by_namespace["svc"]["hits"] == hits + 1
    cache.fast.answer("/b", "ab:svc:answer:1", "svc", 60, entry, "stale", "no-cache")
    cache.fast.answer("/c", "ab:svc:answer:1", "svc", 0, entry, "miss", "no-cache")
    cache.fast.answer(None, "ab:svc:answer:1", "svc", 60, entry, "miss", "no-cache")
    assert cache.fast.lookup("/b") is None and cache.fast.lookup("/c") is None  # stale or uncached: not remembered
    await cache.purge("svc")
    assert cache.fast.lookup("/a?x=1") is None  # the entry is gone from memory: the full path answers

@pytest.mark.parametrize(
    ("cache", "memory", "problem"),
    [({"memory": "64MB"}, 64 * 1024**2, None), ({"memory": "1.5GiB"}, int(1.5 * 1024**3), None),
     ({"memory": 1000}, 1000, None), ({"memory": "lots"}, 0, "cache.memory"),
     ({"redis": "http://x"}, 0, "cache.redis"), ({"colour": 1}, 0, "cache.colour")],
)
def test_cache_settings(cache: dict, memory: int, problem: str | None) -> None:  # type: ignore[type-arg]
    config = {"cache": cache, "services": {"a": {"type": "MapServer", "backend": {"url": "http://x/"}}}}
    if problem is None:
        assert parse_settings(config).cache.memory_bytes == memory
    else:
        with pytest.raises(ConfigError) as info:
            parse_settings(config)
        assert info.value.key == problem


def test_breaker_opens_probes_once_and_closes() -> None:
    now = [100.0]
    breaker = Breaker(5.0, clock=lambda: now[0], wall=lambda: 1_700_000_000 + now[0])
    assert breaker.admit() == "closed" and breaker.snapshot()["state"] == "closed"
    late = breaker.admit()  # a call admitted before the failure, ending after it
    assert late == "closed"
    breaker.failure("closed", TimeoutError())
    assert breaker.state == "open" and breaker.admit() is None and breaker.skipped == 1
    breaker.success(late)  # says nothing about the server now
    assert breaker.state == "open"
    snap = breaker.snapshot()
    assert snap["openUntil"] == 1_700_000_105.0 and snap["lastFailure"] == 1_700_000_100.0
    assert snap["lastError"] == "TimeoutError" and snap["opened"] == 1
    now[0] += 5.0
    assert breaker.admit() == "half-open"  # the one probe
    assert [breaker.admit() for _ in range(3)] == [None, None, None] and breaker.skipped == 4
    breaker.failure("half-open", ConnectionError("refused"))  # still down: another cool-down
    assert breaker.state == "open" and breaker.opened == 2 and breaker.admit() is None
    now[0] += 5.0
    probe = breaker.admit()
    assert probe == "half-open"
    breaker.abandon(probe)  # a cancelled probe: the next call probes again, none waits
    assert breaker.state == "open" and breaker.admit() == "half-open"
    breaker.success("half-open")
    assert breaker.state == "closed" and breaker.admit() == "closed" and breaker.snapshot()["openUntil"] is None


@pytest.mark.parametrize(("cache", "problem"), [({"redisTimeout": 0}, "cache.redisTimeout"),
                                                ({"redisCooldown": -1}, "cache.redisCooldown"),
                                                ({"redisTimeout": "fast"}, "cache.redisTimeout")])
def test_shared_tier_limits_are_validated(cache: dict, problem: str) -> None:  # type: ignore[type-arg]
    config = {"cache": cache, "services": {"a": {"type": "MapServer", "backend": {"url": "http://x/"}}}}
    with pytest.raises(ConfigError) as info:
        parse_settings(config)
    assert info.value.key == problem


def test_shared_tier_limits_defaults_and_settings() -> None:
    service = {"a": {"type": "MapServer", "backend": {"url": "http://x/"}}}
    default = parse_settings({"services": service}).cache
    assert (default.redis_timeout, default.redis_cooldown) == (0.3, 5.0)
    cache = parse_settings({"cache": {"redisTimeout": 0.1, "redisCooldown": 30}, "services": service}).cache
    assert (cache.redis_timeout, cache.redis_cooldown) == (0.1, 30.0)
    tier = Cache(CacheSettings(redis_url="redis://127.0.0.1:1/0", redis_timeout=0.1, redis_cooldown=30)).shared
    assert tier is not None and tier.timeout == 0.1 and tier.breaker.cooldown == 30
    assert tier.client.connection_pool.connection_kwargs["socket_timeout"] == 0.1
    assert tier.client.connection_pool.connection_kwargs["socket_connect_timeout"] == 0.1
