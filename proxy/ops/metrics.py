"""Prometheus metrics with ``prometheus-client``: requests, latencies, the cache and the backends.

With ``serve --workers N`` the command sets ``PROMETHEUS_MULTIPROC_DIR`` to a directory of its own run before the
workers start (:func:`multiprocess_dir`); each worker then writes its values there and ``/arcbridge/metrics``,
whichever worker answers it, shows the sum over all of them (prometheus-client's multiprocess mode).

The cost on the answered-from-memory path is a dictionary lookup and three additions to a list (about 0.5 µs where
prometheus-client's own counter and histogram take 2.5 µs): requests are counted in plain numbers per path and status
and handed to the labelled metrics every second and before each scrape (:func:`flush`), a path's labels being worked
out once (:func:`classify`).  The cache counters are not touched per request at all either: they are copied from the
cache's own statistics every second and before each scrape (:func:`sync_cache`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from proxy import routes

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("arcbridge_requests", "HTTP requests answered, by service, operation and status",
                   ["service", "operation", "status"])
LATENCY = Histogram("arcbridge_request_duration_seconds", "Time to answer a request, by service and operation",
                    ["service", "operation"], buckets=_LATENCY_BUCKETS)
CACHE_EVENTS = Counter("arcbridge_cache", "Answer cache events: hits, misses, coalesced, stale, evictions, "
                       "backend requests, shared-tier hits and errors", ["event"])
CACHE_MEMORY = Gauge("arcbridge_cache_memory_bytes", "Bytes held by the in-memory cache tier (all workers)",
                     multiprocess_mode="livesum")
CACHE_ENTRIES = Gauge("arcbridge_cache_memory_entries", "Entries held by the in-memory cache tier (all workers)",
                      multiprocess_mode="livesum")
BREAKER = Gauge("arcbridge_shared_cache_breaker_state", "The shared cache's circuit breaker: 0 closed, 1 half-open, "
                "2 open (the worst of the workers)", multiprocess_mode="livemax")
BACKEND_LATENCY = Histogram("arcbridge_backend_request_duration_seconds", "Backend request latency, by backend URL",
                            ["backend"], buckets=_LATENCY_BUCKETS)
BACKEND_ERRORS = Counter("arcbridge_backend_errors", "Backend requests that failed (unreachable, timed out, 5xx), "
                         "by backend URL and error", ["backend", "error"])

_CACHE_FIELDS = {"hits": "hits", "misses": "misses", "coalesced": "coalesced", "stale": "stale",
                 "evictions": "evictions", "backend_requests": "backend_requests", "shared_hits": "shared_hits",
                 "shared_errors": "shared_errors"}
BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}
_MAX_PATHS = 8192

_services: dict[str, str] = {}  # lower-case name → configured spelling
_children: dict[tuple[str, int], tuple[Any, Any]] = {}  # (path, status) → (request counter, latency histogram)
_pending: dict[tuple[str, int], list[Any]] = {}  # (path, status) → [count, sum of seconds, count per bucket …]
_cache_seen: dict[str, int] = {}


def configure(service_names: list[str]) -> None:
    """The configured services: only their names become label values (any other path is ``service=""``)."""
    _services.clear()
    _services.update({name.lower(): name for name in service_names})
    _children.clear()


def multiprocess_dir() -> str:
    """Create a fresh directory for this run's multiprocess values and point ``PROMETHEUS_MULTIPROC_DIR`` at it
    (inherited by the workers started after this); :func:`remove_multiprocess_dir` removes it at the end."""
    path = tempfile.mkdtemp(prefix="arcbridge-metrics-")
    os.environ[MULTIPROC_ENV] = path
    return path


def remove_multiprocess_dir(path: str) -> None:
    """Remove the run's directory of multiprocess values."""
    shutil.rmtree(path, ignore_errors=True)
    if os.environ.get(MULTIPROC_ENV) == path:
        del os.environ[MULTIPROC_ENV]


def classify(path: str) -> tuple[str, str]:
    """``(service, operation)`` of a request path: a configured service and the route pattern of its operation
    (``export``, ``*/query``, ``tile/*/*/*`` …), or ``""`` and a fixed name for everything else."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if lowered[:2] == ["arcgis", "services"]:
        return "", "soap"
    if lowered[:1] == ["arcbridge"]:
        return "", "/".join(lowered[:2])
    if lowered[:3] != ["arcgis", "rest", "services"]:
        if lowered[:2] == ["arcgis", "rest"]:
            return "", "output" if lowered[2:3] == ["directories"] else "/".join(lowered[2:3]) or "rest"
        return "", "other"
    rest = parts[3:]
    kinds = routes.kinds()
    index = next((i for i, s in enumerate(rest) if s.lower() in kinds), None)
    if index is None:
        return "", "catalog"
    service = _services.get("/".join(rest[:index]).lower())
    if service is None:
        return "", "unknown"
    below = rest[index + 1:]
    pattern = routes.pattern(rest[index], below)
    operation = rest[index] + ("/" + pattern if pattern else "") if pattern is not None else rest[index] + "/unknown"
    return service, operation


def observe(path: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (in plain numbers: :func:`flush` hands them to the metrics)."""
    row = _pending.get((path, status))
    if row is None:
        if len(_pending) >= _MAX_PATHS:
            flush()
            _pending.clear()  # tile URLs are endless: a bound, not an LRU, is all this needs
        row = _pending[(path, status)] = [0, 0.0] + [0] * (len(_LATENCY_BUCKETS) + 1)
    row[0] += 1
    row[1] += seconds
    row[2 + bisect_left(_LATENCY_BUCKETS, seconds)] += 1  # Prometheus buckets are "≤ bound"; the last is +Inf


def flush() -> None:
    """Add the requests counted since the last flush to the labelled metrics (every second and before a scrape)."""
    for (path, status), row in _pending.items():
        if row[0] == 0:
            continue
        children = _children.get((path, status))
        if children is None:
            if len(_children) >= _MAX_PATHS:
                _children.clear()
            service, operation = classify(path)
            children = _children[(path, status)] = (REQUESTS.labels(service, operation, str(status)),
                                                    LATENCY.labels(service, operation))
        counter, histogram = children
        counter.inc(row[0])
        # Histogram.observe takes one value at a time; its values are added to as it would (its sum and buckets).
        histogram._sum.inc(row[1])
        for index, count in enumerate(row[2:]):
            if count:
                histogram._buckets[index].inc(count)
        row[:] = [0, 0.0] + [0] * (len(_LATENCY_BUCKETS) + 1)


def backend_request(backend: str, seconds: float, error: str | None) -> None:
    """Count one backend request, its latency and, when it failed, its error."""
    BACKEND_LATENCY.labels(backend).observe(seconds)
    if error is not None:
        BACKEND_ERRORS.labels(backend, error).inc()


def sync_cache(stats: Any, memory_bytes: int, memory_entries: int, breaker: str | None) -> None:
    """Copy the cache's own counters (what grew since the last copy) and sizes into the metrics, and the requests
    counted since the last copy."""
    flush()
    for name, field in _CACHE_FIELDS.items():
        value = getattr(stats, field)
        grown = value - _cache_seen.get(name, 0)
        if grown > 0:
            CACHE_EVENTS.labels(name).inc(grown)
            _cache_seen[name] = value
    CACHE_MEMORY.set(memory_bytes)
    CACHE_ENTRIES.set(memory_entries)
    BREAKER.set(BREAKER_STATES.get(breaker or "closed", 0))


def exposition(before: Callable[[], None] | None = None) -> bytes:
    """The Prometheus text exposition: every worker's values in multiprocess mode, this process's otherwise."""
    if before is not None:
        before()
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(DEFAULT_REGISTRY)
